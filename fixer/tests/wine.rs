//! The real Windows binary under Wine, in a fresh prefix: `trust add`, `verify`,
//! `apply --dry-run`, `apply` of a plan with registry steps against Wine's registry, then
//! `rollback` — each checked with Wine's own `reg query`, not with the fixer's word for it.
//!
//! Run by `cargo xtask test` (which builds `dist/fixer.exe`):
//!
//! ```text
//! RDPFIX_FIXER_EXE=dist/fixer.exe cargo test -p fixer --test wine -- --ignored
//! ```
//!
//! What Wine can and cannot exercise (Wine 8.0, checked here):
//! - registry (RegOpenKeyExW / RegQueryValueExW / RegSetValueExW / RegDeleteValueW /
//!   RegCreateKeyExW / RegDeleteKeyW): yes — the steps below, against HKLM.
//! - the computer name (GetComputerNameExW): yes — a plan for another computer is refused.
//! - the state directory's security (GetNamedSecurityInfoW): partly — Wine ignores the
//!   descriptor given to CreateDirectoryW and reports every file as owned by the prefix's
//!   user, which the fixer trusts only under Wine (`wine_prefix_owner`).
//! - the service control manager: yes — Wine ships a `TermService` (termsv.exe) that really
//!   starts and stops; its start type, delayed auto-start and account are set, restarted and
//!   rolled back below, checked against the service's registry key, which Wine's SCM keeps.
//! - crypt32's "Remote Desktop" system store: yes — a registry store under
//!   `HKLM\SOFTWARE\Microsoft\SystemCertificates`; a certificate the test writes there is
//!   deleted by a plan and put back by its rollback.
//! - issue 15's registry values (the policy key, which a fresh prefix lacks up to
//!   `SOFTWARE\Policies\Microsoft`, the listener values, NLA lowered): yes, below.
//! - `start_service`: yes, on Wine's TermService (stopped, started, stopped by the rollback).
//! - local groups (netapi32), user rights (LSA) and firewall rules: no. Wine 8.0's
//!   `NetLocalGroupAddMembers` and `LsaAddAccountRights` answer success and keep nothing,
//!   and its `powershell.exe` has no NetSecurity cmdlets; the test below checks the fixer
//!   notices (read-back fails → rolled back; unreadable rule → refused before any change).
//!   These kinds run on the simulated host only.
//! - an attached OS disk read through a drive letter (`diagnose --offline F:`): yes — a
//!   folder laid out like the disk mapped as `F:` (`dosdevices/f:`), read as the Linux build
//!   reads the folder; a junction inside the disk: no (Wine cannot make one; tested on the
//!   simulated host and natively, `tests/offline.rs`). Loading its hives (`apply --offline`)
//!   is not run here.
//! - an offline plan (`--offline F:`, a disk folder mapped as a drive): verify and the
//!   dry-run, which read the hive files, yes; loading the hives, no: Wine 8.0's
//!   `RegLoadKeyW` answers 1017 (`ERROR_NOT_REGISTRY_FILE`) for a `regf` file (a hive
//!   Windows wrote is not a file Wine loads) and leaves an empty `HKLM\<mount>`, which
//!   `RegUnLoadKeyW` removes. The test checks the fixer says so and changes nothing; the
//!   load, edit and unload run on the simulated disk (`tests/offline_apply.rs`).
//! - not exercised here: file ownership (Wine reports every file as owned by the prefix's
//!   user and does not keep an owner written to it), so MachineKeys steps, junctions and the
//!   folder checks run on the simulated host (`tests/attacks.rs`); `wevtutil epl` and
//!   `schtasks` (Wine's are stubs), so `collect` and the commit-confirm task are not run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use analyzer::plan::{
    AllowedStep, CertStore, CertificateExpect, Expect, RdpService, RegistryData, RegistryExpect,
    RegistryValue, ServiceAccount, StartType, Thumbprint, TlsProtocol,
};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::{PlanSpec, key, plan, plan_id, token};

const TERMINAL_SERVER: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server";
const RDP_TCP: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
const PROTOCOLS: &str =
    r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols";

/// A key's values as `reg query` shows them: name → (type, data).
type Values = BTreeMap<String, (String, String)>;

/// A fresh Wine prefix and the fixer.exe under test.
struct Wine {
    exe: PathBuf,
    prefix: PathBuf,
}

/// What a command printed, and how it ended.
#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    /// Shown when an assertion fails.
    #[allow(dead_code)]
    stderr: String,
}

