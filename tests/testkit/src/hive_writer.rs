//! A minimal registry hive (`regf`) writer, for fixtures: Debian's hivex edits hives but
//! cannot create one. It follows the documented layout (Maxim Suhanov's "Windows registry
//! file format specification", libyal's libregf): a 4096-byte base block with its XOR
//! checksum, hive bins of 4096 bytes (larger for a cell that needs it), key nodes (`nk`)
//! with `lh` subkey lists sorted by uppercase name and their name hashes, value lists,
//! values (`vk`) with data held in the value (4 bytes or less), in a cell, or as big data
//! (`db`, over 16,344 bytes), and one security cell (`sk`) every key shares.
//!
//! The output reads back with `hivexsh` (checked by `analyzer/tests/hive.rs`).

// Test support writing into buffers it sized itself, never parsing input.
#![allow(clippy::indexing_slicing)]

use std::collections::BTreeMap;

pub use analyzer::input::hive::regf::{
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ,
};

const BIN: usize = 4096;
const BIG_SEGMENT: usize = 16_344;
/// 2026-11-20T09:41:07Z as a FILETIME, written as every key's last-write time.
const FILETIME: u64 = 134_082_216_670_000_000;

/// A key to write: its values and subkeys.
#[derive(Debug, Clone, Default)]
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
            let i = match at
                .subkeys
                .iter()
                .position(|k| k.name.eq_ignore_ascii_case(part))
            {
                Some(i) => i,
                None => {
                    at.subkeys.push(KeySpec::new(part));
                    at.subkeys.len() - 1
                }
            };
            at = &mut at.subkeys[i];
        }
        at
    }

    /// Sets a value (replacing one of the same name).
    pub fn set(&mut self, name: &str, kind: u32, data: Vec<u8>) -> &mut KeySpec {
        self.values
            .retain(|(n, _, _)| !n.eq_ignore_ascii_case(name));
        self.values.push((name.to_owned(), kind, data));
        self
    }

    pub fn dword(&mut self, name: &str, v: u32) -> &mut KeySpec {
        self.set(name, REG_DWORD, v.to_le_bytes().to_vec())
    }

    pub fn string(&mut self, name: &str, v: &str) -> &mut KeySpec {
        self.set(name, REG_SZ, sz(v))
    }

    pub fn remove(&mut self, name: &str) -> &mut KeySpec {
        self.values
            .retain(|(n, _, _)| !n.eq_ignore_ascii_case(name));
        self
    }
}

/// A hive written, with where each key's `nk` cell is (by path, `\`-separated, the root
/// being ""), for tests that damage it.
#[derive(Debug, Clone)]
pub struct Written {
    pub bytes: Vec<u8>,
    pub keys: BTreeMap<String, u32>,
}

/// The hive's header fields a test may change.
#[derive(Debug, Clone)]
pub struct HiveWriter {
    pub root: KeySpec,
    pub primary_sequence: u32,
    pub secondary_sequence: u32,
    pub minor: u32,
    /// The file name stored in the base block.
    pub file_name: String,
}

struct Cells {
    /// Hive bins data (offset 0 = the first bin's header).
    data: Vec<u8>,
    /// Free bytes left in the last bin, from `cursor`.
    cursor: usize,
    bin_end: usize,
}

impl Cells {
    fn new() -> Cells {
        Cells {
            data: Vec::new(),
            cursor: 0,
            bin_end: 0,
        }
    }

    fn close_bin(&mut self) {
        let left = self.bin_end - self.cursor;
        if left > 0 {
            // The rest of a bin is one free cell (a positive size).
            let size = i32::try_from(left).unwrap_or(i32::MAX);
            self.data[self.cursor..self.cursor + 4].copy_from_slice(&size.to_le_bytes());
        }
        self.cursor = self.bin_end;
    }

