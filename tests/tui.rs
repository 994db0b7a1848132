//! The TUI, driven headless: the real event loop (`tui::run_loop`) on a
//! `TestBackend`, fed scripted keys, on fixture roots built in temp dirs.
//! Whole screens are insta snapshots (temp paths replaced by `[ROOT]` and
//! `[OUT]`); journeys check what the user ends up with on disk.

mod common;

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use darlings::scan::Progress;
use darlings::tui::keys::Mode;
use darlings::tui::model::{Model, Settings};
use darlings::tui::whitelist::Flavor;
use darlings::tui::{Input, run_loop};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use common::Fixture;

/// A small root with the usual suspects, every mode and mtime fixed so
/// screens are the same on every machine.
fn fixture() -> Fixture {
    let f = Fixture::new();
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    f.file("etc/passwd", format!("me:x:{uid}:{gid}::/:/bin/sh\n"))
        .file("etc/group", format!("us:x:{gid}:\n"))
        .file(
            "etc/ssh/ssh_host_ed25519_key",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n",
        )
        .file("etc/machine-id", "5c8b2f0e4d8a4a52b1f3c0e9d7a6b5c4\n")
        .symlink("/nix/store/abc-etc/etc", "etc/static")
        .symlink("/etc/static/hosts", "etc/hosts")
        .file("nix/store/abc-etc/etc/hosts", "127.0.0.1 localhost\n")
        .file("var/lib/docker/overlay2/a/layer.tar", vec![0u8; 300_000])
        .file("var/lib/docker/volumes/db/PG_VERSION", "16\n")
        .file("var/lib/nixos/uid-map", "{\"me\":1000}\n")
        .file("var/log/messages", "boot ok\nkernel: \x1b[31mred\x1b[0m\n")
        .file("home/alice/.bash_history", "ls\nsudo nixos-rebuild switch\n")
        .file("home/alice/.cache/thumbs/a.png", vec![0x89u8; 90_000])
        .file("home/alice/evil\x1b]0;pwned\x07.txt", "name with an escape\n");
    for p in common::walkdir_all(f.root()).iter().rev() {
        let rel = p.strip_prefix(f.root()).expect("inside");
        let meta = std::fs::symlink_metadata(p).expect("lstat");
        if meta.is_dir() {
            f.chmod(rel, 0o755);
        } else if meta.is_file() {
            f.chmod(rel, 0o644);
        }
        f.mtime(rel, 1_764_064_800);
    }
    f.chmod("etc/ssh/ssh_host_ed25519_key", 0o600);
    f.chmod("var/lib/docker", 0o710);
    f.mtime("var/lib", 1_764_064_800);
    f.mtime("etc/ssh", 1_764_064_800);
    f.mtime("etc/ssh/ssh_host_ed25519_key", 1_764_064_800);
    f.mtime("var/lib/docker", 1_764_064_800);
    f.mtime(".", 1_764_064_800);
    f
}

