//! What stops a path, and what stops the whole run: a conflict with what
//! storage holds (differences listed, the other paths still migrated, exit
//! 1), a file held open for writing (the process named), too little room
//! (nothing written), a running unit keeping its state there, and the
//! staging leftovers of an interrupted run (removed and reported).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::common::bind;
use crate::{LoopFs, assert_same_tree, migrate, need_loop, stdout, untouched_state, whitelist};

fn two_apps(root: &Path) {
    for (app, n) in [("app1", 20), ("app2", 5)] {
        for i in 0..n {
            let p = root.join(format!("var/lib/{app}/d{}/f{i}", i % 3));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, format!("{app} {i}").repeat(100)).expect("write");
        }
    }
}

#[test]
fn a_conflict_is_refused_with_its_differences_and_the_rest_is_migrated() {
    need_loop!("ext4");
    let fs = LoopFs::new("512M", "ext4", None);
    let root = fs.dir.clone();
    two_apps(&root);
    // Storage already holds an older, different app1.
    let old = root.join("persist/var/lib/app1");
    std::fs::create_dir_all(old.join("d0")).expect("mkdir");
    std::fs::write(old.join("d0/f0"), b"an older version").expect("write");
    std::fs::write(old.join("stale"), b"only here").expect("write");
    std::fs::write(old.join("evil\x1b[31m\nname"), b"x").expect("write");
    let storage_app1 = untouched_state(&old, &[]);
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(
        wl_dir.path(),
        "/persist",
        &["/var/lib/app1", "/var/lib/app2"],
        &[],
    );
    let plan = migrate(&root, &wl, &[]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "a plan exits 0 even with conflicts"
    );
    assert!(stdout(&plan).contains("REFUSED    /var/lib/app1"));
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("REFUSED    /var/lib/app1"), "{text}");
    assert!(
        text.contains("storage already holds different data"),
        "{text}"
    );
    assert!(text.contains("d0/f0: content differs"), "{text}");
    assert!(text.contains("stale: only in storage (file)"), "{text}");
    assert!(
        text.contains("evil\\e[31m\\nname: only in storage (file)"),
        "names are escaped: {text}"
    );
    assert!(!text.contains('\x1b'), "no raw escape reaches the terminal");
    assert!(text.contains("d1: only on ROOT (directory)"), "{text}");
    assert!(text.contains("nothing was overwritten"), "{text}");
    assert!(text.contains("copied     /var/lib/app2"), "{text}");
    assert_eq!(
        untouched_state(&old, &[]),
        storage_app1,
        "the conflict was left alone"
    );
    assert_same_tree(
        &root.join("var/lib/app2"),
        &root.join("persist/var/lib/app2"),
    );
}

#[test]
fn a_file_open_for_writing_is_refused_naming_the_process() {
    need_loop!("ext4");
    let fs = LoopFs::new("512M", "ext4", None);
    let root = fs.dir.clone();
    two_apps(&root);
    std::fs::create_dir_all(root.join("persist")).expect("mkdir");
    let held = root.join("var/lib/app1/d0/f0");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec 3>>\"$0\"; echo ready; exec sleep 120")
        .arg(&held)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    {
        use std::io::Read;
        let mut b = [0u8; 6];
        child
            .stdout
            .take()
            .expect("stdout")
            .read_exact(&mut b)
            .expect("ready");
    }
    let pid = child.id();
    let guard = Kill(child);
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(
        wl_dir.path(),
        "/persist",
        &["/var/lib/app1", "/var/lib/app2"],
        &[],
    );
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("REFUSED    /var/lib/app1"), "{text}");
    assert!(
        text.contains(&format!("d0/f0: open for writing by pid {pid} (sleep")),
        "{text}"
    );
    assert!(text.contains("stop it first"), "{text}");
    assert!(!root.join("persist/var/lib/app1").exists());
    assert_same_tree(
        &root.join("var/lib/app2"),
        &root.join("persist/var/lib/app2"),
    );
    // Once the writer is gone the path migrates.
    drop(guard);
    let out = migrate(&root, &wl, &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_same_tree(
        &root.join("var/lib/app1"),
        &root.join("persist/var/lib/app1"),
    );
}

