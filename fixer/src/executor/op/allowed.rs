//! The allowlist, applied again to what a rollback is about to restore.
//!
//! A plan's steps pass `analyzer::plan::check_step` before they run; their backups are
//! written by the fixer into the admin-only state directory. Still, a rollback restores
//! whatever a backup file says, as SYSTEM, long after: so each backup read from the journal
//! must name only what a plan may touch, or it is left alone and reported.

use super::*;
use analyzer::plan::{
    AccountSid, FirewallRule, LocalGroup, LogonRight, RdpService, RegistryValue, TlsProtocol,
};

/// Keys below this many components (`SYSTEM\CurrentControlSet\Control\X` has four) are
/// never deleted by a rollback, even when a backup says the step created them.
const MIN_CREATED_KEY_DEPTH: usize = 5;

impl Backup {
    /// `Err` names what in this backup no plan may touch.
    pub fn check_allowed(&self, host: &dyn Host) -> Result<(), String> {
        match self {
            Backup::Registry {
                key,
                values,
                created_keys,
            } => {
                let names = allowed_value_names(key)
                    .ok_or_else(|| format!("registry key {key} is not one a plan may change"))?;
                if let Some((n, _)) = values
                    .iter()
                    .find(|(n, _)| !names.iter().any(|a| a.eq_ignore_ascii_case(n)))
                {
                    return Err(format!(
                        "registry value {key}\\{n} is not one a plan may change"
                    ));
                }
                match created_keys.iter().find(|k| !may_delete_key(key, k)) {
                    Some(k) => Err(format!("key {k} is not one a rollback may delete")),
                    None => Ok(()),
                }
            }
            Backup::StartType { service, .. } => rdp_service(service),
            Backup::Account { service, before } => {
                rdp_service(service)?;
                if is_passwordless_account(before) {
                    Ok(())
                } else {
                    Err(format!(
                        "{before} is not a built-in account without a password"
                    ))
                }
            }
            Backup::Restart {
                service,
                dependents,
                ..
            } => {
                rdp_service(service)?;
                if !RdpService::ALL
                    .iter()
                    .any(|s| s.allows_restart() && s.name().eq_ignore_ascii_case(service))
                {
                    return Err(format!("service {service} is not one a plan may restart"));
                }
                let real = host
                    .service_dependents(service)
                    .map_err(|e| e.to_string())?;
                match dependents.iter().find(|d| {
                    rdp_service(d).is_err() && !real.iter().any(|r| r.eq_ignore_ascii_case(d))
                }) {
                    Some(d) => Err(format!("{d} is not a service that depends on {service}")),
                    None => Ok(()),
                }
            }
            Backup::Acl { entries, restore } => {
                if !restore.owner && !restore.dacl {
                    return Ok(());
                }
                let folder = machine_keys(host).display().to_string();
                match entries
                    .iter()
                    .find(|e| !may_restore_acl(&folder, &e.object.path))
                {
                    Some(e) => Err(format!(
                        "{} is neither MachineKeys nor an RDP key file in it",
                        e.object.path
                    )),
                    None => Ok(()),
                }
            }
            Backup::Started { service, .. } => rdp_service(service),
            Backup::Member { group, member } => {
                let group = LocalGroup::ALL
                    .into_iter()
                    .find(|g| g.sid() == group)
                    .ok_or_else(|| format!("group {group} is not one a plan may change"))?;
                match AccountSid::parse(member) {
                    Ok(sid) if group.may_add(&sid) => Ok(()),
                    _ => Err(format!("{member} is not an account a plan may add")),
                }
            }
            // The undo puts back what was: after a grant it removes the right, after a
            // revoke it adds the deny right back. Either way the SID and the right must
            // be ones the step itself may name.
            Backup::Right { sid, right, .. } => {
                let parsed = AccountSid::parse(sid).map_err(|_| format!("{sid} is not a SID"))?;
                let ok = match right.as_str() {
                    r if r == LogonRight::RemoteInteractive.as_str() => {
                        LogonRight::RemoteInteractive.may_grant_to(&parsed)
                    }
                    r if r == LogonRight::DenyRemoteInteractive.as_str() => {
                        LogonRight::DenyRemoteInteractive.may_revoke_from(&parsed)
                    }
                    _ => false,
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!("{right} of {sid} is not one a plan may change"))
                }
            }
            Backup::Firewall { rule, .. } => {
                if FirewallRule::ALL.iter().any(|r| r.id() == rule) {
                    Ok(())
                } else {
                    Err(format!("firewall rule {rule} is not one a plan may change"))
                }
            }
            // The store is fixed by the type; the certificates are the ones deleted.
            Backup::Certs { .. } | Backup::Nothing => Ok(()),
        }
    }
}

