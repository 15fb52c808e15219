//! The rules engine on events built directly: which findings hold, how confident, and which
//! near-misses must not match. Format-level fixtures (text, XML, .evtx) live in
//! `rules_fixtures.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::rules::{self, Age, Catalog, Collector, Confidence, Finding, Tier};
use analyzer::{Event, Location, Origin};
use jiff::{SignedDuration, Timestamp};

const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
const NOW: &str = "2024-05-10T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn hours_ago(h: i64) -> Timestamp {
    now() - SignedDuration::from_hours(h)
}

fn event(provider: &str, id: u16, channel: &str, time: Timestamp) -> Event {
    Event {
        provider: provider.to_string(),
        event_id: id,
        qualifiers: None,
        level: None,
        time_created: Some(time),
        time_is_local: false,
        record_id: Some(1),
        channel: Some(channel.to_string()),
        computer: Some("vm1".to_string()),
        user_sid: None,
        user_name: None,
        data: Vec::new(),
        message: None,
        origin: Origin {
            input: "test".to_string(),
            location: Location::Line { line: 1 },
        },
    }
}

fn with_data(mut e: Event, data: &[(&str, &str)]) -> Event {
    e.data = data
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    e
}

fn with_message(mut e: Event, message: &str) -> Event {
    e.message = Some(message.to_string());
    e
}

fn diagnose(events: &[Event], now: Timestamp) -> Vec<Finding> {
    let mut collector = Collector::new(Catalog::builtin().unwrap());
    for e in events {
        collector.observe(e);
    }
    rules::evaluate(&collector, Some(now))
}

fn ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.id.as_str()).collect()
}

fn finding<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:?}", ids(findings)))
}

fn schannel_36870(time: Timestamp) -> Event {
    with_data(
        event("Schannel", 36870, "System", time),
        &[
            ("Type", "server"),
            ("ErrorCode", "0x8009030d"),
            ("ErrorStatus", "10001"),
        ],
    )
}

#[test]
fn rcm_1058_alone_is_scenario_1_with_high_confidence() {
    let findings = diagnose(&[event(RCM, 1058, "System", hours_ago(2))], now());
    assert_eq!(ids(&findings), ["rdp-cert-keys"]);
    let f = finding(&findings, "rdp-cert-keys");
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.evidence.len(), 1);
    assert_eq!(f.evidence[0].age, Age::InWindow);
    assert_eq!(f.evidence[0].event_id, 1058);
}

#[test]
fn rcm_and_schannel_agreeing_raise_confidence_above_either_alone() {
    let rcm = diagnose(&[event(RCM, 1057, "System", hours_ago(1))], now());
    let schannel = diagnose(&[schannel_36870(hours_ago(1))], now());
    let both = diagnose(
        &[
            event(RCM, 1057, "System", hours_ago(1)),
            schannel_36870(hours_ago(1)),
        ],
        now(),
    );
    let score = |f: &[Finding]| finding(f, "rdp-cert-keys").score;
    assert!(score(&both) > score(&rcm) && score(&both) > score(&schannel));
    assert!(
        finding(&both, "rdp-cert-keys")
            .reasons
            .iter()
            .any(|r| r.text.contains("independent sources agree"))
    );
    assert_eq!(
        finding(&schannel, "rdp-cert-keys").confidence,
        Confidence::Medium,
        "Schannel alone is not proof it is RDP"
    );
}

#[test]
fn classic_event_with_qualifiers_matches_on_its_16_bit_id() {
    let mut e = event(RCM, 1058, "System", hours_ago(1));
    e.qualifiers = Some(49152);
    assert_eq!(ids(&diagnose(&[e], now())), ["rdp-cert-keys"]);
}

#[test]
fn provider_aliases_and_event_viewer_short_names_match() {
    for provider in [
        "TermService",
        "TerminalServices-RemoteConnectionManager",
        " microsoft-windows-terminalservices-remoteconnectionmanager ",
    ] {
        let findings = diagnose(&[event(provider, 1058, "System", hours_ago(1))], now());
        assert_eq!(ids(&findings), ["rdp-cert-keys"], "provider {provider:?}");
    }
}

