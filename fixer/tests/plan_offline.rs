//! `fixer plan --offline <drive>` through the binary: a folder laid out like an OS disk
//! attached to a rescue VM (a log in `Windows/System32/winevt/Logs`, the SYSTEM and
//! SOFTWARE hives in `config`) gives a signed plan for that disk: named by its MachineGuid
//! and control set, only steps with an offline form, the others listed with why; with the
//! fixer's source and the VM, the rescue-VM sequence. A dirty hive gives no plan, in words.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use analyzer::envelope::receive;
use analyzer::plan::Plan;
use std::path::{Path, PathBuf};
use support::{Run, fixer, path_str};
use testkit::hive_writer::MACHINE_GUID;
use testkit::samples;

const FIXER_URL: &str = "https://rdpfix.example.net/fixer.exe";
const FIXER_SHA: &str = "3f2a9c4e5d6b7a8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";

/// A workstation folder with a key, and a disk whose System log holds Scenario 1 (the RDP
/// certificate's keys unreadable) and whose hives are `system` and the healthy SOFTWARE.
struct Disk {
    dir: PathBuf,
    key: PathBuf,
}

impl Disk {
    fn new(name: &str, system: &str) -> Disk {
        let dir =
            std::env::temp_dir().join(format!("fixer-plan-offline-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let logs = dir.join("disk/Windows/System32/winevt/Logs");
        let config = dir.join("disk/Windows/System32/config");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            logs.join("System.evtx"),
            samples::evtx(&samples::cert_keys()).unwrap(),
        )
        .unwrap();
        for (hive, fixture) in [("SYSTEM", system), ("SOFTWARE", "healthy/SOFTWARE")] {
            std::fs::copy(
                testkit::fixture(&format!("hives/{fixture}")),
                config.join(hive),
            )
            .unwrap();
        }
        let key = dir.join("ops.key");
        let out = fixer(&["keygen", &path_str(&key)], None);
        assert_eq!(out.code, 0, "{out:?}");
        Disk { dir, key }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("disk")
    }

    fn plan(&self, json: bool, extra: &[&str]) -> Run {
        let (key, root) = (path_str(&self.key), path_str(&self.root()));
        let mut args = Vec::new();
        if json {
            args.push("--json");
        }
        args.extend(["plan", "--key", &key, "--now", samples::SAMPLE_END]);
        args.extend(["--offline", &root]);
        args.extend(extra);
        fixer(&args, None)
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn signed_plan(token: &str) -> Plan {
    let received = receive(token.as_bytes()).unwrap();
    serde_json::from_slice(received.envelope().payload()).unwrap()
}

#[test]
fn an_attached_disk_gives_a_plan_for_that_disk_with_what_it_leaves_out() {
    let disk = Disk::new("whole", "healthy/SYSTEM");
    let out = disk.plan(true, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    assert_eq!(report["computer"], "VM-APP-01");
    let offline = &report["offline"];
    assert_eq!(offline["target"]["machine_guid"], MACHINE_GUID);
    assert_eq!(offline["target"]["control_set"], 1);
    assert!(
        offline["disk"]["found"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().ends_with("config/SOFTWARE")),
        "{offline:#}"
    );
    // Restarting the services has no form on a disk: left out, said with why.
    let left_out = offline["left_out"].as_array().unwrap();
    assert!(
        left_out
            .iter()
            .any(|l| l["summary"].as_str().unwrap().contains("restart")
                && l["why"].as_str().unwrap().starts_with("starts at boot")),
        "{left_out:#?}"
    );
    // What was signed: the disk's identity, and only steps with an offline form.
    let plan = signed_plan(report["token"].as_str().unwrap());
    let target = plan.target.offline.unwrap();
    assert_eq!(target.machine_guid.to_string(), MACHINE_GUID);
    assert_eq!(target.control_set, 1);
    assert!(!plan.steps.is_empty());
    for step in &plan.steps {
        let allowed = analyzer::plan::check_step(0, step).unwrap();
        assert!(allowed.has_offline_form(), "{step:?}");
    }
    // Every step listed is in the plan (none left out by the admin).
    assert_eq!(plan.steps.len(), report["steps"].as_array().unwrap().len());
    // The fix commands are the rescue VM's; no Run Command script reaches a VM that runs
    // nothing.
    let cmd = report["cmd"].as_str().unwrap();
    assert!(
        cmd.starts_with("fixer.exe apply --offline auto rdpfix1."),
        "{cmd}"
    );
    assert!(report["enrol"].is_null() && report["fix"].is_null());
    assert!(report["repair"].is_null());

    // The text says where the plan goes, what it leaves out, and how to get the sequence.
    let text = disk.plan(false, &[]);
    assert_eq!(text.code, 0, "{text:?}");
    let flat = text.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        &format!("(MachineGuid {MACHINE_GUID}, ControlSet001)"),
        "NOT ON THE DISK: restart",
        "--fixer-url, --fixer-sha256, --resource-group and --vm are given",
        "Enrol the key on the rescue VM: fixer.exe trust add",
        "Fix command for cmd.exe (",
    ] {
        assert!(flat.contains(needle), "{needle}: {}", text.stdout);
    }
    let last = text.stdout.lines().last().unwrap();
    assert!(
        last.starts_with("fixer.exe apply --offline auto rdpfix1."),
        "{last}"
    );
}

#[test]
fn with_the_fixer_s_source_and_the_vm_it_prints_the_rescue_sequence() {
    let disk = Disk::new("repair", "port-changed/SYSTEM");
    let extra = [
        "--fixer-url",
        FIXER_URL,
        "--fixer-sha256",
        FIXER_SHA,
        "--resource-group",
        "rg-prod",
        "--vm",
        "vm-app-01",
    ];
    let out = disk.plan(true, &extra);
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    // port-changed names ControlSet002.
    assert_eq!(report["offline"]["target"]["control_set"], 2);
    // Exactly the analyzer's sequence (what the page shows) for this token, key and time.
    let key =
        analyzer::envelope::SecretKey::from_file_text(&std::fs::read_to_string(&disk.key).unwrap())
            .unwrap();
    let token = report["token"].as_str().unwrap();
    let expected = analyzer::remote::repair_sequence(&analyzer::remote::RepairInputs {
        group: &analyzer::remote::ResourceGroup::parse("rg-prod").unwrap(),
        vm: &analyzer::remote::VmName::parse("vm-app-01").unwrap(),
        token,
        key: &key.public_key(),
        label: &analyzer::remote::KeyLabel::parse("ops").unwrap(),
        source: &analyzer::remote::FixerSource::new(FIXER_URL, FIXER_SHA).unwrap(),
        at: samples::SAMPLE_END.parse().unwrap(),
    })
    .unwrap();
    let repair = &report["repair"];
    assert_eq!(repair, &serde_json::to_value(&expected).unwrap());
    let script = repair["script"]["text"].as_str().unwrap();
    assert!(script.contains(report["token"].as_str().unwrap()));
    assert!(script.contains("--offline"), "{script}");
    let text = disk.plan(false, &extra);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .contains("az vm repair create -g 'rg-prod' -n 'vm-app-01' --verbose"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("az vm repair restore -g 'rg-prod' -n 'vm-app-01'")
    );
}

#[test]
fn a_dirty_hive_gives_no_plan_and_says_why() {
    let disk = Disk::new("dirty", "dirty/SYSTEM");
    let out = disk.plan(false, &[]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.is_empty() || !out.stdout.contains("rdpfix1."),
        "{out:?}"
    );
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("is dirty"), "{said}");
    assert!(said.contains(".LOG1/.LOG2"), "{said}");
}

#[test]
fn offline_and_computer_do_not_go_together_and_a_non_disk_is_refused() {
    let disk = Disk::new("usage", "healthy/SYSTEM");
    let out = disk.plan(false, &["--computer", "vm-app-01"]);
    assert_eq!(out.code, fixer::exit::Exit::Usage as i32, "{out:?}");
    let empty = disk.dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let key = path_str(&disk.key);
    let out = fixer(
        &["plan", "--key", &key, "--offline", &path_str(&empty)],
        None,
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!Path::new(&empty).join("rdpfix-plan.json").exists());
}

/// The plan `fixer plan --offline` signed for a disk folder, applied by `fixer apply
/// --offline auto` on a simulated rescue VM with the same hives attached as `F:`: the plan
/// finds its disk by MachineGuid, changes the hive files and leaves nothing loaded.
#[test]
fn the_plan_for_a_disk_applies_to_that_disk_on_a_rescue_vm() {
    use fixer::host::sim::{DiskFile, Machine};
    let disk = Disk::new("apply", "healthy/SYSTEM");
    let out = disk.plan(true, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let token = out.json()["token"].as_str().unwrap().to_owned();
    let vm_now: jiff::Timestamp = samples::SAMPLE_END.parse().unwrap();
    let mut m = Machine::new(
        "RESCUE01",
        "rescue01",
        vm_now + jiff::SignedDuration::from_mins(10),
    );
    let config = disk.root().join("Windows/System32/config");
    let (system, software) = (
        r"F:\Windows\System32\config\SYSTEM",
        r"F:\Windows\System32\config\SOFTWARE",
    );
    for (at, file) in [(system, "SYSTEM"), (software, "SOFTWARE")] {
        m.disk_files.insert(
            at.into(),
            DiskFile(std::fs::read(config.join(file)).unwrap()),
        );
    }
    let keys = r"F:\ProgramData\Microsoft\Crypto\RSA\MachineKeys";
    m.security.insert(
        keys.into(),
        "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)".into(),
    );
    m.security.insert(
        format!(r"{keys}\f686aace6942fb7f7ceb231212eef4a4_5e3a3f5c-1f0d-4b8e-9f1e-2b7c1d0e9a11"),
        "O:S-1-5-21-9-9-9-1001D:PAI(A;;FA;;;S-1-5-21-9-9-9-1001)".into(),
    );
    let before = m.disk_files[software].0.clone();
    let sim = support::Sim::new("plan-offline-apply", m);
    let key =
        analyzer::envelope::SecretKey::from_file_text(&std::fs::read_to_string(&disk.key).unwrap())
            .unwrap();
    sim.trust(&key);
    let applied = sim.run(&["apply", "--offline", "auto", "--yes", &token]);
    assert_eq!(applied.code, 0, "{applied:?}");
    let after = sim.machine();
    // The store's certificate was deleted from the SOFTWARE hive file; nothing is loaded.
    assert_ne!(after.disk_files[software].0, before);
    assert!(after.hives.is_empty(), "{:?}", after.hives.keys());
    let report = analyzer::input::read_bytes(
        "SOFTWARE",
        &after.disk_files[software].0,
        &mut Vec::new(),
        &mut analyzer::input::no_progress,
    );
    let thumb = report.configs[0]
        .entry(analyzer::config::Section::Cert, None, "thumb")
        .map(|e| e.value.clone());
    assert_eq!(thumb, Some(analyzer::config::Value::Absent), "{applied:?}");
    let verified = sim.run(&["verify", "--offline", "auto", &token]);
    assert_ne!(verified.code, 0, "applied once: {verified:?}");
}
