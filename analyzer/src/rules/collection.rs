//! How to get the logs the catalog reads off a VM, generated from the catalog: `wevtutil qe`
//! queries to look at the evidence, `wevtutil epl` exports of the last hours to `.evtx`, and
//! per-channel text queries to pipe into `fixer diagnose -` from a Serial Console.
//!
//! Unlike the source article's Scenario 3 queries, provider names are never padded with
//! spaces and every query reads the channel the events are logged to.

use super::catalog::Catalog;
use super::index::{ChannelReads, query_test};
use serde::{Deserialize, Serialize};

/// Where exports are written on the VM. An absolute path: `%TEMP%` does not expand in
/// PowerShell, which Azure Run Command uses.
pub const EXPORT_DIR: &str = r"C:\rdpfix-logs";
/// The archive `fixer collect` writes in its export folder: the exports, zipped, the one file
/// to copy off the VM (the page and `fixer diagnose` read it as they read the loose files).
pub const EXPORT_ZIP: &str = "rdpfix-logs.zip";

/// The Windows event log accepts at most 20 expressions in a plain XPath query.
pub const MAX_XPATH_EXPRESSIONS: usize = 20;

/// Everything an admin (or `fixer collect`) needs to fetch the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionGuide {
    pub window_hours: u32,
    /// The folder the export commands write to.
    pub export_dir: String,
    /// One export per channel the catalog reads.
    pub exports: Vec<ChannelExport>,
    /// One query per rule signal, to look at the evidence directly.
    pub queries: Vec<SignalQuery>,
}

/// Exporting one channel to `.evtx`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelExport {
    pub channel: String,
    pub file_name: String,
    /// XPath selecting the window: what `fixer collect` passes to the export API.
    pub xpath: String,
    /// `wevtutil epl …` for cmd or PowerShell.
    pub export_command: String,
    /// `wevtutil qe … /f:text` selecting only the providers the rules read, small enough to
    /// pipe into `fixer diagnose -` or paste into the page.
    pub text_command: String,
    /// The rules that read this channel.
    pub rules: Vec<String>,
    /// Why the channel may be absent on a VM, when it may.
    pub note: Option<String>,
}

/// Looking at one signal's events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalQuery {
    pub rule: String,
    pub signal: String,
    pub channel: String,
    pub xpath: String,
    pub command: String,
}

/// Builds the guide for a catalog and a window.
pub fn guide(catalog: &Catalog, window_hours: u32) -> CollectionGuide {
    let time = time_clause(window_hours);
    let mut queries = Vec::new();
    for rule in &catalog.rules {
        for signal in &rule.signals {
            // A signal whose condition narrows its queries selects on event data too.
            let data = query_test(signal).map(|t| format!(" and {}", t.xpath()));
            for channel in &signal.channels {
                let xpath = format!(
                    "*[System[{} and {time}]{}]",
                    provider_and_ids(&signal.provider, &signal.event_ids),
                    data.as_deref().unwrap_or_default()
                );
                queries.push(SignalQuery {
                    rule: rule.id.clone(),
                    signal: signal.id.clone(),
                    channel: channel.clone(),
                    command: format!(
                        "wevtutil qe \"{channel}\" /rd:true /c:10 /f:text /q:\"{xpath}\""
                    ),
                    xpath,
                });
            }
        }
    }
    let exports = catalog
        .index()
        .channels()
        .iter()
        .map(|reads| {
            let channel = reads.channel.clone();
            let file_name = format!("{}.evtx", channel.replace(['/', '\\', ' '], "-"));
            let xpath = format!("*[System[{time}]]");
            ChannelExport {
                export_command: format!(
                    "wevtutil epl \"{channel}\" \"{EXPORT_DIR}\\{file_name}\" /q:\"{xpath}\" /ow:true"
                ),
                text_command: format!(
                    "wevtutil qe \"{channel}\" /f:text /q:\"{}\"",
                    channel_text_xpath(reads, &time)
                ),
                // The Connection Broker's logs are the catalog's only role-specific channels:
                // the Remote Connection Manager's Operational log and the firewall's exist on
                // every Windows.
                note: channel.contains("SessionBroker").then(|| {
                    "the Connection Broker's logs exist only where that role is installed; wevtutil answers \"channel not found\" otherwise".to_string()
                }),
                channel,
                file_name,
                xpath,
                rules: reads.rules.clone(),
            }
        })
        .collect();
    CollectionGuide {
        window_hours,
        export_dir: EXPORT_DIR.to_string(),
        exports,
        queries,
    }
}

