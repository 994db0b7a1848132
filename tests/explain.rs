//! `darlings explain`: for every path of a NixOS-like root and of the demo
//! root, the same class and reason as the report; the evidence of each
//! rule kind (the whitelist entry with its file and location, the bind
//! mount in a mount namespace, the symlink chain, `/etc/static`,
//! `/etc/.clean`, tmpfiles, `DynamicUser=`, userborn, the hold rule, the
//! knowledge base, the owner, the check's finding, the suggestion); exit 2
//! for paths that are not in the root; names escaped.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::{Fixture, darlings};
use serde_json::Value;

/// The whitelist in effect on the fixture: one directory and two files.
const PERSIST_NIX: &str = r#"{
  environment.persistence."/persist" = {
    directories = [ "/var/log" ];
    files = [ "/etc/machine-id" "/etc/adjtime" ];
  };
}
"#;

/// A NixOS-like root with a path for every classification rule that needs
/// no mount, its whitelist file (outside the root), and an old copy of
/// part of it as a baseline.
struct Root {
    f: Fixture,
    persist: std::path::PathBuf,
    baseline: Fixture,
}

fn nixos_root() -> Root {
    let f = Fixture::new();
    let etc = "nix/store/aaa-etc/etc";
    let sys = "nix/store/bbb-system-units";
    let unit = |f: &Fixture, name: &str, text: &str| {
        let store = format!("nix/store/u{}-unit-{name}", name.len());
        f.file(format!("{store}/{name}"), text)
            .symlink(format!("/{store}/{name}"), format!("{sys}/{name}"));
    };
    f.file(format!("{etc}/hosts"), "127.0.0.1 localhost\n")
        .file(format!("{etc}/nsswitch.conf"), "hosts: files dns\n")
        .file(format!("{etc}/sudoers"), "root ALL=(ALL) ALL\n")
        .symlink(format!("/{sys}"), format!("{etc}/systemd/system"))
        .file(
            format!("{etc}/tmpfiles.d/preservation.conf"),
            "L+ /var/lib/systemd/random-seed - - - - /persist/var/lib/systemd/random-seed\n",
        )
        .file(
            format!("{etc}/tmpfiles.d/00-nixos.conf"),
            "L+ /var/lib/hello-link - - - - /nix/store/ccc-hello/bin/hello\n",
        )
        .file("nix/store/ccc-hello/bin/hello", "#!")
        .file("nix/store/ddd-glibc/lib/ld-linux-x86-64.so.2", "ELF")
        .file("nix/store/eee-home-manager-files/.config/git/config", "[user]\n")
        .symlink("/nix/store/aaa-etc/etc", "etc/static")
        .symlink("/etc/static/hosts", "etc/hosts")
        .symlink("/etc/static/systemd/system", "etc/systemd/system")
        .symlink("/etc/static/tmpfiles.d", "etc/tmpfiles.d")
        .file("etc/nsswitch.conf", "hosts: files dns\n")
        .file("etc/sudoers", "root ALL=(ALL) ALL\n")
        .file("etc/.clean", "sudoers\n")
        .file("etc/NIXOS", "")
        .file(
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\npostgres:x:71:71::/var/lib/postgresql:/bin/sh\n",
        )
        .file("etc/group", "root:x:0:\nusers:x:100:alice\npostgres:x:71:\n")
        .file("etc/shadow", "root:!:1::::::\n")
        .dir("var/lib/userborn")
        .file("etc/machine-id", "0123456789abcdef\n")
        .file("etc/ssh/ssh_host_ed25519_key", "PRIVATE")
        .chmod("etc/ssh/ssh_host_ed25519_key", 0o600)
        .symlink("/persist/etc/adjtime", "etc/adjtime")
        .file("persist/etc/adjtime", "0.0 0 0\n")
        .file("persist/var/lib/systemd/random-seed", "seed")
        .file("persist/opt/app/data", "app data")
        .symlink("/persist/var/lib/systemd/random-seed", "var/lib/systemd/random-seed")
        .symlink("/nix/store/ccc-hello/bin/hello", "var/lib/hello-link")
        .symlink("/nix/store/ccc-hello/bin/hello", "bin/sh")
        .symlink("/nix/store/ddd-glibc/lib/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2")
        .symlink(
            "/nix/store/eee-home-manager-files/.config/git/config",
            "home/alice/.config/git/config",
        )
        .symlink("/nix/store/ccc-hello", "home/alice/project/result")
        .dir("nix/store/fff-home-manager-generation")
        .symlink(
            "/nix/store/fff-home-manager-generation",
            "home/alice/.local/state/home-manager/gcroots/current-home",
        )
        .file("home/alice/project/main.c", "int main;\n")
        .file("home/alice/.bash_history", "ls\n")
        .symlink("/persist/opt/app/data", "opt/app/data")
        .file("var/lib/nixos/uid-map", "{\"alice\":1000}")
        .file("var/lib/nixos/gid-map", "{\"users\":100}")
        .file("var/lib/postgresql/16/PG_VERSION", "16\n")
        .file("var/lib/private/foo/state.db", "foo")
        .symlink("private/foo", "var/lib/foo")
        .file("var/log/journal/abc/system.journal", "log")
        .file("var/cache/nix/x", "cache")
        .symlink("loop-b", "etc/loop-a")
        .symlink("loop-a", "etc/loop-b");
    unit(
        &f,
        "postgresql.service",
        "[Service]\nUser=postgres\nStateDirectory=postgresql\n",
    );
    unit(
        &f,
        "foo.service",
        "[Service]\nDynamicUser=true\nStateDirectory=foo\n",
    );
    let persist = f.root().parent().unwrap().join(format!(
        "{}-persist.nix",
        f.root().file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&persist, PERSIST_NIX).unwrap();
    // The baseline: a week-old root where the history was shorter.
    let baseline = Fixture::new();
    baseline.file("home/alice/.bash_history", "l");
    baseline.file("etc/NIXOS", "");
    Root {
        f,
        persist,
        baseline,
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.persist);
    }
}

