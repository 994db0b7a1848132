//! Paths the whitelist must never list, whoever asks (`darlings promote`,
//! the TUI): the storage itself, what NixOS rebuilds at every activation
//! (`/nix`, `/etc/static`, `/etc` as a whole, links into the Nix store).
//! Each refusal names its rule and says what to do instead. [`Gate`] looks
//! at ROOT (links followed inside it, directories of /etc read for
//! generated files) and at the whitelist file (a directory above an entry
//! it lists would nest the two); [`refusal`] is the rules on paths alone.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::paths::{is_under, normalize};
use crate::resolve::{Beyond, Ending, HostBeyond};
use crate::scan::Kind;
use crate::text::escape_bytes;

/// At most this many entries of a directory under /etc are looked at for
/// files NixOS generates (/etc as a whole holds a few thousand).
const GENERATED_LOOKS: usize = 20_000;

/// What decides whether a path of ROOT may be promoted into a whitelist
/// file: ROOT itself, the storage roots paths must stay out of, and the
/// entries the file lists already.
#[derive(Debug, Clone)]
pub struct Gate {
    host: HostBeyond,
    storage: Vec<Vec<u8>>,
    /// The whitelist file, named in refusals.
    file: PathBuf,
    /// The paths it lists (absolute, normalised, sorted), with their line.
    listed: Vec<(Vec<u8>, usize)>,
}

impl Gate {
    /// The gate of promotions into the whitelist `file` on `root`: its
    /// storage roots are the file's and `storage` (`--storage`; none given:
    /// /persist, the default). `homes` as for [`super::apply`].
    pub fn new(
        root: &Path,
        file: &Path,
        storage: &[PathBuf],
        homes: &[(String, PathBuf)],
    ) -> Result<Gate> {
        let mut roots: Vec<Vec<u8>> = super::storage_roots(file, homes)?
            .iter()
            .chain(storage)
            .map(|r| normalize(r.as_os_str().as_bytes()))
            .collect();
        if storage.is_empty() {
            roots.push(b"/persist".to_vec());
        }
        roots.sort();
        roots.dedup();
        let listed = super::listed(file, homes)?
            .into_iter()
            .map(|(p, line)| (p.into_bytes(), line))
            .collect();
        Ok(Gate {
            host: HostBeyond {
                root: root.to_path_buf(),
            },
            storage: roots,
            file: file.to_path_buf(),
            listed,
        })
    }

    /// Why the in-root `path` (absolute, normalised) must not be promoted,
    /// if it must not: [`refusal`] on the path and where its links lead
    /// inside ROOT, then an entry of the file inside it, then, for a
    /// directory of /etc, the first file inside that NixOS generates.
    pub fn refusal(&self, path: &[u8]) -> Option<Refusal> {
        let lands = self.host.resolve(path);
        if let Some(r) = refusal(path, &lands.path, &self.storage) {
            return Some(r);
        }
        if let Some(r) = self.holds_listed(path) {
            return Some(r);
        }
        if lands.ending == Ending::Exists
            && is_under(&lands.path, b"/etc")
            && let Some((entry, to)) = self.generated_below(&lands.path)
        {
            return Some(generated_inside(path, &entry, &to));
        }
        None
    }

    /// The refusal of `path` when the file lists an entry strictly inside
    /// it. The mirror of a path inside a listed directory, which is kept
    /// already and changes nothing: here the file would list both, nested
    /// entries that mount the same data twice, which `darlings check`
    /// rejects as an error. Which of the two the person wants kept is theirs
    /// to say, so nothing is written: removing an entry of their file to
    /// make room is not a promotion's business.
    fn holds_listed(&self, path: &[u8]) -> Option<Refusal> {
        // Kept already (listed, or below a listed directory): nothing would
        // be written, and promote says which line keeps it.
        if self.listed.iter().any(|(l, _)| is_under(path, l)) {
            return None;
        }
        let inside: Vec<&(Vec<u8>, usize)> = self
            .listed
            .iter()
            .filter(|(l, _)| l.as_slice() != path && is_under(l, path))
            .collect();
        let (first, line) = inside.first()?;
        let shown = escape_bytes(path);
        let entry = escape_bytes(first);
        let file = format!("'{}'", crate::text::quote_path(&self.file));
        let (more, them) = match inside.len() {
            1 => (String::new(), entry.clone()),
            n => (
                format!(
                    " and {} more {}",
                    n - 1,
                    crate::text::plural(n as u64 - 1, "entry", "entries")
                ),
                format!("{entry} and the other entries inside {shown}"),
            ),
        };
        Some(Refusal {
            rule: format!("holds listed entry {entry}"),
            why: format!(
                "{file} already lists {entry} (line {line}){more} inside {shown}; listing \
                 {shown} too would mount the same data twice, which `darlings check` reports \
                 as nested (an error)"
            ),
            instead: format!(
                "keep promoting the paths inside {shown} you want kept, or remove {them} from \
                 {file} first and promote {shown} again"
            ),
        })
    }

