//! Label-and-value event text: `wevtutil qe /f:text` (`Event[N]:` blocks, two-space
//! indented fields, the description on the lines after `Description:`), Event Viewer's
//! "Copy details as text" (the same labels without the header, maybe followed by
//! `Event Xml:`), and the Microsoft article's rendering (`**Event ID:** 1058 <br />`) or its
//! plain copy.
//!
//! Windows localises the labels but never their order, so a block is read by label when the
//! label is known (see `labels`) and by position otherwise: `wevtutil` always prints Log
//! Name, Source, Date, Event ID, Task, Level, Opcode, Keyword, User, User Name, Computer,
//! Description; Event Viewer the same without Opcode and User Name.

use std::borrow::Cow;
use std::collections::HashMap;

use super::LocalTimes;
use super::datetime::{DateOrder, parse_time};
use super::labels::{EVENT_VIEWER_ORDER, Field, WEVTUTIL_ORDER, field_for_label};
use super::limits::{MAX_EVENT_BYTES, MAX_FIELD_CHARS, cap_field};
use super::normalise::{channel, is_placeholder, is_sid, parse_event_id, parse_level, value};
use super::report::{Dialect, IssueKind, IssueLocation};
use super::text::{LineIndex, Lines, block_header_number};
use super::xml::{event_from_xml, is_no_time};
use super::{Format, Output};
use crate::event::{Event, Location, Origin};

/// Whether the lines look like label-and-value event text: an `Event[N]:` header, or at
/// least three lines with known labels among the first few hundred.
pub(crate) fn looks_like(lines: Lines<'_>) -> bool {
    let mut known = 0;
    for line in lines.iter().take(400) {
        if block_header_number(line.text).is_some() {
            return true;
        }
        let stripped = strip_markup(line.text);
        if let Some((label, _)) = split_field(&stripped.text)
            && field_for_label(label).is_some_and(|f| f != Field::Date)
        {
            known += 1;
        }
    }
    known >= 3
}

/// Whether `line`, alone, plainly starts label-and-value event text: an `Event[N]:` header,
/// or the first label of an Event Viewer copy (`Log Name:`, localised) at the line's start
/// (where another export's text ends and this one begins, see `parts`).
pub(crate) fn starts_export(line: &str) -> bool {
    block_header_number(line).is_some()
        || (!line.starts_with(char::is_whitespace)
            && split_field(line)
                .is_some_and(|(label, _)| field_for_label(label) == Some(Field::LogName)))
}

/// A line with the article's markup (`**Label:**`, `<br />`, `> ` quotes) taken off.
struct Stripped<'a> {
    /// The line itself when it had nothing to take off (most lines of a real export: no
    /// copy per line).
    text: Cow<'a, str>,
    had_markup: bool,
}

fn strip_markup(line: &str) -> Stripped<'_> {
    let mut s = line.trim_end();
    let mut had_markup = false;
    if let Some(rest) = s.trim_start().strip_prefix('>') {
        s = rest;
        had_markup = true;
    }
    // Bold labels (`**Event ID:**`) start the line; `**` elsewhere is data ("Miami.****").
    let bold = s.trim_start().starts_with("**");
    if !bold && !s.contains('&') && line_break_at_end(s).is_none() {
        return Stripped {
            text: Cow::Borrowed(s),
            had_markup,
        };
    }
    let mut text = if bold {
        had_markup = true;
        s.replacen("**", "", 2)
    } else {
        s.to_owned()
    };
    if text.contains('&') {
        text = text.replace("&nbsp;", " ");
    }
    while let Some(at) = line_break_at_end(&text) {
        text.truncate(at);
        had_markup = true;
    }
    text.truncate(text.trim_end().len());
    Stripped {
        text: Cow::Owned(text),
        had_markup,
    }
}

/// Where a `<br />` (any spelling, any case) ending `text` (trailing whitespace aside)
/// starts.
fn line_break_at_end(text: &str) -> Option<usize> {
    let trimmed = text.trim_end().as_bytes();
    ["<br />", "<br/>", "<br>", "</br>"].iter().find_map(|tag| {
        let at = trimmed.len().checked_sub(tag.len())?;
        trimmed
            .get(at..)?
            .eq_ignore_ascii_case(tag.as_bytes())
            .then_some(at)
    })
}

