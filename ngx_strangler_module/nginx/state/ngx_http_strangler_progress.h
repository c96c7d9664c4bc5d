
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Migration progress: where each route stands, and the share of requests
 * new services serve.  The legacy system is the table's `default` backend;
 * every other backend is a new service.
 */


#ifndef NGX_HTTP_STRANGLER_PROGRESS_H_INCLUDED_
#define NGX_HTTP_STRANGLER_PROGRESS_H_INCLUDED_


#include "ngx_http_strangler.h"


/* the history: one point a STEP seconds, POINTS of them (10 minutes) */
#define NGX_HTTP_STRANGLER_PROGRESS_STEP    5
#define NGX_HTTP_STRANGLER_PROGRESS_POINTS  120
#define NGX_HTTP_STRANGLER_PROGRESS_MINUTE                                 \
    (60 / NGX_HTTP_STRANGLER_PROGRESS_STEP)


/* who served a request */
typedef enum {
    NGX_HTTP_STRANGLER_SERVED_LEGACY = 0,
    NGX_HTTP_STRANGLER_SERVED_NEW,
    NGX_HTTP_STRANGLER_SERVED_COUNT
} ngx_http_strangler_served_e;


/* where a route stands, in migration order */
typedef enum {
    NGX_HTTP_STRANGLER_STAGE_LEGACY = 0,
    NGX_HTTP_STRANGLER_STAGE_SHADOWING,
    NGX_HTTP_STRANGLER_STAGE_READS,
    NGX_HTTP_STRANGLER_STAGE_OWNED,
    NGX_HTTP_STRANGLER_STAGE_COUNT
} ngx_http_strangler_stage_e;


/* the totals when the first request of a step was counted */
typedef struct {
    ngx_atomic_t                    step;   /* time / STEP; 0: none */
    ngx_atomic_t                    served[NGX_HTTP_STRANGLER_SERVED_COUNT];
} ngx_http_strangler_progress_point_t;


/* in the zone */
typedef struct {
    time_t                          started;
    ngx_atomic_t                    served[NGX_HTTP_STRANGLER_SERVED_COUNT];
    ngx_atomic_t                    step;   /* of the newest point */
    ngx_http_strangler_progress_point_t
                                    points[NGX_HTTP_STRANGLER_PROGRESS_POINTS];
} ngx_http_strangler_sh_progress_t;


/* the figures, as the API and the metrics report them */
typedef struct {
    ngx_uint_t                      routes[NGX_HTTP_STRANGLER_STAGE_COUNT];
    ngx_uint_t                      split;       /* reads partly moved */
    ngx_uint_t                      overridden;
    uint64_t                        total[NGX_HTTP_STRANGLER_SERVED_COUNT];
    uint64_t                        minute[NGX_HTTP_STRANGLER_SERVED_COUNT];
    time_t                          minute_seconds;  /* what it covers */
    time_t                          started;
    time_t                          now;
} ngx_http_strangler_progress_t;


#endif /* NGX_HTTP_STRANGLER_PROGRESS_H_INCLUDED_ */
