//! The layout of a file a person wrote, as far as darlings needs to copy
//! it: lines, their indentation, the file's indentation step, and where a
//! line really ends (after a trailing comment).

/// The offset where the line holding `pos` starts.
pub(super) fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The 1-based line number of `pos`.
pub(super) fn line_of(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())].matches('\n').count() + 1
}

/// The leading blanks (spaces and tabs) of `line`.
pub(super) fn indent_of(line: &str) -> &str {
    let n = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..n]
}

/// The indentation of the line holding `pos` when `pos` is the first thing
/// on it; `None` when something comes before it on the line.
pub(super) fn leading_indent(text: &str, pos: usize) -> Option<&str> {
    let ls = line_start(text, pos);
    let before = &text[ls..pos];
    before
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(before)
}

/// The indentation of the line holding `pos`.
pub(super) fn line_indent(text: &str, pos: usize) -> &str {
    indent_of(&text[line_start(text, pos)..])
}

/// The file's indentation step: the most frequent increase of indentation
/// from one line to the next (two spaces when the file says nothing).
pub(super) fn indent_unit(text: &str) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    let mut prev: Option<&str> = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let ind = indent_of(line);
        if let Some(p) = prev
            && ind.len() > p.len()
            && let Some(step) = ind.strip_prefix(p)
        {
            match counts.iter_mut().find(|(s, _)| *s == step) {
                Some((_, n)) => *n += 1,
                None => counts.push((step, 1)),
            }
        }
        prev = Some(ind);
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .map_or_else(|| "  ".to_string(), |(s, _)| (*s).to_string())
}

/// The offset just after the end of the line on which `pos` lies, when
/// only blanks and comments follow `pos` on that line (a trailing `# …` or a
/// `/* … */` closed on the same line); `None` when code follows, or a block
/// comment runs on to the next lines.
pub(super) fn end_of_line_after(text: &str, pos: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = pos;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => return Some(i + 1),
            b'#' => {
                return Some(text[i..].find('\n').map_or(text.len(), |n| i + n + 1));
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let close = text[i + 2..].find("*/")? + i + 2;
                if text[i..close].contains('\n') {
                    return None;
                }
                i = close + 2;
            }
            _ => return None,
        }
    }
    // The end of the file without a final newline.
    None
}

/// Returns true if and only if the line holding `pos`, from its start up to
/// `pos`, holds nothing but a comment (`# …`) after blanks.
pub(super) fn is_comment_line(line: &str) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    t.starts_with('#')
}

/// The most frequent of `indents` (the last one on a tie), if any.
pub(super) fn dominant<'a>(indents: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for ind in indents {
        match counts.iter_mut().find(|(s, _)| *s == ind) {
            Some((_, n)) => *n += 1,
            None => counts.push((ind, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts
        .iter()
        .rev()
        .find(|(_, n)| *n == best)
        .map(|(s, _)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_indentation() {
        let t = "{\n  a = [\n    \"x\" # why\n\t\"y\"\n  ];\n}\n";
        let x = t.find("\"x\"").unwrap();
        assert_eq!(line_of(t, x), 3);
        assert_eq!(leading_indent(t, x), Some("    "));
        assert_eq!(leading_indent(t, x + 1), None);
        assert_eq!(line_indent(t, x + 2), "    ");
        assert_eq!(indent_unit(t), "  ");
        assert_eq!(indent_unit("{\n    a = 1;\n}"), "    ");
        assert_eq!(indent_unit("{\n\ta = {\n\t\tb = 1;\n\t};\n}"), "\t");
        assert_eq!(indent_unit("{ }"), "  ");
        assert_eq!(dominant(["  ", "\t", "  "]), Some("  "));
        assert_eq!(dominant(Vec::<&str>::new()), None);
    }

    #[test]
    fn a_line_ends_after_its_trailing_comment() {
        let t = "\"a\" # note\n\"b\" /* c */\n\"c\" /* runs\n on */\n\"d\" \"e\"\n\"f\"";
        assert_eq!(end_of_line_after(t, 3), Some(t.find("\"b\"").unwrap()));
        let b = t.find("\"b\"").unwrap() + 3;
        assert_eq!(end_of_line_after(t, b), Some(t.find("\"c\"").unwrap()));
        let c = t.find("\"c\"").unwrap() + 3;
        assert_eq!(end_of_line_after(t, c), None);
        let d = t.find("\"d\"").unwrap() + 3;
        assert_eq!(end_of_line_after(t, d), None);
        assert_eq!(end_of_line_after(t, t.len()), None);
        assert!(is_comment_line("   # x"));
        assert!(!is_comment_line("  \"a\" # x"));
    }
}
