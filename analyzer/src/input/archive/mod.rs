//! Zip archives — what an admin makes of `fixer collect`'s folder to get it off the VM
//! (Explorer's "Compressed folder", `Compress-Archive`, 7-Zip, or the `rdpfix-logs.zip`
//! collect writes itself): every member goes through the normal readers
//! ([`super::read_seekable`]) as an input of its own, named `logs.zip › rdpfix-logs/System.evtx`;
//! the archive's own report says what was left out and why.
//!
//! Streaming: the `zip` crate reads the central directory, then each member is decompressed
//! as it is read, one 64 KiB `.evtx` chunk at a time, so memory does not grow with the
//! archive. Nothing is ever written anywhere, yet members an unzip tool would refuse are
//! refused too: names that climb out of the archive, encrypted members, members that share
//! their bytes (an overlapping-member zip bomb), more data than a member declares, more
//! than [`MAX_EXPANDED_BYTES`] in all. A damaged archive keeps what can be read: without a
//! readable central directory the members are read from their own headers, in order.

mod directory;
mod member;

use std::cell::Cell;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::rc::Rc;

use zip::CompressionMethod;

use super::report::{Dialect, InputReport, IssueKind, IssueLocation};
use super::{EventSink, Format, Progress, read_seekable};
use member::Member;

/// Members listed in an archive's central directory at most.
pub const MAX_MEMBERS: u64 = 10_000;
/// Largest central directory read (the `zip` crate holds it in memory, entry by entry).
pub const MAX_DIRECTORY_BYTES: u64 = 8 * 1024 * 1024;
/// Bytes all of an archive's members may expand to: past this, the members left are
/// listed as skipped. Far above what a VM's exported logs come to.
pub const MAX_EXPANDED_BYTES: u64 = 16 * 1024 * 1024 * 1024;
/// What separates an archive's name from a member's in the member's input name.
pub const MEMBER_SEPARATOR: &str = " › ";
/// Largest registry hive read from inside an archive: a hive is read at random, so a
/// member is held in memory whole (a SYSTEM hive is tens of MiB, SOFTWARE up to about 150).
pub const MAX_HIVE_BYTES: u64 = 256 * 1024 * 1024;
/// Deflate turns at most 258 bytes into 2 bits (a ratio of 1,032); a member declaring
/// more is lying about its size.
const MAX_DEFLATE_RATIO: u64 = 1_032;

/// Whether `head` (an input's first bytes, 4 are enough) starts a zip archive: a member's
/// local header, or the end record of an empty archive.
pub fn looks_like_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// Whether a file name says zip archive (`.zip`, any case): how a folder's files are
/// sorted before any is opened ([`folder_reads`]).
pub fn is_archive_name(name: &str) -> bool {
    name.rsplit('.')
        .next()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("zip") && name.len() > 4)
}

/// Files taken from one folder and its subfolders at most (by the page from a dropped
/// folder, by `fixer diagnose` from a named one): a folder of logs holds a few; past this,
/// the wrong folder was named.
pub const MAX_FOLDER_FILES: usize = 1_000;

/// Which files of a folder (by name, in order) are read: all of them, except archives
/// when the folder also holds other files. `fixer collect` writes `rdpfix-logs.zip` beside
/// the logs it zipped, so a folder copied whole holds every log twice; an archive alone in
/// a folder is read.
pub fn folder_reads(names: &[&str]) -> Vec<bool> {
    let loose = names.iter().any(|n| !is_archive_name(n));
    names
        .iter()
        .map(|n| !(loose && is_archive_name(n)))
        .collect()
}

/// The report of an archive [`folder_reads`] leaves out: nothing read, and why.
pub fn archive_left_out(name: &str, bytes: u64) -> InputReport {
    let mut report = archive_report(name, bytes);
    report.info(
        IssueKind::Skipped,
        None,
        "not opened: it lies beside the folder's other files, which were read, and holds the \
         same logs (as the rdpfix-logs.zip fixer collect writes does); drop it on its own to \
         read it"
            .to_owned(),
    );
    report
}

