//! The real host: Win32 registry, service control manager, certificate store and security
//! APIs through `windows-sys`; `wevtutil.exe` and `schtasks.exe` where an API would mean
//! reimplementing them (event log export, a scheduled task defined in XML).
//!
//! `unsafe` lives only in this module: each call wraps one Win32 function and turns its
//! status into a [`HostError`] that names the object and the Windows error.
#![allow(unsafe_code)]

mod accounts;
mod cert;
mod disk;
mod registry;
mod security;
mod service;
mod tools;
mod wide;

use super::state_files::StateFiles;
use super::*;

#[derive(Debug)]
pub struct WindowsHost {
    program_data: PathBuf,
    program_files: PathBuf,
    files: StateFiles,
}

impl WindowsHost {
    /// The host. No privilege is enabled here: each call that needs one enables it for
    /// itself and drops it after (`security::Privileges`).
    pub fn new() -> HostResult<Self> {
        let program_data = machine_dir(
            r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList",
            "ProgramData",
            r"%SystemDrive%\ProgramData",
        );
        Ok(WindowsHost {
            files: StateFiles::new(program_data.join("rdpfix")),
            program_files: machine_dir(
                r"SOFTWARE\Microsoft\Windows\CurrentVersion",
                "ProgramFilesDir",
                r"%SystemDrive%\Program Files",
            ),
            program_data,
        })
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.files.path(rel)
    }
}

/// A folder Windows records under HKLM (only administrators change it), `%SystemDrive%`
/// being the Windows folder's drive; `default` when it cannot be read. Never the
/// environment: a user can set `ProgramData` or `ProgramFiles` for their own processes
/// (HKCU\Environment) and an elevated prompt of theirs passes it on, which would point the
/// fixer's state folder and MachineKeys at folders of their choosing.
fn machine_dir(key: &str, name: &str, default: &str) -> PathBuf {
    let text = registry::get(key, name)
        .ok()
        .flatten()
        .and_then(|v| v.as_text())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| default.to_owned());
    PathBuf::from(expand_system_drive(&text, &tools::system_drive()))
}

/// `%SystemDrive%` (any case) replaced by `drive`; any other variable is left as it is.
fn expand_system_drive(text: &str, drive: &str) -> String {
    const VAR: &str = "%systemdrive%";
    match text.to_ascii_lowercase().find(VAR) {
        Some(at) => format!(
            "{}{drive}{}",
            text.get(..at).unwrap_or_default(),
            text.get(at + VAR.len()..).unwrap_or_default()
        ),
        None => text.to_owned(),
    }
}

/// Windows' own text for an error code.
pub fn message(code: u32) -> String {
    wide::message(code)
}

pub(crate) fn io_err(what: impl Into<String>, e: &std::io::Error) -> HostError {
    super::state_files::io_err(what, e)
}

impl Host for WindowsHost {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn computer_names(&self) -> HostResult<ComputerNames> {
        Ok(ComputerNames {
            netbios: wide::computer_name(wide::NameKind::NetBios)?,
            dns_fqdn: wide::computer_name(wide::NameKind::DnsFullyQualified)?,
        })
    }

    fn wine_prefix_owner(&self) -> HostResult<Option<String>> {
        security::wine_prefix_owner()
    }

    fn reg_key_exists(&self, key: &str) -> HostResult<bool> {
        registry::key_exists(key)
    }

    fn reg_get(&self, key: &str, name: &str) -> HostResult<Option<RegValue>> {
        registry::get(key, name)
    }

    fn reg_set(&self, key: &str, name: &str, value: &RegValue) -> HostResult<()> {
        registry::set(key, name, value)
    }

    fn reg_delete_value(&self, key: &str, name: &str) -> HostResult<()> {
        registry::delete_value(key, name)
    }

    fn reg_delete_empty_key(&self, key: &str) -> HostResult<()> {
        registry::delete_empty_key(key)
    }

    fn service_status(&self, name: &str) -> HostResult<ServiceStatus> {
        service::status(name)
    }

