//! aloop-executor (under construction).
#![deny(missing_docs)]
