//! Registry hive (`regf`) fixtures: Debian's hivex edits hives but cannot create one. The
//! writer itself is the analyzer's ([`analyzer::input::hive::tree`]: the fixer's simulated
//! disk writes hives back with it too); this module holds the fixtures built with it.
//!
//! The output reads back with `hivexsh` (checked by `analyzer/tests/hive.rs`).

// Test support writing into buffers it sized itself, never parsing input.
#![allow(clippy::indexing_slicing)]

pub use analyzer::input::hive::regf::{
    REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ,
};
pub use analyzer::input::hive::tree::{
    FILETIME, HiveWriter, KeySpec, Written, checksum, lh_hash, multi_sz, reseal, sz,
};

const BIN: usize = 4096;

/// What `hivexsh` prints for `script` run on the hive at `path`; `None` when hivexsh is not
/// installed (Debian's libhivex-bin).
///
/// # Panics
/// When hivexsh cannot be run or fails on the hive: the test's failure.
#[allow(clippy::panic)]
pub fn hivexsh(path: &std::path::Path, script: &str) -> Option<String> {
    use std::process::{Command, Stdio};
    // Commands on standard input (not `-f /dev/stdin`: some sandboxes have no /dev/stdin).
    let out = Command::new("hivexsh")
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(script.as_bytes())?;
            }
            child.wait_with_output()
        });
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("hivexsh: {e}"),
        Ok(o) => {
            assert!(
                o.status.success(),
                "hivexsh failed on {}: {}",
                path.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
    }
}

/// `bins` as the hive bins of a hive: behind the base block of [`system`]'s hive, with the
/// bins' size set to `bins.len()` and the checksum written again (the fuzz target's way
/// into the cells).
pub fn behind_base_block(bins: &[u8]) -> Vec<u8> {
    static BLOCK: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let block = BLOCK.get_or_init(|| system(1, |_| {}).write().bytes[..BIN].to_vec());
    let mut out = block.clone();
    out[40..44].copy_from_slice(&u32::try_from(bins.len()).unwrap_or(u32::MAX).to_le_bytes());
    reseal(&mut out);
    out.extend_from_slice(bins);
    out
}

/// The fixture hives of `tests/fixtures/hives/` (`analyzer/tests/hive.rs` checks the
/// committed files are these bytes): (file name, bytes).
pub fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    fixture_writers()
        .into_iter()
        .map(|(name, w)| (name, w.write().bytes))
        .collect()
}

/// The writers of [`fixtures`], for tests that compare a hive with what was written.
pub fn fixture_writers() -> Vec<(&'static str, HiveWriter)> {
    let healthy = system(1, |_| {});
    let mut dirty = healthy.clone();
    dirty.primary_sequence = 9;
    dirty.secondary_sequence = 8;
    vec![
        ("healthy/SYSTEM", healthy),
        ("healthy/SOFTWARE", software(|_| {})),
        (
            "rdp-disabled-policy/SOFTWARE",
            software(|s| {
                s.key(r"Policies\Microsoft\Windows NT\Terminal Services")
                    .dword("fDenyTSConnections", 1);
            }),
        ),
        // Select\Current names ControlSet002, whose listener moved to 3390.
        ("port-changed/SYSTEM", system(2, |_| {})),
        (
            "termservice-disabled/SYSTEM",
            system(1, |cs| {
                cs.key(r"Services\TermService").dword("Start", 4);
            }),
        ),
        ("dirty/SYSTEM", dirty),
    ]
}

