//! Counting a chunk's records without building them: the walk behind [`Details::Counted`]
//! and [`Details::Checked`].
//!
//! Nearly every record of a real log is one template instance (a definition stored once
//! per chunk plus the record's values), and a record no rule lists only has to be counted
//! by provider, channel, computer and time. So this walk reads each record's header and its
//! substitution table, takes those four values straight from the chunk bytes, and groups
//! the records into [`Tally`]s — no per-record allocation, no UTF-16 decoding but once per
//! group, nothing rendered. The `evtx` crate's record build, several times slower, is what
//! it replaces.
//!
//! Which records are readable stays the `evtx` crate's call: the walk is tried only on a
//! chunk whose CRC32s match, and it gives up on the whole chunk ([`None`]) at the first
//! thing it does not fully understand — a damaged or unusual record, a value that does not
//! check out, a string table or definition it cannot read, a field it would have to render,
//! or a record some rule lists. The caller then parses that chunk with the crate, as before.
//! A chunk the walk accepts is one the crate reads whole; the tests check that both give
//! the same counts on every chunk of the corpus.
//!
//! [`Details::Counted`]: super::super::Details::Counted
//! [`Details::Checked`]: super::super::Details::Checked

use evtx::{ChunkFlags, EvtxChunkHeader};
use jiff::Timestamp;

use super::super::limits::cap_field;
use super::super::{Details, Tally};
use super::CHUNK_HEADER_SIZE;
use super::build::{Needed, ReadNames, build_event};
use super::crc;
use super::recent::Recent;
use super::spare::EventSpare;
use super::template::{Field, Source, SystemMap, TemplateCache, utf16};
use super::value::{Value, ty, value_reads};
use crate::event::{Event, Location, Origin};

const RECORD_HEADER_SIZE: usize = 24;
const RECORD_MAGIC: [u8; 4] = [0x2a, 0x2a, 0, 0];

/// 100 ns FILETIME ticks of 1601-01-01 and 9999-01-01 UTC: times outside are left to the
/// crate (which renders them through text this walk does not reproduce).
const FILETIME_MIN: u64 = 0;
const FILETIME_MAX: u64 = 2_650_467_744_000_000_000;

/// A `<System>` value as found: where its text is, not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text<'a> {
    /// UTF-16LE code units in the chunk.
    Utf16(&'a [u8]),
    /// A string written in the template at this offset.
    Literal { definition: u32, field: Field },
}

/// The records of one chunk with the same provider, channel and computer.
#[derive(Debug)]
struct Group<'a> {
    provider: Text<'a>,
    channel: Option<Text<'a>>,
    computer: Option<Text<'a>>,
    events: u64,
    undated: u64,
    oldest: u64,
    newest: u64,
}

/// What the walk of a chunk found, in record order: tallies (each where its group first
/// appears), and the records some rule lists — built, or left for the caller to read whole.
#[derive(Debug)]
pub(super) struct Walk {
    pub(super) items: Vec<Walked>,
    /// Where the last record ends.
    pub(super) end: usize,
}

#[derive(Debug)]
pub(super) enum Walked {
    Tally(Tally),
    /// A record some rule lists, built from its template and values.
    Event(Event),
    /// A record to read whole: where it starts in the chunk, and its id.
    Needed {
        offset: usize,
        id: u64,
    },
}

/// Where the events of a chunk are read from: the input's name and the chunk's number.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place<'a> {
    pub(super) input: &'a str,
    pub(super) chunk: u32,
}

/// Walks a chunk's records: tallies for those not listed in `needed`, the events of those
/// listed (or their places, for the records only the crate reads right). `None` leaves the
/// chunk to the `evtx` crate: when its CRC32s do not match (or it has none) and when the walk
/// does not fully understand it.
pub(super) fn walk_intact_chunk(
    data: &[u8],
    needed: &Details,
    place: Place<'_>,
    spare: &mut EventSpare,
) -> Option<Walk> {
    let header = EvtxChunkHeader::from_bytes(data).ok()?;
    if header.flags.contains(ChunkFlags::NO_CRC32) {
        return None;
    }
    let header_crc = crc::update(
        crc::update(0, data.get(..120)?),
        data.get(128..CHUNK_HEADER_SIZE)?,
    );
    let records = data.get(CHUNK_HEADER_SIZE..usize::try_from(header.free_space_offset).ok()?)?;
    if header_crc != header.header_chunk_checksum
        || crc::update(0, records) != header.events_checksum
        || !string_table_reads(data)
    {
        return None;
    }
    // Definitions of earlier chunks are found again where their bytes are the same.
    let mut templates = std::mem::take(&mut spare.templates);
    templates.next_chunk();
    let walk = walk_chunk(data, &header, needed, &mut templates, place, spare);
    spare.templates = templates;
    walk
}

