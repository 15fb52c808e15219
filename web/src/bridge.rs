//! The page's side of the worker: one module worker per analysis (`worker.js`), so
//! cancelling is ending it and a crashed one is simply replaced.

use crate::protocol::FromWorker;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};
use yew::Callback;

/// One input to analyse.
#[derive(Debug, Clone)]
pub enum Item {
    /// A file (or a fetched sample): read slice by slice in the worker.
    Blob { name: String, blob: Blob },
    /// Pasted text.
    Text { name: String, text: String },
}

/// What the page hears from an analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Message(FromWorker),
    /// The worker died or could not start; the words say which.
    Crashed(String),
}

/// A running analysis; dropping it ends the worker.
#[derive(Debug)]
pub struct Analysis {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Analysis {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// Starts a worker and hands it `items`.
pub fn start(items: &[Item], on_event: Callback<Event>) -> Result<Analysis, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options("worker.js", &options).map_err(|e| {
        format!(
            "the analysis worker could not start: {}",
            crate::keys::describe(&e)
        )
    })?;
    let events = on_event.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let text = e.data().as_string().unwrap_or_default();
        match serde_json::from_str::<FromWorker>(&text) {
            Ok(message) => events.emit(Event::Message(message)),
            Err(err) => events.emit(Event::Crashed(format!(
                "the worker sent something the page cannot read ({err})"
            ))),
        }
    });
    // An exception in the worker is an `ErrorEvent`; a script that cannot be loaded fires a
    // plain `Event` (no message to read, and reading one would throw).
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        e.prevent_default();
        let message = e
            .dyn_ref::<ErrorEvent>()
            .map(ErrorEvent::message)
            .unwrap_or_default();
        on_event.emit(Event::Crashed(if message.is_empty() {
            "the analysis worker crashed".to_owned()
        } else {
            format!("the analysis worker crashed: {message}")
        }));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    worker.post_message(&request(items)?).map_err(|e| {
        format!(
            "the inputs could not be handed to the worker: {}",
            crate::keys::describe(&e)
        )
    })?;
    Ok(Analysis {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

fn request(items: &[Item]) -> Result<JsValue, String> {
    let list = Array::new();
    for item in items {
        let entry = Object::new();
        let (name, key, value): (&str, &str, JsValue) = match item {
            Item::Blob { name, blob } => (name, "blob", blob.into()),
            Item::Text { name, text } => (name, "text", text.into()),
        };
        set(&entry, "name", &name.into())?;
        set(&entry, key, &value)?;
        list.push(&entry);
    }
    let request = Object::new();
    set(&request, "items", &list)?;
    Ok(request.into())
}

fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &key.into(), value)
        .map(|_| ())
        .map_err(|e| crate::keys::describe(&e))
}
