//! Reactor behaviour: cross-thread notify, readiness never lost across a
//! `WouldBlock`, deregistration on drop, current-reactor handling, bad fds, the
//! level-triggered registration, and the short-read syscall saving.

mod common;

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use aloop_reactor::{Async, Reactor, Registration, TcpListener, UdpSocket, UnixStream};
use common::{watchdog, HANG};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

/// A waker that records whether it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag_waker() -> (Arc<Flag>, Waker) {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    (flag.clone(), Waker::from(flag))
}

#[test]
fn handles_and_sockets_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Reactor>();
    assert_send_sync::<Registration>();
    assert_send_sync::<Async<StdUnixStream>>();
    assert_send_sync::<aloop_reactor::TcpStream>();
    assert_send_sync::<TcpListener>();
    assert_send_sync::<UdpSocket>();
    assert_send_sync::<UnixStream>();
    assert_send_sync::<aloop_reactor::UnixListener>();
}

#[test]
fn notify_from_another_thread_wakes_a_blocking_poll() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        let remote = reactor.clone();
        let notifier = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            remote.notify().unwrap();
        });
        // Would block forever without the notify; the watchdog turns that into a
        // failure.
        assert_eq!(reactor.poll(None).unwrap(), 0);
        notifier.join().unwrap();
    });
}

#[test]
fn notify_before_poll_is_not_lost_and_is_consumed() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor.notify().unwrap();
        reactor.notify().unwrap(); // coalesced with the first
        assert_eq!(reactor.poll(None).unwrap(), 0, "returns at once");
        // Consumed: a later poll with a timeout really waits (and times out).
        assert_eq!(reactor.poll(Some(Duration::from_millis(5))).unwrap(), 0);
        // And a new notify after that works again.
        let remote = reactor.clone();
        let t = thread::spawn(move || remote.notify().unwrap());
        t.join().unwrap();
        assert_eq!(reactor.poll(None).unwrap(), 0);
    });
}

#[test]
fn block_on_is_woken_from_another_thread() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let mut spawned = false;
        let fut = poll_fn(|cx| {
            if done.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            if !spawned {
                spawned = true;
                let (done, waker) = (done.clone(), cx.waker().clone());
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(20));
                    done.store(true, Ordering::SeqCst);
                    waker.wake();
                });
            }
            Poll::Pending
        });
        reactor.block_on(fut);
    });
}

#[test]
fn readiness_arriving_right_after_would_block_is_not_lost() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        let (a, b) = StdUnixStream::pair().unwrap();
        let a = Async::with_reactor(a, &reactor).unwrap();
        let (flag, waker) = flag_waker();
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 8];
        let mut first = true;
        // The operation sees WouldBlock, and the data lands just after it, before
        // readiness is cleared and the waker stored: the worst moment.
        let r = a.poll_read_with(&mut cx, |mut s| {
            if std::mem::take(&mut first) {
                (&b).write_all(b"late").unwrap();
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                s.read(&mut buf)
            }
        });
        assert!(r.is_pending(), "first attempt reported WouldBlock");
        assert!(!flag.0.load(Ordering::SeqCst));
        assert!(
            reactor.poll(Some(HANG)).unwrap() >= 1,
            "the edge must be delivered"
        );
        assert!(
            flag.0.load(Ordering::SeqCst),
            "the waiting reader must be woken"
        );
        match a.poll_read_with(&mut cx, |mut s| s.read(&mut buf)) {
            Poll::Ready(Ok(4)) => assert_eq!(&buf[..4], b"late"),
            other => panic!("expected the late data, got {other:?}"),
        }
    });
}

#[test]
fn data_arriving_between_polls_wakes_the_reader() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let (a, b) = UnixStream::pair()?;
                let writer = thread::spawn(move || {
                    let b = b.into_std();
                    b.set_nonblocking(false).unwrap();
                    for i in 0..5u8 {
                        thread::sleep(Duration::from_millis(10));
                        (&b).write_all(&[i; 3]).unwrap();
                    }
                });
                let mut got = Vec::new();
                let mut buf = [0u8; 64];
                while got.len() < 15 {
                    let n = a.read(&mut buf).await?;
                    assert!(n > 0, "unexpected EOF");
                    got.extend_from_slice(&buf[..n]);
                }
                writer.join().unwrap();
                assert_eq!(got, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
                io::Result::Ok(())
            })
            .unwrap();
    });
}

#[test]
fn dropping_sources_deregisters_them() {
    let reactor = Reactor::new().unwrap();
    let _g = reactor.enter();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    let raw = Async::new(StdUnixStream::pair().unwrap().0).unwrap();
    assert_eq!(reactor.source_count(), 5);
    drop((listener, udp, a));
    assert_eq!(reactor.source_count(), 2);
    let std_b = b.into_std();
    let _inner = raw.into_inner();
    assert_eq!(reactor.source_count(), 0);
    // A freed key is reused and the fd can be registered again.
    let again = UnixStream::from_std(std_b).unwrap();
    assert_eq!(reactor.source_count(), 1);
    drop(again);
    assert_eq!(reactor.source_count(), 0);
}

#[test]
fn no_current_reactor_is_a_clear_error() {
    assert!(Reactor::current().is_none());
    let err = Async::new(StdUnixStream::pair().unwrap().0).unwrap_err();
    assert!(err.to_string().contains("Reactor::enter"), "{err}");
    assert!(UdpSocket::bind("127.0.0.1:0").is_err());
}

