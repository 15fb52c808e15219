//! The simulated file model: listing, reparse points, hard links, swaps between calls.

use super::*;

#[test]
fn children_are_direct_only_and_junctions_and_hard_links_are_skipped() {
    let mut m = Machine::new("A", "a", Timestamp::UNIX_EPOCH);
    let keys = r"C:\K";
    m.security.insert(keys.into(), "O:SYD:P(A;;FA;;;SY)".into());
    m.security
        .insert(format!(r"{keys}\a"), "O:SYD:(A;;FA;;;SY)".into());
    m.security
        .insert(format!(r"{keys}\sub\b"), "O:SYD:(A;;FA;;;SY)".into());
    m.reparse_points
        .insert(format!(r"{keys}\j"), r"C:\Windows".into());
    m.security
        .insert(format!(r"{keys}\h"), "O:SYD:(A;;FA;;;SY)".into());
    m.links.insert(format!(r"{keys}\h"), 2);
    let host = SimHost::new(m);
    let folder = host.fs_object(Path::new(keys)).unwrap();
    let listing = host.fs_children(&folder).unwrap();
    let names: Vec<&str> = listing.objects.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(names, [r"C:\K\a", r"C:\K\sub"]);
    assert!(listing.objects[1].dir);
    let skipped: Vec<&str> = listing.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, [r"C:\K\h", r"C:\K\j"]);
    // Through the junction's parent chain: refused, not followed.
    assert!(matches!(
        host.fs_object(Path::new(r"C:\K\j\x")),
        Err(HostError::Refused { .. })
    ));
}

#[test]
fn a_write_to_a_swapped_file_or_a_changed_descriptor_is_refused() {
    let mut m = Machine::new("A", "a", Timestamp::UNIX_EPOCH);
    m.security
        .insert(r"C:\f".into(), "O:BUD:(A;;FA;;;BU)".into());
    let host = SimHost::new(m);
    let obj = host.fs_object(Path::new(r"C:\f")).unwrap();
    let sd = host.sd_read(&obj).unwrap();
    let owner = SdWrite {
        owner: Some("S-1-5-32-544".into()),
        dacl: None,
    };
    assert!(matches!(
        host.sd_write(&obj, "O:SYD:(A;;FA;;;SY)", &owner),
        Err(HostError::Refused { .. })
    ));
    host.edit(|m| {
        m.file_ids.insert(r"C:\f".into(), 7);
    });
    assert!(matches!(
        host.sd_write(&obj, &sd, &owner),
        Err(HostError::Refused { .. })
    ));
    assert_eq!(host.machine().security[r"C:\f"], "O:BUD:(A;;FA;;;BU)");
}

/// The reads the configuration snapshot makes, and what the simulated Windows refuses:
/// access denied (error 5), an unknown group (2220), a member already there (1378) or not
/// there (1377), an account it cannot resolve (1387), a right it does not know (1313).
/// A dry-run sees its own changes and passes the rest through.
#[test]
fn accounts_rights_firewall_and_snapshot_reads_fail_as_windows_does() {
    let code = |r: HostResult<()>| match r {
        Err(HostError::Os { code, .. }) => code,
        other => panic!("{other:?}"),
    };
    let mut m = Machine::new("A", "a", Timestamp::UNIX_EPOCH);
    m.accounts.insert("S-1-5-21-1-2-3-1001".into());
    let host = SimHost::new(m);
    let rdu = "S-1-5-32-555";
    assert_eq!(
        code(host.group_add_member("S-1-5-32-999", "S-1-5-21-1-2-3-1001")),
        2220
    );
    assert_eq!(
        code(host.group_add_member(rdu, "S-1-5-21-9-9-9-1001")),
        1387
    );
    host.group_add_member(rdu, "S-1-5-21-1-2-3-1001").unwrap();
    assert_eq!(
        code(host.group_add_member(rdu, "S-1-5-21-1-2-3-1001")),
        1378
    );
    host.group_remove_member(rdu, "S-1-5-21-1-2-3-1001")
        .unwrap();
    assert_eq!(
        code(host.group_remove_member(rdu, "S-1-5-21-1-2-3-1001")),
        1377
    );
    assert_eq!(code(host.account_rights_add(rdu, "SeNoSuchRight")), 1313);
    assert_eq!(
        host.right_holders("SeRemoteInteractiveLogonRight").unwrap(),
        ["S-1-5-32-544", "S-1-5-32-555"]
    );
    assert_eq!(
        host.port_listener(3389).unwrap().unwrap().services,
        ["TermService"]
    );
    assert_eq!(host.port_listener(3390).unwrap(), None);
    assert_eq!(host.system_drive_space().unwrap().drive, "C:");
    assert_eq!(host.firewall_profiles().unwrap().len(), 3);

    let before = host.change_count();
    let dry = overlay::DryRun::new(&host);
    dry.account_rights_remove(rdu, "SeRemoteInteractiveLogonRight")
        .unwrap();
    dry.firewall_rule_set_enabled("RemoteDesktop-Shadow-In-TCP", true)
        .unwrap();
    assert_eq!(
        dry.right_holders("SeRemoteInteractiveLogonRight").unwrap(),
        ["S-1-5-32-544"]
    );
    assert_eq!(
        dry.firewall_rule_enabled("RemoteDesktop-Shadow-In-TCP")
            .unwrap(),
        Some(true)
    );
    assert!(matches!(
        dry.firewall_rule_set_enabled("No-Such-Rule", true),
        Err(HostError::NotFound { .. })
    ));
    assert_eq!(host.change_count(), before, "the dry-run wrote through");

    host.edit(|m| {
        m.access_denied
            .extend(["group".into(), "lsa".into(), "firewall".into()]);
        m.disk = None;
    });
    assert_eq!(code(host.group_members(rdu).map(drop)), 5);
    assert_eq!(code(host.account_rights(rdu).map(drop)), 5);
    assert_eq!(code(host.firewall_profiles().map(drop)), 5);
    assert_eq!(
        code(
            host.firewall_rule_enabled("RemoteDesktop-UserMode-In-TCP")
                .map(drop)
        ),
        5
    );
    assert!(matches!(
        host.system_drive_space(),
        Err(HostError::NotFound { .. })
    ));
}