/// Records a chunk's items are reserved for at most: a 64 KiB chunk holds at most about
/// 2,700 of the smallest records.
const MAX_RECORDS_RESERVED: u64 = 2048;

/// What `needed` says of an event ID: `None` when no rule lists it, otherwise the data
/// items read (`None`: all).
type Said<'d> = Option<Option<&'d [String]>>;

/// What `needed` says of the event IDs seen in a chunk, each looked up once: whether a
/// rule lists it, and which data items are read of it (hashing the ID for every record
/// was 3% of the walk).
struct Needs<'d> {
    needed: &'d Details,
    /// By the ID's low bits: an ID and what `needed` says of it.
    seen: [Option<(u16, Said<'d>)>; 16],
}

impl<'d> Needs<'d> {
    fn of_chunk(needed: &'d Details) -> Needs<'d> {
        Needs {
            needed,
            seen: [None; 16],
        }
    }

    /// What `needed` says of `id`.
    fn of(&mut self, id: u16) -> Said<'d> {
        let needed = self.needed;
        let says = || needed.needs(id).then(|| needed.data_read(id));
        let Some(slot) = self.seen.get_mut(usize::from(id % 16)) else {
            return says();
        };
        match slot {
            Some((seen, said)) if *seen == id => *said,
            _ => {
                let said = says();
                *slot = Some((id, said));
                said
            }
        }
    }
}

fn walk_chunk(
    data: &[u8],
    header: &EvtxChunkHeader,
    needed: &Details,
    templates: &mut TemplateCache,
    place: Place<'_>,
    spare: &mut EventSpare,
) -> Option<Walk> {
    let mut needs = Needs::of_chunk(needed);
    let mut groups: Vec<Group<'_>> = Vec::new();
    // In record order: built events where they lie (moved once, not collected again), and
    // where each group first appears, an empty tally until the group is finished.
    // Room for every record the header says the chunk holds (bounded: it is the file's
    // word), so that the items are not moved again as they grow.
    let records = header
        .last_event_record_id
        .saturating_sub(header.first_event_record_id)
        .saturating_add(1)
        .min(MAX_RECORDS_RESERVED);
    let mut items: Vec<Walked> = Vec::with_capacity(usize::try_from(records).unwrap_or(0));
    let mut group_at: Vec<usize> = Vec::new();
    let mut plans = Plans::default();
    // A needed record's values, reused from one record to the next.
    let mut values: Vec<Value<'_>> = Vec::new();
    let mut names = ReadNames::default();
    let live_end = usize::try_from(header.free_space_offset)
        .ok()?
        .min(data.len());
    let mut offset = CHUNK_HEADER_SIZE;
    while offset < live_end {
        let record = read_record(data, offset)?;
        let fields = read_instance(data, record.binxml.clone(), &mut plans, templates)?;
        if let Some(reads) = needs.of(fields.event_id) {
            let origin = |spare: &mut EventSpare| Origin {
                input: spare.copy(place.input),
                location: Location::Record {
                    record_id: record.id,
                    chunk: place.chunk,
                },
            };
            values.clear();
            let built = match (
                templates.shared(data, fields.definition, false),
                fields.values(data, &mut values),
            ) {
                (Some(map), Some(())) => {
                    let record = Needed {
                        id: record.id,
                        origin: origin(spare),
                        reads,
                        names: &mut names,
                    };
                    build_event(data, templates, &map, &values, record, spare)
                }
                _ => None,
            };
            items.push(match built {
                Some(event) => Walked::Event(event),
                None => Walked::Needed {
                    offset,
                    id: record.id,
                },
            });
        } else if add(&mut groups, &fields) {
            group_at.push(items.len());
            items.push(Walked::Tally(Tally {
                provider: String::new(),
                channel: None,
                computer: None,
                events: 0,
                undated: 0,
                oldest: None,
                newest: None,
            }));
        }
        offset = record.end;
        if record.id == header.last_event_record_id {
            break;
        }
    }
    // Groups are numbered as they first appear, so group `i` is the `i`th slot.
    for (group, &at) in groups.iter().zip(&group_at) {
        *items.get_mut(at)? = Walked::Tally(finish(group, templates)?);
    }
    Some(Walk { items, end: offset })
}

/// A record's id, its BinXML and where the next one starts.
struct Record {
    id: u64,
    binxml: std::ops::Range<usize>,
    end: usize,
}

fn read_record(data: &[u8], offset: usize) -> Option<Record> {
    let head = data.get(offset..offset.checked_add(RECORD_HEADER_SIZE)?)?;
    if head.get(..4)? != RECORD_MAGIC {
        return None;
    }
    let size = usize::try_from(le_u32(head, 4)?).ok()?;
    let id = le_u64(head, 8)?;
    if !(FILETIME_MIN..FILETIME_MAX).contains(&le_u64(head, 16)?) {
        return None;
    }
    let binxml_start = offset + RECORD_HEADER_SIZE;
    let binxml_end = binxml_start.checked_add(size.checked_sub(RECORD_HEADER_SIZE + 4)?)?;
    if binxml_end > data.len() {
        return None;
    }
    Some(Record {
        id,
        binxml: binxml_start..binxml_end,
        end: offset + size,
    })
}

/// The values of one record that its tally needs, and where all its values are.
struct Fields<'a> {
    /// The template definition's offset.
    definition: u32,
    /// Where the value count is.
    values_at: usize,
    event_id: u16,
    provider: Text<'a>,
    channel: Option<Text<'a>>,
    computer: Option<Text<'a>>,
    /// `None`: the record has no time.
    time: Option<u64>,
}

