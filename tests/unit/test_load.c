
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Unit tests of the route-table loader: every valid form of every key,
 * every error message with its line and column, files, the checksum, and
 * a large generated table.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "strangler_core.h"
#include "strangler_yaml.h"
#include "unit.h"


#ifndef ROUTES_DIR
#define ROUTES_DIR  "routes"
#endif


/* backends and the start of `routes:`; the first route is on line 7 */
#define HEAD                                                                  \
    "version: 1\n"                                                            \
    "default: monolith\n"                                                     \
    "backends:\n"                                                             \
    "  monolith: {}\n"                                                        \
    "  messages: {}\n"                                                        \
    "routes:\n"

/* a first route: its other keys start on line 9, column 5 */
#define ROUTE                                                                 \
    HEAD                                                                      \
    "  - name: r\n"                                                           \
    "    paths: [/r]\n"

#define M(m)  (1u << STRANGLER_M_ ## m)


static strangler_errors_t  errs;


static strangler_table_t *
load(const char *yaml)
{
    return strangler_table_load_buffer("routes.yaml", yaml, strlen(yaml),
                                       &errs);
}


static void
print_errors(void)
{
    size_t  i;

    for (i = 0; i < errs.count && i < STRANGLER_MAX_ERRORS; i++) {
        fprintf(stderr, "    %s\n", errs.text[i]);
    }
}


/* loads a valid table, or fails the test and shows why */

static strangler_table_t *
load_ok(const char *yaml, int line)
{
    strangler_table_t  *t;

    t = load(yaml);

    UNIT_CHECK(t != NULL && errs.count == 0, "test at line %d: %zu errors",
               line, errs.count);

    if (t == NULL) {
        print_errors();
    }

    return t;
}


/* the route of a one-route table */
#define R0(t)  (&(t)->routes[0])


static void
test_spec_example(void)
{
    strangler_table_t        *t;
    const strangler_route_t  *r;

    t = load_ok(
        "version: 1\n"
        "default: monolith              # unmatched requests go here\n"
        "backends:\n"
        "  monolith: {}\n"
        "  messages: { location: \"@messages_v2\" }\n"
        "routes:\n"
        "  - name: conversations\n"
        "    paths:\n"
        "      - /api/conversations\n"
        "      - /api/conversations/{id}\n"
        "      - /api/conversations/{id}/*\n"
        "      - \"~ ^/api/users/[0-9]+/inbox$\"\n"
        "    methods: [GET, HEAD, POST]\n"
        "    owner: monolith\n"
        "    reads: messages\n"
        "    shadow:\n"
        "      to: monolith\n"
        "      sample: 10\n"
        "      compare: json\n"
        "      ignore: [\"$.meta.request_id\", \"header:Date\"]\n",
        __LINE__);

    if (t == NULL) {
        return;
    }

    UNIT_CHECK(t->version == 1, "version %d", t->version);
    UNIT_CHECK(t->nbackends == 2, "%zu backends", t->nbackends);
    UNIT_STR_EQ(t->backends[0].name.data, "monolith");
    UNIT_STR_EQ(t->backends[0].location.data, "@monolith");
    UNIT_CHECK(t->backends[0].location.len == 9, "len");
    UNIT_STR_EQ(t->backends[1].location.data, "@messages_v2");
    UNIT_CHECK(t->backends[1].line == 5 && t->backends[1].col == 3,
               "backend at %u:%u", t->backends[1].line, t->backends[1].col);
    UNIT_CHECK(t->default_backend == 0, "default %d", t->default_backend);
    UNIT_STR_EQ(t->file.data, "routes.yaml");

    UNIT_CHECK(t->nroutes == 1, "%zu routes", t->nroutes);
    r = R0(t);
    UNIT_STR_EQ(r->name.data, "conversations");
    UNIT_CHECK(r->line == 7 && r->col == 5, "route at %u:%u", r->line, r->col);
    UNIT_CHECK(r->index == 0, "index");
    UNIT_CHECK(r->paths.n == 4, "%zu paths", r->paths.n);
    UNIT_STR_EQ(r->paths.items[1].data, "/api/conversations/{id}");
    UNIT_STR_EQ(r->paths.items[3].data, "~ ^/api/users/[0-9]+/inbox$");
    UNIT_CHECK(r->methods == (M(GET) | M(HEAD) | M(POST)), "methods %x",
               r->methods);
    UNIT_CHECK(r->owner == 0, "owner %d", r->owner);
    UNIT_CHECK(r->nreads == 1 && r->reads[0].backend == 1
               && r->reads[0].weight == 1 && r->total_weight == 1, "reads");
    UNIT_CHECK(r->sticky == STRANGLER_STICKY_NONE, "sticky");
    UNIT_CHECK(r->shadow.enabled, "shadow");
    UNIT_CHECK(r->shadow.to == 0, "to %d", r->shadow.to);
    UNIT_CHECK(r->shadow.sample_ppm == 100000, "sample %u",
               r->shadow.sample_ppm);
    UNIT_CHECK(r->shadow.compare == STRANGLER_COMPARE_JSON, "compare");
    UNIT_CHECK(r->shadow.ignore.n == 2, "ignore");
    UNIT_STR_EQ(r->shadow.ignore.items[0].data, "$.meta.request_id");
    UNIT_STR_EQ(r->shadow.ignore.items[1].data, "header:Date");
    UNIT_CHECK(!r->shadow.dry_run_writes, "writes");

    UNIT_CHECK(strangler_backend_find(t, "messages", 8) == 1, "find");
    UNIT_CHECK(strangler_backend_find(t, "message", 7) == STRANGLER_NONE,
               "find");
    UNIT_CHECK(strangler_route_find(t, "conversations", 13) == r, "find");
    UNIT_CHECK(strangler_route_find(t, "conversation", 12) == NULL, "find");

    strangler_table_free(t);
}


static void
test_defaults(void)
{
    strangler_table_t        *t;
    const strangler_route_t  *r;

    /* owner defaults to `default`, reads to the owner; no shadow */

    t = load_ok(
        "version: 1\n"
        "default: messages\n"
        "backends:\n"
        "  monolith:\n"
        "  messages: {}\n"
        "routes:\n"
        "  - name: r\n"
        "    paths: [/r]\n", __LINE__);

    if (t == NULL) {
        return;
    }

    r = R0(t);
    UNIT_STR_EQ(t->backends[0].location.data, "@monolith");
    UNIT_CHECK(t->default_backend == 1, "default");
    UNIT_CHECK(r->methods == 0, "all methods");
    UNIT_CHECK(r->owner == 1, "owner %d", r->owner);
    UNIT_CHECK(r->nreads == 1 && r->reads[0].backend == 1
               && r->total_weight == 1, "reads");
    UNIT_CHECK(!r->shadow.enabled, "no shadow");
    UNIT_CHECK(r->sticky == STRANGLER_STICKY_NONE, "no sticky");
    strangler_table_free(t);

    /* `routes` absent, empty or null */

    t = load_ok("version: 1\ndefault: a\nbackends: {a: {}}\n", __LINE__);
    UNIT_CHECK(t && t->nroutes == 0 && t->routes == NULL, "no routes");
    strangler_table_free(t);

    t = load_ok("version: 1\ndefault: a\nbackends: {a: {}}\nroutes: []\n",
                __LINE__);
    UNIT_CHECK(t && t->nroutes == 0, "empty routes");
    strangler_table_free(t);

    t = load_ok("version: 1\ndefault: a\nbackends: {a: {}}\nroutes:\n",
                __LINE__);
    UNIT_CHECK(t && t->nroutes == 0, "null routes");
    strangler_table_free(t);

    /* flow style, anchors and aliases are YAML too */

    t = load_ok("{version: 1, default: a, backends: {a: &empty {}, "
                "b: *empty}, routes: [{name: x, paths: &p [/x]}, "
                "{name: y, paths: [/y], methods: &m [GET]}, "
                "{name: z, paths: [/y], methods: [POST]}]}\n", __LINE__);
    UNIT_CHECK(t && t->nbackends == 2 && t->nroutes == 3, "flow");
    strangler_table_free(t);
}


