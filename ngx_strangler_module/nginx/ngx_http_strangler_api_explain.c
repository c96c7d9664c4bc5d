
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * GET explain?method=M&path=P[&header=K:V]...: which route, rule and
 * backend would serve such a request now, under the live overrides.  The
 * same matching and decision code as the dispatcher runs; only the request
 * is described by the query instead of being a real one.  The shadow is
 * reported as if the sample were drawn (it would be sent `sample` percent
 * of the time).
 */


#include "ngx_http_strangler_api.h"


#define NGX_HTTP_STRANGLER_EXPLAIN_HEADERS  16


typedef struct {
    ngx_str_t                   method;
    ngx_str_t                   path;
    ngx_str_t                   query;      /* after a '?' in path */
    ngx_keyval_t                headers[NGX_HTTP_STRANGLER_EXPLAIN_HEADERS];
    ngx_uint_t                  nheaders;
} ngx_http_strangler_explain_t;


static u_char *ngx_http_strangler_explain_args(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex);
static u_char *ngx_http_strangler_explain_arg(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex, ngx_str_t *name, ngx_str_t *value);
static ngx_str_t *ngx_http_strangler_explain_header(
    ngx_http_strangler_explain_t *ex, u_char *name, size_t len);
static void ngx_http_strangler_explain_sticky(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex, const strangler_route_t *route,
    strangler_str_t *key);
static ngx_int_t ngx_http_strangler_explain_pair(ngx_str_t *list,
    u_char sep, u_char *name, size_t len, ngx_str_t *value);
static json_t *ngx_http_strangler_explain_json(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_explain_t *ex,
    strangler_match_t *match, strangler_request_t *req,
    strangler_decision_t *d);


ngx_int_t
ngx_http_strangler_api_explain(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    u_char                         *err;
    ngx_str_t                      *force;
    strangler_match_t               match;
    strangler_request_t             req;
    strangler_override_t            ov;
    strangler_decision_t            d;
    ngx_http_strangler_table_t     *t;
    ngx_http_strangler_explain_t    ex;
    ngx_http_strangler_loc_conf_t  *slcf;

    ngx_memzero(&ex, sizeof(ngx_http_strangler_explain_t));
    ngx_str_set(&ex.method, "GET");

    err = ngx_http_strangler_explain_args(r, &ex);
    if (err) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST, "%s",
                                            err);
    }

    t = ctx->table;
    ngx_memzero(&req, sizeof(strangler_request_t));

    req.method = strangler_method_parse((char *) ex.method.data,
                                        ex.method.len);
    req.random = (uint32_t) ngx_random();
    req.shadow_random = 0;

    strangler_table_match(t->core, req.method, (char *) ex.path.data,
                          ex.path.len, &match);

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_strangler_module);

    if (slcf->force_header.len) {
        force = ngx_http_strangler_explain_header(&ex, slcf->force_header.data,
                                                  slcf->force_header.len);
        if (force) {
            req.force.data = (char *) force->data;
            req.force.len = force->len;
        }
    }

    if (match.route && match.route->sticky != STRANGLER_STICKY_NONE) {
        ngx_http_strangler_explain_sticky(r, &ex, match.route,
                                          &req.sticky_key);
    }

    if (ngx_http_strangler_get_override(t, match.route, &ov) == NGX_OK) {
        req.override = &ov;
    }

    strangler_decide(t->core, &match, &req, &d);

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK,
                ngx_http_strangler_explain_json(r, ctx, &ex, &match, &req,
                                                &d));
}


/* NULL, or what is wrong with the query */

static u_char *
ngx_http_strangler_explain_args(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex)
{
    u_char     *p, *last, *amp, *eq, *err;
    ngx_str_t   name, value;

    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        eq = ngx_strlchr(p, amp, '=');

        name.data = p;
        name.len = (eq ? eq : amp) - p;
        value.data = eq ? eq + 1 : amp;
        value.len = amp - value.data;

        if (name.len) {
            err = ngx_http_strangler_explain_arg(r, ex, &name, &value);
            if (err) {
                return err;
            }
        }

        p = amp + 1;
    }

    if (ex->path.len == 0 || ex->path.data[0] != '/') {
        return (u_char *) "explain needs path=/...";
    }

    p = ngx_strlchr(ex->path.data, ex->path.data + ex->path.len, '?');

    if (p) {
        ex->query.data = p + 1;
        ex->query.len = ex->path.data + ex->path.len - (p + 1);
        ex->path.len = p - ex->path.data;
    }

    return NULL;
}


