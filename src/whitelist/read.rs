//! Reading a whitelist file darlings wrote (its header line) into its
//! canonical parts, with rnix's literal view: every entry, its extra
//! attributes, other locations and other options are kept.

use std::collections::BTreeMap;
use std::path::Path;

use super::doc::{Doc, Item, Lists, Location};
use super::{Flavor, HEADER};
use crate::error::{Error, Result};
use crate::nix::{self, Attrs, Value};

pub(super) fn read_doc(path: &Path, text: &str) -> Result<Doc> {
    let bad = |problem: String| Error::bad_input(path, problem);
    let module = nix::parse_module(text).map_err(&bad)?;
    let mut doc = Doc {
        comments: module
            .leading_comments
            .into_iter()
            .filter(|c| c != HEADER)
            .collect(),
        header: module.header,
        under_config: matches!(module.body.get("config"), Some(Value::Set(_))),
        other: module.body,
        locations: BTreeMap::new(),
    };
    for flavor in [Flavor::Impermanence, Flavor::Preservation] {
        let mut option = flavor.option().to_vec();
        if doc.under_config {
            option.insert(0, "config");
        }
        let at = option.join(".");
        match doc.other.take_path(&option) {
            None => {}
            Some(Value::Set(locations)) => {
                for (name, loc) in locations.0 {
                    let lat = format!("{at}.{}", nix::quote(&name));
                    doc.locations
                        .insert((flavor, name), read_location(loc, &lat).map_err(&bad)?);
                }
            }
            Some(_) => {
                return Err(bad(format!(
                    "{at} is not a literal attribute set; darlings cannot merge into it"
                )));
            }
        }
    }
    Ok(doc)
}

fn read_location(loc: Value, at: &str) -> std::result::Result<Location, String> {
    let Value::Set(mut attrs) = loc else {
        return Err(format!("{at} is not a literal attribute set"));
    };
    let mut out = Location::default();
    if let Some(users) = attrs.take_path(&["users"]) {
        let Value::Set(users) = users else {
            return Err(format!("{at}.users is not a literal attribute set"));
        };
        for (name, lists) in users.0 {
            let uat = format!("{at}.users.{}", nix::attr_key(&name));
            let Value::Set(lists) = lists else {
                return Err(format!("{uat} is not a literal attribute set"));
            };
            out.users.insert(name, read_lists(lists, &uat)?);
        }
    }
    out.lists = read_lists(attrs, at)?;
    Ok(out)
}

fn read_lists(mut attrs: Attrs, at: &str) -> std::result::Result<Lists, String> {
    let mut out = Lists::default();
    for (key, field, slot) in [
        ("directories", "directory", &mut out.dirs),
        ("files", "file", &mut out.files),
    ] {
        let Some(list) = attrs.take_path(&[key]) else {
            continue;
        };
        let Value::List(items) = list else {
            return Err(format!(
                "{at}.{key} is not a literal list; darlings cannot merge into it"
            ));
        };
        for (i, item) in items.into_iter().enumerate() {
            slot.push(match item {
                Value::Str(path) => Item {
                    path,
                    attrs: Attrs::default(),
                },
                Value::Set(mut a) => match a.take_path(&[field]) {
                    Some(Value::Str(path)) => Item { path, attrs: a },
                    _ => return Err(format!("{at}.{key}[{i}] has no literal `{field}` string")),
                },
                _ => {
                    return Err(format!(
                        "{at}.{key}[{i}] is not a literal string or attribute set"
                    ));
                }
            });
        }
    }
    out.attrs = attrs;
    Ok(out)
}
