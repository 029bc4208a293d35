-- storcon.sync_catalog() mirrors storcon's nodes and safekeepers: inserts, updates and deletes,
-- in one transaction. The simulator (port 55431, token "regress-token") starts with 3 nodes and
-- 3 safekeepers.
CREATE EXTENSION pg_storcon;
SELECT * FROM storcon.sync_catalog();
SELECT node_id, listen_pg_addr, listen_pg_port, availability_zone_id, availability, scheduling
  FROM storcon.nodes ORDER BY node_id;
SELECT id, host, port, http_port, availability_zone_id, scheduling_policy
  FROM storcon.safekeepers ORDER BY id;

-- storcon changes behind our back: node 4 registers, node 2 is deleted, safekeeper 3 moves.
\! curl -s -o /dev/null -H 'Authorization: Bearer regress-token' -H 'Content-Type: application/json' -X POST http://127.0.0.1:55431/control/v1/node -d '{"node_id":4,"listen_pg_addr":"127.0.0.4","listen_pg_port":6404,"listen_http_addr":"127.0.0.4","listen_http_port":9804,"availability_zone_id":"az-2"}'
\! curl -s -o /dev/null -H 'Authorization: Bearer regress-token' -X DELETE http://127.0.0.1:55431/control/v1/node/2
\! curl -s -o /dev/null -H 'Authorization: Bearer regress-token' -H 'Content-Type: application/json' -X POST http://127.0.0.1:55431/control/v1/safekeeper/3 -d '{"id":3,"region_id":"default","version":2,"host":"127.0.0.33","port":5555,"http_port":7777,"availability_zone_id":"az-3"}'
SELECT * FROM storcon.sync_catalog();
SELECT node_id, listen_pg_addr, listen_pg_port, availability_zone_id FROM storcon.nodes ORDER BY node_id;
SELECT id, version, host, port, http_port FROM storcon.safekeepers ORDER BY id;
SELECT count(*) AS fresh FROM storcon.nodes WHERE synced_at > now() - interval '5 minutes';

-- All or nothing: node 5 registers, but the safekeeper list then fails; the mirror stays as it was.
\! curl -s -o /dev/null -H 'Authorization: Bearer regress-token' -H 'Content-Type: application/json' -X POST http://127.0.0.1:55431/control/v1/node -d '{"node_id":5,"listen_pg_addr":"127.0.0.5","listen_pg_port":6405,"listen_http_addr":"127.0.0.5","listen_http_port":9805,"availability_zone_id":"az-1"}'
\! curl -s -o /dev/null -H 'Content-Type: application/json' -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/safekeeper","status":500,"body":"{\"msg\":\"database is on fire\"}","times":1}'
SELECT * FROM storcon.sync_catalog();
SELECT node_id FROM storcon.nodes ORDER BY node_id;
SELECT * FROM storcon.sync_catalog();
SELECT node_id FROM storcon.nodes ORDER BY node_id;

-- Within a transaction that rolls back, the mirror is rolled back too.
BEGIN;
\! curl -s -o /dev/null -H 'Authorization: Bearer regress-token' -X DELETE http://127.0.0.1:55431/control/v1/node/5
SELECT * FROM storcon.sync_catalog();
ROLLBACK;
SELECT node_id FROM storcon.nodes ORDER BY node_id;
