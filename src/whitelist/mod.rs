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

mod doc;
mod merge;
mod read;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use merge::render_named;

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

    /// Writes the new text (see [`write`]).
    pub fn write(&self) -> Result<()> {
        write(&self.path, &self.new)
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

/// Writes `contents` to `path` atomically through
/// [`crate::output::write_atomic`], keeping the previous version as
/// `path.bak`. A symlink is followed: the file it points to is replaced (a
/// whitelist kept in a dotfiles repository is often linked into place). A
/// replaced file keeps its mode; a new one gets 0644, the usual mode of a
/// configuration file. On failure no partial file is left behind.
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
