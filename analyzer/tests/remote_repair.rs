//! The rescue-VM sequence (`remote::repair`): every command of the documented `az vm
//! repair` flow present and in order, split as bash splits it (`shlex`) with the names
//! exactly as typed; the save block run by bash writes the script byte for byte; the script
//! is what the repair driver can run (ASCII, no `param()`, no `exit`, its status last and
//! only where the fixer's exit code is 0), carries the token once, in a variable, and puts
//! `fixer.exe` in place with the same statements as the Run Command scripts. The snapshot
//! pins the script's text; `tests/browser/powershell.test.mjs` parses it with tree-sitter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod remote_common;

use analyzer::envelope::{MAX_COMMAND_CHARS, PublicKey};
use analyzer::plan::ComputerName;
use analyzer::remote::repair::{SCRIPT_FILE, STATUS_ERROR, STATUS_SUCCESS};
use analyzer::remote::{
    KeyLabel, RepairInputs, RepairSequence, ResourceGroup, ScriptError, VmName, fix_delivery,
    repair_sequence, snapshot,
};
use jiff::Timestamp;
use remote_common::{group, powershell_verbatim, signer, source, token_for, vm};

const AT: &str = "2026-03-01T12:34:56Z";

fn at() -> Timestamp {
    AT.parse().unwrap()
}

fn sequence_for(group: &ResourceGroup, vm: &VmName, token: &str) -> RepairSequence {
    let key: PublicKey = signer().public_key();
    repair_sequence(&RepairInputs {
        group,
        vm,
        token,
        key: &key,
        label: &KeyLabel::page(),
        source: &source(),
        at: at(),
    })
    .unwrap()
}

fn sequence() -> RepairSequence {
    sequence_for(&group(), &vm(), &token_for(&["rdp-cert-keys"], "RDP-VM01"))
}

/// The commands of the step `id`, each split as bash splits it.
fn words(seq: &RepairSequence, id: &str) -> Vec<Vec<String>> {
    let step = seq.steps.iter().find(|s| s.id == id).unwrap();
    step.commands
        .iter()
        .map(|c| shlex::split(c).unwrap_or_else(|| panic!("bash cannot split {c}")))
        .collect()
}

fn value_of<'a>(words: &'a [String], flag: &str) -> &'a str {
    let at = words
        .iter()
        .position(|w| w == flag)
        .unwrap_or_else(|| panic!("{flag} in {words:?}"));
    &words[at + 1]
}

#[test]
fn the_steps_come_in_the_documented_order() {
    let ids: Vec<&str> = sequence().steps.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            "snapshot",
            "extension",
            "create",
            "save",
            "run",
            "check",
            "restore",
            "after"
        ]
    );
}

