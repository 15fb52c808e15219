//! Runs a verified plan: for each step probe → is_compliant (skip) → check expect → backup →
//! `started` → apply → verify → `done`; on a failure, undo what ran, latest first. The same
//! code runs a dry-run on [`DryRun`], which never writes to the machine.
//!
//! Rollback of a plan — after a crash, on request, or when a commit-confirm deadline passes
//! — needs only the journal: the backups say what to restore.

pub mod op;

use crate::host::overlay::DryRun;
use crate::host::{Host, HostError};
use crate::journal::{self, Begin, Journal, JournalError, Outcome, PlanState, Record};
use analyzer::plan::{AllowedStep, Labels, Reversibility};
use jiff::{SignedDuration, Timestamp};
use op::{Backup, Op, Snapshot, snapshot_text};
use serde::Serialize;

/// One step of a plan, ready to run.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub op: Op,
    pub summary: String,
    pub labels: Labels,
}

impl PlannedStep {
    pub fn new(step: &AllowedStep) -> Self {
        PlannedStep {
            op: Op::from_step(step),
            summary: step.summary(),
            labels: step.labels(),
        }
    }
}

/// A plan that passed checks 1–9, with what the journal records about it.
#[derive(Debug, Clone)]
pub struct Runnable {
    pub begin: Begin,
    pub envelope: Vec<u8>,
    pub steps: Vec<PlannedStep>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    DryRun,
    Apply {
        confirm_within: Option<SignedDuration>,
    },
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// Already as desired.
    Compliant,
    /// Read-only or manual: nothing to change.
    Info,
    /// Changed (or, in a dry-run, would be changed).
    Changed,
    Failed {
        error: String,
    },
    /// Changed, then put back after a later failure.
    Undone,
    UndoFailed {
        error: String,
    },
    NotReached,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub index: usize,
    pub summary: String,
    pub reversibility: Reversibility,
    pub drops_rdp_sessions: bool,
    pub manual: bool,
    pub current: String,
    pub desired: String,
    pub status: StepStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Dry-run: every step would succeed.
    WouldApply,
    Applied,
    /// Applied; rolled back at `confirm_by` unless confirmed.
    AwaitingConfirm,
    /// A precondition did not hold before anything changed.
    Refused,
    RolledBack,
    RollbackIncomplete,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub plan_id: String,
    pub dry_run: bool,
    pub outcome: RunOutcome,
    pub steps: Vec<StepReport>,
    pub error: Option<String>,
    pub confirm_by: Option<Timestamp>,
    /// What an apply would change, one line each (dry-run only).
    pub changes: Vec<String>,
}

/// Runs `plan` in `mode` on `host`.
pub fn run(host: &dyn Host, plan: &Runnable, mode: Mode) -> Result<RunReport, JournalError> {
    match mode {
        Mode::DryRun => {
            let overlay = DryRun::new(host);
            let mut report = execute(&overlay, plan, None)?;
            report.dry_run = true;
            if report.outcome == RunOutcome::Applied {
                report.outcome = RunOutcome::WouldApply;
            }
            report.changes = overlay.changes();
            Ok(report)
        }
        Mode::Apply { confirm_within } => execute(host, plan, confirm_within),
    }
}

fn step_report(index: usize, s: &PlannedStep, current: String, status: StepStatus) -> StepReport {
    StepReport {
        index,
        summary: s.summary.clone(),
        reversibility: s.labels.reversibility,
        drops_rdp_sessions: s.labels.drops_rdp_sessions,
        manual: s.labels.manual,
        current,
        desired: s.op.desired_text(),
        status,
    }
}

