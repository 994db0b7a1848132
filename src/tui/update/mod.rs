//! `update(&mut Model, Msg) -> Option<Cmd>`: every state change of the TUI
//! (the Elm architecture). No terminal and no file system: what needs I/O
//! (previews, writing the whitelist or the ignore file, quitting) is
//! returned as a [`Cmd`] for the runtime (`tui/mod.rs`, the commands in
//! `tui/exec.rs`), which reports the result back as a [`Msg`].
//!
//! This file dispatches by message and mode and takes the runtime's
//! results; [`navigate`] moves through the tree and searches, [`marking`]
//! marks, dismisses and undoes, [`migrate`] runs the migration view.

pub mod marking;
pub mod migrate;
pub mod navigate;

use crate::diff::Change;

use super::keys::{Action, Mode};
use super::model::{Focus, Model, WritePlan};
use super::msg::{Cmd, Msg};
use super::preview::PreviewJob;

pub use marking::ignore_rule;
use marking::{dismiss, mark_advised, toggle_mark, undo};
use navigate::{collapse, expand, jump_to_match, movement, pointer, search};

/// Applies one message to the model.
pub fn update(m: &mut Model, msg: Msg) -> Option<Cmd> {
    match msg {
        Msg::Action(a) => act(m, a),
        Msg::Pointer(p) => {
            pointer(m, p);
            None
        }
        Msg::Loaded(b) => {
            let (audit, users) = *b;
            m.load(audit, users);
            None
        }
        Msg::Checked(r) => {
            super::findings::loaded(m, *r);
            None
        }
        Msg::Progress(l) => {
            m.loading = l;
            None
        }
        Msg::Page(rows) => {
            m.page = rows.max(1);
            None
        }
        Msg::PreviewLoaded(pair, p) => {
            m.preview = Some((pair, p));
            None
        }
        Msg::PlanReady(r) => {
            plan_ready(m, r);
            None
        }
        Msg::Written(r) => {
            let written = r.is_ok();
            write_done(m, r);
            // The findings follow the file now in effect, like the header.
            written.then_some(Cmd::Recheck)
        }
        Msg::Rechecked(r) => {
            super::findings::rechecked(m, *r);
            None
        }
        Msg::IgnoreSaved(r) => {
            ignore_saved(m, r);
            None
        }
        Msg::PagerDone(r) => {
            if let Err(e) = r {
                m.status = e;
            }
            None
        }
        Msg::EditorDone(r) => {
            m.status = match r {
                Ok(()) => format!(
                    "edited {}: w merges the marks into it; the classes follow it at the next scan",
                    crate::text::quote_path(&m.settings.whitelist)
                ),
                Err(e) => e,
            };
            None
        }
        Msg::Migration(id, r) => {
            migrate::reported(m, id, r);
            None
        }
        Msg::IgnoreRestored(r) => {
            if let Err(e) = r {
                m.status = format!("undone in memory, but the ignore file was not restored: {e}");
            }
            None
        }
    }
}

/// The preview the detail pane needs and does not have: the runtime asks
/// after every update (a subscription, in Elm's words) and reads it.
pub fn wanted_preview(m: &Model) -> Option<Cmd> {
    let i = m.selected_pair()?;
    if m.preview.as_ref().is_some_and(|(p, _)| *p as usize == i) {
        return None;
    }
    let d = m.data.as_ref()?;
    Some(Cmd::Preview(PreviewJob::for_pair(&d.audit, i)))
}