#[test]
fn too_little_room_stops_everything_before_anything_is_written() {
    need_loop!("ext4");
    let fs = LoopFs::new("1G", "ext4", None);
    let root = fs.dir.clone();
    let persist = root.join("persist");
    let small = LoopFs::new("64M", "ext4", Some(&persist));
    std::fs::create_dir_all(root.join("var/lib/big")).expect("mkdir");
    let mut rng = crate::Rng(7);
    let data: Vec<u8> = (0..(96 << 20) / 8)
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .collect();
    std::fs::write(root.join("var/lib/big/blob"), data).expect("write");
    std::fs::create_dir_all(root.join("var/lib/small")).expect("mkdir");
    std::fs::write(root.join("var/lib/small/f"), b"small").expect("write");
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(
        wl_dir.path(),
        "/persist",
        &["/var/lib/big", "/var/lib/small"],
        &[],
    );
    let before = untouched_state(&persist, &[]);
    let plan = migrate(&root, &wl, &[]);
    let text = stdout(&plan);
    assert_eq!(plan.status.code(), Some(0), "{text}");
    assert!(text.contains("not enough room"), "{text}");
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("not enough room"), "{text}");
    assert!(text.contains("nothing was copied"), "{text}");
    assert_eq!(
        untouched_state(&persist, &[]),
        before,
        "nothing was written"
    );
    drop(small);
}

#[test]
fn staging_leftovers_are_removed_and_reported() {
    let f = crate::common::Fixture::new();
    f.file("var/lib/app/a", "a")
        .file("persist/.darlings-staging-1-2/3/app/x", "partial")
        .file("persist/.darlings-staging-1-2/3/app/y", "partial");
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(wl_dir.path(), "/persist", &["/var/lib/app"], &[]);
    let plan = migrate(f.root(), &wl, &[]);
    assert!(stdout(&plan).contains("was left by an interrupted migration; --yes removes it"));
    assert!(
        f.path("persist/.darlings-staging-1-2").exists(),
        "the plan removes nothing"
    );
    let out = migrate(f.root(), &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(".darlings-staging-1-2 left by an interrupted migration (5 entries)"),
        "{text}"
    );
    let names: Vec<_> = std::fs::read_dir(f.path("persist"))
        .expect("list")
        .flatten()
        .map(|e| e.file_name().as_bytes().to_vec())
        .collect();
    assert_eq!(names, [b"var".to_vec()]);
}

/// The seam for the owner attribution: a running unit that keeps its state
/// under a path stops it, with the unit named.
#[test]
fn a_running_unit_keeping_state_there_is_refused() {
    let f = crate::common::Fixture::new();
    f.file("var/lib/postgresql/base/1", "rows")
        .file("var/lib/other/x", "x")
        .dir("persist");
    let listed = ["/var/lib/postgresql", "/var/lib/other"]
        .iter()
        .map(|p| darlings::evidence::Listed {
            path: p.as_bytes().to_vec(),
            storage: b"/persist".to_vec(),
            is_file: false,
            by_symlink: false,
            origin: "test".into(),
            what: None,
        })
        .collect();
    let req = darlings::migrate::Request {
        root: f.root().to_path_buf(),
        listed,
        only: Vec::new(),
        storage: Vec::new(),
        keepers: vec![darlings::migrate::Keeper {
            unit: "postgresql.service".into(),
            dir: b"/var/lib/postgresql".to_vec(),
            evidence: "StateDirectory=postgresql".into(),
        }],
    };
    let mut plan = darlings::migrate::plan(&req).expect("plan");
    let counters = darlings::migrate::Counters::default();
    darlings::migrate::execute(&mut plan, &counters, &mut darlings::migrate::Quiet)
        .expect("execute");
    let mut text = Vec::new();
    darlings::migrate::render::report(&mut text, &plan, true, "darlings migrate").expect("render");
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("the running unit postgresql.service keeps its state in /var/lib/postgresql"),
        "{text}"
    );
    assert!(text.contains("systemctl stop postgresql.service"), "{text}");
    assert!(!plan.all_in_storage());
    assert!(!f.path("persist/var/lib/postgresql").exists());
    assert!(f.path("persist/var/lib/other/x").exists());
}