/// Damaged SYSTEM hives of `tests/fixtures/hives/damaged/`: cut in its second hive bin,
/// with a wrong base block checksum, and with the `RDP-Tcp` key's value list pointing past
/// the last hive bin.
pub fn damaged() -> Vec<(&'static str, Vec<u8>)> {
    let healthy = system(1, |_| {}).write();
    let truncated = healthy.bytes[..BIN + BIN + 1000].to_vec();
    let mut checksum = healthy.bytes.clone();
    checksum[508] ^= 0x55;
    let mut outside = healthy.bytes.clone();
    let nk = healthy.keys[r"ControlSet001\Control\Terminal Server\WinStations\RDP-Tcp"] as usize;
    // The value list's offset: the nk's payload starts 4 bytes into its cell, the field
    // 40 bytes into the payload.
    let at = BIN + nk + 4 + 40;
    outside[at..at + 4].copy_from_slice(&0x00F0_0000u32.to_le_bytes());
    vec![
        ("damaged/truncated-SYSTEM", truncated),
        ("damaged/bad-checksum-SYSTEM", checksum),
        ("damaged/cell-outside-bin-SYSTEM", outside),
    ]
}

/// A Windows Server 2022 SYSTEM hive of computer `vm-app-01` with two control sets:
/// ControlSet001 as an Azure image has it, ControlSet002 the same with `PortNumber` 3390;
/// `Select\Current` = `current`. `edit` changes the control set `current` names.
pub fn system(current: u32, edit: impl Fn(&mut KeySpec)) -> HiveWriter {
    let mut h = HiveWriter::new(r"\REGISTRY\MACHINE\SYSTEM");
    h.root.name = "CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}".to_owned();
    h.root
        .key("Select")
        .dword("Current", current)
        .dword("Default", current)
        .dword("Failed", 0)
        .dword("LastKnownGood", current);
    h.root
        .key("Setup")
        .dword("SystemSetupInProgress", 0)
        .dword("OOBEInProgress", 0);
    for n in [1u32, 2] {
        let cs = h.root.key(&format!("ControlSet{n:03}"));
        control_set(cs);
        if n == 2 {
            cs.key(r"Control\Terminal Server\WinStations\RDP-Tcp")
                .dword("PortNumber", 3390);
        }
        if n == current {
            edit(cs);
        }
    }
    h
}

fn control_set(cs: &mut KeySpec) {
    cs.key(r"Control\ComputerName\ComputerName")
        .string("ComputerName", "VM-APP-01");
    cs.key(r"Control\Terminal Server")
        .dword("fDenyTSConnections", 0)
        .dword("TSServerDrainMode", 0)
        .dword("fSingleSessionPerUser", 1);
    cs.key(r"Control\Terminal Server\WinStations\RDP-Tcp")
        .dword("PortNumber", 3389)
        .dword("SecurityLayer", 2)
        .dword("UserAuthentication", 1)
        .dword("MinEncryptionLevel", 2)
        .dword("fEnableWinStation", 1)
        .dword("fLogonDisabled", 0)
        .dword("LanAdapter", 0)
        .dword("MaxInstanceCount", u32::MAX)
        .dword("fAllowSecProtocolNegotiation", 1);
    cs.key(r"Control\Lsa").dword("LmCompatibilityLevel", 5);
    cs.key(r"Control\Lsa\FIPSAlgorithmPolicy")
        .dword("Enabled", 0);
    cs.key(r"Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server")
        .dword("Enabled", 1)
        .dword("DisabledByDefault", 0);
    let services: [(&str, u32, u32, &str); 8] = [
        ("TermService", 3, 32, r"NT Authority\NetworkService"),
        ("UmRdpService", 3, 32, "localSystem"),
        ("SessionEnv", 3, 32, "localSystem"),
        ("Dhcp", 2, 32, r"NT Authority\LocalService"),
        ("NSI", 2, 32, r"NT Authority\LocalService"),
        ("Netlogon", 3, 32, "LocalSystem"),
        ("BFE", 2, 32, r"NT AUTHORITY\LocalService"),
        ("MpsSvc", 2, 32, r"NT Authority\LocalService"),
    ];
    for (name, start, kind, account) in services {
        cs.key(&format!(r"Services\{name}"))
            .dword("Start", start)
            .dword("Type", kind)
            .set("ObjectName", REG_SZ, sz(account))
            .set(
                "ImagePath",
                REG_EXPAND_SZ,
                sz(r"%SystemRoot%\System32\svchost.exe -k NetworkService"),
            );
    }
    cs.key(r"Services\TermService")
        .set("DependOnService", REG_MULTI_SZ, multi_sz(&["RPCSS"]));
}

