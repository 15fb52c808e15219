//! A whole diagnosis: inputs in, ranked findings, what was looked for and what to export
//! out. The page and `fixer diagnose` both use it.
//!
//! - [`coverage`]: what was looked for, which logs the inputs held, hints about missing ones.
//! - [`verdict`]: the most likely finding and why.

pub mod coverage;
pub mod verdict;
