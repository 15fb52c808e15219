//! The fix: step 0 (snapshot), the plan's steps with their labels (optional ones can be
//! left out), the PowerShell preview, the signing key, and each way onto the VM (a prompt
//! with fixer.exe, Run Command, Serial Console) in two runs: enrol the key, then apply the
//! signed plan. Nothing about the VM is kept beyond the names the admin typed: whether it
//! already trusts the key is for the fix script to say. When the inputs held an OS disk's
//! hives, the plan is for that disk by default, and the way onto it is the rescue-VM
//! sequence ([`crate::views::repair`]).

use crate::keys::{self, PageKey};
use crate::protocol::{HashProgress, Outcome};
use crate::views::common::{Command, bytes};
use crate::views::remote::{AzureTarget, Fixer};
use crate::views::repair::{self, SignedOffline};
use analyzer::diagnose::PlanTargets;
use analyzer::diagnose::plan::{takes_typed_computer, typed_computer, typed_computer_warning};
use analyzer::envelope::{FixCommand, PreparedPlan, Shell};
use analyzer::plan::{PlanId, PlanParams, Proposal, powershell};
use analyzer::remote::{self, Delivery, KeyLabel, SerialLine};
use base64::Engine;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct FixProps {
    pub outcome: Rc<Outcome>,
    pub target: AzureTarget,
    pub fixer: Fixer,
}

/// The key as the panel knows it.
#[derive(Debug, Clone, PartialEq)]
enum KeyState {
    Loading,
    Absent,
    /// With, for the fallback, why WebCrypto could not make the key.
    Ready(Box<PageKey>, Option<String>),
    Failed(String),
}

/// What signing produced.
#[derive(Debug, Clone, PartialEq)]
struct Signed {
    plan_id: String,
    computer: String,
    token: String,
    cmd: FixCommand,
    powershell: FixCommand,
    json: String,
    /// When it was signed: names the rescue sequence's snapshot.
    issued_at: jiff::Timestamp,
    /// For an attached OS disk (the rescue VM), not the running machine.
    offline: bool,
    /// The analyzer's warning when the computer name was typed, not read in the logs.
    typed_warning: Option<String>,
}

#[derive(Debug, Properties, PartialEq)]
pub struct HashingProps {
    pub progress: Option<HashProgress>,
}

/// The fix panel while the logs' SHA-256 digests, which the plan names, are computed (the
/// findings are shown before them), with how far that is when the worker says.
#[function_component(HashingPanel)]
pub fn hashing_panel(props: &HashingProps) -> Html {
    let (max, value, done) = match props.progress {
        Some(p) if p.bytes_total > 0 => (
            p.bytes_total.to_string(),
            Some(p.bytes_done.min(p.bytes_total).to_string()),
            format!(" ({} of {})", bytes(p.bytes_done), bytes(p.bytes_total)),
        ),
        _ => ("1".to_owned(), None, String::new()),
    };
    html! {
        <section class="panel fix" aria-labelledby="fix-title">
            <h2 id="fix-title">{ "3. The fix" }</h2>
            <div class="progress" data-testid="hashing" role="status" aria-live="polite">
                <progress {max} {value} aria-label="hashing progress"></progress>
                <p>{ format!("Hashing the logs{done}: a signed plan names the evidence it was built from by its SHA-256.") }</p>
            </div>
        </section>
    }
}

/// Everything the fix panel holds, changed only by [`FixAction`]s: anything that changes
/// what would be signed (a step left out, another computer, another key) drops the signed
/// plan here, in one place.
#[derive(Debug, Clone, PartialEq)]
struct FixState {
    /// The proposal for the running machine, as the worker made it.
    base: Proposal,
    /// What would be signed: `base`, or its offline form for the attached disk.
    proposal: Proposal,
    /// The plan is for the OS disk the dropped hives are of, attached to a repair VM.
    offline: bool,
    /// The computer the plan is for: the worker's first choice until the admin picks another,
    /// or the name the admin types when the logs name none.
    computer: String,
    key: KeyState,
    signed: Option<Signed>,
    sign_error: String,
}

