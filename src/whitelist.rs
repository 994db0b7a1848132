//! The whitelist file darlings writes (SPEC §6): a NixOS module for
//! impermanence (`environment.persistence`) or preservation
//! (`preservation.preserveAt`), merged with the existing file, sorted and
//! stable, and written atomically with the previous version kept as `.bak`.
//!
//! An existing file is read with rnix and merged: its entries, their extra
//! attributes (`inInitrd`, `how`, `parentDirectory`, ...), other storage
//! locations, any other options, the comments at the top and the function
//! header (`{ lib, ... }:`) are kept. Other comments and the layout are not:
//! the file is printed again in the canonical form (the previous version
//! stays in `FILE.bak`). A file darlings cannot rewrite faithfully (not a
//! literal attribute set, an entry computed by an expression) is an error,
//! and nothing is written.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::nix::{self, Attrs, Value};
use crate::persistence::default_home;

/// The header of every file darlings writes.
pub const HEADER: &str = "# Written by darlings; safe to edit. Import it from your configuration.";

/// The module the written whitelist targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flavor {
    /// nix-community/impermanence: `environment.persistence."/persist"`.
    Impermanence,
    /// nix-community/preservation: `preservation.preserveAt."/persist"`.
    Preservation,
}

impl Flavor {
    fn option(self) -> [&'static str; 2] {
        match self {
            Flavor::Impermanence => ["environment", "persistence"],
            Flavor::Preservation => ["preservation", "preserveAt"],
        }
    }
}

/// A path to add, with its current owner and mode on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// Absolute path on the root.
    pub path: PathBuf,
    /// A directory (`directories`) rather than a file (`files`).
    pub is_dir: bool,
    /// Owner name (the caller resolves the uid).
    pub user: String,
    /// Group name (the caller resolves the gid).
    pub group: String,
    /// Permission bits; only the low 12 bits are used.
    pub mode: u32,
}

impl Promotion {
    /// A promotion of the absolute in-root path `path` (raw bytes).
    pub fn new(path: Vec<u8>, is_dir: bool, user: String, group: String, mode: u32) -> Promotion {
        use std::os::unix::ffi::OsStringExt;
        Promotion {
            path: PathBuf::from(std::ffi::OsString::from_vec(path)),
            is_dir,
            user,
            group,
            mode,
        }
    }
}

/// Renders the whitelist: `existing` (the current file, if any) merged with
/// `promotions` stored under `storage`; paths below one of `homes` (user,
/// home) go into `users.NAME` with home-relative paths. `homes` should list
/// people (root and normal users), not system users whose home is their
/// state directory (`colord` at `/var/lib/colord`).
///
/// A promotion already covered by the file (listed, or below a listed
/// directory, in any location) is not added again; an existing entry is
/// never changed, so the user's edits win.
///
/// The output is sorted, so rendering the same paths again is byte-identical.
pub fn render(
    existing: Option<&str>,
    flavor: Flavor,
    storage: &Path,
    promotions: &[Promotion],
    homes: &[(String, PathBuf)],
) -> Result<String> {
    render_named(
        existing.map(|t| (Path::new("existing whitelist"), t)),
        flavor,
        storage,
        promotions,
        homes,
    )
}

/// What writing promotions into a whitelist file would do: the file's text
/// now and after. The one read–render path of `promote` and the TUI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The whitelist file.
    pub path: PathBuf,
    /// Its text now (`None`: it does not exist yet).
    pub old: Option<String>,
    /// Its text after the write.
    pub new: String,
}

impl Plan {
    /// Returns true if and only if the write would change the file.
    pub fn changes_file(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_str())
    }

    /// Writes the new text (see [`write_atomic`]).
    pub fn write(&self) -> Result<()> {
        write_atomic(&self.path, &self.new)
    }
}

