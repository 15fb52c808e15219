//! Local groups (netapi32) and user rights (the LSA policy), by SID: group names are
//! localised ("Remotedesktopbenutzer"), so a group is found by its SID
//! (`LookupAccountSidW`) and members are added and removed by SID
//! (`LOCALGROUP_MEMBERS_INFO_0`).

use super::wide::{from_wide_ptr, last_error, os_error, wide};
use crate::host::{HostError, HostResult};
use windows_sys::Win32::Foundation::{ERROR_MORE_DATA, LocalFree, NTSTATUS};
use windows_sys::Win32::NetworkManagement::NetManagement::{
    LOCALGROUP_MEMBERS_INFO_0, NetApiBufferFree, NetLocalGroupAddMembers, NetLocalGroupDelMembers,
    NetLocalGroupGetMembers,
};
use windows_sys::Win32::Security::Authentication::Identity::{
    LSA_ENUMERATION_INFORMATION, LSA_OBJECT_ATTRIBUTES, LSA_UNICODE_STRING, LsaAddAccountRights,
    LsaClose, LsaEnumerateAccountRights, LsaEnumerateAccountsWithUserRight, LsaFreeMemory,
    LsaNtStatusToWinError, LsaOpenPolicy, LsaRemoveAccountRights, POLICY_CREATE_ACCOUNT,
    POLICY_LOOKUP_NAMES, POLICY_VIEW_LOCAL_INFORMATION,
};
use windows_sys::Win32::Security::Authorization::{ConvertSidToStringSidW, ConvertStringSidToSidW};
use windows_sys::Win32::Security::{LookupAccountSidW, PSID, SID_NAME_USE, SidTypeUser};

/// `ERROR_FILE_NOT_FOUND`: what LSA's "no such account in the policy" becomes.
const NOT_IN_POLICY: u32 = 2;
/// `ERROR_NO_MORE_ITEMS`: nobody holds the right.
const NO_MORE_ITEMS: u32 = 259;

/// A SID made from its string form, freed with `LocalFree`.
struct Sid(PSID);

impl Sid {
    fn parse(text: &str) -> HostResult<Sid> {
        let w = wide(text);
        let mut sid: PSID = std::ptr::null_mut();
        // SAFETY: NUL-terminated string; on success `sid` is a LocalAlloc'd SID.
        if unsafe { ConvertStringSidToSidW(w.as_ptr(), &mut sid) } == 0 {
            return Err(last_error(format!("SID {text}")));
        }
        Ok(Sid(sid))
    }
}

impl Drop for Sid {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSidToSidW, freed once.
        unsafe { LocalFree(self.0) };
    }
}

/// The string form of a SID owned by someone else.
///
/// # Safety
/// `sid` is a valid SID.
unsafe fn sid_text(sid: PSID) -> HostResult<String> {
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: valid SID; on success `text` is LocalAlloc'd.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
        return Err(last_error("ConvertSidToStringSidW"));
    }
    // SAFETY: NUL-terminated string from the call above, freed once after copying.
    let s = unsafe { from_wide_ptr(text) };
    unsafe { LocalFree(text.cast()) };
    Ok(s)
}

/// The local group's name on this machine (in its language), from its SID.
fn group_name(group: &str) -> HostResult<Vec<u16>> {
    lookup(group, &format!("local group {group}")).map(|(name, _)| name)
}

/// The account's name (NUL-terminated) and what kind of account the SID is.
fn lookup(account: &str, what: &str) -> HostResult<(Vec<u16>, SID_NAME_USE)> {
    let sid = Sid::parse(account)?;
    let mut name = vec![0u16; 256];
    let mut domain = vec![0u16; 256];
    let (mut n, mut d) = (name.len() as u32, domain.len() as u32);
    let mut kind: SID_NAME_USE = 0;
    // SAFETY: buffers of the given lengths; a valid SID.
    let ok = unsafe {
        LookupAccountSidW(
            std::ptr::null(),
            sid.0,
            name.as_mut_ptr(),
            &mut n,
            domain.as_mut_ptr(),
            &mut d,
            &mut kind,
        )
    };
    if ok == 0 {
        return Err(last_error(what));
    }
    name.truncate(n as usize);
    name.push(0);
    Ok((name, kind))
}