/// Reads one input that may be a zip archive: its reports ([`read_zip`]), or the one report
/// of [`read_seekable`].
pub fn read_any<R: Read + Seek>(
    name: &str,
    mut reader: R,
    len: u64,
    sink: &mut dyn EventSink,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Vec<InputReport> {
    let mut head = [0u8; 4];
    let got = super::read_up_to(&mut reader, &mut head).unwrap_or(0);
    let zip = looks_like_zip(head.get(..got).unwrap_or_default());
    if reader.seek(SeekFrom::Start(0)).is_ok() && zip {
        return read_zip(name, reader, len, sink, progress);
    }
    vec![read_seekable(name, reader, len, sink, progress)]
}

/// Reads a zip archive of `len` bytes named `name`: the archive's report (format `zip`, no
/// events: which members were left out and why), then one report per member read. The
/// archive's report has no SHA-256: the members' digests are the evidence, the same as the
/// loose files'.
pub fn read_zip<R: Read + Seek>(
    name: &str,
    reader: R,
    len: u64,
    sink: &mut dyn EventSink,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Vec<InputReport> {
    let at = Rc::new(Cell::new(0));
    let mut reader = Tracked {
        inner: reader,
        at: Rc::clone(&at),
    };
    let mut reading = Reading {
        archive: archive_report(name, len),
        members: Vec::new(),
        at,
        events: 0,
        expanded: 0,
        last_end: 0,
        sink,
        progress,
    };
    if let Some(d) = directory::measure(&mut reader, len)
        && (d.members > MAX_MEMBERS || d.bytes > MAX_DIRECTORY_BYTES)
    {
        reading.archive.error(
            IssueKind::Limit,
            None,
            format!(
                "the archive lists {} members in a {}-byte directory, over the caps of {} \
                 members and {} MiB; nothing was read: unzip it and drop the logs themselves",
                d.members,
                d.bytes,
                MAX_MEMBERS,
                MAX_DIRECTORY_BYTES / (1024 * 1024)
            ),
        );
        return reading.finish(len);
    }
    let _ = reader.seek(SeekFrom::Start(0));
    match zip::ZipArchive::new(&mut reader) {
        Ok(mut archive) => reading.central(&mut archive),
        Err(e) => {
            reading.archive.error(
                IssueKind::Truncated,
                None,
                format!(
                    "the archive's central directory cannot be read ({e}): it looks cut short \
                     or damaged; the members before the damage were read from their own \
                     headers. Copy the archive again, or zip the logs again"
                ),
            );
            reading.archive.truncated = true;
            reading.streamed(&mut reader);
        }
    }
    reading.finish(len)
}

fn archive_report(name: &str, bytes: u64) -> InputReport {
    let mut report = InputReport::new(name, bytes);
    report.format = Some(Format::Zip);
    report.dialect = Some(Dialect::Zip);
    report
}

/// A reader that says where it is (for progress while a member is decompressed).
struct Tracked<R> {
    inner: R,
    at: Rc<Cell<u64>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.at.set(self.at.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Tracked<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let at = self.inner.seek(to)?;
        self.at.set(at);
        Ok(at)
    }
}

/// What the central directory (or, without one, a local header) says of a member.
struct Meta {
    path: String,
    dir: bool,
    symlink: bool,
    encrypted: bool,
    method: CompressionMethod,
    size: u64,
    compressed: u64,
}

/// What [`Meta::judge`] decides of a member the archive may hold.
enum Verdict {
    Read,
    /// A folder entry: nothing to read, nothing to say.
    Folder,
}

/// The [`Meta`] of a `zip` crate entry or file (the same methods on two types).
macro_rules! meta_of {
    ($file:expr) => {
        Meta {
            path: String::from_utf8_lossy($file.name_raw()).into_owned(),
            dir: $file.is_dir(),
            symlink: $file.is_symlink(),
            encrypted: $file.encrypted(),
            method: $file.compression(),
            size: $file.size(),
            compressed: $file.compressed_size(),
        }
    };
}

impl Meta {
    /// Whether this member is read; `Err` says why not, for what an unzip tool would
    /// refuse too.
    fn judge(&self) -> Result<Verdict, String> {
        let path = self.path.replace('\\', "/");
        if self.dir || path.ends_with('/') {
            return Ok(Verdict::Folder);
        }
        if path.starts_with('/') || path.as_bytes().get(1) == Some(&b':') {
            return Err("its name is an absolute path (a path trick an unzip tool refuses)".into());
        }
        if path.split('/').any(|part| part == "..") {
            return Err(
                "its name climbs out of the archive with ../ (a path trick an unzip tool \
                 refuses)"
                    .into(),
            );
        }
        if self.symlink {
            return Err("it is a symbolic link, not a file".into());
        }
        if self.encrypted {
            return Err(
                "it is encrypted; unzip it with its password and drop the files themselves".into(),
            );
        }
        let ratio_ok = match self.method {
            CompressionMethod::Stored => self.size == self.compressed,
            CompressionMethod::Deflated => {
                self.size
                    <= self
                        .compressed
                        .saturating_mul(MAX_DEFLATE_RATIO)
                        .saturating_add(1024)
            }
            CompressionMethod::Deflate64 => true,
            other => {
                return Err(format!(
                    "it is compressed with {other}, which rdpfix does not read; zip the logs \
                     again with Windows' Compressed folder, Compress-Archive or 7-Zip (Deflate)"
                ));
            }
        };
        if !ratio_ok {
            return Err(format!(
                "it declares {} bytes from {} compressed, more than its compression can hold \
                 (a zip bomb, or damage)",
                self.size, self.compressed
            ));
        }
        Ok(Verdict::Read)
    }

    /// The member's name for people: `/` between folders, no control characters.
    fn shown(&self) -> String {
        self.path
            .replace('\\', "/")
            .chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .take(200)
            .collect()
    }
}

/// One archive being read.
struct Reading<'a, 'p> {
    archive: InputReport,
    members: Vec<InputReport>,
    /// Where the archive reader is.
    at: Rc<Cell<u64>>,
    /// Events read from the members so far.
    events: u64,
    /// Bytes the members read so far declared.
    expanded: u64,
    /// Where the last member read ends in the archive.
    last_end: u64,
    sink: &'a mut dyn EventSink,
    progress: &'p mut dyn FnMut(Progress) -> ControlFlow<()>,
}

impl Reading<'_, '_> {
    /// Every member the central directory lists, in the order they lie in the archive.
    fn central<R: Read + Seek>(&mut self, archive: &mut zip::ZipArchive<R>) {
        let mut order: Vec<(u64, usize)> = (0..archive.len())
            .filter_map(|i| archive.by_index_data(i).ok().map(|e| (e.header_start(), i)))
            .collect();
        order.sort_unstable();
        for (_, index) in order {
            let Ok(entry) = archive.by_index_data(index) else {
                continue;
            };
            let meta = meta_of!(entry);
            if !self.admit(&meta) {
                continue;
            }
            let file = match archive.by_index(index) {
                Ok(file) => file,
                Err(e) => {
                    self.archive.error(
                        IssueKind::Malformed,
                        None,
                        format!("{}: cannot be opened ({e}); it was skipped", meta.shown()),
                    );
                    continue;
                }
            };
            let start = file.data_start();
            if self.member(&meta, file, start).is_break() {
                return;
            }
        }
    }

    /// Without a central directory: member after member from their local headers, until
    /// the first that cannot be read.
    fn streamed<R: Read + Seek>(&mut self, reader: &mut R) {
        if reader.seek(SeekFrom::Start(0)).is_err() {
            return;
        }
        for _ in 0..MAX_MEMBERS {
            let at = self.at.get();
            match zip::read::read_zipfile_from_stream(reader) {
                Ok(Some(file)) => {
                    let meta = meta_of!(file);
                    if self.admit(&meta) && self.member(&meta, file, None).is_break() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    // Nothing after a damaged header can be located.
                    self.archive.error(
                        IssueKind::Malformed,
                        Some(IssueLocation::Byte { offset: at }),
                        format!(
                            "reading the members one after the other stopped at byte {at} ({e})"
                        ),
                    );
                    return;
                }
            }
        }
    }

    /// Whether a member is to be read: the archive's report says why not (nothing for a
    /// folder).
    fn admit(&mut self, meta: &Meta) -> bool {
        let shown = meta.shown();
        match meta.judge() {
            Ok(Verdict::Read) => {}
            Ok(Verdict::Folder) => return false,
            Err(why) => {
                self.archive
                    .error(IssueKind::Skipped, None, format!("{shown}: skipped: {why}"));
                return false;
            }
        }
        if self.expanded.saturating_add(meta.size) > MAX_EXPANDED_BYTES {
            self.archive.error(
                IssueKind::Limit,
                None,
                format!(
                    "{shown}: skipped: the members would expand to more than {} GiB in all \
                     (a zip bomb?); unzip the archive and drop the logs themselves",
                    MAX_EXPANDED_BYTES / (1024 * 1024 * 1024)
                ),
            );
            return false;
        }
        self.expanded += meta.size;
        true
    }

    /// Reads one admitted member (`start`: where its data lies in the archive, when known).
    fn member<R: Read>(
        &mut self,
        meta: &Meta,
        file: zip::read::ZipFile<'_, R>,
        start: Option<u64>,
    ) -> ControlFlow<()> {
        let shown = meta.shown();
        if let Some(start) = start {
            if start < self.last_end {
                self.archive.error(
                    IssueKind::Skipped,
                    Some(IssueLocation::Byte { offset: start }),
                    format!(
                        "{shown}: skipped: its data overlaps another member's (an \
                         overlapping-member zip bomb, or damage)"
                    ),
                );
                return ControlFlow::Continue(());
            }
            self.last_end = start.saturating_add(meta.compressed);
        }
        let mut member = Member::new(file, meta.size);
        if looks_like_zip(member.head()) {
            self.archive.info(
                IssueKind::Skipped,
                None,
                format!(
                    "{shown}: skipped: an archive inside the archive is not opened; unzip it \
                     and drop what it holds"
                ),
            );
            return ControlFlow::Continue(());
        }
        // A registry hive is read at random (its cells point anywhere in it), which a
        // decompressed member cannot give: it is read into memory first, up to a cap.
        let hive = super::hive::looks_like_hive(member.head()).then(Vec::new);
        let mut hive = match hive {
            Some(_) if meta.size > MAX_HIVE_BYTES => {
                self.archive.error(
                    IssueKind::Limit,
                    None,
                    format!(
                        "{shown}: skipped: a registry hive of {} bytes, over the {} MiB read \
                         from inside an archive; unzip it and drop the hive on its own",
                        meta.size,
                        MAX_HIVE_BYTES / (1024 * 1024)
                    ),
                );
                return ControlFlow::Continue(());
            }
            Some(mut bytes) => {
                // A short read is the member's damage: `checked_end` reports it below, and
                // the hive reader says what the bytes read hold.
                let _ = (&mut member).take(meta.size).read_to_end(&mut bytes);
                Some(bytes)
            }
            None => None,
        };
        let name = format!("{}{MEMBER_SEPARATOR}{shown}", self.archive.name);
        let (at, before, total) = (Rc::clone(&self.at), self.events, self.archive.bytes);
        let outer = &mut *self.progress;
        let mut progress = |p: Progress| {
            outer(Progress {
                bytes_done: at.get().min(total),
                bytes_total: total,
                events: before + p.events,
            })
        };
        let mut report = match hive.take() {
            Some(bytes) => {
                let len = bytes.len() as u64;
                read_seekable(&name, Cursor::new(bytes), len, self.sink, &mut progress)
            }
            None => read_seekable(&name, &mut member, meta.size, self.sink, &mut progress),
        };
        if report.cancelled {
            self.archive.cancelled = true;
            self.members.push(report);
            return ControlFlow::Break(());
        }
        checked_end(&mut member, &mut report);
        if report.format.is_none() && report.events == 0 && report.errors <= 1 {
            // Not a log: listed, not reported as an input of its own.
            self.archive.info(
                IssueKind::Skipped,
                None,
                format!("{shown}: skipped: not an event log export"),
            );
            return ControlFlow::Continue(());
        }
        self.events += report.events;
        self.members.push(report);
        ControlFlow::Continue(())
    }

    fn finish(mut self, len: u64) -> Vec<InputReport> {
        if !self.archive.cancelled {
            let _ = (self.progress)(Progress {
                bytes_done: len,
                bytes_total: len,
                events: self.events,
            });
        }
        let mut out = Vec::with_capacity(self.members.len() + 1);
        out.push(self.archive);
        out.append(&mut self.members);
        out
    }
}

/// After the reader: what the end of the member's data says (a CRC-32 mismatch, damage,
/// more bytes than declared), in the member's report.
fn checked_end<Z: Read>(member: &mut Member<Z>, report: &mut InputReport) {
    if let Some((at, e)) = member.failure.take() {
        report.truncated = true;
        report.error(
            IssueKind::Truncated,
            Some(IssueLocation::Byte { offset: at }),
            format!(
                "the archive's data for this member is damaged after {at} bytes ({e}); what \
                 came before was read. Copy the archive again, or zip the logs again"
            ),
        );
        return;
    }
    if !member.read_to_the_end() {
        return;
    }
    match member.holds_more() {
        Ok(false) => {}
        Ok(true) => report.error(
            IssueKind::Limit,
            Some(IssueLocation::Byte {
                offset: report.bytes,
            }),
            format!(
                "the member holds more than the {} bytes the archive declares; reading stopped \
                 there (a zip bomb, or damage)",
                report.bytes
            ),
        ),
        Err(e) => {
            report.truncated = true;
            report.error(
                IssueKind::Truncated,
                None,
                format!(
                    "the member's data does not end as the archive says ({e}): the archive is \
                     damaged, so what was read from it may be wrong; copy it again"
                ),
            );
        }
    }
}
