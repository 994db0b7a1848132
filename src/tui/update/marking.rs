//! Marking paths for promotion, dismissing them into the ignore file, and
//! undoing a dismissal.

use crate::classify::{Advice, Class};
use crate::scan::{Kind, NONE};
use crate::text::escape_bytes;

use super::super::marks::{Mark, Refusal};
use super::super::model::{Dismissal, Focus, Model};
use super::super::tree::Move;
use crate::tui::msg::Cmd;

/// Space: marks the selected path, or unmarks it, and moves to the next
/// row either way (as file managers do), so a run of rows is marked, or
/// unmarked, by holding the key. A refused mark stays on its row, beside
/// the status line that says why.
pub(super) fn toggle_mark(m: &mut Model) {
    if m.focus == Focus::Marked {
        let Some(path) = m.marks.nth(m.marked_sel).map(|(p, _)| p.to_vec()) else {
            return;
        };
        m.marks.unmark(&path);
        m.marked_sel = m.marked_sel.min(m.marks.len().saturating_sub(1));
        if m.marks.is_empty() {
            m.focus = Focus::Tree;
        }
        m.status = format!("unmarked {}", escape_bytes(&path));
        return;
    }
    let Some(i) = m.selected_pair() else { return };
    let Some(d) = m.data.as_ref() else { return };
    let a = &d.audit;
    let path = a.path(i);
    let shown = escape_bytes(&path);
    if m.marks.unmark(&path) {
        m.status = format!("unmarked {shown}");
        m.tree.move_cursor(Move::Down, 1);
        return;
    }
    if a.merge().pairs()[i].cur == NONE {
        m.status = format!("{shown} was removed: it is not on the root, there is nothing to keep");
        return;
    }
    let v = a.verdict(i);
    if d.relisted(i) == Some(Class::Persisted) {
        m.status = format!("{shown} is already persisted (listed in the whitelist w wrote)");
        return;
    }
    if v.class == Class::Persisted {
        m.status = format!(
            "{shown} is already persisted ({})",
            a.text(v.reason).unwrap_or("")
        );
        return;
    }
    let (t, k) = a.entry(i);
    let mark = Mark {
        pair: i as u32,
        entries: d.totals(i).entries,
        bytes: d.totals(i).bytes,
        is_dir: t.entries[k].kind == Kind::Dir,
        refused: None,
    };
    let note = if d.class(i) == Class::NixManaged {
        " (note: NixOS recreates it; persisting it shadows that)"
    } else {
        ""
    };
    match m.marks.mark(path, mark) {
        Ok(()) => {
            let (n, b) = m.marks.totals();
            m.status = format!(
                "marked {shown}{note}; {} marked, {} entries, {}; w writes",
                m.marks.len(),
                n,
                crate::text::human_bytes(b)
            );
            m.tree.move_cursor(Move::Down, 1);
        }
        Err(Refusal::UnderMarked(anc)) => {
            m.status = format!(
                "not marked: {} is already marked and covers {shown}",
                escape_bytes(&anc)
            );
        }
        Err(Refusal::OverMarked(first, n)) => {
            m.status = format!(
                "not marked: {shown} would cover {n} marked path(s) below it ({}); unmark them first",
                escape_bytes(&first)
            );
        }
    }
}

