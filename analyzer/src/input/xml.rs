//! Event XML → [`Event`]: `wevtutil qe /f:xml` and `/f:RenderedXml` (`<Event>` elements
//! one after another, no root), Event Viewer's "Save as XML" (an `<Events>` root), and the
//! XML that `.evtx` records render to. Elements are matched by local name, so namespace
//! prefixes do not matter. A malformed event is reported with its line and skipped; reading
//! resumes at the next `<Event`.

use std::cell::Cell;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as XmlEvent};

use super::LocalTimes;
use super::datetime::{DateOrder, parse_time};
use super::limits::{MAX_DATA_ITEMS, MAX_EVENT_BYTES, MAX_XML_DEPTH, cap_field};
use super::normalise::{parse_event_id, parse_level};
use super::report::{Dialect, IssueKind, IssueLocation};
use super::text::{LineIndex, Lines, clean, wrap_width};
use super::{Format, Output, format_list};
use crate::event::{Event, Location, Origin};

/// Why one event's XML could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EventXmlError {
    #[error("malformed XML: {0}")]
    Syntax(String),
    #[error("the event has no {0}")]
    Missing(&'static str),
    #[error("event ID {0:?} is not a number from 0 to 4294967295")]
    BadEventId(String),
    #[error("elements are nested deeper than the {MAX_XML_DEPTH}-level cap")]
    TooDeep,
    #[error("the XML ends inside the event")]
    Unterminated,
}

/// Reads one event's XML (Event Viewer's copy, or an `.evtx` record rendered by the `evtx`
/// crate). A record that lost its provider is kept with an empty one when `lenient`.
pub(crate) fn event_from_xml(xml: &str, origin: Origin) -> Result<Event, EventXmlError> {
    event_from_xml_with(xml, origin, false)
}

/// [`event_from_xml`] for `.evtx` records: a damaged record whose provider is gone is still
/// an event of the log (the `evtx` crate counts it), kept with an empty provider.
pub(crate) fn record_event_from_xml(xml: &str, origin: Origin) -> Result<Event, EventXmlError> {
    event_from_xml_with(xml, origin, true)
}

fn event_from_xml_with(xml: &str, origin: Origin, lenient: bool) -> Result<Event, EventXmlError> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Start(e)) if e.local_name().as_ref() == b"Event" => {
                let mut builder = Builder::default();
                builder.walk(&mut reader)?;
                if lenient && builder.provider.is_none() {
                    builder.provider = Some(String::new());
                }
                return builder.finish(origin, lenient).map(|(event, _)| event);
            }
            Ok(XmlEvent::Eof) => return Err(EventXmlError::Missing("<Event> element")),
            Ok(_) => {}
            Err(e) => return Err(EventXmlError::Syntax(e.to_string())),
        }
    }
}

/// An `.evtx` record's `<System>` fields as the XML reader would have read them (element
/// text and attribute values, before normalisation); see `evtx_system`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SystemText {
    pub(crate) provider: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) qualifiers: Option<String>,
    pub(crate) level: Option<String>,
    pub(crate) time: Option<String>,
    pub(crate) record_id: Option<String>,
    pub(crate) channel: Option<String>,
    pub(crate) computer: Option<String>,
    pub(crate) user_sid: Option<String>,
}

/// [`record_event_from_xml`] for a record whose `<System>` fields were read without
/// rendering it: the same normalisation, no event data, no message.
pub(crate) fn record_event_from_system(
    system: SystemText,
    origin: Origin,
) -> Result<Event, EventXmlError> {
    let builder = Builder {
        provider: Some(system.provider.unwrap_or_default()),
        event_id: system.event_id,
        qualifiers: system.qualifiers,
        level: system.level,
        time: system.time,
        record_id: system.record_id,
        channel: system.channel,
        computer: system.computer,
        user_sid: system.user_sid,
        ..Builder::default()
    };
    builder.finish(origin, true).map(|(event, _)| event)
}