fn execute(
    host: &dyn Host,
    plan: &Runnable,
    confirm_within: Option<SignedDuration>,
) -> Result<RunReport, JournalError> {
    let now = host.now();
    let confirm_by = confirm_within.and_then(|d| now.checked_add(d).ok());
    let mut begin = plan.begin.clone();
    begin.confirm_by = confirm_by;
    let plan_id = begin.plan_id.clone();
    let journal = Journal::create(host, begin, &plan.envelope)?;
    let mut reports: Vec<StepReport> = Vec::new();
    let mut changed = false;
    let mut failure: Option<(usize, String, bool)> = None;

    for (i, step) in plan.steps.iter().enumerate() {
        let index = i + 1;
        match run_step(host, &journal, index, step, changed) {
            Ok((current, status)) => {
                changed |= status == StepStatus::Changed;
                reports.push(step_report(index, step, current, status));
            }
            Err(StepError {
                current,
                error,
                started,
            }) => {
                reports.push(step_report(
                    index,
                    step,
                    current,
                    StepStatus::Failed {
                        error: error.clone(),
                    },
                ));
                failure = Some((index, error, started));
                break;
            }
        }
    }
    for (i, step) in plan.steps.iter().enumerate().skip(reports.len()) {
        reports.push(step_report(
            i + 1,
            step,
            String::new(),
            StepStatus::NotReached,
        ));
    }

    let Some((failed_step, error, _)) = failure else {
        let outcome = if let Some(deadline) = confirm_by {
            if let Err(e) = host.schedule_rollback(&plan_id, deadline) {
                // Without the timer, commit-confirm cannot keep its promise: undo now.
                let report = undo_all(host, &journal, &mut reports, host.now())?;
                return Ok(RunReport {
                    plan_id,
                    dry_run: false,
                    outcome: report,
                    steps: reports,
                    error: Some(format!("cannot arrange the confirm timeout: {e}")),
                    confirm_by: None,
                    changes: Vec::new(),
                });
            }
            Outcome::AwaitingConfirm
        } else {
            Outcome::Applied
        };
        // Every change is made and verified; a journal that cannot say so shows the plan as
        // unfinished, and `rollback` still works from it.
        let error = journal
            .append(&Record::Finished { outcome, at: host.now() })
            .err()
            .map(|e| format!("applied, but the journal could not record it ({e}): `fixer journal` will list the plan as unfinished"));
        return Ok(RunReport {
            plan_id,
            dry_run: false,
            outcome: if outcome == Outcome::AwaitingConfirm {
                RunOutcome::AwaitingConfirm
            } else {
                RunOutcome::Applied
            },
            steps: reports,
            error,
            confirm_by,
            changes: Vec::new(),
        });
    };
    let _ = journal.append(&Record::Failed {
        step: failed_step,
        error: error.clone(),
    });
    let nothing_started =
        journal::load(host, &plan_id)?.is_some_and(|r| r.steps_to_undo().is_empty());
    let outcome = undo_all(host, &journal, &mut reports, host.now())?;
    let outcome = if nothing_started && outcome == RunOutcome::RolledBack && !changed {
        RunOutcome::Refused
    } else {
        outcome
    };
    Ok(RunReport {
        plan_id,
        dry_run: false,
        outcome,
        steps: reports,
        error: Some(format!("step {failed_step}: {error}")),
        confirm_by: None,
        changes: Vec::new(),
    })
}

struct StepError {
    current: String,
    error: String,
    started: bool,
}

