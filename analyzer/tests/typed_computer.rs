//! A typed computer name: when the logs name no computer (the article's rendering here, as
//! Event Viewer's CSV and Format-List), `--computer NAME` is taken as typed once it is a
//! NetBIOS or DNS name, with a warning; when they name one, only their names are accepted.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::diagnose::plan::{takes_typed_computer, typed_computer, typed_computer_warning};
use analyzer::diagnose::{DiagnoseOptions, Diagnosis, PlanTargets, Session, computer_of};
use analyzer::input::no_progress;
use analyzer::plan::{BuildError, PlanId, PlanParams, Proposal};
use analyzer::rules::Catalog;

fn diagnose(text: &str) -> Diagnosis {
    let mut session = Session::new();
    session.add_bytes("paste", text.as_bytes(), &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

/// The article's own rendering of Schannel 36870: a finding, no `<Computer>`.
fn nameless() -> Diagnosis {
    let d = diagnose(
        "**Log Name:** System <br />\n**Source:** Schannel <br />\n**Event ID:** 36870 <br />\n\
         **Level:** Error <br />\n**Description:** A fatal error occurred when attempting to \
         access the TLS server credential private key. The error code returned from the \
         cryptographic module is 0x8009030D. The internal error state is 10001. <br />\n",
    );
    assert!(d.computers.is_empty() && !d.findings.is_empty(), "{d:?}");
    d
}

#[test]
fn a_typed_name_targets_the_plan_when_the_logs_name_none() {
    let d = nameless();
    let issued = "2024-05-14T09:50:00Z".parse().unwrap();
    let id = PlanId::from_random([3; 16]);
    assert_eq!(
        PlanParams::for_diagnosis_on(&d, None, issued, id).unwrap_err(),
        BuildError::NoComputer
    );
    // The page offers its text field on this: no targets, a typed name taken.
    assert!(takes_typed_computer(&d));
    assert_eq!(
        PlanTargets::for_diagnosis(&d).unwrap_err(),
        BuildError::NoComputer
    );
    for name in ["vm-app-01", " VM01 ", "vm01.contoso.local"] {
        let params = PlanParams::for_diagnosis_on(&d, Some(name), issued, id).unwrap();
        assert_eq!(params.computer, name.trim());
        let warning = typed_computer_warning(&d, Some(name)).unwrap();
        assert!(warning.contains("as typed"), "{warning}");
        let plan = Proposal::for_diagnosis(&Catalog::builtin().unwrap(), &d)
            .unwrap()
            .to_plan(&params)
            .unwrap();
        assert_eq!(plan.target.computer.as_str(), name.trim());
    }
}

#[test]
fn a_typed_name_must_be_a_netbios_or_dns_name() {
    for bad in [
        "",
        "a-name-of-16-chr",
        "-vm",
        "vm-",
        "vm_01.contoso.local",
        "vm 01",
        "vm..contoso",
        "vm.contoso.",
        "vm01;calc",
        "ｖｍ01",
    ] {
        // Refused in words that say what a computer name is, not a generic id error.
        let refused = typed_computer(bad).unwrap_err();
        assert!(
            matches!(refused, BuildError::NotAComputerName(_)),
            "{bad:?}: {refused}"
        );
        assert!(refused.to_string().contains("1 to 15"), "{refused}");
        assert!(computer_of(&nameless(), Some(bad)).is_err(), "{bad:?}");
    }
    let long_label = format!("{}.contoso.local", "a".repeat(64));
    assert!(typed_computer(&long_label).is_err());
    let long_fqdn = ["a".repeat(63).as_str(); 4].join(".");
    assert_eq!(long_fqdn.len(), 255);
    assert!(typed_computer(&long_fqdn).is_err());
    for good in [
        "VM01",
        "vm_01",
        "a-name-of-15-ch",
        "web01.contoso.local",
        "1",
    ] {
        assert_eq!(typed_computer(good).unwrap().as_str(), good);
    }
}

/// Logs that name a computer accept only their names; no warning.
#[test]
fn logs_naming_a_computer_keep_their_names() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../static/samples/rdp-cert-keys.txt"),
    )
    .unwrap();
    let d = diagnose(&text);
    let named = d.computers[0].name.clone();
    assert!(!takes_typed_computer(&d));
    assert_eq!(typed_computer_warning(&d, Some(&named)), None);
    assert!(matches!(
        computer_of(&d, Some("some-other-vm")),
        Err(BuildError::ComputerNotInLogs { .. })
    ));
}