static void
test_methods(void)
{
    strangler_table_t  *t;

    t = load_ok(ROUTE "    methods: [GET, HEAD, OPTIONS, POST, PUT, DELETE, "
                "PATCH, TRACE, CONNECT, PROPFIND, PROPPATCH, MKCOL, COPY, "
                "MOVE, LOCK, UNLOCK]\n", __LINE__);
    UNIT_CHECK(t && R0(t)->methods == (1u << STRANGLER_M_OTHER) - 1,
               "every method");
    strangler_table_free(t);

    t = load_ok(ROUTE "    methods:\n      - DELETE\n      - PATCH\n",
                __LINE__);
    UNIT_CHECK(t && R0(t)->methods == (M(DELETE) | M(PATCH)), "block list");
    strangler_table_free(t);

    /* the same path for other methods is another route's */

    t = load_ok(HEAD
                "  - name: reads\n"
                "    paths: [/m, \"/m/{id}\", /m/*]\n"
                "    methods: [GET, HEAD]\n"
                "  - name: writes\n"
                "    paths: [/m, \"/m/{id}\", /m/*]\n"
                "    methods: [POST, PUT]\n"
                "  - name: all\n"
                "    paths: [/m, \"/m/{other}\", /m/*]\n", __LINE__);
    UNIT_CHECK(t && t->nroutes == 3, "methods share a path");
    strangler_table_free(t);
}


static void
test_reads(void)
{
    strangler_table_t        *t;
    const strangler_route_t  *r;

    t = load_ok(ROUTE "    owner: monolith\n"
                "    reads: { messages: 10, monolith: 90 }\n"
                "    sticky: header:X-User-Id\n", __LINE__);

    if (t) {
        r = R0(t);
        UNIT_CHECK(r->nreads == 2 && r->total_weight == 100, "split");
        UNIT_CHECK(r->reads[0].backend == 1 && r->reads[0].weight == 10,
                   "first");
        UNIT_CHECK(r->reads[1].backend == 0 && r->reads[1].weight == 90,
                   "second");
        UNIT_CHECK(r->sticky == STRANGLER_STICKY_HEADER, "sticky");
        UNIT_STR_EQ(r->sticky_name.data, "X-User-Id");
        strangler_table_free(t);
    }

    t = load_ok(ROUTE "    reads:\n      messages: 5\n", __LINE__);
    UNIT_CHECK(t && R0(t)->nreads == 1 && R0(t)->total_weight == 5
               && R0(t)->reads[0].backend == 1, "one weighted backend");
    strangler_table_free(t);

    t = load_ok(ROUTE "    reads: { messages: 1000000, monolith: 1 }\n",
                __LINE__);
    UNIT_CHECK(t && R0(t)->total_weight == 1000001, "largest weight");
    strangler_table_free(t);

    /* the owner moved: reads follow it unless told otherwise */

    t = load_ok(ROUTE "    owner: messages\n", __LINE__);
    UNIT_CHECK(t && R0(t)->owner == 1 && R0(t)->reads[0].backend == 1,
               "owner moved");
    strangler_table_free(t);
}


static void
test_sticky(void)
{
    size_t              i;
    strangler_table_t  *t;
    char                yaml[512];

    static const struct {
        const char          *value;
        strangler_sticky_t   sticky;
        const char          *name;
    } forms[] = {
        { "header:X-User-Id", STRANGLER_STICKY_HEADER, "X-User-Id" },
        { "cookie:uid",       STRANGLER_STICKY_COOKIE, "uid" },
        { "arg:user",         STRANGLER_STICKY_ARG,    "user" },
        { "ip",               STRANGLER_STICKY_IP,     NULL },
        { "\"cookie:a.b\"",   STRANGLER_STICKY_COOKIE, "a.b" },
    };

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(yaml, sizeof(yaml), ROUTE "    sticky: %s\n",
                 forms[i].value);

        t = load_ok(yaml, __LINE__);
        if (t == NULL) {
            continue;
        }

        UNIT_CHECK(R0(t)->sticky == forms[i].sticky, "%s", forms[i].value);

        if (forms[i].name) {
            UNIT_STR_EQ(R0(t)->sticky_name.data, forms[i].name);

        } else {
            UNIT_CHECK(R0(t)->sticky_name.len == 0, "%s", forms[i].value);
        }

        strangler_table_free(t);
    }
}


static void
test_method_override(void)
{
    strangler_table_t  *t;

    /* absent: the four frameworks' names */

    t = load_ok(ROUTE, __LINE__);

    if (t) {
        UNIT_CHECK(t->nmethod_overrides == 4, "%zu", t->nmethod_overrides);
        UNIT_CHECK(t->method_overrides[0].from == STRANGLER_STICKY_HEADER,
                   "header");
        UNIT_STR_EQ(t->method_overrides[0].name.data,
                    "X-HTTP-Method-Override");
        UNIT_STR_EQ(t->method_overrides[1].name.data, "X-HTTP-Method");
        UNIT_STR_EQ(t->method_overrides[2].name.data, "X-Method-Override");
        UNIT_CHECK(t->method_overrides[3].from == STRANGLER_STICKY_ARG,
                   "arg");
        UNIT_STR_EQ(t->method_overrides[3].name.data, "_method");
        strangler_table_free(t);
    }

    /* [] turns it off; a list replaces the default */

    t = load_ok(ROUTE "method_override: []\n", __LINE__);

    if (t) {
        UNIT_CHECK(t->nmethod_overrides == 0, "%zu", t->nmethod_overrides);
        strangler_table_free(t);
    }

    t = load_ok(ROUTE "method_override: [\"arg:verb\", header:X-Tunnel]\n",
                __LINE__);

    if (t) {
        UNIT_CHECK(t->nmethod_overrides == 2, "%zu", t->nmethod_overrides);
        UNIT_CHECK(t->method_overrides[0].from == STRANGLER_STICKY_ARG,
                   "arg");
        UNIT_STR_EQ(t->method_overrides[0].name.data, "verb");
        UNIT_CHECK(t->method_overrides[1].from == STRANGLER_STICKY_HEADER,
                   "header");
        UNIT_STR_EQ(t->method_overrides[1].name.data, "X-Tunnel");
        strangler_table_free(t);
    }
}


static void
test_sample(void)
{
    size_t              i;
    strangler_table_t  *t;
    char                yaml[512];

    static const struct {
        const char  *value;
        uint32_t     ppm;
    } samples[] = {
        { "0", 0 },
        { "0.5", 5000 },
        { "12.25", 122500 },
        { "100", 1000000 },
        { "100.0000", 1000000 },
        { "33.333333", 333333 },
        { "0.00005", 1 },           /* half a ppm rounds up */
        { "0.00004", 0 },
        { "99.999999", 1000000 },
        { ".5", 5000 },
        { "5.", 50000 },
        { "007", 70000 },
        { "\"10\"", 100000 },
    };

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        snprintf(yaml, sizeof(yaml), ROUTE "    reads: messages\n"
                 "    shadow: { sample: %s }\n", samples[i].value);

        t = load_ok(yaml, __LINE__);
        if (t == NULL) {
            continue;
        }

        UNIT_CHECK(R0(t)->shadow.sample_ppm == samples[i].ppm,
                   "sample %s: %u ppm", samples[i].value,
                   R0(t)->shadow.sample_ppm);
        strangler_table_free(t);
    }
}


