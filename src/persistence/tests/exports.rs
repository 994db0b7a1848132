//! The exports users really produce (`tests/data/vectors/exports`, real
//! Nix on the real module sources): impermanence before and after its 2025
//! rewrite, its Home Manager module in both shapes, preservation, and what
//! a failed export leaves behind.

use super::*;

fn export(name: &str) -> PathBuf {
    vector(&format!("exports/{name}"))
}

/// bob's home is not /home/bob: the scanned root's passwd says so.
fn passwd() -> LoadOptions {
    LoadOptions {
        homes: vec![
            UserHome {
                name: "alice".into(),
                dir: "/home/alice".into(),
            },
            UserHome {
                name: "bob".into(),
                dir: "/srv/bob".into(),
            },
        ],
        home_manager_user: None,
    }
}

/// The NixOS sample of both impermanence versions; `symlinks` is false
/// before the rewrite, which had no `method` on files.
fn nixos_sample(symlinks: bool) -> Vec<Key> {
    let link = if symlinks { S } else { B };
    let mut k = vec![
        key(
            "/etc/NetworkManager/system-connections",
            "/persist",
            false,
            B,
        ),
        key("/etc/adjtime", "/persist", true, link),
        key("/etc/machine-id", "/persist", true, B),
        key("/etc/nix/id_rsa", "/persist", true, B),
        key("/etc/ssh/ssh_host_ed25519_key", "/persist", true, B),
        key("/home/alice/.cache/nix", "/persist/cache", false, B),
        key("/home/alice/.config/monitors.xml", "/persist", true, link),
        key("/home/alice/.local/share/keyrings", "/persist", false, B),
        key("/home/alice/.screenrc", "/persist", true, B),
        key("/home/alice/.ssh", "/persist", false, B),
        key("/home/alice/Documents", "/persist", false, B),
        key("/home/alice/Downloads", "/persist", false, B),
        key("/srv/bob/.bash_history", "/persist", true, B),
        key("/srv/bob/.gnupg", "/persist", false, B),
        key("/srv/bob/projects", "/persist", false, B),
        key("/var/cache/fwupd", "/persist/cache", false, B),
        key("/var/lib/colord", "/persist", false, B),
        key("/var/lib/nixos", "/persist", false, B),
        key("/var/lib/private", "/persist", false, B),
        key("/var/lib/systemd/coredump", "/persist", false, B),
        key("/var/log", "/persist", false, B),
    ];
    k.sort();
    k
}

