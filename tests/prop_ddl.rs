//! Hostile input for the two statement readers that see arbitrary text from
//! pg_stat_activity: the DDL classifier and the migration detector. Whatever the text
//! (cut anywhere, binary junk, unbalanced quotes), they answer and never panic.
use proptest::prelude::*;

fn statement() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "ALTER TABLE orders ",
        "ADD COLUMN x int NOT NULL DEFAULT 0",
        "CREATE INDEX CONCURRENTLY i ON t (a)",
        "DROP TABLE t",
        "VACUUM (FULL) t",
        "'it''s'",
        "E'\\\\x'",
        "$q$;$q$",
        "/* /* nested */",
        "-- c\n",
        "\"Quoted \"\" id\"",
        ";",
        " ",
        "(",
        ")",
        "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
        "\u{1b}[2J",
        "\0",
        "é",
        "REINDEX TABLE t",
        "CLUSTER t USING i",
        "SET lock_timeout = '1s'",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn classifier_and_detector_answer_any_prefix(sql in statement(), cut in 0usize..400) {
        let cut = sql.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(sql.len());
        let text = &sql[..cut];
        let statements = pglocks::ddl::classify(text);
        for st in &statements {
            // An unknown statement claims no lock: never a guess.
            if st.is_unknown() {
                prop_assert!(st.locks().is_empty());
            }
        }
        let _ = pglocks::migration::ddl_kind(text);
        let _ = pglocks::sqltext::statement_heads(text, 4);
    }

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&raw);
        let _ = pglocks::ddl::classify(&text);
        let _ = pglocks::migration::ddl_kind(&text);
    }
}
