//! Classification on a NixOS-like root built in a temporary directory
//! (docs/report-schema.md `class`, docs/knowledge-base.md): every path's class,
//! reason and advice, one test per rule.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{Fixture, darlings, entry};

/// A small NixOS root: store paths, /etc/static links, a copied /etc file
/// listed in .clean, home-manager links, an out-of-store link, storage with
/// a symlink-persisted file, a mount unit, whitelisted-but-unmigrated data,
/// and stray state of many kinds.
fn nixos_root() -> Fixture {
    let f = Fixture::new();
    let etc = "nix/store/aaa-etc/etc";
    f.file(format!("{etc}/hosts"), "127.0.0.1 localhost\n")
        .file(format!("{etc}/ssh/sshd_config"), "PermitRootLogin no\n")
        .file(format!("{etc}/sudoers"), "root ALL=(ALL) ALL\n")
        .file(
            format!("{etc}/systemd/system/var-lib-bluetooth.mount"),
            "[Mount]\nWhat=/persist/var/lib/bluetooth\nWhere=/var/lib/bluetooth\nType=none\nOptions=bind\n",
        )
        .file(
            format!("{etc}/tmpfiles.d/preservation.conf"),
            "'L+' '/var/lib/systemd/random-seed' - - - - /persist/var/lib/systemd/random-seed\n",
        )
        .file("nix/store/bbb-bash/bin/sh", "#!")
        .file("nix/store/ccc-home-manager-files/.config/git/config", "[user]\n")
        // mkOutOfStoreSymlink: a store path that is a link back out of the store.
        .symlink("/home/alice/dotfiles/vimrc", "nix/store/ddd-hm_vimrc")
        .symlink("/nix/store/ddd-hm_vimrc", "nix/store/ccc-home-manager-files/.vimrc")
        .symlink("/nix/store/aaa-etc/etc", "etc/static")
        .symlink("/etc/static/hosts", "etc/hosts")
        .symlink("/etc/static/ssh/sshd_config", "etc/ssh/sshd_config")
        .symlink("/etc/static/systemd/system", "etc/systemd/system")
        .symlink("/etc/static/tmpfiles.d", "etc/tmpfiles.d")
        .file("etc/sudoers", "root ALL=(ALL) ALL\n")
        .file("etc/.clean", "sudoers\n")
        .file("etc/NIXOS", "")
        .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
        .file("etc/ssh/ssh_host_ed25519_key", "PRIVATE")
        .chmod("etc/ssh/ssh_host_ed25519_key", 0o600)
        .file("etc/machine-id", "0123456789abcdef\n")
        .file("etc/nixos/configuration.nix", "{ }\n")
        .symlink("/persist/etc/adjtime", "etc/adjtime")
        .file("persist/etc/adjtime", "0.0 0 0\n")
        .file("persist/var/lib/bluetooth/AA:BB/info", "paired")
        .file("persist/var/lib/systemd/random-seed", "seed")
        .symlink("/persist/var/lib/systemd/random-seed", "var/lib/systemd/random-seed")
        .symlink("/nix/store/bbb-bash/bin/sh", "bin/sh")
        .symlink("/nix/store/eee-coreutils/bin/env", "usr/bin/env")
        .symlink(
            "/nix/store/ccc-home-manager-files/.config/git/config",
            "home/alice/.config/git/config",
        )
        .symlink("/nix/store/ccc-home-manager-files/.vimrc", "home/alice/.vimrc")
        .symlink("/nix/store/ddd-hm_vimrc", "home/alice/.exrc")
        .file("home/alice/dotfiles/vimrc", "set nocompatible\n")
        .file("home/alice/.ssh/id_ed25519", "KEY")
        .file("home/alice/.cache/thumbnails/x.png", "png")
        .file("home/alice/.bash_history", "ls\n")
        .file("var/lib/nixos/uid-map", "{}")
        .file("var/lib/docker/volumes/db/data", "rows")
        .file("var/lib/bluetooth/AA:BB/info", "paired-on-root")
        .file("var/cache/nix/x", "cache")
        .file("var/log/journal/abc/system.journal", "log")
        .file("var/lib/unknown-service/state", "?")
        .dir("var/empty")
        .symlink("/proc/mounts", "etc/mtab")
        .symlink("loop-b", "etc/loop-a")
        .symlink("loop-a", "etc/loop-b");
    f
}

fn report(f: &Fixture, extra: &[&str]) -> serde_json::Value {
    common::report(f.root(), extra)
}

