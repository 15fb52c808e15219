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
