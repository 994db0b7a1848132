//! Verdicts on roots darlings was not built against: store links judged by
//! who recreates them (a project's `result` links, a NixOS tree copied under
//! /var/tmp, home-manager links out of the store, systemd-tmpfiles links),
//! suggestions a person would act on, userborn's password files, the owners
//! of service state (units read through /etc/systemd/system → /etc/static →
//! the store), and the knowledge base against the paths real users keep.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::{Fixture, darlings, entry};

/// The store tree of a NixOS generation: `/etc/static` and its units, each
/// unit a link to its own store path, the unit directory itself a store path.
fn nixos_base(f: &Fixture, units: &[(&str, &str)], tmpfiles: &[(&str, &str)]) {
    let etc = "nix/store/aaa-etc/etc";
    let sys = "nix/store/bbb-system-units";
    f.file(format!("{etc}/hosts"), "127.0.0.1 localhost\n")
        .file(format!("{etc}/ssh/sshd_config"), "PermitRootLogin no\n")
        .symlink(format!("/{sys}"), format!("{etc}/systemd/system"))
        .symlink("/nix/store/aaa-etc/etc", "etc/static")
        .symlink("/etc/static/hosts", "etc/hosts")
        .symlink("/etc/static/ssh/sshd_config", "etc/ssh/sshd_config")
        .symlink("/etc/static/systemd/system", "etc/systemd/system")
        .symlink("/etc/static/tmpfiles.d", "etc/tmpfiles.d")
        .file("etc/NIXOS", "")
        .file("nix/store/ccc-bash/bin/sh", "#!")
        .symlink("/nix/store/ccc-bash/bin/sh", "bin/sh");
    for (name, text) in units {
        let store = format!("nix/store/u{}-unit-{name}", name.len());
        f.file(format!("{store}/{name}"), text)
            .symlink(format!("/{store}/{name}"), format!("{sys}/{name}"));
    }
    f.dir(format!("{etc}/tmpfiles.d"));
    for (name, text) in tmpfiles {
        f.file(format!("{etc}/tmpfiles.d/{name}"), text);
    }
}

fn report(f: &Fixture) -> serde_json::Value {
    common::report(f.root(), &["--hash", "none"])
}

fn get<'a>(r: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    entry(r, path).unwrap_or_else(|| panic!("{path} is listed"))
}

fn suggestions(r: &serde_json::Value) -> Vec<String> {
    r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap().to_string())
        .collect()
}

fn is_under(path: &str, dir: &str) -> bool {
    path == dir || path.starts_with(&format!("{dir}/"))
}

/// A root where a project holds `result` links and a whole NixOS tree was
/// copied under /var/tmp: store links everywhere, none of them recreated.
fn stray_store_links() -> Fixture {
    let f = Fixture::new();
    nixos_base(&f, &[], &[]);
    f.file("nix/store/ppp-proj/bin/proj", "ELF")
        .file("nix/store/ddd-proj-doc/index.html", "<p>")
        .file("home/alice/src/proj/default.nix", "{ }\n")
        .file("home/alice/src/proj/src/main.c", "int main;\n")
        .symlink("/nix/store/ppp-proj", "home/alice/src/proj/result")
        .symlink("/nix/store/ddd-proj-doc", "home/alice/src/proj/result-doc")
        .symlink("/nix/store/gone-proj", "home/alice/src/proj/result-old")
        .file("home/alice/.ssh/id_ed25519", "KEY");
    // `cp -a` of a NixOS root: its own /etc/static, /bin/sh, home-manager links.
    let copy = "var/tmp/nixos-copy";
    f.symlink("/nix/store/aaa-etc/etc", format!("{copy}/etc/static"))
        .symlink("/etc/static/hosts", format!("{copy}/etc/hosts"))
        .symlink("/nix/store/ccc-bash/bin/sh", format!("{copy}/bin/sh"))
        .file(
            "nix/store/hhh-home-manager-files/.config/git/config",
            "[user]\n",
        )
        .symlink(
            "/nix/store/hhh-home-manager-files/.config/git/config",
            format!("{copy}/home/alice/.config/git/config"),
        )
        .file(format!("{copy}/home/alice/notes.txt"), "notes")
        .file(format!("{copy}/var/lib/nixos/uid-map"), "{}");
    for i in 0..40 {
        f.symlink(
            format!("/nix/store/ccc-bash/bin/tool{i}"),
            format!("{copy}/run/current-system/sw/bin/tool{i}"),
        );
    }
    f
}

