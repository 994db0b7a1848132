//! The one key table: every binding with the modes it applies in and its
//! description. `map_key` reads it to turn a key press into an
//! [`Action`]; the help screen, the footer and the README read the same rows,
//! so they cannot disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What the screen is doing, which decides what keys mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The scan is running; only quitting makes sense.
    Loading,
    /// Browsing the tree, the detail pane or the marked pane.
    Browse,
    /// Typing a search.
    Search,
    /// The help screen.
    Help,
    /// The preview of what `w` would write.
    ConfirmWrite,
    /// Asking before quitting with marks that are not written.
    ConfirmQuit,
    /// The problems with the whitelist (`darlings check`), see `tui::findings`.
    Findings,
    /// The migration of the written paths into storage (plan, gauge,
    /// results), see `tui::migrate`.
    Migrate,
}

/// What a key asks for (the vocabulary of the key table); the update gets
/// it wrapped in a [`super::msg::Msg`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Move the selection up one row.
    Up,
    /// Move the selection down one row.
    Down,
    /// Move up one screen.
    PageUp,
    /// Move down one screen.
    PageDown,
    /// Go to the first row.
    Top,
    /// Go to the last row.
    Bottom,
    /// Expand the selected directory, or step into it when already expanded.
    Expand,
    /// Collapse the selected directory, or go to its parent.
    Collapse,
    /// Start an incremental search.
    SearchStart,
    /// One typed character of the search.
    SearchChar(char),
    /// Delete the last character of the search.
    SearchBackspace,
    /// Keep the search and go back to browsing.
    SearchAccept,
    /// Clear the search.
    SearchCancel,
    /// Next match of the search.
    NextMatch,
    /// Previous match of the search.
    PrevMatch,
    /// Mark or unmark the selected path for promotion.
    ToggleMark,
    /// Mark every path below the selection that is advised `persist`.
    MarkAdvised,
    /// Dismiss the selected path (an ignore rule).
    Dismiss,
    /// Undo the last dismissal.
    Undo,
    /// Cycle the class filter.
    CycleFilter,
    /// Cycle the change-kind filter.
    CycleChange,
    /// Cycle the sort order.
    CycleSort,
    /// Move the focus to the next pane.
    FocusNext,
    /// Preview what will be written to the whitelist.
    WritePreview,
    /// Show the selected file in `$PAGER`.
    ViewFile,
    /// Open the whitelist in `$EDITOR`.
    EditWhitelist,
    /// Plan copying the data of the written paths into storage.
    Migrate,
    /// Answer yes to the question on screen.
    Yes,
    /// Answer no / go back.
    No,
    /// Show the help screen.
    Help,
    /// Open or close the problems with the whitelist.
    Findings,
    /// Quit (asks first when marks are not written).
    Quit,
}

/// One row of the key table.
pub struct Binding {
    /// The key presses (code and required modifiers) that send `action`.
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written on screen.
    pub label: &'static str,
    /// The modes the binding applies in.
    pub modes: &'static [Mode],
    /// What the keys do.
    pub action: Action,
    /// One line for the help screen.
    pub help: &'static str,
    /// Short word for the footer, or empty to keep it out of the footer.
    pub footer: &'static str,
}

const NO: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const B: &[Mode] = &[Mode::Browse];
/// Movement also scrolls the help, the write preview and the migration, and
/// moves through the findings.
const MOVE: &[Mode] = &[
    Mode::Browse,
    Mode::Help,
    Mode::ConfirmWrite,
    Mode::Findings,
    Mode::Migrate,
];

const fn ch(c: char) -> (KeyCode, KeyModifiers) {
    (KeyCode::Char(c), NO)
}

