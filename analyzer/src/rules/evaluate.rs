//! Turns what the collector kept into findings: which rules hold, how far to trust each,
//! and in what order to present them. The event side and the scoring are here;
//! `config_side.rs` checks the rules' configuration conditions, `join.rs` makes one
//! finding of an event and a configuration finding of one cause.

use super::catalog::{Combine, Role, Rule, Signal, Tier};
use super::collector::{Candidate, Collector, ConditionTally, SignalSlot, SignalState};
use super::finding::{
    Age, CheckNote, Confidence, Evidence, Finding, Peak, Reason, SignalSummary, Window,
};
use super::matching;
use crate::config::ConfigSnapshot;
use jiff::Timestamp;
use std::collections::BTreeSet;

mod config_side;
mod join;

use config_side::{config_side, merge};
use join::join_causes;

/// Evidence events shown per signal, by age.
pub(crate) const SHOW_IN_WINDOW: usize = 5;
pub(crate) const SHOW_OUTSIDE: usize = 2;
const SHOW_TOTAL: usize = 12;
/// Points for two or more providers agreeing, for repetition, for a held condition.
const AGREEMENT: i16 = 10;
const REPEATED: i16 = 5;
const CONDITION: i16 = 5;
/// Taken away when no primary evidence is current.
const NOT_CURRENT: i16 = 10;
/// The highest score a derived rule can reach: Medium, never High.
const DERIVED_CAP: i16 = 55;

/// Evaluates every rule of the collector's catalog against `now`; findings come back ranked,
/// the most likely first.
pub fn evaluate(collector: &Collector, now: Option<Timestamp>) -> Vec<Finding> {
    evaluate_with_config(collector, &[], now)
}

/// [`evaluate`], with the rules' configuration conditions checked against `snapshots` (one
/// per computer: [`crate::config::newest_per_computer`]). A rule fires on its events, on its
/// configuration, or on both; what holds of the configuration adds its points and reasons.
pub fn evaluate_with_config(
    collector: &Collector,
    snapshots: &[&ConfigSnapshot],
    now: Option<Timestamp>,
) -> Vec<Finding> {
    let catalog = collector.catalog();
    let index = catalog.index();
    let contexts = &collector.stats().contexts;
    let mut findings: Vec<Finding> = catalog
        .rules
        .iter()
        .enumerate()
        .filter_map(|(r, rule)| {
            let slots: Vec<&SignalSlot> =
                collector.slots().iter().filter(|s| s.rule == r).collect();
            // A rule of configuration conditions only has no event side to fire.
            let events = (!rule.signals.is_empty())
                .then(|| {
                    evaluate_rule(rule, &slots, now, |id| {
                        contexts.get(id).map(|(by, _)| by.as_str())
                    })
                })
                .flatten();
            let configs = index
                .rules()
                .get(r)
                .map_or(&[][..], |i| i.configs.as_slice());
            let config = config_side(rule, configs, snapshots, now);
            merge(rule, events, config, now)
        })
        .collect();
    rank(&mut findings);
    join_causes(catalog, findings)
}

/// The reasons with the cap applied (a reason says so), and the score they add up to.
fn capped(tier: Tier, mut reasons: Vec<Reason>) -> (Vec<Reason>, u8) {
    let total: i16 = reasons.iter().map(|r| r.points).sum();
    let cap = if tier == Tier::Derived {
        DERIVED_CAP
    } else {
        100
    };
    if total > cap {
        let why = if tier == Tier::Derived {
            "this rule's event IDs come from a derived, unverified source"
        } else {
            "the most a score can be"
        };
        reasons.push(Reason {
            points: cap - total,
            text: format!("capped at {cap}: {why}"),
        });
    }
    (reasons, u8::try_from(total.clamp(0, cap)).unwrap_or(0))
}

/// Orders findings: derived rules after the others whatever their score, then by score,
/// then seed before documented, then by id so the order is stable.
pub fn rank(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let derived = |f: &Finding| f.tier == Tier::Derived;
        derived(a)
            .cmp(&derived(b))
            .then(b.score.cmp(&a.score))
            .then(a.tier.cmp(&b.tier))
            .then(a.id.cmp(&b.id))
    });
}