    fn service_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        service::dependents(name, false)
    }

    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        service::dependents(name, true)
    }

    fn service_stop(&self, name: &str, wait: Duration) -> HostResult<()> {
        service::stop(name, wait)
    }

    fn service_start(&self, name: &str, wait: Duration) -> HostResult<()> {
        service::start(name, wait)
    }

    fn service_set_start_type(&self, name: &str, start: StartType) -> HostResult<()> {
        service::set_start_type(name, start)
    }

    fn service_set_delayed_auto_start(&self, name: &str, delayed: bool) -> HostResult<()> {
        service::set_delayed_auto_start(name, delayed)
    }

    fn service_account(&self, name: &str) -> HostResult<String> {
        service::account(name)
    }

    fn service_set_account(&self, name: &str, account: &str) -> HostResult<()> {
        service::set_account(name, account)
    }

    fn group_members(&self, group: &str) -> HostResult<Vec<String>> {
        accounts::group_members(group)
    }

    fn group_add_member(&self, group: &str, member: &str) -> HostResult<()> {
        accounts::group_add_member(group, member)
    }

    fn group_remove_member(&self, group: &str, member: &str) -> HostResult<()> {
        accounts::group_remove_member(group, member)
    }

    fn account_rights(&self, sid: &str) -> HostResult<Vec<String>> {
        accounts::account_rights(sid)
    }

    fn right_holders(&self, right: &str) -> HostResult<Vec<String>> {
        accounts::right_holders(right)
    }

    fn account_rights_add(&self, sid: &str, right: &str) -> HostResult<()> {
        accounts::account_rights_change(sid, right, true)
    }

    fn account_rights_remove(&self, sid: &str, right: &str) -> HostResult<()> {
        accounts::account_rights_change(sid, right, false)
    }

    fn firewall_rule_enabled(&self, rule_id: &str) -> HostResult<Option<bool>> {
        tools::firewall_rule_enabled(rule_id)
    }

    fn firewall_rule_set_enabled(&self, rule_id: &str, enabled: bool) -> HostResult<()> {
        tools::firewall_rule_set_enabled(rule_id, enabled)
    }

    fn firewall_profiles(&self) -> HostResult<Vec<FirewallProfile>> {
        tools::firewall_profiles()
    }

    fn port_listener(&self, port: u16) -> HostResult<Option<PortListener>> {
        tools::port_listener(port)
    }

    fn system_drive_space(&self) -> HostResult<DiskSpace> {
        let drive = tools::system_drive();
        let root = wide::wide(&format!("{drive}\\"));
        let (mut caller, mut size, mut free) = (0u64, 0u64, 0u64);
        // SAFETY: a NUL-terminated root path and three out-parameters.
        let ok = unsafe {
            windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW(
                root.as_ptr(),
                &mut caller,
                &mut size,
                &mut free,
            )
        };
        if ok == 0 {
            return Err(wide::last_error(format!("free space of {drive}")));
        }
        Ok(DiskSpace { drive, free, size })
    }

    fn cert_list(&self, store: CertStore) -> HostResult<Vec<CertInfo>> {
        cert::list(store)
    }

    fn cert_delete(&self, store: CertStore, thumbprint: &str) -> HostResult<()> {
        cert::delete(store, thumbprint)
    }

    fn cert_add(&self, store: CertStore, c: &CertInfo) -> HostResult<()> {
        cert::add(store, c)
    }

    fn program_data(&self) -> PathBuf {
        self.program_data.clone()
    }

    fn fs_object(&self, path: &Path) -> HostResult<FsObject> {
        security::object(path)
    }

    fn fs_children(&self, folder: &FsObject) -> HostResult<FsListing> {
        security::children(folder)
    }

    fn sd_read(&self, obj: &FsObject) -> HostResult<String> {
        security::read(obj)
    }

    fn sd_write(&self, obj: &FsObject, expect: &str, write: &SdWrite) -> HostResult<()> {
        security::write(obj, expect, write)
    }

    fn create_admin_dir(&self, path: &Path) -> HostResult<Made> {
        security::create_dir_with_sddl(path, super::sim::SAFE_STATE_SDDL)
    }

    fn state_dir(&self) -> PathBuf {
        self.files.root().to_path_buf()
    }

    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        self.files.read(rel)
    }

    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.files.write(rel, bytes)
    }

    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.files.append(rel, bytes)
    }

    fn state_truncate(&self, rel: &str, len: u64) -> HostResult<()> {
        self.files.truncate(rel, len)
    }

    fn state_create_dir(&self, rel: &str) -> HostResult<()> {
        self.files.create_dir(rel)
    }

    fn state_list(&self, rel: &str) -> HostResult<Vec<String>> {
        self.files.list(rel)
    }

    fn lock(&self, wait: Duration) -> HostResult<()> {
        self.files.lock(wait)
    }

    fn unlock(&self) {
        self.files.unlock();
    }

    /// Into a folder `collect` made or judged first (`safe_folder::ensure`).
    fn log_export(&self, export: &LogExport, dir: &Path, file: &str) -> HostResult<PathBuf> {
        let dest = dir.join(file);
        tools::wevtutil_export(export, &dest)?;
        Ok(dest)
    }

    fn zip_logs(&self, dir: &Path, files: &[PathBuf]) -> HostResult<LogBundle> {
        crate::bundle::write(dir, files)
            .map_err(|e| io_err(format!("zip the logs in {}", dir.display()), &e))
    }

    /// Into the folder `collect` made or judged, as the archive is written.
    fn collect_file(&self, dir: &Path, name: &str, from: FileSource<'_>) -> HostResult<PathBuf> {
        crate::bundle::write_file(dir, name, from)
            .map_err(|e| io_err(format!("write {}", dir.join(name).display()), &e))
    }

    fn log_query_text(&self, export: &LogExport, max: u32) -> HostResult<String> {
        tools::wevtutil_query_text(export, max)
    }

    fn disk_roots(&self) -> HostResult<Vec<PathBuf>> {
        Ok(disk::roots(&tools::system_drive()))
    }

    fn disk_read(&self, path: &Path, max: u64) -> HostResult<Vec<u8>> {
        disk::read(path, max)
    }

    fn disk_open<'a>(&'a self, path: &Path, max: u64) -> HostResult<Box<dyn DiskReader + 'a>> {
        Ok(Box::new(disk::open(path, max)?))
    }

    fn disk_write(&self, path: &Path, bytes: &[u8]) -> HostResult<()> {
        disk::write(path, bytes)
    }

    fn hive_load(&self, mount: &str, file: &Path) -> HostResult<()> {
        disk::load(mount, file)
    }

    fn hive_unload(&self, mount: &str) -> HostResult<()> {
        disk::unload(mount)
    }

    fn task_dir(&self) -> PathBuf {
        self.program_files.join("rdpfix")
    }

    fn schedule_rollback(&self, plan_id: &str, deadline: Timestamp) -> HostResult<()> {
        tools::schedule_rollback(self, plan_id, deadline)
    }

    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()> {
        tools::cancel_rollback(plan_id)
    }
}
