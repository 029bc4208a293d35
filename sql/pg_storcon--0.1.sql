-- pg_storcon 0.1: the catalog mirror of storcon's nodes and safekeepers, and the functions that
-- talk to storcon. Every object is schema-qualified; functions pin search_path.
\echo Use "CREATE EXTENSION pg_storcon" to load this file. \quit

-- Pageservers as storcon knows them (GET /control/v1/node). Refreshed by storcon.sync_catalog()
-- and by the hook worker when a notification names a node it does not know yet.
CREATE TABLE storcon.nodes (
    node_id              bigint PRIMARY KEY,
    listen_pg_addr       text NOT NULL,
    listen_pg_port       integer NOT NULL,
    listen_http_addr     text NOT NULL,
    listen_http_port     integer NOT NULL,
    listen_https_port    integer,
    listen_grpc_addr     text,
    listen_grpc_port     integer,
    availability_zone_id text NOT NULL,
    availability         text NOT NULL,
    scheduling           text NOT NULL,
    synced_at            timestamptz NOT NULL
);

-- Safekeepers as storcon knows them (GET /control/v1/safekeeper).
CREATE TABLE storcon.safekeepers (
    id                   bigint PRIMARY KEY,
    region_id            text NOT NULL,
    version              bigint NOT NULL,
    host                 text NOT NULL,
    port                 integer NOT NULL,
    http_port            integer NOT NULL,
    https_port           integer,
    availability_zone_id text NOT NULL,
    scheduling_policy    text NOT NULL,
    synced_at            timestamptz NOT NULL
);

GRANT USAGE ON SCHEMA storcon TO PUBLIC;
GRANT SELECT ON storcon.nodes, storcon.safekeepers TO PUBLIC;

-- Internal: replace the mirror with the rows decoded (and validated) by the C++ client.
-- Insert new, update changed, delete what storcon no longer has; returns the row count.
CREATE FUNCTION storcon._mirror_nodes(rows jsonb) RETURNS integer
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    WITH src AS (
        SELECT * FROM jsonb_to_recordset(rows) AS r(
            node_id bigint, listen_pg_addr text, listen_pg_port integer, listen_http_addr text,
            listen_http_port integer, listen_https_port integer, listen_grpc_addr text,
            listen_grpc_port integer, availability_zone_id text, availability text, scheduling text)
    ), gone AS (
        DELETE FROM storcon.nodes n
         WHERE NOT EXISTS (SELECT 1 FROM src WHERE src.node_id = n.node_id)
    ), upsert AS (
        INSERT INTO storcon.nodes AS n
        SELECT src.*, pg_catalog.now() FROM src
        ON CONFLICT (node_id) DO UPDATE SET
            listen_pg_addr = EXCLUDED.listen_pg_addr, listen_pg_port = EXCLUDED.listen_pg_port,
            listen_http_addr = EXCLUDED.listen_http_addr, listen_http_port = EXCLUDED.listen_http_port,
            listen_https_port = EXCLUDED.listen_https_port, listen_grpc_addr = EXCLUDED.listen_grpc_addr,
            listen_grpc_port = EXCLUDED.listen_grpc_port,
            availability_zone_id = EXCLUDED.availability_zone_id,
            availability = EXCLUDED.availability, scheduling = EXCLUDED.scheduling,
            synced_at = EXCLUDED.synced_at
    )
    SELECT pg_catalog.count(*)::integer FROM src
$$;

CREATE FUNCTION storcon._mirror_safekeepers(rows jsonb) RETURNS integer
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    WITH src AS (
        SELECT * FROM jsonb_to_recordset(rows) AS r(
            id bigint, region_id text, version bigint, host text, port integer, http_port integer,
            https_port integer, availability_zone_id text, scheduling_policy text)
    ), gone AS (
        DELETE FROM storcon.safekeepers s
         WHERE NOT EXISTS (SELECT 1 FROM src WHERE src.id = s.id)
    ), upsert AS (
        INSERT INTO storcon.safekeepers AS s
        SELECT src.*, pg_catalog.now() FROM src
        ON CONFLICT (id) DO UPDATE SET
            region_id = EXCLUDED.region_id, version = EXCLUDED.version, host = EXCLUDED.host,
            port = EXCLUDED.port, http_port = EXCLUDED.http_port, https_port = EXCLUDED.https_port,
            availability_zone_id = EXCLUDED.availability_zone_id,
            scheduling_policy = EXCLUDED.scheduling_policy, synced_at = EXCLUDED.synced_at
    )
    SELECT pg_catalog.count(*)::integer FROM src
$$;

REVOKE ALL ON FUNCTION storcon._mirror_nodes(jsonb), storcon._mirror_safekeepers(jsonb) FROM PUBLIC;

-- Mirror storcon's node and safekeeper lists into the tables above, in one transaction.
-- SECURITY DEFINER so that a role granted EXECUTE can refresh the (superuser-owned) mirror.
CREATE FUNCTION storcon.sync_catalog()
RETURNS TABLE(nodes integer, safekeepers integer)
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'storcon_sync_catalog';

REVOKE ALL ON FUNCTION storcon.sync_catalog() FROM PUBLIC;
