//! Promoting into persistence files shaped like the ones people publish
//! (`tests/data/whitelists/*.nix`: comments, `let`, `mkIf`, `mkMerge`,
//! `${user}` names, several storage roots, Home Manager, preservation,
//! string and attribute-set entries, `users.NAME` blocks). For each file:
//! after the promote, `nix-instantiate --parse` accepts it; evaluating it
//! (`eval.nix`, a stub of the `lib` functions the files use) gives its old
//! entries plus the new ones and nothing else; it differs from the original
//! only by added text; a second promote, and a promote of a path already
//! listed, change nothing; a `--flavor` or `--storage` that contradicts the
//! file is an error. Where no safe place exists, the refusal names why.
//! The rules are docs/whitelist-editing.md.

#[path = "whitelist/cases.rs"]
mod cases;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Fixture, darlings};
use predicates::prelude::*;

use cases::{CASES, Case, Expect, P};
use darlings::Error;
use darlings::whitelist::{Promotion, Request, apply};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/whitelists")
        .join(name)
}

fn homes() -> Vec<(String, PathBuf)> {
    vec![
        ("root".into(), "/root".into()),
        ("alice".into(), "/home/alice".into()),
        ("admin".into(), "/home/admin".into()),
        ("guest".into(), "/home/guest".into()),
    ]
}

fn promotions(ps: &[P]) -> Vec<Promotion> {
    ps.iter().map(|p| p.promotion()).collect()
}

fn run(file: &str, text: &str, req: &Request, ps: &[P]) -> darlings::Result<String> {
    apply(Path::new(file), Some(text), req, &promotions(ps), &homes()).map(|a| a.text)
}

/// Returns true if and only if `new` is `old` with text inserted only.
fn only_inserted(old: &str, new: &str) -> bool {
    let mut rest = new.chars();
    old.chars().all(|c| rest.any(|n| n == c))
}

fn only_added_lines(old: &str, new: &str) -> bool {
    similar::TextDiff::from_lines(old, new)
        .ops()
        .iter()
        .all(|op| matches!(op.tag(), similar::DiffTag::Equal | similar::DiffTag::Insert))
}

/// Every entry of the evaluated options, as `section location [users.NAME]
/// list entry` (the entry as JSON).
fn flatten(v: &Value) -> Vec<String> {
    fn locations(out: &mut Vec<String>, section: &str, v: &Value) {
        for (loc, body) in v.as_object().into_iter().flatten() {
            let loc = serde_json::to_string(loc).unwrap_or_default();
            let loc = if loc.trim_matches('"').starts_with('/') {
                loc
            } else {
                loc.trim_matches('"').to_string()
            };
            lists(out, &format!("{section} {loc}"), body);
            for (user, ub) in body["users"].as_object().into_iter().flatten() {
                lists(out, &format!("{section} {loc} users.{user}"), ub);
            }
        }
    }
    fn lists(out: &mut Vec<String>, at: &str, body: &Value) {
        for list in ["directories", "files"] {
            for e in body[list].as_array().into_iter().flatten() {
                out.push(format!("{at} {list} {e}"));
            }
        }
    }
    let mut out = Vec::new();
    for section in ["nixos", "preservation", "home-manager"] {
        locations(&mut out, section, &v[section]);
    }
    for section in ["home-manager-users", "flake-home-modules"] {
        for (name, locs) in v[section].as_object().into_iter().flatten() {
            locations(&mut out, &format!("{section}.{name}"), locs);
        }
    }
    out.sort();
    out
}

/// `v` without the entries of `added` (once each), empty lists and empty
/// sets left after that removed.
fn without(v: &Value, at: &str, added: &mut Vec<String>) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, x) in map {
                let here = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}/{k}")
                };
                let x = without(x, &here, added);
                let empty = matches!(&x, Value::Array(a) if a.is_empty())
                    || matches!(&x, Value::Object(o) if o.is_empty());
                if !empty {
                    out.insert(k.clone(), x);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|e| {
                    let key = format!("{at} {e}");
                    match added.iter().position(|a| *a == key) {
                        Some(i) => {
                            added.remove(i);
                            false
                        }
                        None => true,
                    }
                })
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Evaluates a fixture with real Nix (parse, then `eval.nix`); `None`
/// when Nix is not installed.
fn nix_eval(text: &str) -> Option<Value> {
    if Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_err()
    {
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fixture.nix");
    std::fs::write(&file, text).expect("write");
    let parse = Command::new("nix-instantiate")
        .arg("--parse")
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        parse.status.success(),
        "nix-instantiate --parse:\n{}\n{text}",
        String::from_utf8_lossy(&parse.stderr)
    );
    let eval = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(data("eval.nix"))
        .arg("--arg")
        .arg("file")
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        eval.status.success(),
        "nix-instantiate --eval:\n{}\n{text}",
        String::from_utf8_lossy(&eval.stderr)
    );
    Some(serde_json::from_slice(&eval.stdout).expect("nix prints JSON"))
}

