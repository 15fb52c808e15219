//! Putting a step back from its backup, and what the backup holds.

use super::*;

impl Backup {
    /// Puts the step back exactly. Idempotent: undoing twice is undoing once.
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
            Backup::StartType { service, before } => host.service_set_start_type(service, *before),
            Backup::Account { service, before } => host.service_set_account(service, before),
            Backup::Acl { entries } => entries.iter().rev().try_for_each(|(path, sddl)| {
                let p = std::path::Path::new(path);
                if host.sd_get(p)? == *sddl {
                    Ok(())
                } else {
                    host.sd_set(p, sddl)
                }
            }),
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
            Backup::Certs { .. } | Backup::Nothing => Ok(()),
        }
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
            Backup::StartType { service, .. } => {
                let s = host.service_status(service)?;
                Snapshot::Service {
                    start_type: s.start_type,
                    running: s.state == crate::host::ServiceState::Running,
                }
            }
            Backup::Account { service, .. } => Snapshot::Account {
                account: host.service_account(service)?,
            },
            Backup::Acl { entries } => Snapshot::Acl {
                entries: entries
                    .iter()
                    .map(|(p, _)| Ok((p.clone(), host.sd_get(std::path::Path::new(p))?)))
                    .collect::<HostResult<_>>()?,
            },
            Backup::Restart { .. } | Backup::Certs { .. } | Backup::Nothing => Snapshot::Nothing,
        })
    }

    /// Whether `drifted` (probed now) still matches what the step left (`after`), in the
    /// fields that matter: a service's running state is not a setting the step owned.
    pub fn unchanged_since(&self, after: &Snapshot, now: &Snapshot) -> bool {
        match (after, now) {
            (_, Snapshot::Nothing) => true,
            (Snapshot::Service { start_type: a, .. }, Snapshot::Service { start_type: b, .. }) => {
                a == b
            }
            (Snapshot::Nothing, _) => true,
            _ => after == now,
        }
    }

    /// `icacls /save` text (UTF-16LE, CRLF): each object's path and its SDDL, so an admin can
    /// also restore by hand with `icacls <parent> /restore <file>`.
    pub fn icacls_save(&self) -> Option<Vec<u8>> {
        let Backup::Acl { entries } = self else {
            return None;
        };
        let mut text = String::new();
        for (path, sddl) in entries {
            text.push_str(path);
            text.push_str("\r\n");
            text.push_str(sddl);
            text.push_str("\r\n");
        }
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        Some(bytes)
    }
}
