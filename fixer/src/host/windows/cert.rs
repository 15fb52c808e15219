//! The LocalMachine "Remote Desktop" store, opened as the registry store it is
//! (`CERT_STORE_PROV_SYSTEM_REGISTRY_W`: `HKLM\SOFTWARE\Microsoft\SystemCertificates\Remote
//! Desktop`, where RDP keeps its self-signed certificate; `Cert:\LocalMachine\Remote Desktop`
//! is a view over it and any policy store). Under Wine a deletion through the system-store
//! view reported success and did not persist; through the registry store it does. Through
//! CertOpenStore / CertEnumCertificatesInStore /
//! CertDeleteCertificateFromStore, and CertAddEncodedCertificateToStore with the key link
//! (`CERT_KEY_PROV_INFO_PROP_ID`) to put one back.

use super::wide::from_wide_ptr;
use super::wide::{last_error, wide};
use crate::host::{CertInfo, CertStore, HostError, HostResult, KeyLink};
use jiff::Timestamp;
use windows_sys::Win32::Security::Cryptography::{
    CERT_CONTEXT, CERT_KEY_PROV_INFO_PROP_ID, CERT_SHA1_HASH_PROP_ID, CERT_STORE_ADD_NEW,
    CERT_STORE_OPEN_EXISTING_FLAG, CERT_STORE_PROV_SYSTEM_REGISTRY_W,
    CERT_SYSTEM_STORE_LOCAL_MACHINE, CERT_X500_NAME_STR, CRYPT_ACQUIRE_COMPARE_KEY_FLAG,
    CRYPT_ACQUIRE_SILENT_FLAG, CRYPT_KEY_PROV_INFO, CertAddEncodedCertificateToStore,
    CertCloseStore, CertDeleteCertificateFromStore, CertDuplicateCertificateContext,
    CertEnumCertificatesInStore, CertFreeCertificateContext, CertGetCertificateContextProperty,
    CertNameToStrW, CertOpenStore, CertSetCertificateContextProperty,
    CryptAcquireCertificatePrivateKey, CryptReleaseContext, HCERTSTORE, NCryptFreeObject,
    PKCS_7_ASN_ENCODING, X509_ASN_ENCODING,
};

struct Store(HCERTSTORE);

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: a store from CertOpenStore, closed once.
        unsafe { CertCloseStore(self.0, 0) };
    }
}

fn open(store: CertStore) -> HostResult<Option<Store>> {
    open_with(store, CERT_STORE_OPEN_EXISTING_FLAG)
}

/// `flags`: `CERT_STORE_OPEN_EXISTING_FLAG` to read, 0 to create the store when missing.
fn open_with(store: CertStore, flags: u32) -> HostResult<Option<Store>> {
    let name = wide(store.name());
    // SAFETY: the system store provider takes a NUL-terminated UTF-16 store name.
    let h = unsafe {
        CertOpenStore(
            CERT_STORE_PROV_SYSTEM_REGISTRY_W,
            0,
            0,
            CERT_SYSTEM_STORE_LOCAL_MACHINE | flags,
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
        // SAFETY: `ctx` is live, per the contract.
        key: unsafe { key_link(ctx) },
        blob: None,
    })
}

