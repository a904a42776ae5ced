//! aloop-blocking (under construction).
#![deny(missing_docs)]
