//! Checks 1–9 of SIGNED-PLANS.md on this machine: `analyzer::envelope::verify` makes every
//! decision; this module only plugs in what the host knows — the trust store (check 3), this
//! computer's names (6), its clock (7) and the journal (8).
//!
//! Nothing here changes the machine. The trust store and the journal are read only after
//! the state directory passed its safety check: a key or a journal that someone other than
//! SYSTEM or Administrators could have written decides nothing.

use crate::executor::{PlannedStep, Runnable};
use crate::host::offline::Disk;
use crate::host::{Host, HostError};
use crate::journal::{self, Begin, JournalError, PlanRecord, PlanState};
use crate::state_dir::{self, JOURNAL_DIR, StateDirError};
use crate::trust::{TrustError, TrustStore};
use analyzer::envelope::{
    self, DEFAULT_CLOCK_SKEW, ExecutablePlan, Fingerprint, Rejection, ReplayJournal,
};
use analyzer::plan::allowlist::EscapedText;
use analyzer::plan::{ComputerName, MachineGuid, Plan, PlanId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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
/// (NetBIOS or FQDN) they used. Plans applied to this machine's disk while it was attached
/// to a rescue VM count too ([`OFFLINE_APPLIED`]).
#[derive(Debug, Clone, Default)]
pub struct JournalIndex {
    plans: Vec<PlanRecord>,
    /// Journal folders, including one a crash left without its first record.
    folders: Vec<String>,
    /// Plans applied offline to this Windows' disk, as recorded on it (in the state
    /// directory, or in a disk's folder that passed the same judgement).
    offline: Vec<AppliedOffline>,
    /// Plan ids a disk's record names whose folder did not pass it: counted as applied,
    /// their sequence numbers never (a user of the broken VM could have written them).
    offline_ids: Vec<String>,
}

/// The file in the state directory (`%ProgramData%\rdpfix`) — written on the disk by a
/// fixer on a rescue VM — that lists the plans applied to the disk offline, one JSON line
/// each: what check 8 on the running VM (or another rescue VM) reads.
pub const OFFLINE_APPLIED: &str = "offline-applied.jsonl";

/// One line of [`OFFLINE_APPLIED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedOffline {
    pub plan_id: String,
    pub key_fingerprint: String,
    pub seq: u64,
    pub computer: String,
    pub at: Timestamp,
    /// `applied`, `rolled-back`, … as the run ended.
    pub outcome: String,
}

/// The lines of an [`OFFLINE_APPLIED`] file that parse (a damaged one is skipped: it can
/// only make check 8 stricter by its absence being noticed elsewhere, never looser than
/// the journal itself).
pub fn parse_applied(bytes: &[u8]) -> Vec<AppliedOffline> {
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect()
}

impl JournalIndex {
    pub fn load(host: &dyn Host) -> Result<Self, JournalError> {
        Ok(JournalIndex {
            plans: journal::load_all(host)?,
            folders: host.state_list(JOURNAL_DIR)?,
            offline: parse_applied(&host.state_read(OFFLINE_APPLIED)?.unwrap_or_default()),
            offline_ids: Vec::new(),
        })
    }

    /// Adds the plans an attached disk says were applied to it: whole when its record's
    /// folder was judged safe, else their plan ids only.
    pub fn with_offline(mut self, applied: DiskRecord) -> Self {
        if applied.trusted {
            self.offline.extend(applied.plans);
        } else {
            self.offline_ids
                .extend(applied.plans.into_iter().map(|p| p.plan_id));
        }
        self
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
            || self
                .offline
                .iter()
                .map(|p| &p.plan_id)
                .chain(&self.offline_ids)
                .any(|p| p.eq_ignore_ascii_case(&id))
    }

    fn last_seq(&self, key: &Fingerprint, _computer: &ComputerName) -> Option<u64> {
        let key = key.to_string();
        self.plans
            .iter()
            .filter(|p| p.begin.key_fingerprint == key)
            .map(|p| p.begin.seq)
            .chain(
                self.offline
                    .iter()
                    .filter(|p| p.key_fingerprint == key)
                    .map(|p| p.seq),
            )
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
                offline: None,
            },
            envelope: self.envelope_json.clone().into_bytes(),
            steps,
        }
    }
}