#[test]
fn result_links_are_stray_gc_roots_and_never_make_their_project_nix_managed() {
    let f = stray_store_links();
    let r = report(&f);
    for link in ["result", "result-doc", "result-old"] {
        let e = get(&r, &format!("/home/alice/src/proj/{link}"));
        assert_eq!(e["class"], "stray", "{link}: {e}");
        assert!(
            e["reason"].as_str().unwrap().contains("nothing recreates"),
            "{e}"
        );
        assert_eq!(e["advice"], "ephemeral", "{link}: {e}");
        assert!(
            e["advice_reason"]
                .as_str()
                .unwrap()
                .contains("garbage-collector root"),
            "{e}"
        );
    }
    for dir in ["/home/alice/src/proj", "/home/alice/src", "/home/alice"] {
        let e = get(&r, dir);
        assert_ne!(e["class"], "nix-managed", "{dir} is not recreated: {e}");
    }
    // Activation's own links stay Nix-managed.
    assert_eq!(get(&r, "/bin/sh")["class"], "nix-managed");
    assert_eq!(get(&r, "/etc/hosts")["class"], "nix-managed");
}

#[test]
fn a_copied_nixos_tree_and_a_project_with_result_links_are_one_suggestion_each() {
    let f = stray_store_links();
    let r = report(&f);
    // Everything in the copy is lost at the wipe, store links included.
    for e in r["entries"].as_array().unwrap() {
        let path = e["path"].as_str().unwrap();
        if is_under(path, "/var/tmp") {
            assert_eq!(e["class"], "stray", "{path}: {e}");
        }
    }
    let sugg = suggestions(&r);
    for place in ["/var/tmp/nixos-copy", "/home/alice/src/proj"] {
        let covering: Vec<&String> = sugg
            .iter()
            .filter(|s| is_under(place, s) || is_under(s, place))
            .collect();
        assert_eq!(
            covering.len(),
            1,
            "{place}: one suggestion, got {covering:?}"
        );
        assert!(
            is_under(place, covering[0]),
            "{place} covered by {covering:?}"
        );
    }
    assert!(sugg.len() < 12, "a few suggestions, not hundreds: {sugg:?}");
}

