-- pg_storcon 0.1 -> 0.2 (ALTER EXTENSION pg_storcon UPDATE): long storcon operations (shard split,
-- deletes, safekeeper migration) wait as long as storcon takes; safekeeper migration and the other
-- storcon routes of round 2; the doctor's safekeeper checks; timeline_create defaults to this
-- server's PostgreSQL version. pg_storcon--0.2.sql is the same catalog for a fresh install.
\echo Use "ALTER EXTENSION pg_storcon UPDATE TO '0.2'" to load this file. \quit

------------------------------------------------------------------ update guard (runs first)

-- Before anything is replaced or added: schema storcon must be owned by a superuser, let no other
-- role create objects in it, and hold only the extension's members (and what belongs to them:
-- indexes, row types, identity sequences). A schema owner, or a role that can put its own objects
-- there (an overload of storcon.api() say), could replace what the hook worker runs as the
-- bootstrap superuser. Every update script of pg_storcon starts with this block.
DO $guard$
DECLARE
    s record;
    creators text;
    foreign_objects text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    SELECT n.oid, r.rolname AS owner, r.rolsuper, e.oid AS ext INTO STRICT s
      FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner, pg_extension e
     WHERE n.nspname = 'storcon' AND e.extname = 'pg_storcon';
    IF NOT s.rolsuper THEN
        RAISE EXCEPTION 'schema "storcon" is owned by role "%", which is not a superuser', s.owner
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The owner of the schema can replace the extension''s objects, which the hook worker runs as a superuser.',
                  HINT = 'If you trust that role: ALTER SCHEMA storcon OWNER TO <a superuser>; then update again. Otherwise install anew: DROP EXTENSION pg_storcon; DROP SCHEMA storcon CASCADE; CREATE EXTENSION pg_storcon;';
    END IF;
    SELECT string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, ', ')
      INTO creators
      FROM pg_namespace n, aclexplode(n.nspacl) a
     WHERE n.oid = s.oid AND a.privilege_type = 'CREATE'
       AND NOT coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.oid = a.grantee), false);
    IF creators IS NOT NULL THEN
        RAISE EXCEPTION 'schema "storcon" lets % create objects in it', creators
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Objects created there could take the place of the extension''s in what the hook worker runs as a superuser.',
                  HINT = format('REVOKE CREATE ON SCHEMA storcon FROM %s; then update again.', creators);
    END IF;
    WITH RECURSIVE belongs(classid, objid) AS (
        SELECT d.classid, d.objid FROM pg_depend d
         WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = s.ext AND d.deptype = 'e'
        UNION
        SELECT d.classid, d.objid FROM pg_depend d JOIN belongs b ON d.refclassid = b.classid AND d.refobjid = b.objid
         WHERE d.deptype IN ('i', 'a')
    ), in_schema(classid, objid) AS (
        SELECT 'pg_class'::regclass, c.oid FROM pg_class c WHERE c.relnamespace = s.oid
        UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p WHERE p.pronamespace = s.oid
        UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t WHERE t.typnamespace = s.oid
        UNION ALL SELECT d.classid, d.objid FROM pg_depend d
                   WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = s.oid
                     AND NOT (d.classid = 'pg_extension'::regclass AND d.objid = s.ext)
    )
    SELECT string_agg(DISTINCT pg_describe_object(i.classid, i.objid, 0), ', ') INTO foreign_objects
      FROM in_schema i
     WHERE NOT EXISTS (SELECT 1 FROM belongs b WHERE b.classid = i.classid AND b.objid = i.objid);
    IF foreign_objects IS NOT NULL THEN
        RAISE EXCEPTION 'schema "storcon" holds objects that are not part of pg_storcon: %', foreign_objects
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Whoever created them could have the hook worker run their code as a superuser.',
                  HINT = 'Find out who created them and why; move or drop them, then update again.';
    END IF;
END $guard$;

-------------------------------------------------------------------------------------------------
-- Added in 0.2. This section is the same text in pg_storcon--0.2.sql and pg_storcon--0.1--0.2.sql.
-------------------------------------------------------------------------------------------------

------------------------------------------------------------------ long operations

