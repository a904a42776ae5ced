//! aloop-reactor (under construction).
#![deny(missing_docs)]
