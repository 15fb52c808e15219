//! The plan's identity and validity, built from the diagnosis the way `fixer plan` does:
//! the computer the evidence names, the evidence digest, a fresh random id, one day of
//! validity, and the issue time in milliseconds as `seq`.

use crate::protocol::DiagnosisView;
use analyzer::plan::{DEFAULT_LIFETIME, PlanId, PlanParams, Sha256Digest};
use jiff::Timestamp;

/// The target computer: the one the most likely finding's evidence names, else the one
/// most events came from.
pub fn target_computer(d: &DiagnosisView) -> Option<String> {
    d.findings
        .iter()
        .flat_map(|f| f.evidence.iter())
        .find_map(|e| e.computer.clone())
        .or_else(|| d.computers.first().map(|c| c.name.clone()))
}

pub fn plan_params(
    d: &DiagnosisView,
    issued_at: Timestamp,
    random: [u8; 16],
) -> Result<PlanParams, String> {
    let computer = target_computer(d)
        .ok_or("the logs name no computer, and a plan is signed for one computer only")?;
    let evidence_sha256: Sha256Digest = d
        .evidence_sha256
        .parse()
        .map_err(|e| format!("the evidence digest is unusable: {e}"))?;
    Ok(PlanParams {
        computer,
        evidence_sha256,
        plan_id: PlanId::from_random(random),
        issued_at,
        lifetime: DEFAULT_LIFETIME,
        seq: PlanParams::seq_for(issued_at),
    })
}

/// 16 bytes from the browser's CSPRNG.
pub fn random_id() -> Result<[u8; 16], String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("this browser gave no random numbers: {e}"))?;
    Ok(bytes)
}
