//! Getting logs in: the drop zone with its file input, the paste box, the samples, and the
//! progress of the analysis with its cancel button.

use crate::bridge::Item;
use crate::drop::{Dropped, file_item};
use crate::state::Run;
use crate::views::common::bytes;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, FileList, HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The built-in samples: (name, file, what it shows).
const SAMPLES: [(&str, &str, &str); 5] = [
    (
        "rdp-cert-keys",
        "rdp-cert-keys.evtx",
        "Scenario 1: the RDP certificate's private key is unreadable",
    ),
    (
        "rdp-tls-disabled",
        "rdp-tls-disabled.evtx",
        "Scenario 2: TLS is disabled for the RDP listener",
    ),
    (
        "rdp-broker-renamed",
        "rdp-broker-renamed.evtx",
        "Scenario 3: the Connection Broker's computer was renamed",
    ),
    ("healthy", "healthy.evtx", "a healthy VM: nothing to find"),
    (
        "rdp-cert-keys-text",
        "rdp-cert-keys.txt",
        "Scenario 1 as pasted wevtutil text",
    ),
];

#[derive(Debug, Properties, PartialEq)]
pub struct IntakeProps {
    pub run: Run,
    /// Analyse these inputs (ending any analysis still running).
    pub on_analyse: Callback<Vec<Item>>,
    /// End the running analysis.
    pub on_cancel: Callback<()>,
    /// A problem found before any analysis started (a sample that did not load).
    pub on_fail: Callback<String>,
}

#[function_component(Intake)]
pub fn intake(props: &IntakeProps) -> Html {
    let dragging = use_state(|| false);
    let paste = use_node_ref();
    let paste_note = use_state(String::new);

    let on_files = {
        let on_analyse = props.on_analyse.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            let items = file_items(input.files());
            // Choosing the same file again must fire `change` again.
            input.set_value("");
            if !items.is_empty() {
                on_analyse.emit(items);
            }
        })
    };
    let on_dragover = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(true);
        })
    };
    let on_dragleave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let on_drop = {
        let dragging = dragging.clone();
        let on_analyse = props.on_analyse.clone();
        let on_fail = props.on_fail.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            let Some(dropped) = e.data_transfer().map(|d| Dropped::take(&d)) else {
                return;
            };
            let (on_analyse, on_fail) = (on_analyse.clone(), on_fail.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match dropped.items().await {
                    Ok(items) if !items.is_empty() => on_analyse.emit(items),
                    Ok(_) => {}
                    Err(e) => on_fail.emit(e),
                }
            });
        })
    };
    let on_paste = {
        let on_analyse = props.on_analyse.clone();
        let paste = paste.clone();
        let paste_note = paste_note.clone();
        Callback::from(move |_: MouseEvent| {
            let text = paste
                .cast::<HtmlTextAreaElement>()
                .map(|t| t.value())
                .unwrap_or_default();
            if text.trim().is_empty() {
                paste_note.set("Paste the text of an export (or a Run Command / Serial Console output) into the box first.".to_owned());
                return;
            }
            paste_note.set(String::new());
            on_analyse.emit(vec![Item::Text {
                name: "pasted text".to_owned(),
                text,
            }]);
        })
    };
    let samples = SAMPLES.iter().map(|(name, file, what)| {
        let on_analyse = props.on_analyse.clone();
        let on_fail = props.on_fail.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            let (on_analyse, on_fail) = (on_analyse.clone(), on_fail.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match crate::fetch::blob(&format!("samples/{file}")).await {
                    Ok(blob) => on_analyse.emit(vec![Item::Blob {
                        name: (*file).to_owned(),
                        blob,
                    }]),
                    Err(e) => on_fail.emit(format!("the sample {file} could not be loaded: {e}")),
                }
            });
        });
        html! {
            <li><button type="button" data-sample={*name} {onclick} title={*what}>{ *name }</button>
                <span class="sample-what">{ *what }</span></li>
        }
    });
    let zone_class = classes!("drop-zone", dragging.then_some("dragging"));
    html! {
        <section class="panel intake" aria-labelledby="intake-title">
            <h2 id="intake-title">{ "1. Your VM's event logs" }</h2>
            <div class={zone_class} data-testid="drop-zone"
                ondragover={on_dragover} ondragleave={on_dragleave} ondrop={on_drop}>
                <p>{ "Drop .evtx files or text exports here (several at once), a .zip of them, or the folder fixer.exe collect wrote; or " }</p>
                <label for="file-input" class="file-label">{ "choose files" }</label>
                <input id="file-input" class="file-input" type="file" multiple=true
                    accept=".evtx,.txt,.xml,.csv,.log,.zip,text/plain,application/zip" onchange={on_files} />
                <p class="hint">{ "System.evtx, Application.evtx and the TerminalServices / RemoteDesktopServices logs; the text of wevtutil, Get-WinEvent or Event Viewer; Run Command and Serial Console output." }</p>
            </div>
            <div class="paste">
                <label for="paste-box">{ "Or paste text (wevtutil /f:text, Run Command or Serial Console output, an RDPFIX-EVIDENCE block):" }</label>
                <textarea id="paste-box" data-testid="paste-box" ref={paste} rows="6" spellcheck="false"
                    autocomplete="off" />
                <button type="button" data-testid="paste-analyse" onclick={on_paste}>{ "Analyse the pasted text" }</button>
                <span class="note" role="status">{ (*paste_note).clone() }</span>
            </div>
            <div class="samples">
                <h3>{ "No logs at hand? Try a sample" }</h3>
                <ul class="sample-list">{ for samples }</ul>
            </div>
            if let Run::Running(progress) = &props.run {
                <ProgressView progress={progress.clone()} on_cancel={props.on_cancel.clone()} />
            }
        </section>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct ProgressProps {
    progress: Option<crate::protocol::InputProgress>,
    on_cancel: Callback<()>,
}

#[function_component(ProgressView)]
fn progress_view(props: &ProgressProps) -> Html {
    let cancel = props.on_cancel.reform(|_: MouseEvent| ());
    let (text, max, value) = match &props.progress {
        None => ("Starting the analysis…".to_owned(), 1.0, None),
        Some(p) => {
            #[allow(clippy::cast_precision_loss)]
            let (done, total) = (p.bytes_done as f64, p.bytes_total.max(1) as f64);
            (
                format!(
                    "Reading {} ({} of {}): {} of {}, {} events",
                    p.name,
                    p.index + 1,
                    p.inputs,
                    bytes(p.bytes_done),
                    bytes(p.bytes_total),
                    p.events
                ),
                total,
                Some(done),
            )
        }
    };
    html! {
        <div class="progress" data-testid="progress" role="status" aria-live="polite">
            <progress max={max.to_string()} value={value.map(|v| v.to_string())} aria-label="analysis progress"></progress>
            <span>{ text }</span>
            <button type="button" data-testid="cancel" onclick={cancel}>{ "Cancel" }</button>
        </div>
    }
}

fn file_items(files: Option<FileList>) -> Vec<Item> {
    let Some(files) = files else {
        return Vec::new();
    };
    (0..files.length())
        .filter_map(|i| files.get(i))
        .map(file_item)
        .collect()
}
