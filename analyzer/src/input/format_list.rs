//! PowerShell's `Format-List` of `Get-WinEvent` (`TimeCreated`, `ProviderName`, `Id`,
//! `Message`; all properties with `Format-List *`) or `Get-EventLog` (`Index`, `EntryType`,
//! `Source`, `EventID`/`InstanceId` …) objects. Records are separated by empty lines; each
//! line is `Name<padding>: value`, and a long or multi-line value continues on lines
//! indented to the value column. Property names are .NET names, never localised.

use super::LocalTimes;
use super::datetime::{DateOrder, parse_time};
use super::limits::{MAX_EVENT_BYTES, cap_field};
use super::normalise::{is_sid, parse_event_id, parse_level, value};
use super::report::{Dialect, IssueKind, IssueLocation};
use super::text::{Line, LineIndex, Lines};
use super::xml::is_no_time;
use super::{Format, Output};
use crate::event::{Event, Location, Origin};

/// Property names that mark an event record.
const EVENT_PROPERTIES: [&str; 8] = [
    "ProviderName",
    "Id",
    "TimeCreated",
    "LevelDisplayName",
    "EventID",
    "InstanceId",
    "EntryType",
    "TimeGenerated",
];

/// `Name   : value` → (name, value, value column). Names are .NET identifiers.
fn split_property(line: &str) -> Option<(&str, &str, usize)> {
    let colon = line.find(" :")?;
    let name = line.get(..colon)?.trim_end();
    let name_ok = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let after = line.get(colon + 2..)?;
    if !name_ok || !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    let value_col = colon + 3;
    Some((name, after.strip_prefix(' ').unwrap_or(after), value_col))
}

pub(crate) fn looks_like(lines: Lines<'_>) -> bool {
    let hits = lines
        .iter()
        .take(400)
        .filter_map(|l| split_property(l.text))
        .filter(|(name, _, _)| EVENT_PROPERTIES.contains(name))
        .count();
    hits >= 2
}

/// Whether the record starting at `lines[i]` plainly starts a `Format-List` of events: a
/// property at the line's start after an empty line (or none), and among the record's
/// first lines at least two event properties (where another export's text ends and a list
/// begins, see `parts`).
pub(crate) fn starts_export(lines: Lines<'_>, i: usize) -> bool {
    let after_empty = i
        .checked_sub(1)
        .is_none_or(|p| lines.get(p).is_none_or(|l| l.text.trim().is_empty()));
    after_empty && starts_record(lines, i)
}

/// Whether `lines[i]` starts a record of events, wherever it stands: a property at the
/// line's start, and among the record's first lines at least two event properties.
pub(crate) fn starts_record(lines: Lines<'_>, i: usize) -> bool {
    let starts = lines
        .get(i)
        .is_some_and(|l| !l.text.starts_with([' ', '\t']) && split_property(l.text).is_some());
    if !starts {
        return false;
    }
    lines
        .iter()
        .skip(i)
        .take(40)
        .take_while(|l| !l.text.trim().is_empty())
        .filter_map(|l| split_property(l.text))
        .filter(|(name, _, _)| EVENT_PROPERTIES.contains(name))
        .nth(1)
        .is_some()
}

/// One record's properties, in order, with the line each starts on.
#[derive(Debug, Default)]
struct Record {
    line: u32,
    start: usize,
    props: Vec<(String, String, u32)>,
    bytes: usize,
}

impl Record {
    fn is_event(&self) -> bool {
        self.props
            .iter()
            .any(|(n, _, _)| EVENT_PROPERTIES.contains(&n.as_str()))
    }

    /// Whether this record's properties are the last ones of `next`'s — every record of one
    /// `Format-List` shows the same properties — with the first of them possibly cut inside
    /// its name (`eCreated : …`): it is the end of a record whose start is missing.
    fn is_cut_end_of(&self, next: &Record) -> bool {
        let (Some(skip), Some(((first, _, _), rest))) = (
            next.props.len().checked_sub(self.props.len()),
            self.props.split_first(),
        ) else {
            return false;
        };
        let Some(((whole, _, _), whole_rest)) = next.props.get(skip..).and_then(<[_]>::split_first)
        else {
            return false;
        };
        (skip > 0 || first != whole)
            && whole.ends_with(first.as_str())
            && rest
                .iter()
                .map(|(n, _, _)| n)
                .eq(whole_rest.iter().map(|(n, _, _)| n))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v, _)| v.as_str())
    }
}

