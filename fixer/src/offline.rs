//! `--offline <drive>`: the files of an OS disk attached to a rescue VM (`az vm repair
//! create`), found where Windows keeps them, for `diagnose` and `collect` to read as if
//! they had been exported: `Windows\System32\winevt\Logs\<channel>.evtx` for every channel
//! the catalog reads (`/` written `%4` in the file name) and the `SYSTEM` and `SOFTWARE`
//! hives of `Windows\System32\config`.
//!
//! The disk is untrusted. Below the root the admin names, every folder and file on the way
//! is looked at with `symlink_metadata` (never followed) and refused when it is a link or
//! any reparse point: `FileType::is_symlink` (which on Windows covers symbolic links and
//! junctions, the name-surrogate reparse points) and, on Windows, the
//! `FILE_ATTRIBUTE_REPARSE_POINT` attribute (every other kind). Names are matched without
//! regard to ASCII case, as NTFS does, so a disk mounted case-sensitively reads the same.
//! Nothing on the disk is written. `collect --offline` copies the files found into the
//! collection folder (`Host::collect_file`, in a folder `safe_folder` made or judged, as
//! `collect` does), writes the configuration snapshot the hives give beside them
//! (`rdpfix-config.txt`, the block it prints) and zips the copies and the snapshot into
//! `rdpfix-logs.zip` there (`Host::zip_logs`). What this module hands on is a list of
//! paths; the files are then opened by path by `inputs` and the host (a link swapped in
//! between the check and the open is not guarded against: the disk is detached from its
//! VM, nothing runs on it).

use crate::bundle::Bundle;
use crate::commands::{CommandError, CommandResult, collect, collect_config};
use crate::exit::Exit;
use crate::host::{FileSource, Host, HostError};
use crate::report::{Report, ascii_lines};
use crate::safe_folder;
use analyzer::diagnose::Diagnosis;
use analyzer::rules::Catalog;
use serde::Serialize;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// Where event logs live below a Windows disk's root.
const LOGS: [&str; 4] = ["Windows", "System32", "winevt", "Logs"];
/// Where the registry hives live below a Windows disk's root.
const CONFIG: [&str; 3] = ["Windows", "System32", "config"];
/// The hives read: the configuration snapshot's values and the computer's name.
const HIVES: [&str; 2] = ["SYSTEM", "SOFTWARE"];

/// What was found on the disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineDisk {
    /// The root as given.
    pub root: String,
    /// The files to read, logs first, then the hives.
    #[serde(skip)]
    pub files: Vec<PathBuf>,
    /// The same files, below the root (`Windows/System32/config/SYSTEM`).
    pub found: Vec<String>,
    /// Files expected and absent (a channel this Windows never logged to, no Broker role).
    pub missing: Vec<String>,
    /// Paths not read, and why: a link or reparse point, or not a plain file.
    pub refused: Vec<Refused>,
}

/// A path on the disk that was not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub path: String,
    pub why: String,
}

/// The root a drive names: `F:` alone is the drive's current folder to Windows, so it
/// becomes `F:\`; anything else is taken as given.
pub fn drive_root(given: &Path) -> PathBuf {
    let text = given.to_string_lossy();
    let bytes = text.as_bytes();
    if bytes.len() == 2
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.get(1) == Some(&b':')
    {
        PathBuf::from(format!("{text}\\"))
    } else {
        given.to_path_buf()
    }
}

/// The file name Windows gives a channel's log: `/` becomes `%4`.
pub fn log_file_name(channel: &str) -> String {
    format!("{}.evtx", channel.replace('/', "%4"))
}

/// The files of the OS disk at `root` that the catalog's rules read. `Err` when the root
/// is not a folder or holds none of them (not a Windows disk's root).
pub fn locate(root: &Path, catalog: &Catalog) -> Result<OfflineDisk, CommandError> {
    let mut disk = OfflineDisk {
        root: root.display().to_string(),
        files: Vec::new(),
        found: Vec::new(),
        missing: Vec::new(),
        refused: Vec::new(),
    };
    if !std::fs::metadata(root).is_ok_and(|m| m.is_dir()) {
        return Err(not_a_disk(
            root,
            "it is not a folder or drive that can be read",
        ));
    }
    let mut logs: Vec<String> = Vec::new();
    for channel in catalog.index().channels() {
        let name = log_file_name(&channel.channel);
        if !logs.iter().any(|l| l.eq_ignore_ascii_case(&name)) {
            logs.push(name);
        }
    }
    let wanted = logs
        .iter()
        .map(|log| (&LOGS[..], log.as_str()))
        .chain(HIVES.iter().map(|hive| (&CONFIG[..], *hive)));
    for (folders, file) in wanted {
        disk.look_up(root, folders, file);
    }
    if disk.files.is_empty() && disk.refused.is_empty() {
        return Err(not_a_disk(
            root,
            r"it holds none of Windows\System32\winevt\Logs\*.evtx, Windows\System32\config\SYSTEM, SOFTWARE",
        ));
    }
    Ok(disk)
}

