-- Operations storcon answers only when they are done (shard split, tenant and timeline delete,
-- safekeeper migration) are not cut short by storcon.request_timeout: they wait as long as storcon
-- takes, bounded by statement_timeout. Timeline delete asks again while storcon answers 409; tenant
-- delete while it answers 408. (The progress NOTICEs depend on timing: test/e2e/test_long_calls.py
-- checks them, and cancellation.)
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.sent() RETURNS TABLE(method text, path text, status int) LANGUAGE sql AS $$
    SELECT r->>'method', r->>'path' || coalesce('?' || nullif(r->>'query', ''), ''), (r->>'status')::int
      FROM jsonb_array_elements(storcon.api('GET', '/__sim/requests')) r
     WHERE r->>'direction' = 'in'
$$;
CREATE FUNCTION pg_temp.forget() RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM storcon.api('DELETE', '/__sim/requests') $$;
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ' | ' || regexp_replace(msg, '\d+ milliseconds', 'N milliseconds');
END $$;
CREATE FUNCTION pg_temp.fault(f jsonb) RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM storcon.api('POST', '/__sim/fault', f) $$;
SELECT count(*) AS created FROM storcon.tenant_create('cc000000000000000000000000000001');
SELECT storcon.timeline_create('cc000000000000000000000000000001', 'dd000000000000000000000000000001');
SELECT storcon.timeline_create('cc000000000000000000000000000001', 'dd000000000000000000000000000002');
SELECT pg_temp.forget();

CREATE FUNCTION pg_temp.sim_config(c jsonb) RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM storcon.api('POST', '/__sim/config', c) $$;

-- A split that takes longer than storcon.request_timeout (the simulator's pageservers take 1.5 s)
-- succeeds.
SET storcon.request_timeout = '300ms';
SELECT pg_temp.sim_config('{"split_seconds": 1.5}');
SET client_min_messages = warning;
SELECT * FROM storcon.tenant_shard_split('cc000000000000000000000000000001', 2);
RESET client_min_messages;
-- ... while an ordinary call is still bounded by it
SELECT pg_temp.fault('{"path_prefix": "/control/v1/tenant/cc000000000000000000000000000001", "method": "GET", "delay_ms": 1500, "times": 1}');
SELECT pg_temp.try($$SELECT count(*) FROM storcon.tenant_shards('cc000000000000000000000000000001')$$);
RESET storcon.request_timeout;

-- statement_timeout ends the wait; the error says what was waited for and that repeating is safe.
SET statement_timeout = '500ms';
SELECT * FROM storcon.tenant_shard_split('cc000000000000000000000000000001', 4);
RESET statement_timeout;
-- repeating waits for the split storcon went on with, and returns the children
SET client_min_messages = warning;
SELECT * FROM storcon.tenant_shard_split('cc000000000000000000000000000001', 4);
RESET client_min_messages;
SELECT pg_temp.sim_config('{"split_seconds": 0}');
SELECT pg_temp.forget();

-- Timeline delete: storcon's 409 ("still deleting") means ask again, until it answers 200.
SELECT pg_temp.fault('{"path_prefix": "/v1/tenant/cc000000000000000000000000000001/timeline/dd000000000000000000000000000002", "method": "DELETE", "status": 409, "body": "null", "times": 2}');
SET client_min_messages = warning;
SELECT storcon.timeline_delete('cc000000000000000000000000000001', 'dd000000000000000000000000000002');
RESET client_min_messages;
SELECT * FROM pg_temp.sent();
SELECT timeline_id FROM storcon.timelines('cc000000000000000000000000000001');
SELECT pg_temp.forget();
-- a 404 after asking again means the tenant, and with it the timeline, went meanwhile: done
SELECT pg_temp.fault('{"path_prefix": "/v1/tenant/cc000000000000000000000000000001/timeline/dd000000000000000000000000000006", "method": "DELETE", "status": 409, "body": "null", "times": 1}');
SELECT pg_temp.fault('{"path_prefix": "/v1/tenant/cc000000000000000000000000000001/timeline/dd000000000000000000000000000006", "method": "DELETE", "status": 404, "body": "{\"msg\":\"NotFound: Tenant not found\"}", "times": 1}');
SET client_min_messages = warning;
SELECT storcon.timeline_delete('cc000000000000000000000000000001', 'dd000000000000000000000000000006');
RESET client_min_messages;
SELECT * FROM pg_temp.sent();
SELECT pg_temp.forget();
-- The same against the simulator's own pace: deleting takes 60 storcon-seconds and storcon answers
-- 409 after waiting 25 (at 1/25 of real time: 2.4 s and 1 s).
SELECT storcon.timeline_create('cc000000000000000000000000000001', 'dd000000000000000000000000000005');
SELECT pg_temp.sim_config('{"time_scale": 0.04, "timeline_delete_seconds": 60}');
SELECT pg_temp.forget();
SET client_min_messages = warning;
SELECT storcon.timeline_delete('cc000000000000000000000000000001', 'dd000000000000000000000000000005');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE status = 409) > 0 AS asked_again, (array_agg(status ORDER BY ord DESC))[1] AS last_status
  FROM pg_temp.sent() WITH ORDINALITY AS s(method, path, status, ord);