#[derive(Debug)]
enum FixAction {
    ToggleStep {
        index: usize,
        included: bool,
    },
    /// Another computer picked, or the typed name changed.
    ChooseComputer(String),
    /// The plan for the attached disk (`true`) or for the running machine.
    ChooseOffline(bool),
    /// The key was looked for, made, forgotten, or failed to be.
    Key(KeyState),
    Signed(Box<Signed>),
    SignFailed(String),
}

impl Reducible for FixState {
    type Action = FixAction;

    fn reduce(self: Rc<Self>, action: FixAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            FixAction::ToggleStep { index, included } => {
                if next.proposal.set_included(index, included).is_ok() {
                    next.signed = None;
                }
            }
            FixAction::ChooseComputer(name) => {
                next.computer = name;
                next.signed = None;
            }
            FixAction::ChooseOffline(offline) => {
                next.proposal = proposal_for(&next.base, offline);
                next.offline = offline;
                next.signed = None;
            }
            FixAction::Key(key) => {
                if !matches!(key, KeyState::Ready(..)) {
                    next.signed = None;
                }
                next.key = key;
            }
            FixAction::Signed(s) => {
                next.signed = Some(*s);
                next.sign_error.clear();
            }
            FixAction::SignFailed(e) => {
                next.signed = None;
                next.sign_error = e;
            }
        }
        Rc::new(next)
    }
}

#[function_component(Fix)]
pub fn fix(props: &FixProps) -> Html {
    match &props.outcome.offer.proposal {
        Ok(proposal) => html! {
            <FixPanel proposal={proposal.clone()} outcome={props.outcome.clone()}
                target={props.target.clone()} fixer={props.fixer.clone()} />
        },
        Err(e) => html! {
            <section class="panel fix"><h2>{ "3. The fix" }</h2>
                <p class="error" data-testid="error" role="alert">{ format!("No plan can be built: {e}") }</p>
            </section>
        },
    }
}

#[derive(Debug, Properties, PartialEq)]
struct FixPanelProps {
    proposal: Proposal,
    outcome: Rc<Outcome>,
    target: AzureTarget,
    fixer: Fixer,
}