#[test]
fn home_manager_and_systemd_tmpfiles_links_are_recreated() {
    let f = Fixture::new();
    nixos_base(
        &f,
        &[],
        &[
            (
                "nix-ld.conf",
                "L+ /lib64/ld-linux-x86-64.so.2 - - - - /nix/store/nnn-nix-ld/libexec/nix-ld\n",
            ),
            (
                "00-nixos.conf",
                "L+ /var/lib/thing - - - - /nix/store/ttt-thing\nL+ /etc/nixos - - - - /persist/etc/nixos\n",
            ),
        ],
    );
    f.file("nix/store/nnn-nix-ld/libexec/nix-ld", "ELF")
        .dir("nix/store/ttt-thing")
        .symlink(
            "/nix/store/nnn-nix-ld/libexec/nix-ld",
            "lib64/ld-linux-x86-64.so.2",
        )
        .symlink("/nix/store/ttt-thing", "var/lib/thing")
        .file("persist/etc/nixos/flake.nix", "{ }")
        .symlink("/persist/etc/nixos", "etc/nixos")
        // home-manager: a link into its files, one out of the store, and its GC root.
        .file(
            "nix/store/hhh-home-manager-files/.config/git/config",
            "[user]\n",
        )
        .symlink("/home/alice/dotfiles/nvim", "nix/store/ooo-hm_nvim")
        .symlink(
            "/nix/store/ooo-hm_nvim",
            "nix/store/hhh-home-manager-files/.config/nvim",
        )
        .symlink(
            "/nix/store/hhh-home-manager-files/.config/git/config",
            "home/alice/.config/git/config",
        )
        .symlink(
            "/nix/store/hhh-home-manager-files/.config/nvim",
            "home/alice/.config/nvim",
        )
        .file("home/alice/dotfiles/nvim/init.lua", "-- mine\n")
        // Its generation: the GC root and the profile are recreated at
        // activation, an older generation and a `home-manager build` result are not.
        .dir("nix/store/ggg-home-manager-generation")
        .dir("nix/store/fff-home-manager-generation")
        .symlink(
            "/nix/store/ggg-home-manager-generation",
            "home/alice/.local/state/home-manager/gcroots/current-home",
        )
        .symlink(
            "home-manager-2-link",
            "home/alice/.local/state/nix/profiles/home-manager",
        )
        .symlink(
            "/nix/store/ggg-home-manager-generation",
            "home/alice/.local/state/nix/profiles/home-manager-2-link",
        )
        .symlink(
            "/nix/store/fff-home-manager-generation",
            "home/alice/.local/state/nix/profiles/home-manager-1-link",
        )
        .symlink(
            "/nix/store/ggg-home-manager-generation",
            "home/alice/hm/result",
        );
    let r = report(&f);
    for recreated in [
        "/home/alice/.local/state/home-manager/gcroots/current-home",
        "/home/alice/.local/state/nix/profiles/home-manager",
    ] {
        assert_eq!(get(&r, recreated)["class"], "nix-managed", "{recreated}");
    }
    for lost in [
        "/home/alice/.local/state/nix/profiles/home-manager-1-link",
        "/home/alice/hm/result",
    ] {
        assert_eq!(get(&r, lost)["class"], "stray", "{lost}");
    }
    let ld = get(&r, "/lib64/ld-linux-x86-64.so.2");
    assert_eq!(ld["class"], "nix-managed", "{ld}");
    let thing = get(&r, "/var/lib/thing");
    assert_eq!(thing["class"], "nix-managed", "{thing}");
    assert!(
        thing["reason"]
            .as_str()
            .unwrap()
            .contains("systemd-tmpfiles (/etc/tmpfiles.d/00-nixos.conf)"),
        "{thing}"
    );
    // An L rule into storage keeps the path.
    assert_eq!(get(&r, "/etc/nixos")["class"], "persisted");
    let git = get(&r, "/home/alice/.config/git/config");
    assert_eq!(git["class"], "nix-managed", "{git}");
    let nvim = get(&r, "/home/alice/.config/nvim");
    assert_eq!(nvim["class"], "nix-managed", "{nvim}");
    assert!(
        nvim["reason"]
            .as_str()
            .unwrap()
            .contains("leads out of the store to /home/alice/dotfiles/nvim"),
        "{nvim}"
    );
    // Its target is the user's own data.
    assert_eq!(
        get(&r, "/home/alice/dotfiles/nvim/init.lua")["class"],
        "stray"
    );
    // .config holds only recreated links: recreated to hold them.
    assert_eq!(get(&r, "/home/alice/.config")["class"], "nix-managed");
}

#[test]
fn userborn_s_password_files_must_be_kept() {
    let unit = "[Unit]\nDescription=Manage Users and Groups\n[Service]\nType=oneshot\n\
                StateDirectory=userborn\n\
                ExecStart=/nix/store/uuu-userborn/bin/userborn /nix/store/ccc-userborn.json /etc\n";
    let f = Fixture::new();
    nixos_base(&f, &[("userborn.service", unit)], &[]);
    f.symlink(
        "userborn.service",
        "nix/store/bbb-system-units/systemd-sysusers.service",
    )
    .file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
    )
    .file("etc/group", "root:x:0:\n")
    .file("etc/shadow", "root:!:1::::::\n")
    .file("etc/gshadow", "root:::\n")
    .dir("var/lib/userborn");
    let r = report(&f);
    for file in ["/etc/passwd", "/etc/group", "/etc/shadow"] {
        let e = get(&r, file);
        assert_eq!(e["class"], "stray", "{file}: {e}");
        assert_eq!(e["advice"], "persist", "{file}: {e}");
        assert!(e["reason"].as_str().unwrap().contains("userborn"), "{e}");
        assert!(
            e["advice_reason"]
                .as_str()
                .unwrap()
                .contains("services.userborn.passwordFilesLocation"),
            "{e}"
        );
    }
    // userborn does not write gshadow, and no generation says users are
    // immutable: what is in it lives only here.
    assert_eq!(get(&r, "/etc/gshadow")["class"], "stray");
    let state = get(&r, "/var/lib/userborn");
    assert_eq!(state["owner"]["unit"], "userborn.service", "{state}");
}

