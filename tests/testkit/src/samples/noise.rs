//! Ordinary System-log traffic of a healthy Azure VM, as events: what the scenario events are
//! buried in. Modelled on the real logs of `tests/fixtures/corpus` (providers, IDs, event
//! data names), plus the near-misses a rule must ignore: Group Policy 1058, client-side
//! Schannel 36871, the benign RCM 1056 and the provisioning-time rename (EventLog 6011).

use super::Rng;
use analyzer::{Event, Level, Location, Origin};
use jiff::Timestamp;

/// One kind of ordinary event: how often it occurs and how to make one.
struct Kind {
    weight: u32,
    make: fn(&mut Rng) -> Draft,
}

/// An event before its time, record id and computer are known.
pub(crate) struct Draft {
    pub provider: &'static str,
    pub id: u16,
    pub qualifiers: Option<u16>,
    pub level: Level,
    pub channel: &'static str,
    pub user: Option<&'static str>,
    pub data: Vec<(String, String)>,
    pub message: String,
}

impl Draft {
    pub(crate) fn into_event(
        self,
        time: Timestamp,
        record: u64,
        computer: &str,
        input: &str,
    ) -> Event {
        Event {
            provider: self.provider.to_string(),
            event_id: self.id,
            qualifiers: self.qualifiers,
            level: Some(self.level),
            time_created: Some(time),
            time_is_local: false,
            record_id: Some(record),
            channel: Some(self.channel.to_string()),
            computer: Some(computer.to_string()),
            user_sid: self.user.map(str::to_string),
            user_name: None,
            data: self.data,
            message: Some(self.message),
            origin: Origin {
                input: input.to_string(),
                location: Location::Record {
                    record_id: record,
                    chunk: 0,
                },
            },
        }
    }
}

fn named(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Unnamed classic data (`<Data>` without a name): `Param1`, `Param2`, …
fn positional(values: &[&str]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("Param{}", i + 1), v.to_string()))
        .collect()
}

/// A service key name as classic events carry it in `<Binary>`: UTF-16LE, NUL-terminated, hex.
pub(crate) fn utf16_hex(text: &str) -> String {
    text.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .map(|b| format!("{b:02X}"))
        .collect()
}

const SERVICES: &[(&str, &str)] = &[
    ("BITS", "Background Intelligent Transfer Service"),
    ("wuauserv", "Windows Update"),
    ("TrustedInstaller", "Windows Modules Installer"),
    (
        "WinHttpAutoProxySvc",
        "WinHTTP Web Proxy Auto-Discovery Service",
    ),
    ("sppsvc", "Software Protection"),
    ("WindowsAzureGuestAgent", "WindowsAzureGuestAgent"),
    ("RdAgent", "RdAgent"),
    ("DsmSvc", "Device Setup Manager"),
    ("UsoSvc", "Update Orchestrator Service"),
    ("gpsvc", "Group Policy Client"),
];

fn scm_7036(rng: &mut Rng) -> Draft {
    let (key, display) = *rng.pick(SERVICES);
    let state = if rng.below(2) == 0 {
        "running"
    } else {
        "stopped"
    };
    Draft {
        provider: "Service Control Manager",
        id: 7036,
        qualifiers: Some(16384),
        level: Level::Information,
        channel: "System",
        user: None,
        data: named(&[
            ("param1", display),
            ("param2", state),
            ("Binary", &utf16_hex(key)),
        ]),
        message: format!("The {display} service entered the {state} state."),
    }
}

fn scm_7040(rng: &mut Rng) -> Draft {
    let (key, display) = *rng.pick(SERVICES);
    Draft {
        provider: "Service Control Manager",
        id: 7040,
        qualifiers: Some(16384),
        level: Level::Information,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[
            ("param1", display),
            ("param2", "demand start"),
            ("param3", "auto start"),
            ("param4", key),
        ]),
        message: format!(
            "The start type of the {display} service was changed from demand start to auto start."
        ),
    }
}

fn kernel_general_16(rng: &mut Rng) -> Draft {
    let hives = [
        r"\SystemRoot\System32\config\DRIVERS",
        r"\??\C:\Windows\ServiceProfiles\NetworkService\NTUSER.DAT",
        r"\??\C:\Windows\AppCompat\Programs\Amcache.hve",
    ];
    let hive = *rng.pick(&hives);
    let keys = rng.below(40).to_string();
    Draft {
        provider: "Microsoft-Windows-Kernel-General",
        id: 16,
        qualifiers: None,
        level: Level::Information,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[
            ("HiveNameLength", &hive.len().to_string()),
            ("HiveName", hive),
            ("KeysUpdated", &keys),
            ("DirtyPages", "1"),
        ]),
        message: format!(
            "The access history in hive {hive} was cleared updating {keys} keys and creating 1 modified pages."
        ),
    }
}

