//! Connection parameters, resolved the way psql/libpq resolves them, so that a
//! user's existing `PG*` environment, `~/.pgpass` and connection strings work
//! unchanged.
//!
//! Everything that touches the process environment or the file system goes
//! through [`Env`], so the precedence rules can be tested without a real
//! environment.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Socket directories probed, in order, when no host is given anywhere
/// (Debian/Ubuntu packages use the first, upstream builds the second).
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_APPLICATION_NAME: &str = "pglocks";
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// libpq options we accept so that connection strings written for psql keep
/// working, but which make no difference to what pglocks does.
const IGNORED_OPTIONS: &[&str] = &[
    "options",
    "client_encoding",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "gsslib",
    "gssdelegation",
    "krbsrvname",
    "sslnegotiation",
    "sslcompression",
    "sslsni",
    "sslcertmode",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "min_protocol_version",
    "max_protocol_version",
    "load_balance_hosts",
];

/// libpq options that we cannot honour and where silently ignoring them would
/// change who we authenticate as, what we trust, or which server we end up on.
const UNSUPPORTED_OPTIONS: &[&str] = &[
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "service",
    "servicefile",
    "requirepeer",
    "require_auth",
    "target_session_attrs",
];

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = ConnInfoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(SslMode::Disable),
            "allow" => Ok(SslMode::Allow),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(ConnInfoError::InvalidSslMode(other.to_owned())),
        }
    }
}

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

/// The outside world, as far as connection resolution is concerned.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
    fn home(&self) -> Option<PathBuf>;
    fn socket_exists(&self, dir: &Path, port: u16) -> bool;
    /// Contents of a password file, or `None` if it is missing, unreadable
    /// or not private to its owner.
    fn read_passfile(&self, path: &Path) -> Option<String>;
}

/// The real process environment and file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }

    fn home(&self) -> Option<PathBuf> {
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            return Some(PathBuf::from(home));
        }
        // Services started without HOME still have a passwd entry, which is
        // where libpq looks.
        nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|user| user.dir)
    }

    fn socket_exists(&self, dir: &Path, port: u16) -> bool {
        dir.join(format!(".s.PGSQL.{port}")).exists()
    }

    fn read_passfile(&self, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() {
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // libpq refuses a password file others can read; doing the same
            // keeps us from using secrets the user did not mean to share.
            if meta.permissions().mode() & 0o077 != 0 {
                // libpq's own warning, so that a refused login explains itself; stderr is
                // still the plain terminal here (the TUI starts after connecting begins).
                eprintln!(
                    "pglocks: warning: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less; ignoring it",
                    path.display()
                );
                return None;
            }
        }
        std::fs::read_to_string(path).ok()
    }
}

/// Errors from parsing and resolving connection parameters. None of them
/// ever contains a password.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ConnInfoError {
    #[error("invalid connection string: {0}")]
    Syntax(String),
    #[error("invalid connection URI: {0}")]
    Uri(String),
    /// A URI complaint in fixed words, which may be shown whatever the URI holds.
    #[error("invalid connection URI: {0}")]
    UriShape(&'static str),
    #[error("unknown connection option \"{0}\"")]
    UnknownOption(String),
    #[error("connection option \"{0}\" is not supported by pglocks")]
    UnsupportedOption(String),
    #[error("invalid port \"{0}\"")]
    InvalidPort(String),
    #[error("could not match {ports} port numbers to {hosts} hosts")]
    PortCount { ports: usize, hosts: usize },
    #[error("hosts with different ports ({0}) are not supported; use one port for all hosts")]
    MixedPorts(String),
    #[error(
        "invalid sslmode \"{0}\" (expected disable, allow, prefer, require, verify-ca or verify-full)"
    )]
    InvalidSslMode(String),
    #[error("weak sslmode \"{0}\" may not be used with sslrootcert=system (use \"verify-full\")")]
    WeakSslModeWithSystemRoots(SslMode),
    #[error("invalid connect_timeout \"{0}\" (expected whole seconds)")]
    InvalidConnectTimeout(String),
    /// Any of the above for a string that holds a password: a malformed string may have
    /// split the password anywhere (`u:se?cret@h` reads "se" as a port), so nothing
    /// taken from it is quoted.
    #[error("{0} (the text is not quoted because the connection string holds a password)")]
    Unquoted(&'static str),
    #[error(
        "invalid connection string: unexpected text after the value of \"password\" (quote values that contain spaces)"
    )]
    AfterPassword,
}

