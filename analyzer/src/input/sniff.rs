//! Which text format an input is, from its content: features first (an `Event[N]:` header,
//! an `<Event` element, a CSV header row, `Name : value` property lists), then each
//! parser in turn until one reads something. What was tried is kept for the report. A text
//! that holds several exports one after another is cut where the format plainly changes
//! (`parts`) and each part read so.

use super::report::{Attempt, InputReport, IssueKind, IssueLocation, TextPart};
use super::text::{LineIndex, Lines, TextLines, rejoin_wrapped};
use super::{
    Format, Output, channel, config, csv, evidence, format_list, parts, table, wevtutil_text, xml,
};

pub(crate) fn read_text(text: &str, out: &mut Output<'_>) {
    // What Run Command and Serial Console wrap around an export is set aside first.
    let unwrapped = channel::unwrap(text);
    if let Some(u) = &unwrapped {
        for (line, note) in &u.notes {
            out.report.info(
                IssueKind::Wrapper,
                Some(IssueLocation::Line { line: *line }),
                note.clone(),
            );
        }
    }
    let text = unwrapped.as_ref().map_or(text, |u| u.text.as_str());
    // `RDPFIX-EVIDENCE` blocks are read next; whatever was pasted around them is read as
    // any other text (their lines blanked, so line numbers stay true).
    let rest = evidence::read(text, out);
    // `RDPFIX-CONFIG` snapshots likewise (the collection script prints one beside the events).
    let configs = config::read(rest.as_deref().unwrap_or(text), out);
    let had_blocks = rest.is_some() || configs.is_some();
    let rest = configs.or(rest);
    let text = match &rest {
        Some(rest) if rest.trim().is_empty() => return,
        Some(rest) => rest.as_str(),
        None => text,
    };
    let all = TextLines::new(text, out.report.bytes);
    let index = all.index();
    let lines = all.lines();
    let starts = parts::starts(text, lines);
    if starts.is_empty() {
        read_part(text, 0, lines, index, had_blocks, out);
        return;
    }
    // Several exports one after another: each part read in its own format, its lines and
    // offsets those of the whole text.
    let bounds: Vec<usize> = starts
        .iter()
        .filter_map(|&i| lines.get(i).map(|l| l.start))
        .chain([text.len()])
        .collect();
    let mut cuts: Vec<usize> = starts.iter().map(|&i| i.min(lines.len())).collect();
    cuts.push(lines.len());
    let mut found = Vec::new();
    let mut base = 0;
    let mut from = 0;
    for (to, end) in cuts.into_iter().zip(bounds) {
        let part = lines
            .slice(from, to)
            .unwrap_or_else(|| lines.skip(lines.len()));
        from = to;
        let (Some(first_line), Some(last_line)) = (
            part.first().map(|l| l.no),
            part.iter()
                .rev()
                .find(|l| !l.text.trim().is_empty())
                .map(|l| l.no),
        ) else {
            continue;
        };
        let part_text = text.get(base..end).unwrap_or_default();
        let part_base = base;
        base = end;
        let before = out.report.events;
        let format = read_part(part_text, part_base, part, index, had_blocks, out);
        if out.report.cancelled {
            return;
        }
        match format {
            Some(format) => found.push(TextPart {
                format,
                dialect: out.report.dialect,
                first_line,
                last_line,
                events: out.report.events - before,
            }),
            None if !had_blocks => out.report.warning(
                IssueKind::Unrecognised,
                Some(IssueLocation::Line { line: first_line }),
                format!(
                    "lines {first_line}–{last_line} are not an event log export this reader \
                     knows; they were not read"
                ),
            ),
            None => {}
        }
    }
    if found.len() < 2 {
        return;
    }
    if let Some(first) = found.first() {
        out.report.format = Some(first.format);
        out.report.dialect = first.dialect;
    }
    let listed: Vec<String> = found
        .iter()
        .map(|p| {
            let name = p
                .dialect
                .map_or_else(|| p.format.to_string(), |d| d.to_string());
            format!(
                "lines {}–{}: {name}, {} events",
                p.first_line, p.last_line, p.events
            )
        })
        .collect();
    out.report.info(
        IssueKind::SeveralExports,
        None,
        format!(
            "this text holds {} exports one after another, each read in its own format ({})",
            found.len(),
            listed.join("; ")
        ),
    );
    out.report.parts = found;
}

