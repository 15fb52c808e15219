//! Binary XML (MS-EVEN6 §2.2.12) as Windows writes it into a chunk: element and attribute
//! names in the chunk's string table (written inline the first time a chunk uses them),
//! typed values, and templates (a definition written inline on first use in a chunk, then
//! instances that carry only the substitution values).

use std::collections::HashMap;

/// A typed value, or a substitution slot in a template definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Str(String),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    Hex32(u32),
    Hex64(u64),
    FileTime(u64),
    /// A GUID's 16 bytes as stored (first three groups little-endian).
    Guid([u8; 16]),
    /// A binary SID (revision, count, authority, sub-authorities).
    Sid(Vec<u8>),
    /// Slot `index` of the template, of `ty`; `optional` slots may hold `Null`.
    Sub {
        index: u16,
        ty: u8,
        optional: bool,
    },
}

impl Value {
    /// The BinXML value type byte.
    pub(crate) fn type_byte(&self) -> u8 {
        match self {
            Value::Str(_) => 0x01,
            Value::U8(_) => 0x04,
            Value::U16(_) => 0x06,
            Value::U32(_) => 0x08,
            Value::U64(_) => 0x0a,
            Value::Guid(_) => 0x0f,
            Value::FileTime(_) => 0x11,
            Value::Sid(_) => 0x13,
            Value::Hex32(_) => 0x14,
            Value::Hex64(_) => 0x15,
            Value::Sub { ty, .. } => *ty,
        }
    }

    /// The value's bytes as a template instance stores them (strings without a length).
    pub(crate) fn payload(&self) -> Vec<u8> {
        match self {
            Value::Str(s) => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Value::U8(v) => vec![*v],
            Value::U16(v) => v.to_le_bytes().to_vec(),
            Value::U32(v) | Value::Hex32(v) => v.to_le_bytes().to_vec(),
            Value::U64(v) | Value::Hex64(v) | Value::FileTime(v) => v.to_le_bytes().to_vec(),
            Value::Sid(b) => b.clone(),
            Value::Guid(b) => b.to_vec(),
            Value::Sub { .. } => Vec::new(),
        }
    }
}

/// An element of the tree to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, Value)>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Element(Element),
    Value(Value),
}

impl Element {
    pub(crate) fn new(name: &str) -> Element {
        Element {
            name: name.to_owned(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    pub(crate) fn attr(mut self, name: &str, value: Value) -> Element {
        self.attrs.push((name.to_owned(), value));
        self
    }

    pub(crate) fn child(mut self, child: Element) -> Element {
        self.children.push(Node::Element(child));
        self
    }

    pub(crate) fn text(mut self, value: Value) -> Element {
        self.children.push(Node::Value(value));
        self
    }
}

/// The low 16 bits of MS-EVEN6's name hash (`hash = hash * 65599 + code unit`).
pub(crate) fn name_hash(name: &str) -> u16 {
    let mut hash: u32 = 0;
    for unit in name.encode_utf16() {
        hash = hash.wrapping_mul(65599).wrapping_add(u32::from(unit));
    }
    (hash & 0xffff) as u16
}

/// What a chunk has written so far that later records refer to: names and templates.
#[derive(Debug, Clone)]
pub(crate) struct ChunkTables {
    names: HashMap<String, u32>,
    /// Heads of the 64 string buckets (chunk header offset 128).
    pub string_buckets: [u32; 64],
    templates: HashMap<u32, u32>,
    /// Heads of the 32 template buckets (chunk header offset 384).
    pub template_buckets: [u32; 32],
}

impl Default for ChunkTables {
    fn default() -> ChunkTables {
        ChunkTables {
            names: HashMap::new(),
            string_buckets: [0; 64],
            templates: HashMap::new(),
            template_buckets: [0; 32],
        }
    }
}

/// Appends BinXML to a chunk's bytes; offsets are positions in the chunk.
pub(crate) struct Encoder<'a> {
    pub buf: &'a mut Vec<u8>,
    pub tables: &'a mut ChunkTables,
}

impl Encoder<'_> {
    fn pos(&self) -> u32 {
        u32::try_from(self.buf.len()).unwrap_or(u32::MAX)
    }

    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(slot) = self.buf.get_mut(at..at + 4) {
            slot.copy_from_slice(&v.to_le_bytes());
        }
    }

    pub(crate) fn fragment_header(&mut self) {
        self.buf.extend_from_slice(&[0x0f, 0x01, 0x01, 0x00]);
    }

    /// A name reference; the name itself follows inline the first time the chunk uses it.
    fn name(&mut self, name: &str) {
        if let Some(&offset) = self.tables.names.get(name) {
            self.u32(offset);
            return;
        }
        let offset = self.pos() + 4;
        self.u32(offset);
        let hash = name_hash(name);
        let bucket = usize::from(hash % 64);
        let next = self.tables.string_buckets.get(bucket).copied().unwrap_or(0);
        self.u32(next);
        self.u16(hash);
        let units: Vec<u16> = name.encode_utf16().collect();
        self.u16(u16::try_from(units.len()).unwrap_or(u16::MAX));
        for unit in units {
            self.u16(unit);
        }
        self.u16(0);
        if let Some(slot) = self.tables.string_buckets.get_mut(bucket) {
            *slot = offset;
        }
        self.tables.names.insert(name.to_owned(), offset);
    }

