//! An `.evtx` record's `<System>` fields read straight from its template's substitution
//! values, without rendering the record as XML and reading the XML back.
//!
//! Almost every record is one template instance: a template definition (BinXML stored once
//! per chunk) plus the record's values. The definition says which value fills
//! `Provider/@Name`, `EventID`, `TimeCreated/@SystemTime`, `Channel`, `Computer`, …; this
//! module walks each definition once per chunk to learn that, then takes those values from
//! each record. The strings go through the same normalisation as the XML path
//! ([`super::xml::record_event_from_system`]), so the event equals the rendered one minus
//! its event data and message (the tests check this on every corpus record).
//!
//! Anything unusual — a record that is not a single template instance, a field made of
//! several parts, a value type not listed here, an unreadable definition — answers `None`,
//! and the caller renders the record in full as before.

use std::collections::HashMap;

use evtx::EvtxRecord;
use evtx::binxml::value_variant::BinXmlValue;

use super::super::limits::cap_field;
use super::super::xml::SystemText;

/// The `<System>` fields this module fills, as (element, attribute) paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Provider,
    EventId,
    Qualifiers,
    Level,
    Time,
    RecordId,
    Channel,
    Computer,
    UserSid,
}

const FIELDS: usize = 9;

impl Field {
    fn of(element: &str, attribute: Option<&str>) -> Option<Field> {
        Some(match (element, attribute) {
            ("Provider", Some("Name")) => Field::Provider,
            ("EventID", None) => Field::EventId,
            ("EventID", Some("Qualifiers")) => Field::Qualifiers,
            ("Level", None) => Field::Level,
            ("TimeCreated", Some("SystemTime")) => Field::Time,
            ("EventRecordID", None) => Field::RecordId,
            ("Channel", None) => Field::Channel,
            ("Computer", None) => Field::Computer,
            ("Security", Some("UserID")) => Field::UserSid,
            _ => return None,
        })
    }

    /// Element text is capped like the XML reader's; attribute values are not.
    pub(super) fn is_text(self) -> bool {
        matches!(
            self,
            Field::EventId | Field::Level | Field::RecordId | Field::Channel | Field::Computer
        )
    }
}

/// Where one field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// Not in the template: the field is absent.
    Absent,
    /// Written in the template itself.
    Literal(String),
    /// The record's substitution value with this index.
    Value(u16),
    /// Several parts, or a part this module does not read: render the record instead.
    Complex,
}

/// What a template definition says about the `<System>` fields.
#[derive(Debug, Clone)]
pub(crate) struct SystemMap {
    sources: [Source; FIELDS],
}

impl SystemMap {
    /// Where `field` comes from.
    pub(super) fn source(&self, field: Field) -> &Source {
        ALL_FIELDS
            .iter()
            .position(|f| *f == field)
            .and_then(|i| self.sources.get(i))
            .unwrap_or(&Source::Complex)
    }
}

/// Template definitions seen in one chunk, by offset (`None`: not readable here).
#[derive(Debug, Default)]
pub(crate) struct TemplateCache {
    maps: HashMap<u32, Option<SystemMap>>,
}

impl TemplateCache {
    /// What the definition at `offset` of the chunk `data` says about the `<System>` fields
    /// (read once per chunk), or `None` when it cannot be read here.
    pub(super) fn map(&mut self, data: &[u8], offset: u32) -> Option<&SystemMap> {
        self.maps
            .entry(offset)
            .or_insert_with(|| read_definition(data, offset))
            .as_ref()
    }

    /// A definition already read by [`TemplateCache::map`].
    pub(super) fn get(&self, offset: u32) -> Option<&SystemMap> {
        self.maps.get(&offset)?.as_ref()
    }

    /// The record's `<System>` fields as text, or `None` when the record must be rendered.
    pub(crate) fn system_text(&mut self, record: &EvtxRecord<'_>) -> Option<SystemText> {
        let instances = record.template_instances().ok()?;
        let [instance] = instances.as_slice() else {
            return None;
        };
        let map = self.map(record.chunk.data, instance.template_def_offset)?;
        let mut text: [Option<String>; FIELDS] = Default::default();
        for (slot, source) in text.iter_mut().zip(&map.sources) {
            *slot = match source {
                Source::Absent => None,
                Source::Literal(s) => Some(s.clone()),
                Source::Value(i) => Some(value_text(instance.values.get(usize::from(*i))?)?),
                Source::Complex => return None,
            };
        }
        for (slot, field) in text.iter_mut().zip(ALL_FIELDS) {
            if let Some(s) = slot.as_mut()
                && field.is_text()
            {
                cap_field(s);
            }
        }
        let [
            provider,
            event_id,
            qualifiers,
            level,
            time,
            record_id,
            channel,
            computer,
            user_sid,
        ] = text;
        Some(SystemText {
            provider,
            event_id,
            qualifiers,
            level,
            time,
            record_id,
            channel,
            computer,
            user_sid,
        })
    }
}

