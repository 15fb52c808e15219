//! The way onto the VM for an offline plan (one for the OS disk of a VM nothing runs on,
//! attached to a repair VM): the rescue-VM sequence `analyzer::remote::repair` builds —
//! snapshot, `az vm repair create`, the repair script, `run`, what to check, `restore`,
//! after — one block per step with a copy button per command, and the repair script itself
//! to copy or download. Made from the signed plan (its token and issue time, which names the
//! snapshot so every block names the same one), the Azure names typed above and the
//! fixer.exe this site serves.

use crate::views::common::Command;
use crate::views::remote::{AzureTarget, Fixer};
use analyzer::diagnose::OfflineChoice;
use analyzer::envelope::PublicKey;
use analyzer::plan::Proposal;
use analyzer::remote::{self, FixerSource, KeyLabel, RepairInputs, RepairStep};
use base64::Engine;
use yew::prelude::*;

/// Where the plan runs, when the inputs held an OS disk's hives: on that disk attached to a
/// repair VM (the default), or on the running machine. `disk` says why the disk cannot be a
/// target when it cannot (a dirty or damaged hive, no SOFTWARE hive…).
pub fn where_it_runs(
    disk: &Result<OfflineChoice, String>,
    offline: bool,
    computer: &str,
    on_change: Callback<bool>,
) -> Html {
    let choose = |value: bool| {
        let on_change = on_change.clone();
        Callback::from(move |_: Event| on_change.emit(value))
    };
    let (disk_label, why) = match disk {
        Ok(d) => (
            format!(
                "On the OS disk of {}, attached to a repair VM (hives {}): for a VM nothing runs on",
                d.computer,
                d.hives.join(", ")
            ),
            None,
        ),
        Err(why) => (
            "On the OS disk, attached to a repair VM".to_owned(),
            Some(why.clone()),
        ),
    };
    let running = if computer.is_empty() {
        "On the running VM (Run Command, Serial Console, a prompt)".to_owned()
    } else {
        format!("On the running VM {computer} (Run Command, Serial Console, a prompt)")
    };
    html! {
        <fieldset class="computer-choice" data-testid="plan-where">
            <legend>{ "The inputs hold an OS disk's registry hives. Where does the plan run?" }</legend>
            <ul>
                <li>
                    <input type="radio" name="plan-where" id="plan-where-disk" data-testid="plan-where-disk"
                        checked={offline} disabled={why.is_some()} onchange={choose(true)} />
                    <label for="plan-where-disk">{ disk_label }</label>
                </li>
                <li>
                    <input type="radio" name="plan-where" id="plan-where-vm" data-testid="plan-where-vm"
                        checked={!offline} onchange={choose(false)} />
                    <label for="plan-where-vm">{ running }</label>
                </li>
            </ul>
            if let Some(why) = why {
                <p class="note" data-testid="plan-where-why">{ format!("No plan for the disk: {why}.") }</p>
            }
        </fieldset>
    }
}

/// The steps a plan for the attached disk leaves out, and why: they have no offline form
/// (a service started, a group member, a right…) and wait for the VM to boot.
pub fn left_out(proposal: &Proposal) -> Html {
    let left = proposal.left_out();
    if left.is_empty() {
        return html! {
            <p class="note" data-testid="left-out">{ "Every proposed step has an offline form: the plan changes the disk's hives and files." }</p>
        };
    }
    html! {
        <div class="left-out" data-testid="left-out">
            <p>{ "Left out of the plan for the disk (no offline form; apply them once the VM boots, or by hand):" }</p>
            <ul>{ for left.iter().map(|l| html! { <li data-testid="left-out-step">{ l.to_string() }</li> }) }</ul>
        </div>
    }
}

