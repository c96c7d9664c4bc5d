/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A change through the API that moves a route's effective owner (PUT
 * routes/NAME {"owner"}, DELETE of an override that set one, a rollback
 * that takes the owner back) is a handoff: the route's new writes are held
 * (ngx_http_strangler_handoff.c) while the old owner's writes in flight
 * drain, then the change is made as any other (ngx_http_strangler_api.c),
 * and the held writes go on to the new owner.  The call answers when all
 * is done.  A drain that does not end within `drain` ends the handoff:
 * nothing changes, the held writes go to the old owner, 504.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_request.h"
#include "ngx_http_strangler_handoff.h"
#include "ngx_http_strangler_handoff_hold.h"
#include "ngx_http_strangler_etcd.h"


#define NGX_HTTP_STRANGLER_HANDOFF_FLEET_POLL  10   /* ms */


/* an owner change driven by an API call (_handoff_api.c) */
typedef struct ngx_http_strangler_handoff_s {
    ngx_event_t                         ev;         /* drain poll */
    ngx_http_request_t                 *r;
    ngx_http_strangler_zone_ctx_t      *zone;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_sh_handoff_t    *sh;
    ngx_uint_t                          serial;     /* sh's, when begun */
    ngx_str_t                           from;
    ngx_str_t                           to;
    ngx_msec_t                          drained_ms;
    ngx_uint_t                          held;
    ngx_uint_t                          in_flight_at_start;
    ngx_uint_t                          result;
    ngx_uint_t                          polls;
    unsigned                            open:1;     /* writes held */
    unsigned                            drained:1;

    /* with strangler_etcd: the fleet's handoff (_etcd_handoff.c) */
    ngx_http_strangler_etcd_fleet_handoff_t  *fh;
    ngx_int_t                           fh_rc;      /* a failure */
    unsigned                            fh_wait:1;  /* a call in flight */
    unsigned                            fh_begun:1;
    unsigned                            fh_all:1;   /* every ack */
} ngx_http_strangler_handoff_t;


static int ngx_http_strangler_handoff_owner(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_override_rec_t *ov);
static ngx_int_t ngx_http_strangler_handoff_start(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_handoff_t *ho,
    ngx_http_strangler_sh_writes_t **shbs);
