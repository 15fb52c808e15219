//! The inputs of `diagnose`, `plan` and `collect --compact --from`: files, the files of a
//! folder (what `fixer collect` writes), `-` for standard input; a zip archive's members are
//! inputs of their own (`analyzer::input::read_any`), read one after the other (an `.evtx`
//! inside one on this thread: its bytes come from one decompressing stream). A `.evtx` is read on every
//! core through the analyzer's chunk-range API, exactly as the page's workers use it
//! (`analyzer::input::{EvtxMerge, parse_evtx_chunks_reusing}`): one thread reads the file
//! once, in order, handing each batch of chunks to the thread parsing it and to one hashing
//! every byte (SHA-256, in file order); the parts are merged in chunk order, and the events
//! the session is done with go back to the parsing threads to be built again in
//! (`EventSpare`). When the sink makes shards (the session's collector does), each parsing
//! thread gives its batch's events to one (`ChunkPart::observe`) on the core that built
//! them, and the merge absorbs the shards in batch order (`EvtxMerge::absorb`): the same
//! diagnosis, with no event read first on another core. The analyzer itself starts no
//! thread and opens no file.

use crate::commands::CommandError;
use crate::exit::Exit;
use analyzer::Event;
use analyzer::input::{
    ChunkPart, EventSink, EventSpare, EvtxLayout, EvtxMerge, InputReport, MAX_FOLDER_FILES,
    SNIFF_BYTES, Shard, archive_left_out, folder_reads, looks_like_evtx, looks_like_zip,
    no_progress, parse_evtx_chunks_reusing, read_any, read_seekable, read_zip,
};
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

/// What the file header of an `.evtx` occupies: the head [`EvtxMerge::new`] checks.
const FILE_HEADER: usize = 4096;
/// Chunks a thread parses at a time (256 KiB).
const BATCH: u64 = 4;
/// Batches a thread may run ahead of the merge: memory stays flat whatever the file's size.
const AHEAD: usize = 4;
/// Batches read but not yet hashed, at most.
const HASH_AHEAD: usize = 16;
/// A batch's bytes: what is read ahead at a time.
const READ_AHEAD: usize = BATCH as usize * 64 * 1024;
/// Batch buffers kept for the next reads, at most: as many as can be out at once (each
/// parsing thread's queue and the one it parses, the hashing queue), so that a buffer is
/// made once and not for each batch.
const MAX_BUFFERS: usize = MAX_THREADS * (AHEAD + 2) + HASH_AHEAD;
/// Parsing threads at most: past four, the merge and the disk are the limit.
const MAX_THREADS: usize = 4;

/// One input as the command line names it.
#[derive(Debug)]
pub enum Input {
    File {
        name: String,
        path: PathBuf,
    },
    /// Standard input, read whole.
    Bytes {
        name: String,
        bytes: Vec<u8>,
    },
    /// An archive beside the other files of a folder, left out ([`folder_reads`]).
    LeftOut {
        name: String,
        bytes: u64,
    },
}

impl Input {
    pub fn name(&self) -> &str {
        match self {
            Input::File { name, .. } | Input::Bytes { name, .. } | Input::LeftOut { name, .. } => {
                name
            }
        }
    }

    /// Reads the input into `sink`; the reports say what was read and skipped: one, or an
    /// archive's and then its members'.
    pub fn read(&self, sink: &mut dyn EventSink) -> Result<Vec<InputReport>, CommandError> {
        match self {
            Input::Bytes { name, bytes } => {
                let len = bytes.len() as u64;
                Ok(read_any(
                    name,
                    std::io::Cursor::new(bytes),
                    len,
                    sink,
                    &mut no_progress,
                ))
            }
            Input::LeftOut { name, bytes } => Ok(vec![archive_left_out(name, *bytes)]),
            Input::File { name, path } => read_file(name, path, sink).map_err(|e| {
                CommandError::new(
                    Exit::Failure,
                    anyhow::Error::new(e).context(format!(
                        "cannot read {}; check the path and that you may read it",
                        path.display()
                    )),
                )
            }),
        }
    }
}