fn not_a_disk(root: &Path, why: &str) -> CommandError {
    CommandError::new(
        Exit::Failure,
        anyhow::anyhow!(
            "{} is not the root of an attached Windows disk: {why}; name its drive letter (F:) \
             as Disk Management shows it on the rescue VM",
            root.display()
        ),
    )
}

impl OfflineDisk {
    /// Walks `folders` then `file` below `root`, one name at a time, refusing links.
    fn look_up(&mut self, root: &Path, folders: &[&str], file: &str) {
        let mut at = root.to_path_buf();
        let mut shown = String::new();
        let last = folders.len();
        for (depth, want) in folders.iter().chain(std::iter::once(&file)).enumerate() {
            if !shown.is_empty() {
                shown.push('/');
            }
            let Some(name) = entry_named(&at, want) else {
                let expected: Vec<&str> = folders.iter().copied().chain([file]).collect();
                self.missing.push(expected.join("/"));
                return;
            };
            shown.push_str(&name);
            at.push(&name);
            let why = match std::fs::symlink_metadata(&at) {
                Err(e) => format!("cannot be read ({e})"),
                Ok(m) if is_link(&m) => "a link or reparse point; not followed".to_owned(),
                Ok(m) if depth < last && !m.is_dir() => "not a folder".to_owned(),
                Ok(m) if depth == last && !m.is_file() => "not a plain file".to_owned(),
                Ok(_) => continue,
            };
            // A refused folder is said once, not once per file below it.
            if !self.refused.iter().any(|r| r.path == shown) {
                self.refused.push(Refused { path: shown, why });
            }
            return;
        }
        self.found.push(shown);
        self.files.push(at);
    }

    /// The report's lines: that the disk is offline, what was read, the SYSTEM hive's
    /// control set (as its reader reported it), what was missing and refused.
    pub fn lines(&self, diagnosis: &Diagnosis) -> String {
        let control_sets = diagnosis
            .inputs
            .iter()
            .flat_map(|i| &i.issues)
            .filter(|issue| issue.message.starts_with("SYSTEM hive: control set"));
        let mut heading = self.heading();
        let first_line = heading.find('\n').map_or(heading.len(), |n| n + 1);
        let mut sets = String::new();
        for issue in control_sets {
            sets.push_str(&format!("  {}\n", issue.message));
        }
        heading.insert_str(first_line, &sets);
        heading
    }

    /// What was read, missing and refused.
    fn heading(&self) -> String {
        let mut out = format!(
            "Offline disk {} (a Windows that is not running): {} of {} expected files read\n",
            self.root,
            self.found.len(),
            self.found.len() + self.missing.len() + self.refused.len()
        );
        if !self.missing.is_empty() {
            out.push_str(&format!("  missing: {}\n", self.missing.join(", ")));
        }
        for r in &self.refused {
            out.push_str(&format!("  refused: {} ({})\n", r.path, r.why));
        }
        out
    }
}

/// `fixer collect --offline <drive> --out <folder>`: the disk's files found copied into
/// `<folder>`, the snapshot its hives give written beside them, and all of them zipped into
/// `<folder>\rdpfix-logs.zip` to copy off the rescue VM (or to read with `fixer diagnose`).
pub fn collect(host: &dyn Host, root: &Path, out: &Path) -> CommandResult {
    let catalog = Catalog::builtin().map_err(|e| CommandError::new(Exit::Failure, e))?;
    let disk = locate(&drive_root(root), &catalog)?;
    // Written by SYSTEM-trusted code: into a folder made for it, or one that only SYSTEM
    // and Administrators could have written.
    safe_folder::ensure(host, out)?;
    let mut files = Vec::new();
    let mut not_copied = Vec::new();
    for (file, found) in disk.files.iter().zip(&disk.found) {
        let name = found.rsplit('/').next().unwrap_or(found);
        match host.collect_file(out, name, FileSource::CopyOf(file)) {
            Ok(copy) => files.push(copy),
            Err(e @ HostError::NeedsWindows { .. }) => return Err(e.into()),
            Err(e) => not_copied.push(Refused {
                path: found.clone(),
                why: e.to_string(),
            }),
        }
    }
    let config = hive_snapshot(&disk);
    let config_file = config.as_ref().map(|c| collect::write_config(host, out, c));
    if let Some(Ok(path)) = &config_file {
        files.push(path.clone());
    }
    let zipped = if files.is_empty() {
        None
    } else {
        match host.zip_logs(out, &files) {
            Err(e @ HostError::NeedsWindows { .. }) => return Err(e.into()),
            zipped => Some(zipped),
        }
    };
    let (zip, zip_error) = collect::outcome(zipped);
    let (config_file, config_file_error) = collect::outcome(config_file);
    Ok(Box::new(OfflineCollect {
        out: out.display().to_string(),
        copied: files.iter().map(|f| f.display().to_string()).collect(),
        not_copied,
        config,
        config_file: config_file.map(|p| p.display().to_string()),
        config_file_error,
        zip,
        zip_error,
        offline: disk,
    }))
}