#[test]
fn userborn_elsewhere_and_without_its_unit() {
    // passwordFilesLocation = /var/lib/nixos: /etc/passwd is a direct-symlink
    // NixOS declares; the files it points at are the state.
    let unit = "[Service]\nExecStart=/nix/store/uuu-userborn/bin/userborn /nix/store/ccc-userborn.json /var/lib/nixos\n";
    let f = Fixture::new();
    nixos_base(&f, &[("userborn.service", unit)], &[]);
    f.symlink("/var/lib/nixos/passwd", "nix/store/aaa-etc/etc/passwd")
        .symlink("/var/lib/nixos/passwd", "etc/passwd")
        .file("var/lib/nixos/passwd", "root:x:0:0::/root:/bin/sh\n")
        .file("var/lib/nixos/group", "root:x:0:\n");
    let r = report(&f);
    assert_eq!(get(&r, "/etc/passwd")["class"], "nix-managed");
    let e = get(&r, "/var/lib/nixos/passwd");
    assert_eq!(e["class"], "stray");
    assert!(e["reason"].as_str().unwrap().contains("userborn"), "{e}");
    assert_eq!(e["advice"], "persist");

    // No unit to read (a root copied without its store): the state directory tells.
    let g = Fixture::new();
    g.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
        .dir("var/lib/userborn");
    let r = report(&g);
    let e = get(&r, "/etc/passwd");
    assert_eq!(
        (&e["class"], &e["advice"]),
        (&"stray".into(), &"persist".into()),
        "{e}"
    );
    assert!(
        e["reason"].as_str().unwrap().contains("/var/lib/userborn"),
        "{e}"
    );
}

/// Units as NixOS writes them, reached through /etc/systemd/system →
/// /etc/static → the store, with service state on the root.
fn services_root() -> Fixture {
    let f = Fixture::new();
    nixos_base(
        &f,
        &[
            (
                "vaultwarden.service",
                "[Unit]\nDescription=Vaultwarden\n[Service]\nUser=vaultwarden\nStateDirectory=vaultwarden-data\n",
            ),
            (
                "foo.service",
                "[Service]\nDynamicUser=true\nStateDirectory=foo\nCacheDirectory=foo\n",
            ),
            (
                "postgresql.service",
                "[Service]\nUser=postgres\nExecStart=/nix/store/p/bin/postgres\n",
            ),
        ],
        &[],
    );
    // NixOS puts additions to a unit into a drop-in next to it.
    f.file(
        "nix/store/ddd-pg-overrides/overrides.conf",
        "[Service]\nStateDirectory=postgresql\n",
    )
    .symlink(
        "/nix/store/ddd-pg-overrides/overrides.conf",
        "nix/store/bbb-system-units/postgresql.service.d/overrides.conf",
    )
    .file(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n\
         vaultwarden:x:990:990::/var/empty:/bin/false\nmystery:x:991:991::/var/empty:/bin/false\n",
    )
    .file("var/lib/vaultwarden-data/db.sqlite3", "vault")
    .file("var/lib/vaultwarden-data/attachments/a", "att")
    .file("var/lib/private/foo/state.db", "foo")
    .symlink("private/foo", "var/lib/foo")
    .file("var/cache/private/foo/blob", "cache")
    .file("var/lib/postgresql/16/base/1", "rows")
    .file("var/lib/mystery-data/x", "?")
    .file("var/lib/unknown/x", "?");
    f
}

