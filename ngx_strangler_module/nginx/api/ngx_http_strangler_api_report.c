
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What the API reports: a route as the status JSON shows it (its
 * configured and effective targets, override and counters) and the
 * counters in the Prometheus text format 0.0.4.
 *
 * Counters are read without the mutex: each is one atomic word, and the
 * lists of backends are only ever prepended to, a block filled in before
 * it is linked.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_etcd.h"


static json_t *ngx_http_strangler_report_configured(
    ngx_http_strangler_table_t *t, const strangler_route_t *route);
static json_t *ngx_http_strangler_report_reads(ngx_http_strangler_table_t *t,
    const strangler_route_t *route);
static json_t *ngx_http_strangler_report_effective(
    ngx_http_strangler_table_t *t, const strangler_route_t *route,
    ngx_http_strangler_override_rec_t *ov);
static json_t *ngx_http_strangler_report_paths(const strangler_route_t *route);
static json_t *ngx_http_strangler_report_methods(
    const strangler_route_t *route);
static json_t *ngx_http_strangler_report_counters(
    ngx_http_strangler_binding_t *b);
static json_t *ngx_http_strangler_report_backend(
    ngx_http_strangler_sh_backend_t *shb);
static json_t *ngx_http_strangler_report_responses(
    ngx_http_strangler_counters_t *c);
static json_t *ngx_http_strangler_report_sample(uint32_t ppm);
static void ngx_http_strangler_metrics_counters(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t);
static void ngx_http_strangler_metrics_histogram(
    ngx_http_strangler_text_t *out, ngx_http_strangler_table_t *t,
    const char *name, ngx_uint_t shadow);
static void ngx_http_strangler_metrics_shadow(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx);
static void ngx_http_strangler_metrics_routes(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t);
static void ngx_http_strangler_metrics_zone(ngx_http_strangler_text_t *out,
    ngx_http_strangler_zone_ctx_t *z);