/// Whether `time` is 1601-01-01T00:00:00Z, a FILETIME of zero: what a record holds where
/// it has no time (a damaged one, a record cut short and read up to zeros). Its event is
/// undated: a time 425 years before the others would set the span the logs are said to
/// cover, and a window's edge.
pub(crate) fn is_no_time(time: jiff::Timestamp) -> bool {
    const FILETIME_ZERO: i64 = -11_644_473_600;
    time.as_second() == FILETIME_ZERO && time.subsec_nanosecond() == 0
}

/// Whether a text holds event XML: an `<Event` element with a `<System>` inside.
pub(crate) fn looks_like_event_xml(text: &str) -> bool {
    find_event_start(text, 0).is_some() && text.contains("System>")
}

/// Whether `line` plainly starts event XML: an XML declaration, an `<Events>` root or an
/// `<Event>` element at its start (where another export's text ends and XML begins, see
/// `parts`).
pub(crate) fn starts_export(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("<?xml")
        || ["<Events", "<Event"].iter().any(|tag| {
            t.strip_prefix(tag)
                .is_some_and(|rest| rest.starts_with([' ', '>']))
        })
}

/// Reads every `<Event>` in `text`, which starts at byte `base` of the text `lines` maps;
/// `cleaned` are its lines as they are (a console's wrapping not joined).
pub(crate) fn read(
    text: &str,
    base: usize,
    cleaned: Lines<'_>,
    lines: &LineIndex,
    out: &mut Output<'_>,
) {
    let Some(u) = unwrap_console(text, cleaned) else {
        let positions = Positions {
            lines,
            base,
            original: text,
            removed: &[],
            cursor: Cell::new((0, 1)),
        };
        return read_unwrapped(text, &positions, out);
    };
    out.report.info(
        IssueKind::Wrapper,
        None,
        format!(
            "joined back the lines a console cut at its width of {} columns (wevtutil \
             /f:xml prints each event on one long line)",
            u.width
        ),
    );
    let positions = Positions {
        lines,
        base,
        original: text,
        removed: &u.removed,
        cursor: Cell::new((0, 1)),
    };
    read_unwrapped(&u.text, &positions, out);
}

/// Where a position of the XML read lies in the input, when line ends a console added
/// were removed from it.
struct Positions<'a> {
    lines: &'a LineIndex,
    /// Where the XML's text starts in the text `lines` maps.
    base: usize,
    /// The XML's text as in the input (before a console's line ends were removed).
    original: &'a str,
    /// (position in the XML read, bytes removed up to there), ascending.
    removed: &'a [(usize, usize)],
    /// The last column found: (position in `original`, its 1-based column). Events come in
    /// order, so each column is counted on from the one before: a 17 MB line of events is
    /// counted through once, not once per event.
    cursor: Cell<(usize, u32)>,
}

impl Positions<'_> {
    fn input_offset(&self, at: usize) -> usize {
        let n = self.removed.partition_point(|(p, _)| *p <= at);
        let before = n.checked_sub(1).and_then(|i| self.removed.get(i));
        self.base + at + before.map_or(0, |(_, bytes)| *bytes)
    }

    fn line_of(&self, at: usize) -> u32 {
        self.lines.line_of(self.input_offset(at))
    }

    /// The line of position `at` and, when text other than blanks comes before it on that
    /// line (the events of `wevtutil qe /f:xml` share one), its 1-based column in characters.
    fn place(&self, at: usize) -> (u32, Option<u32>) {
        let offset = self.input_offset(at);
        let line = self.lines.line_of(offset);
        let from = self
            .lines
            .line_start(line)
            .and_then(|s| s.checked_sub(self.base));
        let (Some(from), Some(to)) = (from, offset.checked_sub(self.base)) else {
            return (line, None);
        };
        let before = self.original.get(from..to).unwrap_or_default();
        if before.trim_start().is_empty() {
            return (line, None);
        }
        let (mut counted, mut column) = self.cursor.get();
        if counted < from || counted > to {
            (counted, column) = (from, 1);
        }
        let more = self
            .original
            .get(counted..to)
            .map_or(0, |t| t.chars().count());
        let column = column.saturating_add(u32::try_from(more).unwrap_or(u32::MAX));
        self.cursor.set((to, column));
        (line, Some(column))
    }

    fn byte_progress(&self, at: usize) -> u64 {
        self.lines.byte_progress(self.input_offset(at))
    }
}