#[test]
fn every_az_command_names_the_vm_exactly_as_typed() {
    let seq = sequence();
    let name_checked = |cmd: &[String]| {
        assert_eq!(value_of(cmd, "-g"), "rg-prod(weu)_01.a", "{cmd:?}");
        assert_eq!(cmd[0], "az", "{cmd:?}");
    };

    // Step 0: the snapshot, of the disk `az vm show` names, as the Run Command panel makes it.
    let snap = words(&seq, "snapshot");
    assert_eq!(&snap[0][..3], ["az", "snapshot", "create"]);
    name_checked(&snap[0]);
    assert_eq!(value_of(&snap[0], "-n"), seq.snapshot_name);
    assert_eq!(
        value_of(&snap[0], "--source"),
        "$(az vm show -g 'rg-prod(weu)_01.a' -n 'rdp-vm01' --query storageProfile.osDisk.managedDisk.id -o tsv)"
    );
    assert_eq!(seq.snapshot_name, snapshot(&group(), &vm(), at()).name);
    assert_eq!(seq.snapshot_name, "rdp-vm01-os-rdpfix-20260301T1234Z");

    assert_eq!(
        words(&seq, "extension"),
        [["az", "extension", "add", "-n", "vm-repair"]]
    );

    let create = words(&seq, "create");
    assert_eq!(create.len(), 2);
    for cmd in &create {
        assert_eq!(&cmd[..4], ["az", "vm", "repair", "create"]);
        name_checked(cmd);
        assert_eq!(value_of(cmd, "-n"), "rdp-vm01");
        assert!(cmd.contains(&"--verbose".to_owned()));
        // The repair VM's password is asked for, never written into a command.
        assert!(
            !cmd.iter().any(|w| w.starts_with("--repair-password")),
            "{cmd:?}"
        );
    }
    assert!(create[1].contains(&"--unlock-encrypted-vm".to_owned()));
    assert!(!create[0].contains(&"--unlock-encrypted-vm".to_owned()));

    let run = words(&seq, "run");
    assert_eq!(run.len(), 1);
    assert_eq!(&run[0][..4], ["az", "vm", "repair", "run"]);
    name_checked(&run[0]);
    assert_eq!(value_of(&run[0], "-n"), "rdp-vm01");
    assert_eq!(value_of(&run[0], "--custom-script-file"), SCRIPT_FILE);
    assert!(run[0].contains(&"--run-on-repair".to_owned()));
    assert!(run[0].contains(&"--verbose".to_owned()));

    assert!(
        seq.steps
            .iter()
            .find(|s| s.id == "check")
            .unwrap()
            .commands
            .is_empty()
    );

    let restore = words(&seq, "restore");
    assert_eq!(restore.len(), 1);
    assert_eq!(&restore[0][..4], ["az", "vm", "repair", "restore"]);
    name_checked(&restore[0]);
    assert_eq!(value_of(&restore[0], "-n"), "rdp-vm01");
    // Restore asks before deleting the repair resource group: no --yes.
    assert!(!restore[0].contains(&"--yes".to_owned()));

    // After: the old disk deleted by the snapshot's own record of its source, never --yes.
    let after = words(&seq, "after");
    assert_eq!(&after[0][..3], ["az", "vm", "start"]);
    assert_eq!(&after[1][..3], ["az", "disk", "delete"]);
    assert_eq!(
        value_of(&after[1], "--ids"),
        format!(
            "$(az snapshot show -g 'rg-prod(weu)_01.a' -n '{}' --query creationData.sourceResourceId -o tsv)",
            seq.snapshot_name
        )
    );
    for cmd in &after {
        assert!(!cmd.contains(&"--yes".to_owned()), "{cmd:?}");
    }
}

#[test]
fn names_are_quoted_for_bash() {
    // Parentheses in a resource group name would be a bash syntax error unquoted.
    let seq = sequence();
    for step in &seq.steps {
        for cmd in &step.commands {
            if cmd.starts_with("cat ") {
                continue;
            }
            assert!(!cmd.contains(" -g rg-prod("), "unquoted name in {cmd}");
        }
    }
}

