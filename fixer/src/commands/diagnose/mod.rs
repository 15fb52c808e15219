//! `fixer diagnose`: the same analysis the page runs, on the VM or any machine — exported
//! logs in (files, or `-` for text piped from `wevtutil qe … /f:text`), a report out. With
//! `--kql`, the Azure Monitor queries of the rule catalog instead. With `--offline <drive>`,
//! the logs and hives of an OS disk attached to a rescue VM ([`crate::offline`]).

mod text;

use super::{CommandError, CommandResult};
use crate::cli::DiagnoseArgs;
use crate::exit::Exit;
use crate::inputs;
use crate::offline::{self, OfflineDisk};
use crate::report::{Report, ascii_lines};
use analyzer::diagnose::{DiagnoseOptions, Diagnosis, Session};
use analyzer::rules::{Catalog, kql};
use jiff::Timestamp;
use std::path::{Path, PathBuf};

/// Runs the analysis, or returns the KQL with `--kql`.
pub fn run(args: &DiagnoseArgs) -> CommandResult {
    if args.kql {
        let catalog = Catalog::builtin().map_err(|e| CommandError::new(Exit::Failure, e))?;
        return Ok(Box::new(KqlReport {
            text: kql::queries(&catalog),
        }));
    }
    let (files, disk) = with_disk(&args.files, args.offline.as_deref())?;
    let session = read_inputs(&files, args.now)?;
    let diagnosis = session.finish(&DiagnoseOptions { now: args.now });
    Ok(Box::new(DiagnoseReport {
        diagnosis,
        offline: disk,
    }))
}

/// `files`, and with `--offline <root>` the files of the OS disk there ([`offline::locate`]),
/// with what was found, missing and refused on it. `fixer plan --offline` reads a disk the
/// same way.
pub fn with_disk(
    files: &[PathBuf],
    offline: Option<&Path>,
) -> Result<(Vec<PathBuf>, Option<OfflineDisk>), CommandError> {
    let mut files = files.to_vec();
    let disk = match offline {
        Some(root) => {
            let catalog = Catalog::builtin().map_err(|e| CommandError::new(Exit::Failure, e))?;
            let disk = offline::locate(&offline::drive_root(root), &catalog)?;
            files.extend(disk.files.iter().cloned());
            Some(disk)
        }
        None => None,
    };
    Ok((files, disk))
}

/// Reads every input into a new session: files, folders of them (what `fixer collect`
/// writes), `-` for standard input. `fixer plan` reads its inputs the same way.
/// Reads `files` into a session to be finished at `now` (`--now`; `None`: the newest event).
pub fn read_inputs(files: &[PathBuf], now: Option<Timestamp>) -> Result<Session, CommandError> {
    let mut session = Session::new().judging_at(now);
    for input in inputs::inputs(files)? {
        let reports = input.read(&mut session.input_sink())?;
        for report in reports {
            session.add_report(report);
        }
    }
    Ok(session)
}

/// A finished diagnosis, rendered as text or JSON.
#[derive(Debug)]
pub struct DiagnoseReport {
    pub diagnosis: Diagnosis,
    /// With `--offline`: what was read from the disk, missing and refused.
    pub offline: Option<OfflineDisk>,
}

impl Report for DiagnoseReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        match &self.offline {
            // First: the verdict stays last, in what Run Command's tail keeps.
            Some(disk) => {
                let head = ascii_lines(&disk.lines(&self.diagnosis));
                let budget = text::MAX_BYTES.saturating_sub(head.len());
                format!("{head}{}", text::render_within(&self.diagnosis, budget))
            }
            None => text::render(&self.diagnosis),
        }
    }

    fn json(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(&self.diagnosis).unwrap_or_default();
        if let (Some(disk), Some(map)) = (&self.offline, json.as_object_mut()) {
            map.insert(
                "offline".into(),
                serde_json::to_value(disk).unwrap_or_default(),
            );
        }
        json
    }
}

/// The Azure Monitor queries of the catalog.
#[derive(Debug)]
pub struct KqlReport {
    pub text: String,
}

impl Report for KqlReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        ascii_lines(&self.text)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "kql": self.text })
    }
}