/// On a live system the paths already persisted are bind mounts or links
/// from storage: migrate leaves them alone ("mounted", "linked") and
/// copies only what is still on ROOT.
#[test]
fn paths_already_mounted_or_linked_from_storage_are_left_alone() {
    crate::skip_unless!(crate::common::is_root(), "needs root (a mount namespace)");
    crate::skip_unless!(
        crate::which("unshare").is_some(),
        "needs unshare (util-linux)"
    );
    let f = crate::common::Fixture::new();
    f.file("persist/var/log/old.log", "kept")
        .dir("var/log")
        .file("persist/etc/machine-id", "id")
        .symlink("/persist/etc/machine-id", "etc/machine-id")
        .file("var/lib/new/data", "new");
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(
        wl_dir.path(),
        "/persist",
        &["/var/log", "/var/lib/new"],
        &["/etc/machine-id"],
    );
    let out = migrate_in_mount_ns(
        &[bind(&f.path("persist/var/log"), &f.path("var/log"))],
        f.root(),
        &wl,
    );
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("mounted    /var/log"), "{text}");
    assert!(text.contains("linked     /etc/machine-id"), "{text}");
    assert!(text.contains("copied     /var/lib/new"), "{text}");
    assert_same_tree(&f.path("var/lib/new"), &f.path("persist/var/lib/new"));
}

/// A listed mount point with data of ROOT's own file system under it (left
/// there before the bind mount was made) is refused, exit 1: migrate copies
/// what the mount shows, the data under it would be skipped and then wiped.
/// It said "mounted" and exited 0, which docs/migrate.md reads as "every
/// path's data is in storage". A file bind mount over a non-empty file the
/// same; an empty placeholder under a mount is still just "mounted".
#[test]
fn data_hidden_under_a_listed_mount_point_is_refused() {
    crate::skip_unless!(crate::common::is_root(), "needs root (a mount namespace)");
    crate::skip_unless!(
        crate::which("unshare").is_some(),
        "needs unshare (util-linux)"
    );
    let f = crate::common::Fixture::new();
    f.file("persist/var/log/live.log", "live")
        .file("var/log/hidden.log", "written before the mount")
        .file("persist/etc/adjtime", "0.0 0 0.0\n")
        .file("etc/adjtime", "old drift\n")
        .file("persist/var/lib/empty/x", "kept")
        .dir("var/lib/empty");
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(
        wl_dir.path(),
        "/persist",
        &["/var/log", "/var/lib/empty"],
        &["/etc/adjtime"],
    );
    let mount = |a: &str, b: &str| bind(&f.path(a), &f.path(b));
    let out = migrate_in_mount_ns(
        &[
            mount("persist/var/log", "var/log"),
            mount("persist/etc/adjtime", "etc/adjtime"),
            mount("persist/var/lib/empty", "var/lib/empty"),
        ],
        f.root(),
        &wl,
    );
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for p in ["/var/log", "/etc/adjtime"] {
        assert!(
            text.lines().any(|l| l.contains("REFUSED") && l.contains(p)),
            "{p}: {text}"
        );
    }
    assert!(text.contains("hidden by the mount"), "{text}");
    assert!(text.contains("mounted    /var/lib/empty"), "{text}");
    // Nothing was touched: the hidden data is still where it was.
    assert_eq!(
        std::fs::read(f.path("var/log/hidden.log")).expect("read"),
        b"written before the mount"
    );
}

