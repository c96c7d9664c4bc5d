
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The copy of a request body, made as the body goes by to the owner.
 *
 * The module never reads a body itself: the owner's location reads it as
 * it would without the module (buffered, or streamed with
 * `proxy_request_buffering off`), and this request body filter, which
 * every protocol's body goes through, copies each buffer into the
 * shadow's pool on the way.  When the last one has gone by, the copy is
 * sent; when the body grows past strangler_compare_max_body, the copy is
 * dropped and the rest goes by untouched.  So one rule holds over HTTP/1.1
 * and HTTP/2, with or without a length, whatever the buffer sizes: a body
 * is copied when it is at most strangler_compare_max_body long.
 */


#include "ngx_http_strangler_shadow.h"


static ngx_int_t ngx_http_strangler_shadow_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_strangler_shadow_body_add(
    ngx_http_strangler_shadow_t *s, ngx_buf_t *b);


static ngx_http_request_body_filter_pt  ngx_http_next_request_body_filter;


ngx_int_t
ngx_http_strangler_shadow_body_init(ngx_conf_t *cf)
{
    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_strangler_shadow_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_shadow_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_uint_t                    last;
    ngx_chain_t                  *cl;
    ngx_http_strangler_ctx_t     *ctx;
    ngx_http_strangler_shadow_t  *s;

    ctx = ngx_http_strangler_get_ctx(r);

    if (ctx == NULL || ctx->is_shadow || ctx->shadow == NULL
        || !ctx->shadow->body_wait)
    {
        return ngx_http_next_request_body_filter(r, in);
    }

    s = ctx->shadow;
    last = 0;

    for (cl = in; cl; cl = cl->next) {

        if (ngx_http_strangler_shadow_body_add(s, cl->buf) != NGX_OK) {
            ngx_http_strangler_shadow_drop(s, r, "the body is over "
                                           "strangler_compare_max_body");
            return ngx_http_next_request_body_filter(r, in);
        }

        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    if (last) {
        s->body_wait = 0;
        ngx_http_strangler_shadow_go(s, r);
    }

    return ngx_http_next_request_body_filter(r, in);
}


static ngx_int_t
ngx_http_strangler_shadow_body_add(ngx_http_strangler_shadow_t *s,
    ngx_buf_t *b)
{
    size_t        size;
    ngx_buf_t    *copy;
    ngx_chain_t  *cl;

    if (!ngx_buf_in_memory(b)) {
        return ngx_buf_size(b) ? NGX_DECLINED : NGX_OK;
    }

    size = b->last - b->pos;

    if (size == 0) {
        return NGX_OK;
    }

    if (s->body_len + (off_t) size > (off_t) s->smcf->compare_max_body) {
        return NGX_DECLINED;
    }

    copy = ngx_create_temp_buf(s->pool, size);
    cl = ngx_alloc_chain_link(s->pool);

    if (copy == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    copy->last = ngx_cpymem(copy->pos, b->pos, size);

    cl->buf = copy;
    cl->next = NULL;

    *s->body_last = cl;
    s->body_last = &cl->next;
    s->body_len += size;

    return NGX_OK;
}
