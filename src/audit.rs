//! The pipeline that every command runs: scan the root, load or scan the
//! baseline, pair the two trees, hash what metadata cannot decide, decide
//! changes, classify. Its result, [`Audit`], is what the report, the
//! summary and the TUI read; none of them touches the file system again
//! (except the TUI's preview).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::classify::{self, Class, Verdict, Verdicts};
use crate::diff::{self, Change, Merge, Pair, What};
use crate::evidence::Evidence;
use crate::resolve::{ChildIndex, HostBeyond, Resolver};
use crate::scan::{self, Kind, NONE, Progress, ScanError, ScanOptions, Tree};
use crate::{Error, Result, snapshot};

/// What the root is compared with (`--against`; docs/report-schema.md, 'Changes and hashing').
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
    /// The report's `baseline.kind` (docs/report-schema.md).
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

/// When file contents are read (`--hash`; docs/report-schema.md, 'Changes and hashing').
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
    /// Persistent storage roots: `--storage` and the configs' own.
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

/// The result of the pipeline: both trees, how they pair up, what changed,
/// and the verdict on every path. Read-only for the stages after it; the
/// one change allowed later is a dismissal ([`Audit::dismiss`]).
#[derive(Debug)]
pub struct Audit {
    cur: Tree,
    base: Option<Tree>,
    baseline: Baseline,
    storage: Vec<PathBuf>,
    merge: Merge,
    changes: Vec<(Change, What)>,
    verdicts: Verdicts,
    errors: Vec<ScanError>,
    /// What classification read besides the trees (the check and explain read it too).
    evidence: Evidence,
    hash_stats: HashStats,
    /// The root's child index, built once and shared by every resolver.
    index: ChildIndex,
    /// Lookups below mount points the scan did not enter.
    beyond: HostBeyond,
}

/// Runs the whole pipeline.
pub fn run(opts: &AuditOptions, progress: &Progress) -> Result<Audit> {
    let mut scan_opts = opts.scan.clone();
    // With --hash all, files are hashed during the walk, except when a scan
    // file can spare the reading: then hashing waits until the pairs show
    // which files kept their identity.
    scan_opts.hash_all =
        opts.hash == HashMode::All && !matches!(opts.baseline, Baseline::ScanFile(_));
    // The host's mount table, read once: where both walks stop, and the
    // live mounts the evidence looks at.
    let host_mounts = crate::mountinfo::read_own();
    // The baseline is loaded (or walked) while the root is walked: the walk
    // waits on the kernel, the baseline's decompression or walk fills the gap.
    let (cur, base) = std::thread::scope(|s| {
        let read_base = || -> Result<Option<Tree>> {
            Ok(match &opts.baseline {
                Baseline::Empty => None,
                Baseline::ScanFile(p) => Some(snapshot::load(p)?),
                Baseline::Directory(p) => {
                    let mut o = scan_opts.clone();
                    o.root = p.clone();
                    Some(scan::scan_with(&o, progress, &host_mounts)?)
                }
            })
        };
        // Named, so a profile tells its time from the walk's.
        let base = std::thread::Builder::new()
            .name("darlings-baseline".into())
            // At the walk's own priority: at nice 10 the decoding was starved
            // by the walk (which keeps every core busy) and finished after it,
            // on the rescan's critical path (load 288 ms against a 276 ms
            // walk, medium corpus).
            .spawn_scoped(s, read_base);
        let cur = scan::scan_with(&scan_opts, progress, &host_mounts);
        let base = match base {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(Error::Internal(
                    "the thread reading the baseline died".into(),
                ))
            }),
            // No thread to be had: read it after the walk instead.
            Err(_) => read_base(),
        };
        (cur, base)
    });
    let mut cur = cur?;
    let mut base = base?;
    // The pairs and the root's child index read only the trees: both at once.
    let t = crate::timing::phase("pair");
    let (merge, index) = std::thread::scope(|s| {
        let index = s.spawn(|| ChildIndex::new(&cur));
        let merge = Merge::new(&cur, base.as_ref());
        (merge, index.join())
    });
    let index = index.map_err(|_| Error::Internal("the thread indexing the tree died".into()))?;
    drop(t);
    let mut errors = Vec::new();
    let t = crate::timing::phase("hash");
    let hash_stats = hash_stage(
        opts,
        &mut cur,
        base.as_mut(),
        merge.pairs(),
        progress,
        &mut errors,
    )?;
    drop(t);
    let beyond = HostBeyond {
        root: cur.root.clone(),
    };
    let resolver = Resolver::with_index(&cur, &beyond, &index);
    // The changes need neither the evidence nor the verdicts: decided beside them.
    let (changes, judged) = std::thread::scope(|s| {
        let changes = s.spawn(|| {
            let _t = crate::timing::phase("changes");
            merge
                .pairs()
                .iter()
                .map(|&p| diff::change(&cur, base.as_ref(), p))
                .collect::<Vec<(Change, What)>>()
        });
        let judged = (|| -> Result<(Evidence, Verdicts)> {
            let t = crate::timing::phase("evidence");
            let evidence = crate::evidence::gather(crate::evidence::GatherInput {
                resolver: &resolver,
                storage: &opts.storage,
                listed: opts.listed.clone(),
                ignore_file: opts.ignore.as_deref(),
                host_mounts: &host_mounts,
            })?;
            drop(t);
            let _t = crate::timing::phase("verdicts");
            let present: Vec<bool> = merge.pairs().iter().map(|p| p.cur != NONE).collect();
            let verdicts = classify::classify(&classify::ClassifyInput {
                cur: &resolver,
                base: base.as_ref(),
                pairs: merge.pairs(),
                parent: merge.parents(),
                present: &present,
                evidence: &evidence,
                beyond: &beyond,
                knowledge: crate::knowledge::Knowledge::builtin(),
                // CPU-bound: no more threads than cores.
                threads: opts.scan.threads.min(scan::cores()),
            });
            Ok((evidence, verdicts))
        })();
        (changes.join(), judged)
    });
    let changes =
        changes.map_err(|_| Error::Internal("the thread deciding the changes died".into()))?;
    let (evidence, verdicts) = judged?;
    drop(resolver);
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
        merge,
        changes,
        verdicts,
        errors,
        evidence,
        hash_stats,
        index,
        beyond,
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
    if let Some(b) = base.as_deref()
        && !base_is_dir
    {
        // Most of a rescan's hashes come from the scan file: one allocation.
        cur.hashes.reserve(b.hashes.len());
    }
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
    // A rescan of an unchanged tree usually has nothing left to read: no
    // threads to start then.
    if !cur_todo.is_empty() || !base_todo.is_empty() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.scan.threads.max(1))
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the hashing threads: {e}")))?;
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
    }
    // Everything read for hashing in this run: during the walks and here.
    stats.files_read = progress.files_hashed.load(Ordering::Relaxed);
    stats.bytes_read = progress.bytes_hashed.load(Ordering::Relaxed);
    cur.fully_hashed = opts.hash == HashMode::All;
    Ok(stats)
}

