//! Editing a whitelist file a person wrote the way that person would edit
//! it (docs/whitelist-editing.md): each new path becomes one new item in the
//! list it belongs to, in the file's own style, and every other byte of the
//! file stays where it was.
//!
//! The file's module and storage root are the defaults; `--flavor` and
//! `--storage` only choose among what the file has, and contradicting it is
//! an error. Where darlings cannot see a safe place (a list built by a
//! function, a storage root named by a variable), nothing is changed and the
//! error gives the lines to add by hand.

mod choose;
mod insert;

use std::path::{Path, PathBuf};

use super::doc::Item as NewItem;
use super::merge::normalise;
use super::outline::{Location, Module, Name, Outline, Val};
use super::style::line_of;
use super::{Promotion, Request};
use crate::error::{Error, Result};
use crate::nix;
use crate::persistence::default_home;

/// The edited text and what was decided on the way.
pub(super) struct Edited {
    /// The file's new text (the old one when nothing changes).
    pub(super) text: String,
    /// One line per decision worth telling (a path already listed, the
    /// storage root chosen among several, a user name guessed).
    pub(super) notes: Vec<String>,
}

/// A person and their home.
type Person = (String, PathBuf);

/// People and their homes, as the scanned root's `/etc/passwd` says.
struct Homes(Vec<Person>);

impl Homes {
    fn new(homes: &[Person]) -> Homes {
        // A home at `/` (or a relative one) would swallow every path.
        Homes(
            homes
                .iter()
                .filter(|(_, dir)| dir.is_absolute() && dir.parent().is_some())
                .cloned()
                .collect(),
        )
    }

    /// The person whose home holds `path` (strictly below it); the deepest
    /// home wins.
    fn person_of(&self, path: &str) -> Option<&Person> {
        self.0
            .iter()
            .filter(|(_, dir)| {
                Path::new(path)
                    .strip_prefix(dir)
                    .is_ok_and(|r| !r.as_os_str().is_empty())
            })
            .max_by_key(|(_, dir)| dir.as_os_str().len())
    }

    fn home(&self, name: &str) -> Option<&Path> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_path())
    }
}

/// The storage root of a location, and for Home Manager the home it
/// belongs to when the file says.
#[derive(Clone, Debug)]
struct Root {
    /// The storage root, normalised; or the expression that names it.
    path: std::result::Result<String, (String, usize)>,
    /// Home Manager: whose home (`home-manager.users.NAME`, or the
    /// per-user storage path of the module before its 2025 rewrite).
    hm_home: Option<Person>,
}

/// Everything the decisions need.
struct Cx<'a> {
    file: &'a Path,
    text: &'a str,
    outline: &'a Outline,
    roots: Vec<Root>,
    homes: Homes,
    req: &'a Request,
}

impl Cx<'_> {
    fn line(&self, at: usize) -> usize {
        line_of(self.text, at)
    }

    /// `environment.persistence."/persist"` as written.
    fn loc_name(&self, loc: &Location) -> String {
        format!("{}.{}", loc.module.option().join("."), loc.key.text)
    }

    /// The home `users.NAME` (or a Home Manager location) stands for;
    /// `person` stands in for names darlings cannot read (`${username}`).
    fn home_for(&self, i: usize, user: Option<&Name>, person: Option<&Person>) -> Option<PathBuf> {
        let loc = &self.outline.locations[i];
        if loc.module == Module::HomeManager {
            if let Some((_, h)) = &self.roots[i].hm_home {
                return Some(h.clone());
            }
            if let Some(name) = loc.hm_user.as_ref().and_then(|n| n.lit.as_deref())
                && let Some(h) = self.homes.home(name)
            {
                return Some(h.to_path_buf());
            }
            return person.map(|(_, h)| h.clone());
        }
        let user = user?;
        let def = loc.users.iter().find(|u| u.name.same(user));
        if let Some(Val::Str(h)) = def.and_then(|d| d.home.as_ref()) {
            return Some(PathBuf::from(h));
        }
        match &user.lit {
            Some(name) => Some(
                self.homes
                    .home(name)
                    .map_or_else(|| default_home(name), Path::to_path_buf),
            ),
            None => person.map(|(_, h)| h.clone()),
        }
    }

    /// Every path location `i` lists, absolute, with whether it is a
    /// directory and its offset.
    fn listed(&self, i: usize, person: Option<&Person>) -> Vec<(String, bool, usize)> {
        let loc = &self.outline.locations[i];
        let mut out = Vec::new();
        for def in &loc.lists {
            let home = self.home_for(i, def.user.as_ref(), person);
            for (p, at) in &def.listed {
                // With removePrefixDirectory the first component names a
                // stow package, not a directory of the home.
                let p = if matches!(loc.remove_prefix, Some(Val::Bool(true))) {
                    match p.split_once('/') {
                        Some((_, rest)) => rest,
                        None => continue,
                    }
                } else {
                    p.as_str()
                };
                let abs = if p.starts_with('/') {
                    normalise(p)
                } else if let Some(h) = &home {
                    normalise(&format!("{}/{p}", h.display()))
                } else {
                    continue;
                };
                out.push((abs, !def.files, *at));
            }
        }
        out
    }
}

