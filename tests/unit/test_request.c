
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Reading a request: nginx's parsers as the core has them (a Cookie
 * header, a query string, a header line, the request target, the method
 * token), the text accessor, and the whole decision path through it,
 * method overrides included.
 */


#include <stdlib.h>

#include "strangler_core.h"
#include "unit.h"


#define S(lit)  { lit, sizeof(lit) - 1 }


typedef struct {
    const char  *in;
    const char  *name;
    const char  *want;          /* NULL: absent */
} find_case_t;


/* as ngx_http_parse_multi_header_lines() (nginx 1.22) reads one header */

static const find_case_t  cookie_cases[] = {
    { "sid=abc",               "sid", "abc" },
    { "SID=abc",               "sid", "abc" },
    { "sid=abc",               "SID", "abc" },
    { "a=1; sid=abc",          "sid", "abc" },
    { "a=1;sid=abc",           "sid", "abc" },
    { "a=1;   sid=abc",        "sid", "abc" },
    { "a=1, sid=abc",          "sid", "abc" },
    { "sid = abc",             "sid", "abc" },
    { "sid=  abc",             "sid", "abc" },
    { "sid=abc ; a=1",         "sid", "abc " },
    { "sid=abc,a=1",           "sid", "abc,a=1" },
    { "sid=a=b",               "sid", "a=b" },
    { "xsid=1; sid=2",         "sid", "2" },
    { "sid=1; sid=2",          "sid", "1" },
    { "sid=",                  "sid", "" },
    { "a=1; sid",              "sid", NULL },
    { "sidx=1",                "sid", NULL },
    { "sid",                   "sid", NULL },
    { "si",                    "sid", NULL },
    { "a=sid=1",               "sid", NULL },
    { "a=\"x;sid=1\"",         "sid", "1\"" },
    { "",                      "sid", NULL },
    { "a=1;\tsid=2",           "sid", NULL },
};


/* as ngx_http_arg() */

static const find_case_t  arg_cases[] = {
    { "uid=1",                 "uid", "1" },
    { "a=1&uid=2",             "uid", "2" },
    { "UID=3",                 "uid", "3" },
    { "uid=3",                 "UID", "3" },
    { "xuid=1&uid=2",          "uid", "2" },
    { "a=uid=1",               "uid", NULL },
    { "uid",                   "uid", NULL },
    { "a&uid",                 "uid", NULL },
    { "uid=",                  "uid", "" },
    { "uid=1&uid=2",           "uid", "1" },
    { "uid=%41+b",             "uid", "%41+b" },
    { "&uid=1",                "uid", "1" },
    { "uid=1&",                "uid", "1" },
    { "a=1;uid=2",             "uid", NULL },
    { "",                      "uid", NULL },
};


typedef struct {
    const char  *in;
    const char  *path;          /* NULL: an error, nginx answers 400 */
    const char  *args;          /* NULL: no '?' */
} target_case_t;


/* as ngx_http_parse_complex_uri() with merge_slashes on */

static const target_case_t  target_cases[] = {
    { "/",                     "/",            NULL },
    { "/a",                    "/a",           NULL },
    { "/a?x=1",                "/a",           "x=1" },
    { "/a?",                   "/a",           "" },
    { "/a?x#f",                "/a",           "x" },
    { "/a#f",                  "/a",           NULL },
    { "//a",                   "/a",           NULL },
    { "/a//b",                 "/a/b",         NULL },
    { "/a///b/",               "/a/b/",        NULL },
    { "/a/./b",                "/a/b",         NULL },
    { "/./a",                  "/a",           NULL },
    { "/a/b/../c",             "/a/c",         NULL },
    { "/a/b/..",               "/a/",          NULL },
    { "/a/b/.",                "/a/b/",        NULL },
    { "/a/..",                 "/",            NULL },
    { "/a/b/../../c",          "/c",           NULL },
    { "/a//..",                "/",            NULL },
    { "/a/..?x",               "/",            "x" },
    { "/a/.?x",                "/a/",          "x" },
    { "/a/..b",                "/a/..b",       NULL },
    { "/a/.b",                 "/a/.b",        NULL },
    { "/a/...",                "/a/...",       NULL },
    { "/%61",                  "/a",           NULL },
    { "/a%2Fb",                "/a/b",         NULL },
    { "/a%2fb",                "/a/b",         NULL },
    { "/a/%2e%2e/b",           "/b",           NULL },
    { "/a/.%2E/b",             "/b",           NULL },
    { "/a/b/%2e",              "/a/b/",        NULL },
    { "/a%2F%2Fb",             "/a/b",         NULL },
    { "/a%252e",               "/a%2e",        NULL },
    { "/a%25/..",              "/",            NULL },
    { "/a%3Fb?c",              "/a?b",         "c" },
    { "/a%23b",                "/a#b",         NULL },
    { "/a+b",                  "/a+b",         NULL },
    { "/..",                   NULL,           NULL },
    { "/a/../..",              NULL,           NULL },
    { "/%2e%2e",               NULL,           NULL },
    { "/a%2",                  NULL,           NULL },
    { "/a%zz",                 NULL,           NULL },
    { "/a%00",                 NULL,           NULL },
    { "/a b",                  NULL,           NULL },
    { "a",                     NULL,           NULL },
    { "",                      NULL,           NULL },
};


