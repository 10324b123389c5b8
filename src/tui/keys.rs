//! Key bindings: which key does what, the built-in ones and those of the config file's
//! `[keys]` table. update() asks the map for an action; the help popup shows what is bound.
//!
//! Not remappable on purpose: `y` in the signal confirmation (a habit that must not move
//! under a user's feet when a backend is about to be killed), Ctrl-C (always quits), the
//! filter's text entry, and 1-9 and Tab, which pick a server in the several-server view.
use crossterm::event::KeyCode;

macro_rules! actions {
    ($($variant:ident $name:literal [$($key:expr),+];)+) => {
        /// What a key can do. The order is the config file's and the help's.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),+ }

        impl Action {
            pub const ALL: &[Action] = &[$(Action::$variant),+];

            /// The name in the config file's `[keys]` table.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }

            fn defaults(self) -> Vec<KeyCode> {
                match self { $(Action::$variant => vec![$($key),+]),+ }
            }
        }
    };
}

use KeyCode::Char;
actions! {
    Quit "quit" [Char('q')];
    Back "back" [KeyCode::Esc];
    Down "down" [Char('j'), KeyCode::Down];
    Up "up" [Char('k'), KeyCode::Up];
    PageDown "page_down" [KeyCode::PageDown];
    PageUp "page_up" [KeyCode::PageUp];
    First "first" [Char('g'), KeyCode::Home];
    Last "last" [Char('G'), KeyCode::End];
    Open "open" [KeyCode::Enter];
    Expand "expand" [KeyCode::Right];
    Collapse "collapse" [KeyCode::Left];
    Terminate "terminate" [Char('K')];
    Cancel "cancel" [Char('C')];
    Snapshot "snapshot" [Char('s')];
    Pause "pause" [Char('p'), Char(' ')];
    Filter "filter" [Char('/')];
    Help "help" [Char('?')];
    Others "others" [Char('o')];
    Refresh "refresh" [Char('r')];
    StepBack "step_back" [Char('[')];
    StepForward "step_forward" [Char(']')];
    JumpBack "jump_back" [Char('{')];
    JumpForward "jump_forward" [Char('}')];
    FirstBlocked "first_blocked" [Char('b')];
    NextAction "next_action" [Char('n')];
    Faster "faster" [Char('+'), Char('=')];
    Slower "slower" [Char('-')];
}

impl Action {
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
}

/// Every action's keys. Built-in unless the config file's `[keys]` says otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    keys: Vec<(Action, Vec<KeyCode>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            keys: Action::ALL.iter().map(|&a| (a, a.defaults())).collect(),
        }
    }
}

impl Keymap {
    /// The built-in map with these actions' keys replaced. Two actions on one key is an
    /// error: (the action given, the other one, the key).
    pub fn with(overrides: &[(Action, Vec<KeyCode>)]) -> Result<Keymap, (Action, Action, KeyCode)> {
        let mut map = Keymap::default();
        for (action, keys) in overrides {
            if let Some(slot) = map.keys.iter_mut().find(|(a, _)| a == action) {
                slot.1 = keys.clone();
            }
        }
        for (i, (a, keys)) in map.keys.iter().enumerate() {
            for k in keys {
                if let Some((b, _)) = map.keys[i + 1..].iter().find(|(_, ks)| ks.contains(k)) {
                    // Name first the action the file set, so the error points at its line.
                    let set = |x: &Action| overrides.iter().any(|(o, _)| o == x);
                    return Err(if set(b) && !set(a) {
                        (*b, *a, *k)
                    } else {
                        (*a, *b, *k)
                    });
                }
            }
        }
        Ok(map)
    }

    /// The action this key is bound to.
    pub fn action(&self, code: KeyCode) -> Option<Action> {
        self.keys
            .iter()
            .find(|(_, ks)| ks.contains(&code))
            .map(|(a, _)| *a)
    }