#[test]
fn same_event_id_from_another_provider_does_not_match() {
    // Group Policy logs 1058 when it cannot read gpt.ini: common, and not RDP.
    let findings = diagnose(
        &[
            event(
                "Microsoft-Windows-GroupPolicy",
                1058,
                "System",
                hours_ago(1),
            ),
            event(
                "Microsoft-Windows-TerminalServices-LocalSessionManager",
                36870,
                "System",
                hours_ago(1),
            ),
            event(
                "Microsoft-Windows-TerminalServices-SessionBroker",
                1296,
                "Microsoft-Windows-TerminalServices-SessionBroker/Operational",
                hours_ago(1),
            ),
        ],
        now(),
    );
    assert!(findings.is_empty(), "{:?}", ids(&findings));
}

#[test]
fn the_benign_self_signed_certificate_event_1056_is_not_scenario_1() {
    // Real System logs carry RCM 1056 ("a new self signed certificate ... has been created").
    assert!(diagnose(&[event(RCM, 1056, "System", hours_ago(1))], now()).is_empty());
}

#[test]
fn client_side_schannel_events_are_rejected() {
    let client_key = with_data(
        event("Schannel", 36870, "System", hours_ago(1)),
        &[
            ("Type", "client"),
            ("ErrorCode", "0x8009030d"),
            ("ErrorStatus", "10001"),
        ],
    );
    let client_tls = with_data(
        event("Schannel", 36871, "System", hours_ago(1)),
        &[("Type", "client"), ("ErrorState", "10013")],
    );
    assert!(diagnose(&[client_key, client_tls], now()).is_empty());
}

#[test]
fn scenario_2_needs_error_state_10013() {
    let right = with_data(
        event("Schannel", 36871, "System", hours_ago(3)),
        &[("Type", "server"), ("ErrorState", "10013")],
    );
    let other_state = with_data(
        event("Schannel", 36871, "System", hours_ago(3)),
        &[("Type", "server"), ("ErrorState", "10011")],
    );
    let findings = diagnose(&[right], now());
    assert_eq!(ids(&findings), ["rdp-tls-disabled"]);
    assert_eq!(
        finding(&findings, "rdp-tls-disabled").confidence,
        Confidence::High
    );
    assert!(diagnose(&[other_state], now()).is_empty());
}

#[test]
fn scenario_2_from_a_text_export_reads_the_state_from_a_localised_message() {
    // A French wevtutil /f:text export: no event data, the number is in the message.
    let fr = with_message(
        event("Schannel", 36871, "System", hours_ago(3)),
        "Une erreur irrécupérable s’est produite lors de la création d’informations d’identification serveur TLS. L’état d’erreur interne est 10013.",
    );
    let findings = diagnose(&[fr], now());
    let f = finding(&findings, "rdp-tls-disabled");
    assert_eq!(
        f.confidence,
        Confidence::High,
        "the message names the server credential and the state: {:?}",
        f.reasons
    );
    assert!(
        f.reasons
            .iter()
            .any(|r| r.text.contains("found in the message text"))
    );
    let wrong_state = with_message(
        event("Schannel", 36871, "System", hours_ago(3)),
        "... L’état d’erreur interne est 10011.",
    );
    assert!(diagnose(&[wrong_state], now()).is_empty());
    // Client-side 36871 (an agent talking old TLS) is common on healthy machines: the message
    // names the client credential, in any of the languages the rule lists.
    for client in [
        "A fatal error occurred while creating a TLS client credential. The internal error state is 10013.",
        "Une erreur irrécupérable s’est produite lors de la création d’informations d’identification client TLS. L’état d’erreur interne est 10013.",
        "Schwerwiegender Fehler beim Erstellen von TLS-Clientanmeldeinformationen. Der interne Fehlerstatus lautet 10013.",
    ] {
        let e = with_message(event("Schannel", 36871, "System", hours_ago(3)), client);
        assert!(diagnose(&[e], now()).is_empty(), "{client}");
    }
}