impl Audit {
    /// An audit of `cur` against `base` whose verdicts were decided
    /// elsewhere (synthetic roots in tests and benchmarks): pairs and changes
    /// are computed, nothing is hashed, classified or read from disk.
    // Public only so integration tests (tests/tui.rs) can build an audit of a
    // synthetic root; hidden from the API documentation.
    #[doc(hidden)]
    pub fn from_verdicts(
        cur: Tree,
        base: Option<Tree>,
        baseline: Baseline,
        verdicts: Verdicts,
    ) -> Audit {
        let merge = Merge::new(&cur, base.as_ref());
        let changes = merge
            .pairs()
            .iter()
            .map(|&p| diff::change(&cur, base.as_ref(), p))
            .collect();
        let index = ChildIndex::new(&cur);
        let beyond = HostBeyond {
            root: cur.root.clone(),
        };
        Audit {
            cur,
            base,
            baseline,
            storage: Vec::new(),
            merge,
            changes,
            verdicts,
            errors: Vec::new(),
            evidence: Evidence::default(),
            hash_stats: HashStats::default(),
            index,
            beyond,
        }
    }

    /// The root's tree.
    pub fn cur(&self) -> &Tree {
        &self.cur
    }

    /// The baseline's tree (`None` against `empty`).
    pub fn base(&self) -> Option<&Tree> {
        self.base.as_ref()
    }

    /// What the root was compared with.
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// The persistent storage roots in effect (in-root paths).
    pub fn storage(&self) -> &[PathBuf] {
        &self.storage
    }

    /// The merged trees.
    pub fn merge(&self) -> &Merge {
        &self.merge
    }

    /// The number of paths (pairs of the merged trees).
    pub fn len(&self) -> usize {
        self.merge.len()
    }

    /// Returns true if and only if both trees are empty.
    pub fn is_empty(&self) -> bool {
        self.merge.is_empty()
    }

    /// The change of pair `i` and, when modified, what differs.
    pub fn change(&self, i: usize) -> (Change, What) {
        self.changes[i]
    }

    /// The verdict on pair `i`.
    pub fn verdict(&self, i: usize) -> &Verdict {
        &self.verdicts.verdicts[i]
    }