#[test]
fn service_state_has_an_owner_from_the_units() {
    let f = services_root();
    let r = report(&f);
    let foo = get(&r, "/var/lib/private/foo");
    assert_eq!(foo["owner"]["unit"], "foo.service", "{foo}");
    assert_eq!(
        foo["owner"]["user"], "foo",
        "a DynamicUser= is named after its unit"
    );
    assert_eq!(
        foo["owner"]["evidence"],
        "StateDirectory=foo, DynamicUser=yes in /etc/systemd/system/foo.service"
    );
    assert_eq!(
        get(&r, "/var/lib/private/foo/state.db")["owner"]["unit"],
        "foo.service"
    );
    let link = get(&r, "/var/lib/foo");
    assert_eq!(link["owner"]["unit"], "foo.service");
    assert_eq!(
        link["class"], "nix-managed",
        "systemd makes it at start: {link}"
    );
    assert!(!suggestions(&r).contains(&"/var/lib/foo".to_string()));
    let cache = get(&r, "/var/cache/private/foo");
    assert_eq!(cache["owner"]["unit"], "foo.service");
    assert!(
        cache["owner"]["evidence"]
            .as_str()
            .unwrap()
            .starts_with("CacheDirectory=foo")
    );
    let pg = get(&r, "/var/lib/postgresql");
    assert_eq!(
        pg["owner"]["unit"], "postgresql.service",
        "a drop-in names it: {pg}"
    );
    assert_eq!(pg["owner"]["user"], "postgres");
    assert!(get(&r, "/var/lib/unknown")["owner"].is_null());
    assert!(get(&r, "/etc/hosts")["owner"].is_null());
}

#[test]
fn a_unit_s_rule_follows_its_state_directory() {
    let f = services_root();
    let r = report(&f);
    // StateDirectory=vaultwarden-data: not a path the knowledge base names,
    // but the unit is vaultwarden.service, whose state must be kept.
    for path in [
        "/var/lib/vaultwarden-data",
        "/var/lib/vaultwarden-data/attachments/a",
    ] {
        let e = get(&r, path);
        assert_eq!(e["advice"], "persist", "{path}: {e}");
        assert!(
            e["advice_reason"].as_str().unwrap().contains("Vaultwarden"),
            "{e}"
        );
        assert_eq!(e["owner"]["unit"], "vaultwarden.service");
    }
    let summary = darlings().arg("summary").arg(f.root()).output().unwrap();
    let text = String::from_utf8(summary.stdout).unwrap();
    assert!(
        text.contains(
            "kept by vaultwarden.service (StateDirectory=vaultwarden-data in /etc/systemd/system/vaultwarden.service)"
        ),
        "{text}"
    );
}

#[test]
fn without_a_directive_the_owning_user_and_its_units() {
    skip_unless!(common::is_root(), "chown needs root");
    let f = services_root();
    let chown = |rel: &str, uid: u32| {
        rustix::fs::chown(
            f.path(rel),
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(uid)),
        )
        .unwrap();
    };
    chown("var/lib/mystery-data", 991);
    chown("var/lib/unknown", 61300);
    // A unit running as the user, without naming the directory.
    let unit = "[Service]\nUser=mystery\nExecStart=/nix/store/m/bin/mystery\n";
    f.file("nix/store/mmm-unit-mystery.service/mystery.service", unit)
        .symlink(
            "/nix/store/mmm-unit-mystery.service/mystery.service",
            "nix/store/bbb-system-units/mystery.service",
        );
    let r = report(&f);
    let m = get(&r, "/var/lib/mystery-data");
    assert_eq!(m["owner"]["user"], "mystery", "{m}");
    assert_eq!(m["owner"]["unit"], "mystery.service", "{m}");
    assert!(
        m["owner"]["evidence"]
            .as_str()
            .unwrap()
            .contains("mystery.service runs as it (User=mystery)"),
        "{m}"
    );
    let u = get(&r, "/var/lib/unknown");
    assert!(u["owner"]["unit"].is_null(), "{u}");
    assert!(
        u["owner"]["evidence"]
            .as_str()
            .unwrap()
            .contains("DynamicUser="),
        "{u}"
    );
}

