//! The simulated machine as plain data ([`Machine`]): registry, services, certificates,
//! files with their security, ids, links and reparse points, the state directory; and how
//! a path is opened on it, as the Windows host opens one (never through a reparse point,
//! refused when a junction on the way leads elsewhere).

use super::{STATE_DIR, TASK_DIR};
use crate::host::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The whole simulated machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub names: ComputerNames,
    pub now: Timestamp,
    /// Lower-cased HKLM key path → (lower-cased value name → value). A key exists iff present.
    pub registry: BTreeMap<String, BTreeMap<String, RegValue>>,
    pub services: BTreeMap<String, SimService>,
    pub certs: Vec<CertInfo>,
    /// File or folder path → its SDDL; a path exists iff present (or it is a reparse
    /// point, a folder in `dirs`, or in the state directory). Under the state directory an
    /// entry overrides the SDDL its files inherit from `state_dir_sddl`.
    pub security: BTreeMap<String, String>,
    /// Junctions and symbolic links: path → where they point. The fixer must never act
    /// through one.
    #[serde(default)]
    pub reparse_points: BTreeMap<String, String>,
    /// Folders that have no entry in `security` (their SDDL inherited or unknown).
    #[serde(default)]
    pub dirs: BTreeSet<String>,
    /// File ids that differ from the one derived from the path: a file replaced by another
    /// of the same name gets a new one here.
    #[serde(default)]
    pub file_ids: BTreeMap<String, u64>,
    /// Hard-link counts above one: such a file shares its security with another name.
    #[serde(default)]
    pub links: BTreeMap<String, u32>,
    /// The state directory's files (relative path → bytes), and its SDDL (`None`: missing).
    pub state_files: BTreeMap<String, Vec<u8>>,
    pub state_dir_sddl: Option<String>,
    /// Folders made inside the state directory (relative), for those still empty.
    #[serde(default)]
    pub state_dirs: BTreeSet<String>,
    /// The machine-wide lock is held (by another process, when a test sets it).
    #[serde(default)]
    pub lock_held: bool,
    /// Key containers whose key Windows has replaced since (a new self-signed certificate
    /// was made): a certificate linked to one no longer matches its key.
    #[serde(default)]
    pub replaced_keys: BTreeSet<String>,
    /// Event log text per channel, returned by `log_query_text`; exports land in `exported`.
    pub logs: BTreeMap<String, String>,
    pub exported: BTreeMap<String, String>,
    /// The archives `zip_logs` wrote, as real zip bytes of the members' text (path → bytes):
    /// what the page or `fixer diagnose` would read from them.
    #[serde(default)]
    pub zips: BTreeMap<String, Vec<u8>>,
    /// Commit-confirm rollbacks waiting to fire: plan id → deadline.
    pub scheduled: BTreeMap<String, Timestamp>,
    /// Local groups: group SID → member SIDs. A group exists iff present.
    #[serde(default)]
    pub groups: BTreeMap<String, BTreeSet<String>>,
    /// The SIDs of the accounts this machine (or its domain) can resolve: only these can
    /// join a group (`ERROR_NO_SUCH_MEMBER` otherwise).
    #[serde(default)]
    pub accounts: BTreeSet<String>,
    /// SIDs that resolve, but to a group (a domain or Entra ID group has SIDs of a user's
    /// form): Windows' `LookupAccountSidW` says so, and the fixer adds only users.
    #[serde(default)]
    pub group_accounts: BTreeSet<String>,
    /// User rights: SID → the rights it holds (LSA policy).
    #[serde(default)]
    pub rights: BTreeMap<String, BTreeSet<String>>,
    /// Firewall rules: rule id → enabled. A rule exists iff present.
    #[serde(default)]
    pub firewall: BTreeMap<String, bool>,
    /// The firewall's profiles (empty: the firewall could not be queried).
    #[serde(default)]
    pub firewall_profiles: Vec<FirewallProfile>,
    /// TCP port → who listens on it.
    #[serde(default)]
    pub listeners: BTreeMap<u16, PortListener>,
    /// The system drive's space (`None`: unknown, the read fails).
    #[serde(default)]
    pub disk: Option<DiskSpace>,
    /// Areas the fixer is refused access to (`ERROR_ACCESS_DENIED`): `group`, `lsa`,
    /// `firewall` — as a hardened or broken machine may.
    #[serde(default)]
    pub access_denied: BTreeSet<String>,
    /// Files of the disks attached to this machine (a rescue VM's), by path: the hives an
    /// offline plan loads, what it records on the disk. A folder exists when a file is in it.
    #[serde(default)]
    pub disk_files: BTreeMap<String, DiskFile>,
    /// Hives loaded under `HKLM\<mount>`: lower-cased mount → the hive. They stay loaded
    /// when the process that loaded them dies, as on Windows, until unloaded.
    #[serde(default)]
    pub hives: BTreeMap<String, super::hive::SimHive>,
}

