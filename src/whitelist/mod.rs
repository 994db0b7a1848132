//! The whitelist file darlings writes (docs/whitelist-editing.md).
//!
//! A new file is a NixOS module darlings renders itself, sorted and stable,
//! with its header line ([`HEADER`]); a file still exactly as darlings
//! rendered it is rendered again with the new paths merged in. Any other
//! file is a person's: it is edited through rnix's lossless syntax tree,
//! one new item per path in the list it belongs to, every other byte kept
//! (`edit`); where no safe place exists nothing is written and the error
//! gives the lines to paste. Writes are atomic, with the previous version
//! kept as `FILE.bak`; a write that changes nothing does not happen.
//!
//! `outline` reads where a file defines persistence, `style` its layout,
//! `doc`/`read`/`merge` are darlings' own canonical form; `refuse` names
//! the paths no whitelist may list.

mod doc;
mod edit;
mod merge;
mod outline;
mod read;
mod refuse;
mod style;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use merge::render_named;
pub use refuse::{Gate, Refusal, refusal};

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
    /// Its `--flavor` name.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Impermanence => "impermanence",
            Flavor::Preservation => "preservation",
        }
    }

    /// The option path of the module: `environment.persistence` or
    /// `preservation.preserveAt`.
    pub(crate) fn option(self) -> [&'static str; 2] {
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

/// What the caller asks for; what it leaves out is taken from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `--flavor`; `None`: the module the file uses (impermanence for a
    /// file without one).
    pub flavor: Option<Flavor>,
    /// `--storage`: the storage roots new entries may go to; empty: the
    /// file's own (the one whose entries are closest to each new path).
    pub storage: Vec<PathBuf>,
    /// The storage root of a new location, when the file has none and
    /// `storage` is empty.
    pub new_storage: PathBuf,
}

impl Default for Request {
    fn default() -> Request {
        Request {
            flavor: None,
            storage: Vec::new(),
            new_storage: PathBuf::from("/persist"),
        }
    }
}

/// The text of a whitelist file after the promotions, and what was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The new text (the old one when nothing changes).
    pub text: String,
    /// Decisions worth telling: paths already listed, the storage root
    /// chosen among several, a user name taken for a computed one.
    pub notes: Vec<String>,
}

/// Adds `promotions` to the whitelist text `existing` (`None` or blank: a
/// new file) of the file `file` (named in errors). Paths below one of
/// `homes` (user, home) go into `users.NAME` with home-relative paths;
/// `homes` should list people (root and normal users), not system users
/// whose home is their state directory.
///
/// A promotion the file already keeps (listed, or below a listed
/// directory) is not added again; existing entries are never changed.
pub fn apply(
    file: &Path,
    existing: Option<&str>,
    req: &Request,
    promotions: &[Promotion],
    homes: &[(String, PathBuf)],
) -> Result<Applied> {
    let existing = existing.filter(|t| !t.trim().is_empty());
    let Some(text) = existing else {
        let storage = req.storage.first().unwrap_or(&req.new_storage);
        let flavor = req.flavor.unwrap_or(Flavor::Impermanence);
        let text = render_named(None, flavor, storage, promotions, homes)?;
        return Ok(Applied {
            text,
            notes: Vec::new(),
        });
    };
    if is_canonical(text, homes) {
        let (groups, notes) = edit::roots_for(file, text, req, promotions, homes)?;
        let mut text = text.to_string();
        for ((flavor, root), group) in groups {
            text = render_named(Some((file, &text)), flavor, Path::new(&root), &group, homes)?;
        }
        return Ok(Applied { text, notes });
    }
    let edited = edit::edit(file, text, req, promotions, homes)?;
    Ok(Applied {
        text: edited.text,
        notes: edited.notes,
    })
}

/// Returns true if and only if `text` is exactly what darlings renders for
/// it: its header, and nothing a person added since.
fn is_canonical(text: &str, homes: &[(String, PathBuf)]) -> bool {
    text.starts_with(HEADER)
        && render_named(
            Some((Path::new("whitelist"), text)),
            Flavor::Impermanence,
            Path::new("/persist"),
            &[],
            homes,
        )
        .is_ok_and(|again| again == text)
}

