//! The real host: Win32 registry, service control manager, certificate store and security
//! APIs through `windows-sys`; `wevtutil.exe` and `schtasks.exe` where an API would mean
//! reimplementing them (event log export, a scheduled task defined in XML).
//!
//! `unsafe` lives only in this module: each call wraps one Win32 function and turns its
//! status into a [`HostError`] that names the object and the Windows error.
#![allow(unsafe_code)]

mod cert;
mod registry;
mod security;
mod service;
mod tools;
mod wide;

use super::*;
use std::fs;
use std::io::Write;

#[derive(Debug)]
pub struct WindowsHost {
    program_data: PathBuf,
    state_dir: PathBuf,
}

impl WindowsHost {
    /// The host, with the privileges a restore of owners and ACLs needs enabled (held by
    /// Administrators and SYSTEM; enabling is per process).
    pub fn new() -> HostResult<Self> {
        let program_data = std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
        for p in [
            "SeRestorePrivilege",
            "SeTakeOwnershipPrivilege",
            "SeBackupPrivilege",
        ] {
            // Missing privileges surface later as "access denied" on the call that needs them.
            let _ = security::enable_privilege(p);
        }
        Ok(WindowsHost {
            state_dir: program_data.join("rdpfix"),
            program_data,
        })
    }

    fn path(&self, rel: &str) -> PathBuf {
        rel.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.state_dir.clone(), |p, part| p.join(part))
    }
}

fn io_err(what: impl Into<String>, e: &std::io::Error) -> HostError {
    match e.raw_os_error() {
        Some(code) => HostError::Os {
            what: what.into(),
            code: code as u32,
            message: wide::message(code as u32),
        },
        None => HostError::failed(what, e.to_string()),
    }
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

    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        service::running_dependents(name)
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

    fn service_account(&self, name: &str) -> HostResult<String> {
        service::account(name)
    }

    fn service_set_account(&self, name: &str, account: &str) -> HostResult<()> {
        service::set_account(name, account)
    }

    fn program_data(&self) -> PathBuf {
        self.program_data.clone()
    }

    fn cert_list(&self, store: CertStore) -> HostResult<Vec<CertInfo>> {
        cert::list(store)
    }

    fn cert_delete(&self, store: CertStore, thumbprint: &str) -> HostResult<()> {
        cert::delete(store, thumbprint)
    }

    fn sd_get(&self, path: &Path) -> HostResult<String> {
        security::get(path)?.ok_or_else(|| HostError::NotFound {
            what: path.display().to_string(),
        })
    }

    fn sd_set(&self, path: &Path, sddl: &str) -> HostResult<()> {
        security::set(path, sddl)
    }

    fn list_tree(&self, path: &Path) -> HostResult<Vec<PathBuf>> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> HostResult<()> {
            let entries =
                fs::read_dir(dir).map_err(|e| io_err(format!("list {}", dir.display()), &e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_err(format!("list {}", dir.display()), &e))?;
                let path = entry.path();
                let is_dir = entry
                    .file_type()
                    .is_ok_and(|t| t.is_dir() && !t.is_symlink());
                out.push(path.clone());
                if is_dir {
                    walk(&path, out)?;
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        walk(path, &mut out)?;
        out.sort();
        Ok(out)
    }

    fn state_dir(&self) -> PathBuf {
        self.state_dir.clone()
    }

    fn state_init(&self) -> HostResult<()> {
        if self.state_dir.is_dir() {
            return Ok(());
        }
        security::create_dir_with_sddl(&self.state_dir, super::sim::SAFE_STATE_SDDL)
    }

    fn state_sd(&self, rel: &str) -> HostResult<Option<String>> {
        security::get(&self.path(rel))
    }

    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        let path = self.path(rel);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(format!("read {}", path.display()), &e)),
        }
    }

    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        let path = self.path(rel);
        let what = format!("write {}", path.display());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(&what, &e))?;
        }
        let tmp = path.with_extension("tmp~");
        let mut f = fs::File::create(&tmp).map_err(|e| io_err(&what, &e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err(&what, &e))?;
        drop(f);
        // MoveFileExW(MOVEFILE_REPLACE_EXISTING): the old file or the new one, never half.
        fs::rename(&tmp, &path).map_err(|e| io_err(&what, &e))
    }

    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        let path = self.path(rel);
        let what = format!("append to {}", path.display());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(&what, &e))?;
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&what, &e))?;
        // FlushFileBuffers: on disk before the change it announces is made.
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err(&what, &e))
    }

    fn state_list(&self, rel: &str) -> HostResult<Vec<String>> {
        let dir = self.path(rel);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(format!("list {}", dir.display()), &e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".tmp~"))
            .collect();
        names.sort();
        Ok(names)
    }

    fn log_export(&self, export: &LogExport, dir: &Path, file: &str) -> HostResult<PathBuf> {
        fs::create_dir_all(dir).map_err(|e| io_err(format!("create {}", dir.display()), &e))?;
        let dest = dir.join(file);
        tools::wevtutil_export(export, &dest)?;
        Ok(dest)
    }

    fn log_query_text(&self, export: &LogExport, max: u32) -> HostResult<String> {
        tools::wevtutil_query_text(export, max)
    }

    fn schedule_rollback(&self, plan_id: &str, deadline: Timestamp) -> HostResult<()> {
        tools::schedule_rollback(self, plan_id, deadline)
    }

    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()> {
        tools::cancel_rollback(plan_id)
    }
}
