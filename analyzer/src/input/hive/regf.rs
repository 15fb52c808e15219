//! A read-only reader of registry hive files (`regf`), over the layout documented by
//! Maxim Suhanov ("Windows registry file format specification") and libyal's libregf.
//!
//! A hive is untrusted input: every offset is checked against the hive bins found by
//! walking them, every size against its cell, and each read against a budget, so a
//! damaged or hostile file costs bounded memory and time. Damage never fails the whole
//! file: a cell that cannot be read is recorded ([`Damage`]) and the key or value that
//! needed it is reported as unreadable by the caller, while the rest is read.
//!
//! What it reads: the base block (signature, sequence numbers, checksum, root cell, the
//! hive bins' size), key nodes (`nk`), subkey lists (`li`, `lf`, `lh`, `ri`), value lists,
//! values (`vk`) with their data held in the value itself, in a cell or in big data
//! (`db`). It does not apply `.LOG1`/`.LOG2` transaction logs: a dirty hive is reported.

use std::io::{Read, Seek, SeekFrom};

/// The base block's size; hive bins start after it and cell offsets count from there.
pub const BASE_BLOCK: u64 = 4096;
/// A hive bin's header.
const BIN_HEADER: u32 = 32;
/// Largest cell read (a cell never spans bins; Windows allocates larger data as big data).
pub const MAX_CELL_BYTES: u32 = 1024 * 1024;
/// Largest value data assembled (big data included).
pub const MAX_VALUE_BYTES: u32 = 1024 * 1024;
/// Most cells read from one hive (a subkey list can point into itself).
pub const MAX_CELL_READS: u32 = 200_000;
/// Most bytes of cells read from one hive (a hostile list can name one large cell many
/// times; a SYSTEM hive's snapshot reads some tens of KiB).
pub const MAX_BYTES_READ: u64 = 64 * 1024 * 1024;
/// Most hive bins mapped (a 2 GiB hive of 4 KiB bins).
pub const MAX_BINS: usize = 1 << 19;
/// Most entries of one key's subkey or value list that are looked at.
pub const MAX_LIST_ITEMS: usize = 65_536;
/// Largest big-data segment's payload (Windows' limit; larger data uses `db`).
const BIG_DATA_SEGMENT: u32 = 16_344;

pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_DWORD_BIG_ENDIAN: u32 = 5;
pub const REG_MULTI_SZ: u32 = 7;
pub const REG_QWORD: u32 = 11;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The base block's checksum: XOR of its first 127 dwords, 0 written as 1 and -1 as -2.
pub fn base_block_checksum(block: &[u8]) -> u32 {
    let sum = (0..127).fold(0u32, |acc, i| acc ^ u32_at(block, i * 4).unwrap_or(0));
    match sum {
        0 => 1,
        u32::MAX => u32::MAX - 1,
        s => s,
    }
}

/// What the base block says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub primary_sequence: u32,
    pub secondary_sequence: u32,
    /// The checksum written, and whether it matches the block.
    pub checksum: u32,
    /// The checksum of the block as read.
    pub computed: u32,
    pub checksum_ok: bool,
    pub major: u32,
    pub minor: u32,
    /// 0 = a primary hive file (1 and 2 are transaction logs).
    pub file_type: u32,
    /// The root key's cell offset.
    pub root: u32,
    /// The hive bins' total size, as the header says.
    pub bins_size: u32,
    /// The file name Windows stored (its last 32 UTF-16 characters, often `\SystemRoot\…`).
    pub file_name: String,
}

impl Header {
    /// Whether Windows would recover the hive from its logs before use: the sequence
    /// numbers differ or the checksum is wrong.
    pub fn dirty(&self) -> bool {
        self.primary_sequence != self.secondary_sequence || !self.checksum_ok
    }
}

/// Why a base block is not a hive's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Shorter than a base block.
    Short(u64),
    /// No `regf` signature.
    Signature,
}

