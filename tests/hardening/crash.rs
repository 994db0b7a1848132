//! Crash safety: `darlings scan -o F` and `darlings report -o F` killed with
//! SIGKILL at random moments never damage the previous F: afterwards F is
//! byte-identical to before or a complete new valid file. The temporary is
//! an unnamed O_TMPFILE (nothing can be left); only where the file system
//! lacks O_TMPFILE, or in the instant between linkat and rename, can a kill
//! leave a dot-file named `.darlings-XXXXXX.tmp` (darlings does not delete
//! such leftovers itself: it deletes nothing it was not asked to).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::Fixture;
use crate::{Rng, is_darlings_tmp, names, out_dir};

const ITERATIONS: usize = 30;

fn fixture() -> Fixture {
    let f = Fixture::new();
    for d in 0..40 {
        for i in 0..100 {
            f.file(format!("d{d}/f{i}"), format!("{d}-{i}").repeat(200));
        }
    }
    f.file("big", vec![9u8; 8 << 20]);
    f
}

fn run(args: &[&std::ffi::OsStr]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_darlings"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Kills `cmd` at random moments and checks F after each kill.
fn kill_at_random(cmd: &str, valid: fn(&[u8]) -> bool) {
    let f = fixture();
    let out = out_dir();
    let target = out.path().join(if cmd == "scan" {
        "root.scan"
    } else {
        "report.json"
    });
    let args = |extra: &[&str]| -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![
            cmd.into(),
            f.root().into(),
            "-o".into(),
            target.clone().into(),
        ];
        v.extend(extra.iter().map(|s| s.into()));
        v
    };
    let full = args(&["--hash", "all"]);
    let full: Vec<&std::ffi::OsStr> = full.iter().map(|s| s.as_os_str()).collect();
    // A first complete run, timed to spread the kills over a whole run.
    let start = Instant::now();
    assert!(run(&full).wait().expect("wait").success());
    let took = start.elapsed();
    let mut previous = std::fs::read(&target).expect("first output");
    assert!(valid(&previous));
    let mut rng = Rng::from_time();
    eprintln!("{cmd}: one run takes {took:?}; seed {}", rng.state());
    let (mut kept, mut replaced, mut leftovers) = (0, 0, 0);
    for i in 0..ITERATIONS {
        // Change the root so that every complete run writes different bytes.
        std::fs::write(f.path("d0/f0"), format!("iteration {i}")).expect("write");
        let mut child = run(&full);
        // Half the kills anywhere in a run, half near its end, where the
        // output is written and renamed.
        let t = took.as_micros() as u64;
        let delay = if i % 2 == 0 {
            rng.below(t * 6 / 5 + 1)
        } else {
            t * 4 / 5 + rng.below(t * 3 / 10 + 1)
        };
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = std::fs::read(&target).expect("F still exists after a kill");
        if now == previous {
            kept += 1;
        } else {
            assert!(
                valid(&now),
                "{cmd}: after a kill at {delay} µs F is neither the old nor a complete new file"
            );
            replaced += 1;
            previous = now;
        }
        for n in names(out.path()) {
            if n.as_os_str() == target.file_name().expect("name") {
                continue;
            }
            assert!(
                is_darlings_tmp(&n),
                "{cmd}: unexpected file {n:?} left in the output directory"
            );
            // Named only once complete (between linkat and rename).
            let left = std::fs::read(out.path().join(&n)).expect("read leftover");
            assert!(valid(&left), "{cmd}: a leftover temporary is complete");
            leftovers += 1;
            std::fs::remove_file(out.path().join(&n)).expect("remove leftover");
        }
    }
    eprintln!(
        "{cmd}: {ITERATIONS} kills: {kept} left F as it was, {replaced} completed it, {leftovers} leftover temporaries"
    );
    if tmpfile_supported(out.path()) {
        // Only a kill in the instant between linkat and rename names the
        // temporary; on a busy machine that instant is longer, so a few
        // complete leftovers are possible, never most of them.
        assert!(
            leftovers <= ITERATIONS / 3,
            "{cmd}: with O_TMPFILE a kill rarely leaves a temporary ({leftovers})"
        );
    }
    // A normal run after all that still works and leaves only F.
    assert!(run(&full).wait().expect("wait").success());
    assert!(valid(&std::fs::read(&target).expect("read")));
    assert_eq!(names(out.path()).len(), 1);
}

