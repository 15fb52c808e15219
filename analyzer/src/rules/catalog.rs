//! The rule catalog: the data model of `catalog.toml`, how it is read and validated.
//!
//! The catalog is data, not code: a rule names the events it looks for (provider, channels,
//! event IDs, structured-data conditions), how they combine, the time window, the words an
//! admin reads, and where it comes from. [`Catalog::builtin`] is the catalog compiled into
//! the analyzer (`include_str!`); [`Catalog::from_toml`] reads and validates any other.

use crate::plan::RemediationStep;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// The catalog compiled into this build.
const BUILTIN: &str = include_str!("catalog.toml");

/// The schema version this analyzer reads.
pub const CATALOG_VERSION: u32 = 1;

/// Ids the rest of the product relies on (DESIGN.md): the three seed scenarios.
pub const SEED_RULE_IDS: [&str; 3] = ["rdp-cert-keys", "rdp-tls-disabled", "rdp-broker-renamed"];

/// A validated rule catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub version: u32,
    pub providers: Vec<ProviderNames>,
    pub contexts: Vec<Context>,
    pub rules: Vec<Rule>,
}

/// The names one provider goes by in exports: Event Viewer shows manifest providers without
/// their `Microsoft-Windows-` prefix, and classic event sources keep older names
/// (`TermService` for the Remote Connection Manager).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderNames {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Something about the machine the inputs reveal (it is a domain controller, say) that
/// changes how much a signal can be trusted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    pub id: String,
    /// Plain words, shown in a finding's reasons: "the logs come from a domain controller".
    pub description: String,
    /// Any event from one of these providers reveals the context.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Any event from one of these channels reveals the context.
    #[serde(default)]
    pub channels: Vec<String>,
}

/// One documented failure and how to recognise it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, lowercase words joined by `-` (`rdp-cert-keys`).
    pub id: String,
    /// The scenario of `RDP-SCENARIOS.md` this rule implements (`S1`).
    pub scenario: String,
    pub title: String,
    /// How much the source can be trusted; derived rules never outrank seed ones.
    pub tier: Tier,
    /// How far back from "now" evidence counts as current.
    pub window_hours: u32,
    /// How primary signals combine to raise the finding.
    #[serde(default)]
    pub combine: Combine,
    /// What is wrong, in plain words.
    pub explanation: String,
    /// What the admin should check next, in order.
    pub check_next: Vec<String>,
    /// The article the rule comes from.
    pub source: Reference,
    #[serde(default)]
    pub references: Vec<Reference>,
    #[serde(rename = "signal")]
    pub signals: Vec<Signal>,
    /// The fix, as typed steps of the plan model (checked against its allowlist when the
    /// catalog is read); the plan builder merges and orders the steps of several findings.
    #[serde(default)]
    pub remediation: Vec<RemediationStep>,
}

/// How much a rule's source can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// The source article of the product (Scenarios 1–3).
    Seed,
    /// Another Microsoft troubleshooting article that names the events.
    Documented,
    /// Event IDs inferred from provider message tables or tools, not confirmed in a primary
    /// source: lower confidence, never ranked above a seed finding.
    Derived,
}

/// How a rule's primary signals combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Any primary signal raises the finding; more agreeing signals raise confidence.
    #[default]
    Any,
    /// Every primary signal must be present.
    All,
}

/// A kind of event that is evidence for a rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// Unique within its rule.
    pub id: String,
    /// What the events say, in plain words.
    pub label: String,
    pub role: Role,
    /// How much the signal adds to a finding's score when present in the window (0–100).
    pub weight: u8,
    /// The provider's name as logged (aliases come from the catalog's `provider` table).
    pub provider: String,
    /// Channels the events are logged to; an event whose channel is unknown still matches.
    pub channels: Vec<String>,
    /// 16-bit event IDs (qualifiers are not part of the ID).
    pub event_ids: Vec<u16>,
    #[serde(default, rename = "condition")]
    pub conditions: Vec<Condition>,
    #[serde(default, rename = "doubt")]
    pub doubts: Vec<Doubt>,
    /// For rate signals: the signal counts only when this many events fall within this
    /// many minutes (a burst of failed logons).
    #[serde(default)]
    pub rate: Option<Rate>,
}

