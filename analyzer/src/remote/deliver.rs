//! What the fix and enrolment scripts share, so the two cannot drift apart: the statements
//! that put `fixer.exe` in place (fetched from the page's own site into Program Files,
//! refused unless its SHA-256 is the published one) and the rendering of a script's
//! statements for both channels — one per line for Run Command, joined into one cmd.exe line
//! for Serial Console.

use super::quote;
use crate::envelope::{MAX_COMMAND_CHARS, TOKEN_PREFIX};
use serde::Serialize;
use thiserror::Error;

/// Where `fixer.exe` is kept on the VM: under Program Files, which only administrators
/// can write (a folder made in `C:\` inherits write access for every user).
pub const FIXER_DIR: &str = "rdpfix";
/// Exit code of a script when `fixer.exe` could not be downloaded.
pub const EXIT_DOWNLOAD_FAILED: i32 = 20;
/// Exit code of a script when the download's SHA-256 is not the expected one.
pub const EXIT_HASH_MISMATCH: i32 = 21;

/// Why no script could be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScriptError {
    #[error(
        "the fixer's address `{0}` cannot go into a command: use an https:// address without quotes, spaces or %"
    )]
    BadUrl(String),
    #[error("the fixer's SHA-256 must be 64 hexadecimal digits")]
    BadHash,
    #[error("this is not a fix token (rdpfix1.<N>.<DATA>): copy it from the page again")]
    BadToken,
    #[error(
        "the key's label `{0}` cannot go into a command: use 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit"
    )]
    BadLabel(String),
}

/// The `fixer.exe` a script puts on the VM: where it is downloaded from and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixerSource {
    url: String,
    /// Upper-case hex, as `Get-FileHash` prints it.
    sha256: String,
}

impl FixerSource {
    /// `url` must be https (http only for localhost) and hold nothing a shell would read;
    /// `sha256` is 64 hex digits.
    pub fn new(url: &str, sha256: &str) -> Result<Self, ScriptError> {
        let url = check_url(url)?;
        let sha256 = sha256.trim().to_ascii_uppercase();
        if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ScriptError::BadHash);
        }
        Ok(FixerSource {
            url: url.to_owned(),
            sha256,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// A script, ready for both channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The Run Command script (PowerShell 5.1).
    pub script: String,
    /// The Serial Console line for a cmd.exe prompt, when it fits cmd.exe's 8,191
    /// characters.
    pub serial_console: SerialLine,
}

/// The Serial Console line, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum SerialLine {
    Line(String),
    /// Longer than cmd.exe accepts: use the Run Command script, or `fixer apply -`.
    TooLong {
        chars: usize,
    },
}

/// `header` (comment lines), the statements that put `fixer.exe` from `source` at `$exe`,
/// then `then`: as the Run Command script and as one Serial Console line. No statement may
/// hold `"` or `%` (cmd.exe would read them); one that does leaves no Serial Console line.
pub(super) fn with_fixer(
    header: &[&str],
    source: &FixerSource,
    then: impl IntoIterator<Item = String>,
) -> Delivery {
    let statements: Vec<String> = fetch_statements(source, OnFailure::Exit)
        .into_iter()
        .chain(then)
        .collect();
    let mut script = String::new();
    for line in header {
        script.push_str("# ");
        script.push_str(line);
        script.push('\n');
    }
    for s in &statements {
        script.push_str(s);
        script.push('\n');
    }
    let command = statements.join("; ");
    let line = format!("powershell -NoProfile -ExecutionPolicy Bypass -Command \"{command}\"");
    let chars = line.chars().count();
    let serial_console = if chars < MAX_COMMAND_CHARS && quote::cmd_quotable(&command) {
        SerialLine::Line(line)
    } else {
        SerialLine::TooLong { chars }
    };
    Delivery {
        script,
        serial_console,
    }
}

/// What the statements that put `fixer.exe` in place do when they cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnFailure {
    /// Print why and exit with [`EXIT_DOWNLOAD_FAILED`] or [`EXIT_HASH_MISMATCH`] (a Run
    /// Command script: its exit code is the answer).
    Exit,
    /// Throw why, for a `catch` around them (a script run inside another one, as `az vm
    /// repair run` runs it, where `exit` would end the script before it says how it ended).
    Throw,
}

