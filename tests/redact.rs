//! `--redact` end to end: real sessions run statements full of secrets (strings, E''
//! strings, dollar quotes, numbers, IN lists, comments, and one statement so long that
//! pg_stat_activity cuts it inside a string), and no secret may reach the JSON, the
//! Markdown, a recording or the report made from it. Without `--redact` they do appear,
//! which shows the test would notice a leak.
// The whole file is test code, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};

use common::TestDb;
use common::bin::{Run, pglocks};

/// Every literal of the staged statements, chosen so that no pid, port, time or age can
/// contain one by chance.
const SECRETS: &[&str] = &[
    "holder-secret",
    "alice@example.com",
    "e-secret",
    "4815162342",
    "2718281828",
    "SR-5150",
    "dollar-secret",
    "truncsecret",
    "127.0.0.1",
];

async fn stage_secrets(db: &TestDb) -> pglocks::stage::Stage {
    let mut stage = db.stage().await;
    stage
        .exec(
            "CREATE TABLE accounts (id bigint PRIMARY KEY, email text, note text);
             INSERT INTO accounts VALUES (1, 'alice@example.com', 'x');",
        )
        .await
        .unwrap();
    let holder = stage.actor("billing").await.unwrap();
    stage
        .hold(
            holder,
            "BEGIN; UPDATE accounts SET note = 'holder-secret' WHERE email = 'alice@example.com';",
        )
        .await
        .unwrap();
    let mut waiters = Vec::new();
    let w = stage.actor("billing-worker").await.unwrap();
    waiters.push(stage.block(
        w,
        "UPDATE accounts SET note = E'waiter\\'s e-secret' /* ticket SR-5150 */ \
         WHERE email = 'alice@example.com' AND id IN (4815162342, 2718281828, 1);",
    ));
    let w = stage.actor("reporting").await.unwrap();
    waiters.push(stage.block(
        w,
        "SELECT $tag$dollar-secret$tag$, id FROM accounts WHERE email = 'alice@example.com' FOR UPDATE;",
    ));
    // track_activity_query_size (1024 bytes by default) cuts this inside the string.
    let padding = "p".repeat(960);
    let w = stage.actor("exporter").await.unwrap();
    waiters.push(stage.block(
        w,
        &format!(
            "/* {padding} */ UPDATE accounts SET note = 'truncsecret{}' WHERE id = 1;",
            "t".repeat(200)
        ),
    ));
    stage.wait_for_lock_waits(&waiters).await.unwrap();
    stage
}

fn run(args: &[&str]) -> Run {
    let out = pglocks(args.iter().copied()).run_blocking();
    assert!(out.status.success(), "pglocks {args:?}: {}", out.stderr);
    out
}

fn leaked(text: &str) -> Vec<&'static str> {
    SECRETS
        .iter()
        .copied()
        .filter(|s| text.contains(s))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_literal_survives_in_any_output() {
    let db = TestDb::new().await;
    let _stage = stage_secrets(&db).await;
    let dsn = db.dsn();
    let base = ["snapshot", dsn.as_str(), "--database", db.dbname.as_str()];

    let plain = run(&[&base[..], &["--format", "json"]].concat());
    let plain = plain.stdout;
    assert_eq!(
        leaked(&plain),
        SECRETS.to_vec(),
        "without --redact every secret is visible, so the checks below can fail"
    );

    for format in ["json", "markdown"] {
        let out = run(&[&base[..], &["--redact", "--format", format]].concat());
        let text = out.stdout;
        assert_eq!(leaked(&text), Vec::<&str>::new(), "{format}: {text}");
        assert!(
            text.contains("billing-worker"),
            "the sessions are still there"
        );
    }

    let json = run(&[&base[..], &["--redact", "--format", "json"]].concat());
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let queries: Vec<&str> = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["query"].as_str())
        .collect();
    assert!(
        queries.contains(
            &"UPDATE accounts SET note = ? /* ? */ WHERE email = ? AND id IN (? /* 3 values */);"
        ),
        "{queries:#?}"
    );
    assert!(
        queries
            .iter()
            .any(|q| q.starts_with("/* ? */ UPDATE accounts SET note = ?…")),
        "the cut statement keeps its head and hides its tail: {queries:#?}"
    );
    for s in doc["sessions"].as_array().unwrap() {
        assert!(
            s["client_addr"].is_null() || s["client_addr"] == "redacted",
            "{s}"
        );
    }

    // A recording made with --redact, and the report made from it.
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.jsonl");
    let rec_s = rec.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pglocks"))
        .args([
            "record",
            dsn.as_str(),
            "--database",
            db.dbname.as_str(),
            "--redact",
            "--interval",
            "200ms",
            "-o",
            rec_s,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&rec)
        .map(|t| t.matches("pglocks.snapshot/1").count() < 2)
        .unwrap_or(true)
    {
        assert!(std::time::Instant::now() < deadline, "no polls recorded");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let recording = std::fs::read_to_string(&rec).unwrap();
    assert_eq!(leaked(&recording), Vec::<&str>::new(), "{recording}");
    assert!(recording.contains("\"redacted\":true"));
    let report = run(&["report", rec_s]);
    let report = report.stdout;
    assert_eq!(leaked(&report), Vec::<&str>::new(), "{report}");
    assert!(report.contains("with literals and client addresses redacted"));
}

mod property {
    use proptest::prelude::*;

    /// Letters no statement template uses, so that any piece of them in the output is a leak.
    const MARK: &str = "QZXWV";
    const NUMBER: &str = "9081726354";

    /// Literal contents full of what trips lexers: quotes, backslashes, dollars, comment
    /// openers, newlines and non-ASCII, with the marker somewhere inside.
    fn content() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "a", "'", "''", "\\", "\\'", "$", "$$", "/*", "*/", "--", "\n", "é", "\"", " ", "1",
        ]);
        (
            prop::collection::vec(piece.clone(), 0..8),
            prop::collection::vec(piece, 0..8),
        )
            .prop_map(|(a, b)| format!("{}{MARK}{}", a.concat(), b.concat()))
    }

    /// A statement with the content as a literal of each kind PostgreSQL has.
    fn statement() -> impl Strategy<Value = String> {
        (content(), 0..6usize).prop_map(|(c, kind)| {
            let literal = match kind {
                0 => format!("'{}'", c.replace('\'', "''")),
                1 => format!("E'{}'", c.replace('\\', "\\\\").replace('\'', "\\'")),
                2 => format!("$q${}$q$", c.replace("$q$", "")),
                3 => format!("$${}$$", c.replace('$', "")),
                4 => format!("/* {} */ 1", c.replace("/*", "").replace("*/", "")),
                _ => format!("1 -- {}\n", c.replace('\n', " ")),
            };
            format!("SELECT \"Col\", {literal} FROM t WHERE n IN ({NUMBER}, 2) AND s = 'x{MARK}'")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whole, or cut at any character as pg_stat_activity cuts long statements, no
        /// redacted statement keeps any part of a literal.
        #[test]
        fn no_cut_of_any_literal_leaks(sql in statement()) {
            let cuts = sql.char_indices().map(|(i, _)| i).chain([sql.len()]);
            for cut in cuts {
                let out = pglocks::redact::query(&sql[..cut]);
                prop_assert!(!out.contains(&MARK[..3]), "{:?} -> {:?}", &sql[..cut], out);
                prop_assert!(!out.contains(&NUMBER[..4]), "{:?} -> {:?}", &sql[..cut], out);
                prop_assert!(out.starts_with("SELECT") || cut < 6, "{:?}", out);
            }
        }
    }
}
