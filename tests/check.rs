//! `darlings check` (docs/check.md) on a NixOS-like root built in a
//! temporary directory, with real bind mounts and tmpfs mounts made in a
//! private mount namespace: every finding kind planted next to a control
//! case that must not be reported, for an impermanence JSON config and a
//! preservation `.nix` config; a clean root; broken input; and the root left
//! exactly as it was, atimes included.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{Fixture, bind, darlings, darlings_in_mount_ns, is_root, tmpfs};

fn have_unshare() -> bool {
    std::process::Command::new("unshare")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The planted root (see the comments per path for what each case is).
fn planted() -> Fixture {
    let f = Fixture::new();
    let etc = "nix/store/aaa-etc/etc";
    f.file(format!("{etc}/ssh/sshd_config"), "PermitRootLogin no\n")
        .file(format!("{etc}/nix/nix.conf"), "sandbox = true\n")
        .symlink("/nix/store/aaa-etc/etc", "etc/static")
        .symlink("/etc/static/ssh/sshd_config", "etc/ssh/sshd_config")
        // The activation script decrypts secrets with the ssh host key.
        .file(
            "nix/store/bbb-nixos-system/activate",
            "#!/bin/sh\n/nix/store/ccc-sops-install-secrets/bin/sops-install-secrets\n",
        )
        .symlink("/nix/store/bbb-nixos-system", "nix/var/nix/profiles/system")
        .file(
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nbird:x:1000:100::/home/bird:/bin/sh\n",
        )
        .file("etc/group", "root:x:0:\nusers:x:100:\n")
        // hidden-data: data under the bind mount of /var/log ...
        .file("var/log/old.log", "written before the mount")
        .file("persist/var/log/new.log", "persisted")
        // ... and under a tmpfs; an empty directory under a tmpfs (control).
        .file("tmp/junk", "junk")
        .dir("srv")
        // Control: a bind mount over an empty directory.
        .dir("var/lib/bluetooth")
        .file("persist/var/lib/bluetooth/AA:BB/info", "paired")
        // A file bind mount over a non-empty file (hidden-data), and over
        // an empty placeholder (control).
        .file("etc/adjtime", "root's copy\n")
        .file("persist/etc/adjtime", "0.0 0 0\n")
        .file("etc/machine-id", "")
        .file("persist/etc/machine-id", "0123456789abcdef\n")
        // needed-at-boot: the ssh host key, bind-mounted from storage.
        .file("etc/ssh/ssh_host_ed25519_key", "")
        .file("persist/etc/ssh/ssh_host_ed25519_key", "PRIVATE")
        // not-in-storage: listed, not mounted, data on the root; a listed
        // empty directory (control).
        .file("var/lib/nixos/uid-map", "{}")
        .dir("var/lib/empty-listed")
        // replaced-link: persisted as a link, now a file; a link still in
        // place (control).
        .file("var/lib/systemd/random-seed", "new seed")
        .file("persist/var/lib/systemd/random-seed", "old seed")
        .symlink(
            "/persist/var/lib/logrotate.status",
            "var/lib/logrotate.status",
        )
        .file("persist/var/lib/logrotate.status", "logrotate state")
        // shadows-nix: /etc/nix holds NixOS's nix.conf; a directory NixOS
        // does not generate anything in (control).
        .symlink("/etc/static/nix/nix.conf", "etc/nix/nix.conf")
        .file("etc/nix/netrc", "machine cache login x")
        .dir("etc/NetworkManager/system-connections")
        .file(
            "persist/etc/NetworkManager/system-connections/home.nmconnection",
            "[wifi]",
        )
        // home-owner: a path in bird's home listed at system level; one
        // listed under users.bird and one with user = "bird" (controls).
        .dir("home/bird/.ssh")
        .file("persist/home/bird/.ssh/id_ed25519", "KEY")
        .dir("home/bird/.gnupg")
        .file("persist/home/bird/.gnupg/pubring.kbx", "keys")
        // stale-storage: data no entry covers; an empty directory and
        // lost+found (controls).
        .file("persist/var/lib/old-service/db", "rows")
        .dir("persist/var/lib/emptyleft")
        .file("persist/lost+found/#1234", "recovered");
    f
}

/// The mounts of the planted root: what a booted system would show.
fn mounts(f: &Fixture) -> Vec<String> {
    let b = |s: &str, t: &str| bind(&f.path(s), &f.path(t));
    vec![
        b("persist/var/log", "var/log"),
        b("persist/var/lib/bluetooth", "var/lib/bluetooth"),
        b("persist/etc/adjtime", "etc/adjtime"),
        b("persist/etc/machine-id", "etc/machine-id"),
        b(
            "persist/etc/ssh/ssh_host_ed25519_key",
            "etc/ssh/ssh_host_ed25519_key",
        ),
        b(
            "persist/etc/NetworkManager/system-connections",
            "etc/NetworkManager/system-connections",
        ),
        b("persist/home/bird/.ssh", "home/bird/.ssh"),
        b("persist/home/bird/.gnupg", "home/bird/.gnupg"),
        tmpfs(&f.path("tmp")),
        tmpfs(&f.path("srv")),
    ]
}

const IMPERMANENCE: &str = r#"{ "/persist": {
  "persistentStoragePath": "/persist",
  "directories": [ "/var/log", "/var/log/journal", "/var/lib/bluetooth", "/var/lib/nixos",
                   "/var/lib/empty-listed", "/etc/nix", "/etc/NetworkManager/system-connections",
                   "/home/bird/.ssh", { "directory": "/var/lib/bluetooth" }, "/var/lib/bluetoothd",
                   { "directory": "/home/bird/Music", "user": "bird", "group": "users" } ],
  "files": [ "/etc/machine-id", "/etc/adjtime", "/etc/ssh/ssh_host_ed25519_key",
             { "file": "/var/lib/systemd/random-seed", "method": "symlink" },
             { "file": "/var/lib/logrotate.status", "method": "symlink" } ],
  "users": { "bird": { "directories": [ ".gnupg" ] } } } }"#;

const PRESERVATION: &str = r#"{ ... }:
{
  preservation.enable = true;
  preservation.preserveAt."/persist" = {
    directories = [
      "/var/log"
      "/var/log/journal"
      "/var/lib/bluetooth"
      { directory = "/var/lib/bluetooth"; }
      "/var/lib/nixos"
      "/var/lib/empty-listed"
      "/etc/nix"
      "/etc/NetworkManager/system-connections"
      "/home/bird/.ssh"
      "/var/lib/bluetoothd"
    ];
    files = [
      { file = "/etc/machine-id"; inInitrd = true; }
      "/etc/adjtime"
      "/etc/ssh/ssh_host_ed25519_key"
      { file = "/var/lib/systemd/random-seed"; how = "symlink"; inInitrd = true; }
      { file = "/var/lib/logrotate.status"; how = "symlink"; }
    ];
    users.bird.directories = [ ".gnupg" ];
  };
}
"#;

