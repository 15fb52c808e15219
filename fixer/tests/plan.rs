//! `fixer plan` through the binary: each seed scenario's log gives a signed plan whose fix
//! command `fixer verify` accepts once the key is enrolled; the same inputs, key and time
//! give the page's payload byte for byte (plan_id aside); a healthy log has nothing to fix;
//! a bad key file or a required step left out is refused clearly. Given where fixer.exe
//! comes from, it prints the page's enrolment and fix scripts, and the fixer carries out
//! what they run, in their order, up to the applied plan. A pasted collection output's
//! configuration findings plan typed steps that apply and roll back on the simulated VM.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::envelope::{MAX_COMMAND_CHARS, PreparedPlan, SecretKey, receive};
use analyzer::input::no_progress;
use analyzer::plan::{PlanId, PlanParams, Proposal};
use analyzer::remote::fix::{FIXER_EXIT_REJECTED, NOT_TRUSTED_HINT, UNKNOWN_KEY_CODE};
use analyzer::remote::{
    FixerSource, KeyLabel, ResourceGroup, SerialLine, VmName, enrol_delivery, fix_delivery,
    run_command, trust_command,
};
use fixer::exit::Exit;
use fixer::host::sim::Machine;
use std::path::{Path, PathBuf};
use support::{Run, Sim, fixer};
use testkit::samples::{self, SampleLog};

/// The plans' issue time; the simulated VM's clock is ten minutes later.
const ISSUED: &str = "2024-05-14T09:50:00Z";
const VM_NOW: &str = "2024-05-14T10:00:00Z";

/// A scratch folder with a signing key (from `fixer keygen`) and the seed logs as `.evtx`.
struct Workstation {
    dir: PathBuf,
    key: PathBuf,
    public_key: String,
}

