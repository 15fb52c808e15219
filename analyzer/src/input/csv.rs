//! Delimited exports: Event Viewer's "Save as CSV" and "Text (Tab delimited)" (header
//! `Level,Date and Time,Source,Event ID,Task Category`, the description as an unnamed sixth
//! column), and PowerShell's `Export-Csv` of `Get-WinEvent` or `Get-EventLog` objects (with
//! or without the `#TYPE` line, `,` or a culture's `;`). Quoted fields may span lines.
//!
//! PowerShell's headers are .NET property names and never localised; Event Viewer's are.
//! Unknown headers are read by position in Event Viewer's fixed column order, after
//! checking each column's shape (the event ID column holds numbers).

use super::LocalTimes;
use super::datetime::{DateOrder, is_ambiguous, parse_time};
use super::labels::{Field, field_for_label};
use super::limits::{MAX_EVENT_BYTES, cap_field};
use super::normalise::{is_sid, parse_event_id, parse_level, value};
use super::report::{Dialect, IssueKind, IssueLocation};
use super::text::{LineIndex, Lines};
use super::xml::is_no_time;
use super::{Format, Output};
use crate::event::{Event, Location, Origin};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Provider,
    EventId,
    /// Get-EventLog's 32-bit `InstanceId`: the ID when no `EventID` column exists.
    InstanceId,
    Qualifiers,
    Time,
    Level,
    LevelName,
    RecordId,
    Channel,
    Computer,
    UserSid,
    UserName,
    Message,
    Other,
}

/// PowerShell property names (never localised) and Event Viewer's English headers.
fn role_for_header(header: &str) -> Option<Role> {
    let role = match header.trim().to_ascii_lowercase().as_str() {
        "providername" | "source" => Role::Provider,
        "id" | "eventid" | "event id" => Role::EventId,
        "instanceid" => Role::InstanceId,
        "qualifiers" => Role::Qualifiers,
        "timecreated" | "timegenerated" | "date and time" => Role::Time,
        "level" => Role::Level,
        "leveldisplayname" | "entrytype" => Role::LevelName,
        "recordid" | "index" => Role::RecordId,
        "logname" => Role::Channel,
        "machinename" => Role::Computer,
        "userid" => Role::UserSid,
        "username" => Role::UserName,
        "message" => Role::Message,
        "version"
        | "task"
        | "opcode"
        | "keywords"
        | "providerid"
        | "processid"
        | "threadid"
        | "activityid"
        | "relatedactivityid"
        | "containerlog"
        | "matchedqueryids"
        | "bookmark"
        | "opcodedisplayname"
        | "taskdisplayname"
        | "keywordsdisplaynames"
        | "properties"
        | "task category"
        | "category"
        | "categorynumber"
        | "data"
        | "replacementstrings"
        | "timewritten"
        | "site"
        | "container" => Role::Other,
        _ => {
            // Event Viewer's headers in other languages, where known.
            return match field_for_label(header)? {
                Field::Source => Some(Role::Provider),
                Field::EventId => Some(Role::EventId),
                Field::Level => Some(Role::LevelName),
                Field::Date => Some(Role::Time),
                Field::Task => Some(Role::Other),
                _ => None,
            };
        }
    };
    Some(role)
}

/// Event Viewer's CSV columns, in order; the sixth has no header.
const EVENT_VIEWER_COLUMNS: [Role; 6] = [
    Role::LevelName,
    Role::Time,
    Role::Provider,
    Role::EventId,
    Role::Other,
    Role::Message,
];

pub(crate) fn looks_like(lines: Lines<'_>) -> bool {
    let mut rows = lines
        .iter()
        .map(|l| l.text.trim())
        .filter(|t| !t.is_empty());
    let Some(first) = rows.next() else {
        return false;
    };
    if first.starts_with("#TYPE ") {
        return true;
    }
    let Some(delimiter) = detect_delimiter(first) else {
        return false;
    };
    let headers = split_simple(first, delimiter);
    let known = headers
        .iter()
        .filter(|h| role_for_header(h).is_some())
        .count();
    known >= 2 || (headers.len() >= 5 && rows.next().is_some_and(|r| r.contains(delimiter)))
}

