//! The commands that carry logs out and the fix in through Run Command and Serial Console:
//! snapshots pin the text; the assertions check what must hold for any input — the `az`
//! line split as bash splits it (`shlex`) and the PowerShell line read by a tokeniser of
//! PowerShell's verbatim strings give back exactly the script; the cmd.exe lines carry
//! nothing cmd.exe would read; sizes stay within the channels' limits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::envelope::{MAX_COMMAND_CHARS, PreparedPlan, SecretKey, token};
use analyzer::plan::{PlanId, PlanParams, Sha256Digest};
use analyzer::remote::collect::{COLLECTION_BUDGET_BYTES, typical_event_bytes};
use analyzer::remote::{
    NameError, ResourceGroup, SerialLine, VmName, fix_delivery, remote_collection, run_command,
    snapshot,
};
use analyzer::rules::Catalog;
use jiff::Timestamp;

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn group() -> ResourceGroup {
    ResourceGroup::parse("rg-prod(weu)_01.a").unwrap()
}

fn vm() -> VmName {
    VmName::parse("rdp-vm01").unwrap()
}

const FIXER_URL: &str = "https://rdpfix.example.net/fixer.exe";
const FIXER_SHA: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";

/// A real fix token: `rules` signed as the page would sign them.
fn token_for(rules: &[&str], computer: &str) -> String {
    let catalog = catalog();
    let issued: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let plan = catalog
        .proposal(rules.iter().copied())
        .unwrap()
        .to_plan(&PlanParams {
            computer: computer.into(),
            evidence_sha256: Sha256Digest([0xab; 32]),
            plan_id: PlanId::from_random([0x5c; 16]),
            issued_at: issued,
            lifetime: analyzer::plan::DEFAULT_LIFETIME,
            seq: PlanParams::seq_for(issued),
        })
        .unwrap();
    PreparedPlan::new(&plan)
        .unwrap()
        .sign_with(&SecretKey::from_seed([9; 32]))
        .unwrap()
        .token()
}

/// PowerShell's verbatim string at the start of `text`: returns its value and the rest.
/// Any of `'` U+2018 U+2019 U+201A U+201B opens and closes it; two in a row stand for the
/// second one (about_Quoting_Rules).
fn powershell_verbatim(text: &str) -> Option<(String, &str)> {
    const QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];
    let mut chars = text.char_indices().peekable();
    let (_, first) = chars.next()?;
    if !QUOTES.contains(&first) {
        return None;
    }
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        if QUOTES.contains(&c) {
            match chars.peek() {
                Some((_, next)) if QUOTES.contains(next) => {
                    value.push(*next);
                    chars.next();
                }
                _ => return Some((value, &text[i + c.len_utf8()..])),
            }
        } else {
            value.push(c);
        }
    }
    None
}

/// The value of `-Name '<verbatim>'` in a PowerShell command line.
fn powershell_argument(line: &str, name: &str) -> String {
    let at = line
        .find(&format!("{name} "))
        .unwrap_or_else(|| panic!("{name} in {line}"));
    let (value, _) = powershell_verbatim(&line[at + name.len() + 1..]).unwrap();
    value
}

#[test]
fn the_powershell_tokeniser_follows_the_quoting_rules() {
    assert_eq!(
        powershell_verbatim("'it''s' x"),
        Some(("it's".into(), " x"))
    );
    assert_eq!(
        powershell_verbatim("'a\u{2019}\u{2019}b'"),
        Some(("a\u{2019}b".into(), ""))
    );
    assert_eq!(
        powershell_verbatim("'$env:x `n'"),
        Some(("$env:x `n".into(), ""))
    );
    assert_eq!(
        powershell_verbatim("'line1\nline2'"),
        Some(("line1\nline2".into(), ""))
    );
    // A typographic quote ends the string like an ASCII one.
    assert_eq!(
        powershell_verbatim("'a\u{2018} b'"),
        Some(("a".into(), " b'"))
    );
    assert_eq!(powershell_verbatim("'open"), None);
}

