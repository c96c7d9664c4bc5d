
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The path index: every precedence rule of the route table, conflicts, bad
 * patterns, the regex index, a randomised comparison with a naive matcher,
 * and a 100,000-route table with build time and lookup cost.
 *
 * Set UNIT_NO_TIMING=1 (valgrind, slow machines) to skip the time checks.
 */


#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH  8
#include <pcre2.h>

#include "strangler_core.h"
#include "unit.h"


#define M(m)  (1u << STRANGLER_M_##m)


typedef struct {
    strangler_arena_t  *arena;
    strangler_index_t  *index;
    strangler_route_t  *routes;
    size_t              nroutes;
    size_t              cap;
} tbl_t;


static int  no_timing;


/*
 * strangler_decide.c, linked in, calls the loader's strangler_backend_find;
 * this test does not link the loader.  Weak, so the loader's wins if it is.
 */

__attribute__((weak)) int
strangler_backend_find(const strangler_table_t *table, const char *name,
    size_t len)
{
    (void) table;
    (void) name;
    (void) len;

    return STRANGLER_NONE;
}


static void
tbl_init(tbl_t *t, size_t cap)
{
    t->arena = strangler_arena_create();
    t->index = strangler_index_create(t->arena);
    t->routes = calloc(cap, sizeof(strangler_route_t));
    t->nroutes = 0;
    t->cap = cap;

    if (t->arena == NULL || t->index == NULL || t->routes == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
}


static void
tbl_done(tbl_t *t)
{
    strangler_index_free(t->index);
    strangler_arena_destroy(t->arena);
    free(t->routes);
}


static strangler_route_t *
tbl_route(tbl_t *t, const char *name, uint32_t methods)
{
    strangler_route_t  *r;

    if (t->nroutes == t->cap) {
        fprintf(stderr, "too many routes\n");
        exit(2);
    }

    r = &t->routes[t->nroutes];
    r->name.data = name;
    r->name.len = strlen(name);
    r->index = t->nroutes++;
    r->methods = methods;

    return r;
}


static strangler_add_rc_t
tbl_add(tbl_t *t, const strangler_route_t *r, const char *pattern,
    const strangler_route_t **conflict)
{
    char                       err[256];
    size_t                     off;
    const strangler_route_t   *c;
    strangler_add_rc_t         rc;

    c = NULL;
    err[0] = '\0';

    rc = strangler_index_add(t->index, r, pattern, strlen(pattern), &c,
                             err, sizeof(err), &off);

    if (conflict) {
        *conflict = c;
    }

    return rc;
}


/* a route with one or more patterns that must all be accepted */

static strangler_route_t *
route(tbl_t *t, const char *name, uint32_t methods, const char *p1,
    const char *p2)
{
    strangler_route_t  *r;

    r = tbl_route(t, name, methods);

    UNIT_CHECK(tbl_add(t, r, p1, NULL) == STRANGLER_ADD_OK, "add %s", p1);

    if (p2) {
        UNIT_CHECK(tbl_add(t, r, p2, NULL) == STRANGLER_ADD_OK, "add %s",
                   p2);
    }

    return r;
}


static void
tbl_finish(tbl_t *t)
{
    char  err[128];

    UNIT_CHECK(strangler_index_finish(t->index, err, sizeof(err)) == 0,
               "finish");
}


static void
expect(tbl_t *t, strangler_method_t m, const char *path, const char *want,
    strangler_rule_t rule)
{
    const char         *got;
    strangler_match_t   match;

    strangler_index_match(t->index, m, path, strlen(path), &match);

    got = match.route ? match.route->name.data : "-";

    UNIT_CHECK(strcmp(got, want) == 0 && match.rule == rule,
               "%s %s: got %s (%s), want %s (%s)", strangler_method_name(m),
               path, got, strangler_rule_name(match.rule), want,
               strangler_rule_name(rule));
}


static double
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e9 + ts.tv_nsec;
}


/*
 * The matching rules as tables: each case adds its routes in order (the
 * "wrong" order, some of them, on purpose), then checks what a method and
 * a path match, and by which rule ("-": none, the default).
 */

typedef struct {
    const char                 *name;
    uint32_t                    methods;
    const char                 *p1;
    const char                 *p2;          /* NULL: one pattern */
} route_def_t;

typedef struct {
    strangler_method_t          method;
    const char                 *path;
    const char                 *want;
    strangler_rule_t            rule;
} expect_def_t;

typedef struct {
    const char                 *what;
    size_t                      cap;
    const route_def_t          *routes;
    const expect_def_t         *expects;
} match_case_t;

