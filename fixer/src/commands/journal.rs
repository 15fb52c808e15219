//! `fixer journal`, `fixer rollback <plan_id>`, `fixer confirm <plan_id>`.

use super::{CommandError, CommandResult};
use crate::executor::{self, ConfirmError, RollbackError, RollbackOutcome, RollbackReport};
use crate::exit::Exit;
use crate::host::{Host, MachineLock};
use crate::journal::{self, JournalError, PlanState};
use crate::report::{Report, ascii_lines, ascii_safe};
use crate::state_dir;
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

pub fn rollback(
    host: &dyn Host,
    plan_id: &str,
    unless_confirmed: bool,
    force: bool,
) -> CommandResult {
    state_dir::check(host)?;
    // The rollback task may fire while an apply still runs: it waits for it.
    let _lock = MachineLock::acquire(host, Duration::from_secs(120))?;
    match executor::rollback(host, plan_id, unless_confirmed, force) {
        Ok(r) => Ok(Box::new(r)),
        Err(RollbackError::NoSuchPlan(id)) => Err(CommandError::new(
            Exit::Failure,
            RollbackError::NoSuchPlan(id),
        )),
        Err(RollbackError::Journal(e)) => Err(journal_err(e)),
        Err(RollbackError::Host(h)) => Err(h.into()),
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
