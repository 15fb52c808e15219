//! Every PowerShell text the analyzer writes for the page and the fixer, printed as one
//! JSON array for `tests/browser/powershell.test.mjs`, which parses each one with
//! tree-sitter-powershell (no PowerShell runs on the build machines). The inputs are the
//! largest the page can meet — a plan with every rule's remediation for the longest
//! computer name, a resource group name with parentheses — so every step kind's preview and
//! the longest token are among them. Nothing here is written by hand: each text is what the
//! page shows or `fixer plan` prints, from the same functions.
//!
//! Each entry is `{ name, form, text }`; `form` says how a shell reads `text`:
//! `powershell` (the text is PowerShell), `az` (a bash line whose last word is a PowerShell
//! script), `serial` (a cmd.exe line whose `-Command "…"` is PowerShell).
//!
//! ```text
//! cargo run -p analyzer --example generated_scripts
//! ```

use analyzer::diagnose::DEFAULT_WINDOW_HOURS;
use analyzer::envelope::{FixCommand, PreparedPlan, SecretKey, Shell};
use analyzer::plan::{
    ComputerName, DEFAULT_LIFETIME, OfflineTarget, Plan, PlanId, PlanParams, Sha256Digest,
    powershell,
};
use analyzer::remote::{self, Delivery, FixerSource, KeyLabel, ResourceGroup, SerialLine, VmName};
use analyzer::rules::{Catalog, collection};
use serde::Serialize;
use std::error::Error;

#[derive(Debug, Serialize)]
struct Script {
    name: String,
    form: &'static str,
    text: String,
}

