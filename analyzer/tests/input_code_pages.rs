//! Text exports in the code pages cmd's `>` writes on Japanese, Chinese, Korean, Taiwanese
//! and Russian Windows (cp932, cp936, cp949, cp950, cp866): each is recognised from its
//! bytes and read as its UTF-8 twin is. The fixtures are in `tests/fixtures/code-pages/`
//! (its README says which are real text and which are renderings; `make.py` writes them).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::Event;
use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::input::{
    InputReport, IssueKind, IssueLocation, TextEncoding, no_progress, read_bytes,
};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/code-pages/", $name)).as_slice()
    };
}

fn read(bytes: &[u8]) -> (InputReport, Vec<Event>) {
    let mut events = Vec::new();
    let report = read_bytes("export.txt", bytes, &mut events, &mut no_progress);
    (report, events)
}

fn findings(bytes: &[u8]) -> Vec<String> {
    let mut session = Session::new();
    session.add_bytes("export.txt", bytes, &mut no_progress);
    let diagnosis = session.finish(&DiagnoseOptions::default());
    diagnosis.findings.into_iter().map(|f| f.id).collect()
}

/// A legacy-encoded export, its UTF-8 twin, and the code page it must be recognised as.
const TWINS: [(&str, &[u8], &[u8], TextEncoding); 5] = [
    (
        "ja cp932 (session 11 probe p05)",
        fixture!("p05-wevtutil-ja-s2-cp932.txt"),
        fixture!("p05u-wevtutil-ja-s2-utf8.txt"),
        TextEncoding::Cp932,
    ),
    (
        "zh cp936",
        fixture!("wevtutil-zh-s2-cp936.txt"),
        fixture!("wevtutil-zh-s2-cp936-utf8.txt"),
        TextEncoding::Cp936,
    ),
    (
        "ko cp949",
        fixture!("wevtutil-ko-s2-cp949.txt"),
        fixture!("wevtutil-ko-s2-cp949-utf8.txt"),
        TextEncoding::Cp949,
    ),
    (
        "zh-TW cp950",
        fixture!("wevtutil-zh-tw-s2-cp950.txt"),
        fixture!("wevtutil-zh-tw-s2-cp950-utf8.txt"),
        TextEncoding::Cp950,
    ),
    (
        "ru cp866",
        fixture!("wevtutil-ru-s2-cp866.txt"),
        fixture!("wevtutil-ru-s2-cp866-utf8.txt"),
        TextEncoding::Cp866,
    ),
];

#[test]
fn each_code_page_reads_as_its_utf8_twin() {
    for (what, legacy, utf8, encoding) in TWINS {
        let (report, events) = read(legacy);
        let (twin_report, twin_events) = read(utf8);
        assert_eq!(report.encoding, Some(encoding), "{what}");
        assert_eq!(twin_report.encoding, Some(TextEncoding::Utf8), "{what}");
        assert_eq!(events.len(), 202, "{what}: {:?}", report.issues);
        assert_eq!(report.errors, 0, "{what}: {:?}", report.issues);
        assert!(
            !report.has_issue(IssueKind::Encoding),
            "{what}: {:?}",
            report.issues
        );
        assert_eq!(events, twin_events, "{what}");
        // The localised 36871 message came through whole.
        let schannel: Vec<_> = events.iter().filter(|e| e.event_id == 36871).collect();
        assert_eq!(schannel.len(), 2, "{what}");
        assert!(
            schannel[0]
                .message
                .as_deref()
                .is_some_and(|m| !m.is_ascii()),
            "{what}: {:?}",
            schannel[0].message
        );
    }
}

#[test]
fn each_code_page_gives_its_utf8_twins_finding() {
    for (what, legacy, utf8, _) in TWINS {
        let twin = findings(utf8);
        assert_eq!(twin, ["rdp-tls-disabled"], "{what}");
        assert_eq!(findings(legacy), twin, "{what}");
    }
}

