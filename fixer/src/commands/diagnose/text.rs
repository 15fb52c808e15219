//! The text of `fixer diagnose`: short enough that Azure Run Command's last 4,096 bytes hold
//! all of it, with the verdict last (what a truncated tail keeps).

use crate::report::ascii_lines;
use analyzer::diagnose::coverage::{Ignored, Seen};
use analyzer::diagnose::{Diagnosis, NowSource};
use analyzer::input::IssueLocation;
use analyzer::rules::{Age, Confidence, Evidence, Finding};
use jiff::Timestamp;
use std::fmt::Write;

/// Run Command returns the last 4,096 bytes of output; leave room for a trailing newline and
/// anything the shell adds.
pub const MAX_BYTES: usize = 4_000;

/// How much detail a rendering carries; the first that fits [`MAX_BYTES`] is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Detail {
    evidence_lines: usize,
    reasons: usize,
    check_next: usize,
    hint_commands: bool,
    max_findings: usize,
    looked_for: bool,
}

const DETAILS: [Detail; 4] = [
    Detail {
        evidence_lines: 3,
        reasons: 4,
        check_next: 3,
        hint_commands: true,
        max_findings: 4,
        looked_for: true,
    },
    Detail {
        evidence_lines: 2,
        reasons: 3,
        check_next: 2,
        hint_commands: true,
        max_findings: 3,
        looked_for: false,
    },
    Detail {
        evidence_lines: 1,
        reasons: 2,
        check_next: 1,
        hint_commands: false,
        max_findings: 2,
        looked_for: false,
    },
    Detail {
        evidence_lines: 1,
        reasons: 1,
        check_next: 1,
        hint_commands: false,
        max_findings: 1,
        looked_for: false,
    },
];

/// Renders a diagnosis as ASCII console text of at most [`MAX_BYTES`] (log text outside
/// ASCII is escaped, so a console cannot be garbled).
pub fn render(d: &Diagnosis) -> String {
    render_within(d, MAX_BYTES)
}

/// [`render`] in at most `max` bytes (what a heading before it leaves).
pub fn render_within(d: &Diagnosis, max: usize) -> String {
    let mut last = String::new();
    for detail in DETAILS {
        last = ascii_lines(&render_with(d, detail));
        if last.len() <= max {
            return last;
        }
    }
    // Still too long (very long names): keep the end, which holds the verdict.
    let cut = last.len().saturating_sub(max);
    let start = (cut..last.len())
        .find(|i| last.is_char_boundary(*i))
        .unwrap_or(last.len());
    format!("...{}", last.get(start..).unwrap_or_default())
}

fn render_with(d: &Diagnosis, detail: Detail) -> String {
    let mut out = String::new();
    inputs(&mut out, d);
    scope(&mut out, d);
    if d.findings.is_empty() {
        nothing_found(&mut out, d, detail);
    } else {
        let _ = writeln!(out, "\nFindings ({}), most likely first:", d.findings.len());
        for (i, f) in d.findings.iter().take(detail.max_findings).enumerate() {
            finding(&mut out, i + 1, f, detail);
        }
        if d.findings.len() > detail.max_findings {
            let _ = writeln!(
                out,
                "  ... {} more (use --json for all)",
                d.findings.len() - detail.max_findings
            );
        }
    }
    hints(&mut out, d, detail);
    verdict(&mut out, d);
    out
}

fn inputs(out: &mut String, d: &Diagnosis) {
    let plural = if d.inputs.len() == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "rdpfix diagnose {} ({} input{plural})",
        d.analyzer_version,
        d.inputs.len()
    );
    for i in &d.inputs {
        let format = i
            .format_names()
            .unwrap_or_else(|| "unrecognised".to_string());
        let _ = write!(out, "  {}: {format}, {}", i.name, count(i.events, "event"));
        if i.errors > 0 || i.skipped > 0 {
            let _ = write!(out, ", {}, {} skipped", count(i.errors, "error"), i.skipped);
        }
        out.push('\n');
        if let Some(issue) = i.issues.first() {
            let at = match issue.at {
                Some(IssueLocation::Line { line }) => format!("line {line}: "),
                Some(IssueLocation::LineColumn { line, column }) => {
                    format!("line {line}, column {column}: ")
                }
                Some(IssueLocation::Byte { offset }) => format!("byte {offset}: "),
                Some(IssueLocation::Chunk { chunk, .. }) => format!("chunk {chunk}: "),
                Some(IssueLocation::Record {
                    chunk, record_id, ..
                }) => match record_id {
                    Some(id) => format!("record {id}: "),
                    None => format!("chunk {chunk}: "),
                },
                None => String::new(),
            };
            let _ = writeln!(out, "    {at}{}", clip(&issue.message, 150));
        }
    }
}

