//! `darlings promote` on paths no whitelist may list: the storage itself,
//! a path holding a storage root, `/nix`, `/etc/static`, `/etc` and its
//! directories of generated files, links into the Nix store, a directory
//! holding an entry the file lists (the two would be nested). Each is
//! refused with exit 2, the rule named with what to do instead, the
//! whitelist and the root untouched, even when given with good paths.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};

use common::{Fixture, darlings, tree_state};
use predicates::prelude::*;

/// A NixOS-like root: a storage root with an old service's data, the Nix
/// store holding the system's /etc, /etc/static and sshd_config linked
/// into it as NixOS links them, a host key and a service's state.
fn nixos_root() -> Fixture {
    let f = Fixture::new();
    f.file("persist/var/lib/oldsvc/db", "old")
        .file("nix/persist/var/lib/app/state", "s")
        .file("nix/store/abc-etc/etc/ssh/sshd_config", "Port 22")
        .symlink("/nix/store/abc-etc/etc", "etc/static")
        .symlink("/etc/static/ssh/sshd_config", "etc/ssh/sshd_config")
        .file("etc/ssh/ssh_host_ed25519_key", "key")
        .file("etc/machine-id", "0123")
        .file("var/lib/foo/state", "x")
        .dir("mnt/storage");
    f
}

/// A person's whitelist keeping its data under /nix/persist.
const WHITELIST: &str = r#"{ lib, ... }:
let persist = "/nix/persist"; in
{
  environment.persistence."/nix/persist" = {
    directories = [ "/var/lib/nixos" ];
  };
}
"#;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn whitelist_dir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let wl = d.path().join("persist.nix");
    std::fs::write(&wl, WHITELIST).unwrap();
    (d, wl)
}

#[test]
fn paths_no_whitelist_may_list_are_refused_by_rule_and_nothing_is_written() {
    let f = nixos_root();
    let (dir, wl) = whitelist_dir();
    let root_before = tree_state(f.root());
    let cases: [(&str, &[&str], &[&str]); 10] = [
        (
            "/persist/var/lib/oldsvc",
            &[],
            &[
                "rule: inside storage root /persist",
                "promote the path where the data lives on the root: /var/lib/oldsvc",
            ],
        ),
        (
            "/nix/persist/var/lib/app",
            &[],
            &["rule: inside storage root /nix/persist", "/var/lib/app"],
        ),
        (
            "/mnt",
            &["--storage", "/mnt/storage"],
            &["rule: holds storage root /mnt/storage"],
        ),
        ("/nix/store", &[], &["rule: under /nix"]),
        ("/etc/static/ssh", &[], &["rule: under /etc/static"]),
        (
            "/etc/ssh/sshd_config",
            &[],
            &[
                "rule: link into the Nix store",
                "/nix/store/abc-etc/etc/ssh/sshd_config",
                "/etc/ssh/ssh_host_ed25519_key",
            ],
        ),
        (
            "/etc",
            &[],
            &[
                "rule: /etc itself",
                "shadows-nix",
                "persist the files that hold state, like /etc/ssh/ssh_host_ed25519_key",
            ],
        ),
        ("/etc/", &[], &["rule: /etc itself"]),
        (
            "/etc/ssh",
            &[],
            &[
                "rule: holds files NixOS generates",
                "/etc/ssh/sshd_config",
                "/etc/ssh/ssh_host_ed25519_key",
            ],
        ),
        (
            "//persist/var/lib/oldsvc/",
            &[],
            &["rule: inside storage root /persist"],
        ),
    ];
    for (path, extra, needles) in cases {
        // With a good path next to it: nothing at all is written.
        let out = darlings()
            .args(["promote", "--root"])
            .arg(f.root())
            .arg("--whitelist")
            .arg(&wl)
            .args(extra)
            .arg("/var/lib/foo")
            .arg(path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{path}: {n:?} in {stderr}");
        }
        assert!(
            stderr.contains("1 of 2 paths refused; nothing was written"),
            "{path}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{path}: no diff printed");
        assert_eq!(std::fs::read_to_string(&wl).unwrap(), WHITELIST, "{path}");
        assert_eq!(names(dir.path()), ["persist.nix"], "{path}: no .bak");
    }
    assert_eq!(tree_state(f.root()), root_before, "the root is untouched");
    // The paths they point to instead are accepted, into the file's storage.
    darlings()
        .args(["promote", "--root"])
        .arg(f.root())
        .arg("--whitelist")
        .arg(&wl)
        .args([
            "/var/lib/foo",
            "/etc/ssh/ssh_host_ed25519_key",
            "/etc/machine-id",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "+       \"/etc/ssh/ssh_host_ed25519_key\"",
        ));
    let now = std::fs::read_to_string(&wl).unwrap();
    assert!(now.contains("\"/var/lib/foo\""), "{now}");
}