const ALL_FIELDS: [Field; FIELDS] = [
    Field::Provider,
    Field::EventId,
    Field::Qualifiers,
    Field::Level,
    Field::Time,
    Field::RecordId,
    Field::Channel,
    Field::Computer,
    Field::UserSid,
];

/// A substitution value as the XML renderer writes it, for the types `<System>` uses.
fn value_text(value: &BinXmlValue<'_>) -> Option<String> {
    match value {
        BinXmlValue::NullType => Some(String::new()),
        BinXmlValue::StringType(s) => s.to_string().ok(),
        BinXmlValue::AnsiStringType(s) => Some((*s).to_owned()),
        BinXmlValue::Int8Type(_)
        | BinXmlValue::UInt8Type(_)
        | BinXmlValue::Int16Type(_)
        | BinXmlValue::UInt16Type(_)
        | BinXmlValue::Int32Type(_)
        | BinXmlValue::UInt32Type(_)
        | BinXmlValue::Int64Type(_)
        | BinXmlValue::UInt64Type(_)
        | BinXmlValue::FileTimeType(_)
        | BinXmlValue::SysTimeType(_)
        | BinXmlValue::SidType(_) => Some(value.to_string()),
        _ => None,
    }
}

/// A little-endian reader over chunk bytes that answers `None` past the end.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.data.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes([
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        ]))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        (end <= self.data.len()).then(|| self.pos = end)
    }

    /// UTF-16LE text of `chars` code units.
    fn utf16(&mut self, chars: usize) -> Option<String> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(chars * 2)?)?;
        self.pos += chars * 2;
        utf16(bytes)
    }

    /// A name reference: an offset into the chunk's string table, whose entry may follow
    /// inline (then it is skipped). Returns the name when it is one of [`KNOWN_NAMES`], `""`
    /// for any other (valid) name.
    fn name(&mut self) -> Option<&'static str> {
        let offset = usize::try_from(self.u32()?).ok()?;
        if offset == self.pos {
            // next string (4), hash (2), length (2), UTF-16 characters, NUL (2)
            let mut c = Cursor {
                data: self.data,
                pos: self.pos + 6,
            };
            let len = usize::from(c.u16()?);
            self.skip(10 + 2 * len)?;
        }
        let mut c = Cursor {
            data: self.data,
            pos: offset.checked_add(6)?,
        };
        let len = usize::from(c.u16()?);
        let bytes = self
            .data
            .get(c.pos..c.pos.checked_add(len.checked_mul(2)?)?)?;
        known_name(bytes)
    }
}

/// The element and attribute names [`Field::of`] looks for.
const KNOWN_NAMES: [&str; 14] = [
    "Event",
    "System",
    "Provider",
    "EventID",
    "Level",
    "TimeCreated",
    "EventRecordID",
    "Channel",
    "Computer",
    "Security",
    "Name",
    "Qualifiers",
    "SystemTime",
    "UserID",
];

/// The UTF-16LE name `bytes` as one of [`KNOWN_NAMES`], `""` when it is another name, `None`
/// when it is not valid UTF-16 (without allocating: definitions are read once per chunk).
fn known_name(bytes: &[u8]) -> Option<&'static str> {
    let is = |known: &str| {
        known.len() * 2 == bytes.len()
            && known
                .bytes()
                .zip(bytes.chunks_exact(2))
                .all(|(k, unit)| unit == [k, 0])
    };
    if let Some(known) = KNOWN_NAMES.into_iter().find(|k| is(k)) {
        return Some(known);
    }
    char::decode_utf16(utf16_units(bytes))
        .all(|c| c.is_ok())
        .then_some("")
}