#define R(name, methods, p1, p2)  { name, methods, p1, p2 }
#define X(m, path, want, rule)                                              \
    { STRANGLER_M_##m, path, want, STRANGLER_RULE_##rule }


static const route_def_t  precedence_routes[] = {
    R("prefix", 0, "/api/*", "/other/*"),
    R("regex", 0, "~ ^/api/", NULL),
    R("template", 0, "/api/{x}", NULL),
    R("exact", 0, "/api/users", NULL),
    { NULL, 0, NULL, NULL }
};

static const expect_def_t  precedence_expects[] = {
    X(GET, "/api/users", "exact", EXACT),
    X(GET, "/api/foo", "template", TEMPLATE),
    X(GET, "/api/foo/bar", "regex", REGEX),
    X(GET, "/api/", "regex", REGEX),
    X(GET, "/other/x", "prefix", PREFIX),
    X(GET, "/other", "-", DEFAULT),
    X(GET, "/nothing", "-", DEFAULT),
    X(GET, "", "-", DEFAULT),
    X(GET, "api/users", "-", DEFAULT),
    { 0, NULL, NULL, 0 }
};


static const route_def_t  templates_routes[] = {
    /* added in the "wrong" order on purpose */
    R("y_c", 0, "/a/{y}/c", NULL),
    R("b_x", 0, "/a/b/{x}", NULL),
    R("y_c_d", 0, "/t/{y}/c/d", NULL),
    R("b_x_e", 0, "/t/b/{x}/e", NULL),
    R("two", 0, "/{p}/{q}", NULL),
    R("mid", 0, "/u/{id}/v", NULL),
    { NULL, 0, NULL, NULL }
};

static const expect_def_t  templates_expects[] = {
    X(GET, "/a/b/c", "b_x", TEMPLATE),
    X(GET, "/a/z/c", "y_c", TEMPLATE),
    X(GET, "/a/b/d", "b_x", TEMPLATE),
    X(GET, "/a/z/d", "-", DEFAULT),

    /* the literal branch fails deep down: the walk backtracks */
    X(GET, "/t/b/c/d", "y_c_d", TEMPLATE),
    X(GET, "/t/b/c/e", "b_x_e", TEMPLATE),

    /* a parameter is one non-empty segment */
    X(GET, "/x/y", "two", TEMPLATE),
    X(GET, "/a/b", "two", TEMPLATE),
    X(GET, "/x/", "-", DEFAULT),
    X(GET, "//y", "-", DEFAULT),
    X(GET, "/x/y/z", "-", DEFAULT),
    X(GET, "/u//v", "-", DEFAULT),
    X(GET, "/u/7/v", "mid", TEMPLATE),
    { 0, NULL, NULL, 0 }
};


static const route_def_t  regex_order_routes[] = {
    R("letters", 0, "~ ^/r/[a-z]+$", NULL),
    R("any_r", 0, "~^/r/", NULL),
    R("root_x", 0, "~ x$", NULL),
    R("deep_x", 0, "~ ^/deep/path/x$", NULL),
    R("deep2", 0, "~ ^/deep2/path/y$", NULL),
    R("root_y", 0, "~ path/y$", NULL),
    { NULL, 0, NULL, NULL }
};

static const expect_def_t  regex_order_expects[] = {
    X(GET, "/r/abc", "letters", REGEX),
    X(GET, "/r/123", "any_r", REGEX),

    /* an earlier regex on the root beats a later one under a prefix */
    X(GET, "/deep/path/x", "root_x", REGEX),

    /* and an earlier one under a prefix beats a later one on the root */
    X(GET, "/deep2/path/y", "deep2", REGEX),
    X(GET, "/elsewhere/path/y", "root_y", REGEX),
    { 0, NULL, NULL, 0 }
};


static const route_def_t  prefix_routes[] = {
    R("p", 0, "/p/*", NULL),
    R("pq", 0, "/p/q/*", NULL),
    R("pid", 0, "/p/{id}/*", NULL),
    R("pqr", 0, "/p/q/r/*", NULL),
    R("t_id", 0, "/t/{id}/*", NULL),
    R("t_q", 0, "/t/q/*", NULL),
    R("t_id_z", 0, "/t/{id}/z/*", NULL),
    { NULL, 0, NULL, NULL }
};

static const expect_def_t  prefix_expects[] = {
    X(GET, "/p/q/r/s", "pqr", PREFIX),
    X(GET, "/p/q/r/", "pqr", PREFIX),
    X(GET, "/p/q/r", "pq", PREFIX),
    X(GET, "/p/q/x", "pq", PREFIX),
    X(GET, "/p/z/x", "pid", PREFIX),
    X(GET, "/p/x", "p", PREFIX),
    X(GET, "/p/", "p", PREFIX),
    X(GET, "/p", "-", DEFAULT),
    X(GET, "/px", "-", DEFAULT),

    /* same depth: the literal segment first; a deeper param one wins */
    X(GET, "/t/q/x", "t_q", PREFIX),
    X(GET, "/t/w/x", "t_id", PREFIX),
    X(GET, "/t/q/z/1", "t_id_z", PREFIX),
    { 0, NULL, NULL, 0 }
};


static const route_def_t  carve_routes[] = {
    R("legacy", 0, "/api/*", NULL),
    R("inbox", 0, "~ ^/api/users/[0-9]+/inbox$", NULL),
    { NULL, 0, NULL, NULL }
};

static const expect_def_t  carve_expects[] = {
    X(GET, "/api/users/12/inbox", "inbox", REGEX),
    X(GET, "/api/users/12", "legacy", PREFIX),
    X(GET, "/api/users/x/inbox", "legacy", PREFIX),
    { 0, NULL, NULL, 0 }
};


static const route_def_t  methods_routes[] = {
    R("m_all", 0, "/m", "/mt/{id}"),
    R("m_post", M(POST) | M(PUT), "/m", "/mt/{x}"),
    R("mp_all", 0, "/mp/*", NULL),
    R("mp_del", M(DELETE), "/mp/*", NULL),
    R("f_get", M(GET), "/f", NULL),
    R("f_tpl", 0, "/{x}", NULL),
    R("g_get", M(GET), "/g/h", NULL),
    R("h_post", M(POST), "~ ^/h/", NULL),
    R("h_any", 0, "~ ^/h/", NULL),
    R("h_pfx", M(PATCH), "/h/*", NULL),
    R("k_get", M(GET), "/k/{a}", NULL),
    R("k_all", 0, "/k/*", NULL),
    { NULL, 0, NULL, NULL }
};

static const expect_def_t  methods_expects[] = {
    X(POST, "/m", "m_post", EXACT),
    X(PUT, "/m", "m_post", EXACT),
    X(GET, "/m", "m_all", EXACT),
    X(OTHER, "/m", "m_all", EXACT),
    X(POST, "/mt/1", "m_post", TEMPLATE),
    X(GET, "/mt/1", "m_all", TEMPLATE),
    X(DELETE, "/mp/1", "mp_del", PREFIX),
    X(GET, "/mp/1", "mp_all", PREFIX),

    /* a method mismatch falls through to the next candidate */
    X(GET, "/f", "f_get", EXACT),
    X(POST, "/f", "f_tpl", TEMPLATE),
    X(GET, "/g/h", "g_get", EXACT),
    X(POST, "/g/h", "-", DEFAULT),
    X(OTHER, "/g/h", "-", DEFAULT),
    X(POST, "/h/1", "h_post", REGEX),
    X(GET, "/h/1", "h_any", REGEX),
    X(GET, "/k/1", "k_get", TEMPLATE),
    X(HEAD, "/k/1", "k_all", PREFIX),

    /* an out of range method is "another method" */
    { (strangler_method_t) 99, "/m", "m_all", STRANGLER_RULE_EXACT },
    { 0, NULL, NULL, 0 }
};


static const route_def_t  slashes_routes[] = {
    R("root", 0, "/", NULL),
    R("all", 0, "/*", NULL),
    R("ts", 0, "/ts", NULL),
    R("ts_slash", 0, "/ts/", NULL),
    { NULL, 0, NULL, NULL }
};

static const expect_def_t  slashes_expects[] = {
    X(GET, "/", "root", EXACT),
    X(GET, "/x", "all", PREFIX),
    X(GET, "/x/y/z/", "all", PREFIX),
    X(GET, "//", "all", PREFIX),
    X(GET, "/ts", "ts", EXACT),
    X(GET, "/ts/", "ts_slash", EXACT),
    X(GET, "/ts//", "all", PREFIX),
    X(GET, "/e/f", "all", PREFIX),
    { 0, NULL, NULL, 0 }
};


static const route_def_t  slashes_root_routes[] = {
    R("all", 0, "/*", NULL),
    { NULL, 0, NULL, NULL }
};

static const expect_def_t  slashes_root_expects[] = {
    X(GET, "/", "all", PREFIX),
    X(GET, "/a", "all", PREFIX),
    { 0, NULL, NULL, 0 }
};


static const match_case_t  match_cases[] = {
    { "exact, then templates, then regexes, then prefixes",
      16, precedence_routes, precedence_expects },
    { "templates: literal segments first, backtracking, a parameter",
      16, templates_routes, templates_expects },
    { "regexes in the order of the table, wherever they hang",
      16, regex_order_routes, regex_order_expects },
    { "the longest prefix; at one depth the literal segment first",
      16, prefix_routes, prefix_expects },
    { "a regex carves a path out of a prefix",
      16, carve_routes, carve_expects },
    { "methods: a mismatch falls through to the next candidate",
      32, methods_routes, methods_expects },
    { "the root, trailing and doubled slashes",
      16, slashes_routes, slashes_expects },
    { "a lone root prefix catches every path, \"/\" included",
      4, slashes_root_routes, slashes_root_expects },
};


static void
test_match_cases(void)
{
    size_t               i;
    tbl_t                t;
    unsigned             failed;
    const route_def_t   *r;
    const expect_def_t  *e;

    for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        failed = unit_failed;

        tbl_init(&t, match_cases[i].cap);

        for (r = match_cases[i].routes; r->name; r++) {
            route(&t, r->name, r->methods, r->p1, r->p2);
        }

        tbl_finish(&t);

        for (e = match_cases[i].expects; e->path; e++) {
            expect(&t, e->method, e->path, e->want, e->rule);
        }

        tbl_done(&t);

        if (unit_failed != failed) {
            fprintf(stderr, "  in the case: %s\n", match_cases[i].what);
        }
    }
}


