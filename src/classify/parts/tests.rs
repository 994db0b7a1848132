//! Classification in parts gives the verdicts of classification in one
//! piece, whatever the part size and the number of threads.

use super::*;
use crate::classify::Class;
use crate::diff::Merge;
use crate::resolve::{ChildIndex, NothingBeyond};
use crate::scan::{Progress, ScanOptions, Tree, scan};

fn scanned(root: &std::path::Path) -> Tree {
    scan(
        &ScanOptions {
            root: root.to_path_buf(),
            threads: 1,
            reserve_threads: 0,
            exclude: vec![],
            hash_all: false,
        },
        &Progress::default(),
    )
    .unwrap()
}

/// Each verdict with its ids replaced by what they name.
fn described(v: &Verdicts) -> Vec<String> {
    v.verdicts
        .iter()
        .zip(&v.kb)
        .map(|(x, kb)| {
            format!(
                "{:?} {:?} reason={:?} advice={:?} {:?} warning={:?} rule={:?} owner={:?} dismissed={} kb={kb:?}",
                x.class,
                x.by,
                v.text(x.reason),
                x.advice,
                v.text(x.advice_reason),
                v.text(x.warning),
                v.text(x.rule),
                v.owner(x.owner),
                x.dismissed,
            )
        })
        .collect()
}

/// Writes `files` (path, content; a content starting with `->` is a
/// symlink's target) under `root`.
fn build(root: &std::path::Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        match content.strip_prefix("->") {
            Some(target) => std::os::unix::fs::symlink(target, &p).unwrap(),
            None => std::fs::write(&p, content).unwrap(),
        }
    }
}

/// A small NixOS-like root: store links recreated and not, storage, a
/// service directory with its unit, a home with advice, and enough files
/// per directory that small parts split subtrees in many places.
const ROOT: &[(&str, &str)] = &[
    ("nix/store/abc-etc/etc/hosts", "h"),
    ("nix/store/def-hello/bin/hello", "x"),
    ("etc/static", "->/nix/store/abc-etc/etc"),
    ("etc/hosts", "->/etc/static/hosts"),
    ("etc/machine-id", "0123"),
    ("etc/.clean", "passwd\n"),
    (
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
    ),
    (
        "etc/systemd/system/postgresql.service",
        "[Service]\nUser=postgres\nStateDirectory=postgresql\n",
    ),
    ("persist/etc/ssh/ssh_host_ed25519_key", "k"),
    ("var/lib/postgresql/16/PG_VERSION", "16"),
    ("var/lib/postgresql/16/base/1", "a"),
    ("var/lib/postgresql/16/base/2", "b"),
    ("var/lib/systemd/random-seed", "r"),
    ("var/log/journal/abc/system.journal", "j"),
    ("home/alice/.cache/nix/x", "c"),
    ("home/alice/.local/share/fish/fish_history", "f"),
    ("home/alice/notes.txt", "n"),
    ("home/alice/result", "->/nix/store/def-hello"),
    ("root/.bash_history", "ls"),
    ("srv/www/index.html", "<p>"),
    ("srv/www/a/b/c/deep.txt", "d"),
];

/// The same root a week earlier: what differs shows as added, modified or
/// removed (removed pairs are judged in the baseline's tree).
const BASELINE: &[(&str, &str)] = &[
    ("etc/machine-id", "0123"),
    ("var/lib/postgresql/16/PG_VERSION", "15"),
    ("var/lib/old-service/state.db", "gone"),
    ("home/alice/old-notes.txt", "gone"),
    ("srv/www/old/page.html", "gone"),
];

#[test]
fn parts_of_any_size_on_any_number_of_threads_give_the_verdicts_of_one_piece() {
    let d = tempfile::tempdir().unwrap();
    let (root, baseline) = (d.path().join("root"), d.path().join("baseline"));
    build(&root, ROOT);
    build(&baseline, BASELINE);
    for i in 0..50 {
        let many = [(format!("var/lib/postgresql/16/base/many/{i}"), "x")];
        build(&root, &many.each_ref().map(|(p, c)| (p.as_str(), *c)));
    }
    let cur = scanned(&root);
    let base = scanned(&baseline);
    let merge = Merge::new(&cur, Some(&base));
    let index = ChildIndex::new(&cur);
    let res = Resolver::with_index(&cur, &NothingBeyond, &index);
    let evidence = crate::evidence::gather(crate::evidence::GatherInput {
        resolver: &res,
        storage: &[],
        listed: vec![],
        ignore_file: None,
        host_mounts: &[],
    })
    .unwrap();
    let present: Vec<bool> = merge.pairs().iter().map(|p| p.cur != NONE).collect();
    let input = |threads| ClassifyInput {
        cur: &res,
        base: Some(&base),
        pairs: merge.pairs(),
        parent: merge.parents(),
        present: &present,
        evidence: &evidence,
        beyond: &NothingBeyond,
        knowledge: crate::knowledge::Knowledge::builtin(),
        threads,
    };
    let whole = classify_in_parts(&input(1), usize::MAX);
    assert_eq!(plan(merge.parents(), usize::MAX).0, Vec::<usize>::new());
    let expected = described(&whole);
    // The fixture exercises what the merge remaps: texts of all kinds, owners,
    // removed pairs.
    for class in [Class::Persisted, Class::NixManaged, Class::Stray] {
        assert!(whole.verdicts.iter().any(|v| v.class == class), "{class:?}");
    }
    assert!(whole.verdicts.iter().any(|v| v.owner != NONE));
    assert!(whole.verdicts.iter().any(|v| v.advice_reason != NONE));
    assert!(merge.pairs().iter().any(|p| p.cur == NONE));
    for (size, threads) in [(1, 1), (1, 4), (2, 2), (3, 3), (7, 2), (40, 8)] {
        let (spine, parts) = plan(merge.parents(), size);
        assert!(!spine.is_empty() && parts.len() > 2, "size {size}");
        let got = classify_in_parts(&input(threads), size);
        assert_eq!(got.verdicts.len(), whole.verdicts.len());
        for (i, (g, w)) in described(&got).iter().zip(&expected).enumerate() {
            assert_eq!(g, w, "pair {i}, parts of {size} on {threads} threads");
        }
    }
}

#[test]
fn the_plan_covers_every_pair_once_in_tree_order() {
    // /a (5 pairs: /a, /a/b, /a/b/c, /a/d, /a/e), /f, /g (2 pairs)
    let parent = [NONE, 0, 1, 0, 0, NONE, NONE, 6];
    let (spine, parts) = plan(&parent, 2);
    assert_eq!(spine, vec![0]);
    assert_eq!(parts, vec![vec![1..3], vec![3..4, 4..5], vec![5..6, 6..8]]);
    let (spine, parts) = plan(&parent, 100);
    assert!(spine.is_empty());
    assert_eq!(parts, vec![vec![0..5, 5..6, 6..8]]);
}
