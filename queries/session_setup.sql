-- Run once per connection, before anything else. The monitor must never join the pile-up
-- it watches: a short lock_timeout and statement_timeout bound every statement; the poll
-- runs in autocommit, so no snapshot is held open (an open snapshot makes CREATE INDEX
-- CONCURRENTLY wait for us); JIT would cost more than the whole poll; UTC keeps the
-- timestamps we receive unambiguous.
SET lock_timeout = '100ms';
SET statement_timeout = '3s';
SET idle_in_transaction_session_timeout = '5s';
SET jit = off;
SET TimeZone = 'UTC';