/// Runs the save block with bash in a new folder and returns what it wrote.
fn saved_by_bash(seq: &RepairSequence) -> Vec<u8> {
    let save = &seq.steps.iter().find(|s| s.id == "save").unwrap().commands;
    assert_eq!(save.len(), 1);
    let dir = std::env::temp_dir().join(format!(
        "rdpfix-repair-{}-{}",
        std::process::id(),
        seq.script.bytes
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&save[0])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read(dir.join(SCRIPT_FILE)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    written
}

#[test]
fn the_save_block_writes_the_script_byte_for_byte() {
    let seq = sequence();
    assert_eq!(saved_by_bash(&seq), seq.script.text.as_bytes());
    // With the largest token too (every rule, the longest computer name).
    let catalog = remote_common::catalog();
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    let big = sequence_for(
        &group(),
        &vm(),
        &token_for(&ids, &"V".repeat(ComputerName::MAX)),
    );
    assert_eq!(saved_by_bash(&big), big.script.text.as_bytes());
}

#[test]
fn the_script_is_what_the_repair_driver_can_run() {
    let seq = sequence();
    let text = &seq.script.text;
    assert_eq!(seq.script.file_name, SCRIPT_FILE);
    assert_eq!(seq.script.bytes, text.len());
    // The driver's log is written as ASCII; the file goes through Cloud Shell.
    assert!(text.is_ascii());
    assert!(text.ends_with("}\n"));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let code = line.trim_start().to_ascii_lowercase();
        // Appended to the driver's script: a param() block would not be one.
        assert!(!code.starts_with("param"), "{line}");
        // `exit` would end the script before its status line.
        // (A statement starts a line or follows `;`, `{` or `}`; inside strings the word
        // is only text.)
        assert!(
            !code
                .split([';', '{', '}'])
                .map(str::trim_start)
                .any(|s| s == "exit" || s.starts_with("exit ") || s.starts_with("exit(")),
            "{line}"
        );
    }
    // Success is said once, only when the fixer's exit code is 0, and after its output.
    assert_eq!(text.matches(STATUS_SUCCESS).count(), 1);
    let success_at = text.find(STATUS_SUCCESS).unwrap();
    let apply_at = text
        .find("& $exe apply --offline auto --yes $plan")
        .unwrap();
    let zero_at = text
        .find("if ($code -eq 0) { Write-RdpfixLog 'Output'")
        .unwrap();
    assert!(apply_at < zero_at && zero_at < success_at);
    // Every way out of the try block that is not success says error.
    assert_eq!(text.matches(STATUS_ERROR).count(), 2);
    let catch_at = text.find("} catch {").unwrap();
    assert!(text[catch_at..].contains(STATUS_ERROR));
    // The log lines are in the format the repair CLI splits on.
    assert!(text.contains(
        "ToString('MM/dd/yyyy HH:mm:ss', [Globalization.CultureInfo]::InvariantCulture)"
    ));
}

#[test]
fn the_script_enrols_the_signer_by_fingerprint_and_applies_offline() {
    let seq = sequence();
    let text = &seq.script.text;
    let key = signer().public_key();
    let line = text
        .lines()
        .find(|l| l.contains("& $exe trust add "))
        .unwrap();
    let after = &line[line.find("trust add ").unwrap() + "trust add ".len()..];
    let (value, rest) = powershell_verbatim(after).unwrap();
    assert_eq!(value, key.to_string());
    let rest = rest.trim_start().strip_prefix("--label ").unwrap();
    let (label, rest) = powershell_verbatim(rest).unwrap();
    assert_eq!(label, KeyLabel::PAGE);
    let rest = rest.trim_start().strip_prefix("--fingerprint ").unwrap();
    let (fingerprint, _) = powershell_verbatim(rest).unwrap();
    assert_eq!(fingerprint, key.fingerprint().to_string());
    // Enrolment comes before the apply.
    assert!(
        text.find("& $exe trust add").unwrap() < text.find("& $exe apply --offline auto").unwrap()
    );
}

#[test]
fn the_token_is_in_the_script_once_and_in_no_command_line() {
    let catalog = remote_common::catalog();
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    let token = token_for(&ids, &"V".repeat(ComputerName::MAX));
    let seq = sequence_for(&group(), &vm(), &token);
    let text = &seq.script.text;
    assert_eq!(text.matches(token.as_str()).count(), 1);
    let line = text.lines().find(|l| l.contains(token.as_str())).unwrap();
    let (value, rest) =
        powershell_verbatim(line.trim_start().strip_prefix("$plan = ").unwrap()).unwrap();
    assert_eq!((value.as_str(), rest), (token.as_str(), ""));
    // The fixer gets it from the variable: its command line is the exe's path, the words
    // and the token, well within what Windows starts (32,767) and within cmd.exe's 8,191.
    let fixer_line =
        format!("\"C:\\Program Files\\rdpfix\\fixer.exe\" apply --offline auto --yes {token}");
    assert!(fixer_line.len() < MAX_COMMAND_CHARS, "{}", fixer_line.len());
    // No az command carries the token (the save block carries the script whole).
    for step in seq.steps.iter().filter(|s| s.id != "save") {
        for cmd in &step.commands {
            assert!(!cmd.contains(token.as_str()), "{cmd}");
            assert!(cmd.len() < MAX_COMMAND_CHARS);
        }
    }
}

#[test]
fn fixer_exe_is_put_in_place_by_the_run_command_scripts_statements() {
    let token = token_for(&["rdp-cert-keys"], "RDP-VM01");
    let seq = sequence_for(&group(), &vm(), &token);
    let fix = fix_delivery(&source(), &token).unwrap();
    // The same download, hash check and place; only a failure throws instead of exiting.
    for shared in [
        "$dir = Join-Path $env:ProgramFiles 'rdpfix'",
        "$exe = Join-Path $dir 'fixer.exe'",
        "$sha = '3A7BD3E2360A3D29EEA436FCFB7E44C735D117C42D1C1835420B6B9942DD4F1B'",
        "Invoke-WebRequest -UseBasicParsing -Uri 'https://rdpfix.example.net/fixer.exe'",
        "$ErrorActionPreference = 'Continue'",
    ] {
        assert!(fix.script.contains(shared), "{shared}");
        assert!(seq.script.text.contains(shared), "{shared}");
    }
    assert!(
        seq.script
            .text
            .contains("throw ('rdpfix: refused the download: its SHA-256 is '")
    );
    assert!(fix.script.contains("; exit 21 }"));
}

#[test]
fn a_token_that_is_not_one_is_refused() {
    let key = signer().public_key();
    for token in [
        "",
        "rdpfix1.1.abc'; Remove-Item C:\\",
        "not-a-token",
        "rdpfix1.1.a b",
    ] {
        let got = repair_sequence(&RepairInputs {
            group: &group(),
            vm: &vm(),
            token,
            key: &key,
            label: &KeyLabel::page(),
            source: &source(),
            at: at(),
        });
        assert_eq!(got.err(), Some(ScriptError::BadToken), "{token}");
    }
}

#[test]
fn script_snapshot() {
    let seq = sequence();
    insta::assert_snapshot!("repair_script", seq.script.text);
    insta::assert_yaml_snapshot!("repair_steps", seq.steps);
}

#[test]
fn script_size() {
    // A plain token leaves the script near 4 KB; the largest token adds its own length.
    let seq = sequence();
    let catalog = remote_common::catalog();
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    let token = token_for(&ids, &"V".repeat(ComputerName::MAX));
    let big = sequence_for(&group(), &vm(), &token);
    eprintln!(
        "repair script: {} bytes; with the largest token ({} chars): {} bytes",
        seq.script.bytes,
        token.len(),
        big.script.bytes
    );
    assert!(seq.script.bytes < 6_000, "{}", seq.script.bytes);
    assert_eq!(
        big.script.bytes - seq.script.bytes,
        token.len() - token_for(&["rdp-cert-keys"], "RDP-VM01").len()
    );
}

proptest::proptest! {
    /// Any names Azure allows (a resource group may hold letters of any script, `(`, `)`,
    /// `.`), as bash splits every command: the words Azure is given are the names typed.
    #[test]
    fn any_valid_names_come_out_of_every_command_as_typed(
        rg in "[A-Za-z0-9_.()\u{e9}\u{3b1}\u{4e2d}-]{0,50}[A-Za-z0-9_()-]",
        vm in "[A-Za-z0-9]([A-Za-z0-9-]{0,60}[A-Za-z0-9])?",
    ) {
        let group = ResourceGroup::parse(&rg).unwrap();
        let name = VmName::parse(&vm).unwrap();
        let seq = sequence_for(&group, &name, &token_for(&["rdp-cert-keys"], "RDP-VM01"));
        proptest::prop_assert!(seq.snapshot_name.len() <= 80);
        for step in seq.steps.iter().filter(|s| s.id != "save") {
            for cmd in &step.commands {
                let words = shlex::split(cmd).unwrap();
                proptest::prop_assert_eq!(&words[0], "az");
                if let Some(at) = words.iter().position(|w| w == "-g") {
                    proptest::prop_assert_eq!(&words[at + 1], &rg);
                }
                if words[..3] == ["az", "vm", "repair"] || words[..3] == ["az", "vm", "start"] {
                    proptest::prop_assert_eq!(value_of(&words, "-n"), vm.as_str());
                }
                for w in &words {
                    if let Some(inner) = w.strip_prefix("$(").and_then(|w| w.strip_suffix(')')) {
                        let inner = shlex::split(inner).unwrap();
                        proptest::prop_assert_eq!(value_of(&inner, "-g"), rg.as_str());
                    }
                }
            }
        }
    }
}
