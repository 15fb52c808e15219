//! A diagnosis becomes a plan one way, for the page and `fixer plan` alike: the proposal
//! from its findings, the parameters from its logs, and clear refusals when the logs
//! cannot say what to fix or for which computer.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::diagnose::{
    DiagnoseOptions, Diagnosis, PlanOffer, PlanTargets, Session, computer_choices,
};
use analyzer::input::no_progress;
use analyzer::plan::{BuildError, DEFAULT_LIFETIME, PlanId, PlanParams, Proposal};
use analyzer::rules::Catalog;
use jiff::Timestamp;
use testkit::samples::{self, SampleLog};

fn issued() -> Timestamp {
    "2024-05-14T09:50:00Z".parse().unwrap()
}

fn diagnose(inputs: &[(&str, String)]) -> Diagnosis {
    let mut session = Session::new();
    for (name, text) in inputs {
        session.add_bytes(name, text.as_bytes(), &mut no_progress);
    }
    session.finish(&DiagnoseOptions::default())
}

fn diagnose_evtx(sample: &SampleLog) -> Diagnosis {
    let mut session = Session::new();
    session.add_bytes(
        "log.evtx",
        &samples::evtx(sample).unwrap(),
        &mut no_progress,
    );
    session.finish(&DiagnoseOptions::default())
}

fn diagnose_sample(sample: &SampleLog) -> Diagnosis {
    diagnose(&[("log.txt", samples::wevtutil_text(&sample.events))])
}

#[test]
fn each_seed_diagnosis_gives_the_plan_for_its_computer_and_evidence() {
    let catalog = Catalog::builtin().unwrap();
    for sample in samples::all().iter().filter(|s| s.expected.is_some()) {
        let d = diagnose_sample(sample);
        let proposal = Proposal::for_diagnosis(&catalog, &d).unwrap();
        assert_eq!(proposal.findings()[0].as_str(), sample.expected.unwrap());
        let id = PlanId::from_random([9; 16]);
        let params = PlanParams::for_diagnosis(&d, issued(), id).unwrap();
        assert_eq!(params.computer, sample.computer, "{}", sample.name);
        assert_eq!(params.evidence_sha256.to_string(), d.evidence_sha256);
        assert_eq!(params.lifetime, DEFAULT_LIFETIME);
        assert_eq!(params.seq, PlanParams::seq_for(issued()));
        let plan = proposal.to_plan(&params).unwrap();
        assert_eq!(plan.target.computer.as_str(), sample.computer);
        assert_eq!(plan.plan_id, id);
        assert_eq!(plan.expires_at, issued() + DEFAULT_LIFETIME);
    }
}

#[test]
fn the_same_inputs_and_time_give_the_same_plan_whatever_the_input_order() {
    let a = samples::wevtutil_text(&samples::cert_keys().events);
    let b = samples::wevtutil_text(&samples::healthy().events).replace("vm-app-03", "vm-app-01");
    let one = diagnose(&[("a", a.clone()), ("b", b.clone())]);
    let two = diagnose(&[("b", b), ("a", a)]);
    let catalog = Catalog::builtin().unwrap();
    let plan = |d: &Diagnosis| {
        Proposal::for_diagnosis(&catalog, d)
            .unwrap()
            .to_plan(&PlanParams::for_diagnosis(d, issued(), PlanId::from_random([1; 16])).unwrap())
            .unwrap()
    };
    assert_eq!(plan(&one), plan(&two));
}

#[test]
fn a_healthy_log_has_nothing_to_fix() {
    let d = diagnose_evtx(&samples::healthy());
    let catalog = Catalog::builtin().unwrap();
    let err = Proposal::for_diagnosis(&catalog, &d).unwrap_err();
    assert_eq!(err, BuildError::NoFinding);
    assert!(err.to_string().starts_with("nothing to fix"), "{err}");
}

#[test]
fn logs_of_several_computers_need_a_choice_among_them() {
    let broken = samples::wevtutil_text(&samples::cert_keys().events);
    let other = samples::wevtutil_text(&samples::healthy().events);
    let d = diagnose(&[("a", broken), ("b", other)]);
    let err = PlanParams::for_diagnosis(&d, issued(), PlanId::from_random([1; 16])).unwrap_err();
    let BuildError::SeveralComputers { names } = &err else {
        panic!("{err}");
    };
    assert_eq!(names.len(), 2);
    let text = err.to_string();
    assert!(
        text.contains("vm-app-01") && text.contains("vm-app-03"),
        "{text}"
    );

    let params = PlanParams::for_diagnosis_on(
        &d,
        Some("VM-APP-01"),
        issued(),
        PlanId::from_random([1; 16]),
    )
    .unwrap();
    assert_eq!(params.computer, "vm-app-01");
    let err = PlanParams::for_diagnosis_on(
        &d,
        Some("vm-app-02"),
        issued(),
        PlanId::from_random([1; 16]),
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::ComputerNotInLogs { .. }), "{err}");
}

