//! What each allowlisted step does on the host: probe → is_compliant → backup → apply →
//! verify (here), what a backup holds and its undo (`backup.rs`), the MachineKeys folder's
//! objects (`machine_keys.rs`) and the dry-run's words (`text.rs`). The mapping from the
//! plan's [`AllowedStep`](analyzer::plan::AllowedStep) is one exhaustive `match`
//! (`from_step.rs`): a new step kind does not compile until it is handled there.

use crate::host::{
    CertStore, FsObject, FsSkipped, Host, HostError, HostResult, RegValue, SdWrite, StartType,
    is_passwordless_account,
};
use crate::sddl::{self, Acl, SecurityDescriptor};
use analyzer::plan::{AclTarget, Rights};
use serde::{Deserialize, Serialize};
use std::time::Duration;

mod allowed;
mod backup;
mod from_step;
mod machine_keys;
mod text;

pub use backup::{AclParts, Backup};
pub use machine_keys::RDP_KEY_PREFIX;
use machine_keys::acl_objects;
pub(crate) use machine_keys::{is_rdp_key_name, machine_keys};
pub use text::{snapshot_text, value_text};

const SERVICE_WAIT: Duration = Duration::from_secs(60);

/// One executable step, as the host sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    SaveAcl {
        target: AclTarget,
    },
    Owner {
        target: AclTarget,
        sid: String,
    },
    Grant {
        target: AclTarget,
        grants: Vec<(String, u32)>,
    },
    DeleteCerts {
        expect: Option<String>,
    },
    Restart {
        service: String,
    },
    StartType {
        service: String,
        desired: StartType,
        expect: Option<StartType>,
    },
    Account {
        service: String,
        desired: String,
        expect: Option<String>,
    },
    QueryRegistry {
        key: String,
        name: String,
    },
    /// Values under one key, each to a desired state (`None`: absent).
    Registry {
        key: String,
        values: Vec<(String, Option<RegValue>)>,
        expect: Option<(String, Option<RegValue>)>,
    },
    /// Start a service that is not running (never restart it).
    Start {
        service: String,
    },
    /// Make `member` a member of the local group `group` (both SIDs).
    Member {
        group: String,
        member: String,
    },
    /// Make `sid` hold (`grant`) or not hold `right`.
    Right {
        sid: String,
        right: String,
        grant: bool,
    },
    /// Enable a firewall rule, by rule id.
    Firewall {
        rule: String,
    },
    Manual {
        text: String,
    },
}

/// What a probe saw: shown as "current", compared for compliance and drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Snapshot {
    Registry {
        values: Vec<(String, Option<RegValue>)>,
    },
    Service {
        start_type: StartType,
        running: bool,
        #[serde(default)]
        delayed: bool,
    },
    Account {
        account: String,
    },
    Certs {
        thumbprints: Vec<String>,
    },
    Acl {
        entries: Vec<AclEntry>,
        /// Objects of the target the step leaves alone, and why (a junction, a hard link).
        #[serde(default)]
        skipped: Vec<FsSkipped>,
    },
    /// A local group's members (SIDs).
    Members {
        members: Vec<String>,
    },
    /// The rights one SID holds.
    Rights {
        rights: Vec<String>,
    },
    /// A firewall rule: enabled, or `None` when there is no such rule.
    Firewall {
        enabled: Option<bool>,
    },
    Nothing,
}

/// One file or folder and its descriptor (owner, group, DACL) as read through its handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    pub object: FsObject,
    pub sddl: String,
}

fn rights_mask(r: Rights) -> u32 {
    match r {
        Rights::Full => sddl::FILE_ALL,
        Rights::Read => sddl::FILE_READ,
        // RD, WD, AD, REA, WEA, RA, WA, RC: icacls' special set for MachineKeys.
        Rights::ReadWrite => 0x0002_019F,
    }
}

