//! `loadgen run`: the client. Open loop (`--rate R`): request k is *due* at
//! `t0 + k / R`, requests spread round-robin over the connections, and each is sent at
//! its due time whether or not earlier replies came back; its latency is counted from
//! the due time, not from when it was sent, so a server that stalls is charged for
//! every request it held up (no coordinated omission, as in wrk2). Closed loop
//! (`--closed`): each connection sends its next request when the previous reply is in,
//! for the peak rate.
//!
//! It runs on aloop: an `aloop::Runtime` of `--threads` loops, connections spread over
//! them, each connection a writer task (the schedule) and a reader task (the replies).
//! aloop's timers keep sub-millisecond deadlines (`epoll_pwait2`), so sends are not
//! batched to the millisecond; how late each send was is recorded too (`lag`), which
//! tells whether the generator kept up. Latencies go to HDR histograms (ns, 3
//! significant digits), one per loop, merged at the end. Messages: message.rs; the
//! servers: echo_servers.rs.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::message::{self, fill};

/// How requests are sent.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// A fixed rate (requests/s over all connections), whatever the replies do.
    Open(f64),
    /// Each connection waits for its reply before sending again.
    Closed,
}

/// What `loadgen run` was asked for.
#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub mode: Option<Mode>,
    pub conns: usize,
    pub size: usize,
    pub secs: f64,
    /// Requests due (open) or sent (closed) in the first `warmup` seconds are not
    /// counted: connections and caches settle.
    pub warmup: f64,
    pub threads: usize,
    /// How long after the last due time replies are still waited for; those that do
    /// not come are counted as `unanswered`.
    pub grace: Duration,
    pub label: String,
}

impl Config {
    pub fn check(&self) -> Result<(), String> {
        match self.mode {
            None => return Err("one of --rate R or --closed is needed".into()),
            Some(Mode::Open(rate)) if !(rate > 0.0 && rate.is_finite()) => {
                return Err("--rate must be above 0".into())
            }
            _ => {}
        }
        if self.port == 0 {
            return Err("--port is needed".into());
        }
        if !(message::MIN_SIZE..=message::MAX_SIZE).contains(&self.size) {
            return Err(format!(
                "--size must be {}..={}",
                message::MIN_SIZE,
                message::MAX_SIZE
            ));
        }
        if self.conns == 0 || self.threads == 0 || self.threads > self.conns {
            return Err("--conns and --threads must be at least 1, threads <= conns".into());
        }
        if !(self.secs > self.warmup && self.warmup >= 0.0 && self.secs <= 3600.0) {
            return Err("--secs must be above --warmup (and at most 3600)".into());
        }
        Ok(())
    }
}

/// The schedule every loop follows (`Copy`, so each loop's thread gets its own).
#[derive(Clone, Copy)]
struct Plan {
    port: u16,
    mode: Mode,
    conns: usize,
    size: usize,
    /// When the first request is due (connections are made before).
    t0: Instant,
    /// Requests due (sent) before this are not recorded.
    record_from: Instant,
    /// No request is due (sent) from here on.
    end: Instant,
    grace: Duration,
}

impl Plan {
    /// When request `seq` of connection `conn` is due: the global request
    /// `seq * conns + conn` at the global rate.
    fn due(&self, rate: f64, conn: usize, seq: u64) -> Instant {
        let k = seq as f64 * self.conns as f64 + conn as f64;
        self.t0 + Duration::from_secs_f64(k / rate)
    }
}

/// What one loop counted.
struct Tally {
    /// Latency of each recorded reply, ns.
    latency: Histogram<u64>,
    /// Open loop: how late each recorded request was sent, ns.
    lag: Histogram<u64>,
    sent: u64,
    /// Every reply, warm-up included (server CPU is divided by this).
    replies: u64,
    /// Replies recorded (due or sent after the warm-up).
    recorded: u64,
    /// Connections that could not be made, or broke (read or write error, early EOF).
    errors: u64,
    /// Replies that were not the message sent.
    mismatched: u64,
    /// Requests whose reply had not come `grace` after the last due time.
    unanswered: u64,
}

