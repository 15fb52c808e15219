//! The one file `fixer collect` leaves to copy off the VM: `rdpfix-logs.zip`, the exported
//! logs deflated under the folder's name (`rdpfix-logs/System.evtx`), which the page and
//! `fixer diagnose` read as they read the loose files.
//!
//! The Windows host writes it (`Host::zip_logs`) into the export folder itself, after the
//! exports: a folder
//! `safe_folder` made or judged writable by SYSTEM and Administrators alone, so no one else
//! can have planted a link where the file goes (beside the folder, in its parent, anyone
//! may have). Written under a temporary name and renamed, so an interrupted run never
//! leaves a cut archive behind under the real name.
//!
//! The other files `collect` writes there (the configuration snapshot, copies of an offline
//! disk's files: `Host::collect_file`) go the same way ([`write_file`]).

use crate::host::FileSource;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

/// The archive's file name, in the export folder.
pub use analyzer::rules::collection::EXPORT_ZIP as FILE_NAME;

pub use crate::host::LogBundle as Bundle;

/// Zips `files` (in `dir`) into `dir\rdpfix-logs.zip`.
pub fn write(dir: &Path, files: &[PathBuf]) -> io::Result<Bundle> {
    let folder = dir.file_name().map_or_else(
        || "rdpfix-logs".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let path = dir.join(FILE_NAME);
    let (file, members) = Partial::write(&path, |file| {
        let mut zip = ZipOut::new(BufWriter::new(file), &folder);
        for file in files {
            let Some(name) = file.file_name() else {
                continue;
            };
            zip.add(
                &name.to_string_lossy(),
                &mut BufReader::new(File::open(file)?),
            )?;
        }
        let (out, members) = zip.finish()?;
        Ok((out.into_inner()?, members))
    })?;
    drop(file);
    Ok(Bundle {
        bytes: fs::metadata(&path)?.len(),
        path: path.display().to_string(),
        members,
    })
}

/// Writes `dir\name` from `from` the way the archive is written: what
/// [`crate::host::Host::collect_file`] does on Windows and posix.
pub fn write_file(dir: &Path, name: &str, from: FileSource<'_>) -> io::Result<PathBuf> {
    let path = dir.join(name);
    Partial::write(&path, |mut file| {
        match from {
            FileSource::Bytes(bytes) => file.write_all(bytes)?,
            FileSource::CopyOf(source) => {
                io::copy(&mut BufReader::new(File::open(source)?), &mut file)?;
            }
        }
        Ok((file, ()))
    })?;
    Ok(path)
}

/// A file written under `<name>.partial`, then renamed: a failure removes the partial
/// file, and a crash leaves only it, never a cut file under the real name.
struct Partial;

impl Partial {
    /// Creates `<path>.partial` new (a stale one from a killed run removed first: the
    /// folder is one only SYSTEM and Administrators can write, and `create_new` opens no
    /// link left there), lets `fill` write it, flushes it to disk and renames it to `path`.
    fn write<T>(
        path: &Path,
        fill: impl FnOnce(File) -> io::Result<(File, T)>,
    ) -> io::Result<(File, T)> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        match fs::remove_file(&partial) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)?;
        let written = fill(file).and_then(|(file, t)| {
            file.sync_all()?;
            Ok((file, t))
        });
        let done = written.and_then(|(file, t)| {
            fs::rename(&partial, path)?;
            Ok((file, t))
        });
        if done.is_err() {
            let _ = fs::remove_file(&partial);
        }
        done
    }
}

/// A zip being written on any seekable writer (a file, or the simulated host's memory),
/// each member deflated under `folder/`.
pub struct ZipOut<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    folder: String,
    members: Vec<String>,
}

impl<W: Write + Seek> std::fmt::Debug for ZipOut<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZipOut({:?})", self.members)
    }
}

impl<W: Write + Seek> ZipOut<W> {
    pub fn new(out: W, folder: &str) -> Self {
        ZipOut {
            zip: zip::ZipWriter::new(out),
            folder: folder.to_owned(),
            members: Vec::new(),
        }
    }

