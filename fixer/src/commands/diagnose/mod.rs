//! `fixer diagnose`: the same analysis the page runs, on the VM or any machine — exported
//! logs in (files, or `-` for text piped from `wevtutil qe … /f:text`), a report out. With
//! `--kql`, the Azure Monitor queries of the rule catalog instead.

mod text;

use super::{CommandError, CommandResult};
use crate::cli::DiagnoseArgs;
use crate::exit::Exit;
use crate::report::{Report, ascii_lines};
use analyzer::diagnose::{DiagnoseOptions, Diagnosis, Session};
use analyzer::input::no_progress;
use analyzer::rules::{Catalog, kql};
use anyhow::Context;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// Runs the analysis, or returns the KQL with `--kql`.
pub fn run(args: &DiagnoseArgs) -> CommandResult {
    if args.kql {
        let catalog = Catalog::builtin().map_err(|e| CommandError::new(Exit::Failure, e))?;
        return Ok(Box::new(KqlReport {
            text: kql::queries(&catalog),
        }));
    }
    let session = read_inputs(&args.files)?;
    let diagnosis = session.finish(&DiagnoseOptions { now: args.now });
    Ok(Box::new(DiagnoseReport { diagnosis }))
}

/// Reads every input into a new session: files, folders of them (what `fixer collect`
/// writes), `-` for standard input. `fixer plan` reads its inputs the same way.
pub fn read_inputs(files: &[PathBuf]) -> Result<Session, CommandError> {
    let mut session = Session::new();
    each_input(files, &mut |name, reader, len| {
        session.add_seekable(name, reader, len, &mut no_progress);
    })?;
    Ok(session)
}

/// A readable, seekable input.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Hands every input to `add` as (name, reader, length): files, the files of folders, and
/// `-` for standard input (read whole).
pub fn each_input(
    files: &[PathBuf],
    add: &mut dyn FnMut(&str, &mut dyn ReadSeek, u64),
) -> Result<(), CommandError> {
    for file in files {
        if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .context("cannot read standard input; pipe an export into it")
                .map_err(|e| CommandError::new(Exit::Failure, e))?;
            let len = bytes.len() as u64;
            add("(stdin)", &mut std::io::Cursor::new(bytes), len);
        } else if file.is_dir() {
            // `fixer collect` writes one folder: take every file in it.
            for path in folder_files(file)? {
                add_file(&path, add)?;
            }
        } else {
            add_file(file, add)?;
        }
    }
    Ok(())
}

/// The files of a folder (not its subfolders), in name order.
fn folder_files(dir: &Path) -> Result<Vec<PathBuf>, CommandError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CommandError::new(
            Exit::Failure,
            anyhow::Error::new(e).context(format!(
                "cannot list {}; check the path and that you may read it",
                dir.display()
            )),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CommandError::new(
            Exit::Failure,
            anyhow::anyhow!(
                "{} holds no files; export the logs into it first (fixer collect)",
                dir.display()
            ),
        ));
    }
    Ok(files)
}

fn add_file(
    path: &Path,
    add: &mut dyn FnMut(&str, &mut dyn ReadSeek, u64),
) -> Result<(), CommandError> {
    let fail = |e: std::io::Error| {
        CommandError::new(
            Exit::Failure,
            anyhow::Error::new(e).context(format!(
                "cannot read {}; check the path and that you may read it",
                path.display()
            )),
        )
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let len = file.metadata().map_err(fail)?.len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    add(&name, &mut std::io::BufReader::new(file), len);
    Ok(())
}

/// A finished diagnosis, rendered as text or JSON.
#[derive(Debug)]
pub struct DiagnoseReport {
    pub diagnosis: Diagnosis,
}

impl Report for DiagnoseReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        text::render(&self.diagnosis)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(&self.diagnosis).unwrap_or_default()
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