pub fn group_members(group: &str) -> HostResult<Vec<String>> {
    let name = group_name(group)?;
    let mut members = Vec::new();
    let mut resume: usize = 0;
    loop {
        let mut buf: *mut u8 = std::ptr::null_mut();
        let (mut read, mut total) = (0u32, 0u32);
        // SAFETY: local machine, NUL-terminated group name, level 0; `buf` is freed below.
        let status = unsafe {
            NetLocalGroupGetMembers(
                std::ptr::null(),
                name.as_ptr(),
                0,
                &mut buf,
                u32::MAX,
                &mut read,
                &mut total,
                &mut resume,
            )
        };
        if status != 0 && status != ERROR_MORE_DATA {
            return Err(os_error(format!("members of {group}"), status));
        }
        let mut result = Ok(());
        if !buf.is_null() {
            // SAFETY: `read` LOCALGROUP_MEMBERS_INFO_0 entries at `buf`.
            let entries = unsafe {
                std::slice::from_raw_parts(buf.cast::<LOCALGROUP_MEMBERS_INFO_0>(), read as usize)
            };
            for e in entries {
                // SAFETY: each entry's SID is valid while `buf` lives.
                match unsafe { sid_text(e.lgrmi0_sid) } {
                    Ok(s) => members.push(s),
                    Err(err) => result = Err(err),
                }
            }
            // SAFETY: allocated by NetLocalGroupGetMembers, freed once.
            unsafe { NetApiBufferFree(buf.cast()) };
        }
        result?;
        if status != ERROR_MORE_DATA {
            return Ok(members);
        }
    }
}

fn change_member(group: &str, member: &str, add: bool) -> HostResult<()> {
    let name = group_name(group)?;
    let sid = Sid::parse(member)?;
    let info = LOCALGROUP_MEMBERS_INFO_0 { lgrmi0_sid: sid.0 };
    let buf = (&raw const info).cast::<u8>();
    // SAFETY: local machine, NUL-terminated name, one level-0 entry whose SID lives in `sid`.
    let status = unsafe {
        if add {
            NetLocalGroupAddMembers(std::ptr::null(), name.as_ptr(), 0, buf, 1)
        } else {
            NetLocalGroupDelMembers(std::ptr::null(), name.as_ptr(), 0, buf, 1)
        }
    };
    if status != 0 {
        let verb = if add { "add" } else { "remove" };
        return Err(os_error(
            format!("{verb} {member} in group {group}"),
            status,
        ));
    }
    Ok(())
}

/// Only a user account is added: a domain or Entra ID group has a SID of the same form as
/// a user's (`S-1-5-21-…`, `S-1-12-1-…`), so the allowlist cannot tell them apart; Windows
/// can. A SID that does not resolve is refused too.
pub fn group_add_member(group: &str, member: &str) -> HostResult<()> {
    let what = format!("add {member} in group {group}");
    let (_, kind) = lookup(member, &what)?;
    if kind != SidTypeUser {
        return Err(HostError::refused(
            what,
            format!("it is not a user account (SID type {kind}); only user accounts are added"),
        ));
    }
    change_member(group, member, true)
}

pub fn group_remove_member(group: &str, member: &str) -> HostResult<()> {
    change_member(group, member, false)
}

/// An open LSA policy handle, closed on drop.
struct Policy(isize);

impl Policy {
    fn open(access: i32) -> HostResult<Policy> {
        let attrs = LSA_OBJECT_ATTRIBUTES::default();
        let mut handle = 0;
        // SAFETY: the local system, zeroed attributes (as documented), out handle.
        let status = unsafe { LsaOpenPolicy(std::ptr::null(), &attrs, access as u32, &mut handle) };
        check(status, "open the LSA policy")?;
        Ok(Policy(handle))
    }
}

impl Drop for Policy {
    fn drop(&mut self) {
        // SAFETY: a handle from LsaOpenPolicy, closed once.
        unsafe { LsaClose(self.0) };
    }
}

fn check(status: NTSTATUS, what: &str) -> HostResult<()> {
    if status == 0 {
        return Ok(());
    }
    // SAFETY: pure conversion.
    Err(os_error(what, unsafe { LsaNtStatusToWinError(status) }))
}

/// The Windows error of an NTSTATUS, or 0 for success.
fn win_error(status: NTSTATUS) -> u32 {
    if status == 0 {
        0
    } else {
        // SAFETY: pure conversion.
        unsafe { LsaNtStatusToWinError(status) }
    }
}

