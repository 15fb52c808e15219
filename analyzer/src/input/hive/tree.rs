//! A hive as a tree of keys and values: read whole from a hive file ([`read_tree`]) and
//! written as one ([`HiveWriter`]), following the documented layout (Maxim Suhanov's
//! "Windows registry file format specification", libyal's libregf): a 4096-byte base block
//! with its XOR checksum, hive bins of 4096 bytes (larger for a cell that needs it), key
//! nodes (`nk`) with `lh` subkey lists sorted by uppercase name and their name hashes, value
//! lists, values (`vk`) with data held in the value (4 bytes or less), in a cell, or as big
//! data (`db`, over 16,344 bytes), and one security cell (`sk`) every key shares.
//!
//! Two users: the fixer's simulated disk (a hive "loaded" into the simulated registry and
//! written back when unloaded, as Windows writes a loaded hive) and the test fixtures
//! (Debian's hivex edits hives but cannot create one). What the writer leaves out — class
//! names, per-key security, last-write times — neither needs. The output reads back with
//! `hivexsh` (checked by `analyzer/tests/hive.rs` and the fixer's offline tests).

use super::regf::{self, BASE_BLOCK, Data, Header, Hive, Key};

const BIN: usize = 4096;
const BIG_SEGMENT: usize = 16_344;
/// 2026-11-20T09:41:07Z as a FILETIME, written as every key's last-write time.
pub const FILETIME: u64 = 134_082_216_670_000_000;
/// Deepest key nesting read (Windows allows 512 levels).
pub const MAX_DEPTH: usize = 512;

/// A key: its name, values (name, type, data) and subkeys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySpec {
    pub name: String,
    pub values: Vec<(String, u32, Vec<u8>)>,
    pub subkeys: Vec<KeySpec>,
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// REG_SZ data: UTF-16LE with its terminating NUL.
pub fn sz(s: &str) -> Vec<u8> {
    let mut b = utf16(s);
    b.extend_from_slice(&[0, 0]);
    b
}

/// REG_MULTI_SZ data.
pub fn multi_sz(items: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for i in items {
        b.extend(sz(i));
    }
    b.extend_from_slice(&[0, 0]);
    b
}

/// Whether two key or value names are one to Windows (compared without case).
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_uppercase() == b.to_uppercase()
}

impl KeySpec {
    pub fn new(name: &str) -> KeySpec {
        KeySpec {
            name: name.to_owned(),
            ..KeySpec::default()
        }
    }

    /// The key at a `\`-separated path below this one, made if missing.
    pub fn key(&mut self, path: &str) -> &mut KeySpec {
        let mut at = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            let i = match at.subkeys.iter().position(|k| same_name(&k.name, part)) {
                Some(i) => i,
                None => {
                    at.subkeys.push(KeySpec::new(part));
                    at.subkeys.len() - 1
                }
            };
            // `i` is a position just found, or the key just pushed.
            #[allow(clippy::indexing_slicing)]
            {
                at = &mut at.subkeys[i];
            }
        }
        at
    }

    /// The key at a `\`-separated path below this one, if it exists.
    pub fn find(&self, path: &str) -> Option<&KeySpec> {
        let mut at = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            at = at.subkeys.iter().find(|k| same_name(&k.name, part))?;
        }
        Some(at)
    }

    /// [`find`](Self::find), for changing it.
    pub fn find_mut(&mut self, path: &str) -> Option<&mut KeySpec> {
        let mut at = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            at = at.subkeys.iter_mut().find(|k| same_name(&k.name, part))?;
        }
        Some(at)
    }

    /// A value's type and data.
    pub fn value(&self, name: &str) -> Option<(u32, &[u8])> {
        self.values
            .iter()
            .find(|(n, _, _)| same_name(n, name))
            .map(|(_, kind, data)| (*kind, data.as_slice()))
    }

    /// Sets a value (replacing one of the same name; the value set comes last).
    pub fn set(&mut self, name: &str, kind: u32, data: Vec<u8>) -> &mut KeySpec {
        self.remove(name);
        self.values.push((name.to_owned(), kind, data));
        self
    }

    pub fn dword(&mut self, name: &str, v: u32) -> &mut KeySpec {
        self.set(name, regf::REG_DWORD, v.to_le_bytes().to_vec())
    }

    pub fn string(&mut self, name: &str, v: &str) -> &mut KeySpec {
        self.set(name, regf::REG_SZ, sz(v))
    }

    pub fn remove(&mut self, name: &str) -> &mut KeySpec {
        self.values.retain(|(n, _, _)| !same_name(n, name));
        self
    }

    /// The same tree with names compared as Windows compares them and lists in order:
    /// two trees Windows cannot tell apart compare equal.
    pub fn normalized(&self) -> KeySpec {
        let mut values = self.values.clone();
        values.sort_by_key(|(n, _, _)| n.to_uppercase());
        let mut subkeys: Vec<KeySpec> = self.subkeys.iter().map(KeySpec::normalized).collect();
        subkeys.sort_by_key(|k| k.name.to_uppercase());
        KeySpec {
            name: self.name.to_uppercase(),
            values: values
                .into_iter()
                .map(|(n, k, d)| (n.to_uppercase(), k, d))
                .collect(),
            subkeys,
        }
    }
}