/// A real export of Chinese Windows (`wevtutil … /rd:true /f:text`: English labels, `信息`),
/// as cmd's `>` writes it there.
#[test]
fn real_chinese_export_in_gbk_reads_as_published() {
    let (report, events) = read(fixture!("wevtutil-zh-laps-cp936.txt"));
    let (_, published) = read(include_bytes!(
        "../../tests/fixtures/inputs/wevtutil-zh-laps.txt"
    ));
    assert_eq!(report.encoding, Some(TextEncoding::Cp936));
    assert_eq!(events, published);
    assert!(
        events[0]
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("LAPS 策略处理成功")),
        "{:?}",
        events[0].message
    );
}

/// Session 11's probe: read as cp437, every event of p05 failed with `event ID "N/A" is
/// not a number`. The same bytes now read as the UTF-8 twin does, and the bytes of its
/// labels are where Shift-JIS puts them (0x5C, `\`, second byte of `ソ`).
#[test]
fn p05_no_longer_reads_as_cp437() {
    let p05 = fixture!("p05-wevtutil-ja-s2-cp932.txt");
    assert!(p05.windows(2).any(|w| w == [0x83, 0x5C]));
    let (report, events) = read(p05);
    assert_eq!(report.encoding, Some(TextEncoding::Cp932));
    assert_eq!(events[0].provider, "Service Control Manager");
    assert_eq!(events[0].event_id, 7036);
}

/// The fuzz seeds of `input_sniff` (the start of each fixture, with its first 36871) are
/// recognised as their code pages: the fuzzer starts on each code page's path.
#[test]
fn the_fuzz_seeds_take_each_code_pages_path() {
    for (seed, encoding) in [
        (
            include_bytes!("../../fuzz/seeds/input_sniff/wevtutil-ja-cp932.txt").as_slice(),
            TextEncoding::Cp932,
        ),
        (
            include_bytes!("../../fuzz/seeds/input_sniff/wevtutil-zh-laps-cp936.txt"),
            TextEncoding::Cp936,
        ),
        (
            include_bytes!("../../fuzz/seeds/input_sniff/wevtutil-ko-cp949.txt"),
            TextEncoding::Cp949,
        ),
        (
            include_bytes!("../../fuzz/seeds/input_sniff/wevtutil-zh-tw-cp950.txt"),
            TextEncoding::Cp950,
        ),
        (
            include_bytes!("../../fuzz/seeds/input_sniff/wevtutil-ru-cp866.txt"),
            TextEncoding::Cp866,
        ),
        (
            include_bytes!("../../fuzz/seeds/input_sniff/wevtutil-pl-cp852.txt"),
            TextEncoding::Cp852,
        ),
        (
            include_bytes!("../../fuzz/seeds/input_sniff/wevtutil-tr-cp857.txt"),
            TextEncoding::Cp857,
        ),
    ] {
        let (report, events) = read(seed);
        assert_eq!(report.encoding, Some(encoding));
        assert!(events.iter().any(|e| e.event_id == 36871) || encoding == TextEncoding::Cp936);
    }
}

/// Run Command returns the last 4,096 bytes of what a script printed: the tail of a cp932
/// export starts wherever the cut falls, here on the second byte of a character. What
/// follows the first line is read as the UTF-8 twin's last events are.
#[test]
fn a_run_command_tail_of_a_cp932_export_is_read() {
    let p05 = fixture!("p05-wevtutil-ja-s2-cp932.txt");
    // The last cut within 4,096 bytes of the end that falls after a lead byte.
    let cut = (p05.len() - 4096..p05.len())
        .find(|&i| i > 0 && (0x81..=0x9F).contains(&p05[i - 1]) && p05[i] >= 0x40)
        .unwrap();
    let tail = &p05[cut..];
    let (report, events) = read(tail);
    assert_eq!(report.encoding, Some(TextEncoding::Cp932));
    let (_, twin) = read(fixture!("p05u-wevtutil-ja-s2-utf8.txt"));
    // The first event, cut at its start, may be kept in part; every later one is whole.
    assert!(events.len() >= 7, "{}", events.len());
    let whole = &events[1..];
    for (event, twin) in whole.iter().zip(&twin[twin.len() - whole.len()..]) {
        // The same event, found at another line of the tail.
        let moved = Event {
            origin: twin.origin.clone(),
            ..event.clone()
        };
        assert_eq!(&moved, twin);
    }
    assert!(report.truncated, "{:?}", report.issues);
}

