//! The copy keeps everything: every kind of entry, setuid/setgid/sticky,
//! odd owners, nanosecond mtimes, user xattrs, an ACL, a capability, a
//! 1 GiB sparse file (sparse in storage too), hard links, names with a
//! newline and invalid UTF-8; ROOT is left untouched (atimes and ctimes
//! included); a second run changes nothing. On ext4 with the storage on the
//! same file system, on ext4 with the storage on another (btrfs) file
//! system, and on btrfs with the storage on the same one (reflinks).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use crate::{
    LoopFs, Rng, assert_same_tree, migrate, need_loop, run_ok, stdout, untouched_state, which,
    whitelist,
};

const DIRS: [&str; 3] = ["/var/lib/app", "/home/alice/.ssh", "/var/lib/absent"];
const FILES: [&str; 1] = ["/etc/machine-id"];

fn set_mtime(p: &Path, secs: i64, nanos: u32) {
    filetime::set_symlink_file_times(
        p,
        filetime::FileTime::from_unix_time(secs, nanos),
        filetime::FileTime::from_unix_time(secs, nanos),
    )
    .expect("set times");
}

fn chown(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).expect("chown");
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn xattr(p: &Path, k: &str, v: &[u8]) {
    rustix::fs::lsetxattr(p, k, v, rustix::fs::XattrFlags::empty()).expect("setxattr");
}

/// Builds the tree every fidelity test copies (see the module doc).
/// Returns what could not be built (tools missing), for the log.
pub fn rich_tree(root: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    let app = root.join("var/lib/app");
    for d in ["sub/deeper", "shared", "tmp", "acl-dir", "empty"] {
        std::fs::create_dir_all(app.join(d)).expect("mkdir");
    }
    let a = app.join("a.txt");
    std::fs::write(&a, b"hello\n").expect("write");
    chown(&a, 0, 0);
    chmod(&a, 0o4755);
    std::fs::hard_link(&a, app.join("sub/hard")).expect("link");
    std::fs::hard_link(&a, app.join("sub/deeper/hard2")).expect("link");
    chown(&app.join("shared"), 0, 100);
    chmod(&app.join("shared"), 0o2775);
    chmod(&app.join("tmp"), 0o1777);
    let odd = app.join("odd-owner");
    std::fs::write(&odd, b"odd").expect("write");
    chown(&odd, 12345, 54321);
    chmod(&odd, 0o640);
    let nobody = app.join("shared/nobody");
    std::fs::write(&nobody, b"n").expect("write");
    chown(&nobody, 65534, 65534);
    let x = app.join("xattrs");
    std::fs::write(&x, b"x").expect("write");
    xattr(&x, "user.color", b"blue");
    xattr(&x, "user.big", &vec![7u8; 3000]);
    xattr(&x, "trusted.darlings", b"root only");
    // A capability on an executable (setcap): survives only if copied after chown.
    let cap = app.join("cap-bin");
    std::fs::write(&cap, b"#!/bin/sh\nexit 0\n").expect("write");
    chmod(&cap, 0o755);
    if which("setcap").is_some() {
        run_ok(Command::new("setcap").arg("cap_net_raw+ep").arg(&cap));
    } else {
        missing.push("setcap (capability not tested)".to_string());
    }
    let acl = app.join("acl-file");
    std::fs::write(&acl, b"acl").expect("write");
    if which("setfacl").is_some() {
        run_ok(Command::new("setfacl").args(["-m", "u:1000:rw"]).arg(&acl));
        run_ok(
            Command::new("setfacl")
                .args(["-d", "-m", "g:100:rx"])
                .arg(app.join("acl-dir")),
        );
    } else {
        missing.push("setfacl (ACLs not tested)".to_string());
    }
    // A 1 GiB sparse file with data in the middle and at the end.
    let sparse = std::fs::File::create(app.join("sparse")).expect("create");
    sparse.set_len(1 << 30).expect("set_len");
    use std::os::unix::fs::FileExt;
    sparse.write_all_at(b"middle", 500_000_000).expect("write");
    sparse.write_all_at(b"end", (1 << 30) - 3).expect("write");
    drop(sparse);
    // 16 MiB of dense random data.
    let mut rng = Rng(0x5eed);
    let big: Vec<u8> = (0..(16 << 20) / 8)
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .collect();
    std::fs::write(app.join("big"), &big).expect("write");
    std::fs::write(app.join("empty-file"), b"").expect("write");
    // Special files.
    let mode = rustix::fs::Mode::from_raw_mode(0o640);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        app.join("fifo"),
        rustix::fs::FileType::Fifo,
        mode,
        0,
    )
    .expect("mkfifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        app.join("null-dev"),
        rustix::fs::FileType::CharacterDevice,
        mode,
        rustix::fs::makedev(1, 3),
    )
    .expect("mknod");
    let sock = std::os::unix::net::UnixListener::bind(app.join("sock")).expect("socket");
    drop(sock);
    std::os::unix::fs::symlink("/etc/passwd", app.join("abs-link")).expect("symlink");
    std::os::unix::fs::symlink("../app/a.txt", app.join("rel-link")).expect("symlink");
    std::os::unix::fs::symlink("nowhere", app.join("dangling")).expect("symlink");
    chown(&app.join("dangling"), 12345, 54321);
    xattr(&app.join("dangling"), "trusted.on-a-link", b"yes");
    // Names a terminal or a UTF-8 decoder would trip on.
    std::fs::write(app.join("new\nline"), b"nl").expect("write");
    std::fs::write(app.join(OsStr::from_bytes(b"bad\xff\xfename")), b"bad").expect("write");
    std::fs::write(app.join("x".repeat(255)), b"long").expect("write");
    // Nanosecond mtimes everywhere, directories last (deepest first).
    let mut all = crate::common::walkdir_all(&app);
    all.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for (i, p) in all
        .iter()
        .filter(|p| !p.is_dir() || p.is_symlink())
        .enumerate()
    {
        set_mtime(p, 1_600_000_000 + i as i64, 123_456_789 + i as u32);
    }
    for (i, p) in all
        .iter()
        .filter(|p| p.is_dir() && !p.is_symlink())
        .enumerate()
    {
        set_mtime(p, 1_500_000_000 + i as i64, 987_654_321 - i as u32);
    }
    chown(&app, 12345, 54321);
    chmod(&app, 0o750);
    set_mtime(&app, 1_400_000_000, 1);
    // A home directory entry: the storage parent must get alice's owner and mode.
    let ssh = root.join("home/alice/.ssh");
    std::fs::create_dir_all(&ssh).expect("mkdir");
    std::fs::write(
        ssh.join("id_ed25519"),
        b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
    )
    .expect("write");
    chmod(&ssh.join("id_ed25519"), 0o600);
    for p in [ssh.join("id_ed25519"), ssh.clone(), root.join("home/alice")] {
        chown(&p, 1000, 100);
    }
    chmod(&ssh, 0o700);
    chmod(&root.join("home/alice"), 0o710);
    let mid = root.join("etc/machine-id");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::write(&mid, b"0123456789abcdef0123456789abcdef\n").expect("write");
    chmod(&mid, 0o444);
    set_mtime(&mid, 1_700_000_000, 999_999_999);
    missing
}