/// The UTF-16 code units of little-endian `bytes` (an odd last byte is ignored).
pub(super) fn utf16_units(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes.chunks_exact(2).map(|p| {
        u16::from_le_bytes([
            p.first().copied().unwrap_or(0),
            p.get(1).copied().unwrap_or(0),
        ])
    })
}

/// Strict UTF-16LE text: `None` for an unpaired surrogate.
pub(super) fn utf16(bytes: &[u8]) -> Option<String> {
    char::decode_utf16(utf16_units(bytes))
        .collect::<Result<String, _>>()
        .ok()
}

/// Which field a value part goes to, if any: an attribute of an element directly under
/// `<Event><System>` while its start tag is read, or such an element's text.
fn target(stack: &[&str], open: Option<&str>, attribute: Option<&str>) -> Option<Field> {
    let in_system =
        |depth: usize| stack.len() == depth && stack.get(1).is_some_and(|s| *s == "System");
    match (open, attribute) {
        (Some(element), Some(attr)) if in_system(2) => Field::of(element, Some(attr)),
        (None, _) if in_system(3) => Field::of(stack.get(2)?, None),
        _ => None,
    }
}

/// Walks a template definition (header at `offset`: next offset, GUID, data size; then
/// BinXML with dependency ids) and maps the `<System>` fields to their sources.
fn read_definition(data: &[u8], offset: u32) -> Option<SystemMap> {
    let start = usize::try_from(offset).ok()?;
    let mut c = Cursor { data, pos: start };
    c.skip(20)?;
    let size = usize::try_from(c.u32()?).ok()?;
    let end = c.pos.checked_add(size)?;
    let mut sources: [Source; FIELDS] = std::array::from_fn(|_| Source::Absent);
    // Element names from the root; `open` is the element whose start tag is being read.
    let mut stack: Vec<&str> = Vec::new();
    let mut open: Option<&str> = None;
    let mut attribute: Option<&str> = None;
    let mut root_seen = false;
    while c.pos < end {
        let token = c.u8()?;
        let part = match token {
            0x00 => break,
            0x0f => {
                c.skip(3)?;
                None
            }
            0x01 | 0x41 => {
                c.skip(2 + 4)?; // dependency id, data size
                let name = c.name()?;
                if token == 0x41 {
                    c.skip(4)?; // attribute list size
                }
                if stack.is_empty() {
                    if root_seen || name != "Event" {
                        return None;
                    }
                    root_seen = true;
                }
                attribute = None;
                open = Some(name);
                None
            }
            0x02 => {
                stack.push(open.take()?);
                attribute = None;
                None
            }
            0x03 => {
                open.take()?;
                attribute = None;
                None
            }
            0x04 => {
                stack.pop()?;
                None
            }
            0x05 | 0x45 => {
                let value_type = c.u8()?;
                if value_type != 0x01 {
                    // Only string literals are read; anything else: render the record.
                    Some(Source::Complex)
                } else {
                    let len = usize::from(c.u16()?);
                    Some(Source::Literal(c.utf16(len)?))
                }
            }
            0x06 | 0x46 => {
                open.as_ref()?;
                attribute = Some(c.name()?);
                None
            }
            0x07 | 0x47 => {
                let len = usize::from(c.u16()?);
                c.skip(2 * len)?;
                Some(Source::Complex)
            }
            0x08 | 0x48 => {
                c.skip(2)?;
                Some(Source::Complex)
            }
            0x09 | 0x49 => {
                c.name()?;
                Some(Source::Complex)
            }
            0x0a => {
                c.name()?;
                None
            }
            0x0b => {
                let len = usize::from(c.u16()?);
                c.skip(2 * len)?;
                None
            }
            0x0d | 0x0e => {
                let index = c.u16()?;
                c.skip(1)?; // value type
                Some(Source::Value(index))
            }
            _ => return None,
        };
        if let Some(part) = part
            && let Some(field) = target(&stack, open, attribute)
        {
            let slot = sources
                .iter_mut()
                .zip(ALL_FIELDS)
                .find(|(_, f)| *f == field)
                .map(|(s, _)| s)?;
            // A second part (text made of pieces, an attribute written twice): render.
            *slot = if *slot == Source::Absent {
                part
            } else {
                Source::Complex
            };
        }
    }
    // A `<Provider>` element with text instead of a Name attribute is read by the XML path's
    // fallback; those rare templates are rendered.
    (root_seen && stack.is_empty()).then_some(SystemMap { sources })
}
