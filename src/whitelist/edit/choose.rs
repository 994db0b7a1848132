//! Where a new path goes: the location (module and storage root) whose
//! entries are closest to it unless `--storage` chooses, the list in it
//! (`directories`, `files`, `users.NAME`), or why there is no safe place.

use std::cmp::Reverse;
use std::path::Path;

use super::{Cx, Person, item_for};
use crate::error::{Error, Result};
use crate::nix;
use crate::whitelist::Promotion;
use crate::whitelist::doc::Item as NewItem;
use crate::whitelist::merge::normalise;
use crate::whitelist::outline::{Module, Name, Val};

/// A promotion and its place.
#[derive(Clone, Debug)]
pub(super) struct Placement {
    /// The absolute path.
    pub(super) path: String,
    /// The module of the location.
    pub(super) module: Module,
    /// The location (index into the outline); `None`: a new one.
    pub(super) loc: Option<usize>,
    /// The location's name (a new one: the storage root).
    pub(super) key: Name,
    /// `users.NAME`.
    pub(super) user: Option<Name>,
    /// A `files` entry.
    pub(super) files: bool,
    /// The list definition whose literal list takes the item; `None`: a new
    /// attribute.
    pub(super) list: Option<usize>,
    /// What to write.
    pub(super) item: NewItem,
    /// preservation, for a new `users.NAME` whose home is not
    /// `/home/NAME`: its `home`.
    pub(super) user_home: Option<String>,
    /// The list, for messages.
    pub(super) display: String,
    /// The item on one line, for messages.
    pub(super) line: String,
    /// What was decided that the user should know.
    pub(super) note: Option<String>,
}

/// A promotion without a safe place.
#[derive(Clone, Debug)]
pub(super) struct Refusal {
    /// The absolute path.
    pub(super) path: String,
    /// Why: the construct and its line.
    pub(super) problem: String,
    /// Where the user should add it.
    pub(super) display: String,
    /// The item on one line.
    pub(super) line: String,
}

/// Where one promotion goes inside a location.
struct Target {
    user: Option<Name>,
    list: Option<usize>,
    item: NewItem,
    user_home: Option<String>,
    display: String,
    note: Option<String>,
    problem: Option<String>,
}

fn same_user(a: Option<&Name>, b: Option<&Name>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.same(b),
        _ => false,
    }
}

/// `environment.persistence."/persist".users.alice.directories`.
fn list_name(module: Module, key: &Name, user: Option<&Name>, files: bool) -> String {
    let mut s = format!("{}.{}", module.option().join("."), key.text);
    if let Some(u) = user {
        s.push_str(".users.");
        s.push_str(&u.text);
    }
    s.push_str(if files { ".files" } else { ".directories" });
    s
}

fn lit_name(s: &str) -> Name {
    Name {
        lit: Some(s.to_string()),
        text: nix::attr_key(s),
    }
}

/// The item on one line.
pub(super) fn one_line(item: &NewItem, files: bool) -> String {
    let field = if files { "file" } else { "directory" };
    if item.attrs.0.is_empty() {
        return nix::quote(&item.path);
    }
    let pairs = crate::whitelist::doc::set_pairs(field, item);
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v};")).collect();
    format!("{{ {} }}", body.join(" "))
}

/// The number of leading path components `a` and `b` share.
fn common(a: &str, b: &str) -> usize {
    a.split('/')
        .zip(b.split('/'))
        .skip(1)
        .take_while(|(x, y)| x == y)
        .count()
}

