//! What was looked for, what the inputs covered, and what to export when they look
//! incomplete: the part of a diagnosis that matters most when nothing was found.

use crate::rules::catalog::{Catalog, Role, Tier};
use crate::rules::collection::{self, CollectionGuide};
use crate::rules::collector::{Collector, NameCounts};
use crate::rules::finding::{Finding, Window};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One rule as searched for: the events, the window, whether its logs were in the inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookedFor {
    pub rule: String,
    pub scenario: String,
    pub title: String,
    pub tier: Tier,
    pub window_hours: u32,
    pub found: bool,
    /// Whether any input held events from a channel this rule reads (`None`: the inputs
    /// do not say which log their events come from).
    pub channels_present: Option<bool>,
    pub signals: Vec<LookedForSignal>,
}

/// One kind of event searched for, and what was set aside as a near miss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookedForSignal {
    pub id: String,
    pub label: String,
    pub role: Role,
    pub provider: String,
    pub channels: Vec<String>,
    pub event_ids: Vec<u16>,
    pub matched: u64,
    /// Events with a right ID that were set aside, and why.
    pub ignored: Vec<Ignored>,
}

/// Events that looked like evidence but were not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Ignored {
    /// The same event ID from another provider (Group Policy also logs 1058).
    OtherProvider { provider: String, count: u64 },
    /// The right provider and ID, in a channel the rule does not read.
    OtherChannel { count: u64 },
    /// A required condition did not hold (a client-side Schannel error, another state).
    ConditionFailed { values: Vec<String>, count: u64 },
}

/// A suggestion about the inputs themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    pub kind: HintKind,
    pub text: String,
    /// Commands that fetch what is missing, to run on the VM.
    pub commands: Vec<String>,
}

/// What a hint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintKind {
    /// The rule catalog could not be loaded: nothing was checked.
    NoRules,
    NoEvents,
    MissingChannel,
    UnknownChannels,
    PartialWindow,
    StaleLogs,
    Undated,
    /// Times were exported without a UTC offset and read as if they were UTC.
    LocalTimes,
    SeveralComputers,
    /// The Security log was read but holds no failed logon (4625) at all: logon auditing may
    /// be off, so the causes only 4625 shows (account state, logon rights, clock skew) could
    /// not show either.
    LogonAuditing,
}

/// A name seen in the inputs and how many events carried it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub name: String,
    pub events: u64,
}

/// A context the inputs revealed (this is a domain controller…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSeen {
    pub id: String,
    pub description: String,
    /// The provider or channel that revealed it.
    pub by: String,
    pub events: u64,
}

/// Lists every rule as searched for.
pub fn looked_for(collector: &Collector, findings: &[Finding]) -> Vec<LookedFor> {
    let catalog = collector.catalog();
    let channels = &collector.stats().channels;
    let any_channel_known = !channels.is_empty();
    catalog
        .rules
        .iter()
        .enumerate()
        .map(|(r, rule)| {
            let signals = collector
                .slots()
                .iter()
                .filter(|slot| slot.rule == r)
                .filter_map(|slot| {
                    let signal = rule.signals.get(slot.signal)?;
                    let st = &slot.state;
                    let mut ignored: Vec<Ignored> = st
                        .other_providers
                        .iter()
                        .map(|(provider, count)| Ignored::OtherProvider {
                            provider: provider.clone(),
                            count: *count,
                        })
                        .collect();
                    if st.other_channel > 0 {
                        ignored.push(Ignored::OtherChannel {
                            count: st.other_channel,
                        });
                    }
                    if st.rejected > 0 {
                        ignored.push(Ignored::ConditionFailed {
                            values: st.rejected_values.clone(),
                            count: st.rejected,
                        });
                    }
                    Some(LookedForSignal {
                        id: signal.id.clone(),
                        label: signal.label.clone(),
                        role: signal.role,
                        provider: signal.provider.clone(),
                        channels: signal.channels.clone(),
                        event_ids: signal.event_ids.clone(),
                        matched: st.total(),
                        ignored,
                    })
                })
                .collect();
            let present = rule
                .signals
                .iter()
                .filter(|s| s.role == Role::Primary)
                .flat_map(|s| &s.channels)
                .any(|c| channels.contains(c));
            LookedFor {
                rule: rule.id.clone(),
                scenario: rule.scenario.clone(),
                title: rule.title.clone(),
                tier: rule.tier,
                window_hours: rule.window_hours,
                found: findings
                    .iter()
                    .any(|f| f.id == rule.id || f.parts.iter().any(|p| p.id == rule.id)),
                channels_present: any_channel_known.then_some(present),
                signals,
            }
        })
        .collect()
}

