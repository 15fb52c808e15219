//! `fixer apply [--dry-run] [--yes] [--confirm-within <minutes>] <plan>`.
//!
//! Checks 1–9 (`verification`), then check 10: the steps are probed and dry-run on a backend
//! that never writes, and a precondition that does not hold refuses the plan; then consent —
//! `--yes`, or "yes" typed at a terminal; nobody at a terminal (Run Command) means exit 9 with
//! the dry-run shown — then the executor applies each step with its backup and journal.

use super::verify::{PlanView, Rejected, check_name, label_tag, read_plan, verify_err};
use super::{CommandError, CommandResult};
use crate::cli::ApplyArgs;
use crate::executor::{self, Mode, RunOutcome, RunReport, StepReport, StepStatus};
use crate::exit::Exit;
use crate::host::offline::{
    self, Disk, DiskError, Loaded, Mounts, OfflineHost, OfflineRecord, StillLoaded,
};
use crate::host::{Host, HostError, MachineLock};
use crate::journal::JournalError;
use crate::operator::{Answer, Operator};
use crate::report::{Report, ascii_lines, wrap};
use crate::state_dir;
use crate::verification::{self, AppliedOffline, Target};
use jiff::SignedDuration;
use std::time::Duration;

/// How long an apply waits for another fixer to finish before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(10);
use serde::Serialize;

/// Read before check 10 to learn whether this host reaches Windows at all.
const TERMINAL_SERVER_KEY: &str = r"SYSTEM\CurrentControlSet\Control\Terminal Server";

/// Bytes the `--json` summary stays under: Run Command keeps the last 4,096 of the output.
const JSON_BUDGET: usize = 4000;

pub fn run(host: &dyn Host, args: &ApplyArgs, operator: &dyn Operator) -> CommandResult {
    if let Some(drive) = &args.offline {
        return run_offline(host, args, drive, operator);
    }
    let token = read_plan(&args.plan, operator)?;
    let verified = match verification::verify(host, &token.text).map_err(verify_err)? {
        Ok(v) => v,
        Err(rejection) => return Ok(Box::new(Rejected::new(&rejection))),
    };
    let view = PlanView::new(&verified);
    if !args.dry_run {
        refuse_if_blocked(&verified)?;
    }

    // Check 10 reads the machine. Off Windows (the Linux build) that is not the plan's fault:
    // say so (exit 8) rather than reject a plan that may be fine.
    if let Err(e @ HostError::NeedsWindows { .. }) = host.reg_key_exists(TERMINAL_SERVER_KEY) {
        return Err(e.into());
    }
    // Check 10: probe and dry-run.
    let runnable = verified.runnable(host.now());
    let dry = executor::run(host, &runnable, Mode::DryRun).map_err(journal_err)?;
    let report = |run: RunReport, consent: Consent| {
        Box::new(ApplyReport {
            plan: view.clone(),
            run,
            consent,
            confirm_within: args.confirm_within,
            offline: None,
        })
    };
    if dry.outcome != RunOutcome::WouldApply {
        return Ok(report(dry, Consent::NotAsked));
    }
    if args.dry_run {
        return Ok(report(dry, Consent::NotAsked));
    }

    let consent = ask_consent(args, operator, || {
        report(dry.clone(), Consent::NotAsked).text()
    });
    if consent != Consent::Given {
        return Ok(report(dry, consent));
    }

    // Under the machine-wide lock, everything that decided whether this plan may run is
    // decided again: consent may have taken a while, and another fixer may have applied
    // this plan, a newer one, or left one unfinished meanwhile.
    state_dir::prepare(host)?;
    let _lock = MachineLock::acquire(host, LOCK_WAIT)?;
    let verified = match verification::verify(host, &token.text).map_err(verify_err)? {
        Ok(v) => v,
        Err(rejection) => return Ok(Box::new(Rejected::new(&rejection))),
    };
    refuse_if_blocked(&verified)?;
    if let Err(rejection) = verification::still_fresh(&verified, host.now()) {
        return Ok(Box::new(Rejected::new(&rejection)));
    }
    let confirm_within = args
        .confirm_within
        .map(|m| SignedDuration::from_mins(i64::from(m)));
    let runnable = verified.runnable(host.now());
    let run =
        executor::run(host, &runnable, Mode::Apply { confirm_within }).map_err(journal_err)?;
    Ok(report(run, Consent::Given))
}

