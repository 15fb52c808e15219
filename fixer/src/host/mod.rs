//! Every effect the fixer has on the machine goes through [`Host`].
//!
//! - `windows::WindowsHost` (`cfg(windows)`): the real thing, through Win32 APIs.
//! - [`sim::SimHost`]: an in-memory machine with fault injection, for tests on Linux.
//! - [`overlay::DryRun`]: wraps another host; reads pass through, writes land in memory, so a
//!   dry-run runs the very code path of an apply and cannot change anything.
//! - [`posix::PosixHost`]: the native Linux build: files and clock only; everything that
//!   would change Windows answers [`HostError::NeedsWindows`].
//!
//! Registry access is confined to `HKLM` and certificate access to LocalMachine
//! "Remote Desktop" by the types themselves: the plan allowlist is the first fence, this the
//! second.

pub mod offline;
pub mod overlay;
pub mod posix;
pub mod sim;
pub mod state_files;
pub mod task;
mod types;
#[cfg(windows)]
pub mod windows;

pub use types::*;

use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong in one host call, with the object it concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("{what}: {message} (Windows error {code})")]
    Os {
        what: String,
        code: u32,
        message: String,
    },
    #[error("{what}: {message}")]
    Failed { what: String, message: String },
    #[error("{what}: not found")]
    NotFound { what: String },
    /// Windows itself (registry, services, certificates, file security, event logs) asked of
    /// a build that is not `fixer.exe` on Windows: the Linux one.
    #[error("{what}: {} it needs fixer.exe on Windows, and this fixer runs on {}", reading_or_changing(*.change), std::env::consts::OS)]
    NeedsWindows {
        what: String,
        /// A change (else a read): said, so reading a log is not called changing it.
        change: bool,
    },
    #[error("{what}: timed out after {seconds} s")]
    Timeout { what: String, seconds: u64 },
    /// Fault injection: the simulated process died here; nothing after it runs.
    #[error("{what}: simulated crash")]
    Crashed { what: String },
    #[error("{what}: injected fault")]
    Injected { what: String },
    /// Not done because it would not be safe: a reparse point, a file swapped since it was
    /// read, a descriptor changed under the fixer, a folder someone else can write.
    #[error("{what}: refused: {reason}")]
    Refused { what: String, reason: String },
    /// The object a call must create is already there.
    #[error("{what}: already exists")]
    Exists { what: String },
    /// Another fixer holds the machine-wide lock.
    #[error(
        "{what}: another fixer is applying, rolling back or confirming a plan on this machine; \
         try again when it has finished"
    )]
    Busy { what: String },
}

fn reading_or_changing(change: bool) -> &'static str {
    if change { "changing" } else { "reading" }
}

impl HostError {
    pub fn failed(what: impl Into<String>, message: impl Into<String>) -> Self {
        HostError::Failed {
            what: what.into(),
            message: message.into(),
        }
    }

    pub fn refused(what: impl Into<String>, reason: impl Into<String>) -> Self {
        HostError::Refused {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

pub type HostResult<T> = Result<T, HostError>;

/// A file of an attached disk open for reading ([`Host::disk_open`]).
pub trait DiskReader: std::io::Read + std::io::Seek + std::fmt::Debug {}

impl<T: std::io::Read + std::io::Seek + std::fmt::Debug> DiskReader for T {}

/// The machine-wide lock, held until dropped: apply, rollback and confirm each run under
/// it, so two fixers never interleave their changes or their journal writes.
#[derive(Debug)]
pub struct MachineLock<'h> {
    host: &'h dyn Host,
}

impl<'h> MachineLock<'h> {
    pub fn acquire(host: &'h dyn Host, wait: Duration) -> HostResult<Self> {
        host.lock(wait)?;
        Ok(MachineLock { host })
    }
}

impl Drop for MachineLock<'_> {
    fn drop(&mut self) {
        self.host.unlock();
    }
}

/// The machine, as the fixer sees it. Reads are `probe`s; everything else is a change.
///
/// Paths under the state directory (`%ProgramData%\rdpfix`) are relative (`journal/…`),
/// with `/` separators; the host resolves them.
pub trait Host: std::fmt::Debug {
    // --- clock and identity
    fn now(&self) -> Timestamp;
    fn computer_names(&self) -> HostResult<ComputerNames>;
    /// Under Wine only: the account Wine reports as owner (and sole grantee) of every file —
    /// the prefix's user — when the fixer runs there as an administrator. Wine ignores the
    /// security descriptor `CreateDirectoryW` is given, so without this the state directory
    /// Wine made could never pass the safety check. `None` on real Windows, where no
    /// account besides SYSTEM and Administrators is trusted: trusting an administrator's
    /// own account would let its non-elevated processes write the trust store (a UAC bypass).
    fn wine_prefix_owner(&self) -> HostResult<Option<String>>;

