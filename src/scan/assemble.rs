//! Assembly: the walk leaves each directory's part of the entry stream in
//! a segment of its own, with notes of where its child directories' parts
//! go. [`Order`] follows the notes and hands the stream to a [`Sink`] in
//! tree order (depth-first preorder, children by name) *while the walk
//! runs*: each time a directory's segment is stored, the stream advances as
//! far as the stored segments reach, and every segment is freed once
//! passed. Whichever thread wrote which part, the sink sees the same bytes
//! for any number of threads.
//!
//! The walk spawns a directory's children in reverse, so the thread that
//! read it (rayon pops its own work last-in first-out) goes on with the
//! first child, in tree order, and the stream keeps up with it; idle threads
//! steal from the other end, the last children, whose segments wait until
//! the stream reaches them.

use std::sync::Mutex;

use super::record::Counts;
use super::walk::Segment;

/// Where the entry stream goes, in tree order.
pub trait Sink: Send {
    /// Called once, before the first piece, with the device of the root's
    /// file system (the base of the top-level records).
    fn start(&mut self, root_dev: u64) {
        let _ = root_dev;
    }
    /// The next bytes of the stream: whole records.
    fn piece(&mut self, bytes: &[u8]);
}

/// Segments stored and not yet passed by the stream, by task id.
#[derive(Default)]
struct Table {
    segs: Vec<Option<Segment>>,
    counts: Counts,
}

impl Table {
    fn take(&mut self, id: u32) -> Option<Segment> {
        self.segs.get_mut(id as usize).and_then(Option::take)
    }
}

/// Where the stream stands: the segments on the path from the root to the
/// current place, each with its next child note and next byte.
struct Cursor<'s> {
    stack: Vec<(Segment, usize, usize)>,
    started: bool,
    finished: bool,
    /// The segment the stream waits for.
    waiting: u32,
    sink: &'s mut dyn Sink,
}

impl Cursor<'_> {
    /// Hands on everything the stored segments allow.
    fn run(&mut self, table: &Mutex<Table>) {
        let lock = || table.lock().unwrap_or_else(|p| p.into_inner());
        if !self.started {
            match lock().take(0) {
                Some(root) => {
                    self.stack.push((root, 0, 0));
                    self.started = true;
                }
                None => return,
            }
        }
        let Cursor { stack, sink, .. } = self;
        while let Some(top) = stack.last_mut() {
            let (seg, note, pos) = (&top.0, top.1, top.2);
            if let Some(&(off, child)) = seg.subs.get(note) {
                let off = off as usize;
                if pos < off {
                    sink.piece(&seg.bytes[pos..off]);
                    top.2 = off;
                }
                match lock().take(child) {
                    Some(next) => {
                        top.1 += 1;
                        stack.push((next, 0, 0));
                    }
                    None => {
                        self.waiting = child;
                        return;
                    }
                }
            } else {
                if pos < seg.bytes.len() {
                    sink.piece(&seg.bytes[pos..]);
                }
                stack.pop();
            }
        }
        self.finished = true;
    }
}

/// The segments of a walk in progress and the stream through them.
pub(super) struct Order<'s> {
    table: Mutex<Table>,
    cursor: Mutex<Cursor<'s>>,
}

impl<'s> Order<'s> {
    /// The stream will go to `sink`.
    pub(super) fn new(sink: &'s mut dyn Sink) -> Order<'s> {
        Order {
            table: Mutex::new(Table::default()),
            cursor: Mutex::new(Cursor {
                stack: Vec::new(),
                started: false,
                finished: false,
                waiting: 0,
                sink,
            }),
        }
    }

    /// Stores the finished segment of task `id` and advances the stream.
    pub(super) fn store(&self, id: u32, seg: Segment, counts: &Counts) {
        {
            let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
            let i = id as usize;
            if t.segs.len() <= i {
                t.segs.resize_with(i + 1, || None);
            }
            t.segs[i] = Some(seg);
            t.counts.add(counts);
        }
        self.advance();
    }

    /// Advances the stream unless another thread is doing it. That thread
    /// looks again, once done, whether what it waited for has come meanwhile.
    fn advance(&self) {
        loop {
            let Ok(mut c) = self.cursor.try_lock() else {
                return;
            };
            c.run(&self.table);
            let (finished, waiting) = (c.finished, c.waiting);
            drop(c);
            if finished {
                return;
            }
            let t = self.table.lock().unwrap_or_else(|p| p.into_inner());
            if !t.segs.get(waiting as usize).is_some_and(Option::is_some) {
                return;
            }
        }
    }

    /// After the walk: the counts of everything streamed, or why the
    /// stream is incomplete (a cancelled walk).
    pub(super) fn finish(self) -> Result<Counts, String> {
        let mut c = self.cursor.into_inner().unwrap_or_else(|p| p.into_inner());
        c.run(&self.table);
        if !c.finished {
            return Err(format!(
                "the stream stops before directory task {}",
                c.waiting
            ));
        }
        Ok(self
            .table
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .counts)
    }
}