/// The inputs `files` names: files, the files of folders, and `-` for standard input.
pub fn inputs(files: &[PathBuf]) -> Result<Vec<Input>, CommandError> {
    let mut out = Vec::new();
    for file in files {
        if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .context("cannot read standard input; pipe an export into it")
                .map_err(|e| CommandError::new(Exit::Failure, e))?;
            out.push(Input::Bytes {
                name: "(stdin)".into(),
                bytes,
            });
        } else if file.is_dir() {
            // `fixer collect` writes one folder: take every file in it, but the archive it
            // also writes there (which holds the same logs).
            let files = folder_files(file)?;
            let names: Vec<&str> = files.iter().map(|(_, name)| name.as_str()).collect();
            let reads = folder_reads(&names);
            for ((path, name), read) in files.into_iter().zip(reads) {
                out.push(if read {
                    Input::File { name, path }
                } else {
                    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
                    Input::LeftOut { name, bytes }
                });
            }
        } else {
            out.push(file_input(file.clone()));
        }
    }
    Ok(out)
}

fn file_input(path: PathBuf) -> Input {
    let name = file_name(&path);
    Input::File { name, path }
}

/// An input's name: its file name.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The files of a folder and its subfolders (links not followed), in path order, each
/// named by its path below the folder (`System.evtx`, `vm2/System.evtx`), as the page
/// names a dropped folder's files; at most [`MAX_FOLDER_FILES`].
fn folder_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, CommandError> {
    let failed = |what: anyhow::Error| CommandError::new(Exit::Failure, what);
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| {
            failed(anyhow::Error::new(e).context(format!(
                "cannot list {}; check the path and that you may read it",
                folder.display()
            )))
        })?;
        for entry in entries.filter_map(Result::ok) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() {
                if files.len() == MAX_FOLDER_FILES {
                    return Err(failed(anyhow::anyhow!(
                        "{} holds more than {MAX_FOLDER_FILES} files; name the folder of logs \
                         itself (fixer collect's), or the log files",
                        dir.display()
                    )));
                }
                let name = path.strip_prefix(dir).map_or_else(
                    |_| file_name(&path),
                    |p| p.to_string_lossy().replace('\\', "/"),
                );
                files.push((path, name));
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(failed(anyhow::anyhow!(
            "{} holds no files; export the logs into it first (fixer collect)",
            dir.display()
        )));
    }
    Ok(files)
}

