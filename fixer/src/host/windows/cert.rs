//! LocalMachine certificate stores through CertOpenStore / CertEnumCertificatesInStore /
//! CertDeleteCertificateFromStore.

use super::wide::{last_error, wide};
use crate::host::{CertInfo, CertStore, HostError, HostResult};
use jiff::Timestamp;
use windows_sys::Win32::Security::Cryptography::{
    CERT_CONTEXT, CERT_SHA1_HASH_PROP_ID, CERT_STORE_OPEN_EXISTING_FLAG, CERT_STORE_PROV_SYSTEM_W,
    CERT_SYSTEM_STORE_LOCAL_MACHINE, CERT_X500_NAME_STR, CertCloseStore,
    CertDeleteCertificateFromStore, CertDuplicateCertificateContext, CertEnumCertificatesInStore,
    CertFreeCertificateContext, CertGetCertificateContextProperty, CertNameToStrW, CertOpenStore,
    HCERTSTORE, X509_ASN_ENCODING,
};

struct Store(HCERTSTORE);

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: a store from CertOpenStore, closed once.
        unsafe { CertCloseStore(self.0, 0) };
    }
}

fn open(store: CertStore) -> HostResult<Option<Store>> {
    let name = wide(store.name());
    // SAFETY: the system store provider takes a NUL-terminated UTF-16 store name.
    let h = unsafe {
        CertOpenStore(
            CERT_STORE_PROV_SYSTEM_W,
            0,
            0,
            CERT_SYSTEM_STORE_LOCAL_MACHINE | CERT_STORE_OPEN_EXISTING_FLAG,
            name.as_ptr().cast(),
        )
    };
    if h.is_null() {
        let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        // A machine that never ran RDP has no "Remote Desktop" store: nothing in it.
        if code == 2 {
            return Ok(None);
        }
        return Err(super::wide::os_error(
            format!("open certificate store {}", store.name()),
            code,
        ));
    }
    Ok(Some(Store(h)))
}

/// FILETIME (100 ns since 1601) to a timestamp.
fn timestamp(low: u32, high: u32) -> Option<Timestamp> {
    let ticks = (u64::from(high) << 32) | u64::from(low);
    let unix_secs = i64::try_from(ticks / 10_000_000).ok()? - 11_644_473_600;
    Timestamp::from_second(unix_secs).ok()
}

/// # Safety
/// `ctx` is a live certificate context.
unsafe fn info(ctx: *const CERT_CONTEXT) -> HostResult<CertInfo> {
    // SAFETY: per the contract, `ctx` and its encoded bytes are live.
    let c = unsafe { &*ctx };
    let der =
        unsafe { std::slice::from_raw_parts(c.pbCertEncoded, c.cbCertEncoded as usize) }.to_vec();
    let mut hash = [0u8; 20];
    let mut len = hash.len() as u32;
    // SAFETY: `hash` holds `len` bytes.
    if unsafe {
        CertGetCertificateContextProperty(
            ctx,
            CERT_SHA1_HASH_PROP_ID,
            hash.as_mut_ptr().cast(),
            &mut len,
        )
    } == 0
    {
        return Err(last_error("certificate thumbprint"));
    }
    let thumbprint: String = hash
        .iter()
        .take(len as usize)
        .map(|b| format!("{b:02X}"))
        .collect();
    // SAFETY: pCertInfo is part of the live context.
    let ci = unsafe { &*c.pCertInfo };
    let mut buf = vec![0u16; 512];
    // SAFETY: `buf` holds 512 units; the result is NUL-terminated and truncated to fit.
    let n = unsafe {
        CertNameToStrW(
            X509_ASN_ENCODING,
            &ci.Subject,
            CERT_X500_NAME_STR,
            buf.as_mut_ptr(),
            buf.len() as u32,
        )
    };
    let subject = String::from_utf16_lossy(
        buf.get(..(n as usize).saturating_sub(1))
            .unwrap_or_default(),
    );
    Ok(CertInfo {
        thumbprint,
        subject,
        not_after: timestamp(ci.NotAfter.dwLowDateTime, ci.NotAfter.dwHighDateTime),
        der,
    })
}

pub fn list(store: CertStore) -> HostResult<Vec<CertInfo>> {
    let Some(s) = open(store)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut ctx: *mut CERT_CONTEXT = std::ptr::null_mut();
    loop {
        // SAFETY: passing the previous context frees it; null starts the enumeration.
        ctx = unsafe { CertEnumCertificatesInStore(s.0, ctx) };
        if ctx.is_null() {
            return Ok(out);
        }
        // SAFETY: `ctx` is live until the next call.
        match unsafe { info(ctx) } {
            Ok(i) => out.push(i),
            Err(e) => {
                // SAFETY: ends the enumeration early.
                unsafe { CertFreeCertificateContext(ctx) };
                return Err(e);
            }
        }
    }
}

pub fn delete(store: CertStore, thumbprint: &str) -> HostResult<()> {
    let what = format!("delete certificate {thumbprint} from {}", store.name());
    let s = open(store)?.ok_or_else(|| HostError::NotFound { what: what.clone() })?;
    let mut ctx: *mut CERT_CONTEXT = std::ptr::null_mut();
    loop {
        // SAFETY: as in `list`.
        ctx = unsafe { CertEnumCertificatesInStore(s.0, ctx) };
        if ctx.is_null() {
            return Err(HostError::NotFound { what });
        }
        // SAFETY: `ctx` is live.
        let matches =
            unsafe { info(ctx) }.is_ok_and(|i| i.thumbprint.eq_ignore_ascii_case(thumbprint));
        if matches {
            // Deleting frees the context it is given: hand it a duplicate, end the enumeration.
            // SAFETY: `ctx` is live; the duplicate is consumed by the delete.
            let dup = unsafe { CertDuplicateCertificateContext(ctx) };
            unsafe { CertFreeCertificateContext(ctx) };
            // SAFETY: `dup` is a live context from this store.
            if unsafe { CertDeleteCertificateFromStore(dup) } == 0 {
                return Err(last_error(what));
            }
            return Ok(());
        }
    }
}