static void
test_shadow(void)
{
    size_t                     i;
    strangler_table_t         *t;
    const strangler_shadow_t  *s;
    char                       yaml[512];

    static const char  *compares[] = { "off", "status", "body", "json" };

    /* an empty block: every default */

    t = load_ok(ROUTE "    reads: messages\n    shadow: {}\n", __LINE__);

    if (t) {
        s = &R0(t)->shadow;
        UNIT_CHECK(s->enabled && s->to == STRANGLER_NONE, "other side");
        UNIT_CHECK(s->sample_ppm == STRANGLER_SAMPLE_SCALE, "all");
        UNIT_CHECK(s->compare == STRANGLER_COMPARE_STATUS, "status");
        UNIT_CHECK(s->ignore.n == 0 && s->headers.n == 0, "lists");
        UNIT_CHECK(!s->dry_run_writes && s->dry_run_header.len == 0, "writes");
        strangler_table_free(t);
    }

    for (i = 0; i < 4; i++) {
        snprintf(yaml, sizeof(yaml), ROUTE "    reads: messages\n"
                 "    shadow: { compare: %s }\n", compares[i]);
        t = load_ok(yaml, __LINE__);
        UNIT_CHECK(t && R0(t)->shadow.compare == (strangler_compare_t) i,
                   "compare %s", compares[i]);
        strangler_table_free(t);
    }

    /* one backend for everything: `to` names the other side */

    t = load_ok(ROUTE "    shadow:\n"
                "      to: messages\n"
                "      headers: [Content-Type, ETag]\n"
                "      ignore:\n"
                "        - $.a.b\n"
                "        - $[0]\n"
                "        - $[*].id\n"
                "        - \"$['we.ird']\"\n"
                "        - \"$['it\\\\'s']\"\n"
                "        - $.items[12].meta['']\n"
                "        - header:Date\n"
                "      writes: dry-run\n"
                "      dry_run_header: X-Dry-Run\n", __LINE__);

    if (t) {
        s = &R0(t)->shadow;
        UNIT_CHECK(s->to == 1, "to %d", s->to);
        UNIT_CHECK(s->headers.n == 2, "headers");
        UNIT_STR_EQ(s->headers.items[1].data, "ETag");
        UNIT_CHECK(s->ignore.n == 7, "ignore %zu", s->ignore.n);
        UNIT_STR_EQ(s->ignore.items[4].data, "$['it\\'s']");
        UNIT_CHECK(s->dry_run_writes, "dry run");
        UNIT_STR_EQ(s->dry_run_header.data, "X-Dry-Run");
        strangler_table_free(t);
    }

    /* a split has another side, and so has a moved owner */

    t = load_ok(ROUTE "    reads: { monolith: 1, messages: 1 }\n"
                "    shadow: { writes: \"off\" }\n", __LINE__);
    strangler_table_free(t);

    t = load_ok(ROUTE "    owner: messages\n    reads: monolith\n"
                "    shadow: { to: messages }\n", __LINE__);
    strangler_table_free(t);

    /* an owned route: the side that did not serve is the table's default */

    t = load_ok(ROUTE "    owner: messages\n    shadow: { sample: 5 }\n",
                __LINE__);

    if (t) {
        UNIT_CHECK(R0(t)->shadow.to == t->default_backend,
                   "to the default, %d", R0(t)->shadow.to);
        strangler_table_free(t);
    }
}


/* ---- errors ------------------------------------------------------------ */


typedef struct {
    int          line;          /* of the case, in this file */
    const char  *yaml;
    const char  *want[3];       /* every error, in order */
} error_case_t;


#define E(yaml, ...)  { __LINE__, yaml, { __VA_ARGS__ } }
#define F             "routes.yaml:"


