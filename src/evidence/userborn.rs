//! userborn (`services.userborn.enable`): it writes `passwd`, `group` and
//! `shadow` into `services.userborn.passwordFilesLocation` (`/etc` by default,
//! `/var/lib/nixos` with an immutable `/etc`) and keeps no other record of the
//! ids it allocated: the files themselves are its state, so a wipe that loses
//! them gives users and groups new ids. Detected from the root: its unit
//! (`userborn.service`, whose `ExecStart=` ends with the location), else its
//! state directory `/var/lib/userborn`, with `/etc/passwd`'s link showing a
//! location other than `/etc`. Module:
//! <https://github.com/NixOS/nixpkgs/blob/2673362ab77ed15b31cf677393386b6caf07afa8/nixos/modules/services/system/userborn.nix>

use crate::owners::Service;
use crate::paths::{is_under, normalize, parent};
use crate::resolve::{Ending, Resolver};
use crate::scan::Kind;

/// userborn, as found on the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Userborn {
    /// Where it keeps the password files (in-root path).
    pub location: Vec<u8>,
    /// How darlings knows (`ExecStart= of /etc/systemd/system/userborn.service`).
    pub evidence: String,
}

/// The files userborn writes.
pub const FILES: [&str; 3] = ["passwd", "group", "shadow"];

impl Userborn {
    /// Returns true if and only if `path` is one of the password files userborn keeps.
    pub fn keeps(&self, path: &[u8]) -> bool {
        parent(path) == self.location.as_slice()
            && FILES
                .iter()
                .any(|f| path.rsplit(|&b| b == b'/').next() == Some(f.as_bytes()))
    }
}

/// Finds userborn on the root.
pub(super) fn detect(res: &Resolver<'_>, services: &[Service]) -> Option<Userborn> {
    if let Some(unit) = services.iter().find(|s| s.name == "userborn.service") {
        // `userborn CONFIG.json LOCATION`: the last argument is the location.
        let location = unit
            .exec_start
            .as_deref()
            .and_then(|e| e.split_whitespace().last())
            .filter(|l| l.starts_with('/') && !l.ends_with(".json"))
            .map(|l| normalize(l.as_bytes()))
            .unwrap_or_else(|| b"/etc".to_vec());
        return Some(Userborn {
            location,
            evidence: format!("ExecStart= of {}", unit.file),
        });
    }
    let k = res.lookup(b"/var/lib/userborn")?;
    if res.tree().entries[k].kind != Kind::Dir {
        return None;
    }
    // Without the unit: a direct-symlinked /etc/passwd shows a location other than /etc.
    let location = match res.lookup(b"/etc/passwd") {
        Some(p) if res.tree().entries[p].kind == Kind::Symlink => {
            let r = res.resolve(b"/etc/passwd");
            if r.ending == Ending::Exists && !is_under(&r.path, b"/nix/store") {
                parent(&r.path).to_vec()
            } else {
                b"/etc".to_vec()
            }
        }
        _ => b"/etc".to_vec(),
    };
    Some(Userborn {
        location,
        evidence: "its state directory /var/lib/userborn".to_string(),
    })
}
