//! `--redact`: statements keep their shape but lose their data. Literals (strings of every
//! kind, numbers, the values of IN lists) become placeholders, comments lose their text,
//! and client addresses are hidden. Applied to the Snapshot before analysis, so the TUI,
//! the JSON, the Markdown and recordings all see only redacted text.
mod lexer;
mod lists;

use crate::model::{Snapshot, Text};

pub use lexer::{LITERAL, UNREADABLE_TAIL};

/// What a hidden client address reads as.
pub const HIDDEN_ADDRESS: &str = "redacted";

/// pg_stat_activity's own markers: they are not statements and must stay readable.
const NOT_A_STATEMENT: &[&str] = &["<insufficient privilege>", "<IDLE>"];

/// The statement with every literal replaced by a placeholder.
pub fn query(sql: &str) -> String {
    if NOT_A_STATEMENT.contains(&sql) {
        return sql.to_string();
    }
    lists::squash(lexer::pieces(sql))
        .iter()
        .map(|p| p.text.as_ref())
        .collect()
}

/// A statement that may carry a password (`CREATE ROLE ... PASSWORD '...'`, `ALTER USER`,
/// a dblink or FDW connection string with `password=`) loses its literals whether or not
/// `--redact` was given: passwords never reach the screen, a file or a log. Everything else
/// is returned as it is; the check is one case-insensitive scan, cheap on every poll.
pub fn secrets(sql: Text) -> Text {
    let mentions = sql
        .as_bytes()
        .windows(PASSWORD.len())
        .any(|w| w.eq_ignore_ascii_case(PASSWORD));
    if mentions { query(&sql).into() } else { sql }
}

const PASSWORD: &[u8] = b"password";