/// Runs `darlings check ROOT --persistence CFG --json` with the mounts and
/// returns (exit code, JSON).
fn check_json(f: &Fixture, mounts: &[String], cfg: &Path) -> (i32, serde_json::Value) {
    let out = darlings_in_mount_ns(
        mounts,
        false,
        &[
            OsStr::new("check"),
            f.root().as_os_str(),
            OsStr::new("--persistence"),
            cfg.as_os_str(),
            OsStr::new("--json"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let code = out.status.code().unwrap();
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    (code, common::json(&out.stdout))
}

/// `darlings check ROOT --persistence CONFIG --json` as the current user,
/// without a mount namespace: its exit code and report.
fn check_offline(f: &Fixture, config: impl AsRef<OsStr>) -> (Option<i32>, serde_json::Value) {
    let out = darlings()
        .arg("check")
        .arg(f.root())
        .arg("--persistence")
        .arg(config)
        .arg("--json")
        .output()
        .unwrap();
    (out.status.code(), common::json(&out.stdout))
}

/// Runs `command` as a user who pastes it does: through a shell that finds
/// `darlings` on PATH; asserts that it succeeds.
fn run_as_pasted(command: &str) {
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_darlings"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The (kind, path) pairs of a check.
fn pairs(r: &serde_json::Value) -> Vec<(String, String)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn finding<'a>(r: &'a serde_json::Value, kind: &str, path: &str) -> &'a serde_json::Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind && f["path"] == path)
        .unwrap_or_else(|| panic!("{kind} on {path} in {:#?}", pairs(r)))
}

/// The findings both formats must give, and the controls neither may.
fn common_expectations(r: &serde_json::Value) {
    let got = pairs(r);
    for (kind, path) in [
        ("hidden-data", "/var/log"),
        ("hidden-data", "/tmp"),
        ("hidden-data", "/etc/adjtime"),
        ("not-in-storage", "/var/lib/nixos"),
        ("not-in-storage", "/etc/nix"),
        ("replaced-link", "/var/lib/systemd/random-seed"),
        ("stale-storage", "/persist/var/lib/old-service"),
        ("shadows-nix", "/etc/nix"),
        ("nested", "/var/log/journal"),
        ("duplicate", "/var/lib/bluetooth"),
        ("home-owner", "/home/bird/.ssh"),
        ("needed-at-boot", "/etc/ssh/ssh_host_ed25519_key"),
    ] {
        assert!(
            got.contains(&(kind.to_string(), path.to_string())),
            "{kind} on {path} expected in {got:#?}"
        );
    }
    // No finding on these, except the duplicate listing of /var/lib/bluetooth.
    let controls = [
        "/var/lib/bluetooth",
        "/srv",
        "/etc/machine-id",
        "/var/lib/empty-listed",
        "/var/lib/logrotate.status",
        "/persist/var/lib/emptyleft",
        "/persist/lost+found",
        "/persist/var/lib/bluetooth",
        "/persist/home",
        "/etc/NetworkManager/system-connections",
        "/home/bird/.gnupg",
        "/home/bird/Music",
        "/var/lib/bluetoothd",
    ];
    for (kind, path) in &got {
        if (kind.as_str(), path.as_str()) == ("duplicate", "/var/lib/bluetooth") {
            continue;
        }
        assert!(
            !controls.contains(&path.as_str()),
            "control case reported: {kind} on {path}"
        );
    }
    // Each kind once per path: the listed duplicate is reported on its second listing only.
    let dup = got.iter().filter(|(k, _)| k == "duplicate").count();
    assert_eq!(dup, 1, "{got:#?}");
    // Only the shadowing entry is reported for shadowing, and only the
    // hidden places for hidden data.
    let hidden: Vec<&str> = got
        .iter()
        .filter(|(k, _)| k == "hidden-data")
        .map(|(_, p)| p.as_str())
        .collect();
    assert_eq!(hidden, ["/etc/adjtime", "/tmp", "/var/log"], "{got:#?}");
    let shadows: Vec<&str> = got
        .iter()
        .filter(|(k, _)| k == "shadows-nix")
        .map(|(_, p)| p.as_str())
        .collect();
    assert_eq!(shadows, ["/etc/nix"]);

    // The details a user acts on.
    let h = finding(r, "hidden-data", "/var/log");
    assert_eq!(h["severity"], "error");
    assert_eq!(h["bytes"], "written before the mount".len());
    let msg = h["message"].as_str().unwrap();
    assert!(
        msg.contains("old.log") && msg.contains("bind mount from /persist/var/log"),
        "{msg}"
    );
    assert!(h["fix"].as_str().unwrap().contains("mount --bind"), "{h}");
    assert!(
        h["entry"]["location"]
            .as_str()
            .unwrap()
            .ends_with(".directories[0]"),
        "{h}"
    );
    let s = finding(r, "stale-storage", "/persist/var/lib/old-service");
    assert_eq!(s["severity"], "warning");
    assert_eq!(s["bytes"], 4);
    assert!(s["entry"].is_null());
    let sh = finding(r, "shadows-nix", "/etc/nix");
    assert!(sh["message"].as_str().unwrap().contains("nix.conf"), "{sh}");
    assert!(
        sh["fix"].as_str().unwrap().contains("\"/etc/nix/netrc\""),
        "{sh}"
    );
    let rl = finding(r, "replaced-link", "/var/lib/systemd/random-seed");
    assert_eq!(rl["bytes"], "new seed".len());
    assert!(
        rl["fix"]
            .as_str()
            .unwrap()
            .contains("ln -s /persist/var/lib/systemd/random-seed"),
        "{rl}"
    );
    let ho = finding(r, "home-owner", "/home/bird/.ssh");
    let fix = ho["fix"].as_str().unwrap();
    assert!(
        fix.contains("users.bird.directories = [ \".ssh\" ]"),
        "{fix}"
    );
    assert!(
        ho["message"]
            .as_str()
            .unwrap()
            .contains("owned by root already"),
        "{ho}"
    );
    let nb = finding(r, "needed-at-boot", "/etc/ssh/ssh_host_ed25519_key");
    assert!(nb["message"].as_str().unwrap().contains("sops-nix"), "{nb}");
    assert!(
        nb["fix"]
            .as_str()
            .unwrap()
            .contains("sops.age.sshKeyPaths = [ \"/persist/etc/ssh/ssh_host_ed25519_key\" ]"),
        "{nb}"
    );
    // Errors come first.
    let sev: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert!(
        sev.windows(2)
            .all(|w| !(w[0] == "warning" && w[1] == "error")),
        "{sev:?}"
    );
}

#[test]
fn impermanence_config_every_kind_and_its_control() {
    skip_unless!(
        is_root() && have_unshare(),
        "needs root and unshare for mounts"
    );
    let f = planted();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("impermanence.json");
    std::fs::write(&cfg, IMPERMANENCE).unwrap();
    common::age_atimes(f.root());
    let before = common::tree_state(f.root());
    let (code, r) = check_json(&f, &mounts(&f), &cfg);
    assert_eq!(code, 1, "errors found: exit 1");
    assert_eq!(r["schema"], "darlings-check/1");
    assert_eq!(r["root"], f.root().to_str().unwrap());
    assert_eq!(
        r["skipped"].as_array().unwrap().len(),
        0,
        "{}",
        r["skipped"]
    );
    common_expectations(&r);
    let got = pairs(&r);
    // impermanence bind-mounts /var/lib/nixos in the initrd and handles the
    // machine id itself: no needed-at-boot on either.
    assert_eq!(
        got.iter().filter(|(k, _)| k == "needed-at-boot").count(),
        1,
        "{got:#?}"
    );
    let e = &finding(&r, "duplicate", "/var/lib/bluetooth")["entry"];
    assert_eq!(e["file"], cfg.to_str().unwrap());
    assert_eq!(
        e["location"],
        "environment.persistence.\"/persist\".directories[8]"
    );
    assert_eq!(
        r["counts"]["errors"],
        got.iter()
            .filter(|(k, _)| [
                "hidden-data",
                "not-in-storage",
                "replaced-link",
                "shadows-nix",
                "nested"
            ]
            .contains(&k.as_str()))
            .count()
    );
    let changed = common::state_diff(&before, &common::tree_state(f.root()));
    assert!(
        changed.is_empty(),
        "the check changed the root: {changed:#?}"
    );
}

#[test]
fn preservation_config_every_kind_and_its_control() {
    skip_unless!(
        is_root() && have_unshare(),
        "needs root and unshare for mounts"
    );
    let f = planted();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("preservation.nix");
    std::fs::write(&cfg, PRESERVATION).unwrap();
    common::age_atimes(f.root());
    let before = common::tree_state(f.root());
    let (code, r) = check_json(&f, &mounts(&f), &cfg);
    assert_eq!(code, 1);
    common_expectations(&r);
    // preservation sets up /var/lib/nixos at preservation.target unless
    // inInitrd = true; /etc/machine-id has it (control).
    let nb = finding(&r, "needed-at-boot", "/var/lib/nixos");
    assert!(
        nb["fix"].as_str().unwrap().contains("inInitrd = true"),
        "{nb}"
    );
    assert_eq!(
        nb["entry"]["location"],
        "preservation.preserveAt.\"/persist\".directories[4]"
    );
    let got = pairs(&r);
    assert!(!got.contains(&("needed-at-boot".into(), "/etc/machine-id".into())));
    assert_eq!(
        finding(&r, "duplicate", "/var/lib/bluetooth")["entry"]["location"],
        "preservation.preserveAt.\"/persist\".directories[3]"
    );
    let rl = finding(&r, "replaced-link", "/var/lib/systemd/random-seed");
    assert!(
        rl["fix"].as_str().unwrap().contains("how = \"bindmount\""),
        "{rl}"
    );
    let ho = finding(&r, "home-owner", "/home/bird/.ssh");
    assert!(
        ho["fix"]
            .as_str()
            .unwrap()
            .contains("preservation.preserveAt.\"/persist\".users.bird"),
        "{ho}"
    );
    let changed = common::state_diff(&before, &common::tree_state(f.root()));
    assert!(
        changed.is_empty(),
        "the check changed the root: {changed:#?}"
    );
}

#[test]
fn human_output_names_each_finding_its_entry_and_fix() {
    skip_unless!(
        is_root() && have_unshare(),
        "needs root and unshare for mounts"
    );
    let f = planted();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("persist.json");
    std::fs::write(&cfg, IMPERMANENCE).unwrap();
    let out = darlings_in_mount_ns(
        &mounts(&f),
        false,
        &[
            OsStr::new("check"),
            f.root().as_os_str(),
            OsStr::new("--persistence"),
            cfg.as_os_str(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let hidden = format!(
        "error   hidden-data     /var/log  ({} B)",
        "written before the mount".len()
    );
    assert!(text.contains(&hidden), "{text}");
    assert!(
        text.contains("        entry: environment.persistence.\"/persist\".directories[0] in"),
        "{text}"
    );
    assert!(
        text.contains("        fix: see it through a bind mount of ROOT alone"),
        "{text}"
    );
    assert!(
        text.contains("warning stale-storage   /persist/var/lib/old-service  (4 B)"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("8 errors, 4 warnings."), "{text}");
}

/// A root whose whitelist is right: mounts over empty directories, the data
/// in storage, nothing else in storage.
#[test]
fn a_clean_root_exits_0_with_no_findings() {
    skip_unless!(
        is_root() && have_unshare(),
        "needs root and unshare for mounts"
    );
    let f = Fixture::new();
    f.dir("var/log")
        .file("persist/var/log/new.log", "persisted")
        .file("etc/machine-id", "")
        .file("persist/etc/machine-id", "id\n")
        .symlink("/persist/etc/adjtime", "etc/adjtime")
        .file("persist/etc/adjtime", "0.0 0 0\n")
        .dir("tmp");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ "/var/log" ], "files": [ "/etc/machine-id", { "file": "/etc/adjtime", "method": "symlink" } ] } }"#,
    )
    .unwrap();
    let m = vec![
        bind(&f.path("persist/var/log"), &f.path("var/log")),
        bind(&f.path("persist/etc/machine-id"), &f.path("etc/machine-id")),
        tmpfs(&f.path("tmp")),
    ];
    let (code, r) = check_json(&f, &m, &cfg);
    assert_eq!(pairs(&r), Vec::<(String, String)>::new());
    assert_eq!(code, 0);
    let out = darlings_in_mount_ns(
        &m,
        false,
        &[
            OsStr::new("check"),
            f.root().as_os_str(),
            OsStr::new("--persistence"),
            cfg.as_os_str(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No problems found"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Warnings alone do not fail the gate.
#[test]
fn warnings_alone_exit_0() {
    let f = Fixture::new();
    f.file("persist/var/lib/old data/db", "rows")
        .dir("persist/var/lib/kept");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ "/var/lib/kept", "/var/lib/kept" ] } }"#,
    )
    .unwrap();
    let out = darlings()
        .arg("check")
        .arg(f.root())
        .arg("--persistence")
        .arg(&cfg)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = common::json(&out.stdout);
    assert_eq!(
        pairs(&r),
        [
            (
                "stale-storage".to_string(),
                "/persist/var/lib/old data".to_string()
            ),
            ("duplicate".to_string(), "/var/lib/kept".to_string())
        ]
    );
    assert_eq!(r["counts"]["warnings"], 2);
    // Paths in the fix's commands are shell words.
    let fix = finding(&r, "stale-storage", "/persist/var/lib/old data")["fix"]
        .as_str()
        .unwrap()
        .to_string();
    let quoted = format!("`rm -r '{}/persist/var/lib/old data'`", f.root().display());
    assert!(fix.contains(&quoted), "{fix}");
}

/// The check reads the evidence the audit gathered for the same configs;
/// given other configs (or none), it gathers the evidence for those.
#[test]
fn the_check_reads_the_audits_evidence_or_gathers_its_own() {
    let f = Fixture::new();
    f.file("var/lib/nixos/uid-map", "{}")
        .file("var/lib/kept/state", "rows");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = |name: &str, dir: &str| {
        let p = cfg_dir.path().join(name);
        std::fs::write(
            &p,
            format!(r#"{{ "/persist": {{ "directories": [ "{dir}" ] }} }}"#),
        )
        .unwrap();
        p
    };
    let (a, b) = (
        cfg("a.json", "/var/lib/nixos"),
        cfg("b.json", "/var/lib/kept"),
    );
    let audit_and_config = |files: &[&Path]| {
        let args = darlings::cli::ScanArgs {
            against: "empty".into(),
            persistence: files.iter().map(|p| p.to_path_buf()).collect(),
            threads: Some(1),
            ..Default::default()
        };
        let (opts, config) = darlings::settings::audit_and_config(Some(f.root()), &args).unwrap();
        let audit = darlings::audit::run(&opts, &darlings::scan::Progress::default()).unwrap();
        (audit, config)
    };
    let not_in_storage = |c: &darlings::check::Checked| -> Vec<String> {
        c.findings
            .iter()
            .filter(|f| f.kind == darlings::check::Kind::NotInStorage)
            .map(|f| String::from_utf8_lossy(&f.path).into_owned())
            .collect()
    };
    let (audit, config_a) = audit_and_config(&[&a]);
    assert_eq!(audit.evidence().configured, 1);
    let with_a = darlings::check::run(&audit, &config_a).unwrap();
    assert_eq!(not_in_storage(&with_a), ["/var/lib/nixos"]);
    let (audit_b, config_b) = audit_and_config(&[&b]);
    let on_own = darlings::check::run(&audit_b, &config_b).unwrap();
    let on_other = darlings::check::run(&audit, &config_b).unwrap();
    assert_eq!(not_in_storage(&on_other), ["/var/lib/kept"]);
    assert_eq!(on_other, on_own);
    let without = darlings::check::run(&audit, &[]).unwrap();
    assert!(not_in_storage(&without).is_empty(), "{without:?}");
}

/// Without a config, a mount unit that is not mounted yet and a tmpfiles
/// link into storage that a program replaced: the fixes name the storage
/// path the unit's What= and the rule's target give.
#[test]
fn live_listings_name_their_storage_path_in_the_fix() {
    let f = Fixture::new();
    f.file(
        "etc/systemd/system/var-lib-foo.mount",
        "[Mount]\nWhat=/persist/data/foo\nWhere=/var/lib/foo\nType=none\nOptions=bind\n",
    )
    .file("var/lib/foo/db", "rows on the root")
    .dir("persist/data/foo")
    .file(
        "etc/tmpfiles.d/preservation.conf",
        "L+ /var/lib/systemd/random-seed - - - - /persist/seeds/random-seed\n",
    )
    .file("var/lib/systemd/random-seed", "a file now")
    .file("persist/seeds/random-seed", "old seed");
    let out = darlings()
        .arg("check")
        .arg(f.root())
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = common::json(&out.stdout);
    let root = f.root().display().to_string();
    let fix = finding(&r, "not-in-storage", "/var/lib/foo")["fix"]
        .as_str()
        .unwrap();
    assert!(fix.contains(&format!("{root}/persist/data/foo/")), "{fix}");
    let fix = finding(&r, "replaced-link", "/var/lib/systemd/random-seed")["fix"]
        .as_str()
        .unwrap();
    assert!(fix.contains("ln -s /persist/seeds/random-seed "), "{fix}");
}

#[test]
fn broken_input_exits_2_naming_the_problem() {
    let f = Fixture::new();
    f.dir("etc");
    let cfg_dir = tempfile::tempdir().unwrap();
    let bad = cfg_dir.path().join("bad.json");
    std::fs::write(&bad, r#"{ "/persist": { "directories": [ 42 ] } }"#).unwrap();
    let out = darlings()
        .arg("check")
        .arg(f.root())
        .arg("--persistence")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("directories[0]"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no partial output");
    darlings()
        .arg("check")
        .arg(f.path("missing-root"))
        .assert()
        .code(2);
    darlings()
        .args(["check", "--against", "/nonexistent-baseline"])
        .arg(f.root())
        .assert()
        .code(2);
}

/// Without the privilege to clone ROOT's mount, hidden data is not looked
/// for, and the check says so instead of failing.
#[test]
fn unprivileged_the_hidden_data_check_is_skipped_with_a_note() {
    skip_unless!(
        is_root() && have_unshare(),
        "needs root to mount, then drops to nobody"
    );
    let f = Fixture::new();
    f.file("var/log/old.log", "hidden")
        .file("persist/var/log/new.log", "persisted");
    // nobody must be able to read the root and the config.
    f.chmod(".", 0o755);
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(&cfg, r#"{ "/persist": { "directories": [ "/var/log" ] } }"#).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(cfg_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let m = vec![bind(&f.path("persist/var/log"), &f.path("var/log"))];
    let args = [
        OsStr::new("check"),
        f.root().as_os_str(),
        OsStr::new("--persistence"),
        cfg.as_os_str(),
        OsStr::new("--json"),
    ];
    let out = darlings_in_mount_ns(&m, true, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = common::json(&out.stdout);
    assert_eq!(r["skipped"][0]["kind"], "hidden-data");
    assert!(
        r["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("needs root"),
        "{r}"
    );
    // As root, the same root has the finding.
    let out = darlings_in_mount_ns(&m, false, &args);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        pairs(&common::json(&out.stdout)),
        [("hidden-data".to_string(), "/var/log".to_string())]
    );
}

/// Without --persistence, the whitelist is what the live system shows:
/// bind mounts from storage (from a storage root nested in another one
/// too) and links into storage cover their data, so they are not stale.
#[test]
fn without_a_config_the_live_system_is_the_whitelist() {
    skip_unless!(
        is_root() && have_unshare(),
        "needs root and unshare for mounts"
    );
    let f = Fixture::new();
    f.file("var/log/old.log", "hidden")
        .file("persist/var/log/new.log", "persisted")
        .dir("var/cache/fwupd")
        .file("persist/cache/var/cache/fwupd/meta", "m")
        .symlink("/persist/etc/adjtime", "etc/adjtime")
        .file("persist/etc/adjtime", "0.0 0 0\n")
        // impermanence took the link branch for the machine id.
        .symlink("/persist/etc/machine-id", "etc/machine-id")
        .file("persist/etc/machine-id", "id\n")
        .file("persist/var/lib/old/db", "rows");
    let m = vec![
        bind(&f.path("persist/var/log"), &f.path("var/log")),
        bind(
            &f.path("persist/cache/var/cache/fwupd"),
            &f.path("var/cache/fwupd"),
        ),
    ];
    let run = || {
        let out = darlings_in_mount_ns(
            &m,
            false,
            &[
                OsStr::new("check"),
                f.root().as_os_str(),
                OsStr::new("--json"),
            ],
        );
        (out.status.code(), common::json(&out.stdout))
    };
    let (code, r) = run();
    assert_eq!(code, Some(1));
    assert_eq!(
        pairs(&r),
        [
            ("hidden-data".to_string(), "/var/log".to_string()),
            ("needed-at-boot".to_string(), "/etc/machine-id".to_string()),
            (
                "stale-storage".to_string(),
                "/persist/var/lib/old".to_string()
            ),
        ]
    );
    assert!(finding(&r, "hidden-data", "/var/log")["entry"].is_null());
    // On a preservation system the link may come from the initrd's own
    // tmpfiles rules, which the root does not show: no warning then.
    f.file("etc/tmpfiles.d/preservation.conf", "# no links\n");
    let (_, r) = run();
    assert!(
        !pairs(&r).iter().any(|(k, _)| k == "needed-at-boot"),
        "{:#?}",
        pairs(&r)
    );
}

/// `summary` and `report` show the check's findings: the report as the very
/// objects `check --json` prints, the summary in its own section.
#[test]
fn summary_and_report_show_the_same_findings() {
    let f = Fixture::new();
    f.file("persist/var/lib/old/db", "rows")
        .file("var/lib/nixos/uid-map", "{}")
        .dir("var/lib/empty")
        .dir("persist/var/lib/kept");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ "/var/lib/kept", "/var/lib/nixos", "/var/lib/empty" ] } }"#,
    )
    .unwrap();
    let run = |cmd: &str, extra: &[&str]| {
        darlings()
            .arg(cmd)
            .arg(f.root())
            .arg("--persistence")
            .arg(&cfg)
            .args(extra)
            .output()
            .unwrap()
    };
    let check = run("check", &["--json"]);
    assert_eq!(check.status.code(), Some(1));
    let check = common::json(&check.stdout);
    assert_eq!(
        pairs(&check),
        [
            ("not-in-storage".to_string(), "/var/lib/nixos".to_string()),
            (
                "stale-storage".to_string(),
                "/persist/var/lib/old".to_string()
            ),
        ]
    );
    let report = common::report(f.root(), &["--persistence", cfg.to_str().unwrap()]);
    assert_eq!(report["findings"], check["findings"]);
    assert_eq!(report["findings_skipped"], check["skipped"]);
    let summary = run("summary", &[]);
    assert_eq!(summary.status.code(), Some(0), "the summary is no gate");
    let text = String::from_utf8(summary.stdout).unwrap();
    assert!(
        text.contains("Problems with the whitelist: 1 error, 1 warning"),
        "{text}"
    );
    assert!(
        text.contains("  error   not-in-storage  /var/lib/nixos  (2 B)"),
        "{text}"
    );
    assert!(
        text.contains("First: fix the problems with the whitelist"),
        "{text}"
    );
    // Each problem once: the finding, not also the evidence's warning about
    // the same path, and the report keeps both lists. A listed empty
    // directory holds nothing to lose: no finding, and no warning either
    // (it said "its data sits on the root … move it first").
    assert!(!text.contains("/var/lib/nixos is listed in"), "{text}");
    assert!(!text.contains("/var/lib/empty is listed in"), "{text}");
    let warned = |path: &str| {
        report["warnings"].as_array().unwrap().iter().any(|w| {
            w.as_str()
                .unwrap()
                .starts_with(&format!("{path} is listed in"))
        })
    };
    assert!(
        warned("/var/lib/nixos") && !warned("/var/lib/empty"),
        "{report}"
    );
    let verdict_warning = |path: &str| {
        report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == path)
            .map(|e| e["warning"].clone())
    };
    assert!(
        verdict_warning("/var/lib/nixos").is_some_and(|w| w.is_string()),
        "{report}"
    );
    assert_eq!(
        verdict_warning("/var/lib/empty"),
        Some(serde_json::Value::Null)
    );
    // A finding the summary does not print leaves its warning in place.
    let summary = run("summary", &["--top", "0"]);
    let text = String::from_utf8(summary.stdout).unwrap();
    assert!(text.contains("/var/lib/nixos is listed in"), "{text}");
}

/// A directory home-manager links files into, persisted whole: its links
/// are found on the root and in the user's home-manager generation; the
/// fix lists what holds state, never a directory holding a link.
#[test]
fn a_home_manager_directory_persisted_whole_shadows_its_links() {
    let f = Fixture::new();
    let hm = "nix/store/xyz-home-manager-files";
    f.file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nbird:x:1000:100::/home/bird:/bin/sh\n",
    )
    .file(format!("{hm}/.config/git/config"), "[user]\n")
    .file(format!("{hm}/.config/starship.toml"), "")
    .symlink(
        format!("/{hm}"),
        "nix/store/abc-home-manager-generation/home-files",
    )
    .symlink(
        "/nix/store/abc-home-manager-generation",
        "home/bird/.local/state/nix/profiles/home-manager",
    )
    .symlink(
        format!("/{hm}/.config/git/config"),
        "home/bird/.config/git/config",
    )
    .file("home/bird/.config/app/state", "kept")
    .file("home/bird/.local/share/app/db", "kept");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "users": { "bird": { "directories": [ ".config", ".local/share/app" ] } } } }"#,
    )
    .unwrap();
    let out = darlings()
        .arg("check")
        .arg(f.root())
        .arg("--persistence")
        .arg(&cfg)
        .arg("--json")
        .output()
        .unwrap();
    let r = common::json(&out.stdout);
    let shadows: Vec<(String, String)> = pairs(&r)
        .into_iter()
        .filter(|(k, _)| k == "shadows-nix")
        .collect();
    assert_eq!(
        shadows,
        [("shadows-nix".to_string(), "/home/bird/.config".to_string())]
    );
    let s = finding(&r, "shadows-nix", "/home/bird/.config");
    let msg = s["message"].as_str().unwrap();
    assert!(
        msg.contains("home-manager") && msg.contains("starship.toml"),
        "{msg}"
    );
    let fix = s["fix"].as_str().unwrap();
    assert!(
        fix.contains("directories = [ \"/home/bird/.config/app\" ]"),
        "{fix}"
    );
    assert!(!fix.contains("/home/bird/.config/git"), "{fix}");
}