impl ConnInfoError {
    /// The same complaint with every piece of the user's text left out.
    fn unquoted(self) -> ConnInfoError {
        ConnInfoError::Unquoted(match self {
            ConnInfoError::AfterPassword | ConnInfoError::UriShape(_) => return self,
            ConnInfoError::Syntax(_) => "invalid connection string",
            ConnInfoError::Uri(_) => "invalid connection URI",
            ConnInfoError::UnknownOption(_) => "unknown connection option",
            ConnInfoError::UnsupportedOption(_) => "a connection option pglocks does not support",
            ConnInfoError::InvalidPort(_) => "invalid port",
            ConnInfoError::PortCount { .. } => "the ports do not match the hosts",
            ConnInfoError::MixedPorts(_) => "hosts with different ports are not supported",
            ConnInfoError::InvalidSslMode(_) => {
                "invalid sslmode (expected disable, allow, prefer, require, verify-ca or verify-full)"
            }
            ConnInfoError::WeakSslModeWithSystemRoots(_) => {
                "sslrootcert=system needs sslmode=verify-full"
            }
            ConnInfoError::InvalidConnectTimeout(_) => {
                "invalid connect_timeout (expected whole seconds)"
            }
            ConnInfoError::Unquoted(what) => what,
        })
    }
}

/// Whether a connection string may carry a password, however malformed: a URI with an
/// "@" anywhere (user:password@host, wherever the parser would split it), or a conninfo
/// string that mentions the password keyword.
fn may_hold_password(s: &str) -> bool {
    // Decoded: `?pass%77ord=` is a password parameter too.
    let decoded = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
    decoded.to_lowercase().contains("password") || uri_body(s).is_some_and(|b| b.contains('@'))
}

/// Raw option values from one source. `Some("")` is kept distinct from
/// `None` because in libpq an explicit empty value hides lower-precedence
/// sources and then means "use the default".
#[derive(Debug, Default, Clone)]
struct Layer {
    host: Option<String>,
    hostaddr: Option<String>,
    port: Option<String>,
    user: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    application_name: Option<String>,
    connect_timeout: Option<String>,
    passfile: Option<String>,
}

impl Layer {
    fn set(&mut self, key: &str, value: String) -> Result<(), ConnInfoError> {
        let slot = match key {
            "host" => &mut self.host,
            "hostaddr" => &mut self.hostaddr,
            "port" => &mut self.port,
            "user" => &mut self.user,
            "password" => &mut self.password,
            "dbname" => &mut self.dbname,
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "application_name" => &mut self.application_name,
            "connect_timeout" => &mut self.connect_timeout,
            "passfile" => &mut self.passfile,
            // Ignoring "require" would quietly drop a protection the user asked for.
            "channel_binding" if value == "require" => {
                return Err(ConnInfoError::UnsupportedOption(
                    "channel_binding=require".to_owned(),
                ));
            }
            "channel_binding" => return Ok(()),
            k if IGNORED_OPTIONS.contains(&k) => return Ok(()),
            k if UNSUPPORTED_OPTIONS.contains(&k) => {
                return Err(ConnInfoError::UnsupportedOption(k.to_owned()));
            }
            k => return Err(ConnInfoError::UnknownOption(k.to_owned())),
        };
        *slot = Some(value);
        Ok(())
    }

    /// Fields set in `self` win over `lower`.
    fn over(self, lower: Layer) -> Layer {
        Layer {
            host: self.host.or(lower.host),
            hostaddr: self.hostaddr.or(lower.hostaddr),
            port: self.port.or(lower.port),
            user: self.user.or(lower.user),
            password: self.password.or(lower.password),
            dbname: self.dbname.or(lower.dbname),
            sslmode: self.sslmode.or(lower.sslmode),
            sslrootcert: self.sslrootcert.or(lower.sslrootcert),
            application_name: self.application_name.or(lower.application_name),
            connect_timeout: self.connect_timeout.or(lower.connect_timeout),
            passfile: self.passfile.or(lower.passfile),
        }
    }