/// The path in `key` of the evaluated options (`nixos "/persist"
/// directories` → nixos//persist/directories, as [`without`] walks it).
fn json_at(entry: &str) -> String {
    // section location [users.NAME] list entry
    let mut parts = entry.splitn(2, ' ');
    let section = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    let (loc, rest) = if let Some(r) = rest.strip_prefix('"') {
        let end = r.find('"').unwrap_or(0);
        (r[..end].to_string(), r[end + 1..].trim_start())
    } else {
        let mut p = rest.splitn(2, ' ');
        (
            p.next().unwrap_or_default().to_string(),
            p.next().unwrap_or_default(),
        )
    };
    let mut p = rest.splitn(2, ' ');
    let first = p.next().unwrap_or_default();
    let (user, list, e) = match first.strip_prefix("users.") {
        Some(u) => {
            let mut q = p.next().unwrap_or_default().splitn(2, ' ');
            (
                Some(u.to_string()),
                q.next().unwrap_or_default(),
                q.next().unwrap_or_default(),
            )
        }
        None => (None, first, p.next().unwrap_or_default()),
    };
    let section = section.replace('.', "/");
    let at = match user {
        Some(u) => format!("{section}/{loc}/users/{u}/{list}"),
        None => format!("{section}/{loc}/{list}"),
    };
    format!("{at} {e}")
}

fn check(case: &Case, nix: &mut bool) {
    let name = case.file;
    let old = std::fs::read_to_string(data(name)).expect("fixture");
    let req = Request::default();
    match &case.expect {
        Expect::Refused(needle) => {
            match run(name, &old, &req, case.promote) {
                Err(Error::NoSafeEdit { problem, paste, .. }) => {
                    assert!(problem.contains(needle), "{name}: {problem}");
                    assert!(!paste.is_empty(), "{name}: lines to paste");
                }
                other => panic!("{name}: expected a refusal, got {other:?}"),
            }
            return;
        }
        Expect::Added { added, inline } => {
            let new = run(name, &old, &req, case.promote).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(only_inserted(&old, &new), "{name}: only text added\n{new}");
            if !inline {
                assert!(
                    only_added_lines(&old, &new),
                    "{name}: only whole lines added\n{new}"
                );
            }
            let again = run(name, &new, &req, case.promote).expect("again");
            assert_eq!(again, new, "{name}: a second promote changes nothing");
            if let (Some(before), Some(after)) = (nix_eval(&old), nix_eval(&new)) {
                let mut expected = flatten(&before);
                expected.extend(added.iter().map(|s| s.to_string()));
                expected.sort();
                assert_eq!(
                    flatten(&after),
                    expected,
                    "{name}: old entries plus new\n{new}"
                );
                let mut keys: Vec<String> = added.iter().map(|a| json_at(a)).collect();
                assert_eq!(
                    without(&after, "", &mut keys),
                    without(&before, "", &mut Vec::new()),
                    "{name}: nothing else changes\n{new}"
                );
            } else {
                *nix = false;
            }
        }
    }
    if !case.listed.is_empty() {
        assert_eq!(
            run(name, &old, &req, case.listed).expect("listed"),
            old,
            "{name}: already listed"
        );
    }
    let foreign = Request {
        storage: vec![case.foreign_storage.into()],
        ..Request::default()
    };
    match run(name, &old, &foreign, case.promote) {
        Err(Error::BadInput { problem, .. }) => {
            assert!(problem.contains("--storage"), "{name}: {problem}")
        }
        other => panic!("{name}: --storage {}: {other:?}", case.foreign_storage),
    }
    if let Some(flavor) = case.foreign_flavor {
        let foreign = Request {
            flavor: Some(flavor),
            ..Request::default()
        };
        match run(name, &old, &foreign, case.promote) {
            Err(Error::BadInput { problem, .. }) => {
                assert!(problem.contains("--flavor"), "{name}: {problem}")
            }
            other => panic!("{name}: --flavor {}: {other:?}", flavor.name()),
        }
    }
}

#[test]
fn promoting_into_files_shaped_like_published_ones() {
    let mut nix = true;
    let mut files: Vec<&str> = CASES.iter().map(|c| c.file).collect();
    files.dedup();
    assert!(files.len() >= 20, "{} files", files.len());
    for case in CASES {
        check(case, &mut nix);
    }
    if !nix {
        eprintln!(
            "skipped the evaluations: nix-instantiate is not on PATH (Debian: apt-get install nix-bin)"
        );
    }
    // Every fixture is in a case.
    let on_disk = std::fs::read_dir(data("")).expect("fixtures");
    for entry in on_disk {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".nix") && name != "eval.nix" {
            assert!(files.contains(&name.as_ref()), "{name} has no case");
        }
    }
}