impl Root {
    /// The scan options every command gets.
    fn args(&self) -> Vec<std::ffi::OsString> {
        vec![
            "--persistence".into(),
            self.persist.clone().into(),
            "--against".into(),
            self.baseline.root().into(),
            "--hash".into(),
            "all".into(),
        ]
    }

    fn explain_json(&self, path: &str) -> Value {
        explain_json(self.f.root(), path.as_ref(), &self.args())
    }
}

fn explain_json(root: &Path, path: &OsStr, args: &[std::ffi::OsString]) -> Value {
    let out = darlings()
        .arg("explain")
        .arg(path)
        .arg(root)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.success(),
        "explain {}: {stderr}",
        path.to_string_lossy()
    );
    assert_eq!(
        out.stdout.iter().filter(|&&b| b == b'\n').count(),
        1,
        "one line"
    );
    common::json(&out.stdout)
}

/// The fields of a report entry explain repeats unchanged.
const SAME_AS_REPORT: &[&str] = &[
    "kind",
    "change",
    "class",
    "reason",
    "advice",
    "advice_reason",
    "dismissed",
    "warning",
    "mount",
    "size",
    "mode",
    "uid",
    "gid",
    "mtime",
    "target",
    "blake3",
];

fn assert_same_as_report(entry: &Value, x: &Value) {
    let path = &entry["path"];
    assert_eq!(&x["path"], path);
    for k in SAME_AS_REPORT {
        assert_eq!(entry.get(*k), x.get(*k), "{path}: {k}");
    }
    if entry["change"] == "modified" {
        assert_eq!(entry["what"], x["what"], "{path}");
    }
    match (&entry["owner"], &x["owner"]) {
        (Value::Null, Value::Null) => {}
        (a, b) => {
            for k in ["unit", "user", "evidence"] {
                assert_eq!(a[k], b[k], "{path}: owner.{k}");
            }
        }
    }
}