static ngx_int_t ngx_http_strangler_handoff_check(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static void ngx_http_strangler_handoff_drain_poll(ngx_event_t *ev);
static ngx_int_t ngx_http_strangler_handoff_timed_out(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static ngx_int_t ngx_http_strangler_handoff_follow(ngx_http_request_t *r,
    ngx_http_strangler_handoff_t *ho, ngx_pool_cleanup_t *cln);
static void ngx_http_strangler_handoff_follow_poll(ngx_event_t *ev);
static void ngx_http_strangler_handoff_cleanup(void *data);
static json_t *ngx_http_strangler_handoff_result(
    ngx_http_strangler_handoff_t *ho);
static void ngx_http_strangler_handoff_fleet_done(
    ngx_http_strangler_etcd_fleet_handoff_t *fh, ngx_int_t rc);
static ngx_int_t ngx_http_strangler_handoff_fleet_check(
    ngx_http_request_t *r, ngx_http_strangler_api_ctx_t *ctx);


/*
 * Before a change is made: NGX_DECLINED when it moves no owner (make it),
 * NGX_DONE while the old owner's writes drain, or the status to answer.
 */

ngx_int_t
ngx_http_strangler_handoff_begin(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    size_t                             i, nb;
    ngx_http_strangler_table_t        *t;
    ngx_http_strangler_handoff_t      *ho;
    ngx_http_strangler_sh_writes_t  **shbs;

    if (ctx->handoff || ctx->route == NULL || ctx->orphan
        || !(ctx->fields & NGX_HTTP_STRANGLER_OV_OWNER))
    {
        return NGX_DECLINED;
    }

    t = ctx->table;
    nb = t->core->nbackends;

    ho = ngx_pcalloc(r->pool, sizeof(ngx_http_strangler_handoff_t));
    shbs = ngx_pcalloc(r->pool, nb * sizeof(void *));

    if (ho == NULL || shbs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* every backend's block: the mutex is not taken for them below */

    for (i = 0; i < nb; i++) {
        shbs[i] = ngx_http_strangler_handoff_block(ctx->binding, t, i);

        if (shbs[i] == NULL) {
            return ngx_http_strangler_api_error(r,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          "strangler_zone \"%V\" is full: "
                                          "nothing changed",
                                          &ctx->zone->name);
        }
    }

    ho->r = r;
    ho->zone = ctx->zone;
    ho->shr = ctx->shr;

    return ngx_http_strangler_handoff_start(r, ctx, ho, shbs);
}


static ngx_int_t
ngx_http_strangler_handoff_start(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_handoff_t *ho,
    ngx_http_strangler_sh_writes_t **shbs)
{
    int                                from, to;
    ngx_pool_cleanup_t                *cln;
    ngx_http_strangler_zone_ctx_t     *z;
    ngx_http_strangler_sh_handoff_t   *sh;
    ngx_http_strangler_main_conf_t    *smcf;
    ngx_http_strangler_override_rec_t  next;

    z = ctx->zone;
    smcf = z->smcf;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    /* the owners before and after, from the override as it is now */

    ngx_http_strangler_override_merge(ctx->shr->override, ctx->fields,
                                      &ctx->patch, &next);

    from = ngx_http_strangler_handoff_owner(ctx->table, ctx->route,
                                            ctx->shr->override);
    to = ngx_http_strangler_handoff_owner(ctx->table, ctx->route, &next);

    /* a change of the owner field while one drains is refused below */

    if (from == to
        && (ctx->shr->handoff == NULL
            || ctx->shr->handoff->state == NGX_HTTP_STRANGLER_HANDOFF_IDLE))
    {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_DECLINED;
    }

    if (ngx_http_strangler_handoff_alloc_locked(z, ctx->shr) != NGX_OK) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        ngx_http_strangler_zone_full(z, sizeof(*sh), r->connection->log);

        return ngx_http_strangler_api_error(r,
                                            NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "strangler_zone \"%V\" is full: "
                                            "nothing changed", &z->name);
    }

    sh = ctx->shr->handoff;

    if (sh->state == NGX_HTTP_STRANGLER_HANDOFF_DRAINING
        && sh->to == shbs[to] && sh->pid)
    {
        /* the same move: made once that one is done */
        ho->sh = sh;
        ho->serial = sh->serial;
        ngx_shmtx_unlock(&z->shpool->mutex);

        return ngx_http_strangler_handoff_follow(r, ho, cln);
    }

    if (sh->state == NGX_HTTP_STRANGLER_HANDOFF_DRAINING) {
        ngx_shmtx_unlock(&z->shpool->mutex);

        return ngx_http_strangler_api_error(r, NGX_HTTP_CONFLICT,
                                            "route \"%V\": its owner is "
                                            "being moved from \"%V\" to "
                                            "\"%V\" (handoff draining): "
                                            "nothing changed, try again",
                                            &ctx->name, &sh->from->name,
                                            &sh->to->name);
    }

    sh->serial++;
    sh->pid = ngx_pid;
    sh->since = ngx_current_msec;
    sh->deadline = sh->since
                   + ngx_http_strangler_handoff_drain(smcf, ctx->route);
    sh->started = ngx_time();
    sh->hold = ngx_http_strangler_handoff_hold(smcf, ctx->route);
    sh->held_total = 0;
    sh->from = shbs[from];
    sh->to = shbs[to];
    sh->gen = 0;

    /* draining first, then the sequence, then the count: see _handoff.c */
    (void) ngx_atomic_fetch_add(&sh->state, 1);
    (void) ngx_atomic_fetch_add(&z->sh->handoff_seq, 1);

    sh->in_flight_at_start = sh->from->writes;

    ngx_shmtx_unlock(&z->shpool->mutex);

    ho->sh = sh;
    ho->serial = sh->serial;
    ho->from = sh->from->name;
    ho->to = sh->to->name;
    ho->in_flight_at_start = sh->in_flight_at_start;
    ho->open = 1;

    cln->handler = ngx_http_strangler_handoff_cleanup;
    cln->data = ho;

    ctx->handoff = ho;

    ho->ev.handler = ngx_http_strangler_handoff_drain_poll;
    ho->ev.data = r;
    ho->ev.log = r->connection->log;

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "strangler: route \"%V\": handoff from \"%V\" to \"%V\" "
                  "began: writes held while %ui in flight drain",
                  &ctx->name, &ho->from, &ho->to, ho->in_flight_at_start);

    if (smcf->etcd) {
        /* every member holds and drains too: the handoff goes to etcd */
        ho->fh = ngx_http_strangler_etcd_handoff_begin(smcf->etcd,
                     &ctx->name, &ho->from, &ho->to,
                     sh->deadline - ngx_current_msec, r->pool,
                     r->connection->log, ngx_http_strangler_handoff_fleet_done,
                     ho);

        if (ho->fh == NULL && !ctx->rollback) {
            return ngx_http_strangler_api_error(r,
                                          NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "etcd is unreachable: no owner "
                                          "change starts, nothing changed");
        }

        /* a rollback without etcd: this host's handoff, then break-glass */
        ho->fh_wait = (ho->fh != NULL);
    }

    return ngx_http_strangler_handoff_check(r, ctx);
}


/* an answer of etcd about the fleet's handoff: the next poll acts on it */

static void
ngx_http_strangler_handoff_fleet_done(
    ngx_http_strangler_etcd_fleet_handoff_t *fh, ngx_int_t rc)
{
    ngx_http_strangler_handoff_t  *ho;

    ho = ngx_http_strangler_etcd_handoff_data(fh);
    ho->fh_wait = 0;

    if (!ho->fh_begun) {
        if (rc == NGX_OK) {
            ho->fh_begun = 1;

        } else {
            ho->fh_rc = rc;
        }

        return;
    }

    if (rc == NGX_OK) {
        ho->fh_all = 1;

    } else if (rc != NGX_AGAIN) {
        ho->fh_rc = rc;
    }
}


/*
 * Across the fleet: once every member acknowledged (its own writes in
 * flight at the old owner are zero, and it holds the route's), the
 * change is made with the commit of the handoff, in one transaction.
 */

static ngx_int_t
ngx_http_strangler_handoff_fleet_check(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    json_t                        *waiting;
    ngx_http_strangler_handoff_t  *ho;

    ho = ctx->handoff;

    switch (ho->fh_rc) {

    case NGX_BUSY:
        ngx_http_strangler_etcd_handoff_forget(ho->fh);
        ho->fh = NULL;

        return ngx_http_strangler_api_error(r, NGX_HTTP_CONFLICT,
                                            "route \"%V\": another host is "
                                            "moving its owner (a fleet "
                                            "handoff is under way): nothing "
                                            "changed, try again",
                                            &ctx->name);

    case NGX_ERROR:
        ngx_http_strangler_etcd_handoff_abort(ho->fh);
        ho->fh = NULL;

        if (ctx->rollback) {
            /* break-glass: the rollback goes on, on this host */
            return ngx_http_strangler_handoff_check(r, ctx);
        }

        return ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "etcd did not answer during the "
                                            "handoff: the owner stays "
                                            "\"%V\", nothing changed",
                                            &ho->from);

    case NGX_DECLINED:
        /* aborted: past its deadline, by another host */
        return ngx_http_strangler_handoff_timed_out(r, ctx);
    }

    if ((ngx_msec_int_t) (ngx_current_msec - ho->sh->deadline) >= 0) {
        waiting = ngx_http_strangler_etcd_handoff_waiting(ho->fh);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "strangler: route \"%V\": fleet handoff from \"%V\" "
                      "to \"%V\" past its deadline: %uz hosts did not "
                      "acknowledge", &ctx->name, &ho->from, &ho->to,
                      json_array_size(waiting));

        /* aborted everywhere there */
        return ngx_http_strangler_handoff_timed_out(r, ctx);
    }

    if (!ho->fh_wait) {

        if (ho->fh_all && ho->sh->from->writes == 0) {
            ho->drained = 1;
            ho->drained_ms = ngx_current_msec - ho->sh->since;

            ngx_http_strangler_etcd_change_commits(ho->fh);

            return ngx_http_strangler_api_apply(r, ctx);
        }

        if (ho->fh_begun) {
            ho->fh_all = 0;

            if (ngx_http_strangler_etcd_handoff_poll(ho->fh) == NGX_OK) {
                ho->fh_wait = 1;
            }
        }
    }

    ngx_add_timer(&ho->ev, NGX_HTTP_STRANGLER_HANDOFF_FLEET_POLL);
    r->main->count++;

    return NGX_DONE;
}


