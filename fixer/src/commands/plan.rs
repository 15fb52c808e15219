//! `fixer plan --key <keyfile> <logs>`: the page's plan, from the command line, for
//! automation and fleets. Diagnoses the logs, proposes the catalog's remediation of every
//! finding (`analyzer::plan::Proposal::for_diagnosis`), leaves out the optional steps asked
//! for, signs with a key file from `fixer keygen`, and returns the fix command for cmd.exe
//! and PowerShell — or, when the command would pass cmd.exe's 8,191 characters, the plan
//! file to copy instead. Same inputs, key and time: the same payload as the page, its
//! random `plan_id` aside. Like the page it prints the two runs a VM needs in order: step 1
//! enrols the key (the `trust add` line, and with `--fixer-url`/`--fixer-sha256` the
//! enrolment script for Run Command and Serial Console), step 2 applies the plan (the fix
//! commands, and the fix script), all from `analyzer::remote`.
//!
//! With `--offline <drive>` it reads the OS disk of a VM attached to this (rescue) VM as
//! `diagnose --offline` does and signs a plan for that disk: named by the MachineGuid and
//! control set of its hives, holding only the steps with an offline form (the others listed
//! as left out, with why), applied by `fixer apply --offline`. Given where fixer.exe comes
//! from and the VM, it prints the rescue-VM sequence (`analyzer::remote::repair`: snapshot,
//! `az vm repair create`, `run`, what to check, `restore`).

