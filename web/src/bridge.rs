//! The page's side of the worker: one module worker per analysis (`worker.js`), so
//! cancelling is ending it and a crashed one is simply replaced. The next one is started
//! ahead, when the page loads and a second after an analysis ends ([`warm`], [`warm_later`]).

use crate::protocol::FromWorker;
use js_sys::{Array, Object, Reflect};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
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
    /// An archive of a dropped folder that is not opened (it lies beside the folder's
    /// other files: `analyzer::input::folder_reads`); listed with its size.
    LeftOut { name: String, bytes: f64 },
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

/// A worker started before it is needed: its script and the wasm module load while the admin
/// picks files, not after (measured: ~300 ms of the 100 MiB benchmark went there).
#[derive(Debug)]
struct Spare {
    worker: Worker,
    /// Set by `_on_error` if the worker failed to load while it waited.
    failed: Rc<Cell<bool>>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

thread_local! {
    static SPARE: RefCell<Option<Spare>> = const { RefCell::new(None) };
}

/// Starts a spare worker for the next analysis, unless one is waiting.
pub fn warm() {
    if SPARE.with_borrow(Option::is_some) {
        return;
    }
    let Ok(worker) = spawn() else {
        return; // `start` will try again and say why
    };
    let failed = Rc::new(Cell::new(false));
    let on_error = {
        let failed = Rc::clone(&failed);
        Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            e.prevent_default();
            failed.set(true);
        })
    };
    // The answer the worker made of the logs it read ahead (`worker_warm`): read and drawn
    // once where no one sees it, as a real answer is, so that the page's code for one is
    // compiled before a file is chosen. Once only: a later spare's is dropped.
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| {
        if WARMED.replace(true) {
            return;
        }
        if let Some(FromWorker::Done(outcome)) = warm_answer(&e) {
            // When the page is idle (~50 ms of drawing, measured: BENCHMARKS.md).
            let draw = Closure::once_into_js(move || crate::views::results::draw_unseen(*outcome));
            if let Some(window) = web_sys::window()
                && window.request_idle_callback(draw.unchecked_ref()).is_err()
            {
                // No `requestIdleCallback` (Safari): on a task of its own.
                let _ = window.set_timeout_with_callback(draw.unchecked_ref());
            }
        }
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    SPARE.set(Some(Spare {
        worker,
        failed,
        _on_error: on_error,
        _on_message: on_message,
    }));
}

thread_local! {
    /// Whether a warm answer was drawn.
    static WARMED: Cell<bool> = const { Cell::new(false) };
}

/// What a `{ warm }` message holds (the worker's answer for the logs it read ahead); `None`
/// for any other message.
fn warm_answer(e: &MessageEvent) -> Option<FromWorker> {
    let data = e.data();
    if data.is_string() {
        return None;
    }
    let text = Reflect::get(&data, &"warm".into()).ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

/// How long after an analysis ends (or is cancelled) its successor's spare starts.
const SPARE_AFTER_MS: i32 = 1000;

/// [`warm`], once the worker that just ended has had time to go: `terminate` only asks its
/// thread to stop, and a spare loading its module and reading ahead beside a worker still
/// holding a large file's buffers made the renderer's peak (measured on a 1 GiB `.evtx`:
/// BENCHMARKS.md, "Session 17"). An analysis started meanwhile starts its own worker.
pub fn warm_later() {
    let start = Closure::once_into_js(warm);
    let started = web_sys::window().is_some_and(|w| {
        w.set_timeout_with_callback_and_timeout_and_arguments_0(
            start.unchecked_ref(),
            SPARE_AFTER_MS,
        )
        .is_ok()
    });
    if !started {
        warm();
    }
}

fn spawn() -> Result<Worker, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    Worker::new_with_options("worker.js", &options).map_err(|e| {
        format!(
            "the analysis worker could not start: {}",
            crate::keys::describe(&e)
        )
    })
}

/// The spare worker if it is still sound, else a new one (whose failure to load, if it
/// fails again, reaches the handlers `start` sets).
fn take_worker() -> Result<Worker, String> {
    if let Some(spare) = SPARE.take() {
        spare.worker.set_onerror(None);
        spare.worker.set_onmessage(None);
        if !spare.failed.get() {
            return Ok(spare.worker);
        }
        spare.worker.terminate();
    }
    spawn()
}

/// Hands `items` to a worker (the spare one, see [`warm`]).
pub fn start(items: &[Item], on_event: Callback<Event>) -> Result<Analysis, String> {
    let worker = take_worker()?;
    let events = on_event.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        // The answer for the logs it read ahead, if it was still on its way: not this
        // analysis's.
        let data = e.data();
        if !data.is_string() && Reflect::has(&data, &"warm".into()).unwrap_or(false) {
            return;
        }
        let text = data.as_string().unwrap_or_default();
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
            Item::LeftOut { name, bytes } => (name, "left_out", (*bytes).into()),
        };
        set(&entry, "name", &name.into())?;
        set(&entry, key, &value)?;
        list.push(&entry);
    }
    let request = Object::new();
    set(&request, "items", &list)?;
    // `?hashing=helper|after` on the page's address: where the worker hashes a `.evtx`
    // (default: by the number of cores). For tests and measurements.
    if let Some(hashing) = query_param("hashing") {
        set(&request, "hashing", &hashing.into())?;
    }
    // `?workers=N`: how many workers parse a `.evtx` (default: by its size and the cores);
    // `?lend=all`: every batch a parsing helper has room for is lent to it.
    if let Some(workers) = query_param("workers").and_then(|w| w.parse::<f64>().ok()) {
        set(&request, "workers", &workers.into())?;
    }
    if let Some(lend) = query_param("lend") {
        set(&request, "lend", &lend.into())?;
    }
    Ok(request.into())
}

fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &key.into(), value)
        .map(|_| ())
        .map_err(|e| crate::keys::describe(&e))
}

/// The value of `name` in the page's query string.
fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}