static void
test_cookie(void)
{
    size_t           i;
    strangler_str_t  name, v;

    for (i = 0; i < sizeof(cookie_cases) / sizeof(cookie_cases[0]); i++) {
        name.data = cookie_cases[i].name;
        name.len = strlen(name.data);
        v.data = NULL;

        if (strangler_cookie_parse(cookie_cases[i].in,
                                   strlen(cookie_cases[i].in), &name, &v))
        {
            UNIT_CHECK(cookie_cases[i].want
                       && v.len == strlen(cookie_cases[i].want)
                       && memcmp(v.data, cookie_cases[i].want, v.len) == 0,
                       "cookie \"%s\": got \"%.*s\"", cookie_cases[i].in,
                       (int) v.len, v.data);

        } else {
            UNIT_CHECK(cookie_cases[i].want == NULL, "cookie \"%s\": absent",
                       cookie_cases[i].in);
        }
    }
}


static void
test_arg(void)
{
    size_t           i;
    strangler_str_t  name, v;

    for (i = 0; i < sizeof(arg_cases) / sizeof(arg_cases[0]); i++) {
        name.data = arg_cases[i].name;
        name.len = strlen(name.data);
        v.data = NULL;

        if (strangler_arg_parse(arg_cases[i].in, strlen(arg_cases[i].in),
                                &name, &v))
        {
            UNIT_CHECK(arg_cases[i].want
                       && v.len == strlen(arg_cases[i].want)
                       && memcmp(v.data, arg_cases[i].want, v.len) == 0,
                       "arg \"%s\": got \"%.*s\"", arg_cases[i].in,
                       (int) v.len, v.data);

        } else {
            UNIT_CHECK(arg_cases[i].want == NULL, "arg \"%s\": absent",
                       arg_cases[i].in);
        }
    }

    /* nginx's r->args and a missing Cookie header are NULL, 0 */

    name.data = "_method";
    name.len = 7;
    UNIT_CHECK(!strangler_arg_parse(NULL, 0, &name, &v), "no arguments");
    UNIT_CHECK(!strangler_cookie_parse(NULL, 0, &name, &v), "no cookies");
}


/* a method override's argument, as the frameworks read one */
static const struct {
    const char  *in;
    int          present;
} present_cases[] = {
    { "_method=DELETE", 1 },
    { "a=1&_METHOD=put", 1 },
    { "%5Fmethod=DELETE", 1 },
    { "%5fmethod=DELETE", 1 },
    { "%5F%6D%65%74%68%6F%64=DELETE", 1 },
    { "_method[]=DELETE", 1 },
    { "_method%5B%5D=DELETE", 1 },
    { "_method[x]=DELETE", 1 },
    { "x=1;_method=DELETE", 1 },
    { "x=1;_method", 1 },
    { "_method", 1 },
    { "a=1&_method&b=2", 1 },
    { "_method=", 1 },
    { ".method=DELETE", 1 },
    { "+method=DELETE", 1 },
    { "x_method=DELETE", 0 },
    { "_methods=DELETE", 0 },
    { "_metho=DELETE", 0 },
    { "a=_method", 0 },
    { "a=1%26_method=DELETE", 0 },
    { "%255Fmethod=DELETE", 0 },
    { "%5Gmethod=DELETE", 0 },
    { "_method%3DDELETE", 0 },
    { "&&;;", 0 },
    { "", 0 },
};


static void
test_present(void)
{
    size_t           i;
    strangler_str_t  name = S("_method");

    for (i = 0; i < sizeof(present_cases) / sizeof(present_cases[0]); i++) {
        UNIT_CHECK(strangler_arg_is_present(present_cases[i].in,
                                            strlen(present_cases[i].in),
                                            &name)
                   == present_cases[i].present,
                   "method override argument \"%s\": %s",
                   present_cases[i].in,
                   present_cases[i].present ? "present" : "absent");
    }

    UNIT_CHECK(!strangler_arg_is_present(NULL, 0, &name), "no arguments");
}


