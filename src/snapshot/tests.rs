//! Round trips, refusals, and the byte-identity of the two ways to save.

use super::*;
use crate::scan::{ErrorKind, NONE, Progress, ScanOptions, scan};
use std::path::PathBuf;

fn sample() -> (tempfile::TempDir, Tree) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::create_dir_all(r.join("etc/ssh")).unwrap();
    std::fs::write(r.join("etc/ssh/key"), b"secret").unwrap();
    std::fs::write(r.join("etc/a-b"), b"x").unwrap();
    std::os::unix::fs::symlink("/nix/store/x", r.join("etc/link")).unwrap();
    let opts = ScanOptions {
        root: r.to_path_buf(),
        threads: 2,
        reserve_threads: 0,
        exclude: vec![],
        hash_all: true,
    };
    let t = scan(&opts, &Progress::default()).unwrap();
    (dir, t)
}

#[test]
fn round_trip_is_exact() {
    let (dir, t) = sample();
    let f = dir.path().join("s.scan");
    save(&t, &f).unwrap();
    assert!(is_scan_file(&f));
    assert_eq!(load(&f).unwrap(), t);
}

#[test]
fn a_scan_saved_from_its_stream_or_its_tree_is_the_same_bytes() {
    let (_dir, t) = sample();
    let opts = ScanOptions {
        root: t.root.clone(),
        threads: 3,
        reserve_threads: 0,
        exclude: vec![],
        hash_all: true,
    };
    // The outputs go elsewhere: inside the root they would be scanned.
    let out = tempfile::tempdir().unwrap();
    let (a, b) = (out.path().join("a.scan"), out.path().join("b.scan"));
    save(&t, &b).unwrap();
    let want = std::fs::read(&b).unwrap();
    for threads in [1, 2, 8] {
        let opts = ScanOptions {
            threads,
            ..opts.clone()
        };
        scan_to_file(&opts, &Progress::default(), &a).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), want, "{threads} threads");
    }
}