/// The not-in-storage fix is a `darlings migrate` command that does what it
/// says: run by a shell exactly as printed, the data is in storage and the
/// check is clean.
#[test]
fn the_not_in_storage_fix_runs_as_given_and_clears_the_finding() {
    let f = Fixture::new();
    f.file("var/lib/nixos/uid-map", "{\"alice\": 1000}")
        .file("var/lib/nixos/gid-map", "{}")
        .dir("persist");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ "/var/lib/nixos" ] } }"#,
    )
    .unwrap();
    let run_check = || check_offline(&f, &cfg);
    let (code, r) = run_check();
    assert_eq!(code, Some(1));
    let fix = finding(&r, "not-in-storage", "/var/lib/nixos")["fix"]
        .as_str()
        .unwrap()
        .to_string();
    let command = fix.split('`').nth(1).unwrap();
    let expected = format!(
        "darlings migrate {} /var/lib/nixos --persistence={} --yes",
        f.root().display(),
        cfg.display()
    );
    assert_eq!(command, expected, "{fix}");
    run_as_pasted(command);
    assert_eq!(
        std::fs::read(f.path("persist/var/lib/nixos/uid-map")).unwrap(),
        b"{\"alice\": 1000}"
    );
    let (code, r) = run_check();
    assert_eq!(pairs(&r), Vec::<(String, String)>::new());
    assert_eq!(code, Some(0));
    // The summary no longer asks to move data that storage holds.
    let out = darlings()
        .arg("summary")
        .arg(f.root())
        .arg("--persistence")
        .arg(&cfg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("move it to"), "{text}");
    assert!(
        text.contains("the next boot shows storage's copy"),
        "{text}"
    );
    // Control: once ROOT's copy differs from storage's (written after the
    // migration), the boot would hide the newer data: reported again.
    std::fs::write(f.path("var/lib/nixos/uid-map"), "{\"alice\": 1001}").unwrap();
    let (code, r) = run_check();
    assert_eq!(
        pairs(&r),
        [("not-in-storage".to_string(), "/var/lib/nixos".to_string())]
    );
    assert_eq!(code, Some(1));
}