#[test]
fn spellings_of_one_computer_are_one_computer() {
    let text = samples::wevtutil_text(&samples::cert_keys().events);
    let upper = text.replace("vm-app-01", "VM-APP-01");
    let fqdn = text.replace("vm-app-01", "vm-app-01.contoso.local");
    let d = diagnose(&[("a", text), ("b", upper), ("c", fqdn)]);
    assert!(d.computers.len() > 1, "{:?}", d.computers);
    let params = PlanParams::for_diagnosis(&d, issued(), PlanId::from_random([1; 16])).unwrap();
    assert!(
        params.computer.eq_ignore_ascii_case("vm-app-01")
            || params.computer == "vm-app-01.contoso.local",
        "{}",
        params.computer
    );
}

#[test]
fn logs_without_a_computer_cannot_target_a_plan() {
    // The article's own rendering carries no <Computer>.
    let text = "**Log Name:** System <br />\n**Source:** Schannel <br />\n**Event ID:** 36870 <br />\n\
                **Level:** Error <br />\n**Description:** A fatal error occurred when attempting to \
                access the TLS server credential private key. The error code returned from the \
                cryptographic module is 0x8009030D. The internal error state is 10001. <br />\n";
    let d = diagnose(&[("paste", text.to_owned())]);
    assert_eq!(d.events, 1, "{:?}", d.inputs);
    assert!(d.computers.is_empty(), "{:?}", d.computers);
    let err = PlanParams::for_diagnosis(&d, issued(), PlanId::from_random([1; 16])).unwrap_err();
    assert_eq!(err, BuildError::NoComputer);
}

