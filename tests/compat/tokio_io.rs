//! tokio's I/O traits on aloop's streams through `aloop::compat::Compat`: aloop's
//! `StreamReader`/`StreamWriter` implement futures-io's traits, and `Compat` turns them
//! into tokio's `AsyncBufRead`/`AsyncWrite`, so tokio-flavoured code (here
//! `AsyncBufReadExt::read_line`, `AsyncReadExt::read_exact`, `AsyncWriteExt::write_all`)
//! runs on them from aloop tasks.

use aloop::compat::Compat;
use aloop::{StreamReader, StreamWriter};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

#[test]
fn tokio_io_code_reads_and_writes_aloop_streams_through_compat() {
    aloop::run(async {
        // An echo server, itself written with tokio's traits over aloop's streams.
        let server = aloop::start_server(
            |r: StreamReader, w: StreamWriter| async move {
                let (mut r, mut w) = (Compat::new(r), Compat::new(w));
                let mut line = String::new();
                while r.read_line(&mut line).await.unwrap() > 0 {
                    w.write_all(line.to_uppercase().as_bytes()).await.unwrap();
                    line.clear();
                }
                w.shutdown().await.unwrap(); // tokio's close: aloop's close + wait_closed
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (r, w) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
            .await
            .unwrap();
        let (mut r, mut w) = (Compat::new(r), Compat::new(w));
        let mut expected = Vec::new();
        for i in 0..500 {
            let line = format!("line {i} of the tokio-io test\n");
            w.write_all(line.as_bytes()).await.unwrap();
            expected.extend_from_slice(line.to_uppercase().as_bytes());
        }
        w.flush().await.unwrap();
        let mut back = vec![0; expected.len()];
        r.read_exact(&mut back).await.unwrap();
        assert!(back == expected, "every line, upper-cased, in order");
        w.get_ref().write_eof().unwrap();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "end-of-stream after the server closed");
        server.close();
        server.wait_closed().await;
    });
}