/// The key table. Order is the order of the help screen and the footer.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Up, NO), ch('k')],
        label: "↑/k",
        modes: MOVE,
        action: Action::Up,
        help: "move up",
        footer: "",
    },
    Binding {
        keys: &[(KeyCode::Down, NO), ch('j')],
        label: "↓/j",
        modes: MOVE,
        action: Action::Down,
        help: "move down",
        footer: "",
    },
    Binding {
        keys: &[(KeyCode::PageUp, NO), (KeyCode::Char('b'), CTRL)],
        label: "PgUp",
        modes: MOVE,
        action: Action::PageUp,
        help: "move up one screen",
        footer: "",
    },
    Binding {
        keys: &[(KeyCode::PageDown, NO), (KeyCode::Char('f'), CTRL)],
        label: "PgDn",
        modes: MOVE,
        action: Action::PageDown,
        help: "move down one screen",
        footer: "",
    },
    Binding {
        keys: &[ch('g'), (KeyCode::Home, NO)],
        label: "g",
        modes: B,
        action: Action::Top,
        help: "go to the first row",
        footer: "",
    },
    Binding {
        keys: &[ch('G'), (KeyCode::End, NO)],
        label: "G",
        modes: B,
        action: Action::Bottom,
        help: "go to the last row",
        footer: "",
    },
    Binding {
        keys: &[(KeyCode::Right, NO), ch('l'), (KeyCode::Enter, NO)],
        label: "→/l/Enter",
        modes: B,
        action: Action::Expand,
        help: "expand the directory (again: step into it); in the marked pane, show the path",
        footer: "open",
    },
    Binding {
        keys: &[(KeyCode::Left, NO), ch('h')],
        label: "←/h",
        modes: B,
        action: Action::Collapse,
        help: "collapse the directory, or go to its parent",
        footer: "close",
    },
    Binding {
        keys: &[ch(' ')],
        label: "Space",
        modes: B,
        action: Action::ToggleMark,
        help: "mark or unmark for promotion and move down (a directory brings everything below)",
        footer: "mark",
    },
    Binding {
        keys: &[ch('p')],
        label: "p",
        modes: B,
        action: Action::MarkAdvised,
        help: "mark every path in the selected directory that is advised persist (persist!)",
        footer: "",
    },
    Binding {
        keys: &[ch('w')],
        label: "w",
        modes: B,
        action: Action::WritePreview,
        help: "preview what will be written to the whitelist, then y writes",
        footer: "write",
    },
    Binding {
        keys: &[ch('m')],
        label: "m",
        modes: B,
        action: Action::Migrate,
        help: "after writing: plan copying the written paths' data into storage, then y copies",
        // The status line after a write names the key.
        footer: "",
    },
    Binding {
        keys: &[ch('v')],
        label: "v",
        modes: B,
        action: Action::ViewFile,
        help: "show the selected file in $PAGER (less)",
        footer: "",
    },
    Binding {
        keys: &[ch('e')],
        label: "e",
        modes: B,
        action: Action::EditWhitelist,
        help: "open the whitelist file in $VISUAL or $EDITOR (vi)",
        footer: "",
    },
    Binding {
        keys: &[ch('d')],
        label: "d",
        modes: B,
        action: Action::Dismiss,
        help: "dismiss the path: accept its loss (a rule in the --ignore file)",
        footer: "dismiss",
    },
    Binding {
        keys: &[ch('u')],
        label: "u",
        modes: B,
        action: Action::Undo,
        help: "undo the last dismissal",
        footer: "",
    },
    Binding {
        keys: &[ch('/')],
        label: "/",
        modes: B,
        action: Action::SearchStart,
        help: "search by path (Enter keeps it, Esc clears it)",
        footer: "search",
    },
    Binding {
        keys: &[ch('n')],
        label: "n",
        modes: B,
        action: Action::NextMatch,
        help: "next match",
        footer: "",
    },
    Binding {
        keys: &[ch('N')],
        label: "N",
        modes: B,
        action: Action::PrevMatch,
        help: "previous match",
        footer: "",
    },
    Binding {
        keys: &[ch('f')],
        label: "f",
        modes: B,
        action: Action::CycleFilter,
        help: "cycle the class filter: stray → all → persisted → Nix-managed → dismissed",
        footer: "filter",
    },
    Binding {
        keys: &[ch('c')],
        label: "c",
        modes: B,
        action: Action::CycleChange,
        help: "cycle the change filter: any → added → modified → removed → unchanged",
        footer: "",
    },
    Binding {
        keys: &[ch('s')],
        label: "s",
        modes: B,
        action: Action::CycleSort,
        help: "cycle the sort: size → name → mtime (newest inside first, dated) → entries",
        footer: "sort",
    },
    Binding {
        keys: &[(KeyCode::Tab, NO)],
        label: "Tab",
        modes: B,
        action: Action::FocusNext,
        help: "switch focus: tree → detail → marked paths",
        footer: "pane",
    },
    Binding {
        keys: &[ch('!')],
        label: "!",
        modes: &[Mode::Browse, Mode::Findings],
        action: Action::Findings,
        help: "problems with the whitelist (darlings check), each with its fix",
        // The status line names the key when there are problems: the footer
        // stays as it was on 100 columns.
        footer: "",
    },
    Binding {
        keys: &[(KeyCode::Enter, NO)],
        label: "Enter",
        modes: &[Mode::Findings],
        action: Action::Expand,
        help: "show the finding's path in the tree",
        footer: "show",
    },
    Binding {
        keys: &[ch('?'), (KeyCode::F(1), NO)],
        label: "?",
        modes: B,
        action: Action::Help,
        help: "this help",
        footer: "help",
    },
    Binding {
        keys: &[(KeyCode::Enter, NO)],
        label: "Enter",
        modes: &[Mode::Search],
        action: Action::SearchAccept,
        help: "keep the search and browse (n / N jump between matches)",
        footer: "keep",
    },
    Binding {
        keys: &[(KeyCode::Esc, NO)],
        label: "Esc",
        modes: &[Mode::Search],
        action: Action::SearchCancel,
        help: "clear the search",
        footer: "clear",
    },
    Binding {
        keys: &[(KeyCode::Backspace, NO)],
        label: "Backspace",
        modes: &[Mode::Search],
        action: Action::SearchBackspace,
        help: "delete the last character",
        footer: "",
    },
    Binding {
        keys: &[ch('y')],
        label: "y",
        modes: &[Mode::ConfirmWrite],
        action: Action::Yes,
        help: "write the whitelist (atomically, keeping FILE.bak)",
        footer: "write",
    },
    Binding {
        keys: &[ch('y')],
        label: "y",
        modes: &[Mode::ConfirmQuit],
        action: Action::Yes,
        help: "quit without writing the marks",
        footer: "quit",
    },
    Binding {
        keys: &[ch('y')],
        label: "y",
        modes: &[Mode::Migrate],
        action: Action::Yes,
        help: "copy each path into storage, verify every byte, then put it in place",
        footer: "copy",
    },
    Binding {
        keys: &[ch('n'), (KeyCode::Esc, NO)],
        label: "n/Esc",
        modes: &[
            Mode::ConfirmWrite,
            Mode::ConfirmQuit,
            Mode::Help,
            Mode::Findings,
            Mode::Migrate,
        ],
        action: Action::No,
        help: "go back",
        footer: "back",
    },
    Binding {
        keys: &[ch('w')],
        label: "w",
        modes: &[Mode::ConfirmQuit],
        action: Action::WritePreview,
        help: "preview the write instead of quitting",
        footer: "write",
    },
    Binding {
        keys: &[ch('?'), ch('q')],
        label: "?/q",
        modes: &[Mode::Help],
        action: Action::No,
        help: "close the help",
        footer: "",
    },
    Binding {
        keys: &[ch('q'), (KeyCode::Char('c'), CTRL)],
        label: "q/Ctrl-C",
        modes: &[Mode::Browse, Mode::Loading, Mode::Findings],
        action: Action::Quit,
        help: "quit (asks first when marks are not written)",
        footer: "quit",
    },
    Binding {
        keys: &[ch('q'), (KeyCode::Char('c'), CTRL)],
        label: "q/Ctrl-C",
        modes: &[Mode::Migrate],
        action: Action::Quit,
        help: "quit; while copying at once: each path is left absent from storage or complete",
        footer: "quit",
    },
    Binding {
        keys: &[(KeyCode::Char('c'), CTRL)],
        label: "Ctrl-C",
        modes: &[
            Mode::Search,
            Mode::Help,
            Mode::ConfirmWrite,
            Mode::ConfirmQuit,
        ],
        action: Action::Quit,
        help: "quit",
        footer: "",
    },
];

