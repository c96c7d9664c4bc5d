
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * One decision path: what the routing decision needs of a request (the
 * force header, the sticky key, a method override, the runtime override)
 * is read here, through the caller's accessor, for nginx, the API's
 * explain, the `strangler` command and the tests alike.  And nginx's own
 * parsers of a Cookie header and of a query string, so that a request
 * described as text finds exactly what nginx finds.
 */


#include <string.h>

#include "strangler_core.h"


static const char  *strangler_field_names[STRANGLER_STICKY_COUNT] = {
    "",                         /* STRANGLER_STICKY_NONE */
    "header",                   /* STRANGLER_STICKY_HEADER */
    "cookie",                   /* STRANGLER_STICKY_COOKIE */
    "arg",                      /* STRANGLER_STICKY_ARG */
    "ip"                        /* STRANGLER_STICKY_IP */
};


static int strangler_method_override_find(const strangler_table_t *table,
    const strangler_accessor_t *acc, const strangler_field_t **found);
static int strangler_arg_name_is(const char *p, const char *last,
    const strangler_str_t *name);
static int strangler_hex_value(int c);


void
strangler_request_route(const strangler_table_t *table,
    const strangler_accessor_t *acc, strangler_request_t *req,
    strangler_match_t *match, strangler_decision_t *decision)
{
    strangler_table_match(table, req->method, req->path.data, req->path.len,
                          match);

    strangler_request_read(table, acc, match, req);

    strangler_decide(table, match, req, decision);
}


void
strangler_request_read(const strangler_table_t *table,
    const strangler_accessor_t *acc, const strangler_match_t *match,
    strangler_request_t *req)
{
    const strangler_route_t  *route;

    route = match->route;

    req->force.data = NULL;
    req->force.len = 0;
    req->sticky_key.data = NULL;
    req->sticky_key.len = 0;
    req->override = NULL;
    req->method_override = NULL;

    if (strangler_method_is_read(req->method)) {
        (void) strangler_method_override_find(table, acc,
                                              &req->method_override);
    }

    if (req->force_header.len
        && !strangler_field_read(acc, STRANGLER_STICKY_HEADER,
                                 &req->force_header, &req->force))
    {
        req->force.data = NULL;
        req->force.len = 0;
    }

    if (route == NULL) {
        return;
    }

    if (route->sticky != STRANGLER_STICKY_NONE
        && !strangler_field_read(acc, route->sticky, &route->sticky_name,
                                 &req->sticky_key))
    {
        req->sticky_key.data = NULL;
        req->sticky_key.len = 0;
    }

    if (acc->override
        && acc->override(acc->data, route, &req->override_data))
    {
        req->override = &req->override_data;
    }
}


/* 1 and *found: the first `method_override` field the request carries */

static int
strangler_method_override_find(const strangler_table_t *table,
    const strangler_accessor_t *acc, const strangler_field_t **found)
{
    size_t                    i;
    strangler_str_t           value;
    const strangler_field_t  *f;

    for (i = 0; i < table->nmethod_overrides; i++) {
        f = &table->method_overrides[i];

        if (f->from == STRANGLER_STICKY_ARG && acc->query) {
            if (acc->query(acc->data, &value)
                && strangler_arg_is_present(value.data, value.len, &f->name))
            {
                *found = f;
                return 1;
            }

            continue;
        }

        if (strangler_field_read(acc, f->from, &f->name, &value)) {
            *found = f;
            return 1;
        }
    }

    return 0;
}


const char *
strangler_field_name(strangler_sticky_t from)
{
    if ((unsigned) from >= STRANGLER_STICKY_COUNT) {
        from = STRANGLER_STICKY_NONE;
    }

    return strangler_field_names[from];
}


int
strangler_field_read(const strangler_accessor_t *acc, strangler_sticky_t from,
    const strangler_str_t *name, strangler_str_t *value)
{
    switch (from) {

    case STRANGLER_STICKY_HEADER:
        return acc->header ? acc->header(acc->data, name, value) : 0;

    case STRANGLER_STICKY_COOKIE:
        return acc->cookie ? acc->cookie(acc->data, name, value) : 0;

    case STRANGLER_STICKY_ARG:
        return acc->arg ? acc->arg(acc->data, name, value) : 0;

    case STRANGLER_STICKY_IP:
        return acc->addr ? acc->addr(acc->data, value) : 0;

    default:
        return 0;
    }
}


/*
 * As ngx_http_parse_multi_header_lines() (nginx 1.22 to 1.27) reads one
 * Cookie header: at the start of the value and after each ';' or ',' (and
 * the spaces after it), a case-insensitive NAME, spaces, '=', spaces, and
 * the value up to the next ';' (a ',' is part of it, trailing spaces too).
 */

