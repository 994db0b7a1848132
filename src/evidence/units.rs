//! The root's systemd units in `/etc/systemd/system`, read once per audit
//! inside ROOT (on NixOS the directory is a link through `/etc/static` into
//! the store, and each unit a link to its own store path): mount units that
//! bind storage (`What=` in storage, `Where=` the kept path), and what each
//! service says about the state it keeps (`StateDirectory=`,
//! `CacheDirectory=`, `LogsDirectory=`, `ConfigurationDirectory=`, `User=`,
//! `DynamicUser=`) as an [`owners::Service`](crate::owners::Service), for the
//! owners of `/var/lib/X` and friends.

use super::{Listed, list_in_root, read_in_root};
use crate::owners::{Service, UnitDir};
use crate::paths::{is_under, normalize};
use crate::resolve::{Ending, Resolver};

/// Everything read from the unit directory.
#[derive(Debug, Default)]
pub struct Units {
    /// Bind mounts from storage declared as mount units.
    pub mounts: Vec<Listed>,
    /// Services, by name.
    pub services: Vec<Service>,
}

/// The directives that name directories systemd creates for a service, with
/// the directory they are relative to and the one used with `DynamicUser=`.
const DIRECTIVES: &[(&str, &str, Option<&str>)] = &[
    ("StateDirectory", "/var/lib", Some("/var/lib/private")),
    ("CacheDirectory", "/var/cache", Some("/var/cache/private")),
    ("LogsDirectory", "/var/log", Some("/var/log/private")),
    ("ConfigurationDirectory", "/etc", None),
    ("RuntimeDirectory", "/run", None),
];

/// Where NixOS's system units are.
const DIR: &[u8] = b"/etc/systemd/system";

/// The most unit files read (a large NixOS system has a thousand or two).
const MAX_UNITS: usize = 20_000;

/// Reads `/etc/systemd/system` and the drop-ins of each service (`X.service.d/*.conf`).
pub(super) fn read(res: &Resolver<'_>, storage: &[Vec<u8>]) -> Units {
    let mut out = Units::default();
    let mut listing = list_in_root(res, DIR);
    listing.sort();
    listing.truncate(MAX_UNITS);
    let names: std::collections::HashSet<&[u8]> = listing.iter().map(|p| base(p)).collect();
    for unit in &listing {
        let name = base(unit);
        // Shown as the system sees it, not as the store path it resolved to.
        let mut shown = DIR.to_vec();
        shown.push(b'/');
        shown.extend_from_slice(name);
        if name.ends_with(b".mount") {
            if let Some(l) = mount_unit(res, unit, storage) {
                out.mounts.push(l);
            }
        } else if name.ends_with(b".service") && !name.contains(&b'@') {
            // An alias (`systemd-sysusers.service` → `userborn.service`) is a
            // link to another unit of the directory: read that one only.
            let r = res.resolve(unit);
            if r.ending == Ending::Exists && base(&r.path) != name && names.contains(base(&r.path))
            {
                continue;
            }
            let Some(text) = read_in_root(res, unit) else {
                continue;
            };
            let mut texts = vec![text];
            let mut dropin = unit.clone();
            dropin.extend_from_slice(b".d");
            let mut confs = list_in_root(res, &dropin);
            confs.sort();
            for conf in confs.iter().filter(|c| c.ends_with(b".conf")) {
                if let Some(text) = read_in_root(res, conf) {
                    texts.push(text);
                }
            }
            out.services.push(parse_service(
                &String::from_utf8_lossy(name),
                &String::from_utf8_lossy(&shown),
                &texts,
            ));
        }
    }
    out.services.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The service `name` read from `file`: its unit text, then its drop-ins'
/// in order (a list directive appends, an empty assignment resets it). Also
/// for readers without an audit's resolver (`darlings migrate`).
pub fn parse_service(name: &str, file: &str, texts: &[Vec<u8>]) -> Service {
    let mut service = Service {
        name: name.to_string(),
        file: file.to_string(),
        ..Service::default()
    };
    let mut values = Values::default();
    for t in texts {
        values.apply(t);
    }
    values.fill(&mut service);
    service
}

/// The last component of a path.
fn base(p: &[u8]) -> &[u8] {
    p.rsplit(|&b| b == b'/').next().unwrap_or(p)
}

/// The service keys darlings reads, accumulated over the unit and its drop-ins
/// as systemd does: a list directive appends, an empty assignment resets it.
#[derive(Default)]
struct Values {
    user: Option<String>,
    dynamic_user: bool,
    dirs: Vec<(usize, String)>,
    exec_start: Option<String>,
}

impl Values {
    fn apply(&mut self, text: &[u8]) {
        let text = String::from_utf8_lossy(text);
        let mut in_service = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_service = line == "[Service]";
                continue;
            }
            if !in_service || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "User" => self.user = (!value.is_empty()).then(|| value.to_string()),
                "DynamicUser" => {
                    self.dynamic_user = matches!(value, "yes" | "true" | "1" | "on");
                }
                "ExecStart" => self.exec_start = (!value.is_empty()).then(|| value.to_string()),
                _ => {
                    let Some(d) = DIRECTIVES.iter().position(|(k, _, _)| *k == key) else {
                        continue;
                    };
                    if value.is_empty() {
                        self.dirs.retain(|(k, _)| *k != d);
                    }
                    for item in value.split_whitespace() {
                        // `NAME:LINK` makes LINK a symlink to NAME; NAME is the directory.
                        let item = item.trim_matches(['"', '\'']);
                        let dir = item.split(':').next().unwrap_or(item);
                        // Specifiers (`%i`) only mean something for an instance.
                        if !dir.is_empty() && !dir.contains('%') && !dir.contains("..") {
                            self.dirs.push((d, dir.trim_matches('/').to_string()));
                        }
                    }
                }
            }
        }
    }

    fn fill(self, s: &mut Service) {
        s.user = self.user;
        s.dynamic_user = self.dynamic_user;
        s.exec_start = self.exec_start;
        for (d, value) in self.dirs {
            let (directive, plain, private) = DIRECTIVES[d];
            let top = match (s.dynamic_user, private) {
                (true, Some(p)) => p,
                _ => plain,
            };
            let mut path = top.as_bytes().to_vec();
            path.push(b'/');
            path.extend_from_slice(value.as_bytes());
            s.dirs.push(UnitDir {
                path: normalize(&path),
                directive,
                value,
            });
        }
    }
}

