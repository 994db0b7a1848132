//! The accounts of the scanned root: `/etc/passwd` and `/etc/group` read
//! inside ROOT (never the host's), for owner names, the homes of
//! `users.NAME` whitelist entries, and the people whose homes can hold
//! `users.NAME` entries. Missing or unreadable files give no accounts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One line of `/etc/passwd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The login name.
    pub name: String,
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
    /// The home directory as written (absolute on a sane system).
    pub home: PathBuf,
}

impl Account {
    /// Returns true if and only if this is a person whose home can hold
    /// persisted paths: root, or a normal uid (1000..60000) with a real home.
    pub fn is_person(&self) -> bool {
        let home = self.home.as_os_str();
        (self.uid == 0 || (1000..60000).contains(&self.uid))
            && self.home.is_absolute()
            && home != "/"
    }
}

/// The accounts and groups of one root.
#[derive(Clone, Debug, Default)]
pub struct Users {
    accounts: Vec<Account>,
    by_uid: HashMap<u32, usize>,
    groups: HashMap<u32, String>,
}

/// The most darlings reads of either file (a real one is a few KiB).
const MAX_BYTES: u64 = 4 << 20;

impl Users {
    /// Reads `ROOT/etc/passwd` and `ROOT/etc/group`, resolving links inside
    /// ROOT and never opening a fifo or device.
    pub fn read(root: &Path) -> Users {
        let read = |p: &[u8]| {
            crate::safe_open::read_in_root(root, p, MAX_BYTES)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        Users::parse(&read(b"/etc/passwd"), &read(b"/etc/group"))
    }

    /// Parses the text of `/etc/passwd` and `/etc/group`; malformed lines
    /// are skipped. The first line of a uid or gid names it (as getpwuid does).
    pub fn parse(passwd: &str, group: &str) -> Users {
        let mut users = Users::default();
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            let (Some(name), Some(uid), Some(gid)) = (f.first(), f.get(2), f.get(3)) else {
                continue;
            };
            let (Ok(uid), Ok(gid)) = (uid.parse(), gid.parse()) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let account = Account {
                name: name.to_string(),
                uid,
                gid,
                home: PathBuf::from(f.get(5).copied().unwrap_or("")),
            };
            users.by_uid.entry(uid).or_insert(users.accounts.len());
            users.accounts.push(account);
        }
        for line in group.lines() {
            let mut f = line.split(':');
            let (Some(name), Some(_pw), Some(gid)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if let Ok(gid) = gid.parse() {
                users.groups.entry(gid).or_insert_with(|| name.to_string());
            }
        }
        users
    }

    /// Every account, in file order.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The user name of `uid`, or the number (`root` for 0, which is root
    /// on every Linux system, even a root whose `/etc/passwd` is missing).
    pub fn user(&self, uid: u32) -> String {
        match self.by_uid.get(&uid) {
            Some(&i) => self.accounts[i].name.clone(),
            None if uid == 0 => "root".into(),
            None => uid.to_string(),
        }
    }

    /// The group name of `gid`, or the number (`root` for 0).
    pub fn group(&self, gid: u32) -> String {
        match self.groups.get(&gid) {
            Some(name) => name.clone(),
            None if gid == 0 => "root".into(),
            None => gid.to_string(),
        }
    }

    /// The home of the user called `name`, as `/etc/passwd` gives it.
    pub fn home_of(&self, name: &str) -> Option<&Path> {
        self.accounts
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.home.as_path())
    }

    /// People and their homes (see [`Account::is_person`]): where
    /// `users.NAME` whitelist entries go.
    pub fn people(&self) -> Vec<(String, PathBuf)> {
        self.accounts
            .iter()
            .filter(|a| a.is_person())
            .map(|a| (a.name.clone(), a.home.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:System administrator:/root:/bin/sh\n\
        nobody:x:65534:65534:Unprivileged account:/var/empty:/bin/false\n\
        alice:x:1000:100::/home/alice:/bin/zsh\n\
        bob:x:1001:100::/srv/bob:/bin/bash\n\
        postgres:x:71:71::/var/lib/postgresql:/bin/sh\n\
        broken line\n\
        :x:5:5::/x:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nusers:x:100:alice,bob\npostgres:x:71:\n";

    #[test]
    fn names_homes_and_people_come_from_the_files() {
        let u = Users::parse(PASSWD, GROUP);
        assert_eq!(u.user(1001), "bob");
        assert_eq!(u.user(4242), "4242", "an unknown uid shows as its number");
        assert_eq!(u.group(100), "users");
        assert_eq!(u.group(7), "7");
        assert_eq!(u.home_of("bob"), Some(Path::new("/srv/bob")));
        assert_eq!(
            u.home_of("postgres"),
            Some(Path::new("/var/lib/postgresql"))
        );
        assert_eq!(u.home_of("carol"), None);
        let people: Vec<String> = u.people().into_iter().map(|(n, _)| n).collect();
        assert_eq!(people, ["root", "alice", "bob"]);
        assert_eq!(u.accounts().len(), 5, "malformed lines are skipped");
    }

    #[test]
    fn the_root_s_files_are_read_never_the_host_s() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("store")).unwrap();
        std::fs::write(root.join("store/passwd"), PASSWD).unwrap();
        // /etc/passwd is an absolute link: it resolves inside ROOT.
        std::os::unix::fs::symlink("/store/passwd", root.join("etc/passwd")).unwrap();
        let u = Users::read(&root);
        assert_eq!(u.home_of("bob"), Some(Path::new("/srv/bob")));
        assert_eq!(u.group(100), "100", "no group file: numbers");
        let none = Users::read(&host.path().join("none"));
        assert_eq!(
            (none.user(0), none.group(0)),
            ("root".into(), "root".into()),
            "0 is root even without the files"
        );
        assert!(Users::read(&host.path().join("none")).accounts().is_empty());
    }
}
