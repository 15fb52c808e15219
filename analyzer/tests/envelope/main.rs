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
    AclTarget, AllowedStep, ComputerName, Grant, ManualAction, Plan, PlanId, RdpService,
    RegistryExpect, RegistryValue, Rights, Sid, Step,
};
use jiff::{SignedDuration, Timestamp};
use testkit::plans::{PlanSpec, envelope_json, envelope_json_with_sig, key, token as signed_token};

mod consoles;
mod context_attacks;
mod envelope_attacks;
mod keys;
mod legitimate;

const COMPUTER: &str = "rdp-vm01";

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
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
            grants: testkit::plans::key_file_grants(),
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
    let spec = PlanSpec {
        id: 0x42,
        ..PlanSpec::new(COMPUTER, now())
    };
    testkit::plans::plan(steps, &spec)
}

fn plan() -> Plan {
    plan_with(&steps())
}

fn check(input: &[u8], store: &[TrustEntry]) -> Result<Vec<AllowedStep>, Rejection> {
    verify(input, store, &[COMPUTER], now(), &Journal::default()).map(|p| p.steps().to_vec())
}