#[function_component(FixPanel)]
fn fix_panel(props: &FixPanelProps) -> Html {
    let targets = &props.outcome.offer.targets;
    // Hives of an attached disk were read: the plan is for that disk unless the admin says.
    let disk = targets.as_ref().ok().and_then(|t| t.offline.clone());
    let state = use_reducer(|| FixState {
        base: props.proposal.clone(),
        proposal: proposal_for(&props.proposal, matches!(disk, Some(Ok(_)))),
        offline: matches!(disk, Some(Ok(_))),
        computer: targets
            .as_ref()
            .ok()
            .and_then(|t| t.computers.first())
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        key: KeyState::Loading,
        signed: None,
        sign_error: String::new(),
    });
    // The preview's id and time; signing makes fresh ones.
    let preview_id = use_state(|| keys::random_id().map(|id| (id, crate::fetch::now())));
    {
        let state = state.dispatcher();
        use_effect_with((), move |()| {
            wasm_bindgen_futures::spawn_local(async move {
                state.dispatch(FixAction::Key(match keys::load().await {
                    Ok(Some(k)) => KeyState::Ready(Box::new(k), None),
                    Ok(None) => KeyState::Absent,
                    Err(e) => KeyState::Failed(format!("the stored key could not be read: {e}")),
                }));
            });
        });
    }

    let steps = state.proposal.steps().iter().enumerate().map(|(i, s)| {
        let labels = s.step.labels();
        let toggle = {
            let state = state.dispatcher();
            Callback::from(move |e: Event| {
                if let Some(input) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
                    state.dispatch(FixAction::ToggleStep { index: i, included: input.checked() });
                }
            })
        };
        let id = format!("step-{i}");
        let mut tags: Vec<&str> = labels.tags();
        tags.push(if s.optional { "optional" } else { "required" });
        html! {
            <li data-testid="plan-step" class={classes!("step", (!s.included).then_some("left-out"))}>
                <div class="step-head">
                    if s.optional {
                        <input type="checkbox" id={id.clone()} data-step-toggle={i.to_string()}
                            checked={s.included} onchange={toggle} />
                        <label for={id}>{ s.step.summary() }</label>
                    } else {
                        <span>{ s.step.summary() }</span>
                    }
                </div>
                <ul class="tags">{ for tags.into_iter().map(|t| html! { <li class="tag">{ t }</li> }) }</ul>
                <ul class="why">{ for s.why.iter().map(|w| html! { <li>{ w.clone() }</li> }) }</ul>
                if !labels.caveats.is_empty() {
                    <ul class="caveats">{ for labels.caveats.iter().map(|c| html! { <li>{ c.text() }</li> }) }</ul>
                }
            </li>
        }
    });
    let computer = state.computer.clone();
    // The logs name no computer: the admin types it.
    let typed = targets.is_err() && takes_typed_computer(&props.outcome.diagnosis);
    let params = (*preview_id)
        .clone()
        .and_then(|(id, at)| plan_params(&props.outcome, &computer, state.offline, at, id));
    // A plan for an attached OS disk goes on through a repair VM, not the VM itself.
    let offline = state.offline;
    let on_offline = {
        let state = state.dispatcher();
        Callback::from(move |offline: bool| state.dispatch(FixAction::ChooseOffline(offline)))
    };
    let preview = params
        .and_then(|params| state.proposal.to_plan(&params).map_err(|e| e.to_string()))
        .and_then(|plan| PreparedPlan::new(&plan).map_err(|e| e.to_string()))
        .map(|prepared| powershell::render(prepared.plan(), prepared.steps()));
    let on_computer = {
        let state = state.dispatcher();
        Callback::from(move |name: String| state.dispatch(FixAction::ChooseComputer(name)))
    };

    let on_create = {
        let state = state.dispatcher();
        Callback::from(move |_: MouseEvent| {
            let state = state.clone();
            state.dispatch(FixAction::Key(KeyState::Loading));
            wasm_bindgen_futures::spawn_local(async move {
                state.dispatch(FixAction::Key(match keys::create().await {
                    Ok((k, why)) => KeyState::Ready(Box::new(k), why),
                    Err(e) => KeyState::Failed(e),
                }));
            });
        })
    };
    let on_forget = {
        let state = state.dispatcher();
        Callback::from(move |_: MouseEvent| {
            let state = state.clone();
            wasm_bindgen_futures::spawn_local(async move {
                state.dispatch(FixAction::Key(match keys::forget().await {
                    Ok(()) => KeyState::Absent,
                    Err(e) => KeyState::Failed(format!("the key could not be deleted: {e}")),
                }));
            });
        })
    };
    let on_sign = {
        let state = state.clone();
        let outcome = Rc::clone(&props.outcome);
        Callback::from(move |_: MouseEvent| {
            let KeyState::Ready(page_key, _) = &state.key else {
                state.dispatch(FixAction::SignFailed(
                    "Create a signing key first.".to_owned(),
                ));
                return;
            };
            let (page_key, proposal, computer, offline) = (
                **page_key,
                state.proposal.clone(),
                state.computer.clone(),
                state.offline,
            );
            let (outcome, state) = (Rc::clone(&outcome), state.dispatcher());
            wasm_bindgen_futures::spawn_local(async move {
                state.dispatch(
                    match sign(&page_key, &proposal, &outcome, &computer, offline).await {
                        Ok(s) => FixAction::Signed(Box::new(s)),
                        Err(e) => FixAction::SignFailed(format!("Not signed: {e}")),
                    },
                );
            });
        })
    };

    html! {
        <section class="panel fix" aria-labelledby="fix-title">
            <h2 id="fix-title">{ "3. The fix" }</h2>
            <h3>{ "Step 0: snapshot the OS disk" }</h3>
            if offline {
                <p class="hint">{ "The first block of the rescue sequence below, with the name every later block uses." }</p>
            } else {
                { snapshot(&props.target) }
            }
            if let Some(disk) = &disk {
                { repair::where_it_runs(disk, offline, &computer, on_offline) }
            }
            <h3 id="plan-title">
                if offline {
                    if let Some(Ok(d)) = &disk {
                        { "The plan for the OS disk of " }<span data-testid="plan-computer-name">{ d.computer.clone() }</span>
                    }
                } else if computer.is_empty() || (typed && typed_computer(&computer).is_err()) { { "The plan" } } else {
                    { "The plan for " }<span data-testid="plan-computer-name">{ computer.clone() }</span>
                }
            </h3>
            { match targets {
                Ok(_) if offline => repair::left_out(&state.proposal),
                Ok(t) => computer_choice(t, &props.outcome, &computer, on_computer),
                Err(_) if typed => typed_computer_field(&computer, on_computer),
                Err(e) => html! { <p class="error" data-testid="error" role="alert">{ format!("This plan cannot be signed: {e}") }</p> },
            } }
            <ol class="steps">{ for steps }</ol>
            <details class="preview" open=true>
                <summary>{ "What the fixer will run, as PowerShell" }</summary>
                { match preview {
                    Ok(script) => html! { <pre><code data-testid="powershell-preview">{ script }</code></pre> },
                    Err(e) => html! { <p class="error" data-testid="error" role="alert">{ format!("No plan: {e}") }</p> },
                } }
            </details>
            { key_panel(&state.key, on_create, on_forget) }
            <div class="sign">
                <button type="button" data-testid="sign" onclick={on_sign}
                    disabled={!matches!(state.key, KeyState::Ready(..))}>{ "Sign the plan" }</button>
                if !state.sign_error.is_empty() {
                    <p class="error" data-testid="error" role="alert">{ state.sign_error.clone() }</p>
                }
            </div>
            if let KeyState::Ready(k, _) = &state.key {
                if offline {
                    { repair::rescue_vm(&k.public, state.signed.as_ref().filter(|s| s.offline).map(|s| SignedOffline { token: &s.token, issued_at: s.issued_at }), &props.target, &props.fixer) }
                } else {
                    { on_the_vm(k, state.signed.as_ref(), &props.target, &props.fixer) }
                }
            }
        </section>
    }
}

