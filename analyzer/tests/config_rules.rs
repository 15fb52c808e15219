//! Configuration conditions in rules: each snapshot case of `tests/fixtures/config/`
//! (bare, and as Run Command and Serial Console return it) yields exactly the findings its
//! `cases.toml` lists: read as any input is, judged by `rules::evaluate_with_config` on the
//! newest snapshot per computer (what `Session::finish` calls).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::config::newest_per_computer;
use analyzer::input::{no_progress, read_bytes};
use analyzer::rules::{Catalog, Collector, Finding, evaluate_with_config};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    folder: String,
    findings: Vec<String>,
    /// For one cause shown by events and configuration: the rules of its one finding.
    #[serde(default)]
    parts: Vec<String>,
    #[allow(dead_code)]
    why: String,
}

/// The files a case folder may hold: the block bare, as `az` and `Invoke-AzVMRunCommand`
/// return it, and the Serial Console `reg query` lines' output.
const FILES: [&str; 4] = [
    "snapshot.txt",
    "az-run-command.json",
    "invoke-azvmruncommand.txt",
    "reg-query.txt",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/config")
}

/// The findings of `inputs` under `catalog`, configuration conditions included.
fn judge(catalog: &Catalog, inputs: &[(&str, &[u8])]) -> Vec<Finding> {
    let mut collector = Collector::new(catalog.clone());
    let mut snapshots = Vec::new();
    for (name, bytes) in inputs {
        let report = read_bytes(name, bytes, &mut collector, &mut no_progress);
        snapshots.extend(report.configs);
    }
    let newest = newest_per_computer(&snapshots);
    let now = collector.stats().newest;
    evaluate_with_config(&collector, &newest, now)
}

fn diagnose(name: &str, bytes: &[u8]) -> Vec<Finding> {
    judge(&Catalog::builtin().unwrap(), &[(name, bytes)])
}

#[test]
fn every_snapshot_case_yields_exactly_its_findings() {
    let cases: Cases =
        toml::from_str(&std::fs::read_to_string(dir().join("cases.toml")).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in &cases.case {
        let mut read = 0;
        for file in FILES {
            let Ok(bytes) = std::fs::read(dir().join(&case.folder).join(file)) else {
                continue;
            };
            read += 1;
            let findings = diagnose(file, &bytes);
            let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
            if ids != case.findings {
                let why: Vec<_> = findings.iter().map(|f| (&f.id, &f.reasons)).collect();
                failures.push(format!(
                    "{}/{file}: expected {:?}, got {ids:?}: {why:#?}",
                    case.folder, case.findings
                ));
            }
            let parts: Vec<&str> = findings
                .iter()
                .flat_map(|f| f.parts.iter().map(|p| p.id.as_str()))
                .collect();
            if parts != case.parts {
                failures.push(format!(
                    "{}/{file}: expected parts {:?}, got {parts:?}",
                    case.folder, case.parts
                ));
            }
        }
        assert!(read > 0, "{}: none of {FILES:?}", case.folder);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_folder_is_a_case_and_every_configuration_rule_has_one_positive() {
    let cases: Cases =
        toml::from_str(&std::fs::read_to_string(dir().join("cases.toml")).unwrap()).unwrap();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                cases.case.iter().any(|c| c.folder == name),
                "{name} has no case"
            );
        }
    }
    let catalog = Catalog::builtin().unwrap();
    for rule in catalog.rules.iter().filter(|r| !r.configs.is_empty()) {
        assert!(
            cases.case.iter().any(|c| c.findings.contains(&rule.id)),
            "{} has no positive case",
            rule.id
        );
    }
}

