//! The events a rule lists, built straight from a record's template and substitution values
//! — not rendered as XML by the `evtx` crate and read back by the XML reader, which is what
//! the records the walk cannot build still go through.
//!
//! A template definition is read once per chunk ([`SystemMap`]: where each `<System>` field
//! and each event data value comes from); each record then only has its values turned into
//! text, written as the crate's renderer writes them, and the text normalised by the same
//! code as the XML reader's ([`record_event_from_system`]). Anything this module does not
//! reproduce exactly — a value type it does not write, BinXML anywhere but directly under `<Event>`, an
//! array (the crate repeats the element), text the rendering would change (control
//! characters) — answers `None`, and the record is rendered as before. The tests compare both
//! on every record of the corpus and the fixtures.

use super::super::is_positional_name;
use super::super::limits::{MAX_DATA_ITEMS, MAX_FIELD_CHARS, cap_field};
use super::super::xml::{SystemText, record_event_from_system};
use super::spare::EventSpare;
use super::template::{DataEntry, Field, Part, Source, SystemMap, TemplateCache, utf16_units};
use super::walk::filetime;
use super::walk::nested_instance;
use crate::event::{Event, Level, Origin};

/// A substitution value of a record: its type, its bytes and where they are in the chunk.
#[derive(Debug, Clone, Copy)]
pub(super) struct Value<'a> {
    pub(super) kind: u8,
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
}

/// Value types (MS-EVEN6 2.2.3.1.11).
mod ty {
    pub(super) const NULL: u8 = 0x00;
    pub(super) const STRING: u8 = 0x01;
    pub(super) const INT8: u8 = 0x03;
    pub(super) const UINT8: u8 = 0x04;
    pub(super) const INT16: u8 = 0x05;
    pub(super) const UINT16: u8 = 0x06;
    pub(super) const INT32: u8 = 0x07;
    pub(super) const UINT32: u8 = 0x08;
    pub(super) const INT64: u8 = 0x09;
    pub(super) const UINT64: u8 = 0x0a;
    pub(super) const BOOL: u8 = 0x0d;
    pub(super) const BINARY: u8 = 0x0e;
    pub(super) const GUID: u8 = 0x0f;
    pub(super) const FILETIME: u8 = 0x11;
    pub(super) const SID: u8 = 0x13;
    pub(super) const HEX_INT32: u8 = 0x14;
    pub(super) const HEX_INT64: u8 = 0x15;
    pub(super) const BIN_XML: u8 = 0x21;
    pub(super) const ARRAY: u8 = 0x80;
}

/// How deep templates nested in values are followed.
const MAX_NESTING: usize = 4;

/// The whole event of a record of chunk `data` whose template is `map` and whose values are
/// `values`, or `None` when only rendering the record gets it right. Its strings are taken
/// from `spare` where it has some.
///
/// With `reads`, only the data items of those names are built: the event is the whole one
/// cut as [`Checked::cut`](super::super::Checked::cut) cuts it, and the other items' values
/// are not turned into text (most of the time it took on a log of listed records).
pub(super) fn build_event(
    data: &[u8],
    templates: &mut TemplateCache,
    map: &SystemMap,
    values: &[Value<'_>],
    record: Needed<'_>,
    spare: &mut EventSpare,
) -> Option<Event> {
    let Needed {
        id: record_id,
        origin,
        reads,
    } = record;
    // An element whose dependency is a NULL value is left out: in `<System>`, rare enough
    // to leave to the rendering.
    if map
        .system_dependencies()
        .iter()
        .any(|d| values.get(usize::from(*d)).is_some_and(is_null))
    {
        return None;
    }
    let mut event = match typed_system(map, values, origin, spare) {
        Ok(event) => event,
        Err(origin) => text_system(map, values, origin)?,
    };
    if event.provider.is_empty() {
        // Kept with an empty provider and a warning by the rendering path.
        spare.give(event);
        return None;
    }
    event.record_id.get_or_insert(record_id);
    let mut wanted = Wanted {
        items: spare.list(if reads.is_some() { 1 } else { data_items(map) }),
        reads,
        left_out: 0,
        left_out_named: false,
    };
    let pushed = push_data(data, templates, map, values, &mut wanted, 0, spare);
    let left_out = wanted.left_out;
    let left_out_named = wanted.left_out_named;
    event.data = wanted.items;
    if pushed.is_none() || event.data.len() + left_out > MAX_DATA_ITEMS {
        // The reader keeps the first ones and notes the rest: left to it.
        spare.give(event);
        return None;
    }
    if let Some(fields) = reads
        && (left_out_named || !event.data.iter().all(|(k, _)| is_positional_name(k)))
    {
        // Not every item is positional: only the named ones are read.
        event
            .data
            .retain(|(name, _)| fields.iter().any(|f| f.eq_ignore_ascii_case(name)));
    }
    Some(event)
}

/// A needed record: its id, where it comes from, and the data items read (`None`: all).
pub(super) struct Needed<'a> {
    pub(super) id: u64,
    pub(super) origin: Origin,
    pub(super) reads: Option<&'a [String]>,
}