/// Whether a signal can raise a finding on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Primary,
    /// Only strengthens a finding some primary signal raised.
    Supporting,
}

/// A structured-data condition on an event: a status code, an internal error state.
/// Never English message text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// What is checked, in plain words: "cryptographic module error 0x8009030D".
    pub label: String,
    /// Event-data items to read, first present wins (`ErrorState`, `ErrorStatus`).
    pub fields: Vec<String>,
    /// Accepted values.
    pub values: Vec<String>,
    pub compare: Compare,
    /// A required condition rejects an event whose value differs; an optional one only
    /// strengthens the finding when it holds.
    #[serde(default)]
    pub required: bool,
    /// Where to look when the export carries no event data (text exports).
    #[serde(default)]
    pub in_message: InMessage,
}

/// How condition values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// Numerically: `0x8009030D`, `0x8009030d`, `2148074253` and `-2146893043` are equal.
    Number,
    /// Text, ignoring ASCII case and surrounding space.
    Text,
}

/// Where a condition looks when an event has none of its fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InMessage {
    /// Nowhere: the condition stays unknown.
    #[default]
    No,
    /// A whole token of the message (numbers are language-neutral).
    Token,
    /// A phrase of the message, for identifiers listed in several languages.
    Phrase,
}

/// A reason to trust a signal less in some context, unless other signals agree.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doubt {
    pub context: String,
    /// Signals of the same rule whose presence lifts the doubt.
    #[serde(default)]
    pub unless: Vec<String>,
    pub penalty: u8,
    /// Shown in the finding's reasons.
    pub why: String,
}

/// A rate threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub min_events: u32,
    pub within_minutes: u32,
}

/// A document a rule or finding points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub title: String,
    pub url: String,
}

/// The file layout of `catalog.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    version: u32,
    #[serde(default, rename = "provider")]
    providers: Vec<ProviderNames>,
    #[serde(default, rename = "context")]
    contexts: Vec<Context>,
    #[serde(rename = "rule")]
    rules: Vec<Rule>,
}

/// Why a catalog was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("catalog is not valid TOML for the rule schema at line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("catalog has version {found}, this analyzer reads version {CATALOG_VERSION}")]
    Version { found: u32 },
    #[error("rule `{rule}`: {problem}")]
    Rule { rule: String, problem: String },
    #[error("catalog: {problem}")]
    Catalog { problem: String },
}

