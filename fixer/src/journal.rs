//! The write-ahead journal: one folder per plan under `journal/<plan_id>/` in the state
//! directory, holding the signed envelope as received, a backup file per changed step, and
//! `journal.jsonl` — one JSON record per line, each flushed to disk before the change it
//! announces. A backup and its `started` record are on disk before a step changes anything;
//! `done` follows the change. After a crash, the records say exactly which steps may have
//! changed, and their backups say how to put them back.

use crate::host::{Host, HostError};
use crate::state_dir::JOURNAL_DIR;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One line of `journal.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Record {
    /// The plan passed every check and is about to run.
    Begin(Begin),
    /// The step was already as desired: nothing done.
    Skipped {
        step: usize,
    },
    /// The backup is on disk; the change is about to be made.
    Started {
        step: usize,
    },
    /// The change was made and verified; `after` is what it left.
    Done {
        step: usize,
        after: serde_json::Value,
    },
    Failed {
        step: usize,
        error: String,
    },
    UndoStarted {
        step: usize,
    },
    Undone {
        step: usize,
    },
    UndoFailed {
        step: usize,
        error: String,
    },
    /// A rollback left this step alone: it was changed again since the plan ran.
    UndoRefused {
        step: usize,
        reason: String,
    },
    Finished {
        outcome: Outcome,
        at: Timestamp,
    },
    /// `fixer confirm` kept a commit-confirm plan.
    Confirmed {
        at: Timestamp,
    },
    /// The last line had been cut short by a crash; those bytes were removed before this
    /// record was written, so records never glue onto a broken one.
    TornTailRemoved {
        bytes: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Begin {
    pub plan_id: String,
    pub key_fingerprint: String,
    pub key_label: String,
    pub computer: String,
    pub seq: u64,
    pub at: Timestamp,
    /// One line per step, as the dry-run showed it.
    pub steps: Vec<String>,
    /// Commit-confirm: rolled back at this time unless confirmed.
    pub confirm_by: Option<Timestamp>,
    /// An offline plan: the attached disk it changed and where its hives were loaded, so a
    /// rollback (after a crash too) loads them there again, undoes, and unloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<crate::host::offline::OfflineRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Applied,
    AwaitingConfirm,
    RolledBack,
    RollbackIncomplete,
}

/// What a plan's records add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanState {
    Applied,
    AwaitingConfirm,
    RolledBack,
    RollbackIncomplete,
    /// No `finished` record: the fixer stopped mid-way (crash, power loss, kill).
    Unfinished,
}

/// One plan's journal, read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanRecord {
    pub begin: Begin,
    pub records: Vec<Record>,
    pub state: PlanState,
    pub confirmed: bool,
    /// The last line was cut short (a crash while appending); it was ignored.
    pub torn_tail: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "{path}: line {line} is damaged ({detail}); the journal cannot be trusted: inspect it by hand"
    )]
    Damaged {
        path: String,
        line: usize,
        detail: String,
    },
    #[error("{path}: no begin record")]
    NoBegin { path: String },
    #[error("plan {0} already has a journal here")]
    Exists(String),
    #[error("backup {path} cannot be read ({detail})")]
    BadBackup { path: String, detail: String },
    #[error(transparent)]
    Host(#[from] HostError),
}

fn dir(plan_id: &str) -> String {
    format!("{JOURNAL_DIR}/{plan_id}")
}

fn journal_file(plan_id: &str) -> String {
    format!("{}/journal.jsonl", dir(plan_id))
}

/// Appends records for one plan.
#[derive(Debug)]
pub struct Journal<'h> {
    host: &'h dyn Host,
    plan_id: String,
    /// The tail was checked (and mended) before this process's first append.
    tail_checked: std::cell::Cell<bool>,
}

impl<'h> Journal<'h> {
    /// Starts a plan's journal: the envelope as received, then the `begin` record.
    pub fn create(host: &'h dyn Host, begin: Begin, envelope: &[u8]) -> Result<Self, JournalError> {
        let plan_id = begin.plan_id.clone();
        // Made here or not at all: of two runs of one plan, only one gets the folder.
        match host.state_create_dir(&dir(&plan_id)) {
            Ok(()) => {}
            Err(HostError::Exists { .. }) => return Err(JournalError::Exists(plan_id)),
            Err(e) => return Err(e.into()),
        }
        host.state_write(&format!("{}/plan.dsse", dir(&plan_id)), envelope)?;
        let j = Journal {
            host,
            plan_id,
            tail_checked: std::cell::Cell::new(true),
        };
        j.append(&Record::Begin(begin))?;
        Ok(j)
    }

    /// Appends to an existing plan's journal (rollback, confirm).
    pub fn open(host: &'h dyn Host, plan_id: &str) -> Self {
        Journal {
            host,
            plan_id: plan_id.to_owned(),
            tail_checked: std::cell::Cell::new(false),
        }
    }

    /// Cuts a torn last line (a crash while it was written) back to the last complete
    /// record and records how many bytes went: `Some(bytes)` when it did.
    pub fn repair_tail(&self) -> Result<Option<u64>, HostError> {
        self.tail_checked.set(true);
        let rel = journal_file(&self.plan_id);
        let Some(bytes) = self.host.state_read(&rel)? else {
            return Ok(None);
        };
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Ok(None);
        }
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let removed = (bytes.len() - keep) as u64;
        self.host.state_truncate(&rel, keep as u64)?;
        self.append(&Record::TornTailRemoved { bytes: removed })?;
        Ok(Some(removed))
    }

    pub fn plan_id(&self) -> &str {
        &self.plan_id
    }

    pub fn append(&self, record: &Record) -> Result<(), HostError> {
        if !self.tail_checked.get() {
            self.repair_tail()?;
        }
        let mut line = serde_json::to_vec(record)
            .map_err(|e| HostError::failed("journal record", e.to_string()))?;
        line.push(b'\n');
        self.host.state_append(&journal_file(&self.plan_id), &line)
    }

    /// Writes a step's backup (atomically) before its `started` record.
    pub fn write_backup<T: Serialize>(&self, step: usize, backup: &T) -> Result<(), HostError> {
        let bytes = serde_json::to_vec_pretty(backup)
            .map_err(|e| HostError::failed("backup", e.to_string()))?;
        self.host
            .state_write(&backup_file(&self.plan_id, step), &bytes)
    }

    /// A side file for people (`.cer`, `icacls /save` output) beside the backup.
    pub fn write_side_file(&self, name: &str, bytes: &[u8]) -> Result<String, HostError> {
        let rel = format!("{}/{name}", dir(&self.plan_id));
        self.host.state_write(&rel, bytes)?;
        Ok(rel)
    }

    pub fn read_backup<T: DeserializeOwned>(&self, step: usize) -> Result<T, JournalError> {
        let rel = backup_file(&self.plan_id, step);
        let bytes = self
            .host
            .state_read(&rel)?
            .ok_or_else(|| JournalError::BadBackup {
                path: rel.clone(),
                detail: "missing".into(),
            })?;
        serde_json::from_slice(&bytes).map_err(|e| JournalError::BadBackup {
            path: rel,
            detail: e.to_string(),
        })
    }
}

fn backup_file(plan_id: &str, step: usize) -> String {
    format!("{}/step-{step:02}.json", dir(plan_id))
}

/// Reads one plan's journal; `None` if there is none.
pub fn load(host: &dyn Host, plan_id: &str) -> Result<Option<PlanRecord>, JournalError> {
    let path = journal_file(plan_id);
    let Some(bytes) = host.state_read(&path)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut records = Vec::new();
    let mut torn_tail = false;
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => records.push(r),
            // The last line without its newline is a record cut short by a crash.
            Err(_) if i == last => torn_tail = true,
            Err(e) => {
                return Err(JournalError::Damaged {
                    path,
                    line: i + 1,
                    detail: e.to_string(),
                });
            }
        }
    }
    let Some(Record::Begin(begin)) = records.first().cloned() else {
        if records.is_empty() {
            // The fixer died writing its first record, before any change: a plan that
            // never began. Its folder still counts for replay (`JournalIndex::has_plan`).
            return Ok(None);
        }
        return Err(JournalError::NoBegin { path });
    };
    let mut state = PlanState::Unfinished;
    let mut confirmed = false;
    for r in &records {
        match r {
            Record::Finished { outcome, .. } => {
                state = match outcome {
                    Outcome::Applied => PlanState::Applied,
                    Outcome::AwaitingConfirm => PlanState::AwaitingConfirm,
                    Outcome::RolledBack => PlanState::RolledBack,
                    Outcome::RollbackIncomplete => PlanState::RollbackIncomplete,
                }
            }
            // A rollback that began and did not finish leaves the plan unfinished again.
            Record::UndoStarted { .. } if state != PlanState::Unfinished => {
                state = PlanState::Unfinished;
            }
            Record::Confirmed { .. } => confirmed = true,
            _ => {}
        }
    }
    if state == PlanState::AwaitingConfirm && confirmed {
        state = PlanState::Applied;
    }
    Ok(Some(PlanRecord {
        begin,
        records,
        state,
        confirmed,
        torn_tail,
    }))
}

/// Every plan journalled on this machine, oldest first.
pub fn load_all(host: &dyn Host) -> Result<Vec<PlanRecord>, JournalError> {
    let mut out = Vec::new();
    for id in host.state_list(JOURNAL_DIR)? {
        if let Some(r) = load(host, &id)? {
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.begin.at);
    Ok(out)
}

impl PlanRecord {
    /// Steps whose change may have been made and not undone yet, latest first: what a
    /// rollback must restore.
    pub fn steps_to_undo(&self) -> Vec<usize> {
        let mut started = Vec::new();
        for r in &self.records {
            match r {
                Record::Started { step } if !started.contains(step) => started.push(*step),
                Record::Undone { step } => started.retain(|s| s != step),
                _ => {}
            }
        }
        started.reverse();
        started
    }

    /// Whether an undo of `step` began (and may have stopped half-way): its settings then
    /// differ from what the step left because of the undo itself, not because of someone else.
    pub fn undo_began(&self, step: usize) -> bool {
        self.records
            .iter()
            .any(|r| matches!(r, Record::UndoStarted { step: s } if *s == step))
    }

    /// What step `step` left behind when it was done, if it finished.
    pub fn after(&self, step: usize) -> Option<&serde_json::Value> {
        self.records.iter().rev().find_map(|r| match r {
            Record::Done { step: s, after } if *s == step => Some(after),
            _ => None,
        })
    }
}
