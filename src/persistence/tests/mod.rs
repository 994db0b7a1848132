//! Tests of the whitelist reader against the real module outputs in
//! `tests/data/vectors` and hand-written inputs in every dialect.

use super::*;

fn vector(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vectors")
        .join(rel)
}

/// (path, storage, is_file, how): what a classifier needs of an entry.
type Key = (String, String, bool, How);

fn keys(w: &Whitelist) -> Vec<Key> {
    let mut k: Vec<Key> = w
        .entries
        .iter()
        .map(|e| {
            (
                e.path.display().to_string(),
                e.storage.display().to_string(),
                e.is_file,
                e.how,
            )
        })
        .collect();
    k.sort();
    k
}

fn key(path: &str, storage: &str, is_file: bool, how: How) -> Key {
    (path.into(), storage.into(), is_file, how)
}

fn entry<'a>(w: &'a Whitelist, path: &str) -> &'a WhitelistEntry {
    w.entries
        .iter()
        .find(|e| e.path == Path::new(path))
        .unwrap_or_else(|| panic!("{path} missing from {:#?}", w.entries))
}

fn parse_str(text: &str, name: &str) -> Result<Whitelist> {
    parse(text, Path::new(name), &LoadOptions::default())
}

fn bad_input(text: &str, name: &str) -> String {
    match parse_str(text, name) {
        Err(e @ Error::BadInput { .. }) => e.to_string(),
        other => panic!("expected BadInput, got {other:?}"),
    }
}

const B: How = How::BindMount;
const S: How = How::Symlink;

#[test]
fn impermanence_desktop_vector() {
    let w = load(&vector("impermanence/desktop.json")).expect("vector loads");
    assert_eq!(
        keys(&w),
        vec![
            key("/etc/machine-id", "/persist", true, B),
            key("/etc/nix/id_rsa", "/persist", true, B),
            key("/home/alice/.screenrc", "/persist", true, B),
            key("/home/alice/.ssh", "/persist", false, B),
            key("/home/alice/Documents", "/persist", false, B),
            key("/var/lib/colord", "/persist", false, B),
            key("/var/lib/nixos", "/persist", false, B),
            key("/var/log", "/persist", false, B),
        ]
    );
    assert_eq!(w.storage_roots, vec![PathBuf::from("/persist")]);
    let colord = entry(&w, "/var/lib/colord");
    assert_eq!(colord.user.as_deref(), Some("colord"));
    assert_eq!(colord.group.as_deref(), Some("colord"));
    assert_eq!(colord.mode.as_deref(), Some("u=rwx,g=rx,o="));
    assert_eq!(colord.home, None);
    let ssh = entry(&w, "/home/alice/.ssh");
    assert_eq!(ssh.mode.as_deref(), Some("0700"));
    assert_eq!(
        ssh.home,
        Some(UserHome {
            name: "alice".into(),
            dir: "/home/alice".into()
        })
    );
    assert!(
        ssh.origin
            .starts_with("environment.persistence.\"/persist\".users.alice.directories[1] in "),
        "{}",
        ssh.origin
    );
    assert!(ssh.origin.ends_with("desktop.json"), "{}", ssh.origin);
}

#[test]
fn impermanence_server_vector_with_two_locations_and_a_home_outside_home() {
    let w = load(&vector("impermanence/server.json")).expect("vector loads");
    assert_eq!(
        keys(&w),
        vec![
            key("/etc/machine-id", "/nix/persist", true, B),
            key("/etc/ssh/ssh_host_ed25519_key", "/nix/persist", true, B),
            key("/etc/ssh/ssh_host_ed25519_key.pub", "/nix/persist", true, B),
            key("/srv/deploy/.ssh", "/nix/persist", false, B),
            key("/srv/deploy/releases", "/nix/persist", false, B),
            key("/var/lib/acme", "/nix/persist", false, B),
            key("/var/lib/nixos", "/nix/persist", false, B),
            key("/var/lib/postgresql", "/nix/persist", false, B),
            key("/var/lib/private", "/nix/persist", false, B),
            key("/var/log", "/state/logs", false, B),
        ]
    );
    assert_eq!(
        w.storage_roots,
        vec![PathBuf::from("/nix/persist"), PathBuf::from("/state/logs")]
    );
    assert_eq!(entry(&w, "/var/lib/acme").mode.as_deref(), Some("0750"));
    assert_eq!(
        entry(&w, "/srv/deploy/releases")
            .home
            .as_ref()
            .map(|h| h.dir.clone()),
        Some("/srv/deploy".into())
    );
}