/// The commands to run on the VM, in order: make the folder, export each channel.
pub fn export_script(guide: &CollectionGuide) -> Vec<String> {
    let mut lines = vec![format!("mkdir {}", guide.export_dir)];
    lines.extend(guide.exports.iter().map(|e| e.export_command.clone()));
    lines
}

/// The XPath time test: events of the last `hours` (`timediff` is the event log's own
/// function: milliseconds between now and the time).
pub fn time_clause(hours: u32) -> String {
    format!(
        "TimeCreated[timediff(@SystemTime) <= {}]",
        u64::from(hours) * 3_600_000
    )
}

/// `Provider[@Name='…'] and (EventID=… or …)`: the provider's name exactly as logged.
pub fn provider_and_ids(provider: &str, ids: &[u16]) -> String {
    let ids = match ids {
        [one] => format!("EventID={one}"),
        many => format!(
            "({})",
            many.iter()
                .map(|id| format!("EventID={id}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    };
    format!("Provider[@Name='{provider}'] and {ids}")
}

/// One clause per provider: with its event IDs when they are few (a chatty provider such as
/// Security auditing must not flood the output), the provider alone otherwise; within the
/// event log's 20-expression limit. IDs read only when their event data passes a test get
/// a clause of their own with that test; the provider's other events are then selected by
/// their IDs when few, else as every ID but those (`EventID<=7039 or EventID>=7041`: the
/// provider alone would select every 7040).
fn channel_text_xpath(reads: &ChannelReads, time: &str) -> String {
    let clauses: Vec<String> = reads
        .providers
        .iter()
        .filter_map(|p| match p.event_ids.as_slice() {
            [] => None,
            list if list.len() <= 3 => Some(format!("({})", provider_and_ids(&p.provider, list))),
            _ if p.narrowed.is_empty() => Some(format!("Provider[@Name='{}']", p.provider)),
            // The provider but its narrowed IDs (in their own term below): two expressions
            // per ID, however many others it has.
            _ => Some(format!(
                "(Provider[@Name='{}'] and {})",
                p.provider,
                p.narrowed
                    .iter()
                    .flat_map(|n| &n.event_ids)
                    .map(|id| format!(
                        "(EventID<={} or EventID>={})",
                        id.saturating_sub(1),
                        id.saturating_add(1)
                    ))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )),
        })
        .collect();
    let narrowed: Vec<(String, String)> = reads
        .providers
        .iter()
        .flat_map(|p| {
            p.narrowed
                .iter()
                .map(|n| (provider_and_ids(&p.provider, &n.event_ids), n.data.xpath()))
        })
        .collect();
    narrowed_selection_xpath(&clauses, &narrowed, time)
}

/// `*[System[… and time]]` over clauses joined by `or`: the one shape of every query the
/// catalog's collection commands run.
pub fn selection_xpath(clauses: &[String], time: &str) -> String {
    let selection = match clauses {
        [one] => one.clone(),
        many => format!("({})", many.join(" or ")),
    };
    format!("*[System[{selection} and {time}]]")
}

/// [`selection_xpath`], with terms that also test event data: `(system, data)` pairs,
/// `Provider… and EventID=7040` with `EventData[…]`. With any, the time is tested once
/// and every term beside it: `*[System[time] and (System[a or b] or (System[c] and
/// EventData[…]))]` (a data test cannot sit inside `System[…]`).
pub fn narrowed_selection_xpath(
    clauses: &[String],
    narrowed: &[(String, String)],
    time: &str,
) -> String {
    if narrowed.is_empty() {
        return selection_xpath(clauses, time);
    }
    let mut terms: Vec<String> = Vec::new();
    if !clauses.is_empty() {
        terms.push(format!("System[{}]", clauses.join(" or ")));
    }
    for (system, data) in narrowed {
        terms.push(format!("System[{system}] and {data}"));
    }
    let selection = match terms.as_slice() {
        [one] => one.clone(),
        many => format!(
            "({})",
            many.iter()
                .map(|t| if t.contains(" and EventData[") {
                    format!("({t})")
                } else {
                    t.clone()
                })
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    };
    format!("*[System[{time}] and {selection}]")
}

/// Counts the expressions of an XPath query the way the event log's limit counts them:
/// provider tests, event ID tests, time tests and event-data tests.
pub fn xpath_expressions(xpath: &str) -> usize {
    [
        "Provider[",
        "EventID=",
        "EventID<",
        "EventID>",
        "TimeCreated[",
        "Data[@Name=",
    ]
    .iter()
    .map(|needle| xpath.matches(needle).count())
    .sum()
}
