-- storcon.api() refuses paths with dot segments, raw or percent-encoded in any case, before
-- anything is sent: libcurl would resolve them away (and storcon's router decodes %2e), so the
-- request would reach another route than the one written.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.sent() RETURNS TABLE(method text, path text) LANGUAGE sql AS $$
    SELECT r->>'method', r->>'path' || coalesce('?' || nullif(r->>'query', ''), '')
      FROM jsonb_array_elements(storcon.api('GET', '/__sim/requests')) r
     WHERE r->>'direction' = 'in'
$$;
CREATE FUNCTION pg_temp.forget() RETURNS void LANGUAGE sql AS $$ SELECT NULL::void FROM storcon.api('DELETE', '/__sim/requests') $$;
SELECT pg_temp.forget();

SELECT storcon.api('GET', '/control/v1/node/..');
SELECT storcon.api('GET', '/control/v1/%2e%2e/x');
SELECT storcon.api('GET', '/v1/tenant/%2E%2E');
SELECT storcon.api('GET', '/v1/tenant/.%2e');
SELECT storcon.api('GET', '/v1/tenant/%2e.');
SELECT storcon.api('GET', '/v1/tenant/%2E/config');
SELECT storcon.api('DELETE', '/control/v1/./node/1');
SELECT storcon.api('GET', '/v1/tenant/..?x=1');
-- an encoded slash or a broken escape would also change what storcon routes
SELECT storcon.api('GET', '/v1/tenant/%2f..%2f');
SELECT storcon.api('GET', '/v1/tenant/%2');
-- the long-operation transport checks the same way
SELECT * FROM storcon._long_api('DELETE', '/v1/tenant/%2e%2E', NULL, 'deleting');
SELECT count(*) AS requests_sent FROM pg_temp.sent();

-- dots inside a name and a query that looks like a path are fine and are sent as written
SELECT storcon.api('GET', '/control/v1/node/1...');
SELECT storcon.api('GET', '/status?next=/../x');
SELECT * FROM pg_temp.sent();