fn scope(out: &mut String, d: &Diagnosis) {
    let source = match d.now_source {
        NowSource::Given => "given",
        NowSource::NewestEvent => "newest event; set with --now",
        NowSource::Unknown => "no event has a time",
    };
    match d.now {
        Some(now) => {
            let _ = writeln!(
                out,
                "Now: {} ({source}); window: the {} hours before it",
                ts(now),
                d.window.hours
            );
        }
        None => {
            let _ = writeln!(out, "Now: unknown ({source})");
        }
    }
    let range = match (d.oldest, d.newest) {
        (Some(o), Some(n)) => format!(" from {} to {}", ts(o), ts(n)),
        _ => String::new(),
    };
    let _ = writeln!(out, "Read: {}{range}", count(d.events, "event"));
    let names = |seen: &[Seen]| {
        seen.iter()
            .take(4)
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !d.computers.is_empty() {
        let _ = writeln!(out, "Computers: {}", names(&d.computers));
    }
    if !d.channels.is_empty() {
        let _ = writeln!(out, "Logs: {}", names(&d.channels));
    }
}

fn finding(out: &mut String, n: usize, f: &Finding, detail: Detail) {
    let _ = writeln!(
        out,
        "[{n}] {} ({}) {} - {} confidence ({}/100)",
        f.id,
        f.scenario,
        f.title,
        level(f.confidence),
        f.score
    );
    let in_window: u64 = f.signals.iter().map(|s| s.in_window).sum();
    let older: u64 = f.signals.iter().map(|s| s.older).sum();
    let _ = writeln!(
        out,
        "    evidence: {in_window} in the window, {older} older"
    );
    for e in f.evidence.iter().take(detail.evidence_lines) {
        let _ = writeln!(out, "      {}", evidence_line(e));
    }
    // The first reason is the rule's source (its base score): the rest say what was seen.
    let mut reasons: Vec<_> = f.reasons.iter().skip(1).collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.points.abs()));
    for r in reasons.into_iter().take(detail.reasons) {
        let _ = writeln!(out, "    {:+} {}", r.points, clip(&r.text, 140));
    }
    for (i, c) in f.check_next.iter().take(detail.check_next).enumerate() {
        let _ = writeln!(out, "    next {}: {}", i + 1, clip(c, 160));
    }
}

fn evidence_line(e: &Evidence) -> String {
    let when = e.time.map(ts).unwrap_or_else(|| "time unknown".to_string());
    let age = match e.age {
        Age::InWindow => "",
        Age::Older => " (older)",
        Age::Newer => " (after now)",
        Age::Unknown => "",
    };
    let place = e.origin.location;
    format!(
        "{when}{age} {} {} on {} [{} {place}]",
        e.provider,
        e.event_id,
        e.computer.as_deref().unwrap_or("?"),
        e.origin.input
    )
}

fn nothing_found(out: &mut String, d: &Diagnosis, detail: Detail) {
    let _ = writeln!(out, "\nNo documented RDP failure found. Looked for:");
    if detail.looked_for {
        // Rules of configuration conditions only: one line for all (they read a snapshot).
        let config_only: Vec<&str> = d
            .looked_for
            .iter()
            .filter(|l| l.signals.is_empty())
            .map(|l| l.rule.as_str())
            .collect();
        for l in d.looked_for.iter().filter(|l| !l.signals.is_empty()) {
            let ids: Vec<String> = l
                .signals
                .iter()
                .flat_map(|s| s.event_ids.iter().map(u16::to_string))
                .collect();
            let present = match l.channels_present {
                Some(false) => " - its log was not in the inputs",
                _ => "",
            };
            let _ = writeln!(
                out,
                "  {} ({}): IDs {}{present}",
                l.rule,
                l.scenario,
                ids.join("/")
            );
        }
        if !config_only.is_empty() {
            let snapshot = if d.inputs.iter().any(|i| !i.configs.is_empty()) {
                ""
            } else {
                " - none was in the inputs"
            };
            let _ = writeln!(
                out,
                "  {} rules on an RDPFIX-CONFIG configuration snapshot (rdp-config-*){snapshot}",
                config_only.len()
            );
        }
    } else {
        let _ = writeln!(
            out,
            "  {} rules (use --json for the list)",
            d.looked_for.len()
        );
    }
    let ignored: u64 = d
        .looked_for
        .iter()
        .flat_map(|l| &l.signals)
        .flat_map(|s| &s.ignored)
        .map(|i| match i {
            Ignored::OtherProvider { count, .. }
            | Ignored::OtherChannel { count }
            | Ignored::ConditionFailed { count, .. } => *count,
        })
        .sum();
    if ignored > 0 {
        let _ = writeln!(
            out,
            "  {ignored} events had a right ID but were set aside (another provider, log or status); see --json"
        );
    }
}

fn hints(out: &mut String, d: &Diagnosis, detail: Detail) {
    if d.hints.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nAbout the inputs:");
    let mut made_dir = false;
    for h in &d.hints {
        let _ = writeln!(out, "  - {}", clip(&h.text, 400));
        if detail.hint_commands {
            // The export folder is made once, before the first export that needs it.
            for c in &h.commands {
                if c.starts_with("mkdir ") {
                    if made_dir {
                        continue;
                    }
                    made_dir = true;
                }
                let _ = writeln!(out, "      {c}");
            }
        }
    }
}

fn verdict(out: &mut String, d: &Diagnosis) {
    let _ = writeln!(out, "\nVERDICT: {}", d.verdict);
    if let Some(m) = &d.most_likely {
        let _ = writeln!(out, "  why: {}", clip(&m.why, 400));
    }
    let _ = writeln!(out, "  evidence sha256: {}", d.evidence_sha256);
}

fn level(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "HIGH",
        Confidence::Medium => "MEDIUM",
        Confidence::Low => "LOW",
    }
}

fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// At most `max` characters, whitespace collapsed, `...` when cut (ASCII, unlike the
/// analyzer's excerpts).
fn clip(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(3)).collect();
    format!("{}...", cut.trim_end())
}

/// `n` and `noun`, plural unless one.
fn count(n: impl Into<u64>, noun: &str) -> String {
    match n.into() {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}