static const error_case_t  error_cases[] = {

    /* documents */

    E("", F "1:1: the route table is empty: expected \"version: 1\", "
      "\"default\", \"backends\" and \"routes\""),
    E("# nothing\n", F "1:1: the route table is empty: expected \"version: "
      "1\", \"default\", \"backends\" and \"routes\""),
    E("- a\n", F "1:1: the route table must be a mapping with \"version: 1\", "
      "\"default\", \"backends\" and \"routes\""),
    E("version: 1\nbackends:\n  a: {}\n b: 1\n",
      F "4:2: YAML: did not find expected key (while parsing a block "
      "mapping at line 1)"),
    E("version: 1\ndefault: x\n  backends: y\n",
      F "3:11: YAML: mapping values are not allowed in this context"),
    E("a: [1, 2\n", F "2:1: YAML: did not find expected ',' or ']' (while "
      "parsing a flow sequence at line 1)"),
    E(HEAD "  - name: x\n    paths: [/a/{id}]\n",
      F "8:16: YAML: did not find expected ',' or ']' (while parsing a flow "
      "sequence at line 8); a path with {name} in a [...] list needs quotes"),
    E("a: *x\n", F "1:4: YAML: found undefined alias"),
    E("a: &a [x, *a]\n", F "1:11: YAML: alias \"*a\" inside the node it "
      "names"),
    E("a: &a {b: [c, {d: *a}]}\n", F "1:19: YAML: alias \"*a\" inside the "
      "node it names"),
    E("a: 1\nb: \x01\n", F "2:4: YAML: control characters are not allowed"),
    E("a: \xff\n", F "1:4: YAML: invalid leading UTF-8 octet"),
    E("version: 1\n---\nversion: 1\n", F "2:1: a second YAML document: the "
      "route table must be one document"),

    /* top level */

    E("default: a\nbackends: {a: {}}\n",
      F "1:1: missing required key \"version\" at top level"),
    E("version: 2\ndefault: a\nbackends: {a: {}}\n",
      F "1:10: unsupported version \"2\", expected 1"),
    E("version: [1]\ndefault: a\nbackends: {a: {}}\n",
      F "1:10: \"version\" must be 1"),
    E("version: \"1\"\ndefault: a\nbackends: {a: {}}\n",
      F "1:10: \"version\" must be the number 1, not a string"),
    E("version: '1'\ndefault: a\nbackends: {a: {}}\n",
      F "1:10: \"version\" must be the number 1, not a string"),
    E("version: 1\ndefault: a\nbackends: {a: {}}\nfoo: 1\n",
      F "4:1: unknown key \"foo\" at top level"),
    E("version: 1\ndefault: a\nbackends: {a: {}}\nversion: 1\n",
      F "4:1: duplicate key \"version\" at top level (first at line 1)"),
    E("version: 1\ndefault: a\nbackends: {a: {}}\n[x]: 1\n",
      F "4:1: keys must be names at top level"),

    /* method_override */

    E(ROUTE "method_override: header:X\n",
      F "9:18: \"method_override\" must be a list of header:NAME and "
      "arg:NAME, or []"),
    E(ROUTE "method_override: [cookie:x, \"header:\", [ip]]\n",
      F "9:19: \"method_override\": expected header:NAME or arg:NAME, such "
      "as header:X-HTTP-Method-Override or arg:_method",
      F "9:29: \"method_override\": expected header:NAME or arg:NAME, such "
      "as header:X-HTTP-Method-Override or arg:_method",
      F "9:40: \"method_override\": expected header:NAME or arg:NAME, such "
      "as header:X-HTTP-Method-Override or arg:_method"),

    /* backends */

    E("version: 1\ndefault: a\n",
      F "1:1: missing required key \"backends\" at top level"),
    E("version: 1\ndefault: a\nbackends: [a]\n",
      F "3:11: \"backends\" must be a mapping of backend names to {} or "
      "{ location: \"@name\" }"),
    E("version: 1\ndefault: a\nbackends: {}\n",
      F "3:11: \"backends\" must name at least one backend"),
    E("version: 1\ndefault: a\nbackends:\n  a: {}\n  A-b: {}\n",
      F "5:3: bad backend name \"A-b\": expected [a-z0-9_-]+"),
    E("version: 1\ndefault: a\nbackends:\n  a: {}\n  [b]: {}\n",
      F "5:3: backend names must be strings of [a-z0-9_-]"),
    E("version: 1\ndefault: a\nbackends:\n  a: {}\n  a: {}\n",
      F "5:3: duplicate key \"a\" in \"backends\" (first at line 4)"),
    E("version: 1\ndefault: a\nbackends:\n  a: [x]\n",
      F "4:6: backend \"a\" must be a mapping: {} or { location: \"@name\" }"),
    E("version: 1\ndefault: a\nbackends:\n  a: { proxy: x }\n",
      F "4:8: unknown key \"proxy\" in backend \"a\""),
    E("version: 1\ndefault: a\nbackends:\n  a: { location: a }\n",
      F "4:18: backend \"a\": \"location\" must be a named location such as "
      "\"@a\""),
    E("version: 1\ndefault: a\nbackends:\n  a: { location: \"@\" }\n",
      F "4:18: backend \"a\": \"location\" must be a named location such as "
      "\"@a\""),
    E("version: 1\ndefault: a\nbackends:\n  a: { location: \"@a b\" }\n",
      F "4:18: backend \"a\": \"location\" must be a named location such as "
      "\"@a\""),

    /* default */

    E("version: 1\nbackends: {a: {}}\n",
      F "1:1: missing required key \"default\" at top level"),
    E("version: 1\ndefault: b\nbackends: {a: {}}\n",
      F "2:10: \"default\": unknown backend \"b\""),
    E("version: 1\ndefault:\nbackends: {a: {}}\n",
      F "2:9: \"default\" must be a backend name"),

    /* routes */

    E(HEAD "  name: x\n", F "7:3: \"routes\" must be a list of routes"),
    E(HEAD "  - x\n", F "7:5: route #1 must be a mapping with \"name\" and "
      "\"paths\""),
    E(HEAD "  - paths: [/x]\n",
      F "7:5: missing required key \"name\" in route #1"),
    E(HEAD "  - name: [x]\n    paths: [/x]\n",
      F "7:11: route #1: \"name\" must be a string of [a-z0-9_-]"),
    E(HEAD "  - name: Conversations\n    paths: [/x]\n",
      F "7:11: bad route name \"Conversations\": expected [a-z0-9_-]+"),
    E(ROUTE "  - name: r\n    paths: [/x]\n",
      F "9:11: duplicate route name \"r\" (first at line 7)"),
    E(HEAD "  - name: \"-\"\n    paths: [/x]\n",
      F "7:11: route name \"-\" is the name of the default route "
      "(requests no route matches)"),
    E(ROUTE "    owners: monolith\n",
      F "9:5: unknown key \"owners\" in route \"r\""),
    E(ROUTE "    name: r\n",
      F "9:5: duplicate key \"name\" in route \"r\" (first at line 7)"),

    /* paths */

    E(HEAD "  - name: x\n",
      F "7:5: missing required key \"paths\" in route \"x\""),
    E(HEAD "  - name: x\n    paths: []\n",
      F "8:12: route \"x\": \"paths\" must be a non-empty list of paths"),
    E(HEAD "  - name: x\n    paths: /x\n",
      F "8:12: route \"x\": \"paths\" must be a non-empty list of paths"),
    E(HEAD "  - name: x\n    paths: [[/x]]\n",
      F "8:13: route \"x\": \"paths\" must be a list of paths, such as "
      "/api/items/{id}"),
    E(HEAD "  - name: x\n    paths: [\"/a/{id\"]\n",
      F "8:17: route \"x\": bad path \"/a/{id\": a parameter must be a whole "
      "segment, as in \"{name}\""),
    E(HEAD "  - name: x\n    paths: [\"/a/b/c*\"]\n",
      F "8:20: route \"x\": bad path \"/a/b/c*\": \"*\" is allowed only as "
      "the whole last segment"),
    E(HEAD "  - name: x\n    paths: [a]\n",
      F "8:13: route \"x\": bad path \"a\": a path must start with \"/\" (or "
      "\"~\" for a regex)"),
    E(HEAD "  - name: x\n    paths:\n      - \"~ ^/a(b\"\n      - ~ ^/a[\n",
      F "9:17: route \"x\": bad path \"~ ^/a(b\": missing closing "
      "parenthesis",
      F "10:15: route \"x\": bad path \"~ ^/a[\": missing terminating ] for "
      "character class"),
    E(ROUTE "  - name: x\n    paths: [/r]\n",
      F "10:13: route \"x\": GET on \"/r\" is already claimed by route \"r\" "
      "(line 7)"),
    E(HEAD "  - name: a\n    paths: [\"/a/{id}\"]\n    methods: [GET, PUT]\n"
      "  - name: b\n    paths:\n      - /a/{x}\n    methods: [POST, PUT]\n",
      F "12:9: route \"b\": PUT on \"/a/{x}\" is already claimed by route "
      "\"a\" (line 7)"),
    E(HEAD "  - name: x\n    paths: [/a/*, /b, /a/*]\n",
      F "8:23: route \"x\": path \"/a/*\" is listed twice"),

    /* paths that no request path can be, once nginx has normalised it */

    E(HEAD "  - name: x\n    paths: [/a//b]\n",
      F "8:16: route \"x\": bad path \"/a//b\": an empty segment never "
      "matches: nginx merges \"//\" in request paths"),
    E(HEAD "  - name: x\n    paths: [/a/../b, /a/./b, /a/.]\n",
      F "8:16: route \"x\": bad path \"/a/../b\": a \".\" or \"..\" segment "
      "never matches: nginx resolves them in request paths",
      F "8:25: route \"x\": bad path \"/a/./b\": a \".\" or \"..\" segment "
      "never matches: nginx resolves them in request paths",
      F "8:33: route \"x\": bad path \"/a/.\": a \".\" or \"..\" segment "
      "never matches: nginx resolves them in request paths"),
    E(HEAD "  - name: x\n    paths: [\"/a/%2F\", \"/{id}/b%20c\"]\n",
      F "8:17: route \"x\": bad path \"/a/%2F\": a percent-encoded byte "
      "never matches: request paths are matched decoded, write the byte "
      "itself",
      F "8:31: route \"x\": bad path \"/{id}/b%20c\": a percent-encoded "
      "byte never matches: request paths are matched decoded, write the "
      "byte itself"),
    E(HEAD "  - name: x\n    paths: [\"/a/b?x=1\"]\n",
      F "8:18: route \"x\": bad path \"/a/b?x=1\": a path never matches a "
      "query string or a fragment: they are not part of the path"),
    E(HEAD "  - name: x\n    paths: [\"/a\\0b\"]\n",
      F "8:16: route \"x\": bad path \"/a\": a NUL byte never matches: "
      "request paths cannot hold one"),

    /* methods */

    E(ROUTE "    methods: GET\n",
      F "9:14: route \"r\": \"methods\" must be a list of method names"),
    E(ROUTE "    methods: [GET, [POST]]\n",
      F "9:20: route \"r\": \"methods\" must be a list of method names"),
    E(ROUTE "    methods: []\n",
      F "9:14: route \"r\": \"methods\" is empty: list method names, or leave "
      "it out for all methods"),
    E(ROUTE "    methods: [GET, get, FOO]\n",
      F "9:20: route \"r\": unknown method \"get\"",
      F "9:25: route \"r\": unknown method \"FOO\""),
    E(ROUTE "    methods: [GET, POST, GET]\n",
      F "9:26: route \"r\": duplicate method \"GET\""),

    /* owner and reads */

    E(ROUTE "    owner: mesages\n",
      F "9:12: route \"r\": unknown backend \"mesages\""),
    E(ROUTE "    owner: [monolith]\n",
      F "9:12: route \"r\": \"owner\" must be a backend name"),
    E(ROUTE "    reads: mesages\n",
      F "9:12: route \"r\": unknown backend \"mesages\""),
    E(ROUTE "    reads: [messages]\n",
      F "9:12: route \"r\": \"reads\" must be a backend name or a mapping of "
      "backend names to weights"),
    E(ROUTE "    reads:\n",
      F "9:11: route \"r\": \"reads\" must be a backend name"),
    E(ROUTE "    reads: {}\n",
      F "9:12: route \"r\": \"reads\" must name at least one backend"),
    E(ROUTE "    reads: { messages: 0 }\n",
      F "9:24: route \"r\": weights must be positive integers, got \"0\""),
    E(ROUTE "    reads: { messages: -1, monolith: 1.5 }\n",
      F "9:24: route \"r\": weights must be positive integers, got \"-1\"",
      F "9:38: route \"r\": weights must be positive integers, got \"1.5\""),
    E(ROUTE "    reads: { messages: ten, monolith: }\n",
      F "9:24: route \"r\": weights must be positive integers, got \"ten\"",
      F "9:39: route \"r\": weights must be positive integers, got \"\""),
    E(ROUTE "    reads: { messages: [1] }\n",
      F "9:24: route \"r\": weights must be positive integers"),
    E(ROUTE "    reads: { messages: 1000001 }\n",
      F "9:24: route \"r\": weight \"1000001\" is too large: at most 1000000"),
    E(ROUTE "    reads: { messages: 99999999999999999999999 }\n",
      F "9:24: route \"r\": weight \"99999999999999999999999\" is too large: "
      "at most 1000000"),
    E(ROUTE "    reads: { mesages: 1 }\n",
      F "9:14: route \"r\": unknown backend \"mesages\""),
    E(ROUTE "    reads:\n      messages: 1\n      messages: 2\n",
      F "11:7: duplicate key \"messages\" in reads of route \"r\" (first at "
      "line 10)"),

    /* sticky */

    E(ROUTE "    sticky: user\n", F "9:13: route \"r\": \"sticky\" must be "
      "header:NAME, cookie:NAME, arg:NAME or ip"),
    E(ROUTE "    sticky: \"header:\"\n", F "9:13: route \"r\": \"sticky\" must "
      "be header:NAME, cookie:NAME, arg:NAME or ip"),
    E(ROUTE "    sticky: header:X User\n", F "9:13: route \"r\": \"sticky\" "
      "must be header:NAME, cookie:NAME, arg:NAME or ip"),
    E(ROUTE "    sticky: ip:x\n", F "9:13: route \"r\": \"sticky\" must be "
      "header:NAME, cookie:NAME, arg:NAME or ip"),
    E(ROUTE "    sticky: [ip]\n", F "9:13: route \"r\": \"sticky\" must be "
      "header:NAME, cookie:NAME, arg:NAME or ip"),

    /* shadow */

    E(ROUTE "    shadow: on\n", F "9:13: route \"r\": \"shadow\" must be a "
      "mapping, such as { to: monolith, sample: 10 }"),
    E(ROUTE "    shadow: { to: messages, sampel: 10 }\n",
      F "9:29: unknown key \"sampel\" in shadow of route \"r\""),
    E(ROUTE "    shadow: { to: messages, to: monolith }\n",
      F "9:29: duplicate key \"to\" in shadow of route \"r\" (first at "
      "line 9)"),
    E(ROUTE "    shadow: { to: mesages }\n",
      F "9:19: route \"r\": unknown backend \"mesages\""),
    E(ROUTE "    shadow: {}\n",
      F "9:13: route \"r\": shadow has no other side; set shadow.to"),
    E(ROUTE "    shadow:\n      to: monolith\n",
      F "10:11: route \"r\": shadow.to \"monolith\" is the backend that "
      "serves the route; name another one"),
    E(ROUTE "    owner: messages\n    shadow: { to: messages }\n",
      F "10:19: route \"r\": shadow.to \"messages\" is the backend that "
      "serves the route; name another one"),
    E(ROUTE "    shadow: { to: messages, sample: 101 }\n",
      F "9:37: route \"r\": shadow.sample must be a percentage from 0 to "
      "100, such as 10 or 0.5"),
    E(ROUTE "    shadow: { to: messages, sample: 100.001 }\n",
      F "9:37: route \"r\": shadow.sample must be a percentage from 0 to "
      "100, such as 10 or 0.5"),
    E(ROUTE "    shadow: { to: messages, sample: 100.00001 }\n",
      F "9:37: route \"r\": shadow.sample must be a percentage from 0 to "
      "100, such as 10 or 0.5"),
    E(ROUTE "    shadow: { to: messages, sample: 100.000001 }\n",
      F "9:37: route \"r\": shadow.sample must be a percentage from 0 to "
      "100, such as 10 or 0.5"),
    E(ROUTE "    shadow: { to: messages, sample: -1 }\n",
      F "9:37: route \"r\": shadow.sample must be a percentage from 0 to "
      "100, such as 10 or 0.5"),
    E(ROUTE "    shadow: { to: messages, sample: 1e2 }\n",
      F "9:37: route \"r\": shadow.sample must be a percentage from 0 to "
      "100, such as 10 or 0.5"),
    E(ROUTE "    shadow: { to: messages, sample: 10% }\n",
      F "9:37: route \"r\": shadow.sample must be a percentage from 0 to "
      "100, such as 10 or 0.5"),
    E(ROUTE "    shadow: { to: messages, sample: . }\n",
      F "9:37: route \"r\": shadow.sample must be a percentage from 0 to "
      "100, such as 10 or 0.5"),
    E(ROUTE "    shadow: { to: messages, compare: xml }\n",
      F "9:38: route \"r\": shadow.compare must be off, status, body or json"),
    E(ROUTE "    shadow: { to: messages, ignore: $.a }\n",
      F "9:37: route \"r\": shadow.ignore must be a list of \"header:Name\" "
      "or JSON paths such as \"$.meta.id\""),
    E(ROUTE "    shadow: { to: messages, ignore: [$.a, {}] }\n",
      F "9:43: route \"r\": shadow.ignore must be a list of \"header:Name\" "
      "or JSON paths such as \"$.meta.id\""),
    E(ROUTE "    shadow:\n      to: messages\n      ignore:\n"
      "        - meta.id\n"
      "        - \"$\"\n"
      "        - $.a..b\n",
      F "12:11: route \"r\": bad shadow.ignore \"meta.id\": expected "
      "\"header:Name\" or a JSON path starting with \"$\"",
      F "13:13: route \"r\": bad shadow.ignore \"$\": expected at least one "
      ".key or [N] after \"$\"",
      F "14:15: route \"r\": bad shadow.ignore \"$.a..b\": expected a key "
      "after \".\" (use [*] for any key)"),
    E(ROUTE "    shadow:\n      to: messages\n      ignore:\n"
      "        - $.a.*\n"
      "        - $.a[x]\n"
      "        - \"$['a]\"\n",
      F "12:15: route \"r\": bad shadow.ignore \"$.a.*\": expected a key "
      "after \".\" (use [*] for any key)",
      F "13:15: route \"r\": bad shadow.ignore \"$.a[x]\": expected [N], [*] "
      "or ['key']",
      F "14:17: route \"r\": bad shadow.ignore \"$['a]\": expected [N], [*] "
      "or ['key']"),
    E(ROUTE "    shadow:\n      to: messages\n      ignore:\n"
      "        - $[1\n"
      "        - $a\n"
      "        - header:Da te\n",
      F "12:14: route \"r\": bad shadow.ignore \"$[1\": expected [N], [*] "
      "or ['key']",
      F "13:12: route \"r\": bad shadow.ignore \"$a\": expected \".key\", "
      "\"[N]\", \"[*]\" or \"['key']\"",
      F "14:18: route \"r\": bad shadow.ignore \"header:Da te\": bad header "
      "name"),
    E(ROUTE "    shadow: { to: messages, compare: json, unordered: $.a }\n",
      F "9:55: route \"r\": shadow.unordered must be a list of JSON paths "
      "of arrays, such as \"$.items\""),
    E(ROUTE "    shadow:\n      to: messages\n      compare: json\n"
      "      unordered:\n"
      "        - items\n"
      "        - $.a[x]\n",
      F "13:11: route \"r\": bad shadow.unordered \"items\": expected a "
      "JSON path starting with \"$\"",
      F "14:15: route \"r\": bad shadow.unordered \"$.a[x]\": expected "
      "[N], [*] or ['key']"),
    E(ROUTE "    shadow: { to: messages, compare: body, unordered: [$.a] }\n",
      F "9:55: route \"r\": shadow.unordered needs compare: json"),
    E(ROUTE "    shadow: { to: messages, headers: ETag }\n",
      F "9:38: route \"r\": shadow.headers must be a list of header names"),
    E(ROUTE "    shadow: { to: messages, headers: [ETag, \"Con tent\"] }\n",
      F "9:45: route \"r\": bad header name \"Con tent\" in shadow.headers"),
    E(ROUTE "    shadow: { to: messages, writes: on }\n",
      F "9:37: route \"r\": shadow.writes must be \"off\" or \"dry-run\": "
      "writes go to the owner only"),
    E(ROUTE "    shadow: { to: messages, writes: dry-run }\n",
      F "9:37: route \"r\": shadow.writes: dry-run needs "
      "shadow.dry_run_header"),
    E(ROUTE "    shadow: { to: messages, writes: dry-run, "
      "dry_run_header: \"X: 1\" }\n",
      F "9:62: route \"r\": shadow.dry_run_header must be a header name, "
      "such as X-Dry-Run",
      F "9:37: route \"r\": shadow.writes: dry-run needs "
      "shadow.dry_run_header"),
    E(ROUTE "    shadow: { to: messages, writes: dry-run, "
      "dry_run_header: Connection }\n",
      F "9:62: route \"r\": shadow.dry_run_header \"Connection\" is a "
      "hop-by-hop header: proxies remove it, and a write copy would arrive "
      "unmarked; use a name of your own, such as X-Dry-Run"),

    /* several errors: loading goes on after the first */

    E("version: 1\n"
      "default: monolith\n"
      "backends:\n"
      "  monolith: {}\n"
      "  messages: {}\n"
      "routes:\n"
      "  - name: conversations\n"
      "    paths: [/api/conversations]\n"
      "    reads: mesages\n"
      "  - name: users\n"
      "    paths:\n      - /api/users/{id}\n"
      "    owner: monolth\n",
      F "9:12: route \"conversations\": unknown backend \"mesages\"",
      F "13:12: route \"users\": unknown backend \"monolth\""),
};


