# ngx_strangler_module
#
#   make            the dynamic module for the system nginx, and `strangler`
#   make test       installs what it needs, builds, runs every test
#   make demo       nginx on 127.0.0.1:8080 with routes/demo.yaml
#   make asan       nginx 1.22.1 from source with the module and ASan/UBSan
#   make test-asan  the Test::Nginx suite against that build
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

CC           ?= cc
WARN         := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS       ?= -O2 -g
CORE_CFLAGS  := -std=gnu99 $(WARN) -Ingx_strangler_module
CORE_LIBS    := -lyaml -lpcre2-8 -ljansson -lz

SRC_DIR      := ngx_strangler_module
CORE_SRCS    := $(filter-out $(SRC_DIR)/strangler_cli.c, \
                    $(wildcard $(SRC_DIR)/strangler_*.c))
NGX_SRCS     := $(wildcard $(SRC_DIR)/ngx_http_strangler_*.c)
HEADERS      := $(wildcard $(SRC_DIR)/*.h)
UNIT_SRCS    := $(wildcard tests/unit/test_*.c)
UNIT_BINS    := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)

ASAN_SRC     := $(BUILD)/src/nginx-1.22.1
ASAN_PREFIX  := $(BUILD)/asan
ASAN_NGINX   := $(ASAN_PREFIX)/sbin/nginx
ASAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined

TEST_FILES   ?= tests/*.t
PROVE        := prove
TEST_PORT    ?= $(or $(TEST_NGINX_SERVER_PORT),1984)
TEST_ENV      = TEST_NGINX_SERVER_PORT=$(TEST_PORT) \
                TEST_NGINX_SERVROOT=$(CURDIR)/$(BUILD)/servroot-$(TEST_PORT) \
                PATH=/usr/sbin:$$PATH \
                PERL5LIB=$$(perl -MTest::Nginx::Socket -e1 2>/dev/null \
                            || echo $(CURDIR)/tests/lib)

.PHONY: all deps module cli unit test test-nginx asan test-asan demo clean

all: deps module cli

deps:
	@mk/deps.sh build

module: $(MODULE_SO)
cli: $(CLI)


# the module ------------------------------------------------------------

ifeq ($(NGINX_SRC),)
# copy the system nginx's configure tree and configure it with the flags
# the system nginx was built with, so the module is binary-compatible
$(NGINX_TREE)/objs/Makefile: config $(SRC_DIR)
	rm -rf $(NGINX_TREE)
	mkdir -p $(BUILD)
	cp -a $(SYSTEM_NGINX_SRC) $(NGINX_TREE)
	source $(SYSTEM_NGINX_SRC)/conf_flags && cd $(NGINX_TREE) \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" \
	       --add-dynamic-module=$(CURDIR) >configure.log \
	    || { tail -20 $(NGINX_TREE)/configure.log; exit 1; }
else
NGINX_TREE := $(NGINX_SRC)
$(NGINX_TREE)/objs/Makefile: config $(SRC_DIR)
	cd $(NGINX_TREE) && ./configure --with-compat \
	    --add-dynamic-module=$(CURDIR) $(NGINX_CONFIGURE_ARGS)
endif

$(MODULE_SO): $(NGINX_TREE)/objs/Makefile $(CORE_SRCS) $(NGX_SRCS) $(HEADERS)
	$(MAKE) -C $(NGINX_TREE) -f objs/Makefile modules
	cp $(NGINX_TREE)/objs/$(MODULE).so $@


# the command and the unit tests --------------------------------------------

$(CLI): $(CORE_SRCS) $(SRC_DIR)/strangler_cli.c $(HEADERS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CORE_CFLAGS) -o $@ $(CORE_SRCS) \
	    $(SRC_DIR)/strangler_cli.c $(CORE_LIBS)

$(BUILD)/unit/%: tests/unit/%.c tests/unit/unit.h $(CORE_SRCS) $(HEADERS)
	@mkdir -p $(BUILD)/unit
	$(CC) -O1 -g $(ASAN_FLAGS) $(CORE_CFLAGS) -o $@ $< $(CORE_SRCS) \
	    $(CORE_LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done


# Test::Nginx ---------------------------------------------------------------

test: deps
	@mk/deps.sh test
	@$(MAKE) --no-print-directory module cli unit
	@$(MAKE) --no-print-directory test-nginx

test-nginx:
	$(TEST_ENV) TEST_NGINX_BINARY=$${TEST_NGINX_BINARY:-/usr/sbin/nginx} \
	    TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(MODULE_SO) \
	    STRANGLER_CLI=$(CURDIR)/$(CLI) \
	    $(PROVE) $(TEST_FILES)


# nginx from source with the module compiled in, under ASan and UBSan -------

$(ASAN_SRC)/configure:
	mk/nginx-source.sh bookworm $(ASAN_SRC)

$(ASAN_NGINX): $(ASAN_SRC)/configure config $(SRC_DIR) $(CORE_SRCS) $(NGX_SRCS) $(HEADERS)
	@mk/deps.sh build
	cd $(ASAN_SRC) && ./configure --prefix=$(CURDIR)/$(ASAN_PREFIX) \
	    --with-debug --with-pcre-jit --with-http_ssl_module \
	    --with-http_realip_module --with-http_auth_request_module \
	    --with-threads --add-module=$(CURDIR) \
	    --with-cc-opt="-O1 -g $(ASAN_FLAGS)" \
	    --with-ld-opt="$(ASAN_FLAGS)" >configure.log \
	    || { tail -20 configure.log; exit 1; }
	$(MAKE) -C $(ASAN_SRC) -f objs/Makefile
	$(MAKE) -C $(ASAN_SRC) -f objs/Makefile install >/dev/null

asan: $(ASAN_NGINX)

test-asan: deps asan cli
	@mk/deps.sh test
	$(TEST_ENV) TEST_NGINX_BINARY=$(CURDIR)/$(ASAN_NGINX) \
	    TEST_NGINX_LOAD_MODULES= STRANGLER_CLI=$(CURDIR)/$(CLI) \
	    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(PROVE) $(TEST_FILES)


# the demo ------------------------------------------------------------------

demo: all
	@mk/deps.sh test
	@mk/demo.sh $(CURDIR)/$(MODULE_SO)


clean:
	rm -rf $(BUILD)
