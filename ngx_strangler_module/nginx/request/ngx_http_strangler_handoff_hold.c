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


#include "ngx_http_strangler_request.h"
#include "ngx_http_strangler_handoff.h"
#include "ngx_http_strangler_handoff_hold.h"


/* a process's writes held for one route, in arrival order */
typedef struct ngx_http_strangler_held_s {
    ngx_queue_t                         requests;
    ngx_event_t                         poll;
    ngx_http_strangler_table_t         *table;
    ngx_http_strangler_binding_t       *binding;
} ngx_http_strangler_held_t;


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
