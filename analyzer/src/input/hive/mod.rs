//! Offline registry hives (`SYSTEM`, `SOFTWARE` from `Windows\System32\config` of an OS
//! disk attached to a rescue VM) read into a configuration snapshot, in the page as
//! natively: [`regf`] is a read-only reader of the file format, [`snapshot`] picks the
//! snapshot's values out of it, [`tree`] reads a hive whole and writes one (the fixer's
//! simulated disk, the test fixtures).
//!
//! The hive's header is checked (signature, base block checksum, sequence numbers, the
//! hive bins' size) and every problem goes into the input's report: a dirty hive (its
//! `.LOG1`/`.LOG2` hold changes the file does not) is read, with a warning that its values
//! may be older than the machine's; damaged cells are skipped and named. The snapshot lands
//! in `InputReport::configs`, as a `RDPFIX-CONFIG` block's does; a SYSTEM and a SOFTWARE
//! hive of one machine are joined by [`merge`].

pub mod regf;
pub mod snapshot;
pub mod tree;

use std::io::{Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};

use super::report::{Dialect, IssueKind, IssueLocation};
use super::{Format, Output};
use crate::Location;
use crate::config::model::ConfigSnapshot;
use crate::config::schema::Section;
use regf::{BASE_BLOCK, HeaderError, Hive, SeekSource};
use snapshot::HiveKind;

/// The commands that have Windows replay a dirty hive's `.LOG1`/`.LOG2`: it does so when it
/// loads a hive, so loading it under a name of rdpfix's own and unloading it again
/// (whether the unload then writes the replayed hive back is not verified here). `path`
/// is the hive file as the command line names it (quoted by the caller where it needs to
/// be). The page's and `fixer plan`'s refusal of a dirty hive and `fixer apply
/// --offline`'s both give it.
pub fn replay_logs_commands(path: &str) -> String {
    format!("`reg load HKLM\\rdpfix-replay {path}` then `reg unload HKLM\\rdpfix-replay`")
}

/// Whether an input starts like a registry hive (`regf`).
pub fn looks_like_hive(head: &[u8]) -> bool {
    head.starts_with(b"regf")
}

/// Reads one hive from a seekable input of `len` bytes.
pub(crate) fn read<R: Read + Seek>(mut reader: R, len: u64, out: &mut Output<'_>) {
    out.report.format = Some(Format::RegistryHive);
    out.report.dialect = Some(Dialect::RegistryHive);
    // The whole file is hashed first, in order (the evidence's SHA-256), a piece at a time.
    let mut hasher = Sha256::new();
    let mut piece = vec![0u8; 64 * 1024];
    let mut done: u64 = 0;
    let hashed = reader.seek(SeekFrom::Start(0)).is_ok()
        && loop {
            match reader.read(&mut piece) {
                Ok(0) => break true,
                Ok(n) => {
                    hasher.update(piece.get(..n).unwrap_or_default());
                    done += n as u64;
                    if done % (4 * 1024 * 1024) < n as u64 && out.tick(done).is_break() {
                        return;
                    }
                }
                Err(_) => break false,
            }
        };
    if hashed {
        out.report.sha256 = super::report::hex(&hasher.finalize());
    }
    let len = if hashed { done } else { len };
    let mut src = SeekSource(reader);
    let mut block = vec![0u8; BASE_BLOCK as usize];
    let got = (len.min(BASE_BLOCK)) as usize;
    block.truncate(got);
    if !regf::Source::read_at(&mut src, 0, &mut block) {
        block.clear();
    }
    let header = match regf::parse_header(&block) {
        Ok(h) => h,
        Err(e) => {
            let why = match e {
                HeaderError::Short(n) => format!(
                    "the hive is {n} bytes, shorter than its 4096-byte base block: nothing can be read"
                ),
                HeaderError::Signature => "no regf signature: not a registry hive".to_owned(),
            };
            out.report.error(IssueKind::BadHeader, None, why);
            out.report.truncated = true;
            return;
        }
    };
    check_header(&header, out);
    let mut hive = Hive::new(src, header);
    let walk = hive.map_bins(len);
    if walk.short {
        out.report.truncated = true;
        out.report.error(
            IssueKind::Truncated,
            Some(IssueLocation::Byte {
                offset: BASE_BLOCK + walk.found,
            }),
            format!(
                "the hive bins end after {} bytes but the header says {}: the file is cut short \
                 or damaged; keys stored past that point are not read",
                walk.found, hive.header.bins_size
            ),
        );
    }
    let mut snap = ConfigSnapshot::empty(out.input_name(), 0);
    let read = snapshot::read(&mut hive, &mut snap);
    for d in &hive.damage {
        out.report.skipped += 1;
        out.report.error(
            IssueKind::BadCell,
            Some(IssueLocation::Byte { offset: d.offset }),
            format!(
                "{}: skipped; what needed it reads as unreadable (?)",
                d.what
            ),
        );
    }
    if hive.exhausted {
        out.report.error(
            IssueKind::Limit,
            None,
            format!(
                "more than {} cells or {} MiB of cells read: the rest of the hive was not read",
                regf::MAX_CELL_READS,
                regf::MAX_BYTES_READ / (1024 * 1024)
            ),
        );
    }
    describe(&read, out);
    if matches!(read.kind, HiveKind::Other | HiveKind::Unreadable) {
        return;
    }
    snap.computer = read.computer.clone().unwrap_or_default();
    snap.os_build = read.build;
    out.report.configs.push(snap);
}

