//! The catalog's validation, one broken catalog at a time, and the built-in catalog.

use super::*;
use std::collections::BTreeSet;

/// A valid minimal catalog with the three seed rules; tests break it one way each.
fn minimal() -> String {
    let mut text = String::from(
        "version = 1\n\n[[context]]\nid = \"dc\"\ndescription = \"a DC\"\nchannels = [\"Directory Service\"]\n",
    );
    for (id, scenario) in [
        ("rdp-cert-keys", "S1"),
        ("rdp-tls-disabled", "S2"),
        ("rdp-broker-renamed", "S3"),
    ] {
        text.push_str(&format!(
            r#"
[[rule]]
id = "{id}"
scenario = "{scenario}"
title = "t"
tier = "seed"
window_hours = 24
explanation = "e"
check_next = ["c"]
source = {{ title = "s", url = "https://example.org/" }}

[[rule.signal]]
id = "a"
label = "l"
role = "primary"
weight = 30
provider = "Schannel"
channels = ["System"]
event_ids = [36870]

[[rule.remediation]]
why = "w"
step = {{ kind = "manual", target = "restart_computer" }}
"#
        ));
    }
    text
}

#[test]
fn builtin_catalog_is_valid_and_has_the_seed_rules() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("builtin catalog rejected: {e}"));
    for id in SEED_RULE_IDS {
        let rule = catalog.rule(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(rule.tier, Tier::Seed);
    }
    assert!(
        catalog.rules.len() > 3,
        "the catalog goes beyond the seed scenarios"
    );
}

#[test]
fn minimal_catalog_is_accepted() {
    assert!(Catalog::from_toml(&minimal()).is_ok());
}

