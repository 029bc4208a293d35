-- Every administration function against the simulator: the exact request storcon receives
-- (method, path, body), the typed rows, and each mapped error. Arguments are validated before
-- anything is sent.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.sent() RETURNS TABLE(method text, path text, body jsonb) LANGUAGE sql AS $$
    SELECT r->>'method', r->>'path' || coalesce('?' || nullif(r->>'query', ''), ''), r->'body'
      FROM jsonb_array_elements(storcon.api('GET', '/__sim/requests')) r
     WHERE r->>'direction' = 'in'
$$;
CREATE FUNCTION pg_temp.forget() RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM storcon.api('DELETE', '/__sim/requests') $$;
SELECT pg_temp.forget();

-- tenants
SELECT * FROM storcon.tenant_create('AA000000000000000000000000000001');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT * FROM storcon.tenant_create('aa000000000000000000000000000004', shard_count => 4, placement => 'attached(0)',
                                     config => '{"pitr_interval": "7 days"}');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT length(tenant_shard_id) AS generated_id_length, node_id IS NOT NULL AS placed FROM storcon.tenant_create();
SELECT pg_temp.forget();
-- refused before sending
SELECT * FROM storcon.tenant_create('not-hex');
SELECT * FROM storcon.tenant_create(shard_count => 0);
SELECT * FROM storcon.tenant_create(stripe_size => 4096);
SELECT * FROM storcon.tenant_create(placement => 'Attached');
SELECT * FROM storcon.tenant_create(config => '[1]');
SELECT count(*) AS requests_sent FROM pg_temp.sent();
-- storcon's own refusal: an unknown tenant setting
SELECT * FROM storcon.tenant_create('aa000000000000000000000000000009', config => '{"no_such_setting": 1}');

SELECT tenant_id, shard_count, stripe_size, placement, scheduling, attached_nodes FROM storcon.tenants()
 WHERE tenant_id LIKE 'aa%';
SELECT * FROM storcon.tenant_shards('aa000000000000000000000000000004');
SELECT * FROM storcon.tenant_shards('aa00000000000000000000000000ffff');

SELECT pg_temp.forget();
SELECT storcon.tenant_config_set('aa000000000000000000000000000004', '{"gc_period": "1h", "pitr_interval": null}');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT storcon.tenant_config('aa000000000000000000000000000004');

SELECT storcon.tenant_policy('aa000000000000000000000000000001', scheduling => 'pause');
SELECT storcon.tenant_policy('aa000000000000000000000000000001', placement => 'Attached(0)', scheduling => 'Active');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT storcon.tenant_policy('aa000000000000000000000000000001', scheduling => 'sometimes');
SELECT storcon.tenant_policy('aa000000000000000000000000000001');

SELECT * FROM storcon.tenant_shard_split('aa000000000000000000000000000001', 2, 4096);
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT * FROM storcon.tenant_shard_split('aa000000000000000000000000000001', 1);

-- migration (nodes 1, 3, 4 exist after catalog.sql): the simulator refuses moves out of the
-- tenant's preferred AZ unless overridden
SELECT tenant_shard_id, node_attached FROM storcon.tenant_shards('aa000000000000000000000000000001');
SELECT storcon.shard_migrate('aa000000000000000000000000000001-0102', 4);
SELECT storcon.shard_migrate('aa000000000000000000000000000001-0102', 4, origin_node_id => 1,
                             override_scheduler => true, prewarm => false, wait => '10 seconds');
SELECT * FROM pg_temp.sent() WHERE method = 'PUT'; SELECT pg_temp.forget();
SELECT tenant_shard_id, node_attached FROM storcon.tenant_shards('aa000000000000000000000000000001');
SELECT storcon.shard_migrate('aa000000000000000000000000000001-01', 2);
SELECT storcon.shard_migrate_secondary('aa000000000000000000000000000001-0002', 3);
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
-- storcon's 408 ("Timeout waiting for shard", the work goes on) is a NOTICE, not a failure
SELECT NULL::void FROM storcon.api('POST', '/__sim/fault', '{"path_prefix": "/control/v1/tenant/aa000000000000000000000000000001-0002/migrate", "status": 408, "body": "{\"msg\":\"Timeout waiting for shard aa000000000000000000000000000001-0002\"}", "times": 1}');
SELECT storcon.shard_migrate('aa000000000000000000000000000001-0002', 1);
-- wait runs out: the error names what is still pending (storcon keeps showing the shard on node 1)
SELECT NULL::void FROM storcon.api('POST', '/__sim/fault', '{"path_prefix": "/control/v1/tenant/aa000000000000000000000000000004", "method": "GET", "status": 200, "body": "{\"tenant_id\":\"aa000000000000000000000000000004\",\"shards\":[{\"tenant_shard_id\":\"aa000000000000000000000000000004-0004\",\"node_attached\":1,\"node_secondary\":[],\"last_error\":\"\",\"is_reconciling\":true,\"is_pending_compute_notification\":false,\"is_splitting\":false,\"scheduling_policy\":\"Active\",\"preferred_az_id\":\"az-1\"}]}"}');
SET client_min_messages = warning;  -- the progress NOTICEs depend on timing
SELECT storcon.shard_migrate('aa000000000000000000000000000004-0004', 3, override_scheduler => true, wait => '1.5 seconds');
RESET client_min_messages;
SELECT NULL::void FROM storcon.api('DELETE', '/__sim/fault');
SELECT pg_temp.forget();

