/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A reload whose table moves a route's owner is a handoff too.  When the
 * new configuration binds the zone, a route whose table owner changed
 * (and that no override's owner masks) starts draining: the new workers
 * hold its writes; the old workers, which still run the old table, send
 * theirs on to the old owner, counted, and the drain waits for them.  No
 * worker drives it: the first to find the old owner's count at zero fences
 * the count (so that an old worker's write cannot slip in), commits, and
 * the held writes go to the new owner; old workers send later writes of
 * the route to the new owner too.  Past `drain`, the new table's owner
 * takes the writes anyway (the table is loaded): logged, counted as
 * timed_out.
 */


#include "ngx_http_strangler_handoff.h"


static ngx_str_t *ngx_http_strangler_handoff_old_owner(
    ngx_http_strangler_zone_ctx_t *oz, ngx_http_strangler_table_t *t,
    const strangler_route_t *route);
static void ngx_http_strangler_handoff_reload_route(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_binding_t *b,
    const strangler_route_t *route, ngx_http_strangler_sh_writes_t *from,
    ngx_http_strangler_sh_writes_t *to, ngx_log_t *log);


/*
 * The zone is bound to the new configuration; `oz`, the old one's, still
 * has its tables: a route whose table owner differs is handed off.
 */

ngx_int_t
ngx_http_strangler_handoff_reload(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_zone_ctx_t *oz, ngx_log_t *log)
{
    size_t                             r;
    ngx_str_t                         *old, *now;
    ngx_uint_t                         i;
    strangler_route_t                 *route;
    ngx_http_strangler_table_t       **tables, *t;
    ngx_http_strangler_binding_t      *b;
    ngx_http_strangler_sh_writes_t    *from, *to;

    tables = z->smcf->tables.elts;

    for (i = 0; i < z->smcf->tables.nelts; i++) {
        t = tables[i];

        for (r = 0; r < t->core->nroutes; r++) {
            route = &t->core->routes[r];
            b = &t->bindings[r];

            old = ngx_http_strangler_handoff_old_owner(oz, t, route);
            now = &t->backend_names[route->owner];

            if (old == NULL
                || (old->len == now->len
                    && ngx_strncmp(old->data, now->data, now->len) == 0))
            {
                continue;
            }

            /* blocks only for the routes whose owner moves */

            from = ngx_http_strangler_handoff_find(b, old);
            to = ngx_http_strangler_handoff_find(b, now);

            if (from == NULL || to == NULL) {
                /* the zone is full: said already */
                return NGX_ERROR;
            }

            ngx_http_strangler_handoff_reload_route(z, b, route, from, to,
                                                    log);
        }
    }

    return NGX_OK;
}


/* the owner the old configuration's table names for the route, or NULL */

static ngx_str_t *
ngx_http_strangler_handoff_old_owner(ngx_http_strangler_zone_ctx_t *oz,
    ngx_http_strangler_table_t *t, const strangler_route_t *route)
{
    ngx_uint_t                    i;
    const strangler_route_t      *old;
    ngx_http_strangler_table_t  **tables;

    tables = oz->smcf->tables.elts;

    for (i = 0; i < oz->smcf->tables.nelts; i++) {
        if (tables[i]->file.len != t->file.len
            || ngx_strncmp(tables[i]->file.data, t->file.data, t->file.len))
        {
            continue;
        }

        old = strangler_route_find(tables[i]->core, route->name.data,
                                   route->name.len);

        return old ? &tables[i]->backend_names[old->owner] : NULL;
    }

    return NULL;
}


static void
ngx_http_strangler_handoff_reload_route(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_binding_t *b, const strangler_route_t *route,
    ngx_http_strangler_sh_writes_t *from, ngx_http_strangler_sh_writes_t *to,
    ngx_log_t *log)
{
    ngx_http_strangler_sh_route_t    *shr;
    ngx_http_strangler_sh_handoff_t  *sh;

    shr = b->shr;

    ngx_shmtx_lock(&z->shpool->mutex);

    if (shr->override && shr->override->owner.len) {
        /* the override's owner gets the writes, before and after */
        ngx_shmtx_unlock(&z->shpool->mutex);
        return;
    }

    if (ngx_http_strangler_handoff_alloc_locked(z, shr) != NGX_OK) {
        ngx_shmtx_unlock(&z->shpool->mutex);

        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "strangler: route \"%V\": no room in the zone for the "
                      "handoff of its writes from \"%V\" to \"%V\": the "
                      "owner moves without one", &shr->name, &from->name,
                      &to->name);
        return;
    }

    sh = shr->handoff;

    if (sh->state == NGX_HTTP_STRANGLER_HANDOFF_DRAINING) {
        ngx_shmtx_unlock(&z->shpool->mutex);

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "strangler: route \"%V\": the new table moves its "
                      "owner from \"%V\" to \"%V\" while another handoff "
                      "drains: no handoff for the reload", &shr->name,
                      &from->name, &to->name);
        return;
    }

    sh->serial++;
    sh->pid = 0;
    sh->gen = z->gen;
    sh->since = ngx_current_msec;
    sh->deadline = sh->since + ngx_http_strangler_handoff_drain(z->smcf,
                                                                route);
    sh->started = ngx_time();
    sh->hold = ngx_http_strangler_handoff_hold(z->smcf, route);
    sh->held_total = 0;
    sh->from = from;
    sh->to = to;

    (void) ngx_atomic_fetch_add(&sh->state, 1);
    (void) ngx_atomic_fetch_add(&z->sh->handoff_seq, 1);

    sh->in_flight_at_start = from->writes;

    ngx_shmtx_unlock(&z->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "strangler: route \"%V\": the new table moves its owner "
                  "from \"%V\" to \"%V\": a handoff, writes held while %ui "
                  "in flight drain", &shr->name, &from->name, &to->name,
                  sh->in_flight_at_start);
}