/// Asserts class, a fragment of the reason, and the advice of one path.
fn check(r: &serde_json::Value, path: &str, class: &str, reason: &str, advice: Option<&str>) {
    let e = entry(r, path).unwrap_or_else(|| panic!("{path} is listed"));
    assert_eq!(e["class"], class, "{path}: class ({e})");
    let got = e["reason"].as_str().unwrap();
    assert!(
        got.contains(reason),
        "{path}: reason '{got}' names '{reason}'"
    );
    match advice {
        Some(a) => assert_eq!(e["advice"], a, "{path}: advice ({e})"),
        None => assert!(e["advice"].is_null(), "{path}: no advice ({e})"),
    }
}

#[test]
fn nix_store_and_links_into_it_are_nix_managed() {
    let f = nixos_root();
    let r = report(&f, &[]);
    check(&r, "/nix", "nix-managed", "Nix store", None);
    check(
        &r,
        "/nix/store/bbb-bash/bin/sh",
        "nix-managed",
        "under /nix",
        None,
    );
    check(
        &r,
        "/etc/hosts",
        "nix-managed",
        "symlink into /nix/store via /etc/static",
        None,
    );
    check(
        &r,
        "/bin/sh",
        "nix-managed",
        "symlink into /nix/store",
        None,
    );
    check(&r, "/usr/bin/env", "nix-managed", "target missing", None);
    check(
        &r,
        "/home/alice/.config/git/config",
        "nix-managed",
        "home-manager link",
        None,
    );
}

#[test]
fn home_manager_links_are_recreated_even_out_of_the_store() {
    let f = nixos_root();
    let r = report(&f, &[]);
    // ~/.vimrc → …-home-manager-files/.vimrc → …-hm_vimrc → ~/dotfiles/vimrc:
    // home-manager recreates the link at every activation; only the target
    // (the user's own file) is at stake.
    check(
        &r,
        "/home/alice/.vimrc",
        "nix-managed",
        "home-manager link, recreated at every activation; it leads out of the store to /home/alice/dotfiles/vimrc",
        None,
    );
    check(
        &r,
        "/home/alice/dotfiles/vimrc",
        "stray",
        "no rule matched",
        Some("review"),
    );
    // The same store path linked by hand: nothing recreates that link.
    check(
        &r,
        "/home/alice/.exrc",
        "stray",
        "symlink through /nix/store to /home/alice/dotfiles/vimrc, which nothing recreates",
        Some("review"),
    );
}

#[test]
fn etc_rules_static_clean_and_regenerated_artefacts() {
    let f = nixos_root();
    let r = report(&f, &[]);
    check(
        &r,
        "/etc/sudoers",
        "nix-managed",
        "listed in /etc/.clean",
        None,
    );
    check(&r, "/etc/ssh", "nix-managed", "environment.etc", None);
    check(&r, "/etc/NIXOS", "nix-managed", "activation", None);
    // No generation says users.mutableUsers = false: NixOS's default
    // (mutable) holds, and passwd's changes live only here.
    check(
        &r,
        "/etc/passwd",
        "stray",
        "no users-groups.json",
        Some("review"),
    );
    check(
        &r,
        "/etc/.clean",
        "nix-managed",
        "rewritten by activation",
        None,
    );
    check(&r, "/etc/mtab", "nix-managed", "/proc/mounts", None);
    check(
        &r,
        "/etc/static",
        "nix-managed",
        "symlink into /nix/store",
        None,
    );
    check(&r, "/var/empty", "nix-managed", "activation", None);
}

#[test]
fn identity_state_is_stray_with_advice_persist() {
    let f = nixos_root();
    let r = report(&f, &[]);
    check(
        &r,
        "/etc/ssh/ssh_host_ed25519_key",
        "stray",
        "no rule matched",
        Some("persist"),
    );
    check(
        &r,
        "/etc/machine-id",
        "stray",
        "no rule matched",
        Some("persist"),
    );
    check(
        &r,
        "/var/lib/nixos",
        "stray",
        "no rule matched",
        Some("persist"),
    );
    check(
        &r,
        "/var/lib/nixos/uid-map",
        "stray",
        "no rule matched",
        Some("persist"),
    );
    let key = entry(&r, "/etc/ssh/ssh_host_ed25519_key").unwrap();
    assert!(
        key["advice_reason"]
            .as_str()
            .unwrap()
            .contains("not /etc/ssh"),
        "host keys come with the special handling: {key}"
    );
}

