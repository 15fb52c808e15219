//! UTF-16 strings for Win32, Windows error messages, and the computer's names.

use crate::host::{HostError, HostResult};
use windows_sys::Win32::System::SystemInformation::{
    ComputerNameDnsFullyQualified, ComputerNameNetBIOS, GetComputerNameExW,
};

/// A NUL-terminated UTF-16 copy of `s`.
pub fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

pub fn wide_os(s: &std::ffi::OsStr) -> Vec<u16> {
    use std::os::windows::ffi::OsStrExt;
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// The string at `p` up to its NUL.
///
/// # Safety
/// `p` is null or points to a NUL-terminated UTF-16 string.
pub unsafe fn from_wide_ptr(p: *const u16) -> String {
    if p.is_null() {
        return String::new();
    }
    let mut len = 0;
    // SAFETY: the caller promises a terminating NUL.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` units before the NUL are readable.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Windows' own text for an error code (FormatMessageW, via std), lower-cased, no period.
pub fn message(code: u32) -> String {
    let text = std::io::Error::from_raw_os_error(code as i32).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).trim();
    text.trim_end_matches('.').to_lowercase()
}

pub fn os_error(what: impl Into<String>, code: u32) -> HostError {
    HostError::Os {
        what: what.into(),
        code,
        message: message(code),
    }
}

/// The last error of the calling thread as a [`HostError`].
pub fn last_error(what: impl Into<String>) -> HostError {
    let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
    os_error(what, code)
}

#[derive(Debug, Clone, Copy)]
pub enum NameKind {
    NetBios,
    DnsFullyQualified,
}

pub fn computer_name(kind: NameKind) -> HostResult<String> {
    let format = match kind {
        NameKind::NetBios => ComputerNameNetBIOS,
        NameKind::DnsFullyQualified => ComputerNameDnsFullyQualified,
    };
    let mut size: u32 = 0;
    // SAFETY: a null buffer with size 0 asks for the size needed.
    unsafe { GetComputerNameExW(format, std::ptr::null_mut(), &mut size) };
    let mut buf = vec![0u16; size as usize + 1];
    let mut len = buf.len() as u32;
    // SAFETY: `buf` holds `len` units.
    if unsafe { GetComputerNameExW(format, buf.as_mut_ptr(), &mut len) } == 0 {
        return Err(last_error("GetComputerNameExW"));
    }
    Ok(String::from_utf16_lossy(
        buf.get(..len as usize).unwrap_or_default(),
    ))
}