/// Decides where `p` (absolute `path`) goes. An `Err` is a contradiction
/// with the file (exit 2, nothing to paste); `Ok(Err(_))` a promotion without
/// a safe place.
pub(super) fn place(
    cx: &Cx,
    p: &Promotion,
    path: &str,
    person: Option<&Person>,
) -> Result<std::result::Result<Placement, Refusal>> {
    let out = cx.outline;
    let flavor = cx.req.flavor;
    let mine: Vec<usize> = (0..out.locations.len())
        .filter(|&i| flavor.is_none_or(|f| out.locations[i].module.flavor() == f))
        .collect();
    if let Some(f) = flavor
        && mine.is_empty()
        && !out.computed.iter().any(|(m, _)| m.flavor() == f)
    {
        let other = out
            .locations
            .iter()
            .map(|l| (l.module, l.at))
            .chain(out.computed.iter().map(|(m, c)| (*m, c.at)))
            .min_by_key(|(_, at)| *at);
        if let Some((m, at)) = other {
            return Err(Error::bad_input(
                cx.file,
                format!(
                    "it uses {} (line {}), and --flavor {} would add {}, a module it does not use; \
                     drop --flavor to write into the module the file uses",
                    m.option().join("."),
                    cx.line(at),
                    f.name(),
                    Module::of(f).option().join("."),
                ),
            ));
        }
    }
    let eligible: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|&i| {
            let l = &out.locations[i];
            !matches!(l.enable, Some(Val::Bool(false)))
                && match l.module {
                    Module::HomeManager => person.is_some_and(|(_, ph)| {
                        cx.roots[i].hm_home.as_ref().is_none_or(|(_, h)| h == ph)
                    }),
                    _ => true,
                }
        })
        .collect();
    let score = |i: usize| {
        cx.listed(i, person)
            .iter()
            .map(|(l, _, _)| common(l, path))
            .max()
            .unwrap_or(0)
    };
    // A Home Manager location with removePrefixDirectory takes no new
    // path (see `target`): any other location is better.
    let usable = |i: usize| {
        !matches!(
            out.locations[i].remove_prefix,
            Some(Val::Bool(true) | Val::Expr(_))
        )
    };
    let best = |cands: &[usize]| {
        cands
            .iter()
            .copied()
            .max_by_key(|&i| (usable(i), score(i), Reverse(i)))
    };
    let new_module = Module::of(flavor.unwrap_or(super::super::Flavor::Impermanence));
    let chosen: std::result::Result<usize, (Option<usize>, String)> = if cx.req.storage.is_empty() {
        match best(&eligible) {
            Some(i) => match &cx.roots[i].path {
                Ok(_) => Ok(i),
                Err((expr, at)) => Err((
                    Some(i),
                    format!(
                        "the storage root of {} is `{expr}` (line {}), an expression darlings \
                         does not evaluate, so it cannot tell where the data would be kept",
                        cx.loc_name(&out.locations[i]),
                        cx.line(*at)
                    ),
                )),
            },
            None => {
                return Ok(no_location(cx, p, path, person, &mine, new_module, None));
            }
        }
    } else {
        let mut want = Vec::new();
        for s in &cx.req.storage {
            match s.to_str().filter(|s| s.starts_with('/')) {
                Some(s) => want.push(normalise(s)),
                None => {
                    return Err(Error::Usage(format!(
                        "--storage '{}' must be an absolute UTF-8 path",
                        crate::text::quote_path(s)
                    )));
                }
            }
        }
        let matching: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|&i| cx.roots[i].path.as_ref().is_ok_and(|r| want.contains(r)))
            .collect();
        if let Some(i) = best(&matching) {
            Ok(i)
        } else if let Some(&i) = eligible.iter().find(|&&i| cx.roots[i].path.is_err()) {
            let (expr, at) = cx.roots[i].path.clone().err().unwrap_or_default();
            Err((
                Some(i),
                format!(
                    "the storage root of {} is `{expr}` (line {}), an expression darlings does \
                     not evaluate, so it cannot tell whether it is {}",
                    cx.loc_name(&out.locations[i]),
                    cx.line(at),
                    want.join(" or ")
                ),
            ))
        } else if eligible.is_empty() {
            return Ok(no_location(
                cx,
                p,
                path,
                person,
                &mine,
                new_module,
                want.first().cloned(),
            ));
        } else {
            let mut roots: Vec<String> = Vec::new();
            for &i in &eligible {
                if let Ok(r) = &cx.roots[i].path
                    && !roots.contains(r)
                {
                    roots.push(r.clone());
                }
            }
            let first = &out.locations[eligible[0]];
            return Err(Error::bad_input(
                cx.file,
                format!(
                    "it keeps its data in {} ({}, line {}), and --storage {} names another \
                     storage root; darlings does not add a second one silently: drop --storage, \
                     or pass one of the file's",
                    roots.join(", "),
                    cx.loc_name(first),
                    cx.line(first.at),
                    want.join(" --storage ")
                ),
            ));
        }
    };
    let i = match chosen {
        Ok(i) => i,
        Err((i, problem)) => {
            let module = i.map_or(new_module, |i| out.locations[i].module);
            let t = target(cx, i, module, p, path, person);
            return Ok(Err(Refusal {
                path: path.to_string(),
                problem,
                display: t.display,
                line: one_line(&t.item, !p.is_dir),
            }));
        }
    };
    let loc = &out.locations[i];
    let t = target(cx, Some(i), loc.module, p, path, person);
    let problem = loc
        .computed
        .as_ref()
        .map(|c| {
            format!(
                "{} is `{}` (line {}), an expression darlings does not edit",
                cx.loc_name(loc),
                c.text,
                cx.line(c.at)
            )
        })
        .or(t.problem.clone());
    if let Some(problem) = problem {
        return Ok(Err(Refusal {
            path: path.to_string(),
            problem,
            display: t.display,
            line: one_line(&t.item, !p.is_dir),
        }));
    }
    let mut note = t.note;
    let storage_roots: Vec<&String> = eligible
        .iter()
        .filter_map(|&j| cx.roots[j].path.as_ref().ok())
        .collect();
    if cx.req.storage.is_empty()
        && storage_roots
            .iter()
            .any(|r| Ok(*r) != cx.roots[i].path.as_ref())
        && let Ok(r) = &cx.roots[i].path
    {
        let why = format!(
            "{path} goes to {r}, the storage root whose entries are closest to it \
             (--storage chooses another)"
        );
        note = Some(match note {
            Some(n) => format!("{why}; {n}"),
            None => why,
        });
    }
    Ok(Ok(Placement {
        path: path.to_string(),
        module: loc.module,
        loc: Some(i),
        key: loc.key.clone(),
        user: t.user,
        files: !p.is_dir,
        list: t.list,
        line: one_line(&t.item, !p.is_dir),
        item: t.item,
        user_home: t.user_home,
        display: t.display,
        note,
    }))
}