    /// An interned reason, advice or warning text of a verdict.
    pub fn text(&self, at: u32) -> Option<&str> {
        self.verdicts.text(at)
    }

    /// Per-path problems of both scans, sorted by path.
    pub fn errors(&self) -> &[ScanError] {
        &self.errors
    }

    /// Disagreements between the configuration and the live system.
    pub fn warnings(&self) -> &[crate::evidence::Warning] {
        &self.evidence.warnings
    }

    /// The evidence classification read: storage roots, what the whitelist
    /// keeps and how the live system backs it, every listing in effect, the
    /// units and owners, `/etc/.clean`, the ignore rules.
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }

    /// What hashing did.
    pub fn hash_stats(&self) -> HashStats {
        self.hash_stats
    }

    /// A resolver of the root's paths (links resolved inside ROOT).
    pub fn resolver(&self) -> Resolver<'_> {
        Resolver::with_index(&self.cur, &self.beyond, &self.index)
    }

    /// The tree and index that describe pair `i`: the root's entry, or the
    /// baseline's for a removed path.
    pub fn entry(&self, i: usize) -> (&Tree, usize) {
        self.merge.entry(&self.cur, self.base.as_ref(), i)
    }

    /// The absolute in-root path of pair `i`.
    pub fn path(&self, i: usize) -> Vec<u8> {
        let (t, k) = self.entry(i);
        t.path(k)
    }

    /// Who keeps state in pair `i`'s directory (or the service directory
    /// above it): the unit whose `StateDirectory=` (or `CacheDirectory=`, ...)
    /// names it, else its owning user and the units running as that user.
    pub fn owner(&self, i: usize) -> Option<&crate::owners::Owner> {
        self.verdicts.owner(self.verdicts.verdicts[i].owner)
    }

    /// The knowledge-base rule pair `i` falls under, whatever its class
    /// (its advice is the path's only when it is stray): what `darlings
    /// explain` shows. `None` for an audit of verdicts decided elsewhere.
    pub fn kb_rule(&self, i: usize) -> Option<&crate::knowledge::Rule> {
        self.verdicts
            .kb_rule(i)
            .map(|id| crate::knowledge::Knowledge::builtin().rule(id))
    }

    /// [`Audit::owner`] of the path `path` (absolute, as seen inside ROOT),
    /// or of its nearest ancestor present in the audit: which unit keeps its
    /// state there (stop it before moving the data).
    pub fn owner_of(&self, path: &[u8]) -> Option<&crate::owners::Owner> {
        let mut found = None;
        let mut parent = None;
        for name in crate::paths::components(path) {
            let Some(i) = self.merge.children(parent).find(|&c| {
                let (t, k) = self.entry(c);
                t.name(k) == name
            }) else {
                break;
            };
            found = Some(i);
            parent = Some(i);
        }
        found.and_then(|i| self.owner(i))
    }

    /// The class of pair `i`.
    pub fn class(&self, i: usize) -> Class {
        self.verdicts.verdicts[i].class
    }

    /// Returns true if and only if pair `i` exists on the root (it is not removed).
    pub fn on_root(&self, i: usize) -> bool {
        self.merge.pairs()[i].cur != NONE
    }

    /// Returns true if and only if pair `i` is stray, not dismissed, and exists on the root.
    pub fn is_open_stray(&self, i: usize) -> bool {
        let v = &self.verdicts.verdicts[i];
        v.class == Class::Stray && !v.dismissed && self.changes[i].0 != Change::Removed
    }

    /// Calls `f(pair, path)` for every pair in the byte order of its path
    /// (see [`Merge::for_each_in_path_order`]).
    pub fn for_each_in_path_order(
        &self,
        f: impl FnMut(usize, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.merge
            .for_each_in_path_order(&self.cur, self.base.as_ref(), f)
    }

    /// Dismisses every stray, not yet dismissed path of pair `i`'s subtree
    /// (the user accepts losing it); returns the pairs it changed, for
    /// [`Audit::undismiss`]. The class stays stray: it is still lost.
    pub fn dismiss(&mut self, i: usize) -> Vec<u32> {
        let mut changed = Vec::new();
        for k in i..self.merge.end(i) {
            let v = &mut self.verdicts.verdicts[k];
            if v.class == Class::Stray && !v.dismissed {
                v.dismissed = true;
                changed.push(k as u32);
            }
        }
        changed
    }

    /// Undoes a dismissal of the pairs [`Audit::dismiss`] returned.
    pub fn undismiss(&mut self, pairs: &[u32]) {
        for &k in pairs {
            self.verdicts.verdicts[k as usize].dismissed = false;
        }
    }
}
