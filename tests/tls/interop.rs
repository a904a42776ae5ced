//! TLS interop with peers nobody here wrote: `openssl s_client` against an aloop
//! server, an aloop client against `openssl s_server`, `curl --cacert` fetching from an
//! aloop HTTPS server, and Python's asyncio + ssl as client of an aloop server and as
//! server for an aloop client, 16 MiB each way. Each test prints why it skips where
//! its tool is missing (`.ci/packages` installs openssl and curl in CI).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aloop::tls::{ClientConfig, ServerConfig};
use aloop::{ConnectOptions, ServerOptions, StreamReader, StreamWriter};
use aloop_tests::tls_certs::{localhost, temp_file, Leaf, TestCa};

fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipped: `{tool}` is not installed (Debian package: apt-get install {tool})");
    }
    found
}

/// TLS client options trusting `ca`, checking the server's name against "localhost".
fn trusting(ca: &TestCa) -> ConnectOptions {
    let config = ClientConfig::with_root_pem(ca.cert_pem().as_bytes())
        .unwrap()
        .server_hostname("localhost");
    ConnectOptions {
        ssl: Some(config),
        ..Default::default()
    }
}

/// A TLS server config presenting `leaf`.
fn presenting(leaf: &Leaf) -> ServerConfig {
    ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap()
}

/// Runs `cmd` to its end, killing it after `limit`; its stdout.
fn output_within(
    mut cmd: Command,
    stdin: &[u8],
    limit: Duration,
) -> (std::process::ExitStatus, Vec<u8>, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
        // stdin stays open a moment so the tool does not end the session early
        std::thread::sleep(Duration::from_millis(500));
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    feeder.join().unwrap();
    (status, reader.join().unwrap(), err_reader.join().unwrap())
}

/// Runs an aloop TLS server answering each connection with `reply(first line)` on a
/// thread of its own; returns its port and a stop function.
fn aloop_tls_server(
    config: ServerConfig,
    reply: fn(&[u8]) -> Vec<u8>,
) -> (
    u16,
    std::sync::Arc<aloop::sync::Event>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = std::sync::Arc::new(aloop::sync::Event::new());
    let stop2 = stop.clone();
    let thread = std::thread::spawn(move || {
        aloop::run(async move {
            let options = ServerOptions {
                ssl: Some(config),
                ..Default::default()
            };
            let server = aloop::start_server_with(
                move |r: StreamReader, w: StreamWriter| async move {
                    let line = r.readline().await?;
                    w.write(&reply(&line))?;
                    w.close();
                    w.wait_closed().await
                },
                "127.0.0.1",
                0,
                options,
            )
            .await
            .unwrap();
            tx.send(server.sockets()[0].port()).unwrap();
            stop2.wait().await;
            server.close();
        })
    });
    (rx.recv().unwrap(), stop, thread)
}

#[test]
fn openssl_s_client_talks_to_an_aloop_server() {
    if !have("openssl") {
        return;
    }
    let (ca, leaf) = localhost();
    let ca_file = temp_file("s_client-ca.pem", &ca.cert_pem());
    let config = presenting(&leaf);
    let (port, stop, thread) = aloop_tls_server(config, |line| line.to_ascii_uppercase());
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-quiet",
        "-verify_return_error",
        "-servername",
        "localhost",
    ])
    .arg("-connect")
    .arg(format!("127.0.0.1:{port}"))
    .arg("-CAfile")
    .arg(&ca_file);
    let (status, out, err) = output_within(cmd, b"hello from openssl\n", Duration::from_secs(20));
    stop.set();
    thread.join().unwrap();
    assert_eq!(out, b"HELLO FROM OPENSSL\n", "s_client said: {err}");
    assert!(status.success(), "s_client failed: {status:?}: {err}");
}

