
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * One watch of etcd per host, not per worker.  Every worker ticks; the
 * zone holds the watching worker's pid and its heartbeat, and a worker
 * that finds no holder, or a heartbeat gone stale (the holder crashed),
 * takes the watch over.  A worker that exits (reload, quit) lets go of it
 * first, so another takes over at its next tick.
 *
 * The watcher reads the whole prefix, applies it, then watches from the
 * next revision.  A lost connection resumes the watch from the revision it
 * had reached, after a capped backoff; a compacted revision or a revision
 * that went back (etcd restored or rebuilt) start over with a full read.
 * Events go to the zone through the one apply path, so every worker sees
 * them at its next request; the state file is saved after each change, as
 * the last-known-good snapshot to start from while etcd is down.
 */


#include "ngx_http_strangler_etcd.h"


typedef struct {
    ngx_http_strangler_etcd_conf_t     *ecf;
    ngx_http_strangler_etcd_call_t     *call;      /* range or watch */
    ngx_http_strangler_etcd_call_t     *probe;
    ngx_msec_t                          probed;    /* the last ended */
    ngx_event_t                         tick;
    ngx_event_t                         retry;
    ngx_msec_t                          backoff;
    int64_t                             revision;  /* of the last read */
    ngx_uint_t                          holding;
    ngx_uint_t                          reread;    /* skip the backoff */
} ngx_http_strangler_etcd_watch_t;


static void ngx_http_strangler_etcd_tick(ngx_event_t *ev);
static void ngx_http_strangler_etcd_release(
    ngx_http_strangler_etcd_watch_t *w);