/// Suggestions about the inputs: missing logs, a window they do not cover, stale logs.
pub fn hints(collector: &Collector, window: &Window, guide: &CollectionGuide) -> Vec<Hint> {
    let stats = collector.stats();
    let catalog = collector.catalog();
    let mut hints = Vec::new();
    if stats.events == 0 {
        hints.push(Hint {
            kind: HintKind::NoEvents,
            text: "no events were read from the inputs: export the logs below and try again"
                .to_string(),
            commands: collection::export_script(guide),
        });
        return hints;
    }
    if stats.channels.is_empty() {
        hints.push(Hint {
            kind: HintKind::UnknownChannels,
            text: "the inputs do not say which log their events come from, so missing logs cannot be told apart from healthy ones; `wevtutil epl` exports keep that information".to_string(),
            commands: collection::export_script(guide),
        });
    } else {
        hints.extend(missing_channels(catalog, &stats.channels, guide));
    }
    if let (Some(start), Some(oldest)) = (window.start, stats.oldest)
        && oldest > start
        && window.end.is_some_and(|end| oldest <= end)
    {
        let covered = window
            .end
            .map(|end| hours_between(oldest, end))
            .unwrap_or_default();
        hints.push(Hint {
            kind: HintKind::PartialWindow,
            text: format!(
                "the logs begin at {oldest}, so only the last {covered} of the {} hours before now are covered: the log may have wrapped or been cleared; older evidence is not in these inputs",
                window.hours
            ),
            commands: Vec::new(),
        });
    }
    if let (Some(end), Some(newest)) = (window.end, stats.newest)
        && newest < end
    {
        let gap = hours_between(newest, end);
        if gap >= 1 {
            hints.push(Hint {
                kind: HintKind::StaleLogs,
                text: format!(
                    "the newest event is {gap} hours before the chosen now: these logs may have been exported before the failure began; export them again"
                ),
                commands: collection::export_script(guide),
            });
        }
    }
    if stats.local_times > 0 {
        hints.push(Hint {
            kind: HintKind::LocalTimes,
            text: format!(
                "{} events show the VM's local time without a UTC offset and were read as if it were UTC; give --now in the same local time, or export .evtx files for exact times",
                stats.local_times
            ),
            commands: Vec::new(),
        });
    }
    if stats.undated > 0 {
        hints.push(Hint {
            kind: HintKind::Undated,
            text: format!(
                "{} events carry no time: they are shown but cannot be placed in the window",
                stats.undated
            ),
            commands: Vec::new(),
        });
    }
    if stats.channels.contains(SECURITY) && !failed_logon_seen(collector) {
        hints.push(Hint {
            kind: HintKind::LogonAuditing,
            text: format!(
                "the Security log holds no failed logon (4625) at all: logon auditing may be off, which is not the same as healthy; refused logons (an expired or disabled account, a missing Remote Desktop right, clock skew) leave no event then. Turn the auditing of failed logons on and try to connect again (the Logon subcategory by its GUID, which is not localised: {LOGON_SUBCATEGORY})"
            ),
            commands: vec![
                format!("auditpol /get /subcategory:{LOGON_SUBCATEGORY}"),
                format!("auditpol /set /subcategory:{LOGON_SUBCATEGORY} /failure:enable"),
            ],
        });
    }
    let computers = stats.computers.ranked();
    if computers.len() > 1 {
        let names: Vec<&str> = computers.iter().take(5).map(|(n, _)| *n).collect();
        hints.push(Hint {
            kind: HintKind::SeveralComputers,
            text: format!(
                "the events come from {} computers ({}): findings may mix them; analyse one VM's logs at a time, or check each finding's evidence (a renamed broker also shows two names)",
                computers.len(),
                names.join(", ")
            ),
            commands: Vec::new(),
        });
    }
    hints
}

