
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Guards: a route whose new side misbehaves sends its reads back to the
 * owner by itself.
 *
 * What is watched: the reads a backend other than the (effective) owner
 * serves, through the table, a split or an override; not writes, not
 * forced reads.  Per guarded route the zone holds a fixed block of
 * NGX_HTTP_STRANGLER_GUARD_SLOTS windows of counters (requests, 5xx,
 * compared and mismatched shadows, the upstream time histogram); the
 * request path only adds to the current window's atomics.
 *
 * Judging: every worker ticks every 100 ms.  When a route's previous window
 * is due, the worker that takes the zone's mutex with a trylock judges it
 * (strangler_guard_judge), marks it judged and clears the next slot; the
 * others find nothing due.  So each window is judged once, by whichever
 * worker gets there, across reloads too: the block and its window count
 * stay in the zone.  `failures` failing windows in a row trip the guard
 * (passing windows reset the run, inconclusive ones leave it).
 *
 * A trip is an override of the reads to the owner, by "guard", made with
 * the lock released through the one path every override takes
 * (ngx_http_strangler_override_patch, then the state file): every worker
 * sees it at its next request, a restart keeps it.  With strangler_etcd
 * it then goes to etcd in the background, so every host of the fleet
 * takes it; a guard never waits for the store.  The
 * trip lasts while the route's override is the guard's: re-arming, or any
 * new override, ends it.
 */


#include "ngx_http_strangler_guard.h"
#include "ngx_http_strangler_etcd.h"


#define NGX_HTTP_STRANGLER_GUARD_TICK   100     /* ms */
#define NGX_HTTP_STRANGLER_GUARD_TEXT   512



typedef struct {
    ngx_http_strangler_table_t         *table;
    const strangler_route_t            *route;
    ngx_http_strangler_binding_t       *binding;
} ngx_http_strangler_guarded_t;


/* what a judged window asks for, done once the mutex is released */
typedef struct {
    ngx_http_strangler_guarded_t       *guarded;
    ngx_uint_t                          trip;       /* 0: dry run */
    ngx_uint_t                          failed;
    strangler_guard_window_t            window;
    strangler_guard_result_t            result;
} ngx_http_strangler_guard_act_t;


static size_t ngx_http_strangler_guard_zone_bind(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    const strangler_route_t *route, ngx_uint_t full);
static ngx_int_t ngx_http_strangler_guard_bind(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    const strangler_route_t *route);
static ngx_http_strangler_guard_slot_t *ngx_http_strangler_guard_slot(
    ngx_http_strangler_ctx_t *ctx, ngx_http_strangler_binding_t *b);
static uint64_t ngx_http_strangler_guard_now(void);
static void ngx_http_strangler_guard_tick(ngx_event_t *ev);
static ngx_uint_t ngx_http_strangler_guard_is_due(
    ngx_http_strangler_guarded_t *g, uint64_t now);
static ngx_uint_t ngx_http_strangler_guard_judge(
    ngx_http_strangler_guarded_t *g, uint64_t now,
    ngx_http_strangler_guard_act_t *act);
static void ngx_http_strangler_guard_take(ngx_http_strangler_guard_slot_t *s,
    strangler_guard_window_t *w);
static void ngx_http_strangler_guard_act(ngx_http_strangler_guard_act_t *act);
static ngx_int_t ngx_http_strangler_guard_trip(
    ngx_http_strangler_guarded_t *g, ngx_str_t *owner);
static void ngx_http_strangler_guard_tripped(ngx_http_strangler_guarded_t *g);
static u_char *ngx_http_strangler_guard_figures(u_char *p, u_char *last,
    ngx_http_strangler_guard_act_t *act);
static u_char *ngx_http_strangler_guard_rate(u_char *p, u_char *last,
    int32_t ppm);


/* per worker: the guarded routes, room for their acts, the timer */
static ngx_array_t                      ngx_http_strangler_guarded;
static ngx_http_strangler_guard_act_t  *ngx_http_strangler_guard_acts;
static ngx_http_strangler_zone_ctx_t   *ngx_http_strangler_guard_zone;
static ngx_event_t                      ngx_http_strangler_guard_timer;