/// A file's bytes (hex in the machine's JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskFile(#[serde(with = "crate::host::hex_bytes")] pub Vec<u8>);

/// The user rights Windows knows, of those a test names: LSA refuses any other name.
pub const KNOWN_RIGHTS: [&str; 4] = [
    "SeRemoteInteractiveLogonRight",
    "SeDenyRemoteInteractiveLogonRight",
    "SeInteractiveLogonRight",
    "SeNetworkLogonRight",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimService {
    pub status: ServiceStatus,
    /// Starting it succeeds, then it stops at once with this exit code (as a service whose
    /// configuration is broken does; 0 included).
    #[serde(default)]
    pub exits_after_start: Option<u32>,
    /// Services that depend on this one.
    pub dependents: Vec<String>,
    /// Starting it fails, as a service with a broken configuration would.
    #[serde(default)]
    pub fails_to_start: bool,
    #[serde(default = "local_system")]
    pub account: String,
}

fn local_system() -> String {
    "LocalSystem".into()
}

impl Machine {
    /// A plain machine named `names`: the RDP services running, no other state.
    pub fn new(netbios: &str, dns_fqdn: &str, now: Timestamp) -> Self {
        let running = |start_type| ServiceStatus {
            state: ServiceState::Running,
            start_type,
            delayed_auto_start: false,
        };
        let service = |start_type, dependents: &[&str]| SimService {
            status: running(start_type),
            exits_after_start: None,
            dependents: dependents.iter().map(|s| (*s).to_owned()).collect(),
            fails_to_start: false,
            account: local_system(),
        };
        let services = BTreeMap::from([
            (
                "termservice".to_owned(),
                service(StartType::Demand, &["UmRdpService"]),
            ),
            ("umrdpservice".to_owned(), service(StartType::Demand, &[])),
            ("sessionenv".to_owned(), service(StartType::Demand, &[])),
            ("gpsvc".to_owned(), service(StartType::Auto, &[])),
        ]);
        Machine {
            names: ComputerNames {
                netbios: netbios.into(),
                dns_fqdn: dns_fqdn.into(),
            },
            now,
            registry: BTreeMap::new(),
            services,
            certs: Vec::new(),
            security: BTreeMap::new(),
            reparse_points: BTreeMap::new(),
            dirs: BTreeSet::new(),
            file_ids: BTreeMap::new(),
            links: BTreeMap::new(),
            state_files: BTreeMap::new(),
            state_dir_sddl: None,
            state_dirs: BTreeSet::new(),
            lock_held: false,
            replaced_keys: BTreeSet::new(),
            logs: BTreeMap::new(),
            exported: BTreeMap::new(),
            zips: BTreeMap::new(),
            scheduled: BTreeMap::new(),
            // As Windows installs them: Remote Desktop Users empty, Administrators and
            // Remote Desktop Users allowed to log on through RDP, the RDP rules on.
            groups: BTreeMap::from([
                (
                    "S-1-5-32-544".to_owned(),
                    BTreeSet::from(["S-1-5-21-1-2-3-500".to_owned()]),
                ),
                ("S-1-5-32-555".to_owned(), BTreeSet::new()),
            ]),
            accounts: BTreeSet::from(["S-1-5-21-1-2-3-500".to_owned()]),
            group_accounts: BTreeSet::new(),
            rights: BTreeMap::from([
                (
                    "S-1-5-32-544".to_owned(),
                    BTreeSet::from(["SeRemoteInteractiveLogonRight".to_owned()]),
                ),
                (
                    "S-1-5-32-555".to_owned(),
                    BTreeSet::from(["SeRemoteInteractiveLogonRight".to_owned()]),
                ),
            ]),
            firewall: BTreeMap::from([
                ("RemoteDesktop-UserMode-In-TCP".to_owned(), true),
                ("RemoteDesktop-UserMode-In-UDP".to_owned(), true),
                ("RemoteDesktop-Shadow-In-TCP".to_owned(), false),
            ]),
            firewall_profiles: ["Domain", "Private", "Public"]
                .into_iter()
                .map(|name| FirewallProfile {
                    name: name.into(),
                    enabled: true,
                    inbound_block: true,
                })
                .collect(),
            listeners: BTreeMap::from([(
                3389,
                PortListener {
                    pid: 1044,
                    process: "svchost".into(),
                    services: vec!["TermService".into()],
                },
            )]),
            disk: Some(DiskSpace {
                drive: "C:".into(),
                free: 40 << 30,
                size: 127 << 30,
            }),
            access_denied: BTreeSet::new(),
            disk_files: BTreeMap::new(),
            hives: BTreeMap::new(),
        }
    }

    /// The loaded hive `key` is in, and the path below its mount.
    pub(super) fn hive_of(&self, key: &str) -> Option<(String, String)> {
        let (mount, rest) = key.split_once('\\').unwrap_or((key, ""));
        let mount = mount.to_lowercase();
        self.hives
            .contains_key(&mount)
            .then(|| (mount, rest.to_owned()))
    }

    /// Refused when `path`, or a folder on its way, is a junction or symbolic link.
    pub(super) fn check_no_links(&self, path: &str) -> HostResult<()> {
        match self
            .reparse_points
            .iter()
            .find(|(p, _)| same_path(p, path) || is_child_or_deeper(p, path))
        {
            Some((link, target)) => Err(HostError::refused(
                path,
                format!(
                    "{link} is a junction or symbolic link (to {target}); rdpfix never acts \
                     through one"
                ),
            )),
            None => Ok(()),
        }
    }

    /// `ERROR_ACCESS_DENIED` when `area` is refused on this machine.
    pub(super) fn check_access(&self, area: &str, what: &str) -> HostResult<()> {
        if self.access_denied.contains(area) {
            return Err(HostError::Os {
                what: what.to_owned(),
                code: 5,
                message: "access is denied".into(),
            });
        }
        Ok(())
    }

    pub(super) fn group(&self, sid: &str) -> HostResult<&BTreeSet<String>> {
        self.groups.get(sid).ok_or_else(|| group_not_found(sid))
    }

    pub(super) fn group_mut(&mut self, sid: &str) -> HostResult<&mut BTreeSet<String>> {
        self.groups.get_mut(sid).ok_or_else(|| group_not_found(sid))
    }

    /// Sets a value, creating the key and its parents as a real registry has them.
    pub fn set_reg(&mut self, key: &str, name: &str, value: RegValue) {
        self.add_key(key);
        self.registry
            .entry(key.to_lowercase())
            .or_default()
            .insert(name.to_lowercase(), value);
    }

    /// Adds an empty key and its missing parents.
    pub fn add_key(&mut self, key: &str) {
        let mut path = String::new();
        for part in key.split('\\') {
            if !path.is_empty() {
                path.push('\\');
            }
            path.push_str(&part.to_lowercase());
            self.registry.entry(path.clone()).or_default();
        }
    }

    pub fn reg(&self, key: &str, name: &str) -> Option<&RegValue> {
        self.registry
            .get(&key.to_lowercase())?
            .get(&name.to_lowercase())
    }

    /// The machine with the state directory left out: what a rollback must restore exactly
    /// (the journal and backups it wrote stay behind as the record).
    pub fn without_state(&self) -> Machine {
        let state = format!("{}\\", STATE_DIR.to_lowercase());
        let outside =
            |p: &String| !p.to_lowercase().starts_with(&state) && !p.eq_ignore_ascii_case(TASK_DIR);
        Machine {
            state_files: BTreeMap::new(),
            state_dir_sddl: None,
            state_dirs: BTreeSet::new(),
            security: self
                .security
                .iter()
                .filter(|(p, _)| outside(p))
                .map(|(p, s)| (p.clone(), s.clone()))
                .collect(),
            // The rollback task's folder is the fixer's own, like the state directory.
            dirs: self
                .dirs
                .iter()
                .filter(|p| !p.eq_ignore_ascii_case(TASK_DIR))
                .cloned()
                .collect(),
            lock_held: false,
            ..self.clone()
        }
    }
}

pub(super) fn path_key(path: &Path) -> String {
    path.to_string_lossy().trim_end_matches('\\').to_owned()
}

pub(super) fn same_path(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `child` is directly inside `parent` (case-insensitive, `\` separators).
pub(super) fn is_child(parent: &str, child: &str) -> bool {
    is_child_or_deeper(parent, child)
        && !child.get(parent.len() + 1..).unwrap_or("\\").contains('\\')
}

fn is_child_or_deeper(ancestor: &str, path: &str) -> bool {
    path.len() > ancestor.len() + 1
        && path
            .get(..ancestor.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(ancestor))
        && path.as_bytes().get(ancestor.len()) == Some(&b'\\')
}

/// The state directory's relative form of `path` (`journal/x/y`), if it is inside it.
fn state_rel(path: &str) -> Option<String> {
    if same_path(path, STATE_DIR) {
        return Some(String::new());
    }
    is_child_or_deeper(STATE_DIR, path).then(|| {
        path.get(STATE_DIR.len() + 1..)
            .unwrap_or_default()
            .replace('\\', "/")
    })
}

pub(super) fn state_abs(rel: &str) -> String {
    if rel.is_empty() {
        STATE_DIR.to_owned()
    } else {
        format!("{STATE_DIR}\\{}", rel.replace('/', "\\"))
    }
}

pub(super) fn find<'m, V>(map: &'m BTreeMap<String, V>, path: &str) -> Option<(&'m String, &'m V)> {
    map.iter().find(|(p, _)| same_path(p, path))
}

impl Machine {
    /// Every path the machine knows of, as spelled where it was first recorded.
    pub(super) fn known_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in self
            .security
            .keys()
            .chain(self.reparse_points.keys())
            .chain(self.dirs.iter())
        {
            // The folders on the way exist too.
            let mut at = 0;
            while let Some(i) = p.get(at..).and_then(|rest| rest.find('\\')) {
                if at + i > 2 {
                    out.push(p.get(..at + i).unwrap_or_default().to_owned());
                }
                at += i + 1;
            }
            out.push(p.clone());
        }
        if self.state_dir_sddl.is_some() {
            out.push(STATE_DIR.to_owned());
            for rel in self.state_files.keys().chain(self.state_dirs.iter()) {
                // Every folder on the way to a state file exists too.
                let mut at = String::new();
                for part in rel.split('/') {
                    if !at.is_empty() {
                        at.push('/');
                    }
                    at.push_str(part);
                    out.push(state_abs(&at));
                }
            }
        }
        out
    }

    pub(super) fn exists(&self, path: &str) -> bool {
        self.known_paths().iter().any(|p| same_path(p, path))
    }

    pub(super) fn is_dir(&self, path: &str) -> bool {
        same_path(path, STATE_DIR)
            || self.dirs.iter().any(|d| same_path(d, path))
            || self
                .known_paths()
                .iter()
                .any(|p| is_child_or_deeper(path, p))
            || state_rel(path).is_some_and(|r| self.state_dirs.contains(&r))
    }

    pub(super) fn file_id(&self, path: &str) -> u64 {
        if let Some((_, id)) = find(&self.file_ids, path) {
            return *id;
        }
        // FNV-1a of the lower-cased path: stable, and distinct enough for a test machine.
        path.to_lowercase()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
    }

    /// `path` opened as the Windows host opens it: without following a reparse point at
    /// the end, and refused when a junction higher up leads elsewhere.
    pub(super) fn open(&self, path: &str) -> HostResult<FsObject> {
        if let Some((_, target)) = find(&self.reparse_points, path) {
            return Err(HostError::refused(
                path,
                format!(
                    "it is a junction or symbolic link (to {target}); rdpfix never acts through one"
                ),
            ));
        }
        if let Some((link, target)) = self
            .reparse_points
            .iter()
            .find(|(p, _)| is_child_or_deeper(p, path))
        {
            return Err(HostError::refused(
                path,
                format!("its final path leads elsewhere: {link} is a junction to {target}"),
            ));
        }
        if !self.exists(path) {
            return Err(HostError::NotFound { what: path.into() });
        }
        Ok(FsObject {
            path: path.to_owned(),
            id: format!("{:08x}-{:016x}", 0x5eed_u32, self.file_id(path)),
            dir: self.is_dir(path),
        })
    }

    /// `obj` opened again: still the same object, or refused.
    pub(super) fn reopen(&self, obj: &FsObject) -> HostResult<()> {
        let now = self.open(&obj.path)?;
        if now.id != obj.id || now.dir != obj.dir {
            return Err(HostError::refused(
                &obj.path,
                "it was replaced by another file since rdpfix listed it (file id changed)",
            ));
        }
        Ok(())
    }

    pub(super) fn sddl(&self, path: &str) -> HostResult<String> {
        if let Some((_, s)) = find(&self.security, path) {
            return Ok(s.clone());
        }
        match (state_rel(path), &self.state_dir_sddl) {
            // Files and folders in the state directory inherit its ACL.
            (Some(_), Some(s)) => Ok(s.clone()),
            _ => Err(HostError::NotFound { what: path.into() }),
        }
    }
}

pub(super) fn service<'m>(m: &'m Machine, name: &str) -> HostResult<&'m SimService> {
    m.services
        .get(&name.to_lowercase())
        .ok_or_else(|| HostError::NotFound {
            what: format!("service {name}"),
        })
}

pub(super) fn service_mut<'m>(m: &'m mut Machine, name: &str) -> HostResult<&'m mut SimService> {
    m.services
        .get_mut(&name.to_lowercase())
        .ok_or_else(|| HostError::NotFound {
            what: format!("service {name}"),
        })
}

fn group_not_found(sid: &str) -> HostError {
    HostError::Os {
        what: format!("local group {sid}"),
        code: 2220,
        message: "the group name could not be found".into(),
    }
}