/// `wevtutil qe /f:xml` prints every event on one long line; a console (Serial Console at 80
/// columns) cuts them at its width. When the text shows that signature
/// ([`super::text::wrap_width`]), the line ends after full-width lines are removed.
fn unwrap_console(text: &str, lines: Lines<'_>) -> Option<Unwrapped> {
    let width = wrap_width(lines)?;
    let mut joined = String::with_capacity(text.len());
    let mut removed = Vec::new();
    let mut total = 0usize;
    for piece in text.split_inclusive('\n') {
        let body = piece.trim_end_matches(['\r', '\n']);
        if piece.ends_with('\n') && clean(body).chars().count() == width {
            joined.push_str(body);
            total += piece.len() - body.len();
            removed.push((joined.len(), total));
        } else {
            joined.push_str(piece);
        }
    }
    Some(Unwrapped {
        width,
        text: joined,
        removed,
    })
}

/// XML with the line ends a console added removed.
struct Unwrapped {
    width: usize,
    text: String,
    /// (position in `text`, bytes removed up to there), ascending.
    removed: Vec<(usize, usize)>,
}

fn read_unwrapped(text: &str, lines: &Positions<'_>, out: &mut Output<'_>) {
    let dialect = if text.contains("<Events>") || text.contains("<Events ") {
        Dialect::EventViewerXml
    } else if text.contains("RenderingInfo") {
        Dialect::RenderedXml
    } else {
        Dialect::WevtutilXml
    };
    out.report.format = Some(Format::Xml);
    out.report.dialect = Some(dialect);
    let cut = report_cut_start(text, lines, out);
    let mut pos = 0;
    let mut local = LocalTimes::default();
    let mut stray = Stray::default();
    // Where the text after the last event read began (none after damage, which is reported).
    let mut gap_from = (!cut).then_some(0);
    while let Some(start) = find_event_start(text, pos) {
        if out.tick(lines.byte_progress(start)).is_break() {
            return;
        }
        if let Some(from) = gap_from.take() {
            stray.look(text, from, start, lines);
        }
        let (location, at) = match lines.place(start) {
            (line, Some(column)) => (
                Location::LineColumn { line, column },
                IssueLocation::LineColumn { line, column },
            ),
            (line, None) => (Location::Line { line }, IssueLocation::Line { line }),
        };
        let rest = text.get(start..).unwrap_or_default();
        let mut reader = Reader::from_str(rest);
        // Consume the `<Event …>` start tag itself.
        let opened = matches!(reader.read_event(), Ok(XmlEvent::Start(_)));
        let result = if opened {
            let mut builder = Builder::default();
            builder.walk(&mut reader).and_then(|()| {
                let origin = Origin {
                    input: out.input_name().to_owned(),
                    location,
                };
                builder.finish(origin, false)
            })
        } else {
            Err(EventXmlError::Syntax(
                "the <Event> tag is not closed".to_owned(),
            ))
        };
        let consumed = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        // A syntax error where the text ends is the text ending inside the event.
        let result = match result {
            Err(EventXmlError::Syntax(_)) if rest.trim_end().len() <= consumed => {
                Err(EventXmlError::Unterminated)
            }
            other => other,
        };
        let end = start.saturating_add(consumed.max(1));
        if end - start > MAX_EVENT_BYTES {
            out.skip_oversized(Some(at), "the event starting here", end - start);
            pos = end;
            gap_from = Some(end);
            continue;
        }
        match result {
            Ok((event, notes)) => {
                local.note(&event, || Some(at));
                for note in notes {
                    out.report.warning(IssueKind::Limit, Some(at), note);
                }
                out.emit(event);
                pos = end;
                gap_from = Some(end);
            }
            Err(EventXmlError::Unterminated) => {
                out.skip();
                out.report.truncated = true;
                out.report.error(
                    IssueKind::Truncated,
                    Some(at),
                    "the input ends inside this event: it looks cut short, and the event \
                     was not read"
                        .to_owned(),
                );
                pos = text.len();
            }
            Err(e) => {
                out.skip();
                let kind = match e {
                    EventXmlError::Missing(_) => IssueKind::IncompleteEvent,
                    EventXmlError::BadEventId(_) => IssueKind::BadValue,
                    EventXmlError::TooDeep => IssueKind::Limit,
                    _ => IssueKind::Malformed,
                };
                out.report.error(
                    kind,
                    Some(at),
                    format!("the event starting here was skipped: {e}"),
                );
                // Resume after this `<Event` (the next one may be inside the damage).
                pos = start + 1;
            }
        }
    }
    if let Some(from) = gap_from {
        stray.look(text, from, text.len(), lines);
    }
    stray.report(out);
    out.report_local_times(local, "");
}