/// Reads one file: a `.evtx` on every core, a zip archive's members one after the other
/// (the archive's report first), anything else through the analyzer's reader. `Err` only
/// when the file cannot be opened or its start read; damage inside is reported.
pub fn read_file(
    name: &str,
    path: &Path,
    sink: &mut dyn EventSink,
) -> std::io::Result<Vec<InputReport>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = vec![0u8; SNIFF_BYTES];
    let got = read_up_to(&mut file, &mut head)?;
    head.truncate(got);
    if !looks_like_evtx(&head) {
        file.seek(SeekFrom::Start(0))?;
        let reader = BufReader::new(file);
        return Ok(if looks_like_zip(&head) {
            read_zip(name, reader, len, sink, &mut no_progress)
        } else {
            vec![read_seekable(name, reader, len, sink, &mut no_progress)]
        });
    }
    let mut progress = no_progress;
    let mut merge = EvtxMerge::new(
        name,
        head.get(..FILE_HEADER).unwrap_or(&head),
        len,
        sink,
        &mut progress,
    );
    let layout = merge.layout();
    let details = merge.details();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS);
    let batches = layout.chunks.div_ceil(BATCH);
    std::thread::scope(|scope| {
        // The file is read once, in order, by one thread: each batch's bytes go to the
        // thread parsing it and to the one hashing them.
        let (to_hash, hashed) = mpsc::sync_channel::<Arc<Vec<u8>>>(HASH_AHEAD);
        // Each batch's buffer back from both threads that read it, to be read into again:
        // made afresh for every batch, 256 KiB each time, its pages were faulted in anew
        // (5,759 page faults on the 100 MiB attack log, 3,474 with the buffers reused).
        let (recycle, recycled) = mpsc::channel::<Arc<Vec<u8>>>();
        let hash_recycle = recycle.clone();
        let hashing = scope.spawn(move || {
            let mut hasher = Sha256::new();
            for block in hashed {
                hasher.update(block.as_slice());
                // The reader stopped (never expected): the buffer is dropped.
                let _ = hash_recycle.send(block);
            }
            hasher.finalize()
        });
        let mut inboxes = Vec::with_capacity(threads);
        let mut outboxes = Vec::with_capacity(threads);
        let mut returns = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (to_parse, blocks) = mpsc::sync_channel::<Block>(AHEAD);
            let (send, parts) = mpsc::sync_channel::<Parsed>(AHEAD);
            // The sink's own kind, for the thread to give its events to where it builds
            // them (cores apart, each event is otherwise read first by the merging thread).
            let first_shard = merge.shard();
            // The events the session is done with, back to be built again in, and the
            // shard absorbed, to be given the next batch's events.
            let (give_back, given_back) = mpsc::channel::<Back>();
            let details = &details;
            let recycle = recycle.clone();
            scope.spawn(move || {
                let mut spare = EventSpare::default();
                let mut shards = Vec::new();
                // Batches worker, worker + threads, …: in order, so its channel answers in
                // the order the merge asks.
                for block in blocks {
                    for back in given_back.try_iter() {
                        for event in back.events {
                            spare.give(event);
                        }
                        shards.extend(back.shard);
                    }
                    let mut parts = Vec::new();
                    let each = &mut |p| {
                        parts.push(p);
                        std::ops::ControlFlow::Continue(())
                    };
                    parse_evtx_chunks_reusing(
                        &block.bytes,
                        block.at,
                        &layout,
                        block.chunks,
                        name,
                        details,
                        &mut spare,
                        each,
                    );
                    let _ = recycle.send(block.bytes);
                    let shard = first_shard.as_ref().map(|first| {
                        let mut shard = shards.pop().unwrap_or_else(|| first.another());
                        for part in &mut parts {
                            part.observe(name, &mut *shard);
                        }
                        let mut done = Vec::new();
                        shard.reclaim(&mut done);
                        for event in done {
                            spare.give(event);
                        }
                        shard
                    });
                    if send.send(Parsed { parts, shard }).is_err() {
                        return;
                    }
                }
            });
            inboxes.push(to_parse);
            outboxes.push(parts);
            returns.push(give_back);
        }
        drop(recycle);
        let reading = scope.spawn(move || read_ahead(file, &layout, inboxes, to_hash, recycled));
        let mut merged = true;
        for batch in 0..batches {
            let worker = batch as usize % threads;
            // A worker that stopped (never expected) leaves its chunks missing: the merge
            // then reports the gap at the next chunk.
            let Parsed { parts, mut shard } = outboxes
                .get(worker)
                .and_then(|o| o.recv().ok())
                .unwrap_or_default();
            if parts.into_iter().any(|part| merge.push(part).is_break()) {
                merged = false;
                break;
            }
            if let Some(shard) = &mut shard {
                merge.absorb(&mut **shard);
            }
            let mut events = Vec::new();
            merge.reclaim(&mut events);
            if let Some(back) = returns.get(worker)
                && (!events.is_empty() || shard.is_some())
            {
                // A worker that has finished no longer listens: all is dropped.
                let _ = back.send(Back { events, shard });
            }
        }
        // Stopped early: the threads see their channels close and end.
        drop(outboxes);
        let read = reading
            .join()
            .unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into()));
        let digest = hashing.join().ok();
        let (tail, sha256) = match (read, digest) {
            (Ok(tail), Some(digest)) => (tail, Some(hex(&digest))),
            _ => (Vec::new(), None),
        };
        let tail = if merged { tail } else { Vec::new() };
        Ok(vec![merge.finish(&tail, sha256)])
    })
}

/// A batch's parts, and the shard its events were given to when the sink makes shards.
#[derive(Default)]
struct Parsed {
    parts: Vec<ChunkPart>,
    shard: Option<Box<dyn Shard>>,
}

/// What goes back to a parsing thread after its batch is merged: events to build the next
/// ones in, and the shard, emptied, to be given the next batch's events.
struct Back {
    events: Vec<Event>,
    shard: Option<Box<dyn Shard>>,
}

/// A batch's bytes, as read ahead: chunks `chunks`, from byte `at` of the file.
struct Block {
    chunks: std::ops::Range<u64>,
    at: u64,
    bytes: Arc<Vec<u8>>,
}

