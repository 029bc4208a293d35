-- Least privilege: nothing that talks to storcon is executable by PUBLIC, the mirror is readable,
-- and the token setting is invisible to other roles.
CREATE ROLE storcon_regress_user;
SET ROLE storcon_regress_user;
SELECT * FROM storcon.sync_catalog();
SELECT count(*) > 0 AS can_read_nodes FROM storcon.nodes;
SELECT count(*) > 0 AS can_read_safekeepers FROM storcon.safekeepers;
SHOW storcon.jwt_token_file;
SELECT count(*) AS visible_token_settings FROM pg_settings WHERE name = 'storcon.jwt_token_file';
SET storcon.url = 'http://attacker.example:1';
SET storcon.jwt_token_file = '/etc/passwd';
SELECT storcon._mirror_nodes('[]');
DELETE FROM storcon.nodes;
SELECT storcon.api('GET', '/status');
SELECT * FROM storcon.tenant_create();
SELECT * FROM storcon.safekeeper_migrate('aa000000000000000000000000000001', 'bb000000000000000000000000000001', ARRAY[1, 2, 3]);
SELECT storcon.node_cancel_delete(1);
SELECT * FROM storcon._long_api('DELETE', '/v1/tenant/aa000000000000000000000000000001', NULL, 'deleting');
RESET ROLE;

-- Every function PUBLIC may not execute refuses such a role before it does anything: each is
-- called as the role, with NULL arguments (but [] and 0 for jsonb, integer and bigint, so that no
-- STRICT function is skipped for a NULL); any SQLSTATE but 42501 is listed.
CREATE FUNCTION pg_temp.call_each_as_role() RETURNS TABLE(fn regprocedure, sqlstate text) LANGUAGE plpgsql AS $$
DECLARE p record; st text;
BEGIN
    FOR p IN SELECT f.oid::regprocedure AS sig, f.oid,
                    (SELECT string_agg(format('%L::%s', CASE t::regtype WHEN 'jsonb'::regtype THEN '[]'
                                                                   WHEN 'integer'::regtype THEN '0'
                                                                   WHEN 'bigint'::regtype THEN '0' END, t::regtype),
                                       ', ' ORDER BY i)
                       FROM unnest(f.proargtypes) WITH ORDINALITY AS a(t, i)) AS args
               FROM pg_proc f
              WHERE f.pronamespace = 'storcon'::regnamespace
                AND NOT has_function_privilege('storcon_regress_user', f.oid, 'EXECUTE')
    LOOP
        BEGIN
            EXECUTE format('SET LOCAL ROLE storcon_regress_user; SELECT %s(%s)', p.oid::regproc, coalesce(p.args, ''));
            st := 'ran';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
        END;
        fn := p.sig;
        sqlstate := st;
        RETURN NEXT;
    END LOOP;
END $$;
CREATE TEMP TABLE denied AS SELECT * FROM pg_temp.call_each_as_role();
SELECT fn, sqlstate AS not_permission_denied FROM denied WHERE sqlstate <> '42501' ORDER BY 1;
SELECT count(*) >= 50 AS every_restricted_function_was_called FROM denied;
-- and every function pins search_path
SELECT p.oid::regprocedure AS without_pinned_search_path FROM pg_proc p
 WHERE p.pronamespace = 'storcon'::regnamespace
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);

-- What PUBLIC may execute in schema storcon: only argument checks that talk to nobody.
SELECT p.oid::regprocedure AS executable_by_public
  FROM pg_proc p
 WHERE p.pronamespace = 'storcon'::regnamespace
   AND has_function_privilege('storcon_regress_user', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;

-- The documented grant for an administrator role.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA storcon TO storcon_regress_user;
SET ROLE storcon_regress_user;
SELECT * FROM storcon.sync_catalog();
SELECT count(*) > 0 AS sees_nodes FROM storcon.api('GET', '/control/v1/node') n;
SELECT tenant_id FROM storcon.tenants() WHERE tenant_id = 'aa000000000000000000000000000001';
RESET ROLE;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA storcon FROM storcon_regress_user;
DROP ROLE storcon_regress_user;