static void
test_conflicts(void)
{
    tbl_t                     t;
    strangler_route_t        *a, *b, *c, *d, *e, *f, *g;
    const strangler_route_t  *conflict;

    tbl_init(&t, 32);

    a = route(&t, "a", 0, "/c", "/c/{id}/x");
    b = route(&t, "b", M(GET) | M(POST), "/c", "/c/*");
    c = tbl_route(&t, "c", 0);
    d = tbl_route(&t, "d", M(POST) | M(DELETE));
    e = tbl_route(&t, "e", M(DELETE));
    f = tbl_route(&t, "f", 0);
    g = tbl_route(&t, "g", 0);

    UNIT_CHECK(tbl_add(&t, c, "/c", &conflict) == STRANGLER_ADD_CONFLICT
               && conflict == a, "two routes without methods");
    UNIT_CHECK(tbl_add(&t, d, "/c", &conflict) == STRANGLER_ADD_CONFLICT
               && conflict == b, "POST claimed twice");
    UNIT_CHECK(tbl_add(&t, e, "/c", &conflict) == STRANGLER_ADD_OK,
               "DELETE is free");
    UNIT_CHECK(tbl_add(&t, d, "/c/*", &conflict) == STRANGLER_ADD_CONFLICT
               && conflict == b, "POST claimed twice on a prefix");
    UNIT_CHECK(tbl_add(&t, c, "/c/{uid}/x", &conflict)
               == STRANGLER_ADD_CONFLICT && conflict == a,
               "templates that differ in parameter names only");
    UNIT_CHECK(tbl_add(&t, c, "/c/{uid}/x/", &conflict) == STRANGLER_ADD_OK,
               "a trailing slash is another pattern");
    UNIT_CHECK(tbl_add(&t, a, "/c/{id}/x", &conflict)
               == STRANGLER_ADD_CONFLICT && conflict == a,
               "the same route twice");
    UNIT_CHECK(tbl_add(&t, f, "~ ^/c$", &conflict) == STRANGLER_ADD_OK
               && tbl_add(&t, g, "~ ^/c$", &conflict) == STRANGLER_ADD_OK,
               "regexes never conflict");
    UNIT_CHECK(tbl_add(&t, f, "/c/*/", &conflict)
               == STRANGLER_ADD_BAD_PATTERN, "bad pattern");

    tbl_finish(&t);

    expect(&t, STRANGLER_M_DELETE, "/c", "e", STRANGLER_RULE_EXACT);
    expect(&t, STRANGLER_M_POST, "/c", "b", STRANGLER_RULE_EXACT);
    expect(&t, STRANGLER_M_PUT, "/c", "a", STRANGLER_RULE_EXACT);
    expect(&t, STRANGLER_M_PUT, "/c/1/x", "a", STRANGLER_RULE_TEMPLATE);

    tbl_done(&t);
}