-- For operations storcon answers only when they are done (shard split and tenant delete take
-- minutes, a safekeeper migration waits for the compute notifications): no storcon.request_timeout,
-- a NOTICE "still <doing>: N s" every few seconds, bounded by statement_timeout and cancellable.
-- An answer whose status is in `again` means "ask again" (timeline delete's 409); one in
-- `done_after_again` means done when it follows such an answer. Other errors as in storcon.api().
CREATE FUNCTION storcon._long_api(method text, path text, body jsonb, doing text, again int[] DEFAULT '{}',
                                  done_after_again int[] DEFAULT '{}', OUT status int, OUT answer jsonb)
RETURNS record
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'storcon_long_api';

-- A JSON array of integers as bigint[], in order; NULL for anything else (a JSON null).
CREATE FUNCTION storcon._bigints(value jsonb) RETURNS bigint[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN jsonb_typeof(value) = 'array'
                THEN ARRAY(SELECT e::bigint FROM jsonb_array_elements_text(value) WITH ORDINALITY AS a(e, i) ORDER BY i) END
$$;

-- The name of a Rust enum value as serde writes it: "Active", or {"Broken": {...}} -> Broken.
CREATE FUNCTION storcon._variant(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE jsonb_typeof(value) WHEN 'object' THEN (SELECT min(k) FROM jsonb_object_keys(value) k)
                                    ELSE value #>> '{}' END
$$;

-- Safekeeper ids checked against the mirror before anything is sent: known to storcon and, with
-- require_active, schedulable. The mirror is refreshed once when it would refuse (it may be behind).
CREATE FUNCTION storcon._check_safekeepers(ids bigint[], what text, require_active bool) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    unknown text;
    inactive text;
    refreshed bool := false;
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 OR array_position(ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION '% must be a non-empty array of safekeeper ids', what
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'For example ARRAY[1, 2, 3]; NULL elements are not ids.';
    END IF;
    IF (SELECT count(DISTINCT i) FROM unnest(ids) i) <> cardinality(ids) THEN
        RAISE EXCEPTION '% names a safekeeper more than once: %', what, ids USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOOP
        SELECT string_agg(u.i::text, ', ' ORDER BY u.o) FILTER (WHERE s.id IS NULL),
               string_agg(format('%s (%s)', u.i, s.scheduling_policy), ', ' ORDER BY u.o)
                   FILTER (WHERE s.id IS NOT NULL AND s.scheduling_policy <> 'Active')
          INTO unknown, inactive
          FROM unnest(ids) WITH ORDINALITY AS u(i, o) LEFT JOIN storcon.safekeepers s ON s.id = u.i;
        EXIT WHEN refreshed OR (unknown IS NULL AND (inactive IS NULL OR NOT require_active));
        PERFORM storcon.sync_catalog();
        refreshed := true;
    END LOOP;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'storcon knows no safekeeper %', unknown
            USING ERRCODE = 'undefined_object', DETAIL = format('%s names it; storcon.safekeepers was refreshed from storcon.', what),
                  HINT = 'SELECT id, host, availability_zone_id, scheduling_policy FROM storcon.safekeepers; lists the safekeepers storcon knows. Register one with storcon.safekeeper_register(...).';
    END IF;
    IF require_active AND inactive IS NOT NULL THEN
        RAISE EXCEPTION 'safekeeper % is not Active', inactive
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('%s may only name safekeepers whose scheduling policy is Active.', what),
                  HINT = 'SELECT storcon.safekeeper_set_policy(id, ''Active''); (a new safekeeper turns Active by itself after its first heartbeat).';
    END IF;
END $$;

------------------------------------------------------------------ safekeepers of a timeline

-- storcon_cli timeline-locate: where storcon places the timeline's WAL.
CREATE FUNCTION storcon.timeline_locate(tenant_id text, timeline_id text)
RETURNS TABLE(generation bigint, sk_set bigint[], new_sk_set bigint[])
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (l->>'generation')::bigint, storcon._bigints(l->'sk_set'), storcon._bigints(l->'new_sk_set')
      FROM storcon.api('GET', format('/debug/v1/tenant/%s/timeline/%s/locate', storcon._hex_id(tenant_id, 'tenant id'),
                                     storcon._hex_id(timeline_id, 'timeline id'))) AS l
$$;

-- storcon_cli timeline-safekeeper-migrate: storcon answers when the migration, including the
-- compute notifications, is done.
CREATE FUNCTION storcon.safekeeper_migrate(tenant_id text, timeline_id text, new_sk_set bigint[])
RETURNS TABLE(generation bigint, sk_set bigint[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(safekeeper_migrate.tenant_id, 'tenant id');
    tl text := storcon._hex_id(safekeeper_migrate.timeline_id, 'timeline id');
BEGIN
    PERFORM storcon._check_safekeepers(new_sk_set, 'new_sk_set', true);
    PERFORM storcon._long_api('POST', format('/v1/tenant/%s/timeline/%s/safekeeper_migrate', tid, tl),
                              jsonb_build_object('new_sk_set', to_jsonb(new_sk_set)),
                              format('migrating timeline %s/%s to safekeepers %s', tid, tl, array_to_string(new_sk_set, ', ')));
    RETURN QUERY SELECT l.generation, l.sk_set FROM storcon.timeline_locate(tid, tl) AS l;
END $$;

-- storcon_cli timeline-safekeeper-migrate-abort.
CREATE FUNCTION storcon.safekeeper_migrate_abort(tenant_id text, timeline_id text)
RETURNS TABLE(generation bigint, sk_set bigint[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(safekeeper_migrate_abort.tenant_id, 'tenant id');
    tl text := storcon._hex_id(safekeeper_migrate_abort.timeline_id, 'timeline id');
BEGIN
    PERFORM storcon._long_api('POST', format('/v1/tenant/%s/timeline/%s/safekeeper_migrate_abort', tid, tl), NULL,
                              format('aborting the safekeeper migration of timeline %s/%s', tid, tl));
    RETURN QUERY SELECT l.generation, l.sk_set FROM storcon.timeline_locate(tid, tl) AS l;
END $$;

-- Puts an existing timeline, whose WAL the safekeepers sk_set hold, under storcon's safekeeper
-- management (generation 1); force_upsert overwrites what storcon has.
CREATE FUNCTION storcon.timeline_import(tenant_id text, timeline_id text, start_lsn pg_lsn, sk_set bigint[],
                                        force_upsert bool DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(timeline_import.tenant_id, 'tenant id');
    tl text := storcon._hex_id(timeline_import.timeline_id, 'timeline id');
BEGIN
    IF start_lsn IS NULL OR force_upsert IS NULL THEN
        RAISE EXCEPTION 'start_lsn and force_upsert must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM storcon._check_safekeepers(sk_set, 'sk_set', false);
    PERFORM storcon.api('POST', format('/debug/v1/tenant/%s/timeline/%s/import', tid, tl), jsonb_build_object(
        'tenant_id', tid, 'timeline_id', tl, 'start_lsn', start_lsn::text, 'sk_set', to_jsonb(sk_set),
        'force_upsert', force_upsert));
END $$;

------------------------------------------------------------------ timelines, shards, tenants

-- storcon's view of one timeline on each shard (GET /control/v1/tenant/:t/timeline/:tl).
CREATE FUNCTION storcon.timeline_describe(tenant_id text, timeline_id text)
RETURNS TABLE(tenant_shard_id text, ancestor_timeline_id text, ancestor_lsn pg_lsn, last_record_lsn pg_lsn,
              disk_consistent_lsn pg_lsn, remote_consistent_lsn pg_lsn, image_consistent_lsn pg_lsn,
              current_logical_size bigint, pg_version int, state text, is_archived bool)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t->>'tenant_id', t->>'ancestor_timeline_id', (t->>'ancestor_lsn')::pg_lsn, (t->>'last_record_lsn')::pg_lsn,
           (t->>'disk_consistent_lsn')::pg_lsn, (t->>'remote_consistent_lsn')::pg_lsn,
           (t->>'image_consistent_lsn')::pg_lsn, (t->>'current_logical_size')::bigint, (t->>'pg_version')::int,
           storcon._variant(t->'state'), (t->>'is_archived')::bool
      FROM jsonb_array_elements(storcon.api('GET', format('/control/v1/tenant/%s/timeline/%s',
                                                          storcon._hex_id(tenant_id, 'tenant id'),
                                                          storcon._hex_id(timeline_id, 'timeline id')))->'shards') t
     ORDER BY storcon._shard_number(t->>'tenant_id')
$$;

CREATE FUNCTION storcon.timeline_archival_config(tenant_id text, timeline_id text, state text) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NULL::void FROM storcon.api('PUT', format('/v1/tenant/%s/timeline/%s/archival_config',
                                                     storcon._hex_id(tenant_id, 'tenant id'),
                                                     storcon._hex_id(timeline_id, 'timeline id')),
                                       jsonb_build_object('state', storcon._enum(state, ARRAY['Archived', 'Unarchived'],
                                                                                 'timeline archival state')))
$$;

-- Makes the timeline independent of its ancestor; returns the timelines re-parented onto it.
CREATE FUNCTION storcon.timeline_detach_ancestor(tenant_id text, timeline_id text, behavior text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(timeline_detach_ancestor.tenant_id, 'tenant id');
    tl text := storcon._hex_id(timeline_detach_ancestor.timeline_id, 'timeline id');
    path text := format('/v1/tenant/%s/timeline/%s/detach_ancestor', tid, tl);
BEGIN
    IF behavior IS NOT NULL THEN
        path := path || '?detach_behavior='
                || storcon._enum(behavior, ARRAY['no_ancestor_and_reparent', 'multi_level_and_no_reparent'], 'detach behavior');
    END IF;
    RETURN QUERY SELECT r FROM jsonb_array_elements_text(
        (storcon._long_api('PUT', path, NULL, format('detaching timeline %s/%s from its ancestor', tid, tl))).answer
        ->'reparented_timelines') r ORDER BY 1;
END $$;

-- storcon_cli tenant-shard-cancel-reconcile.
CREATE FUNCTION storcon.shard_cancel_reconcile(tenant_shard_id text) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NULL::void FROM storcon.api('PUT', '/control/v1/tenant/' || storcon._shard_id(tenant_shard_id) || '/cancel_reconcile')
$$;

-- storcon_cli tenant-set-preferred-az: every shard of the tenant prefers `preferred_az` (NULL: none);
-- returns the shards storcon changed.
CREATE FUNCTION storcon.tenant_set_preferred_az(tenant_id text, preferred_az text) RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(tenant_set_preferred_az.tenant_id, 'tenant id');
    body jsonb;
BEGIN
    IF preferred_az IS NOT NULL AND (btrim(preferred_az) = '' OR length(preferred_az) > 255) THEN
        RAISE EXCEPTION 'preferred_az must be an availability zone id or NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT jsonb_object_agg(s->>'tenant_shard_id', to_jsonb(preferred_az)) INTO body
      FROM jsonb_array_elements(storcon.api('GET', '/control/v1/tenant/' || tid)->'shards') s;
    RETURN QUERY SELECT u FROM jsonb_array_elements_text(
        storcon.api('PUT', '/control/v1/preferred_azs', coalesce(body, '{}'))->'updated') u ORDER BY 1;
END $$;

-- Asks the pageservers holding the tenant's secondary locations to download its layers; with
-- `wait`, they answer once done or when it runs out. done is false while downloads go on.
CREATE FUNCTION storcon.tenant_secondary_download(tenant_id text, wait interval DEFAULT NULL)
RETURNS TABLE(done bool, layers_downloaded bigint, layers_total bigint, bytes_downloaded bigint, bytes_total bigint,
              heatmap_mtime timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(tenant_secondary_download.tenant_id, 'tenant id');
    path text := format('/v1/tenant/%s/secondary/download', tid);
    r record;
BEGIN
    IF wait IS NOT NULL THEN
        IF wait < interval '0' OR wait > interval '1 day' THEN
            RAISE EXCEPTION 'wait must be between 0 and 1 day' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        path := path || '?wait_ms=' || (extract(epoch FROM wait) * 1000)::bigint;
    END IF;
    SELECT * INTO r FROM storcon._long_api('POST', path, NULL, format('downloading the secondary locations of tenant %s', tid));
    RETURN QUERY SELECT r.status = 200, (r.answer->>'layers_downloaded')::bigint, (r.answer->>'layers_total')::bigint,
                        (r.answer->>'bytes_downloaded')::bigint, (r.answer->>'bytes_total')::bigint,
                        (r.answer->>'heatmap_mtime')::timestamptz;
END $$;

------------------------------------------------------------------ nodes

-- storcon_cli node-cancel-delete.
CREATE FUNCTION storcon.node_cancel_delete(node_id bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF node_id IS NULL THEN
        RAISE EXCEPTION 'node_id must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM storcon.api('DELETE', format('/control/v1/node/%s/delete', node_id));
END $$;

------------------------------------------------------------------ storcon itself

-- The storcon instance that leads (HA deployments); no row when none is recorded.
CREATE FUNCTION storcon.leader() RETURNS TABLE(address text, started_at timestamptz)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l->>'address', (l->>'started_at')::timestamptz
      FROM storcon.api('GET', '/control/v1/leader') AS l
     WHERE jsonb_typeof(l) = 'object'
$$;

-- Hand-over between storcon instances: the instance at storcon.url stops leading (it then forwards
-- requests to the leader recorded in its database) and returns what it observed of every shard's
-- locations. Meant for a new instance taking over, not for everyday use.
CREATE FUNCTION storcon.step_down() RETURNS TABLE(tenant_shard_id text, node_id bigint, mode text, generation bigint)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.key, n.key::bigint, n.value->'conf'->>'mode', (n.value->'conf'->>'generation')::bigint
      FROM jsonb_each(storcon.api('PUT', '/control/v1/step_down')) s,
           jsonb_each(coalesce(s.value->'locations', '{}')) n
     ORDER BY 1, 2
$$;

-- Starts a reconcile of every shard that needs one and waits for the reconciles under way (storcon
-- waits up to 30 s: a long call); returns how many there were.
CREATE FUNCTION storcon.reconcile_all() RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (answer #>> '{}')::bigint
      FROM storcon._long_api('POST', '/debug/v1/reconcile_all', NULL, 'reconciling every shard that needs it')
$$;

-- Compares storcon's memory with its database; an inconsistency is an error naming it.
CREATE FUNCTION storcon.consistency_check() RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT NULL::void FROM storcon._long_api('POST', '/debug/v1/consistency_check', NULL, 'checking storcon''s consistency') $$;

------------------------------------------------------------------ diagnosis of the safekeeper side

-- The safekeeper checks of storcon.doctor() for one timeline; compute_safekeepers is the compute's
-- neon.safekeepers ('g#<generation>:<host:port>,...').
CREATE FUNCTION storcon._doctor_safekeepers(tenant_id text, timeline_id text, compute_safekeepers text)
RETURNS TABLE(check_name text, ok bool, detail text, hint text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(_doctor_safekeepers.tenant_id, 'tenant id');
    tl text := storcon._hex_id(_doctor_safekeepers.timeline_id, 'timeline id');
    loc record;
    compute_gen bigint := (regexp_match(coalesce(compute_safekeepers, ''), '^g#(\d{1,10}):'))[1]::bigint;
BEGIN
    BEGIN
        SELECT * INTO STRICT loc FROM storcon.timeline_locate(tid, tl);
    EXCEPTION WHEN undefined_object THEN
        RETURN QUERY SELECT 'timeline_safekeepers', false,
            format('storcon does not manage the safekeepers of timeline %s/%s', tid, tl),
            format('storcon places only timelines it created with --timelines-onto-safekeepers; put this one under its management with SELECT storcon.timeline_import(%L, %L, start_lsn, ARRAY[<ids of the safekeepers that hold it>]);', tid, tl);
        RETURN;
    END;
    RETURN QUERY SELECT 'timeline_safekeepers', true,
        format('storcon places timeline %s on safekeepers %s (generation %s)', tl, array_to_string(loc.sk_set, ', '), loc.generation),
        NULL::text;

    RETURN QUERY SELECT 'safekeeper_migration', loc.new_sk_set IS NULL,
        CASE WHEN loc.new_sk_set IS NULL THEN 'no safekeeper migration is under way'
             ELSE format('a migration from safekeepers %s to %s is under way or was left half done (generation %s)',
                         array_to_string(loc.sk_set, ', '), array_to_string(loc.new_sk_set, ', '), loc.generation) END,
        CASE WHEN loc.new_sk_set IS NOT NULL
             THEN format('Finish it with SELECT * FROM storcon.safekeeper_migrate(%L, %L, %L); or abort it with SELECT * FROM storcon.safekeeper_migrate_abort(%L, %L);',
                         tid, tl, loc.new_sk_set::text, tid, tl) END;

    RETURN QUERY SELECT 'safekeeper_generation', coalesce(compute_gen >= loc.generation, false),
        CASE WHEN compute_gen IS NULL
             THEN format('this compute''s neon.safekeepers (%s) carries no generation (g#N:); storcon is at generation %s',
                         coalesce(nullif(compute_safekeepers, ''), 'empty'), loc.generation)
             WHEN compute_gen < loc.generation
             THEN format('this compute runs safekeeper generation %s, storcon is at generation %s', compute_gen, loc.generation)
             ELSE format('this compute runs safekeeper generation %s (storcon: %s)', compute_gen, loc.generation) END,
        CASE WHEN compute_gen IS NULL OR compute_gen < loc.generation
             THEN 'storcon re-sends notify-safekeepers until this hook acknowledges it; to converge now: SELECT * FROM storcon.reconcile(); (GET /status of the hook shows what it last received).' END;
END $$;

------------------------------------------------------------------ privileges of what 0.2 added

REVOKE ALL ON FUNCTION
    storcon._long_api(text, text, jsonb, text, int[], int[]), storcon._check_safekeepers(bigint[], text, bool),
    storcon.timeline_locate(text, text), storcon.safekeeper_migrate(text, text, bigint[]),
    storcon.safekeeper_migrate_abort(text, text), storcon.timeline_import(text, text, pg_lsn, bigint[], bool),
    storcon.timeline_describe(text, text), storcon.timeline_archival_config(text, text, text),
    storcon.timeline_detach_ancestor(text, text, text), storcon.shard_cancel_reconcile(text),
    storcon.tenant_set_preferred_az(text, text), storcon.tenant_secondary_download(text, interval),
    storcon.node_cancel_delete(bigint), storcon.leader(), storcon.step_down(), storcon.reconcile_all(),
    storcon.consistency_check(), storcon._doctor_safekeepers(text, text, text)
FROM PUBLIC;

------------------------------------------------------------------ audit log pruning

-- Internal (the hook worker, by OID, after _record_notifications): deletes the records more than
-- max_rows below the newest one, above after_id (the worker's bound: everything at or below it is
-- gone already), so a prune touches only the rows it deletes and never walks the dead rows of
-- earlier prunes. Returns the new bound. (0.1 pruned inside _record_notifications, from the start
-- of the table every time.)
CREATE FUNCTION storcon._prune_notifications(max_rows integer, after_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    newest bigint;
    upto bigint;
    since bigint := after_id;
BEGIN
    SELECT max(n.id) INTO newest FROM storcon.notifications n;
    IF newest IS NULL THEN
        RETURN 0;
    END IF;
    IF newest <= since THEN
        since := 0;  -- the ids started again (TRUNCATE ... RESTART IDENTITY): prune from the start once
    END IF;
    upto := newest - max_rows;
    IF upto <= since THEN
        RETURN since;
    END IF;
    DELETE FROM storcon.notifications n WHERE n.id > since AND n.id <= upto;
    RETURN upto;
END $$;
REVOKE ALL ON FUNCTION storcon._prune_notifications(integer, bigint) FROM PUBLIC;

------------------------------------------------------------------ the registry of computes (hubs)

-- storcon calls one URL for every tenant. The Postgres behind that URL (a hub, or any compute)
-- routes each notification to the computes of its tenant: those registered here. A compute with
-- storcon.hub_url set registers itself (source 'self', again every heartbeat_seconds); an
-- administrator can add and remove entries (source 'admin', kept by pg_dump). A self-registered
-- entry not seen for three heartbeats is stale: still routed to (a stopped compute refuses the
-- connection and reconciles when it starts), and shown by /status and storcon.doctor().
CREATE TABLE storcon.computes (
    compute_id        text PRIMARY KEY CHECK (compute_id ~ '^[A-Za-z0-9._:/@%+=-]{1,200}$'),
    tenant_id         text NOT NULL CHECK (tenant_id ~ '^[0-9a-f]{32}$'),
    timeline_id       text CHECK (timeline_id ~ '^[0-9a-f]{32}$'),
    hook_url          text NOT NULL CHECK (hook_url ~ '^https?://[^\s?#]+$'),
    mode              text NOT NULL CHECK (mode IN ('primary', 'replica')),
    source            text NOT NULL CHECK (source IN ('self', 'admin')),
    heartbeat_seconds integer CHECK (heartbeat_seconds > 0),
    registered_at     timestamptz NOT NULL,
    last_seen         timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('storcon.computes', $$WHERE source = 'admin'$$);
REVOKE ALL ON storcon.computes FROM PUBLIC;

-- Internal (the hook worker, by OID): a compute registered itself; NULL tenant_id = it left.
CREATE FUNCTION storcon._compute_seen(compute jsonb) RETURNS void
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM storcon.computes c WHERE c.compute_id = compute->>'compute_id' AND compute->>'tenant_id' IS NULL;
    INSERT INTO storcon.computes AS c (compute_id, tenant_id, timeline_id, hook_url, mode, source, heartbeat_seconds,
                                       registered_at, last_seen)
    SELECT compute->>'compute_id', compute->>'tenant_id', compute->>'timeline_id', compute->>'hook_url',
           compute->>'mode', 'self', (compute->>'heartbeat_seconds')::integer, now(), now()
     WHERE compute->>'tenant_id' IS NOT NULL
    ON CONFLICT (compute_id) DO UPDATE SET
        tenant_id = EXCLUDED.tenant_id, timeline_id = EXCLUDED.timeline_id, hook_url = EXCLUDED.hook_url,
        mode = EXCLUDED.mode, source = 'self', heartbeat_seconds = EXCLUDED.heartbeat_seconds,
        registered_at = CASE WHEN c.hook_url = EXCLUDED.hook_url AND c.tenant_id = EXCLUDED.tenant_id
                             THEN c.registered_at ELSE EXCLUDED.registered_at END,
        last_seen = EXCLUDED.last_seen;
$$;
REVOKE ALL ON FUNCTION storcon._compute_seen(jsonb) FROM PUBLIC;

-- Tells the hook worker of this server that the registry changed (shared memory and its latch).
CREATE FUNCTION storcon._registry_changed() RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'storcon_registry_changed';
REVOKE ALL ON FUNCTION storcon._registry_changed() FROM PUBLIC;

-- An administrator adds (or replaces) an entry by hand.
CREATE FUNCTION storcon.compute_register(compute_id text, tenant_id text, hook_url text, timeline_id text DEFAULT NULL,
                                         mode text DEFAULT 'primary')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF compute_id IS NULL OR compute_id !~ '^[A-Za-z0-9._:/@%+=-]{1,200}$' THEN
        RAISE EXCEPTION 'invalid compute id "%"', compute_id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Letters, digits and ._:/@%+=- only, at most 200 characters.';
    END IF;
    IF hook_url IS NULL OR hook_url !~ '^https?://[^\s?#/]+(/[^\s?#]*)?$' THEN
        RAISE EXCEPTION 'invalid hook URL "%"', hook_url
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'For example http://compute-1:3000 (no query or fragment).';
    END IF;
    IF lower(mode) NOT IN ('primary', 'replica') THEN
        RAISE EXCEPTION 'mode must be primary or replica' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO storcon.computes AS c (compute_id, tenant_id, timeline_id, hook_url, mode, source, heartbeat_seconds,
                                       registered_at, last_seen)
    VALUES (compute_register.compute_id, storcon._hex_id(compute_register.tenant_id, 'tenant id'),
            CASE WHEN compute_register.timeline_id IS NULL THEN NULL
                 ELSE storcon._hex_id(compute_register.timeline_id, 'timeline id') END,
            compute_register.hook_url, lower(compute_register.mode), 'admin', NULL, now(), now())
    ON CONFLICT ON CONSTRAINT computes_pkey DO UPDATE SET
        tenant_id = EXCLUDED.tenant_id, timeline_id = EXCLUDED.timeline_id, hook_url = EXCLUDED.hook_url,
        mode = EXCLUDED.mode, source = 'admin', heartbeat_seconds = NULL, last_seen = EXCLUDED.last_seen;
    PERFORM storcon._registry_changed();
END $$;

CREATE FUNCTION storcon.compute_unregister(compute_id text) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE gone boolean;
BEGIN
    DELETE FROM storcon.computes c WHERE c.compute_id = compute_unregister.compute_id;
    gone := FOUND;
    PERFORM storcon._registry_changed();
    RETURN gone;
END $$;

-- Self-registered entries not seen for three of their heartbeats.
CREATE FUNCTION storcon.stale_computes()
RETURNS TABLE(compute_id text, tenant_id text, hook_url text, last_seen timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.compute_id, c.tenant_id, c.hook_url, c.last_seen FROM storcon.computes c
     WHERE c.source = 'self' AND c.last_seen < now() - make_interval(secs => 3 * c.heartbeat_seconds)
     ORDER BY 1
$$;

-- SECURITY DEFINER: whoever may run storcon.doctor() sees this check without reading the registry.
CREATE FUNCTION storcon._doctor_computes() RETURNS TABLE(check_name text, ok bool, detail text, hint text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'registered_computes', s.n = 0,
           CASE WHEN r.n = 0 THEN 'no compute is registered here'
                WHEN s.n = 0 THEN format('%s compute(s) registered, none stale', r.n)
                ELSE format('%s of %s registered compute(s) not seen for three heartbeats: %s', s.n, r.n, s.ids) END,
           CASE WHEN s.n > 0 THEN 'A stopped compute catches up when it starts; one that is gone for good: SELECT storcon.compute_unregister(compute_id).' END
      FROM (SELECT count(*) AS n FROM storcon.computes) r,
           (SELECT count(*) AS n, string_agg(x.compute_id, ', ') AS ids FROM storcon.stale_computes() x) s
     WHERE r.n > 0
$$;

REVOKE ALL ON FUNCTION storcon.compute_register(text, text, text, text, text), storcon.compute_unregister(text),
                       storcon.stale_computes(), storcon._doctor_computes()
FROM PUBLIC;

-------------------------------------------------------------------------------------------------
-- Changed in 0.2 (same signatures, so privileges and dependents stay).
-------------------------------------------------------------------------------------------------

-- Inserts only: the worker prunes with storcon._prune_notifications.
CREATE OR REPLACE FUNCTION storcon._record_notifications(rows jsonb, max_rows integer) RETURNS void
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO storcon.notifications (received_at, kind, tenant_id, timeline_id, body, http_status, outcome,
                                       detail, duration_ms)
    SELECT to_timestamp(r.received_at), r.kind, r.tenant_id, r.timeline_id, r.body, r.http_status, r.outcome,
           r.detail, r.duration_ms
      FROM jsonb_to_recordset(rows) AS r(received_at float8, kind text, tenant_id text, timeline_id text,
                                         body jsonb, http_status integer, outcome text, detail text,
                                         duration_ms float8);
$$;

-- storcon answers when the tenant is gone (about 2 minutes): a long call. A 408 ("Timeout waiting for
-- shard", the detach took longer than storcon waits) means ask again; a 404 after that means gone.
CREATE OR REPLACE FUNCTION storcon.tenant_delete(tenant_id text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE tid text := storcon._hex_id(tenant_delete.tenant_id, 'tenant id');
BEGIN
    PERFORM storcon._long_api('DELETE', '/v1/tenant/' || tid, NULL, format('deleting tenant %s', tid),
                              again => '{408}', done_after_again => '{404}');
END $$;

-- storcon answers when the split, including the compute notification, is done (minutes): a long
-- call. A 408 means ask again (repeating a split to the same count continues or returns the children).
CREATE OR REPLACE FUNCTION storcon.tenant_shard_split(tenant_id text, new_shard_count int, new_stripe_size int DEFAULT NULL)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(tenant_shard_split.tenant_id, 'tenant id');
    body jsonb;
BEGIN
    IF new_shard_count IS NULL OR new_shard_count < 2 OR new_shard_count > 255 THEN
        RAISE EXCEPTION 'new_shard_count must be between 2 and 255' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF new_stripe_size IS NOT NULL AND new_stripe_size < 1 THEN
        RAISE EXCEPTION 'new_stripe_size must be positive (8 KiB pages)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    body := jsonb_build_object('new_shard_count', new_shard_count);
    IF new_stripe_size IS NOT NULL THEN
        body := body || jsonb_build_object('new_stripe_size', new_stripe_size);
    END IF;
    RETURN QUERY SELECT jsonb_array_elements_text(
        (storcon._long_api('PUT', '/control/v1/tenant/' || tid || '/shard_split', body,
                           format('splitting tenant %s into %s shards', tid, new_shard_count), again => '{408}')).answer
        ->'new_shards');
END $$;

-- A new (bootstrap) timeline without pg_version gets this server's major version, not the
-- pageserver's default (17); a branch inherits its ancestor's.
CREATE OR REPLACE FUNCTION storcon.timeline_create(tenant_id text, timeline_id text DEFAULT NULL, pg_version int DEFAULT NULL,
                                        ancestor_timeline_id text DEFAULT NULL, ancestor_start_lsn pg_lsn DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(timeline_create.tenant_id, 'tenant id');
    tl text := CASE WHEN timeline_create.timeline_id IS NULL THEN replace(gen_random_uuid()::text, '-', '')
                    ELSE storcon._hex_id(timeline_create.timeline_id, 'timeline id') END;
    body jsonb;
BEGIN
    IF pg_version IS NOT NULL AND pg_version NOT BETWEEN 14 AND 17 THEN
        RAISE EXCEPTION 'pg_version must be 14, 15, 16 or 17' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF ancestor_start_lsn IS NOT NULL AND ancestor_timeline_id IS NULL THEN
        RAISE EXCEPTION 'ancestor_start_lsn needs ancestor_timeline_id' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    body := jsonb_build_object('new_timeline_id', tl);
    IF pg_version IS NOT NULL THEN
        body := body || jsonb_build_object('pg_version', pg_version);
    ELSIF ancestor_timeline_id IS NULL THEN
        body := body || jsonb_build_object('pg_version', current_setting('server_version_num')::int / 10000);
    END IF;
    IF ancestor_timeline_id IS NOT NULL THEN
        body := body || jsonb_build_object('ancestor_timeline_id', storcon._hex_id(ancestor_timeline_id, 'ancestor timeline id'));
    END IF;
    IF ancestor_start_lsn IS NOT NULL THEN
        body := body || jsonb_build_object('ancestor_start_lsn', ancestor_start_lsn::text);
    END IF;
    RETURN storcon.api('POST', '/v1/tenant/' || tid || '/timeline', body)->>'timeline_id';
END $$;

-- storcon asks the pageservers for up to 25 s, then answers 409 meaning "still deleting, ask again":
-- a long call that asks again until the timeline is gone (200; a 404 after asking again: the tenant
-- went too).
CREATE OR REPLACE FUNCTION storcon.timeline_delete(tenant_id text, timeline_id text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid text := storcon._hex_id(timeline_delete.tenant_id, 'tenant id');
    tl text := storcon._hex_id(timeline_delete.timeline_id, 'timeline id');
BEGIN
    PERFORM storcon._long_api('DELETE', '/v1/tenant/' || tid || '/timeline/' || tl, NULL,
                              format('deleting timeline %s/%s', tid, tl), again => '{409}', done_after_again => '{404}');
END $$;

-- 0.2: and, on a compute of a timeline, the safekeeper side (storcon._doctor_safekeepers).
CREATE OR REPLACE FUNCTION storcon.doctor() RETURNS TABLE(check_name text, ok bool, detail text, hint text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nodes jsonb;
    sks jsonb;
    tenant jsonb;
    tid text := nullif(current_setting('neon.tenant_id', true), '');
    tl text := nullif(current_setting('neon.timeline_id', true), '');
    n int;
    zones int;
    ids text;
    want_conn text;
    want_stripe text;
    want_sks text;
    stripe_seq int;
    conn_seq int;
BEGIN
    BEGIN
        PERFORM storcon.api('GET', '/ready');
        RETURN QUERY SELECT 'storcon_ready', true, 'storcon answers at ' || current_setting('storcon.url'), NULL::text;
    EXCEPTION WHEN query_canceled THEN RAISE;
    WHEN OTHERS THEN
        RETURN QUERY SELECT 'storcon_ready', false, SQLERRM,
            'Check storcon.url and that storcon runs; /ready answers 503 until its start-up reconcile is done.';
        RETURN;  -- nothing else can be asked
    END;

    nodes := storcon.api('GET', '/control/v1/node');
    SELECT count(*), string_agg(format('%s (%s)', x->>'id', x->>'availability'), ', ')
                     FILTER (WHERE x->>'availability' <> 'Active')
      INTO n, ids FROM jsonb_array_elements(nodes) x;
    RETURN QUERY SELECT 'pageservers', n > 0 AND ids IS NULL,
        CASE WHEN n = 0 THEN 'no pageserver is registered'
             WHEN ids IS NULL THEN format('%s pageserver(s), all Active', n)
             ELSE 'not Active: ' || ids END,
        CASE WHEN n = 0 THEN 'Pageservers register at start (metadata.json beside pageserver.toml, control_plane_api = http://<storcon>/upcall/v1/), or use storcon.node_register(...).'
             WHEN ids IS NOT NULL THEN 'Check that those pageservers run and that storcon reaches their HTTP port.' END;

    sks := storcon.api('GET', '/control/v1/safekeeper');
    SELECT count(*) FILTER (WHERE x->>'scheduling_policy' = 'Active'),
           count(DISTINCT x->>'availability_zone_id') FILTER (WHERE x->>'scheduling_policy' = 'Active')
      INTO n, zones FROM jsonb_array_elements(sks) x;
    RETURN QUERY SELECT 'safekeepers', zones >= 3,
        format('%s Active safekeeper(s) in %s availability zone(s); new timelines need 3 in distinct zones', n, zones),
        CASE WHEN zones < 3 THEN 'storcon.safekeeper_register(id, host, port, http_port, availability_zone_id) for each safekeeper, then storcon.safekeeper_set_policy(id, ''Active'').' END;

    RETURN QUERY SELECT 'hook_worker',
        EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_storcon hook'),
        CASE WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_storcon hook')
             THEN format('the hook listens on %s:%s', current_setting('storcon.hook_listen_addr'), current_setting('storcon.hook_port'))
             ELSE 'the hook worker is not running' END,
        CASE WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_storcon hook')
             THEN 'Add pg_storcon to shared_preload_libraries, set storcon.hook_port, restart; the server log says why it stopped.' END;

    RETURN QUERY SELECT * FROM storcon._doctor_computes();  -- nothing when no compute is registered
    IF tid IS NULL THEN
        RETURN QUERY SELECT 'compute_tenant', true, 'neon.tenant_id is not set here: tenant checks skipped', NULL::text;
        RETURN;
    END IF;
    tid := lower(left(tid, 32));
    BEGIN
        tenant := storcon.api('GET', '/control/v1/tenant/' || tid);
    EXCEPTION WHEN query_canceled THEN RAISE;
    WHEN OTHERS THEN
        RETURN QUERY SELECT 'compute_tenant', false, SQLERRM,
            format('Create it: SELECT * FROM storcon.tenant_create(%L);', tid);
        RETURN;
    END;
    RETURN QUERY SELECT 'compute_tenant', true, format('tenant %s, %s shard(s)', tid, jsonb_array_length(tenant->'shards')), NULL::text;

    SELECT string_agg(s->>'tenant_shard_id', ', ') INTO ids
      FROM jsonb_array_elements(tenant->'shards') s WHERE s->'node_attached' = 'null';
    RETURN QUERY SELECT 'shards_attached', ids IS NULL, coalesce('not attached: ' || ids, 'every shard is attached'),
        CASE WHEN ids IS NOT NULL THEN format('SELECT storcon.tenant_policy(%L, placement => ''Attached(1)'');', tid) END;

    SELECT string_agg(s->>'tenant_shard_id', ', ') INTO ids
      FROM jsonb_array_elements(tenant->'shards') s WHERE (s->>'is_pending_compute_notification')::bool;
    RETURN QUERY SELECT 'compute_notified', ids IS NULL,
        coalesce('storcon has undelivered notifications for: ' || ids, 'no notification is pending'),
        CASE WHEN ids IS NOT NULL THEN 'storcon cannot reach this hook: start it with --control-plane-url http://<this compute>:' || current_setting('storcon.hook_port') || ' (with http://), and check GET /status of the hook.' END;

    SELECT string_agg(format('%s: %s', s->>'tenant_shard_id', s->>'last_error'), '; ') INTO ids
      FROM jsonb_array_elements(tenant->'shards') s WHERE coalesce(s->>'last_error', '') <> '';
    RETURN QUERY SELECT 'shard_errors', ids IS NULL, coalesce(ids, 'no reconcile errors'),
        CASE WHEN ids IS NOT NULL THEN 'See storcon''s log for those shards; storcon.tenant_shards(tenant_id) shows their state.' END;

    SELECT max(c.setting) FILTER (WHERE c.name = 'neon.pageserver_connstring'),
           max(c.setting) FILTER (WHERE c.name = 'neon.stripe_size'),
           max(c.setting) FILTER (WHERE c.name = 'neon.safekeepers')
      INTO want_conn, want_stripe, want_sks FROM storcon.compute_config(tid, NULL) c;
    RETURN QUERY SELECT 'shard_map_matches',
        want_conn = current_setting('neon.pageserver_connstring', true)
            AND (want_stripe IS NULL OR want_stripe::bigint = (SELECT s.setting::bigint FROM pg_settings s WHERE s.name = 'neon.stripe_size')),
        format('storcon places the tenant on %s%s; this compute uses %s%s', want_conn,
               coalesce(' with stripe ' || want_stripe, ''), current_setting('neon.pageserver_connstring', true),
               coalesce(' with stripe ' || (SELECT s.setting FROM pg_settings s WHERE s.name = 'neon.stripe_size'), '')),
        CASE WHEN want_conn IS DISTINCT FROM current_setting('neon.pageserver_connstring', true)
                  OR (want_stripe IS NOT NULL AND want_stripe::bigint IS DISTINCT FROM (SELECT s.setting::bigint FROM pg_settings s WHERE s.name = 'neon.stripe_size'))
             THEN 'storcon re-sends its notification on its next reconcile; to apply it now, write the settings of storcon.compute_config(tenant_id, NULL) with ALTER SYSTEM (stripe size first) and SELECT pg_reload_conf().' END;

    SELECT max(f.seqno) FILTER (WHERE f.name = 'neon.stripe_size' AND f.applied),
           max(f.seqno) FILTER (WHERE f.name = 'neon.pageserver_connstring' AND f.applied)
      INTO stripe_seq, conn_seq FROM pg_file_settings f;
    RETURN QUERY SELECT 'stripe_before_connstring', stripe_seq IS NULL OR conn_seq IS NULL OR stripe_seq < conn_seq,
        CASE WHEN stripe_seq IS NULL OR conn_seq IS NULL THEN 'the configuration files do not set both'
             WHEN stripe_seq < conn_seq THEN 'neon.stripe_size is read before neon.pageserver_connstring'
             ELSE 'neon.pageserver_connstring is read before neon.stripe_size: after a reload the shard map keeps the old stripe size ("request routed to wrong shard")' END,
        CASE WHEN stripe_seq > conn_seq THEN 'ALTER SYSTEM SET neon.stripe_size = ...; then ALTER SYSTEM SET neon.pageserver_connstring = ...; (in this order) and SELECT pg_reload_conf();' END;

    IF tl IS NOT NULL THEN
        RETURN QUERY SELECT * FROM storcon._doctor_safekeepers(tid, tl, current_setting('neon.safekeepers', true));
    END IF;
END $$;