fn check_header(header: &regf::Header, out: &mut Output<'_>) {
    if header.primary_sequence != header.secondary_sequence {
        out.report.warning(
            IssueKind::DirtyHeader,
            Some(IssueLocation::Byte { offset: 4 }),
            format!(
                "the hive is dirty (sequence numbers {} and {} differ): Windows had not \
                 written all its changes into this file; they are in the .LOG1/.LOG2 files \
                 beside it, which this reader does not apply, so values read here may be \
                 older than the machine's. Read the hive again from a disk whose VM was shut \
                 down cleanly, or check these values on Windows with the .LOG1/.LOG2 files \
                 kept beside the hive",
                header.primary_sequence, header.secondary_sequence
            ),
        );
    }
    if !header.checksum_ok {
        out.report.warning(
            IssueKind::HeaderChecksum,
            Some(IssueLocation::Byte { offset: 508 }),
            format!(
                "the hive's base block checksum does not match ({:#010x} written, {:#010x} \
                 computed): Windows would recover it from its logs; values read here may be \
                 wrong",
                header.checksum, header.computed
            ),
        );
    }
    if header.major != 1 || header.file_type != 0 {
        out.report.warning(
            IssueKind::BadHeader,
            Some(IssueLocation::Byte { offset: 20 }),
            format!(
                "an unusual hive header (version {}.{}, file type {}): read as a primary hive file",
                header.major, header.minor, header.file_type
            ),
        );
    }
}

fn describe(read: &snapshot::Read, out: &mut Output<'_>) {
    let note = match read.kind {
        HiveKind::System => {
            let (n, from_select) = read.control_set.unwrap_or((1, false));
            let how = if from_select {
                r"named by Select\Current"
            } else {
                r"Select\Current could not be read; ControlSet001 used"
            };
            let computer = read
                .computer
                .as_deref()
                .map_or("no computer name found".to_owned(), |c| {
                    format!("computer {c}")
                });
            if let Some(why) = &read.set_error {
                out.report.error(IssueKind::BadCell, None, why.clone());
            }
            format!("SYSTEM hive: control set {n:03} ({how}), {computer}")
        }
        HiveKind::Software => {
            let product = read.product.as_deref().unwrap_or("product unknown");
            let build = read
                .build
                .map_or("build unknown".to_owned(), |b| format!("build {b}"));
            format!(
                "SOFTWARE hive: {product}, {build}; it names no computer, so its values join a \
                 SYSTEM hive read beside it"
            )
        }
        HiveKind::Other => "a registry hive with neither Select (SYSTEM) nor \
                            Microsoft\\Windows NT\\CurrentVersion (SOFTWARE): nothing of the \
                            configuration snapshot is in it"
            .to_owned(),
        HiveKind::Unreadable => {
            out.report.error(
                IssueKind::BadHeader,
                None,
                "the hive's root key, its list of subkeys or one of them (`Select` may be that \
                 one) could not be read (see the damage above): nothing of the configuration \
                 snapshot could be read"
                    .to_owned(),
            );
            return;
        }
    };
    out.report.info(IssueKind::Hive, None, note);
}

