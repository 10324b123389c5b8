//! The documentation each classification rule follows: the page under
//! https://www.postgresql.org/docs/current/ and the sentence (quoted or closely paraphrased)
//! that decides the lock or the work. Where the docs say nothing, `tablecmds.c` is named.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Doc {
    pub page: &'static str,
    pub rule: &'static str,
}

impl Doc {
    pub fn url(&self) -> String {
        format!("https://www.postgresql.org/docs/current/{}.html", self.page)
    }
}

const fn doc(page: &'static str, rule: &'static str) -> Doc {
    Doc { page, rule }
}

const ALTER: &str = "sql-altertable";

pub const ALTER_DEFAULT: Doc = doc(
    ALTER,
    "An ACCESS EXCLUSIVE lock is acquired unless explicitly noted.",
);
pub const ADD_COLUMN_FAST_DEFAULT: Doc = doc(
    ALTER,
    "When a column is added with ADD COLUMN and a non-volatile DEFAULT is specified, the default is evaluated at the time of the statement and the result stored in the table's metadata: no rewrite.",
);
pub const ADD_COLUMN_REWRITE: Doc = doc(
    ALTER,
    "Adding a column with a volatile DEFAULT (also identity, serial and stored generated columns) requires the entire table and its indexes to be rewritten.",
);
pub const ADD_NOT_NULL_SCAN: Doc = doc(
    ALTER,
    "Adding a CHECK or NOT NULL constraint requires scanning the table to verify that existing rows meet the constraint, but does not require a table rewrite.",
);
pub const ALTER_TYPE_REWRITE: Doc = doc(
    ALTER,
    "Changing the type of an existing column requires the entire table and its indexes to be rewritten, unless the old type is binary coercible to the new one and USING does not change the contents.",
);
pub const SET_NOT_NULL: Doc = doc(
    ALTER,
    "SET NOT NULL is checked by scanning the entire table; if a valid CHECK constraint exists which proves no NULL can exist, the table scan is skipped.",
);
pub const ADD_CHECK: Doc = doc(
    ALTER,
    "Scanning a large table to verify a new foreign key or check constraint can take a long time, and other updates to the table are locked out; NOT VALID skips the scan.",
);
pub const ADD_FOREIGN_KEY: Doc = doc(
    ALTER,
    "Addition of a foreign key constraint requires a SHARE ROW EXCLUSIVE lock on the referenced table, in addition to the lock on the table on which the constraint is declared.",
);
pub const VALIDATE_CONSTRAINT: Doc = doc(
    ALTER,
    "VALIDATE CONSTRAINT scans the table to validate a NOT VALID constraint and acquires only a SHARE UPDATE EXCLUSIVE lock on the table being altered.",
);
pub const ADD_INDEX_CONSTRAINT: Doc = doc(
    ALTER,
    "Adding a PRIMARY KEY, UNIQUE or EXCLUDE constraint builds its index under ACCESS EXCLUSIVE; USING INDEX adopts an index already built with CREATE INDEX CONCURRENTLY.",
);
pub const USING_INDEX: Doc = doc(
    ALTER,
    "ADD table_constraint_using_index adds a constraint based on an existing unique index, without blocking updates for an index build.",
);
pub const SET_STATISTICS: Doc = doc(
    ALTER,
    "SET STATISTICS acquires a SHARE UPDATE EXCLUSIVE lock.",
);
pub const ATTRIBUTE_OPTIONS: Doc = doc(
    ALTER,
    "Changing per-attribute options (SET/RESET ( attribute_option )) acquires a SHARE UPDATE EXCLUSIVE lock.",
);
pub const TRIGGERS: Doc = doc(
    ALTER,
    "ENABLE/DISABLE TRIGGER acquires a SHARE ROW EXCLUSIVE lock.",
);
pub const CLUSTER_ON: Doc = doc(
    ALTER,
    "CLUSTER ON and SET WITHOUT CLUSTER acquire a SHARE UPDATE EXCLUSIVE lock.",
);
pub const STORAGE_PARAMS: Doc = doc(
    ALTER,
    "SET ( storage_parameter ): SHARE UPDATE EXCLUSIVE for fillfactor, toast and autovacuum storage parameters and parallel_workers; ACCESS EXCLUSIVE for the others.",
);
pub const MOVES_DATA: Doc = doc(
    ALTER,
    "SET TABLESPACE, SET ACCESS METHOD and SET LOGGED/UNLOGGED write the table's data anew (AT_SetTableSpace, AT_SetLogged in tablecmds.c rewrite the heap).",
);
pub const ATTACH_PARTITION: Doc = doc(
    ALTER,
    "Attaching a partition acquires a SHARE UPDATE EXCLUSIVE lock on the parent table, in addition to the ACCESS EXCLUSIVE lock on the table being attached; the new partition is scanned unless a valid CHECK constraint implies the partition bound.",
);
pub const DETACH_PARTITION: Doc = doc(
    ALTER,
    "DETACH PARTITION takes ACCESS EXCLUSIVE on the parent and the partition; with CONCURRENTLY only SHARE UPDATE EXCLUSIVE, and it waits for transactions using the partition.",
);
pub const RENAME_INDEX: Doc = doc(
    "sql-alterindex",
    "ALTER INDEX ... RENAME takes SHARE UPDATE EXCLUSIVE on the index (RenameRelation in tablecmds.c, since PostgreSQL 12).",
);
pub const CREATE_INDEX: Doc = doc(
    "sql-createindex",
    "Normally PostgreSQL locks the table to be indexed against writes (SHARE lock) and performs the entire index build with a single scan of the table.",
);
pub const CREATE_INDEX_CONCURRENTLY: Doc = doc(
    "sql-createindex",
    "CONCURRENTLY scans the table twice without locking out writes (SHARE UPDATE EXCLUSIVE) and must wait for all existing transactions that could potentially modify or use the index to terminate; it cannot run in a transaction block.",
);
pub const DROP_INDEX: Doc = doc(
    "sql-dropindex",
    "A normal DROP INDEX acquires an ACCESS EXCLUSIVE lock on the table, blocking other accesses until the index drop can be completed.",
);
pub const DROP_INDEX_CONCURRENTLY: Doc = doc(
    "sql-dropindex",
    "DROP INDEX CONCURRENTLY does not lock out selects, inserts, updates or deletes on the index's table; it waits until conflicting transactions have completed.",
);
pub const REINDEX: Doc = doc(
    "sql-reindex",
    "REINDEX locks out writes but not reads of the index's parent table (SHARE lock), and takes an ACCESS EXCLUSIVE lock on the index being processed.",
);
pub const REINDEX_CONCURRENTLY: Doc = doc(
    "sql-reindex",
    "REINDEX CONCURRENTLY rebuilds without locks that prevent inserts, updates or deletes (SHARE UPDATE EXCLUSIVE), waiting for transactions like CREATE INDEX CONCURRENTLY.",
);
pub const VACUUM_FULL: Doc = doc(
    "sql-vacuum",
    "VACUUM FULL rewrites the entire contents of the table into a new disk file and requires an ACCESS EXCLUSIVE lock on each table while it is being processed.",
);
pub const VACUUM: Doc = doc(
    "explicit-locking",
    "SHARE UPDATE EXCLUSIVE is acquired by VACUUM (without FULL), ANALYZE, CREATE INDEX CONCURRENTLY, CREATE STATISTICS, COMMENT ON and REINDEX CONCURRENTLY: reads and writes go on.",
);
pub const CLUSTER: Doc = doc(
    "sql-cluster",
    "When a table is being clustered, an ACCESS EXCLUSIVE lock is acquired on it; the table is rewritten in index order.",
);
pub const TRUNCATE: Doc = doc(
    "sql-truncate",
    "TRUNCATE acquires an ACCESS EXCLUSIVE lock on each table it operates on.",
);
pub const DROP_TABLE: Doc = doc(
    "explicit-locking",
    "ACCESS EXCLUSIVE is acquired by DROP TABLE, TRUNCATE, REINDEX, CLUSTER, VACUUM FULL and REFRESH MATERIALIZED VIEW (without CONCURRENTLY).",
);
pub const LOCK: Doc = doc(
    "sql-lock",
    "LOCK TABLE takes the mode given; if no lock mode is specified, ACCESS EXCLUSIVE is used.",
);
pub const REFRESH: Doc = doc(
    "sql-refreshmaterializedview",
    "REFRESH MATERIALIZED VIEW replaces the contents under ACCESS EXCLUSIVE; with CONCURRENTLY it takes EXCLUSIVE, so reads go on but writes wait.",
);
pub const CREATE_TRIGGER: Doc = doc(
    "explicit-locking",
    "SHARE ROW EXCLUSIVE is acquired by CREATE TRIGGER and some forms of ALTER TABLE.",
);
pub const CREATE_TABLE_REFERENCES: Doc = doc(
    "sql-createtable",
    "A REFERENCES constraint adds triggers to the referenced table, which takes SHARE ROW EXCLUSIVE on it, as ADD FOREIGN KEY does.",
);
pub const CREATE_PARTITION_OF: Doc = doc(
    "sql-createtable",
    "CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE on the parent table (DefineRelation in tablecmds.c); ATTACH PARTITION needs only SHARE UPDATE EXCLUSIVE.",
);
pub const DML: Doc = doc(
    "explicit-locking",
    "UPDATE, DELETE, INSERT and MERGE acquire ROW EXCLUSIVE on the target table.",
);
pub const COMMENT: Doc = VACUUM;
pub const CREATE_OR_REPLACE_VIEW: Doc = doc(
    "sql-createview",
    "CREATE OR REPLACE VIEW replaces an existing view's query under ACCESS EXCLUSIVE (AT_ReplaceRelOptions in tablecmds.c).",
);
pub const SELECT: Doc = doc(
    "explicit-locking",
    "SELECT acquires ACCESS SHARE on referenced tables; SELECT FOR UPDATE/SHARE acquires ROW SHARE.",
);