/// Whether `line`, alone, is plainly the start of a delimited export: a `#TYPE` line, or a
/// header row naming at least two event columns (where another export's text ends and a
/// CSV begins, see `parts`).
pub(crate) fn starts_export(line: &str) -> bool {
    let t = line.trim();
    if t.starts_with("#TYPE ") {
        return true;
    }
    // Most lines have no two delimiters: no fields to split.
    if t.matches([',', '\t', ';']).nth(1).is_none() {
        return false;
    }
    // A PowerShell line naming properties (`$e | Select-Object TimeCreated,Id,… |
    // Export-Csv …`, as a script block event quotes the collection script) is not a header:
    // no column name holds a pipe, a variable, braces or an assignment.
    if t.contains(['|', '$', '{', '}', '=']) {
        return false;
    }
    detect_delimiter(t).is_some_and(|d| {
        split_simple(t, d)
            .iter()
            .filter(|h| role_for_header(h).is_some())
            .count()
            >= 2
    })
}

fn detect_delimiter(header: &str) -> Option<char> {
    [',', '\t', ';']
        .into_iter()
        .map(|d| (d, split_simple(header, d).len()))
        .filter(|(_, n)| *n >= 3)
        .max_by_key(|(_, n)| *n)
        .map(|(d, _)| d)
}

/// Splits one physical line (no multi-line quotes) for sniffing headers.
fn split_simple(line: &str, delimiter: char) -> Vec<String> {
    let mut rec = RecordParser::new(delimiter);
    rec.feed(line);
    rec.fields
}

/// Parses one record, possibly over several lines.
struct RecordParser {
    delimiter: char,
    fields: Vec<String>,
    field: String,
    in_quotes: bool,
    quoted: bool,
    /// Inside quotes, the previous char was a quote (either an escaped `""` or the close).
    quote_pending: bool,
    bytes: usize,
}

impl RecordParser {
    fn new(delimiter: char) -> RecordParser {
        RecordParser {
            delimiter,
            fields: Vec::new(),
            field: String::new(),
            in_quotes: false,
            quoted: false,
            quote_pending: false,
            bytes: 0,
        }
    }

    /// Feeds one line; returns true when the record is complete at its end.
    fn feed(&mut self, line: &str) -> bool {
        self.bytes += line.len() + 1;
        for c in line.chars() {
            if self.in_quotes {
                if self.quote_pending {
                    self.quote_pending = false;
                    if c == '"' {
                        self.field.push('"');
                        continue;
                    }
                    self.in_quotes = false;
                    // Falls through to handle `c` outside quotes.
                } else if c == '"' {
                    self.quote_pending = true;
                    continue;
                } else {
                    self.field.push(c);
                    continue;
                }
            }
            if c == self.delimiter {
                self.end_field();
            } else if c == '"' && self.field.is_empty() && !self.quoted {
                self.in_quotes = true;
                self.quoted = true;
            } else {
                self.field.push(c);
            }
        }
        if self.in_quotes && self.quote_pending {
            // A closing quote at the end of the line.
            self.in_quotes = false;
            self.quote_pending = false;
        }
        if self.in_quotes {
            self.field.push('\n');
            false
        } else {
            self.end_field();
            true
        }
    }

    fn end_field(&mut self) {
        let field = std::mem::take(&mut self.field);
        self.fields.push(if self.quoted {
            field
        } else {
            field.trim().to_owned()
        });
        self.quoted = false;
    }
}

/// One record: its first line and its fields; `None` fields when it never ended.
struct Record {
    line: u32,
    start: usize,
    fields: Vec<String>,
    complete: bool,
    bytes: usize,
}

