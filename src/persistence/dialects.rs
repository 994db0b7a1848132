//! The dialects of the `--persistence` input: which module a JSON location
//! belongs to (nothing in the JSON says), and the homes of Home Manager
//! locations, which before impermanence's 2025 rewrite were named after the
//! user's own storage directory.

use std::path::{Path, PathBuf};

use super::{Kind, UserHome};
use crate::nix::Value;

/// Preservation spells out fields impermanence does not have.
pub(super) fn detect_kind(loc: &Value) -> Kind {
    let Value::Set(loc) = loc else {
        return Kind::Impermanence;
    };
    let has_how = |v: Option<&Value>| match v {
        Some(Value::List(items)) => items.iter().any(
            |i| matches!(i, Value::Set(a) if a.get("how").is_some() || a.get("inInitrd").is_some()),
        ),
        _ => false,
    };
    if loc.get("commonMountOptions").is_some()
        || has_how(loc.get("directories"))
        || has_how(loc.get("files"))
    {
        return Kind::Preservation;
    }
    // The projection in the README gives Home Manager locations an empty
    // `users`: only a non-empty one is the NixOS module's.
    if matches!(loc.get("users"), Some(Value::Set(u)) if !u.0.is_empty()) {
        return Kind::Impermanence;
    }
    // Without `users`, relative entries or a `home` mean a Home Manager location.
    let relative = |v: Option<&Value>| match v {
        Some(Value::List(items)) => items.iter().any(|i| match i {
            Value::Str(s) => !s.starts_with('/'),
            Value::Set(a) => {
                matches!(a.get("home"), Some(Value::Str(_)))
                    || [a.get("directory"), a.get("file")]
                        .into_iter()
                        .flatten()
                        .any(|p| matches!(p, Value::Str(s) if !s.starts_with('/')))
            }
            _ => false,
        }),
        _ => false,
    };
    if relative(loc.get("directories")) || relative(loc.get("files")) {
        Kind::HomeManager
    } else {
        Kind::Impermanence
    }
}

/// `storage` without `home` at its end: `/persist/srv/deploy` without
/// `/srv/deploy` is `/persist`.
pub(crate) fn strip_home(storage: &Path, home: &Path) -> Option<PathBuf> {
    let s: Vec<_> = storage.components().collect();
    let h: Vec<_> = home.components().skip(1).collect();
    // The storage root left over must not be `/` itself.
    if h.is_empty() || s.len() <= h.len() + 1 || !s.ends_with(&h) {
        return None;
    }
    Some(s[..s.len() - h.len()].iter().collect())
}

/// `/persist/home/bird` → (`/persist`, bird at `/home/bird`); `/persist/root`
/// → (`/persist`, root at `/root`).
pub(crate) fn split_home_suffix(storage: &Path) -> Option<(PathBuf, UserHome)> {
    let comps: Vec<&str> = storage
        .iter()
        .filter_map(|c| c.to_str())
        .filter(|c| *c != "/")
        .collect();
    let n = comps.len();
    let join = |parts: &[&str]| {
        let mut p = PathBuf::from("/");
        p.extend(parts);
        p
    };
    if n >= 3 && comps[n - 2] == "home" {
        let name = comps[n - 1].to_string();
        return Some((
            join(&comps[..n - 2]),
            UserHome {
                name,
                dir: join(&comps[n - 2..]),
            },
        ));
    }
    if n >= 2 && comps[n - 1] == "root" {
        return Some((
            join(&comps[..n - 1]),
            UserHome {
                name: "root".into(),
                dir: "/root".into(),
            },
        ));
    }
    None
}

/// The user of a Home Manager location, when it says: its entries' own
/// `home` and `user` (after the rewrite), or its storage path ending with a
/// known home (`/persistent/srv/bob` for bob at `/srv/bob`) or with
/// `/home/NAME` (before it).
pub(super) fn home_manager_user(name: &str, loc: &Value, homes: &[UserHome]) -> Option<UserHome> {
    let Value::Set(loc) = loc else {
        return None;
    };
    for list in ["directories", "files"] {
        if let Some(Value::List(items)) = loc.get(list) {
            for item in items {
                if let Value::Set(a) = item
                    && let (Some(Value::Str(home)), Some(Value::Str(user))) =
                        (a.get("home"), a.get("user"))
                {
                    return Some(UserHome {
                        name: user.clone(),
                        dir: PathBuf::from(home),
                    });
                }
            }
        }
    }
    let storage = match loc.get("persistentStoragePath") {
        Some(Value::Str(s)) => s.as_str(),
        _ => name,
    };
    let storage = Path::new(storage);
    homes
        .iter()
        .filter(|h| strip_home(storage, &h.dir).is_some())
        .max_by_key(|h| h.dir.as_os_str().len())
        .cloned()
        .or_else(|| split_home_suffix(storage).map(|(_, u)| u))
}