/// `base`, or (`offline`) its form for the attached disk: the steps with an offline form.
fn proposal_for(base: &Proposal, offline: bool) -> Proposal {
    if offline {
        base.for_offline()
    } else {
        base.clone()
    }
}

/// The parameters of a plan for `computer` (or, `offline`, for the attached disk the hives
/// are of) at `issued_at` with a random id: the analyzer's ([`PlanTargets::params`],
/// [`PlanTargets::offline_params`]; for a name typed when the logs name none,
/// [`PlanParams::for_diagnosis_on`]), as `fixer plan` makes them.
fn plan_params(
    outcome: &Outcome,
    computer: &str,
    offline: bool,
    issued_at: jiff::Timestamp,
    random: [u8; 16],
) -> Result<PlanParams, String> {
    let plan_id = PlanId::from_random(random);
    match &outcome.offer.targets {
        Ok(targets) if offline => targets.offline_params(issued_at, plan_id),
        Ok(targets) => targets.params(computer, issued_at, plan_id),
        Err(_) if takes_typed_computer(&outcome.diagnosis) => {
            PlanParams::for_diagnosis_on(&outcome.diagnosis, Some(computer), issued_at, plan_id)
        }
        Err(e) => return Err(e.clone()),
    }
    .map_err(|e| e.to_string())
}

