//! The token through consoles: cut or doubled pastes, wrapped lines, a saved fix command,
//! and what a fix command may hold.

use super::*;

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

/// A token has one spelling: a length written with a leading zero is not the length the
/// signer wrote (the property test found `rdpfix1.0<N>.` accepted).
#[test]
fn a_length_with_a_leading_zero_is_a_damaged_prefix() {
    let token = signed_token(&plan(), &key(1));
    let zeroed = token.replacen("rdpfix1.", "rdpfix1.0", 1);
    assert!(matches!(
        receive(zeroed.as_bytes()).unwrap_err(),
        Rejection::Token(TokenError::BadPrefix)
    ));
    assert!(receive(token.as_bytes()).is_ok());
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
