//! The two runs a VM without a prompt needs, as `analyzer::remote` writes them: the
//! enrolment script (step 1: `fixer.exe trust add` of the page's key) and the fix script
//! (step 2: `fixer.exe apply --yes`), each for Run Command and as one Serial Console line.
//! Both put fixer.exe in place with the same statements; their arguments read back exactly
//! through PowerShell's, bash's and cmd.exe's quoting; they fit the channels' limits even
//! for the largest plan. That they parse as PowerShell is checked in node
//! (`tests/browser/powershell.test.mjs`): no PowerShell runs here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod remote_common;

use analyzer::envelope::{MAX_COMMAND_CHARS, PublicKey, Rejection, token};
use analyzer::plan::allowlist::EscapedText;
use analyzer::remote::deliver::{EXIT_DOWNLOAD_FAILED, EXIT_HASH_MISMATCH};
use analyzer::remote::fix::{FIXER_EXIT_REJECTED, NOT_TRUSTED_HINT, UNKNOWN_KEY_CODE};
use analyzer::remote::{
    Delivery, FixerSource, KeyLabel, RUN_COMMAND_OUTPUT_BYTES, SerialLine, enrol_delivery,
    fix_delivery, run_command, trust_command,
};
use remote_common::{
    FIXER_SHA, FIXER_URL, catalog, group, powershell_argument, powershell_verbatim, signer, source,
    statements, token_for, vm,
};

fn enrolment() -> (PublicKey, Delivery) {
    let key = signer().public_key();
    let d = enrol_delivery(&source(), &key, &KeyLabel::page());
    (key, d)
}

fn serial(d: &Delivery) -> &str {
    match &d.serial_console {
        SerialLine::Line(l) => l,
        SerialLine::TooLong { chars } => panic!("no Serial Console line: {chars} characters"),
    }
}

#[test]
fn fix_script_checks_the_hash_before_running_and_enrols_nothing() {
    let token = token_for(&["rdp-cert-keys"], "rdp-vm01");
    let fix = fix_delivery(&source(), &token).unwrap();
    let script = &fix.script;
    assert!(script.is_ascii());
    let hash_check = script.find("if ($got -ne $sha)").unwrap();
    let apply = script.find("& $exe apply --yes $plan").unwrap();
    assert!(hash_check < apply);
    assert!(!script.to_lowercase().contains("trust add"));
    assert!(script.contains(&format!("$sha = '{}'", FIXER_SHA.to_uppercase())));
    assert!(script.contains(&format!("-Uri '{FIXER_URL}'")));
    // The token goes in verbatim and decodes to the signed envelope.
    let value = powershell_argument(script, "$plan =");
    assert_eq!(value, token);
    assert!(token::decode(&value).is_ok());
    insta::assert_snapshot!("fix_script", script.replace(&token, "<TOKEN>"));
}

#[test]
fn fix_script_names_the_enrolment_script_when_the_key_is_not_trusted() {
    let token = token_for(&["rdp-tls-disabled"], "rdp-vm01");
    let fix = fix_delivery(&source(), &token).unwrap();
    let lines = statements(&fix.script);
    let apply = lines
        .iter()
        .position(|l| *l == "& $exe apply --yes $plan")
        .unwrap();
    // After apply: its exit code kept, and only on the fixer's "rejected" code the reason
    // asked for as JSON; the hint is the one line printed after apply's own output, and the
    // script exits with apply's code.
    let after = &lines[apply + 1..];
    assert_eq!(after[0], "$code = $LASTEXITCODE");
    assert!(
        after[1].starts_with(&format!("if ($code -eq {FIXER_EXIT_REJECTED}) {{ ")),
        "{}",
        after[1]
    );
    assert!(after[1].contains("(& $exe --json verify $plan)"));
    assert!(after[1].contains(&format!("if ($why -eq '{UNKNOWN_KEY_CODE}')")));
    assert_eq!(
        powershell_argument(after[1], "Write-Output"),
        NOT_TRUSTED_HINT
    );
    assert_eq!(after[1].matches("Write-Output").count(), 1);
    assert_eq!(after[2..], ["exit $code"]);
    // The code the script compares is the fixer's for a key it never enrolled.
    let unknown = Rejection::UnknownKey {
        keyid: EscapedText::new("0011223344556677"),
    };
    assert_eq!(unknown.code(), UNKNOWN_KEY_CODE);
    assert_eq!(unknown.check(), 3);
    // The hint names the enrolment script, on one line a console shows whole.
    assert!(NOT_TRUSTED_HINT.contains("enrolment script"));
    assert!(!NOT_TRUSTED_HINT.contains(['\n', '"', '%']));
}

