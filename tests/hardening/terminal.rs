//! Terminal safety: file names with ESC/OSC sequences, BiDi overrides,
//! newlines or invalid UTF-8 never reach a terminal raw: not in the summary,
//! not in error messages, not in the JSON report (where they are JSON
//! escapes, and invalid UTF-8 is carried exactly in `path_b64`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use base64::Engine as _;

use crate::common::{Fixture, darlings, is_root, json};
use crate::{HANG, darlings_as_nobody, open_to_all};

const OSC: &[u8] = b"\x1b]0;pwned\x07";
const CLEAR: &[u8] = b"\x1b[2Jclear";
const BIDI: &str = "evil\u{202e}gpj.exe";
const NEWLINE: &[u8] = b"new\nline";
const LATIN1: &[u8] = b"caf\xe9";

fn nasty(f: &Fixture) -> Vec<&'static [u8]> {
    let names: Vec<&'static [u8]> = vec![OSC, CLEAR, BIDI.as_bytes(), NEWLINE, LATIN1];
    for n in &names {
        std::fs::write(f.root().join(OsStr::from_bytes(n)), b"content").expect("create");
    }
    let dir = f.root().join(OsStr::from_bytes(b"\x1b[31mred-dir"));
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join(OsStr::from_bytes(b"inner\x1b[0m")), b"x").expect("create");
    names
}

/// The raw bytes a terminal would receive contain nothing that acts on it.
fn assert_inert(what: &str, bytes: &[u8]) {
    assert!(
        !bytes.contains(&0x1b),
        "{what}: raw ESC in {:?}",
        String::from_utf8_lossy(bytes)
    );
    assert!(!bytes.contains(&0x07), "{what}: raw BEL");
    assert!(
        !bytes.windows(3).any(|w| w == "\u{202e}".as_bytes()),
        "{what}: raw U+202E"
    );
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.lines().any(|l| l.starts_with("line")),
        "{what}: a raw newline split a name: {text}"
    );
}

#[test]
fn summary_escapes_every_name() {
    let f = Fixture::new();
    nasty(&f);
    let o = darlings()
        .arg("summary")
        .arg(f.root())
        .timeout(HANG)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    assert_inert("summary stdout", &o.stdout);
    assert_inert("summary stderr", &o.stderr);
    let out = String::from_utf8_lossy(&o.stdout);
    for shown in [
        "/\\e]0;pwned\\u{7}",
        "/\\e[2Jclear",
        "/evil\\u{202e}gpj.exe",
        "/new\\nline",
        "/caf\\xe9",
        "/\\e[31mred-dir",
    ] {
        assert!(out.contains(shown), "summary shows {shown}: {out}");
    }
}

#[test]
fn scan_errors_with_nasty_names_are_escaped_in_the_summary() {
    crate::skip_unless!(
        is_root(),
        "needs root to run darlings as nobody with setpriv"
    );
    let f = Fixture::new();
    let locked = f
        .root()
        .join(OsStr::from_bytes(b"\x1b]0;x\x07locked\xff\n"));
    std::fs::create_dir(&locked).expect("mkdir");
    std::fs::write(locked.join("f"), "x").expect("write");
    f.chmod(&locked, 0o700);
    open_to_all(f.root());
    let o = darlings_as_nobody()
        .arg("summary")
        .arg(f.root())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    assert_inert("summary stdout", &o.stdout);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("\\e]0;x\\u{7}locked\\xff\\n: cannot open directory"),
        "{out}"
    );
    let o = darlings_as_nobody()
        .arg("report")
        .arg(f.root())
        .output()
        .expect("run");
    assert_inert("report stdout", &o.stdout);
    let r = json(&o.stdout);
    let e = &r["errors"][0];
    let raw = base64::engine::general_purpose::STANDARD
        .decode(e["path_b64"].as_str().expect("path_b64"))
        .expect("base64");
    assert_eq!(raw, b"/\x1b]0;x\x07locked\xff\n");
}

