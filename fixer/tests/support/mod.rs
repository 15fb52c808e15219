//! Shared by the fixer's integration tests: a broken VM, plans signed the way the page signs
//! them, and the `fixer` binary run against a simulated machine (`--simulate`).
//! Each test file uses part of it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use analyzer::envelope::{PAYLOAD_TYPE, SecretKey};
use analyzer::plan::{
    AclTarget, AllowedStep, CertificateExpect, Plan, PlanId, RdpService, RegistryExpect,
    RegistryValue, Sid, TlsProtocol,
};
use fixer::SimFile;
use fixer::host::sim::{Machine, SimHost};
use fixer::host::{CertInfo, KeyLink, RegValue};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
/// Plans, keys, tokens and envelopes: one builder for every crate's tests (each test file
/// uses a part of it).
#[allow(unused_imports)]
pub use testkit::plans::{
    NOW, PlanSpec, envelope_json, envelope_json_with_sig, key, now, plan, token,
};

pub const RDP_TCP: &str = r"SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
pub const TLS12: &str =
    r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server";
pub const TLS10: &str =
    r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.0";
pub const MACHINE_KEYS: &str = r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys";
pub const KEY_FILE: &str = r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_5e3a3f5c-1f0d-4b8e-9f1e-2b7c1d0e9a11";
pub const OTHER_KEY: &str = r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\9c2b7a1e0d3f4e5a6b7c8d9e0f1a2b3c_5e3a3f5c-1f0d-4b8e-9f1e-2b7c1d0e9a11";

