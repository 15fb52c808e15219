//! The person at the console, when there is one: where a plan can be pasted in pieces and
//! consent asked. Under Azure Run Command nobody is there (stdin is not a terminal): the
//! fixer never waits for an answer that cannot come, and says to add `--yes` instead.
//!
//! Commands talk to the operator only through [`Operator`], so tests script the answers
//! and `main` supplies the terminal.

use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

/// How long a question waits for an answer before it counts as "no".
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// An answer to a yes/no question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// No terminal, end of input, or no answer in time.
    NoAnswer,
}

pub trait Operator {
    /// Someone can answer: stdin is an interactive terminal (Serial Console, a console
    /// window). False under Run Command, with `--json`, or when stdin is a pipe.
    fn interactive(&self) -> bool;
    /// Shows text now (the dry-run before the question, how much of a paste arrived).
    fn show(&self, text: &str);
    /// One line from the operator, without its line break; `None` at end of input or after
    /// `timeout`.
    fn read_line(&self, timeout: Duration) -> Option<String>;

    /// Asks a yes/no question; only `yes` or `y` (any case) is a yes.
    fn ask(&self, question: &str) -> Answer {
        if !self.interactive() {
            return Answer::NoAnswer;
        }
        self.show(question);
        match self.read_line(ANSWER_TIMEOUT) {
            Some(line) if matches!(line.trim().to_ascii_lowercase().as_str(), "yes" | "y") => {
                Answer::Yes
            }
            Some(_) => Answer::No,
            None => Answer::NoAnswer,
        }
    }
}

/// Nobody at the console: what tests, `--json` and non-terminal stdin get.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nobody;

impl Operator for Nobody {
    fn interactive(&self) -> bool {
        false
    }

    fn show(&self, _text: &str) {}

    fn read_line(&self, _timeout: Duration) -> Option<String> {
        None
    }
}

/// The process's own console: stdin for answers, stderr for what is shown meanwhile (so
/// stdout carries only the report).
#[derive(Debug)]
pub struct Terminal {
    interactive: bool,
    lines: std::sync::Mutex<Option<mpsc::Receiver<String>>>,
}

impl Terminal {
    /// `interactive`: stdin is a terminal and the output is not JSON.
    pub fn new(interactive: bool) -> Self {
        Terminal {
            interactive,
            lines: std::sync::Mutex::new(None),
        }
    }

    /// Lines of stdin from a reader thread, so a read can give up after a timeout (a thread
    /// blocked on a console read cannot be interrupted; it ends with the process).
    fn receiver(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Receiver<String>>> {
        let mut guard = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            *guard = Some(rx);
        }
        guard
    }
}

impl Operator for Terminal {
    fn interactive(&self) -> bool {
        self.interactive
    }

    fn show(&self, text: &str) {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    fn read_line(&self, timeout: Duration) -> Option<String> {
        let guard = self.receiver();
        guard.as_ref()?.recv_timeout(timeout).ok()
    }
}