static u_char *
ngx_http_strangler_explain_arg(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex, ngx_str_t *name, ngx_str_t *value)
{
    u_char        *dst, *src, *colon;
    ngx_keyval_t  *h;

    dst = ngx_pnalloc(r->pool, value->len + 1);
    if (dst == NULL) {
        return (u_char *) "out of memory";
    }

    src = value->data;
    value->data = dst;
    ngx_unescape_uri(&dst, &src, value->len, 0);
    value->len = dst - value->data;

    if (name->len == 6 && ngx_strncmp(name->data, "method", 6) == 0) {
        ex->method = *value;
        return NULL;
    }

    if (name->len == 4 && ngx_strncmp(name->data, "path", 4) == 0) {
        ex->path = *value;
        return NULL;
    }

    if (name->len != 6 || ngx_strncmp(name->data, "header", 6) != 0) {
        return ngx_http_strangler_api_msg(r->pool,
                                          "unknown parameter \"%V\": "
                                          "expected method, path or header",
                                          name);
    }

    colon = ngx_strlchr(value->data, value->data + value->len, ':');

    if (colon == NULL || ex->nheaders == NGX_HTTP_STRANGLER_EXPLAIN_HEADERS) {
        return ngx_http_strangler_api_msg(r->pool,
                                          "header=\"%V\": expected "
                                          "Name:value, at most %d of them",
                                          value,
                                          NGX_HTTP_STRANGLER_EXPLAIN_HEADERS);
    }

    h = &ex->headers[ex->nheaders++];

    h->key.data = value->data;
    h->key.len = colon - value->data;
    h->value.data = colon + 1;
    h->value.len = value->data + value->len - (colon + 1);

    while (h->value.len && h->value.data[0] == ' ') {
        h->value.data++;
        h->value.len--;
    }

    return NULL;
}


static ngx_str_t *
ngx_http_strangler_explain_header(ngx_http_strangler_explain_t *ex,
    u_char *name, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < ex->nheaders; i++) {
        if (ex->headers[i].key.len == len
            && ngx_strncasecmp(ex->headers[i].key.data, name, len) == 0)
        {
            return &ex->headers[i].value;
        }
    }

    return NULL;
}


/* the sticky key as the dispatcher would find it; none for `ip` */

static void
ngx_http_strangler_explain_sticky(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex, const strangler_route_t *route,
    strangler_str_t *key)
{
    u_char     *name;
    size_t      len;
    ngx_str_t  *h, value;

    name = (u_char *) route->sticky_name.data;
    len = route->sticky_name.len;

    switch (route->sticky) {

    case STRANGLER_STICKY_HEADER:
        h = ngx_http_strangler_explain_header(ex, name, len);
        if (h == NULL) {
            return;
        }

        value = *h;
        break;

    case STRANGLER_STICKY_COOKIE:
        h = ngx_http_strangler_explain_header(ex, (u_char *) "Cookie", 6);
        if (h == NULL
            || ngx_http_strangler_explain_pair(h, ';', name, len, &value)
               != NGX_OK)
        {
            return;
        }

        break;

    case STRANGLER_STICKY_ARG:
        if (ngx_http_strangler_explain_pair(&ex->query, '&', name, len,
                                            &value)
            != NGX_OK)
        {
            return;
        }

        break;

    default:
        return;
    }

    key->data = (char *) value.data;
    key->len = value.len;
}


/* `name=value` in "a=1; b=2" (cookies) or "a=1&b=2" (a query) */

static ngx_int_t
ngx_http_strangler_explain_pair(ngx_str_t *list, u_char sep, u_char *name,
    size_t len, ngx_str_t *value)
{
    u_char  *p, *last, *end;

    p = list->data;
    last = p + list->len;

    while (p < last) {
        while (p < last && *p == ' ') {
            p++;
        }

        end = ngx_strlchr(p, last, sep);
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) > len && p[len] == '='
            && ngx_strncmp(p, name, len) == 0)
        {
            value->data = p + len + 1;
            value->len = end - value->data;
            return NGX_OK;
        }

        p = end + 1;
    }

    return NGX_DECLINED;
}


static json_t *
ngx_http_strangler_explain_json(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_explain_t *ex,
    strangler_match_t *match, strangler_request_t *req,
    strangler_decision_t *d)
{
    json_t                      *route, *shadow;
    uint32_t                     sample;
    ngx_http_strangler_table_t  *t;

    t = ctx->table;

    route = match->route
            ? json_stringn(match->route->name.data, match->route->name.len)
            : json_string(NGX_HTTP_STRANGLER_DEFAULT_ROUTE);

    shadow = json_null();

    if (d->shadow_to >= 0) {
        sample = (req->override && req->override->sample_ppm >= 0)
                 ? (uint32_t) req->override->sample_ppm
                 : match->route->shadow.sample_ppm;

        shadow = json_pack("{s:o, s:f}",
                           "to", ngx_http_strangler_backend_json(t,
                                                              d->shadow_to),
                           "sample", sample / 10000.0);
    }

    return json_pack("{s:s%, s:s%, s:o, s:s, s:o, s:s%, s:s, s:b, s:b, "
                     "s:b, s:o}",
                     "method", ex->method.data, ex->method.len,
                     "path", ex->path.data, ex->path.len,
                     "route", route,
                     "rule", strangler_rule_name(match->rule),
                     "backend", ngx_http_strangler_backend_json(t,
                                                                d->backend),
                     "location", t->locations[d->backend].data,
                     t->locations[d->backend].len,
                     "reason", strangler_reason_name(d->reason),
                     "write", (int) d->write,
                     "override", req->override != NULL,
                     "random", d->reason == STRANGLER_REASON_SPLIT
                               && req->sticky_key.data == NULL,
                     "shadow", shadow);
}