static void
test_target(void)
{
    int               rc;
    char              out[64];
    size_t            i, len;
    const char       *err, *in;
    strangler_str_t   args;

    for (i = 0; i < sizeof(target_cases) / sizeof(target_cases[0]); i++) {
        in = target_cases[i].in;
        err = NULL;
        len = 0;

        rc = strangler_target_parse(in, strlen(in), out, &len, &args, &err);

        if (target_cases[i].path == NULL) {
            UNIT_CHECK(rc == -1 && err != NULL, "\"%s\": got \"%.*s\"", in,
                       (int) len, out);
            continue;
        }

        UNIT_CHECK(rc == 0 && len == strlen(target_cases[i].path)
                   && memcmp(out, target_cases[i].path, len) == 0,
                   "\"%s\": got \"%.*s\" (%s)", in, (int) len, out,
                   err ? err : "");

        if (target_cases[i].args == NULL) {
            UNIT_CHECK(args.data == NULL, "\"%s\": no args", in);

        } else {
            UNIT_CHECK(args.data != NULL
                       && args.len == strlen(target_cases[i].args)
                       && memcmp(args.data, target_cases[i].args, args.len)
                          == 0,
                       "\"%s\": args", in);
        }
    }
}


static void
test_header_line(void)
{
    strangler_header_t  h;

    UNIT_CHECK(strangler_header_parse("X-A: 1", 6, &h) == 0
               && h.name.len == 3 && memcmp(h.name.data, "X-A", 3) == 0
               && h.value.len == 1 && h.value.data[0] == '1', "X-A: 1");
    UNIT_CHECK(strangler_header_parse("X-A:1", 5, &h) == 0
               && h.value.len == 1, "X-A:1");
    UNIT_CHECK(strangler_header_parse("X-A:   1 2  ", 12, &h) == 0
               && h.value.len == 3 && memcmp(h.value.data, "1 2", 3) == 0,
               "spaces around the value");
    UNIT_CHECK(strangler_header_parse("X-A:\t1", 6, &h) == 0
               && h.value.len == 2, "a tab is kept");
    UNIT_CHECK(strangler_header_parse("X-A:", 4, &h) == 0
               && h.value.len == 0, "an empty value");
    UNIT_CHECK(strangler_header_parse(": x", 3, &h) == -1, "no name");
    UNIT_CHECK(strangler_header_parse("X A: 1", 6, &h) == -1, "a space");
    UNIT_CHECK(strangler_header_parse("nocolon", 7, &h) == -1, "no colon");
}


static void
test_method_token(void)
{
    UNIT_CHECK(strangler_method_is_valid("GET", 3), "GET");
    UNIT_CHECK(strangler_method_is_valid("M-SEARCH", 8), "M-SEARCH");
    UNIT_CHECK(strangler_method_is_valid("FOO_BAR", 7), "FOO_BAR");
    UNIT_CHECK(!strangler_method_is_valid("get", 3), "get");
    UNIT_CHECK(!strangler_method_is_valid("Get", 3), "Get");
    UNIT_CHECK(!strangler_method_is_valid("GET1", 4), "GET1");
    UNIT_CHECK(!strangler_method_is_valid("GE T", 4), "GE T");
    UNIT_CHECK(!strangler_method_is_valid("", 0), "empty");
}


static const char  table_yaml[] =
    "version: 1\n"
    "default: monolith\n"
    "backends: { monolith: {}, messages: {} }\n"
    "routes:\n"
    "  - name: conv\n"
    "    paths: [\"/c/{id}\"]\n"
    "    owner: monolith\n"
    "    reads: messages\n"
    "    shadow: { sample: 100 }\n"
    "  - name: split\n"
    "    paths: [\"/s/*\"]\n"
    "    owner: monolith\n"
    "    reads: { monolith: 1, messages: 1 }\n"
    "    sticky: cookie:sid\n";


static int
override_none(void *data, const strangler_route_t *route,
    strangler_override_t *ov)
{
    return 0;
}


static int
override_reads(void *data, const strangler_route_t *route,
    strangler_override_t *ov)
{
    ov->reads = 0;
    ov->owner = STRANGLER_NONE;
    ov->sample_ppm = -1;

    return 1;
}


static void
route_text(const strangler_table_t *t, strangler_method_t m, const char *path,
    const char *args, const strangler_header_t *headers, size_t n,
    strangler_request_t *req, strangler_decision_t *d)
{
    strangler_match_t          match;
    strangler_accessor_t       acc;
    strangler_text_request_t   text;
    static strangler_str_t     force = S("X-Force");

    memset(&text, 0, sizeof(strangler_text_request_t));
    text.headers = headers;
    text.nheaders = n;
    text.args.data = args;
    text.args.len = strlen(args);

    strangler_text_accessor(&text, &acc);

    memset(req, 0, sizeof(strangler_request_t));
    req->method = m;
    req->path.data = path;
    req->path.len = strlen(path);
    req->force_header = force;

    strangler_request_route(t, &acc, req, &match, d);
}


