//! Signed plans, TUF-conformance style: the legitimate run, then each attack, and the
//! rejection it must meet (SIGNED-PLANS.md, "Tests that prove it").
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use analyzer::envelope::{
    DEFAULT_CLOCK_SKEW, Envelope, Fingerprint, FixCommand, KeyError, MAX_ENVELOPE_BYTES,
    PAYLOAD_TYPE, PreparedPlan, PublicKey, Rejection, ReplayJournal, SecretKey, Shell, Signer,
    SigningError, TokenError, TokenProgress, TokenReader, TrustEntry, pae, receive, verify,
};
use analyzer::plan::{
    AclTarget, AllowedStep, ComputerName, Grant, ManualAction, Plan, PlanId, PlanParams, Proposal,
    RdpService, RegistryExpect, RegistryValue, RemediationStep, Rights, Sha256Digest, Sid, Step,
};
use jiff::{SignedDuration, Timestamp};

mod consoles;
mod context_attacks;
mod envelope_attacks;
mod keys;
mod legitimate;

const COMPUTER: &str = "rdp-vm01";

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed([seed; 32])
}

fn entry(key: &SecretKey) -> TrustEntry {
    TrustEntry {
        public_key: key.public_key(),
        label: "page key".into(),
        expires_at: None,
        revoked: false,
    }
}

#[derive(Default)]
struct Journal {
    applied: Vec<PlanId>,
    last_seq: Option<u64>,
}

impl ReplayJournal for Journal {
    fn has_plan(&self, plan_id: &PlanId) -> bool {
        self.applied.contains(plan_id)
    }
    fn last_seq(&self, _key: &Fingerprint, _computer: &ComputerName) -> Option<u64> {
        self.last_seq
    }
}

fn steps() -> Vec<AllowedStep> {
    vec![
        AllowedStep::SaveAcl {
            target: AclTarget::MachineKeysFolder,
        },
        AllowedStep::GrantAccess {
            target: AclTarget::RdpKeyFiles,
            grants: vec![
                Grant {
                    sid: Sid::LocalSystem,
                    rights: Rights::Full,
                },
                Grant {
                    sid: Sid::NetworkService,
                    rights: Rights::Read,
                },
            ],
        },
        AllowedStep::DeleteRegistryValue {
            value: RegistryValue::SslCertificateSha1Hash,
            expect: RegistryExpect::Any,
        },
        AllowedStep::RestartService {
            service: RdpService::TermService,
        },
        AllowedStep::Manual {
            action: ManualAction::ReinstallConnectionBroker,
        },
    ]
}

fn plan_with(steps: &[AllowedStep]) -> Plan {
    let remediation: Vec<RemediationStep> = steps
        .iter()
        .map(|s| RemediationStep {
            step: s.to_step(),
            optional: false,
            why: "test".into(),
        })
        .collect();
    let proposal = Proposal::from_findings([("rdp-cert-keys", remediation.as_slice())]).unwrap();
    proposal
        .to_plan(&PlanParams {
            computer: COMPUTER.into(),
            evidence_sha256: Sha256Digest([7; 32]),
            plan_id: PlanId::from_random([0x42; 16]),
            issued_at: now() - SignedDuration::from_mins(10),
            lifetime: SignedDuration::from_hours(24),
            seq: 1000,
        })
        .unwrap()
}

fn plan() -> Plan {
    plan_with(&steps())
}

fn signed_token(plan: &Plan, signer: &SecretKey) -> String {
    PreparedPlan::new(plan)
        .unwrap()
        .sign_with(signer)
        .unwrap()
        .token()
}

fn check(input: &[u8], store: &[TrustEntry]) -> Result<Vec<AllowedStep>, Rejection> {
    verify(input, store, &[COMPUTER], now(), &Journal::default()).map(|p| p.steps().to_vec())
}

/// An envelope with arbitrary parts, signed by `signer` over exactly those parts.
fn envelope_json(payload_type: &str, payload: &[u8], signer: &SecretKey) -> String {
    let sig = signer.sign(&pae(payload_type.as_bytes(), payload)).unwrap();
    envelope_json_with_sig(payload_type, payload, &signer.public_key(), &sig)
}

fn envelope_json_with_sig(
    payload_type: &str,
    payload: &[u8],
    key: &PublicKey,
    sig: &[u8],
) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    serde_json::json!({
        "payloadType": payload_type,
        "payload": b64.encode(payload),
        "signatures": [{"keyid": key.keyid().to_string(), "sig": b64.encode(sig)}],
    })
    .to_string()
}