/// Marks every path of the selected subtree that the knowledge base
/// advises to persist and the filter shows (stray, not dismissed, on the
/// root); of nested ones the topmost, which brings the others along.
pub(super) fn mark_advised(m: &mut Model) {
    let Some(top) = m.selected_pair() else { return };
    let Some(d) = m.data.as_ref() else { return };
    let a = &d.audit;
    let mut found = Vec::new();
    let (mut k, end) = (top, a.merge().end(top));
    while k < end {
        if !m.tree.holds_hits(k) {
            k = a.merge().end(k); // nothing shown below
            continue;
        }
        let v = a.verdict(k);
        if m.tree.shows(k)
            && a.on_root(k)
            && d.class(k) == Class::Stray
            && !v.dismissed
            && v.advice == Some(Advice::Persist)
        {
            let (t, e) = a.entry(k);
            let totals = d.totals(k);
            found.push((
                a.path(k),
                Mark {
                    pair: k as u32,
                    entries: totals.entries,
                    bytes: totals.bytes,
                    is_dir: t.entries[e].kind == Kind::Dir,
                    refused: None,
                },
            ));
            k = a.merge().end(k);
        } else {
            k += 1;
        }
    }
    let under = escape_bytes(&a.path(top));
    let (mut marked, mut covered, mut refused) = (0usize, 0usize, 0usize);
    let (mut entries, mut bytes) = (0u64, 0u64);
    for (path, mark) in found {
        let (n, b) = (mark.entries, mark.bytes);
        match m.marks.mark(path, mark) {
            Ok(()) => {
                marked += 1;
                entries += n;
                bytes += b;
            }
            Err(Refusal::UnderMarked(_)) => covered += 1,
            Err(Refusal::OverMarked(..)) => refused += 1,
        }
    }
    let mut status = if marked + covered + refused == 0 {
        format!("nothing shown in {under} is advised persist")
    } else {
        format!(
            "marked {marked} path(s) advised persist in {under} ({entries} entries, {}); w writes",
            crate::text::human_bytes(bytes)
        )
    };
    if covered > 0 {
        status.push_str(&format!("; {covered} already under a mark"));
    }
    if refused > 0 {
        status.push_str(&format!(
            "; {refused} not marked: each would cover marked paths below it"
        ));
    }
    m.status = status;
}

/// The gitignore rule that matches exactly `path` (absolute in-root).
pub fn ignore_rule(path: &[u8]) -> Option<Vec<u8>> {
    if path.contains(&b'\n') || path.contains(&b'\r') {
        return None;
    }
    let mut rule = Vec::with_capacity(path.len() + 4);
    for (k, &b) in path.iter().enumerate() {
        let at_start = k == 1; // after the leading '/'
        if matches!(b, b'*' | b'?' | b'[' | b'\\') || (at_start && matches!(b, b'!' | b'#')) {
            rule.push(b'\\');
        }
        rule.push(b);
    }
    if rule.ends_with(b" ") {
        let last = rule.len() - 1;
        rule.insert(last, b'\\');
    }
    Some(rule)
}

pub(super) fn dismiss(m: &mut Model) -> Option<Cmd> {
    let i = m.selected_pair()?;
    let has_file = m.settings.ignore.is_some();
    let d = m.data.as_mut()?;
    let a = &mut d.audit;
    let path = a.path(i);
    let shown = escape_bytes(&path);
    let Some(rule) = ignore_rule(&path) else {
        m.status = format!("{shown}: a name with a line break cannot be written as an ignore rule");
        return None;
    };
    let mut pairs = a.dismiss(i);
    // Pairs the whitelist written in this session lists are not stray
    // any more, whatever the audit said at load: not dismissed either.
    let (kept, listed): (Vec<u32>, Vec<u32>) = pairs
        .iter()
        .partition(|&&p| d.relisted(p as usize).is_none());
    if !listed.is_empty() {
        d.audit.undismiss(&listed);
        pairs = kept;
    }
    d.facts.set_dismissed(&pairs, true);
    if pairs.is_empty() {
        m.status = format!("{shown}: nothing stray to dismiss here");
        return None;
    }
    let count = pairs.len();
    m.dismissals.push(Dismissal {
        path,
        pairs,
        previous: None,
    });
    m.refilter();
    if has_file {
        m.status = format!("dismissed {shown} ({count} stray entries); u undoes");
        Some(Cmd::AppendIgnore(rule))
    } else {
        m.status = format!(
            "dismissed {shown} in memory only (no --ignore FILE given, so it is not saved); u undoes"
        );
        None
    }
}