#[test]
fn powershell_quoting_survives_every_quote_character() {
    let nasty = "a'b\u{2018}c\u{2019}d\u{201A}e\u{201B}f $x `n \"q\" ''";
    let quoted = analyzer::remote::quote::powershell(nasty);
    assert_eq!(powershell_verbatim(&quoted), Some((nasty.to_owned(), "")));
    let bash = analyzer::remote::quote::bash(nasty);
    assert_eq!(shlex::split(&bash), Some(vec![nasty.to_owned()]));
}

#[test]
fn collection_snapshot() {
    let collection = remote_collection(&catalog(), 24);
    insta::assert_yaml_snapshot!("collection_queries", collection.queries);
    insta::assert_snapshot!("collection_script", collection.script);
}

#[test]
fn collection_script_round_trips_through_az_and_powershell_quoting() {
    let collection = remote_collection(&catalog(), 24);
    let forms = run_command(&group(), &vm(), &collection.script);
    let words = shlex::split(&forms.az).expect("bash can split the az line");
    let at = |flag: &str| words.iter().position(|w| w == flag).unwrap() + 1;
    assert_eq!(&words[..4], ["az", "vm", "run-command", "invoke"]);
    assert_eq!(words[at("-g")], "rg-prod(weu)_01.a");
    assert_eq!(words[at("-n")], "rdp-vm01");
    assert_eq!(words[at("--command-id")], "RunPowerShellScript");
    assert_eq!(words[at("--scripts")], collection.script);
    assert_eq!(words.len(), at("--scripts") + 1);

    assert_eq!(
        powershell_argument(&forms.powershell, "-ScriptString"),
        collection.script
    );
    assert_eq!(
        powershell_argument(&forms.powershell, "-ResourceGroupName"),
        "rg-prod(weu)_01.a"
    );
    assert_eq!(
        powershell_argument(&forms.powershell, "-VMName"),
        "rdp-vm01"
    );
    insta::assert_snapshot!("run_command_collection_powershell", forms.powershell);
}

#[test]
fn the_script_is_ascii_and_has_each_query_as_a_verbatim_pair() {
    let collection = remote_collection(&catalog(), 24);
    assert!(collection.script.is_ascii());
    for q in &collection.queries {
        let line = format!(
            ",@({}, {})",
            analyzer::remote::quote::powershell(&q.channel),
            analyzer::remote::quote::powershell(&q.xpath)
        );
        assert!(collection.script.contains(&line), "{line}");
    }
}

#[test]
fn wevtutil_lines_are_valid_in_cmd_and_powershell() {
    for q in remote_collection(&catalog(), 24).queries {
        // cmd.exe: outside the quotes nothing it reads (< > | & ^ %); inside, no % or ".
        let (before, rest) = q.wevtutil.split_once("/q:\"").unwrap();
        let (inside, after) = rest.split_once('"').unwrap();
        assert_eq!(inside, q.xpath);
        for outside in [before, after] {
            assert!(
                !outside.contains(['<', '>', '|', '&', '^', '%', '"']),
                "{}",
                q.wevtutil
            );
        }
        assert!(!inside.contains(['%', '"']));
        // PowerShell: inside double quotes only $ and ` are special; outside, no ; | & ( ) {.
        assert!(!inside.contains(['$', '`']), "{}", q.wevtutil);
        assert!(!before.contains([';', '|', '&', '(', ')', '{', '@', '$']));
        assert!(after.starts_with(" /rd:true /c:") && after.ends_with(" /f:text"));
        assert_eq!(
            powershell_argument(&q.get_winevent, "-FilterXPath"),
            q.xpath
        );
        assert_eq!(powershell_argument(&q.get_winevent, "-LogName"), q.channel);
    }
}

