//! The native Linux (and macOS) host: a real state directory and clock, the machine's host
//! name, and nothing of Windows itself — reading or changing it answers [`HostError::NeedsWindows`].
//!
//! It exists so the same `fixer` can enrol keys and `verify` a plan off the VM. The state
//! directory's permission bits are mapped onto the SDDL the safety check reads: writable by
//! group → `BU` (Users) may write, by others → `WD` (Everyone) may write.

use super::state_files::{StateFiles, io_err};
use super::*;
use std::fs;

#[derive(Debug)]
pub struct PosixHost {
    files: StateFiles,
}

impl PosixHost {
    pub fn new(state_dir: PathBuf) -> Self {
        PosixHost {
            files: StateFiles::new(state_dir),
        }
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
}

/// The permission bits mapped onto the SDDL the safety check reads: the owner is taken as
/// an administrator; writable by group → Users (`BU`) may write, by others → Everyone.
fn mode_sddl(meta: &fs::Metadata) -> String {
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
    sddl
}

fn object_id(meta: &fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!("{:x}-{:x}", meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        String::new()
    }
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
    fn service_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        reads(&format!("service {name}"))
    }
    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        reads(&format!("service {name}"))
    }
    fn service_set_delayed_auto_start(&self, name: &str, _delayed: bool) -> HostResult<()> {
        changes(&format!("service {name}"))
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
    fn group_members(&self, group: &str) -> HostResult<Vec<String>> {
        reads(&format!("members of group {group}"))
    }

    fn group_add_member(&self, group: &str, member: &str) -> HostResult<()> {
        changes(&format!("add {member} to group {group}"))
    }

    fn group_remove_member(&self, group: &str, member: &str) -> HostResult<()> {
        changes(&format!("remove {member} from group {group}"))
    }

    fn account_rights(&self, sid: &str) -> HostResult<Vec<String>> {
        reads(&format!("rights of {sid}"))
    }

    fn right_holders(&self, right: &str) -> HostResult<Vec<String>> {
        reads(&format!("holders of {right}"))
    }

    fn account_rights_add(&self, sid: &str, right: &str) -> HostResult<()> {
        changes(&format!("grant {right} to {sid}"))
    }

    fn account_rights_remove(&self, sid: &str, right: &str) -> HostResult<()> {
        changes(&format!("revoke {right} from {sid}"))
    }

    fn firewall_rule_enabled(&self, rule_id: &str) -> HostResult<Option<bool>> {
        reads(&format!("firewall rule {rule_id}"))
    }

    fn firewall_rule_set_enabled(&self, rule_id: &str, _enabled: bool) -> HostResult<()> {
        changes(&format!("firewall rule {rule_id}"))
    }

    fn firewall_profiles(&self) -> HostResult<Vec<FirewallProfile>> {
        reads("firewall profiles")
    }

    fn port_listener(&self, port: u16) -> HostResult<Option<PortListener>> {
        reads(&format!("listener of TCP port {port}"))
    }

    fn system_drive_space(&self) -> HostResult<DiskSpace> {
        reads("free space of the system drive")
    }

    fn cert_list(&self, store: CertStore) -> HostResult<Vec<CertInfo>> {
        reads(&format!("certificate store {}", store.name()))
    }
    fn cert_delete(&self, store: CertStore, _thumbprint: &str) -> HostResult<()> {
        changes(&format!("certificate store {}", store.name()))
    }
    fn cert_add(&self, store: CertStore, _cert: &CertInfo) -> HostResult<()> {
        changes(&format!("certificate store {}", store.name()))
    }

    /// Any path (the state directory is judged through these): a symbolic link, or a
    /// path whose canonical form differs (a link higher up), is refused.
    fn fs_object(&self, path: &Path) -> HostResult<FsObject> {
        let what = path.display().to_string();
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(HostError::NotFound { what });
            }
            Err(e) => return Err(io_err(what, &e)),
        };
        if meta.file_type().is_symlink() {
            return Err(HostError::refused(
                what,
                "it is a symbolic link; rdpfix never acts through one",
            ));
        }
        let real = fs::canonicalize(path).map_err(|e| io_err(&what, &e))?;
        let absolute = std::path::absolute(path).map_err(|e| io_err(&what, &e))?;
        if real != absolute {
            return Err(HostError::refused(
                what,
                format!(
                    "its final path is {}: a symbolic link on the way",
                    real.display()
                ),
            ));
        }
        Ok(FsObject {
            path: what,
            id: object_id(&meta),
            dir: meta.is_dir(),
        })
    }

    fn fs_children(&self, folder: &FsObject) -> HostResult<FsListing> {
        let entries = fs::read_dir(&folder.path).map_err(|e| io_err(&folder.path, &e))?;
        let mut listing = FsListing::default();
        for entry in entries {
            let entry = entry.map_err(|e| io_err(&folder.path, &e))?;
            let path = entry.path();
            match self.fs_object(&path) {
                Ok(obj) => listing.objects.push(obj),
                Err(HostError::Refused { reason, .. }) => listing.skipped.push(FsSkipped {
                    path: path.display().to_string(),
                    reason,
                }),
                Err(HostError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        listing.objects.sort();
        Ok(listing)
    }

    fn sd_read(&self, obj: &FsObject) -> HostResult<String> {
        let now = self.fs_object(Path::new(&obj.path))?;
        if now.id != obj.id {
            return Err(HostError::refused(
                &obj.path,
                "it was replaced by another file since it was listed",
            ));
        }
        let meta = fs::symlink_metadata(&obj.path).map_err(|e| io_err(&obj.path, &e))?;
        Ok(mode_sddl(&meta))
    }

    fn sd_write(&self, obj: &FsObject, _expect: &str, _write: &SdWrite) -> HostResult<()> {
        changes(&format!("security of {}", obj.path))
    }

    /// The state directory only: every other folder the fixer makes is on Windows.
    fn create_admin_dir(&self, path: &Path) -> HostResult<Made> {
        if path != self.files.root() {
            return changes(&format!("folder {}", path.display()));
        }
        let what = format!("create {}", path.display());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(&what, &e))?;
        }
        match fs::create_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Made::Existed),
            Err(e) => return Err(io_err(what, &e)),
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(|e| io_err(&what, &e))?;
        }
        Ok(Made::Created)
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

    fn log_export(&self, export: &LogExport, _dir: &Path, _file: &str) -> HostResult<PathBuf> {
        reads(&format!("event log {}", export.channel))
    }
    fn zip_logs(&self, dir: &Path, _files: &[PathBuf]) -> HostResult<LogBundle> {
        changes(&format!("folder {}", dir.display()))
    }
    fn collect_file(&self, dir: &Path, name: &str, from: FileSource<'_>) -> HostResult<PathBuf> {
        crate::bundle::write_file(dir, name, from)
            .map_err(|e| io_err(format!("write {}", dir.join(name).display()), &e))
    }
    fn log_query_text(&self, export: &LogExport, _max: u32) -> HostResult<String> {
        reads(&format!("event log {}", export.channel))
    }
    fn disk_roots(&self) -> HostResult<Vec<PathBuf>> {
        reads("the attached disks")
    }
    fn disk_read(&self, path: &Path, _max: u64) -> HostResult<Vec<u8>> {
        reads(&format!("file {} of an attached disk", path.display()))
    }
    fn disk_write(&self, path: &Path, _bytes: &[u8]) -> HostResult<()> {
        changes(&format!("file {} of an attached disk", path.display()))
    }
    fn hive_load(&self, mount: &str, _file: &Path) -> HostResult<()> {
        changes(&format!(r"hive HKLM\{mount}"))
    }
    fn hive_unload(&self, mount: &str) -> HostResult<()> {
        changes(&format!(r"hive HKLM\{mount}"))
    }
    fn task_dir(&self) -> PathBuf {
        PathBuf::from(r"C:\Program Files\rdpfix")
    }
    fn schedule_rollback(&self, plan_id: &str, _deadline: Timestamp) -> HostResult<()> {
        changes(&format!("scheduled rollback of {plan_id}"))
    }
    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()> {
        changes(&format!("scheduled rollback of {plan_id}"))
    }
}
