
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * With strangler_etcd, a route's change that applies on this host before
 * etcd has it: a guard's trip, and a rollback made while etcd is
 * unreachable (break-glass).  Both only pin reads to the table's owner.
 * The change applies here at once, in every worker, is saved in the state
 * file with "pending": "etcd", and is written to etcd when etcd answers
 * again, by one worker at a time (publish_at, taken with a compare-and-
 * set, is the lease of the worker that tries).
 *
 * What etcd says of such a route meanwhile (a change made on another host
 * while this one could not reach etcd) is judged by one rule: it replaces
 * the pending change only if it names an owner other than the table's.
 * A rollback or a trip pins reads to the owner and never moves writes, so
 * publishing it over a change of reads or of the shadow sample is always
 * safe, and the SRE who pulled the brake on a host gets what they asked
 * for on every host.  Publishing it over a change that moved the owner
 * would move writes back (an owner change is a handoff someone made on
 * purpose, with a view this host did not have): that change wins, and the
 * log and the history say so.
 */


#include "ngx_http_strangler_etcd.h"
#include "ngx_http_strangler_history.h"


#define NGX_HTTP_STRANGLER_PENDING_RETRY       1000    /* ms */
#define NGX_HTTP_STRANGLER_PENDING_PUBLISHING  10000   /* ms: a try's lease */


static void ngx_http_strangler_etcd_pending_done(
    ngx_http_strangler_etcd_change_t *ch, ngx_int_t rc);
static ngx_uint_t ngx_http_strangler_etcd_pending_same(ngx_str_t *a,
    ngx_str_t *b);


/* the change just applied to the route here is one etcd lacks */

void
ngx_http_strangler_etcd_pending_mark(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr)
{
    shr->publish_at = ngx_current_msec;
    shr->pending = 1;
    z->sh->pending = 1;
}


/*
 * From the watching worker's tick, while etcd answers: every pending
 * change due is tried.  Most ticks find the zone's flag down and walk
 * nothing.
 */

void
ngx_http_strangler_etcd_pending_tick(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    ngx_uint_t                       i, n;
    ngx_queue_t                     *q;
    ngx_http_strangler_sh_route_t   *shr, *due[16];

    if (!z->sh->pending || !z->sh->etcd->connected) {
        return;
    }

    n = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    z->sh->pending = 0;

    for (q = ngx_queue_head(&z->sh->routes);
         q != ngx_queue_sentinel(&z->sh->routes);
         q = ngx_queue_next(q))
    {
        shr = ngx_queue_data(q, ngx_http_strangler_sh_route_t, queue);

        if (!shr->pending) {
            continue;
        }

        z->sh->pending = 1;

        if (n < sizeof(due) / sizeof(due[0])) {
            due[n++] = shr;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    /* a route block with an override is never reclaimed */

    for (i = 0; i < n; i++) {
        ngx_http_strangler_etcd_pending_publish(z, due[i], log);
    }
}


/* one try of one route's pending change, when its lease is due */

void
ngx_http_strangler_etcd_pending_publish(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_log_t *log)
{
    ngx_int_t                           rc;
    ngx_msec_t                          at;
    ngx_pool_t                         *pool;
    ngx_http_strangler_override_rec_t   ov;

    at = shr->publish_at;

    if (!shr->pending
        || (ngx_msec_int_t) (ngx_current_msec - at) < 0
        || !ngx_atomic_cmp_set(&shr->publish_at, at,
                               ngx_current_msec
                               + NGX_HTTP_STRANGLER_PENDING_PUBLISHING))
    {
        return;
    }

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, log);
    if (pool == NULL) {
        return;
    }

    rc = ngx_http_strangler_override_read(z, shr, &ov, pool);

    if (rc != NGX_OK) {
        /* replaced meanwhile by a change that left no override */
        shr->pending = 0;
        ngx_destroy_pool(pool);
        return;
    }

    if (ngx_http_strangler_etcd_change(z, shr, &shr->name,
                                       NGX_HTTP_STRANGLER_OV_ALL, &ov,
                                       pool, log,
                                       ngx_http_strangler_etcd_pending_done,
                                       shr)
        == NULL)
    {
        shr->publish_at = ngx_current_msec
                          + NGX_HTTP_STRANGLER_PENDING_RETRY;
        ngx_destroy_pool(pool);
    }
}


static void
ngx_http_strangler_etcd_pending_done(ngx_http_strangler_etcd_change_t *ch,
    ngx_int_t rc)
{
    ngx_http_strangler_sh_route_t *shr = ch->data;

    json_decref(ch->current);

    switch (rc) {

    case NGX_OK:
        shr->pending = 0;
        ngx_log_error(NGX_LOG_NOTICE, ch->log, 0,
                      "strangler: the %V of route \"%V\" made while etcd "
                      "was unreachable is in etcd: every host takes it",
                      &ch->next.via, &ch->kv.name);

        ch->next.at = ngx_time();
        ngx_http_strangler_history_add(ch->zone, &shr->file, &ch->kv.name,
                                       &ch->old, &ch->next, "published",
                                       ch->pool, ch->log);
        break;

    case NGX_BUSY:
        /* the watcher brings etcd's value, and the rule judges it */
        shr->publish_at = ngx_current_msec
                          + NGX_HTTP_STRANGLER_PENDING_RETRY;
        break;

    default:
        if (shr->pending == 1) {
            ngx_log_error(NGX_LOG_WARN, ch->log, 0,
                          "strangler: etcd is unreachable: the %V of route "
                          "\"%V\" applies to this host only until etcd "
                          "takes it", &ch->next.via, &ch->kv.name);
            shr->pending = 2;
        }

        shr->publish_at = ngx_current_msec
                          + NGX_HTTP_STRANGLER_PENDING_RETRY;
    }

    ngx_destroy_pool(ch->pool);
}


/*
 * With the mutex held, for the apply path: whether the route keeps its
 * pending change over `rec`, what etcd says of it now (see above).  When
 * it does not, the change is no longer pending; *superseded says so.
 */

ngx_uint_t
ngx_http_strangler_etcd_pending_keeps(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *rec)
{
    ngx_str_t                          *owner;
    ngx_http_strangler_override_rec_t  *ov;

    ov = shr->override;

    if (!shr->pending || ov == NULL) {
        shr->pending = 0;
        return 0;
    }

    /* the change itself (a try whose outcome was unknown applied) */

    if (ov->at == rec->at && ov->sample_ppm == rec->sample_ppm
        && ngx_http_strangler_etcd_pending_same(&ov->reads, &rec->reads)
        && ngx_http_strangler_etcd_pending_same(&ov->owner, &rec->owner)
        && ngx_http_strangler_etcd_pending_same(&ov->by, &rec->by))
    {
        shr->pending = 0;
        return 0;
    }

    owner = ngx_http_strangler_backend_name(t, route->owner);

    if (rec->owner.len == 0
        || (rec->owner.len == owner->len
            && ngx_strncmp(rec->owner.data, owner->data, owner->len) == 0))
    {
        /* it is published over etcd's value, whose mod this host has */
        return 1;
    }

    shr->pending = 0;

    return 0;
}


static ngx_uint_t
ngx_http_strangler_etcd_pending_same(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || ngx_memcmp(a->data, b->data, a->len) == 0);
}
