//! The state directory (`%ProgramData%\rdpfix`): trust store, journal, backups, the lock.
//!
//! Everything the fixer trusts lives here, so the fixer refuses to use it when anyone but
//! SYSTEM and Administrators could have written anything in it (`safe_folder`): a user who
//! can add a key to the trust store, or edit a journal, could make the fixer run as SYSTEM a
//! plan they signed, or "restore" values of their choosing.

use crate::host::Host;
use crate::safe_folder;

pub const TRUST_FILE: &str = "trust.json";
pub const JOURNAL_DIR: &str = "journal";

/// Why the state directory cannot be used.
pub type StateDirError = safe_folder::FolderError;

/// Judges the directory and all it holds (when it exists).
pub fn check(host: &dyn Host) -> Result<(), StateDirError> {
    safe_folder::audit(host, &host.state_dir()).map(drop)
}

/// Creates the directory if needed, then judges it: before any write to it.
pub fn prepare(host: &dyn Host) -> Result<(), StateDirError> {
    safe_folder::ensure(host, &host.state_dir()).map(drop)
}
