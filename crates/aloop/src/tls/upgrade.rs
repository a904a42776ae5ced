//! `start_tls` (a connection that began in plain text goes on in TLS, as STARTTLS
//! protocols do) for streams and transports, and the `tls_info` accessors: the TLS
//! methods of `StreamWriter`, `Transport` and `LoopRef`, kept here so the plain
//! types' files know nothing of TLS.

use std::future::{poll_fn, Future};
use std::io;

use super::config::TlsConfig;
use super::handshake::handshake;
use super::info::TlsInfo;
use crate::event_loop::LoopRef;
use crate::protocols::Transport;
use crate::streams::StreamWriter;

/// Waits until everything written in plain text has reached the socket, then runs the
/// handshake over the writer's connection.
async fn upgrade(writer: StreamWriter, config: TlsConfig) -> io::Result<()> {
    let queue = writer.send_queue().clone();
    poll_fn(|cx| queue.poll_sent(cx)).await?;
    handshake(queue.transport(), &config, None).await
}

impl StreamWriter {
    /// Upgrades the connection to TLS (Python 3.11's `StreamWriter.start_tls`): waits
    /// until what was written has been sent, runs the handshake as `config`'s side (a
    /// [`ClientConfig`](super::ClientConfig) makes this end the client; it must have a
    /// `server_hostname`), and from then on the writer and its reader speak TLS. Bytes
    /// the reader had already taken in before the upgrade stay plain text, as in
    /// asyncio: a STARTTLS peer sends nothing between its go-ahead and its handshake.
    ///
    /// ```
    /// # fn certs() -> (String, String) {
    /// #     let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// #     (c.cert.pem(), c.signing_key.serialize_pem())
    /// # }
    /// let (cert, key) = certs();
    /// aloop::run(async move {
    ///     let server_tls = aloop::tls::ServerConfig::from_pem(cert.as_bytes(), key.as_bytes())?;
    ///     let server = aloop::start_server(
    ///         move |r: aloop::StreamReader, w: aloop::StreamWriter| {
    ///             let server_tls = server_tls.clone();
    ///             async move {
    ///                 assert_eq!(r.readline().await?, b"STARTTLS\n");
    ///                 w.write(b"GO\n")?;
    ///                 w.start_tls(server_tls).await?;
    ///                 w.write(b"secret\n")?;
    ///                 w.close();
    ///                 std::io::Result::Ok(())
    ///             }
    ///         },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .await?;
    ///     let (r, w) = aloop::open_connection("127.0.0.1", server.sockets()[0].port()).await?;
    ///     w.write(b"STARTTLS\n")?;
    ///     assert_eq!(r.readline().await?, b"GO\n");
    ///     let client_tls =
    ///         aloop::tls::ClientConfig::with_root_pem(cert.as_bytes())?.server_hostname("localhost");
    ///     w.start_tls(client_tls).await?;
    ///     assert_eq!(r.readline().await?, b"secret\n");
    ///     assert!(w.tls_info().is_some());
    ///     server.close();
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn start_tls(
        &self,
        config: impl Into<TlsConfig>,
    ) -> impl Future<Output = io::Result<()>> + 'static {
        upgrade(self.clone(), config.into())
    }

    /// What the TLS handshake agreed on (asyncio's `get_extra_info("peercert")`,
    /// `"cipher"`, `"ssl_object"`); `None` for a connection without TLS.
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.raw_stream().tls().map(|tls| tls.info())
    }
}

impl Transport {
    /// What the TLS handshake agreed on; `None` without TLS (see
    /// [`StreamWriter::tls_info`]).
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.writer().tls_info()
    }
}

impl LoopRef {
    /// Upgrades a protocol's connection to TLS (asyncio's `loop.start_tls`): reading
    /// pauses, what was written is sent, the handshake runs as `config`'s side, and
    /// reading resumes; the protocol then receives decrypted bytes and its writes are
    /// encrypted. Returns the transport (asyncio returns a new one; here the same
    /// connection goes on). If the handshake fails the connection is aborted and the
    /// error returned; so it is if the future is dropped before the handshake ends (a
    /// cancelled or timed-out `start_tls`: asyncio closes the transport then), since the
    /// connection is left halfway between plain text and TLS.
    pub fn start_tls(
        &self,
        transport: &Transport,
        config: impl Into<TlsConfig>,
    ) -> impl Future<Output = io::Result<Transport>> + 'static {
        let transport = transport.clone();
        let config = config.into();
        async move {
            let was_reading = transport.is_reading();
            transport.pause_reading();
            let unfinished = AbortUnlessDone(Some(transport.clone()));
            let upgraded = upgrade(transport.writer().clone(), config).await;
            drop(unfinished.done());
            match upgraded {
                Ok(()) => {
                    if was_reading {
                        transport.resume_reading();
                    }
                    Ok(transport)
                }
                Err(e) => {
                    transport.abort();
                    Err(e)
                }
            }
        }
    }
}

/// Aborts the transport when dropped, unless [`done`](Self::done) was called first:
/// what a `start_tls` dropped in the middle of its handshake leaves behind.
struct AbortUnlessDone(Option<Transport>);

impl AbortUnlessDone {
    /// The handshake ended (either way): nothing to abort here.
    fn done(mut self) -> Option<Transport> {
        self.0.take()
    }
}

impl Drop for AbortUnlessDone {
    fn drop(&mut self) {
        if let Some(transport) = self.0.take() {
            transport.abort();
        }
    }
}
