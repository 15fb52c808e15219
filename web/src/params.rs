//! A plan's parameters at signing time: the identity `PlanParams::for_diagnosis_on` gave in
//! the worker for the computer the admin chose (the evidence digest; see [`PlanBase`]), with
//! the browser's clock and a fresh random id — exactly what `fixer plan --computer` builds.

use crate::protocol::PlanBase;
use analyzer::plan::{DEFAULT_LIFETIME, PlanId, PlanParams};
use jiff::Timestamp;

pub fn plan_params(
    base: &Result<PlanBase, String>,
    computer: &str,
    issued_at: Timestamp,
    random: [u8; 16],
) -> Result<PlanParams, String> {
    let base = base.as_ref().map_err(Clone::clone)?;
    let computer = base
        .computers
        .iter()
        .find(|c| c.name == computer)
        .ok_or_else(|| format!("the logs do not name the computer {computer}"))?;
    Ok(PlanParams {
        computer: computer.name.clone(),
        evidence_sha256: base
            .evidence_sha256
            .parse()
            .map_err(|e| format!("the evidence digest is unusable: {e}"))?,
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