/// Reads a base block (the first 4096 bytes, or what there is of them).
pub fn parse_header(block: &[u8]) -> Result<Header, HeaderError> {
    if !block.starts_with(b"regf") {
        return Err(HeaderError::Signature);
    }
    if (block.len() as u64) < BASE_BLOCK {
        return Err(HeaderError::Short(block.len() as u64));
    }
    let word = |at| u32_at(block, at).unwrap_or(0);
    let checksum = word(508);
    let computed = base_block_checksum(block);
    let name: Vec<u16> = (0..32)
        .map_while(|i| u16_at(block, 48 + i * 2))
        .take_while(|c| *c != 0)
        .collect();
    Ok(Header {
        primary_sequence: word(4),
        secondary_sequence: word(8),
        checksum,
        computed,
        checksum_ok: checksum == computed,
        major: word(20),
        minor: word(24),
        file_type: word(28),
        root: word(36),
        bins_size: word(40),
        file_name: String::from_utf16_lossy(&name),
    })
}

/// A problem found in the file, at an absolute byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub offset: u64,
    pub what: String,
}

/// A cell that could not be used; recorded in [`Hive::damage`] as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// The cell's absolute offset in the file (or the list's that pointed to it).
    pub offset: u64,
    pub what: String,
}

/// The `nk` flag of a registry symbolic link (made with `REG_OPTION_CREATE_LINK`): its
/// `SymbolicLinkValue` names another key, possibly of another hive, which Windows opens
/// instead of it.
pub const KEY_SYM_LINK: u16 = 0x0010;

/// Random access to the hive's bytes.
pub trait Source {
    /// Fills `buf` from `offset`; `false` when the input cannot supply all of it.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> bool;
}

/// A `Read + Seek` input as a [`Source`].
#[derive(Debug)]
pub struct SeekSource<R>(pub R);

impl<R: Read + Seek> Source for SeekSource<R> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> bool {
        self.0.seek(SeekFrom::Start(offset)).is_ok() && self.0.read_exact(buf).is_ok()
    }
}

impl Source for &[u8] {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> bool {
        let Ok(start) = usize::try_from(offset) else {
            return false;
        };
        match self.get(start..start.saturating_add(buf.len())) {
            Some(b) if b.len() == buf.len() => {
                buf.copy_from_slice(b);
                true
            }
            _ => false,
        }
    }
}

/// A key node, as far as the reader needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The cell offset of its `nk`.
    pub cell: u32,
    pub name: String,
    /// The `nk` flags as stored ([`KEY_SYM_LINK`]: a registry symbolic link).
    pub flags: u16,
    subkeys: u32,
    subkey_list: u32,
    values: u32,
    value_list: u32,
}

/// A value's data and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    pub kind: u32,
    pub bytes: Vec<u8>,
}

impl Data {
    /// A REG_DWORD (or a 4-byte value of another type, as Windows reads one).
    pub fn dword(&self) -> Option<u32> {
        match self.kind {
            REG_DWORD_BIG_ENDIAN => Some(u32::from_be_bytes(self.bytes.get(..4)?.try_into().ok()?)),
            REG_QWORD => None,
            _ if self.bytes.len() == 4 => u32_at(&self.bytes, 0),
            _ => None,
        }
    }

    pub fn qword(&self) -> Option<u64> {
        (self.bytes.len() == 8)
            .then(|| u64_at(&self.bytes, 0))
            .flatten()
    }

    fn utf16(&self) -> Vec<u16> {
        utf16_le(&self.bytes)
    }

    /// A REG_SZ / REG_EXPAND_SZ up to its first NUL.
    pub fn string(&self) -> Option<String> {
        if !matches!(self.kind, REG_SZ | REG_EXPAND_SZ) {
            return None;
        }
        let units: Vec<u16> = self.utf16().into_iter().take_while(|c| *c != 0).collect();
        Some(String::from_utf16_lossy(&units))
    }

