//! Migration tools that serialise deploys with an advisory lock. A second deploy, or a retry
//! after a killed container, waits on a session that holds the lock and may never finish:
//! a killed client's backend lingers until TCP keepalive notices.
//!
//! Each tool's key, as its source derives it:
//! - Flyway: `LOCK_MAGIC_NUM + table.toString().hashCode()`, LOCK_MAGIC_NUM being "Flyway"
//!   in ASCII (77431708279161), the table its quoted history table; taken with
//!   pg_try_advisory_xact_lock or pg_try_advisory_lock and retried
//!   (flyway: PostgreSQLAdvisoryLockTemplate.java, PostgreSQLConnection.java#lock).
//! - Rails: `MIGRATOR_SALT * Zlib.crc32(current_database)`, MIGRATOR_SALT = 2053462845,
//!   with pg_try_advisory_lock (activerecord/lib/active_record/migration.rb,
//!   generate_migrator_advisory_lock_id).
//! - golang-migrate: `crc32(database [\0 schema \0 table]) * 1486364155` in uint32
//!   arithmetic, with pg_advisory_lock (database/util.go GenerateAdvisoryLockId; the
//!   postgres driver passes the migrations schema and table, older releases the database
//!   name alone).
//! - Prisma Migrate: the constant 72707369, with pg_advisory_lock
//!   (prisma-engines, schema-engine sql connector, flavour/postgres.rs).
//! - Sqitch: the constant 75474063, with pg_advisory_lock (lib/App/Sqitch/Engine/pg.pm,
//!   wait_lock).
use crate::humanize::opt_age;
use crate::model::{Lock, Session};
use crate::situation::Situation;

use super::{Finding, Severity, finding};

const FLYWAY_MAGIC: i64 = 77_431_708_279_161;
const RAILS_SALT: i64 = 2_053_462_845;
const GOLANG_MIGRATE_SALT: u32 = 1_486_364_155;
const PRISMA_KEY: i64 = 72_707_369;
const SQITCH_KEY: i64 = 75_474_063;

/// The single bigint key of an advisory lock row (objsubid 1), as pg_advisory_lock(bigint)
/// took it: the high half in classid, the low half in objid.
pub fn bigint_key(l: &Lock) -> Option<i64> {
    if l.locktype != "advisory" || l.objsubid != Some(1) {
        return None;
    }
    let hi = u64::try_from(l.classid?).ok()? & 0xffff_ffff;
    let lo = u64::try_from(l.objid?).ok()? & 0xffff_ffff;
    Some(((hi << 32) | lo) as i64)
}

/// The advisory key as a person would pass it back to pg_advisory_unlock.
fn key_label(l: &Lock) -> String {
    match (bigint_key(l), l.classid, l.objid) {
        (Some(k), _, _) => k.to_string(),
        (None, Some(a), Some(b)) => format!("({a}, {b})"),
        _ => "?".into(),
    }
}

/// Which tool, if any, takes this key in `database`.
pub fn tool_for(key: i64, database: &str) -> Option<&'static str> {
    match key {
        PRISMA_KEY => return Some("Prisma Migrate"),
        SQITCH_KEY => return Some("Sqitch"),
        _ => {}
    }
    // Any Java String.hashCode() added to the magic number: the history table may be named
    // anything, and the 2^32-wide window around 7.7e13 is not where other keys fall.
    if (FLYWAY_MAGIC - (1 << 31)..FLYWAY_MAGIC + (1 << 31)).contains(&key) {
        return Some("Flyway");
    }
    if key == RAILS_SALT * i64::from(crc32(database.as_bytes())) {
        return Some("Rails (Active Record)");
    }
    let golang = |parts: &[&str]| {
        i64::from(crc32(parts.join("\0").as_bytes()).wrapping_mul(GOLANG_MIGRATE_SALT))
    };
    if key == golang(&[database]) || key == golang(&[database, "public", "schema_migrations"]) {
        return Some("golang-migrate");
    }
    None
}

/// CRC-32 (IEEE), as Go's crc32.ChecksumIEEE and Ruby's Zlib.crc32 compute it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Java's String.hashCode() over UTF-16 units, for Flyway's key.
pub fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The key Flyway takes for its default history table in `schema`.
pub fn flyway_key(schema: &str, table: &str) -> i64 {
    FLYWAY_MAGIC + i64::from(java_hash(&format!("\"{schema}\".\"{table}\"")))
}

pub fn rails_key(database: &str) -> i64 {
    RAILS_SALT * i64::from(crc32(database.as_bytes()))
}

pub fn golang_migrate_key(database: &str, schema: &str, table: &str) -> i64 {
    let id = format!("{database}\0{schema}\0{table}");
    i64::from(crc32(id.as_bytes()).wrapping_mul(GOLANG_MIGRATE_SALT))
}

pub const PRISMA: i64 = PRISMA_KEY;
pub const SQITCH: i64 = SQITCH_KEY;

pub(super) fn rules(a: &Situation, long_s: f64, out: &mut Vec<Finding>) {
    for s in &a.snapshot.sessions {
        let db = s.database.as_deref().unwrap_or("");
        for l in s.locks.iter().filter(|l| l.locktype == "advisory") {
            let tool = bigint_key(l).and_then(|k| tool_for(k, db));
            if !l.granted {
                out.push(waiter(a, s, l, tool));
            } else if let Some(tool) = tool
                && a.graph.waiters_of(s.pid).next().is_none()
                && s.state.as_deref() != Some("active")
                && a.age_of(s.state_change).is_some_and(|age| age >= long_s)
            {
                out.push(idle_holder(a, s, l, tool));
            }
        }
    }
}

