
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What the nginx side of the module shares between its files.  The route
 * table itself (strangler_table.h) knows nothing of nginx.
 */


#ifndef NGX_HTTP_STRANGLER_MODULE_H_INCLUDED_
#define NGX_HTTP_STRANGLER_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "strangler_table.h"


/* a loaded route table as nginx uses it */
typedef struct {
    strangler_table_t              *core;
    ngx_str_t                       file;
    ngx_str_t                      *backend_names;  /* per backend */
    ngx_str_t                      *locations;      /* per backend, "@x" */
    time_t                          loaded;
} ngx_http_strangler_table_t;


typedef struct {
    ngx_http_strangler_table_t     *table;
    ngx_str_t                       force_header;   /* empty: off */
    ngx_flag_t                      dispatch;       /* `strangler;` here */
} ngx_http_strangler_loc_conf_t;


/* a `strangler` location, checked against its server at postconfiguration */
typedef struct {
    ngx_http_strangler_loc_conf_t  *slcf;
    ngx_http_core_srv_conf_t       *cscf;
    ngx_str_t                       conf_file;
    ngx_uint_t                      conf_line;
} ngx_http_strangler_dispatcher_t;


typedef struct {
    ngx_array_t                     dispatchers;
} ngx_http_strangler_main_conf_t;


/* the decision for one request; survives the internal redirect */
typedef struct {
    ngx_http_strangler_table_t     *table;
    strangler_decision_t            decision;
    unsigned                        dispatched:1;
    unsigned                        shadow_sent:1;
    unsigned                        shadow_dropped:1;
} ngx_http_strangler_ctx_t;


ngx_http_strangler_ctx_t *ngx_http_strangler_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_strangler_dispatch_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_strangler_add_variables(ngx_conf_t *cf);
ngx_str_t *ngx_http_strangler_backend_name(ngx_http_strangler_table_t *t,
    int backend);


extern ngx_module_t  ngx_http_strangler_module;


#endif /* NGX_HTTP_STRANGLER_MODULE_H_INCLUDED_ */
