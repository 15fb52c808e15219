//! The diagnosis' "Configuration" section: for each computer's newest `RDPFIX-CONFIG`
//! snapshot, what deviates from its release's defaults, which findings rest on its values
//! (what that breaks) and what the snapshot does not hold. Everything shown is decided by
//! `analyzer::config` and the rules; values from the VM are rendered as text only.

use analyzer::config::deviation::summary;
use analyzer::config::{ConfigSnapshot, newest_per_computer};
use analyzer::rules::finding::Finding;
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct ConfigProps {
    /// Every snapshot the inputs held (`InputReport::configs`), in input order.
    pub snapshots: Vec<ConfigSnapshot>,
    pub findings: Vec<Finding>,
}

/// Nothing when no input held a snapshot.
#[function_component(ConfigSection)]
pub fn config_section(props: &ConfigProps) -> Html {
    // As `Session::finish` judges them: a SOFTWARE hive joined to its SYSTEM hive, then the
    // newest snapshot of each computer.
    let joined = analyzer::input::hive::merge(&props.snapshots);
    let newest = newest_per_computer(&joined);
    if newest.is_empty() {
        return html! {};
    }
    html! {
        <section class="configuration" data-testid="configuration">
            <h2>{ "Configuration" }</h2>
            { for newest.into_iter().map(|s| computer(s, &props.findings)) }
        </section>
    }
}

fn computer(snapshot: &ConfigSnapshot, findings: &[Finding]) -> Html {
    let s = summary(snapshot);
    let name = if s.computer.is_empty() {
        "this VM (reg query output names no computer)".to_owned()
    } else {
        s.computer.clone()
    };
    let taken = s
        .taken
        .map(|t| format!(", taken {}", t.strftime("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    let release = s
        .release
        .clone()
        .map(|r| format!(" ({r} defaults)"))
        .unwrap_or_else(|| {
            " (release unknown: defaults that differ by release are not compared)".to_owned()
        });
    // Findings that rest on this computer's values.
    let breaks: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.config.iter().any(|e| e.computer == snapshot.computer))
        .collect();
    html! {
        <div class="config-computer" data-computer={snapshot.computer.clone()}>
            <h3>{ format!("{name}{taken}{release}") }</h3>
            if breaks.is_empty() {
                <p>{ "No rule finds a configuration that breaks RDP in this snapshot." }</p>
            } else {
                <ul class="config-breaks">
                    { for breaks.iter().map(|f| html! {
                        <li data-finding-id={f.id.clone()}>
                            <strong>{ f.title.clone() }</strong>
                            <ul>
                                { for f.config.iter().filter(|e| e.computer == snapshot.computer).map(|e| html! {
                                    <li>{ format!("{}: {} = {}", e.label, e.name, e.value) }</li>
                                }) }
                            </ul>
                        </li>
                    }) }
                </ul>
            }
            if s.deviations.is_empty() {
                <p>{ "Every value read is at its default." }</p>
            } else {
                <table class="config-deviations">
                    <caption>{ "Values off their defaults" }</caption>
                    <thead><tr><th>{ "value" }</th><th>{ "set to" }</th><th>{ "default" }</th><th>{ "where" }</th></tr></thead>
                    <tbody>
                        { for s.deviations.iter().map(|d| html! {
                            <tr>
                                <td>{ d.subject.as_ref().map_or(d.name.clone(), |sub| format!("{} ({sub})", d.name)) }</td>
                                <td>{ d.value.clone() }</td>
                                <td>{ d.default.clone() }</td>
                                <td>{ format!("{}, line {}", d.source, d.line) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
            if !s.not_collected.is_empty() {
                <p class="config-missing">
                    { "Not collected (nothing is assumed about them): " }
                    { s.not_collected.iter().map(|(section, why)| match why {
                        Some(why) => format!("{} ({why})", section.word()),
                        None => section.word().to_owned(),
                    }).collect::<Vec<_>>().join(", ") }
                </p>
            }
        </div>
    }
}
