//! The outside world as far as connection resolution goes: the `PG*` variables, the home
//! directory, the socket files and the password file, all behind [`Env`] so the precedence
//! rules are tested without a real environment.
use std::path::{Path, PathBuf};

use super::parse::Layer;

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

/// The `PG*` variables as one layer of raw values.
pub(super) fn pg_vars(env: &dyn Env) -> Layer {
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

#[cfg(test)]
mod tests {
    use super::{Env, ProcessEnv};

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
