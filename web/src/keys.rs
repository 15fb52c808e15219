//! The page's signing key: a non-extractable WebCrypto Ed25519 key kept in IndexedDB, or,
//! where the browser has no Ed25519, a clearly labelled fallback: an ed25519-dalek key in
//! wasm whose seed the page keeps in IndexedDB (readable by script on this page).

use analyzer::envelope::{PublicKey, SecretKey, Signer};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/js/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = loadKey, catch)]
    fn js_load_key() -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = createWebCryptoKey, catch)]
    fn js_create_webcrypto_key() -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = storeFallbackSeed, catch)]
    fn js_store_fallback_seed(seed: &[u8]) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = deleteKey, catch)]
    fn js_delete_key() -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = signWebCrypto, catch)]
    fn js_sign_webcrypto(bytes: &[u8]) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = copyText, catch)]
    fn js_copy_text(text: &str) -> Result<js_sys::Promise, JsValue>;
}

/// Where the private key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// WebCrypto, non-extractable: script cannot read it, only ask it to sign.
    WebCrypto,
    /// The fallback: the seed is readable by script on this page.
    Fallback([u8; 32]),
}

/// The page's key, as loaded or created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey {
    pub kind: KeyKind,
    pub public: PublicKey,
}

impl PageKey {
    pub fn is_fallback(&self) -> bool {
        matches!(self.kind, KeyKind::Fallback(_))
    }

    /// An Ed25519 signature over `message` (the plan's PAE bytes).
    pub async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self.kind {
            KeyKind::WebCrypto => {
                let value = call(js_sign_webcrypto(message)).await?;
                Ok(Uint8Array::new(&value).to_vec())
            }
            KeyKind::Fallback(seed) => SecretKey::from_seed(seed)
                .sign(message)
                .map(|s| s.to_vec())
                .map_err(|e| e.to_string()),
        }
    }
}

/// The key stored in this browser, if any.
pub async fn load() -> Result<Option<PageKey>, String> {
    let value = call(js_load_key()).await?;
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    let kind = js_sys::Reflect::get(&value, &"kind".into())
        .ok()
        .and_then(|k| k.as_string())
        .unwrap_or_default();
    let field = |name: &str| {
        js_sys::Reflect::get(&value, &name.into())
            .ok()
            .map(|v| Uint8Array::new(&v).to_vec())
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| {
                format!("the key stored in this browser is damaged ({name}): create a new one")
            })
    };
    let key = if kind == "webcrypto" {
        let public = PublicKey::from_bytes(&field("publicRaw")?).map_err(|e| e.to_string())?;
        PageKey {
            kind: KeyKind::WebCrypto,
            public,
        }
    } else {
        fallback(field("seed")?)
    };
    Ok(Some(key))
}

/// Creates and stores a new key: WebCrypto Ed25519 when the browser has it, else the
/// labelled fallback (with the reason WebCrypto refused).
pub async fn create() -> Result<(PageKey, Option<String>), String> {
    match call(js_create_webcrypto_key()).await {
        Ok(raw) => {
            let raw = <[u8; 32]>::try_from(Uint8Array::new(&raw).to_vec())
                .map_err(|_| "WebCrypto returned a public key that is not 32 bytes".to_owned())?;
            let public = PublicKey::from_bytes(&raw).map_err(|e| e.to_string())?;
            let key = PageKey {
                kind: KeyKind::WebCrypto,
                public,
            };
            Ok((key, None))
        }
        Err(why) => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| format!("this browser gave no random numbers for a key: {e}"))?;
            call(js_store_fallback_seed(&seed)).await?;
            Ok((fallback(seed), Some(why)))
        }
    }
}

/// Forgets the stored key (a new one must be enrolled on the VM).
pub async fn forget() -> Result<(), String> {
    call(js_delete_key()).await.map(|_| ())
}

/// Copies `text` to the clipboard.
pub async fn copy(text: &str) -> Result<(), String> {
    call(js_copy_text(text)).await.map(|_| ())
}

fn fallback(seed: [u8; 32]) -> PageKey {
    PageKey {
        kind: KeyKind::Fallback(seed),
        public: SecretKey::from_seed(seed).public_key(),
    }
}

async fn call(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, String> {
    let promise = promise.map_err(|e| describe(&e))?;
    JsFuture::from(promise).await.map_err(|e| describe(&e))
}

/// A JS exception in words.
pub fn describe(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return format!(
            "{}: {}",
            String::from(err.name()),
            String::from(err.message())
        );
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

/// 16 bytes from the browser's CSPRNG: a plan's id.
pub fn random_id() -> Result<[u8; 16], String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("this browser gave no random numbers: {e}"))?;
    Ok(bytes)
}
