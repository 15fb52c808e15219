//! What a step's backup holds ([`Backup`]), putting the step back from it, and checking it
//! is back.

use super::*;

/// Which parts of a descriptor a step changed, so its undo writes back those and no others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclParts {
    pub owner: bool,
    pub dacl: bool,
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
        #[serde(default)]
        delayed: bool,
    },
    /// Only ever a built-in account without a password, so the undo restores it exactly.
    Account { service: String, before: String },
    /// The certificates as they were (DER, also saved as `.cer`) with their private keys'
    /// links: the undo adds them back. One without a key link cannot be made usable again
    /// (Windows makes a new self-signed certificate when SessionEnv starts) and is said so.
    Certs { certs: Vec<crate::host::CertInfo> },
    /// Each object with its descriptor as it was (also saved `icacls /save`-style), and
    /// the parts the step changes: the undo writes back only those.
    Acl {
        entries: Vec<AclEntry>,
        #[serde(default)]
        restore: AclParts,
    },
    /// A restart: if it fails half-way, the service (and the dependents it stopped) must
    /// run again as they did.
    Restart {
        service: String,
        was_running: bool,
        dependents: Vec<String>,
    },
    /// A service a step started: the undo stops it again if it was not running before.
    Started { service: String, was_running: bool },
    /// A member a step added: the undo removes it (it was not a member before).
    Member { group: String, member: String },
    /// A right a step granted or revoked, and whether the SID held it before: the undo
    /// puts that back.
    Right {
        sid: String,
        right: String,
        held: bool,
    },
    /// A firewall rule a step enabled, and whether it was enabled before: the undo
    /// disables exactly the rule it enabled.
    Firewall { rule: String, enabled: bool },
    /// Nothing to restore (a read).
    Nothing,
}