/// Text between events that no export puts there: another output pasted after the XML
/// (with no line break between, `parts` cannot cut it off), or prose. It is not read; the
/// report says where it starts.
#[derive(Debug, Default)]
struct Stray {
    first: Option<IssueLocation>,
    places: u32,
}

impl Stray {
    /// Looks at `text[from..to]`, the text between two events (or before the first, after
    /// the last).
    fn look(&mut self, text: &str, from: usize, to: usize, lines: &Positions<'_>) {
        let Some(at) = text.get(from..to).and_then(stray_at) else {
            return;
        };
        self.places += 1;
        if self.first.is_none() {
            self.first = Some(match lines.place(from + at) {
                (line, Some(column)) => IssueLocation::LineColumn { line, column },
                (line, None) => IssueLocation::Line { line },
            });
        }
    }

    fn report(self, out: &mut Output<'_>) {
        let Some(first) = self.first else {
            return;
        };
        let more = match self.places - 1 {
            0 => String::new(),
            1 => " (and in 1 more place)".to_owned(),
            n => format!(" (and in {n} more places)"),
        };
        out.report.error(
            IssueKind::Malformed,
            Some(first),
            format!(
                "text outside any <Event> starts here{more} and was not read: an XML export \
                 holds only events"
            ),
        );
    }
}

/// Where the first text of `gap` starts that an XML export does not hold between its
/// events: not blanks, an XML declaration, a comment, the `<Events>` root's tags, nor a
/// console prompt (the next command's, which follows `wevtutil /f:xml`'s last event on its
/// line).
fn stray_at(gap: &str) -> Option<usize> {
    let mut at = 0;
    loop {
        let rest = gap.get(at..)?;
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            return None;
        }
        at += rest.len() - trimmed.len();
        let line = trimmed.split('\n').next().unwrap_or_default();
        let known = if trimmed.starts_with("<?") {
            trimmed.find("?>").map(|e| e + 2)
        } else if trimmed.starts_with("<!--") {
            trimmed.find("-->").map(|e| e + 3)
        } else if trimmed.starts_with("<Events") || trimmed.starts_with("</Events") {
            trimmed.find('>').map(|e| e + 1)
        } else if format_list::is_prompt(line) {
            Some(line.len())
        } else {
            None
        };
        match known {
            Some(len) => at += len,
            None => return Some(at),
        }
    }
}

/// Text before the first `<Event` that closes an event's elements is the end of an event
/// whose start is missing: Azure Run Command returns only the last 4,096 bytes of output,
/// and `wevtutil qe /f:xml` prints its events on one line, so the cut lands inside one.
/// Whether it was.
fn report_cut_start(text: &str, lines: &Positions<'_>, out: &mut Output<'_>) -> bool {
    let first = find_event_start(text, 0).unwrap_or(text.len());
    let before = text.get(..first).unwrap_or_default();
    let closes = [
        "</Event>",
        "</System>",
        "</EventData>",
        "</UserData>",
        "</RenderingInfo>",
    ];
    let Some(at) = closes.iter().filter_map(|c| before.find(c)).min() else {
        return false;
    };
    let lead = before.len() - before.trim_start().len();
    let line = lines.line_of(lead.min(at));
    out.cut_at_start(
        line,
        &format!("the text before the first <Event> (from line {line}) is the end of an event"),
        "event",
        "wevtutil /c:5",
    );
    true
}

