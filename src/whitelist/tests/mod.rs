//! Tests of darlings' own canonical whitelist: exact output, round trips
//! through the reader, idempotence, merging, and evaluation by real Nix.
//! The edits of a person's file are tested in `edit/tests.rs`.

mod write;

use std::process::Command;

use super::*;
use crate::persistence::{self, How, LoadOptions, UserHome, Whitelist};

fn promo(path: &str, is_dir: bool, user: &str, group: &str, mode: u32) -> Promotion {
    Promotion {
        path: path.into(),
        is_dir,
        user: user.into(),
        group: group.into(),
        mode,
    }
}

fn homes() -> Vec<(String, PathBuf)> {
    vec![("alice".into(), "/home/alice".into())]
}

fn desktop() -> Vec<Promotion> {
    vec![
        promo("/var/lib/docker", true, "root", "root", 0o755),
        promo("/var/lib/colord", true, "colord", "colord", 0o700),
        promo("/etc/machine-id", false, "root", "root", 0o444),
        promo(
            "/etc/ssh/ssh_host_ed25519_key",
            false,
            "root",
            "root",
            0o600,
        ),
        promo("/home/alice/.ssh", true, "alice", "users", 0o700),
        promo("/home/alice/Documents", true, "alice", "users", 0o755),
        promo("/home/alice/.histfile", false, "alice", "users", 0o600),
        promo("/var/lib/nixos", true, "root", "root", 0o755),
    ]
}

const IMPERMANENCE: &str = r#"# Written by darlings; safe to edit. Import it from your configuration.
{
  environment.persistence."/persist" = {
    directories = [
      { directory = "/var/lib/colord"; user = "colord"; group = "colord"; mode = "0700"; }
      "/var/lib/docker"
      "/var/lib/nixos"
    ];
    files = [
      "/etc/machine-id"
      "/etc/ssh/ssh_host_ed25519_key"
    ];
    users.alice = {
      directories = [
        { directory = ".ssh"; user = "alice"; group = "users"; mode = "0700"; }
        "Documents"
      ];
      files = [ ".histfile" ];
    };
  };
}
"#;

const PRESERVATION: &str = r#"# Written by darlings; safe to edit. Import it from your configuration.
{
  preservation.preserveAt."/persist" = {
    directories = [
      { directory = "/var/lib/colord"; user = "colord"; group = "colord"; mode = "0700"; }
      "/var/lib/docker"
      { directory = "/var/lib/nixos"; inInitrd = true; }
    ];
    files = [
      { file = "/etc/machine-id"; user = "root"; group = "root"; mode = "0444"; inInitrd = true; }
      { file = "/etc/ssh/ssh_host_ed25519_key"; user = "root"; group = "root"; mode = "0600"; configureParent = true; how = "symlink"; }
    ];
    users.alice = {
      directories = [
        { directory = ".ssh"; user = "alice"; group = "users"; mode = "0700"; }
        "Documents"
      ];
      files = [
        { file = ".histfile"; user = "alice"; group = "users"; mode = "0600"; }
      ];
    };
  };
}
"#;

fn render_new(flavor: Flavor) -> String {
    render(None, flavor, Path::new("/persist"), &desktop(), &homes()).expect("renders")
}

fn read_back(text: &str) -> Whitelist {
    let opts = LoadOptions {
        homes: vec![UserHome {
            name: "alice".into(),
            dir: "/home/alice".into(),
        }],
        home_manager_user: None,
    };
    persistence::parse(text, Path::new("persist.nix"), &opts)
        .expect("the reader reads what the writer wrote")
}

/// (path, is_file, user, group, mode) of every entry, sorted.
type Row = (String, bool, Option<String>, Option<String>, Option<String>);

fn rows(w: &Whitelist) -> Vec<Row> {
    let mut r: Vec<Row> = w
        .entries
        .iter()
        .map(|e| {
            (
                e.path.display().to_string(),
                e.is_file,
                e.user.clone(),
                e.group.clone(),
                e.mode.clone(),
            )
        })
        .collect();
    r.sort();
    r
}

fn row(path: &str, is_file: bool, owner: Option<(&str, &str, &str)>) -> Row {
    let (u, g, m) = match owner {
        Some((u, g, m)) => (
            Some(u.to_string()),
            Some(g.to_string()),
            Some(m.to_string()),
        ),
        None => (None, None, None),
    };
    (path.into(), is_file, u, g, m)
}

