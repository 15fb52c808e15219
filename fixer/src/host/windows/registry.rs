//! HKLM through RegOpenKeyExW / RegQueryValueExW / RegCreateKeyExW / RegSetValueExW /
//! RegDeleteValueW / RegDeleteKeyExW, always the 64-bit view.

use super::wide::{os_error, wide};
use crate::host::{HostResult, RegValue};
use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_SUCCESS};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_QUERY_VALUE, KEY_READ, KEY_WOW64_64KEY, KEY_WRITE,
    REG_OPTION_NON_VOLATILE, RegCloseKey, RegCreateKeyExW, RegDeleteKeyExW, RegDeleteValueW,
    RegOpenKeyExW, RegQueryInfoKeyW, RegQueryValueExW, RegSetValueExW,
};

/// An open key, closed on drop.
struct Key(HKEY);

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: the handle came from RegOpenKeyExW/RegCreateKeyExW and is closed once.
        unsafe { RegCloseKey(self.0) };
    }
}

fn open(key: &str, access: u32) -> HostResult<Option<Key>> {
    let sub = wide(key);
    let mut h: HKEY = std::ptr::null_mut();
    // SAFETY: `sub` is NUL-terminated; `h` receives the handle.
    let rc = unsafe {
        RegOpenKeyExW(
            HKEY_LOCAL_MACHINE,
            sub.as_ptr(),
            0,
            access | KEY_WOW64_64KEY,
            &mut h,
        )
    };
    match rc {
        ERROR_SUCCESS => Ok(Some(Key(h))),
        ERROR_FILE_NOT_FOUND => Ok(None),
        code => Err(os_error(format!(r"open HKLM\{key}"), code)),
    }
}

pub fn key_exists(key: &str) -> HostResult<bool> {
    Ok(open(key, KEY_QUERY_VALUE)?.is_some())
}

pub fn get(key: &str, name: &str) -> HostResult<Option<RegValue>> {
    let Some(k) = open(key, KEY_READ)? else {
        return Ok(None);
    };
    let wname = wide(name);
    let what = format!(r"read HKLM\{key}\{name}");
    let mut size: u32 = 256;
    loop {
        let mut data = vec![0u8; size as usize];
        let mut kind: u32 = 0;
        let mut len = size;
        // SAFETY: `data` has `len` bytes; the out pointers are valid.
        let rc = unsafe {
            RegQueryValueExW(
                k.0,
                wname.as_ptr(),
                std::ptr::null(),
                &mut kind,
                data.as_mut_ptr(),
                &mut len,
            )
        };
        match rc {
            ERROR_SUCCESS => {
                data.truncate(len as usize);
                return Ok(Some(RegValue { kind, data }));
            }
            ERROR_FILE_NOT_FOUND => return Ok(None),
            ERROR_MORE_DATA if len > size => size = len,
            ERROR_MORE_DATA => size = size.saturating_mul(2),
            code => return Err(os_error(what, code)),
        }
    }
}

pub fn set(key: &str, name: &str, value: &RegValue) -> HostResult<()> {
    let sub = wide(key);
    let mut h: HKEY = std::ptr::null_mut();
    let mut disposition = 0;
    // SAFETY: valid NUL-terminated strings and out pointers; no security attributes.
    let rc = unsafe {
        RegCreateKeyExW(
            HKEY_LOCAL_MACHINE,
            sub.as_ptr(),
            0,
            std::ptr::null(),
            REG_OPTION_NON_VOLATILE,
            KEY_WRITE | KEY_WOW64_64KEY,
            std::ptr::null(),
            &mut h,
            &mut disposition,
        )
    };
    if rc != ERROR_SUCCESS {
        return Err(os_error(format!(r"create HKLM\{key}"), rc));
    }
    let k = Key(h);
    let wname = wide(name);
    let len = u32::try_from(value.data.len()).unwrap_or(u32::MAX);
    // SAFETY: `data` holds `len` bytes.
    let rc =
        unsafe { RegSetValueExW(k.0, wname.as_ptr(), 0, value.kind, value.data.as_ptr(), len) };
    if rc != ERROR_SUCCESS {
        return Err(os_error(format!(r"write HKLM\{key}\{name}"), rc));
    }
    Ok(())
}

pub fn delete_value(key: &str, name: &str) -> HostResult<()> {
    let Some(k) = open(key, KEY_WRITE)? else {
        return Ok(());
    };
    let wname = wide(name);
    // SAFETY: open key, NUL-terminated name.
    match unsafe { RegDeleteValueW(k.0, wname.as_ptr()) } {
        ERROR_SUCCESS | ERROR_FILE_NOT_FOUND => Ok(()),
        code => Err(os_error(format!(r"delete HKLM\{key}\{name}"), code)),
    }
}

pub fn delete_empty_key(key: &str) -> HostResult<()> {
    let what = format!(r"delete key HKLM\{key}");
    let Some(k) = open(key, KEY_READ)? else {
        return Ok(());
    };
    let (mut subkeys, mut values) = (0u32, 0u32);
    let null = std::ptr::null_mut();
    // SAFETY: open key; only the two counts are asked for.
    let rc = unsafe {
        RegQueryInfoKeyW(
            k.0,
            null,
            null.cast(),
            std::ptr::null(),
            &mut subkeys,
            null.cast(),
            null.cast(),
            &mut values,
            null.cast(),
            null.cast(),
            null.cast(),
            null.cast(),
        )
    };
    if rc != ERROR_SUCCESS {
        return Err(os_error(what, rc));
    }
    if subkeys != 0 || values != 0 {
        return Err(crate::host::HostError::failed(what, "key is not empty"));
    }
    drop(k);
    let sub = wide(key);
    // SAFETY: NUL-terminated subkey of HKLM.
    match unsafe { RegDeleteKeyExW(HKEY_LOCAL_MACHINE, sub.as_ptr(), KEY_WOW64_64KEY, 0) } {
        ERROR_SUCCESS | ERROR_FILE_NOT_FOUND => Ok(()),
        code => Err(os_error(what, code)),
    }
}
