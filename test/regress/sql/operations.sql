-- The rest of storcon's routes, one function each, named in storcon_cli's vocabulary: the exact
-- request storcon receives, the typed rows, bad input refused before anything is sent, and how
-- storcon's refusals come back.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.sent() RETURNS TABLE(method text, path text, body jsonb) LANGUAGE sql AS $$
    SELECT r->>'method', r->>'path' || coalesce('?' || nullif(r->>'query', ''), ''), r->'body'
      FROM jsonb_array_elements(storcon.api('GET', '/__sim/requests')) r
     WHERE r->>'direction' = 'in'
$$;
CREATE FUNCTION pg_temp.forget() RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM storcon.api('DELETE', '/__sim/requests') $$;
CREATE FUNCTION pg_temp.fault(f jsonb) RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM storcon.api('POST', '/__sim/fault', f) $$;
SELECT count(*) AS shards FROM storcon.tenant_create('ab000000000000000000000000000001', placement => 'Attached(1)');
SELECT storcon.timeline_create('ab000000000000000000000000000001', 'ac000000000000000000000000000001');
SELECT storcon.timeline_create('ab000000000000000000000000000001', 'ac000000000000000000000000000002',
                               ancestor_timeline_id => 'ac000000000000000000000000000001');
SELECT storcon.timeline_create('ab000000000000000000000000000001', 'ac000000000000000000000000000003',
                               ancestor_timeline_id => 'ac000000000000000000000000000001');
SELECT pg_temp.forget();

-- timeline_describe: storcon's view of the timeline on each shard
SELECT tenant_shard_id, ancestor_timeline_id, last_record_lsn, pg_version, state, is_archived
  FROM storcon.timeline_describe('ab000000000000000000000000000001', 'ac000000000000000000000000000002');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT * FROM storcon.timeline_describe('ab000000000000000000000000000001', 'ac00000000000000000000000000ffff');

-- timeline_archival_config
SELECT storcon.timeline_archival_config('ab000000000000000000000000000001', 'ac000000000000000000000000000003', 'archived');
SELECT is_archived FROM storcon.timeline_describe('ab000000000000000000000000000001', 'ac000000000000000000000000000003');
SELECT storcon.timeline_archival_config('ab000000000000000000000000000001', 'ac000000000000000000000000000003', 'Unarchived');
SELECT method, path, body FROM pg_temp.sent() WHERE method = 'PUT'; SELECT pg_temp.forget();
SELECT storcon.timeline_archival_config('ab000000000000000000000000000001', 'ac000000000000000000000000000003', 'frozen');
SELECT storcon.timeline_archival_config('ab000000000000000000000000000001', 'ac000000000000000000000000000003', NULL);

-- timeline_detach_ancestor: the branches of the same ancestor taken at or before this one's
-- branch point are re-parented onto it
SELECT * FROM storcon.timeline_detach_ancestor('ab000000000000000000000000000001', 'ac000000000000000000000000000002');
SELECT timeline_id, ancestor_timeline_id FROM storcon.timelines('ab000000000000000000000000000001');
SELECT * FROM storcon.timeline_detach_ancestor('ab000000000000000000000000000001', 'ac000000000000000000000000000003',
                                               behavior => 'Multi_Level_And_No_Reparent');
SELECT method, path, body FROM pg_temp.sent() WHERE method = 'PUT'; SELECT pg_temp.forget();
SELECT * FROM storcon.timeline_detach_ancestor('ab000000000000000000000000000001', 'ac000000000000000000000000000001');
SELECT * FROM storcon.timeline_detach_ancestor('ab000000000000000000000000000001', 'ac000000000000000000000000000002',
                                               behavior => 'sideways');
SELECT pg_temp.forget();