#[test]
fn enrolment_script_enrols_the_page_key_and_applies_nothing() {
    let (key, d) = enrolment();
    let script = &d.script;
    assert!(script.is_ascii());
    assert!(!script.contains("apply") && !script.contains("rdpfix1."));
    let lines = statements(script);
    let [.., trust, exit] = lines.as_slice() else {
        panic!("{script}")
    };
    assert_eq!(*exit, "exit $LASTEXITCODE");
    assert!(trust.starts_with("& $exe trust add '"), "{trust}");
    let (public, rest) = powershell_verbatim(&trust["& $exe trust add ".len()..]).unwrap();
    assert_eq!(public.parse::<PublicKey>().unwrap(), key);
    assert!(rest.starts_with(" --label '"));
    assert_eq!(powershell_argument(trust, "--label"), KeyLabel::PAGE);
    assert_eq!(
        powershell_argument(trust, "--fingerprint"),
        key.fingerprint().to_string()
    );
    assert!(script.find("if ($got -ne $sha)").unwrap() < script.find("trust add").unwrap());
    insta::assert_snapshot!("enrolment_script", script);
}

#[test]
fn enrolment_and_fix_scripts_put_fixer_exe_in_place_alike() {
    let (_, enrol) = enrolment();
    let token = token_for(&["rdp-cert-keys"], "rdp-vm01");
    let fix = fix_delivery(&source(), &token).unwrap();
    let (e, f) = (statements(&enrol.script), statements(&fix.script));
    // Everything up to handing over to the fixer is the same, statement for statement.
    let handover = f
        .iter()
        .position(|l| *l == "$ErrorActionPreference = 'Continue'")
        .unwrap();
    assert_eq!(e[..=handover], f[..=handover]);
    let fetch = f[..handover].join("\n");
    for code in [EXIT_DOWNLOAD_FAILED, EXIT_HASH_MISMATCH] {
        assert!(fetch.contains(&format!("exit {code} }}")), "{fetch}");
    }
    assert!(fetch.contains(r"Join-Path $env:ProgramFiles 'rdpfix'"));
    // Neither script says anything after the fixer but the fix script's hint.
    for s in [&e[handover..], &f[handover..]] {
        let said: Vec<&&str> = s.iter().filter(|l| l.contains("Write-Output")).collect();
        assert!(said.len() <= 1 && said.iter().all(|l| l.contains(UNKNOWN_KEY_CODE)));
    }
}

#[test]
fn serial_console_lines_carry_the_same_statements_within_cmds_limit() {
    let token = token_for(&["rdp-cert-keys"], "rdp-vm01");
    let fix = fix_delivery(&source(), &token).unwrap();
    let (_, enrol) = enrolment();
    for d in [&fix, &enrol] {
        let line = serial(d);
        assert!(line.len() < MAX_COMMAND_CHARS);
        // cmd.exe: one double-quoted argument; nothing cmd expands inside it.
        let (head, rest) = line.split_once(" -Command \"").unwrap();
        assert_eq!(head, "powershell -NoProfile -ExecutionPolicy Bypass");
        let command = rest.strip_suffix('"').unwrap();
        assert!(!command.contains(['"', '%', '\n', '\r']));
        assert_eq!(command, statements(&d.script).join("; "));
    }
    insta::assert_snapshot!(
        "serial_console_fix_line",
        serial(&fix).replace(&token, "<TOKEN>")
    );
    insta::assert_snapshot!("serial_console_enrolment_line", serial(&enrol));
}

