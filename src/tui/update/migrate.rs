//! The migration view's state changes: `m` starts planning the paths
//! written in this session, `y` hands the plan to the copy, `n`/`Esc`
//! closes the view (dropping a plan not carried out; not while copying),
//! and the workers' reports fill it in. The I/O is the runtime's
//! (`tui::migrate::Worker`).

use crate::text::human_bytes;
use crate::tui::keys::{Action, Mode};
use crate::tui::migrate::{Job, Migration, Report, Stage};
use crate::tui::model::Model;
use crate::tui::msg::Cmd;

/// `m`: plans the migration of the paths written in this session.
pub fn start(m: &mut Model) -> Option<Cmd> {
    let d = m.data.as_ref()?;
    if m.promoted.is_empty() {
        m.status = if m.marks.is_empty() {
            "nothing written yet: mark paths (Space), write them (w, y), then m copies their data into storage"
        } else {
            "the marks are not written yet: w, y writes them, then m copies their data into storage"
        }
        .into();
        return None;
    }
    let mut paths: Vec<Vec<u8>> = m
        .promoted
        .iter()
        .map(|&i| d.audit.path(i as usize))
        .collect();
    paths.sort();
    paths.dedup();
    let job = Job {
        id: m.migration.as_ref().map_or(0, |g| g.id) + 1,
        root: d.audit.cur().root.clone(),
        whitelist: m.settings.whitelist.clone(),
        paths,
    };
    m.migration = Some(Migration::planning(&job));
    m.popup_scroll = 0;
    m.prev_mode = Mode::Browse;
    m.mode = Mode::Migrate;
    m.status = "planning: walking the written paths and comparing them with storage".into();
    Some(Cmd::PlanMigration(job))
}

/// A key in the migration view.
pub fn act(m: &mut Model, a: Action) -> Option<Cmd> {
    let stage = m.migration.as_ref().map(|g| g.stage.clone());
    match a {
        Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
            super::scroll_popup(m, a);
            None
        }
        // At once while copying: the path being copied stays in its staging
        // directory (the next `darlings migrate` removes it), every other
        // one is complete in storage or absent.
        Action::Quit if stage == Some(Stage::Copying) => {
            m.status = "quit while copying: the paths copied so far are in storage, the others \
                        are not; darlings migrate finishes the job (and removes the staging \
                        directory)"
                .into();
            Some(Cmd::Quit)
        }
        Action::Quit => super::quit(m),
        Action::Yes => {
            let g = m.migration.as_mut()?;
            match g.stage {
                Stage::Ready if g.to_copy() > 0 => {
                    let plan = g.plan.take()?;
                    g.stage = Stage::Copying;
                    let id = g.id;
                    m.popup_scroll = 0;
                    m.status =
                        "copying: every byte is verified before a path is put in place".into();
                    Some(Cmd::RunMigration(id, plan))
                }
                Stage::Ready => {
                    m.status = "nothing to copy: n or Esc goes back".into();
                    None
                }
                // The plan was carried out (or never made): nothing is
                // left to copy; a new plan starts with m, from Browse.
                Stage::Done | Stage::Failed(_) => {
                    m.status = "nothing left to copy: Esc goes back, m plans again".into();
                    None
                }
                Stage::Planning | Stage::Copying => None,
            }
        }
        _ if stage == Some(Stage::Copying) => {
            m.status = "copying: wait for the end (q quits at once, leaving each path absent \
                        from storage or complete)"
                .into();
            None
        }
        Action::No => {
            m.mode = Mode::Browse;
            // A plan not carried out is dropped: nothing written.
            if let Some(g) = m.migration.as_mut() {
                g.plan = None;
            }
            m.status = match (&stage, m.migration.as_ref().and_then(|g| g.sheet.as_ref())) {
                (Some(Stage::Done), Some(s)) if s.refused > 0 => format!(
                    "migrated {} into storage; {} refused: fix what the migration said, then m again",
                    paths(s.paths),
                    s.refused
                ),
                (Some(Stage::Done), Some(s)) => format!(
                    "migrated {} ({}) into storage: rebuild with the whitelist, then reboot",
                    paths(s.paths),
                    human_bytes(s.bytes)
                ),
                _ => "nothing copied".into(),
            };
            None
        }
        _ => None,
    }
}