int
strangler_cookie_parse(const char *header, size_t len,
    const strangler_str_t *name, strangler_str_t *value)
{
    const char  *p, *end, *last;
    char         ch;

    /* no Cookie header: header may be NULL */

    if (name->len == 0 || name->len > len) {
        return 0;
    }

    p = header;
    end = header + len;

    while (p < end) {

        if ((size_t) (end - p) < name->len
            || !strangler_is_caseless(p, name->data, name->len))
        {
            goto skip;
        }

        for (p += name->len; p < end && *p == ' '; p++) {
            /* void */
        }

        if (p == end || *p++ != '=') {
            goto skip;
        }

        while (p < end && *p == ' ') {
            p++;
        }

        for (last = p; last < end && *last != ';'; last++) {
            /* void */
        }

        value->data = p;
        value->len = last - p;

        return 1;

    skip:

        while (p < end) {
            ch = *p++;

            if (ch == ';' || ch == ',') {
                break;
            }
        }

        while (p < end && *p == ' ') {
            p++;
        }
    }

    return 0;
}


/*
 * As ngx_http_arg(): the first NAME (case-insensitive) at the start of the
 * query string or after a '&', followed by '='; the value up to the next
 * '&', not unescaped.
 */

int
strangler_arg_parse(const char *args, size_t len, const strangler_str_t *name,
    strangler_str_t *value)
{
    size_t       i;
    const char  *end, *amp;

    /* a request without arguments has none: args may be NULL */

    if (name->len == 0 || name->len >= len) {
        return 0;
    }

    end = args + len;

    for (i = 0; i + name->len < len; i++) {

        if ((i != 0 && args[i - 1] != '&')
            || args[i + name->len] != '='
            || !strangler_is_caseless(args + i, name->data,
                                      name->len))
        {
            continue;
        }

        value->data = args + i + name->len + 1;

        amp = memchr(value->data, '&', end - value->data);
        value->len = (amp ? amp : end) - value->data;

        return 1;
    }

    return 0;
}


/*
 * A method override is the frameworks' business, and they read arguments
 * more loosely than ngx_http_arg(): each name between '&' or ';' (Rack,
 * Python's parse_qs of old), percent-decoded ("%5Fmethod", "%5fmethod")
 * with '+' a space, with or without '=' and a value (a bare "_method" is
 * there, and so a write: the safe side of the owner rule), and with a
 * bracket suffix ("_method[]", "_method[x]": Rack, PHP).  Names are
 * compared case-insensitively, and where NAME has '_' PHP's '.' and ' '
 * count too (PHP makes "_method" of ".method").  The first bytes of the
 * name decide: a longer name ("x_method", "_methods") is another one.
 */

int
strangler_arg_is_present(const char *args, size_t len,
    const strangler_str_t *name)
{
    const char  *p, *end, *last;

    /* a request without arguments has none: args may be NULL */

    if (name->len == 0 || len == 0) {
        return 0;
    }

    end = args + len;

    for (p = args; p < end; p = last + 1) {

        for (last = p; last < end && *last != '&' && *last != ';'; last++) {
            /* void */
        }

        if (strangler_arg_name_is(p, last, name)) {
            return 1;
        }
    }

    return 0;
}


/* the argument at p, up to last, is NAME once decoded */

static int
strangler_arg_name_is(const char *p, const char *last,
    const strangler_str_t *name)
{
    int     hi, lo;
    size_t  i;
    char    c, want;

    for (i = 0; p < last && *p != '='; i++) {
        c = *p++;

        if (c == '+') {
            c = ' ';

        } else if (c == '%' && last - p >= 2
                   && (hi = strangler_hex_value(p[0])) >= 0
                   && (lo = strangler_hex_value(p[1])) >= 0)
        {
            c = (char) (hi << 4 | lo);
            p += 2;
        }

        if (i == name->len) {
            return c == '[';
        }

        want = name->data[i];

        if (!strangler_is_caseless(&c, &want, 1)
            && !(want == '_' && (c == '.' || c == ' ')))
        {
            return 0;
        }
    }

    return i == name->len;
}


static int
strangler_hex_value(int c)
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


/* n bytes of a and b are equal, ASCII letters case-insensitively */

int
strangler_is_caseless(const char *a, const char *b, size_t n)
{
    size_t         i;
    unsigned char  x, y;

    for (i = 0; i < n; i++) {
        x = (unsigned char) a[i];
        y = (unsigned char) b[i];

        if (x >= 'A' && x <= 'Z') {
            x |= 0x20;
        }

        if (y >= 'A' && y <= 'Z') {
            y |= 0x20;
        }

        if (x != y) {
            return 0;
        }
    }

    return 1;
}