impl Workstation {
    fn new(name: &str) -> Workstation {
        let dir = std::env::temp_dir().join(format!("fixer-plan-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("ops.key");
        let out = fixer(&["--json", "keygen", key.to_str().unwrap()], None);
        assert_eq!(out.code, 0, "{out:?}");
        let public_key = out.json()["public_key"].as_str().unwrap().to_owned();
        Workstation {
            dir,
            key,
            public_key,
        }
    }

    fn log(&self, sample: &SampleLog) -> PathBuf {
        let path = self.dir.join(format!("{}.evtx", sample.name));
        std::fs::write(&path, samples::evtx(sample).unwrap()).unwrap();
        path
    }

    /// `fixer [--json] plan --key <key> --now ISSUED <extra…> <log>`.
    fn plan(&self, json: bool, extra: &[&str], log: &Path) -> Run {
        let mut args = Vec::new();
        if json {
            args.push("--json");
        }
        args.extend(["plan", "--key", self.key.to_str().unwrap(), "--now", ISSUED]);
        args.extend(extra);
        args.push(log.to_str().unwrap());
        fixer(&args, None)
    }
}

impl Drop for Workstation {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn seeds() -> Vec<SampleLog> {
    samples::all()
        .into_iter()
        .filter(|s| s.expected.is_some())
        .collect()
}

/// The sample's VM at VM_NOW, trusting no key yet.
fn untrusting_vm(name: &str, sample: &SampleLog) -> Sim {
    let host = sample.computer.split('.').next().unwrap();
    let fqdn = if sample.computer.contains('.') {
        sample.computer.to_owned()
    } else {
        format!("{host}.internal.cloudapp.net")
    };
    Sim::new(
        name,
        Machine::new(&host.to_ascii_uppercase(), &fqdn, VM_NOW.parse().unwrap()),
    )
}

/// The sample's VM at VM_NOW, trusting the workstation's key.
fn vm(name: &str, sample: &SampleLog, public_key: &str) -> Sim {
    let sim = untrusting_vm(name, sample);
    let r = sim.run(&["trust", "add", public_key, "--label", "ops"]);
    assert_eq!(r.code, 0, "{r:?}");
    sim
}

/// The token of a fix command line.
fn token_of(line: &str) -> &str {
    line.rsplit(' ').next().unwrap()
}

#[test]
fn each_seed_log_gives_a_fix_command_that_verify_accepts() {
    let ws = Workstation::new("seeds");
    let mut longest = 0;
    for sample in seeds() {
        let log = ws.log(&sample);
        let out = ws.plan(true, &[], &log);
        assert_eq!(out.code, 0, "{}: {out:?}", sample.name);
        let report = out.json();
        assert_eq!(report["ok"], true);
        assert_eq!(report["computer"], sample.computer);
        assert_eq!(report["findings"][0]["id"], sample.expected.unwrap());
        let cmd = report["cmd"].as_str().unwrap();
        let ps = report["powershell"].as_str().unwrap();
        assert!(cmd.starts_with("fixer.exe apply rdpfix1."), "{cmd}");
        assert!(ps.starts_with("& .\\fixer.exe apply rdpfix1."), "{ps}");
        assert_eq!(token_of(cmd), token_of(ps));
        assert_eq!(token_of(cmd), report["token"]);
        assert!(cmd.len() < MAX_COMMAND_CHARS && ps.len() < MAX_COMMAND_CHARS);
        assert!(
            report["plan_file"].is_null(),
            "no file unless asked or needed"
        );
        longest = longest.max(ps.len());

        let sim = vm(&format!("plan-{}", sample.name), &sample, &ws.public_key);
        let verified = sim.run(&["verify", token_of(cmd)]);
        assert_eq!(verified.code, 0, "{}: {verified:?}", sample.name);
        assert!(verified.stdout.contains("VERIFIED plan"), "{verified:?}");

        // The text form ends with the two commands, whole, on their own lines.
        let text = ws.plan(false, &[], &log);
        assert_eq!(text.code, 0, "{text:?}");
        let lines: Vec<&str> = text.stdout.lines().collect();
        let n = lines.len();
        assert!(
            lines[n - 1].starts_with("fixer.exe apply rdpfix1."),
            "{text:?}"
        );
        assert!(
            lines[n - 3].starts_with("& .\\fixer.exe apply rdpfix1."),
            "{text:?}"
        );
        assert!(text.stdout.contains(&ws.public_key));
        assert!(
            lines[..n - 4]
                .iter()
                .filter(|l| !l.contains(&ws.public_key))
                .all(|l| l.len() <= 80 && l.is_ascii()),
            "{}",
            text.stdout
        );
    }
    eprintln!("longest fix command of the seed plans: {longest} characters");
}

/// The plan `fixer plan` signs is the page's: the same analyzer constructors over the same
/// bytes, key and time give the same payload, byte for byte, once the random plan_id is
/// the same.
#[test]
fn same_inputs_key_and_time_give_the_same_payload_but_for_plan_id() {
    let ws = Workstation::new("same");
    let sample = samples::tls_disabled();
    let log = ws.log(&sample);
    let payload = |run: &Run| {
        let token = run.json()["token"].as_str().unwrap().to_owned();
        let received = receive(token.as_bytes()).unwrap();
        received.envelope().payload().to_vec()
    };
    let one = ws.plan(true, &[], &log);
    let two = ws.plan(true, &[], &log);
    let (p1, p2) = (payload(&one), payload(&two));
    let id1 = one.json()["plan_id"].as_str().unwrap().to_owned();
    let id2 = two.json()["plan_id"].as_str().unwrap().to_owned();
    assert_ne!(id1, id2, "plan ids are random");
    let without_id = |p: &[u8], id: &str| String::from_utf8(p.to_vec()).unwrap().replace(id, "");
    assert_eq!(without_id(&p1, &id1), without_id(&p2, &id2));

    // What the page does with the same file, key, time and (here) plan id.
    let mut session = Session::new();
    session.add_bytes("x", &std::fs::read(&log).unwrap(), &mut no_progress);
    let diagnosis = session.finish(&DiagnoseOptions::default());
    let plan_id: PlanId = id1.parse().unwrap();
    let params = PlanParams::for_diagnosis(&diagnosis, ISSUED.parse().unwrap(), plan_id).unwrap();
    let plan = Proposal::for_diagnosis(session.catalog(), &diagnosis)
        .unwrap()
        .to_plan(&params)
        .unwrap();
    let key = SecretKey::from_file_text(&std::fs::read_to_string(&ws.key).unwrap()).unwrap();
    let page = PreparedPlan::new(&plan).unwrap().sign_with(&key).unwrap();
    assert_eq!(page.envelope().payload(), p1.as_slice());
    assert_eq!(page.token(), one.json()["token"].as_str().unwrap());
}

#[test]
fn a_healthy_log_has_nothing_to_fix() {
    let ws = Workstation::new("healthy");
    let log = ws.log(&samples::healthy());
    let out = ws.plan(false, &[], &log);
    assert_eq!(out.code, 10, "{out:?}");
    assert!(out.stdout.contains("NOTHING TO FIX"), "{out:?}");
    assert!(!out.stdout.contains("rdpfix1."), "{out:?}");
    let json = ws.plan(true, &[], &log);
    assert_eq!(json.code, 10);
    assert_eq!(json.json()["nothing_to_fix"], true);
    assert_eq!(json.json()["exit"], "nothing-to-fix");
}

#[test]
fn a_bad_key_file_is_refused_before_the_logs_are_read() {
    let ws = Workstation::new("badkey");
    let log = ws.log(&samples::cert_keys());
    let missing = ws.dir.join("nope.key");
    let out = fixer(
        &[
            "plan",
            "--key",
            missing.to_str().unwrap(),
            log.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("cannot read the key file"), "{out:?}");
    assert!(out.stderr.contains("fixer keygen"), "{out:?}");

    // A public key is not a signing key; a damaged one is named as damaged.
    let public = ws.dir.join("public.key");
    std::fs::write(&public, &ws.public_key).unwrap();
    let damaged = ws.dir.join("damaged.key");
    let text = std::fs::read_to_string(&ws.key).unwrap();
    let secret_line = text.lines().last().unwrap();
    // One character of the key changed (past the prefix), as a bad copy would.
    let at = secret_line.len() - 10;
    let swap = if &secret_line[at..=at] == "A" {
        "B"
    } else {
        "A"
    };
    let flipped = format!("{}{swap}{}", &secret_line[..at], &secret_line[at + 1..]);
    std::fs::write(&damaged, text.replace(secret_line, &flipped)).unwrap();
    for (path, why) in [
        (&public, "no `rdpfix-ed25519-secret:` line"),
        (&damaged, "checksum does not match"),
    ] {
        let out = fixer(
            &["plan", "--key", path.to_str().unwrap(), "/no/such/log"],
            None,
        );
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stderr.contains("is not a usable signing key"),
            "{out:?}"
        );
        assert!(out.stderr.contains(why), "{out:?}");
    }
}

#[test]
fn optional_steps_can_be_left_out_and_required_ones_cannot() {
    let ws = Workstation::new("leave-out");
    let sample = samples::cert_keys();
    let log = ws.log(&sample);
    let full = ws.plan(true, &[], &log).json();
    let steps = full["steps"].as_array().unwrap();
    let optional = steps.iter().find(|s| s["optional"] == true).unwrap();
    let required = steps.iter().find(|s| s["optional"] == false).unwrap();
    let n = optional["number"].to_string();

    let out_file = ws.dir.join("plan.json");
    let out = ws.plan(
        true,
        &["--leave-out", &n, "--out", out_file.to_str().unwrap()],
        &log,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    let left = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["number"] == optional["number"])
        .unwrap();
    assert_eq!(left["included"], false);
    let token = report["token"].as_str().unwrap();
    let received = receive(token.as_bytes()).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(received.envelope().payload()).unwrap();
    assert_eq!(
        payload["steps"].as_array().unwrap().len(),
        steps.len() - 1,
        "the choice is inside the signed payload"
    );
    // The plan file verifies like the token.
    assert_eq!(report["plan_file"], out_file.to_str().unwrap());
    let sim = vm("plan-file", &sample, &ws.public_key);
    let verified = sim.run(&["verify", out_file.to_str().unwrap()]);
    assert_eq!(verified.code, 0, "{verified:?}");

    let refused = ws.plan(
        false,
        &["--leave-out", &required["number"].to_string()],
        &log,
    );
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("is required"), "{refused:?}");
    assert!(refused.stderr.contains("optional steps: "), "{refused:?}");
    let refused = ws.plan(false, &["--leave-out", "99"], &log);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("there is no step 99"),
        "{refused:?}"
    );
}

#[test]
fn logs_of_several_computers_need_computer() {
    let ws = Workstation::new("several");
    let a = ws.log(&samples::cert_keys());
    let b = ws.log(&samples::tls_disabled());
    let args = |extra: &[&str]| {
        let mut v = vec!["plan", "--key", ws.key.to_str().unwrap(), "--now", ISSUED];
        v.extend_from_slice(extra);
        v.extend([a.to_str().unwrap(), b.to_str().unwrap()]);
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let v = args(extra);
        fixer(&v.iter().map(String::as_str).collect::<Vec<_>>(), None)
    };
    let out = run(&[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("computers"), "{out:?}");
    assert!(out.stderr.contains("--computer"), "{out:?}");
    let out = run(&["--computer", samples::tls_disabled().computer]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("for {}", samples::tls_disabled().computer))
    );
}

fn args(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}

/// The words a script's `& $exe …` statement gives fixer.exe: bare words and verbatim
/// strings (the values these scripts quote hold no quote of their own).
fn fixer_words(statement: &str) -> Vec<String> {
    let mut rest = statement.strip_prefix("& $exe ").unwrap().trim();
    let mut words = Vec::new();
    while !rest.is_empty() {
        let (word, tail) = match rest.strip_prefix('\'') {
            Some(quoted) => {
                let (word, tail) = quoted.split_once('\'').unwrap();
                assert!(!tail.starts_with('\''), "a doubled quote in {statement}");
                (word, tail)
            }
            None => rest.split_once(' ').unwrap_or((rest, "")),
        };
        words.push(word.to_owned());
        rest = tail.trim_start();
    }
    words
}

/// With where fixer.exe comes from and the VM's names, `fixer plan` prints the page's two
/// runs (the same analyzer functions, the same text); what they run, carried out by this
/// fixer on a VM that trusts nothing yet, goes: fix refused and the script's question
/// answered `unknown_key` (so its last line names the enrolment script), enrolment printing
/// the fingerprint last, the same fix applied.
#[test]
fn prints_the_enrolment_and_fix_scripts_and_what_they_run_applies_the_plan() {
    const URL: &str = "https://rdpfix.example.net/fixer.exe";
    let sha = "c0".repeat(32);
    let ws = Workstation::new("scripts");
    let sample = samples::tls_disabled();
    let log = ws.log(&sample);
    #[rustfmt::skip]
    let extra = [
        "--fixer-url", URL, "--fixer-sha256", &sha, "--resource-group", "rg-prod",
        "--vm", "vm-app-02", "--label", "ops-laptop",
    ];
    let out = ws.plan(true, &extra, &log);
    assert_eq!(out.code, 0, "{out:?}");
    let r = out.json();
    let token = r["token"].as_str().unwrap();
    let public: analyzer::envelope::PublicKey = ws.public_key.parse().unwrap();
    let label = KeyLabel::parse("ops-laptop").unwrap();
    let source = FixerSource::new(URL, &sha).unwrap();
    let azure = (
        ResourceGroup::parse("rg-prod").unwrap(),
        VmName::parse("vm-app-02").unwrap(),
    );
    assert_eq!(r["label"], "ops-laptop");
    assert_eq!(r["trust_command"], trust_command(&public, &label));
    for (name, d) in [
        ("enrol", enrol_delivery(&source, &public, &label)),
        ("fix", fix_delivery(&source, token).unwrap()),
    ] {
        let forms = run_command(&azure.0, &azure.1, &d.script);
        assert_eq!(r[name]["script"], d.script, "{name}");
        let SerialLine::Line(line) = &d.serial_console else {
            panic!("{name}: {:?}", d.serial_console)
        };
        assert_eq!(r[name]["serial_console"]["value"], *line, "{name}");
        assert_eq!(r[name]["az"], forms.az, "{name}");
        assert_eq!(r[name]["powershell"], forms.powershell, "{name}");
    }
    assert!(r["preview"].as_str().unwrap().contains("TLS 1.2"), "{r}");

    // Text: step 1 (the trust line, the enrolment forms) before step 2 (the fix forms),
    // the fix commands still last.
    let text = ws.plan(false, &extra, &log).stdout;
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(at("Step 1") < at(r["trust_command"].as_str().unwrap()));
    assert!(at(r["trust_command"].as_str().unwrap()) < at("The enrolment script for Run Command"));
    assert!(at("The enrolment line for Serial Console") < at("Step 2"));
    assert!(at("Step 2") < at("The fix script for Run Command"));
    // The enrolment does not change from run to run; the fix carries another plan_id.
    assert!(text.contains(r["enrol"]["script"].as_str().unwrap()));
    assert!(text.contains(r["enrol"]["az"].as_str().unwrap()));
    assert!(text.contains(
        "The fix script from Azure Cloud Shell (bash):\naz vm run-command invoke -g 'rg-prod' -n 'vm-app-02'"
    ));
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("fixer.exe apply rdpfix1.")
    );