impl Catalog {
    /// The catalog compiled into this build. Its validity is checked by the tests, so this
    /// can only fail if a build ships a catalog the tests rejected.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        Catalog::from_toml(BUILTIN)
    }

    /// The text of the built-in catalog, for display ("view the rules").
    pub fn builtin_source() -> &'static str {
        BUILTIN
    }

    /// Reads and validates a catalog: unknown fields, duplicate ids, dangling references
    /// and impossible values are errors.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
        if file.version != CATALOG_VERSION {
            return Err(CatalogError::Version {
                found: file.version,
            });
        }
        let catalog = Catalog {
            version: file.version,
            providers: file.providers,
            contexts: file.contexts,
            rules: file.rules,
        };
        catalog.validate()?;
        Ok(catalog)
    }

    /// A catalog with no rules: what a session falls back to if the built-in catalog could
    /// not be read (the diagnosis then says nothing was checked).
    pub fn empty() -> Catalog {
        Catalog {
            version: CATALOG_VERSION,
            providers: Vec::new(),
            contexts: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Every channel some rule reads, in catalog order, without repeats.
    pub fn channels(&self) -> Vec<&str> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for signal in self.rules.iter().flat_map(|r| &r.signals) {
            for channel in &signal.channels {
                if seen.insert(channel.to_ascii_lowercase()) {
                    out.push(channel.as_str());
                }
            }
        }
        out
    }

    /// The names exports may give `provider`: itself and its aliases.
    pub fn provider_names<'a>(&'a self, provider: &'a str) -> Vec<&'a str> {
        let mut names = vec![provider];
        if let Some(p) = self
            .providers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(provider))
        {
            names.extend(p.aliases.iter().map(String::as_str));
        }
        names
    }

    fn validate(&self) -> Result<(), CatalogError> {
        let context_ids = unique_ids(self.contexts.iter().map(|c| c.id.as_str()), "context")?;
        for context in &self.contexts {
            if context.providers.is_empty() && context.channels.is_empty() {
                return Err(catalog_problem(format!(
                    "context `{}` names no provider and no channel",
                    context.id
                )));
            }
        }
        self.validate_providers()?;
        unique_ids(self.rules.iter().map(|r| r.id.as_str()), "rule")?;
        for rule in &self.rules {
            validate_rule(rule, &context_ids)?;
        }
        for id in SEED_RULE_IDS {
            match self.rule(id) {
                Some(rule) if rule.tier == Tier::Seed => {}
                Some(_) => {
                    return Err(catalog_problem(format!(
                        "seed rule `{id}` must have tier = \"seed\""
                    )));
                }
                None => return Err(catalog_problem(format!("seed rule `{id}` is missing"))),
            }
        }
        Ok(())
    }

    fn validate_providers(&self) -> Result<(), CatalogError> {
        let mut owner: BTreeMap<String, &str> = BTreeMap::new();
        for p in &self.providers {
            for name in std::iter::once(&p.name).chain(&p.aliases) {
                if name.trim() != name || name.is_empty() {
                    return Err(catalog_problem(format!(
                        "provider name `{name}` is empty or has surrounding spaces"
                    )));
                }
                if let Some(other) = owner.insert(name.to_ascii_lowercase(), &p.name) {
                    return Err(catalog_problem(format!(
                        "provider name `{name}` is given to both `{other}` and `{}`",
                        p.name
                    )));
                }
            }
        }
        Ok(())
    }
}

fn validate_rule(rule: &Rule, context_ids: &BTreeSet<&str>) -> Result<(), CatalogError> {
    let problem = |p: String| CatalogError::Rule {
        rule: rule.id.clone(),
        problem: p,
    };
    if !is_rule_id(&rule.id) {
        return Err(problem(
            "id must be lowercase words joined by `-`, like `rdp-cert-keys`".into(),
        ));
    }
    if rule.title.trim().is_empty() || rule.explanation.trim().is_empty() {
        return Err(problem("title and explanation must not be empty".into()));
    }
    if rule.check_next.is_empty() || rule.check_next.iter().any(|c| c.trim().is_empty()) {
        return Err(problem(
            "check_next must list at least one non-empty step".into(),
        ));
    }
    if !(1..=24 * 30).contains(&rule.window_hours) {
        return Err(problem(format!(
            "window_hours {} is outside 1..=720",
            rule.window_hours
        )));
    }
    let seed_scenario = matches!(rule.scenario.as_str(), "S1" | "S2" | "S3");
    if seed_scenario != (rule.tier == Tier::Seed) {
        return Err(problem(
            "tier \"seed\" is for scenarios S1–S3 only, and they must use it".into(),
        ));
    }
    for reference in std::iter::once(&rule.source).chain(&rule.references) {
        if !reference.url.starts_with("https://") || reference.title.trim().is_empty() {
            return Err(problem(format!(
                "reference `{}` needs a title and an https URL",
                reference.url
            )));
        }
    }
    let signal_ids = unique_ids(rule.signals.iter().map(|s| s.id.as_str()), "signal")
        .map_err(|e| problem(e.to_string()))?;
    if !rule.signals.iter().any(|s| s.role == Role::Primary) {
        return Err(problem("needs at least one primary signal".into()));
    }
    if rule.remediation.is_empty() {
        return Err(problem(
            "needs a remediation: at least one step, manual if nothing can be automated".into(),
        ));
    }
    if rule.remediation.iter().all(|r| r.optional) {
        return Err(problem(
            "every remediation step is optional: at least one must be required".into(),
        ));
    }
    for (index, step) in rule.remediation.iter().enumerate() {
        if step.why.trim().is_empty() {
            return Err(problem(format!("remediation step {index} needs a why")));
        }
        step.check(index)
            .map_err(|e| problem(format!("remediation: {e}")))?;
    }
    for signal in &rule.signals {
        validate_signal(signal, &signal_ids, context_ids)
            .map_err(|p| problem(format!("signal `{}`: {p}", signal.id)))?;
    }
    Ok(())
}

