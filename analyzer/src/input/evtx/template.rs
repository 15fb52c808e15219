//! An `.evtx` record's `<System>` fields read straight from its template's substitution
//! values, without rendering the record as XML and reading the XML back.
//!
//! Almost every record is one template instance: a template definition (BinXML stored once
//! per chunk) plus the record's values. The definition says which value fills
//! `Provider/@Name`, `EventID`, `TimeCreated/@SystemTime`, `Channel`, `Computer`, …; this
//! module walks each definition once per chunk to learn that (or finds it again where a
//! later chunk holds the same bytes: `cache.rs`), then takes those values from
//! each record. The strings go through the same normalisation as the XML path
//! ([`crate::input::xml::record_event_from_system`]), so the event equals the rendered one minus
//! its event data and message (the tests check this on every corpus record).
//!
//! Anything unusual — a record that is not a single template instance, a field made of
//! several parts, a value type not listed here, an unreadable definition — answers `None`,
//! and the caller renders the record in full as before.

use evtx::EvtxRecord;
use evtx::binxml::value_variant::BinXmlValue;

use super::super::is_positional_name;
use super::super::limits::{MAX_DATA_ITEMS, cap_field};
use super::super::xml::SystemText;

pub(crate) use cache::TemplateCache;
use cursor::{Cursor, ReadFrom};

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

/// What a template definition says about the `<System>` fields, and where its event data
/// comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SystemMap {
    sources: [Source; FIELDS],
    /// `None`: the event data cannot be built from the values here (the record is
    /// rendered instead).
    data: Option<Vec<DataEntry>>,
    /// The values elements of `<System>` depend on (left out when NULL).
    system_dependencies: Vec<u16>,
}

/// What the event data holds, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DataEntry {
    Item(DataItem),
    /// The value with this index, BinXML spliced in under `<Event>` (how Windows writes the
    /// `EventData` of most records: a template of its own, nested in the record's).
    Splice(u16),
}

/// One `EventData`/`UserData` value as the XML reader names it: a `<Data>`, a non-empty
/// `<Binary>`, or a leaf under `<UserData>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DataItem {
    /// `Name="…"`, `Param<n>` for an unnamed `<Data>`, `Binary`, or the leaf's name.
    pub(super) name: String,
    /// The element's text, in order.
    pub(super) parts: Vec<Part>,
    /// `<Binary>`: left out when its text is blank.
    pub(super) unless_blank: bool,
    /// Under `<UserData>`: a value only while it has no child elements.
    leaf: bool,
    /// The values the element and its parents depend on: left out when one is NULL.
    pub(super) depends_on: Vec<u16>,
    /// Dropped: a `<UserData>` element that turned out to have children.
    removed: bool,
    /// Whether `name` is a position (`Param1`…, [`is_positional_name`]).
    pub(super) positional: bool,
}

impl DataItem {
    fn new(name: String) -> DataItem {
        DataItem {
            positional: is_positional_name(&name),
            name,
            parts: Vec::new(),
            unless_blank: false,
            leaf: false,
            depends_on: Vec::new(),
            removed: false,
        }
    }
}

/// A piece of an element's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    Literal(String),
    /// The record's substitution value with this index.
    Value(u16),
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

    /// Every `<System>` field and where it comes from.
    pub(super) fn sources(&self) -> impl Iterator<Item = (Field, &Source)> {
        ALL_FIELDS.into_iter().zip(&self.sources)
    }

    /// The event data's values in document order, or `None` when they cannot be built from
    /// the record's values (the record is then rendered).
    pub(super) fn data(&self) -> Option<impl Iterator<Item = &DataEntry>> {
        Some(self.data.as_ref()?.iter().filter(|entry| match entry {
            DataEntry::Item(item) => !item.removed,
            DataEntry::Splice(_) => true,
        }))
    }

    /// The values elements of `<System>` depend on: left out when one is NULL.
    pub(super) fn system_dependencies(&self) -> &[u16] {
        &self.system_dependencies
    }

    /// Whether the value with this index is spliced in as BinXML.
    pub(super) fn splices(&self, index: usize) -> bool {
        self.data.iter().flatten().any(|entry| match entry {
            DataEntry::Splice(i) => usize::from(*i) == index,
            DataEntry::Item(_) => false,
        })
    }
}

/// How much of a definition is read: its `<System>` fields alone (all that counting needs),
/// or its event data too, as a record's template or as one nested in a record's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Reading {
    System,
    Record,
    Nested,
}