static void ngx_http_strangler_etcd_resume(ngx_event_t *ev);
static void ngx_http_strangler_etcd_read(ngx_event_t *ev);
static void ngx_http_strangler_etcd_range_done(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static ngx_int_t ngx_http_strangler_etcd_snapshot(
    ngx_http_strangler_etcd_watch_t *w, json_t *kvs, int64_t revision,
    ngx_pool_t *pool);
static void ngx_http_strangler_etcd_watch(ngx_http_strangler_etcd_watch_t *w);
static ngx_int_t ngx_http_strangler_etcd_message(
    ngx_http_strangler_etcd_call_t *call, json_t *msg);
static void ngx_http_strangler_etcd_watch_done(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_probe(ngx_http_strangler_etcd_watch_t *w);
static void ngx_http_strangler_etcd_probe_done(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_up(ngx_http_strangler_etcd_watch_t *w);
static void ngx_http_strangler_etcd_lost(ngx_http_strangler_etcd_watch_t *w);
static void ngx_http_strangler_etcd_applied(
    ngx_http_strangler_etcd_watch_t *w, int64_t revision, ngx_uint_t changed);


static ngx_http_strangler_etcd_watch_t  ngx_http_strangler_etcd_w;


/* a worker starts ticking: it may become the watcher */

void
ngx_http_strangler_etcd_start(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf)
{
    ngx_http_strangler_etcd_watch_t  *w;

    if (smcf->etcd == NULL) {
        return;
    }

    w = &ngx_http_strangler_etcd_w;
    ngx_memzero(w, sizeof(ngx_http_strangler_etcd_watch_t));

    w->ecf = smcf->etcd;
    w->backoff = NGX_HTTP_STRANGLER_ETCD_BACKOFF_MIN;

    w->tick.handler = ngx_http_strangler_etcd_tick;
    w->tick.data = w;
    w->tick.log = cycle->log;
    w->tick.cancelable = 1;

    w->retry.handler = ngx_http_strangler_etcd_resume;
    w->retry.data = w;
    w->retry.log = cycle->log;
    w->retry.cancelable = 1;

    ngx_add_timer(&w->tick, 1);
}


/* a worker exits: another takes the watch over */

void
ngx_http_strangler_etcd_stop(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf)
{
    if (smcf->etcd && ngx_http_strangler_etcd_w.ecf) {
        ngx_http_strangler_etcd_release(&ngx_http_strangler_etcd_w);
    }
}


static void
ngx_http_strangler_etcd_tick(ngx_event_t *ev)
{
    ngx_http_strangler_etcd_watch_t *w = ev->data;

    ngx_pid_t                      holder;
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = w->ecf->zone->sh->etcd;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_http_strangler_etcd_release(w);
        return;
    }

    holder = (ngx_pid_t) sh->holder;

    if (holder == ngx_pid) {
        sh->beat = ngx_current_msec;

        if (w->holding) {
            ngx_http_strangler_etcd_probe(w);
            ngx_http_strangler_etcd_fence_tick(w->ecf, ev->log);
            ngx_http_strangler_etcd_hosts_tick(w->ecf, ev->log);
            ngx_http_strangler_etcd_pending_tick(w->ecf->zone, ev->log);
        }

    } else if (w->holding) {
        /* this worker stalled and another took over */
        ngx_http_strangler_etcd_release(w);

    } else if ((holder == 0
                /* signed: the holder's beat may be newer than our time */
                || (ngx_msec_int_t) (ngx_current_msec - sh->beat)
                   > NGX_HTTP_STRANGLER_ETCD_STALE)
               && ngx_atomic_cmp_set(&sh->holder, holder, ngx_pid))
    {
        sh->beat = ngx_current_msec;
        w->holding = 1;
        w->revision = 0;
        w->backoff = NGX_HTTP_STRANGLER_ETCD_BACKOFF_MIN;

        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "strangler: this worker watches etcd%s",
                      holder ? " (its watcher stopped)" : "");

        ngx_http_strangler_etcd_read(&w->retry);
    }

    ngx_add_timer(&w->tick, NGX_HTTP_STRANGLER_ETCD_TICK);
}


static void
ngx_http_strangler_etcd_release(ngx_http_strangler_etcd_watch_t *w)
{
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = w->ecf->zone->sh->etcd;

    if (w->call) {
        ngx_http_strangler_etcd_call_abort(w->call);
        w->call = NULL;
    }

    if (w->probe) {
        ngx_http_strangler_etcd_call_abort(w->probe);
        w->probe = NULL;
    }

    ngx_http_strangler_etcd_fence_stop();
    ngx_http_strangler_etcd_hosts_stop();
    ngx_http_strangler_etcd_handoff_release(w->tick.log);

    if (w->retry.timer_set) {
        ngx_del_timer(&w->retry);
    }

    if (w->tick.timer_set && (ngx_exiting || ngx_terminate || ngx_quit)) {
        ngx_del_timer(&w->tick);
    }

    w->holding = 0;

    (void) ngx_atomic_cmp_set(&sh->holder, ngx_pid, 0);
}


/*
 * After a lost connection, the watch goes on from the revision it had
 * reached (etcd keeps the history until it is compacted): events missed
 * meanwhile come first.  Without one, a full read.
 */

static void
ngx_http_strangler_etcd_resume(ngx_event_t *ev)
{
    ngx_http_strangler_etcd_watch_t *w = ev->data;

    if (!w->holding) {
        return;
    }

    if (w->revision) {
        ngx_http_strangler_etcd_watch(w);
        return;
    }

    ngx_http_strangler_etcd_read(ev);
}


/* a full read of the prefix */

static void
ngx_http_strangler_etcd_read(ngx_event_t *ev)
{
    ngx_http_strangler_etcd_watch_t *w = ev->data;

    json_t  *body;

    if (!w->holding) {
        return;
    }

    body = json_pack("{s:s%, s:s%}",
                     "key", w->ecf->range_key.data, w->ecf->range_key.len,
                     "range_end", w->ecf->range_end.data,
                     w->ecf->range_end.len);

    w->call = ngx_http_strangler_etcd_call(w->ecf, "/v3/kv/range", body,
                                        ngx_http_strangler_etcd_range_done,
                                        NULL, w, ev->log);
    if (w->call == NULL) {
        ngx_http_strangler_etcd_lost(w);
    }
}


static void
ngx_http_strangler_etcd_range_done(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_watch_t *w;

    int64_t                        revision, applied;
    ngx_int_t                      changed;
    ngx_pool_t                    *pool;
    ngx_http_strangler_etcd_sh_t  *sh;

    w = ngx_http_strangler_etcd_call_data(call);
    w->call = NULL;
    sh = w->ecf->zone->sh->etcd;

    if (rc != NGX_OK) {
        ngx_http_strangler_etcd_lost(w);
        return;
    }

    if (!ngx_http_strangler_etcd_is_answer(answer, "kvs")) {
        /* an error body is not an empty store */
        ngx_log_error(NGX_LOG_ERR, w->tick.log, 0,
                      "strangler: etcd's answer to a read is not a valid "
                      "range answer: the overrides stay as they are");
        ngx_http_strangler_etcd_lost(w);
        return;
    }

    revision = ngx_http_strangler_etcd_revision(answer);
    applied = (int64_t) sh->revision;

    if (revision < applied) {
        ngx_log_error(NGX_LOG_WARN, w->tick.log, 0,
                      "strangler: etcd's revision went back from %L to %L "
                      "(restored or rebuilt): its content replaces the "
                      "overrides", applied, revision);
    }

    pool = ngx_create_pool(4096, w->tick.log);
    if (pool == NULL) {
        ngx_http_strangler_etcd_lost(w);
        return;
    }

    changed = ngx_http_strangler_etcd_snapshot(w, json_object_get(answer,
                                                                  "kvs"),
                                               revision, pool);
    ngx_destroy_pool(pool);

    if (changed == NGX_ERROR) {
        ngx_http_strangler_etcd_lost(w);
        return;
    }

    w->revision = revision;
    sh->synced = (ngx_atomic_uint_t) revision;
    ngx_http_strangler_etcd_handoff_unseen(w->tick.log);
    ngx_http_strangler_etcd_up(w);

    ngx_http_strangler_etcd_applied(w, revision, changed);
    ngx_http_strangler_etcd_watch(w);
}


/*
 * etcd's content replaces every override: the keys it has apply, and the
 * routes it has no key for lose theirs.  The number of routes changed.
 */

static ngx_int_t
ngx_http_strangler_etcd_snapshot(ngx_http_strangler_etcd_watch_t *w,
    json_t *kvs, int64_t revision, ngx_pool_t *pool)
{
    size_t                           i, r, k;
    u_char                          *seen;
    ngx_int_t                        n, rc;
    ngx_uint_t                       t;
    const strangler_route_t         *route;
    ngx_http_strangler_table_t     **tables;
    ngx_http_strangler_sh_route_t   *shr;
    ngx_http_strangler_etcd_kv_t     kv;
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = w->ecf->zone->smcf;
    n = 0;

    ngx_http_strangler_etcd_handoff_unsee();

    for (i = 0; i < json_array_size(kvs); i++) {
        rc = ngx_http_strangler_etcd_kv(w->ecf, json_array_get(kvs, i), 0,
                                        &kv, pool);

        if (rc == NGX_DECLINED) {
            /* a host that joins during a fleet handoff holds too */
            (void) ngx_http_strangler_etcd_handoff_event(w->ecf,
                                           json_array_get(kvs, i), 0, pool,
                                           w->tick.log);
            continue;
        }

        if (rc != NGX_OK) {
            continue;
        }

        kv.revision = revision;

        rc = ngx_http_strangler_etcd_apply(w->ecf, &kv, 1, pool, w->tick.log);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        n += rc;
    }

    /* the routes without a key in etcd: none of its routes/NAME matched */

    tables = smcf->tables.elts;

    for (t = 0; t < smcf->tables.nelts; t++) {
        seen = ngx_pcalloc(pool, tables[t]->core->nroutes + 1);
        if (seen == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < json_array_size(kvs); i++) {
            if (ngx_http_strangler_etcd_kv(w->ecf, json_array_get(kvs, i), 0,
                                           &kv, pool)
                != NGX_OK)
            {
                continue;
            }

            /* bit 1: an override, bit 2: ignore rules ("ignore/NAME") */
            k = kv.ignore ? sizeof(NGX_HTTP_STRANGLER_ETCD_IGNORE) - 1 : 0;

            route = strangler_route_find(tables[t]->core,
                                         (char *) kv.name.data + k,
                                         kv.name.len - k);
            if (route) {
                seen[route->index] |= kv.ignore ? 2 : 1;
            }
        }

        for (r = 0; r < tables[t]->core->nroutes; r++) {
            shr = tables[t]->bindings[r].shr;

            if (!(seen[r] & 2) && shr->fields && shr->fields->nignore) {
                ngx_memzero(&kv, sizeof(ngx_http_strangler_etcd_kv_t));
                kv.ignore = 1;
                kv.deleted = 1;
                kv.revision = revision;
                kv.name.len = sizeof(NGX_HTTP_STRANGLER_ETCD_IGNORE) - 1
                              + shr->name.len;
                kv.name.data = ngx_pnalloc(pool, kv.name.len);
                if (kv.name.data == NULL) {
                    return NGX_ERROR;
                }

                ngx_memcpy(ngx_cpymem(kv.name.data,
                                      NGX_HTTP_STRANGLER_ETCD_IGNORE,
                                      sizeof(NGX_HTTP_STRANGLER_ETCD_IGNORE)
                                      - 1),
                           shr->name.data, shr->name.len);

                ngx_log_error(NGX_LOG_WARN, w->tick.log, 0,
                              "strangler: route \"%V\" has no ignore rules "
                              "in etcd: its runtime rules here are dropped",
                              &shr->name);

                rc = ngx_http_strangler_etcd_apply(w->ecf, &kv, 1, pool,
                                                   w->tick.log);
                if (rc == NGX_ERROR) {
                    return NGX_ERROR;
                }

                n += rc;
            }

            if (seen[r] & 1) {
                continue;
            }

            if (shr->override && !shr->pending) {
                ngx_log_error(NGX_LOG_WARN, w->tick.log, 0,
                              "strangler: route \"%V\" has no override in "
                              "etcd: its override here is dropped",
                              &shr->name);
            }

            ngx_memzero(&kv, sizeof(ngx_http_strangler_etcd_kv_t));
            kv.name = shr->name;
            kv.deleted = 1;
            kv.revision = revision;

            rc = ngx_http_strangler_etcd_apply(w->ecf, &kv, 1, pool,
                                               w->tick.log);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            n += rc;
        }
    }

    return n;
}


static void
ngx_http_strangler_etcd_watch(ngx_http_strangler_etcd_watch_t *w)
{
    json_t  *body;

    body = json_pack("{s:{s:s%, s:s%, s:I}}", "create_request",
                     "key", w->ecf->range_key.data, w->ecf->range_key.len,
                     "range_end", w->ecf->range_end.data,
                     w->ecf->range_end.len,
                     "start_revision", (json_int_t) w->revision + 1);

    w->call = ngx_http_strangler_etcd_call(w->ecf, "/v3/watch", body,
                                        ngx_http_strangler_etcd_watch_done,
                                        ngx_http_strangler_etcd_message, w,
                                        w->tick.log);
    if (w->call == NULL) {
        ngx_http_strangler_etcd_lost(w);
    }
}


/* one message of the watch stream */

static ngx_int_t
ngx_http_strangler_etcd_message(ngx_http_strangler_etcd_call_t *call,
    json_t *msg)
{
    u_char                           *last, raw[256];
    json_t                           *result, *events, *ev;
    size_t                            i;
    const char                       *text;
    int64_t                           revision;
    ngx_int_t                         rc, changed;
    ngx_uint_t                        overrides;
    ngx_pool_t                       *pool;
    const char                       *type;
    ngx_http_strangler_etcd_kv_t      kv;
    ngx_http_strangler_etcd_watch_t  *w;

    w = ngx_http_strangler_etcd_call_data(call);
    result = json_object_get(msg, "result");

    if (!json_is_object(json_object_get(result, "header"))) {
        goto invalid;
    }

    revision = ngx_http_strangler_etcd_revision(result);

    if (ngx_http_strangler_etcd_int(result, "compact_revision")) {
        ngx_log_error(NGX_LOG_WARN, w->tick.log, 0,
                      "strangler: etcd compacted past revision %L: a full "
                      "read follows", w->revision + 1);
        w->reread = 1;
        return NGX_ERROR;
    }

    if (json_is_true(json_object_get(result, "canceled"))
        || (revision && revision < w->revision))
    {
        ngx_log_error(NGX_LOG_WARN, w->tick.log, 0,
                      "strangler: etcd's watch was cancelled or its revision "
                      "went back (%L < %L): a full read follows",
                      revision, w->revision);
        w->reread = 1;
        return NGX_ERROR;
    }

    /* a compaction's message may carry no revision; the others do */

    if (!ngx_http_strangler_etcd_is_answer(result, "events")) {
        goto invalid;
    }

    if (json_is_true(json_object_get(result, "created"))) {
        ngx_http_strangler_etcd_up(w);
    }

    events = json_object_get(result, "events");

    if (json_array_size(events) == 0) {
        return NGX_OK;
    }

    pool = ngx_create_pool(4096, w->tick.log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    changed = 0;
    overrides = 0;

    for (i = 0; i < json_array_size(events); i++) {
        ev = json_array_get(events, i);
        type = json_string_value(json_object_get(ev, "type"));

        rc = ngx_http_strangler_etcd_kv(w->ecf, json_object_get(ev, "kv"),
                                        type && ngx_strcmp(type, "DELETE") == 0,
                                        &kv, pool);

        if (rc == NGX_DECLINED) {
            /* after the override of the same transaction, applied above */
            (void) ngx_http_strangler_etcd_handoff_event(w->ecf,
                                        json_object_get(ev, "kv"),
                                        type && ngx_strcmp(type, "DELETE") == 0,
                                        pool, w->tick.log);
            continue;
        }

        if (rc != NGX_OK) {
            continue;
        }

        kv.revision = kv.mod_revision;
        overrides++;

        rc = ngx_http_strangler_etcd_apply(w->ecf, &kv, 0, pool, w->tick.log);
        if (rc == NGX_ERROR) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        changed += rc;
    }

    ngx_destroy_pool(pool);

    w->revision = revision;
    w->ecf->zone->sh->etcd->event_at = ngx_time();

    if (overrides) {
        /* the member key says it: not for the fleet's own keys */
        w->ecf->zone->sh->etcd->synced = (ngx_atomic_uint_t) revision;
    }

    ngx_http_strangler_etcd_applied(w, revision, changed);

    return NGX_OK;

invalid:

    text = json_string_value(json_object_get(json_object_get(msg, "error"),
                                             "message"));
    if (text == NULL) {
        text = "not a valid watch message";
    }

    last = ngx_http_strangler_etcd_escape(raw, raw + sizeof(raw),
                                          (u_char *) text, ngx_strlen(text));
    ngx_log_error(NGX_LOG_ERR, w->tick.log, 0,
                  "strangler: etcd's watch failed: %*s", last - raw, raw);

    return NGX_ERROR;
}


static void
ngx_http_strangler_etcd_watch_done(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_watch_t *w;

    w = ngx_http_strangler_etcd_call_data(call);
    w->call = NULL;

    if (w->reread) {
        w->reread = 0;
        w->revision = 0;
        ngx_add_timer(&w->retry, NGX_HTTP_STRANGLER_ETCD_BACKOFF_MIN);
        return;
    }

    ngx_http_strangler_etcd_lost(w);
}


/*
 * A frozen etcd (stopped, or a host that stands still) keeps the watch's
 * connection open and answers nothing: while connected, the watcher asks
 * a cheap read every NGX_HTTP_STRANGLER_ETCD_PROBE ms, and one that gets
 * no answer within the call's timeout ends the watch, as a loss.  So a
 * host knows it is cut off within PROBE + CALL_TIMEOUT ms, about 5 s.
 */

static void
ngx_http_strangler_etcd_probe(ngx_http_strangler_etcd_watch_t *w)
{
    json_t  *body;

    if (w->probe || !w->ecf->zone->sh->etcd->connected
        || (ngx_msec_int_t) (ngx_current_msec - w->probed)
           < NGX_HTTP_STRANGLER_ETCD_PROBE)
    {
        return;
    }

    body = json_pack("{s:s%, s:s%, s:b}",
                     "key", w->ecf->range_key.data, w->ecf->range_key.len,
                     "range_end", w->ecf->range_end.data,
                     w->ecf->range_end.len, "count_only", 1);

    w->probed = ngx_current_msec;
    w->probe = ngx_http_strangler_etcd_call(w->ecf, "/v3/kv/range", body,
                                         ngx_http_strangler_etcd_probe_done,
                                         NULL, w, w->tick.log);
}


static void
ngx_http_strangler_etcd_probe_done(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_watch_t *w;

    w = ngx_http_strangler_etcd_call_data(call);
    w->probe = NULL;
    w->probed = ngx_current_msec;

    if (rc == NGX_OK && ngx_http_strangler_etcd_is_answer(answer, "kvs")) {
        return;
    }

    if (!w->ecf->zone->sh->etcd->connected) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, w->tick.log, 0,
                  "strangler: etcd did not answer a probe: its watch is "
                  "taken for lost");

    if (w->call) {
        ngx_http_strangler_etcd_call_abort(w->call);
        w->call = NULL;
    }

    if (w->retry.timer_set) {
        ngx_del_timer(&w->retry);
    }

    ngx_http_strangler_etcd_lost(w);
}


/* connected: say so once after a loss, with the gap */

static void
ngx_http_strangler_etcd_up(ngx_http_strangler_etcd_watch_t *w)
{
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = w->ecf->zone->sh->etcd;

    if (sh->lost_at) {
        ngx_log_error(NGX_LOG_NOTICE, w->tick.log, 0,
                      "strangler: etcd is back after %Mms",
                      (ngx_msec_t) (ngx_time() * 1000 - sh->lost_at));
        sh->lost_at = 0;
    }

    /*
     * why the host was not connected is forgotten only now: a watch's
     * stream or a lease call may answer 200 while etcd refuses the reads
     */
    ngx_http_strangler_etcd_error(w->ecf, NULL, 0, 0, w->tick.log);

    sh->connected = 1;
    w->backoff = NGX_HTTP_STRANGLER_ETCD_BACKOFF_MIN;
}


/* no endpoint answers: log it once, try again after the backoff */

static void
ngx_http_strangler_etcd_lost(ngx_http_strangler_etcd_watch_t *w)
{
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = w->ecf->zone->sh->etcd;

    /* held writes go to the owner last committed, never the new one */
    ngx_http_strangler_etcd_handoff_release(w->tick.log);

    if (sh->lost_at == 0) {
        sh->lost_at = ngx_time() * 1000;

        ngx_log_error(NGX_LOG_ERR, w->tick.log, 0,
                      "strangler: etcd is unreachable: serving the last "
                      "known overrides, changes through the API answer 503 "
                      "until it is back");
    }

    sh->connected = 0;

    if (!w->holding) {
        return;
    }

    ngx_add_timer(&w->retry, w->backoff);

    w->backoff = ngx_min(w->backoff * 2, NGX_HTTP_STRANGLER_ETCD_BACKOFF_MAX);
}


/* the revision is applied; the state file keeps what changed */

static void
ngx_http_strangler_etcd_applied(ngx_http_strangler_etcd_watch_t *w,
    int64_t revision, ngx_uint_t changed)
{
    ngx_http_strangler_zone_ctx_t  *z;

    z = w->ecf->zone;
    z->sh->etcd->revision = (ngx_atomic_uint_t) revision;

    if (changed) {
        ngx_http_strangler_change_keep(z, ngx_cycle->log);
    }
}