/// What one signal found, judged against the window.
struct SignalView<'a> {
    signal: &'a Signal,
    state: &'a SignalState,
    summary: SignalSummary,
    /// Present at all (rate signals: the threshold was reached somewhere).
    present: bool,
    /// Present within the window.
    current: bool,
}

fn evaluate_rule<'a>(
    rule: &'a Rule,
    slots: &[&'a SignalSlot],
    now: Option<Timestamp>,
    context: impl Fn(&str) -> Option<&'a str>,
) -> Option<Finding> {
    let window = Window::ending_at(now, rule.window_hours);
    let views: Vec<SignalView<'a>> = slots
        .iter()
        .filter_map(|slot| {
            rule.signals
                .get(slot.signal)
                .map(|signal| view(signal, &slot.state, &window))
        })
        .collect();
    let mut primaries = views.iter().filter(|v| v.signal.role == Role::Primary);
    let fires = match rule.combine {
        Combine::Any => primaries.any(|v| v.present),
        Combine::All => primaries.all(|v| v.present),
    };
    if !fires {
        return None;
    }
    let (reasons, score) = capped(rule.tier, score(rule, &views, &window, context));
    Some(Finding {
        id: rule.id.clone(),
        title: rule.title.clone(),
        scenario: rule.scenario.clone(),
        tier: rule.tier,
        confidence: Confidence::from_score(score),
        score,
        reasons,
        evidence: evidence(&views, &window),
        signals: views
            .iter()
            .filter(|v| v.summary_worth_showing())
            .map(|v| v.summary.clone())
            .collect(),
        config: Vec::new(),
        parts: Vec::new(),
        window,
        explanation: rule.explanation.clone(),
        check_next: rule.check_next.clone(),
        source: rule.source.clone(),
        references: rule.references.clone(),
    })
}

impl SignalView<'_> {
    fn summary_worth_showing(&self) -> bool {
        self.state.total() > 0
    }
}

fn view<'a>(signal: &'a Signal, state: &'a SignalState, window: &Window) -> SignalView<'a> {
    let (in_window, older, newer) = match (window.start, window.end) {
        (Some(start), Some(end)) => {
            let in_window = state.count_between(start, end);
            let older = match start.checked_sub(jiff::SignedDuration::from_nanos(1)) {
                Ok(before) => state.count_between(Timestamp::MIN, before),
                Err(_) => 0,
            };
            (
                in_window,
                older,
                state.dated_total.saturating_sub(in_window + older),
            )
        }
        _ => (0, 0, 0),
    };
    let time_unknown = if window.end.is_some() {
        state.undated_total
    } else {
        state.total()
    };
    let newest = state
        .dated
        .iter()
        .filter_map(|c| c.event.time_created)
        .max();
    let (present, current, peak) = match signal.rate {
        None => (state.total() > 0, in_window > 0, None),
        Some(rate) => {
            let overall = state.peak(rate.within_minutes, None, None);
            let current = match (window.start, window.end) {
                (Some(s), Some(e)) => state.peak(rate.within_minutes, Some(s), Some(e)),
                _ => None,
            };
            let reached = |p: Option<(u64, Timestamp)>| {
                p.is_some_and(|(n, _)| n >= u64::from(rate.min_events))
            };
            let shown = if reached(current) { current } else { overall };
            let peak = shown.map(|(events, from)| Peak {
                events,
                within_minutes: rate.within_minutes,
                from,
                min_events: rate.min_events,
                in_window: reached(current),
            });
            (reached(overall), reached(current), peak)
        }
    };
    SignalView {
        signal,
        state,
        summary: SignalSummary {
            id: signal.id.clone(),
            label: signal.label.clone(),
            role: signal.role,
            provider: signal.provider.clone(),
            event_ids: signal.event_ids.clone(),
            in_window,
            older,
            newer,
            time_unknown,
            newest,
            peak,
        },
        present,
        current,
    }
}