/// What check 6 compares the plan's target with.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// This machine, running.
    Running,
    /// The OS disk of another VM, attached here (`--offline`).
    Disk(&'a Disk),
}

/// Runs checks 1–9 on `input` (a fix token, a fix command or a plan file's bytes) for this
/// running machine. `Ok(Err(rejection))`: the plan was refused by a check; `Err`: it could
/// not be checked.
pub fn verify(host: &dyn Host, input: &[u8]) -> Result<Result<Verified, Rejection>, VerifyError> {
    verify_for(host, input, Target::Running)
}

/// Checks 1–9 for `target`: for a disk, check 6 compares the plan's computer with the
/// disk's `ComputerName`, and its offline target with the disk's MachineGuid and
/// `Select\Current`; a plan for a running machine is refused for a disk and the other way
/// round. Check 8 reads this machine's journal and, for a disk, what the disk records.
pub fn verify_for(
    host: &dyn Host,
    input: &[u8],
    target: Target<'_>,
) -> Result<Result<Verified, Rejection>, VerifyError> {
    // The store is read only from a safe state directory (exit 6 otherwise), before any
    // byte of the plan is looked at.
    state_dir::check(host)?;
    let store = TrustStore::load(host)?;
    let mut journal = JournalIndex::load(host)?;
    let names = match target {
        Target::Running => {
            let n = host.computer_names()?;
            vec![n.netbios, n.dns_fqdn]
        }
        Target::Disk(disk) => {
            journal = journal.with_offline(applied_on(host, disk)?);
            vec![disk.computer.clone()]
        }
    };
    let now = host.now();
    let checked = envelope::receive(input)
        .and_then(|r| r.check_payload_type())
        .and_then(|t| t.check_key(&store, now))
        .and_then(|k| k.verify_signature())
        .and_then(|s| s.parse())
        // Check 6: first whether the plan is for a disk or a running machine (its
        // computer's name alone would not say which to do instead), then the name.
        .and_then(|p| check_offline(p.plan(), target, &names).map(|()| p))
        .and_then(|p| p.check_computer(names.iter().map(String::as_str)))
        .and_then(|c| c.check_freshness(now, DEFAULT_CLOCK_SKEW))
        .and_then(|f| f.check_replay(&journal))
        .and_then(|r| r.check_allowlist());
    let plan = match checked {
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

/// What a disk records of the plans applied to it offline.
#[derive(Debug, Clone, Default)]
pub struct DiskRecord {
    pub plans: Vec<AppliedOffline>,
    /// Its folder (`ProgramData\rdpfix` of the disk) passed `safe_folder::audit`: only
    /// SYSTEM and Administrators could have written it, so its sequence numbers count.
    pub trusted: bool,
}

/// The plans the disk records as applied to it offline (none when it records none), and
/// whether its folder is judged safe.
pub fn applied_on(host: &dyn Host, disk: &Disk) -> Result<DiskRecord, HostError> {
    let path = applied_path(disk);
    let plans = match host.disk_read(&path, 16 << 20) {
        Ok(bytes) => parse_applied(&bytes),
        Err(HostError::NotFound { .. }) => return Ok(DiskRecord::default()),
        Err(e) => return Err(e),
    };
    let trusted = matches!(crate::safe_folder::audit(host, &record_dir(disk)), Ok(true));
    Ok(DiskRecord { plans, trusted })
}

/// Adds `line` to the disk's [`OFFLINE_APPLIED`] (its state directory made as the fixer
/// makes its own, admin-only, when it is missing), so a fixer on the running VM, or on
/// another rescue VM, refuses the plan again (check 8).
pub fn record_applied(
    host: &dyn Host,
    disk: &Disk,
    line: &AppliedOffline,
) -> Result<(), HostError> {
    let path = applied_path(disk);
    // Read first: the folders on the way are checked for links before one is made.
    let mut bytes = match host.disk_read(&path, 16 << 20) {
        Ok(b) => b,
        Err(HostError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    // Made for SYSTEM and Administrators only, or judged so: a folder a user of the broken
    // VM made (anyone may create one in ProgramData) is not written to.
    let dir = record_dir(disk);
    crate::safe_folder::ensure(host, &dir).map_err(|e| match e {
        crate::safe_folder::FolderError::Host(h) => h,
        unsafe_ => HostError::refused(dir.display().to_string(), unsafe_.to_string()),
    })?;
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes.extend(serde_json::to_vec(line).unwrap_or_default());
    bytes.push(b'\n');
    host.disk_write(&path, &bytes)
}

/// Where a disk records the plans applied to it offline: its state directory's
/// [`OFFLINE_APPLIED`].
pub fn applied_path(disk: &Disk) -> std::path::PathBuf {
    crate::host::offline::on_disk(
        &disk.root,
        &format!(r"ProgramData\rdpfix\{OFFLINE_APPLIED}"),
    )
}

/// The disk's state directory (`ProgramData\rdpfix`), spelt with `\` in every build (the
/// simulated disk's paths are Windows paths on Linux too, where `Path::parent` would not
/// find it).
fn record_dir(disk: &Disk) -> std::path::PathBuf {
    crate::host::offline::on_disk(&disk.root, r"ProgramData\rdpfix")
}

/// Check 6's second half: a plan for a disk runs only on that disk (`--offline`), one for
/// a running machine only there.
fn check_offline(plan: &Plan, target: Target<'_>, names: &[String]) -> Result<(), Rejection> {
    let wrong = |plan: String, this: String| Rejection::WrongComputer { plan, this };
    match (&plan.target.offline, target) {
        (None, Target::Running) => Ok(()),
        (Some(o), Target::Running) => Err(wrong(
            format!(
                "{} (its OS disk attached to a rescue VM, MachineGuid {}): run it there with \
                 fixer apply --offline auto",
                plan.target.computer, o.machine_guid
            ),
            format!("{} (running)", names.join(" / ")),
        )),
        (None, Target::Disk(disk)) => Err(wrong(
            format!(
                "{} (the running machine): run it there, without --offline",
                plan.target.computer
            ),
            disk_text(disk),
        )),
        (Some(o), Target::Disk(disk)) => {
            let planned = format!(
                "{} (MachineGuid {}, ControlSet{:03})",
                plan.target.computer, o.machine_guid, o.control_set
            );
            let guid = MachineGuid::from_registry(&disk.machine_guid).ok();
            if guid != Some(o.machine_guid) {
                return Err(wrong(planned, disk_text(disk)));
            }
            // `Current` is the set the last boot used; the boot loader starts the next one
            // from `Select\Default`. When they differ, changing either may change nothing
            // that boots: the admin chooses.
            if disk.boots_next != Some(disk.control_set) {
                return Err(wrong(
                    planned,
                    format!(
                        "{}, but its Select\\Default (the control set it boots next) is {}: \
                         which control set to change is for you to choose (reg load the \
                         SYSTEM hive and look at Select, or make Current and Default agree), \
                         so rdpfix changes neither",
                        disk_text(disk),
                        disk.boots_next
                            .map_or_else(|| "missing".to_owned(), |n| n.to_string())
                    ),
                ));
            }
            if disk.control_set != o.control_set {
                return Err(wrong(planned, disk_text(disk)));
            }
            Ok(())
        }
    }
}

/// The disk as check 6 names it.
pub fn disk_text(disk: &Disk) -> String {
    format!(
        "the disk at {}: {} (MachineGuid {}, Select\\Current {})",
        disk.root.display(),
        EscapedText::new(&disk.computer).0,
        EscapedText::new(&disk.machine_guid).0,
        disk.control_set
    )
}

/// Check 7 again, for a plan whose consent took a while: it must still be fresh when it runs.
pub fn still_fresh(verified: &Verified, now: Timestamp) -> Result<(), Rejection> {
    envelope::check_freshness(verified.plan.plan(), now, DEFAULT_CLOCK_SKEW)
}