impl<'a> Fields<'a> {
    /// Every value of the record, in order (checked by [`read_instance`]).
    fn values(&self, data: &'a [u8], out: &mut Vec<Value<'a>>) -> Option<()> {
        instance_values(data, self.values_at, |_, v| out.push(v)).map(|_| ())
    }
}

/// Where the five values a tally needs come from in records of one template: provider,
/// event ID, time, channel, computer (in [`WANTED`] order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Absent,
    Literal,
    Value,
    /// Made of several parts: left to the crate.
    Complex,
}

const WANTED: [Field; 5] = [
    Field::Provider,
    Field::EventId,
    Field::Time,
    Field::Channel,
    Field::Computer,
];

/// No wanted field in [`Plan::slot_of`].
const NOT_WANTED: u8 = u8::MAX;

/// What a template definition means for the walk, worked out once per chunk.
#[derive(Debug)]
struct Plan {
    from: [From; 5],
    /// Per substitution index: which of the wanted fields it fills ([`NOT_WANTED`]: none).
    slot_of: Vec<u8>,
}

impl Plan {
    /// `None` for a definition the walk leaves to the crate: unreadable, or whose event ID
    /// is not a value of the record.
    fn new(map: &SystemMap) -> Option<Plan> {
        let mut from = [From::Absent; 5];
        let mut slot_of = Vec::new();
        for ((slot, field), from) in WANTED.into_iter().enumerate().zip(&mut from) {
            *from = match map.source(field) {
                Source::Absent => From::Absent,
                Source::Literal(_) => From::Literal,
                Source::Complex => From::Complex,
                Source::Value(i) => {
                    let i = usize::from(*i);
                    if slot_of.len() <= i {
                        slot_of.resize(i + 1, NOT_WANTED);
                    }
                    *slot_of.get_mut(i)? = u8::try_from(slot).ok()?;
                    From::Value
                }
            };
        }
        (from[1] == From::Value).then_some(Plan { from, slot_of })
    }
}

/// The plans of one chunk's definitions (`None`: left to the crate), the last used first.
#[derive(Default)]
struct Plans {
    plans: Recent<u32, Option<Plan>>,
}

impl Plans {
    fn get(
        &mut self,
        data: &[u8],
        definition: u32,
        templates: &mut TemplateCache,
    ) -> Option<&Plan> {
        let at = match self.plans.position(&definition) {
            Some(at) => at,
            None => {
                let plan = templates.map(data, definition).and_then(Plan::new);
                self.plans.push(definition, plan)
            }
        };
        self.plans.value(at)?.as_ref()
    }
}