#[test]
fn a_configuration_finding_says_what_was_read_and_where() {
    let bytes = std::fs::read(dir().join("rdp-disabled-policy/snapshot.txt")).unwrap();
    let findings = diagnose("snapshot.txt", &bytes);
    let f = &findings[0];
    assert_eq!(f.reasons.len(), 2);
    assert_eq!(
        f.reasons[0].text,
        "C4: documented in a Microsoft troubleshooting article"
    );
    assert_eq!(
        f.reasons[1].text,
        "RDP is disabled by policy: fDenyTSConnections = 1 under \
         HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services on vm-app-01, line 3"
    );
    assert_eq!(f.score, 85);
    assert!(f.evidence.is_empty());
    let e = &f.config[0];
    assert_eq!(
        (e.name.as_str(), e.value.as_str()),
        ("fDenyTSConnections", "1")
    );
    assert_eq!(e.origin.location, analyzer::Location::Line { line: 3 });
    // An absent value is compared as the release's default, and says so.
    let bytes = std::fs::read(dir().join("rdp-listener-off/snapshot.txt")).unwrap();
    let findings = diagnose("snapshot.txt", &bytes);
    assert!(
        findings[0]
            .config
            .iter()
            .any(|e| e.value == "0" && e.name == "fEnableWinStation"),
        "{:#?}",
        findings[0].config
    );
}

/// A rule with an event signal and a configuration condition: either alone raises it, both
/// add up.
#[test]
fn a_rule_rests_on_events_configuration_or_both() {
    let rule = r#"
[[rule]]
id = "rdp-both"
scenario = "C4"
title = "t"
tier = "documented"
window_hours = 24
explanation = "e"
check_next = ["c"]
source = { title = "s", url = "https://learn.microsoft.com/" }

[[rule.signal]]
id = "refused"
label = "refused"
role = "primary"
weight = 30
provider = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
channels = ["System"]
event_ids = [1070]

[[rule.config]]
id = "denied"
label = "RDP is disabled"
role = "primary"
weight = 20
section = "ts"
key = "deny"
test = "equal"
values = ["1"]

[[rule.remediation]]
why = "w"
step = { kind = "manual", target = "restart_computer" }
"#;
    let builtin = Catalog::builtin_source();
    let catalog = Catalog::from_toml(&format!("{builtin}\n{rule}")).unwrap();
    let event = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
        <Provider Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager'/>\
        <EventID>1070</EventID><Level>2</Level><TimeCreated SystemTime='2026-11-20T09:00:00Z'/>\
        <Channel>System</Channel><Computer>vm-app-01</Computer></System></Event>\n";
    let snapshot = "RDPFIX-CONFIG v1 host=vm-app-01 at=2026-11-20T09:41:07Z os=20348\n\
                    ts deny=1 drain=-\nEND RDPFIX-CONFIG lines=1\n";
    let score = |inputs: &[&str]| {
        let named: Vec<(&str, &[u8])> = inputs.iter().map(|t| ("input", t.as_bytes())).collect();
        judge(&catalog, &named)
            .iter()
            .find(|f| f.id == "rdp-both")
            .map(|f| (f.score, f.evidence.len(), f.config.len()))
    };
    assert_eq!(score(&[event]).map(|s| s.0 > 0), Some(true));
    assert_eq!(score(&[snapshot]), Some((35 + 20, 0, 1)));
    let (events, _, _) = score(&[event]).unwrap();
    assert!(events + 20 <= 100, "{events}");
    assert_eq!(score(&[event, snapshot]), Some((events + 20, 1, 1)));
    let healthy = snapshot.replace("deny=1", "deny=0");
    assert_eq!(score(&[&healthy]), None);
}

/// The page's and `fixer diagnose`'s path: a `Session`, its diagnosis, its verdict.
#[test]
fn a_pasted_collection_output_gives_configuration_findings_through_the_session() {
    use analyzer::diagnose::{DiagnoseOptions, Session};
    let bytes = std::fs::read(dir().join("collection-script/az-run-command.json")).unwrap();
    let mut session = Session::new();
    session.add_bytes("pasted text", &bytes, &mut no_progress);
    let d = session.finish(&DiagnoseOptions::default());
    let ids: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["rdp-config-disabled-by-policy", "rdp-tls-disabled"]);
    assert_eq!(d.inputs[0].configs.len(), 1);
    let why = &d.most_likely.as_ref().unwrap().why;
    assert!(
        why.contains("fDenyTSConnections = 1 under HKLM\\SOFTWARE\\Policies"),
        "{why}"
    );
}

