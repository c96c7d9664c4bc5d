/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The request side of a handoff.  A write dispatched to its owner counts
 * itself in flight on its route's block for that backend, in the zone
 * (one atomic add on a block the route's index finds), until the request
 * ends.  While a handoff of its route drains, a write is held instead: it
 * waits in this process's queue for the route, neither forwarded nor
 * refused, and is decided again, in arrival order, once the handoff ends.
 *
 * The count and the handoff's start meet like Dekker's flags: a write adds
 * itself, then looks at the zone's handoff sequence; a handoff marks the
 * route draining and moves the sequence, then reads the count.  Either the
 * handoff sees the write, or the write sees the handoff.  The sequence is
 * read before the decision too, so a decision made on an owner a handoff
 * has since replaced is made again.
 */


#include "ngx_http_strangler_module.h"
#include "ngx_http_strangler_handoff.h"


/* a process's writes held for one route, in arrival order */
typedef struct ngx_http_strangler_held_s {
    ngx_queue_t                         requests;
    ngx_event_t                         poll;
    ngx_http_strangler_table_t         *table;
    ngx_http_strangler_binding_t       *binding;
} ngx_http_strangler_held_t;


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


/* a write counted: the cleanup that ends it */
typedef struct {
    ngx_http_strangler_sh_writes_t    *shb;
    ngx_atomic_t                       *mine;
} ngx_http_strangler_counted_t;


typedef struct {
    ngx_queue_t                         queue;
    ngx_http_request_t                 *r;
    ngx_http_strangler_sh_handoff_t    *sh;
    unsigned                            queued:1;
} ngx_http_strangler_held_req_t;


static ngx_uint_t ngx_http_strangler_handoff_is_older(
    ngx_http_strangler_binding_t *b, ngx_http_strangler_sh_handoff_t *sh);
static ngx_int_t ngx_http_strangler_handoff_reroute(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, ngx_http_strangler_binding_t *b);
static ngx_int_t ngx_http_strangler_handoff_count(ngx_http_request_t *r,
    ngx_http_strangler_sh_writes_t *shb, ngx_atomic_t *mine);
static ngx_atomic_t *ngx_http_strangler_handoff_mine(
    ngx_http_strangler_binding_t *b, ngx_http_strangler_table_t *t,
    ngx_http_strangler_sh_writes_t *shb, int backend);
static void ngx_http_strangler_handoff_uncount(void *data);
static ngx_int_t ngx_http_strangler_handoff_hold_write(ngx_http_request_t *r,
    ngx_http_strangler_binding_t *b, ngx_http_strangler_sh_handoff_t *sh);
static ngx_int_t ngx_http_strangler_handoff_refuse(ngx_http_request_t *r,
    ngx_http_strangler_zone_ctx_t *z);
static ngx_http_strangler_held_t *ngx_http_strangler_handoff_held(
    ngx_http_strangler_table_t *t, ngx_http_strangler_binding_t *b);
static void ngx_http_strangler_handoff_poll(ngx_event_t *ev);
static void ngx_http_strangler_handoff_release(ngx_http_strangler_held_t *h);
static void ngx_http_strangler_handoff_unhold(void *data);


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
 * A write decided: NGX_OK, counted in flight, go on; NGX_AGAIN, a handoff
 * moved since `seq` was read, decide again; NGX_DONE, held; or a status.
 */

ngx_int_t
ngx_http_strangler_handoff_write(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, ngx_atomic_uint_t seq)
{
    ngx_int_t                         rc;
    ngx_atomic_t                     *mine;
    ngx_atomic_uint_t                 prev;
    strangler_decision_t             *d;
    ngx_http_strangler_table_t       *t;
    ngx_http_strangler_binding_t     *b;
    ngx_http_strangler_sh_writes_t  *shb;
    ngx_http_strangler_sh_handoff_t  *sh;

    d = &ctx->decision;
    t = ctx->table;

    if (!d->write || d->route == NULL || t->bindings == NULL) {
        return NGX_OK;
    }

    b = &t->bindings[d->route->index];

    if (b->shr->handoff) {
        rc = ngx_http_strangler_handoff_reroute(r, ctx, b);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    shb = ngx_http_strangler_handoff_block(b, t, d->backend);
    mine = (b->mine && b->mine[d->backend])
           ? b->mine[d->backend]
           : ngx_http_strangler_handoff_mine(b, t, shb, d->backend);

    if (mine == NULL) {
        /* the zone is full (logged): the write goes uncounted */
        return NGX_OK;
    }

    prev = ngx_atomic_fetch_add(&shb->writes, 1);
    (*mine)++;

    sh = b->shr->handoff;

    if (b->zone->sh->handoff_seq == seq
        && !(prev & NGX_HTTP_STRANGLER_HANDOFF_FENCE)
        && (sh == NULL || sh->state == NGX_HTTP_STRANGLER_HANDOFF_IDLE
            || ngx_http_strangler_handoff_is_older(b, sh)))
    {
        return ngx_http_strangler_handoff_count(r, shb, mine);
    }

    (*mine)--;
    (void) ngx_atomic_fetch_add(&shb->writes, -1);

    if (sh && sh->state == NGX_HTTP_STRANGLER_HANDOFF_DRAINING) {

        /* a reload's handoff is ended by the workers that see it */
        if (sh->pid == 0 && ngx_http_strangler_handoff_settle(b->zone, b->shr)
            && !(prev & NGX_HTTP_STRANGLER_HANDOFF_FENCE))
        {
            return NGX_AGAIN;
        }

        return ngx_http_strangler_handoff_hold_write(r, b, sh);
    }

    return NGX_AGAIN;
}


/*
 * A worker of an older configuration than the reload whose table moved
 * the owner: while the handoff drains, its writes go on to the owner its
 * table names, counted, and the drain waits for them; once committed,
 * they go to the new owner.  1: go on as decided.
 */

static ngx_uint_t
ngx_http_strangler_handoff_is_older(ngx_http_strangler_binding_t *b,
    ngx_http_strangler_sh_handoff_t *sh)
{
    return sh->pid == 0 && sh->gen > b->zone->gen;
}


/*
 * After a reload's handoff, a worker of an older configuration sends the
 * route's writes to the owner of the newer table: NGX_OK, or a status
 * when its table has no such backend.
 */

static ngx_int_t
ngx_http_strangler_handoff_reroute(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, ngx_http_strangler_binding_t *b)
{
    size_t                            i;
    ngx_str_t                        *name;
    ngx_table_elt_t                  *h;
    ngx_http_strangler_table_t       *t;
    ngx_http_strangler_sh_handoff_t  *sh;

    sh = b->shr->handoff;

    if (sh == NULL || sh->pid != 0 || sh->gen <= b->zone->gen
        || sh->state != NGX_HTTP_STRANGLER_HANDOFF_IDLE)
    {
        return NGX_OK;
    }

    t = ctx->table;

    for (i = 0; i < t->core->nbackends; i++) {
        name = &t->backend_names[i];

        if (name->len == sh->to->name.len
            && ngx_strncmp(name->data, sh->to->name.data, name->len) == 0)
        {
            ctx->decision.backend = (int) i;
            return NGX_OK;
        }
    }

    /* this old worker's table does not know the new owner: retry */

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, "1");

    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


static ngx_int_t
ngx_http_strangler_handoff_count(ngx_http_request_t *r,
    ngx_http_strangler_sh_writes_t *shb, ngx_atomic_t *mine)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_strangler_counted_t  *w;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_strangler_counted_t));
    if (cln == NULL) {
        (*mine)--;
        (void) ngx_atomic_fetch_add(&shb->writes, -1);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w = cln->data;
    w->shb = shb;
    w->mine = mine;

    cln->handler = ngx_http_strangler_handoff_uncount;

    return NGX_OK;
}


