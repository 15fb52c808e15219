//! From a diagnosis to what a plan needs: the [`Proposal`] (the catalog's remediation of
//! every finding, most likely first) and the [`PlanParams`] (the computer the analysed logs
//! name, the digest of those inputs, the issue time, the plan id, the default lifetime and
//! `seq`). The page and `fixer plan` both build plans this way, so the same inputs, key and
//! time give the same signed payload, the random `plan_id` aside.

use super::Diagnosis;
use crate::plan::allowlist::EscapedText;
use crate::plan::{
    BuildError, ComputerName, DEFAULT_LIFETIME, PlanId, PlanParams, Proposal, RemediationStep,
    Sha256Digest,
};
use crate::rules::Catalog;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;

impl Proposal {
    /// The catalog's remediation of every finding of `diagnosis`, most likely first.
    /// A healthy diagnosis has nothing to fix: [`BuildError::NoFinding`].
    pub fn for_diagnosis(catalog: &Catalog, diagnosis: &Diagnosis) -> Result<Proposal, BuildError> {
        if diagnosis.findings.is_empty() {
            return Err(BuildError::NoFinding);
        }
        let mut remediation: Vec<(&str, Vec<RemediationStep>)> = Vec::new();
        for finding in &diagnosis.findings {
            // A finding of one cause carries every part's steps, under its own id; when the
            // configuration shows the cause, the steps only an event part proposes (reset
            // values the snapshot did not find off) become optional.
            let on_config = finding.parts.iter().any(|p| p.config);
            let parts: Vec<(&str, bool)> = if finding.parts.is_empty() {
                vec![(finding.id.as_str(), true)]
            } else {
                finding
                    .parts
                    .iter()
                    .map(|p| (p.id.as_str(), p.config || !on_config))
                    .collect()
            };
            for (id, as_written) in parts {
                let rule = catalog
                    .rule(id)
                    .ok_or_else(|| BuildError::UnknownFinding(EscapedText::new(id).0))?;
                let steps = rule
                    .remediation
                    .iter()
                    .map(|step| RemediationStep {
                        optional: step.optional || !as_written,
                        ..step.clone()
                    })
                    .collect();
                remediation.push((finding.id.as_str(), steps));
            }
        }
        let mut proposal =
            Proposal::from_findings(remediation.iter().map(|(id, s)| (*id, s.as_slice())))?;
        proposal.defer_to_policy(&policy_held(diagnosis));
        Ok(proposal)
    }
}

/// The registry names of the values the Remote Desktop policy key holds on the analysed
/// computers, as their newest configuration snapshots show them (`tsp` entries that exist:
/// set, or present but unreadable). Empty without a snapshot: then the plan keeps its
/// local steps. Several computers' snapshots are joined: a plan is for one of them, and a
/// manual step is the safe side when any of them has a policy value.
pub fn policy_held(diagnosis: &Diagnosis) -> Vec<&'static str> {
    use crate::config::{Section, Value, schema};
    let joined = super::session::joined_snapshots(&diagnosis.inputs);
    let mut held: Vec<&'static str> = Vec::new();
    for snapshot in crate::config::newest_per_computer(&joined) {
        for entry in &snapshot.entries {
            if entry.section != Section::Tsp || entry.value == Value::Absent {
                continue;
            }
            if let Some(key) = schema::lookup(Section::Tsp, &entry.key)
                && !held.contains(&key.name)
            {
                held.push(key.name);
            }
        }
    }
    held
}

impl PlanParams {
    /// The parameters of a plan for the computer the analysed logs name: their evidence
    /// digest, issued at `issued_at` (the caller's clock), valid for [`DEFAULT_LIFETIME`],
    /// with `seq` from [`PlanParams::seq_for`]. `plan_id` comes from 16 random bytes
    /// ([`PlanId::from_random`]).
    ///
    /// Fails when the logs name no computer, or several (a plan is for one VM: see
    /// [`PlanParams::for_diagnosis_on`]).
    pub fn for_diagnosis(
        diagnosis: &Diagnosis,
        issued_at: Timestamp,
        plan_id: PlanId,
    ) -> Result<PlanParams, BuildError> {
        PlanParams::for_diagnosis_on(diagnosis, None, issued_at, plan_id)
    }

