//! `darlings promote PATH...`: adds paths of ROOT to the whitelist file
//! without the TUI, printing what changed. Paths no whitelist may list
//! (the storage, what NixOS rebuilds: [`whitelist::refusal`]) are refused
//! before anything is written.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::Outcome;
use crate::cli::WriteArgs;
use crate::resolve::{Beyond, Ending, HostBeyond};
use crate::scan::Kind;
use crate::{Error, Result, linediff, paths, settings, text, users, whitelist};

/// At most this many entries of a directory under /etc are looked at for
/// files NixOS generates (/etc as a whole holds a few thousand).
const GENERATED_LOOKS: usize = 20_000;

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
    let storage_roots = storage_roots(file, storage, &users.people())?;
    let host = HostBeyond { root: root.clone() };
    let mut promotions = Vec::new();
    let mut refused = Vec::new();
    for p in paths {
        let inner = in_root(p)?;
        if let Some(why) = refusal(&host, &inner, &storage_roots) {
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

/// The storage roots promoted paths must stay out of: the whitelist file's
/// and `--storage` (default /persist), normalised.
fn storage_roots(
    file: &Path,
    storage: Option<&Path>,
    people: &[(String, PathBuf)],
) -> Result<Vec<Vec<u8>>> {
    let mut roots: Vec<Vec<u8>> = whitelist::storage_roots(file, people)?
        .iter()
        .map(|r| paths::normalize(r.as_os_str().as_bytes()))
        .collect();
    let given = storage.unwrap_or(Path::new("/persist"));
    roots.push(paths::normalize(given.as_os_str().as_bytes()));
    roots.sort();
    roots.dedup();
    Ok(roots)
}

/// Why the in-root path `inner` must not be promoted, if it must not.
fn refusal(host: &HostBeyond, inner: &[u8], storage: &[Vec<u8>]) -> Option<whitelist::Refusal> {
    let lands = host.resolve(inner);
    if let Some(r) = whitelist::refusal(inner, &lands.path, storage) {
        return Some(r);
    }
    if lands.ending == Ending::Exists
        && paths::is_under(&lands.path, b"/etc")
        && let Some((entry, to)) = generated_below(host, &lands.path)
    {
        return Some(whitelist::generated_inside(inner, &entry, &to));
    }
    None
}

/// The first entry below the directory `dir` (in-root, resolved) that leads
/// into /nix ([`whitelist::leads_to_nix`]): a file NixOS generates. Only directories of the root itself
/// are entered, never through a link.
fn generated_below(host: &HostBeyond, dir: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut todo = vec![dir.to_vec()];
    let mut looked = 0;
    while let Some(d) = todo.pop() {
        let on_host = host.root.join(std::ffi::OsStr::from_bytes(&d[1..]));
        let Ok(mut names) = crate::safe_open::list_dir(&on_host) else {
            continue;
        };
        names.sort();
        for name in names {
            looked += 1;
            if looked > GENERATED_LOOKS {
                return None;
            }
            let mut child = d.clone();
            child.push(b'/');
            child.extend_from_slice(&name);
            match host.lstat(&child) {
                Some((Kind::Dir, _)) => todo.push(child),
                Some((Kind::Symlink, _)) => {
                    let to = host.resolve(&child).path;
                    if whitelist::leads_to_nix(&to) {
                        return Some((child, to));
                    }
                }
                _ => {}
            }
        }
    }
    None
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
