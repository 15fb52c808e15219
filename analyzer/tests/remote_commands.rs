//! The commands that carry logs out through Run Command and Serial Console, the snapshot and
//! the Azure names: snapshots pin the text; the assertions check what must hold for any
//! input — the `az` line split as bash splits it (`shlex`) and the PowerShell line read by a
//! tokeniser of PowerShell's verbatim strings give back exactly the script; the cmd.exe
//! lines carry nothing cmd.exe would read; sizes stay within the channels' limits. The
//! enrolment and fix scripts: `remote_scripts.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod remote_common;

use analyzer::remote::collect::{COLLECTION_BUDGET_BYTES, typical_event_bytes};
use analyzer::remote::{
    NameError, ResourceGroup, VmName, remote_collection, run_command, snapshot,
};
use jiff::Timestamp;
use remote_common::{catalog, group, powershell_argument, powershell_verbatim, vm};

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
        // A channel name with spaces (the firewall's) is quoted as a whole.
        let before = before.replace(&format!("\"{}\"", q.channel), &q.channel);
        let before = before.as_str();
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
    for rule in testkit::rule_fixture_dirs() {
        for file in std::fs::read_dir(rule).unwrap() {
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
