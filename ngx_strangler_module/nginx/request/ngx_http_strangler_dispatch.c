
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The `strangler` content handler: match the route, decide the backend, and
 * hand the request to that backend's named location.  nginx's proxy module
 * does the proxying there, with everything it supports.
 */


#include "ngx_http_strangler_request.h"
#include "ngx_http_strangler_handoff.h"
#include "ngx_http_strangler_handoff_hold.h"


static ngx_int_t ngx_http_strangler_to_backend(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx);
static void ngx_http_strangler_log_decision(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, strangler_request_t *req);
static ngx_uint_t ngx_http_strangler_force_on(ngx_http_request_t *r,
    ngx_http_strangler_loc_conf_t *slcf);
static void ngx_http_strangler_regex_limit(ngx_http_request_t *r,
    ngx_http_strangler_table_t *t, const strangler_route_t *route);


ngx_int_t
ngx_http_strangler_dispatch_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_atomic_uint_t               seq;
    strangler_match_t               match;
    strangler_request_t             req;
    strangler_accessor_t            acc;
    ngx_http_strangler_ctx_t       *ctx;
    ngx_http_strangler_table_t     *t;
    ngx_http_strangler_source_t     src;
    ngx_http_strangler_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_strangler_module);
    t = slcf->table;

    rc = ngx_http_strangler_path_check(r, slcf->ambiguous_path);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_http_strangler_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->table = t;

    src.r = r;
    src.table = t;
    ngx_http_strangler_request_accessor(&src, &acc);

    ngx_memzero(&req, sizeof(strangler_request_t));

    req.method = ngx_http_strangler_request_method(r);
    req.path.data = (char *) r->uri.data;
    req.path.len = r->uri.len;

    /* a force header with an if= that is off here is no force header */

    if (ngx_http_strangler_force_on(r, slcf)) {
        req.force_header.data = (char *) slcf->force_header.data;
        req.force_header.len = slcf->force_header.len;
    }

    req.random = (uint32_t) ngx_random();
    req.shadow_random = (uint32_t) ngx_random();

again:

    /* a write's owner is checked against handoffs (_handoff.c) */
    seq = ngx_http_strangler_handoff_seq(t);

    strangler_request_route(t->core, &acc, &req, &match, &ctx->decision);

    if (match.limited) {
        ngx_http_strangler_regex_limit(r, t, match.limited);
    }

    if (ctx->decision.write) {
        /* strangler_fence on: a host silent in etcd stops its writes */
        rc = ngx_http_strangler_fence_write(r,
                 ngx_http_get_module_main_conf(r, ngx_http_strangler_module));

        if (rc != NGX_OK) {
            return rc;
        }
    }

    rc = ngx_http_strangler_handoff_write(r, ctx, seq);

    if (rc == NGX_AGAIN) {
        goto again;
    }

    if (rc != NGX_OK) {
        /* held (NGX_DONE), or refused */
        return rc;
    }

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

    ngx_http_strangler_record_start(r, ctx);

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

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "strangler: route \"%s\" backend \"%V\" reason %s%s%s",
                   d->route ? d->route->name.data : STRANGLER_DEFAULT_ROUTE,
                   ngx_http_strangler_backend_name(ctx->table, d->backend),
                   strangler_reason_name(d->reason),
                   d->write ? " (write)" : "",
                   d->method_overridden ? " (method override)" : "");
}


/* the force header's if=: off for this request when "" or "0" */

static ngx_uint_t
ngx_http_strangler_force_on(ngx_http_request_t *r,
    ngx_http_strangler_loc_conf_t *slcf)
{
    ngx_str_t  val;

    if (slcf->force_if == NULL) {
        return 1;
    }

    if (ngx_http_complex_value(r, slcf->force_if, &val) != NGX_OK) {
        return 0;
    }

    if (val.len == 0 || (val.len == 1 && val.data[0] == '0')) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "strangler: \"%V\" not honoured: its condition is off",
                       &slcf->force_header);
        return 0;
    }

    return 1;
}


/*
 * A route's regex hit a PCRE2 limit and was taken as no match: counted
 * for the metrics, logged once per route by each worker (a hostile client
 * could otherwise fill the log).
 */

static void
ngx_http_strangler_regex_limit(ngx_http_request_t *r,
    ngx_http_strangler_table_t *t, const strangler_route_t *route)
{
    ngx_http_strangler_count_regex_limit(t, route);

    if (t->regex_limit_logged[route->index]) {
        return;
    }

    t->regex_limit_logged[route->index] = 1;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "strangler: a regex of route \"%*s\" hit the PCRE2 match "
                  "limit and was taken as no match; logged once, counted in "
                  "strangler_regex_limit_total", route->name.len,
                  route->name.data);
}
