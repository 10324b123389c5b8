//! Which server backends belong to the guarded command, and how each was recognised.
//! Backends of other processes are never taken for the command's: a TCP match is exact,
//! and the name rules only count backends that started after the attempt did.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::proc_net::Endpoint;
use crate::db::ClientBackend;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// One of the command's TCP connections (through /proc).
    Tcp,
    /// The application_name the guard set through PGAPPNAME.
    Appname,
    /// --migration-app
    App,
    /// --migration-user
    User,
}

impl Method {
    pub fn describe(self) -> &'static str {
        match self {
            Method::Tcp => "its TCP connection (/proc)",
            Method::Appname => "PGAPPNAME set by the guard",
            Method::App => "--migration-app",
            Method::User => "--migration-user",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub pid: i32,
    pub backend_start: Option<DateTime<Utc>>,
    pub method: Method,
}

/// How to recognise the command's backends during one attempt.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The application_name given through PGAPPNAME (unique to this run).
    pub appname: Option<String>,
    pub app: Option<String>,
    pub user: Option<String>,
    /// When the attempt began, by the server's clock; name matches must start later.
    pub since: Option<DateTime<Utc>>,
}

/// The command's backends among `listed`, each with the first method that matched it.
pub fn matching(
    listed: &[ClientBackend],
    endpoints: &BTreeSet<Endpoint>,
    rules: &Rules,
) -> BTreeMap<i32, Backend> {
    listed
        .iter()
        .filter_map(|b| {
            let method = method_of(b, endpoints, rules)?;
            Some((
                b.pid,
                Backend {
                    pid: b.pid,
                    backend_start: b.backend_start,
                    method,
                },
            ))
        })
        .collect()
}

fn method_of(b: &ClientBackend, endpoints: &BTreeSet<Endpoint>, rules: &Rules) -> Option<Method> {
    let tcp = match (
        b.client_addr,
        b.client_port.and_then(|p| u16::try_from(p).ok()),
    ) {
        (Some(addr), Some(port)) => endpoints.contains(&(addr, port)),
        _ => false,
    };
    if tcp {
        return Some(Method::Tcp);
    }
    let app = b.application_name.as_deref().unwrap_or_default();
    if rules.appname.as_deref().is_some_and(|a| a == app) {
        return Some(Method::Appname);
    }
    // A pre-existing session of the same application or role is somebody else's.
    let started_after = match (rules.since, b.backend_start) {
        (Some(since), Some(start)) => start >= since,
        _ => false,
    };
    if !started_after {
        return None;
    }
    if rules
        .app
        .as_deref()
        .is_some_and(|a| !a.is_empty() && app.contains(a))
    {
        return Some(Method::App);
    }
    if rules
        .user
        .as_deref()
        .is_some_and(|u| b.user.as_deref() == Some(u))
    {
        return Some(Method::User);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(pid: i32, port: i32, app: &str, user: &str, start_s: i64) -> ClientBackend {
        ClientBackend {
            pid,
            backend_start: Some(DateTime::UNIX_EPOCH + chrono::Duration::seconds(start_s)),
            client_addr: Some("127.0.0.1".parse().unwrap()),
            client_port: Some(port),
            application_name: Some(app.into()),
            user: Some(user.into()),
        }
    }

    #[test]
    fn each_rule_matches_only_its_own_and_names_the_method() {
        let listed = vec![
            backend(1, 40001, "psql", "app", 100),
            backend(2, 40002, "pglocks guard 7", "app", 100),
            backend(3, 40003, "flyway", "app", 100),
            backend(4, 40004, "flyway", "app", 5),
            backend(5, 40005, "other", "deploy", 100),
            backend(6, 40006, "other", "deploy", 5),
            backend(7, -1, "psql", "app", 100),
        ];
        let endpoints = BTreeSet::from([("127.0.0.1".parse().unwrap(), 40001)]);
        let rules = Rules {
            appname: Some("pglocks guard 7".into()),
            app: Some("flyway".into()),
            user: Some("deploy".into()),
            since: Some(DateTime::UNIX_EPOCH + chrono::Duration::seconds(50)),
        };
        let got: Vec<(i32, Method)> = matching(&listed, &endpoints, &rules)
            .into_values()
            .map(|b| (b.pid, b.method))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, Method::Tcp),
                (2, Method::Appname),
                (3, Method::App),
                (5, Method::User)
            ]
        );
    }
}