static void
test_errors(void)
{
    size_t               i, j, n;
    strangler_table_t   *t;
    const error_case_t  *c;

    for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        c = &error_cases[i];

        for (n = 0; n < 3 && c->want[n]; n++) { /* void */ }

        t = load(c->yaml);

        UNIT_CHECK(t == NULL, "case at line %d loaded", c->line);
        strangler_table_free(t);

        UNIT_CHECK(errs.count == n, "case at line %d: %zu errors, want %zu",
                   c->line, errs.count, n);

        for (j = 0; j < n && j < errs.count; j++) {
            UNIT_CHECK(strcmp(errs.text[j], c->want[j]) == 0,
                       "case at line %d:\n      got  %s\n      want %s",
                       c->line, errs.text[j], c->want[j]);
        }

        if (errs.count != n) {
            print_errors();
        }
    }
}


/*
 * A dry-run marker the proxy removes or rewrites: the write copy would
 * arrive unmarked, a real write.  Each is refused, in any case, where the
 * name is written.
 */

static void
test_dry_run_header_refused(void)
{
    size_t              i;
    char                yaml[1024];
    const char         *want;
    strangler_table_t  *t;

    static const char  *names[] = {
        "Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Expect", "Content-Length",
        "Proxy-Authorization", "Proxy-Authenticate", "HTTP2-Settings",
        "If-None-Match", "If-Modified-Since", "If-Match",
        "If-Unmodified-Since", "Range", "If-Range", "x-strangler-shadow",
        "X_Dry_Run"
    };

    want = F "12:23: route \"r\": shadow.dry_run_header \"";

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(yaml, sizeof(yaml),
                 ROUTE "    shadow:\n      to: messages\n"
                 "      writes: dry-run\n      dry_run_header: %s\n",
                 names[i]);

        t = load(yaml);

        UNIT_CHECK(t == NULL, "%s: loaded", names[i]);
        UNIT_CHECK(errs.count == 1, "%s: %zu errors", names[i], errs.count);
        UNIT_CHECK(strncmp(errs.text[0], want, strlen(want)) == 0
                   && strstr(errs.text[0], names[i]) != NULL,
                   "%s: %s", names[i], errs.text[0]);
        UNIT_CHECK(strangler_dry_run_header_refused(names[i],
                                                    strlen(names[i]))
                   != NULL, "%s", names[i]);

        strangler_table_free(t);
    }

    /* names of one's own pass, even close to a refused one */

    UNIT_CHECK(strangler_dry_run_header_refused("X-Dry-Run", 9) == NULL,
               "X-Dry-Run");
    UNIT_CHECK(strangler_dry_run_header_refused("Hosts", 5) == NULL,
               "Hosts");
    UNIT_CHECK(strangler_dry_run_header_refused("Conn", 4) == NULL, "Conn");
}