/// Records of `lines` from `from` on.
fn records<'a>(lines: Lines<'a>, delimiter: char) -> impl Iterator<Item = Record> + 'a {
    let mut i = 0usize;
    std::iter::from_fn(move || {
        while lines.get(i).is_some_and(|l| l.text.trim().is_empty()) {
            i += 1;
        }
        let first = lines.get(i)?;
        let mut rec = RecordParser::new(delimiter);
        let mut complete = false;
        while let Some(line) = lines.get(i) {
            i += 1;
            if rec.bytes > MAX_EVENT_BYTES {
                // Keep consuming the runaway record's lines without storing them.
                if !line.text.contains('"') {
                    continue;
                }
            }
            if rec.feed(line.text) {
                complete = true;
                break;
            }
        }
        if !complete {
            rec.end_field();
        }
        Some(Record {
            line: first.no,
            start: first.start,
            bytes: rec.bytes,
            fields: rec.fields,
            complete,
        })
    })
}

pub(crate) fn read(lines: Lines<'_>, index: &LineIndex, out: &mut Output<'_>) {
    let mut body = lines;
    let mut typed = None;
    while let Some((first, rest)) = body.split_first() {
        let t = first.text.trim();
        if t.is_empty() {
            body = rest;
        } else if let Some(ty) = t.strip_prefix("#TYPE ") {
            typed = Some(ty.trim().to_owned());
            body = rest;
        } else {
            break;
        }
    }
    let Some(header_line) = body.first() else {
        return;
    };
    let Some(delimiter) = detect_delimiter(header_line.text) else {
        return;
    };
    let mut all = records(body, delimiter);
    let Some(header) = all.next() else { return };
    let Some(columns) = columns(&header.fields, body, delimiter) else {
        return;
    };
    let dialect = dialect(&columns, typed.as_deref(), delimiter);
    let time_col = columns.iter().position(|r| *r == Role::Time);
    let times: Vec<String> = records(body, delimiter)
        .skip(1)
        .filter_map(|r| time_col.and_then(|c| r.fields.get(c).cloned()))
        .collect();
    let order = DateOrder::decide(times.iter().map(String::as_str));
    if order == DateOrder::Unknown && times.iter().any(|t| is_ambiguous(t)) {
        out.report.info(
            IssueKind::AmbiguousTime,
            None,
            "no date shows whether day or month comes first; day first was assumed unless \
             the times carry AM/PM"
                .to_owned(),
        );
    }
    out.report.format = Some(Format::Csv);
    out.report.dialect = Some(dialect);
    let positional = header
        .fields
        .iter()
        .any(|h| role_for_header(h).is_none() && !h.trim().is_empty());
    if positional && dialect != Dialect::ExportCsv && dialect != Dialect::EventLogExportCsv {
        out.report.info(
            IssueKind::PositionalFields,
            Some(IssueLocation::Line { line: header.line }),
            format!(
                "headers {:?} were read by their position in Event Viewer's column order",
                header.fields
            ),
        );
    }
    let mut local = LocalTimes::default();
    for record in all {
        if out.tick(index.byte_progress(record.start)).is_break() {
            return;
        }
        let at = Some(IssueLocation::Line { line: record.line });
        if record.bytes > MAX_EVENT_BYTES {
            out.skip_oversized(at, "this row", record.bytes);
            continue;
        }
        if !record.complete {
            out.skip();
            out.report.truncated = true;
            out.report.error(
                IssueKind::Truncated,
                at,
                "the input ends inside a quoted field of this row: it looks cut short, and the \
                 row was not read"
                    .to_owned(),
            );
            continue;
        }
        match row_event(&record, &columns, order, delimiter, out.input_name()) {
            Ok(event) => {
                local.note(&event, || at);
                out.emit(event);
            }
            Err(why) => {
                out.skip();
                out.report.error(
                    IssueKind::Malformed,
                    at,
                    format!("this row was skipped: {why}"),
                );
            }
        }
    }
    out.report_local_times(local, " (Event Viewer and PowerShell write local time)");
}

