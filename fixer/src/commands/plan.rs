//! `fixer plan --key <keyfile> <logs>`: the page's plan, from the command line, for
//! automation and fleets. Diagnoses the logs, proposes the catalog's remediation of every
//! finding (`analyzer::plan::Proposal::for_diagnosis`), leaves out the optional steps asked
//! for, signs with a key file from `fixer keygen`, and returns the fix command for cmd.exe
//! and PowerShell — or, when the command would pass cmd.exe's 8,191 characters, the plan
//! file to copy instead. Same inputs, key and time: the same payload as the page, its
//! random `plan_id` aside.

use super::diagnose::read_inputs;
use super::verify::label_tag;
use super::{CommandError, CommandResult};
use crate::cli::PlanArgs;
use crate::exit::Exit;
use crate::report::{Report, ascii_lines, ascii_safe, wrap};
use analyzer::diagnose::DiagnoseOptions;
use analyzer::envelope::{FixCommand, MAX_COMMAND_CHARS, PreparedPlan, SecretKey, Shell};
use analyzer::plan::{BuildError, Labels, PlanId, PlanParams, Proposal};
use anyhow::{Context, anyhow};
use jiff::Timestamp;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub fn run(args: &PlanArgs) -> CommandResult {
    // The key first: a bad key file should not wait for a large log to be read.
    let key = read_key(&args.key)?;
    let session = read_inputs(&args.files)?;
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
    let params = PlanParams::for_diagnosis_on(
        &diagnosis,
        args.computer.as_deref(),
        issued_at,
        PlanId::from_random(random),
    )
    .map_err(|e| CommandError::new(Exit::Failure, computer_help(e)))?;
    let plan = proposal
        .to_plan(&params)
        .map_err(|e| CommandError::new(Exit::Failure, e))?;
    let signed = PreparedPlan::new(&plan)
        .and_then(|p| p.sign_with(&key))
        .map_err(|e| CommandError::new(Exit::Failure, e))?;

    let commands = [Shell::Cmd, Shell::PowerShell].map(|shell| signed.fix_command(shell));
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
    Ok(Box::new(PlanReport {
        verdict: diagnosis.verdict,
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
        token: signed.token(),
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

/// The logs name several computers: say how to pick one.
fn computer_help(e: BuildError) -> anyhow::Error {
    match e {
        BuildError::SeveralComputers { .. } | BuildError::ComputerNotInLogs { .. } => {
            anyhow!("{e}; pick it with --computer <name>")
        }
        other => anyhow!(other),
    }
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

#[derive(Debug, Serialize)]
struct PlanReport {
    verdict: String,
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
    token: String,
    /// The one-line fix commands; `None` when too long for cmd.exe (use the plan file).
    cmd: Option<String>,
    powershell: Option<String>,
    /// The fix command's length when it is too long.
    command_chars: Option<usize>,
    plan_file: Option<String>,
}

impl Report for PlanReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        let mut out = wrap(&self.verdict, "", "  ");
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
        out.push_str(&wrap(
            &format!("signed with key {}", self.fingerprint),
            "",
            "  ",
        ));
        out.push_str(&format!(
            "Enrol the key on the VM once, and compare the fingerprint it prints:\n  \
             fixer.exe trust add {} --label <name>\n",
            self.public_key
        ));
        let mut out = ascii_lines(&out);
        if let Some(file) = &self.plan_file {
            let file = ascii_safe(file);
            if let Some(chars) = self.command_chars {
                out.push_str(&format!(
                    "The fix command would be {chars} characters, more than cmd.exe's \
                     {MAX_COMMAND_CHARS}:\nthe plan is in {file}. Copy it to the VM and run:\n  \
                     fixer.exe apply {file}\n"
                ));
            } else {
                out.push_str(&format!(
                    "Plan file: {file} (or run: fixer.exe apply {file})\n"
                ));
            }
        }
        // Commands last, whole, on their own lines: what a script or a person copies.
        if let (Some(cmd), Some(ps)) = (&self.cmd, &self.powershell) {
            out.push_str(&format!(
                "Fix command for PowerShell ({} characters):\n{ps}\n\
                 Fix command for cmd.exe and Serial Console ({} characters):\n{cmd}\n",
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