/// `fixer apply --offline <DRIVE|auto>`: the same checks, dry-run and consent, for the OS
/// disk of the plan's VM attached to this rescue VM. Check 10's dry-run reads the disk's
/// hive files; the apply loads them under `HKLM\rdpfix-<plan>-SYSTEM` / `-SOFTWARE`, runs
/// the executor on [`OfflineHost`], and unloads them whatever happened (on a failure too;
/// the journal's begin record names the mounts for a rollback after a crash). The plan is
/// then recorded on the disk (`ProgramData\rdpfix\offline-applied.jsonl`).
fn run_offline(
    host: &dyn Host,
    args: &ApplyArgs,
    drive: &str,
    operator: &dyn Operator,
) -> CommandResult {
    let token = read_plan(&args.plan, operator)?;
    let (disk, verified) = match disk_and_plan(host, drive, &token.text)? {
        Ok(checked) => checked,
        Err(rejected) => return Ok(Box::new(rejected)),
    };
    let mut view = PlanView::new(&verified);
    view.disk = Some(verification::disk_text(&disk));
    if !args.dry_run {
        refuse_if_blocked(&verified)?;
    }
    let mounts = Mounts::for_plan(&verified.plan.plan().plan_id);
    // Check 9 for a disk: every step must have an offline form (the analyzer leaves the
    // others out of an offline plan; a plan that holds one anyway is refused whole).
    if let Some(r) = without_offline_form(&verified) {
        return Ok(Box::new(r));
    }
    let record = |disk: &Disk| OfflineRecord {
        root: disk.root.display().to_string(),
        machine_guid: disk.machine_guid.clone(),
        control_set: disk.control_set,
        mounts: mounts.clone(),
    };
    let runnable_for = |v: &verification::Verified, disk: &Disk| {
        let mut r = v.runnable(host.now());
        r.begin.offline = Some(record(disk));
        r
    };
    // Check 10 on the hive files, read in place: nothing is loaded, nothing can be written.
    let target = offline_target(&verified)?;
    let files = OfflineHost::files(host, &disk, target).map_err(disk_err)?;
    let dry = executor::run(&files, &runnable_for(&verified, &disk), Mode::DryRun)
        .map_err(journal_err)?;
    drop(files);
    let report = |run: RunReport, consent: Consent, outcome: Option<OfflineOutcome>| {
        Box::new(ApplyReport {
            plan: view.clone(),
            run,
            consent,
            confirm_within: None,
            offline: Some(outcome.unwrap_or_else(|| OfflineOutcome::not_loaded(&disk))),
        })
    };
    if dry.outcome != RunOutcome::WouldApply || args.dry_run {
        return Ok(report(dry, Consent::NotAsked, None));
    }
    let consent = ask_consent(args, operator, || {
        report(dry.clone(), Consent::NotAsked, None).text()
    });
    if consent != Consent::Given {
        return Ok(report(dry, consent, None));
    }

    state_dir::prepare(host)?;
    let _lock = MachineLock::acquire(host, LOCK_WAIT)?;
    // Decided again under the lock, on the disk as it is now.
    let (disk, verified) = match disk_and_plan(host, drive, &token.text)? {
        Ok(checked) => checked,
        Err(rejected) => return Ok(Box::new(rejected)),
    };
    refuse_if_blocked(&verified)?;
    if let Err(rejection) = verification::still_fresh(&verified, host.now()) {
        return Ok(Box::new(Rejected::new(&rejection)));
    }
    let runnable = runnable_for(&verified, &disk);
    // The mounts are named after this plan, which has no journal yet (check 8): anything
    // loaded under them is from a run of it that died before its first record, and
    // changed nothing.
    // And what any run of this fixer left loaded (it died, or its unload failed).
    let stale = offline::unload_owned(host)?;
    offline::unload_stale(host, &mounts)?;
    let loaded = Loaded::load(host, &disk, &mounts)
        .map_err(|e| CommandError::new(Exit::Failure, anyhow::anyhow!("{e}")))?;
    let on_disk = OfflineHost::loaded(host, &disk, offline_target(&verified)?, &mounts);
    let run = executor::run(
        &on_disk,
        &runnable,
        Mode::Apply {
            confirm_within: None,
        },
    );
    let mut still_loaded = loaded.unload();
    still_loaded.extend(stale.still_loaded);
    let run = run.map_err(journal_err)?;
    let recorded = verification::record_applied(
        host,
        &disk,
        &AppliedOffline {
            plan_id: view.plan_id.clone(),
            key_fingerprint: view.key_fingerprint.clone(),
            seq: view.seq,
            computer: view.computer.clone(),
            at: host.now(),
            outcome: format!("{:?}", run.outcome).to_lowercase(),
        },
    )
    .err()
    .map(|e| e.to_string());
    // What the swap depends on is in the files, not in the loaded hives: read them back
    // (a dirty or damaged file is refused) and check every step there.
    let read_back = (run.outcome == RunOutcome::Applied && still_loaded.is_empty())
        .then(|| read_back(host, &disk.root, &verified, &runnable))
        .flatten();
    let outcome = OfflineOutcome {
        disk: verification::disk_text(&disk),
        mounts: Some(mounts.clone()),
        stale_unloaded: stale.unloaded,
        still_loaded,
        read_back,
        record_error: recorded,
    };
    Ok(report(run, Consent::Given, Some(outcome)))
}

