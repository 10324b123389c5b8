//! The file's shape and its checks. Unknown keys are errors: a misspelt `long_xcat` that
//! were silently ignored would be found out during the incident.
use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::tui::keys::{Action, Keymap, key_name, parse_key};

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub defaults: Defaults,
    /// Named servers: `pglocks prod` connects with `servers.prod.conn`.
    #[serde(default)]
    pub servers: BTreeMap<String, Server>,
    /// `action = "key"` (or a list of keys), replacing that action's built-in keys.
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<Keys>>,
    /// The built-in key bindings with `keys` applied, checked by parse().
    #[serde(skip)]
    pub keymap: Keymap,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Keys {
    One(String),
    Several(Vec<String>),
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub interval: Option<Spanned<String>>,
    pub long_xact: Option<Spanned<String>>,
    pub migration_app: Option<String>,
    pub snapshot_dir: Option<String>,
    pub read_only: Option<bool>,
    pub large_table: Option<u64>,
    pub feedback_xmin_age: Option<u64>,
    pub theme: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub conn: Spanned<String>,
}

/// What `pglocks config --default` prints: every key, commented out, at its built-in value.
pub const DEFAULT_FILE: &str = include_str!("default.toml");

/// Parses and checks a config file's text; an error is "LINE: KEY: what is wrong".
pub fn parse(text: &str) -> Result<Config, String> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        let line = line_of(text, at);
        let key = key_on_line(text, line);
        let msg = e.message().replace('\n', " ");
        format!("{line}: {key}: {}", msg.trim())
    })?;
    let duration = |name: &str, v: &Option<Spanned<String>>| -> Result<(), String> {
        match v {
            Some(v) => crate::humanize::parse_duration(v.get_ref())
                .map(|_| ())
                .map_err(|e| format!("{}: defaults.{name}: {e}", line_of(text, v.span().start))),
            None => Ok(()),
        }
    };
    duration("interval", &config.defaults.interval)?;
    duration("long_xact", &config.defaults.long_xact)?;
    if let Some(t) = &config.defaults.theme {
        use clap::ValueEnum;
        if crate::tui::theme::Theme::from_str(t.get_ref(), false).is_err() {
            return Err(format!(
                "{}: defaults.theme: \"{}\" is not a theme (dark, light or mono)",
                line_of(text, t.span().start),
                t.get_ref()
            ));
        }
    }
    for (name, server) in &config.servers {
        if has_password(server.conn.get_ref()) {
            return Err(format!(
                "{}: servers.{name}.conn: holds a password; keep passwords in ~/.pgpass or PGPASSWORD, not in the config file",
                line_of(text, server.conn.span().start)
            ));
        }
    }
    let mut config = config;
    config.keymap = keymap(text, &config.keys)?;
    Ok(config)
}

