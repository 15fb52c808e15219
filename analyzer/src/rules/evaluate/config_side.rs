//! A rule's configuration side: its `[[rule.config]]` conditions checked on the
//! configuration snapshots, and its finding from its events, its configuration or both.

use super::{base_reason, capped};
use crate::config::ConfigSnapshot;
use crate::rules::catalog::{Combine, Role, Rule};
use crate::rules::finding::{Confidence, ConfigEvidence, Finding, Reason, Window};
use jiff::Timestamp;
use std::collections::BTreeSet;

/// What a rule's configuration conditions found on the snapshots.
pub(super) struct ConfigSide {
    /// Its primary conditions hold (combined as the rule says) on some snapshot.
    fires: bool,
    reasons: Vec<Reason>,
    evidence: Vec<ConfigEvidence>,
}

pub(super) fn config_side(
    rule: &Rule,
    compiled: &[crate::rules::config_condition::CompiledCondition],
    snapshots: &[&ConfigSnapshot],
    now: Option<Timestamp>,
) -> Option<ConfigSide> {
    let mut side = ConfigSide {
        fires: false,
        reasons: Vec::new(),
        evidence: Vec::new(),
    };
    if !rule.configs.iter().any(|c| c.role == Role::Primary) {
        return None;
    }
    let mut counted = BTreeSet::new();
    for snapshot in snapshots {
        let held: Vec<_> = compiled
            .iter()
            .filter_map(|c| {
                let spec = rule.configs.get(c.index)?;
                let h = c.check(snapshot, now);
                (!h.is_empty()).then_some((c, spec, h))
            })
            .collect();
        let mut primaries = compiled.iter().filter(|c| {
            rule.configs
                .get(c.index)
                .is_some_and(|s| s.role == Role::Primary)
        });
        let fires = match rule.combine {
            Combine::Any => primaries.any(|c| held.iter().any(|(h, _, _)| h.index == c.index)),
            Combine::All => primaries.all(|c| held.iter().any(|(h, _, _)| h.index == c.index)),
        };
        if !fires {
            continue;
        }
        side.fires = true;
        for (c, spec, holds) in held {
            for h in holds {
                let source = h.section.source();
                let subject = h
                    .subject
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                let at = match h.line {
                    Some(line) => format!(", line {line}"),
                    None => String::new(),
                };
                if counted.insert(c.index) {
                    side.reasons.push(Reason {
                        points: i16::from(spec.weight),
                        text: format!(
                            "{}: {} = {} under {source}{subject} on {}{at}",
                            spec.label, c.name, h.value, snapshot.computer
                        ),
                    });
                }
                let mut origin = snapshot.origin.clone();
                if let Some(line) = h.line {
                    origin.location = crate::Location::Line { line };
                }
                side.evidence.push(ConfigEvidence {
                    condition: spec.id.clone(),
                    label: spec.label.clone(),
                    role: spec.role,
                    computer: snapshot.computer.clone(),
                    source: source.to_owned(),
                    name: c.name.to_owned(),
                    subject: h.subject,
                    value: h.value,
                    origin,
                    taken: snapshot.taken,
                });
            }
        }
    }
    side.fires.then_some(side)
}

/// A rule's finding from its event side, its configuration side, or both.
pub(super) fn merge(
    rule: &Rule,
    events: Option<Finding>,
    config: Option<ConfigSide>,
    now: Option<Timestamp>,
) -> Option<Finding> {
    let Some(config) = config else {
        return events;
    };
    let mut finding = events.unwrap_or_else(|| Finding {
        id: rule.id.clone(),
        title: rule.title.clone(),
        scenario: rule.scenario.clone(),
        tier: rule.tier,
        confidence: Confidence::Low,
        score: 0,
        // The tier's starting score, as for a finding on events.
        reasons: vec![base_reason(rule)],
        evidence: Vec::new(),
        signals: Vec::new(),
        config: Vec::new(),
        parts: Vec::new(),
        window: Window::ending_at(now, rule.window_hours),
        explanation: rule.explanation.clone(),
        check_next: rule.check_next.clone(),
        source: rule.source.clone(),
        references: rule.references.clone(),
    });
    // The cap's own reason is set again over the whole.
    finding
        .reasons
        .retain(|r| !r.text.starts_with("capped at "));
    finding.reasons.extend(config.reasons);
    finding.config = config.evidence;
    let (reasons, score) = capped(rule.tier, std::mem::take(&mut finding.reasons));
    finding.reasons = reasons;
    finding.score = score;
    finding.confidence = Confidence::from_score(score);
    Some(finding)
}
