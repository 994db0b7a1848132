//! Tests of the editor on small hand-written modules: where each new item
//! lands, in which form, and what is refused.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::whitelist::{Flavor, Promotion, Request, apply};

fn dir(path: &str) -> Promotion {
    Promotion {
        path: path.into(),
        is_dir: true,
        user: "root".into(),
        group: "root".into(),
        mode: 0o755,
    }
}

fn file(path: &str) -> Promotion {
    Promotion {
        is_dir: false,
        mode: 0o644,
        ..dir(path)
    }
}

fn owned(path: &str, user: &str, group: &str, mode: u32) -> Promotion {
    Promotion {
        user: user.into(),
        group: group.into(),
        mode,
        ..dir(path)
    }
}

fn homes() -> Vec<(String, PathBuf)> {
    vec![
        ("root".into(), "/root".into()),
        ("alice".into(), "/home/alice".into()),
    ]
}

fn edit_with(text: &str, req: &Request, promotions: &[Promotion]) -> crate::Result<String> {
    apply(
        Path::new("persist.nix"),
        Some(text),
        req,
        promotions,
        &homes(),
    )
    .map(|a| a.text)
}

fn edit(text: &str, promotions: &[Promotion]) -> String {
    edit_with(text, &Request::default(), promotions).unwrap_or_else(|e| panic!("{e}"))
}

/// The text `edit` is expected to give: `text` with `new` inserted before
/// the first occurrence of `before`.
fn with(text: &str, before: &str, new: &str) -> String {
    let at = text
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} in {text}"));
    format!("{}{new}{}", &text[..at], &text[at..])
}

fn refusal(text: &str, req: &Request, promotions: &[Promotion]) -> (String, String) {
    match edit_with(text, req, promotions) {
        Err(Error::NoSafeEdit { problem, paste, .. }) => (problem, paste),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

const ONE_PER_LINE: &str = r#"{ config, lib, ... }:
{
  # what survives a reboot
  environment.persistence."/persistent" = {
    hideMounts = true;
    directories = [
      "/var/log" # logs
      "/var/lib/nixos"
      # "/var/lib/docker"
    ];
  };
}
"#;

#[test]
fn an_item_goes_after_the_last_one_before_trailing_comments() {
    let out = edit(ONE_PER_LINE, &[dir("/var/lib/bluetooth")]);
    assert_eq!(
        out,
        with(
            ONE_PER_LINE,
            "      # \"/var/lib/docker\"",
            "      \"/var/lib/bluetooth\"\n"
        )
    );
    // Again: nothing changes, and the caller is told why.
    let again = apply(
        Path::new("p.nix"),
        Some(&out),
        &Request::default(),
        &[dir("/var/lib/bluetooth/x")],
        &homes(),
    )
    .expect("applies");
    assert_eq!(again.text, out);
    assert_eq!(
        again.notes,
        ["/var/lib/bluetooth/x is already listed (below /var/lib/bluetooth), line 9"]
    );
}

#[test]
fn a_missing_list_is_added_next_to_its_sibling() {
    let out = edit(
        ONE_PER_LINE,
        &[file("/etc/machine-id"), file("/etc/adjtime")],
    );
    assert_eq!(
        out,
        with(
            ONE_PER_LINE,
            "  };\n}",
            "    files = [\n      \"/etc/adjtime\"\n      \"/etc/machine-id\"\n    ];\n"
        )
    );
}

#[test]
fn inline_and_empty_lists_stay_inline() {
    let text = "{\n  environment.persistence.\"/p\" = {\n    directories = [ \"/a\" \"/b\" ];\n    files = [];\n    users.alice.files = [ ];\n  };\n}\n";
    let out = edit(
        text,
        &[dir("/c"), file("/etc/f"), file("/home/alice/.zsh_history")],
    );
    assert_eq!(
        out,
        "{\n  environment.persistence.\"/p\" = {\n    directories = [ \"/a\" \"/b\" \"/c\" ];\n    files = [ \"/etc/f\" ];\n    users.alice.files = [ \".zsh_history\" ];\n  };\n}\n"
    );
}

#[test]
fn a_sorted_list_gets_the_item_at_its_place() {
    let text = r#"{
  environment.persistence."/nix/state".directories = [
    # system state
    "/var/lib/fwupd"
    "/var/lib/iwd"
    "/var/lib/nixos"
    { directory = "/var/lib/zz"; mode = "0700"; }
  ];
}
"#;
    let out = edit(text, &[dir("/var/lib/docker"), dir("/var/lib/hqplayer")]);
    let expected = with(text, "    \"/var/lib/fwupd\"", "    \"/var/lib/docker\"\n");
    let expected = with(
        &expected,
        "    \"/var/lib/iwd\"",
        "    \"/var/lib/hqplayer\"\n",
    );
    assert_eq!(out, expected);
    // Grouped by comments or blank lines: sorted by chance, so appended.
    let grouped = "{\n  environment.persistence.\"/p\".directories = [\n    # media\n    \"/a\"\n    \"/b\"\n\n    # dev\n    \"/c\"\n  ];\n}\n";
    assert_eq!(
        edit(grouped, &[dir("/0")]),
        with(grouped, "  ];", "    \"/0\"\n")
    );
}

#[test]
fn items_take_the_form_of_their_neighbours() {
    let multi = r#"{
  environment.persistence."/state".directories = [
    {
      directory = "/var/lib/iwd";
      mode = "0700";
    }
  ];
}
"#;
    let out = edit(multi, &[owned("/var/lib/private", "root", "root", 0o700)]);
    assert_eq!(
        out,
        with(
            multi,
            "  ];",
            "    {\n      directory = \"/var/lib/private\";\n      user = \"root\";\n      group = \"root\";\n      mode = \"0700\";\n    }\n"
        )
    );
    // Only sets around: a plain path is written as a set too.
    let sets = "{\n  environment.persistence.\"/p\".directories = [\n    { directory = \"/a\"; user = \"a\"; }\n  ];\n}\n";
    assert_eq!(
        edit(sets, &[dir("/b")]),
        with(sets, "  ];", "    { directory = \"/b\"; }\n")
    );
}

