
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The log phase: what the strangler dispatched is counted on its route's
 * block in the zone, in the migration's progress, and in the guard's
 * window.  Registered only with a zone.
 */


#include "ngx_http_strangler_request.h"


static ngx_int_t ngx_http_strangler_log_handler(ngx_http_request_t *r);
static ngx_msec_int_t ngx_http_strangler_upstream_time(ngx_http_request_t *r);


ngx_int_t
ngx_http_strangler_log_init_conf(ngx_conf_t *cf)
{
    ngx_http_handler_pt             *h;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    if (ngx_http_strangler_zone_ctx(smcf) == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_strangler_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_log_handler(ngx_http_request_t *r)
{
    ngx_int_t                      bucket;
    ngx_uint_t                     status;
    ngx_msec_int_t                 ms;
    ngx_http_strangler_ctx_t      *ctx;
    ngx_http_strangler_binding_t  *b;

    ctx = ngx_http_strangler_get_ctx(r);

    if (ctx == NULL || !ctx->dispatched) {
        return NGX_OK;
    }

    status = r->err_status ? r->err_status : r->headers_out.status;

    /* an upgraded connection's time is its session's, not a response's */

    ms = (status == NGX_HTTP_SWITCHING_PROTOCOLS)
         ? -1 : ngx_http_strangler_upstream_time(r);

    b = ngx_http_strangler_count_dispatched(ctx, status, ms, &bucket);
    if (b == NULL) {
        return NGX_OK;
    }

    ngx_http_strangler_progress_count(b->zone, ctx->table,
                                      ctx->decision.backend);

    ngx_http_strangler_guard_count(ctx, b, status, bucket);

    return NGX_OK;
}


/* the sum over every upstream tried; -1: none answered */

static ngx_msec_int_t
ngx_http_strangler_upstream_time(ngx_http_request_t *r)
{
    ngx_uint_t                  i;
    ngx_msec_int_t              ms;
    ngx_http_upstream_state_t  *state;

    if (r->upstream_states == NULL) {
        return -1;
    }

    ms = -1;
    state = r->upstream_states->elts;

    for (i = 0; i < r->upstream_states->nelts; i++) {

        /* entries without a peer separate the upstreams of redirects */
        if (state[i].peer == NULL
            || state[i].response_time == (ngx_msec_t) -1)
        {
            continue;
        }

        ms = ngx_max(ms, 0) + (ngx_msec_int_t) state[i].response_time;
    }

    return ms;
}
