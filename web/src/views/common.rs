//! Small pieces every panel uses: a command with its copy button.

use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct CommandProps {
    /// The command, shown as text (never as markup).
    pub text: AttrValue,
    /// What the copy button copies, for screen readers ("Copy the fix command").
    pub label: AttrValue,
    #[prop_or_default]
    pub testid: Option<AttrValue>,
}

/// A command in a `<code>` block with a copy button (Clipboard API).
#[function_component(Command)]
pub fn command(props: &CommandProps) -> Html {
    html! {
        <div class="command">
            <pre><code data-testid={props.testid.clone()}>{ props.text.clone() }</code></pre>
            <CopyButton text={props.text.clone()} label={props.label.clone()} />
        </div>
    }
}

#[derive(Debug, Properties, PartialEq)]
pub struct CopyProps {
    pub text: AttrValue,
    pub label: AttrValue,
}

/// Copies `text`; says whether it worked next to the button.
#[function_component(CopyButton)]
pub fn copy_button(props: &CopyProps) -> Html {
    let note = use_state(String::new);
    let onclick = {
        let note = note.clone();
        let text = props.text.clone();
        Callback::from(move |_: MouseEvent| {
            let note = note.clone();
            let text = text.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match crate::keys::copy(&text).await {
                    Ok(()) => note.set("Copied.".to_owned()),
                    Err(e) => note.set(format!("Copy failed ({e}); select the text and copy it.")),
                }
            });
        })
    };
    html! {
        <span class="copy">
            <button type="button" class="copy-button" aria-label={props.label.clone()} {onclick}>{ "Copy" }</button>
            <span class="copy-note" role="status" aria-live="polite">{ (*note).clone() }</span>
        </span>
    }
}

/// A byte count for people.
pub fn bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", f / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KiB", f / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

/// A timestamp for people: UTC to the second.
pub fn time(t: Option<jiff::Timestamp>) -> String {
    t.map_or_else(
        || "unknown time".to_owned(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}