fn key(c: char) -> Input {
    Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Input {
    Input::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn typed(s: &str) -> Vec<Input> {
    s.chars().map(key).collect()
}

/// A TUI session: the fixture, where it writes, and the terminal.
struct Session {
    root: Fixture,
    out: tempfile::TempDir,
    terminal: Terminal<TestBackend>,
    model: Model,
    /// `--against` (default `empty`).
    against: String,
}

impl Session {
    fn new(w: u16, h: u16) -> Session {
        Self::with(fixture(), w, h, false)
    }

    fn with(root: Fixture, w: u16, h: u16, ignore: bool) -> Session {
        let out = tempfile::Builder::new()
            .prefix("darlings-out")
            .tempdir()
            .expect("temp dir");
        let model = Model::new(Settings {
            whitelist: out.path().join("persist.nix"),
            flavor: Flavor::Impermanence,
            ignore: ignore.then(|| out.path().join("ignore")),
            root: root.root().to_path_buf(),
        });
        Session {
            root,
            out,
            terminal: Terminal::new(TestBackend::new(w, h)).expect("terminal"),
            model,
            against: "empty".into(),
        }
    }

    /// Runs the real event loop: the audit arrives first, then `inputs`.
    fn run(&mut self, inputs: Vec<Input>) {
        let args = darlings::cli::ScanArgs {
            against: self.against.clone(),
            threads: Some(1),
            ..Default::default()
        };
        let opts =
            darlings::settings::audit_options(Some(self.root.root()), &args).expect("options");
        let audit = darlings::audit::run(&opts, &Progress::default());
        let mut all = vec![Input::Loaded(Box::new(audit))];
        all.extend(inputs);
        run_loop(
            &mut self.terminal,
            &mut self.model,
            all,
            &Progress::default(),
        )
        .expect("loop");
    }

    /// The screen as text, temp paths replaced.
    fn screen(&self) -> String {
        let s = self.terminal.backend().to_string();
        let root = self.root.root().to_string_lossy().into_owned();
        let out = self.out.path().to_string_lossy().into_owned();
        s.replace(&root, "[ROOT]").replace(&out, "[OUT]")
    }

    fn whitelist(&self) -> String {
        std::fs::read_to_string(self.out.path().join("persist.nix")).expect("whitelist written")
    }
}

#[test]
fn main_view_shows_the_largest_stray_directories_first() {
    let mut s = Session::new(100, 30);
    s.run(vec![]);
    insta::assert_snapshot!("main_view", s.screen());
}

#[test]
fn loading_screen_shows_progress_and_quits_at_once() {
    let mut s = Session::new(80, 24);
    run_loop(
        &mut s.terminal,
        &mut s.model,
        vec![Input::Tick],
        &Progress::default(),
    )
    .expect("loop");
    assert_eq!(s.model.mode, Mode::Loading);
    let screen = s.screen();
    assert!(screen.contains("Scanning [ROOT]"), "{screen}");
    assert!(screen.contains("q quits"), "{screen}");
    // q during the scan ends the loop even with inputs left.
    let progress = Progress::default();
    run_loop(
        &mut s.terminal,
        &mut s.model,
        vec![key('q'), key('x')],
        &progress,
    )
    .expect("loop");
    assert!(
        progress.cancel.load(std::sync::atomic::Ordering::Relaxed),
        "q cancels the scan"
    );
}

#[test]
fn detail_pane_previews_text_with_control_characters_escaped() {
    let mut s = Session::new(100, 30);
    let mut keys = vec![key('/')];
    keys.extend(typed("messages"));
    keys.push(code(KeyCode::Enter));
    s.run(keys);
    insta::assert_snapshot!("detail_text", s.screen());
}

#[test]
fn detail_pane_shows_binary_as_hex_and_names_escaped() {
    let mut s = Session::new(100, 30);
    let mut keys = vec![key('/')];
    keys.extend(typed("layer"));
    keys.push(code(KeyCode::Enter));
    s.run(keys);
    let screen = s.screen();
    assert!(screen.contains("000000  00 00 00"), "{screen}");
    let mut s = Session::new(100, 30);
    let mut keys = vec![key('/')];
    keys.extend(typed("evil"));
    keys.push(code(KeyCode::Enter));
    s.run(keys);
    let screen = s.screen();
    assert!(screen.contains("evil\\e]0;pwned\\u{7}.txt"), "{screen}");
    assert!(!screen.contains('\x1b'), "no raw escape reaches the screen");
}

#[test]
fn symlink_chain_is_resolved_inside_the_root() {
    let mut s = Session::new(180, 30);
    s.model.filter = darlings::tui::model::ClassFilter::All;
    let mut keys = vec![key('/')];
    keys.extend(typed("etc/hosts"));
    keys.push(code(KeyCode::Enter));
    s.run(keys);
    let screen = s.screen();
    assert!(
        screen.contains("/etc/static/hosts → /nix/store/abc-etc/etc/hosts"),
        "{screen}"
    );
}

#[test]
fn help_lists_every_key_of_the_table() {
    let mut s = Session::new(100, 40);
    s.run(vec![key('?')]);
    insta::assert_snapshot!("help", s.screen());
    for b in darlings::tui::keys::bindings(Mode::Browse) {
        assert!(s.screen().contains(b.help), "help lists '{}'", b.help);
    }
}

#[test]
fn marking_overlaps_is_refused_with_a_reason() {
    let mut s = Session::new(100, 30);
    // /var is first (largest); open it and the chain down to lib.
    // /var is the first row; marking it moves down to /var/lib.
    s.run(vec![key('g'), key(' '), key(' ')]);
    assert_eq!(s.model.marks.len(), 1);
    assert!(
        s.model
            .status
            .contains("/var is already marked and covers /var/lib"),
        "{}",
        s.model.status
    );
}

/// The journey of the issue: find the largest stray directory (selected
/// from the start), read its advice, mark it and a single file found by search, preview the write,
/// write, quit; the file holds exactly those entries.
#[test]
fn journey_mark_write_quit() {
    let mut s = Session::new(100, 30);
    // The first screen opens /var and /var/lib (Nix-managed parents) and
    // selects /var/lib/docker, the largest stray directory.
    let mut keys = vec![
        key(' '), // mark it
        key('/'),
    ];
    keys.extend(typed("ssh_host"));
    keys.extend([
        code(KeyCode::Enter),
        key(' '), // mark the host key
        key('w'),
    ]);
    s.run(keys);
    assert_eq!(s.model.mode, Mode::ConfirmWrite);
    insta::assert_snapshot!("write_preview", s.screen());
    s.run(vec![key('y')]);
    let text = s.whitelist();
    assert_eq!(
        text,
        "# Written by darlings; safe to edit. Import it from your configuration.\n{\n  environment.persistence.\"/persist\" = {\n    directories = [\n      { directory = \"/var/lib/docker\"; user = \"me\"; group = \"us\"; mode = \"0710\"; }\n    ];\n    files = [ \"/etc/ssh/ssh_host_ed25519_key\" ];\n  };\n}\n"
    );
    assert!(
        s.model.marks.is_empty(),
        "written marks are no longer pending"
    );
    assert!(
        s.model.status.contains("wrote 2 paths"),
        "{}",
        s.model.status
    );
    check_with_nix(&s.out.path().join("persist.nix"));
    // Writing the same path again changes nothing.
    let mut again = vec![key('/')];
    again.extend(typed("docker"));
    again.extend([code(KeyCode::Enter), key(' '), key('w'), key('y')]);
    s.run(again);
    assert_eq!(s.model.mode, Mode::Browse);
    assert!(
        s.model.status.contains("already lists"),
        "{}",
        s.model.status
    );
    assert_eq!(s.whitelist(), text);
}

/// Evaluates the written module with real Nix when it is installed.
fn check_with_nix(file: &Path) {
    let Ok(out) = std::process::Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E"])
        .arg(format!(
            "(import {}).environment.persistence",
            file.display()
        ))
        .output()
    else {
        eprintln!("SKIPPED: nix-instantiate not installed");
        return;
    };
    assert!(
        out.status.success(),
        "nix-instantiate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["/persist"]["directories"][0]["directory"],
        "/var/lib/docker"
    );
    assert_eq!(v["/persist"]["files"][0], "/etc/ssh/ssh_host_ed25519_key");
}

#[test]
fn quitting_with_unwritten_marks_asks_first() {
    let mut s = Session::new(80, 24);
    s.run(vec![key(' '), key('q')]);
    assert_eq!(s.model.mode, Mode::ConfirmQuit);
    insta::assert_snapshot!("confirm_quit", s.screen());
    s.run(vec![key('n')]);
    assert_eq!(s.model.mode, Mode::Browse);
    assert!(
        !s.out.path().join("persist.nix").exists(),
        "nothing written"
    );
}

#[test]
fn dismissing_appends_an_ignore_rule_and_undo_restores_the_file() {
    let mut s = Session::with(fixture(), 100, 30, true);
    std::fs::write(s.out.path().join("ignore"), "/tmp\n").expect("write");
    let mut keys = vec![key('/')];
    keys.extend(typed(".cache"));
    keys.extend([code(KeyCode::Enter), key('d')]);
    s.run(keys);
    let ignore = s.out.path().join("ignore");
    assert_eq!(
        std::fs::read_to_string(&ignore).expect("ignore"),
        "/tmp\n/home/alice/.cache\n"
    );
    assert_eq!(
        std::fs::read_to_string(s.out.path().join("ignore.bak")).expect("bak"),
        "/tmp\n"
    );
    // The dismissed subtree left the default view.
    assert!(!s.screen().contains(".cache/"), "{}", s.screen());
    s.run(vec![key('u')]);
    assert_eq!(std::fs::read_to_string(&ignore).expect("ignore"), "/tmp\n");
    assert!(s.screen().contains(".cache/"), "{}", s.screen());
}

#[test]
fn filters_and_sorts_cycle_as_the_spec_says() {
    let mut s = Session::new(100, 30);
    s.run(vec![key('f')]);
    assert!(s.screen().contains(" all · by size"), "{}", s.screen());
    s.run(vec![key('s'), key('c')]);
    assert!(
        s.screen().contains(" all, added · by name"),
        "{}",
        s.screen()
    );
    s.run(vec![key('f'), key('c'), key('c'), key('c'), key('c')]);
    assert!(
        s.screen().contains(" persisted · by name · 0 rows"),
        "{}",
        s.screen()
    );
}

/// A synthetic root of a million entries (1000 directories of 1000 files):
/// loading, opening, drawing and searching must each stay interactive.
#[test]
fn a_million_entries_stay_smooth() {
    use darlings::scan::{Entry, Kind, NONE, Tree};
    use std::time::Instant;
    let mut tree = Tree {
        root: "/synthetic".into(),
        ..Default::default()
    };
    let push = |tree: &mut Tree, name: &str, parent: u32, depth: u16, kind: Kind, size: u64| {
        let off = tree.names.len() as u32;
        tree.names.extend_from_slice(name.as_bytes());
        tree.entries.push(Entry {
            name_off: off,
            name_len: name.len() as _,
            parent,
            end: 0,
            depth,
            kind,
            mode: 0o644,
            size,
            ino: tree.entries.len() as u64,
            ..Entry::default()
        });
        tree.entries.len() as u32 - 1
    };
    let top = push(&mut tree, "data", NONE, 1, Kind::Dir, 0);
    for d in 0..1000u32 {
        let dir = push(&mut tree, &format!("d{d:04}"), top, 2, Kind::Dir, 0);
        for f in 0..1000u64 {
            push(
                &mut tree,
                &format!("f{f:04}"),
                dir,
                3,
                Kind::File,
                f + u64::from(d),
            );
        }
        let end = tree.entries.len() as u32;
        tree.entries[dir as usize].end = end;
        for k in dir as usize + 1..end as usize {
            tree.entries[k].end = k as u32 + 1;
        }
    }
    tree.entries[top as usize].end = tree.entries.len() as u32;
    let n = tree.len();
    assert_eq!(n, 1 + 1000 * 1001);
    let pairs = darlings::diff::pair(&tree, None);
    let changes = pairs
        .iter()
        .map(|&p| darlings::diff::change(&tree, None, p))
        .collect();
    // Every path stray, as on a root with no whitelist and no Nix in it.
    let mut verdicts = darlings::classify::Verdicts::default();
    let reason = verdicts.intern("no rule matched");
    verdicts.verdicts = vec![
        darlings::classify::Verdict {
            class: darlings::classify::Class::Stray,
            reason,
            advice: None,
            advice_reason: NONE,
            dismissed: false,
            warning: NONE,
        };
        pairs.len()
    ];
    let parent = tree.entries.iter().map(|e| e.parent).collect();
    let end = tree.entries.iter().map(|e| e.end).collect();
    let audit = darlings::audit::Audit {
        cur: tree,
        base: None,
        baseline: darlings::audit::Baseline::Empty,
        storage: Vec::new(),
        pairs,
        changes,
        verdicts,
        parent,
        end,
        errors: Vec::new(),
        warnings: Vec::new(),
        hash_stats: Default::default(),
    };
    let mut model = Model::new(Settings {
        whitelist: "/nonexistent/persist.nix".into(),
        flavor: Flavor::Impermanence,
        ignore: None,
        root: "/synthetic".into(),
    });
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let t = Instant::now();
    let inputs = vec![
        Input::Loaded(Box::new(Ok(audit))),
        code(KeyCode::Enter), // data → (1000 children, no chain)
        key('j'),
        code(KeyCode::Enter), // the largest directory: 1000 files
        code(KeyCode::PageDown),
        key('G'),
        key('s'),
        key('f'),
    ];
    run_loop(&mut terminal, &mut model, inputs, &Progress::default()).expect("loop");
    let browse = t.elapsed();
    let t = Instant::now();
    let mut search = vec![key('/')];
    search.extend(typed("d0000/f0999"));
    search.push(code(KeyCode::Enter));
    run_loop(&mut terminal, &mut model, search, &Progress::default()).expect("loop");
    let find = t.elapsed();
    let shown = model.data.as_ref().expect("loaded");
    assert_eq!(
        shown.audit.path(model.selected_pair().expect("selection")),
        b"/data/d0000/f0999"
    );
    eprintln!("1M entries: load+browse {browse:?}, search (11 keystrokes) {find:?}");
    // Generous bounds for an unoptimised test build on a busy CI machine;
    // a release build is about ten times faster.
    assert!(browse.as_secs_f64() < 20.0, "browse took {browse:?}");
    assert!(find.as_secs_f64() < 30.0, "search took {find:?}");
}

#[test]
fn promote_writes_the_paths_with_owner_and_mode_and_says_what_changed() {
    let f = fixture();
    let out = tempfile::tempdir().expect("temp dir");
    let file = out.path().join("persist.nix");
    let run = |paths: &[&str]| {
        common::darlings()
            .arg("promote")
            .arg("--root")
            .arg(f.root())
            .arg("--whitelist")
            .arg(&file)
            .args(paths)
            .output()
            .expect("run")
    };
    let first = run(&["/var/lib/docker", "/etc/ssh/ssh_host_ed25519_key/"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("+       { directory = \"/var/lib/docker\"; user = \"me\"; group = \"us\"; mode = \"0710\"; }"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(
        text.contains("files = [ \"/etc/ssh/ssh_host_ed25519_key\" ];"),
        "{text}"
    );
    check_with_nix(&file);
    let again = run(&["/var/lib/docker"]);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing changed"),
        "promoting the same path twice changes nothing"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("still there"), text);
    let bad = run(&["var/lib/../etc"]);
    assert_eq!(bad.status.code(), Some(2), "a relative path is bad usage");
    let missing = run(&["/var/lib/nope"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn the_tui_without_a_terminal_is_a_clear_error_not_a_panic() {
    let f = fixture();
    let out = common::darlings()
        .arg("tui")
        .arg(f.root())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the TUI needs a terminal"), "{err}");
}

#[test]
fn a_modified_text_file_shows_its_diff_against_the_baseline_directory() {
    let base = Fixture::new();
    base.file("etc/nixos/configuration.nix", "{\n  a = 1;\n  b = 2;\n}\n");
    let mut s = Session::new(100, 60);
    s.root
        .file("etc/nixos/configuration.nix", "{\n  a = 1;\n  b = 3;\n}\n");
    s.against = base.root().to_string_lossy().into_owned();
    let mut keys = vec![key('/')];
    keys.extend(typed("configuration"));
    keys.push(code(KeyCode::Enter));
    s.run(keys);
    let screen = s.screen();
    assert!(screen.contains("modified (content, mtime)"), "{screen}");
    assert!(screen.contains("diff against the baseline"), "{screen}");
    assert!(screen.contains("-   b = 2;"), "{screen}");
    assert!(screen.contains("+   b = 3;"), "{screen}");
}

#[test]
fn help_scrolls_on_a_small_terminal_and_any_other_key_closes_it() {
    let mut s = Session::new(80, 24);
    s.run(vec![key('?')]);
    assert!(s.screen().contains("j/k scroll"), "{}", s.screen());
    assert!(s.screen().contains("Browsing"), "{}", s.screen());
    s.run(vec![code(KeyCode::PageDown), code(KeyCode::PageDown)]);
    assert_eq!(s.model.mode, Mode::Help);
    assert!(!s.screen().contains("Browsing"), "{}", s.screen());
    assert!(s.screen().contains("Write preview"), "{}", s.screen());
    s.run(vec![code(KeyCode::Esc)]);
    assert_eq!(s.model.mode, Mode::Browse);
}

#[test]
fn promote_never_opens_a_fifo_in_place_of_the_whitelist_or_passwd() {
    let f = Fixture::new();
    f.file("var/lib/x/data", "1");
    std::fs::remove_file(f.path("var/lib/x/data")).expect("rm");
    let mkfifo = |p: &Path| {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
    };
    std::fs::create_dir_all(f.path("etc")).expect("mkdir");
    mkfifo(&f.path("etc/passwd"));
    let out = tempfile::tempdir().expect("temp dir");
    let file = out.path().join("persist.nix");
    mkfifo(&file);
    let r = common::darlings()
        .arg("promote")
        .arg("--root")
        .arg(f.root())
        .arg("--whitelist")
        .arg(&file)
        .arg("/var/lib/x")
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .expect("run");
    assert_eq!(
        r.status.code(),
        Some(2),
        "a fifo whitelist is refused, not read"
    );
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn a_broken_whitelist_stops_the_write_with_a_message_and_stays_untouched() {
    let mut s = Session::new(100, 30);
    let file = s.out.path().join("persist.nix");
    std::fs::write(&file, "{ environment.persistence = { ").expect("write");
    s.run(vec![key(' '), key('w')]);
    assert_eq!(s.model.mode, Mode::Browse, "no write preview");
    assert!(
        s.model.status.starts_with("cannot prepare the whitelist"),
        "{}",
        s.model.status
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "{ environment.persistence = { "
    );
    assert!(!s.out.path().join("persist.nix.bak").exists());
}
