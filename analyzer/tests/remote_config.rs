//! The configuration snapshot's producers: the PowerShell fragment's registry table agrees
//! with the snapshot's schema, the collection script gives the events only what the block
//! leaves of the budget and prints the block last, and the largest block a VM can give fits.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::config::schema::{self, Section};
use analyzer::config::text::Writer;
use analyzer::config::{Value, find_snapshots};
use analyzer::remote::config::{
    FIREWALL_RULES, MAX_HOLDER_BYTES, MAX_SNAPSHOT_BYTES, PROTOCOLS, REGISTRY, RULE_SIDS, SERVICES,
    capped_holders, fragment, script, serial_console_lines,
};
use analyzer::remote::{COLLECTION_BUDGET_BYTES, RUN_COMMAND_OUTPUT_BYTES, remote_collection};
use analyzer::rules::Catalog;

#[test]
fn every_registry_value_read_is_a_schema_key_of_the_same_name() {
    for (section, key, path, value) in REGISTRY {
        let spec = schema::lookup(*section, key).unwrap_or_else(|| panic!("{key}"));
        assert_eq!(spec.name.rsplit('\\').next(), Some(*value), "{key}");
        assert!(path.starts_with(r"HKLM\"), "{path}");
        assert!(fragment().contains(&format!("'{path}'")), "{path}");
    }
    // Every key of the registry sections is read.
    for k in schema::KEYS {
        if matches!(
            k.section,
            Section::Ts | Section::Tsp | Section::Rdp | Section::Lsa
        ) {
            assert!(
                REGISTRY
                    .iter()
                    .any(|(s, key, _, _)| *s == k.section && *key == k.key),
                "{:?} {} is never read",
                k.section,
                k.key
            );
        }
    }
}

#[test]
fn the_collection_script_gives_the_events_what_the_block_leaves_and_prints_it_last() {
    let collection = remote_collection(&Catalog::builtin().unwrap(), 24).script;
    let built = collection.find("$rdpfixConfigBytes = ").unwrap();
    let budget = collection
        .find(&format!(
            "$budget = {COLLECTION_BUDGET_BYTES} - $rdpfixConfigBytes\n"
        ))
        .unwrap();
    assert!(built < budget);
    assert!(
        collection
            .trim_end()
            .ends_with("Write-Output $rdpfixConfig")
    );
    assert_eq!(collection.matches("Write-Output $rdpfixConfig").count(), 1);
    // The fragment itself prints nothing: only its block leaves the script block.
    assert!(!fragment().contains("Write-Output"));
    assert!(script().trim_end().ends_with("Write-Output $rdpfixConfig"));
}

/// The longest holder list a right has: a thousand domain SIDs of the longest form
/// (`S-1-5-21-` and four 10-digit numbers, 52 characters) around three built-in groups,
/// which fill the cap to its last byte.
fn longest_holders() -> Vec<String> {
    let mut all: Vec<String> = (0..1000)
        .map(|n| {
            format!(
                "S-1-5-21-3623811015-3361044348-3030082099-{}",
                4_000_000_000u32 + n
            )
        })
        .collect();
    all.insert(500, "S-1-5-32-544".into());
    all.insert(700, "S-1-5-32-545".into());
    all.push("S-1-5-32-555".into());
    all
}

/// The largest snapshot a VM gives: every section, long account names, two blocking rules
/// with 32-character names, three members with domain SIDs, two services in the listener.
fn largest_snapshot() -> String {
    let set = |v: &str| Value::Set(v.to_owned());
    let mut w = Writer::new(
        "a-fifteen-chars",
        Some("2026-11-20T09:41:07Z".parse().unwrap()),
        Some(26100),
    );
    for (section, key, _, _) in REGISTRY {
        // MachineGuid is written only while the block stays within its bound (the
        // fragment's guard, tested below): the largest block has no room for it.
        if *section == Section::Boot {
            continue;
        }
        let v = if *key == "cert" {
            "8E2C6D0A4B1F37C95D7E06A1B3C4D5E6F7081922"
        } else {
            "4294967295"
        };
        w.value(*section, None, key, &set(v));
    }
    for p in PROTOCOLS {
        let p = p.replace(' ', "");
        w.value(Section::Tls, Some(&p), "en", &set("4294967295"));
        w.value(Section::Tls, Some(&p), "dbd", &set("0"));
    }
    w.value(Section::Ciphers, None, "policy", &set("24"));
    for s in SERVICES {
        w.value(Section::Svc, Some(s), "start", &set("2"));
        w.value(Section::Svc, Some(s), "state", &set("stopping"));
        w.value(
            Section::Svc,
            Some(s),
            "acct",
            &set(r"NT Authority\NetworkService"),
        );
        w.value(Section::Svc, Some(s), "type", &set("32"));
    }
    for p in ["Domain", "Private", "Public"] {
        w.value(Section::Fw, Some(p), "on", &set("off"));
        w.value(Section::Fw, Some(p), "in", &set("allow"));
    }
    for r in FIREWALL_RULES {
        w.value(Section::Fwrule, Some(r), "on", &set("off"));
        w.value(Section::Fwrule, Some(r), "act", &set("block"));
        w.list(
            Section::Fwrule,
            Some(r),
            "prof",
            &["Domain".into(), "Private".into(), "Public".into()],
        );
    }
    for i in 0..2 {
        let id = format!("{{3F1E2B7C-0D9A-4C55-9B0E-6A2F6E7D1C3{i}}}");
        w.value(
            Section::Fwblock,
            Some(&id),
            "name",
            &set(&"Block remote desktop (hardening baseline)"[..32]),
        );
        w.list(
            Section::Fwblock,
            Some(&id),
            "prof",
            &["Domain".into(), "Private".into(), "Public".into()],
        );
    }
    w.value(Section::Fwblock, None, "more", &set("12"));
    w.value(Section::Listen, None, "port", &set("65535"));
    w.value(Section::Listen, None, "pid", &set("4294967295"));
    w.value(
        Section::Listen,
        None,
        "proc",
        &set("a-process-name-of-some-length"),
    );
    w.list(
        Section::Listen,
        None,
        "svc",
        &["TermService".into(), "UmRdpService".into()],
    );
    for (k, v) in [
        ("thumb", "8E2C6D0A4B1F37C95D7E06A1B3C4D5E6F7081922"),
        ("store", "my"),
        ("until", "2027-05-30T10:12:44Z"),
        ("key", "1"),
        ("keyok", "0"),
        ("sa", "0"),
        ("mk", "changed"),
    ] {
        w.value(Section::Cert, None, k, &set(v));
    }
    let domain = |n: u32| format!("S-1-5-21-3623811015-3361044348-30300820-{n}");
    // A domain's groups in both rights, as many as a policy holds: the lists are capped.
    for (key, more) in [("allow", "amore"), ("deny", "dmore")] {
        let (kept, left) = capped_holders(&longest_holders());
        w.list(Section::Rights, None, key, &kept);
        w.value(Section::Rights, None, more, &set(&left.to_string()));
    }
    w.list(
        Section::Rdu,
        None,
        "m",
        &(1001..1004).map(domain).collect::<Vec<_>>(),
    );
    w.value(Section::Rdu, None, "more", &set("40"));
    for (k, v) in [
        ("drive", "C:"),
        ("free", "4294967295"),
        ("size", "4294967295"),
    ] {
        w.value(Section::Disk, None, k, &set(v));
    }
    w.value(
        Section::Time,
        None,
        "src",
        &set("VM IC Time Synchronization Provider"),
    );
    w.value(Section::Time, None, "off", &set("-0.0001234567"));
    for (k, v) in [
        ("setup", "0"),
        ("oobe", "0"),
        ("safe", "2"),
        ("bcdsafe", "Network"),
    ] {
        w.value(Section::Boot, None, k, &set(v));
    }
    w.finish()
}

#[test]
fn the_largest_snapshot_fits_its_bound_and_leaves_room_for_events() {
    let text = largest_snapshot();
    let found = find_snapshots(&text, "largest");
    assert_eq!(found.len(), 1);
    assert!(found[0].issues.is_empty(), "{:?}", found[0].issues);
    for section in schema::SECTIONS {
        assert!(
            found[0].snapshot.as_ref().unwrap().has(section),
            "{section:?}"
        );
    }
    // CR LF line ends, as Run Command returns them.
    let bytes = text.len() + text.lines().count();
    eprintln!("largest snapshot: {bytes} bytes");
    assert!(bytes <= MAX_SNAPSHOT_BYTES, "{bytes} bytes");
    // What the events keep beside the largest block: the script's 200-byte margin (the
    // note) and one typical event.
    let left = COLLECTION_BUDGET_BYTES - MAX_SNAPSHOT_BYTES - 200;
    assert!(
        left >= analyzer::remote::collect::typical_event_bytes("Schannel"),
        "{left}"
    );
    const { assert!(COLLECTION_BUDGET_BYTES < RUN_COMMAND_OUTPUT_BYTES) };
    // Lines stay within the width unless one item alone is longer (a blocking rule's id
    // and name): then it has a line of its own.
    for line in text.lines() {
        let items = line.split(' ').filter(|w| w.contains('=')).count();
        assert!(
            line.len() <= analyzer::config::text::LINE_WIDTH || items == 1,
            "{line}"
        );
    }
}

#[test]
fn the_machine_guid_is_written_only_within_the_bound() {
    let f = fragment();
    let guard = f
        .find("$ids = @($registry | Where-Object { $_[0] -eq 'boot' }")
        .unwrap();
    let write = f
        .find(&format!(
            "if ($size -le {MAX_SNAPSHOT_BYTES}) {{ W 'boot' $ids }}"
        ))
        .unwrap();
    assert!(guard < write);
    // After every other section: the size it checks is the whole block's but its head.
    assert!(f.find("W 'boot' @(('setup='").unwrap() < guard);
    // The largest block with it would not fit: hence the guard.
    let with_guid = largest_snapshot().len()
        + largest_snapshot().lines().count()
        + " boot guid=5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e41\r\n".len();
    assert!(with_guid > MAX_SNAPSHOT_BYTES, "{with_guid}");
}

#[test]
fn serial_console_lines_are_plain_reg_queries() {
    let lines = serial_console_lines();
    assert!(lines.len() >= 5 + PROTOCOLS.len() + SERVICES.len());
    for l in &lines {
        let (echo, query) = l.split_once(" & ").unwrap();
        assert!(echo.starts_with("echo HKEY_LOCAL_MACHINE\\"), "{l}");
        assert!(query.starts_with("reg query \"HKLM\\"), "{l}");
        assert!(
            l.len() <= 250 && !l.contains(['%', '|', '<', '>', '^', '(', ')']),
            "{l}"
        );
        assert_eq!(l.matches('&').count(), 1, "{l}");
    }
}

#[test]
fn a_right_held_by_a_whole_domain_is_capped_built_in_groups_first() {
    let (kept, left) = capped_holders(&longest_holders());
    // The built-in groups the rules look for stay, wherever the policy lists them.
    assert_eq!(kept, ["S-1-5-32-544", "S-1-5-32-555", "S-1-5-32-545"]);
    assert_eq!(left, 1000);
    let written = kept.join(",");
    // The longest list: the cap filled to its last byte.
    assert_eq!(written.len(), MAX_HOLDER_BYTES, "{written}");
    // `rights allow=`, the list and its count fit one line.
    let line = format!("rights allow={written} amore={left}");
    assert!(line.len() <= analyzer::config::text::LINE_WIDTH, "{line}");
    // A short list is kept whole.
    let few = vec!["S-1-5-32-544".to_owned(), "S-1-5-113".to_owned()];
    assert_eq!(capped_holders(&few), (few.clone(), 0));
    // Holders the rules look for come before shorter ones they do not.
    let short: Vec<String> = ["S-1-5-4", "S-1-5-11", "S-1-5-14", "S-1-5-32-555", "S-1-5-6"]
        .map(str::to_owned)
        .to_vec();
    let (kept, left) = capped_holders(&short);
    assert_eq!(kept[0], "S-1-5-32-555");
    assert_eq!(kept.len() + left, 5);
    // The script caps at the same bytes, and says how many it left out.
    let f = fragment();
    assert!(f.contains(&format!("-gt {MAX_HOLDER_BYTES})")), "{f}");
    assert!(f.contains("'amore'") && f.contains("'dmore'"));
}

proptest::proptest! {
    #[test]
    fn capped_holders_keep_a_bounded_part_and_count_the_rest(
        holders in proptest::collection::vec("[ -~]{0,60}", 0..40)
    ) {
        let (kept, left) = capped_holders(&holders);
        proptest::prop_assert_eq!(kept.len() + left, holders.len());
        let written: Vec<String> =
            kept.iter().map(|h| analyzer::config::text::encode(h)).collect();
        proptest::prop_assert!(written.join(",").len() <= MAX_HOLDER_BYTES);
        for k in &kept {
            proptest::prop_assert!(holders.contains(k));
        }
    }
}

#[test]
fn every_sid_a_rule_tests_in_the_logon_rights_is_listed_first() {
    let catalog = Catalog::builtin().unwrap();
    let mut tested = 0;
    for rule in &catalog.rules {
        for c in rule.configs.iter().filter(|c| c.section == Section::Rights) {
            for v in &c.values {
                assert!(RULE_SIDS.contains(&v.as_str()), "{}: {v}", rule.id);
                tested += 1;
            }
        }
    }
    assert!(tested > 0);
}
