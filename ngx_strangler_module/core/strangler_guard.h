
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Judging a guard's window: the figures of one window of reads served by a
 * non-owner (requests, 5xx, compared and mismatched shadows, the upstream
 * time histogram) against the route's `guard` limits.  Plain C: the nginx
 * glue keeps the windows in shared memory and acts on the verdict; the unit
 * tests run the same judgement.
 */


#ifndef STRANGLER_GUARD_H_INCLUDED_
#define STRANGLER_GUARD_H_INCLUDED_


#include "strangler_table.h"


/*
 * The upstream time histogram of the metrics, which the guards reuse for
 * their p99: these upper bounds in ms, then +Inf.
 */
#define STRANGLER_TIME_BOUNDS                                                 \
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
#define STRANGLER_TIME_NBUCKETS     12
#define STRANGLER_TIME_MAX_MS       10000       /* the last finite bound */

/* a guard's window: at least a second (the evaluator ticks every 100 ms) */
#define STRANGLER_GUARD_MIN_WINDOW  1000
#define STRANGLER_GUARD_MAX_WINDOW  3600000
#define STRANGLER_GUARD_MAX_FAILURES  100
#define STRANGLER_GUARD_MIN_REQUESTS  20        /* defaults */
#define STRANGLER_GUARD_FAILURES      2


typedef enum {
    STRANGLER_GUARD_INCONCLUSIVE = 0,   /* too few requests to judge */
    STRANGLER_GUARD_PASS,
    STRANGLER_GUARD_FAIL,
    STRANGLER_GUARD_NVERDICTS
} strangler_guard_verdict_t;


/* one window's figures */
typedef struct {
    uint64_t                  requests;
    uint64_t                  errors;     /* 5xx, upstream errors included */
    uint64_t                  compared;
    uint64_t                  mismatched;
    uint64_t                  time_bucket[STRANGLER_TIME_NBUCKETS];
} strangler_guard_window_t;


typedef struct {
    strangler_guard_verdict_t  verdict;
    unsigned                   error_over:1;
    unsigned                   mismatch_over:1;
    unsigned                   latency_over:1;
    int32_t                    error_ppm;     /* -1: no requests */
    int32_t                    mismatch_ppm;  /* -1: nothing compared */
    int32_t                    p99_ms;        /* -1: no upstream time */
} strangler_guard_result_t;


/*
 * Each limit is judged on its own count: error_rate on the requests,
 * mismatch_rate on the compared shadows, latency_p99 on the requests with
 * an upstream time, each only with at least min_requests of them.  The
 * window fails when a limit so judged is exceeded, passes when one was
 * judged and none is, and is inconclusive when none could be judged.
 */
void strangler_guard_judge(const strangler_guard_t *guard,
    const strangler_guard_window_t *w, strangler_guard_result_t *res);

/*
 * The 0.99 quantile of the histogram, interpolated within its bucket as
 * Prometheus' histogram_quantile() does (the +Inf bucket gives the last
 * finite bound); -1 for an empty histogram.
 */
int32_t strangler_guard_p99(const uint64_t *buckets);

const char *strangler_guard_verdict_name(strangler_guard_verdict_t v);


#endif /* STRANGLER_GUARD_H_INCLUDED_ */