/// The size of each `wevtutil /f:text` event block in the rule fixtures, by provider.
fn fixture_block_sizes() -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for rule in std::fs::read_dir(testkit::fixture("rules")).unwrap() {
        for file in std::fs::read_dir(rule.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if !path.to_string_lossy().ends_with(".txt") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let text = analyzer::input::decode_text(&bytes).text;
            if !text.contains("Event[") {
                continue;
            }
            for block in text.split("Event[").skip(1) {
                let source = block
                    .lines()
                    .find_map(|l| {
                        l.trim().split_once(':').filter(|(k, _)| {
                            k.trim() == "Source" || k.trim() == "Quelle" || k.trim() == "Source "
                        })
                    })
                    .map(|(_, v)| v.trim().to_owned())
                    .unwrap_or_default();
                // As Run Command returns it: UTF-8, CR LF.
                let size = "Event[".len() + block.len() + block.matches('\n').count();
                out.push((source, size));
            }
        }
    }
    out
}

#[test]
fn event_counts_are_chosen_from_measured_event_sizes() {
    let sizes = fixture_block_sizes();
    assert!(sizes.len() > 30, "{} blocks", sizes.len());
    for (provider, size) in &sizes {
        assert!(
            *size <= typical_event_bytes(provider),
            "a {provider} event of {size} bytes is larger than the estimate {}",
            typical_event_bytes(provider)
        );
    }
    for q in remote_collection(&catalog(), 24).queries {
        let worst = q
            .selects
            .iter()
            .map(|s| typical_event_bytes(&s.provider))
            .max()
            .unwrap();
        assert!(q.max_events >= 1);
        assert!(
            q.max_events as usize * worst <= COLLECTION_BUDGET_BYTES,
            "{}",
            q.wevtutil
        );
        assert!(q.wevtutil.contains(&format!("/c:{}", q.max_events)));
    }
}

#[test]
fn snapshot_commands_for_the_os_disk() {
    let at: Timestamp = "2026-11-25T11:50:00Z".parse().unwrap();
    let s = snapshot(&group(), &vm(), at);
    assert_eq!(s.name, "rdp-vm01-os-rdpfix-20261125T1150Z");
    let words = shlex::split(&s.az).unwrap();
    assert_eq!(&words[..3], ["az", "snapshot", "create"]);
    assert!(words.contains(&"rg-prod(weu)_01.a".to_owned()));
    insta::assert_snapshot!("snapshot_commands", format!("{}\n\n{}", s.az, s.powershell));
    // The longest VM name still gives a snapshot name Azure accepts (at most 80).
    let long = VmName::parse(&"v".repeat(64)).unwrap();
    let s = snapshot(&group(), &long, at);
    assert!(s.name.len() <= 80, "{}", s.name);
    assert!(s.name.ends_with("-os-rdpfix-20261125T1150Z"));
}

#[test]
fn azure_names_are_checked_before_they_reach_a_command() {
    assert!(ResourceGroup::parse("rg_prod-01.(weu)").is_ok());
    assert!(ResourceGroup::parse("Ressourcengruppe-Übung").is_ok());
    assert!(matches!(
        ResourceGroup::parse("rg."),
        Err(NameError::BadEnd { .. })
    ));
    assert!(matches!(
        ResourceGroup::parse("rg'; rm -rf /"),
        Err(NameError::BadCharacter { .. })
    ));
    assert!(matches!(
        ResourceGroup::parse(""),
        Err(NameError::Empty { .. })
    ));
    assert!(matches!(
        ResourceGroup::parse(&"r".repeat(91)),
        Err(NameError::TooLong { .. })
    ));
    assert!(VmName::parse("RDP-VM01").is_ok());
    for bad in [
        "vm 01", "vm.01", "vm_01", "vm$(x)", "vm-", "-vm", "vm'01", "vmé",
    ] {
        assert!(VmName::parse(bad).is_err(), "{bad}");
    }
    assert!(matches!(
        VmName::parse(&"v".repeat(65)),
        Err(NameError::TooLong { .. })
    ));
    let e = VmName::parse("vm;01").unwrap_err().to_string();
    assert!(
        e.contains("`;`") && e.starts_with("the virtual machine name"),
        "{e}"
    );
}