/// A root never set up for persistence (nothing in storage, no baseline with
/// the link): a path persisted by symlink that is a regular file on ROOT is
/// data still to copy (not-in-storage), not a "replaced link" whose fix
/// would offer to delete the only copy.
#[test]
fn a_symlink_entry_on_a_root_never_set_up_is_not_in_storage_not_replaced() {
    let f = Fixture::new();
    f.file("etc/adjtime", "0.0 0 0\n0\nUTC\n").dir("persist");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "files": [ { "file": "/etc/adjtime", "method": "symlink" } ] } }"#,
    )
    .unwrap();
    let (_, r) = check_offline(&f, &cfg);
    assert_eq!(
        pairs(&r),
        [("not-in-storage".to_string(), "/etc/adjtime".to_string())]
    );
    let fix = finding(&r, "not-in-storage", "/etc/adjtime")["fix"]
        .as_str()
        .unwrap();
    assert!(!fix.contains("rm "), "{fix}");
    // Storage holds another copy, and nothing says the whitelist was ever
    // active (no link into storage, no mount from it): the link was never
    // made, so the two copies are to compare, not a link to restore.
    f.file("persist/etc/adjtime", "0.0 0 0\n0\nLOCAL\n");
    let (code, r) = check_offline(&f, &cfg);
    assert_eq!(
        pairs(&r),
        [("not-in-storage".to_string(), "/etc/adjtime".to_string())]
    );
    assert_eq!(code, Some(1));
    let fix = finding(&r, "not-in-storage", "/etc/adjtime")["fix"]
        .as_str()
        .unwrap();
    assert!(fix.starts_with("compare "), "{fix}");
    assert!(!fix.contains("rm "), "{fix}");
    // Control: once the system uses this storage (a link into it, as
    // impermanence makes at boot), a regular file at the path means a
    // program replaced the link; the advice never says to persist /etc whole.
    f.file("persist/var/lib/logrotate.status", "logrotate state\n")
        .symlink(
            "/persist/var/lib/logrotate.status",
            "var/lib/logrotate.status",
        );
    let (code, r) = check_offline(&f, &cfg);
    assert_eq!(
        pairs(&r),
        [("replaced-link".to_string(), "/etc/adjtime".to_string())]
    );
    assert_eq!(code, Some(1));
    let fix = finding(&r, "replaced-link", "/etc/adjtime")["fix"]
        .as_str()
        .unwrap();
    assert!(!fix.contains("persist the directory"), "{fix}");
}

