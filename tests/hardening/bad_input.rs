//! Bad input: every unusable file or value is refused with exit 2 and one
//! line naming the file and the problem, never a panic, and no output file
//! (nor temporary) is left behind.

use std::path::Path;

use crate::common::{Fixture, darlings, is_root};
use crate::{HANG, assert_refused, darlings_as_nobody, names, open_to_all, out_dir, scan_to};

fn fixture() -> Fixture {
    let f = Fixture::new();
    f.file("etc/ssh/ssh_host_ed25519_key", "secret")
        .file("var/lib/app/state", "x")
        .symlink("/nix/store/abc-etc/etc", "etc/static");
    f
}

/// `report ROOT --against baseline -o OUT/report.json` and `summary ROOT
/// --against baseline`: both refused, naming `baseline` and `problem`.
fn refuse_baseline(root: &Path, baseline: &Path, problem: &str) {
    let out = out_dir();
    let before = names(out.path());
    let shown = baseline.to_string_lossy().into_owned();
    for cmd in ["report", "summary"] {
        let mut c = darlings();
        c.arg(cmd)
            .arg(root)
            .arg("--against")
            .arg(baseline)
            .timeout(HANG);
        if cmd == "report" {
            c.arg("-o").arg(out.path().join("report.json"));
        }
        let o = c.output().expect("run");
        assert_refused(&o, out.path(), &before, &[&shown, problem]);
    }
}

fn good_scan(dir: &Path) -> Vec<u8> {
    let f = fixture();
    let p = scan_to(f.root(), dir, "good.scan", &["--hash", "all"]);
    std::fs::read(p).expect("read scan")
}

#[test]
fn scan_files_that_are_empty_foreign_truncated_corrupt_or_newer_are_refused() {
    let f = fixture();
    let bases = out_dir();
    let good = good_scan(bases.path());
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.scan", vec![], "not a darlings scan file"),
        (
            "foreign.json",
            br#"{"schema":"darlings-report/1"}"#.to_vec(),
            "not a darlings scan file",
        ),
        (
            "elf.scan",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0".to_vec(),
            "not a darlings scan file",
        ),
        ("magic-only.scan", b"DARLSCAN".to_vec(), "header incomplete"),
        ("half-header.scan", good[..30].to_vec(), "header incomplete"),
        (
            "truncated.scan",
            good[..good.len() - 7].to_vec(),
            "truncated scan file",
        ),
        (
            "appended.scan",
            [&good[..], b"junk"].concat(),
            "trailing bytes",
        ),
    ];
    let mut flipped = good.clone();
    let mid = 60 + (good.len() - 60) / 2;
    flipped[mid] ^= 0x10;
    cases.push(("corrupt.scan", flipped, "checksum mismatch"));
    let mut newer = good.clone();
    let next = darlings::snapshot::FORMAT_VERSION + 1;
    newer[8..12].copy_from_slice(&next.to_le_bytes());
    let newer_problem = format!("version {next} is newer than this darlings understands");
    cases.push(("newer.scan", newer, &newer_problem));
    let mut older = good.clone();
    older[8..12].copy_from_slice(&0u32.to_le_bytes());
    cases.push((
        "zero-version.scan",
        older,
        "unsupported scan file format version 0",
    ));
    for (name, bytes, problem) in cases {
        let p = bases.path().join(name);
        std::fs::write(&p, &bytes).expect("write case");
        refuse_baseline(f.root(), &p, problem);
        assert_eq!(
            std::fs::read(&p).expect("reread"),
            bytes,
            "{name} is never modified"
        );
    }
}

