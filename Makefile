# PGXS build of pg_storcon.so: control/ (pure C++), extension/ (PostgreSQL adapter) and bgworker/.
# The version has one source, default_version in pg_storcon.control.
EXTENSION  = pg_storcon
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = pg_storcon
OBJS = $(patsubst %.cpp,%.o,$(wildcard control/*.cpp extension/*.cpp bgworker/*.cpp))
DATA = $(wildcard sql/$(EXTENSION)--*.sql)

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(CURDIR) -DPG_STORCON_VERSION='"$(EXTVERSION)"'
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -Wno-register -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = -lstdc++ -lmicrohttpd -lcurl -lcrypto
EXTRA_CLEAN = $(OBJS:.o=.d)

# Header dependencies (PGXS tracks none without --enable-depend): a changed header rebuilds its users.
# (The .d files are included after PGXS, so that their rules never become the default goal.)
PG_CPPFLAGS += -MMD -MP

# control/ must never see a PostgreSQL header: control/guard.hpp turns that into a build error.
control/%.o: PG_CPPFLAGS += -DSTORCON_CONTROL_BUILD

# Debian's PGXS also emits LLVM bitcode with a C++ compiler that ignores -std=c++17; the JIT gains
# nothing from this extension, so skip it.  Must come before the include.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
-include $(OBJS:.o=.d)
