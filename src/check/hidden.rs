//! Data on ROOT's own file system underneath its mount points: invisible
//! while something is mounted over it, and lost at the next wipe.
//!
//! It is read through a detached, non-recursive clone of ROOT's mount
//! (`open_tree(OPEN_TREE_CLONE)` without `AT_RECURSIVE`): the clone shows
//! ROOT's file system alone, with nothing mounted anywhere in it, and since
//! it is attached to no path nobody else sees it; it disappears when its
//! descriptor is closed. Every lookup starts at the clone's descriptor and
//! may neither follow a link nor cross into another mount, so it can only
//! read ROOT's own file system; directories are read with `O_NOATIME` and
//! entries are only `statx`ed.

use rustix::fs::ResolveFlags;
use rustix::io::Errno;

use super::walk::{self, Count};
use crate::scan::{Kind, Tree};

/// What lies under one mount point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Under {
    /// The mount point's entry in the tree.
    pub entry: usize,
    /// The mount point on ROOT's file system is a file (a single-file bind mount).
    pub is_file: bool,
    /// What is under it (for a file: one entry of its size).
    pub count: Count,
}

/// The result of looking under the mount points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hidden {
    /// Every mount point was looked under; those with something under them.
    Checked(Vec<Under>),
    /// The clone could not be made: why (not root, an old kernel).
    Skipped(String),
}

/// Looks under every mount point the scan of `tree` met.
pub fn find(tree: &Tree) -> Hidden {
    if tree.mounts.is_empty() {
        return Hidden::Checked(Vec::new());
    }
    let clone = match crate::safe_open::detached_clone(&tree.root) {
        Ok(fd) => fd,
        Err(Errno::PERM) => {
            return Hidden::Skipped(
                "looking under mount points needs root (CAP_SYS_ADMIN, to clone ROOT's mount)"
                    .into(),
            );
        }
        Err(Errno::NOSYS) => {
            return Hidden::Skipped(
                "looking under mount points needs Linux 5.2 or later (open_tree)".into(),
            );
        }
        Err(e) => {
            return Hidden::Skipped(format!(
                "cannot clone ROOT's mount to look under its mount points: {}",
                std::io::Error::from(e)
            ));
        }
    };
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV;
    let mut out = Vec::new();
    for m in &tree.mounts {
        let k = m.entry as usize;
        let path = tree.path(k);
        let Ok(pinned) = walk::open_at_path(&clone, &path, false, resolve) else {
            continue; // gone since the scan, or above a link: nothing to say
        };
        let Ok(meta) = walk::meta_of(&pinned) else {
            continue;
        };
        let (is_file, count) = match meta.kind {
            Some(Kind::Dir) => match walk::open_at_path(&clone, &path, true, resolve) {
                Ok(dir) => (false, walk::count_below(dir)),
                Err(_) => (
                    false,
                    Count {
                        unreadable: 1,
                        ..Count::default()
                    },
                ),
            },
            // A file bind mount covers a file: its content is what is hidden
            // (impermanence and preservation leave an empty placeholder).
            _ if meta.size > 0 => (
                true,
                Count {
                    entries: 1,
                    bytes: meta.size,
                    ..Count::default()
                },
            ),
            _ => continue,
        };
        if count.entries > 0 || count.unreadable > 0 {
            out.push(Under {
                entry: k,
                is_file,
                count,
            });
        }
    }
    Hidden::Checked(out)
}
