//! One database round trip shared by the records of a batch.
//!
//! The batch runner ([`crate::batch`]) handles each record in its own future, with its own
//! span, panic guard and outcome. A [`RoundTripGroup`] lets those futures share one round trip:
//! each record [`joins`](RoundTripGroup::join) the group when the batch runner takes it in,
//! and then either [`sends`](Member::send) its request (a call id to load, a row to write) or
//! leaves (drops its [`Member`]: it failed, or had nothing to send). When every member has sent
//! or left, the last one to arrive runs every queued request at once (one statement) and hands
//! each record its own result.
//!
//! A record must join before any record of its group can send: the batch runner creates every
//! in-flight record's future before it polls one, so joining belongs where the future is made
//! (see `handlers::analyze_batch`), not in its body. A record that joined only when first polled
//! would find the first one polled alone in the group, and that one would load its call alone.
//!
//! So a batch of ten records loads its calls with one query and writes its rows with one
//! statement and one commit, instead of ten of each, while a record whose row is rejected still
//! fails alone: the flush function returns one result per request. Records that start while a
//! flush runs (when the batch is larger than its concurrency) form the next group.

use std::{collections::HashMap, future::Future, sync::Mutex};

use tokio::sync::Notify;

/// A flush ended without handing this row a result: the member that was writing it was
/// cancelled or panicked. The row may or may not have been written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
#[error("the group write carrying this row was abandoned")]
pub struct Abandoned;

/// Requests queued by the records of one batch, run together. See the module docs.
#[derive(Debug)]
pub struct RoundTripGroup<Row, Out> {
    state: Mutex<GroupState<Row, Out>>,
    wake: Notify,
}

#[derive(Debug)]
struct GroupState<Row, Out> {
    /// Members that joined and have neither queued a row nor left.
    in_flight: usize,
    /// Rows waiting for the next flush, with their members' tickets.
    queued: Vec<(u64, Row)>,
    /// Results of a finished flush, until each member takes its own.
    results: HashMap<u64, Result<Out, Abandoned>>,
    /// A member is writing a group right now.
    flushing: bool,
    next_ticket: u64,
}

impl<Row, Out> Default for RoundTripGroup<Row, Out> {
    fn default() -> Self {
        Self {
            state: Mutex::new(GroupState {
                in_flight: 0,
                queued: Vec::new(),
                results: HashMap::new(),
                flushing: false,
                next_ticket: 0,
            }),
            wake: Notify::new(),
        }
    }
}

impl<Row, Out> RoundTripGroup<Row, Out> {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Enters a record into the group: until it sends or is dropped, no flush starts without
    /// its request.
    pub fn join(&self) -> Member<'_, Row, Out> {
        let mut state = self.lock();
        state.in_flight += 1;
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        Member {
            group: self,
            ticket,
            pending: true,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GroupState<Row, Out>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds sound state.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One record's place in a [`RoundTripGroup`].
#[derive(Debug)]
pub struct Member<'g, Row, Out> {
    group: &'g RoundTripGroup<Row, Out>,
    ticket: u64,
    /// Counted in `in_flight`: has neither written nor left.
    pending: bool,
}

impl<Row, Out> Member<'_, Row, Out> {
    /// Queues `row` and waits for the flush that runs it. The member whose arrival leaves no
    /// record in flight runs `flush` on every queued request; `flush` must return one result
    /// per request, in order.
    ///
    /// # Errors
    /// [`Abandoned`] when the member running the flush was cancelled or panicked.
    pub async fn send<F, Fut>(mut self, row: Row, flush: F) -> Result<Out, Abandoned>
    where
        F: FnOnce(Vec<Row>) -> Fut,
        Fut: Future<Output = Vec<Out>>,
    {
        let group = self.group;
        {
            let mut state = group.lock();
            state.in_flight -= 1;
            self.pending = false;
            state.queued.push((self.ticket, row));
        }
        let mut flush = Some(flush);
        loop {
            let notified = group.wake.notified();
            tokio::pin!(notified);
            // Registered before the state is read, so a wake between the two is not lost.
            notified.as_mut().enable();
            let rows = {
                let mut state = group.lock();
                if let Some(result) = state.results.remove(&self.ticket) {
                    return result;
                }
                if state.in_flight == 0 && !state.flushing && !state.queued.is_empty() {
                    state.flushing = true;
                    Some(std::mem::take(&mut state.queued))
                } else {
                    None
                }
            };
            let Some(rows) = rows else {
                notified.await;
                continue;
            };
            let (tickets, rows): (Vec<u64>, Vec<Row>) = rows.into_iter().unzip();
            let mut leader = FlushGuard {
                group,
                tickets,
                done: false,
            };
            let flush = flush.take().ok_or(Abandoned)?;
            let outs = flush(rows).await;
            leader.finish(outs);
        }
    }
}

impl<Row, Out> Drop for Member<'_, Row, Out> {
    fn drop(&mut self) {
        if self.pending {
            let mut state = self.group.lock();
            state.in_flight -= 1;
            drop(state);
            // The members already queued may now be complete without this one.
            self.group.wake.notify_waiters();
        }
    }
}

