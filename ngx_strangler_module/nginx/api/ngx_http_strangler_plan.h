
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The evidence of the readiness plan (ngx_http_strangler_plan.c): what
 * the zone knows of a route, as the core's rules (strangler_plan.h) read
 * it.  Shared by the zone's init and the API's `plan`.
 */


#ifndef NGX_HTTP_STRANGLER_PLAN_H_INCLUDED_
#define NGX_HTTP_STRANGLER_PLAN_H_INCLUDED_


#include "ngx_http_strangler_state.h"

#include "strangler_plan.h"


/* one route's evidence, and the room its fields take */
typedef struct {
    strangler_plan_evidence_t           ev;
    strangler_plan_field_t              field[NGX_HTTP_STRANGLER_FIELDS];
    ngx_uint_t                          overridden;
} ngx_http_strangler_plan_route_t;


/*
 * A route's evidence, now; NGX_ERROR: out of memory.  Not `all`: only
 * what the rules read (nothing past the stage of a route that is legacy
 * or owned), for ordering.
 */
ngx_int_t ngx_http_strangler_plan_evidence(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_table_t *t, size_t i, ngx_uint_t all,
    ngx_pool_t *pool, ngx_http_strangler_plan_route_t *pr);


#endif /* NGX_HTTP_STRANGLER_PLAN_H_INCLUDED_ */
