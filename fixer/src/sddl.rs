//! Security descriptors in SDDL, as `ConvertSecurityDescriptorToStringSecurityDescriptorW`
//! writes them and `icacls /save` stores them: parsed just enough to answer two questions
//! safely — who besides SYSTEM and Administrators can write here, and does this principal
//! already hold these rights — and to add an allow entry the way `icacls /grant` does.
//!
//! Anything not understood is kept verbatim and round-trips unchanged.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SddlError {
    #[error("sddl at byte {offset}: {what}")]
    Malformed { offset: usize, what: &'static str },
}

/// A security descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityDescriptor {
    pub owner: Option<String>,
    pub group: Option<String>,
    /// `None` when the descriptor has no `D:` part: a NULL DACL grants everyone everything.
    pub dacl: Option<Acl>,
    /// The `S:` part, verbatim.
    pub sacl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// `P` (protected), `AI`, `AR`, or `NO_ACCESS_CONTROL`, verbatim.
    pub flags: String,
    pub aces: Vec<Ace>,
}

/// One `(type;flags;rights;object;inherit_object;sid[;attributes])` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    pub kind: String,
    pub flags: String,
    pub rights: String,
    pub object: String,
    pub inherit_object: String,
    pub sid: String,
    pub extra: Option<String>,
}

pub const SYSTEM: &str = "S-1-5-18";
pub const ADMINISTRATORS: &str = "S-1-5-32-544";
pub const NETWORK_SERVICE: &str = "S-1-5-20";
const CREATOR_OWNER: &str = "S-1-3-0";
const TRUSTED_INSTALLER: &str = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464";

pub const FILE_ALL: u32 = 0x001F_01FF;
pub const FILE_READ: u32 = 0x0012_0089;

/// Rights that let a principal change a file or folder, its contents or its ACL.
const WRITE_RIGHTS: u32 = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x1_0000 | 0x4_0000 | 0x8_0000;

const SID_ALIASES: &[(&str, &str)] = &[
    ("SY", SYSTEM),
    ("BA", ADMINISTRATORS),
    ("NS", NETWORK_SERVICE),
    ("LS", "S-1-5-19"),
    ("WD", "S-1-1-0"),
    ("BU", "S-1-5-32-545"),
    ("BG", "S-1-5-32-546"),
    ("PU", "S-1-5-32-547"),
    ("AU", "S-1-5-11"),
    ("IU", "S-1-5-4"),
    ("NU", "S-1-5-2"),
    ("SU", "S-1-5-6"),
    ("AN", "S-1-5-7"),
    ("CO", CREATOR_OWNER),
    ("CG", "S-1-3-1"),
    ("OW", "S-1-3-4"),
    ("RC", "S-1-5-12"),
    ("AC", "S-1-15-2-1"),
];

const RIGHT_ALIASES: &[(&str, u32)] = &[
    ("GA", 0x1000_0000),
    ("GX", 0x2000_0000),
    ("GW", 0x4000_0000),
    ("GR", 0x8000_0000),
    ("SD", 0x1_0000),
    ("RC", 0x2_0000),
    ("WD", 0x4_0000),
    ("WO", 0x8_0000),
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("RP", 0x10),
    ("WP", 0x20),
    ("DT", 0x40),
    ("LO", 0x80),
    ("CR", 0x100),
    ("FA", FILE_ALL),
    ("FR", FILE_READ),
    ("FW", 0x0012_0116),
    ("FX", 0x0012_00A0),
    ("KA", 0x000F_003F),
    ("KR", 0x0002_0019),
    ("KW", 0x0002_0006),
    ("KX", 0x0002_0019),
];

/// The SID string for an alias (`SY` → `S-1-5-18`); anything else upper-cased as is.
pub fn canonical_sid(sid: &str) -> String {
    SID_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(sid))
        .map(|(_, full)| (*full).to_owned())
        .unwrap_or_else(|| sid.to_uppercase())
}