#[test]
fn preservation_desktop_vector() {
    let w = load(&vector("preservation/desktop.json")).expect("vector loads");
    assert_eq!(
        keys(&w),
        vec![
            key("/etc/machine-id", "/persistent", true, S),
            key("/etc/ssh/ssh_host_ed25519_key", "/persistent", true, S),
            key("/home/alice/.histfile", "/persistent", true, B),
            key("/home/alice/.ssh", "/persistent", false, B),
            key("/home/alice/Documents", "/persistent", false, B),
            key("/var/lib/colord", "/persistent", false, B),
            key("/var/lib/nixos", "/persistent", false, B),
            key("/var/log", "/persistent", false, B),
        ]
    );
    let histfile = entry(&w, "/home/alice/.histfile");
    assert_eq!(histfile.user.as_deref(), Some("alice"));
    assert_eq!(histfile.mode.as_deref(), Some("0644"));
    assert!(
        histfile
            .origin
            .starts_with("preservation.preserveAt.\"/persistent\".users.alice.files[0]")
    );
}

#[test]
fn nix_sources_of_the_vectors_read_like_their_evaluated_json() {
    let deploy = LoadOptions {
        homes: vec![UserHome {
            name: "deploy".into(),
            dir: "/srv/deploy".into(),
        }],
        home_manager_user: None,
    };
    for (name, opts) in [
        ("impermanence/desktop", LoadOptions::default()),
        ("impermanence/server", deploy),
        ("preservation/desktop", LoadOptions::default()),
    ] {
        let from_nix = load_with(&vector(&format!("{name}.nix")), &opts).expect("nix loads");
        let from_json = load(&vector(&format!("{name}.json"))).expect("json loads");
        assert_eq!(keys(&from_nix), keys(&from_json), "{name}");
        assert_eq!(from_nix.storage_roots, from_json.storage_roots, "{name}");
    }
    // What the .nix says explicitly is kept; defaults are not invented.
    let w = load(&vector("impermanence/desktop.nix")).expect("loads");
    assert_eq!(
        entry(&w, "/var/lib/colord").mode.as_deref(),
        Some("u=rwx,g=rx,o=")
    );
    assert_eq!(entry(&w, "/var/log").user, None);
}

