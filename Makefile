# SPDX-License-Identifier: Apache-2.0
# One non-recursive Makefile for the whole federation.  Objects, generated
# code and test binaries go to build/; nothing generated is committed.
#   make            build both daemons
#   make run/stop   bring the local federation up / down
#   make check      install missing packages, build with -Werror, run every test
#   make e2e        the web console's end-to-end tests in headless Chromium
#   make bench      the benchmark suite, tests/bench/run (QUICK=1: smaller sizes)
#   make format     apply .clang-format;  make lint: format check + cppcheck
#   make fuzz       run every tests/fuzz harness for FUZZ_SECONDS (default 60) each
#   make soak       the tests marked soak: random faults between nodes in network
#                   namespaces (root; SOAK_SEED replays), the long chaos run
#                   (CHAOS_SEED replays), each for SOAK_MINUTES (default 10), and
#                   the federation under load for SOAK_LOAD_ROUNDS rounds
#                   (default 1000), its resources measured
#   make valgrind   run every unit test binary under valgrind's memcheck
#   SAN=1 make ...  build with AddressSanitizer and UndefinedBehaviorSanitizer

VERSION  := 0.1.0
BUILD    := build
PKGS     := libzmq libprotobuf-c libpq openssl libmicrohttpd jansson
PYTHON   := /usr/bin/python3
FUZZ_SECONDS ?= 60
SOAK_MINUTES ?= 10

# FUZZ=1 (set by `make fuzz`): clang with libFuzzer's coverage and the
# sanitizers, in a build folder of its own beside the normal build.
ifeq ($(FUZZ),1)
BUILD    := build/fuzz
CC       := clang
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif

# Quiet by default; V=1 shows every command.
ifeq ($(V),1)
Q   :=
say :=
else
Q   := @
say  = @printf '  %-7s %s\n' '$(1)' '$(2)'
endif

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wsign-compare -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -pthread -D_GNU_SOURCE -DHOTLINE_VERSION='"$(VERSION)"'
CPPFLAGS += -Icommon -I$(BUILD)/gen -MMD -MP
LDLIBS   += -pthread

# SAN=1: every test binary and daemon the tests start reports memory errors,
# leaks at exit and the first undefined behaviour, and fails its test
# (tests/system/hotline.py reads the daemons' logs). libfaketime, preloaded
# by the clock tests, comes before the ASan runtime: hence verify_asan_link_order.
ifeq ($(SAN),1)
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
export ASAN_OPTIONS  := detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:verify_asan_link_order=0
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
endif

# Objects depend on a stamp named after the flags, so switching SAN on or off
# rebuilds everything instead of mixing objects.
FLAGS_STAMP := $(BUILD)/.flags-$(shell echo '$(CC) $(CFLAGS) $(LDFLAGS)' | md5sum | cut -c1-8)

# pkg-config runs only when compiling, so `make clean` works without the libraries.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