use super::diagnose::{read_inputs, with_disk};
use super::verify::label_tag;
use super::{CommandError, CommandResult};
use crate::cli::PlanArgs;
use crate::exit::Exit;
use crate::offline::OfflineDisk;
use crate::report::{Report, ascii_lines, ascii_safe, wrap};
use analyzer::diagnose::{DiagnoseOptions, PlanTargets};
use analyzer::envelope::{FixCommand, MAX_COMMAND_CHARS, PreparedPlan, SecretKey, Shell};
use analyzer::plan::{BuildError, Labels, OfflineTarget, PlanId, PlanParams, Proposal, powershell};
use analyzer::remote::{
    self, Delivery, FixerSource, KeyLabel, RepairInputs, RepairSequence, ResourceGroup,
    RunCommandForms, SerialLine, VmName,
};
use anyhow::{Context, anyhow};
use jiff::Timestamp;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub fn run(args: &PlanArgs) -> CommandResult {
    // The key first: a bad key file should not wait for a large log to be read.
    let key = read_key(&args.key)?;
    let label = key_label(args)?;
    let channels = channels(args)?;
    let (files, disk) = with_disk(&args.files, args.offline.as_deref())?;
    let session = read_inputs(&files, args.now)?;
    let diagnosis = session.finish(&DiagnoseOptions { now: args.now });
    let mut proposal = match Proposal::for_diagnosis(session.catalog(), &diagnosis) {
        Ok(p) => p,
        Err(BuildError::NoFinding) => {
            return Ok(Box::new(NothingToFix {
                verdict: diagnosis.verdict,
                events: diagnosis.events,
            }));
        }
        Err(e) => return Err(CommandError::new(Exit::Failure, e)),
    };
    if disk.is_some() {
        proposal = proposal.for_offline();
        if proposal.steps().is_empty() {
            return Err(CommandError::new(Exit::Failure, nothing_offline(&proposal)));
        }
    }
    for &n in &args.leave_out {
        proposal
            .set_included(usize::from(n).saturating_sub(1), false)
            .map_err(|e| CommandError::new(Exit::Usage, leave_out_help(e, &proposal)))?;
    }
    let issued_at = match args.now {
        Some(now) => now,
        None => Timestamp::now(),
    };
    let mut random = [0u8; 16];
    getrandom::fill(&mut random)
        .map_err(|e| CommandError::new(Exit::Failure, anyhow!("no OS randomness: {e}")))?;
    let warning =
        analyzer::diagnose::plan::typed_computer_warning(&diagnosis, args.computer.as_deref());
    let plan_id = PlanId::from_random(random);
    let params = match &disk {
        Some(_) => PlanTargets::for_diagnosis(&diagnosis)
            .and_then(|t| t.offline_params(issued_at, plan_id))
            .map_err(|e| CommandError::new(Exit::Failure, e))?,
        None => {
            PlanParams::for_diagnosis_on(&diagnosis, args.computer.as_deref(), issued_at, plan_id)
                .map_err(|e| CommandError::new(Exit::Failure, computer_help(e)))?
        }
    };
    let plan = proposal
        .to_plan(&params)
        .map_err(|e| CommandError::new(Exit::Failure, e))?;
    let prepared = PreparedPlan::new(&plan).map_err(|e| CommandError::new(Exit::Failure, e))?;
    let preview = powershell::render(prepared.plan(), prepared.steps());
    let signed = prepared
        .sign_with(&key)
        .map_err(|e| CommandError::new(Exit::Failure, e))?;

    let commands = [Shell::Cmd, Shell::PowerShell].map(|shell| match &disk {
        Some(_) => offline_fix_command(&signed.token(), shell),
        None => signed.fix_command(shell),
    });
    let too_long = commands.iter().find_map(|c| match c {
        FixCommand::TooLong { chars } => Some(*chars),
        FixCommand::Line(_) => None,
    });
    let plan_id = plan.plan_id.to_string();
    let plan_file = match (&args.out, too_long) {
        (Some(out), _) => Some(out.clone()),
        (None, Some(_)) => Some(PathBuf::from(format!("rdpfix-plan-{plan_id}.json"))),
        (None, None) => None,
    };
    if let Some(path) = &plan_file {
        write_plan_file(path, &signed.to_json())?;
    }
    let line = |c: &FixCommand| match c {
        FixCommand::Line(l) => Some(l.clone()),
        FixCommand::TooLong { .. } => None,
    };
    let public = key.public_key();
    let token = signed.token();
    let offline = match (&disk, plan.target.offline) {
        (Some(disk), Some(target)) => Some(OfflineView {
            disk: disk.clone(),
            target,
            left_out: proposal
                .left_out()
                .iter()
                .map(|l| LeftOutView {
                    summary: l.step.summary(),
                    why: l.why.text(),
                })
                .collect(),
        }),
        _ => None,
    };
    let repair = match (&offline, &channels) {
        (Some(_), Some((source, Some((group, vm))))) => Some(
            remote::repair_sequence(&RepairInputs {
                group,
                vm,
                token: &token,
                key: &public,
                label: &label,
                source,
                at: issued_at,
            })
            .map_err(|e| CommandError::new(Exit::Failure, e))?,
        ),
        _ => None,
    };
    let (enrol, fix) = match &channels {
        // The VM runs nothing: no Run Command or Serial Console script reaches it.
        _ if offline.is_some() => (None, None),
        Some((source, azure)) => {
            let forms = |d: Delivery| ScriptForms {
                run_command: azure
                    .as_ref()
                    .map(|(rg, vm)| remote::run_command(rg, vm, &d.script)),
                delivery: d,
            };
            let fix = remote::fix_delivery(source, &token)
                .map_err(|e| CommandError::new(Exit::Failure, e))?;
            (
                Some(forms(remote::enrol_delivery(source, &public, &label))),
                Some(forms(fix)),
            )
        }
        None => (None, None),
    };
    Ok(Box::new(PlanReport {
        verdict: diagnosis.verdict,
        warning,
        plan_id,
        computer: plan.target.computer.to_string(),
        issued_at: plan.issued_at,
        expires_at: plan.expires_at,
        seq: plan.seq,
        evidence_sha256: plan.evidence_sha256.to_string(),
        findings: diagnosis
            .findings
            .iter()
            .map(|f| FindingView {
                id: f.id.clone(),
                confidence: f.confidence.as_str(),
                score: f.score,
            })
            .collect(),
        steps: proposal
            .steps()
            .iter()
            .enumerate()
            .map(|(i, s)| ProposedView {
                number: i + 1,
                summary: s.step.summary(),
                labels: s.step.labels(),
                optional: s.optional,
                included: s.included,
            })
            .collect(),
        public_key: public.to_string(),
        fingerprint: public.fingerprint().to_string(),
        label: label.to_string(),
        trust_command: remote::trust_command(&public, &label),
        enrol,
        fix,
        offline,
        repair,
        preview,
        token,
        cmd: line(&commands[0]),
        powershell: line(&commands[1]),
        command_chars: too_long,
        plan_file: plan_file.map(|p| p.display().to_string()),
    }))
}

fn read_key(path: &Path) -> Result<SecretKey, CommandError> {
    let text = std::fs::read_to_string(path)
        .with_context(|| {
            format!(
                "cannot read the key file {}; make one with `fixer keygen {}`",
                path.display(),
                path.display()
            )
        })
        .map_err(|e| CommandError::new(Exit::Failure, e))?;
    SecretKey::from_file_text(&text).map_err(|e| {
        CommandError::new(
            Exit::Failure,
            anyhow!(e).context(format!(
                "{} is not a usable signing key; use the file `fixer keygen` wrote",
                path.display()
            )),
        )
    })
}