    fn from_env(env: &dyn Env) -> Layer {
        Layer {
            host: env.var("PGHOST"),
            hostaddr: env.var("PGHOSTADDR"),
            port: env.var("PGPORT"),
            user: env.var("PGUSER"),
            password: env.var("PGPASSWORD"),
            dbname: env.var("PGDATABASE"),
            sslmode: env.var("PGSSLMODE"),
            sslrootcert: env.var("PGSSLROOTCERT"),
            application_name: env.var("PGAPPNAME"),
            connect_timeout: env.var("PGCONNECT_TIMEOUT"),
            passfile: env.var("PGPASSFILE"),
        }
    }
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
    let merged = top.over(from_conn).over(Layer::from_env(env));
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

fn parse_port(raw: &str) -> Result<u16, ConnInfoError> {
    match raw.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(ConnInfoError::InvalidPort(raw.to_owned())),
    }
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

fn parse_connect_timeout(raw: &str) -> Result<Duration, ConnInfoError> {
    let secs: i64 = raw
        .trim()
        .parse()
        .map_err(|_| ConnInfoError::InvalidConnectTimeout(raw.to_owned()))?;
    // libpq: zero or negative means wait indefinitely.
    Ok(match u64::try_from(secs) {
        Ok(secs) if secs > 0 => Duration::from_secs(secs),
        _ => Duration::MAX,
    })
}

const URI_PREFIXES: [&str; 2] = ["postgresql://", "postgres://"];

fn uri_body(s: &str) -> Option<&str> {
    URI_PREFIXES.iter().find_map(|p| s.strip_prefix(p))
}

/// psql's test for whether a database name argument is really a connection string.
fn is_conninfo(s: &str) -> bool {
    uri_body(s).is_some() || s.contains('=')
}

fn parse_conn(s: &str) -> Result<Layer, ConnInfoError> {
    if let Some(body) = uri_body(s) {
        parse_uri(body)
    } else if s.contains('=') {
        parse_keyword_value(s)
    } else {
        Ok(Layer {
            dbname: Some(s.to_owned()),
            ..Layer::default()
        })
    }
}

/// Parses libpq's `key=value key='quoted \' value'` syntax.
fn parse_keyword_value(s: &str) -> Result<Layer, ConnInfoError> {
    let mut layer = Layer::default();
    let mut chars = s.chars().peekable();
    let mut after_password = false;
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(layer);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            // `password=two words` would otherwise quote half the password back.
            if after_password {
                return Err(after_password_error());
            }
            return Err(ConnInfoError::Syntax(format!(
                "missing \"=\" after \"{key}\""
            )));
        }
        if key.is_empty() {
            return Err(ConnInfoError::Syntax(
                "missing option name before \"=\"".to_owned(),
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err(unterminated(&key)),
                    },
                    Some(c) => value.push(c),
                    None => return Err(unterminated(&key)),
                }
            }
            // libpq would start the next key right here, which for
            // `password='a'b` means quoting part of the password in an error.
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return Err(ConnInfoError::Syntax(format!(
                    "missing space after closing quote in value for \"{key}\""
                )));
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    // A trailing lone backslash is dropped, as in libpq.
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        match layer.set(&key, value) {
            Err(ConnInfoError::UnknownOption(_)) if after_password => {
                return Err(after_password_error());
            }
            other => other?,
        }
        after_password = key == "password";
    }
}

fn after_password_error() -> ConnInfoError {
    ConnInfoError::AfterPassword
}

fn unterminated(key: &str) -> ConnInfoError {
    ConnInfoError::Syntax(format!("unterminated quote in value for \"{key}\""))
}

fn uri_error(msg: &'static str) -> ConnInfoError {
    ConnInfoError::UriShape(msg)
}