#[test]
fn trust_command_reads_the_same_in_cmd_and_powershell() {
    let key = signer().public_key();
    let line = trust_command(&key, &KeyLabel::page());
    let fingerprint = key.fingerprint().to_string();
    assert_eq!(
        line,
        format!("fixer.exe trust add {key} --label rdpfix-page --fingerprint \"{fingerprint}\"")
    );
    // Bare words hold nothing either shell reads; inside the double quotes neither cmd.exe
    // (% ") nor PowerShell ($ `) finds anything to expand.
    let words = shlex::split(&line).unwrap();
    assert_eq!(words[words.len() - 1], fingerprint);
    for w in &words[..words.len() - 1] {
        assert!(
            w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c)),
            "{w}"
        );
    }
    assert!(!fingerprint.contains(['%', '"', '$', '`']));
}

#[test]
fn labels_a_shell_would_read_are_refused() {
    for good in ["rdpfix-page", "ops.laptop_2", "A", &"x".repeat(64)] {
        assert_eq!(KeyLabel::parse(good).unwrap().as_str(), good);
    }
    for bad in [
        "",
        "-x",
        "@ops",
        ".hidden",
        "ops laptop",
        "it's",
        "a\"b",
        "100%",
        "$x",
        "é",
        &"x".repeat(65),
    ] {
        assert!(KeyLabel::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn both_scripts_fit_the_channels_for_the_largest_plan() {
    let catalog = catalog();
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    let token = token_for(&ids, &"v".repeat(analyzer::plan::ComputerName::MAX));
    let fix = fix_delivery(&source(), &token).unwrap();
    let (_, enrol) = enrolment();
    for (what, d) in [("enrolment", &enrol), ("fix", &fix)] {
        let forms = run_command(&group(), &vm(), &d.script);
        let line = serial(d).len();
        eprintln!(
            "{what} script {} bytes, az form {} bytes, Invoke-AzVMRunCommand form {} bytes, Serial Console line {line} chars (limit {MAX_COMMAND_CHARS}){}",
            d.script.len(),
            forms.az.len(),
            forms.powershell.len(),
            if what == "fix" {
                format!(", token {} chars", token.len())
            } else {
                String::new()
            }
        );
        assert!(line < MAX_COMMAND_CHARS);
        let words = shlex::split(&forms.az).unwrap();
        assert_eq!(words.last().unwrap(), &d.script);
        assert_eq!(
            powershell_argument(&forms.powershell, "-ScriptString"),
            d.script
        );
    }
    // What the scripts print themselves (the fixer's own report aside, which fits by
    // design): the longest message, with the address and the path it names.
    let own = NOT_TRUSTED_HINT.len().max(
        "rdpfix: cannot download fixer.exe from : <reason> - if this VM cannot reach that site, copy fixer.exe to C:\\Program Files\\rdpfix\\fixer.exe another way and run this again".len()
            + FIXER_URL.len(),
    );
    eprintln!("longest line the scripts print themselves: {own} bytes");
    assert!(own < RUN_COMMAND_OUTPUT_BYTES / 8);
}

#[test]
fn scripts_refuse_what_cannot_go_into_a_command() {
    let token = token_for(&["rdp-tls-disabled"], "rdp-vm01");
    for url in [
        "http://rdpfix.example.net/fixer.exe",
        "https://x/fix'er.exe",
        "https://x/a%20b.exe",
        "https://x/a b.exe",
        "ftp://x/fixer.exe",
        "https:///fixer.exe",
    ] {
        assert!(FixerSource::new(url, FIXER_SHA).is_err(), "{url}");
    }
    assert!(FixerSource::new("http://localhost:8080/fixer.exe", FIXER_SHA).is_ok());
    assert!(FixerSource::new(FIXER_URL, "abc").is_err());
    assert!(fix_delivery(&source(), "rdpfix1.5.ab'cd").is_err());
    assert!(fix_delivery(&source(), "Remove-Item C:\\").is_err());
    assert!(fix_delivery(&source(), &token).is_ok());
}
