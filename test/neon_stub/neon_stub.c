/*
 * neon_stub.c -- TEST-ONLY stand-in for the compute GUCs of Neon's "neon"
 * extension.
 *
 * Why this file exists: pg_storcon rewrites neon.pageserver_connstring,
 * neon.stripe_size and neon.safekeepers, but vanilla PostgreSQL does not
 * define them.  This library defines them with the same names, types,
 * defaults, contexts, ranges and flags as Neon (pgxn/neon/libpagestore.c,
 * walproposer_pg.c; see reference/neon-contract.md section 2), and records
 * what Neon's postmaster would route with:
 *
 *   Neon's postmaster parses neon.pageserver_connstring in the GUC's assign
 *   hook and stores it in shared memory together with the value neon.stripe_size
 *   has AT THAT MOMENT.  Config items are applied in file order, so if the
 *   stripe size line comes after the connstring line, the new map is stored
 *   with the old stripe size.  The stub records exactly that, so tests can
 *   prove the order pg_storcon writes.
 *
 * Only the postmaster writes the record; backends read it through the
 * neon_stub_*() SQL functions.  Nothing here talks to a pageserver.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

/* Limits from Neon's pagestore_client.h. */
#define MAX_SHARDS 128
#define MAX_PAGESERVER_CONNSTRING_SIZE 256

#define CONNSTRING_BUF (MAX_SHARDS * MAX_PAGESERVER_CONNSTRING_SIZE + 1)
#define HISTORY_LEN 64
#define HISTORY_CONNSTRING_BUF 1024	/* history keeps a prefix only */
#define SAFEKEEPERS_BUF 8192		/* longer values are truncated */

#define SHARDS_TOO_MANY (-1)
#define SHARDS_TOO_LONG (-2)

typedef struct ShardMapRecord
{
	uint64		update_counter;
	int			num_shards;
	int			stripe_size;
	char		connstring[HISTORY_CONNSTRING_BUF];
} ShardMapRecord;

typedef struct NeonStubShared
{
	/*
	 * A spinlock, not an LWLock: the writer is the postmaster, which has no
	 * PGPROC and, in PG15, runs its SIGHUP processing inside the signal
	 * handler.  Critical sections are plain memcpy; never elog inside.
	 */
	slock_t		mutex;

	/* Current shard map, as Neon's postmaster would route with. */
	uint64		update_counter;
	int			num_shards;
	int			stripe_size;
	char		connstring[CONNSTRING_BUF];

	/* Ring buffer of shard-map records; history_total = records ever made. */
	uint64		history_total;
	ShardMapRecord history[HISTORY_LEN];

	/* neon.safekeepers, postmaster view. */
	uint64		safekeepers_counter;
	char		safekeepers[SAFEKEEPERS_BUF];
} NeonStubShared;

/* GUC variables. */
static char *pageserver_connstring = NULL;
static int	stripe_size = 2048;
static char *tenant_id = NULL;
static char *timeline_id = NULL;
static char *safekeepers = NULL;
static int	compute_mode = 0;

static const struct config_enum_entry compute_mode_options[] = {
	{"primary", 0, false},
	{"replica", 1, false},
	{"static", 2, false},
	{NULL, 0, false}
};

static NeonStubShared *stub_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(neon_stub_shard_map);
PG_FUNCTION_INFO_V1(neon_stub_shard_map_history);
PG_FUNCTION_INFO_V1(neon_stub_safekeepers);

/*
 * Count the shards in a connstring the way Neon's ParseShardMap does: split
 * on ',', a final empty entry (trailing comma) is ignored, empty middle
 * entries count.  Returns the count or SHARDS_TOO_MANY / SHARDS_TOO_LONG.
 * *map_len is the length without an ignored trailing comma, so two strings
 * that give the same map compare equal.
 */