#[test]
fn the_dominant_indentation_wins_over_a_stray_tab() {
    let text = "{\n  environment.persistence.\"/p\".directories = [\n    \"/a\"\n\t\"/b\"\n    \"/c\"\n  ];\n}\n";
    assert_eq!(edit(text, &[dir("/d")]), with(text, "  ];", "    \"/d\"\n"));
}

#[test]
fn a_file_without_persistence_gets_a_new_location_at_the_end() {
    let text = "{ pkgs, ... }:\n{\n  environment.systemPackages = [ pkgs.ncdu ];\n}\n";
    assert_eq!(
        edit(text, &[dir("/var/lib/docker")]),
        with(
            text,
            "}\n",
            "  environment.persistence.\"/persist\".directories = [ \"/var/lib/docker\" ];\n"
        )
    );
    let full = "{ lib, ... }:\n{\n  options.x = lib.mkOption { };\n  config.services.x.enable = true;\n}\n";
    let out = edit(full, &[dir("/var/lib/x")]);
    assert!(
        out.contains(
            "  config.environment.persistence.\"/persist\".directories = [ \"/var/lib/x\" ];\n"
        ),
        "{out}"
    );
}

const TWO_ROOTS: &str = r#"{
  environment.persistence."/state".directories = [
    "/var/log"
    "/var/spool"
  ];
  environment.persistence."/persist" = {
    directories = [ "/var/lib/nixos" ];
  };
}
"#;

#[test]
fn of_several_storage_roots_the_closest_is_taken_unless_storage_chooses() {
    let out = apply(
        Path::new("p.nix"),
        Some(TWO_ROOTS),
        &Request::default(),
        &[dir("/var/lib/docker")],
        &homes(),
    )
    .expect("applies");
    assert!(
        out.text
            .contains("directories = [ \"/var/lib/nixos\" \"/var/lib/docker\" ];"),
        "{}",
        out.text
    );
    assert_eq!(
        out.notes,
        [
            "/var/lib/docker goes to /persist, the storage root whose entries are closest to it (--storage chooses another)"
        ]
    );
    let state = Request {
        storage: vec!["/state/".into()],
        ..Request::default()
    };
    assert_eq!(
        edit_with(TWO_ROOTS, &state, &[dir("/var/lib/docker")]).expect("edits"),
        with(
            TWO_ROOTS,
            "  ];\n  environment",
            "    \"/var/lib/docker\"\n"
        )
    );
}

