//! The configuration snapshot (`RDPFIX-CONFIG v1`, `docs/config-snapshot.md`) as the fixer
//! reads it through [`Host`]: what `fixer collect` and `fixer collect --compact` print
//! beside the events. The registry values, services, firewall profiles and Remote Desktop
//! rules, the port's listener, logon rights, Remote Desktop Users, the RDP certificate, the
//! MachineKeys ACL and the system drive's space come from the host's reads; what no host
//! method reads (blocking firewall rules, time, bcdedit) is written as not collected, and
//! the collection script (`analyzer::remote::config`) is the way to get it.

use crate::host::{CertStore, Host, HostError, RegValue, ServiceState};
use analyzer::config::schema::{Kind, Section, lookup};
use analyzer::config::text::{Writer, split_list};
use analyzer::config::{ConfigSnapshot, Value};
use analyzer::remote::config::{
    FIREWALL_RULES, MACHINE_KEYS_SDDL, PROTOCOLS, REGISTRY, SERVICES, capped_holders,
};

/// Why a section is left to the collection script.
const NO_HOST_READ: &str = "read by the collection script only";

/// The snapshot's text, LF line ends.
pub fn snapshot(host: &dyn Host) -> String {
    let computer = host.computer_names().map(|n| n.netbios).unwrap_or_default();
    let build = reg(
        host,
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion",
        "CurrentBuildNumber",
    )
    .ok()
    .flatten()
    .and_then(|v| text(&v))
    .and_then(|t| t.trim().parse().ok());
    let mut w = Writer::new(&computer, Some(host.now()), build);
    for (section, key, path, name) in REGISTRY {
        let value = read_value(host, path.trim_start_matches(r"HKLM\"), name);
        w.value(*section, None, key, &value);
    }
    for p in PROTOCOLS {
        let key = format!(
            r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\{p}\Server"
        );
        let subject = p.replace(' ', "");
        w.value(
            Section::Tls,
            Some(&subject),
            "en",
            &read_value(host, &key, "Enabled"),
        );
        w.value(
            Section::Tls,
            Some(&subject),
            "dbd",
            &read_value(host, &key, "DisabledByDefault"),
        );
    }
    let suites = match reg(
        host,
        r"SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002",
        "Functions",
    ) {
        Ok(None) => Value::Absent,
        Ok(Some(v)) => text(&v).map_or(Value::Unreadable, |t| {
            Value::Set(
                t.split([',', '\0'])
                    .filter(|s| !s.is_empty())
                    .count()
                    .to_string(),
            )
        }),
        Err(_) => Value::Unreadable,
    };
    w.value(Section::Ciphers, None, "policy", &suites);
    services(host, &mut w);
    match host.firewall_profiles() {
        Ok(profiles) => {
            for p in profiles {
                let on = if p.enabled { "on" } else { "off" };
                let inbound = if p.inbound_block { "block" } else { "allow" };
                w.value(Section::Fw, Some(&p.name), "on", &Value::Set(on.into()));
                w.value(
                    Section::Fw,
                    Some(&p.name),
                    "in",
                    &Value::Set(inbound.into()),
                );
            }
        }
        Err(e) => w.not_collected(Section::Fw, None, &short(&e)),
    }
    for id in FIREWALL_RULES {
        let on = match host.firewall_rule_enabled(id) {
            Ok(Some(true)) => Value::Set("on".into()),
            Ok(Some(false)) => Value::Set("off".into()),
            Ok(None) => Value::Absent,
            Err(_) => Value::Unreadable,
        };
        w.value(Section::Fwrule, Some(id), "on", &on);
    }
    w.not_collected(Section::Fwblock, None, NO_HOST_READ);
    listener(host, &mut w);
    certificate(host, &mut w);
    rights(host, &mut w);
    match host.group_members("S-1-5-32-555") {
        Ok(members) => {
            let listed: Vec<String> = members.iter().take(3).cloned().collect();
            w.list(Section::Rdu, None, "m", &listed);
            let more = members.len().saturating_sub(listed.len());
            w.value(Section::Rdu, None, "more", &Value::Set(more.to_string()));
        }
        Err(e) => w.not_collected(Section::Rdu, None, &short(&e)),
    }
    match host.system_drive_space() {
        Ok(d) => {
            w.value(Section::Disk, None, "drive", &Value::Set(d.drive));
            w.value(Section::Disk, None, "free", &Value::Set(mib(d.free)));
            w.value(Section::Disk, None, "size", &Value::Set(mib(d.size)));
        }
        Err(e) => w.not_collected(Section::Disk, None, &short(&e)),
    }
    w.not_collected(Section::Time, None, NO_HOST_READ);
    let setup = r"SYSTEM\Setup";
    w.value(
        Section::Boot,
        None,
        "setup",
        &read_value(host, setup, "SystemSetupInProgress"),
    );
    w.value(
        Section::Boot,
        None,
        "oobe",
        &read_value(host, setup, "OOBEInProgress"),
    );
    w.value(
        Section::Boot,
        None,
        "safe",
        &read_value(
            host,
            r"SYSTEM\CurrentControlSet\Control\SafeBoot\Option",
            "OptionValue",
        ),
    );
    w.finish()
}

/// Who listens on the RDP port (`PortNumber`, 3389 when absent or unreadable).
/// A snapshot read elsewhere (an offline disk's hives) as its block's text: every value
/// and every section not collected, in order; keys this version does not know are left
/// out. List values are kept as written (their items encoded one by one).
pub fn text_of(snapshot: &ConfigSnapshot) -> String {
    let mut w = Writer::new(&snapshot.computer, snapshot.taken, snapshot.os_build);
    for e in &snapshot.entries {
        let subject = e.subject.as_deref();
        match (&e.value, lookup(e.section, &e.key).map(|k| k.kind)) {
            (Value::Set(raw), Some(Kind::List)) => {
                w.list(e.section, subject, &e.key, &split_list(raw))
            }
            (value, _) => w.value(e.section, subject, &e.key, value),
        }
    }
    for n in &snapshot.not_collected {
        w.not_collected(
            n.section,
            n.subject.as_deref(),
            n.why.as_deref().unwrap_or(""),
        );
    }
    w.finish()
}

fn listener(host: &dyn Host, w: &mut Writer) {
    let rdp = r"SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
    let port = reg(host, rdp, "PortNumber")
        .ok()
        .flatten()
        .and_then(|v| v.as_dword())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(3389);
    match host.port_listener(port) {
        Ok(found) => {
            w.value(Section::Listen, None, "port", &Value::Set(port.to_string()));
            match found {
                None => w.value(Section::Listen, None, "pid", &Value::Absent),
                Some(l) => {
                    w.value(Section::Listen, None, "pid", &Value::Set(l.pid.to_string()));
                    w.value(Section::Listen, None, "proc", &Value::Set(l.process));
                    let services: Vec<String> = l.services.into_iter().take(2).collect();
                    w.list(Section::Listen, None, "svc", &services);
                }
            }
        }
        Err(e) => w.not_collected(Section::Listen, None, &short(&e)),
    }
}

/// Bytes as whole MiB, rounded down.
fn mib(bytes: u64) -> String {
    (bytes / (1024 * 1024)).to_string()
}

fn services(host: &dyn Host, w: &mut Writer) {
    for name in SERVICES {
        let key = format!(r"SYSTEM\CurrentControlSet\Services\{name}");
        let start = read_value(host, &key, "Start");
        let installed = start != Value::Absent;
        w.value(Section::Svc, Some(name), "start", &start);
        let state = match host.service_status(name) {
            Ok(s) => Value::Set(state_word(s.state).to_owned()),
            Err(HostError::NotFound { .. }) => Value::Absent,
            Err(_) if !installed => Value::Absent,
            Err(_) => Value::Unreadable,
        };
        w.value(Section::Svc, Some(name), "state", &state);
        w.value(
            Section::Svc,
            Some(name),
            "acct",
            &read_value(host, &key, "ObjectName"),
        );
        w.value(
            Section::Svc,
            Some(name),
            "type",
            &read_value(host, &key, "Type"),
        );
    }
}

fn state_word(state: ServiceState) -> &'static str {
    match state {
        ServiceState::Running => "running",
        ServiceState::Stopped => "stopped",
        ServiceState::StartPending => "starting",
        ServiceState::StopPending => "stopping",
        ServiceState::Paused => "paused",
        ServiceState::PausePending => "pausing",
        ServiceState::ContinuePending => "resuming",
    }
}

/// The certificate in use: the one `SSLCertificateSHA1Hash` names, else the newest
/// self-signed one in `Remote Desktop`. Only that store is readable here: a configured
/// certificate found nowhere in it may still sit in `My`, so `store` is then not written.
fn certificate(host: &dyn Host, w: &mut Writer) {
    let rdp = r"SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
    let configured = match reg(host, rdp, "SSLCertificateSHA1Hash") {
        Ok(Some(v)) => Some(hex(&v.data)),
        _ => None,
    };
    match host.cert_list(CertStore::RemoteDesktop) {
        Ok(certs) => {
            let cert = match &configured {
                Some(t) => certs.iter().find(|c| c.thumbprint.eq_ignore_ascii_case(t)),
                None => certs.iter().max_by_key(|c| c.not_after),
            };
            let thumb = cert
                .map(|c| c.thumbprint.clone())
                .or(configured.clone())
                .map_or(Value::Absent, Value::Set);
            w.value(Section::Cert, None, "thumb", &thumb);
            if let Some(c) = cert {
                w.value(Section::Cert, None, "store", &Value::Set("rd".into()));
                if let Some(t) = c.not_after {
                    let until = t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
                    w.value(Section::Cert, None, "until", &Value::Set(until));
                }
                let key = if c.key.is_some() { "1" } else { "0" };
                w.value(Section::Cert, None, "key", &Value::Set(key.into()));
            }
        }
        // The store could not be read: only the configured thumbprint is known.
        Err(_) => w.value(
            Section::Cert,
            None,
            "thumb",
            &configured.map_or(Value::Unreadable, Value::Set),
        ),
    }
    let folder = host
        .program_data()
        .join(r"Microsoft\Crypto\RSA\MachineKeys");
    let mk = host
        .fs_object(&folder)
        .and_then(|o| host.sd_read(&o))
        .map_or(Value::Unreadable, |sddl| {
            Value::Set(
                if sddl == MACHINE_KEYS_SDDL {
                    "default"
                } else {
                    "changed"
                }
                .into(),
            )
        });
    w.value(Section::Cert, None, "mk", &mk);
}

/// The holders of both rights, each list capped as the collection script caps it
/// (`remote::config::capped_holders`): a domain's many SIDs cannot outgrow the block.
fn rights(host: &dyn Host, w: &mut Writer) {
    for (key, more, right) in [
        ("allow", "amore", "SeRemoteInteractiveLogonRight"),
        ("deny", "dmore", "SeDenyRemoteInteractiveLogonRight"),
    ] {
        match host.right_holders(right) {
            Ok(holders) if holders.is_empty() => {
                w.value(Section::Rights, None, key, &Value::Absent);
            }
            Ok(holders) => {
                let (kept, left) = capped_holders(&holders);
                w.list(Section::Rights, None, key, &kept);
                if left > 0 {
                    w.value(Section::Rights, None, more, &Value::Set(left.to_string()));
                }
            }
            Err(e) => {
                w.not_collected(Section::Rights, None, &short(&e));
                return;
            }
        }
    }
}

fn reg(host: &dyn Host, key: &str, name: &str) -> Result<Option<RegValue>, HostError> {
    host.reg_get(key, name)
}

/// A registry value as the snapshot writes it: DWORDs in decimal, binary as hex, strings as
/// they are; `-` when it does not exist, `?` when it cannot be read.
fn read_value(host: &dyn Host, key: &str, name: &str) -> Value {
    match reg(host, key, name) {
        Ok(None) => Value::Absent,
        Ok(Some(v)) => match v.as_dword() {
            Some(d) => Value::Set(d.to_string()),
            None if v.kind == crate::host::REG_BINARY => Value::Set(hex(&v.data)),
            None => text(&v).map_or(Value::Unreadable, Value::Set),
        },
        Err(_) => Value::Unreadable,
    }
}

/// A `REG_SZ`, `REG_EXPAND_SZ` or `REG_MULTI_SZ` as text (the strings of a multi-string
/// joined by commas).
fn text(v: &RegValue) -> Option<String> {
    if !matches!(v.kind, 1 | 2 | 7) {
        return None;
    }
    let units: Vec<u16> = v
        .data
        .chunks_exact(2)
        .filter_map(|c| c.try_into().ok().map(u16::from_le_bytes))
        .collect();
    let s = String::from_utf16_lossy(&units);
    let parts: Vec<&str> = s.split('\0').filter(|p| !p.is_empty()).collect();
    Some(parts.join(","))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A host error's first words, for a `why=`.
fn short(e: &HostError) -> String {
    e.to_string().chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::sim::{Machine, SimHost};
    use crate::host::{DiskSpace, PortListener};
    use analyzer::config::newest_per_computer;
    use analyzer::config::{Reading, find_snapshots};
    use analyzer::input::{no_progress, read_bytes};
    use analyzer::rules::{Catalog, Collector, evaluate_with_config};

    /// The findings of `text` as the rules judge it, configuration conditions included.
    fn findings_of(text: &str) -> Vec<String> {
        let mut collector = Collector::new(Catalog::builtin().unwrap());
        let report = read_bytes("fixer", text.as_bytes(), &mut collector, &mut no_progress);
        let snapshots = newest_per_computer(&report.configs);
        evaluate_with_config(&collector, &snapshots, None)
            .into_iter()
            .map(|f| f.id)
            .collect()
    }

    fn machine() -> Machine {
        Machine::new("VM1", "vm1", "2026-11-25T10:00:00Z".parse().unwrap())
    }

    #[test]
    fn the_snapshot_reads_back_and_says_what_the_fixer_cannot_read() {
        let host = SimHost::new(machine());
        let text = snapshot(&host);
        let found = find_snapshots(&text, "fixer");
        assert_eq!(found.len(), 1, "{text}");
        assert!(found[0].issues.is_empty(), "{:?}\n{text}", found[0].issues);
        let s = found[0].snapshot.as_ref().unwrap();
        assert_eq!(s.computer, "VM1");
        assert_eq!(s.taken, Some("2026-11-25T10:00:00Z".parse().unwrap()));
        for section in [Section::Fwblock, Section::Time] {
            assert!(
                s.not_collected.iter().any(|n| n.section == section),
                "{section:?}\n{text}"
            );
        }
        for section in [
            Section::Rdp,
            Section::Svc,
            Section::Fw,
            Section::Listen,
            Section::Disk,
        ] {
            assert!(s.has(section), "{section:?}\n{text}");
        }
        assert!(text.lines().all(|l| l.len() <= 76), "{text}");
    }

    #[test]
    fn a_policy_that_denies_rdp_is_read_and_found() {
        let mut m = machine();
        let policy = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
        m.set_reg(policy, "fDenyTSConnections", RegValue::dword(1));
        let host = SimHost::new(m);
        let text = snapshot(&host);
        let s = find_snapshots(&text, "fixer").remove(0).snapshot.unwrap();
        assert_eq!(s.dword(Section::Tsp, None, "deny"), Reading::Value(1));
        let ids = findings_of(&text);
        assert!(
            ids.contains(&"rdp-config-disabled-by-policy".to_owned()),
            "{ids:?}\n{text}"
        );
    }

    fn findings(m: Machine) -> Vec<String> {
        findings_of(&snapshot(&SimHost::new(m)))
    }

    #[test]
    fn a_disabled_remote_desktop_rule_behind_a_blocking_firewall_is_found() {
        let mut m = machine();
        m.firewall
            .insert("RemoteDesktop-UserMode-In-TCP".into(), false);
        let ids = findings(m);
        assert!(
            ids.contains(&"rdp-config-firewall-rule-off".to_owned()),
            "{ids:?}"
        );
    }

    #[test]
    fn another_program_on_the_port_and_a_full_drive_are_found() {
        let mut m = machine();
        m.listeners.insert(
            3389,
            PortListener {
                pid: 4312,
                process: "nginx".into(),
                services: Vec::new(),
            },
        );
        m.disk = Some(DiskSpace {
            drive: "C:".into(),
            free: 50 * 1024 * 1024,
            size: 128 * 1024 * 1024 * 1024,
        });
        let ids = findings(m);
        for id in ["rdp-config-port-taken", "rdp-config-system-drive-full"] {
            assert!(ids.contains(&id.to_owned()), "{id}: {ids:?}");
        }
    }

    #[test]
    fn a_right_a_whole_domain_holds_is_capped_and_keeps_the_built_in_groups() {
        let mut m = machine();
        // Domain SIDs sort before S-1-5-32-…: a plain "first N" would drop the groups.
        for n in 0..30 {
            m.rights.insert(
                format!("S-1-5-21-3623811015-3361044348-3030082099-{}", 1100 + n),
                ["SeRemoteInteractiveLogonRight".to_owned()].into(),
            );
        }
        let text = snapshot(&SimHost::new(m));
        let found = find_snapshots(&text, "fixer");
        assert!(found[0].issues.is_empty(), "{:?}\n{text}", found[0].issues);
        assert!(text.lines().all(|l| l.len() <= 76), "{text}");
        let s = found[0].snapshot.as_ref().unwrap();
        assert_eq!(
            s.list(Section::Rights, None, "allow"),
            ["S-1-5-32-544", "S-1-5-32-555"]
        );
        assert_eq!(s.dword(Section::Rights, None, "amore"), Reading::Value(30));
        assert_eq!(
            s.dword(Section::Rights, None, "dmore"),
            Reading::NotCollected
        );
        let ids = findings_of(&text);
        assert!(
            !ids.contains(&"rdp-config-logon-right-missing".to_owned()),
            "{ids:?}"
        );
    }

    #[test]
    fn an_empty_registry_reads_as_rdp_disabled_by_the_default() {
        let ids = findings(machine());
        // Its registry is empty: fDenyTSConnections absent reads as the default, RDP off.
        assert_eq!(ids, ["rdp-config-disabled"], "{ids:?}");
    }
}
