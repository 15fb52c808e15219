//! The seed article's events (shared/seed/event-id-troubleshoot-vm-rdp-connection.md) as
//! [`Event`]s, for burying in test logs. What the article shows is kept (provider, ID,
//! level, log, user, the "information included with the event" of 2056/1296); the rest is
//! what such events carry on real machines:
//! - RemoteConnectionManager 1057/1058 are classic events ("Keywords: Classic"): qualifiers
//!   0xC000 (error severity), as RDP-SCENARIOS.md notes (0xC0000421 = 3221226529 → 1057);
//! - Schannel 36870's data names are those of a real event exported with Event Viewer
//!   (Type, ErrorCode, ErrorStatus; MicrosoftDocs Service Fabric troubleshooting page).

use analyzer::Event;
use jiff::{SignedDuration, Timestamp};

use crate::evtx_writer::event;

const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";

/// Scenario 1: RemoteConnectionManager 1058 twice and 1057, Schannel 36870; one second apart
/// from `at`, on `computer`.
pub fn scenario1(computer: &str, at: Timestamp) -> Vec<Event> {
    let t = |s: i64| at.checked_add(SignedDuration::from_secs(s)).unwrap_or(at);
    vec![
        event(RCM, 1058)
            .qualifiers(0xC000)
            .level(2)
            .computer(computer)
            .time(t(0))
            .build(),
        event(RCM, 1058)
            .qualifiers(0xC000)
            .level(2)
            .computer(computer)
            .time(t(1))
            .build(),
        event(RCM, 1057)
            .qualifiers(0xC000)
            .level(2)
            .computer(computer)
            .time(t(2))
            .build(),
        event("Schannel", 36870)
            .level(2)
            .computer(computer)
            .time(t(3))
            .user_sid("S-1-5-18")
            .data("Type", "server")
            .data("ErrorCode", "0x8009030d")
            .data("ErrorStatus", "10001")
            .build(),
    ]
}

/// Scenario 2: Schannel 36871 (the article shows no data for it).
pub fn scenario2(computer: &str, at: Timestamp) -> Vec<Event> {
    vec![
        event("Schannel", 36871)
            .level(2)
            .computer(computer)
            .time(at)
            .user_sid("S-1-5-18")
            .build(),
    ]
}

/// Scenario 3: SessionBroker 2056 and SessionBroker-Client 1296 in their Operational logs,
/// logged as NETWORK SERVICE, with the values the article's descriptions show.
pub fn scenario3(computer: &str, at: Timestamp) -> Vec<Event> {
    let later = at.checked_add(SignedDuration::from_secs(1)).unwrap_or(at);
    vec![
        event("Microsoft-Windows-TerminalServices-SessionBroker", 2056)
            .level(2)
            .channel("Microsoft-Windows-TerminalServices-SessionBroker/Operational")
            .computer(computer)
            .time(at)
            .user_sid("S-1-5-20")
            .params(&["NULL", "NULL", "Logon to the database failed."])
            .build(),
        event(
            "Microsoft-Windows-TerminalServices-SessionBroker-Client",
            1296,
        )
        .level(2)
        .channel("Microsoft-Windows-TerminalServices-SessionBroker-Client/Operational")
        .computer(computer)
        .time(later)
        .user_sid("S-1-5-20")
        .params(&[
            "",
            "",
            "Remote Desktop Connection Broker is not ready for RPC communication.",
        ])
        .build(),
    ]
}