/// The same whitelist, as every supported input spells it.
const SAME: &[(&str, &str)] = &[
    (
        "impermanence-strings.json",
        r#"{ "/persist": {
            "directories": [ "/var/lib/nixos", { "directory": "/var/lib/colord", "user": "colord", "mode": "0700" } ],
            "files": [ "/etc/machine-id" ],
            "users": { "alice": { "home": "/home/alice", "directories": [ ".ssh" ], "files": [ ".histfile" ] } } } }"#,
    ),
    (
        "impermanence-v2.json",
        r#"{ "main": { "enable": true, "persistentStoragePath": "/persist", "hideMounts": false,
            "directories": [
              { "directory": "/var/lib/nixos", "dirPath": "/var/lib/nixos", "home": null, "user": "root", "group": "root", "mode": "0755", "persistentStoragePath": "/persist" },
              { "directory": "/var/lib/colord", "dirPath": "/var/lib/colord", "home": null, "user": "colord", "group": "colord", "mode": "0700", "persistentStoragePath": "/persist" } ],
            "files": [ { "file": "/etc/machine-id", "filePath": "/etc/machine-id", "home": null, "method": "auto", "persistentStoragePath": "/persist" } ],
            "users": { "alice": {
              "directories": [ { "directory": ".ssh", "dirPath": "/home/alice/.ssh", "home": "/home/alice", "user": "alice", "group": "users", "mode": "0755", "persistentStoragePath": "/persist" } ],
              "files": [ { "file": ".histfile", "filePath": "/home/alice/.histfile", "home": "/home/alice", "method": "auto", "persistentStoragePath": "/persist" } ] } } } }"#,
    ),
    (
        "preservation.json",
        r#"{ "/persist": { "commonMountOptions": [], "persistentStoragePath": "/persist",
            "directories": [ { "directory": "/var/lib/nixos", "how": "bindmount", "inInitrd": true },
                             { "directory": "/var/lib/colord", "how": "bindmount", "user": "colord", "group": "colord", "mode": "0700" } ],
            "files": [ { "file": "/etc/machine-id", "how": "bindmount" } ],
            "users": { "alice": { "username": "alice", "home": "/home/alice",
              "directories": [ { "directory": "/home/alice/.ssh", "how": "bindmount" },
                               { "directory": "/home/alice", "how": "_intermediate" } ],
              "files": [ { "file": "/home/alice/.histfile", "how": "bindmount" } ] } } } }"#,
    ),
    (
        "impermanence.nix",
        r#"# Written by darlings; safe to edit. Import it from your configuration.
        {
          environment.persistence."/persist" = {
            directories = [
              "/var/lib/nixos"
              { directory = "/var/lib/colord"; user = "colord"; group = "colord"; mode = "0700"; }
            ];
            files = [ "/etc/machine-id" ];
            users.alice = {
              directories = [ ".ssh" ];
              files = [ ".histfile" ];
            };
          };
        }"#,
    ),
    (
        "preservation.nix",
        r#"{ config, ... }:
        {
          preservation.preserveAt = {
            "/persist".directories = [ "/var/lib/nixos" { directory = "/var/lib/colord"; user = "colord"; } ];
            "/persist".files = [ { file = "/etc/machine-id"; inInitrd = true; } ];
            "/persist".users.alice.directories = [ ".ssh" ];
            "/persist".users.alice.files = [ ".histfile" ];
          };
        }"#,
    ),
];

#[test]
fn the_same_whitelist_reads_the_same_in_every_format() {
    let expected = vec![
        key("/etc/machine-id", "/persist", true, B),
        key("/home/alice/.histfile", "/persist", true, B),
        key("/home/alice/.ssh", "/persist", false, B),
        key("/var/lib/colord", "/persist", false, B),
        key("/var/lib/nixos", "/persist", false, B),
    ];
    for (name, text) in SAME {
        let w = parse_str(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(keys(&w), expected, "{name}");
        assert_eq!(w.storage_roots, vec![PathBuf::from("/persist")], "{name}");
        assert_eq!(
            entry(&w, "/var/lib/colord").user.as_deref(),
            Some("colord"),
            "{name}"
        );
        assert_eq!(
            entry(&w, "/home/alice/.ssh")
                .home
                .as_ref()
                .map(|h| h.name.as_str()),
            Some("alice"),
            "{name}"
        );
    }
    // System part from NixOS, home part from Home Manager v1 (bindfs dirs, symlinked files).
    let system = parse_str(
        r#"{ "/persist": { "directories": [ "/var/lib/nixos", { "directory": "/var/lib/colord", "user": "colord" } ], "files": [ "/etc/machine-id" ] } }"#,
        "nixos.json",
    )
    .expect("system part");
    let hm = parse_str(
        r#"{ "/persist/home/alice": { "directories": [ ".ssh" ], "files": [ ".histfile" ], "allowOther": true } }"#,
        "hm-v1.json",
    )
    .expect("home-manager v1");
    assert_eq!(hm.storage_roots, vec![PathBuf::from("/persist")]);
    assert_eq!(entry(&hm, "/home/alice/.histfile").how, S);
    let merged = merge(vec![system, hm]);
    let mut expected_hm = expected.clone();
    expected_hm[1].3 = S;
    assert_eq!(keys(&merged), expected_hm);
}

#[test]
fn home_manager_v2_needs_or_finds_its_home() {
    let text = r#"{ "/persist": { "persistentStoragePath": "/persist", "directories": [ ".ssh", { "directory": "Music" } ] } }"#;
    let err = bad_input(text, "hm.json");
    assert!(
        err.contains("home.persistence.\"/persist\".directories[0]"),
        "{err}"
    );
    assert!(err.contains("relative path \".ssh\""), "{err}");
    let opts = LoadOptions {
        homes: vec![],
        home_manager_user: Some(UserHome {
            name: "bird".into(),
            dir: "/home/bird".into(),
        }),
    };
    let w = parse(text, Path::new("hm.json"), &opts).expect("with a home");
    assert_eq!(
        keys(&w),
        vec![
            key("/home/bird/.ssh", "/persist", false, B),
            key("/home/bird/Music", "/persist", false, B)
        ]
    );
    // The v2 projection carries its own absolute paths.
    let projected = r#"{ "/persist": { "persistentStoragePath": "/persist", "directories": [
        { "directory": ".ssh", "dirPath": "/home/bird/.ssh", "home": "/home/bird", "user": "bird", "group": null, "mode": "0700" } ] } }"#;
    let w = parse_str(projected, "hm.json").expect("projection");
    assert_eq!(keys(&w), vec![key("/home/bird/.ssh", "/persist", false, B)]);
    assert_eq!(entry(&w, "/home/bird/.ssh").group, None);
}

