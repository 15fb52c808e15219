//! An offline `SYSTEM` or `SOFTWARE` hive as a configuration snapshot: the values
//! `config::sources` names, read from the control set `Select\Current` names (SYSTEM) or
//! from the SOFTWARE hive's policy and certificate keys. What a hive cannot tell (the
//! firewall's live state, who listens on the port, free space, the clock, rights held in
//! the SECURITY hive, group members held in SAM) is "not collected: offline hive".

use super::regf::{CellError, Data, Hive, Key, Source};
use crate::config::model::{ConfigSnapshot, Entry, NotCollected, Value};
use crate::config::schema::{self, Kind, Section};
use crate::config::sources::{PROTOCOLS, REGISTRY, SERVICES};

/// Why a section is not in an offline hive's snapshot.
pub const OFFLINE: &str = "offline hive";

/// Which hive a file is, from its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiveKind {
    System,
    Software,
    /// Another hive (NTUSER.DAT, SAM, SECURITY …): nothing of the snapshot is in it.
    Other,
    /// Its root key, the root's subkey list or, `Select` not found, one of the root's
    /// subkeys could not be read.
    Unreadable,
}

/// What reading a hive's snapshot found besides its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub kind: HiveKind,
    /// SYSTEM: the control set read (`Select\Current`), and whether it was taken from
    /// there (`false`: `Select` could not be read and `ControlSet001` was used).
    pub control_set: Option<(u32, bool)>,
    /// SYSTEM: why the control set could not be read (not in the hive, or its key damaged).
    pub set_error: Option<String>,
    /// The computer name the hive holds (SYSTEM).
    pub computer: Option<String>,
    /// SOFTWARE: `ProductName` and `CurrentBuild`.
    pub product: Option<String>,
    pub build: Option<u32>,
}

const SYSTEM_PREFIX: &str = r"HKLM\SYSTEM\CurrentControlSet\";
const SOFTWARE_PREFIX: &str = r"HKLM\SOFTWARE\";
const CERTIFICATES: &str = r"Microsoft\SystemCertificates";

/// Reads the snapshot's values from an open hive into `snapshot`.
pub fn read<S: Source>(hive: &mut Hive<S>, snapshot: &mut ConfigSnapshot) -> Read {
    let mut out = Read {
        kind: HiveKind::Other,
        control_set: None,
        set_error: None,
        computer: None,
        product: None,
        build: None,
    };
    out.kind = HiveKind::Unreadable;
    let Ok(root) = hive.root() else {
        return out;
    };
    let Ok(select) = hive.subkey(&root, "Select") else {
        return out;
    };
    out.kind = HiveKind::Other;
    if let Some(select) = select {
        out.kind = HiveKind::System;
        let current = hive
            .value(&select, "Current")
            .ok()
            .flatten()
            .and_then(|d| d.dword())
            .filter(|n| (1..=999).contains(n));
        let (n, from_select) = current.map_or((1, false), |n| (n, true));
        out.control_set = Some((n, from_select));
        // A control set that is not there (or whose key cannot be read) leaves every
        // SYSTEM value unreadable: read as absent, the defaults would make findings.
        let set = match hive.subkey(&root, &format!("ControlSet{n:03}")) {
            Ok(Some(set)) => Ok(Some(set)),
            Ok(None) => Err(CellError {
                offset: 0,
                what: format!("ControlSet{n:03} is not in the hive"),
            }),
            Err(e) => Err(e),
        };
        out.set_error = set.as_ref().err().map(|e| {
            format!(
                "control set ControlSet{n:03} could not be read ({}): every value of it reads \
                 as unreadable (?)",
                e.what
            )
        });
        system(hive, &root, set, snapshot, &mut out);
    } else if let Ok(Some(_)) = hive.path(&root, r"Microsoft\Windows NT\CurrentVersion") {
        out.kind = HiveKind::Software;
        software(hive, &root, snapshot, &mut out);
    }
    out
}