/// A command-line argument as pglocks may show or record it: the password of a connection
/// URI (`postgres://user:secret@host`) or of a `password=` setting becomes `***`. A guarded
/// migration command often carries its connection string on the command line.
pub fn command_arg(arg: &str) -> String {
    let mut out = arg.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find('/').map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@').map(|i| rest + i)
            && let Some(colon) = out[rest..at].find(':').map(|i| rest + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    let lower = out.to_ascii_lowercase();
    let mut hidden = String::with_capacity(out.len());
    let mut i = 0;
    while let Some(found) = lower[i..].find("password=").map(|p| i + p) {
        let value = found + "password=".len();
        let end = out[value..]
            .find(|c: char| c.is_whitespace() || c == '&' || c == '\'' || c == '"')
            .map_or(out.len(), |e| value + e);
        hidden.push_str(&out[i..value]);
        hidden.push_str("***");
        i = end;
    }
    hidden.push_str(&out[i..]);
    hidden
}

/// The same moment with every statement redacted and every client address hidden.
pub fn snapshot(mut snap: Snapshot) -> Snapshot {
    for s in &mut snap.sessions {
        if let Some(q) = s.query.as_mut() {
            *q = query(q).into();
        }
        if s.client_addr.is_some() {
            s.client_addr = Some(HIDDEN_ADDRESS.into());
        }
    }
    let links = snap.replication.iter_mut().flat_map(|r| &mut r.downstream);
    for link in links.filter(|l| l.client_addr.is_some()) {
        link.client_addr = Some(HIDDEN_ADDRESS.into());
    }
    snap
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ServerInfo, Session};

    /// Each case: the statement, the redacted form, and secrets that must not survive.
    fn check(sql: &str, expected: &str, secrets: &[&str]) {
        let out = query(sql);
        assert_eq!(out, expected, "redacting {sql:?}");
        for s in secrets {
            assert!(!out.contains(s), "{s:?} survived in {out:?}");
        }
    }

    #[test]
    fn statements_that_may_carry_a_password_lose_their_literals_always() {
        for (sql, secret) in [
            ("CREATE ROLE app LOGIN PASSWORD 'Hunter2!x'", "Hunter2"),
            (
                "alter user app with encrypted password E'Hunter2\\'x'",
                "Hunter2",
            ),
            (
                "SELECT dblink_connect('host=h PassWord=Hunter2x')",
                "Hunter2",
            ),
            ("ALTER ROLE app PASSWORD $p$Hunter2x$p$", "Hunter2"),
        ] {
            let out = secrets(sql.into());
            assert!(!out.contains(secret), "{sql} -> {out}");
        }
        let plain = "SELECT * FROM orders WHERE id = 42";
        assert_eq!(secrets(plain.into()), plain);
    }

    #[test]
    fn command_arguments_lose_their_passwords() {
        for (arg, shown) in [
            (
                "postgres://deploy:s3cr3t@db:5432/app",
                "postgres://deploy:***@db:5432/app",
            ),
            (
                "postgresql://deploy:p@ss@db/app",
                "postgresql://deploy:***@db/app",
            ),
            (
                "host=db password=s3cr3t user=x",
                "host=db password=*** user=x",
            ),
            (
                "postgres://db/app?PassWord=s3cr3t&x=1",
                "postgres://db/app?PassWord=***&x=1",
            ),
            ("-f", "-f"),
            ("postgres://deploy@db/app", "postgres://deploy@db/app"),
        ] {
            assert_eq!(command_arg(arg), shown, "{arg}");
        }
    }

    #[test]
    fn quoted_identifiers_are_kept() {
        check(
            "UPDATE \"Customer Accounts\" SET \"e-mail\" = 'bob@example.com' WHERE \"Id\" = 7",
            "UPDATE \"Customer Accounts\" SET \"e-mail\" = ? WHERE \"Id\" = ?",
            &["bob@example.com", "7"],
        );
        check(
            "select \"it\"\"s\" from t where c = 'it''s secret'",
            "select \"it\"\"s\" from t where c = ?",
            &["secret"],
        );
    }

    #[test]
    fn dollar_quoted_strings() {
        check(
            "select $$hunter2$$, $tag$it's $$ nested$tag$, $1 from t",
            "select ?, ?, $1 from t",
            &["hunter2", "nested"],
        );
        check(
            "DO $body$ BEGIN PERFORM set_config('app.key', 'sk_live_42', false); END $body$;",
            "DO ?;",
            &["sk_live_42", "app.key"],
        );
    }

    #[test]
    fn escape_strings() {
        check(
            r"select E'line\nbreak \' still inside', e'x\\' , 'plain\' from t",
            "select ?, ? , ? from t",
            &["inside", "plain", "break"],
        );
    }

    #[test]
    fn comments_lose_their_text() {
        check(
            "/* user_id=9001 */ SELECT 1 -- token abc123\nFROM t /* a /* nested */ 'quote */",
            "/* ? */ SELECT ? -- ?\nFROM t /* ? */",
            &["9001", "abc123", "nested", "quote"],
        );
    }

    #[test]
    fn a_statement_cut_inside_a_string_hides_the_tail() {
        // What pg_stat_activity shows when track_activity_query_size cuts the text.
        check(
            "INSERT INTO users (name, ssn) VALUES ('Alice', '078-05-11",
            "INSERT INTO users (name, ssn) VALUES (?, ?…",
            &["Alice", "078-05", "11"],
        );
        check("select E'secret\\' still secret", "select ?…", &["secret"]);
        check("select $x$ secret body", "select ?…", &["secret"]);
        check(
            "select 1 /* password=swordfish",
            "select ? ?…",
            &["swordfish"],
        );
        check(
            "select \"unterminated identifier",
            "select ?…",
            &["unterminated"],
        );
    }

    #[test]
    fn in_lists_lose_their_values() {
        check(
            "SELECT * FROM orders WHERE customer IN (1001, 1002, 1003) AND status in ('paid')",
            "SELECT * FROM orders WHERE customer IN (? /* 3 values */) AND status in (?)",
            &["1001", "1002", "1003", "paid"],
        );
    }

    #[test]
    fn other_literal_forms() {
        check(
            "select interval '5 minutes', date '2024-02-29', n'x', 0x1F, 1_000, .5, 5., 1e-3",
            "select interval ?, date ?, ?, ?, ?, ?, ?, ?",
            &["minutes", "2024", "1F", "000"],
        );
        check(
            "select data->>'email', tags @> ARRAY['vip'] from u",
            "select data->>?, tags @> ARRAY[?] from u",
            &["email", "vip"],
        );
    }

    #[test]
    fn server_markers_and_empty_text_stay() {
        check("<insufficient privilege>", "<insufficient privilege>", &[]);
        check("", "", &[]);
        check("   ", "   ", &[]);
    }

    #[test]
    fn snapshot_hides_queries_and_addresses() {
        let snap = Snapshot {
            taken_at: chrono::DateTime::UNIX_EPOCH,
            server: ServerInfo {
                version: "15.18".into(),
                version_num: 150018,
                max_connections: 100,
                query_size: None,
            },
            sessions: vec![
                Session {
                    pid: 1,
                    query: Some("select * from t where k = 'secret'".into()),
                    client_addr: Some("10.1.2.3".into()),
                    ..Default::default()
                },
                Session {
                    pid: 2,
                    ..Default::default()
                },
            ],
            replication: None,
        };
        let out = snapshot(snap);
        assert_eq!(
            out.sessions[0].query.as_deref(),
            Some("select * from t where k = ?")
        );
        assert_eq!(out.sessions[0].client_addr.as_deref(), Some(HIDDEN_ADDRESS));
        assert_eq!(out.sessions[1].client_addr, None);
        assert_eq!(out.sessions[1].query, None);
    }
}
