//! `users.mutableUsers`, read from the root's system generation: NixOS's
//! activation runs `update-users-groups.pl` on a `users-groups.json` spec in
//! the store that holds `mutableUsers` (nixos/modules/config/users-groups.nix:
//! `spec = pkgs.writeText "users-groups.json" (builtins.toJSON { inherit
//! (cfg) mutableUsers; … })`), and the generation's `activate` script names
//! that file. With mutable users (NixOS's default), activation merges the
//! configuration into `/etc/passwd`, `/etc/shadow` and `/etc/group`, and what
//! `passwd`, `useradd` or `chsh` changed lives only there: they are not
//! simply regenerated.

use super::read_in_root;
use crate::resolve::Resolver;

/// The account files activation writes from `users-groups.json`.
pub const FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/subuid",
    "/etc/subgid",
];

/// What the root's system generation says of its accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accounts {
    /// `users.mutableUsers`.
    pub mutable: bool,
    /// Where darlings read it (the spec file and the script naming it).
    pub evidence: String,
}

/// The activation scripts to look in: the running system's, then the
/// system profile's (a root scanned offline has no /run).
const ACTIVATE: &[&str] = &[
    "/run/current-system/activate",
    "/nix/var/nix/profiles/system/activate",
];

/// Reads `mutableUsers` from the root's generation, when it has one.
pub fn detect(res: &Resolver<'_>) -> Option<Accounts> {
    for script in ACTIVATE {
        let Some(text) = read_in_root(res, script.as_bytes()) else {
            continue;
        };
        let Some(spec) = spec_path(&text) else {
            continue;
        };
        let json = read_in_root(res, &spec)?;
        let value: serde_json::Value = serde_json::from_slice(&json).ok()?;
        let mutable = value.get("mutableUsers")?.as_bool()?;
        return Some(Accounts {
            mutable,
            evidence: format!(
                "mutableUsers = {mutable} in {} (named by {script})",
                String::from_utf8_lossy(&spec)
            ),
        });
    }
    None
}

/// The first `/nix/store/HASH-users-groups.json` the script names.
fn spec_path(script: &[u8]) -> Option<Vec<u8>> {
    const NAME: &[u8] = b"-users-groups.json";
    const STORE: &[u8] = b"/nix/store/";
    let end = memchr::memmem::find(script, NAME)? + NAME.len();
    let start = memchr::memmem::rfind(&script[..end], STORE)?;
    let path = &script[start..end];
    // A store path's name has no separators or quotes in it.
    let name = &path[STORE.len()..];
    if name
        .iter()
        .any(|&b| b == b'/' || b == b'\'' || b == b'"' || b.is_ascii_whitespace())
    {
        return None;
    }
    Some(path.to_vec())
}

#[cfg(test)]
mod tests {
    use super::spec_path;

    #[test]
    fn the_spec_is_found_in_nixos_activation_text() {
        // As nixos/modules/config/users-groups.nix's activation snippet reads.
        let script = b"#### Activation script snippet users:\n_localstatus=0\ninstall -m 0700 -d /root\ninstall -m 0755 -d /home\n\n/nix/store/9bq1bqkfm2sn8vz4qd4yb6m7lq6w2a4d-perl-5.38.2-env/bin/perl \\\n-w /nix/store/xj2l2bx5mb1l1qj9dncw9v1q4z7ql9d3-update-users-groups.pl /nix/store/0v0pb5zz3nb4xvm4g8bf0d9ax5nhzrgy-users-groups.json\n";
        assert_eq!(
            spec_path(script).as_deref(),
            Some(&b"/nix/store/0v0pb5zz3nb4xvm4g8bf0d9ax5nhzrgy-users-groups.json"[..])
        );
        assert_eq!(spec_path(b"no accounts here"), None);
        assert_eq!(spec_path(b"/nix/store/a b-users-groups.json"), None);
    }
}
