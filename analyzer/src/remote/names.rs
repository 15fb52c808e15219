//! Azure resource names as the admin types them into the page, checked against Azure's
//! naming rules (learn.microsoft.com, "Naming rules and restrictions for Azure resources")
//! before they go into a command.

use serde::Serialize;
use thiserror::Error;

/// A name that Azure would refuse, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("the {what} name is empty: type it as the Azure portal shows it")]
    Empty { what: &'static str },
    #[error("the {what} name has {len} characters; Azure allows at most {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error(
        "the {what} name contains `{found}`, which Azure does not allow ({allowed}): check it in the Azure portal"
    )]
    BadCharacter {
        what: &'static str,
        found: char,
        allowed: &'static str,
    },
    #[error("the {what} name cannot end with `{found}`")]
    BadEnd { what: &'static str, found: char },
}

/// A resource group name: 1–90 letters, digits, `_`, `-`, `.`, `(`, `)`; not ending in `.`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ResourceGroup(String);

impl ResourceGroup {
    pub fn parse(text: &str) -> Result<ResourceGroup, NameError> {
        const WHAT: &str = "resource group";
        let name = text.trim();
        check_length(name, WHAT, 90)?;
        let allowed = "letters, digits, _ - . ( )";
        if let Some(found) = name
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')')))
        {
            return Err(NameError::BadCharacter {
                what: WHAT,
                found,
                allowed,
            });
        }
        if name.ends_with('.') {
            return Err(NameError::BadEnd {
                what: WHAT,
                found: '.',
            });
        }
        Ok(ResourceGroup(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Windows virtual machine's resource name: 1–64 ASCII letters, digits and `-` (no
/// spaces, periods or other punctuation), not ending in `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct VmName(String);

impl VmName {
    pub fn parse(text: &str) -> Result<VmName, NameError> {
        const WHAT: &str = "virtual machine";
        let name = text.trim();
        check_length(name, WHAT, 64)?;
        if let Some(found) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(NameError::BadCharacter {
                what: WHAT,
                found,
                allowed: "letters, digits and -",
            });
        }
        if name.starts_with('-') {
            return Err(NameError::BadCharacter {
                what: WHAT,
                found: '-',
                allowed: "a letter or digit first",
            });
        }
        if name.ends_with('-') {
            return Err(NameError::BadEnd {
                what: WHAT,
                found: '-',
            });
        }
        Ok(VmName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_length(name: &str, what: &'static str, max: usize) -> Result<(), NameError> {
    let len = name.chars().count();
    if len == 0 {
        return Err(NameError::Empty { what });
    }
    if len > max {
        return Err(NameError::TooLong { what, len, max });
    }
    Ok(())
}