/// A friendly name for messages; SIDs are what the code compares.
pub fn sid_label(sid: &str) -> String {
    match canonical_sid(sid).as_str() {
        SYSTEM => "SYSTEM".into(),
        ADMINISTRATORS => "Administrators".into(),
        NETWORK_SERVICE => "NETWORK SERVICE".into(),
        "S-1-1-0" => "Everyone".into(),
        "S-1-5-32-545" => "Users".into(),
        "S-1-5-11" => "Authenticated Users".into(),
        other => other.to_owned(),
    }
}

/// Generic rights mapped to the file-specific ones they stand for, so masks compare.
fn file_mask(mask: u32) -> u32 {
    let mut m = mask & 0x0FFF_FFFF;
    if mask & 0x1000_0000 != 0 {
        m |= FILE_ALL;
    }
    if mask & 0x2000_0000 != 0 {
        m |= 0x0012_00A0;
    }
    if mask & 0x4000_0000 != 0 {
        m |= 0x0012_0116;
    }
    if mask & 0x8000_0000 != 0 {
        m |= FILE_READ;
    }
    m
}

impl Ace {
    /// The access mask, or `None` for rights this parser does not know.
    pub fn mask(&self) -> Option<u32> {
        let r = self.rights.trim();
        if let Some(hex) = r.strip_prefix("0x").or_else(|| r.strip_prefix("0X")) {
            return u32::from_str_radix(hex, 16).ok();
        }
        if !r.len().is_multiple_of(2) {
            return None;
        }
        let mut mask = 0;
        for i in (0..r.len()).step_by(2) {
            let code = r.get(i..i + 2)?;
            mask |= RIGHT_ALIASES.iter().find(|(a, _)| *a == code)?.1;
        }
        Some(mask)
    }

    fn is_allow(&self) -> bool {
        self.kind == "A"
    }

    /// Whether the entry may grant access: plain, object, conditional (`XA`) and callback
    /// object (`ZA`) allow entries, and any type this parser does not know. Only deny
    /// entries and the audit, alarm, label and attribute entries of a SACL never grant.
    fn may_grant(&self) -> bool {
        const NEVER_GRANT: [&str; 14] = [
            "D", "OD", "XD", "AU", "AL", "OU", "OL", "ML", "XU", "RA", "SP", "TL", "FL", "SA",
        ];
        !NEVER_GRANT
            .iter()
            .any(|k| k.eq_ignore_ascii_case(self.kind.trim()))
    }

    fn is_inherit_only(&self) -> bool {
        flag_set(&self.flags, "IO")
    }

    fn is_inherited(&self) -> bool {
        flag_set(&self.flags, "ID")
    }
}

fn flag_set(flags: &str, flag: &str) -> bool {
    (0..flags.len())
        .step_by(2)
        .any(|i| flags.get(i..i + 2) == Some(flag))
}

