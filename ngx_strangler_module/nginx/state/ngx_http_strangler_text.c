
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Text printed for the layers above: lines into a chain of buffers (the
 * Prometheus metrics, compact JSON) and one-off messages in a pool.
 */


#include "ngx_http_strangler_text.h"


#define NGX_HTTP_STRANGLER_TEXT_BUF   16384


void
ngx_http_strangler_text(ngx_http_strangler_text_t *out, const char *fmt, ...)
{
    va_list       args;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (out->failed) {
        return;
    }

    b = out->buf;

    if (b == NULL
        || (size_t) (b->end - b->last) < NGX_HTTP_STRANGLER_TEXT_LINE)
    {
        b = ngx_create_temp_buf(out->pool, NGX_HTTP_STRANGLER_TEXT_BUF);
        cl = ngx_alloc_chain_link(out->pool);

        if (b == NULL || cl == NULL) {
            out->failed = 1;
            return;
        }

        cl->buf = b;
        cl->next = NULL;

        *out->last = cl;
        out->last = &cl->next;
        out->buf = b;
    }

    va_start(args, fmt);
    b->last = ngx_vslprintf(b->last, b->end, fmt, args);
    va_end(args);
}


/* a message that lives as long as the pool */

u_char *
ngx_http_strangler_msg(ngx_pool_t *pool, const char *fmt, ...)
{
    u_char   *msg, *p;
    va_list   args;

    msg = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
    if (msg == NULL) {
        return (u_char *) "out of memory";
    }

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + NGX_MAX_ERROR_STR - 1, fmt, args);
    va_end(args);

    *p = '\0';

    return msg;
}