/// The hive files of the disk at `root`, read again after the unload, against the plan:
/// `None` when every step reads there as done (compliant, or read-only, or manual); else
/// what does not.
fn read_back(
    host: &dyn Host,
    root: &std::path::Path,
    verified: &verification::Verified,
    runnable: &executor::Runnable,
) -> Option<String> {
    let disk = match Disk::read(host, root) {
        Ok(d) => d,
        Err(e) => return Some(format!("the hive files cannot be read back: {e}")),
    };
    let target = offline_target(verified).ok()?;
    let files = match OfflineHost::files(host, &disk, target) {
        Ok(f) => f,
        Err(e) => return Some(format!("the hive files cannot be read back: {e}")),
    };
    // The dry-run keeps its journal in memory, under a name of its own: the plan's
    // journal exists by now.
    let mut probe = runnable.clone();
    probe.begin.plan_id = format!("{}-read-back", probe.begin.plan_id);
    let check = match executor::run(&files, &probe, Mode::DryRun) {
        Ok(r) => r,
        Err(e) => return Some(format!("the hive files cannot be checked: {e}")),
    };
    let not_done: Vec<String> = check
        .steps
        .iter()
        .filter(|s| !s.manual && !matches!(s.status, StepStatus::Compliant | StepStatus::Info))
        .map(|s| format!("step {} ({}) reads {}", s.index, s.summary, s.current))
        .collect();
    (!not_done.is_empty()).then(|| {
        format!(
            "read back from the hive files after the unload, {}",
            not_done.join("; ")
        )
    })
}

/// The disk `drive` names (its hives read, a dirty one refused) and the plan checked
/// against it (checks 1–9); `Ok(Err)`: a check refused the plan.
fn disk_and_plan(
    host: &dyn Host,
    drive: &str,
    input: &[u8],
) -> Result<Result<(Disk, verification::Verified), Rejected>, CommandError> {
    let disk = offline::find_disk(host, drive, plan_guid(input).as_ref()).map_err(disk_err)?;
    Ok(
        match verification::verify_for(host, input, Target::Disk(&disk)).map_err(verify_err)? {
            Ok(v) => Ok((disk, v)),
            Err(rejection) => Err(Rejected::new(&rejection)),
        },
    )
}

