//! What the tests of the Run Command / Serial Console commands share: the Azure names, a
//! fixer.exe source, real fix tokens, and a reader of PowerShell's verbatim strings.
#![allow(dead_code)]

use analyzer::envelope::{PreparedPlan, SecretKey};
use analyzer::plan::{PlanId, PlanParams, Sha256Digest};
use analyzer::remote::{FixerSource, ResourceGroup, VmName};
use analyzer::rules::Catalog;
use jiff::Timestamp;

pub fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

pub fn group() -> ResourceGroup {
    ResourceGroup::parse("rg-prod(weu)_01.a").unwrap()
}

pub fn vm() -> VmName {
    VmName::parse("rdp-vm01").unwrap()
}

pub const FIXER_URL: &str = "https://rdpfix.example.net/fixer.exe";
pub const FIXER_SHA: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";

pub fn source() -> FixerSource {
    FixerSource::new(FIXER_URL, FIXER_SHA).unwrap()
}

/// The key the page would have made (a fixed seed).
pub fn signer() -> SecretKey {
    SecretKey::from_seed([9; 32])
}

/// A real fix token: `rules` signed with [`signer`] as the page would sign them.
pub fn token_for(rules: &[&str], computer: &str) -> String {
    let catalog = catalog();
    let issued: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let plan = catalog
        .proposal(rules.iter().copied())
        .unwrap()
        .to_plan(&PlanParams {
            computer: computer.into(),
            evidence_sha256: Sha256Digest([0xab; 32]),
            plan_id: PlanId::from_random([0x5c; 16]),
            issued_at: issued,
            lifetime: analyzer::plan::DEFAULT_LIFETIME,
            seq: PlanParams::seq_for(issued),
            offline: None,
        })
        .unwrap();
    PreparedPlan::new(&plan)
        .unwrap()
        .sign_with(&signer())
        .unwrap()
        .token()
}

/// PowerShell's verbatim string at the start of `text`: returns its value and the rest.
/// Any of `'` U+2018 U+2019 U+201A U+201B opens and closes it; two in a row stand for the
/// second one (about_Quoting_Rules).
pub fn powershell_verbatim(text: &str) -> Option<(String, &str)> {
    const QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];
    let mut chars = text.char_indices().peekable();
    let (_, first) = chars.next()?;
    if !QUOTES.contains(&first) {
        return None;
    }
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        if QUOTES.contains(&c) {
            match chars.peek() {
                Some((_, next)) if QUOTES.contains(next) => {
                    value.push(*next);
                    chars.next();
                }
                _ => return Some((value, &text[i + c.len_utf8()..])),
            }
        } else {
            value.push(c);
        }
    }
    None
}

/// The value of `-Name '<verbatim>'` (or `--name '<verbatim>'`) in a PowerShell command line.
pub fn powershell_argument(line: &str, name: &str) -> String {
    let at = line
        .find(&format!("{name} "))
        .unwrap_or_else(|| panic!("{name} in {line}"));
    let (value, _) = powershell_verbatim(&line[at + name.len() + 1..]).unwrap();
    value
}

/// The statements of a Run Command script (its comment lines left out).
pub fn statements(script: &str) -> Vec<&str> {
    script.lines().filter(|l| !l.starts_with('#')).collect()
}