/// A root with a directory, a file and alice's home, and a copy of the
/// fixture `name` as the whitelist.
fn cli_setup(name: &str) -> (Fixture, PathBuf) {
    let f = Fixture::new();
    f.dir("var/lib/docker")
        .dir("home/alice/Music")
        .file("etc/adjtime", "0.0 0 0.0\n")
        .file(
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
        )
        .file("etc/group", "root:x:0:\nusers:x:100:\n");
    let out = f.path("out");
    std::fs::create_dir(&out).expect("mkdir");
    let wl = out.join("persist.nix");
    std::fs::copy(data(name), &wl).expect("copy");
    (f, wl)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn promote_adds_lines_keeps_a_backup_and_never_overwrites_it_with_nothing() {
    let (f, wl) = cli_setup("two-roots-optionals.nix");
    let original = std::fs::read_to_string(&wl).expect("read");
    darlings()
        .args(["promote", "--root"])
        .arg(f.root())
        .arg("--whitelist")
        .arg(&wl)
        .arg("/etc/adjtime")
        .assert()
        .success()
        .stdout(predicate::str::contains("+       \"/etc/adjtime\""))
        .stdout(predicate::str::contains("\n- ").not());
    let bak = wl.with_file_name("persist.nix.bak");
    assert_eq!(std::fs::read_to_string(&bak).expect("bak"), original);
    let once = std::fs::read_to_string(&wl).expect("read");
    // Nothing new: the file and its backup stay as they are.
    darlings()
        .args(["promote", "--root"])
        .arg(f.root())
        .arg("--whitelist")
        .arg(&wl)
        .arg("/etc/adjtime")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "/etc/adjtime is already listed, line",
        ))
        .stdout(predicate::str::contains("nothing changed"));
    assert_eq!(std::fs::read_to_string(&wl).expect("read"), once);
    assert_eq!(std::fs::read_to_string(&bak).expect("bak"), original);
}

#[test]
fn contradictions_and_refusals_exit_2_and_leave_the_file_untouched() {
    for (name, args, needle) in [
        (
            "two-roots-optionals.nix",
            &["--storage", "/persistent"][..],
            "--storage /persistent names another storage root",
        ),
        (
            "two-roots-optionals.nix",
            &["--flavor", "preservation"][..],
            "--flavor preservation",
        ),
        (
            "preservation-var-root.nix",
            &[][..],
            "add this line yourself:\n  preservation.preserveAt.${config.system.devices.preservedState}.directories (line 7):\n    \"/var/lib/docker\"\n",
        ),
    ] {
        let (f, wl) = cli_setup(name);
        let original = std::fs::read(&wl).expect("read");
        darlings()
            .args(["promote", "--root"])
            .arg(f.root())
            .arg("--whitelist")
            .arg(&wl)
            .args(args)
            .arg("/var/lib/docker")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(needle));
        assert_eq!(
            std::fs::read(&wl).expect("read"),
            original,
            "{name} {args:?}"
        );
        assert_eq!(names(wl.parent().expect("dir")), ["persist.nix"]);
    }
}

/// Every published-shape file given as `--persistence` is either read (a
/// whitelist darlings can check) or refused with exit 2 and a reason; never
/// read as "nothing listed", which made every check pass ("No problems
/// found") while darlings had read nothing: a custom option
/// (`environment.global-persistence`), an alias, a location under `home =
/// { … }` named at evaluation.
#[test]
fn a_persistence_file_is_read_or_refused_never_taken_as_listing_nothing() {
    let f = Fixture::new();
    f.dir("etc");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/whitelists");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "nix"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    let mut refused = Vec::new();
    for file in &files {
        let out = darlings()
            .arg("check")
            .arg(f.root())
            .arg("--persistence")
            .arg(file)
            .arg("--json")
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(2) => {
                assert!(out.stdout.is_empty(), "{file:?}");
                assert!(stderr.contains("darlings: error:"), "{file:?}: {stderr}");
                refused.push(file.file_name().unwrap().to_string_lossy().into_owned());
            }
            Some(0 | 1) => {
                let r: Value = serde_json::from_slice(&out.stdout).expect("json");
                assert!(
                    !r["skipped"].to_string().contains("no whitelist is known"),
                    "{file:?} was read as listing nothing: {r}"
                );
            }
            c => panic!("{file:?}: exit {c:?}: {stderr}"),
        }
    }
    assert!(
        refused.contains(&"custom-option.nix".to_string()),
        "{refused:?}"
    );
}