fn validate_signal(
    signal: &Signal,
    signal_ids: &BTreeSet<&str>,
    context_ids: &BTreeSet<&str>,
) -> Result<(), String> {
    if signal.provider.trim() != signal.provider || signal.provider.is_empty() {
        return Err(format!(
            "provider `{}` is empty or has surrounding spaces",
            signal.provider
        ));
    }
    if signal.event_ids.is_empty() || signal.channels.is_empty() {
        return Err("needs at least one event ID and one channel".into());
    }
    if signal
        .channels
        .iter()
        .any(|c| c.trim() != c || c.is_empty())
    {
        return Err("a channel is empty or has surrounding spaces".into());
    }
    if signal.weight > 100 {
        return Err(format!("weight {} is above 100", signal.weight));
    }
    for condition in &signal.conditions {
        if condition.fields.is_empty() || condition.values.is_empty() {
            return Err(format!(
                "condition `{}` needs fields and values",
                condition.label
            ));
        }
        let not_a_number = |v: &&String| crate::rules::matching::parse_number(v).is_none();
        if condition.compare == Compare::Number
            && let Some(bad) = condition.values.iter().find(not_a_number)
        {
            return Err(format!(
                "condition `{}`: `{bad}` is not a number",
                condition.label
            ));
        }
    }
    for doubt in &signal.doubts {
        if !context_ids.contains(doubt.context.as_str()) {
            return Err(format!("doubt names unknown context `{}`", doubt.context));
        }
        if let Some(bad) = doubt
            .unless
            .iter()
            .find(|u| !signal_ids.contains(u.as_str()))
        {
            return Err(format!("doubt's `unless` names unknown signal `{bad}`"));
        }
    }
    if let Some(rate) = signal.rate
        && (rate.min_events < 2 || rate.within_minutes == 0 || rate.within_minutes > 24 * 60)
    {
        return Err("rate needs min_events ≥ 2 and within_minutes in 1..=1440".into());
    }
    Ok(())
}

fn unique_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<BTreeSet<&'a str>, CatalogError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if id.is_empty() {
            return Err(catalog_problem(format!("a {what} has an empty id")));
        }
        if !seen.insert(id) {
            return Err(catalog_problem(format!("duplicate {what} id `{id}`")));
        }
    }
    Ok(seen)
}

fn is_rule_id(id: &str) -> bool {
    let mut words = id.split('-');
    let all_ok = id.split('-').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    all_ok && words.next().is_some() && words.next().is_some()
}

fn catalog_problem(problem: String) -> CatalogError {
    CatalogError::Catalog { problem }
}

fn syntax_error(text: &str, e: &toml::de::Error) -> CatalogError {
    let line = e
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| before.bytes().filter(|b| *b == b'\n').count() + 1)
        .unwrap_or(0);
    CatalogError::Syntax {
        line,
        message: e.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let catalog =
            Catalog::builtin().unwrap_or_else(|e| panic!("builtin catalog rejected: {e}"));
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
}