    /// A REG_MULTI_SZ's strings (a REG_SZ as one).
    pub fn strings(&self) -> Option<Vec<String>> {
        match self.kind {
            REG_MULTI_SZ => Some(
                self.utf16()
                    .split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(String::from_utf16_lossy)
                    .collect(),
            ),
            _ => self.string().map(|s| vec![s]),
        }
    }
}

/// An open hive: its header, its bins, and what was found damaged so far.
#[derive(Debug)]
pub struct Hive<S> {
    src: S,
    pub header: Header,
    /// Hive bins as (start, end) cell offsets, in order.
    bins: Vec<(u32, u32)>,
    pub damage: Vec<Damage>,
    reads: u32,
    bytes_read: u64,
    /// Whether [`MAX_CELL_READS`] or [`MAX_BYTES_READ`] was reached (further reads fail).
    pub exhausted: bool,
    /// Paths already looked up: (key cell, uppercased path) → what was found.
    paths: Vec<((u32, String), Found)>,
}

/// A key's subkey cells with their `lh` hashes, and what left some out.
type SubkeyCells = (Vec<(u32, Option<u32>)>, Option<CellError>);

/// A value cell as read: its name, where it is, and where its data is.
struct ValueCell {
    name: String,
    at: u64,
    size: u32,
    data_at: u32,
    kind: u32,
}

/// What looking a key up found.
type Found = Result<Option<Key>, CellError>;

/// Most paths [`Hive::path`] remembers.
const MAX_REMEMBERED_PATHS: usize = 256;

/// How far the bins go, as the walk over them found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinWalk {
    /// Bytes of hive bins found valid, from the end of the base block.
    pub found: u64,
    /// Whether the walk stopped before the size the header gives.
    pub short: bool,
}

impl<S: Source> Hive<S> {
    /// Opens a hive whose base block has been read; the bins are found by [`Hive::map_bins`]
    /// (or fed by [`Hive::add_bin`] while the file is streamed).
    pub fn new(src: S, header: Header) -> Hive<S> {
        Hive {
            src,
            header,
            bins: Vec::new(),
            damage: Vec::new(),
            reads: 0,
            bytes_read: 0,
            exhausted: false,
            paths: Vec::new(),
        }
    }

    fn note(&mut self, offset: u64, what: String) -> CellError {
        if self.damage.len() < 1024 && !self.damage.iter().any(|d| d.offset == offset) {
            self.damage.push(Damage {
                offset,
                what: what.clone(),
            });
        }
        CellError { offset, what }
    }

    /// Checks a hive bin header at cell offset `at` (`bytes` = its 32 bytes); returns its
    /// size when it is valid and lies within `limit` (the end of the file, as a cell offset).
    pub fn check_bin(bytes: &[u8], at: u32, limit: u64) -> Result<u32, String> {
        if !bytes.starts_with(b"hbin") {
            return Err("no hbin signature".to_owned());
        }
        let offset = u32_at(bytes, 4).unwrap_or(u32::MAX);
        let size = u32_at(bytes, 8).unwrap_or(0);
        if offset != at {
            return Err(format!("the bin says it is at {offset:#x}"));
        }
        if size < 4096 || !size.is_multiple_of(4096) {
            return Err(format!("bad bin size {size}"));
        }
        if u64::from(at) + u64::from(size) > limit {
            return Err(format!(
                "the bin's {size} bytes run past the end of the file"
            ));
        }
        Ok(size)
    }

    /// Records a valid bin (in file order).
    pub fn add_bin(&mut self, at: u32, size: u32) -> bool {
        if self.bins.len() >= MAX_BINS {
            return false;
        }
        self.bins.push((at, at.saturating_add(size)));
        true
    }

