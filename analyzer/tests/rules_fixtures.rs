//! Data-driven rule fixtures: `tests/fixtures/rules/<rule-id>/cases.toml` lists real-format
//! exports (wevtutil text in several languages and encodings, XML, CSV) and exactly the
//! findings each must yield. Adding a case is adding a file and three lines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::Event;
use analyzer::diagnose::{DiagnoseOptions, Diagnosis, Session};
use analyzer::input::{no_progress, read_bytes};
use analyzer::rules::{Catalog, Role};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use testkit::evtx_writer::EvtxWriter;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: String,
    findings: Vec<String>,
    confidence: Option<String>,
    #[allow(dead_code)]
    why: Option<String>,
    /// A known reader bug still breaks this case; the test fails once it passes.
    xfail: Option<String>,
}

fn rules_dir() -> PathBuf {
    testkit::fixture("rules")
}

/// Every (rule folder, case) pair.
fn all_cases() -> Vec<(String, PathBuf, Case)> {
    let mut out = Vec::new();
    for dir in testkit::rule_fixture_dirs() {
        let rule = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(dir.join("cases.toml"))
            .unwrap_or_else(|e| panic!("{rule}/cases.toml: {e}"));
        let cases: Cases =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{rule}/cases.toml: {e}"));
        for case in cases.case {
            out.push((rule.clone(), dir.join(&case.file), case));
        }
    }
    out
}

fn diagnose_bytes(name: &str, bytes: &[u8]) -> Diagnosis {
    let mut session = Session::new();
    let report = session.add_bytes(name, bytes, &mut no_progress);
    assert!(report.events > 0, "{name}: no events read: {report:?}");
    assert_eq!(
        report.errors, 0,
        "{name}: the fixture must read cleanly: {:?}",
        report.issues
    );
    session.finish(&DiagnoseOptions::default())
}

fn diagnose_file(path: &Path) -> Diagnosis {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    diagnose_bytes(&path.file_name().unwrap().to_string_lossy(), &bytes)
}