/// `$exe` is `fixer.exe` with the expected SHA-256 afterwards, or the script has exited
/// with [`EXIT_DOWNLOAD_FAILED`] or [`EXIT_HASH_MISMATCH`] (or thrown, by `on_failure`). A
/// copy already in place with that hash is kept (nothing downloaded), so a VM that cannot
/// reach the site can be given fixer.exe another way.
pub(super) fn fetch_statements(source: &FixerSource, on_failure: OnFailure) -> Vec<String> {
    let url = quote::powershell(&source.url);
    let sha = &source.sha256;
    let download = "($exe + '.download')";
    let fail = |message: String, code: i32| match on_failure {
        OnFailure::Exit => format!("Write-Output {message}; exit {code}"),
        OnFailure::Throw => format!("throw {message}"),
    };
    let download_failed = fail(
        format!(
            "('rdpfix: cannot download fixer.exe from ' + {url} + ': ' + $_.Exception.Message + ' - if this VM cannot reach that site, copy fixer.exe to ' + $exe + ' another way and run this again')"
        ),
        EXIT_DOWNLOAD_FAILED,
    );
    let hash_mismatch = fail(
        "('rdpfix: refused the download: its SHA-256 is ' + $got + ', expected ' + $sha + '; nothing was run')".to_owned(),
        EXIT_HASH_MISMATCH,
    );
    vec![
        "$ErrorActionPreference = 'Stop'".to_owned(),
        "$ProgressPreference = 'SilentlyContinue'".to_owned(),
        "[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12".to_owned(),
        format!("$dir = Join-Path $env:ProgramFiles '{FIXER_DIR}'"),
        "$exe = Join-Path $dir 'fixer.exe'".to_owned(),
        format!("$sha = '{sha}'"),
        format!(
            "if (-not (Test-Path $exe) -or (Get-FileHash -Algorithm SHA256 $exe).Hash -ne $sha) {{ \
New-Item -ItemType Directory -Force -Path $dir | Out-Null; \
try {{ Invoke-WebRequest -UseBasicParsing -Uri {url} -OutFile {download} }} \
catch {{ {download_failed} }}; \
$got = (Get-FileHash -Algorithm SHA256 {download}).Hash; \
if ($got -ne $sha) {{ Remove-Item -Force {download}; {hash_mismatch} }}; \
Move-Item -Force {download} $exe }}"
        ),
        // From here the fixer speaks for itself: with `Stop`, Windows PowerShell turns a
        // native command's stderr into a terminating error when its own stderr is
        // redirected (as Run Command's is), and the fixer's exit code would be lost.
        "$ErrorActionPreference = 'Continue'".to_owned(),
    ]
}

/// `token` without the blanks around it, if it looks like a fix token (`rdpfix1.` then only
/// characters no shell reads): what a script may put between single quotes.
pub(super) fn fix_token(token: &str) -> Result<&str, ScriptError> {
    let token = token.trim();
    let token_ok = token.starts_with(TOKEN_PREFIX)
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if token_ok {
        Ok(token)
    } else {
        Err(ScriptError::BadToken)
    }
}

fn check_url(url: &str) -> Result<&str, ScriptError> {
    let url = url.trim();
    let bad = || ScriptError::BadUrl(url.chars().take(80).collect());
    let rest = url
        .strip_prefix("https://")
        .or_else(|| {
            url.strip_prefix("http://")
                .filter(|r| r.starts_with("localhost") || r.starts_with("127.0.0.1"))
        })
        .ok_or_else(bad)?;
    let host_ok = rest.split(['/', ':']).next().is_some_and(|h| !h.is_empty());
    let chars_ok = rest.chars().all(|c| {
        c.is_ascii_graphic() && !matches!(c, '\'' | '"' | '%' | '`' | '$' | '\\' | '^' | '!')
    });
    if host_ok && chars_ok {
        Ok(url)
    } else {
        Err(bad())
    }
}
