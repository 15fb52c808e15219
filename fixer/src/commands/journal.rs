//! `fixer journal`, `fixer rollback <plan_id>`, `fixer confirm <plan_id>`.

use super::apply::disk_err;
use super::{CommandError, CommandResult};
use crate::executor::{self, ConfirmError, RollbackError, RollbackOutcome, RollbackReport};
use crate::exit::Exit;
use crate::host::offline::{self, Loaded, OfflineHost, OfflineRecord, StillLoaded};
use crate::host::{Host, MachineLock};
use crate::journal::{self, JournalError, PlanState};
use crate::report::{Report, ascii_lines, ascii_safe};
use crate::state_dir;
use crate::verification::{self, AppliedOffline};
use analyzer::plan::{MachineGuid, OfflineTarget};
use jiff::Timestamp;
use serde::Serialize;
use std::time::Duration;

fn journal_err(e: JournalError) -> CommandError {
    match e {
        JournalError::Host(h) => h.into(),
        other => CommandError::new(Exit::Failure, other),
    }
}

#[derive(Debug, Serialize)]
struct PlanLine {
    plan_id: String,
    state: PlanState,
    at: Timestamp,
    key: String,
    seq: u64,
    steps: usize,
    confirm_by: Option<Timestamp>,
    /// An offline plan: the disk it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    disk: Option<OfflineRecord>,
}

#[derive(Debug, Serialize)]
struct JournalReport {
    plans: Vec<PlanLine>,
}

pub fn list(host: &dyn Host) -> CommandResult {
    state_dir::check(host)?;
    let plans = journal::load_all(host).map_err(journal_err)?;
    Ok(Box::new(JournalReport {
        plans: plans
            .into_iter()
            .map(|p| PlanLine {
                plan_id: p.begin.plan_id.clone(),
                state: p.state,
                at: p.begin.at,
                key: p.begin.key_label.clone(),
                seq: p.begin.seq,
                steps: p.begin.steps.len(),
                confirm_by: p.begin.confirm_by,
                disk: p.begin.offline.clone(),
            })
            .collect(),
    }))
}

fn state_text(s: PlanState) -> &'static str {
    match s {
        PlanState::Applied => "applied",
        PlanState::AwaitingConfirm => "AWAITING CONFIRM",
        PlanState::RolledBack => "rolled back",
        PlanState::RollbackIncomplete => "ROLLBACK INCOMPLETE",
        PlanState::Unfinished => "UNFINISHED",
    }
}

