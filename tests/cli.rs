//! What NixOS users install and script against: shell completions, the man
//! page, and the Nix packaging (package.nix evaluated by real Nix over the
//! real nixpkgs lib, flake.nix parsed by real Nix).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::Command;

use common::darlings;

/// Returns true if and only if `tool` can be run.
fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn stdout_of(args: &[&str]) -> String {
    let out = darlings().args(args).output().unwrap();
    assert!(out.status.success(), "darlings {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Feeds `script` to `shell ARGS` on stdin or as a file and expects success.
fn shell_accepts(shell: &str, args: &[&str], script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("completion");
    std::fs::write(&file, script).unwrap();
    let out = Command::new(shell).args(args).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{shell} rejects the completion script: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completions_parse_in_every_shell_and_know_every_command() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for cmd in ["summary", "report", "scan", "promote", "tui", "man"] {
            assert!(script.contains(cmd), "{shell} completion names `{cmd}`");
        }
        assert!(script.contains("persistence"), "{shell}: options too");
    }
    let checks: [(&str, &[&str], &str); 3] = [
        ("bash", &["-n"], "bash"),
        ("zsh", &["-n"], "zsh"),
        ("fish", &["--no-execute"], "fish"),
    ];
    for (shell, args, name) in checks {
        if !have(shell) {
            eprintln!("SKIPPED: {shell} is not installed, its completion is not parsed");
            continue;
        }
        shell_accepts(shell, args, &stdout_of(&["completions", name]));
    }
    darlings().args(["completions", "tcsh"]).assert().code(2);
}

/// Renders `page` (roff) with groff and expects no warning at all.
fn groff_accepts(name: &str, page: &[u8]) {
    let mut child = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(page).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{name}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "groff warns about nothing in {name}"
    );
}

/// The pages a man page points to: every `darlings-NAME(1)` it names.
fn referenced_pages(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in page.match_indices("(1)") {
        let head = &page[..i];
        let start = head
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '\\'))
            .map_or(0, |s| s + 1);
        let name = head[start..].replace("\\-", "-");
        if name.starts_with("darlings") {
            out.push(format!("{name}.1"));
        }
    }
    out
}

#[test]
fn man_dir_writes_every_page_the_pages_point_to_and_each_renders() {
    let dir = tempfile::tempdir().unwrap();
    let listed = stdout_of(&["man", "--dir", dir.path().to_str().unwrap()]);
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    for cmd in ["migrate", "tui", "check", "promote", "man"] {
        let want = format!("darlings-{cmd}.1");
        assert!(files.contains(&want), "{want} in {files:?}");
    }
    assert!(files.contains(&"darlings.1".to_string()));
    assert_eq!(listed.lines().count(), files.len(), "each file named once");
    let top = std::fs::read_to_string(dir.path().join("darlings.1")).unwrap();
    assert_eq!(
        top,
        stdout_of(&["man"]),
        "`darlings man` prints the same top page"
    );
    let refs = referenced_pages(&top);
    assert!(refs.len() >= 9, "the top page lists the commands: {refs:?}");
    for f in &files {
        let page = std::fs::read_to_string(dir.path().join(f)).unwrap();
        for r in referenced_pages(&page) {
            assert!(
                files.contains(&r),
                "{f} points to {r}, which was not written"
            );
        }
    }
    let migrate = std::fs::read_to_string(dir.path().join("darlings-migrate.1")).unwrap();
    assert!(migrate.contains(".TH darlings-migrate 1"), "{migrate}");
    assert!(migrate.contains("\\-\\-yes"), "its own options");
    darlings()
        .args(["man", "--dir"])
        .arg(dir.path().join("missing"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--dir must be an existing directory",
        ));
    if !have("groff") {
        eprintln!("SKIPPED: groff is not installed, the man pages are not rendered");
        return;
    }
    for f in &files {
        groff_accepts(f, &std::fs::read(dir.path().join(f)).unwrap());
    }
}

#[test]
fn the_man_page_renders_without_warnings_and_documents_the_commands() {
    let page = stdout_of(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH darlings 1"),
        "roff"
    );
    for cmd in ["summary", "report", "promote", "completions"] {
        assert!(page.contains(cmd), "the man page names `{cmd}`");
    }
    assert!(page.contains("Exit codes"), "the exit codes are documented");
    if !have("groff") {
        eprintln!("SKIPPED: groff is not installed, the man page is not rendered");
        return;
    }
    groff_accepts("darlings.1", page.as_bytes());
}