/// The fixer.exe the scripts fetch: this site's, with its published SHA-256, or why none.
pub fn fixer_source(fixer: &Fixer) -> Result<FixerSource, String> {
    match fixer {
        Fixer::Ready { url, sha256 } => FixerSource::new(url, sha256).map_err(|e| e.to_string()),
        Fixer::Loading => Err("the fixer's SHA-256 is still loading".to_owned()),
        Fixer::Missing(why) => Err(why.clone()),
    }
}

/// What the sequence is made from once the plan is signed.
#[derive(Debug, Clone, Copy)]
pub struct SignedOffline<'a> {
    pub token: &'a str,
    pub issued_at: jiff::Timestamp,
}

/// The rescue-VM sequence for `signed` (or what it still needs), signed by `key`.
pub fn rescue_vm(
    key: &PublicKey,
    signed: Option<SignedOffline<'_>>,
    target: &AzureTarget,
    fixer: &Fixer,
) -> Html {
    let body = match (target.parsed(), fixer_source(fixer), signed) {
        (None, ..) => html! {
            <p class="hint" data-testid="repair-needs">{ "Enter the resource group and VM name above: every command of the sequence names them." }</p>
        },
        (_, Err(e), _) => html! {
            <p class="note" data-testid="repair-needs">{ format!("No repair script: {e}.") }</p>
        },
        (_, _, None) => html! {
            <p class="hint" data-testid="repair-needs">{ "Sign the plan above: the repair script carries the signed plan." }</p>
        },
        (Some((group, vm)), Ok(source), Some(signed)) => {
            let label = KeyLabel::page();
            let inputs = RepairInputs {
                group: &group,
                vm: &vm,
                token: signed.token,
                key,
                label: &label,
                source: &source,
                at: signed.issued_at,
            };
            match remote::repair_sequence(&inputs) {
                Ok(seq) => html! {
                    <>
                        <ol class="repair-steps" start="0">{ for seq.steps.iter().map(|s| step(s, &seq.script)) }</ol>
                    </>
                },
                Err(e) => {
                    html! { <p class="note" data-testid="repair-needs">{ format!("No repair script: {e}.") }</p> }
                }
            }
        }
    };
    let fingerprint = key.fingerprint().to_string();
    html! {
        <div class="on-the-vm rescue" data-testid="rescue-vm">
            <h3>{ "Run it from a repair VM: the OS disk, offline" }</h3>
            <p>{ "This plan is for the OS disk of a VM nothing runs on (no Run Command, no Serial Console): Azure's vm-repair commands copy the disk, attach the copy to a new repair VM, run the repair script there, and swap the repaired copy in. Run the blocks in order in Azure Cloud Shell (bash)." }</p>
            <p class="hint">{ format!("The repair script enrols this browser's key on the repair VM and refuses it unless its fingerprint is {fingerprint}; the repair VM is deleted by the swap.") }</p>
            <div aria-live="polite">{ body }</div>
        </div>
    }
}

/// One block: what it does, its commands; the save block adds the script to copy or download.
fn step(s: &RepairStep, script: &remote::RepairScript) -> Html {
    let commands = s.commands.iter().enumerate().map(|(i, c)| {
        html! {
            <Command text={c.clone()} label={format!("Copy: {} ({})", s.title, i + 1)}
                testid={format!("repair-{}-{i}", s.id)} />
        }
    });
    let href = format!(
        "data:text/plain;charset=us-ascii;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(script.text.as_bytes())
    );
    html! {
        <li data-testid={format!("repair-{}", s.id)}>
            <h4>{ s.title.clone() }</h4>
            <p>{ s.what.clone() }</p>
            { for commands }
            if s.id == "save" {
                <p><a data-testid="repair-script-download" href={href} download={script.file_name}>
                    { format!("Download {}", script.file_name) }</a>
                    { format!(" ({} bytes; keep its name: the run command names it).", script.bytes) }</p>
                <details>
                    <summary>{ "The repair script alone" }</summary>
                    <Command text={script.text.clone()} label="Copy the repair script" testid="repair-script" />
                </details>
            }
        </li>
    }
}
