//! What the catalog generates besides findings: evidence-collection commands and Azure
//! Monitor queries. Snapshots pin the text; the assertions say what must always hold.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::rules::{Catalog, collection, kql};

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

#[test]
fn collection_guide_snapshot() {
    insta::assert_yaml_snapshot!(collection::guide(&catalog(), 24));
}

#[test]
fn export_script_snapshot() {
    insta::assert_snapshot!(
        collection::export_script(&collection::guide(&catalog(), 24)).join("\n")
    );
}

#[test]
fn kql_snapshot() {
    insta::assert_snapshot!(kql::queries(&catalog()));
}

#[test]
fn scenario_3_queries_read_the_operational_channels_with_unpadded_provider_names() {
    // The source article queries `system` for these, with ' Microsoft-Windows-…-SessionBroker '.
    let guide = collection::guide(&catalog(), 24);
    let s3: Vec<_> = guide
        .queries
        .iter()
        .filter(|q| q.rule == "rdp-broker-renamed" && q.signal != "computer-renamed")
        .collect();
    assert_eq!(s3.len(), 2);
    for q in s3 {
        assert!(q.channel.ends_with("/Operational"), "{}", q.channel);
        assert!(
            q.command
                .starts_with(&format!("wevtutil qe \"{}\"", q.channel))
        );
        assert!(
            !q.xpath.contains("@Name=' ") && !q.xpath.contains(" ']"),
            "{}",
            q.xpath
        );
    }
}

#[test]
fn every_generated_xpath_stays_within_the_event_logs_expression_limit() {
    let guide = collection::guide(&catalog(), 24);
    let xpaths =
        guide
            .queries
            .iter()
            .map(|q| q.xpath.clone())
            .chain(guide.exports.iter().flat_map(|e| {
                let text = e
                    .text_command
                    .split("/q:\"")
                    .nth(1)
                    .unwrap()
                    .trim_end_matches('"')
                    .to_string();
                [e.xpath.clone(), text]
            }));
    for xpath in xpaths {
        let n = collection::xpath_expressions(&xpath);
        assert!(
            (2..=collection::MAX_XPATH_EXPRESSIONS).contains(&n)
                || xpath == "*[System[TimeCreated[timediff(@SystemTime) <= 86400000]]]",
            "{n} expressions: {xpath}"
        );
        assert_eq!(
            xpath.matches('[').count(),
            xpath.matches(']').count(),
            "{xpath}"
        );
        assert_eq!(
            xpath.matches('(').count(),
            xpath.matches(')').count(),
            "{xpath}"
        );
    }
}

#[test]
fn every_channel_a_rule_reads_has_an_export_and_the_window_is_in_milliseconds() {
    let catalog = catalog();
    let guide = collection::guide(&catalog, 24);
    for channel in catalog.channels() {
        let export = guide.exports.iter().find(|e| e.channel == channel).unwrap();
        assert!(
            export
                .export_command
                .contains("timediff(@SystemTime) <= 86400000")
        );
        assert!(export.file_name.ends_with(".evtx") && !export.file_name.contains('/'));
    }
    let week = collection::guide(&catalog, 168);
    assert!(week.exports[0].xpath.contains("<= 604800000"));
}

#[test]
fn kql_names_each_rule_and_flags_operational_channels() {
    let catalog = catalog();
    let text = kql::queries(&catalog);
    for rule in &catalog.rules {
        // A rule resting only on a configuration snapshot reads no event: no query.
        let named = text.contains(&format!("// {} (", rule.id));
        assert_eq!(named, !rule.signals.is_empty(), "{}", rule.id);
    }
    let s3 = kql::rule_query(&catalog, catalog.rule("rdp-broker-renamed").unwrap());
    assert!(s3.contains("is an Operational channel"));
    assert!(s3.contains("\"Microsoft-Windows-TerminalServices-SessionBroker/Operational\""));
    let s2 = kql::rule_query(&catalog, catalog.rule("rdp-tls-disabled").unwrap());
    assert!(s2.contains("has_any (\"10013\")"), "{s2}");
}
