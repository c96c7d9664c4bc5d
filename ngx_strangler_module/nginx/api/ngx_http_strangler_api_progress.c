
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `GET progress`: how far the migration is (ngx_http_strangler_progress.c
 * says how the figures are made), for the dashboard and for people's own
 * tools.  The routes are those of the API's table; the requests are all
 * those counted in the zone.
 *
 * `GET progress/routes`: every route in one line of compact JSON, for a
 * page that polls every second (the status JSON is ten times bigger, and
 * costs the worker thirty times more); printed, not built with jansson:
 * route and backend names are [a-z0-9_-]+ and need no escaping.
 *
 *     {"sha256": S, "overrides": N, "routes": [
 *     {"name": R, "stage": S, "split": B, "override": B,
 *      "backends": {NAME: [requests, 5xx], ...},
 *      "shadow": [matched, mismatched]},
 *     ...]}
 *
 * "overrides" moves with every change of any override.
 */


#include "ngx_http_strangler_api.h"


static json_t *ngx_http_strangler_progress_routes(
    ngx_http_strangler_progress_t *p);
static json_t *ngx_http_strangler_progress_served(ngx_http_request_t *r,
    uint64_t served[NGX_HTTP_STRANGLER_SERVED_COUNT], time_t seconds,
    time_t since);
static json_t *ngx_http_strangler_progress_history_json(
    ngx_http_request_t *r, ngx_http_strangler_api_ctx_t *ctx);


ngx_int_t
ngx_http_strangler_api_progress(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    json_t                         *j;
    ngx_http_strangler_table_t     *t;
    ngx_http_strangler_progress_t   p;

    t = ctx->table;

    if (ngx_http_strangler_progress_figures(ctx->zone, t, r->pool, &p)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    j = json_pack("{s:o, s:o, s:{s:o, s:o}, s:o}",
                   "legacy",
                     ngx_http_strangler_backend_json(t,
                                                 t->core->default_backend),
                   "routes", ngx_http_strangler_progress_routes(&p),
                   "requests",
                     "since_start",
                       ngx_http_strangler_progress_served(r, p.total,
                                               p.now - p.started, p.started),
                     "last_minute",
                       ngx_http_strangler_progress_served(r, p.minute,
                                                      p.minute_seconds, 0),
                   "history",
                     ngx_http_strangler_progress_history_json(r, ctx));

    /* with strangler_etcd, whether changes can reach the fleet now */

    if (j && ctx->zone->smcf->etcd
        && json_object_set_new(j, "etcd",
                   json_pack("{s:b}", "connected",
                             ctx->zone->sh->etcd->connected ? 1 : 0)))
    {
        json_decref(j);
        j = NULL;
    }

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK, j);
}


static json_t *
ngx_http_strangler_progress_routes(ngx_http_strangler_progress_t *p)
{
    json_t      *j;
    ngx_uint_t   s, total;

    j = json_object();
    total = 0;

    for (s = 0; j && s < NGX_HTTP_STRANGLER_STAGE_COUNT; s++) {
        total += p->routes[s];

        if (json_object_set_new(j, ngx_http_strangler_stage_name(s),
                                json_integer(p->routes[s])))
        {
            json_decref(j);
            j = NULL;
        }
    }

    if (j && (json_object_set_new(j, "total", json_integer(total))
              || json_object_set_new(j, "split", json_integer(p->split))
              || json_object_set_new(j, "overridden",
                                     json_integer(p->overridden))))
    {
        json_decref(j);
        j = NULL;
    }

    return j;
}


/* {"seconds", "legacy", "new", "new_share"}; null share: no requests */

