//! The plan the analyzer builds for each seed scenario's sample log passes `verify` and
//! `apply --dry-run` on a simulated VM broken the way the scenario describes, and its
//! dry-run reads right (snapshots). Applying it prints a report that fits what Azure Run
//! Command returns (the last 4,096 bytes) with the verdict last, in 80 columns.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::envelope::PreparedPlan;
use analyzer::input::no_progress;
use analyzer::plan::{PlanId, PlanParams, Proposal};
use fixer::cli::ApplyArgs;
use fixer::commands::{apply, verify};
use fixer::exit::Exit;
use fixer::host::sim::{Machine, SimHost};
use fixer::host::{CertInfo, RegValue};
use fixer::operator::Nobody;
use jiff::{SignedDuration, Timestamp};
use support::{KEY_FILE, MACHINE_KEYS, OTHER_KEY, RDP_TCP, TLS12, key};
use testkit::samples::{self, SampleLog};

/// The VM's clock: half an hour after the samples end.
const NOW: &str = "2024-05-14T10:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

/// What the page does with a sample: diagnose it, propose the catalog's remediation of
/// every finding, build the plan (every step included) and sign it — through the shared
/// constructors `fixer plan` uses too.
fn signed_plan(sample: &SampleLog, id: u8) -> String {
    let mut session = Session::new();
    session.add_bytes(
        "log.evtx",
        &samples::evtx(sample).unwrap(),
        &mut no_progress,
    );
    let diagnosis = session.finish(&DiagnoseOptions::default());
    let ids: Vec<&str> = diagnosis.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, [sample.expected.unwrap()], "{}", sample.name);
    let proposal = Proposal::for_diagnosis(session.catalog(), &diagnosis).unwrap();
    let issued_at = now() - SignedDuration::from_mins(10);
    let params =
        PlanParams::for_diagnosis(&diagnosis, issued_at, PlanId::from_random([id; 16])).unwrap();
    let plan = proposal.to_plan(&params).unwrap();
    PreparedPlan::new(&plan)
        .unwrap()
        .sign_with(&key(1))
        .unwrap()
        .token()
}

/// The sample's VM, broken as its scenario says, trusting key 1.
fn vm(sample: &SampleLog) -> SimHost {
    let host_name = sample.computer.split('.').next().unwrap();
    let fqdn = if sample.computer.contains('.') {
        sample.computer.to_owned()
    } else {
        format!("{host_name}.internal.cloudapp.net")
    };
    let mut m = Machine::new(&host_name.to_ascii_uppercase(), &fqdn, now());
    m.set_reg(RDP_TCP, "PortNumber", RegValue::dword(3389));
    m.add_key(r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols");
    m.security.insert(
        MACHINE_KEYS.into(),
        "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)".into(),
    );
    m.security
        .insert(OTHER_KEY.into(), "O:SYD:PAI(A;;FA;;;SY)".into());
    match sample.expected {
        Some("rdp-cert-keys") => {
            // The RDP key file taken over by a user; a certificate pinned by hash.
            m.security.insert(
                KEY_FILE.into(),
                "O:S-1-5-21-1-2-3-1001D:PAI(A;;FA;;;S-1-5-21-1-2-3-1001)".into(),
            );
            m.set_reg(
                RDP_TCP,
                "SSLCertificateSHA1Hash",
                RegValue::binary(vec![0x3F; 20]),
            );
            m.certs.push(CertInfo {
                thumbprint: "3FA1C2D4E5F60718293A4B5C6D7E8F9012345678".into(),
                subject: "CN=vm-app-01".into(),
                not_after: Some("2024-11-01T00:00:00Z".parse().unwrap()),
                der: vec![0x30, 0x82, 0x01, 0x0a],
                key: Some(support::rdp_key_link()),
                blob: None,
            });
        }
        Some("rdp-tls-disabled") => {
            // A hardening policy turned the server side of every TLS version off.
            for v in ["TLS 1.0", "TLS 1.1", "TLS 1.2"] {
                let key = TLS12.replace("TLS 1.2", v);
                m.set_reg(&key, "Enabled", RegValue::dword(0));
                m.set_reg(&key, "DisabledByDefault", RegValue::dword(1));
            }
            m.security.insert(
                KEY_FILE.into(),
                "O:SYD:PAI(A;;FA;;;SY)(A;;FR;;;NS)(A;;FA;;;BA)".into(),
            );
        }
        _ => {
            m.security.insert(
                KEY_FILE.into(),
                "O:SYD:PAI(A;;FA;;;SY)(A;;FR;;;NS)(A;;FA;;;BA)".into(),
            );
        }
    }
    support::trusted(m)
}

fn args(plan: &str, dry_run: bool) -> ApplyArgs {
    ApplyArgs {
        plan: plan.into(),
        dry_run,
        yes: !dry_run,
        confirm_within: None,
        offline: None,
    }
}

fn seeds() -> Vec<SampleLog> {
    samples::all()
        .into_iter()
        .filter(|s| s.expected.is_some())
        .collect()
}

#[test]
fn each_seed_plan_passes_verify_and_its_dry_run_reads_right() {
    for (i, sample) in seeds().iter().enumerate() {
        let token = signed_plan(sample, i as u8 + 1);
        let host = vm(sample);
        let before = host.machine();

        let verified = verify::run(&host, &token, None, &Nobody).unwrap();
        assert_eq!(verified.exit(), Exit::Success, "{}", verified.text());

        let dry = apply::run(&host, &args(&token, true), &Nobody).unwrap();
        assert_eq!(dry.exit(), Exit::Success, "{}", dry.text());
        assert_eq!(
            host.machine(),
            before,
            "{}: the dry-run changed",
            sample.name
        );
        let text = dry.text();
        assert!(
            text.lines().all(|l| l.len() <= 80 && l.is_ascii()),
            "{text}"
        );
        // Run Command keeps 4,096 bytes: the dry-run fits too, text or --json.
        let json = serde_json::to_string(&dry.json()).unwrap();
        assert!(
            text.len() < 4096 && json.len() < 4096,
            "{}: text {} bytes, --json {}",
            sample.name,
            text.len(),
            json.len()
        );
        insta::assert_snapshot!(format!("dry_run_{}", sample.name), text);
    }
}

#[test]
fn applying_each_seed_plan_reports_within_run_commands_4_kb() {
    for (i, sample) in seeds().iter().enumerate() {
        let token = signed_plan(sample, i as u8 + 1);
        let host = vm(sample);
        let report = apply::run(&host, &args(&token, false), &Nobody).unwrap();
        assert_eq!(report.exit(), Exit::Success, "{}", report.text());
        let text = report.text();
        assert!(
            text.len() < 4096,
            "{}: {} bytes:\n{text}",
            sample.name,
            text.len()
        );
        assert!(
            text.lines().all(|l| l.len() <= 80 && l.is_ascii()),
            "{text}"
        );
        let last = text.trim_end().lines().last().unwrap();
        assert!(
            last.starts_with("  fixer rollback ") || last.starts_with("NOTHING TO DO"),
            "{}: the verdict must come last:\n{text}",
            sample.name
        );
        // The JSON summary says the same, and fits too, as `main` prints it.
        let json = report.json();
        assert_eq!(json["ok"], true);
        assert_eq!(json["run"]["outcome"], "applied");
        let printed = serde_json::to_string(&json).unwrap();
        eprintln!(
            "{}: apply text {} bytes, --json {} bytes",
            sample.name,
            text.len(),
            printed.len()
        );
        assert!(
            printed.len() + 1 < 4096,
            "{}: --json is {} bytes",
            sample.name,
            printed.len()
        );
    }
}