impl Op {
    /// Reads the current state. A restart needs to know if an earlier step changed
    /// something; it does not read that here (see `is_compliant`).
    pub fn probe(&self, host: &dyn Host) -> HostResult<Snapshot> {
        Ok(match self {
            Op::SaveAcl { target } | Op::Owner { target, .. } | Op::Grant { target, .. } => {
                let with_children = matches!(self, Op::SaveAcl { .. });
                let (objects, skipped) = acl_objects(host, *target, with_children)?;
                Snapshot::Acl {
                    entries: objects
                        .into_iter()
                        .map(|object| {
                            Ok(AclEntry {
                                sddl: host.sd_read(&object)?,
                                object,
                            })
                        })
                        .collect::<HostResult<_>>()?,
                    skipped,
                }
            }
            Op::DeleteCerts { .. } => Snapshot::Certs {
                thumbprints: host
                    .cert_list(CertStore::RemoteDesktop)?
                    .into_iter()
                    .map(|c| c.thumbprint)
                    .collect(),
            },
            Op::Restart { service } | Op::StartType { service, .. } | Op::Start { service } => {
                service_snapshot(host, service)?
            }
            Op::Member { group, .. } => Snapshot::Members {
                members: host.group_members(group)?,
            },
            Op::Right { sid, .. } => Snapshot::Rights {
                rights: host.account_rights(sid)?,
            },
            Op::Firewall { rule } => Snapshot::Firewall {
                enabled: host.firewall_rule_enabled(rule)?,
            },
            Op::Account { service, .. } => Snapshot::Account {
                account: host.service_account(service)?,
            },
            Op::QueryRegistry { key, name } => Snapshot::Registry {
                values: vec![(name.clone(), host.reg_get(key, name)?)],
            },
            Op::Registry { key, values, .. } => Snapshot::Registry {
                values: values
                    .iter()
                    .map(|(n, _)| Ok((n.clone(), host.reg_get(key, n)?)))
                    .collect::<HostResult<_>>()?,
            },
            Op::Manual { .. } => Snapshot::Nothing,
        })
    }

    /// Already as desired? `changed_before`: an earlier step of this run changed something
    /// (a restart is only worth doing then, or when the service is not running).
    pub fn is_compliant(&self, now: &Snapshot, changed_before: bool) -> bool {
        match (self, now) {
            (Op::SaveAcl { .. } | Op::QueryRegistry { .. } | Op::Manual { .. }, _) => true,
            (Op::Owner { sid, .. }, Snapshot::Acl { entries, .. }) => entries
                .iter()
                .all(|e| SecurityDescriptor::parse(&e.sddl).is_ok_and(|sd| sd.owner_is(sid))),
            (Op::Grant { grants, .. }, Snapshot::Acl { entries, .. }) => entries.iter().all(|e| {
                SecurityDescriptor::parse(&e.sddl).is_ok_and(|sd| {
                    sd.dacl.is_some() && grants.iter().all(|(sid, m)| sd.grants(sid, *m))
                })
            }),
            (Op::DeleteCerts { .. }, Snapshot::Certs { thumbprints }) => thumbprints.is_empty(),
            (Op::Restart { .. }, Snapshot::Service { running, .. }) => *running && !changed_before,
            (Op::StartType { desired, .. }, Snapshot::Service { start_type, .. }) => {
                start_type == desired
            }
            (Op::Account { desired, .. }, Snapshot::Account { account }) => {
                account.eq_ignore_ascii_case(desired)
            }
            (Op::Registry { values: want, .. }, Snapshot::Registry { values: have }) => {
                want == have
            }
            (Op::Start { .. }, Snapshot::Service { running, .. }) => *running,
            (Op::Member { member, .. }, Snapshot::Members { members }) => has_sid(members, member),
            (Op::Right { right, grant, .. }, Snapshot::Rights { rights }) => {
                has_right(rights, right) == *grant
            }
            (Op::Firewall { .. }, Snapshot::Firewall { enabled }) => *enabled == Some(true),
            _ => false,
        }
    }