static json_t *
ngx_http_strangler_progress_served(ngx_http_request_t *r,
    uint64_t served[NGX_HTTP_STRANGLER_SERVED_COUNT], time_t seconds,
    time_t since)
{
    json_t    *j, *share;
    uint64_t   all;

    all = served[NGX_HTTP_STRANGLER_SERVED_LEGACY]
          + served[NGX_HTTP_STRANGLER_SERVED_NEW];

    share = all ? json_real((double) served[NGX_HTTP_STRANGLER_SERVED_NEW]
                            / all)
                : json_null();

    j = json_pack("{s:I, s:I, s:I, s:o}",
                  "seconds", (json_int_t) seconds,
                  "legacy",
                    (json_int_t) served[NGX_HTTP_STRANGLER_SERVED_LEGACY],
                  "new", (json_int_t) served[NGX_HTTP_STRANGLER_SERVED_NEW],
                  "new_share", share);

    if (j && since
        && json_object_set_new(j, "since",
                               json_string(ngx_http_strangler_report_time(
                                                           r->pool, since))))
    {
        json_decref(j);
        j = NULL;
    }

    return j;
}


/* {"start", "step", "legacy": [...], "new": [...]}, oldest first */

static json_t *
ngx_http_strangler_progress_history_json(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    time_t       first;
    json_t      *a[NGX_HTTP_STRANGLER_SERVED_COUNT];
    uint64_t     served[NGX_HTTP_STRANGLER_PROGRESS_POINTS]
                       [NGX_HTTP_STRANGLER_SERVED_COUNT];
    ngx_uint_t   i, k, n;

    n = ngx_http_strangler_progress_history(ctx->zone, served, &first);

    for (k = 0; k < NGX_HTTP_STRANGLER_SERVED_COUNT; k++) {
        a[k] = json_array();

        for (i = 0; a[k] && i < n; i++) {
            if (json_array_append_new(a[k], json_integer(served[i][k]))) {
                json_decref(a[k]);
                a[k] = NULL;
            }
        }
    }

    return json_pack("{s:I, s:i, s:o, s:o}",
                     "start_unix", (json_int_t) first,
                     "step", NGX_HTTP_STRANGLER_PROGRESS_STEP,
                     "legacy", a[NGX_HTTP_STRANGLER_SERVED_LEGACY],
                     "new", a[NGX_HTTP_STRANGLER_SERVED_NEW]);
}


ngx_int_t
ngx_http_strangler_api_progress_routes(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    size_t                              i;
    ngx_uint_t                          stage, split, has;
    ngx_http_strangler_text_t           out;
    ngx_http_strangler_table_t         *t;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_sh_backend_t    *shb;
    ngx_http_strangler_override_rec_t   ov;

    ngx_memzero(&out, sizeof(ngx_http_strangler_text_t));
    out.pool = r->pool;
    out.last = &out.first;

    t = ctx->table;

    ngx_http_strangler_text(&out,
                            "{\"sha256\":\"%s\",\"overrides\":%uA,\"routes\":[",
                            t->core->sha256, ctx->zone->sh->generation);

    for (i = 0; i < t->core->nroutes; i++) {
        shr = t->bindings[i].shr;

        if (ngx_http_strangler_progress_override(ctx->zone, shr, &ov, r->pool)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        stage = ngx_http_strangler_route_stage(t, &t->core->routes[i], &ov,
                                               &split);
        has = (ov.reads.len || ov.owner.len || ov.sample_ppm >= 0);

        ngx_http_strangler_text(&out,
                                "%s\n{\"name\":\"%V\",\"stage\":\"%s\","
                                "\"split\":%s,\"override\":%s,\"backends\":{",
                                i ? "," : "", &shr->name,
                                ngx_http_strangler_stage_name(stage),
                                split ? "true" : "false",
                                has ? "true" : "false");

        for (shb = shr->backends; shb; shb = shb->next) {
            ngx_http_strangler_text(&out, "%s\"%V\":[%uA,%uA]",
                                    (shb == shr->backends) ? "" : ",",
                                    &shb->name, shb->counters.requests,
                                    shb->counters.status[4]);
        }

        ngx_http_strangler_text(&out, "},\"shadow\":[%uA,%uA]}",
                         shr->shadow[NGX_HTTP_STRANGLER_SHADOW_MATCHED],
                         shr->shadow[NGX_HTTP_STRANGLER_SHADOW_MISMATCHED]);
    }

    ngx_http_strangler_text(&out, "\n]}\n");

    if (out.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_strangler_api_send_chain(r, out.first, "application/json");
}
