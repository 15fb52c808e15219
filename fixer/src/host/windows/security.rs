//! Security descriptors of files and folders, always through a handle: each object is
//! opened once with `FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS` (a junction
//! or symbolic link is opened as itself, never followed, and refused), its identity checked
//! (volume serial and file index as the listing saw them, one link for a file, and a final
//! path equal to the path asked for, so no junction higher up redirected it), and its
//! descriptor read (`GetSecurityInfo`) and written (`SetSecurityInfo`) through that same
//! handle, owner and DACL apart. The privileges this needs (backup, restore, take
//! ownership) are enabled around the call and put back as they were after it.

use super::wide::{from_wide_ptr, last_error, os_error, wide, wide_os};
use crate::host::{FsListing, FsObject, FsSkipped, HostError, HostResult, Made, SdWrite};
use std::path::Path;
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ALREADY_EXISTS, ERROR_FILE_EXISTS, ERROR_FILE_NOT_FOUND,
    ERROR_PATH_NOT_FOUND, ERROR_SUCCESS, HANDLE, INVALID_HANDLE_VALUE, LUID, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, ConvertStringSidToSidW, GetSecurityInfo,
    SDDL_REVISION_1, SE_FILE_OBJECT, SetSecurityInfo,
};
use windows_sys::Win32::Security::{
    ACL, AdjustTokenPrivileges, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION,
    GetSecurityDescriptorControl, GetSecurityDescriptorDacl, LUID_AND_ATTRIBUTES,
    LookupPrivilegeValueW, OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR, PSID, SE_DACL_PROTECTED, SE_PRIVILEGE_ENABLED, SECURITY_ATTRIBUTES,
    TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES, TOKEN_QUERY, UNPROTECTED_DACL_SECURITY_INFORMATION,
};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, CreateDirectoryW, CreateFileW, FILE_ATTRIBUTE_DIRECTORY,
    FILE_ATTRIBUTE_REPARSE_POINT, FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT,
    FILE_NAME_NORMALIZED, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
    GetFileInformationByHandle, GetFinalPathNameByHandleW, OPEN_EXISTING, READ_CONTROL,
    VOLUME_NAME_DOS, WRITE_DAC, WRITE_OWNER,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// A LocalAlloc'd block, freed on drop.
struct Local(*mut core::ffi::c_void);

impl Drop for Local {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by the API that returned it, freed once.
            unsafe { LocalFree(self.0) };
        }
    }
}

/// A kernel handle, closed on drop.
pub(super) struct Handle(HANDLE);

impl Handle {
    /// The handle as a [`std::fs::File`], which closes it instead.
    pub(super) fn into_file(self) -> std::fs::File {
        use std::os::windows::io::FromRawHandle;
        let h = self.0;
        std::mem::forget(self);
        // SAFETY: an open file handle this module owned; `File` now owns it, once.
        unsafe { std::fs::File::from_raw_handle(h) }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle this module opened, closed once.
        unsafe { CloseHandle(self.0) };
    }
}

const READ_PRIVILEGES: &[&str] = &["SeBackupPrivilege"];
const WRITE_PRIVILEGES: &[&str] = &[
    "SeBackupPrivilege",
    "SeRestorePrivilege",
    "SeTakeOwnershipPrivilege",
];

/// Privileges enabled for as long as this lives; their earlier state comes back on drop.
pub(super) struct Privileges {
    token: Handle,
    /// `TOKEN_PRIVILEGES` as AdjustTokenPrivileges returned the previous state (u64s keep it
    /// aligned).
    previous: Vec<u64>,
}

/// `TOKEN_PRIVILEGES` with room for three entries.
#[repr(C)]
struct ThreePrivileges {
    count: u32,
    privileges: [LUID_AND_ATTRIBUTES; 3],
}

impl Privileges {
    /// Enables those of `names` the token holds; a missing one surfaces later as "access
    /// denied" on the call that needed it.
    pub(super) fn enable(names: &[&str]) -> HostResult<Privileges> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the current process pseudo-handle; `token` is closed by `Handle`.
        if unsafe {
            OpenProcessToken(
                GetCurrentProcess(),
                TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY,
                &mut token,
            )
        } == 0
        {
            return Err(last_error("OpenProcessToken"));
        }
        let token = Handle(token);
        let mut new = ThreePrivileges {
            count: 0,
            privileges: [LUID_AND_ATTRIBUTES {
                Luid: LUID {
                    LowPart: 0,
                    HighPart: 0,
                },
                Attributes: 0,
            }; 3],
        };
        for name in names.iter().take(3) {
            let mut luid = LUID {
                LowPart: 0,
                HighPart: 0,
            };
            let w = wide(name);
            // SAFETY: NUL-terminated privilege name.
            if unsafe { LookupPrivilegeValueW(std::ptr::null(), w.as_ptr(), &mut luid) } != 0
                && let Some(slot) = new.privileges.get_mut(new.count as usize)
            {
                *slot = LUID_AND_ATTRIBUTES {
                    Luid: luid,
                    Attributes: SE_PRIVILEGE_ENABLED,
                };
                new.count += 1;
            }
        }
        let mut previous = vec![0u64; 16];
        let mut len = 0u32;
        // SAFETY: `new` is laid out as a TOKEN_PRIVILEGES with `count` entries; `previous`
        // holds 128 aligned bytes, enough for three entries.
        unsafe {
            AdjustTokenPrivileges(
                token.0,
                0,
                (&raw const new).cast::<TOKEN_PRIVILEGES>(),
                (previous.len() * 8) as u32,
                previous.as_mut_ptr().cast::<TOKEN_PRIVILEGES>(),
                &mut len,
            )
        };
        Ok(Privileges { token, previous })
    }
}