    // --- registry (HKLM only; `key` is a subkey path with `\` separators)
    fn reg_key_exists(&self, key: &str) -> HostResult<bool>;
    /// `None` when the value (or its key) does not exist.
    fn reg_get(&self, key: &str, name: &str) -> HostResult<Option<RegValue>>;
    /// Creates missing keys on the way, like `RegCreateKeyExW`.
    fn reg_set(&self, key: &str, name: &str, value: &RegValue) -> HostResult<()>;
    /// Deleting a value that does not exist succeeds.
    fn reg_delete_value(&self, key: &str, name: &str) -> HostResult<()>;
    /// Deletes a key that has no values and no subkeys; refuses otherwise.
    fn reg_delete_empty_key(&self, key: &str) -> HostResult<()>;

    // --- services
    fn service_status(&self, name: &str) -> HostResult<ServiceStatus>;
    /// Every service that depends on `name`, running or not.
    fn service_dependents(&self, name: &str) -> HostResult<Vec<String>>;
    /// Running services that depend on `name` (they must stop before it does).
    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>>;
    /// Stops and waits; a service that stops with an error is reported as it happens.
    fn service_stop(&self, name: &str, wait: Duration) -> HostResult<()>;
    /// Starts and waits for it to run; a service that stops instead fails at once, with its
    /// exit code (0 too), rather than at the end of the wait.
    fn service_start(&self, name: &str, wait: Duration) -> HostResult<()>;
    fn service_set_start_type(&self, name: &str, start: StartType) -> HostResult<()>;
    fn service_set_delayed_auto_start(&self, name: &str, delayed: bool) -> HostResult<()>;
    /// The account the service logs on as (`LocalSystem`, `NT AUTHORITY\NetworkService`).
    fn service_account(&self, name: &str) -> HostResult<String>;
    /// Sets a built-in account (no password).
    fn service_set_account(&self, name: &str, account: &str) -> HostResult<()>;

    // --- local groups, by SID (names are localised)
    /// The members of the local group `group` (a SID, `S-1-5-32-555`), as SID strings
    /// (`NetLocalGroupGetMembers` level 0).
    fn group_members(&self, group: &str) -> HostResult<Vec<String>>;
    /// Adds `member` (a SID) to the local group `group` (a SID)
    /// (`NetLocalGroupAddMembers` with `LOCALGROUP_MEMBERS_INFO_0`).
    fn group_add_member(&self, group: &str, member: &str) -> HostResult<()>;
    /// Removes `member` from `group` (`NetLocalGroupDelMembers`).
    fn group_remove_member(&self, group: &str, member: &str) -> HostResult<()>;

    // --- user rights (LSA policy), by SID and constant right name
    /// The rights and privileges `sid` holds directly (`LsaEnumerateAccountRights`); empty
    /// when it holds none.
    fn account_rights(&self, sid: &str) -> HostResult<Vec<String>>;
    /// Every SID that holds `right` directly (`LsaEnumerateAccountsWithUserRight`).
    fn right_holders(&self, right: &str) -> HostResult<Vec<String>>;
    /// Grants `right` to `sid` (`LsaAddAccountRights`).
    fn account_rights_add(&self, sid: &str, right: &str) -> HostResult<()>;
    /// Takes `right` away from `sid` (`LsaRemoveAccountRights`).
    fn account_rights_remove(&self, sid: &str, right: &str) -> HostResult<()>;

    // --- the guest firewall's rules, by rule id
    /// Whether the rule with this id is enabled; `None` when there is no such rule.
    fn firewall_rule_enabled(&self, rule_id: &str) -> HostResult<Option<bool>>;
    /// Enables or disables the rule with this id; [`HostError::NotFound`] when there is none.
    fn firewall_rule_set_enabled(&self, rule_id: &str, enabled: bool) -> HostResult<()>;

    /// The firewall's profiles: on or off, and their default inbound action.
    fn firewall_profiles(&self) -> HostResult<Vec<FirewallProfile>>;

    // --- what else the configuration snapshot reads
    /// Who listens on TCP `port` (any address); `None` when nothing does.
    fn port_listener(&self, port: u16) -> HostResult<Option<PortListener>>;
    /// Free and total space of the system drive (`%SystemDrive%`).
    fn system_drive_space(&self) -> HostResult<DiskSpace>;