fn run_step(
    host: &dyn Host,
    journal: &Journal<'_>,
    index: usize,
    step: &PlannedStep,
    changed_before: bool,
) -> Result<(String, StepStatus), StepError> {
    let fail = |current: &str, e: String, started| StepError {
        current: current.to_owned(),
        error: e,
        started,
    };
    let now = step
        .op
        .probe(host)
        .map_err(|e| fail("?", e.to_string(), false))?;
    let current = step.op.current_text(&now);
    if step.op.is_read_only() {
        // A read-only step still records what it saw (SaveAcl: the ACLs, in full).
        if let Op::SaveAcl { .. } = step.op {
            let backup = step
                .op
                .backup(host, &now)
                .map_err(|e| fail(&current, e.to_string(), false))?;
            journal
                .write_backup(index, &backup)
                .map_err(|e| fail(&current, e.to_string(), false))?;
            if let Some(bytes) = backup.icacls_save() {
                journal
                    .write_side_file(&format!("step-{index:02}.acl"), &bytes)
                    .map_err(|e| fail(&current, e.to_string(), false))?;
            }
        }
        return Ok((current, StepStatus::Info));
    }
    if step.op.is_compliant(&now, changed_before) {
        journal
            .append(&Record::Skipped { step: index })
            .map_err(|e| fail(&current, e.to_string(), false))?;
        return Ok((current, StepStatus::Compliant));
    }
    step.op.check_expect(&now).map_err(|e| {
        fail(
            &current,
            format!("precondition not met: {e}; the machine changed since the plan was made"),
            false,
        )
    })?;
    let backup = step
        .op
        .backup(host, &now)
        .map_err(|e| fail(&current, e.to_string(), false))?;
    journal
        .write_backup(index, &backup)
        .map_err(|e| fail(&current, e.to_string(), false))?;
    write_side_files(journal, index, &backup).map_err(|e| fail(&current, e.to_string(), false))?;
    journal
        .append(&Record::Started { step: index })
        .map_err(|e| fail(&current, e.to_string(), false))?;
    step.op
        .apply(host, &now)
        .map_err(|e| fail(&current, e.to_string(), true))?;
    if !step
        .op
        .verify(host)
        .map_err(|e| fail(&current, e.to_string(), true))?
    {
        return Err(fail(
            &current,
            "the change did not take: the setting reads back differently".into(),
            true,
        ));
    }
    let after = step
        .op
        .probe(host)
        .map_err(|e| fail(&current, e.to_string(), true))?;
    let after = serde_json::to_value(&after).unwrap_or_default();
    journal
        .append(&Record::Done { step: index, after })
        .map_err(|e| fail(&current, e.to_string(), true))?;
    Ok((current, StepStatus::Changed))
}

fn write_side_files(journal: &Journal<'_>, index: usize, backup: &Backup) -> Result<(), HostError> {
    if let Some(bytes) = backup.icacls_save() {
        journal.write_side_file(&format!("step-{index:02}.acl"), &bytes)?;
    }
    if let Backup::Certs { certs } = backup {
        for c in certs {
            journal.write_side_file(&format!("step-{index:02}-{}.cer", c.thumbprint), &c.der)?;
        }
    }
    Ok(())
}

/// Undoes every started step of the journal's plan, latest first, marking the reports.
fn undo_all(
    host: &dyn Host,
    journal: &Journal<'_>,
    reports: &mut [StepReport],
    at: Timestamp,
) -> Result<RunOutcome, JournalError> {
    let record = journal::load(host, journal.plan_id())?;
    let steps = record.map(|r| r.steps_to_undo()).unwrap_or_default();
    let mut complete = true;
    for step in steps {
        let result = undo_step(host, journal, step);
        if let Some(r) = reports.iter_mut().find(|r| r.index == step) {
            let failed = matches!(r.status, StepStatus::Failed { .. });
            match &result {
                Ok(()) if !failed => r.status = StepStatus::Undone,
                Ok(()) => {}
                Err(e) => {
                    r.status = StepStatus::UndoFailed {
                        error: e.to_string(),
                    }
                }
            }
        }
        complete &= result.is_ok();
    }
    let outcome = if complete {
        Outcome::RolledBack
    } else {
        Outcome::RollbackIncomplete
    };
    let _ = journal.append(&Record::Finished { outcome, at });
    Ok(if complete {
        RunOutcome::RolledBack
    } else {
        RunOutcome::RollbackIncomplete
    })
}

fn undo_step(host: &dyn Host, journal: &Journal<'_>, step: usize) -> Result<(), JournalError> {
    journal.append(&Record::UndoStarted { step })?;
    let backup: Backup = journal.read_backup(step)?;
    match backup.undo(host) {
        Ok(()) => {
            journal.append(&Record::Undone { step })?;
            Ok(())
        }
        Err(e) => {
            let _ = journal.append(&Record::UndoFailed {
                step,
                error: e.to_string(),
            });
            Err(e.into())
        }
    }
}