#[test]
fn a_scan_file_with_a_valid_checksum_but_a_lying_payload_is_refused() {
    // A hostile file: the checksum is right, the structure is not.
    let f = fixture();
    let bases = out_dir();
    // The meta section (see src/snapshot.rs): root "/", no flags, device 0,
    // then an absurd entry count and six zero counts (varints).
    let mut raw = vec![1, b'/', 0];
    raw.extend_from_slice(&0u64.to_le_bytes());
    raw.extend_from_slice(&[0xff; 9]);
    raw.push(0x01); // u64::MAX as a varint
    raw.extend_from_slice(&[0; 6]);
    let z = zstd::bulk::compress(&raw, 1).expect("compress");
    let mut file = b"DARLSCAN".to_vec();
    file.extend_from_slice(&darlings::snapshot::FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(raw.len() as u64).to_le_bytes());
    file.extend_from_slice(&(z.len() as u64).to_le_bytes());
    let mut h = blake3::Hasher::new();
    h.update(&file[8..]);
    h.update(&z);
    file.extend_from_slice(h.finalize().as_bytes());
    file.extend_from_slice(&z);
    let p = bases.path().join("lying.scan");
    std::fs::write(&p, file).expect("write");
    refuse_baseline(f.root(), &p, "exceeds the payload");
}

#[test]
fn missing_root_missing_baseline_and_a_root_that_is_a_file_are_refused() {
    let f = fixture();
    let out = out_dir();
    let before = names(out.path());
    let missing = f.path("no/such/root");
    for cmd in ["scan", "report", "summary"] {
        let mut c = darlings();
        c.arg(cmd).arg(&missing).timeout(HANG);
        if cmd != "summary" {
            c.arg("-o").arg(out.path().join("x"));
        }
        let o = c.output().expect("run");
        assert_refused(&o, out.path(), &before, &["no/such/root", "No such file"]);

        let file_root = f.path("var/lib/app/state");
        let mut c = darlings();
        c.arg(cmd).arg(&file_root).timeout(HANG);
        if cmd != "summary" {
            c.arg("-o").arg(out.path().join("x"));
        }
        let o = c.output().expect("run");
        assert_refused(
            &o,
            out.path(),
            &before,
            &["var/lib/app/state", "not a directory"],
        );
    }
    refuse_baseline(f.root(), &f.path("no/such/baseline"), "No such file");
}

#[test]
fn a_fifo_or_device_as_baseline_or_root_is_refused_without_opening_it() {
    let f = fixture();
    let bases = out_dir();
    let fifo = bases.path().join("baseline.fifo");
    crate::mkfifo(&fifo);
    let witness = crate::FifoWitness::start(&fifo);
    // Before the fix this blocked forever in open(2) (HANG would fire).
    refuse_baseline(f.root(), &fifo, "not a regular file");
    let out = out_dir();
    let before = names(out.path());
    let o = darlings()
        .arg("report")
        .arg(&fifo)
        .arg("-o")
        .arg(out.path().join("r.json"))
        .timeout(HANG)
        .output()
        .expect("run");
    assert_refused(
        &o,
        out.path(),
        &before,
        &["baseline.fifo", "not a directory"],
    );
    assert!(!witness.opened(), "the fifo was never opened");
    if is_root() {
        let dev = bases.path().join("null-device");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &dev,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o600),
            rustix::fs::makedev(1, 3),
        )
        .expect("mknod");
        refuse_baseline(f.root(), &dev, "not a regular file");
    } else {
        eprintln!("SKIPPED (device part): mknod needs root");
    }
}

#[test]
fn unknown_option_values_are_refused_naming_the_option() {
    let f = fixture();
    let out = out_dir();
    let before = names(out.path());
    let r = f.root().to_str().expect("utf-8 temp path");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["report", r, "--hash", "some"],
            &["invalid value 'some'", "--hash"],
        ),
        (
            &["scan", r, "-o", "x", "--hash", "maybe"],
            &["invalid value 'maybe'", "--hash"],
        ),
        (
            &["report", r, "--threads", "0"],
            &["--threads must be at least 1"],
        ),
        (&["report", r, "--threads", "-3"], &["'-3'"]),
        (
            &["report", r, "--threads", "lots"],
            &["invalid value 'lots'", "--threads"],
        ),
        (&["report", r, "--threads", "100000"], &["--threads 100000"]),
        (
            &["report", r, "--exclude", "[unclosed"],
            &["invalid --exclude pattern '[unclosed'"],
        ),
        (
            &["tui", r, "--flavor", "tmpfiles"],
            &["invalid value 'tmpfiles'", "--flavor"],
        ),
        (
            &["report", r, "--no-such-option"],
            &["unexpected argument '--no-such-option'"],
        ),
        (
            &["report", r, "extra-arg"],
            &["unexpected argument 'extra-arg'"],
        ),
        (&["scan", r], &["--output <FILE>"]),
        (&["promote"], &["<PATH>"]),
    ];
    for (args, needles) in cases {
        let o = darlings()
            .current_dir(out.path())
            .args(*args)
            .timeout(HANG)
            .output()
            .expect("run");
        assert_refused(&o, out.path(), &before, needles);
    }
}

