//! The config file through the binary: a named server connects, the file's defaults reach
//! the command, a flag beats them, and a bad file is one line naming file, line and key;
//! PGLOCKS_CONFIG and a bad PGLOCKS_* variable; the file's theme and keys in `replay`
//! (tmux). (Precedence and every error kind are unit tests in src/config/.)
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]
mod common;

use std::path::Path;
use std::process::Command;

use common::TestDb;
use serde_json::Value;

fn pglocks(config: &Path, args: &[&str], password: Option<&str>) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pglocks"));
    cmd.arg("--config").arg(config).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") || k == "XDG_CONFIG_HOME" {
            cmd.env_remove(k);
        }
    }
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The config file may not hold a password: an external test server's goes to PGPASSWORD.
fn without_password(dsn: &str) -> (String, Option<String>) {
    let Some(start) = dsn.find(" password='") else {
        return (dsn.to_string(), None);
    };
    let value_start = start + " password='".len();
    let rest = &dsn[value_start..];
    let mut end = 0;
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '\'' if !escaped => {
                end = i;
                break;
            }
            _ => escaped = false,
        }
    }
    let password = rest[..end].replace("\\'", "'");
    let conn = format!("{}{}", &dsn[..start], &rest[end + 1..]);
    (conn, Some(password))
}

#[tokio::test]
async fn a_named_server_and_the_files_defaults_reach_snapshot() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    let (conn, password) = without_password(&db.dsn());
    std::fs::write(
        &file,
        format!(
            "[defaults]\nlong_xact = \"7s\"\nmigration_app = \"deployer\"\n\n[servers.test]\nconn = \"{conn}\"\n"
        ),
    )
    .unwrap();
    let (code, out, err) = pglocks(
        &file,
        &["snapshot", "test", "--format", "json"],
        password.as_deref(),
    );
    assert_eq!(code, Some(0), "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["server"]["version_num"].as_i64().map(|v| v >= 130_000),
        Some(true),
        "{json:#}"
    );
    // `pglocks --help` shows the file's values as the defaults.
    let (_, help, _) = pglocks(&file, &["snapshot", "--help"], None);
    assert!(help.contains("[default: 7s]"), "{help}");
    assert!(help.contains("[default: deployer]"), "{help}");
}

#[test]
fn a_bad_file_is_one_line_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "[defaults]\ninterval = \"2s\"\nlong_xcat = \"5m\"\n").unwrap();
    let (code, out, err) = pglocks(&file, &["snapshot"], None);
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "pglocks: {}:3: long_xcat: unknown field",
            file.display()
        )),
        "{err}"
    );
    std::fs::write(
        &file,
        "[servers.prod]\nconn = \"host=db1 password=hunter2\"\n",
    )
    .unwrap();
    let (code, _, err) = pglocks(&file, &["snapshot", "prod"], None);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(":2: servers.prod.conn: holds a password"),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
    // `pglocks config` reports on the broken file instead of refusing to start.
    let (code, _, err) = pglocks(&file, &["config"], None);
    assert_eq!(code, Some(1));
    assert!(err.contains("holds a password"), "{err}");
    let (code, out, _) = pglocks(&file, &["config", "--default"], None);
    assert_eq!(code, Some(0));
    assert!(out.contains("[defaults]"));
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    let (code, _, err) = pglocks(Path::new("/nonexistent/pglocks.toml"), &["snapshot"], None);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("pglocks: cannot read the config file /nonexistent/pglocks.toml"),
        "{err}"
    );
}

/// pglocks with no --config, a clean PG* environment and `vars` set.
fn pglocks_env(vars: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pglocks"));
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") || k == "XDG_CONFIG_HOME" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(vars.iter().copied());
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_environment_names_the_file_and_a_bad_variable_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("elsewhere.toml");
    std::fs::write(&file, "[defaults]\ninterval = \"2s\"\n").unwrap();
    let path = file.to_str().unwrap();
    let (code, out, err) = pglocks_env(&[("PGLOCKS_CONFIG", path)], &["config"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("{path}: ok\n"));
    // --config beats PGLOCKS_CONFIG.
    let (code, _, err) = pglocks_env(
        &[("PGLOCKS_CONFIG", path)],
        &["--config", "/nonexistent/x.toml", "config"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("/nonexistent/x.toml"), "{err}");
    let (code, out, err) = pglocks_env(&[("PGLOCKS_THEME", "solarized")], &["snapshot"]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert_eq!(
        err,
        "pglocks: PGLOCKS_THEME=\"solarized\": not a theme (dark, light or mono)\n"
    );
    // `pglocks config` names the bad variable too, and the good ones that override the file.
    let (code, _, err) = pglocks_env(
        &[("PGLOCKS_CONFIG", path), ("PGLOCKS_LONG_XACT", "0")],
        &["config"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("PGLOCKS_LONG_XACT=\"0\""), "{err}");
    let (_, out, _) = pglocks_env(
        &[("PGLOCKS_CONFIG", path), ("PGLOCKS_INTERVAL", "5s")],
        &["config"],
    );
    assert!(
        out.contains("environment: PGLOCKS_INTERVAL (over the file)"),
        "{out}"
    );
}

/// `pglocks replay` in tmux with `file` as its config; the screen once the replay is up.
async fn replay_in_tmux(file: &Path) -> (common::tmux::Tmux, String) {
    let recording = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/recording-v1.jsonl");
    let tmux = common::tmux::Tmux::start(
        &format!(
            "env -u NO_COLOR -u PGLOCKS_THEME -u PGLOCKS_CONFIG {} --config {} replay {recording}; echo EXITED $?; sleep 30",
            env!("CARGO_BIN_EXE_pglocks"),
            file.display()
        ),
        160,
        30,
    );
    let screen = tmux
        .wait_for(
            "the replay",
            |s| s.contains("ROOT"),
            std::time::Duration::from_secs(10),
        )
        .await;
    (tmux, screen)
}

#[tokio::test]
async fn replay_takes_the_files_theme_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    // Built-in theme: the replay is in colour.
    std::fs::write(&file, "[keys]\nquit = \"x\"\n").unwrap();
    let (tmux, screen) = replay_in_tmux(&file).await;
    assert!(
        screen.contains("x quit"),
        "the footer names the bound key:\n{screen}"
    );
    assert!(tmux.has_colour(), "dark has colours:\n{}", tmux.screen());
    // q is no longer quit; x is.
    tmux.keys("q");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(tmux.screen().contains("ROOT"), "q quit the replay");
    tmux.keys("x");
    tmux.wait_for(
        "x to quit",
        |s| s.contains("EXITED 0"),
        std::time::Duration::from_secs(10),
    )
    .await;
    drop(tmux);
    // The file's theme reaches replay: mono has no colour at all.
    std::fs::write(&file, "[defaults]\ntheme = \"mono\"\n").unwrap();
    let (tmux, screen) = replay_in_tmux(&file).await;
    assert!(screen.contains("q quit"), "{screen}");
    assert!(
        !tmux.has_colour(),
        "mono has no colours:\n{}",
        tmux.screen()
    );
}
