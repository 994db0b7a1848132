//! The migration of the paths written in this session (`m` after `w`,
//! `y`; docs/migrate.md): its state in the model, and the worker thread
//! that does the I/O. One thread reads back the whitelist file `w` wrote
//! (so the plan uses exactly what was written) and plans with
//! [`crate::migrate::plan`]; the plan goes to the model as a [`Ticket`],
//! and `y` hands it to another thread that copies with
//! [`crate::migrate::execute`]: each path is staged, verified and only
//! then renamed into place, so quitting at any moment leaves every path
//! either absent from storage or complete. Every step comes back to
//! `update` as a [`super::msg::Msg::Migration`].

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::check::ConfigFile;
use crate::migrate::{self, Counters, PathPlan, Plan, State};
use crate::persistence::LoadOptions;
use crate::text::{escape_bytes, quote_path};
use crate::{Error, Result};

/// What a migration starts from, taken from the model by `update`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Tells this migration's reports from an earlier one's.
    pub id: u32,
    /// ROOT, as the scan read it.
    pub root: PathBuf,
    /// The whitelist file `w` wrote.
    pub whitelist: PathBuf,
    /// The paths written in this session (in-root, sorted).
    pub paths: Vec<Vec<u8>>,
}

/// The plan or the results, as `darlings migrate` prints them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sheet {
    /// The text, one entry per line, names escaped (the header line that
    /// names ROOT is in the view's title instead).
    pub lines: Vec<String>,
    /// Paths to copy (the plan) or copied (the results).
    pub paths: usize,
    /// Bytes to copy (the plan) or copied (the results).
    pub bytes: u64,
    /// Paths refused.
    pub refused: usize,
}

/// A plan made and not carried out yet, passed from the planning thread
/// through the model to the copying thread (it holds descriptors of ROOT
/// and storage). Dropping every copy of it drops the plan: nothing written.
#[derive(Clone)]
pub struct Ticket(Arc<Mutex<Option<Plan>>>);

impl Ticket {
    fn new(plan: Plan) -> Ticket {
        Ticket(Arc::new(Mutex::new(Some(plan))))
    }

    /// A ticket without a plan (for tests of the state changes).
    #[cfg(test)]
    pub(crate) fn empty() -> Ticket {
        Ticket(Arc::new(Mutex::new(None)))
    }

    /// The plan, once: a second `take` finds nothing.
    fn take(&self) -> Option<Plan> {
        self.0.lock().ok().and_then(|mut p| p.take())
    }
}

impl PartialEq for Ticket {
    fn eq(&self, other: &Ticket) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Ticket {}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticket")
    }
}

/// What the workers (or the runtime, for the gauge) report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// The plan, or why there is none.
    Planned(std::result::Result<(Sheet, Ticket), String>),
    /// Path `n` of `of` is being copied.
    Copying {
        /// Its in-root path, escaped.
        path: String,
        /// Its rank among the paths to copy, from 1.
        n: usize,
        /// The paths to copy.
        of: usize,
    },
    /// Bytes copied plus bytes verified so far (every byte is read twice).
    Progress(u64),
    /// The results, or why the copy could not start.
    Finished(std::result::Result<Sheet, String>),
}

/// Where a migration is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Reading the whitelist back, walking the paths, comparing with storage.
    Planning,
    /// The plan is on screen, waiting for `y`.
    Ready,
    /// Copying and verifying.
    Copying,
    /// Finished: the results are on screen.
    Done,
    /// No plan or no copy (the message says why).
    Failed(String),
}

/// The migration view's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Which migration of the session this is.
    pub id: u32,
    /// ROOT.
    pub root: PathBuf,
    /// How many written paths it was asked to migrate.
    pub asked: usize,
    /// Where it is.
    pub stage: Stage,
    /// The plan, then the results.
    pub sheet: Option<Sheet>,
    /// The path being copied: (escaped path, rank from 1, paths to copy).
    pub current: Option<(String, usize, usize)>,
    /// Bytes copied plus bytes verified.
    pub done: u64,
    /// Bytes the plan copies (the gauge counts each twice).
    pub total: u64,
    /// The plan on screen, until `y` hands it to the copying thread.
    pub plan: Option<Ticket>,
}

impl Migration {
    /// A migration that is being planned.
    pub fn planning(job: &Job) -> Migration {
        Migration {
            id: job.id,
            root: job.root.clone(),
            asked: job.paths.len(),
            stage: Stage::Planning,
            sheet: None,
            current: None,
            done: 0,
            total: 0,
            plan: None,
        }
    }

    /// Takes a report of its worker.
    pub fn take(&mut self, r: Report) {
        match r {
            Report::Planned(Ok((sheet, plan))) => {
                self.total = sheet.bytes;
                self.plan = Some(plan);
                self.sheet = Some(sheet);
                self.stage = Stage::Ready;
            }
            Report::Copying { path, n, of } => self.current = Some((path, n, of)),
            Report::Progress(done) => self.done = done,
            Report::Finished(Ok(sheet)) => {
                self.sheet = Some(sheet);
                self.current = None;
                self.done = self.total.saturating_mul(2);
                self.stage = Stage::Done;
            }
            Report::Planned(Err(e)) | Report::Finished(Err(e)) => {
                self.current = None;
                self.stage = Stage::Failed(e);
            }
        }
    }

    /// Paths the plan on screen copies.
    pub fn to_copy(&self) -> usize {
        match (&self.stage, &self.sheet) {
            (Stage::Ready, Some(s)) => s.paths,
            _ => 0,
        }
    }
}

