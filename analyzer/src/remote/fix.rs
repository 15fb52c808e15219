//! The fix going in through the channels: a Run Command script that fetches `fixer.exe`
//! from the page's own site, refuses it unless its SHA-256 is the published one, and runs
//! `fixer.exe apply --yes <token>`; and the same as one cmd.exe line for Serial Console.
//!
//! Nothing is enrolled: the plan is applied only if its signer's key is already trusted on
//! the VM (`fixer trust add`, run deliberately); otherwise the fixer refuses it and says so.

use super::quote;
use crate::envelope::{MAX_COMMAND_CHARS, TOKEN_PREFIX};
use serde::Serialize;
use thiserror::Error;

/// Where `fixer.exe` is kept on the VM: under Program Files, which only administrators
/// can write (a folder made in `C:\` inherits write access for every user).
pub const FIXER_DIR: &str = "rdpfix";
/// Exit code of the script when `fixer.exe` could not be downloaded.
pub const EXIT_DOWNLOAD_FAILED: i32 = 20;
/// Exit code of the script when the download's SHA-256 is not the expected one.
pub const EXIT_HASH_MISMATCH: i32 = 21;

/// Why no fix script could be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FixScriptError {
    #[error(
        "the fixer's address `{0}` cannot go into a command: use an https:// address without quotes, spaces or %"
    )]
    BadUrl(String),
    #[error("the fixer's SHA-256 must be 64 hexadecimal digits")]
    BadHash,
    #[error("this is not a fix token (rdpfix1.<N>.<DATA>): copy it from the page again")]
    BadToken,
}

/// The fix, ready for both channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixDelivery {
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

/// The fix script for `token`, downloading `fixer.exe` from `fixer_url` (checked against
/// `sha256`, hex).
pub fn fix_delivery(
    fixer_url: &str,
    sha256: &str,
    token: &str,
) -> Result<FixDelivery, FixScriptError> {
    let url = check_url(fixer_url)?;
    let sha = sha256.trim().to_ascii_uppercase();
    if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(FixScriptError::BadHash);
    }
    let token = token.trim();
    let token_ok = token.starts_with(TOKEN_PREFIX)
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !token_ok {
        return Err(FixScriptError::BadToken);
    }
    let statements = statements(url, &sha, token);
    let mut script = String::from(
        "# rdpfix: download fixer.exe, check its SHA-256, apply the signed plan (nothing is enrolled).\n\
         # The plan runs only if its signer is already trusted here (fixer.exe trust list).\n",
    );
    for s in &statements {
        script.push_str(s);
        script.push('\n');
    }
    let line = format!(
        "powershell -NoProfile -ExecutionPolicy Bypass -Command \"{}\"",
        statements.join("; ")
    );
    let chars = line.chars().count();
    let serial_console = if chars < MAX_COMMAND_CHARS && quote::cmd_quotable(&statements.join("; "))
    {
        SerialLine::Line(line)
    } else {
        SerialLine::TooLong { chars }
    };
    Ok(FixDelivery {
        script,
        serial_console,
    })
}

/// The script as statements: joined by newlines it is the Run Command script, joined by
/// `; ` the Serial Console line. No `"` or `%` anywhere (cmd.exe would read them).
fn statements(url: &str, sha: &str, token: &str) -> Vec<String> {
    let url = quote::powershell(url);
    let download = "($exe + '.download')";
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
catch {{ Write-Output ('rdpfix: cannot download fixer.exe from ' + {url} + ': ' + $_.Exception.Message + ' - if this VM cannot reach that site, copy fixer.exe to ' + $exe + ' another way and run this again'); exit {EXIT_DOWNLOAD_FAILED} }}; \
$got = (Get-FileHash -Algorithm SHA256 {download}).Hash; \
if ($got -ne $sha) {{ Remove-Item -Force {download}; Write-Output ('rdpfix: refused the download: its SHA-256 is ' + $got + ', expected ' + $sha + '; nothing was run'); exit {EXIT_HASH_MISMATCH} }}; \
Move-Item -Force {download} $exe }}"
        ),
        format!("& $exe apply --yes {}", quote::powershell(token)),
        "exit $LASTEXITCODE".to_owned(),
    ]
}

fn check_url(url: &str) -> Result<&str, FixScriptError> {
    let url = url.trim();
    let bad = || FixScriptError::BadUrl(url.chars().take(80).collect());
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
