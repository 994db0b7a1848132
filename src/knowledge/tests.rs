//! Tests of the catalogue: its rules, their matching and the built-in file.
use super::*;

fn advice(path: &str) -> Option<Advice> {
    Knowledge::builtin()
        .lookup(path.as_bytes())
        .map(|r| r.advice)
}

#[test]
fn lookup_child_walked_from_the_root_equals_lookup() {
    let kb = Knowledge::builtin();
    let mut samples: Vec<String> = kb
        .rules()
        .iter()
        .map(|r| format!("{}/deeper/still", r.pattern.replace('*', "x")))
        .collect();
    samples.extend(
        [
            "/usr/lib/x",
            "/home/alice/.cache/nix/y",
            "/var/lib/systemd/coredump/c",
        ]
        .map(String::from),
    );
    for sample in samples {
        let mut path = String::new();
        let mut id = None;
        for (depth, comp) in sample.split('/').filter(|c| !c.is_empty()).enumerate() {
            path.push('/');
            path.push_str(comp);
            id = kb.lookup_child(id, path.as_bytes(), depth + 1);
            assert_eq!(
                id.map(|i| &kb.rule(i).pattern),
                kb.lookup(path.as_bytes()).map(|r| &r.pattern),
                "{path}"
            );
        }
    }
}

#[test]
fn builtin_asset_parses_and_every_pattern_is_valid() {
    let kb = Knowledge::from_toml(BUILTIN, BUILTIN_NAME).expect("asset parses");
    assert!(kb.rules().len() >= 60, "only {} patterns", kb.rules().len());
    for rule in kb.rules() {
        assert!(compile(&rule.pattern).is_ok(), "{}", rule.pattern);
        // Every pattern must find itself (with `*` standing for a name).
        let sample = rule.pattern.replace('*', "x");
        let hit = kb
            .lookup(sample.as_bytes())
            .expect("a pattern matches its own sample");
        assert_eq!(hit.pattern, rule.pattern, "{sample} is shadowed");
    }
}

#[test]
fn identity_state_is_persisted_with_spec_reason() {
    let nixos = Knowledge::builtin()
        .lookup(b"/var/lib/nixos/uid-map")
        .expect("known");
    assert_eq!(nixos.advice, Advice::Persist);
    assert_eq!(nixos.pattern, "/var/lib/nixos");
    assert!(nixos.reason.contains("uid/gid"), "{}", nixos.reason);
    assert_eq!(advice("/etc/machine-id"), Some(Advice::Persist));
    let key = Knowledge::builtin()
        .lookup(b"/etc/ssh/ssh_host_ed25519_key.pub")
        .expect("known");
    assert_eq!(key.advice, Advice::Persist);
    assert!(
        key.note
            .as_deref()
            .is_some_and(|n| n.contains("sshd_config"))
    );
    // The directory itself must not be advised as a whole.
    assert_eq!(advice("/etc/ssh/sshd_config"), Some(Advice::Review));
}

