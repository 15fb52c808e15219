//! The diagnosis: per-input status, one card per finding (confidence and why, evidence
//! table, timeline, explanation, what to check next), or what was looked for when nothing
//! was found. Log text is only ever a text node.

use crate::protocol::{InputRow, Outcome};
use crate::state::Run;
use crate::views::common::{bytes, time};
use crate::views::timeline::Timeline;
use analyzer::diagnose::Diagnosis;
use analyzer::input::{Format, Severity};
use analyzer::rules::finding::{Age, Finding};
use wasm_bindgen::JsCast;
use web_sys::{
    Element, FocusOptions, HtmlElement, ScrollBehavior, ScrollIntoViewOptions,
    ScrollLogicalPosition,
};
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct ResultsProps {
    pub run: Run,
}

#[function_component(Results)]
pub fn results(props: &ResultsProps) -> Html {
    let heading = use_node_ref();
    {
        let heading = heading.clone();
        use_effect_with(props.run.state_name(), move |state| {
            bring_into_view(&heading, state);
        });
    }
    let body = match &props.run {
        Run::Idle => html! {},
        Run::Running(_) => html! { <p class="note">{ "Analysing…" }</p> },
        Run::Cancelled => {
            html! { <p class="note">{ "Cancelled: nothing was kept. Choose the logs again to analyse them." }</p> }
        }
        Run::Failed(message) => html! {
            <p class="error" data-testid="error" role="alert">
                { format!("The analysis failed: {message}. The page is still working: try again, or with other files.") }
            </p>
        },
        Run::Done(outcome) => done(outcome),
    };
    html! {
        <section class="panel results" data-testid="results" data-state={props.run.state_name()}
            data-hashing={matches!(&props.run, Run::Done(o) if o.hashing).to_string()}
            aria-labelledby="results-title" aria-busy={matches!(props.run, Run::Running(_)).to_string()}>
            <h2 id="results-title" tabindex="-1" ref={heading}>{ "2. Diagnosis" }</h2>
            <p class="visually-hidden" role="status" aria-live="polite" data-testid="results-announcement">
                { announcement(&props.run) }
            </p>
            { body }
        </section>
    }
}

/// Draws the results of `outcome` once into an element outside the document, then ends
/// them: the page's code for an answer (reading it, drawing its findings) is then compiled
/// before the first real one comes (`bridge::warm`). Nothing of it is seen or announced,
/// and it moves no focus: the element is in no document.
pub fn draw_unseen(outcome: Outcome) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("div").ok())
    else {
        return;
    };
    let props = ResultsProps {
        run: Run::Done(std::rc::Rc::new(outcome)),
    };
    let drawn = yew::Renderer::<Results>::with_root_and_props(root, props).render();
    // Yew draws in tasks of its own (yielding every 16 ms): ended a second later, when it
    // has long finished.
    let end = wasm_bindgen::closure::Closure::once_into_js(move || drawn.destroy());
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            end.unchecked_ref(),
            UNSEEN_FOR_MS,
        );
    }
}

/// How long [`draw_unseen`]'s results are kept before they are ended.
const UNSEEN_FOR_MS: i32 = 1000;

/// What the status line tells screen readers when an analysis ends (also when focus stays
/// where the user is typing).
fn announcement(run: &Run) -> String {
    match run {
        Run::Idle | Run::Running(_) => String::new(),
        Run::Done(outcome) => format!("Diagnosis ready: {}", outcome.diagnosis.verdict),
        Run::Failed(_) => "The analysis failed; the reason is under Diagnosis.".to_owned(),
        Run::Cancelled => "Analysis cancelled.".to_owned(),
    }
}