fn records<'a>(lines: Lines<'a>) -> impl Iterator<Item = Record> + 'a {
    let width = terminal_width(lines);
    let mut i = 0usize;
    std::iter::from_fn(move || {
        let mut rec = Record::default();
        let mut value_col = 0usize;
        // The line before ran to the terminal's width (and ended in a blank): the next
        // unindented line may be its rest.
        let mut cut: Option<bool> = None;
        while let Some(line) = lines.get(i) {
            i += 1;
            let text: &str = line.text;
            let was_cut = cut.take();
            if text.is_empty() {
                if rec.props.is_empty() {
                    continue;
                }
                break;
            }
            rec.bytes += text.len() + 1;
            cut = width
                .filter(|w| text.chars().count() == *w)
                .map(|_| text.ends_with(char::is_whitespace));
            match split_property(text) {
                Some((name, value, col))
                    if (rec.props.is_empty() || col == value_col || !text.starts_with(' '))
                        && (was_cut.is_none() || rec.props.is_empty() || col == value_col) =>
                {
                    if rec.props.is_empty() {
                        rec.line = line.no;
                        rec.start = line.start;
                    }
                    value_col = col;
                    if rec.bytes <= MAX_EVENT_BYTES {
                        rec.props
                            .push((name.to_owned(), value.trim_end().to_owned(), line.no));
                    }
                }
                _ => {
                    let continuation = text.starts_with(' ') || text.starts_with('\t');
                    match rec.props.last_mut() {
                        Some((_, value, _)) if continuation && rec.bytes <= MAX_EVENT_BYTES => {
                            value.push('\n');
                            value.push_str(
                                text.get(value_col.min(leading_spaces(text))..)
                                    .unwrap_or(text)
                                    .trim_end(),
                            );
                        }
                        // A terminal (not PowerShell, which indents) cut the line before at
                        // its width, wherever it was: the rest goes on where it stopped.
                        Some((_, value, _)) if rec.bytes <= MAX_EVENT_BYTES => {
                            if let Some(blank) = was_cut {
                                if blank {
                                    value.push(' ');
                                }
                                value.push_str(text.trim_end());
                            }
                        }
                        Some(_) => {}
                        // Text before any record: not part of the list.
                        None => rec.bytes = 0,
                    }
                }
            }
        }
        (!rec.props.is_empty()).then_some(rec)
    })
}

/// The width a terminal may have cut the list's lines at: the longest line's length, if 60
/// columns or more. Only an unindented line that is no property, right after a line of
/// that length, is taken for the rest of it: PowerShell indents the lines it wraps itself.
fn terminal_width(lines: Lines<'_>) -> Option<usize> {
    lines
        .iter()
        .map(|l| l.text.chars().count())
        .max()
        .filter(|m| *m >= 60)
}

