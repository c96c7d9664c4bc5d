
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Text helpers (ngx_http_strangler_text.c), for every layer: the API's
 * replies and metrics, the fleet's metrics, the ignore rules' errors.
 */


#ifndef NGX_HTTP_STRANGLER_TEXT_H_INCLUDED_
#define NGX_HTTP_STRANGLER_TEXT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_STRANGLER_TEXT_LINE     1024


/* a chain of buffers that text (Prometheus lines, JSON) is printed into */
typedef struct {
    ngx_pool_t                         *pool;
    ngx_chain_t                        *first;
    ngx_chain_t                       **last;
    ngx_buf_t                          *buf;
    ngx_uint_t                          failed;
} ngx_http_strangler_text_t;


/* a line of at most NGX_HTTP_STRANGLER_TEXT_LINE bytes */
void ngx_http_strangler_text(ngx_http_strangler_text_t *out,
    const char *fmt, ...);

/* a message of at most NGX_MAX_ERROR_STR bytes; never NULL */
u_char *ngx_http_strangler_msg(ngx_pool_t *pool, const char *fmt, ...);


#endif /* NGX_HTTP_STRANGLER_TEXT_H_INCLUDED_ */
