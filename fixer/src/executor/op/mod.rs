//! What each allowlisted step does on the host: probe → is_compliant → backup → apply →
//! verify (here), the backup's undo (`backup.rs`) and the dry-run's words (`text.rs`). The
//! mapping from the plan's [`AllowedStep`] is one exhaustive `match`: a new step kind does
//! not compile until it is handled here.

use crate::host::{CertStore, Host, HostError, HostResult, RegValue, StartType};
use crate::sddl::{self, SecurityDescriptor};
use analyzer::plan::{
    AclTarget, AllowedStep, CertificateExpect, Expect, RegistryData, RegistryExpect, Rights,
    ServiceAccount,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

mod backup;
mod text;

pub use text::{snapshot_text, value_text};

const SERVICE_WAIT: Duration = Duration::from_secs(60);
/// The RDP listener's key files in MachineKeys.
const RDP_KEY_PREFIX: &str = "f686aace6942fb7f7ceb231212eef4a4_";

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
    },
    Account {
        account: String,
    },
    Certs {
        thumbprints: Vec<String>,
    },
    Acl {
        entries: Vec<(String, String)>,
    },
    Nothing,
}

/// Everything needed to put a step back, written before the step changes anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Backup {
    /// Exact prior values (type and bytes, or absent) and the keys the step had to create.
    Registry {
        key: String,
        values: Vec<(String, Option<RegValue>)>,
        created_keys: Vec<String>,
    },
    StartType {
        service: String,
        before: StartType,
    },
    Account {
        service: String,
        before: String,
    },
    /// The certificates as they were (DER, also saved as `.cer`): a record, not restorable
    /// — Windows makes a new self-signed certificate when SessionEnv starts.
    Certs {
        certs: Vec<crate::host::CertInfo>,
    },
    /// Owner and DACL of each object, in SDDL, as `icacls /save` keeps them.
    Acl {
        entries: Vec<(String, String)>,
    },
    /// A restart: if it fails half-way, the service (and the dependents it stopped) must
    /// run again as they did.
    Restart {
        service: String,
        was_running: bool,
        dependents: Vec<String>,
    },
    /// Nothing to restore (a read).
    Nothing,
}

fn rights_mask(r: Rights) -> u32 {
    match r {
        Rights::Full => sddl::FILE_ALL,
        Rights::Read => sddl::FILE_READ,
        // RD, WD, AD, REA, WEA, RA, WA, RC: icacls' special set for MachineKeys.
        Rights::ReadWrite => 0x0002_019F,
    }
}

fn start_type(s: analyzer::plan::StartType) -> StartType {
    match s {
        analyzer::plan::StartType::Automatic => StartType::Auto,
        analyzer::plan::StartType::Manual => StartType::Demand,
        analyzer::plan::StartType::Disabled => StartType::Disabled,
    }
}

fn reg_value(d: &RegistryData) -> RegValue {
    match d {
        RegistryData::Dword(n) => RegValue::dword(*n),
        RegistryData::Binary(b) => RegValue::binary(b.as_bytes().to_vec()),
    }
}

fn account_text(a: ServiceAccount) -> String {
    a.as_sc().to_owned()
}

fn registry_expect(name: &str, e: &RegistryExpect) -> Option<(String, Option<RegValue>)> {
    match e {
        RegistryExpect::Any => None,
        RegistryExpect::Absent => Some((name.to_owned(), None)),
        RegistryExpect::Equals(d) => Some((name.to_owned(), Some(reg_value(d)))),
    }
}

