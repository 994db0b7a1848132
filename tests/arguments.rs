//! Arguments a new user gets wrong, and what darlings says back: a missing
//! `--ignore` file, a relative or missing `--storage`, an `--exclude` path
//! without its leading `/`, a directory where a file is wanted, a person's
//! `.nix` module given as the whitelist, a `--persistence USER=FILE` whose
//! USER ROOT does not know. Each is refused with exit 2 and a
//! message that says what is wrong (or, where it may be right, warned about),
//! or does what the documentation says.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;

use common::{Fixture, darlings};
use predicates::prelude::*;

fn root() -> Fixture {
    let f = Fixture::new();
    f.file("etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\nbob:x:1001:100::/home/bob:/bin/sh\n")
        .file("home/alice/notes", "n")
        .file("home/bob/notes", "n")
        .file("var/lib/foo/state", "x")
        .dir("persist");
    f
}

/// The paths a report of `root` lists, with `args` added.
fn reported_paths(root: &Path, args: &[&str]) -> Vec<String> {
    let out = darlings()
        .arg("report")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_missing_ignore_file_is_refused_where_it_is_only_read() {
    let f = root();
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("ignroe");
    for cmd in ["summary", "report"] {
        darlings()
            .arg(cmd)
            .arg(f.root())
            .arg("--ignore")
            .arg(&missing)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("ignroe"))
            .stderr(predicate::str::contains("--ignore file does not exist"));
    }
    darlings()
        .args(["explain", "/home/bob/notes"])
        .arg(f.root())
        .arg("--ignore")
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--ignore file does not exist"));
    // The TUI writes it at its first dismissal: missing is fine, a missing
    // directory is not.
    darlings()
        .args(["tui", "--keys", "q"])
        .arg(f.root())
        .arg("--ignore")
        .arg(&missing)
        .env("COLUMNS", "100")
        .env("LINES", "30")
        .assert()
        .success();
    darlings()
        .args(["tui", "--keys", "q"])
        .arg(f.root())
        .arg("--ignore")
        .arg(d.path().join("nodir/ignore"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nor does its directory"));
    // An existing file still works.
    let rules = d.path().join("rules");
    std::fs::write(&rules, "/home/bob/\n").unwrap();
    darlings()
        .arg("summary")
        .arg(f.root())
        .arg("--ignore")
        .arg(&rules)
        .assert()
        .success();
}

#[test]
fn storage_must_be_absolute_and_a_missing_one_is_warned_about() {
    let f = root();
    let d = tempfile::tempdir().unwrap();
    let wl = d.path().join("persist.nix");
    let runs: [&[&str]; 3] = [&["summary"], &["check"], &["report"]];
    for args in runs {
        darlings()
            .args(args)
            .arg(f.root())
            .args(["--storage", "persist"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "--storage 'persist': give the storage root as an absolute path as seen inside ROOT",
            ));
    }
    darlings()
        .args(["promote", "--root"])
        .arg(f.root())
        .arg("--whitelist")
        .arg(&wl)
        .args(["--storage", "relative/x", "/var/lib/foo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--storage 'relative/x'"));
    assert!(!wl.exists());
    // Missing in ROOT: it may not exist yet before a migration; said, not refused.
    darlings()
        .arg("summary")
        .arg(f.root())
        .args(["--storage", "/nonexist"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: --storage '/nonexist' does not exist in ROOT",
        ));
    darlings()
        .arg("summary")
        .arg(f.root())
        .args(["--storage", "/persist"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
}

#[test]
fn an_exclude_path_without_its_leading_slash_is_taken_from_root() {
    let f = root();
    let all = reported_paths(f.root(), &[]);
    assert!(all.contains(&"/home/alice/notes".to_string()), "{all:?}");
    for pattern in ["home/alice", "/home/alice"] {
        let got = reported_paths(f.root(), &["--exclude", pattern]);
        assert!(
            !got.iter().any(|p| p.starts_with("/home/alice")),
            "{pattern}: {got:?}"
        );
        assert!(got.contains(&"/home/bob/notes".to_string()), "{pattern}");
    }
    // A name (no slash) still matches anywhere.
    let got = reported_paths(f.root(), &["--exclude", "notes"]);
    assert!(!got.iter().any(|p| p.ends_with("/notes")), "{got:?}");
    assert!(got.contains(&"/var/lib/foo/state".to_string()));
}

#[test]
fn a_directory_given_for_a_file_is_called_a_directory() {
    let f = root();
    let d = tempfile::tempdir().unwrap();
    for opt in ["--persistence", "--ignore"] {
        darlings()
            .arg("summary")
            .arg(f.root())
            .arg(opt)
            .arg(d.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains("it is a directory, not a file"))
            .stderr(predicate::str::contains("fifo").not());
    }
    for out in [".", "./", ".."] {
        darlings()
            .current_dir(d.path())
            .arg("scan")
            .arg(f.root())
            .args(["-o", out])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "it is a directory; give a file name",
            ))
            .stderr(predicate::str::contains("does not exist").not());
    }
}

#[test]
fn a_missing_path_is_named_as_given_with_root_as_given() {
    let f = root();
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(f.path("x")).unwrap();
    let dotted = f.root().join("x/..");
    let o = darlings()
        .args(["promote", "--root"])
        .arg(&dotted)
        .arg("--whitelist")
        .arg(d.path().join("persist.nix"))
        .arg("/var/lib/missing")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let shown = dotted.display().to_string();
    assert!(
        err.contains(&format!(
            "cannot promote '/var/lib/missing': no such file or directory in ROOT '{shown}'"
        )),
        "{err}"
    );
    assert!(
        !err.contains(&format!("{shown}/var")),
        "never ROOT and the path glued: {err}"
    );
}

#[test]
fn a_persons_nix_module_is_refused_for_its_nix_reason_with_the_export_command() {
    let f = root();
    let d = tempfile::tempdir().unwrap();
    let module = r#"{ config, lib, ... }:
let
  cfg = config.my.impermanence;
in
{
  config = lib.mkIf cfg.enable {
    environment.persistence."/persist".directories = [ "/var/lib/nixos" ];
  };
}
"#;
    let location = r#"{ lib, config, ... }:
{
  environment.persistence."/persist" = lib.mkIf config.my.enable {
    directories = [ "/var/lib/nixos" ];
  };
}
"#;
    for (name, text, reason) in [
        (
            "impermanence.nix",
            module,
            "the file must be an attribute set",
        ),
        ("location.nix", location, "expected an attribute set"),
        // Without the extension: Nix text is read as Nix first too.
        ("impermanence", module, "not a Nix whitelist"),
    ] {
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = darlings()
            .arg("summary")
            .arg(f.root())
            .arg("--persistence")
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        let (at_reason, at_eval) = (err.find(reason), err.find("nix eval --json"));
        assert!(
            matches!((at_reason, at_eval), (Some(r), Some(e)) if r < e),
            "{name}: the .nix reason first, then the export: {err}"
        );
        assert!(
            err.contains(".#nixosConfigurations.HOST.config.environment.persistence"),
            "{name}: {err}"
        );
        assert!(!err.contains("invalid JSON"), "{name}: {err}");
    }
}

#[test]
fn a_root_given_with_dot_dot_is_shown_normalised_never_glued() {
    let f = root();
    std::fs::create_dir(f.path("x")).unwrap();
    let d = tempfile::tempdir().unwrap();
    let wl = d.path().join("persist.nix");
    std::fs::write(
        &wl,
        "{ environment.persistence.\"/persist\".directories = [ \"/var/lib/foo\" ]; }\n",
    )
    .unwrap();
    let dotted = f.root().join("x/..");
    let clean = std::fs::canonicalize(f.root()).unwrap();
    let clean = clean.display();
    for cmd in ["check", "summary", "migrate"] {
        let o = darlings()
            .arg(cmd)
            .arg(&dotted)
            .arg("--persistence")
            .arg(&wl)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!out.contains("x/.."), "{cmd}: {out}");
        assert!(out.contains(&format!("{clean}")), "{cmd}: {out}");
        if cmd == "check" {
            assert!(
                out.contains(&format!(
                    "cp -a {clean}/var/lib/foo {clean}/persist/var/lib/foo"
                )),
                "{out}"
            );
        }
    }
}

/// The real export of impermanence's Home Manager module before its
/// rewrite (alice's): it names no home, so `USER=FILE` says whose it is.
fn hm_v1_export() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vectors/exports/impermanence-hm-v1-pre-5f42ef6.json")
}