/// Reads `path` if it exists (a symlink is followed, a fifo is never
/// opened) and renders it with `promotions` merged in (see [`render`]);
/// nothing is written.
pub fn plan(
    path: &Path,
    flavor: Flavor,
    storage: &Path,
    promotions: &[Promotion],
    homes: &[(String, PathBuf)],
) -> Result<Plan> {
    let old = match crate::safe_open::read_regular(path) {
        Ok(bytes) => Some(
            String::from_utf8(bytes)
                .map_err(|_| Error::bad_input(path, "not UTF-8 text: not a Nix file"))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let new = render_named(
        old.as_deref().map(|t| (path, t)),
        flavor,
        storage,
        promotions,
        homes,
    )?;
    Ok(Plan {
        path: path.to_path_buf(),
        old,
        new,
    })
}

/// Writes `contents` to `path` atomically: a temporary file in the same
/// directory, synced, then renamed over `path`; the previous version is kept
/// as `path.bak`. A symlink is followed: the file it points to is replaced.
/// On failure no partial file is left behind.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    // A whitelist kept in a dotfiles repository is often symlinked into
    // place: replace the file the link points to, not the link.
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            resolved =
                std::fs::canonicalize(path).map_err(|e| Error::io("cannot resolve", path, e))?;
            resolved.as_path()
        }
        _ => path,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        return Err(Error::bad_input(path, "not a file name"));
    };
    let previous = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Some(meta),
        Ok(_) => {
            return Err(Error::bad_input(
                path,
                "exists and is not a regular file; not replacing it",
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("cannot inspect", path, e)),
    };
    // A new file gets the usual mode of a configuration file; a replaced
    // one keeps its own.
    let perms = previous.as_ref().map_or_else(
        || std::os::unix::fs::PermissionsExt::from_mode(0o644),
        std::fs::Metadata::permissions,
    );
    if previous.is_some() {
        let mut bak = name.to_os_string();
        bak.push(".bak");
        let bak = dir.join(bak);
        let old =
            crate::safe_open::read_regular(path).map_err(|e| Error::io("cannot read", path, e))?;
        write_replacing(dir, &bak, &old, perms.clone())?;
    }
    write_replacing(dir, path, contents.as_bytes(), perms)?;
    // The renames are durable only once the directory is synced.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot sync directory", dir, e))
}

/// Writes `bytes` to `target` through [`crate::output::write_atomic`] (an
/// unnamed `O_TMPFILE` where supported, so a kill leaves no temporary), then
/// gives it `perms`.
fn write_replacing(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    perms: std::fs::Permissions,
) -> Result<()> {
    let _ = dir;
    crate::output::write_atomic(target, false, |w| w.write_all(bytes))?;
    std::fs::set_permissions(target, perms).map_err(|e| Error::io("cannot write", target, e))
}

/// One list item: its path as written (absolute, or relative to a home) and
/// its other attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    path: String,
    attrs: Attrs,
}

/// Directories, files and other attributes of a location or of `users.NAME`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Lists {
    attrs: Attrs,
    dirs: Vec<Item>,
    files: Vec<Item>,
}

/// One `environment.persistence."NAME"` or `preservation.preserveAt."NAME"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Location {
    lists: Lists,
    users: BTreeMap<String, Lists>,
}

/// The whole file.
#[derive(Debug, Default)]
struct Doc {
    /// The user's comments at the top of the file (darlings' header excluded).
    comments: Vec<String>,
    /// The function header (`{ lib, ... }:`), when the file is a function.
    header: Option<String>,
    /// The module is in full form: options are defined under `config`.
    under_config: bool,
    locations: BTreeMap<(Flavor, String), Location>,
    /// Every other option in the file, kept as it was.
    other: Attrs,
}

