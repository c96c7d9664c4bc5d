
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The `strangler` content handler: match the route, decide the backend, and
 * hand the request to that backend's named location.  nginx's proxy module
 * does the proxying there, with everything it supports.
 */


#include "ngx_http_strangler_module.h"


static ngx_int_t ngx_http_strangler_to_backend(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx);
static ngx_table_elt_t *ngx_http_strangler_find_header(ngx_http_request_t *r,
    u_char *name, size_t len);
static void ngx_http_strangler_sticky_key(ngx_http_request_t *r,
    const strangler_route_t *route, strangler_str_t *key);
static void ngx_http_strangler_log_decision(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, strangler_request_t *req);


ngx_int_t
ngx_http_strangler_dispatch_handler(ngx_http_request_t *r)
{
    ngx_table_elt_t                *force;
    strangler_match_t               match;
    strangler_request_t             req;
    strangler_override_t            ov;
    ngx_http_strangler_ctx_t       *ctx;
    ngx_http_strangler_table_t     *t;
    ngx_http_strangler_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_strangler_module);
    t = slcf->table;

    ctx = ngx_http_strangler_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->table = t;

    ngx_memzero(&req, sizeof(strangler_request_t));

    req.method = strangler_method_parse((char *) r->method_name.data,
                                        r->method_name.len);
    req.random = (uint32_t) ngx_random();
    req.shadow_random = (uint32_t) ngx_random();

    strangler_table_match(t->core, req.method, (char *) r->uri.data,
                          r->uri.len, &match);

    if (slcf->force_header.len) {
        force = ngx_http_strangler_find_header(r, slcf->force_header.data,
                                               slcf->force_header.len);
        if (force) {
            req.force.data = (char *) force->value.data;
            req.force.len = force->value.len;
        }
    }

    if (match.route && match.route->sticky != STRANGLER_STICKY_NONE) {
        ngx_http_strangler_sticky_key(r, match.route, &req.sticky_key);
    }

    if (ngx_http_strangler_get_override(t, match.route, &ov) == NGX_OK) {
        req.override = &ov;
    }

    strangler_decide(t->core, &match, &req, &ctx->decision);
    ctx->dispatched = 1;

    ngx_http_strangler_log_decision(r, ctx, &req);

    return ngx_http_strangler_to_backend(r, ctx);
}


static ngx_int_t
ngx_http_strangler_to_backend(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx)
{
    ngx_str_t  *location;

    location = &ctx->table->locations[ctx->decision.backend];

    if (ctx->decision.shadow_to != STRANGLER_NONE) {
        ngx_http_strangler_shadow_start(r, ctx);
    }

    return ngx_http_named_location(r, location);
}


static void
ngx_http_strangler_log_decision(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, strangler_request_t *req)
{
    strangler_decision_t           *d;
    ngx_http_strangler_loc_conf_t  *slcf;

    d = &ctx->decision;

    if (d->force_ignored) {
        slcf = ngx_http_get_module_loc_conf(r, ngx_http_strangler_module);

        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "strangler: \"%V: %*s\" ignored on a write: "
                      "%V goes to the owner \"%V\"",
                      &slcf->force_header, req->force.len, req->force.data,
                      &r->method_name,
                      ngx_http_strangler_backend_name(ctx->table,
                                                      d->backend));

    } else if (d->force_unknown) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "strangler: force header names no backend \"%*s\"",
                      req->force.len, req->force.data);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "strangler: route \"%s\" backend \"%V\" reason %s%s",
                   d->route ? d->route->name.data : "-",
                   ngx_http_strangler_backend_name(ctx->table, d->backend),
                   strangler_reason_name(d->reason),
                   d->write ? " (write)" : "");
}


static ngx_table_elt_t *
ngx_http_strangler_find_header(ngx_http_request_t *r, u_char *name,
    size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, name, len) == 0)
        {
            return &h[i];
        }
    }
}


static void
ngx_http_strangler_sticky_key(ngx_http_request_t *r,
    const strangler_route_t *route, strangler_str_t *key)
{
    u_char           *name;
    size_t            len;
    ngx_str_t         value, cookie;
    ngx_table_elt_t  *h;

    name = (u_char *) route->sticky_name.data;
    len = route->sticky_name.len;

    switch (route->sticky) {

    case STRANGLER_STICKY_HEADER:
        h = ngx_http_strangler_find_header(r, name, len);
        if (h == NULL) {
            return;
        }

        value = h->value;
        break;

    case STRANGLER_STICKY_COOKIE:
        cookie.data = name;
        cookie.len = len;

#if (nginx_version >= 1023000)
        if (ngx_http_parse_multi_header_lines(r, r->headers_in.cookie,
                                              &cookie, &value)
            == NULL)
        {
            return;
        }
#else
        if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                              &cookie, &value)
            == NGX_DECLINED)
        {
            return;
        }
#endif
        break;

    case STRANGLER_STICKY_ARG:
        if (ngx_http_arg(r, name, len, &value) != NGX_OK) {
            return;
        }

        break;

    case STRANGLER_STICKY_IP:
        value = r->connection->addr_text;
        break;

    default:
        return;
    }

    key->data = (char *) value.data;
    key->len = value.len;
}
