//! The VM nobody can log into: the collection commands (shown while nothing is loaded), the
//! resource group and VM fields (kept in the page only, checked with Azure's naming rules)
//! that give the `az` / `Invoke-AzVMRunCommand` forms, and the `fixer.exe` download.

use crate::catalog;
use crate::views::common::Command;
use analyzer::diagnose::DEFAULT_WINDOW_HOURS;
use analyzer::remote::{self, ResourceGroup, VmName};
use analyzer::rules::collection;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The resource group and VM as typed; nothing else keeps them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AzureTarget {
    pub rg: String,
    pub vm: String,
}

impl AzureTarget {
    /// Both names, when both are valid.
    pub fn parsed(&self) -> Option<(ResourceGroup, VmName)> {
        Some((
            ResourceGroup::parse(self.rg.trim()).ok()?,
            VmName::parse(self.vm.trim()).ok()?,
        ))
    }
}

#[derive(Debug, Properties, PartialEq)]
pub struct AzureFieldsProps {
    pub target: AzureTarget,
    pub on_change: Callback<AzureTarget>,
}

#[function_component(AzureFields)]
pub fn azure_fields(props: &AzureFieldsProps) -> Html {
    let field = |is_rg: bool| {
        let target = props.target.clone();
        let on_change = props.on_change.clone();
        Callback::from(move |e: InputEvent| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            let mut next = target.clone();
            if is_rg {
                next.rg = input.value();
            } else {
                next.vm = input.value();
            }
            on_change.emit(next);
        })
    };
    let rg_error = (!props.target.rg.is_empty())
        .then(|| ResourceGroup::parse(props.target.rg.trim()).err())
        .flatten();
    let vm_error = (!props.target.vm.is_empty())
        .then(|| VmName::parse(props.target.vm.trim()).err())
        .flatten();
    html! {
        <section class="panel azure" aria-labelledby="azure-title">
            <h2 id="azure-title">{ "Your Azure VM (optional)" }</h2>
            <p class="hint">{ "With its resource group and name, the page writes the Azure Cloud Shell (az) and PowerShell (Invoke-AzVMRunCommand) commands for Run Command, and the snapshot to take first. The names stay in this page." }</p>
            <div class="fields">
                <label for="rg">{ "Resource group" }</label>
                <input id="rg" data-testid="rg" type="text" autocomplete="off" spellcheck="false"
                    value={props.target.rg.clone()} oninput={field(true)}
                    aria-invalid={rg_error.is_some().to_string()} aria-describedby="rg-error" />
                <span id="rg-error" class="field-error" role="status">{ rg_error.map(|e| e.to_string()).unwrap_or_default() }</span>
                <label for="vm">{ "VM name" }</label>
                <input id="vm" data-testid="vm" type="text" autocomplete="off" spellcheck="false"
                    value={props.target.vm.clone()} oninput={field(false)}
                    aria-invalid={vm_error.is_some().to_string()} aria-describedby="vm-error" />
                <span id="vm-error" class="field-error" role="status">{ vm_error.map(|e| e.to_string()).unwrap_or_default() }</span>
            </div>
        </section>
    }
}

#[derive(Debug, Properties, PartialEq)]
pub struct CollectProps {
    pub target: AzureTarget,
}