/// The certificate's `CERT_KEY_PROV_INFO_PROP_ID`, when it has one.
///
/// # Safety
/// `ctx` is a live certificate context.
unsafe fn key_link(ctx: *const CERT_CONTEXT) -> Option<KeyLink> {
    let mut len = 0u32;
    // SAFETY: a null buffer asks for the size.
    if unsafe {
        CertGetCertificateContextProperty(
            ctx,
            CERT_KEY_PROV_INFO_PROP_ID,
            std::ptr::null_mut(),
            &mut len,
        )
    } == 0
    {
        return None;
    }
    let mut buf = vec![0u64; (len as usize).div_ceil(8).max(8)];
    // SAFETY: `buf` holds at least `len` aligned bytes.
    if unsafe {
        CertGetCertificateContextProperty(
            ctx,
            CERT_KEY_PROV_INFO_PROP_ID,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    } == 0
    {
        return None;
    }
    // SAFETY: filled in as a CRYPT_KEY_PROV_INFO whose strings live in `buf`.
    let info = unsafe { &*buf.as_ptr().cast::<CRYPT_KEY_PROV_INFO>() };
    Some(KeyLink {
        // SAFETY: NUL-terminated strings inside `buf`, or null.
        container: unsafe { from_wide_ptr(info.pwszContainerName) },
        provider: unsafe { from_wide_ptr(info.pwszProvName) },
        provider_type: info.dwProvType,
        flags: info.dwFlags,
        key_spec: info.dwKeySpec,
    })
}

/// Puts a deleted certificate back, linked to its private key again; then checks that the
/// key in that container still belongs to it (`CRYPT_ACQUIRE_COMPARE_KEY_FLAG`): when
/// Windows has since made a new key there, the old certificate is removed again and the
/// restore refused, rather than left in the store with a key that does not match it.
pub fn add(store: CertStore, cert: &CertInfo) -> HostResult<()> {
    let what = format!(
        "restore certificate {} to {}",
        cert.thumbprint,
        store.name()
    );
    let s = open_with(store, 0)?.ok_or_else(|| HostError::NotFound { what: what.clone() })?;
    let mut ctx: *mut CERT_CONTEXT = std::ptr::null_mut();
    // SAFETY: `der` is the certificate's encoding; `ctx` receives a context we free.
    if unsafe {
        CertAddEncodedCertificateToStore(
            s.0,
            X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
            cert.der.as_ptr(),
            cert.der.len() as u32,
            CERT_STORE_ADD_NEW,
            &mut ctx,
        )
    } == 0
    {
        return Err(last_error(what));
    }
    let Some(link) = &cert.key else {
        // SAFETY: frees the context returned above.
        unsafe { CertFreeCertificateContext(ctx) };
        return Ok(());
    };
    let mut container = wide(&link.container);
    let mut provider = wide(&link.provider);
    let info = CRYPT_KEY_PROV_INFO {
        pwszContainerName: container.as_mut_ptr(),
        pwszProvName: provider.as_mut_ptr(),
        dwProvType: link.provider_type,
        dwFlags: link.flags,
        cProvParam: 0,
        rgProvParam: std::ptr::null_mut(),
        dwKeySpec: link.key_spec,
    };
    // SAFETY: `ctx` is live; `info` and its strings outlive the call (the property is copied).
    let linked = unsafe {
        CertSetCertificateContextProperty(
            ctx,
            CERT_KEY_PROV_INFO_PROP_ID,
            0,
            (&raw const info).cast(),
        )
    } != 0;
    let matches = linked && {
        let (mut key, mut spec, mut free) = (0usize, 0u32, 0);
        // SAFETY: `ctx` is live; the handle is freed below when the call says so.
        let ok = unsafe {
            CryptAcquireCertificatePrivateKey(
                ctx,
                CRYPT_ACQUIRE_COMPARE_KEY_FLAG | CRYPT_ACQUIRE_SILENT_FLAG,
                std::ptr::null(),
                &mut key,
                &mut spec,
                &mut free,
            )
        } != 0;
        if ok && free != 0 {
            // CERT_NCRYPT_KEY_SPEC (0xFFFFFFFF): a CNG key; else a CryptoAPI provider.
            // SAFETY: a handle the call gave us to free.
            unsafe {
                if spec == 0xFFFF_FFFF {
                    NCryptFreeObject(key);
                } else {
                    CryptReleaseContext(key, 0);
                }
            }
        }
        ok
    };
    let err = (!matches).then(|| last_error(&what));
    if let Some(err) = err {
        // Leave no certificate behind whose key is not its own.
        // SAFETY: deleting frees the context it is given: a duplicate of ours.
        unsafe { CertDeleteCertificateFromStore(CertDuplicateCertificateContext(ctx)) };
        unsafe { CertFreeCertificateContext(ctx) };
        return Err(HostError::refused(
            what,
            format!(
                "its private key ({}) is no longer the one it was made with ({err}); Windows \
                 made a new certificate and key, which RDP uses",
                link.container
            ),
        ));
    }
    // SAFETY: frees the context returned above.
    unsafe { CertFreeCertificateContext(ctx) };
    Ok(())
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
