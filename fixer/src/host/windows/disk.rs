//! An OS disk attached to this (rescue) machine: its drives found with `GetLogicalDrives`,
//! its files read and written with every folder on the way looked at first (a reparse
//! point anywhere is refused, never followed), its hives loaded under `HKLM` with
//! `RegLoadKeyW` and unloaded with `RegUnLoadKeyW`, SeBackupPrivilege and SeRestorePrivilege
//! enabled for each call.
//!
//! The disk is not running: nothing on it acts between the check of a path and its use,
//! so a path is checked, then opened by name (as `offline.rs` reads a disk's logs).

use super::security::Privileges;
use super::wide::{os_error, wide, wide_os};
use crate::host::{HostError, HostResult};
use std::io::{Read, Write};
use std::os::windows::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, ERROR_SUCCESS};
use windows_sys::Win32::Storage::FileSystem::GetLogicalDrives;
use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RegLoadKeyW, RegUnLoadKeyW};

const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;

/// An I/O error as a [`HostError`]: a missing file or folder is [`HostError::NotFound`]
/// (a disk without the fixer's record is not an error).
fn io_error(what: String, e: &std::io::Error) -> HostError {
    if e.kind() == std::io::ErrorKind::NotFound {
        HostError::NotFound { what }
    } else {
        super::io_err(what, e)
    }
}
const HIVE_PRIVILEGES: &[&str] = &["SeBackupPrivilege", "SeRestorePrivilege"];
/// How long an unload is retried while a handle into the hive is still open.
const UNLOAD_WAIT: Duration = Duration::from_secs(5);

/// Refuses `path` when it, or a folder on its way below the drive's root, is a link or any
/// reparse point (a junction on the attached disk could lead to the rescue VM's own files).
pub fn check_no_links(path: &Path) -> HostResult<()> {
    let mut at = PathBuf::new();
    for part in path.components() {
        at.push(part);
        if !matches!(part, Component::Normal(_)) {
            continue;
        }
        let meta =
            std::fs::symlink_metadata(&at).map_err(|e| io_error(at.display().to_string(), &e))?;
        if meta.file_type().is_symlink()
            || meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0
        {
            return Err(HostError::refused(
                path.display().to_string(),
                format!(
                    "{} is a junction, symbolic link or other reparse point; rdpfix never acts \
                     through one",
                    at.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Drive roots other than the system drive that hold `Windows\System32\config\SOFTWARE`.
pub fn roots(system_drive: &str) -> Vec<PathBuf> {
    // SAFETY: no arguments; a bit mask of the drives that exist.
    let mask = unsafe { GetLogicalDrives() };
    (0u8..26)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| format!("{}:", char::from(b'A' + i)))
        .filter(|d| !d.eq_ignore_ascii_case(system_drive))
        .map(|d| PathBuf::from(format!("{d}\\")))
        .filter(|root| {
            let hive = root.join(r"Windows\System32\config\SOFTWARE");
            check_no_links(&hive).is_ok() && hive.is_file()
        })
        .collect()
}

pub fn read(path: &Path, max: u64) -> HostResult<Vec<u8>> {
    check_no_links(path)?;
    let what = || format!("read {}", path.display());
    let file = std::fs::File::open(path).map_err(|e| io_error(what(), &e))?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| super::io_err(what(), &e))?;
    if bytes.len() as u64 > max {
        return Err(HostError::refused(
            path.display().to_string(),
            format!("it is larger than the {max} bytes rdpfix reads of it"),
        ));
    }
    Ok(bytes)
}

pub fn write(path: &Path, bytes: &[u8]) -> HostResult<()> {
    let what = || format!("write {}", path.display());
    let parent = path
        .parent()
        .ok_or_else(|| HostError::failed(what(), "no folder"))?;
    check_no_links(parent)?;
    let mut temp = path.as_os_str().to_owned();
    temp.push(".rdpfix-partial");
    let temp = PathBuf::from(temp);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&temp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        super::io_err(what(), &e)
    })
}

pub fn load(mount: &str, file: &Path) -> HostResult<()> {
    check_no_links(file)?;
    if super::registry::key_exists(mount)? {
        return Err(HostError::Exists {
            what: format!(r"HKLM\{mount}"),
        });
    }
    let _p = Privileges::enable(HIVE_PRIVILEGES)?;
    let (sub, path) = (wide(mount), wide_os(file.as_os_str()));
    // SAFETY: NUL-terminated key name and file path.
    match unsafe { RegLoadKeyW(HKEY_LOCAL_MACHINE, sub.as_ptr(), path.as_ptr()) } {
        ERROR_SUCCESS => Ok(()),
        code => Err(os_error(
            format!(r"load {} as HKLM\{mount}", file.display()),
            code,
        )),
    }
}

pub fn unload(mount: &str) -> HostResult<()> {
    if !super::registry::key_exists(mount)? {
        return Err(HostError::NotFound {
            what: format!(r"HKLM\{mount}"),
        });
    }
    let _p = Privileges::enable(HIVE_PRIVILEGES)?;
    let sub = wide(mount);
    let started = std::time::Instant::now();
    loop {
        // SAFETY: NUL-terminated key name.
        match unsafe { RegUnLoadKeyW(HKEY_LOCAL_MACHINE, sub.as_ptr()) } {
            ERROR_SUCCESS => return Ok(()),
            // A handle into the hive is still open (ours just closed, or another process's).
            ERROR_ACCESS_DENIED if started.elapsed() < UNLOAD_WAIT => {
                std::thread::sleep(Duration::from_millis(250));
            }
            code => return Err(os_error(format!(r"unload HKLM\{mount}"), code)),
        }
    }
}
