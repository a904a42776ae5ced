//! aloop-timer (under construction).
#![deny(missing_docs)]
