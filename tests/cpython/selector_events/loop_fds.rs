//! `BaseSelectorEventLoopTests`: closing the loop, `add_reader` / `add_writer` /
//! `remove_reader` / `remove_writer` (CPython checks the calls made on a mocked selector;
//! here, which callbacks run for a real socket pair), and a server accepting many
//! waiting connections. Neighbours: `stream.rs`, `stream_write.rs`, `buffered.rs`,
//! `datagram.rs`.

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use aloop::{get_running_loop, FdWatchError, RunError, StreamReader, StreamWriter};
use aloop_tests::cpython::ticks;

use super::{bounded, until};

/// A counter a callback bumps each time it runs.
fn counter() -> (Rc<Cell<usize>>, impl FnMut() + 'static) {
    let n = Rc::new(Cell::new(0));
    let bump = n.clone();
    (n, move || bump.set(bump.get() + 1))
}

/// A closed loop refuses to run and to watch fds; closing again is harmless.
#[test]
fn selector_events_base_selector_event_loop_close() {
    let lp = aloop::new_event_loop();
    assert!(!lp.is_closed());
    lp.close().unwrap();
    assert!(lp.is_closed());
    lp.close().unwrap();
    lp.close().unwrap();
    assert!(matches!(lp.run_forever(), Err(RunError::Closed)));
    assert!(matches!(
        lp.run_until_complete(async {}),
        Err(RunError::Closed)
    ));
    let (a, _b) = UnixStream::pair().unwrap();
    assert!(matches!(
        lp.add_reader(a.as_raw_fd(), || {}),
        Err(FdWatchError::Closed(_))
    ));
    assert!(matches!(
        lp.add_writer(a.as_raw_fd(), || {}),
        Err(FdWatchError::Closed(_))
    ));
}

/// A reader runs once its fd is readable.
#[aloop::test]
async fn selector_events_base_selector_event_loop_add_reader() {
    let lp = get_running_loop().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let (runs, cb) = counter();
    lp.add_reader(a.as_raw_fd(), cb).unwrap();
    ticks(3).await;
    assert_eq!(runs.get(), 0, "not readable yet");
    b.write_all(b"x").unwrap();
    until(|| runs.get() > 0).await;
    assert!(lp.remove_reader(a.as_raw_fd()));
}

/// A second reader for the same fd replaces the first (which never runs); a writer
/// already there keeps running.
#[aloop::test]
async fn selector_events_base_selector_event_loop_add_reader_existing() {
    let lp = get_running_loop().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let (first, cb1) = counter();
    let (second, cb2) = counter();
    let (writes, cbw) = counter();
    lp.add_reader(fd, cb1).unwrap();
    lp.add_writer(fd, cbw).unwrap();
    lp.add_reader(fd, cb2).unwrap();
    b.write_all(b"x").unwrap();
    until(|| second.get() > 0 && writes.get() > 0).await;
    assert_eq!(first.get(), 0, "the replaced reader ran");
    assert!(lp.remove_reader(fd));
    assert!(lp.remove_writer(fd));
}

/// A reader added to an fd that has a writer: both run.
#[aloop::test]
async fn selector_events_base_selector_event_loop_add_reader_existing_writer() {
    let lp = get_running_loop().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let (reads, cbr) = counter();
    let (writes, cbw) = counter();
    lp.add_writer(fd, cbw).unwrap();
    lp.add_reader(fd, cbr).unwrap();
    b.write_all(b"x").unwrap();
    until(|| reads.get() > 0 && writes.get() > 0).await;
    assert!(lp.remove_reader(fd));
    assert!(lp.remove_writer(fd));
}

/// Removing a reader says it was there, and it runs no more; removing it again says
/// there is none.
#[aloop::test]
async fn selector_events_base_selector_event_loop_remove_reader() {
    let lp = get_running_loop().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let (reads, cb) = counter();
    lp.add_reader(fd, cb).unwrap();
    assert!(lp.remove_reader(fd));
    b.write_all(b"x").unwrap();
    ticks(5).await;
    assert_eq!(reads.get(), 0);
    assert!(!lp.remove_reader(fd));
}