/// `--label`, else the key file's name when it is a usable label, else `rdpfix-plan`.
fn key_label(args: &PlanArgs) -> Result<KeyLabel, CommandError> {
    if let Some(label) = &args.label {
        return KeyLabel::parse(label).map_err(|e| CommandError::new(Exit::Usage, e));
    }
    let stem = args.key.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    KeyLabel::parse(stem)
        .or_else(|_| KeyLabel::parse("rdpfix-plan"))
        .map_err(|e| CommandError::new(Exit::Failure, e))
}

/// Where the scripts fetch fixer.exe from, and the VM they go to, as far as given.
type Channels = Option<(FixerSource, Option<(ResourceGroup, VmName)>)>;

fn channels(args: &PlanArgs) -> Result<Channels, CommandError> {
    let usage = |e: String| CommandError::new(Exit::Usage, anyhow!(e));
    let (Some(url), Some(sha)) = (&args.fixer_url, &args.fixer_sha256) else {
        return Ok(None);
    };
    let source = FixerSource::new(url, sha).map_err(|e| usage(e.to_string()))?;
    let azure = match (&args.resource_group, &args.vm) {
        (Some(rg), Some(vm)) => Some((
            ResourceGroup::parse(rg).map_err(|e| usage(e.to_string()))?,
            VmName::parse(vm).map_err(|e| usage(e.to_string()))?,
        )),
        _ => None,
    };
    Ok(Some((source, azure)))
}

/// `--leave-out` names a required step or none: say which steps may be left out.
fn leave_out_help(e: BuildError, proposal: &Proposal) -> anyhow::Error {
    let optional: Vec<String> = proposal
        .steps()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.optional)
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    let may = if optional.is_empty() {
        "no step of this plan is optional".to_owned()
    } else {
        format!("optional steps: {}", optional.join(", "))
    };
    anyhow!(e).context(format!("cannot leave that step out ({may})"))
}

/// The logs name several computers, or none: say how to pick or name one.
fn computer_help(e: BuildError) -> anyhow::Error {
    match e {
        BuildError::SeveralComputers { .. } | BuildError::ComputerNotInLogs { .. } => {
            anyhow!("{e}; pick it with --computer <name>")
        }
        BuildError::NoComputer => {
            anyhow!("{e}; or name the VM with --computer <name> (taken as typed, with a warning)")
        }
        other => anyhow!(other),
    }
}

/// The fix command of an offline plan, run on the rescue VM: the disk found by its
/// MachineGuid (`--offline auto`).
fn offline_fix_command(token: &str, shell: Shell) -> FixCommand {
    let line = match shell {
        Shell::Cmd => format!("fixer.exe apply --offline auto {token}"),
        Shell::PowerShell => format!("& .\\fixer.exe apply --offline auto {token}"),
    };
    let chars = line.chars().count();
    if chars < MAX_COMMAND_CHARS {
        FixCommand::Line(line)
    } else {
        FixCommand::TooLong { chars }
    }
}

/// Every step of the fix was left out of the plan for the disk: say which, and why.
fn nothing_offline(proposal: &Proposal) -> anyhow::Error {
    let steps: Vec<String> = proposal
        .left_out()
        .iter()
        .map(|l| format!("{}: {}", l.step.summary(), l.why))
        .collect();
    anyhow!(
        "no step of this fix can be done on the attached disk, so there is no plan to sign; \
         do them on the running VM after the disk is repaired and swapped back: {}",
        steps.join("; ")
    )
}

/// Writes the plan file (the DSSE envelope as JSON); it holds no secret.
fn write_plan_file(path: &Path, json: &str) -> Result<(), CommandError> {
    std::fs::write(path, json)
        .with_context(|| format!("cannot write the plan file {}", path.display()))
        .map_err(|e| CommandError::new(Exit::Failure, e))
}

#[derive(Debug, Serialize)]
struct FindingView {
    id: String,
    confidence: &'static str,
    score: u8,
}

#[derive(Debug, Serialize)]
struct ProposedView {
    /// What `--leave-out` takes.
    number: usize,
    summary: String,
    labels: Labels,
    optional: bool,
    included: bool,
}