/// A finding's first reason: the score its tier starts from.
fn base_reason(rule: &Rule) -> Reason {
    Reason {
        points: match rule.tier {
            Tier::Seed => 40,
            Tier::Documented => 35,
            Tier::Derived => 20,
        },
        text: match rule.tier {
            Tier::Seed => format!("{} of the source article", rule.scenario),
            Tier::Documented => format!(
                "{}: documented in a Microsoft troubleshooting article",
                rule.scenario
            ),
            Tier::Derived if rule.signals.is_empty() => format!(
                "{}: a configuration check from a derived source, not confirmed by a Microsoft article",
                rule.scenario
            ),
            Tier::Derived => format!(
                "{}: event IDs from a derived source, not confirmed by Microsoft",
                rule.scenario
            ),
        },
    }
}

fn score<'a>(
    rule: &Rule,
    views: &[SignalView<'_>],
    window: &Window,
    context: impl Fn(&str) -> Option<&'a str>,
) -> Vec<Reason> {
    let mut reasons = vec![base_reason(rule)];
    let hours = window.hours;
    for v in views.iter().filter(|v| v.present) {
        let weight = i16::from(v.signal.weight);
        let s = &v.summary;
        let (points, when) = if v.current {
            (weight, format!("in the {hours} hours before now"))
        } else if s.older > 0 && s.in_window == 0 {
            (
                weight / 2,
                format!("only before the {hours}-hour window (counts half)"),
            )
        } else if s.newer > 0 && s.in_window == 0 {
            (
                weight / 2,
                "only after the chosen \"now\" (counts half)".to_string(),
            )
        } else {
            (weight / 2, "with no usable time (counts half)".to_string())
        };
        let what = match s.peak {
            Some(p) => format!(
                "{} (peak {} events within {} minutes)",
                v.signal.label, p.events, p.within_minutes
            ),
            None => format!(
                "{}: {} ({})",
                v.signal.label,
                count_label(v),
                ids(&v.signal.event_ids)
            ),
        };
        let role = if v.signal.role == Role::Supporting {
            "supporting: "
        } else {
            ""
        };
        reasons.push(Reason {
            points,
            text: format!("{role}{what}, {when}"),
        });
        if let (Some(p), Some(rate)) = (s.peak, v.signal.rate) {
            let factor = p.events / u64::from(rate.min_events.max(1));
            let bonus = match factor {
                4.. => 10,
                2.. => 5,
                _ => 0,
            };
            if bonus > 0 {
                reasons.push(Reason {
                    points: bonus,
                    text: format!(
                        "the burst is {factor}× the threshold of {} in {} minutes",
                        rate.min_events, rate.within_minutes
                    ),
                });
            }
        }
        reasons.extend(condition_reasons(v));
    }
    let providers: BTreeSet<String> = views
        .iter()
        .filter(|v| v.present)
        .map(|v| matching::provider_key(&v.signal.provider))
        .collect();
    if providers.len() >= 2 {
        let names: Vec<&str> = views
            .iter()
            .filter(|v| v.present)
            .map(|v| v.signal.provider.as_str())
            .collect();
        reasons.push(Reason {
            points: AGREEMENT,
            text: format!("independent sources agree: {}", dedup(&names).join(" and ")),
        });
    }
    let current_primary: u64 = views
        .iter()
        .filter(|v| v.signal.role == Role::Primary && v.signal.rate.is_none())
        .map(|v| v.summary.in_window)
        .sum();
    if current_primary >= 3 {
        reasons.push(Reason {
            points: REPEATED,
            text: format!("repeated: {current_primary} events in the window"),
        });
    }
    for v in views.iter().filter(|v| v.present) {
        for doubt in &v.signal.doubts {
            let Some(by) = context(&doubt.context) else {
                continue;
            };
            let lifted = views
                .iter()
                .any(|o| o.present && doubt.unless.contains(&o.signal.id));
            if !lifted {
                reasons.push(Reason {
                    points: -i16::from(doubt.penalty),
                    text: format!("{} (seen: {by})", doubt.why),
                });
            }
        }
    }
    if !views
        .iter()
        .any(|v| v.signal.role == Role::Primary && v.current)
    {
        reasons.push(Reason {
            points: -NOT_CURRENT,
            text: match window.end {
                Some(_) => format!("no primary evidence in the {hours} hours before now: this may be an old problem"),
                None => "no time could be established, so nothing can be called current".to_string(),
            },
        });
    }
    reasons
}

