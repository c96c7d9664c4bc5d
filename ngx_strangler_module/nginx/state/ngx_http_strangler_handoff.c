/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The shared memory of a handoff (ngx_http_strangler_handoff.h): per route
 * and backend, the writes in flight over every process, each process's
 * share in a ledger entry (so that the writes of a process that died can
 * be let go), the route's handoff and its end; `strangler_handoff`.  The
 * request side is request/ngx_http_strangler_handoff_hold.c, the API's
 * api/ngx_http_strangler_handoff_api.c, a reload's
 * ngx_http_strangler_handoff_reload.c.
 */


#include "ngx_http_strangler_handoff.h"


/*
 * A process's share of a route's writes in flight at a backend: when the
 * process dies (killed, crashed), its writes never end and their count is
 * taken back from the total by whoever drains that backend next.
 */
typedef struct ngx_http_strangler_sh_ledger_s {
    struct ngx_http_strangler_sh_ledger_s  *next;
    ngx_pid_t                           pid;
    ngx_atomic_t                        writes;
} ngx_http_strangler_sh_ledger_t;


const char  *ngx_http_strangler_handoff_results[] = {
    "moved",
    "timed_out",
    "failed",
    "abandoned",
};


/* strangler_handoff drain=5s hold=1024; */

char *
ngx_http_strangler_handoff_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_strangler_main_conf_t *smcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value, v;
    ngx_uint_t   i;
    ngx_msec_t   ms;

    if (smcf->handoff_drain != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    smcf->handoff_drain = NGX_HTTP_STRANGLER_HANDOFF_DRAIN;
    smcf->handoff_hold = NGX_HTTP_STRANGLER_HANDOFF_HOLD;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "drain=", 6) == 0) {
            v.data = value[i].data + 6;
            v.len = value[i].len - 6;

            ms = ngx_parse_time(&v, 0);

            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0 || ms > 600000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "strangler_handoff: \"%V\": the drain "
                                   "must be a time from 1ms to 10m",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            smcf->handoff_drain = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "hold=", 5) == 0) {
            n = ngx_atoi(value[i].data + 5, value[i].len - 5);

            if (n == NGX_ERROR || n > 1000000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "strangler_handoff: \"%V\": hold must be "
                                   "an integer from 0 to 1000000",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            smcf->handoff_hold = (ngx_uint_t) n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "strangler_handoff: unknown parameter \"%V\": "
                           "use drain=5s and hold=1024", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_msec_t
ngx_http_strangler_handoff_drain(ngx_http_strangler_main_conf_t *smcf,
    const strangler_route_t *route)
{
    if (route->handoff.drain_ms) {
        return route->handoff.drain_ms;
    }

    return smcf->handoff_drain != NGX_CONF_UNSET_MSEC
           ? smcf->handoff_drain : NGX_HTTP_STRANGLER_HANDOFF_DRAIN;
}


ngx_uint_t
ngx_http_strangler_handoff_hold(ngx_http_strangler_main_conf_t *smcf,
    const strangler_route_t *route)
{
    if (route->handoff.has_hold) {
        return route->handoff.hold;
    }

    return smcf->handoff_hold != NGX_CONF_UNSET_UINT
           ? smcf->handoff_hold : NGX_HTTP_STRANGLER_HANDOFF_HOLD;
}


/* read before a decision: 0 without a zone */

ngx_atomic_uint_t
ngx_http_strangler_handoff_seq(ngx_http_strangler_table_t *t)
{
    if (t->bindings == NULL) {
        return 0;
    }

    return t->bindings[0].zone->sh->handoff_seq;
}


/*
 * This process's ledger entry for a route's backend, made once: one of a
 * dead process, with nothing left in flight, is reused.
 */

ngx_atomic_t *
ngx_http_strangler_handoff_mine(ngx_http_strangler_binding_t *b,
    ngx_http_strangler_table_t *t, ngx_http_strangler_sh_writes_t *shb,
    int backend)
{
    ngx_slab_pool_t                 *shpool;
    ngx_http_strangler_sh_ledger_t  *e;

    if (shb == NULL) {
        return NULL;
    }

    if (b->mine == NULL) {
        b->mine = ngx_pcalloc(ngx_cycle->pool,
                              t->core->nbackends * sizeof(ngx_atomic_t *));
        if (b->mine == NULL) {
            return NULL;
        }
    }

    shpool = b->zone->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    for (e = shb->ledger; e; e = e->next) {
        if (e->pid == ngx_pid
            || (e->writes == 0 && !ngx_http_strangler_zone_is_alive(e->pid)))
        {
            e->pid = ngx_pid;
            break;
        }
    }

    if (e == NULL) {
        e = ngx_slab_calloc_locked(shpool,
                                   sizeof(ngx_http_strangler_sh_ledger_t));
        if (e) {
            e->pid = ngx_pid;
            e->next = shb->ledger;
            shb->ledger = e;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (e == NULL) {
        ngx_http_strangler_zone_full(b->zone,
                     ngx_http_strangler_zone_block(
                         sizeof(ngx_http_strangler_sh_ledger_t)),
                     ngx_cycle->log);
        return NULL;
    }

    b->mine[backend] = &e->writes;

    return &e->writes;
}


/*
 * The writes of processes that died, taken back from a backend's count:
 * they will never end.  Returns how many.
 */

ngx_uint_t
ngx_http_strangler_handoff_reap(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_writes_t *shb)
{
    ngx_uint_t                       n;
    ngx_http_strangler_sh_ledger_t  *e;

    n = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    for (e = shb->ledger; e; e = e->next) {
        if (e->writes == 0 || e->pid == ngx_pid
            || ngx_http_strangler_zone_is_alive(e->pid))
        {
            continue;
        }

        n += e->writes;
        (void) ngx_atomic_fetch_add(&shb->writes, -e->writes);
        e->writes = 0;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (n) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "strangler: %ui writes in flight at \"%V\" belonged "
                      "to processes that are gone: no longer waited for",
                      n, &shb->name);
    }

    return n;
}


/*
 * A route's block of writes in flight at a backend: found in this
 * process's cache, else found or added in the zone once (under the mutex),
 * filled in before it is linked.
 */

ngx_http_strangler_sh_writes_t *
ngx_http_strangler_handoff_block(ngx_http_strangler_binding_t *b,
    ngx_http_strangler_table_t *t, int backend)
{
    size_t                           n;
    ngx_http_strangler_sh_writes_t  *w;

    if (backend < 0 || (size_t) backend >= t->core->nbackends) {
        return NULL;
    }

    if (b->writes && b->writes[backend]) {
        return b->writes[backend];
    }

    w = ngx_http_strangler_handoff_find(b, &t->backend_names[backend]);

    if (w == NULL || ngx_process != NGX_PROCESS_WORKER) {
        /* the master's cycle changes: no cache there */
        return w;
    }

    if (b->writes == NULL) {
        /* this process's, for its life */
        n = t->core->nbackends;
        b->writes = ngx_pcalloc(ngx_cycle->pool, n * sizeof(void *));

        if (b->writes == NULL) {
            return w;
        }
    }

    b->writes[backend] = w;

    return w;
}


/* the block for a backend's name, found or added; not cached */

ngx_http_strangler_sh_writes_t *
ngx_http_strangler_handoff_find(ngx_http_strangler_binding_t *b,
    ngx_str_t *name)
{
    size_t                           size;
    ngx_slab_pool_t                 *shpool;
    ngx_http_strangler_sh_writes_t  *w;

    shpool = b->zone->shpool;
    size = sizeof(ngx_http_strangler_sh_writes_t) + name->len;

    ngx_shmtx_lock(&shpool->mutex);

    for (w = b->shr->writes; w; w = w->next) {
        if (w->name.len == name->len
            && ngx_strncmp(w->name.data, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (w == NULL) {
        w = ngx_slab_calloc_locked(shpool, size);
        if (w) {
            w->name.data = (u_char *) (w + 1);
            w->name.len = name->len;
            ngx_memcpy(w->name.data, name->data, name->len);

            w->next = b->shr->writes;
            ngx_memory_barrier();
            b->shr->writes = w;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (w == NULL) {
        ngx_http_strangler_zone_full(b->zone,
                                     ngx_http_strangler_zone_block(size),
                                     ngx_cycle->log);
    }

    return w;
}


/* the route's blocks are freed: mutex held */

void
ngx_http_strangler_handoff_free(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr)
{
    ngx_http_strangler_sh_writes_t  *w, *wn;
    ngx_http_strangler_sh_ledger_t  *e, *en;

    for (w = shr->writes; w; w = wn) {
        wn = w->next;

        for (e = w->ledger; e; e = en) {
            en = e->next;
            ngx_slab_free_locked(z->shpool, e);
        }

        ngx_slab_free_locked(z->shpool, w);
    }

    shr->writes = NULL;

    if (shr->handoff) {
        ngx_slab_free_locked(z->shpool, shr->handoff);
        shr->handoff = NULL;
    }
}


/*
 * A handoff whose driving worker died (killed, crashed) would hold the
 * route's writes for ever: the first worker to notice ends it, owner
 * unchanged.  A live driver always ends its own.  1: it ended.
 */

ngx_uint_t
ngx_http_strangler_handoff_stale(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr)
{
    ngx_pid_t                         pid;
    ngx_uint_t                        serial;
    ngx_http_strangler_sh_handoff_t  *sh;

    sh = shr->handoff;

    if (sh == NULL || sh->state != NGX_HTTP_STRANGLER_HANDOFF_DRAINING) {
        return 1;
    }

    pid = sh->pid;
    serial = sh->serial;

    /* a reload's has no driver (pid 0): see _handoff_reload.c */

    if (pid == 0 || pid == ngx_pid || ngx_http_strangler_zone_is_alive(pid)) {
        return 0;
    }

    if (ngx_http_strangler_handoff_close(z, sh, serial,
                                         NGX_HTTP_STRANGLER_HANDOFF_ABANDONED,
                                         0))
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "strangler: route \"%V\": the handoff from \"%V\" to "
                      "\"%V\" was abandoned by process %P, which is gone: "
                      "the owner stays \"%V\"", &shr->name, &sh->from->name,
                      &sh->to->name, pid, &sh->from->name);
    }

    return 1;
}


/*
 * End a handoff (the one numbered `serial` only): writes are no longer
 * held, and the result is counted.  1: this call ended it.
 */

ngx_uint_t
ngx_http_strangler_handoff_close(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_handoff_t *sh, ngx_uint_t serial,
    ngx_uint_t result, ngx_msec_t drained_ms)
{
    ngx_uint_t                         i, closed;
    ngx_http_strangler_sh_handoffs_t  *stats;

    closed = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    if (sh->serial == serial
        && sh->state == NGX_HTTP_STRANGLER_HANDOFF_DRAINING)
    {
        (void) ngx_atomic_fetch_add(&sh->state, -1);
        (void) ngx_atomic_fetch_add(&z->sh->handoff_seq, 1);
        closed = 1;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    stats = z->sh->handoffs;

    if (!closed || stats == NULL) {
        return closed;
    }

    (void) ngx_atomic_fetch_add(&stats->results[result], 1);

    if (result == NGX_HTTP_STRANGLER_HANDOFF_MOVED) {
        for (i = 0; i < NGX_HTTP_STRANGLER_NBUCKETS - 1; i++) {
            if (drained_ms <= ngx_http_strangler_time_bounds[i]) {
                break;
            }
        }

        (void) ngx_atomic_fetch_add(&stats->drain_bucket[i], 1);
        (void) ngx_atomic_fetch_add(&stats->drain_sum, drained_ms);
    }

    return closed;
}


/* the route's handoff block, and the zone's counters; mutex held */

ngx_int_t
ngx_http_strangler_handoff_alloc_locked(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr)
{
    if (z->sh->handoffs == NULL) {
        z->sh->handoffs = ngx_slab_calloc_locked(z->shpool,
                                    sizeof(ngx_http_strangler_sh_handoffs_t));
        if (z->sh->handoffs == NULL) {
            return NGX_ERROR;
        }
    }

    if (shr->handoff == NULL) {
        shr->handoff = ngx_slab_calloc_locked(z->shpool,
                                     sizeof(ngx_http_strangler_sh_handoff_t));
        if (shr->handoff == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}

