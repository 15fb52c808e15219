//! Builds valid `.evtx` files from [`Event`]s, for tests: a file header, 64 KiB chunks with
//! their string and template tables, records in binary XML (templated like Windows writes
//! them, or plain), and every CRC32. Its output is checked by reading it back through the
//! `evtx` crate (this crate's tests).
//!
//! ```
//! use testkit::evtx_writer::{EvtxWriter, event};
//! let bytes = EvtxWriter::new()
//!     .push(event("Schannel", 36871).level(2))
//!     .to_bytes()
//!     .unwrap();
//! assert!(bytes.starts_with(b"ElfFile\0"));
//! ```

mod binxml;
mod filler;

use analyzer::{Event, Level, Location, Origin};
use binxml::{ChunkTables, Element, Encoder, Value, guid_bytes, sid_bytes};
use jiff::Timestamp;
use std::collections::HashSet;

pub use filler::{Filler, bury, filler_events};

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 64 * 1024;
const CHUNK_HEADER_SIZE: usize = 512;
/// services.exe-like ids; the values do not matter to readers.
const PROCESS_ID: u32 = 668;
const THREAD_ID: u32 = 712;
const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// Where an event's data goes in its XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLayout {
    /// `<EventData><Data Name="…">` (manifest providers).
    Named,
    /// `<EventData><Data>` without names (classic providers); read back as `Param1…`.
    Unnamed,
    /// `<UserData><{element} xmlns="Event_NS"><{name}>…` (RemoteConnectionManager 1149 …).
    UserData { element: String },
    /// `<EventData><Data Name="…">` with each value stored as the type Windows gives it
    /// (the Security log's SIDs, hex status codes, GUIDs), in data order; a value that does
    /// not parse as its type, or past the list, is stored as text.
    Typed(Vec<DataType>),
}

/// How a [`DataLayout::Typed`] value is stored; it reads back as the same text when written
/// as the `evtx` crate renders it (`0xc000006d`, `S-1-5-18`, lower-case GUIDs in braces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Str,
    /// `S-1-5-18`.
    Sid,
    /// Decimal.
    U32,
    /// `0x…`, lower case.
    Hex32,
    /// `0x…`, lower case.
    Hex64,
    /// `{…}`, lower case.
    Guid,
}

impl DataType {
    fn value(self, text: &str) -> Value {
        let hex = |t: &str| t.strip_prefix("0x").map(str::to_owned);
        let typed = match self {
            DataType::Str => None,
            DataType::Sid => sid_bytes(text).map(Value::Sid),
            DataType::U32 => text.parse().ok().map(Value::U32),
            DataType::Hex32 => hex(text)
                .and_then(|h| u32::from_str_radix(&h, 16).ok())
                .map(Value::Hex32),
            DataType::Hex64 => hex(text)
                .and_then(|h| u64::from_str_radix(&h, 16).ok())
                .map(Value::Hex64),
            DataType::Guid => guid_bytes(text).map(Value::Guid),
        };
        typed.unwrap_or_else(|| Value::Str(text.to_owned()))
    }
}

impl DataLayout {
    /// Unnamed when every name is `Param1`, `Param2`, … in order; named otherwise.
    pub fn infer(event: &Event) -> DataLayout {
        let positional = event
            .data
            .iter()
            .enumerate()
            .all(|(i, (name, _))| *name == format!("Param{}", i + 1));
        if positional && !event.data.is_empty() {
            DataLayout::Unnamed
        } else {
            DataLayout::Named
        }
    }
}

/// An event to write and where its data goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub event: Event,
    pub layout: DataLayout,
}

impl From<Event> for Record {
    fn from(event: Event) -> Record {
        let layout = DataLayout::infer(&event);
        Record { event, layout }
    }
}

