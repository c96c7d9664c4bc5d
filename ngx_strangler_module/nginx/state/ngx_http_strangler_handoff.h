/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The handoff of a route's writes when its owner moves: writes in flight
 * per route and backend, the hold of new writes while the old owner's
 * drain, and the change that commits the new owner in between
 * (ngx_http_strangler_handoff*.c).
 */


#ifndef NGX_HTTP_STRANGLER_HANDOFF_H_INCLUDED_
#define NGX_HTTP_STRANGLER_HANDOFF_H_INCLUDED_


#include "ngx_http_strangler_zone.h"

#include <jansson.h>


/* the defaults of `strangler_handoff` */
#define NGX_HTTP_STRANGLER_HANDOFF_DRAIN    5000
#define NGX_HTTP_STRANGLER_HANDOFF_HOLD     1024

/* how often a worker holding writes looks at the handoff, ms */
#define NGX_HTTP_STRANGLER_HANDOFF_POLL     2

/* a drain looks for the writes of dead processes every this many ms */
#define NGX_HTTP_STRANGLER_HANDOFF_REAP     50

#define NGX_HTTP_STRANGLER_HANDOFF_IDLE      0
#define NGX_HTTP_STRANGLER_HANDOFF_DRAINING  1


/* how a handoff ended */
typedef enum {
    NGX_HTTP_STRANGLER_HANDOFF_MOVED = 0,
    /* the old owner's writes did not drain in time: the owner stays */
    NGX_HTTP_STRANGLER_HANDOFF_TIMED_OUT,
    /* the change could not be made (state file, zone): the owner stays */
    NGX_HTTP_STRANGLER_HANDOFF_FAILED,
    /* the worker driving it died: ended by another one, owner unchanged */
    NGX_HTTP_STRANGLER_HANDOFF_ABANDONED,
    NGX_HTTP_STRANGLER_HANDOFF_NRESULTS
} ngx_http_strangler_handoff_result_e;

extern const char  *ngx_http_strangler_handoff_results[];


/*
 * A route's writes in flight at a backend, over every process (each one's
 * share in its ledger entry, _handoff.c); never freed while the route is
 */
typedef struct ngx_http_strangler_sh_writes_s  ngx_http_strangler_sh_writes_t;

struct ngx_http_strangler_sh_writes_s {
    ngx_http_strangler_sh_writes_t     *next;
    ngx_atomic_t                        writes;
    struct ngx_http_strangler_sh_ledger_s  *ledger;
    ngx_str_t                           name;
};


/* a route's handoff, in the zone; reused by the route's next one */
typedef struct ngx_http_strangler_sh_handoff_s {
    ngx_atomic_t                        state;
    ngx_uint_t                          serial;     /* handoffs started */
    ngx_pid_t                           pid;        /* driving it */
    ngx_msec_t                          since;      /* monotonic ms */
    ngx_msec_t                          deadline;   /* monotonic ms */
    time_t                              started;    /* unix s */
    ngx_uint_t                          hold;       /* at most held */
    ngx_atomic_t                        held;       /* now, every worker */
    ngx_atomic_t                        held_total; /* by this handoff */
    ngx_uint_t                          in_flight_at_start;
    ngx_http_strangler_sh_writes_t    *from;
    ngx_http_strangler_sh_writes_t    *to;
    /* a reload's (pid 0): the configuration whose table moved the owner */
    ngx_uint_t                          gen;
} ngx_http_strangler_sh_handoff_t;


/* set in a backend's count of writes while a reload's handoff commits */
#define NGX_HTTP_STRANGLER_HANDOFF_FENCE                                     \
    ((ngx_atomic_uint_t) 1 << (sizeof(ngx_atomic_uint_t) * 8 - 2))


/* every handoff of the zone, for the metrics */
typedef struct ngx_http_strangler_sh_handoffs_s {
    ngx_atomic_t                        results[
                                         NGX_HTTP_STRANGLER_HANDOFF_NRESULTS];
    ngx_atomic_t                        held;       /* writes held */
    ngx_atomic_t                        refused;    /* over `hold` */
    ngx_atomic_t                        drain_sum;  /* ms */
    ngx_atomic_t                        drain_bucket[
                                         NGX_HTTP_STRANGLER_NBUCKETS];
} ngx_http_strangler_sh_handoffs_t;


/* ngx_http_strangler_handoff.c */
char *ngx_http_strangler_handoff_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_msec_t ngx_http_strangler_handoff_drain(
    ngx_http_strangler_main_conf_t *smcf, const strangler_route_t *route);
ngx_uint_t ngx_http_strangler_handoff_hold(
    ngx_http_strangler_main_conf_t *smcf, const strangler_route_t *route);
ngx_atomic_uint_t ngx_http_strangler_handoff_seq(
    ngx_http_strangler_table_t *t);
ngx_http_strangler_sh_writes_t *ngx_http_strangler_handoff_block(
    ngx_http_strangler_binding_t *b, ngx_http_strangler_table_t *t,
    int backend);
ngx_http_strangler_sh_writes_t *ngx_http_strangler_handoff_find(
    ngx_http_strangler_binding_t *b, ngx_str_t *name);
ngx_atomic_t *ngx_http_strangler_handoff_mine(ngx_http_strangler_binding_t *b,
    ngx_http_strangler_table_t *t, ngx_http_strangler_sh_writes_t *shb,
    int backend);
ngx_uint_t ngx_http_strangler_handoff_reap(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_writes_t *shb);
ngx_int_t ngx_http_strangler_handoff_alloc_locked(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr);
ngx_uint_t ngx_http_strangler_handoff_stale(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr);
ngx_uint_t ngx_http_strangler_handoff_close(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_handoff_t *sh,
    ngx_uint_t serial, ngx_uint_t result, ngx_msec_t drained_ms);

/* ngx_http_strangler_handoff_reload.c (and _reload, _free in _zone.h) */
ngx_uint_t ngx_http_strangler_handoff_settle(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr);


#endif /* NGX_HTTP_STRANGLER_HANDOFF_H_INCLUDED_ */
