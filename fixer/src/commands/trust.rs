//! `fixer trust add|list|remove`.

use super::{CommandError, CommandResult};
use crate::cli::TrustCommand;
use crate::exit::Exit;
use crate::host::Host;
use crate::report::{Report, ascii_lines, ascii_safe, wrap};
use crate::trust::{KeyStanding, TrustStore, TrustedKey};
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

pub fn run(host: &dyn Host, cmd: &TrustCommand) -> CommandResult {
    let now = host.now();
    let mut store = TrustStore::load(host)?;
    match cmd {
        TrustCommand::Add {
            public_key,
            label,
            expires,
            fingerprint,
        } => {
            let expires_at = expires
                .as_deref()
                .map(|e| parse_expiry(e, now))
                .transpose()?;
            let key = store.add(public_key, label, expires_at, fingerprint.as_deref(), now)?;
            store.save(host)?;
            Ok(Box::new(TrustReport {
                action: Action::Added,
                keys: vec![view(&key, now)],
            }))
        }
        TrustCommand::List => Ok(Box::new(TrustReport {
            action: Action::Listed,
            keys: store.keys.iter().map(|k| view(k, now)).collect(),
        })),
        TrustCommand::Remove { key } => {
            let key = store.revoke(key, now)?;
            store.save(host)?;
            Ok(Box::new(TrustReport {
                action: Action::Revoked,
                keys: vec![view(&key, now)],
            }))
        }
    }
}

/// `90d` (days from now) or an RFC 3339 time.
fn parse_expiry(text: &str, now: Timestamp) -> Result<Timestamp, CommandError> {
    let usage = |m: String| CommandError::new(Exit::Usage, anyhow::anyhow!(m));
    if let Some(days) = text.strip_suffix('d') {
        let days: i64 = days
            .parse()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| {
                usage(format!(
                    "--expires {text}: give 1d to 3650d or an RFC 3339 time"
                ))
            })?;
        return now
            .checked_add((days * 24).hours())
            .map_err(|e| usage(format!("--expires {text}: {e}")));
    }
    text.parse().map_err(|e| {
        usage(format!(
            "--expires {text}: {e}; e.g. 2027-03-01T00:00:00Z or 90d"
        ))
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Action {
    Added,
    Listed,
    Revoked,
}

#[derive(Debug, Serialize)]
struct KeyView {
    fingerprint: String,
    label: String,
    public_key: String,
    added_at: Timestamp,
    expires_at: Option<Timestamp>,
    standing: KeyStanding,
}

fn view(k: &TrustedKey, now: Timestamp) -> KeyView {
    KeyView {
        fingerprint: k.fingerprint.clone(),
        label: k.label.clone(),
        public_key: k.public_key.clone(),
        added_at: k.added_at,
        expires_at: k.expires_at,
        standing: k.standing(now),
    }
}

#[derive(Debug, Serialize)]
struct TrustReport {
    action: Action,
    keys: Vec<KeyView>,
}

fn expiry_text(k: &KeyView) -> String {
    k.expires_at
        .map_or("no expiry".into(), |t| format!("expires {t}"))
}

fn standing_text(s: &KeyStanding) -> String {
    match s {
        KeyStanding::Trusted => "trusted".into(),
        KeyStanding::Expired { at } => format!("EXPIRED {at}"),
        KeyStanding::Revoked { at } => format!("REVOKED {at}"),
    }
}

impl Report for TrustReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        if let (Action::Added, [k]) = (&self.action, self.keys.as_slice()) {
            // The fingerprint last, on its own line: what the admin compares with the page's,
            // and what the Run Command enrolment script's output ends with.
            let label = ascii_safe(&k.label);
            let mut out = wrap(
                &format!(
                    "ENROLLED key \"{label}\" ({}, {}). If the fingerprint below differs from \
                     the page's, run: fixer trust remove \"{label}\"",
                    standing_text(&k.standing),
                    expiry_text(k)
                ),
                "",
                "  ",
            );
            out.push_str(&k.fingerprint);
            out.push('\n');
            return ascii_lines(&out);
        }
        let mut out = String::new();
        for k in &self.keys {
            // Two lines per key fit 80 columns: the fingerprint is 64 characters.
            out.push_str(&format!("{}\n", k.fingerprint));
            out.push_str(&format!(
                "  \"{}\"  {}  {}\n",
                ascii_safe(&k.label),
                standing_text(&k.standing),
                expiry_text(k)
            ));
        }
        match (&self.action, self.keys.first()) {
            (Action::Revoked, Some(k)) => out.push_str(&format!(
                "REVOKED key \"{}\": plans it signs are refused from now on.\n",
                ascii_safe(&k.label)
            )),
            (Action::Listed, _) => {
                let usable = self
                    .keys
                    .iter()
                    .filter(|k| k.standing == KeyStanding::Trusted)
                    .count();
                out.push_str(&format!("{} key(s), {usable} trusted.\n", self.keys.len()));
                if usable == 0 {
                    out.push_str(
                        "Enrol the page's key: fixer trust add <public key> --label <name>\n",
                    );
                }
            }
            _ => {}
        }
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