/// The repository's top directory.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn flake_and_package_are_valid_nix() {
    if !have("nix-instantiate") {
        eprintln!("SKIPPED: nix-instantiate is not installed (apt-get install nix-bin)");
        return;
    }
    for file in ["flake.nix", "package.nix"] {
        let out = Command::new("nix-instantiate")
            .arg("--parse")
            .arg(repo().join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `pkgs.callPackage ./package.nix { }` with the real nixpkgs lib (from
/// nix-community/nixpkgs.lib, pointed to by DARLINGS_NIXPKGS_LIB; not part of
/// this repository) and a stub rustPlatform: the package darlings publishes.
#[test]
fn package_nix_builds_the_crate_of_this_repository() {
    let Some(lib) = std::env::var_os("DARLINGS_NIXPKGS_LIB") else {
        eprintln!(
            "SKIPPED: set DARLINGS_NIXPKGS_LIB to a checkout of nix-community/nixpkgs.lib to evaluate package.nix"
        );
        return;
    };
    if !have("nix-instantiate") {
        eprintln!("SKIPPED: nix-instantiate is not installed (apt-get install nix-bin)");
        return;
    }
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(repo().join("tests/data/package-eval.nix"))
        .arg("--arg")
        .arg("libPath")
        .arg(Path::new(&lib))
        .arg("--arg")
        .arg("pkgPath")
        .arg(repo().join("package.nix"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pname"], "darlings");
    assert_eq!(
        v["version"],
        env!("CARGO_PKG_VERSION"),
        "the version of Cargo.toml"
    );
    assert_eq!(v["name"], format!("darlings-{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(v["mainProgram"], "darlings", "`nix run` finds the binary");
    assert_eq!(
        Path::new(v["lockFile"].as_str().unwrap()),
        repo().join("Cargo.lock"),
        "the committed lock file pins the dependencies"
    );
    let kept = &v["kept"];
    for wanted in ["manifest", "lock", "main", "knowledge", "readme"] {
        assert_eq!(kept[wanted], true, "the source keeps {wanted}");
    }
    for dropped in ["tests", "bench", "target"] {
        assert_eq!(kept[dropped], false, "the source leaves out {dropped}");
    }
    post_install_installs_every_man_page(v["postInstall"].as_str().unwrap());
}

/// Runs package.nix's `postInstall` with this build as `$out/bin/darlings`
/// and nixpkgs' install hooks stubbed by what they do (copy into
/// `$out/share/man/man1`): every page `darlings man --dir` writes is installed.
fn post_install_installs_every_man_page(script: &str) {
    let out = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(out.path().join("bin")).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_darlings"),
        out.path().join("bin/darlings"),
    )
    .unwrap();
    let stubs = r#"
installManPage() { mkdir -p "$out/share/man/man1"; cp "$@" "$out/share/man/man1/"; }
installShellCompletion() { :; }
"#;
    let run = Command::new("bash")
        .args(["-euo", "pipefail", "-c"])
        .arg(format!("{stubs}\n{script}"))
        .env("out", out.path())
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "postInstall: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut installed: Vec<String> = std::fs::read_dir(out.path().join("share/man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    installed.sort();
    let generated = tempfile::tempdir().unwrap();
    stdout_of(&["man", "--dir", generated.path().to_str().unwrap()]);
    let mut want: Vec<String> = std::fs::read_dir(generated.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    want.sort();
    assert_eq!(installed, want, "package.nix installs every man page");
    assert!(installed.contains(&"darlings-migrate.1".to_string()));
}

/// Options or ROOT before a command would belong to the default TUI and be
/// ignored by the command: refused (exit 2), saying where they go.
#[test]
fn options_before_a_command_are_refused_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::darlings()
        .args(["--persistence", "p.json", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`--persistence p.json` comes before the command `check`"),
        "{err}"
    );
    let out = common::darlings()
        .arg(dir.path())
        .arg("summary")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // Without ROOT, clap reads the command as the TUI's ROOT: refused too,
    // even where a directory of that name exists.
    std::fs::create_dir(dir.path().join("check")).unwrap();
    let out = common::darlings()
        .current_dir(dir.path())
        .args(["--persistence", "p.json", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`check` after options is read as ROOT"),
        "{err}"
    );
}