/// A report of migration `id`'s worker (an older migration's is dropped).
pub fn reported(m: &mut Model, id: u32, r: Report) {
    let Some(g) = m.migration.as_mut().filter(|g| g.id == id) else {
        return;
    };
    g.take(r);
    let status = match (&g.stage, &g.sheet) {
        (Stage::Ready, Some(s)) if s.paths > 0 => format!(
            "the plan copies {} ({}); y copies, n or Esc goes back",
            paths(s.paths),
            human_bytes(s.bytes)
        ),
        (Stage::Ready, _) => "nothing to copy: n or Esc goes back".into(),
        (Stage::Copying, _) => match &g.current {
            Some((p, n, of)) => format!("copying {p} ({n} of {of})"),
            None => return,
        },
        (Stage::Done, Some(s)) if s.refused > 0 => format!(
            "done: {} copied, {} refused (the list says why)",
            paths(s.paths),
            s.refused
        ),
        (Stage::Done, Some(s)) => format!(
            "done: {} copied and verified; rebuild with the whitelist, then reboot",
            paths(s.paths)
        ),
        (Stage::Failed(e), _) => format!("no migration: {e}"),
        _ => return,
    };
    m.status = status;
}

fn paths(n: usize) -> String {
    if n == 1 {
        "1 path".into()
    } else {
        format!("{n} paths")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::migrate::{Sheet, Ticket};
    use crate::tui::model::tests::model;

    fn sheet(paths: usize, refused: usize) -> Sheet {
        Sheet {
            lines: vec!["  copy       /var/lib/docker".into()],
            paths,
            bytes: 5001,
            refused,
        }
    }

    #[test]
    fn m_needs_written_paths_and_plans_them() {
        let (_d, mut m) = model();
        assert_eq!(start(&mut m), None);
        assert!(m.status.contains("nothing written yet"), "{}", m.status);
        m.promoted.insert(1);
        let Some(Cmd::PlanMigration(job)) = start(&mut m) else {
            panic!("m plans")
        };
        assert_eq!(job.id, 1);
        assert_eq!(job.paths.len(), 1);
        assert_eq!(m.mode, Mode::Migrate);
        // y does nothing before the plan is there.
        assert_eq!(act(&mut m, Action::Yes), None);
        reported(
            &mut m,
            1,
            Report::Planned(Ok((sheet(1, 0), Ticket::empty()))),
        );
        assert!(m.status.contains("1 path (4.9 KiB)"), "{}", m.status);
        assert!(matches!(
            act(&mut m, Action::Yes),
            Some(Cmd::RunMigration(1, _))
        ));
        assert_eq!(
            act(&mut m, Action::Yes),
            None,
            "the plan is handed over once"
        );
        // While copying, only q leaves.
        assert_eq!(act(&mut m, Action::No), None);
        assert_eq!(m.mode, Mode::Migrate);
        reported(
            &mut m,
            1,
            Report::Copying {
                path: "/var/lib/docker".into(),
                n: 1,
                of: 1,
            },
        );
        assert_eq!(m.status, "copying /var/lib/docker (1 of 1)");
        // A report of an older migration is dropped.
        reported(&mut m, 0, Report::Finished(Err("old".into())));
        assert_eq!(
            m.migration.as_ref().map(|g| &g.stage),
            Some(&Stage::Copying)
        );
        reported(&mut m, 1, Report::Finished(Ok(sheet(1, 1))));
        assert!(m.status.contains("1 refused"), "{}", m.status);
        assert_eq!(act(&mut m, Action::No), None);
        assert_eq!(m.mode, Mode::Browse);
        // The next m is migration 2.
        let Some(Cmd::PlanMigration(job)) = start(&mut m) else {
            panic!("m plans again")
        };
        assert_eq!(job.id, 2);
    }

    #[test]
    fn quitting_while_copying_is_at_once_and_says_what_is_left() {
        let (_d, mut m) = model();
        m.promoted.insert(1);
        start(&mut m);
        reported(
            &mut m,
            1,
            Report::Planned(Ok((sheet(1, 0), Ticket::empty()))),
        );
        act(&mut m, Action::Yes);
        assert_eq!(act(&mut m, Action::Quit), Some(Cmd::Quit));
        assert!(
            m.status.contains("darlings migrate finishes"),
            "{}",
            m.status
        );
    }
}