/// Parses the part of a `postgres://` URI after the scheme.
fn parse_uri(body: &str) -> Result<Layer, ConnInfoError> {
    let mut layer = Layer::default();
    let (before_query, query) = match body.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (body, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (before_query, None),
    };

    // An unencoded "/" in a password (before or after an "@" inside it) splits the URI
    // in the wrong place and would make parts of the password show up as host, port or
    // database. A database name with an "@" must be percent-encoded too.
    if path.is_some_and(|p| p.contains('@')) {
        return Err(uri_error(
            "\"@\" after the host list; percent-encode \"/\", \"@\", \"?\" and \":\" \
             in the user name, password and database name (for example \"/\" as %2F)",
        ));
    }
    let hostlist = match authority.rsplit_once('@') {
        Some((userinfo, hostlist)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            let user = percent_decode(user, "user name")?;
            if !user.is_empty() {
                layer.user = Some(user);
            }
            if let Some(password) = password {
                layer.password = Some(percent_decode(password, "password")?);
            }
            hostlist
        }
        None => authority,
    };

    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for spec in hostlist.split(',') {
            let (host, port) = split_host_port(spec)?;
            hosts.push(host);
            ports.push(port);
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            layer.host = Some(hosts.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            layer.port = Some(ports.join(","));
        }
    }

    if let Some(path) = path {
        let dbname = percent_decode(path, "database name")?;
        if !dbname.is_empty() {
            layer.dbname = Some(dbname);
        }
    }

    for param in query.into_iter().flat_map(|q| q.split('&')) {
        if param.is_empty() {
            continue;
        }
        let Some((key, value)) = param.split_once('=') else {
            return Err(ConnInfoError::Uri(format!(
                "missing \"=\" in query parameter \"{param}\""
            )));
        };
        let key = percent_decode(key, "query parameter")?;
        let value = percent_decode(value, "query parameter")?;
        if key == "ssl" && value == "true" {
            // libpq accepts this JDBC spelling in URIs.
            layer.sslmode = Some("require".to_owned());
        } else {
            layer.set(&key, value)?;
        }
    }
    Ok(layer)
}

/// Splits `host[:port]` or `[ipv6][:port]`, percent-decoding the host.
fn split_host_port(spec: &str) -> Result<(String, String), ConnInfoError> {
    let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(uri_error("missing \"]\" after IPv6 host address"));
        };
        if host.is_empty() {
            return Err(uri_error("empty IPv6 host address"));
        }
        let port = match after {
            "" => "",
            _ => after
                .strip_prefix(':')
                .ok_or_else(|| uri_error("unexpected character after IPv6 host address"))?,
        };
        (percent_decode(host, "host")?, port)
    } else {
        let (host, port) = spec.split_once(':').unwrap_or((spec, ""));
        (percent_decode(host, "host")?, port)
    };
    if !port.is_empty() {
        parse_port(port)?;
    }
    Ok((host, port.to_owned()))
}

/// Strict percent-decoding: malformed escapes and NUL bytes are errors, as in
/// libpq, rather than being passed through. `what` names the URI part in the
/// error, which deliberately never quotes the text itself (it may be a password).
fn percent_decode(s: &str, what: &str) -> Result<String, ConnInfoError> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
            match hex {
                Some(b"00") => {
                    return Err(ConnInfoError::Uri(format!("forbidden %00 in {what}")));
                }
                Some(_) => i += 3,
                None => {
                    return Err(ConnInfoError::Uri(format!(
                        "invalid percent-encoding in {what}"
                    )));
                }
            }
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| ConnInfoError::Uri(format!("{what} is not valid UTF-8")))
}

/// Finds the password for a connection in `.pgpass` contents
/// (`hostname:port:database:username:password`, `*` matching any value in the
/// first four fields, `\:` and `\\` escapes, `#` comments). The first
/// matching line wins.
pub fn pgpass_lookup(
    contents: &str,
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    for line in contents.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut rest = Some(line);
        for wanted in [host, port.as_str(), dbname, user] {
            rest = rest.and_then(|r| match_pgpass_field(r, wanted));
        }
        if let Some(rest) = rest {
            let password = unescape_pgpass_field(rest);
            return (!password.is_empty()).then_some(password);
        }
    }
    None
}

/// If the field at the start of `line` matches `wanted`, returns what follows
/// its terminating colon.
fn match_pgpass_field<'a>(line: &'a str, wanted: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut wanted = wanted.chars();
    let mut chars = line.char_indices();
    loop {
        let (i, c) = chars.next()?;
        let literal = match c {
            ':' => {
                return match wanted.next() {
                    None => line.get(i + 1..),
                    Some(_) => None,
                };
            }
            '\\' => chars.next()?.1,
            c => c,
        };
        if wanted.next() != Some(literal) {
            return None;
        }
    }
}