/// A plan for an attached OS disk: the disk as read, the target signed, what was left out.
#[derive(Debug, Serialize)]
struct OfflineView {
    disk: OfflineDisk,
    target: OfflineTarget,
    left_out: Vec<LeftOutView>,
}

#[derive(Debug, Serialize)]
struct LeftOutView {
    summary: String,
    why: &'static str,
}

/// A script for Run Command and Serial Console, and its az / Invoke-AzVMRunCommand forms
/// when the VM was named.
#[derive(Debug, Serialize)]
struct ScriptForms {
    #[serde(flatten)]
    delivery: Delivery,
    #[serde(flatten)]
    run_command: Option<RunCommandForms>,
}

#[derive(Debug, Serialize)]
struct PlanReport {
    verdict: String,
    /// Set when the logs name no computer and the plan is for the name `--computer` gave.
    warning: Option<String>,
    plan_id: String,
    computer: String,
    issued_at: Timestamp,
    expires_at: Timestamp,
    seq: u64,
    evidence_sha256: String,
    findings: Vec<FindingView>,
    steps: Vec<ProposedView>,
    public_key: String,
    fingerprint: String,
    /// The label the enrolment gives the key.
    label: String,
    /// Step 1 at a prompt with fixer.exe.
    trust_command: String,
    /// Step 1 through Run Command and Serial Console (with --fixer-url and --fixer-sha256).
    enrol: Option<ScriptForms>,
    /// Step 2 the same way.
    fix: Option<ScriptForms>,
    /// With --offline: the disk, its identity as signed, the steps left out.
    offline: Option<OfflineView>,
    /// With --offline, --fixer-url/--fixer-sha256 and --resource-group/--vm: the rescue-VM
    /// sequence.
    repair: Option<RepairSequence>,
    /// What the fixer will run, as PowerShell (the page's preview).
    preview: String,
    token: String,
    /// The one-line fix commands; `None` when too long for cmd.exe (use the plan file).
    cmd: Option<String>,
    powershell: Option<String>,
    /// The fix command's length when it is too long.
    command_chars: Option<usize>,
    plan_file: Option<String>,
}

impl ScriptForms {
    /// Each form under a heading saying what it is.
    fn text(&self, what: &str) -> String {
        let mut out = format!(
            "The {what} script for Run Command (RunPowerShellScript, {} bytes):\n{}",
            self.delivery.script.len(),
            self.delivery.script
        );
        match &self.delivery.serial_console {
            SerialLine::Line(line) => out.push_str(&format!(
                "The {what} line for Serial Console (cmd.exe, {} characters):\n{line}\n",
                line.len()
            )),
            SerialLine::TooLong { chars } => out.push_str(&format!(
                "No {what} line for Serial Console: it would be {chars} characters, more \
                 than cmd.exe's {MAX_COMMAND_CHARS}.\n"
            )),
        }
        if let Some(forms) = &self.run_command {
            out.push_str(&format!(
                "The {what} script from Azure Cloud Shell (bash):\n{}\n\
                 The {what} script from PowerShell (Az module):\n{}\n",
                forms.az, forms.powershell
            ));
        }
        out
    }
}

impl OfflineView {
    /// The disk the plan is for and the steps it leaves out, with why.
    fn text(&self) -> String {
        let mut out = wrap(
            &format!(
                "for the OS disk at {} (MachineGuid {}, ControlSet{:03}): only `fixer apply \
                 --offline` on a rescue VM with this disk attached applies it",
                self.disk.root, self.target.machine_guid, self.target.control_set
            ),
            "  ",
            "    ",
        );
        for l in &self.left_out {
            out.push_str(&wrap(
                &format!("NOT ON THE DISK: {}: {}", l.summary, l.why),
                " - ",
                "   ",
            ));
        }
        out
    }
}

impl PlanReport {
    /// How an offline plan reaches the disk: the rescue-VM sequence when it was built, else
    /// the options that build it and the two commands for a rescue VM made by hand.
    fn rescue_text(&self) -> String {
        let mut out = String::new();
        match &self.repair {
            Some(repair) => {
                out.push_str(
                    "The rescue-VM sequence, in Azure Cloud Shell (bash), step by step:\n",
                );
                for step in &repair.steps {
                    out.push_str(&ascii_lines(&wrap(
                        &format!("{}: {}", step.title, step.what),
                        "",
                        "  ",
                    )));
                    for command in &step.commands {
                        out.push_str(command);
                        out.push('\n');
                    }
                }
            }
            None => out.push_str(&ascii_lines(&wrap(
                "The rescue-VM sequence (step 0 snapshot, az vm repair create, run, check, \
                 restore) is printed when --fixer-url, --fixer-sha256, --resource-group and \
                 --vm are given. On a rescue VM with the disk attached, as Administrator, with \
                 fixer.exe: enrol the key, then apply the plan with the command below.",
                "",
                "  ",
            ))),
        }
        out.push_str(&format!(
            "Enrol the key on the rescue VM:\n{}\n",
            self.trust_command
        ));
        out
    }
}

