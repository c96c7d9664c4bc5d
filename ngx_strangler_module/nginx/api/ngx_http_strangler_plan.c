
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The evidence of the readiness plan, read from the zone without the
 * mutex (a route with an override reads it under the mutex, as
 * `progress` does): the route's stage; its backends' counters, served and
 * to shadow copies, added up per side (the table's `default` backend is
 * the legacy side, every other one the new side); its field statistics;
 * its guard's last trip; and since when its reads are on the new side:
 * the override's time when an override moved them, else the time the
 * zone first saw a table that moved them (kept over reloads, not over a
 * restart: the clock starts again, which only delays a proposal).
 */


#include "ngx_http_strangler_guard.h"
#include "ngx_http_strangler_plan.h"


static void ngx_http_strangler_plan_side(strangler_plan_side_t *side,
    ngx_http_strangler_counters_t *c);
static void ngx_http_strangler_plan_fields(ngx_http_strangler_sh_fields_t *f,
    ngx_http_strangler_plan_route_t *pr);
static ngx_uint_t ngx_http_strangler_plan_has_new_side(
    ngx_http_strangler_table_t *t, const strangler_route_t *route);


ngx_int_t
ngx_http_strangler_plan_evidence(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_table_t *t, size_t i, ngx_uint_t all,
    ngx_pool_t *pool, ngx_http_strangler_plan_route_t *pr)
{
    ngx_uint_t                          stage, split, side, full;
    ngx_str_t                          *legacy;
    const strangler_route_t            *route;
    strangler_plan_evidence_t          *ev;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_sh_backend_t    *shb;
    ngx_http_strangler_override_rec_t   ov;

    route = &t->core->routes[i];
    shr = t->bindings[i].shr;
    ev = &pr->ev;

    /* set field by field: zeroing it all costs more than the rest */
    ev->requests = 0;
    ev->compared = 0;
    ev->noise_compared = 0;
    ev->fields = NULL;
    ev->nfields = 0;
    ev->writes_compared = 0;
    ev->writes_mismatched = 0;
    ev->guard_tripped = 0;
    ev->reads_since = 0;

    ngx_memzero(&ov, sizeof(ngx_http_strangler_override_rec_t));
    ov.sample_ppm = -1;

    /* no block in the zone (it was full): the table's stage, no figures */

    if (shr && ngx_http_strangler_progress_override(z, shr, &ov, pool)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    pr->overridden = (ov.reads.len || ov.owner.len || ov.sample_ppm >= 0);

    /* the same order in both: ngx_http_strangler_progress.h */
    stage = ngx_http_strangler_route_stage(t, route, &ov, &split);

    ev->stage = (strangler_stage_t) stage;
    ev->split = split;
    ev->has_new_side = ngx_http_strangler_plan_has_new_side(t, route);
    ev->now = ngx_time();
    ev->noise_relative_ppm = route->shadow.noise_relative_ppm;
    ev->noise_absolute_ppm = route->shadow.noise_absolute_ppm;

    /* the rules read no more than the requests of these (the order) */
    full = all || (stage != NGX_HTTP_STRANGLER_STAGE_LEGACY
                   && stage != NGX_HTTP_STRANGLER_STAGE_OWNED);

    if (full) {
        ngx_memzero(ev->side, sizeof(ev->side));
    }

    if (shr == NULL) {
        return NGX_OK;
    }

    legacy = &t->backend_names[t->core->default_backend];

    for (shb = shr->backends; shb; shb = shb->next) {
        ev->requests += shb->counters.requests;

        if (!full) {
            continue;
        }

        side = (shb->name.len == legacy->len
                && ngx_memcmp(shb->name.data, legacy->data, legacy->len) == 0)
               ? STRANGLER_SIDE_LEGACY : STRANGLER_SIDE_NEW;

        ngx_http_strangler_plan_side(&ev->side[side], &shb->counters);
        ngx_http_strangler_plan_side(&ev->side[side], &shb->shadow);
    }

    if (!full) {
        return NGX_OK;
    }

    if (shr->fields) {
        ngx_http_strangler_plan_fields(shr->fields, pr);
    }

    if (shr->guard) {
        ev->guard_tripped = shr->guard->tripped_at;
    }

    if (ngx_http_strangler_guard_is_trip(&ov) && ov.at > ev->guard_tripped) {
        ev->guard_tripped = ov.at;
    }

    if (stage >= NGX_HTTP_STRANGLER_STAGE_READS && !split) {
        ev->reads_since = ov.reads.len ? ov.at : shr->reads_moved;

        if (ev->reads_since == 0) {
            /* moved before this zone knew: from the table's load */
            ev->reads_since = t->loaded;
        }
    }

    return NGX_OK;
}


static void
ngx_http_strangler_plan_side(strangler_plan_side_t *side,
    ngx_http_strangler_counters_t *c)
{
    ngx_uint_t  k;

    side->requests += c->requests;
    side->errors += c->status[4];

    for (k = 0; k < STRANGLER_TIME_NBUCKETS; k++) {
        side->time_bucket[k] += c->time_bucket[k];
    }
}


static void
ngx_http_strangler_plan_fields(ngx_http_strangler_sh_fields_t *f,
    ngx_http_strangler_plan_route_t *pr)
{
    ngx_uint_t                      k, n;
    strangler_plan_field_t         *pf;
    ngx_http_strangler_sh_field_t  *field;

    pr->ev.compared = f->compared;
    pr->ev.noise_compared = f->noise_compared;
    pr->ev.writes_compared = f->writes;
    pr->ev.writes_mismatched = f->writes_mismatched;

    n = ngx_min(f->nfields, NGX_HTTP_STRANGLER_FIELDS);

    for (k = 0; k < n; k++) {
        field = &f->field[k];
        pf = &pr->field[k];

        /* NUL-terminated in its slot, which a reset only zeroes */
        pf->path = (const char *) field->name;
        pf->differences = field->differences;
        pf->noise = field->noise;
        pf->first = field->differed;
    }

    pr->ev.fields = pr->field;
    pr->ev.nfields = n;
}


/* a backend of the route's other than the legacy one */

static ngx_uint_t
ngx_http_strangler_plan_has_new_side(ngx_http_strangler_table_t *t,
    const strangler_route_t *route)
{
    size_t  k;
    int     legacy;

    legacy = t->core->default_backend;

    if (route->owner != legacy
        || (route->shadow.to >= 0 && route->shadow.to != legacy))
    {
        return 1;
    }

    for (k = 0; k < route->nreads; k++) {
        if (route->reads[k].backend != legacy) {
            return 1;
        }
    }

    return 0;
}