fn leading_spaces(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

/// How the text's start shows a cut (Azure Run Command returns only the last 4,096 bytes of
/// output, wherever they begin).
#[derive(Debug, Default, PartialEq, Eq)]
struct CutStart {
    /// Non-empty lines before the first property: the rest of a cut line or of a value.
    remnant: Option<(u32, u32)>,
    /// The first record is the end of one: the remnant runs into it without the empty line
    /// that ends a record, or it lacks the first properties the next record has.
    first_record: bool,
}

impl CutStart {
    fn find(lines: Lines<'_>) -> CutStart {
        let first_property = lines
            .iter()
            .position(|l| split_property(l.text).is_some())
            .unwrap_or(lines.len());
        let before = lines.slice(0, first_property).unwrap_or(lines);
        let blank = |l: &Line<'_>| l.text.trim().is_empty();
        // Lines running into the first property, with no empty line between, are a cut line
        // of its record. Otherwise lines before the list are the rest of a record before it,
        // unless a prompt shows them to be the command that printed the list.
        let glued = before.iter().rev().take_while(|l| !blank(l)).count();
        let span = if glued > 0 {
            before.skip(before.len().saturating_sub(glued))
        } else if before.iter().any(|l| is_prompt(l.text)) || names_the_command(before) {
            before.skip(before.len())
        } else {
            before
        };
        let content = || span.iter().filter(|l| !blank(l));
        let remnant = content()
            .next()
            .zip(content().next_back())
            .map(|(a, b)| (a.no, b.no));
        let mut all = records(lines);
        let first = all.next();
        let lacks_leading = first
            .as_ref()
            .zip(all.next())
            .is_some_and(|(r0, r1)| r0.is_cut_end_of(&r1));
        CutStart {
            remnant,
            first_record: first.is_some() && (glued > 0 || lacks_leading),
        }
    }
}

/// Whether `lines` (before the list) are the rest of the command that printed it: a
/// terminal cut the prompt's line, a channel set the prompt aside, and what is left pipes
/// into `Format-List` (or `fl`) once its pieces are joined back.
fn names_the_command(lines: Lines<'_>) -> bool {
    let joined: String = lines
        .iter()
        .map(|l| l.text.trim_end().to_ascii_lowercase())
        .collect();
    joined.split('|').skip(1).any(|piped| {
        let command = piped.split_whitespace().next().unwrap_or_default();
        command == "format-list" || command == "fl"
    })
}

pub(crate) fn read(lines: Lines<'_>, index: &LineIndex, out: &mut Output<'_>) {
    let order = DateOrder::decide(
        records(lines)
            .filter_map(|r| {
                r.get("TimeCreated")
                    .or_else(|| r.get("TimeGenerated"))
                    .map(str::to_owned)
            })
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    let mut dialect = None;
    let mut local = LocalTimes::default();
    let cut = CutStart::find(lines);
    if let (Some((first, last)), false) = (cut.remnant, cut.first_record) {
        report_cut(
            out,
            first,
            format!("lines {first}–{last} are the end of a record"),
        );
    }
    let mut first_record = true;
    for rec in records(lines) {
        if out.tick(index.byte_progress(rec.start)).is_break() {
            return;
        }
        let at = Some(IssueLocation::Line { line: rec.line });
        if std::mem::take(&mut first_record) && cut.first_record {
            let what = match (
                rec.get("ProviderName").or_else(|| rec.get("Source")),
                rec.get("Id"),
            ) {
                (Some(p), Some(id)) => format!(" ({p} {id})"),
                _ => String::new(),
            };
            let first = cut.remnant.map_or(rec.line, |(first, _)| first);
            let span = format!(
                "lines {first}–{} are the end of a record{what}",
                last_line(&rec)
            );
            report_cut(out, first, span);
            continue;
        }
        if !rec.is_event() {
            continue;
        }
        if rec.bytes > MAX_EVENT_BYTES {
            out.skip_oversized(at, "this record", rec.bytes);
            continue;
        }
        let event_log = rec.get("EntryType").is_some() || rec.get("TimeGenerated").is_some();
        dialect.get_or_insert(if event_log {
            Dialect::EventLogFormatList
        } else {
            Dialect::FormatList
        });
        match record_event(&rec, order, out.input_name()) {
            Ok(event) => {
                local.note(&event, || at);
                out.emit(event);
            }
            Err(why) => {
                out.skip();
                out.report.error(
                    IssueKind::IncompleteEvent,
                    at,
                    format!("this record was skipped: {why}"),
                );
            }
        }
    }
    if let Some(d) = dialect {
        out.report.format = Some(Format::FormatList);
        out.report.dialect = Some(d);
    }
    out.report_local_times(local, " (PowerShell prints local time)");
}

/// `PS C:\…>` or `C:\…>`: a console's prompt, before the command that printed the list.
pub(crate) fn is_prompt(line: &str) -> bool {
    let l = line.trim_start();
    let l = l.strip_prefix("PS ").unwrap_or(l);
    l.get(1..3) == Some(":\\") && l.contains('>')
}

/// The line a record's last property starts on.
fn last_line(rec: &Record) -> u32 {
    rec.props.last().map_or(rec.line, |(_, _, line)| *line)
}

/// Reports the start of the text as cut, as the `wevtutil` and XML readers do; the record
/// it cut is not read (it would be an event without its time, or without its provider).
fn report_cut(out: &mut Output<'_>, line: u32, what: String) {
    out.cut_at_start(line, &what, "record", "Get-WinEvent -MaxEvents 5");
}

fn record_event(rec: &Record, order: DateOrder, input: &str) -> Result<Event, String> {
    properties_event(|name| rec.get(name), rec.line, order, input)
}

/// The event PowerShell showed as these properties (`get` looks one up by its .NET name) —
/// a `Format-List` record's, or a table's row ([`super::table`]) — placed at `line`.
pub(super) fn properties_event<'r>(
    get: impl Fn(&str) -> Option<&'r str>,
    line: u32,
    order: DateOrder,
    input: &str,
) -> Result<Event, String> {
    let provider = get("ProviderName")
        .or_else(|| get("Source"))
        .and_then(value)
        .map(|p| p.replace('\n', ""))
        .ok_or("it has no ProviderName (or Source)")?;
    let raw_id = get("Id")
        .or_else(|| get("EventID"))
        .or_else(|| get("InstanceId"))
        .ok_or("it has no Id (or EventID)")?;
    let id = parse_event_id(raw_id).ok_or_else(|| format!("Id {raw_id:?} is not a number"))?;
    let origin = Origin {
        input: input.to_owned(),
        location: Location::Line { line },
    };
    let mut event = Event::new(provider, id.id, origin);
    event.qualifiers = get("Qualifiers")
        .and_then(|q| q.trim().parse::<u16>().ok())
        .or(id.qualifiers)
        .or_else(|| {
            // Get-EventLog: InstanceId carries the qualifiers when EventID is shown apart.
            get("InstanceId")
                .and_then(parse_event_id)
                .filter(|i| i.id == id.id)
                .and_then(|i| i.qualifiers)
        });
    if let Some(t) = get("TimeCreated")
        .or_else(|| get("TimeGenerated"))
        .and_then(|t| parse_time(t, order))
        // A FILETIME of zero printed as a date is no time ([`is_no_time`]).
        .filter(|t| !is_no_time(t.ts))
    {
        event.time_created = Some(t.ts);
        event.time_is_local = t.local;
    }
    event.level = get("Level")
        .and_then(parse_level)
        .or_else(|| get("LevelDisplayName").and_then(parse_level))
        .or_else(|| get("EntryType").and_then(parse_level));
    event.record_id = get("RecordId")
        .or_else(|| get("Index"))
        .and_then(|r| r.trim().parse().ok());
    event.channel = get("LogName").and_then(value);
    event.computer = get("MachineName").and_then(value);
    if let Some(user) = get("UserId").or_else(|| get("UserName")).and_then(value) {
        if is_sid(&user) {
            event.user_sid = Some(user);
        } else {
            event.user_name = Some(user);
        }
    }
    if let Some(mut m) = get("Message")
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
    {
        cap_field(&mut m);
        event.message = Some(m);
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_padded_properties() {
        assert_eq!(
            split_property("Id           : 1058"),
            Some(("Id", "1058", 15))
        );
        assert_eq!(split_property("Message      : "), Some(("Message", "", 15)));
        assert_eq!(split_property("Message      :"), Some(("Message", "", 15)));
        assert_eq!(split_property("Log Name: System"), None);
        assert_eq!(split_property("               continued: text"), None);
    }

    fn rec(names: &[&str]) -> Record {
        Record {
            props: names
                .iter()
                .map(|n| ((*n).to_owned(), String::new(), 1))
                .collect(),
            ..Record::default()
        }
    }

    #[test]
    fn a_record_missing_the_first_properties_of_the_next_is_cut() {
        let whole = rec(&["TimeCreated", "ProviderName", "Id", "Message"]);
        assert!(rec(&["ProviderName", "Id", "Message"]).is_cut_end_of(&whole));
        assert!(rec(&["eCreated", "ProviderName", "Id", "Message"]).is_cut_end_of(&whole));
        assert!(rec(&["age"]).is_cut_end_of(&whole));
        assert!(!rec(&["TimeCreated", "ProviderName", "Id", "Message"]).is_cut_end_of(&whole));
        assert!(!rec(&["ProviderName", "Id"]).is_cut_end_of(&whole));
        assert!(!rec(&["Index", "EntryType", "Source"]).is_cut_end_of(&whole));
        assert!(!rec(&[]).is_cut_end_of(&whole));
    }
}