#[test]
fn status_codes_compare_as_numbers_whatever_their_spelling() {
    for code in ["0x8009030D", "0x8009030d", "2148074253", "-2146893043"] {
        let e = with_data(
            event("Schannel", 36870, "System", hours_ago(1)),
            &[("Type", "server"), ("ErrorCode", code)],
        );
        let findings = diagnose(&[e], now());
        let f = finding(&findings, "rdp-cert-keys");
        assert!(
            f.reasons
                .iter()
                .any(|r| r.text.contains("0x8009030D: confirmed")),
            "{code}: {:?}",
            f.reasons
        );
    }
}

#[test]
fn evidence_older_than_the_window_is_shown_with_lower_confidence() {
    let current = diagnose(&[event(RCM, 1058, "System", hours_ago(2))], now());
    let old = diagnose(&[event(RCM, 1058, "System", hours_ago(30))], now());
    let f = finding(&old, "rdp-cert-keys");
    assert_eq!(f.evidence[0].age, Age::Older);
    assert!(f.score < finding(&current, "rdp-cert-keys").score);
    assert_eq!(f.confidence, Confidence::Low);
    assert!(f.reasons.iter().any(|r| r.text.contains("old problem")));
    assert_eq!(f.signals[0].older, 1);
    assert_eq!(f.signals[0].in_window, 0);
}

#[test]
fn window_edges_are_inclusive_to_the_second() {
    let at_edge = event(RCM, 1058, "System", hours_ago(24));
    let just_before = event(
        RCM,
        1058,
        "System",
        hours_ago(24) - SignedDuration::from_secs(1),
    );
    let findings = diagnose(&[at_edge, just_before], now());
    let s = &finding(&findings, "rdp-cert-keys").signals[0];
    assert_eq!((s.in_window, s.older), (1, 1));
}

#[test]
fn events_after_the_chosen_now_are_marked_newer() {
    let findings = diagnose(&[event(RCM, 1058, "System", hours_ago(-5))], now());
    let f = finding(&findings, "rdp-cert-keys");
    assert_eq!(f.evidence[0].age, Age::Newer);
    assert_eq!(f.signals[0].newer, 1);
}

#[test]
fn schannel_only_on_a_domain_controller_is_doubted_unless_rcm_agrees() {
    let kdc = event(
        "Microsoft-Windows-Kerberos-Key-Distribution-Center",
        14,
        "System",
        hours_ago(5),
    );
    let plain = diagnose(&[schannel_36870(hours_ago(1))], now());
    let on_dc = diagnose(&[schannel_36870(hours_ago(1)), kdc.clone()], now());
    let on_dc_with_rcm = diagnose(
        &[
            schannel_36870(hours_ago(1)),
            kdc,
            event(RCM, 1058, "System", hours_ago(1)),
        ],
        now(),
    );
    let score = |f: &[Finding]| finding(f, "rdp-cert-keys").score;
    assert!(score(&on_dc) < score(&plain));
    assert!(
        finding(&on_dc, "rdp-cert-keys")
            .reasons
            .iter()
            .any(|r| r.text.contains("domain controller"))
    );
    assert!(
        !finding(&on_dc_with_rcm, "rdp-cert-keys")
            .reasons
            .iter()
            .any(|r| r.points < 0 && r.text.contains("domain controller"))
    );
}

#[test]
fn scenario_3_events_match_in_their_operational_channels() {
    let broker = event(
        "Microsoft-Windows-TerminalServices-SessionBroker",
        2056,
        "Microsoft-Windows-TerminalServices-SessionBroker/Operational",
        hours_ago(4),
    );
    let client = event(
        "Microsoft-Windows-TerminalServices-SessionBroker-Client",
        1296,
        "Microsoft-Windows-TerminalServices-SessionBroker-Client/Operational",
        hours_ago(4),
    );
    let one = diagnose(std::slice::from_ref(&broker), now());
    let both = diagnose(&[broker, client], now());
    assert_eq!(ids(&one), ["rdp-broker-renamed"]);
    assert_eq!(
        finding(&both, "rdp-broker-renamed").confidence,
        Confidence::High
    );
    assert!(
        finding(&one, "rdp-broker-renamed").check_next[0]
            .contains("RD Connection Broker role installed")
    );
}

