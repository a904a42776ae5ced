//! The loop's exception handler: where panics from callbacks and tasks, and other errors
//! nobody could receive, are reported (asyncio's `call_exception_handler`).

use std::fmt;

use crate::error::PanicPayload;

/// What an exception handler is told (asyncio's context dict, as a struct).
#[derive(Clone, Debug, Default)]
pub struct ExceptionContext {
    /// What happened, e.g. `"Exception in callback"` or `"Task exception was never
    /// retrieved"`.
    pub message: String,
    /// The panic, when there was one.
    pub panic: Option<PanicPayload>,
    /// The task involved, by name, when there was one.
    pub task_name: Option<String>,
}

impl ExceptionContext {
    /// A context with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        ExceptionContext {
            message: message.into(),
            ..Default::default()
        }
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(name) = &self.task_name {
            write!(f, " (task {name})")?;
        }
        if let Some(p) = &self.panic {
            write!(f, ": panicked: {}", p.message())?;
        }
        Ok(())
    }
}

/// The handler aloop uses when none is set: one line on stderr.
///
/// ```
/// use aloop::ExceptionContext;
/// aloop::default_exception_handler(&ExceptionContext::new("something went wrong"));
/// ```
pub fn default_exception_handler(context: &ExceptionContext) {
    eprintln!("aloop: {context}");
}
