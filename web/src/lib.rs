//! The rdpfix page. Entry points are called by `static/app.js` once the wasm module loads.
#![forbid(unsafe_code)]

use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// Mounts the page into `<main id="app">`.
#[wasm_bindgen]
pub fn run_app() {
    let Some(root) = gloo_root() else { return };
    yew::Renderer::<App>::with_root(root).render();
}

fn gloo_root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id("app")
}

#[function_component(App)]
fn app() -> Html {
    html! {
        <div class="app" data-testid="app-ready">
            <p class="version">{ format!("analyzer {}", analyzer::VERSION) }</p>
        </div>
    }
}