/// Returns true if and only if `listed` (a directory when `is_dir`) keeps `path`.
fn covers(listed: &str, is_dir: bool, path: &str) -> bool {
    listed == path
        || (is_dir
            && (listed == "/"
                || path
                    .strip_prefix(listed)
                    .is_some_and(|r| r.starts_with('/'))))
}

fn root_of(loc: &Location, homes: &Homes) -> Root {
    let base = match (&loc.storage_path, &loc.key.lit) {
        (Some(Val::Str(s)), _) => Ok(s.clone()),
        (Some(Val::Expr(c)), _) => Err((c.text.clone(), c.at)),
        (Some(Val::Bool(_)), _) => Err(("a boolean".into(), loc.at)),
        (None, Some(k)) if k.starts_with('/') => Ok(k.clone()),
        (None, Some(k)) => Err((nix::quote(k), loc.at)),
        (None, None) => Err((loc.key.text.clone(), loc.at)),
    };
    let mut root = Root {
        path: base.map(|b| normalise(&b)),
        hm_home: None,
    };
    if loc.module != Module::HomeManager {
        return root;
    }
    let hm_user = loc.hm_user.as_ref().and_then(|n| n.lit.clone());
    if let Ok(base) = &root.path {
        // Before the 2025 rewrite the location named the user's own storage
        // directory (`/persist/home/alice`): split it into root and home.
        let known: Vec<&Person> = match &hm_user {
            Some(u) => homes.0.iter().filter(|(n, _)| n == u).collect(),
            None => homes.0.iter().collect(),
        };
        let mut split = known
            .iter()
            .filter_map(|(n, h)| {
                crate::persistence::strip_home(Path::new(base), h)
                    .map(|r| (r, (n.clone(), h.clone())))
            })
            .max_by_key(|(_, (_, h))| h.as_os_str().len());
        if split.is_none() {
            split = crate::persistence::split_home_suffix(Path::new(base))
                .filter(|(_, u)| hm_user.as_ref().is_none_or(|n| *n == u.name))
                .map(|(r, u)| (r, (u.name, u.dir)));
        }
        // After the rewrite the name is the storage root, which may not
        // contain the home (an assertion of the module): a home at its end
        // means the old layout.
        if let Some((r, person)) = split {
            root.path = Ok(r.display().to_string());
            root.hm_home = Some(person);
        }
    }
    if root.hm_home.is_none()
        && let Some(u) = &hm_user
        && let Some(h) = homes.home(u)
    {
        root.hm_home = Some((u.clone(), h.to_path_buf()));
    }
    root
}

/// The placements of the promotions that are not listed yet, the ones
/// without a safe place, and the notes.
type Decided = (Vec<choose::Placement>, Vec<choose::Refusal>, Vec<String>);

fn decide(cx: &Cx, promotions: &[Promotion]) -> Result<Decided> {
    let mut notes = Vec::new();
    let mut taken: Vec<(String, bool)> = Vec::new();
    let mut placed = Vec::new();
    let mut refused = Vec::new();
    let mut sorted: Vec<&Promotion> = promotions.iter().collect();
    // Ancestors first, so a promoted directory covers promotions below it.
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for p in sorted {
        let path = absolute_utf8(p)?;
        let person = cx.homes.person_of(&path).cloned();
        if let Some((listed, at)) = already_listed(cx, &path, person.as_ref()) {
            let how = if listed == path {
                String::new()
            } else {
                format!(" (below {listed})")
            };
            notes.push(format!(
                "{path} is already listed{how}, line {}",
                cx.line(at)
            ));
            continue;
        }
        if taken.iter().any(|(t, d)| covers(t, *d, &path)) {
            continue;
        }
        match choose::place(cx, p, &path, person.as_ref())? {
            Ok(placement) => {
                notes.extend(placement.note.clone());
                placed.push(placement);
            }
            Err(refusal) => refused.push(refusal),
        }
        taken.push((path, p.is_dir));
    }
    Ok((placed, refused, notes))
}