fn dns_1014(rng: &mut Rng) -> Draft {
    let names = [
        "settings-win.data.microsoft.com",
        "wpad.reddog.microsoft.com",
        "time.windows.com",
    ];
    let name = *rng.pick(&names);
    Draft {
        provider: "Microsoft-Windows-DNS-Client",
        id: 1014,
        qualifiers: None,
        level: Level::Warning,
        channel: "System",
        user: Some("S-1-5-20"),
        data: named(&[("QueryName", name), ("AddressLength", "128")]),
        message: format!(
            "Name resolution for the name {name} timed out after none of the configured DNS servers responded."
        ),
    }
}

fn time_service(rng: &mut Rng) -> Draft {
    let id = if rng.below(2) == 0 { 35 } else { 37 };
    Draft {
        provider: "Microsoft-Windows-Time-Service",
        id,
        qualifiers: None,
        level: Level::Information,
        channel: "System",
        user: Some("S-1-5-19"),
        data: named(&[(
            "TimeSource",
            "time.windows.com,0x8 (ntp.m|0x8|0.0.0.0:123->20.101.57.9:123)",
        )]),
        message: if id == 35 {
            "The time service is now synchronizing the system time with the time source time.windows.com,0x8.".to_string()
        } else {
            "The time provider NtpClient is currently receiving valid time data from time.windows.com,0x8.".to_string()
        },
    }
}

fn windows_update(rng: &mut Rng) -> Draft {
    let id = *rng.pick(&[19u16, 43, 44]);
    let title = "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.409.1.0)";
    Draft {
        provider: "Microsoft-Windows-WindowsUpdateClient",
        id,
        qualifiers: None,
        level: Level::Information,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[
            ("updateTitle", title),
            ("updateGuid", "{1c1f7b7e-8a5e-4b2c-9f0a-3f6d2d5e9a11}"),
            ("updateRevisionNumber", "200"),
        ]),
        message: match id {
            19 => format!(
                "Installation Successful: Windows successfully installed the following update: {title}"
            ),
            43 => format!(
                "Installation Started: Windows has started installing the following update: {title}"
            ),
            _ => "Windows Update started downloading an update.".to_string(),
        },
    }
}

fn dcom_10016(_: &mut Rng) -> Draft {
    Draft {
        provider: "Microsoft-Windows-DistributedCOM",
        id: 10016,
        qualifiers: Some(0),
        level: Level::Warning,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[("param1", "application-specific"), ("param2", "Local"), ("param3", "Activation"), ("param4", "{2593F8B9-4EAF-457C-B68A-50F6B8EA6B54}")]),
        message: "The application-specific permission settings do not grant Local Activation permission for the COM Server application with CLSID {2593F8B9-4EAF-457C-B68A-50F6B8EA6B54} to the user NT AUTHORITY\\SYSTEM SID (S-1-5-18).".to_string(),
    }
}

fn group_policy_ok(rng: &mut Rng) -> Draft {
    let id = *rng.pick(&[1500u16, 1501, 1502]);
    Draft {
        provider: "Microsoft-Windows-GroupPolicy",
        id,
        qualifiers: None,
        level: Level::Information,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[("SupportInfo1", "1"), ("SupportInfo2", "4213"), ("ProcessingMode", "0"), ("ProcessingTimeInMilliseconds", "312")]),
        message: "The Group Policy settings for the computer were processed successfully. There were no changes detected since the last successful processing of Group Policy.".to_string(),
    }
}

/// Near miss: Group Policy's own 1058 (cannot read gpt.ini), same ID as Scenario 1's RCM event.
fn group_policy_1058(_: &mut Rng) -> Draft {
    Draft {
        provider: "Microsoft-Windows-GroupPolicy",
        id: 1058,
        qualifiers: None,
        level: Level::Error,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[("SupportInfo1", "1"), ("SupportInfo2", "5012"), ("ProcessingMode", "0"), ("ErrorCode", "53"), ("ErrorDescription", "The network path was not found."), ("DCName", "\\\\dc01.contoso.local"), ("GPOCNName", "cn={31B2F340-016D-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=contoso,DC=local"), ("FilePath", "\\\\contoso.local\\SysVol\\contoso.local\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}\\gpt.ini")]),
        message: "The processing of Group Policy failed. Windows attempted to read the file \\\\contoso.local\\SysVol\\contoso.local\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}\\gpt.ini from a domain controller and was not successful.".to_string(),
    }
}

/// Near miss: client-side TLS failures (an outdated agent talking TLS 1.0) log 36871 with
/// state 10013 too, with Type = client.
fn schannel_client_36871(_: &mut Rng) -> Draft {
    Draft {
        provider: "Schannel",
        id: 36871,
        qualifiers: None,
        level: Level::Error,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[("Type", "client"), ("ErrorState", "10013")]),
        message: "A fatal error occurred while creating a TLS client credential. The internal error state is 10013.".to_string(),
    }
}