-- timeline_import: a timeline whose WAL safekeepers 1, 2, 3 hold goes under storcon's management
SELECT storcon.timeline_import('ab000000000000000000000000000001', 'ac000000000000000000000000000009', '0/169AD58', ARRAY[1, 2, 3]);
SELECT * FROM storcon.timeline_locate('ab000000000000000000000000000001', 'ac000000000000000000000000000009');
SELECT method, path, body FROM pg_temp.sent() WHERE method = 'POST'; SELECT pg_temp.forget();
SELECT storcon.timeline_import('ab000000000000000000000000000001', 'ac000000000000000000000000000009', NULL, ARRAY[1, 2, 3]);
SELECT storcon.timeline_import('ab000000000000000000000000000001', 'ac000000000000000000000000000009', '0/1', '{}');
SELECT count(*) AS requests_sent FROM pg_temp.sent();
SELECT storcon.timeline_import('ab000000000000000000000000000001', 'ac000000000000000000000000000009', '0/1', ARRAY[1, 2, 99]);
SELECT method, path FROM pg_temp.sent(); SELECT pg_temp.forget();

-- shard_cancel_reconcile
SELECT storcon.shard_cancel_reconcile('AB000000000000000000000000000001');
SELECT storcon.shard_cancel_reconcile('ab000000000000000000000000000001-0104');
SELECT storcon.shard_cancel_reconcile('ab0000000000000000000000000000-1');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();

-- tenant_set_preferred_az: every shard of the tenant; returns what storcon changed
SELECT * FROM storcon.tenant_set_preferred_az('ab000000000000000000000000000001', 'az-2');
SELECT preferred_az FROM storcon.tenant_shards('ab000000000000000000000000000001');
SELECT * FROM storcon.tenant_set_preferred_az('ab000000000000000000000000000001', NULL);
SELECT method, path, body FROM pg_temp.sent() WHERE method = 'PUT'; SELECT pg_temp.forget();
SELECT * FROM storcon.tenant_set_preferred_az('ab000000000000000000000000000001', ' ');
SELECT * FROM storcon.tenant_set_preferred_az('ab00000000000000000000000000ffff', 'az-1');
SELECT pg_temp.forget();

-- tenant_secondary_download: done when every secondary location has what the heatmap lists
SELECT * FROM storcon.tenant_secondary_download('ab000000000000000000000000000001');
SELECT pg_temp.fault('{"path_prefix": "/v1/tenant/ab000000000000000000000000000001/secondary/download", "status": 202, "body": "{\"heatmap_mtime\":\"2025-06-01T10:00:00.000Z\",\"layers_downloaded\":3,\"layers_total\":10,\"bytes_downloaded\":3000,\"bytes_total\":10000}", "times": 1}');
SELECT done, layers_downloaded, layers_total, bytes_downloaded, bytes_total, heatmap_mtime AT TIME ZONE 'UTC' AS heatmap_mtime_utc
  FROM storcon.tenant_secondary_download('ab000000000000000000000000000001', wait => '2.5 seconds');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT * FROM storcon.tenant_secondary_download('ab000000000000000000000000000001', wait => '-1 second');

-- node_cancel_delete: storcon refuses when no deletion runs
SELECT storcon.node_cancel_delete(1);
SELECT storcon.node_cancel_delete(NULL);
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();

-- reconcile_all, consistency_check, leader
SELECT storcon.reconcile_all();
SELECT storcon.consistency_check();
SELECT pg_temp.fault('{"path_prefix": "/debug/v1/consistency_check", "status": 500, "body": "{\"msg\":\"Scheduler checks: shard ab000000000000000000000000000001 attached to unknown node 9\"}", "times": 1}');
SELECT storcon.consistency_check();
SELECT address, started_at IS NOT NULL AS has_started_at FROM storcon.leader();
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();

-- step_down: what this storcon observed of every shard's locations, then it leads no more
SELECT * FROM storcon.step_down() WHERE tenant_shard_id LIKE 'ab%' ORDER BY mode;
SELECT method, path FROM pg_temp.sent();
SELECT NULL::void FROM storcon.api('POST', '/__sim/restart', '{"wait": true}');
SELECT storcon.tenant_delete('ab000000000000000000000000000001');
SELECT pg_temp.forget();
