-- Citus evaluates column defaults (id, timestamps) on the coordinator and sends every column to the
-- shard, so a column-list INSERT grant is refused there: the definer, reachable only through its
-- functions, gets INSERT on the whole table.
GRANT INSERT ON memberships TO neonhub_definer;
