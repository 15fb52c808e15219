//! The verdict: which finding is most likely and why, in words an admin reads last.

use super::coverage::{Hint, HintKind};
use crate::rules::finding::{Confidence, Finding, Window};
use serde::{Deserialize, Serialize};

/// The finding to act on first, and why it is ranked first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MostLikely {
    pub id: String,
    pub title: String,
    pub confidence: Confidence,
    pub score: u8,
    pub why: String,
}

/// Picks the most likely finding (findings are ranked already) and explains the choice.
pub fn most_likely(findings: &[Finding]) -> Option<MostLikely> {
    let first = findings.first()?;
    let mut why = format!(
        "{} confidence ({}/100): {}",
        first.confidence.as_str(),
        first.score,
        strongest_reasons(first).join("; ")
    );
    match findings.get(1) {
        Some(second) if second.score + 10 >= first.score && second.tier == first.tier => why.push_str(&format!(
            ". {} is close ({}/100): both may hold; fix {} first, then diagnose again",
            second.id, second.score, first.id
        )),
        Some(second) if second.tier > first.tier && second.score > first.score => why.push_str(&format!(
            ". {} scores higher ({}/100) but comes from a less certain source, so it is ranked after",
            second.id, second.score
        )),
        Some(_) => why.push_str(&format!(". {} other finding(s) rank lower", findings.len() - 1)),
        None => {}
    }
    Some(MostLikely {
        id: first.id.clone(),
        title: first.title.clone(),
        confidence: first.confidence,
        score: first.score,
        why,
    })
}

/// The reasons that added most, strongest first (at most three).
fn strongest_reasons(f: &Finding) -> Vec<String> {
    let mut positive: Vec<_> = f.reasons.iter().skip(1).filter(|r| r.points > 0).collect();
    positive.sort_by_key(|r| std::cmp::Reverse(r.points));
    positive
        .into_iter()
        .take(3)
        .map(|r| r.text.clone())
        .collect()
}

/// The last line of a report: the verdict in one sentence. With nothing found, a hint
/// that logon auditing may be off is said here too: no failed logon is not "healthy".
pub fn summary(
    findings: &[Finding],
    most_likely: Option<&MostLikely>,
    window: &Window,
    events: u64,
    rules: usize,
    hints: &[Hint],
) -> String {
    match most_likely {
        Some(m) => {
            let others = findings.len().saturating_sub(1);
            let also = if others == 0 {
                String::new()
            } else {
                format!(" ({others} more finding(s) above)")
            };
            format!(
                "most likely: {} ({}), {} confidence{also}",
                m.id,
                m.title,
                m.confidence.as_str()
            )
        }
        None => {
            let range = match (window.start, window.end) {
                (Some(s), Some(e)) => format!("between {s} and {e}"),
                _ => "at any time (no time could be established)".to_string(),
            };
            let auditing = if hints.iter().any(|h| h.kind == HintKind::LogonAuditing) {
                "; the Security log holds no failed logon (4625), so logon auditing may be off and refused logons could not show"
            } else {
                ""
            };
            format!(
                "no documented RDP failure found: {rules} rules looked {range} in {events} events{auditing}; see what was looked for and the hints about missing logs"
            )
        }
    }
}