#[test]
fn a_channel_the_signal_does_not_read_does_not_match() {
    let misplaced = event(
        "Microsoft-Windows-TerminalServices-SessionBroker",
        2056,
        "Application",
        hours_ago(4),
    );
    assert!(diagnose(&[misplaced], now()).is_empty());
}

#[test]
fn an_event_with_no_channel_still_matches_on_provider_and_id() {
    let mut e = event(RCM, 1058, "System", hours_ago(1));
    e.channel = None;
    assert_eq!(ids(&diagnose(&[e], now())), ["rdp-cert-keys"]);
}

#[test]
fn termservice_hang_is_identified_by_key_name_or_localised_display_name() {
    let by_binary = with_data(
        event("Service Control Manager", 7022, "System", hours_ago(1)),
        &[
            ("param1", "Irgendein Name"),
            ("Binary", "5400650072006D0053006500720076006900630065000000"),
        ],
    );
    let by_german_name = with_data(
        event("Service Control Manager", 7022, "System", hours_ago(1)),
        &[("param1", "Remotedesktopdienste")],
    );
    let other_service = with_data(
        event("Service Control Manager", 7022, "System", hours_ago(1)),
        &[
            ("param1", "Print Spooler"),
            ("Binary", "530070006F006F006C00650072000000"),
        ],
    );
    // An unlisted translation in param1 does not hide the key name in <Binary>.
    assert_eq!(
        ids(&diagnose(&[by_binary], now())),
        ["rdp-termservice-hung"]
    );
    assert_eq!(
        ids(&diagnose(&[by_german_name], now())),
        ["rdp-termservice-hung"]
    );
    assert!(diagnose(&[other_service], now()).is_empty());
}

#[test]
fn brute_force_needs_a_burst_not_a_trickle() {
    let start = hours_ago(3);
    let burst: Vec<Event> = (0..120)
        .map(|i| {
            with_data(
                event(
                    "Microsoft-Windows-Security-Auditing",
                    4625,
                    "Security",
                    start + SignedDuration::from_secs(i * 2),
                ),
                &[("Status", "0xc000006d")],
            )
        })
        .collect();
    let trickle: Vec<Event> = (0..120)
        .map(|i| {
            event(
                "Microsoft-Windows-Security-Auditing",
                4625,
                "Security",
                hours_ago(23) + SignedDuration::from_mins(i * 10),
            )
        })
        .collect();
    let findings = diagnose(&burst, now());
    let f = finding(&findings, "rdp-brute-force");
    let peak = f.signals[0].peak.unwrap();
    assert!(peak.events >= 60 && peak.in_window, "{peak:?}");
    // These 4625s carry neither data nor a message: no rule can tell their status, and the
    // account-state, logon-right and clock-skew rules set them aside (unknown = "rejects").
    assert!(diagnose(&trickle, now()).is_empty());
}

#[test]
fn derived_rules_never_outrank_seed_findings() {
    // A strong derived finding (many licensing events) and a weak, old seed one.
    let mut events: Vec<Event> = (0..10)
        .map(|i| event(RCM, 1128, "System", hours_ago(i)))
        .collect();
    events.push(event(RCM, 1068, "System", hours_ago(1)));
    events.push(schannel_36870(hours_ago(40)));
    let findings = diagnose(&events, now());
    assert_eq!(
        ids(&findings),
        ["rdp-cert-keys", "rdp-licensing-grace-expired"]
    );
    let derived = finding(&findings, "rdp-licensing-grace-expired");
    assert_eq!(derived.tier, Tier::Derived);
    assert!(derived.confidence <= Confidence::Medium);
}