/// How to get the logs: every command generated from the rule catalog.
#[function_component(Collect)]
pub fn collect(props: &CollectProps) -> Html {
    let Some((guide, remote)) = catalog::with(|c| {
        (
            collection::guide(c, DEFAULT_WINDOW_HOURS),
            remote::remote_collection(c, DEFAULT_WINDOW_HOURS),
        )
    }) else {
        return html! { <p class="error" data-testid="error" role="alert">{ "The rule catalog could not be loaded: this build of the page is broken." }</p> };
    };
    let exports = guide.exports.iter().map(|e| {
        html! {
            <li>
                <p>{ format!("{} (read by {})", e.channel, e.rules.join(", ")) }
                    if let Some(note) = &e.note { <span class="hint">{ format!(" — {note}") }</span> }</p>
                <Command text={e.export_command.clone()} label={format!("Copy the export command for {}", e.channel)} />
            </li>
        }
    });
    let queries = remote.queries.iter().map(|q| {
        html! {
            <li>
                <p>{ format!("{}: up to {} events (rules {})", q.channel, q.max_events, q.rules.join(", ")) }</p>
                <Command text={q.wevtutil.clone()} label={format!("Copy the wevtutil query for {}", q.channel)} />
                <Command text={q.get_winevent.clone()} label={format!("Copy the Get-WinEvent query for {}", q.channel)} />
            </li>
        }
    });
    // The configuration snapshot's registry part from cmd.exe (their output reads as one).
    let config_lines = remote::config::serial_console_lines()
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            html! {
                <li><Command text={line} label={format!("Copy configuration line {}", i + 1)} /></li>
            }
        });
    let forms = props
        .target
        .parsed()
        .map(|(rg, vm)| remote::run_command(&rg, &vm, &remote.script));
    let export_all = collection::export_script(&guide).join("\r\n");
    html! {
        <section class="panel collect" data-testid="collect-commands" aria-labelledby="collect-title">
            <h2 id="collect-title">{ "How to get the logs" }</h2>
            <h3>{ "You can open a prompt on the VM (Serial Console, or RDP as another admin)" }</h3>
            <p>{ format!("With fixer.exe on the VM: it exports the last {} hours of every log the rules read to {}, and zips them there into {}: the one file to copy off the VM and drop here.", guide.window_hours, guide.export_dir, collection::EXPORT_ZIP) }</p>
            <Command text="fixer.exe collect" label="Copy the fixer collect command" />
            <p>{ "Without it, export each log with wevtutil (cmd.exe or PowerShell), then drop the .evtx files here:" }</p>
            <Command text={export_all} label="Copy all export commands" />
            <details>
                <summary>{ "One export per log" }</summary>
                <ul class="commands">{ for exports }</ul>
            </details>
            <h3>{ "Only text comes back (Run Command, Serial Console)" }</h3>
            <p>{ format!("These print only the events the rules need, newest first, and the VM's configuration (an RDPFIX-CONFIG block), within the {} bytes Run Command returns; paste their output into the box above.", remote::RUN_COMMAND_OUTPUT_BYTES) }</p>
            <p>{ "With fixer.exe on the VM, it prints the configuration and one block with every event the rules read (deflated, checksummed, within 4,000 bytes together); paste them as they are:" }</p>
            <Command text="fixer.exe collect --compact" label="Copy the fixer collect --compact command" testid="collect-compact" />
            <details>
                <summary>{ "One query per log" }</summary>
                <ul class="commands">{ for queries }</ul>
            </details>
            <details data-testid="config-lines">
                <summary>{ "The VM's configuration from a Serial Console cmd.exe prompt: one line per registry key" }</summary>
                <ul class="commands">{ for config_lines }</ul>
            </details>
            <h4>{ "Run Command script (portal: VM → Run command → RunPowerShellScript)" }</h4>
            <Command text={remote.script.clone()} label="Copy the Run Command collection script" testid="runcommand-collect" />
            if let Some(forms) = forms {
                <h4>{ "The same from Azure Cloud Shell (bash)" }</h4>
                <Command text={forms.az} label="Copy the az run-command collection command" testid="az-collect" />
                <h4>{ "The same from PowerShell (Az module)" }</h4>
                <Command text={forms.powershell} label="Copy the Invoke-AzVMRunCommand collection command" testid="azps-collect" />
            } else {
                <p class="hint">{ "Enter the resource group and VM name above for the az and Invoke-AzVMRunCommand forms." }</p>
            }
        </section>
    }
}

/// Where `fixer.exe` is, and its SHA-256 from `build-info.json` beside the page (written
/// by `cargo xtask dist` with `fixer.exe.sha256`).
#[derive(Debug, Clone, PartialEq)]
pub enum Fixer {
    Loading,
    Ready { url: String, sha256: String },
    Missing(String),
}

/// Loads `build-info.json` once.
#[hook]
pub fn use_fixer() -> Fixer {
    let fixer = use_state(|| Fixer::Loading);
    {
        let fixer = fixer.clone();
        use_effect_with((), move |()| {
            wasm_bindgen_futures::spawn_local(async move {
                fixer.set(load_fixer().await);
            });
        });
    }
    (*fixer).clone()
}

async fn load_fixer() -> Fixer {
    #[derive(serde::Deserialize)]
    struct BuildInfo {
        fixer_sha256: Option<String>,
    }
    let info = crate::fetch::text("build-info.json")
        .await
        .and_then(|t| serde_json::from_str::<BuildInfo>(&t).map_err(|e| e.to_string()));
    match info {
        Ok(BuildInfo {
            fixer_sha256: Some(sha),
        }) if sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()) => Fixer::Ready {
            url: crate::fetch::site_url("fixer.exe"),
            sha256: sha.to_ascii_lowercase(),
        },
        Ok(_) => Fixer::Missing("this copy of the page was built without fixer.exe".to_owned()),
        Err(e) => Fixer::Missing(format!(
            "this copy of the page does not say which fixer.exe it offers ({e})"
        )),
    }
}

#[derive(Debug, Properties, PartialEq)]
pub struct FixerProps {
    pub fixer: Fixer,
}

#[function_component(FixerDownload)]
pub fn fixer_download(props: &FixerProps) -> Html {
    html! {
        <div class="fixer-download">
            <p>
                <a data-testid="fixer-download" href="fixer.exe" download="fixer.exe">{ "Download fixer.exe" }</a>
                { " — the native fixer built with this page (Windows x64, Server 2008 R2 and later). SHA-256: " }
                { match &props.fixer {
                    Fixer::Ready { sha256, .. } => html! { <code data-testid="fixer-sha256">{ sha256.clone() }</code> },
                    Fixer::Loading => html! { <code data-testid="fixer-sha256">{ "loading…" }</code> },
                    Fixer::Missing(why) => html! { <span data-testid="fixer-sha256" class="note">{ why.clone() }</span> },
                } }
            </p>
        </div>
    }
}