/*
 * A change to the owner a handoff under way moves to (the same call sent
 * twice, two operators): it waits for that handoff, then is made as any
 * change, which moves nothing then.
 */

static ngx_int_t
ngx_http_strangler_handoff_follow(ngx_http_request_t *r,
    ngx_http_strangler_handoff_t *ho, ngx_pool_cleanup_t *cln)
{
    cln->handler = ngx_http_strangler_handoff_cleanup;
    cln->data = ho;

    ho->ev.handler = ngx_http_strangler_handoff_follow_poll;
    ho->ev.data = r;
    ho->ev.log = r->connection->log;

    ngx_add_timer(&ho->ev, NGX_HTTP_STRANGLER_HANDOFF_POLL);
    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_strangler_handoff_follow_poll(ngx_event_t *ev)
{
    ngx_http_request_t  *r = ev->data;

    ngx_connection_t              *c;
    ngx_http_strangler_handoff_t  *ho;
    ngx_http_strangler_api_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_strangler_module);
    ho = (ngx_http_strangler_handoff_t *) ev;

    if (ho->sh->serial == ho->serial
        && ho->sh->state == NGX_HTTP_STRANGLER_HANDOFF_DRAINING
        && !ngx_http_strangler_handoff_stale(ho->zone, ho->shr))
    {
        ngx_add_timer(ev, NGX_HTTP_STRANGLER_HANDOFF_POLL);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_strangler_api_apply(r, ctx));
    ngx_http_run_posted_requests(c);
}


