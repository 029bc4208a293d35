-- Safekeeper placement of timelines: locate, migrate (ids checked against the mirror first, which
-- is refreshed once when it would refuse), abort, and the doctor's safekeeper checks. The
-- simulator answers a migration once the computes are notified (it has no hook here unless told).
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.sent() RETURNS TABLE(method text, path text, body jsonb) LANGUAGE sql AS $$
    SELECT r->>'method', r->>'path' || coalesce('?' || nullif(r->>'query', ''), ''), r->'body'
      FROM jsonb_array_elements(storcon.api('GET', '/__sim/requests')) r
     WHERE r->>'direction' = 'in'
$$;
CREATE FUNCTION pg_temp.forget() RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM storcon.api('DELETE', '/__sim/requests') $$;
SELECT count(*) AS shards FROM storcon.tenant_create('ee000000000000000000000000000001');
SELECT storcon.timeline_create('ee000000000000000000000000000001', 'ff000000000000000000000000000001');
SELECT * FROM storcon.timeline_locate('ee000000000000000000000000000001', 'ff000000000000000000000000000001');
SELECT storcon.safekeeper_register(5, '127.0.0.55', 5455, 7675, 'az-2');
SELECT storcon.safekeeper_set_policy(5, 'Active');
SELECT pg_temp.forget();

-- refused before anything is sent
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', NULL);
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', '{}');
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', ARRAY[1, NULL, 3]);
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', ARRAY[1, 2, 1]);
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'nope', ARRAY[1, 2, 3]);
SELECT * FROM storcon.safekeeper_migrate_abort('nope', 'ff000000000000000000000000000001');
SELECT * FROM storcon.timeline_locate('ee000000000000000000000000000001', NULL);
SELECT count(*) AS requests_sent FROM pg_temp.sent();

-- an id storcon does not know: the mirror is refreshed once, then a clear error; no migration is sent
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', ARRAY[1, 2, 9]);
SELECT method, path FROM pg_temp.sent(); SELECT pg_temp.forget();
-- a safekeeper that is not Active (4 was decommissioned in admin.sql)
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', ARRAY[1, 2, 4]);
SELECT method, path FROM pg_temp.sent(); SELECT pg_temp.forget();

-- a migration (5 is in the mirror since the refresh): storcon answers when it is done, and the
-- function returns the generation and set in effect afterwards
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', ARRAY[1, 2, 5]);
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
-- the same set again changes nothing
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', ARRAY[1, 2, 5]);
SELECT pg_temp.forget();

-- storcon cannot reach the compute hook (it retries for minutes: the simulator runs 100 times
-- faster here): the migration stops half way (joint configuration)
SELECT NULL::void FROM storcon.api('POST', '/__sim/config', '{"control_plane_url": "http://127.0.0.1:1", "time_scale": 0.01}');
SET client_min_messages = warning;
SELECT * FROM storcon.safekeeper_migrate('ee000000000000000000000000000001', 'ff000000000000000000000000000001', ARRAY[1, 2, 3]);
RESET client_min_messages;
SELECT * FROM storcon.timeline_locate('ee000000000000000000000000000001', 'ff000000000000000000000000000001');
-- the doctor's safekeeper checks, for a compute still on generation 3
SELECT * FROM storcon._doctor_safekeepers('ee000000000000000000000000000001', 'ff000000000000000000000000000001',
                                          'g#3:127.0.0.1:5451,127.0.0.1:5452,127.0.0.55:5455');
SELECT NULL::void FROM storcon.api('POST', '/__sim/config', '{"control_plane_url": null, "time_scale": 1}');
SELECT pg_temp.forget();
SELECT * FROM storcon.safekeeper_migrate_abort('ee000000000000000000000000000001', 'ff000000000000000000000000000001');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT * FROM storcon._doctor_safekeepers('ee000000000000000000000000000001', 'ff000000000000000000000000000001',
                                          'g#5:127.0.0.1:5451,127.0.0.1:5452,127.0.0.55:5455');
-- a compute whose neon.safekeepers carries no generation is behind storcon's
SELECT check_name, ok, detail FROM storcon._doctor_safekeepers('ee000000000000000000000000000001',
        'ff000000000000000000000000000001', '127.0.0.1:5451,127.0.0.1:5452,127.0.0.55:5455')
 WHERE check_name = 'safekeeper_generation';
-- a timeline whose safekeepers storcon does not manage
SELECT * FROM storcon._doctor_safekeepers('ee000000000000000000000000000001', 'ff0000000000000000000000000000ff', 'g#1:x:1');
-- doctor() runs these on a compute (neon.tenant_id and neon.timeline_id set): not here
SELECT count(*) AS safekeeper_checks_here FROM storcon.doctor() WHERE check_name LIKE '%safekeeper%' AND check_name <> 'safekeepers';
SELECT storcon.tenant_delete('ee000000000000000000000000000001');
SELECT pg_temp.forget();
