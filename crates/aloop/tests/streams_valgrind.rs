//! A program that fills a socket buffer (a peer that never reads) and exits leaks
//! nothing: run under `valgrind --leak-check=full --errors-for-leak-kinds=definite
//! --error-exitcode=1`. The test starts its own binary under valgrind with
//! `ALOOP_VALGRIND_CHILD` set, which runs the program instead.

use std::process::Command;
use std::time::Duration;

const CHILD: &str = "ALOOP_VALGRIND_CHILD";
const NAME: &str = "a_program_that_fills_a_socket_buffer_leaks_nothing_under_valgrind";

fn program() {
    aloop::run(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_reader, writer) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        let (_peer, _) = listener.accept().unwrap(); // never reads
        for _ in 0..64 {
            writer.write(&[7u8; 64 * 1024]).unwrap(); // far beyond the socket buffer
        }
        aloop::sleep(Duration::from_millis(50)).await;
        writer.close();
    });
}

#[test]
fn a_program_that_fills_a_socket_buffer_leaks_nothing_under_valgrind() {
    if std::env::var_os(CHILD).is_some() {
        return program();
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        return println!("skipped: valgrind not found (apt-get install -y valgrind)");
    }
    let out = Command::new("valgrind")
        .args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--error-exitcode=1",
        ])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "valgrind found errors or leaks:\n{}",
        &report[report.len().saturating_sub(4000)..]
    );
    assert!(
        report.contains("definitely lost: 0 bytes") || report.contains("no leaks are possible"),
        "{report}"
    );
}
