//! `darlings summary`: the commands it suggests run as printed (same ROOT,
//! same options, shell-quoted) and mean what it says; its class totals
//! count what is on ROOT (removed paths only under changes); and
//! `--fail-on-stray` counts stray paths unchanged against the baseline.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;

use common::{Fixture, darlings};

/// The text of `darlings summary ROOT ARGS...` and its exit code.
fn summary(root: &Path, args: &[&std::ffi::OsStr]) -> (String, Option<i32>) {
    let out = darlings()
        .arg("summary")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (String::from_utf8(out.stdout).unwrap(), out.status.code())
}

/// The command between backticks after `marker` on the line holding it.
fn command_after(text: &str, marker: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker}: {text}"));
    let rest = &line[line.find(marker).unwrap() + marker.len()..];
    let start = rest.find('`').unwrap() + 1;
    let end = start + rest[start..].find('`').unwrap();
    rest[start..end].to_string()
}

/// Runs `cmd` exactly as printed with bash, `darlings` being the binary under test.
fn run_as_printed(cmd: &str, cwd: &Path) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_darlings")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::process::Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .current_dir(cwd)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn suggested_commands_run_as_printed_with_the_users_arguments() {
    // A ROOT and a whitelist whose names need quoting (a space, a quote, a tab).
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("old root's\tcopy");
    std::fs::create_dir(&root).unwrap();
    let f = |rel: &str, content: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    };
    f("var/lib/app/db", "data on ROOT only");
    f("keep/secret", "stray");
    f("keep/scratch.tmp", "excluded");
    f("cache/blob", "dismissed");
    std::fs::create_dir_all(root.join("store")).unwrap();
    let cfg_dir = top.path().join("my config");
    std::fs::create_dir(&cfg_dir).unwrap();
    let cfg = cfg_dir.join("it's persist.nix");
    std::fs::write(
        &cfg,
        "{\n  environment.persistence.\"/store\" = {\n    directories = [ \"/var/lib/app\" ];\n  };\n}\n",
    )
    .unwrap();
    let ignore = cfg_dir.join("ignore rules");
    std::fs::write(&ignore, "/cache/\n").unwrap();
    let args: Vec<&std::ffi::OsStr> = vec![
        "--persistence".as_ref(),
        cfg.as_os_str(),
        "--storage".as_ref(),
        "/store".as_ref(),
        "--ignore".as_ref(),
        ignore.as_os_str(),
        "--exclude".as_ref(),
        "*.tmp".as_ref(),
    ];
    let (text, code) = summary(&root, &args);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains('\t'), "no raw tab: {text}");

    // "First: fix the problems": the check of the same whitelist finds them.
    let check = command_after(&text, "all of them: ");
    assert!(check.starts_with("darlings check $'"), "{check}");
    let cwd = tempfile::tempdir().unwrap();
    let out = run_as_printed(&check, cwd.path());
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{check}: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("not-in-storage") && said.contains("/var/lib/app"),
        "{said}"
    );
    // Control: the bare `darlings check ROOT` of before sees no whitelist at all.
    let bare = darlings().arg("check").arg(&root).output().unwrap();
    assert_eq!(
        bare.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bare.stdout)
    );

    // "save the list with": the report of the same audit.
    let report = command_after(&text, "save the list with ");
    assert!(report.ends_with(" -o report.json"), "{report}");
    let out = run_as_printed(&report, cwd.path());
    assert!(
        out.status.success(),
        "{report}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = common::json(&std::fs::read(cwd.path().join("report.json")).unwrap());
    assert_eq!(r["root"], root.to_str().unwrap());
    assert_eq!(r["storage"], serde_json::json!(["/store"]));
    let entry = |p: &str| common::entry(&r, p).cloned();
    assert_eq!(entry("/var/lib/app/db").unwrap()["class"], "persisted");
    assert_eq!(entry("/cache/blob").unwrap()["dismissed"], true);
    assert!(entry("/keep/scratch.tmp").is_none(), "excluded");
    assert_eq!(entry("/keep/secret").unwrap()["class"], "stray");

    // The finding's fix, as the summary prints it, copies the data by hand.
    let by_hand = command_after(&text, "or by hand: ");
    let out = run_as_printed(&by_hand, cwd.path());
    assert!(
        out.status.success(),
        "{by_hand}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(root.join("store/var/lib/app/db")).unwrap(),
        b"data on ROOT only"
    );

    // The TUI is offered with the same arguments.
    let tui = command_after(&text, "review and promote them with ");
    assert_eq!(
        tui.replacen("darlings tui", "darlings report", 1) + " -o report.json",
        report
    );
}

/// Against a baseline, a removed path (only in the baseline) is not on
/// ROOT: the class totals leave it out and the changes count it.
#[test]
fn class_totals_count_what_is_on_root_not_removed_paths() {
    let base = Fixture::new();
    base.file("etc/old-a", "gone").file("etc/old-b", "gone too");
    let cur = Fixture::new();
    cur.file("etc/new", "here");
    let against: Vec<&std::ffi::OsStr> = vec!["--against".as_ref(), base.root().as_os_str()];
    let (text, _) = summary(cur.root(), &against);
    let stray_line = text
        .lines()
        .find(|l| l.contains("stray        (lost at the wipe)"))
        .unwrap();
    let n: u64 = stray_line
        .split_whitespace()
        .rev()
        .nth(3)
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{stray_line}"));
    // On ROOT: /etc (stray: nothing kept below) and /etc/new.
    let r = common::report(cur.root(), &["--against", base.root().to_str().unwrap()]);
    let on_root = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["class"] == "stray" && e["change"] != "removed")
        .count() as u64;
    assert_eq!(n, on_root, "{text}");
    assert!(text.contains("2 removed"), "{text}");
    // The report keeps its contract: its classes agree with its entries.
    let listed = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["class"] == "stray")
        .count();
    assert_eq!(r["summary"]["classes"]["stray"]["entries"], listed);
    assert!(
        listed as u64 > n,
        "the removed ones are listed in the report"
    );
}

/// `--fail-on-stray` is about stray paths: one unchanged against an older
/// scan or root is lost at the wipe all the same, so it fails, and the text
/// says why; dismissed, it passes.
#[test]
fn fail_on_stray_counts_unchanged_stray_paths() {
    let cur = Fixture::new();
    cur.file("root/notes", "mine").file("srv/data", "x");
    let base = Fixture::new();
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", cur.root().display()))
        .arg(base.root())
        .status()
        .unwrap();
    assert!(cp.success());
    let b = base.root().as_os_str();
    let (text, code) = summary(
        cur.root(),
        &["--fail-on-stray".as_ref(), "--against".as_ref(), b],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("--fail-on-stray fails on them"), "{text}");
    // Without the flag: exit 0, the same text.
    let (_, code) = summary(cur.root(), &["--against".as_ref(), b]);
    assert_eq!(code, Some(0));
    // Dismissed: nothing unresolved is left.
    let rules = tempfile::tempdir().unwrap();
    let ignore = rules.path().join("ignore");
    std::fs::write(&ignore, "/*\n").unwrap();
    let (text, code) = summary(
        cur.root(),
        &[
            "--fail-on-stray".as_ref(),
            "--against".as_ref(),
            b,
            "--ignore".as_ref(),
            ignore.as_os_str(),
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("fails on them"), "{text}");
}