/// [`render`], naming the existing file (`path`) in its errors.
pub fn render_named(
    existing: Option<(&Path, &str)>,
    flavor: Flavor,
    storage: &Path,
    promotions: &[Promotion],
    homes: &[(String, PathBuf)],
) -> Result<String> {
    let mut doc = match existing {
        Some((path, text)) => read_doc(path, text)?,
        None => Doc::default(),
    };
    let Some(storage_name) = storage
        .to_str()
        .filter(|s| s.starts_with('/'))
        .map(normalise)
    else {
        return Err(Error::bad_input(
            storage,
            "the storage root must be an absolute UTF-8 path",
        ));
    };
    // A home at `/` (or a relative one) would swallow every path.
    let mut homes: Vec<(String, PathBuf)> = homes
        .iter()
        .filter(|(_, dir)| dir.is_absolute() && dir.parent().is_some())
        .cloned()
        .collect();
    for loc in doc.locations.values() {
        for (user, lists) in &loc.users {
            homes.push((user.clone(), home_of(user, lists, &homes)));
        }
    }
    let mut taken = persisted_paths(&doc, &homes);
    let mut sorted: Vec<&Promotion> = promotions.iter().collect();
    // Ancestors first, so a promoted directory covers promotions below it.
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for p in sorted {
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
        let path = normalise(path);
        if is_covered(&taken, &path) {
            continue;
        }
        let loc = doc
            .locations
            .entry(location_key(&doc, flavor, &storage_name))
            .or_default();
        let home = homes
            .iter()
            .filter(|(_, dir)| {
                Path::new(&path)
                    .strip_prefix(dir)
                    .is_ok_and(|r| !r.as_os_str().is_empty())
            })
            .max_by_key(|(_, dir)| dir.as_os_str().len());
        let (lists, written, owner) = match home {
            Some((user, dir)) => {
                let rel = Path::new(&path)
                    .strip_prefix(dir)
                    .map(|r| r.display().to_string())
                    .unwrap_or_default();
                let lists = loc.users.entry(user.clone()).or_default();
                // preservation's docs ask for `home` whenever it is not
                // /home/NAME, root included (impermanence removed the option:
                // it must not be written there).
                if flavor == Flavor::Preservation
                    && lists.attrs.get("home").is_none()
                    && *dir != Path::new("/home").join(user)
                {
                    let home = Value::Str(dir.display().to_string());
                    lists.attrs.0.push(("home".into(), home));
                }
                (lists, rel, Some(user.as_str()))
            }
            None => (&mut loc.lists, path.clone(), None),
        };
        let item = promoted_item(flavor, p, &path, written, owner);
        if p.is_dir {
            lists.dirs.push(item);
        } else {
            lists.files.push(item);
        }
        taken.push((path, p.is_dir));
    }
    Ok(print_doc(&doc))
}

/// The location new entries for `storage` go to: an existing one of the
/// flavour whose storage path it is (by name or `persistentStoragePath`),
/// else one named after the storage path.
fn location_key(doc: &Doc, flavor: Flavor, storage: &str) -> (Flavor, String) {
    let same = |v: &Value| matches!(v, Value::Str(s) | Value::Path(s) if normalise(s) == storage);
    doc.locations
        .iter()
        .filter(|((f, _), _)| *f == flavor)
        .find(
            |((_, name), loc)| match loc.lists.attrs.get("persistentStoragePath") {
                Some(v) => same(v),
                None => normalise(name) == storage,
            },
        )
        .map_or_else(|| (flavor, storage.to_string()), |(key, _)| key.clone())
}

/// The item for a promotion: the plain path when the module's defaults
/// recreate the owner and mode, else the attribute-set form with them.
fn promoted_item(
    flavor: Flavor,
    p: &Promotion,
    path: &str,
    written: String,
    owner: Option<&str>,
) -> Item {
    let mode = p.mode & 0o7777;
    let default_mode = if p.is_dir { 0o755 } else { 0o644 };
    // Defaults: root:root at top level; in users.NAME the user and their
    // primary group (which darlings does not know, so the group is written
    // whenever anything else has to be).
    let default_owner = match owner {
        None => p.user == "root" && p.group == "root",
        Some(name) => p.user == name,
    };
    // impermanence has no owner or mode for files (the stored file keeps its
    // own); preservation enforces them at every boot, so they must be right.
    let has_perms = p.is_dir || flavor == Flavor::Preservation;
    let mut attrs = Attrs::default();
    if has_perms && !(default_owner && mode == default_mode) {
        attrs.0.push(("user".into(), Value::Str(p.user.clone())));
        attrs.0.push(("group".into(), Value::Str(p.group.clone())));
        attrs
            .0
            .push(("mode".into(), Value::Str(format!("{mode:04o}"))));
    }
    if flavor == Flavor::Preservation && owner.is_none() {
        attrs.0.extend(preservation_extras(path));
    }
    Item {
        path: written,
        attrs,
    }
}

