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

use super::super::limits::{MAX_DATA_ITEMS, MAX_FIELD_CHARS, cap_field};
use super::super::xml::{SystemText, record_event_from_system};
use super::super::{is_positional_name, is_read};
use super::spare::EventSpare;
use super::template::{DataEntry, DataItem, Field, Part, Source, SystemMap, TemplateCache};
use super::value::{Value, push_value, renders_as_is, ty};
use super::walk::filetime;
use super::walk::nested_instance;
use crate::event::{Event, Level, Origin};
use std::sync::Arc;

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
    map: &Arc<SystemMap>,
    values: &[Value<'_>],
    record: Needed<'_, '_>,
    spare: &mut EventSpare,
) -> Option<Event> {
    let Needed {
        id: record_id,
        origin,
        reads,
        names,
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
        names,
        left_out: 0,
        left_out_named: false,
        positional_built: false,
    };
    let pushed = push_data(data, templates, map, values, &mut wanted, 0, spare);
    let left_out = wanted.left_out;
    let left_out_named = wanted.left_out_named;
    let positional_built = wanted.positional_built;
    event.data = wanted.items;
    if pushed.is_none() || event.data.len() + left_out > MAX_DATA_ITEMS {
        // The reader keeps the first ones and notes the rest: left to it.
        spare.give(event);
        return None;
    }
    if let Some(fields) = reads
        && positional_built
        && (left_out_named || !event.data.iter().all(|(k, _)| is_positional_name(k)))
    {
        // Not every item is positional: only the named ones are read (the positional ones
        // built while that was not known go).
        event.data.retain(|(name, _)| is_read(fields, name));
    }
    Some(event)
}

/// A needed record: its id, where it comes from, and the data items read (`None`: all).
pub(super) struct Needed<'a, 'n> {
    pub(super) id: u64,
    pub(super) origin: Origin,
    pub(super) reads: Option<&'a [String]>,
    /// Which items those are, per template, for the records of one chunk.
    pub(super) names: &'n mut ReadNames,
}

/// Which data items of a template are among the names read, worked out on the first
/// record of a chunk that has that template and those names, rather than every item's name
/// compared with every name read on each record (15 M of the 101 M instructions building
/// the failed logons of the attack log's first 200 chunks took). Its templates are held,
/// so that none is dropped and another made where it was while the chunk is walked.
#[derive(Default)]
pub(super) struct ReadNames {
    entries: Vec<ReadEntry>,
}

struct ReadEntry {
    map: Arc<SystemMap>,
    /// The names read (where they lie: they outlive the walk of the chunk).
    reads: *const [String],
    /// For each of the template's data items, in order: whether it is read by name.
    named: Vec<bool>,
}

impl ReadNames {
    /// Templates remembered per chunk; past them, names are compared on each record.
    const MAX: usize = 64;

    /// Where the answers for `map` and `reads` are, worked out now if they are not yet.
    fn entry(&mut self, map: &Arc<SystemMap>, reads: &[String]) -> Option<usize> {
        let at = self.entries.iter().position(|e| {
            Arc::ptr_eq(&e.map, map) && std::ptr::eq(e.reads, std::ptr::from_ref(reads))
        });
        if at.is_some() || self.entries.len() >= Self::MAX {
            return at;
        }
        let named = map.data().map_or_else(Vec::new, |entries| {
            entries
                .filter_map(|entry| match entry {
                    DataEntry::Item(item) => Some(is_read(reads, &item.name)),
                    DataEntry::Splice(_) => None,
                })
                .collect()
        });
        self.entries.push(ReadEntry {
            map: Arc::clone(map),
            reads: std::ptr::from_ref(reads),
            named,
        });
        Some(self.entries.len() - 1)
    }

    /// Whether item `n` of the template of entry `at` is read by name.
    fn named(&self, at: usize, n: usize) -> Option<bool> {
        self.entries.get(at)?.named.get(n).copied()
    }
}

/// The data items [`push_data`] built, which it builds, and what it left out.
struct Wanted<'a, 'n> {
    items: Vec<(String, String)>,
    /// The names read; `None`: every item.
    reads: Option<&'a [String]>,
    names: &'n mut ReadNames,
    /// Items left out that the whole event would have held.
    left_out: usize,
    /// Whether one of them was not positional (then the event's items are not all
    /// positional, and only the named ones are kept).
    left_out_named: bool,
    /// Whether a positional item not read by name was built (only those are ever cut
    /// again: every other item built is one of the names read).
    positional_built: bool,
}

impl Wanted<'_, '_> {
    /// Whether `item` is built; `named`, whether it is read by name when that is known.
    /// Positional items are, until the event shows an item that is not (all of them are
    /// read when all are positional).
    fn builds(&mut self, item: &DataItem, named: Option<bool>) -> bool {
        match self.reads {
            None => true,
            Some(fields) => {
                if named.unwrap_or_else(|| is_read(fields, &item.name)) {
                    return true;
                }
                let positional = !self.left_out_named && item.positional;
                self.positional_built |= positional;
                positional
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
                        // Most events repeat the last one's provider, channel and computer.
                        if let Some(text) = spare.last_text(v, capped) {
                            return Some(text);
                        }
                        let mut s = spare.string();
                        s.reserve(v.bytes.len() / 2);
                        push_value(&mut s, v)?;
                        if capped && s.len() > MAX_FIELD_CHARS {
                            cap_field(&mut s);
                        }
                        trim_in_place(&mut s);
                        let text = (!s.is_empty()).then_some(s);
                        spare.made_text(v, capped, text.as_deref());
                        return Some(text);
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
        // A FILETIME of zero is no time, as the XML reader reads it.
        source => match le(value(source)?, ty::FILETIME)? {
            0 => None,
            ticks => Some(filetime(ticks)?),
        },
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
                ty::SID => match spare.last_text(v, false) {
                    Some(text) => text,
                    None => {
                        let mut s = spare.string();
                        s.reserve(48);
                        push_value(&mut s, v)?;
                        spare.made_text(v, false, Some(&s));
                        Some(s)
                    }
                },
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
    map: &Arc<SystemMap>,
    values: &[Value<'_>],
    wanted: &mut Wanted<'_, '_>,
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
    let names = wanted
        .reads
        .and_then(|reads| wanted.names.entry(map, reads));
    let mut n = 0;
    for entry in map.data()? {
        let item = match entry {
            DataEntry::Item(item) => {
                n += 1;
                item
            }
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
        let named = names.and_then(|at| wanted.names.named(at, n - 1));
        let builds = wanted.builds(item, named);
        if !builds && !item.unless_blank {
            wanted.left_out += 1;
            wanted.left_out_named |= !item.positional;
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
            wanted.left_out_named |= !item.positional;
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