impl Ran {
    fn flat(&self) -> String {
        self.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Runs `run`, and once more when it failed with no output at all: for a program that prints
/// on every exit (fixer.exe, `reg`), that is Wine not running it (seen in CI on a busy
/// machine: code 1, nothing printed, the same command passing before and after). The
/// attempt is reported on the test's stderr; anything the program said is never retried.
fn once_more_if_unrun(what: &str, run: impl Fn() -> Ran) -> Ran {
    let first = run();
    if first.code == 0 || !first.stdout.is_empty() || !first.stderr.is_empty() {
        return first;
    }
    eprintln!(
        "{what} exited {} with no output: Wine did not run it; once more",
        first.code
    );
    run()
}

/// Runs `cmd` with its output in files under `dir`, not pipes: the Wine services the first
/// command starts (services.exe, winedevice.exe…) inherit its handles and outlive it, so
/// reading a pipe to its end would wait for the wineserver to exit.
fn ran(mut cmd: Command, dir: &Path) -> Ran {
    let out = dir.join("stdout.txt");
    let err = dir.join("stderr.txt");
    let status = cmd
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).replace("\r\n", "\n");
    Ran {
        code: status.code().unwrap_or(-1),
        stdout: read(&out),
        stderr: read(&err),
    }
}

impl Wine {
    fn new(name: &str) -> Wine {
        let exe = std::env::var_os("RDPFIX_FIXER_EXE")
            .map(PathBuf::from)
            .expect("set RDPFIX_FIXER_EXE to fixer.exe (cargo xtask test does)");
        let exe = std::fs::canonicalize(&exe).unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
        let root = std::env::var_os("RDPFIX_WINE_PREFIXES")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let prefix = root.join(format!("fixer-wine-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&prefix);
        std::fs::create_dir_all(&prefix).unwrap();
        let wine = Wine { exe, prefix };
        // One wineserver for the whole test (each command would otherwise start its own,
        // seconds each); then the first command creates the prefix.
        let server = wine
            .program(&["/usr/lib/wine/wineserver", "/usr/bin/wineserver"])
            .arg("-p")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(server.success(), "wineserver -p: {server}");
        let boot = wine.tool(&["cmd", "/c", "ver"]);
        assert_eq!(boot.code, 0, "wine could not start: {boot:?}");
        wine
    }

    /// The first of `paths` that exists, to run in this prefix.
    fn program(&self, paths: &[&str]) -> Command {
        let program = paths
            .iter()
            .find(|p| Path::new(p).exists())
            .copied()
            .unwrap_or_else(|| paths[paths.len() - 1]);
        let mut cmd = Command::new(program);
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .stdin(Stdio::null());
        cmd
    }

    fn command(&self) -> Command {
        self.program(&["/usr/lib/wine/wine64", "/usr/bin/wine64"])
    }

    /// A Windows program of the prefix (`reg`, `hostname`, `sc`…).
    fn tool(&self, args: &[&str]) -> Ran {
        let mut cmd = self.command();
        cmd.args(args);
        ran(cmd, &self.prefix)
    }

    /// Runs fixer.exe, which prints on every exit (a report, or `error: …`): once more when
    /// Wine did not run it ([`once_more_if_unrun`]).
    fn fixer(&self, args: &[&str]) -> Ran {
        once_more_if_unrun(&format!("wine64 fixer.exe {args:?}"), || {
            let mut cmd = self.command();
            cmd.arg(&self.exe).args(args);
            ran(cmd, &self.prefix)
        })
    }

    /// Writes a file at `C:\<name>` and returns its Windows path.
    fn c_file(&self, name: &str, text: &str) -> String {
        std::fs::write(self.prefix.join("drive_c").join(name), text).unwrap();
        format!(r"C:\{name}")
    }

    /// `reg add … /f`. Wine's `reg` prints on success and on every error: once more when Wine
    /// did not run it ([`once_more_if_unrun`]; `/f` overwrites, so a second run changes
    /// nothing a first one made).
    fn reg_add(&self, key: &str, name: &str, kind: &str, data: &str) {
        let r = once_more_if_unrun(&format!("reg add {key}\\{name}"), || {
            self.tool(&["reg", "add", key, "/v", name, "/t", kind, "/d", data, "/f"])
        });
        assert_eq!(r.code, 0, "reg add {key}\\{name}: {r:?}");
    }

    /// `reg query <key>` as value name → (type, data); `None` when the key does not exist —
    /// when `reg` says so (`reg: Unable to find the specified registry key`). Any other
    /// failure is Wine's (seen once: a key written before read back as absent, the same
    /// query passing before and after): reported on the test's stderr and run once more,
    /// then a panic with what `reg` printed, never taken for a missing key.
    fn reg_query(&self, key: &str) -> Option<Values> {
        const MISSING: &str = "Unable to find the specified registry key";
        let query = || self.tool(&["reg", "query", key]);
        let mut r = query();
        if r.code != 0 && !r.flat().contains(MISSING) {
            eprintln!("reg query {key} failed without saying the key is missing: {r:?}; once more");
            r = query();
        }
        if r.code != 0 {
            assert!(r.flat().contains(MISSING), "reg query {key}: {r:?}");
            return None;
        }
        let mut values = BTreeMap::new();
        for line in r.stdout.lines() {
            // "    Name    REG_TYPE    data": four spaces between fields; names may hold one.
            let fields: Vec<&str> = line.trim_start().split("    ").collect();
            if let [name, kind, rest @ ..] = fields.as_slice()
                && kind.starts_with("REG_")
            {
                values.insert(
                    (*name).to_owned(),
                    ((*kind).to_owned(), rest.join("    ").trim().to_owned()),
                );
            }
        }
        Some(values)
    }

    fn value(&self, key: &str, name: &str) -> Option<(String, String)> {
        self.reg_query(key)?.get(name).cloned()
    }

    /// Every key the plan touches, as Wine's `reg query` shows it.
    fn registry(&self) -> BTreeMap<String, Option<Values>> {
        [
            TERMINAL_SERVER.to_owned(),
            RDP_TCP.to_owned(),
            format!(r"{PROTOCOLS}\TLS 1.2\Server"),
            format!(r"{PROTOCOLS}\TLS 1.0"),
            format!(r"{PROTOCOLS}\TLS 1.0\Server"),
        ]
        .into_iter()
        .map(|k| (k.clone(), self.reg_query(&k)))
        .collect()
    }

    /// This machine's name as Windows programs see it.
    fn computer_name(&self) -> String {
        let r = self.tool(&["hostname"]);
        assert_eq!(r.code, 0, "{r:?}");
        r.stdout.trim().to_owned()
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = self
            .program(&["/usr/lib/wine/wineserver", "/usr/bin/wineserver"])
            .arg("-k")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.prefix);
        }
    }
}

/// The registry steps of Scenarios 1, 2 and 5: a value deleted (it existed), values
/// changed, values and keys created (they did not exist), and a read.
fn registry_steps() -> Vec<AllowedStep> {
    vec![
        AllowedStep::QueryRegistryValue {
            value: RegistryValue::SslCertificateSha1Hash,
        },
        AllowedStep::DeleteRegistryValue {
            value: RegistryValue::SslCertificateSha1Hash,
            expect: RegistryExpect::Any,
        },
        AllowedStep::SetRegistryValue {
            value: RegistryValue::DenyTsConnections,
            desired: RegistryData::Dword(0),
            expect: RegistryExpect::Equals(RegistryData::Dword(1)),
        },
        AllowedStep::EnableTlsServerProtocol {
            protocol: TlsProtocol::Tls12,
        },
        AllowedStep::EnableTlsServerProtocol {
            protocol: TlsProtocol::Tls10,
        },
    ]
}

/// A plan for this machine, issued now by Wine's clock (the host's).
fn plan_for(computer: &str, id: u8) -> String {
    plan_of(computer, id, &registry_steps())
}

fn plan_of(computer: &str, id: u8, steps: &[AllowedStep]) -> String {
    let spec = PlanSpec {
        computer: computer.to_owned(),
        id,
        seq: 1000 + u64::from(id),
        issued_at: Timestamp::now() - SignedDuration::from_mins(1),
        lifetime: SignedDuration::from_hours(1),
    };
    token(&plan(steps, &spec), &key(1))
}

impl Wine {
    /// Enrols the test key, as the admin does once.
    fn trust(&self) {
        let r = self.fixer(&[
            "trust",
            "add",
            &key(1).public_key().to_string(),
            "--label",
            "ci",
        ]);
        assert_eq!(r.code, 0, "{r:?}");
    }

