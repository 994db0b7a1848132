//! Assembly: the walk leaves each directory's part of the entry stream in
//! a segment of its own, with notes of where its child directories' parts
//! go. Following the notes reads the stream in tree order (depth-first
//! preorder, children by name), whichever thread wrote which part, so the
//! stream, the tree decoded from it and the scan file written from it are
//! the same for any number of threads.

use std::path::PathBuf;

use super::record::Decoder;
use super::tree::Tree;
use super::walk::{Segment, Walked};
use crate::{Error, Result};

/// Calls `f` with the entry stream, in tree order, a piece (whole records)
/// at a time.
pub(super) fn for_each_piece(segs: &[Segment], f: &mut dyn FnMut(&[u8])) {
    let empty = Segment::default();
    let seg = |id: u32| segs.get(id as usize).unwrap_or(&empty);
    // (segment, next child note, next byte): an explicit stack, as a tree
    // can be 65,535 levels deep.
    let mut stack: Vec<(u32, usize, usize)> = vec![(0, 0, 0)];
    while let Some(top) = stack.last_mut() {
        let s = seg(top.0);
        if let Some(&(off, child)) = s.subs.get(top.1) {
            f(&s.bytes[top.2..off as usize]);
            top.1 += 1;
            top.2 = off as usize;
            stack.push((child, 0, 0));
        } else {
            f(&s.bytes[top.2..]);
            stack.pop();
        }
    }
}

/// Decodes the walk's stream into a tree.
pub(super) fn into_tree(root: PathBuf, w: &Walked) -> Result<Tree> {
    let mut dec = Decoder::new(root.clone(), w.root_dev, w.counts, u64::MAX).trusting_names();
    let mut problem = None;
    for_each_piece(&w.segs, &mut |piece| {
        if problem.is_none() {
            match dec.feed(piece) {
                Ok(n) if n == piece.len() => {}
                Ok(_) => problem = Some("a record split between directories".to_string()),
                Err(e) => problem = Some(e),
            }
        }
    });
    let tree = match problem {
        None => dec.finish(),
        Some(p) => Err(p),
    };
    tree.map_err(|e| {
        Error::bad_input(
            &root,
            format!("internal error: the walk wrote a bad stream: {e}"),
        )
    })
}
