
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading a file of test cases, with the core's YAML helpers, so that a
 * mistake is reported as the table's are: file:line:col, unknown and
 * duplicate keys refused, names checked against the table.
 *
 *   cases:
 *     - name: conversations are read from messages     # optional
 *       request: { method: GET, path: "/api/conversations/7?x=1",
 *                  headers: { X-User-Id: "42" }, cookies: { uid: "7" },
 *                  address: 10.0.0.1, force: messages,
 *                  sticky_key: "42", random: 7 }
 *       expect: { route: conversations, rule: template,
 *                 backend: messages, reason: template,
 *                 shadow: null, owner: monolith }
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli.h"


#define STRANGLER_CLI_WHERE_LEN  64


typedef struct {
    strangler_cli_cases_t    *cs;
    strangler_cli_case_t     *c;
    char                      where[STRANGLER_CLI_WHERE_LEN];
} strangler_cli_cases_ctx_t;


static void strangler_cli_cases_list(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_case_read(strangler_cli_cases_ctx_t *cx,
    strangler_cli_case_t *c, yaml_node_t *node, size_t n);
static void strangler_cli_case_name(void *ctx, void *obj, yaml_node_t *value);
static void strangler_cli_case_request(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_case_expect(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_req_method(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_req_path(void *ctx, void *obj, yaml_node_t *value);
static void strangler_cli_req_headers(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_req_cookies(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_req_address(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_req_force(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_req_sticky_key(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_req_random(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_want(strangler_cli_cases_ctx_t *cx,
    strangler_cli_case_t *c, strangler_cli_expect_t e, yaml_node_t *value);
static void strangler_cli_want_route(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_want_rule(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_want_backend(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_want_reason(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_want_shadow(void *ctx, void *obj,
    yaml_node_t *value);
static void strangler_cli_want_owner(void *ctx, void *obj,
    yaml_node_t *value);
static int strangler_cli_cases_string(strangler_cli_cases_ctx_t *cx,
    yaml_node_t *value, const char *key, strangler_str_t *s);
static strangler_header_t *strangler_cli_cases_pairs(
    strangler_cli_cases_ctx_t *cx, yaml_node_t *value, const char *key,
    size_t *n);
static int strangler_cli_want_check(strangler_cli_cases_ctx_t *cx,
    strangler_cli_expect_t e, yaml_node_t *value, const strangler_str_t *s);


static const strangler_yaml_field_t  strangler_cli_top_fields[] = {
    { "cases",   strangler_cli_cases_list,    1 },
};


static const strangler_yaml_field_t  strangler_cli_case_fields[] = {
    { "name",    strangler_cli_case_name,     0 },
    { "request", strangler_cli_case_request,  1 },
    { "expect",  strangler_cli_case_expect,   1 },
};


static const strangler_yaml_field_t  strangler_cli_request_fields[] = {
    { "method",     strangler_cli_req_method,     0 },
    { "path",       strangler_cli_req_path,       1 },
    { "headers",    strangler_cli_req_headers,    0 },
    { "cookies",    strangler_cli_req_cookies,    0 },
    { "address",    strangler_cli_req_address,    0 },
    { "force",      strangler_cli_req_force,      0 },
    { "sticky_key", strangler_cli_req_sticky_key, 0 },
    { "random",     strangler_cli_req_random,     0 },
};


/* in strangler_cli_expect_t order */

static const strangler_yaml_field_t  strangler_cli_expect_fields[] = {
    { "route",    strangler_cli_want_route,    0 },
    { "rule",     strangler_cli_want_rule,     0 },
    { "backend",  strangler_cli_want_backend,  0 },
    { "reason",   strangler_cli_want_reason,   0 },
    { "shadow",   strangler_cli_want_shadow,   0 },
    { "owner",    strangler_cli_want_owner,    0 },
};


int
strangler_cli_cases_load(const char *file, const strangler_table_t *table,
    strangler_cli_cases_t *cs)
{
    size_t                      len;
    yaml_node_t                *root;
    strangler_cli_cases_ctx_t   cx;

    memset(cs, 0, sizeof(strangler_cli_cases_t));

    cs->file = strcmp(file, "-") == 0 ? "<stdin>" : file;
    cs->table = table;
    cs->y.file = cs->file;
    cs->y.errs = &cs->errs;
    cs->y.empty = "the cases file is empty: expected \"cases:\" and a list "
                  "of cases";

    cs->buf = strangler_cli_read(file, &len);
    if (cs->buf == NULL) {
        return -1;
    }

    root = strangler_yaml_load(&cs->y, cs->buf, len);
    if (root == NULL) {
        return -1;
    }

    memset(&cx, 0, sizeof(strangler_cli_cases_ctx_t));
    cx.cs = cs;

    if (root->type != YAML_MAPPING_NODE) {
        strangler_yaml_error(&cs->y, root, "the cases file must be a mapping "
                             "with \"cases\"");
        return -1;
    }

    strangler_yaml_fields(&cs->y, root, strangler_cli_top_fields,
                          sizeof(strangler_cli_top_fields)
                          / sizeof(strangler_cli_top_fields[0]),
                          "at top level", &cx, cs);

    return cs->errs.count ? -1 : 0;
}


void
strangler_cli_cases_free(strangler_cli_cases_t *cs)
{
    size_t  i;

    for (i = 0; i < cs->ncases; i++) {
        free(cs->cases[i].request.headers);
        free(cs->cases[i].request.cookies);
    }

    free(cs->cases);
    strangler_yaml_free(&cs->y);
    free(cs->buf);

    cs->cases = NULL;
    cs->buf = NULL;
    cs->ncases = 0;
}


const char *
strangler_cli_expect_name(strangler_cli_expect_t e)
{
    return strangler_cli_expect_fields[e].name;
}


static void
strangler_cli_cases_list(void *ctx, void *obj, yaml_node_t *value)
{
    size_t                      i, n;
    yaml_node_item_t           *item;
    strangler_cli_cases_t      *cs;
    strangler_cli_cases_ctx_t  *cx;

    cx = ctx;
    cs = obj;

    if (value->type != YAML_SEQUENCE_NODE
        || strangler_yaml_items(value) == 0)
    {
        strangler_yaml_error(&cs->y, value, "\"cases\" must be a non-empty "
                             "list of cases");
        return;
    }

    n = strangler_yaml_items(value);

    cs->cases = calloc(n, sizeof(strangler_cli_case_t));
    if (cs->cases == NULL) {
        strangler_error(&cs->errs, cs->file, 0, 0, "out of memory");
        return;
    }

    cs->ncases = n;

    for (i = 0, item = value->data.sequence.items.start; i < n; i++, item++) {
        strangler_cli_case_read(cx, &cs->cases[i],
                                strangler_yaml_node(&cs->y, *item), i + 1);
    }
}


static void
strangler_cli_case_read(strangler_cli_cases_ctx_t *cx,
    strangler_cli_case_t *c, yaml_node_t *node, size_t n)
{
    c->line = strangler_yaml_line(node);
    c->request.method = "GET";
    cx->c = c;

    snprintf(cx->where, sizeof(cx->where), "in case #%zu", n);

    if (node->type != YAML_MAPPING_NODE) {
        strangler_yaml_error(&cx->cs->y, node, "case #%zu must be a mapping "
                             "with \"request\" and \"expect\"", n);
        return;
    }

    strangler_yaml_fields(&cx->cs->y, node, strangler_cli_case_fields,
                          sizeof(strangler_cli_case_fields)
                          / sizeof(strangler_cli_case_fields[0]),
                          cx->where, cx, c);
}


static void
strangler_cli_case_name(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_case_t  *c;

    c = obj;

    if (value != NULL) {
        (void) strangler_cli_cases_string(ctx, value, "name", &c->name);
    }
}


static void
strangler_cli_case_request(void *ctx, void *obj, yaml_node_t *value)
{
    yaml_node_t                *path;
    const char                 *err;
    strangler_cli_case_t       *c;
    strangler_cli_result_t      res;
    strangler_cli_cases_ctx_t  *cx;

    cx = ctx;
    c = obj;

    if (value->type != YAML_MAPPING_NODE) {
        strangler_yaml_error(&cx->cs->y, value, "\"request\" must be a "
                             "mapping with \"path\" %s", cx->where);
        return;
    }

    strangler_yaml_fields(&cx->cs->y, value, strangler_cli_request_fields,
                          sizeof(strangler_cli_request_fields)
                          / sizeof(strangler_cli_request_fields[0]),
                          cx->where, cx, c);

    path = strangler_yaml_get(&cx->cs->y, value, "path");

    if (path == NULL || c->request.uri == NULL) {
        return;
    }

    /* a path nginx would refuse: said now, with its position */

    if (strangler_cli_decide(cx->cs->table, &c->request, &res, &err) != 0) {
        strangler_yaml_error(&cx->cs->y, path, "bad path \"%s\" %s: %s "
                             "(nginx answers 400)", c->request.uri,
                             cx->where, err);
        return;
    }

    strangler_cli_result_free(&res);
}


static void
strangler_cli_case_expect(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_case_t       *c;
    strangler_cli_cases_ctx_t  *cx;

    cx = ctx;
    c = obj;

    if (value->type != YAML_MAPPING_NODE
        || strangler_yaml_pairs(value) == 0)
    {
        strangler_yaml_error(&cx->cs->y, value, "\"expect\" must be a "
                             "mapping of what must hold (route, rule, "
                             "backend, reason, shadow, owner) %s",
                             cx->where);
        return;
    }

    strangler_yaml_fields(&cx->cs->y, value, strangler_cli_expect_fields,
                          sizeof(strangler_cli_expect_fields)
                          / sizeof(strangler_cli_expect_fields[0]),
                          cx->where, cx, c);
}


static void
strangler_cli_req_method(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t             s;
    strangler_cli_case_t       *c;
    strangler_cli_request_t     probe;
    strangler_cli_cases_ctx_t  *cx;

    cx = ctx;
    c = obj;

    if (value == NULL
        || !strangler_cli_cases_string(cx, value, "method", &s))
    {
        return;
    }

    memset(&probe, 0, sizeof(strangler_cli_request_t));
    probe.method = s.data;
    probe.uri = "/";

    if (strangler_cli_request_check(&probe) != NULL) {
        strangler_yaml_error(&cx->cs->y, value, "bad method \"%.*s\" %s: %s",
                             strangler_quote(s), cx->where,
                             strangler_cli_request_check(&probe));
        return;
    }

    c->request.method = s.data;
}


static void
strangler_cli_req_path(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t             s;
    strangler_cli_case_t       *c;
    strangler_cli_cases_ctx_t  *cx;

    cx = ctx;
    c = obj;

    if (!strangler_cli_cases_string(cx, value, "path", &s)) {
        return;
    }

    if (s.data[0] != '/') {
        strangler_yaml_error(&cx->cs->y, value, "the path \"%.*s\" must "
                             "start with \"/\" %s", strangler_quote(s),
                             cx->where);
        return;
    }

    c->request.uri = s.data;
}


static void
strangler_cli_req_headers(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_case_t  *c;

    c = obj;

    if (value != NULL) {
        c->request.headers = strangler_cli_cases_pairs(ctx, value, "headers",
                                                       &c->request.nheaders);
    }
}


static void
strangler_cli_req_cookies(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_case_t  *c;

    c = obj;

    if (value != NULL) {
        c->request.cookies = strangler_cli_cases_pairs(ctx, value, "cookies",
                                                       &c->request.ncookies);
    }
}


static void
strangler_cli_req_address(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t        s;
    strangler_cli_case_t  *c;

    c = obj;

    if (value != NULL && strangler_cli_cases_string(ctx, value, "address", &s))
    {
        c->request.address = s.data;
    }
}


static void
strangler_cli_req_force(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t        s;
    strangler_cli_case_t  *c;

    c = obj;

    if (value != NULL && strangler_cli_cases_string(ctx, value, "force", &s)) {
        c->request.force = s.data;
    }
}


static void
strangler_cli_req_sticky_key(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_case_t  *c;

    c = obj;

    if (value != NULL) {
        (void) strangler_cli_cases_string(ctx, value, "sticky_key",
                                          &c->request.sticky_key);
    }
}


static void
strangler_cli_req_random(void *ctx, void *obj, yaml_node_t *value)
{
    size_t                      i;
    uint64_t                    v;
    strangler_str_t             s;
    strangler_cli_case_t       *c;
    strangler_cli_cases_ctx_t  *cx;

    cx = ctx;
    c = obj;

    if (value == NULL) {
        return;
    }

    if (!strangler_yaml_scalar(value, &s) || s.len == 0 || s.len > 10) {
        goto invalid;
    }

    for (i = 0, v = 0; i < s.len; i++) {
        if (s.data[i] < '0' || s.data[i] > '9') {
            goto invalid;
        }

        v = v * 10 + (s.data[i] - '0');
    }

    if (v > UINT32_MAX) {
        goto invalid;
    }

    c->request.random = (uint32_t) v;
    return;

invalid:

    strangler_yaml_error(&cx->cs->y, value, "\"random\" must be an integer "
                         "from 0 to %u %s", UINT32_MAX, cx->where);
}


static void
strangler_cli_want(strangler_cli_cases_ctx_t *cx, strangler_cli_case_t *c,
    strangler_cli_expect_t e, yaml_node_t *value)
{
    strangler_str_t  s;

    if (value == NULL) {
        return;
    }

    s.data = NULL;
    s.len = 0;

    if (strangler_yaml_is_null(value)) {
        if (e != STRANGLER_CLI_EXPECT_ROUTE
            && e != STRANGLER_CLI_EXPECT_SHADOW)
        {
            strangler_yaml_error(&cx->cs->y, value, "\"%s\" cannot be null "
                                 "%s", strangler_cli_expect_name(e),
                                 cx->where);
            return;
        }

    } else if (!strangler_cli_cases_string(cx, value,
                                           strangler_cli_expect_name(e), &s)
               || strangler_cli_want_check(cx, e, value, &s) != 0)
    {
        return;
    }

    c->want[e] = s;
    c->expects |= 1u << e;
}


static void
strangler_cli_want_route(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_want(ctx, obj, STRANGLER_CLI_EXPECT_ROUTE, value);
}


static void
strangler_cli_want_rule(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_want(ctx, obj, STRANGLER_CLI_EXPECT_RULE, value);
}


static void
strangler_cli_want_backend(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_want(ctx, obj, STRANGLER_CLI_EXPECT_BACKEND, value);
}


static void
strangler_cli_want_reason(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_want(ctx, obj, STRANGLER_CLI_EXPECT_REASON, value);
}


static void
strangler_cli_want_shadow(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_want(ctx, obj, STRANGLER_CLI_EXPECT_SHADOW, value);
}


static void
strangler_cli_want_owner(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_cli_want(ctx, obj, STRANGLER_CLI_EXPECT_OWNER, value);
}


/* the name given must be one the table (or the core) knows */

static int
strangler_cli_want_check(strangler_cli_cases_ctx_t *cx,
    strangler_cli_expect_t e, yaml_node_t *value, const strangler_str_t *s)
{
    int                       i, n;
    const char               *name;
    const strangler_table_t  *table;

    table = cx->cs->table;

    switch (e) {

    case STRANGLER_CLI_EXPECT_ROUTE:
        if (strangler_route_find(table, s->data, s->len) != NULL) {
            return 0;
        }

        strangler_yaml_error(&cx->cs->y, value, "unknown route \"%.*s\" "
                             "(null: no route) %s", strangler_quote(*s),
                             cx->where);
        return -1;

    case STRANGLER_CLI_EXPECT_RULE:
    case STRANGLER_CLI_EXPECT_REASON:
        n = (e == STRANGLER_CLI_EXPECT_RULE) ? STRANGLER_RULE_COUNT
                                             : STRANGLER_REASON_COUNT;

        for (i = 0; i < n; i++) {
            name = (e == STRANGLER_CLI_EXPECT_RULE)
                   ? strangler_rule_name((strangler_rule_t) i)
                   : strangler_reason_name((strangler_reason_t) i);

            if (strlen(name) == s->len && memcmp(name, s->data, s->len) == 0)
            {
                return 0;
            }
        }

        strangler_yaml_error(&cx->cs->y, value, "unknown %s \"%.*s\" %s",
                             strangler_cli_expect_name(e),
                             strangler_quote(*s), cx->where);
        return -1;

    default:
        if (strangler_backend_find(table, s->data, s->len)
            != STRANGLER_NONE)
        {
            return 0;
        }

        strangler_yaml_error(&cx->cs->y, value, "unknown backend \"%.*s\" "
                             "%s", strangler_quote(*s), cx->where);
        return -1;
    }
}


static int
strangler_cli_cases_string(strangler_cli_cases_ctx_t *cx, yaml_node_t *value,
    const char *key, strangler_str_t *s)
{
    if (!strangler_yaml_scalar(value, s)) {
        strangler_yaml_error(&cx->cs->y, value, "\"%s\" must be a string %s",
                             key, cx->where);
        return 0;
    }

    return 1;
}


/* a mapping of names to strings: headers, cookies */

static strangler_header_t *
strangler_cli_cases_pairs(strangler_cli_cases_ctx_t *cx, yaml_node_t *value,
    const char *key, size_t *n)
{
    size_t                 i;
    yaml_node_pair_t      *pair;
    strangler_header_t    *pairs;

    *n = 0;

    if (value->type != YAML_MAPPING_NODE) {
        strangler_yaml_error(&cx->cs->y, value, "\"%s\" must be a mapping "
                             "of names to values %s", key, cx->where);
        return NULL;
    }

    pairs = calloc(strangler_yaml_pairs(value) + 1,
                   sizeof(strangler_header_t));
    if (pairs == NULL) {
        strangler_error(&cx->cs->errs, cx->cs->file, 0, 0, "out of memory");
        return NULL;
    }

    for (i = 0, pair = value->data.mapping.pairs.start;
         pair < value->data.mapping.pairs.top;
         pair++)
    {
        if (!strangler_cli_cases_string(cx,
                                        strangler_yaml_node(&cx->cs->y,
                                                            pair->key),
                                        key, &pairs[i].name)
            || !strangler_cli_cases_string(cx,
                                           strangler_yaml_node(&cx->cs->y,
                                                               pair->value),
                                           key, &pairs[i].value))
        {
            continue;
        }

        i++;
    }

    *n = i;

    return pairs;
}
