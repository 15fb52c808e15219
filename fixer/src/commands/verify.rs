//! `fixer verify <plan>`: checks 1–9, changes nothing. Also the pieces `apply` shares: the
//! plan as people read it, and the refusal of a plan by a check.

use super::{CommandError, CommandResult};
use crate::exit::Exit;
use crate::host::Host;
use crate::operator::Operator;
use crate::report::{Report, ascii_lines, ascii_safe, wrap};
use crate::token::{self, TokenError};
use crate::verification::{self, Target, Verified, VerifyError};
use analyzer::envelope::Rejection;
use analyzer::plan::{AllowedStep, Labels};
use jiff::Timestamp;
use serde::Serialize;

/// `offline`: the drive of an attached OS disk (or `auto`) an offline plan is checked
/// against.
pub fn run(
    host: &dyn Host,
    plan: &str,
    offline: Option<&str>,
    operator: &dyn Operator,
) -> CommandResult {
    let token = read_plan(plan, operator)?;
    let disk = match offline {
        Some(drive) => Some(
            crate::host::offline::find_disk(
                host,
                drive,
                super::apply::plan_guid(&token.text).as_ref(),
            )
            .map_err(super::apply::disk_err)?,
        ),
        None => None,
    };
    let target = disk.as_ref().map_or(Target::Running, Target::Disk);
    match verification::verify_for(host, &token.text, target).map_err(verify_err)? {
        Ok(verified) => {
            let mut plan = PlanView::new(&verified);
            plan.disk = disk.as_ref().map(verification::disk_text);
            Ok(Box::new(VerifyReport {
                plan,
                unfinished: verified
                    .journal
                    .blocking()
                    .iter()
                    .map(|p| p.begin.plan_id.clone())
                    .collect(),
            }))
        }
        Err(rejection) => Ok(Box::new(Rejected::new(&rejection))),
    }
}

/// Reads the plan argument; a file that cannot be read is a failure, an empty one a usage
/// error.
pub fn read_plan(arg: &str, operator: &dyn Operator) -> Result<token::Token, CommandError> {
    token::read_from(arg, operator).map_err(|e| match e {
        TokenError::Empty { .. } => CommandError::new(Exit::Usage, e),
        _ => CommandError::new(Exit::Failure, e),
    })
}

pub fn verify_err(e: VerifyError) -> CommandError {
    match e {
        VerifyError::StateDir(s) => s.into(),
        VerifyError::Trust(t) => t.into(),
        VerifyError::Host(h) => h.into(),
        VerifyError::Journal(crate::journal::JournalError::Host(h)) => h.into(),
        VerifyError::Journal(j) => CommandError::new(Exit::Failure, j),
    }
}

/// What each check of SIGNED-PLANS.md looks at, for messages.
pub fn check_name(check: u8) -> &'static str {
    match check {
        1 => "size and encoding",
        2 => "payload type",
        3 => "trusted key",
        4 => "signature",
        5 => "plan format",
        6 => "computer",
        7 => "validity period",
        8 => "replay",
        9 => "allowlist",
        _ => "preconditions",
    }
}

/// One step as the plan states it, with what it does to the machine.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub index: usize,
    pub summary: String,
    pub labels: Labels,
}

/// A verified plan as people read it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    pub plan_id: String,
    pub computer: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub seq: u64,
    pub findings: Vec<String>,
    pub key_label: String,
    pub key_fingerprint: String,
    pub steps: Vec<StepView>,
    /// An offline plan: the attached disk it was checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<String>,
}

impl PlanView {
    pub fn new(v: &Verified) -> Self {
        let plan = v.plan.plan();
        PlanView {
            plan_id: plan.plan_id.to_string(),
            computer: plan.target.computer.to_string(),
            issued_at: plan.issued_at,
            expires_at: plan.expires_at,
            seq: plan.seq,
            findings: plan.findings.iter().map(ToString::to_string).collect(),
            key_label: v.plan.signer().label.clone(),
            key_fingerprint: v.plan.signer_fingerprint().to_string(),
            steps: v
                .plan
                .steps()
                .iter()
                .enumerate()
                .map(|(i, s)| step_view(i + 1, s))
                .collect(),
            disk: None,
        }
    }

    /// Plan id and target, signer, validity: three lines.
    pub fn header(&self) -> String {
        let mut out = String::new();
        let findings = if self.findings.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.findings.join(", "))
        };
        out.push_str(&wrap(
            &format!("plan {} for {}{findings}", self.plan_id, self.computer),
            "",
            "  ",
        ));
        out.push_str(&wrap(
            &format!(
                "key \"{}\" {}",
                ascii_safe(&self.key_label),
                self.key_fingerprint
            ),
            "  ",
            "    ",
        ));
        out.push_str(&format!(
            "  valid {} to {}, seq {}\n",
            self.issued_at, self.expires_at, self.seq
        ));
        if let Some(disk) = &self.disk {
            out.push_str(&wrap(&format!("offline: {disk}"), "  ", "    "));
        }
        out
    }
}

fn step_view(index: usize, step: &AllowedStep) -> StepView {
    StepView {
        index,
        summary: step.summary(),
        labels: step.labels(),
    }
}

/// `[reversible, drops RDP sessions]`: what consent is given to.
pub fn label_tag(l: &Labels) -> String {
    format!("[{}]", l.tags().join(", "))
}

#[derive(Debug, Serialize)]
struct VerifyReport {
    plan: PlanView,
    /// Earlier plans that must be rolled back or confirmed before this one can be applied.
    unfinished: Vec<String>,
}

impl Report for VerifyReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        let mut out = self.plan.header();
        for s in &self.plan.steps {
            let line = format!("{} {}", s.summary, label_tag(&s.labels));
            out.push_str(&wrap(&line, &format!("{:>2} ", s.index), "   "));
        }
        out.push_str(
            "checks 1-9 passed: size, payload type, trusted key, signature, plan format,\n  \
             computer, validity period, replay, allowlist\n",
        );
        for id in &self.unfinished {
            out.push_str(&format!(
                "NOTE: plan {id} is unfinished or awaits confirmation; `fixer apply` will\n  \
                 refuse until it is rolled back (fixer rollback {id}) or confirmed.\n"
            ));
        }
        out.push_str(&format!(
            "VERIFIED plan {}: nothing was changed.\nNEXT: fixer apply {}--dry-run <plan>\n",
            self.plan.plan_id,
            if self.plan.disk.is_some() {
                "--offline auto "
            } else {
                ""
            }
        ));
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("ok".into(), true.into());
            o.insert("outcome".into(), "verified".into());
        }
        v
    }
}

/// A plan refused by one of the checks: nothing was changed.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub check: u8,
    pub code: String,
    pub reason: String,
}

impl Rejected {
    pub fn new(r: &Rejection) -> Self {
        Rejected {
            check: r.check(),
            code: r.code().to_owned(),
            reason: r.to_string(),
        }
    }

    /// Check 10: a precondition that does not hold on this machine.
    pub fn precondition(reason: String) -> Self {
        Rejected {
            check: 10,
            code: "precondition".into(),
            reason,
        }
    }
}

impl Report for Rejected {
    fn exit(&self) -> Exit {
        Exit::Rejected
    }

    fn text(&self) -> String {
        let mut out = wrap(
            &format!(
                "REJECTED by check {} ({}): {}",
                self.check,
                check_name(self.check),
                self.reason
            ),
            "",
            "  ",
        );
        out.push_str("Nothing was changed.\n");
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": false,
            "outcome": "rejected",
            "check": self.check,
            "code": self.code,
            "reason": self.reason,
        })
    }
}
