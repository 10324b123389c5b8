//! Several servers in one view (`--server`): one poller per server, each on its own
//! thread with its own connection and client-side deadline, so a slow or dead server never
//! delays the others. This keeps the latest word from each and says when it is stale.
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::analysis::Analysis;
use crate::model::ReplicaLink;
use crate::poller::{self, PollerCommand, PollerConfig, PollerEvent};

/// libpq keywords: "host=a port=5" is a connection string, "replica=host=a" a named one.
const CONNINFO_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "connect_timeout",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "application_name",
    "options",
    "service",
    "target_session_attrs",
    "channel_binding",
    "keepalives",
];

/// `--server [NAME=]CONN`: a name for the strip and the documents, and where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub name: Option<String>,
    pub conninfo: String,
}

impl ServerSpec {
    pub fn parse(arg: &str) -> ServerSpec {
        if let Some((name, rest)) = arg.split_once('=') {
            let is_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !CONNINFO_KEYWORDS.contains(&name.to_ascii_lowercase().as_str());
            if is_name && !rest.is_empty() {
                return ServerSpec {
                    name: Some(name.to_string()),
                    conninfo: rest.to_string(),
                };
            }
        }
        ServerSpec {
            name: None,
            conninfo: arg.to_string(),
        }
    }
}

/// CONN and every `--server`, each with a name: its own (NAME=CONN, the first CONN too)
/// or where it points (host:port/db, never a password). Only the connection strings the
/// user gave are used; nothing is discovered or guessed.
pub fn resolve_servers(
    conn: &crate::args::ConnArgs,
) -> anyhow::Result<Vec<(String, crate::db::conninfo::ConnParams)>> {
    use crate::db::conninfo::{Overrides, ProcessEnv, resolve};
    use anyhow::Context;
    let first = conn.conn.as_deref().map(ServerSpec::parse);
    let first_args = crate::args::ConnArgs {
        servers: Vec::new(),
        conn: first.as_ref().map(|s| s.conninfo.clone()),
        ..conn.clone()
    };
    let params = first_args.resolve()?;
    let name = first
        .and_then(|s| s.name)
        .unwrap_or_else(|| params.describe());
    let mut out = vec![(name, params)];
    for (i, arg) in conn.servers.iter().enumerate() {
        let spec = ServerSpec::parse(arg);
        let label = spec.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        let params = resolve(Some(&spec.conninfo), &Overrides::default(), &ProcessEnv)
            .with_context(|| format!("--server {label}"))?;
        out.push((spec.name.unwrap_or_else(|| params.describe()), params));
    }
    Ok(out)
}

/// What the strip shows of one server, from its poller's latest events.
#[derive(Debug)]
pub struct ServerStatus {
    pub name: String,
    pub analysis: Option<Box<Analysis>>,
    pub last_update: Option<Instant>,
    pub last_error: Option<String>,
}

impl ServerStatus {
    pub fn new(name: String) -> ServerStatus {
        ServerStatus {
            name,
            analysis: None,
            last_update: None,
            last_error: None,
        }
    }

    pub fn apply(&mut self, event: PollerEvent, now: Instant) {
        match event {
            PollerEvent::Polled { analysis, .. } => {
                self.analysis = Some(analysis);
                self.last_update = Some(now);
                self.last_error = None;
            }
            PollerEvent::Failed(why) => self.last_error = Some(why),
            PollerEvent::Connected { .. } | PollerEvent::Signalled { .. } => {}
        }
    }

    /// No poll has arrived for three intervals (at least two seconds): what is shown is
    /// old, whether the server is down, frozen or slow.
    pub fn is_stale(&self, now: Instant, interval: Duration) -> bool {
        let limit = crate::poller::stale_after(interval);
        self.last_update
            .is_none_or(|t| now.saturating_duration_since(t) > limit)
    }

    pub fn role(&self) -> Option<&'static str> {
        Some(
            self.analysis
                .as_ref()?
                .snapshot
                .replication
                .as_ref()?
                .role(),
        )
    }

    pub fn waiting(&self) -> Option<usize> {
        self.analysis.as_ref().map(|a| a.waiting_count())
    }

    pub fn migration_blocked(&self) -> bool {
        self.analysis
            .as_ref()
            .is_some_and(|a| !a.blocked_migrations().is_empty())
    }

    /// Seconds behind, on a standby: the age of the last replayed commit at the poll.
    pub fn replay_lag_s(&self) -> Option<f64> {
        let a = self.analysis.as_ref()?;
        let standby = a.snapshot.replication.as_ref()?.standby.as_ref()?;
        standby.replay_delay_s(a.snapshot.taken_at)
    }

    pub fn downstream(&self) -> &[ReplicaLink] {
        self.analysis
            .as_ref()
            .and_then(|a| a.snapshot.replication.as_ref())
            .map(|r| r.downstream.as_slice())
            .unwrap_or(&[])
    }
}

