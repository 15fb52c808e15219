//! [`OfflineHost`]: the rescue VM's host with each effect mapped onto the attached disk,
//! as the module's doc lists (registry, services, certificate store, files, state; the
//! rest refused).
//!
//! Invariants: every key goes through the analyzer's [`OfflineTarget::hive_key`] (or
//! `hive_key_or_above` for a read), never a mapping of its own; while only the files are
//! read ([`OfflineHost::files`]) every change is refused; a path is the disk's or the rescue
//! VM's state directory, nothing else.

use super::disk::{
    Disk, DiskError, HiveFile, RDP_CERTIFICATES, SOFTWARE_HIVE, SYSTEM_HIVE, on_disk,
};
use super::mounts::Mounts;
use crate::host::*;
use analyzer::plan::OfflineTarget;
use analyzer::plan::offline::OfflineHive;

/// How the registry of the disk is reached.
#[derive(Debug)]
enum Registry<'h> {
    /// Read from the hive files in place; nothing can be written (verify, check 10's
    /// dry-run).
    Files {
        system: Box<HiveFile<'h>>,
        software: Box<HiveFile<'h>>,
    },
    /// The hives loaded under these mounts.
    Loaded(Mounts),
}

/// The attached disk as a [`Host`] (see the module's doc).
#[derive(Debug)]
pub struct OfflineHost<'h> {
    inner: &'h dyn Host,
    disk: &'h Disk,
    /// The plan's target: which control set `CurrentControlSet` is
    /// ([`OfflineTarget::hive_key`] maps every key).
    target: OfflineTarget,
    registry: Registry<'h>,
    /// Certificates put back into the store by this run (a rollback's restore).
    added: std::cell::RefCell<Vec<String>>,
}

const NOT_RUNNING: &str = "it is on a disk attached to this rescue VM, not running: \
    an offline plan never has this step (it happens when the VM starts)";

impl<'h> OfflineHost<'h> {
    /// Reads the disk's registry from its hive files, opened in place: changing it is
    /// refused.
    pub fn files(
        inner: &'h dyn Host,
        disk: &'h Disk,
        target: OfflineTarget,
    ) -> Result<Self, DiskError> {
        Ok(OfflineHost {
            inner,
            disk,
            target,
            registry: Registry::Files {
                system: Box::new(HiveFile::open(inner, &on_disk(&disk.root, SYSTEM_HIVE))?),
                software: Box::new(HiveFile::open(inner, &on_disk(&disk.root, SOFTWARE_HIVE))?),
            },
            added: std::cell::RefCell::default(),
        })
    }

    /// The disk's registry as loaded under `mounts` (see [`Loaded`](super::Loaded)).
    pub fn loaded(
        inner: &'h dyn Host,
        disk: &'h Disk,
        target: OfflineTarget,
        mounts: &Mounts,
    ) -> Self {
        OfflineHost {
            inner,
            disk,
            target,
            registry: Registry::Loaded(mounts.clone()),
            added: std::cell::RefCell::default(),
        }
    }

    /// The hive and the path below its root that `key` (as a running machine names it,
    /// below `HKLM\`) is on the disk: the analyzer's [`OfflineTarget::hive_key`], the one
    /// rule the plan was built with; a read may also reach the keys above those
    /// ([`OfflineTarget::hive_key_or_above`]: the hives' roots, `CurrentControlSet`).
    fn map(&self, key: &str, change: bool) -> HostResult<(OfflineHive, String)> {
        let full = format!(r"HKLM\{key}");
        let place = if change {
            self.target.hive_key(&full)
        } else {
            self.target.hive_key_or_above(&full)
        };
        place.ok_or_else(|| {
            HostError::refused(
                full,
                "an offline plan reaches only the disk's SYSTEM\\CurrentControlSet and \
                 SOFTWARE keys",
            )
        })
    }

    /// The key under its mount, for a loaded hive; `Err` when only the files are read.
    fn mounted(&self, key: &str, change: bool) -> HostResult<Option<String>> {
        let (hive, path) = self.map(key, change)?;
        match &self.registry {
            Registry::Loaded(m) => {
                let mount = match hive {
                    OfflineHive::System => &m.system,
                    OfflineHive::Software => &m.software,
                };
                Ok(Some(if path.is_empty() {
                    mount.clone()
                } else {
                    format!("{mount}\\{path}")
                }))
            }
            Registry::Files { .. } if change => Err(HostError::refused(
                format!(r"HKLM\{key}"),
                "the disk's hives are not loaded: this run only reads their files",
            )),
            Registry::Files { .. } => Ok(None),
        }
    }