static void
bad(tbl_t *t, const char *pattern, size_t want_offset, const char *want_err)
{
    char                       err[256];
    size_t                     off;
    strangler_add_rc_t         rc;
    const strangler_route_t   *conflict;

    err[0] = '\0';
    off = 9999;

    rc = strangler_index_add(t->index, &t->routes[0], pattern,
                             strlen(pattern), &conflict, err, sizeof(err),
                             &off);

    UNIT_CHECK(rc == STRANGLER_ADD_BAD_PATTERN, "\"%s\" accepted", pattern);
    UNIT_CHECK(off == want_offset, "\"%s\": offset %zu, want %zu (%s)",
               pattern, off, want_offset, err);
    UNIT_CHECK(strstr(err, want_err) != NULL, "\"%s\": error \"%s\"",
               pattern, err);
}


static void
test_bad_patterns(void)
{
    tbl_t  t;

    tbl_init(&t, 4);
    tbl_route(&t, "r", 0);

    bad(&t, "", 0, "empty");
    bad(&t, "api/x", 0, "must start with");
    bad(&t, "/a/*/b", 3, "last segment");
    bad(&t, "/a*", 2, "\"*\"");
    bad(&t, "/a/x*", 4, "\"*\"");
    bad(&t, "/*/", 1, "last segment");
    bad(&t, "/a/{x", 3, "whole segment");
    bad(&t, "/a/{}", 3, "whole segment");
    bad(&t, "/a/{1x}", 4, "parameter name");
    bad(&t, "/a/{x-y}", 5, "parameter name");
    bad(&t, "/a/x{y}", 4, "whole segment");
    bad(&t, "/a/{x}y", 3, "whole segment");
    bad(&t, "/a/}", 3, "whole segment");

    /* never matched by a path nginx has normalised */
    bad(&t, "/e//f", 3, "empty segment");
    bad(&t, "//", 1, "empty segment");
    bad(&t, "/a/./b", 3, "\".\" or \"..\"");
    bad(&t, "/a/..", 3, "\".\" or \"..\"");
    bad(&t, "/{id}/../*", 6, "\".\" or \"..\"");
    bad(&t, "/a/%2F", 3, "percent-encoded");
    bad(&t, "/a/b%2fc/*", 4, "percent-encoded");
    bad(&t, "/a/b?x=1", 4, "query string");
    bad(&t, "/a#top", 2, "fragment");

    bad(&t, "~", 1, "empty regex");
    bad(&t, "~*  ", 4, "empty regex");

    /* PCRE2's message, and its offset from the start of "~ ..." */
    bad(&t, "~ ^/a/(b", 8, "missing closing parenthesis");
    bad(&t, "~* [z-a]", 6, "range out of order");
    bad(&t, "~x{2,1}", 6, "out of order");

    tbl_finish(&t);

    expect(&t, STRANGLER_M_GET, "/a/b", "-", STRANGLER_RULE_DEFAULT);

    tbl_done(&t);
}


