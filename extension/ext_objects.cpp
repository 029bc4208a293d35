#include "extension/ext_objects.hpp"

#include "extension/boundary.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "utils/fmgroids.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace storcon::pg {

namespace {

// pg_extension.extnamespace (PostgreSQL 15 exports no get_extension_schema). Inside pg_call.
Oid extension_schema(Oid ext) {
  Oid nsp = InvalidOid;
  Relation rel = table_open(ExtensionRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext));
  SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, nullptr, 1, &key);
  HeapTuple tuple = systable_getnext(scan);
  if (HeapTupleIsValid(tuple)) nsp = ((Form_pg_extension)GETSTRUCT(tuple))->extnamespace;
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return nsp;
}

// Called inside pg_call: plain C data only.
Oid member_function(Oid ext, Oid nsp, const char* name, int nargs, const Oid* argtypes, std::string* problem) {
  Oid fn = InvalidOid;
  const char* why = nullptr;
  pg_call([&] {
    oidvector* args = buildoidvector(argtypes, nargs);
    fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name), PointerGetDatum(args),
                         ObjectIdGetDatum(nsp));
    if (OidIsValid(fn) && getExtensionOfObject(ProcedureRelationId, fn) != ext) {
      fn = InvalidOid;
      why = "is not a member of the extension";
    } else if (!OidIsValid(fn)) {
      why = "is missing";
    }
  });
  if (why != nullptr) *problem += std::string(problem->empty() ? "" : "; ") + "function " + name + " " + why;
  return fn;
}

Oid member_table(Oid ext, Oid nsp, const char* name, std::string* problem) {
  Oid rel = InvalidOid;
  const char* why = nullptr;
  pg_call([&] {
    rel = get_relname_relid(name, nsp);
    if (OidIsValid(rel) && getExtensionOfObject(RelationRelationId, rel) != ext) {
      rel = InvalidOid;
      why = "is not a member of the extension";
    } else if (!OidIsValid(rel)) {
      why = "is missing";
    }
  });
  if (why != nullptr) *problem += std::string(problem->empty() ? "" : "; ") + "table " + name + " " + why;
  return rel;
}

}  // namespace

ExtensionObjects lookup_extension_objects() {
  ExtensionObjects out;
  Oid ext = InvalidOid, nsp = InvalidOid;
  bool owner_ok = false;
  pg_call([&] {
    ext = get_extension_oid("pg_storcon", true);
    if (!OidIsValid(ext)) return;
    nsp = extension_schema(ext);
    HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
    if (HeapTupleIsValid(tup)) {
      owner_ok = superuser_arg(((Form_pg_namespace)GETSTRUCT(tup))->nspowner);
      ReleaseSysCache(tup);
    }
  });
  if (!OidIsValid(ext)) return out;
  if (!owner_ok) {
    out.problem = "the extension's schema is not owned by a superuser; the worker will not use it";
    return out;
  }
  out.extension = ext;
  out.schema = nsp;
  const Oid jsonb[] = {JSONBOID};
  const Oid jsonb_int[] = {JSONBOID, INT4OID};
  out.mirror_nodes = member_function(ext, nsp, "_mirror_nodes", 1, jsonb, &out.problem);
  out.mirror_safekeepers = member_function(ext, nsp, "_mirror_safekeepers", 1, jsonb, &out.problem);
  out.record_notifications = member_function(ext, nsp, "_record_notifications", 2, jsonb_int, &out.problem);
  out.nodes = member_table(ext, nsp, "nodes", &out.problem);
  out.safekeepers = member_table(ext, nsp, "safekeepers", &out.problem);
  out.notifications = member_table(ext, nsp, "notifications", &out.problem);
  std::string ignored;  // the registry arrives with 0.2: absent from an 0.1 install
  out.computes = member_table(ext, nsp, "computes", &ignored);
  out.compute_seen = member_function(ext, nsp, "_compute_seen", 1, jsonb, &ignored);
  const Oid int_bigint[] = {INT4OID, INT8OID};  // 0.1 pruned inside _record_notifications
  out.prune_notifications = member_function(ext, nsp, "_prune_notifications", 2, int_bigint, &ignored);
  return out;
}

Datum call_member(Oid fn, int nargs, Datum arg0, Datum arg1) {
  Datum result = 0;
  pg_call([&] {
    FmgrInfo flinfo;
    fmgr_info(fn, &flinfo);
    LOCAL_FCINFO(fcinfo, 2);
    InitFunctionCallInfoData(*fcinfo, &flinfo, nargs, InvalidOid, nullptr, nullptr);
    fcinfo->args[0].value = arg0;
    fcinfo->args[0].isnull = false;
    fcinfo->args[1].value = arg1;
    fcinfo->args[1].isnull = false;
    result = FunctionCallInvoke(fcinfo);
  });
  return result;
}

Datum jsonb_arg(const std::string& json_text) {
  const char* text = json_text.c_str();
  Datum arg = 0;
  pg_call([&] { arg = DirectFunctionCall1(jsonb_in, CStringGetDatum(text)); });
  return arg;
}

std::string qualified_table(const ExtensionObjects& ext, Oid table) {
  const char* q = nullptr;
  pg_call([&] { q = quote_qualified_identifier(get_namespace_name(ext.schema), get_rel_name(table)); });
  return q;
}

}  // namespace storcon::pg
