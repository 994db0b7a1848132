//! The canonical form of a whitelist file darlings wrote itself: its parts
//! (locations, `users.NAME`, lists, items) and how they are printed, sorted
//! and stable, so that printing the same paths again is byte-identical.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Flavor, HEADER};
use crate::nix::{self, Attrs, Value};

/// its other attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Item {
    pub(super) path: String,
    pub(super) attrs: Attrs,
}

/// Directories, files and other attributes of a location or of `users.NAME`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Lists {
    pub(super) attrs: Attrs,
    pub(super) dirs: Vec<Item>,
    pub(super) files: Vec<Item>,
}

/// One `environment.persistence."NAME"` or `preservation.preserveAt."NAME"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Location {
    pub(super) lists: Lists,
    pub(super) users: BTreeMap<String, Lists>,
}

/// The whole file.
#[derive(Debug, Default)]
pub(super) struct Doc {
    /// The user's comments at the top of the file (darlings' header excluded).
    pub(super) comments: Vec<String>,
    /// The function header (`{ lib, ... }:`), when the file is a function.
    pub(super) header: Option<String>,
    /// The module is in full form: options are defined under `config`.
    pub(super) under_config: bool,
    pub(super) locations: BTreeMap<(Flavor, String), Location>,
    /// Every other option in the file, kept as it was.
    pub(super) other: Attrs,
}

pub(super) fn print_doc(doc: &Doc) -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    out.push('\n');
    for comment in &doc.comments {
        out.push_str(comment);
        out.push('\n');
    }
    if let Some(header) = &doc.header {
        out.push_str(header);
        out.push('\n');
    }
    out.push_str("{\n");
    for ((flavor, name), loc) in &doc.locations {
        let [a, b] = flavor.option();
        let config = if doc.under_config { "config." } else { "" };
        let _ = writeln!(out, "  {config}{a}.{b}.{} = {{", nix::quote(name));
        print_lists(&mut out, "    ", &loc.lists);
        for (user, lists) in &loc.users {
            let _ = writeln!(out, "    users.{} = {{", nix::attr_key(user));
            print_lists(&mut out, "      ", lists);
            out.push_str("    };\n");
        }
        out.push_str("  };\n");
    }
    // Options sharing their first name with a location written above
    // (`preservation.enable` next to `preservation.preserveAt`) come first:
    // Nix merges them into that first occurrence when the file is read back,
    // so any other order would change at the next promote
    // (docs/whitelist-editing.md: a second promote changes nothing).
    let mut heads: Vec<&str> = Vec::new();
    for (flavor, _) in doc.locations.keys() {
        let head = if doc.under_config {
            "config"
        } else {
            flavor.option()[0]
        };
        if !heads.contains(&head) {
            heads.push(head);
        }
    }
    let mut other = nix::Attrs(Vec::with_capacity(doc.other.0.len()));
    for head in &heads {
        other
            .0
            .extend(doc.other.0.iter().filter(|(k, _)| k == head).cloned());
    }
    other.0.extend(
        doc.other
            .0
            .iter()
            .filter(|(k, _)| !heads.contains(&k.as_str()))
            .cloned(),
    );
    nix::write_dotted(&mut out, "  ", "", &other);
    out.push_str("}\n");
    out
}

fn print_lists(out: &mut String, indent: &str, lists: &Lists) {
    nix::write_dotted(out, indent, "", &lists.attrs);
    for (key, field, items) in [
        ("directories", "directory", &lists.dirs),
        ("files", "file", &lists.files),
    ] {
        let mut items: Vec<&Item> = items.iter().collect();
        // Sorted by path; the first of equal paths (the existing one) wins.
        items.sort_by(|a, b| a.path.cmp(&b.path));
        items.dedup_by(|b, a| a.path == b.path);
        match items.as_slice() {
            [] => {}
            [one] if one.attrs.0.is_empty() => {
                let _ = writeln!(out, "{indent}{key} = [ {} ];", nix::quote(&one.path));
            }
            _ => {
                let _ = writeln!(out, "{indent}{key} = [");
                for item in items {
                    let _ = writeln!(out, "{indent}  {}", print_item(field, item));
                }
                let _ = writeln!(out, "{indent}];");
            }
        }
    }
}

fn print_item(field: &str, item: &Item) -> String {
    if item.attrs.0.is_empty() {
        return nix::quote(&item.path);
    }
    let mut s = String::from("{ ");
    for (k, v) in set_pairs(field, item) {
        let _ = write!(s, "{k} = {v}; ");
    }
    s.push('}');
    s
}

/// The attributes of `item` in its attribute-set form, as Nix source:
/// the path first, then owner and mode, then the rest by name (stable
/// output whatever order the user wrote them in).
pub(super) fn set_pairs(field: &str, item: &Item) -> Vec<(String, String)> {
    let rank = |k: &str| match k {
        "user" => 0,
        "group" => 1,
        "mode" => 2,
        _ => 3,
    };
    let mut attrs: Vec<&(String, Value)> = item.attrs.0.iter().collect();
    attrs.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
    let mut out = vec![(field.to_string(), nix::quote(&item.path))];
    out.extend(
        attrs
            .into_iter()
            .map(|(k, v)| (nix::attr_key(k), nix::inline(v))),
    );
    out
}
