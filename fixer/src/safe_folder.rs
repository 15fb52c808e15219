//! Folders the fixer trusts: the state directory (trust store, journal, backups), the
//! rollback task's folder under `%ProgramFiles%`, and the folder `collect` exports into.
//!
//! The fixer runs as SYSTEM on a machine whose other users may be hostile, and any of them
//! may have made one of these folders first (anyone can create folders in `C:\` and
//! `%ProgramData%`), planted a junction in it, or a file it will later read or run. So a
//! folder is trusted only when the fixer made it, with a protected DACL that lets only
//! SYSTEM and Administrators write, or when it is judged, whole, to be as safe as that: not
//! a reparse point, and no object anywhere beneath it that is a reparse point, a hard-linked
//! file, or writable (or owned) by anyone else. Every object is opened without following
//! reparse points (`Host::fs_object`), so the judgement is of the folder itself, never of
//! where a junction leads.

use crate::host::{FsObject, Host, HostError, Made};
use crate::sddl::SecurityDescriptor;
use std::path::Path;

/// Objects judged at most: a state directory holds a few files per plan applied.
const MAX_OBJECTS: usize = 50_000;
/// Problems listed at most in one message.
const MAX_PROBLEMS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(
        "{path} cannot be trusted: {}; rdpfix refuses to use it. Inspect it with \
         `icacls \"{path}\" /T /C` and `dir /AL /S \"{path}\"`; then remove it (rdpfix makes \
         it again, for SYSTEM and Administrators only) or make it writable by them alone",
        problems.join("; ")
    )]
    Unsafe { path: String, problems: Vec<String> },
    #[error(transparent)]
    Host(#[from] HostError),
}

/// Judges the folder at `root` and everything beneath it. `Ok(false)` when it does not exist.
pub fn audit(host: &dyn Host, root: &Path) -> Result<bool, FolderError> {
    let path = root.display().to_string();
    let unsafe_ = |problems: Vec<String>| FolderError::Unsafe {
        path: path.clone(),
        problems,
    };
    let top = match host.fs_object(root) {
        Ok(o) => o,
        Err(HostError::NotFound { .. }) => return Ok(false),
        Err(HostError::Refused { reason, .. }) => return Err(unsafe_(vec![reason])),
        Err(e) => return Err(e.into()),
    };
    if !top.dir {
        return Err(unsafe_(vec!["it is a file, not a folder".into()]));
    }
    let also_trusted = host.wine_prefix_owner()?;
    let mut problems = Vec::new();
    let mut stack: Vec<FsObject> = vec![top];
    let mut seen = 0usize;
    while let Some(obj) = stack.pop() {
        seen += 1;
        if seen > MAX_OBJECTS {
            problems.push(format!("more than {MAX_OBJECTS} objects in it"));
            break;
        }
        match host.sd_read(&obj) {
            Ok(sddl) => {
                if let Some(p) = judge(&obj.path, &sddl, also_trusted.as_deref()) {
                    problems.push(p);
                }
            }
            Err(HostError::Refused { reason, .. }) => {
                problems.push(format!("{}: {reason}", obj.path))
            }
            Err(e) => return Err(e.into()),
        }
        if obj.dir {
            let listing = host.fs_children(&obj)?;
            problems.extend(
                listing
                    .skipped
                    .into_iter()
                    .map(|s| format!("{}: {}", s.path, s.reason)),
            );
            stack.extend(listing.objects);
        }
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
    }
    if problems.is_empty() {
        Ok(true)
    } else {
        Err(unsafe_(problems))
    }
}

/// What is wrong with one object's descriptor, if anything.
fn judge(path: &str, sddl: &str, also_trusted: Option<&str>) -> Option<String> {
    match SecurityDescriptor::parse(sddl) {
        Ok(sd) => {
            let writers = sd.writers_besides_admins(also_trusted);
            (!writers.is_empty()).then(|| format!("{path} is writable by {}", writers.join(", ")))
        }
        Err(e) => Some(format!("{path}: its security cannot be read ({e})")),
    }
}

/// Makes the folder (SYSTEM and Administrators only) or, when something is already there,
/// judges it: either way it is trusted only when [`audit`] passes.
pub fn ensure(host: &dyn Host, root: &Path) -> Result<Made, FolderError> {
    let made = host.create_admin_dir(root)?;
    audit(host, root)?;
    Ok(made)
}
