//! PostgreSQL's table-level lock modes and their conflict matrix
//! (docs: "Explicit Locking", table "Conflicting Lock Modes").

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    pub fn parse(name: &str) -> Option<LockMode> {
        Some(match name {
            "AccessShareLock" => LockMode::AccessShare,
            "RowShareLock" => LockMode::RowShare,
            "RowExclusiveLock" => LockMode::RowExclusive,
            "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
            "ShareLock" => LockMode::Share,
            "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
            "ExclusiveLock" => LockMode::Exclusive,
            "AccessExclusiveLock" => LockMode::AccessExclusive,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// The abbreviation a narrow table uses, defined once here and listed in the README:
    /// Exclusive becomes Excl, Update becomes Upd, the Lock suffix goes.
    pub fn abbreviation(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShare",
            LockMode::RowShare => "RowShare",
            LockMode::RowExclusive => "RowExcl",
            LockMode::ShareUpdateExclusive => "ShareUpdExcl",
            LockMode::Share => "Share",
            LockMode::ShareRowExclusive => "ShareRowExcl",
            LockMode::Exclusive => "Excl",
            LockMode::AccessExclusive => "AccessExcl",
        }
    }

    pub fn conflicts_with(self, other: LockMode) -> bool {
        use LockMode::*;
        let set: &[LockMode] = match self {
            AccessShare => &[AccessExclusive],
            RowShare => &[Exclusive, AccessExclusive],
            RowExclusive => &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
            ShareUpdateExclusive => &[
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            Share => &[
                RowExclusive,
                ShareUpdateExclusive,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            ShareRowExclusive => &[
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            Exclusive => &[
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            AccessExclusive => &[
                AccessShare,
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
        };
        set.contains(&other)
    }

    /// Modes that stop ordinary INSERT/UPDATE/DELETE (which take RowExclusiveLock).
    pub fn blocks_writes(self) -> bool {
        self.conflicts_with(LockMode::RowExclusive)
    }

    /// Modes that stop even a plain SELECT.
    pub fn blocks_reads(self) -> bool {
        self.conflicts_with(LockMode::AccessShare)
    }
}

/// Whether two lock mode names conflict; unknown names (e.g. a future mode) are assumed
/// to conflict, because pg_blocking_pids already said they do.
pub fn modes_conflict(a: &str, b: &str) -> bool {
    match (LockMode::parse(a), LockMode::parse(b)) {
        (Some(x), Some(y)) => x.conflicts_with(y),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::LockMode::*;
    use super::*;

    const ALL: [LockMode; 8] = [
        AccessShare,
        RowShare,
        RowExclusive,
        ShareUpdateExclusive,
        Share,
        ShareRowExclusive,
        Exclusive,
        AccessExclusive,
    ];

    #[test]
    fn matrix_is_symmetric_and_matches_the_docs_counts() {
        for a in ALL {
            for b in ALL {
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a:?} {b:?}");
            }
        }
        // Row counts of the docs' table, from AccessShare to AccessExclusive.
        let counts: Vec<usize> = ALL
            .iter()
            .map(|a| ALL.iter().filter(|b| a.conflicts_with(**b)).count())
            .collect();
        assert_eq!(counts, vec![1, 2, 4, 5, 5, 6, 7, 8]);
    }

    #[test]
    fn names_round_trip() {
        for a in ALL {
            assert_eq!(LockMode::parse(a.name()), Some(a));
        }
        assert_eq!(LockMode::parse("SIReadLock"), None);
    }

    #[test]
    fn the_migration_case() {
        assert!(modes_conflict("AccessShareLock", "AccessExclusiveLock"));
        assert!(!modes_conflict("AccessShareLock", "RowExclusiveLock"));
        assert!(Share.blocks_writes() && !Share.blocks_reads());
        assert!(AccessExclusive.blocks_reads());
    }
}
