//! From findings to a plan: each finding's remediation steps (the rule catalog's, handed in
//! by the caller: this module knows no catalog), merged, ordered, checked against the
//! allowlist; the admin leaves out optional steps; the rest becomes the [`Plan`] to sign.

use super::allowlist::{AllowedStep, AllowlistError, AllowlistReason, EscapedText, check_step};
use super::ids::{AnalyzerVersion, FindingId, IdError, PlanId, Sha256Digest};
use super::offline::{LeftOutStep, OfflineForm};
use super::payload::{MAX_FINDINGS, MAX_STEPS, OfflineTarget, PLAN_VERSION, Plan, PlanTarget};
use super::step::{ManualAction, Step, StepKind};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One step of a rule's remediation, as the rule catalog (TOML) writes it:
///
/// ```toml
/// [[rule.remediation]]
/// why = "NETWORK SERVICE must read the RDP key to use the certificate"
/// step = { kind = "grant_access", target = '%ProgramData%\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_*', desired = [{ sid = "*S-1-5-18", rights = "full" }, { sid = "*S-1-5-20", rights = "read" }] }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationStep {
    pub step: Step,
    /// The admin may leave it out before signing.
    #[serde(default)]
    pub optional: bool,
    /// Why this step is part of the fix, for people.
    pub why: String,
}

impl RemediationStep {
    /// The catalog's validation: the step must be on the allowlist, and a step that lowers
    /// security (NLA or TLS off) must be optional: the admin chooses it, never the catalog.
    pub fn check(&self, index: usize) -> Result<AllowedStep, AllowlistError> {
        let step = check_step(index, &self.step)?;
        if step.labels().lowers_security && !self.optional {
            return Err(AllowlistError {
                index,
                kind: step.kind(),
                target: EscapedText::new(&self.step.target_text()),
                reason: AllowlistReason::LowersSecurityNotOptional,
            });
        }
        Ok(step)
    }
}

/// A proposed step: what the page lists, with a checkbox when `optional`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedStep {
    pub step: AllowedStep,
    pub optional: bool,
    /// The catalog's explanations, one per finding that proposed this step.
    pub why: Vec<String>,
    /// The findings that proposed it.
    pub findings: Vec<FindingId>,
    /// Whether it goes into the plan (always for required steps).
    pub included: bool,
}

/// The steps rdpfix proposes for a set of findings, before the admin's choice. It travels
/// from the page's analysis worker to the page as JSON; every step is checked against the
/// allowlist again as it is read back ([`AllowedStep`]'s serde form is its [`Step`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    findings: Vec<FindingId>,
    pub(super) steps: Vec<ProposedStep>,
    /// A proposal for an OS disk attached to a rescue VM ([`Proposal::for_offline`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) offline: bool,
    /// The steps [`Proposal::for_offline`] left out, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) left_out: Vec<LeftOutStep>,
}

/// Why a plan could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    #[error("the remediation of finding `{finding}` has a step that is not allowed: {source}")]
    NotAllowed {
        finding: String,
        source: AllowlistError,
    },
    #[error(transparent)]
    Id(#[from] IdError),
    #[error("step {0} is required and cannot be left out")]
    Required(usize),
    #[error("there is no step {0}")]
    NoSuchStep(usize),
    #[error("nothing to sign: every step was left out")]
    Empty,
    #[error("a plan holds at most {MAX_STEPS} steps and {MAX_FINDINGS} findings")]
    TooLarge,
    #[error("the plan would expire before it is issued: its lifetime must be positive")]
    Lifetime,
    #[error("{0}")]
    ControlSet(String),
    #[error(
        "a plan for an OS disk attached to a rescue VM is built from the proposal for that disk, and a plan for the running VM from the running VM's: choose the target and the proposal together"
    )]
    OfflineMismatch,
    #[error("no plan can be made for the attached disk: {0}")]
    NoOfflineTarget(String),
    #[error("step {index} ({kind}) has no form on an attached disk: {why}")]
    NoOfflineForm {
        index: usize,
        kind: StepKind,
        why: String,
    },
    #[error("finding `{0}` is not a rule of the catalog")]
    UnknownFinding(String),
    #[error("nothing to fix: the logs show none of the failures rdpfix knows")]
    NoFinding,
    #[error(
        "the logs name no computer, so a plan cannot say which VM it is for: export them with `wevtutil epl` or as XML, which keep it"
    )]
    NoComputer,
    #[error(
        "the logs come from {} computers ({}): a plan is for one VM; analyse one VM's logs at a time, or choose one of them",
        names.len(),
        names.join(", ")
    )]
    SeveralComputers { names: Vec<String> },
    #[error("the logs name no computer `{chosen}`; they name: {}", names.join(", "))]
    ComputerNotInLogs { chosen: String, names: Vec<String> },
    #[error(
        "`{0}` is not a computer name: give the name the VM calls itself, 1 to 15 letters, digits, `-` or `_` (or a DNS name: labels of 1 to 63 letters, digits or `-`, separated by dots)"
    )]
    NotAComputerName(String),
}

