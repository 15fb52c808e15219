//! From a diagnosis to what a plan needs: the [`Proposal`] (the catalog's remediation of
//! every finding, most likely first) and the [`PlanParams`] (the computer the analysed logs
//! name, the digest of those inputs, the issue time, the plan id, the default lifetime and
//! `seq`). The page and `fixer plan` both build plans this way, so the same inputs, key and
//! time give the same signed payload, the random `plan_id` aside.

use super::allowlist::EscapedText;
use super::build::{BuildError, DEFAULT_LIFETIME, PlanParams, Proposal};
use super::ids::{ComputerName, PlanId, Sha256Digest};
use crate::diagnose::Diagnosis;
use crate::rules::Catalog;
use jiff::Timestamp;

impl Proposal {
    /// The catalog's remediation of every finding of `diagnosis`, most likely first.
    /// A healthy diagnosis has nothing to fix: [`BuildError::NoFinding`].
    pub fn for_diagnosis(catalog: &Catalog, diagnosis: &Diagnosis) -> Result<Proposal, BuildError> {
        if diagnosis.findings.is_empty() {
            return Err(BuildError::NoFinding);
        }
        Proposal::from_catalog(catalog, diagnosis.findings.iter().map(|f| f.id.as_str()))
    }
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
        })
    }
}

/// The computer a plan for `diagnosis` is for: the one its logs name (spellings that differ
/// only in case, or a bare name beside its FQDN, are one computer: the most frequent
/// spelling is kept), or `chosen` among the names they show.
pub fn computer_of(
    diagnosis: &Diagnosis,
    chosen: Option<&str>,
) -> Result<ComputerName, BuildError> {
    let seen = &diagnosis.computers;
    let names = || {
        seen.iter()
            .map(|s| EscapedText::new(&s.name).0)
            .collect::<Vec<_>>()
    };
    let name = match chosen {
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