/// A VM with Scenario 1 and 2 damage: the RDP key file owned by a user with no access for
/// NETWORK SERVICE, a custom certificate hash, TLS 1.2 server disabled, TLS 1.0 keys absent.
pub fn broken_vm() -> Machine {
    let mut m = Machine::new("WEB01", "web01.contoso.local", now());
    m.set_reg(
        RDP_TCP,
        "SSLCertificateSHA1Hash",
        RegValue::binary(vec![0xAB; 20]),
    );
    m.set_reg(RDP_TCP, "PortNumber", RegValue::dword(3389));
    m.set_reg(TLS12, "Enabled", RegValue::dword(0));
    m.set_reg(TLS12, "DisabledByDefault", RegValue::dword(1));
    m.add_key(r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols");
    m.security.insert(
        MACHINE_KEYS.into(),
        "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)".into(),
    );
    m.security.insert(
        KEY_FILE.into(),
        "O:S-1-5-21-1-2-3-1001D:PAI(A;;FA;;;S-1-5-21-1-2-3-1001)".into(),
    );
    m.security
        .insert(OTHER_KEY.into(), "O:SYD:PAI(A;;FA;;;SY)".into());
    m.certs.push(CertInfo {
        thumbprint: "3FA1C2D4E5F60718293A4B5C6D7E8F9012345678".into(),
        subject: "CN=web01.contoso.local".into(),
        not_after: Some("2027-05-01T00:00:00Z".parse().unwrap()),
        der: vec![0x30, 0x82, 0x01, 0x0a],
        key: Some(rdp_key_link()),
        blob: None,
    });
    m
}

/// Where RDP's self-signed certificate keeps its private key (a legacy CSP container).
pub fn rdp_key_link() -> KeyLink {
    KeyLink {
        container: "TSSecKeySet1".into(),
        provider: "Microsoft Enhanced Cryptographic Provider v1.0".into(),
        provider_type: 1,
        flags: 0x20,
        key_spec: 1,
    }
}

/// The fix for Scenarios 1 and 2, in the order the plan builder puts it.
pub fn s1_s2_steps() -> Vec<AllowedStep> {
    vec![
        AllowedStep::SaveAcl {
            target: AclTarget::MachineKeysFolder,
        },
        AllowedStep::TakeOwnership {
            target: AclTarget::RdpKeyFiles,
            owner: Sid::Administrators,
        },
        AllowedStep::GrantAccess {
            target: AclTarget::RdpKeyFiles,
            grants: testkit::plans::key_file_grants(),
        },
        AllowedStep::DeleteRegistryValue {
            value: RegistryValue::SslCertificateSha1Hash,
            expect: RegistryExpect::Any,
        },
        AllowedStep::EnableTlsServerProtocol {
            protocol: TlsProtocol::Tls12,
        },
        AllowedStep::EnableTlsServerProtocol {
            protocol: TlsProtocol::Tls10,
        },
        AllowedStep::ExportDeleteCertificates {
            store: analyzer::plan::CertStore::RemoteDesktop,
            expect: CertificateExpect::Any,
        },
        AllowedStep::RestartService {
            service: RdpService::TermService,
        },
        AllowedStep::RestartService {
            service: RdpService::SessionEnv,
        },
    ]
}

pub const TERMINAL_SERVER: &str = r"SYSTEM\CurrentControlSet\Control\Terminal Server";
pub const TS_POLICY: &str = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
/// A local account of the test machine, not yet in Remote Desktop Users.
pub const USER_SID: &str = "S-1-5-21-1-2-3-1001";

/// A VM that refuses RDP for the configuration causes of issue 15 (RDP-CAUSES.md 4, 11,
/// 13, 14, 15): RDP denied locally and by policy, the listener moved to another port and
/// bound to a missing adapter, NLA on, DHCP disabled, BFE and the firewall service stopped,
/// the user outside Remote Desktop Users, the group without its logon right, local accounts
/// denied RDP, the RDP firewall rule off.
pub fn config_broken_vm() -> Machine {
    use fixer::host::sim::SimService;
    use fixer::host::{ServiceState, ServiceStatus, StartType};
    let mut m = Machine::new("WEB01", "web01.contoso.local", now());
    m.set_reg(TERMINAL_SERVER, "fDenyTSConnections", RegValue::dword(1));
    m.set_reg(TS_POLICY, "fDenyTSConnections", RegValue::dword(1));
    m.set_reg(RDP_TCP, "PortNumber", RegValue::dword(3390));
    m.set_reg(RDP_TCP, "LanAdapter", RegValue::dword(2));
    m.set_reg(RDP_TCP, "UserAuthentication", RegValue::dword(1));
    let service = |start_type, state, dependents: &[&str], account: &str| SimService {
        status: ServiceStatus {
            state,
            start_type,
            delayed_auto_start: false,
        },
        exits_after_start: None,
        dependents: dependents.iter().map(|s| (*s).to_owned()).collect(),
        fails_to_start: false,
        account: account.into(),
    };
    let local_service = r"NT AUTHORITY\LocalService";
    m.services.insert(
        "nsi".into(),
        service(
            StartType::Auto,
            ServiceState::Running,
            &["Dhcp"],
            local_service,
        ),
    );
    m.services.insert(
        "dhcp".into(),
        service(
            StartType::Disabled,
            ServiceState::Stopped,
            &[],
            local_service,
        ),
    );
    m.services.insert(
        "bfe".into(),
        service(
            StartType::Auto,
            ServiceState::Stopped,
            &["MpsSvc"],
            local_service,
        ),
    );
    m.services.insert(
        "mpssvc".into(),
        service(StartType::Auto, ServiceState::Stopped, &[], local_service),
    );
    m.accounts.insert(USER_SID.into());
    m.rights.remove("S-1-5-32-555");
    m.rights.insert(
        "S-1-5-113".into(),
        ["SeDenyRemoteInteractiveLogonRight".to_owned()].into(),
    );
    m.firewall
        .insert("RemoteDesktop-UserMode-In-TCP".into(), false);
    m
}

/// The fix for [`config_broken_vm`], one step of every new kind, services started last in
/// the order they depend on each other.
pub fn config_steps() -> Vec<AllowedStep> {
    use analyzer::plan::{
        AccountSid, Expect, FirewallRule, LocalGroup, LogonRight, RegistryData, StartType,
    };
    let set = |value, data| AllowedStep::SetRegistryValue {
        value,
        desired: RegistryData::Dword(data),
        expect: RegistryExpect::Any,
    };
    vec![
        AllowedStep::SetRegistryValue {
            value: RegistryValue::DenyTsConnections,
            desired: RegistryData::Dword(0),
            expect: RegistryExpect::Equals(RegistryData::Dword(1)),
        },
        set(RegistryValue::PolicyDenyTsConnections, 0),
        set(RegistryValue::PortNumber, 3389),
        set(RegistryValue::LanAdapter, 0),
        set(RegistryValue::UserAuthentication, 0),
        AllowedStep::SetServiceStart {
            service: RdpService::Dhcp,
            desired: StartType::Automatic,
            expect: Expect::Equals(StartType::Disabled),
        },
        AllowedStep::AddGroupMember {
            group: LocalGroup::RemoteDesktopUsers,
            member: AccountSid::parse(USER_SID).unwrap(),
        },
        AllowedStep::GrantLogonRight {
            sid: AccountSid::parse("S-1-5-32-555").unwrap(),
            right: LogonRight::RemoteInteractive,
        },
        AllowedStep::RevokeLogonRight {
            sid: AccountSid::parse("S-1-5-113").unwrap(),
            right: LogonRight::DenyRemoteInteractive,
        },
        AllowedStep::EnableFirewallRule {
            rule: FirewallRule::UserModeInTcp,
        },
        AllowedStep::StartService {
            service: RdpService::Nsi,
        },
        AllowedStep::StartService {
            service: RdpService::Dhcp,
        },
        AllowedStep::StartService {
            service: RdpService::Bfe,
        },
        AllowedStep::StartService {
            service: RdpService::MpsSvc,
        },
    ]
}

/// The machine without the fixer's own folders (state directory, task folder): what a
/// rollback must restore exactly, certificates included.
pub fn restorable(m: &Machine) -> Machine {
    m.without_state()
}

/// A simulated machine whose trust store holds the test key (`key(1)`, label "ops").
pub fn trusted(m: Machine) -> SimHost {
    let host = SimHost::new(m);
    let mut store = fixer::trust::TrustStore::load(&host).unwrap();
    store
        .add(&key(1).public_key().to_string(), "ops", None, None, now())
        .unwrap();
    store.save(&host).unwrap();
    host
}

/// Steps ready for the executor, as `verify` hands them over (no envelope checks).
pub fn runnable(plan_id: &str, steps: &[AllowedStep]) -> fixer::executor::Runnable {
    use fixer::executor::{PlannedStep, Runnable};
    Runnable {
        begin: fixer::journal::Begin {
            plan_id: plan_id.into(),
            key_fingerprint: "TEST".into(),
            key_label: "test".into(),
            computer: "WEB01".into(),
            seq: 1,
            at: now(),
            steps: steps.iter().map(|s| s.summary()).collect(),
            confirm_by: None,
            offline: None,
        },
        // The plan the journal keeps: a rollback compares each backup with its steps.
        envelope: envelope_json(
            PAYLOAD_TYPE,
            serde_json::to_string(&plan(steps, &PlanSpec::default()))
                .unwrap()
                .as_bytes(),
            &key(1),
        )
        .into_bytes(),
        steps: steps.iter().map(PlannedStep::new).collect(),
    }
}

pub fn plan_id(id: u8) -> String {
    PlanId::from_random([id; 16]).to_string()
}

/// A plan's signed payload with a change made to its JSON before signing.
pub fn signed_edited(plan: &Plan, signer: &SecretKey, edit: impl FnOnce(&mut String)) -> String {
    let mut payload = serde_json::to_string(plan).unwrap();
    edit(&mut payload);
    envelope_json(PAYLOAD_TYPE, payload.as_bytes(), signer)
}

/// The `fixer` binary on a simulated machine kept in a file.
pub struct Sim {
    pub dir: PathBuf,
    pub file: PathBuf,
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", self.stdout, self.stderr))
    }
}