/* more errors than are kept: all are counted, the first ones kept */

static void
test_many_errors(void)
{
    int                 i;
    char               *yaml, *p;
    strangler_table_t  *t;

    yaml = malloc(64 * 1024);
    p = yaml + sprintf(yaml, HEAD);

    for (i = 0; i < 40; i++) {
        p += sprintf(p, "  - name: r%d\n    paths: [/r%d]\n"
                     "    owner: nope\n", i, i);
    }

    t = load(yaml);

    UNIT_CHECK(t == NULL, "loaded");
    UNIT_CHECK(errs.count == 40, "%zu errors", errs.count);
    UNIT_STR_EQ(errs.text[STRANGLER_MAX_ERRORS - 1],
                "routes.yaml:54:12: route \"r15\": unknown backend \"nope\"");

    free(yaml);
}


static void
test_too_many_backends(void)
{
    int                 i;
    char               *yaml, *p;
    strangler_table_t  *t;

    yaml = malloc(64 * 1024);
    p = yaml + sprintf(yaml, "version: 1\ndefault: b0\nbackends:\n");

    for (i = 0; i <= STRANGLER_MAX_BACKENDS; i++) {
        p += sprintf(p, "  b%d: {}\n", i);
    }

    t = load(yaml);
    UNIT_CHECK(t == NULL && errs.count == 1, "loaded");
    UNIT_STR_EQ(errs.text[0], "routes.yaml:260:3: too many backends: at most "
                "256");

    /* exactly the limit is fine */
    *strstr(yaml, "  b256: {}\n") = '\0';

    t = load_ok(yaml, __LINE__);
    UNIT_CHECK(t && t->nbackends == STRANGLER_MAX_BACKENDS, "limit");
    strangler_table_free(t);

    free(yaml);
}