    /// Applies `steps` as a signed plan with `--yes`; returns the plan's id.
    fn apply(&self, id: u8, steps: &[AllowedStep]) -> Ran {
        let token = plan_of(&self.computer_name(), id, steps);
        let file = self.c_file(&format!("plan-{id}.txt"), &format!("{token}\r\n"));
        self.fixer(&["apply", "--yes", &file])
    }

    /// Stops every Wine process of the prefix and starts them again, as a reboot would.
    fn reboot(&self) {
        let server = ["/usr/lib/wine/wineserver", "/usr/bin/wineserver"];
        for arg in ["-k", "-p"] {
            let status = self
                .program(&server)
                .arg(arg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(
                arg == "-k" || status.success(),
                "wineserver {arg}: {status}"
            );
        }
        let boot = self.tool(&["cmd", "/c", "ver"]);
        assert_eq!(boot.code, 0, "wine could not start again: {boot:?}");
    }

    /// `sc query <name>`'s STATE word (`RUNNING`, `STOPPED`…).
    fn service_state(&self, name: &str) -> String {
        let r = self.tool(&["sc", "query", name]);
        r.stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("STATE"))
            .and_then(|rest| rest.split_whitespace().nth(2))
            .unwrap_or("?")
            .to_owned()
    }
}

const TERMSERVICE: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService";
const RD_CERTS: &str = r"HKLM\SOFTWARE\Microsoft\SystemCertificates\Remote Desktop\Certificates";

/// Wine's own TermService: start type (with delayed auto-start), account and a restart,
/// applied through the service control manager and rolled back exactly.
#[test]
#[ignore = "needs Wine and fixer.exe: run by `cargo xtask test`"]
fn applies_and_rolls_back_service_steps_in_wines_service_manager() {
    let wine = Wine::new("services");
    wine.trust();
    // Automatic (delayed), as some hardening baselines set it. The service manager reads its
    // configuration at boot (Wine's `sc config` fails), so: the values, then a reboot.
    wine.reg_add(TERMSERVICE, "Start", "REG_DWORD", "2");
    wine.reg_add(TERMSERVICE, "DelayedAutostart", "REG_DWORD", "1");
    wine.reboot();
    let r = wine.tool(&["sc", "start", "TermService"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(wine.service_state("TermService"), "RUNNING");
    let before = wine.reg_query(TERMSERVICE).unwrap();
    assert_eq!(before["ObjectName"].1, "LocalSystem", "{before:?}");

    let steps = vec![
        AllowedStep::SetServiceStart {
            service: RdpService::TermService,
            desired: StartType::Manual,
            expect: Expect::Equals(StartType::Automatic),
        },
        AllowedStep::SetServiceAccount {
            service: RdpService::TermService,
            desired: ServiceAccount::NetworkService,
            expect: Expect::Any,
        },
        AllowedStep::RestartService {
            service: RdpService::TermService,
        },
    ];
    let r = wine.apply(1, &steps);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.flat().contains("APPLIED plan"), "{r:?}");
    let after = wine.reg_query(TERMSERVICE).unwrap();
    assert_eq!(after["Start"].1, "0x3", "{after:?}");
    assert!(
        after["ObjectName"]
            .1
            .eq_ignore_ascii_case(r"NT AUTHORITY\NetworkService"),
        "{after:?}"
    );
    assert_eq!(wine.service_state("TermService"), "RUNNING");

    let r = wine.fixer(&["rollback", &plan_id(1)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.flat().contains("ROLLED BACK"), "{r:?}");
    assert_eq!(wine.reg_query(TERMSERVICE).unwrap(), before, "{r:?}");
    assert_eq!(wine.service_state("TermService"), "RUNNING");
}

/// A certificate in crypt32's "Remote Desktop" registry store: the plan exports and deletes
/// it; the rollback adds it back, the same bytes under the same thumbprint.
#[test]
#[ignore = "needs Wine and fixer.exe: run by `cargo xtask test`"]
fn deletes_and_restores_a_certificate_in_wines_remote_desktop_store() {
    let der = std::fs::read(testkit::fixture("certs/rdp-selfsigned.cer")).unwrap();
    let thumbprint = std::fs::read_to_string(testkit::fixture("certs/rdp-selfsigned.cer.sha1"))
        .unwrap()
        .trim()
        .to_owned();
    let wine = Wine::new("certs");
    wine.trust();
    // A registry store keeps each certificate as its serialized properties: CERT_CERT_PROP_ID
    // (32), a reserved 1, the length, then the DER.
    let mut blob = Vec::new();
    for n in [32u32, 1, der.len() as u32] {
        blob.extend(n.to_le_bytes());
    }
    blob.extend(&der);
    let hex: String = blob.iter().map(|b| format!("{b:02X}")).collect();
    let cert_key = format!(r"{RD_CERTS}\{thumbprint}");
    wine.reg_add(&cert_key, "Blob", "REG_BINARY", &hex);
    let before = wine.reg_query(&cert_key).unwrap();

    let mut bytes = [0u8; 20];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&thumbprint[i * 2..i * 2 + 2], 16).unwrap();
    }
    let steps = vec![AllowedStep::ExportDeleteCertificates {
        store: CertStore::RemoteDesktop,
        expect: CertificateExpect::Thumbprint(Thumbprint(bytes)),
    }];
    let token = plan_of(&wine.computer_name(), 1, &steps);
    let r = wine.fixer(&["apply", "--dry-run", &token]);
    assert_eq!(r.code, 0, "{r:?}");
    // What crypt32 under Wine read is the certificate openssl made, by its thumbprint.
    assert!(
        r.flat()
            .contains(&format!("now: 1 certificate(s): {thumbprint}")),
        "{r:?}"
    );

    let r = wine.apply(1, &steps);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        wine.reg_query(&cert_key),
        None,
        "the certificate is still there"
    );
    let cer = wine
        .prefix
        .join("drive_c/ProgramData/rdpfix/journal")
        .join(plan_id(1))
        .join(format!("step-01-{thumbprint}.cer"));
    assert_eq!(std::fs::read(&cer).unwrap(), der, "{}", cer.display());