/// Session 12 probe C, c15c: one Portuguese event in cmd's cp850 ("Identificação",
/// "Informações": two accented letters together inside a word) is read as cp850, and the
/// warning that the text looks like a code page not decoded here is not given: it was.
#[test]
fn portuguese_cp850_is_not_called_garbled() {
    let (report, events) = read(fixture!("wevtutil-pt-one-event-cp850.txt"));
    assert_eq!(report.encoding, Some(TextEncoding::Cp850));
    assert!(
        !report.issues.iter().any(|i| i.kind == IssueKind::Encoding),
        "{:?}",
        report.issues
    );
    assert_eq!(events.len(), 1);
    let text = format!("{:?}", events[0]);
    assert!(
        text.contains("servidor TLS. O estado de erro interno é 10013"),
        "{text}"
    );
}

/// Session 12 probe C, u02: a UTF-8 export whose one accented letter ("SRV-CAFÉ") is
/// outnumbered by two stray bytes was read as Windows-1252, silently ("SRV-CAFÃ‰"). It
/// stays UTF-8, the two bytes replaced and said.
#[test]
fn utf8_with_more_stray_bytes_than_accents_stays_utf8() {
    let (report, events) = read(fixture!("wevtutil-en-utf8-two-invalid-bytes.txt"));
    assert_eq!(report.encoding, Some(TextEncoding::Utf8));
    assert_two_bytes_replaced(&report);
    assert_eq!(events.len(), 3);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.computer.as_deref() == Some("SRV-CAFÉ"))
            .count(),
        1
    );
}

/// Session 12 probe C, c14–c16d: one event of Polish and Turkish Windows in cmd's OEM code
/// page (cp852, cp857) and Notepad's ANSI one (Windows-1250, -1254), and a French one in
/// Windows-1252, were read as cp850 or Windows-1252, silently ("ìródêo", "Kullanìcì",
/// "ID de lÆÚvÚnement"). The labels each reading shows decide; the message reads whole.
#[test]
fn central_european_turkish_and_ansi_french_events_read_in_their_code_page() {
    for (bytes, encoding, message) in [
        (
            fixture!("wevtutil-pl-one-event-cp852.txt"),
            TextEncoding::Cp852,
            "Wystąpił błąd krytyczny podczas tworzenia poświadczeń serwera TLS.",
        ),
        (
            fixture!("wevtutil-tr-one-event-cp857.txt"),
            TextEncoding::Cp857,
            "TLS sunucusu kimlik bilgisi oluşturulurken önemli bir hata oluştu. İç hata",
        ),
        // English labels, a Turkish message without a dotless ı (probe c17c): the message
        // alone tells cp857 from cp850 ("oluƒtu") and cp852 ("olučtu", "śç").
        (
            fixture!("wevtutil-en-labels-tr-message-cp857.txt"),
            TextEncoding::Cp857,
            "TLS sunucusu kimlik bilgisi oluşturulurken önemli bir hata oluştu. İç hata",
        ),
        (
            fixture!("wevtutil-pl-7036-cp1250.txt"),
            TextEncoding::Windows1250,
            "Usługa Instalator modułów systemu Windows weszła w stan Uruchomiona.",
        ),
        (
            fixture!("wevtutil-tr-7036-cp1254.txt"),
            TextEncoding::Windows1254,
            "Windows Modül Yükleyicisi hizmeti çalışıyor durumuna girdi.",
        ),
        (
            fixture!("wevtutil-fr-7036-cp1252.txt"),
            TextEncoding::Windows1252,
            "l’état : en cours d’exécution.",
        ),
        // English labels, the French message with its ’ (probe c24): read as cp852 once
        // cp852 was a candidate ("sĺest", 0x92 a letter there), the apostrophe scored as a
        // sign.
        (
            fixture!("wevtutil-en-labels-fr-message-cp1252.txt"),
            TextEncoding::Windows1252,
            "Une erreur irrécupérable s’est produite lors de la création des informations \
             d’identification du serveur TLS.",
        ),
    ] {
        let (report, events) = read(bytes);
        assert_eq!(report.encoding, Some(encoding), "{message}");
        assert_eq!(events.len(), 1, "{message}");
        let text = events[0].message.as_deref().unwrap_or_default();
        assert!(text.contains(message), "{encoding:?}: {text}");
    }
}