/// The runtime's handle on the thread planning or copying.
#[derive(Debug)]
pub struct Worker {
    /// The migration it works for.
    pub id: u32,
    /// Read by the runtime on every tick while copying (the gauge).
    pub counters: Arc<Counters>,
    /// Copying (else planning).
    pub copying: bool,
    thread: std::thread::JoinHandle<()>,
}

impl Worker {
    /// Plans `job` on a thread of its own; `homes` reads the whitelist's
    /// `users.NAME` lists; `send` delivers the report.
    pub fn plan(
        job: Job,
        homes: LoadOptions,
        send: impl Fn(Report) -> bool + Send + 'static,
    ) -> Result<Worker> {
        let id = job.id;
        Worker::spawn(id, false, move |_| {
            let r = plan(&job, &homes).map(|(plan, notes)| {
                let sheet = sheet(&plan, false, &notes);
                (sheet, Ticket::new(plan))
            });
            send(Report::Planned(r.map_err(|e| e.to_string())));
        })
    }

    /// Carries the plan of `ticket` out on a thread of its own: `send`
    /// delivers a report as each path starts, then the results.
    pub fn copy(
        id: u32,
        ticket: Ticket,
        send: impl Fn(Report) -> bool + Send + 'static,
    ) -> Result<Worker> {
        Worker::spawn(id, true, move |counters| {
            let Some(mut plan) = ticket.take() else {
                send(Report::Finished(Err(
                    "this plan was carried out already".into()
                )));
                return;
            };
            let of = plan
                .paths
                .iter()
                .filter(|p| matches!(p.state, State::ToCopy))
                .count();
            let mut steps = Steps {
                send: &send,
                n: 0,
                of,
            };
            let r = migrate::execute(&mut plan, counters, &mut steps)
                .map(|()| sheet(&plan, true, &[]))
                .map_err(|e| e.to_string());
            send(Report::Finished(r));
        })
    }

    fn spawn(
        id: u32,
        copying: bool,
        work: impl FnOnce(&Counters) + Send + 'static,
    ) -> Result<Worker> {
        let counters = Arc::new(Counters::default());
        let c = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("darlings-migrate".into())
            .spawn(move || work(&c))
            .map_err(|e| Error::Internal(format!("cannot start a thread: {e}")))?;
        Ok(Worker {
            id,
            counters,
            copying,
            thread,
        })
    }

    /// Copied plus verified bytes so far.
    pub fn progress(&self) -> u64 {
        self.counters.bytes.load(Ordering::Relaxed) + self.counters.verified.load(Ordering::Relaxed)
    }

    /// Whether the thread is still there (it ends after its last report).
    pub fn alive(&self) -> bool {
        !self.thread.is_finished()
    }
}

/// Reads the whitelist back and plans the written paths it lists; the
/// notes name the written paths it no longer lists (edited since).
fn plan(job: &Job, homes: &LoadOptions) -> Result<(Plan, Vec<String>)> {
    let whitelist = crate::persistence::load_with(&job.whitelist, homes)?;
    let config = [ConfigFile {
        file: job.whitelist.clone(),
        arg: job.whitelist.clone(),
        whitelist,
    }];
    let mut req = migrate::Request::new(
        job.root.clone(),
        crate::check::listed(&config),
        Vec::new(),
        Vec::new(),
    );
    let (listed, gone): (Vec<Vec<u8>>, Vec<Vec<u8>>) = job
        .paths
        .iter()
        .cloned()
        .partition(|p| req.listed.iter().any(|e| &e.path == p));
    if listed.is_empty() {
        return Err(Error::Usage(format!(
            "{} does not list the paths written in this session (edited since?)",
            quote_path(&job.whitelist)
        )));
    }
    req.only = listed;
    let notes = gone
        .iter()
        .map(|p| {
            format!(
                "note: {} is no longer in {}: not migrated",
                escape_bytes(p),
                quote_path(&job.whitelist)
            )
        })
        .collect();
    Ok((migrate::plan(&req)?, notes))
}

/// The text of `darlings migrate` for `plan` (`done`: its results).
pub fn sheet(plan: &Plan, done: bool, notes: &[String]) -> Sheet {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = migrate::render::report(&mut out, plan, done, "");
    let text = String::from_utf8_lossy(&out);
    let mut lines: Vec<String> = notes.to_vec();
    // The first line names ROOT and the command's --yes: the view's title
    // and keys say both.
    lines.extend(
        text.lines()
            .skip(1)
            .skip_while(|l| l.is_empty())
            .map(str::to_string),
    );
    let count = |f: fn(&State) -> bool| plan.paths.iter().filter(|p| f(&p.state)).count();
    let (paths, bytes) = if done {
        let copied = |p: &&PathPlan| matches!(p.state, State::Copied(_));
        (
            plan.paths.iter().filter(copied).count(),
            plan.paths.iter().filter(copied).map(|p| p.bytes).sum(),
        )
    } else {
        (count(|s| matches!(s, State::ToCopy)), plan.bytes_to_copy())
    };
    Sheet {
        lines,
        paths,
        bytes,
        refused: count(|s| matches!(s, State::Refused(_))),
    }
}

/// Reports each path as its copy starts.
struct Steps<'a> {
    send: &'a dyn Fn(Report) -> bool,
    n: usize,
    of: usize,
}

impl migrate::Observer for Steps<'_> {
    fn start(&mut self, p: &PathPlan) {
        self.n += 1;
        (self.send)(Report::Copying {
            path: escape_bytes(&p.entry.path),
            n: self.n,
            of: self.of,
        });
    }
}
