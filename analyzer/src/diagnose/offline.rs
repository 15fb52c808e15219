//! The OS disk a plan may be for, when a diagnosis read that disk's registry hives (an OS
//! disk attached to a rescue VM: `fixer diagnose --offline`, or `SYSTEM` and `SOFTWARE`
//! dropped in the page): its computer name and control set from the SYSTEM hive, its
//! identity (MachineGuid) from the SOFTWARE hive. A dirty or damaged hive, or hives that do
//! not name one disk, give no offline target, and say why in words.

use super::Diagnosis;
use crate::config::{ConfigSnapshot, Section, Value};
use crate::input::{Format, InputReport, IssueKind};
use crate::plan::allowlist::EscapedText;
use crate::plan::{ComputerName, MachineGuid, OfflineTarget};
use serde::{Deserialize, Serialize};

/// An attached disk a plan may be for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineChoice {
    /// The `ComputerName` the disk's SYSTEM hive holds: the plan's computer.
    pub computer: String,
    /// The disk's identity and control set, signed in the plan.
    pub target: OfflineTarget,
    /// The hives it was read from (their input names), for people.
    pub hives: Vec<String>,
}

/// The attached disk whose hives `diagnosis` read, as a plan target. `None` when it read no
/// registry hive (the diagnosis is of a running machine's exports); `Some(Err(why))` when
/// the hives cannot name one disk a plan may change: a dirty or damaged hive, no SOFTWARE
/// hive (its MachineGuid is the disk's identity), several SYSTEM hives, a name or control
/// set that could not be read.
pub fn offline_choice(diagnosis: &Diagnosis) -> Option<Result<OfflineChoice, String>> {
    let hives: Vec<&InputReport> = diagnosis
        .inputs
        .iter()
        .filter(|i| i.format == Some(Format::RegistryHive))
        .collect();
    if hives.is_empty() {
        return None;
    }
    Some(choose(&hives))
}

fn choose(hives: &[&InputReport]) -> Result<OfflineChoice, String> {
    for hive in hives {
        unchanged_and_whole(hive)?;
    }
    let snapshots: Vec<(&str, &ConfigSnapshot)> = hives
        .iter()
        .flat_map(|h| h.configs.iter().map(move |c| (h.name.as_str(), c)))
        .collect();
    let has = |s: &ConfigSnapshot, section: Section| s.entries.iter().any(|e| e.section == section);
    let systems: Vec<&(&str, &ConfigSnapshot)> = snapshots
        .iter()
        .filter(|(_, s)| has(s, Section::Svc))
        .collect();
    let softwares: Vec<&(&str, &ConfigSnapshot)> = snapshots
        .iter()
        .filter(|(_, s)| has(s, Section::Ciphers) && !has(s, Section::Svc))
        .collect();
    let (system_name, system) = only_one(
        &systems,
        "SYSTEM",
        "no SYSTEM hive was read: a plan for the attached disk needs its SYSTEM hive \
         (Windows\\System32\\config\\SYSTEM), which names the computer and the control \
         set Windows boots from",
    )?;
    let (software_name, software) = only_one(
        &softwares,
        "SOFTWARE",
        "no SOFTWARE hive was read: a plan for the attached disk names the disk by the \
         MachineGuid its SOFTWARE hive (Windows\\System32\\config\\SOFTWARE) holds; read \
         it beside SYSTEM",
    )?;
    let computer = system.computer.trim();
    let computer: ComputerName = if computer.is_empty() {
        return Err(format!(
            "the SYSTEM hive {} holds no computer name \
             (ControlSet00N\\Control\\ComputerName\\ComputerName): a plan names the computer \
             it is for",
            EscapedText::new(system_name)
        ));
    } else {
        computer.parse().map_err(|e| format!("{e}"))?
    };
    let control_set = match boot(system, "cs") {
        Some(Value::Set(n)) => n.parse::<u32>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "Select\\Current could not be read in the SYSTEM hive {}: which control set \
             Windows boots from is not known, so no plan can say which one to change",
            EscapedText::new(system_name)
        )
    })?;
    // `Current` is the set the last boot used; the boot loader starts the next one from
    // `Select\Default`. When they differ, changing the one read may change nothing that
    // boots: the admin chooses (fixer apply's check 6 refuses such a disk too).
    let next = match boot(system, "csnext") {
        Some(Value::Set(n)) => n.parse::<u32>().ok(),
        _ => None,
    };
    if next != Some(control_set) {
        return Err(format!(
            "the SYSTEM hive {} says the last boot used ControlSet{control_set:03} \
             (Select\\Current) but the next boot uses {} (Select\\Default): which control \
             set to change is for you to choose (reg load the hive and look at Select, or \
             make Current and Default agree), so no plan is made",
            EscapedText::new(system_name),
            next.map_or_else(
                || "a control set that could not be read".to_owned(),
                |n| format!("ControlSet{n:03}")
            )
        ));
    }
    let guid = match boot(software, "guid") {
        Some(Value::Set(text)) => MachineGuid::from_registry(text).map_err(|e| e.to_string())?,
        Some(Value::Absent) => {
            return Err(format!(
                "the SOFTWARE hive {} holds no Microsoft\\Cryptography\\MachineGuid: the \
                 disk cannot be named, so no plan can be made for it",
                EscapedText::new(software_name)
            ));
        }
        _ => {
            return Err(format!(
                "Microsoft\\Cryptography\\MachineGuid could not be read in the SOFTWARE hive \
                 {}: the disk cannot be named, so no plan can be made for it",
                EscapedText::new(software_name)
            ));
        }
    };
    let target = OfflineTarget::new(guid, control_set)?;
    Ok(OfflineChoice {
        computer: computer.to_string(),
        target,
        hives: vec![system_name.to_owned(), software_name.to_owned()],
    })
}

