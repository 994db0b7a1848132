//! The user's ignore rules (`--ignore FILE`): gitignore-style patterns, relative
//! to ROOT, of stray paths accepted as ephemeral.

use std::path::Path;

use crate::{Error, Result};

/// Loads gitignore-style rules, relative to ROOT. A missing file is an empty
/// rule set (the TUI creates it on the first dismissal).
pub fn load_ignore(file: &Path) -> Result<Option<ignore::gitignore::Gitignore>> {
    let text = match crate::safe_open::read_regular(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read ignore file", file, e)),
    };
    parse_ignore(text, file).map(Some)
}

/// Parses gitignore-style rules read from `file` (named in errors).
pub fn parse_ignore(text: Vec<u8>, file: &Path) -> Result<ignore::gitignore::Gitignore> {
    let text = String::from_utf8(text)
        .map_err(|_| Error::bad_input(file, "ignore rules must be UTF-8 text"))?;
    let mut b = ignore::gitignore::GitignoreBuilder::new("/");
    for (n, line) in text.lines().enumerate() {
        b.add_line(None, line).map_err(|e| {
            Error::bad_input(
                file,
                format!("line {}: invalid rule '{}': {e}", n + 1, line),
            )
        })?;
    }
    b.build()
        .map_err(|e| Error::bad_input(file, format!("invalid rules: {e}")))
}