impl Report for JournalReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.plans {
            out.push_str(&format!("{}  {}\n", p.plan_id, state_text(p.state)));
            out.push_str(&format!(
                "  {}  key \"{}\" seq {}  {} step(s)\n",
                p.at,
                ascii_safe(&p.key),
                p.seq,
                p.steps
            ));
            if let Some(d) = &p.disk {
                out.push_str(&format!(
                    "  offline: the disk at {} (MachineGuid {}, ControlSet{:03})\n",
                    ascii_safe(&d.root),
                    ascii_safe(&d.machine_guid),
                    d.control_set
                ));
            }
        }
        let attention: Vec<&PlanLine> = self
            .plans
            .iter()
            .filter(|p| {
                matches!(
                    p.state,
                    PlanState::Unfinished
                        | PlanState::RollbackIncomplete
                        | PlanState::AwaitingConfirm
                )
            })
            .collect();
        out.push_str(&format!("{} plan(s) in the journal.\n", self.plans.len()));
        for p in attention {
            match p.state {
                PlanState::AwaitingConfirm => out.push_str(&format!(
                    "CONFIRM by {}: fixer confirm {} (else it rolls back)\n",
                    p.confirm_by.map_or_else(|| "?".into(), |t| t.to_string()),
                    p.plan_id
                )),
                _ => out.push_str(&format!("ACTION: fixer rollback {}\n", p.plan_id)),
            }
        }
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Report for RollbackReport {
    fn exit(&self) -> Exit {
        match self.outcome {
            RollbackOutcome::Incomplete => Exit::RollbackIncomplete,
            _ => Exit::Success,
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        if let Some(bytes) = self.torn_tail_removed {
            out.push_str(&format!(
                "journal: its last line was cut short by a crash; those {bytes} bytes were \
                 removed first\n"
            ));
        }
        for s in &self.steps {
            out.push_str(&format!("step {}: {}\n", s.step, s.result));
        }
        out.push_str(&match self.outcome {
            RollbackOutcome::RolledBack => format!(
                "ROLLED BACK plan {}: every change it made is restored and reads back as \
                 before.\n",
                self.plan_id
            ),
            RollbackOutcome::NothingToDo => format!(
                "Nothing to roll back for plan {} (it changed nothing, or was rolled back).\n",
                self.plan_id
            ),
            RollbackOutcome::KeptConfirmed => {
                format!("Plan {} was confirmed: kept.\n", self.plan_id)
            }
            RollbackOutcome::Incomplete => format!(
                "ROLLBACK INCOMPLETE for plan {}: see the steps above and `fixer journal`.\n",
                self.plan_id
            ),
        });
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `offline`: for a plan applied to an attached disk, where the disk is now (`F:`), or
/// `auto`; such a plan is rolled back on its disk whether or not it is given (the journal
/// says which disk: found by its MachineGuid).
pub fn rollback(
    host: &dyn Host,
    plan_id: &str,
    unless_confirmed: bool,
    force: bool,
    offline: Option<&str>,
) -> CommandResult {
    state_dir::check(host)?;
    // The rollback task may fire while an apply still runs: it waits for it.
    let _lock = MachineLock::acquire(host, Duration::from_secs(120))?;
    let begin = journal::load(host, plan_id)
        .map_err(journal_err)?
        .map(|r| r.begin);
    if begin.is_none() {
        // A plan with no record may be an offline one whose run died between loading the
        // disk's hives and its first record: it changed nothing, but left them loaded.
        let id = plan_id
            .parse()
            .map_err(|e| CommandError::new(Exit::Usage, e))?;
        // Or what any run of this fixer left loaded.
        let mut owned = offline::unload_owned(host)?;
        for m in offline::unload_stale(host, &offline::Mounts::for_plan(&id))? {
            if !owned.unloaded.contains(&m) {
                owned.unloaded.push(m);
            }
        }
        if !owned.unloaded.is_empty() || !owned.still_loaded.is_empty() {
            return Ok(Box::new(StaleUnloaded {
                plan_id: plan_id.to_owned(),
                unloaded: owned.unloaded,
                still_loaded: owned.still_loaded,
            }));
        }
    }
    let on_disk = begin
        .as_ref()
        .and_then(|b| b.offline.clone().map(|o| (b, o)));
    let report = match (on_disk, offline) {
        (None, Some(_)) => {
            return Err(CommandError::new(
                Exit::Usage,
                anyhow::anyhow!(
                    "plan {plan_id} was applied to this running machine, not to an attached \
                     disk: run fixer rollback {plan_id} without --offline"
                ),
            ));
        }
        (None, None) => executor::rollback(host, plan_id, unless_confirmed, force),
        (Some((begin, record)), given) => {
            return rollback_offline(host, begin, &record, given.unwrap_or("auto"), force);
        }
    };
    match report {
        Ok(r) => Ok(Box::new(r)),
        Err(e) => Err(rollback_err(e)),
    }
}

fn rollback_err(e: RollbackError) -> CommandError {
    match e {
        RollbackError::NoSuchPlan(id) => {
            CommandError::new(Exit::Failure, RollbackError::NoSuchPlan(id))
        }
        RollbackError::Journal(e) => journal_err(e),
        RollbackError::Host(h) => h.into(),
    }
}

/// An offline plan's rollback: whatever a run that died left loaded is unloaded first (so
/// its changes are in the files), the disk is checked to be the one the journal names,
/// its hives are loaded under the recorded mounts, the steps undone, the hives unloaded.
fn rollback_offline(
    host: &dyn Host,
    begin: &journal::Begin,
    record: &OfflineRecord,
    given: &str,
    force: bool,
) -> CommandResult {
    let plan_id = begin.plan_id.as_str();
    let owned = offline::unload_owned(host)?;
    let mut stale = owned.unloaded;
    for m in offline::unload_stale(host, &record.mounts)? {
        if !stale.contains(&m) {
            stale.push(m);
        }
    }
    let guid = MachineGuid::from_registry(&record.machine_guid).ok();
    let disk = offline::find_disk(host, given, guid.as_ref()).map_err(disk_err)?;
    if MachineGuid::from_registry(&disk.machine_guid).ok() != guid {
        return Err(CommandError::new(
            Exit::Failure,
            anyhow::anyhow!(
                "plan {plan_id} changed the disk with MachineGuid {}; {} is another: \
                 nothing was changed",
                record.machine_guid,
                verification::disk_text(&disk)
            ),
        ));
    }
    // The values were written in the control set the plan named, whatever Select\Current
    // says now.
    let target = guid
        .and_then(|g| OfflineTarget::new(g, record.control_set).ok())
        .ok_or_else(|| {
            CommandError::new(
                Exit::Failure,
                anyhow::anyhow!(
                    "the journal of plan {plan_id} names no valid disk (MachineGuid {}, \
                     control set {}): nothing was changed",
                    record.machine_guid,
                    record.control_set
                ),
            )
        })?;
    let loaded = Loaded::load(host, &disk, &record.mounts)
        .map_err(|e| CommandError::new(Exit::RollbackIncomplete, anyhow::anyhow!("{e}")))?;
    let on_disk = OfflineHost::loaded(host, &disk, target, &record.mounts);
    let report = executor::rollback(&on_disk, plan_id, false, force);
    let mut still_loaded = loaded.unload();
    still_loaded.extend(owned.still_loaded);
    let report = report.map_err(rollback_err)?;
    // What the swap depends on is the files: they must read back whole and clean.
    let read_back = still_loaded
        .is_empty()
        .then(|| offline::Disk::read(host, &disk.root).err())
        .flatten()
        .map(|e| format!("the hive files cannot be read back after the unload: {e}"));
    let recorded = verification::record_applied(
        host,
        &disk,
        &AppliedOffline {
            plan_id: plan_id.to_owned(),
            key_fingerprint: begin.key_fingerprint.clone(),
            seq: begin.seq,
            computer: disk.computer.clone(),
            at: host.now(),
            outcome: format!("rollback: {:?}", report.outcome).to_lowercase(),
        },
    )
    .err()
    .map(|e| e.to_string());
    Ok(Box::new(OfflineRollback {
        disk: verification::disk_text(&disk),
        stale_unloaded: stale,
        still_loaded,
        read_back,
        record_error: recorded,
        report,
    }))
}

/// A plan with no record here: the hives a run that stopped had left loaded (its own, or
/// any this fixer listed in `offline-loaded.json`) were unloaded.
#[derive(Debug, Serialize)]
struct StaleUnloaded {
    plan_id: String,
    unloaded: Vec<String>,
    still_loaded: Vec<StillLoaded>,
}

impl Report for StaleUnloaded {
    fn exit(&self) -> Exit {
        if self.still_loaded.is_empty() {
            Exit::Success
        } else {
            Exit::RollbackIncomplete
        }
    }

    fn text(&self) -> String {
        let mut out = format!(
            "Nothing to roll back for plan {}: no journal here names it (a run that stops \
             before its first record has changed nothing).\n",
            self.plan_id
        );
        if !self.unloaded.is_empty() {
            out.push_str(&format!(
                "Disk hives a run that stopped had left loaded were unloaded: HKLM\\{}.\n",
                self.unloaded.join(", HKLM\\")
            ));
        }
        if !self.still_loaded.is_empty() {
            out.push_str(&format!(
                "WARNING: NOT UNLOADED: {}\n",
                StillLoaded::text(&self.still_loaded)
            ));
        }
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// A rollback on an attached disk.
#[derive(Debug, Serialize)]
struct OfflineRollback {
    disk: String,
    /// Mounts a run that died had left loaded, unloaded first.
    stale_unloaded: Vec<String>,
    still_loaded: Vec<StillLoaded>,
    /// After the unload, why the hive files cannot be read back (dirty, damaged).
    read_back: Option<String>,
    record_error: Option<String>,
    report: RollbackReport,
}

impl Report for OfflineRollback {
    fn exit(&self) -> Exit {
        if self.still_loaded.is_empty() && self.read_back.is_none() {
            self.report.exit()
        } else {
            Exit::RollbackIncomplete
        }
    }

    fn text(&self) -> String {
        let mut out = format!("offline: {}\n", self.disk);
        for m in &self.stale_unloaded {
            out.push_str(&format!(
                "HKLM\\{m} was still loaded (the run that loaded it stopped): unloaded first\n"
            ));
        }
        out.push_str(&self.report.text());
        if !self.still_loaded.is_empty() {
            out.push_str(&format!(
                "WARNING: NOT UNLOADED: {}\n",
                StillLoaded::text(&self.still_loaded)
            ));
        }
        if let Some(e) = &self.read_back {
            out.push_str(&format!(
                "WARNING: NOT IN THE FILES: {e}; do not swap the disk in\n"
            ));
        }
        if let Some(e) = &self.record_error {
            out.push_str(&format!(
                "WARNING: the rollback could not be recorded on the disk ({e})\n"
            ));
        }
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[derive(Debug, Serialize)]
struct ConfirmReport {
    plan_id: String,
    confirmed_at: Timestamp,
}

impl Report for ConfirmReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        ascii_lines(&format!(
            "CONFIRMED plan {}: it stays applied; the timed rollback is cancelled.\n",
            self.plan_id
        ))
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

pub fn confirm(host: &dyn Host, plan_id: &str) -> CommandResult {
    state_dir::check(host)?;
    let _lock = MachineLock::acquire(host, Duration::from_secs(30))?;
    match executor::confirm(host, plan_id) {
        Ok(at) => Ok(Box::new(ConfirmReport {
            plan_id: plan_id.into(),
            confirmed_at: at,
        })),
        Err(ConfirmError::Journal(e)) => Err(journal_err(e)),
        Err(ConfirmError::Host(h)) => Err(h.into()),
        Err(e) => Err(CommandError::new(Exit::Failure, e)),
    }
}