impl Drop for Privileges {
    fn drop(&mut self) {
        // SAFETY: `previous` is what AdjustTokenPrivileges wrote: putting it back disables
        // exactly what this enabled and was disabled before.
        unsafe {
            AdjustTokenPrivileges(
                self.token.0,
                0,
                self.previous.as_ptr().cast::<TOKEN_PRIVILEGES>(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
    }
}

/// What a handle says about the object it is open on.
pub(super) struct Opened {
    pub(super) handle: Handle,
    pub(super) object: FsObject,
    pub(super) links: u32,
}

/// `\\?\C:\x` → `C:\x`; `\\?\UNC\s\x` → `\\s\x`.
fn plain_path(p: &str) -> String {
    if let Some(rest) = p.strip_prefix(r"\\?\UNC\") {
        format!(r"\\{rest}")
    } else {
        p.strip_prefix(r"\\?\").unwrap_or(p).to_owned()
    }
}

fn same_path(a: &str, b: &str) -> bool {
    a.trim_end_matches('\\')
        .eq_ignore_ascii_case(b.trim_end_matches('\\'))
}

/// Opens `path` itself (never what a reparse point leads to) and checks it is what it
/// claims: not a reparse point, and reached by its own path (no junction on the way).
fn open(path: &str, write: bool) -> HostResult<Opened> {
    let access = READ_CONTROL | if write { WRITE_DAC | WRITE_OWNER } else { 0 };
    open_checked(path, access, OPEN_EXISTING)
}

/// [`open`] with `access` (and `CREATE_NEW` as `disposition` to make a file that must not
/// exist yet): the same checks on what was opened or made.
pub(super) fn open_checked(path: &str, access: u32, disposition: u32) -> HostResult<Opened> {
    let w = wide(path);
    // SAFETY: NUL-terminated path; no security attributes; the handle is closed by `Handle`.
    let h = unsafe {
        CreateFileW(
            w.as_ptr(),
            access,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            std::ptr::null(),
            disposition,
            FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        return Err(match code {
            ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => {
                HostError::NotFound { what: path.into() }
            }
            ERROR_FILE_EXISTS => HostError::Exists { what: path.into() },
            _ => os_error(format!("open {path}"), code),
        });
    }
    let handle = Handle(h);
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: an open handle; `info` is written by the call.
    if unsafe { GetFileInformationByHandle(handle.0, &mut info) } == 0 {
        return Err(last_error(format!("identify {path}")));
    }
    if info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return Err(HostError::refused(
            path,
            "it is a junction or symbolic link (a reparse point); rdpfix never acts through one",
        ));
    }
    let mut buf = vec![0u16; 1024];
    // SAFETY: `buf` holds 1,024 units; the result's length is returned.
    let n = unsafe {
        GetFinalPathNameByHandleW(
            handle.0,
            buf.as_mut_ptr(),
            buf.len() as u32,
            FILE_NAME_NORMALIZED | VOLUME_NAME_DOS,
        )
    } as usize;
    if n == 0 || n >= buf.len() {
        return Err(last_error(format!("final path of {path}")));
    }
    let final_path = plain_path(&String::from_utf16_lossy(buf.get(..n).unwrap_or_default()));
    if !same_path(&final_path, path) {
        return Err(HostError::refused(
            path,
            format!("its final path is {final_path}: a junction on the way leads elsewhere"),
        ));
    }
    let index = (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow);
    Ok(Opened {
        handle,
        object: FsObject {
            path: path.to_owned(),
            id: format!("{:08x}-{index:016x}", info.dwVolumeSerialNumber),
            dir: info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY != 0,
        },
        links: info.nNumberOfLinks,
    })
}

/// Opens `obj` again and checks it is still the same object.
fn reopen(obj: &FsObject, write: bool) -> HostResult<Handle> {
    let now = open(&obj.path, write)?;
    if now.object.id != obj.id || now.object.dir != obj.dir {
        return Err(HostError::refused(
            &obj.path,
            format!(
                "it was replaced since rdpfix listed it (file id {}, was {})",
                now.object.id, obj.id
            ),
        ));
    }
    Ok(now.handle)
}

pub fn object(path: &Path) -> HostResult<FsObject> {
    let _p = Privileges::enable(READ_PRIVILEGES)?;
    open(&path.display().to_string(), false).map(|o| o.object)
}

pub fn children(folder: &FsObject) -> HostResult<FsListing> {
    let _p = Privileges::enable(READ_PRIVILEGES)?;
    drop(reopen(folder, false)?);
    let entries = std::fs::read_dir(&folder.path)
        .map_err(|e| super::io_err(format!("list {}", folder.path), &e))?;
    let mut listing = FsListing::default();
    for entry in entries {
        let entry = entry.map_err(|e| super::io_err(format!("list {}", folder.path), &e))?;
        let path = format!(
            "{}\\{}",
            folder.path.trim_end_matches('\\'),
            entry.file_name().to_string_lossy()
        );
        match open(&path, false) {
            Ok(o) if !o.object.dir && o.links > 1 => listing.skipped.push(FsSkipped {
                path,
                reason: format!(
                    "a file with {} hard links: its security is shared with a file elsewhere",
                    o.links
                ),
            }),
            Ok(o) => listing.objects.push(o.object),
            Err(HostError::Refused { reason, .. }) => {
                listing.skipped.push(FsSkipped { path, reason });
            }
            // Gone since the listing: nothing to act on.
            Err(HostError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    listing.objects.sort();
    Ok(listing)
}

/// Owner, group and DACL of the object behind `h`, as SDDL.
fn read_sddl(h: &Handle, what: &str) -> HostResult<String> {
    let info = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: an open handle with READ_CONTROL; the descriptor is returned in `sd`.
    let rc = unsafe {
        GetSecurityInfo(
            h.0,
            SE_FILE_OBJECT,
            info,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != ERROR_SUCCESS {
        return Err(os_error(format!("read security of {what}"), rc));
    }
    let sd = Local(sd);
    let mut text: *mut u16 = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: `sd.0` is a valid descriptor; `text` receives a LocalAlloc'd string.
    if unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd.0,
            SDDL_REVISION_1,
            info,
            &mut text,
            &mut len,
        )
    } == 0
    {
        return Err(last_error(format!("convert security of {what}")));
    }
    let block = Local(text.cast());
    // SAFETY: `text` is NUL-terminated.
    let s = unsafe { from_wide_ptr(text) };
    drop(block);
    Ok(s)
}

/// A self-relative security descriptor made from SDDL (LocalAlloc'd).
fn descriptor(sddl: &str, what: &str) -> HostResult<Local> {
    let w = wide(sddl);
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: NUL-terminated SDDL; `sd` receives a LocalAlloc'd descriptor.
    if unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            w.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    } == 0
    {
        return Err(last_error(format!("{what}: invalid SDDL")));
    }
    Ok(Local(sd))
}

pub fn read(obj: &FsObject) -> HostResult<String> {
    let _p = Privileges::enable(READ_PRIVILEGES)?;
    let h = reopen(obj, false)?;
    read_sddl(&h, &obj.path)
}

pub fn write(obj: &FsObject, expect: &str, change: &SdWrite) -> HostResult<()> {
    let what = format!("set security of {}", obj.path);
    let _p = Privileges::enable(WRITE_PRIVILEGES)?;
    let h = reopen(obj, true)?;
    let current = read_sddl(&h, &obj.path)?;
    if current != expect {
        return Err(HostError::refused(
            &obj.path,
            format!("its security changed since rdpfix read it (now {current})"),
        ));
    }
    let mut info = 0;
    // Both kept alive until SetSecurityInfo returns.
    let mut blocks: Vec<Local> = Vec::new();
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    if let Some(sid) = &change.owner {
        let w = wide(&crate::sddl::canonical_sid(sid));
        // SAFETY: NUL-terminated SID string; the SID is LocalAlloc'd.
        if unsafe { ConvertStringSidToSidW(w.as_ptr(), &mut owner) } == 0 {
            return Err(last_error(format!("{what}: invalid SID {sid}")));
        }
        blocks.push(Local(owner));
        info |= OWNER_SECURITY_INFORMATION;
    }
    if let Some(text) = &change.dacl {
        crate::host::checked_dacl(&obj.path, text)?;
        let block = descriptor(text, &what)?;
        let sd = block.0;
        blocks.push(block);
        let (mut present, mut defaulted) = (0, 0);
        let (mut control, mut revision) = (0u16, 0u32);
        // SAFETY: a valid self-relative descriptor; out pointers are valid.
        unsafe {
            GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted);
            GetSecurityDescriptorControl(sd, &mut control, &mut revision);
        }
        if present == 0 || dacl.is_null() {
            return Err(HostError::refused(
                &obj.path,
                "the DACL to write is missing; rdpfix never writes a NULL DACL",
            ));
        }
        info |= DACL_SECURITY_INFORMATION
            | if control & SE_DACL_PROTECTED != 0 {
                PROTECTED_DACL_SECURITY_INFORMATION
            } else {
                UNPROTECTED_DACL_SECURITY_INFORMATION
            };
    }
    if info == 0 {
        return Ok(());
    }
    // SAFETY: an open handle with WRITE_DAC | WRITE_OWNER; owner and DACL point into the
    // blocks above, alive for the call.
    let rc = unsafe {
        SetSecurityInfo(
            h.0,
            SE_FILE_OBJECT,
            info,
            owner,
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        )
    };
    drop(blocks);
    if rc != ERROR_SUCCESS {
        return Err(os_error(what, rc));
    }
    Ok(())
}

/// Creates a folder with exactly this security descriptor (no window in which it has
/// another); `Made::Existed`, changing nothing, when something already has that name.
pub fn create_dir_with_sddl(path: &Path, sddl: &str) -> HostResult<Made> {
    let what = format!("create {}", path.display());
    let sd = descriptor(sddl, &what)?;
    let attrs = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd.0,
        bInheritHandle: 0,
    };
    let w = wide_os(path.as_os_str());
    // SAFETY: NUL-terminated path; `attrs` points at a live descriptor.
    if unsafe { CreateDirectoryW(w.as_ptr(), &attrs) } == 0 {
        let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        if code == ERROR_ALREADY_EXISTS {
            return Ok(Made::Existed);
        }
        return Err(os_error(what, code));
    }
    Ok(Made::Created)
}

/// Whether this process runs under Wine: its ntdll exports `wine_get_version`, which no
/// Windows ntdll has (and which nothing on a real Windows machine can add to the system's
/// ntdll without already being SYSTEM).
pub fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    let ntdll = wide("ntdll.dll");
    // SAFETY: NUL-terminated name; ntdll is loaded in every process; the handle is not freed.
    let module = unsafe { GetModuleHandleW(ntdll.as_ptr()) };
    if module.is_null() {
        return false;
    }
    // SAFETY: a loaded module and a NUL-terminated ANSI name; the address is only tested.
    unsafe { GetProcAddress(module, c"wine_get_version".as_ptr().cast()) }.is_some()
}

/// Under Wine, the SID of the account this process runs as, when it is a member of
/// Administrators (CheckTokenMembership, which honours elevation); `None` on Windows.
pub fn wine_prefix_owner() -> HostResult<Option<String>> {
    if !under_wine() {
        return Ok(None);
    }
    use windows_sys::Win32::Security::Authorization::{
        ConvertSidToStringSidW, ConvertStringSidToSidW,
    };
    use windows_sys::Win32::Security::{
        CheckTokenMembership, GetTokenInformation, TOKEN_USER, TokenUser,
    };
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the current process pseudo-handle; `token` is closed below.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(last_error("OpenProcessToken"));
    }
    let mut buf = vec![0u64; 64];
    let mut len = 0u32;
    // SAFETY: `buf` holds 512 bytes, aligned for TOKEN_USER.
    let ok =
        unsafe { GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), 512, &mut len) };
    // SAFETY: closes the handle opened above.
    unsafe { CloseHandle(token) };
    if ok == 0 {
        return Err(last_error("GetTokenInformation"));
    }
    // SAFETY: filled in as a TOKEN_USER whose SID lives in `buf`.
    let user_sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: a valid SID; `text` is LocalAlloc'd.
    if unsafe { ConvertSidToStringSidW(user_sid, &mut text) } == 0 {
        return Err(last_error("ConvertSidToStringSidW"));
    }
    let block = Local(text.cast());
    // SAFETY: NUL-terminated.
    let sid = unsafe { super::wide::from_wide_ptr(text) };
    drop(block);
    let admins = wide(crate::sddl::ADMINISTRATORS);
    let mut admins_sid: PSID = std::ptr::null_mut();
    // SAFETY: NUL-terminated SID string; the SID is LocalAlloc'd.
    if unsafe { ConvertStringSidToSidW(admins.as_ptr(), &mut admins_sid) } == 0 {
        return Err(last_error("ConvertStringSidToSidW"));
    }
    let admins_block = Local(admins_sid);
    let mut member = 0;
    // SAFETY: null token = the calling thread's effective token.
    let ok = unsafe { CheckTokenMembership(std::ptr::null_mut(), admins_sid, &mut member) };
    drop(admins_block);
    if ok == 0 {
        return Err(last_error("CheckTokenMembership"));
    }
    Ok((member != 0).then_some(sid))
}
