//! The dry-run backend: reads pass through to the real host, changes land in memory.
//!
//! The executor runs a dry-run through exactly the code of an apply — probe, backup, apply,
//! verify — on this host, so what it shows is what an apply would do, and nothing reaches
//! the machine: this type holds only a shared reference to the host underneath and never
//! calls a changing method on it.

use super::*;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug)]
pub struct DryRun<'h> {
    inner: &'h dyn Host,
    overlay: RefCell<Overlay>,
}

#[derive(Debug, Default)]
struct Overlay {
    values: BTreeMap<(String, String), Option<RegValue>>,
    created_keys: BTreeSet<String>,
    deleted_keys: BTreeSet<String>,
    services: BTreeMap<String, ServiceStatus>,
    accounts: BTreeMap<String, String>,
    deleted_certs: BTreeSet<String>,
    added_certs: Vec<CertInfo>,
    security: BTreeMap<String, String>,
    made_dirs: BTreeSet<String>,
    state_files: BTreeMap<String, Vec<u8>>,
    state_dirs: BTreeSet<String>,
    /// (group, member) → member after the dry-run's changes.
    members: BTreeMap<(String, String), bool>,
    /// (SID, right) → held after the dry-run's changes.
    rights: BTreeMap<(String, String), bool>,
    firewall: BTreeMap<String, bool>,
    changes: Vec<String>,
}

impl<'h> DryRun<'h> {
    pub fn new(inner: &'h dyn Host) -> Self {
        DryRun {
            inner,
            overlay: RefCell::new(Overlay::default()),
        }
    }

    /// What an apply would have changed, one line each, in order.
    pub fn changes(&self) -> Vec<String> {
        self.overlay.borrow().changes.clone()
    }

    fn record(&self, what: String) {
        self.overlay.borrow_mut().changes.push(what);
    }
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

impl Host for DryRun<'_> {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }

    fn computer_names(&self) -> HostResult<ComputerNames> {
        self.inner.computer_names()
    }

    fn wine_prefix_owner(&self) -> HostResult<Option<String>> {
        self.inner.wine_prefix_owner()
    }

    fn reg_key_exists(&self, key: &str) -> HostResult<bool> {
        let o = self.overlay.borrow();
        if o.created_keys.contains(&lower(key)) {
            return Ok(true);
        }
        if o.deleted_keys.contains(&lower(key)) {
            return Ok(false);
        }
        drop(o);
        self.inner.reg_key_exists(key)
    }

    fn reg_get(&self, key: &str, name: &str) -> HostResult<Option<RegValue>> {
        if let Some(v) = self.overlay.borrow().values.get(&(lower(key), lower(name))) {
            return Ok(v.clone());
        }
        if !self.reg_key_exists(key)? {
            return Ok(None);
        }
        self.inner.reg_get(key, name)
    }

    fn reg_set(&self, key: &str, name: &str, value: &RegValue) -> HostResult<()> {
        let mut path = String::new();
        for part in key.split('\\') {
            if !path.is_empty() {
                path.push('\\');
            }
            path.push_str(part);
            if !self.reg_key_exists(&path)? {
                let mut o = self.overlay.borrow_mut();
                o.deleted_keys.remove(&lower(&path));
                o.created_keys.insert(lower(&path));
            }
        }
        let mut o = self.overlay.borrow_mut();
        o.values
            .insert((lower(key), lower(name)), Some(value.clone()));
        drop(o);
        self.record(format!("reg set {key}\\{name} = {value}"));
        Ok(())
    }

    fn reg_delete_value(&self, key: &str, name: &str) -> HostResult<()> {
        self.overlay
            .borrow_mut()
            .values
            .insert((lower(key), lower(name)), None);
        self.record(format!("reg delete {key}\\{name}"));
        Ok(())
    }

    fn reg_delete_empty_key(&self, key: &str) -> HostResult<()> {
        // Only keys this dry-run created can be known empty without listing the real key.
        let mut o = self.overlay.borrow_mut();
        let k = lower(key);
        let has_values = o.values.iter().any(|((vk, _), v)| *vk == k && v.is_some());
        if o.created_keys.contains(&k) && has_values {
            return Err(HostError::failed(format!("key {key}"), "key is not empty"));
        }
        o.created_keys.remove(&k);
        o.deleted_keys.insert(k);
        drop(o);
        self.record(format!("reg delete key {key}"));
        Ok(())
    }