/// The commonly persisted (and safe-to-lose) paths, one by one: the
/// advice darlings gives for each.
#[test]
fn domain_table_rows_have_the_expected_advice() {
    use Advice::{Ephemeral as E, Persist as P, Review as R};
    let rows: &[(&str, Advice)] = &[
        ("/etc/machine-id", P),
        ("/var/lib/nixos/gid-map", P),
        ("/var/log/journal/abc/system.journal", P),
        ("/var/lib/systemd/random-seed", R),
        ("/var/lib/systemd/timers/stamp-fstrim.timer", R),
        ("/etc/ssh/ssh_host_rsa_key", P),
        ("/etc/ssh", R),
        (
            "/etc/NetworkManager/system-connections/home.nmconnection",
            P,
        ),
        ("/var/lib/NetworkManager/secret_key", R),
        ("/var/lib/iwd/home.psk", P),
        ("/var/lib/bluetooth/00:11:22:33:44:55", P),
        ("/etc/wireguard/wg0.key", P),
        ("/var/lib/tailscale/tailscaled.state", P),
        ("/var/lib/acme/example.org/key.pem", P),
        ("/var/lib/colord/mapping.db", R),
        ("/var/lib/cups/printers.conf", R),
        ("/var/lib/fprint/alice", P),
        ("/var/lib/sbctl/keys", P),
        ("/etc/secureboot/keys", P),
        ("/var/lib/libvirt/images/vm.qcow2", P),
        ("/var/lib/docker/volumes", P),
        ("/var/lib/containers/storage", P),
        ("/var/lib/flatpak/app", R),
        ("/var/lib/private/ollama", R),
        ("/var/db/sudo/lectured/alice", E),
        ("/etc/nixos/configuration.nix", P),
        ("/etc/nix/id_rsa", P),
        ("/etc/zfs/zpool.cache", P),
        ("/etc/shadow", R),
        ("/home/alice/.gnupg/private-keys-v1.d", P),
        ("/home/alice/.local/share/keyrings/login.keyring", P),
        ("/home/alice/Documents/cv.odt", P),
        ("/home/alice/.mozilla/firefox", P),
        ("/home/alice/.config/chromium/Default", P),
        ("/home/alice/.local/share/Steam/steamapps", R),
        ("/home/alice/.local/share/direnv/allow", P),
        ("/home/alice/.local/state/nix/profiles", R),
        ("/home/alice/.zsh_history", R),
        ("/home/alice/.local/share/fish/fish_history", R),
        ("/tmp/x", E),
        ("/var/tmp/x", E),
        ("/var/cache/fwupd", E),
        ("/home/alice/.cache/mesa_shader_cache", R),
        ("/home/alice/.cache/thumbnails/x.png", E),
        ("/home/alice/.local/share/Trash/files/x", R),
        ("/var/lib/machines", R),
    ];
    for (path, expected) in rows {
        assert_eq!(advice(path), Some(*expected), "{path}");
    }
}

#[test]
fn more_specific_rules_win() {
    assert_eq!(advice("/var/lib/systemd/linger"), Some(Advice::Review));
    assert_eq!(
        advice("/var/lib/systemd/catalog/database"),
        Some(Advice::Ephemeral)
    );
    // Kept on purpose by many configurations: not called safe to lose.
    assert_eq!(
        advice("/var/lib/systemd/coredump/core.1"),
        Some(Advice::Review)
    );
    assert_eq!(
        advice("/home/alice/.cache/fontconfig"),
        Some(Advice::Ephemeral)
    );
    assert_eq!(advice("/home/alice/.ssh/id_ed25519"), Some(Advice::Persist));
    assert_eq!(advice("/root/.ssh"), Some(Advice::Persist));
    assert_eq!(
        advice("/var/cache/powertop/saved_results.powertop"),
        Some(Advice::Review)
    );
    assert_eq!(advice("/var/cache/man/index.db"), Some(Advice::Ephemeral));
    let nix_cache = Knowledge::builtin()
        .lookup(b"/home/bob/.cache/nix/eval-cache-v5")
        .expect("known");
    assert_eq!(nix_cache.pattern, "/home/*/.cache/nix");
}

#[test]
fn wildcards_stay_inside_one_component_and_bytes_need_not_be_utf8() {
    assert_eq!(
        Knowledge::builtin()
            .lookup(b"/tmp/\xff\xfe")
            .map(|r| r.advice),
        Some(Advice::Ephemeral)
    );
    assert_eq!(
        Knowledge::builtin()
            .lookup(b"/home/\xffuser/.gnupg")
            .map(|r| r.pattern.as_str()),
        Some("/home/*/.gnupg")
    );
    // `/home/*/.ssh` must not match a deeper `.ssh`.
    let deeper = Knowledge::builtin()
        .lookup(b"/home/a/b/.ssh")
        .map(|r| r.pattern.clone());
    assert_ne!(deeper.as_deref(), Some("/home/*/.ssh"));
    assert_eq!(Knowledge::builtin().lookup(b"relative/path"), None);
    assert_eq!(Knowledge::builtin().lookup(b"/opt/nothing-known"), None);
}

