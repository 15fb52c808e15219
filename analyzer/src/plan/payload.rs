//! The plan as it is signed: the DSSE payload's JSON object.

use super::ids::{AnalyzerVersion, ComputerName, FindingId, MachineGuid, PlanId, Sha256Digest};
use super::step::Step;
use jiff::Timestamp;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::marker::PhantomData;

/// The payload format version this build writes and accepts.
pub const PLAN_VERSION: u32 = 1;
/// The most steps one plan may carry: the whole catalog's remediation, every optional
/// step included, is 65 steps (`plan_build` measures it); 64 was reached with 39 rules.
pub const MAX_STEPS: usize = 96;
/// The most finding ids one plan may name: twice the catalog's 33 rules (issue 15 took it
/// past 32).
pub const MAX_FINDINGS: usize = 64;

/// A remediation plan, exactly the fields that are signed. Parsing denies unknown fields;
/// `v` must be [`PLAN_VERSION`] (checked by the envelope's verification, which says so
/// precisely).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub v: u32,
    pub plan_id: PlanId,
    /// When the plan was made (the page's or the CLI's clock).
    pub issued_at: Timestamp,
    /// The fixer refuses the plan from this instant on.
    pub expires_at: Timestamp,
    /// Increases with every plan a key signs for a computer; the fixer refuses one not
    /// newer than the last it applied.
    pub seq: u64,
    pub target: PlanTarget,
    /// SHA-256 over the analysed inputs (see `Diagnosis::evidence_sha256`).
    pub evidence_sha256: Sha256Digest,
    pub analyzer_version: AnalyzerVersion,
    #[serde(deserialize_with = "bounded::<_, _, MAX_FINDINGS>")]
    pub findings: Vec<FindingId>,
    /// The steps the admin chose, in execution order.
    #[serde(deserialize_with = "bounded::<_, _, MAX_STEPS>")]
    pub steps: Vec<Step>,
}

/// The machine a plan is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanTarget {
    /// The running machine's name; for an offline plan, the `ComputerName` the disk's
    /// `SYSTEM` hive holds.
    pub computer: ComputerName,
    /// `None`: the running machine (the payload then has no `offline` field, byte for byte
    /// as before offline plans). `Some`: the Windows OS disk of that machine attached to a
    /// rescue VM; a fixer that predates offline plans refuses the field (unknown), a current
    /// one applies the plan only with `--offline`, to the disk this names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<OfflineTarget>,
}

/// The attached disk an offline plan is for, by what its own hives say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineTarget {
    /// `SOFTWARE\Microsoft\Cryptography\MachineGuid` of the disk's Windows: the disk's
    /// identity (a copy made by `az vm repair create` keeps it).
    pub machine_guid: MachineGuid,
    /// The control set `SYSTEM\Select\Current` named when the plan was made (1 is
    /// `ControlSet001`), within [`OfflineTarget::CONTROL_SETS`]: the one the plan's
    /// registry steps write.
    #[serde(deserialize_with = "control_set")]
    pub control_set: u32,
}

impl OfflineTarget {
    /// The control sets a plan may name: `ControlSet001` to `ControlSet999`.
    pub const CONTROL_SETS: std::ops::RangeInclusive<u32> = 1..=999;

    /// Refuses a control set outside [`OfflineTarget::CONTROL_SETS`].
    pub fn new(machine_guid: MachineGuid, control_set: u32) -> Result<OfflineTarget, String> {
        if OfflineTarget::CONTROL_SETS.contains(&control_set) {
            Ok(OfflineTarget {
                machine_guid,
                control_set,
            })
        } else {
            Err(control_set_error(control_set))
        }
    }

    /// The control set's key name in the `SYSTEM` hive: `ControlSet001`.
    pub fn control_set_key(&self) -> String {
        format!("ControlSet{:03}", self.control_set)
    }
}

fn control_set_error(n: u32) -> String {
    format!(
        "control set {n} is not one a SYSTEM hive names: 1 to 999 (ControlSet001 to ControlSet999)"
    )
}

fn control_set<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(deserializer)?;
    if OfflineTarget::CONTROL_SETS.contains(&n) {
        Ok(n)
    } else {
        Err(serde::de::Error::custom(control_set_error(n)))
    }
}

/// Deserialises a sequence of at most `MAX` items, failing as soon as there are more
/// (before allocating for them).
fn bounded<'de, D, T, const MAX: usize>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T, const MAX: usize>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for Bounded<T, MAX> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a list of at most {MAX} items")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                if items.len() == MAX {
                    return Err(serde::de::Error::custom(format_args!(
                        "{}: more than {MAX} items",
                        TOO_MANY
                    )));
                }
                items.push(item);
            }
            Ok(items)
        }
    }

    deserializer.deserialize_seq(Bounded::<T, MAX>(PhantomData))
}

/// Marks the bounded-list error so the envelope can report it as its own rejection.
pub(crate) const TOO_MANY: &str = "too many items";