#[test]
fn impermanence_before_and_after_its_rewrite_read_the_same() {
    for (name, symlinks) in [
        ("impermanence-nixos-head.json", true),
        ("impermanence-nixos-pre-c64bed1.json", false),
        // The plain `nix eval --json` of the old module repeats every
        // users.NAME entry in the location's own lists: counted once.
        ("impermanence-nixos-pre-c64bed1.raw.json", false),
    ] {
        let w = load(&export(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(keys(&w), nixos_sample(symlinks), "{name}");
        assert_eq!(
            w.storage_roots,
            [PathBuf::from("/persist"), PathBuf::from("/persist/cache")],
            "{name}"
        );
        let bob = entry(&w, "/srv/bob/projects");
        assert_eq!(
            bob.home.as_ref().map(|h| h.name.as_str()),
            Some("bob"),
            "{name}"
        );
        assert!(
            bob.origin
                .contains("environment.persistence.\"/persist\".users.bob"),
            "{name}: {}",
            bob.origin
        );
    }
}

#[test]
fn home_manager_after_the_rewrite_carries_its_homes() {
    let w = load(&export("impermanence-hm-v2-head.json")).expect("alice");
    let mut expected = vec![
        key("/home/alice/.bash_history", "/persist", true, B),
        key("/home/alice/.cache/mozilla", "/persist/cache", false, B),
        key("/home/alice/.cache/nix", "/persist/cache", false, B),
        key("/home/alice/.config/monitors.xml", "/persist", true, S),
        key("/home/alice/.local/share/direnv", "/persist", false, B),
        key("/home/alice/.local/share/keyrings", "/persist", false, B),
        key("/home/alice/.mozilla", "/persist", false, B),
        key("/home/alice/.ssh", "/persist", false, B),
        key("/home/alice/Documents", "/persist", false, B),
        key("/home/alice/Music", "/persist", false, B),
    ];
    expected.sort();
    assert_eq!(keys(&w), expected);
    assert_eq!(
        w.storage_roots,
        [PathBuf::from("/persist"), PathBuf::from("/persist/cache")]
    );
    let ssh = entry(&w, "/home/alice/.ssh");
    assert_eq!(ssh.group, None, "Home Manager does not know the group");
    assert!(
        ssh.origin.starts_with("home.persistence."),
        "{}",
        ssh.origin
    );
    let bob = load(&export("impermanence-hm-v2-head.bob.json")).expect("bob");
    assert_eq!(
        keys(&bob),
        vec![
            key("/srv/bob/.gnupg", "/persist", false, B),
            key("/srv/bob/.zsh_history", "/persist", true, B),
            key("/srv/bob/projects", "/persist", false, B),
        ]
    );
}

#[test]
fn home_manager_before_the_rewrite_splits_its_storage_path_and_drops_stow_packages() {
    for commit in ["c64bed1", "5f42ef6"] {
        let name = format!("impermanence-hm-v1-pre-{commit}.json");
        let w = load_with(&export(&name), &passwd()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut expected = vec![
            // Files were always links into storage; directories bindfs
            // mounts unless `method = "symlink"`.
            key("/home/alice/.bash_history", "/persistent", true, S),
            key("/home/alice/.local/share/Steam", "/persistent", false, S),
            key("/home/alice/.local/share/keyrings", "/persistent", false, B),
            key("/home/alice/.mozilla", "/persistent", false, B),
            key("/home/alice/.screenrc", "/persistent", true, S),
            key("/home/alice/.ssh", "/persistent", false, B),
            key("/home/alice/Documents", "/persistent", false, B),
            key("/home/alice/Downloads", "/persistent", false, B),
            // removePrefixDirectory: `nvim/.config/nvim` is ~/.config/nvim,
            // kept in the stow repository itself.
            key("/home/alice/.config/nvim", "/persistent/dotfiles", false, B),
            key("/home/alice/.gitconfig", "/persistent/dotfiles", true, S),
            key("/home/alice/.zshrc", "/persistent/dotfiles", true, S),
        ];
        expected.sort();
        assert_eq!(keys(&w), expected, "{name}");
        // bob's location names his storage directory under /srv/bob: his
        // home comes from the scanned root's passwd.
        let name = format!("impermanence-hm-v1-pre-{commit}.bob.json");
        let w = load_with(&export(&name), &passwd()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            keys(&w),
            vec![
                key("/srv/bob/.gnupg", "/persistent", false, B),
                key("/srv/bob/.zsh_history", "/persistent", true, S),
                key("/srv/bob/projects", "/persistent", false, B),
            ],
            "{name}"
        );
        // Without it, nothing in the file says whose home it is.
        let err = load(&export(&name)).expect_err("no home").to_string();
        assert!(err.contains("does not say whose home it is"), "{err}");
    }
}

#[test]
fn preservation_s_generated_parents_are_not_whitelisted() {
    let w = load(&export("preservation-nixos-head.json")).expect("loads");
    let paths: Vec<String> = keys(&w).into_iter().map(|k| k.0).collect();
    for parent in [
        "/home/alice/.config",
        "/home/alice/.local",
        "/home/alice/.cache",
    ] {
        assert!(
            !paths.iter().any(|p| p == parent),
            "{parent} is an _intermediate entry"
        );
    }
    assert!(paths.contains(&"/home/alice/.local/share/Steam".to_string()));
    assert_eq!(entry(&w, "/home/alice/.local/share/Steam").how, S);
    assert_eq!(entry(&w, "/etc/machine-id").how, S);
    assert_eq!(entry(&w, "/root/.ssh").storage, Path::new("/persistent"));
    assert_eq!(
        entry(&w, "/home/alice/.cache/nix").storage,
        Path::new("/persistent/cache")
    );
    assert_eq!(w.entries.len(), 20);
}

#[test]
fn a_truncated_export_is_bad_input_with_a_hint() {
    // What Nix 2.8 leaves on stdout when the export fails.
    let err = load(&export("failed-export.partial.json")).expect_err("truncated");
    assert!(matches!(err, Error::BadInput { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("failed-export.partial.json") && msg.contains("invalid JSON"),
        "{msg}"
    );
    assert!(
        msg.contains("check that the export command succeeded"),
        "{msg}"
    );
}