    /// The first entry below the directory `dir` (in-root, resolved) that
    /// leads into /nix ([`leads_to_nix`]): a file NixOS generates. Only
    /// directories of ROOT itself are entered, never through a link; names
    /// are listed without touching atimes.
    fn generated_below(&self, dir: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut todo = vec![dir.to_vec()];
        let mut looked = 0;
        while let Some(d) = todo.pop() {
            let on_host = self.host.root.join(std::ffi::OsStr::from_bytes(
                d.strip_prefix(b"/").unwrap_or(&d),
            ));
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
                match self.host.lstat(&child) {
                    Some((Kind::Dir, _)) => todo.push(child),
                    Some((Kind::Symlink, _)) => {
                        let to = self.host.resolve(&child).path;
                        if leads_to_nix(&to) {
                            return Some((child, to));
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }
}

/// Why a path cannot be promoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule that refused it, short (`inside storage root /persist`).
    pub rule: String,
    /// Why the rule exists, for this path.
    pub why: String,
    /// What to do instead.
    pub instead: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; instead, {}", self.rule, self.why, self.instead)
    }
}

/// What the files that hold state under /etc usually are: the advice of
/// every refusal that turns a person away from a generated file.
const ETC_STATE: &str = "persist the files that hold state, like /etc/ssh/ssh_host_ed25519_key \
     or /etc/machine-id, and set the rest in your NixOS configuration (environment.etc or the \
     service's options)";

/// Returns true if and only if a link that lands at `lands` (resolved
/// inside ROOT) is one NixOS makes: into /nix, or into /etc/static when
/// that is missing (a root whose /nix is not mounted).
fn leads_to_nix(lands: &[u8]) -> bool {
    is_under(lands, b"/nix") || is_under(lands, b"/etc/static")
}

/// Why `path` (absolute, normalised, in-root) must not be promoted, if it
/// must not. `lands` is where it leads with every link of ROOT followed
/// (`path` itself when nothing on the way is a link); `storage` are the
/// storage roots (normalised).
pub fn refusal(path: &[u8], lands: &[u8], storage: &[Vec<u8>]) -> Option<Refusal> {
    let shown = escape_bytes(path);
    // The storage rules first: a storage root below /nix (`/nix/persist`)
    // is common, and its own advice is the useful one there.
    if let Some(root) = storage.iter().find(|r| is_under(path, r)) {
        let rest = &path[root.len()..];
        let instead = if rest.is_empty() {
            "promote the paths of the root whose data it should keep".to_string()
        } else {
            format!(
                "promote the path where the data lives on the root: {}",
                escape_bytes(rest)
            )
        };
        return Some(Refusal {
            rule: format!("inside storage root {}", escape_bytes(root)),
            why: format!(
                "{shown} is the persistent storage itself, not a path of the root that is wiped"
            ),
            instead,
        });
    }
    if let Some(root) = storage.iter().find(|r| is_under(r, path)) {
        return Some(Refusal {
            rule: format!("holds storage root {}", escape_bytes(root)),
            why: format!(
                "persisting {shown} would mount storage over the storage root inside it, \
                 hiding it"
            ),
            instead: format!(
                "promote the directories of {shown} that hold state, outside {}",
                escape_bytes(root)
            ),
        });
    }
    if is_under(path, b"/nix") {
        return Some(Refusal {
            rule: "under /nix".into(),
            why: "/nix holds the Nix store and its database; an impermanent NixOS keeps /nix on \
                  a persistent file system of its own, and NixOS rebuilds the store from your \
                  configuration"
                .into(),
            instead: "leave /nix out of the whitelist and change what it holds through your \
                      NixOS configuration"
                .into(),
        });
    }
    if is_under(path, b"/etc/static") {
        return Some(Refusal {
            rule: "under /etc/static".into(),
            why: "NixOS points /etc/static at the current system's /etc in the Nix store and \
                  remakes it at every activation"
                .into(),
            instead: ETC_STATE.into(),
        });
    }
    if path == b"/etc" {
        return Some(Refusal {
            rule: "/etc itself".into(),
            why: "NixOS generates files in /etc at every activation; persisting /etc whole hides \
                  them behind the stored copies (`darlings check` reports that as shadows-nix)"
                .into(),
            instead: ETC_STATE.into(),
        });
    }
    if leads_to_nix(lands) {
        return Some(Refusal {
            rule: "link into the Nix store".into(),
            why: format!(
                "{shown} leads to {} (its links followed inside ROOT): NixOS recreates it from \
                 your configuration at every activation, over a persisted copy",
                escape_bytes(lands)
            ),
            instead: ETC_STATE.into(),
        });
    }
    None
}

/// The refusal of the directory `dir` under /etc that holds `entry`, a
/// file NixOS generates (it leads to `lands`, in the Nix store): persisting
/// the directory whole would hide it, as with /etc itself.
fn generated_inside(dir: &[u8], entry: &[u8], lands: &[u8]) -> Refusal {
    Refusal {
        rule: "holds files NixOS generates".into(),
        why: format!(
            "{} holds {}, which leads to {} in the Nix store; persisting the directory whole \
             hides what NixOS generates there (`darlings check` reports that as shadows-nix)",
            escape_bytes(dir),
            escape_bytes(entry),
            escape_bytes(lands)
        ),
        instead: ETC_STATE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(path: &str, lands: &str, storage: &[&str]) -> Option<String> {
        let storage: Vec<Vec<u8>> = storage.iter().map(|s| s.as_bytes().to_vec()).collect();
        refusal(path.as_bytes(), lands.as_bytes(), &storage).map(|r| r.rule)
    }

    #[test]
    fn each_rule_refuses_its_paths_and_nothing_else() {
        let p = ["/persist"];
        assert_eq!(
            refused("/persist/var/lib/x", "/persist/var/lib/x", &p).as_deref(),
            Some("inside storage root /persist")
        );
        assert_eq!(
            refused("/mnt", "/mnt", &["/mnt/persist"]).as_deref(),
            Some("holds storage root /mnt/persist")
        );
        assert_eq!(
            refused("/nix/persist/a", "/nix/persist/a", &["/nix/persist"]).as_deref(),
            Some("inside storage root /nix/persist"),
            "a storage root below /nix: the storage rule speaks"
        );
        assert_eq!(refused("/nix", "/nix", &p).as_deref(), Some("under /nix"));
        assert_eq!(
            refused("/etc/static/x", "/nix/store/a/x", &p).as_deref(),
            Some("under /etc/static")
        );
        assert_eq!(refused("/etc", "/etc", &p).as_deref(), Some("/etc itself"));
        assert_eq!(
            refused(
                "/etc/ssh/sshd_config",
                "/nix/store/a-etc/etc/ssh/sshd_config",
                &p
            )
            .as_deref(),
            Some("link into the Nix store")
        );
        assert_eq!(
            refused("/etc/hosts", "/etc/static/hosts", &p).as_deref(),
            Some("link into the Nix store"),
            "into a missing /etc/static: a root whose /nix is not mounted"
        );
        for fine in [
            "/etc/ssh",
            "/persistent",
            "/var/lib/nixos",
            "/etc/staticx",
            "/nixos",
        ] {
            assert_eq!(refused(fine, fine, &p), None, "{fine}");
        }
    }
}