/// Why a file could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvtxWriteError {
    #[error(
        "event {index} ({provider} {event_id}) needs {bytes} bytes, more than fits in a 64 KiB chunk"
    )]
    EventTooLarge {
        index: usize,
        provider: String,
        event_id: u16,
        bytes: usize,
    },
    #[error("two events have record id {0}: the evtx reader would drop records after one")]
    DuplicateRecordId(u64),
    #[error("{0} chunks do not fit the file header's 16-bit chunk count")]
    TooManyChunks(usize),
}

/// Builds an `.evtx` file.
#[derive(Debug, Clone)]
pub struct EvtxWriter {
    records: Vec<Record>,
    templates: bool,
    dirty: bool,
    first_record_id: u64,
    default_computer: String,
    start: Timestamp,
}

impl Default for EvtxWriter {
    fn default() -> EvtxWriter {
        EvtxWriter::new()
    }
}

impl EvtxWriter {
    /// Templated records (as Windows writes them), record ids from 1, computer `RDPFIX-VM`.
    pub fn new() -> EvtxWriter {
        EvtxWriter {
            records: Vec::new(),
            templates: true,
            dirty: false,
            first_record_id: 1,
            default_computer: "RDPFIX-VM".to_owned(),
            start: Timestamp::constant(1_700_000_000, 0),
        }
    }

    /// Write every record as a plain element tree, without templates.
    pub fn plain(&mut self) -> &mut Self {
        self.templates = false;
        self
    }

    /// Set the file header's "dirty" flag (a log copied while Windows was writing it).
    pub fn dirty(&mut self) -> &mut Self {
        self.dirty = true;
        self
    }

    /// Record id of the first event without one of its own.
    pub fn first_record_id(&mut self, id: u64) -> &mut Self {
        self.first_record_id = id;
        self
    }

    /// Time of events without one: `start`, then one second apart.
    pub fn start(&mut self, start: Timestamp) -> &mut Self {
        self.start = start;
        self
    }

    /// Computer of events without one.
    pub fn computer(&mut self, name: &str) -> &mut Self {
        self.default_computer = name.to_owned();
        self
    }

    /// Appends one event (an [`Event`], or a [`Record`] to choose its data layout).
    pub fn push(&mut self, record: impl Into<Record>) -> &mut Self {
        self.records.push(record.into());
        self
    }

    /// Appends events in order.
    pub fn extend<R: Into<Record>>(&mut self, records: impl IntoIterator<Item = R>) -> &mut Self {
        self.records.extend(records.into_iter().map(Into::into));
        self
    }

    /// The events as they will be read back: ids, times and computers filled in.
    pub fn events(&self) -> Vec<Event> {
        self.completed().into_iter().map(|r| r.event).collect()
    }

    /// Every record with its id, time, computer, channel and level. An event without an id
    /// gets the one after the record before it, skipping every id another record has (its
    /// own, or one given earlier): events mixed into real ones (which keep theirs) never share
    /// an id with them. The `evtx` crate stops reading a chunk at the record whose id is the
    /// chunk's last, so a shared id loses the records after it.
    fn completed(&self) -> Vec<Record> {
        let mut used: HashSet<u64> = self
            .records
            .iter()
            .filter_map(|r| r.event.record_id)
            .collect();
        let mut next_id = self.first_record_id;
        let mut time = self.start;
        self.records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                let id = match r.event.record_id {
                    Some(id) => id,
                    None => {
                        while used.contains(&next_id) {
                            next_id = next_id.saturating_add(1);
                        }
                        used.insert(next_id);
                        next_id
                    }
                };
                r.event.record_id = Some(id);
                next_id = id.saturating_add(1);
                let t = *r.event.time_created.get_or_insert(time);
                time = t
                    .checked_add(jiff::SignedDuration::from_secs(1))
                    .unwrap_or(t);
                r.event
                    .computer
                    .get_or_insert_with(|| self.default_computer.clone());
                r.event.channel.get_or_insert_with(|| "System".to_owned());
                r.event.level.get_or_insert(Level::Information);
                r
            })
            .collect()
    }

    /// The file's bytes. Two events given the same record id are an error: the file could
    /// not be read back whole.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EvtxWriteError> {
        let records = self.completed();
        let mut ids = HashSet::new();
        if let Some(id) = records
            .iter()
            .filter_map(|r| r.event.record_id)
            .find(|id| !ids.insert(*id))
        {
            return Err(EvtxWriteError::DuplicateRecordId(id));
        }
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let mut current = ChunkBuilder::new();
        for (index, record) in records.iter().enumerate() {
            if current.try_push(record, self.templates) {
                continue;
            }
            if current.count == 0 {
                return Err(too_large(index, record, self.templates));
            }
            chunks.push(current.finish());
            current = ChunkBuilder::new();
            if !current.try_push(record, self.templates) {
                return Err(too_large(index, record, self.templates));
            }
        }
        if current.count > 0 || chunks.is_empty() {
            chunks.push(current.finish());
        }
        let count =
            u16::try_from(chunks.len()).map_err(|_| EvtxWriteError::TooManyChunks(chunks.len()))?;
        let next_record_id = records
            .iter()
            .filter_map(|r| r.event.record_id)
            .max()
            .map_or(1, |m| m + 1);
        let mut file = file_header(count, next_record_id, self.dirty);
        for chunk in chunks {
            file.extend_from_slice(&chunk);
        }
        Ok(file)
    }
}

