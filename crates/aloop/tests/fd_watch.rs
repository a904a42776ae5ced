//! `add_reader` / `add_writer`: level-triggered callbacks on raw fds, replacement,
//! removal, and errors for bad fds.

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn reader_runs_every_iteration_while_readable_and_stops_when_drained() {
    let lp = aloop::new_event_loop();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let fd = a.as_raw_fd();
    lp.add_reader(fd, move || c.set(c.get() + 1)).unwrap();
    b.write_all(b"x").unwrap();
    lp.run_until_complete(aloop::sleep(Duration::from_millis(30)))
        .unwrap();
    // Nobody read the byte: level-triggered, so it was reported again and again.
    assert!(calls.get() >= 2, "called {} times", calls.get());
    let mut buf = [0u8; 8];
    assert_eq!(a.read(&mut buf).unwrap(), 1);
    lp.run_until_complete(aloop::sleep(Duration::from_millis(5)))
        .unwrap();
    let settled = calls.get();
    lp.run_until_complete(aloop::sleep(Duration::from_millis(30)))
        .unwrap();
    assert!(calls.get() <= settled + 1, "drained fd kept firing");
    assert!(lp.remove_reader(fd));
    assert!(!lp.remove_reader(fd), "second remove finds nothing");
}

#[test]
fn a_new_reader_replaces_the_old_one_and_writer_fires_on_a_writable_fd() {
    let lp = aloop::new_event_loop();
    let (a, mut b) = UnixStream::pair().unwrap();
    let first = Rc::new(Cell::new(0));
    let second = Rc::new(Cell::new(0));
    let f = first.clone();
    let s = second.clone();
    lp.add_reader(a.as_raw_fd(), move || f.set(f.get() + 1))
        .unwrap();
    lp.add_reader(a.as_raw_fd(), move || s.set(s.get() + 1))
        .unwrap();
    let writable = Rc::new(Cell::new(false));
    let w = writable.clone();
    lp.add_writer(a.as_raw_fd(), move || w.set(true)).unwrap();
    b.write_all(b"x").unwrap();
    lp.run_until_complete(aloop::sleep(Duration::from_millis(20)))
        .unwrap();
    assert_eq!(first.get(), 0);
    assert!(second.get() >= 1);
    assert!(writable.get());
    assert!(lp.remove_writer(a.as_raw_fd()));
    assert!(lp.remove_reader(a.as_raw_fd()));
}

#[test]
fn a_bad_fd_is_an_error_and_a_panicking_callback_is_reported() {
    let lp = aloop::new_event_loop();
    assert!(lp.add_reader(-1, || {}).is_err());
    let reports = Rc::new(Cell::new(0));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |_: &aloop::ExceptionContext| r.set(r.get() + 1)));
    let (a, mut b) = UnixStream::pair().unwrap();
    lp.add_reader(a.as_raw_fd(), || panic!("reader failed"))
        .unwrap();
    b.write_all(b"x").unwrap();
    lp.run_until_complete(aloop::sleep(Duration::from_millis(20)))
        .unwrap();
    assert!(reports.get() >= 1);
    lp.close().unwrap();
    assert!(lp.add_reader(a.as_raw_fd(), || {}).is_err());
}

#[test]
fn watch_errors_are_typed_closed_loop_and_os_refusal() {
    let lp = aloop::new_event_loop();
    // The OS refuses a bad fd: the error keeps what it said (EBADF).
    let refused = lp.add_reader(-1, || {}).unwrap_err();
    assert!(matches!(refused, aloop::FdWatchError::Io(_)), "{refused:?}");
    assert_eq!(refused.raw_os_error(), Some(libc::EBADF));
    // A closed loop refuses like every other scheduling call: LoopClosed.
    let (a, _b) = UnixStream::pair().unwrap();
    lp.close().unwrap();
    let closed = lp.add_writer(a.as_raw_fd(), || {}).unwrap_err();
    assert!(
        matches!(closed, aloop::FdWatchError::Closed(aloop::LoopClosed)),
        "{closed:?}"
    );
    assert_eq!(closed.raw_os_error(), None);
    assert_eq!(closed.to_string(), "Event loop is closed");
    assert!(lp.call_soon(|| {}).is_err());
}