/// Session 12 probe C, e09b: p05 cut after the first byte of a character (a paste cut
/// short). The replaced byte is reported where it is, as UTF-8's are; it had no location.
#[test]
fn a_code_pages_bad_byte_is_located() {
    let bytes = fixture!("p05-cut-after-a-lead-byte-cp932.txt");
    let (report, _) = read(bytes);
    assert_eq!(report.encoding, Some(TextEncoding::Cp932));
    let warning = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::Encoding)
        .unwrap_or_else(|| panic!("{:?}", report.issues));
    assert_eq!(
        warning.at,
        Some(IssueLocation::Byte {
            offset: bytes.len() as u64 - 1
        }),
        "{}",
        warning.message
    );
    // The text ends inside Event[14]'s fields: said, and the event read as far as it goes
    // (helper C's probe P7: it was read as whole).
    assert!(report.truncated, "{:?}", report.issues);
    let cut = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::Truncated)
        .unwrap_or_else(|| panic!("{:?}", report.issues));
    assert!(
        cut.message.contains("ends inside this event's fields"),
        "{}",
        cut.message
    );
}

/// A Hungarian Event Viewer copy (helper C's probe, c18): its dates are written
/// `2026. 12. 07. 03:11:15`, a space after each dot. Read, the 36871 keeps its time and
/// the finding its full score; unread, the event had no time and the finding dropped to low.
#[test]
fn a_hungarian_copy_keeps_its_dates() {
    let bytes = fixture!("evcopy-hu-s2-cp852.txt");
    let (report, events) = read(bytes);
    assert_eq!(events.len(), 1, "{report:?}");
    let time = events[0].time_created.expect("the date is read");
    assert_eq!(time.to_string(), "2026-12-07T03:11:15Z");
    let mut session = Session::new();
    session.add_bytes("export.txt", bytes, &mut no_progress);
    let diagnosis = session.finish(&DiagnoseOptions::default());
    let finding = diagnosis
        .findings
        .iter()
        .find(|f| f.id == "rdp-tls-disabled")
        .expect("rdp-tls-disabled");
    assert_eq!(finding.confidence.as_str(), "high", "{finding:?}");
}

/// Helper C's probe u02: two bytes no encoding reads, glued before `Event[10]:`, made that
/// line no header, and the event was merged into the one before it, silently. The bytes are
/// reported and every event read.
#[test]
fn bytes_glued_before_a_header_do_not_merge_two_events() {
    let (report, events) = read(fixture!(
        "wevtutil-en-utf8-invalid-bytes-before-a-header.txt"
    ));
    assert_eq!(report.encoding, Some(TextEncoding::Utf8));
    assert_two_bytes_replaced(&report);
    assert_eq!(events.len(), 202, "{:?}", report.issues);
}

/// The report says two bytes were not valid text (and were replaced).
fn assert_two_bytes_replaced(report: &InputReport) {
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.kind == IssueKind::Encoding && i.message.starts_with("2 bytes")),
        "{:?}",
        report.issues
    );
}