impl Backup {
    /// `Err` says how this backup differs from what the plan's step at its index could
    /// have saved: another kind, another target (service, group and member, SID and
    /// right, rule, registry key or value, ACL part), or a prior state the step's own
    /// change rules out (a right granted was not held before, a deny right revoked was;
    /// a rule enabled was disabled). The allowlist alone would let an edited backup stop
    /// any RDP service, deny RDP to any allowed SID or disable any RDP rule.
    pub fn belongs_to(&self, op: &Op) -> Result<(), String> {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let ok = match (self, op) {
            (Backup::Nothing, _) => true,
            (
                Backup::Registry { key, values, .. },
                Op::Registry {
                    key: k, values: vs, ..
                },
            ) => {
                same(key, k)
                    && values
                        .iter()
                        .all(|(n, _)| vs.iter().any(|(m, _)| same(n, m)))
            }
            (Backup::StartType { service, .. }, Op::StartType { service: s, .. })
            | (Backup::Account { service, .. }, Op::Account { service: s, .. })
            | (Backup::Restart { service, .. }, Op::Restart { service: s })
            | (Backup::Started { service, .. }, Op::Start { service: s }) => same(service, s),
            (
                Backup::Member { group, member },
                Op::Member {
                    group: g,
                    member: m,
                },
            ) => same(group, g) && same(member, m),
            (
                Backup::Right { sid, right, held },
                Op::Right {
                    sid: s,
                    right: r,
                    grant,
                },
            ) => same(sid, s) && same(right, r) && *held != *grant,
            (Backup::Firewall { rule, enabled }, Op::Firewall { rule: r }) => {
                same(rule, r) && !*enabled
            }
            (Backup::Certs { .. }, Op::DeleteCerts { .. }) => true,
            (Backup::Acl { restore, .. }, op) => {
                *restore
                    == match op {
                        Op::Owner { .. } => AclParts {
                            owner: true,
                            dacl: false,
                        },
                        Op::Grant { .. } => AclParts {
                            owner: false,
                            dacl: true,
                        },
                        Op::SaveAcl { .. } => AclParts::default(),
                        _ => return Err(mismatch(self, op)),
                    }
            }
            _ => false,
        };
        if ok { Ok(()) } else { Err(mismatch(self, op)) }
    }
}

fn mismatch(backup: &Backup, op: &Op) -> String {
    let kind = |v: &str| {
        v.split([' ', '{', '('])
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    format!(
        "a {} backup that the signed step ({}) did not save",
        kind(&format!("{backup:?}")),
        kind(&format!("{op:?}"))
    )
}

fn rdp_service(name: &str) -> Result<(), String> {
    if RdpService::ALL
        .iter()
        .any(|s| s.name().eq_ignore_ascii_case(name))
    {
        Ok(())
    } else {
        Err(format!("service {name} is not one a plan may change"))
    }
}

/// The value names a plan may change under `key` (below `HKLM\`), if any.
fn allowed_value_names(key: &str) -> Option<Vec<&'static str>> {
    if TlsProtocol::ALL
        .iter()
        .any(|p| p.server_subkey().eq_ignore_ascii_case(key))
    {
        return Some(vec!["Enabled", "DisabledByDefault"]);
    }
    let names: Vec<&'static str> = RegistryValue::ALL
        .iter()
        .filter(|v| v.subkey().eq_ignore_ascii_case(key))
        .map(|v| v.name())
        .collect();
    (!names.is_empty()).then_some(names)
}

/// The policy key's parents that a machine without any Microsoft or Windows NT policy does
/// not have (a fresh Wine prefix has neither): a rollback may remove them, empty, when a
/// step made them. Deeper than `SOFTWARE\Policies`, which every Windows has.
const POLICY_PARENTS: [&str; 2] = [
    r"SOFTWARE\Policies\Microsoft",
    r"SOFTWARE\Policies\Microsoft\Windows NT",
];

