//! The two vocabularies of the Elm architecture: [`Msg`], everything that
//! changes the model (key actions, and the results of I/O the runtime did),
//! and [`Cmd`], the I/O `update` asks the runtime for. `update` is the only
//! function that changes the model; the runtime performs commands and feeds
//! their results back as messages.

use std::path::PathBuf;

use crate::Result;
use crate::audit::Audit;
use crate::users::Users;

use super::keys::Action;
use super::model::{Loading, WritePlan};
use super::preview::{Preview, PreviewJob};

/// Everything that changes the model.
#[derive(Debug)]
pub enum Msg {
    /// What a key asks for.
    Action(Action),
    /// A click or a turn of the wheel, placed on the last frame.
    Pointer(Pointer),
    /// The audit arrived, with the accounts of its root.
    Loaded(Box<(Audit, Users)>),
    /// The whitelist check of that audit finished (`tui::findings`).
    Checked(Box<Result<crate::check::Checked>>),
    /// The check made again after a write ([`Cmd::Recheck`]).
    Rechecked(Box<Result<crate::check::Checked>>),
    /// The scan's counters, while it runs.
    Progress(Loading),
    /// Rows the tree window holds (PgUp/PgDn move by it); the runtime
    /// sends it when a draw finds a new height.
    Page(usize),
    /// The preview of pair `.0` was read.
    PreviewLoaded(u32, Preview),
    /// The whitelist was rendered with the marks, or could not be.
    PlanReady(Result<WritePlan>),
    /// The whitelist was written, or not; once written, what the next run
    /// reads in it ([`Listing`]).
    Written(Result<Listing>),
    /// The dismissal's rule was appended to the ignore file; its content
    /// before (`None`: there was no file).
    IgnoreSaved(Result<Option<Vec<u8>>>),
    /// The ignore file was put back as it was before an undone dismissal.
    IgnoreRestored(Result<()>),
    /// The pager ended (`Err`: why it could not show the file).
    PagerDone(std::result::Result<(), String>),
    /// The editor ended (`Err`: why it could not run).
    EditorDone(std::result::Result<(), String>),
    /// A step of migration `.0`: its plan, the path being copied, the
    /// gauge, the results (`tui::migrate`).
    Migration(u32, super::migrate::Report),
}

/// The paths a whitelist file lists, read back as the next run reads it
/// (in-root, normalised), or why the next run cannot read it (it then
/// counts none of them).
pub type Listing = std::result::Result<Vec<Vec<u8>>, String>;

/// What is under the mouse, as the last frame drew it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spot {
    /// Row `.0` of the tree.
    TreeRow(usize),
    /// The tree pane, not on a row.
    Tree,
    /// The detail pane.
    Detail,
    /// Row `.0` of the marked pane.
    MarkedRow(usize),
    /// The marked pane, not on a row.
    Marked,
    /// Anything else (the header, the footer).
    Elsewhere,
}

/// What the mouse did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pointer {
    /// A left click.
    Click(Spot),
    /// The wheel turned: lines up (negative) or down.
    Wheel(Spot, i8),
}

impl From<Action> for Msg {
    fn from(a: Action) -> Msg {
        Msg::Action(a)
    }
}

/// I/O for the runtime; each reports back with the message named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Leave the TUI (cancels a running scan).
    Quit,
    /// Render the whitelist with the marks ([`Msg::PlanReady`]).
    PrepareWrite,
    /// Write the planned whitelist text ([`Msg::Written`]).
    Write(String),
    /// Check the whitelist again, as a fresh run would after a write: the
    /// configs given, with the written file read back ([`Msg::Rechecked`]).
    Recheck,
    /// Append a rule to the ignore file ([`Msg::IgnoreSaved`]).
    AppendIgnore(Vec<u8>),
    /// Put the ignore file back as it was, `None`: remove it
    /// ([`Msg::IgnoreRestored`]).
    RestoreIgnore(Option<Vec<u8>>),
    /// Read a preview ([`Msg::PreviewLoaded`]).
    Preview(PreviewJob),
    /// Show a file of the root in `$PAGER` ([`Msg::PagerDone`]): the
    /// runtime opens it (regular, not followed, the (device, inode) the scan
    /// saw, no atime) and hands it to the pager as its input.
    Pager {
        /// The file on the host.
        path: PathBuf,
        /// The (device, inode) it must be.
        id: (u64, u64),
    },
    /// Open the whitelist in `$VISUAL` / `$EDITOR` ([`Msg::EditorDone`]).
    Editor(PathBuf),
    /// Plan the migration of the written paths on a thread of its own
    /// ([`Msg::Migration`] with the plan).
    PlanMigration(super::migrate::Job),
    /// Carry plan `.1` of migration `.0` out on a thread of its own
    /// ([`Msg::Migration`] as each path starts, then the results).
    RunMigration(u32, super::migrate::Ticket),
}