#[test]
fn a_loaded_hive_is_changed_under_its_mount_and_written_back_on_unload_only_if_changed() {
    use analyzer::input::hive::tree::read_tree;
    let hive = r"F:\Windows\System32\config\SYSTEM";
    let original = testkit::hive_writer::system(1, |_| {}).write().bytes;
    let mut m = Machine::new("A", "a", Timestamp::UNIX_EPOCH);
    m.disk_files.insert(hive.into(), DiskFile(original.clone()));
    let host = SimHost::new(m);
    host.hive_load("rdpfix-1-SYSTEM", Path::new(hive)).unwrap();
    assert!(matches!(
        host.hive_load("RDPFIX-1-system", Path::new(hive)),
        Err(HostError::Exists { .. })
    ));
    let rdp = r"rdpfix-1-SYSTEM\ControlSet001\Control\Terminal Server\WinStations\RDP-Tcp";
    assert_eq!(
        host.reg_get(rdp, "portnumber").unwrap(),
        Some(RegValue::dword(3389))
    );
    // Unchanged: the file is left as it was.
    host.hive_unload("rdpfix-1-SYSTEM").unwrap();
    assert_eq!(host.machine().disk_files[hive].0, original);
    assert!(matches!(
        host.hive_unload("rdpfix-1-SYSTEM"),
        Err(HostError::NotFound { .. })
    ));
    host.hive_load("rdpfix-1-SYSTEM", Path::new(hive)).unwrap();
    host.reg_set(rdp, "PortNumber", &RegValue::dword(3390))
        .unwrap();
    host.reg_set(&format!(r"{rdp}\New"), "x", &RegValue::dword(1))
        .unwrap();
    host.reg_delete_value(&format!(r"{rdp}\New"), "X").unwrap();
    host.reg_delete_empty_key(&format!(r"{rdp}\new")).unwrap();
    assert!(!host.reg_key_exists(&format!(r"{rdp}\New")).unwrap());
    // The registry outside the mount is another thing.
    assert_eq!(host.reg_get(r"SYSTEM\x", "PortNumber").unwrap(), None);
    host.hive_unload("rdpfix-1-SYSTEM").unwrap();
    let back = read_tree(&host.machine().disk_files[hive].0).unwrap();
    let cs = back
        .root
        .find(r"ControlSet001\Control\Terminal Server\WinStations\RDP-Tcp")
        .unwrap();
    assert_eq!(
        cs.value("PortNumber"),
        Some((4, 3390u32.to_le_bytes().as_slice()))
    );
    assert_eq!(back.header.primary_sequence, 8);
}

#[test]
fn a_dirty_hive_or_one_behind_a_junction_is_not_loaded() {
    let mut dirty = testkit::hive_writer::system(1, |_| {});
    dirty.primary_sequence = 9;
    let mut m = Machine::new("A", "a", Timestamp::UNIX_EPOCH);
    m.disk_files.insert(
        r"F:\Windows\System32\config\SYSTEM".into(),
        DiskFile(dirty.write().bytes),
    );
    m.disk_files.insert(
        r"G:\Windows\System32\config\SYSTEM".into(),
        DiskFile(testkit::hive_writer::system(1, |_| {}).write().bytes),
    );
    m.reparse_points
        .insert(r"G:\Windows\System32".into(), r"C:\Windows\System32".into());
    let host = SimHost::new(m);
    let err = host
        .hive_load("m", Path::new(r"F:\Windows\System32\config\SYSTEM"))
        .unwrap_err();
    assert!(err.to_string().contains("dirty"), "{err}");
    assert!(matches!(
        host.hive_load("m", Path::new(r"G:\Windows\System32\config\SYSTEM")),
        Err(HostError::Refused { .. })
    ));
    assert!(matches!(
        host.disk_read(Path::new(r"G:\Windows\System32\config\SYSTEM"), 1 << 20),
        Err(HostError::Refused { .. })
    ));
    assert!(host.machine().hives.is_empty());
}
