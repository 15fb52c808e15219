//! Attacks on the context: key, clock, computer, replay, allowlist — and the order the
//! checks run in.

use super::*;

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