/// Plans, migrates and migrates again, checking everything on the way.
fn fidelity(root_fs: &str, storage_fs: Option<&str>) {
    let rootfs = LoopFs::new("2G", root_fs, None);
    let root = rootfs.dir.clone();
    let persist = root.join("persist");
    let _storage = storage_fs.map(|t| LoopFs::new("1G", t, Some(&persist)));
    std::fs::create_dir_all(&persist).expect("storage root");
    for m in rich_tree(&root) {
        eprintln!("NOTE: not covered here: {m}");
    }
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(wl_dir.path(), "/persist", &DIRS, &FILES);
    let skip = [persist.clone(), root.join("lost+found")];
    let skip: Vec<&Path> = skip.iter().map(|p| p.as_path()).collect();
    let root_before = untouched_state(&root, &skip);
    let storage_before = untouched_state(&persist, &[&persist.join("lost+found")]);

    // The plan writes nothing.
    let out = migrate(&root, &wl, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("copy       /var/lib/app"), "{text}");
    assert!(text.contains("nothing    /var/lib/absent"), "{text}");
    assert!(text.contains("--yes"), "{text}");
    assert_eq!(
        untouched_state(&root, &skip),
        root_before,
        "the plan changed ROOT"
    );
    assert_eq!(
        untouched_state(&persist, &[&persist.join("lost+found")]),
        storage_before,
        "the plan wrote into storage"
    );

    // The copy.
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("copied     /var/lib/app"), "{text}");
    assert!(text.contains("not copied: 1 socket"), "{text}");
    assert!(text.contains("Next steps"), "{text}");
    assert!(text.contains("var-lib-app.mount"), "{text}");
    for p in DIRS
        .iter()
        .chain(FILES.iter())
        .filter(|p| !p.contains("absent"))
    {
        let rel = &p[1..];
        assert_same_tree(&root.join(rel), &persist.join(rel));
    }
    assert!(!persist.join("var/lib/absent").exists());
    let sparse = std::fs::metadata(persist.join("var/lib/app/sparse")).expect("sparse copy");
    assert_eq!(sparse.len(), 1 << 30);
    assert!(
        sparse.blocks() * 512 < 1 << 20,
        "the copy of the sparse file is sparse ({} blocks)",
        sparse.blocks()
    );
    let alice = std::fs::metadata(persist.join("home/alice")).expect("home in storage");
    assert_eq!(
        (alice.uid(), alice.gid(), alice.mode() & 0o7777),
        (1000, 100, 0o710),
        "a storage directory darlings creates gets ROOT's owner and mode"
    );
    assert_eq!(
        untouched_state(&root, &skip),
        root_before,
        "--yes changed ROOT"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&persist)
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().as_bytes().starts_with(b".darlings-staging-"))
        .collect();
    assert!(leftovers.is_empty(), "staging directories left behind");

    // A second run changes nothing.
    let storage_after = untouched_state(&persist, &[&persist.join("lost+found")]);
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("in storage /var/lib/app  (same content and metadata)"),
        "{text}"
    );
    assert!(text.contains("0 copied and verified"), "{text}");
    assert_eq!(
        untouched_state(&persist, &[&persist.join("lost+found")]),
        storage_after,
        "the second run changed storage"
    );
    assert_eq!(untouched_state(&root, &skip), root_before);
}