/// No location of the file can take `path`: a new location when the file
/// defines no persistence at all, else a refusal saying why.
fn no_location(
    cx: &Cx,
    p: &Promotion,
    path: &str,
    person: Option<&Person>,
    mine: &[usize],
    module: Module,
    storage: Option<String>,
) -> std::result::Result<Placement, Refusal> {
    let out = cx.outline;
    let storage = storage.unwrap_or_else(|| normalise(&cx.req.new_storage.display().to_string()));
    let t = target(cx, None, module, p, path, person);
    let key = lit_name(&storage);
    let display = list_name(module, &key, t.user.as_ref(), !p.is_dir);
    let line = one_line(&t.item, !p.is_dir);
    let refuse = |problem: String| {
        Err(Refusal {
            path: path.to_string(),
            problem,
            display: display.clone(),
            line: line.clone(),
        })
    };
    if let Some((m, c)) = out.computed.first() {
        return refuse(format!(
            "{} is `{}` (line {}), an expression darlings does not edit",
            m.option().join("."),
            c.text,
            cx.line(c.at)
        ));
    }
    if let Some(&i) = mine.first() {
        let l = &out.locations[i];
        let why = match l.module {
            Module::HomeManager => format!(
                "its only persistence is Home Manager's {} (line {}), which lists paths in \
                 one home only",
                cx.loc_name(l),
                cx.line(l.at)
            ),
            _ => format!("{} (line {}) is disabled", cx.loc_name(l), cx.line(l.at)),
        };
        return refuse(why);
    }
    if let Some(s) = out.strays.first() {
        return refuse(format!(
            "its lists are under `{}` (line {}), an option of its own that darlings does not \
             know how to map to a persistence module",
            s.text,
            cx.line(s.at)
        ));
    }
    if let Some(h) = out.hidden.first() {
        return refuse(format!(
            "its options are built by `{}` (line {}), which darlings does not evaluate",
            h.text,
            cx.line(h.at)
        ));
    }
    if module == Module::HomeManager || !out.blocks.iter().any(|b| b.path.is_empty()) {
        return refuse("it is not a module darlings can add an option to".into());
    }
    Ok(Placement {
        path: path.to_string(),
        module,
        loc: None,
        key,
        user: t.user,
        files: !p.is_dir,
        list: None,
        item: t.item,
        user_home: t.user_home,
        display,
        line,
        note: Some(format!(
            "{path}: the file had no persistence yet; added {}",
            list_name(module, &lit_name(&storage), None, !p.is_dir)
        )),
    })
}