    /// Finds the bins by walking their headers from the first, through `len` bytes of file.
    pub fn map_bins(&mut self, len: u64) -> BinWalk {
        let limit = len.saturating_sub(BASE_BLOCK);
        let declared = u64::from(self.header.bins_size);
        let mut at: u64 = 0;
        while at + u64::from(BIN_HEADER) <= limit && at < u64::from(u32::MAX) {
            let mut head = [0u8; BIN_HEADER as usize];
            if !self.src.read_at(BASE_BLOCK + at, &mut head) {
                break;
            }
            let Ok(at32) = u32::try_from(at) else { break };
            match Self::check_bin(&head, at32, limit) {
                Ok(size) => {
                    if !self.add_bin(at32, size) {
                        break;
                    }
                    at += u64::from(size);
                }
                Err(why) => {
                    if at < declared {
                        let _ = self.note(BASE_BLOCK + at, format!("hive bin: {why}"));
                    }
                    break;
                }
            }
        }
        BinWalk {
            found: at,
            short: at < declared,
        }
    }

    /// How many cells have been read so far.
    pub fn cells_read(&self) -> u32 {
        self.reads
    }

    /// Bytes of bins mapped.
    pub fn bins_len(&self) -> u64 {
        self.bins.last().map_or(0, |(_, end)| u64::from(*end))
    }

    /// A cell's payload (without its size field).
    pub fn cell(&mut self, offset: u32) -> Result<Vec<u8>, CellError> {
        let abs = BASE_BLOCK + u64::from(offset);
        if self.reads >= MAX_CELL_READS || self.bytes_read >= MAX_BYTES_READ {
            self.exhausted = true;
            return Err(CellError {
                offset: abs,
                what: format!(
                    "more than {MAX_CELL_READS} cells or {} MiB read: reading stopped",
                    MAX_BYTES_READ / (1024 * 1024)
                ),
            });
        }
        self.reads += 1;
        if offset == u32::MAX {
            return Err(self.note(abs, "a cell offset of -1 (no cell)".to_owned()));
        }
        let bin = self
            .bins
            .partition_point(|(start, _)| *start <= offset)
            .checked_sub(1)
            .and_then(|i| self.bins.get(i))
            .copied();
        let Some(end) = bin
            .filter(|(s, e)| offset >= s.saturating_add(BIN_HEADER) && offset < *e)
            .map(|(_, e)| e)
        else {
            return Err(self.note(abs, "a cell offset outside every hive bin".to_owned()));
        };
        if !offset.is_multiple_of(8) || u64::from(offset) + 4 > u64::from(end) {
            return Err(self.note(abs, "a misaligned cell offset".to_owned()));
        }
        let mut size = [0u8; 4];
        if !self.src.read_at(abs, &mut size) {
            return Err(self.note(abs, "the input could not be read here".to_owned()));
        }
        let size = i32::from_le_bytes(size);
        if size >= 0 {
            return Err(self.note(abs, "a reference to a free (unallocated) cell".to_owned()));
        }
        let size = size.unsigned_abs();
        if size < 8 || u64::from(offset) + u64::from(size) > u64::from(end) {
            return Err(self.note(
                abs,
                format!("a cell of {size} bytes that does not fit its hive bin"),
            ));
        }
        if size > MAX_CELL_BYTES {
            return Err(self.note(abs, format!("a cell of {size} bytes, over the cap")));
        }
        self.bytes_read += u64::from(size);
        let mut data = vec![0u8; (size - 4) as usize];
        if !self.src.read_at(abs + 4, &mut data) {
            return Err(self.note(abs, "the input could not be read here".to_owned()));
        }
        Ok(data)
    }

    /// The root key.
    pub fn root(&mut self) -> Result<Key, CellError> {
        self.key(self.header.root)
    }

