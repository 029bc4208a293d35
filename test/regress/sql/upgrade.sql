-- The upgrade chain: the oldest released version, updated with ALTER EXTENSION pg_storcon UPDATE,
-- must leave the same catalog as a fresh install of default_version. public.storcon_catalog()
-- describes the whole extension without OIDs or role names (owner-relative): its schema, every
-- member, and anything in the schema that is not a member; functions (signature, result, defaults,
-- volatility, SECURITY DEFINER, search_path, language, body, privileges), tables (columns in order,
-- types, defaults, NOT NULL, identity, constraints, indexes, triggers, policies, privileges),
-- sequences, types, comments. Any difference is listed line by line.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE storcon_catalog_template;
\c storcon_catalog_template
CREATE FUNCTION public.storcon_catalog() RETURNS SETOF text LANGUAGE sql STABLE AS $fn$
WITH ext AS (
    SELECT e.oid, e.extowner, e.extnamespace, e.extversion, e.extrelocatable, e.extconfig, e.extcondition
      FROM pg_extension e WHERE e.extname = 'pg_storcon'
), who(oid, name) AS (          -- roles named relative to the extension's owner
    SELECT r.oid, CASE WHEN r.oid = (SELECT extowner FROM ext) THEN 'OWNER' ELSE r.rolname END FROM pg_roles r
    UNION ALL SELECT 0, 'PUBLIC'
), acl(kind, objid, text) AS (  -- NULL ACLs as the default they stand for, grant by grant, sorted
    SELECT k, o, (SELECT coalesce(string_agg(g, ',' ORDER BY g), '-')
                    FROM (SELECT format('%s:%s%s<-%s', ge.name, a.privilege_type, CASE WHEN a.is_grantable THEN '*' ELSE '' END, gr.name)
                            FROM aclexplode(coalesce(x, acldefault(k, owner))) a
                            JOIN who ge ON ge.oid = a.grantee JOIN who gr ON gr.oid = a.grantor) AS grants(g))
      FROM (SELECT 'f'::"char", p.oid, p.proacl, p.proowner FROM pg_proc p
            UNION ALL SELECT CASE WHEN c.relkind = 'S' THEN 's'::"char" ELSE 'r' END, c.oid, c.relacl, c.relowner FROM pg_class c
            UNION ALL SELECT 'n', n.oid, n.nspacl, n.nspowner FROM pg_namespace n
            UNION ALL SELECT 'T', t.oid, t.typacl, t.typowner FROM pg_type t) AS objs(k, o, x, owner)
), member AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), nsp AS (SELECT (SELECT extnamespace FROM ext) AS oid)
-- the extension and its schema
SELECT format('extension pg_storcon version=%s relocatable=%s schema=%s config=%s', e.extversion, e.extrelocatable,
              e.extnamespace::regnamespace,
              (SELECT string_agg(format('%s[%s]', c::regclass, coalesce(e.extcondition[i], '')), ',' ORDER BY c::regclass::text)
                 FROM unnest(e.extconfig) WITH ORDINALITY AS u(c, i)))
  FROM ext e
UNION ALL
SELECT format('schema %s owner=%s acl=%s', n.nspname, w.name, a.text)
  FROM pg_namespace n JOIN who w ON w.oid = n.nspowner JOIN acl a ON a.kind = 'n' AND a.objid = n.oid
 WHERE n.oid = (SELECT oid FROM nsp)
UNION ALL
-- membership: every object that belongs to the extension, and anything in its schema that does not
SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) FROM member m
UNION ALL
SELECT 'NOT A MEMBER ' || pg_describe_object(o.classid, o.objid, 0)
  FROM (SELECT 'pg_class'::regclass, c.oid FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM nsp) AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
        UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM nsp)) AS o(classid, objid)
 WHERE (o.classid, o.objid) NOT IN (SELECT classid, objid FROM member)
UNION ALL
-- functions: signature, result, defaults, attributes, body, privileges
SELECT format('function %s returns %s args(%s) kind=%s lang=%s volatile=%s strict=%s secdef=%s leakproof=%s parallel=%s cost=%s rows=%s config=%s owner=%s acl=%s source=%s bin=%s',
              p.oid::regprocedure, pg_get_function_result(p.oid), pg_get_function_arguments(p.oid), p.prokind, l.lanname,
              p.provolatile, p.proisstrict, p.prosecdef, p.proleakproof, p.proparallel, p.procost, p.prorows,
              coalesce(array_to_string(p.proconfig, ';'), '-'), w.name, a.text, md5(p.prosrc), coalesce(p.probin, '-'))
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN who w ON w.oid = p.proowner
  JOIN acl a ON a.kind = 'f' AND a.objid = p.oid
 WHERE p.pronamespace = (SELECT oid FROM nsp) OR p.oid IN (SELECT objid FROM member WHERE classid = 'pg_proc'::regclass)
UNION ALL
-- relations
SELECT format('relation %s kind=%s persistence=%s rls=%s/%s options=%s owner=%s acl=%s', c.oid::regclass, c.relkind,
              c.relpersistence, c.relrowsecurity, c.relforcerowsecurity, coalesce(array_to_string(c.reloptions, ','), '-'),
              w.name, a.text)
  FROM pg_class c JOIN who w ON w.oid = c.relowner JOIN acl a ON a.objid = c.oid AND a.kind IN ('r', 's')
 WHERE c.relnamespace = (SELECT oid FROM nsp)