/* the request ended: answered, aborted by its client, failed upstream */

static void
ngx_http_strangler_handoff_uncount(void *data)
{
    ngx_http_strangler_counted_t  *w = data;

    (*w->mine)--;
    (void) ngx_atomic_fetch_add(&w->shb->writes, -1);
}


/*
 * This process's ledger entry for a route's backend, made once: one of a
 * dead process, with nothing left in flight, is reused.
 */

static ngx_atomic_t *
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


static ngx_int_t
ngx_http_strangler_handoff_hold_write(ngx_http_request_t *r,
    ngx_http_strangler_binding_t *b, ngx_http_strangler_sh_handoff_t *sh)
{
    ngx_atomic_int_t                  n;
    ngx_pool_cleanup_t               *cln;
    ngx_http_strangler_ctx_t         *ctx;
    ngx_http_strangler_held_t        *h;
    ngx_http_strangler_held_req_t    *hr;
    ngx_http_strangler_sh_handoffs_t *stats;

    ctx = ngx_http_strangler_get_ctx(r);

    n = (ngx_atomic_int_t) ngx_atomic_fetch_add(&sh->held, 1);

    if (n >= (ngx_atomic_int_t) sh->hold) {
        (void) ngx_atomic_fetch_add(&sh->held, -1);
        return ngx_http_strangler_handoff_refuse(r, b->zone);
    }

    h = ngx_http_strangler_handoff_held(ctx->table, b);

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_strangler_held_req_t));

    if (h == NULL || cln == NULL) {
        (void) ngx_atomic_fetch_add(&sh->held, -1);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hr = cln->data;
    hr->r = r;
    hr->sh = sh;
    hr->queued = 1;

    cln->handler = ngx_http_strangler_handoff_unhold;

    ngx_queue_insert_tail(&h->requests, &hr->queue);

    (void) ngx_atomic_fetch_add(&sh->held_total, 1);

    stats = b->zone->sh->handoffs;
    if (stats) {
        (void) ngx_atomic_fetch_add(&stats->held, 1);
    }

    if (!h->poll.timer_set && !h->poll.posted) {
        ngx_add_timer(&h->poll, NGX_HTTP_STRANGLER_HANDOFF_POLL);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "strangler: write held by the handoff of route \"%V\"",
                   &b->shr->name);

    /* a write event must not run the phases again meanwhile */
    r->write_event_handler = ngx_http_request_empty_handler;
    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_strangler_handoff_refuse(ngx_http_request_t *r,
    ngx_http_strangler_zone_ctx_t *z)
{
    ngx_table_elt_t  *h;

    if (z->sh->handoffs) {
        (void) ngx_atomic_fetch_add(&z->sh->handoffs->refused, 1);
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "strangler: write refused: a handoff holds as many "
                  "writes as its \"hold\" allows");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, "1");

    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


static ngx_http_strangler_held_t *
ngx_http_strangler_handoff_held(ngx_http_strangler_table_t *t,
    ngx_http_strangler_binding_t *b)
{
    ngx_http_strangler_held_t  *h;

    if (b->held) {
        return b->held;
    }

    /* this process's, for its life: the cycle's pool */
    h = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_http_strangler_held_t));
    if (h == NULL) {
        return NULL;
    }

    ngx_queue_init(&h->requests);

    h->table = t;
    h->binding = b;
    h->poll.handler = ngx_http_strangler_handoff_poll;
    h->poll.data = h;
    h->poll.log = ngx_cycle->log;

    b->held = h;

    return h;
}


