//! Storage bind mounts read off the mount table: which mount points the scan
//! met are bind mounts from persistent storage, and from where.

use crate::mountinfo::Mount;
use crate::paths::{is_under, normalize};

/// The storage path a mount shows, when it is a bind mount from storage:
/// same device as the storage's file system, and a file system path below
/// the storage's.
pub(super) fn storage_source(
    storage: &[Vec<u8>],
    root_host: &[u8],
    host_mounts: &[Mount],
    m: &crate::scan::MountPoint,
) -> Option<Vec<u8>> {
    for s in storage {
        let mut host = root_host.to_vec();
        if host.ends_with(b"/") {
            host.pop();
        }
        host.extend_from_slice(s);
        let host = normalize(&host);
        // The mount holding the storage path: the longest (and, for equal
        // paths, the last mounted) mount point above it.
        let holder = host_mounts
            .iter()
            .filter(|hm| is_under(&host, &hm.mount_point))
            .max_by_key(|hm| hm.mount_point.len())?;
        if holder.dev != m.dev {
            continue;
        }
        let rest = &host[holder.mount_point.len().min(host.len())..];
        let mut fs_path = holder.fs_root.clone();
        fs_path.extend_from_slice(rest);
        let fs_path = normalize(&fs_path);
        let fs_root = normalize(&m.fs_root);
        if is_under(&fs_root, &fs_path) && fs_root != fs_path {
            let mut source = s.clone();
            source.extend_from_slice(&fs_root[if fs_path == b"/" { 0 } else { fs_path.len() }..]);
            return Some(normalize(&source));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_source_follows_the_mountinfo_rule() {
        // btrfs: storage subvolume /persist mounted at /persist; a bind of /persist/var/log.
        let host = vec![
            Mount {
                id: 1,
                parent_id: 0,
                dev: (0, 39),
                fs_root: b"/root".to_vec(),
                mount_point: b"/".to_vec(),
                fstype: "btrfs".into(),
                source: "/dev/loop0".into(),
            },
            Mount {
                id: 2,
                parent_id: 1,
                dev: (0, 39),
                fs_root: b"/persist".to_vec(),
                mount_point: b"/persist".to_vec(),
                fstype: "btrfs".into(),
                source: "/dev/loop0".into(),
            },
        ];
        let m = crate::scan::MountPoint {
            entry: 0,
            fstype: "btrfs".into(),
            source: "/dev/loop0".into(),
            fs_root: b"/persist/var/log".to_vec(),
            dev: (0, 39),
        };
        let storage = vec![b"/persist".to_vec()];
        assert_eq!(
            storage_source(&storage, b"/", &host, &m),
            Some(b"/persist/var/log".to_vec())
        );
        // ext4 storage mounted at its own root: the bind shows /var/log, no prefix.
        let mut host2 = host.clone();
        host2[1].dev = (8, 2);
        host2[1].fs_root = b"/".to_vec();
        let m2 = crate::scan::MountPoint {
            fs_root: b"/var/log".to_vec(),
            dev: (8, 2),
            ..m.clone()
        };
        assert_eq!(
            storage_source(&storage, b"/", &host2, &m2),
            Some(b"/persist/var/log".to_vec())
        );
        // Another device: not from storage.
        let m3 = crate::scan::MountPoint { dev: (9, 9), ..m };
        assert_eq!(storage_source(&storage, b"/", &host, &m3), None);
    }
}