/// `created` is `key` or one of its parents, deep enough to be the plan's own.
fn may_delete_key(key: &str, created: &str) -> bool {
    let depth = created.split('\\').count();
    let deep_enough = depth >= MIN_CREATED_KEY_DEPTH
        || POLICY_PARENTS
            .iter()
            .any(|p| created.eq_ignore_ascii_case(p));
    let is_prefix = key.len() >= created.len()
        && key
            .get(..created.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(created))
        && matches!(key.as_bytes().get(created.len()), None | Some(b'\\'));
    is_prefix && deep_enough
}

/// The MachineKeys folder itself, or an RDP key file directly in it.
fn may_restore_acl(folder: &str, path: &str) -> bool {
    if path.eq_ignore_ascii_case(folder) {
        return true;
    }
    path.len() > folder.len() + 1
        && path
            .get(..folder.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(folder))
        && path.as_bytes().get(folder.len()) == Some(&b'\\')
        && path
            .get(folder.len() + 1..)
            .is_some_and(|name| !name.contains(['\\', '/']) && is_rdp_key_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prior state must be the one the step changes: a grant's backup says "not held",
    /// a revoke's "held", an enabled rule's "disabled". The target must be the step's.
    #[test]
    fn a_backup_belongs_only_to_its_own_step() {
        let deny = LogonRight::DenyRemoteInteractive.as_str().to_owned();
        let revoke = Op::Right {
            sid: "S-1-5-113".into(),
            right: deny.clone(),
            grant: false,
        };
        let right = |sid: &str, held| Backup::Right {
            sid: sid.into(),
            right: deny.clone(),
            held,
        };
        assert!(right("S-1-5-113", true).belongs_to(&revoke).is_ok());
        assert!(right("s-1-5-113", true).belongs_to(&revoke).is_ok());
        assert!(right("S-1-5-113", false).belongs_to(&revoke).is_err());
        assert!(right("S-1-5-32-544", true).belongs_to(&revoke).is_err());
        let enable = Op::Firewall {
            rule: FirewallRule::UserModeInTcp.id().into(),
        };
        let rule = |r: FirewallRule, enabled| Backup::Firewall {
            rule: r.id().into(),
            enabled,
        };
        assert!(
            rule(FirewallRule::UserModeInTcp, false)
                .belongs_to(&enable)
                .is_ok()
        );
        assert!(
            rule(FirewallRule::UserModeInTcp, true)
                .belongs_to(&enable)
                .is_err()
        );
        assert!(
            rule(FirewallRule::ShadowInTcp, false)
                .belongs_to(&enable)
                .is_err()
        );
        let start = Op::Start {
            service: "nsi".into(),
        };
        let started = |s: &str| Backup::Started {
            service: s.into(),
            was_running: false,
        };
        assert!(started("nsi").belongs_to(&start).is_ok());
        assert!(started("BFE").belongs_to(&start).is_err());
        assert!(started("nsi").belongs_to(&enable).is_err());
        assert!(Backup::Nothing.belongs_to(&start).is_ok());
    }

    #[test]
    fn only_the_plans_own_keys_values_and_files_pass() {
        assert!(allowed_value_names(TlsProtocol::Tls12.server_subkey()).is_some());
        assert!(allowed_value_names(r"SYSTEM\CurrentControlSet\Services\TermService").is_none());
        let tls10 = TlsProtocol::Tls10.server_subkey();
        let parent = tls10.trim_end_matches(r"\Server");
        assert!(may_delete_key(tls10, parent));
        assert!(!may_delete_key(tls10, r"SYSTEM\CurrentControlSet\Control"));
        let policy = analyzer::plan::RegistryValue::PolicyDenyTsConnections.subkey();
        assert!(may_delete_key(policy, policy));
        for parent in POLICY_PARENTS {
            assert!(may_delete_key(policy, parent));
            assert!(!may_delete_key(tls10, parent));
        }
        assert!(!may_delete_key(policy, r"SOFTWARE\Policies"));
        assert!(!may_delete_key(
            tls10,
            r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1"
        ));
        let mk = r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys";
        assert!(may_restore_acl(mk, &format!(r"{mk}\{RDP_KEY_PREFIX}abc")));
        assert!(may_restore_acl(mk, mk));
        assert!(!may_restore_acl(
            mk,
            &format!(r"{mk}\u\{RDP_KEY_PREFIX}abc")
        ));
        assert!(!may_restore_acl(mk, &format!(r"{mk}\other")));
        assert!(!may_restore_acl(mk, r"C:\Windows\System32\config\SAM"));
    }
}
