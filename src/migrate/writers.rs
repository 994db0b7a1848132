//! Who is writing under a path right now: the processes with a file open
//! for writing (`/proc/PID/fd` and the access mode in `/proc/PID/fdinfo`)
//! or mapped shared and writable (`/proc/PID/maps`), named with their pid,
//! command and systemd unit (`/proc/PID/cgroup`); and, through a seam filled
//! by the owner attribution of the audit, the running units that keep their
//! state there (`StateDirectory=`). Files are matched by device and inode,
//! so a path seen through another mount namespace or a chroot still matches.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

/// A process writing a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writer {
    /// Process id.
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`).
    pub command: String,
    /// The systemd unit it runs in (`postgresql.service`), when it has one.
    pub unit: Option<String>,
    /// `open for writing` or `mapped writable`.
    pub how: &'static str,
}

/// Every file being written on the machine, by (device, inode).
#[derive(Debug, Default)]
pub struct Writers {
    by_id: HashMap<(u64, u64), Vec<Writer>>,
    /// False when some processes could not be inspected (not running as root).
    pub complete: bool,
}

impl Writers {
    /// Looks at every process in `/proc` but this one.
    pub fn scan() -> Writers {
        let mut w = Writers {
            by_id: HashMap::new(),
            complete: true,
        };
        let me = std::process::id();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            w.complete = false;
            return w;
        };
        for p in procs.flatten() {
            let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me {
                continue;
            }
            w.scan_process(pid);
        }
        w
    }

    fn scan_process(&mut self, pid: u32) {
        let base = format!("/proc/{pid}");
        let fds = match std::fs::read_dir(format!("{base}/fd")) {
            Ok(fds) => fds,
            // Gone meanwhile: nothing to see.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => {
                self.complete = false;
                return;
            }
        };
        let mut found: Vec<((u64, u64), &'static str)> = Vec::new();
        for fd in fds.flatten() {
            let name = fd.file_name();
            let Some(n) = name.to_str() else { continue };
            let Ok(info) = std::fs::read_to_string(format!("{base}/fdinfo/{n}")) else {
                continue;
            };
            if !writable(&info) {
                continue;
            }
            // stat follows the magic link to the open file itself.
            if let Ok(m) = std::fs::metadata(fd.path())
                && m.is_file()
            {
                found.push(((m.dev(), m.ino()), "open for writing"));
            }
        }
        if let Ok(maps) = std::fs::read_to_string(format!("{base}/maps")) {
            for id in shared_writable_maps(&maps) {
                found.push((id, "mapped writable"));
            }
        }
        if found.is_empty() {
            return;
        }
        let command = std::fs::read_to_string(format!("{base}/comm"))
            .map(|s| s.trim_end().to_string())
            .unwrap_or_else(|_| "?".into());
        let unit = std::fs::read_to_string(format!("{base}/cgroup"))
            .ok()
            .and_then(|c| unit_of(&c));
        found.sort();
        found.dedup_by(|a, b| a.0 == b.0);
        for (id, how) in found {
            self.by_id.entry(id).or_default().push(Writer {
                pid,
                command: command.clone(),
                unit: unit.clone(),
                how,
            });
        }
    }

    /// The processes writing the file with this (device, inode).
    pub fn of(&self, id: (u64, u64)) -> &[Writer] {
        self.by_id.get(&id).map_or(&[], Vec::as_slice)
    }

    /// Adds a writer (tests and callers that know more).
    pub fn add(&mut self, id: (u64, u64), w: Writer) {
        self.by_id.entry(id).or_default().push(w);
    }
}

/// Whether an fdinfo text says the descriptor was opened for writing.
fn writable(fdinfo: &str) -> bool {
    fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 != 0)
}

/// (device, inode) of every shared writable file mapping in a maps text.
fn shared_writable_maps(maps: &str) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for line in maps.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(_), Some(perms), Some(_), Some(dev), Some(ino)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let p = perms.as_bytes();
        if p.len() < 4 || p[1] != b'w' || p[3] != b's' {
            continue;
        }
        let Some((maj, min)) = dev.split_once(':') else {
            continue;
        };
        let (Ok(maj), Ok(min), Ok(ino)) = (
            u32::from_str_radix(maj, 16),
            u32::from_str_radix(min, 16),
            ino.parse::<u64>(),
        ) else {
            continue;
        };
        if ino != 0 {
            out.push((rustix::fs::makedev(maj, min), ino));
        }
    }
    out
}

/// The innermost systemd unit of a `/proc/PID/cgroup` text.
fn unit_of(cgroup: &str) -> Option<String> {
    let line = cgroup
        .lines()
        .find(|l| l.starts_with("0::"))
        .or_else(|| cgroup.lines().find(|l| l.contains("name=systemd:")))?;
    let path = line.rsplit_once(':')?.1;
    path.split('/')
        .rev()
        .find(|c| c.ends_with(".service") || c.ends_with(".scope"))
        .map(str::to_string)
}

/// A running systemd unit that keeps its state in a directory (its
/// `StateDirectory=`, `CacheDirectory=`, `LogsDirectory=`, or another
/// owner attribution of the audit). The caller decides which units run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keeper {
    /// The unit (`postgresql.service`).
    pub unit: String,
    /// The in-root directory it keeps state in.
    pub dir: Vec<u8>,
    /// Why we think so (`StateDirectory=postgresql in /etc/systemd/system/postgresql.service`).
    pub evidence: String,
}

/// The keepers whose directory is `path`, lies under it or holds it.
pub fn keepers_of<'a>(keepers: &'a [Keeper], path: &[u8]) -> Vec<&'a Keeper> {
    keepers
        .iter()
        .filter(|k| crate::paths::is_under(&k.dir, path) || crate::paths::is_under(path, &k.dir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_maps_and_cgroup_are_parsed() {
        assert!(writable("pos:\t0\nflags:\t0100002\nmnt_id:\t25\n"));
        assert!(writable("pos:\t0\nflags:\t02100001\n"));
        assert!(!writable("pos:\t0\nflags:\t0100000\n"));
        assert!(!writable("garbage"));
        let maps = "7f00-7f10 rw-s 00000000 fd:01 1234 /var/lib/db/shm\n\
                    7f10-7f20 r--s 00000000 fd:01 99 /ro\n\
                    7f20-7f30 rw-p 00000000 fd:01 98 /private\n\
                    7f30-7f40 rw-s 00000000 00:01 0 /dev/zero (deleted)\n";
        assert_eq!(
            shared_writable_maps(maps),
            vec![(rustix::fs::makedev(0xfd, 1), 1234)]
        );
        assert_eq!(
            unit_of("0::/system.slice/postgresql.service\n").as_deref(),
            Some("postgresql.service")
        );
        assert_eq!(
            unit_of("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo.scope\n")
                .as_deref(),
            Some("app-foo.scope")
        );
        assert_eq!(unit_of("0::/\n"), None);
    }

    #[test]
    fn a_file_held_open_for_writing_is_found_with_its_process() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("held");
        std::fs::write(&f, b"x").unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec 3>>\"$0\"; exec sleep 30")
            .arg(&f)
            .spawn()
            .unwrap();
        let m = std::fs::metadata(&f).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline {
            seen = Writers::scan().of((m.dev(), m.ino())).to_vec();
            if seen.iter().any(|w| w.command == "sleep") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let w = seen.iter().find(|w| w.command == "sleep").expect("found");
        assert_eq!(w.pid, child.id());
        assert_eq!(w.how, "open for writing");
        let keepers = [Keeper {
            unit: "x.service".into(),
            dir: b"/var/lib/x".to_vec(),
            evidence: String::new(),
        }];
        assert_eq!(keepers_of(&keepers, b"/var/lib").len(), 1);
        assert_eq!(keepers_of(&keepers, b"/var/lib/x/sub").len(), 1);
        assert!(keepers_of(&keepers, b"/var/lib/xy").is_empty());
    }
}