    /// The key node at a cell.
    pub fn key(&mut self, offset: u32) -> Result<Key, CellError> {
        let c = self.cell(offset)?;
        let abs = BASE_BLOCK + u64::from(offset);
        if !c.starts_with(b"nk") || c.len() < 76 {
            return Err(self.note(abs, "a key cell without the nk signature".to_owned()));
        }
        let flags = u16_at(&c, 2).unwrap_or(0);
        let name_len = usize::from(u16_at(&c, 72).unwrap_or(0));
        let Some(raw) = c.get(76..76 + name_len) else {
            return Err(self.note(abs, "a key name longer than its cell".to_owned()));
        };
        let name = decode_name(raw, flags & 0x20 != 0);
        let word = |at| u32_at(&c, at).unwrap_or(0);
        Ok(Key {
            flags,
            cell: offset,
            name,
            subkeys: word(20),
            subkey_list: word(28),
            values: word(36),
            value_list: word(40),
        })
    }

    /// The cell offsets of a key's subkeys, following `ri` index roots one level.
    /// A key's subkey cells, each with its `lh` name hash where the list has one.
    /// Besides them, the first error that left some out (a damaged `ri` sub-list, a list
    /// longer than its cell): a key not among them may still exist.
    fn subkey_cells(&mut self, key: &Key) -> Result<SubkeyCells, CellError> {
        if key.subkeys == 0 {
            return Ok((Vec::new(), None));
        }
        let mut out = Vec::new();
        let mut missing = None;
        self.list_cells(key.subkey_list, 0, &mut out, &mut missing)?;
        Ok((out, missing))
    }

    fn list_cells(
        &mut self,
        offset: u32,
        depth: u8,
        out: &mut Vec<(u32, Option<u32>)>,
        missing: &mut Option<CellError>,
    ) -> Result<(), CellError> {
        let c = self.cell(offset)?;
        let abs = BASE_BLOCK + u64::from(offset);
        let sig = c.get(..2).unwrap_or_default();
        let count = usize::from(u16_at(&c, 2).unwrap_or(0));
        let stride = match sig {
            b"li" | b"ri" => 4,
            b"lf" | b"lh" => 8,
            _ => return Err(self.note(abs, "a subkey list without a known signature".to_owned())),
        };
        if 4 + count * stride > c.len() {
            let e = self.note(
                abs,
                format!("a subkey list of {count} items longer than its cell"),
            );
            missing.get_or_insert(e);
        }
        let items: Vec<(u32, Option<u32>)> = (0..count)
            .map_while(|i| {
                let cell = u32_at(&c, 4 + i * stride)?;
                let hash = (sig == b"lh").then(|| u32_at(&c, 8 + i * stride)).flatten();
                Some((cell, hash))
            })
            .collect();
        if sig == b"ri" {
            if depth > 0 {
                return Err(self.note(abs, "an index root inside an index root".to_owned()));
            }
            for (list, _) in items {
                // A damaged sub-list is recorded and skipped; its siblings are still read.
                if let Err(e) = self.list_cells(list, depth + 1, out, missing) {
                    missing.get_or_insert(e);
                }
            }
        } else {
            out.extend(items);
        }
        if out.len() > MAX_LIST_ITEMS {
            out.truncate(MAX_LIST_ITEMS);
            return Err(self.note(abs, format!("more than {MAX_LIST_ITEMS} subkeys")));
        }
        Ok(())
    }

    /// A key's subkeys; `Err` when any of them, or a part of the list, could not be read
    /// (a list with keys left out must not read as whole).
    pub fn subkeys(&mut self, key: &Key) -> Result<Vec<Key>, CellError> {
        let (cells, missing) = self.subkey_cells(key)?;
        if let Some(e) = missing {
            return Err(e);
        }
        cells.into_iter().map(|(c, _)| self.key(c)).collect()
    }

