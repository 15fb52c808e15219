//! Security descriptors of files and folders as SDDL: GetNamedSecurityInfoW +
//! ConvertSecurityDescriptorToStringSecurityDescriptorW to read,
//! ConvertStringSecurityDescriptorToSecurityDescriptorW + SetNamedSecurityInfoW to write
//! (owner and DACL with its protection), and the privileges a restore needs.

use super::wide::{last_error, os_error, wide, wide_os};
use crate::host::HostResult;
use std::path::Path;
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND, ERROR_SUCCESS, HANDLE, LUID, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, SDDL_REVISION_1,
    SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACL, AdjustTokenPrivileges, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION,
    GetSecurityDescriptorControl, GetSecurityDescriptorDacl, GetSecurityDescriptorOwner,
    LUID_AND_ATTRIBUTES, LookupPrivilegeValueW, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, SE_DACL_PROTECTED,
    SE_PRIVILEGE_ENABLED, SECURITY_ATTRIBUTES, TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES,
    TOKEN_QUERY, UNPROTECTED_DACL_SECURITY_INFORMATION,
};
use windows_sys::Win32::Storage::FileSystem::CreateDirectoryW;
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

/// Owner, group and DACL of `path` as SDDL; `None` when the path does not exist.
pub fn get(path: &Path) -> HostResult<Option<String>> {
    let w = wide_os(path.as_os_str());
    let info = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: NUL-terminated path; the descriptor is returned in `sd` (LocalFree).
    let rc = unsafe {
        GetNamedSecurityInfoW(
            w.as_ptr(),
            SE_FILE_OBJECT,
            info,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    match rc {
        ERROR_SUCCESS => {}
        ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => return Ok(None),
        code => {
            return Err(os_error(
                format!("read security of {}", path.display()),
                code,
            ));
        }
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
        return Err(last_error(format!(
            "convert security of {}",
            path.display()
        )));
    }
    let text_block = Local(text.cast());
    // SAFETY: `text` is NUL-terminated.
    let s = unsafe { super::wide::from_wide_ptr(text) };
    drop(text_block);
    Ok(Some(s))
}

/// Sets owner (when the SDDL names one) and DACL, protected or not as the SDDL says.
pub fn set(path: &Path, sddl: &str) -> HostResult<()> {
    let what = format!("set security of {}", path.display());
    let wsddl = wide(sddl);
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: NUL-terminated SDDL; `sd` receives a LocalAlloc'd descriptor.
    if unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            wsddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    } == 0
    {
        return Err(last_error(format!("{what}: invalid SDDL")));
    }
    let sd = Local(sd);
    let (mut owner, mut dacl): (PSID, *mut ACL) = (std::ptr::null_mut(), std::ptr::null_mut());
    let (mut defaulted, mut present) = (0, 0);
    let (mut control, mut revision) = (0u16, 0u32);
    // SAFETY: `sd.0` is a valid self-relative descriptor; out pointers are valid.
    unsafe {
        GetSecurityDescriptorOwner(sd.0, &mut owner, &mut defaulted);
        GetSecurityDescriptorDacl(sd.0, &mut present, &mut dacl, &mut defaulted);
        GetSecurityDescriptorControl(sd.0, &mut control, &mut revision);
    }
    let mut info = DACL_SECURITY_INFORMATION;
    info |= if control & SE_DACL_PROTECTED != 0 {
        PROTECTED_DACL_SECURITY_INFORMATION
    } else {
        UNPROTECTED_DACL_SECURITY_INFORMATION
    };
    if !owner.is_null() {
        info |= OWNER_SECURITY_INFORMATION;
    }
    let w = wide_os(path.as_os_str());
    // SAFETY: owner and DACL point into `sd`, alive for the call.
    let rc = unsafe {
        SetNamedSecurityInfoW(
            w.as_ptr(),
            SE_FILE_OBJECT,
            info,
            owner,
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        )
    };
    if rc != ERROR_SUCCESS {
        return Err(os_error(what, rc));
    }
    Ok(())
}

/// Creates a folder with exactly this security descriptor (no window in which it has
/// another).
pub fn create_dir_with_sddl(path: &Path, sddl: &str) -> HostResult<()> {
    let what = format!("create {}", path.display());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| super::io_err(&what, &e))?;
    }
    let wsddl = wide(sddl);
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: as in `set`.
    if unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            wsddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    } == 0
    {
        return Err(last_error(format!("{what}: invalid SDDL")));
    }
    let sd = Local(sd);
    let attrs = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd.0,
        bInheritHandle: 0,
    };
    let w = wide_os(path.as_os_str());
    // SAFETY: NUL-terminated path; `attrs` points at a live descriptor.
    if unsafe { CreateDirectoryW(w.as_ptr(), &attrs) } == 0 {
        return Err(last_error(what));
    }
    Ok(())
}

/// Enables a privilege the process token holds (SeRestorePrivilege lets a restore set any
/// owner; SeTakeOwnershipPrivilege lets `takeown`-like steps run).
pub fn enable_privilege(name: &str) -> HostResult<()> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the current process pseudo-handle; `token` receives a handle we close.
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
    let mut luid = LUID {
        LowPart: 0,
        HighPart: 0,
    };
    let wname = wide(name);
    // SAFETY: NUL-terminated privilege name.
    let found = unsafe { LookupPrivilegeValueW(std::ptr::null(), wname.as_ptr(), &mut luid) };
    let result = if found == 0 {
        Err(last_error(format!("LookupPrivilegeValueW {name}")))
    } else {
        let tp = TOKEN_PRIVILEGES {
            PrivilegeCount: 1,
            Privileges: [LUID_AND_ATTRIBUTES {
                Luid: luid,
                Attributes: SE_PRIVILEGE_ENABLED,
            }],
        };
        // SAFETY: `tp` is a one-entry TOKEN_PRIVILEGES.
        let ok = unsafe {
            AdjustTokenPrivileges(token, 0, &tp, 0, std::ptr::null_mut(), std::ptr::null_mut())
        };
        let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        // ERROR_NOT_ALL_ASSIGNED (1300): the token does not hold it.
        if ok == 0 || code == 1300 {
            Err(os_error(format!("enable {name}"), code))
        } else {
            Ok(())
        }
    };
    // SAFETY: closes the token handle opened above.
    unsafe { CloseHandle(token) };
    result
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