const SECURITY: &str = "Security";
/// The audit policy's Logon subcategory ("Audit Logon"), whose failures are 4625.
const LOGON_SUBCATEGORY: &str = "{0CCE9215-69AE-11D9-BED3-505054503030}";
const FAILED_LOGON: u16 = 4625;

/// Whether any signal listing 4625 saw one from the Security auditing provider, in any
/// channel, kept or set aside by a condition.
fn failed_logon_seen(collector: &Collector) -> bool {
    let catalog = collector.catalog();
    collector.slots().iter().any(|slot| {
        let listed = catalog
            .rules
            .get(slot.rule)
            .and_then(|r| r.signals.get(slot.signal))
            .is_some_and(|s| s.event_ids.contains(&FAILED_LOGON));
        let st = &slot.state;
        listed && st.total() + st.rejected + st.other_channel > 0
    })
}

/// Missing channels that block the same rules.
struct MissingGroup<'a> {
    rules: Vec<String>,
    tier: Tier,
    channels: Vec<&'a str>,
    notes: Vec<&'a str>,
    commands: Vec<String>,
}

/// One hint per group of missing channels that block the same rules (Scenario 3's two
/// broker channels give one hint), naming the rules, seed rules first.
fn missing_channels(catalog: &Catalog, seen: &NameCounts, guide: &CollectionGuide) -> Vec<Hint> {
    let mut groups: Vec<MissingGroup<'_>> = Vec::new();
    for export in &guide.exports {
        if seen.contains(&export.channel) {
            continue;
        }
        // The rules reading this channel with a primary signal, in catalog order.
        let rules: Vec<&crate::rules::Rule> = catalog
            .index()
            .channels()
            .iter()
            .find(|c| c.channel.eq_ignore_ascii_case(&export.channel))
            .map(|c| {
                c.primary_rules
                    .iter()
                    .filter_map(|id| catalog.rule(id))
                    .collect()
            })
            .unwrap_or_default();
        let Some(tier) = rules.iter().map(|r| r.tier).min() else {
            continue;
        };
        let names: Vec<String> = rules
            .iter()
            .map(|r| format!("{} ({})", r.id, r.scenario))
            .collect();
        let index = match groups.iter().position(|g| g.rules == names) {
            Some(i) => i,
            None => {
                groups.push(MissingGroup {
                    rules: names,
                    tier,
                    channels: Vec::new(),
                    notes: Vec::new(),
                    commands: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let Some(group) = groups.get_mut(index) else {
            continue;
        };
        group.channels.push(&export.channel);
        if let Some(note) = export.note.as_deref()
            && !group.notes.contains(&note)
        {
            group.notes.push(note);
        }
        group.commands.push(export.export_command.clone());
    }
    groups.sort_by_key(|g| g.tier);
    groups
        .into_iter()
        .map(|g| {
            let logs = if g.channels.len() == 1 { "log" } else { "logs" };
            let mut text = format!(
                "no events from the {} {logs} were in the inputs, so {} could not be checked",
                g.channels.join(" or "),
                g.rules.join(", ")
            );
            for note in g.notes {
                text.push_str(&format!("; {note}"));
            }
            Hint {
                kind: HintKind::MissingChannel,
                text,
                commands: std::iter::once(format!("mkdir {}", guide.export_dir))
                    .chain(g.commands)
                    .collect(),
            }
        })
        .collect()
}

fn hours_between(from: Timestamp, to: Timestamp) -> i64 {
    to.duration_since(from).as_hours()
}

/// Names and counts, most frequent first, at most `max`.
pub fn seen(names: &NameCounts, max: usize) -> Vec<Seen> {
    names
        .ranked()
        .into_iter()
        .take(max)
        .map(|(n, c)| Seen {
            name: n.to_string(),
            events: c,
        })
        .collect()
}
