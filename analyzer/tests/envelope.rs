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

// --- the legitimate run -------------------------------------------------------------

#[test]
fn signs_and_verifies_a_plan_through_the_token() {
    let signer = key(1);
    let token = signed_token(&plan(), &signer);
    assert!(token.starts_with("rdpfix1."));
    assert_eq!(check(token.as_bytes(), &[entry(&signer)]).unwrap(), steps());
}

#[test]
fn signs_and_verifies_a_plan_through_the_plan_file() {
    let signer = key(1);
    let file = PreparedPlan::new(&plan())
        .unwrap()
        .sign_with(&signer)
        .unwrap()
        .to_json();
    assert_eq!(check(file.as_bytes(), &[entry(&signer)]).unwrap(), steps());
}

#[test]
fn verification_returns_the_exact_signed_plan_and_signer() {
    let signer = key(1);
    let token = signed_token(&plan(), &signer);
    let executable = verify(
        token.as_bytes(),
        &[entry(&signer)][..],
        &[COMPUTER],
        now(),
        &Journal::default(),
    )
    .unwrap();
    assert_eq!(executable.plan(), &plan());
    assert_eq!(
        executable.signer_fingerprint(),
        signer.public_key().fingerprint()
    );
}

#[test]
fn two_phase_signing_gives_the_same_envelope_as_a_sync_signer() {
    let signer = key(3);
    let sync = PreparedPlan::new(&plan())
        .unwrap()
        .sign_with(&signer)
        .unwrap();

    // The page: prepare, hand the bytes to an asynchronous signer, assemble.
    let prepared = PreparedPlan::new(&plan()).unwrap();
    let to_sign = prepared.bytes_to_sign().to_vec();
    assert!(
        to_sign.starts_with(format!("DSSEv1 {} {PAYLOAD_TYPE} ", PAYLOAD_TYPE.len()).as_bytes())
    );
    assert!(to_sign.ends_with(prepared.payload()));
    let signature = signer.sign(&to_sign).unwrap();
    let assembled = prepared.assemble(&signer.public_key(), &signature).unwrap();

    assert_eq!(assembled.token(), sync.token());
    assert_eq!(assembled.to_json(), sync.to_json());
}

#[test]
fn assembling_refuses_a_signature_from_another_key() {
    let prepared = PreparedPlan::new(&plan()).unwrap();
    let signature = key(9).sign(prepared.bytes_to_sign()).unwrap();
    assert_eq!(
        prepared
            .clone()
            .assemble(&key(1).public_key(), &signature)
            .unwrap_err(),
        SigningError::SignatureMismatch
    );
    assert_eq!(
        prepared
            .assemble(&key(9).public_key(), &signature[..63])
            .unwrap_err(),
        SigningError::SignatureLength(63)
    );
}

#[test]
fn the_page_refuses_to_sign_what_the_fixer_would_refuse() {
    let mut bad = plan();
    bad.steps.push(Step::RestartService {
        target: "gpsvc".into(),
    });
    assert!(matches!(
        PreparedPlan::new(&bad).unwrap_err(),
        SigningError::NotAllowed(_)
    ));
}

#[test]
fn payload_is_parsed_from_the_exact_signed_bytes() {
    // Whitespace and key order differ from what serde would write: still valid, because
    // the fixer verifies the bytes it received and never re-serialises.
    let signer = key(1);
    let compact = serde_json::to_vec(&plan()).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&compact).unwrap();
    value["steps"] = serde_json::json!([value["steps"][0]]);
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let json = envelope_json(PAYLOAD_TYPE, &pretty, &signer);
    let got = check(json.as_bytes(), &[entry(&signer)]).unwrap();
    assert_eq!(got, steps()[..1]);
}

// --- attacks on the envelope --------------------------------------------------------