/// `darlings migrate ROOT --persistence CONFIG --yes`, asserted to succeed.
fn migrate(f: &Fixture, config: &Path) {
    let out = darlings()
        .arg("migrate")
        .arg(f.root())
        .arg("--persistence")
        .arg(config)
        .arg("--yes")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A file kept by `method = "symlink"` on a root checked before its first
/// boot with the whitelist (the new-user journey): not-in-storage until
/// `darlings migrate` copies it, then clean with exit 0, as a bind-mounted
/// path is. No link was ever there, so nothing was "replaced". Once ROOT's
/// copy differs from storage's it is reported again, as not-in-storage.
#[test]
fn a_symlink_entry_migrated_before_its_first_boot_is_clean() {
    let f = Fixture::new();
    f.file("etc/adjtime", "0.0 0 0.0\n").dir("persist");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("r.nix");
    std::fs::write(
        &cfg,
        "{ environment.persistence.\"/persist\".files = [ { file = \"/etc/adjtime\"; method = \"symlink\"; } ]; }\n",
    )
    .unwrap();
    let (code, r) = check_offline(&f, &cfg);
    assert_eq!(
        pairs(&r),
        [("not-in-storage".to_string(), "/etc/adjtime".to_string())]
    );
    assert_eq!(code, Some(1));
    // A link hides nothing: the wipe deletes ROOT's copy.
    let message = finding(&r, "not-in-storage", "/etc/adjtime")["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("the wipe at the next boot deletes before the link into storage is made"),
        "{message}"
    );
    assert!(!message.contains("under the mount"), "{message}");
    migrate(&f, &cfg);
    assert_eq!(
        std::fs::read(f.path("persist/etc/adjtime")).unwrap(),
        b"0.0 0 0.0\n"
    );
    let (code, r) = check_offline(&f, &cfg);
    assert_eq!(pairs(&r), Vec::<(String, String)>::new());
    assert_eq!(code, Some(0));
    // Control: ROOT's copy written after the migration is reported again
    // (the boot would show storage's older copy), with a compare, no rm.
    f.file("etc/adjtime", "0.5 0 0.0\n");
    let (code, r) = check_offline(&f, &cfg);
    assert_eq!(
        pairs(&r),
        [("not-in-storage".to_string(), "/etc/adjtime".to_string())]
    );
    assert_eq!(code, Some(1));
    let fix = finding(&r, "not-in-storage", "/etc/adjtime")["fix"]
        .as_str()
        .unwrap();
    assert!(!fix.contains("rm "), "{fix}");
}

/// The same journey on the real impermanence export
/// (tests/data/vectors/exports/impermanence-nixos-head.json), whose
/// `/etc/adjtime` and alice's `.config/monitors.xml` use `method =
/// "symlink"`: clean after `darlings migrate`. Control: once the module has
/// made /etc/adjtime's link (the whitelist is live) and a program then
/// replaced the link of monitors.xml by a newer file, that is replaced-link.
#[test]
fn the_real_exports_symlink_files_after_migrate_and_a_real_replaced_link() {
    let export = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vectors/exports/impermanence-nixos-head.json");
    let f = Fixture::new();
    f.file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
    )
    .file("etc/group", "root:x:0:\nusers:x:100:\n")
    .file("etc/adjtime", "0.0 0 0.0\n0\nUTC\n")
    .file(
        "home/alice/.config/monitors.xml",
        "<monitors version=\"2\"/>\n",
    )
    .dir("persist/cache");
    let (code, r) = check_offline(&f, &export);
    assert_eq!(
        pairs(&r),
        [
            ("not-in-storage".to_string(), "/etc/adjtime".to_string()),
            (
                "not-in-storage".to_string(),
                "/home/alice/.config/monitors.xml".to_string()
            ),
        ]
    );
    assert_eq!(code, Some(1));
    migrate(&f, &export);
    let (code, r) = check_offline(&f, &export);
    assert_eq!(pairs(&r), Vec::<(String, String)>::new());
    assert_eq!(code, Some(0));
    // The boot: the wipe, then the module's link for /etc/adjtime; then a
    // program saves monitors.xml by renaming a new file over its link.
    std::fs::remove_file(f.path("etc/adjtime")).unwrap();
    f.symlink("/persist/etc/adjtime", "etc/adjtime").file(
        "home/alice/.config/monitors.xml",
        "<monitors version=\"3\"/>\n",
    );
    let (code, r) = check_offline(&f, &export);
    assert_eq!(
        pairs(&r),
        [(
            "replaced-link".to_string(),
            "/home/alice/.config/monitors.xml".to_string()
        )]
    );
    assert_eq!(code, Some(1));
}