/// A free port (bound, then released for the tool to take).
/// The port `s_server` listens on, from the `ACCEPT 127.0.0.1:PORT` line it prints once
/// it listens (asked for port 0, so no other listener can race it for the port). The
/// rest of its output is drained in the background so it never blocks on the pipe.
fn s_server_port(stdout: std::process::ChildStdout) -> u16 {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix("ACCEPT 127.0.0.1:") {
                let _ = tx.send(port.trim().parse::<u16>().ok());
                break;
            }
        }
        lines.for_each(drop);
    });
    rx.recv_timeout(Duration::from_secs(20))
        .ok()
        .flatten()
        .expect("s_server printed the port it listens on")
}

#[test]
fn an_aloop_client_talks_to_openssl_s_server() {
    if !have("openssl") {
        return;
    }
    let (ca, leaf) = localhost();
    let cert = temp_file("s_server-cert.pem", &leaf.cert_pem);
    let key = temp_file("s_server-key.pem", &leaf.key_pem);
    // -rev: each line comes back reversed; one connection, then it exits.
    let mut server = Command::new("openssl")
        .args(["s_server", "-rev", "-naccept", "1"])
        .args(["-accept", "127.0.0.1:0"])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let port = s_server_port(server.stdout.take().unwrap());
    let got = aloop::run(async move {
        let options = trusting(&ca);
        let (r, w) = aloop::open_connection_with("127.0.0.1", port, options)
            .await
            .expect("connected to s_server");
        w.write(b"aloop speaks to openssl\n").unwrap();
        let line = aloop::wait_for(r.readline(), Duration::from_secs(20))
            .await
            .expect("s_server answered in time")
            .unwrap();
        w.close();
        line
    });
    let _ = server.kill();
    let _ = server.wait();
    let mut expected = b"aloop speaks to openssl".to_vec();
    expected.reverse();
    expected.push(b'\n');
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected),
        "the line comes back reversed"
    );
}

#[test]
fn curl_fetches_from_an_aloop_https_server() {
    if !have("curl") {
        return;
    }
    let (ca, leaf) = localhost();
    let ca_file = temp_file("curl-ca.pem", &ca.cert_pem());
    let config = presenting(&leaf).alpn_protocols(&[b"http/1.1"]);
    let (port, stop, thread) = aloop_tls_server(config, |request_line| {
        let body = format!(
            "you asked for {}",
            String::from_utf8_lossy(request_line).trim()
        );
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--http1.1", "--max-time", "20"])
        .arg("--cacert")
        .arg(&ca_file)
        .arg(format!("https://localhost:{port}/hello"));
    let (status, out, err) = output_within(cmd, b"", Duration::from_secs(30));
    stop.set();
    thread.join().unwrap();
    assert!(status.success(), "curl failed: {status:?}: {err}");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "you asked for GET /hello HTTP/1.1"
    );
}

/// The bytes both sides of the Python tests send: 16 MiB of a pattern Python computes
/// the same way (`bytes((i * 7 + seed) % 251 for i in range(n))`).
fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed) % 251) as u8).collect()
}

const PY_LEN: usize = 16 << 20;

const PY_CLIENT: &str = r#"
import asyncio, ssl, sys
port, cafile, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def pattern(n, seed): return bytes((i * 7 + seed) % 251 for i in range(n))
async def main():
    ctx = ssl.create_default_context(cafile=cafile)
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
    w.write(n.to_bytes(8, "big")); w.write(pattern(n, 1)); await w.drain()
    back = await r.readexactly(n)
    assert back == pattern(n, 2), "the reply differs"
    w.close(); await w.wait_closed()
    print("ok", len(back))
asyncio.run(main())
"#;

const PY_SERVER: &str = r#"
import asyncio, ssl, sys
cert, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def pattern(n, seed): return bytes((i * 7 + seed) % 251 for i in range(n))
done = None
async def handle(r, w):
    size = int.from_bytes(await r.readexactly(8), "big")
    got = await r.readexactly(size)
    ok = got == pattern(n, 3)
    w.write(pattern(n, 4) if ok else b"bad request"); await w.drain()
    w.close()
    print("server got", len(got), "ok" if ok else "DIFFERENT", flush=True)
    done.set()