impl Report for PlanReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        let mut out = wrap(&self.verdict, "", "  ");
        if let Some(warning) = &self.warning {
            out.push_str(&wrap(&format!("WARNING: {warning}"), "", "  "));
        }
        let findings: Vec<String> = self
            .findings
            .iter()
            .map(|f| format!("{} ({})", f.id, f.confidence))
            .collect();
        out.push_str(&wrap(
            &format!(
                "plan {} for {} ({})",
                self.plan_id,
                self.computer,
                findings.join(", ")
            ),
            "",
            "  ",
        ));
        out.push_str(&format!(
            "  valid {} to {}, seq {}\n",
            self.issued_at, self.expires_at, self.seq
        ));
        for s in &self.steps {
            let mut line = format!("{} {}", s.summary, label_tag(&s.labels));
            if !s.included {
                line = format!("LEFT OUT: {line}");
            } else if s.optional {
                line.push_str(" (optional: --leave-out ");
                line.push_str(&s.number.to_string());
                line.push(')');
            }
            out.push_str(&wrap(&line, &format!("{:>2} ", s.number), "   "));
        }
        if let Some(offline) = &self.offline {
            out.push_str(&offline.text());
        }
        out.push_str(&wrap(
            &format!("signed with key {}", self.fingerprint),
            "",
            "  ",
        ));
        let mut out = ascii_lines(&out);
        if self.offline.is_some() {
            out.push_str(&self.rescue_text());
        } else {
            // Step 1 before step 2, as the VM needs them; commands whole on their own lines.
            out.push_str(&format!(
                "Step 1, once per VM: enrol the key (the VM prints its fingerprint last;\n\
                 compare it with the one above). At a prompt with fixer.exe:\n{}\n",
                self.trust_command
            ));
            if let Some(enrol) = &self.enrol {
                out.push_str(&enrol.text("enrolment"));
            }
            out.push_str("Step 2: apply the plan.\n");
            if let Some(fix) = &self.fix {
                out.push_str(&fix.text("fix"));
            }
        }
        let (apply, where_, console) = if self.offline.is_some() {
            ("fixer.exe apply --offline auto", "rescue VM", "cmd.exe")
        } else {
            ("fixer.exe apply", "VM", "cmd.exe and Serial Console")
        };
        if let Some(file) = &self.plan_file {
            let file = ascii_safe(file);
            if let Some(chars) = self.command_chars {
                out.push_str(&format!(
                    "The fix command would be {chars} characters, more than cmd.exe's \
                     {MAX_COMMAND_CHARS}:\nthe plan is in {file}. Copy it to the {where_} and \
                     run:\n  {apply} {file}\n"
                ));
            } else {
                out.push_str(&format!("Plan file: {file} (or run: {apply} {file})\n"));
            }
        }
        // Commands last, whole, on their own lines: what a script or a person copies.
        if let (Some(cmd), Some(ps)) = (&self.cmd, &self.powershell) {
            out.push_str(&format!(
                "Fix command for PowerShell ({} characters):\n{ps}\n\
                 Fix command for {console} ({} characters):\n{cmd}\n",
                ps.len(),
                cmd.len()
            ));
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("ok".into(), true.into());
        }
        v
    }
}

/// A healthy diagnosis: no plan, and an exit code that says so.
#[derive(Debug, Serialize)]
struct NothingToFix {
    verdict: String,
    events: u64,
}

impl Report for NothingToFix {
    fn exit(&self) -> Exit {
        Exit::NothingToFix
    }

    fn text(&self) -> String {
        let mut out = wrap(&self.verdict, "", "  ");
        out.push_str(&format!(
            "NOTHING TO FIX: {} events read, none shows a failure rdpfix knows how to fix;\n  \
             no plan was made. `fixer diagnose` shows what was looked for.\n",
            self.events
        ));
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": false,
            "exit": Exit::NothingToFix,
            "nothing_to_fix": true,
            "verdict": self.verdict,
            "events": self.events,
        })
    }
}