static void ngx_http_strangler_metrics_progress(
    ngx_http_strangler_text_t *out, ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static ngx_str_t *ngx_http_strangler_metrics_route(
    ngx_http_strangler_table_t *t, size_t i);
static u_char *ngx_http_strangler_metrics_seconds(u_char *p, ngx_msec_t ms);


static const char  *ngx_http_strangler_skip_reasons[] = {
    "upgrade", "connect"
};


/* the shadows of every worker: slots, copies in flight, diff log losses */

json_t *
ngx_http_strangler_report_slots(ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_shctx_t  *sh;

    sh = ctx->zone->sh;

    return json_pack("{s:I, s:I, s:I, s:I}",
                     "slots_per_worker",
                       (json_int_t) ctx->zone->smcf->shadow_limit,
                     "in_flight", (json_int_t) sh->shadows,
                     "high_water", (json_int_t) sh->shadows_high,
                     "diff_log_dropped", (json_int_t) sh->diff_dropped);
}


json_t *
ngx_http_strangler_report_route(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, const strangler_route_t *route)
{
    json_t                             *j, *h;
    ngx_int_t                           rc;
    ngx_uint_t                          stage, split;
    ngx_http_strangler_table_t         *t;
    ngx_http_strangler_binding_t       *b;
    ngx_http_strangler_override_rec_t   ov;

    t = ctx->table;
    b = ngx_http_strangler_binding(t, route);

    rc = ngx_http_strangler_override_read(ctx->zone, b->shr, &ov, r->pool);
    if (rc == NGX_ERROR) {
        return NULL;
    }

    stage = ngx_http_strangler_route_stage(t, route, &ov, &split);

    j = json_pack("{s:s%, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o}",
                  "name", route->name.data, route->name.len,
                  "stage", ngx_http_strangler_stage_name(stage),
                  "split", (int) split,
                  "paths", ngx_http_strangler_report_paths(route),
                  "methods", ngx_http_strangler_report_methods(route),
                  "configured",
                    ngx_http_strangler_report_configured(t, route),
                  "effective",
                    ngx_http_strangler_report_effective(t, route, &ov),
                  "override", ngx_http_strangler_report_override(r, &ov),
                  "counters", ngx_http_strangler_report_counters(b));

    /* applied here, not yet in etcd: ngx_http_strangler_etcd_pending.c */

    if (j && b->shr->pending && b->shr->override
        && json_object_set_new(j, "pending", json_string("etcd")))
    {
        json_decref(j);
        return NULL;
    }

    if (j && route->guard.enabled
        && json_object_set_new(j, "guard",
                       ngx_http_strangler_report_guard(r, ctx, route, &ov)))
    {
        json_decref(j);
        return NULL;
    }

    /* an owner change under way */

    h = (j && b->shr->handoff) ? ngx_http_strangler_handoff_json(r, b->shr)
                               : NULL;

    if (h && json_object_set_new(j, "handoff", h)) {
        json_decref(j);
        return NULL;
    }

    /* the API's ignore rules (PUT routes/NAME/ignore), when there are */

    if (j && b->shr->fields && b->shr->fields->nignore
        && json_object_set_new(j, "runtime_ignore",
                       ngx_http_strangler_ignore_json(b->shr->fields, 0)))
    {
        json_decref(j);
        return NULL;
    }

    return j;
}


/*
 * What a rollback did: "rolled back" or "nothing to roll back", and each
 * effective target that moved, from what it was before to what it is now.
 */

json_t *
ngx_http_strangler_report_rollback(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    json_t                             *was, *now, *changed, *v, *c;
    const char                         *key;
    ngx_http_strangler_override_rec_t   ov;

    if (ngx_http_strangler_override_read(ctx->zone, ctx->binding->shr, &ov,
                                         r->pool)
        == NGX_ERROR)
    {
        return NULL;
    }

    was = ngx_http_strangler_report_effective(ctx->table, ctx->route,
                                              &ctx->before);
    now = ngx_http_strangler_report_effective(ctx->table, ctx->route, &ov);
    changed = json_object();

    if (was == NULL || now == NULL || changed == NULL) {
        goto failed;
    }

    json_object_foreach(now, key, v) {
        if (json_equal(v, json_object_get(was, key))) {
            continue;
        }

        c = json_pack("{s:O, s:O}", "from", json_object_get(was, key),
                      "to", v);

        if (json_object_set_new(changed, key, c) != 0) {
            goto failed;
        }
    }

    json_decref(was);
    json_decref(now);

    return json_pack("{s:s, s:o}",
                     "result", ctx->rolled_back ? "rolled back"
                                                : "nothing to roll back",
                     "changed", changed);

failed:

    json_decref(was);
    json_decref(now);
    json_decref(changed);

    return NULL;
}


json_t *
ngx_http_strangler_report_default(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_table_t  *t;

    t = ctx->table;

    return json_pack("{s:s, s:o, s:o}",
                     "name", STRANGLER_DEFAULT_ROUTE,
                     "backend",
                       ngx_http_strangler_backend_json(t,
                                                 t->core->default_backend),
                     "counters",
                       ngx_http_strangler_report_counters(
                                                ngx_http_strangler_binding(t,
                                                                      NULL)));
}


static json_t *
ngx_http_strangler_report_configured(ngx_http_strangler_table_t *t,
    const strangler_route_t *route)
{
    json_t                    *shadow;
    const strangler_shadow_t  *sh;

    sh = &route->shadow;

    if (sh->enabled) {
        shadow = json_pack("{s:o, s:o}",
                           "to", (sh->to >= 0)
                                 ? ngx_http_strangler_backend_json(t, sh->to)
                                 : json_null(),
                           "sample",
                             ngx_http_strangler_report_sample(sh->sample_ppm));

    } else {
        shadow = json_null();
    }

    return json_pack("{s:o, s:o, s:o}",
                     "owner", ngx_http_strangler_backend_json(t, route->owner),
                     "reads", ngx_http_strangler_report_reads(t, route),
                     "shadow", shadow);
}


/* a backend name, or {"name": weight, ...} for a split */

static json_t *
ngx_http_strangler_report_reads(ngx_http_strangler_table_t *t,
    const strangler_route_t *route)
{
    size_t      i;
    json_t     *split;
    ngx_str_t  *name;

    if (route->nreads == 0) {
        return ngx_http_strangler_backend_json(t, route->owner);
    }

    if (route->nreads == 1) {
        return ngx_http_strangler_backend_json(t, route->reads[0].backend);
    }

    split = json_object();

    for (i = 0; split && i < route->nreads; i++) {
        name = ngx_http_strangler_backend_name(t, route->reads[i].backend);

        if (json_object_setn_new(split, (char *) name->data, name->len,
                                 json_integer(route->reads[i].weight)))
        {
            json_decref(split);
            split = NULL;
        }
    }

    return split;
}


static json_t *
ngx_http_strangler_report_effective(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_override_rec_t *ov)
{
    json_t  *owner, *reads, *sample;

    owner = ov->owner.len
            ? json_stringn((char *) ov->owner.data, ov->owner.len)
            : ngx_http_strangler_backend_json(t, route->owner);

    reads = ov->reads.len
            ? json_stringn((char *) ov->reads.data, ov->reads.len)
            : ngx_http_strangler_report_reads(t, route);

    if (!route->shadow.enabled) {
        sample = json_null();

    } else if (ov->sample_ppm >= 0) {
        sample = ngx_http_strangler_report_sample(ov->sample_ppm);

    } else {
        sample = ngx_http_strangler_report_sample(route->shadow.sample_ppm);
    }

    return json_pack("{s:o, s:o, s:o}", "owner", owner, "reads", reads,
                     "shadow_sample", sample);
}


json_t *
ngx_http_strangler_report_override(ngx_http_request_t *r,
    ngx_http_strangler_override_rec_t *ov)
{
    json_t  *j;

    if (ov->reads.len == 0 && ov->owner.len == 0 && ov->sample_ppm < 0) {
        return json_null();
    }

    j = ngx_http_strangler_override_json(ov);

    if (j && json_object_set_new(j, "at",
                        json_string(ngx_http_strangler_report_time(r->pool,
                                                                   ov->at))))
    {
        json_decref(j);
        return NULL;
    }

    return j;
}


static json_t *
ngx_http_strangler_report_paths(const strangler_route_t *route)
{
    size_t   i;
    json_t  *paths;

    paths = json_array();

    for (i = 0; paths && i < route->paths.n; i++) {
        if (json_array_append_new(paths,
                                  json_stringn(route->paths.items[i].data,
                                               route->paths.items[i].len)))
        {
            json_decref(paths);
            paths = NULL;
        }
    }

    return paths;
}


/* the methods a route is limited to, or null: all */

static json_t *
ngx_http_strangler_report_methods(const strangler_route_t *route)
{
    size_t       m;
    json_t      *methods;
    const char  *name;

    if (route->methods == 0) {
        return json_null();
    }

    methods = json_array();

    for (m = 0; methods && m < STRANGLER_M_OTHER; m++) {
        name = strangler_method_name((strangler_method_t) m);

        if ((route->methods & (1u << m))
            && json_array_append_new(methods, json_string(name)))
        {
            json_decref(methods);
            methods = NULL;
        }
    }

    return methods;
}


static json_t *
ngx_http_strangler_report_counters(ngx_http_strangler_binding_t *b)
{
    size_t                            i;
    json_t                           *backends, *shadow, *skipped, *counters;
    ngx_http_strangler_sh_backend_t  *shb;

    backends = json_object();
    shadow = json_object();
    skipped = json_object();

    for (shb = b->shr->backends; backends && shb; shb = shb->next) {
        counters = ngx_http_strangler_report_backend(shb);

        if (json_object_setn_new(backends, (char *) shb->name.data,
                                 shb->name.len, counters))
        {
            json_decref(backends);
            backends = NULL;
        }
    }

    for (i = 0; shadow && i < NGX_HTTP_STRANGLER_SHADOW_NEVENTS; i++) {
        if (json_object_set_new(shadow, ngx_http_strangler_shadow_events[i],
                                json_integer(b->shr->shadow[i])))
        {
            json_decref(shadow);
            shadow = NULL;
        }
    }

    for (i = 0; skipped && i < NGX_HTTP_STRANGLER_SKIP_NREASONS; i++) {
        if (json_object_set_new(skipped, ngx_http_strangler_skip_reasons[i],
                                json_integer(b->shr->skipped[i])))
        {
            json_decref(skipped);
            skipped = NULL;
        }
    }

    return json_pack("{s:o, s:o, s:o}", "backends", backends,
                     "shadow", shadow, "shadow_skipped", skipped);
}


static json_t *
ngx_http_strangler_report_backend(ngx_http_strangler_sh_backend_t *shb)
{
    ngx_http_strangler_counters_t  *c, *sc;

    c = &shb->counters;
    sc = &shb->shadow;

    return json_pack("{s:I, s:o, s:{s:I, s:I}, s:{s:I, s:o, s:{s:I, s:I}}}",
                     "requests", (json_int_t) c->requests,
                     "responses", ngx_http_strangler_report_responses(c),
                     "upstream_time",
                       "count", (json_int_t) c->timed,
                       "sum_ms", (json_int_t) c->time_sum,
                     "shadow_answers",
                       "count", (json_int_t) sc->requests,
                       "responses", ngx_http_strangler_report_responses(sc),
                       "time",
                         "count", (json_int_t) sc->timed,
                         "sum_ms", (json_int_t) sc->time_sum);
}


static json_t *
ngx_http_strangler_report_responses(ngx_http_strangler_counters_t *c)
{
    json_t      *responses;
    ngx_uint_t   k;

    responses = json_object();

    for (k = 0; responses && k < NGX_HTTP_STRANGLER_NCLASSES; k++) {
        if (json_object_set_new(responses, ngx_http_strangler_classes[k],
                                json_integer((json_int_t) c->status[k])))
        {
            json_decref(responses);
            responses = NULL;
        }
    }

    return responses;
}


json_t *
ngx_http_strangler_backend_json(ngx_http_strangler_table_t *t, int backend)
{
    ngx_str_t  *name;

    name = ngx_http_strangler_backend_name(t, backend);

    return json_stringn((char *) name->data, name->len);
}


/* a sample in percent: 12.5 */

static json_t *
ngx_http_strangler_report_sample(uint32_t ppm)
{
    return json_real(strangler_ppm_to_percent(ppm));
}


/* ISO 8601, UTC */

char *
ngx_http_strangler_report_time(ngx_pool_t *pool, time_t t)
{
    u_char    *p;
    ngx_tm_t   tm;

    p = ngx_pnalloc(pool, sizeof("1970-01-01T00:00:00Z"));
    if (p == NULL) {
        return NULL;
    }

    ngx_gmtime(t, &tm);

    ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02dZ%Z",
                tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    return (char *) p;
}


ngx_chain_t *
ngx_http_strangler_report_metrics(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_text_t  out;

    ngx_memzero(&out, sizeof(ngx_http_strangler_text_t));
    out.pool = r->pool;
    out.last = &out.first;

    ngx_http_strangler_metrics_counters(&out, ctx->table);
    ngx_http_strangler_metrics_histogram(&out, ctx->table,
                                         "upstream_response", 0);
    ngx_http_strangler_metrics_routes(&out, ctx->table);
    ngx_http_strangler_metrics_zone(&out, ctx->zone);
    ngx_http_strangler_handoff_metrics(&out, ctx->table, ctx->zone);
    ngx_http_strangler_metrics_guards(&out, ctx);
    ngx_http_strangler_metrics_histogram(&out, ctx->table,
                                         "shadow_response", 1);
    ngx_http_strangler_metrics_shadow(&out, ctx);
    ngx_http_strangler_metrics_capture(&out, ctx);
    ngx_http_strangler_metrics_fields(&out, ctx);
    ngx_http_strangler_metrics_progress(&out, r, ctx);

    ngx_http_strangler_metrics_info(&out, ctx);

    ngx_http_strangler_text(&out,
        "# HELP strangler_table_loaded_timestamp_seconds "
        "When the route table was loaded.\n"
        "# TYPE strangler_table_loaded_timestamp_seconds gauge\n"
        "strangler_table_loaded_timestamp_seconds{sha256=\"%s\"} %T\n",
        ctx->table->core->sha256, ctx->table->loaded);

    if (ctx->zone->smcf->etcd) {
        ngx_http_strangler_etcd_metrics(&out, ctx->zone->smcf);
    }

    return out.failed ? NULL : out.first;
}


/* requests and responses by class, per route and backend */

static void
ngx_http_strangler_metrics_counters(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t)
{
    size_t                            i, k;
    ngx_str_t                        *route;
    ngx_http_strangler_sh_backend_t  *shb;

    ngx_http_strangler_text(out,
        "# HELP strangler_requests_total "
        "Requests the strangler dispatched, by route and backend.\n"
        "# TYPE strangler_requests_total counter\n");

    for (i = 0; i <= t->core->nroutes; i++) {
        route = ngx_http_strangler_metrics_route(t, i);

        for (shb = t->bindings[i].shr->backends; shb; shb = shb->next) {
            ngx_http_strangler_text(out,
                "strangler_requests_total{route=\"%V\",backend=\"%V\"} %uA\n",
                route, &shb->name, shb->counters.requests);
        }
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_responses_total "
        "Responses by route, backend and status class.\n"
        "# TYPE strangler_responses_total counter\n");

    for (i = 0; i <= t->core->nroutes; i++) {
        route = ngx_http_strangler_metrics_route(t, i);

        for (shb = t->bindings[i].shr->backends; shb; shb = shb->next) {
            for (k = 0; k < NGX_HTTP_STRANGLER_NCLASSES; k++) {
                ngx_http_strangler_text(out,
                    "strangler_responses_total{route=\"%V\",backend=\"%V\","
                    "code=\"%s\"} %uA\n", route, &shb->name,
                    ngx_http_strangler_classes[k], shb->counters.status[k]);
            }
        }
    }
}


static void
ngx_http_strangler_metrics_histogram(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t, const char *name, ngx_uint_t shadow)
{
    size_t                            i, k;
    u_char                            le[NGX_INT_T_LEN + 8], *p;
    ngx_str_t                        *route;
    ngx_atomic_uint_t                 acc;
    ngx_http_strangler_counters_t    *c;
    ngx_http_strangler_sh_backend_t  *shb;

    if (shadow) {
        ngx_http_strangler_text(out,
            "# HELP strangler_shadow_response_seconds "
            "Time from sending a shadow copy to its complete answer.\n"
            "# TYPE strangler_shadow_response_seconds histogram\n");

    } else {
        ngx_http_strangler_text(out,
            "# HELP strangler_upstream_response_seconds "
            "Upstream response time, summed over the tries of a request; "
            "upgraded connections left out.\n"
            "# TYPE strangler_upstream_response_seconds histogram\n");
    }

    for (i = 0; i <= t->core->nroutes; i++) {
        route = ngx_http_strangler_metrics_route(t, i);

        for (shb = t->bindings[i].shr->backends; shb; shb = shb->next) {
            c = shadow ? &shb->shadow : &shb->counters;
            acc = 0;

            if (shadow && c->requests == 0) {
                continue;
            }

            for (k = 0; k < NGX_HTTP_STRANGLER_NBUCKETS; k++) {
                acc += c->time_bucket[k];

                if (k < NGX_HTTP_STRANGLER_NBUCKETS - 1) {
                    p = ngx_http_strangler_metrics_seconds(le,
                                           ngx_http_strangler_time_bounds[k]);
                } else {
                    p = ngx_cpymem(le, "+Inf", 4);
                }

                ngx_http_strangler_text(out,
                    "strangler_%s_seconds_bucket{route=\"%V\","
                    "backend=\"%V\",le=\"%*s\"} %uA\n",
                    name, route, &shb->name, p - le, le, acc);
            }

            p = ngx_http_strangler_metrics_seconds(le, c->time_sum);

            ngx_http_strangler_text(out,
                "strangler_%s_seconds_sum{route=\"%V\","
                "backend=\"%V\"} %*s\n"
                "strangler_%s_seconds_count{route=\"%V\","
                "backend=\"%V\"} %uA\n",
                name, route, &shb->name, p - le, le,
                name, route, &shb->name, c->timed);
        }
    }
}


/* per route: shadow outcomes, and whether an override applies */

static void
ngx_http_strangler_metrics_routes(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t)
{
    size_t                          i, k;
    ngx_str_t                      *route;
    ngx_http_strangler_sh_route_t  *shr;

    /*
     * A request picked for a shadow is sent or dropped; a copy sent ends
     * in one outcome: two metrics, so that each sums to something
     */

    ngx_http_strangler_text(out,
        "# HELP strangler_shadow_requests_total "
        "Requests picked for a shadow, by route: sent or dropped.\n"
        "# TYPE strangler_shadow_requests_total counter\n");

    for (i = 0; i < t->core->nroutes; i++) {
        route = ngx_http_strangler_metrics_route(t, i);
        shr = t->bindings[i].shr;

        for (k = 0; k <= NGX_HTTP_STRANGLER_SHADOW_DROPPED; k++) {
            ngx_http_strangler_text(out,
                "strangler_shadow_requests_total{route=\"%V\","
                "result=\"%s\"} %uA\n",
                route, ngx_http_strangler_shadow_events[k], shr->shadow[k]);
        }
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_shadow_total "
        "Shadow copies sent, by route and final outcome.\n"
        "# TYPE strangler_shadow_total counter\n");

    for (i = 0; i < t->core->nroutes; i++) {
        route = ngx_http_strangler_metrics_route(t, i);
        shr = t->bindings[i].shr;

        for (k = NGX_HTTP_STRANGLER_SHADOW_DROPPED + 1;
             k < NGX_HTTP_STRANGLER_SHADOW_NEVENTS;
             k++)
        {
            ngx_http_strangler_text(out,
                "strangler_shadow_total{route=\"%V\",outcome=\"%s\"} %uA\n",
                route, ngx_http_strangler_shadow_events[k], shr->shadow[k]);
        }
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_regex_limit_total "
        "Lookups where a regex of the route hit a PCRE2 limit (no match).\n"
        "# TYPE strangler_regex_limit_total counter\n");

    for (i = 0; i < t->core->nroutes; i++) {
        ngx_http_strangler_text(out,
                                "strangler_regex_limit_total{route=\"%V\"} "
                                "%uA\n", ngx_http_strangler_metrics_route(t, i),
                                t->bindings[i].shr->regex_limit);
    }

    ngx_http_strangler_metrics_overrides(out, t);
}


/*
 * The shadow side's answers by class, copies never made by reason, and the
 * slots: in flight over every worker, the most one worker held, the limit
 */

static void
ngx_http_strangler_metrics_shadow(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx)
{
    size_t                            i, k;
    ngx_str_t                        *route;
    ngx_http_strangler_table_t       *t;
    ngx_http_strangler_shctx_t       *sh;
    ngx_http_strangler_sh_backend_t  *shb;

    t = ctx->table;
    sh = ctx->zone->sh;

    ngx_http_strangler_text(out,
        "# HELP strangler_shadow_responses_total "
        "Answers of the shadow side by route, backend and status class.\n"
        "# TYPE strangler_shadow_responses_total counter\n");

    for (i = 0; i < t->core->nroutes; i++) {
        route = ngx_http_strangler_metrics_route(t, i);

        for (shb = t->bindings[i].shr->backends; shb; shb = shb->next) {
            if (shb->shadow.requests == 0) {
                continue;
            }

            for (k = 0; k < NGX_HTTP_STRANGLER_NCLASSES; k++) {
                ngx_http_strangler_text(out,
                    "strangler_shadow_responses_total{route=\"%V\","
                    "backend=\"%V\",code=\"%s\"} %uA\n", route,
                    &shb->name, ngx_http_strangler_classes[k],
                    shb->shadow.status[k]);
            }
        }
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_shadow_skipped_total "
        "Requests picked for a shadow and never copied, by reason.\n"
        "# TYPE strangler_shadow_skipped_total counter\n");

    for (i = 0; i < t->core->nroutes; i++) {
        route = ngx_http_strangler_metrics_route(t, i);

        for (k = 0; k < NGX_HTTP_STRANGLER_SKIP_NREASONS; k++) {
            ngx_http_strangler_text(out,
                "strangler_shadow_skipped_total{route=\"%V\","
                "reason=\"%s\"} %uA\n", route,
                ngx_http_strangler_skip_reasons[k],
                t->bindings[i].shr->skipped[k]);
        }
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_shadow_in_flight "
        "Shadow copies in flight, over every worker.\n"
        "# TYPE strangler_shadow_in_flight gauge\n"
        "strangler_shadow_in_flight %uA\n"
        "# HELP strangler_shadow_slots_high_water "
        "The most shadow slots one worker has held at once.\n"
        "# TYPE strangler_shadow_slots_high_water gauge\n"
        "strangler_shadow_slots_high_water %uA\n"
        "# HELP strangler_shadow_slots "
        "Shadow slots per worker (strangler_shadow_limit).\n"
        "# TYPE strangler_shadow_slots gauge\n"
        "strangler_shadow_slots %ui\n"
        "# HELP strangler_diff_log_dropped_total "
        "Diff log lines dropped: the disk was slower than the mismatches.\n"
        "# TYPE strangler_diff_log_dropped_total counter\n"
        "strangler_diff_log_dropped_total %uA\n",
        sh->shadows, sh->shadows_high, ctx->zone->smcf->shadow_limit,
        sh->diff_dropped);
}


static void
ngx_http_strangler_metrics_zone(ngx_http_strangler_text_t *out,
    ngx_http_strangler_zone_ctx_t *z)
{
    ngx_http_strangler_text(out,
        "# HELP strangler_zone_size_bytes The strangler_zone's size.\n"
        "# TYPE strangler_zone_size_bytes gauge\n"
        "strangler_zone_size_bytes %uz\n"
        "# HELP strangler_zone_used_bytes The zone's pages in use.\n"
        "# TYPE strangler_zone_used_bytes gauge\n"
        "strangler_zone_used_bytes %uz\n"
        "# HELP strangler_zone_alloc_failures_total "
        "Blocks the full zone had no room for.\n"
        "# TYPE strangler_zone_alloc_failures_total counter\n"
        "strangler_zone_alloc_failures_total %uA\n"
        "# HELP strangler_zone_reclaimed_total "
        "Blocks of routes no table has, freed.\n"
        "# TYPE strangler_zone_reclaimed_total counter\n"
        "strangler_zone_reclaimed_total %uA\n",
        (size_t) (z->shpool->end - (u_char *) z->shpool),
        ngx_http_strangler_zone_used(z), z->sh->alloc_failures,
        z->sh->reclaimed);
}


/* the figures of `GET progress` (ngx_http_strangler_progress.c) */

static void
ngx_http_strangler_metrics_progress(ngx_http_strangler_text_t *out,
    ngx_http_request_t *r, ngx_http_strangler_api_ctx_t *ctx)
{
    uint64_t                       *served, all;
    ngx_uint_t                      k, w;
    ngx_http_strangler_progress_t   p;

    if (ngx_http_strangler_progress_figures(ctx->zone, ctx->table, r->pool,
                                            &p)
        != NGX_OK)
    {
        out->failed = 1;
        return;
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_routes Routes by migration stage.\n"
        "# TYPE strangler_routes gauge\n");

    for (k = 0; k < NGX_HTTP_STRANGLER_STAGE_COUNT; k++) {
        ngx_http_strangler_text(out, "strangler_routes{stage=\"%s\"} %ui\n",
                                ngx_http_strangler_stage_name(k),
                                p.routes[k]);
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_routes_split "
        "Routes whose reads are split between legacy and a new service.\n"
        "# TYPE strangler_routes_split gauge\n"
        "strangler_routes_split %ui\n"
        "# HELP strangler_routes_overridden "
        "Routes with a runtime override.\n"
        "# TYPE strangler_routes_overridden gauge\n"
        "strangler_routes_overridden %ui\n"
        "# HELP strangler_served_total Requests since the zone started, "
        "served by the legacy backend (the table's default) or a new "
        "service.\n"
        "# TYPE strangler_served_total counter\n",
        p.split, p.overridden);

    for (k = 0; k < NGX_HTTP_STRANGLER_SERVED_COUNT; k++) {
        ngx_http_strangler_text(out, "strangler_served_total{by=\"%s\"} %uL\n",
                                ngx_http_strangler_served_name(k),
                                p.total[k]);
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_new_service_share Share of requests served by "
        "new services, over the last minute and since the zone started.\n"
        "# TYPE strangler_new_service_share gauge\n");

    for (w = 0; w < 2; w++) {
        served = w ? p.total : p.minute;
        all = served[NGX_HTTP_STRANGLER_SERVED_LEGACY]
              + served[NGX_HTTP_STRANGLER_SERVED_NEW];

        /* no requests: no share, rather than NaN */
        if (all) {
            ngx_http_strangler_text(out,
                "strangler_new_service_share{window=\"%s\"} %.4f\n",
                w ? "zone" : "1m",
                (double) served[NGX_HTTP_STRANGLER_SERVED_NEW] / all);
        }
    }

    ngx_http_strangler_text(out,
        "# HELP strangler_zone_start_time_seconds When the zone started.\n"
        "# TYPE strangler_zone_start_time_seconds gauge\n"
        "strangler_zone_start_time_seconds %T\n", p.started);
}


static ngx_str_t *
ngx_http_strangler_metrics_route(ngx_http_strangler_table_t *t, size_t i)
{
    return &t->bindings[i].shr->name;
}


/* milliseconds as seconds, without trailing zeros: 0.005, 2.5, 10 */

static u_char *
ngx_http_strangler_metrics_seconds(u_char *p, ngx_msec_t ms)
{
    ngx_uint_t  frac;

    p = ngx_sprintf(p, "%ui", (ngx_uint_t) (ms / 1000));
    frac = ms % 1000;

    if (frac == 0) {
        return p;
    }

    p = ngx_sprintf(p, ".%03ui", frac);

    while (p[-1] == '0') {
        p--;
    }

    return p;
}

