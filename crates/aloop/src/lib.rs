//! aloop (under construction).
#![deny(missing_docs)]
