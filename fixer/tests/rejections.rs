//! Every refusal of SIGNED-PLANS.md through the `fixer` binary, TUF-conformance style: the
//! legitimate plan passes, then each attack meets its own check, code and message, exit 3,
//! and the machine — state directory included — is exactly as before.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use analyzer::envelope::{PAYLOAD_TYPE, PreparedPlan, Signer};
use analyzer::plan::{AllowedStep, RegistryExpect, RegistryValue};
use jiff::SignedDuration;
use support::{
    PlanSpec, Sim, broken_vm, envelope_json, envelope_json_with_sig, key, now, plan, plan_id,
    s1_s2_steps, signed_edited, token,
};

/// The text with its line wrapping undone.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn good() -> String {
    token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1))
}

/// A machine that trusts key 1.
fn sim(name: &str) -> Sim {
    let sim = Sim::new(name, broken_vm());
    sim.trust(&key(1));
    sim
}

/// `verify` and `apply --yes` of `input` both refuse it at `check` with `code`, with a
/// message containing `says`, and change nothing at all.
#[track_caller]
fn refused(sim: &Sim, input: &str, check: u8, code: &str, says: &str) {
    let before = sim.machine();
    let arg = if input.len() > 4000 {
        sim.file("attack.txt", input)
    } else {
        input.to_owned()
    };
    for cmd in [&["verify"][..], &["apply", "--yes"][..]] {
        let args: Vec<&str> = cmd.iter().copied().chain([arg.as_str()]).collect();
        let r = sim.run(&args);
        assert_eq!(r.code, 3, "{cmd:?}: {r:?}");
        let first_line = format!("REJECTED by check {check} (");
        assert!(r.stdout.starts_with(&first_line), "{cmd:?}: {}", r.stdout);
        assert!(
            flat(&r.stdout).contains(says),
            "{cmd:?}: want {says:?} in {}",
            r.stdout
        );
        assert!(r.stdout.trim_end().ends_with("Nothing was changed."));
        let mut json_args = vec!["--json"];
        json_args.extend(&args);
        let j = sim.run(&json_args).json();
        assert_eq!(j["check"], check, "{j}");
        assert_eq!(j["code"], code, "{j}");
        assert_eq!(j["ok"], false);
    }
    assert_eq!(sim.machine(), before, "a refused plan changed something");
}

#[test]
fn the_legitimate_plan_passes() {
    let sim = sim("legit");
    assert_eq!(sim.run(&["verify", &good()]).code, 0);
}

// 1. size and encoding

#[test]
fn rejects_a_changed_character_anywhere_in_the_token() {
    let sim = sim("flip");
    let t = good();
    // One character in the middle of the data, changed as a bad copy would.
    let mut bytes = t.clone().into_bytes();
    let i = t.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).unwrap();
    refused(
        &sim,
        &flipped,
        1,
        "token_checksum",
        "checksum does not match",
    );
}

#[test]
fn rejects_a_truncated_paste_and_says_how_much_is_missing() {
    let sim = sim("truncated");
    let t = good();
    let cut = &t[..t.len() - 40];
    refused(&sim, cut, 1, "truncated_paste", "40 are missing");
}

#[test]
fn rejects_an_oversize_plan_before_reading_it() {
    let sim = sim("oversize");
    let big = format!("rdpfix1.300000.{}", "A".repeat(300_000));
    refused(&sim, &big, 1, "too_large", "refusing to read it");
}

#[test]
fn rejects_text_that_is_not_a_plan() {
    let sim = sim("not-a-plan");
    refused(&sim, "hello", 1, "not_a_plan", "neither a fix token");
}

// 2. payload type

#[test]
fn rejects_a_swapped_payload_type_even_when_signed() {
    let sim = sim("type");
    let payload = serde_json::to_vec(&plan(&s1_s2_steps(), &PlanSpec::default())).unwrap();
    let json = envelope_json("application/vnd.in-toto+json", &payload, &key(1));
    refused(&sim, &json, 2, "wrong_payload_type", "not an rdpfix plan");
}

// 3. key

#[test]
fn rejects_a_plan_signed_by_a_key_never_enrolled() {
    let sim = sim("unknown-key");
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(2));
    refused(&sim, &t, 3, "unknown_key", "does not trust");
}