#[test]
fn a_single_refused_path_says_so_and_a_new_whitelist_is_not_created() {
    let f = nixos_root();
    let d = tempfile::tempdir().unwrap();
    let wl = d.path().join("persist.nix");
    darlings()
        .args(["promote", "--root"])
        .arg(f.root())
        .arg("--whitelist")
        .arg(&wl)
        .arg("/persist")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot promote '/persist' (rule: inside storage root /persist)",
        ))
        .stderr(predicate::str::contains(
            "the path was refused; nothing was written",
        ));
    assert!(names(d.path()).is_empty());
}

#[test]
fn a_link_into_the_store_is_refused_on_a_root_whose_nix_is_not_mounted() {
    // An old root mounted for inspection: /nix is another file system, not
    // mounted under it, so /etc/static dangles (or is not there at all).
    let f = Fixture::new();
    f.symlink("/nix/store/abc-etc/etc", "etc/static")
        .symlink("/etc/static/hosts", "etc/hosts")
        .symlink("/etc/static/nix/nix.conf", "etc/nix/nix.conf")
        .file("var/lib/foo/state", "x");
    std::fs::remove_file(f.path("etc/static")).unwrap();
    let d = tempfile::tempdir().unwrap();
    for path in ["/etc/hosts", "/etc/nix"] {
        darlings()
            .args(["promote", "--root"])
            .arg(f.root())
            .arg("--whitelist")
            .arg(d.path().join("persist.nix"))
            .arg(path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("/etc/static/"))
            .stderr(predicate::str::contains("rule: "));
    }
    assert!(names(d.path()).is_empty());
}

/// The mirror of a path inside a listed directory (kept already, nothing
/// written, exit 0): a directory holding a listed entry would nest the two,
/// which `darlings check` rejects, so promote refuses it (exit 2), naming
/// the entry inside, its line and what to do; the file stays as it was.
#[test]
fn a_directory_holding_a_listed_entry_is_refused_not_nested() {
    let f = Fixture::new();
    f.file("var/lib/a/state", "a")
        .file("var/lib/b/state", "b")
        .dir("srv");
    let d = tempfile::tempdir().unwrap();
    let wl = d.path().join("pn.nix");
    let promote = |paths: &[&str]| {
        darlings()
            .args(["promote", "--root"])
            .arg(f.root())
            .arg("--whitelist")
            .arg(&wl)
            .args(paths)
            .output()
            .unwrap()
    };
    assert!(promote(&["/var/lib/a"]).status.success());
    let listed = std::fs::read_to_string(&wl).unwrap();
    let line = listed
        .lines()
        .position(|l| l.contains("/var/lib/a"))
        .unwrap()
        + 1;
    let out = promote(&["/var/lib"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in [
        "cannot promote '/var/lib' (rule: holds listed entry /var/lib/a)",
        &format!("already lists /var/lib/a (line {line}) inside /var/lib"),
        "nested",
        "keep promoting the paths inside /var/lib",
        "remove /var/lib/a from",
        "the path was refused; nothing was written",
    ] {
        assert!(stderr.contains(needle), "{needle:?} in {stderr}");
    }
    assert!(out.stdout.is_empty(), "no diff printed");
    assert_eq!(std::fs::read_to_string(&wl).unwrap(), listed);
    assert_eq!(names(d.path()), ["pn.nix"], "no .bak: nothing written");
    // With a good path beside it, nothing is written either.
    let out = promote(&["/srv", "/var"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 of 2 paths refused"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&wl).unwrap(), listed);
    // What check sees in the file is what promote left: no nested entry.
    let check = darlings()
        .arg("check")
        .arg(f.root())
        .arg("--persistence")
        .arg(&wl)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(!said.contains("nested"), "{said}");
    // The inner paths are still welcome; a path inside a listed directory
    // is kept already (exit 0, nothing changes).
    assert!(promote(&["/var/lib/b"]).status.success());
    let out = promote(&["/var"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/var/lib/a (line ") && stderr.contains(") and 1 more entry inside /var;"),
        "{stderr}"
    );
    let out = promote(&["/var/lib/a/state"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/var/lib/a/state is already listed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