/// What one registry value reads as in a snapshot.
fn value_of(read: Result<Option<Data>, CellError>, kind: Kind) -> Value {
    match read {
        Err(_) => Value::Unreadable,
        Ok(None) => Value::Absent,
        Ok(Some(d)) => {
            let text = match kind {
                Kind::Dword => d.dword().map(|v| v.to_string()),
                Kind::Hex => Some(d.bytes.iter().map(|b| format!("{b:02X}")).collect()),
                _ => d.strings().map(|s| s.join(",")),
            };
            text.map_or(Value::Unreadable, Value::Set)
        }
    }
}

/// A value at `path` below `base` (`Ok(None)` when the key or the value does not exist).
fn lookup<S: Source>(
    hive: &mut Hive<S>,
    base: &Result<Option<Key>, CellError>,
    path: &str,
    name: &str,
) -> Result<Option<Data>, CellError> {
    let Some(base) = base.clone()? else {
        return Ok(None);
    };
    match hive.path(&base, path)? {
        Some(key) => hive.value(&key, name),
        None => Ok(None),
    }
}

fn push(
    snapshot: &mut ConfigSnapshot,
    section: Section,
    subject: Option<&str>,
    key: &str,
    value: Value,
) {
    snapshot.entries.push(Entry {
        section,
        subject: subject.map(str::to_owned),
        key: key.to_owned(),
        value,
        line: 0,
    });
}

fn not_collected(
    snapshot: &mut ConfigSnapshot,
    section: Section,
    subject: Option<&str>,
    why: &str,
) {
    snapshot.not_collected.push(NotCollected {
        section,
        subject: subject.map(str::to_owned),
        why: Some(why.to_owned()),
        line: 0,
    });
}

fn kind_of(section: Section, key: &str) -> Kind {
    schema::lookup(section, key).map_or(Kind::Text, |k| k.kind)
}

/// The `REGISTRY` rows of one hive: (section, key, path below the hive, value name).
fn rows(
    prefix: &'static str,
) -> impl Iterator<Item = (Section, &'static str, &'static str, &'static str)> {
    REGISTRY
        .iter()
        .filter_map(move |(s, k, path, name)| Some((*s, *k, path.strip_prefix(prefix)?, *name)))
}

fn system<S: Source>(
    hive: &mut Hive<S>,
    root: &Key,
    set: Result<Option<Key>, CellError>,
    snapshot: &mut ConfigSnapshot,
    out: &mut Read,
) {
    out.computer = lookup(
        hive,
        &set,
        r"Control\ComputerName\ComputerName",
        "ComputerName",
    )
    .ok()
    .flatten()
    .and_then(|d| d.string())
    .filter(|n| !n.is_empty());
    for (section, key, path, name) in rows(SYSTEM_PREFIX) {
        let v = value_of(lookup(hive, &set, path, name), kind_of(section, key));
        push(snapshot, section, None, key, v);
    }
    for p in PROTOCOLS {
        let path = format!(r"Control\SecurityProviders\SCHANNEL\Protocols\{p}\Server");
        let subject = p.replace(' ', "");
        for (key, name) in [("en", "Enabled"), ("dbd", "DisabledByDefault")] {
            let v = value_of(lookup(hive, &set, &path, name), Kind::Dword);
            push(snapshot, Section::Tls, Some(&subject), key, v);
        }
    }
    for s in SERVICES {
        let path = format!(r"Services\{s}");
        let installed = match &set {
            Ok(Some(set)) => hive.path(set, &path).map(|k| k.is_some()),
            Ok(None) => Ok(false),
            Err(e) => Err(e.clone()),
        };
        for (key, name) in [("start", "Start"), ("acct", "ObjectName"), ("type", "Type")] {
            let v = value_of(lookup(hive, &set, &path, name), kind_of(Section::Svc, key));
            push(snapshot, Section::Svc, Some(s), key, v);
        }
        match installed {
            Ok(false) => push(snapshot, Section::Svc, Some(s), "state", Value::Absent),
            _ => not_collected(snapshot, Section::Svc, Some(s), "offline hive: not running"),
        }
    }
    // The control set read: only what `Select\Current` named (ControlSet001 taken for want
    // of it is not what the machine boots).
    let cs = match out.control_set {
        Some((n, true)) => Value::Set(n.to_string()),
        _ => Value::Unreadable,
    };
    push(snapshot, Section::Boot, None, "cs", cs);
    let setup = Ok(Some(root.clone()));
    // The set the next boot uses: a plan is made only when it is the one read.
    let next = value_of(lookup(hive, &setup, "Select", "Default"), Kind::Dword);
    push(snapshot, Section::Boot, None, "csnext", next);
    for (key, name) in [
        ("setup", "SystemSetupInProgress"),
        ("oobe", "OOBEInProgress"),
    ] {
        let v = value_of(lookup(hive, &setup, "Setup", name), Kind::Dword);
        push(snapshot, Section::Boot, None, key, v);
    }
    for section in [
        Section::Fw,
        Section::Fwrule,
        Section::Fwblock,
        Section::Listen,
        Section::Rights,
        Section::Rdu,
        Section::Disk,
        Section::Time,
    ] {
        not_collected(snapshot, section, None, OFFLINE);
    }
}

