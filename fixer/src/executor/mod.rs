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
use crate::safe_folder;
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
    /// Every file or folder the step acts on (ACL steps), by path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
    /// Objects of the step's target it leaves alone, and why (a junction, a hard link).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<String>,
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

/// What a step saw before it acted: its "now" in words, and the objects it touches.
#[derive(Debug, Clone, Default)]
struct Seen {
    current: String,
    objects: Vec<String>,
    left_alone: Vec<String>,
}

impl Seen {
    fn of(op: &Op, now: &Snapshot) -> Seen {
        let left_alone = match now {
            Snapshot::Acl { skipped, .. } => skipped
                .iter()
                .map(|s| format!("{}: {}", s.path, s.reason))
                .collect(),
            _ => Vec::new(),
        };
        Seen {
            current: op.current_text(now),
            objects: Op::objects(now),
            left_alone,
        }
    }

    fn unknown() -> Seen {
        Seen {
            current: "?".into(),
            ..Seen::default()
        }
    }
}

fn step_report(index: usize, s: &PlannedStep, seen: Seen, status: StepStatus) -> StepReport {
    StepReport {
        index,
        summary: s.summary.clone(),
        reversibility: s.labels.reversibility,
        drops_rdp_sessions: s.labels.drops_rdp_sessions,
        manual: s.labels.manual,
        current: seen.current,
        desired: s.op.desired_text(),
        status,
        objects: seen.objects,
        left_alone: seen.left_alone,
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
    let not_reached = |reports: &mut Vec<StepReport>| {
        for (i, step) in plan.steps.iter().enumerate().skip(reports.len()) {
            reports.push(step_report(
                i + 1,
                step,
                Seen::default(),
                StepStatus::NotReached,
            ));
        }
    };

    // Commit-confirm is armed before the first change, so that whatever cuts the admin off
    // — a restart that drops RDP, or the fixer dying half-way — the timer still rolls back.
    if let Some(deadline) = confirm_by
        && let Err(e) = arm_confirm_timer(host, &plan_id, deadline)
    {
        let _ = journal.append(&Record::Failed {
            step: 0,
            error: e.clone(),
        });
        let _ = journal.append(&Record::Finished {
            outcome: Outcome::RolledBack,
            at: host.now(),
        });
        not_reached(&mut reports);
        return Ok(RunReport {
            plan_id,
            dry_run: false,
            outcome: RunOutcome::Refused,
            steps: reports,
            error: Some(format!(
                "cannot arrange the confirm timeout, so nothing was changed: {e}"
            )),
            confirm_by: None,
            changes: Vec::new(),
        });
    }

    let mut changed = false;
    let mut failure: Option<(usize, String)> = None;
    for (i, step) in plan.steps.iter().enumerate() {
        let index = i + 1;
        match run_step(host, &journal, index, step, changed) {
            Ok((seen, status)) => {
                changed |= status == StepStatus::Changed;
                reports.push(step_report(index, step, seen, status));
            }
            Err(StepError { seen, error }) => {
                reports.push(step_report(
                    index,
                    step,
                    seen,
                    StepStatus::Failed {
                        error: error.clone(),
                    },
                ));
                failure = Some((index, error));
                break;
            }
        }
    }
    not_reached(&mut reports);

    let Some((failed_step, error)) = failure else {
        let outcome = if confirm_by.is_some() {
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
    let ops: Vec<Op> = plan.steps.iter().map(|s| s.op.clone()).collect();
    let outcome = undo_all(host, &journal, &ops, &mut reports, host.now())?;
    if confirm_by.is_some() {
        // Rolled back already: the timer has nothing left to do.
        let _ = host.cancel_scheduled_rollback(&plan_id);
    }
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

/// Registers the rollback task, from a copy of fixer.exe in an admin-only folder.
fn arm_confirm_timer(host: &dyn Host, plan_id: &str, deadline: Timestamp) -> Result<(), String> {
    safe_folder::ensure(host, &host.task_dir()).map_err(|e| e.to_string())?;
    host.schedule_rollback(plan_id, deadline)
        .map_err(|e| e.to_string())
}

struct StepError {
    seen: Seen,
    error: String,
}

fn run_step(
    host: &dyn Host,
    journal: &Journal<'_>,
    index: usize,
    step: &PlannedStep,
    changed_before: bool,
) -> Result<(Seen, StepStatus), StepError> {
    let now = step.op.probe(host).map_err(|e| StepError {
        seen: Seen::unknown(),
        error: e.to_string(),
    })?;
    let seen = Seen::of(&step.op, &now);
    let fail = |e: String| StepError {
        seen: seen.clone(),
        error: e,
    };
    if step.op.is_read_only() {
        // A read-only step still records what it saw (SaveAcl: the ACLs, in full).
        if let Op::SaveAcl { .. } = step.op {
            let backup = step
                .op
                .backup(host, &now)
                .map_err(|e| fail(e.to_string()))?;
            journal
                .write_backup(index, &backup)
                .map_err(|e| fail(e.to_string()))?;
            write_side_files(journal, index, &backup).map_err(|e| fail(e.to_string()))?;
        }
        return Ok((seen, StepStatus::Info));
    }
    if step.op.is_compliant(&now, changed_before) {
        journal
            .append(&Record::Skipped { step: index })
            .map_err(|e| fail(e.to_string()))?;
        return Ok((seen, StepStatus::Compliant));
    }
    step.op.check_expect(&now).map_err(|e| {
        fail(format!(
            "precondition not met: {e}; the machine is not as the plan expects"
        ))
    })?;
    let backup = step
        .op
        .backup(host, &now)
        .map_err(|e| fail(e.to_string()))?;
    journal
        .write_backup(index, &backup)
        .map_err(|e| fail(e.to_string()))?;
    write_side_files(journal, index, &backup).map_err(|e| fail(e.to_string()))?;
    journal
        .append(&Record::Started { step: index })
        .map_err(|e| fail(e.to_string()))?;
    step.op.apply(host, &now).map_err(|e| fail(e.to_string()))?;
    if !step.op.verify(host).map_err(|e| fail(e.to_string()))? {
        return Err(fail(
            "the change did not take: the setting reads back differently".into(),
        ));
    }
    let after = step.op.probe(host).map_err(|e| fail(e.to_string()))?;
    let after = serde_json::to_value(&after).unwrap_or_default();
    journal
        .append(&Record::Done { step: index, after })
        .map_err(|e| fail(e.to_string()))?;
    Ok((seen, StepStatus::Changed))
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
/// A step counts as undone only when it reads back as it was.
fn undo_all(
    host: &dyn Host,
    journal: &Journal<'_>,
    ops: &[Op],
    reports: &mut [StepReport],
    at: Timestamp,
) -> Result<RunOutcome, JournalError> {
    let record = journal::load(host, journal.plan_id())?;
    let steps = record.map(|r| r.steps_to_undo()).unwrap_or_default();
    let mut complete = true;
    for step in steps {
        let result = undo_step(host, journal, ops, step);
        if let Some(r) = reports.iter_mut().find(|r| r.index == step) {
            let failed = matches!(r.status, StepStatus::Failed { .. });
            match &result {
                Ok(()) if !failed => r.status = StepStatus::Undone,
                Ok(()) => {}
                Err(e) => {
                    r.status = StepStatus::UndoFailed { error: e.clone() };
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

/// Restores one step from its backup, read from the journal ([`restore`]).
fn undo_step(
    host: &dyn Host,
    journal: &Journal<'_>,
    ops: &[Op],
    step: usize,
) -> Result<(), String> {
    match journal.read_backup(step) {
        Ok(backup) => restore(host, journal, Ok(ops), step, &backup),
        Err(e) => undo_failed(journal, step, e.to_string()),
    }
}

/// Records that step `step` could not be restored, and why.
fn undo_failed(journal: &Journal<'_>, step: usize, error: String) -> Result<(), String> {
    let _ = journal.append(&Record::UndoFailed {
        step,
        error: error.clone(),
    });
    Err(error)
}

/// The steps of the plan the journal keeps (`plan.dsse`, as received and verified before
/// it ran), as ops by index: what a rollback compares each backup with.
fn journal_ops(host: &dyn Host, plan_id: &str) -> Result<Vec<Op>, String> {
    let rel = format!("{}/{plan_id}/plan.dsse", crate::state_dir::JOURNAL_DIR);
    let bytes = host
        .state_read(&rel)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{rel} is missing"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{rel} is not UTF-8"))?;
    let envelope = analyzer::envelope::Envelope::from_json(&text)
        .map_err(|e| format!("{rel} is not an envelope: {e}"))?;
    let plan: analyzer::plan::Plan = serde_json::from_slice(envelope.payload())
        .map_err(|e| format!("{rel} holds no plan: {e}"))?;
    let steps = analyzer::plan::check_steps(&plan.steps)
        .map_err(|e| format!("{rel} holds a step off the allowlist: {e}"))?;
    Ok(steps.iter().map(Op::from_step).collect())
}

/// Restores one step from `backup`: checked against the allowlist and against the plan's
/// step at its index (`ops`, or why they cannot be read), undone, read back.
/// `Err` says why the step is not as it was; the journal records it either way.
fn restore(
    host: &dyn Host,
    journal: &Journal<'_>,
    ops: Result<&[Op], &str>,
    step: usize,
    backup: &Backup,
) -> Result<(), String> {
    let belongs = ops.map_err(str::to_owned).and_then(|ops| {
        // Steps are numbered from 1, as the reports and backup files number them.
        let op = step
            .checked_sub(1)
            .and_then(|i| ops.get(i))
            .ok_or_else(|| format!("the plan has no step {step}"))?;
        backup.belongs_to(op)
    });
    if let Err(why) = backup.check_allowed(host).and(belongs) {
        let reason = format!("its backup names what no plan may touch ({why}); left alone");
        let _ = journal.append(&Record::UndoRefused {
            step,
            reason: reason.clone(),
        });
        return Err(reason);
    }
    journal
        .append(&Record::UndoStarted { step })
        .map_err(|e| e.to_string())?;
    let checked = backup.undo(host).map_err(|e| e.to_string()).and_then(|()| {
        match backup.check_restored(host) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(differs)) => Err(format!("undone, but it reads back differently: {differs}")),
            Err(e) => Err(format!("undone, but it cannot be read back: {e}")),
        }
    });
    match checked {
        Ok(()) => {
            journal
                .append(&Record::Undone { step })
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Err(error) => undo_failed(journal, step, error),
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
    /// Bytes of a torn last journal line (a crash while writing it) that were cut off
    /// before anything else was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub torn_tail_removed: Option<u64>,
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
    let journal = Journal::open(host, plan_id);
    let torn_tail_removed = journal.repair_tail()?;
    let report = |outcome, steps| RollbackReport {
        plan_id: plan_id.into(),
        before,
        outcome,
        steps,
        torn_tail_removed,
    };
    if unless_confirmed && (record.confirmed || before == PlanState::Applied) {
        return Ok(report(RollbackOutcome::KeptConfirmed, Vec::new()));
    }
    let todo = record.steps_to_undo();
    if todo.is_empty() {
        if before != PlanState::RolledBack {
            journal.append(&Record::Finished {
                outcome: Outcome::RolledBack,
                at: host.now(),
            })?;
        }
        return Ok(report(RollbackOutcome::NothingToDo, Vec::new()));
    }
    let ops = journal_ops(host, plan_id);
    let ops = ops.as_deref().map_err(String::as_str);
    let mut steps = Vec::new();
    let mut complete = true;
    // Step by step, never stopping at the first problem: one missing key file or service
    // must not keep every other step from being restored.
    for step in todo {
        let result = rollback_step(host, &journal, &record, ops, step, force);
        complete &= result.is_ok();
        steps.push(match result {
            Ok(()) => RollbackStep {
                step,
                result: "restored, and read back as it was".into(),
                ok: true,
            },
            Err(reason) => RollbackStep {
                step,
                result: reason,
                ok: false,
            },
        });
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
    if record.begin.confirm_by.is_some() {
        // Also when the task itself runs this (a fired one-shot task stays registered), and
        // for a plan the fixer died applying, whose timer was armed before its first change.
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

/// One step of a rollback: unless `force`, a step whose setting was changed again since the
/// plan ran (or cannot be read now) is left alone, and said so.
fn rollback_step(
    host: &dyn Host,
    journal: &Journal<'_>,
    record: &journal::PlanRecord,
    ops: Result<&[Op], &str>,
    step: usize,
    force: bool,
) -> Result<(), String> {
    // A rollback that was itself interrupted left this step half-restored: finish it.
    let after = record
        .after(step)
        .filter(|_| !record.undo_began(step))
        .and_then(|a| serde_json::from_value::<Snapshot>(a.clone()).ok());
    let check_drift = after.is_some() && !force;
    let refuse = |reason: String| {
        let _ = journal.append(&Record::UndoRefused {
            step,
            reason: reason.clone(),
        });
        Err(reason)
    };
    // Read once: for the drift check, then for the restore.
    let backup: Backup = match journal.read_backup(step) {
        Ok(b) => b,
        Err(e) if check_drift => return refuse(e.to_string()),
        Err(e) => return undo_failed(journal, step, e.to_string()),
    };
    if let (Some(after), true) = (after, check_drift) {
        match backup.probe(host) {
            Ok(now) if !backup.unchanged_since(&after, &now) => {
                return refuse(format!(
                    "changed since the plan ran (now {}); left alone, use --force to restore anyway",
                    snapshot_text(&now)
                ));
            }
            Ok(_) => {}
            Err(e) => {
                return refuse(format!(
                    "its current state cannot be read ({e}); left alone, use --force to restore anyway"
                ));
            }
        }
    }
    restore(host, journal, ops, step, &backup)
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
