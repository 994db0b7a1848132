//! `darlings promote PATH...`: adds paths of ROOT to the whitelist file
//! without the TUI, printing what changed.

use std::io::Write;
use std::path::Path;

use super::Outcome;
use crate::cli::WriteArgs;
use crate::{Error, Result, linediff, settings, text, users, whitelist};

/// `darlings promote PATH...`: adds paths of ROOT to the whitelist file.
pub fn run(
    root: Option<&Path>,
    paths: &[std::path::PathBuf],
    write: &WriteArgs,
    storage: Option<&Path>,
) -> Result<Outcome> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let root = settings::resolve_root(root)?;
    if let Some(s) = storage {
        settings::storage_root(&root, s)?;
    }
    let users = users::Users::read(&root);
    let mut promotions = Vec::new();
    for p in paths {
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
        let mut inner = bytes.to_vec();
        while inner.len() > 1 && inner.ends_with(b"/") {
            inner.pop();
        }
        if inner == b"/" {
            return Err(Error::Usage("the root itself cannot be persisted".into()));
        }
        let host = root.join(std::ffi::OsStr::from_bytes(&inner[1..]));
        let meta =
            std::fs::symlink_metadata(&host).map_err(|e| Error::io("cannot promote", &host, e))?;
        promotions.push(whitelist::Promotion::new(
            inner,
            meta.is_dir(),
            users.user(meta.uid()),
            users.group(meta.gid()),
            meta.mode() & 0o7777,
        ));
    }
    let file = &write.whitelist;
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
        let _ = writeln!(
            out,
            "{} already lists these paths; nothing changed",
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
