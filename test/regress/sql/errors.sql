-- How storcon's failures reach SQL: storcon's message, DETAIL with the status and route, and a
-- SQLSTATE that fits the status.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ' | ' || regexp_replace(regexp_replace(msg, 'after \d+ ms', 'after N ms'),
                                         'after \d+ milliseconds', 'after N milliseconds') || ' | ' || coalesce(det, '');
END $$;

-- storcon down: connection refused, named by URL.
SET storcon.url = 'http://127.0.0.1:1';
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
RESET storcon.url;
-- A URL without a scheme (the runbook's "URL scheme is not allowed") is refused up front.
SET storcon.url = '127.0.0.1:1234';

-- Each storcon status, injected once on the node list.
\! curl -s -o /dev/null -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/node","status":404,"body":"{\"msg\":\"NotFound: gone\"}","times":1}'
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
\! curl -s -o /dev/null -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/node","status":409,"body":"{\"msg\":\"Conflict: busy\"}","times":1}'
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
\! curl -s -o /dev/null -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/node","status":412,"body":"{\"msg\":\"Precondition failed: no\"}","times":1}'
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
\! curl -s -o /dev/null -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/node","status":400,"body":"{\"msg\":\"Failed to parse json request\"}","times":1}'
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
\! curl -s -o /dev/null -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/node","status":500,"body":"{\"msg\":\"Reconcile error\"}","times":1}'
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
\! curl -s -o /dev/null -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/node","status":503,"body":"not json at all","times":1}'
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
\! curl -s -o /dev/null -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/node","garbage":true,"times":1}'
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');

-- Authentication: no token (401) and a wrong token (403) both map to insufficient_privilege.
SET storcon.jwt_token_file = '';
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
\! printf 'not-the-token\n' > /tmp/pg_storcon_regress_wrong_token
SET storcon.jwt_token_file = '/tmp/pg_storcon_regress_wrong_token';
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
\! rm -f /tmp/pg_storcon_regress_wrong_token
SET storcon.jwt_token_file = '/nonexistent/token';
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
RESET storcon.jwt_token_file;
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');

-- A storcon that accepts and never answers: statement_timeout cancels the call.
\! curl -s -o /dev/null -X POST http://127.0.0.1:55431/__sim/fault -d '{"path_prefix":"/control/v1/node","hang":true}'
SET statement_timeout = '300ms';
SELECT * FROM storcon.sync_catalog();
RESET statement_timeout;
-- storcon.request_timeout bounds it too.
SET storcon.request_timeout = '300ms';
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
RESET storcon.request_timeout;
\! curl -s -o /dev/null -X DELETE http://127.0.0.1:55431/__sim/fault
SELECT pg_temp.try('SELECT * FROM storcon.sync_catalog()');