fn parse(file: &Path, text: &str) -> Result<Outline> {
    let parse = rnix::Root::parse(text);
    if let Some(err) = parse.errors().first() {
        return Err(Error::bad_input(file, nix::describe_parse_error(text, err)));
    }
    Ok(Outline::of(&parse.tree(), text))
}

fn cx<'a>(
    file: &'a Path,
    text: &'a str,
    outline: &'a Outline,
    req: &'a Request,
    homes: Homes,
) -> Cx<'a> {
    let roots = outline
        .locations
        .iter()
        .map(|l| root_of(l, &homes))
        .collect();
    Cx {
        file,
        text,
        outline,
        roots,
        homes,
        req,
    }
}

/// Edits `text` (the file `file`) so that it lists every promotion.
pub(super) fn edit(
    file: &Path,
    text: &str,
    req: &Request,
    promotions: &[Promotion],
    homes: &[Person],
) -> Result<Edited> {
    let outline = parse(file, text)?;
    let cx = cx(file, text, &outline, req, Homes::new(homes));
    let (placed, mut refused, notes) = decide(&cx, promotions)?;
    let edits = insert::render(&cx, &placed, &mut refused);
    if !refused.is_empty() {
        return Err(refusal_error(&cx, &placed, &refused));
    }
    let mut new = String::with_capacity(text.len() + 256);
    let mut last = 0;
    for (at, s) in &edits {
        new.push_str(&text[last..*at]);
        new.push_str(s);
        last = *at;
    }
    new.push_str(&text[last..]);
    verify(&cx, &new, &placed)?;
    Ok(Edited { text: new, notes })
}

/// Promotions grouped by the module and storage root they go to, for a
/// file darlings renders whole; and the notes.
pub(super) type Groups = Vec<((super::Flavor, String), Vec<Promotion>)>;

/// Decides, as [`edit`] does, where each promotion goes in `text`, without
/// editing it.
pub(super) fn roots_for(
    file: &Path,
    text: &str,
    req: &Request,
    promotions: &[Promotion],
    homes: &[Person],
) -> Result<(Groups, Vec<String>)> {
    let outline = parse(file, text)?;
    let cx = cx(file, text, &outline, req, Homes::new(homes));
    let (placed, refused, notes) = decide(&cx, promotions)?;
    if !refused.is_empty() {
        return Err(refusal_error(&cx, &placed, &refused));
    }
    let mut groups: Groups = Vec::new();
    for pl in &placed {
        let root = match pl.loc {
            Some(i) => cx.roots[i].path.clone().unwrap_or_default(),
            None => pl.key.lit.clone().unwrap_or_default(),
        };
        let key = (pl.module.flavor(), root);
        let Some(p) = promotions
            .iter()
            .find(|p| p.path.to_str().is_some_and(|s| normalise(s) == pl.path))
        else {
            continue;
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(p.clone()),
            None => groups.push((key, vec![p.clone()])),
        }
    }
    Ok((groups, notes))
}

/// The storage roots `text` (the file `file`) names, normalised; a root
/// named by an expression darlings cannot read is left out.
pub(super) fn storage_roots(file: &Path, text: &str, homes: &[Person]) -> Result<Vec<String>> {
    let outline = parse(file, text)?;
    let homes = Homes::new(homes);
    let mut roots: Vec<String> = outline
        .locations
        .iter()
        .filter_map(|l| root_of(l, &homes).path.ok())
        .collect();
    roots.sort();
    roots.dedup();
    Ok(roots)
}