#[test]
fn rejects_a_plan_signed_by_a_revoked_key() {
    let sim = sim("revoked");
    assert_eq!(sim.run(&["trust", "remove", "ops"]).code, 0);
    refused(&sim, &good(), 3, "key_revoked", "which was revoked");
}

#[test]
fn rejects_a_plan_signed_by_an_expired_key() {
    let sim = Sim::new("expired-key", broken_vm());
    let r = sim.run(&[
        "trust",
        "add",
        &key(1).public_key().to_string(),
        "--label",
        "ops",
        "--expires",
        "1d",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    // Two days later, with a plan issued then.
    let later = now() + SignedDuration::from_hours(48);
    sim.edit(|m| m.now = later);
    let spec = PlanSpec {
        issued_at: later - SignedDuration::from_mins(5),
        ..PlanSpec::default()
    };
    let t = token(&plan(&s1_s2_steps(), &spec), &key(1));
    refused(&sim, &t, 3, "key_expired", "which expired at");
}

// 4. signature

#[test]
fn rejects_another_keys_signature_under_the_trusted_keyid() {
    let sim = sim("other-sig");
    let prepared = PreparedPlan::new(&plan(&s1_s2_steps(), &PlanSpec::default())).unwrap();
    let sig = key(2).sign(prepared.bytes_to_sign()).unwrap();
    let json = envelope_json_with_sig(PAYLOAD_TYPE, prepared.payload(), &key(1).public_key(), &sig);
    refused(&sim, &json, 4, "bad_signature", "does not match the plan");
}

#[test]
fn rejects_a_malleated_signature() {
    let sim = sim("malleated");
    // The group order L of Ed25519, little-endian: s + L verifies under lax rules only.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let prepared = PreparedPlan::new(&plan(&s1_s2_steps(), &PlanSpec::default())).unwrap();
    let mut sig = key(1).sign(prepared.bytes_to_sign()).unwrap();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        sig[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    let json = envelope_json_with_sig(PAYLOAD_TYPE, prepared.payload(), &key(1).public_key(), &sig);
    refused(&sim, &json, 4, "bad_signature", "does not match the plan");
}

#[test]
fn rejects_a_payload_changed_after_signing() {
    let sim = sim("changed-payload");
    let prepared = PreparedPlan::new(&plan(&s1_s2_steps(), &PlanSpec::default())).unwrap();
    let sig = key(1).sign(prepared.bytes_to_sign()).unwrap();
    let changed = String::from_utf8(prepared.payload().to_vec())
        .unwrap()
        .replace("WEB01", "WEB02");
    let json = envelope_json_with_sig(PAYLOAD_TYPE, changed.as_bytes(), &key(1).public_key(), &sig);
    refused(&sim, &json, 4, "bad_signature", "changed after signing");
}

// 5. payload

#[test]
fn rejects_an_unknown_field_in_the_signed_plan() {
    let sim = sim("unknown-field");
    let p = plan(&s1_s2_steps(), &PlanSpec::default());
    let json = signed_edited(&p, &key(1), |s| {
        *s = s.replacen('{', r#"{"script":"Remove-Item C:\\ -Recurse","#, 1);
    });
    refused(
        &sim,
        &json,
        5,
        "malformed_payload",
        "unknown field `script`",
    );
}

#[test]
fn rejects_a_duplicate_field_in_the_signed_plan() {
    let sim = sim("duplicate-field");
    let p = plan(&s1_s2_steps(), &PlanSpec::default());
    let json = signed_edited(&p, &key(1), |s| {
        *s = s.replacen('{', r#"{"seq":1,"#, 1);
    });
    refused(&sim, &json, 5, "malformed_payload", "duplicate field `seq`");
}

// 6. computer

#[test]
fn rejects_a_plan_for_another_computer() {
    let sim = sim("computer");
    let spec = PlanSpec {
        computer: "WEB02".into(),
        ..PlanSpec::default()
    };
    let t = token(&plan(&s1_s2_steps(), &spec), &key(1));
    refused(
        &sim,
        &t,
        6,
        "wrong_computer",
        "this machine is `WEB01 / web01.contoso.local`",
    );
    // The FQDN, in another case, is this machine.
    let spec = PlanSpec {
        computer: "Web01.Contoso.Local".into(),
        ..PlanSpec::default()
    };
    let t = token(&plan(&s1_s2_steps(), &spec), &key(1));
    assert_eq!(sim.run(&["verify", &t]).code, 0);
}

// 7. validity period

#[test]
fn rejects_an_expired_plan() {
    let sim = sim("expired");
    let spec = PlanSpec {
        issued_at: now() - SignedDuration::from_hours(30),
        ..PlanSpec::default()
    };
    let t = token(&plan(&s1_s2_steps(), &spec), &key(1));
    refused(&sim, &t, 7, "expired", "make a new plan on the page");
}

#[test]
fn rejects_a_plan_issued_in_the_future() {
    let sim = sim("future");
    let spec = PlanSpec {
        issued_at: now() + SignedDuration::from_hours(2),
        ..PlanSpec::default()
    };
    let t = token(&plan(&s1_s2_steps(), &spec), &key(1));
    refused(&sim, &t, 7, "not_yet_valid", "check the clock");
}

// 8. replay

#[test]
fn rejects_a_replayed_plan_even_after_it_was_rolled_back() {
    let sim = sim("replay");
    let t = good();
    assert_eq!(sim.run(&["apply", "--yes", &t]).code, 0);
    refused(&sim, &t, 8, "replayed", "a plan runs once");
    assert_eq!(sim.run(&["rollback", &plan_id(1)]).code, 0);
    refused(&sim, &t, 8, "replayed", "a plan runs once");
}

#[test]
fn rejects_a_plan_older_than_the_last_applied_from_the_same_key() {
    let sim = sim("seq");
    assert_eq!(sim.run(&["apply", "--yes", &good()]).code, 0);
    let older = PlanSpec {
        id: 2,
        seq: 999,
        ..PlanSpec::default()
    };
    let t = token(&plan(&s1_s2_steps(), &older), &key(1));
    refused(&sim, &t, 8, "stale_seq", "not newer than 1000");
}

// 9. allowlist

#[test]
fn rejects_a_registry_step_outside_the_allowlist() {
    let sim = sim("allowlist-key");
    let p = plan(
        &[AllowedStep::DeleteRegistryValue {
            value: RegistryValue::SslCertificateSha1Hash,
            expect: RegistryExpect::Any,
        }],
        &PlanSpec::default(),
    );
    let json = signed_edited(&p, &key(1), |s| {
        *s = s.replace(
            r"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp",
            r"HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters",
        );
    });
    assert!(json.len() > 100);
    refused(&sim, &json, 9, "not_allowed", "step 1");
}

#[test]
fn rejects_a_path_that_climbs_out_of_machinekeys() {
    let sim = sim("allowlist-path");
    let p = plan(&s1_s2_steps()[..1], &PlanSpec::default());
    let json = signed_edited(&p, &key(1), |s| {
        *s = s.replace(
            r"RSA\\MachineKeys",
            r"RSA\\MachineKeys\\..\\..\\..\\..\\Windows",
        );
    });
    refused(&sim, &json, 9, "not_allowed", "step 1");
}

// 10. preconditions

#[test]
fn rejects_a_plan_whose_precondition_does_not_hold_here() {
    let sim = sim("precondition");
    let p = plan(
        &[AllowedStep::DeleteRegistryValue {
            value: RegistryValue::SslCertificateSha1Hash,
            expect: RegistryExpect::Absent,
        }],
        &PlanSpec::default(),
    );
    let before = sim.machine();
    for args in [&["apply", "--dry-run"][..], &["apply", "--yes"][..]] {
        let t = token(&p, &key(1));
        let mut a = args.to_vec();
        a.push(&t);
        let r = sim.run(&a);
        assert_eq!(r.code, 3, "{r:?}");
        assert!(
            r.stdout.contains("REJECTED by check 10 (preconditions)"),
            "{}",
            r.stdout
        );
        assert!(
            flat(&r.stdout).contains("expected SSLCertificateSHA1Hash = (absent)"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.trim_end().ends_with("Nothing was changed."));
    }
    assert_eq!(sim.machine(), before);
}
