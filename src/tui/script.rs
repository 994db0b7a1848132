//! Scripted key replay (`--keys 'jj l Space w y q'`): the keys a user would
//! press, for headless tests, scripts and demos, and the headless run. Words are separated by
//! spaces; a word that names a key (`Space`, `Enter`, `Esc`, `Tab`,
//! `Backspace`, `Up`, `Down`, `Left`, `Right`, `PgUp`, `PgDn`, `Home`,
//! `End`, `F1`, `Ctrl-C`) is that key, any other word is typed one
//! character at a time (`/docker` is a search).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::model::{Model, Settings};
use super::msg::Msg;
use super::{Input, RunOptions, run_loop};
use crate::audit::AuditOptions;
use crate::scan::Progress;
use crate::{Error, Result};

/// The named keys, as a script writes them.
const NAMED: &[(&str, KeyCode)] = &[
    ("Space", KeyCode::Char(' ')),
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("Backspace", KeyCode::Backspace),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("PgUp", KeyCode::PageUp),
    ("PgDn", KeyCode::PageDown),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("F1", KeyCode::F(1)),
];

/// Parses a key script; a bad word is a usage error that names it.
pub fn parse(script: &str) -> Result<Vec<KeyEvent>> {
    let mut keys = Vec::new();
    for word in script.split_whitespace() {
        if let Some(&(_, code)) = NAMED.iter().find(|(name, _)| *name == word) {
            keys.push(KeyEvent::new(code, KeyModifiers::NONE));
        } else if let Some(rest) = word.strip_prefix("Ctrl-") {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_alphabetic() => keys.push(KeyEvent::new(
                    KeyCode::Char(c.to_ascii_lowercase()),
                    KeyModifiers::CONTROL,
                )),
                _ => {
                    return Err(Error::Usage(format!(
                        "--keys: {:?} is not a key: Ctrl- takes one letter (Ctrl-C)",
                        crate::text::escape_str(word)
                    )));
                }
            }
        } else {
            keys.extend(word.chars().map(|c| {
                let mods = if c.is_uppercase() {
                    KeyModifiers::SHIFT
                } else {
                    KeyModifiers::NONE
                };
                KeyEvent::new(KeyCode::Char(c), mods)
            }));
        }
    }
    Ok(keys)
}

/// Runs the TUI headless (`--keys` without a terminal): the audit, then the
/// keys, on an in-memory screen of `size` (columns, lines); returns the
/// model and the last screen as text.
pub fn replay(
    opts: AuditOptions,
    settings: Settings,
    options: RunOptions,
    size: (u16, u16),
) -> Result<(Model, String)> {
    let progress = Progress::default();
    let audit = crate::audit::run(&opts, &progress)?;
    let users = crate::users::Users::read(&audit.cur().root);
    let mut model = Model::new(settings);
    model.print_marked = options.print_marked;
    model.config = options.config.clone();
    let mut terminal = Terminal::new(ratatui::backend::TestBackend::new(size.0, size.1))
        .map_err(|e| Error::Terminal(format!("cannot set up the screen: {e}")))?;
    let checked = crate::check::run(&audit, &options.config);
    let mut inputs = vec![
        Input::Msg(Msg::Loaded(Box::new((audit, users)))),
        Input::Msg(Msg::Checked(Box::new(checked))),
    ];
    inputs.extend(options.keys.into_iter().map(Input::Key));
    run_loop(&mut terminal, &mut model, inputs, &progress)?;
    Ok((model, screen_text(terminal.backend().buffer())))
}

/// A buffer as lines of text, trailing blanks cut.
fn screen_text(buf: &ratatui::buffer::Buffer) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            if skip == 0 {
                line.push_str(sym);
            }
            // The cells a wide character covers hold nothing of their own.
            skip = skip.max(sym.width()).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(s: &str) -> Vec<KeyCode> {
        parse(s).unwrap().into_iter().map(|k| k.code).collect()
    }

    #[test]
    fn words_name_keys_or_type_their_characters() {
        assert_eq!(
            codes("jj l Space w y q"),
            [
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Char('l'),
                KeyCode::Char(' '),
                KeyCode::Char('w'),
                KeyCode::Char('y'),
                KeyCode::Char('q'),
            ]
        );
        assert_eq!(
            codes("/dock Enter PgDn"),
            [
                KeyCode::Char('/'),
                KeyCode::Char('d'),
                KeyCode::Char('o'),
                KeyCode::Char('c'),
                KeyCode::Char('k'),
                KeyCode::Enter,
                KeyCode::PageDown,
            ]
        );
        let ctrl = parse("Ctrl-C").unwrap();
        assert_eq!(ctrl[0].code, KeyCode::Char('c'));
        assert_eq!(ctrl[0].modifiers, KeyModifiers::CONTROL);
        assert_eq!(parse("G").unwrap()[0].modifiers, KeyModifiers::SHIFT);
        assert!(parse("").unwrap().is_empty());
        let err = parse("j Ctrl-Space").unwrap_err().to_string();
        assert!(err.contains("Ctrl-Space"), "{err}");
    }
}
