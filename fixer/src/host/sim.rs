//! A simulated Windows machine in memory, with fault injection: what the executor's tests run
//! against on Linux, and what `fixer --simulate <machine.json>` drives end to end.
//!
//! The machine is plain data ([`Machine`]), so a test can snapshot it before and after and
//! compare the whole thing. Registry keys and value names compare case-insensitively, as on
//! Windows. The service control manager refuses what Windows refuses: stopping a service
//! whose dependents run (error 1051), starting a disabled one (1058).

use super::*;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
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
    /// Commit-confirm rollbacks waiting to fire: plan id → deadline.
    pub scheduled: BTreeMap<String, Timestamp>,
}

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

/// Where a fault strikes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAt {
    /// The n-th changing call (1-based), counting every change including journal writes.
    Call(u64),
    /// The first changing call whose description contains this text (e.g. a value name).
    Target(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The call fails with an error; the process goes on.
    Fail,
    /// The process dies just before the call: this and every later call fails, as if
    /// nothing ran after it. [`SimHost::restart`] brings the machine back.
    Crash,
    /// Like `Crash`, but an append dies half-way: the first half of its bytes reach the
    /// file (a torn journal line). Other calls die before they start.
    Torn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub at: FaultAt,
    pub kind: FaultKind,
}

/// The simulated host: a [`Machine`] plus fault injection and a log of the changes made.
#[derive(Debug)]
pub struct SimHost {
    inner: RefCell<Inner>,
}

#[derive(Debug)]
struct Inner {
    machine: Machine,
    fault: Option<Fault>,
    tamper: Option<Tamper>,
    changes: u64,
    crashed: bool,
    log: Vec<String>,
}

/// Another user acting on the machine at a chosen moment: just before the first changing
/// call whose description contains `before`, `act` changes the machine (swaps a file for a
/// junction, edits an ACL…). This is how tests race the fixer between a read and a write.
struct Tamper {
    before: String,
    act: Box<dyn FnOnce(&mut Machine)>,
}

impl std::fmt::Debug for Tamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tamper(before {:?})", self.before)
    }
}

pub const STATE_DIR: &str = r"C:\ProgramData\rdpfix";
pub const TASK_DIR: &str = r"C:\Program Files\rdpfix";
/// What `state_init` gives the state directory: protected, SYSTEM and Administrators only.
pub const SAFE_STATE_SDDL: &str = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

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
            scheduled: BTreeMap::new(),
        }
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

impl SimHost {
    pub fn new(machine: Machine) -> Self {
        SimHost {
            inner: RefCell::new(Inner {
                machine,
                fault: None,
                tamper: None,
                changes: 0,
                crashed: false,
                log: Vec::new(),
            }),
        }
    }

    /// Injects one fault; the change counter restarts at zero.
    pub fn inject(&self, fault: Fault) {
        let mut inner = self.inner.borrow_mut();
        inner.fault = Some(fault);
        inner.changes = 0;
    }

    /// Arranges for `act` to change the machine just before the first changing call whose
    /// description contains `before` (see [`Tamper`]).
    pub fn tamper(&self, before: &str, act: impl FnOnce(&mut Machine) + 'static) {
        self.inner.borrow_mut().tamper = Some(Tamper {
            before: before.to_owned(),
            act: Box::new(act),
        });
    }

    /// Changes the machine now, as another user or process would.
    pub fn edit(&self, f: impl FnOnce(&mut Machine)) {
        f(&mut self.inner.borrow_mut().machine);
    }

    /// After a simulated crash: a new process on the same machine, faults cleared. The OS
    /// released the dead process's lock.
    pub fn restart(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.crashed = false;
        inner.fault = None;
        inner.changes = 0;
        inner.machine.lock_held = false;
    }

    pub fn crashed(&self) -> bool {
        self.inner.borrow().crashed
    }

    pub fn machine(&self) -> Machine {
        self.inner.borrow().machine.clone()
    }

    pub fn set_now(&self, now: Timestamp) {
        self.inner.borrow_mut().machine.now = now;
    }

    /// The changes made so far, one line each, in order.
    pub fn change_log(&self) -> Vec<String> {
        self.inner.borrow().log.clone()
    }

    /// How many changing calls were made since the last `inject` or `restart`.
    pub fn change_count(&self) -> u64 {
        self.inner.borrow().changes
    }