/// Each column's role: by header when known, else Event Viewer's order, checked against
/// the data (the event ID column must hold numbers).
fn columns(headers: &[String], body: Lines<'_>, delimiter: char) -> Option<Vec<Role>> {
    let named: Vec<Option<Role>> = headers.iter().map(|h| role_for_header(h)).collect();
    // Event Viewer's five columns (a sixth, the description, has no header): known by
    // their English names, or by position and shape in other languages. The Security log
    // has Keywords ("Audit Failure") where the other logs have Level.
    let level_first = matches!(
        named.first(),
        Some(Some(Role::Level | Role::LevelName) | None)
    ) || headers
        .first()
        .is_some_and(|h| h.trim().eq_ignore_ascii_case("keywords"));
    let date_source_id = matches!(named.get(1), Some(Some(Role::Time) | None))
        && matches!(named.get(2), Some(Some(Role::Provider) | None))
        && matches!(named.get(3), Some(Some(Role::EventId)));
    if (5..=6).contains(&headers.len()) && level_first && date_source_id {
        return Some(EVENT_VIEWER_COLUMNS.to_vec());
    }
    let has = |role: Role| named.contains(&Some(role));
    if (has(Role::Provider) && (has(Role::EventId) || has(Role::InstanceId)))
        || named.iter().filter(|r| r.is_some()).count() >= 4
    {
        return Some(named.iter().map(|r| r.unwrap_or(Role::Other)).collect());
    }
    if !(5..=6).contains(&headers.len()) {
        return None;
    }
    let sample: Vec<Record> = records(body, delimiter).skip(1).take(20).collect();
    let ids_numeric = !sample.is_empty()
        && sample
            .iter()
            .all(|r| r.fields.get(3).is_some_and(|f| parse_event_id(f).is_some()));
    ids_numeric.then(|| EVENT_VIEWER_COLUMNS.to_vec())
}

fn dialect(columns: &[Role], typed: Option<&str>, delimiter: char) -> Dialect {
    let event_log = typed.is_some_and(|t| t.contains("EventLogEntry"));
    if event_log || (columns.contains(&Role::InstanceId) && !columns.contains(&Role::Qualifiers)) {
        Dialect::EventLogExportCsv
    } else if typed.is_some() || columns != EVENT_VIEWER_COLUMNS {
        Dialect::ExportCsv
    } else if delimiter == '\t' {
        Dialect::EventViewerTabs
    } else {
        Dialect::EventViewerCsv
    }
}