/// `Label: value` → (label, value). The label ends at the first colon followed by a space
/// or the end of the line; it is short, starts with a letter and holds no markup. A known
/// label may also be glued to its value (`Aufgabenkategorie:Integrität`, seen in a real
/// German copy).
fn split_field(line: &str) -> Option<(&str, &str)> {
    let indent = line.len() - line.trim_start().len();
    if indent > 8 {
        return None;
    }
    let body = line.trim_start();
    let mut search = 0;
    let mut first_colon = None;
    let colon = loop {
        let Some(at) = body
            .get(search..)
            .and_then(|b| b.find(':'))
            .map(|i| search + i)
        else {
            // No colon before a space: a known label glued to its value, or nothing.
            let at = first_colon?;
            let label = body.get(..at)?;
            field_for_label(label)?;
            break at;
        };
        first_colon.get_or_insert(at);
        let next = body.get(at + 1..)?.chars().next();
        if next.is_none_or(char::is_whitespace) {
            break at;
        }
        search = at + 1;
    };
    let label = body.get(..colon)?.trim_end();
    let value = body.get(colon + 1..)?.trim();
    let ok = !label.is_empty()
        && label.chars().count() <= 40
        && label.split_whitespace().count() <= 4
        && label.chars().next().is_some_and(char::is_alphabetic)
        && !label.contains(['<', '>', '\\', '/', '=', '"', '[', '(', '{'])
        && !label.contains("  ");
    ok.then_some((label, value))
}

/// One event's lines.
struct Block<'a> {
    /// The `Event[N]:` line, when there is one.
    header: Option<(u32, u64)>,
    first_line: u32,
    start: usize,
    /// Its lines, borrowed from the stripped lines (no copy per line).
    lines: Vec<(u32, &'a str)>,
    bytes: usize,
    /// The lines before the first block, not a block: what they hold (no lines kept).
    preamble: Option<Preamble>,
}

pub(crate) fn read(lines: Lines<'_>, index: &LineIndex, out: &mut Output<'_>) {
    out.report.format = Some(Format::WevtutilText);
    let headed = lines.iter().any(|l| block_header_number(l.text).is_some());
    // Only the lines with markup are stripped into copies, once; the others are read
    // where they lie, as often as needed (a copy of every line was a large export's peak).
    let mut had_markup = false;
    let mut marked: Vec<(usize, String)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let s = strip_markup(l.text);
        // Only marked-up fields make the article's layout (a quoted note does not).
        had_markup |= s.had_markup && split_field(&s.text).is_some();
        if let Cow::Owned(text) = s.text {
            marked.push((i, text));
        }
    }
    let stripped = StrippedLines::new(lines, &marked);
    out.report.dialect = Some(if headed {
        Dialect::WevtutilText
    } else if had_markup {
        Dialect::ArticleText
    } else {
        Dialect::EventViewerText
    });
    let order = DateOrder::decide(date_samples(stripped.clone()));
    let mut blocks = Blocks::new(stripped, headed).peekable();
    let preamble = blocks
        .next_if(|b| b.preamble.is_some())
        .and_then(|b| b.preamble)
        .unwrap_or_default();
    report_preamble(&preamble, headed, out);
    let layout: &[Field] = if headed {
        &WEVTUTIL_ORDER
    } else {
        &EVENT_VIEWER_ORDER
    };
    let mut stats = Stats::default();
    let mut previous_number: Option<u64> = None;
    while let Some(block) = blocks.next() {
        if out.tick(index.byte_progress(block.start)).is_break() {
            return;
        }
        if let (Some((line, n)), Some(prev)) = (block.header, previous_number)
            && n > prev + 1
        {
            out.report.warning(
                IssueKind::Truncated,
                Some(IssueLocation::Line { line }),
                format!(
                    "events Event[{}] to Event[{}] are missing before this one (lost in the \
                     copy, or scrolled out of the console)",
                    prev + 1,
                    n - 1
                ),
            );
        }
        previous_number = block.header.map(|(_, n)| n);
        let last = blocks.peek().is_none();
        read_block(block, layout, order, last, &mut stats, out);
    }
    stats.report(out);
}

#[derive(Debug, Default)]
struct Stats {
    positional: Vec<String>,
    local: LocalTimes,
    undated: u64,
}

impl Stats {
    fn report(self, out: &mut Output<'_>) {
        if !self.positional.is_empty() {
            out.report.info(
                IssueKind::PositionalFields,
                None,
                format!(
                    "labels {} were not recognised and were read by their position in the \
                     fixed field order",
                    self.positional.join(", ")
                ),
            );
        }
        out.report_local_times(
            self.local,
            " (older wevtutil and Event Viewer print local time)",
        );
        if self.undated > 0 {
            out.report.info(
                IssueKind::BadValue,
                None,
                format!("{} events show no date; they have no time", self.undated),
            );
        }
    }
}