impl SecurityDescriptor {
    pub fn parse(s: &str) -> Result<Self, SddlError> {
        let mut sd = SecurityDescriptor {
            owner: None,
            group: None,
            dacl: None,
            sacl: None,
        };
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let tag = bytes.get(i..i + 2).ok_or(SddlError::Malformed {
                offset: i,
                what: "truncated",
            })?;
            let start = i + 2;
            let end = section_end(s, start);
            let body = s.get(start..end).unwrap_or_default();
            match tag {
                b"O:" => sd.owner = Some(body.to_owned()),
                b"G:" => sd.group = Some(body.to_owned()),
                b"D:" => sd.dacl = Some(parse_acl(body, start)?),
                b"S:" => sd.sacl = Some(body.to_owned()),
                _ => {
                    return Err(SddlError::Malformed {
                        offset: i,
                        what: "expected O:, G:, D: or S:",
                    });
                }
            }
            i = end;
        }
        Ok(sd)
    }

    /// Principals other than SYSTEM, Administrators, TrustedInstaller, CREATOR OWNER and
    /// `also_trusted` (only ever Wine's prefix user) that can change this object (or what
    /// gets created inside it), by label; an owner outside those counts too, since an owner
    /// can always rewrite the ACL.
    pub fn writers_besides_admins(&self, also_trusted: Option<&str>) -> Vec<String> {
        let me = also_trusted
            .map(canonical_sid)
            .unwrap_or_else(|| SYSTEM.to_owned());
        let trusted = [
            SYSTEM,
            ADMINISTRATORS,
            TRUSTED_INSTALLER,
            CREATOR_OWNER,
            me.as_str(),
        ];
        let mut out = Vec::new();
        if let Some(owner) = &self.owner {
            let sid = canonical_sid(owner);
            if !trusted.contains(&sid.as_str()) || sid == CREATOR_OWNER {
                out.push(format!("{} (owner)", sid_label(owner)));
            }
        }
        match &self.dacl {
            None => out.push("Everyone (no DACL)".into()),
            Some(acl) if acl.flags.contains("NO_ACCESS_CONTROL") => {
                out.push("Everyone (no DACL)".into())
            }
            Some(acl) => {
                for ace in acl.aces.iter().filter(|a| a.may_grant()) {
                    let sid = canonical_sid(&ace.sid);
                    let writes = ace.mask().is_none_or(|m| file_mask(m) & WRITE_RIGHTS != 0);
                    let label = sid_label(&ace.sid);
                    if writes && !trusted.contains(&sid.as_str()) && !out.contains(&label) {
                        out.push(label);
                    }
                }
            }
        }
        out
    }

    /// Does `sid` already hold at least `mask` through an allow entry that applies to this
    /// object itself (explicit or inherited, not inherit-only)?
    pub fn grants(&self, sid: &str, mask: u32) -> bool {
        let want = file_mask(mask);
        let sid = canonical_sid(sid);
        let Some(acl) = &self.dacl else { return true };
        let held = acl
            .aces
            .iter()
            .filter(|a| a.is_allow() && !a.is_inherit_only() && canonical_sid(&a.sid) == sid)
            .filter_map(Ace::mask)
            .fold(0, |acc, m| acc | file_mask(m));
        held & want == want
    }

    /// Adds an explicit allow entry after the other explicit entries, as `icacls /grant`
    /// does; a no-op when the rights are already held.
    pub fn grant(&mut self, sid: &str, mask: u32, inherit: &str) {
        if self.grants(sid, mask) {
            return;
        }
        let acl = self.dacl.get_or_insert_with(|| Acl {
            flags: String::new(),
            aces: Vec::new(),
        });
        let at = acl
            .aces
            .iter()
            .position(Ace::is_inherited)
            .unwrap_or(acl.aces.len());
        acl.aces.insert(
            at,
            Ace {
                kind: "A".into(),
                flags: inherit.to_owned(),
                rights: rights_text(mask),
                object: String::new(),
                inherit_object: String::new(),
                sid: sid_text(sid),
                extra: None,
            },
        );
    }

    pub fn owner_is(&self, sid: &str) -> bool {
        self.owner
            .as_deref()
            .is_some_and(|o| canonical_sid(o) == canonical_sid(sid))
    }
}

fn rights_text(mask: u32) -> String {
    match mask {
        FILE_ALL => "FA".into(),
        FILE_READ => "FR".into(),
        m => format!("0x{m:x}"),
    }
}

/// The alias Windows would print for a well-known SID, else the SID.
pub fn sid_text(sid: &str) -> String {
    let full = canonical_sid(sid);
    SID_ALIASES
        .iter()
        .find(|(_, f)| *f == full)
        .map(|(a, _)| (*a).to_owned())
        .unwrap_or(full)
}