/// Reads `file` once, start to end: the bytes before the first chunk, each batch of chunks
/// (to the thread parsing it, batch `b` to `parsers[b % n]`), then what follows the last
/// chunk — every byte to `hash`, in file order. Answers those last bytes (the merge's tail).
fn read_ahead(
    mut file: File,
    layout: &EvtxLayout,
    parsers: Vec<mpsc::SyncSender<Block>>,
    hash: mpsc::SyncSender<Arc<Vec<u8>>>,
    recycled: mpsc::Receiver<Arc<Vec<u8>>>,
) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut buffers = Buffers {
        recycled,
        free: Vec::new(),
    };
    let mut span = |file: &mut File, len: u64| -> std::io::Result<Arc<Vec<u8>>> {
        let mut bytes = buffers.take();
        match usize::try_from(len) {
            // A batch (or the bytes before the first chunk): read at once into the buffer's
            // room, which a buffer read into before already has (its old bytes overwritten,
            // not zeroed again). `read_to_end` read 256 KiB in six calls, 8 KiB first.
            Ok(n) if n <= READ_AHEAD => {
                bytes.resize(n, 0);
                let got = read_up_to(file, &mut bytes)?;
                bytes.truncate(got);
            }
            // What follows the last chunk, to the end of the file as it is now.
            _ => {
                bytes.clear();
                file.take(len).read_to_end(&mut bytes)?;
            }
        }
        let bytes = Arc::new(bytes);
        // The hashing thread ended (never expected): the digest is then missing.
        let _ = hash.send(Arc::clone(&bytes));
        Ok(bytes)
    };
    span(&mut file, layout.chunks_start)?;
    let batches = layout.chunks.div_ceil(BATCH);
    for batch in 0..batches {
        let chunks = batch * BATCH..((batch + 1) * BATCH).min(layout.chunks);
        let at = layout.chunk_offset(chunks.start);
        let bytes = span(&mut file, layout.chunk_offset(chunks.end) - at)?;
        let parser = parsers.get(batch as usize % parsers.len().max(1));
        let block = Block { chunks, at, bytes };
        if parser.is_none_or(|p| p.send(block).is_err()) {
            // The merge stopped early.
            return Ok(Vec::new());
        }
    }
    drop(parsers);
    // To the end, as the file is now; the merge is given what follows the last chunk.
    let rest = span(&mut file, u64::MAX)?;
    let (_, tail) = layout.tail();
    let tail = usize::try_from(tail).unwrap_or(usize::MAX);
    Ok(rest.get(..tail).unwrap_or(&rest).to_vec())
}

/// Batch buffers for [`read_ahead`]: those the threads reading a batch send back once
/// done with it, taken again when both have.
struct Buffers {
    recycled: mpsc::Receiver<Arc<Vec<u8>>>,
    free: Vec<Vec<u8>>,
}

impl Buffers {
    /// A buffer both threads are done with (holding its old bytes), or a new one.
    fn take(&mut self) -> Vec<u8> {
        for bytes in self.recycled.try_iter() {
            // The other thread still holds it until it sends its own handle back: this one is
            // dropped, that one is the last.
            if let Ok(bytes) = Arc::try_unwrap(bytes)
                && self.free.len() < MAX_BUFFERS
            {
                self.free.push(bytes);
            }
        }
        self.free.pop().unwrap_or_default()
    }
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            // As `read_to_end` does (a network file system's read may be interrupted).
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use analyzer::Event;
    use analyzer::diagnose::Session;

    #[derive(Default)]
    struct Collect(Vec<Event>);

    impl EventSink for Collect {
        fn event(&mut self, event: Event) {
            self.0.push(event);
        }
    }

    /// The analyzer's own one-thread read of the same file.
    fn sequential(name: &str, path: &Path) -> (InputReport, Vec<Event>) {
        let bytes = std::fs::read(path).unwrap();
        let len = bytes.len() as u64;
        let mut sink = Collect::default();
        let report = read_seekable(
            name,
            std::io::Cursor::new(bytes),
            len,
            &mut sink,
            &mut no_progress,
        );
        (report, sink.0)
    }