#[test]
fn the_owner_lookup_is_a_library_call() {
    let f = services_root();
    let args = darlings::cli::ScanArgs {
        against: "empty".into(),
        threads: Some(1),
        ..Default::default()
    };
    let opts = darlings::settings::audit_options(Some(f.root()), &args).unwrap();
    let audit = darlings::audit::run(&opts, &darlings::scan::Progress::default()).unwrap();
    let owner = audit
        .owner_of(b"/var/lib/private/foo/state.db")
        .expect("foo.service keeps its state there");
    assert_eq!(owner.units, ["foo.service"]);
    // A path not on the root: its nearest ancestor's owner.
    let owner = audit.owner_of(b"/var/lib/postgresql/17/new").unwrap();
    assert_eq!(owner.unit.as_deref(), Some("postgresql.service"));
    assert!(audit.owner_of(b"/etc/hosts").is_none());
}

/// Paths real users keep, from `tests/data/kept-paths.tsv`.
fn kept_paths() -> Vec<(String, String, u32)> {
    let text = include_str!("data/kept-paths.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let path = f.next().unwrap();
            let path = match path.strip_prefix("~/") {
                Some(rel) => format!("/home/alice/{rel}"),
                None => path.to_string(),
            };
            let say = f.next().unwrap().to_string();
            let kept = f.next().unwrap().parse().unwrap();
            (path, say, kept)
        })
        .collect()
}

/// File names among the collected paths (the rest are directories).
fn looks_like_a_file(path: &str, all: &[(String, String, u32)]) -> bool {
    if all
        .iter()
        .any(|(p, _, _)| p.starts_with(&format!("{path}/")))
    {
        return false;
    }
    let name = path.rsplit('/').next().unwrap();
    const FILES: &[&str] = &[
        "machine-id",
        "adjtime",
        "localtime",
        "passwd",
        "group",
        "shadow",
        "subuid",
        "subgid",
        "sudoers",
        "printcap",
        "random-seed",
        "secret_key",
        "seen-bssids",
        "timestamps",
        "known_hosts",
        "lastlog",
        "wtmp",
        "btmp",
        "linger",
        "keys.txt",
        "id_rsa",
        "host_ed25519",
        "nix_store_ed25519_key",
        "cookie",
        "user",
        "steam.token",
        "fish_history",
        "zsh_history",
        "secret_file",
        "ClientConfigToken",
        "deviceid",
    ];
    FILES.contains(&name)
        || name.starts_with("ssh_host_")
        || (name.starts_with('.') && (name.ends_with("history") || name.ends_with("rc")))
        || name[1..].contains('.')
}

/// Catch-all rules: a path under them has no rule of its own.
const CATCH_ALLS: &[&str] = &[
    "/var/lib",
    "/var/cache",
    "/var/db",
    "/var/spool",
    "/srv",
    "/root",
    "/home/*",
    "/var/lib/private",
    "/var/tmp",
    "/tmp",
    "/var/log",
    "/home/*/.config",
    "/home/*/.local/share",
    "/home/*/.local/state",
    "/home/*/.cache",
];

