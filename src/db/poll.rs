//! One poll: one prepared statement (and the replication statements pipelined beside it),
//! one round trip, rows into a Snapshot.
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use tokio::time::timeout;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};

use super::DbError;
use super::connect::Connection;
use super::statement::CLIENT_DEADLINE;
use crate::model::{Lock, Progress, Session, Snapshot, Text, fold_parallel_workers};

impl Connection {
    /// `database` restricts the listing (not the graph) to one database's sessions.
    pub async fn poll(&self, database: Option<&str>) -> Result<Snapshot, DbError> {
        // Sent together, so the server receives them in one round trip (tokio-postgres
        // pipelines requests that are in flight at the same time).
        let (polled, replication) = tokio::join!(
            timeout(CLIENT_DEADLINE, self.read_poll(database)),
            self.replication.read(&self.client)
        );
        let (mut sessions, taken_at) = polled.map_err(|_| DbError::Deadline(CLIENT_DEADLINE))??;
        // Unknown rather than a failed poll: the wait tree matters more.
        let replication = replication.ok();
        if let Some(r) = &replication {
            super::standby::attach_replay_wait(&mut sessions, r);
        }
        Ok(Snapshot {
            // With no rows there are no ages to measure, so the local clock will do.
            taken_at: taken_at.unwrap_or_else(Utc::now),
            server: self.server.clone(),
            sessions: fold_parallel_workers(sessions),
            replication,
        })
    }

    /// Rows are decoded as they arrive: holding all of them first doubled the memory that a
    /// poll of a thousand sessions needs.
    async fn read_poll(
        &self,
        database: Option<&str>,
    ) -> Result<(Vec<Session>, Option<DateTime<Utc>>), DbError> {
        let c = Columns::of(self.poll.columns())?;
        let query_failed = |e: tokio_postgres::Error| DbError::query(&e);
        let unexpected =
            |e: tokio_postgres::Error| DbError::Query(format!("unexpected poll row: {e}"));
        let rows = self
            .client
            .query_raw(&self.poll, [database])
            .await
            .map_err(query_failed)?;
        let mut rows = std::pin::pin!(rows);
        let mut taken_at: Option<DateTime<Utc>> = None;
        let mut sessions = Sessions::with_capacity(self.last_sessions.load(Ordering::Relaxed));
        while let Some(row) = rows.try_next().await.map_err(query_failed)? {
            if taken_at.is_none() {
                taken_at = row.try_get(c.taken_at).map_err(unexpected)?;
            }
            if let Some((pid, lock, held)) = lock(&row, &c).map_err(unexpected)? {
                sessions.attach(pid, lock, held);
                continue;
            }
            let mut s = decode(&row, &c).map_err(unexpected)?;
            // The monitor can appear as a blocker of catalog waits; it is never the story.
            s.blocked_by.retain(|&p| p != self.monitor_pid);
            sessions.push(s);
        }
        let sessions = sessions.finish();
        self.last_sessions.store(sessions.len(), Ordering::Relaxed);
        Ok((sessions, taken_at))
    }
}

// The cap is part of what a Session says (model.rs); poll.sql spells the same number.
pub use crate::model::LOCKS_LISTED_PER_SESSION;

/// Declares where each column sits in the poll's rows. Looking every column up by name in
/// every row cost more than decoding it.
macro_rules! columns {
    ($($name:ident),* $(,)?) => {
        struct Columns {
            $($name: usize,)*
        }

        impl Columns {
            fn of(columns: &[tokio_postgres::Column]) -> Result<Columns, DbError> {
                let find = |name: &str| {
                    columns
                        .iter()
                        .position(|c| c.name() == name)
                        .ok_or_else(|| DbError::Query(format!("the poll returns no column {name}")))
                };
                Ok(Columns {
                    $($name: find(stringify!($name))?,)*
                })
            }
        }
    };
}

