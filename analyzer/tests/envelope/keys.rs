//! Keys: the public key and key-file formats, fingerprints and key ids.

use super::*;

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
