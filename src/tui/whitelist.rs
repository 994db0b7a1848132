//! The TUI's seam to the whitelist writer ([`crate::whitelist`], SPEC §6):
//! turns marks into [`Promotion`]s and renders or writes through the writer,
//! so the TUI and `darlings promote` share one code path.

use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::Result;
pub use crate::whitelist::{Flavor, Promotion};

impl From<crate::cli::FlavorArg> for Flavor {
    fn from(f: crate::cli::FlavorArg) -> Self {
        match f {
            crate::cli::FlavorArg::Impermanence => Flavor::Impermanence,
            crate::cli::FlavorArg::Preservation => Flavor::Preservation,
        }
    }
}

/// A promotion of the absolute in-root `path` with its owner and mode.
pub fn promotion(path: Vec<u8>, is_dir: bool, user: String, group: String, mode: u16) -> Promotion {
    Promotion {
        path: PathBuf::from(std::ffi::OsString::from_vec(path)),
        is_dir,
        user,
        group,
        mode: u32::from(mode),
    }
}

/// Renders the whitelist module with `promotions` merged into `existing`;
/// paths below one of `homes` go into `users.NAME`.
pub fn render(
    existing: Option<&str>,
    flavor: Flavor,
    storage: &Path,
    promotions: &[Promotion],
    homes: &[(String, PathBuf)],
) -> Result<String> {
    crate::whitelist::render(existing, flavor, storage, promotions, homes)
}

/// Writes `text` to `path` atomically, keeping the previous version as `path.bak`.
pub fn write(path: &Path, text: &str) -> Result<()> {
    crate::whitelist::write_atomic(path, text)
}
