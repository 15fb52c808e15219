//! Reading a signed plan (or another token) from an argument, a file, or `-` for stdin.
//!
//! On a terminal, `-` takes the fix token pasted in as many lines as the console needs
//! (Serial Console cuts long lines): each line says how much is still missing, and reading
//! stops as soon as the token is complete — no end-of-input key needed.

use crate::operator::{ANSWER_TIMEOUT, Operator};
use analyzer::envelope::{TokenProgress, TokenReader};
use std::io::Read;
use std::path::Path;

/// More than any envelope the checks accept; it stops a runaway read before they run.
pub const READ_LIMIT: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read {source_name}: {error}")]
    Read {
        source_name: String,
        error: std::io::Error,
    },
    #[error("{source_name} is larger than {limit} bytes; that is not a plan")]
    TooLarge { source_name: String, limit: u64 },
    #[error("{source_name} is empty; pass the plan, a file holding it, or - to read stdin")]
    Empty { source_name: String },
    #[error("the paste stopped before the fix token was complete ({detail}); paste it again")]
    Incomplete { detail: String },
}

/// Where a token came from, for messages and the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub source: String,
    pub text: Vec<u8>,
}

/// Like [`read`], but `-` on a terminal reads a token pasted in lines (see the module doc).
pub fn read_from(arg: &str, operator: &dyn Operator) -> Result<Token, TokenError> {
    if arg == "-" && operator.interactive() {
        return read_pasted(operator);
    }
    read(arg)
}

/// A fix token pasted in pieces on a terminal.
fn read_pasted(operator: &dyn Operator) -> Result<Token, TokenError> {
    let mut reader = TokenReader::new();
    operator.show("Paste the fix token (in as many lines as you like):\n");
    let mut last = None;
    let mut pasted = String::new();
    while let Some(line) = operator.read_line(ANSWER_TIMEOUT) {
        pasted.push_str(line.trim());
        match reader.push(&line) {
            TokenProgress::Complete(token) => {
                return Ok(Token {
                    source: "paste".into(),
                    text: token.into_bytes(),
                });
            }
            TokenProgress::NeedMore {
                have,
                expected: Some(n),
            } => {
                operator.show(&format!("  {have} of {n} characters; paste the rest\n"));
                last = Some(format!("{have} of {n} characters arrived"));
            }
            TokenProgress::NeedMore { .. } => {}
            // Check 1 says precisely what is wrong with it.
            TokenProgress::Invalid(_) => {
                return Ok(Token {
                    source: "paste".into(),
                    text: pasted.into_bytes(),
                });
            }
        }
    }
    Err(TokenError::Incomplete {
        detail: last.unwrap_or_else(|| "no token arrived".into()),
    })
}

/// `-` reads stdin; an argument naming an existing file reads the file; anything else is the
/// token itself. Surrounding whitespace (a pasted line's CR/LF) is trimmed.
pub fn read(arg: &str) -> Result<Token, TokenError> {
    let (source, bytes) = if arg == "-" {
        (
            "stdin".to_owned(),
            read_limited(std::io::stdin().lock(), "stdin")?,
        )
    } else if arg.len() < 1024 && Path::new(arg).is_file() {
        let file = std::fs::File::open(arg).map_err(|error| TokenError::Read {
            source_name: arg.to_owned(),
            error,
        })?;
        (arg.to_owned(), read_limited(file, arg)?)
    } else {
        ("argument".to_owned(), arg.as_bytes().to_vec())
    };
    let text = trim(&bytes).to_vec();
    if text.is_empty() {
        return Err(TokenError::Empty {
            source_name: source,
        });
    }
    Ok(Token { source, text })
}

fn read_limited(r: impl Read, name: &str) -> Result<Vec<u8>, TokenError> {
    let mut buf = Vec::new();
    r.take(READ_LIMIT + 1)
        .read_to_end(&mut buf)
        .map_err(|error| TokenError::Read {
            source_name: name.to_owned(),
            error,
        })?;
    if buf.len() as u64 > READ_LIMIT {
        return Err(TokenError::TooLarge {
            source_name: name.to_owned(),
            limit: READ_LIMIT,
        });
    }
    Ok(buf)
}

fn trim(b: &[u8]) -> &[u8] {
    // A UTF-8 BOM, as Notepad and PowerShell's Out-File may write it, is not part of a token.
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_token_from_a_file_trimming_bom_and_crlf() {
        let dir = std::env::temp_dir().join(format!("fixer-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plan.txt");
        std::fs::write(&path, b"\xEF\xBB\xBF  eyJhYmMi\r\n").unwrap();
        let t = read(path.to_str().unwrap()).unwrap();
        assert_eq!(t.text, b"eyJhYmMi");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_argument_that_is_not_a_file_is_the_token() {
        let t = read(" eyJhYmMi\n").unwrap();
        assert_eq!(
            (t.source.as_str(), t.text.as_slice()),
            ("argument", &b"eyJhYmMi"[..])
        );
        assert!(matches!(read(" \r\n"), Err(TokenError::Empty { .. })));
    }

    #[test]
    fn refuses_oversized_input_before_holding_it_all() {
        let big = vec![b'a'; (READ_LIMIT + 10) as usize];
        assert!(matches!(
            read_limited(&big[..], "x"),
            Err(TokenError::TooLarge { .. })
        ));
    }
}
