//! Exported field values → the event model: event IDs (with the 32-bit classic form split
//! into ID and qualifiers), levels (numbers and the names Windows shows, in several
//! languages), SIDs, placeholders.

use crate::event::Level;

/// An event ID as exported, split into the 16-bit ID and the classic qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventId {
    pub id: u16,
    pub qualifiers: Option<u16>,
}

/// Parses an exported event ID: `1058`, or the 32-bit classic value some exports show
/// (`3221226529` = qualifiers 0xC000 << 16 | 1057), or hex `0xC0000421`.
pub(crate) fn parse_event_id(raw: &str) -> Option<EventId> {
    let s = raw.trim();
    let value: u64 = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()?
    } else {
        // Some locales group digits ("3 221 226 529", "3.221.226.529"): the text exports
        // never do, but a pasted spreadsheet might.
        let digits: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
            .collect();
        digits.parse().ok()?
    };
    let value = u32::try_from(value).ok()?;
    let id = u16::try_from(value & 0xFFFF).ok()?;
    let high = u16::try_from(value >> 16).ok()?;
    Some(EventId {
        id,
        qualifiers: (high != 0).then_some(high),
    })
}

/// A numeric level (`2`), or a level name as Windows shows it. Names are those of
/// English, German, French and other Windows displays seen in real exports; an unknown
/// name gives `None` (the event is still read).
pub(crate) fn parse_level(raw: &str) -> Option<Level> {
    let s = raw.trim();
    if let Ok(n) = s.parse::<u8>() {
        return Some(Level::from_number(n));
    }
    let lower = s.to_lowercase();
    // Only names seen in real exports or Microsoft's localised pages (see the tests);
    // an unknown name leaves the level unknown rather than guessed.
    let level = match lower.as_str() {
        // English: wevtutil, Event Viewer, LevelDisplayName, Get-EventLog's EntryType.
        "critical" => Level::Critical,
        "error" => Level::Error,
        "warning" => Level::Warning,
        "information" => Level::Information,
        "verbose" => Level::Verbose,
        // German Event Viewer ("Ebene: Fehler").
        "fehler" => Level::Error,
        // French Event Viewer help: Critique, Erreur, Avertissement, Informations.
        "critique" => Level::Critical,
        "erreur" => Level::Error,
        "avertissement" => Level::Warning,
        "informations" => Level::Information,
        // Microsoft's localised copies of the seed article (nl, sv, hu, tr, pl, ru).
        "fout" | "fel" | "hiba" | "hata" | "błąd" | "ошибка" => Level::Error,
        // Chinese wevtutil output ("Level: 信息") and zh-CN Event Viewer copies ("级别: 错误").
        "信息" => Level::Information,
        "错误" => Level::Error,
        // Japanese Event Viewer copies ("レベル: エラー", "レベル: 警告", "レベル: 情報").
        "エラー" => Level::Error,
        "警告" => Level::Warning,
        "情報" => Level::Information,
        // Korean and zh-TW Event Viewer copies ("수준: 정보", "層級: 錯誤").
        "정보" => Level::Information,
        "錯誤" => Level::Error,
        _ => return None,
    };
    Some(level)
}