fn condition_reasons(v: &SignalView<'_>) -> Vec<Reason> {
    let mut out = Vec::new();
    for (condition, tally) in v.signal.conditions.iter().zip(&v.state.tallies) {
        let ConditionTally {
            held,
            held_in_message,
            failed,
            unknown,
        } = *tally;
        // A required condition defines the signal: holding it earns nothing, only not being
        // able to check it costs. An optional one is extra evidence.
        let bonus = if condition.required { 0 } else { CONDITION };
        if held > 0 {
            out.push(Reason {
                points: bonus,
                text: format!("{}: confirmed in the event data", condition.label),
            });
        } else if held_in_message > 0 {
            out.push(Reason {
                points: bonus,
                text: format!(
                    "{}: found in the message text (the export carries no event data)",
                    condition.label
                ),
            });
        } else if unknown > 0 && failed == 0 {
            // Not knowing whether a defining condition holds (a text export cannot say
            // whether a Schannel credential was a server one) costs more than missing a
            // confirming detail.
            let cost = if condition.required {
                2 * CONDITION
            } else {
                CONDITION
            };
            out.push(Reason {
                points: -cost,
                text: format!("{}: could not be checked, the export carries neither the event data nor the value", condition.label),
            });
        } else if failed > 0 {
            out.push(Reason {
                points: 0,
                text: format!(
                    "{}: not seen; the events carry other values",
                    condition.label
                ),
            });
        }
    }
    out
}

fn evidence(views: &[SignalView<'_>], window: &Window) -> Vec<Evidence> {
    let mut out = Vec::new();
    for v in views.iter().filter(|v| v.present) {
        let mut dated = v.state.settled();
        dated.sort_by_key(|c| std::cmp::Reverse(c.event.time_created));
        let by_age = |age: Age| {
            dated
                .iter()
                .copied()
                .filter(move |c| window.age_of(c.event.time_created) == age)
        };
        let picked = by_age(Age::InWindow)
            .take(SHOW_IN_WINDOW)
            .chain(by_age(Age::Newer).take(SHOW_OUTSIDE))
            .chain(by_age(Age::Older).take(SHOW_OUTSIDE))
            .chain(by_age(Age::Unknown).take(SHOW_OUTSIDE))
            .chain(v.state.undated.iter().take(SHOW_OUTSIDE));
        out.extend(picked.map(|c| to_evidence(v.signal, c, window)));
    }
    out.truncate(SHOW_TOTAL);
    out
}

fn to_evidence(signal: &Signal, c: &Candidate, window: &Window) -> Evidence {
    let e = &c.event;
    Evidence {
        signal: signal.id.clone(),
        provider: e.provider.trim().to_string(),
        event_id: e.event_id,
        qualifiers: e.qualifiers,
        level: e.level,
        time: e.time_created,
        age: window.age_of(e.time_created),
        computer: e.computer.clone(),
        channel: e.channel.clone(),
        record_id: e.record_id,
        origin: e.origin.clone(),
        message_excerpt: e.message.clone(),
        checks: signal
            .conditions
            .iter()
            .zip(&c.checks)
            .map(|(cond, check)| CheckNote {
                label: cond.label.clone(),
                check: check.clone(),
            })
            .collect(),
    }
}

/// How many events the reason is about: those in the window when there are any.
fn count_label(v: &SignalView<'_>) -> String {
    let s = &v.summary;
    let n = if v.current {
        s.in_window
    } else {
        s.in_window + s.older + s.newer + s.time_unknown
    };
    if n == 1 {
        "1 event".to_string()
    } else {
        format!("{n} events")
    }
}

fn ids(ids: &[u16]) -> String {
    let list: Vec<String> = ids.iter().map(u16::to_string).collect();
    format!("ID {}", list.join("/"))
}

fn dedup<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    names
        .iter()
        .copied()
        .filter(|n| seen.insert(n.to_ascii_lowercase()))
        .collect()
}
