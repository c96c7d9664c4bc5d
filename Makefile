# ngx_strangler_module
#
#   make            the dynamic module for the system nginx, and `strangler`
#   make test       installs what it needs, builds, runs every test
#   make demo       nginx on 127.0.0.1:8080 with routes/demo.yaml
#   make asan       nginx 1.22.1 from source with the module and ASan/UBSan
#   make test-asan  the Test::Nginx suite against that build
#   make test-nginx126  the suite against nginx 1.26.3 with the module in
#   make test-valgrind  the suite under valgrind memcheck
#   make reload-load    50 reloads under wrk load (tests/reload-under-load.sh)
#   make reload-load-asan   the same against the ASan/UBSan build
#   make layers     each folder of the glue built with the folders below it
#   make fuzz       each fuzz target for FUZZ_TIME seconds (default 60)
#   make bench      benchmarks against nginx and HAProxy (not part of test)
#   make soak       1 M shadowed requests, memory and fds flat (SOAK_QUICK=1)
#   make screenshots  the dashboard in the demo's state, into docs/
#   make bench-dashboard  the dashboard with 1,000 routes (not part of test)
#
# `make NGINX_SRC=/path/to/nginx-x.y.z` builds against your own nginx source
# tree instead of the system nginx (configure it as your nginx was).

SHELL        := /bin/bash
BUILD        := build
MODULE       := ngx_http_strangler_module
MODULE_SO    := $(BUILD)/$(MODULE).so
CLI          := $(BUILD)/strangler

SYSTEM_NGINX_SRC := /usr/share/nginx/src
NGINX_SRC        ?=
NGINX_TREE       := $(BUILD)/nginx-dynamic

SRC_DIR      := ngx_strangler_module
CC           ?= cc
WARN         := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS       ?= -O2 -g
CORE_CFLAGS  := -std=gnu99 $(WARN) -I$(SRC_DIR)/core
CORE_LIBS    := -lyaml -lpcre2-8 -ljansson -lz
CLI_LIBS     := -lcurl