/// Removing the reader of an fd that also has a writer leaves the writer running.
#[aloop::test]
async fn selector_events_base_selector_event_loop_remove_reader_read_write() {
    let lp = get_running_loop().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let (reads, cbr) = counter();
    let (writes, cbw) = counter();
    lp.add_reader(fd, cbr).unwrap();
    lp.add_writer(fd, cbw).unwrap();
    assert!(lp.remove_reader(fd));
    b.write_all(b"x").unwrap();
    let before = writes.get();
    until(|| writes.get() > before + 2).await;
    assert_eq!(reads.get(), 0);
    assert!(lp.remove_writer(fd));
}

#[aloop::test]
async fn selector_events_base_selector_event_loop_remove_reader_unknown() {
    let lp = get_running_loop().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    assert!(!lp.remove_reader(a.as_raw_fd()));
}

/// A writer runs while its fd is writable (a fresh socket is).
#[aloop::test]
async fn selector_events_base_selector_event_loop_add_writer() {
    let lp = get_running_loop().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    let (writes, cb) = counter();
    lp.add_writer(a.as_raw_fd(), cb).unwrap();
    until(|| writes.get() > 0).await;
    assert!(lp.remove_writer(a.as_raw_fd()));
}

/// A second writer replaces the first; the reader already there keeps running.
#[aloop::test]
async fn selector_events_base_selector_event_loop_add_writer_existing() {
    let lp = get_running_loop().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let (reads, cbr) = counter();
    let (first, cbw1) = counter();
    let (second, cbw2) = counter();
    lp.add_reader(fd, cbr).unwrap();
    lp.add_writer(fd, cbw1).unwrap();
    lp.add_writer(fd, cbw2).unwrap();
    b.write_all(b"x").unwrap();
    until(|| second.get() > 0 && reads.get() > 0).await;
    assert_eq!(first.get(), 0, "the replaced writer ran");
    assert!(lp.remove_reader(fd));
    assert!(lp.remove_writer(fd));
}

#[aloop::test]
async fn selector_events_base_selector_event_loop_remove_writer() {
    let lp = get_running_loop().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let (writes, cb) = counter();
    lp.add_writer(fd, cb).unwrap();
    assert!(lp.remove_writer(fd));
    ticks(5).await;
    assert_eq!(writes.get(), 0);
    assert!(!lp.remove_writer(fd));
}

/// Removing the writer of an fd that also has a reader leaves the reader running.
#[aloop::test]
async fn selector_events_base_selector_event_loop_remove_writer_read_write() {
    let lp = get_running_loop().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let (reads, cbr) = counter();
    let (writes, cbw) = counter();
    lp.add_reader(fd, cbr).unwrap();
    lp.add_writer(fd, cbw).unwrap();
    assert!(lp.remove_writer(fd));
    b.write_all(b"x").unwrap();
    until(|| reads.get() > 0).await;
    assert_eq!(writes.get(), 0);
    assert!(lp.remove_reader(fd));
}

#[aloop::test]
async fn selector_events_base_selector_event_loop_remove_writer_unknown() {
    let lp = get_running_loop().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    assert!(!lp.remove_writer(a.as_raw_fd()));
}

/// A hundred connections waiting in the backlog are all accepted and served (CPython
/// checks that one readiness event accepts up to `backlog + 1` of them; how many
/// `accept` calls aloop makes per event is not observable).
#[aloop::test]
async fn selector_events_base_selector_event_loop_accept_connection_multiple() {
    let server = aloop::start_server(
        |_r: StreamReader, w: StreamWriter| async move {
            w.write(b"x")?;
            w.close();
            w.wait_closed().await
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let addr = server.sockets()[0];
    // The clients connect before the loop runs again: all of them wait in the backlog.
    let clients: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let answers = bounded(aloop::to_thread(move || {
        clients
            .into_iter()
            .map(|mut c| {
                c.set_read_timeout(Some(super::LIMIT)).unwrap();
                let mut got = Vec::new();
                c.read_to_end(&mut got).unwrap();
                got
            })
            .collect::<Vec<_>>()
    }))
    .await
    .unwrap();
    assert_eq!(answers.len(), 100);
    assert!(answers.iter().all(|a| a == b"x"));
    server.close();
}
