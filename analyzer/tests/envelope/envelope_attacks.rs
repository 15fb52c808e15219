//! Attacks on the envelope: flipped bytes, swapped types, other keys, malleated and
//! small-order signatures, unknown fields, oversize input, several signatures.

use super::*;

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
