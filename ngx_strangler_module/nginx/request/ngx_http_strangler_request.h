
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What the request layer offers the module: the dispatch, its variables,
 * the path check, the core's accessor over a real request, and the
 * log-phase counter.
 */


#ifndef NGX_HTTP_STRANGLER_REQUEST_H_INCLUDED_
#define NGX_HTTP_STRANGLER_REQUEST_H_INCLUDED_


#include "ngx_http_strangler_shadow.h"
#include "ngx_http_strangler_record.h"
#include "ngx_http_strangler_guard.h"


/* the core's accessor over a real request (ngx_http_strangler_request.c) */
typedef struct {
    ngx_http_request_t             *r;
    ngx_http_strangler_table_t     *table;      /* for its overrides */
} ngx_http_strangler_source_t;

strangler_method_t ngx_http_strangler_request_method(ngx_http_request_t *r);
void ngx_http_strangler_request_accessor(ngx_http_strangler_source_t *src,
    strangler_accessor_t *acc);
/* paths the route table and the backend would read apart (_path.c) */
extern ngx_conf_enum_t  ngx_http_strangler_ambiguous_path_modes[];
ngx_int_t ngx_http_strangler_path_check(ngx_http_request_t *r,
    ngx_uint_t mode);

/* dispatch (ngx_http_strangler_dispatch.c), variables */
ngx_int_t ngx_http_strangler_dispatch_handler(ngx_http_request_t *r);

/* ngx_http_strangler_fence.c: strangler_fence on */
ngx_int_t ngx_http_strangler_fence_write(ngx_http_request_t *r,
    ngx_http_strangler_main_conf_t *smcf);
ngx_int_t ngx_http_strangler_add_variables(ngx_conf_t *cf);

/* ngx_http_strangler_log.c */
ngx_int_t ngx_http_strangler_log_init_conf(ngx_conf_t *cf);


#endif /* NGX_HTTP_STRANGLER_REQUEST_H_INCLUDED_ */
