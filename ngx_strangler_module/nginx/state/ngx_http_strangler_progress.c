
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Migration progress.  The log phase counts each dispatched request as
 * served by the legacy system (the table's `default` backend) or by a new
 * service, in two zone-wide atomics; the first request of every 5-second
 * step also copies the totals into a ring of points, so that the last
 * minute and the last 10 minutes can be told from the totals without a
 * timer, a lock or anything that grows.  A step without requests has no
 * point: the totals did not move.
 *
 * A route's stage comes from the table and its override, in migration
 * order: `owned` (the owner, which gets every write, is a new service),
 * `reads` (the owner is legacy, some or all reads go to a new service: a
 * weighted split or moved reads), `shadowing` (legacy serves everything, a
 * sampled copy goes to a new service), `legacy` (the rest).
 */


#include "ngx_http_strangler_state.h"


static void ngx_http_strangler_progress_point(
    ngx_http_strangler_sh_progress_t *pr, ngx_atomic_uint_t step,
    uint64_t served[NGX_HTTP_STRANGLER_SERVED_COUNT],
    ngx_uint_t *found);
static int ngx_http_strangler_progress_backend(ngx_http_strangler_table_t *t,
    ngx_str_t *name, int fallback);


static const char  *ngx_http_strangler_stage_names[
                                           NGX_HTTP_STRANGLER_STAGE_COUNT] = {
    "legacy", "shadowing", "reads", "owned"
};


static const char  *ngx_http_strangler_served_names[
                                          NGX_HTTP_STRANGLER_SERVED_COUNT] = {
    "legacy", "new"
};


/* the log phase: one compare and one atomic add, a copy once a step */

void
ngx_http_strangler_progress_count(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_table_t *t, int backend)
{
    ngx_uint_t                            k, who;
    ngx_atomic_uint_t                     step, newest;
    ngx_http_strangler_sh_progress_t     *pr;
    ngx_http_strangler_progress_point_t  *pt;

    pr = &z->sh->progress;

    who = (backend == t->core->default_backend)
          ? NGX_HTTP_STRANGLER_SERVED_LEGACY : NGX_HTTP_STRANGLER_SERVED_NEW;

    step = ngx_time() / NGX_HTTP_STRANGLER_PROGRESS_STEP;
    newest = pr->step;

    /* one process wins the step; a process behind in time never writes */
    if (step > newest && ngx_atomic_cmp_set(&pr->step, newest, step)) {
        pt = &pr->points[step % NGX_HTTP_STRANGLER_PROGRESS_POINTS];

        pt->step = 0;
        ngx_memory_barrier();

        for (k = 0; k < NGX_HTTP_STRANGLER_SERVED_COUNT; k++) {
            pt->served[k] = pr->served[k];
        }

        ngx_memory_barrier();
        pt->step = step;
    }

    (void) ngx_atomic_fetch_add(&pr->served[who], 1);
}


/* the figures of one table's routes, and the zone's requests */

ngx_int_t
ngx_http_strangler_progress_figures(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_table_t *t, ngx_pool_t *pool,
    ngx_http_strangler_progress_t *p)
{
    size_t                              i;
    uint64_t                            base[NGX_HTTP_STRANGLER_SERVED_COUNT];
    ngx_uint_t                          k, stage, split, found;
    ngx_atomic_uint_t                   step, from;
    ngx_http_strangler_sh_progress_t   *pr;
    ngx_http_strangler_override_rec_t   ov;

    ngx_memzero(p, sizeof(ngx_http_strangler_progress_t));

    for (i = 0; i < t->core->nroutes; i++) {
        if (ngx_http_strangler_progress_override(z, t->bindings[i].shr, &ov,
                                                 pool)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        stage = ngx_http_strangler_route_stage(t, &t->core->routes[i], &ov,
                                               &split);
        p->routes[stage]++;
        p->split += split;
        p->overridden += (ov.reads.len || ov.owner.len || ov.sample_ppm >= 0);
    }

    pr = &z->sh->progress;

    p->now = ngx_time();
    p->started = pr->started;

    for (k = 0; k < NGX_HTTP_STRANGLER_SERVED_COUNT; k++) {
        p->total[k] = pr->served[k];
        base[k] = 0;
    }

    /*
     * The last minute starts with the step a minute ago: the totals then
     * are those of the first point since, or today's when there is none.
     */
    step = p->now / NGX_HTTP_STRANGLER_PROGRESS_STEP;
    from = step - NGX_HTTP_STRANGLER_PROGRESS_MINUTE;

    if ((time_t) (from * NGX_HTTP_STRANGLER_PROGRESS_STEP) <= p->started) {
        p->minute_seconds = p->now - p->started;

    } else {
        p->minute_seconds = p->now
                            - (time_t) from * NGX_HTTP_STRANGLER_PROGRESS_STEP;
        found = 0;

        for ( /* void */ ; from <= step && !found; from++) {
            ngx_http_strangler_progress_point(pr, from, base, &found);
        }

        if (!found) {
            ngx_memcpy(base, p->total, sizeof(base));
        }
    }

    for (k = 0; k < NGX_HTTP_STRANGLER_SERVED_COUNT; k++) {
        p->minute[k] = (p->total[k] > base[k]) ? p->total[k] - base[k] : 0;
    }

    return NGX_OK;
}


/*
 * Requests per step over the last POINTS steps, oldest first, into
 * served[POINTS]; *first is the time the oldest step starts.
 */

ngx_uint_t
ngx_http_strangler_progress_history(ngx_http_strangler_zone_ctx_t *z,
    uint64_t served[][NGX_HTTP_STRANGLER_SERVED_COUNT], time_t *first)
{
    uint64_t                           next[NGX_HTTP_STRANGLER_SERVED_COUNT];
    uint64_t                           at[NGX_HTTP_STRANGLER_SERVED_COUNT];
    ngx_uint_t                         i, k, found;
    ngx_atomic_uint_t                  step, oldest;
    ngx_http_strangler_sh_progress_t  *pr;

    pr = &z->sh->progress;

    step = ngx_time() / NGX_HTTP_STRANGLER_PROGRESS_STEP;
    oldest = step - (NGX_HTTP_STRANGLER_PROGRESS_POINTS - 1);
    *first = (time_t) oldest * NGX_HTTP_STRANGLER_PROGRESS_STEP;

    for (k = 0; k < NGX_HTTP_STRANGLER_SERVED_COUNT; k++) {
        next[k] = pr->served[k];
    }

    /* from the newest: a step's requests are the next step's totals less
     * its own; a step without a point had none */
    for (i = NGX_HTTP_STRANGLER_PROGRESS_POINTS; i-- > 0; /* void */ ) {
        ngx_http_strangler_progress_point(pr, oldest + i, at, &found);

        for (k = 0; k < NGX_HTTP_STRANGLER_SERVED_COUNT; k++) {
            served[i][k] = (found && next[k] > at[k]) ? next[k] - at[k] : 0;

            if (found) {
                next[k] = at[k];
            }
        }
    }

    return NGX_HTTP_STRANGLER_PROGRESS_POINTS;
}


/* a point's totals, if the ring still holds that step's point */

static void
ngx_http_strangler_progress_point(ngx_http_strangler_sh_progress_t *pr,
    ngx_atomic_uint_t step, uint64_t served[NGX_HTTP_STRANGLER_SERVED_COUNT],
    ngx_uint_t *found)
{
    ngx_uint_t                            k;
    ngx_http_strangler_progress_point_t  *pt;

    pt = &pr->points[step % NGX_HTTP_STRANGLER_PROGRESS_POINTS];
    *found = 0;

    if (pt->step != step) {
        return;
    }

    for (k = 0; k < NGX_HTTP_STRANGLER_SERVED_COUNT; k++) {
        served[k] = pt->served[k];
    }

    ngx_memory_barrier();

    /* rewritten meanwhile: a newer step's totals, not this one's */
    *found = (pt->step == step);
}


/* a route's override, or none; the mutex only for a route that has one */

ngx_int_t
ngx_http_strangler_progress_override(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_http_strangler_override_rec_t *ov,
    ngx_pool_t *pool)
{
    if (shr->override == NULL) {
        ngx_memzero(ov, sizeof(ngx_http_strangler_override_rec_t));
        ov->sample_ppm = -1;

        return NGX_OK;
    }

    if (ngx_http_strangler_override_read(z, shr, ov, pool) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* see the top of the file; *split: reads go to both sides */

ngx_uint_t
ngx_http_strangler_route_stage(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_override_rec_t *ov,
    ngx_uint_t *split)
{
    int                        legacy, owner, reads;
    size_t                     i;
    uint32_t                   sample;
    ngx_uint_t                 to_legacy, to_new;
    const strangler_shadow_t  *sh;

    legacy = t->core->default_backend;
    owner = ngx_http_strangler_progress_backend(t, &ov->owner, route->owner);

    to_legacy = 0;
    to_new = 0;

    if (ov->reads.len == 0 && route->nreads > 1) {
        for (i = 0; i < route->nreads; i++) {
            if (route->reads[i].weight == 0) {
                continue;
            }

            if (route->reads[i].backend == legacy) {
                to_legacy = 1;

            } else {
                to_new = 1;
            }
        }

    } else {
        reads = route->nreads ? route->reads[0].backend : owner;
        reads = ngx_http_strangler_progress_backend(t, &ov->reads, reads);

        to_legacy = (reads == legacy);
        to_new = !to_legacy;
    }

    *split = (to_legacy && to_new);

    if (owner != legacy) {
        return NGX_HTTP_STRANGLER_STAGE_OWNED;
    }

    if (to_new) {
        return NGX_HTTP_STRANGLER_STAGE_READS;
    }

    sh = &route->shadow;
    sample = (ov->sample_ppm >= 0) ? (uint32_t) ov->sample_ppm
                                   : sh->sample_ppm;

    if (sh->enabled && sample > 0 && sh->to >= 0 && sh->to != legacy) {
        return NGX_HTTP_STRANGLER_STAGE_SHADOWING;
    }

    return NGX_HTTP_STRANGLER_STAGE_LEGACY;
}


/* an override's backend by name, else the table's */

static int
ngx_http_strangler_progress_backend(ngx_http_strangler_table_t *t,
    ngx_str_t *name, int fallback)
{
    int  b;

    if (name->len == 0) {
        return fallback;
    }

    b = strangler_backend_find(t->core, (char *) name->data, name->len);

    return (b >= 0) ? b : fallback;
}


const char *
ngx_http_strangler_stage_name(ngx_uint_t stage)
{
    return (stage < NGX_HTTP_STRANGLER_STAGE_COUNT)
           ? ngx_http_strangler_stage_names[stage] : "-";
}


const char *
ngx_http_strangler_served_name(ngx_uint_t served)
{
    return (served < NGX_HTTP_STRANGLER_SERVED_COUNT)
           ? ngx_http_strangler_served_names[served] : "-";
}


/*
 * The zone's init, with the mutex held: since when the table has moved a
 * route's reads (the readiness plan's evidence), kept over reloads.
 */

void
ngx_http_strangler_progress_bind(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_sh_route_t *shr)
{
    ngx_uint_t                         stage, split;
    ngx_http_strangler_override_rec_t  none;

    ngx_memzero(&none, sizeof(ngx_http_strangler_override_rec_t));
    none.sample_ppm = -1;

    stage = ngx_http_strangler_route_stage(t, route, &none, &split);

    if (stage < NGX_HTTP_STRANGLER_STAGE_READS || split) {
        shr->reads_moved = 0;

    } else if (shr->reads_moved == 0) {
        shr->reads_moved = ngx_time();
    }
}