/// Reads a record that is a single template instance (what the crate's fast shape check
/// accepts) and picks its `<System>` values.
fn read_instance<'a>(
    data: &'a [u8],
    binxml: std::ops::Range<usize>,
    plans: &mut Plans,
    templates: &mut TemplateCache,
) -> Option<Fields<'a>> {
    let (definition, descriptors_at) = instance_header(data, binxml.clone())?;
    let plan = plans.get(data, definition, templates)?;
    let mut found: [Option<Value<'a>>; 5] = [None; 5];
    let (_, end) = instance_values(data, descriptors_at, |index, value| {
        if let Some(&slot) = plan.slot_of.get(index)
            && let Some(found) = found.get_mut(usize::from(slot))
        {
            *found = Some(value);
        }
    })?;
    // The instance must end the record (or be followed by an end-of-stream token).
    match data.get(end..binxml.end)? {
        [] | [0x00, ..] => {}
        _ => return None,
    }
    let [provider, event_id, time, channel, computer] = found;
    let [from_provider, _, from_time, from_channel, from_computer] = plan.from;
    let text = |from: From, field: Field, value: Option<Value<'a>>| match from {
        From::Absent => Some(None),
        From::Literal => Some(Some(Text::Literal { definition, field })),
        From::Value => match value? {
            Value {
                kind: ty::STRING,
                bytes,
                ..
            } => Some(Some(Text::Utf16(bytes))),
            Value { kind: ty::NULL, .. } => Some(None),
            _ => None,
        },
        From::Complex => None,
    };
    let event_id = match event_id? {
        Value {
            kind: ty::UINT16,
            bytes,
            ..
        } => le_u16(bytes, 0)?,
        _ => return None,
    };
    let time = match (from_time, time) {
        (From::Absent, _) => None,
        (From::Value, Some(Value { kind: ty::NULL, .. })) => None,
        (
            From::Value,
            Some(Value {
                kind: ty::FILETIME,
                bytes,
                ..
            }),
        ) => match le_u64(bytes, 0)? {
            // No time ([`is_no_time`](super::super::xml::is_no_time)).
            0 => None,
            t => Some(Some(t).filter(|t| (FILETIME_MIN..FILETIME_MAX).contains(t))?),
        },
        _ => return None,
    };
    Some(Fields {
        definition,
        values_at: descriptors_at,
        event_id,
        provider: text(from_provider, Field::Provider, provider)??,
        channel: text(from_channel, Field::Channel, channel)?,
        computer: text(from_computer, Field::Computer, computer)?,
        time,
    })
}

/// A template instance at the start of `binxml` (a fragment header first, or not): its
/// definition's offset and where its value count is (after an inline definition).
fn instance_header(data: &[u8], binxml: std::ops::Range<usize>) -> Option<(u32, usize)> {
    let bytes = data.get(binxml.clone())?;
    let body = match bytes {
        [0x0f, _, _, _, 0x0c, _, ..] => 5,
        [0x0c, ..] => 1,
        _ => return None,
    };
    let mut pos = binxml.start + body + 1; // the instance's unknown byte
    pos += 4; // template id
    let definition = le_u32(data, pos)?;
    pos += 4;
    if usize::try_from(definition).ok()? == pos {
        // The definition follows inline (its first use in the chunk): next offset, GUID,
        // size, then the definition itself.
        let size = usize::try_from(le_u32(data, pos + 20)?).ok()?;
        pos = pos.checked_add(24)?.checked_add(size)?;
    }
    Some((definition, pos))
}

/// The values of the instance whose value count is at `pos`, each with its index, checked
/// as the crate reads them: how many there are and where they end.
fn instance_values<'a>(
    data: &'a [u8],
    mut pos: usize,
    mut each: impl FnMut(usize, Value<'a>),
) -> Option<(usize, usize)> {
    let count = usize::try_from(le_u32(data, pos)?).ok()?;
    pos += 4;
    let descriptors = data.get(pos..pos.checked_add(count.checked_mul(4)?)?)?;
    pos += descriptors.len();
    for (index, descriptor) in descriptors.chunks_exact(4).enumerate() {
        let (size, kind) = (usize::from(le_u16(descriptor, 0)?), *descriptor.get(2)?);
        let value = data.get(pos..pos.checked_add(size)?)?;
        if !value_reads(kind, value) {
            return None;
        }
        each(
            index,
            Value {
                kind,
                bytes: value,
                at: pos,
            },
        );
        pos += size;
    }
    Some((count, pos))
}