/// The `Diagnosis` of a case folder's Run Command output, through the page's path.
fn session_of(folder: &str) -> analyzer::diagnose::Diagnosis {
    use analyzer::diagnose::{DiagnoseOptions, Session};
    let bytes = std::fs::read(dir().join(folder).join("az-run-command.json")).unwrap();
    let mut session = Session::new();
    session.add_bytes("pasted text", &bytes, &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

/// One cause on events and configuration: one finding listing the events and the values,
/// at least as sure as its stronger part (+10 for the agreement), one remediation with no
/// step twice.
#[test]
fn one_cause_on_events_and_configuration_is_one_finding() {
    use analyzer::plan::Proposal;
    let d = session_of("both-guest-firewall");
    assert_eq!(d.findings.len(), 1, "{:#?}", d.findings);
    let f = &d.findings[0];
    assert!(
        f.evidence.iter().any(|e| e.event_id == 2005),
        "{:#?}",
        f.evidence
    );
    assert!(
        f.config
            .iter()
            .any(|c| c.name == "Enabled" && c.value == "off")
    );
    let (config, events) = (&f.parts[0], &f.parts[1]);
    assert!(config.config && !config.events && events.events && !events.config);
    assert_eq!(f.score, config.score.max(events.score) + 10);
    assert_eq!(
        f.reasons.iter().map(|r| i32::from(r.points)).sum::<i32>(),
        i32::from(f.score)
    );
    assert!(
        f.reasons
            .iter()
            .any(|r| r.points == 0 && r.text.starts_with("rdp-guest-firewall-blocks: ")),
        "{:#?}",
        f.reasons
    );
    let catalog = Catalog::builtin().unwrap();
    let proposal = Proposal::for_diagnosis(&catalog, &d).unwrap();
    let ids: Vec<String> = proposal.findings().iter().map(|i| i.to_string()).collect();
    assert_eq!(ids, ["rdp-config-firewall-rule-off"]);
    // The event rule's one step (the manual firewall step) is the configuration rule's too.
    let rule = catalog.rule("rdp-config-firewall-rule-off").unwrap();
    assert_eq!(proposal.steps().len(), rule.remediation.len());
    for (i, a) in proposal.steps().iter().enumerate() {
        assert!(
            !proposal.steps()[..i].iter().any(|b| b.step == a.step),
            "{a:?} twice"
        );
    }
}

/// When the configuration shows the cause, the steps only the event rule proposes (reset
/// values the snapshot did not find off) are optional; the configuration's stay required.
#[test]
fn event_only_steps_of_a_joined_cause_are_optional() {
    use analyzer::plan::{Proposal, Step};
    let d = session_of("both-rdp-refused");
    let proposal = Proposal::for_diagnosis(&Catalog::builtin().unwrap(), &d).unwrap();
    let optional = |value: &str| {
        proposal
            .steps()
            .iter()
            .find(|s| matches!(s.step.to_step(), Step::SetRegistryValue { target, .. } if target.value == value))
            .map(|s| s.optional)
    };
    assert_eq!(optional("TSServerDrainMode"), Some(false));
    assert_eq!(optional("fEnableWinStation"), Some(true));
    assert_eq!(optional("fDenyTSConnections"), Some(true));
    // Alone, the event rule's finding keeps its steps as written.
    let events = std::fs::read(dir().join("../rules/rdp-logons-disabled/rcm-1070.xml")).unwrap();
    let mut session = analyzer::diagnose::Session::new();
    session.add_bytes("rcm-1070.xml", &events, &mut no_progress);
    let alone = session.finish(&analyzer::diagnose::DiagnoseOptions::default());
    let p = Proposal::for_diagnosis(&Catalog::builtin().unwrap(), &alone).unwrap();
    assert!(p.steps().iter().any(|s| !s.optional && matches!(s.step.to_step(), Step::SetRegistryValue { target, .. } if target.value == "fEnableWinStation")));
}

/// The page's worker sends the `Diagnosis` itself: a joined finding's `parts` survive the
/// JSON round trip, and a finding of one rule still serialises without them.
#[test]
fn a_joined_finding_round_trips_as_json() {
    let d = session_of("both-termservice");
    assert_eq!(d.findings[0].parts.len(), 2);
    let json = serde_json::to_string(&d).unwrap();
    let back: analyzer::diagnose::Diagnosis = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);
    let single = session_of("rdp-termservice-disabled");
    assert!(
        !serde_json::to_string(&single.findings[0])
            .unwrap()
            .contains("\"parts\"")
    );
}

/// Events of one VM and a snapshot of another are not one cause on one machine: two
/// findings. The same snapshot under the events' computer name (another case, a DNS
/// suffix) joins them.
#[test]
fn one_cause_on_two_machines_stays_two_findings() {
    let bytes = std::fs::read(dir().join("both-guest-firewall/az-run-command.json")).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("host=vm-app-01 "));
    let ids = |text: &str| -> Vec<String> {
        diagnose("az-run-command.json", text.as_bytes())
            .iter()
            .map(|f| f.id.clone())
            .collect()
    };
    assert_eq!(
        ids(&text.replace("host=vm-app-01 ", "host=vm-web-02 ")),
        ["rdp-config-firewall-rule-off", "rdp-guest-firewall-blocks"]
    );
    assert_eq!(
        ids(&text.replace("host=vm-app-01 ", "host=VM-APP-01.contoso.com ")),
        ["rdp-config-firewall-rule-off"]
    );
}