fn subkey(key: &str) -> String {
    key.trim_start_matches(r"HKLM\").to_owned()
}

impl Op {
    /// The host operation for an allowlisted step.
    pub fn from_step(step: &AllowedStep) -> Op {
        match step {
            AllowedStep::SaveAcl { target } => Op::SaveAcl { target: *target },
            AllowedStep::TakeOwnership { target, owner } => Op::Owner {
                target: *target,
                sid: owner.as_sid().to_owned(),
            },
            AllowedStep::GrantAccess { target, grants } => Op::Grant {
                target: *target,
                grants: grants
                    .iter()
                    .map(|g| (g.sid.as_sid().to_owned(), rights_mask(g.rights)))
                    .collect(),
            },
            AllowedStep::ExportDeleteCertificates { store: _, expect } => Op::DeleteCerts {
                expect: match expect {
                    CertificateExpect::Any => None,
                    CertificateExpect::Thumbprint(t) => {
                        Some(t.0.iter().map(|b| format!("{b:02X}")).collect())
                    }
                },
            },
            AllowedStep::RestartService { service } => Op::Restart {
                service: service.name().to_owned(),
            },
            AllowedStep::SetServiceStart {
                service,
                desired,
                expect,
            } => Op::StartType {
                service: service.name().to_owned(),
                desired: start_type(*desired),
                expect: match expect {
                    Expect::Any => None,
                    Expect::Equals(s) => Some(start_type(*s)),
                },
            },
            AllowedStep::SetServiceAccount {
                service,
                desired,
                expect,
            } => Op::Account {
                service: service.name().to_owned(),
                desired: account_text(*desired),
                expect: match expect {
                    Expect::Any => None,
                    Expect::Equals(a) => Some(account_text(*a)),
                },
            },
            AllowedStep::QueryRegistryValue { value } => Op::QueryRegistry {
                key: value.subkey().to_owned(),
                name: value.name().to_owned(),
            },
            AllowedStep::SetRegistryValue {
                value,
                desired,
                expect,
            } => Op::Registry {
                key: value.subkey().to_owned(),
                values: vec![(value.name().to_owned(), Some(reg_value(desired)))],
                expect: registry_expect(value.name(), expect),
            },
            AllowedStep::DeleteRegistryValue { value, expect } => Op::Registry {
                key: value.subkey().to_owned(),
                values: vec![(value.name().to_owned(), None)],
                expect: registry_expect(value.name(), expect),
            },
            AllowedStep::EnableTlsServerProtocol { protocol } => Op::Registry {
                key: subkey(protocol.server_key()),
                values: vec![
                    ("Enabled".to_owned(), Some(RegValue::dword(1))),
                    ("DisabledByDefault".to_owned(), Some(RegValue::dword(0))),
                ],
                expect: None,
            },
            AllowedStep::Manual { action } => Op::Manual {
                text: action.as_str().replace('_', " "),
            },
        }
    }

    /// Reads the current state. A restart needs to know if an earlier step changed
    /// something; it does not read that here (see `is_compliant`).
    pub fn probe(&self, host: &dyn Host) -> HostResult<Snapshot> {
        Ok(match self {
            Op::SaveAcl { target } | Op::Owner { target, .. } | Op::Grant { target, .. } => {
                Snapshot::Acl {
                    entries: acl_entries(host, *target, matches!(self, Op::SaveAcl { .. }))?,
                }
            }
            Op::DeleteCerts { .. } => Snapshot::Certs {
                thumbprints: host
                    .cert_list(CertStore::RemoteDesktop)?
                    .into_iter()
                    .map(|c| c.thumbprint)
                    .collect(),
            },
            Op::Restart { service } | Op::StartType { service, .. } => {
                let s = host.service_status(service)?;
                Snapshot::Service {
                    start_type: s.start_type,
                    running: s.state == crate::host::ServiceState::Running,
                }
            }
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
            (Op::Owner { sid, .. }, Snapshot::Acl { entries }) => entries
                .iter()
                .all(|(_, s)| SecurityDescriptor::parse(s).is_ok_and(|sd| sd.owner_is(sid))),
            (Op::Grant { grants, .. }, Snapshot::Acl { entries }) => {
                entries.iter().all(|(_, s)| {
                    SecurityDescriptor::parse(s)
                        .is_ok_and(|sd| grants.iter().all(|(sid, m)| sd.grants(sid, *m)))
                })
            }
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

    /// The plan's precondition (`expect`), checked on a step about to change something:
    /// `Err` says what was found instead.
    pub fn check_expect(&self, now: &Snapshot) -> Result<(), String> {
        match (self, now) {
            (
                Op::StartType {
                    expect: Some(e), ..
                },
                Snapshot::Service { start_type, .. },
            ) if start_type != e => Err(format!("expected start type {e}, found {start_type}")),
            (
                Op::Account {
                    expect: Some(e), ..
                },
                Snapshot::Account { account },
            ) if !account.eq_ignore_ascii_case(e) => {
                Err(format!("expected account {e}, found {account}"))
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
            (Op::StartType { service, .. }, Snapshot::Service { start_type, .. }) => {
                Backup::StartType {
                    service: service.clone(),
                    before: *start_type,
                }
            }
            (Op::Account { service, .. }, Snapshot::Account { account }) => Backup::Account {
                service: service.clone(),
                before: account.clone(),
            },
            (Op::Restart { service }, Snapshot::Service { running, .. }) => Backup::Restart {
                service: service.clone(),
                was_running: *running,
                dependents: host.service_running_dependents(service)?,
            },
            (Op::DeleteCerts { .. }, _) => Backup::Certs {
                certs: host.cert_list(CertStore::RemoteDesktop)?,
            },
            (
                Op::Owner { .. } | Op::Grant { .. } | Op::SaveAcl { .. },
                Snapshot::Acl { entries },
            ) => Backup::Acl {
                entries: entries.clone(),
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
            (Op::DeleteCerts { .. }, Snapshot::Certs { thumbprints }) => thumbprints
                .iter()
                .try_for_each(|t| host.cert_delete(CertStore::RemoteDesktop, t)),
            (Op::Owner { sid, .. }, Snapshot::Acl { entries }) => edit_acls(host, entries, |sd| {
                sd.owner = Some(sddl::sid_text(sid));
            }),
            (Op::Grant { grants, .. }, Snapshot::Acl { entries }) => {
                edit_acls(host, entries, |sd| {
                    for (sid, mask) in grants {
                        sd.grant(sid, *mask, "");
                    }
                })
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
}

/// The objects a target names, with their SDDL. `with_tree`: everything beneath too.
fn acl_entries(
    host: &dyn Host,
    target: AclTarget,
    with_tree: bool,
) -> HostResult<Vec<(String, String)>> {
    // Joined with `\` by hand: the same on Windows and in the simulator on Linux.
    let folder = PathBuf::from(format!(
        "{}\\{}",
        host.program_data().display(),
        AclTarget::MachineKeysFolder.relative_to_program_data()
    ));
    let paths: Vec<PathBuf> = match target {
        AclTarget::MachineKeysFolder if with_tree => std::iter::once(folder.clone())
            .chain(host.list_tree(&folder)?)
            .collect(),
        AclTarget::MachineKeysFolder => vec![folder],
        AclTarget::RdpKeyFiles => host
            .list_tree(&folder)?
            .into_iter()
            .filter(|p| {
                let name = p.to_string_lossy();
                let name = name
                    .rsplit(['\\', '/'])
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                name.starts_with(RDP_KEY_PREFIX)
            })
            .collect(),
    };
    paths
        .into_iter()
        .map(|p| Ok((p.display().to_string(), host.sd_get(&p)?)))
        .collect()
}

fn edit_acls(
    host: &dyn Host,
    entries: &[(String, String)],
    f: impl Fn(&mut SecurityDescriptor),
) -> HostResult<()> {
    for (path, text) in entries {
        let mut sd = SecurityDescriptor::parse(text)
            .map_err(|e| HostError::failed(format!("security of {path}"), e.to_string()))?;
        f(&mut sd);
        let new = sd.to_string();
        if new != *text {
            host.sd_set(std::path::Path::new(path), &new)?;
        }
    }
    Ok(())
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