    /// As [`PlanParams::for_diagnosis`], for `computer` when the logs name several: it must
    /// be one of the names they show (any case). `None` is [`PlanParams::for_diagnosis`].
    pub fn for_diagnosis_on(
        diagnosis: &Diagnosis,
        computer: Option<&str>,
        issued_at: Timestamp,
        plan_id: PlanId,
    ) -> Result<PlanParams, BuildError> {
        let computer = computer_of(diagnosis, computer)?;
        let evidence_sha256: Sha256Digest = diagnosis.evidence_sha256.parse()?;
        Ok(PlanParams {
            computer: computer.to_string(),
            evidence_sha256,
            plan_id,
            issued_at,
            lifetime: DEFAULT_LIFETIME,
            seq: PlanParams::seq_for(issued_at),
            offline: None,
        })
    }
}

/// Everything the page needs to offer a plan for a diagnosis, made beside the diagnosis
/// (in the analysis worker, as `fixer plan` does): the [`Proposal`], and the computers a
/// plan may be for with the evidence digest every plan names ([`PlanTargets`]). Each half
/// says in words why it is missing, when it is. The page adds only what it alone has: the
/// admin's choices, its clock and random bytes ([`PlanTargets::params`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOffer {
    pub proposal: Result<Proposal, String>,
    pub targets: Result<PlanTargets, String>,
}

impl PlanOffer {
    pub fn for_diagnosis(catalog: &Catalog, diagnosis: &Diagnosis) -> PlanOffer {
        PlanOffer {
            proposal: Proposal::for_diagnosis(catalog, diagnosis).map_err(|e| e.to_string()),
            targets: PlanTargets::for_diagnosis(diagnosis).map_err(|e| e.to_string()),
        }
    }
}

/// The computers a plan for a diagnosis may be for (the sensible default first,
/// [`computer_choices`]), the evidence digest, and the names in the logs no plan can
/// target, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTargets {
    /// At least one.
    pub computers: Vec<ComputerChoice>,
    pub evidence_sha256: Sha256Digest,
    pub unusable: Vec<String>,
    /// When the diagnosis read an OS disk's hives: that disk as a target (a plan applied
    /// by `fixer apply --offline` on a rescue VM), or why it cannot be one. `None` when it
    /// read no hive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<Result<super::offline::OfflineChoice, String>>,
}

impl PlanTargets {
    /// `Err` says why no plan can name a computer (none in the logs, none usable) or the
    /// evidence (its digest is not ready).
    pub fn for_diagnosis(diagnosis: &Diagnosis) -> Result<PlanTargets, BuildError> {
        let (mut computers, mut unusable, mut first_error) = (Vec::new(), Vec::new(), None);
        for choice in computer_choices(diagnosis) {
            match computer_of(diagnosis, Some(&choice.name)) {
                Ok(name) => computers.push(ComputerChoice {
                    name: name.to_string(),
                    ..choice
                }),
                Err(e) => {
                    unusable.push(e.to_string());
                    first_error.get_or_insert(e);
                }
            }
        }
        let offline = super::offline::offline_choice(diagnosis);
        if computers.is_empty() {
            return Err(match (first_error, offline) {
                // Only hives were read, and they name no disk: say why in their words.
                (None, Some(Err(why))) => BuildError::NoOfflineTarget(why),
                (Some(e), _) => e,
                // No computer at all: the constructor says so in its words.
                (None, _) => computer_of(diagnosis, None)
                    .err()
                    .unwrap_or(BuildError::NoComputer),
            });
        }
        Ok(PlanTargets {
            computers,
            evidence_sha256: diagnosis.evidence_sha256.parse()?,
            unusable,
            offline,
        })
    }

