//! Tests of the outline: what the walk finds in the shapes people write.

use super::*;

fn outline(text: &str) -> Outline {
    let parse = rnix::Root::parse(text);
    assert!(parse.errors().is_empty(), "{:?}", parse.errors());
    Outline::of(&parse.tree(), text)
}

fn key(l: &Location) -> &str {
    l.key.lit.as_deref().unwrap_or(&l.key.text)
}

/// (location, user, files, items as written) of every literal list.
fn lists(o: &Outline) -> Vec<(String, Option<String>, bool, Vec<String>)> {
    let mut out = Vec::new();
    for l in &o.locations {
        for d in &l.lists {
            if let Some(t) = &d.target {
                out.push((
                    key(l).to_string(),
                    d.user.as_ref().map(|u| u.text.clone()),
                    d.files,
                    t.items.iter().filter_map(|i| i.path.clone()).collect(),
                ));
            }
        }
    }
    out
}

#[test]
fn nested_dotted_and_wrapped_definitions_meet_in_one_location() {
    let o = outline(
        r#"{ config, lib, ... }:
let user = "alice"; in
{
  config = lib.mkIf config.x.enable (lib.mkMerge [
    { environment.persistence."/persist".directories = [ "/var/log" ]; }
    {
      environment = {
        persistence = {
          "/persist" = lib.mkDefault {
            files = [ "/etc/machine-id" ] ++ lib.optionals true [ "/etc/x" ];
            users.${user}.directories = [ ".ssh" ];
          };
        };
      };
    }
  ]);
}"#,
    );
    assert_eq!(o.locations.len(), 1, "{:#?}", o.locations);
    let l = &o.locations[0];
    assert_eq!(l.module, Module::Nixos);
    assert_eq!(key(l), "/persist");
    assert_eq!(
        lists(&o),
        vec![
            ("/persist".into(), None, false, vec!["/var/log".into()]),
            (
                "/persist".into(),
                None,
                true,
                vec!["/etc/machine-id".into()]
            ),
            (
                "/persist".into(),
                Some("${user}".into()),
                false,
                vec![".ssh".into()]
            ),
        ]
    );
    // The conditional tail is listed, though nothing is added to it.
    let files = &l.lists[1];
    assert_eq!(
        files
            .listed
            .iter()
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>(),
        ["/etc/machine-id", "/etc/x"]
    );
    assert_eq!(l.users[0].name.lit, None);
    // The sets under `config` are deeper than the module's own.
    assert!(o.blocks.iter().any(|b| b.path.is_empty() && b.full_form));
}

#[test]
fn item_ranges_and_shapes_are_those_of_the_text() {
    let text = "{\n  environment.persistence.\"/p\".directories = [\n    \"/a\"\n    {\n      directory = \"/b\";\n      mode = \"0700\";\n    }\n    { directory = /c; }\n  ];\n}\n";
    let o = outline(text);
    let t = o.locations[0].lists[0].target.as_ref().expect("literal");
    assert_eq!(&text[t.open - 1..t.open], "[");
    assert_eq!(&text[t.close..=t.close], "]");
    let items: Vec<&str> = t.items.iter().map(|i| &text[i.start..i.end]).collect();
    assert_eq!(items[0], "\"/a\"");
    assert!(items[1].starts_with('{') && items[1].ends_with('}'));
    assert_eq!(t.items[1].path.as_deref(), Some("/b"));
    assert_eq!(
        t.items[1].set,
        Some(SetShape {
            multiline: true,
            inner: "  ".into()
        })
    );
    // A path literal counts as the path it names.
    assert_eq!(t.items[2].path.as_deref(), Some("/c"));
    assert_eq!(t.items[2].set.as_ref().map(|s| s.multiline), Some(false));
}

#[test]
fn what_cannot_be_edited_is_named_with_its_place() {
    let text = r#"{ cfg, lib, persistPath, ... }:
{
  environment.persistence.${persistPath}.directories = [ "/var/log" ];
  preservation.preserveAt."/state" = {
    persistentStoragePath = cfg.path;
    directories = map (d: "/var/lib/" + d) [ "x" ];
    files = lib.unique ([ "/etc/a" ] ++ cfg.files);
    users.bob = (import ./bob.nix).lists;
  };
  home.persistence = lib.mkAliasDefinitions cfg.persist;
}"#;
    let o = outline(text);
    let var = &o.locations[0];
    assert_eq!(var.key.lit, None);
    assert_eq!(var.key.text, "${persistPath}");
    let state = &o.locations[1];
    assert_eq!(state.module, Module::Preservation);
    assert!(matches!(&state.storage_path, Some(Val::Expr(c)) if c.text == "cfg.path"));
    let computed: Vec<&str> = state
        .lists
        .iter()
        .filter_map(|d| d.computed.as_ref().map(|c| c.text.as_str()))
        .collect();
    assert_eq!(computed, ["map", "lib.unique"]);
    // `map` makes its list's strings something else; `lib.unique` keeps them.
    assert!(state.lists[0].listed.is_empty());
    assert_eq!(state.lists[1].listed.len(), 1);
    assert!(
        matches!(&state.users[0].computed, Some(c) if c.text.starts_with("(import ./bob.nix)"))
    );
    assert_eq!(o.computed.len(), 1);
    assert_eq!(o.computed[0].0, Module::HomeManager);
    assert_eq!(o.computed[0].1.text, "lib.mkAliasDefinitions");
}

#[test]
fn home_manager_modules_nested_in_a_system_file_are_their_own_modules() {
    let o = outline(
        r#"{ impermanence, ... }: {
  environment.persistence."/persist/system".files = [];
  home-manager.users.buffet = { lib, ... }: {
    home.persistence."/persist/home/buffet" = {
      allowOther = true;
      removePrefixDirectory = false;
      directories = [ "data/books" ];
    };
  };
  flake.homeModules.x = { ... }: { home.persistence."/persist".files = [ ".zsh_history" ]; };
}"#,
    );
    let hm: Vec<&Location> = o
        .locations
        .iter()
        .filter(|l| l.module == Module::HomeManager)
        .collect();
    assert_eq!(hm.len(), 2);
    assert_eq!(
        hm[0].hm_user.as_ref().and_then(|u| u.lit.as_deref()),
        Some("buffet")
    );
    assert!(hm[0].hm_v1);
    assert_eq!(hm[0].remove_prefix, Some(Val::Bool(false)));
    assert_eq!(hm[1].hm_user, None);
    assert_ne!(hm[0].roots, o.locations[0].roots);
    assert_ne!(hm[0].roots, hm[1].roots);
}

#[test]
fn empty_locations_and_users_exist_and_strays_are_noticed() {
    let o = outline(
        r#"{ lib, username, ... }: {
  options.my.persist.directories = lib.mkOption { default = [ ]; };
  environment.persistence."/persist-games" = { };
  preservation.preserveAt."/p".users.${username} = {};
  environment.global-persistence.user.directories = [ "x" ];
  config = someFunction { };
}"#,
    );
    assert_eq!(key(&o.locations[0]), "/persist-games");
    assert!(o.locations[0].lists.is_empty());
    assert_eq!(o.locations[1].users.len(), 1);
    // An option's declaration is not a list of the file's own.
    assert_eq!(o.strays.len(), 1);
    assert_eq!(
        o.strays[0].text,
        "environment.global-persistence.user.directories"
    );
    assert_eq!(o.hidden[0].text, "someFunction");
}