    /// The subkey named `name` (compared without case, as Windows does).
    /// The cells whose `lh` hash matches are tried first (one cell read instead of one per
    /// sibling); when none has the name, every cell is (a damaged hash must not hide a key).
    /// `Ok(None)` only when every subkey was read and none has the name: when one could
    /// not be (damaged, or the read budget ran out) it may be the one, so that is `Err`.
    pub fn subkey(&mut self, key: &Key, name: &str) -> Result<Option<Key>, CellError> {
        let (cells, mut failed) = self.subkey_cells(key)?;
        let hash = lh_hash(name);
        let (likely, rest): (Vec<_>, Vec<_>) =
            cells.into_iter().partition(|(_, h)| *h == Some(hash));
        for (c, _) in likely.into_iter().chain(rest) {
            match self.key(c) {
                Ok(k) if eq_names(&k.name, name) => return Ok(Some(k)),
                Ok(_) => {}
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(None), Err)
    }

    /// The key at a `\`-separated path below `key` (remembered: the snapshot reads several
    /// values of one key, each by its path).
    pub fn path(&mut self, key: &Key, path: &str) -> Result<Option<Key>, CellError> {
        let id = (key.cell, path.to_uppercase());
        if let Some((_, found)) = self.paths.iter().find(|(k, _)| *k == id) {
            return found.clone();
        }
        let found = self.walk(key, path);
        if self.paths.len() < MAX_REMEMBERED_PATHS {
            self.paths.push((id, found.clone()));
        }
        found
    }

    fn walk(&mut self, key: &Key, path: &str) -> Result<Option<Key>, CellError> {
        let mut at = key.clone();
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            match self.subkey(&at, part)? {
                Some(k) => at = k,
                None => return Ok(None),
            }
        }
        Ok(Some(at))
    }

    /// The value named `name` of a key (`""` is the default value); `Ok(None)` only when
    /// every value cell was read and none has the name. When one could not be (damaged,
    /// without its `vk` signature, its name longer than its cell, the list cut short, the
    /// read budget spent) it may be the one, so that is `Err`: the value is unreadable,
    /// never absent (absent would apply the Windows default).
    pub fn value(&mut self, key: &Key, name: &str) -> Result<Option<Data>, CellError> {
        let (entries, failed) = self.value_cells(key)?;
        if let Some(v) = entries.into_iter().find(|v| eq_names(&v.name, name)) {
            let bytes = self.value_data(v.at, v.size, v.data_at)?;
            return Ok(Some(Data {
                kind: v.kind,
                bytes,
            }));
        }
        failed.map_or(Ok(None), Err)
    }

    /// Every value of a key, named, in the order of its value list; `Err` when any of
    /// them could not be read (a key with values left out must not read as whole).
    pub fn values(&mut self, key: &Key) -> Result<Vec<(String, Data)>, CellError> {
        let (entries, failed) = self.value_cells(key)?;
        if let Some(e) = failed {
            return Err(e);
        }
        let mut out = Vec::with_capacity(entries.len());
        for v in entries {
            let bytes = self.value_data(v.at, v.size, v.data_at)?;
            out.push((
                v.name,
                Data {
                    kind: v.kind,
                    bytes,
                },
            ));
        }
        Ok(out)
    }