impl Sim {
    /// `name` must be unique per test (tests run in parallel).
    pub fn new(name: &str, machine: Machine) -> Sim {
        let dir = std::env::temp_dir().join(format!("fixer-sim-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("machine.json");
        SimFile::save(&file, &SimHost::new(machine)).unwrap();
        Sim { dir, file }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixer"));
        cmd.arg("--simulate").arg(&self.file).args(args);
        run(cmd, stdin)
    }

    /// Writes `text` to a file beside the machine and returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    pub fn machine(&self) -> Machine {
        SimFile::load(&self.file).unwrap().machine()
    }

    pub fn edit(&self, f: impl FnOnce(&mut Machine)) {
        let mut m = self.machine();
        f(&mut m);
        SimFile::save(&self.file, &SimHost::new(m)).unwrap();
    }

    /// The next run meets this fault (`fixer::host::sim::Fault` as JSON).
    pub fn inject(&self, fault: serde_json::Value) {
        let mut file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&self.file).unwrap()).unwrap();
        file["fault"] = fault;
        std::fs::write(&self.file, file.to_string()).unwrap();
    }

    /// Enrols `signer`'s public key as "ops".
    pub fn trust(&self, signer: &SecretKey) {
        let r = self.run(&[
            "trust",
            "add",
            &signer.public_key().to_string(),
            "--label",
            "ops",
        ]);
        assert_eq!(r.code, 0, "{r:?}");
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// The `fixer` binary with `args` on this (real) machine, `stdin` fed to it if given.
pub fn fixer(args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixer"));
    cmd.args(args);
    run(cmd, stdin)
}

/// Runs `cmd` to the end with `stdin` (or nothing) as its input.
fn run(mut cmd: Command, stdin: Option<&str>) -> Run {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}
