//! The properties the fuzz targets check on every input. One function per
//! target; `fuzz/fuzz_targets/NAME.rs` calls it (this file is included there
//! with `#[path]`), and `hardening::fuzz_corpus` replays every committed
//! corpus file and crash reproducer through it on stable `cargo test`, so a
//! crash found once stays fixed.
//!
//! To add a target (persistence JSON, `.nix` whitelist, ignore rules): add a
//! `pub fn NAME(data: &[u8])` here, a three-line `fuzz/fuzz_targets/NAME.rs`,
//! its `[[bin]]` stanza in `fuzz/Cargo.toml`, a seed corpus in
//! `fuzz/corpus/NAME/`, and a line in `TARGETS` below.
#![allow(dead_code)]

use darlings::scan::{Kind, NONE, PathCursor, Tree};
use darlings::{classify, diff, mountinfo, snapshot};

/// A fuzz check: panics when the input breaks a property.
pub type Check = fn(&[u8]);

/// Every target by name, as the corpus replay test finds them.
pub const TARGETS: &[(&str, Check)] = &[
    ("scan_file", scan_file),
    ("scan_payload", scan_payload),
    ("mountinfo", mountinfo),
    ("persistence", persistence),
    ("whitelist", whitelist),
    ("ignore_rules", ignore_rules),
];

/// `snapshot::decode_file`: never panics; refusals are terminal-safe
/// sentences; an accepted tree is safe to walk, look up, pair and classify.
pub fn scan_file(data: &[u8]) {
    let t = match snapshot::decode_file(data) {
        Ok(t) => t,
        Err(problem) => {
            assert!(!problem.is_empty(), "a refusal names the problem");
            assert!(
                !problem.chars().any(darlings::text::is_unsafe_char),
                "refusal messages are printed raw: {problem:?}"
            );
            return;
        }
    };
    assert_eq!(
        snapshot::decode_file(data).as_ref().ok(),
        Some(&t),
        "decoding is deterministic"
    );
    tree_is_usable(&t);
}

/// Walks every accessor of a decoded tree the way the pipeline does.
pub fn tree_is_usable(t: &Tree) {
    let mut cursor = PathCursor::default();
    for i in 0..t.len() {
        let e = &t.entries[i];
        let p = t.path(i);
        assert_eq!(cursor.path(t, i), &p[..], "cursor path of entry {i}");
        assert_eq!(
            t.lookup(&p),
            Some(i),
            "entry {i} at {:?} is found by its own path",
            String::from_utf8_lossy(&p)
        );
        let _ = (t.target(i), t.hash(i), t.mount(i), t.name(i));
        assert_eq!(e.kind == Kind::Symlink, t.target(i).is_some());
        if e.kind == Kind::Dir {
            let mut last: Option<&[u8]> = None;
            for c in t.children(Some(i)) {
                assert_eq!(t.entries[c].parent, i as u32);
                assert!(last < Some(t.name(c)), "children sorted by name");
                last = Some(t.name(c));
            }
        }
    }
    let top: Vec<usize> = t.children(None).collect();
    assert!(top.iter().all(|&c| t.entries[c].parent == NONE));
    // Against itself: every path pairs with itself and is unchanged.
    let pairs = diff::pair(t, Some(t));
    assert_eq!(pairs.len(), t.len());
    for (i, p) in pairs.iter().enumerate() {
        assert_eq!((p.cur, p.base), (i as u32, i as u32));
        assert_eq!(diff::change(t, Some(t), *p).0, diff::Change::Unchanged);
    }
    // As a baseline against an empty root: every path is removed.
    let empty = Tree::default();
    let pairs = diff::pair(&empty, Some(t));
    assert_eq!(pairs.len(), t.len());
    assert!(
        pairs
            .iter()
            .all(|p| diff::change(&empty, Some(t), *p).0 == diff::Change::Removed)
    );
    // As the scanned root: full classification, which resolves every
    // symlink inside the tree (loops, chains, `..` above the root).
    let pairs = diff::pair(t, None);
    let parent: Vec<u32> = t.entries.iter().map(|e| e.parent).collect();
    let present = vec![true; pairs.len()];
    let evidence = darlings::evidence::Evidence {
        storage: vec![b"/persist".to_vec()],
        ..Default::default()
    };
    let v = classify::classify(&classify::ClassifyInput {
        cur: &darlings::resolve::Resolver::new(t, &darlings::resolve::NothingBeyond),
        base: None,
        pairs: &pairs,
        parent: &parent,
        present: &present,
        evidence: &evidence,
        beyond: &darlings::resolve::NothingBeyond,
        knowledge: darlings::knowledge::Knowledge::builtin(),
        threads: 2,
    });
    assert_eq!(v.verdicts.len(), pairs.len());
}