COMMON_SRC   := $(wildcard common/*.c)
CITY_SRC     := $(wildcard city-node/*.c)
PROVINCE_SRC := $(wildcard province-node/*.c)
UNIT_SRC     := $(wildcard tests/unit/*_test.c)
FUZZ_SRC     := $(wildcard tests/fuzz/*_fuzz.c)
PROTO_C      := $(BUILD)/gen/federation.pb-c.c
ALL_C        := $(COMMON_SRC) $(CITY_SRC) $(PROVINCE_SRC) $(UNIT_SRC) $(FUZZ_SRC) \
                $(wildcard common/*.h city-node/*.h province-node/*.h tests/unit/*.h)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON := $(BUILD)/libcommon.a
CITY      := $(BUILD)/city-node
PROVINCE  := $(BUILD)/province-node
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/%,$(FUZZ_SRC))
CONSOLE     := $(BUILD)/console
NPM_DIR     := $(BUILD)/npm
NPM_STAMP   := $(NPM_DIR)/node_modules/.package-lock.json
CONSOLE_SRC := $(wildcard common/console/*.html common/console/*.js common/console/*.css common/console/*.svg)

.PHONY: all run stop check unit system valgrind e2e bench fuzz fuzz-build soak format format-check lint deps clean
.SECONDARY:
all: $(CITY) $(PROVINCE) $(CONSOLE)/index.html

# The web console (common/console/): its npm packages, pinned by the
# lockfile, are installed into build/npm once and again only when the
# lockfile changes; the pages, scripts and Apache ECharts go to
# build/console, which the daemons serve at "/".

$(NPM_STAMP): common/console/package.json common/console/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "console: npm is missing: install Node.js 18 or later" \
	  "with npm (Debian: nodejs), or run 'make deps'" >&2; exit 1; }
	@mkdir -p $(NPM_DIR)
	$(call say,NPM,ci)
	$(Q)cp $^ $(NPM_DIR)/
	$(Q)cd $(NPM_DIR) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
	$(Q)touch $@

$(CONSOLE)/index.html: common/console/build.sh $(CONSOLE_SRC) $(NPM_STAMP)
	$(call say,CONSOLE,$(CONSOLE))
	$(Q)sh common/console/build.sh $(CONSOLE) $(NPM_DIR)/node_modules

$(BUILD)/gen/federation.pb-c.c $(BUILD)/gen/federation.pb-c.h: proto/federation.proto
	@mkdir -p $(@D)
	$(call say,PROTOC,$<)
	$(Q)protoc-c --c_out=$(BUILD)/gen -Iproto $<

# The embedded migrations also depend on a stamp named after the list of
# files, so a migration removed or renumbered rebuilds them too.
SQL_STAMP := $(BUILD)/.sql-$(shell echo '$(sort $(wildcard common/sql/*.sql city-node/sql/*.sql province-node/sql/*.sql))' | md5sum | cut -c1-8)
# Stamps are made when the Makefile is read: a missing prerequisite of a
# .SECONDARY target would not rebuild it.
stamp = $(shell mkdir -p $(BUILD) && { [ -e $(1) ] || { rm -f $(BUILD)/$(2)*; touch $(1); }; })
$(call stamp,$(FLAGS_STAMP),.flags-)
$(call stamp,$(SQL_STAMP),.sql-)

$(BUILD)/gen/city-sql.c: common/sql/embed.sh $(SQL_STAMP) $(wildcard common/sql/*.sql city-node/sql/*.sql)
	@mkdir -p $(@D)
	$(call say,SQL,$@)
	$(Q)sh $< node_migrations $(filter %.sql,$^) > $@

$(BUILD)/gen/province-sql.c: common/sql/embed.sh $(SQL_STAMP) $(wildcard common/sql/*.sql province-node/sql/*.sql)
	@mkdir -p $(@D)
	$(call say,SQL,$@)
	$(Q)sh $< node_migrations $(filter %.sql,$^) > $@

# The national calendar (common/calstore.c seeds it at `init`), as one C string.
$(BUILD)/gen/calendar-data.c: common/sql/cn-calendar.tsv
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q){ printf '/* Generated from %s; do not edit. */\n#include <stddef.h>\n\n' '$<'; \
	  printf 'const char calendar_default_tsv[] =\n'; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; \
	  printf ';\nconst size_t calendar_default_tsv_len = sizeof(calendar_default_tsv) - 1;\n'; } > $@

# Every object needs the generated protobuf header first.

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP) | $(BUILD)/gen/federation.pb-c.h
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) $(PKG_CFLAGS) -c $< -o $@

# Generated code is compiled without the project's warning set.
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC)) $(BUILD)/obj/gen/federation.pb-c.o \
              $(BUILD)/obj/gen/calendar-data.o
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(CITY): $(call obj,$(CITY_SRC)) $(BUILD)/obj/gen/city-sql.o $(LIBCOMMON)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

$(PROVINCE): $(call obj,$(PROVINCE_SRC)) $(BUILD)/obj/gen/province-sql.o $(LIBCOMMON)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBCOMMON)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -lcmocka $(LDLIBS) -o $@

# A harness has libFuzzer's main().
$(BUILD)/tests/%_fuzz: $(BUILD)/obj/tests/fuzz/%_fuzz.o $(LIBCOMMON)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer $^ $(PKG_LIBS) $(LDLIBS) -o $@

