//! `darlings promote PATH...`: adds paths of ROOT to the whitelist file
//! without the TUI, printing what changed. Paths no whitelist may list
//! (the storage, what NixOS rebuilds: [`whitelist::Gate`]) are refused
//! before anything is written.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::Outcome;
use crate::cli::WriteArgs;
use crate::resolve::HostBeyond;
use crate::{Error, Result, linediff, paths, settings, text, users, whitelist};

/// `darlings promote PATH...`: adds paths of ROOT to the whitelist file.
pub fn run(
    root_given: Option<&Path>,
    paths: &[PathBuf],
    write: &WriteArgs,
    storage: Option<&Path>,
) -> Result<Outcome> {
    use std::os::unix::fs::MetadataExt;
    let root = settings::resolve_root(root_given)?;
    if let Some(s) = storage {
        settings::storage_root(&root, s)?;
    }
    let users = users::Users::read(&root);
    let file = &write.whitelist;
    let given: Vec<PathBuf> = storage.map(Path::to_path_buf).into_iter().collect();
    let gate = whitelist::Gate::new(&root, file, &given, &users.people())?;
    let host = HostBeyond { root: root.clone() };
    let mut promotions = Vec::new();
    let mut refused = Vec::new();
    for p in paths {
        let inner = in_root(p)?;
        if let Some(why) = gate.refusal(&inner) {
            refused.push((p, why));
            continue;
        }
        // The entry itself as `lstat` sees it, its directories resolved
        // inside ROOT (never through a link to the host's own files).
        let at = host.resolve_parent(&inner).path;
        let on_host = root.join(std::ffi::OsStr::from_bytes(&at[1..]));
        // Named as given, with ROOT as given: not glued into one host path.
        let meta = std::fs::symlink_metadata(&on_host).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                _ => e.to_string(),
            };
            Error::Usage(format!(
                "cannot promote '{}': {} in ROOT '{}'",
                text::quote_path(p),
                text::escape_str(&why),
                text::quote_path(root_given.unwrap_or(&root))
            ))
        })?;
        promotions.push(whitelist::Promotion::new(
            inner,
            meta.is_dir(),
            users.user(meta.uid()),
            users.group(meta.gid()),
            meta.mode() & 0o7777,
        ));
    }
    if !refused.is_empty() {
        return Err(refusal_error(file, paths.len(), &refused));
    }
    let req = whitelist::Request {
        flavor: write.flavor.map(Into::into),
        storage: storage.map(Path::to_path_buf).into_iter().collect(),
        ..whitelist::Request::default()
    };
    let plan = whitelist::plan(file, &req, &promotions, &users.people())?;
    let mut out = std::io::stdout().lock();
    for note in &plan.notes {
        let _ = writeln!(out, "{}", text::escape_str(note));
    }
    if !plan.changes_file() {
        let what = if paths.len() == 1 {
            "this path"
        } else {
            "these paths"
        };
        let _ = writeln!(
            out,
            "{} already lists {what}; nothing changed",
            text::quote_path(file)
        );
        return Ok(Outcome::Success);
    }
    plan.write()?;
    let diff = linediff::diff_texts(
        plan.old.as_deref().unwrap_or(""),
        &plan.new,
        1,
        text::escape_str,
    );
    let _ = writeln!(out, "{}:", text::quote_path(file));
    for l in diff {
        let _ = match l {
            linediff::DiffLine::Added(s) => writeln!(out, "+ {s}"),
            linediff::DiffLine::Removed(s) => writeln!(out, "- {s}"),
            linediff::DiffLine::Same(s) => writeln!(out, "  {s}"),
            linediff::DiffLine::Skipped(n) => writeln!(out, "  ({n} unchanged lines)"),
        };
    }
    Ok(Outcome::Success)
}

/// The in-root path `p` names, normalised; refused unless absolute and
/// free of `.` and `..`, or when it is the root itself.
fn in_root(p: &Path) -> Result<Vec<u8>> {
    let bytes = p.as_os_str().as_bytes();
    if !bytes.starts_with(b"/")
        || p.components().any(|c| {
            matches!(
                c,
                std::path::Component::ParentDir | std::path::Component::CurDir
            )
        })
    {
        return Err(Error::Usage(format!(
            "'{}': give an absolute path as seen inside ROOT, without . or ..",
            text::quote_path(p)
        )));
    }
    let inner = paths::normalize(bytes);
    if inner == b"/" {
        return Err(Error::Usage("the root itself cannot be persisted".into()));
    }
    Ok(inner)
}

/// The error of a promote where some paths are refused: every refusal on
/// stderr (one line each), then the count; the whitelist is not touched.
fn refusal_error(file: &Path, given: usize, refused: &[(&PathBuf, whitelist::Refusal)]) -> Error {
    let mut err = std::io::stderr().lock();
    for (p, why) in refused {
        let _ = writeln!(
            err,
            "darlings: cannot promote '{}' (rule: {}): {}; instead, {}",
            text::quote_path(p),
            why.rule,
            why.why,
            why.instead
        );
    }
    let what = if given == 1 {
        "the path was refused".to_string()
    } else {
        format!("{} of {given} paths refused", refused.len())
    };
    Error::Usage(format!(
        "{what}; nothing was written to '{}'",
        text::quote_path(file)
    ))
}