/// The disk the plan names (check 6 compared it with the disk's hives).
fn offline_target(
    verified: &verification::Verified,
) -> Result<analyzer::plan::OfflineTarget, CommandError> {
    verified.plan.plan().target.offline.ok_or_else(|| {
        CommandError::new(
            Exit::Failure,
            anyhow::anyhow!("the plan names no attached disk: run it without --offline"),
        )
    })
}

/// The first step of the plan that has no offline form, refused as check 9 would.
fn without_offline_form(verified: &verification::Verified) -> Option<Rejected> {
    use analyzer::plan::offline::OfflineForm;
    verified
        .plan
        .steps()
        .iter()
        .enumerate()
        .find_map(|(i, step)| match step.offline() {
            OfflineForm::LeftOut { why } => Some(Rejected {
                check: 9,
                code: "no_offline_form".into(),
                reason: format!(
                    "step {} ({}) has no form on an attached disk: {why}",
                    i + 1,
                    step.summary()
                ),
            }),
            _ => None,
        })
}

/// The MachineGuid an offline plan names, read before it is verified: only to pick the
/// disk `--offline auto` verifies it against (check 6 then compares it for real).
pub fn plan_guid(input: &[u8]) -> Option<analyzer::plan::MachineGuid> {
    let received = analyzer::envelope::verify::receive(input).ok()?;
    let plan: analyzer::plan::Plan = serde_json::from_slice(received.envelope().payload()).ok()?;
    plan.target.offline.map(|o| o.machine_guid)
}

pub fn disk_err(e: DiskError) -> CommandError {
    match e {
        DiskError::Host(h) => h.into(),
        other => CommandError::new(Exit::Failure, other),
    }
}

/// `--yes`, or "yes" typed at a terminal after the dry-run (`preview`).
fn ask_consent(
    args: &ApplyArgs,
    operator: &dyn Operator,
    preview: impl FnOnce() -> String,
) -> Consent {
    if args.yes {
        Consent::Given
    } else if operator.interactive() {
        let question = "Apply these changes? Type yes to apply, anything else to stop: ";
        match operator.ask(&format!("{}{question}", preview())) {
            Answer::Yes => Consent::Given,
            Answer::No => Consent::Declined,
            Answer::NoAnswer => Consent::Needed,
        }
    } else {
        Consent::Needed
    }
}

/// What an offline apply did with the disk.
#[derive(Debug, Clone, Serialize)]
struct OfflineOutcome {
    disk: String,
    /// Where its hives were loaded (none for a dry-run or a refusal: the files were read).
    mounts: Option<Mounts>,
    /// Hives an earlier run left loaded, unloaded before this one loaded its own.
    stale_unloaded: Vec<String>,
    /// Unloading failed: these hives are still loaded, their changes maybe not in the files.
    still_loaded: Vec<StillLoaded>,
    /// After the unload, what the hive files do not hold (or why they cannot be read).
    read_back: Option<String>,
    /// The plan could not be recorded on the disk.
    record_error: Option<String>,
}

impl OfflineOutcome {
    /// Whether the disk may go back to its VM: nothing left loaded, and the files hold
    /// every step.
    fn ready(&self) -> bool {
        self.still_loaded.is_empty() && self.read_back.is_none()
    }

