//! Wait stamps: the loop time at which a task started waiting, cheap enough to take on
//! every wait that starts (`task/meta.rs` takes them; the task dump in `introspect/`
//! reads them back as `Instant`s). Part of the loop state: `mod.rs` keeps the `Epoch`
//! and picks the virtual clock instead when the loop runs on virtual time.
//!
//! A stamp is the loop's clock in milliseconds since the loop was made, in a `u32` that
//! wraps every 49.7 days: four bytes in every task, and read back relative to the
//! present, so only a single wait longer than that would be misread. On real time it
//! comes from the coarse monotonic clock (Linux's `CLOCK_MONOTONIC_COARSE`: the same
//! clock as `Instant`, at the kernel tick, a few milliseconds, and about a quarter of
//! the cost of a precise reading); on virtual time it is the virtual clock, exactly.

use std::time::{Duration, Instant};

/// Where a loop's stamps count from: an `Instant` and, on Linux, the same moment as
/// nanoseconds of the monotonic clock.
pub(super) struct Epoch {
    at: Instant,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    monotonic_ns: u64,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids used here exist on every
    // Linux since 2.6.32 (a failure leaves zeros, which only makes a stamp early).
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

impl Epoch {
    pub(super) fn now() -> Epoch {
        Epoch {
            at: Instant::now(),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            monotonic_ns: clock_ns(libc::CLOCK_MONOTONIC),
        }
    }

    /// Milliseconds of the real clock since the epoch, to the kernel tick.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[inline]
    pub(super) fn coarse_ms(&self) -> u64 {
        clock_ns(libc::CLOCK_MONOTONIC_COARSE).saturating_sub(self.monotonic_ns) / 1_000_000
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(super) fn coarse_ms(&self) -> u64 {
        self.ms_of(Instant::now())
    }

    /// Milliseconds from the epoch to `at` (0 before it).
    #[inline]
    pub(super) fn ms_of(&self, at: Instant) -> u64 {
        let d = at.saturating_duration_since(self.at);
        d.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_millis()))
    }

    /// `at` as a stamp (wrapping every 49.7 days).
    pub(super) fn stamp_of(&self, at: Instant) -> u32 {
        self.ms_of(at) as u32
    }

    /// The instant a stamp taken at most 49.7 days before `now` stands for.
    pub(super) fn instant_of_stamp(&self, stamp: u32, now: Instant) -> Instant {
        let ago = self.stamp_of(now).wrapping_sub(stamp);
        now.checked_sub(Duration::from_millis(u64::from(ago)))
            .unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::loop_state::stamps::Epoch;

    #[test]
    fn a_stamp_reads_back_as_the_moment_it_was_taken() {
        let state = Epoch::now();
        let start = state.at + Duration::from_millis(state.coarse_ms());
        let stamp = state.stamp_of(start);
        let later = start + Duration::from_secs(3600);
        let back = state.instant_of_stamp(stamp, later);
        assert!(back <= start && start - back < Duration::from_millis(1));
        // Across a wrap of the u32 (49.7 days on), still right.
        let far = start + Duration::from_millis(u64::from(u32::MAX) + 5_000);
        let wrapped = state.stamp_of(far);
        let back = state.instant_of_stamp(wrapped, far + Duration::from_secs(2));
        assert!(back <= far && far - back < Duration::from_millis(1));
    }

    #[test]
    fn the_coarse_clock_keeps_up_with_the_precise_one() {
        let state = Epoch::now();
        std::thread::sleep(Duration::from_millis(30));
        let coarse = state.at + Duration::from_millis(state.coarse_ms());
        let precise = std::time::Instant::now();
        // The coarse clock lags by at most a kernel tick (1-10 ms); never ahead.
        assert!(coarse <= precise + Duration::from_millis(1));
        assert!(
            precise - coarse < Duration::from_millis(100),
            "{:?}",
            precise - coarse
        );
    }
}
