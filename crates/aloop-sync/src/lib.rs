//! aloop-sync (under construction).
#![deny(missing_docs)]