#[test]
fn every_path_has_the_report_s_class_and_reason_and_a_rule() {
    let r = nixos_root();
    let args = r.args();
    let mut report_args: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    report_args.push("--include-unchanged".as_ref());
    let args_str: Vec<&str> = report_args.iter().map(|a| a.to_str().unwrap()).collect();
    let report = common::report(r.f.root(), &args_str);
    let entries = report["entries"].as_array().unwrap();
    assert!(entries.len() > 60, "{} entries", entries.len());
    let mut rules = BTreeSet::new();
    for e in entries {
        let path = e["path"].as_str().unwrap();
        let x = r.explain_json(path);
        assert_eq!(x["schema"], "darlings-explain/1");
        assert_same_as_report(e, &x);
        rules.insert(x["rule"]["name"].as_str().unwrap().to_string());
        // An inherited rule names where it applies, and nothing else does.
        let inherited = x["rule"]["name"].as_str().unwrap().starts_with("inside-")
            || x["rule"]["name"] == "under-nix";
        assert_eq!(inherited, x["rule"]["at"].is_string(), "{x}");
    }
    // Every rule that needs no mount is met on this root.
    for want in [
        "storage",
        "inside-storage",
        "kept",
        "listed",
        "inside-listed",
        "nix",
        "under-nix",
        "symlink-loop",
        "symlink-into-storage",
        "recreated-link",
        "loader-link",
        "dynamic-user-link",
        "tmpfiles-link",
        "home-manager-link",
        "home-manager-generation",
        "etc-static-link",
        "store-link",
        "userborn",
        "etc-clean",
        "etc-static",
        "regenerated",
        "boot-directory",
        "holds-kept-paths",
        "no-rule",
    ] {
        assert!(rules.contains(want), "rule {want} met: {rules:?}");
    }
}

#[test]
fn the_demo_root_explains_every_path_as_the_report_does() {
    // In process: the demo root has hundreds of paths.
    use darlings::{audit, check, cli, demo, explain, report, settings};
    let d = demo::build().unwrap();
    let whitelist = d.dir.path().join("persist.nix");
    std::fs::write(&whitelist, demo::WHITELIST).unwrap();
    let scan = cli::ScanArgs {
        against: d.baseline.to_string_lossy().into_owned(),
        persistence: vec![whitelist],
        storage: vec!["/persist".into()],
        hash: cli::HashArg::All,
        threads: Some(2),
        ..cli::ScanArgs::default()
    };
    let (opts, config) = settings::audit_and_config(Some(&d.root), &scan).unwrap();
    let audit = audit::run(&opts, &darlings::scan::Progress::default()).unwrap();
    let checked = check::run(&audit, &config).unwrap();
    let mut out = Vec::new();
    report::write_json(
        &audit,
        Some(&checked),
        report::ReportOptions {
            include_unchanged: true,
        },
        &mut out,
    )
    .unwrap();
    let rep = common::json(&out);
    let users = darlings::users::Users::read(&d.root);
    let input = explain::Input {
        audit: &audit,
        checked: Some(&checked),
        config: &config,
        users: &users,
        ignore: None,
    };
    let entries = rep["entries"].as_array().unwrap();
    assert!(entries.len() > 700, "{}", entries.len());
    let mut with_suggestion = 0;
    for e in entries {
        let path = e["path"].as_str().unwrap();
        let i = explain::find(&audit, path.as_bytes()).unwrap();
        let x = explain::explain(&input, i);
        let mut buf = Vec::new();
        explain::render::write_json(&audit, &x, &mut buf).unwrap();
        let x = common::json(&buf);
        assert_same_as_report(e, &x);
        // A stray path that is lost is covered by a suggestion, or says why not.
        if e["class"] == "stray" {
            assert!(
                x["suggestion"].is_object() != x["not_suggested"].is_string(),
                "{x}"
            );
        }
        with_suggestion += usize::from(x["suggestion"].is_object());
        // The text is written too, and names nothing raw.
        let mut text = Vec::new();
        explain::render::write_text(&explain::explain(&input, i), &mut text).unwrap();
        assert!(!text.contains(&0x1b), "{path}");
    }
    assert!(with_suggestion > 300, "{with_suggestion}");
    // The demo's kept log directory: listed, with the file and its location.
    let i = explain::find(&audit, b"/var/log/nginx/access.log").unwrap();
    let x = explain::explain(&input, i);
    assert_eq!(x.rule.as_str(), "inside-listed");
    assert_eq!(x.rule_at.as_deref(), Some(&b"/var/log"[..]));
}