# Intake's field table lives with its routes, which reach the node's migrations.
$(BUILD)/tests/body_fuzz $(BUILD)/tests/input_test $(BUILD)/tests/import_test: $(BUILD)/obj/gen/city-sql.o

# A unit test of a daemon's own module sees its header and links its object.
$(BUILD)/obj/tests/unit/balance_test.o: CPPFLAGS += -Iprovince-node
$(BUILD)/tests/balance_test: $(call obj,province-node/balance.c)

deps:
	@deploy/install-deps

run: deps all
	@$(PYTHON) deploy/federation up

stop:
	@$(PYTHON) deploy/federation down

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@$(MAKE) --no-print-directory format-check
	@tests/run $(UNIT_BINS)
	@$(MAKE) --no-print-directory e2e

unit: all $(UNIT_BINS)
	@tests/run --unit-only $(UNIT_BINS)

# Memcheck fails a binary (exit 99) on an invalid access, a jump on an
# uninitialised value or any block still allocated at exit that nothing
# points to (definite, indirect or possible). Not with SAN=1: valgrind does
# not run binaries built with AddressSanitizer.
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full \
            --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes
valgrind: deps
	@[ "$(SAN)" != 1 ] || { echo "valgrind: not with SAN=1"; exit 1; }
	@$(MAKE) --no-print-directory -s $(UNIT_BINS)
	@TEST_WRAPPER="$(VALGRIND)" tests/run --unit-only $(UNIT_BINS)

system: all
	@tests/run --system-only

# A real node and PostgreSQL driven through the console by headless Chromium
# (Debian's chromium, playwright-core from build/npm); screenshots of each
# page go to build/e2e/.
e2e: all
	@mkdir -p $(BUILD)/test-logs
	@if $(PYTHON) -m pytest tests/e2e -q -p no:cacheprovider > $(BUILD)/test-logs/e2e.log 2>&1; then \
	  echo "e2e: $$(tail -n 1 $(BUILD)/test-logs/e2e.log | tr -d '=' | sed 's/^ *//'); screenshots in $(BUILD)/e2e/"; \
	else cat $(BUILD)/test-logs/e2e.log; echo "e2e: FAILED"; exit 1; fi

# Not part of `check`: each benchmark makes its own PostgreSQL and measures
# the project beside its baseline; QUICK=1 runs smaller sizes.
bench: all
	@QUICK=$(QUICK) tests/bench/run $(if $(BENCH),--only $(BENCH))

# Not part of `check`: each harness runs FUZZ_SECONDS from its seeds, which
# it only reads (tests/fuzz/run).
fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-build
	@tests/fuzz/run $(FUZZ_SECONDS) $(patsubst $(BUILD)/%,$(BUILD)/fuzz/%,$(FUZZ_BINS))

fuzz-build: $(FUZZ_BINS)

# Not part of `check` (whose suite leaves out tests marked soak): rounds of
# random partitions, loss and slow links between the nodes, each in its own
# network namespace, for SOAK_MINUTES, then the invariants.  The seed is
# printed first; SOAK_SEED=<seed> makes the same choices again.  Then the
# long chaos run (test_chaos.py) for SOAK_MINUTES or SOAK_FAULTS faults;
# CHAOS_SEED=<seed> replays it.  Last, the federation under load for
# SOAK_LOAD_ROUNDS rounds, its resources measured.
soak: deps all
	@SOAK_MINUTES=$(SOAK_MINUTES) SOAK_SEED=$(SOAK_SEED) SOAK_ROUNDS=$(SOAK_ROUNDS) \
	  $(PYTHON) -m pytest -q -s -p no:cacheprovider -m soak tests/system/test_soak.py \
	  tests/system/test_chaos.py tests/system/test_resources.py

format:
	clang-format -i $(ALL_C)

format-check:
	@clang-format --dry-run -Werror $(ALL_C) || \
	  { echo "format: run 'make format' to fix the files above"; exit 1; }
	@echo "format: $(words $(ALL_C)) files clean"

lint: format-check
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	  --inline-suppr -Icommon $(COMMON_SRC) $(CITY_SRC) $(PROVINCE_SRC)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
