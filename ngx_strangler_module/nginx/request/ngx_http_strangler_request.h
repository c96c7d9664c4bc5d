
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What the request layer offers the module: the dispatch, its variables,
 * the path check, the core's accessor over a real request, and the
 * log-phase counter.
 */


#ifndef NGX_HTTP_STRANGLER_REQUEST_H_INCLUDED_
#define NGX_HTTP_STRANGLER_REQUEST_H_INCLUDED_


#include "ngx_http_strangler_guard.h"


/* ngx_http_strangler_log.c */
ngx_int_t ngx_http_strangler_log_init_conf(ngx_conf_t *cf);


#endif /* NGX_HTTP_STRANGLER_REQUEST_H_INCLUDED_ */
