
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The request context: the decision for one request, kept across the
 * internal redirect to the backend's named location.
 */


#include "ngx_http_strangler_state.h"


static void ngx_http_strangler_ctx_cleanup(void *data);


/*
 * ngx_http_named_location() clears every module's context, so the context
 * is also kept in a pool cleanup and found there again, the way the realip
 * module keeps its own across internal redirects.
 */

ngx_http_strangler_ctx_t *
ngx_http_strangler_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_strangler_ctx_t  *ctx;

    ctx = ngx_http_strangler_get_ctx(r);
    if (ctx) {
        return ctx;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_strangler_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_strangler_ctx_t));

    cln->handler = ngx_http_strangler_ctx_cleanup;
    ngx_http_set_ctx(r, ctx, ngx_http_strangler_module);

    return ctx;
}


static void
ngx_http_strangler_ctx_cleanup(void *data)
{
    /* nothing to release: the handler marks the context's cleanup */
}


ngx_http_strangler_ctx_t *
ngx_http_strangler_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_strangler_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_strangler_module);

    if (ctx || !(r->internal || r->filter_finalize)) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_strangler_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_strangler_module);
            return ctx;
        }
    }

    return NULL;
}