/// The template instance a BinXML value holds (a fragment header, one instance, nothing
/// after it but an end-of-stream token): its definition, its values into `out`.
pub(super) fn nested_instance<'a>(
    data: &'a [u8],
    value: Value<'a>,
    out: &mut Vec<Value<'a>>,
) -> Option<u32> {
    let range = value.at..value.at.checked_add(value.bytes.len())?;
    let (definition, at) = instance_header(data, range.clone())?;
    let (_, end) = instance_values(data, at, |_, v| out.push(v))?;
    match data.get(end..range.end)? {
        [] | [0x00] => Some(definition),
        _ => None,
    }
}

/// Whether every string-table chain of the chunk reads as the crate reads it (it skips a
/// chunk whose table does not).
fn string_table_reads(data: &[u8]) -> bool {
    let mut seen: Vec<usize> = Vec::new();
    for bucket in 0..64 {
        let Some(mut offset) = le_u32(data, 128 + 4 * bucket) else {
            return false;
        };
        while offset > 0 {
            let Ok(at) = usize::try_from(offset) else {
                return false;
            };
            if seen.contains(&at) {
                break;
            }
            seen.push(at);
            // next (4), hash (2), length (2), UTF-16 characters, NUL (2)
            let (Some(next), Some(len)) = (le_u32(data, at), le_u16(data, at + 6)) else {
                return false;
            };
            let chars = at + 8..at + 8 + 2 * usize::from(len);
            if data.get(chars.start..chars.end + 2).is_none()
                || data.get(chars).and_then(utf16).is_none()
            {
                return false;
            }
            offset = next;
        }
    }
    true
}

/// Counts a record in its group; whether the record started it (the next in `groups`).
fn add<'a>(groups: &mut Vec<Group<'a>>, fields: &Fields<'a>) -> bool {
    let mut new = false;
    let group = match groups.iter_mut().position(|g| {
        g.provider == fields.provider
            && g.channel == fields.channel
            && g.computer == fields.computer
    }) {
        Some(i) => groups.get_mut(i),
        None => {
            new = true;
            groups.push(Group {
                provider: fields.provider,
                channel: fields.channel,
                computer: fields.computer,
                events: 0,
                undated: 0,
                oldest: u64::MAX,
                newest: 0,
            });
            groups.last_mut()
        }
    };
    if let Some(group) = group {
        group.events += 1;
        match fields.time {
            Some(t) => {
                group.oldest = group.oldest.min(t);
                group.newest = group.newest.max(t);
            }
            None => group.undated += 1,
        }
    }
    new
}

/// A group's tally, its names normalised as an event's are (`None` when one cannot be, or
/// the provider is empty: the crate's read reports those).
fn finish(group: &Group<'_>, templates: &TemplateCache) -> Option<Tally> {
    let decode = |text: Text<'_>, field: Field| -> Option<String> {
        let mut s = match text {
            Text::Utf16(bytes) => utf16(bytes)?,
            Text::Literal { definition, field } => match templates.get(definition)?.source(field) {
                Source::Literal(s) => s.clone(),
                _ => return None,
            },
        };
        if field.is_text() {
            cap_field(&mut s);
        }
        Some(s.trim().to_owned())
    };
    let provider = decode(group.provider, Field::Provider).filter(|p| !p.is_empty())?;
    let optional = |text: Option<Text<'_>>, field| match text {
        None => Some(None),
        Some(text) => decode(text, field).map(|s| Some(s).filter(|s| !s.is_empty())),
    };
    let dated = group.events > group.undated;
    Some(Tally {
        provider,
        channel: optional(group.channel, Field::Channel)?,
        computer: optional(group.computer, Field::Computer)?,
        events: group.events,
        undated: group.undated,
        oldest: if dated {
            Some(filetime(group.oldest)?)
        } else {
            None
        },
        newest: if dated {
            Some(filetime(group.newest)?)
        } else {
            None
        },
    })
}

/// The instant a FILETIME (100 ns ticks since 1601-01-01 UTC) counts to.
pub(super) fn filetime(ticks: u64) -> Option<Timestamp> {
    const TICKS_PER_SECOND: u64 = 10_000_000;
    const UNIX_EPOCH_SECONDS: i64 = 11_644_473_600;
    let seconds = i64::try_from(ticks / TICKS_PER_SECOND).ok()? - UNIX_EPOCH_SECONDS;
    let nanos = i32::try_from((ticks % TICKS_PER_SECOND) * 100).ok()?;
    Timestamp::new(seconds, nanos).ok()
}

fn le_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        data.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        data.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}