/// A hive written, with where each key's `nk` cell is (by path, `\`-separated, the root
/// being ""), for tests that damage it.
#[derive(Debug, Clone)]
pub struct Written {
    pub bytes: Vec<u8>,
    pub keys: std::collections::BTreeMap<String, u32>,
}

/// The hive to write: its keys, and the header fields a caller may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiveWriter {
    pub root: KeySpec,
    pub primary_sequence: u32,
    pub secondary_sequence: u32,
    pub minor: u32,
    /// The file name stored in the base block.
    pub file_name: String,
}

/// Copies `bytes` into `buf` at `at`; out of range writes nothing (the writer sizes its
/// buffers before it writes, so this never happens).
fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = buf.get_mut(at..at.saturating_add(bytes.len())) {
        slot.copy_from_slice(bytes);
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Cells {
    /// Hive bins data (offset 0 = the first bin's header).
    data: Vec<u8>,
    /// Free bytes left in the last bin, from `cursor`.
    cursor: usize,
    bin_end: usize,
}

impl Cells {
    fn close_bin(&mut self) {
        let left = self.bin_end.saturating_sub(self.cursor);
        if left > 0 {
            // The rest of a bin is one free cell (a positive size).
            let size = i32::try_from(left).unwrap_or(i32::MAX);
            put(&mut self.data, self.cursor, &size.to_le_bytes());
        }
        self.cursor = self.bin_end;
    }

    fn new_bin(&mut self, need: usize) {
        self.close_bin();
        let size = (need + 32).div_ceil(BIN) * BIN;
        let at = self.data.len();
        self.data.resize(at + size, 0);
        put(&mut self.data, at, b"hbin");
        put(&mut self.data, at + 4, &len32(at).to_le_bytes());
        put(&mut self.data, at + 8, &len32(size).to_le_bytes());
        if at == 0 {
            put(&mut self.data, at + 20, &FILETIME.to_le_bytes());
        }
        self.cursor = at + 32;
        self.bin_end = at + size;
    }

    /// Allocates a cell for `payload` bytes; returns its offset.
    fn alloc(&mut self, payload: usize) -> u32 {
        let size = (payload + 4).div_ceil(8) * 8;
        if self.cursor + size > self.bin_end {
            self.new_bin(size);
        }
        let at = self.cursor;
        let neg = -i32::try_from(size).unwrap_or(i32::MAX);
        put(&mut self.data, at, &neg.to_le_bytes());
        self.cursor += size;
        len32(at)
    }

    fn put(&mut self, cell: u32, at: usize, bytes: &[u8]) {
        put(&mut self.data, cell as usize + 4 + at, bytes);
    }

    fn cell(&mut self, payload: &[u8]) -> u32 {
        let c = self.alloc(payload.len());
        self.put(c, 0, payload);
        c
    }
}

/// The name hash of `lh` lists: for each character, uppercased, hash * 37 + character.
pub use regf::lh_hash;

fn name_bytes(name: &str) -> (Vec<u8>, bool) {
    if name.chars().all(|c| (c as u32) < 256) {
        (name.chars().map(|c| c as u8).collect(), true)
    } else {
        (utf16(name), false)
    }
}

/// The base block's checksum: XOR of its first 127 dwords (0 written as 1, -1 as -2).
pub use regf::base_block_checksum as checksum;

/// Writes the base block's checksum again (after a caller changed the block).
pub fn reseal(bytes: &mut [u8]) {
    let sum = checksum(bytes);
    put(bytes, 508, &sum.to_le_bytes());
}

impl HiveWriter {
    pub fn new(file_name: &str) -> HiveWriter {
        HiveWriter {
            root: KeySpec::new("ROOT"),
            primary_sequence: 7,
            secondary_sequence: 7,
            minor: 5,
            file_name: file_name.to_owned(),
        }
    }

    pub fn write(&self) -> Written {
        let mut cells = Cells {
            data: Vec::new(),
            cursor: 0,
            bin_end: 0,
        };
        let mut keys = std::collections::BTreeMap::new();
        // The security cell every key points to: an empty DACL, self-relative.
        let mut descriptor = vec![1u8, 0, 0x04, 0x80];
        descriptor.extend_from_slice(&[0; 12]);
        descriptor.extend_from_slice(&20u32.to_le_bytes());
        descriptor.extend_from_slice(&[2, 0, 8, 0, 0, 0, 0, 0]);
        let mut sk = b"sk\0\0".to_vec();
        sk.extend_from_slice(&[0; 12]);
        sk.extend_from_slice(&len32(descriptor.len()).to_le_bytes());
        sk.extend_from_slice(&descriptor);
        let sk_cell = cells.cell(&sk);
        let mut count = 0u32;
        let mut at = Emit {
            cells: &mut cells,
            keys: &mut keys,
            count: &mut count,
            sk: sk_cell,
            minor: self.minor,
        };
        let root = at.key(&self.root, u32::MAX, "", true);
        // flink, blink (itself) and the reference count.
        cells.put(sk_cell, 4, &sk_cell.to_le_bytes());
        cells.put(sk_cell, 8, &sk_cell.to_le_bytes());
        cells.put(sk_cell, 12, &count.to_le_bytes());
        cells.close_bin();
        let mut out = vec![0u8; BIN];
        put(&mut out, 0, b"regf");
        put(&mut out, 4, &self.primary_sequence.to_le_bytes());
        put(&mut out, 8, &self.secondary_sequence.to_le_bytes());
        put(&mut out, 12, &FILETIME.to_le_bytes());
        put(&mut out, 20, &1u32.to_le_bytes());
        put(&mut out, 24, &self.minor.to_le_bytes());
        put(&mut out, 32, &1u32.to_le_bytes());
        put(&mut out, 36, &root.to_le_bytes());
        put(&mut out, 40, &len32(cells.data.len()).to_le_bytes());
        put(&mut out, 44, &1u32.to_le_bytes());
        let name = utf16(&self.file_name);
        put(
            &mut out,
            48,
            name.get(..name.len().min(64)).unwrap_or_default(),
        );
        reseal(&mut out);
        out.extend_from_slice(&cells.data);
        Written { bytes: out, keys }
    }
}

/// What writing the keys one by one needs.
struct Emit<'a> {
    cells: &'a mut Cells,
    keys: &'a mut std::collections::BTreeMap<String, u32>,
    count: &'a mut u32,
    sk: u32,
    minor: u32,
}