pub(super) fn undo(m: &mut Model) -> Option<Cmd> {
    let Some(last) = m.dismissals.pop() else {
        m.status = "no dismissal to undo".into();
        return None;
    };
    if let Some(d) = m.data.as_mut() {
        d.audit.undismiss(&last.pairs);
        d.facts.set_dismissed(&last.pairs, false);
    }
    m.refilter();
    let pair = last.pairs.first().copied().unwrap_or(0) as usize;
    m.reveal(pair);
    m.status = format!("undid the dismissal of {}", escape_bytes(&last.path));
    last.previous.map(Cmd::RestoreIgnore)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keys::{Action, Mode};
    use crate::tui::model::tests::model;
    use crate::tui::update::update;

    fn up(m: &mut Model, a: Action) -> Option<Cmd> {
        update(m, a.into())
    }

    #[test]
    fn marking_refuses_overlaps_and_quitting_asks_first() {
        let (_d, mut m) = model();
        up(&mut m, Action::ToggleMark); // /var
        assert_eq!(m.marks.len(), 1);
        up(&mut m, Action::Top);
        up(&mut m, Action::Expand);
        up(&mut m, Action::Down);
        up(&mut m, Action::ToggleMark); // /var/lib: covered by /var
        assert_eq!(m.marks.len(), 1);
        assert!(m.status.contains("/var is already marked"), "{}", m.status);
        assert_eq!(up(&mut m, Action::Quit), None);
        assert_eq!(m.mode, Mode::ConfirmQuit);
        assert_eq!(up(&mut m, Action::No), None);
        assert_eq!(m.mode, Mode::Browse);
        assert_eq!(up(&mut m, Action::Quit), None);
        assert_eq!(up(&mut m, Action::Yes), Some(Cmd::Quit));
    }

    #[test]
    fn dismissing_hides_the_subtree_and_undo_brings_it_back() {
        let (_d, mut m) = model();
        let open = |m: &Model| m.tree.hits().entries.iter().filter(|&&h| h == 1).count();
        let open_before = open(&m);
        let before = m.tree.rows().len();
        assert_eq!(
            up(&mut m, Action::Dismiss),
            None,
            "no --ignore: memory only"
        );
        assert!(m.status.contains("not saved"), "{}", m.status);
        assert_eq!(m.tree.rows().len(), before - 1);
        up(&mut m, Action::CycleFilter); // all
        up(&mut m, Action::CycleFilter); // persisted
        up(&mut m, Action::CycleFilter); // nix
        up(&mut m, Action::CycleFilter); // dismissed
        assert_eq!(m.tree.rows().len(), 1);
        up(&mut m, Action::CycleFilter); // stray again
        up(&mut m, Action::Undo);
        assert_eq!(open(&m), open_before, "undo brings every stray entry back");
    }

    #[test]
    fn a_dismissal_leaves_out_what_the_written_whitelist_lists() {
        let dismissed = |relist: bool| {
            let (_d, mut m) = model();
            let d = m.data.as_mut().unwrap();
            if relist {
                d.relist(&[b"/var/lib/docker".to_vec()]);
                m.refilter();
            }
            up(&mut m, Action::Top); // /var
            up(&mut m, Action::Dismiss);
            let d = m.data.as_ref().unwrap();
            let pairs = m.dismissals.last().unwrap().pairs.clone();
            for &p in &pairs {
                assert_eq!(d.relisted(p as usize), None, "{}", m.status);
            }
            let docker = d.find(b"/var/lib/docker").unwrap();
            (pairs.len(), d.audit.verdict(docker).dismissed)
        };
        let (all, docker_too) = dismissed(false);
        assert!(docker_too);
        let (left, docker_too) = dismissed(true);
        assert!(!docker_too, "docker is listed now");
        assert!(left < all, "{left} < {all}");
    }

    #[test]
    fn ignore_rules_are_anchored_and_escaped() {
        assert_eq!(ignore_rule(b"/var/log").unwrap(), b"/var/log");
        assert_eq!(ignore_rule(b"/#x/a*b").unwrap(), b"/\\#x/a\\*b");
        assert_eq!(ignore_rule(b"/a\nb"), None);
    }
}
