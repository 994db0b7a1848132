//! Moving through the tree and the panes, expanding and collapsing, and
//! search as you type.

use crate::text::escape_bytes;

use super::super::keys::{Action, Mode};
use super::super::model::{Focus, Model};
use super::super::tree::{Expanded, Move};
use super::quit;
use crate::tui::msg::{Cmd, Pointer, Spot};

pub(super) fn search(m: &mut Model, msg: Action) -> Option<Cmd> {
    match msg {
        Action::SearchChar(c) => {
            m.search.push(c);
            jump_to_match(m, m.search_origin as usize, true);
        }
        Action::SearchBackspace => {
            m.search.pop();
            if m.search.is_empty() {
                m.tree.expanded = m.search_expanded.clone();
                let origin = m.search_origin as usize;
                m.reveal(origin);
                m.status = "/".into();
            } else {
                jump_to_match(m, m.search_origin as usize, true);
            }
        }
        Action::SearchAccept => {
            m.mode = Mode::Browse;
            if !m.search.is_empty() {
                m.status = format!("/{}  (n next, N previous)", m.search);
            }
        }
        Action::SearchCancel => {
            m.mode = Mode::Browse;
            m.search.clear();
            m.tree.expanded = m.search_expanded.clone();
            let origin = m.search_origin as usize;
            m.reveal(origin);
            m.status = "search cleared".into();
        }
        Action::Quit => return quit(m),
        _ => {}
    }
    None
}

pub(super) fn jump_to_match(m: &mut Model, from: usize, forward: bool) {
    match m.find(from, forward) {
        Some(i) => {
            if m.mode == Mode::Search {
                // Typing must not leave a trail of directories opened by partial matches.
                m.tree.expanded = m.search_expanded.clone();
            }
            m.reveal(i);
            let path = m.data.as_ref().map(|d| d.audit.path(i)).unwrap_or_default();
            m.status = format!("/{}  → {}", m.search, escape_bytes(&path));
        }
        None => m.status = format!("/{}  (no match among the shown paths)", m.search),
    }
}

/// The movement a movement message asks for.
fn to_move(msg: Action) -> Move {
    match msg {
        Action::Up => Move::Up,
        Action::Down => Move::Down,
        Action::PageUp => Move::PageUp,
        Action::PageDown => Move::PageDown,
        Action::Top => Move::Top,
        _ => Move::Bottom,
    }
}

pub(super) fn movement(m: &mut Model, msg: Action) {
    let page = m.page.max(1);
    match m.focus {
        Focus::Tree => {
            if m.tree.move_cursor(to_move(msg), page) {
                m.detail_scroll = 0;
            }
        }
        Focus::Detail => {
            let s = m.detail_scroll;
            let p = page as u16;
            m.detail_scroll = match msg {
                Action::Up => s.saturating_sub(1),
                Action::Down => s.saturating_add(1),
                Action::PageUp => s.saturating_sub(p),
                Action::PageDown => s.saturating_add(p),
                Action::Top => 0,
                _ => u16::MAX / 2,
            };
        }
        Focus::Marked => {
            m.marked_sel = to_move(msg).apply(m.marked_sel, page, m.marks.len());
        }
    }
}

pub(super) fn expand(m: &mut Model) {
    let Some(d) = m.data.as_ref() else { return };
    if m.tree.expand(d) == Expanded::Leaf {
        m.status = "not a directory with shown entries".into();
    }
}

pub(super) fn collapse(m: &mut Model) {
    if m.focus == Focus::Marked {
        m.focus = Focus::Tree;
        return;
    }
    if let Some(d) = m.data.as_ref() {
        m.tree.collapse(d);
    }
}

/// Lines the wheel moves at a time.
const WHEEL: usize = 3;

/// A click selects and focuses what is under it; the wheel scrolls it
/// (the tree and the marked pane move their selection, the detail pane and
/// the popups scroll).
pub(in crate::tui::update) fn pointer(m: &mut Model, p: Pointer) {
    let step = |s: u16, d: i8| {
        if d < 0 {
            s.saturating_sub(WHEEL as u16)
        } else {
            s.saturating_add(WHEEL as u16)
        }
    };
    match m.mode {
        Mode::Help | Mode::ConfirmWrite | Mode::Migrate => {
            if let Pointer::Wheel(_, d) = p {
                m.popup_scroll = step(m.popup_scroll, d);
            }
            return;
        }
        Mode::Browse => {}
        _ => return,
    }
    let mv = |d: i8| if d < 0 { Move::Up } else { Move::Down };
    match p {
        Pointer::Click(Spot::TreeRow(r)) => {
            m.focus = Focus::Tree;
            let before = m.tree.selected();
            m.tree.select_row(r);
            if m.tree.selected() != before {
                m.detail_scroll = 0;
            }
        }
        Pointer::Click(Spot::Tree) => m.focus = Focus::Tree,
        Pointer::Click(Spot::Detail) => m.focus = Focus::Detail,
        Pointer::Click(Spot::MarkedRow(r)) => {
            m.focus = Focus::Marked;
            m.marked_sel = r.min(m.marks.len().saturating_sub(1));
        }
        Pointer::Click(Spot::Marked) if !m.marks.is_empty() => m.focus = Focus::Marked,
        Pointer::Wheel(Spot::Tree | Spot::TreeRow(_), d) => {
            let mut moved = false;
            for _ in 0..WHEEL {
                moved |= m.tree.move_cursor(mv(d), 1);
            }
            if moved {
                m.detail_scroll = 0;
            }
        }
        Pointer::Wheel(Spot::Detail, d) => m.detail_scroll = step(m.detail_scroll, d),
        Pointer::Wheel(Spot::Marked | Spot::MarkedRow(_), d) => {
            for _ in 0..WHEEL {
                m.marked_sel = mv(d).apply(m.marked_sel, 1, m.marks.len());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::tests::model;
    use crate::tui::update::update;

    fn up(m: &mut Model, a: Action) -> Option<Cmd> {
        update(m, a.into())
    }

    fn path_of(m: &Model) -> String {
        let d = m.data.as_ref().unwrap();
        String::from_utf8(d.audit.path(m.selected_pair().unwrap())).unwrap()
    }

    #[test]
    fn expanding_opens_single_directory_chains() {
        let (_d, mut m) = model();
        assert_eq!(path_of(&m), "/var");
        up(&mut m, Action::Expand);
        let shown: Vec<u16> = m.tree.rows().iter().map(|r| r.depth).collect();
        assert_eq!(shown.len(), 3 + 2, "/var shows lib and log");
        up(&mut m, Action::Expand);
        assert_eq!(
            path_of(&m),
            "/var/lib/docker",
            "a second → steps in, onto lib/docker/ (lib holds only docker)"
        );
        up(&mut m, Action::Expand);
        up(&mut m, Action::Expand);
        assert_eq!(path_of(&m), "/var/lib/docker/big");
        up(&mut m, Action::Collapse);
        assert_eq!(
            path_of(&m),
            "/var/lib/docker",
            "← on a file goes to its directory"
        );
        up(&mut m, Action::Collapse);
        up(&mut m, Action::Collapse);
        assert_eq!(path_of(&m), "/var", "← on a closed chain goes above it");
    }
}