#[test]
fn rejects_unknown_field_with_its_line() {
    let text = minimal().replacen("weight = 30", "weight = 30\nweigth = 3", 1);
    let line = text
        .lines()
        .position(|l| l.starts_with("weigth"))
        .map(|i| i + 1);
    match Catalog::from_toml(&text) {
        Err(CatalogError::Syntax { line: l, message }) => {
            assert!(message.contains("weigth"), "{message}");
            assert_eq!(Some(l), line);
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn rejects_duplicate_rule_ids() {
    let text = minimal().replace("id = \"rdp-tls-disabled\"", "id = \"rdp-cert-keys\"");
    let err = Catalog::from_toml(&text).err();
    assert!(
        matches!(&err, Some(CatalogError::Catalog { problem }) if problem.contains("duplicate rule id")),
        "{err:?}"
    );
}

#[test]
fn rejects_duplicate_signal_ids_in_a_rule() {
    let text = minimal().replacen(
        "event_ids = [36870]\n",
        "event_ids = [36870]\n\n[[rule.signal]]\nid = \"a\"\nlabel = \"l\"\nrole = \"primary\"\nweight = 1\nprovider = \"Schannel\"\nchannels = [\"System\"]\nevent_ids = [36872]\n",
        1,
    );
    let err = Catalog::from_toml(&text).err();
    assert!(
        matches!(&err, Some(CatalogError::Rule { rule, problem }) if rule == "rdp-cert-keys" && problem.contains("duplicate signal id")),
        "{err:?}"
    );
}

#[test]
fn rejects_a_doubt_naming_an_unknown_context_or_signal() {
    let base = minimal();
    let unknown_context = base.replacen("event_ids = [36870]\n", "event_ids = [36870]\n[[rule.signal.doubt]]\ncontext = \"nope\"\npenalty = 5\nwhy = \"w\"\n", 1);
    assert!(
        matches!(Catalog::from_toml(&unknown_context), Err(CatalogError::Rule { problem, .. }) if problem.contains("unknown context `nope`"))
    );
    let unknown_signal = base.replacen("event_ids = [36870]\n", "event_ids = [36870]\n[[rule.signal.doubt]]\ncontext = \"dc\"\nunless = [\"ghost\"]\npenalty = 5\nwhy = \"w\"\n", 1);
    assert!(
        matches!(Catalog::from_toml(&unknown_signal), Err(CatalogError::Rule { problem, .. }) if problem.contains("unknown signal `ghost`"))
    );
}

#[test]
fn rejects_a_missing_seed_rule() {
    let text = minimal().replace(
        "id = \"rdp-broker-renamed\"\nscenario = \"S3\"",
        "id = \"rdp-other-thing\"\nscenario = \"S3\"",
    );
    assert!(
        matches!(Catalog::from_toml(&text), Err(CatalogError::Catalog { problem }) if problem.contains("rdp-broker-renamed"))
    );
}

#[test]
fn rejects_a_derived_rule_claiming_a_seed_scenario() {
    let text = minimal().replacen("tier = \"seed\"", "tier = \"derived\"", 1);
    assert!(
        matches!(Catalog::from_toml(&text), Err(CatalogError::Rule { problem, .. }) if problem.contains("seed"))
    );
}

#[test]
fn rejects_provider_names_with_spaces_like_the_articles_s3_queries() {
    let text = minimal().replacen("provider = \"Schannel\"", "provider = \" Schannel \"", 1);
    assert!(
        matches!(Catalog::from_toml(&text), Err(CatalogError::Rule { problem, .. }) if problem.contains("surrounding spaces"))
    );
}

#[test]
fn rejects_non_numeric_values_of_a_number_condition() {
    let text = minimal().replacen(
        "event_ids = [36870]\n",
        "event_ids = [36870]\n[[rule.signal.condition]]\nlabel = \"c\"\nfields = [\"ErrorState\"]\nvalues = [\"ten\"]\ncompare = \"number\"\n",
        1,
    );
    assert!(
        matches!(Catalog::from_toml(&text), Err(CatalogError::Rule { problem, .. }) if problem.contains("`ten` is not a number"))
    );
}

#[test]
fn rejects_an_optional_condition_that_would_set_aside_what_it_cannot_check() {
    let condition = "event_ids = [36870]\n[[rule.signal.condition]]\nlabel = \"c\"\nfields = [\"ErrorState\"]\nvalues = [\"10001\"]\ncompare = \"number\"\nunknown = \"rejects\"\n";
    let text = minimal().replacen("event_ids = [36870]\n", condition, 1);
    assert!(
        matches!(Catalog::from_toml(&text), Err(CatalogError::Rule { problem, .. }) if problem.contains("needs required = true"))
    );
    let required = condition.replace("unknown =", "required = true\nunknown =");
    let text = minimal().replacen("event_ids = [36870]\n", &required, 1);
    assert!(Catalog::from_toml(&text).is_ok());
}

#[test]
fn rejects_bad_rule_ids_and_versions() {
    let text = minimal().replace("id = \"rdp-tls-disabled\"", "id = \"RDP_TLS\"");
    assert!(
        matches!(Catalog::from_toml(&text), Err(CatalogError::Rule { problem, .. }) if problem.contains("lowercase words"))
    );
    let text = minimal().replacen("version = 1", "version = 2", 1);
    assert_eq!(
        Catalog::from_toml(&text).err(),
        Some(CatalogError::Version { found: 2 })
    );
}

#[test]
fn rejects_a_rule_without_remediation_or_with_a_step_off_the_allowlist() {
    let none = minimal().replacen("[[rule.remediation]]\nwhy = \"w\"\nstep = { kind = \"manual\", target = \"restart_computer\" }\n", "", 1);
    assert!(
        matches!(Catalog::from_toml(&none), Err(CatalogError::Rule { problem, .. }) if problem.contains("needs a remediation")),
        "{:?}",
        Catalog::from_toml(&none).err()
    );
    let spooler = minimal().replacen(
        "step = { kind = \"manual\", target = \"restart_computer\" }",
        "step = { kind = \"restart_service\", target = \"Spooler\" }",
        1,
    );
    let err = Catalog::from_toml(&spooler).err();
    assert!(
        matches!(&err, Some(CatalogError::Rule { problem, .. }) if problem.starts_with("remediation:")),
        "{err:?}"
    );
    let optional = minimal().replacen("why = \"w\"\n", "why = \"w\"\noptional = true\n", 1);
    assert!(
        matches!(Catalog::from_toml(&optional), Err(CatalogError::Rule { problem, .. }) if problem.contains("at least one must be required"))
    );
}

#[test]
fn every_builtin_rule_has_a_required_remediation_step() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    for rule in &catalog.rules {
        assert!(rule.remediation.iter().any(|r| !r.optional), "{}", rule.id);
    }
    let s3 = catalog
        .rule("rdp-broker-renamed")
        .unwrap_or_else(|| panic!("no S3"));
    assert_eq!(
        s3.remediation.len(),
        1,
        "S3's fix is manual and destructive: nothing else"
    );
}

#[test]
fn channels_are_listed_once_in_catalog_order() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    let channels = catalog.channels();
    assert_eq!(channels.first(), Some(&"System"));
    assert!(channels.contains(&"Microsoft-Windows-TerminalServices-SessionBroker/Operational"));
    assert!(channels.contains(&"Security"));
    let mut sorted: Vec<String> = channels.iter().map(|c| c.to_ascii_lowercase()).collect();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), channels.len());
}

/// `minimal()` with one condition on the first rule's signal.
fn with_condition(values: &str, compare: &str) -> String {
    minimal().replacen(
        "event_ids = [36870]\n",
        &format!("event_ids = [36870]\n[[rule.signal.condition]]\nlabel = \"status\"\nfields = [\"Status\"]\nvalues = [{values}]\ncompare = \"{compare}\"\n"),
        1,
    )
}