async fn sign(
    key: &PageKey,
    proposal: &Proposal,
    outcome: &Outcome,
    computer: &str,
    offline: bool,
) -> Result<Signed, String> {
    let params = plan_params(
        outcome,
        computer,
        offline,
        crate::fetch::now(),
        keys::random_id()?,
    )?;
    let plan = proposal.to_plan(&params).map_err(|e| e.to_string())?;
    let prepared = PreparedPlan::new(&plan).map_err(|e| e.to_string())?;
    let signature = key.sign(prepared.bytes_to_sign()).await?;
    let signed = prepared
        .assemble(&key.public, &signature)
        .map_err(|e| e.to_string())?;
    Ok(Signed {
        plan_id: signed.plan().plan_id.to_string(),
        computer: signed.plan().target.computer.to_string(),
        token: signed.token(),
        cmd: signed.fix_command(Shell::Cmd),
        powershell: signed.fix_command(Shell::PowerShell),
        json: signed.to_json(),
        issued_at: signed.plan().issued_at,
        offline: signed.plan().target.offline.is_some(),
        typed_warning: typed_computer_warning(&outcome.diagnosis, Some(computer)),
    })
}

/// The computer name the admin types when the logs name none: checked by the analyzer as
/// it is typed (its words when it is not a name a plan can hold); each change is another
/// computer, so it drops a signed plan.
fn typed_computer_field(typed: &str, on_change: Callback<String>) -> Html {
    let error = (!typed.trim().is_empty())
        .then(|| typed_computer(typed).err())
        .flatten()
        .map(|e| e.to_string());
    let oninput = Callback::from(move |e: InputEvent| {
        if let Some(input) = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        {
            on_change.emit(input.value());
        }
    });
    html! {
        <div class="computer-choice" data-testid="typed-computer">
            <label for="typed-computer">{ "Computer name (as the VM calls itself)" }</label>
            <input type="text" id="typed-computer" data-testid="typed-computer-input"
                value={typed.to_owned()} {oninput} autocomplete="off" spellcheck="false"
                aria-invalid={error.is_some().to_string()}
                aria-describedby={if error.is_some() { "typed-computer-hint typed-computer-error" } else { "typed-computer-hint" }} />
            <p class="hint" id="typed-computer-hint">
                { "The logs name no computer (Event Viewer's CSV and Format-List leave it out): type the VM's own name, as hostname prints it on the VM. Nothing here can check it; fixer.exe checks it on the VM and refuses the plan on any other computer." }
            </p>
            if let Some(e) = error {
                <p class="error" id="typed-computer-error" data-testid="typed-computer-error" role="alert">{ format!("Not a computer name a plan can hold: {e}") }</p>
            }
        </div>
    }
}

/// Which computer the plan is for: said when the logs name one, chosen when they name
/// several (the worker's default first), with what the evidence of each finding names.
fn computer_choice(
    base: &PlanTargets,
    outcome: &Outcome,
    chosen: &str,
    on_change: Callback<String>,
) -> Html {
    let unusable = (!base.unusable.is_empty()).then(|| {
        html! {
            <p class="note" data-testid="computer-unusable">
                { format!("Not offered, not a computer name a plan can target: {}.", base.unusable.join("; ")) }
            </p>
        }
    });
    if let [only] = base.computers.as_slice() {
        return html! {
            <>
                <p class="note">{ format!("The logs name one computer, {}: the fix command runs there and nowhere else.", only.name) }</p>
                { for unusable }
            </>
        };
    }
    let options = base.computers.iter().enumerate().map(|(i, c)| {
        let id = format!("computer-{i}");
        let events = format!("{} event{}", c.events, if c.events == 1 { "" } else { "s" });
        let about = if c.findings.is_empty() {
            format!("{events}; no finding's evidence comes from it")
        } else {
            format!("{events}; evidence of {}", c.findings.join(", "))
        };
        let onchange = {
            let on_change = on_change.clone();
            let name = c.name.clone();
            Callback::from(move |_: Event| on_change.emit(name.clone()))
        };
        html! {
            <li>
                <input type="radio" name="plan-computer" id={id.clone()} value={c.name.clone()}
                    data-computer={c.name.clone()} checked={c.name == chosen} {onchange} />
                <label for={id}>
                    <strong>{ c.name.clone() }</strong>{ if i == 0 { " (suggested)" } else { "" } }
                    <span class="hint">{ format!(" — {about}") }</span>
                </label>
            </li>
        }
    });
    let elsewhere = base.evidence_elsewhere(&outcome.diagnosis, chosen);
    html! {
        <fieldset class="computer-choice" data-testid="plan-computer">
            <legend>{ "The logs name several computers. Which one is this plan for?" }</legend>
            <ul>{ for options }</ul>
            <p class="hint">{ "Suggested first: the computer the most likely finding's evidence comes from. A signed plan runs only on the computer it names." }</p>
            if !elsewhere.is_empty() {
                <p class="warning" data-testid="computer-warning" role="note">
                    { format!("The evidence of {} does not come from {chosen}, yet the plan fixes it there too. For a plan of this computer's own problems, analyse its logs alone.", elsewhere.join(", ")) }
                </p>
            }
            { for unusable }
        </fieldset>
    }
}

