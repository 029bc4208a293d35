-- A role with nothing but CREATE on a database must not be able to prepare schema storcon for the
-- extension (whose functions the hook worker runs as the bootstrap superuser): CREATE EXTENSION
-- refuses a schema it did not create, before anything else runs, and an update refuses a schema
-- owned by a non-superuser or holding objects that are not the extension's. The role never
-- becomes a superuser and nothing is installed.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE ROLE storcon_squatter LOGIN;
CREATE DATABASE storcon_squat;
GRANT CREATE ON DATABASE storcon_squat TO storcon_squatter;

\c storcon_squat storcon_squatter
CREATE SCHEMA storcon;
CREATE TABLE storcon.nodes (node_id bigint);
-- a trojan for whoever runs storcon.api() with more privileges than its author
CREATE FUNCTION storcon.api(method text, path text, body jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'ALTER ROLE storcon_squatter SUPERUSER'; RETURN NULL; END $$;

\c storcon_squat postgres
CREATE EXTENSION pg_storcon;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'pg_storcon';
SELECT proname, pg_get_userbyid(proowner) AS owner FROM pg_proc WHERE pronamespace = 'storcon'::regnamespace;

-- a schema created earlier in the same transaction, by another role, is not the extension's either
BEGIN;
SET LOCAL ROLE storcon_squatter;
DROP TABLE storcon.nodes;
DROP FUNCTION storcon.api(text, text, jsonb);
DROP SCHEMA storcon;
CREATE SCHEMA storcon;
RESET ROLE;
CREATE EXTENSION pg_storcon;
ROLLBACK;
-- even empty, the schema is the squatter's
\c storcon_squat storcon_squatter
DROP FUNCTION storcon.api(text, text, jsonb);
DROP TABLE storcon.nodes;
\c storcon_squat postgres
CREATE EXTENSION pg_storcon;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'pg_storcon';

-- 0.1 had no guard and installs; updating it is refused while the squatter owns the schema
CREATE EXTENSION pg_storcon VERSION '0.1';
ALTER EXTENSION pg_storcon UPDATE;
SELECT extversion AS still_at FROM pg_extension WHERE extname = 'pg_storcon';
-- handed to a superuser, the schema still holds what the squatter put there meanwhile
\c storcon_squat storcon_squatter
CREATE FUNCTION storcon.helper() RETURNS int LANGUAGE sql AS 'SELECT 1';
\c storcon_squat postgres
ALTER SCHEMA storcon OWNER TO postgres;
ALTER EXTENSION pg_storcon UPDATE;
SELECT extversion AS still_at FROM pg_extension WHERE extname = 'pg_storcon';
DROP FUNCTION storcon.helper();
-- nor may another role be able to create objects there
GRANT CREATE ON SCHEMA storcon TO storcon_squatter;
ALTER EXTENSION pg_storcon UPDATE;
REVOKE CREATE ON SCHEMA storcon FROM storcon_squatter;
ALTER EXTENSION pg_storcon UPDATE;
SELECT e.extversion = a.default_version AS at_default_version
  FROM pg_extension e, pg_available_extensions a WHERE e.extname = 'pg_storcon' AND a.name = 'pg_storcon';

SELECT rolsuper AS squatter_is_superuser FROM pg_roles WHERE rolname = 'storcon_squatter';
\c contrib_regression
DROP DATABASE storcon_squat;
DROP ROLE storcon_squatter;