/// The list of location `i` (or of a new location) that takes `path`, the
/// item to write, and any reason it is not safe.
fn target(
    cx: &Cx,
    i: Option<usize>,
    module: Module,
    p: &Promotion,
    path: &str,
    person: Option<&Person>,
) -> Target {
    let loc = i.map(|i| &cx.outline.locations[i]);
    let key = loc.map_or_else(
        || lit_name(&normalise(&cx.req.new_storage.display().to_string())),
        |l| l.key.clone(),
    );
    let files = !p.is_dir;
    let mut problem = None;
    let mut note = None;
    let mut user = None;
    let mut user_home = None;
    let rel = |home: &Path| {
        Path::new(path)
            .strip_prefix(home)
            .map(|r| r.display().to_string())
            .unwrap_or_default()
    };
    let (written, owner) = if module == Module::HomeManager {
        let home = i.and_then(|i| cx.home_for(i, None, person));
        let owner = i
            .and_then(|i| cx.roots[i].hm_home.as_ref().map(|(n, _)| n.clone()))
            .or_else(|| loc.and_then(|l| l.hm_user.as_ref()?.lit.clone()))
            .or_else(|| person.map(|(n, _)| n.clone()));
        if let Some(l) = loc {
            match &l.remove_prefix {
                Some(Val::Bool(true)) => {
                    problem = Some(format!(
                        "{} sets removePrefixDirectory = true (line {}): each entry starts with \
                         a stow package directory, which darlings cannot choose",
                        cx.loc_name(l),
                        cx.line(l.at)
                    ));
                }
                Some(Val::Expr(c)) => {
                    problem = Some(format!(
                        "{} sets removePrefixDirectory to `{}` (line {}), which darlings does \
                         not evaluate",
                        cx.loc_name(l),
                        c.text,
                        cx.line(c.at)
                    ));
                }
                _ => {}
            }
        }
        match home {
            Some(h) => (rel(&h), owner),
            None => (path.to_string(), owner),
        }
    } else if let Some((name, home)) = person {
        let mut scope = lit_name(name);
        if let Some(l) = loc {
            if let Some(c) = &l.users_computed {
                problem = Some(format!(
                    "{}.users is `{}` (line {}), an expression darlings does not edit",
                    cx.loc_name(l),
                    c.text,
                    cx.line(c.at)
                ));
            }
            let named = l.users.iter().find(|u| u.name.lit.as_deref() == Some(name));
            let mut dynamic: Vec<&Name> = Vec::new();
            for u in l.users.iter().filter(|u| u.name.lit.is_none()) {
                if !dynamic.iter().any(|d| d.same(&u.name)) {
                    dynamic.push(&u.name);
                }
            }
            match (named, dynamic.as_slice()) {
                (Some(u), _) => scope = u.name.clone(),
                (None, [one]) => {
                    scope = (*one).clone();
                    note = Some(format!(
                        "{path}: users.{} of {} taken as {name}, whose home holds it",
                        one.text,
                        cx.loc_name(l)
                    ));
                }
                (None, []) => {
                    if module == Module::Preservation && *home != Path::new("/home").join(name) {
                        user_home = Some(home.display().to_string());
                    }
                }
                (None, several) => {
                    let names: Vec<String> =
                        several.iter().map(|n| format!("`{}`", n.text)).collect();
                    problem = Some(format!(
                        "{} names its users by expressions ({}), and darlings cannot tell which \
                         one is {name}",
                        cx.loc_name(l),
                        names.join(", ")
                    ));
                }
            }
            if let Some(c) = l
                .users
                .iter()
                .find(|u| u.name.same(&scope))
                .and_then(|u| u.computed.as_ref())
            {
                problem = Some(format!(
                    "{}.users.{} is `{}` (line {}), an expression darlings does not edit",
                    cx.loc_name(l),
                    scope.text,
                    c.text,
                    cx.line(c.at)
                ));
            }
        } else if module == Module::Preservation && *home != Path::new("/home").join(name) {
            user_home = Some(home.display().to_string());
        }
        user = Some(scope);
        (rel(home), Some(name.clone()))
    } else {
        (path.to_string(), None)
    };
    let mut list = None;
    let mut display = list_name(module, &key, user.as_ref(), files);
    if let Some(l) = loc {
        let defs: Vec<(usize, &crate::whitelist::outline::ListDef)> = l
            .lists
            .iter()
            .enumerate()
            .filter(|(_, d)| d.files == files && same_user(d.user.as_ref(), user.as_ref()))
            .collect();
        if let Some((k, d)) = defs.iter().find(|(_, d)| d.target.is_some()) {
            list = Some(*k);
            display = format!("{display} (line {})", cx.line(d.at));
        } else if let Some((_, d)) = defs.iter().find(|(_, d)| d.computed.is_some()) {
            let c = d
                .computed
                .as_ref()
                .map(|c| (c.text.clone(), c.at))
                .unwrap_or_default();
            display = format!("{display} (line {})", cx.line(d.at));
            problem.get_or_insert(format!(
                "{} is built by `{}` (line {}), and darlings adds items only to a literal list",
                list_name(module, &key, user.as_ref(), files),
                c.0,
                cx.line(c.1)
            ));
        }
    }
    // A file that keeps its lists in an option of its own (a wrapper
    // module) gets its new entries there, by hand: a new list next to the
    // wrapper would split the whitelist in two places.
    if list.is_none()
        && problem.is_none()
        && let Some(s) = cx.outline.strays.first()
    {
        problem = Some(format!(
            "it keeps its lists under `{}` (line {}), an option of its own that darlings does \
             not map to a persistence module, and {} has no list of this kind",
            s.text,
            cx.line(s.at),
            loc.map_or_else(|| key.text.clone(), |l| cx.loc_name(l))
        ));
    }
    let item = item_for(loc, module, p, path, written, owner.as_deref());
    Target {
        user,
        list,
        item,
        user_home,
        display,
        note,
        problem,
    }
}
