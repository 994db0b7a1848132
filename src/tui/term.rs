//! The real terminal: raw mode, the alternate screen and mouse capture,
//! drawn on stdout, or on `/dev/tty` when stdout is a pipe (so
//! `--print-marked` output stays clean); restored on exit, on panic, and
//! around the programs the TUI hands the terminal to (the pager, the
//! editor).

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// Stops the key reader while another program has the terminal, so the
/// keys typed into the pager or the editor go to it, not to the TUI.
#[derive(Debug, Default)]
pub struct Gate {
    paused: AtomicBool,
    parked: AtomicBool,
}

impl Gate {
    /// Asks the reader to stop and waits until it has (it checks every
    /// few milliseconds; a key it already took is the TUI's).
    fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        let start = Instant::now();
        while !self.parked.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
}

/// Reads the terminal's events on a thread of its own and hands each to
/// `send` until it returns false; stays off the terminal while `gate` is
/// paused.
pub fn spawn_reader(
    gate: Arc<Gate>,
    mut send: impl FnMut(crossterm::event::Event) -> bool + Send + 'static,
) {
    std::thread::spawn(move || {
        loop {
            if gate.paused.load(Ordering::SeqCst) {
                gate.parked.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            gate.parked.store(false, Ordering::SeqCst);
            // Polling, not a blocking read: the pause is seen within 50 ms.
            match crossterm::event::poll(Duration::from_millis(50)) {
                Ok(true) => match crossterm::event::read() {
                    Ok(ev) => {
                        if !send(ev) {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                Ok(false) => {}
                Err(_) => break,
            }
        }
    });
}

/// Runs `cmd` on the terminal: the key reader is paused and the TUI's
/// screen left while it runs, both taken back after (the caller redraws
/// everything).
pub fn hand_over(cmd: &mut Command, gate: &Gate) -> io::Result<ExitStatus> {
    let mut out = Tty::open()?;
    gate.pause();
    let status = leave(&mut out).and_then(|()| {
        cmd.stdout(out.for_child()?).stderr(out.for_child()?);
        cmd.status()
    });
    let back = enter(&mut out);
    gate.resume();
    let status = status?;
    back.map(|()| status)
}