impl Proposal {
    /// Merges the remediation of each finding, in the order given (most likely first).
    ///
    /// A step proposed by several findings appears once: required if any finding requires
    /// it. Steps then run in phases — reads and backups, ownership and permissions,
    /// configuration, certificate deletion, service restarts (TermService before
    /// SessionEnv), manual steps — keeping the catalog's order within a phase, so a
    /// restart always follows every change it is meant to pick up.
    pub fn from_findings<'a>(
        findings: impl IntoIterator<Item = (&'a str, &'a [RemediationStep])>,
    ) -> Result<Proposal, BuildError> {
        let mut ids = Vec::new();
        let mut steps: Vec<ProposedStep> = Vec::new();
        for (finding, remediation) in findings {
            let id: FindingId = finding.parse()?;
            for (index, entry) in remediation.iter().enumerate() {
                let allowed = entry
                    .check(index)
                    .map_err(|source| BuildError::NotAllowed {
                        finding: id.to_string(),
                        source,
                    })?;
                if let Some(existing) = steps.iter_mut().find(|s| s.step == allowed) {
                    existing.optional &= entry.optional;
                    existing.included = true;
                    if !existing.why.contains(&entry.why) {
                        existing.why.push(entry.why.clone());
                    }
                    if !existing.findings.contains(&id) {
                        existing.findings.push(id.clone());
                    }
                } else {
                    steps.push(ProposedStep {
                        step: allowed,
                        optional: entry.optional,
                        why: vec![entry.why.clone()],
                        findings: vec![id.clone()],
                        included: true,
                    });
                }
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        steps.sort_by_key(|s| phase(&s.step));
        Ok(Proposal {
            findings: ids,
            steps,
            offline: false,
            left_out: Vec::new(),
        })
    }

    pub fn steps(&self) -> &[ProposedStep] {
        &self.steps
    }

    pub fn findings(&self) -> &[FindingId] {
        &self.findings
    }

    /// Defers to Group Policy: `held` names the values found under the policy key
    /// ([`TS_POLICY`](super::target::TS_POLICY)) on this machine — known only from a
    /// configuration snapshot, so the caller (the diagnosis) passes them, and passes none
    /// when it has no snapshot. Every registry step on a setting the policy key holds is
    /// replaced by the manual step that changes the GPO: a local value loses to the policy
    /// one, and a change to the policy key is reverted at the next refresh when a domain
    /// GPO wrote it. A step that writes the policy key itself stays: it is the documented
    /// way back in (the Azure article sets the policy value to 0), and the rules that
    /// propose it pair it with that manual step. Returns how many steps were replaced.
    /// Without a snapshot the steps stay, labelled "a domain Group Policy may revert this".
    pub fn defer_to_policy(&mut self, held: &[&str]) -> usize {
        let manual = AllowedStep::Manual {
            action: ManualAction::ReviewRemoteDesktopGroupPolicy,
        };
        let mut replaced = 0;
        let mut moved: Vec<ProposedStep> = Vec::new();
        self.steps.retain(|s| {
            let policy = match &s.step {
                AllowedStep::SetRegistryValue { value, .. }
                | AllowedStep::DeleteRegistryValue { value, .. }
                    if value.key() != super::target::TS_POLICY =>
                {
                    value.policy_name()
                }
                _ => None,
            };
            match policy {
                Some(name) if held.iter().any(|h| h.eq_ignore_ascii_case(name)) => {
                    replaced += 1;
                    let mut step = s.clone();
                    step.why = vec![format!(
                        "{name} is set under {}: Group Policy holds it, so a local change \
                         would be reverted or overridden; change the policy instead",
                        super::target::TS_POLICY
                    )];
                    moved.push(step);
                    false
                }
                _ => true,
            }
        });
        for m in moved {
            if let Some(existing) = self.steps.iter_mut().find(|s| s.step == manual) {
                existing.optional &= m.optional;
                for w in m.why {
                    if !existing.why.contains(&w) {
                        existing.why.push(w);
                    }
                }
                for f in m.findings {
                    if !existing.findings.contains(&f) {
                        existing.findings.push(f);
                    }
                }
            } else {
                self.steps.push(ProposedStep {
                    step: manual.clone(),
                    optional: m.optional,
                    why: m.why,
                    findings: m.findings,
                    included: true,
                });
            }
        }
        self.steps.sort_by_key(|s| phase(&s.step));
        replaced
    }

    /// Includes or leaves out optional step `index` (0-based, in [`Proposal::steps`] order).
    pub fn set_included(&mut self, index: usize, included: bool) -> Result<(), BuildError> {
        let step = self
            .steps
            .get_mut(index)
            .ok_or(BuildError::NoSuchStep(index + 1))?;
        if !step.optional && !included {
            return Err(BuildError::Required(index + 1));
        }
        step.included = included;
        Ok(())
    }

    /// The plan to sign: the included steps, in order, with the given identity and validity.
    pub fn to_plan(&self, params: &PlanParams) -> Result<Plan, BuildError> {
        if params.offline.is_some() != self.offline {
            return Err(BuildError::OfflineMismatch);
        }
        if self.offline
            && let Some((index, step, why)) = self
                .steps
                .iter()
                .filter(|s| s.included)
                .enumerate()
                .find_map(|(i, s)| match s.step.offline() {
                    OfflineForm::LeftOut { why } => Some((i, &s.step, why)),
                    _ => None,
                })
        {
            return Err(BuildError::NoOfflineForm {
                index: index + 1,
                kind: step.kind(),
                why: why.to_string(),
            });
        }
        let steps: Vec<Step> = self
            .steps
            .iter()
            .filter(|s| s.included)
            .map(|s| s.step.to_step())
            .collect();
        if steps.is_empty() {
            return Err(BuildError::Empty);
        }
        if steps.len() > MAX_STEPS || self.findings.len() > MAX_FINDINGS {
            return Err(BuildError::TooLarge);
        }
        if params.lifetime <= SignedDuration::ZERO {
            return Err(BuildError::Lifetime);
        }
        let expires_at = params
            .issued_at
            .checked_add(params.lifetime)
            .map_err(|_| BuildError::Lifetime)?;
        let offline = params
            .offline
            .map(|o| OfflineTarget::new(o.machine_guid, o.control_set))
            .transpose()
            .map_err(BuildError::ControlSet)?;
        Ok(Plan {
            v: PLAN_VERSION,
            plan_id: params.plan_id,
            issued_at: params.issued_at,
            expires_at,
            seq: params.seq,
            target: PlanTarget {
                computer: params.computer.parse()?,
                offline,
            },
            evidence_sha256: params.evidence_sha256,
            analyzer_version: AnalyzerVersion::current(),
            findings: self.findings.clone(),
            steps,
        })
    }
}

/// What a plan needs besides its steps. Time and randomness come from the caller:
/// `analyzer` has no clock and no random source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanParams {
    /// The `<Computer>` of the analysed logs.
    pub computer: String,
    pub evidence_sha256: Sha256Digest,
    /// From 16 random bytes: [`PlanId::from_random`].
    pub plan_id: PlanId,
    pub issued_at: Timestamp,
    /// How long the plan stays valid ([`DEFAULT_LIFETIME`] unless the admin chooses).
    pub lifetime: SignedDuration,
    /// Newer than any earlier plan for this computer signed with the same key: the page
    /// and the CLI use the issue time in milliseconds, which increases by itself.
    pub seq: u64,
    /// `Some`: a plan for this computer's OS disk attached to a rescue VM (its identity
    /// from its hives); `None`: for the running machine.
    pub offline: Option<OfflineTarget>,
}