    pub fn keys(&self, action: Action) -> &[KeyCode] {
        self.keys
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, ks)| ks.as_slice())
            .unwrap_or(&[])
    }

    pub fn is_default(&self, action: Action) -> bool {
        self.keys(action) == action.defaults().as_slice()
    }

    /// The first key of an action, as the status line names it ("K"), or "unbound".
    pub fn first(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map(|&k| key_name(k))
            .unwrap_or_else(|| "unbound".into())
    }

    /// Every key of an action: "n or Down".
    pub fn label(&self, action: Action) -> String {
        let names: Vec<String> = self.keys(action).iter().map(|&k| key_name(k)).collect();
        if names.is_empty() {
            "unbound".into()
        } else {
            names.join(" or ")
        }
    }
}

/// The names the config file takes besides a single character (case does not matter).
const NAMED: &[(&str, KeyCode)] = &[
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Backspace", KeyCode::Backspace),
    ("Space", Char(' ')),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("Insert", KeyCode::Insert),
    ("Delete", KeyCode::Delete),
];

/// A key as the config file writes it: one character ("K", "/"), a name from NAMED, or
/// F1 to F12.
pub fn parse_key(s: &str) -> Result<KeyCode, String> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_ascii_digit() && c != '0' {
            return Err(format!(
                "\"{s}\" is reserved: 1-9 pick a server in the several-server view"
            ));
        }
        if c.is_control() {
            return Err(format!("\"{}\" is not a key", s.escape_default()));
        }
        return Ok(Char(c));
    }
    if let Some((_, k)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(*k);
    }
    if let Some(n) = s
        .strip_prefix(['F', 'f'])
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (1..=12).contains(n))
    {
        return Ok(KeyCode::F(n));
    }
    if s.eq_ignore_ascii_case("tab") {
        return Err(
            "\"Tab\" is reserved: it picks the next server in the several-server view".into(),
        );
    }
    Err(format!(
        "\"{}\" is not a key (one character, F1-F12, or one of {})",
        s.escape_default(),
        NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    ))
}

/// How the help and the config file write a key.
pub fn key_name(k: KeyCode) -> String {
    if k == Char(' ') {
        return "space".into();
    }
    if let Char(c) = k {
        return c.to_string();
    }
    if let KeyCode::F(n) = k {
        return format!("F{n}");
    }
    NAMED
        .iter()
        .find(|(_, code)| *code == k)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("{k:?}"))
}

