//! JSON written for programs and read on terminals: paths as text plus, when
//! they are not UTF-8, their exact bytes in base64 (like ripgrep's JSON
//! printer's text/bytes pair), and strings with every terminal-unsafe
//! character escaped. Used by the report and the check.

use std::io::Write;

use base64::Engine as _;
use serde::Serialize;

/// A path as JSON text plus, when it is not UTF-8, its exact bytes in base64.
pub fn text_and_b64(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}

/// Writes `value` as compact JSON in which, beyond the C0 controls that JSON
/// itself escapes, every character unsafe on a terminal (BiDi overrides, C1
/// controls, DEL) is a `\uXXXX` escape: `darlings report` on a terminal
/// shows names as they are, and a JSON reader decodes them unchanged.
pub fn to_json<W: Write + ?Sized, T: Serialize>(w: &mut W, value: &T) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, TerminalSafe);
    value.serialize(&mut ser).map_err(std::io::Error::other)
}

/// serde_json's compact formatter plus escapes for terminal-unsafe characters.
struct TerminalSafe;

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if crate::text::is_unsafe_char(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_terminal_unsafe_characters() {
        let mut out = Vec::new();
        to_json(&mut out, &"a\u{202e}b\u{1b}c\u{85}d\né").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#""a\u202eb\u001bc\u0085d\né""#);
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, "a\u{202e}b\u{1b}c\u{85}d\né");
    }
}