/// Joins the snapshots of one machine's offline hives: a hive's snapshot that names no
/// computer (read from a SOFTWARE hive) joins the hive snapshots of the one computer the
/// others name (read from its SYSTEM hive); with none or several computers it stays on its
/// own. The others are returned as they are, in order.
pub fn merge<'a>(snapshots: impl IntoIterator<Item = &'a ConfigSnapshot>) -> Vec<ConfigSnapshot> {
    let all: Vec<&ConfigSnapshot> = snapshots.into_iter().collect();
    // Only a hive's snapshots (origin line 0) are joined, and of the nameless ones only a
    // SOFTWARE hive's (a nameless `reg query` paste, or a SYSTEM hive whose name could not
    // be read, stays on its own: it may be another machine's).
    let from_hive = |s: &ConfigSnapshot| s.origin.location == Location::Line { line: 0 };
    let (nameless, named): (Vec<&ConfigSnapshot>, Vec<&ConfigSnapshot>) = all
        .iter()
        .partition(|s| s.computer.is_empty() && from_hive(s) && software_hive(s));
    let mut out: Vec<ConfigSnapshot> = named.iter().map(|s| (*s).clone()).collect();
    let mut computers: Vec<&str> = named.iter().map(|s| s.computer.as_str()).collect();
    computers.sort_by_key(|c| c.to_uppercase());
    computers.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let hives: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, s)| from_hive(s))
        .map(|(i, _)| i)
        .collect();
    if computers.len() != 1 || hives.is_empty() {
        out.extend(nameless.into_iter().cloned());
        return out;
    }
    for part in nameless {
        for &i in &hives {
            if let Some(target) = out.get_mut(i) {
                join(target, part);
            }
        }
    }
    out
}

/// Whether a hive's snapshot was read from a SOFTWARE hive: `snapshot::read` gives it the
/// cipher suite policy, and gives a SYSTEM hive's the services, never the other's.
fn software_hive(s: &ConfigSnapshot) -> bool {
    let has = |section: Section| s.entries.iter().any(|e| e.section == section);
    has(Section::Ciphers) && !has(Section::Svc)
}

fn join(target: &mut ConfigSnapshot, part: &ConfigSnapshot) {
    target.os_build = target.os_build.or(part.os_build);
    let pinned = target
        .entries
        .iter()
        .find(|e| e.section == Section::Rdp && e.key == "cert")
        .map(|e| e.value.clone());
    for e in &part.entries {
        if e.section == Section::Cert
            && let Some(crate::config::Value::Set(pin)) = &pinned
        {
            // A pinned certificate other than the store's: where it is, is not known here.
            let stored = part
                .entries
                .iter()
                .find(|c| c.section == Section::Cert && c.key == "thumb");
            let same = matches!(stored.map(|c| &c.value), Some(crate::config::Value::Set(t)) if t.eq_ignore_ascii_case(pin));
            if !same {
                continue;
            }
        }
        if target
            .entries
            .iter()
            .any(|t| t.section == e.section && t.subject == e.subject && t.key == e.key)
        {
            continue;
        }
        target.entries.push(e.clone());
    }
    for n in &part.not_collected {
        target.not_collected.push(n.clone());
    }
}
