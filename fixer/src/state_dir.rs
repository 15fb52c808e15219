//! The state directory (`%ProgramData%\rdpfix`): trust store, journal, backups.
//!
//! Everything the fixer trusts lives here, so the fixer refuses to use it when anyone but
//! SYSTEM and Administrators could have written it: a user who can add a key to the trust
//! store, or edit a journal, could make the fixer run as SYSTEM a plan they signed, or
//! "restore" values of their choosing.

use crate::host::{Host, HostError};
use crate::sddl::{SddlError, SecurityDescriptor};

pub const TRUST_FILE: &str = "trust.json";
pub const JOURNAL_DIR: &str = "journal";

#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    #[error(
        "{path} is writable by {who}: refusing to trust it; make it writable by SYSTEM and \
         Administrators only (e.g. icacls \"{path}\" /inheritance:r /grant *S-1-5-18:(OI)(CI)F \
         *S-1-5-32-544:(OI)(CI)F, and set the owner to Administrators)"
    )]
    Unsafe { path: String, who: String },
    #[error("cannot read the security of {path}: {source}")]
    BadSddl { path: String, source: SddlError },
    #[error(transparent)]
    Host(#[from] HostError),
}

/// Checks the directory and the trust store file (when they exist).
pub fn check(host: &dyn Host) -> Result<(), StateDirError> {
    let wine_owner = host.wine_prefix_owner()?;
    for rel in ["", TRUST_FILE] {
        let Some(sddl) = host.state_sd(rel)? else {
            continue;
        };
        let dir = host.state_dir();
        let path = if rel.is_empty() { dir } else { dir.join(rel) };
        let path = path.display().to_string();
        let sd = SecurityDescriptor::parse(&sddl).map_err(|source| StateDirError::BadSddl {
            path: path.clone(),
            source,
        })?;
        let writers = sd.writers_besides_admins(wine_owner.as_deref());
        if !writers.is_empty() {
            return Err(StateDirError::Unsafe {
                path,
                who: writers.join(", "),
            });
        }
    }
    Ok(())
}

/// Creates the directory if needed, then checks it: before any write to it.
pub fn prepare(host: &dyn Host) -> Result<(), StateDirError> {
    host.state_init()?;
    check(host)
}
