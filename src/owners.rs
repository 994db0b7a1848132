//! Who keeps state where: for `/var/lib/X` (and `/var/lib/private/X`,
//! `/var/cache/X`, `/var/log/X`, `/var/spool/X`), the systemd unit whose
//! `StateDirectory=`, `CacheDirectory=`, `LogsDirectory=` (or
//! `ConfigurationDirectory=`, `RuntimeDirectory=`) names the directory; else
//! the user owning it and the units that run as that user (`User=`). Built
//! once per audit from the services that `evidence` reads from the unit files
//! and the root's `/etc/passwd`; a lookup reads nothing. [`Service`] is
//! defined here, below `evidence`, so the evidence depends on the owners and
//! not the reverse.

use std::collections::HashMap;

use crate::users::Users;

/// The owner of a service directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The unit keeping its state there (`postgresql.service`), when one is known.
    pub unit: Option<String>,
    /// Every unit known to keep state there: the unit naming the directory,
    /// or all units running as its owner (what to stop before moving it).
    pub units: Vec<String>,
    /// The user owning it (`postgres`), when known.
    pub user: Option<String>,
    /// How darlings knows (`StateDirectory=postgresql in /etc/systemd/system/postgresql.service`).
    pub evidence: String,
    /// The directory holds a service's state (`StateDirectory=`, or a
    /// user's directory in `/var/lib`): a knowledge-base rule keyed on the
    /// unit applies to it.
    pub state: bool,
}

/// What a service unit says about its state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    /// The unit's name (`postgresql.service`).
    pub name: String,
    /// The in-root path it was read from (`/etc/systemd/system/postgresql.service`).
    pub file: String,
    /// `User=`, when set.
    pub user: Option<String>,
    /// `DynamicUser=yes`: its directories live under `private/`.
    pub dynamic_user: bool,
    /// The directories it asks systemd to create, as in-root paths with the
    /// directive that names each (`/var/lib/postgresql`, `StateDirectory=postgresql`).
    pub dirs: Vec<UnitDir>,
    /// `ExecStart=` (the last one), for services whose arguments say where
    /// their state is (userborn).
    pub exec_start: Option<String>,
}

/// One directory a unit's `*Directory=` directive names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitDir {
    /// The in-root path systemd creates (under `private/` with `DynamicUser=`).
    pub path: Vec<u8>,
    /// Which directive: `StateDirectory`, `CacheDirectory`, ...
    pub directive: &'static str,
    /// The value as written (`postgresql`).
    pub value: String,
}

impl UnitDir {
    /// Returns true if and only if the directory holds the unit's state
    /// (`StateDirectory=`), where a knowledge-base rule keyed on the unit applies.
    pub fn is_state(&self) -> bool {
        self.directive == "StateDirectory"
    }
}

/// The directories whose children are service directories.
const ROOTS: &[&[u8]] = &[
    b"/var/lib",
    b"/var/lib/private",
    b"/var/cache",
    b"/var/log",
    b"/var/spool",
];

/// Ids systemd hands out to `DynamicUser=` services.
const DYNAMIC_UIDS: std::ops::RangeInclusive<u32> = 61184..=65519;

/// The owner table of one root.
#[derive(Clone, Debug, Default)]
pub struct Owners {
    table: Vec<Owner>,
    /// Directories named by a unit's directive, to their owner.
    by_dir: HashMap<Vec<u8>, u32>,
    /// Components of the deepest directory named by a directive.
    max_depth: usize,
    /// Units running as each user.
    units_of_user: HashMap<String, Vec<String>>,
    /// Owners made from a uid, by uid (a user owns many directories).
    by_uid: HashMap<u32, Option<u32>>,
    users: Users,
}

