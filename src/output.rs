//! Writing evidence to disk: atomically, never over an existing file, and readable by
//! its owner only.
use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mode of every file pglocks writes. Snapshots, recordings and reports hold
/// statements with their literals (customer data, tokens) unless `--redact` was given,
/// so nobody else on the host may read them.
pub const PRIVATE: u32 = 0o600;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: already exists; pglocks never overwrites a file", .0.display())]
    Exists(PathBuf),
    #[error("{}: directory does not exist", .0.display())]
    NoDirectory(PathBuf),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Refuses a path `write_new` would refuse, before any slow work is done for it.
pub fn check_new(path: &Path) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(WriteError::NoDirectory(dir));
    }
    if path.exists() {
        return Err(WriteError::Exists(path.to_path_buf()));
    }
    Ok(())
}

/// Creates `path` for writing, only if it does not exist yet (O_CREAT | O_EXCL), with mode
/// 0600 whatever the umask. Every file pglocks writes is created here.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(PRIVATE)
        .open(path)?;
    // The umask can only take bits away from the mode above; a umask such as 0277 would
    // leave a file its owner cannot write. Set it exactly, on the descriptor (no race on
    // the path).
    file.set_permissions(Permissions::from_mode(PRIVATE))?;
    Ok(file)
}

/// Writes `contents` to a temporary file beside `path`, then links it into place only if
/// `path` does not exist yet, so a reader never sees half a file and nothing is replaced.
pub fn write_new(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    check_new(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pglocks-")
        .make_in(&dir, create_private)
        .map_err(io)?;
    tmp.write_all(contents).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            WriteError::Exists(path.to_path_buf())
        } else {
            io(e.error)
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let written = dir.path().join("snap.md");
        write_new(&written, b"x").unwrap();
        assert_eq!(mode(&written), 0o600);
        let created = dir.path().join("rec.jsonl");
        drop(create_private(&created).unwrap());
        assert_eq!(mode(&created), 0o600);
        assert_eq!(
            create_private(&created).unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn writes_once_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("snap.md");
        write_new(&p, b"first").unwrap();
        let err = write_new(&p, b"second").unwrap_err();
        assert!(matches!(err, WriteError::Exists(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "first");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        let missing = dir.path().join("nope").join("x.md");
        assert!(matches!(
            write_new(&missing, b"x"),
            Err(WriteError::NoDirectory(_))
        ));
    }
}