    /// Read-only steps never change the machine and never need undoing.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Op::SaveAcl { .. } | Op::QueryRegistry { .. } | Op::Manual { .. }
        )
    }

    /// What must hold before a step changes anything: the plan's precondition (`expect`),
    /// and what rdpfix needs to undo the change exactly. `Err` says what was found instead.
    pub fn check_expect(&self, now: &Snapshot) -> Result<(), String> {
        match (self, now) {
            (
                Op::StartType {
                    expect: Some(e), ..
                },
                Snapshot::Service { start_type, .. },
            ) if start_type != e => Err(format!("expected start type {e}, found {start_type}")),
            (Op::Account { expect, .. }, Snapshot::Account { account }) => {
                if let Some(e) = expect
                    && !account.eq_ignore_ascii_case(e)
                {
                    return Err(format!("expected account {e}, found {account}"));
                }
                if !is_passwordless_account(account) {
                    return Err(format!(
                        "the service runs as {account}, an account with a password rdpfix \
                         does not know, so the change could not be undone; change the account \
                         by hand (services.msc) if it must change"
                    ));
                }
                Ok(())
            }
            (Op::Grant { .. }, Snapshot::Acl { entries, .. }) => {
                match entries
                    .iter()
                    .find(|e| SecurityDescriptor::parse(&e.sddl).is_ok_and(|sd| sd.dacl.is_none()))
                {
                    Some(e) => Err(format!(
                        "{} has no DACL (a NULL DACL: everyone has full access); rdpfix does \
                         not edit one: set its permissions by hand",
                        e.object.path
                    )),
                    None => Ok(()),
                }
            }
            (
                Op::Registry {
                    expect: Some((name, e)),
                    ..
                },
                Snapshot::Registry { values },
            ) => {
                let found = values
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, v)| v.clone());
                if found == *e {
                    Ok(())
                } else {
                    Err(format!(
                        "expected {name} = {}, found {}",
                        value_text(e.as_ref()),
                        value_text(found.as_ref())
                    ))
                }
            }
            (
                Op::Start { service },
                Snapshot::Service {
                    start_type: StartType::Disabled,
                    running: false,
                    ..
                },
            ) => Err(format!(
                "{service} is disabled, so Windows will not start it: the plan must set its \
                 start type first (set_service_start)"
            )),
            (Op::Firewall { rule }, Snapshot::Firewall { enabled: None }) => Err(format!(
                "this machine has no firewall rule {rule} (a Windows without the Remote \
                 Desktop feature, or the rule was deleted): add the rule by hand"
            )),
            (Op::DeleteCerts { expect: Some(t) }, Snapshot::Certs { thumbprints }) => {
                if thumbprints.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                    Ok(())
                } else {
                    Err(format!(
                        "expected certificate {t} in the store, found {}",
                        thumbprints.join(", ")
                    ))
                }
            }
            _ => Ok(()),
        }
    }

    /// What to save before changing anything.
    pub fn backup(&self, host: &dyn Host, now: &Snapshot) -> HostResult<Backup> {
        Ok(match (self, now) {
            (Op::Registry { key, .. }, Snapshot::Registry { values }) => {
                let mut created = Vec::new();
                let mut path = String::new();
                for part in key.split('\\') {
                    if !path.is_empty() {
                        path.push('\\');
                    }
                    path.push_str(part);
                    if !host.reg_key_exists(&path)? {
                        created.push(path.clone());
                    }
                }
                Backup::Registry {
                    key: key.clone(),
                    values: values.clone(),
                    created_keys: created,
                }
            }
            (
                Op::StartType { service, .. },
                Snapshot::Service {
                    start_type,
                    delayed,
                    ..
                },
            ) => Backup::StartType {
                service: service.clone(),
                before: *start_type,
                delayed: *delayed,
            },
            (Op::Account { service, .. }, Snapshot::Account { account }) => Backup::Account {
                service: service.clone(),
                before: account.clone(),
            },
            (Op::Restart { service }, Snapshot::Service { running, .. }) => Backup::Restart {
                service: service.clone(),
                was_running: *running,
                dependents: host.service_running_dependents(service)?,
            },
            (Op::Start { service }, Snapshot::Service { running, .. }) => Backup::Started {
                service: service.clone(),
                was_running: *running,
            },
            (Op::Member { group, member }, _) => Backup::Member {
                group: group.clone(),
                member: member.clone(),
            },
            (Op::Right { sid, right, .. }, Snapshot::Rights { rights }) => Backup::Right {
                sid: sid.clone(),
                right: right.clone(),
                held: has_right(rights, right),
            },
            (Op::Firewall { rule }, Snapshot::Firewall { enabled }) => Backup::Firewall {
                rule: rule.clone(),
                enabled: enabled.unwrap_or(false),
            },
            (Op::DeleteCerts { .. }, _) => Backup::Certs {
                certs: host.cert_list(CertStore::RemoteDesktop)?,
            },
            (
                Op::Owner { .. } | Op::Grant { .. } | Op::SaveAcl { .. },
                Snapshot::Acl { entries, .. },
            ) => Backup::Acl {
                entries: entries.clone(),
                restore: AclParts {
                    owner: matches!(self, Op::Owner { .. }),
                    dacl: matches!(self, Op::Grant { .. }),
                },
            },
            _ => Backup::Nothing,
        })
    }

    /// Makes the change.
    pub fn apply(&self, host: &dyn Host, now: &Snapshot) -> HostResult<()> {
        match (self, now) {
            (Op::Registry { key, values, .. }, _) => {
                for (name, v) in values {
                    match v {
                        Some(v) => host.reg_set(key, name, v)?,
                        None => host.reg_delete_value(key, name)?,
                    }
                }
                Ok(())
            }
            (
                Op::StartType {
                    service, desired, ..
                },
                _,
            ) => host.service_set_start_type(service, *desired),
            (
                Op::Account {
                    service, desired, ..
                },
                _,
            ) => host.service_set_account(service, desired),
            (Op::Restart { service }, _) => restart(host, service),
            (Op::Start { service }, _) => host.service_start(service, SERVICE_WAIT),
            (Op::Member { group, member }, _) => host.group_add_member(group, member),
            (
                Op::Right {
                    sid,
                    right,
                    grant: true,
                },
                _,
            ) => host.account_rights_add(sid, right),
            (
                Op::Right {
                    sid,
                    right,
                    grant: false,
                },
                _,
            ) => host.account_rights_remove(sid, right),
            (Op::Firewall { rule }, _) => host.firewall_rule_set_enabled(rule, true),
            (Op::DeleteCerts { .. }, Snapshot::Certs { thumbprints }) => thumbprints
                .iter()
                .try_for_each(|t| host.cert_delete(CertStore::RemoteDesktop, t)),
            (Op::Owner { sid, .. }, Snapshot::Acl { entries, .. }) => {
                for e in entries {
                    let sd = parse_sd(e)?;
                    if !sd.owner_is(sid) {
                        let write = SdWrite {
                            owner: Some(sid.clone()),
                            dacl: None,
                        };
                        host.sd_write(&e.object, &e.sddl, &write)?;
                    }
                }
                Ok(())
            }
            (Op::Grant { grants, .. }, Snapshot::Acl { entries, .. }) => {
                for e in entries {
                    let mut sd = parse_sd(e)?;
                    let Some(before) = sd.dacl.clone() else {
                        return Err(HostError::refused(&e.object.path, "it has no DACL"));
                    };
                    for (sid, mask) in grants {
                        sd.grant(sid, *mask, "");
                    }
                    if let Some(after) = sd.dacl.filter(|a| *a != before) {
                        let write = SdWrite {
                            owner: None,
                            dacl: Some(dacl_text(after)),
                        };
                        host.sd_write(&e.object, &e.sddl, &write)?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Checks the change took: probes again.
    pub fn verify(&self, host: &dyn Host) -> HostResult<bool> {
        let now = self.probe(host)?;
        Ok(match (self, &now) {
            (Op::Restart { .. }, Snapshot::Service { running, .. }) => *running,
            _ => self.is_compliant(&now, false),
        })
    }

    /// The objects a step acts on, for the dry-run: every one, by path.
    pub fn objects(now: &Snapshot) -> Vec<String> {
        match now {
            Snapshot::Acl { entries, .. } => {
                entries.iter().map(|e| e.object.path.clone()).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// SIDs compare ignoring the case of the `S` (Windows prints `S-1-…`; nothing else has
/// letters).
pub(crate) fn has_sid(list: &[String], sid: &str) -> bool {
    list.iter().any(|s| s.eq_ignore_ascii_case(sid))
}

/// Right names are constants; LSA returns them as written, compared ignoring case.
pub(crate) fn has_right(list: &[String], right: &str) -> bool {
    list.iter().any(|r| r.eq_ignore_ascii_case(right))
}

pub(crate) fn service_snapshot(host: &dyn Host, service: &str) -> HostResult<Snapshot> {
    let s = host.service_status(service)?;
    Ok(Snapshot::Service {
        start_type: s.start_type,
        running: s.state == crate::host::ServiceState::Running,
        delayed: s.delayed_auto_start,
    })
}

fn parse_sd(e: &AclEntry) -> HostResult<SecurityDescriptor> {
    SecurityDescriptor::parse(&e.sddl)
        .map_err(|err| HostError::failed(format!("security of {}", e.object.path), err.to_string()))
}

/// A DACL alone, as SDDL (`D:PAI(…)`), for [`SdWrite::dacl`].
pub(crate) fn dacl_text(acl: Acl) -> String {
    SecurityDescriptor {
        owner: None,
        group: None,
        dacl: Some(acl),
        sacl: None,
    }
    .to_string()
}

/// Stop running dependents, stop, start, start the dependents again (Restart-Service -Force).
fn restart(host: &dyn Host, service: &str) -> HostResult<()> {
    let dependents = host.service_running_dependents(service)?;
    for d in &dependents {
        host.service_stop(d, SERVICE_WAIT)?;
    }
    if host.service_status(service)?.state != crate::host::ServiceState::Stopped {
        host.service_stop(service, SERVICE_WAIT)?;
    }
    host.service_start(service, SERVICE_WAIT)?;
    for d in dependents.iter().rev() {
        host.service_start(d, SERVICE_WAIT)?;
    }
    Ok(())
}