#[test]
fn component_wildcards_match_prefix_suffix_and_infix() {
    let pieces = |p: &str| {
        p.split('*')
            .map(|s| s.as_bytes().to_vec())
            .collect::<Vec<_>>()
    };
    assert!(wild_match(&pieces("ssh_host_*"), b"ssh_host_rsa_key"));
    assert!(!wild_match(&pieces("ssh_host_*"), b"ssh_config"));
    assert!(wild_match(&pieces("*.pub"), b"key.pub"));
    assert!(wild_match(&pieces("a*b*c"), b"aXXbYYc"));
    assert!(!wild_match(&pieces("a*b*c"), b"ac"));
    assert!(!wild_match(&pieces("ab*ba"), b"aba"));
}

#[test]
fn bad_catalogues_name_the_rule() {
    let bad = r#"
        [[rule]]
        path = "var/lib/x"
        advice = "persist"
        reason = "r"
        source = "https://example.org/config.nix"
    "#;
    let err = Knowledge::from_toml(bad, "kb.toml")
        .expect_err("relative pattern")
        .to_string();
    assert!(
        err.contains("rule[0]") && err.contains("not absolute"),
        "{err}"
    );
    let src = "source = \"https://example.org\"\n";
    let bad_advice = format!("[[rule]]\npath = \"/x\"\nadvice = \"keep\"\nreason = \"r\"\n{src}");
    assert!(Knowledge::from_toml(&bad_advice, "kb.toml").is_err());
    let bad_glob =
        format!("[[rule]]\npath = \"/x/**\"\nadvice = \"review\"\nreason = \"r\"\n{src}");
    assert!(Knowledge::from_toml(&bad_glob, "kb.toml").is_err());
    let no_source = "[[rule]]\npath = \"/x\"\nadvice = \"review\"\nreason = \"r\"\n";
    let err = Knowledge::from_toml(no_source, "kb.toml")
        .expect_err("a rule without a source")
        .to_string();
    assert!(err.contains("rule[0] (/x): source"), "{err}");
    let home_unit = format!(
        "[[rule]]\nhome = true\npath = \".x\"\nunit = \"x.service\"\nadvice = \"review\"\nreason = \"r\"\n{src}"
    );
    assert!(Knowledge::from_toml(&home_unit, "kb.toml").is_err());
    let twice = format!(
        "[[rule]]\npath = \"/x\"\nunit = \"x.service\"\nadvice = \"review\"\nreason = \"r\"\n{src}\
         [[rule]]\npath = \"/y\"\nunit = \"x.service\"\nadvice = \"review\"\nreason = \"r\"\n{src}"
    );
    let err = Knowledge::from_toml(&twice, "kb.toml")
        .expect_err("one rule per unit")
        .to_string();
    assert!(err.contains("x.service is named by two rules"), "{err}");
}

#[test]
fn a_unit_s_rule_and_its_dynamic_user_layout() {
    let kb = Knowledge::builtin();
    let id = kb
        .unit_rule("vaultwarden.service")
        .expect("vaultwarden is known");
    assert_eq!(kb.rule(id).pattern, "/var/lib/vaultwarden");
    assert_eq!(kb.rule(id).advice, Advice::Persist);
    // The same rule covers the DynamicUser= layout of a service.
    let private = kb
        .lookup(b"/var/lib/private/vaultwarden/db.sqlite3")
        .expect("the private layout is known");
    assert_eq!(private.advice, Advice::Persist);
    assert_eq!(private.reason, kb.rule(id).reason);
    assert_eq!(kb.unit_rule("no-such.service"), None);
}

#[test]
fn every_rule_names_its_source() {
    for rule in Knowledge::builtin().rules() {
        assert!(
            rule.source.iter().all(|s| s.starts_with("https://")),
            "{}: {:?}",
            rule.pattern,
            rule.source
        );
    }
}

#[test]
fn advice_serialises_lowercase() {
    let json =
        serde_json::to_string(&[Advice::Persist, Advice::Review, Advice::Ephemeral]).expect("json");
    assert_eq!(json, r#"["persist","review","ephemeral"]"#);
}
