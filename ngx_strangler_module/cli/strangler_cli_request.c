
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A request as a command gives it (explain's options, a test case), and
 * what the table does with it: the path normalised as nginx does, the
 * match and the decision of the core, and the shadow it would get.
 *
 * The sticky key is read through a small accessor of the request's
 * header, cookie, argument and address, in the core's order.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strangler_cli.h"


static int strangler_cli_is_token(const char *s);
static int strangler_cli_hex(int c);
static const char *strangler_cli_normalise(const char *in, size_t len,
    char *out, size_t *out_len);
static int strangler_cli_sticky_key(const strangler_cli_request_t *cr,
    const strangler_route_t *route, const char *args, strangler_str_t *key);
static int strangler_cli_header(const strangler_cli_request_t *cr,
    const strangler_str_t *name, strangler_str_t *value);
static int strangler_cli_cookie(const strangler_cli_request_t *cr,
    const strangler_str_t *name, strangler_str_t *value);
static int strangler_cli_arg(const char *args, const strangler_str_t *name,
    strangler_str_t *value);
static int strangler_cli_pair(const char *s, size_t len,
    const strangler_str_t *name, strangler_str_t *value);
static int strangler_cli_list(const char *s, size_t len, char delim,
    const strangler_str_t *name, strangler_str_t *value);


/* every shadow sampled: the target the request would get when sampled */

static const strangler_override_t  strangler_cli_sample_all = {
    STRANGLER_NONE, STRANGLER_NONE, STRANGLER_SAMPLE_SCALE
};


const char *
strangler_cli_request_check(const strangler_cli_request_t *cr)
{
    if (!strangler_cli_is_token(cr->method)) {
        return "the method must be an HTTP token, as in \"GET\"";
    }

    if (cr->uri[0] != '/') {
        return "the path must start with \"/\"";
    }

    return NULL;
}


int
strangler_cli_decide(const strangler_table_t *table,
    const strangler_cli_request_t *cr, strangler_cli_result_t *res,
    const char **err)
{
    size_t                  ulen;
    const char             *q;
    strangler_request_t    *req;
    const strangler_route_t  *route;

    memset(res, 0, sizeof(strangler_cli_result_t));

    /* the path as nginx matches it, the query string aside */

    q = strchr(cr->uri, '?');
    ulen = q ? (size_t) (q - cr->uri) : strlen(cr->uri);
    res->args = q ? q + 1 : "";

    res->path = malloc(ulen + 1);
    if (res->path == NULL) {
        *err = "out of memory";
        return -1;
    }

    *err = strangler_cli_normalise(cr->uri, ulen, res->path, &res->len);
    if (*err != NULL) {
        free(res->path);
        res->path = NULL;
        return -1;
    }

    res->path[res->len] = '\0';

    req = &res->req;
    req->method = strangler_method_parse(cr->method, strlen(cr->method));
    req->random = cr->random;

    if (cr->force) {
        req->force.data = cr->force;
        req->force.len = strlen(cr->force);
    }

    strangler_table_match(table, req->method, res->path, res->len,
                          &res->match);

    route = res->match.route;

    if (cr->sticky_key.data != NULL) {
        req->sticky_key = cr->sticky_key;

    } else if (route && route->sticky != STRANGLER_STICKY_NONE) {
        (void) strangler_cli_sticky_key(cr, route, res->args,
                                        &req->sticky_key);
    }

    strangler_decide(table, &res->match, req, &res->decision);

    req->override = &strangler_cli_sample_all;
    strangler_decide(table, &res->match, req, &res->shadow);
    req->override = NULL;

    return 0;
}


void
strangler_cli_redecide(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_method_t method,
    const char *force, strangler_cli_result_t *out)
{
    *out = *res;
    out->path = NULL;       /* res owns it */

    out->req.method = method;
    out->req.force.data = force;
    out->req.force.len = force ? strlen(force) : 0;

    strangler_table_match(table, method, res->path, res->len, &out->match);
    strangler_decide(table, &out->match, &out->req, &out->decision);

    out->req.override = &strangler_cli_sample_all;
    strangler_decide(table, &out->match, &out->req, &out->shadow);
    out->req.override = NULL;
}


void
strangler_cli_result_free(strangler_cli_result_t *res)
{
    free(res->path);
    res->path = NULL;
}


/* an HTTP token (RFC 9110 tchar), as nginx accepts in a request line */

static int
strangler_cli_is_token(const char *s)
{
    if (*s == '\0') {
        return 0;
    }

    for ( /* void */ ; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
            || (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


static int
strangler_cli_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/*
 * What nginx's ngx_http_parse_complex_uri() does to a path before it is
 * matched: %XX decoded (a decoded "/" or "." counts as one, a decoded "%"
 * does not start another escape), "//" merged, "." and ".." resolved.  An
 * invalid escape, %00 or ".." above the root make nginx answer 400; they
 * are errors here.  out has room for len bytes, and is not terminated.
 */

static const char *
strangler_cli_normalise(const char *in, size_t len, char *out,
    size_t *out_len)
{
    int      hi, lo, last;
    char    *d;
    size_t   i, j, n, o, slen;

    d = out;
    n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] != '%') {
            d[n++] = in[i];
            continue;
        }

        hi = (i + 1 < len) ? strangler_cli_hex((unsigned char) in[i + 1])
                           : -1;
        lo = (i + 2 < len) ? strangler_cli_hex((unsigned char) in[i + 2])
                           : -1;

        if (hi < 0 || lo < 0) {
            return "invalid percent-escape";
        }

        if (hi == 0 && lo == 0) {
            return "%00 in the path";
        }

        d[n++] = (char) (hi * 16 + lo);
        i += 2;
    }

    if (n == 0 || d[0] != '/') {
        return "the path must start with \"/\"";
    }

    /* in place: the output never overtakes the input */

    o = 1;

    for (i = 1; i <= n; i = j + 1) {
        for (j = i; j < n && d[j] != '/'; j++) {
            /* void */
        }

        slen = j - i;
        last = (j == n);

        if (slen == 0 || (slen == 1 && d[i] == '.')) {
            continue;
        }

        if (slen == 2 && d[i] == '.' && d[i + 1] == '.') {
            if (o == 1) {
                return "\"..\" above the root";
            }

            for (o--; out[o - 1] != '/'; o--) {
                /* void */
            }

            continue;
        }

        memmove(out + o, d + i, slen);
        o += slen;

        if (!last) {
            out[o++] = '/';
        }
    }

    *out_len = o;

    return NULL;
}


/* the split's key, from where the route's `sticky` says */

static int
strangler_cli_sticky_key(const strangler_cli_request_t *cr,
    const strangler_route_t *route, const char *args, strangler_str_t *key)
{
    switch (route->sticky) {

    case STRANGLER_STICKY_HEADER:
        return strangler_cli_header(cr, &route->sticky_name, key);

    case STRANGLER_STICKY_COOKIE:
        return strangler_cli_cookie(cr, &route->sticky_name, key);

    case STRANGLER_STICKY_ARG:
        return strangler_cli_arg(args, &route->sticky_name, key);

    case STRANGLER_STICKY_IP:
        if (cr->address == NULL) {
            return 0;
        }

        key->data = cr->address;
        key->len = strlen(cr->address);
        return 1;

    default:
        return 0;
    }
}


/* the request accessor: header, cookie, argument */

static int
strangler_cli_header(const strangler_cli_request_t *cr,
    const strangler_str_t *name, strangler_str_t *value)
{
    size_t                       i;
    const strangler_cli_pair_t  *h;

    for (i = 0; i < cr->nheaders; i++) {
        h = &cr->headers[i];

        if (h->name.len == name->len
            && strncasecmp(h->name.data, name->data, name->len) == 0)
        {
            *value = h->value;
            return 1;
        }
    }

    return 0;
}


static int
strangler_cli_cookie(const strangler_cli_request_t *cr,
    const strangler_str_t *name, strangler_str_t *value)
{
    size_t                       i;
    const strangler_cli_pair_t  *p;

    for (i = 0; i < cr->ncookies; i++) {
        p = &cr->cookies[i];

        if (p->name.len == name->len
            && strncasecmp(p->name.data, name->data, name->len) == 0)
        {
            *value = p->value;
            return 1;
        }
    }

    /* or from a Cookie header, as a browser sends them */

    for (i = 0; i < cr->nheaders; i++) {
        p = &cr->headers[i];

        if (p->name.len == 6 && strncasecmp(p->name.data, "Cookie", 6) == 0
            && strangler_cli_list(p->value.data, p->value.len, ';', name,
                                  value))
        {
            return 1;
        }
    }

    return 0;
}


static int
strangler_cli_arg(const char *args, const strangler_str_t *name,
    strangler_str_t *value)
{
    return strangler_cli_list(args, strlen(args), '&', name, value);
}


/* "name=value" with optional spaces around: the value of a matching name */

static int
strangler_cli_pair(const char *s, size_t len, const strangler_str_t *name,
    strangler_str_t *value)
{
    const char  *end, *eq;

    end = s + len;

    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }

    eq = memchr(s, '=', end - s);
    if (eq == NULL || (size_t) (eq - s) != name->len
        || strncasecmp(s, name->data, name->len) != 0)
    {
        return 0;
    }

    for (s = eq + 1; s < end && (*s == ' ' || *s == '\t'); s++) {
        /* void */
    }

    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    value->data = s;
    value->len = end - s;

    return 1;
}


/* the first "name=value" of "a=1&b=2" or "a=1; b=2" */

static int
strangler_cli_list(const char *s, size_t len, char delim,
    const strangler_str_t *name, strangler_str_t *value)
{
    const char  *end, *p;

    end = s + len;

    while (s < end) {
        p = memchr(s, delim, end - s);
        if (p == NULL) {
            p = end;
        }

        if (strangler_cli_pair(s, p - s, name, value)) {
            return 1;
        }

        s = p + 1;
    }

    return 0;
}