/* a backtracking regex ends at the match limit and does not match */

static void
test_regex_limits(void)
{
    char                path[512];
    size_t              n;
    tbl_t               t;
    strangler_match_t   match;

    tbl_init(&t, 4);
    route(&t, "backtrack", 0, "~ ^/api/(.*a){10,14}$", NULL);
    route(&t, "next", 0, "~ ^/api/", NULL);
    route(&t, "other", 0, "/other", NULL);
    tbl_finish(&t);

    n = sprintf(path, "/api/");
    memset(path + n, 'a', 200);
    path[n + 200] = '\0';

    strangler_index_match(t.index, STRANGLER_M_GET, path, n + 200, &match);
    UNIT_CHECK(match.route == &t.routes[0] && match.limited == NULL,
               "200 a match");

    path[n + 200] = 'b';
    path[n + 201] = '\0';

    strangler_index_match(t.index, STRANGLER_M_GET, path, n + 201, &match);
    UNIT_CHECK(match.route == &t.routes[1] && match.limited == &t.routes[0],
               "200 a and a b: the next regex, the limit reported");

    strangler_index_match(t.index, STRANGLER_M_GET, "/other", 6, &match);
    UNIT_CHECK(match.route == &t.routes[2] && match.limited == NULL,
               "another path");

    tbl_done(&t);
}


