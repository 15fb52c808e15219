//! SCM 7040 (a service's start type changed): only TermService's is evidence. Windows
//! logs a 7040 for every start-type change (BITS, wuauserv… all the time); the catalog's
//! condition narrows every generated query to `param4` = `TermService`
//! (`remote_xpath.rs` runs the XPath), and the evidence block keeps no other 7040 so the
//! routine ones never crowd the seed evidence out of Run Command's tail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::evidence_block::{BlockBuilder, MAX_BLOCK_BYTES, decode};
use analyzer::input::{no_progress, read_bytes};
use analyzer::rules::{Catalog, kql};

const SIGNAL: &str = "scm-termservice-start-type-changed";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(testkit::fixture(&format!(
        "rules/rdp-termservice-failed/{name}"
    )))
    .unwrap()
}

/// In every format, the 7040 is counted as the rule's supporting signal; from event XML
/// it shows what the start type became and raises the score over the 7000 alone.
#[test]
fn termservice_s_7040_supports_the_failure_in_every_format() {
    let score_of = |files: &[(&str, Vec<u8>)]| {
        let mut s = Session::new();
        for (name, bytes) in files {
            s.add_bytes(name, bytes, &mut no_progress);
        }
        let d = s.finish(&DiagnoseOptions::default());
        let f = d
            .findings
            .iter()
            .find(|f| f.id == "rdp-termservice-failed")
            .cloned();
        f.unwrap_or_else(|| panic!("{:?}", d.findings))
    };
    let alone = score_of(&[(
        "7000.xml",
        std::fs::read(testkit::fixture(
            "rules/rdp-termservice-failed/scm-7000-termservice-1058.xml",
        ))
        .unwrap(),
    )]);
    for file in [
        "scm-7040-termservice-disabled.xml",
        "scm-7040-termservice-disabled.en.txt",
        "scm-7040-termservice-disabled.fr.txt",
        "scm-7040-termservice-disabled.csv",
        "scm-7040-termservice-disabled.az-run-command.json",
    ] {
        let f = score_of(&[(file, fixture(file))]);
        let signal = f.signals.iter().find(|s| s.id == SIGNAL);
        assert!(
            signal.is_some_and(|s| s.in_window + s.older + s.newer + s.time_unknown == 1),
            "{file}: {:?}",
            f.signals
        );
    }
    let xml = score_of(&[("x.xml", fixture("scm-7040-termservice-disabled.xml"))]);
    assert!(xml.score > alone.score, "{} vs {}", xml.score, alone.score);
    let shown = serde_json::to_string(&xml.evidence).unwrap();
    assert!(shown.contains("disabled"), "param3 is shown: {shown}");
}

/// The real System log of the corpus holds 24 routine 7040s (BITS and others): none of
/// them, nor the near misses' BITS 7040s, is relevant to the block; TermService's is, and
/// the block keeps it.
#[test]
fn the_evidence_block_keeps_termservice_s_7040_and_no_routine_one() {
    let catalog = Catalog::builtin().unwrap();
    let corpus = std::fs::read(testkit::fixture("corpus/system.evtx")).unwrap();
    let block = |files: &[&str]| {
        let mut builder = BlockBuilder::new(&catalog);
        let report = read_bytes("system.evtx", &corpus, &mut builder, &mut no_progress);
        assert!(report.events > 1000, "{report:?}");
        for file in files {
            read_bytes(file, &fixture(file), &mut builder, &mut no_progress);
        }
        builder.finish(MAX_BLOCK_BYTES)
    };
    let corpus_alone = block(&[]);
    let near = block(&["scm-7040-near-misses.xml"]);
    assert_eq!(
        near.relevant, corpus_alone.relevant,
        "BITS 7040s are not relevant"
    );
    let both = block(&[
        "scm-7040-near-misses.xml",
        "scm-7040-termservice-disabled.xml",
    ]);
    assert_eq!(
        both.relevant,
        corpus_alone.relevant + 2,
        "the 7040 and the 7000"
    );
    let decoded = decode(&both.text, "block").unwrap();
    let kept: Vec<Option<&str>> = decoded
        .events
        .iter()
        .filter(|e| e.event_id == 7040)
        .map(|e| e.data_value("param4"))
        .collect();
    assert!(
        kept.contains(&Some("TermService")),
        "TermService's 7040 is kept: {kept:?}"
    );
}

/// The Azure Monitor query of the rule narrows 7040 to TermService by its condition.
#[test]
fn the_kql_narrows_7040_to_termservice() {
    let catalog = Catalog::builtin().unwrap();
    let rule = catalog
        .rules
        .iter()
        .find(|r| r.id == "rdp-termservice-failed")
        .unwrap();
    let query = kql::rule_query(&catalog, rule);
    let clause = query
        .lines()
        .find(|l| l.contains("EventID in (7040)"))
        .unwrap_or_else(|| panic!("{query}"));
    assert!(
        clause.contains("ParameterXml has_any (\"TermService\""),
        "{clause}"
    );
}