/// Turns a key press into a message for the model, if it means anything in `mode`.
pub fn map_key(key: &KeyEvent, mode: Mode) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    // Shift is part of the character itself ('N', '?'); only Ctrl/Alt change a key.
    let mods = key.modifiers - KeyModifiers::SHIFT;
    for b in KEYS {
        if b.modes.contains(&mode) && b.keys.iter().any(|&(c, m)| c == key.code && m == mods) {
            return Some(b.action);
        }
    }
    if mode == Mode::Search
        && let KeyCode::Char(c) = key.code
        && !mods.contains(KeyModifiers::CONTROL)
        && !mods.contains(KeyModifiers::ALT)
    {
        return Some(Action::SearchChar(c));
    }
    None
}

/// The bindings that apply in `mode`, in table order.
pub fn bindings(mode: Mode) -> impl Iterator<Item = &'static Binding> {
    KEYS.iter().filter(move |b| b.modes.contains(&mode))
}

/// The footer: `key word` pairs of the bindings that apply in `mode` and
/// do something now (`offered`: a `y` with nothing to copy is not offered).
pub fn footer(mode: Mode, offered: impl Fn(Action) -> bool) -> Vec<(&'static str, &'static str)> {
    bindings(mode)
        .filter(|b| !b.footer.is_empty() && offered(b.action))
        .map(|b| {
            let first = b.label.split('/').next().filter(|k| !k.is_empty());
            (first.unwrap_or(b.label), b.footer)
        })
        .collect()
}