/// The data items [`push_data`] built, which it builds, and what it left out.
struct Wanted<'a> {
    items: Vec<(String, String)>,
    /// The names read; `None`: every item.
    reads: Option<&'a [String]>,
    /// Items left out that the whole event would have held.
    left_out: usize,
    /// Whether one of them was not positional (then the event's items are not all
    /// positional, and only the named ones are kept).
    left_out_named: bool,
}

impl Wanted<'_> {
    /// Whether an item of this name is built. Positional items are, until the event shows
    /// an item that is not (all of them are read when all are positional).
    fn builds(&self, name: &str) -> bool {
        match self.reads {
            None => true,
            Some(fields) => {
                fields.iter().any(|f| f.eq_ignore_ascii_case(name))
                    || (!self.left_out_named && is_positional_name(name))
            }
        }
    }
}

/// How many data items a template's own event data holds (what to reserve room for).
fn data_items(map: &SystemMap) -> usize {
    map.data().map_or(0, |entries| {
        entries
            .filter(|entry| matches!(entry, DataEntry::Item(_)))
            .count()
    })
}

/// The `<System>` fields of the usual value types straight into an event, normalised as
/// the XML reader normalises their text; for any other shape, `origin` back (for
/// [`text_system`]).
fn typed_system(
    map: &SystemMap,
    values: &[Value<'_>],
    origin: Origin,
    spare: &mut EventSpare,
) -> Result<Event, Origin> {
    match typed_fields(map, values, spare) {
        Some(fields) => Ok(fields.into_event(origin)),
        None => Err(origin),
    }
}

/// What [`typed_system`] reads, before the event is made.
struct TypedFields {
    provider: String,
    id: u16,
    qualifiers: Option<u16>,
    level: Option<Level>,
    time: Option<jiff::Timestamp>,
    record_id: Option<u64>,
    channel: Option<String>,
    computer: Option<String>,
    user_sid: Option<String>,
}

impl TypedFields {
    fn into_event(self, origin: Origin) -> Event {
        let mut event = Event::new(self.provider, self.id, origin);
        event.qualifiers = self.qualifiers;
        event.level = self.level;
        event.time_created = self.time;
        event.record_id = self.record_id;
        event.channel = self.channel;
        event.computer = self.computer;
        event.user_sid = self.user_sid;
        event
    }
}

fn typed_fields(
    map: &SystemMap,
    values: &[Value<'_>],
    spare: &mut EventSpare,
) -> Option<TypedFields> {
    let value = |source: &Source| match source {
        Source::Value(i) => values.get(usize::from(*i)).copied(),
        _ => None,
    };
    let le = |v: Value<'_>, kind: u8| -> Option<u64> {
        if v.kind != kind {
            return None;
        }
        let mut b = [0u8; 8];
        b.get_mut(..v.bytes.len())?.copy_from_slice(v.bytes);
        Some(u64::from_le_bytes(b))
    };
    // Text the reader trims (and caps, for element text), `None` when empty.
    let text = |source: &Source, capped: bool, spare: &mut EventSpare| -> Option<Option<String>> {
        let mut s = match source {
            Source::Absent => return Some(None),
            Source::Literal(s) if renders_as_is(s) => spare.copy(s),
            Source::Value(i) => {
                let v = *values.get(usize::from(*i))?;
                match v.kind {
                    ty::NULL => return Some(None),
                    ty::STRING => {
                        let mut s = spare.string();
                        s.reserve(v.bytes.len() / 2);
                        push_value(&mut s, v)?;
                        s
                    }
                    _ => return None,
                }
            }
            _ => return None,
        };
        if capped && s.len() > MAX_FIELD_CHARS {
            cap_field(&mut s);
        }
        trim_in_place(&mut s);
        Some((!s.is_empty()).then_some(s))
    };
    let id = u16::try_from(le(value(map.source(Field::EventId))?, ty::UINT16)?).ok()?;
    let provider = text(map.source(Field::Provider), false, spare)??;
    let qualifiers = match map.source(Field::Qualifiers) {
        Source::Absent => None,
        source => Some(u16::try_from(le(value(source)?, ty::UINT16)?).ok()?),
    };
    let level = match map.source(Field::Level) {
        Source::Absent => None,
        source => Some(Level::from_number(
            u8::try_from(le(value(source)?, ty::UINT8)?).ok()?,
        )),
    };
    let time = match map.source(Field::Time) {
        Source::Absent => None,
        source => Some(filetime(le(value(source)?, ty::FILETIME)?)?),
    };
    let record_id = match map.source(Field::RecordId) {
        Source::Absent => None,
        source => Some(le(value(source)?, ty::UINT64)?),
    };
    let channel = text(map.source(Field::Channel), true, spare)?;
    let computer = text(map.source(Field::Computer), true, spare)?;
    let user_sid = match map.source(Field::UserSid) {
        Source::Absent => None,
        source => {
            let v = value(source)?;
            match v.kind {
                ty::NULL => None,
                ty::SID => {
                    let mut s = spare.string();
                    s.reserve(48);
                    push_value(&mut s, v)?;
                    Some(s)
                }
                _ => return None,
            }
        }
    };
    Some(TypedFields {
        provider,
        id,
        qualifiers,
        level,
        time,
        record_id,
        channel,
        computer,
        user_sid,
    })
}

/// The `<System>` fields as the text the rendering gives, read by the XML reader's
/// normalisation.
fn text_system(map: &SystemMap, values: &[Value<'_>], origin: Origin) -> Option<Event> {
    let mut system = SystemText::default();
    for (field, source) in map.sources() {
        let mut text = match source {
            Source::Absent => continue,
            Source::Literal(s) => {
                if !renders_as_is(s) {
                    return None;
                }
                s.clone()
            }
            Source::Value(i) => {
                let mut s = String::new();
                push_value(&mut s, *values.get(usize::from(*i))?)?;
                s
            }
            Source::Complex => return None,
        };
        if field.is_text() {
            cap_field(&mut text);
        }
        *system_slot(&mut system, field) = Some(text);
    }
    record_event_from_system(system, origin).ok()
}

/// Appends the event data of a template `map` with `values` to `out`, following templates
/// nested in BinXML values.
fn push_data(
    data: &[u8],
    templates: &mut TemplateCache,
    map: &SystemMap,
    values: &[Value<'_>],
    wanted: &mut Wanted<'_>,
    depth: usize,
    spare: &mut EventSpare,
) -> Option<()> {
    // Nested BinXML is spliced into the tree and an array repeats its element: anywhere
    // but where the event data is spliced in, those records are rendered.
    for (i, v) in values.iter().enumerate() {
        if v.kind & ty::ARRAY != 0 || (v.kind == ty::BIN_XML && !map.splices(i)) {
            return None;
        }
    }
    // Room for this template's own values at once (a nested one reserves its own).
    if wanted.reads.is_none() {
        wanted.items.reserve(data_items(map));
    }
    for entry in map.data()? {
        let item = match entry {
            DataEntry::Item(item) => item,
            DataEntry::Splice(i) => {
                let value = *values.get(usize::from(*i))?;
                match value.kind {
                    // An empty value, or text directly in `<Event>` (ignored by the reader).
                    _ if value.bytes.is_empty() => {}
                    ty::BIN_XML if depth < MAX_NESTING => {
                        let mut nested = Vec::new();
                        let definition = nested_instance(data, value, &mut nested)?;
                        let inner = templates.shared(data, definition, true)?;
                        push_data(data, templates, &inner, &nested, wanted, depth + 1, spare)?;
                    }
                    ty::BIN_XML => return None,
                    _ => {}
                }
                continue;
            }
        };
        if item
            .depends_on
            .iter()
            .any(|d| values.get(usize::from(*d)).is_some_and(is_null))
        {
            continue;
        }
        let builds = wanted.builds(&item.name);
        if !builds && !item.unless_blank {
            wanted.left_out += 1;
            wanted.left_out_named |= !is_positional_name(&item.name);
            continue;
        }
        let (mut key, mut text) = spare.item();
        text.reserve(
            item.parts
                .iter()
                .map(|part| match part {
                    Part::Literal(s) => s.len(),
                    Part::Value(i) => values
                        .get(usize::from(*i))
                        .map_or(0, |v| (v.bytes.len() / 2).max(24)),
                })
                .sum(),
        );
        for part in &item.parts {
            match part {
                Part::Literal(s) if renders_as_is(s) => text.push_str(s),
                Part::Literal(_) => return None,
                Part::Value(i) => push_value(&mut text, *values.get(usize::from(*i))?)?,
            }
        }
        if item.unless_blank && text.trim().is_empty() {
            spare.put_item((key, text));
            continue;
        }
        if !builds {
            // Built only to know whether the whole event holds it.
            wanted.left_out += 1;
            wanted.left_out_named |= !is_positional_name(&item.name);
            spare.put_item((key, text));
            continue;
        }
        if text.len() > MAX_FIELD_CHARS {
            cap_field(&mut text);
        }
        key.push_str(&item.name);
        wanted.items.push((key, text));
    }
    Some(())
}

/// `s` without leading and trailing whitespace (`str::trim`), in place.
fn trim_in_place(s: &mut String) {
    let end = s.trim_end().len();
    s.truncate(end);
    let start = s.len() - s.trim_start().len();
    s.drain(..start);
}

/// A NULL value (an empty BinXML one counts as one), which leaves out the elements that
/// depend on it.
fn is_null(value: &Value<'_>) -> bool {
    value.kind == ty::NULL || (value.kind == ty::BIN_XML && value.bytes.is_empty())
}

fn system_slot(system: &mut SystemText, field: Field) -> &mut Option<String> {
    match field {
        Field::Provider => &mut system.provider,
        Field::EventId => &mut system.event_id,
        Field::Qualifiers => &mut system.qualifiers,
        Field::Level => &mut system.level,
        Field::Time => &mut system.time,
        Field::RecordId => &mut system.record_id,
        Field::Channel => &mut system.channel,
        Field::Computer => &mut system.computer,
        Field::UserSid => &mut system.user_sid,
    }
}

/// Whether text reaches the XML reader as it is: XML escaping round-trips, but the
/// renderer writes C0 controls (but tab, line feed and carriage return), U+FFFE and U+FFFF
/// as `_`.
fn renders_as_is(text: &str) -> bool {
    // Byte by byte: in UTF-8 a C0 control is one byte below 0x20, and U+FFFE and U+FFFF are
    // EF BF BE and EF BF BF (EF starts a character wherever it stands).
    let b = text.as_bytes();
    !b.iter().enumerate().any(|(i, &x)| {
        (x < 0x20 && !matches!(x, b'\t' | b'\n' | b'\r'))
            || (x == 0xef
                && b.get(i + 1) == Some(&0xbf)
                && matches!(b.get(i + 2), Some(0xbe | 0xbf)))
    })
}

/// [`renders_as_is`] of one character.
fn char_renders_as_is(c: char) -> bool {
    !((c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}' || c == '\u{ffff}')
}

/// Appends `value` as the `evtx` crate writes it into XML text (and the XML reader reads
/// it back); `None` for a type or a value this module does not write.
pub(super) fn push_value(out: &mut String, value: Value<'_>) -> Option<()> {
    use std::fmt::Write as _;
    let b = value.bytes;
    let fixed = |n: usize| -> Option<&[u8]> { (b.len() == n).then_some(b) };
    match value.kind {
        ty::NULL => {}
        ty::STRING => {
            // Up to the first NUL, as the crate reads it; strict UTF-16. Most text is
            // printable ASCII: copied unit by unit until the first unit that is not.
            let ascii = b
                .chunks_exact(2)
                .take_while(|p| matches!(p, [0x20..=0x7e | b'\t' | b'\n' | b'\r', 0]))
                .count();
            out.extend(b.iter().step_by(2).take(ascii).map(|&x| char::from(x)));
            let rest = b.get(2 * ascii..).unwrap_or_default();
            let units = utf16_units(rest).take_while(|u| *u != 0);
            for c in char::decode_utf16(units) {
                let c = c.ok()?;
                if !char_renders_as_is(c) {
                    return None;
                }
                out.push(c);
            }
        }
        ty::INT8 => write!(out, "{}", i8::from_le_bytes(fixed(1)?.try_into().ok()?)).ok()?,
        ty::UINT8 => write!(out, "{}", fixed(1)?.first()?).ok()?,
        ty::INT16 => write!(out, "{}", i16::from_le_bytes(fixed(2)?.try_into().ok()?)).ok()?,
        ty::UINT16 => write!(out, "{}", u16::from_le_bytes(fixed(2)?.try_into().ok()?)).ok()?,
        ty::INT32 => write!(out, "{}", i32::from_le_bytes(fixed(4)?.try_into().ok()?)).ok()?,
        ty::UINT32 => write!(out, "{}", u32::from_le_bytes(fixed(4)?.try_into().ok()?)).ok()?,
        ty::INT64 => write!(out, "{}", i64::from_le_bytes(fixed(8)?.try_into().ok()?)).ok()?,
        ty::UINT64 => write!(out, "{}", u64::from_le_bytes(fixed(8)?.try_into().ok()?)).ok()?,
        ty::HEX_INT32 => {
            write!(
                out,
                "0x{:x}",
                u32::from_le_bytes(fixed(4)?.try_into().ok()?)
            )
            .ok()?;
        }
        ty::HEX_INT64 => {
            write!(
                out,
                "0x{:x}",
                u64::from_le_bytes(fixed(8)?.try_into().ok()?)
            )
            .ok()?;
        }
        ty::BOOL => match i32::from_le_bytes(fixed(4)?.try_into().ok()?) {
            0 => out.push_str("false"),
            1 => out.push_str("true"),
            _ => return None,
        },
        ty::BINARY => {
            for byte in b {
                write!(out, "{byte:02X}").ok()?;
            }
        }
        ty::GUID => {
            let g = fixed(16)?;
            let at = |i: usize| g.get(i).copied().unwrap_or(0);
            write!(
                out,
                "{{{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
                at(3),
                at(2),
                at(1),
                at(0),
                at(5),
                at(4),
                at(7),
                at(6)
            )
            .ok()?;
            write!(out, "{:02x}{:02x}-", at(8), at(9)).ok()?;
            for i in 10..16 {
                write!(out, "{:02x}", at(i)).ok()?;
            }
            out.push('}');
        }
        ty::FILETIME => push_filetime(out, u64::from_le_bytes(fixed(8)?.try_into().ok()?))?,
        ty::SID => {
            // Revision, sub-authority count, 48-bit big-endian authority, 32-bit
            // little-endian sub-authorities: exactly as many as counted.
            let (&revision, &count) = (b.first()?, b.get(1)?);
            if b.len() != 8 + 4 * usize::from(count) {
                return None;
            }
            let mut authority = [0u8; 8];
            authority.get_mut(2..)?.copy_from_slice(b.get(2..8)?);
            write!(out, "S-{revision}-{}", u64::from_be_bytes(authority)).ok()?;
            for sub in b.get(8..)?.chunks_exact(4) {
                write!(out, "-{}", u32::from_le_bytes(sub.try_into().ok()?)).ok()?;
            }
        }
        _ => return None,
    }
    Some(())
}

/// A FILETIME as the crate writes it: `YYYY-MM-DDTHH:MM:SS.fffffffZ` (values past year
/// 9999 are left to the crate, which keeps their last four digits).
fn push_filetime(out: &mut String, ticks: u64) -> Option<()> {
    use std::fmt::Write as _;
    const TICKS_PER_SECOND: u64 = 10_000_000;
    const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SECOND;
    let (days, rest) = (ticks / TICKS_PER_DAY, ticks % TICKS_PER_DAY);
    // Howard Hinnant's civil_from_days, counted from 0000-03-01 (584,694 days before
    // 1601-01-01) in eras of 400 years.
    let z = days.checked_add(584_694)?;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    if year > 9999 {
        return None;
    }
    let seconds = rest / TICKS_PER_SECOND;
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:07}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        rest % TICKS_PER_SECOND
    )
    .ok()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    //! Each value as the crate's renderer writes it, for values of every type written here.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use evtx::binxml::value_variant::BinXmlValue;
    use proptest::prelude::*;

    proptest! {
        /// Strings are written as decoding every unit writes them, whatever ASCII they start
        /// with and whatever follows it.
        #[test]
        fn strings_are_written_as_decoded(
            text in "[ -~\t\n\r\x00\x01\u{7f}é\u{fffe}\u{10000}\u{0421}\u{0627}\u{4e41}\u{2020}\u{0141}]{0,12}",
            odd in any::<bool>(),
        ) {
            let mut bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
            if odd {
                bytes.push(b'x');
            }
            let units = utf16_units(&bytes).take_while(|u| *u != 0);
            let reference: Option<String> = char::decode_utf16(units)
                .map(|c| c.ok().filter(|c| char_renders_as_is(*c)))
                .collect();
            prop_assert_eq!(ours(ty::STRING, &bytes), reference);
        }

        /// The byte-wise check is the character-wise one.
        #[test]
        fn renders_as_is_reads_bytes_as_characters(
            text in "[\\x00-\\x21a\u{7f}-\u{a0}\u{fffd}-\u{ffff}\u{10000}é\u{efbf}]{0,8}",
        ) {
            prop_assert_eq!(renders_as_is(&text), text.chars().all(char_renders_as_is));
        }
    }

    fn ours(kind: u8, bytes: &[u8]) -> Option<String> {
        let mut s = String::new();
        push_value(&mut s, Value { kind, bytes, at: 0 }).map(|()| s)
    }

    proptest! {
        #[test]
        fn numbers_are_written_as_the_crate_writes_them(v in any::<u64>()) {
            let b = v.to_le_bytes();
            let cases: [(u8, &[u8], BinXmlValue<'_>); 10] = [
                (ty::INT8, &b[..1], BinXmlValue::Int8Type(b[0] as i8)),
                (ty::UINT8, &b[..1], BinXmlValue::UInt8Type(b[0])),
                (ty::INT16, &b[..2], BinXmlValue::Int16Type(v as u16 as i16)),
                (ty::UINT16, &b[..2], BinXmlValue::UInt16Type(v as u16)),
                (ty::INT32, &b[..4], BinXmlValue::Int32Type(v as u32 as i32)),
                (ty::UINT32, &b[..4], BinXmlValue::UInt32Type(v as u32)),
                (ty::INT64, &b, BinXmlValue::Int64Type(v as i64)),
                (ty::UINT64, &b, BinXmlValue::UInt64Type(v)),
                (ty::HEX_INT32, &b[..4], BinXmlValue::HexInt32Type(v as u32)),
                (ty::HEX_INT64, &b, BinXmlValue::HexInt64Type(v)),
            ];
            for (kind, bytes, theirs) in cases {
                prop_assert_eq!(ours(kind, bytes), Some(theirs.to_string()), "type {:#x}", kind);
            }
        }

        #[test]
        fn guids_and_binaries_are_written_as_the_crate_writes_them(
            guid in any::<[u8; 16]>(),
            binary in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            prop_assert_eq!(ours(ty::GUID, &guid), Some(BinXmlValue::GuidType(guid).to_string()));
            prop_assert_eq!(
                ours(ty::BINARY, &binary),
                Some(BinXmlValue::BinaryType(&binary).to_string())
            );
        }

        #[test]
        fn file_times_are_written_as_the_crate_writes_them(t in 0u64..2_650_467_743_999_999_999) {
            let theirs = BinXmlValue::FileTimeType(evtx::binxml::value_variant::FileTime(t));
            prop_assert_eq!(ours(ty::FILETIME, &t.to_le_bytes()), Some(theirs.to_string()));
        }
    }

    /// SIDs (the crate's own type cannot be made outside it; the corpus's are compared whole
    /// by the chunk tests).
    #[test]
    fn sids_are_written_in_their_string_form() {
        let mut sid = vec![1u8, 5, 0, 0, 0, 0, 0, 5];
        for sub in [21u32, 3_623_811_015, 3_361_044_348, 30_300_820, 500] {
            sid.extend_from_slice(&sub.to_le_bytes());
        }
        assert_eq!(
            ours(ty::SID, &sid).as_deref(),
            Some("S-1-5-21-3623811015-3361044348-30300820-500")
        );
        assert_eq!(
            ours(ty::SID, &[1, 0, 0, 0, 0, 0, 0, 0]).as_deref(),
            Some("S-1-0")
        );
        // A count that does not match the bytes: left to the crate.
        assert_eq!(ours(ty::SID, &sid[..20]), None);
    }

    #[test]
    fn text_the_rendering_would_change_is_left_to_it() {
        let utf16 = |s: &str| {
            s.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>()
        };
        assert_eq!(
            ours(ty::STRING, &utf16("a<b>&'\"\tc\n")).as_deref(),
            Some("a<b>&'\"\tc\n")
        );
        assert_eq!(
            ours(ty::STRING, &utf16("up to\0 the NUL")).as_deref(),
            Some("up to")
        );
        assert_eq!(
            ours(ty::STRING, &utf16("a\r\nb")).as_deref(),
            Some("a\r\nb")
        );
        assert_eq!(ours(ty::STRING, &utf16("a\u{1}b")), None);
        assert_eq!(ours(ty::STRING, &[0x00, 0xd8]), None, "unpaired surrogate");
        assert_eq!(ours(0x0b, &[0; 4]), None, "floats are not written here");
    }
}
