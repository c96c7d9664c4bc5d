
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Guards (ngx_http_strangler_guard.c): per guarded route, fixed-size
 * windows of the reads a non-owner serves, in the zone, judged at each
 * window's end; a trip is an override by "guard" that sends the route's
 * reads back to the owner.  Shared by the zone, the API and the module.
 */


#ifndef NGX_HTTP_STRANGLER_GUARD_H_INCLUDED_
#define NGX_HTTP_STRANGLER_GUARD_H_INCLUDED_


#include "ngx_http_strangler_state.h"


/* the `by` of a guard's override: no client address reads so */
#define NGX_HTTP_STRANGLER_GUARD_BY     "guard"

/*
 * Windows are numbered by wall-clock milliseconds / window, the same in
 * every worker (and on every host); a slot is reused every SLOTS windows:
 * the current one is counted in, the previous one is judged, the next one
 * is cleared.
 */
#define NGX_HTTP_STRANGLER_GUARD_SLOTS  4


typedef struct {
    ngx_atomic_t                        requests;
    ngx_atomic_t                        errors;
    ngx_atomic_t                        compared;
    ngx_atomic_t                        mismatched;
    ngx_atomic_t                        time_bucket[
                                             NGX_HTTP_STRANGLER_NBUCKETS];
} ngx_http_strangler_guard_slot_t;


/* one guarded route's block; the figures change under the mutex */
typedef struct ngx_http_strangler_sh_guard_s {
    ngx_http_strangler_guard_slot_t     slot[NGX_HTTP_STRANGLER_GUARD_SLOTS];
    ngx_msec_t                          window;     /* the slots' numbering */
    uint64_t                            evaluated;  /* last window judged */
    ngx_uint_t                          failed;     /* failing in a row */
    ngx_uint_t                          tripped;    /* seen tripped last */
    ngx_atomic_t                        trips;
    ngx_atomic_t                        would_trips;   /* dry run */
    time_t                              tripped_at;    /* the last trip */
    time_t                              judged_at;  /* 0: no window yet */
    strangler_guard_window_t            last;       /* the last judged */
    strangler_guard_result_t            result;
} ngx_http_strangler_sh_guard_t;


/* postconfiguration: warns of guards without a strangler_zone */
ngx_int_t ngx_http_strangler_guard_init_conf(ngx_conf_t *cf,
    ngx_http_strangler_main_conf_t *smcf);

/* the zone's init, with the mutex held: the block of a guarded route */
/* a new worker: the evaluator's timer, when a route has a guard */
ngx_int_t ngx_http_strangler_guard_init_process(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf);

/* the request path: atomic adds to the current window, nothing else */
void ngx_http_strangler_guard_count(ngx_http_strangler_ctx_t *ctx,
    ngx_http_strangler_binding_t *b, ngx_uint_t status, ngx_int_t bucket);
void ngx_http_strangler_guard_count_shadow(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t what);

/* whether an override is the guard's */
ngx_uint_t ngx_http_strangler_guard_is_trip(
    ngx_http_strangler_override_rec_t *ov);

/* re-arming: the windows start afresh, the failing ones are forgotten */
void ngx_http_strangler_guard_reset(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr);


#endif /* NGX_HTTP_STRANGLER_GUARD_H_INCLUDED_ */