/// Each line's (number, start, text with the article's markup taken off): the line where it
/// lies, or its stripped copy from `marked` (by index into the lines, ascending).
#[derive(Clone)]
struct StrippedLines<'a> {
    lines: Lines<'a>,
    at: usize,
    marked: &'a [(usize, String)],
}

impl<'a> StrippedLines<'a> {
    fn new(lines: Lines<'a>, marked: &'a [(usize, String)]) -> Self {
        StrippedLines {
            lines,
            at: 0,
            marked,
        }
    }
}

impl<'a> Iterator for StrippedLines<'a> {
    type Item = (u32, usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.at;
        let line = self.lines.get(i)?;
        self.at += 1;
        let text = match self.marked.split_first() {
            Some(((at, copy), rest)) if *at == i => {
                self.marked = rest;
                copy.as_str()
            }
            _ => match strip_markup(line.text).text {
                Cow::Borrowed(text) => text,
                // Every line stripped into a copy is in `marked`.
                Cow::Owned(_) => "",
            },
        };
        Some((line.no, line.start, text))
    }
}

fn date_samples<'a>(lines: impl Iterator<Item = (u32, usize, &'a str)> + Clone) -> Vec<&'a str> {
    let labelled: Vec<&str> = lines
        .clone()
        .filter_map(|(_, _, t)| split_field(t))
        .filter(|(label, _)| field_for_label(label) == Some(Field::Date))
        .map(|(_, v)| v)
        .collect();
    if labelled.is_empty() {
        lines
            .filter_map(|(_, _, t)| split_field(t))
            .map(|(_, v)| v)
            .collect()
    } else {
        labelled
    }
}

/// The blocks of the lines, one at a time: first the lines before the first block, when
/// there are any (`preamble`), then each block.
struct Blocks<'a> {
    lines: std::iter::Peekable<StrippedLines<'a>>,
    headed: bool,
    any_log_name: bool,
    first_label: Option<String>,
}

impl<'a> Blocks<'a> {
    fn new(lines: StrippedLines<'a>, headed: bool) -> Self {
        // Without `Event[N]:` headers a block starts at its Log Name line; when no label is
        // known, at each repetition of the first label seen.
        let first_label = lines
            .clone()
            .find_map(|(_, _, t)| split_field(t).map(|(l, _)| super::labels::normalise_label(l)));
        let any_log_name = lines.clone().any(|(_, _, t)| {
            split_field(t).is_some_and(|(l, _)| field_for_label(l) == Some(Field::LogName))
        });
        Blocks {
            lines: lines.peekable(),
            headed,
            any_log_name,
            first_label,
        }
    }

    fn starts_block(&self, t: &str) -> Option<Option<u64>> {
        if self.headed {
            return block_header_number(t).map(Some);
        }
        let (label, _) = split_field(t)?;
        let is_start = if self.any_log_name {
            field_for_label(label) == Some(Field::LogName)
        } else {
            self.first_label.as_deref() == Some(super::labels::normalise_label(label).as_str())
        };
        is_start.then_some(None)
    }
}

impl Blocks<'_> {
    /// Whether the next line, an `Event[n]:` header inside the block headed `current`, is a
    /// description quoting one (a script's output logged as an event): its number is not the
    /// next, and no event ID follows it before the next header. `wevtutil` numbers its
    /// events one by one; a second run's `Event[0]:` after the first's is followed by its
    /// fields.
    fn quoted_header(&self, current: Option<(u32, u64)>, n: u64) -> bool {
        let Some((_, current)) = current else {
            return false;
        };
        if current.checked_add(1) == Some(n) {
            return false;
        }
        !self
            .lines
            .clone()
            .skip(1)
            .take_while(|(_, _, t)| self.starts_block(t).is_none())
            .filter_map(|(_, _, t)| split_field(t))
            .any(|(label, _)| field_for_label(label) == Some(Field::EventId))
    }
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Block<'a>;

    fn next(&mut self) -> Option<Block<'a>> {
        let &(no, start, text) = self.lines.peek()?;
        let mut block = Block {
            header: None,
            first_line: no,
            start,
            lines: Vec::new(),
            bytes: 0,
            preamble: Some(Preamble::default()),
        };
        if let Some(number) = self.starts_block(text) {
            self.lines.next();
            block.header = number.map(|n| (no, n));
            block.preamble = None;
            if !self.headed {
                block.bytes = text.len();
                block.lines.push((no, text));
            }
        }
        while let Some(&(no, _, text)) = self.lines.peek() {
            match self.starts_block(text) {
                Some(Some(n)) if self.quoted_header(block.header, n) => {}
                Some(_) => break,
                None => {}
            }
            self.lines.next();
            if let Some(preamble) = &mut block.preamble {
                preamble.add(no, text);
                continue;
            }
            block.bytes += text.len() + 1;
            // Past the cap only the size is counted; the block is skipped later.
            if block.bytes <= MAX_EVENT_BYTES {
                block.lines.push((no, text));
            }
        }
        Some(block)
    }
}