#[test]
fn ext4_with_storage_on_the_same_file_system() {
    need_loop!("ext4");
    fidelity("ext4", None);
}

#[test]
fn ext4_with_storage_on_another_file_system() {
    need_loop!("ext4");
    need_loop!("btrfs");
    fidelity("ext4", Some("btrfs"));
}

#[test]
fn btrfs_with_storage_on_the_same_file_system_clones() {
    need_loop!("btrfs");
    fidelity("btrfs", None);
}

/// On btrfs the copies share the source's extents: 64 MiB are "copied"
/// without using 64 MiB of room, and the output says so.
#[test]
fn btrfs_reflinks_cost_no_room() {
    need_loop!("btrfs");
    let fs = LoopFs::new("1G", "btrfs", None);
    let root = fs.dir.clone();
    std::fs::create_dir_all(root.join("persist")).expect("mkdir");
    std::fs::create_dir_all(root.join("srv/data")).expect("mkdir");
    let mut rng = Rng(42);
    for i in 0..4 {
        let data: Vec<u8> = (0..(16 << 20) / 8)
            .flat_map(|_| rng.next_u64().to_le_bytes())
            .collect();
        std::fs::write(root.join(format!("srv/data/f{i}")), data).expect("write");
    }
    fs.sync();
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(wl_dir.path(), "/persist", &["/srv/data"], &[]);
    let free_before = fs.free();
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verified, cloned"), "{text}");
    assert_same_tree(&root.join("srv/data"), &root.join("persist/srv/data"));
    fs.sync();
    let used = free_before.saturating_sub(fs.free());
    assert!(used < 16 << 20, "64 MiB cloned used {used} bytes of room");
}

/// Without root and without loop devices: a plain temporary directory,
/// everything owned by the user running the tests.
#[test]
fn a_plain_directory_tree_is_copied_and_verified_without_root() {
    let f = crate::common::Fixture::new();
    f.file("var/lib/app/a", "a")
        .file("var/lib/app/d/b", vec![3u8; 300_000])
        .symlink("a", "var/lib/app/l")
        .dir("persist")
        .chmod("var/lib/app/d", 0o700)
        .mtime("var/lib/app/a", 1_600_000_000);
    std::fs::hard_link(f.path("var/lib/app/a"), f.path("var/lib/app/d/a2")).expect("link");
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(wl_dir.path(), "/persist", &["/var/lib/app"], &[]);
    let out = migrate(f.root(), &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_tree(&f.path("var/lib/app"), &f.path("persist/var/lib/app"));
    let again = migrate(f.root(), &wl, &["--yes"]);
    assert!(stdout(&again).contains("in storage /var/lib/app"));
}
