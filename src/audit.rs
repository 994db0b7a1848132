//! The pipeline that every command runs: scan the root, load or scan the
//! baseline, pair the two trees, hash what metadata cannot decide, decide
//! changes, classify. Its result, [`Audit`], is what the report, the
//! summary and the TUI read; none of them touches the file system again
//! (except the TUI's preview).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::classify::{self, Class, Verdicts};
use crate::diff::{self, Change, Pair, What};
use crate::scan::{self, Kind, NONE, Progress, ScanError, ScanOptions, Tree};
use crate::{Error, Result, snapshot};

/// What the root is compared with (SPEC §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// A blank root: every path is added.
    Empty,
    /// A directory (a mounted blank snapshot, an old root), scanned like the root.
    Directory(PathBuf),
    /// A scan file written by `darlings scan`.
    ScanFile(PathBuf),
}

impl Baseline {
    /// Interprets a `--against` value: `empty`, a scan file (by its magic), or a directory.
    pub fn parse(value: &str) -> Result<Baseline> {
        if value == "empty" {
            return Ok(Baseline::Empty);
        }
        let p = PathBuf::from(value);
        let meta = std::fs::metadata(&p).map_err(|e| Error::io("cannot use baseline", &p, e))?;
        if meta.is_dir() {
            Ok(Baseline::Directory(p))
        } else if !meta.is_file() {
            // Never opened: a fifo would block, a device's open can have effects.
            Err(Error::bad_input(
                &p,
                "not a regular file, a directory or `empty` (a fifo, socket or device is never opened)",
            ))
        } else if snapshot::is_scan_file(&p) {
            Ok(Baseline::ScanFile(p))
        } else {
            Err(Error::bad_input(
                &p,
                "not a darlings scan file (wrong magic bytes) and not a directory",
            ))
        }
    }

    /// The SPEC §4 `baseline.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Baseline::Empty => "empty",
            Baseline::Directory(_) => "directory",
            Baseline::ScanFile(_) => "scan",
        }
    }

    /// The baseline's path, if it has one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Baseline::Empty => None,
            Baseline::Directory(p) | Baseline::ScanFile(p) => Some(p),
        }
    }
}

/// When file contents are read (SPEC §2 `--hash`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashMode {
    /// Only where size and mtime cannot decide.
    Auto,
    /// Every regular file.
    All,
    /// Never.
    None,
}

/// Everything a scanning command needs, resolved and validated.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// The root and walk options.
    pub scan: ScanOptions,
    /// What the root is compared with.
    pub baseline: Baseline,
    /// When contents are hashed.
    pub hash: HashMode,
    /// Persistent storage roots (`--storage`).
    pub storage: Vec<PathBuf>,
    /// Paths the `--persistence` configs keep.
    pub listed: Vec<crate::evidence::Listed>,
    /// `--ignore FILE`.
    pub ignore: Option<PathBuf>,
}

/// Counters of the hashing stage, for the report and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashStats {
    /// Files whose content was read and hashed.
    pub files_read: u64,
    /// Bytes read for hashing.
    pub bytes_read: u64,
    /// Hashes taken from the baseline scan file without reading the file.
    pub reused: u64,
}

/// The result of the pipeline.
#[derive(Debug)]
pub struct Audit {
    /// The root's tree.
    pub cur: Tree,
    /// The baseline's tree (`None` against `empty`).
    pub base: Option<Tree>,
    /// What the root was compared with.
    pub baseline: Baseline,
    /// Persistent storage roots.
    pub storage: Vec<PathBuf>,
    /// The merged trees, in tree order.
    pub pairs: Vec<Pair>,
    /// Change of each pair.
    pub changes: Vec<(Change, What)>,
    /// Verdict of each pair.
    pub verdicts: Verdicts,
    /// For each pair, the index of its parent pair, or `NONE`.
    pub parent: Vec<u32>,
    /// For each pair, one past the last pair of its subtree.
    pub end: Vec<u32>,
    /// Per-path problems of both scans.
    pub errors: Vec<ScanError>,
    /// Configuration/evidence disagreements found by classification.
    pub warnings: Vec<String>,
    /// What hashing did.
    pub hash_stats: HashStats,
}