/// `both-rdp-refused`'s Run Command output (RCM 1070 and drain mode) with the policy key's
/// `fDenyTSConnections` = 1 as well.
fn refused_by_policy_and_drain() -> Vec<u8> {
    let text = std::fs::read_to_string(dir().join("both-rdp-refused/az-run-command.json")).unwrap();
    assert_eq!(text.matches("tsp deny=-").count(), 1);
    text.replace("tsp deny=-", "tsp deny=1").into_bytes()
}

/// Two values of one cause wrong on one machine are two problems with two fixes: neither
/// configuration finding joins the other, nor the events (which of the two they show is not
/// known).
#[test]
fn two_configuration_findings_of_one_cause_stay_two_findings() {
    let findings = diagnose("az-run-command.json", &refused_by_policy_and_drain());
    let mut ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "rdp-config-disabled-by-policy",
            "rdp-config-drain-mode",
            "rdp-logons-disabled"
        ]
    );
    assert!(findings.iter().all(|f| f.parts.is_empty()), "{findings:#?}");
}

/// Two event rules of one cause are two documented scenarios (MachineKeys ACLs, an
/// unusable custom certificate): both keep their ids.
#[test]
fn two_event_findings_of_one_cause_keep_their_ids() {
    let rules = dir().join("../rules");
    let keys = std::fs::read(rules.join("rdp-cert-keys/rcm-and-schannel.xml")).unwrap();
    let custom = std::fs::read(rules.join("rdp-custom-certificate-unusable/rcm-1055.xml")).unwrap();
    let catalog = Catalog::builtin().unwrap();
    assert_eq!(
        catalog.rule("rdp-cert-keys").unwrap().cause,
        catalog
            .rule("rdp-custom-certificate-unusable")
            .unwrap()
            .cause
    );
    let findings = judge(&catalog, &[("a.xml", &keys[..]), ("b.xml", &custom[..])]);
    let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"rdp-cert-keys"), "{ids:?}");
    assert!(ids.contains(&"rdp-custom-certificate-unusable"), "{ids:?}");
    assert!(findings.iter().all(|f| f.parts.is_empty()));
}

/// "Looked for" counts a rule whose finding joined another's as found.
#[test]
fn a_joined_rule_is_looked_for_and_found() {
    use analyzer::diagnose::{DiagnoseOptions, Session};
    let bytes = std::fs::read(dir().join("both-guest-firewall/az-run-command.json")).unwrap();
    let mut session = Session::new();
    session.add_bytes(
        "az-run-command.json",
        &bytes,
        &mut analyzer::input::no_progress,
    );
    let diagnosis = session.finish(&DiagnoseOptions::default());
    assert_eq!(diagnosis.findings.len(), 1);
    for id in ["rdp-config-firewall-rule-off", "rdp-guest-firewall-blocks"] {
        let line = diagnosis.looked_for.iter().find(|l| l.rule == id).unwrap();
        assert!(line.found, "{id} joined but reported not found");
    }
}