fn evidence<'a>(x: &'a Value, kind: &str) -> Vec<&'a Value> {
    x["rule"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[test]
fn each_rule_shows_its_evidence() {
    let r = nixos_root();
    let cfg = r.persist.to_string_lossy().into_owned();

    // A listed file: the entry with its file and location; not backed, so
    // the check's not-in-storage finding is on it.
    let x = r.explain_json("/etc/machine-id");
    assert_eq!(x["rule"]["name"], "listed");
    let e = evidence(&x, "config-entry");
    assert_eq!(e.len(), 1, "{x}");
    assert_eq!(e[0]["file"], cfg.as_str());
    assert_eq!(
        e[0]["location"],
        "environment.persistence.\"/persist\".files[0]"
    );
    assert_eq!(e[0]["source"], "/persist/etc/machine-id");
    assert_eq!(e[0]["how"], "bind-mount");
    assert!(x["warning"].is_string());
    assert_eq!(x["findings"][0]["kind"], "not-in-storage", "{x}");
    assert_eq!(x["findings"][0]["path"], "/etc/machine-id");

    // Inside a listed directory: the rule applies at /var/log, and the
    // finding on /var/log concerns the file too.
    let x = r.explain_json("/var/log/journal/abc/system.journal");
    assert_eq!(x["rule"]["name"], "inside-listed");
    assert_eq!(x["rule"]["at"], "/var/log");
    assert_eq!(
        evidence(&x, "config-entry")[0]["location"],
        "environment.persistence.\"/persist\".directories[0]"
    );
    assert_eq!(x["findings"][0]["path"], "/var/log", "{x}");
    assert_eq!(x["knowledge"]["pattern"], "/var/log");
    assert_eq!(x["knowledge"]["applies"], false, "persisted: advice unused");

    // A listed file the live system backs by a symlink into storage.
    let x = r.explain_json("/etc/adjtime");
    assert_eq!(x["rule"]["name"], "kept");
    let b = evidence(&x, "backing");
    assert_eq!(b[0]["how"], "symlink", "{x}");
    assert_eq!(b[0]["source"], "/persist/etc/adjtime");
    let c = evidence(&x, "symlink-chain");
    assert_eq!(c[0]["hops"][0]["text"], "/persist/etc/adjtime");
    assert_eq!(c[0]["ending"], "exists");

    // Kept by preservation's tmpfiles rule: a listing of the live system.
    let x = r.explain_json("/var/lib/systemd/random-seed");
    assert_eq!(x["rule"]["name"], "kept");
    let e = evidence(&x, "config-entry");
    assert_eq!(e[0]["file"], Value::Null, "{x}");
    assert!(
        e[0]["origin"]
            .as_str()
            .unwrap()
            .contains("/etc/tmpfiles.d/preservation.conf"),
        "{x}"
    );

    // An /etc link through /etc/static: the chain and the /etc/static entry.
    let x = r.explain_json("/etc/hosts");
    assert_eq!(x["rule"]["name"], "etc-static-link");
    let c = evidence(&x, "symlink-chain");
    assert_eq!(c[0]["hops"][0]["text"], "/etc/static/hosts");
    assert_eq!(c[0]["hops"][0]["lands"], "/nix/store/aaa-etc/etc/hosts");
    assert_eq!(c[0]["resolved"], "/nix/store/aaa-etc/etc/hosts");
    let s = evidence(&x, "etc-static");
    assert_eq!(s[0]["path"], "/etc/static/hosts");
    assert_eq!(s[0]["exists"], true);

    // A copied /etc file declared by /etc/static, one listed in /etc/.clean.
    let x = r.explain_json("/etc/nsswitch.conf");
    assert_eq!(x["rule"]["name"], "etc-static");
    assert_eq!(
        evidence(&x, "etc-static")[0]["resolved"],
        "/nix/store/aaa-etc/etc/nsswitch.conf"
    );
    let x = r.explain_json("/etc/sudoers");
    assert_eq!(x["rule"]["name"], "etc-clean");
    assert_eq!(evidence(&x, "etc-clean")[0]["line"], "sudoers");

    // Links made at boot: a tmpfiles rule, a DynamicUser= unit.
    let x = r.explain_json("/var/lib/hello-link");
    assert_eq!(x["rule"]["name"], "tmpfiles-link");
    assert_eq!(
        evidence(&x, "tmpfiles")[0]["file"],
        "/etc/tmpfiles.d/00-nixos.conf"
    );
    let x = r.explain_json("/var/lib/foo");
    assert_eq!(x["rule"]["name"], "dynamic-user-link");
    assert_eq!(evidence(&x, "dynamic-user")[0]["unit"], "foo.service");

    // userborn's password file, and a regenerated one.
    let x = r.explain_json("/etc/shadow");
    assert_eq!(x["rule"]["name"], "userborn");
    assert_eq!(evidence(&x, "userborn")[0]["location"], "/etc");
    assert_eq!(x["advice_from"], "class-rule");
    assert_eq!(r.explain_json("/etc/NIXOS")["rule"]["name"], "regenerated");

    // A directory that holds a link into storage is recreated to hold it.
    let x = r.explain_json("/opt/app");
    assert_eq!(x["rule"]["name"], "holds-kept-paths");
    let h = evidence(&x, "holds");
    assert_eq!(h[0]["count"], 1);
    assert_eq!(h[0]["paths"][0]["path"], "/opt/app/data");
    assert_eq!(h[0]["paths"][0]["class"], "persisted");
    let x = r.explain_json("/opt/app/data");
    assert_eq!(x["rule"]["name"], "symlink-into-storage");
    assert_eq!(evidence(&x, "storage-root")[0]["path"], "/persist");

    // Inside storage: the storage root is where the rule applies.
    let x = r.explain_json("/persist/opt/app/data");
    assert_eq!(x["rule"]["name"], "inside-storage");
    assert_eq!(x["rule"]["at"], "/persist");
    assert_eq!(evidence(&x, "storage-root")[0]["path"], "/persist");

    // A stray path: the knowledge-base rule, its advice, the suggestion.
    let x = r.explain_json("/var/lib/nixos/uid-map");
    assert_eq!(x["class"], "stray");
    assert_eq!(x["rule"]["name"], "no-rule");
    assert_eq!(x["knowledge"]["pattern"], "/var/lib/nixos");
    assert_eq!(x["knowledge"]["advice"], "persist");
    assert_eq!(x["knowledge"]["applies"], true);
    assert!(
        x["knowledge"]["source"][0]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(x["advice_from"], "knowledge-base");
    assert_eq!(x["suggestion"]["path"], "/var/lib/nixos", "{x}");
    assert_eq!(x["suggestion"]["entries"], 3);
    // ... and from the directory, the suggestion is the path itself.
    let x = r.explain_json("/var/lib/nixos");
    assert_eq!(x["suggestion"]["path"], "/var/lib/nixos");

    // A result link: a store link nothing recreates, advised by its rule.
    let x = r.explain_json("/home/alice/project/result");
    assert_eq!(x["rule"]["name"], "store-link");
    assert_eq!(x["advice"], "ephemeral");
    assert_eq!(x["advice_from"], "class-rule");
    assert_eq!(
        evidence(&x, "symlink-chain")[0]["resolved"],
        "/nix/store/ccc-hello"
    );

    // The owner of a service's state: its unit, and the user by name.
    let x = r.explain_json("/var/lib/postgresql/16/PG_VERSION");
    assert_eq!(x["owner"]["unit"], "postgresql.service", "{x}");
    assert_eq!(x["owner"]["units"][0], "postgresql.service");
    let x = r.explain_json("/home/alice/project/main.c");
    assert_eq!(x["user"], "root");

    // Modified against the baseline: what differs, and the entry before.
    let x = r.explain_json("/home/alice/.bash_history");
    assert_eq!(x["change"], "modified");
    assert!(
        x["what"].as_array().unwrap().contains(&"size".into()),
        "{x}"
    );
    assert_eq!(x["before"]["size"], 1);
    assert_eq!(x["size"], 3);
    assert_ne!(x["before"]["blake3"], x["blake3"]);

    // A directory with suggestions and findings below it.
    let x = r.explain_json("/var");
    assert_eq!(x["rule"]["name"], "boot-directory");
    assert!(x["suggestions_below"].as_array().unwrap().len() >= 2, "{x}");
    assert_eq!(x["findings_below"][0]["path"], "/var/log", "{x}");
}

#[test]
fn the_text_tells_the_steps_in_order() {
    let r = nixos_root();
    let out = darlings()
        .arg("explain")
        .arg("/var/lib/nixos/uid-map")
        .arg(r.f.root())
        .args(r.args())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut at = 0;
    for step in [
        "/var/lib/nixos/uid-map\n",
        "\nentry ",
        "\nchange ",
        "\nclass ",
        "\nrule ",
        "\nknowledge ",
        "\nadvice ",
        "\nowner ",
        "\nfindings ",
        "\nsuggestion ",
    ] {
        let k = text[at..]
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} after byte {at}: {text}"));
        at += k + 1;
    }
    assert!(
        text.contains("file, 14 B, owner root:root (0:0), mode 0644"),
        "{text}"
    );
    assert!(
        text.contains("covered by: /var/lib/nixos (3 entries"),
        "{text}"
    );
    assert!(text.contains("source: https://"), "{text}");
    // A kept path with its whitelist entry, in words.
    let out = darlings()
        .arg("explain")
        .arg("/etc/machine-id")
        .arg(r.f.root())
        .args(r.args())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("listed at environment.persistence.\"/persist\".files[0] in "),
        "{text}"
    );
    assert!(text.contains("error not-in-storage"), "{text}");
}

