
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * No change from another site.  A page on any origin, opened by a browser
 * that can reach the API, may make that browser send requests here: a form
 * (GET or POST, its body text/plain, urlencoded or multipart) or a no-cors
 * fetch (the same, or no Content-Type at all) goes without asking; any
 * other method or type needs a CORS preflight, which this API never
 * grants.  So a change (any method but GET and HEAD) is refused (403) when
 *
 *     Sec-Fetch-Site is there and is not same-origin or none (typed in),
 *     Origin is there and is not this request's scheme://host[:port],
 *     it is a POST that carries a Content-Type other than
 *         application/json, or a body without one.
 *
 * curl and scripts send neither header, and POST without a body (rollback,
 * guard/rearm) or with JSON: they keep working, as does a PUT whose body
 * curl's -d labels as a form (a browser cannot send a PUT cross-origin
 * without a preflight).  The dashboard's fetches are same-origin.
 */


#include "ngx_http_strangler_api.h"


static const char *ngx_http_strangler_api_refused(ngx_http_request_t *r,
    ngx_str_t *value);
static ngx_uint_t ngx_http_strangler_api_is_own_origin(ngx_http_request_t *r,
    ngx_str_t *origin);
static void ngx_http_strangler_api_authority(ngx_str_t *s,
    ngx_str_t *scheme);
static ngx_uint_t ngx_http_strangler_api_has_body(ngx_http_request_t *r);
static ngx_uint_t ngx_http_strangler_api_is_json(ngx_str_t *type);


/* NGX_DECLINED: the request may go on; else it was refused, answered */

ngx_int_t
ngx_http_strangler_api_cross_site(ngx_http_request_t *r)
{
    ngx_str_t    value;
    const char  *why;

    why = ngx_http_strangler_api_refused(r, &value);

    if (why == NULL) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "strangler: %V \"%V\" from %V refused: %s \"%V\" says "
                  "a browser sent it from another site, or as a form",
                  &r->method_name, &r->uri, &r->connection->addr_text, why,
                  &value);

    if (ngx_strcmp(why, "Content-Type") == 0) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_FORBIDDEN,
                                            "a change is refused: a POST "
                                            "here takes a JSON body "
                                            "(Content-Type: application/json) "
                                            "or none, and a form from another "
                                            "site can send Content-Type "
                                            "\"%V\": nothing changed",
                                            &value);
    }

    return ngx_http_strangler_api_error(r, NGX_HTTP_FORBIDDEN,
                                        "a change is refused: %s \"%V\" "
                                        "says a page of another site sent "
                                        "it: nothing changed", why, &value);
}


/* NULL: the request may change things; else the header that says not */

static const char *
ngx_http_strangler_api_refused(ngx_http_request_t *r, ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *type;

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return NULL;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        *value = h[i].value;

        if (h[i].key.len == sizeof("Sec-Fetch-Site") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Sec-Fetch-Site",
                               sizeof("Sec-Fetch-Site") - 1) == 0
            && !(value->len == sizeof("same-origin") - 1
                 && ngx_strncasecmp(value->data, (u_char *) "same-origin",
                                    value->len) == 0)
            && !(value->len == sizeof("none") - 1
                 && ngx_strncasecmp(value->data, (u_char *) "none",
                                    value->len) == 0))
        {
            return "Sec-Fetch-Site";
        }

        if (h[i].key.len == sizeof("Origin") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin",
                               sizeof("Origin") - 1) == 0
            && !ngx_http_strangler_api_is_own_origin(r, value))
        {
            return "Origin";
        }
    }

    if (r->method != NGX_HTTP_POST) {
        return NULL;
    }

    type = r->headers_in.content_type;

    if (type == NULL) {
        ngx_str_set(value, "(none)");
        return ngx_http_strangler_api_has_body(r) ? "Content-Type" : NULL;
    }

    *value = type->value;

    return ngx_http_strangler_api_is_json(value) ? NULL : "Content-Type";
}


/* scheme://host[:port] as the browser sent it, against this request's */

static ngx_uint_t
ngx_http_strangler_api_is_own_origin(ngx_http_request_t *r,
    ngx_str_t *origin)
{
    ngx_str_t  scheme, host, theirs;

    if (r->headers_in.host == NULL) {
        return 0;
    }

    ngx_str_set(&scheme, "http");

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&scheme, "https");
    }
#endif

    if (origin->len <= scheme.len + sizeof("://") - 1
        || ngx_strncasecmp(origin->data, scheme.data, scheme.len) != 0
        || ngx_strncmp(origin->data + scheme.len, "://", 3) != 0)
    {
        return 0;
    }

    theirs.data = origin->data + scheme.len + 3;
    theirs.len = origin->len - scheme.len - 3;
    host = r->headers_in.host->value;

    ngx_http_strangler_api_authority(&theirs, &scheme);
    ngx_http_strangler_api_authority(&host, &scheme);

    return theirs.len == host.len
           && ngx_strncasecmp(theirs.data, host.data, host.len) == 0;
}


/* without the scheme's default port, which browsers leave out */

static void
ngx_http_strangler_api_authority(ngx_str_t *s, ngx_str_t *scheme)
{
    ngx_str_t  port;

    if (scheme->len == sizeof("https") - 1) {
        ngx_str_set(&port, ":443");

    } else {
        ngx_str_set(&port, ":80");
    }

    if (s->len > port.len
        && ngx_strncmp(s->data + s->len - port.len, port.data, port.len) == 0)
    {
        s->len -= port.len;
    }
}


static ngx_uint_t
ngx_http_strangler_api_has_body(ngx_http_request_t *r)
{
    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return 1;
    }

#if (NGX_HTTP_V2)
    if (r->stream && r->headers_in.content_length_n < 0) {
        return !r->stream->in_closed;
    }
#endif

    return 0;
}


/* application/json, with parameters or not (charset=utf-8) */

static ngx_uint_t
ngx_http_strangler_api_is_json(ngx_str_t *type)
{
    size_t   n;
    u_char  *p, *last;

    n = sizeof("application/json") - 1;
    p = type->data;
    last = p + type->len;

    if (type->len < n
        || ngx_strncasecmp(p, (u_char *) "application/json", n) != 0)
    {
        return 0;
    }

    for (p += n; p < last && (*p == ' ' || *p == '\t'); p++) {
        /* void */
    }

    return p == last || *p == ';';
}