/// One step of a rollback.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackStep {
    pub step: usize,
    pub result: String,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub plan_id: String,
    pub before: PlanState,
    pub outcome: RollbackOutcome,
    pub steps: Vec<RollbackStep>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackOutcome {
    RolledBack,
    NothingToDo,
    /// `--unless-confirmed` and the plan was confirmed.
    KeptConfirmed,
    /// Some step was changed since the plan ran (refused without `--force`) or failed.
    Incomplete,
}

#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("no plan {0} in the journal; `fixer journal` lists the plans applied here")]
    NoSuchPlan(String),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Host(#[from] HostError),
}

/// Restores what plan `plan_id` changed, from its journal alone.
pub fn rollback(
    host: &dyn Host,
    plan_id: &str,
    unless_confirmed: bool,
    force: bool,
) -> Result<RollbackReport, RollbackError> {
    let record =
        journal::load(host, plan_id)?.ok_or_else(|| RollbackError::NoSuchPlan(plan_id.into()))?;
    let before = record.state;
    let report = |outcome, steps| RollbackReport {
        plan_id: plan_id.into(),
        before,
        outcome,
        steps,
    };
    if unless_confirmed && (record.confirmed || before == PlanState::Applied) {
        return Ok(report(RollbackOutcome::KeptConfirmed, Vec::new()));
    }
    let todo = record.steps_to_undo();
    let journal = Journal::open(host, plan_id);
    if todo.is_empty() {
        if before != PlanState::RolledBack {
            journal.append(&Record::Finished {
                outcome: Outcome::RolledBack,
                at: host.now(),
            })?;
        }
        return Ok(report(RollbackOutcome::NothingToDo, Vec::new()));
    }
    let mut steps = Vec::new();
    let mut complete = true;
    for step in todo {
        let backup: Backup = journal.read_backup(step)?;
        if let Some(after) = record
            .after(step)
            .and_then(|a| serde_json::from_value::<Snapshot>(a.clone()).ok())
        {
            let now = backup.probe(host).map_err(JournalError::from)?;
            if !force && !backup.unchanged_since(&after, &now) {
                let reason = format!(
                    "changed since the plan ran (now {}); left alone, use --force to restore anyway",
                    snapshot_text(&now)
                );
                journal.append(&Record::UndoRefused {
                    step,
                    reason: reason.clone(),
                })?;
                steps.push(RollbackStep {
                    step,
                    result: reason,
                    ok: false,
                });
                complete = false;
                continue;
            }
        }
        match undo_step(host, &journal, step) {
            Ok(()) => steps.push(RollbackStep {
                step,
                result: "restored".into(),
                ok: true,
            }),
            Err(e) => {
                steps.push(RollbackStep {
                    step,
                    result: e.to_string(),
                    ok: false,
                });
                complete = false;
            }
        }
    }
    let outcome = if complete {
        Outcome::RolledBack
    } else {
        Outcome::RollbackIncomplete
    };
    journal.append(&Record::Finished {
        outcome,
        at: host.now(),
    })?;
    if before == PlanState::AwaitingConfirm {
        // Also when the task itself runs this: a fired one-shot task is left registered.
        let _ = host.cancel_scheduled_rollback(plan_id);
    }
    Ok(report(
        if complete {
            RollbackOutcome::RolledBack
        } else {
            RollbackOutcome::Incomplete
        },
        steps,
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("no plan {0} in the journal")]
    NoSuchPlan(String),
    #[error("plan {plan_id} is {state:?}, not awaiting confirmation")]
    NotAwaiting { plan_id: String, state: PlanState },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Host(#[from] HostError),
}

/// Keeps a commit-confirm plan: records the confirmation, then removes the timer.
pub fn confirm(host: &dyn Host, plan_id: &str) -> Result<Timestamp, ConfirmError> {
    let record =
        journal::load(host, plan_id)?.ok_or_else(|| ConfirmError::NoSuchPlan(plan_id.into()))?;
    if record.state != PlanState::AwaitingConfirm {
        return Err(ConfirmError::NotAwaiting {
            plan_id: plan_id.into(),
            state: record.state,
        });
    }
    let at = host.now();
    Journal::open(host, plan_id).append(&Record::Confirmed { at })?;
    host.cancel_scheduled_rollback(plan_id)?;
    Ok(at)
}
