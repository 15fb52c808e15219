//! The RDP rule catalog and the engine that applies it.
//!
//! - [`catalog`]: the data model of `catalog.toml` (embedded at build time) and its validation.
//! - [`index`]: the catalog compiled once when it is read — typed condition values and the
//!   lookup tables (event ID → signals, channel → providers → IDs) every consumer shares.
//! - [`matching`]: how one event is compared with a signal (providers, channels, conditions).
//! - [`service_name`]: a service's display name in a text export's message, as the whole name.
//! - [`config_condition`]: conditions on a configuration snapshot (`[[rule.config]]`).
//! - [`collector`]: the streaming side — keeps only candidate events, bounded, plus statistics.
//! - [`evaluate`](mod@evaluate): candidates + "now" → ranked [`Finding`]s with reasons.
//! - [`collection`] and [`kql`]: evidence-collection commands (`wevtutil`) and Azure Monitor
//!   queries, generated from the same catalog.

pub mod catalog;
pub mod collection;
pub mod collector;
pub mod config_condition;
pub mod evaluate;
pub mod finding;
pub mod index;
pub mod kql;
pub mod matching;
pub mod service_name;

pub use catalog::{
    Catalog, CatalogError, Combine, Compare, Condition, Context, Doubt, InMessage, Rate, Reference,
    Role, Rule, Signal, Tier, WhenUnknown,
};
pub use collector::{Collector, NameCounts, Stats};
pub use evaluate::{evaluate, evaluate_with_config, rank};
pub use finding::{
    Age, CheckNote, Confidence, ConfigEvidence, Evidence, Finding, Part, Peak, Reason,
    SignalSummary, Window,
};
pub use index::Index;
pub use matching::Check;
