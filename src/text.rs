//! Text for people: file names made safe to print (control characters,
//! ESC/OSC sequences, BiDi overrides and invalid UTF-8 never reach a terminal
//! raw), byte counts and timestamps.

use std::fmt::Write as _;
use std::path::Path;

/// Returns true if and only if `c` must not be printed raw on a terminal:
/// C0/C1 controls, DEL, and the Unicode BiDi embedding/override/isolate marks
/// (which can make a name display as something it is not).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Escapes raw name bytes for display: valid UTF-8 is kept except unsafe
/// characters (shown as `\n`, `\t`, `\e`, `\u{…}`), invalid bytes become `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\u{1b}' => out.push_str("\\e"),
        '\\' => out.push_str("\\\\"),
        c if is_unsafe_char(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Escapes a path for display (see [`escape_bytes`]).
pub fn quote_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    escape_bytes(path.as_os_str().as_bytes())
}

/// Escapes an arbitrary string for display on a terminal.
pub fn escape_str(s: &str) -> String {
    escape_bytes(s.as_bytes())
}

/// Escapes only the unsafe characters of an already composed message (an
/// error, clap's usage text), leaving backslashes alone so names escaped
/// earlier are not escaped twice: the last line of defence before stderr.
/// Newlines are kept when `keep_newlines` (multi-line usage text).
pub fn escape_message(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (c == '\n' && keep_newlines) || c == '\\' {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
    }
    out
}

/// `bytes` as one word of a shell command (bash, zsh; POSIX sh for all but
/// `$'…'`) that is also safe to print on a terminal: as is when it has no special characters, else single-quoted,
/// or, when it holds control characters, bytes that are not UTF-8 or
/// characters that reorder text, bash's `$'…'` with those as `\xNN`.
pub fn shell_quote(bytes: &[u8]) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"/._+-:@%,=".contains(&b);
    if !bytes.is_empty() && bytes.iter().all(|&b| plain(b)) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let clean = std::str::from_utf8(bytes).is_ok_and(|s| !s.chars().any(is_unsafe_char));
    if clean {
        let s = String::from_utf8_lossy(bytes);
        return format!("'{}'", s.replace('\'', "'\\''"));
    }
    let mut out = String::from("$'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                c if is_unsafe_char(c) => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('\'');
    out
}

/// The singular or the plural word for `n` things ("1 entry", "2 entries").
pub fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Human-readable byte count (`1.5 GiB`).
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Formats ns since the epoch as RFC 3339 UTC (`2026-11-25T10:00:00Z`, with
/// fractional seconds when present).
pub fn rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for all i64 days we can meet.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let (hh, mm, ss) = (sod / 3600, sod % 3600 / 60, sod % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:09}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_invalid_utf8_are_escaped() {
        assert_eq!(escape_bytes(b"a\nb"), "a\\nb");
        assert_eq!(escape_bytes(b"\x1b]0;pwned\x07"), "\\e]0;pwned\\u{7}");
        assert_eq!(escape_bytes(b"caf\xe9"), "caf\\xe9");
        assert_eq!(
            escape_bytes("évil\u{202e}txt".as_bytes()),
            "évil\\u{202e}txt"
        );
        assert_eq!(escape_bytes(b"plain/path"), "plain/path");
    }

    #[test]
    fn messages_are_escaped_once() {
        assert_eq!(
            escape_message("bad 'a\\nb' \u{1b}[2J\u{202e}\nnext", true),
            "bad 'a\\nb' \\e[2J\\u{202e}\nnext"
        );
        assert_eq!(escape_message("a\nb", false), "a\\nb");
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_600_800_000_000_000), "2026-11-25T10:00:00Z");
        assert_eq!(
            rfc3339(951_782_400_500_000_000),
            "2000-02-29T00:00:00.500000000Z"
        );
        assert_eq!(rfc3339(-1_000_000_000), "1969-12-31T23:59:59Z");
    }
}
