
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A guard's judgement of one window (see strangler_guard.h).  Rates are
 * compared in integers: errors / requests > limit_ppm / 10^6, so a limit of
 * 0% fails on the first error and 100% never fails.
 */


#include "strangler_guard.h"


static const uint32_t  strangler_time_bounds[] = { STRANGLER_TIME_BOUNDS };


static const char  *strangler_guard_verdicts[STRANGLER_GUARD_NVERDICTS] = {
    "inconclusive",             /* STRANGLER_GUARD_INCONCLUSIVE */
    "pass",                     /* STRANGLER_GUARD_PASS */
    "fail"                      /* STRANGLER_GUARD_FAIL */
};


static int32_t strangler_guard_ppm(uint64_t part, uint64_t whole);


void
strangler_guard_judge(const strangler_guard_t *guard,
    const strangler_guard_window_t *w, strangler_guard_result_t *res)
{
    size_t    i;
    uint64_t  timed;
    unsigned  judged;

    timed = 0;

    for (i = 0; i < STRANGLER_TIME_NBUCKETS; i++) {
        timed += w->time_bucket[i];
    }

    res->error_ppm = strangler_guard_ppm(w->errors, w->requests);
    res->mismatch_ppm = strangler_guard_ppm(w->mismatched, w->compared);
    res->p99_ms = strangler_guard_p99(w->time_bucket);

    res->error_over = 0;
    res->mismatch_over = 0;
    res->latency_over = 0;

    judged = 0;

    if (guard->error_ppm >= 0 && w->requests >= guard->min_requests
        && w->requests > 0)
    {
        judged = 1;
        res->error_over = (w->errors * 1000000
                           > (uint64_t) guard->error_ppm * w->requests);
    }

    if (guard->mismatch_ppm >= 0 && w->compared >= guard->min_requests
        && w->compared > 0)
    {
        judged = 1;
        res->mismatch_over = (w->mismatched * 1000000
                              > (uint64_t) guard->mismatch_ppm * w->compared);
    }

    if (guard->latency_p99_ms >= 0 && timed >= guard->min_requests
        && timed > 0)
    {
        judged = 1;
        res->latency_over = (res->p99_ms > guard->latency_p99_ms);
    }

    if (res->error_over || res->mismatch_over || res->latency_over) {
        res->verdict = STRANGLER_GUARD_FAIL;

    } else {
        res->verdict = judged ? STRANGLER_GUARD_PASS
                              : STRANGLER_GUARD_INCONCLUSIVE;
    }
}


int32_t
strangler_guard_p99(const uint64_t *buckets)
{
    size_t    i;
    double    rank, lower, upper;
    uint64_t  total, below;

    total = 0;

    for (i = 0; i < STRANGLER_TIME_NBUCKETS; i++) {
        total += buckets[i];
    }

    if (total == 0) {
        return -1;
    }

    rank = 0.99 * (double) total;
    below = 0;

    for (i = 0; i < STRANGLER_TIME_NBUCKETS - 1; i++) {
        if ((double) (below + buckets[i]) >= rank && buckets[i]) {
            lower = i ? strangler_time_bounds[i - 1] : 0;
            upper = strangler_time_bounds[i];

            return (int32_t) (lower + (upper - lower)
                                      * (rank - (double) below)
                                      / (double) buckets[i] + 0.5);
        }

        below += buckets[i];
    }

    return STRANGLER_TIME_MAX_MS;
}


const char *
strangler_guard_verdict_name(strangler_guard_verdict_t v)
{
    return strangler_guard_verdicts[v];
}


/* part / whole in ppm, rounded down; -1 when whole is 0 */

static int32_t
strangler_guard_ppm(uint64_t part, uint64_t whole)
{
    if (whole == 0) {
        return -1;
    }

    if (part >= whole) {
        return 1000000;
    }

    return (int32_t) (part * 1000000 / whole);
}