    /// The one of [`PlanTargets::computers`] named `computer` (case and surrounding blanks
    /// ignored).
    fn computer(&self, computer: &str) -> Option<&ComputerChoice> {
        self.computers
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(computer.trim()))
    }

    /// The findings of `diagnosis` whose evidence does not name `computer` (one of
    /// [`PlanTargets::computers`], as [`PlanTargets::params`] finds it): a plan for it fixes
    /// them there too, though they were seen elsewhere. Most likely first.
    pub fn evidence_elsewhere<'d>(&self, diagnosis: &'d Diagnosis, computer: &str) -> Vec<&'d str> {
        let chosen = self.computer(computer);
        diagnosis
            .findings
            .iter()
            .filter(|f| !chosen.is_some_and(|c| c.findings.contains(&f.id)))
            .map(|f| f.id.as_str())
            .collect()
    }

    /// The parameters of a plan for the attached disk ([`PlanTargets::offline`]): its
    /// computer, MachineGuid and control set, issued at `issued_at` with `plan_id`. Build it
    /// from [`Proposal::for_offline`]. Fails, saying why, when there is no such disk.
    pub fn offline_params(
        &self,
        issued_at: Timestamp,
        plan_id: PlanId,
    ) -> Result<PlanParams, BuildError> {
        let choice = match &self.offline {
            Some(Ok(choice)) => choice,
            Some(Err(why)) => return Err(BuildError::NoOfflineTarget(why.clone())),
            None => {
                return Err(BuildError::NoOfflineTarget(
                    "the inputs hold no registry hive of an OS disk: an offline plan is made from \
                     the disk's SYSTEM and SOFTWARE hives (`fixer plan --offline <drive>` \
                     reads them)"
                        .to_owned(),
                ));
            }
        };
        Ok(PlanParams {
            computer: choice.computer.clone(),
            evidence_sha256: self.evidence_sha256,
            plan_id,
            issued_at,
            lifetime: DEFAULT_LIFETIME,
            seq: PlanParams::seq_for(issued_at),
            offline: Some(choice.target),
        })
    }

    /// The parameters of a plan for `computer` (one of [`PlanTargets::computers`]), issued
    /// at `issued_at` with `plan_id`: what [`PlanParams::for_diagnosis_on`] gives.
    pub fn params(
        &self,
        computer: &str,
        issued_at: Timestamp,
        plan_id: PlanId,
    ) -> Result<PlanParams, BuildError> {
        let chosen = self
            .computer(computer)
            .ok_or_else(|| BuildError::ComputerNotInLogs {
                chosen: EscapedText::new(computer).0,
                names: self.computers.iter().map(|c| c.name.clone()).collect(),
            })?;
        Ok(PlanParams {
            computer: chosen.name.clone(),
            evidence_sha256: self.evidence_sha256,
            plan_id,
            issued_at,
            lifetime: DEFAULT_LIFETIME,
            seq: PlanParams::seq_for(issued_at),
            offline: None,
        })
    }
}

/// The computer a plan for `diagnosis` is for: the one its logs name (spellings that differ
/// only in case, or a bare name beside its FQDN, are one computer: the most frequent
/// spelling is kept), or `chosen` among the names they show. When they name none (Event
/// Viewer's CSV, Format-List), `chosen` is the name the admin typed: taken as it is once
/// it is a NetBIOS or DNS name ([`typed_computer`]); say so with [`typed_computer_warning`].
pub fn computer_of(
    diagnosis: &Diagnosis,
    chosen: Option<&str>,
) -> Result<ComputerName, BuildError> {
    let seen = computers_seen(diagnosis);
    let names = || {
        seen.iter()
            .map(|s| EscapedText::new(&s.name).0)
            .collect::<Vec<_>>()
    };
    let name = match chosen {
        Some(chosen) if seen.is_empty() => return typed_computer(chosen),
        Some(chosen) => {
            let chosen = chosen.trim();
            seen.iter()
                .find(|s| s.name.eq_ignore_ascii_case(chosen))
                .map(|s| s.name.as_str())
                .ok_or_else(|| BuildError::ComputerNotInLogs {
                    chosen: EscapedText::new(chosen).0,
                    names: names(),
                })?
        }
        None => {
            // `seen` is ranked, most events first.
            let first = seen.first().ok_or(BuildError::NoComputer)?;
            if !seen.iter().all(|s| same_computer(&s.name, &first.name)) {
                return Err(BuildError::SeveralComputers { names: names() });
            }
            first.name.as_str()
        }
    };
    Ok(name.parse()?)
}

/// A computer the analysed logs name, as one a plan can be for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputerChoice {
    /// Its most frequent spelling in the logs: the name [`computer_of`] gives it.
    pub name: String,
    /// Events naming it, all its spellings together.
    pub events: u64,
    /// The findings whose evidence names it, most likely first.
    pub findings: Vec<String>,
}

/// The computers the logs of `diagnosis` name, one entry per computer (spellings merged as
/// [`computer_of`] merges them), the one a plan is most likely meant for first: the computer
/// the most likely finding's evidence names most often, then the one the evidence of the
/// most findings names, then the one with the most events. Empty when the logs name none.
pub fn computer_choices(diagnosis: &Diagnosis) -> Vec<ComputerChoice> {
    // Spellings of each computer; `computers` is ranked, most events first.
    let mut groups: Vec<(Vec<&str>, u64)> = Vec::new();
    let all = computers_seen(diagnosis);
    for seen in &all {
        match groups
            .iter_mut()
            .find(|(names, _)| names.iter().any(|n| same_computer(n, &seen.name)))
        {
            Some((names, events)) => {
                names.push(&seen.name);
                *events = events.saturating_add(seen.events);
            }
            None => groups.push((vec![&seen.name], seen.events)),
        }
    }
    let names_it = |names: &[&str], computer: &Option<String>| {
        computer
            .as_deref()
            .is_some_and(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c.trim())))
    };
    let mut ranked: Vec<(usize, ComputerChoice)> = groups
        .into_iter()
        .map(|(names, events)| {
            let top = diagnosis.findings.first().map_or(0, |f| {
                f.evidence
                    .iter()
                    .filter(|e| names_it(&names, &e.computer))
                    .count()
            });
            let findings = diagnosis
                .findings
                .iter()
                .filter(|f| f.evidence.iter().any(|e| names_it(&names, &e.computer)))
                .map(|f| f.id.clone())
                .collect();
            let name = names.first().map_or_else(String::new, |n| (*n).to_owned());
            (
                top,
                ComputerChoice {
                    name,
                    events,
                    findings,
                },
            )
        })
        .collect();
    // Stable: equal keys keep the logs' order (most events first).
    ranked.sort_by_key(|(top, c)| (Reverse(*top), Reverse(c.findings.len()), Reverse(c.events)));
    ranked.into_iter().map(|(_, c)| c).collect()
}