/// What the desktop promotions mean, as the reader reports it.
fn desktop_rows(flavor: Flavor) -> Vec<Row> {
    let pres = flavor == Flavor::Preservation;
    let file_owner = |o| if pres { Some(o) } else { None };
    vec![
        row(
            "/etc/machine-id",
            true,
            file_owner(("root", "root", "0444")),
        ),
        row(
            "/etc/ssh/ssh_host_ed25519_key",
            true,
            file_owner(("root", "root", "0600")),
        ),
        row(
            "/home/alice/.histfile",
            true,
            file_owner(("alice", "users", "0600")),
        ),
        row("/home/alice/.ssh", false, Some(("alice", "users", "0700"))),
        row("/home/alice/Documents", false, None),
        row("/var/lib/colord", false, Some(("colord", "colord", "0700"))),
        row("/var/lib/docker", false, None),
        row("/var/lib/nixos", false, None),
    ]
}

#[test]
fn new_files_have_the_documented_shape() {
    assert_eq!(render_new(Flavor::Impermanence), IMPERMANENCE);
    assert_eq!(render_new(Flavor::Preservation), PRESERVATION);
}

#[test]
fn round_trip_through_the_reader_in_both_flavours() {
    for flavor in [Flavor::Impermanence, Flavor::Preservation] {
        let w = read_back(&render_new(flavor));
        assert_eq!(rows(&w), desktop_rows(flavor), "{flavor:?}");
        assert_eq!(w.storage_roots, vec![PathBuf::from("/persist")]);
        for e in &w.entries {
            assert_eq!(e.storage, Path::new("/persist"));
            // preservation links host keys (see `preservation_extras`).
            let link = flavor == Flavor::Preservation && e.path.starts_with("/etc/ssh");
            let how = if link { How::Symlink } else { How::BindMount };
            assert_eq!(e.how, how, "{}", e.path.display());
        }
    }
}

#[test]
fn rendering_again_changes_nothing() {
    for flavor in [Flavor::Impermanence, Flavor::Preservation] {
        let first = render_new(flavor);
        let mut reversed = desktop();
        reversed.reverse();
        let again = render(
            Some(&first),
            flavor,
            Path::new("/persist"),
            &reversed,
            &homes(),
        )
        .expect("renders");
        assert_eq!(again, first, "{flavor:?}");
        let nothing_new =
            render(Some(&first), flavor, Path::new("/persist"), &[], &homes()).expect("renders");
        assert_eq!(nothing_new, first, "{flavor:?}");
    }
}

#[test]
fn paths_already_persisted_or_below_a_persisted_directory_are_not_added() {
    let promotions = [
        promo("/var/lib/docker", true, "root", "root", 0o755),
        promo("/var/lib/docker/volumes", true, "root", "root", 0o700),
        promo("/var/lib/dockerd", true, "root", "root", 0o755),
        promo("/var/lib/docker", true, "root", "root", 0o700),
    ];
    let text = render(
        None,
        Flavor::Impermanence,
        Path::new("/persist"),
        &promotions,
        &[],
    )
    .expect("renders");
    assert!(
        text.contains(
            "directories = [\n      \"/var/lib/docker\"\n      \"/var/lib/dockerd\"\n    ];"
        ),
        "{text}"
    );
}

const HAND_WRITTEN: &str = r#"# my own comment
{ lib, ... }:
{
  environment.persistence."/persist" = {
    hideMounts = true;
    directories = [
      "/var/log"
      { directory = "/var/lib/nixos"; mode = "0755"; }
    ];
    files = [
      { file = "/etc/nix/id_rsa"; parentDirectory = { mode = "u=rwx,g=,o="; }; }
    ];
    users.bob = {
      home = "/srv/bob";
      files = [ ".zsh_history" ];
    };
  };
  environment.persistence."/state".directories = [ "/var/lib/postgresql" ];
  # unrelated options in the same file are kept
  services.openssh.hostKeys = [ { path = "/persist/etc/ssh/ssh_host_ed25519_key"; type = "ed25519"; } ];
  boot.initrd.postResumeCommands = lib.mkAfter "zfs rollback -r rpool/local/root@blank";
}
"#;