/// The migrate command of a not-in-storage fix passes the `--persistence`
/// arguments on as given: a Home Manager export named `USER=FILE`, in a
/// directory whose name needs quoting, migrates into that user's storage.
#[test]
fn the_not_in_storage_fix_keeps_a_user_prefixed_persistence_argument() {
    let f = Fixture::new();
    f.file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
    )
    .file("home/alice/.ssh/id_ed25519", "KEY")
    .dir("persist");
    let cfg_dir = tempfile::tempdir().unwrap();
    let dir = cfg_dir.path().join("my configs");
    std::fs::create_dir(&dir).unwrap();
    let cfg = dir.join("alice.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ { "directory": ".ssh", "dirPath": "/home/alice/.ssh", "home": "/home/alice", "user": "alice", "group": null, "mode": "0700", "persistentStoragePath": "/persist" } ], "files": [] } }"#,
    )
    .unwrap();
    let arg = format!("alice={}", cfg.display());
    let (code, r) = check_offline(&f, &arg);
    assert_eq!(code, Some(1), "{r}");
    let fix = finding(&r, "not-in-storage", "/home/alice/.ssh")["fix"]
        .as_str()
        .unwrap()
        .to_string();
    let command = fix.split('`').nth(1).unwrap();
    assert!(
        command.contains(&format!("'--persistence={arg}'")),
        "{command}"
    );
    run_as_pasted(command);
    assert_eq!(
        std::fs::read(f.path("persist/home/alice/.ssh/id_ed25519")).unwrap(),
        b"KEY"
    );
    let (code, r) = check_offline(&f, &arg);
    assert_eq!(code, Some(0), "{r}");
}