/// The events of an XML fixture written into a binary `.evtx` by testkit's writer: the
/// same evidence in the format Windows keeps it in.
fn evtx_twin(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let mut events: Vec<Event> = Vec::new();
    read_bytes("twin", &bytes, &mut events, &mut no_progress);
    EvtxWriter::new()
        .extend(events)
        .to_bytes()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check(rule: &str, path: &Path, case: &Case, d: &Diagnosis, variant: &str) -> Result<(), String> {
    let ids: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
    let what = format!("{rule}/{} ({variant})", case.file);
    if ids != case.findings {
        let reasons: Vec<_> = d
            .findings
            .iter()
            .map(|f| (&f.id, f.score, &f.reasons))
            .collect();
        return Err(format!(
            "{what}: expected {:?}, got {ids:?}: {reasons:#?}",
            case.findings
        ));
    }
    if let (Some(want), Some(first)) = (&case.confidence, d.findings.first())
        && first.confidence.as_str() != want
    {
        return Err(format!(
            "{what}: confidence {} (score {}), expected {want}: {:#?}",
            first.confidence.as_str(),
            first.score,
            first.reasons
        ));
    }
    let _ = path;
    Ok(())
}

#[test]
fn every_fixture_yields_exactly_its_findings() {
    let mut failures = Vec::new();
    for (rule, path, case) in all_cases() {
        let d = diagnose_file(&path);
        match (check(&rule, &path, &case, &d, "as exported"), &case.xfail) {
            (Err(e), None) => failures.push(e),
            (Ok(()), Some(why)) => failures.push(format!(
                "{rule}/{} passes now: remove its xfail ({why})",
                case.file
            )),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_xml_fixture_written_as_evtx_yields_the_same_findings() {
    let mut failures = Vec::new();
    let mut twins = 0;
    for (rule, path, case) in all_cases()
        .into_iter()
        .filter(|(_, _, c)| c.file.ends_with(".xml"))
    {
        let name = case.file.replace(".xml", ".evtx");
        let d = diagnose_bytes(&name, &evtx_twin(&path));
        assert_eq!(
            d.inputs[0].format.map(|f| f.to_string()).as_deref(),
            Some("evtx")
        );
        if let Err(e) = check(&rule, &path, &case, &d, "as .evtx") {
            failures.push(e);
        }
        twins += 1;
    }
    assert!(twins >= 20, "{twins} twins");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The format of a fixture, from its extension and language tag.
fn format_of(file: &str) -> &'static str {
    if file.ends_with(".xml") {
        "xml"
    } else if file.ends_with(".csv") {
        "csv"
    } else if file.ends_with(".txt") {
        "wevtutil-text"
    } else {
        "other"
    }
}

#[test]
fn every_rule_has_positive_and_negative_fixtures_in_two_formats() {
    let catalog = Catalog::builtin().unwrap();
    let mut positive: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let mut negative: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let cases = all_cases();
    for (rule, _, case) in cases.iter().filter(|(_, _, c)| c.xfail.is_none()) {
        let side = if case.findings.contains(rule) {
            &mut positive
        } else {
            &mut negative
        };
        let formats = side.entry(rule.clone()).or_default();
        formats.insert(format_of(&case.file));
        if case.file.ends_with(".xml") {
            formats.insert("evtx");
        }
    }
    // Rules of configuration conditions only have their cases in tests/fixtures/config/
    // (analyzer/tests/config_rules.rs).
    for rule in catalog.rules.iter().filter(|r| !r.signals.is_empty()) {
        let p = positive.get(&rule.id).map(BTreeSet::len).unwrap_or(0);
        let n = negative.get(&rule.id).map(BTreeSet::len).unwrap_or(0);
        assert!(p >= 2, "{}: positive fixtures in {p} format(s)", rule.id);
        assert!(n >= 2, "{}: negative fixtures in {n} format(s)", rule.id);
        assert!(
            positive[&rule.id].contains("evtx") && negative[&rule.id].contains("evtx"),
            "{}: needs an XML (→ .evtx) positive and negative",
            rule.id
        );
        assert!(rule.signals.iter().any(|s| s.role == Role::Primary));
    }
}

#[test]
fn a_system_only_export_says_the_broker_channels_are_missing() {
    let d = diagnose_file(&rules_dir().join("rdp-broker-renamed/system-only-with-rename.en.txt"));
    let s3 = d
        .looked_for
        .iter()
        .find(|l| l.rule == "rdp-broker-renamed")
        .unwrap();
    assert_eq!(s3.channels_present, Some(false));
    assert!(
        d.hints
            .iter()
            .any(|h| h.text.contains("SessionBroker/Operational")
                && h.commands.iter().any(|c| c.contains("wevtutil epl")))
    );
    assert!(d.verdict.starts_with("no documented RDP failure found"));
}

#[test]
fn localised_and_qualified_exports_keep_their_evidence_details() {
    let d = diagnose_file(&rules_dir().join("rdp-cert-keys/rcm-1057-qualified-id.en.txt"));
    let e = &d.findings[0].evidence[0];
    assert_eq!((e.event_id, e.qualifiers), (1057, Some(0xC000)));
    let d = diagnose_file(&rules_dir().join("rdp-broker-renamed/broker-2056.fr.txt"));
    let e = &d.findings[0].evidence[0];
    assert_eq!(
        e.channel.as_deref(),
        Some("Microsoft-Windows-TerminalServices-SessionBroker/Operational")
    );
    assert!(matches!(e.origin.location, analyzer::Location::Line { line } if line > 1));
}

#[test]
fn the_real_corpus_yields_no_finding_alone_or_together() {
    let dir = testkit::fixture("corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let mut together = Session::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut alone = Session::new();
        alone.add_bytes(&name, &bytes, &mut no_progress);
        let d = alone.finish(&DiagnoseOptions::default());
        let ids: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
        assert!(ids.is_empty(), "{name}: {ids:?}");
        together.add_bytes(&name, &bytes, &mut no_progress);
    }
    let d = together.finish(&DiagnoseOptions::default());
    assert!(
        d.findings.is_empty(),
        "{:?}",
        d.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
    );
    assert!(d.events > 10_000);
    // Near misses were seen and set aside, not silently ignored.
    let ignored: usize = d
        .looked_for
        .iter()
        .flat_map(|l| &l.signals)
        .map(|s| s.ignored.len())
        .sum();
    assert!(ignored > 0);
    assert!(d.verdict.starts_with("no documented RDP failure found"));
}

#[test]
fn the_readme_lists_every_rule_with_its_scenario_and_tier() {
    let readme = std::fs::read_to_string(testkit::repo_root().join("README.md")).unwrap();
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .filter(|l| l.starts_with("| `rdp-"))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    let catalog = Catalog::builtin().unwrap();
    for rule in &catalog.rules {
        let id = format!("`{}`", rule.id);
        let row = rows
            .iter()
            .find(|r| r.get(1) == Some(&id.as_str()))
            .unwrap_or_else(|| panic!("README.md's rule table lacks {id}"));
        let tier = format!("{:?}", rule.tier).to_lowercase();
        assert_eq!(row.get(2), Some(&rule.scenario.as_str()), "{id}");
        assert_eq!(row.get(5), Some(&tier.as_str()), "{id}");
    }
    assert_eq!(
        rows.len(),
        catalog.rules.len(),
        "README.md lists a rule the catalog lacks"
    );
}