    let r = wine.fixer(&["rollback", &plan_id(1)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.flat().contains("ROLLED BACK"), "{r:?}");
    let back = wine.reg_query(&cert_key).expect("the certificate is back");
    // crypt32 may store more properties than the test wrote (the SHA-1 hash it computed);
    // the certificate itself is the same bytes.
    assert!(
        back["Blob"].1.contains(&hex[24..]),
        "{back:?} vs {before:?}"
    );
}

#[test]
#[ignore = "needs Wine and fixer.exe: run by `cargo xtask test`"]
fn applies_and_rolls_back_registry_steps_in_wines_registry() {
    let wine = Wine::new("registry");
    let thumbprint = "3FA1C2D4E5F60718293A4B5C6D7E8F9012345678";
    wine.reg_add(RDP_TCP, "SSLCertificateSHA1Hash", "REG_BINARY", thumbprint);
    wine.reg_add(RDP_TCP, "PortNumber", "REG_DWORD", "3389");
    wine.reg_add(TERMINAL_SERVER, "fDenyTSConnections", "REG_DWORD", "1");
    let tls12 = format!(r"{PROTOCOLS}\TLS 1.2\Server");
    wine.reg_add(&tls12, "Enabled", "REG_DWORD", "0");
    wine.reg_add(&tls12, "DisabledByDefault", "REG_DWORD", "1");
    let tls10 = format!(r"{PROTOCOLS}\TLS 1.0\Server");
    assert_eq!(
        wine.reg_query(&tls10),
        None,
        "a fresh prefix has no TLS 1.0 key"
    );
    let before = wine.registry();

    // trust add: prints analyzer's fingerprint.
    let public = key(1).public_key().to_string();
    let r = wine.fixer(&["trust", "add", &public, "--label", "ci"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains(&key(1).public_key().fingerprint().to_string()),
        "{r:?}"
    );

    let computer = wine.computer_name();
    let token = plan_for(&computer, 1);
    let file = wine.c_file("plan.txt", &format!("fixer.exe apply {token}\r\n"));

    // verify: every check passes; nothing changes.
    let r = wine.fixer(&["verify", &token]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("VERIFIED plan"), "{r:?}");
    // A plan for another computer meets check 6 with Windows' own idea of this one.
    let r = wine.fixer(&["verify", &plan_for("SOMEWHERE-ELSE", 9)]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.flat().contains("REJECTED by check 6 (computer)"), "{r:?}");
    assert!(r.flat().contains(&computer), "{r:?}");

    // apply --dry-run: current -> desired, and Wine's registry is untouched.
    let r = wine.fixer(&["apply", "--dry-run", &file]);
    assert_eq!(r.code, 0, "{r:?}");
    let flat = r.flat();
    for needle in [
        &format!("now: SSLCertificateSHA1Hash=REG_BINARY {thumbprint}")[..],
        "want: SSLCertificateSHA1Hash=(absent)",
        "now: fDenyTSConnections=REG_DWORD 0x1",
        "now: Enabled=(absent), DisabledByDefault=(absent)",
        "DRY RUN: 4 step(s) would change",
    ] {
        assert!(flat.contains(needle), "{needle}: {}", r.stdout);
    }
    assert_eq!(wine.registry(), before, "the dry-run changed the registry");

    // apply without --yes and without a terminal (as under Run Command): consent needed.
    let r = wine.fixer(&["apply", &file]);
    assert_eq!(r.code, 9, "{r:?}");
    assert_eq!(wine.registry(), before);

    // apply --yes: the values change in Wine's registry.
    let r = wine.fixer(&["apply", "--yes", &file]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.flat().contains("APPLIED plan"), "{r:?}");
    assert_eq!(wine.value(RDP_TCP, "SSLCertificateSHA1Hash"), None);
    assert_eq!(
        wine.value(RDP_TCP, "PortNumber"),
        Some(("REG_DWORD".into(), "0xd3d".into())),
        "a value the plan does not name stays"
    );
    let dword = |v: &str| Some(("REG_DWORD".to_owned(), v.to_owned()));
    assert_eq!(
        wine.value(TERMINAL_SERVER, "fDenyTSConnections"),
        dword("0x0")
    );
    assert_eq!(wine.value(&tls12, "Enabled"), dword("0x1"));
    assert_eq!(wine.value(&tls12, "DisabledByDefault"), dword("0x0"));
    assert_eq!(wine.value(&tls10, "Enabled"), dword("0x1"));
    assert_eq!(wine.value(&tls10, "DisabledByDefault"), dword("0x0"));

    // The same plan again is a replay; the journal lists it as applied.
    let r = wine.fixer(&["apply", "--yes", &file]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.flat().contains("REJECTED by check 8 (replay)"), "{r:?}");
    let r = wine.fixer(&["journal"]);
    assert!(
        r.stdout.contains(&format!("{}  applied", plan_id(1))),
        "{r:?}"
    );

    // rollback: the exact previous values, the deleted one back with its bytes, the values
    // and keys that did not exist gone again.
    let r = wine.fixer(&["rollback", &plan_id(1)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("ROLLED BACK"), "{r:?}");
    assert_eq!(
        wine.registry(),
        before,
        "rollback did not restore the registry"
    );
    assert_eq!(
        wine.value(RDP_TCP, "SSLCertificateSHA1Hash"),
        Some(("REG_BINARY".into(), thumbprint.into()))
    );
    assert_eq!(wine.reg_query(&tls10), None);
    assert_eq!(wine.reg_query(&format!(r"{PROTOCOLS}\TLS 1.0")), None);
}

const TS_POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";

/// The registry-valued kinds of issue 15 in Wine's registry: fDenyTSConnections under the
/// policy key (a key a fresh prefix does not have), the listener back to its defaults, NLA
/// lowered; then the rollback puts back every value and removes the policy keys it made.
#[test]
#[ignore = "needs Wine and fixer.exe: run by `cargo xtask test`"]
fn applies_and_rolls_back_listener_and_policy_values_in_wines_registry() {
    let wine = Wine::new("listener");
    wine.trust();
    wine.reg_add(TERMINAL_SERVER, "fDenyTSConnections", "REG_DWORD", "1");
    wine.reg_add(RDP_TCP, "PortNumber", "REG_DWORD", "3390");
    wine.reg_add(RDP_TCP, "LanAdapter", "REG_DWORD", "2");
    wine.reg_add(RDP_TCP, "UserAuthentication", "REG_DWORD", "1");
    let policies = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT";
    assert_eq!(
        wine.reg_query(TS_POLICY),
        None,
        "a fresh prefix has no policy"
    );
    let keys = [TERMINAL_SERVER, RDP_TCP, TS_POLICY, policies];
    let snapshot = || -> BTreeMap<&str, Option<Values>> {
        keys.iter().map(|k| (*k, wine.reg_query(k))).collect()
    };
    let before = snapshot();

    let set = |value, data| AllowedStep::SetRegistryValue {
        value,
        desired: RegistryData::Dword(data),
        expect: RegistryExpect::Any,
    };
    let steps = vec![
        set(RegistryValue::DenyTsConnections, 0),
        set(RegistryValue::PolicyDenyTsConnections, 0),
        set(RegistryValue::PortNumber, 3389),
        set(RegistryValue::LanAdapter, 0),
        set(RegistryValue::UserAuthentication, 0),
    ];
    let r = wine.apply(1, &steps);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.flat().contains("lowers security, temporary"), "{r:?}");
    let dword = |v: &str| Some(("REG_DWORD".to_owned(), v.to_owned()));
    assert_eq!(wine.value(TS_POLICY, "fDenyTSConnections"), dword("0x0"));
    assert_eq!(
        wine.value(TERMINAL_SERVER, "fDenyTSConnections"),
        dword("0x0")
    );
    assert_eq!(wine.value(RDP_TCP, "PortNumber"), dword("0xd3d"));
    assert_eq!(wine.value(RDP_TCP, "LanAdapter"), dword("0x0"));
    assert_eq!(wine.value(RDP_TCP, "UserAuthentication"), dword("0x0"));

    let r = wine.fixer(&["rollback", &plan_id(1)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.flat().contains("ROLLED BACK"), "{r:?}");
    assert_eq!(snapshot(), before, "{r:?}");
}

/// Wine 8.0 keeps no local groups, user rights or firewall rules: `NetLocalGroupAddMembers`
/// and `LsaAddAccountRights` answer success and change nothing, and its `powershell.exe` is
/// a stub without the NetSecurity cmdlets. What this shows is the fixer's side: it never
/// takes a call's word for it. The member and the right read back absent, so the step fails
/// and the plan is rolled back ("the change did not take", exit 4); the firewall rule's state
/// cannot be read, so the plan is refused before any change (exit 3). These kinds' apply and
/// rollback are tested on the simulated host (`tests/executor.rs`).
#[test]
#[ignore = "needs Wine and fixer.exe: run by `cargo xtask test`"]
fn wine_keeps_no_groups_rights_or_firewall_rules_and_the_fixer_notices() {
    use analyzer::plan::{AccountSid, FirewallRule, LocalGroup, LogonRight};
    let wine = Wine::new("accounts");
    wine.trust();
    let sid = |s: &str| AccountSid::parse(s).unwrap();
    // The prefix's user is S-1-5-21-0-0-0-1000 under Wine.
    for (id, step) in [
        (
            1,
            AllowedStep::AddGroupMember {
                group: LocalGroup::RemoteDesktopUsers,
                member: sid("S-1-5-21-0-0-0-1000"),
            },
        ),
        (
            2,
            AllowedStep::GrantLogonRight {
                sid: sid("S-1-5-32-555"),
                right: LogonRight::RemoteInteractive,
            },
        ),
    ] {
        let r = wine.apply(id, &[step]);
        assert_eq!(r.code, 4, "{r:?}");
        let flat = r.flat();
        assert!(flat.contains("the change did not take"), "{r:?}");
        assert!(flat.contains("ROLLED BACK"), "{r:?}");
    }
    // Nothing to revoke: Wine's LSA lists no right for anyone, so the step is compliant.
    let r = wine.apply(
        3,
        &[AllowedStep::RevokeLogonRight {
            sid: sid("S-1-5-113"),
            right: LogonRight::DenyRemoteInteractive,
        }],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.flat().contains("already as wanted: skipped"), "{r:?}");

    let r = wine.apply(
        4,
        &[AllowedStep::EnableFirewallRule {
            rule: FirewallRule::UserModeInTcp,
        }],
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.flat().contains("REJECTED by check 10 (preconditions)"),
        "{r:?}"
    );
    assert!(r.flat().contains("Nothing was changed"), "{r:?}");
}

/// `start_service` against Wine's own TermService: started when it is stopped, and stopped
/// again by the rollback, both read back with Wine's `sc query`.
#[test]
#[ignore = "needs Wine and fixer.exe: run by `cargo xtask test`"]
fn starts_a_stopped_service_and_the_rollback_stops_it_in_wines_service_manager() {
    let wine = Wine::new("start");
    wine.trust();
    if wine.service_state("TermService") != "STOPPED" {
        let r = wine.tool(&["sc", "stop", "TermService"]);
        assert_eq!(r.code, 0, "{r:?}");
    }
    assert_eq!(wine.service_state("TermService"), "STOPPED");
    let steps = [AllowedStep::StartService {
        service: RdpService::TermService,
    }];
    let r = wine.apply(1, &steps);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(wine.service_state("TermService"), "RUNNING", "{r:?}");
    let r = wine.fixer(&["rollback", &plan_id(1)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.flat().contains("ROLLED BACK"), "{r:?}");
    assert_eq!(wine.service_state("TermService"), "STOPPED", "{r:?}");
}

/// `fixer diagnose --offline` in Wine: a folder laid out like an OS disk attached to a
/// rescue VM (the samples' System log, the RemoteConnectionManager log under its `%4` name,
/// the healthy SYSTEM and SOFTWARE hives) mapped as drive `F:` of the prefix
/// (`dosdevices/f:`), read by the Windows binary through its drive letter: the same inputs,
/// events and findings as the Linux build reading the folder. (Wine cannot make an NTFS
/// junction, so the refusal of links inside a disk is tested natively: `tests/offline.rs`.)
#[test]
#[ignore = "needs Wine and fixer.exe: run by `cargo xtask test`"]
fn diagnoses_an_attached_disk_mapped_as_a_drive() {
    use testkit::{EvtxWriter, samples};
    let wine = Wine::new("offline");
    let disk = wine.prefix.join("attached-disk");
    let logs = disk.join("Windows/System32/winevt/Logs");
    let config = disk.join("Windows/System32/config");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    let system = samples::cert_keys().events;
    let rcm: Vec<analyzer::Event> = testkit::evtx_writer::filler_events(7, 40)
        .into_iter()
        .map(|mut e| {
            e.channel = Some(
                "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational".into(),
            );
            e
        })
        .collect();
    let events = system.len() + rcm.len();
    // The System log's name in capitals: Windows finds names whatever their case.
    for (name, events) in [
        ("SYSTEM.EVTX", system),
        (
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
            rcm,
        ),
    ] {
        let bytes = EvtxWriter::new().extend(events).to_bytes().unwrap();
        std::fs::write(logs.join(name), bytes).unwrap();
    }
    for hive in ["SYSTEM", "SOFTWARE"] {
        std::fs::copy(
            testkit::fixture(&format!("hives/healthy/{hive}")),
            config.join(hive),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink(&disk, wine.prefix.join("dosdevices/f:")).unwrap();

    let args = [
        "--json",
        "diagnose",
        "--offline",
        "F:",
        "--now",
        samples::SAMPLE_END,
    ];
    let r = wine.fixer(&args);
    assert_eq!(r.code, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let native = Command::new(env!("CARGO_BIN_EXE_fixer"))
        .args(["--json", "diagnose", "--offline"])
        .arg(&disk)
        .args(["--now", samples::SAMPLE_END])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        native.status.success(),
        "{}",
        String::from_utf8_lossy(&native.stderr)
    );
    let native: serde_json::Value = serde_json::from_slice(&native.stdout).unwrap();

    // Every log and hive read, by the names on the disk, no errors.
    let inputs = |j: &serde_json::Value| -> Vec<(String, u64, u64)> {
        let mut v: Vec<_> = j["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().replace('\\', "/"),
                    i["events"].as_u64().unwrap_or(0),
                    i["errors"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        v.sort();
        v
    };
    let read = inputs(&json);
    assert_eq!(read.len(), 4, "{read:?}");
    assert_eq!(
        read.iter().map(|i| i.1).sum::<u64>(),
        events as u64,
        "{read:?}"
    );
    assert!(read.iter().all(|i| i.2 == 0), "{read:?}");
    let offline = &json["offline"];
    assert_eq!(
        offline["found"],
        serde_json::json!([
            "Windows/System32/winevt/Logs/SYSTEM.EVTX",
            "Windows/System32/winevt/Logs/Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
            "Windows/System32/config/SYSTEM",
            "Windows/System32/config/SOFTWARE",
        ]),
        "{offline:#}"
    );
    assert_eq!(offline["refused"], serde_json::json!([]), "{offline:#}");
    for part in ["found", "missing", "refused"] {
        assert_eq!(offline[part], native["offline"][part], "{part}");
    }
    assert_eq!(
        read,
        inputs(&native),
        "Wine and Linux read the same disk alike"
    );
    let findings = |j: &serde_json::Value| -> Vec<String> {
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        findings(&json).contains(&"rdp-cert-keys".to_owned()),
        "{}",
        r.stdout
    );
    assert_eq!(findings(&json), findings(&native));
}

/// An offline plan under Wine, on a disk folder mapped as `F:`: `verify --offline` and the
/// dry-run read the hive files through the drive (check 6 against the disk's ComputerName,
/// MachineGuid and control set; check 10 on the files) — then the apply stops where Wine
/// stops: Wine 8.0's `RegLoadKeyW` answers 1017 (`ERROR_NOT_REGISTRY_FILE`) for a `regf`
/// hive. The fixer says the hives could
/// not be loaded and that nothing was changed, and the hive file is byte for byte as it was.
/// (Loading, changing and unloading a hive run on the simulated disk:
/// `tests/offline_apply.rs`.)
#[test]
#[ignore = "needs Wine and fixer.exe: run by `cargo xtask test`"]
fn an_offline_plan_is_verified_on_a_mapped_disk_and_wine_cannot_load_its_hives() {
    use testkit::hive_writer::{DISK_GUID, DiskHives};
    let wine = Wine::new("offline-apply");
    let disk = wine.prefix.join("attached-disk");
    std::fs::create_dir_all(disk.join("Windows/System32/config")).unwrap();
    let files = DiskHives::new(1, DISK_GUID).files();
    for (rel, bytes) in &files {
        std::fs::write(disk.join(rel.replace('\\', "/")), bytes).unwrap();
    }
    std::os::unix::fs::symlink(&disk, wine.prefix.join("dosdevices/f:")).unwrap();
    wine.trust();
    let steps = [AllowedStep::SetRegistryValue {
        value: RegistryValue::DenyTsConnections,
        desired: RegistryData::Dword(0),
        expect: RegistryExpect::Equals(RegistryData::Dword(1)),
    }];
    let spec = PlanSpec {
        computer: "VM-APP-01".to_owned(),
        id: 40,
        seq: 1040,
        issued_at: Timestamp::now() - SignedDuration::from_mins(1),
        lifetime: SignedDuration::from_hours(1),
    };
    let p = testkit::plans::for_disk(plan(&steps, &spec), DISK_GUID, 1);
    let file = wine.c_file("offline-plan.txt", &format!("{}\r\n", token(&p, &key(1))));

    let r = wine.fixer(&["verify", "--offline", "F:", &file]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.flat().contains(r"offline: the disk at F:\: VM-APP-01"),
        "{r:?}"
    );
    let r = wine.fixer(&["apply", "--offline", "F:", "--dry-run", &file]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.flat().contains("DRY RUN: 1 step(s) would change"),
        "{r:?}"
    );
    // A plan for the disk is not one for this machine.
    let r = wine.fixer(&["verify", &file]);
    assert_eq!(r.code, 3, "{r:?}");

    let r = wine.fixer(&["apply", "--offline", "F:", "--yes", &file]);
    assert_eq!(r.code, 1, "{r:?}");
    let said = format!(
        "{} {}",
        r.flat(),
        r.stderr.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    assert!(
        said.contains("could not be loaded, so nothing was changed") && said.contains("1017"),
        "{said}"
    );
    for (rel, bytes) in files {
        assert_eq!(
            std::fs::read(disk.join(rel.replace('\\', "/"))).unwrap(),
            bytes
        );
    }
}