/// Real logs of one desktop (three channels, 4,865 events) analysed with a sample VM's log
/// (3,019 events) whose evidence gives the finding.
fn desktop_with_sample() -> Diagnosis {
    let mut session = Session::new();
    let corpus: [(&str, &[u8]); 3] = [
        (
            "RdpCoreTS.evtx",
            include_bytes!(
                "../../tests/fixtures/corpus/2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx"
            ),
        ),
        (
            "RemoteConnectionManager.evtx",
            include_bytes!(
                "../../tests/fixtures/corpus/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx"
            ),
        ),
        (
            "System.evtx",
            include_bytes!("../../tests/fixtures/corpus/2-vss_7-System.evtx"),
        ),
    ];
    for (name, bytes) in corpus {
        session.add_bytes(name, bytes, &mut no_progress);
    }
    let sample = samples::evtx(&samples::cert_keys()).unwrap();
    session.add_bytes("vm-app-01.evtx", &sample, &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

#[test]
fn the_computer_the_findings_name_is_offered_first_among_several() {
    let d = desktop_with_sample();
    let choices = computer_choices(&d);
    let names: Vec<&str> = choices.iter().map(|c| c.name.as_str()).collect();
    // The desktop has more events; the finding's evidence is on the sample VM.
    assert_eq!(names, ["vm-app-01", "DESKTOP-1N4R894"], "{choices:?}");
    assert!(choices[1].events > choices[0].events, "{choices:?}");
    assert_eq!(choices[0].findings, ["rdp-cert-keys"]);
    assert!(choices[1].findings.is_empty(), "{choices:?}");
    // A plan for the desktop would fix there what was seen on the VM: the page warns.
    let targets = PlanTargets::for_diagnosis(&d).unwrap();
    let found: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(found.contains(&"rdp-cert-keys"), "{found:?}");
    let desktop = targets.evidence_elsewhere(&d, "desktop-1n4r894 ");
    assert_eq!(desktop, found);
    let vm = targets.evidence_elsewhere(&d, "vm-app-01");
    assert!(!vm.contains(&"rdp-cert-keys"), "{vm:?}");
    assert!(vm.len() < found.len(), "{vm:?} {found:?}");
    // Each choice is a name `for_diagnosis_on` accepts, and gives back as is.
    for choice in &choices {
        let params = PlanParams::for_diagnosis_on(
            &d,
            Some(&choice.name),
            issued(),
            PlanId::from_random([1; 16]),
        )
        .unwrap();
        assert_eq!(params.computer, choice.name);
    }
}

#[test]
fn spellings_of_one_computer_are_one_choice_with_their_events_together() {
    let text = samples::wevtutil_text(&samples::cert_keys().events);
    let fqdn = text.replace("vm-app-01", "vm-app-01.contoso.local");
    let other = samples::wevtutil_text(&samples::healthy().events);
    let d = diagnose(&[("a", text), ("b", fqdn), ("c", other)]);
    assert_eq!(d.computers.len(), 3, "{:?}", d.computers);
    let choices = computer_choices(&d);
    assert_eq!(choices.len(), 2, "{choices:?}");
    assert!(choices[0].name.starts_with("vm-app-01"), "{choices:?}");
    let spellings: u64 = d
        .computers
        .iter()
        .filter(|s| s.name.starts_with("vm-app-01"))
        .map(|s| s.events)
        .sum();
    assert_eq!(choices[0].events, spellings);
    assert_eq!(choices[1].name, "vm-app-03");
    assert!(
        !choices[1].findings.iter().any(|f| f == "rdp-cert-keys"),
        "{choices:?}"
    );
    // One computer under two spellings: one choice, named as a plan without a choice is.
    let text = samples::wevtutil_text(&samples::cert_keys().events);
    let fqdn = text.replace("vm-app-01", "vm-app-01.contoso.local");
    let one = diagnose(&[("a", text), ("b", fqdn)]);
    let params = PlanParams::for_diagnosis(&one, issued(), PlanId::from_random([1; 16])).unwrap();
    let choices = computer_choices(&one);
    assert_eq!(choices.len(), 1, "{choices:?}");
    assert_eq!(choices[0].name, params.computer);
}

#[test]
fn logs_naming_no_computer_offer_no_choice() {
    let text =
        "**Log Name:** System <br />\n**Source:** Schannel <br />\n**Event ID:** 36870 <br />\n";
    let d = diagnose(&[("paste", text.to_owned())]);
    assert!(computer_choices(&d).is_empty());
}

/// What the page's worker sends: the offer survives its JSON trip unchanged, and its
/// parameters for a computer are `for_diagnosis_on`'s, so the page signs what `fixer plan`
/// would.
#[test]
fn a_plan_offer_travels_as_json_and_gives_the_parameters_fixer_plan_would() {
    let catalog = Catalog::builtin().unwrap();
    for sample in samples::all().iter().filter(|s| s.expected.is_some()) {
        let d = diagnose_evtx(sample);
        let offer = PlanOffer::for_diagnosis(&catalog, &d);
        let json = serde_json::to_string(&offer).unwrap();
        let back: PlanOffer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, offer, "{}", sample.name);
        assert_eq!(
            back.proposal.unwrap(),
            Proposal::for_diagnosis(&catalog, &d).unwrap()
        );
        let targets = back.targets.unwrap();
        let id = PlanId::from_random([3; 16]);
        let chosen = &targets.computers[0].name;
        assert_eq!(
            targets.params(chosen, issued(), id).unwrap(),
            PlanParams::for_diagnosis_on(&d, Some(chosen), issued(), id).unwrap()
        );
        let err = targets.params("another-vm", issued(), id).unwrap_err();
        assert!(matches!(err, BuildError::ComputerNotInLogs { .. }), "{err}");
    }
    let healthy = PlanOffer::for_diagnosis(&catalog, &diagnose_evtx(&samples::healthy()));
    assert_eq!(healthy.proposal, Err(BuildError::NoFinding.to_string()));
    // Logs that name no computer (the article's rendering): the steps are offered, the
    // target is not, and why is said.
    let text = "**Log Name:** System <br />\n**Source:** Schannel <br />\n**Event ID:** 36870 <br />\n\
                **Level:** Error <br />\n**Description:** A fatal error occurred when attempting to \
                access the TLS server credential private key. The error code returned from the \
                cryptographic module is 0x8009030D. The internal error state is 10001. <br />\n";
    let offer = PlanOffer::for_diagnosis(&catalog, &diagnose(&[("paste", text.to_owned())]));
    assert!(offer.proposal.is_ok(), "{offer:?}");
    assert_eq!(offer.targets, Err(BuildError::NoComputer.to_string()));
}

/// A proposal read back from JSON is checked against the allowlist again: a step edited on
/// the way (another registry key) is refused, not carried into a plan.
#[test]
fn a_proposal_edited_on_its_way_is_refused_when_read() {
    let catalog = Catalog::builtin().unwrap();
    let offer = PlanOffer::for_diagnosis(&catalog, &diagnose_evtx(&samples::cert_keys()));
    let json = serde_json::to_string(&offer).unwrap();
    assert!(json.contains("Terminal Server"), "{json}");
    let edited = json.replace("Terminal Server", "Terminal Server2");
    let err = serde_json::from_str::<PlanOffer>(&edited).unwrap_err();
    assert!(err.to_string().contains("allow"), "{err}");
}
