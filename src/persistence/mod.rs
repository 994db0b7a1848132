//! Reading the whitelist in effect (`--persistence`): the JSON that
//! `nix eval --json` prints for impermanence's `environment.persistence`, its
//! Home Manager module's `home.persistence` and preservation's
//! `preservation.preserveAt`, in every shape users have (string or
//! attribute-set entries, before and after impermanence's 2025 rewrite,
//! projected or not; `tests/data/vectors/exports/README.md` shows each), and
//! a `.nix` whitelist in darlings' literal form, read with a real Nix parser.
//!
//! Homes: user entries are relative to a home. It is taken, in this order,
//! from the absolute `dirPath`/`filePath` or the `home` field of the entry,
//! the `home` of `users.NAME`, [`LoadOptions`] (`--persistence USER=FILE`),
//! the name of a pre-rewrite Home Manager location (`/persist/home/bird` is
//! storage `/persist` for home `/home/bird`; one such location names the
//! user of the whole export), and finally the NixOS convention: `/root` for
//! root, `/home/NAME` for everyone else.
//!
//! An entry's persistent copy is `storage` + `path`. The layouts where that
//! does not hold are pre-rewrite Home Manager locations whose name does not
//! end with the home (`/persist/bird`), and those with
//! `removePrefixDirectory` (a stow repository: `nvim/.config/nvim` is
//! `~/.config/nvim`): their `storage` is then the location's own path.
//!
//! Not persisted paths, and skipped: preservation's `how = "_intermediate"`
//! parents, and, in pre-rewrite impermanence exports, the copies of every
//! `users.NAME` entry in the location's own lists.

use std::path::{Path, PathBuf};

mod dialects;

use crate::error::{Error, Result};
use crate::nix::{self, Attrs, Value};

use dialects::detect_kind;
pub(crate) use dialects::{split_home_suffix, strip_home};

/// How the persistent copy is made visible at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum How {
    /// A bind mount (impermanence directories and existing files, preservation's default).
    BindMount,
    /// A symlink into the storage (`method = "symlink"`, `how = "symlink"`, Home Manager v1 files).
    Symlink,
}

/// A user whose home an entry was listed under (`users.NAME`, Home Manager).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserHome {
    /// The user name.
    pub name: String,
    /// The absolute home directory.
    pub dir: PathBuf,
}

/// One persisted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhitelistEntry {
    /// Absolute target path on the root.
    pub path: PathBuf,
    /// The storage root; the persistent copy is `storage` + `path`.
    pub storage: PathBuf,
    /// A file entry (`files`) rather than a directory (`directories`).
    pub is_file: bool,
    /// Owner as configured, when the input says.
    pub user: Option<String>,
    /// Group as configured, when the input says.
    pub group: Option<String>,
    /// Mode as configured (octal or symbolic, as written), when the input says.
    pub mode: Option<String>,
    /// Bind mount or symlink.
    pub how: How,
    /// Set when the entry came from a user's list, relative to that home.
    pub home: Option<UserHome>,
    /// preservation's `inInitrd = true`: set up in the initrd, before activation.
    pub in_initrd: bool,
    /// Where it was read: option path, index and file.
    pub origin: String,
}

/// The whitelist in effect: every entry, and every storage root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Whitelist {
    /// Entries, in the order read.
    pub entries: Vec<WhitelistEntry>,
    /// Storage roots of the enabled locations, sorted, without duplicates.
    pub storage_roots: Vec<PathBuf>,
}

/// What the input files cannot say themselves.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Known homes (from `/etc/passwd` of the scanned root), used for
    /// `users.NAME` lists that give only relative paths.
    pub homes: Vec<UserHome>,
    /// The user a Home Manager `home.persistence` JSON belongs to, when its
    /// entries carry no absolute path.
    pub home_manager_user: Option<UserHome>,
}

