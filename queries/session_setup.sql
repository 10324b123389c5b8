-- Run once per connection, before anything else. The monitor must never join the pile-up
-- it watches: a short lock_timeout and statement_timeout bound every statement; the poll
-- runs in autocommit, so no snapshot is held open (an open snapshot makes CREATE INDEX
-- CONCURRENTLY wait for us); JIT would cost more than the whole poll; UTC keeps the
-- timestamps we receive unambiguous. With tens of thousands of locks the poll keeps about
-- 5 MB of lock rows while it counts them; at the default work_mem of 4 MB they went to
-- temporary files (about 10% of that poll's time). The memory is taken only when needed.
SET lock_timeout = '100ms';
SET statement_timeout = '3s';
SET idle_in_transaction_session_timeout = '5s';
SET jit = off;
SET work_mem = '16MB';
SET TimeZone = 'UTC';
