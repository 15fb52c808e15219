//! The commit-confirm rollback task as Task Scheduler XML: a pure function, so it is tested
//! everywhere; the Windows host registers it with `schtasks.exe /Create /XML`.

use super::{HostError, HostResult};
use jiff::Timestamp;
use std::path::Path;

/// `\rdpfix\rollback-<plan id>`; a plan id is hex, so nothing else gets into the name.
pub fn task_name(plan_id: &str) -> HostResult<String> {
    if plan_id.is_empty()
        || !plan_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(HostError::failed(
            "scheduled rollback",
            format!("unexpected plan id {plan_id:?}"),
        ));
    }
    Ok(format!(r"\rdpfix\rollback-{plan_id}"))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The task definition: run as SYSTEM at `deadline` (or at the next boot if the machine was
/// off then), `fixer.exe rollback <id> --unless-confirmed --yes`, from the copy of fixer.exe
/// in the admin-only task folder.
pub fn task_xml(exe: &Path, plan_id: &str, deadline: Timestamp) -> String {
    let start = deadline.strftime("%Y-%m-%dT%H:%M:%SZ");
    format!(
        r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Description>rdpfix: roll back plan {plan_id} unless `fixer confirm {plan_id}` ran first</Description></RegistrationInfo>
  <Triggers><TimeTrigger><StartBoundary>{start}</StartBoundary><Enabled>true</Enabled></TimeTrigger></Triggers>
  <Principals><Principal id="System"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal></Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <ExecutionTimeLimit>PT30M</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="System"><Exec><Command>{}</Command><Arguments>rollback {plan_id} --unless-confirmed --yes</Arguments></Exec></Actions>
</Task>
"#,
        xml_escape(&exe.display().to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_runs_the_admin_only_copy_as_system_at_the_deadline() {
        let exe = Path::new(r"C:\Program Files\rdpfix & co\fixer.exe");
        let deadline: Timestamp = "2026-11-25T10:15:00Z".parse().unwrap();
        let xml = task_xml(exe, "0123abcd", deadline);
        assert!(xml.contains("<UserId>S-1-5-18</UserId>"));
        assert!(xml.contains("<StartBoundary>2026-11-25T10:15:00Z</StartBoundary>"));
        assert!(xml.contains("<StartWhenAvailable>true</StartWhenAvailable>"));
        assert!(xml.contains(r"<Command>C:\Program Files\rdpfix &amp; co\fixer.exe</Command>"));
        assert!(xml.contains("<Arguments>rollback 0123abcd --unless-confirmed --yes</Arguments>"));
        assert_eq!(task_name("0123abcd").unwrap(), r"\rdpfix\rollback-0123abcd");
        assert!(task_name("x\" ; del").is_err());
        assert!(task_name("").is_err());
    }
}
