//! Remediation plans: a closed set of typed step kinds, the allowlist that types them, the
//! labels derived from them, and the plan built from findings.
//!
//! - [`step`]: [`Step`], the text form in the rule catalog (TOML) and the signed payload
//!   (JSON). Unknown fields are denied everywhere.
//! - [`target`]: the only things a plan may touch, as types.
//! - [`allowlist`]: [`check_step`] turns a `Step` into an [`AllowedStep`] (typed targets, the
//!   only form the fixer executes), or says which rule it breaks.
//! - [`labels`]: reversible / regenerable / irreversible, drops RDP sessions, needs a reboot,
//!   manual, destructive — derived by code, never read from a payload.
//! - [`ids`]: the validated values a plan carries (plan id, computer name, finding ids).
//! - [`payload`]: [`Plan`], the signed JSON object; its target is the running machine or,
//!   offline, the OS disk of that machine attached to a rescue VM ([`OfflineTarget`]).
//! - [`offline`]: what each step kind is on such a disk ([`AllowedStep::offline`]), where a
//!   key is in its hives, and the proposal for it ([`Proposal::for_offline`]).
//! - [`powershell`]: the plan as a PowerShell script, for review and manual use.
//! - [`build`]: findings + their remediation steps → [`Proposal`] → the admin's choice →
//!   [`Plan`].
//!
//! This module knows neither the rule catalog nor a diagnosis: the catalog holds its steps
//! (`rules::Catalog::proposal`), and `diagnose::plan` turns a diagnosis into a proposal and
//! the plan's parameters.

pub mod allowlist;
pub mod build;
pub mod ids;
pub mod labels;
pub mod offline;
pub mod payload;
pub mod powershell;
pub mod step;
pub mod target;

pub use allowlist::{AllowedStep, AllowlistError, AllowlistReason, check_step, check_steps};
pub use build::{
    BuildError, DEFAULT_LIFETIME, PlanParams, Proposal, ProposedStep, RemediationStep,
};
pub use ids::{
    AnalyzerVersion, ComputerName, FindingId, IdError, MachineGuid, PlanId, Sha256Digest,
};
pub use labels::{Caveat, Labels, Reversibility};
pub use offline::{LeftOutStep, LeftOutWhy, OfflineForm, OfflineHive};
pub use payload::{MAX_FINDINGS, MAX_STEPS, OfflineTarget, PLAN_VERSION, Plan, PlanTarget};
pub use step::{
    CertificateExpect, Expect, Grant, HexBytes, LogonRight, ManualAction, RegistryData,
    RegistryExpect, RegistryTarget, Rights, ServiceAccount, Sid, StartType, Step, StepKind,
    Thumbprint,
};
pub use target::{
    AccountSid, AclTarget, CertStore, FirewallRule, LocalGroup, RdpService, RegistryType,
    RegistryValue, SidError, TS_POLICY, TlsProtocol,
};
