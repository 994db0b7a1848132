//! Tests of reading, planning and writing whitelist files: syntax errors,
//! backups, modes, symlinks.

use std::path::{Path, PathBuf};

use super::{IMPERMANENCE, desktop, homes};
use crate::error::Error;
use crate::whitelist::{Flavor, Promotion, Request, plan, write};

fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Plans and writes, as `promote` does.
fn update(
    path: &Path,
    flavor: Flavor,
    storage: &Path,
    promotions: &[Promotion],
    homes: &[(String, PathBuf)],
) -> crate::Result<()> {
    let req = Request {
        flavor: Some(flavor),
        storage: vec![storage.to_path_buf()],
        ..Request::default()
    };
    plan(path, &req, promotions, homes)?.write()
}

#[test]
fn a_syntax_error_leaves_the_file_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("persist.nix");
    let broken = "{ environment.persistence.\"/persist\".directories = [ \"/var/log\" ;\n";
    std::fs::write(&path, broken).expect("write");
    let err = update(
        &path,
        Flavor::Impermanence,
        Path::new("/persist"),
        &desktop(),
        &homes(),
    )
    .expect_err("broken");
    assert!(matches!(err, Error::BadInput { .. }), "{err:?}");
    assert!(
        err.to_string().contains("persist.nix") && err.to_string().contains("line 1"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), broken);
    assert_eq!(dir_listing(dir.path()), vec!["persist.nix"]);
}

#[test]
fn update_creates_then_merges_and_keeps_a_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("persist.nix");
    update(
        &path,
        Flavor::Impermanence,
        Path::new("/persist"),
        &desktop()[..2],
        &homes(),
    )
    .expect("creates");
    let first = std::fs::read_to_string(&path).expect("read");
    assert_eq!(dir_listing(dir.path()), vec!["persist.nix"]);
    update(
        &path,
        Flavor::Impermanence,
        Path::new("/persist"),
        &desktop(),
        &homes(),
    )
    .expect("merges");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), IMPERMANENCE);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("persist.nix.bak")).expect("bak"),
        first
    );
    assert_eq!(
        dir_listing(dir.path()),
        vec!["persist.nix", "persist.nix.bak"]
    );
}

#[test]
fn write_sets_modes_and_leaves_nothing_behind_on_failure() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.nix");
    write(&path, "one").expect("writes");
    assert_eq!(
        std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o644
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    write(&path, "two").expect("writes");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "two");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("w.nix.bak")).expect("read"),
        "one"
    );
    assert_eq!(
        std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o600
    );

    // A directory in the way: refused, nothing created.
    let blocked = dir.path().join("blocked.nix");
    std::fs::create_dir(&blocked).expect("mkdir");
    assert!(write(&blocked, "x").is_err());
    // A missing directory: the temporary file cannot even be created.
    assert!(write(&dir.path().join("missing/w.nix"), "x").is_err());
    assert_eq!(
        dir_listing(dir.path()),
        vec!["blocked.nix", "w.nix", "w.nix.bak"]
    );
    assert!(dir_listing(&blocked).is_empty());
}

#[test]
fn write_replaces_the_target_of_a_symlink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = dir.path().join("dotfiles");
    std::fs::create_dir(&real).expect("mkdir");
    std::fs::write(real.join("persist.nix"), "old").expect("write");
    let link = dir.path().join("persist.nix");
    std::os::unix::fs::symlink(real.join("persist.nix"), &link).expect("symlink");
    write(&link, "new").expect("writes");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(real.join("persist.nix")).expect("read"),
        "new"
    );
    assert_eq!(
        std::fs::read_to_string(real.join("persist.nix.bak")).expect("read"),
        "old"
    );
}
