//! A whole diagnosis: inputs in, ranked findings, what was looked for and what to export
//! out. The page and `fixer diagnose` both use it.
//!
//! - [`coverage`]: what was looked for, which logs the inputs held, hints about missing ones.
//! - [`verdict`]: the most likely finding and why.
//! - [`Session`]: inputs read one by one into the rules' collector, then judged against a
//!   "now" into a [`Diagnosis`].

pub mod coverage;
mod session;
pub mod verdict;

pub use session::{
    DEFAULT_WINDOW_HOURS, DiagnoseOptions, Diagnosis, NowSource, Session, evidence_sha256,
};