fn too_large(index: usize, record: &Record, templates: bool) -> EvtxWriteError {
    let mut probe = ChunkBuilder::new();
    probe.data = Vec::new();
    let mut tables = ChunkTables::default();
    let mut enc = Encoder {
        buf: &mut probe.data,
        tables: &mut tables,
    };
    encode_record_body(&mut enc, record, templates);
    EvtxWriteError::EventTooLarge {
        index,
        provider: record.event.provider.clone(),
        event_id: record.event.event_id,
        bytes: probe.data.len(),
    }
}

/// A builder for an [`Event`] with the fields tests usually set.
#[derive(Debug, Clone)]
pub struct EventBuilder(Event);

/// Starts an event of `provider` with `event_id`, information level, channel System.
pub fn event(provider: &str, event_id: u16) -> EventBuilder {
    let origin = Origin {
        input: "testkit".to_owned(),
        location: Location::Line { line: 0 },
    };
    EventBuilder(Event::new(provider, event_id, origin))
}

impl EventBuilder {
    pub fn qualifiers(mut self, q: u16) -> Self {
        self.0.qualifiers = Some(q);
        self
    }
    pub fn level(mut self, level: u8) -> Self {
        self.0.level = Some(Level::from_number(level));
        self
    }
    pub fn time(mut self, time: Timestamp) -> Self {
        self.0.time_created = Some(time);
        self
    }
    pub fn record_id(mut self, id: u64) -> Self {
        self.0.record_id = Some(id);
        self
    }
    pub fn channel(mut self, channel: &str) -> Self {
        self.0.channel = Some(channel.to_owned());
        self
    }
    pub fn computer(mut self, computer: &str) -> Self {
        self.0.computer = Some(computer.to_owned());
        self
    }
    pub fn user_sid(mut self, sid: &str) -> Self {
        self.0.user_sid = Some(sid.to_owned());
        self
    }
    pub fn data(mut self, name: &str, value: &str) -> Self {
        self.0.data.push((name.to_owned(), value.to_owned()));
        self
    }
    /// Unnamed `<Data>` values (classic providers), read back as `Param1…`.
    pub fn params(mut self, values: &[&str]) -> Self {
        let start = self.0.data.len();
        for (i, v) in values.iter().enumerate() {
            self.0
                .data
                .push((format!("Param{}", start + i + 1), (*v).to_owned()));
        }
        self
    }
    pub fn build(self) -> Event {
        self.0
    }
}

impl From<EventBuilder> for Event {
    fn from(b: EventBuilder) -> Event {
        b.0
    }
}

impl From<EventBuilder> for Record {
    fn from(b: EventBuilder) -> Record {
        Record::from(b.0)
    }
}

