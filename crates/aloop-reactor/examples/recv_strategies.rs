//! What each way of receiving a message costs the kernel, for choosing how a TCP read
//! learns that the socket is drained (README: "How a read learns the socket is
//! drained"). One thread, one loopback connection: send 1 KiB, receive it with the
//! strategy under test; system and user time from `getrusage`, medians of several
//! interleaved rounds. Linux only (`TCP_INQ`).
//!
//! ```sh
//! cargo run --release -p aloop-reactor --example recv_strategies [messages] [rounds]
//! ```

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main() {
    linux::main()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn main() {
    eprintln!("skipped: the strategies compared here are Linux's (TCP_INQ)");
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::io::{AsRawFd, RawFd};

    const MSG: usize = 1024;

    /// The strategies: how the receiver reads one 1 KiB message and learns that
    /// nothing more is queued.
    const STRATEGIES: [&str; 5] = [
        "recv into 64 KiB (a short read proves the queue empty)",
        "readv: 1 KiB + 64 KiB (the same, scattering)",
        "recvmsg: 1 KiB + 64 KiB, TCP_INQ control message",
        "recvmsg: 1 KiB, TCP_INQ control message",
        "recv of exactly 1 KiB + the WouldBlock recv (tokio's read_exact)",
    ];

    fn cpu_seconds() -> (f64, f64) {
        // SAFETY: an all-zero rusage is a valid value; getrusage fills it in.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `r` is a live, writable rusage for the duration of the call.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut r) };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        (secs(r.ru_utime), secs(r.ru_stime))
    }

    fn recvmsg(fd: RawFd, iov: &mut [libc::iovec], control: &mut [u64; 4]) -> isize {
        // SAFETY: an all-zero msghdr is a valid value.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = iov.as_mut_ptr();
        m.msg_iovlen = iov.len() as _;
        m.msg_control = control.as_mut_ptr().cast();
        m.msg_controllen = std::mem::size_of_val(control) as _;
        // SAFETY: `m` points at live iovecs over live buffers and at `control`.
        unsafe { libc::recvmsg(fd, &mut m, 0) }
    }

    /// Receives one message by `strategy`; returns the bytes of the message read.
    fn receive(strategy: usize, fd: RawFd, dst: &mut [u8; MSG], room: &mut [u8]) -> isize {
        let iov = |p: &mut [u8]| libc::iovec {
            iov_base: p.as_mut_ptr().cast(),
            iov_len: p.len(),
        };
        let mut control = [0u64; 4];
        match strategy {
            // SAFETY: `room` is live and writable for its length.
            0 => unsafe { libc::recv(fd, room.as_mut_ptr().cast(), room.len(), 0) },
            1 => {
                let mut v = [iov(dst), iov(room)];
                // SAFETY: the iovecs describe live, writable buffers.
                unsafe { libc::readv(fd, v.as_mut_ptr(), 2) }
            }
            2 => recvmsg(fd, &mut [iov(dst), iov(room)], &mut control),
            3 => recvmsg(fd, &mut [iov(dst)], &mut control),
            _ => {
                // SAFETY: `dst` is live and writable for MSG bytes (both calls).
                let n = unsafe { libc::recv(fd, dst.as_mut_ptr().cast(), MSG, 0) };
                // SAFETY: as above.
                let again =
                    unsafe { libc::recv(fd, dst.as_mut_ptr().cast(), MSG, libc::MSG_DONTWAIT) };
                assert_eq!(again, -1, "nothing more was sent");
                n
            }
        }
    }

    /// One round of `messages` messages: (system µs, user µs) per message.
    fn round(strategy: usize, messages: usize) -> (f64, f64) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut tx = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
        let (rx, _) = listener.accept().expect("accept");
        tx.set_nodelay(true).unwrap();
        let fd = rx.as_raw_fd();
        let one: libc::c_int = 1;
        // SAFETY: `one` is a live c_int and the length passed is its size.
        let set = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_TCP,
                libc::TCP_INQ,
                (&one as *const libc::c_int).cast(),
                4,
            )
        };
        assert_eq!(set, 0, "TCP_INQ: {}", std::io::Error::last_os_error());
        let (msg, mut dst, mut room) = ([7u8; MSG], [0u8; MSG], vec![0u8; 64 * 1024]);
        let (user0, sys0) = cpu_seconds();
        for _ in 0..messages {
            tx.write_all(&msg).unwrap();
            assert_eq!(receive(strategy, fd, &mut dst, &mut room), MSG as isize);
        }
        let (user1, sys1) = cpu_seconds();
        let per = |a: f64, b: f64| (b - a) * 1e6 / messages as f64;
        (per(sys0, sys1), per(user0, user1))
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    pub(super) fn main() {
        let arg = |i: usize, default: usize| {
            std::env::args()
                .nth(i)
                .and_then(|s| s.parse().ok())
                .unwrap_or(default)
        };
        let (messages, rounds) = (arg(1, 100_000), arg(2, 7));
        let mut results = vec![(Vec::new(), Vec::new()); STRATEGIES.len()];
        for _ in 0..rounds {
            for (s, r) in results.iter_mut().enumerate() {
                let (sys, user) = round(s, messages);
                r.0.push(sys);
                r.1.push(user);
            }
        }
        println!(
            "{messages} messages of {MSG} B per round, medians of {rounds} interleaved rounds"
        );
        println!("| receive strategy | system µs/message (send included) | user µs/message |");
        println!("|---|---:|---:|");
        for (name, (sys, user)) in STRATEGIES.iter().zip(results) {
            println!("| {name} | {:.2} | {:.3} |", median(sys), median(user));
        }
    }
}
