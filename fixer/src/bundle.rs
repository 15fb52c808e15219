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

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
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
    let partial = dir.join(format!("{FILE_NAME}.partial"));
    let mut zip = zip::ZipWriter::new(BufWriter::new(File::create(&partial)?));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut members = Vec::with_capacity(files.len());
    for file in files {
        let Some(name) = file.file_name() else {
            continue;
        };
        let member = format!("{folder}/{}", name.to_string_lossy());
        zip.start_file(member.as_str(), options)
            .map_err(io::Error::other)?;
        io::copy(&mut BufReader::new(File::open(file)?), &mut zip)?;
        members.push(member);
    }
    zip.finish()
        .map_err(io::Error::other)?
        .into_inner()?
        .sync_all()?;
    std::fs::rename(&partial, &path)?;
    Ok(Bundle {
        bytes: std::fs::metadata(&path)?.len(),
        path: path.display().to_string(),
        members,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use analyzer::diagnose::{DiagnoseOptions, Session};
    use analyzer::input::no_progress;

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