#[test]
fn enter_nests_and_restores() {
    let r1 = Reactor::new().unwrap();
    let r2 = Reactor::new().unwrap();
    let g1 = r1.enter();
    {
        let _g2 = r2.enter();
        assert!(Reactor::current().unwrap().ptr_eq(&r2));
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!((r1.source_count(), r2.source_count()), (0, 1));
        drop(s);
    }
    assert!(Reactor::current().unwrap().ptr_eq(&r1));
    drop(g1);
    assert!(Reactor::current().is_none());
}

/// An fd number that is certainly not open (far above any fd limit), so no other
/// test running concurrently can make it valid.
const CLOSED_FD: RawFd = RawFd::MAX - 1;

#[derive(Debug)]
struct RawFdIo(RawFd);

impl AsRawFd for RawFdIo {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

#[test]
fn bad_fds_are_errors_not_panics() {
    let reactor = Reactor::new().unwrap();
    for fd in [-1, CLOSED_FD] {
        let err = Registration::new_level(&reactor, fd).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "fd {fd}: {err}");
        let err = Async::with_reactor(RawFdIo(fd), &reactor).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "fd {fd}: {err}");
    }
    assert_eq!(reactor.source_count(), 0);
}

#[test]
fn registering_an_fd_twice_is_already_exists() {
    let reactor = Reactor::new().unwrap();
    let (a, _b) = StdUnixStream::pair().unwrap();
    let first = Registration::new_level(&reactor, a.as_raw_fd()).unwrap();
    let err = Registration::new_level(&reactor, a.as_raw_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(
        reactor.source_count(),
        1,
        "the failed attempt left nothing behind"
    );
    drop(first);
    // Free again after the first registration is gone.
    let again = Registration::new_level(&reactor, a.as_raw_fd()).unwrap();
    drop(again);
    assert_eq!(reactor.source_count(), 0);
}

#[test]
fn level_registration_reports_every_poll_until_drained_and_borrows_the_fd() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        let (mut a, mut b) = StdUnixStream::pair().unwrap();
        let reg = Registration::new_level(&reactor, a.as_raw_fd()).unwrap();
        let (flag, waker) = flag_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(reg.poll_readable(&mut cx).is_pending());
        b.write_all(b"x").unwrap();
        // Reported on each poll while the byte is unread (asyncio's add_reader).
        for round in 0..3 {
            flag.0.store(false, Ordering::SeqCst);
            assert!(reactor.poll(Some(HANG)).unwrap() >= 1, "round {round}");
            assert!(flag.0.load(Ordering::SeqCst), "round {round}: not woken");
            assert!(reg.poll_readable(&mut cx).is_ready(), "round {round}");
            assert!(reg.poll_readable(&mut cx).is_pending(), "consumed per poll");
        }
        let mut buf = [0u8; 1];
        a.read_exact(&mut buf).unwrap();
        assert_eq!(reactor.poll(Some(Duration::ZERO)).unwrap(), 0, "drained");
        // Interest off: even with data there, nothing is reported.
        b.write_all(b"y").unwrap();
        reg.stop_reading().unwrap();
        assert_eq!(reactor.poll(Some(Duration::ZERO)).unwrap(), 0);
        // Writable interest: a socket with buffer space is writable at once.
        assert!(reg.poll_writable(&mut cx).is_pending());
        assert!(reactor.poll(Some(HANG)).unwrap() >= 1);
        assert!(reg.poll_writable(&mut cx).is_ready());
        drop(reg);
        assert_eq!(reactor.source_count(), 0);
        // The fd was borrowed: still open and usable.
        a.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"y");
    });
}

#[test]
fn end_of_stream_queued_behind_data_is_not_missed() {
    // Data and the peer's shutdown arrive together, before the first read: a
    // "short read means drained" shortcut would clear readiness here and then wait
    // forever for an edge that never comes.
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let (a, b) = StdUnixStream::pair()?;
                (&b).write_all(b"abc")?;
                b.shutdown(std::net::Shutdown::Write)?;
                let mut a = Async::new(a)?;
                let mut got = Vec::new();
                a.read_to_end(&mut got).await?;
                assert_eq!(got, b"abc");
                let (c, d) = UnixStream::pair()?;
                d.write_all(b"xyz").await?;
                d.shutdown(std::net::Shutdown::Write)?;
                let mut buf = [0u8; 64];
                assert_eq!(c.read(&mut buf).await?, 3);
                assert_eq!(c.read(&mut buf).await?, 0);
                io::Result::Ok(())
            })
            .unwrap();
    });
}

#[test]
fn async_wrapper_implements_futures_io() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let (a, b) = StdUnixStream::pair()?;
                let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
                a.write_all(b"hello").await?;
                a.flush().await?;
                let mut buf = [0u8; 5];
                b.read_exact(&mut buf).await?;
                assert_eq!(&buf, b"hello");
                // And through shared references.
                (&b).write_all(b"back").await?;
                let mut buf = [0u8; 4];
                (&a).read_exact(&mut buf).await?;
                assert_eq!(&buf, b"back");
                a.close().await?;
                io::Result::Ok(())
            })
            .unwrap();
    });
}
