//! Error types of the pool: building it, submitting to it, and what a job's
//! future can resolve to instead of a value.

use std::any::Any;
use std::fmt;
use std::io;

/// Why a [`ThreadPoolExecutor`](crate::ThreadPoolExecutor) could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `max_workers` was 0; a pool needs at least one thread to run anything.
    ZeroWorkers,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => f.write_str(
                "max_workers must be greater than 0 (a pool with no thread can run nothing)",
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// Why [`submit`](crate::ThreadPoolExecutor::submit) refused a job. The job
/// was not run and never will be.
#[derive(Debug)]
#[non_exhaustive]
pub enum SubmitError {
    /// The pool was shut down (explicitly, or because its last handle was
    /// dropped); it accepts no new work. Create a new pool.
    Shutdown,
    /// The pool had no live worker and the operating system refused to start
    /// one (thread limit or memory exhausted).
    Spawn(io::Error),
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Shutdown => {
                f.write_str("cannot submit a job after the thread pool was shut down")
            }
            SubmitError::Spawn(e) => write!(f, "could not start a worker thread for the job: {e}"),
        }
    }
}

impl std::error::Error for SubmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SubmitError::Spawn(e) => Some(e),
            SubmitError::Shutdown => None,
        }
    }
}

/// Why a [`JobFuture`](crate::JobFuture) resolved without a value.
#[non_exhaustive]
pub enum JobError {
    /// The job was cancelled before it started: by
    /// [`JobFuture::cancel`](crate::JobFuture::cancel) or by
    /// `shutdown(_, cancel_futures = true)`. It never ran.
    Cancelled,
    /// The job panicked; this is the panic payload, as
    /// [`std::panic::catch_unwind`] returns it (usually a `&'static str` or a
    /// `String`). The worker thread survived and serves other jobs.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The value was already taken by an earlier `poll` that returned
    /// `Ready`, or by [`wait_timeout`](crate::JobFuture::wait_timeout).
    /// Polling a finished future again is a caller bug; this reports it
    /// instead of panicking.
    AlreadyTaken,
}

impl JobError {
    /// `true` for [`JobError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JobError::Cancelled)
    }

    /// `true` for [`JobError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, JobError::Panicked(_))
    }

    /// The panic message when the payload is a string (what `panic!("...")`
    /// produces), `None` otherwise.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JobError::Panicked(p) => p
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            _ => None,
        }
    }

    /// Consumes the error and returns the panic payload, so the caller can
    /// [`std::panic::resume_unwind`] it; `Err(self)` for other variants.
    pub fn into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JobError> {
        match self {
            JobError::Panicked(p) => Ok(p),
            other => Err(other),
        }
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Cancelled => f.write_str("Cancelled"),
            JobError::Panicked(_) => match self.panic_message() {
                Some(m) => f.debug_tuple("Panicked").field(&m).finish(),
                None => f
                    .debug_tuple("Panicked")
                    .field(&"<non-string payload>")
                    .finish(),
            },
            JobError::AlreadyTaken => f.write_str("AlreadyTaken"),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Cancelled => f.write_str("the job was cancelled before it started"),
            JobError::Panicked(_) => match self.panic_message() {
                Some(m) => write!(f, "the job panicked: {m}"),
                None => f.write_str("the job panicked (non-string payload)"),
            },
            JobError::AlreadyTaken => {
                f.write_str("the job's result was already taken (future polled after completion)")
            }
        }
    }
}

impl std::error::Error for JobError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_happened() {
        assert!(BuildError::ZeroWorkers.to_string().contains("max_workers"));
        assert!(SubmitError::Shutdown.to_string().contains("shut down"));
        let p = JobError::Panicked(Box::new("boom"));
        assert_eq!(p.panic_message(), Some("boom"));
        assert!(p.to_string().contains("boom"));
        let s = JobError::Panicked(Box::new(String::from("owned")));
        assert_eq!(s.panic_message(), Some("owned"));
        let n = JobError::Panicked(Box::new(7u32));
        assert_eq!(n.panic_message(), None);
        assert!(format!("{n:?}").contains("non-string"));
        assert!(JobError::Cancelled.is_cancelled());
        assert!(JobError::Cancelled.into_panic().is_err());
    }
}