    // On the VM, what the scripts run, in their order.
    let script = |name: &str| r[name]["script"].as_str().unwrap().to_owned();
    let (enrol, fix) = (script("enrol"), script("fix"));
    let run_of = |script: &str, verb: &str| {
        let line = script
            .lines()
            .find(|l| l.starts_with(&format!("& $exe {verb}")))
            .unwrap_or_else(|| panic!("{verb} in {script}"));
        fixer_words(&line.replace("$plan", &format!("'{token}'")))
    };
    let apply = run_of(&fix, "apply");
    assert_eq!(apply, ["apply", "--yes", token]);
    let sim = untrusting_vm("scripts", &sample);
    let refused = sim.run(&args(&apply));
    assert_eq!(refused.code, FIXER_EXIT_REJECTED, "{refused:?}");
    assert_eq!(i32::from(Exit::Rejected.code()), FIXER_EXIT_REJECTED);
    let question = fix
        .lines()
        .find(|l| l.contains("--json verify $plan"))
        .unwrap()
        .split("(& $exe ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .replace("$plan", token);
    let why = sim.run(&question.split(' ').collect::<Vec<_>>());
    assert_eq!(why.json()["code"], UNKNOWN_KEY_CODE, "{why:?}");
    assert!(fix.contains(&NOT_TRUSTED_HINT.replace('\'', "''")));

    let enrolled = sim.run(&args(&run_of(&enrol, "trust add")));
    assert_eq!(enrolled.code, 0, "{enrolled:?}");
    let fingerprint = public.fingerprint().to_string();
    assert_eq!(enrolled.stdout.lines().last(), Some(fingerprint.as_str()));
    eprintln!(
        "trust add prints {} bytes (Run Command returns the last 4,096)",
        enrolled.stdout.len()
    );
    assert!(enrolled.stdout.len() < 1024, "{enrolled:?}");

    let applied = sim.run(&args(&apply));
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(applied.stdout.contains("APPLIED plan"), "{applied:?}");
}

#[test]
fn a_label_or_fixer_source_a_command_cannot_hold_is_a_usage_error() {
    let ws = Workstation::new("bad-label");
    let log = ws.log(&samples::tls_disabled());
    for extra in [
        &["--label", "ops laptop"][..],
        &[
            "--fixer-url",
            "https://x/a b.exe",
            "--fixer-sha256",
            &"ab".repeat(32),
        ],
        &[
            "--fixer-url",
            "https://x/fixer.exe",
            "--fixer-sha256",
            "abc",
        ],
    ] {
        let out = ws.plan(false, extra, &log);
        assert_eq!(out.code, 2, "{extra:?}: {out:?}");
    }
    // Half of the fixer's source is a usage error too (clap).
    let out = ws.plan(false, &["--fixer-url", "https://x/fixer.exe"], &log);
    assert_eq!(out.code, 2, "{out:?}");
}

/// The configuration findings' plans on the simulated VM: `fixer plan` on a pasted Run
/// Command output of the collection script (`tests/fixtures/config/`) signs typed steps,
/// `fixer apply` changes the values the snapshot showed broken, and `fixer rollback`
/// restores every one of them.
#[test]
fn a_collection_output_plans_typed_steps_that_apply_and_roll_back() {
    use fixer::host::RegValue;
    const POLICY: &str = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
    const RDP_TCP: &str = r"SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/config");
    let ws = Workstation::new("config");
    // Each case: its fixture, and the VM in the state its snapshot shows.
    type Breaks = fn(&mut Machine);
    let cases: [(&str, Breaks); 4] = [
        // The whole script's output: two Schannel events besides the snapshot.
        ("collection-script/az-run-command.json", |m| {
            m.set_reg(POLICY, "fDenyTSConnections", RegValue::dword(1));
            // Windows has this key; the TLS steps create the versions' keys beneath it.
            m.add_key(r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols");
        }),
        ("rdp-disabled-policy/invoke-azvmruncommand.txt", |m| {
            m.set_reg(POLICY, "fDenyTSConnections", RegValue::dword(1));
        }),
        ("rdp-firewall-rule-off/az-run-command.json", |m| {
            m.firewall
                .insert("RemoteDesktop-UserMode-In-TCP".into(), false);
            m.firewall
                .insert("RemoteDesktop-UserMode-In-UDP".into(), false);
        }),
        ("rdp-listener-off/snapshot.txt", |m| {
            m.set_reg(RDP_TCP, "fEnableWinStation", RegValue::dword(0));
            m.set_reg(RDP_TCP, "LanAdapter", RegValue::dword(2));
        }),
    ];
    for (fixture, broken) in cases {
        let log = ws.dir.join(fixture.replace('/', "-"));
        std::fs::copy(fixtures.join(fixture), &log).unwrap();
        let args = [
            "--json",
            "plan",
            "--key",
            ws.key.to_str().unwrap(),
            "--now",
            "2026-11-20T10:00:00Z",
            log.to_str().unwrap(),
        ];
        let out = fixer(&args, None);
        assert_eq!(out.code, 0, "{fixture}: {out:?}");
        let report = out.json();
        assert_eq!(report["computer"], "vm-app-01", "{fixture}");
        // The signed payload's steps: typed kinds, not only manual ones.
        let received = receive(report["token"].as_str().unwrap().as_bytes()).unwrap();
        let payload: serde_json::Value =
            serde_json::from_slice(received.envelope().payload()).unwrap();
        let kinds: Vec<&str> = payload["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds
                .iter()
                .any(|k| *k == "set_registry_value" || *k == "enable_firewall_rule"),
            "{fixture}: {kinds:?}"
        );

        let mut machine = Machine::new(
            "VM-APP-01",
            "vm-app-01.internal.cloudapp.net",
            "2026-11-20T10:10:00Z".parse().unwrap(),
        );
        broken(&mut machine);
        let sim = Sim::new(&format!("config-{}", fixture.replace('/', "-")), machine);
        let trusted = sim.run(&["trust", "add", &ws.public_key, "--label", "ops"]);
        assert_eq!(trusted.code, 0, "{trusted:?}");
        let before = support::restorable(&sim.machine());
        let applied = sim.run(&[
            "--json",
            "apply",
            "--yes",
            report["token"].as_str().unwrap(),
        ]);
        assert_eq!(applied.code, 0, "{fixture}: {applied:?}");
        let after = sim.machine();
        match fixture.split('/').next().unwrap() {
            "rdp-disabled-policy" | "collection-script" => assert_eq!(
                after.reg(POLICY, "fDenyTSConnections"),
                Some(&RegValue::dword(0))
            ),
            "rdp-firewall-rule-off" => {
                assert!(after.firewall["RemoteDesktop-UserMode-In-TCP"]);
                assert!(after.firewall["RemoteDesktop-UserMode-In-UDP"]);
            }
            _ => {
                assert_eq!(
                    after.reg(RDP_TCP, "fEnableWinStation"),
                    Some(&RegValue::dword(1))
                );
                assert_eq!(after.reg(RDP_TCP, "LanAdapter"), Some(&RegValue::dword(0)));
            }
        }
        let plan_id = report["plan_id"].as_str().unwrap().to_owned();
        let rolled = sim.run(&["rollback", &plan_id]);
        assert_eq!(rolled.code, 0, "{fixture}: {rolled:?}");
        assert_eq!(support::restorable(&sim.machine()), before, "{fixture}");
    }
}

/// Logs that name no computer (the article's rendering, as Event Viewer's CSV and
/// Format-List): `--computer NAME` is taken as typed, with a warning, once it is a NetBIOS
/// or DNS name; the VM of that name verifies the plan and another refuses it.
#[test]
fn a_typed_computer_name_targets_logs_that_name_none() {
    let ws = Workstation::new("typed");
    let log = ws.dir.join("article.txt");
    std::fs::write(
        &log,
        "**Log Name:** System <br />\n**Source:** Schannel <br />\n**Event ID:** 36870 <br />\n\
         **Level:** Error <br />\n**Description:** A fatal error occurred when attempting to \
         access the TLS server credential private key. The error code returned from the \
         cryptographic module is 0x8009030D. The internal error state is 10001. <br />\n",
    )
    .unwrap();
    let refused = ws.plan(true, &[], &log);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stdout.contains("name no computer") && refused.stdout.contains("--computer <name>"),
        "{refused:?}"
    );
    let bad = ws.plan(true, &["--computer", "vm 01"], &log);
    assert_ne!(bad.code, 0, "{bad:?}");

    let out = ws.plan(true, &["--computer", "vm-typed-01"], &log);
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    assert_eq!(report["computer"], "vm-typed-01");
    assert!(
        report["warning"].as_str().unwrap().contains("as typed"),
        "{report}"
    );
    let text = ws.plan(false, &["--computer", "vm-typed-01"], &log);
    assert!(
        text.stdout.contains("WARNING: the logs name no computer"),
        "{text:?}"
    );

    let token = report["token"].as_str().unwrap();
    for (computer, code) in [("vm-typed-01", 0), ("vm-other-02", 3)] {
        let sim = Sim::new(
            &format!("typed-{computer}"),
            Machine::new(
                &computer.to_ascii_uppercase(),
                &format!("{computer}.internal.cloudapp.net"),
                VM_NOW.parse().unwrap(),
            ),
        );
        assert_eq!(
            sim.run(&["trust", "add", &ws.public_key, "--label", "ops"])
                .code,
            0
        );
        let verified = sim.run(&["--json", "verify", token]);
        assert_eq!(verified.code, code, "{computer}: {verified:?}");
    }
}