/// The standbys that the named servers' pg_stat_replication lists but the user did not
/// name: shown as "not connected". Never connected to: their credentials are not ours
/// to guess. A link whose application_name is a server's name is that server; of the
/// rest, as many as there are named standbys not matched so are taken to be those (a
/// walsender does not say which standby it feeds; set application_name in the standby's
/// primary_conninfo to its --server name to match exactly).
pub fn not_connected(servers: &[ServerStatus]) -> Vec<&ReplicaLink> {
    let named = |link: &ReplicaLink| {
        servers
            .iter()
            .any(|s| link.application_name.as_deref() == Some(s.name.as_str()))
    };
    let links: Vec<&ReplicaLink> = servers.iter().flat_map(|s| s.downstream()).collect();
    let matched: Vec<&str> = links
        .iter()
        .filter(|l| named(l))
        .filter_map(|l| l.application_name.as_deref())
        .collect();
    let standbys_unmatched = servers
        .iter()
        .filter(|s| s.role() == Some("standby") && !matched.contains(&s.name.as_str()))
        .count();
    links
        .into_iter()
        .filter(|l| !named(l))
        .skip(standbys_unmatched)
        .collect()
}

pub struct Fleet {
    pub servers: Vec<ServerStatus>,
    pub interval: Duration,
    events: Vec<mpsc::Receiver<PollerEvent>>,
    commands: Vec<mpsc::Sender<PollerCommand>>,
}

impl Fleet {
    /// One poller thread per `(name, config)`.
    pub fn spawn(servers: Vec<(String, PollerConfig)>) -> Fleet {
        let interval = servers
            .iter()
            .map(|(_, c)| c.interval)
            .min()
            .unwrap_or(Duration::from_secs(1));
        let mut fleet = Fleet {
            servers: Vec::new(),
            interval,
            events: Vec::new(),
            commands: Vec::new(),
        };
        for (name, config) in servers {
            let (events, commands) = poller::spawn(config);
            fleet.servers.push(ServerStatus::new(name));
            fleet.events.push(events);
            fleet.commands.push(commands);
        }
        fleet
    }

    /// Takes every event that has arrived, without waiting on any server.
    pub fn drain(&mut self, now: Instant) {
        for (status, events) in self.servers.iter_mut().zip(&mut self.events) {
            while let Ok(event) = events.try_recv() {
                status.apply(event, now);
            }
        }
    }

    /// The command channel of server `index`, to signal or refresh that one only.
    pub fn commands(&self, index: usize) -> Option<&mpsc::Sender<PollerCommand>> {
        self.commands.get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Replication, ServerInfo, Snapshot};

    #[test]
    fn a_name_is_only_taken_when_it_is_not_a_connection_keyword() {
        assert_eq!(
            ServerSpec::parse("replica=host=10.0.0.2 port=5432"),
            ServerSpec {
                name: Some("replica".into()),
                conninfo: "host=10.0.0.2 port=5432".into()
            }
        );
        assert_eq!(ServerSpec::parse("host=a port=5").name, None);
        assert_eq!(ServerSpec::parse("postgres://u@h/db").name, None);
        assert_eq!(
            ServerSpec::parse("shard-2=postgres://u@h/db").conninfo,
            "postgres://u@h/db"
        );
        assert_eq!(ServerSpec::parse("dbname=x").name, None);
    }

    fn server(name: &str, replication: Replication) -> ServerStatus {
        let snapshot = Snapshot {
            taken_at: chrono::Utc::now(),
            server: ServerInfo {
                version: "15".into(),
                version_num: 150000,
                max_connections: 100,
                query_size: None,
            },
            sessions: Vec::new(),
            replication: Some(replication),
        };
        let mut s = ServerStatus::new(name.into());
        s.analysis = Some(Box::new(crate::analysis::analyze(
            snapshot,
            &crate::analysis::Options::default(),
        )));
        s
    }

    #[test]
    fn standbys_the_user_did_not_name_are_offered_as_not_connected() {
        let link = |app: &str| ReplicaLink {
            application_name: Some(app.into()),
            client_addr: Some("10.0.0.9".into()),
            ..Default::default()
        };
        let primary = Replication {
            in_recovery: false,
            standby: None,
            downstream: vec![link("walreceiver"), link("walreceiver"), link("eu")],
        };
        let standby = Replication {
            in_recovery: true,
            ..Default::default()
        };
        let servers = [
            server("main", primary.clone()),
            server("replica", standby.clone()),
            server("eu", standby),
        ];
        // "eu" matches by name, "replica" takes one of the two walreceivers.
        let left = not_connected(&servers);
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0].application_name.as_deref(), Some("walreceiver"));
        assert_eq!(not_connected(&[server("main", primary)]).len(), 3);
    }

    #[test]
    fn a_server_without_a_poll_for_three_intervals_is_stale() {
        let t0 = Instant::now();
        let mut s = ServerStatus::new("a".into());
        assert!(s.is_stale(t0, Duration::from_secs(1)));
        s.last_update = Some(t0);
        assert!(!s.is_stale(t0 + Duration::from_secs(3), Duration::from_secs(1)));
        assert!(s.is_stale(t0 + Duration::from_millis(3100), Duration::from_secs(1)));
        s.apply(PollerEvent::Failed("deadline".into()), t0);
        assert_eq!(s.last_error.as_deref(), Some("deadline"));
    }
}