/// `--persistence USER=FILE` with a USER that ROOT's /etc/passwd does not
/// list put the export in a home nothing is in: every path stray, exit 0.
/// Now every command that takes --persistence refuses it (exit 2), naming
/// the user, the file and the users ROOT knows; the right user works, and
/// a root with no /etc/passwd at all still takes /home/USER.
#[test]
fn a_persistence_user_root_does_not_know_is_refused_by_every_command() {
    let f = Fixture::new();
    f.file("etc/passwd", "alice:x:1000:100::/home/alice:/bin/sh\n")
        .dir("home/alice/Documents");
    let export = hm_v1_export();
    let ghost = format!("ghost={}", export.display());
    let root = f.root().to_str().unwrap();
    let runs: [&[&str]; 6] = [
        &["summary", root],
        &["report", root],
        &["check", root],
        &["explain", "/home/alice/Documents", root],
        &["migrate", root],
        &["tui", root, "--keys", "q"],
    ];
    for args in runs {
        let out = darlings()
            .args(args)
            .args(["--persistence", &ghost])
            .env("COLUMNS", "100")
            .env("LINES", "30")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for needle in [
            "no user 'ghost' in its /etc/passwd",
            "impermanence-hm-v1-pre-5f42ef6.json",
            "(its people: alice)",
        ] {
            assert!(err.contains(needle), "{args:?}: {needle:?} in {err}");
        }
        assert!(out.stdout.is_empty(), "{args:?}: nothing else printed");
    }
    // The user the export belongs to: its paths are persisted.
    let alice = format!("alice={}", export.display());
    darlings()
        .args([
            "explain",
            "/home/alice/Documents",
            root,
            "--persistence",
            &alice,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("persisted"));
    // A bare root without /etc/passwd cannot say where homes are: the
    // usual /home/USER stands in, as before.
    let bare = Fixture::new();
    bare.dir("home/ghost/Documents");
    darlings()
        .arg("explain")
        .arg("/home/ghost/Documents")
        .arg(bare.root())
        .args(["--persistence", &ghost])
        .assert()
        .success()
        .stdout(predicate::str::contains("persisted"));
}
