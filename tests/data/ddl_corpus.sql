-- Golden corpus for the DDL classifier: each "-- @case" starts one input given to
-- ddl::classify as a whole. Expected results: ddl_corpus.expected.json
-- (PGLOCKS_BLESS=1 cargo test --test ddl_corpus rewrites it).
-- @case from the tests
ALTER TABLE orders ADD COLUMN region int
-- @case from the tests
ALTER TABLE
-- @case from the tests
ALTER TABLE orders ADD COLUMN region int NOT NULL DEFAULT 0
-- @case from the tests
ALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT now()
-- @case from the tests
ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()
-- @case from the tests
ALTER TABLE orders ADD COLUMN seq bigserial
-- @case from the tests
ALTER TABLE orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY
-- @case from the tests
ALTER TABLE orders ADD COLUMN double_total numeric GENERATED ALWAYS AS (total * 2) STORED
-- @case from the tests
ALTER TABLE orders ADD COLUMN flag int NOT NULL
-- @case from the tests
ALTER TABLE orders ADD COLUMN buyer_id bigint REFERENCES customers (id)
-- @case from the tests
ALTER TABLE orders DROP COLUMN note
-- @case from the tests
ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'n/a'
-- @case from the tests
ALTER TABLE orders ALTER COLUMN total TYPE bigint
-- @case from the tests
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL
-- @case from the tests
SET NOT NULL is checked by scanning the entire table
-- @case from the tests
ALTER TABLE orders ALTER COLUMN customer_id DROP NOT NULL
-- @case from the tests
ALTER TABLE orders ALTER COLUMN customer_id SET STATISTICS 500
-- @case from the tests
SET STATISTICS acquires a SHARE UPDATE EXCLUSIVE lock
-- @case from the tests
ALTER TABLE orders ALTER COLUMN customer_id SET (n_distinct = 100)
-- @case from the tests
ALTER TABLE orders ADD CONSTRAINT positive_total CHECK (total > 0)
-- @case from the tests
ALTER TABLE orders ADD CONSTRAINT positive_total CHECK (total > 0) NOT VALID
-- @case from the tests
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check
-- @case from the tests
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
-- @case from the tests
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID
-- @case from the tests
ALTER TABLE orders ADD CONSTRAINT orders_note_uniq UNIQUE (note)
-- @case from the tests
CREATE UNIQUE INDEX CONCURRENTLY
-- @case from the tests
ALTER TABLE orders ADD CONSTRAINT orders_note_key UNIQUE USING INDEX orders_note_idx
-- @case from the tests
ALTER TABLE orders DROP CONSTRAINT orders_total_check
-- @case from the tests
ALTER TABLE orders SET (fillfactor = 70, autovacuum_enabled = false)
-- @case from the tests
ALTER TABLE orders ENABLE TRIGGER orders_noop
-- @case from the tests
ALTER TABLE orders CLUSTER ON orders_pkey
-- @case from the tests
CLUSTER ON
-- @case from the tests
ALTER TABLE scratch SET UNLOGGED
-- @case from the tests
ALTER TABLE orders OWNER TO CURRENT_USER
-- @case from the tests
ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
-- @case from the tests
ALTER TABLE events DETACH PARTITION events_2024
-- @case from the tests
ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY
-- @case from the tests
with CONCURRENTLY only SHARE UPDATE EXCLUSIVE
-- @case from the tests
ALTER TABLE orders RENAME COLUMN note TO memo
-- @case from the tests
ALTER TABLE orders RENAME TO purchases
-- @case from the tests
ALTER INDEX orders_customer_idx RENAME TO orders_buyer_idx
-- @case from the tests
ALTER INDEX RENAME
-- @case from the tests
CREATE INDEX orders_total_idx ON orders (total)
-- @case from the tests
CREATE INDEX
-- @case from the tests
CREATE INDEX CONCURRENTLY orders_total_idx ON orders
-- @case from the tests
CREATE UNIQUE INDEX orders_memo_idx ON public.orders (note)
-- @case from the tests
CREATE UNIQUE INDEX
-- @case from the tests
CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total)
-- @case from the tests
CREATE INDEX CONCURRENTLY
-- @case from the tests
DROP INDEX orders_customer_idx
-- @case from the tests
DROP INDEX
-- @case from the tests
DROP INDEX CONCURRENTLY orders_customer_idx
-- @case from the tests
DROP INDEX CONCURRENTLY
-- @case from the tests
REINDEX INDEX orders_customer_idx
-- @case from the tests
REINDEX
-- @case from the tests
REINDEX INDEX CONCURRENTLY
-- @case from the tests
REINDEX TABLE CONCURRENTLY orders
-- @case from the tests
REINDEX CONCURRENTLY
-- @case from the tests
VACUUM FULL orders
-- @case from the tests
VACUUM FULL
-- @case from the tests
VACUUM (VERBOSE) orders
-- @case from the tests
VACUUM
-- @case from the tests
VACUUM (without FULL)
-- @case from the tests
ANALYZE orders
-- @case from the tests
ANALYZE
-- @case from the tests
CLUSTER orders USING orders_pkey
-- @case from the tests
CLUSTER
-- @case from the tests
TRUNCATE orders, customers
-- @case from the tests
TRUNCATE
-- @case from the tests
DROP TABLE scratch
-- @case from the tests
DROP TABLE
-- @case from the tests
LOCK TABLE orders IN SHARE MODE
-- @case from the tests
LOCK
-- @case from the tests
LOCK orders
-- @case from the tests
REFRESH MATERIALIZED VIEW order_totals
-- @case from the tests
REFRESH MATERIALIZED VIEW
-- @case from the tests
REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals
-- @case from the tests
REFRESH MATERIALIZED VIEW CONCURRENTLY
-- @case from the tests
with CONCURRENTLY it takes EXCLUSIVE
-- @case from the tests
CREATE TRIGGER orders_audit AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION noop()
-- @case from the tests
CREATE TRIGGER
-- @case from the tests
DROP TRIGGER orders_noop ON orders
-- @case from the tests
DROP TRIGGER
-- @case from the tests
CREATE TABLE payments (id int PRIMARY KEY, order_id bigint REFERENCES orders (id))
-- @case from the tests
CREATE TABLE
-- @case from the tests
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')
-- @case from the tests
CREATE OR REPLACE VIEW big_orders AS SELECT * FROM customers WHERE id > 200
-- @case from the tests
CREATE OR REPLACE VIEW
-- @case from the tests
UPDATE orders SET total = 0 WHERE id = 1
-- @case from the tests
UPDATE
-- @case from the tests
SELECT * FROM orders WHERE id = 1 FOR UPDATE
-- @case from the tests
SELECT
-- @case from the tests
COMMENT ON TABLE orders IS 'what customers bought'
-- @case from the tests
COMMENT
-- @case from the tests
COMMENT ON
-- @case from the tests
CREATE STATISTICS orders_stats ON customer_id, total FROM orders
-- @case from the tests
CREATE STATISTICS
-- @case from the tests
CREATE INDEX i ON orders (total)
-- @case from the tests
DROP INDEX CONCURRENTLY i
-- @case from the tests
VACUUM orders
-- @case from the tests
ALTER TABLE t ADD c timestamptz DEFAULT clock_timestamp()
-- @case from the tests
ALTER TABLE t ADD c timestamptz DEFAULT CURRENT_TIMESTAMP
-- @case from the tests
ALTER TABLE t ADD c jsonb DEFAULT '{}'::jsonb
-- @case from the tests
ALTER TABLE t ADD c int DEFAULT (1 + 2) * 3
-- @case from the tests
ALTER TABLE t ADD c float DEFAULT coalesce(random(), 0)
-- @case from the tests
ALTER TABLE t ADD c int DEFAULT my_func()
-- @case from the tests
ALTER TABLE t ADD c int GENERATED ALWAYS AS (a * 2) VIRTUAL
-- @case from the tests
ALTER TABLE orders ALTER COLUMN a SET STATISTICS 100, ADD COLUMN b int DEFAULT random(), VALIDATE CONSTRAINT c
-- @case from the tests
ALTER VIEW v SET (security_barrier = true)
-- @case from the tests
ALTER TABLE orders ADD COLUMN
-- @case from the tests
ALTER TABL orders ADD x int
-- @case from the tests
ALTER TABLE orders ADD COLUMN note text DEFAULT 'abc
-- @case from the tests
ALTER TABLE orders ADD COLUMN x int /* the rest was cut
-- @case from the tests
CREATE FUNCTION f() RETURNS int AS $$ SELECT
-- @case from the tests
ALTER TABLE "orders
-- @case from the tests
SET lock_timeout = '3s';
ALTER TABLE orders ADD COLUMN region int;
ALTER TABLE orders ADD CONSTRAINT c CHEK (x > 0);
CREATE INDEX CONCURRENTLY i ON orders (region);
-- @case from the tests
SET
-- @case from the tests
ALTER TABLE orders ADD CONSTRAINT c CHEK (x > 0)
-- @case from the tests
ALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0)
-- @case from the tests
ALTER DOMAIN
-- @case from the tests
DO $$ BEGIN PERFORM 1; END $$
-- @case from the tests
DO
-- @case from the tests
ALTER TYPE mood ADD VALUE 'meh'
-- @case from the tests
ALTER TYPE
-- @case from the tests
CREATE TABLE t (id int)
-- @case from the tests
CREATE SEQUENCE s
-- @case from the tests
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'
-- @case from the tests
ALTER TABLE orders ALTER COLUMN email SET NOT NULL
-- @case from the tests
CREATE TABLE customers (id bigint PRIMARY KEY, email text);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint, total numeric, note varchar(20),
                     created_at timestamptz DEFAULT now());
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE UNIQUE INDEX orders_note_idx ON orders (note);
ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;
CREATE TABLE scratch (a int);
CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 (id int, at date);
-- Views read customers, so that orders' columns can change type or go away.
CREATE MATERIALIZED VIEW order_totals AS SELECT id AS customer_id, count(*) AS n FROM customers GROUP BY 1;
CREATE UNIQUE INDEX order_totals_idx ON order_totals (customer_id);
CREATE VIEW big_orders AS SELECT * FROM customers WHERE id > 100;
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER orders_noop BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION noop();
INSERT INTO customers VALUES (1, 'a@example.com');
-- @case from the tests
SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'
               AND granted AND relation = $1
-- @case from the tests
SELECT pg_relation_filenode($1::oid)::oid
-- @case from the tests
SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass($1)
-- @case from the tests
SELECT to_regclass($1)::oid
-- @case from the tests
BEGIN
-- @case from the tests
ROLLBACK
-- @case from the tests
ALTER TABLE orders 
-- @case from the tests
CREATE INDEX CONCURRENTLY i ON t (a)
-- @case from the tests
DROP TABLE t
-- @case from the tests
VACUUM (FULL) t
-- @case from the tests
LOCK TABLE t IN ACCESS EXCLUSIVE MODE
-- @case from the tests
REINDEX TABLE t
-- @case from the tests
CLUSTER t USING i
-- @case from the tests
SET lock_timeout = '1s'
-- @case from the tests
CREATE TABLE orders (id bigserial PRIMARY KEY, customer int NOT NULL, total numeric NOT NULL);
     INSERT INTO orders (customer, total) SELECT g % 500, g FROM generate_series(1, 20000) g;
     CREATE TABLE jobs (id int PRIMARY KEY, done bool);
     INSERT INTO jobs SELECT g, false FROM generate_series(1, 100) g;
     ANALYZE orders; ANALYZE jobs;
-- @case from the tests
ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0
-- @case from the tests
BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM jobs;
-- @case from the tests
SET statement_timeout = '1500ms'
-- @case from the tests
SET lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN note text;
-- @case from the tests
-- V42__note.sql
ALTER TABLE orders ADD COLUMN note text;
-- @case from the tests
set
-- @case from the tests
SET lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN;
CREATE INDEX i ON orders (id);
-- @case from the tests
ALTER TABLE orders ADD COLUMN note text DEFAULT 'unfinished
-- @case from the tests
CREATE INDEX orders_customer_idx ON orders (customer)
-- @case from the tests
SET lock_timeout = '5s'; ALTER TABLE orders ALTER COLUMN total TYPE bigint
-- @case from the tests
CREATE INDEX CONCURRENTLY i ON orders (total)
-- @case from the tests
select ';' ; /* ; */ select $f$ ; $f$; -- ;
 select "a;b"; select E'\';'
