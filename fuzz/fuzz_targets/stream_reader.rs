//! Fuzz target: aloop's `StreamReader` (hand-fed: `with_limit`, `feed_data`,
//! `feed_eof`, `set_exception`) on a real event loop, against a model of asyncio's
//! semantics over a plain `Vec<u8>` (`model/stream.rs`).
//!
//! The fuzz input is a list of steps. Feeding steps run in the main task (the
//! feeder); each read step starts a task doing that read (`read`, `read_into`,
//! `readexactly`, `readexactly_into`, `readuntil`, `readuntil_into`, `readline`,
//! `readline_into`, `read_to_eof`, a few
//! `lines()`, an `AsyncBufRead` fill-and-consume), one read at a time as asyncio
//! requires; a `Cancel` step cancels the read in flight. After every step the feeder
//! yields to the loop and checks that the read finished exactly when the model says it
//! can (a read still waiting when it could answer is a lost wake-up), with the model's
//! result, and that `buffered()` and `at_eof()` agree. At the end it feeds EOF and
//! checks that the rest of the stream comes out whole.
//!
//! Neighbours: the other targets in this directory; `model/stream.rs` (the model).
#![no_main]

#[path = "../model/stream.rs"]
mod model;

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use aloop::{ReadError, StreamReader, Task};
use arbitrary::Arbitrary;
use futures_io::AsyncBufRead;
use libfuzzer_sys::fuzz_target;

use model::{Call, Got, Item, Model};

/// Bytes fed are drawn from this alphabet, so separators and line ends are common.
const ALPHABET: &[u8; 4] = b"ab\r\n";

fn bytes(raw: &[u8]) -> Vec<u8> {
    raw.iter().map(|b| ALPHABET[usize::from(b % 4)]).collect()
}

#[derive(Arbitrary, Debug)]
enum Step {
    Feed(Vec<u8>),
    /// One byte, `kib` KiB times: crosses the default 64 KiB limit and the buffer's
    /// storage thresholds in a few input bytes.
    FeedMany {
        byte: u8,
        kib: u8,
    },
    FeedEof,
    SetException,
    Read(u16),
    ReadInto(u16),
    ReadExactly(u16),
    ReadExactlyInto(u16),
    ReadUntil(Vec<u8>),
    ReadUntilInto(Vec<u8>),
    ReadLine,
    ReadLineInto,
    ReadToEof,
    Lines(u8),
    BufRead(u16),
    Cancel,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// The reader's limit: small ones (or the default) so overruns are common.
    limit: u8,
    steps: Vec<Step>,
}

/// What a read task reports, in the model's terms.
fn got_err(e: ReadError) -> Got {
    match e {
        ReadError::Io(e) => Got::Io(e.kind()),
        ReadError::IncompleteRead(e) => Got::Incomplete {
            partial: e.partial,
            expected: e.expected,
        },
        ReadError::LimitOverrun(e) => Got::Overrun {
            consumed: e.consumed,
            found: e.message.starts_with("Separator is found"),
        },
        ReadError::EmptySeparator => Got::EmptySeparator,
    }
}

fn got_io(e: io::Error) -> Got {
    // The structured errors travel inside an io::Error (lines(), the I/O traits).
    match e.into_inner_read_error() {
        Ok(read_error) => got_err(read_error),
        Err(e) => Got::Io(e.kind()),
    }
}

/// Unwraps the typed read error an `io::Error` carries, if any.
trait IntoReadError {
    fn into_inner_read_error(self) -> Result<ReadError, io::Error>;
}

impl IntoReadError for io::Error {
    fn into_inner_read_error(self) -> Result<ReadError, io::Error> {
        let Some(inner) = self.get_ref() else {
            return Err(self);
        };
        if let Some(e) = inner.downcast_ref::<aloop::LimitOverrunError>() {
            return Ok(ReadError::LimitOverrun(e.clone()));
        }
        if let Some(e) = inner.downcast_ref::<aloop::IncompleteReadError>() {
            return Ok(ReadError::IncompleteRead(e.clone()));
        }
        Err(self)
    }
}

/// What an appending read's `Vec` holds before it: it must stay.
const KEPT: &[u8] = b"kept";

/// An appending read's result as the model sees it: the bytes it appended, after
/// checking that it kept what was there, counted right, and appended nothing on an
/// error.
fn appended(buf: Vec<u8>, got: Result<usize, ReadError>) -> Got {
    assert!(buf.starts_with(KEPT), "an appending read cleared its Vec");
    match got {
        Ok(n) => {
            assert_eq!(buf.len(), KEPT.len() + n, "appended {n} bytes?");
            Got::Bytes(buf[KEPT.len()..].to_vec())
        }
        Err(e) => {
            assert_eq!(buf, KEPT, "an appending read that failed appended");
            got_err(e)
        }
    }
}