/* ---- files, checksum, sizes ------------------------------------------- */


static void
test_files(void)
{
    FILE               *f;
    char                path[64], hex[65];
    const char         *yaml;
    strangler_table_t  *t;

    yaml = "version: 1\ndefault: a\nbackends: {a: {}}\n";

    snprintf(path, sizeof(path), "/tmp/test_load.%d.yaml", (int) getpid());
    f = fopen(path, "w");
    fputs(yaml, f);
    fclose(f);

    t = strangler_table_load_file(path, &errs);
    UNIT_CHECK(t != NULL, "load file");

    if (t) {
        strangler_sha256_hex(yaml, strlen(yaml), hex);
        UNIT_CHECK(strcmp(t->sha256, hex) == 0, "%s", t->sha256);
        UNIT_STR_EQ(t->file.data, path);
        strangler_table_free(t);
    }

    /* the buffer loader keeps the checksum too */
    t = load(yaml);
    UNIT_CHECK(t && strcmp(t->sha256, hex) == 0, "buffer checksum");
    strangler_table_free(t);

    unlink(path);

    t = strangler_table_load_file(path, &errs);
    UNIT_CHECK(t == NULL && errs.count == 1, "missing file");
    UNIT_CHECK(strstr(errs.text[0], ": cannot open: No such file or "
                      "directory") != NULL, "%s", errs.text[0]);
    UNIT_CHECK(strncmp(errs.text[0], path, strlen(path)) == 0, "file name");

    t = strangler_table_load_file("/tmp", &errs);
    UNIT_CHECK(t == NULL && errs.count == 1, "directory");
    UNIT_STR_EQ(errs.text[0], "/tmp: cannot open: not a regular file");

    /* a FIFO without a writer: refused at once, not waited on */

    UNIT_CHECK(mkfifo(path, 0600) == 0, "mkfifo");
    t = strangler_table_load_file(path, &errs);
    UNIT_CHECK(t == NULL && errs.count == 1, "fifo");
    UNIT_CHECK(strstr(errs.text[0], ": cannot open: not a regular file")
               != NULL, "%s", errs.text[0]);
    unlink(path);

    /* errs may be left out */
    t = strangler_table_load_buffer("x", "", 0, NULL);
    UNIT_CHECK(t == NULL, "no errs");
}


/* the bounds of a YAML document: nesting, anchors, what aliases cost */

static void
test_yaml_bounds(void)
{
    int                 i;
    char               *yaml, *p;
    strangler_table_t  *t;

    yaml = malloc(1024 * 1024);

    /* 64 levels, the top-level mapping being the first */

    p = yaml + sprintf(yaml, "a: ");
    p += sprintf(p, "%.*s", 63, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
    sprintf(p, "%.*s\n", 63, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
            "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    t = load(yaml);
    UNIT_CHECK(t == NULL && errs.count >= 1, "63 deep");
    UNIT_STR_EQ(errs.text[0], "routes.yaml:1:1: unknown key \"a\" at top "
                "level");

    p = yaml + sprintf(yaml, "a: ");
    for (i = 0; i < 200000; i++) {
        *p++ = '[';
    }
    for (i = 0; i < 200000; i++) {
        *p++ = ']';
    }
    *p = '\0';

    t = load(yaml);
    UNIT_CHECK(t == NULL && errs.count == 1, "200000 deep");
    UNIT_STR_EQ(errs.text[0], "routes.yaml:1:67: YAML: collections nested "
                "deeper than 64");

    /* block style nests too */

    p = yaml;
    for (i = 0; i < 100; i++) {
        p += sprintf(p, "- ");
    }
    sprintf(p, "x\n");

    t = load(yaml);
    UNIT_CHECK(t == NULL && errs.count == 1, "block nesting");
    UNIT_STR_EQ(errs.text[0], "routes.yaml:1:129: YAML: collections nested "
                "deeper than 64");

    /* anchors */

    p = yaml;
    for (i = 0; i <= STRANGLER_YAML_MAX_ANCHORS; i++) {
        p += sprintf(p, "a%d: &a%d x\n", i, i);
    }

    t = load(yaml);
    UNIT_CHECK(t == NULL && errs.count == 1, "anchors");
    UNIT_STR_EQ(errs.text[0], "routes.yaml:257:7: YAML: more than 256 "
                "anchors");

    /* aliases: exactly the limit, then one node more */

    p = yaml + sprintf(yaml, "a: &a [x");
    for (i = 1; i < 999; i++) {
        p += sprintf(p, ", x");
    }
    p += sprintf(p, "]\nb: [");
    for (i = 0; i < STRANGLER_YAML_MAX_ALIASED / 1000; i++) {
        p += sprintf(p, "*a, ");
    }
    sprintf(p, "]\n");

    t = load(yaml);
    UNIT_CHECK(t == NULL && errs.count >= 1, "aliased at the limit");
    UNIT_STR_EQ(errs.text[0], "routes.yaml:1:1: unknown key \"a\" at top "
                "level");

    sprintf(p, "*a]\n");

    t = load(yaml);
    UNIT_CHECK(t == NULL && errs.count == 1, "aliased beyond the limit");
    UNIT_STR_EQ(errs.text[0], "routes.yaml:2:405: YAML: aliases stand for "
                "more than 100000 nodes in all; write these values out");

    /* the classic: each level ten aliases of the one before */

    p = yaml + sprintf(yaml, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (i = 1; i < 10; i++) {
        p += sprintf(p, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                     "*a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1, i - 1,
                     i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    }

    t = load(yaml);
    UNIT_CHECK(t == NULL && errs.count == 1, "laughs");
    UNIT_CHECK(strstr(errs.text[0], ": YAML: aliases stand for more than "
                      "100000 nodes in all") != NULL, "%s", errs.text[0]);

    /* the size, before anything is read */

    t = strangler_table_load_buffer("big.yaml", yaml,
                                    (size_t) 64 * 1024 * 1024 + 1, &errs);
    UNIT_CHECK(t == NULL && errs.count == 1, "too large");
    UNIT_STR_EQ(errs.text[0], "big.yaml: too large: 67108865 bytes, at most "
                "67108864");

    free(yaml);
}


static void
test_sha256(void)
{
    size_t              i, step;
    char                out[65], piecewise[65], *hex, *big;
    unsigned char       buf[1000], digest[32];
    strangler_sha256_t  ctx;

    static const struct {
        size_t       len;
        const char  *hex;
    } vectors[] = {
        { 55,
          "e7313d333c272e639f790978283f9eb3"
          "92e843d0f29b7016828bb1daa4aac70b" },
        { 56,
          "4324d65f3c103567f5589c710bc08f85"
          "23f929a9272e3af36fc968e52abc6c27" },
        { 63,
          "81c80242132f230c3bd41b3e63bbcff1"
          "6107339549214a99614ff26664625055" },
        { 64,
          "39e3d7b6b5d075d37d053ad89b24b41b"
          "ef4f3c29760c84447cab3f3be1882241" },
        { 65,
          "aacca6ff74fdbb296d165a45cecfa04e"
          "5127bc008770fbbdd48006f2d2fae95e" },
        { 119,
          "9ce7368e4daf32341631b492e80359dc"
          "9f594b48453cd0dd5bf0b19279cc177e" },
        { 120,
          "7836b787757e95e58b3ca5aec90b1b00"
          "4e8deba1e50e9675af9cabf1a13a04b5" },
        { 1000,
          "1e9bc38cbf860b9ec31918b065f9b524"
          "76c549a782e0e7990bed8ce3868d2371" },
    };

    hex = out;

    /* FIPS 180-4 examples */

    strangler_sha256_hex("", 0, hex);
    UNIT_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                     "27ae41e4649b934ca495991b7852b855");

    strangler_sha256_hex("abc", 3, hex);
    UNIT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223"
                     "b00361a396177a9cb410ff61f20015ad");

    strangler_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopn"
                         "opq", 56, hex);
    UNIT_STR_EQ(hex, "248d6a61d20638b8e5c026930c3e6039"
                     "a33ce45964ff2167f6ecedd419db06c1");

    big = malloc(1000000);
    memset(big, 'a', 1000000);
    strangler_sha256_hex(big, 1000000, hex);
    UNIT_STR_EQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
                     "f1809a48a497200e046d39ccc7112cd0");
    free(big);

    /* lengths around the padding's block boundaries */

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char) (i * 7 + 3);
    }

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        strangler_sha256_hex(buf, vectors[i].len, hex);
        UNIT_CHECK(strcmp(hex, vectors[i].hex) == 0, "length %zu: %s",
                   vectors[i].len, hex);
    }

    /* fed a piece at a time, of every size, it hashes the same */

    strangler_sha256_hex(buf, sizeof(buf), hex);

    for (step = 1; step <= 130; step++) {
        strangler_sha256_init(&ctx);

        for (i = 0; i < sizeof(buf); i += step) {
            strangler_sha256_update(&ctx, buf + i, step < sizeof(buf) - i
                                                   ? step : sizeof(buf) - i);
        }

        strangler_sha256_final(&ctx, digest);

        for (i = 0; i < 32; i++) {
            snprintf(piecewise + 2 * i, 3, "%02x", digest[i]);
        }

        UNIT_CHECK(strcmp(piecewise, hex) == 0, "pieces of %zu", step);
    }
}