-- @case from the tests
select ';'
-- @case from the tests
/* ; */ select $f$ ; $f$
-- @case from the tests
-- ;
 select "a;b"
-- @case from the tests
select E'\';'
-- @case from the tests
SET lock_timeout = '1s'; ALTER TABLE t ADD c text DEFAULT 'ab
-- @case from the tests
ALTER TABLE t ADD c text DEFAULT 'ab
-- @case from the tests
SELECT 1; ALTER TABLE t ADD COLUMN; SELECT 2
-- @case from the tests
ALTER TABLE t ADD COLUMN
-- @case from the tests
ALTER
-- @case from the tests
DROP
-- @case from the tests
REFRESH
-- @case from the tests
CREATE
-- @case from the tests
CREATE {obj}
-- @case from the tests
create index on t(x)
-- @case from the tests
CREATE UNIQUE INDEX CONCURRENTLY i ON t(x)
-- @case from the tests
drop index i
-- @case from the tests
truncate t
-- @case from the tests
cluster t using i
-- @case from the tests
vacuum t
-- @case from the tests
refresh materialized view mv
-- @case from the tests
create temp table x(a int)
-- @case from the tests
select * from alter_log
-- @case from the tests
-- ALTER TABLE t
select 1
-- @case from the tests
ALTER TABLE t ADD c text DEFAULT 'cut in the mid
-- @case from the tests
ALTER COLUMN total TYPE needs AccessExclusiveLock on orders
-- @case from the tests
ALTER TABLE orders ADD COLUMN note text DEFAULT 'a very long def
-- @case from the tests
CREATE TABLE orders (id bigserial PRIMARY KEY, total numeric NOT NULL);
               INSERT INTO orders (total) SELECT g FROM generate_series(1, 30000) g;
               ANALYZE orders;