impl Owners {
    /// The owners named by `services`, and the accounts of `users`.
    pub fn new(services: &[Service], users: Users) -> Owners {
        let mut o = Owners {
            users,
            ..Owners::default()
        };
        for s in services {
            // A DynamicUser= service's user is named after the unit.
            let user = s.user.clone().or_else(|| {
                s.dynamic_user
                    .then(|| s.name.trim_end_matches(".service").to_string())
            });
            if let Some(u) = &s.user {
                o.units_of_user
                    .entry(u.clone())
                    .or_default()
                    .push(s.name.clone());
            }
            for d in &s.dirs {
                let dynamic = if s.dynamic_user && d.path.starts_with(b"/var/") {
                    ", DynamicUser=yes"
                } else {
                    ""
                };
                let evidence = format!("{}={}{dynamic} in {}", d.directive, d.value, s.file);
                let mut paths = vec![d.path.clone()];
                // systemd links /var/lib/X to private/X for a dynamic user.
                if let Some(plain) = unprivate(&d.path) {
                    paths.push(plain);
                }
                let known = paths.iter().find_map(|p| o.by_dir.get(p).copied());
                let id = match known {
                    Some(id) => {
                        let owner = &mut o.table[id as usize];
                        if !owner.units.contains(&s.name) {
                            owner.units.push(s.name.clone());
                        }
                        owner.state |= d.is_state();
                        id
                    }
                    None => {
                        o.table.push(Owner {
                            unit: Some(s.name.clone()),
                            units: vec![s.name.clone()],
                            user: user.clone(),
                            evidence,
                            state: d.is_state(),
                        });
                        (o.table.len() - 1) as u32
                    }
                };
                for path in paths {
                    o.max_depth = o.max_depth.max(crate::paths::components(&path).count());
                    o.by_dir.entry(path).or_insert(id);
                }
            }
        }
        for units in o.units_of_user.values_mut() {
            units.sort();
            units.dedup();
        }
        o
    }

    /// The owner named by a unit for exactly the directory `path`.
    pub fn of_dir(&self, path: &[u8]) -> Option<u32> {
        self.by_dir.get(path).copied()
    }

    /// Components of the deepest directory a unit names: deeper paths only inherit.
    pub fn max_depth(&self) -> usize {
        self.max_depth.max(4)
    }

    /// The owner of `path`, a directory owned by `uid`, when no unit names it:
    /// only for the children of `/var/lib`, `/var/lib/private`, `/var/cache`,
    /// `/var/log` and `/var/spool`, and never for root.
    pub fn of_uid(&mut self, path: &[u8], uid: u32) -> Option<u32> {
        let parent = crate::paths::parent(path);
        if uid == 0 || !ROOTS.contains(&parent) {
            return None;
        }
        let in_lib = parent.starts_with(b"/var/lib");
        if let Some(&id) = self.by_uid.get(&uid) {
            return id.map(|id| self.with_state(id, in_lib));
        }
        let owner = match self.users.accounts().iter().find(|a| a.uid == uid) {
            Some(account) => {
                let units = self
                    .units_of_user
                    .get(&account.name)
                    .cloned()
                    .unwrap_or_default();
                let evidence = match units.as_slice() {
                    [] => format!("owned by {} (uid {uid}); no unit runs as it", account.name),
                    [one] => format!(
                        "owned by {} (uid {uid}); {one} runs as it (User={})",
                        account.name, account.name
                    ),
                    many => format!(
                        "owned by {} (uid {uid}); {} run as it (User={})",
                        account.name,
                        many.join(", "),
                        account.name
                    ),
                };
                Some(Owner {
                    unit: (units.len() == 1).then(|| units[0].clone()),
                    units,
                    user: Some(account.name.clone()),
                    evidence,
                    state: false,
                })
            }
            None if DYNAMIC_UIDS.contains(&uid) => Some(Owner {
                unit: None,
                units: Vec::new(),
                user: None,
                evidence: format!(
                    "owned by uid {uid}, a DynamicUser= id that no unit of this root claims"
                ),
                state: false,
            }),
            None => None,
        };
        let id = owner.map(|owner| {
            self.table.push(owner);
            (self.table.len() - 1) as u32
        });
        self.by_uid.insert(uid, id);
        id.map(|id| self.with_state(id, in_lib))
    }

    /// `id`, or its copy marked as holding state when found in `/var/lib`.
    fn with_state(&mut self, id: u32, state: bool) -> u32 {
        let o = &self.table[id as usize];
        if o.state == state {
            return id;
        }
        // The same user's directory in /var/lib and in /var/cache differ only there.
        let copy = Owner { state, ..o.clone() };
        if let Some(at) = self.table.iter().position(|t| *t == copy) {
            return at as u32;
        }
        self.table.push(copy);
        (self.table.len() - 1) as u32
    }