    fn new_bin(&mut self, need: usize) {
        self.close_bin();
        let size = (need + 32).div_ceil(BIN) * BIN;
        let at = self.data.len();
        self.data.resize(at + size, 0);
        let head = &mut self.data[at..at + 32];
        head[..4].copy_from_slice(b"hbin");
        head[4..8].copy_from_slice(&(at as u32).to_le_bytes());
        head[8..12].copy_from_slice(&(size as u32).to_le_bytes());
        if at == 0 {
            head[20..28].copy_from_slice(&FILETIME.to_le_bytes());
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
        self.data[at..at + 4].copy_from_slice(&neg.to_le_bytes());
        self.cursor += size;
        at as u32
    }

    fn put(&mut self, cell: u32, at: usize, bytes: &[u8]) {
        let start = cell as usize + 4 + at;
        self.data[start..start + bytes.len()].copy_from_slice(bytes);
    }

    fn cell(&mut self, payload: &[u8]) -> u32 {
        let c = self.alloc(payload.len());
        self.put(c, 0, payload);
        c
    }
}

/// The name hash of `lh` lists: for each character, uppercased, hash * 37 + character.
pub fn lh_hash(name: &str) -> u32 {
    name.to_uppercase()
        .encode_utf16()
        .fold(0u32, |h, c| h.wrapping_mul(37).wrapping_add(u32::from(c)))
}

fn name_bytes(name: &str) -> (Vec<u8>, bool) {
    if name.chars().all(|c| (c as u32) < 256) {
        (name.chars().map(|c| c as u8).collect(), true)
    } else {
        (utf16(name), false)
    }
}

/// The base block's checksum: XOR of its first 127 dwords (0 written as 1, -1 as -2).
pub fn checksum(block: &[u8]) -> u32 {
    let sum = (0..127).fold(0u32, |acc, i| {
        acc ^ u32::from_le_bytes(block[i * 4..i * 4 + 4].try_into().unwrap_or_default())
    });
    match sum {
        0 => 1,
        u32::MAX => u32::MAX - 1,
        s => s,
    }
}

/// Writes the base block's checksum again (after a test changed the block).
pub fn reseal(bytes: &mut [u8]) {
    let sum = checksum(bytes);
    bytes[508..512].copy_from_slice(&sum.to_le_bytes());
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
        let mut cells = Cells::new();
        let mut keys = BTreeMap::new();
        // The security cell every key points to: an empty DACL, self-relative.
        let mut descriptor = vec![1u8, 0, 0x04, 0x80];
        descriptor.extend_from_slice(&[0; 12]);
        descriptor.extend_from_slice(&20u32.to_le_bytes());
        descriptor.extend_from_slice(&[2, 0, 8, 0, 0, 0, 0, 0]);
        let mut sk = b"sk\0\0".to_vec();
        sk.extend_from_slice(&[0; 12]);
        sk.extend_from_slice(&(descriptor.len() as u32).to_le_bytes());
        sk.extend_from_slice(&descriptor);
        let sk_cell = cells.cell(&sk);
        let mut count = 0u32;
        let root = self.emit(
            &self.root,
            u32::MAX,
            "",
            sk_cell,
            &mut cells,
            &mut keys,
            &mut count,
            true,
        );
        // flink, blink (itself) and the reference count.
        cells.put(sk_cell, 4, &sk_cell.to_le_bytes());
        cells.put(sk_cell, 8, &sk_cell.to_le_bytes());
        cells.put(sk_cell, 12, &count.to_le_bytes());
        cells.close_bin();
        let mut out = vec![0u8; BIN];
        out[..4].copy_from_slice(b"regf");
        out[4..8].copy_from_slice(&self.primary_sequence.to_le_bytes());
        out[8..12].copy_from_slice(&self.secondary_sequence.to_le_bytes());
        out[12..20].copy_from_slice(&FILETIME.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[24..28].copy_from_slice(&self.minor.to_le_bytes());
        out[32..36].copy_from_slice(&1u32.to_le_bytes());
        out[36..40].copy_from_slice(&root.to_le_bytes());
        out[40..44].copy_from_slice(&(cells.data.len() as u32).to_le_bytes());
        out[44..48].copy_from_slice(&1u32.to_le_bytes());
        let name = utf16(&self.file_name);
        let n = name.len().min(64);
        out[48..48 + n].copy_from_slice(&name[..n]);
        reseal(&mut out);
        out.extend_from_slice(&cells.data);
        Written { bytes: out, keys }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        key: &KeySpec,
        parent: u32,
        path: &str,
        sk: u32,
        cells: &mut Cells,
        keys: &mut BTreeMap<String, u32>,
        count: &mut u32,
        is_root: bool,
    ) -> u32 {
        *count += 1;
        let (name, compressed) = name_bytes(&key.name);
        let nk = cells.alloc(76 + name.len());
        keys.insert(path.to_owned(), nk);
        let mut subkeys: Vec<&KeySpec> = key.subkeys.iter().collect();
        subkeys.sort_by_key(|k| k.name.to_uppercase());
        let mut entries = Vec::new();
        for k in &subkeys {
            let child = if path.is_empty() {
                k.name.clone()
            } else {
                format!("{path}\\{}", k.name)
            };
            let c = self.emit(k, nk, &child, sk, cells, keys, count, false);
            entries.push((c, lh_hash(&k.name)));
        }
        let subkey_list = if entries.is_empty() {
            u32::MAX
        } else {
            let mut lh = b"lh".to_vec();
            lh.extend_from_slice(&(entries.len() as u16).to_le_bytes());
            for (c, h) in &entries {
                lh.extend_from_slice(&c.to_le_bytes());
                lh.extend_from_slice(&h.to_le_bytes());
            }
            cells.cell(&lh)
        };
        let mut vks = Vec::new();
        for (vname, kind, data) in &key.values {
            let (vn, vcompressed) = name_bytes(vname);
            let (size, at) = if data.len() <= 4 {
                let mut inline = [0u8; 4];
                inline[..data.len()].copy_from_slice(data);
                (data.len() as u32 | 0x8000_0000, u32::from_le_bytes(inline))
            } else if data.len() > BIG_SEGMENT && self.minor >= 4 {
                let segs: Vec<u32> = data.chunks(BIG_SEGMENT).map(|s| cells.cell(s)).collect();
                let list: Vec<u8> = segs.iter().flat_map(|s| s.to_le_bytes()).collect();
                let list = cells.cell(&list);
                let mut db = b"db".to_vec();
                db.extend_from_slice(&(segs.len() as u16).to_le_bytes());
                db.extend_from_slice(&list.to_le_bytes());
                (data.len() as u32, cells.cell(&db))
            } else {
                (data.len() as u32, cells.cell(data))
            };
            let mut vk = b"vk".to_vec();
            vk.extend_from_slice(&(vn.len() as u16).to_le_bytes());
            vk.extend_from_slice(&size.to_le_bytes());
            vk.extend_from_slice(&at.to_le_bytes());
            vk.extend_from_slice(&kind.to_le_bytes());
            vk.extend_from_slice(&u16::from(vcompressed).to_le_bytes());
            vk.extend_from_slice(&[0, 0]);
            vk.extend_from_slice(&vn);
            vks.push(cells.cell(&vk));
        }
        let value_list = if vks.is_empty() {
            u32::MAX
        } else {
            let list: Vec<u8> = vks.iter().flat_map(|v| v.to_le_bytes()).collect();
            cells.cell(&list)
        };
        let max_sub = subkeys.iter().map(|k| k.name.len() * 2).max().unwrap_or(0);
        let max_vname = key
            .values
            .iter()
            .map(|(n, _, _)| n.len() * 2)
            .max()
            .unwrap_or(0);
        let max_data = key
            .values
            .iter()
            .map(|(_, _, d)| d.len())
            .max()
            .unwrap_or(0);
        let mut body = Vec::with_capacity(76 + name.len());
        body.extend_from_slice(b"nk");
        let flags: u16 = if is_root { 0x2C } else { 0 } | if compressed { 0x20 } else { 0 };
        body.extend_from_slice(&flags.to_le_bytes());
        body.extend_from_slice(&FILETIME.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&parent.to_le_bytes());
        body.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&subkey_list.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        body.extend_from_slice(&(vks.len() as u32).to_le_bytes());
        body.extend_from_slice(&value_list.to_le_bytes());
        body.extend_from_slice(&sk.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        body.extend_from_slice(&(max_sub as u32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&(max_vname as u32).to_le_bytes());
        body.extend_from_slice(&(max_data as u32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&(name.len() as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&name);
        cells.put(nk, 0, &body);
        nk
    }
}

/// `bins` as the hive bins of a hive: behind the base block of [`system`]'s hive, with the
/// bins' size set to `bins.len()` and the checksum written again (the fuzz target's way
/// into the cells).
pub fn behind_base_block(bins: &[u8]) -> Vec<u8> {
    static BLOCK: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let block = BLOCK.get_or_init(|| system(1, |_| {}).write().bytes[..BIN].to_vec());
    let mut out = block.clone();
    out[40..44].copy_from_slice(&u32::try_from(bins.len()).unwrap_or(u32::MAX).to_le_bytes());
    reseal(&mut out);
    out.extend_from_slice(bins);
    out
}

/// The fixture hives of `tests/fixtures/hives/` (`analyzer/tests/hive.rs` checks the
/// committed files are these bytes): (file name, bytes).
pub fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    fixture_writers()
        .into_iter()
        .map(|(name, w)| (name, w.write().bytes))
        .collect()
}

/// The writers of [`fixtures`], for tests that compare a hive with what was written.
pub fn fixture_writers() -> Vec<(&'static str, HiveWriter)> {
    let healthy = system(1, |_| {});
    let mut dirty = healthy.clone();
    dirty.primary_sequence = 9;
    dirty.secondary_sequence = 8;
    vec![
        ("healthy/SYSTEM", healthy),
        ("healthy/SOFTWARE", software(|_| {})),
        (
            "rdp-disabled-policy/SOFTWARE",
            software(|s| {
                s.key(r"Policies\Microsoft\Windows NT\Terminal Services")
                    .dword("fDenyTSConnections", 1);
            }),
        ),
        // Select\Current names ControlSet002, whose listener moved to 3390.
        ("port-changed/SYSTEM", system(2, |_| {})),
        (
            "termservice-disabled/SYSTEM",
            system(1, |cs| {
                cs.key(r"Services\TermService").dword("Start", 4);
            }),
        ),
        ("dirty/SYSTEM", dirty),
    ]
}

/// Damaged SYSTEM hives of `tests/fixtures/hives/damaged/`: cut in its second hive bin,
/// with a wrong base block checksum, and with the `RDP-Tcp` key's value list pointing past
/// the last hive bin.
pub fn damaged() -> Vec<(&'static str, Vec<u8>)> {
    let healthy = system(1, |_| {}).write();
    let truncated = healthy.bytes[..BIN + BIN + 1000].to_vec();
    let mut checksum = healthy.bytes.clone();
    checksum[508] ^= 0x55;
    let mut outside = healthy.bytes.clone();
    let nk = healthy.keys[r"ControlSet001\Control\Terminal Server\WinStations\RDP-Tcp"] as usize;
    // The value list's offset: the nk's payload starts 4 bytes into its cell, the field
    // 40 bytes into the payload.
    let at = BIN + nk + 4 + 40;
    outside[at..at + 4].copy_from_slice(&0x00F0_0000u32.to_le_bytes());
    vec![
        ("damaged/truncated-SYSTEM", truncated),
        ("damaged/bad-checksum-SYSTEM", checksum),
        ("damaged/cell-outside-bin-SYSTEM", outside),
    ]
}

/// A Windows Server 2022 SYSTEM hive of computer `vm-app-01` with two control sets:
/// ControlSet001 as an Azure image has it, ControlSet002 the same with `PortNumber` 3390;
/// `Select\Current` = `current`. `edit` changes the control set `current` names.
pub fn system(current: u32, edit: impl Fn(&mut KeySpec)) -> HiveWriter {
    let mut h = HiveWriter::new(r"\REGISTRY\MACHINE\SYSTEM");
    h.root.name = "CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}".to_owned();
    h.root
        .key("Select")
        .dword("Current", current)
        .dword("Default", current)
        .dword("Failed", 0)
        .dword("LastKnownGood", current);
    h.root
        .key("Setup")
        .dword("SystemSetupInProgress", 0)
        .dword("OOBEInProgress", 0);
    for n in [1u32, 2] {
        let cs = h.root.key(&format!("ControlSet{n:03}"));
        control_set(cs);
        if n == 2 {
            cs.key(r"Control\Terminal Server\WinStations\RDP-Tcp")
                .dword("PortNumber", 3390);
        }
        if n == current {
            edit(cs);
        }
    }
    h
}

fn control_set(cs: &mut KeySpec) {
    cs.key(r"Control\ComputerName\ComputerName")
        .string("ComputerName", "VM-APP-01");
    cs.key(r"Control\Terminal Server")
        .dword("fDenyTSConnections", 0)
        .dword("TSServerDrainMode", 0)
        .dword("fSingleSessionPerUser", 1);
    cs.key(r"Control\Terminal Server\WinStations\RDP-Tcp")
        .dword("PortNumber", 3389)
        .dword("SecurityLayer", 2)
        .dword("UserAuthentication", 1)
        .dword("MinEncryptionLevel", 2)
        .dword("fEnableWinStation", 1)
        .dword("fLogonDisabled", 0)
        .dword("LanAdapter", 0)
        .dword("MaxInstanceCount", u32::MAX)
        .dword("fAllowSecProtocolNegotiation", 1);
    cs.key(r"Control\Lsa").dword("LmCompatibilityLevel", 5);
    cs.key(r"Control\Lsa\FIPSAlgorithmPolicy")
        .dword("Enabled", 0);
    cs.key(r"Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server")
        .dword("Enabled", 1)
        .dword("DisabledByDefault", 0);
    let services: [(&str, u32, u32, &str); 8] = [
        ("TermService", 3, 32, r"NT Authority\NetworkService"),
        ("UmRdpService", 3, 32, "localSystem"),
        ("SessionEnv", 3, 32, "localSystem"),
        ("Dhcp", 2, 32, r"NT Authority\LocalService"),
        ("NSI", 2, 32, r"NT Authority\LocalService"),
        ("Netlogon", 3, 32, "LocalSystem"),
        ("BFE", 2, 32, r"NT AUTHORITY\LocalService"),
        ("MpsSvc", 2, 32, r"NT Authority\LocalService"),
    ];
    for (name, start, kind, account) in services {
        cs.key(&format!(r"Services\{name}"))
            .dword("Start", start)
            .dword("Type", kind)
            .set("ObjectName", REG_SZ, sz(account))
            .set(
                "ImagePath",
                REG_EXPAND_SZ,
                sz(r"%SystemRoot%\System32\svchost.exe -k NetworkService"),
            );
    }
    cs.key(r"Services\TermService")
        .set("DependOnService", REG_MULTI_SZ, multi_sz(&["RPCSS"]));
}

/// A Windows Server 2022 SOFTWARE hive: its version, the Remote Desktop store with the
/// self-signed certificate, no Terminal Services policy; `edit` changes it.
pub fn software(edit: impl Fn(&mut KeySpec)) -> HiveWriter {
    let mut h = HiveWriter::new(r"\REGISTRY\MACHINE\SOFTWARE");
    h.root
        .key(r"Microsoft\Windows NT\CurrentVersion")
        .string("ProductName", "Windows Server 2022 Datacenter")
        .string("CurrentBuild", "20348")
        .string("CurrentBuildNumber", "20348")
        .dword("CurrentMajorVersionNumber", 10)
        .set("InstallTime", REG_QWORD, FILETIME.to_le_bytes().to_vec());
    h.root
        .key(r"Microsoft\SystemCertificates\Remote Desktop\Certificates\3A8F2C4B5D6E7F8091A2B3C4D5E6F708192A3B4C")
        .set("Blob", REG_BINARY, vec![0x30; 700]);
    h.root
        .key(r"Policies\Microsoft\Windows NT\Terminal Services");
    edit(&mut h.root);
    h
}