-- @case from the tests
ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
-- @case rails: add_column + add_index algorithm: :concurrently (disable_ddl_transaction!)
ALTER TABLE "users" ADD "last_seen_at" timestamp(6);
CREATE INDEX CONCURRENTLY "index_users_on_last_seen_at" ON "users" ("last_seen_at");
-- @case rails: add_reference with foreign key, validate later
ALTER TABLE "orders" ADD "account_id" bigint;
CREATE INDEX CONCURRENTLY "index_orders_on_account_id" ON "orders" ("account_id");
ALTER TABLE "orders" ADD CONSTRAINT "fk_rails_0123456789" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") NOT VALID;
ALTER TABLE "orders" VALIDATE CONSTRAINT "fk_rails_0123456789";
-- @case rails: schema_migrations bookkeeping
INSERT INTO "schema_migrations" ("version") VALUES ('20240101120000') RETURNING "version";
-- @case rails: change_column_null and change_column_default
ALTER TABLE "users" ALTER COLUMN "email" SET NOT NULL;
ALTER TABLE "users" ALTER COLUMN "status" SET DEFAULT 'active';
ALTER TABLE "users" ALTER COLUMN "status" DROP DEFAULT;
-- @case rails: rename_column and rename_table
ALTER TABLE "users" RENAME COLUMN "name" TO "full_name";
ALTER TABLE "users" RENAME TO "people";
ALTER INDEX "index_users_on_email" RENAME TO "index_people_on_email";
-- @case rails: create_table with references
CREATE TABLE "line_items" ("id" bigserial primary key, "order_id" bigint NOT NULL, "created_at" timestamp(6) NOT NULL, CONSTRAINT "fk_rails_line_items_order" FOREIGN KEY ("order_id") REFERENCES "orders" ("id"));
-- @case django: AddField with default then drop default, in a transaction
BEGIN;
--
-- Add field priority to task
--
ALTER TABLE "app_task" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;
ALTER TABLE "app_task" ALTER COLUMN "priority" DROP DEFAULT;
COMMIT;
-- @case django: AddField ForeignKey and its index, deferred constraint
BEGIN;
ALTER TABLE "app_task" ADD COLUMN "owner_id" integer NULL CONSTRAINT "app_task_owner_id_fk_auth_user_id" REFERENCES "auth_user"("id") DEFERRABLE INITIALLY DEFERRED;
SET CONSTRAINTS "app_task_owner_id_fk_auth_user_id" IMMEDIATE;
CREATE INDEX "app_task_owner_id_5d5bf4c6" ON "app_task" ("owner_id");
COMMIT;
-- @case django: AlterField varchar length, unique_together, model rename
BEGIN;
ALTER TABLE "app_task" ALTER COLUMN "title" TYPE varchar(500) USING "title"::varchar(500);
ALTER TABLE "app_task" ADD CONSTRAINT "app_task_project_id_title_uniq" UNIQUE ("project_id", "title");
ALTER TABLE "app_task" RENAME TO "app_job";
ALTER SEQUENCE "app_task_id_seq" RENAME TO "app_job_id_seq";
COMMIT;
-- @case django: RunSQL with a CHECK validated separately
ALTER TABLE "app_task" ADD CONSTRAINT "priority_gte_0" CHECK ("priority" >= 0) NOT VALID;
ALTER TABLE "app_task" VALIDATE CONSTRAINT "priority_gte_0";
-- @case flyway: V7__partitioned_events.sql
-- Monthly partitions; the old one is detached without blocking readers.
CREATE TABLE events_2025_02 (LIKE events INCLUDING ALL);
ALTER TABLE events ATTACH PARTITION events_2025_02 FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
ALTER TABLE events DETACH PARTITION events_2023_01 CONCURRENTLY;
ALTER TABLE events DETACH PARTITION events_2023_02 FINALIZE;
DROP TABLE events_2023_01;
-- @case flyway: V8__enum_and_trigger.sql
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded' AFTER 'paid';
CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();  -- semicolons inside the body
  RETURN NEW;