    /// The owner with id `id`.
    pub fn get(&self, id: u32) -> &Owner {
        &self.table[id as usize]
    }

    /// The table, for the verdicts to keep.
    pub fn into_table(self) -> Vec<Owner> {
        self.table
    }
}

/// `/var/lib/X` for `/var/lib/private/X` (and the same under `/var/cache`,
/// `/var/log`): where systemd links a `DynamicUser=` service's directory.
pub fn unprivate(path: &[u8]) -> Option<Vec<u8>> {
    for top in [&b"/var/lib"[..], b"/var/cache", b"/var/log"] {
        let mut private = top.to_vec();
        private.extend_from_slice(b"/private/");
        if let Some(rest) = path.strip_prefix(private.as_slice()) {
            let mut plain = top.to_vec();
            plain.push(b'/');
            plain.extend_from_slice(rest);
            return Some(plain);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, user: Option<&str>, dynamic: bool, dirs: &[(&str, &str)]) -> Service {
        Service {
            name: name.into(),
            file: format!("/etc/systemd/system/{name}"),
            user: user.map(String::from),
            dynamic_user: dynamic,
            dirs: dirs
                .iter()
                .map(|(path, directive)| UnitDir {
                    path: path.as_bytes().to_vec(),
                    directive: if *directive == "state" {
                        "StateDirectory"
                    } else {
                        "CacheDirectory"
                    },
                    value: path.rsplit('/').next().unwrap_or("").into(),
                })
                .collect(),
            exec_start: None,
        }
    }

    #[test]
    fn a_unit_s_directive_names_the_owner_else_the_user_and_its_units() {
        let users = Users::parse(
            "postgres:x:71:71::/var/lib/postgresql:/bin/sh\nnextcloud:x:990:990::/var/lib/nextcloud:/bin/sh\n",
            "",
        );
        let services = [
            svc(
                "postgresql.service",
                Some("postgres"),
                false,
                &[("/var/lib/postgresql", "state")],
            ),
            svc(
                "foo.service",
                None,
                true,
                &[
                    ("/var/lib/private/foo", "state"),
                    ("/var/cache/private/foo", "cache"),
                ],
            ),
            svc("phpfpm-nextcloud.service", Some("nextcloud"), false, &[]),
            svc("nextcloud-cron.service", Some("nextcloud"), false, &[]),
        ];
        let mut o = Owners::new(&services, users);
        let pg = o.get(o.of_dir(b"/var/lib/postgresql").unwrap()).clone();
        assert_eq!(pg.unit.as_deref(), Some("postgresql.service"));
        assert_eq!(pg.user.as_deref(), Some("postgres"));
        assert!(pg.state);
        assert!(
            pg.evidence
                .contains("StateDirectory=postgresql in /etc/systemd/system/postgresql.service")
        );
        let foo = o.get(o.of_dir(b"/var/lib/private/foo").unwrap()).clone();
        assert_eq!(
            foo.user.as_deref(),
            Some("foo"),
            "a dynamic user is named after its unit"
        );
        assert!(foo.evidence.contains("DynamicUser=yes"));
        assert_eq!(o.of_dir(b"/var/lib/foo"), o.of_dir(b"/var/lib/private/foo"));
        assert!(!o.get(o.of_dir(b"/var/cache/private/foo").unwrap()).state);
        // No directive: the owning user and the units running as it.
        let nc = o.of_uid(b"/var/lib/nextcloud", 990).unwrap();
        let nc = o.get(nc).clone();
        assert_eq!(nc.unit, None, "two units run as nextcloud");
        assert_eq!(
            nc.units,
            ["nextcloud-cron.service", "phpfpm-nextcloud.service"]
        );
        assert!(nc.state);
        let cache = o.of_uid(b"/var/cache/nextcloud", 990).unwrap();
        assert!(!o.get(cache).state);
        assert_eq!(
            o.of_uid(b"/var/lib/x", 0),
            None,
            "root owns too much to say"
        );
        assert_eq!(o.of_uid(b"/var/lib/x/deeper", 990), None);
        let dynamic = o.of_uid(b"/var/lib/private/gone", 61300).unwrap();
        assert!(o.get(dynamic).evidence.contains("DynamicUser="));
        assert_eq!(o.of_uid(b"/var/lib/y", 4242), None);
    }
}