#[test]
fn every_truncation_and_bit_flip_is_refused() {
    let (dir, t) = sample();
    let f = dir.path().join("s.scan");
    save(&t, &f).unwrap();
    let bytes = std::fs::read(&f).unwrap();
    for cut in 0..bytes.len() {
        assert!(decode_file(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    for pos in 8..bytes.len() {
        let mut b = bytes.clone();
        b[pos] ^= 0x40;
        assert!(decode_file(&b).is_err(), "flip at {pos}");
    }
}

#[test]
fn names_that_no_directory_can_hold_are_refused() {
    // Found by the scan_payload fuzz target: an entry named "a/b" was not
    // found by its own path.
    let (_dir, t) = sample();
    for bad in [&b"a/b"[..], b".", b"..", b"nul\0"] {
        let mut t = t.clone();
        let i = t.lookup(b"/etc/a-b").unwrap();
        t.entries[i].name_off = t.names.len() as u32;
        t.entries[i].name_len = bad.len() as u8;
        t.names.extend_from_slice(bad);
        let e = decode_payload(&encode_payload(&t)).unwrap_err();
        assert!(
            e.contains("invalid name") || e.contains("out of order"),
            "{e}"
        );
    }
}

#[test]
fn future_version_is_named() {
    let (dir, t) = sample();
    let f = dir.path().join("s.scan");
    save(&t, &f).unwrap();
    let mut b = std::fs::read(&f).unwrap();
    b[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = decode_file(&b).unwrap_err();
    assert!(e.contains("version 7 is newer"), "{e}");
}

#[test]
fn older_version_is_refused_with_the_way_out() {
    let (dir, t) = sample();
    let f = dir.path().join("s.scan");
    save(&t, &f).unwrap();
    let mut b = std::fs::read(&f).unwrap();
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    let e = decode_file(&b).unwrap_err();
    assert!(
        e.contains("unsupported scan file format version 1 (written by an older darlings")
            && e.contains("darlings scan -o FILE"),
        "{e}"
    );
}

/// A sample tree with one error of each kind.
fn with_errors() -> (tempfile::TempDir, Tree) {
    let (dir, mut t) = sample();
    t.errors = ErrorKind::ALL
        .iter()
        .map(|&kind| ScanError {
            path: format!("/etc/{}", kind.as_str()).into_bytes(),
            error: format!("cannot stat: {}", kind.as_str()),
            kind,
        })
        .collect();
    (dir, t)
}

#[test]
fn error_kinds_survive_a_round_trip_and_unknown_ones_are_refused() {
    let (dir, t) = with_errors();
    let f = dir.path().join("s.scan");
    save(&t, &f).unwrap();
    assert_eq!(load(&f).unwrap(), t);
    let mut raw = encode_payload(&t);
    *raw.last_mut().unwrap() = ErrorKind::ALL.len() as u8;
    let e = decode_payload(&raw).unwrap_err();
    assert!(e.contains("unknown kind"), "{e}");
}

/// Rewrites the scan-file seeds of the fuzz corpus in the current
/// format (after a format change; the old ones are refused at the
/// version check and seed nothing):
/// `cargo test --lib write_fuzz_seeds -- --ignored`.
#[test]
#[ignore = "writes into fuzz/corpus"]
fn write_fuzz_seeds() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let (dir, hashed) = with_errors();
    let mut unhashed = hashed.clone();
    unhashed.hashes.clear();
    unhashed.fully_hashed = false;
    for e in &mut unhashed.entries {
        if e.kind == crate::scan::Kind::File {
            e.extra = NONE;
        }
    }
    let mut no_errors = hashed.clone();
    no_errors.errors.clear();
    let empty = Tree {
        root: PathBuf::from("/tmp/empty"),
        ..Tree::default()
    };
    for (name, t) in [
        ("empty-root", &empty),
        ("small-hashed", &no_errors),
        ("small-unhashed", &unhashed),
        ("with-error", &hashed),
    ] {
        let f = dir.path().join("seed");
        save(t, &f).unwrap();
        std::fs::copy(&f, corpus.join(format!("scan_file/{name}.scan"))).unwrap();
        std::fs::write(
            corpus.join(format!("scan_payload/{name}.raw")),
            encode_payload(t),
        )
        .unwrap();
    }
    // The reproducer of a crash the fuzzer found: a name holding `/`.
    let mut t = no_errors.clone();
    let i = t.lookup(b"/etc/a-b").unwrap();
    t.entries[i].name_off = t.names.len() as u32;
    t.entries[i].name_len = 3;
    t.names.extend_from_slice(b"a/b");
    std::fs::write(
        corpus.join("scan_payload/regress-name-with-slash"),
        encode_payload(&t),
    )
    .unwrap();
}

#[test]
fn hostile_payload_with_valid_checksum_is_refused() {
    // A payload that passes the checksum but lies about its structure.
    let mut raw = Vec::new();
    record::put_bytes(&mut raw, b"/");
    raw.push(0);
    raw.extend_from_slice(&0u64.to_le_bytes());
    record::put_varint(&mut raw, u64::MAX); // absurd entry count
    for _ in 0..6 {
        record::put_varint(&mut raw, 0);
    }
    let z = zstd::bulk::compress(&raw, 1).unwrap();
    let mut h = Vec::new();
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h.extend_from_slice(&(raw.len() as u64).to_le_bytes());
    h.extend_from_slice(&(z.len() as u64).to_le_bytes());
    let sum = checksum(&h[8..], &z);
    h.extend_from_slice(&sum);
    h.extend_from_slice(&z);
    let e = decode_file(&h).unwrap_err();
    assert!(e.contains("exceeds the payload"), "{e}");
}

#[test]
fn a_cancelled_scan_is_error_cancelled_and_leaves_no_file() {
    let (dir, _t) = sample();
    let opts = ScanOptions {
        root: dir.path().to_path_buf(),
        threads: 2,
        reserve_threads: 0,
        exclude: vec![],
        hash_all: false,
    };
    let progress = Progress::default();
    progress
        .cancel
        .store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(scan(&opts, &progress), Err(Error::Cancelled)));
    let out = tempfile::tempdir().unwrap();
    let f = out.path().join("c.scan");
    assert!(matches!(
        scan_to_file(&opts, &progress, &f),
        Err(Error::Cancelled)
    ));
    assert!(!f.exists(), "a cancelled scan writes no file");
}