    /// A key's value cells that could be read, and the first error that left one out.
    fn value_cells(&mut self, key: &Key) -> Result<(Vec<ValueCell>, Option<CellError>), CellError> {
        if key.values == 0 {
            return Ok((Vec::new(), None));
        }
        let list = self.cell(key.value_list)?;
        let count = (key.values as usize).min(MAX_LIST_ITEMS);
        let abs = BASE_BLOCK + u64::from(key.value_list);
        let mut failed = None;
        if count * 4 > list.len() || key.values as usize > MAX_LIST_ITEMS {
            failed = Some(self.note(
                abs,
                format!(
                    "a value list of {} items longer than its cell or the cap",
                    key.values
                ),
            ));
        }
        let cells: Vec<u32> = (0..count).map_while(|i| u32_at(&list, i * 4)).collect();
        let mut out = Vec::with_capacity(cells.len());
        for c in cells {
            let vk = match self.cell(c) {
                Ok(vk) => vk,
                Err(e) => {
                    failed.get_or_insert(e);
                    continue;
                }
            };
            let vabs = BASE_BLOCK + u64::from(c);
            if !vk.starts_with(b"vk") || vk.len() < 20 {
                let e = self.note(vabs, "a value cell without the vk signature".to_owned());
                failed.get_or_insert(e);
                continue;
            }
            let name_len = usize::from(u16_at(&vk, 2).unwrap_or(0));
            let flags = u16_at(&vk, 16).unwrap_or(0);
            let Some(raw) = vk.get(20..20 + name_len) else {
                let e = self.note(vabs, "a value name longer than its cell".to_owned());
                failed.get_or_insert(e);
                continue;
            };
            out.push(ValueCell {
                name: decode_name(raw, flags & 1 != 0),
                at: vabs,
                size: u32_at(&vk, 4).unwrap_or(0),
                data_at: u32_at(&vk, 8).unwrap_or(0),
                kind: u32_at(&vk, 12).unwrap_or(0),
            });
        }
        Ok((out, failed))
    }

    fn value_data(&mut self, vabs: u64, size: u32, data_at: u32) -> Result<Vec<u8>, CellError> {
        if size & 0x8000_0000 != 0 {
            let len = (size & 0x7FFF_FFFF).min(4) as usize;
            return Ok(data_at
                .to_le_bytes()
                .get(..len)
                .unwrap_or_default()
                .to_vec());
        }
        if size > MAX_VALUE_BYTES {
            return Err(self.note(vabs, format!("value data of {size} bytes, over the cap")));
        }
        let cell = self.cell(data_at)?;
        let big = size > BIG_DATA_SEGMENT
            && (self.header.major, self.header.minor) >= (1, 4)
            && cell.starts_with(b"db");
        let bytes = if big {
            let segments = usize::from(u16_at(&cell, 2).unwrap_or(0));
            let list = self.cell(u32_at(&cell, 4).unwrap_or(u32::MAX))?;
            let mut bytes = Vec::new();
            for i in 0..segments {
                let Some(seg) = u32_at(&list, i * 4) else {
                    return Err(
                        self.note(vabs, "a big data list shorter than its count".to_owned())
                    );
                };
                let part = self.cell(seg)?;
                let want = (size as usize - bytes.len()).min(BIG_DATA_SEGMENT as usize);
                bytes.extend_from_slice(part.get(..want).unwrap_or(&part));
                if bytes.len() >= size as usize {
                    break;
                }
            }
            bytes
        } else {
            cell
        };
        if bytes.len() < size as usize {
            return Err(self.note(
                vabs,
                format!(
                    "value data of {size} bytes in {} bytes of cells",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes.get(..size as usize).unwrap_or_default().to_vec())
    }
}

/// The name hash of `lh` subkey lists: for each UTF-16 unit of the uppercased name,
/// hash * 37 + unit.
pub fn lh_hash(name: &str) -> u32 {
    name.to_uppercase()
        .encode_utf16()
        .fold(0u32, |h, c| h.wrapping_mul(37).wrapping_add(u32::from(c)))
}

/// Registry names compare without case (Windows uppercases both).
fn eq_names(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_uppercase() == b.to_uppercase()
}

/// UTF-16LE bytes as text (an odd last byte is dropped).
fn utf16_le(raw: &[u8]) -> Vec<u16> {
    raw.chunks_exact(2)
        .map(|p| {
            u16::from_le_bytes([
                p.first().copied().unwrap_or(0),
                p.get(1).copied().unwrap_or(0),
            ])
        })
        .collect()
}

/// A key or value name: Latin-1 when its "compressed name" flag is set, else UTF-16LE.
fn decode_name(raw: &[u8], compressed: bool) -> String {
    if compressed {
        raw.iter().map(|b| char::from(*b)).collect()
    } else {
        String::from_utf16_lossy(&utf16_le(raw))
    }
}