/// A bind mount declared as a systemd mount unit (`What=` in storage, `Where=`).
fn mount_unit(res: &Resolver<'_>, unit: &[u8], storage: &[Vec<u8>]) -> Option<Listed> {
    let text = read_in_root(res, unit)?;
    let text = String::from_utf8_lossy(&text);
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let (what, place) = (value("What=")?, value("Where=")?);
    let what = normalize(what.as_bytes());
    let s = storage.iter().find(|s| is_under(&what, s) && what != **s)?;
    Some(Listed {
        path: normalize(place.as_bytes()),
        storage: s.clone(),
        is_file: false,
        by_symlink: false,
        origin: format!("mount unit {}", String::from_utf8_lossy(base(unit))),
        what: Some(what),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(text: &str, dropin: &str) -> Service {
        let mut s = Service::default();
        let mut v = Values::default();
        v.apply(text.as_bytes());
        v.apply(dropin.as_bytes());
        v.fill(&mut s);
        s
    }

    #[test]
    fn directories_follow_systemd_s_rules() {
        let s = service(
            "[Unit]\nStateDirectory=not-in-service\n[Service]\nUser=postgres\n\
             StateDirectory=postgresql postgresql/16\nCacheDirectory=pg:pg-link\n\
             LogsDirectory=%i\nExecStart=/nix/store/x/bin/postgres -D /var/lib/postgresql\n",
            "[Service]\nLogsDirectory=\nLogsDirectory=postgresql\n",
        );
        assert_eq!(s.user.as_deref(), Some("postgres"));
        let dirs: Vec<(String, &str)> = s
            .dirs
            .iter()
            .map(|d| (String::from_utf8_lossy(&d.path).into_owned(), d.directive))
            .collect();
        assert_eq!(
            dirs,
            [
                ("/var/lib/postgresql".to_string(), "StateDirectory"),
                ("/var/lib/postgresql/16".to_string(), "StateDirectory"),
                ("/var/cache/pg".to_string(), "CacheDirectory"),
                ("/var/log/postgresql".to_string(), "LogsDirectory"),
            ]
        );
        assert!(
            s.exec_start
                .is_some_and(|e| e.ends_with("/var/lib/postgresql"))
        );
    }

    #[test]
    fn dynamic_users_keep_their_state_under_private() {
        let s = service(
            "[Service]\nDynamicUser=true\nStateDirectory=foo\nRuntimeDirectory=foo\n",
            "",
        );
        let paths: Vec<&[u8]> = s.dirs.iter().map(|d| d.path.as_slice()).collect();
        assert_eq!(paths, [&b"/var/lib/private/foo"[..], b"/run/foo"]);
        assert!(s.dirs[0].is_state() && !s.dirs[1].is_state());
    }
}
