//! The sample logs yield exactly their finding, and the healthy one none.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::rules::{self, Catalog, Collector, Confidence};

#[test]
fn each_sample_event_stream_yields_exactly_its_expected_finding() {
    for sample in testkit::samples::all() {
        assert!(
            sample.events.len() > 3_000,
            "{}: {}",
            sample.name,
            sample.events.len()
        );
        let mut collector = Collector::new(Catalog::builtin().unwrap());
        for e in &sample.events {
            collector.observe(e);
        }
        let now = collector.stats().newest;
        let findings = rules::evaluate(&collector, now);
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        match sample.expected {
            Some(expected) => {
                assert_eq!(ids, [expected], "{}", sample.name);
                assert_eq!(
                    findings[0].confidence,
                    Confidence::High,
                    "{}: {:?}",
                    sample.name,
                    findings[0].reasons
                );
            }
            None => assert!(ids.is_empty(), "{}: {ids:?}", sample.name),
        }
    }
}

#[test]
fn samples_are_deterministic_and_in_record_order() {
    let a = testkit::samples::all();
    let b = testkit::samples::all();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.events, y.events);
        assert!(
            x.events
                .windows(2)
                .all(|w| w[0].time_created <= w[1].time_created && w[0].record_id < w[1].record_id)
        );
    }
}

#[test]
fn the_paste_sample_is_small_wevtutil_text_with_scenario_1() {
    let text = testkit::samples::paste_sample();
    assert!(text.len() < 40_000, "{} bytes", text.len());
    assert!(text.starts_with("Event[0]:\n  Log Name: System\n  Source: "));
    assert!(text.contains("  Event ID: 36870\n"));
    assert!(text.contains("Microsoft-Windows-TerminalServices-RemoteConnectionManager"));
    assert!(
        text.contains("Microsoft-Windows-GroupPolicy") || text.contains("Service Control Manager")
    );
}

/// Set `RDPFIX_BLESS_SAMPLES=1` to rewrite `static/samples/` from the generator.
fn bless() -> bool {
    std::env::var_os("RDPFIX_BLESS_SAMPLES").is_some()
}

#[test]
fn the_committed_paste_sample_is_the_generators_output() {
    let path = testkit::repo_root().join("static/samples/rdp-cert-keys.txt");
    let generated = testkit::samples::paste_sample();
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (RDPFIX_BLESS_SAMPLES=1 writes it)", path.display()));
    assert!(
        committed == generated,
        "{} differs from the generator; RDPFIX_BLESS_SAMPLES=1 rewrites it",
        path.display()
    );
}

#[test]
fn the_committed_evtx_samples_are_the_generators_output_and_yield_their_finding() {
    use analyzer::diagnose::{DiagnoseOptions, Session};
    use analyzer::input::no_progress;
    let dir = testkit::repo_root().join("static/samples");
    for sample in testkit::samples::all() {
        let path = dir.join(format!("{}.evtx", sample.name));
        let generated = testkit::samples::evtx(&sample).unwrap();
        if bless() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (RDPFIX_BLESS_SAMPLES=1 writes it)", path.display())
        });
        assert!(
            committed == generated,
            "{} differs from the generator; RDPFIX_BLESS_SAMPLES=1 rewrites it",
            path.display()
        );

        let mut session = Session::new();
        let report = session.add_bytes(
            &format!("{}.evtx", sample.name),
            &committed,
            &mut no_progress,
        );
        assert_eq!(report.events, sample.events.len() as u64, "{}", sample.name);
        assert_eq!(report.errors, 0, "{}: {:?}", sample.name, report.issues);
        let d = session.finish(&DiagnoseOptions::default());
        let ids: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
        match sample.expected {
            Some(expected) => {
                assert_eq!(ids, [expected], "{}", sample.name);
                assert_eq!(d.findings[0].confidence.as_str(), "high", "{}", sample.name);
            }
            None => assert!(ids.is_empty(), "{}: {ids:?}", sample.name),
        }
        assert_eq!(d.computers.len(), 1, "{}: one VM per sample", sample.name);
    }
}

#[test]
fn the_committed_paste_sample_reads_as_wevtutil_text_and_yields_scenario_1() {
    use analyzer::diagnose::{DiagnoseOptions, Session};
    use analyzer::input::no_progress;
    let text =
        std::fs::read(testkit::repo_root().join("static/samples/rdp-cert-keys.txt")).unwrap();
    let mut session = Session::new();
    let report = session.add_bytes("pasted text", &text, &mut no_progress);
    assert_eq!(
        report.format.map(|f| f.to_string()).as_deref(),
        Some("wevtutil-text")
    );
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    let d = session.finish(&DiagnoseOptions::default());
    assert_eq!(
        d.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["rdp-cert-keys"]
    );
}