/// The password is the rest of the line up to an unescaped colon.
fn unescape_pgpass_field(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        match c {
            ':' => break,
            '\\' => match chars.next() {
                Some(escaped) => out.push(escaped),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct FakeEnv {
        vars: HashMap<String, String>,
        home: Option<PathBuf>,
        sockets: Vec<(PathBuf, u16)>,
        passfiles: HashMap<PathBuf, String>,
    }

    impl FakeEnv {
        fn new() -> Self {
            FakeEnv {
                home: Some(PathBuf::from("/home/alice")),
                ..FakeEnv::default()
            }
            .var("USER", "alice")
        }

        fn var(mut self, key: &str, value: &str) -> Self {
            self.vars.insert(key.to_owned(), value.to_owned());
            self
        }

        fn socket(mut self, dir: &str, port: u16) -> Self {
            self.sockets.push((PathBuf::from(dir), port));
            self
        }

        fn passfile(mut self, path: &str, contents: &str) -> Self {
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

    fn tcp(name: &str) -> Host {
        Host::Tcp(name.to_owned())
    }

    fn sock(dir: &str) -> Host {
        Host::Socket(PathBuf::from(dir))
    }

    fn conn(s: &str) -> ConnParams {
        resolve(Some(s), &Overrides::default(), &FakeEnv::new()).unwrap()
    }

    fn conn_err(s: &str) -> ConnInfoError {
        resolve(Some(s), &Overrides::default(), &FakeEnv::new()).unwrap_err()
    }

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
    fn uri_full() {
        let p = conn(
            "postgresql://bob:s3cret@db.example.com:6543/app?sslmode=require&application_name=x&connect_timeout=12",
        );
        assert_eq!(p.hosts, vec![tcp("db.example.com")]);
        assert_eq!(p.port, 6543);
        assert_eq!(p.user, "bob");
        assert_eq!(p.password.as_ref().map(Password::expose), Some("s3cret"));
        assert_eq!(p.dbname, "app");
        assert_eq!(p.sslmode, SslMode::Require);
        assert_eq!(p.application_name, "x");
        assert_eq!(p.connect_timeout, Duration::from_secs(12));
    }

    #[test]
    fn uri_minimal_forms() {
        let p = conn("postgres://");
        assert_eq!(p.hosts, vec![tcp("localhost")]);
        assert_eq!(p.dbname, "alice");

        let p = conn("postgres:///app");
        assert_eq!(p.hosts, vec![tcp("localhost")]);
        assert_eq!(p.dbname, "app");

        let p = conn("postgres://db");
        assert_eq!(p.hosts, vec![tcp("db")]);
        assert_eq!(p.port, 5432);

        let p = conn("postgres://bob@db/");
        assert_eq!(p.user, "bob");
        assert_eq!(p.dbname, "bob");
        assert!(p.password.is_none());
    }

    #[test]
    fn uri_socket_dir() {
        let p = conn("postgresql://%2Fvar%2Frun%2Fpostgresql/app");
        assert_eq!(p.hosts, vec![sock("/var/run/postgresql")]);
        assert_eq!(p.dbname, "app");

        let p = conn("postgresql:///app?host=/tmp&port=5433");
        assert_eq!(p.hosts, vec![sock("/tmp")]);
        assert_eq!(p.port, 5433);
    }

    #[test]
    fn uri_ipv6() {
        let p = conn("postgres://[::1]:5433/app");
        assert_eq!(p.hosts, vec![tcp("::1")]);
        assert_eq!(p.port, 5433);
        assert_eq!(p.describe(), "alice@[::1]:5433/app");

        let p = conn("postgres://[fe80::1%25eth0]/app");
        assert_eq!(p.hosts, vec![tcp("fe80::1%eth0")]);
    }

    #[test]
    fn uri_multi_host() {
        let p = conn("postgres://a.example.com,b.example.com:5432,[::1]/app");
        assert_eq!(
            p.hosts,
            vec![tcp("a.example.com"), tcp("b.example.com"), tcp("::1")]
        );
        assert_eq!(p.port, 5432);

        let p = conn("postgres://a:6000,b:6000/app");
        assert_eq!(p.hosts, vec![tcp("a"), tcp("b")]);
        assert_eq!(p.port, 6000);

        // A host without a port gets 5432, which then disagrees with the other.
        assert_eq!(
            conn_err("postgres://a:6000,b/app"),
            ConnInfoError::MixedPorts("6000,5432".to_owned())
        );
    }

    #[test]
    fn uri_percent_decoding() {
        let p = conn("postgres://b%40b:p%3Aw%2Fd%25@db/my%20db?application_name=a%26b");
        assert_eq!(p.user, "b@b");
        assert_eq!(p.password.as_ref().map(Password::expose), Some("p:w/d%"));
        assert_eq!(p.dbname, "my db");
        assert_eq!(p.application_name, "a&b");

        let p = conn("postgres://u:pa:ss@db/app");
        assert_eq!(p.password.as_ref().map(Password::expose), Some("pa:ss"));
    }

    #[test]
    fn uri_query_params() {
        let p = conn(
            "postgres://db/app?user=bob&password=pw&sslrootcert=%2Fca.pem&passfile=/pp&options=-cfoo%3Dbar&ssl=true&hostaddr=10.0.0.1",
        );
        assert_eq!(p.user, "bob");
        assert_eq!(p.password.as_ref().map(Password::expose), Some("pw"));
        assert_eq!(p.sslrootcert.as_deref(), Some("/ca.pem"));
        assert_eq!(p.passfile, Some(PathBuf::from("/pp")));
        assert_eq!(p.sslmode, SslMode::Require);
        // host wins over hostaddr.
        assert_eq!(p.hosts, vec![tcp("db")]);

        let p = conn("postgres:///app?hostaddr=10.0.0.1");
        assert_eq!(p.hosts, vec![tcp("10.0.0.1")]);

        // Query parameters override the URI's own parts.
        let p = conn("postgres://db:5432/app?port=6000&dbname=other");
        assert_eq!(p.port, 6000);
        assert_eq!(p.dbname, "other");
    }

    #[test]
    fn keyword_value() {
        let p = conn(
            "host=db.example.com port=6543 user=bob password=pw dbname=app sslmode=verify-ca sslrootcert=/ca.pem",
        );
        assert_eq!(p.hosts, vec![tcp("db.example.com")]);
        assert_eq!(p.port, 6543);
        assert_eq!(p.user, "bob");
        assert_eq!(p.password.as_ref().map(Password::expose), Some("pw"));
        assert_eq!(p.dbname, "app");
        assert_eq!(p.sslmode, SslMode::VerifyCa);
        assert_eq!(p.sslrootcert.as_deref(), Some("/ca.pem"));
    }

    #[test]
    fn keyword_value_quoting_and_spacing() {
        let p = conn(
            r"  host = /tmp   password='it\'s'  dbname='my db' application_name='a \'b\' \\c' user=x\ y ",
        );
        assert_eq!(p.hosts, vec![sock("/tmp")]);
        assert_eq!(p.dbname, "my db");
        assert_eq!(p.application_name, r"a 'b' \c");
        assert_eq!(p.user, "x y");
        assert_eq!(p.password.as_ref().map(Password::expose), Some("it's"));

        let p = conn("host=a,b port=5433 dbname=''");
        assert_eq!(p.hosts, vec![tcp("a"), tcp("b")]);
        assert_eq!(p.port, 5433);
        assert_eq!(p.dbname, "alice");

        let p = conn("options='-c statement_timeout=5s' keepalives=1 channel_binding=prefer");
        assert_eq!(p.dbname, "alice");
    }

    #[test]
    fn bare_word_is_dbname() {
        let p = conn("app");
        assert_eq!(p.dbname, "app");
        assert_eq!(p.hosts, vec![tcp("localhost")]);
        let p = resolve(Some(""), &Overrides::default(), &FakeEnv::new()).unwrap();
        assert_eq!(p.dbname, "alice");
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
    fn connect_timeout_zero_means_no_timeout() {
        assert_eq!(conn("connect_timeout=0").connect_timeout, Duration::MAX);
        assert_eq!(conn("connect_timeout=-3").connect_timeout, Duration::MAX);
        assert_eq!(
            conn("connect_timeout= 1").connect_timeout,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn errors() {
        let cases = [
            (
                "host='db",
                "invalid connection string: unterminated quote in value for \"host\"",
            ),
            (
                "host='db\\",
                "invalid connection string: unterminated quote in value for \"host\"",
            ),
            ("port=abc", "invalid port \"abc\""),
            ("port=0", "invalid port \"0\""),
            ("port=70000", "invalid port \"70000\""),
            ("postgres://db:abc/app", "invalid port \"abc\""),
            (
                "sslmode=foo",
                "invalid sslmode \"foo\" (expected disable, allow, prefer, require, verify-ca or verify-full)",
            ),
            ("hots=db", "unknown connection option \"hots\""),
            (
                "postgres://db/app?hots=x",
                "unknown connection option \"hots\"",
            ),
            (
                "sslcert=/x.pem",
                "connection option \"sslcert\" is not supported by pglocks",
            ),
            (
                "channel_binding=require",
                "connection option \"channel_binding=require\" is not supported by pglocks",
            ),
            (
                "host=db user",
                "invalid connection string: missing \"=\" after \"user\"",
            ),
            (
                "host='a'b",
                "invalid connection string: missing space after closing quote in value for \"host\"",
            ),
            (
                "password=two words",
                "invalid connection string: unexpected text after the value of \"password\" (quote values that contain spaces)",
            ),
            (
                "=db",
                "invalid connection string: missing option name before \"=\"",
            ),
            (
                "connect_timeout=soon",
                "invalid connect_timeout \"soon\" (expected whole seconds)",
            ),
            (
                "host=a,b,c port=1,2",
                "could not match 2 port numbers to 3 hosts",
            ),
            (
                "postgres://[::1/app",
                "invalid connection URI: missing \"]\" after IPv6 host address",
            ),
            (
                "postgres://[::1]x/app",
                "invalid connection URI: unexpected character after IPv6 host address",
            ),
            (
                "postgres://db/a%zzb",
                "invalid connection URI: invalid percent-encoding in database name",
            ),
            (
                "postgres://db/a%00b",
                "invalid connection URI: forbidden %00 in database name",
            ),
            (
                "postgres://db/app?sslmode",
                "invalid connection URI: missing \"=\" in query parameter \"sslmode\"",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(conn_err(input).to_string(), expected, "input: {input}");
        }

        let env = FakeEnv::new().var("PGPORT", "x");
        let err = resolve(None, &Overrides::default(), &env).unwrap_err();
        assert_eq!(err.to_string(), "invalid port \"x\"");
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
    fn sslmode_roundtrip() {
        for mode in [
            SslMode::Disable,
            SslMode::Allow,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(mode.to_string().parse::<SslMode>().unwrap(), mode);
        }
    }

    #[test]
    fn host_display() {
        assert_eq!(tcp("db").to_string(), "db");
        assert_eq!(sock("/tmp").to_string(), "/tmp");
    }

    #[test]
    fn pgpass_matching() {
        let file = "\
# comment:*:*:*:nope
db.example.com:5432:app:alice:first
*:*:*:alice:second
db.example.com:5432:app:alice:never
*:5433:*:*:port5433
";
        assert_eq!(
            pgpass_lookup(file, "db.example.com", 5432, "app", "alice").as_deref(),
            Some("first")
        );
        assert_eq!(
            pgpass_lookup(file, "other", 5432, "app", "alice").as_deref(),
            Some("second")
        );
        assert_eq!(
            pgpass_lookup(file, "other", 5433, "x", "bob").as_deref(),
            Some("port5433")
        );
        assert_eq!(pgpass_lookup(file, "other", 5432, "x", "bob"), None);
        // The comment line must not act as a wildcard entry.
        assert_eq!(pgpass_lookup(file, "# comment", 5432, "x", "y"), None);
    }

    #[test]
    fn pgpass_escapes() {
        let file = "\
\\:\\:1:5432:a\\\\b:u:p\\:w\\\\d:ignored
fe80\\:\\:2:5432:*:*:x
h:5432:*:*:trailing\r
";
        assert_eq!(
            pgpass_lookup(file, "::1", 5432, "a\\b", "u").as_deref(),
            Some("p:w\\d")
        );
        assert_eq!(
            pgpass_lookup(file, "fe80::2", 5432, "d", "u").as_deref(),
            Some("x")
        );
        assert_eq!(
            pgpass_lookup(file, "h", 5432, "d", "u").as_deref(),
            Some("trailing")
        );
        // A literal "*" inside a field is not a wildcard.
        assert_eq!(pgpass_lookup("h*:5432:*:*:x", "hx", 5432, "d", "u"), None);
        // Short lines never match.
        assert_eq!(pgpass_lookup("h:5432:d", "h", 5432, "d", "u"), None);
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

    #[cfg(unix)]
    #[test]
    fn process_env_rejects_shared_passfile() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("pglocks-pgpass-{}", std::process::id()));
        std::fs::write(&path, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(ProcessEnv.read_passfile(&path), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            ProcessEnv.read_passfile(&path).as_deref(),
            Some("*:*:*:*:pw\n")
        );
        std::fs::remove_file(&path).unwrap();
        assert_eq!(ProcessEnv.read_passfile(&path), None);
    }
}