/// Runs the whole pipeline.
pub fn run(opts: &AuditOptions, progress: &Progress) -> Result<Audit> {
    let mut scan_opts = opts.scan.clone();
    // With --hash all, files are hashed during the walk, except when a scan
    // file can spare the reading: then hashing waits until the pairs show
    // which files kept their identity.
    scan_opts.hash_all =
        opts.hash == HashMode::All && !matches!(opts.baseline, Baseline::ScanFile(_));
    // The baseline is loaded (or walked) while the root is walked: the walk
    // waits on the kernel, the baseline's decompression or walk fills the gap.
    let (cur, base) = std::thread::scope(|s| {
        let base = s.spawn(|| -> Result<Option<Tree>> {
            Ok(match &opts.baseline {
                Baseline::Empty => None,
                Baseline::ScanFile(p) => Some(snapshot::load(p)?),
                Baseline::Directory(p) => {
                    let mut o = scan_opts.clone();
                    o.root = p.clone();
                    Some(scan::scan(&o, progress)?)
                }
            })
        });
        let cur = scan::scan(&scan_opts, progress);
        let base = base
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("reading the baseline failed".into())));
        (cur, base)
    });
    let mut cur = cur?;
    let mut base = base?;
    let t = crate::timing::phase("pair");
    let pairs = diff::pair(&cur, base.as_ref());
    drop(t);
    let mut errors = Vec::new();
    let hash_stats = hash_stage(opts, &mut cur, base.as_mut(), &pairs, progress, &mut errors)?;
    let t = crate::timing::phase("changes");
    let changes: Vec<(Change, What)> = pairs
        .iter()
        .map(|&p| diff::change(&cur, base.as_ref(), p))
        .collect();
    drop(t);
    let t = crate::timing::phase("classify");
    let (parent, end) = pair_tree(&cur, base.as_ref(), &pairs);
    drop(t);
    let t = crate::timing::phase("evidence");
    let host_mounts = crate::mountinfo::read_own();
    let beyond = crate::evidence::HostBeyond {
        root: cur.root.clone(),
    };
    let evidence = crate::evidence::gather(crate::evidence::GatherInput {
        tree: &cur,
        storage: &opts.storage,
        listed: opts.listed.clone(),
        ignore_file: opts.ignore.as_deref(),
        beyond: &beyond,
        host_mounts: &host_mounts,
    })?;
    drop(t);
    let t = crate::timing::phase("verdicts");
    let present: Vec<bool> = pairs.iter().map(|p| p.cur != NONE).collect();
    let verdicts = classify::classify(&classify::ClassifyInput {
        cur: &cur,
        base: base.as_ref(),
        pairs: &pairs,
        parent: &parent,
        present: &present,
        evidence: &evidence,
        beyond: &beyond,
        knowledge: crate::knowledge::Knowledge::builtin(),
    });
    drop(t);
    errors.extend(cur.errors.iter().cloned());
    if let (Some(b), Baseline::Directory(p)) = (&base, &opts.baseline) {
        errors.extend(b.errors.iter().map(|e| e.in_baseline(p)));
    }
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Audit {
        cur,
        base,
        baseline: opts.baseline.clone(),
        storage: evidence
            .storage
            .iter()
            .map(|s| PathBuf::from(std::ffi::OsStr::from_bytes(s)))
            .collect(),
        pairs,
        changes,
        verdicts,
        parent,
        end,
        errors,
        warnings: evidence.warnings,
        hash_stats,
    })
}