columns!(
    pid,
    leader_pid,
    usename,
    datname,
    application_name,
    client_addr,
    backend_type,
    state,
    wait_event_type,
    wait_event,
    query,
    backend_start,
    xact_start,
    query_start,
    state_change,
    is_superuser,
    blocked_by,
    lock_locktype,
    lock_mode,
    lock_granted,
    lock_database,
    lock_relation,
    lock_relation_name,
    lock_page,
    lock_tuple,
    lock_virtualxid,
    lock_transactionid,
    lock_classid,
    lock_objid,
    lock_objsubid,
    lock_waitstart,
    lock_reltuples,
    lock_relpages,
    lock_held,
    progress_command,
    progress_phase,
    progress_relation,
    progress_done,
    progress_total,
    progress_unit,
    progress_lockers_done,
    progress_lockers_total,
    progress_current_locker_pid,
    progress_xid_age,
    progress_freeze_max_age,
    progress_deadlock_timeout,
    taken_at,
);

/// Text that may not be valid UTF-8: a SQL_ASCII database passes client bytes through
/// unchecked, and one odd statement must not make every poll fail.
struct Lossy(Text);

impl<'a> FromSql<'a> for Lossy {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        // Valid UTF-8 is the rule; CompactString's own lossy path copies chunk by chunk and
        // cost a seventh of a refresh's CPU when used for every value.
        Ok(Lossy(match std::str::from_utf8(raw) {
            Ok(s) => Text::new(s),
            Err(_) => Text::from(String::from_utf8_lossy(raw)),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR)
    }
}

fn text(row: &Row, column: usize) -> Result<Option<Text>, tokio_postgres::Error> {
    Ok(row.try_get::<_, Option<Lossy>>(column)?.map(|Lossy(s)| s))
}

fn decode(row: &Row, c: &Columns) -> Result<Session, tokio_postgres::Error> {
    let blocked_by: Option<Vec<i32>> = row.try_get(c.blocked_by)?;
    Ok(Session {
        pid: row.try_get(c.pid)?,
        leader_pid: row.try_get(c.leader_pid)?,
        user: text(row, c.usename)?,
        database: text(row, c.datname)?,
        application_name: text(row, c.application_name)?,
        client_addr: text(row, c.client_addr)?,
        backend_type: text(row, c.backend_type)?,
        state: text(row, c.state)?,
        wait_event_type: text(row, c.wait_event_type)?,
        wait_event: text(row, c.wait_event)?,
        query: text(row, c.query)?.map(crate::redact::secrets),
        backend_start: row.try_get(c.backend_start)?,
        xact_start: row.try_get(c.xact_start)?,
        query_start: row.try_get(c.query_start)?,
        state_change: row.try_get(c.state_change)?,
        is_superuser: row.try_get(c.is_superuser)?,
        blocked_by: blocked_by.unwrap_or_default(),
        locks: Vec::new(),
        locks_unlisted: 0,
        parallel_workers: 0,
        progress: progress(row, c)?.map(Box::new),
    })
}

fn progress(row: &Row, c: &Columns) -> Result<Option<Progress>, tokio_postgres::Error> {
    let Some(command) = text(row, c.progress_command)? else {
        return Ok(None);
    };
    Ok(Some(Progress {
        command,
        phase: text(row, c.progress_phase)?.unwrap_or_default(),
        relation: text(row, c.progress_relation)?,
        unit: text(row, c.progress_unit)?.unwrap_or_default(),
        done: row.try_get(c.progress_done)?,
        total: row.try_get(c.progress_total)?,
        lockers_done: row.try_get(c.progress_lockers_done)?,
        lockers_total: row.try_get(c.progress_lockers_total)?,
        current_locker_pid: row
            .try_get::<_, Option<i64>>(c.progress_current_locker_pid)?
            .and_then(|p| i32::try_from(p).ok())
            .filter(|&p| p != 0),
        xid_age: row.try_get(c.progress_xid_age)?,
        freeze_max_age: row.try_get(c.progress_freeze_max_age)?,
        deadlock_timeout_ms: text(row, c.progress_deadlock_timeout)?
            .as_deref()
            .and_then(setting_ms),
        rate_per_s: None,
        eta_s: None,
    }))
}

/// A time setting as current_setting() prints it ("1s", "500ms", "2min"), in milliseconds.
fn setting_ms(text: &str) -> Option<i64> {
    let digits = text.trim_start_matches(|c: char| c.is_ascii_digit());
    let n: i64 = text[..text.len() - digits.len()].parse().ok()?;
    let scale = match digits {
        "" | "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// A lock row of the poll (lock_locktype set), with the pid it belongs to.
fn lock(row: &Row, c: &Columns) -> Result<Option<(i32, Lock, u64)>, tokio_postgres::Error> {
    let Some(locktype) = text(row, c.lock_locktype)? else {
        return Ok(None);
    };
    let lock = Lock {
        locktype,
        mode: text(row, c.lock_mode)?.unwrap_or_default(),
        granted: row
            .try_get::<_, Option<bool>>(c.lock_granted)?
            .unwrap_or_default(),
        database: row.try_get(c.lock_database)?,
        relation: row.try_get(c.lock_relation)?,
        relation_name: text(row, c.lock_relation_name)?,
        page: row.try_get(c.lock_page)?,
        tuple: row.try_get(c.lock_tuple)?,
        virtualxid: text(row, c.lock_virtualxid)?,
        transactionid: text(row, c.lock_transactionid)?,
        classid: row.try_get(c.lock_classid)?,
        objid: row.try_get(c.lock_objid)?,
        objsubid: row.try_get(c.lock_objsubid)?,
        waitstart: row.try_get(c.lock_waitstart)?,
        reltuples: row.try_get::<_, Option<f32>>(c.lock_reltuples)?.map(widen),
        relpages: row.try_get(c.lock_relpages)?,
    };
    let held = row
        .try_get::<_, Option<i64>>(c.lock_held)?
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    Ok(Some((row.try_get(c.pid)?, lock, held)))
}

/// The sessions of a poll as their rows arrive, each lock going straight to its session.
/// Sessions come first in the poll's output, but nothing here depends on it: a lock whose
/// session has not arrived yet waits in `pending`. Moving ~850 lock rows through a second
/// vector and a second pass was a visible share of a refresh's memory copying.
struct Sessions {
    list: Vec<Session>,
    index: foldhash::HashMap<i32, usize>,
    pending: Vec<(i32, Lock)>,
    /// pg_locks rows per pid, as the poll counted them before its cap.
    held: foldhash::HashMap<i32, u64>,
}

impl Sessions {
    /// `n` is the last poll's count: a few more sessions than that must not double the
    /// vector, which would hold twice the memory for the life of the analysis.
    fn with_capacity(n: usize) -> Sessions {
        Sessions {
            list: Vec::with_capacity(n + n / 16),
            index: foldhash::HashMap::with_capacity_and_hasher(n, Default::default()),
            pending: Vec::new(),
            held: foldhash::HashMap::default(),
        }
    }

    fn push(&mut self, s: Session) {
        self.index.insert(s.pid, self.list.len());
        self.list.push(s);
    }

    fn attach(&mut self, pid: i32, lock: Lock, held: u64) {
        // Every lock row carries its session's count; only capped sessions need it kept.
        if held > LOCKS_LISTED_PER_SESSION {
            self.held.insert(pid, held);
        }
        match self.index.get(&pid) {
            Some(&i) => self.list[i].locks.push(lock),
            None => self.pending.push((pid, lock)),
        }
    }

    /// Locks of a backend that left between the two reads have no session and are dropped.
    fn finish(mut self) -> Vec<Session> {
        for (pid, lock) in std::mem::take(&mut self.pending) {
            if let Some(&i) = self.index.get(&pid) {
                self.list[i].locks.push(lock);
            }
        }
        for (pid, held) in std::mem::take(&mut self.held) {
            if let Some(&i) = self.index.get(&pid) {
                let s = &mut self.list[i];
                s.locks_unlisted = held.saturating_sub(s.locks.len() as u64);
            }
        }
        // The first poll after connecting grows by doubling; give the slack back (in place).
        if self.list.capacity() > self.list.len() + self.list.len() / 8 + 16 {
            self.list.shrink_to_fit();
        }
        self.list
    }
}

/// pg_class.reltuples is a real. Widened through its shortest decimal form, it reads as the
/// number PostgreSQL prints (123.4, not 123.40000152587890625).
fn widen(x: f32) -> f64 {
    if x.fract() == 0.0 {
        f64::from(x)
    } else {
        x.to_string().parse().unwrap_or(f64::from(x))
    }
}

#[cfg(test)]
mod tests {
    use super::{LOCKS_LISTED_PER_SESSION, Sessions, setting_ms, widen};
    use crate::model::{Lock, Session};

    fn lock(mode: &str) -> Lock {
        Lock {
            locktype: "relation".into(),
            mode: mode.into(),
            ..Default::default()
        }
    }

    #[test]
    fn locks_reach_their_session_in_any_row_order() {
        let mut s = Sessions::with_capacity(0);
        s.attach(2, lock("AccessShareLock"), 2);
        s.push(Session {
            pid: 1,
            ..Default::default()
        });
        s.attach(1, lock("RowExclusiveLock"), 1);
        s.push(Session {
            pid: 2,
            ..Default::default()
        });
        s.attach(2, lock("ExclusiveLock"), 2);
        // A backend that left between pg_stat_activity and pg_locks: its locks are dropped.
        s.attach(3, lock("AccessExclusiveLock"), 1);
        let sessions = s.finish();
        let modes =
            |i: usize| -> Vec<&str> { sessions[i].locks.iter().map(|l| l.mode.as_str()).collect() };
        assert_eq!(sessions.len(), 2);
        assert_eq!(modes(0), ["RowExclusiveLock"]);
        // Arrival order within a session is kept for the locks that came after it; one
        // that came before its session follows them.
        assert_eq!(modes(1), ["ExclusiveLock", "AccessShareLock"]);
    }

    #[test]
    fn the_statement_caps_locks_as_the_decoder_counts_them() {
        let sql = include_str!("../../queries/poll.sql");
        let n = LOCKS_LISTED_PER_SESSION;
        for cap in [
            format!("h.n <= {n}"),
            format!("h.n > {n}"),
            format!("LIMIT {n}"),
        ] {
            assert!(sql.contains(&cap), "poll.sql must cap at {n}: {cap}");
        }
    }

    #[test]
    fn a_capped_session_says_how_many_locks_are_unlisted() {
        let mut s = Sessions::with_capacity(1);
        s.push(Session {
            pid: 7,
            ..Default::default()
        });
        for _ in 0..3 {
            s.attach(7, lock("ExclusiveLock"), 50_000);
        }
        let sessions = s.finish();
        assert_eq!(sessions[0].locks.len(), 3);
        assert_eq!(sessions[0].locks_unlisted, 49_997);
    }

    #[test]
    fn time_settings_read_as_milliseconds() {
        assert_eq!(setting_ms("1s"), Some(1_000));
        assert_eq!(setting_ms("500ms"), Some(500));
        assert_eq!(setting_ms("2min"), Some(120_000));
        assert_eq!(setting_ms("1h"), Some(3_600_000));
        assert_eq!(setting_ms("fast"), None);
    }

    #[test]
    fn reltuples_widen_to_the_number_postgres_prints() {
        assert_eq!(widen(123.4), 123.4);
        assert_eq!(widen(2_000_000.0), 2_000_000.0);
        assert_eq!(widen(-1.0), -1.0);
        assert_eq!(widen(0.1), 0.1);
    }
}