#[test]
fn rejects_a_flipped_byte_anywhere_in_the_payload() {
    let signer = key(1);
    let prepared = PreparedPlan::new(&plan()).unwrap();
    let payload = prepared.payload().to_vec();
    let sig = signer.sign(prepared.bytes_to_sign()).unwrap();
    let store = [entry(&signer)];
    for i in 0..payload.len() {
        let mut changed = payload.clone();
        changed[i] ^= 0x01;
        let json = envelope_json_with_sig(PAYLOAD_TYPE, &changed, &signer.public_key(), &sig);
        assert_eq!(
            check(json.as_bytes(), &store).unwrap_err(),
            Rejection::BadSignature,
            "byte {i}"
        );
    }
}

#[test]
fn rejects_a_flipped_byte_anywhere_in_the_signature() {
    let signer = key(1);
    let prepared = PreparedPlan::new(&plan()).unwrap();
    let sig = signer.sign(prepared.bytes_to_sign()).unwrap();
    for i in 0..64 {
        for bit in [0x01u8, 0x80] {
            let mut changed = sig;
            changed[i] ^= bit;
            let json = envelope_json_with_sig(
                PAYLOAD_TYPE,
                prepared.payload(),
                &signer.public_key(),
                &changed,
            );
            assert_eq!(
                check(json.as_bytes(), &[entry(&signer)]).unwrap_err(),
                Rejection::BadSignature,
                "byte {i} bit {bit:#x}"
            );
        }
    }
}

#[test]
fn rejects_a_changed_character_anywhere_in_the_token() {
    let signer = key(1);
    let token = signed_token(&plan(), &signer);
    let store = [entry(&signer)];
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = match bytes[i] {
            b'A' => b'B',
            b'.' => b'-',
            b'0'..=b'8' => bytes[i] + 1,
            b'9' => b'0',
            _ => b'A',
        };
        let result = check(&bytes, &store);
        assert!(result.is_err(), "position {i} accepted");
        let rejection = result.unwrap_err();
        assert!(rejection.check() <= 4, "position {i}: {rejection}");
    }
}

#[test]
fn rejects_a_swapped_payload_type_before_the_signature() {
    let signer = key(1);
    let payload = serde_json::to_vec(&plan()).unwrap();
    for other in [
        "application/vnd.in-toto+json",
        "application/vnd.rdpfix.plan+json; v=2",
        "application/vnd.rdpfix.plan+json;v=1",
        "APPLICATION/VND.RDPFIX.PLAN+JSON; V=1",
    ] {
        // Correctly signed over the other type: the type check still refuses it.
        let json = envelope_json(other, &payload, &signer);
        assert!(
            matches!(
                check(json.as_bytes(), &[entry(&signer)]).unwrap_err(),
                Rejection::WrongPayloadType { .. }
            ),
            "{other}"
        );
    }
    // Signed over rdpfix's type, shipped under another: the type check refuses it too,
    // and relabelling it back fails the signature because PAE covers the type.
    let sig = signer.sign(&pae(b"application/other", &payload)).unwrap();
    let json = envelope_json_with_sig(PAYLOAD_TYPE, &payload, &signer.public_key(), &sig);
    assert_eq!(
        check(json.as_bytes(), &[entry(&signer)]).unwrap_err(),
        Rejection::BadSignature
    );
}

#[test]
fn rejects_another_keys_signature() {
    let trusted = key(1);
    let attacker = key(2);
    let token = signed_token(&plan(), &attacker);
    assert!(matches!(
        check(token.as_bytes(), &[entry(&trusted)]).unwrap_err(),
        Rejection::UnknownKey { .. }
    ));
    // The attacker claims the trusted key's keyid: the keyid is only a hint.
    let payload = serde_json::to_vec(&plan()).unwrap();
    let sig = attacker
        .sign(&pae(PAYLOAD_TYPE.as_bytes(), &payload))
        .unwrap();
    let json = envelope_json_with_sig(PAYLOAD_TYPE, &payload, &trusted.public_key(), &sig);
    assert_eq!(
        check(json.as_bytes(), &[entry(&trusted)]).unwrap_err(),
        Rejection::BadSignature
    );
}

/// The group order L of Ed25519, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_le(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