/// What preservation's documentation (DOMAIN.md §2.2, §5; its examples
/// page) says some well-known paths need beyond a bind mount.
fn preservation_extras(path: &str) -> Vec<(String, Value)> {
    let set = |pairs: &[(&str, Value)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect()
    };
    let yes = Value::Bool(true);
    let symlink = Value::Str("symlink".into());
    match path {
        // Needed before the switch to the real root: the uid/gid maps for
        // user activation, the machine id for the journal.
        "/etc/machine-id" | "/var/lib/nixos" => set(&[("inInitrd", yes)]),
        // Missing until systemd first writes it: a link lets it be created
        // in storage.
        "/var/lib/systemd/random-seed" => set(&[
            ("how", symlink),
            ("inInitrd", yes.clone()),
            ("configureParent", yes),
        ]),
        // A bind mount would pre-create an empty key file, which sshd would
        // then neither regenerate nor load.
        p if p.starts_with("/etc/ssh/ssh_host_") => {
            set(&[("how", symlink), ("configureParent", yes)])
        }
        _ => Vec::new(),
    }
}

/// The home directory of `users.NAME` as the modules would resolve it.
fn home_of(user: &str, lists: &Lists, homes: &[(String, PathBuf)]) -> PathBuf {
    if let Some(Value::Str(h)) = lists.attrs.get("home") {
        return PathBuf::from(h);
    }
    if let Some((_, dir)) = homes.iter().find(|(u, _)| u == user) {
        return dir.clone();
    }
    default_home(user)
}

/// Every path the document already persists, absolute, with whether it is a
/// directory.
fn persisted_paths(doc: &Doc, homes: &[(String, PathBuf)]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut add = |lists: &Lists, home: Option<&Path>| {
        for (items, is_dir) in [(&lists.dirs, true), (&lists.files, false)] {
            for item in items {
                let abs = match home {
                    Some(h) if !item.path.starts_with('/') => {
                        format!("{}/{}", h.display(), item.path)
                    }
                    _ => item.path.clone(),
                };
                out.push((normalise(&abs), is_dir));
            }
        }
    };
    for loc in doc.locations.values() {
        add(&loc.lists, None);
        for (user, lists) in &loc.users {
            add(lists, Some(&home_of(user, lists, homes)));
        }
    }
    out
}

/// True if `path` is already persisted: listed itself, or below a directory.
fn is_covered(taken: &[(String, bool)], path: &str) -> bool {
    taken.iter().any(|(t, is_dir)| {
        t == path
            || (*is_dir
                && (t == "/"
                    || path
                        .strip_prefix(t.as_str())
                        .is_some_and(|r| r.starts_with('/'))))
    })
}

fn normalise(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if path.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    }
}

fn read_doc(path: &Path, text: &str) -> Result<Doc> {
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

fn print_doc(doc: &Doc) -> String {
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
    // so any other order would change at the next promote (SPEC §6).
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
    // Path first, then owner and mode, then the rest by name: stable output
    // whatever order the user wrote them in.
    let rank = |k: &str| match k {
        "user" => 0,
        "group" => 1,
        "mode" => 2,
        _ => 3,
    };
    let mut attrs: Vec<&(String, Value)> = item.attrs.0.iter().collect();
    attrs.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
    let mut s = format!("{{ {field} = {}; ", nix::quote(&item.path));
    for (k, v) in attrs {
        let _ = write!(s, "{} = {}; ", nix::attr_key(k), nix::inline(v));
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests;