/// The README's key table (Markdown), generated from [`KEYS`]; a test
/// keeps the README equal to it.
pub fn markdown_table() -> String {
    let mut out = String::from("| key | action |\n|---|---|\n");
    for b in bindings(Mode::Browse) {
        out.push_str(&format!("| `{}` | {} |\n", b.label, b.help));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn vim_and_arrow_keys_move_in_browse_mode() {
        assert_eq!(
            map_key(&press(KeyCode::Char('j'), NO), Mode::Browse),
            Some(Action::Down)
        );
        assert_eq!(
            map_key(&press(KeyCode::Up, NO), Mode::Browse),
            Some(Action::Up)
        );
        assert_eq!(
            map_key(
                &press(KeyCode::Char('N'), KeyModifiers::SHIFT),
                Mode::Browse
            ),
            Some(Action::PrevMatch)
        );
    }

    #[test]
    fn in_search_mode_letters_are_typed_not_commands() {
        assert_eq!(
            map_key(&press(KeyCode::Char('q'), NO), Mode::Search),
            Some(Action::SearchChar('q'))
        );
        assert_eq!(
            map_key(&press(KeyCode::Char('c'), CTRL), Mode::Search),
            Some(Action::Quit)
        );
        assert_eq!(
            map_key(&press(KeyCode::Esc, NO), Mode::Search),
            Some(Action::SearchCancel)
        );
    }

    #[test]
    fn loading_screen_only_quits_and_releases_are_ignored() {
        assert_eq!(
            map_key(&press(KeyCode::Char('q'), NO), Mode::Loading),
            Some(Action::Quit)
        );
        assert_eq!(map_key(&press(KeyCode::Char(' '), NO), Mode::Loading), None);
        let mut release = press(KeyCode::Char('q'), NO);
        release.kind = KeyEventKind::Release;
        assert_eq!(map_key(&release, Mode::Browse), None);
    }

    #[test]
    fn the_readme_key_table_is_the_key_table() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md must contain exactly:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn no_key_means_two_things_in_one_mode() {
        for mode in [
            Mode::Loading,
            Mode::Browse,
            Mode::Search,
            Mode::Help,
            Mode::ConfirmWrite,
            Mode::ConfirmQuit,
            Mode::Findings,
            Mode::Migrate,
        ] {
            let mut seen = std::collections::HashMap::new();
            for b in bindings(mode) {
                for k in b.keys {
                    if let Some(prev) = seen.insert(*k, b.action) {
                        assert_eq!(prev, b.action, "{k:?} is bound twice in {mode:?}");
                    }
                }
            }
        }
    }
}