/// Returns true if and only if `dir`'s file system supports `O_TMPFILE`,
/// in which case darlings leaves no temporary at all, whenever it is killed.
fn tmpfile_supported(dir: &Path) -> bool {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .is_ok()
}

fn valid_scan(b: &[u8]) -> bool {
    darlings::snapshot::decode_file(b).is_ok()
}

fn valid_report(b: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(b)
        .is_ok_and(|v| v["schema"] == "darlings-report/1" && v["entries"].is_array())
}

#[test]
fn sigkill_during_scan_never_damages_the_previous_scan_file() {
    kill_at_random("scan", valid_scan);
}

#[test]
fn sigkill_during_report_never_damages_the_previous_report() {
    kill_at_random("report", valid_report);
}

#[test]
fn sigkill_during_promote_never_damages_the_previous_whitelist() {
    let f = Fixture::new();
    for i in 0..ITERATIONS {
        f.dir(format!("var/lib/app{i}"));
    }
    let out = out_dir();
    let wl = out.path().join("persist.nix");
    let promote = |path: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_darlings"))
            .arg("promote")
            .arg("--root")
            .arg(f.root())
            .arg("--whitelist")
            .arg(&wl)
            .arg(path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let start = Instant::now();
    assert!(promote("/var/lib/app0").wait().expect("wait").success());
    let took = start.elapsed().as_micros() as u64;
    let valid = |b: &[u8]| {
        std::str::from_utf8(b).is_ok_and(|t| {
            darlings::persistence::parse(
                t,
                Path::new("persist.nix"),
                &darlings::persistence::LoadOptions::default(),
            )
            .is_ok()
        })
    };
    let mut previous = std::fs::read(&wl).expect("first whitelist");
    assert!(valid(&previous));
    let mut rng = Rng::from_time();
    let (mut kept, mut replaced, mut leftovers) = (0, 0, 0);
    for i in 1..ITERATIONS {
        let mut child = promote(&format!("/var/lib/app{i}"));
        std::thread::sleep(Duration::from_micros(rng.below(took * 6 / 5 + 1)));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(&wl).expect("the whitelist still exists after a kill");
        if now == previous {
            kept += 1;
        } else {
            assert!(
                valid(&now),
                "after a kill the whitelist is neither the old nor a complete new one"
            );
            replaced += 1;
            previous = now;
        }
        for n in names(out.path()) {
            let s = n.to_string_lossy();
            if s == "persist.nix" || s == "persist.nix.bak" {
                continue;
            }
            assert!(
                is_darlings_tmp(&n),
                "unexpected file {n:?} left next to the whitelist"
            );
            let left = std::fs::read(out.path().join(&n)).expect("read leftover");
            assert!(valid(&left), "a leftover temporary is a complete whitelist");
            leftovers += 1;
            std::fs::remove_file(out.path().join(&n)).expect("remove leftover");
        }
        if let Ok(bak) = std::fs::read(out.path().join("persist.nix.bak")) {
            assert!(valid(&bak), "the backup is a complete whitelist");
        }
    }
    eprintln!(
        "promote: {} kills: {kept} left the whitelist as it was, {replaced} completed it, {leftovers} leftover temporaries",
        ITERATIONS - 1
    );
    if tmpfile_supported(out.path()) {
        assert!(
            leftovers <= ITERATIONS / 3,
            "promote: with O_TMPFILE a kill rarely leaves a temporary ({leftovers})"
        );
    }
}
