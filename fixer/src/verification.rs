//! Checks 1–9 of SIGNED-PLANS.md on this machine: `analyzer::envelope::verify` makes every
//! decision; this module only plugs in what the host knows — the trust store (check 3), this
//! computer's names (6), its clock (7) and the journal (8).
//!
//! Nothing here changes the machine. The trust store and the journal are read only after
//! the state directory passed its safety check: a key or a journal that someone other than
//! SYSTEM or Administrators could have written decides nothing.

use crate::executor::{PlannedStep, Runnable};
use crate::host::{Host, HostError};
use crate::journal::{self, Begin, JournalError, PlanRecord, PlanState};
use crate::state_dir::{self, JOURNAL_DIR, StateDirError};
use crate::trust::{TrustError, TrustStore};
use analyzer::envelope::{
    self, DEFAULT_CLOCK_SKEW, ExecutablePlan, Fingerprint, Rejection, ReplayJournal,
};
use analyzer::plan::{ComputerName, PlanId};
use jiff::Timestamp;

/// Why a plan could not be checked at all (as opposed to being rejected by a check).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Host(#[from] HostError),
}

/// What the journal says about earlier plans, for check 8.
///
/// Every plan in this machine's journal passed check 6 for this machine, so `seq` is
/// compared across all of them signed by the same key, whichever of the machine's names
/// (NetBIOS or FQDN) they used.
#[derive(Debug, Clone, Default)]
pub struct JournalIndex {
    plans: Vec<PlanRecord>,
    /// Journal folders, including one a crash left without its first record.
    folders: Vec<String>,
}

impl JournalIndex {
    pub fn load(host: &dyn Host) -> Result<Self, JournalError> {
        Ok(JournalIndex {
            plans: journal::load_all(host)?,
            folders: host.state_list(JOURNAL_DIR)?,
        })
    }

    pub fn plans(&self) -> &[PlanRecord] {
        &self.plans
    }

    /// Plans that block another apply: stopped mid-way, or waiting for `fixer confirm`.
    pub fn blocking(&self) -> Vec<&PlanRecord> {
        self.plans
            .iter()
            .filter(|p| matches!(p.state, PlanState::Unfinished | PlanState::AwaitingConfirm))
            .collect()
    }
}

impl ReplayJournal for JournalIndex {
    fn has_plan(&self, plan_id: &PlanId) -> bool {
        let id = plan_id.to_string();
        self.folders.iter().any(|f| f.eq_ignore_ascii_case(&id))
            || self.plans.iter().any(|p| p.begin.plan_id == id)
    }

    fn last_seq(&self, key: &Fingerprint, _computer: &ComputerName) -> Option<u64> {
        let key = key.to_string();
        self.plans
            .iter()
            .filter(|p| p.begin.key_fingerprint == key)
            .map(|p| p.begin.seq)
            .max()
    }
}

/// A plan that passed checks 1–9 here, with what the executor and the reports need.
#[derive(Debug, Clone)]
pub struct Verified {
    pub plan: ExecutablePlan,
    /// The envelope as DSSE JSON, kept in the journal as the record of what ran.
    pub envelope_json: String,
    /// The journal as it was when the plan was checked.
    pub journal: JournalIndex,
    pub checked_at: Timestamp,
}

impl Verified {
    /// The plan as the executor runs it, with the journal's `begin` record.
    pub fn runnable(&self, at: Timestamp) -> Runnable {
        let plan = self.plan.plan();
        let steps: Vec<PlannedStep> = self.plan.steps().iter().map(PlannedStep::new).collect();
        Runnable {
            begin: Begin {
                plan_id: plan.plan_id.to_string(),
                key_fingerprint: self.plan.signer_fingerprint().to_string(),
                key_label: self.plan.signer().label.clone(),
                computer: plan.target.computer.to_string(),
                seq: plan.seq,
                at,
                steps: steps.iter().map(|s| s.summary.clone()).collect(),
                confirm_by: None,
            },
            envelope: self.envelope_json.clone().into_bytes(),
            steps,
        }
    }
}

/// Runs checks 1–9 on `input` (a fix token, a fix command or a plan file's bytes).
/// `Ok(Err(rejection))`: the plan was refused by a check; `Err`: it could not be checked.
pub fn verify(host: &dyn Host, input: &[u8]) -> Result<Result<Verified, Rejection>, VerifyError> {
    // The store is read only from a safe state directory (exit 6 otherwise), before any
    // byte of the plan is looked at.
    state_dir::check(host)?;
    let store = TrustStore::load(host)?;
    let journal = JournalIndex::load(host)?;
    let names = host.computer_names()?;
    let now = host.now();
    let this_machine = [names.netbios.as_str(), names.dns_fqdn.as_str()];
    let plan = match envelope::verify(input, &store, &this_machine, now, &journal) {
        Ok(plan) => plan,
        Err(rejection) => return Ok(Err(rejection)),
    };
    // Decoding again cannot fail after it succeeded once; the JSON form is what the journal
    // keeps whether the plan came as a token or a file.
    let envelope_json = envelope::receive(input)
        .map(|r| r.envelope().to_json())
        .unwrap_or_default();
    Ok(Ok(Verified {
        plan,
        envelope_json,
        journal,
        checked_at: now,
    }))
}

/// Check 7 again, for a plan whose consent took a while: it must still be fresh when it runs.
pub fn still_fresh(verified: &Verified, now: Timestamp) -> Result<(), Rejection> {
    envelope::check_freshness(verified.plan.plan(), now, DEFAULT_CLOCK_SKEW)
}