SELECT pg_temp.sim_config('{"time_scale": 1, "timeline_delete_seconds": 0}');
SELECT pg_temp.forget();
-- any other error is an error at once
SELECT pg_temp.fault('{"path_prefix": "/v1/tenant/cc000000000000000000000000000001/timeline/dd000000000000000000000000000001", "method": "DELETE", "status": 412, "body": "{\"msg\":\"Precondition failed: Cannot delete timeline which has child timelines\"}", "times": 1}');
SELECT storcon.timeline_delete('cc000000000000000000000000000001', 'dd000000000000000000000000000001');
SELECT * FROM pg_temp.sent();
SELECT pg_temp.forget();

-- timeline_create without pg_version creates a timeline of this server's major version.
SELECT storcon.timeline_create('cc000000000000000000000000000001', 'dd000000000000000000000000000003');
SELECT (r->'body'->>'pg_version')::int = current_setting('server_version_num')::int / 10000 AS this_servers_version
  FROM jsonb_array_elements(storcon.api('GET', '/__sim/requests')) r WHERE r->>'method' = 'POST';
SELECT pg_version = current_setting('server_version_num')::int / 10000 AS created_with_it
  FROM storcon.timelines('cc000000000000000000000000000001') WHERE timeline_id = 'dd000000000000000000000000000003';
-- a branch inherits its ancestor's version: none is sent
SELECT pg_temp.forget();
SELECT storcon.timeline_create('cc000000000000000000000000000001', 'dd000000000000000000000000000004',
                               ancestor_timeline_id => 'dd000000000000000000000000000003');
SELECT r->'body' AS body FROM jsonb_array_elements(storcon.api('GET', '/__sim/requests')) r WHERE r->>'method' = 'POST';
SELECT pg_temp.forget();

-- Tenant delete: a 408 (detaching took longer than storcon waits) means ask again; a 404 after it
-- means the tenant is gone. A 404 at once is still an error.
SELECT pg_temp.fault('{"path_prefix": "/v1/tenant/cc000000000000000000000000000001", "method": "DELETE", "status": 408, "body": "{\"msg\":\"Timeout waiting for shard cc000000000000000000000000000001-0104\"}", "times": 1}');
SET client_min_messages = warning;
SELECT storcon.tenant_delete('cc000000000000000000000000000001');
RESET client_min_messages;
SELECT * FROM pg_temp.sent();
SELECT pg_temp.forget();
SELECT pg_temp.fault('{"path_prefix": "/v1/tenant/cc000000000000000000000000000001", "method": "DELETE", "status": 408, "body": "{\"msg\":\"Timeout waiting for shard cc000000000000000000000000000001-0104\"}", "times": 1}');
SET client_min_messages = warning;
SELECT storcon.tenant_delete('cc000000000000000000000000000001');
RESET client_min_messages;
SELECT * FROM pg_temp.sent();
SELECT storcon.tenant_delete('cc000000000000000000000000000001');
SELECT NULL::void FROM storcon.api('DELETE', '/__sim/fault');
SELECT pg_temp.forget();
-- Against the simulator's pace: detaching takes 60 storcon-seconds, storcon gives up waiting after
-- 30 with a 408 (at 1/25 of real time: 2.4 s and 1.2 s).
SELECT count(*) AS created FROM storcon.tenant_create('cc000000000000000000000000000002');
SELECT pg_temp.sim_config('{"time_scale": 0.04, "tenant_delete_seconds": 60}');
SELECT pg_temp.forget();
SET client_min_messages = warning;
SELECT storcon.tenant_delete('cc000000000000000000000000000002');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE status = 408) > 0 AS asked_again, (array_agg(status ORDER BY ord DESC))[1] AS last_status
  FROM pg_temp.sent() WITH ORDINALITY AS s(method, path, status, ord);
SELECT count(*) AS tenants_left FROM storcon.tenants() WHERE tenant_id = 'cc000000000000000000000000000002';
SELECT pg_temp.sim_config('{"time_scale": 1, "tenant_delete_seconds": 0}');
SELECT pg_temp.forget();