/// Starts the task doing `read`. `lines` collects what a `lines()` read yields as it
/// goes; `buf_reader` is the one handle used for `AsyncBufRead`, so its lent window
/// is reused across reads (and must notice when other reads moved the stream on).
// The BufRead task holds `buf_reader` borrowed while it waits: one read runs at a
// time, and a cancelled one gives the borrow back with its future.
#[allow(clippy::await_holding_refcell_ref)]
fn start(
    reader: &StreamReader,
    buf_reader: &Rc<RefCell<StreamReader>>,
    read: &Call,
    lines: &Rc<RefCell<Vec<Item>>>,
) -> Task<Got> {
    let r = reader.clone();
    match read.clone() {
        Call::Read(n) => {
            aloop::create_task(async move { r.read(n).await.map_or_else(got_io, Got::Bytes) })
        }
        Call::ReadInto(n) => aloop::create_task(async move {
            let mut buf = vec![0xEE; n];
            match r.read_into(&mut buf).await {
                Ok(k) => Got::Bytes(buf[..k].to_vec()),
                Err(e) => got_io(e),
            }
        }),
        Call::ReadExactly(n) => {
            aloop::create_task(
                async move { r.readexactly(n).await.map_or_else(got_err, Got::Bytes) },
            )
        }
        Call::ReadExactlyInto(n) => aloop::create_task(async move {
            let mut buf = vec![0xEE; n];
            match r.readexactly_into(&mut buf).await {
                Ok(()) => Got::Bytes(buf),
                Err(ReadError::IncompleteRead(e)) => {
                    assert_eq!(
                        &buf[..e.partial.len()],
                        &e.partial[..],
                        "buf starts with partial"
                    );
                    got_err(ReadError::IncompleteRead(e))
                }
                Err(e) => got_err(e),
            }
        }),
        Call::ReadUntil(sep) => {
            aloop::create_task(
                async move { r.readuntil(&sep).await.map_or_else(got_err, Got::Bytes) },
            )
        }
        Call::ReadUntilInto(sep) => aloop::create_task(async move {
            let mut buf = KEPT.to_vec();
            let got = r.readuntil_into(&sep, &mut buf).await;
            appended(buf, got)
        }),
        Call::ReadLine => {
            aloop::create_task(async move { r.readline().await.map_or_else(got_err, Got::Bytes) })
        }
        Call::ReadLineInto => aloop::create_task(async move {
            let mut buf = KEPT.to_vec();
            let got = r.readline_into(&mut buf).await;
            appended(buf, got)
        }),
        Call::ReadToEof => {
            aloop::create_task(async move { r.read_to_eof().await.map_or_else(got_io, Got::Bytes) })
        }
        Call::Lines(n) => {
            let out = lines.clone();
            out.borrow_mut().clear();
            aloop::create_task(async move {
                let mut it = r.lines();
                for _ in 0..n {
                    match it.next_line().await {
                        None => break,
                        Some(Ok(line)) => out.borrow_mut().push(Item::Line(line)),
                        Some(Err(e)) => out.borrow_mut().push(Item::Error(got_io(e))),
                    }
                }
                // The stream ends after an error or an empty read, and stays ended.
                if matches!(out.borrow().last(), Some(Item::Error(_))) {
                    assert!(
                        it.next_line().await.is_none(),
                        "lines() went on after an error"
                    );
                }
                Got::LinesDone
            })
        }
        Call::BufRead(n) => {
            let shared = buf_reader.clone();
            aloop::create_task(async move {
                let mut r = shared.borrow_mut();
                let filled = poll_fn(|cx| {
                    Pin::new(&mut *r)
                        .poll_fill_buf(cx)
                        .map(|res| res.map(|buf| buf.to_vec()))
                })
                .await;
                match filled {
                    Ok(window) => {
                        let take = n.min(window.len());
                        Pin::new(&mut *r).consume(take);
                        Got::Bytes(window[..take].to_vec())
                    }
                    Err(e) => got_io(e),
                }
            })
        }
    }
}

/// Lets every woken task run (a task spawned, a read woken by a feed, a cancelled
/// task's future dropped).
async fn settle() {
    for _ in 0..3 {
        aloop::sleep(Duration::ZERO).await;
    }
}

/// The read in flight: its task, what the model says of it.
struct InFlight {
    task: Task<Got>,
    read: Call,
}

fn read_of(step: &Step) -> Option<Call> {
    let n = |n: &u16| usize::from(*n);
    Some(match step {
        Step::Read(k) => Call::Read(n(k)),
        Step::ReadInto(k) => Call::ReadInto(n(k)),
        Step::ReadExactly(k) => Call::ReadExactly(n(k)),
        Step::ReadExactlyInto(k) => Call::ReadExactlyInto(n(k)),
        Step::ReadUntil(sep) => Call::ReadUntil(bytes(&sep[..sep.len().min(4)])),
        Step::ReadUntilInto(sep) => Call::ReadUntilInto(bytes(&sep[..sep.len().min(4)])),
        Step::ReadLine => Call::ReadLine,
        Step::ReadLineInto => Call::ReadLineInto,
        Step::ReadToEof => Call::ReadToEof,
        Step::Lines(k) => Call::Lines(usize::from(k % 8)),
        Step::BufRead(k) => Call::BufRead(n(k)),
        _ => return None,
    })
}