/// How the holder looks: what it does and whether its client seems to be gone.
fn holder_state(a: &Situation, h: &Session) -> String {
    let since = opt_age(a.age_of(h.state_change));
    match h.state.as_deref() {
        Some("active") => format!(
            "active for {since}, running {}",
            crate::humanize::first_line(h.query.as_deref().unwrap_or("?"), 60)
        ),
        Some(state) if state.starts_with("idle") => format!(
            "{state} for {since}; its client seems gone or stuck (a session lock lasts until the backend exits, and a killed client's backend lingers until TCP keepalive notices)"
        ),
        Some(state) => format!("{state} for {since}"),
        None => "state hidden from this role".into(),
    }
}

fn who(s: &Session) -> String {
    let app = s.application_name.as_deref().filter(|a| !a.is_empty());
    match (app, s.client_addr.as_deref()) {
        (Some(app), Some(addr)) => format!("{app} from {addr}"),
        (Some(app), None) => app.to_string(),
        (None, Some(addr)) => format!("client {addr}"),
        (None, None) => s.user.as_deref().unwrap_or("?").to_string(),
    }
}

fn waiter(a: &Situation, s: &Session, l: &Lock, tool: Option<&str>) -> Finding {
    let holders: Vec<&Session> = s.blocked_by.iter().filter_map(|&p| a.session(p)).collect();
    let key = key_label(l);
    let by = holders
        .iter()
        .map(|h| format!("pid {} ({}, {})", h.pid, who(h), holder_state(a, h)))
        .collect::<Vec<_>>()
        .join("; ");
    let by = if by.is_empty() {
        "a session this role cannot see".into()
    } else {
        by
    };
    let mut pids = vec![s.pid];
    pids.extend(holders.iter().map(|h| h.pid));
    let terminate = holders
        .iter()
        .filter(|h| h.state.as_deref() != Some("active"))
        .map(|h| format!("SELECT pg_terminate_backend({})", h.pid))
        .collect::<Vec<_>>();
    let act = if terminate.is_empty() {
        "The holder is working: it is most likely the deploy in progress, so let it finish."
            .to_string()
    } else {
        format!(
            "An idle holder will not release it: terminate it ({}); ending the session releases a session-level advisory lock, and pg_advisory_unlock works only from the holder's own session.",
            terminate.join("; ")
        )
    };
    match tool {
        Some(tool) => finding(
            "migration_tool_lock",
            Severity::Critical,
            pids,
            format!(
                "pid {} ({}) waits {} for {tool}'s migration lock (advisory key {key}), held by {by}",
                s.pid,
                who(s),
                opt_age(a.wait_age(s))
            ),
            format!(
                "{tool} lets one deploy run at a time; this one waits for the previous one. {act} Run deploys with a client-side timeout, and set tcp_keepalives_idle on the server so that a dead client's session ends in minutes, not hours."
            ),
        ),
        None => finding(
            "advisory_lock_wait",
            Severity::Warning,
            pids,
            format!(
                "pid {} ({}) waits {} for advisory lock {key}, held by {by}",
                s.pid,
                who(s),
                opt_age(a.wait_age(s))
            ),
            format!("No known migration tool uses this key; it is the application's own. {act}"),
        ),
    }
}

fn idle_holder(a: &Situation, s: &Session, l: &Lock, tool: &str) -> Finding {
    finding(
        "migration_tool_lock",
        Severity::Warning,
        vec![s.pid],
        format!(
            "pid {} ({}) holds {tool}'s migration lock (advisory key {}) while {}",
            s.pid,
            who(s),
            key_label(l),
            holder_state(a, s)
        ),
        format!(
            "A deploy that finds the lock taken fails or retries (Flyway and Rails use a try-lock) or waits. If no deploy is running, terminate the holder (SELECT pg_terminate_backend({})) to release it.",
            s.pid
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_the_tools_libraries() {
        // The check value of CRC-32/IEEE; Java's documented hashCode of "hello".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(java_hash("hello"), 99_162_322);
        // Computed apart, with Python's zlib: crc32(b"app_production") * 2053462845, and
        // crc32(b"shop\0public\0schema_migrations") * 1486364155 mod 2**32.
        assert_eq!(rails_key("app_production"), 4615154450383096620);
        assert_eq!(
            golang_migrate_key("shop", "public", "schema_migrations"),
            3209697524
        );
    }

    #[test]
    fn keys_name_their_tools() {
        assert_eq!(tool_for(72_707_369, "x"), Some("Prisma Migrate"));
        assert_eq!(tool_for(75_474_063, "x"), Some("Sqitch"));
        assert_eq!(
            tool_for(flyway_key("public", "flyway_schema_history"), "x"),
            Some("Flyway")
        );
        assert_eq!(
            tool_for(rails_key("shop"), "shop"),
            Some("Rails (Active Record)")
        );
        assert_eq!(tool_for(rails_key("shop"), "other"), None);
        assert_eq!(
            tool_for(
                golang_migrate_key("shop", "public", "schema_migrations"),
                "shop"
            ),
            Some("golang-migrate")
        );
        assert_eq!(tool_for(42, "shop"), None);
    }

    #[test]
    fn bigint_keys_are_rebuilt_from_both_halves() {
        let l = Lock {
            locktype: "advisory".into(),
            classid: Some(18028),
            objid: Some(2_939_283_077),
            objsubid: Some(1),
            ..Default::default()
        };
        assert_eq!(bigint_key(&l), Some((18028i64 << 32) | 2_939_283_077));
    }
}