#[test]
fn several_findings_can_hold_at_once() {
    let events = [
        event(RCM, 1058, "System", hours_ago(1)),
        with_data(
            event("Schannel", 36871, "System", hours_ago(1)),
            &[("Type", "server"), ("ErrorState", "10013")],
        ),
    ];
    let findings = diagnose(&events, now());
    assert_eq!(findings.len(), 2);
    assert!(
        ids(&findings).contains(&"rdp-cert-keys") && ids(&findings).contains(&"rdp-tls-disabled")
    );
}

#[test]
fn license_certificate_corruption_needs_both_kinds_of_event() {
    let termdd = event("TermDD", 50, "System", hours_ago(2));
    let licensing = event("TermService", 1004, "System", hours_ago(2));
    assert!(
        diagnose(std::slice::from_ref(&termdd), now()).is_empty(),
        "TermDD 50 alone is common noise"
    );
    assert_eq!(
        ids(&diagnose(&[termdd, licensing], now())),
        ["rdp-license-certificate-corrupt"]
    );
}

#[test]
fn memory_stays_bounded_and_counts_stay_exact_for_many_candidates() {
    let mut collector = Collector::new(Catalog::builtin().unwrap());
    let n = 50_000i64;
    for i in 0..n {
        collector.observe(&event(
            RCM,
            1058,
            "System",
            hours_ago(48) + SignedDuration::from_secs(i * 3),
        ));
    }
    let findings = rules::evaluate(&collector, Some(now()));
    let s = &finding(&findings, "rdp-cert-keys").signals[0];
    assert_eq!(s.in_window + s.older + s.newer, n as u64);
    assert_eq!(s.newer, 0);
    assert!(finding(&findings, "rdp-cert-keys").evidence.len() <= 12);
}

mod coverage_and_verdict {
    use super::*;
    use analyzer::diagnose::coverage::{self, HintKind, Ignored};
    use analyzer::diagnose::verdict;
    use analyzer::rules::{Window, collection};

    fn collect(events: &[Event]) -> Collector {
        let mut collector = Collector::new(Catalog::builtin().unwrap());
        for e in events {
            collector.observe(e);
        }
        collector
    }

    #[test]
    fn only_a_system_log_yields_a_hint_to_export_the_broker_channels() {
        let collector = collect(&[event(
            "Microsoft-Windows-Kernel-General",
            16,
            "System",
            hours_ago(30),
        )]);
        let guide = collection::guide(collector.catalog(), 24);
        let hints = coverage::hints(&collector, &Window::ending_at(Some(now()), 24), &guide);
        let missing: Vec<_> = hints
            .iter()
            .filter(|h| h.kind == HintKind::MissingChannel)
            .collect();
        let s3 = missing
            .iter()
            .find(|h| h.text.contains("SessionBroker/Operational"))
            .unwrap();
        assert!(s3.text.contains("rdp-broker-renamed (S3)"));
        assert!(s3.commands.iter().any(|c| c.starts_with(
            "wevtutil epl \"Microsoft-Windows-TerminalServices-SessionBroker/Operational\""
        )));
        assert!(
            missing
                .iter()
                .any(|h| h.text.contains("Security") && h.text.contains("rdp-brute-force"))
        );
        assert!(
            !missing
                .iter()
                .any(|h| h.text.starts_with("no events from the System log"))
        );
        // The seed channels come before the others.
        assert!(missing[0].text.contains("S3"));
    }