#[test]
fn knowledge_base_advice_for_common_state() {
    let f = nixos_root();
    let r = report(&f, &[]);
    check(&r, "/home/alice/.ssh", "stray", "no rule", Some("persist"));
    check(
        &r,
        "/home/alice/.cache",
        "stray",
        "no rule",
        Some("ephemeral"),
    );
    check(
        &r,
        "/var/cache/nix/x",
        "stray",
        "no rule",
        Some("ephemeral"),
    );
    check(
        &r,
        "/var/lib/docker/volumes/db/data",
        "stray",
        "no rule",
        Some("persist"),
    );
    check(
        &r,
        "/var/log/journal/abc/system.journal",
        "stray",
        "no rule",
        Some("persist"),
    );
    check(
        &r,
        "/var/lib/unknown-service/state",
        "stray",
        "no rule matched",
        Some("review"),
    );
}

#[test]
fn storage_and_symlinks_into_it_are_persisted() {
    let f = nixos_root();
    let r = report(&f, &[]);
    check(
        &r,
        "/persist",
        "persisted",
        "persistent storage /persist",
        None,
    );
    check(
        &r,
        "/persist/etc/adjtime",
        "persisted",
        "inside persistent storage",
        None,
    );
    check(
        &r,
        "/etc/adjtime",
        "persisted",
        "symlink into persistent storage /persist",
        None,
    );
    check(
        &r,
        "/var/lib/systemd/random-seed",
        "persisted",
        "/persist/var/lib/systemd/random-seed",
        None,
    );
}

/// `--storage` adds a storage root to the configs' own, and a location
/// that lists nothing (`"/persist-games" = { }`) is a storage root too.
#[test]
fn storage_adds_to_the_config_s_roots_and_an_empty_location_is_one() {
    let f = nixos_root();
    f.file("persist-games/steam/library.vdf", "games")
        .file("mnt/extra/data.bin", "extra");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "directories": [ "/var/lib/nixos" ] }, "/persist-games": { } }"#,
    )
    .unwrap();
    let r = report(
        &f,
        &[
            "--persistence",
            cfg.to_str().unwrap(),
            "--storage",
            "/mnt/extra",
        ],
    );
    check(
        &r,
        "/persist-games",
        "persisted",
        "persistent storage /persist-games",
        None,
    );
    check(
        &r,
        "/persist",
        "persisted",
        "persistent storage /persist",
        None,
    );
    check(
        &r,
        "/mnt/extra",
        "persisted",
        "persistent storage /mnt/extra",
        None,
    );
    check(&r, "/var/lib/nixos", "persisted", "listed in", None);
}

#[test]
fn a_mount_unit_lists_a_path_and_unmigrated_data_gets_a_warning() {
    let f = nixos_root();
    let r = report(&f, &[]);
    // The unit says /var/lib/bluetooth is bind-mounted from storage, but here it is
    // a plain directory on the root: persisted, with the `warning` of docs/report-schema.md.
    check(
        &r,
        "/var/lib/bluetooth",
        "persisted",
        "mount unit var-lib-bluetooth.mount",
        None,
    );
    let e = entry(&r, "/var/lib/bluetooth").unwrap();
    assert!(e["warning"].as_str().unwrap().contains("not backed"), "{e}");
    check(
        &r,
        "/var/lib/bluetooth/AA:BB/info",
        "persisted",
        "not mounted yet",
        None,
    );
    let warnings = r["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("/var/lib/bluetooth is listed")),
        "{warnings:?}"
    );
}

#[test]
fn a_real_bind_mount_from_storage_is_persisted() {
    skip_unless!(common::is_root(), "bind mounts need root");
    let f = nixos_root();
    let r = common::report_with_binds(
        f.root(),
        &[(
            f.path("persist/var/lib/bluetooth"),
            f.path("var/lib/bluetooth"),
        )],
        &[],
    );
    check(
        &r,
        "/var/lib/bluetooth",
        "persisted",
        "bind mount from /persist/var/lib/bluetooth",
        None,
    );
    let e = entry(&r, "/var/lib/bluetooth").unwrap();
    assert!(e["warning"].is_null(), "mounted: no warning ({e})");
    assert!(!e["mount"].is_null());
    assert!(
        entry(&r, "/var/lib/bluetooth/AA:BB/info").is_none(),
        "not descended"
    );
}

