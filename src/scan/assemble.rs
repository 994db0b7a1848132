//! Assembly: the walk leaves each directory's children as one name-sorted
//! run in the order threads happened to finish them; this puts the runs in
//! tree order (depth-first preorder), so the result, and the scan file
//! written from it, is the same for any number of threads.

use std::path::PathBuf;

use super::tree::{NONE, Tree};
use super::walk::Flat;
use crate::{Error, Result};

/// Puts the runs of [`Flat`] in tree order, in place: a depth-first pass
/// computes each entry's final position, parent, depth and subtree end, then
/// the entries are permuted by swapping each into place (no second copy).
pub(super) fn assemble(root: PathBuf, mut f: Flat) -> Result<Tree> {
    let n = f.all.entries.len();
    if n >= NONE as usize {
        return Err(Error::bad_input(
            &root,
            "too many entries for one scan (4 billion)",
        ));
    }
    // dest[flat index] = position in tree order.
    let mut dest = vec![NONE; n];
    let mut pos = 0u32;
    // Explicit stack (not recursion): a tree 65,535 levels deep must not
    // overflow the thread's stack. Frame: (next flat index, run end, dir flat index, depth).
    let mut stack: Vec<(u32, u32, u32, u16)> = Vec::new();
    if let Some(&(start, len)) = f.runs.first() {
        stack.push((start, start + len, NONE, 1));
    }
    while let Some(top) = stack.last_mut() {
        let (next, end, dir, depth) = *top;
        if next == end {
            stack.pop();
            if dir != NONE {
                f.all.entries[dir as usize].end = pos;
            }
            continue;
        }
        top.0 += 1;
        let e = &mut f.all.entries[next as usize];
        let sub = e.end;
        dest[next as usize] = pos;
        e.parent = if dir == NONE {
            NONE
        } else {
            dest[dir as usize]
        };
        e.depth = depth;
        e.end = pos + 1;
        pos += 1;
        if sub != NONE
            && let Some(&(start, len)) = f.runs.get(sub as usize)
            && len > 0
        {
            stack.push((start, start + len, next, depth.saturating_add(1)));
        }
    }
    // Entries of runs never reached (cannot happen: every run's directory is
    // listed) would keep NONE; drop them rather than corrupt the order.
    if pos as usize != n {
        return Err(Error::bad_input(
            &root,
            "internal error: scan runs do not form a tree",
        ));
    }
    for m in &mut f.all.mounts {
        m.entry = dest[m.entry as usize];
    }
    f.all.mounts.sort_by_key(|m| m.entry);
    // Cycle-following permutation: each swap puts one entry in its final place.
    for i in 0..n {
        while dest[i] as usize != i {
            let d = dest[i] as usize;
            f.all.entries.swap(i, d);
            dest.swap(i, d);
        }
    }
    drop(dest);
    // Names and link targets in tree order too, so a scan file does not
    // depend on which thread read which directory first (`--threads 1` and
    // `--threads 8` write the same bytes).
    let mut names = Vec::with_capacity(f.all.names.len());
    let mut hashes = Vec::with_capacity(f.all.hashes.len());
    let mut targets = Vec::with_capacity(f.all.targets.len());
    let mut target_bytes = Vec::with_capacity(f.all.target_bytes.len());
    for e in &mut f.all.entries {
        let off = e.name_off as usize;
        e.name_off = names.len() as u32;
        names.extend_from_slice(&f.all.names[off..off + e.name_len as usize]);
        if e.hash != NONE {
            let h = f.all.hashes[e.hash as usize];
            e.hash = hashes.len() as u32;
            hashes.push(h);
        }
        if e.target != NONE {
            let (o, l) = f.all.targets[e.target as usize];
            e.target = targets.len() as u32;
            targets.push((target_bytes.len() as u32, l));
            target_bytes.extend_from_slice(&f.all.target_bytes[o as usize..(o + l) as usize]);
        }
    }
    drop(f.all.names);
    Ok(Tree {
        root,
        entries: f.all.entries,
        names,
        targets,
        target_bytes,
        hashes,
        mounts: f.all.mounts,
        errors: Vec::new(),
        fully_hashed: false,
    })
}
