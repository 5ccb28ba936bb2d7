//! Table generations, published RCU-style: the builder thread swaps in a
//! new immutable generation; each worker picks it up between two bursts
//! with one pointer comparison (no lock, no allocation, no wait) and
//! records the generation it now runs. A generation is *acknowledged* once
//! every live worker runs it or a later one — what the control plane waits
//! for before it tells the host cluster a pod is Ready.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, Cache};
use crossbeam_utils::CachePadded;

/// A worker slot that no longer holds back acknowledgement.
const RETIRED: u64 = u64::MAX;

/// One published generation.
#[derive(Debug)]
pub struct Generation<T> {
    /// Its number: 1, 2, … in publication order.
    pub number: u64,
    /// The tables of this generation.
    pub tables: T,
}

/// Per worker: the generation it runs (own cache line: each is written by
/// one worker only).
type Running = Arc<[CachePadded<AtomicU64>]>;

/// The builder's side: publishes generations and tells which one every
/// worker runs.
#[derive(Debug)]
pub struct Publisher<T> {
    current: Arc<ArcSwap<Generation<T>>>,
    running: Running,
    next: u64,
}

/// A worker's side; one per worker, moved to its thread or lcore.
pub struct Reader<T> {
    cache: Cache<Arc<ArcSwap<Generation<T>>>, Arc<Generation<T>>>,
    running: Running,
    slot: usize,
}

impl<T> std::fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("slot", &self.slot).finish()
    }
}

impl<T> Publisher<T> {
    /// Publishes `initial` as generation 1 and makes one reader per worker.
    pub fn new(initial: T, workers: usize) -> (Self, Vec<Reader<T>>) {
        let current = Arc::new(ArcSwap::from_pointee(Generation {
            number: 1,
            tables: initial,
        }));
        let running: Running = (0..workers)
            .map(|_| CachePadded::new(AtomicU64::new(0)))
            .collect();
        let readers = (0..workers)
            .map(|slot| Reader {
                cache: Cache::new(Arc::clone(&current)),
                running: Arc::clone(&running),
                slot,
            })
            .collect();
        let publisher = Publisher {
            current,
            running,
            next: 2,
        };
        (publisher, readers)
    }

    /// Publishes `tables` as the next generation and returns its number.
    /// Readers pick it up at their next [`Reader::refresh`].
    pub fn publish(&mut self, tables: T) -> u64 {
        let number = self.next;
        self.next += 1;
        self.current.store(Arc::new(Generation { number, tables }));
        number
    }

    /// The newest published generation.
    pub fn current(&self) -> Arc<Generation<T>> {
        self.current.load_full()
    }

    /// The newest generation every live worker runs (or a later one); 0
    /// before every worker refreshed once. With no live worker it is the
    /// newest published generation.
    pub fn acknowledged(&self) -> u64 {
        let newest = self.current.load().number;
        self.running
            .iter()
            .map(|r| r.load(Ordering::Acquire))
            .filter(|&g| g != RETIRED)
            .min()
            .unwrap_or(newest)
    }

    /// Waits until generation `number` is acknowledged; `false` when
    /// `timeout` passed first (a worker that stopped refreshing). Polls with
    /// a growing pause: workers never signal, so they never block.
    pub fn wait_acknowledged(&self, number: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(20);
        loop {
            if self.acknowledged() >= number {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }
}

impl<T> Reader<T> {
    /// The newest generation, recording that this worker now runs it. Call
    /// between bursts: when nothing changed it costs one load and compare.
    #[inline]
    pub fn refresh(&mut self) -> &Generation<T> {
        let current = self.cache.load();
        let slot = &self.running[self.slot];
        if slot.load(Ordering::Relaxed) != current.number {
            slot.store(current.number, Ordering::Release);
        }
        current
    }

    /// This worker's slot (its index among the readers).
    pub fn slot(&self) -> usize {
        self.slot
    }
}

impl<T> Drop for Reader<T> {
    /// A worker that is gone no longer holds back acknowledgement.
    fn drop(&mut self) {
        self.running[self.slot].store(RETIRED, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn acknowledged_once_every_worker_moved() {
        let (mut publisher, mut readers) = Publisher::new("g1", 2);
        assert_eq!(publisher.acknowledged(), 0, "no worker ran anything yet");
        assert_eq!(readers[0].refresh().tables, "g1");
        assert_eq!(publisher.acknowledged(), 0, "worker 1 has not refreshed");
        readers[1].refresh();
        assert_eq!(publisher.acknowledged(), 1);

        let g2 = publisher.publish("g2");
        assert_eq!(g2, 2);
        assert_eq!(readers[0].refresh().tables, "g2");
        assert!(!publisher.wait_acknowledged(g2, Duration::from_millis(20)));
        assert_eq!(readers[1].refresh().number, 2);
        assert!(publisher.wait_acknowledged(g2, Duration::ZERO));
    }

    #[test]
    fn a_departed_worker_does_not_hold_back_acknowledgement() {
        let (mut publisher, mut readers) = Publisher::new(0u32, 2);
        let gone = readers.pop().unwrap();
        let g = publisher.publish(1);
        readers[0].refresh();
        assert_eq!(publisher.acknowledged(), 0, "the other reader still lives");
        drop(gone);
        assert_eq!(publisher.acknowledged(), g);
        drop(readers);
        let g = publisher.publish(2);
        assert_eq!(
            publisher.acknowledged(),
            g,
            "no live worker: nothing to wait for"
        );
    }

    #[test]
    fn workers_on_threads_see_every_generation_in_order() {
        // Generation n carries tables n, from the first one on.
        let (mut publisher, readers) = Publisher::new(1u64, 3);
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = readers
            .into_iter()
            .map(|mut r| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut last = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let g = r.refresh();
                        // Tables and number travel together, never go back.
                        assert_eq!(g.tables, g.number);
                        assert!(g.number >= last);
                        last = g.number;
                    }
                    last
                })
            })
            .collect();
        for n in 2..=200u64 {
            assert_eq!(publisher.publish(n), n);
            assert!(publisher.wait_acknowledged(n, Duration::from_secs(10)));
        }
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            assert_eq!(t.join().unwrap(), 200);
        }
    }
}
