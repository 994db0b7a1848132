//! Line diffs for people: a modified file against its baseline copy, a
//! whitelist file before and after a write. Built on `similar`'s grouped
//! operations; unchanged runs far from a change fold into one line.

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffLine {
    /// In both.
    Same(String),
    /// Only in the new text.
    Added(String),
    /// Only in the old text.
    Removed(String),
    /// Unchanged lines left out.
    Skipped(usize),
}

/// A line diff of `old` → `new` (Myers), keeping `context` unchanged lines
/// around each change and folding the rest into [`DiffLine::Skipped`].
pub fn diff_lines(old: &[String], new: &[String], context: usize) -> Vec<DiffLine> {
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, old, new);
    let mut out = Vec::new();
    // `next_old` is the first old line not yet shown or folded.
    let mut next_old = 0;
    for group in similar::group_diff_ops(ops, context) {
        let Some(first) = group.first() else {
            continue;
        };
        let start = first.old_range().start;
        if start > next_old {
            out.push(DiffLine::Skipped(start - next_old));
        }
        for op in &group {
            for change in op.iter_changes(old, new) {
                let text = change.value().clone();
                out.push(match change.tag() {
                    similar::ChangeTag::Equal => DiffLine::Same(text),
                    similar::ChangeTag::Delete => DiffLine::Removed(text),
                    similar::ChangeTag::Insert => DiffLine::Added(text),
                });
            }
            next_old = op.old_range().end;
        }
    }
    if old.len() > next_old && !out.is_empty() {
        out.push(DiffLine::Skipped(old.len() - next_old));
    }
    out
}

/// The diff of two texts split into lines, each line passed through `show`
/// (escaping for the terminal).
pub fn diff_texts(old: &str, new: &str, context: usize, show: fn(&str) -> String) -> Vec<DiffLine> {
    let lines = |s: &str| -> Vec<String> { s.lines().map(show).collect() };
    diff_lines(&lines(old), &lines(new), context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn changes_are_shown_with_context_and_the_rest_is_folded() {
        let old = s(&["a", "b", "c", "d", "e", "f", "g", "h", "i"]);
        let new = s(&["a", "b", "c", "d", "e", "F", "g", "h", "i"]);
        assert_eq!(
            diff_lines(&old, &new, 1),
            vec![
                DiffLine::Skipped(4),
                DiffLine::Same("e".into()),
                DiffLine::Removed("f".into()),
                DiffLine::Added("F".into()),
                DiffLine::Same("g".into()),
                DiffLine::Skipped(2),
            ]
        );
    }

    #[test]
    fn identical_texts_give_no_lines_and_a_new_file_is_all_added() {
        let a = s(&["x", "y"]);
        assert_eq!(diff_lines(&a, &a, 3), Vec::<DiffLine>::new());
        assert_eq!(
            diff_lines(&[], &a, 3),
            vec![DiffLine::Added("x".into()), DiffLine::Added("y".into())]
        );
    }

    #[test]
    fn two_distant_changes_fold_the_middle() {
        let old: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let mut new = old.clone();
        new[2] = "two".into();
        new[17] = "seventeen".into();
        let d = diff_lines(&old, &new, 1);
        assert_eq!(d[0], DiffLine::Skipped(1));
        assert!(d.contains(&DiffLine::Skipped(12)), "{d:?}");
        assert_eq!(d.last(), Some(&DiffLine::Skipped(1)));
    }
}
