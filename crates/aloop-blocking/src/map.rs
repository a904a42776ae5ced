//! The result of [`ThreadPoolExecutor::map`](crate::ThreadPoolExecutor::map):
//! the submitted jobs' futures, in input order.

use std::fmt;
use std::iter::FusedIterator;
use std::vec;

use crate::error::JobError;
use crate::job::JobFuture;

/// The jobs submitted by [`ThreadPoolExecutor::map`](crate::ThreadPoolExecutor::map),
/// in input order.
///
/// As an [`Iterator`] it blocks the current thread for each result in turn,
/// like iterating Python's `executor.map(...)`; a panicking item yields
/// `Err(JobError::Panicked)` in its place and iteration goes on. For async
/// code, [`into_futures`](Self::into_futures) gives the futures to await
/// (for example with `futures::future::join_all`). Dropping it, or the
/// futures, cancels the items that have not started yet.
///
/// ```
/// use aloop_blocking::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let futs = pool.map(|x: u32| x + 1, 0..3)?.into_futures();
/// let out = futures_executor::block_on(async {
///     let mut out = Vec::new();
///     for f in futs {
///         out.push(f.await?);
///     }
///     Ok::<_, aloop_blocking::JobError>(out)
/// })?;
/// assert_eq!(out, [1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a Map cancels the jobs that have not started"]
pub struct Map<T> {
    futures: vec::IntoIter<JobFuture<T>>,
}

impl<T> Map<T> {
    pub(crate) fn new(futures: Vec<JobFuture<T>>) -> Self {
        Map {
            futures: futures.into_iter(),
        }
    }

    /// The futures of the items not yet taken from the iterator, in input
    /// order.
    pub fn into_futures(self) -> Vec<JobFuture<T>> {
        self.futures.collect()
    }
}

impl<T> Iterator for Map<T> {
    type Item = Result<T, JobError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.futures.next().map(JobFuture::wait)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.futures.size_hint()
    }
}

impl<T> ExactSizeIterator for Map<T> {}

impl<T> FusedIterator for Map<T> {}

impl<T> fmt::Debug for Map<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("remaining", &self.futures.len())
            .finish()
    }
}
