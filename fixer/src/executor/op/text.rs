//! The dry-run's words for a step: what it wants, what is there now, and the snapshots.

use super::{AclEntry, Op, Snapshot, rights_mask};
use crate::host::RegValue;
use crate::sddl::{self, SecurityDescriptor};
use analyzer::plan::Rights;

impl Op {
    /// The desired state, for the dry-run.
    pub fn desired_text(&self) -> String {
        match self {
            Op::SaveAcl { .. } => "saved to the journal (icacls /save format)".into(),
            Op::Owner { sid, .. } => format!("owner {}", sddl::sid_label(sid)),
            Op::Grant { grants, .. } => grants
                .iter()
                .map(|(sid, m)| format!("{} {}", sddl::sid_label(sid), rights_label(*m)))
                .collect::<Vec<_>>()
                .join(", "),
            Op::DeleteCerts { .. } => {
                "none (exported as .cer first; Windows makes a new one)".into()
            }
            Op::Restart { .. } => "restarted, running".into(),
            Op::StartType { desired, .. } => format!("start={desired}"),
            Op::Account { desired, .. } => format!("obj={desired}"),
            Op::QueryRegistry { .. } => "read only".into(),
            Op::Registry { values, .. } => values
                .iter()
                .map(|(n, v)| format!("{n}={}", value_text(v.as_ref())))
                .collect::<Vec<_>>()
                .join(", "),
            Op::Start { .. } => "running".into(),
            Op::Member { group, member } => format!("{member} a member of {group}"),
            Op::Right {
                sid,
                right,
                grant: true,
            } => format!("{sid} holds {right}"),
            Op::Right {
                sid,
                right,
                grant: false,
            } => format!("{sid} does not hold {right}"),
            Op::Firewall { rule } => format!("{rule} enabled"),
            Op::Manual { text } => format!("manual: {text}"),
        }
    }
}

fn rights_label(mask: u32) -> &'static str {
    match mask {
        sddl::FILE_ALL => "full",
        sddl::FILE_READ => "read",
        _ => "read/write",
    }
}

pub fn value_text(v: Option<&RegValue>) -> String {
    v.map_or_else(|| "(absent)".to_owned(), ToString::to_string)
}

impl Op {
    /// The current state of what this step controls, for the dry-run: for an ACL step,
    /// the owner or the rights of exactly the accounts it grants, so "now" and "want"
    /// compare like with like.
    pub fn current_text(&self, now: &Snapshot) -> String {
        let Snapshot::Acl { entries, .. } = now else {
            return snapshot_text(now);
        };
        let Some(AclEntry {
            object,
            sddl: first,
        }) = entries.first()
        else {
            return "no matching file".into();
        };
        let path = &object.path;
        let many = if entries.len() > 1 {
            format!(" (first of {} objects)", entries.len())
        } else {
            String::new()
        };
        let Ok(sd) = SecurityDescriptor::parse(first) else {
            return format!("{path}: unreadable security descriptor");
        };
        match self {
            Op::Owner { .. } => format!(
                "owner {}{many}",
                sd.owner
                    .as_deref()
                    .map_or_else(|| "?".to_owned(), sddl::sid_label)
            ),
            Op::Grant { grants, .. } => {
                let held: Vec<String> = grants
                    .iter()
                    .map(|(sid, _)| format!("{} {}", sddl::sid_label(sid), held_rights(&sd, sid)))
                    .collect();
                format!("{}{many}", held.join(", "))
            }
            _ => acl_summary(entries),
        }
    }
}

/// The rights `sid` holds on an object, in the words the dry-run uses.
fn held_rights(sd: &SecurityDescriptor, sid: &str) -> &'static str {
    if sd.grants(sid, sddl::FILE_ALL) {
        "full"
    } else if sd.grants(sid, rights_mask(Rights::ReadWrite)) {
        "read/write"
    } else if sd.grants(sid, sddl::FILE_READ) {
        "read"
    } else {
        "none"
    }
}

/// The current state, for the dry-run.
pub fn snapshot_text(s: &Snapshot) -> String {
    match s {
        Snapshot::Registry { values } => values
            .iter()
            .map(|(n, v)| format!("{n}={}", value_text(v.as_ref())))
            .collect::<Vec<_>>()
            .join(", "),
        Snapshot::Service {
            start_type,
            running,
            delayed,
        } => {
            format!(
                "start={start_type}{}, {}",
                if *delayed { " (delayed)" } else { "" },
                if *running { "running" } else { "not running" }
            )
        }
        Snapshot::Account { account } => format!("obj={account}"),
        Snapshot::Certs { thumbprints } if thumbprints.is_empty() => "no certificate".into(),
        Snapshot::Certs { thumbprints } => format!(
            "{} certificate(s): {}",
            thumbprints.len(),
            thumbprints.join(", ")
        ),
        Snapshot::Acl { entries, .. } => acl_summary(entries),
        Snapshot::Members { members } if members.is_empty() => "no member".into(),
        Snapshot::Members { members } => format!("members: {}", members.join(", ")),
        Snapshot::Rights { rights } if rights.is_empty() => "no right".into(),
        Snapshot::Rights { rights } => format!("holds {}", rights.join(", ")),
        Snapshot::Firewall { enabled: Some(e) } => (if *e { "enabled" } else { "disabled" }).into(),
        Snapshot::Firewall { enabled: None } => "no such rule".into(),
        Snapshot::Nothing => "-".into(),
    }
}

fn acl_summary(entries: &[AclEntry]) -> String {
    let Some(AclEntry {
        object,
        sddl: first,
    }) = entries.first()
    else {
        return "no matching file".into();
    };
    let path = &object.path;
    let owner = SecurityDescriptor::parse(first)
        .ok()
        .and_then(|sd| sd.owner)
        .map_or_else(|| "?".into(), |o| sddl::sid_label(&o));
    let name = path.rsplit('\\').next().unwrap_or(path);
    if entries.len() == 1 {
        format!("{name}: owner {owner}")
    } else {
        format!("{} objects; {name}: owner {owner}", entries.len())
    }
}
