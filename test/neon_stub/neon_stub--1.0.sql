/* neon_stub--1.0.sql: SQL surface of the test-only Neon GUC stub. */

\echo Use "CREATE EXTENSION neon_stub" to load this file. \quit

-- The shard map as the postmaster recorded it when the
-- neon.pageserver_connstring assign hook last changed it.
CREATE FUNCTION @extschema@.neon_stub_shard_map()
RETURNS TABLE(update_counter bigint, num_shards int, stripe_size int, connstring text)
AS 'MODULE_PATHNAME', 'neon_stub_shard_map'
LANGUAGE C STRICT VOLATILE;

-- The last 64 shard-map records, oldest first (connstring cut to 1023 bytes).
CREATE FUNCTION @extschema@.neon_stub_shard_map_history()
RETURNS TABLE(update_counter bigint, num_shards int, stripe_size int, connstring text)
AS 'MODULE_PATHNAME', 'neon_stub_shard_map_history'
LANGUAGE C STRICT VOLATILE;

-- neon.safekeepers as the postmaster last saw it change.
CREATE FUNCTION @extschema@.neon_stub_safekeepers()
RETURNS TABLE(update_counter bigint, safekeepers text)
AS 'MODULE_PATHNAME', 'neon_stub_safekeepers'
LANGUAGE C STRICT VOLATILE;
