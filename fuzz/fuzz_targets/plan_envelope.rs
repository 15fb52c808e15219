//! Untrusted plan input as the fixer reads it: a fix token, a plan file (DSSE JSON), or a
//! whole fix command, through every check that needs no host. Must never panic, and must
//! never accept anything not signed by the trusted key. The same properties run in CI as
//! proptests (`analyzer/tests/envelope_props.rs`).
//!
//! Register in `fuzz/Cargo.toml` as `[[bin]] name = "plan_envelope"`, with `analyzer` and
//! `jiff` as dependencies of the fuzz crate.
#![no_main]

use analyzer::envelope::{PublicKey, SecretKey, TrustEntry, receive};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_seed([7; 32]);
    let store = vec![TrustEntry {
        public_key: key.public_key(),
        label: "fuzz".into(),
        expires_at: None,
        revoked: false,
    }];
    let now: jiff::Timestamp = "2026-03-01T12:00:00Z".parse().unwrap_or_default();
    if let Ok(received) = receive(data) {
        let _ = received.envelope().to_json();
        if let Ok(verified) = received
            .check_payload_type()
            .and_then(|r| r.check_key(&store, now))
            .and_then(|k| k.verify_signature())
            .and_then(|s| s.parse())
        {
            // Only reachable with a signature from the fuzz key: the fuzzer cannot forge one.
            let _ = verified.check_computer(["fuzz"]);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<PublicKey>();
        let _ = SecretKey::from_file_text(text);
        let mut reader = analyzer::envelope::TokenReader::new();
        for line in text.lines() {
            let _ = reader.push(line);
        }
    }
});