/// impermanence creates every listed directory in storage when the whitelist
/// is first activated: an empty one there is not a conflict, the copy takes
/// its place. A non-empty one still is, and while any path is refused the
/// next steps never say to reboot.
#[test]
fn an_empty_storage_directory_is_filled_and_a_refusal_says_not_to_reboot() {
    need_loop!("ext4");
    let fs = LoopFs::new("512M", "ext4", None);
    let root = fs.dir.clone();
    two_apps(&root);
    std::fs::create_dir_all(root.join("persist/var/lib/app1")).expect("mkdir");
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(wl_dir.path(), "/persist", &["/var/lib/app1"], &[]);
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("copied     /var/lib/app1"), "{text}");
    assert_same_tree(
        &root.join("var/lib/app1"),
        &root.join("persist/var/lib/app1"),
    );
    // Control: storage's directory holds something: refused, no reboot step.
    std::fs::create_dir_all(root.join("persist/var/lib/app2")).expect("mkdir");
    std::fs::write(root.join("persist/var/lib/app2/keep"), b"mine").expect("write");
    let wl = whitelist(wl_dir.path(), "/persist", &["/var/lib/app2"], &[]);
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("REFUSED    /var/lib/app2"), "{text}");
    assert!(!text.contains("Reboot"), "{text}");
    assert!(
        text.contains("Do not boot a generation with the whitelist"),
        "{text}"
    );
    // The command to run again keeps ROOT and the whitelist given.
    assert!(
        text.contains(&format!("then run `darlings migrate {}", root.display())),
        "{text}"
    );
    assert_eq!(
        std::fs::read(root.join("persist/var/lib/app2/keep")).expect("read"),
        b"mine"
    );
}

/// A listed directory that is empty on ROOT: the first run copies it (its
/// owner, mode and mtime), the second finds it in storage instead of
/// copying it again in place of itself at every run.
#[test]
fn an_empty_directory_migrated_once_is_in_storage_the_second_time() {
    let f = crate::common::Fixture::new();
    f.dir("var/lib/quiet").dir("persist");
    f.mtime("var/lib/quiet", 1_764_064_800);
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(wl_dir.path(), "/persist", &["/var/lib/quiet"], &[]);
    let first = migrate(f.root(), &wl, &["--yes"]);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    assert!(
        stdout(&first).contains("copied     /var/lib/quiet"),
        "{}",
        stdout(&first)
    );
    assert_same_tree(&f.path("var/lib/quiet"), &f.path("persist/var/lib/quiet"));
    let again = migrate(f.root(), &wl, &["--yes"]);
    let text = stdout(&again);
    assert_eq!(again.status.code(), Some(0), "{text}");
    assert!(text.contains("in storage /var/lib/quiet"), "{text}");
    assert!(!text.contains("copied     /var/lib/quiet"), "{text}");
    // Control: the same empty directory with another mode on ROOT is
    // copied again (storage's empty one holds nothing to lose).
    f.chmod("var/lib/quiet", 0o700);
    let changed = stdout(&migrate(f.root(), &wl, &[]));
    assert!(changed.contains("copy       /var/lib/quiet"), "{changed}");
}