-- timelines
SELECT storcon.timeline_create('aa000000000000000000000000000004', 'bb000000000000000000000000000001', pg_version => 16);
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT storcon.timeline_create('aa000000000000000000000000000004', 'bb000000000000000000000000000002',
                               ancestor_timeline_id => 'bb000000000000000000000000000001', ancestor_start_lsn => '0/169AD58');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT length(storcon.timeline_create('aa000000000000000000000000000004')) AS generated_id_length;
SELECT storcon.timeline_create('aa000000000000000000000000000004', pg_version => 13);
SELECT storcon.timeline_create('aa000000000000000000000000000004', ancestor_start_lsn => '0/1');
SELECT timeline_id, ancestor_timeline_id, ancestor_lsn, pg_version, state
  FROM storcon.timelines('aa000000000000000000000000000004') WHERE timeline_id LIKE 'bb%';
SELECT storcon.timeline_delete('aa000000000000000000000000000004', 'bb000000000000000000000000000002');
SELECT timeline_id FROM storcon.timelines('aa000000000000000000000000000004') WHERE timeline_id LIKE 'bb%';
SELECT pg_temp.forget();

-- safekeepers: with one paused, no 3 distinct AZs are left and timeline creation fails (hint given)
SELECT storcon.safekeeper_set_policy(1, 'pause');
SELECT storcon.timeline_create('aa000000000000000000000000000004', 'bb000000000000000000000000000003');
SELECT storcon.safekeeper_set_policy(1, 'Active');
SELECT storcon.safekeeper_register(4, '127.0.0.44', 5454, 7676, 'az-1');
SELECT storcon.safekeeper_set_policy(4, 'decommissioned');
SELECT storcon.safekeeper_set_policy(4, 'retired');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();

-- nodes
SELECT storcon.node_register(6, '127.0.0.6', 6406, '127.0.0.6', 9806, 'az-2');
SELECT storcon.node_register(5, '127.0.0.5', 6405, '127.0.0.5', 9805, 'az-2');  -- deleted in catalog.sql
SELECT storcon.node_configure(6, scheduling => 'pause');
SELECT storcon.node_configure(6, availability => 'offline');
SELECT storcon.node_configure(6, availability => 'gone');
SELECT storcon.node_register(7, '127.0.0.7', 0, '127.0.0.7', 9807, 'az-2');
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();
SELECT * FROM storcon.node_shards(3);
SELECT storcon.node_drain(3, wait => '10 seconds');
SELECT storcon.node_cancel_drain(3);
SELECT storcon.node_fill(3, wait => '10 seconds');
SELECT storcon.node_cancel_fill(3);
SELECT storcon.node_delete(6);
SELECT storcon.node_delete(4, force => true);
SELECT * FROM pg_temp.sent(); SELECT pg_temp.forget();

-- compute bootstrap: the settings a compute of tenant aa..04 / timeline bb..01 starts with, in order
SELECT name, setting FROM storcon.compute_config('aa000000000000000000000000000004', 'bb000000000000000000000000000001');
SELECT name FROM storcon.compute_config('aa000000000000000000000000000004', NULL);
SELECT * FROM storcon.compute_config('aa000000000000000000000000000004', 'nope');
-- diagnosis (this server serves no tenant: the tenant checks are skipped)
SELECT check_name, ok FROM storcon.doctor();
-- reconcile through this server's hook worker: no tenant here, nothing to change
SELECT count(*) AS changes FROM storcon.reconcile();
SELECT pg_temp.forget();

-- the escape hatch
SELECT storcon.api('GET', '/status');
SELECT storcon.api('GET', '/control/v1/node/1')->>'listen_pg_addr' AS addr;
SELECT storcon.api('TRACE', '/status');
SELECT storcon.api('GET', 'status');
SELECT storcon.api('GET', '/v1/../status');

SELECT storcon.tenant_delete('aa000000000000000000000000000004');
SELECT storcon.tenant_delete('aa000000000000000000000000000004');