/// The next `<Event` start tag at or after `from` (not `<Events`, not `<EventData`…),
/// allowing a namespace prefix (`<e:Event`).
fn find_event_start(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(rel) = text.get(at..).and_then(|t| t.find("Event")) {
        let name = at + rel;
        let after = bytes.get(name + 5).copied();
        let boundary = matches!(after, Some(b' ' | b'>' | b'/' | b'\t' | b'\r' | b'\n'));
        // Walk back over an optional `prefix:` to the `<`.
        let mut lt = name;
        if let Some(b':') = name.checked_sub(1).and_then(|i| bytes.get(i)) {
            lt = name - 1;
            while let Some(b) = lt.checked_sub(1).and_then(|i| bytes.get(i)) {
                if b.is_ascii_alphanumeric() || *b == b'_' {
                    lt -= 1;
                } else {
                    break;
                }
            }
        }
        let opens = lt.checked_sub(1).and_then(|i| bytes.get(i)) == Some(&b'<');
        if boundary && opens && lt > from {
            return Some(lt - 1);
        }
        at = name + 5;
    }
    None
}

/// An element being read, innermost last.
#[derive(Debug, Default)]
struct Frame {
    name: String,
    text: String,
    text_capped: bool,
    has_children: bool,
    /// `<Data Name="…">`'s name.
    data_name: Option<String>,
}

/// Collects one `<Event>`'s fields while walking its elements.
#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    provider: Option<String>,
    event_id: Option<String>,
    qualifiers: Option<String>,
    level: Option<String>,
    time: Option<String>,
    record_id: Option<String>,
    channel: Option<String>,
    computer: Option<String>,
    user_sid: Option<String>,
    data: Vec<(String, String)>,
    data_dropped: usize,
    unnamed_data: usize,
    message: Option<String>,
    capped_fields: usize,
}

impl Builder {
    /// Reads up to the `</Event>` matching an already consumed `<Event>`.
    fn walk(&mut self, reader: &mut Reader<&[u8]>) -> Result<(), EventXmlError> {
        self.stack.push(Frame {
            name: "Event".to_owned(),
            ..Frame::default()
        });
        loop {
            match reader.read_event() {
                Ok(XmlEvent::Start(e)) => self.open(&e)?,
                Ok(XmlEvent::Empty(e)) => {
                    self.open(&e)?;
                    self.close();
                }
                Ok(XmlEvent::End(_)) => {
                    if self.stack.len() == 1 {
                        return Ok(());
                    }
                    self.close();
                }
                Ok(XmlEvent::Text(t)) => {
                    let text = t
                        .unescape()
                        .unwrap_or_else(|_| String::from_utf8_lossy(&t).into_owned().into());
                    self.append(&text);
                }
                Ok(XmlEvent::CData(c)) => {
                    let text = String::from_utf8_lossy(&c).into_owned();
                    self.append(&text);
                }
                Ok(XmlEvent::Eof) => return Err(EventXmlError::Unterminated),
                Ok(_) => {}
                Err(e) => return Err(EventXmlError::Syntax(e.to_string())),
            }
        }
    }

