//! Properties of the plan decoders over arbitrary and mutated input: never a panic, never
//! an acceptance without the trusted key's signature (the fuzz target's properties, run
//! in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use analyzer::envelope::{
    PublicKey, Rejection, SecretKey, TokenProgress, TokenReader, TrustEntry, receive, token_lines,
};
use analyzer::plan::{AclTarget, AllowedStep, RdpService};
use jiff::Timestamp;
use proptest::prelude::*;
use testkit::plans::{self, PlanSpec};

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn signed_token(seed: u8, steps: &[AllowedStep]) -> String {
    let spec = PlanSpec {
        computer: "vm".into(),
        id: seed,
        seq: 1,
        issued_at: now(),
        lifetime: analyzer::plan::DEFAULT_LIFETIME,
    };
    plans::token(&plans::plan(steps, &spec), &plans::key(seed))
}

fn token() -> String {
    signed_token(
        4,
        &[
            AllowedStep::SaveAcl {
                target: AclTarget::MachineKeysFolder,
            },
            AllowedStep::RestartService {
                service: RdpService::TermService,
            },
        ],
    )
}

fn store() -> Vec<TrustEntry> {
    vec![TrustEntry {
        public_key: plans::key(4).public_key(),
        label: "k".into(),
        expires_at: None,
        revoked: false,
    }]
}

/// Checks 1–5, the ones that need no host.
fn signature_chain(input: &[u8]) -> Result<(), Rejection> {
    receive(input)?
        .check_payload_type()?
        .check_key(&store(), now())?
        .verify_signature()?
        .parse()
        .map(|_| ())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_or_verify(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(signature_chain(&bytes).is_err());
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = text.parse::<PublicKey>();
            let _ = SecretKey::from_file_text(text);
            let mut reader = TokenReader::new();
            for line in text.lines() {
                let _ = reader.push(line);
            }
        }
    }

    #[test]
    fn arbitrary_text_after_the_prefix_never_verifies(tail in "[A-Za-z0-9_.-]{0,600}") {
        let input = format!("rdpfix1.{tail}");
        prop_assert!(signature_chain(input.as_bytes()).is_err());
    }

    #[test]
    fn any_single_change_to_a_token_is_rejected(
        position in 0usize..10_000,
        replacement in proptest::char::range('!', '~'),
    ) {
        let token = token();
        let position = position % token.len();
        let mut chars: Vec<char> = token.chars().collect();
        prop_assume!(chars[position] != replacement);
        chars[position] = replacement;
        let changed: String = chars.into_iter().collect();
        prop_assert!(signature_chain(changed.as_bytes()).is_err());
    }

    #[test]
    fn any_deletion_or_insertion_is_rejected(
        position in 0usize..10_000,
        insert in proptest::option::of(proptest::char::range('0', 'z')),
    ) {
        let token = token();
        let position = position % token.len();
        let mut chars: Vec<char> = token.chars().collect();
        match insert {
            Some(c) => chars.insert(position, c),
            None => { chars.remove(position); }
        }
        let changed: String = chars.into_iter().collect();
        prop_assert!(signature_chain(changed.as_bytes()).is_err());
    }

    #[test]
    fn a_token_pasted_in_lines_of_any_width_is_read_whole(width in 16usize..400) {
        let token = token();
        let mut reader = TokenReader::new();
        let mut last = TokenProgress::NeedMore { have: 0, expected: None };
        for line in token_lines(&token, width) {
            prop_assert!(!matches!(last, TokenProgress::Complete(_)));
            last = reader.push(&line);
        }
        prop_assert_eq!(last, TokenProgress::Complete(token.clone()));
        prop_assert!(signature_chain(token.as_bytes()).is_ok());
    }

    #[test]
    fn tokens_from_other_keys_never_verify(seed in 0u8..=255) {
        prop_assume!(seed != 4);
        let token = signed_token(seed, &[AllowedStep::RestartService { service: RdpService::SessionEnv }]);
        prop_assert!(signature_chain(token.as_bytes()).is_err());
    }
}