static void
test_regex_index(void)
{
    tbl_t  t;

    tbl_init(&t, 32);

    route(&t, "ci", 0, "~* ^/CI/abc$", NULL);
    route(&t, "cs", 0, "~ ^/cs$", NULL);
    route(&t, "inbox", 0, "~ ^/api/users/[0-9]+/inbox$", NULL);
    route(&t, "tail", 0, "~ /outbox$", NULL);
    route(&t, "alt", 0, "~ ^/alt/a$|^/other/b$", NULL);
    route(&t, "flags", 0, "~ ^/fl/(?i)ag$", NULL);
    route(&t, "flags2", 0, "~ (?i)^/FL2/x$", NULL);
    route(&t, "quest", 0, "~ ^/qq/ab?/c$", NULL);
    route(&t, "star", 0, "~ ^/z/y*/w$", NULL);
    route(&t, "brace", 0, "~ ^/br/x{0,2}/w$", NULL);
    route(&t, "plus", 0, "~ ^/pl/+x$", NULL);
    route(&t, "slash_q", 0, "~ ^/qs/a/?x$", NULL);
    route(&t, "slash_s", 0, "~ ^/ss/a/*x$", NULL);
    route(&t, "slash_b", 0, "~ ^/bs/a/{0,2}x$", NULL);
    route(&t, "noslash", 0, "~ ^/lit/seg", NULL);
    route(&t, "escaped", 0, "~ ^/esc\\/x/y$", NULL);
    route(&t, "dot", 0, "~ ^/dot/a.b/c$", NULL);

    /* literal routes share the nodes the regexes are placed on */
    route(&t, "users", 0, "/api/users", "/api/users/{id}");

    tbl_finish(&t);

    expect(&t, STRANGLER_M_GET, "/ci/ABC", "ci", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/CI/abc", "ci", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/cs", "cs", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/CS", "-", STRANGLER_RULE_DEFAULT);
    expect(&t, STRANGLER_M_GET, "/api/users/42/inbox", "inbox",
           STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/api/users/42", "users",
           STRANGLER_RULE_TEMPLATE);
    expect(&t, STRANGLER_M_GET, "/api/users", "users", STRANGLER_RULE_EXACT);
    expect(&t, STRANGLER_M_GET, "/x/y/outbox", "tail", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/api/users/1/outbox", "tail",
           STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/alt/a", "alt", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/other/b", "alt", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/fl/AG", "flags", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/fl2/X", "flags2", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/qq/a/c", "quest", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/qq/ab/c", "quest", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/z//w", "star", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/z/yyy/w", "star", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/br//w", "brace", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/br/xx/w", "brace", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/pl//x", "plus", STRANGLER_RULE_REGEX);

    /* a quantified "/" is not part of the literal prefix */
    expect(&t, STRANGLER_M_GET, "/qs/ax", "slash_q", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/qs/a/x", "slash_q", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/ss/ax", "slash_s", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/bs/ax", "slash_b", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/lit/segment/1", "noslash",
           STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/lit/seg", "noslash", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/esc/x/y", "escaped", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/dot/a-b/c", "dot", STRANGLER_RULE_REGEX);
    expect(&t, STRANGLER_M_GET, "/dot/a/b/c", "dot", STRANGLER_RULE_REGEX);

    tbl_done(&t);
}


/* a long path must neither recurse nor cost more than its segments */

static void
test_long_paths(void)
{
    char    *path;
    size_t   i, n;
    tbl_t    t;

    tbl_init(&t, 16);

    route(&t, "deep", 0, "/a/{x}/a/{y}/*", NULL);
    route(&t, "params", 0, "/{a}/{b}/{c}/{d}", NULL);
    route(&t, "lit", 0, "/a/a/a/a/a/b", NULL);
    route(&t, "rx", 0, "~ ^/a/a/a/.*/z$", NULL);

    tbl_finish(&t);

    n = 20000;
    path = malloc(2 * n + 3);

    for (i = 0; i < n; i++) {
        path[2 * i] = '/';
        path[2 * i + 1] = 'a';
    }

    path[2 * n] = '\0';
    expect(&t, STRANGLER_M_GET, path, "deep", STRANGLER_RULE_PREFIX);

    path[2 * n] = '/';
    path[2 * n + 1] = 'z';
    path[2 * n + 2] = '\0';
    expect(&t, STRANGLER_M_GET, path, "rx", STRANGLER_RULE_REGEX);

    memset(path, '/', n);
    path[n] = '\0';
    expect(&t, STRANGLER_M_GET, path, "-", STRANGLER_RULE_DEFAULT);

    expect(&t, STRANGLER_M_GET, "/a/a/a/a/a/b", "lit", STRANGLER_RULE_EXACT);
    expect(&t, STRANGLER_M_GET, "/a/a/a/a", "params",
           STRANGLER_RULE_TEMPLATE);

    free(path);
    tbl_done(&t);
}


/*
 * A naive matcher that knows the rules and nothing of the index, compared
 * with the index over random tables and paths.
 */

#define REF_SEGS  5

typedef struct {
    const strangler_route_t  *route;
    int                       nsegs;
    int                       prefix;
    int                       regex;
    pcre2_code               *code;
    char                      segs[REF_SEGS][4];   /* "" or "{" = param */
} ref_pattern_t;


static const char  *ref_alphabet[] = { "a", "b", "", "{" };


static int
ref_kind_cmp(const ref_pattern_t *x, const ref_pattern_t *y)
{
    int  i, px, py;

    for (i = 0; i < x->nsegs && i < y->nsegs; i++) {
        px = (x->segs[i][0] == '{');
        py = (y->segs[i][0] == '{');

        if (px != py) {
            return px - py;
        }
    }

    return 0;
}


static int
ref_better(const ref_pattern_t *x, const ref_pattern_t *y)
{
    int  c;

    if (y == NULL) {
        return 1;
    }

    if (x->prefix && x->nsegs != y->nsegs) {
        return x->nsegs > y->nsegs;
    }

    c = ref_kind_cmp(x, y);

    if (c != 0) {
        return c < 0;
    }

    /* the same pattern: the route that lists the method */
    return x->route->methods != 0 && y->route->methods == 0;
}


static void
ref_match(ref_pattern_t *pats, size_t npats, strangler_method_t m,
    char (*segs)[4], int nsegs, const char *path, strangler_match_t *match)
{
    int                  i, ok, all_literal;
    size_t               k;
    ref_pattern_t       *p, *full, *prefix;
    pcre2_match_data    *md;

    full = NULL;
    prefix = NULL;
    match->route = NULL;
    match->rule = STRANGLER_RULE_DEFAULT;

    for (k = 0; k < npats; k++) {
        p = &pats[k];

        if (p->route->methods != 0
            && (m == STRANGLER_M_OTHER || !(p->route->methods & (1u << m))))
        {
            continue;
        }

        if (p->regex) {
            continue;
        }

        if (p->prefix ? p->nsegs >= nsegs : p->nsegs != nsegs) {
            continue;
        }

        ok = 1;

        for (i = 0; i < p->nsegs && ok; i++) {
            if (p->segs[i][0] == '{') {
                ok = (segs[i][0] != '\0');

            } else {
                ok = (strcmp(p->segs[i], segs[i]) == 0);
            }
        }

        if (!ok) {
            continue;
        }

        if (p->prefix) {
            if (ref_better(p, prefix)) {
                prefix = p;
            }

        } else if (ref_better(p, full)) {
            full = p;
        }
    }

    if (full) {
        all_literal = 1;

        for (i = 0; i < full->nsegs; i++) {
            if (full->segs[i][0] == '{') {
                all_literal = 0;
            }
        }

        match->route = full->route;
        match->rule = all_literal ? STRANGLER_RULE_EXACT
                                  : STRANGLER_RULE_TEMPLATE;
        return;
    }

    md = pcre2_match_data_create(1, NULL);

    for (k = 0; k < npats; k++) {
        p = &pats[k];

        if (!p->regex
            || (p->route->methods != 0
                && (m == STRANGLER_M_OTHER
                    || !(p->route->methods & (1u << m)))))
        {
            continue;
        }

        if (pcre2_match(p->code, (PCRE2_SPTR) path, strlen(path), 0, 0, md,
                        NULL) >= 0)
        {
            match->route = p->route;
            match->rule = STRANGLER_RULE_REGEX;
            pcre2_match_data_free(md);
            return;
        }
    }

    pcre2_match_data_free(md);

    if (prefix) {
        match->route = prefix->route;
        match->rule = STRANGLER_RULE_PREFIX;
    }
}


static const char  *ref_regexes[] = {
    "^/a/b",
    "^/a/[ab]/a$",
    "b/a$",
    "^/b/a?/",
    "^//a",
    "^/a/b/b|^/b$",
};


static void
test_random(void)
{
    int                        i, j, nsegs, round, errcode, failures;
    char                       pattern[64], path[64], segs[REF_SEGS][4];
    char                      *w;
    size_t                     k, npats, erroff;
    tbl_t                      t;
    ref_pattern_t              pats[64], *p;
    strangler_match_t          got, want;
    strangler_route_t         *r;
    strangler_method_t         m;
    const strangler_route_t   *conflict;

    srand(12345);
    failures = 0;

    for (round = 0; round < 400; round++) {
        tbl_init(&t, 64);
        npats = 0;

        for (k = 0; k < 40; k++) {
            r = tbl_route(&t, "r", 0);
            r->name.data = NULL;

            switch (rand() % 4) {
            case 0:
                r->methods = M(GET);
                break;
            case 1:
                r->methods = M(GET) | M(POST);
                break;
            default:
                r->methods = 0;
            }

            p = &pats[npats];
            memset(p, 0, sizeof(ref_pattern_t));
            p->route = r;

            if (rand() % 10 == 0) {
                j = rand() % (int) (sizeof(ref_regexes) / sizeof(char *));
                p->regex = 1;
                p->code = pcre2_compile((PCRE2_SPTR) ref_regexes[j],
                                        PCRE2_ZERO_TERMINATED, 0, &errcode,
                                        &erroff, NULL);
                snprintf(pattern, sizeof(pattern), "~ %s", ref_regexes[j]);

            } else {
                p->nsegs = 1 + rand() % (REF_SEGS - 1);
                p->prefix = (rand() % 3 == 0);
                w = pattern;

                for (i = 0; i < p->nsegs; i++) {
                    strcpy(p->segs[i], ref_alphabet[rand() % 4]);
                    w += sprintf(w, "/%s", p->segs[i][0] == '{' ? "{p}"
                                                              : p->segs[i]);
                }

                if (p->prefix) {
                    strcpy(w, "/*");
                }
            }

            if (tbl_add(&t, r, pattern, &conflict) == STRANGLER_ADD_OK) {
                npats++;

            } else {
                pcre2_code_free(p->code);
            }
        }

        tbl_finish(&t);

        for (k = 0; k < 200; k++) {
            nsegs = 1 + rand() % REF_SEGS;
            w = path;

            for (i = 0; i < nsegs; i++) {
                strcpy(segs[i], ref_alphabet[rand() % 3]);
                w += sprintf(w, "/%s", segs[i]);
            }

            m = (rand() % 3 == 0) ? STRANGLER_M_POST
                : (rand() % 2 ? STRANGLER_M_GET : STRANGLER_M_OTHER);

            strangler_index_match(t.index, m, path, strlen(path), &got);
            ref_match(pats, npats, m, segs, nsegs, path, &want);

            if (got.route != want.route || got.rule != want.rule) {
                if (failures++ < 5) {
                    fprintf(stderr, "random: %s %s: got route %d (%s), "
                            "want %d (%s)\n", strangler_method_name(m), path,
                            got.route ? (int) got.route->index : -1,
                            strangler_rule_name(got.rule),
                            want.route ? (int) want.route->index : -1,
                            strangler_rule_name(want.rule));
                }
            }
        }

        for (k = 0; k < npats; k++) {
            pcre2_code_free(pats[k].code);
        }

        tbl_done(&t);
    }

    UNIT_CHECK(failures == 0, "%d random lookups differ", failures);
}


/*
 * 100,000 routes: literal, template and prefix paths, a few regexes.
 * Route i has the paths:
 *   i % 4 == 0: /svcS/resI/items                  exact
 *   i % 4 == 1: /svcS/resI/{id}/detail            template
 *   i % 4 == 2: /svcS/resI/ *                     prefix (no space)
 *   i % 4 == 3: /svcS/resI, /svcS/resI/{id}       exact and template
 * with S = i % 97, plus 8 regexes.
 */

#define BIG_ROUTES  100000
#define BIG_LOOKUPS 1000000

static void
test_big(void)
{
    char                 **names, buf[128];
    size_t                 i, k, n, len;
    double                 t0, t1, ns;
    tbl_t                  t;
    strangler_route_t     *r;
    strangler_match_t      match;
    const char            *want;
    static const char     *kinds[] = { "exact", "template", "prefix",
                                       "regex", "miss" };
    static strangler_rule_t  rules[] = { STRANGLER_RULE_EXACT,
                                         STRANGLER_RULE_TEMPLATE,
                                         STRANGLER_RULE_PREFIX,
                                         STRANGLER_RULE_REGEX,
                                         STRANGLER_RULE_DEFAULT };
    static char            paths[5][1024][96];

    tbl_init(&t, BIG_ROUTES + 16);
    names = calloc(BIG_ROUTES, sizeof(char *));

    t0 = now_ns();

    for (i = 0; i < BIG_ROUTES; i++) {
        snprintf(buf, sizeof(buf), "r%zu", i);
        names[i] = strdup(buf);
        r = tbl_route(&t, names[i], 0);

        switch (i % 4) {
        case 0:
            snprintf(buf, sizeof(buf), "/svc%zu/res%zu/items", i % 97, i);
            tbl_add(&t, r, buf, NULL);
            break;

        case 1:
            snprintf(buf, sizeof(buf), "/svc%zu/res%zu/{id}/detail", i % 97,
                     i);
            tbl_add(&t, r, buf, NULL);
            break;

        case 2:
            snprintf(buf, sizeof(buf), "/svc%zu/res%zu/*", i % 97, i);
            tbl_add(&t, r, buf, NULL);
            break;

        default:
            snprintf(buf, sizeof(buf), "/svc%zu/res%zu", i % 97, i);
            tbl_add(&t, r, buf, NULL);
            snprintf(buf, sizeof(buf), "/svc%zu/res%zu/{id}", i % 97, i);
            tbl_add(&t, r, buf, NULL);
        }
    }

    for (i = 0; i < 8; i++) {
        r = tbl_route(&t, i < 4 ? "rx_anchored" : "rx_root", 0);
        snprintf(buf, sizeof(buf),
                 i < 4 ? "~ ^/svc%zu/res[0-9]+/[0-9]+/inbox$"
                       : "~ /legacy%zu/[a-z]+\\.php$", i);
        UNIT_CHECK(tbl_add(&t, r, buf, NULL) == STRANGLER_ADD_OK, "%s", buf);
    }

    tbl_finish(&t);

    t1 = now_ns();

    printf("test_match: built %d routes in %.1f ms\n", BIG_ROUTES,
           (t1 - t0) / 1e6);

    /* correctness on samples, then the timing paths */

    for (k = 0; k < 1024; k++) {
        i = (k * 7919) % BIG_ROUTES;
        i -= i % 4;

        snprintf(paths[0][k], 96, "/svc%zu/res%zu/items", i % 97, i);
        snprintf(paths[1][k], 96, "/svc%zu/res%zu/%zu/detail", (i + 1) % 97,
                 i + 1, k);
        snprintf(paths[2][k], 96, "/svc%zu/res%zu/a/b/c", (i + 2) % 97,
                 i + 2);
        snprintf(paths[3][k], 96, "/svc%zu/res%zu/%zu/inbox", k % 4, i + 2,
                 k);
        snprintf(paths[4][k], 96, "/svc%zu/nores%zu/x", k % 97, i);
    }

    for (k = 0; k < 1024; k++) {
        for (n = 0; n < 5; n++) {
            len = strlen(paths[n][k]);
            strangler_index_match(t.index, STRANGLER_M_GET, paths[n][k], len,
                                  &match);

            switch (n) {
            case 0:
                want = names[(k * 7919) % BIG_ROUTES / 4 * 4];
                break;
            case 1:
                want = names[(k * 7919) % BIG_ROUTES / 4 * 4 + 1];
                break;
            case 2:
                want = names[(k * 7919) % BIG_ROUTES / 4 * 4 + 2];
                break;
            case 3:
                want = "rx_anchored";
                break;
            default:
                want = "-";
            }

            UNIT_CHECK(strcmp(match.route ? match.route->name.data : "-",
                              want) == 0
                       && match.rule == rules[n],
                       "%s: got %s", paths[n][k],
                       match.route ? match.route->name.data : "-");
        }
    }

    for (n = 0; n < 5; n++) {
        t0 = now_ns();

        for (i = 0; i < BIG_LOOKUPS; i++) {
            strangler_index_match(t.index, STRANGLER_M_GET,
                                  paths[n][i & 1023],
                                  strlen(paths[n][i & 1023]), &match);
        }

        t1 = now_ns();
        ns = (t1 - t0) / BIG_LOOKUPS;

        printf("test_match: %-8s lookup %6.0f ns\n", kinds[n], ns);

        if (!no_timing) {
            UNIT_CHECK(ns < (n == 3 ? 20000 : 5000),
                       "%s lookups take %.0f ns", kinds[n], ns);
        }
    }

    for (i = 0; i < BIG_ROUTES; i++) {
        free(names[i]);
    }

    free(names);
    tbl_done(&t);
}


int
main(void)
{
    no_timing = (getenv("UNIT_NO_TIMING") != NULL);

    test_match_cases();
    test_conflicts();
    test_bad_patterns();
    test_regex_limits();
    test_regex_index();
    test_long_paths();
    test_random();
    test_big();

    return unit_report("test_match");
}