/// A plan is for the incident at hand: one day.
pub const DEFAULT_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

impl PlanParams {
    /// The default `seq`: milliseconds since the Unix epoch at `issued_at` (0 before it).
    pub fn seq_for(issued_at: Timestamp) -> u64 {
        u64::try_from(issued_at.as_millisecond()).unwrap_or(0)
    }
}

/// Execution phase of a step; lower runs first. Services start and restart in
/// [`super::target::RdpService::start_order`], after every change they are meant to pick up.
fn phase(step: &AllowedStep) -> u8 {
    match step {
        AllowedStep::SaveAcl { .. } | AllowedStep::QueryRegistryValue { .. } => 0,
        AllowedStep::TakeOwnership { .. } => 1,
        AllowedStep::GrantAccess { .. } => 2,
        AllowedStep::SetRegistryValue { .. }
        | AllowedStep::DeleteRegistryValue { .. }
        | AllowedStep::EnableTlsServerProtocol { .. }
        | AllowedStep::SetServiceStart { .. }
        | AllowedStep::SetServiceAccount { .. }
        | AllowedStep::AddGroupMember { .. }
        | AllowedStep::GrantLogonRight { .. }
        | AllowedStep::RevokeLogonRight { .. }
        | AllowedStep::EnableFirewallRule { .. } => 3,
        AllowedStep::ExportDeleteCertificates { .. } => 4,
        AllowedStep::StartService { service } | AllowedStep::RestartService { service } => {
            10 + service.start_order()
        }
        AllowedStep::Manual { action } => match action {
            ManualAction::RestartComputer => 31,
            _ => 30,
        },
    }
}