/// Applies a key's action in the current mode.
fn act(m: &mut Model, msg: Action) -> Option<Cmd> {
    match m.mode {
        Mode::Loading => match msg {
            Action::Quit => Some(Cmd::Quit),
            _ => None,
        },
        Mode::Help => {
            match msg {
                Action::Quit => return quit(m),
                Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                    scroll_popup(m, msg)
                }
                _ => m.mode = m.prev_mode,
            }
            None
        }
        Mode::ConfirmQuit => match msg {
            Action::Yes | Action::Quit => Some(Cmd::Quit),
            Action::WritePreview => {
                m.mode = Mode::Browse;
                write_preview(m)
            }
            _ => {
                m.mode = Mode::Browse;
                m.status = "not quitting".into();
                None
            }
        },
        Mode::ConfirmWrite => match msg {
            Action::Yes => {
                m.mode = Mode::Browse;
                let plan = m.plan.take()?;
                if plan.refused.is_some() {
                    m.status =
                        "nothing written: the file has no safe place for the marked paths".into();
                    return None;
                }
                if plan.writes.is_empty() {
                    settle(m, &plan);
                    m.status = format!("nothing written: {}", refusals(&plan));
                    return None;
                }
                if plan.old.as_deref() == Some(plan.new.as_str()) {
                    settle(m, &plan);
                    m.status = "the whitelist already lists these paths; nothing written".into();
                    if !plan.refusals.is_empty() {
                        m.status.push_str(&format!("; {}", refusals(&plan)));
                    }
                    return None;
                }
                m.plan = Some(plan.clone());
                Some(Cmd::Write(plan.new))
            }
            Action::Quit => quit(m),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                scroll_popup(m, msg);
                None
            }
            _ => {
                m.mode = Mode::Browse;
                m.plan = None;
                m.status = "nothing written".into();
                None
            }
        },
        Mode::Search => search(m, msg),
        Mode::Browse => browse(m, msg),
        Mode::Findings => super::findings::update(m, msg),
        Mode::Migrate => migrate::act(m, msg),
    }
}

fn scroll_popup(m: &mut Model, msg: Action) {
    let page = m.page.max(1) as u16;
    let s = m.popup_scroll;
    m.popup_scroll = match msg {
        Action::Up => s.saturating_sub(1),
        Action::Down => s.saturating_add(1),
        Action::PageUp => s.saturating_sub(page),
        _ => s.saturating_add(page),
    };
}

/// `q`: quits, asking first when marks that `w` could write are left
/// (marks `w` refused cannot be written: nothing to lose by quitting).
pub(super) fn quit(m: &mut Model) -> Option<Cmd> {
    let writable = m.marks.iter().any(|(_, k)| k.refused.is_none());
    if !writable || m.print_marked || m.mode == Mode::ConfirmQuit {
        return Some(Cmd::Quit);
    }
    m.mode = Mode::ConfirmQuit;
    None
}