#[test]
fn an_output_in_a_missing_directory_or_onto_a_directory_is_refused() {
    let f = fixture();
    let out = out_dir();
    std::fs::create_dir(out.path().join("existing-dir")).expect("mkdir");
    let before = names(out.path());
    for (cmd, target, problem) in [
        ("scan", "missing/s.scan", "its directory does not exist"),
        ("report", "missing/r.json", "its directory does not exist"),
        ("scan", "existing-dir", "it is a directory"),
        ("report", "existing-dir", "it is a directory"),
    ] {
        let o = darlings()
            .arg(cmd)
            .arg(f.root())
            .arg("-o")
            .arg(out.path().join(target))
            .timeout(HANG)
            .output()
            .expect("run");
        assert_refused(&o, out.path(), &before, &[target, problem]);
        assert_eq!(names(&out.path().join("existing-dir")).len(), 0);
    }
}

#[test]
fn an_output_in_a_read_only_directory_is_refused() {
    crate::skip_unless!(
        is_root(),
        "needs root to run darlings as nobody with setpriv"
    );
    let f = fixture();
    open_to_all(f.root());
    let out = out_dir();
    open_to_all(out.path()); // 0755 root-owned: read-only for nobody
    std::fs::write(out.path().join("old.json"), "previous").expect("write");
    let before = names(out.path());
    for (cmd, target) in [
        ("scan", "s.scan"),
        ("report", "r.json"),
        ("report", "old.json"),
    ] {
        let o = darlings_as_nobody()
            .arg(cmd)
            .arg(f.root())
            .arg("-o")
            .arg(out.path().join(target))
            .output()
            .expect("run");
        assert_refused(&o, out.path(), &before, &[target, "Permission denied"]);
    }
    assert_eq!(
        std::fs::read(out.path().join("old.json")).expect("read"),
        b"previous"
    );
}

#[test]
fn an_output_inside_the_baseline_is_refused() {
    let f = fixture();
    let base = Fixture::new();
    base.file("etc/ssh/ssh_host_ed25519_key", "old")
        .file("etc/hosts", "h");
    let link_dir = out_dir();
    let link = link_dir.path().join("baseline-link");
    std::os::unix::fs::symlink(base.root(), &link).expect("symlink");
    let state = crate::common::tree_state(base.root());
    let before = names(base.root());
    for target in [
        base.path("report.json"),            // new file at the top
        base.path("etc/hosts"),              // an existing file inside
        base.path("etc/ssh/../report.json"), // dot-dot games
        link.join("etc/report.json"),        // through a symlink to the baseline
    ] {
        let o = darlings()
            .arg("report")
            .arg(f.root())
            .arg("--against")
            .arg(base.root())
            .arg("-o")
            .arg(&target)
            .timeout(HANG)
            .output()
            .expect("run");
        assert_refused(
            &o,
            base.root(),
            &before,
            &["refusing to write", "inside the baseline"],
        );
    }
    // The baseline scan file itself is never overwritten either.
    let bases = out_dir();
    let s = scan_to(base.root(), bases.path(), "base.scan", &[]);
    let scan_bytes = std::fs::read(&s).expect("read");
    let before = names(bases.path());
    let o = darlings()
        .arg("report")
        .arg(f.root())
        .arg("--against")
        .arg(&s)
        .arg("-o")
        .arg(&s)
        .timeout(HANG)
        .output()
        .expect("run");
    assert_refused(
        &o,
        bases.path(),
        &before,
        &["refusing to write", "base.scan"],
    );
    assert_eq!(std::fs::read(&s).expect("read"), scan_bytes);
    assert_eq!(
        crate::common::tree_state(base.root()),
        state,
        "baseline untouched"
    );
}