static void
test_route(void)
{
    strangler_table_t     *t;
    strangler_errors_t     errs;
    strangler_request_t    req;
    strangler_decision_t   d;
    strangler_match_t      match;
    strangler_accessor_t   acc;
    strangler_text_request_t  text;

    static const strangler_header_t  mo[] = {
        { S("x-http-method-override"), S("") },
    };
    static const strangler_header_t  forced[] = {
        { S("X-Force"), S("messages") },
        { S("X-HTTP-Method"), S("DELETE") },
    };
    static const strangler_header_t  cookies[] = {
        { S("Cookie"), S("a=1") },
        { S("cookie"), S("x=2, SID=k1") },
    };

    memset(&errs, 0, sizeof(strangler_errors_t));
    t = strangler_table_load_buffer("t.yaml", table_yaml,
                                    sizeof(table_yaml) - 1, &errs);
    UNIT_CHECK(t != NULL, "%s", errs.text[0]);

    if (t == NULL) {
        return;
    }

    route_text(t, STRANGLER_M_GET, "/c/1", "", NULL, 0, &req, &d);
    UNIT_CHECK(d.backend == 1 && !d.write && d.shadow_to == 0
               && req.method_override == NULL, "a read");

    route_text(t, STRANGLER_M_GET, "/c/1", "", mo, 1, &req, &d);
    UNIT_CHECK(d.backend == 0 && d.write && d.method_overridden
               && d.shadow_to == STRANGLER_NONE && req.method_override
               && req.method_override->from == STRANGLER_STICKY_HEADER,
               "an empty X-HTTP-Method-Override");

    route_text(t, STRANGLER_M_HEAD, "/c/1", "a=1&_Method=x", NULL, 0, &req,
               &d);
    UNIT_CHECK(d.backend == 0 && d.write && req.method_override
               && req.method_override->from == STRANGLER_STICKY_ARG,
               "_method");

    route_text(t, STRANGLER_M_GET, "/c/1", "x=1;%5fmethod[]", NULL, 0, &req,
               &d);
    UNIT_CHECK(d.backend == 0 && d.write && req.method_override
               && req.method_override->from == STRANGLER_STICKY_ARG,
               "an encoded _method[], bare, after a ';'");

    route_text(t, STRANGLER_M_GET, "/c/1", "x_method=1", NULL, 0, &req, &d);
    UNIT_CHECK(d.backend == 1 && !d.write, "x_method is none");

    route_text(t, STRANGLER_M_GET, "/c/1", "", forced, 2, &req, &d);
    UNIT_CHECK(d.backend == 0 && d.write && d.force_ignored
               && req.force.len == 8, "forced and overridden");

    route_text(t, STRANGLER_M_GET, "/nowhere", "", forced, 1, &req, &d);
    UNIT_CHECK(d.backend == 1 && d.reason == STRANGLER_REASON_FORCE,
               "forced, no route");

    /* a write carries no method override: it is a write anyway */

    route_text(t, STRANGLER_M_POST, "/c/1", "", mo, 1, &req, &d);
    UNIT_CHECK(d.backend == 0 && d.write && !d.method_overridden
               && req.method_override == NULL, "a POST");

    /* the sticky cookie, in the second Cookie header */

    route_text(t, STRANGLER_M_GET, "/s/x", "", cookies, 2, &req, &d);
    UNIT_CHECK(req.sticky_key.len == 2
               && memcmp(req.sticky_key.data, "k1", 2) == 0
               && d.reason == STRANGLER_REASON_SPLIT, "sticky cookie");

    /* the override hook */

    memset(&text, 0, sizeof(strangler_text_request_t));
    strangler_text_accessor(&text, &acc);

    memset(&req, 0, sizeof(strangler_request_t));
    req.method = STRANGLER_M_GET;
    req.path.data = "/c/1";
    req.path.len = 4;

    acc.override = override_reads;
    strangler_request_route(t, &acc, &req, &match, &d);
    UNIT_CHECK(d.backend == 0 && d.reason == STRANGLER_REASON_OVERRIDE
               && req.override == &req.override_data, "overridden reads");

    acc.override = override_none;
    strangler_request_route(t, &acc, &req, &match, &d);
    UNIT_CHECK(d.backend == 1 && req.override == NULL, "no override");

    strangler_table_free(t);
}


int
main(void)
{
    test_cookie();
    test_arg();
    test_present();
    test_target();
    test_header_line();
    test_method_token();
    test_route();

    return unit_report("test_request");
}