#[test]
fn a_bind_mount_and_a_tmpfs_show_the_mount_from_mountinfo() {
    skip_unless!(
        common::is_root(),
        "not root: no mount namespace for the bind mount"
    );
    let r = nixos_root();
    let root = r.f.root();
    r.f.file("persist/var/log/kept.log", "kept")
        .dir("tmp")
        .dir("srv");
    let elsewhere = Fixture::new();
    elsewhere.file("data", "on another file system");
    let setup = vec![
        common::bind(&root.join("persist/var/log"), &root.join("var/log")),
        common::tmpfs(&root.join("tmp")),
        common::bind(elsewhere.root(), &root.join("srv")),
    ];
    let run = |path: &str| {
        let mut args: Vec<&OsStr> = vec!["explain".as_ref(), path.as_ref(), root.as_os_str()];
        let rest = r.args();
        let rest: Vec<std::ffi::OsString> = rest;
        let mut owned: Vec<&OsStr> = rest.iter().map(|a| a.as_os_str()).collect();
        args.append(&mut owned);
        args.push("--json".as_ref());
        let out = common::darlings_in_mount_ns(&setup, false, &args);
        assert!(out.status.success(), "{out:?}");
        common::json(&out.stdout)
    };
    // The scan does not enter another file system's mount point: the
    // kept directory itself is what it knows.
    let x = run("/var/log");
    assert_eq!(x["rule"]["name"], "kept", "{x}");
    assert_eq!(x["mount"]["fstype"], evidence(&x, "mount")[0]["fstype"]);
    let b = evidence(&x, "backing");
    assert_eq!(b[0]["how"], "bind-mount", "{x}");
    assert_eq!(b[0]["source"], "/persist/var/log");
    let m = evidence(&x, "mount");
    assert_eq!(m[0]["path"], "/var/log", "{x}");
    assert!(
        m[0]["fs_root"]
            .as_str()
            .unwrap()
            .ends_with("/persist/var/log"),
        "{x}"
    );
    assert_eq!(
        evidence(&x, "config-entry")[0]["location"],
        "environment.persistence.\"/persist\".directories[0]"
    );

    let x = run("/tmp");
    assert_eq!(x["rule"]["name"], "volatile-mount", "{x}");
    assert_eq!(evidence(&x, "mount")[0]["fstype"], "tmpfs");
    assert_eq!(x["mount"]["fstype"], "tmpfs");

    // Without root the check cannot look under mount points: explain says so.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let persist = r.persist.as_os_str();
    let args: Vec<&OsStr> = vec![
        "explain".as_ref(),
        "/tmp".as_ref(),
        root.as_os_str(),
        "--persistence".as_ref(),
        persist,
        "--json".as_ref(),
    ];
    let out = common::darlings_in_mount_ns(&setup, true, &args);
    assert!(out.status.success(), "{out:?}");
    let x = common::json(&out.stdout);
    assert_eq!(x["findings_skipped"][0]["kind"], "hidden-data", "{x}");

    // A bind mount from outside storage: its own file system's verdict.
    let x = run("/srv");
    let fstype = evidence(&x, "mount")[0]["fstype"]
        .as_str()
        .unwrap()
        .to_string();
    let volatile = ["tmpfs", "ramfs", "overlay", "squashfs", "erofs"].contains(&fstype.as_str());
    let want = if volatile {
        "volatile-mount"
    } else {
        "separate-file-system"
    };
    assert_eq!(x["rule"]["name"], want, "{x}");
}