#[test]
fn a_bad_number_is_refused_at_load_naming_the_rule_signal_and_condition() {
    for bad in ["\"0x8009030G\"", "\"0x1FFFFFFFFFFFFFFFF\"", "\"-\"", "\"\""] {
        let err = Catalog::from_toml(&with_condition(&format!("\"0x10\", {bad}"), "number")).err();
        match &err {
            Some(CatalogError::Rule { rule, problem }) => {
                assert_eq!(rule, "rdp-cert-keys", "{bad}");
                assert!(
                    problem.starts_with("signal `a`: condition `status`: `"),
                    "{bad}: {problem}"
                );
                assert!(problem.ends_with("` is not a number"), "{bad}: {problem}");
            }
            other => panic!("{bad}: expected a rule error, got {other:?}"),
        }
        assert!(
            err.is_some_and(|e| e.to_string().starts_with("rule `rdp-cert-keys`: ")),
            "the message names the rule"
        );
    }
    // The same values compared as text are not numbers and are accepted.
    assert!(Catalog::from_toml(&with_condition("\"0x8009030G\"", "text")).is_ok());
}

/// The first signal's first condition, as compiled.
fn first_condition(text: &str) -> crate::rules::index::EventCondition {
    let catalog = Catalog::from_toml(text).unwrap_or_else(|e| panic!("{e}"));
    catalog
        .index()
        .signals()
        .first()
        .and_then(|s| s.conditions.first())
        .cloned()
        .unwrap_or_else(|| panic!("no compiled condition"))
}

#[test]
fn condition_values_are_parsed_once_into_typed_values() {
    use crate::rules::index::Values;
    let values = "\"0x8009030D\", \"2148074253\", \"-2146893043\", \"%%2313\"";
    let condition = first_condition(&with_condition(values, "number"));
    assert_eq!(
        condition.values,
        Values::Numbers(vec![0x8009_030D, 0x8009_030D, 0x8009_030D, 2313])
    );
    let condition = first_condition(&with_condition("\" TermService \"", "text"));
    assert_eq!(condition.values, Values::Texts(vec!["TermService".into()]));
    assert_eq!(condition.phrases, [" termservice "]);
}

#[test]
fn the_index_tables_follow_the_catalog() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    let index = catalog.index();
    assert_eq!(index.rules().len(), catalog.rules.len());
    let signals: usize = catalog.rules.iter().map(|r| r.signals.len()).sum();
    assert_eq!(index.signals().len(), signals);
    for (r, rule) in catalog.rules.iter().enumerate() {
        let compiled = index
            .rule(&rule.id)
            .unwrap_or_else(|| panic!("{}", rule.id));
        let ids: BTreeSet<u16> = rule
            .signals
            .iter()
            .flat_map(|s| s.event_ids.clone())
            .collect();
        assert_eq!(compiled.event_ids, ids, "{}", rule.id);
        for (s, signal) in rule.signals.iter().enumerate() {
            let at = compiled.signals.start + s;
            let entry = index.signals().get(at).unwrap_or_else(|| panic!("{at}"));
            assert_eq!((entry.rule, entry.signal), (r, s));
            for id in &signal.event_ids {
                let listing = index.signals_listing(*id).unwrap_or_default();
                assert!(listing.contains(&at), "{} {id}", rule.id);
            }
        }
    }
    // Every (provider, ID) pair is one kind, found under the provider's aliases too.
    let tls = index.kind_of("termservice", 1057);
    assert!(tls.is_some());
    assert_eq!(
        index.kind_of("terminalservices-remoteconnectionmanager", 1057),
        tls
    );
    assert_eq!(index.kind_of("schannel", 1057), None);
    // Per tier, seed first; a tier's channels never hold another tier's rules.
    let tiers: Vec<Tier> = index.channels_by_tier().iter().map(|c| c.tier).collect();
    let mut sorted = tiers.clone();
    sorted.sort();
    assert_eq!(tiers, sorted);
    for reads in index.channels_by_tier() {
        for id in &reads.rules {
            assert_eq!(catalog.rule(id).map(|r| r.tier), Some(reads.tier), "{id}");
        }
    }
}

/// A query holds the time, provider and one event ID tests beside a condition's values
/// (20 expressions at most): more values could never be collected, and the query packing
/// would find no room for even one ID.
#[test]
fn bounds_the_values_a_query_narrows_on() {
    let with = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("\"S{i}\"")).collect();
        let values = values.join(", ");
        let condition = format!(
            "event_ids = [36870]\n[[rule.signal.condition]]\nlabel = \"c\"\nfields = [\"param4\"]\nvalues = [{values}]\ncompare = \"text\"\nrequired = true\nquery = [{values}]\n"
        );
        Catalog::from_toml(&minimal().replacen("event_ids = [36870]\n", &condition, 1))
    };
    assert!(with(17).is_ok());
    assert!(
        matches!(with(18), Err(CatalogError::Rule { problem, .. }) if problem.contains("at most 17 fit"))
    );
}