/// Reads one export (the whole text, or one part of it starting at byte `base`): each
/// format in turn until one reads something; returns the format that did.
fn read_part(
    text: &str,
    base: usize,
    lines: Lines<'_>,
    index: &LineIndex,
    had_blocks: bool,
    out: &mut Output<'_>,
) -> Option<Format> {
    // A CSV's records are long lines, often all of one length (Export-Csv writes the same
    // columns for every event), and its quoted fields span lines by design: that is the
    // signature of a console's wrapping, and joining would glue each record's first line to
    // the one before. A CSV is read as it is.
    // A table's rows are cut by PowerShell itself at one width (never wrapped): many end
    // there, which would look the same.
    let joined = if csv::looks_like(lines) || table::looks_like(lines) {
        None
    } else {
        rejoin_wrapped(lines)
    };
    let as_they_are = lines;
    let lines = joined.as_deref().map_or(lines, Lines::of);
    for (format, detected) in candidates(text, lines) {
        // Beside evidence blocks, only text that looks like an export is read: a line of
        // other output must not be taken for a damaged event.
        if had_blocks && !detected {
            continue;
        }
        let before = out.report.clone();
        match format {
            Format::WevtutilText => wevtutil_text::read(lines, index, out),
            Format::Xml => xml::read(text, base, as_they_are, index, out),
            Format::Csv => csv::read(lines, index, out),
            Format::FormatList => format_list::read(lines, index, out),
            Format::Table => table::read(lines, index, out),
            Format::Evtx
            | Format::EvidenceBlock
            | Format::ConfigSnapshot
            | Format::Zip
            | Format::RegistryHive => continue,
        }
        // A format recognised by its features owns the input even when nothing in it could
        // be read (the report says why); one merely tried must read something.
        let found =
            out.report.events > before.events || (detected && out.report.skipped > before.skipped);
        if out.report.cancelled || found {
            return found.then_some(format);
        }
        restore(out, before, format);
    }
    None
}

/// Undoes an attempt that found nothing, remembering that it was tried.
fn restore(out: &mut Output<'_>, before: InputReport, format: Format) {
    let why_not = why_not(format).to_owned();
    out.report = before;
    out.report.tried.push(Attempt { format, why_not });
}

fn why_not(format: Format) -> &'static str {
    match format {
        Format::WevtutilText => "no Event[N]: blocks or labelled event fields (Source, Event ID …)",
        Format::Xml => "no <Event> element with a <System> part",
        Format::Csv => "no header row with event columns and rows below it",
        Format::FormatList => "no `Name : value` records with Id and ProviderName (or Source)",
        Format::Table => {
            "no table header of event properties (TimeCreated, Id …) over a dashes line"
        }
        Format::Evtx => "no ElfFile signature",
        Format::EvidenceBlock => "no RDPFIX-EVIDENCE line",
        Format::ConfigSnapshot => "no RDPFIX-CONFIG line",
        Format::Zip => "no zip signature",
        Format::RegistryHive => "no regf signature",
    }
}

/// Formats to try, most likely first, and whether its features were seen; every text
/// format is tried in the end.
pub(crate) fn candidates(text: &str, lines: Lines<'_>) -> Vec<(Format, bool)> {
    let first = lines
        .iter()
        .map(|l| l.text.trim())
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let mut order = Vec::with_capacity(4);
    if first.starts_with('<') && xml::looks_like_event_xml(text) {
        order.push(Format::Xml);
    }
    // A text that starts with `Event[0]:` is a wevtutil text, whatever its descriptions
    // quote (a script block's Format-List output).
    if wevtutil_text::starts_export(first) {
        order.push(Format::WevtutilText);
    }
    if csv::looks_like(lines) {
        order.push(Format::Csv);
    }
    if format_list::looks_like(lines) {
        order.push(Format::FormatList);
    }
    if table::looks_like(lines) {
        order.push(Format::Table);
    }
    if wevtutil_text::looks_like(lines) {
        order.push(Format::WevtutilText);
    }
    if xml::looks_like_event_xml(text) {
        order.push(Format::Xml);
    }
    let mut seen = Vec::new();
    order.retain(|f| {
        let new = !seen.contains(f);
        seen.push(*f);
        new
    });
    let mut all: Vec<(Format, bool)> = order.iter().map(|f| (*f, true)).collect();
    for f in [
        Format::WevtutilText,
        Format::Xml,
        Format::Csv,
        Format::FormatList,
        Format::Table,
    ] {
        if !order.contains(&f) {
            all.push((f, false));
        }
    }
    all
}
