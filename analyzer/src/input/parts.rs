//! A text that holds several exports one after another — what several Run Command runs
//! returned, pasted into one box: where the format plainly changes, so that each part is
//! read in its own format (`sniff`).
//!
//! A part ends only where the next one's start cannot be its own text: outside a CSV's
//! quoted fields (a description may quote anything), after a closed `</Event>` in XML, and
//! not at the XML an Event Viewer copy puts after its `Event Xml:` label. A start of the
//! same format as the part it follows is the same export (the next `Event[N]:`), except a
//! second CSV header after rows.

use super::sniff::candidates;
use super::text::{Lines, block_header_number};
use super::{Format, csv, format_list, table, wevtutil_text, xml};

/// The format of export `lines[i]` plainly starts, if any; `after_xml` when the line before
/// closed an XML export's last event (a `Format-List` then needs no empty line before it:
/// `wevtutil /f:xml` ends without a line break, so the list's leading empty line ended it).
fn start_of(lines: Lines<'_>, i: usize, after_xml: bool) -> Option<Format> {
    let text = lines.get(i)?.text;
    if wevtutil_text::starts_export(text) {
        Some(Format::WevtutilText)
    } else if xml::starts_export(text) {
        Some(Format::Xml)
    } else if csv::starts_export(text) {
        Some(Format::Csv)
    } else if format_list::starts_export(lines, i)
        || (after_xml && format_list::starts_record(lines, i))
    {
        Some(Format::FormatList)
    } else if table::starts_export(lines, i) {
        Some(Format::Table)
    } else {
        None
    }
}

/// Whether `line` closes an XML export: it ends with `</Event>` (or `</Events>`), or with
/// one and then the console prompt that ran the next command — `wevtutil /f:xml` prints no
/// line break after its last event, so in a console the prompt follows on the same line.
fn closes_xml(line: &str) -> bool {
    let line = line.trim_end();
    let after = ["</Event>", "</Events>"]
        .iter()
        .filter_map(|end| line.rfind(end).map(|at| at + end.len()))
        .max();
    after.is_some_and(|at| {
        let rest = line.get(at..).unwrap_or_default();
        rest.is_empty() || format_list::is_prompt(rest)
    })
}

/// Whether a start of `next` after a part of `current` begins a new part; `prev` is the last
/// non-empty line before it, `records` how many records the current CSV part has so far.
fn opens(current: Format, next: Format, prev: &str, records: usize) -> bool {
    let prev = prev.trim_end();
    match (current, next) {
        // A second header after rows: another CSV (the `#TYPE` line's header is its own).
        (Format::Csv, Format::Csv) => records >= 2 && !prev.trim_start().starts_with("#TYPE "),
        (a, b) if a == b => false,
        (Format::Xml, _) => closes_xml(prev),
        // Event Viewer's copy puts the event's XML after an `Event Xml:` label (localised);
        // XML a description quotes after a label of its own (`Task Content:`) starts with
        // its declaration, and the `<Event` after that is the same quote.
        (Format::WevtutilText, Format::Xml) => {
            !prev.ends_with(':') && !prev.trim_start().starts_with("<?xml")
        }
        _ => true,
    }
}

/// Where the parts after the first start: indices into `lines`, ascending; empty when the
/// text is one export.
pub(crate) fn starts(text: &str, lines: Lines<'_>) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut kind: Option<Format> = None;
    let mut part = 0usize;
    let mut in_quotes = false;
    let mut records = 0usize;
    let mut prev: &str = "";
    // The last `Event[N]:` of the wevtutil text being read, and of the one the current part
    // was cut from (that part's start, its number).
    let mut numbered: Option<u64> = None;
    let mut cut_wevtutil: Option<(usize, u64)> = None;
    for (i, line) in lines.iter().enumerate() {
        let here: &str = line.text;
        if here.trim().is_empty() {
            continue;
        }
        let at_record = !(kind == Some(Format::Csv) && in_quotes);
        let after_xml = kind == Some(Format::Xml) && closes_xml(prev);
        if at_record && let Some(next) = start_of(lines, i, after_xml) {
            let current = kind.or_else(|| detected(text, lines, part, i));
            let number = block_header_number(here);
            match current {
                // A wevtutil text going on with the next event after another format's lines:
                // its description quoted them (a script block's expected output); `wevtutil`
                // numbers one run's events one by one, and a second run starts again at 0.
                Some(c)
                    if c != Format::WevtutilText
                        && next == Format::WevtutilText
                        && let Some((wevtutil_part, last)) = cut_wevtutil
                        && number.is_some_and(|n| last.checked_add(1) == Some(n)) =>
                {
                    cuts.pop();
                    part = wevtutil_part;
                    kind = Some(Format::WevtutilText);
                    cut_wevtutil = None;
                }
                Some(c) if opens(c, next, prev, records) => {
                    // Only the part right after a wevtutil text can be taken back into it.
                    cut_wevtutil = (c == Format::WevtutilText).then_some(part).zip(numbered);
                    // The prompt that ran the command goes with its output.
                    let at = prompt_before(lines, part, i).unwrap_or(i);
                    cuts.push(at);
                    part = at;
                    records = 0;
                    in_quotes = false;
                    kind = Some(next);
                }
                Some(c) => kind = Some(c),
                None => kind = Some(next),
            }
            numbered = if kind == Some(Format::WevtutilText) {
                number.or(numbered)
            } else {
                None
            };
        }
        if kind == Some(Format::Csv) {
            if !in_quotes {
                records += 1;
            }
            // `""` inside a quoted field toggles twice: parity is the quote state.
            if here.matches('"').count() % 2 == 1 {
                in_quotes = !in_quotes;
            }
        }
        prev = here;
    }
    cuts
}