END;
$$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
DROP TRIGGER IF EXISTS orders_old_touch ON public.orders;
-- @case flyway: V9__maintenance.sql
REINDEX INDEX CONCURRENTLY orders_customer_idx;
REINDEX TABLE orders;
VACUUM FULL orders;
VACUUM (ANALYZE, VERBOSE) orders, customers;
CLUSTER orders USING orders_pkey;
ANALYZE VERBOSE customers;
-- @case flyway: V10__do_block.sql
DO $body$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN
    CREATE TYPE mood AS ENUM ('sad', 'ok');
  END IF;
END
$body$;
/* a block comment /* nested */ before the next statement */
ALTER TABLE orders ADD COLUMN mood mood;
-- @case alembic: op.add_column / op.create_index / op.alter_column in one transaction
BEGIN;
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
ALTER TABLE invoices ADD COLUMN paid_at TIMESTAMP WITHOUT TIME ZONE;
ALTER TABLE invoices ALTER COLUMN amount TYPE NUMERIC(12, 2);
ALTER TABLE invoices ALTER COLUMN amount SET NOT NULL;
CREATE INDEX ix_invoices_paid_at ON invoices (paid_at);
UPDATE alembic_version SET version_num='3f2a1b' WHERE alembic_version.version_num = '2e1d0c';
COMMIT;
-- @case alembic: batch of many subcommands
ALTER TABLE invoices
    ADD COLUMN currency char(3) NOT NULL DEFAULT 'EUR',
    ADD COLUMN external_id uuid DEFAULT gen_random_uuid(),
    ALTER COLUMN note TYPE text,
    ALTER COLUMN note SET STORAGE EXTERNAL,
    DROP COLUMN legacy_flag,
    DROP CONSTRAINT IF EXISTS invoices_amount_check,
    ADD CONSTRAINT invoices_amount_check CHECK (amount >= 0) NOT VALID,
    SET (autovacuum_vacuum_scale_factor = 0.01),
    ENABLE ROW LEVEL SECURITY;