impl LoadOptions {
    /// The options for a root whose accounts are `users`: every account
    /// with an absolute home gives its home to `users.NAME` lists.
    pub fn for_users(users: &crate::users::Users) -> LoadOptions {
        LoadOptions {
            homes: users
                .accounts()
                .iter()
                .filter(|a| a.home.is_absolute())
                .map(|a| UserHome {
                    name: a.name.clone(),
                    dir: a.home.clone(),
                })
                .collect(),
            home_manager_user: None,
        }
    }
}

/// Reads a whitelist file, detecting its format (see the module doc).
pub fn load(path: &Path) -> Result<Whitelist> {
    load_with(path, &LoadOptions::default())
}

/// Reads a whitelist file with extra knowledge about homes.
pub fn load_with(path: &Path, opts: &LoadOptions) -> Result<Whitelist> {
    let bytes =
        crate::safe_open::read_regular(path).map_err(|e| Error::io("cannot read", path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::bad_input(
            path,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    parse(&text, path, opts)
}

/// Parses whitelist `text`; `path` names it in errors and origins and its
/// extension (`.json`, `.nix`) decides the format, else JSON then Nix is tried.
pub fn parse(text: &str, path: &Path, opts: &LoadOptions) -> Result<Whitelist> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let reader = Reader {
        file: path,
        opts,
        hm_user: opts.home_manager_user.clone(),
    };
    match ext {
        "json" => reader.json(&parse_json(text).map_err(|e| Error::bad_input(path, e))?),
        "nix" => nix::parse_module(text)
            .map_err(|e| Error::bad_input(path, e))
            .and_then(|m| reader.nix(&m))
            .map_err(with_export_hint),
        _ => match parse_json(text) {
            Ok(v) => reader.json(&v),
            Err(json_err) => match nix::parse_module(text) {
                Ok(m) => reader.nix(&m),
                // Nix text (a module that is not in the literal form): its
                // own reason first, the JSON one is beside the point.
                Err(nix_err) if rnix::Root::parse(text).errors().is_empty() => {
                    Err(with_export_hint(Error::bad_input(
                        path,
                        format!("not a Nix whitelist: {nix_err}"),
                    )))
                }
                Err(nix_err) => Err(Error::bad_input(
                    path,
                    format!("neither JSON ({json_err}) nor a Nix whitelist ({nix_err})"),
                )),
            },
        },
    }
}

/// What to do with a `.nix` file darlings cannot read (a person's module,
/// with `let`, `lib.mkIf`, imports): export the whitelist in effect as JSON
/// with the commands of the README.
pub const EXPORT_HINT: &str = "darlings reads a .nix file only in the literal form `darlings \
     promote` writes (attribute sets, strings and lists, no let or lib.mkIf); for your own \
     module, export the whitelist in effect as JSON and pass that file: `nix eval --json \
     .#nixosConfigurations.HOST.config.environment.persistence --apply '...' > \
     persistence.json` (the README, \"Telling darlings your current whitelist\", has the \
     whole --apply), or for preservation `nix eval --json \
     .#nixosConfigurations.HOST.config.preservation.preserveAt > persistence.json`";

/// `err` with [`EXPORT_HINT`] after its reason.
fn with_export_hint(err: Error) -> Error {
    match err {
        Error::BadInput { path, problem } => Error::BadInput {
            path,
            problem: format!("{problem}; {EXPORT_HINT}"),
        },
        e => e,
    }
}

/// Merges whitelists read from several files: entries in path order (equal
/// entries from different files kept once, the first origin wins), storage
/// roots united.
pub fn merge(lists: Vec<Whitelist>) -> Whitelist {
    let mut out = Whitelist::default();
    for list in lists {
        out.entries.extend(list.entries);
        out.storage_roots.extend(list.storage_roots);
    }
    out.entries.sort_by(|a, b| {
        (&a.path, &a.storage, a.is_file, a.how).cmp(&(&b.path, &b.storage, b.is_file, b.how))
    });
    out.entries.dedup_by(|b, a| same_but_origin(a, b));
    out.storage_roots.sort();
    out.storage_roots.dedup();
    out
}

fn same_but_origin(a: &WhitelistEntry, b: &WhitelistEntry) -> bool {
    (
        &a.path,
        &a.storage,
        a.is_file,
        &a.user,
        &a.group,
        &a.mode,
        a.how,
        &a.home,
        a.in_initrd,
    ) == (
        &b.path,
        &b.storage,
        b.is_file,
        &b.user,
        &b.group,
        &b.mode,
        b.how,
        &b.home,
        b.in_initrd,
    )
}

fn parse_json(text: &str) -> std::result::Result<Value, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "invalid JSON: {e} (a failed `nix eval --json ... > FILE` leaves a truncated \
                 file behind: check that the export command succeeded)"
        )
    })?;
    Ok(from_json(json))
}