/// With only a Home Manager export given (one file per user), storage outside
/// that user's home is not judged stale (the system's entries are not known):
/// a note says so, and stale data inside the home is still found.
#[test]
fn home_manager_configs_alone_judge_only_their_homes_storage() {
    let f = Fixture::new();
    f.file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
    )
    .file("persist/etc/machine-id", "0123\n")
    .file("persist/var/lib/nixos/uid-map", "{}")
    .file("persist/home/alice/.ssh/id_ed25519", "KEY")
    .file("persist/home/alice/old-project/notes", "kept once")
    .dir("home/alice/.ssh");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("alice.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ { "directory": ".ssh", "dirPath": "/home/alice/.ssh", "home": "/home/alice", "user": "alice", "group": null, "mode": "0700", "persistentStoragePath": "/persist" } ], "files": [] } }"#,
    )
    .unwrap();
    let (_, r) = check_offline(&f, format!("alice={}", cfg.display()));
    let stale: Vec<(String, String)> = pairs(&r)
        .into_iter()
        .filter(|(k, _)| k == "stale-storage")
        .collect();
    assert_eq!(
        stale,
        [(
            "stale-storage".to_string(),
            "/persist/home/alice/old-project".to_string()
        )],
        "{r}"
    );
    assert!(
        r["skipped"].as_array().unwrap().iter().any(|s| s["reason"]
            .as_str()
            .unwrap()
            .contains("only Home Manager configs")),
        "{r}"
    );
}

/// A listed path the scan cannot read (a 0700 directory, checked as another
/// user) is named as not checked, not passed as clean.
#[test]
fn a_listed_path_that_cannot_be_read_is_named_as_not_checked() {
    skip_unless!(is_root() && have_unshare(), "needs root to drop to nobody");
    let f = Fixture::new();
    f.file("home/alice/.ssh/id_ed25519", "KEY").dir("persist");
    f.chmod(".", 0o755);
    f.chmod("home/alice/.ssh", 0o700);
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ "/home/alice/.ssh" ] } }"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(cfg_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let args = [
        OsStr::new("check"),
        f.root().as_os_str(),
        OsStr::new("--persistence"),
        cfg.as_os_str(),
        OsStr::new("--json"),
    ];
    let out = darlings_in_mount_ns(&[], true, &args);
    let r = common::json(&out.stdout);
    let skipped = r["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["kind"] == "not-in-storage"
            && s["reason"]
                .as_str()
                .unwrap()
                .contains("/home/alice/.ssh could not be read")),
        "{r}"
    );
    // As root it is read, and found not in storage.
    let out = darlings_in_mount_ns(&[], false, &args);
    assert_eq!(
        pairs(&common::json(&out.stdout)),
        [("not-in-storage".to_string(), "/home/alice/.ssh".to_string())]
    );
}

