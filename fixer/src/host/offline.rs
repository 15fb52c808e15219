//! The OS disk of a VM attached to this (rescue) machine, as a [`Host`](super::Host):
//! what an offline plan runs on. [`OfflineHost`] wraps the rescue VM's host and maps each
//! effect onto the disk:
//!
//! - registry: `SYSTEM\CurrentControlSet\…` → `HKLM\<mount>-SYSTEM\ControlSet00N\…` (the
//!   control set the plan names and `Select\Current` holds), `SOFTWARE\…` → its mount, by
//!   the analyzer's `OfflineTarget::hive_key` (the rule the plan and its preview were made
//!   with); reads also reach the keys above (the hives' roots, `CurrentControlSet`); any
//!   other key is refused. Before the hives are loaded (verify, the dry-run of check 10)
//!   the same keys are read from the hive files in place ([`HiveFile`]: the cells a lookup
//!   needs, never the whole file) and nothing can be written.
//! - services: their keys' `Start` and `DelayedAutostart` values; a service of a disk is
//!   never running, and starting, stopping or changing its account is refused.
//! - the Remote Desktop certificate store: the keys under `SOFTWARE\Microsoft\
//!   SystemCertificates\Remote Desktop\Certificates`, one per thumbprint, each holding a
//!   `Blob`; deleting one removes its `Blob` and the then empty key, a restore writes the
//!   `Blob` back byte for byte.
//! - files: `%ProgramData%` is the disk's (`F:\ProgramData`): MachineKeys' ACLs are
//!   written by well-known SID, which mean the same on both machines; any other path off
//!   the disk is refused except the rescue VM's own state directory.
//! - the state directory, journal, backups and lock stay the rescue VM's (`inner`).
//! - local groups, logon rights, firewall, listeners, logs, commit-confirm: refused with
//!   the reason. The analyzer leaves such steps out of an offline plan; this is the second
//!   wall.
//!
//! In three files:
//!
//! - `disk.rs` — the disk as found: [`find_disk`] (a drive named, or `auto`: the attached
//!   disk whose MachineGuid the plan names), [`Disk`] (what its own hives say: control set,
//!   computer, MachineGuid, Remote Desktop certificates) and [`HiveFile`] (a hive file read
//!   in place). Reads only.
//! - `mounts.rs` — the hives loaded for a run: [`Mounts`] (their names, unique per plan),
//!   [`Loaded`] (loaded, and unloaded on drop), [`LOADED_FILE`] with [`unload_owned`] /
//!   [`unload_stale`] (what a dead run left loaded), and [`OfflineRecord`], what the
//!   journal's `begin` says of the disk.
//! - `host.rs` — [`OfflineHost`]: the rescue VM's host with each effect mapped onto the
//!   disk (its hive files before the load, their mounts after), or refused.
//!
//! What holds across them: a dirty or damaged hive, and a registry symbolic link on a
//! key's path, are refused, never read through; a key is placed only by the analyzer's
//! `OfflineTarget::hive_key` (the rule the plan and its preview were made with); nothing
//! is written before the hives are loaded, and a hive this fixer loads is named in
//! [`LOADED_FILE`] before it is loaded and unloaded on every path out.

mod disk;
mod host;
mod mounts;

pub use disk::{
    Disk, DiskError, HiveFile, MAX_HIVE_BYTES, RDP_CERTIFICATES, SOFTWARE_HIVE, SYSTEM_HIVE,
    find_disk, on_disk,
};
pub use host::OfflineHost;
pub use mounts::{
    LOADED_FILE, LoadFailed, Loaded, Mounts, OfflineRecord, OwnedUnload, StillLoaded, unload_owned,
    unload_stale,
};