#[test]
fn rejects_a_malleated_signature_with_s_plus_l() {
    let signer = key(1);
    let prepared = PreparedPlan::new(&plan()).unwrap();
    let sig = signer.sign(prepared.bytes_to_sign()).unwrap();
    // s + L is the same scalar mod L: lax verifiers accept it, verify_strict must not.
    let mut malleated = sig;
    malleated[32..].copy_from_slice(&add_le(&sig[32..], &L));
    assert_ne!(malleated, sig);
    let json = envelope_json_with_sig(
        PAYLOAD_TYPE,
        prepared.payload(),
        &signer.public_key(),
        &malleated,
    );
    assert_eq!(
        check(json.as_bytes(), &[entry(&signer)]).unwrap_err(),
        Rejection::BadSignature
    );
}

#[test]
fn rejects_a_signature_with_a_non_canonical_or_small_order_r() {
    let signer = key(1);
    let prepared = PreparedPlan::new(&plan()).unwrap();
    let sig = signer.sign(prepared.bytes_to_sign()).unwrap();
    // y = p + 1, the non-canonical encoding of the identity; and the identity itself.
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    for r in [non_canonical, identity] {
        let mut changed = sig;
        changed[..32].copy_from_slice(&r);
        let json = envelope_json_with_sig(
            PAYLOAD_TYPE,
            prepared.payload(),
            &signer.public_key(),
            &changed,
        );
        assert_eq!(
            check(json.as_bytes(), &[entry(&signer)]).unwrap_err(),
            Rejection::BadSignature
        );
    }
}

#[test]
fn refuses_small_order_public_keys() {
    // The identity point: with R = identity and s = 0 a lax verifier accepts any message.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        PublicKey::from_bytes(&identity).unwrap_err(),
        KeyError::InvalidPoint
    );
    // A point of order 8.
    let order8: [u8; 32] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    assert_eq!(
        PublicKey::from_bytes(&order8).unwrap_err(),
        KeyError::InvalidPoint
    );
}

