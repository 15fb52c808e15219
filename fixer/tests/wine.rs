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
//! - see `records_what_wine_cannot_exercise` for services, certificates, ACL restore, event
//!   log export and the commit-confirm task.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use analyzer::plan::{AllowedStep, RegistryData, RegistryExpect, RegistryValue, TlsProtocol};
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

    fn fixer(&self, args: &[&str]) -> Ran {
        let mut cmd = self.command();
        cmd.arg(&self.exe).args(args);
        ran(cmd, &self.prefix)
    }

    /// Writes a file at `C:\<name>` and returns its Windows path.
    fn c_file(&self, name: &str, text: &str) -> String {
        std::fs::write(self.prefix.join("drive_c").join(name), text).unwrap();
        format!(r"C:\{name}")
    }

    fn reg_add(&self, key: &str, name: &str, kind: &str, data: &str) {
        let r = self.tool(&["reg", "add", key, "/v", name, "/t", kind, "/d", data, "/f"]);
        assert_eq!(r.code, 0, "reg add {key}\\{name}: {r:?}");
    }

    /// `reg query <key>` as value name → (type, data); `None` when the key does not exist.
    fn reg_query(&self, key: &str) -> Option<Values> {
        let r = self.tool(&["reg", "query", key]);
        if r.code != 0 {
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
    let spec = PlanSpec {
        computer: computer.to_owned(),
        id,
        seq: 1000 + u64::from(id),
        issued_at: Timestamp::now() - SignedDuration::from_mins(1),
        lifetime: SignedDuration::from_hours(1),
    };
    token(&plan(&registry_steps(), &spec), &key(1))
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