    /// A value token (outside templates values carry their own length), or a substitution.
    fn value(&mut self, value: &Value) {
        match value {
            Value::Sub {
                index,
                ty,
                optional,
            } => {
                self.u8(if *optional { 0x0e } else { 0x0d });
                self.u16(*index);
                self.u8(*ty);
            }
            Value::Str(s) => {
                self.u8(0x05);
                self.u8(0x01);
                let units: Vec<u16> = s.encode_utf16().collect();
                self.u16(u16::try_from(units.len()).unwrap_or(u16::MAX));
                for unit in units {
                    self.u16(unit);
                }
            }
            other => {
                self.u8(0x05);
                self.u8(other.type_byte());
                let payload = other.payload();
                self.buf.extend_from_slice(&payload);
            }
        }
    }

    /// An element; `in_template` elements carry a dependency id (none: 0xFFFF).
    pub(crate) fn element(&mut self, el: &Element, in_template: bool) {
        let has_attrs = !el.attrs.is_empty();
        self.u8(if has_attrs { 0x41 } else { 0x01 });
        if in_template {
            self.u16(0xffff);
        }
        let size_at = self.buf.len();
        self.u32(0);
        self.name(&el.name);
        if has_attrs {
            let list_at = self.buf.len();
            self.u32(0);
            let list_start = self.buf.len();
            let last = el.attrs.len() - 1;
            for (i, (name, value)) in el.attrs.iter().enumerate() {
                self.u8(if i < last { 0x46 } else { 0x06 });
                self.name(name);
                self.value(value);
            }
            let list_size = u32::try_from(self.buf.len() - list_start).unwrap_or(0);
            self.patch_u32(list_at, list_size);
        }
        if el.children.is_empty() {
            self.u8(0x03);
        } else {
            self.u8(0x02);
            for child in &el.children {
                match child {
                    Node::Element(e) => self.element(e, in_template),
                    Node::Value(v) => self.value(v),
                }
            }
            self.u8(0x04);
        }
        let size = u32::try_from(self.buf.len() - size_at - 4).unwrap_or(0);
        self.patch_u32(size_at, size);
    }

    /// A template instance of `root` (whose values are `Sub` slots) with `values`; the
    /// definition is written inline when the chunk has not used template `id` yet.
    pub(crate) fn template_instance(
        &mut self,
        id: u32,
        guid: [u8; 16],
        root: &Element,
        values: &[Value],
    ) {
        self.u8(0x0c);
        self.u8(0x01);
        self.u32(id);
        match self.tables.templates.get(&id) {
            Some(&offset) => self.u32(offset),
            None => {
                let offset = self.pos() + 4;
                self.u32(offset);
                let bucket = (id % 32) as usize;
                let next = self
                    .tables
                    .template_buckets
                    .get(bucket)
                    .copied()
                    .unwrap_or(0);
                self.u32(next);
                self.buf.extend_from_slice(&guid);
                let size_at = self.buf.len();
                self.u32(0);
                let body = self.buf.len();
                self.fragment_header();
                self.element(root, true);
                self.u8(0x00);
                let size = u32::try_from(self.buf.len() - body).unwrap_or(0);
                self.patch_u32(size_at, size);
                if let Some(slot) = self.tables.template_buckets.get_mut(bucket) {
                    *slot = offset;
                }
                self.tables.templates.insert(id, offset);
            }
        }
        self.u32(u32::try_from(values.len()).unwrap_or(0));
        let payloads: Vec<Vec<u8>> = values.iter().map(Value::payload).collect();
        for (value, payload) in values.iter().zip(&payloads) {
            self.u16(u16::try_from(payload.len()).unwrap_or(u16::MAX));
            self.u8(value.type_byte());
            self.u8(0);
        }
        for payload in payloads {
            self.buf.extend_from_slice(&payload);
        }
    }
}

/// A SID string (`S-1-5-18`) as Windows stores it; `None` when it is not one.
pub(crate) fn sid_bytes(sid: &str) -> Option<Vec<u8>> {
    let mut parts = sid.split('-');
    if parts.next()? != "S" {
        return None;
    }
    let revision: u8 = parts.next()?.parse().ok()?;
    let authority: u64 = parts.next()?.parse().ok()?;
    let subs: Vec<u32> = parts.map(str::parse).collect::<Result<_, _>>().ok()?;
    let mut out = vec![revision, u8::try_from(subs.len()).ok()?];
    out.extend_from_slice(authority.to_be_bytes().get(2..).unwrap_or_default());
    for sub in subs {
        out.extend_from_slice(&sub.to_le_bytes());
    }
    Some(out)
}

/// A GUID string (`{54849625-5478-4994-a5ba-3e3b0328c30d}`, braces optional) as Windows
/// stores it; `None` when it is not one.
pub(crate) fn guid_bytes(guid: &str) -> Option<[u8; 16]> {
    let hex: String = guid
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split('-')
        .collect();
    let groups: Vec<&str> = guid.trim_matches(['{', '}']).split('-').collect();
    if hex.len() != 32 || groups.iter().map(|g| g.len()).ne([8, 4, 4, 4, 12]) {
        return None;
    }
    let mut plain = [0u8; 16];
    for (i, byte) in plain.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    // The first three groups are stored little-endian.
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let mut out = [0u8; 16];
    for (slot, from) in out.iter_mut().zip(ORDER) {
        *slot = *plain.get(from)?;
    }
    Some(out)
}
