//! The page: the panels in order — get the logs in, see the diagnosis, sign the fix, carry
//! it to the VM — wired to the page state (`state.rs`) by props and callbacks.

use crate::bridge;
use crate::state::{Run, use_page};
use crate::views::{intake, plan, remote, results};
use std::rc::Rc;
use yew::prelude::*;

#[function_component(App)]
pub fn app() -> Html {
    let (page, controller) = use_page();
    let on_analyse = use_callback(controller.clone(), |items, c| c.analyse(items));
    let on_cancel = use_callback(controller.clone(), |(), c| c.cancel());
    let on_fail = use_callback(controller, |message, c| c.fail(message));
    let azure = use_state(remote::AzureTarget::default);
    let on_azure = {
        let azure = azure.clone();
        Callback::from(move |t: remote::AzureTarget| azure.set(t))
    };
    let fixer = remote::use_fixer();
    use_effect_with((), |()| bridge::warm());
    html! {
        <div class="app" data-testid="app-ready">
            <header class="masthead">
                <h1>{ "rdpfix" }</h1>
                <p class="tagline">{ "Why does this Azure VM refuse RDP? Drop its event logs, see the evidence, get a signed fix." }</p>
                <p class="privacy" data-testid="privacy">
                    { "Nothing leaves this browser: your logs are read here, by this page, and the page's Content-Security-Policy forbids it to send anything anywhere." }
                </p>
            </header>
            <intake::Intake run={page.run.clone()} {on_analyse} {on_cancel} {on_fail} />
            <remote::AzureFields target={(*azure).clone()} on_change={on_azure} />
            if matches!(page.run, Run::Idle | Run::Cancelled | Run::Failed(_)) {
                <remote::Collect target={(*azure).clone()} />
            }
            <results::Results run={page.run.clone()} />
            if let Run::Done(outcome) = &page.run {
                if outcome.diagnosis.findings.is_empty() {
                } else if outcome.hashing {
                    <plan::HashingPanel progress={page.hashed} />
                } else {
                    <plan::Fix key={page.generation} outcome={Rc::clone(outcome)}
                        target={(*azure).clone()} fixer={fixer.clone()} />
                }
            }
            <footer class="footer">
                <remote::FixerDownload fixer={fixer.clone()} />
                <p class="version">{ format!("analyzer {}", analyzer::VERSION) }</p>
            </footer>
        </div>
    }
}