    fn read<T>(&self, f: impl FnOnce(&Machine) -> HostResult<T>) -> HostResult<T> {
        let inner = self.inner.borrow();
        if inner.crashed {
            return Err(HostError::Crashed {
                what: "read".into(),
            });
        }
        f(&inner.machine)
    }

    /// Runs one change, unless a fault strikes first.
    fn change<T>(
        &self,
        what: String,
        f: impl FnOnce(&mut Machine) -> HostResult<T>,
    ) -> HostResult<T> {
        self.change_or_tear(what, f, |_| {})
    }

    /// [`change`](Self::change), with what a [`FaultKind::Torn`] leaves behind.
    fn change_or_tear<T>(
        &self,
        what: String,
        f: impl FnOnce(&mut Machine) -> HostResult<T>,
        torn: impl FnOnce(&mut Machine),
    ) -> HostResult<T> {
        let mut inner = self.inner.borrow_mut();
        if inner.crashed {
            return Err(HostError::Crashed { what });
        }
        inner.changes += 1;
        if inner
            .tamper
            .as_ref()
            .is_some_and(|t| what.contains(t.before.as_str()))
            && let Some(t) = inner.tamper.take()
        {
            (t.act)(&mut inner.machine);
        }
        let strikes = match &inner.fault {
            Some(Fault {
                at: FaultAt::Call(n),
                ..
            }) => *n == inner.changes,
            Some(Fault {
                at: FaultAt::Target(t),
                ..
            }) => what.contains(t.as_str()),
            None => false,
        };
        if strikes {
            let kind = inner.fault.as_ref().map(|f| f.kind);
            inner.fault = None;
            if kind == Some(FaultKind::Torn) {
                torn(&mut inner.machine);
            }
            if matches!(kind, Some(FaultKind::Crash | FaultKind::Torn)) {
                inner.crashed = true;
                return Err(HostError::Crashed { what });
            }
            return Err(HostError::Injected { what });
        }
        let result = f(&mut inner.machine);
        if result.is_ok() {
            inner.log.push(what);
        }
        result
    }
}

fn path_key(path: &Path) -> String {
    path.to_string_lossy().trim_end_matches('\\').to_owned()
}

