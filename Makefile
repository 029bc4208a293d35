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

# tools/: command-line programs on control/ alone (no PostgreSQL at run time), installed next to
# pg_config --bindir's programs. pg_storcon_spec is compute_ctl's pre-start command.
TOOL = tools/pg_storcon_spec
TOOL_OBJS = $(patsubst %.cpp,%.o,$(wildcard tools/*.cpp))
CONTROL_OBJS = $(patsubst %.cpp,%.o,$(wildcard control/*.cpp))
EXTRA_CLEAN += $(TOOL) $(TOOL_OBJS) $(TOOL_OBJS:.o=.d)

# Header dependencies (PGXS tracks none without --enable-depend): a changed header rebuilds its users.
# The .d files are included after PGXS (below): included earlier, their first rule would become the
# default goal and a plain `make` would build one object file.
PG_CPPFLAGS += -MMD -MP

# control/ must never see a PostgreSQL header: control/guard.hpp turns that into a build error.
control/%.o tools/%.o: PG_CPPFLAGS += -DSTORCON_CONTROL_BUILD

# Debian's PGXS also emits LLVM bitcode with a C++ compiler that ignores -std=c++17; the JIT gains
# nothing from this extension, so skip it.  Must come before the include.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
-include $(OBJS:.o=.d) $(TOOL_OBJS:.o=.d)

# The tool, built and installed with the extension (rules after the PGXS include, so that its
# "all" stays the default goal).
all: $(TOOL)
$(TOOL): $(TOOL_OBJS) $(CONTROL_OBJS)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ -lcurl -lcrypto -lstdc++
install: install-tool
install-tool: $(TOOL)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(TOOL) '$(DESTDIR)$(bindir)/'
uninstall: uninstall-tool
uninstall-tool:
	rm -f '$(DESTDIR)$(bindir)/$(notdir $(TOOL))'
.PHONY: install-tool uninstall-tool