    /// The hive file `key` is in, for a run that reads the files.
    fn file(&self, key: &str) -> HostResult<(&HiveFile<'h>, String)> {
        let (hive, path) = self.map(key, false)?;
        match &self.registry {
            Registry::Files { system, software } => Ok((
                match hive {
                    OfflineHive::System => system,
                    OfflineHive::Software => software,
                },
                path,
            )),
            Registry::Loaded(_) => Err(HostError::failed(
                format!(r"HKLM\{key}"),
                "the hives are loaded: read through their mounts",
            )),
        }
    }

    fn service_key(name: &str) -> String {
        format!(r"SYSTEM\CurrentControlSet\Services\{name}")
    }

    fn refuse<T>(what: String) -> HostResult<T> {
        Err(HostError::refused(what, NOT_RUNNING))
    }

    /// A path the plan may touch: on the disk, or in the rescue VM's state directory.
    fn check_path(&self, path: &Path) -> HostResult<()> {
        let text = path.to_string_lossy().to_lowercase();
        let under = |p: PathBuf| {
            let p = p.to_string_lossy().to_lowercase();
            let p = p.trim_end_matches('\\');
            text == p || text.starts_with(&format!("{p}\\"))
        };
        if under(self.disk.root.clone()) || under(self.inner.state_dir()) {
            return Ok(());
        }
        Err(HostError::refused(
            path.display().to_string(),
            format!(
                "it is not on the attached disk ({}): an offline plan changes only that disk",
                self.disk.root.display()
            ),
        ))
    }

    fn cert_key(thumbprint: &str) -> String {
        format!(r"{RDP_CERTIFICATES}\{thumbprint}")
    }
}

fn start_type(n: u32) -> Option<StartType> {
    Some(match n {
        0 => StartType::Boot,
        1 => StartType::System,
        2 => StartType::Auto,
        3 => StartType::Demand,
        4 => StartType::Disabled,
        _ => return None,
    })
}

fn start_number(t: StartType) -> u32 {
    match t {
        StartType::Boot => 0,
        StartType::System => 1,
        StartType::Auto => 2,
        StartType::Demand => 3,
        StartType::Disabled => 4,
    }
}

