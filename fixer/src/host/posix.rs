//! The native Linux (and macOS) host: a real state directory and clock, the machine's host
//! name, and nothing of Windows itself — reading or changing it answers [`HostError::NeedsWindows`].
//!
//! It exists so the same `fixer` can enrol keys and `verify` a plan off the VM. The state
//! directory's permission bits are mapped onto the SDDL the safety check reads: writable by
//! group → `BU` (Users) may write, by others → `WD` (Everyone) may write.

use super::*;
use std::fs;
use std::io::Write;

#[derive(Debug)]
pub struct PosixHost {
    state_dir: PathBuf,
}

impl PosixHost {
    pub fn new(state_dir: PathBuf) -> Self {
        PosixHost { state_dir }
    }

    /// `$RDPFIX_STATE_DIR`, else `$XDG_STATE_HOME/rdpfix`, else `~/.local/state/rdpfix`.
    pub fn default_state_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("RDPFIX_STATE_DIR") {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
            return PathBuf::from(dir).join("rdpfix");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        home.join(".local/state/rdpfix")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.state_dir.join(rel)
    }
}

fn io_err(what: impl Into<String>, e: &std::io::Error) -> HostError {
    HostError::failed(what, e.to_string().to_lowercase())
}

/// Reading Windows state this build cannot reach.
fn reads<T>(what: &str) -> HostResult<T> {
    Err(HostError::NeedsWindows {
        what: what.into(),
        change: false,
    })
}

/// Changing Windows state this build cannot reach.
fn changes<T>(what: &str) -> HostResult<T> {
    Err(HostError::NeedsWindows {
        what: what.into(),
        change: true,
    })
}

impl Host for PosixHost {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn computer_names(&self) -> HostResult<ComputerNames> {
        let name = fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| fs::read_to_string("/etc/hostname"))
            .map_err(|e| io_err("host name", &e))?;
        let name = name.trim().to_owned();
        let netbios = name.split('.').next().unwrap_or(&name).to_uppercase();
        Ok(ComputerNames {
            netbios,
            dns_fqdn: name,
        })
    }

    fn wine_prefix_owner(&self) -> HostResult<Option<String>> {
        Ok(None)
    }

    fn reg_key_exists(&self, key: &str) -> HostResult<bool> {
        reads(&format!("registry key {key}"))
    }
    fn reg_get(&self, key: &str, name: &str) -> HostResult<Option<RegValue>> {
        reads(&format!("registry value {key}\\{name}"))
    }
    fn reg_set(&self, key: &str, name: &str, _value: &RegValue) -> HostResult<()> {
        changes(&format!("registry value {key}\\{name}"))
    }
    fn reg_delete_value(&self, key: &str, name: &str) -> HostResult<()> {
        changes(&format!("registry value {key}\\{name}"))
    }
    fn reg_delete_empty_key(&self, key: &str) -> HostResult<()> {
        changes(&format!("registry key {key}"))
    }
    fn service_status(&self, name: &str) -> HostResult<ServiceStatus> {
        reads(&format!("service {name}"))
    }
    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        reads(&format!("service {name}"))
    }
    fn service_stop(&self, name: &str, _wait: Duration) -> HostResult<()> {
        changes(&format!("service {name}"))
    }
    fn service_start(&self, name: &str, _wait: Duration) -> HostResult<()> {
        changes(&format!("service {name}"))
    }
    fn service_set_start_type(&self, name: &str, _start: StartType) -> HostResult<()> {
        changes(&format!("service {name}"))
    }
    fn service_account(&self, name: &str) -> HostResult<String> {
        reads(&format!("service {name}"))
    }
    fn service_set_account(&self, name: &str, _account: &str) -> HostResult<()> {
        changes(&format!("service {name}"))
    }
    fn program_data(&self) -> PathBuf {
        PathBuf::from(r"C:\ProgramData")
    }
    fn cert_list(&self, store: CertStore) -> HostResult<Vec<CertInfo>> {
        reads(&format!("certificate store {}", store.name()))
    }
    fn cert_delete(&self, store: CertStore, _thumbprint: &str) -> HostResult<()> {
        changes(&format!("certificate store {}", store.name()))
    }
    fn sd_get(&self, path: &Path) -> HostResult<String> {
        reads(&format!("security of {}", path.display()))
    }
    fn sd_set(&self, path: &Path, _sddl: &str) -> HostResult<()> {
        changes(&format!("security of {}", path.display()))
    }
    fn list_tree(&self, path: &Path) -> HostResult<Vec<PathBuf>> {
        reads(&format!("folder {}", path.display()))
    }

    fn state_dir(&self) -> PathBuf {
        self.state_dir.clone()
    }

    fn state_init(&self) -> HostResult<()> {
        let what = format!("create {}", self.state_dir.display());
        fs::create_dir_all(&self.state_dir).map_err(|e| io_err(&what, &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.state_dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| io_err(&what, &e))?;
        }
        Ok(())
    }

    fn state_sd(&self, rel: &str) -> HostResult<Option<String>> {
        let path = self.path(rel);
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path.display().to_string(), &e)),
        };
        #[cfg_attr(not(unix), allow(unused_mut))]
        let mut sddl = String::from("O:BAD:P(A;OICI;FA;;;BA)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o020 != 0 {
                sddl.push_str("(A;OICI;FA;;;BU)");
            }
            if mode & 0o002 != 0 {
                sddl.push_str("(A;OICI;FA;;;WD)");
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        Ok(Some(sddl))
    }

    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        match fs::read(self.path(rel)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(format!("read {}", self.path(rel).display()), &e)),
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
        f.write_all(bytes)
            .and_then(|()| f.sync_data())
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

    fn log_export(&self, export: &LogExport, _dir: &Path, _file: &str) -> HostResult<PathBuf> {
        reads(&format!("event log {}", export.channel))
    }
    fn log_query_text(&self, export: &LogExport, _max: u32) -> HostResult<String> {
        reads(&format!("event log {}", export.channel))
    }
    fn schedule_rollback(&self, plan_id: &str, _deadline: Timestamp) -> HostResult<()> {
        changes(&format!("scheduled rollback of {plan_id}"))
    }
    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()> {
        changes(&format!("scheduled rollback of {plan_id}"))
    }
}