    fn not_loaded(disk: &Disk) -> Self {
        OfflineOutcome {
            disk: verification::disk_text(disk),
            mounts: None,
            stale_unloaded: Vec::new(),
            still_loaded: Vec::new(),
            read_back: None,
            record_error: None,
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for m in &self.stale_unloaded {
            out.push_str(&wrap(
                &format!(r"HKLM\{m} was still loaded (a run that stopped left it): unloaded first"),
                "disk: ",
                "      ",
            ));
        }
        if let Some(m) = &self.mounts
            && !self
                .still_loaded
                .iter()
                .any(|s| [&m.system, &m.software].contains(&&s.mount))
        {
            out.push_str(&wrap(
                &format!(
                    "its hives were loaded as HKLM\\{} and HKLM\\{}, and are unloaded",
                    m.system, m.software
                ),
                "disk: ",
                "      ",
            ));
        }
        if !self.still_loaded.is_empty() {
            out.push_str(&wrap(
                &format!(
                    "NOT UNLOADED: the changes may not be in the hive files yet. {}",
                    StillLoaded::text(&self.still_loaded)
                ),
                "WARNING: ",
                "  ",
            ));
        }
        if let Some(e) = &self.read_back {
            out.push_str(&wrap(&format!("NOT IN THE FILES: {e}"), "WARNING: ", "  "));
        }
        if let Some(e) = &self.record_error {
            out.push_str(&wrap(
                &format!(
                    "the plan could not be recorded on the disk ({e}); the journal here has it"
                ),
                "WARNING: ",
                "  ",
            ));
        }
        out
    }
}

/// Objects listed at most by name in the text report; `--json` lists every one.
const OBJECTS_NAMED: usize = 3;

/// The files a step acts on, by name (their folder is in the step's summary).
fn objects_text(objects: &[String]) -> Option<String> {
    let name = |p: &String| p.rsplit('\\').next().unwrap_or(p).to_owned();
    match objects.len() {
        0 => None,
        n if n <= OBJECTS_NAMED => Some(objects.iter().map(name).collect::<Vec<_>>().join(", ")),
        n => Some(format!(
            "{n} objects: {}, ... (every one in --json and, once applied, in the journal's \
             step files)",
            objects
                .iter()
                .take(OBJECTS_NAMED)
                .map(name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A plan that stopped mid-way, or waits for `fixer confirm`, must be settled first.
fn refuse_if_blocked(verified: &verification::Verified) -> Result<(), CommandError> {
    let blocking = verified.journal.blocking();
    let Some(p) = blocking.first() else {
        return Ok(());
    };
    let awaiting = p.state == crate::journal::PlanState::AwaitingConfirm;
    Err(CommandError::new(
        Exit::Unfinished,
        anyhow::anyhow!(
            "plan {id} is {state}: roll it back first (fixer rollback {id}){confirm}; \
             nothing was changed",
            id = p.begin.plan_id,
            state = if awaiting {
                "awaiting confirmation"
            } else {
                "unfinished (the fixer stopped while applying it)"
            },
            confirm = if awaiting {
                format!(" or keep it (fixer confirm {})", p.begin.plan_id)
            } else {
                String::new()
            }
        ),
    ))
}

fn journal_err(e: JournalError) -> CommandError {
    match e {
        JournalError::Host(h) => h.into(),
        other => CommandError::new(Exit::Failure, other),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Consent {
    /// Dry-run only, or refused before consent was needed.
    NotAsked,
    Given,
    /// Nobody could be asked (no terminal, `--json`) and no `--yes`.
    Needed,
    Declined,
}

#[derive(Debug, Serialize)]
struct ApplyReport {
    plan: PlanView,
    run: RunReport,
    consent: Consent,
    confirm_within: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offline: Option<OfflineOutcome>,
}

impl ApplyReport {
    fn counts(&self) -> (usize, usize, usize) {
        let steps = &self.run.steps;
        let changed = steps
            .iter()
            .filter(|s| s.status == StepStatus::Changed)
            .count();
        let compliant = steps
            .iter()
            .filter(|s| s.status == StepStatus::Compliant)
            .count();
        let manual = steps.iter().filter(|s| s.manual).count();
        (changed, compliant, manual)
    }

    fn status_text(&self, step: &StepReport) -> String {
        let dry = self.run.dry_run;
        if step.manual {
            return "for you to do: rdpfix never runs a manual step".into();
        }
        match &step.status {
            StepStatus::Compliant if dry => "already as wanted: will be skipped".into(),
            StepStatus::Compliant => "already as wanted: skipped".into(),
            StepStatus::Info if dry => "read only: changes nothing".into(),
            StepStatus::Info => "done (read only)".into(),
            StepStatus::Changed if dry => "WOULD CHANGE".into(),
            StepStatus::Changed => "CHANGED".into(),
            StepStatus::Failed { error } if dry => format!("WOULD FAIL: {error}"),
            StepStatus::Failed { error } => format!("FAILED: {error}"),
            StepStatus::Undone => "changed, then UNDONE".into(),
            StepStatus::UndoFailed { error } => format!("UNDO FAILED: {error}"),
            StepStatus::NotReached => "not reached".into(),
        }
    }

    fn verdict(&self) -> String {
        let id = &self.plan.plan_id;
        let offline = if self.offline.is_some() {
            "--offline auto "
        } else {
            ""
        };
        let (changed, compliant, manual) = self.counts();
        let drops = self
            .run
            .steps
            .iter()
            .any(|s| s.drops_rdp_sessions && !s.manual && s.status == StepStatus::Changed);
        let manual_note = if manual > 0 {
            format!("; {manual} manual step(s) for you to do")
        } else {
            String::new()
        };
        // Commands stand on their own lines, so wrapping never splits one.
        match (self.run.outcome, self.consent) {
            (RunOutcome::WouldApply, Consent::Needed) => format!(
                "CONSENT NEEDED: nothing was changed. Review the dry-run above, then run:\n  \
                 fixer apply {offline}--yes <plan>{}\n",
                if drops && self.confirm_within.is_none() {
                    "\nOver RDP? Add --confirm-within 10 to roll back unless you confirm."
                } else {
                    ""
                }
            ),
            (RunOutcome::WouldApply, Consent::Declined) => {
                "DECLINED: nothing was changed.\n".to_owned()
            }
            (RunOutcome::WouldApply, _) if changed == 0 && manual == self.run.steps.len() => {
                format!(
                    "NOTHING FOR RDPFIX TO CHANGE: plan {id} holds only manual steps, for you \
                     to do (above).\n"
                )
            }
            (RunOutcome::WouldApply, _) if changed == 0 => {
                format!("NOTHING TO DO: the machine already is as plan {id} wants{manual_note}.\n")
            }
            (RunOutcome::WouldApply, _) => format!(
                "DRY RUN: {changed} step(s) would change, {compliant} already as \
                 wanted{manual_note}. Nothing was changed. To apply:\n  \
                 fixer apply {offline}--yes <plan>\n"
            ),
            (RunOutcome::Applied, _) if self.offline.as_ref().is_some_and(|o| !o.ready()) => {
                format!(
                    "APPLIED plan {id} to the loaded hives, but the disk is NOT READY to go \
                     back to its VM (the WARNING above says why): do not swap it in. Unload \
                     what is still loaded (its command is above), or undo the plan:\n  \
                     fixer rollback {id}\n"
                )
            }
            (RunOutcome::Applied, _) if self.offline.is_some() => format!(
                "APPLIED plan {id} to the attached disk: {changed} step(s) changed, \
                 {compliant} already as wanted{manual_note}. Check it, then give the disk back \
                 to its VM (az vm repair restore) and connect over RDP. To undo before that:\n  \
                 fixer rollback {id}\n"
            ),
            (RunOutcome::Applied, _) => format!(
                "APPLIED plan {id}: {changed} step(s) changed, {compliant} already as \
                 wanted{manual_note}. Connect over RDP now. To undo:\n  \
                 fixer rollback {id}\n"
            ),
            (RunOutcome::AwaitingConfirm, _) => format!(
                "APPLIED plan {id}, AWAITING CONFIRMATION: it rolls back at {} unless you \
                 run:\n  \
                 fixer confirm {id}\n",
                self.run
                    .confirm_by
                    .map_or_else(|| "?".to_owned(), |t| t.to_string())
            ),
            (RunOutcome::Refused, _) => format!(
                "REJECTED by check 10 ({}): {}\nNothing was changed.\n",
                check_name(10),
                self.run.error.clone().unwrap_or_default()
            ),
            (RunOutcome::RolledBack, _) => format!(
                "ROLLED BACK plan {id}: {}; every completed step was undone, the machine is \
                 as before.\n",
                self.run.error.clone().unwrap_or_default()
            ),
            (RunOutcome::RollbackIncomplete, _) => format!(
                "ROLLBACK INCOMPLETE for plan {id}: {}. Some changes could not be undone: \
                 see the steps above, fix the cause, then run:\n  \
                 fixer rollback {id}\n",
                self.run.error.clone().unwrap_or_default()
            ),
        }
    }
}

impl Report for ApplyReport {
    fn exit(&self) -> Exit {
        match (self.run.outcome, self.consent) {
            (RunOutcome::WouldApply, Consent::Needed | Consent::Declined) => Exit::ConsentNeeded,
            // An offline apply whose hives are still loaded, or whose files do not hold
            // the change: the disk must not be swapped in.
            (RunOutcome::Applied, _) if self.offline.as_ref().is_some_and(|o| !o.ready()) => {
                Exit::Failure
            }
            (RunOutcome::WouldApply | RunOutcome::Applied | RunOutcome::AwaitingConfirm, _) => {
                Exit::Success
            }
            (RunOutcome::Refused, _) => Exit::Rejected,
            (RunOutcome::RolledBack, _) => Exit::RolledBack,
            (RunOutcome::RollbackIncomplete, _) => Exit::RollbackIncomplete,
        }
    }

    /// The plan, then each step (what it is now, what the plan wants, what happened), then
    /// the verdict and what to do next — last, so Run Command's 4 KB tail keeps it.
    fn text(&self) -> String {
        let mut out = String::new();
        if self.run.dry_run {
            out.push_str("DRY RUN (nothing is changed)\n");
        }
        out.push_str(&self.plan.header());
        for s in &self.run.steps {
            let view = self.plan.steps.iter().find(|v| v.index == s.index);
            let tag = view.map(|v| label_tag(&v.labels)).unwrap_or_default();
            out.push_str(&wrap(
                &format!("{} {tag}", s.summary),
                &format!("{:>2} ", s.index),
                "   ",
            ));
            if s.status != StepStatus::NotReached && !s.manual {
                out.push_str(&wrap(&s.current, "   now:  ", "         "));
                out.push_str(&wrap(&s.desired, "   want: ", "         "));
            }
            if let Some(touches) = objects_text(&s.objects) {
                out.push_str(&wrap(&touches, "   on:   ", "         "));
            }
            for left in &s.left_alone {
                out.push_str(&wrap(left, "   LEFT ALONE: ", "     "));
            }
            out.push_str(&wrap(&self.status_text(s), "   -> ", "      "));
        }
        if let Some(error) = &self.run.error
            && matches!(
                self.run.outcome,
                RunOutcome::Applied | RunOutcome::AwaitingConfirm
            )
        {
            out.push_str(&wrap(error, "WARNING: ", "  "));
        }
        if let Some(o) = &self.offline {
            out.push_str(&o.text());
        }
        for line in self.verdict().lines() {
            let body = line.trim_start();
            let indent = line.get(..line.len() - body.len()).unwrap_or_default();
            out.push_str(&wrap(body, indent, "  "));
        }
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("ok".into(), (self.exit() == Exit::Success).into());
            o.insert("exit".into(), self.exit().code().into());
            // `run.steps` has each step's summary, labels that matter and outcome: the
            // plan's own list would only repeat it past Run Command's 4,096 bytes.
            if let Some(plan) = o.get_mut("plan").and_then(|p| p.as_object_mut()) {
                plan.remove("steps");
            }
        }
        // A dry-run lists every write it would make; when that list would push the JSON
        // past Run Command's tail, it is counted instead (each step's current -> desired
        // says the same in words).
        let too_long = serde_json::to_string(&v).map_or(0, |t| t.len()) >= JSON_BUDGET;
        if too_long
            && let Some(run) = v.get_mut("run").and_then(|r| r.as_object_mut())
            && let Some(changes) = run.remove("changes")
        {
            let count = changes.as_array().map_or(0, Vec::len);
            run.insert("changes_not_listed".into(), count.into());
        }
        v
    }
}