/// The `MachineGuid` of the fixtures' SOFTWARE hives.
pub const MACHINE_GUID: &str = "5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e41";

/// A Windows Server 2022 SOFTWARE hive: its version, its MachineGuid, the Remote Desktop store with the
/// self-signed certificate, no Terminal Services policy; `edit` changes it.
pub fn software(edit: impl Fn(&mut KeySpec)) -> HiveWriter {
    let mut h = HiveWriter::new(r"\REGISTRY\MACHINE\SOFTWARE");
    h.root
        .key(r"Microsoft\Windows NT\CurrentVersion")
        .string("ProductName", "Windows Server 2022 Datacenter")
        .string("CurrentBuild", "20348")
        .string("CurrentBuildNumber", "20348")
        .dword("CurrentMajorVersionNumber", 10)
        .set("InstallTime", REG_QWORD, FILETIME.to_le_bytes().to_vec());
    h.root
        .key(r"Microsoft\Cryptography")
        .string("MachineGuid", MACHINE_GUID);
    h.root
        .key(r"Microsoft\SystemCertificates\Remote Desktop\Certificates\3A8F2C4B5D6E7F8091A2B3C4D5E6F708192A3B4C")
        .set("Blob", REG_BINARY, vec![0x30; 700]);
    h.root
        .key(r"Policies\Microsoft\Windows NT\Terminal Services");
    edit(&mut h.root);
    h
}

/// The `MachineGuid` of the attached OS disk in the fixer's offline tests (their broken
/// VM's; the fixtures' SOFTWARE hives hold [`MACHINE_GUID`]).
pub const DISK_GUID: &str = "9b1f3c2a-4d5e-4f60-8a7b-0c1d2e3f4a5b";

/// The two hives of an OS disk attached to a rescue VM, as the fixer's offline tests build
/// it: [`system`] with `Select\Current` = `current` and RDP denied in that control set
/// (`fDenyTSConnections` 1), and [`software`] holding `guid` as its MachineGuid; each then
/// changed with [`DiskHives::edit_system`] / [`DiskHives::edit_software`].
#[derive(Debug, Clone)]
pub struct DiskHives {
    pub system: HiveWriter,
    pub software: HiveWriter,
    current: u32,
}

impl DiskHives {
    pub fn new(current: u32, guid: &str) -> DiskHives {
        DiskHives {
            system: system(current, |cs| {
                cs.key(r"Control\Terminal Server")
                    .dword("fDenyTSConnections", 1);
            }),
            software: software(|s| {
                s.key(r"Microsoft\Cryptography").string("MachineGuid", guid);
            }),
            current,
        }
    }

    /// `edit` on the SYSTEM hive's control set `current` (`ControlSet00N`).
    #[must_use]
    pub fn edit_system(mut self, edit: impl FnOnce(&mut KeySpec)) -> DiskHives {
        edit(
            self.system
                .root
                .key(&format!("ControlSet{:03}", self.current)),
        );
        self
    }

    /// `edit` on the SOFTWARE hive's root.
    #[must_use]
    pub fn edit_software(mut self, edit: impl FnOnce(&mut KeySpec)) -> DiskHives {
        edit(&mut self.software.root);
        self
    }

    /// Both written, each with where a Windows disk keeps it below its root
    /// (`Windows\System32\config\…`, `\`-separated as the fixer names them).
    pub fn files(&self) -> [(&'static str, Vec<u8>); 2] {
        [
            (r"Windows\System32\config\SYSTEM", self.system.write().bytes),
            (
                r"Windows\System32\config\SOFTWARE",
                self.software.write().bytes,
            ),
        ]
    }
}
