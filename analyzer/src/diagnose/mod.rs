//! A whole diagnosis: inputs in, ranked findings, what was looked for and what to export
//! out. The page and `fixer diagnose` both use it.
//!
//! - [`coverage`]: what was looked for, which logs the inputs held, hints about missing ones.
//! - [`verdict`]: the most likely finding and why.
//! - [`Session`]: inputs read one by one into the rules' collector, then judged against a
//!   "now" into a [`Diagnosis`].
//! - [`plan`]: a diagnosis → its [`Proposal`](crate::plan::Proposal), the computers a plan
//!   may be for and the plan's parameters ([`PlanOffer`], [`PlanTargets`]): the one way the page and
//!   `fixer plan` build plans.
//! - [`offline`]: the OS disk a plan may be for when the diagnosis read its hives
//!   ([`OfflineChoice`], offered in [`PlanTargets::offline`]).

pub mod coverage;
pub mod offline;
pub mod plan;
mod session;
pub mod verdict;

pub use offline::{OfflineChoice, offline_choice};
pub use plan::{ComputerChoice, PlanOffer, PlanTargets, computer_choices, computer_of};
pub use session::{
    DEFAULT_WINDOW_HOURS, DiagnoseOptions, Diagnosis, NowSource, Session, evidence_sha256,
};