/// Compares the read in flight with the model: done exactly when the model can
/// answer, with its answer. Returns whether it is still in flight.
fn check_read(model: &mut Model, flight: &InFlight, lines: &Rc<RefCell<Vec<Item>>>) -> bool {
    let want = model.poll(&flight.read);
    if let Call::Lines(_) = flight.read {
        assert_eq!(*lines.borrow(), model.lines, "lines() so far");
    }
    match want {
        None => {
            assert!(
                !flight.task.done(),
                "{:?} done, the model waits",
                flight.read
            );
            true
        }
        Some(want) => {
            let got = flight
                .task
                .take_result()
                .unwrap_or_else(|| {
                    panic!("{:?} still waiting, the model has {want:?}", flight.read)
                })
                .expect("read task failed");
            match (&flight.read, &want, &got) {
                // AsyncBufRead may lend less than is buffered (a window it lent
                // before), but never nothing when there is something.
                (Call::BufRead(_), Got::Bytes(most), Got::Bytes(lent)) => {
                    assert!(most.starts_with(lent), "lent {lent:?}, buffered {most:?}");
                    assert_eq!(lent.is_empty(), most.is_empty(), "lent {lent:?}");
                    model.consume(lent.len());
                }
                _ => assert_eq!(got, want, "{:?}", flight.read),
            }
            false
        }
    }
}

fn check_state(reader: &StreamReader, model: &Model) {
    assert_eq!(reader.buffered(), model.visible_len(), "buffered()");
    assert_eq!(reader.at_eof(), model.at_eof(), "at_eof()");
}

async fn run(input: Input) {
    // 0 is refused (`with_limit` panics, as asyncio's ValueError): 1..=64 or the default.
    let limit = match input.limit {
        1..=64 => usize::from(input.limit),
        _ => aloop::DEFAULT_LIMIT,
    };
    let reader = StreamReader::with_limit(limit);
    let buf_reader = Rc::new(RefCell::new(reader.clone()));
    let lines = Rc::new(RefCell::new(Vec::new()));
    let mut model = Model::new(limit);
    let mut flight: Option<InFlight> = None;
    let mut fed = 0usize;
    for step in &input.steps {
        match step {
            Step::Feed(data) => {
                let data = bytes(data);
                fed += data.len();
                reader.feed_data(&data);
                model.feed(&data);
            }
            Step::FeedMany { byte, kib } => {
                // At most 1 MiB in all, to keep runs fast.
                let n = (usize::from(*kib) * 1024).min((1 << 20) - fed.min(1 << 20));
                let data = vec![ALPHABET[usize::from(byte % 4)]; n];
                fed += n;
                reader.feed_data(&data);
                model.feed(&data);
            }
            Step::FeedEof => {
                reader.feed_eof();
                model.feed_eof();
            }
            Step::SetException => {
                reader.set_exception(io::Error::new(io::ErrorKind::ConnectionReset, "fuzz"));
                model.set_exception(io::ErrorKind::ConnectionReset);
            }
            Step::Cancel => {
                if let Some(f) = flight.take() {
                    assert!(f.task.cancel(), "cancelling a read that is in flight");
                    settle().await;
                    assert!(f.task.cancelled(), "a cancelled read did not end");
                    model.cancel(&f.read);
                }
            }
            read => {
                let read = read_of(read).expect("every other step is a read");
                // One reader at a time: a read step while one is in flight is skipped.
                if flight.is_none() {
                    model.start(&read);
                    flight = Some(InFlight {
                        task: start(&reader, &buf_reader, &read, &lines),
                        read,
                    });
                }
            }
        }
        settle().await;
        if let Some(f) = &flight {
            if !check_read(&mut model, f, &lines) {
                flight = None;
            }
        }
        check_state(&reader, &model);
    }
    // The end of the stream: the read in flight must finish, then the rest comes out.
    reader.feed_eof();
    model.feed_eof();
    settle().await;
    if let Some(f) = &flight {
        assert!(
            !check_read(&mut model, f, &lines),
            "a read still waits after EOF"
        );
    }
    check_state(&reader, &model);
    let rest = reader.read_to_eof().await.map_or_else(got_io, Got::Bytes);
    assert_eq!(rest, model.poll(&Call::ReadToEof).expect("at EOF"));
    if !model.has_exception() {
        assert!(reader.at_eof());
    }
}

fuzz_target!(|input: Input| {
    let lp = aloop::new_event_loop();
    lp.run_until_complete(run(input)).expect("the loop ran");
});