impl TemplateCache {
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

/// The element and attribute names [`Field::of`] looks for.
const KNOWN_NAMES: [&str; 19] = [
    "Event",
    "System",
    "EventData",
    "UserData",
    "Data",
    "Binary",
    "RenderingInfo",
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
fn target(stack: &[(&str, &[u8])], open: Option<&str>, attribute: Option<&str>) -> Option<Field> {
    let in_system =
        |depth: usize| stack.len() == depth && stack.get(1).is_some_and(|(s, _)| *s == "System");
    match (open, attribute) {
        (Some(element), Some(attr)) if in_system(2) => Field::of(element, Some(attr)),
        (None, _) if in_system(3) => Field::of(stack.get(2)?.0, None),
        _ => None,
    }
}

/// The event data of a definition as it is read: one [`DataItem`] per value the XML
/// reader would give, or `None` once something is met that only a rendering gets right.
struct DataLayout {
    items: Option<Vec<DataEntry>>,
    /// Per element on the stack: the item its text goes to.
    item_of: Vec<Option<usize>>,
    /// Per element on the stack: the value it depends on (none for the template's root).
    dependencies: Vec<Option<u16>>,
    /// The values elements of `<System>` depend on.
    system_dependencies: Vec<u16>,
    /// The `Name` of the `<Data>` whose start tag is being read.
    pending_name: Option<String>,
    unnamed: usize,
}

impl DataLayout {
    fn give_up(&mut self) {
        self.items = None;
    }

    /// An element starts (its name read, its start tag not yet closed): an element under a
    /// `<UserData>` item has children, so it is no leaf.
    fn open(&mut self, raw_name: &[u8]) {
        if self.items.is_none() {
            return;
        }
        // A prefixed name (`x:Data`) is matched by its local name by the XML reader.
        if utf16_units(raw_name).any(|u| u == u16::from(b':')) {
            self.give_up();
        }
        self.pending_name = None;
        // The reader ignores a `<Data>`'s children; a `<UserData>` element with children is
        // not a value.
        if let (Some(items), Some(Some(parent))) = (self.items.as_mut(), self.item_of.last())
            && let Some(DataEntry::Item(item)) = items.get_mut(*parent)
            && item.leaf
        {
            item.removed = true;
        }
    }

    /// The element `stack`'s last is pushed (its start tag closed): the item it is, if any.
    fn push(&mut self, stack: &[(&'static str, &[u8])], dependency: Option<u16>) {
        self.dependencies.push(dependency);
        let section = stack.get(1).map(|(known, _)| *known);
        if let (Some("System"), Some(d)) = (section, dependency) {
            self.system_dependencies.push(d);
        }
        if self.items.is_none() {
            self.item_of.push(None);
            return;
        }
        let depth = stack.len();
        let element = stack.last().map_or("", |(known, _)| *known);
        let item = match (section, depth) {
            (Some("EventData"), 3) if element == "Data" => {
                let name = match self.pending_name.take() {
                    Some(name) => name,
                    None => {
                        self.unnamed += 1;
                        format!("Param{}", self.unnamed)
                    }
                };
                Some(DataItem::new(name))
            }
            (Some("EventData"), 3) if element == "Binary" => Some(DataItem {
                unless_blank: true,
                ..DataItem::new("Binary".to_owned())
            }),
            (Some("UserData"), 4..) => match stack.last().and_then(|(_, raw)| utf16(raw)) {
                Some(name) => Some(DataItem {
                    leaf: true,
                    ..DataItem::new(name)
                }),
                None => {
                    self.give_up();
                    None
                }
            },
            (Some("RenderingInfo"), _) => {
                self.give_up();
                None
            }
            _ => None,
        };
        let item = item.map(|item| DataItem {
            depends_on: self.dependencies.iter().flatten().copied().collect(),
            ..item
        });
        let index = match (item, self.items.as_mut()) {
            (Some(item), Some(items)) if items.len() < MAX_DATA_ITEMS => {
                items.push(DataEntry::Item(item));
                Some(items.len() - 1)
            }
            (Some(_), Some(_)) => {
                self.give_up();
                None
            }
            _ => None,
        };
        self.item_of.push(index);
    }

    fn pop(&mut self) {
        self.item_of.pop();
        self.dependencies.pop();
    }

    /// A piece of text (`None`: one the reader would read otherwise than this module) in
    /// the start tag of `open` under `stack`, or in the element on top of `stack`.
    fn part(
        &mut self,
        part: Option<Part>,
        stack: &[(&'static str, &[u8])],
        open: Option<&str>,
        attribute: Option<&str>,
    ) {
        if self.items.is_none() {
            return;
        }
        if let Some(element) = open {
            let in_event_data =
                stack.len() == 2 && stack.get(1).is_some_and(|(n, _)| *n == "EventData");
            if in_event_data && element == "Data" && attribute == Some("Name") {
                match part {
                    // An empty attribute may be left out by the rendering.
                    Some(Part::Literal(name))
                        if self.pending_name.is_none() && !name.is_empty() =>
                    {
                        self.pending_name = Some(name);
                    }
                    _ => self.give_up(),
                }
            }
            return;
        }
        if stack.len() == 1 {
            // Text of `<Event>` itself is ignored by the reader; a value there may be BinXML.
            if let (Some(Part::Value(i)), Some(items)) = (part, self.items.as_mut()) {
                items.push(DataEntry::Splice(i));
            }
            return;
        }
        let Some(Some(index)) = self.item_of.last() else {
            return;
        };
        match (
            part,
            self.items.as_mut().and_then(|items| items.get_mut(*index)),
        ) {
            (Some(part), Some(DataEntry::Item(item))) => item.parts.push(part),
            (None, _) => self.give_up(),
            (Some(_), _) => {}
        }
    }
}

/// Walks a template definition (header at `offset`: next offset, GUID, data size; then
/// BinXML with dependency ids) and maps the `<System>` fields, and the event data unless
/// `reading` is [`Reading::System`], to their sources. A [`Reading::Nested`] definition is
/// one spliced in under `<Event>` (its elements are `<Event>`'s children). With it, what it
/// was read from ([`ReadFrom`]).
fn read_definition(data: &[u8], offset: u32, reading: Reading) -> (Option<SystemMap>, ReadFrom) {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let mut c = Cursor::at(data, start);
    c.names.floor = start.saturating_add(20);
    let map = definition_at(&mut c, reading);
    (map, c.read_from())
}

/// [`read_definition`] from `c` at the definition's start: the 20 bytes of its header that
/// say where the next is and its GUID are skipped (they do not change what it says).
fn definition_at(c: &mut Cursor<'_>, reading: Reading) -> Option<SystemMap> {
    let nested = reading == Reading::Nested;
    c.skip(20)?;
    let size = usize::try_from(c.u32()?).ok()?;
    let end = c.pos.checked_add(size)?;
    let mut sources: [Source; FIELDS] = std::array::from_fn(|_| Source::Absent);
    // Element names from the root (known name, UTF-16 bytes); `open` is the element whose
    // start tag is being read.
    let mut stack: Vec<(&'static str, &[u8])> = Vec::new();
    let mut open: Option<(&'static str, &[u8])> = None;
    let mut attribute: Option<&str> = None;
    let mut root_seen = false;
    let mut open_dependency: Option<u16> = None;
    let mut layout = DataLayout {
        items: (reading != Reading::System).then(Vec::new),
        item_of: Vec::new(),
        dependencies: Vec::new(),
        system_dependencies: Vec::new(),
        pending_name: None,
        unnamed: 0,
    };
    if nested {
        stack.push(("Event", &[]));
        layout.item_of.push(None);
        layout.dependencies.push(None);
        root_seen = true;
    }
    let base = stack.len();
    while c.pos < end {
        let token = c.u8()?;
        let part = match token {
            0x00 => break,
            0x0f => {
                c.skip(3)?;
                None
            }
            0x01 | 0x41 => {
                // An element whose dependency names a NULL value is left out.
                let dependency = c.u16()?;
                open_dependency =
                    (dependency != u16::MAX && stack.len() > base).then_some(dependency);
                c.skip(4)?; // data size
                let name = c.name_and_text()?;
                if token == 0x41 {
                    c.skip(4)?; // attribute list size
                }
                if stack.is_empty() {
                    if root_seen || name.0 != "Event" {
                        return None;
                    }
                    root_seen = true;
                }
                attribute = None;
                layout.open(name.1);
                open = Some(name);
                None
            }
            0x02 => {
                stack.push(open.take()?);
                layout.push(&stack, open_dependency.take());
                attribute = None;
                None
            }
            0x03 => {
                stack.push(open.take()?);
                layout.push(&stack, open_dependency.take());
                stack.pop();
                layout.pop();
                attribute = None;
                None
            }
            0x04 => {
                if stack.len() <= base {
                    return None;
                }
                stack.pop()?;
                layout.pop();
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
        let Some(part) = part else {
            continue;
        };
        let open_name = open.map(|(known, _)| known);
        let data_part = match &part {
            _ if layout.items.is_none() => None,
            Source::Literal(s) => Some(Part::Literal(s.clone())),
            Source::Value(i) => Some(Part::Value(*i)),
            Source::Absent | Source::Complex => None,
        };
        layout.part(data_part, &stack, open_name, attribute);
        if let Some(field) = target(&stack, open_name, attribute) {
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
    (root_seen && stack.len() == base).then_some(SystemMap {
        sources,
        system_dependencies: layout.system_dependencies,
        data: layout.items,
    })
}

mod cache;
mod cursor;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