/* the timer's data: debug logging reads an fd there */
static ngx_connection_t                 ngx_http_strangler_guard_conn;

static ngx_http_strangler_zone_bind_pt  ngx_http_strangler_guard_next_bind;


/*
 * Postconfiguration: a guard counts in the zone, and watches nothing
 * without one.  A warning, not an error: the same table runs in tests of
 * its routes (Test::Nginx) that have no zone.
 */

ngx_int_t
ngx_http_strangler_guard_init_conf(ngx_conf_t *cf,
    ngx_http_strangler_main_conf_t *smcf)
{
    size_t                           r;
    ngx_uint_t                       i;
    ngx_http_strangler_table_t     **tables;
    ngx_http_strangler_zone_ctx_t   *z;

    z = ngx_http_strangler_zone_ctx(smcf);

    if (z) {
        /* a guarded route's block gets its windows */
        ngx_http_strangler_guard_next_bind = z->bind;
        z->bind = ngx_http_strangler_guard_zone_bind;
        return NGX_OK;
    }

    tables = smcf->tables.elts;

    for (i = 0; i < smcf->tables.nelts; i++) {
        for (r = 0; r < tables[i]->core->nroutes; r++) {
            if (!tables[i]->core->routes[r].guard.enabled) {
                continue;
            }

            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "route \"%s\" of \"%V\" has a guard, which "
                          "watches nothing without a \"strangler_zone\"",
                          tables[i]->core->routes[r].name.data,
                          &tables[i]->file);
            return NGX_OK;
        }
    }

    return NGX_OK;
}


static size_t
ngx_http_strangler_guard_zone_bind(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, const strangler_route_t *route,
    ngx_uint_t full)
{
    size_t  need;

    need = 0;

    if (!route->guard.enabled || shr->guard) {
        (void) ngx_http_strangler_guard_bind(z, shr, route);

    } else if (full
               || ngx_http_strangler_guard_bind(z, shr, route) != NGX_OK)
    {
        need = ngx_http_strangler_zone_block(
                   sizeof(ngx_http_strangler_sh_guard_t));
    }

    if (ngx_http_strangler_guard_next_bind) {
        need += ngx_http_strangler_guard_next_bind(z, shr, route,
                                                   full || need);
    }

    return need;
}