#[test]
fn directories_holding_kept_paths_are_nix_managed() {
    let f = nixos_root();
    let r = report(&f, &[]);
    check(
        &r,
        "/home/alice",
        "nix-managed",
        "holds persisted or Nix-managed",
        None,
    );
    check(
        &r,
        "/var/lib/systemd",
        "nix-managed",
        "holds persisted or Nix-managed",
        None,
    );
    check(&r, "/var", "nix-managed", "created at every boot", None);
}

#[test]
fn symlink_loops_are_stray_and_not_followed() {
    let f = nixos_root();
    let r = report(&f, &[]);
    check(&r, "/etc/loop-a", "stray", "symlink loop", None);
}

#[test]
fn ignore_rules_dismiss_stray_paths_only() {
    let f = nixos_root();
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        rules.path(),
        "/home/*/.bash_history\n/var/cache\n/etc/hosts\n",
    )
    .unwrap();
    let r = report(&f, &["--ignore", rules.path().to_str().unwrap()]);
    assert_eq!(
        entry(&r, "/home/alice/.bash_history").unwrap()["dismissed"],
        true
    );
    assert_eq!(entry(&r, "/var/cache/nix/x").unwrap()["dismissed"], true);
    assert_eq!(
        entry(&r, "/var/cache/nix/x").unwrap()["class"],
        "stray",
        "dismissed is still stray"
    );
    assert_eq!(
        entry(&r, "/etc/hosts").unwrap()["dismissed"],
        false,
        "only stray paths are dismissed"
    );
    assert_eq!(
        entry(&r, "/home/alice/.ssh/id_ed25519").unwrap()["dismissed"],
        false
    );
    let sugg: Vec<&str> = r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert!(
        !sugg.contains(&"/var/cache"),
        "dismissed paths are not suggested: {sugg:?}"
    );
    // A broken rule file is bad input.
    std::fs::write(rules.path(), "/var/[z-a\n").unwrap();
    darlings()
        .arg("report")
        .arg(f.root())
        .arg("--ignore")
        .arg(rules.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("line 1"));
}

#[test]
fn suggestions_are_a_minimal_cover_split_by_advice() {
    let f = nixos_root();
    let r = report(&f, &[]);
    let sugg: Vec<&str> = r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    for want in [
        "/etc/machine-id",
        "/etc/ssh/ssh_host_ed25519_key",
        "/home/alice/.ssh",
        "/var/lib/docker",
        "/var/lib/nixos",
        "/var/log",
    ] {
        assert!(sugg.contains(&want), "{want} suggested: {sugg:?}");
    }
    assert!(
        !sugg.contains(&"/etc/ssh"),
        "/etc/ssh holds Nix-managed files: never suggested"
    );
    assert!(
        !sugg.contains(&"/var/lib/nixos/uid-map"),
        "covered by /var/lib/nixos"
    );
    let mut sorted = sugg.clone();
    sorted.sort();
    assert_eq!(sugg, sorted, "suggestions in path order");
    let docker = r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == "/var/lib/docker")
        .unwrap();
    assert_eq!(docker["advice"], "persist");
    assert_eq!(docker["entries"], 4);
    assert_eq!(docker["bytes"], 4);
}

#[test]
fn summary_reads_as_advice() {
    let f = nixos_root();
    let out = darlings().arg("summary").arg(f.root()).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    eprintln!("{text}"); // what a user reads (shown with --nocapture)
    assert!(text.contains("/var/lib/nixos"), "{text}");
    assert!(text.contains("uid/gid"), "{text}");
    // Listed but not backed: said once, as the check's finding with its fix.
    assert!(
        text.contains("not-in-storage  /var/lib/bluetooth"),
        "{text}"
    );
    assert!(text.contains("darlings tui"), "{text}");
}