/// When an analysis ends (`state`: the results' `data-state`), scrolls the diagnosis into
/// view and moves focus to its heading, so keyboard and screen-reader users land on it
/// rather than on the page's top or a Cancel button that is gone. Not while the user types
/// in a field: focus and scroll stay where they are, and the status line speaks. A cancelled
/// analysis moves focus only when it was lost (the Cancel button went away).
fn bring_into_view(heading: &NodeRef, state: &str) {
    let Some(heading) = heading.cast::<HtmlElement>() else {
        return;
    };
    let Some(window) = web_sys::window() else {
        return;
    };
    let active = window.document().and_then(|d| d.active_element());
    let focus_lost = active
        .as_ref()
        .is_none_or(|e| e.tag_name().eq_ignore_ascii_case("body"));
    let go = match state {
        "done" | "error" => !active.as_ref().is_some_and(is_typing_in),
        "cancelled" => focus_lost,
        _ => false,
    };
    if !go {
        return;
    }
    let still = window
        .match_media("(prefers-reduced-motion: reduce)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    let scroll = ScrollIntoViewOptions::new();
    scroll.set_block(ScrollLogicalPosition::Start);
    scroll.set_behavior(if still {
        ScrollBehavior::Instant
    } else {
        ScrollBehavior::Smooth
    });
    heading.scroll_into_view_with_scroll_into_view_options(&scroll);
    let focus = FocusOptions::new();
    focus.set_prevent_scroll(true);
    // Focusing a rendered heading with tabindex=-1 cannot fail in a way worth reporting.
    let _ = heading.focus_with_options(&focus);
}

/// A text field, a list box or editable content: somewhere keys type.
fn is_typing_in(element: &Element) -> bool {
    match element.tag_name().to_ascii_lowercase().as_str() {
        "textarea" | "select" => true,
        "input" => !matches!(
            element
                .get_attribute("type")
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str(),
            "file"
                | "button"
                | "submit"
                | "reset"
                | "checkbox"
                | "radio"
                | "image"
                | "range"
                | "color"
        ),
        _ => element
            .dyn_ref::<HtmlElement>()
            .is_some_and(HtmlElement::is_content_editable),
    }
}

fn done(outcome: &Outcome) -> Html {
    let d = &outcome.diagnosis;
    let errors = input_errors(&outcome.inputs);
    html! {
        <>
            { for errors }
            <p class="verdict" role="status">{ d.verdict.clone() }</p>
            <InputTable outcome={outcome.clone()} />
            <crate::views::config::ConfigSection
                snapshots={outcome.inputs.iter().flat_map(|r| r.report.configs.clone()).collect::<Vec<_>>()}
                findings={d.findings.clone()} />
            if d.findings.is_empty() {
                { nothing_found(d) }
            } else {
                <div class="findings">
                    { for d.findings.iter().map(|f| html! { <FindingCard finding={f.clone()} /> }) }
                </div>
                { hints(d) }
            }
        </>
    }
}

/// Problems with the inputs themselves, in words.
fn input_errors(inputs: &[InputRow]) -> Vec<Html> {
    let mut out = Vec::new();
    for input in inputs.iter().map(|row| &row.report) {
        let text = if input.format == Some(Format::Zip) {
            // An archive's own problems are about its members: each said as it is.
            let errors: Vec<&str> = input
                .issues
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .map(|i| i.message.as_str())
                .collect();
            (!errors.is_empty()).then(|| format!("{}: {}.", input.name, errors.join("; ")))
        } else if input.format.is_none() {
            let tried = if input.tried.is_empty() {
                String::new()
            } else {
                let tried: Vec<String> = input
                    .tried
                    .iter()
                    .map(|a| format!("{}: {}", a.format, a.why_not))
                    .collect();
                format!(" (tried: {})", tried.join("; "))
            };
            Some(format!(
                "{} is not an event log export this page can read: save the log as .evtx, or export it with wevtutil qe /f:text{tried}.",
                input.name
            ))
        } else if input.skipped > 0 || input.errors > 0 {
            Some(format!(
                "{} is damaged: {} could not be read ({} {}); the rest was analysed.",
                input.name,
                plural(input.skipped, "event"),
                input.errors,
                if input.errors == 1 { "error" } else { "errors" }
            ))
        } else if input.cancelled {
            Some(format!("{} was not read to the end.", input.name))
        } else {
            None
        };
        if let Some(text) = text {
            out.push(html! { <p class="error" data-testid="error" role="alert">{ text }</p> });
        }
    }
    out
}

/// A severity as the page's issue list names it (and styles it: `issue info`, …).
fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

#[derive(Debug, Properties, PartialEq)]
struct OutcomeProps {
    outcome: Outcome,
}

#[function_component(InputTable)]
fn input_table(props: &OutcomeProps) -> Html {
    let o = &props.outcome;
    let rows = o.inputs.iter().map(|row| {
        let i = &row.report;
        let format = i.format.map_or_else(|| "none".to_owned(), |f| f.to_string());
        let issues = i.issues.iter().map(|issue| {
            let severity = severity_name(issue.severity);
            let at = issue.at.map(|a| format!("{a}: ")).unwrap_or_default();
            html! { <li class={classes!("issue", severity)}>{ format!("{severity}: {at}{}", issue.message) }</li> }
        });
        html! {
            <tr data-testid="input-status" data-format={format.clone()} data-events={i.events.to_string()}
                data-skipped={i.skipped.to_string()} data-errors={i.errors.to_string()}
                data-sha256={i.sha256.clone()} data-parse-ms={format!("{:.1}", row.parse_ms)}
                data-spent={row.spent.and_then(|s| serde_json::to_string(&s).ok())}
                data-diagnose-ms={format!("{:.1}", o.diagnose_ms)}
                data-wasm-memory-bytes={o.wasm_memory_bytes.to_string()}>
                <th scope="row">{ i.name.clone() }</th>
                <td>{ i.dialect_names().unwrap_or_else(|| "not a readable log".to_owned()) }</td>
                <td>{ bytes(i.bytes) }</td>
                <td>{ i.events }</td>
                <td>{ format!("{} skipped, {} errors{}{}", i.skipped, i.errors,
                    if i.truncated { ", looks truncated" } else { "" },
                    if i.cancelled { ", cancelled" } else { "" }) }
                    if !i.issues.is_empty() {
                        <details>
                            <summary>{ format!("{} notes", i.issues.len() as u64 + i.issues_dropped) }</summary>
                            <ul>{ for issues }</ul>
                        </details>
                    }
                </td>
                <td>{ format!("{:.0} ms", row.parse_ms) }</td>
            </tr>
        }
    });
    html! {
        <div class="table-wrap">
            <table class="inputs">
                <caption>{ format!("Inputs: {} events read; diagnosis took {:.0} ms", o.diagnosis.events, o.diagnose_ms) }</caption>
                <thead><tr>
                    <th scope="col">{ "Input" }</th><th scope="col">{ "Format" }</th><th scope="col">{ "Size" }</th>
                    <th scope="col">{ "Events" }</th><th scope="col">{ "Damage" }</th><th scope="col">{ "Read in" }</th>
                </tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
        </div>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct FindingProps {
    finding: Finding,
}

#[function_component(FindingCard)]
fn finding_card(props: &FindingProps) -> Html {
    let f = &props.finding;
    let title_id = format!("finding-{}", f.id);
    let reasons = f.reasons.iter().map(|r| {
        html! { <li><span class="points">{ format!("{:+}", r.points) }</span>{ " " }{ r.text.clone() }</li> }
    });
    let evidence = f.evidence.iter().map(|e| {
        let age = match e.age {
            Age::InWindow => "in window",
            Age::Older => "older",
            Age::Newer => "after now",
            Age::Unknown => "time unknown",
        };
        html! {
            <tr>
                <td>{ time(e.time) }</td>
                <td>{ age }</td>
                <td>{ e.provider.clone() }</td>
                <td>{ e.event_id }</td>
                <td>{ e.computer.clone().unwrap_or_default() }</td>
                <td>{ e.channel.clone().unwrap_or_default() }</td>
                <td class="excerpt">{ e.message_excerpt.clone().unwrap_or_default() }</td>
                <td class="where">{ format!("{}, {}", e.origin.input, e.origin.location) }</td>
            </tr>
        }
    });
    let signals = f.signals.iter().map(|s| {
        html! { <li>{ format!("{} ({} {}): {} in the window, {} older", s.label, s.provider,
            s.event_ids.iter().map(u16::to_string).collect::<Vec<_>>().join("/"), s.in_window, s.older) }</li> }
    });
    let confidence = f.confidence.as_str();
    // One cause shown by several rules (events and configuration): which, and how sure each
    // was alone.
    let parts = f.parts.iter().map(|p| {
        let on = match (p.events, p.config) {
            (true, true) => "events and configuration",
            (false, true) => "configuration",
            _ => "events",
        };
        html! { <li data-part-id={p.id.clone()}>{ format!("{} ({}): {on}, {}/100 alone", p.title, p.id, p.score) }</li> }
    });
    let values = f.config.iter().map(|e| {
        let subject = e.subject.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
        html! { <li>{ format!("{} = {} under {}{subject} on {}", e.name, e.value, e.source, e.computer) }</li> }
    });
    html! {
        <article class="finding" data-finding-id={f.id.clone()} aria-labelledby={title_id.clone()}>
            <header>
                <h3 id={title_id}>{ f.title.clone() }</h3>
                <p class={classes!("confidence", confidence)}>
                    { format!("{confidence} confidence ({}/100) · {} · {}", f.score, f.id, f.scenario) }
                </p>
            </header>
            <p class="explanation">{ f.explanation.clone() }</p>
            if !f.parts.is_empty() {
                <div class="parts">
                    <p>{ "One cause, shown by:" }</p>
                    <ul>{ for parts }</ul>
                </div>
            }
            if !f.config.is_empty() {
                <div class="config-values">
                    <p>{ "Configuration read:" }</p>
                    <ul>{ for values }</ul>
                </div>
            }
            <details class="why" open=true>
                <summary>{ "Why this finding" }</summary>
                <ul>{ for reasons }</ul>
                <ul class="signals">{ for signals }</ul>
            </details>
            <Timeline finding={f.clone()} />
            <div class="table-wrap">
                <table class="evidence">
                    <caption>{ format!("Evidence ({} events shown)", f.evidence.len()) }</caption>
                    <thead><tr>
                        <th scope="col">{ "Time" }</th><th scope="col">{ "When" }</th><th scope="col">{ "Provider" }</th>
                        <th scope="col">{ "Event ID" }</th><th scope="col">{ "Computer" }</th><th scope="col">{ "Log" }</th>
                        <th scope="col">{ "Message" }</th><th scope="col">{ "Where" }</th>
                    </tr></thead>
                    <tbody>{ for evidence }</tbody>
                </table>
            </div>
            if !f.check_next.is_empty() {
                <h4>{ "Check next" }</h4>
                <ul class="check-next">{ for f.check_next.iter().map(|c| html! { <li>{ c.clone() }</li> }) }</ul>
            }
            <p class="source">{ "Source: " }
                <a href={f.source.url.clone()} rel="noopener noreferrer" target="_blank">{ f.source.title.clone() }</a>
            </p>
        </article>
    }
}

fn nothing_found(d: &Diagnosis) -> Html {
    let rules = d.looked_for.iter().map(|l| {
        let signals = l.signals.iter().map(|s| {
            let ids = s.event_ids.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
            html! { <li>{ format!("{}: {} event {ids} in {} ({} matched)", s.label, s.provider, s.channels.join(" or "), s.matched) }</li> }
        });
        let present = match l.channels_present {
            Some(true) => "its logs were in the input",
            Some(false) => "its logs were NOT in the input",
            None => "the input does not say which logs it holds",
        };
        html! {
            <li>
                <strong>{ format!("{} ({}, {})", l.title, l.rule, l.scenario) }</strong>
                { format!(" — last {} hours; {present}", l.window_hours) }
                <ul>{ for signals }</ul>
            </li>
        }
    });
    html! {
        <div class="nothing-found" data-testid="nothing-found">
            <h3>{ "Nothing found" }</h3>
            <p>{ format!("None of the {} documented RDP failures shows in these logs. What was looked for:", d.looked_for.len()) }</p>
            <ul class="looked-for">{ for rules }</ul>
            { hints(d) }
        </div>
    }
}

fn hints(d: &Diagnosis) -> Html {
    if d.hints.is_empty() {
        return html! {};
    }
    let items = d.hints.iter().map(|h| {
        html! {
            <li>
                { h.text.clone() }
                { for h.commands.iter().map(|c| html! {
                    <crate::views::common::Command text={c.clone()} label="Copy this command" />
                }) }
            </li>
        }
    });
    html! {
        <div class="hints">
            <h3>{ "Which logs to add" }</h3>
            <ul>{ for items }</ul>
        </div>
    }
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
