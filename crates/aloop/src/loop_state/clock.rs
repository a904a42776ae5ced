//! The loop's clock: the real monotonic clock, or the virtual one (`use_virtual_time`,
//! `advance`, and the jump to the next timer that `run_once.rs` makes when the loop is
//! idle); and the wait stamps the task dump records when a wait starts
//! (`task/meta.rs` takes them, `introspect/snapshot.rs` reads them back; `stamps.rs`
//! holds the epoch they count from). Part of the loop state (`mod.rs`).

use std::time::{Duration, Instant};

use super::LoopState;

impl LoopState {
    /// The loop's clock: the real monotonic clock, or the virtual one.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self.virtual_now.get() {
            Some(now) => now,
            None => Instant::now(),
        }
    }

    /// When a wait starts (`stamps.rs`): the loop's clock now as a wait stamp, cheaply
    /// (to a few ms on real time, exact on virtual time), and for a wait that ends at
    /// `until` (a sleep), its length in ms (saturating).
    ///
    /// The clock is read once per iteration, by the first wait that starts in it (a
    /// busy loop starts many): "since" is then the iteration's first wait.
    #[inline]
    pub(crate) fn wait_stamp(&self, until: Option<Instant>) -> (u32, u32) {
        let iteration = self.iteration.get();
        let now = match self.stamp_cache.get() {
            (at, ms) if at == iteration => ms,
            _ => self.read_stamp_clock(iteration),
        };
        let length = until.map_or(0, |until| {
            let ms = self.epoch.ms_of(until).saturating_sub(now);
            u32::try_from(ms).unwrap_or(u32::MAX)
        });
        (now as u32, length)
    }

    #[cold]
    fn read_stamp_clock(&self, iteration: u64) -> u64 {
        let ms = match self.virtual_now.get() {
            Some(now) => self.epoch.ms_of(now),
            None => self.epoch.coarse_ms(),
        };
        self.stamp_cache.set((iteration, ms));
        ms
    }

    /// The instant a wait stamp taken at most 49.7 days before `now` stands for.
    pub(crate) fn instant_of_stamp(&self, stamp: u32, now: Instant) -> Instant {
        self.epoch.instant_of_stamp(stamp, now)
    }

    /// Switches to virtual time, starting at the real clock's present.
    pub(crate) fn use_virtual_time(&self) {
        if self.virtual_now.get().is_none() {
            self.virtual_now.set(Some(Instant::now()));
            self.stamp_cache.set((u64::MAX, 0));
        }
    }

    pub(crate) fn is_virtual_time(&self) -> bool {
        self.virtual_now.get().is_some()
    }

    /// Moves the virtual clock forward by `by` (never backward); `false` on real time.
    pub(crate) fn advance_clock(&self, by: Duration) -> bool {
        match self.virtual_now.get() {
            Some(now) => {
                self.virtual_now
                    .set(Some(now.checked_add(by).unwrap_or(now)));
                self.stamp_cache.set((u64::MAX, 0));
                true
            }
            None => false,
        }
    }

    /// Virtual time, nothing to do: the clock jumps to `at` (if it is ahead).
    pub(super) fn jump_clock_to(&self, at: Instant) {
        if let Some(now) = self.virtual_now.get() {
            self.virtual_now.set(Some(now.max(at)));
            self.stamp_cache.set((u64::MAX, 0));
        }
    }
}