/// The same whitelist in every format `--persistence` reads.
const SAME_WHITELIST: &[(&str, &str)] = &[
    (
        "impermanence.json",
        r#"{ "main": { "enable": true, "persistentStoragePath": "/persist", "hideMounts": true,
            "directories": [
              { "directory": "/var/log", "dirPath": "/var/log", "home": null, "user": "root", "group": "root", "mode": "0755", "persistentStoragePath": "/persist" },
              { "directory": "/var/lib/nixos", "dirPath": "/var/lib/nixos", "home": null, "user": "root", "group": "root", "mode": "0755", "persistentStoragePath": "/persist" } ],
            "files": [ { "file": "/etc/machine-id", "filePath": "/etc/machine-id", "home": null, "method": "auto", "persistentStoragePath": "/persist" } ],
            "users": { "alice": {
              "directories": [ { "directory": ".ssh", "dirPath": "/home/alice/.ssh", "home": "/home/alice", "user": "alice", "group": "users", "mode": "0700", "persistentStoragePath": "/persist" } ],
              "files": [] } } } }"#,
    ),
    (
        "impermanence-v1.json",
        r#"{ "/persist": { "directories": [ "/var/log", "/var/lib/nixos" ], "files": [ "/etc/machine-id" ],
            "users": { "alice": { "home": "/home/alice", "directories": [ { "directory": ".ssh", "mode": "0700" } ] } } } }"#,
    ),
    (
        "preservation.json",
        r#"{ "/persist": { "persistentStoragePath": "/persist", "commonMountOptions": [],
            "directories": [ { "directory": "/var/log", "how": "bindmount" }, { "directory": "/var/lib/nixos", "how": "bindmount", "inInitrd": true } ],
            "files": [ { "file": "/etc/machine-id", "how": "bindmount", "inInitrd": true } ],
            "users": { "alice": { "username": "alice", "home": "/home/alice",
              "directories": [ { "directory": "/home/alice/.ssh", "how": "bindmount", "mode": "0700" },
                               { "directory": "/home/alice", "how": "_intermediate" } ], "files": [] } } } }"#,
    ),
    (
        "persist.nix",
        r#"# Written by darlings; safe to edit. Import it from your configuration.
        {
          environment.persistence."/persist" = {
            directories = [ "/var/lib/nixos" "/var/log" ];
            files = [ "/etc/machine-id" ];
            users.alice.directories = [ { directory = ".ssh"; mode = "0700"; } ];
          };
        }"#,
    ),
    (
        "preserve.nix",
        r#"{
          preservation.preserveAt."/persist" = {
            directories = [ "/var/lib/nixos" "/var/log" ];
            files = [ { file = "/etc/machine-id"; inInitrd = true; } ];
            users.alice.directories = [ { directory = ".ssh"; mode = "0700"; } ];
          };
        }"#,
    ),
];

/// (path, class, has no warning) of one report entry.
type Verdict = (String, String, bool);

#[test]
fn every_config_format_gives_the_same_verdicts() {
    let f = nixos_root();
    let dir = tempfile::tempdir().unwrap();
    let mut verdicts: Vec<(String, Vec<Verdict>)> = Vec::new();
    for (name, text) in SAME_WHITELIST {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let r = report(&f, &["--persistence", p.to_str().unwrap()]);
        for path in [
            "/var/log/journal/abc/system.journal",
            "/var/lib/nixos/uid-map",
            "/etc/machine-id",
            "/home/alice/.ssh/id_ed25519",
        ] {
            let e = entry(&r, path).unwrap();
            assert_eq!(
                e["class"], "persisted",
                "{name}: {path} is whitelisted: {e}"
            );
        }
        for path in [
            "/var/log",
            "/var/lib/nixos",
            "/etc/machine-id",
            "/home/alice/.ssh",
        ] {
            let e = entry(&r, path).unwrap();
            assert!(
                e["reason"].as_str().unwrap().starts_with("listed in"),
                "{name}: {e}"
            );
            assert!(
                !e["warning"].is_null(),
                "{name}: listed but not mounted: {e}"
            );
        }
        let row: Vec<Verdict> = r["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap().to_string(),
                    e["class"].as_str().unwrap().to_string(),
                    e["warning"].is_null(),
                )
            })
            .collect();
        verdicts.push((name.to_string(), row));
    }
    for (name, row) in &verdicts[1..] {
        assert_eq!(
            row, &verdicts[0].1,
            "{name} gives the verdicts of {}",
            verdicts[0].0
        );
    }
}

#[test]
fn a_broken_persistence_config_is_bad_input_naming_the_entry() {
    let f = nixos_root();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.json");
    std::fs::write(
        &p,
        r#"{ "/persist": { "directories": [ "/ok", "relative/path" ] } }"#,
    )
    .unwrap();
    darlings()
        .arg("report")
        .arg(f.root())
        .arg("--persistence")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("broken.json"))
        .stderr(predicates::str::contains("directories[1]"));
    std::fs::write(&p, "{ not json").unwrap();
    darlings()
        .arg("report")
        .arg(f.root())
        .arg("--persistence")
        .arg(&p)
        .assert()
        .code(2);
}

