//! What a snapshot shows off the defaults: every registry value set to something else than
//! the default of the VM's release, and every section the snapshot does not hold. The page's
//! "Configuration" section and `fixer diagnose` show it beside the findings; which of these
//! break RDP is the rules' business (a finding's `config` list).

use super::model::{ConfigSnapshot, Reading};
use super::schema::{self, KEYS, OsDefault, SECTIONS, Section};
use serde::{Deserialize, Serialize};

/// A value that differs from its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deviation {
    pub section: Section,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Where Windows keeps it.
    pub source: String,
    /// Its name on Windows (`PortNumber`).
    pub name: String,
    pub value: String,
    /// The default of the snapshot's release.
    pub default: String,
    /// Its line in the input.
    pub line: u32,
}

/// What one snapshot says, for people: the deviations, and what it does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSummary {
    pub computer: String,
    pub taken: Option<jiff::Timestamp>,
    /// `Windows Server 2022`, when the build is known.
    pub release: Option<String>,
    pub deviations: Vec<Deviation>,
    /// Sections not collected, with the producer's reason when it gave one.
    pub not_collected: Vec<(Section, Option<String>)>,
    /// Keys and lines this version does not know.
    pub unknown: usize,
}

/// The summary of `snapshot`.
pub fn summary(snapshot: &ConfigSnapshot) -> ConfigSummary {
    let release = snapshot.release();
    let mut deviations = Vec::new();
    for key in KEYS {
        if key.default == OsDefault::None {
            continue;
        }
        let Some(default) = key.default.on(release) else {
            continue;
        };
        if let Reading::Value(v) = snapshot.dword(key.section, None, key.key)
            && v != default
        {
            deviations.push(Deviation {
                section: key.section,
                subject: None,
                source: key.section.source().to_owned(),
                name: key.name.to_owned(),
                value: v.to_string(),
                default: default.to_string(),
                line: snapshot
                    .entry(key.section, None, key.key)
                    .map_or(0, |e| e.line),
            });
        }
    }
    // Schannel: each protocol against its release's default.
    for protocol in snapshot.subjects(Section::Tls) {
        let Some(default) = schema::tls_enabled_default(protocol, release) else {
            continue;
        };
        if let Reading::Value(v) = snapshot.dword(Section::Tls, Some(protocol), "en") {
            let on = u32::from(v != 0);
            if on != default {
                deviations.push(Deviation {
                    section: Section::Tls,
                    subject: Some(protocol.to_owned()),
                    source: Section::Tls.source().replace("<protocol>", protocol),
                    name: "Enabled".to_owned(),
                    value: v.to_string(),
                    default: default.to_string(),
                    line: snapshot
                        .entry(Section::Tls, Some(protocol), "en")
                        .map_or(0, |e| e.line),
                });
            }
        }
    }
    deviations.sort_by_key(|d| d.line);
    let mut not_collected: Vec<(Section, Option<String>)> = snapshot
        .not_collected
        .iter()
        .map(|n| (n.section, n.why.clone()))
        .collect();
    for section in SECTIONS {
        if !snapshot.has(section) && !not_collected.iter().any(|(s, _)| *s == section) {
            not_collected.push((section, None));
        }
    }
    ConfigSummary {
        computer: snapshot.computer.clone(),
        taken: snapshot.taken,
        release: release.map(|r| r.name().to_owned()),
        deviations,
        not_collected,
        unknown: snapshot.unknown.len(),
    }
}