/// Lines before the first block: a command prompt is fine; anything else is the end of an
/// event whose start was cut off (Azure Run Command returns only the last 4,096 bytes).
fn report_preamble(preamble: &Preamble, headed: bool, out: &mut Output<'_>) {
    let Some((first, last)) = preamble.span else {
        return;
    };
    if !headed && !preamble.has_fields {
        return;
    }
    out.skip();
    out.report.truncated = true;
    out.report.error(
        IssueKind::Truncated,
        Some(IssueLocation::Line { line: first }),
        format!(
            "lines {first}–{last} are the end of an event whose start is missing: the text \
             looks cut at its start (Azure Run Command returns only the last 4,096 bytes of \
             output), so that event was not read; query fewer events (wevtutil /c:5) to get \
             whole ones"
        ),
    );
}

/// What the lines before the first block hold, counted as they come (a long text of no
/// event is not held line by line).
#[derive(Debug, Default)]
struct Preamble {
    /// The first and last lines with content (not empty, not a prompt).
    span: Option<(u32, u32)>,
    /// Whether a line with content is an event's field (other than its date or
    /// description): without headers, only those mark a cut event (an article's prose
    /// does not).
    has_fields: bool,
}

impl Preamble {
    fn add(&mut self, no: u32, text: &str) {
        let t = text.trim();
        if t.is_empty() || is_prompt(t) {
            return;
        }
        self.span = Some((self.span.map_or(no, |(first, _)| first), no));
        self.has_fields |= split_field(text).is_some_and(|(l, _)| {
            field_for_label(l).is_some_and(|f| !matches!(f, Field::Description | Field::Date))
        });
    }
}

fn is_prompt(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.contains("wevtutil")
        || lower.starts_with("ps ") && lower.contains('>')
        || (lower.len() > 3 && lower.as_bytes().get(1..3) == Some(b":\\") && lower.contains('>'))
}

/// The fields, description and XML of one block, before interpretation.
#[derive(Default)]
struct Parts {
    /// (label, value, line), in order, description label included.
    fields: Vec<(String, String, u32)>,
    description: Vec<String>,
    xml: Vec<String>,
}

/// `blank_ends_description`: in the article's layout a description ends at an empty line
/// (prose follows); in `wevtutil` and Event Viewer text it may contain empty lines.
fn collect_parts(block: &Block<'_>, layout: &[Field], blank_ends_description: bool) -> Parts {
    let copy_layout = layout == EVENT_VIEWER_ORDER;
    #[derive(PartialEq)]
    enum State {
        Fields,
        Description,
        Xml,
    }
    let mut parts = Parts::default();
    let mut state = State::Fields;
    for (no, text) in &block.lines {
        match state {
            State::Fields => {
                if text.trim().is_empty() {
                    continue;
                }
                if let Some((label, value)) = split_field(text) {
                    let known = field_for_label(label);
                    if known == Some(Field::EventXml) {
                        state = State::Xml;
                        continue;
                    }
                    let positional = layout.get(parts.fields.len()).copied();
                    let is_description = known == Some(Field::Description)
                        || (known.is_none() && positional == Some(Field::Description));
                    parts.fields.push((label.to_owned(), value.to_owned(), *no));
                    if is_description {
                        state = State::Description;
                        if !value.is_empty() {
                            parts.description.push(value.to_owned());
                        }
                    }
                } else if parts.fields.len() + 2 >= layout.len() {
                    // The description label was not recognised: this is its text.
                    state = State::Description;
                    parts.description.push((*text).to_owned());
                } else if let Some(last) = parts.fields.last_mut() {
                    // A value wrapped onto the next line.
                    last.1.push(' ');
                    last.1.push_str(text.trim());
                }
            }
            State::Description => {
                let trimmed = text.trim_start();
                if blank_ends_description && trimmed.is_empty() && !parts.description.is_empty() {
                    break;
                }
                // The prompt of the next command pasted after this output.
                if is_prompt(trimmed) {
                    break;
                }
                // Event Viewer's copy ends with the event's XML, under a label this reader
                // may not know; `wevtutil` text has none, so XML in its description is what
                // the message quotes.
                if copy_layout && (trimmed.starts_with("<Event") || trimmed.starts_with("<?xml")) {
                    state = State::Xml;
                    parts.xml.push((*text).to_owned());
                } else if split_field(text).is_some_and(|(l, v)| {
                    v.is_empty() && field_for_label(l) == Some(Field::EventXml)
                }) {
                    state = State::Xml;
                } else {
                    parts.description.push((*text).to_owned());
                }
            }
            State::Xml => parts.xml.push((*text).to_owned()),
        }
    }
    while parts
        .description
        .last()
        .is_some_and(|l| l.trim().is_empty())
    {
        parts.description.pop();
    }
    parts
}