static ngx_int_t
ngx_http_strangler_guard_bind(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, const strangler_route_t *route)
{
    ngx_http_strangler_sh_guard_t  *shg;

    if (!route->guard.enabled) {
        return NGX_OK;
    }

    shg = shr->guard;

    if (shg == NULL) {
        shg = ngx_slab_calloc_locked(z->shpool,
                                     sizeof(ngx_http_strangler_sh_guard_t));
        if (shg == NULL) {
            return NGX_ERROR;
        }

        shg->window = route->guard.window_ms;
        ngx_memory_barrier();
        shr->guard = shg;
    }

    if (shg->window != route->guard.window_ms) {
        /* another window: the slots are numbered anew */
        ngx_memzero(shg->slot, sizeof(shg->slot));
        shg->evaluated = 0;
        shg->failed = 0;
        shg->window = route->guard.window_ms;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_strangler_guard_init_process(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf)
{
    size_t                          r;
    ngx_uint_t                      i;
    ngx_http_strangler_table_t    **tables, *t;
    ngx_http_strangler_guarded_t   *g;

    ngx_http_strangler_guard_zone = ngx_http_strangler_zone_ctx(smcf);

    if (ngx_http_strangler_guard_zone == NULL) {
        return NGX_OK;
    }

    if (ngx_array_init(&ngx_http_strangler_guarded, cycle->pool, 4,
                       sizeof(ngx_http_strangler_guarded_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    tables = smcf->tables.elts;

    for (i = 0; i < smcf->tables.nelts; i++) {
        t = tables[i];

        for (r = 0; t->bindings && r < t->core->nroutes; r++) {
            if (!t->core->routes[r].guard.enabled) {
                continue;
            }

            g = ngx_array_push(&ngx_http_strangler_guarded);
            if (g == NULL) {
                return NGX_ERROR;
            }

            g->table = t;
            g->route = &t->core->routes[r];
            g->binding = &t->bindings[r];
        }
    }

    if (ngx_http_strangler_guarded.nelts == 0) {
        return NGX_OK;
    }

    ngx_http_strangler_guard_acts = ngx_pcalloc(cycle->pool,
                                   ngx_http_strangler_guarded.nelts
                                   * sizeof(ngx_http_strangler_guard_act_t));
    if (ngx_http_strangler_guard_acts == NULL) {
        return NGX_ERROR;
    }

    ngx_http_strangler_guard_conn.fd = (ngx_socket_t) -1;

    ngx_http_strangler_guard_timer.handler = ngx_http_strangler_guard_tick;
    ngx_http_strangler_guard_timer.data = &ngx_http_strangler_guard_conn;
    ngx_http_strangler_guard_timer.log = cycle->log;
    ngx_http_strangler_guard_timer.cancelable = 1;

    ngx_add_timer(&ngx_http_strangler_guard_timer,
                  NGX_HTTP_STRANGLER_GUARD_TICK);

    return NGX_OK;
}


/* the request path ------------------------------------------------------ */

void
ngx_http_strangler_guard_count(ngx_http_strangler_ctx_t *ctx,
    ngx_http_strangler_binding_t *b, ngx_uint_t status, ngx_int_t bucket)
{
    ngx_http_strangler_guard_slot_t  *s;

    s = ngx_http_strangler_guard_slot(ctx, b);
    if (s == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&s->requests, 1);

    if (status >= 500 && status < 600) {
        (void) ngx_atomic_fetch_add(&s->errors, 1);
    }

    if (bucket >= 0 && bucket < NGX_HTTP_STRANGLER_NBUCKETS) {
        (void) ngx_atomic_fetch_add(&s->time_bucket[bucket], 1);
    }
}


void
ngx_http_strangler_guard_count_shadow(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t what)
{
    ngx_http_strangler_binding_t     *b;
    ngx_http_strangler_guard_slot_t  *s;

    if (what != NGX_HTTP_STRANGLER_SHADOW_MATCHED
        && what != NGX_HTTP_STRANGLER_SHADOW_MISMATCHED)
    {
        return;
    }

    b = ngx_http_strangler_binding(ctx->table, ctx->decision.route);
    if (b == NULL) {
        return;
    }

    s = ngx_http_strangler_guard_slot(ctx, b);
    if (s == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&s->compared, 1);

    if (what == NGX_HTTP_STRANGLER_SHADOW_MISMATCHED) {
        (void) ngx_atomic_fetch_add(&s->mismatched, 1);
    }
}


/* the current window's slot, if the guard watches this request */

static ngx_http_strangler_guard_slot_t *
ngx_http_strangler_guard_slot(ngx_http_strangler_ctx_t *ctx,
    ngx_http_strangler_binding_t *b)
{
    int                             owner;
    const strangler_route_t        *route;
    const strangler_decision_t     *d;
    ngx_http_strangler_sh_guard_t  *shg;

    d = &ctx->decision;
    route = d->route;

    if (route == NULL || !route->guard.enabled || d->write
        || d->reason == STRANGLER_REASON_FORCE)
    {
        return NULL;
    }

    shg = b->shr->guard;
    if (shg == NULL) {
        return NULL;
    }

    /* the override this process resolved for the decision */
    owner = (b->has_override && b->override.owner >= 0) ? b->override.owner
                                                         : route->owner;

    if (d->backend == owner) {
        return NULL;
    }

    return &shg->slot[(ngx_http_strangler_guard_now()
                       / route->guard.window_ms)
                      % NGX_HTTP_STRANGLER_GUARD_SLOTS];
}


/* wall-clock ms, as cached for this event loop iteration */

static uint64_t
ngx_http_strangler_guard_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}


/* judging ---------------------------------------------------------------- */

static void
ngx_http_strangler_guard_tick(ngx_event_t *ev)
{
    uint64_t                        now;
    ngx_uint_t                      i, n;
    ngx_slab_pool_t                *shpool;
    ngx_http_strangler_guarded_t   *g;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    now = ngx_http_strangler_guard_now();
    g = ngx_http_strangler_guarded.elts;

    /* without the mutex first: most ticks find nothing due */

    for (i = 0; i < ngx_http_strangler_guarded.nelts; i++) {
        if (ngx_http_strangler_guard_is_due(&g[i], now)) {
            break;
        }
    }

    shpool = ngx_http_strangler_guard_zone->shpool;

    if (i < ngx_http_strangler_guarded.nelts
        && ngx_shmtx_trylock(&shpool->mutex))
    {
        n = 0;

        for (i = 0; i < ngx_http_strangler_guarded.nelts; i++) {
            n += ngx_http_strangler_guard_judge(&g[i], now,
                                            &ngx_http_strangler_guard_acts[n]);
        }

        ngx_shmtx_unlock(&shpool->mutex);

        for (i = 0; i < n; i++) {
            ngx_http_strangler_guard_act(&ngx_http_strangler_guard_acts[i]);
        }
    }

    ngx_add_timer(ev, NGX_HTTP_STRANGLER_GUARD_TICK);
}


static ngx_uint_t
ngx_http_strangler_guard_is_due(ngx_http_strangler_guarded_t *g,
    uint64_t now)
{
    ngx_http_strangler_sh_guard_t  *shg;

    shg = g->binding->shr->guard;

    /* judged up to the previous window, or something is to be done */

    return shg != NULL
           && shg->evaluated + 1 != now / g->route->guard.window_ms;
}


/* with the mutex held; 1: *act is to be done */

static ngx_uint_t
ngx_http_strangler_guard_judge(ngx_http_strangler_guarded_t *g,
    uint64_t now, ngx_http_strangler_guard_act_t *act)
{
    uint64_t                        w;
    const strangler_guard_t        *guard;
    ngx_http_strangler_sh_route_t  *shr;
    ngx_http_strangler_sh_guard_t  *shg;

    guard = &g->route->guard;
    shr = g->binding->shr;
    shg = shr->guard;

    /* a block numbered by another configuration's window is not ours */

    if (shg == NULL || shg->window != guard->window_ms) {
        return 0;
    }

    w = now / guard->window_ms;

    if (shg->evaluated + 1 == w) {
        return 0;
    }

    if (shg->evaluated + 2 != w) {
        /*
         * The first window, windows nobody judged, or a clock set back:
         * start afresh.
         */
        ngx_memzero(shg->slot, sizeof(shg->slot));
        shg->evaluated = w - 1;
        return 0;
    }

    ngx_http_strangler_guard_take(
                        &shg->slot[(w - 1) % NGX_HTTP_STRANGLER_GUARD_SLOTS],
                        &shg->last);
    ngx_memzero(&shg->slot[(w + 1) % NGX_HTTP_STRANGLER_GUARD_SLOTS],
                sizeof(ngx_http_strangler_guard_slot_t));
    shg->evaluated = w - 1;

    strangler_guard_judge(guard, &shg->last, &shg->result);
    shg->judged_at = ngx_time();

    if (ngx_http_strangler_guard_is_trip(shr->override)) {
        /* tripped already, maybe before a restart: nothing to judge */
        shg->tripped = 1;
        shg->failed = 0;
        return 0;
    }

    if (shg->tripped) {
        /* re-armed, or a new override replaced the guard's */
        shg->tripped = 0;
        shg->failed = 0;
    }

    switch (shg->result.verdict) {

    case STRANGLER_GUARD_FAIL:
        shg->failed++;
        break;

    case STRANGLER_GUARD_PASS:
        shg->failed = 0;
        break;

    default: /* inconclusive: neither breaks nor extends the run */
        break;
    }

    if (shg->failed < guard->failures) {
        return 0;
    }

    act->guarded = g;
    act->trip = !guard->dry_run;
    act->failed = shg->failed;
    act->window = shg->last;
    act->result = shg->result;

    shg->failed = 0;

    if (guard->dry_run) {
        (void) ngx_atomic_fetch_add(&shg->would_trips, 1);

    } else {
        shg->tripped = 1;
    }

    return 1;
}


static void
ngx_http_strangler_guard_take(ngx_http_strangler_guard_slot_t *s,
    strangler_guard_window_t *w)
{
    ngx_uint_t  i;

    w->requests = s->requests;
    w->errors = s->errors;
    w->compared = s->compared;
    w->mismatched = s->mismatched;

    for (i = 0; i < NGX_HTTP_STRANGLER_NBUCKETS; i++) {
        w->time_bucket[i] = s->time_bucket[i];
    }
}


/* acting, with the mutex released ---------------------------------------- */

static void
ngx_http_strangler_guard_act(ngx_http_strangler_guard_act_t *act)
{
    int                             owner;
    u_char                          text[NGX_HTTP_STRANGLER_GUARD_TEXT];
    u_char                         *last;
    ngx_str_t                      *name;
    strangler_override_t            ov;
    const strangler_route_t        *route;
    ngx_http_strangler_guarded_t   *g;

    g = act->guarded;
    route = g->route;

    last = ngx_http_strangler_guard_figures(text, text + sizeof(text) - 1,
                                            act);
    *last = '\0';

    if (!act->trip) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "strangler: guard of route \"%*s\" would trip (dry "
                      "run) after %ui failing windows of %uDms: %s",
                      route->name.len, route->name.data, act->failed,
                      route->guard.window_ms, text);
        return;
    }

    owner = route->owner;

    if (ngx_http_strangler_get_override(g->table, route, &ov) == NGX_OK
        && ov.owner >= 0)
    {
        owner = ov.owner;
    }

    name = ngx_http_strangler_backend_name(g->table, owner);

    if (ngx_http_strangler_guard_trip(g, name) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "strangler: guard of route \"%*s\" cannot trip: "
                      "strangler_zone \"%V\" is full (%s)",
                      route->name.len, route->name.data,
                      &ngx_http_strangler_guard_zone->name, text);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "strangler: guard of route \"%*s\" tripped after %ui "
                  "failing windows of %uDms: %s; its reads go back to the "
                  "owner \"%V\" until re-armed",
                  route->name.len, route->name.data, act->failed,
                  route->guard.window_ms, text, name);
}


/*
 * The override, as the API makes one, then the state file: the trip
 * applies on this host at once, in every worker, whatever the fleet's
 * store does.  With strangler_etcd it is then published in the
 * background, through etcd like every change, so that it reaches every
 * host, as a pending change (ngx_http_strangler_etcd_pending.c: tried
 * again until etcd has it, and kept over what etcd says meanwhile unless
 * that moved the owner).
 */

static ngx_int_t
ngx_http_strangler_guard_trip(ngx_http_strangler_guarded_t *g,
    ngx_str_t *owner)
{
    ngx_str_t                           name;
    ngx_uint_t                          store;
    ngx_http_strangler_zone_ctx_t      *z;
    ngx_http_strangler_override_rec_t   patch;

    z = ngx_http_strangler_guard_zone;

    ngx_memzero(&patch, sizeof(ngx_http_strangler_override_rec_t));

    patch.reads = *owner;
    patch.sample_ppm = -1;
    ngx_str_set(&patch.by, NGX_HTTP_STRANGLER_GUARD_BY);
    ngx_str_set(&patch.via, "guard");
    patch.at = ngx_time();

    name.data = (u_char *) g->route->name.data;
    name.len = g->route->name.len;

    store = ngx_http_strangler_change_store(z, 0);

    if (store == NGX_HTTP_STRANGLER_STORE_ETCD
        && ngx_http_strangler_etcd_local(z, &name) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_strangler_override_patch(z, g->binding->shr,
                                          NGX_HTTP_STRANGLER_OV_READS,
                                          &patch, NULL, NULL, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_strangler_guard_tripped(g);

    if (store == NGX_HTTP_STRANGLER_STORE_ETCD) {
        ngx_http_strangler_etcd_pending_mark(z, g->binding->shr);
        ngx_http_strangler_etcd_pending_publish(z, g->binding->shr,
                                                ngx_cycle->log);
    }

    return NGX_OK;
}


/* a trip applies: count it, save the state */

static void
ngx_http_strangler_guard_tripped(ngx_http_strangler_guarded_t *g)
{
    ngx_http_strangler_zone_ctx_t  *z;

    z = ngx_http_strangler_guard_zone;

    (void) ngx_atomic_fetch_add(&g->binding->shr->guard->trips, 1);
    g->binding->shr->guard->tripped_at = ngx_time();

    /*
     * Unlike an API change, a trip applies first: it protects users, and
     * is written as soon as no other change is being written.
     */

    ngx_http_strangler_change_keep(z, ngx_cycle->log);
}


ngx_uint_t
ngx_http_strangler_guard_is_trip(ngx_http_strangler_override_rec_t *ov)
{
    return ov != NULL
           && ov->by.len == sizeof(NGX_HTTP_STRANGLER_GUARD_BY) - 1
           && ngx_strncmp(ov->by.data, NGX_HTTP_STRANGLER_GUARD_BY,
                          ov->by.len) == 0;
}


void
ngx_http_strangler_guard_reset(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr)
{
    ngx_shmtx_lock(&z->shpool->mutex);

    if (shr->guard) {
        ngx_memzero(shr->guard->slot, sizeof(shr->guard->slot));
        shr->guard->failed = 0;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* "120 reads, 6 errors, error rate 5.00% over 1.00%, ..." */

static u_char *
ngx_http_strangler_guard_figures(u_char *p, u_char *last,
    ngx_http_strangler_guard_act_t *act)
{
    const strangler_guard_t         *guard;
    strangler_guard_window_t        *w;
    strangler_guard_result_t        *res;

    guard = &act->guarded->route->guard;
    w = &act->window;
    res = &act->result;

    p = ngx_slprintf(p, last, "%uL reads, %uL errors", w->requests,
                     w->errors);

    if (guard->error_ppm >= 0) {
        p = ngx_slprintf(p, last, ", error rate ");
        p = ngx_http_strangler_guard_rate(p, last, res->error_ppm);
        p = ngx_slprintf(p, last, "%s", res->error_over ? " over "
                                                         : " within ");
        p = ngx_http_strangler_guard_rate(p, last, guard->error_ppm);
    }

    if (guard->mismatch_ppm >= 0) {
        p = ngx_slprintf(p, last, ", %uL of %uL shadows mismatched, "
                         "mismatch rate ", w->mismatched, w->compared);
        p = ngx_http_strangler_guard_rate(p, last, res->mismatch_ppm);
        p = ngx_slprintf(p, last, "%s", res->mismatch_over ? " over "
                                                            : " within ");
        p = ngx_http_strangler_guard_rate(p, last, guard->mismatch_ppm);
    }

    if (guard->latency_p99_ms >= 0) {
        if (res->p99_ms >= 0) {
            p = ngx_slprintf(p, last, ", p99 %Dms", res->p99_ms);

        } else {
            p = ngx_slprintf(p, last, ", p99 -");
        }

        p = ngx_slprintf(p, last, "%s%Dms",
                         res->latency_over ? " over " : " within ",
                         guard->latency_p99_ms);
    }

    return p;
}


/* ppm as a percentage with two decimals, or "-" */

static u_char *
ngx_http_strangler_guard_rate(u_char *p, u_char *last, int32_t ppm)
{
    if (ppm < 0) {
        return ngx_slprintf(p, last, "-");
    }

    return ngx_slprintf(p, last, "%D.%02D%%", ppm / 10000, ppm % 10000 / 100);
}