    /// Adds `folder/name` with the bytes `from` gives.
    pub fn add(&mut self, name: &str, from: &mut dyn Read) -> io::Result<()> {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        let member = format!("{}/{name}", self.folder);
        self.zip
            .start_file(member.as_str(), options)
            .map_err(io::Error::other)?;
        io::copy(from, &mut self.zip)?;
        self.members.push(member);
        Ok(())
    }

    /// The writer, the archive complete, and the members' names.
    pub fn finish(self) -> io::Result<(W, Vec<String>)> {
        Ok((self.zip.finish().map_err(io::Error::other)?, self.members))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use analyzer::diagnose::{DiagnoseOptions, Session};
    use analyzer::input::no_progress;

    /// A file is written whole or not at all: a stale partial file from a killed run is
    /// replaced, a second write replaces the first, and a copy that fails leaves neither
    /// the file nor its partial one.
    #[test]
    fn a_file_is_written_whole_or_not_at_all() {
        let dir = std::env::temp_dir().join(format!("fixer-write-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rdpfix-config.txt.partial"), "cut").unwrap();
        let path = write_file(&dir, "rdpfix-config.txt", FileSource::Bytes(b"one\n")).unwrap();
        assert_eq!(path, dir.join("rdpfix-config.txt"));
        write_file(&dir, "rdpfix-config.txt", FileSource::Bytes(b"two\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        assert!(!dir.join("rdpfix-config.txt.partial").exists());
        let copied = write_file(&dir, "copy.txt", FileSource::CopyOf(&path)).unwrap();
        assert_eq!(std::fs::read_to_string(copied).unwrap(), "two\n");
        let missing = dir.join("no-such-file");
        let err = write_file(&dir, "SYSTEM", FileSource::CopyOf(&missing)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!dir.join("SYSTEM").exists() && !dir.join("SYSTEM.partial").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The archive holds the logs under the folder's name and gives the findings, events
    /// and evidence digest the loose files give.
    #[test]
    fn the_archive_reads_as_the_loose_logs() {
        let dir = std::env::temp_dir()
            .join(format!("fixer-bundle-{}", std::process::id()))
            .join("rdpfix-logs");
        std::fs::create_dir_all(&dir).unwrap();
        let mut files = Vec::new();
        let mut loose = Session::new();
        for (name, from) in [
            ("Application.evtx", "corpus/Application_no_crc32.evtx"),
            ("System.evtx", "../../static/samples/rdp-cert-keys.evtx"),
        ] {
            let bytes = std::fs::read(testkit::fixture(from)).unwrap();
            std::fs::write(dir.join(name), &bytes).unwrap();
            loose.add_bytes(name, &bytes, &mut no_progress);
            files.push(dir.join(name));
        }
        let bundle = write(&dir, &files).unwrap();
        assert_eq!(
            bundle.members,
            ["rdpfix-logs/Application.evtx", "rdpfix-logs/System.evtx"]
        );
        assert!(!dir.join("rdpfix-logs.zip.partial").exists());
        let zipped = std::fs::read(dir.join(FILE_NAME)).unwrap();
        assert_eq!(zipped.len() as u64, bundle.bytes);
        assert!(bundle.bytes < 400_000, "deflated: {} bytes", bundle.bytes);
        let mut session = Session::new();
        session.add_seekable(
            "rdpfix-logs.zip",
            std::io::Cursor::new(&zipped),
            bundle.bytes,
            &mut no_progress,
        );
        let (a, b) = (
            session.finish(&DiagnoseOptions::default()),
            loose.finish(&DiagnoseOptions::default()),
        );
        let ids = |d: &analyzer::diagnose::Diagnosis| -> Vec<String> {
            d.findings.iter().map(|f| f.id.clone()).collect()
        };
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(a.most_likely, b.most_likely);
        assert_eq!(a.events, b.events);
        assert_eq!(a.evidence_sha256, b.evidence_sha256);
        assert_eq!(
            a.inputs[2].name,
            "rdpfix-logs.zip › rdpfix-logs/System.evtx"
        );
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