/// A hive a plan may rest on: not dirty, its checksum right, nothing skipped or cut.
fn unchanged_and_whole(hive: &InputReport) -> Result<(), String> {
    let name = EscapedText::new(&hive.name);
    let file = EscapedText::new(hive.name.rsplit(['/', '\\']).next().unwrap_or(&hive.name));
    if hive
        .issues
        .iter()
        .any(|i| matches!(i.kind, IssueKind::DirtyHeader | IssueKind::HeaderChecksum))
    {
        let commands = crate::input::hive::replay_logs_commands(&format!(
            "<drive>:\\Windows\\System32\\config\\{file}"
        ));
        return Err(format!(
            "the hive {name} is dirty: Windows had not written all its changes into it (they \
             are in its .LOG1/.LOG2 files, which rdpfix does not apply), so a plan made from \
             it could rest on old values and `fixer apply --offline` refuses it. Windows \
             replays the logs when it loads a hive: on the repair VM, as Administrator, \
             {commands}, and read the hive again (not verified here: \
             if it is still dirty, shut the VM down from Windows and copy its disk again)"
        ));
    }
    if hive.errors > 0 || hive.truncated || hive.cancelled {
        return Err(format!(
            "the hive {name} is damaged or was not read whole ({} errors; see its report): \
             no plan is made from a hive rdpfix could not read whole",
            hive.errors
        ));
    }
    Ok(())
}

/// A `boot` value of a snapshot.
fn boot<'a>(s: &'a ConfigSnapshot, key: &str) -> Option<&'a Value> {
    s.entry(Section::Boot, None, key).map(|e| &e.value)
}

/// The one hive of a kind that was read, or why there is not one.
fn only_one<'a>(
    list: &[&(&'a str, &'a ConfigSnapshot)],
    kind: &str,
    none: &str,
) -> Result<(&'a str, &'a ConfigSnapshot), String> {
    match list {
        [one] => Ok(**one),
        [] => Err(none.to_owned()),
        _ => Err(format!(
            "{} {kind} hives were read ({}): a plan is for one disk; read one disk's hives \
             at a time",
            list.len(),
            list.iter()
                .map(|(n, _)| EscapedText::new(n).0)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{DiagnoseOptions, Session};
    use testkit::hive_writer;

    fn choice_for(current: u32, default: u32) -> Option<Result<OfflineChoice, String>> {
        let mut system = hive_writer::system(current, |_| {});
        system.root.key("Select").dword("Default", default);
        let mut session = Session::new();
        for (name, bytes) in [
            ("SYSTEM", system.write().bytes),
            ("SOFTWARE", hive_writer::software(|_| {}).write().bytes),
        ] {
            session.add_bytes(name, &bytes, &mut crate::input::no_progress);
        }
        offline_choice(&session.finish(&DiagnoseOptions::default()))
    }

    #[test]
    fn a_disk_whose_next_boot_uses_another_control_set_gives_no_plan() {
        let agreed = choice_for(2, 2);
        assert!(
            matches!(&agreed, Some(Ok(c)) if c.target.control_set == 2),
            "{agreed:?}"
        );
        let why = match choice_for(2, 1) {
            Some(Err(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(
            why.contains(r"the last boot used ControlSet002 (Select\Current)")
                && why.contains(r"the next boot uses ControlSet001 (Select\Default)"),
            "{why}"
        );
    }
}