#[test]
fn broken_or_special_persistence_and_ignore_files_are_refused() {
    let f = fixture();
    let cfg = out_dir();
    let out = out_dir();
    let before = names(out.path());
    let write = |name: &str, text: &str| {
        let p = cfg.path().join(name);
        let mut bytes = text.as_bytes().to_vec();
        if name.ends_with(".ignore") {
            bytes.push(0xff); // rules must be UTF-8 text
        }
        std::fs::write(&p, bytes).expect("write");
        p
    };
    let cases = [
        (
            write(
                "broken.json",
                "{\"/persist\": {\"directories\": [\"/var/log\"",
            ),
            "--persistence",
            "broken.json",
        ),
        (
            write("shape.json", "[1, 2, 3]"),
            "--persistence",
            "shape.json",
        ),
        (
            write("entry.json", r#"{"/persist":{"directories":[42]}}"#),
            "--persistence",
            "entry.json",
        ),
        (
            write(
                "syntax.nix",
                "{ environment.persistence.\"/persist\" = { directories = [ \"/var/log\" ",
            ),
            "--persistence",
            "syntax.nix",
        ),
        (
            write("binary.json", "\u{0}\u{1}\u{2}"),
            "--persistence",
            "binary.json",
        ),
        (
            write("rules.ignore", "/var/cache/\n"),
            "--ignore",
            "rules.ignore",
        ),
    ];
    for (p, opt, name) in &cases {
        let text = std::fs::read(p).expect("read");
        let o = darlings()
            .arg("report")
            .arg(f.root())
            .arg(opt)
            .arg(p)
            .arg("-o")
            .arg(out.path().join("r.json"))
            .timeout(HANG)
            .output()
            .expect("run");
        assert_refused(&o, out.path(), &before, &[name]);
        assert_eq!(
            &std::fs::read(p).expect("read"),
            &text,
            "{name} is never modified"
        );
    }
    // A fifo named as a config or as rules is refused without being opened.
    for opt in ["--persistence", "--ignore"] {
        let fifo = cfg.path().join(format!("fifo{opt}"));
        crate::mkfifo(&fifo);
        let witness = crate::FifoWitness::start(&fifo);
        let o = darlings()
            .arg("summary")
            .arg(f.root())
            .arg(opt)
            .arg(&fifo)
            .timeout(HANG)
            .output()
            .expect("run");
        assert_refused(
            &o,
            out.path(),
            &before,
            &[&format!("fifo{opt}"), "not a regular file"],
        );
        assert!(!witness.opened(), "{opt} fifo never opened");
    }
}

#[test]
fn the_whitelist_is_never_written_inside_the_baseline_nor_over_a_broken_file() {
    let f = fixture();
    let base = Fixture::new();
    base.file("etc/hosts", "h");
    let before = names(base.root());
    // The TUI refuses before it takes the terminal.
    let o = darlings()
        .arg("tui")
        .arg(f.root())
        .arg("--against")
        .arg(base.root())
        .arg("--whitelist")
        .arg(base.path("persist.nix"))
        .timeout(HANG)
        .output()
        .expect("run");
    assert_refused(
        &o,
        base.root(),
        &before,
        &["refusing to write", "inside the baseline"],
    );
    // promote: a whitelist with a syntax error, or not a regular file, is refused and left as it was.
    let dir = out_dir();
    let broken = dir.path().join("persist.nix");
    let text = "{\n  environment.persistence.\"/persist\" = {\n    directories = [ \"/var/log\"\n";
    std::fs::write(&broken, text).expect("write");
    let fifo = dir.path().join("fifo.nix");
    crate::mkfifo(&fifo);
    let witness = crate::FifoWitness::start(&fifo);
    let before = names(dir.path());
    for (file, problem) in [(&broken, "persist.nix"), (&fifo, "not a regular file")] {
        let o = darlings()
            .arg("promote")
            .arg("--root")
            .arg(f.root())
            .arg("--whitelist")
            .arg(file)
            .arg("/var/lib/app")
            .timeout(HANG)
            .output()
            .expect("run");
        assert_refused(&o, dir.path(), &before, &[problem]);
    }
    assert_eq!(
        std::fs::read_to_string(&broken).expect("read"),
        text,
        "never overwritten"
    );
    assert!(!witness.opened(), "the fifo was never opened");
}