impl Emit<'_> {
    fn key(&mut self, key: &KeySpec, parent: u32, path: &str, is_root: bool) -> u32 {
        *self.count += 1;
        let (name, compressed) = name_bytes(&key.name);
        let nk = self.cells.alloc(76 + name.len());
        self.keys.insert(path.to_owned(), nk);
        let mut subkeys: Vec<&KeySpec> = key.subkeys.iter().collect();
        subkeys.sort_by_key(|k| k.name.to_uppercase());
        let mut entries = Vec::new();
        for k in &subkeys {
            let child = if path.is_empty() {
                k.name.clone()
            } else {
                format!("{path}\\{}", k.name)
            };
            let c = self.key(k, nk, &child, false);
            entries.push((c, lh_hash(&k.name)));
        }
        let subkey_list = if entries.is_empty() {
            u32::MAX
        } else {
            let mut lh = b"lh".to_vec();
            lh.extend_from_slice(
                &u16::try_from(entries.len())
                    .unwrap_or(u16::MAX)
                    .to_le_bytes(),
            );
            for (c, h) in &entries {
                lh.extend_from_slice(&c.to_le_bytes());
                lh.extend_from_slice(&h.to_le_bytes());
            }
            self.cells.cell(&lh)
        };
        let mut vks = Vec::new();
        for (vname, kind, data) in &key.values {
            vks.push(self.value(vname, *kind, data));
        }
        let value_list = if vks.is_empty() {
            u32::MAX
        } else {
            let list: Vec<u8> = vks.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.cells.cell(&list)
        };
        let max_sub = subkeys.iter().map(|k| k.name.len() * 2).max().unwrap_or(0);
        let max_vname = key.values.iter().map(|(n, _, _)| n.len() * 2).max();
        let max_data = key.values.iter().map(|(_, _, d)| d.len()).max();
        let mut body = Vec::with_capacity(76 + name.len());
        body.extend_from_slice(b"nk");
        // The root: KEY_HIVE_ENTRY | KEY_NO_DELETE. KEY_COMP_NAME (0x20) only for a name
        // written one byte a character: a root whose name is not Latin-1 is UTF-16 too.
        let flags: u16 = if is_root { 0x0C } else { 0 } | if compressed { 0x20 } else { 0 };
        body.extend_from_slice(&flags.to_le_bytes());
        body.extend_from_slice(&FILETIME.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&parent.to_le_bytes());
        body.extend_from_slice(&len32(entries.len()).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&subkey_list.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        body.extend_from_slice(&len32(vks.len()).to_le_bytes());
        body.extend_from_slice(&value_list.to_le_bytes());
        body.extend_from_slice(&self.sk.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        body.extend_from_slice(&len32(max_sub).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&len32(max_vname.unwrap_or(0)).to_le_bytes());
        body.extend_from_slice(&len32(max_data.unwrap_or(0)).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&name);
        self.cells.put(nk, 0, &body);
        nk
    }

    /// A value's `vk` cell, its data inline, in a cell or as big data.
    fn value(&mut self, vname: &str, kind: u32, data: &[u8]) -> u32 {
        let (vn, vcompressed) = name_bytes(vname);
        let (size, at) = if data.len() <= 4 {
            let mut inline = [0u8; 4];
            put(&mut inline, 0, data);
            (len32(data.len()) | 0x8000_0000, u32::from_le_bytes(inline))
        } else if data.len() > BIG_SEGMENT && self.minor >= 4 {
            let segs: Vec<u32> = data
                .chunks(BIG_SEGMENT)
                .map(|s| self.cells.cell(s))
                .collect();
            let list: Vec<u8> = segs.iter().flat_map(|s| s.to_le_bytes()).collect();
            let list = self.cells.cell(&list);
            let mut db = b"db".to_vec();
            db.extend_from_slice(&u16::try_from(segs.len()).unwrap_or(u16::MAX).to_le_bytes());
            db.extend_from_slice(&list.to_le_bytes());
            (len32(data.len()), self.cells.cell(&db))
        } else {
            (len32(data.len()), self.cells.cell(data))
        };
        let mut vk = b"vk".to_vec();
        vk.extend_from_slice(&u16::try_from(vn.len()).unwrap_or(u16::MAX).to_le_bytes());
        vk.extend_from_slice(&size.to_le_bytes());
        vk.extend_from_slice(&at.to_le_bytes());
        vk.extend_from_slice(&kind.to_le_bytes());
        vk.extend_from_slice(&u16::from(vcompressed).to_le_bytes());
        vk.extend_from_slice(&[0, 0]);
        vk.extend_from_slice(&vn);
        self.cells.cell(&vk)
    }
}

/// Why a hive could not be read whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("not a registry hive: {0}")]
    NotAHive(String),
    /// Windows would replay its `.LOG1`/`.LOG2` first: the file alone is not the hive.
    #[error(
        "the hive is dirty (primary sequence {primary}, secondary {secondary}, checksum {checksum}): \
         its .LOG1/.LOG2 hold changes the file does not"
    )]
    Dirty {
        primary: u32,
        secondary: u32,
        checksum: &'static str,
    },
    #[error("the hive is damaged at byte {offset}: {what}")]
    Damaged { offset: u64, what: String },
    #[error("keys nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// A hive read whole: its header and every key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub header: Header,
    pub root: KeySpec,
}