const HAND_WRITTEN_MERGED: &str = r#"# Written by darlings; safe to edit. Import it from your configuration.
# my own comment
{ lib, ... }:
{
  environment.persistence."/persist" = {
    hideMounts = true;
    directories = [
      "/var/lib/docker"
      { directory = "/var/lib/nixos"; mode = "0755"; }
      "/var/log"
    ];
    files = [
      { file = "/etc/nix/id_rsa"; parentDirectory = { mode = "u=rwx,g=,o="; }; }
    ];
    users.bob = {
      home = "/srv/bob";
      directories = [
        { directory = ".gnupg"; user = "bob"; group = "users"; mode = "0700"; }
      ];
      files = [ ".zsh_history" ];
    };
  };
  environment.persistence."/state" = {
    directories = [ "/var/lib/postgresql" ];
  };
  services.openssh.hostKeys = [ { path = "/persist/etc/ssh/ssh_host_ed25519_key"; type = "ed25519"; } ];
  boot.initrd.postResumeCommands = lib.mkAfter "zfs rollback -r rpool/local/root@blank";
}
"#;

fn hand_written_promotions() -> Vec<Promotion> {
    vec![
        promo("/var/lib/docker", true, "root", "root", 0o755),
        promo("/srv/bob/.gnupg", true, "bob", "users", 0o700),
        promo("/var/lib/nixos/uid-map", false, "root", "root", 0o644),
        promo("/var/lib/postgresql", true, "postgres", "postgres", 0o750),
        promo("/srv/bob/.zsh_history", false, "bob", "users", 0o600),
    ]
}

#[test]
fn merging_keeps_the_hand_written_file() {
    let merged = render(
        Some(HAND_WRITTEN),
        Flavor::Impermanence,
        Path::new("/persist"),
        &hand_written_promotions(),
        &[],
    )
    .expect("renders");
    assert_eq!(merged, HAND_WRITTEN_MERGED);
    let again = render(
        Some(&merged),
        Flavor::Impermanence,
        Path::new("/persist"),
        &hand_written_promotions(),
        &[],
    )
    .expect("renders");
    assert_eq!(again, merged);
}