fn browse(m: &mut Model, msg: Action) -> Option<Cmd> {
    match msg {
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            movement(m, msg);
        }
        Action::Expand => match m.focus {
            Focus::Marked => {
                if let Some((_, mk)) = m.marks.nth(m.marked_sel) {
                    let pair = mk.pair as usize;
                    m.focus = Focus::Tree;
                    m.reveal(pair);
                }
            }
            _ => expand(m),
        },
        Action::Collapse => collapse(m),
        Action::Findings => super::findings::open(m),
        Action::SearchStart => {
            m.mode = Mode::Search;
            m.search.clear();
            m.search_origin = m.selected_pair().unwrap_or(0) as u32;
            m.search_expanded = m.tree.expanded.clone();
            m.status = "/".into();
        }
        Action::NextMatch | Action::PrevMatch => {
            if m.search.is_empty() {
                m.status = "no search: / starts one".into();
            } else {
                let n = m.data.as_ref().map_or(0, |d| d.audit.len()).max(1);
                let cur = m.selected_pair().unwrap_or(0);
                let forward = msg == Action::NextMatch;
                let from = if forward {
                    (cur + 1) % n
                } else {
                    (cur + n - 1) % n
                };
                jump_to_match(m, from, forward);
            }
        }
        Action::ToggleMark => toggle_mark(m),
        Action::MarkAdvised => mark_advised(m),
        Action::Dismiss => return dismiss(m),
        Action::Undo => return undo(m),
        Action::CycleFilter => {
            m.filter = m.filter.next();
            m.refilter();
            m.status = format!("showing {}", m.filter.label());
        }
        Action::CycleChange => {
            m.change = match m.change {
                None => Some(Change::Added),
                Some(Change::Added) => Some(Change::Modified),
                Some(Change::Modified) => Some(Change::Removed),
                Some(Change::Removed) => Some(Change::Unchanged),
                Some(Change::Unchanged) => None,
            };
            m.refilter();
            m.status = format!("change filter: {}", m.change.map_or("any", |c| c.as_str()));
        }
        Action::CycleSort => {
            let next = m.tree.sort().next();
            if let Some(d) = m.data.as_ref() {
                m.tree.set_sort(d, next);
            }
            m.status = format!("sorted by {}", next.label());
        }
        Action::FocusNext => {
            m.focus = match m.focus {
                Focus::Tree => Focus::Detail,
                Focus::Detail if !m.marks.is_empty() => Focus::Marked,
                _ => Focus::Tree,
            };
        }
        Action::WritePreview => return write_preview(m),
        Action::Migrate => return migrate::start(m),
        Action::ViewFile => return view_file(m),
        Action::EditWhitelist => return Some(Cmd::Editor(m.settings.whitelist.clone())),
        Action::Help => {
            m.popup_scroll = 0;
            m.prev_mode = Mode::Browse;
            m.mode = Mode::Help;
        }
        Action::Quit => return quit(m),
        Action::Yes
        | Action::No
        | Action::SearchChar(_)
        | Action::SearchBackspace
        | Action::SearchAccept
        | Action::SearchCancel => {}
    }
    None
}

/// The selected file for the pager: a regular file on the root, opened by
/// the runtime as the scan saw it (never a path the pager opens itself).
fn view_file(m: &mut Model) -> Option<Cmd> {
    let i = m.selected_pair()?;
    let d = m.data.as_ref()?;
    let a = &d.audit;
    let shown = crate::text::escape_bytes(&a.path(i));
    let (t, k) = a.entry(i);
    let e = &t.entries[k];
    if !a.on_root(i) {
        m.status = format!("{shown} was removed: it is not on the root");
        return None;
    }
    if e.kind != crate::scan::Kind::File {
        m.status = format!("{shown} is a {}: v shows regular files", e.kind.as_str());
        return None;
    }
    Some(Cmd::Pager {
        path: t.host_path(k),
        id: (t.dev(k), e.ino),
    })
}

fn write_preview(m: &mut Model) -> Option<Cmd> {
    if m.marks.is_empty() {
        m.status = "nothing marked: Space marks the selected path for promotion".into();
        return None;
    }
    Some(Cmd::PrepareWrite)
}

/// The runtime rendered the plan (or failed to).
fn plan_ready(m: &mut Model, plan: crate::Result<WritePlan>) {
    match plan {
        Ok(p) => {
            m.plan = Some(p);
            m.popup_scroll = 0;
            m.prev_mode = Mode::Browse;
            m.mode = Mode::ConfirmWrite;
        }
        Err(e) => m.status = format!("cannot prepare the whitelist: {e}"),
    }
}

/// The runtime wrote the whitelist (or failed to).
fn write_done(m: &mut Model, r: crate::Result<super::msg::Listing>) {
    let plan = m.plan.take();
    match (r, plan) {
        (Ok(listing), Some(plan)) => {
            let n = plan.writes.len();
            settle(m, &plan);
            m.status = format!(
                "wrote {n} {} to {}{}",
                if n == 1 { "path" } else { "paths" },
                crate::text::quote_path(&plan.path),
                if plan.old.is_some() {
                    " (the old one is in .bak)"
                } else {
                    ""
                }
            );
            if !plan.refusals.is_empty() {
                m.status.push_str(&format!("; {}", refusals(&plan)));
            }
            m.status.push_str("; m copies their data into storage");
            let note = relist(m, listing);
            m.status.push_str(&note);
        }
        (Ok(_), None) => m.status = "wrote the whitelist".into(),
        (Err(e), _) => m.status = format!("nothing written: {e}"),
    }
}