#[test]
fn paths_not_in_the_root_exit_2_with_a_clear_message() {
    let r = nixos_root();
    let root = r.f.root();
    let host = root.join("etc/machine-id");
    let cases: Vec<(&OsStr, &str)> = vec![
        ("etc/machine-id".as_ref(), "is relative"),
        ("/etc/../etc/machine-id".as_ref(), "contains '..'"),
        ("/".as_ref(), "ROOT itself"),
        ("/etc/missing".as_ref(), "'/etc' has no entry 'missing'"),
        ("/nowhere/at/all".as_ref(), "ROOT has no entry 'nowhere'"),
        ("/etc/hosts/x".as_ref(), "is a symlink"),
        ("/etc/NIXOS/x".as_ref(), "is a file, not a directory"),
        (host.as_os_str(), "did you mean '/etc/machine-id'?"),
    ];
    for (path, want) in cases {
        let out = darlings()
            .arg("explain")
            .arg(path)
            .arg(root)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains(want), "{path:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    // A path --exclude left out of the scan.
    let out = darlings()
        .args(["explain", "/var/lib/nixos/uid-map"])
        .arg(root)
        .args(["--exclude", "/var/lib/nixos"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--exclude left it out"));
    // A missing ROOT, and a bad option, are usage errors too.
    darlings()
        .args(["explain", "/etc"])
        .arg(root.join("no-such-root"))
        .assert()
        .code(2);
    darlings()
        .args(["explain", "/etc"])
        .arg(root)
        .args(["--against", "/no/such/baseline"])
        .assert()
        .code(2);
}

#[test]
fn names_with_control_characters_and_bad_utf8_are_escaped() {
    let f = Fixture::new();
    let evil = OsStr::from_bytes(b"var/lib/x\x1b[31mred\nline\xff");
    f.file(Path::new(evil), "data");
    f.symlink(
        OsStr::from_bytes(b"/target\x1b]0;title\x07\xfe"),
        "var/lib/link",
    );
    let path = OsStr::from_bytes(b"/var/lib/x\x1b[31mred\nline\xff");
    let out = darlings()
        .arg("explain")
        .arg(path)
        .arg(f.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stdout.contains(&0x1b), "no raw ESC");
    let text = String::from_utf8(out.stdout).expect("valid UTF-8 text");
    assert!(
        text.starts_with("/var/lib/x\\e[31mred\\nline\\xff\n"),
        "{text}"
    );
    let x = explain_json(f.root(), path, &[]);
    assert_eq!(
        x["path_b64"], "L3Zhci9saWIveBtbMzFtcmVkCmxpbmX/",
        "the exact bytes"
    );
    // The link's text, in the text and in the JSON.
    let out = darlings()
        .args(["explain", "/var/lib/link"])
        .arg(f.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("-> /target\\e]0;title\\u{7}\\xfe"), "{text}");
    let x = explain_json(f.root(), "/var/lib/link".as_ref(), &[]);
    assert!(x["target_b64"].is_string(), "{x}");
    let c = evidence(&x, "symlink-chain");
    assert!(c[0]["hops"][0]["text_b64"].is_string(), "{x}");
    // A missing path with such a name is escaped in the message too.
    let out = darlings()
        .arg("explain")
        .arg(OsStr::from_bytes(b"/var/lib/\x1b[2Jgone"))
        .arg(f.root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stderr.contains(&0x1b));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\\e[2Jgone"));
}

#[test]
fn docs_name_every_rule_and_every_evidence_kind() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/explain.md")).unwrap();
    for r in darlings::classify::ClassRule::ALL {
        assert!(
            doc.contains(&format!("| `{}` |", r.as_str())),
            "docs/explain.md has a row for `{}`",
            r.as_str()
        );
    }
    for kind in [
        "storage-root",
        "config-entry",
        "backing",
        "mount",
        "symlink-chain",
        "etc-static",
        "etc-clean",
        "tmpfiles",
        "dynamic-user",
        "userborn",
        "holds",
    ] {
        assert!(
            doc.contains(&format!("| `{kind}` |")),
            "evidence {kind} documented"
        );
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("darlings explain"), "README lists explain");
}

#[test]
fn completions_and_the_man_page_know_explain() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["man"],
    ] {
        let out = darlings().args(args).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("explain"), "{args:?}");
    }
    let out = darlings().args(["explain", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for opt in [
        "--against",
        "--persistence",
        "--storage",
        "--ignore",
        "--json",
    ] {
        assert!(help.contains(opt), "explain takes {opt}: {help}");
    }
}

#[test]
fn explaining_changes_nothing_in_the_root_not_even_an_atime() {
    let r = nixos_root();
    common::age_atimes(r.f.root());
    let before = common::tree_state(r.f.root());
    for path in [
        "/etc/machine-id",
        "/etc/hosts",
        "/var/lib/nixos/uid-map",
        "/opt/app",
    ] {
        r.explain_json(path);
        darlings()
            .arg("explain")
            .arg(path)
            .arg(r.f.root())
            .args(r.args())
            .assert()
            .success();
    }
    let after = common::tree_state(r.f.root());
    assert_eq!(common::state_diff(&before, &after), Vec::<String>::new());
}

/// A dismissed path names the `--ignore` rule that matched it or one of its
/// directories (the last matching one, as gitignore decides): its file, its
/// line and the pattern as written; a path no rule matches has none.
#[test]
fn a_dismissed_path_names_the_ignore_rule_that_matched() {
    let f = Fixture::new();
    f.file("var/cache/app/blob", "cache")
        .file("var/tmp/a.tmp", "t")
        .file("var/tmp/keep.txt", "k")
        .file("root/notes", "mine");
    let rules = tempfile::tempdir().unwrap();
    let ignore = rules.path().join("my ignore");
    // Line 4 and line 6 both match /var/tmp/a.tmp: the later one decides.
    std::fs::write(
        &ignore,
        "# caches are rebuilt\n/var/cache/\n\n*.tmp\n!/var/tmp/keep.txt\n/var/tmp/*.tmp   \n",
    )
    .unwrap();
    let args = [
        OsStr::new("--ignore").to_owned(),
        ignore.as_os_str().to_owned(),
    ];
    let x = explain_json(f.root(), OsStr::new("/var/cache/app/blob"), &args);
    assert_eq!(x["dismissed"], true);
    assert_eq!(
        x["ignore_rule"],
        serde_json::json!({"file": ignore.to_str().unwrap(), "line": 2, "pattern": "/var/cache/"})
    );
    let x = explain_json(f.root(), OsStr::new("/var/tmp/a.tmp"), &args);
    assert_eq!(x["ignore_rule"]["line"], 6, "{x}");
    assert_eq!(x["ignore_rule"]["pattern"], "/var/tmp/*.tmp");
    // Controls: whitelisted again by `!`, and matched by nothing.
    for p in ["/var/tmp/keep.txt", "/root/notes"] {
        let x = explain_json(f.root(), OsStr::new(p), &args);
        assert_eq!(x["dismissed"], false, "{p}");
        assert_eq!(x["ignore_rule"], Value::Null, "{p}");
    }
    let out = darlings()
        .arg("explain")
        .arg("/var/cache/app/blob")
        .arg(f.root())
        .args(&args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "(dismissed by the --ignore rule '/var/cache/' ({}:2))",
            ignore.display()
        )),
        "{text}"
    );
}