fn snapshot(target: &AzureTarget) -> Html {
    match target.parsed() {
        Some((rg, vm)) => {
            let s = remote::snapshot(&rg, &vm, crate::fetch::now());
            html! {
                <>
                    <p>{ format!("Before anything changes, snapshot the VM's OS disk (as {}). Azure Cloud Shell (bash):", s.name) }</p>
                    <Command text={s.az} label="Copy the snapshot command (az)" testid="snapshot-command" />
                    <p>{ "Or PowerShell (Az module):" }</p>
                    <Command text={s.powershell} label="Copy the snapshot command (PowerShell)" testid="snapshot-command-ps" />
                </>
            }
        }
        None => html! {
            <p class="hint">{ "Snapshot the VM's OS disk before anything changes: enter the resource group and VM name above for the command." }</p>
        },
    }
}

fn key_panel(
    key: &KeyState,
    on_create: Callback<MouseEvent>,
    on_forget: Callback<MouseEvent>,
) -> Html {
    let body = match key {
        KeyState::Loading => {
            html! { <p class="note">{ "Looking for this browser's signing key…" }</p> }
        }
        KeyState::Absent => html! {
            <p>{ "This browser has no signing key yet. The key is made here and never leaves it; the VM must trust it once." }</p>
        },
        KeyState::Failed(e) => {
            html! { <p class="error" data-testid="error" role="alert">{ e.clone() }</p> }
        }
        KeyState::Ready(k, why) => html! {
            <>
                if k.is_fallback() {
                    <p class="warning" data-testid="key-fallback" role="note">
                        { "Fallback key: this browser has no WebCrypto Ed25519, so the key was made by the page's own code and its secret is stored where script on this page can read it. Prefer a current Chrome, Edge, Firefox or Safari." }
                        if let Some(why) = why { { format!(" (WebCrypto said: {why})") } }
                    </p>
                } else {
                    <p class="note">{ "WebCrypto Ed25519 key, non-extractable, kept in this browser's IndexedDB." }</p>
                }
                <p>{ "Fingerprint (compare it with what fixer.exe prints): " }
                    <code data-testid="key-fingerprint">{ k.public.fingerprint().to_string() }</code></p>
                <p class="hint">{ "The VM must trust it once before it applies a plan it signs: step 1 of each way onto the VM below." }</p>
                <button type="button" class="secondary" data-testid="forget-key" onclick={on_forget}>{ "Forget this key" }</button>
            </>
        },
    };
    html! {
        <div class="keys" aria-labelledby="key-title">
            <h3 id="key-title">{ "Your signing key" }</h3>
            { body }
            if matches!(key, KeyState::Absent | KeyState::Failed(_)) {
                <button type="button" data-testid="create-key" onclick={on_create}>{ "Create a signing key" }</button>
            }
        </div>
    }
}