    fn service_status(&self, name: &str) -> HostResult<ServiceStatus> {
        if let Some(s) = self.overlay.borrow().services.get(&lower(name)) {
            return Ok(s.clone());
        }
        self.inner.service_status(name)
    }

    fn service_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        self.inner.service_dependents(name)
    }

    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        let deps = self.inner.service_running_dependents(name)?;
        let o = self.overlay.borrow();
        Ok(deps
            .into_iter()
            .filter(|d| {
                o.services
                    .get(&lower(d))
                    .is_none_or(|s| s.state == ServiceState::Running)
            })
            .collect())
    }

    fn service_stop(&self, name: &str, _wait: Duration) -> HostResult<()> {
        let mut status = self.service_status(name)?;
        status.state = ServiceState::Stopped;
        self.overlay
            .borrow_mut()
            .services
            .insert(lower(name), status);
        self.record(format!("service stop {name}"));
        Ok(())
    }

    fn service_start(&self, name: &str, _wait: Duration) -> HostResult<()> {
        let mut status = self.service_status(name)?;
        status.state = ServiceState::Running;
        self.overlay
            .borrow_mut()
            .services
            .insert(lower(name), status);
        self.record(format!("service start {name}"));
        Ok(())
    }

    fn service_set_start_type(&self, name: &str, start: StartType) -> HostResult<()> {
        let mut status = self.service_status(name)?;
        status.start_type = start;
        self.overlay
            .borrow_mut()
            .services
            .insert(lower(name), status);
        self.record(format!("service config {name} start= {start}"));
        Ok(())
    }

    fn service_set_delayed_auto_start(&self, name: &str, delayed: bool) -> HostResult<()> {
        let mut status = self.service_status(name)?;
        status.delayed_auto_start = delayed;
        self.overlay
            .borrow_mut()
            .services
            .insert(lower(name), status);
        self.record(format!("service config {name} delayed= {delayed}"));
        Ok(())
    }

    fn service_account(&self, name: &str) -> HostResult<String> {
        if let Some(a) = self.overlay.borrow().accounts.get(&lower(name)) {
            return Ok(a.clone());
        }
        self.inner.service_account(name)
    }

    fn service_set_account(&self, name: &str, account: &str) -> HostResult<()> {
        self.overlay
            .borrow_mut()
            .accounts
            .insert(lower(name), account.to_owned());
        self.record(format!("service config {name} obj= {account}"));
        Ok(())
    }

    fn group_members(&self, group: &str) -> HostResult<Vec<String>> {
        let mut members = self.inner.group_members(group)?;
        for ((g, member), now) in &self.overlay.borrow().members {
            if g == group {
                members.retain(|m| m != member);
                if *now {
                    members.push(member.clone());
                }
            }
        }
        Ok(members)
    }

    fn group_add_member(&self, group: &str, member: &str) -> HostResult<()> {
        self.overlay
            .borrow_mut()
            .members
            .insert((group.to_owned(), member.to_owned()), true);
        self.record(format!("group add {group} {member}"));
        Ok(())
    }

    fn group_remove_member(&self, group: &str, member: &str) -> HostResult<()> {
        self.overlay
            .borrow_mut()
            .members
            .insert((group.to_owned(), member.to_owned()), false);
        self.record(format!("group remove {group} {member}"));
        Ok(())
    }

    fn account_rights(&self, sid: &str) -> HostResult<Vec<String>> {
        let mut rights = self.inner.account_rights(sid)?;
        for ((s, right), now) in &self.overlay.borrow().rights {
            if s == sid {
                rights.retain(|r| r != right);
                if *now {
                    rights.push(right.clone());
                }
            }
        }
        Ok(rights)
    }

    fn right_holders(&self, right: &str) -> HostResult<Vec<String>> {
        let mut holders = self.inner.right_holders(right)?;
        for ((sid, r), now) in &self.overlay.borrow().rights {
            if r == right {
                holders.retain(|h| h != sid);
                if *now {
                    holders.push(sid.clone());
                }
            }
        }
        Ok(holders)
    }

    fn account_rights_add(&self, sid: &str, right: &str) -> HostResult<()> {
        self.overlay
            .borrow_mut()
            .rights
            .insert((sid.to_owned(), right.to_owned()), true);
        self.record(format!("rights add {sid} {right}"));
        Ok(())
    }

    fn account_rights_remove(&self, sid: &str, right: &str) -> HostResult<()> {
        self.overlay
            .borrow_mut()
            .rights
            .insert((sid.to_owned(), right.to_owned()), false);
        self.record(format!("rights remove {sid} {right}"));
        Ok(())
    }

    fn firewall_rule_enabled(&self, rule_id: &str) -> HostResult<Option<bool>> {
        let now = self.inner.firewall_rule_enabled(rule_id)?;
        Ok(now.map(|real| {
            self.overlay
                .borrow()
                .firewall
                .get(rule_id)
                .copied()
                .unwrap_or(real)
        }))
    }

    fn firewall_rule_set_enabled(&self, rule_id: &str, enabled: bool) -> HostResult<()> {
        if self.inner.firewall_rule_enabled(rule_id)?.is_none() {
            return Err(HostError::NotFound {
                what: format!("firewall rule {rule_id}"),
            });
        }
        self.overlay
            .borrow_mut()
            .firewall
            .insert(rule_id.to_owned(), enabled);
        self.record(format!("firewall rule {rule_id} enabled= {enabled}"));
        Ok(())
    }

    fn firewall_profiles(&self) -> HostResult<Vec<FirewallProfile>> {
        self.inner.firewall_profiles()
    }

    fn port_listener(&self, port: u16) -> HostResult<Option<PortListener>> {
        self.inner.port_listener(port)
    }

    fn system_drive_space(&self) -> HostResult<DiskSpace> {
        self.inner.system_drive_space()
    }

    fn program_data(&self) -> PathBuf {
        self.inner.program_data()
    }

    fn cert_list(&self, store: CertStore) -> HostResult<Vec<CertInfo>> {
        let o = self.overlay.borrow();
        let mut certs: Vec<CertInfo> = self
            .inner
            .cert_list(store)?
            .into_iter()
            .filter(|c| !o.deleted_certs.contains(&c.thumbprint.to_uppercase()))
            .collect();
        certs.extend(o.added_certs.iter().cloned());
        Ok(certs)
    }

    fn cert_delete(&self, store: CertStore, thumbprint: &str) -> HostResult<()> {
        let mut o = self.overlay.borrow_mut();
        o.deleted_certs.insert(thumbprint.to_uppercase());
        o.added_certs
            .retain(|c| !c.thumbprint.eq_ignore_ascii_case(thumbprint));
        drop(o);
        self.record(format!("cert delete {} {thumbprint}", store.name()));
        Ok(())
    }

    fn cert_add(&self, store: CertStore, cert: &CertInfo) -> HostResult<()> {
        let mut o = self.overlay.borrow_mut();
        o.deleted_certs.insert(cert.thumbprint.to_uppercase());
        o.added_certs.push(cert.clone());
        drop(o);
        self.record(format!("cert add {} {}", store.name(), cert.thumbprint));
        Ok(())
    }

    fn fs_object(&self, path: &Path) -> HostResult<FsObject> {
        self.inner.fs_object(path)
    }

    fn fs_children(&self, folder: &FsObject) -> HostResult<FsListing> {
        self.inner.fs_children(folder)
    }

    fn sd_read(&self, obj: &FsObject) -> HostResult<String> {
        if let Some(s) = self.overlay.borrow().security.get(&lower(&obj.path)) {
            return Ok(s.clone());
        }
        self.inner.sd_read(obj)
    }

    fn sd_write(&self, obj: &FsObject, expect: &str, write: &SdWrite) -> HostResult<()> {
        let current = self.sd_read(obj)?;
        let new = super::sd_after_write(&obj.path, &current, expect, write)?;
        self.overlay
            .borrow_mut()
            .security
            .insert(lower(&obj.path), new.clone());
        self.record(format!("acl set {} {new}", obj.path));
        Ok(())
    }

    fn create_admin_dir(&self, path: &Path) -> HostResult<Made> {
        let key = lower(&path.to_string_lossy());
        if self.overlay.borrow().made_dirs.contains(&key) {
            return Ok(Made::Existed);
        }
        match self.inner.fs_object(path) {
            Err(HostError::NotFound { .. }) => {}
            _ => return Ok(Made::Existed),
        }
        self.overlay.borrow_mut().made_dirs.insert(key);
        self.record(format!(
            "mkdir {} (SYSTEM and Administrators only)",
            path.display()
        ));
        Ok(Made::Created)
    }

    fn state_dir(&self) -> PathBuf {
        self.inner.state_dir()
    }

    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        if let Some(b) = self.overlay.borrow().state_files.get(rel) {
            return Ok(Some(b.clone()));
        }
        self.inner.state_read(rel)
    }

    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.overlay
            .borrow_mut()
            .state_files
            .insert(rel.to_owned(), bytes.to_vec());
        Ok(())
    }

    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        let mut current = self.state_read(rel)?.unwrap_or_default();
        current.extend_from_slice(bytes);
        self.overlay
            .borrow_mut()
            .state_files
            .insert(rel.to_owned(), current);
        Ok(())
    }

    fn state_truncate(&self, rel: &str, len: u64) -> HostResult<()> {
        let mut current = self.state_read(rel)?.unwrap_or_default();
        current.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        self.overlay
            .borrow_mut()
            .state_files
            .insert(rel.to_owned(), current);
        Ok(())
    }

    fn state_create_dir(&self, rel: &str) -> HostResult<()> {
        if !self.state_list(rel)?.is_empty() || self.overlay.borrow().state_dirs.contains(rel) {
            return Err(HostError::Exists { what: rel.into() });
        }
        self.overlay.borrow_mut().state_dirs.insert(rel.to_owned());
        Ok(())
    }

    /// A dry-run changes nothing, so it needs no lock.
    fn lock(&self, _wait: Duration) -> HostResult<()> {
        Ok(())
    }

    fn unlock(&self) {}

    fn state_list(&self, rel: &str) -> HostResult<Vec<String>> {
        let mut names: BTreeSet<String> = self.inner.state_list(rel)?.into_iter().collect();
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        let o = self.overlay.borrow();
        for k in o.state_files.keys().chain(o.state_dirs.iter()) {
            if let Some(first) = k.strip_prefix(&prefix).and_then(|r| r.split('/').next()) {
                names.insert(first.to_owned());
            }
        }
        Ok(names.into_iter().collect())
    }

    fn log_export(&self, export: &LogExport, dir: &Path, file: &str) -> HostResult<PathBuf> {
        let dest = dir.join(file);
        self.record(format!(
            "log export {} -> {}",
            export.channel,
            dest.display()
        ));
        Ok(dest)
    }

    fn zip_logs(&self, dir: &Path, files: &[PathBuf]) -> HostResult<LogBundle> {
        let path = dir.join(crate::bundle::FILE_NAME);
        self.record(format!("zip {} file(s) -> {}", files.len(), path.display()));
        Ok(LogBundle {
            path: path.display().to_string(),
            bytes: 0,
            members: Vec::new(),
        })
    }

    fn collect_file(&self, dir: &Path, name: &str, _from: FileSource<'_>) -> HostResult<PathBuf> {
        let dest = dir.join(name);
        self.record(format!("write {}", dest.display()));
        Ok(dest)
    }

    fn log_query_text(&self, export: &LogExport, max: u32) -> HostResult<String> {
        self.inner.log_query_text(export, max)
    }

    fn disk_roots(&self) -> HostResult<Vec<PathBuf>> {
        self.inner.disk_roots()
    }

    fn disk_read(&self, path: &Path, max: u64) -> HostResult<Vec<u8>> {
        self.inner.disk_read(path, max)
    }

    fn disk_write(&self, path: &Path, _bytes: &[u8]) -> HostResult<()> {
        self.record(format!("write {}", path.display()));
        Ok(())
    }

    /// A dry-run of an offline plan reads the hive files themselves
    /// ([`super::offline::OfflineHost`] over the disk's files): loading is only recorded.
    fn hive_load(&self, mount: &str, file: &Path) -> HostResult<()> {
        self.record(format!(r"load {} as HKLM\{mount}", file.display()));
        Ok(())
    }

    fn hive_unload(&self, mount: &str) -> HostResult<()> {
        self.record(format!(r"unload HKLM\{mount}"));
        Ok(())
    }

    fn task_dir(&self) -> PathBuf {
        self.inner.task_dir()
    }

    fn schedule_rollback(&self, plan_id: &str, deadline: Timestamp) -> HostResult<()> {
        self.record(format!("schedule rollback {plan_id} at {deadline}"));
        Ok(())
    }

    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()> {
        self.record(format!("cancel scheduled rollback {plan_id}"));
        Ok(())
    }
}