/// 100 ns intervals since 1601-01-01 (a Windows FILETIME).
fn filetime(t: Timestamp) -> u64 {
    let nanos = t.as_nanosecond();
    let intervals = nanos.div_euclid(100) + 116_444_736_000_000_000;
    u64::try_from(intervals).unwrap_or(0)
}

/// Keywords Windows logs for classic events and for others.
fn keywords(event: &Event) -> u64 {
    if event.qualifiers.is_some() {
        0x0080_0000_0000_0000
    } else {
        0x8000_0000_0000_0000
    }
}

/// The `<Event>` tree; with `slots`, values are template substitutions and the values
/// come back in the second list, in slot order.
fn event_tree(record: &Record, slots: bool) -> (Element, Vec<Value>) {
    let e = &record.event;
    let mut values: Vec<Value> = Vec::new();
    let mut v = |value: Value, optional: bool| -> Value {
        if !slots {
            return value;
        }
        let ty = value.type_byte();
        let index = u16::try_from(values.len()).unwrap_or(u16::MAX);
        values.push(value);
        Value::Sub {
            index,
            ty,
            optional,
        }
    };
    let mut event_id = Element::new("EventID");
    if let Some(q) = e.qualifiers {
        event_id = event_id.attr("Qualifiers", v(Value::U16(q), true));
    }
    let event_id = event_id.text(v(Value::U16(e.event_id), false));
    let mut security = Element::new("Security");
    if let Some(sid) = e.user_sid.as_deref().and_then(sid_bytes) {
        security = security.attr("UserID", v(Value::Sid(sid), true));
    }
    let system = Element::new("System")
        .child(Element::new("Provider").attr("Name", v(Value::Str(e.provider.clone()), false)))
        .child(event_id)
        .child(Element::new("Level").text(v(Value::U8(e.level.map_or(4, Level::number)), false)))
        .child(Element::new("Task").text(v(Value::U16(0), false)))
        .child(Element::new("Keywords").text(v(Value::Hex64(keywords(e)), false)))
        .child(Element::new("TimeCreated").attr(
            "SystemTime",
            v(Value::FileTime(e.time_created.map_or(0, filetime)), false),
        ))
        .child(Element::new("EventRecordID").text(v(Value::U64(e.record_id.unwrap_or(0)), false)))
        .child(
            Element::new("Execution")
                .attr("ProcessID", v(Value::U32(PROCESS_ID), false))
                .attr("ThreadID", v(Value::U32(THREAD_ID), false)),
        )
        .child(
            Element::new("Channel")
                .text(v(Value::Str(e.channel.clone().unwrap_or_default()), false)),
        )
        .child(
            Element::new("Computer")
                .text(v(Value::Str(e.computer.clone().unwrap_or_default()), false)),
        )
        .child(security);
    let data = match &record.layout {
        DataLayout::Named => e
            .data
            .iter()
            .fold(Element::new("EventData"), |acc, (name, value)| {
                acc.child(
                    Element::new("Data")
                        .attr("Name", Value::Str(name.clone()))
                        .text(v(Value::Str(value.clone()), false)),
                )
            }),
        DataLayout::Typed(types) => {
            e.data
                .iter()
                .enumerate()
                .fold(Element::new("EventData"), |acc, (i, (name, value))| {
                    let ty = types.get(i).copied().unwrap_or(DataType::Str);
                    acc.child(
                        Element::new("Data")
                            .attr("Name", Value::Str(name.clone()))
                            .text(v(ty.value(value), false)),
                    )
                })
        }
        DataLayout::Unnamed => e
            .data
            .iter()
            .fold(Element::new("EventData"), |acc, (_, value)| {
                acc.child(Element::new("Data").text(v(Value::Str(value.clone()), false)))
            }),
        DataLayout::UserData { element } => {
            let inner = e.data.iter().fold(
                Element::new(element).attr("xmlns", Value::Str("Event_NS".to_owned())),
                |acc, (name, value)| {
                    acc.child(Element::new(name).text(v(Value::Str(value.clone()), false)))
                },
            );
            Element::new("UserData").child(inner)
        }
    };
    let root = Element::new("Event")
        .attr("xmlns", Value::Str(EVENT_NS.to_owned()))
        .child(system)
        .child(data);
    (root, values)
}