/// The `[keys]` table checked and applied: an unknown action, a key that is not one, and
/// two actions on one key are each "LINE: keys.ACTION: what is wrong".
fn keymap(text: &str, keys: &BTreeMap<String, Spanned<Keys>>) -> Result<Keymap, String> {
    let mut overrides = Vec::new();
    let line = |name: &str| {
        keys.get(name)
            .map(|v| line_of(text, v.span().start))
            .unwrap_or(1)
    };
    for (name, value) in keys {
        let at = line(name);
        let Some(action) = Action::from_name(name) else {
            let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
            return Err(format!(
                "{at}: keys.{name}: unknown action (the actions: {})",
                known.join(", ")
            ));
        };
        let names: Vec<&String> = match value.get_ref() {
            Keys::One(k) => vec![k],
            Keys::Several(ks) => ks.iter().collect(),
        };
        let codes = names
            .iter()
            .map(|k| parse_key(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{at}: keys.{name}: {e}"))?;
        overrides.push((action, codes));
    }
    Keymap::with(&overrides).map_err(|(action, other, key)| {
        format!(
            "{}: keys.{}: \"{}\" is also {}'s key; give {} another key too",
            line(action.name()),
            action.name(),
            key_name(key),
            other.name(),
            other.name()
        )
    })
}

fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte.min(text.len()))
        .map(|t| t.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// The key a line sets ("interval" in `interval = "5x"`), or the table it opens.
fn key_on_line(text: &str, line: usize) -> String {
    let l = text
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .trim();
    let key = l.split('=').next().unwrap_or("").trim();
    if key.is_empty() {
        "(file)".into()
    } else {
        key.to_string()
    }
}

/// A password in a URI's user info or query, or a `password=` conninfo keyword.
fn has_password(conn: &str) -> bool {
    let lower = conn.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("postgres://")
        .or_else(|| lower.strip_prefix("postgresql://"))
    {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if authority
            .rsplit_once('@')
            .is_some_and(|(user, _)| user.contains(':'))
        {
            return true;
        }
        return rest.split_once('?').is_some_and(|(_, q)| {
            q.split('&')
                .any(|kv| kv.trim_start().starts_with("password="))
        });
    }
    // conninfo allows spaces around '=': close them up, then look at each keyword.
    let mut closed = lower.clone();
    while closed.contains(" =") || closed.contains("= ") {
        closed = closed.replace(" =", "=").replace("= ", "=");
    }
    closed
        .split_whitespace()
        .any(|w| w.starts_with("password="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_back_to_nothing_set() {
        assert_eq!(parse(DEFAULT_FILE).unwrap(), Config::default());
        // Uncommented, every key it documents is a real key with a valid value.
        let uncommented: String = DEFAULT_FILE
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.contains(" = ") || r.starts_with('['))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let c = parse(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert!(c.defaults.interval.is_some() && c.defaults.long_xact.is_some());
        assert_eq!(c.servers.len(), 1);
        let apps = c.defaults.migration_app.unwrap();
        assert_eq!(apps, crate::migration::DEFAULT_MIGRATION_APPS);
        // Every action is listed, at its built-in keys.
        assert_eq!(c.keys.len(), Action::ALL.len());
        assert_eq!(c.keymap, Keymap::default());
    }

    #[test]
    fn keys_replace_the_built_in_ones() {
        use crossterm::event::KeyCode;
        let c = parse("[keys]\nterminate = \"T\"\ndown = [\"e\", \"Down\"]\n").unwrap();
        assert_eq!(c.keymap.action(KeyCode::Char('T')), Some(Action::Terminate));
        assert_eq!(c.keymap.action(KeyCode::Char('K')), None);
        assert_eq!(c.keymap.action(KeyCode::Char('e')), Some(Action::Down));
        assert_eq!(c.keymap.action(KeyCode::Down), Some(Action::Down));
        assert_eq!(c.keymap.action(KeyCode::Char('j')), None);
    }

    #[test]
    fn bad_keys_name_line_and_action() {
        let e = parse("[keys]\nquit = \"x\"\nkill = \"X\"\n").unwrap_err();
        assert!(
            e.starts_with("3: keys.kill: unknown action (the actions: quit, "),
            "{e}"
        );
        let e = parse("[keys]\n\n\nterminate = \"Ctrl-k\"\n").unwrap_err();
        assert!(
            e.starts_with("4: keys.terminate: \"Ctrl-k\" is not a key"),
            "{e}"
        );
        let e = parse("[keys]\nrefresh = [\"R\", \"Tab\"]\n").unwrap_err();
        assert!(e.starts_with("2: keys.refresh: \"Tab\" is reserved"), "{e}");
        // Two actions on one key: the line of the one the file set.
        let e = parse("[keys]\nhelp = \"h\"\nrefresh = \"q\"\n").unwrap_err();
        assert_eq!(
            e,
            "3: keys.refresh: \"q\" is also quit's key; give quit another key too"
        );
        let e = parse("[keys]\nsnapshot = \"w\"\nrefresh = \"w\"\n").unwrap_err();
        assert_eq!(
            e,
            "2: keys.snapshot: \"w\" is also refresh's key; give refresh another key too"
        );
        let e = parse("[keys]\nquit = 5\n").unwrap_err();
        assert!(e.starts_with("2: quit: "), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse("[defaults]\ninterval = \"2s\"\nlong_xcat = \"5m\"\n").unwrap_err();
        assert!(
            e.starts_with("3: long_xcat: unknown field `long_xcat`"),
            "{e}"
        );
        let e = parse("[default]\n").unwrap_err();
        assert!(
            e.starts_with("1: [default]: unknown field `default`"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let e = parse("[defaults]\n\ninterval = \"soon\"\n").unwrap_err();
        assert!(
            e.starts_with("3: defaults.interval: invalid duration"),
            "{e}"
        );
        let e = parse("[defaults]\nread_only = \"yes\"\n").unwrap_err();
        assert!(e.starts_with("2: read_only: invalid type"), "{e}");
        let e = parse("[defaults]\ntheme = \"solarized\"\n").unwrap_err();
        assert!(
            e.starts_with("2: defaults.theme: \"solarized\" is not a theme"),
            "{e}"
        );
        let e = parse("[defaults\n").unwrap_err();
        assert!(e.starts_with("1: "), "{e}");
    }

    #[test]
    fn passwords_are_refused_in_servers() {
        for conn in [
            "host=db1 user=u password=secret",
            "host=db1 password = secret",
            "postgres://u:secret@db1/app",
            "postgresql://u@db1/app?password=secret",
        ] {
            let text = format!("[servers.prod]\nconn = '{conn}'\n");
            let e = parse(&text).unwrap_err();
            assert!(
                e.starts_with("2: servers.prod.conn: holds a password"),
                "{conn}: {e}"
            );
            assert!(
                !e.contains("secret"),
                "the error must not echo the password"
            );
        }
        for conn in [
            "host=db1 user=u dbname=app",
            "postgres://u@db1:5432/app?sslmode=require",
        ] {
            parse(&format!("[servers.prod]\nconn = '{conn}'\n")).unwrap();
        }
    }
}
