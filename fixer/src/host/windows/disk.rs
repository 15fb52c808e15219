//! An OS disk attached to this (rescue) machine: its drives found with `GetLogicalDrives`,
//! its files opened by handle (`security::open_checked`: a reparse point is opened as
//! itself and refused, a file with more than one link refused, and the handle's final path
//! must be the path asked for, so no junction on the way led elsewhere), read and written
//! through that handle (a write goes to a new file beside, flushed, then renamed over the
//! old one through its handle); its hives loaded under `HKLM` with `RegLoadKeyW` and
//! unloaded with `RegUnLoadKeyW`, SeBackupPrivilege and SeRestorePrivilege enabled for each
//! call.
//!
//! `RegLoadKeyW` takes a file name, never a handle (and the hive must not be open elsewhere
//! while it loads), so a hive is checked by handle, the handle closed, then loaded by name:
//! see SECURITY.md ("Offline plans") for what that leaves and why it holds on a rescue VM.

use super::security::{Privileges, open_checked};
use super::wide::{os_error, wide, wide_os};
use crate::host::{HostError, HostResult};
use std::io::{Read, Write};
use std::os::windows::fs::MetadataExt;
use std::os::windows::io::AsRawHandle;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, ERROR_SUCCESS};
use windows_sys::Win32::Storage::FileSystem::{
    CREATE_NEW, DELETE, FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_RENAME_INFO, FileRenameInfo,
    GetLogicalDrives, OPEN_EXISTING, READ_CONTROL, SetFileInformationByHandle,
};
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

/// `path`, a plain file (one link, no reparse point, reached by its own path), opened by
/// handle with `access`; `CREATE_NEW` makes it, in a folder checked the same way first.
fn plain_file(path: &Path, access: u32, disposition: u32) -> HostResult<std::fs::File> {
    let text = path.display().to_string();
    if disposition == CREATE_NEW {
        let parent = path
            .parent()
            .ok_or_else(|| HostError::failed(&text, "no folder"))?;
        drop(open_checked(
            &parent.display().to_string(),
            READ_CONTROL,
            OPEN_EXISTING,
        )?);
    }
    let opened = open_checked(&text, access, disposition)?;
    if opened.object.dir {
        return Err(HostError::refused(text, "it is a folder, not a file"));
    }
    if opened.links > 1 {
        return Err(HostError::refused(
            text,
            format!(
                "it has {} hard links: what is written to it would change a file elsewhere",
                opened.links
            ),
        ));
    }
    Ok(opened.handle.into_file())
}

/// A file of the disk open for reading, by handle; refused past `max` bytes.
pub fn open(path: &Path, max: u64) -> HostResult<std::fs::File> {
    let _p = Privileges::enable(&["SeBackupPrivilege"])?;
    let file = plain_file(path, FILE_GENERIC_READ, OPEN_EXISTING)?;
    let len = file
        .metadata()
        .map_err(|e| super::io_err(format!("read {}", path.display()), &e))?
        .len();
    if len > max {
        return Err(HostError::refused(
            path.display().to_string(),
            format!("it is larger than the {max} bytes rdpfix reads of it"),
        ));
    }
    Ok(file)
}

pub fn read(path: &Path, max: u64) -> HostResult<Vec<u8>> {
    let file = open(path, max)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| super::io_err(format!("read {}", path.display()), &e))?;
    if bytes.len() as u64 > max {
        return Err(HostError::refused(
            path.display().to_string(),
            format!("it is larger than the {max} bytes rdpfix reads of it"),
        ));
    }
    Ok(bytes)
}

/// Replaces `path`: a new file beside it (made by handle, never opened through a link),
/// written and flushed, then renamed over `path` through that handle, unless `path` is a
/// folder, a reparse point or a hard-linked file.
pub fn write(path: &Path, bytes: &[u8]) -> HostResult<()> {
    let what = || format!("write {}", path.display());
    let mut temp = path.as_os_str().to_owned();
    temp.push(".rdpfix-partial");
    let temp = PathBuf::from(temp);
    // A run that died may have left one: deleting a link deletes the link itself.
    match std::fs::remove_file(&temp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(super::io_err(what(), &e));
        }
        _ => {}
    }
    let mut file = plain_file(&temp, FILE_GENERIC_WRITE | DELETE, CREATE_NEW)?;
    let written = (|| {
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| super::io_err(what(), &e))?;
        match plain_file(path, READ_CONTROL, OPEN_EXISTING) {
            Ok(old) => drop(old),
            Err(HostError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        rename_over(&file, path)
    })();
    drop(file);
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Renames the file open as `file` to `to` (a full path), replacing what is there
/// (`SetFileInformationByHandle` with `FileRenameInfo`; the handle has `DELETE` access).
fn rename_over(file: &std::fs::File, to: &Path) -> HostResult<()> {
    let name: Vec<u16> = wide_os(to.as_os_str());
    let head = std::mem::offset_of!(FILE_RENAME_INFO, FileName);
    let size = head + name.len() * 2;
    // u64s keep the structure aligned; the name (with its NUL) fits after the head.
    let mut buf = vec![0u64; size.div_ceil(8)];
    let info = buf.as_mut_ptr().cast::<FILE_RENAME_INFO>();
    // SAFETY: `buf` is zeroed, aligned and `size` bytes long: the head, then the name's
    // units (FileNameLength counts its bytes without the NUL).
    unsafe {
        (*info).Anonymous.ReplaceIfExists = true;
        (*info).FileNameLength = ((name.len() - 1) * 2) as u32;
        std::ptr::copy_nonoverlapping(
            name.as_ptr(),
            (&raw mut (*info).FileName).cast::<u16>(),
            name.len(),
        );
    }
    // SAFETY: an open handle with DELETE access; `info` is `size` valid bytes.
    if unsafe {
        SetFileInformationByHandle(
            file.as_raw_handle(),
            FileRenameInfo,
            info.cast_const().cast(),
            size as u32,
        )
    } == 0
    {
        let e = std::io::Error::last_os_error();
        return Err(super::io_err(format!("rename over {}", to.display()), &e));
    }
    Ok(())
}

/// Loads the hive `file` as `HKLM\<mount>`: the file is first opened by handle and checked
/// (a plain file reached by its own path), that handle closed, then the file loaded by name.
pub fn load(mount: &str, file: &Path) -> HostResult<()> {
    drop(plain_file(file, READ_CONTROL, OPEN_EXISTING)?);
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
