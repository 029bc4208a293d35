// The objects of the installed extension, found by OID and checked to BELONG to it. The hook
// worker runs as the bootstrap superuser: if it called a function or wrote a table found by name,
// a role with CREATE on the database could create schema "storcon" with look-alike objects first
// and have the superuser run its code. So the worker only ever touches objects that pg_depend
// records as members of the installed pg_storcon, in the schema the extension was installed into,
// and that schema must be owned by a superuser (PostgreSQL's rule since the search_path CVEs).
#pragma once

#include "extension/pg.hpp"

#include <string>

namespace storcon::pg {

struct ExtensionObjects {
  Oid extension = InvalidOid;
  Oid schema = InvalidOid;
  Oid mirror_nodes = InvalidOid;          // storcon._mirror_nodes(jsonb)
  Oid mirror_safekeepers = InvalidOid;    // storcon._mirror_safekeepers(jsonb)
  Oid record_notifications = InvalidOid;  // storcon._record_notifications(jsonb, integer)
  Oid prune_notifications = InvalidOid;   // storcon._prune_notifications(integer, bigint) (0.2)
  Oid compute_seen = InvalidOid;          // storcon._compute_seen(jsonb) (0.2)
  Oid nodes = InvalidOid;                 // tables
  Oid safekeepers = InvalidOid;
  Oid notifications = InvalidOid;
  Oid computes = InvalidOid;
  std::string problem;  // why something is missing although the extension exists (for the log)

  bool installed() const { return extension != InvalidOid; }
};

// Looks the objects up in the current transaction (the caller's pg_call). An object that exists
// by name but is not a member of the extension is left InvalidOid and named in `problem`.
ExtensionObjects lookup_extension_objects();

// Calls a member function by OID with up to two arguments; a NULL (void) result is fine. Runs in
// the caller's transaction; throws PgError.
Datum call_member(Oid fn, int nargs, Datum arg0, Datum arg1 = 0);
// JSON text as a jsonb argument for call_member (in the current memory context); throws PgError.
Datum jsonb_arg(const std::string& json_text);

// "schema"."table" of a member table, for SQL text.
std::string qualified_table(const ExtensionObjects& ext, Oid table);

}  // namespace storcon::pg
