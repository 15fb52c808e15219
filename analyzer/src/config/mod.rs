//! Configuration snapshots (`RDPFIX-CONFIG v1`): what the VM *is*, beside what it logged.
//!
//! A snapshot holds the settings that decide whether RDP can work: the `Terminal Server`
//! and policy keys, the `RDP-Tcp` listener, Schannel, CredSSP and LSA values, the services
//! RDP needs, the firewall, who listens on the port, the certificate, logon rights and
//! Remote Desktop Users, disk, time, setup and safe mode. The format is
//! `docs/config-snapshot.md`.
//!
//! - [`schema`]: sections, keys, their kinds and the OS defaults per release.
//! - [`model`]: a snapshot as read ([`ConfigSnapshot`]); a section not in it is "not
//!   collected", a registry value written `-` is absent (Windows applies its default).
//! - [`text`]: the block's text, and the [`text::Writer`] `fixer collect` uses.
//! - [`sources`]: where on Windows each value is read.
//! - [`deviation`]: what a snapshot shows off the defaults, for people.
//!
//! Reading blocks is an input format (`input::config`, with `reg query` output; re-exported
//! here): a snapshot lands in its input's report (`InputReport::configs`). Rules state
//! conditions on it (`rules::config_condition`).

pub mod deviation;
pub mod model;
pub mod schema;
pub mod sources;
pub mod text;

pub use crate::input::config::{
    FoundSnapshot, Gravity, Issue, MAX_LINES, MAX_SNAPSHOTS, MAX_VALUE_BYTES, find_snapshots,
    read_reg_query,
};
pub use model::{
    ConfigSnapshot, Effective, Entry, NotCollected, Reading, Value, newest_per_computer,
};
pub use schema::{Release, Section};