impl Tree {
    /// A writer that gives this hive back with its header's name, version and sequence
    /// numbers (each one on: Windows counts a write).
    pub fn writer(&self) -> HiveWriter {
        let next = self.header.primary_sequence.wrapping_add(1);
        HiveWriter {
            root: self.root.clone(),
            primary_sequence: next,
            secondary_sequence: next,
            minor: self.header.minor,
            file_name: self.header.file_name.clone(),
        }
    }
}

/// Reads a clean hive whole. Refused: a dirty one (sequence numbers differ or the checksum
/// is wrong), and any damage at all (a tree with parts left out must never be written back
/// as if whole). The reader's budgets apply ([`regf::MAX_CELL_READS`] and the rest): meant
/// for small hives (the simulated disk, fixtures), not a real SOFTWARE hive.
pub fn read_tree(bytes: &[u8]) -> Result<Tree, TreeError> {
    let header = regf::parse_header(bytes.get(..BASE_BLOCK as usize).unwrap_or(bytes))
        .map_err(|e| TreeError::NotAHive(format!("{e:?}")))?;
    if header.dirty() {
        return Err(TreeError::Dirty {
            primary: header.primary_sequence,
            secondary: header.secondary_sequence,
            checksum: if header.checksum_ok { "right" } else { "wrong" },
        });
    }
    let mut hive = Hive::new(bytes, header.clone());
    let walk = hive.map_bins(bytes.len() as u64);
    let damaged = |e: regf::CellError| TreeError::Damaged {
        offset: e.offset,
        what: e.what,
    };
    if walk.short {
        return Err(TreeError::Damaged {
            offset: BASE_BLOCK + walk.found,
            what: "the hive bins end before the size the header gives".into(),
        });
    }
    let root = hive.root().map_err(damaged)?;
    let root = read_key(&mut hive, &root, 0).map_err(|e| match e {
        Err(e) => damaged(e),
        Ok(()) => TreeError::TooDeep,
    })?;
    Ok(Tree { header, root })
}

/// `Err(Ok(()))`: too deep; `Err(Err(e))`: damage.
fn read_key(
    hive: &mut Hive<&[u8]>,
    key: &Key,
    depth: usize,
) -> Result<KeySpec, Result<(), regf::CellError>> {
    if depth > MAX_DEPTH {
        return Err(Ok(()));
    }
    let values = hive.values(key).map_err(Err)?;
    let mut out = KeySpec::new(&key.name);
    out.values = values
        .into_iter()
        .map(|(name, Data { kind, bytes })| (name, kind, bytes))
        .collect();
    for sub in hive.subkeys(key).map_err(Err)? {
        out.subkeys.push(read_key(hive, &sub, depth + 1)?);
    }
    Ok(out)
}