#[test]
fn fix_script_checks_the_hash_before_running_and_enrols_nothing() {
    let token = token_for(&["rdp-cert-keys"], "rdp-vm01");
    let fix = fix_delivery(FIXER_URL, FIXER_SHA, &token).unwrap();
    let script = &fix.script;
    assert!(script.is_ascii());
    let hash_check = script.find("if ($got -ne $sha)").unwrap();
    let apply = script.find("& $exe apply --yes").unwrap();
    assert!(hash_check < apply);
    assert!(!script.to_lowercase().contains("trust add"));
    assert!(script.contains(&format!("$sha = '{}'", FIXER_SHA.to_uppercase())));
    assert!(script.contains(&format!("-Uri '{FIXER_URL}'")));
    // The token goes in verbatim and decodes to the signed envelope.
    let quoted = &script[apply + "& $exe apply --yes ".len()..];
    let (value, _) = powershell_verbatim(quoted).unwrap();
    assert_eq!(value, token);
    assert!(token::decode(&value).is_ok());
    insta::assert_snapshot!("fix_script", script.replace(&token, "<TOKEN>"));
}

#[test]
fn serial_console_line_carries_the_same_statements_within_cmds_limit() {
    let token = token_for(&["rdp-cert-keys"], "rdp-vm01");
    let fix = fix_delivery(FIXER_URL, FIXER_SHA, &token).unwrap();
    let SerialLine::Line(line) = &fix.serial_console else {
        panic!("{:?}", fix.serial_console)
    };
    assert!(line.len() < MAX_COMMAND_CHARS);
    // cmd.exe: one double-quoted argument; nothing cmd expands inside it.
    let (head, rest) = line.split_once(" -Command \"").unwrap();
    assert_eq!(head, "powershell -NoProfile -ExecutionPolicy Bypass");
    let command = rest.strip_suffix('"').unwrap();
    assert!(!command.contains(['"', '%', '\n', '\r']));
    let statements: Vec<&str> = fix.script.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(command, statements.join("; "));
    insta::assert_snapshot!("serial_console_line", line.replace(&token, "<TOKEN>"));
}

#[test]
fn fix_forms_for_the_largest_plan_fit_the_channels() {
    let catalog = catalog();
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    let token = token_for(&ids, &"v".repeat(analyzer::plan::ComputerName::MAX));
    let fix = fix_delivery(FIXER_URL, FIXER_SHA, &token).unwrap();
    let forms = run_command(&group(), &vm(), &fix.script);
    let line = match &fix.serial_console {
        SerialLine::Line(l) => l.len(),
        SerialLine::TooLong { chars } => panic!("{chars} characters"),
    };
    eprintln!(
        "largest plan: token {} chars, fix script {} bytes, az form {} bytes, Invoke-AzVMRunCommand form {} bytes, Serial Console line {line} chars (limit {MAX_COMMAND_CHARS})",
        token.len(),
        fix.script.len(),
        forms.az.len(),
        forms.powershell.len()
    );
    assert!(line < MAX_COMMAND_CHARS);
    let words = shlex::split(&forms.az).unwrap();
    assert_eq!(words.last().unwrap(), &fix.script);
    assert_eq!(
        powershell_argument(&forms.powershell, "-ScriptString"),
        fix.script
    );
}

#[test]
fn fix_script_refuses_what_cannot_go_into_a_command() {
    let token = token_for(&["rdp-tls-disabled"], "rdp-vm01");
    for url in [
        "http://rdpfix.example.net/fixer.exe",
        "https://x/fix'er.exe",
        "https://x/a%20b.exe",
        "https://x/a b.exe",
        "ftp://x/fixer.exe",
        "https:///fixer.exe",
    ] {
        assert!(fix_delivery(url, FIXER_SHA, &token).is_err(), "{url}");
    }
    assert!(fix_delivery("http://localhost:8080/fixer.exe", FIXER_SHA, &token).is_ok());
    assert!(fix_delivery(FIXER_URL, "abc", &token).is_err());
    assert!(fix_delivery(FIXER_URL, FIXER_SHA, "rdpfix1.5.ab'cd").is_err());
    assert!(fix_delivery(FIXER_URL, FIXER_SHA, "Remove-Item C:\\").is_err());
}