/// The certificate (DER) inside a store entry's `Blob`: a list of properties, each
/// `{id, 1, length, bytes}` in little-endian `u32`s; id 32 (`CERT_CERT_PROP_ID`) is the
/// certificate. Empty when the blob holds none (it is kept whole for a restore anyway).
fn der_of_blob(blob: &[u8]) -> Vec<u8> {
    const CERT_CERT_PROP_ID: u32 = 32;
    let word = |at: usize| {
        blob.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let mut at = 0usize;
    while let (Some(id), Some(len)) = (word(at), word(at + 8)) {
        let start = at + 12;
        let Some(end) = start.checked_add(len as usize) else {
            break;
        };
        let Some(data) = blob.get(start..end) else {
            break;
        };
        if id == CERT_CERT_PROP_ID {
            return data.to_vec();
        }
        at = end;
    }
    Vec::new()
}

impl Host for OfflineHost<'_> {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }

    /// The disk's Windows' name (its SYSTEM hive's `ComputerName`).
    fn computer_names(&self) -> HostResult<ComputerNames> {
        Ok(ComputerNames {
            netbios: self.disk.computer.clone(),
            dns_fqdn: self.disk.computer.clone(),
        })
    }

    fn wine_prefix_owner(&self) -> HostResult<Option<String>> {
        self.inner.wine_prefix_owner()
    }

    fn reg_key_exists(&self, key: &str) -> HostResult<bool> {
        match self.mounted(key, false)? {
            Some(k) => self.inner.reg_key_exists(&k),
            None => {
                let (file, path) = self.file(key)?;
                file.key_exists(&path).map_err(host_error)
            }
        }
    }

    fn reg_get(&self, key: &str, name: &str) -> HostResult<Option<RegValue>> {
        match self.mounted(key, false)? {
            Some(k) => self.inner.reg_get(&k, name),
            None => {
                let (file, path) = self.file(key)?;
                file.lookup(&path, name).map_err(host_error)
            }
        }
    }

    fn reg_set(&self, key: &str, name: &str, value: &RegValue) -> HostResult<()> {
        let k = self.mounted(key, true)?.unwrap_or_default();
        self.inner.reg_set(&k, name, value)
    }

    fn reg_delete_value(&self, key: &str, name: &str) -> HostResult<()> {
        let k = self.mounted(key, true)?.unwrap_or_default();
        self.inner.reg_delete_value(&k, name)
    }

    fn reg_delete_empty_key(&self, key: &str) -> HostResult<()> {
        let k = self.mounted(key, true)?.unwrap_or_default();
        self.inner.reg_delete_empty_key(&k)
    }

    /// Never running; the start type is the service key's `Start`.
    fn service_status(&self, name: &str) -> HostResult<ServiceStatus> {
        let key = Self::service_key(name);
        if !self.reg_key_exists(&key)? {
            return Err(HostError::NotFound {
                what: format!("service {name} on the disk"),
            });
        }
        let start = self.reg_get(&key, "Start")?.and_then(|v| v.as_dword());
        let start_type = start.and_then(start_type).ok_or_else(|| {
            HostError::failed(
                format!(r"{key}\Start"),
                format!("not a start type Windows knows ({start:?})"),
            )
        })?;
        let delayed = self
            .reg_get(&key, "DelayedAutostart")?
            .and_then(|v| v.as_dword())
            .is_some_and(|d| d != 0);
        Ok(ServiceStatus {
            state: ServiceState::Stopped,
            start_type,
            delayed_auto_start: delayed,
        })
    }

    fn service_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        Self::refuse(format!("the services that depend on {name}"))
    }

    /// Nothing runs on a disk.
    fn service_running_dependents(&self, _name: &str) -> HostResult<Vec<String>> {
        Ok(Vec::new())
    }

    fn service_stop(&self, name: &str, _wait: Duration) -> HostResult<()> {
        Self::refuse(format!("stop service {name}"))
    }

    fn service_start(&self, name: &str, _wait: Duration) -> HostResult<()> {
        Self::refuse(format!("start service {name}"))
    }

    fn service_set_start_type(&self, name: &str, start: StartType) -> HostResult<()> {
        self.service_status(name)?;
        self.reg_set(
            &Self::service_key(name),
            "Start",
            &RegValue::dword(start_number(start)),
        )
    }

    fn service_set_delayed_auto_start(&self, name: &str, delayed: bool) -> HostResult<()> {
        self.service_status(name)?;
        self.reg_set(
            &Self::service_key(name),
            "DelayedAutostart",
            &RegValue::dword(u32::from(delayed)),
        )
    }

    fn service_account(&self, name: &str) -> HostResult<String> {
        let key = Self::service_key(name);
        self.reg_get(&key, "ObjectName")?
            .and_then(|v| v.as_text())
            .ok_or_else(|| HostError::NotFound {
                what: format!(r"{key}\ObjectName"),
            })
    }

    fn service_set_account(&self, name: &str, _account: &str) -> HostResult<()> {
        Self::refuse(format!("change the account of service {name}"))
    }

    fn group_members(&self, group: &str) -> HostResult<Vec<String>> {
        Self::refuse(format!("members of {group} (in the disk's SAM hive)"))
    }

    fn group_add_member(&self, group: &str, member: &str) -> HostResult<()> {
        Self::refuse(format!("add {member} to {group} (in the disk's SAM hive)"))
    }

    fn group_remove_member(&self, group: &str, member: &str) -> HostResult<()> {
        Self::refuse(format!(
            "remove {member} from {group} (in the disk's SAM hive)"
        ))
    }

    fn account_rights(&self, sid: &str) -> HostResult<Vec<String>> {
        Self::refuse(format!("rights of {sid} (in the disk's SECURITY hive)"))
    }

    fn right_holders(&self, right: &str) -> HostResult<Vec<String>> {
        Self::refuse(format!("holders of {right} (in the disk's SECURITY hive)"))
    }

    fn account_rights_add(&self, sid: &str, right: &str) -> HostResult<()> {
        Self::refuse(format!(
            "grant {right} to {sid} (in the disk's SECURITY hive)"
        ))
    }

    fn account_rights_remove(&self, sid: &str, right: &str) -> HostResult<()> {
        Self::refuse(format!(
            "take {right} from {sid} (in the disk's SECURITY hive)"
        ))
    }

    fn firewall_rule_enabled(&self, rule_id: &str) -> HostResult<Option<bool>> {
        Self::refuse(format!("firewall rule {rule_id}"))
    }

    fn firewall_rule_set_enabled(&self, rule_id: &str, _enabled: bool) -> HostResult<()> {
        Self::refuse(format!("firewall rule {rule_id}"))
    }

    fn firewall_profiles(&self) -> HostResult<Vec<FirewallProfile>> {
        Self::refuse("firewall profiles".into())
    }

    fn port_listener(&self, port: u16) -> HostResult<Option<PortListener>> {
        Self::refuse(format!("who listens on port {port}"))
    }

    fn system_drive_space(&self) -> HostResult<DiskSpace> {
        Self::refuse("the system drive's space".into())
    }

    /// The store's certificates the disk held when its files were read, and those put
    /// back since, that are there now.
    fn cert_list(&self, _store: CertStore) -> HostResult<Vec<CertInfo>> {
        let mut out = Vec::new();
        let mut known = self.disk.certificates.clone();
        for t in self.added.borrow().iter() {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(t)) {
                known.push(t.clone());
            }
        }
        for thumbprint in &known {
            let Some(blob) = self.reg_get(&Self::cert_key(thumbprint), "Blob")? else {
                continue;
            };
            out.push(CertInfo {
                thumbprint: thumbprint.to_uppercase(),
                subject: String::new(),
                not_after: None,
                der: der_of_blob(&blob.data),
                key: None,
                blob: Some(blob.data),
            });
        }
        Ok(out)
    }

    fn cert_delete(&self, _store: CertStore, thumbprint: &str) -> HostResult<()> {
        let key = Self::cert_key(thumbprint);
        if self.reg_get(&key, "Blob")?.is_none() {
            return Err(HostError::NotFound {
                what: format!("certificate {thumbprint}"),
            });
        }
        self.reg_delete_value(&key, "Blob")?;
        self.reg_delete_empty_key(&key)
    }

    fn cert_add(&self, _store: CertStore, cert: &CertInfo) -> HostResult<()> {
        let what = format!("certificate {}", cert.thumbprint);
        let blob = cert.blob.clone().ok_or_else(|| {
            HostError::refused(
                &what,
                "its backup holds no registry Blob (it was not taken from a disk)",
            )
        })?;
        // The thumbprint names a registry key: a SHA-1 in hex, nothing else.
        if cert.thumbprint.len() != 40 || !cert.thumbprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(HostError::refused(
                what,
                "its thumbprint is not a SHA-1 in hex",
            ));
        }
        self.reg_set(
            &Self::cert_key(&cert.thumbprint),
            "Blob",
            &RegValue::binary(blob),
        )?;
        self.added.borrow_mut().push(cert.thumbprint.clone());
        Ok(())
    }

    /// The disk's (`F:\ProgramData`).
    fn program_data(&self) -> PathBuf {
        on_disk(&self.disk.root, "ProgramData")
    }

    fn fs_object(&self, path: &Path) -> HostResult<FsObject> {
        self.check_path(path)?;
        self.inner.fs_object(path)
    }

    fn fs_children(&self, folder: &FsObject) -> HostResult<FsListing> {
        self.check_path(Path::new(&folder.path))?;
        self.inner.fs_children(folder)
    }

    fn sd_read(&self, obj: &FsObject) -> HostResult<String> {
        self.check_path(Path::new(&obj.path))?;
        self.inner.sd_read(obj)
    }

    fn sd_write(&self, obj: &FsObject, expect: &str, write: &SdWrite) -> HostResult<()> {
        self.check_path(Path::new(&obj.path))?;
        self.inner.sd_write(obj, expect, write)
    }

    fn create_admin_dir(&self, path: &Path) -> HostResult<Made> {
        self.check_path(path)?;
        self.inner.create_admin_dir(path)
    }

    fn state_dir(&self) -> PathBuf {
        self.inner.state_dir()
    }

    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        self.inner.state_read(rel)
    }

    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.inner.state_write(rel, bytes)
    }

    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.inner.state_append(rel, bytes)
    }

    fn state_truncate(&self, rel: &str, len: u64) -> HostResult<()> {
        self.inner.state_truncate(rel, len)
    }

    fn state_create_dir(&self, rel: &str) -> HostResult<()> {
        self.inner.state_create_dir(rel)
    }

    fn state_list(&self, rel: &str) -> HostResult<Vec<String>> {
        self.inner.state_list(rel)
    }

    fn lock(&self, wait: Duration) -> HostResult<()> {
        self.inner.lock(wait)
    }

    fn unlock(&self) {
        self.inner.unlock();
    }

    fn log_export(&self, export: &LogExport, _dir: &Path, _file: &str) -> HostResult<PathBuf> {
        Self::refuse(format!("export event log {}", export.channel))
    }

    fn zip_logs(&self, dir: &Path, _files: &[PathBuf]) -> HostResult<LogBundle> {
        Self::refuse(format!("zip logs into {}", dir.display()))
    }

    fn collect_file(&self, dir: &Path, name: &str, _from: FileSource<'_>) -> HostResult<PathBuf> {
        Self::refuse(format!("write {}", dir.join(name).display()))
    }

    fn log_query_text(&self, export: &LogExport, _max: u32) -> HostResult<String> {
        Self::refuse(format!("query event log {}", export.channel))
    }

    fn disk_roots(&self) -> HostResult<Vec<PathBuf>> {
        self.inner.disk_roots()
    }

    fn disk_read(&self, path: &Path, max: u64) -> HostResult<Vec<u8>> {
        self.check_path(path)?;
        self.inner.disk_read(path, max)
    }

    fn disk_open<'a>(&'a self, path: &Path, max: u64) -> HostResult<Box<dyn DiskReader + 'a>> {
        self.check_path(path)?;
        self.inner.disk_open(path, max)
    }

    fn disk_write(&self, path: &Path, bytes: &[u8]) -> HostResult<()> {
        self.check_path(path)?;
        self.inner.disk_write(path, bytes)
    }

    fn hive_load(&self, mount: &str, _file: &Path) -> HostResult<()> {
        Self::refuse(format!(r"load a hive as HKLM\{mount}"))
    }

    fn hive_unload(&self, mount: &str) -> HostResult<()> {
        Self::refuse(format!(r"unload HKLM\{mount}"))
    }

    fn task_dir(&self) -> PathBuf {
        self.inner.task_dir()
    }

    fn schedule_rollback(&self, plan_id: &str, _deadline: Timestamp) -> HostResult<()> {
        Err(HostError::refused(
            format!("a timed rollback of plan {plan_id}"),
            "--confirm-within is for a running VM reached over RDP; an offline plan is \
             checked before the disk goes back (fixer rollback undoes it)",
        ))
    }

    /// Nothing is ever scheduled for an offline plan.
    fn cancel_scheduled_rollback(&self, _plan_id: &str) -> HostResult<()> {
        Ok(())
    }
}

fn host_error(e: DiskError) -> HostError {
    match e {
        DiskError::Host(h) => h,
        DiskError::Link { ref key, .. } => HostError::refused(key.clone(), e.to_string()),
        other => HostError::failed("the disk's hive files", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_found_in_its_blob_and_a_short_blob_gives_none() {
        let mut blob = Vec::new();
        for (id, data) in [(2u32, vec![9u8; 5]), (32, vec![0x30, 0x82, 1, 2])] {
            blob.extend(id.to_le_bytes());
            blob.extend(1u32.to_le_bytes());
            blob.extend(u32::try_from(data.len()).unwrap_or(0).to_le_bytes());
            blob.extend(data);
        }
        assert_eq!(der_of_blob(&blob), [0x30, 0x82, 1, 2]);
        assert_eq!(
            der_of_blob(blob.get(..30).unwrap_or_default()),
            Vec::<u8>::new()
        );
        assert_eq!(der_of_blob(&[]), Vec::<u8>::new());
    }
}