#[test]
fn nix_strings_are_escaped() {
    let weird = r#"/srv/we"ird\dir ${HOME} $x"#;
    let text = render(
        None,
        Flavor::Impermanence,
        Path::new("/persist"),
        &[promo(weird, true, "root", "root", 0o755)],
        &[],
    )
    .expect("renders");
    assert!(
        text.contains(r#""/srv/we\"ird\\dir \${HOME} $x""#),
        "{text}"
    );
    let w = read_back(&text);
    assert_eq!(w.entries[0].path, Path::new(weird));
}

#[test]
fn unwritable_paths_and_unmergeable_files_are_errors() {
    use std::os::unix::ffi::OsStrExt;
    let bad = Promotion {
        path: PathBuf::from(std::ffi::OsStr::from_bytes(b"/var/lib/\xff")),
        ..promo("/", true, "root", "root", 0o755)
    };
    let err = render(
        None,
        Flavor::Impermanence,
        Path::new("/persist"),
        &[bad],
        &[],
    )
    .expect_err("not UTF-8");
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    for (text, needle) in [
        (
            "{ environment.persistence = lib.mkIf true { }; }",
            "environment.persistence is not a literal",
        ),
        (
            r#"{ environment.persistence."/p".directories = [ "/a" ] ++ [ ]; }"#,
            "directories is not a literal list",
        ),
        (
            r#"{ preservation.preserveAt."/p".files = [ { how = "symlink"; } ]; }"#,
            "files[0] has no literal `file`",
        ),
        ("let x = 1; in { }", "must be an attribute set"),
        ("{ a = ", "Nix syntax error"),
    ] {
        let err = render(
            Some(text),
            Flavor::Impermanence,
            Path::new("/persist"),
            &desktop(),
            &homes(),
        )
        .expect_err(text)
        .to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
}

// --- Real Nix -----------------------------------------------------------------

/// Evaluates `text` as a module with real Nix and returns the value of the
/// flavour's option as JSON; None (after saying why) when Nix is not installed.
fn nix_eval(text: &str, flavor: Flavor) -> Option<serde_json::Value> {
    let Ok(out) = Command::new("nix-instantiate").arg("--version").output() else {
        eprintln!(
            "skipping the real-Nix check: nix-instantiate is not on PATH (Debian: apt-get install nix-bin)"
        );
        return None;
    };
    assert!(out.status.success(), "nix-instantiate --version failed");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("persist.nix");
    std::fs::write(&file, text).expect("write");
    let parse = Command::new("nix-instantiate")
        .arg("--parse")
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        parse.status.success(),
        "nix-instantiate --parse: {}",
        String::from_utf8_lossy(&parse.stderr)
    );
    let option = flavor.option().join(".");
    // A function module gets a stub of the arguments NixOS passes.
    let expr = format!(
        "let m = import {}; f = if builtins.isFunction m then m {{ config = {{ }}; lib = {{ mkAfter = x: x; }}; pkgs = {{ }}; }} else m; v = f.config or f; in v.{option}",
        file.display()
    );
    let eval = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", &expr])
        .output()
        .expect("runs");
    assert!(
        eval.status.success(),
        "nix-instantiate --eval: {}",
        String::from_utf8_lossy(&eval.stderr)
    );
    Some(serde_json::from_slice(&eval.stdout).expect("nix prints JSON"))
}

/// Reads Nix's evaluation of the option with darlings' own JSON reader.
fn read_evaluated(json: &serde_json::Value) -> Whitelist {
    let opts = LoadOptions {
        homes: vec![UserHome {
            name: "alice".into(),
            dir: "/home/alice".into(),
        }],
        home_manager_user: None,
    };
    persistence::parse(&json.to_string(), Path::new("evaluated.json"), &opts)
        .expect("reader accepts Nix's output")
}

#[test]
fn real_nix_evaluates_written_files_to_the_entries_meant() {
    for flavor in [Flavor::Impermanence, Flavor::Preservation] {
        let Some(json) = nix_eval(&render_new(flavor), flavor) else {
            return;
        };
        assert_eq!(
            rows(&read_evaluated(&json)),
            desktop_rows(flavor),
            "{flavor:?}"
        );
    }
    let json = nix_eval(IMPERMANENCE, Flavor::Impermanence).expect("nix was found above");
    let expected = serde_json::json!({ "/persist": {
        "directories": [
            { "directory": "/var/lib/colord", "user": "colord", "group": "colord", "mode": "0700" },
            "/var/lib/docker",
            "/var/lib/nixos"
        ],
        "files": [ "/etc/machine-id", "/etc/ssh/ssh_host_ed25519_key" ],
        "users": { "alice": {
            "directories": [ { "directory": ".ssh", "user": "alice", "group": "users", "mode": "0700" }, "Documents" ],
            "files": [ ".histfile" ]
        } }
    } });
    assert_eq!(json, expected);
}

#[test]
fn real_nix_evaluates_a_merged_file_and_escaped_strings() {
    let Some(json) = nix_eval(HAND_WRITTEN_MERGED, Flavor::Impermanence) else {
        return;
    };
    let mut paths: Vec<String> = read_evaluated(&json)
        .entries
        .iter()
        .map(|e| e.path.display().to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/etc/nix/id_rsa",
            "/srv/bob/.gnupg",
            "/srv/bob/.zsh_history",
            "/var/lib/docker",
            "/var/lib/nixos",
            "/var/lib/postgresql",
            "/var/log"
        ]
    );
    assert_eq!(
        json["/persist"]["files"][0]["parentDirectory"]["mode"],
        "u=rwx,g=,o="
    );
    assert_eq!(json["/persist"]["hideMounts"], true);

    // Quotes, backslashes, both interpolation openers, a newline, a tab and
    // a raw control character (valid inside a Nix string).
    let weird = "/srv/we\"ird\\dir ${HOME} $x ''${y} new\nline\ttab \u{1}";
    let text = render(
        None,
        Flavor::Preservation,
        Path::new("/per sist"),
        &[promo(weird, false, "root", "root", 0o644)],
        &[],
    )
    .expect("renders");
    let json = nix_eval(&text, Flavor::Preservation).expect("nix was found above");
    assert_eq!(
        json,
        serde_json::json!({ "/per sist": { "files": [ weird ] } })
    );
    assert_eq!(read_back(&text).entries[0].path, Path::new(weird));
}

/// Homes outside `/home` in preservation: the file names the home itself.
fn unusual_homes() -> (Vec<Promotion>, Vec<(String, PathBuf)>) {
    let promotions = vec![
        promo("/root/.ssh", true, "root", "root", 0o700),
        promo("/srv/deploy/releases", true, "deploy", "deploy", 0o755),
        promo("/home/alice/.histfile", false, "alice", "users", 0o644),
    ];
    let homes = vec![
        ("root".into(), "/root".into()),
        ("deploy".into(), "/srv/deploy".into()),
        ("alice".into(), "/home/alice".into()),
    ];
    (promotions, homes)
}