#[test]
fn rejects_unknown_and_duplicate_fields_in_the_signed_payload() {
    let signer = key(1);
    let good = String::from_utf8(serde_json::to_vec(&plan()).unwrap()).unwrap();
    let unknown = good.replacen("{\"v\":1,", "{\"v\":1,\"run\":\"calc.exe\",", 1);
    let duplicate = good.replacen("\"seq\":1000,", "\"seq\":1000,\"seq\":1000,", 1);
    let unknown_in_step = good.replacen(
        "{\"kind\":\"save_acl\",",
        "{\"kind\":\"save_acl\",\"recurse\":true,",
        1,
    );
    let duplicate_in_target = good.replacen(
        "\"target\":{\"computer\":\"rdp-vm01\"}",
        "\"target\":{\"computer\":\"rdp-vm01\",\"computer\":\"other\"}",
        1,
    );
    for (name, payload, needle) in [
        ("unknown", &unknown, "unknown field"),
        ("duplicate", &duplicate, "duplicate field"),
        ("unknown in step", &unknown_in_step, "unknown field"),
        (
            "duplicate in target",
            &duplicate_in_target,
            "duplicate field",
        ),
    ] {
        assert_ne!(
            payload, &good,
            "{name}: the test did not change the payload"
        );
        let json = envelope_json(PAYLOAD_TYPE, payload.as_bytes(), &signer);
        match check(json.as_bytes(), &[entry(&signer)]).unwrap_err() {
            Rejection::MalformedPayload(message) => {
                assert!(message.contains(needle), "{name}: {message}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn rejects_unknown_and_duplicate_fields_in_the_envelope() {
    let signer = key(1);
    let file = PreparedPlan::new(&plan())
        .unwrap()
        .sign_with(&signer)
        .unwrap()
        .to_json();
    let unknown = file.replacen("{", "{\"x\": 1,", 1);
    let payload_line = file
        .lines()
        .find(|l| l.contains("\"payload\""))
        .unwrap()
        .to_owned();
    let duplicate = file.replacen(&payload_line, &format!("{payload_line}\n{payload_line}"), 1);
    for text in [unknown, duplicate] {
        assert!(matches!(
            check(text.as_bytes(), &[entry(&signer)]).unwrap_err(),
            Rejection::MalformedEnvelope(_)
        ));
    }
}

#[test]
fn rejects_a_newer_payload_version_by_name() {
    let signer = key(1);
    let good = String::from_utf8(serde_json::to_vec(&plan()).unwrap()).unwrap();
    let v2 = good.replacen("{\"v\":1,", "{\"v\":2,\"new_field\":true,", 1);
    let json = envelope_json(PAYLOAD_TYPE, v2.as_bytes(), &signer);
    assert_eq!(
        check(json.as_bytes(), &[entry(&signer)]).unwrap_err(),
        Rejection::UnsupportedVersion(2)
    );
}

#[test]
fn rejects_oversize_input_before_reading_it() {
    let huge = vec![b'{'; MAX_ENVELOPE_BYTES + 1];
    assert!(matches!(
        receive(&huge).unwrap_err(),
        Rejection::TooLarge { .. }
    ));
    let signer = key(1);
    let payload = vec![b' '; analyzer::envelope::MAX_PAYLOAD_BYTES + 1];
    let json = envelope_json(PAYLOAD_TYPE, &payload, &signer);
    assert!(matches!(
        check(json.as_bytes(), &[entry(&signer)]).unwrap_err(),
        Rejection::PayloadTooLarge { .. }
    ));
}

#[test]
fn rejects_more_steps_than_a_plan_may_have() {
    let signer = key(1);
    let good = String::from_utf8(serde_json::to_vec(&plan()).unwrap()).unwrap();
    let one = r#"{"kind":"restart_service","target":"SessionEnv"}"#;
    let many = vec![one; analyzer::plan::MAX_STEPS + 1].join(",");
    let start = good.find("\"steps\":[").unwrap() + "\"steps\":[".len();
    let end = good.rfind("]}").unwrap();
    let payload = format!("{}{many}{}", &good[..start], &good[end..]);
    let json = envelope_json(PAYLOAD_TYPE, payload.as_bytes(), &signer);
    assert!(matches!(
        check(json.as_bytes(), &[entry(&signer)]).unwrap_err(),
        Rejection::TooManyItems(_)
    ));
    // Exactly the maximum is fine.
    let max = vec![one; analyzer::plan::MAX_STEPS].join(",");
    let payload = format!("{}{max}{}", &good[..start], &good[end..]);
    let json = envelope_json(PAYLOAD_TYPE, payload.as_bytes(), &signer);
    assert_eq!(
        check(json.as_bytes(), &[entry(&signer)]).unwrap().len(),
        analyzer::plan::MAX_STEPS
    );
}

#[test]
fn rejects_several_signatures() {
    let signer = key(1);
    let file = PreparedPlan::new(&plan())
        .unwrap()
        .sign_with(&signer)
        .unwrap()
        .to_json();
    let mut value: serde_json::Value = serde_json::from_str(&file).unwrap();
    let sig = value["signatures"][0].clone();
    value["signatures"] = serde_json::json!([sig.clone(), sig]);
    assert_eq!(
        check(value.to_string().as_bytes(), &[entry(&signer)]).unwrap_err(),
        Rejection::SignatureCount(2)
    );
    value["signatures"] = serde_json::json!([]);
    assert_eq!(
        check(value.to_string().as_bytes(), &[entry(&signer)]).unwrap_err(),
        Rejection::SignatureCount(0)
    );
}

// --- attacks on the context: key, clock, computer, replay, allowlist ---------------

#[test]
fn rejects_a_revoked_or_expired_key() {
    let signer = key(1);
    let token = signed_token(&plan(), &signer);
    let revoked = TrustEntry {
        revoked: true,
        ..entry(&signer)
    };
    assert!(matches!(
        check(token.as_bytes(), &[revoked]).unwrap_err(),
        Rejection::KeyRevoked { .. }
    ));
    let expired = TrustEntry {
        expires_at: Some(now()),
        ..entry(&signer)
    };
    assert!(matches!(
        check(token.as_bytes(), &[expired]).unwrap_err(),
        Rejection::KeyExpired { .. }
    ));
    let still_valid = TrustEntry {
        expires_at: Some(now() + SignedDuration::from_secs(1)),
        ..entry(&signer)
    };
    assert!(check(token.as_bytes(), &[still_valid]).is_ok());
}

fn at(plan: &Plan, now: Timestamp) -> Result<(), Rejection> {
    analyzer::envelope::check_freshness(plan, now, DEFAULT_CLOCK_SKEW)
}

#[test]
fn rejects_an_expired_or_future_dated_plan() {
    let plan = plan();
    let signer = key(1);
    let token = signed_token(&plan, &signer);
    let run = |now: Timestamp| {
        verify(
            token.as_bytes(),
            &[entry(&signer)][..],
            &[COMPUTER],
            now,
            &Journal::default(),
        )
        .map(|_| ())
    };
    assert!(run(plan.expires_at - SignedDuration::from_secs(1)).is_ok());
    assert!(matches!(
        run(plan.expires_at).unwrap_err(),
        Rejection::Expired { .. }
    ));
    assert!(matches!(
        run(plan.expires_at + SignedDuration::from_hours(100)).unwrap_err(),
        Rejection::Expired { .. }
    ));
    // A clock behind the signer's by less than the allowed skew is fine; more is not.
    assert!(at(&plan, plan.issued_at - DEFAULT_CLOCK_SKEW).is_ok());
    assert!(matches!(
        run(plan.issued_at - DEFAULT_CLOCK_SKEW - SignedDuration::from_secs(1)).unwrap_err(),
        Rejection::NotYetValid { .. }
    ));
}

#[test]
fn rejects_a_plan_for_another_computer() {
    let signer = key(1);
    let token = signed_token(&plan(), &signer);
    let run = |names: &[&str]| {
        verify(
            token.as_bytes(),
            &[entry(&signer)][..],
            names,
            now(),
            &Journal::default(),
        )
        .map(|_| ())
    };
    assert!(run(&["RDP-VM01"]).is_ok());
    assert!(run(&["RDP-VM01", "rdp-vm01.contoso.local"]).is_ok());
    assert!(run(&["other", "rdp-vm01.contoso.local"]).is_ok());
    let error = run(&["RDP-VM02", "rdp-vm02.contoso.local"]).unwrap_err();
    assert_eq!(
        error,
        Rejection::WrongComputer {
            plan: COMPUTER.into(),
            this: "RDP-VM02 / rdp-vm02.contoso.local".into()
        }
    );
    assert_eq!(error.check(), 6);
}

#[test]
fn a_plan_for_an_fqdn_needs_the_same_fqdn() {
    let computer: ComputerName = "vm1.contoso.com".parse().unwrap();
    assert!(computer.matches_any(["VM1", "vm1.CONTOSO.com"]));
    assert!(!computer.matches_any(["VM1"]));
    assert!(!computer.matches_any(["vm1.fabrikam.com"]));
}

#[test]
fn rejects_a_replayed_plan_or_an_older_seq() {
    let plan = plan();
    let signer = key(1);
    let token = signed_token(&plan, &signer);
    let run = |journal: &Journal| {
        verify(
            token.as_bytes(),
            &[entry(&signer)][..],
            &[COMPUTER],
            now(),
            journal,
        )
        .map(|_| ())
    };
    assert!(matches!(
        run(&Journal {
            applied: vec![plan.plan_id],
            last_seq: None
        })
        .unwrap_err(),
        Rejection::Replayed { .. }
    ));
    for last in [plan.seq, plan.seq + 1] {
        assert_eq!(
            run(&Journal {
                applied: vec![],
                last_seq: Some(last)
            })
            .unwrap_err(),
            Rejection::StaleSeq {
                seq: plan.seq,
                last
            }
        );
    }
    assert!(
        run(&Journal {
            applied: vec![PlanId::from_random([1; 16])],
            last_seq: Some(plan.seq - 1)
        })
        .is_ok()
    );
}

#[test]
fn rejects_a_signed_allowlist_escape() {
    // Signed by the trusted key (say, by an older page build): the fixer still refuses.
    let signer = key(1);
    let mut bad = plan();
    bad.steps.push(Step::GrantAccess {
        target: r"%ProgramData%\Microsoft\Crypto\RSA\MachineKeys\..\..\..\..\Windows".into(),
        desired: vec![Grant {
            sid: Sid::Everyone,
            rights: Rights::Full,
        }],
    });
    let payload = serde_json::to_vec(&bad).unwrap();
    let json = envelope_json(PAYLOAD_TYPE, &payload, &signer);
    let error = check(json.as_bytes(), &[entry(&signer)]).unwrap_err();
    assert!(matches!(error, Rejection::NotAllowed(_)), "{error:?}");
    assert_eq!(error.check(), 9);
    assert!(error.to_string().contains("step 6"), "{error}");
}

#[test]
fn checks_run_in_the_documented_order() {
    // A plan that fails everything reports the earliest check.
    let signer = key(1);
    let mut bad = plan();
    bad.target.computer = "elsewhere".parse().unwrap();
    bad.steps.push(Step::RestartService {
        target: "gpsvc".into(),
    });
    let payload = serde_json::to_vec(&bad).unwrap();
    let json = envelope_json(PAYLOAD_TYPE, &payload, &signer);
    let journal = Journal {
        applied: vec![bad.plan_id],
        last_seq: None,
    };
    let error = verify(
        json.as_bytes(),
        &[entry(&signer)][..],
        &[COMPUTER],
        bad.expires_at,
        &journal,
    )
    .unwrap_err();
    assert_eq!(error.check(), 6, "{error}");
}

// --- the token through consoles ------------------------------------------------------

#[test]
fn says_truncated_paste_with_the_exact_count_for_every_cut() {
    let signer = key(1);
    let token = signed_token(&plan(), &signer);
    let (_, rest) = token.split_once('.').unwrap();
    let (digits, data) = rest.split_once('.').unwrap();
    let expected: usize = digits.parse().unwrap();
    assert_eq!(expected, data.len());
    let data_start = token.len() - data.len();
    for cut in data_start..token.len() {
        let error = receive(&token.as_bytes()[..cut]).unwrap_err();
        assert_eq!(
            error,
            Rejection::Token(TokenError::Truncated {
                expected,
                got: cut - data_start
            }),
            "cut at {cut}"
        );
        assert!(error.to_string().starts_with("truncated paste"));
    }
}

#[test]
fn says_when_a_token_was_pasted_twice() {
    let token = signed_token(&plan(), &key(1));
    let doubled = format!("{token}{}", &token[10..]);
    assert!(matches!(
        receive(doubled.as_bytes()).unwrap_err(),
        Rejection::Token(TokenError::TooLong { .. })
    ));
}

#[test]
fn reads_a_token_wrapped_or_pasted_in_lines() {
    let signer = key(1);
    let token = signed_token(&plan(), &signer);
    let wrapped: String = analyzer::envelope::token_lines(&token, 80).join("\r\n");
    assert!(check(wrapped.as_bytes(), &[entry(&signer)]).is_ok());

    let mut reader = TokenReader::new();
    let lines = analyzer::envelope::token_lines(&token, 100);
    let (last, first) = lines.split_last().unwrap();
    assert_eq!(
        reader.push("fixer.exe apply -"),
        TokenProgress::NeedMore {
            have: 0,
            expected: None
        }
    );
    for line in first {
        match reader.push(&format!("  {line}\n")) {
            TokenProgress::NeedMore { expected, have } => {
                assert!(expected.is_some_and(|e| have < e))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(reader.push(last), TokenProgress::Complete(token.clone()));
}

#[test]
fn accepts_a_whole_fix_command_saved_to_a_file() {
    let signer = key(1);
    let signed = PreparedPlan::new(&plan())
        .unwrap()
        .sign_with(&signer)
        .unwrap();
    for shell in [Shell::Cmd, Shell::PowerShell] {
        let FixCommand::Line(command) = signed.fix_command(shell) else {
            panic!("too long")
        };
        assert!(
            check(command.as_bytes(), &[entry(&signer)]).is_ok(),
            "{command}"
        );
    }
    assert_eq!(
        receive(b"del C:\\x rdpfix1.10.AAAAAAAAAA").unwrap_err(),
        Rejection::NotAPlan
    );
    let FixCommand::Line(command) = signed.fix_command(Shell::Cmd) else {
        panic!("too long")
    };
    let with_options = command.replace("apply ", "apply --dry-run ");
    assert!(check(with_options.as_bytes(), &[entry(&signer)]).is_ok());
}

#[test]
fn fix_command_holds_only_the_prefix_and_base64url() {
    let signed = PreparedPlan::new(&plan())
        .unwrap()
        .sign_with(&key(1))
        .unwrap();
    let FixCommand::Line(cmd) = signed.fix_command(Shell::Cmd) else {
        panic!("too long")
    };
    let token = cmd.strip_prefix("fixer.exe apply rdpfix1.").unwrap();
    assert!(
        token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    );
    let FixCommand::Line(ps) = signed.fix_command(Shell::PowerShell) else {
        panic!("too long")
    };
    assert!(ps.starts_with("& .\\fixer.exe apply rdpfix1."));
    assert!(
        !cmd.contains(COMPUTER),
        "the computer name must not appear in clear"
    );
}

// --- keys -----------------------------------------------------------------------------

#[test]
fn public_key_text_round_trips_and_detects_damage() {
    let public = key(5).public_key();
    let text = public.to_string();
    assert!(text.starts_with("rdpfix-ed25519:"));
    assert_eq!(text.parse::<PublicKey>().unwrap(), public);
    let wrapped = format!("  {}\n{}  ", &text[..20], &text[20..]);
    assert_eq!(wrapped.parse::<PublicKey>().unwrap(), public);
    let body_start = "rdpfix-ed25519:".len();
    for i in body_start..text.len() {
        let mut bytes = text.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let damaged = String::from_utf8(bytes).unwrap();
        assert!(damaged.parse::<PublicKey>().is_err(), "position {i}");
    }
    assert_eq!(
        text[..text.len() - 1].parse::<PublicKey>().unwrap_err(),
        KeyError::Length(47)
    );
    assert_eq!(
        text.replace("rdpfix-ed25519:", "ssh-ed25519 ")
            .parse::<PublicKey>()
            .unwrap_err(),
        KeyError::PublicPrefix
    );
}

#[test]
fn fingerprint_is_grouped_base32_of_the_key_hash() {
    let public = key(5).public_key();
    let fingerprint = public.fingerprint().to_string();
    let groups: Vec<&str> = fingerprint.split(' ').collect();
    assert_eq!(groups.len(), 13);
    assert!(groups.iter().all(|g| g.len() == 4));
    assert!(
        fingerprint
            .chars()
            .all(|c| c == ' ' || c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    );
    use sha2::Digest;
    let hash = sha2::Sha256::digest(public.to_bytes());
    assert_eq!(public.fingerprint().0, <[u8; 32]>::from(hash));
    assert_eq!(public.keyid().0, hash[..8]);
    assert_eq!(public.keyid().to_string().len(), 16);
}

#[test]
fn secret_key_file_round_trips() {
    let secret = key(6);
    let text = secret.to_file_text();
    assert!(text.contains(&secret.public_key().to_string()));
    assert!(text.contains(&secret.public_key().fingerprint().to_string()));
    let back = SecretKey::from_file_text(&text).unwrap();
    assert_eq!(back.public_key(), secret.public_key());
    assert_eq!(
        SecretKey::from_file_text("# nothing here\n").unwrap_err(),
        KeyError::SecretPrefix
    );
}

#[test]
fn envelope_accepts_url_safe_and_unpadded_base64() {
    let signer = key(1);
    let prepared = PreparedPlan::new(&plan()).unwrap();
    let sig = signer.sign(prepared.bytes_to_sign()).unwrap();
    use base64::Engine;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = serde_json::json!({
        "payloadType": PAYLOAD_TYPE,
        "payload": url.encode(prepared.payload()),
        "signatures": [{"sig": url.encode(sig)}],
    })
    .to_string();
    // No keyid at all: every usable trusted key is tried.
    assert!(check(json.as_bytes(), &[entry(&key(2)), entry(&signer)]).is_ok());
    let parsed = Envelope::from_json(&json).unwrap();
    assert_eq!(parsed.payload(), prepared.payload());
}