/// Whether `s` is a SID string (`S-1-5-18`).
pub(crate) fn is_sid(s: &str) -> bool {
    let mut parts = s.split('-');
    matches!(parts.next(), Some("S" | "s")) && parts.next() == Some("1") && {
        let rest: Vec<&str> = parts.collect();
        !rest.is_empty()
            && rest
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// Values exports use for "nothing here": `N/A` (and its translations seen in exports),
/// `-`, the article's `—` and `*placeholder*`s, an empty string.
pub(crate) fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    t.is_empty()
        || matches!(
            t.to_lowercase().as_str(),
            "n/a"
                | "n/v"
                | "n.v."
                | "-"
                | "—"
                | "–"
                | "none"
                | "null"
                | "ej mycket"
                | "saknas"
                | "yok"
                | "nd"
                | "n/d"
                | "該当なし"
                | "不适用"
                // zh-CN Event Viewer copies ("用户: 暂缺").
                | "暂缺"
        )
        || (t.len() > 2 && t.starts_with('*') && t.ends_with('*'))
}

/// A log name as a text export shows it → the channel. Event Viewer's tree and the localised
/// articles show a log's display name, which Windows translates; the channel the event was
/// logged to is still `System`, `Security` or `Application`. (Event Viewer's own "Copy
/// details as text" writes the channel: Japanese, Chinese and German copies published on
/// GitHub read `ログの名前: System`, `日志名称: Security`, `Protokollname: Application`; the
/// translated names come from translated articles and from people typing what the tree
/// shows.) Only names with a source are mapped; any other name is kept as it is:
/// - Microsoft's localised copies of the seed article (fr, nl, ru, hu, tr, ja) and a German
///   copy (`Anwendung`);
/// - learn.microsoft.com zh-cn "读取和管理事件日志的技术摘要" (bb671205), its "Windows 日志"
///   table: `应用程序`, `安全性`, `系统`; zh-cn "event-logging-security": `安全 日志`;
/// - learn.microsoft.com ja-jp "Eventlog キー": `アプリケーション`, `セキュリティ`, `システム`;
///   it-it "Chiave del log eventi": `Applicazione`, `sicurezza`;
/// - the Korean Event Viewer help (Windows Server 2008, "이벤트 속성", as mirrored on
///   forsenergy.com): `시스템 및 응용 프로그램 로그`, `보안 로그`;
/// - Spanish and German guides to Event Viewer's tree (office-skill.site/es: `Aplicación,
///   Seguridad, Configuración y Sistema`; it-sicherheit.softperten.de: `Anwendung,
///   Sicherheit und System`) — not Microsoft's own pages, which were not found for these.
pub(crate) fn channel(raw: &str) -> Option<String> {
    let v = value(raw)?;
    let canonical = match v.to_lowercase().as_str() {
        "système" | "systeem" | "системы" | "rendszer" | "sistem" | "システム" | "系统"
        | "시스템" | "sistema" => "System",
        "セキュリティ" | "安全性" | "安全" | "보안" | "seguridad" | "sicherheit" | "sicurezza" => {
            "Security"
        }
        "anwendung"
        | "アプリケーション"
        | "应用程序"
        | "응용 프로그램"
        | "aplicación"
        | "applicazione" => "Application",
        _ => return Some(v),
    };
    Some(canonical.to_owned())
}

/// Trimmed value, or `None` for a placeholder.
pub(crate) fn value(s: &str) -> Option<String> {
    (!is_placeholder(s)).then(|| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_classic_32_bit_event_id() {
        assert_eq!(
            parse_event_id("3221226529"),
            Some(EventId {
                id: 1057,
                qualifiers: Some(0xC000)
            })
        );
        assert_eq!(
            parse_event_id("0xC0000422"),
            Some(EventId {
                id: 1058,
                qualifiers: Some(0xC000)
            })
        );
        assert_eq!(
            parse_event_id(" 1058 "),
            Some(EventId {
                id: 1058,
                qualifiers: None
            })
        );
        assert_eq!(
            parse_event_id("36870"),
            Some(EventId {
                id: 36870,
                qualifiers: None
            })
        );
    }

    #[test]
    fn rejects_non_numeric_and_oversized_ids() {
        assert_eq!(parse_event_id("abc"), None);
        assert_eq!(parse_event_id("4294967296"), None);
        assert_eq!(parse_event_id("-1"), None);
        assert_eq!(parse_event_id(""), None);
    }

    #[test]
    fn level_names_in_several_languages() {
        assert_eq!(parse_level("Error"), Some(Level::Error));
        assert_eq!(parse_level("Fehler"), Some(Level::Error));
        assert_eq!(parse_level("Erreur"), Some(Level::Error));
        assert_eq!(parse_level("2"), Some(Level::Error));
        assert_eq!(parse_level("Avertissement"), Some(Level::Warning));
        assert_eq!(parse_level("错误"), Some(Level::Error));
        assert_eq!(parse_level("エラー"), Some(Level::Error));
        assert_eq!(parse_level("警告"), Some(Level::Warning));
        assert_eq!(parse_level("情報"), Some(Level::Information));
        assert_eq!(parse_level("Gibberish"), None);
    }

    #[test]
    fn localised_log_names_become_channels() {
        assert_eq!(channel("Système").as_deref(), Some("System"));
        assert_eq!(channel("Anwendung").as_deref(), Some("Application"));
        for (shown, want) in [
            ("系统", "System"),
            ("시스템", "System"),
            ("Sistema", "System"),
            ("安全性", "Security"),
            ("安全", "Security"),
            ("セキュリティ", "Security"),
            ("보안", "Security"),
            ("Seguridad", "Security"),
            ("Sicherheit", "Security"),
            ("アプリケーション", "Application"),
            ("应用程序", "Application"),
            ("응용 프로그램", "Application"),
            ("Aplicación", "Application"),
        ] {
            assert_eq!(channel(shown).as_deref(), Some(want), "{shown}");
        }
        // Not sourced: kept as shown.
        assert_eq!(channel("Sécurité").as_deref(), Some("Sécurité"));
        assert_eq!(
            channel("Microsoft-Windows-TaskScheduler/Operational").as_deref(),
            Some("Microsoft-Windows-TaskScheduler/Operational")
        );
        assert_eq!(channel("N/A"), None);
    }

    #[test]
    fn sids_and_placeholders() {
        assert!(is_sid("S-1-5-18"));
        assert!(is_sid("S-1-5-21-1004336348-1177238915-682003330-512"));
        assert!(!is_sid("SYSTEM"));
        assert!(!is_sid("S-1-"));
        assert!(is_placeholder("N/A"));
        assert!(is_placeholder("*computer*"));
        assert!(is_placeholder("—"));
        assert!(is_placeholder("暂缺"));
        assert!(!is_placeholder("vm1"));
    }
}
