// Why this file exists: control/ is the PostgreSQL-free core of pg_storcon. Every decision lives
// there so that it can be unit-tested without a server. Every control/ header includes this guard;
// when a control/ translation unit is compiled (STORCON_CONTROL_BUILD, set by both builds) and a
// PostgreSQL header has been included, the build fails.
#pragma once

#if defined(STORCON_CONTROL_BUILD) && (defined(POSTGRES_H) || defined(POSTGRES_FE_H) || defined(C_H))
#error "control/ must not include PostgreSQL headers; put PostgreSQL code in extension/ or bgworker/"
#endif

#ifndef PG_STORCON_VERSION
#define PG_STORCON_VERSION "dev"
#endif
