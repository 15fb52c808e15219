//! The legitimate run: a plan signed (in one or two phases) verifies through the token and
//! the plan file, and gives back exactly what was signed.

use super::*;

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