    // --- certificates (LocalMachine only)
    fn cert_list(&self, store: CertStore) -> HostResult<Vec<CertInfo>>;
    fn cert_delete(&self, store: CertStore, thumbprint: &str) -> HostResult<()>;
    /// Adds `cert` (its DER) back to the store and links it to its private key
    /// (`cert.key`), creating the store when missing.
    fn cert_add(&self, store: CertStore, cert: &CertInfo) -> HostResult<()>;

    // --- files and folders, by handle (see `FsObject`)
    /// `%ProgramData%` on this machine (MachineKeys lives under it).
    fn program_data(&self) -> PathBuf;
    /// `path` itself, opened without following a reparse point: refused
    /// ([`HostError::Refused`]) when it is one, or when its final path is not `path` (a
    /// junction higher up).
    fn fs_object(&self, path: &Path) -> HostResult<FsObject>;
    /// The direct children of `folder` that are plain files (one link) or plain folders;
    /// reparse points and hard-linked files are listed as skipped, never touched.
    fn fs_children(&self, folder: &FsObject) -> HostResult<FsListing>;
    /// Owner, group and DACL as SDDL, read through a handle opened on `obj` without
    /// following a reparse point, after checking it is still `obj` (same final path, same
    /// file id): [`HostError::Refused`] otherwise.
    fn sd_read(&self, obj: &FsObject) -> HostResult<String>;
    /// Through one such handle: reads the descriptor, refuses unless it still equals
    /// `expect` (as `sd_read` gave it), then writes only the parts `write` names. The
    /// privileges this needs are enabled for the call and dropped after it.
    fn sd_write(&self, obj: &FsObject, expect: &str, write: &SdWrite) -> HostResult<()>;
    /// Creates the folder `path` (its parent must exist) with a protected DACL that only
    /// SYSTEM and Administrators can write; [`Made::Existed`] when something was already
    /// there (then nothing was changed, and the caller must judge it).
    fn create_admin_dir(&self, path: &Path) -> HostResult<Made>;

    // --- the state directory: trust store, journal, backups
    /// Where the state directory is (it is judged with `fs_*` and `sd_read` like any folder).
    fn state_dir(&self) -> PathBuf;
    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>>;
    /// Replaces a file atomically (write beside, flush, rename).
    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()>;
    /// Appends and flushes to disk before returning: the journal's write-ahead guarantee.
    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()>;
    /// Cuts a file to `len` bytes and flushes (a torn journal line is removed this way).
    fn state_truncate(&self, rel: &str, len: u64) -> HostResult<()>;
    /// Creates a folder that must not exist yet (its parents are made as needed):
    /// [`HostError::Exists`] when it does. Two runs cannot both create it.
    fn state_create_dir(&self, rel: &str) -> HostResult<()>;
    /// File and folder names directly inside `rel`, sorted; empty when it does not exist.
    fn state_list(&self, rel: &str) -> HostResult<Vec<String>>;
    /// Takes the machine-wide lock (a file in the state directory opened exclusively,
    /// released by the OS if the process dies), waiting up to `wait` for another fixer to
    /// let go: [`HostError::Busy`] after that.
    fn lock(&self, wait: Duration) -> HostResult<()>;
    fn unlock(&self);

