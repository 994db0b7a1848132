//! The walk's reserve: threads held back at its start and woken once the
//! walk shows that it waits on the disk rather than on the CPU.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The walk's reserve threads and what wakes them. A warm walk is bound by
/// the CPU (the kernel's lookups), where threads beyond a few per core only
/// contend (+2% at 32 threads on 2 cores, medium corpus, hyperfine 15 runs); a cold walk of a
/// real disk is bound by the reads in flight, where more threads win (0.62x
/// of fd's time at 8 threads, 0.44-0.48x at 32-64 on a disk answering in
/// 200 us; bench/slow-disk.sh). Which one it is shows in the first tens of
/// milliseconds: a walk that keeps less than half of the cores busy for two
/// 25 ms periods waits on the disk, and its reserve is woken.
#[derive(Default)]
pub(super) struct Reserve {
    /// (woken, walk over)
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

impl Reserve {
    /// How often the watcher looks at the CPU time.
    const PERIOD: Duration = Duration::from_millis(25);
    /// Idle periods in a row that wake the reserve.
    const IDLE_PERIODS: u32 = 2;

    /// Holds one reserve thread until it is woken or the walk is over.
    pub(super) fn wait(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !st.0 && !st.1 {
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Wakes the reserve (`over`: because the walk is over).
    pub(super) fn release(&self, over: bool) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.0 = true;
        st.1 |= over;
        self.changed.notify_all();
    }

    /// Every [`Reserve::PERIOD`] until the walk is over: wakes the reserve
    /// once the process used less than half of the cores over
    /// [`Reserve::IDLE_PERIODS`] periods in a row.
    pub(super) fn watch(&self) {
        let cores = super::cores();
        self.watch_with(cores, || {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
            Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
        });
    }

    /// [`Reserve::watch`] with `cores` and the process's CPU time from `cpu`.
    fn watch_with(&self, cores: usize, cpu: impl Fn() -> Duration) {
        let (mut wall0, mut cpu0) = (Instant::now(), cpu());
        // Printed (DARLINGS_TIMING) only if the reserve is woken: when.
        let waiting = crate::timing::phase("reserve woke");
        let mut idle = 0;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !st.1 {
            st = match self.changed.wait_timeout(st, Self::PERIOD) {
                Ok((st, _)) => st,
                Err(p) => p.into_inner().0,
            };
            if st.0 {
                break;
            }
            let (wall1, cpu1) = (Instant::now(), cpu());
            let wall = (wall1 - wall0).as_secs_f64().max(1e-6);
            let busy = cpu1.saturating_sub(cpu0).as_secs_f64() / wall;
            // Two periods in a row: one alone is also what the last few
            // directories of a warm walk look like (seen on the 1M corpus).
            idle = if busy < 0.5 * cores as f64 {
                idle + 1
            } else {
                0
            };
            if idle >= Self::IDLE_PERIODS {
                st.0 = true;
                self.changed.notify_all();
                drop(waiting);
                return;
            }
            (wall0, cpu0) = (wall1, cpu1);
        }
        std::mem::forget(waiting);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reserve's state: (woken, walk over).
    fn state(r: &Reserve) -> (bool, bool) {
        *r.state.lock().unwrap()
    }

    #[test]
    fn the_reserve_waits_until_the_walk_is_over() {
        let r = Reserve::default();
        std::thread::scope(|s| {
            let waiters: Vec<_> = (0..3).map(|_| s.spawn(|| r.wait())).collect();
            std::thread::sleep(Duration::from_millis(30));
            assert!(waiters.iter().all(|w| !w.is_finished()), "held back");
            r.release(true);
        });
        assert_eq!(state(&r), (true, true));
    }

    #[test]
    fn a_walk_that_leaves_the_cores_idle_wakes_the_reserve() {
        // No CPU time passes: the walk waits on the disk.
        let r = Reserve::default();
        std::thread::scope(|s| {
            s.spawn(|| r.watch_with(2, || Duration::ZERO));
            r.wait();
        });
        assert_eq!(state(&r), (true, false), "woken before the walk ended");
    }

    #[test]
    fn a_walk_that_keeps_the_cores_busy_leaves_the_reserve_asleep() {
        // CPU time passes at two cores' rate: the walk is bound by the CPU.
        let r = Reserve::default();
        let start = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| r.watch_with(2, || start.elapsed() * 2));
            std::thread::sleep(Reserve::PERIOD * 6);
            assert_eq!(state(&r), (false, false), "still asleep");
            r.release(true);
        });
    }
}