/// Hands out a flush's results; if the flush is dropped half way (the leader was cancelled or
/// panicked), every member of its group gets [`Abandoned`] instead of waiting forever.
struct FlushGuard<'g, Row, Out> {
    group: &'g RoundTripGroup<Row, Out>,
    tickets: Vec<u64>,
    done: bool,
}

impl<Row, Out> FlushGuard<'_, Row, Out> {
    fn finish(&mut self, outs: Vec<Out>) {
        let mut outs = outs.into_iter();
        let mut state = self.group.lock();
        for ticket in self.tickets.drain(..) {
            // A flush that returned too few results leaves the rest abandoned, not hanging.
            state.results.insert(ticket, outs.next().ok_or(Abandoned));
        }
        state.flushing = false;
        drop(state);
        self.done = true;
        self.group.wake.notify_waiters();
    }
}

impl<Row, Out> Drop for FlushGuard<'_, Row, Out> {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.group.lock();
            for ticket in self.tickets.drain(..) {
                state.results.insert(ticket, Err(Abandoned));
            }
            state.flushing = false;
            drop(state);
            self.group.wake.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures::{FutureExt, StreamExt};

    /// Records 0..n, each sleeping `delay(i)` ms before writing `i` (or leaving when `leaves(i)`),
    /// `concurrency` at a time; returns each record's result and the sizes of the flushes.
    async fn run(
        n: usize,
        concurrency: usize,
        delay: impl Fn(usize) -> u64,
        leaves: impl Fn(usize) -> bool,
    ) -> (Vec<Option<Result<usize, Abandoned>>>, Vec<usize>) {
        let group: RoundTripGroup<usize, usize> = RoundTripGroup::new();
        let flushes = Mutex::new(Vec::new());
        let results: Vec<(usize, Option<Result<usize, Abandoned>>)> = futures::stream::iter(0..n)
            .map(|i| {
                let member = group.join();
                let wait = delay(i);
                let leave = leaves(i);
                let flushes = &flushes;
                async move {
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    if leave {
                        return (i, None);
                    }
                    let out = member
                        .send(i, |rows: Vec<usize>| async move {
                            flushes.lock().unwrap().push(rows.len());
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            rows.into_iter().map(|r| r * 10).collect()
                        })
                        .await;
                    (i, Some(out))
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut results = results;
        results.sort_by_key(|(i, _)| *i);
        (
            results.into_iter().map(|(_, r)| r).collect(),
            flushes.into_inner().unwrap(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_in_flight_together_is_written_once_and_each_gets_its_own_result() {
        let (results, flushes) = run(10, 10, |i| (i as u64 * 7) % 13, |_| false).await;
        assert_eq!(flushes, vec![10]);
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(r, Some(Ok(i * 10)));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn members_that_leave_do_not_hold_up_the_flush_even_when_they_leave_last() {
        // Records 3 and 9 leave after everyone else has queued: the queued rows must still be
        // written, woken by the leaving member.
        let (results, flushes) = run(
            10,
            10,
            |i| if i == 3 || i == 9 { 50 } else { 1 },
            |i| i == 3 || i == 9,
        )
        .await;
        assert_eq!(flushes, vec![8]);
        assert_eq!(results[3], None);
        assert_eq!(results[9], None);
        assert_eq!(results[4], Some(Ok(40)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_larger_than_its_concurrency_is_written_in_groups_without_deadlock() {
        let (results, flushes) = run(10, 4, |_| 1, |_| false).await;
        assert_eq!(flushes.iter().sum::<usize>(), 10);
        assert!(flushes.len() >= 3, "{flushes:?}");
        assert!(results
            .iter()
            .enumerate()
            .all(|(i, r)| *r == Some(Ok(i * 10))));
    }

    #[tokio::test(start_paused = true)]
    async fn a_flush_that_returns_too_few_results_or_panics_abandons_its_rows_instead_of_hanging() {
        let group: RoundTripGroup<usize, usize> = RoundTripGroup::new();
        let (a, b) = (group.join(), group.join());
        let short = |rows: Vec<usize>| async move { rows.into_iter().take(1).collect() };
        let (ra, rb) = tokio::join!(a.send(1, short), b.send(2, short));
        let mut got = [ra, rb];
        got.sort();
        assert_eq!(got, [Ok(1), Err(Abandoned)]);

        let flushed = AtomicUsize::new(0);
        let (a, b) = (group.join(), group.join());
        let panicking = |_: Vec<usize>| async {
            flushed.fetch_add(1, Ordering::Relaxed);
            panic!("flush panicked");
            #[allow(unreachable_code)]
            Vec::new()
        };
        let (ra, rb) = tokio::join!(
            std::panic::AssertUnwindSafe(a.send(1, panicking)).catch_unwind(),
            std::panic::AssertUnwindSafe(b.send(2, panicking)).catch_unwind(),
        );
        // One of them led the flush and panicked; the other was told, not left waiting.
        let outcomes = [ra.is_err(), rb.is_err()];
        assert_eq!(outcomes.iter().filter(|p| **p).count(), 1);
        let other = if ra.is_err() { rb } else { ra };
        assert_eq!(other.ok(), Some(Err(Abandoned)));
        assert_eq!(flushed.load(Ordering::Relaxed), 1);
    }
}