async def main():
    global done
    done = asyncio.Event()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.wait_for(done.wait(), 60)
    await asyncio.sleep(0.5)
    server.close()
asyncio.run(main())
"#;

#[test]
fn python_asyncio_ssl_client_against_an_aloop_server_16_mib_each_way() {
    if !have("python3") {
        return;
    }
    let (ca, leaf) = localhost();
    let ca_file = temp_file("py-client-ca.pem", &ca.cert_pem());
    let (tx, rx) = std::sync::mpsc::channel();
    let config = presenting(&leaf);
    let thread = std::thread::spawn(move || {
        aloop::run(async move {
            let options = ServerOptions {
                ssl: Some(config),
                ..Default::default()
            };
            let done = aloop::get_running_loop().unwrap().create_future::<bool>();
            let done_tx = done.clone();
            let server = aloop::start_server_with(
                move |r: StreamReader, w: StreamWriter| {
                    let done_tx = done_tx.clone();
                    async move {
                        let mut size = [0u8; 8];
                        r.readexactly_into(&mut size).await?;
                        let got = r.readexactly(u64::from_be_bytes(size) as usize).await?;
                        let ok = got == pattern(PY_LEN, 1);
                        w.write(&pattern(PY_LEN, 2))?;
                        w.drain().await?;
                        let _ = r.read_to_eof().await;
                        w.close();
                        let _ = done_tx.set_result(ok);
                        std::io::Result::Ok(())
                    }
                },
                "127.0.0.1",
                0,
                options,
            )
            .await
            .unwrap();
            tx.send(server.sockets()[0].port()).unwrap();
            let ok = aloop::wait_for(done, Duration::from_secs(120)).await;
            server.close();
            ok
        })
    });
    let port = rx.recv().unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-c", PY_CLIENT])
        .arg(port.to_string())
        .arg(&ca_file)
        .arg(PY_LEN.to_string());
    let (status, out, err) = output_within(cmd, b"", Duration::from_secs(120));
    let server_saw = thread.join().unwrap();
    assert!(status.success(), "python failed: {err}");
    assert_eq!(String::from_utf8_lossy(&out).trim(), format!("ok {PY_LEN}"));
    assert!(
        matches!(server_saw, Ok(Ok(true))),
        "the aloop server got the bytes exactly: {server_saw:?}"
    );
}

#[test]
fn an_aloop_client_against_python_asyncio_ssl_server_16_mib_each_way() {
    if !have("python3") {
        return;
    }
    let (ca, leaf) = localhost();
    let cert = temp_file("py-server-cert.pem", &leaf.cert_pem);
    let key = temp_file("py-server-key.pem", &leaf.key_pem);
    let mut server = Command::new("python3")
        .args(["-c", PY_SERVER])
        .arg(&cert)
        .arg(&key)
        .arg(PY_LEN.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut lines, &mut first).unwrap();
    let port: u16 = first.trim().parse().expect("python printed its port");
    let got = aloop::run(async move {
        let options = trusting(&ca);
        let (r, w) = aloop::open_connection_with("127.0.0.1", port, options)
            .await
            .unwrap();
        w.write(&(PY_LEN as u64).to_be_bytes()).unwrap();
        w.write(&pattern(PY_LEN, 3)).unwrap();
        w.drain().await.unwrap();
        let back = aloop::wait_for(r.readexactly(PY_LEN), Duration::from_secs(120))
            .await
            .expect("python answered in time")
            .unwrap();
        w.close();
        back
    });
    let mut rest = String::new();
    let _ = lines.read_to_string(&mut rest);
    let _ = server.wait();
    assert!(got == pattern(PY_LEN, 4), "the reply, byte for byte");
    assert!(
        rest.contains(&format!("server got {PY_LEN} ok")),
        "python saw: {rest}"
    );
}
