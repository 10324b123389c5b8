//! Opening the monitor's connection: libpq's host fallbacks and password rules, a
//! connect timeout, then the session settings that keep the monitor harmless.
use std::time::Duration;

use tokio::time::timeout;
use tokio_postgres::{Client, Config, Statement};

use super::DbError;
use super::conninfo::{ConnParams, Env, Host, SslMode};
use super::statement::{bounded, column};
use super::tls;
use crate::model::ServerInfo;

#[derive(Debug, Clone, PartialEq)]
pub struct Privileges {
    pub role: String,
    pub is_superuser: bool,
    /// pg_read_all_stats (part of pg_monitor): other roles' queries and states are visible.
    pub can_read_all_stats: bool,
    /// pg_signal_backend: may cancel or terminate other non-superuser roles' backends.
    pub can_signal: bool,
}

pub struct Connection {
    pub(super) client: Client,
    pub server: ServerInfo,
    pub monitor_pid: i32,
    pub privileges: Privileges,
    /// Where we are connected, for people: never contains the password.
    pub target: String,
    pub(super) poll: Statement,
    /// replication.sql and standby.sql (db/standby.rs).
    pub(super) replication: super::standby::Statements,
    /// Sessions in the last poll, to size the next one's vectors at once.
    pub(super) last_sessions: std::sync::atomic::AtomicUsize,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Connection {
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

pub async fn connect(params: &ConnParams, env: &(dyn Env + Sync)) -> Result<Connection, DbError> {
    let tls = tls::make_tls(params, env)?;
    let mut last: Option<DbError> = None;
    for host in &params.hosts {
        let target = format!("{}@{}:{}/{}", params.user, host, params.port, params.dbname);
        let mut cfg = Config::new();
        let mode = match host {
            Host::Tcp(name) => {
                cfg.host(name);
                params.sslmode
            }
            Host::Socket(dir) => {
                // libpq never negotiates TLS over a Unix socket.
                cfg.host_path(dir);
                SslMode::Disable
            }
        };
        cfg.port(params.port)
            .user(&params.user)
            .dbname(&params.dbname)
            .application_name(&params.application_name)
            .connect_timeout(params.connect_timeout);
        if let Some(pw) = params.password_for(host, env) {
            cfg.password(pw.expose());
        }
        cfg.ssl_mode(tls::tokio_postgres_sslmode(mode));
        let mut result = attempt(&cfg, &tls, params.connect_timeout, &target).await;
        // libpq's "allow": plain first, and TLS only if the server turned plain away
        // (a pg_hba.conf with hostssl lines only). tokio-postgres has no such mode.
        if mode == SslMode::Allow
            && let Err(Failure::Answered(_)) = &result
        {
            cfg.ssl_mode(tokio_postgres::config::SslMode::Require);
            result = attempt(&cfg, &tls, params.connect_timeout, &target).await;
        }
        match result {
            Ok((client, task)) => return prepare(client, task, target).await,
            // The server answered (bad password, no such database): another host of
            // the same list would not know better.
            Err(Failure::Answered(err)) => return Err(err),
            Err(Failure::Unreachable(err)) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| DbError::Connect {
        target: params.describe(),
        reason: "no host to try".into(),
    }))
}

enum Failure {
    /// The server itself refused: a bad password, no such database, pg_hba.conf.
    Answered(DbError),
    /// No server answered in time, or at all: the next host may.
    Unreachable(DbError),
}

async fn attempt(
    cfg: &Config,
    tls: &tokio_postgres_rustls::MakeRustlsConnect,
    within: Duration,
    target: &str,
) -> Result<(Client, tokio::task::JoinHandle<()>), Failure> {
    match timeout(within, cfg.connect(tls.clone())).await {
        Err(_) => Err(Failure::Unreachable(DbError::ConnectTimeout {
            target: target.to_string(),
            after: within,
        })),
        Ok(Err(e)) => {
            let err = DbError::Connect {
                target: target.to_string(),
                reason: DbError::from_pg(&e),
            };
            if e.as_db_error().is_some() {
                Err(Failure::Answered(err))
            } else {
                Err(Failure::Unreachable(err))
            }
        }
        Ok(Ok((client, conn))) => {
            let task = tokio::spawn(async move {
                // The error surfaces on the next query as a closed connection.
                let _ = conn.await;
            });
            Ok((client, task))
        }
    }
}

async fn prepare(
    client: Client,
    task: tokio::task::JoinHandle<()>,
    target: String,
) -> Result<Connection, DbError> {
    bounded(client.batch_execute(include_str!("../../queries/session_setup.sql"))).await?;
    let row = bounded(client.query_one(include_str!("../../queries/server_info.sql"), &[])).await?;
    let version: String = column(&row, "version")?;
    let server = ServerInfo {
        // "15.18 (Debian 15.18-0+deb12u1)": the packager's suffix is noise in a header.
        version: version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        version_num: column(&row, "version_num")?,
        max_connections: column(&row, "max_connections")?,
        query_size: Some(column(&row, "query_size")?),
    };
    let privileges = Privileges {
        role: column(&row, "role")?,
        is_superuser: column(&row, "is_superuser")?,
        can_read_all_stats: column(&row, "can_read_all_stats")?,
        can_signal: column(&row, "can_signal")?,
    };
    let monitor_pid: i32 = column(&row, "monitor_pid")?;
    // Prepared once: re-planning the catalog views costs about 0.2 ms per poll.
    let poll =
        bounded(client.prepare(&super::poll_sql::poll_statement(server.version_num))).await?;
    let replication = super::standby::Statements::prepare(&client).await?;
    Ok(Connection {
        replication,
        client,
        server,
        monitor_pid,
        privileges,
        target,
        poll,
        last_sessions: std::sync::atomic::AtomicUsize::new(0),
        task,
    })
}
