//! One finding per cause: a finding resting on configuration alone joined to the event
//! finding of the same catalog `cause` on the same machine, and the joined one scored again.

use super::{AGREEMENT, SHOW_TOTAL, capped, rank};
use crate::rules::finding::{Confidence, Finding, Part, Reason};
use std::collections::BTreeSet;

/// One finding per cause: a finding that rests on configuration alone joins the finding of
/// a rule of the same catalog `cause` that rests on events, on the same machine
/// ([`same_machine`]) — the events and the configuration views of one problem. The better
/// ranked of the two leads (id, title, advice); the other's events, configuration values
/// and counts join it, its reasons follow the lead's at 0 points, and the score is the
/// higher of the two, +10 for events and configuration agreeing, within the lead's cap.
///
/// Only those pairs join. Two event findings of one cause are two problems (the MachineKeys
/// ACLs and an unusable custom certificate are both `certificate`, with different fixes,
/// and each a seed scenario of its own); two configuration findings of one cause on one
/// machine are two values wrong (RDP refused by policy *and* drain mode on), each with its
/// own steps, so neither joins, and the events stay apart from both. A configuration
/// finding joins the best ranked event finding of its cause that no other has joined.
/// Findings come back ranked.
pub(super) fn join_causes(catalog: &crate::rules::Catalog, findings: Vec<Finding>) -> Vec<Finding> {
    let causes: Vec<Option<String>> = findings
        .iter()
        .map(|f| catalog.rule(&f.id).and_then(|r| r.cause.clone()))
        .collect();
    let pairs = cause_pairs(&findings, &causes);
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    for &(lead, other) in &pairs {
        let other = slots.get_mut(other).and_then(Option::take);
        if let (Some(other), Some(Some(lead))) = (other, slots.get_mut(lead)) {
            join(lead, other);
            rescore(lead);
        }
    }
    let mut out: Vec<Finding> = slots.into_iter().flatten().collect();
    rank(&mut out);
    out
}

/// The (lead, joined) index pairs of [`join_causes`], over ranked `findings` and each
/// one's rule's cause.
fn cause_pairs(findings: &[Finding], causes: &[Option<String>]) -> Vec<(usize, usize)> {
    let config_only = |f: &Finding| f.signals.is_empty();
    let kin = |i: usize, j: usize| {
        i != j
            && matches!((causes.get(i), causes.get(j)), (Some(Some(a)), Some(Some(b))) if a == b)
            && matches!((findings.get(i), findings.get(j)), (Some(a), Some(b)) if same_machine(a, b))
    };
    let of_kind = |i: usize, config: bool| {
        findings
            .iter()
            .enumerate()
            .filter(move |&(j, f)| kin(i, j) && config_only(f) == config)
            .map(|(j, _)| j)
    };
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (i, finding) in findings.iter().enumerate() {
        if !config_only(finding) || of_kind(i, true).next().is_some() {
            continue;
        }
        let free = of_kind(i, false).find(|&j| !pairs.iter().any(|&(a, b)| a == j || b == j));
        if let Some(j) = free {
            pairs.push((i.min(j), i.max(j)));
        }
    }
    pairs
}

/// Whether two findings can be about one machine: the computers their events and
/// snapshots name (by host name, without case or DNS suffix) overlap, or one of them names
/// none. Events of one VM and a snapshot of another are two findings.
fn same_machine(a: &Finding, b: &Finding) -> bool {
    fn names(f: &Finding) -> BTreeSet<String> {
        let host = |n: &str| {
            n.split('.')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        };
        f.evidence
            .iter()
            .filter_map(|e| e.computer.as_deref())
            .chain(f.config.iter().map(|c| c.computer.as_str()))
            .map(host)
            .filter(|n| !n.is_empty())
            .collect()
    }
    let (x, y) = (names(a), names(b));
    x.is_empty() || y.is_empty() || !x.is_disjoint(&y)
}

/// What a finding rests on, as a part of a joined one.
fn part_of(f: &Finding) -> Part {
    Part {
        id: f.id.clone(),
        title: f.title.clone(),
        tier: f.tier,
        score: f.score,
        events: !f.signals.is_empty(),
        config: !f.config.is_empty(),
    }
}

/// Adds `other` (ranked after `lead`, of the same cause) to `lead`.
fn join(lead: &mut Finding, other: Finding) {
    if lead.parts.is_empty() {
        lead.parts.push(part_of(lead));
    }
    let part = part_of(&other);
    let rests_on = match (part.events, part.config) {
        (true, true) => "events and configuration",
        (false, true) => "configuration",
        _ => "events",
    };
    lead.reasons.push(Reason {
        points: 0,
        text: format!(
            "the same cause on its {rests_on}: {} ({}), {}/100 alone",
            other.title, other.id, other.score
        ),
    });
    // Its own reasons, past the tier's and the cap's, as what it saw: its points are in
    // the score it is taken at.
    lead.reasons.extend(
        other
            .reasons
            .into_iter()
            .skip(1)
            .filter(|r| !r.text.starts_with("capped at "))
            .map(|r| Reason {
                points: 0,
                text: match r.points {
                    0 => format!("{}: {}", other.id, r.text),
                    p => format!("{}: {} ({p:+} alone)", other.id, r.text),
                },
            }),
    );
    lead.evidence.extend(other.evidence);
    lead.evidence.truncate(SHOW_TOTAL);
    lead.signals.extend(other.signals);
    lead.config.extend(other.config);
    lead.parts.push(part);
}

/// A joined finding's score: at least its strongest part's, +10 when events and
/// configuration agree, within the lead's cap.
fn rescore(f: &mut Finding) {
    // The cap is set again over the whole.
    f.reasons.retain(|r| !r.text.starts_with("capped at "));
    let own: i16 = f.reasons.iter().map(|r| r.points).sum();
    let stronger = f
        .parts
        .iter()
        .skip(1)
        .filter(|p| i16::from(p.score) > own)
        .max_by_key(|p| p.score);
    if let Some(p) = stronger {
        f.reasons.push(Reason {
            points: i16::from(p.score) - own,
            text: format!(
                "at least as sure as its stronger part: {} scores {} alone",
                p.id, p.score
            ),
        });
    }
    if f.parts.iter().any(|p| p.events) && f.parts.iter().any(|p| p.config) {
        f.reasons.push(Reason {
            points: AGREEMENT,
            text: "the events and the configuration show the same cause".to_owned(),
        });
    }
    let (reasons, score) = capped(f.tier, std::mem::take(&mut f.reasons));
    f.reasons = reasons;
    f.score = score;
    f.confidence = Confidence::from_score(score);
}
