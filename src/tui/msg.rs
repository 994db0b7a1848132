//! The two vocabularies of the Elm architecture: [`Msg`], everything that
//! changes the model (key actions, and the results of I/O the runtime did),
//! and [`Cmd`], the I/O `update` asks the runtime for. `update` is the only
//! function that changes the model; the runtime performs commands and feeds
//! their results back as messages.

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
    /// The audit arrived, with the accounts of its root.
    Loaded(Box<(Audit, Users)>),
    /// The whitelist check of that audit finished (`tui::findings`).
    Checked(Box<Result<crate::check::Checked>>),
    /// The scan's counters, while it runs.
    Progress(Loading),
    /// Rows the tree window holds (PgUp/PgDn move by it); the runtime
    /// sends it when a draw finds a new height.
    Page(usize),
    /// The preview of pair `.0` was read.
    PreviewLoaded(u32, Preview),
    /// The whitelist was rendered with the marks, or could not be.
    PlanReady(Result<WritePlan>),
    /// The whitelist was written, or not.
    Written(Result<()>),
    /// The dismissal's rule was appended to the ignore file; its content
    /// before (`None`: there was no file).
    IgnoreSaved(Result<Option<Vec<u8>>>),
    /// The ignore file was put back as it was before an undone dismissal.
    IgnoreRestored(Result<()>),
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
    /// Append a rule to the ignore file ([`Msg::IgnoreSaved`]).
    AppendIgnore(Vec<u8>),
    /// Put the ignore file back as it was, `None`: remove it
    /// ([`Msg::IgnoreRestored`]).
    RestoreIgnore(Option<Vec<u8>>),
    /// Read a preview ([`Msg::PreviewLoaded`]).
    Preview(PreviewJob),
}