#[test]
fn what_users_keep_is_known_and_never_called_safe_to_lose() {
    let all = kept_paths();
    assert!(all.len() > 800, "{} collected paths", all.len());
    let f = Fixture::new();
    for (path, _, _) in &all {
        let rel = &path[1..];
        if looks_like_a_file(path, &all) {
            f.file(rel, "x");
        } else if !all
            .iter()
            .any(|(p, _, _)| p.starts_with(&format!("{path}/")))
        {
            f.file(format!("{rel}/kept-data"), "x");
        } else {
            f.dir(rel);
        }
    }
    let r = report(&f);
    let kb = darlings::knowledge::Knowledge::builtin();
    let (mut specific, mut must, mut must_persist) = (0, 0, 0);
    let mut wrong = Vec::new();
    for (path, say, _) in &all {
        let rule = kb.lookup(path.as_bytes()).map(|r| r.pattern.clone());
        let exact = rule.as_deref().is_some_and(|p| {
            p == path
                || p.strip_prefix("/home/*/")
                    .is_some_and(|rel| path == &format!("/home/alice/{rel}"))
        });
        if rule
            .as_deref()
            .is_some_and(|p| exact || !CATCH_ALLS.contains(&p))
        {
            specific += 1;
        }
        if say != "persist" {
            continue;
        }
        must += 1;
        let e = get(&r, path);
        if e["advice"] == "persist" {
            must_persist += 1;
        }
        // /home is recreated at boot; what users keep there is its content.
        let judged = if path == "/home" {
            get(&r, "/home/alice")
        } else {
            e
        };
        if judged["advice"] == "ephemeral" || judged["class"] != "stray" {
            wrong.push(format!("{path}: {judged}"));
        }
    }
    eprintln!(
        "collected paths: {}; with a rule of their own: {specific} ({} %); users say keep: {must}, \
         advised persist: {must_persist} ({} %)",
        all.len(),
        100 * specific / all.len(),
        100 * must_persist / must
    );
    assert!(
        wrong.is_empty(),
        "must-keep paths called safe to lose or not stray: {wrong:#?}"
    );
    assert!(
        specific * 100 >= all.len() * 85,
        "{specific} of {} have a rule",
        all.len()
    );
    assert!(
        must_persist * 100 >= must * 90,
        "{must_persist} of {must} advised persist"
    );
}

/// A system generation whose activation runs update-users-groups on a spec
/// with `mutableUsers` (as nixos/modules/config/users-groups.nix writes it).
fn with_accounts_spec(f: &Fixture, mutable: bool) {
    let spec = "nix/store/0v0pb5zz3nb4xvm4g8bf0d9ax5nhzrgy-users-groups.json";
    f.file(
        spec,
        format!(r#"{{"mutableUsers":{mutable},"users":[{{"name":"alice","uid":1000}}],"groups":[]}}"#),
    )
    .file(
        "nix/store/sss-nixos-system-host-25.11/activate",
        format!(
            "#!/nix/store/ccc-bash/bin/sh\n#### Activation script snippet users:\ninstall -m 0700 -d /root\n/nix/store/ppp-perl-env/bin/perl \\\n-w /nix/store/qqq-update-users-groups.pl /{spec}\n"
        ),
    )
    .symlink(
        "/nix/store/sss-nixos-system-host-25.11",
        "nix/var/nix/profiles/system",
    )
    .file("etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n")
    .file("etc/shadow", "root:!:1::::::\nalice:$y$j9T$set-with-passwd:20000::::::\n")
    .file("etc/group", "root:x:0:\nusers:x:100:\n");
}

/// With users.mutableUsers = true (NixOS's default), what passwd changed lives
/// only in /etc/shadow: stray, not "regenerated"; with false it is rewritten
/// from the configuration; without a generation to read (a root mounted
/// without its /nix), NixOS's default holds: stray, and the reason says why.
#[test]
fn account_files_follow_the_generation_s_mutable_users() {
    let f = Fixture::new();
    nixos_base(&f, &[], &[]);
    with_accounts_spec(&f, true);
    let r = report(&f);
    for p in ["/etc/shadow", "/etc/passwd", "/etc/group"] {
        let e = get(&r, p);
        assert_eq!(e["class"], "stray", "{p}: {e}");
        assert!(
            e["reason"]
                .as_str()
                .unwrap()
                .contains("mutableUsers = true"),
            "{p}: {e}"
        );
        assert_eq!(e["advice"], "review", "{p}: {e}");
    }
    let f = Fixture::new();
    nixos_base(&f, &[], &[]);
    with_accounts_spec(&f, false);
    let r = report(&f);
    let e = get(&r, "/etc/shadow");
    assert_eq!(e["class"], "nix-managed", "{e}");
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .contains("mutableUsers = false"),
        "{e}"
    );
    let f = Fixture::new();
    nixos_base(&f, &[], &[]);
    f.file("etc/shadow", "root:!:1::::::\n");
    let e = get(&report(&f), "/etc/shadow").clone();
    assert_eq!(e["class"], "stray", "{e}");
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .contains("no users-groups.json of the root's generation"),
        "{e}"
    );
}
