//! `futures-io`'s traits on the streams: `futures-util`'s `copy`, `lines`,
//! `read_exact` and `write_all` on aloop's readers and writers, back-pressure through
//! `AsyncWrite`, and asyncio-style reads mixed with `AsyncBufRead` reads on one reader
//! with no byte lost or read twice.

use std::pin::Pin;

use aloop::{StreamReader, StreamWriter};
use futures_util::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use futures_util::StreamExt;

fn data(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(7) % 253) as u8)
        .collect()
}

#[test]
fn copy_echoes_through_a_server_and_read_exact_reads_it_back() {
    aloop::run(async {
        let server = aloop::start_server(
            |mut r: StreamReader, mut w: StreamWriter| async move {
                futures_util::io::copy(&mut r, &mut w).await.unwrap();
                AsyncWriteExt::close(&mut w).await.unwrap(); // close + wait_closed
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (mut r, mut w) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
            .await
            .unwrap();
        let sent = data(1 << 20);
        let to_send = sent.clone();
        let writing = aloop::create_task(async move {
            w.write_all(&to_send).await.unwrap();
            w.flush().await.unwrap();
            w.write_eof().unwrap();
            w
        });
        let mut back = vec![0; sent.len()];
        r.read_exact(&mut back).await.unwrap();
        assert!(back == sent);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "end-of-stream after the echo");
        drop(writing.await.unwrap());
        server.close();
    });
}

#[test]
fn async_buf_read_lines_on_a_reader() {
    aloop::run(async {
        let reader = StreamReader::new();
        for i in 0..1000 {
            reader.feed_data(format!("line {i}\n").as_bytes());
        }
        reader.feed_eof();
        let lines: Vec<String> = reader
            .lines_stream()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], "line 999");
    });
}

trait LinesStream {
    fn lines_stream(self) -> futures_util::io::Lines<StreamReader>;
}

impl LinesStream for StreamReader {
    fn lines_stream(self) -> futures_util::io::Lines<StreamReader> {
        AsyncBufReadExt::lines(self)
    }
}

/// A tiny deterministic generator, so the mixed-reads test is reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn asyncio_reads_and_buf_reads_mixed_on_one_reader_lose_and_repeat_nothing() {
    for seed in 0..20u64 {
        aloop::run(async move {
            let mut rng = Lcg(seed);
            let mut input = Vec::new();
            for i in 0..300 {
                input.extend_from_slice(
                    format!("{i}:{}\n", "x".repeat(rng.next(40) as usize)).as_bytes(),
                );
            }
            let mut reader = StreamReader::new();
            // Fed in odd-sized pieces, some before and some during the reads.
            let mut fed = 0;
            let mut out = Vec::new();
            while out.len() < input.len() {
                if fed < input.len() && rng.next(3) == 0 {
                    let n = (rng.next(97) as usize + 1).min(input.len() - fed);
                    reader.feed_data(&input[fed..fed + n]);
                    fed += n;
                    if fed == input.len() {
                        reader.feed_eof();
                    }
                    continue;
                }
                if reader.buffered() == 0 && fed < input.len() {
                    continue; // nothing to read yet: feed first (reads would wait)
                }
                match rng.next(4) {
                    0 => out.extend(reader.read(rng.next(50) as usize + 1).await.unwrap()),
                    1 => {
                        // AsyncBufRead: look, take part of it.
                        let buf = futures_util::future::poll_fn(|cx| {
                            Pin::new(&mut reader)
                                .poll_fill_buf(cx)
                                .map_ok(|b| b.to_vec())
                        })
                        .await
                        .unwrap();
                        let take = (rng.next(30) as usize).min(buf.len());
                        out.extend_from_slice(&buf[..take]);
                        Pin::new(&mut reader).consume(take);
                    }
                    2 => {
                        let mut b = vec![0; rng.next(20) as usize + 1];
                        let n = AsyncReadExt::read(&mut reader, &mut b).await.unwrap();
                        out.extend_from_slice(&b[..n]);
                    }
                    _ => {
                        // asyncio's readline needs a whole line or EOF buffered.
                        if fed == input.len() || reader.buffered() > 60 {
                            out.extend(reader.readline().await.unwrap_or_else(|e| match e {
                                aloop::ReadError::IncompleteRead(e) => e.partial,
                                e => panic!("{e}"),
                            }));
                        }
                    }
                }
            }
            assert!(out == input, "seed {seed}: every byte once, in order");
        });
    }
}

#[test]
fn async_write_waits_at_the_high_water_mark() {
    aloop::run(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_r, mut w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        w.set_write_buffer_limits(Some(128 * 1024), None).unwrap();
        let total = 16 << 20;
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = vec![0; 64 * 1024];
            let mut got = 0;
            while got < total {
                std::thread::sleep(std::time::Duration::from_micros(200)); // a slow peer
                got += peer.read(&mut buf).unwrap();
            }
            got
        });
        let chunk = vec![5u8; 32 * 1024];
        let mut most = 0;
        for _ in 0..total / chunk.len() {
            w.write_all(&chunk).await.unwrap();
            most = most.max(w.get_write_buffer_size());
        }
        assert!(
            most <= 128 * 1024 + chunk.len(),
            "the queue stayed bounded: {most}"
        );
        AsyncWriteExt::close(&mut w).await.unwrap();
        assert_eq!(reader.join().unwrap(), total);
    });
}

#[test]
fn set_exception_fails_a_buf_read_even_with_a_window_lent_before() {
    // Found by the stream_reader fuzz target: poll_fill_buf handed out the rest of a
    // window it had lent before set_exception, where every other read fails (H11).
    aloop::run(async {
        let mut r = StreamReader::new();
        r.feed_data(b"ab");
        assert_eq!(r.fill_buf().await.unwrap(), b"ab");
        Pin::new(&mut r).consume(1);
        r.set_exception(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ));
        let e = r.fill_buf().await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
        assert_eq!(r.read(1).await.unwrap_err().kind(), e.kind());
        // The byte is still buffered, as with the asyncio-style reads.
        assert_eq!(r.buffered(), 1);
    });
}