static char *
read_file(const char *path, size_t *len)
{
    FILE  *f;
    char  *buf;
    long   size;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(size + 1);
    *len = fread(buf, 1, size, f);
    fclose(f);

    return buf;
}


static void
test_examples(void)
{
    size_t              i, j;
    strangler_table_t  *t;

    static const char  *files[] = {
        ROUTES_DIR "/demo.yaml",
        ROUTES_DIR "/messages-extraction.yaml",
    };

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        t = strangler_table_load_file(files[i], &errs);
        UNIT_CHECK(t != NULL, "%s", files[i]);

        for (j = 0; j < errs.count && j < STRANGLER_MAX_ERRORS; j++) {
            fprintf(stderr, "    %s\n", errs.text[j]);
        }

        if (t) {
            UNIT_CHECK(t->nroutes >= 3, "%s: %zu routes", files[i],
                       t->nroutes);
            UNIT_CHECK(strangler_backend_find(t, "monolith", 8) >= 0,
                       "%s: monolith", files[i]);
            UNIT_CHECK(strangler_backend_find(t, "messages", 8) >= 0,
                       "%s: messages", files[i]);
        }

        strangler_table_free(t);
    }

    t = strangler_table_load_file(ROUTES_DIR "/demo.yaml", NULL);

    if (t) {
        UNIT_CHECK(strangler_route_find(t, "conversations", 13) != NULL,
                   "demo: conversations");
    }

    strangler_table_free(t);
}


/*
 * Every prefix of a valid table, and every one-byte change of it, is
 * loaded: each path out of the loader (syntax errors, schema errors,
 * success) must free what it took.  Run under valgrind to see that.
 */

static void
test_mutations(void)
{
    char                c, *buf;
    size_t              i, len, loaded;
    strangler_table_t  *t;

    static const char   subst[] = "{}[]:,-\"' \n#&*!|>%@`x0~";

    buf = read_file(ROUTES_DIR "/messages-extraction.yaml", &len);
    UNIT_CHECK(buf != NULL, "example");

    if (buf == NULL) {
        return;
    }

    loaded = 0;

    for (i = 0; i <= len; i++) {
        t = strangler_table_load_buffer("m.yaml", buf, i, &errs);
        loaded += t != NULL;
        strangler_table_free(t);
    }

    UNIT_CHECK(loaded > 0, "some prefixes load");

    for (i = 0; i < len; i++) {
        c = buf[i];
        buf[i] = subst[i % (sizeof(subst) - 1)];

        t = strangler_table_load_buffer("m.yaml", buf, len, &errs);
        UNIT_CHECK(t != NULL || errs.count > 0, "no error at byte %zu", i);
        strangler_table_free(t);

        buf[i] = c;
    }

    free(buf);
}


static void
test_big_table(void)
{
    int                 i;
    char               *yaml, *p;
    double              ms;
    strangler_match_t   m;
    strangler_table_t  *t;
    struct timespec     t0, t1;

    yaml = malloc(4 * 1024 * 1024);
    p = yaml + sprintf(yaml, HEAD);

    for (i = 0; i < 10000; i++) {
        p += sprintf(p,
                     "  - name: route-%d\n"
                     "    paths:\n"
                     "      - /api/v1/r%d\n"
                     "      - /api/v1/r%d/{id}\n"
                     "      - /api/v1/r%d/{id}/*\n"
                     "    owner: monolith\n"
                     "    reads: { messages: %d, monolith: 10 }\n"
                     "    sticky: header:X-User-Id\n",
                     i, i, i, i, i % 90 + 1);
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    t = load_ok(yaml, __LINE__);
    clock_gettime(CLOCK_MONOTONIC, &t1);

    ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("test_load: 10000 routes (%zu bytes) loaded in %.1f ms\n",
           strlen(yaml), ms);

    if (t) {
        UNIT_CHECK(t->nroutes == 10000, "%zu routes", t->nroutes);

        strangler_table_match(t, STRANGLER_M_GET, "/api/v1/r9999/7", 15, &m);
        UNIT_CHECK(m.route == &t->routes[9999], "match the last route");
        UNIT_CHECK(strangler_route_find(t, "route-5000", 10)
                   == &t->routes[5000], "find");
    }

    strangler_table_free(t);
    free(yaml);
}


int
main(void)
{
    test_sha256();
    test_spec_example();
    test_defaults();
    test_methods();
    test_reads();
    test_sticky();
    test_method_override();
    test_sample();
    test_shadow();
    test_errors();
    test_dry_run_header_refused();
    test_yaml_bounds();
    test_many_errors();
    test_too_many_backends();
    test_files();
    test_examples();
    test_mutations();
    test_big_table();

    return unit_report("test_load");
}
