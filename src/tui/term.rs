//! The real terminal: raw mode, the alternate screen and mouse capture,
//! drawn on stdout, or on `/dev/tty` when stdout is a pipe (so
//! `--print-marked` output stays clean); restored on exit, on panic, and
//! around the programs the TUI hands the terminal to (the pager, the
//! editor).

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::process::{Command, ExitStatus};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// Where the TUI draws: the terminal on stdout, or `/dev/tty`.
pub enum Tty {
    /// Standard output is the terminal.
    Stdout(io::Stdout),
    /// Standard output is redirected; the controlling terminal.
    Dev(File),
}

impl Tty {
    /// The terminal to draw on, if there is one.
    pub fn open() -> io::Result<Tty> {
        if io::stdout().is_terminal() {
            return Ok(Tty::Stdout(io::stdout()));
        }
        let f = File::options().read(true).write(true).open("/dev/tty")?;
        Ok(Tty::Dev(f))
    }

    /// A handle for a child's output: the same terminal.
    fn for_child(&self) -> io::Result<std::process::Stdio> {
        Ok(match self {
            Tty::Stdout(_) => std::process::Stdio::inherit(),
            Tty::Dev(f) => f.try_clone()?.into(),
        })
    }
}

impl Write for Tty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Tty::Stdout(s) => s.write(buf),
            Tty::Dev(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Tty::Stdout(s) => s.flush(),
            Tty::Dev(f) => f.flush(),
        }
    }
}

/// Takes the terminal: raw mode, the alternate screen, the mouse; a panic
/// gives it back before its message is printed.
pub fn enter(out: &mut Tty) -> io::Result<()> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut out) = Tty::open() {
                let _ = leave(&mut out);
            }
            previous(info);
        }));
    });
    enable_raw_mode()?;
    crossterm::execute!(out, EnterAlternateScreen, EnableMouseCapture)
}

/// Gives the terminal back as it was.
pub fn leave(out: &mut Tty) -> io::Result<()> {
    let raw = disable_raw_mode();
    crossterm::execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    )?;
    raw
}

/// Runs `cmd` on the terminal: the TUI's screen is left while it runs and
/// taken back after (the caller redraws everything).
pub fn hand_over(cmd: &mut Command) -> io::Result<ExitStatus> {
    let mut out = Tty::open()?;
    leave(&mut out)?;
    cmd.stdout(out.for_child()?).stderr(out.for_child()?);
    let status = cmd.status();
    enter(&mut out)?;
    status
}