/// The modules create each listed *file* in storage too, empty, at the
/// first activation: that one holds nothing, so the verified copy takes its
/// place as for an empty directory. A storage file with bytes, or empty but
/// with a user xattr, is still a conflict and keeps what it holds. When the
/// empty storage file is already bind-mounted over the root's path, the
/// root's file is hidden under the mount: migrate refuses it (exit 1: its
/// data is not in storage) and changes nothing; `darlings check` counts the
/// hidden data and says how to move it.
#[test]
fn an_empty_storage_file_is_filled_and_one_holding_data_is_not() {
    use std::os::unix::fs::PermissionsExt;
    need_loop!("ext4");
    let fs = LoopFs::new("512M", "ext4", None);
    let root = fs.dir.clone();
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::create_dir_all(root.join("persist/etc")).expect("mkdir");
    std::fs::write(root.join("etc/machine-id"), b"0123456789abcdef\n").expect("write");
    std::fs::set_permissions(
        root.join("etc/machine-id"),
        std::fs::Permissions::from_mode(0o444),
    )
    .expect("chmod");
    for name in ["kept", "tagged"] {
        std::fs::write(root.join("etc").join(name), b"root's").expect("write");
    }
    // What activation leaves: an empty file, 0644, its own mtime.
    std::fs::write(root.join("persist/etc/machine-id"), b"").expect("write");
    std::fs::write(root.join("persist/etc/kept"), b"mine").expect("write");
    std::fs::write(root.join("persist/etc/tagged"), b"").expect("write");
    rustix::fs::setxattr(
        root.join("persist/etc/tagged"),
        "user.note",
        b"data",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("setxattr");
    let wl_dir = tempfile::tempdir().expect("temp");
    let wl = whitelist(
        wl_dir.path(),
        "/persist",
        &[],
        &["/etc/machine-id", "/etc/kept", "/etc/tagged"],
    );
    let plan = stdout(&migrate(&root, &wl, &[]));
    assert!(plan.contains("copy       /etc/machine-id"), "{plan}");
    assert!(
        plan.contains("machine-id (in place of storage's empty file, which holds nothing)"),
        "{plan}"
    );
    let out = migrate(&root, &wl, &["--yes"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("copied     /etc/machine-id"), "{text}");
    assert!(text.contains("REFUSED    /etc/kept"), "{text}");
    assert!(text.contains("REFUSED    /etc/tagged"), "{text}");
    let copy = root.join("persist/etc/machine-id");
    assert_eq!(std::fs::read(&copy).expect("read"), b"0123456789abcdef\n");
    let (a, b) = (
        std::fs::metadata(root.join("etc/machine-id")).expect("stat"),
        std::fs::metadata(&copy).expect("stat"),
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(b.mode() & 0o7777, 0o444, "ROOT's mode, not the module's");
    assert_eq!((a.mtime(), a.mtime_nsec()), (b.mtime(), b.mtime_nsec()));
    assert_eq!(
        std::fs::read(root.join("persist/etc/kept")).expect("read"),
        b"mine"
    );
    assert_eq!(
        std::fs::read(root.join("persist/etc/tagged")).expect("read"),
        b""
    );
    let mut v = [0u8; 16];
    let n = rustix::fs::getxattr(root.join("persist/etc/tagged"), "user.note", &mut v)
        .expect("the xattr is still there");
    assert_eq!(&v[..n], b"data");
    let staging: Vec<_> = std::fs::read_dir(root.join("persist"))
        .expect("read")
        .flatten()
        .filter(|e| e.file_name().as_bytes().starts_with(b".darlings-staging"))
        .collect();
    assert!(staging.is_empty(), "no staging left behind");
    // A second run: the copy is in storage now.
    let wl = whitelist(wl_dir.path(), "/persist", &[], &["/etc/machine-id"]);
    let again = stdout(&migrate(&root, &wl, &["--yes"]));
    assert!(again.contains("in storage /etc/machine-id"), "{again}");

    // Bind-mounted: the root's file is under storage's empty one.
    if !crate::common::is_root() || crate::which("unshare").is_none() {
        eprintln!("SKIPPED (bind-mounted part): needs root and unshare");
        return;
    }
    std::fs::write(root.join("etc/hostid"), b"cafe").expect("write");
    std::fs::write(root.join("persist/etc/hostid"), b"").expect("write");
    let wl = whitelist(wl_dir.path(), "/persist", &[], &["/etc/hostid"]);
    let out = migrate_in_mount_ns(
        &[bind(
            &root.join("persist/etc/hostid"),
            &root.join("etc/hostid"),
        )],
        &root,
        &wl,
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("REFUSED    /etc/hostid"), "{text}");
    assert!(text.contains("hidden by the mount"), "{text}");
    assert_eq!(
        std::fs::read(root.join("etc/hostid")).expect("read"),
        b"cafe"
    );
    assert_eq!(
        std::fs::read(root.join("persist/etc/hostid")).expect("read"),
        b""
    );
}

/// The plan's "To copy:" line runs as printed: ROOT and the whitelist
/// file have names a shell splits or reads specially, and are quoted.
#[test]
fn the_command_to_copy_runs_as_printed() {
    let top = tempfile::tempdir().expect("temp");
    let root = top.path().join("old root's copy");
    std::fs::create_dir_all(root.join("var/lib/app")).expect("mkdir");
    std::fs::create_dir_all(root.join("persist")).expect("mkdir");
    std::fs::write(root.join("var/lib/app/db"), b"rows").expect("write");
    let wl_dir = top.path().join("my config");
    std::fs::create_dir(&wl_dir).expect("mkdir");
    let wl = whitelist(&wl_dir, "/persist", &["/var/lib/app"], &[]);
    let plan = stdout(&migrate(&root, &wl, &[]));
    let line = plan
        .lines()
        .find_map(|l| l.strip_prefix("Nothing was written. To copy: "))
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(line.contains("'"), "quoted: {line}");
    let bin = Path::new(env!("CARGO_BIN_EXE_darlings"))
        .parent()
        .expect("bin dir");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(line)
        .current_dir(&wl_dir)
        .env("PATH", path)
        .output()
        .expect("run bash");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{line}: {text}");
    assert!(text.contains("copied     /var/lib/app"), "{text}");
    assert_eq!(
        std::fs::read(root.join("persist/var/lib/app/db")).expect("read"),
        b"rows"
    );
}

/// Storage's empty file held open for writing by a running process is not
/// removed: the exchange is undone, the path refused with the process
/// named, and storage's file is the same inode as before.
#[test]
fn an_empty_storage_file_open_for_writing_is_put_back() {
    use std::os::unix::fs::MetadataExt;
    let top = tempfile::tempdir().expect("temp");
    let root = top.path().join("root");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::create_dir_all(root.join("persist/etc")).expect("mkdir");
    std::fs::write(root.join("etc/machine-id"), b"0123\n").expect("write");
    let stored = root.join("persist/etc/machine-id");
    std::fs::write(&stored, b"").expect("write");
    let before = std::fs::metadata(&stored).expect("stat").ino();
    let holder = std::fs::OpenOptions::new()
        .append(true)
        .open(&stored)
        .expect("open");
    let mut writer = std::process::Command::new("sleep")
        .arg("60")
        .stdout(holder)
        .spawn()
        .expect("spawn sleep");
    let wl = whitelist(top.path(), "/persist", &[], &["/etc/machine-id"]);
    let out = migrate(&root, &wl, &["--yes"]);
    let _ = writer.kill();
    let _ = writer.wait();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("REFUSED    /etc/machine-id"), "{text}");
    assert!(
        text.contains("open for writing by sleep"),
        "the process is named: {text}"
    );
    assert_eq!(std::fs::metadata(&stored).expect("stat").ino(), before);
    assert_eq!(std::fs::read(&stored).expect("read"), b"");
}

/// `darlings migrate ROOT --persistence WL --yes` in a private mount
/// namespace after the `setup` mounts (`common::bind`).
fn migrate_in_mount_ns(setup: &[String], root: &Path, wl: &Path) -> std::process::Output {
    use std::ffi::OsStr;
    crate::common::darlings_in_mount_ns(
        setup,
        false,
        &[
            OsStr::new("migrate"),
            root.as_os_str(),
            OsStr::new("--persistence"),
            wl.as_os_str(),
            OsStr::new("--yes"),
        ],
    )
}