fn row_event(
    record: &Record,
    columns: &[Role],
    order: DateOrder,
    delimiter: char,
    input: &str,
) -> Result<Event, String> {
    let get = |role: Role| -> Option<&str> {
        let i = columns.iter().position(|r| *r == role)?;
        record.fields.get(i).map(String::as_str)
    };
    if record.fields.len() < 2 {
        return Err(format!(
            "it has {} field, not a row of events",
            record.fields.len()
        ));
    }
    let provider = get(Role::Provider)
        .and_then(value)
        .ok_or("it has no source (provider)")?;
    let raw_id = get(Role::EventId)
        .or_else(|| get(Role::InstanceId))
        .ok_or("it has no event ID")?;
    let id =
        parse_event_id(raw_id).ok_or_else(|| format!("event ID {raw_id:?} is not a number"))?;
    let origin = Origin {
        input: input.to_owned(),
        location: Location::Line { line: record.line },
    };
    let mut event = Event::new(provider, id.id, origin);
    event.qualifiers = get(Role::Qualifiers)
        .and_then(|q| q.trim().parse::<u16>().ok())
        .or(id.qualifiers)
        .or_else(|| {
            // Get-EventLog: the 32-bit InstanceId carries the qualifiers EventID drops.
            get(Role::InstanceId)
                .and_then(parse_event_id)
                .filter(|i| i.id == id.id)
                .and_then(|i| i.qualifiers)
        });
    // A FILETIME of zero printed as a date is no time ([`is_no_time`]).
    if let Some(t) = get(Role::Time)
        .and_then(|t| parse_time(t, order))
        .filter(|t| !is_no_time(t.ts))
    {
        event.time_created = Some(t.ts);
        event.time_is_local = t.local;
    }
    event.level = get(Role::Level)
        .and_then(parse_level)
        .or_else(|| get(Role::LevelName).and_then(parse_level));
    event.record_id = get(Role::RecordId).and_then(|r| r.trim().parse().ok());
    event.channel = get(Role::Channel).and_then(value);
    event.computer = get(Role::Computer).and_then(value);
    if let Some(sid) = get(Role::UserSid).and_then(value).filter(|s| is_sid(s)) {
        event.user_sid = Some(sid);
    }
    if let Some(name) = get(Role::UserName).and_then(value) {
        if is_sid(&name) {
            event.user_sid = Some(name);
        } else {
            event.user_name = Some(name);
        }
    }
    let message = match columns.iter().position(|r| *r == Role::Message) {
        // Event Viewer's description may contain unquoted delimiters: take the rest.
        Some(i) if i + 1 == columns.len() => record
            .fields
            .get(i..)
            .map(|rest| rest.join(&delimiter.to_string())),
        Some(i) => record.fields.get(i).cloned(),
        None => None,
    };
    if let Some(mut m) = message
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
    fn quoted_fields_with_delimiters_quotes_and_newlines() {
        let mut rec = RecordParser::new(',');
        assert!(!rec.feed(r#""a,b","say ""hi""","line one"#));
        assert!(rec.feed(r#"line two",3"#));
        assert_eq!(
            rec.fields,
            vec!["a,b", "say \"hi\"", "line one\nline two", "3"]
        );
    }

    #[test]
    fn empty_and_trailing_fields() {
        let mut rec = RecordParser::new(',');
        assert!(rec.feed("a,,\"\","));
        assert_eq!(rec.fields, vec!["a", "", "", ""]);
    }

    fn read_csv(text: &str) -> (Vec<Event>, crate::input::InputReport) {
        let mut events = Vec::new();
        let report = crate::input::read_bytes("t.csv", text.as_bytes(), &mut events, &mut |_| {
            std::ops::ControlFlow::Continue(())
        });
        (events, report)
    }

    #[test]
    fn security_log_with_keywords_first_keeps_the_description() {
        // Event Viewer's "Save as CSV" of the Security log: Keywords, not Level, first.
        let text = "Keywords,Date and Time,Source,Event ID,Task Category\r\n\
            Audit Failure,5/14/2024 8:00:05 AM,Microsoft-Windows-Security-Auditing,4625,\
            Logon,\"An account failed to log on.\r\n\r\nLogon Type:\t\t\t10\r\n\
            \tStatus:\t\t\t0xC000015B\"\r\n";
        let (events, report) = read_csv(text);
        assert_eq!(events.len(), 1, "{report:?}");
        let message = events[0].message.as_deref().unwrap_or_default();
        assert!(message.contains("0xC000015B"), "{message:?}");
        assert_eq!(report.dialect, Some(Dialect::EventViewerCsv));
    }

    #[test]
    fn equal_length_records_are_not_taken_for_console_wrapping() {
        // Export-Csv writes the same columns for every event: with multi-line messages, the
        // last line of each record is often exactly as long as the others, the signature
        // of a console wrapping its output. Every record must still be read.
        let header = "\"Message\",\"Id\",\"ProviderName\",\"TimeCreated\",\"LogName\"";
        let mut text =
            format!("#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\r\n{header}\r\n");
        for i in 0..20 {
            text.push_str(&format!(
                "\"An account failed to log on.\r\n\r\n\tSource Port:\t\t{:02}\",\"4625\",\
                 \"Microsoft-Windows-Security-Auditing\",\"5/14/2024 7:30:{:02} AM\",\"Security\"\r\n",
                i, i
            ));
        }
        let (events, report) = read_csv(&text);
        assert_eq!(events.len(), 20, "{report:?}");
    }

    #[test]
    fn header_names_are_case_insensitive() {
        assert_eq!(role_for_header("ProviderName"), Some(Role::Provider));
        assert_eq!(role_for_header("Event ID"), Some(Role::EventId));
        assert_eq!(role_for_header("Quelle"), Some(Role::Provider));
        assert_eq!(role_for_header("Datum und Uhrzeit"), None);
    }
}