/// Every path the enabled locations of `text` (the file `file`) list,
/// absolute and normalised, with the line that lists it, sorted. An entry
/// under a user name darlings cannot read (`users.${username}`) is left
/// out: whose home it is in depends on the configuration.
pub(super) fn listed_paths(
    file: &Path,
    text: &str,
    homes: &[Person],
) -> Result<Vec<(String, usize)>> {
    let outline = parse(file, text)?;
    let req = Request::default();
    let cx = cx(file, text, &outline, &req, Homes::new(homes));
    let mut out: Vec<(String, usize)> = (0..outline.locations.len())
        .filter(|&i| !matches!(outline.locations[i].enable, Some(Val::Bool(false))))
        .flat_map(|i| cx.listed(i, None))
        .map(|(p, _, at)| (p, cx.line(at)))
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

fn absolute_utf8(p: &Promotion) -> Result<String> {
    let Some(path) = p.path.to_str() else {
        return Err(Error::bad_input(
            &p.path,
            "not valid UTF-8: a Nix file cannot name it",
        ));
    };
    if !path.starts_with('/') {
        return Err(Error::bad_input(
            &p.path,
            "a promoted path must be absolute",
        ));
    }
    Ok(normalise(path))
}

/// A path of the file that keeps `path` already, in any location of any
/// module (enabled), with its offset.
fn already_listed(cx: &Cx, path: &str, person: Option<&Person>) -> Option<(String, usize)> {
    (0..cx.outline.locations.len())
        .filter(|&i| !matches!(cx.outline.locations[i].enable, Some(Val::Bool(false))))
        .flat_map(|i| cx.listed(i, person))
        .find(|(l, is_dir, _)| covers(l, *is_dir, path))
        .map(|(l, _, at)| (l, at))
}

/// Checks the edited text before anything is written: it parses, and reads
/// back with every new path listed.
fn verify(cx: &Cx, new: &str, placed: &[choose::Placement]) -> Result<()> {
    let parse = rnix::Root::parse(new);
    let outline = Outline::of(&parse.tree(), new);
    let after = self::cx(cx.file, new, &outline, cx.req, Homes(cx.homes.0.clone()));
    let broken = parse.errors().first().map(|e| e.to_string()).or_else(|| {
        placed
            .iter()
            .find(|p| {
                let person = after.homes.person_of(&p.path).cloned();
                already_listed(&after, &p.path, person.as_ref()).is_none()
            })
            .map(|p| format!("{} does not read back from the edited file", p.path))
    });
    match broken {
        None => Ok(()),
        Some(why) => Err(Error::NoSafeEdit {
            path: cx.file.to_path_buf(),
            problem: format!(
                "darlings could not verify its edit ({why}); nothing was changed. \
                 This is a bug in darlings; add these lines yourself:"
            ),
            paste: placed
                .iter()
                .map(|p| format!("  in {}:\n    {}", p.display, p.line))
                .collect::<Vec<_>>()
                .join("\n"),
        }),
    }
}

/// The error for promotions that have no safe place: why, and the lines to
/// add by hand for every path that is not listed yet.
fn refusal_error(cx: &Cx, placed: &[choose::Placement], refused: &[choose::Refusal]) -> Error {
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in refused {
        match reasons.iter_mut().find(|(why, _)| *why == r.problem) {
            Some((_, paths)) => paths.push(&r.path),
            None => reasons.push((&r.problem, vec![&r.path])),
        }
    }
    let why: Vec<String> = reasons
        .iter()
        .map(|(why, paths)| {
            if reasons.len() == 1 {
                (*why).to_string()
            } else {
                format!("{why} (for {})", paths.join(", "))
            }
        })
        .collect();
    let mut problem = match refused {
        [one] => format!("no safe place to add {}: {}", one.path, why.join("; ")),
        _ => format!(
            "no safe place to add {} paths: {}",
            refused.len(),
            why.join("; ")
        ),
    };
    problem.push_str(". Nothing was changed; add ");
    problem.push_str(if placed.len() + refused.len() == 1 {
        "this line"
    } else {
        "these lines"
    });
    problem.push_str(" yourself");
    if !placed.is_empty() {
        problem.push_str(" (the paths that had a place are included, so one paste does it all)");
    }
    problem.push(':');
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (display, line) in placed
        .iter()
        .map(|p| (&p.display, &p.line))
        .chain(refused.iter().map(|r| (&r.display, &r.line)))
    {
        match groups.iter_mut().find(|(d, _)| d == display) {
            Some((_, lines)) => lines.push(line.clone()),
            None => groups.push((display.clone(), vec![line.clone()])),
        }
    }
    let paste = groups
        .iter()
        .map(|(d, lines)| {
            let body: Vec<String> = lines.iter().map(|l| format!("    {l}")).collect();
            format!("  {d}:\n{}", body.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    Error::NoSafeEdit {
        path: cx.file.to_path_buf(),
        problem,
        paste,
    }
}

/// The item darlings writes for a promotion, as a new list entry.
fn item_for(
    loc: Option<&Location>,
    module: Module,
    p: &Promotion,
    path: &str,
    written: String,
    owner: Option<&str>,
) -> NewItem {
    let mut item = super::merge::promoted_item(module.flavor(), p, path, written, owner);
    // Home Manager entries before the 2025 rewrite have no owner or mode.
    if loc.is_some_and(|l| l.hm_v1) {
        item.attrs.0.clear();
    }
    item
}

#[cfg(test)]
mod tests;