static int
parse_shards(const char *value, size_t *map_len)
{
	const char *p = value;
	size_t		last_len = 0;
	int			n = 0;

	*map_len = strlen(value);
	for (;;)
	{
		const char *comma = strchr(p, ',');
		size_t		len = comma ? (size_t) (comma - p) : strlen(p);

		if (len == 0 && comma == NULL)
		{
			/* trailing comma after a non-empty entry: drop it */
			if (n > 0 && last_len > 0)
				*map_len = (size_t) (p - value) - 1;
			break;
		}
		if (n >= MAX_SHARDS)
			return SHARDS_TOO_MANY;
		if (len >= MAX_PAGESERVER_CONNSTRING_SIZE)
			return SHARDS_TOO_LONG;
		n++;
		last_len = len;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return n;
}

static bool
check_connstring(char **newval, void **extra, GucSource source)
{
	size_t		map_len;
	int			n = parse_shards(*newval, &map_len);

	if (n == SHARDS_TOO_MANY)
		GUC_check_errdetail("Too many shards");
	else if (n == SHARDS_TOO_LONG)
		GUC_check_errdetail("Connection string too long");
	return n >= 0;
}

/*
 * Store (connstring, stripe_size) as the postmaster's shard map if it differs
 * from the current one (Neon compares the whole parsed map, stripe included),
 * or unconditionally when 'force' (startup).
 */
static void
record_shard_map(const char *value, bool force)
{
	NeonStubShared *sh = stub_shared;
	size_t		len;
	int			n = parse_shards(value, &len);
	int			stripe = stripe_size;	/* the value in effect right now */

	if (n < 0 || len >= CONNSTRING_BUF)
		return;					/* cannot happen: the check hook ran first */

	SpinLockAcquire(&sh->mutex);
	if (force || n != sh->num_shards || stripe != sh->stripe_size ||
		memcmp(sh->connstring, value, len) != 0 || sh->connstring[len] != '\0')
	{
		ShardMapRecord *h = &sh->history[sh->history_total % HISTORY_LEN];

		sh->update_counter++;
		sh->num_shards = n;
		sh->stripe_size = stripe;
		memcpy(sh->connstring, value, len);
		sh->connstring[len] = '\0';

		h->update_counter = sh->update_counter;
		h->num_shards = n;
		h->stripe_size = stripe;
		strlcpy(h->connstring, sh->connstring, HISTORY_CONNSTRING_BUF);
		sh->history_total++;
	}
	SpinLockRelease(&sh->mutex);
}

static void
record_safekeepers(const char *value, bool force)
{
	NeonStubShared *sh = stub_shared;

	SpinLockAcquire(&sh->mutex);
	if (force || strncmp(sh->safekeepers, value, SAFEKEEPERS_BUF - 1) != 0)
	{
		sh->safekeepers_counter++;
		strlcpy(sh->safekeepers, value, SAFEKEEPERS_BUF);
	}
	SpinLockRelease(&sh->mutex);
}

/*
 * Assign hooks: only the postmaster records, and only once shared memory
 * exists.  At postmaster start the GUCs are assigned before that; the startup
 * hook then records the current values (Neon: "the order doesn't matter at
 * startup").
 */
static void
assign_connstring(const char *newval, void *extra)
{
	if (!IsUnderPostmaster && stub_shared != NULL && newval != NULL)
		record_shard_map(newval, false);
}

/*
 * Neon's walproposer stops with FATAL "enabling generations requires protocol
 * version 3" when neon.safekeepers carries a "g#N:" prefix and
 * neon.safekeeper_proto_version is below 3 (pgxn/neon/walproposer.c).  The stub
 * has no walproposer, so it refuses such a value outright: a compute that
 * would stop is a value that must never be written.
 */
static int	safekeeper_proto_version = 3;

static bool
check_safekeepers(char **newval, void **extra, GucSource source)
{
	if (strncmp(*newval, "g#", 2) == 0 && safekeeper_proto_version < 3)
	{
		GUC_check_errdetail("enabling generations requires protocol version 3");
		return false;
	}
	return true;
}

static void
assign_safekeepers(const char *newval, void *extra)
{
	if (!IsUnderPostmaster && stub_shared != NULL && newval != NULL)
		record_safekeepers(newval, false);
}

/* Neon's check_neon_id: "" or at least 32 hex digits (extra chars ignored). */
static bool
check_neon_id(char **newval, void **extra, GucSource source)
{
	const char *s = *newval;

	if (s[0] == '\0')
		return true;
	for (int i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			  (s[i] >= 'A' && s[i] <= 'F')))
			return false;		/* also stops at the terminating NUL */
	return true;
}

static void
neon_stub_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(NeonStubShared)));
}

/* After a crash restart the old segment is gone: forget the pointer. */
static void
forget_shared(int code, Datum arg)
{
	stub_shared = NULL;
}

static void
neon_stub_shmem_startup(void)
{
	NeonStubShared *sh;
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	sh = ShmemInitStruct("neon_stub", sizeof(NeonStubShared), &found);
	if (!found)
	{
		memset(sh, 0, sizeof(NeonStubShared));
		SpinLockInit(&sh->mutex);
	}
	LWLockRelease(AddinShmemInitLock);

	stub_shared = sh;
	if (!found && !IsUnderPostmaster)
	{
		/* first record: counters become 1 */
		record_shard_map(pageserver_connstring ? pageserver_connstring : "", true);
		record_safekeepers(safekeepers ? safekeepers : "", true);
		on_shmem_exit(forget_shared, (Datum) 0);
	}
}