/// Decides which files to read, reuses what the baseline scan already knows,
/// and hashes the rest in parallel.
fn hash_stage(
    opts: &AuditOptions,
    cur: &mut Tree,
    mut base: Option<&mut Tree>,
    pairs: &[Pair],
    progress: &Progress,
    errors: &mut Vec<ScanError>,
) -> Result<HashStats> {
    let mut stats = HashStats::default();
    if opts.hash == HashMode::None {
        return Ok(stats);
    }
    let base_is_dir = matches!(opts.baseline, Baseline::Directory(_));
    let mut cur_todo = Vec::new();
    let mut base_todo = Vec::new();
    let mut in_pair = vec![
        false;
        if opts.hash == HashMode::All {
            cur.len()
        } else {
            0
        }
    ];
    for p in pairs {
        let (c, b) = (p.cur, p.base);
        if c == NONE || b == NONE {
            continue;
        }
        let (c, b) = (c as usize, b as usize);
        let Some(base) = base.as_deref_mut() else {
            continue;
        };
        if !in_pair.is_empty() {
            in_pair[c] = true;
        }
        if cur.entries[c].kind != Kind::File || base.entries[b].kind != Kind::File {
            continue;
        }
        // A scan file's hash is reused when the file's identity is unchanged:
        // same device, inode, size, mtime and ctime (any write bumps ctime).
        if !base_is_dir
            && let Some(&h) = base.hash(b)
            && diff::same_identity(cur, c, base, b)
        {
            cur.set_hash(c, h);
            stats.reused += 1;
            continue;
        }
        let wanted = match opts.hash {
            HashMode::All => true,
            HashMode::Auto => diff::needs_content_check(cur, c, base, b),
            HashMode::None => false,
        };
        if !wanted {
            continue;
        }
        cur_todo.push(c);
        let same_size = cur.entries[c].size == base.entries[b].size;
        if base.hash(b).is_none() && base_is_dir && same_size && !base.fully_hashed {
            base_todo.push(b);
        }
    }
    if opts.hash == HashMode::All {
        // Files without a counterpart are hashed too: --hash all means every file.
        for (c, e) in cur.entries.iter().enumerate() {
            if e.kind == Kind::File && !in_pair[c] {
                cur_todo.push(c);
            }
        }
        if base.is_none() {
            cur_todo = (0..cur.len())
                .filter(|&c| cur.entries[c].kind == Kind::File)
                .collect();
        }
    }
    // Files the walk already hashed are not read twice; one the walk could
    // not hash keeps its recorded error rather than a second attempt.
    if cur.fully_hashed {
        cur_todo.clear();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.scan.threads.max(1))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start threads: {e}")))?;
    pool.install(|| {
        scan::hash_entries(cur, &cur_todo, progress, errors);
        if let Some(base) = base {
            let mut base_errors = Vec::new();
            scan::hash_entries(base, &base_todo, progress, &mut base_errors);
            errors.extend(base_errors.into_iter().map(|mut e| {
                e.error = format!("in baseline: {}", e.error);
                e
            }));
        }
    });
    // Everything read for hashing in this run: during the walks and here.
    stats.files_read = progress.files_hashed.load(Ordering::Relaxed);
    stats.bytes_read = progress.bytes_hashed.load(Ordering::Relaxed);
    cur.fully_hashed = opts.hash == HashMode::All;
    Ok(stats)
}

/// Parent and subtree end of each pair of the merged tree, from depths.
fn pair_tree(cur: &Tree, base: Option<&Tree>, pairs: &[Pair]) -> (Vec<u32>, Vec<u32>) {
    let mut parent = vec![NONE; pairs.len()];
    let mut end = vec![0u32; pairs.len()];
    let mut stack: Vec<(u32, u32)> = Vec::new(); // (pair index, depth)
    for (i, p) in pairs.iter().enumerate() {
        let depth = u32::from(if p.cur != NONE {
            cur.entries[p.cur as usize].depth
        } else {
            base.map_or(1, |b| b.entries[p.base as usize].depth)
        });
        while let Some(&(k, d)) = stack.last() {
            if d < depth {
                break;
            }
            end[k as usize] = i as u32;
            stack.pop();
        }
        parent[i] = stack.last().map_or(NONE, |&(k, _)| k);
        stack.push((i as u32, depth));
    }
    for (k, _) in stack {
        end[k as usize] = pairs.len() as u32;
    }
    (parent, end)
}

impl Audit {
    /// The tree and index that describe pair `i`: the root's entry, or the
    /// baseline's for a removed path.
    pub fn entry(&self, i: usize) -> (&Tree, usize) {
        let p = self.pairs[i];
        if p.cur != NONE {
            (&self.cur, p.cur as usize)
        } else {
            // A pair with neither side cannot be built by `diff::pair`.
            (self.base.as_ref().unwrap_or(&self.cur), p.base as usize)
        }
    }

    /// The absolute in-root path of pair `i`.
    pub fn path(&self, i: usize) -> Vec<u8> {
        let (t, k) = self.entry(i);
        t.path(k)
    }

    /// The class of pair `i`.
    pub fn class(&self, i: usize) -> Class {
        self.verdicts.verdicts[i].class
    }

    /// Returns true if and only if pair `i` is stray, not dismissed, and exists on the root.
    pub fn is_open_stray(&self, i: usize) -> bool {
        let v = &self.verdicts.verdicts[i];
        v.class == Class::Stray && !v.dismissed && self.changes[i].0 != Change::Removed
    }

