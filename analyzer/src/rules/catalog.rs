//! The rule catalog: the data model of `catalog.toml`, how it is read and validated.
//!
//! The catalog is data, not code: a rule names the events it looks for (provider, channels,
//! event IDs, structured-data conditions), how they combine, the time window, the words an
//! admin reads, and where it comes from. [`Catalog::builtin`] is the catalog compiled into
//! the analyzer (`include_str!`); [`Catalog::from_toml`] reads and validates any other
//! (the checks of one rule and its signals are in `catalog/validate.rs`).

use super::index::Index;
use crate::plan::allowlist::EscapedText;
use crate::plan::{BuildError, Proposal, RemediationStep};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;
use validate::{catalog_problem, syntax_error, unique_ids, validate_rule};

#[cfg(test)]
mod tests;
mod validate;

/// The catalog compiled into this build.
const BUILTIN: &str = include_str!("catalog.toml");

/// The schema version this analyzer reads.
pub const CATALOG_VERSION: u32 = 1;

/// Ids the rest of the product relies on (DESIGN.md): the three seed scenarios.
pub const SEED_RULE_IDS: [&str; 3] = ["rdp-cert-keys", "rdp-tls-disabled", "rdp-broker-renamed"];

/// A validated rule catalog and its [`Index`], compiled once when it was read.
///
/// A catalog is made only by [`Catalog::from_toml`] (or [`Catalog::builtin`],
/// [`Catalog::empty`]) and never changed afterwards: its fields are public to be read, and the
/// index is compiled from them.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub version: u32,
    pub providers: Vec<ProviderNames>,
    pub contexts: Vec<Context>,
    pub rules: Vec<Rule>,
    /// Shared, so a consumer that outlives a borrow (the evidence block's builder) keeps it
    /// without compiling it again.
    #[serde(skip)]
    index: Arc<Index>,
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
    #[serde(rename = "signal", default)]
    pub signals: Vec<Signal>,
    /// Conditions on a configuration snapshot (`RDPFIX-CONFIG`), beside or instead of the
    /// event signals: a finding may rest on events, on configuration, or on both.
    #[serde(rename = "config", default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<super::config_condition::ConfigCondition>,
    /// The fix, as typed steps of the plan model (checked against its allowlist when the
    /// catalog is read); the plan builder merges and orders the steps of several findings.
    #[serde(default)]
    pub remediation: Vec<RemediationStep>,
    /// The cause this rule shares with other rules (`guest-firewall`): when several rules of
    /// one cause fire — events and configuration showing the same failure — they come out
    /// as one finding (`evaluate/join.rs`, docs/rules.md "One cause, one finding").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
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
    /// What a required condition does with an event that cannot show its value (neither
    /// the field nor a message to look in): it costs points (the default), or, when the
    /// value is what defines the failure (a failed logon's status), the event is set aside.
    #[serde(default)]
    pub unknown: WhenUnknown,
    /// Values the event log's own queries select on, exactly as Windows writes them in the
    /// condition's one field (`param4` = `TermService`): every generated query of the
    /// signal's IDs carries `EventData[Data[@Name='param4']='TermService']`, so the other
    /// events of those IDs (a routine 7040 of BITS) are never collected. Empty: the
    /// queries select by provider and ID alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<String>,
}

/// How a required condition treats an event that cannot show its value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenUnknown {
    /// The event counts, and the finding loses points and says why.
    #[default]
    Costs,
    /// The event is set aside like one with another value.
    Rejects,
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
    /// A service's display name (listed in several languages) as the whole name the
    /// message inserts, never as part of a longer one
    /// ([`names_service`](super::service_name::names_service)).
    ServiceName,
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
        let mut catalog = Catalog {
            version: file.version,
            providers: file.providers,
            contexts: file.contexts,
            rules: file.rules,
            index: Arc::default(),
        };
        catalog.validate()?;
        catalog.index = Arc::new(Index::compile(&catalog)?);
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
            index: Arc::default(),
        }
    }

    /// The compiled index: typed conditions and the lookup tables every consumer shares.
    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The remediation of each finding id, most likely first, as one [`Proposal`]: what
    /// the page and `fixer plan` propose for a diagnosis.
    pub fn proposal<'a>(
        &'a self,
        finding_ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Proposal, BuildError> {
        let findings = finding_ids
            .into_iter()
            .map(|id| {
                self.rule(id)
                    .map(|rule| (id, rule.remediation.as_slice()))
                    .ok_or_else(|| BuildError::UnknownFinding(EscapedText::new(id).0))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Proposal::from_findings(findings)
    }

    /// Every channel some rule reads, in catalog order, without repeats.
    pub fn channels(&self) -> Vec<&str> {
        self.index
            .channels()
            .iter()
            .map(|c| c.channel.as_str())
            .collect()
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
        self.validate_causes()?;
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

    /// A cause is named by two rules or more (one alone is a typo), in the form of an id.
    fn validate_causes(&self) -> Result<(), CatalogError> {
        for rule in &self.rules {
            let Some(cause) = &rule.cause else { continue };
            let well_formed = !cause.is_empty()
                && cause
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !well_formed {
                return Err(catalog_problem(format!(
                    "rule `{}`: cause `{cause}` is not lowercase words joined by `-`",
                    rule.id
                )));
            }
            let shared = self
                .rules
                .iter()
                .filter(|r| r.cause.as_deref() == Some(cause.as_str()))
                .count();
            if shared < 2 {
                return Err(catalog_problem(format!(
                    "rule `{}`: no other rule names cause `{cause}`",
                    rule.id
                )));
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