#[test]
fn error_messages_escape_names_and_arguments() {
    let f = Fixture::new();
    let bad_root = f
        .root()
        .join(OsStr::from_bytes(b"\x1b[2Jmissing\xe2\x80\xae\nroot"));
    let file_root = f.root().join(OsStr::from_bytes(b"\x1b]0;t\x07file"));
    std::fs::write(&file_root, "not a dir").expect("write");
    let not_scan = f.root().join(OsStr::from_bytes(b"\x1b[31mbase\nline"));
    std::fs::write(&not_scan, "junk").expect("write");
    // A config whose content (not only its name) carries the sequences.
    let cfg_dir = crate::out_dir();
    let cfg = cfg_dir
        .path()
        .join(OsStr::from_bytes(b"\x1b]0;cfg\x07.json"));
    std::fs::write(
        &cfg,
        r#"{"/persist": {"directories": ["\u001b]0;x\u0007rel\u202e\nx"]}}"#,
    )
    .expect("write");
    let runs: Vec<Vec<PathBuf>> = vec![
        vec![
            "summary".into(),
            f.root().into(),
            "--persistence".into(),
            cfg.clone(),
        ],
        vec!["summary".into(), bad_root.clone()],
        vec!["report".into(), file_root.clone()],
        vec![
            "summary".into(),
            f.root().into(),
            "--against".into(),
            not_scan.clone(),
        ],
        vec![
            "summary".into(),
            f.root().into(),
            "--against".into(),
            bad_root.clone(),
        ],
        vec![
            "report".into(),
            f.root().into(),
            "-o".into(),
            bad_root.join("x.json"),
        ],
        vec![
            "report".into(),
            f.root().into(),
            "--exclude".into(),
            PathBuf::from(OsStr::from_bytes(b"[\x1b[31m")),
        ],
        // clap's own errors quote the argument: a name from a shell glob.
        vec!["report".into(), f.root().into(), file_root.clone()],
        vec![
            "report".into(),
            "--hash".into(),
            PathBuf::from(OsStr::from_bytes("\u{202e}all".as_bytes())),
        ],
    ];
    for args in runs {
        let o = darlings().args(&args).timeout(HANG).output().expect("run");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
        assert_inert(&format!("stderr of {args:?}"), &o.stderr);
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn json_report_escapes_names_and_keeps_invalid_utf8_exactly() {
    let f = Fixture::new();
    let names = nasty(&f);
    let o = darlings()
        .arg("report")
        .arg(f.root())
        .timeout(HANG)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    assert_inert("report stdout", &o.stdout);
    let text = String::from_utf8(o.stdout.clone()).expect("the JSON is UTF-8");
    assert!(text.contains("\\u202e"), "BiDi written as a JSON escape");
    assert!(text.contains("\\u001b]0;pwned\\u0007"));
    let r = json(&o.stdout);
    for n in names {
        let mut path = b"/".to_vec();
        path.extend_from_slice(n);
        let found =
            r["entries"].as_array().expect("entries").iter().find(|e| {
                match e["path_b64"].as_str() {
                    Some(b) => {
                        base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .expect("b64")
                            == path
                    }
                    None => e["path"].as_str().map(str::as_bytes) == Some(&path[..]),
                }
            });
        let e =
            found.unwrap_or_else(|| panic!("{:?} listed exactly", String::from_utf8_lossy(&path)));
        assert_eq!(
            e["path_b64"].is_string(),
            std::str::from_utf8(&path).is_err()
        );
    }
}

#[test]
fn tui_screens_show_nasty_names_and_contents_escaped() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use darlings::tui::model::{Model, Settings};
    use darlings::tui::{Input, run_loop};
    let f = Fixture::new();
    let names = nasty(&f);
    for n in &names {
        std::fs::write(
            f.root().join(OsStr::from_bytes(n)),
            "\x1b]0;content\x07 \u{202e}txt\n\x1b[2J",
        )
        .expect("write");
    }
    let out = crate::out_dir();
    let mut seen_escaped = false;
    for presses in 0..=names.len() + 1 {
        let mut model = Model::new(Settings {
            whitelist: out.path().join("persist.nix"),
            flavor: Some(darlings::whitelist::Flavor::Impermanence),
            storage: Vec::new(),
            ignore: None,
            root: f.root().to_path_buf(),
        });
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
        let args = darlings::cli::ScanArgs {
            against: "empty".into(),
            threads: Some(1),
            ..Default::default()
        };
        let opts = darlings::settings::audit_options(Some(f.root()), &args).expect("options");
        let audit = darlings::audit::run(&opts, &darlings::scan::Progress::default());
        let mut inputs = vec![Input::Loaded(Box::new(audit))];
        for _ in 0..presses {
            inputs.push(Input::Key(KeyEvent::new(
                KeyCode::Char('j'),
                KeyModifiers::NONE,
            )));
        }
        run_loop(
            &mut terminal,
            &mut model,
            inputs,
            &darlings::scan::Progress::default(),
        )
        .expect("loop");
        let screen = terminal.backend().to_string();
        assert_inert(&format!("TUI after {presses} moves"), screen.as_bytes());
        seen_escaped |= screen.contains("\\e]0;pwned\\u{7}");
    }
    assert!(seen_escaped, "the names are shown, escaped");
}