    /// Calls `f(pair, path)` for every pair in the order of its path's bytes
    /// (SPEC §4), without holding every path at once. Tree order (children
    /// by name, each directory followed by its subtree) differs from byte
    /// order only where a sibling's name continues another's with a byte
    /// below `/` (`a`, `a.conf`, `a/x`): so at each directory the children
    /// and their subtrees ("name/") are sorted as keys, and walked in that order.
    pub fn for_each_in_path_order(
        &self,
        mut f: impl FnMut(usize, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let name = |i: u32| {
            let (t, k) = self.entry(i as usize);
            t.name(k)
        };
        // A key is a child (false) or its subtree (true, compared as "name/").
        let keys_of = |start: usize, end: usize| {
            let mut keys: Vec<(u32, bool)> = Vec::new();
            let mut c = start;
            while c < end {
                keys.push((c as u32, false));
                if self.end[c] as usize > c + 1 {
                    keys.push((c as u32, true));
                }
                c = self.end[c] as usize;
            }
            // Already in tree order; only a sibling that continues another's
            // name with a byte below '/' moves, so a stable sort is near linear.
            keys.sort_by(|&(a, sa), &(b, sb)| {
                let (x, y) = (name(a), name(b));
                let common = x.len().min(y.len());
                match x[..common].cmp(&y[..common]) {
                    std::cmp::Ordering::Equal => {}
                    unequal => return unequal,
                }
                // One name is a prefix of the other: compare what follows,
                // a subtree key continuing with '/', a plain key with nothing.
                let next = |n: &[u8], sub: bool| -> Option<u8> {
                    n.get(common).copied().or(sub.then_some(b'/'))
                };
                match next(x, sa).cmp(&next(y, sb)) {
                    std::cmp::Ordering::Equal if x.len() == y.len() => sa.cmp(&sb),
                    other => other,
                }
            });
            keys
        };
        let mut path = Vec::with_capacity(256);
        // Frame: the sorted keys of one directory, the next key, and the
        // length of the directory's path in `path`.
        let mut stack = vec![(keys_of(0, self.pairs.len()), 0usize, 0usize)];
        while let Some(top) = stack.last_mut() {
            let Some(&(c, sub)) = top.0.get(top.1) else {
                stack.pop();
                continue;
            };
            top.1 += 1;
            path.truncate(top.2);
            path.push(b'/');
            path.extend_from_slice(name(c));
            if sub {
                let keys = keys_of(c as usize + 1, self.end[c as usize] as usize);
                stack.push((keys, 0, path.len()));
            } else {
                f(c as usize, &path)?;
            }
        }
        Ok(())
    }

    /// The minimal cover of stray, non-dismissed paths that the wipe would
    /// lose (added or modified): a directory is suggested instead of its
    /// entries only when everything below it is such a path under the same
    /// knowledge-base rule (so advice stays accurate per suggestion). Returns pair
    /// indices in path order with their (entries, bytes) totals.
    pub fn suggestions(&self) -> Vec<(usize, u64, u64)> {
        let n = self.pairs.len();
        // covered[i]: pair i and its whole subtree are open strays that would be lost.
        let mut covered = vec![false; n];
        let mut totals = vec![(0u64, 0u64); n];
        for i in (0..n).rev() {
            let lost = self.is_open_stray(i) && self.changes[i].0 != Change::Unchanged;
            let (t, k) = self.entry(i);
            let own_bytes = if t.entries[k].kind == Kind::File {
                t.entries[k].size
            } else {
                0
            };
            let mut all = lost;
            let mut tot = (1u64, own_bytes);
            let mut c = i + 1;
            let own_rule = self.verdicts.verdicts[i].advice_reason;
            while c < self.end[i] as usize {
                if self.changes[c].0 != Change::Removed {
                    // A child under a different knowledge-base rule is its own
                    // suggestion: `/var` is never proposed over `/var/lib/nixos`
                    // (persist) and `/var/cache` (ephemeral) at once.
                    all &= covered[c] && self.verdicts.verdicts[c].advice_reason == own_rule;
                    tot.0 += totals[c].0;
                    tot.1 += totals[c].1;
                }
                c = self.end[c] as usize;
            }
            covered[i] = all;
            totals[i] = tot;
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            if covered[i] {
                out.push((i, totals[i].0, totals[i].1));
                i = self.end[i] as usize;
            } else {
                if self.is_open_stray(i) && self.changes[i].0 != Change::Unchanged {
                    // A directory with some kept content: suggest the entry itself only
                    // when it is not a directory (its lost children are found below).
                    let (t, k) = self.entry(i);
                    if t.entries[k].kind != Kind::Dir {
                        out.push((i, totals[i].0, totals[i].1));
                    }
                }
                i += 1;
            }
        }
        let mut keyed: Vec<(Vec<u8>, (usize, u64, u64))> =
            out.into_iter().map(|s| (self.path(s.0), s)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.into_iter().map(|(_, s)| s).collect()
    }
}