/* the backend that gets the route's writes under an override */

static int
ngx_http_strangler_handoff_owner(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_override_rec_t *ov)
{
    size_t      i;
    ngx_str_t  *name;

    if (ov && ov->owner.len) {
        for (i = 0; i < t->core->nbackends; i++) {
            name = &t->backend_names[i];

            if (name->len == ov->owner.len
                && ngx_strncmp(name->data, ov->owner.data, name->len) == 0)
            {
                return (int) i;
            }
        }
    }

    return route->owner;
}


/* drained: make the change; not yet: look again in a millisecond */

static ngx_int_t
ngx_http_strangler_handoff_check(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_handoff_t  *ho;

    ho = ctx->handoff;

    /* now and then, the writes of processes that died are let go */

    if (ho->polls++ % NGX_HTTP_STRANGLER_HANDOFF_REAP == 0
        && ho->sh->from->writes)
    {
        (void) ngx_http_strangler_handoff_reap(ho->zone, ho->sh->from);
    }

    if (ho->fh) {
        return ngx_http_strangler_handoff_fleet_check(r, ctx);
    }

    if (ho->sh->from->writes == 0) {
        ho->drained = 1;
        ho->drained_ms = ngx_current_msec - ho->sh->since;

        return ngx_http_strangler_api_apply(r, ctx);
    }

    if ((ngx_msec_int_t) (ngx_current_msec - ho->sh->deadline) >= 0) {
        return ngx_http_strangler_handoff_timed_out(r, ctx);
    }

    ngx_add_timer(&ho->ev, 1);
    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_strangler_handoff_drain_poll(ngx_event_t *ev)
{
    ngx_http_request_t  *r = ev->data;

    ngx_connection_t              *c;
    ngx_http_strangler_api_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_strangler_module);

    ngx_http_finalize_request(r, ngx_http_strangler_handoff_check(r, ctx));
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_strangler_handoff_timed_out(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    json_t                        *json, *waiting;
    ngx_uint_t                     running;
    ngx_http_strangler_handoff_t  *ho;

    ho = ctx->handoff;
    running = ho->sh->from->writes;

    ho->held = ho->sh->held_total;
    ho->drained_ms = ngx_current_msec - ho->sh->since;
    ho->result = NGX_HTTP_STRANGLER_HANDOFF_TIMED_OUT;

    if (ngx_http_strangler_handoff_close(ho->zone, ho->sh, ho->serial,
                                         ho->result, ho->drained_ms))
    {
        ngx_http_strangler_handoff_wake(ctx->table, ctx->route);
    }

    ho->open = 0;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "strangler: route \"%V\": handoff from \"%V\" to \"%V\" "
                  "aborted: %ui writes still running at \"%V\" on %V after "
                  "%Mms; the owner stays \"%V\"", &ctx->name, &ho->from,
                  &ho->to, running, &ho->from, &ngx_cycle->hostname,
                  ho->drained_ms, &ho->from);

    json = json_pack("{s:s, s:o}",
                     "error", ngx_http_strangler_msg(r->pool,
                                 "the writes of \"%V\" did not drain in "
                                 "time: the owner stays \"%V\", nothing "
                                 "changed", &ho->from, &ho->from),
                     "handoff", ngx_http_strangler_handoff_result(ho));

    if (json && json_object_set_new(json_object_get(json, "handoff"),
                                    "in_flight",
                                    json_integer((json_int_t) running)))
    {
        json_decref(json);
        json = NULL;
    }

    if (json && ho->fh) {
        /* the hosts that did not acknowledge in time */
        waiting = ngx_http_strangler_etcd_handoff_waiting(ho->fh);

        if (json_object_set(json_object_get(json, "handoff"), "waiting_for",
                            waiting ? waiting : json_null()))
        {
            json_decref(json);
            json = NULL;
        }

        /* not committed: the handoff ends everywhere */
        ngx_http_strangler_etcd_handoff_abort(ho->fh);
        ho->fh = NULL;
    }

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_GATEWAY_TIME_OUT,
                                            json);
}