/// A one-line command with its copy button, or why there is none (`Err`: the note).
fn line_or_note(line: Result<&str, String>, label: &'static str, testid: &'static str) -> Html {
    match line {
        Ok(line) => html! { <Command text={line.to_owned()} label={label} testid={testid} /> },
        Err(note) => html! { <p class="note" data-testid={testid}>{ note }</p> },
    }
}

fn command_or_reason(cmd: &FixCommand, label: &'static str, testid: &'static str) -> Html {
    let line = match cmd {
        FixCommand::Line(line) => Ok(line.as_str()),
        FixCommand::TooLong { chars } => Err(format!(
            "The command would be {chars} characters, more than cmd.exe takes: download the plan file and run fixer.exe apply <file>."
        )),
    };
    line_or_note(line, label, testid)
}

/// Each way onto the VM, in the order the VM needs them: step 1 enrols the key (once per
/// VM), step 2 applies the signed plan (once signed).
fn on_the_vm(key: &PageKey, signed: Option<&Signed>, target: &AzureTarget, fixer: &Fixer) -> Html {
    let fingerprint = key.public.fingerprint().to_string();
    let label = KeyLabel::page();
    let source = repair::fixer_source(fixer);
    let enrol = source
        .as_ref()
        .map(|s| remote::enrol_delivery(s, &key.public, &label));
    let fix = match (&source, signed) {
        (Ok(source), Some(s)) => {
            Some(remote::fix_delivery(source, &s.token).map_err(|e| e.to_string()))
        }
        _ => None,
    };
    let origin = crate::fetch::site_url("");
    html! {
        <div class="on-the-vm">
            <h3>{ "Run it on the VM: enrol the key, then apply the plan" }</h3>
            <p>{ "Every way below takes two runs: step 1 makes the VM trust this browser's key (once per VM; it applies nothing), step 2 applies the signed plan. This page does not know whether a VM trusts the key already: if step 2 says it does not, run step 1, then step 2 again." }</p>
            <h4>{ "In a prompt with fixer.exe (cmd.exe or PowerShell, as administrator)" }</h4>
            <p>{ "1. Enrol the key (the line checks the fingerprint too):" }</p>
            <Command text={remote::trust_command(&key.public, &label)} label="Copy the trust command" testid="trust-command" />
            <div aria-live="polite">
                if let Some(s) = signed {
                    { prompt_fix(s) }
                } else {
                    <p class="hint">{ "2. Apply the plan: sign it above for the fix command." }</p>
                }
            </div>
            <h4>{ "Without a prompt: Run Command" }</h4>
            { match &enrol {
                Ok(enrol) => html! {
                    <>
                        <p>{ format!("1. Enrol the key: the enrolment script downloads fixer.exe from this site to C:\\Program Files\\rdpfix, refuses it unless its SHA-256 matches, and enrols this browser's key. Its output ends with the fingerprint the VM computed: compare it with {fingerprint}. Paste it into the portal's Run command → RunPowerShellScript:") }</p>
                        { run_command_forms(enrol, target, "enrol", "enrolment") }
                    </>
                },
                Err(e) => html! { <p class="note">{ format!("No Run Command or Serial Console script: {e}.") }</p> },
            } }
            <div aria-live="polite">
                { match &fix {
                    Some(Ok(fix)) => html! {
                        <>
                            <p>{ "2. Apply the plan: the fix script checks fixer.exe the same way and applies the plan; if the VM does not trust the key yet, its last line says to run the enrolment script first." }</p>
                            { run_command_forms(fix, target, "fix", "fix") }
                        </>
                    },
                    Some(Err(e)) => html! { <p class="note">{ format!("No fix script: {e}.") }</p> },
                    None if enrol.is_ok() => html! { <p class="hint">{ "2. Apply the plan: sign it above for the fix script." }</p> },
                    None => html! {},
                } }
            </div>
            if let Ok(enrol) = &enrol {
                <h4>{ "Serial Console (cmd.exe prompt)" }</h4>
                <p>{ "1. Enrol the key (the same as the enrolment script, as one line):" }</p>
                { serial_line(&enrol.serial_console, "use the Run Command enrolment script", "Copy the Serial Console enrolment line", "serial-enrol") }
                <div aria-live="polite">
                    if let Some(Ok(fix)) = &fix {
                        <p>{ "2. Apply the plan:" }</p>
                        { serial_line(&fix.serial_console, "use the Run Command fix script, or run fixer.exe apply - and paste the token in pieces", "Copy the Serial Console line", "serial-fix") }
                    } else {
                        <p class="hint">{ "2. Apply the plan: sign it above for the Serial Console line." }</p>
                    }
                </div>
            }
            <p class="hint">{ format!("If the VM cannot reach {origin}: download fixer.exe here, compare its SHA-256 with the one below, and put it at C:\\Program Files\\rdpfix\\fixer.exe another way (a file share, a storage account, a data disk). The scripts then find it, check the hash and download nothing; or use the prompt's commands in that folder.") }</p>
        </div>
    }
}

