//! SignalListener: deliveries reach every listener, on any thread; bad numbers are
//! typed errors. Signals are raised at this process with raise(3)/kill(2) and only
//! ones whose listeners exist, so the test process is never ended by one.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use aloop_process::{check_signal, signum, SignalError, SignalListener};
use aloop_reactor::Reactor;

fn raise(sig: i32) {
    // SAFETY: raise(3) only sends the signal to this thread.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

#[test]
fn a_raised_signal_reaches_every_listener_of_it() {
    let reactor = Reactor::new().unwrap();
    reactor
        .block_on(async {
            let a = SignalListener::new(signum::SIGUSR1)?;
            let b = SignalListener::new(signum::SIGUSR1)?;
            raise(signum::SIGUSR1);
            a.recv().await?;
            b.recv().await?;
            // Reported once each: a second recv waits for a second delivery.
            raise(signum::SIGUSR1);
            a.recv().await?;
            std::io::Result::Ok(())
        })
        .unwrap();
}

#[test]
fn listeners_on_two_threads_each_see_a_delivery_sent_to_the_process() {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let mut threads = Vec::new();
    for _ in 0..2 {
        let (ready_tx, done_tx) = (ready_tx.clone(), done_tx.clone());
        threads.push(thread::spawn(move || {
            let reactor = Reactor::new().unwrap();
            reactor
                .block_on(async {
                    let listener = SignalListener::new(signum::SIGUSR2)?;
                    ready_tx.send(()).unwrap();
                    listener.recv().await?;
                    done_tx.send(thread::current().id()).unwrap();
                    std::io::Result::Ok(())
                })
                .unwrap();
        }));
    }
    for _ in 0..2 {
        ready_rx.recv().unwrap();
    }
    // SAFETY: kill(2) with our own pid and a signal both threads listen for.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signum::SIGUSR2) }, 0);
    let first = done_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let second = done_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_ne!(first, second, "each thread's listener saw it");
    for t in threads {
        t.join().unwrap();
    }
}

/// Two threads, two reactors, one wake-up pipe, one thread busy when the signal comes:
/// whichever drains the byte first, both hear of every delivery. Many rounds, so a
/// lost wake-up shows as a timeout. (The lost wake-up this guards against, an epoll
/// edge dropped because another reactor drained the pipe before it was collected,
/// showed reliably between a loop and the reaper thread: `subprocess_sigchld.rs` in
/// the facade's tests hung on it.)
#[test]
fn stress_every_round_reaches_both_threads_whoever_drains_first() {
    const ROUNDS: usize = 60;
    let (ack_tx, ack_rx) = mpsc::channel();
    let mut go = Vec::new();
    let mut threads = Vec::new();
    for t in 0..2 {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        go.push(go_tx);
        let ack_tx = ack_tx.clone();
        threads.push(thread::spawn(move || {
            let reactor = Reactor::new().unwrap();
            reactor
                .block_on(async {
                    let listener = SignalListener::new(signum::SIGURG)?;
                    ack_tx.send(t).unwrap();
                    while go_rx.recv().is_ok() {
                        // Thread 1 is waiting for the delivery but busy when it comes,
                        // so its reactor collects the edge late: by then thread 0 has
                        // drained the pipe.
                        let busy = busy_for(Duration::from_millis(8 * t as u64));
                        let (received, ()) = futures_util::join!(listener.recv(), busy);
                        received?;
                        ack_tx.send(t).unwrap();
                    }
                    std::io::Result::Ok(())
                })
                .unwrap();
        }));
    }
    for _ in 0..2 {
        ack_rx.recv().unwrap();
    }
    for round in 0..ROUNDS {
        for g in &go {
            g.send(()).unwrap();
        }
        thread::sleep(Duration::from_millis(2));
        // SAFETY: kill(2) with our own pid and a signal both threads listen for.
        assert_eq!(unsafe { libc::kill(libc::getpid(), signum::SIGURG) }, 0);
        for _ in 0..2 {
            ack_rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("round {round}: a listener missed the delivery"));
        }
    }
    drop(go);
    for t in threads {
        t.join().unwrap();
    }
}

/// A future that blocks its thread for `d` on its first poll, then is ready.
async fn busy_for(d: Duration) {
    thread::sleep(d);
}

#[test]
fn many_deliveries_before_a_look_are_one_recv_and_none_is_lost_after() {
    let reactor = Reactor::new().unwrap();
    reactor
        .block_on(async {
            let listener = SignalListener::new(signum::SIGWINCH)?;
            for _ in 0..50 {
                raise(signum::SIGWINCH);
            }
            listener.recv().await?;
            for _ in 0..20 {
                raise(signum::SIGWINCH);
                listener.recv().await?;
            }
            std::io::Result::Ok(())
        })
        .unwrap();
}

#[test]
fn uncatchable_and_out_of_range_numbers_are_typed_errors() {
    for sig in [signum::SIGKILL, signum::SIGSTOP, libc::SIGSEGV] {
        assert!(matches!(check_signal(sig), Err(SignalError::Uncatchable(n)) if n == sig));
    }
    for sig in [0, -1, 65, 1000] {
        let err = check_signal(sig).unwrap_err();
        assert!(
            matches!(err, SignalError::OutOfRange(n) if n == sig),
            "{sig}: {err}"
        );
        assert!(err.to_string().contains("out of range"), "{err}");
    }
    let reactor = Reactor::new().unwrap();
    let err = SignalListener::with_reactor(signum::SIGKILL, &reactor).unwrap_err();
    assert_eq!(err.to_string(), "signal 9 cannot be caught");
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn without_a_reactor_new_says_how_to_get_one() {
    let err = SignalListener::new(signum::SIGUSR1).unwrap_err();
    assert!(err.to_string().contains("no aloop reactor"), "{err}");
}

#[test]
fn a_dropped_listener_deregisters_and_closes_its_descriptor() {
    let reactor = Reactor::new().unwrap();
    let before = reactor.source_count();
    let listener = SignalListener::with_reactor(signum::SIGUSR1, &reactor).unwrap();
    assert_eq!(reactor.source_count(), before + 1);
    drop(listener);
    assert_eq!(reactor.source_count(), before);
}
