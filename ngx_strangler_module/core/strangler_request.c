
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
