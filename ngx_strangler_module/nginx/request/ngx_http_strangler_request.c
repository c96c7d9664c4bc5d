
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The core's request accessor over a real request: headers, cookies and
 * arguments as nginx has them, the client address, the zone's runtime
 * overrides; and the request's method from nginx's parsed one.  Cookies
 * and arguments are found by the core's parsers (the ones the API's
 * explain and the CLI use), which read as nginx's own do.  No allocation.
 */


#include "ngx_http_strangler_request.h"


static int ngx_http_strangler_request_header(void *data,
    const strangler_str_t *name, strangler_str_t *value);
static int ngx_http_strangler_request_cookie(void *data,
    const strangler_str_t *name, strangler_str_t *value);
static int ngx_http_strangler_request_arg(void *data,
    const strangler_str_t *name, strangler_str_t *value);
static int ngx_http_strangler_request_addr(void *data,
    strangler_str_t *value);
static int ngx_http_strangler_request_query(void *data,
    strangler_str_t *value);
static int ngx_http_strangler_request_override(void *data,
    const strangler_route_t *route, strangler_override_t *ov);


/* nginx's parsed methods, the most frequent first */

static const struct {
    ngx_uint_t                  ngx;
    strangler_method_t          method;
} ngx_http_strangler_methods[] = {
    { NGX_HTTP_GET,       STRANGLER_M_GET },
    { NGX_HTTP_POST,      STRANGLER_M_POST },
    { NGX_HTTP_HEAD,      STRANGLER_M_HEAD },
    { NGX_HTTP_PUT,       STRANGLER_M_PUT },
    { NGX_HTTP_DELETE,    STRANGLER_M_DELETE },
    { NGX_HTTP_PATCH,     STRANGLER_M_PATCH },
    { NGX_HTTP_OPTIONS,   STRANGLER_M_OPTIONS },
    { NGX_HTTP_TRACE,     STRANGLER_M_TRACE },
#ifdef NGX_HTTP_CONNECT
    { NGX_HTTP_CONNECT,   STRANGLER_M_CONNECT },
#endif
    { NGX_HTTP_PROPFIND,  STRANGLER_M_PROPFIND },
    { NGX_HTTP_PROPPATCH, STRANGLER_M_PROPPATCH },
    { NGX_HTTP_MKCOL,     STRANGLER_M_MKCOL },
    { NGX_HTTP_COPY,      STRANGLER_M_COPY },
    { NGX_HTTP_MOVE,      STRANGLER_M_MOVE },
    { NGX_HTTP_LOCK,      STRANGLER_M_LOCK },
    { NGX_HTTP_UNLOCK,    STRANGLER_M_UNLOCK },
};


strangler_method_t
ngx_http_strangler_request_method(ngx_http_request_t *r)
{
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_http_strangler_methods)
                    / sizeof(ngx_http_strangler_methods[0]); i++)
    {
        if (r->method == ngx_http_strangler_methods[i].ngx) {
            return ngx_http_strangler_methods[i].method;
        }
    }

    /* NGX_HTTP_UNKNOWN: a name nginx does not know, by its name */

    return strangler_method_parse((char *) r->method_name.data,
                                  r->method_name.len);
}


void
ngx_http_strangler_request_accessor(ngx_http_strangler_source_t *src,
    strangler_accessor_t *acc)
{
    acc->data = src;
    acc->header = ngx_http_strangler_request_header;
    acc->cookie = ngx_http_strangler_request_cookie;
    acc->arg = ngx_http_strangler_request_arg;
    acc->addr = ngx_http_strangler_request_addr;
    acc->query = ngx_http_strangler_request_query;
    acc->override = ngx_http_strangler_request_override;
}


/* the first header of that name */

static int
ngx_http_strangler_request_header(void *data, const strangler_str_t *name,
    strangler_str_t *value)
{
    ngx_uint_t                    i;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    ngx_http_strangler_source_t  *src;

    src = data;
    part = &src->r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name->data,
                               name->len)
               == 0)
        {
            value->data = (char *) h[i].value.data;
            value->len = h[i].value.len;
            return 1;
        }
    }
}


/* in each Cookie header in turn, as nginx's $cookie_NAME */

static int
ngx_http_strangler_request_cookie(void *data, const strangler_str_t *name,
    strangler_str_t *value)
{
    ngx_http_request_t           *r;
    ngx_http_strangler_source_t  *src;
#if (nginx_version >= 1023000)
    ngx_table_elt_t              *h;
#else
    ngx_uint_t                    i;
    ngx_table_elt_t             **h;
#endif

    src = data;
    r = src->r;

#if (nginx_version >= 1023000)

    for (h = r->headers_in.cookie; h; h = h->next) {
        if (strangler_cookie_parse((char *) h->value.data, h->value.len,
                                   name, value))
        {
            return 1;
        }
    }

#else

    h = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        if (strangler_cookie_parse((char *) h[i]->value.data,
                                   h[i]->value.len, name, value))
        {
            return 1;
        }
    }

#endif

    return 0;
}


static int
ngx_http_strangler_request_arg(void *data, const strangler_str_t *name,
    strangler_str_t *value)
{
    ngx_http_strangler_source_t  *src;

    src = data;

    return strangler_arg_parse((char *) src->r->args.data, src->r->args.len,
                               name, value);
}


static int
ngx_http_strangler_request_query(void *data, strangler_str_t *value)
{
    ngx_http_strangler_source_t  *src;

    src = data;

    value->data = (char *) src->r->args.data;
    value->len = src->r->args.len;

    return value->len != 0;
}


static int
ngx_http_strangler_request_addr(void *data, strangler_str_t *value)
{
    ngx_http_strangler_source_t  *src;

    src = data;

    value->data = (char *) src->r->connection->addr_text.data;
    value->len = src->r->connection->addr_text.len;

    return 1;
}


static int
ngx_http_strangler_request_override(void *data,
    const strangler_route_t *route, strangler_override_t *ov)
{
    ngx_http_strangler_source_t  *src;

    src = data;

    return ngx_http_strangler_get_override(src->table, route, ov) == NGX_OK;
}
