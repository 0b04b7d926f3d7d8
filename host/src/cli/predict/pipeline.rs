//! An ordered, bounded pipeline: items are made in order on the calling thread, worked
//! on by several threads at once, and finished in the order they were made.
//!
//! `edgewood predict` reads blocks of whole records on the calling thread (cheap: a
//! read and a search for the last line end; the only place the input's order is
//! known), parses, checks, predicts and formats them on worker threads (all but a few
//! percent of the time), and writes the text in input order on the calling thread
//! again (a stdout lock cannot move between threads). At most `in_flight` items exist
//! at once, so memory stays bounded however long the input: the reader waits for the
//! writer, and finished items are reused for the next ones.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use anyhow::anyhow;

/// Runs `fill` (in order), `work` (on `threads` threads) and `finish` (in order) over
/// items until `fill` says no more follow or `finish` fails.
///
/// `fill` refills an item (a new one from `make`, or one `finish` is done with) and
/// returns whether more items may follow. With one thread everything runs in turn on
/// the calling thread, with no threads started.
pub fn run_ordered<T: Send>(
    threads: usize,
    in_flight: usize,
    mut make: impl FnMut() -> T,
    mut fill: impl FnMut(&mut T) -> bool,
    work: impl Fn(&mut T) + Sync,
    mut finish: impl FnMut(&mut T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if threads <= 1 {
        let mut item = make();
        loop {
            let more = fill(&mut item);
            work(&mut item);
            finish(&mut item)?;
            if !more {
                return Ok(());
            }
        }
    }
    let in_flight = in_flight.max(threads);
    // Set when the run stops early, so that workers skip what is still queued.
    let cancelled = AtomicBool::new(false);
    let (to_work, queued) = mpsc::sync_channel::<(u64, T)>(in_flight);
    // One receiver shared by the workers: whoever is free takes the next item.
    let queued = Mutex::new(queued);
    // `None`: the work panicked (the panic message is already on stderr).
    let (to_finish, worked) = mpsc::channel::<(u64, Option<T>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (queued, to_finish, work, cancelled) =
                (&queued, to_finish.clone(), &work, &cancelled);
            scope.spawn(move || loop {
                let next = queued
                    .lock()
                    .map_err(drop)
                    .and_then(|q| q.recv().map_err(drop));
                let Ok((index, mut item)) = next else { return };
                if cancelled.load(Ordering::Relaxed) {
                    return;
                }
                let done = catch_unwind(AssertUnwindSafe(|| work(&mut item))).ok();
                let panicked = done.is_none();
                if to_finish.send((index, done.map(|()| item))).is_err() || panicked {
                    return;
                }
            });
        }
        drop(to_finish);

        let result = (|| {
            let mut spare: Vec<T> = Vec::new();
            let mut early: BTreeMap<u64, T> = BTreeMap::new();
            let (mut filled, mut finished) = (0u64, 0u64);
            let mut more = true;
            loop {
                while more && filled - finished < in_flight as u64 {
                    let mut item = spare.pop().unwrap_or_else(&mut make);
                    more = fill(&mut item);
                    to_work
                        .send((filled, item))
                        .map_err(|_| anyhow!("the prediction threads stopped"))?;
                    filled += 1;
                }
                if finished == filled {
                    return Ok(());
                }
                let mut item = loop {
                    if let Some(item) = early.remove(&finished) {
                        break item;
                    }
                    match worked.recv() {
                        Ok((index, Some(item))) => {
                            early.insert(index, item);
                        }
                        Ok((_, None)) | Err(_) => bail_panicked()?,
                    }
                };
                finish(&mut item)?;
                finished += 1;
                spare.push(item);
            }
        })();
        if result.is_err() {
            cancelled.store(true, Ordering::Relaxed);
        }
        // Dropping the sender ends the workers' loops; the scope joins them.
        drop(to_work);
        result
    })
}

/// The error for a worker that panicked.
fn bail_panicked<T>() -> anyhow::Result<T> {
    Err(anyhow!("a prediction thread panicked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Squares 0..n in items of `size` numbers, on `threads` threads; returns the output
    /// in finishing order.
    fn squares(threads: usize, n: u64, size: u64) -> Vec<u64> {
        let mut next = 0u64;
        let mut out = Vec::new();
        run_ordered(
            threads,
            2 * threads,
            Vec::new,
            |item: &mut Vec<u64>| {
                item.clear();
                while item.len() < size as usize && next < n {
                    item.push(next);
                    next += 1;
                }
                next < n
            },
            |item| {
                for x in item.iter_mut() {
                    // Uneven work, so that items finish out of order.
                    if *x % 7 == 0 {
                        std::thread::sleep(std::time::Duration::from_micros(50));
                    }
                    *x *= *x;
                }
            },
            |item| {
                out.extend_from_slice(item);
                Ok(())
            },
        )
        .unwrap();
        out
    }

    #[test]
    fn items_finish_in_order_whatever_the_thread_count() {
        let want: Vec<u64> = (0..1000).map(|x| x * x).collect();
        for threads in [1, 2, 3, 8] {
            assert_eq!(squares(threads, 1000, 7), want, "{threads} threads");
        }
    }

    #[test]
    fn a_failing_finish_stops_the_run() {
        let mut filled = 0;
        let mut finished = 0;
        let result = run_ordered(
            3,
            6,
            || 0u64,
            |item| {
                filled += 1;
                *item = filled;
                true
            },
            |_| {},
            |item| {
                finished += 1;
                if *item == 5 {
                    return Err(anyhow!("item 5"));
                }
                Ok(())
            },
        );
        assert_eq!(result.unwrap_err().to_string(), "item 5");
        assert_eq!(finished, 5);
        // The reader stays at most `in_flight` items ahead of the writer.
        assert!(filled <= 5 + 6, "{filled} filled");
    }

    #[test]
    fn a_panicking_worker_is_an_error_not_a_hang() {
        let mut n = 0;
        let result = run_ordered(
            2,
            4,
            || 0u64,
            |item| {
                n += 1;
                *item = n;
                n < 100
            },
            |item| {
                if *item == 3 {
                    panic!("item 3");
                }
            },
            |_| Ok(()),
        );
        assert!(result.is_err());
    }
}