#[test]
fn preservation_names_homes_outside_home_and_impermanence_does_not() {
    let (promotions, homes) = unusual_homes();
    let pres = render(
        None,
        Flavor::Preservation,
        Path::new("/persist"),
        &promotions,
        &homes,
    )
    .expect("renders");
    assert!(pres.contains("    users.deploy = {\n      home = \"/srv/deploy\";\n      directories = [ \"releases\" ];\n"), "{pres}");
    assert!(
        pres.contains("    users.alice = {\n      files = [ \".histfile\" ];\n"),
        "{pres}"
    );
    assert!(
        pres.contains("    users.root = {\n      home = \"/root\";\n"),
        "{pres}"
    );
    let imp = render(
        None,
        Flavor::Impermanence,
        Path::new("/persist"),
        &promotions,
        &homes,
    )
    .expect("renders");
    assert!(!imp.contains("home ="), "{imp}");
    // Read back without being told the homes: the preservation file says them.
    let w = persistence::parse(&pres, Path::new("p.nix"), &LoadOptions::default()).expect("reads");
    let mut paths: Vec<String> = w
        .entries
        .iter()
        .map(|e| e.path.display().to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/home/alice/.histfile",
            "/root/.ssh",
            "/srv/deploy/releases"
        ]
    );
}

#[test]
fn real_nix_evaluates_preservation_users_with_their_homes() {
    let (promotions, homes) = unusual_homes();
    let text = render(
        None,
        Flavor::Preservation,
        Path::new("/persist"),
        &promotions,
        &homes,
    )
    .expect("renders");
    let Some(json) = nix_eval(&text, Flavor::Preservation) else {
        return;
    };
    assert_eq!(
        json,
        serde_json::json!({ "/persist": { "users": {
            "alice": { "files": [ ".histfile" ] },
            "deploy": { "home": "/srv/deploy", "directories": [ "releases" ] },
            "root": { "home": "/root", "directories": [ { "directory": ".ssh", "user": "root", "group": "root", "mode": "0700" } ] }
        } } })
    );
}

#[test]
fn full_form_modules_and_named_locations_are_merged_in_place() {
    let existing = r#"{ config, ... }:
{
  imports = [ ];
  config.environment.persistence.main = {
    persistentStoragePath = "/persist/";
    directories = [ "/var/log" ];
  };
}
"#;
    let merged = render(
        Some(existing),
        Flavor::Impermanence,
        Path::new("/persist"),
        &[promo("/var/lib/docker", true, "root", "root", 0o755)],
        &[],
    )
    .expect("renders");
    let expected = r#"# Written by darlings; safe to edit. Import it from your configuration.
{ config, ... }:
{
  config.environment.persistence."main" = {
    persistentStoragePath = "/persist/";
    directories = [
      "/var/lib/docker"
      "/var/log"
    ];
  };
  imports = [ ];
}
"#;
    assert_eq!(merged, expected);
    let w =
        persistence::parse(&merged, Path::new("p.nix"), &LoadOptions::default()).expect("reads");
    assert_eq!(w.storage_roots, [PathBuf::from("/persist")]);
    assert_eq!(w.entries.len(), 2);
    if let Some(json) = nix_eval(&merged, Flavor::Impermanence) {
        let expected = serde_json::json!({ "main": {
            "persistentStoragePath": "/persist/",
            "directories": [ "/var/lib/docker", "/var/log" ]
        } });
        assert_eq!(json, expected);
    }
}

#[test]
fn a_home_at_the_root_does_not_swallow_every_path() {
    let homes = vec![
        ("daemon".to_string(), PathBuf::from("/")),
        ("x".into(), "rel".into()),
    ];
    let text = render(
        None,
        Flavor::Impermanence,
        Path::new("/persist"),
        &[promo("/var/lib/docker", true, "root", "root", 0o755)],
        &homes,
    )
    .expect("renders");
    assert!(
        text.contains("    directories = [ \"/var/lib/docker\" ];\n"),
        "{text}"
    );
    assert!(!text.contains("users."), "{text}");
}

#[test]
fn other_options_next_to_a_location_keep_their_place_at_the_next_promote() {
    // Found by fuzz/fuzz_targets/whitelist.rs: `preservation.enable`
    // written after `users` moved in front of it once read back, because Nix
    // merges it into the `preservation.preserveAt` written at the top.
    let existing = "{\n  users.users.root.home = \"/root\";\n  preservation.enable = true;\n  preservation.preserveAt.\"/persistent\".directories = [ \"/var/log\" ];\n}\n";
    let p = [promo("/var/lib/docker", true, "root", "root", 0o755)];
    for flavor in [Flavor::Impermanence, Flavor::Preservation] {
        let once = render(Some(existing), flavor, Path::new("/persist"), &p, &[]).unwrap();
        let twice = render(Some(&once), flavor, Path::new("/persist"), &p, &[]).unwrap();
        assert_eq!(once, twice);
    }
}