void
_PG_init(void)
{
	DefineCustomStringVariable("neon.pageserver_connstring",
							   "connection string to the page server",
							   NULL, &pageserver_connstring, "",
							   PGC_SIGHUP, 0,
							   check_connstring, assign_connstring, NULL);
	DefineCustomIntVariable("neon.stripe_size",
							"sharding stripe size",
							NULL, &stripe_size, 2048, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_BLOCKS,
							NULL, NULL, NULL);
	DefineCustomStringVariable("neon.safekeepers",
							   "List of Neon WAL acceptors (host:port)",
							   NULL, &safekeepers, "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   check_safekeepers, assign_safekeepers, NULL);

	/*
	 * Loaded later (LOAD, a function call): SIGHUP GUCs only.  PostgreSQL
	 * FATALs on defining PGC_POSTMASTER GUCs after startup, and reserving the
	 * prefix would then discard the tenant/timeline placeholders.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("neon.timeline_id",
							   "Neon timeline_id the server is running on",
							   NULL, &timeline_id, "",
							   PGC_POSTMASTER, 0,
							   check_neon_id, NULL, NULL);
	DefineCustomStringVariable("neon.tenant_id",
							   "Neon tenant_id the server is running on",
							   NULL, &tenant_id, "",
							   PGC_POSTMASTER, 0,
							   check_neon_id, NULL, NULL);
	DefineCustomIntVariable("neon.safekeeper_proto_version",
							"Version of the safekeeper protocol the walproposer speaks",
							NULL, &safekeeper_proto_version, 3, 2, 3,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("neon.compute_mode",
							 "The compute endpoint node type",
							 NULL, &compute_mode, 0, compute_mode_options,
							 PGC_POSTMASTER, 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("neon");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = neon_stub_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = neon_stub_shmem_startup;
}

static NeonStubShared *
require_shared(void)
{
	if (stub_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("neon_stub must be loaded via shared_preload_libraries")));
	return stub_shared;
}

static void
put_shard_row(ReturnSetInfo *rsinfo, uint64 counter, int n, int stripe,
			  const char *conn)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	values[0] = Int64GetDatum((int64) counter);
	values[1] = Int32GetDatum(n);
	values[2] = Int32GetDatum(stripe);
	values[3] = CStringGetTextDatum(conn);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* The copy is taken under the spinlock; rows are built after releasing it. */
Datum
neon_stub_shard_map(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NeonStubShared *sh = require_shared();
	char	   *conn = palloc(CONNSTRING_BUF);
	uint64		counter;
	int			n,
				stripe;

	InitMaterializedSRF(fcinfo, 0);
	SpinLockAcquire(&sh->mutex);
	counter = sh->update_counter;
	n = sh->num_shards;
	stripe = sh->stripe_size;
	memcpy(conn, sh->connstring, CONNSTRING_BUF);
	SpinLockRelease(&sh->mutex);

	put_shard_row(rsinfo, counter, n, stripe, conn);
	return (Datum) 0;
}

Datum
neon_stub_shard_map_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NeonStubShared *sh = require_shared();
	ShardMapRecord *copy = palloc(sizeof(sh->history));
	uint64		total;

	InitMaterializedSRF(fcinfo, 0);
	SpinLockAcquire(&sh->mutex);
	total = sh->history_total;
	memcpy(copy, sh->history, sizeof(sh->history));
	SpinLockRelease(&sh->mutex);

	for (uint64 i = (total > HISTORY_LEN ? total - HISTORY_LEN : 0); i < total; i++)
	{
		ShardMapRecord *h = &copy[i % HISTORY_LEN];

		put_shard_row(rsinfo, h->update_counter, h->num_shards,
					  h->stripe_size, h->connstring);
	}
	return (Datum) 0;
}

Datum
neon_stub_safekeepers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NeonStubShared *sh = require_shared();
	char	   *value = palloc(SAFEKEEPERS_BUF);
	uint64		counter;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	InitMaterializedSRF(fcinfo, 0);
	SpinLockAcquire(&sh->mutex);
	counter = sh->safekeepers_counter;
	memcpy(value, sh->safekeepers, SAFEKEEPERS_BUF);
	SpinLockRelease(&sh->mutex);

	values[0] = Int64GetDatum((int64) counter);
	values[1] = CStringGetTextDatum(value);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
