//! The password file (`~/.pgpass` or `PGPASSFILE`): libpq's format and matching rules.

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
    use super::pgpass_lookup;

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
}