/// A template's identity: its tree's shape (names, attributes, slot types), hashed.
fn template_id(root: &Element) -> (u32, [u8; 16]) {
    let shape = format!("{root:?}");
    // FNV-1a, 64-bit: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in shape.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut guid = [0u8; 16];
    guid.get_mut(..8)
        .unwrap_or_default()
        .copy_from_slice(&h.to_le_bytes());
    guid.get_mut(8..)
        .unwrap_or_default()
        .copy_from_slice(&h.rotate_left(17).to_le_bytes());
    ((h & 0xffff_ffff) as u32, guid)
}

fn encode_record_body(enc: &mut Encoder<'_>, record: &Record, templates: bool) {
    enc.fragment_header();
    if templates {
        let (root, values) = event_tree(record, true);
        let (id, guid) = template_id(&root);
        enc.template_instance(id, guid, &root, &values);
    } else {
        let (root, _) = event_tree(record, false);
        enc.element(&root, false);
        enc.buf.push(0x00);
    }
}

/// One chunk being filled.
struct ChunkBuilder {
    data: Vec<u8>,
    tables: ChunkTables,
    count: u64,
    first_id: u64,
    last_id: u64,
    last_record_offset: u32,
}

impl ChunkBuilder {
    fn new() -> ChunkBuilder {
        ChunkBuilder {
            data: vec![0u8; CHUNK_HEADER_SIZE],
            tables: ChunkTables::default(),
            count: 0,
            first_id: 0,
            last_id: 0,
            last_record_offset: 0,
        }
    }

    /// Appends a record if it fits; leaves the chunk as it was otherwise.
    fn try_push(&mut self, record: &Record, templates: bool) -> bool {
        let saved_len = self.data.len();
        let saved_tables = self.tables.clone();
        let id = record.event.record_id.unwrap_or(0);
        let start = self.data.len();
        self.data.extend_from_slice(b"**\0\0");
        self.data.extend_from_slice(&0u32.to_le_bytes());
        self.data.extend_from_slice(&id.to_le_bytes());
        self.data
            .extend_from_slice(&record.event.time_created.map_or(0, filetime).to_le_bytes());
        {
            let mut enc = Encoder {
                buf: &mut self.data,
                tables: &mut self.tables,
            };
            encode_record_body(&mut enc, record, templates);
        }
        let size = self.data.len() - start + 4;
        let size32 = u32::try_from(size).unwrap_or(u32::MAX);
        self.data.extend_from_slice(&size32.to_le_bytes());
        if let Some(slot) = self.data.get_mut(start + 4..start + 8) {
            slot.copy_from_slice(&size32.to_le_bytes());
        }
        if self.data.len() > CHUNK_SIZE {
            self.data.truncate(saved_len);
            self.tables = saved_tables;
            return false;
        }
        if self.count == 0 {
            self.first_id = id;
        }
        self.last_id = id;
        self.count += 1;
        self.last_record_offset = u32::try_from(start).unwrap_or(0);
        true
    }

