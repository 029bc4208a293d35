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
RESET ROLE;

-- The documented grant for an administrator role.
GRANT EXECUTE ON FUNCTION storcon.sync_catalog() TO storcon_regress_user;
SET ROLE storcon_regress_user;
SELECT * FROM storcon.sync_catalog();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION storcon.sync_catalog() FROM storcon_regress_user;
DROP ROLE storcon_regress_user;
