//! The running units that keep their state under a whitelisted path: the
//! directories ROOT's service units name (`StateDirectory=`,
//! `CacheDirectory=`, `LogsDirectory=`, `ConfigurationDirectory=`, read with
//! the audit's own parser from `/etc/systemd/system` and its drop-ins,
//! resolved inside ROOT), kept only for units that run now. Only when ROOT
//! is the running system: the units of a root mounted elsewhere do not run
//! here, whatever the host runs under the same names.

use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::writers::Keeper;

/// Where NixOS's system units are.
const UNITS: &[u8] = b"/etc/systemd/system";

/// The most bytes read of one unit file.
const MAX_UNIT: u64 = 1 << 20;

/// The keepers of ROOT's state when ROOT is the running system: each
/// directory a running service names.
pub fn running(root: &Path) -> Vec<Keeper> {
    let live = std::fs::canonicalize(root).is_ok_and(|r| r == Path::new("/"));
    if !live {
        return Vec::new();
    }
    keepers(root, &unit_runs)
}

/// Whether the unit has processes now (its cgroup under `system.slice`,
/// cgroup v2 as systemd sets it up). Unknown (no such hierarchy) is false:
/// the check of open files still applies.
fn unit_runs(unit: &str) -> bool {
    let procs = format!("/sys/fs/cgroup/system.slice/{unit}/cgroup.procs");
    std::fs::read_to_string(procs).is_ok_and(|p| !p.trim().is_empty())
}

/// The directories ROOT's services name, for the services `runs` says run.
pub fn keepers(root: &Path, runs: &dyn Fn(&str) -> bool) -> Vec<Keeper> {
    let Ok(root_fd) = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Vec::new();
    };
    let Ok(dir) =
        super::staging::open_in_root(root_fd.as_fd(), UNITS, OFlags::RDONLY | OFlags::DIRECTORY)
    else {
        return Vec::new();
    };
    let Ok(mut names) = super::fsx::list_names(dir.as_fd()) else {
        return Vec::new();
    };
    names.sort();
    let mut out = Vec::new();
    for name in names {
        if !name.ends_with(b".service") || name.contains(&b'@') {
            continue;
        }
        let unit = String::from_utf8_lossy(&name).into_owned();
        if !runs(&unit) {
            continue;
        }
        let mut path = UNITS.to_vec();
        path.push(b'/');
        path.extend_from_slice(&name);
        let Ok(text) = crate::safe_open::read_in_root(root, &path, MAX_UNIT) else {
            continue;
        };
        let mut texts = vec![text];
        let mut dropins = path.clone();
        dropins.extend_from_slice(b".d");
        if let Ok(d) = super::staging::open_in_root(
            root_fd.as_fd(),
            &dropins,
            OFlags::RDONLY | OFlags::DIRECTORY,
        ) && let Ok(mut confs) = super::fsx::list_names(d.as_fd())
        {
            confs.sort();
            for c in confs.iter().filter(|c| c.ends_with(b".conf")) {
                let mut p = dropins.clone();
                p.push(b'/');
                p.extend_from_slice(c);
                if let Ok(t) = crate::safe_open::read_in_root(root, &p, MAX_UNIT) {
                    texts.push(t);
                }
            }
        }
        let file = String::from_utf8_lossy(&path).into_owned();
        let service = crate::evidence::units::parse_service(&unit, &file, &texts);
        for d in &service.dirs {
            if d.directive == "RuntimeDirectory" {
                continue;
            }
            let evidence = format!("{}={} in {}", d.directive, d.value, service.file);
            // systemd links /var/lib/X to private/X for a DynamicUser= service.
            for dir in std::iter::once(d.path.clone()).chain(crate::owners::unprivate(&d.path)) {
                out.push(Keeper {
                    unit: service.name.clone(),
                    dir,
                    evidence: evidence.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_services_keep_the_directories_they_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let units = root.join("etc/systemd/system");
        std::fs::create_dir_all(units.join("postgresql.service.d")).unwrap();
        std::fs::create_dir_all(root.join("store")).unwrap();
        // NixOS links each unit into the store: an absolute link, resolved inside ROOT.
        std::fs::write(
            root.join("store/postgresql.service"),
            "[Unit]\nDescription=PostgreSQL\n[Service]\nUser=postgres\nStateDirectory=postgresql\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "/store/postgresql.service",
            units.join("postgresql.service"),
        )
        .unwrap();
        std::fs::write(
            units.join("postgresql.service.d/overrides.conf"),
            "[Service]\nLogsDirectory=postgresql\n",
        )
        .unwrap();
        std::fs::write(
            units.join("dyn.service"),
            "[Service]\nDynamicUser=yes\nStateDirectory=dyn\n",
        )
        .unwrap();
        std::fs::write(
            units.join("stopped.service"),
            "[Service]\nStateDirectory=stopped\n",
        )
        .unwrap();
        std::fs::write(
            units.join("getty@.service"),
            "[Service]\nStateDirectory=x\n",
        )
        .unwrap();
        let runs = |u: &str| u != "stopped.service";
        let k = keepers(root, &runs);
        let dirs: Vec<(String, String)> = k
            .iter()
            .map(|k| (k.unit.clone(), String::from_utf8_lossy(&k.dir).into_owned()))
            .collect();
        assert_eq!(
            dirs,
            [
                (
                    "dyn.service".to_string(),
                    "/var/lib/private/dyn".to_string()
                ),
                ("dyn.service".to_string(), "/var/lib/dyn".to_string()),
                (
                    "postgresql.service".to_string(),
                    "/var/lib/postgresql".to_string()
                ),
                (
                    "postgresql.service".to_string(),
                    "/var/log/postgresql".to_string()
                ),
            ]
        );
        assert_eq!(
            k[2].evidence,
            "StateDirectory=postgresql in /etc/systemd/system/postgresql.service"
        );
        assert!(
            running(root).is_empty(),
            "a root that is not / runs nothing here"
        );
    }
}
