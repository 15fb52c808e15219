//! A service's display name in the message of a text export, as the whole name.
//!
//! Service Control Manager messages insert the display name: "The %1 service …" in English,
//! "Le service %1 …", "El servicio %1 …", "Il servizio %1 …", "O serviço %1 …" in the Romance
//! languages, `Der Dienst "%1" …` in German. Longer names contain shorter ones: "Remote
//! Desktop Services UserMode Port Redirector" (UmRdpService) holds "Remote Desktop Services"
//! (TermService), and in French "Redirecteur de port du mode utilisateur des services Bureau à
//! distance" and "Configuration des services Bureau à distance" (SessionEnv) hold "Services
//! Bureau à distance". A plain substring test takes those services for TermService; here a
//! name counts only where the message's own frame delimits it.

/// The word "service" in the languages whose messages put it before the name (English puts
/// it after). German messages quote the name instead (`Dienst`, `Diensts`, `Dienstes`).
const SERVICE_WORDS: &[&str] = &["service", "servicio", "servizio", "serviço"];

/// Quotation marks around an inserted name (German `"…"`, `„…"`, French `« … »`).
const QUOTES: &[char] = &['"', '\'', '“', '”', '„', '«', '»', '‘', '’'];

/// Whether `hay` (a message, lowercased) names the service `phrase` (lowercased; surrounding
/// spaces ignored) as a whole: followed by the word "service" ("the remote desktop services
/// service"), after the word for service ("le service services bureau à distance"), or
/// between quotation marks (`dienst "remotedesktopdienste"`).
pub fn names_service(hay: &str, phrase: &str) -> bool {
    let phrase = phrase.trim();
    if phrase.is_empty() {
        return false;
    }
    // Every occurrence, overlapping ones too: in "é é é service" the framed "é é" is the
    // second, which starts inside the first.
    let mut from = 0;
    while let Some(found) = hay.get(from..).and_then(|rest| rest.find(phrase)) {
        let at = from + found;
        let before = hay.get(..at).unwrap_or_default();
        let after = hay.get(at + phrase.len()..).unwrap_or_default();
        if service_word_follows(after) || service_word_precedes(before) || quoted(before, after) {
            return true;
        }
        // On to the next character after this occurrence's start.
        from = at
            + hay
                .get(at..)
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
    }
    false
}

fn service_word_follows(after: &str) -> bool {
    after
        .strip_prefix(char::is_whitespace)
        .and_then(|rest| rest.strip_prefix("service"))
        .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
}

fn service_word_precedes(before: &str) -> bool {
    let Some(before) = before.strip_suffix(char::is_whitespace) else {
        return false;
    };
    SERVICE_WORDS.iter().any(|word| {
        before
            .strip_suffix(word)
            .is_some_and(|rest| !rest.ends_with(char::is_alphanumeric))
    })
}

fn quoted(before: &str, after: &str) -> bool {
    before.trim_end().ends_with(QUOTES) && after.trim_start().starts_with(QUOTES)
}

#[cfg(test)]
mod tests {
    use super::names_service;
    use proptest::prelude::*;

    proptest! {
        /// Any text, any phrase: no panic (multi-byte letters around the match included), and
        /// the answer is that of the name's frames, whatever surrounds them.
        #[test]
        fn frames_decide_whatever_surrounds_them(
            hay in "[ a-zàéß«»\"„“\u{a0}]{0,24}",
            phrase in "[a-zàé]{1,6}( [a-zàé]{1,6})?",
            left in "[ a-zé.:]{0,10}",
            right in "[ a-zé.:]{0,10}",
        ) {
            let _ = names_service(&hay, &phrase);
            let after = format!("{left} {phrase} service{right}");
            prop_assert!(
                names_service(&after, &phrase) || right.starts_with(char::is_alphanumeric)
            );
            let before = format!("{left}le service {phrase} {right}");
            prop_assert!(names_service(&before, &phrase));
            let quoted = format!("{left}dienst \"{phrase}\" {right}");
            prop_assert!(names_service(&quoted, &phrase));
            // Inside a longer name, with no frame of its own: never the service.
            let inside = format!("x {phrase} usermode y");
            prop_assert!(!names_service(&inside, &phrase));
        }
    }

    const TERMSERVICE: &[&str] = &[
        "remote desktop services",
        "services bureau à distance",
        "remotedesktopdienste",
        "servicios de escritorio remoto",
    ];

    fn any(message: &str) -> bool {
        let hay = message.to_lowercase();
        TERMSERVICE.iter().any(|p| names_service(&hay, p))
    }

    #[test]
    fn termservice_is_named_in_each_messages_frame() {
        assert!(any(
            "The Remote Desktop Services service entered the stopped state."
        ));
        assert!(any(
            "The start type of the Remote Desktop Services service was changed from demand start to disabled."
        ));
        assert!(any(
            "Le service Services Bureau à distance n'a pas pu démarrer en raison de l'erreur :"
        ));
        assert!(any(
            "Le type de démarrage du service Services Bureau à distance est passé de Démarrer à la demande à Désactivé."
        ));
        assert!(any(
            "Der Dienst \"Remotedesktopdienste\" wurde mit folgendem Fehler beendet:"
        ));
        assert!(any(
            "El servicio Servicios de Escritorio remoto terminó con el siguiente error:"
        ));
    }

    #[test]
    fn longer_names_holding_termservices_are_not_termservice() {
        for message in [
            "The Remote Desktop Services UserMode Port Redirector service entered the stopped state.",
            "The start type of the Remote Desktop Services UserMode Port Redirector service was changed from demand start to disabled.",
            "Le service Redirecteur de port du mode utilisateur des services Bureau à distance s’est arrêté.",
            "Le service Redirecteur de Port du mode utilisateur Services Bureau à distance s’est arrêté.",
            "Le service Configuration des services Bureau à distance s’est arrêté.",
            "Der Dienst \"Remotedesktopdienste-UserMode-Portumleitung\" wurde beendet.",
            "El servicio Redirector de puerto en modo usuario de Servicios de Escritorio remoto terminó.",
            "Remote Desktop Services is a role of Windows Server; it is running.",
        ] {
            assert!(!any(message), "{message}");
        }
    }

    #[test]
    fn the_service_word_must_be_a_whole_word() {
        let hay = "the remote desktop services serviceability check";
        assert!(!names_service(hay, "remote desktop services"));
        let hay = "le subservice services bureau à distance";
        assert!(!names_service(hay, "services bureau à distance"));
        assert!(!names_service("anything", "  "));
    }
}