/// A directory listed under `files` (or a file under `directories`): the
/// mount fails at boot. Reported with the entry to move, not a copy command.
#[test]
fn an_entry_of_the_wrong_kind_says_to_move_it_to_the_right_list() {
    let f = Fixture::new();
    f.file("var/lib/app/db", "rows")
        .file("etc/adjtime", "0.0 0 0\n")
        .dir("persist");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ "/etc/adjtime" ], "files": [ "/var/lib/app" ] } }"#,
    )
    .unwrap();
    let (_, r) = check_offline(&f, &cfg);
    let app = finding(&r, "not-in-storage", "/var/lib/app");
    assert!(
        app["message"]
            .as_str()
            .unwrap()
            .contains("listed as a file, but it is a directory"),
        "{app}"
    );
    assert!(
        app["fix"].as_str().unwrap().contains("directories list"),
        "{app}"
    );
    let adj = finding(&r, "not-in-storage", "/etc/adjtime");
    assert!(
        adj["message"]
            .as_str()
            .unwrap()
            .contains("listed as a directory, but it is a file"),
        "{adj}"
    );
    assert!(adj["fix"].as_str().unwrap().contains("files list"), "{adj}");
}

/// On btrfs, the usual erase-your-darlings layout (ROOT and storage as
/// subvolumes of one file system), a bind mount from the storage subvolume
/// is recognised: statx gives each subvolume an anonymous device of its
/// own, mountinfo names the file system's, and matching the one against
/// the other made the live /var/log "not backed yet", its storage "stale"
/// (with an `rm -r` of live data as the fix), and the whitelist unknown.
#[test]
fn btrfs_bind_mounts_from_a_storage_subvolume_are_recognised() {
    let tool = |t: &str| {
        std::process::Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    skip_unless!(
        is_root()
            && have_unshare()
            && tool("mkfs.btrfs")
            && tool("btrfs")
            && Path::new("/dev/loop-control").exists(),
        "needs root, unshare, btrfs-progs and loop devices"
    );
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("img");
    let top = tmp.path().join("top");
    std::fs::create_dir(&top).unwrap();
    let ok = |c: &mut std::process::Command| assert!(c.status().unwrap().success(), "{c:?}");
    ok(std::process::Command::new("truncate")
        .args(["-s", "300M"])
        .arg(&img));
    ok(std::process::Command::new("mkfs.btrfs").arg("-q").arg(&img));
    let (t, i) = (top.display(), img.display());
    let mount = format!("mount -o loop '{i}' '{t}'");
    // Made once: the subvolumes and their files stay in the image.
    let made = darlings_in_mount_ns(
        &[
            mount.clone(),
            format!("btrfs -q subvolume create '{t}/root'"),
            format!("btrfs -q subvolume create '{t}/persist'"),
            format!("mkdir -p '{t}/root/persist' '{t}/root/var/log' '{t}/persist/var/log'"),
            format!("echo old > '{t}/root/var/log/hidden.log'"),
            format!("echo live > '{t}/persist/var/log/live.log'"),
        ],
        false,
        &[OsStr::new("--version")],
    );
    assert!(made.status.success(), "{made:?}");
    let root = top.join("root");
    let live = [
        mount,
        bind(&top.join("persist"), &root.join("persist")),
        bind(&top.join("persist/var/log"), &root.join("var/log")),
    ];
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ "/var/log" ], "files": [] } }"#,
    )
    .unwrap();
    let run = |args: &[&OsStr]| {
        let out = darlings_in_mount_ns(&live, false, args);
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        common::json(&out.stdout)
    };
    let (c, r) = (OsStr::new("check"), root.as_os_str());
    for given in [
        vec![
            c,
            r,
            OsStr::new("--persistence"),
            cfg.as_os_str(),
            OsStr::new("--json"),
        ],
        // Without a config: the whitelist read off the live mounts.
        vec![c, r, OsStr::new("--json")],
    ] {
        let got = run(&given);
        assert_eq!(
            pairs(&got),
            [("hidden-data".to_string(), "/var/log".to_string())],
            "only the file under the mount, no stale storage: {got}"
        );
        let msg = finding(&got, "hidden-data", "/var/log")["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(msg.contains("bind mount from /persist/var/log"), "{msg}");
        assert!(
            !got["skipped"].to_string().contains("no whitelist"),
            "{got}"
        );
    }
    // A config that does not list /var/log: its storage is still in use by
    // the live mount, not stale (the fix would have been `rm -r` of it).
    let other = cfg_dir.path().join("other.json");
    std::fs::write(
        &other,
        r#"{ "/persist": { "directories": [ "/var/lib/x" ], "files": [] } }"#,
    )
    .unwrap();
    let got = run(&[
        c,
        r,
        OsStr::new("--persistence"),
        other.as_os_str(),
        OsStr::new("--json"),
    ]);
    assert!(
        !pairs(&got).iter().any(|(k, _)| k == "stale-storage"),
        "{got}"
    );
    let report = run(&[
        OsStr::new("report"),
        r,
        OsStr::new("--persistence"),
        cfg.as_os_str(),
    ]);
    let log = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "/var/log")
        .expect("/var/log reported")
        .clone();
    assert_eq!(log["class"], "persisted", "{log}");
    assert!(
        log["reason"]
            .as_str()
            .unwrap()
            .contains("bind mount from /persist/var/log"),
        "{log}"
    );
    // The namespaces took their mounts with them, and their loop devices.
    let left = std::process::Command::new("losetup")
        .arg("-j")
        .arg(&img)
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "{left:?}");
}

/// A name with a control character reads the same in a finding's heading,
/// its message and its fix: the message is composed from escaped names, and
/// escaping it again showed `weird\\nname` under a heading of `weird\nname`.
#[test]
fn an_escaped_name_is_escaped_once_in_the_text_output() {
    let f = Fixture::new();
    f.file("home/alice/weird\nname", "x").dir("persist");
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [], "files": [ "/home/alice/weird\nname" ] } }"#,
    )
    .unwrap();
    let out = darlings()
        .arg("check")
        .arg(f.root())
        .arg("--persistence")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not-in-storage  /home/alice/weird\\nname"),
        "{text}"
    );
    assert!(
        text.contains("storage: /home/alice/weird\\nname here is"),
        "{text}"
    );
    assert!(!text.contains("weird\\\\nname"), "{text}");
    assert!(text.contains("$'/home/alice/weird\\x0aname'"), "{text}");
}
