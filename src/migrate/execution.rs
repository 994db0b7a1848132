//! Carrying a plan out: each path to copy is copied into a staging directory
//! in its storage root, verified against ROOT, made durable and only then
//! renamed into place (by a second thread, while the next path is copied).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::Ordering;

use rustix::io::Errno;

use super::copy::{self, Counters, Methods};
use super::planning::busy_files;
use super::staging::{self, Staging, Storage};
use super::writers::Writers;
use super::{PathPlan, Plan, Refusal, Source, State, fsx, render, seconds_now, tree};
use crate::{Error, Result, text};

/// What [`execute`] reports as it goes.
pub trait Observer {
    /// A path is about to be copied.
    fn start(&mut self, _path: &PathPlan) {}
    /// A path is done (its state is final).
    fn done(&mut self, _path: &PathPlan) {}
}

/// An observer that says nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// Carries the plan out: locks the storage roots, removes staging leftovers,
/// checks the room again, then copies, verifies and renames every path to
/// copy, one at a time. The states in `plan` become the results.
pub fn execute(plan: &mut Plan, counters: &Counters, observer: &mut dyn Observer) -> Result<()> {
    for s in &plan.storages {
        match s.lock() {
            Ok(()) => {}
            Err(Errno::WOULDBLOCK) => {
                return Err(Error::Usage(format!(
                    "another darlings migrate is writing into {}: wait for it to finish",
                    text::quote_path(&s.host)
                )));
            }
            Err(e) => return Err(Error::io("cannot lock", &s.host, e.into())),
        }
    }
    for s in plan.storages.iter_mut() {
        let host = s.host.clone();
        for (name, n) in s
            .remove_leftovers()
            .map_err(|e| Error::io("cannot remove staging leftovers in", &host, e.into()))?
        {
            plan.removed
                .push((host.join(std::ffi::OsStr::from_bytes(&name)), n));
        }
        s.refresh()
            .map_err(|e| Error::io("cannot read the free room of", &host, e.into()))?;
    }
    // Room again, now that leftovers are gone; a shortfall stops everything.
    if plan.check_room(true) {
        return Ok(());
    }
    let mut stagings: Vec<Option<Staging>> = plan.storages.iter().map(|_| None).collect();
    let mut writers = None;
    // Verified copies are made durable and renamed into place by a second
    // thread while the next path is copied: waiting for the disk overlaps
    // with work instead of stopping it (a kill still leaves each path
    // absent or complete: the rename comes after the sync).
    let (jobs, job_rx) = std::sync::mpsc::channel::<Publish>();
    let (results_tx, results) = std::sync::mpsc::channel::<(usize, State)>();
    let publisher = std::thread::Builder::new()
        .name("darlings-publish".into())
        .spawn(move || {
            for job in job_rx {
                let i = job.index;
                let state = job.publish();
                if results_tx.send((i, state)).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start a thread: {e}")))?;
    let finish = |plan: &mut Plan, (i, state): (usize, State), observer: &mut dyn Observer| {
        plan.paths[i].state = state;
        observer.done(&plan.paths[i]);
    };
    for i in 0..plan.paths.len() {
        while let Ok(r) = results.try_recv() {
            finish(plan, r, observer);
        }
        if !matches!(plan.paths[i].state, State::ToCopy) {
            continue;
        }
        observer.start(&plan.paths[i]);
        let si = plan.paths[i].storage;
        let staging = match &mut stagings[si] {
            Some(s) => s,
            slot => match Staging::create(&plan.storages[si]) {
                Ok(s) => slot.insert(s),
                Err(e) => {
                    let state = State::Refused(Refusal::Failed(format!(
                        "cannot create a staging directory in {}: {}",
                        text::quote_path(&plan.storages[si].host),
                        std::io::Error::from(e)
                    )));
                    finish(plan, (i, state), observer);
                    continue;
                }
            },
        };
        let outcome = migrate_one(
            plan.root_fd.as_fd(),
            &plan.storages[si],
            staging,
            &mut plan.paths[i],
            counters,
            &mut writers,
        );
        plan.paths[i].source = None;
        match outcome {
            Ok(mut job) => {
                job.index = i;
                // The publisher only ends when `jobs` is dropped.
                if let Err(std::sync::mpsc::SendError(job)) = jobs.send(job) {
                    let state = job.publish();
                    finish(plan, (i, state), observer);
                }
            }
            Err(state) => finish(plan, (i, state), observer),
        }
    }
    drop(jobs);
    let _ = publisher.join();
    while let Ok(r) = results.try_recv() {
        finish(plan, r, observer);
    }
    drop(stagings);
    for s in &plan.storages {
        let _ = rustix::fs::fsync(&s.fd);
    }
    Ok(())
}

/// A verified copy waiting to be made durable and renamed into place.
struct Publish {
    /// Index of the path in the plan.
    index: usize,
    /// The staging directory and the slot holding the copy.
    staging: OwnedFd,
    slot_name: Vec<u8>,
    slot: OwnedFd,
    /// The copy's name (the whitelisted path's last component).
    name: Vec<u8>,
    /// The storage directory it goes into.
    dest_parent: OwnedFd,
    methods: Methods,
    /// Storage held an empty directory or file there (see [`Source`]).
    over_empty: bool,
}

impl Publish {
    /// Durable before visible: sync the file system, rename with
    /// `RENAME_NOREPLACE`, sync the directory, remove the empty slot.
    fn publish(self) -> State {
        let _t = crate::timing::phase("publish");
        let failed = |s: String| State::Refused(Refusal::Failed(s));
        let name = std::ffi::OsStr::from_bytes(&self.name);
        let state = if let Err(e) = rustix::fs::syncfs(&self.slot) {
            failed(format!("cannot sync the copy: {}", std::io::Error::from(e)))
        } else if self.over_empty {
            self.exchange_with_empty()
        } else {
            match rustix::fs::renameat_with(
                &self.slot,
                name,
                &self.dest_parent,
                name,
                rustix::fs::RenameFlags::NOREPLACE,
            ) {
                Ok(()) => match fsx::sync_dir(self.dest_parent.as_fd()) {
                    Ok(()) => State::Copied(self.methods),
                    Err(e) => failed(format!(
                        "the copy is in place, but its directory cannot be synced: {}",
                        std::io::Error::from(e)
                    )),
                },
                Err(Errno::EXIST) => State::Refused(Refusal::Appeared),
                Err(e) => failed(format!(
                    "cannot move the verified copy into place: {}",
                    std::io::Error::from(e)
                )),
            }
        };
        let _ = fsx::remove_tree(self.staging.as_fd(), &self.slot_name);
        state
    }
}

impl Publish {
    /// Puts the copy in place of storage's empty directory or empty file:
    /// the two are exchanged atomically, then the old one is removed only if
    /// it still holds nothing; if something was written into it meanwhile,
    /// the exchange is undone and the path refused.
    fn exchange_with_empty(&self) -> State {
        let name = std::ffi::OsStr::from_bytes(&self.name);
        let failed = |s: String| State::Refused(Refusal::Failed(s));
        if let Err(e) = rustix::fs::renameat_with(
            &self.slot,
            name,
            &self.dest_parent,
            name,
            rustix::fs::RenameFlags::EXCHANGE,
        ) {
            return match e {
                Errno::NOENT => State::Refused(Refusal::Appeared),
                e => failed(format!(
                    "cannot move the verified copy into place: {}",
                    std::io::Error::from(e)
                )),
            };
        }
        let old = rustix::fs::statat(&self.slot, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW);
        let removed = match old {
            Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() => {
                self.remove_empty_file(&st)
            }
            // rmdir refuses a directory that got entries.
            _ => rustix::fs::unlinkat(&self.slot, name, rustix::fs::AtFlags::REMOVEDIR)
                .map_err(|_| State::Refused(Refusal::Appeared)),
        };
        match removed {
            Ok(()) => match fsx::sync_dir(self.dest_parent.as_fd()) {
                Ok(()) => State::Copied(self.methods),
                Err(e) => failed(format!(
                    "the copy is in place, but its directory cannot be synced: {}",
                    std::io::Error::from(e)
                )),
            },
            Err(state) => {
                // Storage's entry got data while we copied: put it back.
                match rustix::fs::renameat_with(
                    &self.slot,
                    name,
                    &self.dest_parent,
                    name,
                    rustix::fs::RenameFlags::EXCHANGE,
                ) {
                    Ok(()) => state,
                    // Never lose it with the staging directory: beside the copy.
                    Err(e) => {
                        let mut aside = self.name.clone();
                        aside.extend_from_slice(b".darlings-old");
                        let kept = rustix::fs::renameat_with(
                            &self.slot,
                            name,
                            &self.dest_parent,
                            std::ffi::OsStr::from_bytes(&aside),
                            rustix::fs::RenameFlags::NOREPLACE,
                        );
                        failed(format!(
                            "storage's entry got data while the copy was put in place and cannot \
                             be put back ({}){}",
                            std::io::Error::from(e),
                            if kept.is_ok() {
                                format!(": it is kept beside it as {}", text::escape_bytes(&aside))
                            } else {
                                String::new()
                            }
                        ))
                    }
                }
            }
        }
    }

    /// Removes storage's old empty file, now in the slot under the copy's
    /// name, if it still holds nothing. There is no "unlink if empty": once
    /// exchanged, no new opener can reach it by its name, so a process that
    /// could still write into it has it open already, and is found in
    /// `/proc` (by device and inode) before it is unlinked.
    fn remove_empty_file(&self, st: &rustix::fs::Stat) -> Result<(), State> {
        // Writers first, then the size: a process that could still write
        // holds it open now (its name is gone), so it is found here; one
        // that wrote and closed before shows in the size read after.
        let writers = Writers::scan();
        if let Some(w) = writers.of((st.st_dev, st.st_ino)).first() {
            return Err(State::Refused(Refusal::Failed(format!(
                "storage's empty file there is open for writing by {} (pid {}): stop it, then run again",
                text::escape_str(&w.command),
                w.pid
            ))));
        }
        let node = match tree::stat_at(self.slot.as_fd(), &self.name) {
            Ok(s) => s.node().clone(),
            Err(_) => return Err(State::Refused(Refusal::Appeared)),
        };
        if !super::planning::empty_file(self.slot.as_fd(), &self.name, &node) {
            return Err(State::Refused(Refusal::Appeared));
        }
        rustix::fs::unlinkat(
            &self.slot,
            std::ffi::OsStr::from_bytes(&self.name),
            rustix::fs::AtFlags::empty(),
        )
        .map_err(|e| {
            State::Refused(Refusal::Failed(format!(
                "cannot remove storage's empty file: {}",
                std::io::Error::from(e)
            )))
        })
    }
}

/// Copies and verifies one path in staging; what is left to do is the
/// [`Publish`] job (or the path's final state when it cannot be published).
fn migrate_one(
    root: std::os::fd::BorrowedFd<'_>,
    storage: &Storage,
    staging: &mut Staging,
    p: &mut PathPlan,
    counters: &Counters,
    writers: &mut Option<(std::time::Instant, Writers)>,
) -> Result<Publish, State> {
    let Some(mut source) = p.source.take() else {
        return Err(State::Refused(Refusal::Failed("nothing was walked".into())));
    };
    let name = source.tree.nodes[0].name.clone();
    let base = (
        counters.bytes.load(Ordering::Relaxed),
        counters.entries.load(Ordering::Relaxed),
        counters.verified.load(Ordering::Relaxed),
    );
    for attempt in 0..2 {
        if attempt > 0 {
            counters.bytes.store(base.0, Ordering::Relaxed);
            counters.entries.store(base.1, Ordering::Relaxed);
            counters.verified.store(base.2, Ordering::Relaxed);
            source.walked_at = seconds_now();
            source.tree = match tree::walk(source.parent.as_fd(), &name, tree::Read::META) {
                Ok(t) => t,
                Err(e) => return Err(State::Refused(Refusal::Unreadable(e.to_string()))),
            };
        }
        // Writers could have started since the plan. Reading every
        // process's fds and maps costs tens of milliseconds on a busy
        // machine: once per second is enough, the walk after the copy
        // notices any write anyway.
        let fresh = match writers.take() {
            Some((at, w)) if at.elapsed() < std::time::Duration::from_secs(1) => (at, w),
            _ => (std::time::Instant::now(), Writers::scan()),
        };
        let busy = busy_files(&source.tree, &fresh.1);
        *writers = Some(fresh);
        if !busy.is_empty() {
            return Err(State::Refused(Refusal::Writers(busy)));
        }
        let (slot, slot_fd) = match staging.slot() {
            Ok(s) => s,
            Err(e) => {
                return Err(State::Refused(Refusal::Failed(format!(
                    "cannot create a staging directory: {}",
                    std::io::Error::from(e)
                ))));
            }
        };
        match copy_and_verify(root, storage, staging, &source, &slot_fd, p, counters) {
            Ok(Ok((dest_parent, methods))) => {
                let staging_fd = match rustix::io::dup(&staging.fd) {
                    Ok(fd) => fd,
                    Err(e) => {
                        staging.remove(&slot);
                        return Err(State::Refused(Refusal::Failed(
                            std::io::Error::from(e).to_string(),
                        )));
                    }
                };
                return Ok(Publish {
                    index: 0,
                    staging: staging_fd,
                    slot_name: slot,
                    slot: slot_fd,
                    name,
                    dest_parent,
                    methods,
                    over_empty: source.over_empty,
                });
            }
            Ok(Err(state)) => {
                staging.remove(&slot);
                return Err(state);
            }
            Err(Retry(what)) => {
                staging.remove(&slot);
                if attempt > 0 {
                    return Err(State::Refused(Refusal::Changed(format!(
                        "{what}; a program is writing there: stop it, then run again"
                    ))));
                }
            }
        }
    }
    Err(State::Refused(Refusal::Failed("gave up".into())))
}

/// The source changed while it was copied: worth one more try.
struct Retry(String);

/// A verified copy's storage directory and how it was copied, or the path's
/// final state.
type Staged = std::result::Result<(OwnedFd, Methods), State>;

/// Copies the path into the slot and verifies it, then opens (creating
/// what is missing) its storage directory. `Ok(Ok(_))`: ready to publish;
/// `Ok(Err(state))`: the path's final state; `Err(Retry)`: ROOT changed.
fn copy_and_verify(
    root: std::os::fd::BorrowedFd<'_>,
    storage: &Storage,
    staging: &mut Staging,
    source: &Source,
    slot: &OwnedFd,
    p: &PathPlan,
    counters: &Counters,
) -> std::result::Result<Staged, Retry> {
    let failed = |s: String| Ok(Err(State::Refused(Refusal::Failed(s))));
    let tree = &source.tree;
    let t = crate::timing::phase("copy");
    let copier = copy::Copier {
        src: source.parent.as_fd(),
        dst: slot.as_fd(),
        tree,
        counters,
    };
    let copied = match copier.run() {
        Ok(c) => c,
        Err(e) if e.op == copy::CHANGED => return Err(Retry(e.to_string())),
        Err(e) => return failed(e.to_string()),
    };
    drop(t);
    let t = crate::timing::phase("verify");
    match copy::verify(
        source.parent.as_fd(),
        tree,
        &copied.digests,
        slot.as_fd(),
        counters,
        source.walked_at - 1,
    ) {
        Ok(d) if d.is_empty() => {}
        Ok(d) => {
            return failed(format!(
                "the copy differs from ROOT after copying ({}); nothing was made visible",
                render::differences_inline(&d)
            ));
        }
        Err(copy::VerifyError::Changed(rel)) => {
            return Err(Retry(format!(
                "{} changed while it was copied",
                text::escape_bytes(&rel)
            )));
        }
        Err(e) => return failed(e.to_string()),
    }
    drop(t);
    match staging::dest_parent(storage, root, &p.entry.path, Some(staging)) {
        Ok(Some(d)) => Ok(Ok((d, copied.methods))),
        Ok(None) => failed("cannot create its directory in storage".into()),
        Err(u) => Ok(Err(State::Refused(Refusal::Unusable(format!(
            "{} in storage {}",
            text::escape_bytes(&u.path),
            u.problem
        ))))),
    }
}