impl Backup {
    /// Puts the step back, writing only what the step changed. Idempotent: undoing twice
    /// is undoing once. Every object is tried even when one fails; the error names each
    /// that could not be restored.
    pub fn undo(&self, host: &dyn Host) -> HostResult<()> {
        match self {
            Backup::Registry {
                key,
                values,
                created_keys,
            } => {
                for (name, v) in values {
                    match v {
                        Some(v) => host.reg_set(key, name, v)?,
                        None => host.reg_delete_value(key, name)?,
                    }
                }
                for k in created_keys.iter().rev() {
                    // A key someone has since filled stays: deleting it would lose their data.
                    match host.reg_delete_empty_key(k) {
                        Ok(()) | Err(HostError::Failed { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Backup::StartType {
                service,
                before,
                delayed,
            } => {
                let now = host.service_status(service)?;
                if now.start_type != *before {
                    host.service_set_start_type(service, *before)?;
                }
                if now.delayed_auto_start != *delayed {
                    host.service_set_delayed_auto_start(service, *delayed)?;
                }
                Ok(())
            }
            Backup::Account { service, before } => {
                if !is_passwordless_account(before) {
                    return Err(HostError::refused(
                        format!("account of service {service}"),
                        format!("{before} has a password rdpfix does not know"),
                    ));
                }
                host.service_set_account(service, before)
            }
            Backup::Acl { entries, restore } => {
                if !restore.owner && !restore.dacl {
                    return Ok(());
                }
                every(
                    "restore permissions",
                    entries.iter().rev().map(|e| restore_acl(host, e, *restore)),
                )
            }
            Backup::Restart {
                service,
                was_running,
                dependents,
            } => {
                let running = |s: &str| {
                    host.service_status(s)
                        .map(|st| st.state == crate::host::ServiceState::Running)
                };
                if *was_running && !running(service)? {
                    host.service_start(service, SERVICE_WAIT)?;
                }
                for d in dependents {
                    if !running(d)? {
                        host.service_start(d, SERVICE_WAIT)?;
                    }
                }
                Ok(())
            }
            Backup::Certs { certs } => {
                let present = host.cert_list(CertStore::RemoteDesktop)?;
                let missing = certs.iter().filter(|c| {
                    !present
                        .iter()
                        .any(|p| p.thumbprint.eq_ignore_ascii_case(&c.thumbprint))
                });
                every(
                    "restore certificates",
                    missing.map(|c| host.cert_add(CertStore::RemoteDesktop, c)),
                )
            }
            Backup::Started {
                service,
                was_running,
            } => {
                let state = host.service_status(service)?.state;
                if !*was_running && state != crate::host::ServiceState::Stopped {
                    // Services started since depend on it (Dhcp on nsi, MpsSvc on BFE):
                    // stopping it would stop them, or fail. It stays running, said so.
                    let dependents = host.service_running_dependents(service)?;
                    if !dependents.is_empty() {
                        return Err(HostError::refused(
                            format!("stop service {service}"),
                            format!(
                                "left running: {} depend on it and run",
                                dependents.join(", ")
                            ),
                        ));
                    }
                    host.service_stop(service, SERVICE_WAIT)?;
                }
                Ok(())
            }
            Backup::Member { group, member } => {
                if has_sid(&host.group_members(group)?, member) {
                    host.group_remove_member(group, member)?;
                }
                Ok(())
            }
            Backup::Right { sid, right, held } => {
                let now = has_right(&host.account_rights(sid)?, right);
                match (held, now) {
                    (true, false) => host.account_rights_add(sid, right),
                    (false, true) => host.account_rights_remove(sid, right),
                    _ => Ok(()),
                }
            }
            Backup::Firewall { rule, enabled } => {
                if host.firewall_rule_enabled(rule)? != Some(*enabled) {
                    host.firewall_rule_set_enabled(rule, *enabled)?;
                }
                Ok(())
            }
            Backup::Nothing => Ok(()),
        }
    }

    /// Reads back what [`undo`](Self::undo) should have restored: `Err` says what differs.
    /// Only after this passes may a report say the step is as it was.
    pub fn check_restored(&self, host: &dyn Host) -> HostResult<Result<(), String>> {
        Ok(match self {
            Backup::Registry {
                key,
                values,
                created_keys,
            } => {
                let mut differs = Vec::new();
                for (name, want) in values {
                    let have = host.reg_get(key, name)?;
                    if have != *want {
                        differs.push(format!(
                            "{name} is {}, was {}",
                            value_text(have.as_ref()),
                            value_text(want.as_ref())
                        ));
                    }
                }
                for k in created_keys {
                    if host.reg_key_exists(k)? {
                        differs.push(format!(
                            "key {k}, which the step created, is still there (not empty)"
                        ));
                    }
                }
                joined(differs)
            }
            Backup::StartType {
                service,
                before,
                delayed,
            } => {
                let now = host.service_status(service)?;
                if now.start_type == *before && now.delayed_auto_start == *delayed {
                    Ok(())
                } else {
                    Err(format!(
                        "{service} starts {}{}, was {before}{}",
                        now.start_type,
                        delayed_text(now.delayed_auto_start),
                        delayed_text(*delayed)
                    ))
                }
            }
            Backup::Account { service, before } => {
                let now = host.service_account(service)?;
                if now.eq_ignore_ascii_case(before) {
                    Ok(())
                } else {
                    Err(format!("{service} runs as {now}, was {before}"))
                }
            }
            Backup::Acl { entries, restore } => {
                let mut differs = Vec::new();
                for e in entries {
                    let now = match host.sd_read(&e.object) {
                        Ok(now) => now,
                        Err(err) => {
                            differs.push(err.to_string());
                            continue;
                        }
                    };
                    if !same_parts(&now, &e.sddl, *restore) {
                        differs.push(format!("{}: {now}, was {}", e.object.path, e.sddl));
                    }
                }
                joined(differs)
            }
            Backup::Restart {
                service,
                was_running,
                dependents,
            } => {
                let mut differs = Vec::new();
                let wanted = was_running.then_some(service).into_iter().chain(dependents);
                for s in wanted {
                    if host.service_status(s)?.state != crate::host::ServiceState::Running {
                        differs.push(format!("{s} is not running, it was"));
                    }
                }
                joined(differs)
            }
            Backup::Certs { certs } => {
                let now = host.cert_list(CertStore::RemoteDesktop)?;
                let mut differs = Vec::new();
                for c in certs {
                    match now
                        .iter()
                        .find(|n| n.thumbprint.eq_ignore_ascii_case(&c.thumbprint))
                    {
                        None => differs.push(format!("certificate {} is missing", c.thumbprint)),
                        Some(n) if n.key != c.key => differs.push(format!(
                            "certificate {} is back without its private key link",
                            c.thumbprint
                        )),
                        Some(_) => {}
                    }
                }
                for n in &now {
                    if !certs
                        .iter()
                        .any(|c| c.thumbprint.eq_ignore_ascii_case(&n.thumbprint))
                    {
                        differs.push(format!(
                            "the store also holds {}, made since (Windows makes one when \
                             SessionEnv starts)",
                            n.thumbprint
                        ));
                    }
                }
                joined(differs)
            }
            Backup::Started {
                service,
                was_running,
            } => {
                let running =
                    host.service_status(service)?.state == crate::host::ServiceState::Running;
                if running == *was_running {
                    Ok(())
                } else {
                    Err(format!(
                        "{service} is {}, it was {}",
                        running_text(running),
                        running_text(*was_running)
                    ))
                }
            }
            Backup::Member { group, member } => {
                if has_sid(&host.group_members(group)?, member) {
                    Err(format!("{member} is still a member of {group}"))
                } else {
                    Ok(())
                }
            }
            Backup::Right { sid, right, held } => {
                let now = has_right(&host.account_rights(sid)?, right);
                if now == *held {
                    Ok(())
                } else {
                    Err(format!(
                        "{sid} {} {right}, it {}",
                        if now { "holds" } else { "lacks" },
                        if *held { "held it" } else { "did not" }
                    ))
                }
            }
            Backup::Firewall { rule, enabled } => match host.firewall_rule_enabled(rule)? {
                Some(now) if now == *enabled => Ok(()),
                Some(now) => Err(format!(
                    "firewall rule {rule} is {}, was {}",
                    enabled_text(now),
                    enabled_text(*enabled)
                )),
                None => Err(format!("firewall rule {rule} is gone")),
            },
            Backup::Nothing => Ok(()),
        })
    }

    /// The state this backup's step controls, read now: compared with what the step left
    /// to tell whether someone changed it since.
    pub fn probe(&self, host: &dyn Host) -> HostResult<Snapshot> {
        Ok(match self {
            Backup::Registry { key, values, .. } => Snapshot::Registry {
                values: values
                    .iter()
                    .map(|(n, _)| Ok((n.clone(), host.reg_get(key, n)?)))
                    .collect::<HostResult<_>>()?,
            },
            Backup::StartType { service, .. } => service_snapshot(host, service)?,
            Backup::Account { service, .. } => Snapshot::Account {
                account: host.service_account(service)?,
            },
            Backup::Acl { entries, .. } => Snapshot::Acl {
                entries: entries
                    .iter()
                    .map(|e| {
                        Ok(AclEntry {
                            sddl: host.sd_read(&e.object)?,
                            object: e.object.clone(),
                        })
                    })
                    .collect::<HostResult<_>>()?,
                skipped: Vec::new(),
            },
            Backup::Member { group, .. } => Snapshot::Members {
                members: host.group_members(group)?,
            },
            Backup::Right { sid, .. } => Snapshot::Rights {
                rights: host.account_rights(sid)?,
            },
            Backup::Firewall { rule, .. } => Snapshot::Firewall {
                enabled: host.firewall_rule_enabled(rule)?,
            },
            Backup::Restart { .. }
            | Backup::Started { .. }
            | Backup::Certs { .. }
            | Backup::Nothing => Snapshot::Nothing,
        })
    }

    /// Whether `now` still matches what the step left (`after`), in the fields the step
    /// owns: a service's running state is not a setting a start-type step owned, and the
    /// objects a step left alone are not compared.
    pub fn unchanged_since(&self, after: &Snapshot, now: &Snapshot) -> bool {
        match (self, after, now) {
            // Others may join or leave the group, or hold other rights, meanwhile: only the
            // member and the right the step owns count.
            (
                Backup::Member { member, .. },
                Snapshot::Members { members: a },
                Snapshot::Members { members: b },
            ) => return has_sid(a, member) == has_sid(b, member),
            (
                Backup::Right { right, .. },
                Snapshot::Rights { rights: a },
                Snapshot::Rights { rights: b },
            ) => return has_right(a, right) == has_right(b, right),
            _ => {}
        }
        match (after, now) {
            (_, Snapshot::Nothing) | (Snapshot::Nothing, _) => true,
            (
                Snapshot::Service {
                    start_type: a,
                    delayed: da,
                    ..
                },
                Snapshot::Service {
                    start_type: b,
                    delayed: db,
                    ..
                },
            ) => a == b && da == db,
            (Snapshot::Acl { entries: a, .. }, Snapshot::Acl { entries: b, .. }) => a == b,
            _ => after == now,
        }
    }

    /// `icacls /save`-style text (UTF-16LE, CRLF): each object's path and its SDDL, so an
    /// admin can also restore by hand with `icacls <parent> /restore <file>`.
    pub fn icacls_save(&self) -> Option<Vec<u8>> {
        let Backup::Acl { entries, .. } = self else {
            return None;
        };
        let mut text = String::new();
        for e in entries {
            text.push_str(&e.object.path);
            text.push_str("\r\n");
            text.push_str(&e.sddl);
            text.push_str("\r\n");
        }
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        Some(bytes)
    }
}

/// Runs every one of `results` (none stops the others) and names each that failed.
fn every(what: &str, results: impl Iterator<Item = HostResult<()>>) -> HostResult<()> {
    let failures: Vec<String> = results
        .filter_map(Result::err)
        .map(|e| e.to_string())
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(HostError::failed(what, failures.join("; ")))
    }
}

fn joined(differs: Vec<String>) -> Result<(), String> {
    if differs.is_empty() {
        Ok(())
    } else {
        Err(differs.join("; "))
    }
}

fn running_text(running: bool) -> &'static str {
    if running { "running" } else { "not running" }
}

fn enabled_text(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "disabled" }
}

fn delayed_text(delayed: bool) -> &'static str {
    if delayed { " (delayed)" } else { "" }
}

/// Whether two descriptors agree in the parts a step changed.
fn same_parts(now: &str, was: &str, parts: AclParts) -> bool {
    match (
        SecurityDescriptor::parse(now),
        SecurityDescriptor::parse(was),
    ) {
        (Ok(n), Ok(w)) => {
            (!parts.owner
                || n.owner.as_deref().map(sddl::canonical_sid)
                    == w.owner.as_deref().map(sddl::canonical_sid))
                && (!parts.dacl || n.dacl == w.dacl)
        }
        _ => now == was,
    }
}

/// Writes back one object's owner and/or DACL from its backup, through its handle, after
/// checking it is still the object the backup was taken of.
fn restore_acl(host: &dyn Host, e: &AclEntry, parts: AclParts) -> HostResult<()> {
    let now = host.sd_read(&e.object)?;
    if same_parts(&now, &e.sddl, parts) {
        return Ok(());
    }
    let was = parse_sd(e)?;
    let mut write = SdWrite::default();
    if parts.owner {
        write.owner = was.owner.clone().map(|o| sddl::canonical_sid(&o));
    }
    if parts.dacl {
        let Some(acl) = was.dacl else {
            return Err(HostError::refused(
                &e.object.path,
                "its backup holds no DACL; rdpfix never writes a NULL DACL",
            ));
        };
        write.dacl = Some(dacl_text(acl));
    }
    host.sd_write(&e.object, &now, &write)
}
