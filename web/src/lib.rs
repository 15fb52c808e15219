//! The rdpfix page: Yew views over the analyzer. `static/app.js` mounts the app with
//! [`run_app`]; `static/worker.js` loads the same module in a Web Worker, where
//! [`worker::worker_analyse`] reads the inputs and runs the diagnosis off the main thread,
//! and again as its helpers: one hashing a `.evtx` beside it ([`hash::hash_update`]), and
//! parsing helpers ([`split::parse_stripe`]).
#![forbid(unsafe_code)]
// The page is an application: its docs are read with `--document-private-items`, where
// links to private items resolve.
#![allow(rustdoc::private_intra_doc_links)]

pub mod app;
pub mod bridge;
pub mod catalog;
pub mod drop;
pub mod fetch;
pub mod hash;
pub mod keys;
pub mod protocol;
pub mod read;
pub mod split;
pub mod state;
pub mod views;
pub mod worker;

use wasm_bindgen::prelude::*;

/// Mounts the page into `<main id="app">`.
#[wasm_bindgen]
pub fn run_app() {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("app"))
    else {
        return;
    };
    yew::Renderer::<app::App>::with_root(root).render();
}
