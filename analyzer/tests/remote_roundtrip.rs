//! Collection output → paste box → finding, for each of the page's sample logs (a seed
//! scenario buried in ~3,000 ordinary events). No PowerShell runs here, so the Run Command
//! script's selection is modelled step for step (`script_output` mirrors the script in
//! `remote::collect`: each query's newest 30 events as `wevtutil /f:xml` prints them,
//! round-robin in query order within the budget, printed most relevant last); its text is
//! pinned by a snapshot in `remote_commands.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::Event;
use analyzer::diagnose::{DiagnoseOptions, Diagnosis, Session};
use analyzer::input::no_progress;
use analyzer::remote::collect::{
    COLLECTION_BUDGET_BYTES, RUN_COMMAND_OUTPUT_BYTES, SCRIPT_FETCH_PER_QUERY, remote_collection,
};
use analyzer::rules::Catalog;
use jiff::SignedDuration;
use testkit::samples;

fn diagnose(name: &str, bytes: &[u8]) -> Diagnosis {
    let mut session = Session::new();
    session.add_bytes(name, bytes, &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

/// Each record of `evtx` as `wevtutil qe /f:xml` prints it (one line of event XML, rendered
/// from the record's BinXML by the evtx crate), with the event it reads as.
fn xml_records(evtx: Vec<u8>) -> Vec<(Event, String)> {
    let mut parser = evtx::EvtxParser::from_buffer(evtx).unwrap();
    parser
        .records()
        .map(|r| {
            let xml = r.unwrap().data;
            let body = xml.split_once("?>").map_or(xml.as_str(), |(_, b)| b);
            let line: String = body.lines().map(str::trim).collect();
            let mut events = Vec::new();
            analyzer::input::read_bytes("r", line.as_bytes(), &mut events, &mut no_progress);
            assert_eq!(events.len(), 1, "{line}");
            (events.remove(0), line)
        })
        .collect()
}

/// What the Run Command collection script prints for a VM whose logs are `evtx`.
fn script_output(evtx: Vec<u8>) -> String {
    let collection = remote_collection(&Catalog::builtin().unwrap(), 24);
    let records = xml_records(evtx);
    let now = records
        .iter()
        .filter_map(|(e, _)| e.time_created)
        .max()
        .unwrap();
    let since = now - SignedDuration::from_hours(24);
    let found: Vec<Vec<String>> = collection
        .queries
        .iter()
        .map(|q| {
            let mut hits: Vec<&(Event, String)> = records
                .iter()
                .filter(|(e, _)| e.channel.as_deref() == Some(q.channel.as_str()))
                .filter(|(e, _)| q.selects.iter().any(|s| s.selects(e)))
                .filter(|(e, _)| e.time_created.is_some_and(|t| t >= since))
                .collect();
            hits.sort_by_key(|(e, _)| std::cmp::Reverse(e.time_created));
            hits.truncate(SCRIPT_FETCH_PER_QUERY as usize);
            hits.iter().map(|(_, xml)| xml.clone()).collect()
        })
        .collect();
    let total: usize = found.iter().map(Vec::len).sum();
    let deepest = found.iter().map(Vec::len).max().unwrap_or(0);
    let mut kept: Vec<&String> = Vec::new();
    let mut used = 0;
    for depth in 0..deepest {
        for list in &found {
            if let Some(e) = list.get(depth) {
                let size = e.len() + 4;
                if used + size <= COLLECTION_BUDGET_BYTES - 200 {
                    kept.push(e);
                    used += size;
                }
            }
        }
    }
    let mut out = format!(
        "rdpfix: {} of the {total} newest matching events (last 24 h)",
        kept.len()
    );
    if total > kept.len() {
        out.push_str(&format!(
            ", {} left out to fit Run Command's output",
            total - kept.len()
        ));
    }
    out.push_str("\r\n\r\n");
    for e in kept.iter().rev() {
        out.push_str(e);
        out.push_str("\r\n\r\n");
    }
    out
}

#[test]
fn collection_output_of_each_sample_fits_run_command_and_gives_its_finding() {
    let mut largest = 0;
    for sample in samples::all() {
        let evtx = samples::evtx(&sample).unwrap();
        let output = script_output(evtx.clone());
        largest = largest.max(output.len());
        assert!(
            output.len() <= RUN_COMMAND_OUTPUT_BYTES,
            "{}: {}",
            sample.name,
            output.len()
        );
        let pasted = diagnose("pasted text", output.as_bytes());
        let input = pasted.inputs.first().unwrap();
        assert_eq!(input.errors, 0, "{}: {:?}", sample.name, input.issues);
        let full = diagnose("full.evtx", &evtx);
        let ids = |d: &Diagnosis| d.findings.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
        match sample.expected {
            Some(expected) => {
                assert_eq!(
                    pasted.findings.first().map(|f| f.id.as_str()),
                    Some(expected),
                    "{}: {:?}",
                    sample.name,
                    ids(&pasted)
                );
                assert_eq!(ids(&pasted), ids(&full), "{}", sample.name);
            }
            None => assert!(
                pasted.findings.is_empty(),
                "{}: {:?}",
                sample.name,
                ids(&pasted)
            ),
        }
    }
    eprintln!("largest collection output: {largest} bytes (limit {RUN_COMMAND_OUTPUT_BYTES})");
}

struct NoneApplied;

impl analyzer::envelope::ReplayJournal for NoneApplied {
    fn has_plan(&self, _: &analyzer::plan::PlanId) -> bool {
        false
    }
    fn last_seq(
        &self,
        _: &analyzer::envelope::Fingerprint,
        _: &analyzer::plan::ComputerName,
    ) -> Option<u64> {
        None
    }
}

/// The verbatim string a script gives `name` (`$plan = '<token>'`, `trust add '<key>'`).
fn verbatim_after(script: &str, name: &str) -> String {
    let at = script.find(&format!("{name} '")).unwrap() + name.len() + 2;
    script[at..].split('\'').next().unwrap().to_owned()
}

#[test]
fn each_seed_scenario_goes_out_and_its_fix_comes_back_in() {
    use analyzer::envelope::{PreparedPlan, PublicKey, SecretKey, TrustEntry, verify};
    use analyzer::plan::{PlanId, PlanParams, Sha256Digest};
    use analyzer::remote::{FixerSource, KeyLabel, SerialLine, enrol_delivery, fix_delivery};
    let signer = SecretKey::from_seed([3; 32]);
    let source =
        FixerSource::new("https://rdpfix.example.net/fixer.exe", &"ab".repeat(32)).unwrap();
    // Step 1: what the enrolment script enrols is the page's key, nothing else.
    let enrol = enrol_delivery(&source, &signer.public_key(), &KeyLabel::page());
    let enrolled: PublicKey = verbatim_after(&enrol.script, "trust add").parse().unwrap();
    assert_eq!(enrolled, signer.public_key());
    let store = [TrustEntry {
        public_key: enrolled,
        label: KeyLabel::PAGE.into(),
        expires_at: None,
        revoked: false,
    }];
    let catalog = Catalog::builtin().unwrap();
    for sample in [
        samples::cert_keys(),
        samples::tls_disabled(),
        samples::broker_renamed(),
    ] {
        // Out: the collection script's output, pasted into the page.
        let output = script_output(samples::evtx(&sample).unwrap());
        assert!(output.len() <= RUN_COMMAND_OUTPUT_BYTES);
        let d = diagnose("pasted text", output.as_bytes());
        let finding = d.findings.first().unwrap();
        assert_eq!(Some(finding.id.as_str()), sample.expected);
        // The page's plan for it, signed.
        let issued = d.now.unwrap();
        let plan = catalog
            .proposal([finding.id.as_str()])
            .unwrap()
            .to_plan(&PlanParams {
                computer: sample.computer.into(),
                evidence_sha256: Sha256Digest([0x11; 32]),
                plan_id: PlanId::from_random([0x22; 16]),
                issued_at: issued,
                lifetime: analyzer::plan::DEFAULT_LIFETIME,
                seq: PlanParams::seq_for(issued),
                offline: None,
            })
            .unwrap();
        let token = PreparedPlan::new(&plan)
            .unwrap()
            .sign_with(&signer)
            .unwrap()
            .token();
        // Step 2: the Run Command script and the Serial Console line carry it intact, and
        // once the key is enrolled it passes every check `fixer verify` makes on the VM.
        let fix = fix_delivery(&source, &token).unwrap();
        let SerialLine::Line(line) = &fix.serial_console else {
            panic!("{}: {:?}", sample.name, fix.serial_console)
        };
        let at = issued + SignedDuration::from_mins(5);
        for carried in [
            verbatim_after(&fix.script, "$plan ="),
            verbatim_after(line, "$plan ="),
        ] {
            assert_eq!(carried, token);
            let verified = verify(
                carried.as_bytes(),
                &store[..],
                &[sample.computer],
                at,
                &NoneApplied,
            );
            assert!(verified.is_ok(), "{}: {:?}", sample.name, verified.err());
        }
    }
}