fn from_json(json: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => Value::Raw(n.to_string()),
        J::String(s) => Value::Str(s),
        J::Array(items) => Value::List(items.into_iter().map(from_json).collect()),
        J::Object(map) => Value::Set(Attrs(
            map.into_iter().map(|(k, v)| (k, from_json(v))).collect(),
        )),
    }
}

/// Which module's option a location belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Impermanence,
    Preservation,
    HomeManager,
}

impl Kind {
    fn option(self) -> &'static str {
        match self {
            Kind::Impermanence => "environment.persistence",
            Kind::Preservation => "preservation.preserveAt",
            Kind::HomeManager => "home.persistence",
        }
    }
}

/// Where the entries of one list go.
#[derive(Clone)]
struct ListCtx<'a> {
    kind: Kind,
    /// Option path of the list, for origins and errors.
    at: String,
    storage: &'a Path,
    /// The home relative paths are joined to; None: they are an error.
    home: Option<UserHome>,
    /// How files of this list are made visible unless the entry says.
    file_how: How,
    /// Home Manager before its 2025 rewrite with `removePrefixDirectory`:
    /// the first component of each entry names a stow package and is not
    /// part of the target path.
    strip_first: bool,
    /// impermanence before its 2025 rewrite repeated every `users.NAME`
    /// entry (with its `home`) in the location's own lists: skip those.
    skip_homed: bool,
}

struct Reader<'a> {
    file: &'a Path,
    opts: &'a LoadOptions,
    /// The user a Home Manager JSON belongs to: given, or found in the file.
    hm_user: Option<UserHome>,
}