    // --- event logs
    /// `wevtutil epl <channel> <dir>\<file> /q:<query> /ow:true`, creating `dir`;
    /// returns the file's path.
    fn log_export(&self, export: &LogExport, dir: &Path, file: &str) -> HostResult<PathBuf>;
    /// Zips `files` (exports in `dir`, a folder `safe_folder` made or judged) into
    /// `dir\rdpfix-logs.zip`, under a temporary name first ([`crate::bundle`]).
    fn zip_logs(&self, dir: &Path, files: &[PathBuf]) -> HostResult<LogBundle>;
    /// Writes `dir\name` (`dir` a folder `safe_folder` made or judged) from `from`: created
    /// new under a temporary name, flushed, then renamed over `name`, so a failure or a
    /// crash never leaves a cut file under the real name ([`crate::bundle::write_file`]).
    fn collect_file(&self, dir: &Path, name: &str, from: FileSource<'_>) -> HostResult<PathBuf>;
    /// `wevtutil qe <channel> /q:<query> /f:text /rd:true /c:<max>`: newest first.
    fn log_query_text(&self, export: &LogExport, max: u32) -> HostResult<String>;

    // --- an OS disk attached to this (rescue) machine: offline plans
    /// The roots (`F:\`) of the disks attached to this machine that hold a Windows
    /// (`Windows\System32\config\SOFTWARE`), the system drive left out.
    fn disk_roots(&self) -> HostResult<Vec<PathBuf>>;
    /// A file of an attached disk, whole (refused past `max` bytes), opened without following
    /// a reparse point: [`HostError::Refused`] when `path` or a folder on its way is one,
    /// [`HostError::NotFound`] when it or a folder on its way is missing.
    fn disk_read(&self, path: &Path, max: u64) -> HostResult<Vec<u8>>;
    /// A file of an attached disk opened for reading in place (a hive: its cells are read
    /// where they are, the file never whole), refused as `disk_read` refuses it. The
    /// default reads it whole; the Windows and the simulated hosts read it in place.
    fn disk_open<'a>(&'a self, path: &Path, max: u64) -> HostResult<Box<dyn DiskReader + 'a>> {
        Ok(Box::new(std::io::Cursor::new(self.disk_read(path, max)?)))
    }
    /// Replaces a file of an attached disk (written beside, flushed, renamed over it), in a
    /// folder that must exist; refused through a reparse point, as `disk_read`.
    fn disk_write(&self, path: &Path, bytes: &[u8]) -> HostResult<()>;
    /// Loads the hive file `file` under `HKLM\<mount>` (`RegLoadKeyW`, with
    /// SeBackupPrivilege and SeRestorePrivilege enabled for the call); [`HostError::Exists`]
    /// when something is loaded there already. Refused through a reparse point.
    fn hive_load(&self, mount: &str, file: &Path) -> HostResult<()>;
    /// Unloads `HKLM\<mount>` (`RegUnLoadKeyW`: Windows writes the hive's changes to its
    /// file), retried for a few seconds while a handle is still open;
    /// [`HostError::NotFound`] when nothing is loaded there.
    fn hive_unload(&self, mount: &str) -> HostResult<()>;

    // --- commit-confirm
    /// The admin-only folder (under `%ProgramFiles%`) the rollback task's fixer.exe runs
    /// from: a task that runs as SYSTEM must never run a file a user could replace.
    fn task_dir(&self) -> PathBuf;
    /// Arranges for `fixer rollback <plan_id> --unless-confirmed` to run at `deadline` even
    /// if this process is gone (a scheduled task on Windows).
    fn schedule_rollback(&self, plan_id: &str, deadline: Timestamp) -> HostResult<()>;
    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()>;
}

/// The descriptor a [`Host::sd_write`] leaves on an object whose descriptor is `current`:
/// refused unless `current` still equals `expect`, and unless the DACL written is a real
/// one (a missing DACL, or `NO_ACCESS_CONTROL`, would let everyone do everything). The
/// simulated and dry-run hosts use this; the Windows host does the same through one handle.
pub fn sd_after_write(
    what: &str,
    current: &str,
    expect: &str,
    write: &SdWrite,
) -> HostResult<String> {
    use crate::sddl::{SecurityDescriptor, sid_text};
    if current != expect {
        return Err(HostError::refused(
            what,
            format!("its security changed since rdpfix read it (now {current})"),
        ));
    }
    let bad = |e: crate::sddl::SddlError| HostError::failed(what, e.to_string());
    let mut sd = SecurityDescriptor::parse(current).map_err(bad)?;
    if let Some(owner) = &write.owner {
        sd.owner = Some(sid_text(owner));
    }
    if let Some(dacl) = &write.dacl {
        sd.dacl = Some(checked_dacl(what, dacl)?);
    }
    Ok(sd.to_string())
}

/// A `D:…` SDDL string that holds a DACL and nothing else; anything that would end as a
/// NULL DACL is refused.
pub fn checked_dacl(what: &str, dacl: &str) -> HostResult<crate::sddl::Acl> {
    use crate::sddl::SecurityDescriptor;
    let parsed =
        SecurityDescriptor::parse(dacl).map_err(|e| HostError::failed(what, e.to_string()))?;
    match parsed {
        SecurityDescriptor {
            owner: None,
            group: None,
            sacl: None,
            dacl: Some(acl),
        } if !acl.flags.contains("NO_ACCESS_CONTROL") => Ok(acl),
        _ => Err(HostError::refused(
            what,
            format!("{dacl:?} is not a DACL; rdpfix never writes a missing (NULL) DACL"),
        )),
    }
}