/// The warning on a whitelisted path nothing backs yet says what the next
/// boot does with ROOT's data: a bind-mounted path's is hidden under the
/// mount, a symlink-method path's is deleted by the wipe and replaced by a
/// link (nothing is hidden); once `darlings migrate` has copied it, both say
/// that storage holds a copy instead of asking to move it.
#[test]
fn a_listed_paths_warning_follows_its_method_and_storage_s_copy() {
    let f = Fixture::new();
    f.file("etc/adjtime", "0.0 0 0.0\n")
        .file("etc/machine-id", "0123456789abcdef\n")
        .dir("persist");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("r.nix");
    std::fs::write(
        &cfg,
        r#"{ environment.persistence."/persist".files = [
  { file = "/etc/adjtime"; method = "symlink"; } "/etc/machine-id" ]; }
"#,
    )
    .unwrap();
    let args = [
        OsStr::new("--persistence").to_owned(),
        cfg.as_os_str().to_owned(),
    ];
    let warning = |p: &str| {
        explain_json(f.root(), OsStr::new(p), &args)["warning"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let link = warning("/etc/adjtime");
    assert!(
        link.contains("the wipe deletes it and activation puts a link to storage in its place"),
        "{link}"
    );
    assert!(!link.contains("bind mount"), "{link}");
    // Control: a bind-mounted file's data is hidden by the mount.
    let bind = warning("/etc/machine-id");
    assert!(
        bind.contains("hidden once the bind mount is made"),
        "{bind}"
    );
    let out = darlings()
        .arg("migrate")
        .arg(f.root())
        .args(&args)
        .arg("--yes")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (p, how) in [
        ("/etc/adjtime", "which the next boot links here"),
        ("/etc/machine-id", "which the next boot mounts here"),
    ] {
        let w = warning(p);
        let copy = format!("storage already holds a copy (/persist{p})");
        assert!(w.contains(how) && w.contains(&copy), "{w}");
        assert!(!w.contains("move it to storage"), "{w}");
    }
}
