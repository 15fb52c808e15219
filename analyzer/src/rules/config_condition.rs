//! Conditions on a configuration snapshot, as a catalog rule states them (`[[rule.config]]`,
//! `docs/rules.md`): which key, which test, which values. A condition is compiled once when
//! the catalog is read ([`ConfigCondition::compile`]: an unknown key or a value that does
//! not fit its kind is a load-time error) and then checked against each snapshot.

use super::catalog::Role;
use crate::config::model::{ConfigSnapshot, Reading};
use crate::config::schema::{self, Kind, Section};
use crate::config::text::split_list;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A condition as written in `catalog.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigCondition {
    pub id: String,
    /// What holding it means, in plain words ("RDP is refused by Group Policy").
    pub label: String,
    pub role: Role,
    /// Points when it holds.
    pub weight: u8,
    pub section: Section,
    /// For sections with subjects: the subjects it applies to (any of them may hold it);
    /// `["*"]` for every subject. Empty for sections without.
    #[serde(default)]
    pub subjects: Vec<String>,
    pub key: String,
    pub test: Test,
    /// The values the test compares with; `-` stands for an absent value.
    #[serde(default)]
    pub values: Vec<String>,
    /// Compare the release's default when the registry value is absent.
    #[serde(default)]
    pub default: bool,
    /// A section whose value of the same key, when set, wins (`tsp` over `rdp`: Group
    /// Policy overrides the listener's own value).
    #[serde(default)]
    pub policy: Option<Section>,
}

/// How the value is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The value is one of `values` (`-`: absent).
    Equal,
    /// The value was read and is none of `values`.
    NotEqual,
    /// The value was read (it is set).
    Present,
    /// The number is below `values[0]`.
    Below,
    /// The number's magnitude is above `values[0]`.
    Outside,
    /// The time lies before the snapshot was taken (before "now" when it has no time).
    BeforeNow,
    /// The list holds none of `values` (compared without case); an absent list holds none.
    Lacks,
    /// The list holds one of `values` (compared without case).
    Holds,
}

/// A condition compiled: its values typed by the key's kind.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledCondition {
    pub index: usize,
    pub section: Section,
    pub subjects: Vec<String>,
    pub key: String,
    /// The key's name on Windows (`fDenyTSConnections`).
    pub name: &'static str,
    pub kind: Kind,
    pub test: Test,
    pub texts: Vec<String>,
    pub numbers: Vec<f64>,
    pub absent: bool,
    pub default: bool,
    pub policy: Option<Section>,
}

/// A condition that holds on one snapshot: what was read, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub subject: Option<String>,
    /// The value as shown (`1`, `absent (default 1)`).
    pub value: String,
    /// The section it was read from (the policy section when that won).
    pub section: Section,
    /// Its line in the input; `None` when the release's default was compared.
    pub line: Option<u32>,
}

impl ConfigCondition {
    /// Checks the condition against the schema and types its values.
    pub fn compile(&self, index: usize) -> Result<CompiledCondition, String> {
        let spec = schema::lookup(self.section, &self.key).ok_or_else(|| {
            format!(
                "config `{}`: `{} {}` is not a snapshot key",
                self.id,
                self.section.word(),
                self.key
            )
        })?;
        if self.section.has_subject() == self.subjects.is_empty() {
            return Err(format!(
                "config `{}`: subjects are needed for `{}` and only there",
                self.id,
                self.section.word()
            ));
        }
        if let Some(p) = self.policy
            && schema::lookup(p, &self.key).is_none()
        {
            return Err(format!(
                "config `{}`: `{}` has no policy value",
                self.id, self.key
            ));
        }
        let needs_values = !matches!(self.test, Test::Present | Test::BeforeNow);
        if needs_values == self.values.is_empty() {
            return Err(format!(
                "config `{}`: test {:?} {} values",
                self.id,
                self.test,
                if needs_values { "needs" } else { "takes no" }
            ));
        }
        if self.weight > 100 {
            return Err(format!("config `{}`: weight above 100", self.id));
        }
        let mut numbers = Vec::new();
        let mut texts = Vec::new();
        let mut absent = false;
        for v in &self.values {
            if v == "-" {
                absent = true;
                continue;
            }
            let numeric = matches!(self.test, Test::Below | Test::Outside)
                || matches!(spec.kind, Kind::Dword | Kind::Int | Kind::Decimal);
            if numeric {
                numbers.push(
                    v.parse::<f64>()
                        .map_err(|_| format!("config `{}`: `{v}` is not a number", self.id))?,
                );
            } else if let Kind::Word(words) = spec.kind
                && !words.contains(&v.as_str())
            {
                return Err(format!(
                    "config `{}`: `{v}` is not one of {words:?}",
                    self.id
                ));
            } else {
                texts.push(v.to_ascii_lowercase());
            }
        }
        Ok(CompiledCondition {
            index,
            section: self.section,
            subjects: self.subjects.clone(),
            key: self.key.clone(),
            name: spec.name,
            kind: spec.kind,
            test: self.test,
            texts,
            numbers,
            absent,
            default: self.default,
            policy: self.policy,
        })
    }
}

impl CompiledCondition {
    /// Where it holds on `snapshot`, one entry per subject that holds it (one without a
    /// subject for a section without). `now` stands in for a snapshot without a time.
    pub fn check(&self, snapshot: &ConfigSnapshot, now: Option<Timestamp>) -> Vec<Held> {
        let subjects: Vec<Option<String>> = if self.subjects.is_empty() {
            vec![None]
        } else if self.subjects.iter().any(|s| s == "*") {
            snapshot
                .subjects(self.section)
                .into_iter()
                .map(|s| Some(s.to_owned()))
                .collect()
        } else {
            self.subjects.iter().map(|s| Some(s.clone())).collect()
        };
        subjects
            .into_iter()
            .filter_map(|subject| self.check_one(snapshot, subject, now))
            .collect()
    }

    fn check_one(
        &self,
        snapshot: &ConfigSnapshot,
        subject: Option<String>,
        now: Option<Timestamp>,
    ) -> Option<Held> {
        let sub = subject.as_deref();
        // A value set by policy wins over the local one.
        let (section, reading) = match self.policy {
            Some(p) if matches!(snapshot.text(p, sub, &self.key), Reading::Value(_)) => {
                (p, snapshot.text(p, sub, &self.key))
            }
            _ => (self.section, snapshot.text(self.section, sub, &self.key)),
        };
        // A value read from a registry hive has no line (0): none is named.
        let line = snapshot
            .entry(section, sub, &self.key)
            .map(|e| e.line)
            .filter(|l| *l > 0);
        let held = |value: String, line: Option<u32>| Held {
            subject: subject.clone(),
            value,
            section,
            line,
        };
        // Absent: the release's default, when asked for and known.
        let (value, line) = match reading {
            Reading::NotCollected | Reading::Unreadable => return None,
            Reading::Absent => {
                if (self.test == Test::Equal && self.absent) || self.test == Test::Lacks {
                    return Some(held("absent".to_owned(), line));
                }
                let release = snapshot.release();
                let default = match (section, sub) {
                    // A Schannel protocol's default depends on the protocol as well.
                    (Section::Tls, Some(protocol)) if self.key == "en" => {
                        schema::tls_enabled_default(protocol, release)
                    }
                    _ => schema::lookup(section, &self.key).and_then(|k| k.default.on(release)),
                }
                .filter(|_| self.default)?;
                let shown = format!("absent, so the default {default}");
                return self
                    .holds(&default.to_string(), snapshot, now)
                    .then(|| held(shown, None));
            }
            Reading::Value(v) => (v.to_owned(), line),
        };
        self.holds(&value, snapshot, now)
            .then(|| held(shown_value(&value, self.kind), line))
    }

    fn holds(&self, value: &str, snapshot: &ConfigSnapshot, now: Option<Timestamp>) -> bool {
        let number = value.parse::<f64>().ok();
        let is_one_of = || match number {
            Some(n) if !self.numbers.is_empty() => self.numbers.contains(&n),
            _ => self.texts.iter().any(|t| t.eq_ignore_ascii_case(value)),
        };
        match self.test {
            Test::Equal => is_one_of(),
            Test::NotEqual => !is_one_of(),
            Test::Present => true,
            Test::Below => matches!((number, self.numbers.first()), (Some(n), Some(l)) if n < *l),
            Test::Outside => {
                matches!((number, self.numbers.first()), (Some(n), Some(l)) if n.abs() > *l)
            }
            Test::BeforeNow => {
                let reference = snapshot.taken.or(now);
                match (value.parse::<Timestamp>(), reference) {
                    (Ok(t), Some(r)) => t < r,
                    _ => false,
                }
            }
            Test::Lacks | Test::Holds => {
                let holds = split_list(value)
                    .iter()
                    .any(|item| self.texts.iter().any(|t| t.eq_ignore_ascii_case(item)));
                holds == (self.test == Test::Holds)
            }
        }
    }
}

/// A value as shown in a finding: lists decoded and joined, others as read.
fn shown_value(value: &str, kind: Kind) -> String {
    if kind == Kind::List {
        let items = split_list(value);
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    } else {
        value.to_owned()
    }
}
