//! Every effect the fixer has on the machine goes through [`Host`].
//!
//! - [`windows::WindowsHost`] (`cfg(windows)`): the real thing, through Win32 APIs.
//! - [`sim::SimHost`]: an in-memory machine with fault injection, for tests on Linux.
//! - [`overlay::DryRun`]: wraps another host; reads pass through, writes land in memory, so a
//!   dry-run runs the very code path of an apply and cannot change anything.
//! - [`posix::PosixHost`]: the native Linux build: files and clock only; everything that
//!   would change Windows answers [`HostError::NeedsWindows`].
//!
//! Registry access is confined to `HKLM` and certificate access to LocalMachine
//! "Remote Desktop" by the types themselves: the plan allowlist is the first fence, this the
//! second.

pub mod overlay;
pub mod posix;
pub mod sim;
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
}

pub type HostResult<T> = Result<T, HostError>;

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
    /// Running services that depend on `name` (they must stop before it does).
    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>>;
    fn service_stop(&self, name: &str, wait: Duration) -> HostResult<()>;
    fn service_start(&self, name: &str, wait: Duration) -> HostResult<()>;
    fn service_set_start_type(&self, name: &str, start: StartType) -> HostResult<()>;
    /// The account the service logs on as (`LocalSystem`, `NT AUTHORITY\NetworkService`).
    fn service_account(&self, name: &str) -> HostResult<String>;
    /// Sets a built-in account (no password).
    fn service_set_account(&self, name: &str, account: &str) -> HostResult<()>;

    // --- certificates (LocalMachine only)
    fn cert_list(&self, store: CertStore) -> HostResult<Vec<CertInfo>>;
    fn cert_delete(&self, store: CertStore, thumbprint: &str) -> HostResult<()>;

    // --- security descriptors on files and folders, as SDDL
    /// `%ProgramData%` on this machine (MachineKeys lives under it).
    fn program_data(&self) -> PathBuf;
    /// Owner, group and DACL of `path` as SDDL.
    fn sd_get(&self, path: &Path) -> HostResult<String>;
    /// Sets owner (when the SDDL has `O:`) and DACL (with its protection flag) of `path`.
    fn sd_set(&self, path: &Path, sddl: &str) -> HostResult<()>;
    /// Every file and folder under `path` (not `path` itself), sorted, for recursive steps.
    fn list_tree(&self, path: &Path) -> HostResult<Vec<PathBuf>>;

    // --- the state directory: trust store, journal, backups
    /// Where the state directory is, for messages.
    fn state_dir(&self) -> PathBuf;
    /// Creates the state directory, when missing, with a DACL that only SYSTEM and
    /// Administrators can write.
    fn state_init(&self) -> HostResult<()>;
    /// The SDDL of the state directory or of a file in it (`""` = the directory), or `None`
    /// when it does not exist.
    fn state_sd(&self, rel: &str) -> HostResult<Option<String>>;
    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>>;
    /// Replaces a file atomically (write beside, flush, rename).
    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()>;
    /// Appends and flushes to disk before returning: the journal's write-ahead guarantee.
    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()>;
    /// File and folder names directly inside `rel`, sorted; empty when it does not exist.
    fn state_list(&self, rel: &str) -> HostResult<Vec<String>>;

    // --- event logs
    /// `wevtutil epl <channel> <dir>\<file> /q:<query> /ow:true`, creating `dir`;
    /// returns the file's path.
    fn log_export(&self, export: &LogExport, dir: &Path, file: &str) -> HostResult<PathBuf>;
    /// `wevtutil qe <channel> /q:<query> /f:text /rd:true /c:<max>`: newest first.
    fn log_query_text(&self, export: &LogExport, max: u32) -> HostResult<String>;

    // --- commit-confirm
    /// Arranges for `fixer rollback <plan_id> --unless-confirmed` to run at `deadline` even
    /// if this process is gone (a scheduled task on Windows).
    fn schedule_rollback(&self, plan_id: &str, deadline: Timestamp) -> HostResult<()>;
    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()>;
}