/// `mountinfo::parse`: never panics, parses each line on its own, and
/// every mount it accepts survives being written back the kernel's way.
pub fn mountinfo(data: &[u8]) {
    let all = mountinfo::parse(data);
    let by_line: Vec<mountinfo::Mount> = data
        .split(|&b| b == b'\n')
        .flat_map(mountinfo::parse)
        .collect();
    assert_eq!(all, by_line, "one line cannot affect another");
    for m in &all {
        let line = format!(
            "{} {} {}:{} {} {} rw,relatime shared:1 - {} {} rw",
            m.id,
            m.parent_id,
            m.dev.0,
            m.dev.1,
            escape_field(&m.fs_root),
            escape_field(&m.mount_point),
            escape_field(m.fstype.as_bytes()),
            escape_field(m.source.as_bytes()),
        );
        assert_eq!(
            mountinfo::parse(line.as_bytes()),
            vec![m.clone()],
            "round trip of {line:?}"
        );
    }
}

/// The kernel's escaping of a mountinfo field (space, tab, newline,
/// backslash as `\ooo`), plus `-` and non-ASCII bytes so any bytes survive.
fn escape_field(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        if matches!(c, b' ' | b'\t' | b'\n' | b'\\' | b'-') || !c.is_ascii() || c.is_ascii_control()
        {
            s.push_str(&format!("\\{c:03o}"));
        } else {
            s.push(c as char);
        }
    }
    s
}

/// `snapshot::decode_payload`: the structure behind the checksum (a fuzzer
/// mutating whole files almost never gets past the checksum), same properties.
pub fn scan_payload(data: &[u8]) {
    match snapshot::decode_payload(data) {
        Ok(t) => tree_is_usable(&t),
        Err(problem) => assert!(
            !problem.is_empty() && !problem.chars().any(darlings::text::is_unsafe_char),
            "refusal {problem:?}"
        ),
    }
}

/// `persistence::parse` (the `--persistence` reader, JSON and `.nix`, by
/// extension and by detection): never panics, and is deterministic.
pub fn persistence(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = darlings::persistence::LoadOptions::default();
    for name in ["config.json", "persist.nix", "config"] {
        let path = std::path::Path::new(name);
        let a = darlings::persistence::parse(text, path, &opts);
        let b = darlings::persistence::parse(text, path, &opts);
        assert_eq!(a.is_ok(), b.is_ok(), "deterministic");
        if let (Ok(a), Ok(b)) = (a, b) {
            assert_eq!(a, b, "deterministic");
        }
    }
}

/// `whitelist::apply` adding promotions to an existing `.nix` file: never
/// panics; a person's file keeps every byte, in order; what it writes reads
/// back with the promoted paths; and a second apply of the same promotions
/// changes nothing (docs/whitelist-editing.md).
pub fn whitelist(data: &[u8]) {
    use darlings::whitelist::{Flavor, HEADER, Promotion, Request, apply};
    // The first line names a path to promote (exercising Nix quoting); the
    // rest is the existing file.
    let (first, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(k) => (&data[..k], &data[k + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(existing) = std::str::from_utf8(rest) else {
        return;
    };
    let name: String = String::from_utf8_lossy(first)
        .chars()
        .filter(|c| *c != '\0' && *c != '/')
        .take(40)
        .collect();
    if name.is_empty() || name == "." || name == ".." {
        return;
    }
    let promotions = [
        Promotion {
            path: format!("/var/lib/{name}").into(),
            is_dir: true,
            user: "root".into(),
            group: "root".into(),
            mode: 0o755,
        },
        Promotion {
            path: "/etc/machine-id".into(),
            is_dir: false,
            user: "root".into(),
            group: "root".into(),
            mode: 0o644,
        },
    ];
    let file = std::path::Path::new("persist.nix");
    let existing = (!existing.trim().is_empty()).then_some(existing);
    for flavor in [None, Some(Flavor::Impermanence), Some(Flavor::Preservation)] {
        let req = Request {
            flavor,
            ..Request::default()
        };
        let Ok(once) = apply(file, existing, &req, &promotions, &[]) else {
            continue;
        };
        let twice = apply(file, Some(&once.text), &req, &promotions, &[])
            .expect("darlings reads back what it wrote");
        assert_eq!(
            once.text, twice.text,
            "a second promote of the same paths changes nothing"
        );
        if let Some(old) = existing.filter(|t| !t.starts_with(HEADER)) {
            let mut new = once.text.chars();
            assert!(
                old.chars().all(|c| new.any(|n| n == c)),
                "a person's file only gains text:\n{old}\n---\n{}",
                once.text
            );
        }
        // The user's entries are kept as written, valid or not: the output
        // must read back as a whitelist whenever the input did.
        let read = |text: &str| {
            darlings::persistence::parse(
                text,
                std::path::Path::new("persist.nix"),
                &darlings::persistence::LoadOptions::default(),
            )
        };
        if existing.is_some_and(|t| read(t).is_err()) {
            continue;
        }
        let back = read(&once.text).expect("the written whitelist is a valid whitelist");
        for p in &promotions {
            assert!(
                back.entries.iter().any(|e| p.path.starts_with(&e.path)),
                "{} is covered by the written file:\n{}",
                p.path.display(),
                once.text
            );
        }
    }
}

/// `evidence::parse_ignore` (the `--ignore` loader): never panics.
pub fn ignore_rules(data: &[u8]) {
    let path = std::path::Path::new("rules.ignore");
    if let Ok(g) = darlings::evidence::parse_ignore(data.to_vec(), path) {
        for p in ["/var/cache/x", "/etc", "/"] {
            let _ = g.matched_path_or_any_parents(p, false);
        }
    }
}