fn software<S: Source>(
    hive: &mut Hive<S>,
    root: &Key,
    snapshot: &mut ConfigSnapshot,
    out: &mut Read,
) {
    let base = Ok(Some(root.clone()));
    let version = |hive: &mut Hive<S>, name: &str| {
        lookup(hive, &base, r"Microsoft\Windows NT\CurrentVersion", name)
            .ok()
            .flatten()
            .and_then(|d| d.string())
    };
    out.product = version(hive, "ProductName");
    out.build = version(hive, "CurrentBuild").and_then(|b| b.trim().parse().ok());
    for (section, key, path, name) in rows(SOFTWARE_PREFIX) {
        let v = value_of(lookup(hive, &base, path, name), kind_of(section, key));
        push(snapshot, section, None, key, v);
    }
    let suites = lookup(
        hive,
        &base,
        r"Policies\Microsoft\Cryptography\Configuration\SSL\00010002",
        "Functions",
    );
    let policy = match suites {
        Err(_) => Value::Unreadable,
        Ok(None) => Value::Absent,
        Ok(Some(d)) => d.strings().map_or(Value::Unreadable, |items| {
            let n = items
                .iter()
                .flat_map(|i| i.split(','))
                .filter(|i| !i.trim().is_empty())
                .count();
            Value::Set(n.to_string())
        }),
    };
    push(snapshot, Section::Ciphers, None, "policy", policy);
    // The Remote Desktop store: one subkey per certificate, named by its thumbprint.
    let store = hive
        .path(
            root,
            &format!(r"{CERTIFICATES}\Remote Desktop\Certificates"),
        )
        .and_then(|k| match k {
            Some(k) => hive.subkeys(&k),
            None => Ok(Vec::new()),
        });
    match store {
        Err(_) => push(snapshot, Section::Cert, None, "thumb", Value::Unreadable),
        Ok(certs) => match certs.as_slice() {
            [] => push(snapshot, Section::Cert, None, "thumb", Value::Absent),
            [one] => {
                push(
                    snapshot,
                    Section::Cert,
                    None,
                    "thumb",
                    Value::Set(one.name.to_uppercase()),
                );
                push(
                    snapshot,
                    Section::Cert,
                    None,
                    "store",
                    Value::Set("rd".to_owned()),
                );
            }
            _ => not_collected(
                snapshot,
                Section::Cert,
                None,
                "offline hive: several certificates in the Remote Desktop store",
            ),
        },
    }
}