UNION ALL
SELECT format('column %s #%s %s %s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s', c.oid::regclass,
              lpad((row_number() OVER (PARTITION BY c.oid ORDER BY att.attnum))::text, 3, '0'), att.attname, format_type(att.atttypid, att.atttypmod),
              att.attnotnull, coalesce(replace(pg_get_expr(ad.adbin, ad.adrelid), E'\n', ' '), '-'), att.attidentity,
              att.attgenerated, coalesce(att.attcollation::regcollation::text, '-'), coalesce(att.attacl::text, '-'))
  FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = att.attnum
 WHERE c.relnamespace = (SELECT oid FROM nsp) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT format('constraint %s %s %s deferrable=%s/%s', co.conrelid::regclass, co.conname, pg_get_constraintdef(co.oid),
              co.condeferrable, co.condeferred)
  FROM pg_constraint co WHERE co.connamespace = (SELECT oid FROM nsp)
UNION ALL
SELECT format('index %s', pg_get_indexdef(i.indexrelid))
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = (SELECT oid FROM nsp)
UNION ALL
SELECT format('trigger %s', pg_get_triggerdef(t.oid))
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = (SELECT oid FROM nsp)
UNION ALL
SELECT format('policy %s on %s: %s', pol.polname, pol.polrelid::regclass, pg_get_expr(pol.polqual, pol.polrelid))
  FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid WHERE c.relnamespace = (SELECT oid FROM nsp)
UNION ALL
SELECT format('sequence %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s',
              s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
              coalesce((SELECT pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refclassid = 'pg_class'::regclass
                           AND d.deptype IN ('a', 'i')), '-'))
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = (SELECT oid FROM nsp)
UNION ALL
SELECT format('type %s type=%s owner=%s acl=%s labels=%s', t.oid::regtype, t.typtype, w.name, a.text,
              coalesce((SELECT string_agg(en.enumlabel, ',' ORDER BY en.enumsortorder) FROM pg_enum en WHERE en.enumtypid = t.oid), '-'))
  FROM pg_type t JOIN who w ON w.oid = t.typowner JOIN acl a ON a.kind = 'T' AND a.objid = t.oid
 WHERE t.typnamespace = (SELECT oid FROM nsp) AND t.typrelid = 0 AND t.typelem = 0
UNION ALL
SELECT format('comment %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), md5(d.description))
  FROM pg_description d
 WHERE (d.classoid, d.objoid) IN (SELECT classid, objid FROM member)
    OR (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = (SELECT oid FROM nsp)))
UNION ALL
SELECT format('default privileges for %s in %s: %s', w.name, coalesce(da.defaclnamespace::regnamespace::text, '-'), da.defaclacl)
  FROM pg_default_acl da JOIN who w ON w.oid = da.defaclrole WHERE da.defaclnamespace IN (0, (SELECT oid FROM nsp))
$fn$;
\c contrib_regression
CREATE DATABASE storcon_upgraded TEMPLATE storcon_catalog_template;
CREATE DATABASE storcon_fresh TEMPLATE storcon_catalog_template;

\c storcon_upgraded
SELECT version AS oldest FROM pg_available_extension_versions WHERE name = 'pg_storcon'
 ORDER BY string_to_array(version, '.')::int[] LIMIT 1 \gset
CREATE EXTENSION pg_storcon VERSION :'oldest';
-- what users put in the tables survives the update
INSERT INTO storcon.nodes VALUES (1, 'ps1', 6400, 'ps1', 9898, NULL, NULL, NULL, 'az-1', 'Active', 'Active', now());
ALTER EXTENSION pg_storcon UPDATE;
SELECT e.extversion = a.default_version AS at_default_version
  FROM pg_extension e, pg_available_extensions a WHERE e.extname = 'pg_storcon' AND a.name = 'pg_storcon';
SELECT node_id, listen_pg_addr FROM storcon.nodes;
SELECT string_agg(line, E'\n' ORDER BY line) AS upgraded_catalog FROM public.storcon_catalog() AS line \gset

\c storcon_fresh
CREATE EXTENSION pg_storcon;
CREATE TEMP TABLE upgraded AS SELECT regexp_split_to_table(:'upgraded_catalog', E'\n') AS line;
CREATE TEMP TABLE fresh AS SELECT line FROM public.storcon_catalog() AS line;
SELECT line AS only_after_update FROM upgraded EXCEPT SELECT line FROM fresh ORDER BY 1;
SELECT line AS only_in_fresh_install FROM fresh EXCEPT SELECT line FROM upgraded ORDER BY 1;
-- the description is not empty: it covers each kind of object the extension has
SELECT split_part(line, ' ', 1) AS kind, count(*) > 0 AS described
  FROM fresh GROUP BY 1 ORDER BY 1;

\c contrib_regression
DROP DATABASE storcon_upgraded;
DROP DATABASE storcon_fresh;
DROP DATABASE storcon_catalog_template;