/// Maps fields by label, and unknown labels by position in `layout`.
fn assign(parts: &Parts, layout: &[Field]) -> (HashMap<Field, (String, u32)>, Vec<String>) {
    let mut assigned: HashMap<Field, (String, u32)> = HashMap::new();
    let mut positional = Vec::new();
    for (label, value, line) in &parts.fields {
        if let Some(field) = field_for_label(label) {
            assigned
                .entry(field)
                .or_insert_with(|| (value.clone(), *line));
        }
    }
    for (i, (label, value, line)) in parts.fields.iter().enumerate() {
        if field_for_label(label).is_some() {
            continue;
        }
        if let Some(field) = layout.get(i)
            && !assigned.contains_key(field)
        {
            assigned.insert(*field, (value.clone(), *line));
            positional.push(label.clone());
        }
    }
    (assigned, positional)
}

fn read_block(
    block: Block<'_>,
    layout: &[Field],
    order: DateOrder,
    last: bool,
    stats: &mut Stats,
    out: &mut Output<'_>,
) {
    let line = block.header.map_or(block.first_line, |(l, _)| l);
    let at = Some(IssueLocation::Line { line });
    if block.bytes > MAX_EVENT_BYTES {
        out.skip_oversized(at, "the event starting here", block.bytes);
        return;
    }
    let article = out.report.dialect == Some(Dialect::ArticleText);
    let mut parts = collect_parts(&block, layout, article);
    let (mut fields, mut positional) = assign(&parts, layout);
    // Unknown labels read by the wrong layout show as an event ID that is not a number:
    // try the other layout before giving up.
    let id_ok = fields
        .get(&Field::EventId)
        .is_some_and(|(v, _)| parse_event_id(v).is_some());
    if !id_ok && !positional.is_empty() {
        let other: &[Field] = if layout.len() == WEVTUTIL_ORDER.len() {
            &EVENT_VIEWER_ORDER
        } else {
            &WEVTUTIL_ORDER
        };
        let other_parts = collect_parts(&block, other, article);
        let (f, p) = assign(&other_parts, other);
        if f.get(&Field::EventId)
            .is_some_and(|(v, _)| parse_event_id(v).is_some())
        {
            (fields, positional, parts) = (f, p, other_parts);
        }
    }
    let origin = Origin {
        input: out.input_name().to_owned(),
        location: Location::Line { line },
    };
    let source = fields.get(&Field::Source).and_then(|(v, _)| value(v));
    let raw_id = fields.get(&Field::EventId).map(|(v, l)| (v.clone(), *l));
    let (provider, raw_id) = match (source, raw_id) {
        (Some(p), Some(id)) => (p, id),
        (source, raw_id) => {
            out.skip();
            let missing = match (source, raw_id) {
                (None, None) => "source and no event ID",
                (None, _) => "source (provider)",
                _ => "event ID",
            };
            if last && parts.description.is_empty() {
                out.report.truncated = true;
                out.report.error(
                    IssueKind::Truncated,
                    at,
                    format!(
                        "the last event has no {missing}: the text looks cut short, and that \
                         event was not read"
                    ),
                );
            } else {
                out.report.error(
                    IssueKind::IncompleteEvent,
                    at,
                    format!("this event has no {missing}; it was skipped"),
                );
            }
            return;
        }
    };
    let Some(id) = parse_event_id(&raw_id.0) else {
        out.skip();
        out.report.error(
            IssueKind::BadValue,
            Some(IssueLocation::Line { line: raw_id.1 }),
            format!(
                "event ID {:?} is not a number; the event was skipped",
                raw_id.0
            ),
        );
        return;
    };
    // `wevtutil` writes a description label for every event: a last event without one is a
    // text that ends inside its fields (a paste or an output cut short), read as far as it
    // goes.
    if last && block.header.is_some() && !fields.contains_key(&Field::Description) {
        out.report.truncated = true;
        out.report.warning(
            IssueKind::Truncated,
            at,
            "the text ends inside this event's fields: it looks cut short, and the event was \
             read as far as it goes"
                .to_owned(),
        );
    }
    for label in positional {
        if !stats.positional.contains(&label) && stats.positional.len() < 16 {
            stats.positional.push(label);
        }
    }
    let mut message = parts.description.join("\n").trim().to_owned();
    let cut = cap_field(&mut message);
    // Event Viewer's copy carries the event's XML: the most complete source.
    if !parts.xml.is_empty() {
        let xml = parts.xml.join("\n");
        match event_from_xml(&xml, origin.clone()) {
            Ok(mut event) => {
                if event.message.is_none() && !message.is_empty() {
                    event.message = Some(message);
                }
                out.emit(event);
                return;
            }
            Err(e) => out.report.warning(
                IssueKind::Malformed,
                at,
                format!("the event's XML could not be read ({e}); its text fields were used"),
            ),
        }
    }
    let mut event = Event::new(provider, id.id, origin);
    event.qualifiers = id.qualifiers;
    if let Some((raw, date_line)) = fields.get(&Field::Date) {
        match parse_time(raw, order) {
            // A FILETIME of zero printed as a date: no time, and nothing wrong with the text.
            Some(t) if is_no_time(t.ts) => {}
            Some(t) => {
                event.time_created = Some(t.ts);
                event.time_is_local = t.local;
                stats
                    .local
                    .note(&event, || Some(IssueLocation::Line { line: *date_line }));
            }
            None if is_placeholder(raw) => stats.undated += 1,
            None => {
                stats.undated += 1;
                out.report.warning(
                    IssueKind::BadValue,
                    Some(IssueLocation::Line { line: *date_line }),
                    format!("date {raw:?} is not a date this reader knows; the event has no time"),
                );
            }
        }
    } else {
        stats.undated += 1;
    }
    event.level = fields.get(&Field::Level).and_then(|(v, _)| parse_level(v));
    event.channel = fields.get(&Field::LogName).and_then(|(v, _)| channel(v));
    event.computer = fields.get(&Field::Computer).and_then(|(v, _)| value(v));
    if let Some(user) = fields.get(&Field::User).and_then(|(v, _)| value(v)) {
        if is_sid(&user) {
            event.user_sid = Some(user);
        } else {
            event.user_name = Some(user);
        }
    }
    if let Some(name) = fields.get(&Field::UserName).and_then(|(v, _)| value(v)) {
        event.user_name = Some(name);
    }
    if !message.is_empty() {
        event.message = Some(message);
    }
    if cut {
        out.report.warning(
            IssueKind::Limit,
            at,
            format!("the description was longer than {MAX_FIELD_CHARS} characters and was cut"),
        );
    }
    out.emit(event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fields_at_the_first_colon_before_a_space() {
        assert_eq!(
            split_field("  Date: 2016-12-22T05:29:02.512"),
            Some(("Date", "2016-12-22T05:29:02.512"))
        );
        assert_eq!(
            split_field("Nom du journal :      Système"),
            Some(("Nom du journal", "Système"))
        );
        assert_eq!(split_field("  Description: "), Some(("Description", "")));
        assert_eq!(split_field("C:\\Windows> dir"), None);
        assert_eq!(split_field("10:00:00 AM"), None);
        assert_eq!(split_field("The relevant status code was: denied"), None);
        assert_eq!(
            split_field("Aufgabenkategorie:Integrität"),
            Some(("Aufgabenkategorie", "Integrität"))
        );
        assert_eq!(split_field("UtcTime:2023"), None);
    }

    #[test]
    fn strips_article_markup() {
        let s = strip_markup("**Event ID:**      1058 <br />");
        assert_eq!(s.text, "Event ID:      1058");
        assert!(s.had_markup);
        let s = strip_markup("**Nom du journal :**      Système <br />");
        assert_eq!(s.text, "Nom du journal :      Système");
        let s = strip_markup("    **Ereignis-ID:**      7022</br>");
        assert_eq!(s.text, "    Ereignis-ID:      7022");
    }
}