/// What writing promotions into a whitelist file would do: the file's text
/// now and after. The one read–apply path of `promote` and the TUI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The whitelist file.
    pub path: PathBuf,
    /// Its text now (`None`: it does not exist yet).
    pub old: Option<String>,
    /// Its text after the write.
    pub new: String,
    /// Decisions worth telling (see [`Applied::notes`]).
    pub notes: Vec<String>,
}

impl Plan {
    /// Returns true if and only if the write would change the file.
    pub fn changes_file(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_str())
    }

    /// Writes the new text (see [`write()`]); does nothing when nothing
    /// changes.
    pub fn write(&self) -> Result<()> {
        if self.changes_file() {
            write(&self.path, &self.new)?;
        }
        Ok(())
    }
}

/// Reads `path` if it exists (a symlink is followed, a fifo is never
/// opened) and applies `promotions` to it (see [`apply`]); nothing is
/// written.
pub fn plan(
    path: &Path,
    req: &Request,
    promotions: &[Promotion],
    homes: &[(String, PathBuf)],
) -> Result<Plan> {
    let old = read_existing(path)?;
    let applied = apply(path, old.as_deref(), req, promotions, homes)?;
    Ok(Plan {
        path: path.to_path_buf(),
        old,
        new: applied.text,
        notes: applied.notes,
    })
}

/// The text of the whitelist file `path` (`None`: it does not exist); a
/// symlink is followed, a fifo is never opened.
fn read_existing(path: &Path) -> Result<Option<String>> {
    match crate::safe_open::read_regular(path) {
        Ok(bytes) => Ok(Some(String::from_utf8(bytes).map_err(|_| {
            Error::bad_input(path, "not UTF-8 text: not a Nix file")
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// The storage roots the whitelist file `path` names (none when it does
/// not exist), normalised; a root named by an expression darlings cannot
/// read (`config.my.persistDir`) is left out. `homes` as for [`apply`].
pub fn storage_roots(path: &Path, homes: &[(String, PathBuf)]) -> Result<Vec<PathBuf>> {
    let Some(text) = read_existing(path)? else {
        return Ok(Vec::new());
    };
    Ok(edit::storage_roots(path, &text, homes)?
        .into_iter()
        .map(PathBuf::from)
        .collect())
}

/// Every path the whitelist file `path` lists (none when it does not
/// exist) in its enabled locations, absolute and normalised, with the line
/// that lists it. `homes` as for [`apply`].
pub fn listed(path: &Path, homes: &[(String, PathBuf)]) -> Result<Vec<(String, usize)>> {
    let Some(text) = read_existing(path)? else {
        return Ok(Vec::new());
    };
    edit::listed_paths(path, &text, homes)
}

/// Writes `contents` to `path` atomically through
/// [`crate::output::write_atomic`], keeping the previous version as
/// `path.bak`. A symlink is followed: the file it points to is replaced (a
/// whitelist kept in a dotfiles repository is often linked into place). A
/// replaced file keeps its mode; a new one gets 0644, the usual mode of a
/// configuration file. On failure no partial file is left behind. When the
/// file already holds `contents`, nothing is written (and its `.bak` stays
/// the previous version).
pub fn write(path: &Path, contents: &str) -> Result<()> {
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            resolved =
                std::fs::canonicalize(path).map_err(|e| Error::io("cannot resolve", path, e))?;
            resolved.as_path()
        }
        _ => path,
    };
    let existed = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => true,
        Ok(_) => {
            return Err(Error::bad_input(
                path,
                "exists and is not a regular file; not replacing it",
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io("cannot inspect", path, e)),
    };
    if existed && crate::safe_open::read_regular(path).is_ok_and(|now| now == contents.as_bytes()) {
        return Ok(());
    }
    crate::output::write_atomic(path, true, |w| w.write_all(contents.as_bytes()))?;
    if !existed {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io("cannot write", path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