/// A plan like `plan` holding one step of each kind the catalog may not use: services
/// started, a member added, rights granted and revoked, a firewall rule enabled, the listener
/// reset and NLA lowered.
fn every_kind_plan(plan: &Plan) -> Result<PreparedPlan, Box<dyn Error>> {
    use analyzer::plan::{
        AccountSid, AllowedStep, FirewallRule, LocalGroup, LogonRight, RdpService, RegistryData,
        RegistryExpect, RegistryValue,
    };
    let set = |value, data| AllowedStep::SetRegistryValue {
        value,
        desired: RegistryData::Dword(data),
        expect: RegistryExpect::Any,
    };
    let steps = vec![
        set(RegistryValue::PolicyDenyTsConnections, 0),
        set(RegistryValue::PortNumber, 3389),
        set(RegistryValue::LanAdapter, 0),
        set(RegistryValue::MaxInstanceCount, u32::MAX),
        set(RegistryValue::UserAuthentication, 0),
        set(RegistryValue::SecurityLayer, 0),
        AllowedStep::AddGroupMember {
            group: LocalGroup::RemoteDesktopUsers,
            member: AccountSid::parse("S-1-5-21-3623811015-3361044348-30300820-1013")
                .map_err(|e| format!("{e:?}"))?,
        },
        AllowedStep::GrantLogonRight {
            sid: AccountSid::parse("S-1-5-32-555").map_err(|e| format!("{e:?}"))?,
            right: LogonRight::RemoteInteractive,
        },
        AllowedStep::RevokeLogonRight {
            sid: AccountSid::parse("S-1-5-113").map_err(|e| format!("{e:?}"))?,
            right: LogonRight::DenyRemoteInteractive,
        },
        AllowedStep::EnableFirewallRule {
            rule: FirewallRule::UserModeInTcp,
        },
        AllowedStep::StartService {
            service: RdpService::MpsSvc,
        },
    ];
    let mut every = plan.clone();
    every.steps = steps.iter().map(AllowedStep::to_step).collect();
    Ok(PreparedPlan::new(&every)?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let catalog = Catalog::builtin()?;
    let mut out = Vec::new();
    let mut push = |name: &str, form: &'static str, text: &str| {
        out.push(Script {
            name: name.to_owned(),
            form,
            text: text.to_owned(),
        });
    };
    let group = ResourceGroup::parse("rg-prod(weu)_01.a")?;
    let vm = VmName::parse("rdp-vm01")?;
    let forms = |name: &str, script: &str, push: &mut dyn FnMut(&str, &'static str, &str)| {
        let f = remote::run_command(&group, &vm, script);
        push(&format!("{name} (az)"), "az", &f.az);
        push(
            &format!("{name} (Invoke-AzVMRunCommand)"),
            "powershell",
            &f.powershell,
        );
    };

    // Logs out: the page's collection panel.
    let guide = collection::guide(&catalog, DEFAULT_WINDOW_HOURS);
    push(
        "export commands",
        "powershell",
        &collection::export_script(&guide).join("\r\n"),
    );
    for q in &guide.queries {
        push(
            &format!("text query {} {}", q.rule, q.signal),
            "powershell",
            &q.command,
        );
    }
    let collect = remote::remote_collection(&catalog, DEFAULT_WINDOW_HOURS);
    for q in &collect.queries {
        push(
            &format!("wevtutil query {}", q.channel),
            "powershell",
            &q.wevtutil,
        );
        push(
            &format!("Get-WinEvent query {}", q.channel),
            "powershell",
            &q.get_winevent,
        );
    }
    push("collection script", "powershell", &collect.script);
    forms("collection script", &collect.script, &mut push);
    push(
        "configuration snapshot script",
        "powershell",
        &remote::config::script(),
    );
    let snapshot = remote::snapshot(&group, &vm, "2026-03-01T12:00:00Z".parse()?);
    push(
        "snapshot (New-AzSnapshot)",
        "powershell",
        &snapshot.powershell,
    );

    // The fix in: a plan with every rule's remediation, signed.
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    let issued = "2026-03-01T12:00:00Z".parse()?;
    let plan = catalog
        .proposal(ids.iter().copied())?
        .to_plan(&PlanParams {
            computer: "v".repeat(ComputerName::MAX),
            evidence_sha256: Sha256Digest([0xab; 32]),
            plan_id: PlanId::from_random([0x5c; 16]),
            issued_at: issued,
            lifetime: DEFAULT_LIFETIME,
            seq: PlanParams::seq_for(issued),
            offline: None,
        })?;
    let prepared = PreparedPlan::new(&plan)?;
    push(
        "PowerShell preview",
        "powershell",
        &powershell::render(prepared.plan(), prepared.steps()),
    );
    // Every step kind, whether or not the catalog uses it yet (issue 15's kinds).
    let every = every_kind_plan(&plan)?;
    push(
        "PowerShell preview (every step kind)",
        "powershell",
        &powershell::render(every.plan(), every.steps()),
    );
    // The same remediation for the OS disk attached to a rescue VM: `reg load`ed hives.
    let offline = catalog
        .proposal(ids.iter().copied())?
        .for_offline()
        .to_plan(&PlanParams {
            computer: "v".repeat(15),
            evidence_sha256: Sha256Digest([0xab; 32]),
            plan_id: PlanId::from_random([0x5c; 16]),
            issued_at: issued,
            lifetime: DEFAULT_LIFETIME,
            seq: PlanParams::seq_for(issued),
            offline: Some(OfflineTarget::new(
                "5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e41".parse()?,
                999,
            )?),
        })?;
    let offline = PreparedPlan::new(&offline)?;
    push(
        "PowerShell preview (offline)",
        "powershell",
        &powershell::render(offline.plan(), offline.steps()),
    );
    let key = SecretKey::from_seed([9; 32]);
    let signed = prepared.sign_with(&key)?;
    if let FixCommand::Line(line) = signed.fix_command(Shell::PowerShell) {
        push("fix command (PowerShell)", "powershell", &line);
    }
    let public = key.public_key();
    let label = KeyLabel::page();
    push(
        "trust command",
        "powershell",
        &remote::trust_command(&public, &label),
    );
    let source = FixerSource::new(
        "https://rdpfix.example.net/fixer.exe",
        "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
    )?;
    let scripts: [(&str, Delivery); 2] = [
        (
            "enrolment script",
            remote::enrol_delivery(&source, &public, &label),
        ),
        (
            "fix script",
            remote::fix_delivery(&source, &signed.token())?,
        ),
    ];
    for (name, d) in &scripts {
        push(name, "powershell", &d.script);
        forms(name, &d.script, &mut push);
        if let SerialLine::Line(line) = &d.serial_console {
            push(&format!("{name} (Serial Console)"), "serial", line);
        }
    }

    // The rescue VM's repair script (`az vm repair run --custom-script-file`), with the
    // longest token; its az lines are bash only and tested in remote_repair.rs.
    let repair = remote::repair_sequence(&remote::RepairInputs {
        group: &group,
        vm: &vm,
        token: &signed.token(),
        key: &public,
        label: &label,
        source: &source,
        at: issued,
    })?;
    push("repair script", "powershell", &repair.script.text);

    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
