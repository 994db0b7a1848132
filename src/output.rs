//! Atomic output files: write a temporary file in the target's directory,
//! fsync it, then rename it over the target, so a crash or a kill at any
//! moment leaves either the old file or the new one, never half of one.

use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Writes `path` atomically with the bytes produced by `fill`. When `backup`
/// is set and `path` exists, its previous content is kept as `path.bak`.
pub fn write_atomic(
    path: &Path,
    backup: bool,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::io(
            "cannot write",
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "its directory does not exist"),
        ));
    }
    // The name starts with a dot and ends in .tmp so a directory listing or a
    // later scan recognises a leftover of a killed run for what it is.
    let mut tmp = tempfile::Builder::new()
        .prefix(".darlings-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot write", path, e))?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        fill(&mut w).map_err(|e| Error::io("cannot write", path, e))?;
        w.flush().map_err(|e| Error::io("cannot write", path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot write", path, e))?;
    if backup && path.exists() {
        let mut bak = path.as_os_str().to_owned();
        bak.push(".bak");
        std::fs::copy(path, &bak).map_err(|e| Error::io("cannot keep a backup of", path, e))?;
    }
    tmp.persist(path)
        .map_err(|e| Error::io("cannot write", path, e.error))?;
    Ok(())
}

/// Returns true if and only if `inner` is `outer` or lies below it, comparing
/// canonical paths (the file need not exist yet: its directory is resolved).
pub fn is_inside(inner: &Path, outer: &Path) -> bool {
    let Ok(outer) = std::fs::canonicalize(outer) else {
        return false;
    };
    let resolved = match std::fs::canonicalize(inner) {
        Ok(p) => p,
        Err(_) => match (inner.parent(), inner.file_name()) {
            (Some(d), Some(n)) => {
                let d = if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                };
                match std::fs::canonicalize(d) {
                    Ok(d) => d.join(n),
                    Err(_) => return false,
                }
            }
            _ => return false,
        },
    };
    resolved.starts_with(outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        std::fs::write(&p, b"old").unwrap();
        let r = write_atomic(&p, false, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn backup_keeps_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("persist.nix");
        std::fs::write(&p, b"v1").unwrap();
        write_atomic(&p, true, |w| w.write_all(b"v2")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"v2");
        assert_eq!(
            std::fs::read(dir.path().join("persist.nix.bak")).unwrap(),
            b"v1"
        );
    }

    #[test]
    fn missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/out.json");
        assert!(write_atomic(&p, false, |w| w.write_all(b"x")).is_err());
    }
}