/// The help popup's rows: the built-in wording while an action keeps its built-in keys,
/// the keys as bound once the config file moves them.
pub fn help_rows(map: &Keymap) -> Vec<(String, String)> {
    use Action::*;
    let rows: &[(&[Action], &str, &str)] = &[
        (&[Down, Up], "j / k, arrows", "move"),
        (
            &[Open],
            "Enter",
            "details: full query, locks, why it blocks",
        ),
        (
            &[Terminate],
            "K",
            "terminate the selected backend (asks first)",
        ),
        (&[Cancel], "C", "cancel its current query (asks first)"),
        (
            &[Snapshot],
            "s",
            "write a Markdown and a JSON snapshot to --snapshot-dir",
        ),
        (
            &[Pause],
            "p or space",
            "pause the display (polling goes on)",
        ),
        (
            &[Filter],
            "/",
            "filter by pid, application, user, state, query or relation",
        ),
        (
            &[Others],
            "o",
            "show or hide sessions outside the wait tree",
        ),
        (&[Refresh], "r", "poll now"),
        (
            &[StepBack, StepForward, JumpBack, JumpForward],
            "[ ] { }",
            "replay: step one poll, or ten",
        ),
        (
            &[FirstBlocked, NextAction],
            "b / n",
            "replay: first blocked state / next action",
        ),
        (
            &[Pause, Faster, Slower],
            "p, + / -",
            "replay: play or pause, faster / slower",
        ),
        (&[Help], "?", "this help"),
        (&[Quit], "q", "quit"),
    ];
    rows.iter()
        .map(|(actions, default_label, what)| {
            let label = if actions.iter().all(|&a| map.is_default(a)) {
                default_label.to_string()
            } else {
                let labels: Vec<String> = actions.iter().map(|&a| map.label(a)).collect();
                labels.join(" / ")
            };
            let what = if actions == &[Down, Up] {
                let jumps = [PageDown, PageUp, First, Last];
                if jumps.iter().all(|&a| map.is_default(a)) {
                    "move (PgUp/PgDn, g/G jump)".to_string()
                } else {
                    format!(
                        "move ({} / {} page, {} / {} jump)",
                        map.label(PageDown),
                        map.label(PageUp),
                        map.label(First),
                        map.label(Last)
                    )
                }
            } else {
                what.to_string()
            };
            (label, what)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_map_has_no_key_twice() {
        assert!(Keymap::with(&[]).is_ok());
        assert_eq!(Keymap::default().action(Char('K')), Some(Action::Terminate));
        assert_eq!(Keymap::default().action(Char(' ')), Some(Action::Pause));
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
        }
    }

    #[test]
    fn a_remapped_action_leaves_its_old_key() {
        let map = Keymap::with(&[(Action::Terminate, vec![Char('T')])]).unwrap();
        assert_eq!(map.action(Char('T')), Some(Action::Terminate));
        assert_eq!(map.action(Char('K')), None);
        assert!(!map.is_default(Action::Terminate));
    }

    #[test]
    fn two_actions_on_one_key_name_the_one_set() {
        // refresh moves onto q, which quit keeps.
        assert_eq!(
            Keymap::with(&[(Action::Refresh, vec![Char('q')])]),
            Err((Action::Refresh, Action::Quit, Char('q')))
        );
        // Moving quit away first makes room.
        assert!(
            Keymap::with(&[
                (Action::Refresh, vec![Char('q')]),
                (Action::Quit, vec![Char('x')])
            ])
            .is_ok()
        );
    }

    #[test]
    fn keys_parse_by_character_and_name() {
        assert_eq!(parse_key("K"), Ok(Char('K')));
        assert_eq!(parse_key("pagedown"), Ok(KeyCode::PageDown));
        assert_eq!(parse_key("Space"), Ok(Char(' ')));
        assert_eq!(parse_key("F5"), Ok(KeyCode::F(5)));
        assert_eq!(parse_key("0"), Ok(Char('0')));
        assert!(parse_key("Ctrl-x").unwrap_err().contains("is not a key"));
        assert!(parse_key("F13").unwrap_err().contains("is not a key"));
        assert!(parse_key("").unwrap_err().contains("is not a key"));
        assert!(parse_key("3").unwrap_err().contains("reserved"));
        assert!(parse_key("Tab").unwrap_err().contains("reserved"));
        for (name, code) in NAMED {
            assert_eq!(parse_key(&key_name(*code)), Ok(*code), "{name}");
        }
    }

    #[test]
    fn help_shows_moved_keys_and_keeps_the_built_in_wording_otherwise() {
        let rows = help_rows(&Keymap::default());
        assert_eq!(rows[0].0, "j / k, arrows");
        assert_eq!(rows[2].0, "K");
        let map = Keymap::with(&[
            (Action::Terminate, vec![Char('T')]),
            (Action::Down, vec![Char('n'), KeyCode::Down]),
            (Action::NextAction, vec![Char('N')]),
        ])
        .unwrap();
        let rows = help_rows(&map);
        assert_eq!(rows[0].0, "n or Down / k or Up");
        assert_eq!(
            rows[2],
            (
                "T".into(),
                "terminate the selected backend (asks first)".into()
            )
        );
        assert_eq!(rows[3].0, "C");
        assert_eq!(rows[10].0, "b / N");
    }
}