#[test]
fn disabled_locations_and_entries_are_skipped() {
    let w = parse_str(
        r#"{ "/old": { "enable": false, "directories": [ "/var/lib/old" ] },
             "/persist": { "directories": [ "/var/log", { "directory": "/var/lib/off", "enable": false } ] } }"#,
        "x.json",
    )
    .expect("parses");
    assert_eq!(keys(&w), vec![key("/var/log", "/persist", false, B)]);
    assert_eq!(w.storage_roots, vec![PathBuf::from("/persist")]);
}

#[test]
fn paths_are_normalised_like_concat_paths() {
    let w = parse_str(
        r#"{ "/persist/": { "directories": [ "//var//lib/./x/" ] } }"#,
        "x.json",
    )
    .expect("parses");
    assert_eq!(keys(&w), vec![key("/var/lib/x", "/persist", false, B)]);
}

#[test]
fn bad_inputs_name_the_file_and_the_entry() {
    let err = bad_input(r#"{ "/persist": { "directories": [ "/a", "#, "cfg.json");
    assert!(
        err.contains("cfg.json") && err.contains("invalid JSON"),
        "{err}"
    );

    let err = bad_input(
        r#"{ "/persist": { "directories": "/var/log" } }"#,
        "cfg.json",
    );
    assert!(
        err.contains("environment.persistence.\"/persist\".directories: expected a list"),
        "{err}"
    );

    let err = bad_input(
        r#"{ "/persist": { "directories": [ "/a", "/b", "/c", "var/lib/x" ] } }"#,
        "cfg.json",
    );
    assert!(err.contains("cfg.json"), "{err}");
    assert!(
        err.contains(
            "directories[3]: relative path \"var/lib/x\" where an absolute path is required"
        ),
        "{err}"
    );

    let err = bad_input(
        r#"{ "/persist": { "users": { "a": { "files": [ "/x", { "mode": "0700" } ] } } } }"#,
        "cfg.json",
    );
    assert!(
        err.contains("users.a.files[1]: no `file` attribute"),
        "{err}"
    );

    let err = bad_input(r#"[ "/var/log" ]"#, "cfg.json");
    assert!(err.contains("expected a JSON object"), "{err}");

    let err = bad_input(
        "{\n  environment.persistence.\"/persist\".directories = [ \"/a\"\n}",
        "persist.nix",
    );
    assert!(
        err.contains("persist.nix") && err.contains("Nix syntax error at line 3"),
        "{err}"
    );

    let err = bad_input(
        r#"{ environment.persistence."/persist".directories = [ "/a" (lib.mkIf true "/b") ]; }"#,
        "persist.nix",
    );
    assert!(
        err.contains("directories[1]: expected a string or an attribute set"),
        "{err}"
    );

    let err = bad_input(
        r#"{ preservation.preserveAt."/p".files = [ { file = "/x"; how = "copy"; } ]; }"#,
        "p.nix",
    );
    assert!(
        err.contains("preservation.preserveAt.\"/p\".files[0]: unknown method \"copy\""),
        "{err}"
    );

    let err = bad_input(r#"{ "relative": { "directories": [ "/a" ] } }"#, "cfg.json");
    assert!(
        err.contains("environment.persistence.\"relative\""),
        "{err}"
    );

    let err = bad_input("neither { json", "persist.conf");
    assert!(err.contains("neither JSON"), "{err}");
}

#[test]
fn merge_keeps_one_of_equal_entries_and_unites_storage_roots() {
    let a = parse_str(
        r#"{ "/persist": { "directories": [ "/var/log", "/var/lib/nixos" ] } }"#,
        "a.json",
    )
    .expect("a");
    let b = parse_str(r#"{ "/persist": { "directories": [ "/var/log" ] }, "/state": { "files": [ "/etc/machine-id" ] } }"#, "b.json")
        .expect("b");
    let m = merge(vec![a, b]);
    assert_eq!(
        keys(&m),
        vec![
            key("/etc/machine-id", "/state", true, B),
            key("/var/lib/nixos", "/persist", false, B),
            key("/var/log", "/persist", false, B),
        ]
    );
    assert!(entry(&m, "/var/log").origin.ends_with("a.json"));
    assert_eq!(
        m.storage_roots,
        vec![PathBuf::from("/persist"), PathBuf::from("/state")]
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let err = load(Path::new("/nonexistent/darlings/persist.json")).expect_err("missing");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn home_manager_v1_locations_split_into_storage_and_home() {
    let deploy = LoadOptions {
        homes: vec![],
        home_manager_user: Some(UserHome {
            name: "deploy".into(),
            dir: "/srv/deploy".into(),
        }),
    };
    let text =
        r#"{ "/persist/srv/deploy": { "directories": [ ".ssh" ], "files": [ ".profile" ] } }"#;
    let w = parse(text, Path::new("hm.json"), &deploy).expect("parses");
    assert_eq!(
        keys(&w),
        vec![
            key("/srv/deploy/.profile", "/persist", true, S),
            key("/srv/deploy/.ssh", "/persist", false, B),
        ]
    );
    // A v2 location named after the storage root is not mistaken for v1.
    let v2 = r#"{ "/persistent": { "directories": [ ".ssh" ], "files": [ ".profile" ] } }"#;
    let w = parse(v2, Path::new("hm.json"), &deploy).expect("parses");
    assert_eq!(
        keys(&w),
        vec![
            key("/srv/deploy/.profile", "/persistent", true, B),
            key("/srv/deploy/.ssh", "/persistent", false, B),
        ]
    );
    assert_eq!(
        strip_home(Path::new("/srv/deploy"), Path::new("/srv/deploy")),
        None
    );
    assert_eq!(
        split_home_suffix(Path::new("/p/root")).map(|(r, u)| (r, u.dir)),
        Some(("/p".into(), "/root".into()))
    );
}

#[test]
fn preservation_in_initrd_is_read_from_json_and_nix() {
    let json = r#"{ "/persist": { "commonMountOptions": [],
        "directories": [ { "directory": "/var/lib/nixos", "how": "bindmount", "inInitrd": true },
                         { "directory": "/var/log", "how": "bindmount", "inInitrd": false } ],
        "files": [ "/etc/adjtime" ] } }"#;
    let w = parse_str(json, "p.json").expect("parses");
    assert!(entry(&w, "/var/lib/nixos").in_initrd);
    assert!(!entry(&w, "/var/log").in_initrd);
    assert!(
        !entry(&w, "/etc/adjtime").in_initrd,
        "a string entry is not in the initrd"
    );
    let nix = r#"{ preservation.preserveAt."/persist".files = [ { file = "/etc/machine-id"; inInitrd = true; } ]; }"#;
    let w = parse_str(nix, "p.nix").expect("parses");
    assert!(entry(&w, "/etc/machine-id").in_initrd);
    let bad = r#"{ "/persist": { "files": [ { "file": "/x", "how": "bindmount", "inInitrd": "yes" } ] } }"#;
    assert!(bad_input(bad, "p.json").contains("files[0].inInitrd"));
}

mod exports;