CORE_SRCS    := $(wildcard $(SRC_DIR)/core/*.c)
CLI_SRCS     := $(wildcard $(SRC_DIR)/cli/*.c)
NGX_SRCS     := $(wildcard $(SRC_DIR)/nginx/*.c $(SRC_DIR)/nginx/*/*.c)
HEADERS      := $(wildcard $(SRC_DIR)/*/*.h $(SRC_DIR)/nginx/*/*.h)
# the dashboard page: config makes objs/ngx_http_strangler_dashboard_page.h
DASH_DIR     := $(SRC_DIR)/nginx/api/dashboard
DASH_SRCS    := $(wildcard $(DASH_DIR)/*)
UNIT_SRCS    := $(wildcard tests/unit/test_*.c)
UNIT_BINS    := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)

ASAN_SRC     := $(BUILD)/src/nginx-1.22.1
ASAN_PREFIX  := $(BUILD)/asan
ASAN_NGINX   := $(ASAN_PREFIX)/sbin/nginx
ASAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined
# nginx is built with clang, whose UBSan writes to ASAN_OPTIONS' log_path
# as ASan does (GCC's writes to stderr, the error log of the test that is
# removed by the next one), and goes on after a report, so that
# tests/sanitizers/ubsan.supp can hold nginx's own
ASAN_CC      := clang
ASAN_NGX_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer

TEST_FILES   ?= tests/*.t
PROVE        := prove
TEST_PORT    ?= $(or $(TEST_NGINX_SERVER_PORT),1984)
# tests/helpers: the suite's own Perl helpers, always; tests/lib: a
# stand-in for Test::Nginx, only where the real one is not installed
TEST_ENV      = TEST_NGINX_SERVER_PORT=$(TEST_PORT) \
                TEST_NGINX_SERVROOT=$(CURDIR)/$(BUILD)/servroot-$(TEST_PORT) \
                PATH=/usr/sbin:$$PATH \
                PERL5LIB=$(CURDIR)/tests/helpers$$(perl \
                    -MTest::Nginx::Socket -e1 2>/dev/null \
                    || echo :$(CURDIR)/tests/lib)

.PHONY: all deps module cli unit layers test test-nginx asan test-asan demo
.PHONY: clean
.PHONY: fuzz fuzz-build nginx126 test-nginx126 test-valgrind reload-load
.PHONY: reload-load-asan
.PHONY: bench soak bench-dashboard screenshots bench-jcmp bench-jslice

all: deps module cli

deps:
	@mk/deps.sh build

module: $(MODULE_SO)
cli: $(CLI)


# the module ------------------------------------------------------------

ifeq ($(NGINX_SRC),)
# copy the system nginx's configure tree and configure it with the flags
# the system nginx was built with, so the module is binary-compatible
# (conf_flags leaves out the -O2 Debian's own build passes)
$(NGINX_TREE)/objs/Makefile: config
	rm -rf $(NGINX_TREE)
	mkdir -p $(BUILD)
	cp -a $(SYSTEM_NGINX_SRC) $(NGINX_TREE)
	source $(SYSTEM_NGINX_SRC)/conf_flags && cd $(NGINX_TREE) \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" --with-cc-opt="-g -O2" \
	       --add-dynamic-module=$(CURDIR) >configure.log \
	    || { tail -20 $(NGINX_TREE)/configure.log; exit 1; }
else
NGINX_TREE := $(NGINX_SRC)
$(NGINX_TREE)/objs/Makefile: config
	cd $(NGINX_TREE) && ./configure --with-compat \
	    --add-dynamic-module=$(CURDIR) $(NGINX_CONFIGURE_ARGS)
endif

$(MODULE_SO): $(NGINX_TREE)/objs/Makefile $(CORE_SRCS) $(NGX_SRCS) $(HEADERS) \
              $(DASH_SRCS)
	sh $(DASH_DIR)/embed.sh $(CURDIR)/$(DASH_DIR) \
	    $(NGINX_TREE)/objs/ngx_http_strangler_dashboard_page.h
	$(MAKE) -C $(NGINX_TREE) -f objs/Makefile modules
	@mkdir -p $(BUILD)
	cp $(NGINX_TREE)/objs/$(MODULE).so $@


# the command and the unit tests --------------------------------------------

$(CLI): $(CORE_SRCS) $(CLI_SRCS) $(HEADERS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CORE_CFLAGS) -I$(SRC_DIR)/cli -o $@ $(CORE_SRCS) \
	    $(CLI_SRCS) $(CORE_LIBS) $(CLI_LIBS)

$(BUILD)/unit/%: tests/unit/%.c tests/unit/unit.h $(CORE_SRCS) $(HEADERS)
	@mkdir -p $(BUILD)/unit
	$(CC) -O1 -g $(ASAN_FLAGS) $(CORE_CFLAGS) -o $@ $< $(CORE_SRCS) \
	    $(CORE_LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done


# calls between the glue's folders go one way: each folder compiles with
# the include paths of the folders below it only (mk/layers.sh)
layers: $(NGINX_TREE)/objs/Makefile $(MODULE_SO)
	@mk/layers.sh $(SRC_DIR)/nginx $(SRC_DIR)/core $(NGINX_TREE) $(CC)


# Test::Nginx ---------------------------------------------------------------

test: deps
	@mk/deps.sh test
	@$(MAKE) --no-print-directory module cli unit layers
	@$(MAKE) --no-print-directory test-nginx

test-nginx:
	$(TEST_ENV) TEST_NGINX_BINARY=$${TEST_NGINX_BINARY:-/usr/sbin/nginx} \
	    TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(MODULE_SO) \
	    STRANGLER_CLI=$(CURDIR)/$(CLI) \
	    STRANGLER_NGINX_TREE=$(abspath $(NGINX_TREE)) \
	    $(PROVE) $(TEST_FILES)


# nginx from source with the module compiled in, under ASan and UBSan -------

$(ASAN_SRC)/configure:
	mk/nginx-source.sh bookworm $(ASAN_SRC)

$(ASAN_NGINX): $(ASAN_SRC)/configure config $(CORE_SRCS) $(NGX_SRCS) \
               $(HEADERS) $(DASH_SRCS)
	@mk/deps.sh build fuzz
	cd $(ASAN_SRC) && ./configure --prefix=$(CURDIR)/$(ASAN_PREFIX) \
	    --with-cc=$(ASAN_CC) \
	    --with-debug --with-pcre-jit --with-http_ssl_module \
	    --with-http_realip_module --with-http_auth_request_module \
	    --with-http_v2_module \
	    --with-threads --add-module=$(CURDIR) \
	    --with-cc-opt="-O1 -g $(ASAN_NGX_FLAGS)" \
	    --with-ld-opt="$(ASAN_NGX_FLAGS)" >configure.log \
	    || { tail -20 configure.log; exit 1; }
	$(MAKE) -C $(ASAN_SRC) -f objs/Makefile
	$(MAKE) -C $(ASAN_SRC) -f objs/Makefile install >/dev/null

asan: $(ASAN_NGINX)

# Sanitizer reports go to files, one per process (nginx sends stderr to its
# error log, where no test looks for them); any file there fails the run.
# A memory error aborts the process; a leak is only reported (exitcode=0),
# so that `nginx -t` and `nginx -s reload` exit as they would, and
# tests/sanitizers/check.pl decides which leaks are nginx's own.
ASAN_LOGS     = $(CURDIR)/$(BUILD)/asan-logs-$(TEST_PORT)
ASAN_RUN_OPTIONS = detect_leaks=1:abort_on_error=1:exitcode=0:log_path=$(ASAN_LOGS)/san

test-asan: deps asan cli
	@mk/deps.sh test
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS) && chmod 777 $(ASAN_LOGS)
	$(TEST_ENV) TEST_NGINX_BINARY=$(CURDIR)/$(ASAN_NGINX) \
	    TEST_NGINX_LOAD_MODULES= STRANGLER_CLI=$(CURDIR)/$(CLI) \
	    ASAN_OPTIONS=$(ASAN_RUN_OPTIONS) \
	    UBSAN_OPTIONS=print_stacktrace=1:suppressions=$(CURDIR)/tests/sanitizers/ubsan.supp \
	    $(PROVE) $(TEST_FILES); rc=$$?; \
	perl tests/sanitizers/check.pl $(ASAN_LOGS) || rc=1; exit $$rc


# nginx 1.26.3 (Debian trixie's source) with the module compiled in -------

NGINX126_SRC    := $(BUILD)/src/nginx-1.26.3
NGINX126_PREFIX := $(BUILD)/nginx126
NGINX126        := $(NGINX126_PREFIX)/sbin/nginx

$(NGINX126_SRC)/configure:
	mk/nginx-source.sh trixie $(NGINX126_SRC)

$(NGINX126): $(NGINX126_SRC)/configure config $(CORE_SRCS) $(NGX_SRCS) \
             $(HEADERS) $(DASH_SRCS)
	@mk/deps.sh build
	cd $(NGINX126_SRC) && ./configure --prefix=$(CURDIR)/$(NGINX126_PREFIX) \
	    --with-debug --with-pcre-jit --with-http_ssl_module \
	    --with-http_realip_module --with-http_auth_request_module \
	    --with-http_v2_module \
	    --with-threads --add-module=$(CURDIR) \
	    --with-cc-opt="-O2 -g" >configure.log \
	    || { tail -20 configure.log; exit 1; }
	$(MAKE) -C $(NGINX126_SRC) -f objs/Makefile
	$(MAKE) -C $(NGINX126_SRC) -f objs/Makefile install >/dev/null

nginx126: $(NGINX126)

test-nginx126: deps nginx126 cli
	@mk/deps.sh test
	$(TEST_ENV) TEST_NGINX_BINARY=$(CURDIR)/$(NGINX126) \
	    TEST_NGINX_LOAD_MODULES= STRANGLER_CLI=$(CURDIR)/$(CLI) \
	    $(PROVE) $(TEST_FILES)


# valgrind and reload under load ----------------------------------------------

# the suite under valgrind memcheck (slow: nginx restarts under valgrind for
# every block); valgrind.suppress holds nginx's own reports only.  The
# options are Test::Nginx's for TEST_NGINX_USE_VALGRIND=1, with the
# suppressions by their full path, for tests that run nginx elsewhere.
VALGRIND_OPTS = --tool=memcheck --leak-check=full --keep-debuginfo=yes \
                --show-possibly-lost=no --num-callers=100 \
                --gen-suppressions=all \
                --suppressions=$(CURDIR)/valgrind.suppress
test-valgrind: deps
	@mk/deps.sh test
	@$(MAKE) --no-print-directory module cli
	$(TEST_ENV) TEST_NGINX_BINARY=$${TEST_NGINX_BINARY:-/usr/sbin/nginx} \
	    TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(MODULE_SO) \
	    STRANGLER_CLI=$(CURDIR)/$(CLI) TEST_NGINX_TIMEOUT=10 \
	    TEST_NGINX_USE_VALGRIND="$(VALGRIND_OPTS)" \
	    $(PROVE) $(TEST_FILES)

# wrk through nginx + strangler while the table changes and nginx reloads
# 50 times (tests/reload-under-load.sh; NGINX_BIN=... MODULE=... to choose)
reload-load: deps
	@mk/deps.sh test bench
	@$(MAKE) --no-print-directory module
	PATH=/usr/sbin:$$PATH tests/reload-under-load.sh

# the same against the ASan/UBSan build (leaks are test-asan's business:
# old workers exit on every reload)
RELOAD_ASAN_LOGS = $(CURDIR)/$(BUILD)/asan-logs-reload

reload-load-asan: deps asan
	@mk/deps.sh test bench
	@rm -rf $(RELOAD_ASAN_LOGS) && mkdir -p $(RELOAD_ASAN_LOGS) \
	    && chmod 777 $(RELOAD_ASAN_LOGS)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(RELOAD_ASAN_LOGS)/san \
	    UBSAN_OPTIONS=print_stacktrace=1:suppressions=$(CURDIR)/tests/sanitizers/ubsan.supp \
	    PATH=/usr/sbin:$$PATH \
	    tests/reload-under-load.sh $(CURDIR)/$(ASAN_NGINX) ""; rc=$$?; \
	perl tests/sanitizers/check.pl $(RELOAD_ASAN_LOGS) || rc=1; exit $$rc


# fuzzing: clang's libFuzzer with ASan and UBSan (fuzz/, docs/development.md) --

FUZZ_CC      := clang
FUZZ_TIME    ?= 60
FUZZ_TARGETS := load match compare json
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
                -std=gnu99 -Wall -Wextra -Wno-unused-parameter \
                -I$(SRC_DIR)/core -I$(BUILD)/fuzz

# the route tables, not their test cases (routes/*.cases.yaml)
FUZZ_TABLES  := $(filter-out %.cases.yaml,$(wildcard routes/*.yaml)) \
                $(wildcard fuzz/tables/*.yaml)

$(BUILD)/fuzz/tables.h: fuzz/embed.pl $(FUZZ_TABLES)
	@mkdir -p $(BUILD)/fuzz
	perl fuzz/embed.pl $(FUZZ_TABLES) >$@

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(BUILD)/fuzz/tables.h $(CORE_SRCS) $(HEADERS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

# the differential target: the jansson comparer is its reference, here only
FUZZ_REF     := fuzz/ref_compare_json.c fuzz/ref_compare_json_numbers.c

$(BUILD)/fuzz/fuzz_json: fuzz/fuzz_json.c fuzz/fuzz.h fuzz/ref_compare.h \
                         $(FUZZ_REF) $(CORE_SRCS) $(HEADERS)
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -Ifuzz -o $@ $< $(FUZZ_REF) $(CORE_SRCS) \
	    $(CORE_LIBS)

fuzz-build: deps
	@mk/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

# each target for FUZZ_TIME seconds, after its regression inputs and seeds
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do fuzz/run.sh $$t $(FUZZ_TIME); done


# the JSON comparer against jansson's, MB/s (bench/jcmp.c; not part of test)
$(BUILD)/bench/jcmp: bench/jcmp.c $(FUZZ_REF) fuzz/ref_compare.h \
                     $(CORE_SRCS) $(HEADERS)
	@mkdir -p $(BUILD)/bench
	$(CC) -O2 -g $(CORE_CFLAGS) -Ifuzz -o $@ $< $(FUZZ_REF) $(CORE_SRCS) \
	    $(CORE_LIBS)

bench-jcmp: $(BUILD)/bench/jcmp
	$(BUILD)/bench/jcmp

# the time of one slice of the JSON comparer, per shape (bench/jslice.c)
$(BUILD)/bench/jslice: bench/jslice.c $(CORE_SRCS) $(HEADERS)
	@mkdir -p $(BUILD)/bench
	$(CC) -O2 -g $(CORE_CFLAGS) -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

bench-jslice: $(BUILD)/bench/jslice
	$(BUILD)/bench/jslice

# benchmarks: nginx, nginx + strangler and HAProxy under wrk, and the
# lookup micro-benchmark; tables in build/bench/results.md (bench/run.sh)

bench: all
	@mk/deps.sh bench
	CC="$(CC)" bench/run.sh

# the soak: 1 M requests with 100% shadowing over HTTP/1.1, HTTP/2 and
# WebSocket upgrades; workers' memory and descriptors must stay flat
# (bench/soak.py; SOAK_QUICK=1 for a 20,000-request check)
soak: all
	@mk/deps.sh bench
	bench/soak.py


# the demo ------------------------------------------------------------------

demo: all
	@mk/deps.sh test
	@mk/demo.sh $(CURDIR)/$(MODULE_SO)


# the dashboard with 1,000 routes: a refresh's cost to the worker, the
# first view in Chromium (bench/dashboard.py; figures, not a test)
bench-dashboard: all
	@mk/deps.sh test
	/usr/bin/python3 bench/dashboard.py 1000

# the dashboard in headless Chromium, in the demo's state, for docs/
screenshots: all
	@mk/deps.sh test
	/usr/bin/python3 tests/dashboard/screenshots.py $(CURDIR)/docs


clean:
	rm -rf $(BUILD)