/// The line of a console prompt (`PS C:\>…`, `C:\>…`) right before `lines[i]` (empty lines
/// between), after the part's first line.
fn prompt_before(lines: Lines<'_>, part: usize, i: usize) -> Option<usize> {
    let j = (part + 1..i)
        .rev()
        .find(|&j| lines.get(j).is_some_and(|l| !l.text.trim().is_empty()))?;
    lines
        .get(j)
        .is_some_and(|l| format_list::is_prompt(l.text))
        .then_some(j)
}

/// The format `lines[from..to]` shows by its features, as `sniff` judges a whole text.
fn detected(text: &str, lines: Lines<'_>, from: usize, to: usize) -> Option<Format> {
    let part = lines.slice(from, to)?;
    let start = part.first()?.start;
    let end = lines.get(to).map_or(text.len(), |l| l.start);
    let part_text = text.get(start..end)?;
    candidates(part_text, part)
        .into_iter()
        .find_map(|(format, detected)| detected.then_some(format))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::text::split_lines;

    fn cuts(text: &str) -> Vec<u32> {
        let all = split_lines(text);
        let lines = all.lines();
        starts(text, lines)
            .into_iter()
            .filter_map(|i| lines.get(i).map(|l| l.no))
            .collect()
    }

    const CSV: &str = "Level,Date and Time,Source,Event ID,Task Category\n\
        Error,12/7/2026 3:11:15 AM,Schannel,36871,None,\"A fatal error.\"\n";
    const WEVTUTIL: &str = "Event[0]:\n  Log Name: System\n  Source: Schannel\n  Event ID: 36870\n\
        \x20 Description:\nA fatal error.\n";
    const XML: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>\
        <System><Provider Name='Schannel'/><EventID>36871</EventID></System></Event>\n";
    const LIST: &str = "\nTimeCreated  : 12/7/2026 3:11:15 AM\nProviderName : Schannel\n\
        Id           : 36871\nMessage      : A fatal error.\n";

    #[test]
    fn each_change_of_format_starts_a_part() {
        assert_eq!(cuts(&format!("{CSV}\n{WEVTUTIL}")), [4]);
        assert_eq!(cuts(&format!("{WEVTUTIL}\n{CSV}")), [8]);
        assert_eq!(cuts(&format!("{XML}{WEVTUTIL}")), [2]);
        assert_eq!(cuts(&format!("{WEVTUTIL}\n{XML}")), [8]);
        assert_eq!(cuts(&format!("{CSV}{LIST}")), [4]);
        assert_eq!(cuts(&format!("{LIST}\n{XML}")), [7]);
        assert_eq!(cuts(&format!("{CSV}{CSV}")), [3]);
        assert_eq!(
            cuts(&format!("{XML}Log Name: System\nSource: Schannel\n")),
            [2]
        );
        // With the prompt that printed it.
        assert_eq!(
            cuts(&format!("{CSV}PS C:\\> Get-WinEvent | fl\n{LIST}")),
            [3]
        );
    }

    #[test]
    fn an_export_after_xml_with_no_line_break_is_a_part() {
        let xml = XML.trim_end();
        // In a console the next prompt follows `wevtutil /f:xml`'s last `</Event>`.
        let glued = format!("{xml}C:\\Windows\\system32>wevtutil qe System /f:text\n{WEVTUTIL}");
        assert_eq!(cuts(&glued), [2]);
        let glued = format!("{xml}PS C:\\> Get-WinEvent -LogName System | fl\n{LIST}");
        assert_eq!(cuts(&glued), [3]);
        // Saved one after the other: the list's leading empty line ended the XML's line.
        assert_eq!(cuts(&format!("{xml}{LIST}")), [2]);
        // Text after `</Event>` that is no prompt leaves the XML's line as it was.
        let tail = format!("{xml} and more\n{}", LIST.trim_start());
        assert_eq!(cuts(&tail), Vec::<u32>::new());
    }

    #[test]
    fn one_export_is_one_part() {
        for text in [WEVTUTIL, XML, LIST] {
            assert_eq!(cuts(&text.repeat(3)), Vec::<u32>::new(), "{text}");
        }
        let row = CSV.lines().nth(1).unwrap_or_default();
        assert_eq!(cuts(&format!("{CSV}{row}\n{row}\n")), Vec::<u32>::new());
        let typed = "#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\n\"Id\",\"ProviderName\"\n\"1\",\"a\"\n";
        assert_eq!(cuts(typed), Vec::<u32>::new());
    }

    #[test]
    fn what_a_field_quotes_is_not_a_start() {
        // A CSV description quoting a wevtutil event, XML and a Format-List record.
        let quoted = format!("{CSV}Error,x,Schannel,1,None,\"see\n{WEVTUTIL}{XML}{LIST}\"\n");
        assert_eq!(cuts(&quoted), Vec::<u32>::new());
        // Event Viewer's copy with its XML after `Event Xml:`.
        let copy = "Log Name:      System\nSource:        Schannel\nEvent ID:      36870\n\
            Description:\nA fatal error.\nEvent Xml:\n<Event xmlns=\"x\">\n  <System>\n  </System>\n</Event>\n";
        assert_eq!(cuts(copy), Vec::<u32>::new());
        // An XML data value on lines of its own.
        let data = "<Events><Event><System></System><EventData><Data>a\nEvent[0]:\nLevel,Date and Time,Source,Event ID\n</Data></EventData></Event></Events>\n";
        assert_eq!(cuts(data), Vec::<u32>::new());
    }
}
