//! What this copy of the page is and what its host protects: the release (`build-info.json`)
//! and, of the protections the site's headers give (`staticwebapp.config.json`), which ones
//! this host did not send — a host such as GitHub Pages or an Azure Storage static website
//! sends none, and then the `<meta>` tags are all there is. Mounted by `static/app.js` below
//! the app ([`run_about`]), on its own: it depends on nothing the app holds.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCache, RequestInit, Response};
use yew::prelude::*;

/// Mounts the panel into `<footer id="about">`.
#[wasm_bindgen]
pub fn run_about() {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("about"))
    else {
        return;
    };
    yew::Renderer::<About>::with_root(root).render();
}

/// One protection of the site's header set, and whether this page has it.
#[derive(Debug, Clone, PartialEq)]
struct Protection {
    /// `data-id`, for tests.
    id: &'static str,
    /// `Some(true)`: in place; `Some(false)`: missing; `None`: could not be told.
    present: Option<bool>,
    /// What it does, or what is open without it.
    words: &'static str,
}

/// What the page learnt about itself.
#[derive(Debug, Clone, PartialEq)]
struct Facts {
    version: Result<String, String>,
    protections: Vec<Protection>,
    /// Whether a service worker (the offline copy) answers for this page.
    offline: bool,
}

#[function_component(About)]
pub fn about() -> Html {
    let facts = use_state(|| None::<Facts>);
    {
        let facts = facts.clone();
        use_effect_with((), move |()| {
            wasm_bindgen_futures::spawn_local(async move {
                facts.set(Some(learn().await));
            });
        });
    }
    let Some(facts) = (*facts).clone() else {
        return html! { <p>{ "rdpfix" }</p> };
    };
    let missing: Vec<&str> = facts
        .protections
        .iter()
        .filter(|p| p.present == Some(false))
        .map(|p| p.id)
        .collect();
    let summary = if missing.is_empty() {
        "This host sends the site's security headers.".to_owned()
    } else {
        format!(
            "This host does not send {} of the protections the site's headers give; what is open:",
            missing.len()
        )
    };
    html! {
        <section class="about" data-testid="about">
            <p data-testid="version">
                { match &facts.version {
                    Ok(v) => format!("rdpfix {v} (analyzer {})", analyzer::VERSION),
                    Err(e) => format!("rdpfix, analyzer {} (this copy does not say its release: {e})", analyzer::VERSION),
                } }
            </p>
            <p data-testid="offline" data-offline={facts.offline.to_string()}>
                { if facts.offline {
                    "This page runs from the copy this browser keeps of it: it works without a network."
                } else {
                    "Once loaded, the page is kept in this browser (where it allows service workers), so it works without a network from the next visit on."
                } }
            </p>
            <div data-testid="protections" data-missing={missing.join(" ")}>
                <p>{ summary }</p>
                <ul>
                    { for facts.protections.iter().filter(|p| p.present != Some(true)).map(row) }
                </ul>
            </div>
        </section>
    }
}

fn row(p: &Protection) -> Html {
    let state = match p.present {
        Some(true) => "present",
        Some(false) => "missing",
        None => "unknown",
    };
    html! {
        <li data-testid="protection" data-id={p.id} data-state={state}>
            { if p.present.is_none() { format!("(could not be checked) {}", p.words) } else { p.words.to_owned() } }
        </li>
    }
}

async fn learn() -> Facts {
    let version = crate::fetch::text("build-info.json").await.and_then(|t| {
        #[derive(serde::Deserialize)]
        struct Info {
            version: Option<String>,
        }
        serde_json::from_str::<Info>(&t)
            .map_err(|e| e.to_string())?
            .version
            .ok_or_else(|| "no version in build-info.json".to_owned())
    });
    let headers = own_headers().await;
    let header = |name: &str| -> Option<bool> {
        let h = headers.as_ref().ok()?;
        Some(h.get(name).ok().flatten().is_some())
    };
    let global = js_sys::global();
    let isolated = js_sys::Reflect::get(&global, &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let csp_header = headers.as_ref().ok().map(|h| {
        h.get("content-security-policy")
            .ok()
            .flatten()
            .is_some_and(|csp| csp.contains("frame-ancestors"))
    });
    let offline = js_sys::Reflect::get(&global, &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"serviceWorker".into()))
        .and_then(|s| js_sys::Reflect::get(&s, &"controller".into()))
        .is_ok_and(|c| c.is_object());
    Facts {
        version,
        offline,
        protections: vec![
            Protection {
                id: "csp-header",
                present: csp_header,
                words: "Content-Security-Policy from the page's <meta> tag only: it still blocks \
                        requests to other sites and inline scripts, but a <meta> policy cannot set \
                        frame-ancestors (another site may show this page in a frame and trick \
                        clicks on it) nor report-uri (violations are reported nowhere).",
            },
            Protection {
                id: "isolation",
                present: Some(isolated),
                words: "Not cross-origin isolated (no Cross-Origin-Opener-Policy and \
                        Cross-Origin-Embedder-Policy headers): a window this page opens, or that \
                        opened it, can keep a handle on it, and it may share a process with other \
                        sites.",
            },
            Protection {
                id: "nosniff",
                present: header("x-content-type-options"),
                words: "No X-Content-Type-Options: nosniff: the browser may guess a file's type \
                        from its bytes.",
            },
            Protection {
                id: "corp",
                present: header("cross-origin-resource-policy"),
                words: "No Cross-Origin-Resource-Policy: other sites may load this site's files \
                        into their pages.",
            },
        ],
    }
}

/// The headers the host sends with this page: a `HEAD` of it, past every cache (a service
/// worker answers only `GET`). Fails offline.
async fn own_headers() -> Result<web_sys::Headers, String> {
    let window = web_sys::window().ok_or("no window")?;
    let href = window
        .location()
        .href()
        .map_err(|e| crate::keys::describe(&e))?;
    let init = RequestInit::new();
    init.set_method("HEAD");
    init.set_cache(RequestCache::NoStore);
    let response = JsFuture::from(window.fetch_with_str_and_init(&href, &init))
        .await
        .map_err(|e| crate::keys::describe(&e))?;
    let response: Response = response.dyn_into().map_err(|_| "not a response")?;
    Ok(response.headers())
}