-- @case alembic: create_index concurrently with autocommit block, drop_index
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_invoices_external_id ON invoices USING btree (external_id) WHERE external_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS ix_invoices_paid_at;
DROP INDEX public.ix_invoices_old, ix_invoices_older;
-- @case misc: session settings a migration tool sends
SET LOCAL lock_timeout TO '2s';
SET statement_timeout = 0;
RESET lock_timeout;
SET search_path TO app, public;
SHOW lock_timeout;
START TRANSACTION;
ROLLBACK;
-- @case misc: more relation forms
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_id_idx;
ALTER TABLE IF EXISTS orders ADD COLUMN IF NOT EXISTS tags text[] DEFAULT '{}';
ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
ALTER TABLE orders REPLICA IDENTITY FULL;
ALTER TABLE orders SET TABLESPACE fast_ssd;
ALTER TABLE orders SET LOGGED;
ALTER TABLE orders DISABLE TRIGGER ALL;
ALTER TABLE orders SET WITHOUT CLUSTER;
ALTER TABLE orders ALTER COLUMN note SET COMPRESSION lz4;
ALTER TABLE orders ALTER COLUMN note RESET (n_distinct);
ALTER TABLE orders RESET (fillfactor);
ALTER TABLE orders INHERIT parent_orders;
ALTER TABLE orders ALTER CONSTRAINT orders_customer_fk DEFERRABLE;
ALTER TABLE orders RENAME CONSTRAINT orders_a TO orders_b;
ALTER TABLE orders ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =);
ALTER TABLE orders ADD PRIMARY KEY (id);
ALTER MATERIALIZED VIEW order_totals SET (fillfactor = 50);
ALTER INDEX orders_total_idx SET (fillfactor = 80);
ALTER TRIGGER orders_touch ON orders RENAME TO orders_touch2;
LOCK TABLE orders, customers IN ROW EXCLUSIVE MODE NOWAIT;
DELETE FROM orders WHERE id < 10;
MERGE INTO orders o USING staging s ON o.id = s.id WHEN MATCHED THEN UPDATE SET total = s.total;
WITH recent AS (SELECT * FROM orders WHERE id > 5) SELECT * FROM recent JOIN customers c ON c.id = recent.customer_id FOR SHARE;
SELECT count(*) FROM public.orders o, LATERAL (SELECT 1 FROM customers) c;
COMMENT ON COLUMN public.orders.note IS 'free text';
COMMENT ON INDEX orders_total_idx IS 'for reports';
COMMENT ON FUNCTION touch_updated_at() IS 'trigger';
CREATE VIEW v AS SELECT 1;
CREATE MATERIALIZED VIEW mv AS SELECT * FROM orders;
CREATE SCHEMA IF NOT EXISTS app;
CREATE SEQUENCE IF NOT EXISTS invoice_no START 1000;
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TYPE pair AS (a int, b int);
CREATE EXTENSION IF NOT EXISTS pgcrypto;
GRANT SELECT ON orders TO reporting;
DROP VIEW IF EXISTS v;
DROP MATERIALIZED VIEW mv;
DROP SEQUENCE invoice_no;
DROP TABLE IF EXISTS a, b CASCADE;
DROP FUNCTION touch_updated_at();
TRUNCATE TABLE ONLY scratch RESTART IDENTITY;
REFRESH MATERIALIZED VIEW CONCURRENTLY public.order_totals WITH DATA;
REINDEX (VERBOSE, CONCURRENTLY) TABLE orders;
REINDEX SCHEMA public;
VACUUM;
CLUSTER;
CLUSTER VERBOSE orders;
CREATE TABLE events_2027 PARTITION OF events DEFAULT;
CREATE TABLE ref_child (id int, parent_id int REFERENCES ref_parent, other_id int, FOREIGN KEY (other_id) REFERENCES other.things (id));
CREATE UNLOGGED TABLE scratch2 AS SELECT * FROM orders;
CREATE STATISTICS IF NOT EXISTS s2 (ndistinct) ON a, b FROM public.orders;
ALTER TABLE orders ADD COLUMN n2 int GENERATED ALWAYS AS (id * 2) STORED;
ALTER TABLE orders ADD COLUMN d date DEFAULT CURRENT_DATE + 1;
ALTER TABLE orders ADD COLUMN c2 text DEFAULT lower('X') CHECK (c2 <> '');
ALTER TABLE orders ADD COLUMN u int UNIQUE;
ALTER TABLE orders ADD COLUMN s smallserial;
ALTER TABLE orders ADD COLUMN j jsonb DEFAULT jsonb_build_object('a', 1, 'b', now());
ALTER TABLE orders ADD COLUMN k int DEFAULT CASE WHEN true THEN 1 ELSE nextval('s') END;
ALTER TABLE orders ADD COLUMN q int DEFAULT (SELECT 1);
ALTER TABLE orders ADD COLUMN arr int[] DEFAULT ARRAY[1, 2];
ALTER TABLE orders ADD COLUMN r int DEFAULT greatest(1, 2) NOT NULL;
ALTER TABLE orders ADD COLUMN f int REFERENCES customers NOT VALID;
ALTER FOREIGN TABLE remote_orders ADD COLUMN x int;
ALTER VIEW v RENAME TO v2;
-- @case misc: quoted identifiers and case folding
ALTER TABLE "Public"."Order Items" ADD COLUMN "Qty" int;
alter table Orders add column Qty2 int;
CREATE INDEX ON "Mixed""Quote" (a);
-- @case cut: a statement cut by track_activity_query_size after a good one
SET lock_timeout = '3s'; ALTER TABLE orders ADD COLUMN region int DEFAULT 4; CREATE INDEX CONCURRENTLY orders_region_idx ON orde
-- @case cut: inside a dollar body
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RETURN 1; END
