//! `EventLoopTestsMixin` of test_events.py on raw file descriptors: `add_reader` /
//! `add_writer` callbacks on a socket pair, what they do on a closed loop, and a
//! `sock_recv` cancelled while it waits. Neighbours: `run_loop.rs`, `signals.rs`.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use aloop::{new_event_loop, FdWatchError, LoopClosed, TaskError};

use super::{bounded, wait_until};

/// A reader callback gets what the other end sends, in two rounds, then sees the end of
/// the stream and removes itself.
#[test]
fn events_event_loop_reader_callback() {
    bounded(30, || {
        let lp = new_event_loop();
        let (r, w) = UnixStream::pair().unwrap();
        r.set_nonblocking(true).unwrap();
        let fd = r.as_raw_fd();
        let bytes_read = Rc::new(RefCell::new(Vec::new()));
        let r = Rc::new(RefCell::new(Some(r)));
        let (got, lp2, reader) = (bytes_read.clone(), lp.clone_ref(), r.clone());
        lp.add_reader(fd, move || {
            let mut buf = [0u8; 1024];
            let n = match reader.borrow_mut().as_mut().unwrap().read(&mut buf) {
                // Spurious readiness is possible.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                r => r.unwrap(),
            };
            if n > 0 {
                got.borrow_mut().extend_from_slice(&buf[..n]);
            } else {
                assert!(lp2.remove_reader(fd));
                drop(reader.borrow_mut().take());
            }
        })
        .unwrap();
        let w = Rc::new(RefCell::new(Some(w)));
        let send = |data: &'static [u8]| {
            let w = w.clone();
            move || w.borrow_mut().as_mut().unwrap().write_all(data).unwrap()
        };
        lp.call_soon(send(b"abc")).unwrap();
        let got = bytes_read.clone();
        lp.run_until_complete(async move { wait_until(|| got.borrow().len() >= 3).await })
            .unwrap();
        lp.call_soon(send(b"def")).unwrap();
        let got = bytes_read.clone();
        lp.run_until_complete(async move { wait_until(|| got.borrow().len() >= 6).await })
            .unwrap();
        let w2 = w.clone();
        lp.call_soon(move || drop(w2.borrow_mut().take())).unwrap();
        let closed = r.clone();
        lp.run_until_complete(async move { wait_until(|| closed.borrow().is_none()).await })
            .unwrap();
        assert_eq!(*bytes_read.borrow(), b"abcdef");
    });
}

/// A writer callback sends once the socket is writable; `remove_writer` says whether
/// there was one to remove.
#[test]
fn events_event_loop_writer_callback() {
    bounded(30, || {
        let lp = new_event_loop();
        let (mut r, w) = UnixStream::pair().unwrap();
        w.set_nonblocking(true).unwrap();
        let fd = w.as_raw_fd();
        let data = vec![b'x'; 1024];
        let (lp2, sent) = (lp.clone_ref(), data.clone());
        let mut w = Some(w);
        lp.add_writer(fd, move || {
            if let Some(mut w) = w.take() {
                w.write_all(&sent).unwrap();
                // `w` is dropped here, closing the socket, as CPython's `w.close()`.
            }
            lp2.stop();
        })
        .unwrap();
        lp.run_forever().unwrap();
        assert!(lp.remove_writer(fd));
        assert!(!lp.remove_writer(fd));
        let mut read = Vec::new();
        r.read_to_end(&mut read).unwrap();
        assert_eq!(read, data);
    });
}

/// A `sock_recv` task cancelled while it waits ends cancelled at once.
#[test]
fn events_event_loop_prompt_cancellation() {
    bounded(30, || {
        let lp = new_event_loop();
        let (r, _w) = UnixStream::pair().unwrap();
        let lp2 = lp.clone_ref();
        let f = lp.create_task(async move { lp2.sock_recv(&r, 1).await });
        let f_any = f.as_any();
        let lp2 = lp.clone_ref();
        let main = lp.create_task(async move {
            lp2.call_soon(move || {
                f_any.cancel();
            })
            .unwrap();
            let res = f.await;
            lp2.stop();
            res
        });
        lp.run_forever().unwrap();
        let res = main.take_result().unwrap().unwrap();
        assert!(matches!(res, Err(TaskError::Cancelled)), "{res:?}");
    });
}

/// Watches left when the loop closes are gone: removing them says there was none.
#[test]
fn events_event_loop_remove_fds_after_closing() {
    let lp = new_event_loop();
    let (r, w) = UnixStream::pair().unwrap();
    lp.add_reader(r.as_raw_fd(), || ()).unwrap();
    lp.add_writer(w.as_raw_fd(), || ()).unwrap();
    lp.close().unwrap();
    assert!(!lp.remove_reader(r.as_raw_fd()));
    assert!(!lp.remove_writer(w.as_raw_fd()));
}

/// A closed loop refuses new watches (asyncio: `RuntimeError`).
#[test]
fn events_event_loop_add_fds_after_closing() {
    let lp = new_event_loop();
    let (r, w) = UnixStream::pair().unwrap();
    lp.close().unwrap();
    let e = lp.add_reader(r.as_raw_fd(), || ()).unwrap_err();
    assert!(matches!(e, FdWatchError::Closed(LoopClosed)), "{e:?}");
    let e = lp.add_writer(w.as_raw_fd(), || ()).unwrap_err();
    assert!(matches!(e, FdWatchError::Closed(LoopClosed)), "{e:?}");
}
