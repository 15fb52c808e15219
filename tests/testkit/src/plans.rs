//! Plans, keys and envelopes as the page makes them, for the tests of every crate: one
//! builder instead of a copy per crate.
//!
//! A plan goes through the analyzer's own builder (`Proposal::from_findings` →
//! `Proposal::to_plan`) and is signed by its own signer, so a test's plan is exactly what
//! the page would hand the fixer; [`envelope_json`] makes envelopes the builder would refuse
//! to (a changed payload, another payload type), signed over exactly the given parts.

// Builders for tests: a step list the builder refuses is the test's own mistake, named by
// the panic.
#![allow(clippy::panic)]

use analyzer::envelope::{PreparedPlan, PublicKey, SecretKey, Signer, pae};
use analyzer::plan::{
    AllowedStep, Grant, MachineGuid, OfflineTarget, Plan, PlanId, PlanParams, Proposal,
    RemediationStep, Rights, Sha256Digest, Sid,
};
use base64::Engine;
use jiff::{SignedDuration, Timestamp};

/// What the fix for broken RDP key permissions (Scenarios 1 and 2) grants on the key files:
/// SYSTEM and Administrators full control, NETWORK SERVICE read. The step lists of the
/// analyzer's and the fixer's tests differ (each names the steps its test is about); this
/// part of them is one.
pub fn key_file_grants() -> Vec<Grant> {
    vec![
        Grant {
            sid: Sid::LocalSystem,
            rights: Rights::Full,
        },
        Grant {
            sid: Sid::NetworkService,
            rights: Rights::Read,
        },
        Grant {
            sid: Sid::Administrators,
            rights: Rights::Full,
        },
    ]
}

/// The clock of the tests' simulated machine (the fixer's `Machine`): what
/// [`PlanSpec::default`] issues plans against.
pub const NOW: &str = "2026-11-25T10:00:00Z";

/// [`NOW`] as a time.
pub fn now() -> Timestamp {
    NOW.parse()
        .unwrap_or_else(|e| panic!("testkit::plans::NOW is not a time: {e}"))
}

/// A test key: the same seed, the same key.
pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed([seed; 32])
}

/// What a plan is made of besides its steps.
#[derive(Debug, Clone)]
pub struct PlanSpec {
    pub computer: String,
    /// The plan id is this byte sixteen times.
    pub id: u8,
    pub seq: u64,
    pub issued_at: Timestamp,
    pub lifetime: SignedDuration,
}

impl PlanSpec {
    /// For `computer`, issued ten minutes before `now`, valid a day, id `1`, seq 1000.
    pub fn new(computer: &str, now: Timestamp) -> PlanSpec {
        PlanSpec {
            computer: computer.into(),
            id: 1,
            seq: 1000,
            issued_at: now - SignedDuration::from_mins(10),
            lifetime: SignedDuration::from_hours(24),
        }
    }
}

impl Default for PlanSpec {
    /// For `WEB01` (the fixer tests' simulated machine), issued ten minutes before [`NOW`].
    fn default() -> Self {
        PlanSpec::new("WEB01", now())
    }
}

/// `steps` as one finding's remediation: each required, in this order.
pub fn remediation(steps: &[AllowedStep]) -> Vec<RemediationStep> {
    steps
        .iter()
        .map(|s| RemediationStep {
            step: s.to_step(),
            // The catalog may offer a step that lowers security only as an optional one;
            // the page includes optional steps unless the admin leaves them out.
            optional: s.labels().lowers_security,
            why: "test".into(),
        })
        .collect()
}

/// A plan as the page builds it from a finding of `rdp-cert-keys` whose remediation is
/// `steps`, through the analyzer's plan builder.
///
/// # Panics
/// If the builder refuses the steps: a test's own mistake.
pub fn plan(steps: &[AllowedStep], spec: &PlanSpec) -> Plan {
    let remediation = remediation(steps);
    let built =
        Proposal::from_findings([("rdp-cert-keys", remediation.as_slice())]).and_then(|proposal| {
            proposal.to_plan(&PlanParams {
                computer: spec.computer.clone(),
                evidence_sha256: Sha256Digest([7; 32]),
                plan_id: PlanId::from_random([spec.id; 16]),
                issued_at: spec.issued_at,
                lifetime: spec.lifetime,
                seq: spec.seq,
                offline: None,
            })
        });
    built.unwrap_or_else(|e| panic!("the plan builder refused the test's steps: {e}"))
}

/// The offline target of the OS disk whose SOFTWARE hive holds `guid` (as the registry
/// stores it), control set `control_set`.
///
/// # Panics
/// If either is not one a plan may name: a test's own mistake.
pub fn disk_target(guid: &str, control_set: u32) -> OfflineTarget {
    MachineGuid::from_registry(guid)
        .map_err(|e| e.to_string())
        .and_then(|guid| OfflineTarget::new(guid, control_set))
        .unwrap_or_else(|e| panic!("not a disk a plan may name: {e}"))
}

/// `plan` made a plan for that disk ([`disk_target`]): its `target.offline` set after the
/// build, its steps as they are (the tests give steps that have an offline form).
pub fn for_disk(mut plan: Plan, guid: &str, control_set: u32) -> Plan {
    plan.target.offline = Some(disk_target(guid, control_set));
    plan
}

/// The fix token, signed as the page signs it.
///
/// # Panics
/// If the plan cannot be prepared or signed.
pub fn token(plan: &Plan, signer: &SecretKey) -> String {
    PreparedPlan::new(plan)
        .and_then(|p| p.sign_with(signer))
        .map(|signed| signed.token())
        .unwrap_or_else(|e| panic!("the test plan could not be signed: {e}"))
}

/// A DSSE envelope (the plan file) with arbitrary parts, signed by `signer` over exactly
/// those parts: for payloads the plan builder would refuse to sign.
///
/// # Panics
/// If signing fails.
pub fn envelope_json(payload_type: &str, payload: &[u8], signer: &SecretKey) -> String {
    let sig = signer
        .sign(&pae(payload_type.as_bytes(), payload))
        .unwrap_or_else(|e| panic!("signing failed: {e}"));
    envelope_json_with_sig(payload_type, payload, &signer.public_key(), &sig)
}

/// A DSSE envelope with the given signature, whatever it signs.
pub fn envelope_json_with_sig(
    payload_type: &str,
    payload: &[u8],
    key: &PublicKey,
    sig: &[u8],
) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    serde_json::json!({
        "payloadType": payload_type,
        "payload": b64.encode(payload),
        "signatures": [{"keyid": key.keyid().to_string(), "sig": b64.encode(sig)}],
    })
    .to_string()
}
