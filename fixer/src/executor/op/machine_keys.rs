//! The MachineKeys folder and the RDP listener's key files in it: where the folder is on
//! this host, which names are key files, and the objects an ACL step acts on, opened by
//! handle.

use crate::host::{FsObject, FsSkipped, Host, HostResult};
use analyzer::plan::AclTarget;
use std::path::PathBuf;

/// The RDP listener's key files in MachineKeys.
pub const RDP_KEY_PREFIX: &str = "f686aace6942fb7f7ceb231212eef4a4_";

/// `%ProgramData%\Microsoft\Crypto\RSA\MachineKeys` on this host.
pub(crate) fn machine_keys(host: &dyn Host) -> PathBuf {
    // Joined with `\` by hand: the same on Windows and in the simulator on Linux.
    // A `%ProgramData%` ending in `\` would make a path whose final path differs.
    PathBuf::from(format!(
        "{}\\{}",
        host.program_data()
            .display()
            .to_string()
            .trim_end_matches('\\'),
        AclTarget::MachineKeysFolder.relative_to_program_data()
    ))
}

/// The final component of a Windows path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// Whether `name` is an RDP listener key file's name.
pub(crate) fn is_rdp_key_name(name: &str) -> bool {
    name.get(..RDP_KEY_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(RDP_KEY_PREFIX))
}

/// The objects a target names, opened by handle: the MachineKeys folder itself, and for
/// `with_children` (saving) or the key files its direct children — never deeper, never
/// through a junction, never a hard-linked file. What is left out is returned with why.
pub(super) fn acl_objects(
    host: &dyn Host,
    target: AclTarget,
    with_children: bool,
) -> HostResult<(Vec<FsObject>, Vec<FsSkipped>)> {
    let folder = host.fs_object(&machine_keys(host))?;
    if target == AclTarget::MachineKeysFolder && !with_children {
        return Ok((vec![folder], Vec::new()));
    }
    let listing = host.fs_children(&folder)?;
    if target == AclTarget::MachineKeysFolder {
        let mut objects = vec![folder];
        objects.extend(listing.objects);
        return Ok((objects, listing.skipped));
    }
    let mut skipped: Vec<FsSkipped> = listing
        .skipped
        .into_iter()
        .filter(|s| is_rdp_key_name(file_name(&s.path)))
        .collect();
    let mut files = Vec::new();
    for obj in listing.objects {
        if !is_rdp_key_name(file_name(&obj.path)) {
            continue;
        }
        if obj.dir {
            skipped.push(FsSkipped {
                path: obj.path,
                reason: "a folder named like a key file; key files are files".into(),
            });
        } else {
            files.push(obj);
        }
    }
    Ok((files, skipped))
}