    fn finish(mut self) -> Vec<u8> {
        let free_space = u32::try_from(self.data.len()).unwrap_or(0);
        let records_crc = crc32fast::hash(self.data.get(CHUNK_HEADER_SIZE..).unwrap_or_default());
        self.data.resize(CHUNK_SIZE, 0);
        let mut h = Vec::with_capacity(CHUNK_HEADER_SIZE);
        h.extend_from_slice(b"ElfChnk\0");
        // Record numbers: Windows counts them like the ids within one log.
        h.extend_from_slice(&self.first_id.to_le_bytes());
        h.extend_from_slice(&self.last_id.to_le_bytes());
        h.extend_from_slice(&self.first_id.to_le_bytes());
        h.extend_from_slice(&self.last_id.to_le_bytes());
        h.extend_from_slice(&128u32.to_le_bytes());
        h.extend_from_slice(&self.last_record_offset.to_le_bytes());
        h.extend_from_slice(&free_space.to_le_bytes());
        h.extend_from_slice(&records_crc.to_le_bytes());
        h.resize(120, 0);
        h.extend_from_slice(&0u32.to_le_bytes()); // flags
        h.extend_from_slice(&0u32.to_le_bytes()); // header CRC, below
        for offset in self.tables.string_buckets {
            h.extend_from_slice(&offset.to_le_bytes());
        }
        for offset in self.tables.template_buckets {
            h.extend_from_slice(&offset.to_le_bytes());
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(h.get(..120).unwrap_or_default());
        hasher.update(h.get(128..).unwrap_or_default());
        let header_crc = hasher.finalize();
        if let Some(slot) = h.get_mut(124..128) {
            slot.copy_from_slice(&header_crc.to_le_bytes());
        }
        if let Some(dst) = self.data.get_mut(..CHUNK_HEADER_SIZE) {
            dst.copy_from_slice(&h);
        }
        self.data
    }
}

/// Makes every chunk's two CRC32s (its records', its header's) match its bytes again, as if
/// Windows had written the chunk so: a damaged or mutated chunk then reaches what the
/// reader does with an intact one (the [`Details::Counted`] walk) instead of being left to
/// the `evtx` crate at the checksum. Chunks sit at 0 (a file without a header) or 4096, every
/// 64 KiB; a chunk's records run from its 512-byte header to its free space offset (clipped
/// to the chunk). The NO_CRC32 flag is left as it is.
///
/// [`Details::Counted`]: analyzer::input::Details::Counted
pub fn seal_chunks(bytes: &mut [u8]) {
    let first = if bytes.starts_with(b"ElfChnk\0") {
        0
    } else {
        FILE_HEADER_SIZE
    };
    for chunk in bytes
        .get_mut(first..)
        .unwrap_or_default()
        .chunks_mut(CHUNK_SIZE)
    {
        if !chunk.starts_with(b"ElfChnk\0") || chunk.len() < CHUNK_HEADER_SIZE {
            continue;
        }
        let free = chunk
            .get(48..52)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize)
            .clamp(CHUNK_HEADER_SIZE, chunk.len());
        let records = crc32fast::hash(chunk.get(CHUNK_HEADER_SIZE..free).unwrap_or_default());
        if let Some(slot) = chunk.get_mut(52..56) {
            slot.copy_from_slice(&records.to_le_bytes());
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(chunk.get(..120).unwrap_or_default());
        hasher.update(chunk.get(128..CHUNK_HEADER_SIZE).unwrap_or_default());
        let header = hasher.finalize();
        if let Some(slot) = chunk.get_mut(124..128) {
            slot.copy_from_slice(&header.to_le_bytes());
        }
    }
}

fn file_header(chunk_count: u16, next_record_id: u64, dirty: bool) -> Vec<u8> {
    let mut h = Vec::with_capacity(FILE_HEADER_SIZE);
    h.extend_from_slice(b"ElfFile\0");
    h.extend_from_slice(&0u64.to_le_bytes()); // first chunk
    h.extend_from_slice(&u64::from(chunk_count.saturating_sub(1)).to_le_bytes()); // last chunk
    h.extend_from_slice(&next_record_id.to_le_bytes());
    h.extend_from_slice(&128u32.to_le_bytes()); // header size
    h.extend_from_slice(&1u16.to_le_bytes()); // minor version
    h.extend_from_slice(&3u16.to_le_bytes()); // major version
    h.extend_from_slice(&(FILE_HEADER_SIZE as u16).to_le_bytes());
    h.extend_from_slice(&chunk_count.to_le_bytes());
    h.resize(120, 0);
    h.extend_from_slice(&u32::from(dirty).to_le_bytes());
    let crc = crc32fast::hash(h.get(..120).unwrap_or_default());
    h.extend_from_slice(&crc.to_le_bytes());
    h.resize(FILE_HEADER_SIZE, 0);
    h
}