impl Reader<'_> {
    fn bad(&self, at: &str, problem: impl std::fmt::Display) -> Error {
        Error::bad_input(self.file, format!("{at}: {problem}"))
    }

    fn json(&self, root: &Value) -> Result<Whitelist> {
        let Value::Set(locations) = root else {
            return Err(Error::bad_input(
                self.file,
                "expected a JSON object of persistence locations (the value of \
                 environment.persistence, home.persistence or preservation.preserveAt)",
            ));
        };
        let mut out = Whitelist::default();
        let kinds: Vec<Kind> = locations
            .0
            .iter()
            .map(|(_, loc)| detect_kind(loc))
            .collect();
        let mut reader = Reader {
            hm_user: self.hm_user.clone(),
            ..*self
        };
        // One Home Manager export is one user's: a location that says whose
        // home it is says it for the others.
        if reader.hm_user.is_none() {
            reader.hm_user = locations
                .0
                .iter()
                .zip(&kinds)
                .filter(|(_, k)| **k == Kind::HomeManager)
                .find_map(|((name, loc), _)| {
                    dialects::home_manager_user(name, loc, &self.opts.homes)
                });
        }
        for ((name, loc), kind) in locations.0.iter().zip(kinds) {
            reader.location(kind, name, loc, &mut out)?;
        }
        Ok(finish(out))
    }

    fn nix(&self, module: &nix::Module) -> Result<Whitelist> {
        let mut out = Whitelist::default();
        let mut found = false;
        for kind in [Kind::Impermanence, Kind::Preservation, Kind::HomeManager] {
            let mut path: Vec<&str> = kind.option().split('.').collect();
            // A module in full form puts its definitions under `config`.
            if matches!(module.body.get("config"), Some(Value::Set(_))) {
                path.insert(0, "config");
            }
            match module.body.get_path(&path) {
                None => {}
                Some(Value::Set(locations)) => {
                    found = true;
                    for (name, loc) in &locations.0 {
                        self.location(kind, name, loc, &mut out)?;
                    }
                }
                Some(_) => {
                    return Err(self.bad(kind.option(), "not a literal attribute set of locations"));
                }
            }
        }
        // A file given as the whitelist in effect that defines none of the
        // options (a custom or aliased option, a name built at evaluation)
        // would read as "nothing listed", and every check would pass.
        if !found {
            return Err(Error::bad_input(
                self.file,
                "defines no environment.persistence, preservation.preserveAt or home.persistence that darlings can read",
            ));
        }
        Ok(finish(out))
    }

    fn location(&self, kind: Kind, name: &str, loc: &Value, out: &mut Whitelist) -> Result<()> {
        let at = format!("{}.{}", kind.option(), nix::quote(name));
        let Value::Set(loc) = loc else {
            return Err(self.bad(&at, "expected an attribute set with directories and files"));
        };
        if !self.enabled(loc, &at)? {
            return Ok(());
        }
        let mut storage = match loc.get("persistentStoragePath") {
            None => self.absolute(name, &at)?,
            Some(v) => {
                let vat = format!("{at}.persistentStoragePath");
                self.absolute(self.text(v, &vat)?, &vat)?
            }
        };
        let mut home = None;
        let mut v1_home_manager = false;
        let mut strip_first = false;
        if kind == Kind::HomeManager {
            home = self.hm_user.clone();
            // Before the 2025 rewrite the location was named after the
            // user's own storage directory (`/persist/home/bird` is storage
            // `/persist` for `/home/bird`), and had options the rewrite
            // removed; after it, the location names the storage root.
            v1_home_manager = [
                "allowOther",
                "removePrefixDirectory",
                "defaultDirectoryMethod",
            ]
            .iter()
            .any(|k| loc.get(k).is_some());
            strip_first = matches!(loc.get("removePrefixDirectory"), Some(Value::Bool(true)));
            if (v1_home_manager || loc.get("persistentStoragePath").is_none()) && !strip_first {
                let split = match &home {
                    Some(h) => strip_home(&storage, &h.dir).map(|root| (root, h.clone())),
                    None => split_home_suffix(&storage),
                };
                if let Some((root, user)) = split {
                    v1_home_manager = true;
                    home.get_or_insert(user);
                    storage = root;
                }
            }
        }
        let ctx = ListCtx {
            kind,
            at: at.clone(),
            storage: &storage,
            home,
            // Home Manager v1 made every file a symlink; elsewhere files are
            // bind-mounted unless the entry says otherwise.
            file_how: if v1_home_manager {
                How::Symlink
            } else {
                How::BindMount
            },
            strip_first,
            skip_homed: kind == Kind::Impermanence
                && matches!(loc.get("users"), Some(Value::Set(u)) if !u.0.is_empty()),
        };
        self.lists(loc, &ctx, out)?;
        if let Some(users) = loc.get("users") {
            let Value::Set(users) = users else {
                return Err(self.bad(&format!("{at}.users"), "expected an attribute set of users"));
            };
            for (user, spec) in &users.0 {
                let uat = format!("{at}.users.{}", nix::attr_key(user));
                let Value::Set(spec) = spec else {
                    return Err(
                        self.bad(&uat, "expected an attribute set with directories and files")
                    );
                };
                let name = match spec.get("username") {
                    Some(v) => self.text(v, &format!("{uat}.username"))?.to_string(),
                    None => user.clone(),
                };
                let dir = match spec.get("home") {
                    Some(Value::Null) | None => self.known_home(&name),
                    Some(v) => self.absolute(
                        self.text(v, &format!("{uat}.home"))?,
                        &format!("{uat}.home"),
                    )?,
                };
                let uctx = ListCtx {
                    at: uat,
                    home: Some(UserHome { name, dir }),
                    skip_homed: false,
                    ..ctx.clone()
                };
                self.lists(spec, &uctx, out)?;
            }
        }
        out.storage_roots.push(storage.clone());
        Ok(())
    }

    fn known_home(&self, user: &str) -> PathBuf {
        match self.opts.homes.iter().find(|h| h.name == user) {
            Some(h) => h.dir.clone(),
            None => default_home(user),
        }
    }

    fn lists(&self, set: &Attrs, ctx: &ListCtx, out: &mut Whitelist) -> Result<()> {
        for (key, is_file) in [("directories", false), ("files", true)] {
            let at = format!("{}.{key}", ctx.at);
            let items = match set.get(key) {
                None => continue,
                Some(Value::List(items)) => items,
                Some(Value::Raw(src)) => {
                    let problem = format!("expected a literal list, found `{src}` (not evaluated)");
                    return Err(self.bad(&at, problem));
                }
                Some(_) => return Err(self.bad(&at, "expected a list")),
            };
            for (i, item) in items.iter().enumerate() {
                let iat = format!("{at}[{i}]");
                if let Some(entry) = self.item(item, is_file, ctx, &iat)? {
                    out.entries.push(entry);
                }
            }
        }
        Ok(())
    }

    fn item(
        &self,
        item: &Value,
        is_file: bool,
        ctx: &ListCtx,
        at: &str,
    ) -> Result<Option<WhitelistEntry>> {
        let (key, abs_key) = if is_file {
            ("file", "filePath")
        } else {
            ("directory", "dirPath")
        };
        let mut entry = WhitelistEntry {
            path: PathBuf::new(),
            storage: ctx.storage.to_path_buf(),
            is_file,
            user: None,
            group: None,
            mode: None,
            how: if is_file {
                ctx.file_how
            } else {
                How::BindMount
            },
            home: ctx.home.clone(),
            in_initrd: false,
            origin: format!("{at} in {}", self.file.display()),
        };
        let written = match item {
            Value::Str(_) | Value::Path(_) => self.text(item, at)?,
            Value::Set(attrs) => {
                if !self.enabled(attrs, at)? {
                    return Ok(None);
                }
                if ctx.skip_homed && matches!(attrs.get("home"), Some(Value::Str(_))) {
                    return Ok(None);
                }
                let how = [("how", attrs.get("how")), ("method", attrs.get("method"))]
                    .into_iter()
                    .find_map(|(k, v)| Some((k, v?)));
                if let Some((how_key, how)) = how {
                    match self.text(how, &format!("{at}.{how_key}"))? {
                        "symlink" => entry.how = How::Symlink,
                        "bindmount" | "bindfs" | "auto" => entry.how = How::BindMount,
                        // preservation's generated parents of user entries
                        "_intermediate" => return Ok(None),
                        other => {
                            return Err(
                                self.bad(at, format!("unknown method {}", nix::quote(other)))
                            );
                        }
                    }
                }
                for (field, slot) in [
                    ("user", &mut entry.user),
                    ("group", &mut entry.group),
                    ("mode", &mut entry.mode),
                ] {
                    match attrs.get(field) {
                        None | Some(Value::Null) => {}
                        Some(v) => {
                            *slot = Some(self.text(v, &format!("{at}.{field}"))?.to_string())
                        }
                    }
                }
                match attrs.get("inInitrd") {
                    None | Some(Value::Null) => {}
                    Some(Value::Bool(b)) => entry.in_initrd = *b,
                    Some(_) => {
                        return Err(self.bad(&format!("{at}.inInitrd"), "expected true or false"));
                    }
                }
                if let Some(v) = attrs.get("persistentStoragePath") {
                    entry.storage =
                        self.absolute(self.text(v, &format!("{at}.persistentStoragePath"))?, at)?;
                }
                if let Some(Value::Str(h)) = attrs.get("home") {
                    let dir = self.absolute(h, &format!("{at}.home"))?;
                    // Home Manager entries name their owner; else the
                    // NixOS convention names the home after the user.
                    let name = match (&entry.home, &entry.user) {
                        (Some(u), _) => u.name.clone(),
                        (None, Some(user)) => user.clone(),
                        (None, None) => dir
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    };
                    entry.home = Some(UserHome { name, dir });
                }
                match attrs.get(abs_key) {
                    Some(v) => {
                        let p = self.text(v, &format!("{at}.{abs_key}"))?;
                        entry.path = self.absolute(p, &format!("{at}.{abs_key}"))?;
                        return Ok(Some(entry));
                    }
                    None => match attrs.get(key) {
                        Some(v) => self.text(v, &format!("{at}.{key}"))?,
                        None => return Err(self.bad(at, format!("no `{key}` attribute"))),
                    },
                }
            }
            _ => {
                return Err(self.bad(
                    at,
                    "expected a string or an attribute set (a literal, not an expression)",
                ));
            }
        };
        let written = match written.split_once('/') {
            Some((_package, rest)) if ctx.strip_first => rest,
            _ if ctx.strip_first => {
                return Err(self.bad(
                    at,
                    format!(
                        "{} has no package directory to remove (removePrefixDirectory = true)",
                        nix::quote(written)
                    ),
                ));
            }
            _ => written,
        };
        entry.path = if written.starts_with('/') {
            self.absolute(written, at)?
        } else if let Some(home) = &entry.home {
            self.absolute(&format!("{}/{written}", home.dir.display()), at)?
        } else {
            let hint = match ctx.kind {
                Kind::HomeManager => {
                    "; this Home Manager export does not say whose home it is: name its user \
                     as `--persistence USER=FILE`"
                }
                _ => "",
            };
            return Err(self.bad(
                at,
                format!(
                    "relative path {} where an absolute path is required{hint}",
                    nix::quote(written)
                ),
            ));
        };
        Ok(Some(entry))
    }

    fn enabled(&self, attrs: &Attrs, at: &str) -> Result<bool> {
        match attrs.get("enable") {
            None | Some(Value::Bool(true)) => Ok(true),
            Some(Value::Bool(false)) => Ok(false),
            Some(_) => Err(self.bad(&format!("{at}.enable"), "expected true or false")),
        }
    }

    fn text<'v>(&self, v: &'v Value, at: &str) -> Result<&'v str> {
        match v {
            Value::Str(s) | Value::Path(s) => Ok(s),
            Value::Raw(src) => {
                Err(self.bad(at, format!("expected a literal string, found `{src}`")))
            }
            _ => Err(self.bad(at, "expected a string")),
        }
    }

    /// Checks and normalises an absolute path as impermanence's `concatPaths`
    /// does (empty and `.` components dropped); `..` is refused.
    fn absolute(&self, p: &str, at: &str) -> Result<PathBuf> {
        if !p.starts_with('/') {
            return Err(self.bad(
                at,
                format!(
                    "relative path {} where an absolute path is required",
                    nix::quote(p)
                ),
            ));
        }
        let mut out = PathBuf::from("/");
        for comp in p.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if comp == ".." {
                return Err(self.bad(at, format!("path {} contains ..", nix::quote(p))));
            }
            out.push(comp);
        }
        Ok(out)
    }
}

/// The home NixOS gives a user when nothing else is known: `/root` for
/// root, `/home/NAME` for everyone else (`isNormalUser`).
pub fn default_home(user: &str) -> PathBuf {
    if user == "root" {
        PathBuf::from("/root")
    } else {
        Path::new("/home").join(user)
    }
}

fn finish(mut out: Whitelist) -> Whitelist {
    out.storage_roots.sort();
    out.storage_roots.dedup();
    out
}

#[cfg(test)]
mod tests;