/// Counts what the written file lists as the next run will (persisted,
/// listed), so the header and the filters agree with a fresh run on the
/// same root and file; returns what the status line adds about it.
fn relist(m: &mut Model, listing: super::msg::Listing) -> String {
    match listing {
        Ok(paths) => {
            if let Some(d) = m.data.as_mut() {
                d.relist(&paths);
            }
            m.refilter();
            String::new()
        }
        // The reader's message is long (it goes on to the JSON export):
        // its first clause says what it could not read.
        Err(e) => format!(
            "; still counted stray: darlings cannot read the file back ({})",
            e.split(';').next().unwrap_or(&e)
        ),
    }
}

/// After a write (or a plan that found the file already listing them):
/// the written marks become promoted, the refused ones stay marked with
/// their refusal, shown in the marked pane and the detail pane.
fn settle(m: &mut Model, plan: &WritePlan) {
    for p in &plan.writes {
        if let Some(k) = m.marks.get(p) {
            m.promoted.insert(k.pair);
        }
        m.marks.unmark(p);
    }
    for (p, why) in &plan.refusals {
        m.marks.refuse(p, why.clone());
    }
    if m.marks.is_empty() {
        m.focus = Focus::Tree;
    }
    m.marked_sel = m.marked_sel.min(m.marks.len().saturating_sub(1));
}

/// The status line's account of the refused marks: how many, and the
/// first one with its rule (the marked and detail panes give the rest).
fn refusals(plan: &WritePlan) -> String {
    let Some((first, why)) = plan.refusals.first() else {
        return String::new();
    };
    let n = plan.refusals.len();
    let more = if n > 1 {
        format!(" and {} more", n - 1)
    } else {
        String::new()
    };
    format!(
        "{n} refused, still marked: {} ({}){more}",
        crate::text::escape_bytes(first),
        why.rule
    )
}

/// The runtime appended the rule; `previous` is the file's content before.
fn ignore_saved(m: &mut Model, r: crate::Result<Option<Vec<u8>>>) {
    match r {
        Ok(prev) => {
            if let Some(last) = m.dismissals.last_mut() {
                last.previous = Some(prev);
            }
        }
        Err(e) => m.status = format!("dismissed in memory, but not saved: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::tests::model;

    fn up(m: &mut Model, a: Action) -> Option<Cmd> {
        update(m, a.into())
    }

    #[test]
    fn write_needs_marks_and_a_plan() {
        let (_d, mut m) = model();
        assert_eq!(up(&mut m, Action::WritePreview), None);
        up(&mut m, Action::ToggleMark);
        assert_eq!(up(&mut m, Action::WritePreview), Some(Cmd::PrepareWrite));
    }

    #[test]
    fn quitting_with_only_refused_marks_does_not_ask() {
        let (_d, mut m) = model();
        up(&mut m, Action::ToggleMark);
        let path = m.marks.nth(0).unwrap().0.to_vec();
        m.marks.refuse(
            &path,
            crate::whitelist::Refusal {
                rule: "under /nix".into(),
                why: String::new(),
                instead: String::new(),
            },
        );
        assert_eq!(up(&mut m, Action::Quit), Some(Cmd::Quit));
    }

    #[test]
    fn quitting_with_marks_asks_first() {
        let (_d, mut m) = model();
        up(&mut m, Action::ToggleMark);
        assert_eq!(up(&mut m, Action::Quit), None);
        assert_eq!(m.mode, Mode::ConfirmQuit);
        assert_eq!(up(&mut m, Action::No), None);
        assert_eq!(m.mode, Mode::Browse);
        assert_eq!(up(&mut m, Action::Quit), None);
        assert_eq!(up(&mut m, Action::Yes), Some(Cmd::Quit));
    }
}