impl Tally {
    fn new() -> Tally {
        // 1 ns to 100 s at 3 significant digits: a few tens of KiB.
        let histogram = || Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("bounds");
        Tally {
            latency: histogram(),
            lag: histogram(),
            sent: 0,
            replies: 0,
            recorded: 0,
            errors: 0,
            mismatched: 0,
            unanswered: 0,
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.latency.add(&other.latency).expect("same bounds");
        self.lag.add(&other.lag).expect("same bounds");
        self.sent += other.sent;
        self.replies += other.replies;
        self.recorded += other.recorded;
        self.errors += other.errors;
        self.mismatched += other.mismatched;
        self.unanswered += other.unanswered;
    }
}

type Shared = Rc<RefCell<Tally>>;

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

pub fn main(config: Config) -> ExitCode {
    let mode = config.mode.expect("checked");
    let rt = match aloop::Runtime::new(config.threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: the runtime did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Half a second to connect everything, then the schedule starts for all loops.
    let t0 = Instant::now() + Duration::from_millis(500);
    let plan = Plan {
        port: config.port,
        mode,
        conns: config.conns,
        size: config.size,
        t0,
        record_from: t0 + Duration::from_secs_f64(config.warmup),
        end: t0 + Duration::from_secs_f64(config.secs),
        grace: config.grace,
    };
    let threads = config.threads;
    let tasks: Vec<_> = (0..threads)
        .map(|i| {
            rt.spawn_on(i, move || async move {
                let tally = Rc::new(RefCell::new(Tally::new()));
                let conns: Vec<_> = (i..plan.conns)
                    .step_by(threads)
                    .map(|c| aloop::create_task(connection(c, plan, tally.clone())))
                    .collect();
                for c in conns {
                    let _ = c.await;
                }
                tally.replace(Tally::new())
            })
            .expect("a fresh runtime takes tasks")
        })
        .collect();
    // The generator's own CPU over the counted window: did it keep up?
    sleep_until(plan.record_from);
    let cpu0 = own_cpu_ns();
    sleep_until(plan.end);
    let cpu1 = own_cpu_ns();
    let mut total = Tally::new();
    for task in tasks {
        match task.wait() {
            Ok(tally) => total.merge(&tally),
            Err(e) => {
                eprintln!("loadgen: a generator loop failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    drop(rt);
    let window = config.secs - config.warmup;
    let gen_cpu_s = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / 1e9),
        _ => None,
    };
    println!("{}", summary(&config, mode, &total, window, gen_cpu_s));
    let broken = total.errors + total.mismatched + total.unanswered;
    if broken > 0 {
        eprintln!(
            "loadgen: {} errors, {} mismatched, {} unanswered",
            total.errors, total.mismatched, total.unanswered
        );
    }
    if total.recorded == 0 || total.mismatched > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn sleep_until(t: Instant) {
    if let Some(d) = t.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

/// CPU time of this process's threads so far, ns (the sum of their schedstat).
fn own_cpu_ns() -> Option<u64> {
    let mut sum = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        sum += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(sum)
}

/// One JSON line: the run's figures (latencies in µs).
fn summary(config: &Config, mode: Mode, t: &Tally, window: f64, gen_cpu_s: Option<f64>) -> String {
    let us = |ns: u64| ns as f64 / 1e3;
    let q = |h: &Histogram<u64>, q: f64| us(h.value_at_quantile(q));
    let mut o = crate::json::Object::new();
    o.str("label", &config.label)
        .str(
            "mode",
            if matches!(mode, Mode::Open(_)) {
                "open"
            } else {
                "closed"
            },
        )
        .num("conns", config.conns as f64)
        .num("size", config.size as f64)
        .num("threads", config.threads as f64)
        .num("secs", config.secs)
        .num("warmup", config.warmup)
        .num(
            "target_rate",
            match mode {
                Mode::Open(rate) => rate,
                Mode::Closed => f64::NAN,
            },
        )
        .num("rate", t.recorded as f64 / window)
        .num("sent", t.sent as f64)
        .num("replies", t.replies as f64)
        .num("recorded", t.recorded as f64)
        .num("errors", t.errors as f64)
        .num("mismatched", t.mismatched as f64)
        .num("unanswered", t.unanswered as f64)
        .num("p50_us", q(&t.latency, 0.5))
        .num("p90_us", q(&t.latency, 0.9))
        .num("p99_us", q(&t.latency, 0.99))
        .num("p999_us", q(&t.latency, 0.999))
        .num("p9999_us", q(&t.latency, 0.9999))
        .num("max_us", us(t.latency.max()))
        .num("mean_us", t.latency.mean() / 1e3)
        .num("lag_p99_us", q(&t.lag, 0.99))
        .num("lag_max_us", us(t.lag.max()))
        .num("gen_cpu_s", gen_cpu_s.unwrap_or(f64::NAN))
        .num("gen_cores", gen_cpu_s.map_or(f64::NAN, |s| s / window));
    o.finish()
}

/// One connection, for its whole run; what goes wrong is counted, never panics.
async fn connection(conn: usize, plan: Plan, tally: Shared) {
    let (reader, writer) = match aloop::open_connection("127.0.0.1", plan.port).await {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("loadgen: connection {conn}: {e}");
            tally.borrow_mut().errors += 1;
            return;
        }
    };
    aloop::sleep_until(plan.t0).await;
    match plan.mode {
        Mode::Open(rate) => open_loop(conn, rate, plan, &tally, reader, &writer).await,
        Mode::Closed => closed_loop(conn, plan, &tally, reader, &writer).await,
    }
    writer.close();
}

/// Requests sent and not yet answered, oldest first: (sequence, due time).
type Pending = Rc<RefCell<VecDeque<(u64, Instant)>>>;

async fn open_loop(
    conn: usize,
    rate: f64,
    plan: Plan,
    tally: &Shared,
    reader: aloop::StreamReader,
    writer: &aloop::StreamWriter,
) {
    let pending: Pending = Rc::default();
    let replies = aloop::create_task(read_replies(
        conn,
        plan,
        reader,
        pending.clone(),
        tally.clone(),
    ));
    let mut msg = vec![0u8; plan.size];
    for seq in 0.. {
        let due = plan.due(rate, conn, seq);
        if due >= plan.end || replies.done() {
            break;
        }
        aloop::sleep_until(due).await;
        let lag = Instant::now().saturating_duration_since(due);
        if due >= plan.record_from {
            tally.borrow_mut().lag.saturating_record(nanos(lag));
        }
        pending.borrow_mut().push_back((seq, due));
        fill(&mut msg, conn, seq);
        // drain() waits only while the socket's buffer is past its high-water mark:
        // requests falling due meanwhile go out late, and their latency says so.
        if writer.write(&msg).is_err() || writer.drain().await.is_err() {
            tally.borrow_mut().errors += 1;
            break;
        }
        tally.borrow_mut().sent += 1;
    }
    // The replies still in flight, for up to `grace`.
    let give_up = plan.end + plan.grace;
    while !pending.borrow().is_empty() && !replies.done() && Instant::now() < give_up {
        aloop::sleep(Duration::from_millis(1)).await;
    }
    replies.cancel();
    let _ = replies.await;
    tally.borrow_mut().unanswered += pending.borrow().len() as u64;
}

/// The reader half of an open-loop connection: matches each reply with the oldest
/// request in flight. Ends at the first broken or wrong reply; cancelled otherwise.
async fn read_replies(
    conn: usize,
    plan: Plan,
    reader: aloop::StreamReader,
    pending: Pending,
    tally: Shared,
) {
    let (mut got, mut want) = (vec![0u8; plan.size], vec![0u8; plan.size]);
    loop {
        if reader.readexactly_into(&mut got).await.is_err() {
            tally.borrow_mut().errors += 1;
            return;
        }
        let now = Instant::now();
        let Some((seq, due)) = pending.borrow_mut().pop_front() else {
            // A reply to nothing sent.
            tally.borrow_mut().mismatched += 1;
            return;
        };
        fill(&mut want, conn, seq);
        let mut t = tally.borrow_mut();
        if got != want {
            t.mismatched += 1;
            return;
        }
        t.replies += 1;
        if due >= plan.record_from {
            t.recorded += 1;
            t.latency.saturating_record(nanos(now - due));
        }
    }
}

async fn closed_loop(
    conn: usize,
    plan: Plan,
    tally: &Shared,
    reader: aloop::StreamReader,
    writer: &aloop::StreamWriter,
) {
    let (mut msg, mut got) = (vec![0u8; plan.size], vec![0u8; plan.size]);
    for seq in 0.. {
        let sent = Instant::now();
        if sent >= plan.end {
            break;
        }
        fill(&mut msg, conn, seq);
        let round_trip = async {
            writer.write(&msg)?;
            writer.drain().await?;
            reader
                .readexactly_into(&mut got)
                .await
                .map_err(std::io::Error::other)
        };
        match aloop::timeout_at(plan.end + plan.grace, round_trip).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                tally.borrow_mut().errors += 1;
                return;
            }
            Err(aloop::TimeoutError) => {
                tally.borrow_mut().unanswered += 1;
                return;
            }
        }
        let now = Instant::now();
        let mut t = tally.borrow_mut();
        t.sent += 1;
        if got != msg {
            t.mismatched += 1;
            return;
        }
        t.replies += 1;
        if sent >= plan.record_from {
            t.recorded += 1;
            t.latency.saturating_record(nanos(now - sent));
        }
    }
}