#[test]
fn single_file_bind_mounts_and_mounts_not_listed_in_the_config() {
    skip_unless!(common::is_root(), "bind mounts need root");
    let f = nixos_root();
    f.file("persist/etc/machine-id", "persisted-id\n")
        .file("persist/var/lib/iwd/net.psk", "psk")
        .dir("var/lib/iwd");
    let cfg = f.path("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "/persist": { "files": [ "/etc/machine-id" ] } }"#,
    )
    .unwrap();
    let r = common::report_with_binds(
        f.root(),
        &[
            (f.path("persist/etc/machine-id"), f.path("etc/machine-id")),
            (f.path("persist/var/lib/iwd"), f.path("var/lib/iwd")),
        ],
        &["--persistence", cfg.to_str().unwrap()],
    );
    check(
        &r,
        "/etc/machine-id",
        "persisted",
        "bind mount from /persist/etc/machine-id",
        None,
    );
    check(
        &r,
        "/var/lib/iwd",
        "persisted",
        "bind mount from /persist/var/lib/iwd",
        None,
    );
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w
                .contains("/var/lib/iwd is bind-mounted from /persist/var/lib/iwd but not listed")),
        "mounted but not listed: {warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("/etc/machine-id")),
        "listed and mounted: no warning: {warnings:?}"
    );
}

#[test]
fn overlay_etc_upper_layer_is_stray_for_review() {
    let f = nixos_root();
    f.file(".rw-etc/upper/hostname", "edited\n")
        .dir(".rw-etc/work");
    let r = report(&f, &[]);
    check(
        &r,
        "/.rw-etc/upper/hostname",
        "stray",
        "no rule matched",
        Some("review"),
    );
}

/// A `.nix` whitelist's `users.NAME` lists are relative to that user's home
/// as the scanned root's `/etc/passwd` gives it, not `/home/NAME`.
#[test]
fn users_entries_of_a_nix_whitelist_use_the_home_from_the_root_s_passwd() {
    let f = Fixture::new();
    f.file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nbob:x:1001:100::/srv/bob:/bin/sh\n",
    )
    .file("srv/bob/.ssh/id_ed25519", "KEY")
    .file("srv/bob/notes.txt", "notes")
    .file("home/bob/.ssh/decoy", "not bob's home");
    let dir = tempfile::tempdir().unwrap();
    let wl = dir.path().join("persist.nix");
    std::fs::write(
        &wl,
        "{\n  environment.persistence.\"/persist\" = {\n    users.bob.directories = [ \".ssh\" ];\n  };\n}\n",
    )
    .unwrap();
    let r = report(&f, &["--persistence", wl.to_str().unwrap()]);
    check(&r, "/srv/bob/.ssh", "persisted", "listed in", None);
    check(&r, "/srv/bob/.ssh/id_ed25519", "persisted", "", None);
    let decoy = entry(&r, "/home/bob/.ssh").unwrap();
    assert_eq!(
        decoy["class"], "stray",
        "/home/bob is not bob's home: {decoy}"
    );
}

/// A Home Manager export from before impermanence's rewrite whose location
/// does not end with the home: `--persistence USER=FILE` says whose it is,
/// and the home comes from the root's passwd.
#[test]
fn a_home_manager_export_is_given_its_user_on_the_command_line() {
    let f = Fixture::new();
    f.file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nbob:x:1001:100::/srv/bob:/bin/sh\n",
    )
    .file("srv/bob/projects/plan.txt", "plan")
    .file("srv/bob/notes.txt", "notes");
    let dir = tempfile::tempdir().unwrap();
    let hm = dir.path().join("hm-bob.json");
    std::fs::write(
        &hm,
        r#"{ "/persist/bob-data": { "allowOther": false, "removePrefixDirectory": false, "enable": true,
             "persistentStoragePath": "/persist/bob-data", "directories": [ "projects" ], "files": [ ] } }"#,
    )
    .unwrap();
    darlings()
        .arg("report")
        .arg(f.root())
        .arg("--persistence")
        .arg(&hm)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--persistence USER=FILE"));
    let arg = format!("bob={}", hm.display());
    let r = report(&f, &["--persistence", &arg]);
    check(&r, "/srv/bob/projects", "persisted", "listed in", None);
    check(&r, "/srv/bob/notes.txt", "stray", "", Some("review"));
}