#[test]
fn a_storage_root_or_module_the_file_does_not_use_is_an_error() {
    let other = Request {
        storage: vec!["/persistent".into()],
        ..Request::default()
    };
    let err = edit_with(TWO_ROOTS, &other, &[dir("/x")]).expect_err("contradiction");
    assert!(matches!(err, Error::BadInput { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("keeps its data in /state, /persist") && msg.contains("--storage /persistent"),
        "{msg}"
    );
    let pres = Request {
        flavor: Some(Flavor::Preservation),
        ..Request::default()
    };
    let msg = edit_with(TWO_ROOTS, &pres, &[dir("/x")])
        .expect_err("contradiction")
        .to_string();
    assert!(
        msg.contains("uses environment.persistence (line 2)")
            && msg.contains("--flavor preservation"),
        "{msg}"
    );
    // Home Manager is impermanence's too.
    let hm = "{ home.persistence.\"/persist\".directories = [ \"Music\" ]; }";
    let imp = Request {
        flavor: Some(Flavor::Impermanence),
        ..Request::default()
    };
    let out = edit_with(
        hm,
        &imp,
        &[owned("/home/alice/Videos", "alice", "users", 0o755)],
    )
    .expect("edits");
    assert!(out.contains("[ \"Music\" \"Videos\" ]"), "{out}");
}

#[test]
fn home_paths_go_to_users_and_a_computed_user_name_is_taken_when_it_is_the_only_one() {
    let text = r#"{ username, ... }:
{
  environment.persistence."/persist" = {
    directories = [ "/var/log" ];
    users.${username} = {
      directories = [
        "Music"
      ];
    };
  };
}
"#;
    let out = apply(
        Path::new("p.nix"),
        Some(text),
        &Request::default(),
        &[owned("/home/alice/.ssh", "alice", "users", 0o700)],
        &homes(),
    )
    .expect("applies");
    assert_eq!(
        out.text,
        with(
            text,
            "      ];\n    };",
            "        { directory = \".ssh\"; user = \"alice\"; group = \"users\"; mode = \"0700\"; }\n"
        )
    );
    assert!(
        out.notes[0].contains("users.${username}"),
        "{:?}",
        out.notes
    );
    // No users block: a new one, on one line.
    let plain = "{\n  environment.persistence.\"/persist\" = {\n    directories = [ \"/var/log\" ];\n  };\n}\n";
    assert_eq!(
        edit(
            plain,
            &[owned("/home/alice/Music", "alice", "users", 0o755)]
        ),
        with(
            plain,
            "  };\n}",
            "    users.alice.directories = [ \"Music\" ];\n"
        )
    );
    // Two computed names: which is alice?
    let two = "{ a, b, ... }: { environment.persistence.\"/p\".users = { ${a}.directories = [ \"x\" ]; ${b}.directories = [ \"y\" ]; }; }";
    let (problem, _) = refusal(two, &Request::default(), &[dir("/home/alice/z")]);
    assert!(
        problem.contains("cannot tell which one is alice"),
        "{problem}"
    );
}

#[test]
fn a_dynamic_name_is_never_written_twice() {
    // `users.${u}.files` next to `users.${u}.directories` in the same set
    // is an error in Nix ("dynamic attribute already defined").
    let text =
        "{ u, ... }: {\n  environment.persistence.\"/p\".users.${u}.directories = [ \"x\" ];\n}\n";
    let (problem, paste) = refusal(text, &Request::default(), &[file("/home/alice/.f")]);
    assert!(problem.contains("`${u}`"), "{problem}");
    assert!(
        paste.contains("environment.persistence.\"/p\".users.${u}.files"),
        "{paste}"
    );
}

#[test]
fn wrappers_and_let_are_seen_through() {
    let text = r#"{ config, lib, ... }:
let
  cfg = config.my.impermanence;
in
{
  config = lib.mkIf cfg.enable {
    environment.persistence = lib.mkMerge [
      {
        "/persistent/cache" = lib.mkIf (builtins.pathExists "/persistent") {
          directories = [
            "/var/lib/qdrant"
          ];
        };
      }
    ];
  };
}
"#;
    let out = edit(text, &[dir("/var/cache/x"), file("/etc/x")]);
    let expected = with(text, "          ];", "            \"/var/cache/x\"\n");
    let expected = with(
        &expected,
        "        };\n      }",
        "          files = [ \"/etc/x\" ];\n",
    );
    assert_eq!(out, expected);
}

#[test]
fn the_literal_head_of_a_concatenation_takes_the_item() {
    let text = "{ lib, config, ... }: {\n  environment.persistence.\"/p\".directories = [\n    \"/a\"\n  ]\n  ++ lib.optionals config.x [ \"/b\" ];\n}\n";
    assert_eq!(
        edit(text, &[dir("/c")]),
        with(text, "  ]\n  ++", "    \"/c\"\n")
    );
    // Listed in the conditional tail: already there.
    assert_eq!(edit(text, &[dir("/b/sub")]), text);
}

#[test]
fn refusals_name_the_construct_and_give_the_lines_to_paste() {
    let var = "{ persistPath, ... }:\n{\n  environment.persistence.${persistPath}.directories = [\n    \"/var/lib/nixos\"\n  ];\n}\n";
    let (problem, paste) = refusal(var, &Request::default(), &[dir("/var/lib/docker")]);
    assert_eq!(
        problem,
        "no safe place to add /var/lib/docker: the storage root of \
         environment.persistence.${persistPath} is `${persistPath}` (line 3), an expression \
         darlings does not evaluate, so it cannot tell where the data would be kept. Nothing \
         was changed; add this line yourself:"
    );
    assert_eq!(
        paste,
        "  environment.persistence.${persistPath}.directories (line 3):\n    \"/var/lib/docker\""
    );
    let computed = "{ lib, cfg, ... }: {\n  preservation.preserveAt.\"/p\".files =\n    map (f: \"/etc/\" + f) cfg.files;\n}\n";
    let (problem, paste) = refusal(computed, &Request::default(), &[file("/etc/x")]);
    assert!(
        problem.contains("preservation.preserveAt.\"/p\".files is built by `map` (line 3)"),
        "{problem}"
    );
    assert_eq!(
        paste,
        "  preservation.preserveAt.\"/p\".files (line 3):\n    \"/etc/x\""
    );
}

#[test]
fn home_manager_before_and_after_the_rewrite() {
    // v1: the location is the user's own storage directory.
    let v1 = "{\n  home.persistence.\"/persist/home/alice\" = {\n    allowOther = true;\n    directories = [ \"Music\" ];\n  };\n}\n";
    let out = edit(v1, &[owned("/home/alice/.ssh", "alice", "users", 0o700)]);
    assert!(
        out.contains("[ \"Music\" \".ssh\" ]"),
        "v1 has no modes: {out}"
    );
    let wrong = Request {
        storage: vec!["/persist".into()],
        ..Request::default()
    };
    assert!(edit_with(v1, &wrong, &[dir("/home/alice/x")]).is_ok());
    // removePrefixDirectory: every entry starts with a package name.
    let stow = "{\n  home.persistence.\"/persist/dotfiles\" = {\n    removePrefixDirectory = true;\n    directories = [ \"nvim/.config/nvim\" ];\n  };\n}\n";
    let (problem, _) = refusal(stow, &Request::default(), &[dir("/home/alice/.cache/x")]);
    assert!(
        problem.contains("removePrefixDirectory = true (line 2)"),
        "{problem}"
    );
    // A system path has no place in a Home Manager file.
    let (problem, paste) = refusal(v1, &Request::default(), &[dir("/var/lib/x")]);
    assert!(problem.contains("Home Manager"), "{problem}");
    assert!(
        paste.contains("environment.persistence.\"/persist\".directories"),
        "{paste}"
    );
}

#[test]
fn preservation_users_outside_home_name_their_home() {
    let text = "{\n  preservation.preserveAt.\"/persist\" = {\n    directories = [ \"/var/log\" ];\n  };\n}\n";
    let out = edit(text, &[owned("/root/.ssh", "root", "root", 0o700)]);
    assert_eq!(
        out,
        with(
            text,
            "  };\n}",
            "    users.root.home = \"/root\";\n    users.root.directories = [ { directory = \".ssh\"; user = \"root\"; group = \"root\"; mode = \"0700\"; } ];\n"
        )
    );
}

#[test]
fn a_darlings_file_is_rendered_again_unless_a_person_edited_it() {
    let new = apply(
        Path::new("p.nix"),
        None,
        &Request::default(),
        &[dir("/var/log")],
        &homes(),
    )
    .expect("renders")
    .text;
    let again = edit(&new, &[dir("/var/lib/docker")]);
    assert!(
        again
            .contains("    directories = [\n      \"/var/lib/docker\"\n      \"/var/log\"\n    ];"),
        "sorted and re-rendered: {again}"
    );
    let commented = new.replace("  environment", "  # mine\n  environment");
    let edited = edit(&commented, &[dir("/var/lib/docker")]);
    assert!(edited.contains("# mine"), "{edited}");
    assert!(
        edited.contains("directories = [ \"/var/log\" \"/var/lib/docker\" ];"),
        "{edited}"
    );
}