/*
 * A reload's handoff: ended here once the old owner's writes are done, or
 * its time is up.  1: it has ended.
 */

ngx_uint_t
ngx_http_strangler_handoff_settle(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr)
{
    ngx_uint_t                        serial, result;
    ngx_msec_t                        ms;
    ngx_http_strangler_sh_handoff_t  *sh;

    sh = shr->handoff;

    if (sh == NULL || sh->state != NGX_HTTP_STRANGLER_HANDOFF_DRAINING) {
        return 1;
    }

    serial = sh->serial;
    ms = ngx_current_msec - sh->since;

    if (sh->from->writes) {
        (void) ngx_http_strangler_handoff_reap(z, sh->from);
    }

    /* no write of an old worker may start between the check and the end */

    if (ngx_atomic_cmp_set(&sh->from->writes, 0,
                           NGX_HTTP_STRANGLER_HANDOFF_FENCE))
    {
        result = NGX_HTTP_STRANGLER_HANDOFF_MOVED;

        if (ngx_http_strangler_handoff_close(z, sh, serial, result, ms)) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "strangler: route \"%V\": handoff from \"%V\" to "
                          "\"%V\" of the reload done: drained in %Mms",
                          &shr->name, &sh->from->name, &sh->to->name, ms);
        }

        (void) ngx_atomic_fetch_add(&sh->from->writes,
                                    - NGX_HTTP_STRANGLER_HANDOFF_FENCE);
        return 1;
    }

    if ((ngx_msec_int_t) (ngx_current_msec - sh->deadline) < 0) {
        return 0;
    }

    result = NGX_HTTP_STRANGLER_HANDOFF_TIMED_OUT;

    if (ngx_http_strangler_handoff_close(z, sh, serial, result, ms)) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "strangler: route \"%V\": the writes of \"%V\" did not "
                      "drain in %Mms after the reload: %uA still running; "
                      "the new table's owner \"%V\" takes the writes",
                      &shr->name, &sh->from->name, ms, sh->from->writes,
                      &sh->to->name);
    }

    return 1;
}