fn winlogon(rng: &mut Rng) -> Draft {
    let id = if rng.below(2) == 0 { 7001 } else { 7002 };
    Draft {
        provider: "Microsoft-Windows-Winlogon",
        id,
        qualifiers: None,
        level: Level::Information,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[
            ("TSId", "2"),
            ("UserSid", "S-1-5-21-3623811015-3361044348-30300820-500"),
        ]),
        message: if id == 7001 {
            "User Logon Notification for Customer Experience Improvement Program".to_string()
        } else {
            "User Logoff Notification for Customer Experience Improvement Program".to_string()
        },
    }
}

fn eventlog_6013(rng: &mut Rng) -> Draft {
    let uptime = (86_400 + rng.below(400_000)).to_string();
    Draft {
        provider: "EventLog",
        id: 6013,
        qualifiers: Some(32768),
        level: Level::Information,
        channel: "System",
        user: None,
        data: positional(&[
            "",
            "",
            "",
            "",
            &uptime,
            "60",
            "0 Coordinated Universal Time",
        ]),
        message: format!("The system uptime is {uptime} seconds."),
    }
}

fn processor_power(rng: &mut Rng) -> Draft {
    let cpu = rng.below(2).to_string();
    Draft {
        provider: "Microsoft-Windows-Kernel-Processor-Power",
        id: 55,
        qualifiers: None,
        level: Level::Information,
        channel: "System",
        user: Some("S-1-5-18"),
        data: named(&[
            ("Group", "0"),
            ("Number", &cpu),
            ("IdleStateCount", "1"),
            ("NominalFrequency", "2594"),
        ]),
        message: format!(
            "Processor {cpu} in group 0 exposes the following power management capabilities: Idle state type: ACPI Idle (C) States (1 state(s))"
        ),
    }
}

const KINDS: &[Kind] = &[
    Kind {
        weight: 30,
        make: scm_7036,
    },
    Kind {
        weight: 3,
        make: scm_7040,
    },
    Kind {
        weight: 18,
        make: kernel_general_16,
    },
    Kind {
        weight: 8,
        make: dns_1014,
    },
    Kind {
        weight: 6,
        make: time_service,
    },
    Kind {
        weight: 10,
        make: windows_update,
    },
    Kind {
        weight: 6,
        make: dcom_10016,
    },
    Kind {
        weight: 5,
        make: group_policy_ok,
    },
    Kind {
        weight: 1,
        make: group_policy_1058,
    },
    Kind {
        weight: 2,
        make: schannel_client_36871,
    },
    Kind {
        weight: 4,
        make: winlogon,
    },
    Kind {
        weight: 2,
        make: eventlog_6013,
    },
    Kind {
        weight: 5,
        make: processor_power,
    },
];

/// One ordinary event, drawn by weight.
pub(crate) fn ordinary(rng: &mut Rng) -> Draft {
    let total: u32 = KINDS.iter().map(|k| k.weight).sum();
    let mut n = rng.below(total);
    for kind in KINDS {
        if n < kind.weight {
            return (kind.make)(rng);
        }
        n -= kind.weight;
    }
    scm_7036(rng)
}

/// The events of the VM's first boot: the provisioning rename and Remote Desktop making its
/// self-signed certificate. Both are benign and must not raise a finding.
pub(crate) fn provisioning(old_name: &str, new_name: &str) -> Vec<Draft> {
    vec![
        Draft {
            provider: "EventLog",
            id: 6011,
            qualifiers: Some(32768),
            level: Level::Information,
            channel: "System",
            user: None,
            data: positional(&[old_name, new_name]),
            message: format!(
                "The NetBIOS name and DNS host name of this machine have been changed from {old_name} to {new_name}."
            ),
        },
        Draft {
            provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            id: 1056,
            qualifiers: Some(49152),
            level: Level::Information,
            channel: "System",
            user: None,
            data: positional(&[new_name, "59EFF2E3B509C83137E81085E02A1AC63A7E61AA"]),
            message: format!(
                "A new self signed certificate to be used for RD Session Host Server authentication on TLS connections has been created. The name on this certificate is {new_name}. The SHA1 hash of the certificate is in the event data."
            ),
        },
    ]
}

/// Event Viewer's English name of a level.
pub(crate) fn level_name(level: Level) -> &'static str {
    match level {
        Level::Critical => "Critical",
        Level::Error => "Error",
        Level::Warning => "Warning",
        Level::Verbose => "Verbose",
        Level::Information | Level::LogAlways | Level::Other(_) => "Information",
    }
}