/*
 * The change is made (in the zone, with the state file or etcd): the new
 * owner gets the held writes.  Adds the handoff to the answer.
 */

ngx_int_t
ngx_http_strangler_handoff_done(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *reply)
{
    ngx_http_strangler_handoff_t  *ho;

    ho = ctx->handoff;

    if (ho == NULL || !ho->open) {
        return NGX_OK;
    }

    ho->open = 0;
    ho->held = ho->sh->held_total;
    ho->result = NGX_HTTP_STRANGLER_HANDOFF_MOVED;

    if (ho->fh) {
        /* committed with the change: the hosts release on the watch */
        ngx_http_strangler_etcd_handoff_forget(ho->fh);
        ho->fh = NULL;
    }

    if (ngx_http_strangler_handoff_close(ho->zone, ho->sh, ho->serial,
                                         ho->result, ho->drained_ms))
    {
        ngx_http_strangler_handoff_wake(ctx->table, ctx->route);
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "strangler: route \"%V\": handoff from \"%V\" to \"%V\" "
                  "done: drained in %Mms, %ui writes held",
                  &ctx->name, &ho->from, &ho->to, ho->drained_ms, ho->held);

    if (reply == NULL
        || json_object_set_new(reply, "handoff",
                               ngx_http_strangler_handoff_result(ho)))
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the call ended without the change (an error, its client gone) */

static void
ngx_http_strangler_handoff_cleanup(void *data)
{
    ngx_http_strangler_handoff_t  *ho = data;

    ngx_http_strangler_api_ctx_t  *ctx;

    if (ho->ev.timer_set) {
        ngx_del_timer(&ho->ev);
    }

    if (ho->fh) {
        /* not committed: aborted everywhere */
        ngx_http_strangler_etcd_handoff_abort(ho->fh);
        ho->fh = NULL;
    }

    if (!ho->open) {
        return;
    }

    ho->open = 0;

    ctx = ngx_http_get_module_ctx(ho->r, ngx_http_strangler_module);

    if (ngx_http_strangler_handoff_close(ho->zone, ho->sh, ho->serial,
                                         NGX_HTTP_STRANGLER_HANDOFF_FAILED,
                                         0))
    {
        ngx_http_strangler_handoff_wake(ctx->table, ctx->route);

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "strangler: route \"%V\": handoff from \"%V\" to "
                      "\"%V\" failed: the change was not made",
                      &ctx->name, &ho->from, &ho->to);
    }
}


static json_t *
ngx_http_strangler_handoff_result(ngx_http_strangler_handoff_t *ho)
{
    return json_pack("{s:s, s:s%, s:s%, s:I, s:I, s:I}",
                     "result", ngx_http_strangler_handoff_results[ho->result],
                     "from", ho->from.data, ho->from.len,
                     "to", ho->to.data, ho->to.len,
                     "drained_ms", (json_int_t) ho->drained_ms,
                     "held", (json_int_t) ho->held,
                     "in_flight_at_start",
                       (json_int_t) ho->in_flight_at_start);
}