    fn open(&mut self, e: &BytesStart<'_>) -> Result<(), EventXmlError> {
        if self.stack.len() >= MAX_XML_DEPTH {
            return Err(EventXmlError::TooDeep);
        }
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if let Some(parent) = self.stack.last_mut() {
            parent.has_children = true;
        }
        let mut frame = Frame {
            name,
            ..Frame::default()
        };
        // The parent directly under `<Event>`: System, EventData, …
        let section = match self.stack.as_slice() {
            [_event, parent] => parent.name.as_str(),
            _ => "",
        };
        let in_system = section == "System";
        let in_event_data = section == "EventData";
        for attr in e.attributes().with_checks(false).flatten() {
            let key = attr.key.local_name();
            let value = attr
                .unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&attr.value).into_owned());
            match (frame.name.as_str(), key.as_ref()) {
                ("Provider", b"Name") if in_system => self.provider = Some(value),
                ("EventID", b"Qualifiers") if in_system => self.qualifiers = Some(value),
                ("TimeCreated", b"SystemTime") if in_system => self.time = Some(value),
                ("Security", b"UserID") if in_system => self.user_sid = Some(value),
                ("Data", b"Name") if in_event_data => frame.data_name = Some(value),
                _ => {}
            }
        }
        self.stack.push(frame);
        Ok(())
    }

    fn append(&mut self, text: &str) {
        if let Some(frame) = self.stack.last_mut() {
            if frame.text_capped {
                return;
            }
            frame.text.push_str(text);
            if frame.text.len() > super::limits::MAX_FIELD_CHARS * 4 || cap_field(&mut frame.text) {
                cap_field(&mut frame.text);
                frame.text_capped = true;
                self.capped_fields += 1;
            }
        }
    }

    fn close(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        // What encloses the closed element: `<Event>` then its section (System, …).
        let depth = self.stack.len();
        let section = self.stack.get(1).map_or("", |f| f.name.as_str());
        let direct = depth == 2;
        let text = frame.text;
        match (section, frame.name.as_str()) {
            ("System", "EventID") if direct => self.event_id = Some(text),
            ("System", "Level") if direct => self.level = Some(text),
            ("System", "EventRecordID") if direct => self.record_id = Some(text),
            ("System", "Channel") if direct => self.channel = Some(text),
            ("System", "Computer") if direct => self.computer = Some(text),
            // `<Provider>` text in some hand-made exports, when the attribute is missing.
            ("System", "Provider")
                if direct && self.provider.is_none() && !text.trim().is_empty() =>
            {
                self.provider = Some(text);
            }
            ("EventData", "Data") if direct => {
                let name = frame.data_name.unwrap_or_else(|| {
                    self.unnamed_data += 1;
                    format!("Param{}", self.unnamed_data)
                });
                self.push_data(name, text);
            }
            ("EventData", "Binary") if direct && !text.trim().is_empty() => {
                self.push_data("Binary".to_owned(), text);
            }
            ("RenderingInfo", "Message") if direct => self.message = Some(text),
            // `<UserData><Wrapper xmlns=…><leaf>value</leaf>…`: every leaf, by its name.
            ("UserData", _) if depth >= 3 && !frame.has_children => {
                self.push_data(frame.name, text);
            }
            _ => {}
        }
    }

    fn push_data(&mut self, name: String, value: String) {
        if self.data.len() < MAX_DATA_ITEMS {
            self.data.push((name, value));
        } else {
            self.data_dropped += 1;
        }
    }

    /// The event, and notes about caps that were hit.
    fn finish(self, origin: Origin, lenient: bool) -> Result<(Event, Vec<String>), EventXmlError> {
        let provider = self
            .provider
            .map(|p| p.trim().to_owned())
            .filter(|p| lenient || !p.is_empty())
            .ok_or(EventXmlError::Missing("provider (<Provider Name=…>)"))?;
        let raw_id = self
            .event_id
            .ok_or(EventXmlError::Missing("event ID (<EventID>)"))?;
        let id =
            parse_event_id(&raw_id).ok_or_else(|| EventXmlError::BadEventId(raw_id.clone()))?;
        let qualifiers = self
            .qualifiers
            .and_then(|q| q.trim().parse::<u16>().ok())
            .or(id.qualifiers);
        let time = self
            .time
            .as_deref()
            .and_then(|t| parse_time(t, DateOrder::Unknown))
            .filter(|t| !is_no_time(t.ts));
        let mut event = Event::new(provider, id.id, origin);
        event.qualifiers = qualifiers;
        event.level = self.level.as_deref().and_then(parse_level);
        event.time_created = time.map(|t| t.ts);
        event.time_is_local = time.is_some_and(|t| t.local);
        event.record_id = self.record_id.and_then(|r| r.trim().parse().ok());
        event.channel = self
            .channel
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        event.computer = self
            .computer
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        event.user_sid = self.user_sid.filter(|s| !s.trim().is_empty());
        event.data = self.data;
        event.message = self
            .message
            .map(|m| m.replace("\r\n", "\n").trim().to_owned())
            .filter(|m| !m.is_empty());
        let mut notes = Vec::new();
        if self.data_dropped > 0 {
            notes.push(format!(
                "event {} from {}: {} data values past the {MAX_DATA_ITEMS}-value cap were dropped",
                event.event_id, event.provider, self.data_dropped
            ));
        }
        if self.capped_fields > 0 {
            notes.push(format!(
                "event {} from {}: {} values longer than {} characters were cut",
                event.event_id,
                event.provider,
                self.capped_fields,
                super::limits::MAX_FIELD_CHARS
            ));
        }
        Ok((event, notes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            input: "t".to_owned(),
            location: Location::Line { line: 1 },
        }
    }

    #[test]
    fn reads_classic_event_with_qualifiers_and_unnamed_data() {
        let xml = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager' Guid='{C76BAA63-AE81-421C-B425-340B4B24157F}' EventSourceName='TermService'/><EventID Qualifiers='49152'>1058</EventID><Level>2</Level><TimeCreated SystemTime='2018-11-01T10:00:00.000000000Z'/><EventRecordID>4242</EventRecordID><Channel>System</Channel><Computer>vm1</Computer><Security/></System><EventData><Data>0x80070005</Data><Data>second</Data></EventData></Event>"#;
        let e = event_from_xml(xml, origin()).unwrap();
        assert_eq!(
            e.provider,
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
        );
        assert_eq!((e.event_id, e.qualifiers), (1058, Some(49152)));
        assert_eq!(e.level, Some(crate::event::Level::Error));
        assert_eq!(e.record_id, Some(4242));
        assert_eq!(e.data_value("Param1"), Some("0x80070005"));
        assert_eq!(e.data_value("Param2"), Some("second"));
        assert!(!e.time_is_local);
    }

    #[test]
    fn reads_user_data_leaves_by_name() {
        let xml = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-TerminalServices-RemoteConnectionManager"/><EventID>1149</EventID></System><UserData><EventXML xmlns="Event_NS"><Param1>alice</Param1><Param2>CONTOSO</Param2><Param3>10.0.0.4</Param3></EventXML></UserData></Event>"#;
        let e = event_from_xml(xml, origin()).unwrap();
        assert_eq!(
            e.data,
            vec![
                ("Param1".to_owned(), "alice".to_owned()),
                ("Param2".to_owned(), "CONTOSO".to_owned()),
                ("Param3".to_owned(), "10.0.0.4".to_owned()),
            ]
        );
    }

    #[test]
    fn missing_provider_is_an_error() {
        let xml = "<Event><System><EventID>5</EventID></System></Event>";
        assert!(matches!(
            event_from_xml(xml, origin()),
            Err(EventXmlError::Missing(_))
        ));
    }

    #[test]
    fn unterminated_event_is_reported() {
        let xml = "<Event><System><Provider Name='x'/><EventID>5</EventID>";
        assert_eq!(
            event_from_xml(xml, origin()),
            Err(EventXmlError::Unterminated)
        );
    }

    #[test]
    fn finds_event_starts_but_not_events_or_eventdata() {
        let t = "<Events><Event xmlns='x'><EventData/></Event><e:Event></e:Event></Events>";
        assert_eq!(find_event_start(t, 0), Some(8));
        let second = find_event_start(t, 9).unwrap();
        assert_eq!(t.get(second..second + 8), Some("<e:Event"));
    }
}