/// A computer name the admin typed: a NetBIOS name (1 to 15 letters, digits, `-` and `_`,
/// no dot) or a DNS name (labels of 1 to 63 letters, digits and `-`, `-` neither first nor
/// last, at most 253 characters in all), as a plan holds it.
pub fn typed_computer(name: &str) -> Result<ComputerName, BuildError> {
    let name = name.trim();
    let label_ok = |l: &str, underscore: bool| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || (underscore && c == b'_'))
    };
    let ok = if name.contains('.') {
        name.len() <= 253 && name.split('.').all(|l| label_ok(l, false))
    } else {
        // Windows lets a computer name hold `_` (it warns that DNS will not).
        name.len() <= 15 && label_ok(name, true)
    };
    if !ok {
        return Err(BuildError::NotAComputerName(EscapedText::new(name).0));
    }
    Ok(name.parse()?)
}

/// Whether a plan for `diagnosis` is for a computer name the admin types: its logs and
/// snapshots name none (Event Viewer's CSV, Format-List), so [`computer_of`] takes the
/// chosen name as typed, and [`PlanTargets::for_diagnosis`] fails with
/// [`BuildError::NoComputer`]. `false` when they name any, usable or not.
pub fn takes_typed_computer(diagnosis: &Diagnosis) -> bool {
    computers_seen(diagnosis).is_empty()
}

/// The warning a plan for a typed computer name carries: the logs could not confirm it.
/// `None` when the logs or a snapshot name a computer (the name is then one of theirs).
pub fn typed_computer_warning(diagnosis: &Diagnosis, chosen: Option<&str>) -> Option<String> {
    let chosen = chosen?.trim();
    computers_seen(diagnosis).is_empty().then(|| {
        format!(
            "the logs name no computer, so the plan is for `{}` as typed: nothing here could \
             check that name; fixer.exe checks it on the VM and refuses the plan on any other",
            EscapedText::new(chosen).0
        )
    })
}

/// The computers the logs name, ranked by their events, then those only a configuration
/// snapshot names (its `host=`, with no event): a snapshot pasted alone still says which
/// VM its findings, and so a plan, are for.
fn computers_seen(diagnosis: &Diagnosis) -> Vec<super::coverage::Seen> {
    let mut seen = diagnosis.computers.clone();
    for snapshot in super::session::joined_snapshots(&diagnosis.inputs) {
        let name = snapshot.computer.trim();
        if !name.is_empty() && !seen.iter().any(|s| same_computer(&s.name, name)) {
            seen.push(super::coverage::Seen {
                name: name.to_owned(),
                events: 0,
            });
        }
    }
    seen
}

/// `VM01`, `vm01` and `vm01.contoso.com` are one computer; `vm01.a.com` and `vm01.b.com`
/// are not.
fn same_computer(a: &str, b: &str) -> bool {
    let host = |n: &str| n.split('.').next().unwrap_or(n).to_owned();
    a.eq_ignore_ascii_case(b)
        || ((!a.contains('.') || !b.contains('.')) && host(a).eq_ignore_ascii_case(&host(b)))
}

#[cfg(test)]
mod tests {
    use super::same_computer;

    #[test]
    fn one_computer_may_show_several_spellings() {
        assert!(same_computer("VM01", "vm01"));
        assert!(same_computer("vm01", "VM01.contoso.com"));
        assert!(same_computer("vm01.contoso.com", "vm01"));
        assert!(!same_computer("vm01.a.com", "vm01.b.com"));
        assert!(!same_computer("vm01", "vm02"));
        assert!(!same_computer("vm01", "vm011.contoso.com"));
    }
}