/* a route's handoff under way, for its status; NULL: none */

json_t *
ngx_http_strangler_handoff_json(ngx_http_request_t *r,
    ngx_http_strangler_sh_route_t *shr)
{
    ngx_http_strangler_sh_handoff_t  *sh;

    sh = shr->handoff;

    if (sh == NULL || sh->state != NGX_HTTP_STRANGLER_HANDOFF_DRAINING) {
        return NULL;
    }

    return json_pack("{s:s, s:s%, s:s%, s:I, s:I, s:s, s:I, s:I}",
                     "state", "draining",
                     "from", sh->from->name.data, sh->from->name.len,
                     "to", sh->to->name.data, sh->to->name.len,
                     "in_flight", (json_int_t) (sh->from->writes
                                   & ~NGX_HTTP_STRANGLER_HANDOFF_FENCE),
                     "held", (json_int_t) sh->held,
                     "since",
                       ngx_http_strangler_report_time(r->pool, sh->started),
                     "draining_ms",
                       (json_int_t) (ngx_current_msec - sh->since),
                     "pid", (json_int_t) sh->pid);
}


void
ngx_http_strangler_handoff_metrics(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t, ngx_http_strangler_zone_ctx_t *z)
{
    size_t                             i, k;
    ngx_msec_t                         le;
    ngx_atomic_uint_t                  n;
    ngx_http_strangler_sh_writes_t   *shb;
    ngx_http_strangler_sh_handoffs_t  *s, none;

    s = z->sh->handoffs;

    if (s == NULL) {
        ngx_memzero(&none, sizeof(none));
        s = &none;
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_handoffs_total Owner changes, by result.\n"
        "# TYPE strangler_handoffs_total counter\n");

    for (k = 0; k < NGX_HTTP_STRANGLER_HANDOFF_NRESULTS; k++) {
        ngx_http_strangler_text(out,
            "strangler_handoffs_total{result=\"%s\"} %uA\n",
            ngx_http_strangler_handoff_results[k], s->results[k]);
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_handoff_held_writes_total "
        "Writes held while an owner's writes drained.\n"
        "# TYPE strangler_handoff_held_writes_total counter\n"
        "strangler_handoff_held_writes_total %uA\n"
        "# HELP strangler_handoff_refused_writes_total "
        "Writes refused (503) over a handoff's hold.\n"
        "# TYPE strangler_handoff_refused_writes_total counter\n"
        "strangler_handoff_refused_writes_total %uA\n"
        "# HELP strangler_handoff_drain_seconds "
        "How long the old owner's writes took to drain.\n"
        "# TYPE strangler_handoff_drain_seconds histogram\n",
        s->held, s->refused);

    n = 0;

    for (k = 0; k < NGX_HTTP_STRANGLER_NBUCKETS; k++) {
        n += s->drain_bucket[k];

        if (k == NGX_HTTP_STRANGLER_NBUCKETS - 1) {
            ngx_http_strangler_text(out,
                "strangler_handoff_drain_seconds_bucket{le=\"+Inf\"} %uA\n",
                n);
            break;
        }

        le = ngx_http_strangler_time_bounds[k];

        ngx_http_strangler_text(out,
            "strangler_handoff_drain_seconds_bucket{le=\"%M.%03M\"} %uA\n",
            le / 1000, le % 1000, n);
    }

    ngx_http_strangler_text(out,
        "strangler_handoff_drain_seconds_sum %uA.%03uA\n"
        "strangler_handoff_drain_seconds_count %uA\n"
        "# HELP strangler_writes_in_flight "
        "Writes at a backend now, per route.\n"
        "# TYPE strangler_writes_in_flight gauge\n",
        s->drain_sum / 1000, s->drain_sum % 1000, n);

    for (i = 0; i < t->core->nroutes; i++) {
        for (shb = t->bindings[i].shr->writes; shb; shb = shb->next) {
            ngx_http_strangler_text(out,
                "strangler_writes_in_flight{route=\"%V\",backend=\"%V\"} "
                "%uA\n", &t->bindings[i].shr->name, &shb->name,
                shb->writes & ~NGX_HTTP_STRANGLER_HANDOFF_FENCE);
        }
    }
}
