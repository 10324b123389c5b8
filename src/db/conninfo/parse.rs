//! Connection strings into values: a `postgres://` URI, libpq's `key=value` string or a
//! bare database name becomes one [`Layer`] of raw option values; ports, `sslmode` and
//! `connect_timeout` become typed values; and the errors of both, which never quote a
//! password.
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

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
    pub(super) fn unquoted(self) -> ConnInfoError {
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
pub(super) fn may_hold_password(s: &str) -> bool {
    // Decoded: `?pass%77ord=` is a password parameter too.
    let decoded = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
    decoded.to_lowercase().contains("password") || uri_body(s).is_some_and(|b| b.contains('@'))
}

/// Raw option values from one source. `Some("")` is kept distinct from
/// `None` because in libpq an explicit empty value hides lower-precedence
/// sources and then means "use the default".
#[derive(Debug, Default, Clone)]
pub(super) struct Layer {
    pub(super) host: Option<String>,
    pub(super) hostaddr: Option<String>,
    pub(super) port: Option<String>,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    pub(super) dbname: Option<String>,
    pub(super) sslmode: Option<String>,
    pub(super) sslrootcert: Option<String>,
    pub(super) application_name: Option<String>,
    pub(super) connect_timeout: Option<String>,
    pub(super) passfile: Option<String>,
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
    pub(super) fn over(self, lower: Layer) -> Layer {
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
}

pub(super) fn parse_port(raw: &str) -> Result<u16, ConnInfoError> {
    match raw.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(ConnInfoError::InvalidPort(raw.to_owned())),
    }
}

pub(super) fn parse_connect_timeout(raw: &str) -> Result<Duration, ConnInfoError> {
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
pub(super) fn is_conninfo(s: &str) -> bool {
    uri_body(s).is_some() || s.contains('=')
}

pub(super) fn parse_conn(s: &str) -> Result<Layer, ConnInfoError> {
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use crate::db::conninfo::test_env::*;
    use crate::db::conninfo::*;

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
    fn connect_timeout_zero_means_no_timeout() {
        assert_eq!(conn("connect_timeout=0").connect_timeout, Duration::MAX);
        assert_eq!(conn("connect_timeout=-3").connect_timeout, Duration::MAX);
        assert_eq!(
            conn("connect_timeout= 1").connect_timeout,
            Duration::from_secs(1)
        );
    }
}
