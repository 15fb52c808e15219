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
use std::collections::BTreeMap;

/// The whole simulated machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub names: ComputerNames,
    pub now: Timestamp,
    /// Lower-cased HKLM key path → (lower-cased value name → value). A key exists iff present.
    pub registry: BTreeMap<String, BTreeMap<String, RegValue>>,
    pub services: BTreeMap<String, SimService>,
    pub certs: Vec<CertInfo>,
    /// File or folder path → its SDDL; a path exists iff present.
    pub security: BTreeMap<String, String>,
    /// The state directory's files (relative path → bytes), and its SDDL (`None`: missing).
    pub state_files: BTreeMap<String, Vec<u8>>,
    pub state_dir_sddl: Option<String>,
    /// Event log text per channel, returned by `log_query_text`; exports land in `exported`.
    pub logs: BTreeMap<String, String>,
    pub exported: BTreeMap<String, String>,
    /// Commit-confirm rollbacks waiting to fire: plan id → deadline.
    pub scheduled: BTreeMap<String, Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimService {
    pub status: ServiceStatus,
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
    changes: u64,
    crashed: bool,
    log: Vec<String>,
}

pub const STATE_DIR: &str = r"C:\ProgramData\rdpfix";
/// What `state_init` gives the state directory: protected, SYSTEM and Administrators only.
pub const SAFE_STATE_SDDL: &str = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

impl Machine {
    /// A plain machine named `names`: the RDP services running, no other state.
    pub fn new(netbios: &str, dns_fqdn: &str, now: Timestamp) -> Self {
        let running = |start_type| ServiceStatus {
            state: ServiceState::Running,
            start_type,
        };
        let service = |start_type, dependents: &[&str]| SimService {
            status: running(start_type),
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
            state_files: BTreeMap::new(),
            state_dir_sddl: None,
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
        Machine {
            state_files: BTreeMap::new(),
            state_dir_sddl: None,
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

    /// After a simulated crash: a new process on the same machine, faults cleared.
    pub fn restart(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.crashed = false;
        inner.fault = None;
        inner.changes = 0;
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
        let mut inner = self.inner.borrow_mut();
        if inner.crashed {
            return Err(HostError::Crashed { what });
        }
        inner.changes += 1;
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
            if kind == Some(FaultKind::Crash) {
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

    fn service_account(&self, name: &str) -> HostResult<String> {
        self.read(|m| Ok(service(m, name)?.account.clone()))
    }

    fn service_set_account(&self, name: &str, account: &str) -> HostResult<()> {
        self.change(format!("service config {name} obj= {account}"), |m| {
            service_mut(m, name)?.account = account.to_owned();
            Ok(())
        })
    }

    fn program_data(&self) -> PathBuf {
        PathBuf::from(r"C:\ProgramData")
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

    fn sd_get(&self, path: &Path) -> HostResult<String> {
        let key = path_key(path);
        self.read(|m| {
            m.security
                .iter()
                .find(|(p, _)| same_path(p, &key))
                .map(|(_, sddl)| sddl.clone())
                .ok_or(HostError::NotFound { what: key.clone() })
        })
    }

    fn sd_set(&self, path: &Path, sddl: &str) -> HostResult<()> {
        let key = path_key(path);
        self.change(format!("acl set {key} {sddl}"), |m| {
            let slot = m
                .security
                .iter_mut()
                .find(|(p, _)| same_path(p, &key))
                .map(|(_, sddl)| sddl)
                .ok_or(HostError::NotFound { what: key.clone() })?;
            *slot = sddl.to_owned();
            Ok(())
        })
    }

    fn list_tree(&self, path: &Path) -> HostResult<Vec<PathBuf>> {
        let prefix = format!("{}\\", path_key(path)).to_lowercase();
        self.read(|m| {
            Ok(m.security
                .keys()
                .filter(|p| p.to_lowercase().starts_with(&prefix))
                .map(PathBuf::from)
                .collect())
        })
    }

    fn state_dir(&self) -> PathBuf {
        PathBuf::from(STATE_DIR)
    }

    fn state_init(&self) -> HostResult<()> {
        if self.read(|m| Ok(m.state_dir_sddl.is_some()))? {
            return Ok(());
        }
        self.change("state init".into(), |m| {
            m.state_dir_sddl = Some(SAFE_STATE_SDDL.into());
            Ok(())
        })
    }

    fn state_sd(&self, rel: &str) -> HostResult<Option<String>> {
        self.read(|m| {
            Ok(match rel {
                "" => m.state_dir_sddl.clone(),
                // Files inherit the directory's ACL.
                _ if m.state_files.contains_key(rel) => m.state_dir_sddl.clone(),
                _ => None,
            })
        })
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
        self.change(format!("state append {rel}"), |m| {
            m.state_files
                .entry(rel.to_owned())
                .or_default()
                .extend_from_slice(bytes);
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
            let mut names: Vec<String> = m
                .state_files
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .filter_map(|rest| rest.split('/').next())
                .map(str::to_owned)
                .collect();
            names.dedup();
            Ok(names)
        })
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
