//! Bind mounts declared as systemd mount units in `/etc/systemd/system`
//! (`What=` in storage, `Where=` the kept path).

use super::{Listed, list_in_root, read_in_root};
use crate::paths::{is_under, normalize};
use crate::resolve::Resolver;

/// Bind mounts declared as systemd mount units (`What=` in storage, `Where=`).
pub(super) fn mount_units(res: &Resolver<'_>, storage: &[Vec<u8>]) -> Vec<Listed> {
    let mut out = Vec::new();
    for unit in list_in_root(res, b"/etc/systemd/system") {
        if !unit.ends_with(b".mount") {
            continue;
        }
        let Some(text) = read_in_root(res, &unit) else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
        };
        let (Some(what), Some(place)) = (value("What="), value("Where=")) else {
            continue;
        };
        let what = normalize(what.as_bytes());
        if let Some(s) = storage.iter().find(|s| is_under(&what, s) && what != **s) {
            let name = unit.rsplit(|&b| b == b'/').next().unwrap_or(&unit);
            out.push(Listed {
                path: normalize(place.as_bytes()),
                storage: s.clone(),
                is_file: false,
                by_symlink: false,
                origin: format!("mount unit {}", String::from_utf8_lossy(name)),
            });
        }
    }
    out
}