    #[test]
    fn a_security_log_without_any_4625_says_logon_auditing_may_be_off() {
        let security = "Microsoft-Windows-Security-Auditing";
        let window = Window::ending_at(Some(now()), 24);
        let auditing = |events: &[Event]| {
            let collector = collect(events);
            let guide = collection::guide(collector.catalog(), 24);
            coverage::hints(&collector, &window, &guide)
                .into_iter()
                .filter(|h| h.kind == HintKind::LogonAuditing)
                .collect::<Vec<_>>()
        };
        // Successful logons only: the hint, with the commands that turn failures on.
        let hints = auditing(&[event(security, 4624, "Security", hours_ago(2))]);
        assert_eq!(hints.len(), 1);
        assert!(hints[0].text.contains("logon auditing may be off"));
        assert!(hints[0].commands.iter().any(|c| c
            == "auditpol /set /subcategory:{0CCE9215-69AE-11D9-BED3-505054503030} /failure:enable"));
        let verdict = verdict::summary(&[], None, &window, 1, 19, &hints);
        assert!(verdict.starts_with("no documented RDP failure found"));
        assert!(verdict.contains("logon auditing may be off"), "{verdict}");
        // One failed logon, even one no rule keeps (a bad password), and the hint is gone.
        let bad_password = with_data(
            event(security, 4625, "Security", hours_ago(2)),
            &[
                ("Status", "0xc000006d"),
                ("SubStatus", "0xc000006a"),
                ("LogonType", "3"),
            ],
        );
        assert!(
            auditing(&[
                event(security, 4624, "Security", hours_ago(2)),
                bad_password
            ])
            .is_empty()
        );
        // No Security log read: the missing-channel hint speaks, not this one.
        assert!(auditing(&[event("EventLog", 6005, "System", hours_ago(2))]).is_empty());
    }

    #[test]
    fn a_log_starting_inside_the_window_is_reported_as_partial() {
        let collector = collect(&[
            event("EventLog", 6005, "System", hours_ago(5)),
            event("EventLog", 6006, "System", hours_ago(1)),
        ]);
        let guide = collection::guide(collector.catalog(), 24);
        let hints = coverage::hints(&collector, &Window::ending_at(Some(now()), 24), &guide);
        let partial = hints
            .iter()
            .find(|h| h.kind == HintKind::PartialWindow)
            .unwrap();
        assert!(
            partial.text.contains("only the last 5 of the 24 hours"),
            "{}",
            partial.text
        );
    }

    #[test]
    fn near_misses_are_listed_in_what_was_looked_for() {
        let collector = collect(&[
            event(
                "Microsoft-Windows-GroupPolicy",
                1058,
                "System",
                hours_ago(1),
            ),
            with_data(
                event("Schannel", 36871, "System", hours_ago(1)),
                &[("Type", "client"), ("ErrorState", "10013")],
            ),
        ]);
        let looked = coverage::looked_for(&collector, &[]);
        let s1 = looked.iter().find(|l| l.rule == "rdp-cert-keys").unwrap();
        assert_eq!(s1.channels_present, Some(true));
        assert!(s1.signals[0].ignored.contains(&Ignored::OtherProvider {
            provider: "Microsoft-Windows-GroupPolicy".into(),
            count: 1
        }));
        let s2 = looked
            .iter()
            .find(|l| l.rule == "rdp-tls-disabled")
            .unwrap();
        assert_eq!(
            s2.signals[0].ignored,
            [Ignored::ConditionFailed {
                values: vec!["client".into()],
                count: 1
            }]
        );
        assert!(!s2.found);
    }

    #[test]
    fn the_verdict_names_the_most_likely_finding_and_a_close_second() {
        let findings = diagnose(
            &[
                event(RCM, 1058, "System", hours_ago(1)),
                schannel_36870(hours_ago(1)),
                with_data(
                    event("Schannel", 36871, "System", hours_ago(1)),
                    &[("Type", "server"), ("ErrorState", "10013")],
                ),
            ],
            now(),
        );
        let m = verdict::most_likely(&findings).unwrap();
        assert_eq!(m.id, "rdp-cert-keys");
        assert!(m.why.starts_with("high confidence"), "{}", m.why);
        let line = verdict::summary(
            &findings,
            Some(&m),
            &Window::ending_at(Some(now()), 24),
            3,
            10,
            &[],
        );
        assert!(line.starts_with("most likely: rdp-cert-keys"), "{line}");
        let none = verdict::summary(
            &[],
            None,
            &Window::ending_at(Some(now()), 24),
            1881,
            10,
            &[],
        );
        assert!(
            none.starts_with("no documented RDP failure found: 10 rules looked between"),
            "{none}"
        );
    }
}
