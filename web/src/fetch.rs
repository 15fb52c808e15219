//! The page's own files: samples and `build-info.json` (the CSP allows nothing else).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Response};

async fn get(path: &str) -> Result<Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(path))
        .await
        .map_err(|e| crate::keys::describe(&e))?;
    let response: Response = response.dyn_into().map_err(|_| "not a response")?;
    if response.ok() {
        Ok(response)
    } else {
        Err(format!("{path}: the server answered {}", response.status()))
    }
}

/// A file beside the page, as a `Blob`.
pub async fn blob(path: &str) -> Result<Blob, String> {
    let response = get(path).await?;
    let blob = JsFuture::from(response.blob().map_err(|e| crate::keys::describe(&e))?)
        .await
        .map_err(|e| crate::keys::describe(&e))?;
    blob.dyn_into().map_err(|_| "not a file".to_owned())
}

/// A file beside the page, as text.
pub async fn text(path: &str) -> Result<String, String> {
    let response = get(path).await?;
    let text = JsFuture::from(response.text().map_err(|e| crate::keys::describe(&e))?)
        .await
        .map_err(|e| crate::keys::describe(&e))?;
    text.as_string().ok_or_else(|| "not text".to_owned())
}

/// The absolute address of `file` beside the page (what a VM downloads).
pub fn site_url(file: &str) -> String {
    let href = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    let base = href.split(['?', '#']).next().unwrap_or_default();
    let dir = base
        .rfind('/')
        .map_or(base, |i| base.get(..=i).unwrap_or(base));
    format!("{dir}{file}")
}

/// Milliseconds since the Unix epoch, from the browser's clock.
pub fn now() -> jiff::Timestamp {
    #[allow(clippy::cast_possible_truncation)]
    let ms = js_sys::Date::now() as i64;
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
