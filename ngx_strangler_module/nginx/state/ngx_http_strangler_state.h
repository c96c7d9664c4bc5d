
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What the state folder offers the layers above it: the request context,
 * the route table, the zone's counters and overrides, the field
 * statistics and runtime ignore rules, the state file, file I/O and text.
 * The lowest folder of the glue: it includes no other.
 */


#ifndef NGX_HTTP_STRANGLER_STATE_H_INCLUDED_
#define NGX_HTTP_STRANGLER_STATE_H_INCLUDED_


#include "ngx_http_strangler_zone.h"
#include "ngx_http_strangler_fields.h"
#include "ngx_http_strangler_text.h"


/* the request context (ngx_http_strangler_ctx.c) */
ngx_http_strangler_ctx_t *ngx_http_strangler_create_ctx(
    ngx_http_request_t *r);
ngx_http_strangler_ctx_t *ngx_http_strangler_get_ctx(ngx_http_request_t *r);

/* the route table (ngx_http_strangler_table.c) */
char *ngx_http_strangler_routes(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_strangler_add_dispatcher(ngx_conf_t *cf,
    ngx_array_t *list, ngx_http_strangler_loc_conf_t *slcf);
ngx_int_t ngx_http_strangler_has_table(ngx_conf_t *cf,
    ngx_http_strangler_dispatcher_t *d);
ngx_int_t ngx_http_strangler_check_backends(ngx_conf_t *cf,
    ngx_http_strangler_dispatcher_t *d);
ngx_str_t *ngx_http_strangler_backend_name(ngx_http_strangler_table_t *t,
    int backend);

/* the zone (ngx_http_strangler_zone.c); all are no-ops without a zone */
char *ngx_http_strangler_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_strangler_zone_init_conf(ngx_conf_t *cf);
void ngx_http_strangler_count_shadow(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t what);
void ngx_http_strangler_count_regex_limit(ngx_http_strangler_table_t *t,
    const strangler_route_t *route);
void ngx_http_strangler_count_skipped(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t why);
void ngx_http_strangler_count_shadow_answer(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t status, ngx_msec_int_t ms);
void ngx_http_strangler_count_in_flight(ngx_http_strangler_main_conf_t *smcf,
    ngx_int_t delta, ngx_uint_t in_worker);
void ngx_http_strangler_count_diff_dropped(
    ngx_http_strangler_main_conf_t *smcf);
void ngx_http_strangler_count_capture(ngx_http_strangler_main_conf_t *smcf,
    ngx_uint_t written, ngx_uint_t dropped, size_t bytes);
void ngx_http_strangler_count_capture_error(
    ngx_http_strangler_main_conf_t *smcf, u_char *text, size_t len);
ngx_int_t ngx_http_strangler_get_override(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, strangler_override_t *ov);

/* their names, in the API, the metrics and $strangler_shadow */
extern const char  *ngx_http_strangler_shadow_events[];

/* persisted overrides (ngx_http_strangler_state.c) */
char *ngx_http_strangler_state(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* NGX_HTTP_STRANGLER_STATE_H_INCLUDED_ */