/// An `LSA_UNICODE_STRING` over `units` (no NUL counted).
fn unicode(units: &mut [u16]) -> HostResult<LSA_UNICODE_STRING> {
    let bytes =
        u16::try_from(units.len() * 2).map_err(|_| HostError::failed("LSA string", "too long"))?;
    Ok(LSA_UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: units.as_mut_ptr(),
    })
}

pub fn account_rights(sid: &str) -> HostResult<Vec<String>> {
    let policy = Policy::open(POLICY_LOOKUP_NAMES)?;
    let account = Sid::parse(sid)?;
    let mut rights: *mut LSA_UNICODE_STRING = std::ptr::null_mut();
    let mut count = 0u32;
    // SAFETY: open policy, valid SID; `rights` is freed with LsaFreeMemory.
    let status = unsafe { LsaEnumerateAccountRights(policy.0, account.0, &mut rights, &mut count) };
    match win_error(status) {
        0 => {}
        NOT_IN_POLICY => return Ok(Vec::new()),
        code => return Err(os_error(format!("rights of {sid}"), code)),
    }
    let mut out = Vec::new();
    if !rights.is_null() {
        // SAFETY: `count` strings at `rights`, each `Length` bytes long.
        for r in unsafe { std::slice::from_raw_parts(rights, count as usize) } {
            let units = unsafe { std::slice::from_raw_parts(r.Buffer, usize::from(r.Length) / 2) };
            out.push(String::from_utf16_lossy(units));
        }
        // SAFETY: allocated by LSA, freed once.
        unsafe { LsaFreeMemory(rights.cast()) };
    }
    Ok(out)
}

pub fn right_holders(right: &str) -> HostResult<Vec<String>> {
    let policy = Policy::open(POLICY_LOOKUP_NAMES | POLICY_VIEW_LOCAL_INFORMATION)?;
    let mut units: Vec<u16> = right.encode_utf16().collect();
    let name = unicode(&mut units)?;
    let mut buf: *mut core::ffi::c_void = std::ptr::null_mut();
    let mut count = 0u32;
    // SAFETY: open policy, a counted string; `buf` is freed with LsaFreeMemory.
    let status =
        unsafe { LsaEnumerateAccountsWithUserRight(policy.0, &name, &mut buf, &mut count) };
    match win_error(status) {
        0 => {}
        NO_MORE_ITEMS | NOT_IN_POLICY => return Ok(Vec::new()),
        code => return Err(os_error(format!("holders of {right}"), code)),
    }
    let mut out = Vec::new();
    let mut result = Ok(());
    if !buf.is_null() {
        // SAFETY: `count` LSA_ENUMERATION_INFORMATION entries at `buf`.
        let entries = unsafe {
            std::slice::from_raw_parts(buf.cast::<LSA_ENUMERATION_INFORMATION>(), count as usize)
        };
        for e in entries {
            // SAFETY: each SID is valid while `buf` lives.
            match unsafe { sid_text(e.Sid) } {
                Ok(s) => out.push(s),
                Err(err) => result = Err(err),
            }
        }
        // SAFETY: allocated by LSA, freed once.
        unsafe { LsaFreeMemory(buf) };
    }
    result.map(|()| out)
}

pub fn account_rights_change(sid: &str, right: &str, add: bool) -> HostResult<()> {
    let policy = Policy::open(POLICY_LOOKUP_NAMES | POLICY_CREATE_ACCOUNT)?;
    let account = Sid::parse(sid)?;
    let mut units: Vec<u16> = right.encode_utf16().collect();
    let name = unicode(&mut units)?;
    // SAFETY: open policy, valid SID, one counted string.
    let status = unsafe {
        if add {
            LsaAddAccountRights(policy.0, account.0, &name, 1)
        } else {
            LsaRemoveAccountRights(policy.0, account.0, false, &name, 1)
        }
    };
    match win_error(status) {
        0 => Ok(()),
        // Removing a right from an account that holds none: nothing to remove.
        NOT_IN_POLICY if !add => Ok(()),
        code => {
            let verb = if add { "grant" } else { "revoke" };
            Err(os_error(format!("{verb} {right} for {sid}"), code))
        }
    }
}