/* the handoff ended: release this process's writes at once */

void
ngx_http_strangler_handoff_wake(ngx_http_strangler_table_t *t,
    const strangler_route_t *route)
{
    ngx_http_strangler_held_t  *h;

    if (t->bindings == NULL || route == NULL) {
        return;
    }

    h = t->bindings[route->index].held;

    if (h == NULL || ngx_queue_empty(&h->requests) || h->poll.posted) {
        return;
    }

    if (h->poll.timer_set) {
        ngx_del_timer(&h->poll);
    }

    ngx_post_event(&h->poll, &ngx_posted_events);
}


static void
ngx_http_strangler_handoff_poll(ngx_event_t *ev)
{
    ngx_http_strangler_held_t        *h = ev->data;

    ngx_http_strangler_sh_route_t    *shr;
    ngx_http_strangler_sh_handoff_t  *sh;

    shr = h->binding->shr;
    sh = shr->handoff;

    if (sh && sh->state == NGX_HTTP_STRANGLER_HANDOFF_DRAINING
        && !(sh->pid == 0
             ? ngx_http_strangler_handoff_settle(h->binding->zone, shr)
             : ngx_http_strangler_handoff_stale(h->binding->zone, shr)))
    {
        ngx_add_timer(ev, NGX_HTTP_STRANGLER_HANDOFF_POLL);
        return;
    }

    ngx_http_strangler_handoff_release(h);
}


/* each held write decided again, in arrival order */

static void
ngx_http_strangler_handoff_release(ngx_http_strangler_held_t *h)
{
    ngx_int_t                       rc;
    ngx_queue_t                     list, *q;
    ngx_connection_t               *c;
    ngx_http_request_t             *r;
    ngx_http_strangler_held_req_t  *hr;

    /* a write held again goes to the queue, not to this list */

    ngx_queue_init(&list);

    if (!ngx_queue_empty(&h->requests)) {
        list = h->requests;
        list.next->prev = &list;
        list.prev->next = &list;
        ngx_queue_init(&h->requests);
    }

    while (!ngx_queue_empty(&list)) {
        q = ngx_queue_head(&list);
        ngx_queue_remove(q);

        hr = ngx_queue_data(q, ngx_http_strangler_held_req_t, queue);
        hr->queued = 0;
        (void) ngx_atomic_fetch_add(&hr->sh->held, -1);

        r = hr->r;
        c = r->connection;

        r->write_event_handler = ngx_http_core_run_phases;

        rc = ngx_http_strangler_dispatch_handler(r);

        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }
}


/* the request ended while held (its HTTP/2 stream was reset) */

static void
ngx_http_strangler_handoff_unhold(void *data)
{
    ngx_http_strangler_held_req_t  *hr = data;

    if (hr->queued) {
        ngx_queue_remove(&hr->queue);
        hr->queued = 0;
        (void) ngx_atomic_fetch_add(&hr->sh->held, -1);
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