    /// Every core or one: the same events in the same order, the same report and digest —
    /// on real logs, damaged ones included (a bad chunk magic, no CRC32s, a bad string cache).
    #[test]
    fn reading_on_every_core_gives_what_one_thread_gives() {
        let dir = testkit::fixture("corpus");
        let mut read = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "evtx") {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut sink = Collect::default();
            let report = read_file(&name, &path, &mut sink).unwrap().remove(0);
            let (expected, events) = sequential(&name, &path);
            assert_eq!(report, expected, "{name}");
            assert!(sink.0 == events, "{name}: the events differ");
            assert_eq!(report.sha256.len(), 64, "{name}");
            read += 1;
        }
        assert!(read >= 5, "{read} corpus files");
    }

    /// The evtx files of the fixtures (the corpus, damaged ones included, the page's
    /// samples, the fuzz seeds) and one of many batches: the attack log's first chunk
    /// repeated, so that one signal's candidates are pruned across the threads' shards.
    fn evtx_files(scratch: &Path) -> Vec<PathBuf> {
        let root = testkit::repo_root();
        let mut files = testkit::evtx_fixture_files();
        let seed = root.join("fuzz/seeds/evtx/security-attack-first-chunk.evtx");
        let bytes = std::fs::read(seed).unwrap();
        let (header, chunk) = bytes.split_at(4096);
        let mut repeated = header.to_vec();
        for _ in 0..(4 * BATCH + 3) {
            repeated.extend_from_slice(chunk);
        }
        let big = scratch.join("attack-repeated.evtx");
        std::fs::write(&big, repeated).unwrap();
        files.push(big);
        files
    }

    /// Read on every core, each thread's events given to a shard of the session's collector
    /// where they are built, or read on one thread into the session: the same diagnosis —
    /// findings, evidence, statistics, reports.
    #[test]
    fn a_session_read_in_shards_diagnoses_as_one_thread_does() {
        let scratch = std::env::temp_dir().join(format!("fixer-shards-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).unwrap();
        let files = evtx_files(&scratch);
        assert!(files.len() >= 12, "{files:?}");
        let options = analyzer::diagnose::DiagnoseOptions { now: None };
        let (mut all_threads, mut all_one) = (Session::new(), Session::new());
        for path in &files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut threads = Session::new();
            for session in [&mut threads, &mut all_threads] {
                let reports = read_file(&name, path, &mut session.input_sink()).unwrap();
                for report in reports {
                    session.add_report(report);
                }
            }
            let bytes = std::fs::read(path).unwrap();
            let mut one = Session::new();
            one.add_bytes(&name, &bytes, &mut no_progress);
            all_one.add_bytes(&name, &bytes, &mut no_progress);
            assert!(threads.finish(&options) == one.finish(&options), "{name}");
        }
        let (threads, one) = (all_threads.finish(&options), all_one.finish(&options));
        assert!(threads == one, "all files in one session");
        // The repeated chunk's failed logons were pruned across shards: a burst was found.
        assert!(
            one.findings.iter().any(|f| f.id == "rdp-brute-force"),
            "{:?}",
            one.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
        );
        std::fs::remove_dir_all(&scratch).unwrap();
    }

    /// A folder's subfolders are walked, files named by their path below it, the archive
    /// beside the logs left out (as the page does with a dropped folder).
    #[test]
    fn a_folder_is_walked_and_its_archive_beside_the_logs_left_out() {
        let dir = std::env::temp_dir().join(format!("fixer-walk-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("vm2")).unwrap();
        for name in ["System.evtx", "rdpfix-logs.zip", "vm2/System.evtx"] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        let listed: Vec<(String, bool)> = inputs(std::slice::from_ref(&dir))
            .unwrap()
            .iter()
            .map(|i| (i.name().to_owned(), matches!(i, Input::File { .. })))
            .collect();
        assert_eq!(
            listed,
            [
                ("System.evtx".to_owned(), true),
                ("rdpfix-logs.zip".to_owned(), false),
                ("vm2/System.evtx".to_owned(), true),
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file cut short inside a chunk, one with bytes after its last chunk, and a text
    /// export: read as the analyzer reads them (the report names the bytes after the chunks
    /// and the digest covers them).
    #[test]
    fn a_truncated_log_and_a_text_export_read_as_one_thread_reads_them() {
        let scratch = std::env::temp_dir().join(format!("fixer-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).unwrap();
        let whole = std::fs::read(testkit::fixture("corpus/system.evtx")).unwrap();
        let cut = scratch.join("cut.evtx");
        std::fs::write(&cut, &whole[..whole.len() - 30_000]).unwrap();
        // A few bytes after the last whole chunk (too few for a chunk): the tail.
        let tail = scratch.join("tail.evtx");
        let mut bytes = whole.clone();
        bytes.extend_from_slice(b"ElfChnk\0 and the start of a chunk cut short");
        std::fs::write(&tail, &bytes).unwrap();
        let text = scratch.join("export.txt");
        std::fs::write(
            &text,
            "Event[0]:\r\n  Log Name: System\r\n  Source: Schannel\r\n",
        )
        .unwrap();
        for path in [&cut, &tail, &text] {
            let mut sink = Collect::default();
            let report = read_file("x", path, &mut sink).unwrap().remove(0);
            let (expected, events) = sequential("x", path);
            assert_eq!(report, expected, "{}", path.display());
            assert!(sink.0 == events, "{}: the events differ", path.display());
        }
        std::fs::remove_dir_all(&scratch).unwrap();
    }
}