/// The configuration snapshot of the disk's `SYSTEM` and `SOFTWARE` hives, joined as the
/// page and `diagnose --offline` join them, as block text (`None` when no hive gave one).
fn hive_snapshot(disk: &OfflineDisk) -> Option<String> {
    let mut reports = Vec::new();
    let hives = disk.files.iter().zip(&disk.found).filter(|(_, found)| {
        let name = found.rsplit('/').next().unwrap_or(found);
        HIVES.iter().any(|h| h.eq_ignore_ascii_case(name))
    });
    for (file, found) in hives {
        let mut no_events: Vec<analyzer::Event> = Vec::new();
        if let Ok(read) = crate::inputs::read_file(found, file, &mut no_events) {
            reports.extend(read);
        }
    }
    let joined = analyzer::input::hive::merge(reports.iter().flat_map(|r| &r.configs));
    let blocks: Vec<String> = joined.iter().map(collect_config::text_of).collect();
    (!blocks.is_empty()).then(|| blocks.concat())
}

/// What `collect --offline` did.
#[derive(Debug, Serialize)]
struct OfflineCollect {
    out: String,
    offline: OfflineDisk,
    /// The files in the folder: the disk's, copied, and the snapshot.
    copied: Vec<String>,
    /// The disk's files that could not be copied, and why.
    not_copied: Vec<Refused>,
    /// The snapshot of the disk's hives, as printed (`None`: no hive gave one).
    config: Option<String>,
    config_file: Option<String>,
    config_file_error: Option<String>,
    zip: Option<Bundle>,
    zip_error: Option<String>,
}

impl Report for OfflineCollect {
    fn exit(&self) -> Exit {
        if self.zip.is_some() {
            Exit::Success
        } else {
            Exit::Failure
        }
    }

    fn text(&self) -> String {
        let mut out = self.offline.heading();
        for n in &self.not_copied {
            out.push_str(&format!("  not copied: {} ({})\n", n.path, n.why));
        }
        // ASCII by construction (percent-encoded values).
        out.push_str(self.config.as_deref().unwrap_or_default());
        out.push_str(&collect::config_file_line(
            &self.config_file,
            &self.config_file_error,
        ));
        match (&self.zip, &self.zip_error) {
            (Some(zip), _) => out.push_str(&format!(
                "zipped   {} ({} KB)\nNEXT: copy it to your computer and drop it on the page, or \
                 run fixer diagnose {} here.\n",
                zip.path,
                zip.bytes.div_ceil(1024),
                zip.path
            )),
            (None, Some(e)) => out.push_str(&format!(
                "FAILED: not zipped ({e}); run fixer diagnose --offline {} instead.\n",
                self.offline.root
            )),
            (None, None) => out.push_str("FAILED: no file of the disk could be read.\n"),
        }
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The name of `folder`'s entry equal to `want`, else equal but for ASCII case.
fn entry_named(folder: &Path, want: &str) -> Option<String> {
    let names: Vec<String> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names
        .iter()
        .find(|n| *n == want)
        .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(want)))
        .cloned()
}

/// A symbolic link, a junction, or (on Windows) any other reparse point.
fn is_link(meta: &Metadata) -> bool {
    meta.file_type().is_symlink() || reparse_point(meta)
}

#[cfg(windows)]
fn reparse_point(meta: &Metadata) -> bool {
    use std::os::windows::fs::MetadataExt;
    const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
    meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0
}

#[cfg(not(windows))]
fn reparse_point(_meta: &Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_s_slash_is_written_percent_four() {
        assert_eq!(
            log_file_name("Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"),
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx"
        );
        assert_eq!(log_file_name("System"), "System.evtx");
    }
}