fn same_path(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `child` is directly inside `parent` (case-insensitive, `\` separators).
fn is_child(parent: &str, child: &str) -> bool {
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

fn state_abs(rel: &str) -> String {
    if rel.is_empty() {
        STATE_DIR.to_owned()
    } else {
        format!("{STATE_DIR}\\{}", rel.replace('/', "\\"))
    }
}

fn find<'m, V>(map: &'m BTreeMap<String, V>, path: &str) -> Option<(&'m String, &'m V)> {
    map.iter().find(|(p, _)| same_path(p, path))
}

impl Machine {
    /// Every path the machine knows of, as spelled where it was first recorded.
    fn known_paths(&self) -> Vec<String> {
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

    fn exists(&self, path: &str) -> bool {
        self.known_paths().iter().any(|p| same_path(p, path))
    }

    fn is_dir(&self, path: &str) -> bool {
        same_path(path, STATE_DIR)
            || self.dirs.iter().any(|d| same_path(d, path))
            || self
                .known_paths()
                .iter()
                .any(|p| is_child_or_deeper(path, p))
            || state_rel(path).is_some_and(|r| self.state_dirs.contains(&r))
    }

    fn file_id(&self, path: &str) -> u64 {
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
    fn open(&self, path: &str) -> HostResult<FsObject> {
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
    fn reopen(&self, obj: &FsObject) -> HostResult<()> {
        let now = self.open(&obj.path)?;
        if now.id != obj.id || now.dir != obj.dir {
            return Err(HostError::refused(
                &obj.path,
                "it was replaced by another file since rdpfix listed it (file id changed)",
            ));
        }
        Ok(())
    }

    fn sddl(&self, path: &str) -> HostResult<String> {
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

fn service<'m>(m: &'m Machine, name: &str) -> HostResult<&'m SimService> {
    m.services
        .get(&name.to_lowercase())
        .ok_or_else(|| HostError::NotFound {
            what: format!("service {name}"),
        })
}

fn service_mut<'m>(m: &'m mut Machine, name: &str) -> HostResult<&'m mut SimService> {
    m.services
        .get_mut(&name.to_lowercase())
        .ok_or_else(|| HostError::NotFound {
            what: format!("service {name}"),
        })
}

impl Host for SimHost {
    fn now(&self) -> Timestamp {
        self.inner.borrow().machine.now
    }

    fn computer_names(&self) -> HostResult<ComputerNames> {
        self.read(|m| Ok(m.names.clone()))
    }

    fn wine_prefix_owner(&self) -> HostResult<Option<String>> {
        Ok(None)
    }

    fn reg_key_exists(&self, key: &str) -> HostResult<bool> {
        self.read(|m| Ok(m.registry.contains_key(&key.to_lowercase())))
    }

    fn reg_get(&self, key: &str, name: &str) -> HostResult<Option<RegValue>> {
        self.read(|m| Ok(m.reg(key, name).cloned()))
    }

    fn reg_set(&self, key: &str, name: &str, value: &RegValue) -> HostResult<()> {
        self.change(format!("reg set {key}\\{name} = {value}"), |m| {
            // RegCreateKeyEx creates every missing key on the way.
            m.set_reg(key, name, value.clone());
            Ok(())
        })
    }

    fn reg_delete_value(&self, key: &str, name: &str) -> HostResult<()> {
        self.change(format!("reg delete {key}\\{name}"), |m| {
            if let Some(values) = m.registry.get_mut(&key.to_lowercase()) {
                values.remove(&name.to_lowercase());
            }
            Ok(())
        })
    }

    fn reg_delete_empty_key(&self, key: &str) -> HostResult<()> {
        self.change(format!("reg delete key {key}"), |m| {
            let lower = key.to_lowercase();
            let prefix = format!("{lower}\\");
            let has_subkeys = m.registry.keys().any(|k| k.starts_with(&prefix));
            match m.registry.get(&lower) {
                None => Ok(()),
                Some(values) if values.is_empty() && !has_subkeys => {
                    m.registry.remove(&lower);
                    Ok(())
                }
                Some(_) => Err(HostError::failed(format!("key {key}"), "key is not empty")),
            }
        })
    }

    fn service_status(&self, name: &str) -> HostResult<ServiceStatus> {
        self.read(|m| Ok(service(m, name)?.status.clone()))
    }

    fn service_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        self.read(|m| Ok(service(m, name)?.dependents.clone()))
    }

    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        self.read(|m| {
            let deps = &service(m, name)?.dependents;
            Ok(deps
                .iter()
                .filter(|d| service(m, d).is_ok_and(|s| s.status.state == ServiceState::Running))
                .cloned()
                .collect())
        })
    }

    fn service_stop(&self, name: &str, _wait: Duration) -> HostResult<()> {
        self.change(format!("service stop {name}"), |m| {
            let deps = service(m, name)?.dependents.clone();
            if deps.iter().any(|d| {
                service(m, d).is_ok_and(|s| s.status.state != ServiceState::Stopped)
            }) {
                return Err(HostError::Os {
                    what: format!("stop service {name}"),
                    code: 1051,
                    message: "a stop control has been sent to a service that other running services are dependent on".into(),
                });
            }
            service_mut(m, name)?.status.state = ServiceState::Stopped;
            Ok(())
        })
    }

    fn service_start(&self, name: &str, _wait: Duration) -> HostResult<()> {
        self.change(format!("service start {name}"), |m| {
            let svc = service_mut(m, name)?;
            if svc.status.start_type == StartType::Disabled {
                return Err(HostError::Os {
                    what: format!("start service {name}"),
                    code: 1058,
                    message: "the service cannot be started because it is disabled".into(),
                });
            }
            if svc.fails_to_start {
                return Err(HostError::Os {
                    what: format!("start service {name}"),
                    code: 1053,
                    message: "the service did not respond to the start or control request in a timely fashion".into(),
                });
            }
            if let Some(code) = svc.exits_after_start {
                svc.status.state = ServiceState::Stopped;
                return Err(HostError::Os {
                    what: format!("start service {name} (it stopped)"),
                    code,
                    message: "the service started, then stopped".into(),
                });
            }
            svc.status.state = ServiceState::Running;
            Ok(())
        })
    }

    fn service_set_start_type(&self, name: &str, start: StartType) -> HostResult<()> {
        self.change(format!("service config {name} start= {start}"), |m| {
            service_mut(m, name)?.status.start_type = start;
            Ok(())
        })
    }

    fn service_set_delayed_auto_start(&self, name: &str, delayed: bool) -> HostResult<()> {
        self.change(format!("service config {name} delayed= {delayed}"), |m| {
            service_mut(m, name)?.status.delayed_auto_start = delayed;
            Ok(())
        })
    }

    fn service_account(&self, name: &str) -> HostResult<String> {
        self.read(|m| Ok(service(m, name)?.account.clone()))
    }

    fn service_set_account(&self, name: &str, account: &str) -> HostResult<()> {
        self.change(format!("service config {name} obj= {account}"), |m| {
            service_mut(m, name)?.account = account.to_owned();
            Ok(())
        })
    }

    fn cert_list(&self, _store: CertStore) -> HostResult<Vec<CertInfo>> {
        self.read(|m| Ok(m.certs.clone()))
    }

    fn cert_delete(&self, store: CertStore, thumbprint: &str) -> HostResult<()> {
        self.change(format!("cert delete {} {thumbprint}", store.name()), |m| {
            let before = m.certs.len();
            m.certs
                .retain(|c| !c.thumbprint.eq_ignore_ascii_case(thumbprint));
            if m.certs.len() == before {
                return Err(HostError::NotFound {
                    what: format!("certificate {thumbprint}"),
                });
            }
            Ok(())
        })
    }

    fn cert_add(&self, store: CertStore, cert: &CertInfo) -> HostResult<()> {
        let what = format!("cert add {} {}", store.name(), cert.thumbprint);
        self.change(what.clone(), |m| {
            // As Windows checks with CRYPT_ACQUIRE_COMPARE_KEY_FLAG after adding it back.
            if let Some(k) = cert
                .key
                .as_ref()
                .filter(|k| m.replaced_keys.contains(&k.container))
            {
                return Err(HostError::refused(
                    what,
                    format!(
                        "its private key ({}) is no longer the one it was made with; Windows \
                         made a new certificate and key, which RDP uses",
                        k.container
                    ),
                ));
            }
            m.certs
                .retain(|c| !c.thumbprint.eq_ignore_ascii_case(&cert.thumbprint));
            m.certs.push(cert.clone());
            Ok(())
        })
    }

    fn program_data(&self) -> PathBuf {
        PathBuf::from(r"C:\ProgramData")
    }

    fn fs_object(&self, path: &Path) -> HostResult<FsObject> {
        let key = path_key(path);
        self.read(|m| m.open(&key))
    }

    fn fs_children(&self, folder: &FsObject) -> HostResult<FsListing> {
        self.read(|m| {
            m.reopen(folder)?;
            let mut names: Vec<String> = m
                .known_paths()
                .into_iter()
                .filter(|p| is_child(&folder.path, p))
                .collect();
            names.sort_by_key(|p| p.to_lowercase());
            names.dedup_by(|a, b| same_path(a, b));
            let mut listing = FsListing::default();
            for path in names {
                let links = find(&m.links, &path).map_or(1, |(_, n)| *n);
                match m.open(&path) {
                    Ok(obj) if !obj.dir && links > 1 => listing.skipped.push(FsSkipped {
                        path,
                        reason: format!(
                            "a file with {links} hard links: its security is shared with a file elsewhere"
                        ),
                    }),
                    Ok(obj) => listing.objects.push(obj),
                    Err(HostError::Refused { reason, .. }) => {
                        listing.skipped.push(FsSkipped { path, reason });
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(listing)
        })
    }

    fn sd_read(&self, obj: &FsObject) -> HostResult<String> {
        self.read(|m| {
            m.reopen(obj)?;
            m.sddl(&obj.path)
        })
    }

    fn sd_write(&self, obj: &FsObject, expect: &str, write: &SdWrite) -> HostResult<()> {
        let what = format!(
            "acl set {} owner={} dacl={}",
            obj.path,
            write.owner.as_deref().unwrap_or("-"),
            write.dacl.as_deref().unwrap_or("-")
        );
        self.change(what, |m| {
            m.reopen(obj)?;
            let current = m.sddl(&obj.path)?;
            let new = super::sd_after_write(&obj.path, &current, expect, write)?;
            let slot = find(&m.security, &obj.path).map(|(p, _)| p.clone());
            m.security
                .insert(slot.unwrap_or_else(|| obj.path.clone()), new);
            Ok(())
        })
    }

    fn create_admin_dir(&self, path: &Path) -> HostResult<Made> {
        let key = path_key(path);
        if self.read(|m| Ok(m.exists(&key)))? {
            return Ok(Made::Existed);
        }
        self.change(format!("mkdir {key}"), |m| {
            if same_path(&key, STATE_DIR) {
                m.state_dir_sddl = Some(SAFE_STATE_SDDL.into());
            } else {
                m.dirs.insert(key.clone());
                m.security.insert(key.clone(), SAFE_STATE_SDDL.into());
            }
            Ok(Made::Created)
        })
    }

    fn state_dir(&self) -> PathBuf {
        PathBuf::from(STATE_DIR)
    }

    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        self.read(|m| Ok(m.state_files.get(rel).cloned()))
    }

    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.change(format!("state write {rel}"), |m| {
            m.state_files.insert(rel.to_owned(), bytes.to_vec());
            Ok(())
        })
    }

    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        let half = bytes.get(..bytes.len() / 2).unwrap_or_default().to_vec();
        self.change_or_tear(
            format!("state append {rel}"),
            |m| {
                m.state_files
                    .entry(rel.to_owned())
                    .or_default()
                    .extend_from_slice(bytes);
                Ok(())
            },
            |m| {
                m.state_files
                    .entry(rel.to_owned())
                    .or_default()
                    .extend_from_slice(&half);
            },
        )
    }

    fn state_truncate(&self, rel: &str, len: u64) -> HostResult<()> {
        self.change(format!("state truncate {rel} to {len}"), |m| {
            let file = m
                .state_files
                .get_mut(rel)
                .ok_or_else(|| HostError::NotFound { what: rel.into() })?;
            file.truncate(usize::try_from(len).unwrap_or(usize::MAX));
            Ok(())
        })
    }

    fn state_create_dir(&self, rel: &str) -> HostResult<()> {
        self.change(format!("state mkdir {rel}"), |m| {
            let prefix = format!("{rel}/");
            if m.state_dirs.contains(rel) || m.state_files.keys().any(|k| k.starts_with(&prefix)) {
                return Err(HostError::Exists {
                    what: state_abs(rel),
                });
            }
            m.state_dirs.insert(rel.to_owned());
            Ok(())
        })
    }

    fn state_list(&self, rel: &str) -> HostResult<Vec<String>> {
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        self.read(|m| {
            let names: BTreeSet<String> = m
                .state_files
                .keys()
                .chain(m.state_dirs.iter())
                .filter_map(|k| k.strip_prefix(&prefix))
                .filter_map(|rest| rest.split('/').next())
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            Ok(names.into_iter().collect())
        })
    }

    fn lock(&self, _wait: Duration) -> HostResult<()> {
        let mut inner = self.inner.borrow_mut();
        if inner.crashed {
            return Err(HostError::Crashed {
                what: "lock".into(),
            });
        }
        if inner.machine.lock_held {
            return Err(HostError::Busy {
                what: format!("{STATE_DIR}\\lock"),
            });
        }
        inner.machine.lock_held = true;
        Ok(())
    }

    fn unlock(&self) {
        self.inner.borrow_mut().machine.lock_held = false;
    }

    fn log_export(&self, export: &LogExport, dir: &Path, file: &str) -> HostResult<PathBuf> {
        let dest = format!("{}\\{file}", path_key(dir));
        self.change(format!("log export {} -> {dest}", export.channel), |m| {
            let text = m
                .logs
                .get(&export.channel)
                .cloned()
                .ok_or_else(|| HostError::Os {
                    what: format!("wevtutil epl {}", export.channel),
                    code: 15007,
                    message: "the specified channel could not be found".into(),
                })?;
            m.exported.insert(dest.clone(), text);
            Ok(PathBuf::from(&dest))
        })
    }

    /// Recorded in `exported` under the archive's path: its members, one per line.
    fn zip_logs(&self, dir: &Path, files: &[PathBuf]) -> HostResult<LogBundle> {
        let dest = format!("{}\\{}", path_key(dir), crate::bundle::FILE_NAME);
        let folder = path_key(dir)
            .rsplit('\\')
            .next()
            .unwrap_or("rdpfix-logs")
            .to_owned();
        self.change(format!("zip logs -> {dest}"), |m| {
            let mut members = Vec::new();
            let mut bytes = 0u64;
            for f in files {
                let key = path_key(f);
                let text = m
                    .exported
                    .get(&key)
                    .ok_or_else(|| HostError::NotFound { what: key.clone() })?;
                bytes += text.len() as u64;
                members.push(format!(
                    "{folder}/{}",
                    key.rsplit('\\').next().unwrap_or(&key)
                ));
            }
            m.exported.insert(dest.clone(), members.join("\n"));
            Ok(LogBundle {
                path: dest.clone(),
                bytes,
                members,
            })
        })
    }

    fn log_query_text(&self, export: &LogExport, _max: u32) -> HostResult<String> {
        self.read(|m| {
            m.logs
                .get(&export.channel)
                .cloned()
                .ok_or_else(|| HostError::Os {
                    what: format!("wevtutil qe {}", export.channel),
                    code: 15007,
                    message: "the specified channel could not be found".into(),
                })
        })
    }

    fn task_dir(&self) -> PathBuf {
        PathBuf::from(TASK_DIR)
    }

    fn schedule_rollback(&self, plan_id: &str, deadline: Timestamp) -> HostResult<()> {
        self.change(format!("schedule rollback {plan_id} at {deadline}"), |m| {
            m.scheduled.insert(plan_id.to_owned(), deadline);
            Ok(())
        })
    }

    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()> {
        self.change(format!("cancel scheduled rollback {plan_id}"), |m| {
            m.scheduled.remove(plan_id);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_direct_only_and_junctions_and_hard_links_are_skipped() {
        let mut m = Machine::new("A", "a", Timestamp::UNIX_EPOCH);
        let keys = r"C:\K";
        m.security.insert(keys.into(), "O:SYD:P(A;;FA;;;SY)".into());
        m.security
            .insert(format!(r"{keys}\a"), "O:SYD:(A;;FA;;;SY)".into());
        m.security
            .insert(format!(r"{keys}\sub\b"), "O:SYD:(A;;FA;;;SY)".into());
        m.reparse_points
            .insert(format!(r"{keys}\j"), r"C:\Windows".into());
        m.security
            .insert(format!(r"{keys}\h"), "O:SYD:(A;;FA;;;SY)".into());
        m.links.insert(format!(r"{keys}\h"), 2);
        let host = SimHost::new(m);
        let folder = host.fs_object(Path::new(keys)).unwrap();
        let listing = host.fs_children(&folder).unwrap();
        let names: Vec<&str> = listing.objects.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(names, [r"C:\K\a", r"C:\K\sub"]);
        assert!(listing.objects[1].dir);
        let skipped: Vec<&str> = listing.skipped.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(skipped, [r"C:\K\h", r"C:\K\j"]);
        // Through the junction's parent chain: refused, not followed.
        assert!(matches!(
            host.fs_object(Path::new(r"C:\K\j\x")),
            Err(HostError::Refused { .. })
        ));
    }

    #[test]
    fn a_write_to_a_swapped_file_or_a_changed_descriptor_is_refused() {
        let mut m = Machine::new("A", "a", Timestamp::UNIX_EPOCH);
        m.security
            .insert(r"C:\f".into(), "O:BUD:(A;;FA;;;BU)".into());
        let host = SimHost::new(m);
        let obj = host.fs_object(Path::new(r"C:\f")).unwrap();
        let sd = host.sd_read(&obj).unwrap();
        let owner = SdWrite {
            owner: Some("S-1-5-32-544".into()),
            dacl: None,
        };
        assert!(matches!(
            host.sd_write(&obj, "O:SYD:(A;;FA;;;SY)", &owner),
            Err(HostError::Refused { .. })
        ));
        host.edit(|m| {
            m.file_ids.insert(r"C:\f".into(), 7);
        });
        assert!(matches!(
            host.sd_write(&obj, &sd, &owner),
            Err(HostError::Refused { .. })
        ));
        assert_eq!(host.machine().security[r"C:\f"], "O:BUD:(A;;FA;;;BU)");
    }
}