/// Step 2 at a prompt: the fix command for cmd.exe and PowerShell, and the plan file.
fn prompt_fix(s: &Signed) -> Html {
    let href = format!(
        "data:application/json;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(s.json.as_bytes())
    );
    html! {
        <>
            <p data-testid="signed-for">{ format!("2. Apply the plan: plan {} is signed for {}: it runs on that computer only. In cmd.exe (Serial Console's CMD channel), in the folder with fixer.exe:", s.plan_id, s.computer) }</p>
            if let Some(w) = &s.typed_warning {
                <p class="warning" data-testid="typed-computer-warning" role="note">{ format!("Warning: {w}.") }</p>
            }
            { command_or_reason(&s.cmd, "Copy the fix command for cmd.exe", "fix-command") }
            <p>{ "In PowerShell:" }</p>
            { command_or_reason(&s.powershell, "Copy the fix command for PowerShell", "fix-command-ps") }
            <p><a data-testid="plan-download" href={href} download={format!("rdpfix-plan-{}.json", s.plan_id)}>
                { "Download the plan file" }</a>{ " (run fixer.exe apply <file>)." }</p>
        </>
    }
}

/// A script for the portal, and its az and Invoke-AzVMRunCommand forms when the VM is named;
/// `what` names the copy buttons, `id` the test ids (`runcommand-<id>`, `az-<id>`, `azps-<id>`).
fn run_command_forms(d: &Delivery, target: &AzureTarget, id: &str, what: &str) -> Html {
    let forms = target
        .parsed()
        .map(|(rg, vm)| remote::run_command(&rg, &vm, &d.script));
    html! {
        <>
            <Command text={d.script.clone()} label={format!("Copy the Run Command {what} script")} testid={format!("runcommand-{id}")} />
            if let Some(forms) = forms {
                <p>{ "From Azure Cloud Shell (bash):" }</p>
                <Command text={forms.az} label={format!("Copy the az run-command {what} command")} testid={format!("az-{id}")} />
                <p>{ "From PowerShell (Az module):" }</p>
                <Command text={forms.powershell} label={format!("Copy the Invoke-AzVMRunCommand {what} command")} testid={format!("azps-{id}")} />
            } else {
                <p class="hint">{ "Enter the resource group and VM name above for the az and Invoke-AzVMRunCommand forms." }</p>
            }
        </>
    }
}

/// The Serial Console line, or (`instead`) what to do when it would pass cmd.exe's limit.
fn serial_line(
    line: &SerialLine,
    instead: &str,
    label: &'static str,
    testid: &'static str,
) -> Html {
    let line = match line {
        SerialLine::Line(line) => Ok(line.as_str()),
        SerialLine::TooLong { chars } => Err(format!(
            "The line would be {chars} characters, more than cmd.exe takes: {instead}."
        )),
    };
    line_or_note(line, label, testid)
}
