//! Connection parameters, resolved the way psql/libpq resolves them, so that a
//! user's existing `PG*` environment, `~/.pgpass` and connection strings work
//! unchanged.
//!
//! This file is the public face and the precedence: [`resolve`] merges the layers (flags,
//! connection string, `PG*` environment, defaults) into [`ConnParams`]. `parse` reads a
//! connection string into a layer, `env` is the outside world behind [`Env`] (so the
//! precedence rules are tested without a real environment), and `pgpass` finds a password
//! in the password file.
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod env;
mod parse;
mod pgpass;

pub use env::{Env, ProcessEnv};
pub use parse::{ConnInfoError, SslMode};
pub use pgpass::pgpass_lookup;

use parse::{Layer, is_conninfo, may_hold_password, parse_conn, parse_connect_timeout, parse_port};

/// Socket directories probed, in order, when no host is given anywhere
/// (Debian/Ubuntu packages use the first, upstream builds the second).
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_APPLICATION_NAME: &str = "pglocks";
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One candidate server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// Host name or IP address (IPv6 without brackets).
    Tcp(String),
    /// Directory containing the `.s.PGSQL.<port>` socket.
    Socket(PathBuf),
}

impl Host {
    fn parse(value: &str) -> Host {
        if value.starts_with('/') {
            Host::Socket(PathBuf::from(value))
        } else {
            Host::Tcp(value.to_owned())
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Tcp(name) => f.write_str(name),
            Host::Socket(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// A password that stays out of logs, error messages and `{:?}` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(password: impl Into<String>) -> Self {
        Password(password.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Password(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Fully resolved connection parameters.
#[derive(Debug, Clone)]
pub struct ConnParams {
    /// Candidates, tried in order by the caller.
    pub hosts: Vec<Host>,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    /// Explicit password (connection string or PGPASSWORD); `~/.pgpass` is
    /// consulted per host by [`ConnParams::password_for`].
    pub password: Option<Password>,
    pub passfile: Option<PathBuf>,
    pub sslmode: SslMode,
    /// A path, or the literal `system`.
    pub sslrootcert: Option<String>,
    pub application_name: String,
    /// libpq's "wait forever" (`connect_timeout=0`) is `Duration::MAX`, so the
    /// value can always be handed to a timer as it is.
    pub connect_timeout: std::time::Duration,
}

impl ConnParams {
    /// The explicit password if there is one, else the first matching
    /// `~/.pgpass` entry for this host.
    pub fn password_for(&self, host: &Host, env: &dyn Env) -> Option<Password> {
        if let Some(password) = &self.password {
            return Some(password.clone());
        }
        let contents = env.read_passfile(self.passfile.as_deref()?)?;
        let hostname = match host {
            Host::Tcp(name) => name.as_str(),
            // libpq matches socket connections against "localhost".
            Host::Socket(_) => "localhost",
        };
        pgpass_lookup(&contents, hostname, self.port, &self.dbname, &self.user).map(Password)
    }

    /// `user@host[,host...]:port/dbname`, for messages. Never includes the password.
    pub fn describe(&self) -> String {
        let hosts = self
            .hosts
            .iter()
            .map(|host| match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
        format!("{}@{}:{}/{}", self.user, hosts, self.port, self.dbname)
    }
}

/// psql's `-h`, `-p`, `-U` and `-d`.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
    /// Like psql, this may itself be a connection string or URI.
    pub dbname: Option<String>,
}

/// Resolves the parameters for a connection: `overrides` (psql's -h/-p/-U/-d)
/// win over `conn` (URI, `key=value` string or bare database name), which
/// wins over the `PG*` environment variables, which win over the defaults.
pub fn resolve(
    conn: Option<&str>,
    overrides: &Overrides,
    env: &dyn Env,
) -> Result<ConnParams, ConnInfoError> {
    let secret = conn.is_some_and(may_hold_password)
        || overrides.dbname.as_deref().is_some_and(may_hold_password);
    resolve_layers(conn, overrides, env).map_err(|e| if secret { e.unquoted() } else { e })
}

fn resolve_layers(
    conn: Option<&str>,
    overrides: &Overrides,
    env: &dyn Env,
) -> Result<ConnParams, ConnInfoError> {
    let mut top = Layer {
        host: overrides.host.clone(),
        port: overrides.port.clone(),
        user: overrides.user.clone(),
        ..Layer::default()
    };
    match overrides.dbname.as_deref() {
        Some(d) if is_conninfo(d) => top = top.over(parse_conn(d)?),
        Some(d) => top.dbname = Some(d.to_owned()),
        None => {}
    }
    let from_conn = match conn {
        Some(c) if !c.is_empty() => parse_conn(c)?,
        _ => Layer::default(),
    };
    let merged = top.over(from_conn).over(env::pg_vars(env));
    finish(merged, env)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn finish(layer: Layer, env: &dyn Env) -> Result<ConnParams, ConnInfoError> {
    // libpq connects to hostaddr but verifies and looks up .pgpass by host;
    // with a single address field, host is the one that keeps those right.
    let host_spec = non_empty(layer.host).or(non_empty(layer.hostaddr));
    let host_entries: Vec<Option<Host>> = match &host_spec {
        Some(spec) => spec
            .split(',')
            .map(|h| (!h.is_empty()).then(|| Host::parse(h)))
            .collect(),
        None => vec![None],
    };
    let port = resolve_port(layer.port.as_deref(), host_entries.len())?;

    let mut hosts = Vec::new();
    for entry in host_entries {
        match entry {
            Some(host) => hosts.push(host),
            None => hosts.extend(default_hosts(port, env)),
        }
    }

    let user = non_empty(layer.user)
        .or_else(|| non_empty(env.var("USER")))
        .or_else(|| non_empty(env.var("LOGNAME")))
        .unwrap_or_else(|| "postgres".to_owned());
    let dbname = non_empty(layer.dbname).unwrap_or_else(|| user.clone());
    let password = non_empty(layer.password).map(Password);
    let passfile = non_empty(layer.passfile)
        .map(PathBuf::from)
        .or_else(|| env.home().map(|home| home.join(".pgpass")));
    let sslrootcert = non_empty(layer.sslrootcert);
    let system_roots = sslrootcert.as_deref() == Some("system");
    let sslmode = match non_empty(layer.sslmode) {
        Some(mode) => mode.parse()?,
        // libpq's default: trusting the system CAs only makes sense with host name checks.
        None if system_roots => SslMode::VerifyFull,
        None => SslMode::Prefer,
    };
    if system_roots && sslmode != SslMode::VerifyFull {
        return Err(ConnInfoError::WeakSslModeWithSystemRoots(sslmode));
    }
    let application_name =
        non_empty(layer.application_name).unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_owned());
    let connect_timeout = match non_empty(layer.connect_timeout) {
        Some(raw) => parse_connect_timeout(&raw)?,
        None => DEFAULT_CONNECT_TIMEOUT,
    };

    Ok(ConnParams {
        hosts,
        port,
        user,
        dbname,
        password,
        passfile,
        sslmode,
        sslrootcert,
        application_name,
        connect_timeout,
    })
}

fn default_hosts(port: u16, env: &dyn Env) -> Vec<Host> {
    DEFAULT_SOCKET_DIRS
        .iter()
        .map(Path::new)
        .filter(|dir| env.socket_exists(dir, port))
        .map(|dir| Host::Socket(dir.to_path_buf()))
        .chain(std::iter::once(Host::Tcp("localhost".to_owned())))
        .collect()
}

/// libpq allows one port for all hosts or one per host. ConnParams carries a
/// single port, so per-host lists are only accepted when they agree.
fn resolve_port(raw: Option<&str>, host_count: usize) -> Result<u16, ConnInfoError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(DEFAULT_PORT);
    };
    let ports = raw
        .split(',')
        .map(|p| {
            if p.is_empty() {
                Ok(DEFAULT_PORT)
            } else {
                parse_port(p)
            }
        })
        .collect::<Result<Vec<u16>, _>>()?;
    if ports.len() != 1 && ports.len() != host_count {
        return Err(ConnInfoError::PortCount {
            ports: ports.len(),
            hosts: host_count,
        });
    }
    let first = ports.first().copied().unwrap_or(DEFAULT_PORT);
    if ports.iter().any(|&p| p != first) {
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        return Err(ConnInfoError::MixedPorts(list));
    }
    Ok(first)
}

/// A made-up environment for the tests of every part, and the short ways to resolve in it.
#[cfg(test)]
mod test_env {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::{ConnInfoError, ConnParams, Env, Host, Overrides, resolve};

    #[derive(Default)]
    pub(super) struct FakeEnv {
        pub(super) vars: HashMap<String, String>,
        pub(super) home: Option<PathBuf>,
        pub(super) sockets: Vec<(PathBuf, u16)>,
        pub(super) passfiles: HashMap<PathBuf, String>,
    }

    impl FakeEnv {
        pub(super) fn new() -> Self {
            FakeEnv {
                home: Some(PathBuf::from("/home/alice")),
                ..FakeEnv::default()
            }
            .var("USER", "alice")
        }

        pub(super) fn var(mut self, key: &str, value: &str) -> Self {
            self.vars.insert(key.to_owned(), value.to_owned());
            self
        }

        pub(super) fn socket(mut self, dir: &str, port: u16) -> Self {
            self.sockets.push((PathBuf::from(dir), port));
            self
        }

        pub(super) fn passfile(mut self, path: &str, contents: &str) -> Self {
            self.passfiles
                .insert(PathBuf::from(path), contents.to_owned());
            self
        }
    }

    impl Env for FakeEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.vars.get(key).cloned()
        }
        fn home(&self) -> Option<PathBuf> {
            self.home.clone()
        }
        fn socket_exists(&self, dir: &Path, port: u16) -> bool {
            self.sockets.iter().any(|(d, p)| d == dir && *p == port)
        }
        fn read_passfile(&self, path: &Path) -> Option<String> {
            self.passfiles.get(path).cloned()
        }
    }

    pub(super) fn tcp(name: &str) -> Host {
        Host::Tcp(name.to_owned())
    }

    pub(super) fn sock(dir: &str) -> Host {
        Host::Socket(PathBuf::from(dir))
    }

    pub(super) fn conn(s: &str) -> ConnParams {
        resolve(Some(s), &Overrides::default(), &FakeEnv::new()).unwrap()
    }

    pub(super) fn conn_err(s: &str) -> ConnInfoError {
        resolve(Some(s), &Overrides::default(), &FakeEnv::new()).unwrap_err()
    }
}

#[cfg(test)]
mod tests {
    use super::test_env::{FakeEnv, conn, conn_err, sock, tcp};
    use super::*;

    #[test]
    fn defaults() {
        let p = resolve(None, &Overrides::default(), &FakeEnv::new()).unwrap();
        assert_eq!(p.hosts, vec![tcp("localhost")]);
        assert_eq!(p.port, 5432);
        assert_eq!(p.user, "alice");
        assert_eq!(p.dbname, "alice");
        assert!(p.password.is_none());
        assert_eq!(p.passfile, Some(PathBuf::from("/home/alice/.pgpass")));
        assert_eq!(p.sslmode, SslMode::Prefer);
        assert_eq!(p.sslrootcert, None);
        assert_eq!(p.application_name, "pglocks");
        assert_eq!(p.connect_timeout, Duration::from_secs(5));
    }

    #[test]
    fn default_user_falls_back_to_logname_then_postgres() {
        let env = FakeEnv {
            home: None,
            ..FakeEnv::default()
        };
        let p = resolve(None, &Overrides::default(), &env).unwrap();
        assert_eq!(p.user, "postgres");
        assert_eq!(p.dbname, "postgres");
        assert_eq!(p.passfile, None);

        let env = env.var("LOGNAME", "bob");
        let p = resolve(None, &Overrides::default(), &env).unwrap();
        assert_eq!(p.user, "bob");

        let env = env.var("USER", "carol");
        let p = resolve(None, &Overrides::default(), &env).unwrap();
        assert_eq!(p.user, "carol");
    }

    #[test]
    fn default_hosts_prefer_existing_sockets_in_order() {
        let env = FakeEnv::new()
            .socket("/tmp", 5432)
            .socket("/var/run/postgresql", 5432);
        let p = resolve(None, &Overrides::default(), &env).unwrap();
        assert_eq!(
            p.hosts,
            vec![sock("/var/run/postgresql"), sock("/tmp"), tcp("localhost")]
        );

        let env = FakeEnv::new().socket("/tmp", 5432);
        let p = resolve(None, &Overrides::default(), &env).unwrap();
        assert_eq!(p.hosts, vec![sock("/tmp"), tcp("localhost")]);

        // The socket file name depends on the port.
        let env = FakeEnv::new()
            .socket("/tmp", 5433)
            .socket("/var/run/postgresql", 5432);
        let p = resolve(Some("port=5433"), &Overrides::default(), &env).unwrap();
        assert_eq!(p.hosts, vec![sock("/tmp"), tcp("localhost")]);
    }

    #[test]
    fn precedence() {
        let env = FakeEnv::new()
            .var("PGHOST", "envhost")
            .var("PGPORT", "1111")
            .var("PGUSER", "envuser")
            .var("PGDATABASE", "envdb")
            .var("PGPASSWORD", "envpw")
            .var("PGPASSFILE", "/env/pgpass")
            .var("PGSSLMODE", "require")
            .var("PGSSLROOTCERT", "/env/ca.pem")
            .var("PGAPPNAME", "envapp")
            .var("PGCONNECT_TIMEOUT", "7");

        // Environment over defaults.
        let p = resolve(None, &Overrides::default(), &env).unwrap();
        assert_eq!(p.hosts, vec![tcp("envhost")]);
        assert_eq!(p.port, 1111);
        assert_eq!(p.user, "envuser");
        assert_eq!(p.dbname, "envdb");
        assert_eq!(p.password.as_ref().map(Password::expose), Some("envpw"));
        assert_eq!(p.passfile, Some(PathBuf::from("/env/pgpass")));
        assert_eq!(p.sslmode, SslMode::Require);
        assert_eq!(p.sslrootcert.as_deref(), Some("/env/ca.pem"));
        assert_eq!(p.application_name, "envapp");
        assert_eq!(p.connect_timeout, Duration::from_secs(7));

        // CONN over environment, field by field.
        let c = "host=connhost user=connuser sslmode=disable";
        let p = resolve(Some(c), &Overrides::default(), &env).unwrap();
        assert_eq!(p.hosts, vec![tcp("connhost")]);
        assert_eq!(p.user, "connuser");
        assert_eq!(p.sslmode, SslMode::Disable);
        assert_eq!(p.port, 1111);
        assert_eq!(p.dbname, "envdb");

        // Overrides over CONN.
        let o = Overrides {
            host: Some("ohost".into()),
            port: Some("2222".into()),
            user: Some("ouser".into()),
            dbname: Some("odb".into()),
        };
        let c = "postgres://cu:cpw@chost:3333/cdb";
        let p = resolve(Some(c), &o, &env).unwrap();
        assert_eq!(p.hosts, vec![tcp("ohost")]);
        assert_eq!(p.port, 2222);
        assert_eq!(p.user, "ouser");
        assert_eq!(p.dbname, "odb");
        assert_eq!(p.password.as_ref().map(Password::expose), Some("cpw"));
    }

    #[test]
    fn dbname_defaults_to_resolved_user() {
        let o = Overrides {
            user: Some("ouser".into()),
            ..Overrides::default()
        };
        let p = resolve(None, &o, &FakeEnv::new()).unwrap();
        assert_eq!(p.dbname, "ouser");
    }

    #[test]
    fn dbname_override_may_be_a_connection_string() {
        let o = Overrides {
            host: Some("ohost".into()),
            dbname: Some("postgres://du@dhost/ddb".into()),
            ..Overrides::default()
        };
        let p = resolve(Some("host=chost user=cu dbname=cdb"), &o, &FakeEnv::new()).unwrap();
        assert_eq!(p.hosts, vec![tcp("ohost")]);
        assert_eq!(p.user, "du");
        assert_eq!(p.dbname, "ddb");
    }

    #[test]
    fn empty_value_hides_lower_layers_and_means_default() {
        let env = FakeEnv::new().var("PGHOST", "envhost").socket("/tmp", 5432);
        let p = resolve(Some("host="), &Overrides::default(), &env).unwrap();
        assert_eq!(p.hosts, vec![sock("/tmp"), tcp("localhost")]);
    }

    #[test]
    fn system_root_certs_imply_verify_full() {
        let p = conn("sslrootcert=system");
        assert_eq!(p.sslmode, SslMode::VerifyFull);
        assert_eq!(
            conn_err("sslrootcert=system sslmode=require").to_string(),
            "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")"
        );
    }

    #[test]
    fn password_never_shown() {
        let secret = "Hunter2Secret";
        let good = [
            format!("postgres://bob:{secret}@db.example.com/app"),
            format!("host=db password={secret}"),
            format!("host=db password='{secret}'"),
        ];
        for input in &good {
            let p = conn(input);
            assert_eq!(p.password.as_ref().map(Password::expose), Some(secret));
            let debug = format!("{p:?}");
            assert!(!debug.contains(secret), "{debug}");
            assert!(debug.contains("Password(***)"), "{debug}");
            assert!(!p.describe().contains(secret));
        }
        assert_eq!(conn(&good[0]).describe(), "bob@db.example.com:5432/app");

        let bad = [
            format!("postgres://bob:{secret}%zz@db/app"),
            format!("postgres://bob:{secret}%00@db/app"),
            format!("postgres://bob:{secret}@db:abc/app"),
            format!("postgres://bob:{secret}@[::1/app"),
            format!("postgres://bob:{secret}@db/app?hots=1"),
            // An unencoded "/" in the password.
            format!("postgres://bob:{secret}/x@db/app"),
            format!("postgres://bob:ab/{secret}@db/app"),
            format!("host=db password='{secret}"),
            format!("password={secret} port=abc"),
            format!("password={secret} sslmode=nope"),
            format!("password={secret} hots=1"),
            format!("password={secret} sslcert=x"),
            format!("password=two {secret}"),
            format!("password=two {secret}=x"),
            format!("password='two'{secret}"),
            format!("password='two'{secret}=x"),
        ];
        for input in &bad {
            let err = conn_err(input);
            let text = format!("{err} {err:?}");
            assert!(!text.contains(secret), "{input}: {text}");
        }
    }

    /// Issue 13.3: `postgres://u:se?cret@h/db` said `invalid port "se"`. A password made of
    /// distinctive upper-case words joined by the characters that split URIs and conninfo
    /// strings, inside random text: no word of it may reach an error or a description.
    mod secret_never_quoted {
        use super::*;
        use proptest::prelude::*;

        fn secret() -> impl Strategy<Value = (String, Vec<String>)> {
            (
                proptest::collection::vec("[A-Z]{5}", 1..4),
                proptest::collection::vec("[?/@:#&=%,' \\\\\\[\\]]{0,2}", 3),
            )
                .prop_map(|(words, seps)| {
                    let mut s = String::new();
                    for (i, w) in words.iter().enumerate() {
                        s.push_str(w);
                        s.push_str(&seps[i % seps.len()]);
                    }
                    (s, words)
                })
        }

        fn junk() -> impl Strategy<Value = String> {
            "[a-z0-9:/@?=&%,.' \\[\\]]{0,12}"
        }

        fn check(input: &str, words: &[String]) -> Result<(), TestCaseError> {
            let shown = match resolve(Some(input), &Overrides::default(), &FakeEnv::new()) {
                Ok(p) => format!("{} {p:?}", p.describe()),
                Err(e) => format!("{e} {e:?}"),
            };
            for w in words {
                prop_assert!(!shown.contains(w.as_str()), "{input:?} showed {w}: {shown}");
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn in_uris(user in "[a-z]{0,4}", (s, words) in secret(), host in junk(), query in junk()) {
                check(&format!("postgres://{user}:{s}@{host}"), &words)?;
                check(&format!("postgresql://{user}:{s}@{host}?{query}"), &words)?;
                check(&format!("postgres://{host}?{query}&password={s}&{query}"), &words)?;
            }

            #[test]
            fn in_conninfo(before in junk(), (s, words) in secret(), after in junk()) {
                check(&format!("{before} password={s} {after}"), &words)?;
                check(&format!("{before} password='{s}' {after}"), &words)?;
                check(&format!("host=db password = {s}{after}"), &words)?;
            }
        }
    }

    #[test]
    fn describe_sockets_and_lists() {
        let p = conn("postgres://%2Fvar%2Frun%2Fpostgresql/app");
        assert_eq!(p.describe(), "alice@/var/run/postgresql:5432/app");
        let p = conn("host=a,b user=postgres dbname=app");
        assert_eq!(p.describe(), "postgres@a,b:5432/app");
    }

    #[test]
    fn host_display() {
        assert_eq!(tcp("db").to_string(), "db");
        assert_eq!(sock("/tmp").to_string(), "/tmp");
    }

    #[test]
    fn password_for_uses_pgpass_per_host() {
        let env = FakeEnv::new().socket("/var/run/postgresql", 5432).passfile(
            "/home/alice/.pgpass",
            "localhost:5432:app:alice:sockpw\ndb2:5432:app:alice:db2pw\n",
        );
        let p = resolve(Some("dbname=app"), &Overrides::default(), &env).unwrap();
        assert_eq!(p.hosts, vec![sock("/var/run/postgresql"), tcp("localhost")]);
        let pw = p.password_for(&p.hosts[0], &env);
        assert_eq!(pw.as_ref().map(Password::expose), Some("sockpw"));
        assert_eq!(
            p.password_for(&tcp("db2"), &env)
                .as_ref()
                .map(Password::expose),
            Some("db2pw")
        );
        assert!(p.password_for(&tcp("db3"), &env).is_none());

        // An explicit password wins over the file.
        let p = resolve(
            Some("dbname=app password=explicit"),
            &Overrides::default(),
            &env,
        )
        .unwrap();
        assert_eq!(
            p.password_for(&tcp("db2"), &env)
                .as_ref()
                .map(Password::expose),
            Some("explicit")
        );

        // PGPASSFILE moves the file.
        let env = env
            .var("PGPASSFILE", "/elsewhere")
            .passfile("/elsewhere", "*:*:*:*:fromenv\n");
        let p = resolve(Some("dbname=app"), &Overrides::default(), &env).unwrap();
        assert_eq!(
            p.password_for(&tcp("db2"), &env)
                .as_ref()
                .map(Password::expose),
            Some("fromenv")
        );
    }
}