/// Where the section that starts at `from` ends: at the next `X:` tag outside parentheses.
fn section_end(s: &str, from: usize) -> usize {
    let bytes = s.as_bytes();
    let mut depth = 0u32;
    let mut i = from;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'(') => depth += 1,
            Some(b')') => depth = depth.saturating_sub(1),
            Some(b'O' | b'G' | b'D' | b'S')
                if depth == 0 && i > from && bytes.get(i + 1) == Some(&b':') =>
            {
                return i;
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// Where the entry that opens `s` (at its first `(`) closes: a conditional entry's
/// expression holds parentheses of its own.
fn matching_close(s: &str) -> Option<usize> {
    let mut depth = 0u32;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_acl(body: &str, offset: usize) -> Result<Acl, SddlError> {
    let flags_end = body.find('(').unwrap_or(body.len());
    let flags = body.get(..flags_end).unwrap_or_default().to_owned();
    let mut aces = Vec::new();
    let mut rest = body.get(flags_end..).unwrap_or_default();
    let mut at = offset + flags_end;
    while !rest.is_empty() {
        let close = matching_close(rest).ok_or(SddlError::Malformed {
            offset: at,
            what: "unclosed ace",
        })?;
        let inner = rest.get(1..close).unwrap_or_default();
        let parts: Vec<&str> = inner.splitn(7, ';').collect();
        let [kind, flags, rights, object, inherit_object, sid, extra @ ..] = parts.as_slice()
        else {
            return Err(SddlError::Malformed {
                offset: at,
                what: "ace has fewer than six fields",
            });
        };
        aces.push(Ace {
            kind: (*kind).to_owned(),
            flags: (*flags).to_owned(),
            rights: (*rights).to_owned(),
            object: (*object).to_owned(),
            inherit_object: (*inherit_object).to_owned(),
            sid: (*sid).to_owned(),
            extra: extra.first().map(|s| (*s).to_owned()),
        });
        rest = rest.get(close + 1..).unwrap_or_default();
        at += close + 1;
        if !rest.is_empty() && !rest.starts_with('(') {
            return Err(SddlError::Malformed {
                offset: at,
                what: "expected ( after )",
            });
        }
    }
    Ok(Acl { flags, aces })
}

impl fmt::Display for SecurityDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(o) = &self.owner {
            write!(f, "O:{o}")?;
        }
        if let Some(g) = &self.group {
            write!(f, "G:{g}")?;
        }
        if let Some(d) = &self.dacl {
            write!(f, "D:{}", d.flags)?;
            for a in &d.aces {
                write!(
                    f,
                    "({};{};{};{};{};{}",
                    a.kind, a.flags, a.rights, a.object, a.inherit_object, a.sid
                )?;
                if let Some(x) = &a.extra {
                    write!(f, ";{x}")?;
                }
                f.write_str(")")?;
            }
        }
        if let Some(s) = &self.sacl {
            write!(f, "S:{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // What Windows Server 2019 reports for a MachineKeys key file and for ProgramData.
    const KEY_FILE: &str = "O:SYG:SYD:PAI(A;;FA;;;SY)(A;;FA;;;BA)";
    const PROGRAM_DATA: &str = "O:SYG:SYD:P(A;OICIIO;GA;;;CO)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;CI;DCLC;;;BU)";

    #[test]
    fn round_trips_what_windows_writes() {
        for s in [
            KEY_FILE,
            PROGRAM_DATA,
            "O:BAD:(A;;0x1200a9;;;S-1-5-21-1-2-3-1001)S:AI(AU;SA;FA;;;WD)",
        ] {
            assert_eq!(SecurityDescriptor::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn programdata_lets_users_add_files_so_it_is_not_a_safe_state_dir() {
        let sd = SecurityDescriptor::parse(PROGRAM_DATA).unwrap();
        assert_eq!(sd.writers_besides_admins(None), vec!["Users".to_owned()]);
    }

    #[test]
    fn protected_admin_only_dir_is_safe() {
        let sd = SecurityDescriptor::parse(
            "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)",
        )
        .unwrap();
        assert!(sd.writers_besides_admins(None).is_empty());
    }

    #[test]
    fn the_administrator_running_the_fixer_may_own_its_state() {
        let sd = SecurityDescriptor::parse(
            "O:S-1-5-21-9-1000D:P(A;OICI;FA;;;S-1-5-21-9-1000)(A;OICI;FA;;;SY)",
        )
        .unwrap();
        assert_eq!(sd.writers_besides_admins(None).len(), 2);
        assert!(
            sd.writers_besides_admins(Some("S-1-5-21-9-1000"))
                .is_empty()
        );
    }

    #[test]
    fn a_user_owner_or_a_null_dacl_is_unsafe() {
        let owned = SecurityDescriptor::parse("O:S-1-5-21-1-2-3-1001D:P(A;;FA;;;SY)").unwrap();
        assert_eq!(
            owned.writers_besides_admins(None),
            vec!["S-1-5-21-1-2-3-1001 (owner)".to_owned()]
        );
        let null = SecurityDescriptor::parse("O:SY").unwrap();
        assert_eq!(
            null.writers_besides_admins(None),
            vec!["Everyone (no DACL)".to_owned()]
        );
        let everyone = SecurityDescriptor::parse("O:SYD:(A;;GW;;;WD)").unwrap();
        assert_eq!(
            everyone.writers_besides_admins(None),
            vec!["Everyone".to_owned()]
        );
    }

    #[test]
    fn conditional_and_object_allow_entries_count_as_writers() {
        for ace in [
            "(XA;;FA;;;BU;(WIN://SYSAPPID Contains \"x\"))",
            "(OA;;FA;;;BU)",
            "(ZA;;FA;;;BU)",
            "(QQ;;FA;;;BU)",
        ] {
            let sd = SecurityDescriptor::parse(&format!("O:SYD:P(A;;FA;;;SY){ace}")).unwrap();
            assert_eq!(
                sd.writers_besides_admins(None),
                vec!["Users".to_owned()],
                "{ace}"
            );
        }
        let deny =
            SecurityDescriptor::parse("O:SYD:P(A;;FA;;;SY)(D;;FA;;;BU)(XD;;FA;;;WD)").unwrap();
        assert!(deny.writers_besides_admins(None).is_empty());
    }

    #[test]
    fn grant_adds_an_explicit_entry_before_inherited_ones_once() {
        let mut sd = SecurityDescriptor::parse("O:SYD:AI(A;;FA;;;SY)(A;ID;FA;;;BA)").unwrap();
        assert!(!sd.grants(NETWORK_SERVICE, FILE_READ));
        sd.grant(NETWORK_SERVICE, FILE_READ, "");
        assert_eq!(
            sd.to_string(),
            "O:SYD:AI(A;;FA;;;SY)(A;;FR;;;NS)(A;ID;FA;;;BA)"
        );
        assert!(sd.grants("NS", FILE_READ));
        sd.grant(NETWORK_SERVICE, FILE_READ, "");
        assert_eq!(sd.dacl.as_ref().unwrap().aces.len(), 3);
    }

    #[test]
    fn full_control_and_generic_all_cover_read() {
        let sd = SecurityDescriptor::parse("D:(A;;GA;;;NS)(A;OICIIO;FA;;;SY)").unwrap();
        assert!(sd.grants(NETWORK_SERVICE, FILE_READ));
        // An inherit-only entry does not apply to the object itself.
        assert!(!sd.grants(SYSTEM, FILE_READ));
    }

    #[test]
    fn rejects_malformed_with_an_offset() {
        assert!(matches!(
            SecurityDescriptor::parse("O:SYD:(A;;FA"),
            Err(SddlError::Malformed { .. })
        ));
        assert!(matches!(
            SecurityDescriptor::parse("X:1"),
            Err(SddlError::Malformed { offset: 0, .. })
        ));
        assert!(SecurityDescriptor::parse("D:(A;;FA;;)").is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(s in ".{0,80}") {
            let _ = SecurityDescriptor::parse(&s).map(|sd| sd.writers_besides_admins(None));
        }
    }
}
