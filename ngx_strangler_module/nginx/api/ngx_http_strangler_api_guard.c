
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The guards in the API: `POST routes/NAME/guard/rearm`, a guarded
 * route's "guard" object in the status JSON, and the guards' metrics.
 * Figures are read without the mutex, as the other counters are: each is
 * one word, and the evaluator is their only writer.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_guard.h"


static json_t *ngx_http_strangler_guard_limits(const strangler_guard_t *g);
static json_t *ngx_http_strangler_guard_window(
    ngx_http_strangler_sh_guard_t *shg);
static json_t *ngx_http_strangler_guard_percent(int32_t ppm);
static const char *ngx_http_strangler_guard_state(
    ngx_http_strangler_sh_guard_t *shg, ngx_uint_t tripped);
static void ngx_http_strangler_metrics_ratio(ngx_http_strangler_text_t *out,
    const char *name, ngx_str_t *route, int32_t ppm);


/*
 * The trip ends: the guard's override of the reads goes (what the table,
 * and any other field of the override, say applies again) and the windows
 * start afresh.  On a guard that has not tripped, only the windows do.
 */

ngx_int_t
ngx_http_strangler_api_guard_rearm(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_int_t                           rc;
    ngx_http_strangler_override_rec_t   ov;

    if (!ctx->route->guard.enabled) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                            "route \"%V\" has no guard",
                                            &ctx->name);
    }

    rc = ngx_http_strangler_override_read(ctx->zone, ctx->binding->shr, &ov,
                                          r->pool);
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_strangler_guard_reset(ctx->zone, ctx->binding->shr);

    if (rc == NGX_OK && ngx_http_strangler_guard_is_trip(&ov)) {
        ctx->action = "re-armed";
        ctx->fields = NGX_HTTP_STRANGLER_OV_READS;
        ngx_str_null(&ctx->patch.reads);
        ctx->patch.sample_ppm = -1;

        return ngx_http_strangler_api_apply(r, ctx);
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "strangler: guard of route \"%V\" re-armed by %V: it had "
                  "not tripped, its windows start afresh",
                  &ctx->name, &r->connection->addr_text);

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK,
                    ngx_http_strangler_report_route(r, ctx, ctx->route));
}


json_t *
ngx_http_strangler_report_guard(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, const strangler_route_t *route,
    ngx_http_strangler_override_rec_t *ov)
{
    ngx_uint_t                      tripped;
    ngx_http_strangler_sh_guard_t  *shg;

    shg = ngx_http_strangler_binding(ctx->table, route)->shr->guard;
    tripped = ngx_http_strangler_guard_is_trip(ov);

    if (shg == NULL) {
        return json_null();
    }

    return json_pack("{s:s, s:b, s:I, s:I, s:I, s:o, s:o}",
                     "state", ngx_http_strangler_guard_state(shg, tripped),
                     "dry_run", (int) route->guard.dry_run,
                     "failed_windows", (json_int_t) shg->failed,
                     "trips", (json_int_t) shg->trips,
                     "would_trips", (json_int_t) shg->would_trips,
                     "limits", ngx_http_strangler_guard_limits(&route->guard),
                     "window", ngx_http_strangler_guard_window(shg));
}


static const char *
ngx_http_strangler_guard_state(ngx_http_strangler_sh_guard_t *shg,
    ngx_uint_t tripped)
{
    if (tripped) {
        return "tripped";
    }

    if (shg->judged_at == 0
        || shg->result.verdict == STRANGLER_GUARD_INCONCLUSIVE)
    {
        return "inconclusive";
    }

    return "ok";
}


static json_t *
ngx_http_strangler_guard_limits(const strangler_guard_t *g)
{
    return json_pack("{s:o, s:o, s:o, s:I, s:I, s:I}",
                     "error_rate",
                       ngx_http_strangler_guard_percent(g->error_ppm),
                     "mismatch_rate",
                       ngx_http_strangler_guard_percent(g->mismatch_ppm),
                     "latency_p99_ms", (g->latency_p99_ms >= 0)
                                       ? json_integer(g->latency_p99_ms)
                                       : json_null(),
                     "window_ms", (json_int_t) g->window_ms,
                     "min_requests", (json_int_t) g->min_requests,
                     "failures", (json_int_t) g->failures);
}


/* the last window judged, or null before the first */

static json_t *
ngx_http_strangler_guard_window(ngx_http_strangler_sh_guard_t *shg)
{
    strangler_guard_window_t  *w;
    strangler_guard_result_t  *res;

    if (shg->judged_at == 0) {
        return json_null();
    }

    w = &shg->last;
    res = &shg->result;

    return json_pack("{s:s, s:I, s:I, s:o, s:I, s:I, s:o, s:o}",
                     "verdict", strangler_guard_verdict_name(res->verdict),
                     "requests", (json_int_t) w->requests,
                     "errors", (json_int_t) w->errors,
                     "error_rate",
                       ngx_http_strangler_guard_percent(res->error_ppm),
                     "compared", (json_int_t) w->compared,
                     "mismatched", (json_int_t) w->mismatched,
                     "mismatch_rate",
                       ngx_http_strangler_guard_percent(res->mismatch_ppm),
                     "p99_ms", (res->p99_ms >= 0)
                               ? json_integer(res->p99_ms) : json_null());
}


/* ppm as a percentage, or null */

static json_t *
ngx_http_strangler_guard_percent(int32_t ppm)
{
    return (ppm >= 0) ? json_real(ppm / 10000.0) : json_null();
}


void
ngx_http_strangler_metrics_guards(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx)
{
    size_t                              i;
    ngx_int_t                           rc;
    ngx_uint_t                          tripped;
    ngx_str_t                          *name;
    ngx_http_strangler_table_t         *t;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_sh_guard_t      *shg;
    ngx_http_strangler_override_rec_t   ov;

    t = ctx->table;

    ngx_http_strangler_text(out,
        "# HELP strangler_guard_trips_total "
        "Times a route's guard sent its reads back to the owner.\n"
        "# TYPE strangler_guard_trips_total counter\n"
        "# HELP strangler_guard_would_trips_total "
        "Times a dry-run guard would have tripped.\n"
        "# TYPE strangler_guard_would_trips_total counter\n"
        "# HELP strangler_guard_tripped "
        "Whether the route's guard has tripped and not been re-armed.\n"
        "# TYPE strangler_guard_tripped gauge\n"
        "# HELP strangler_guard_failed_windows "
        "Failing windows in a row, not yet tripped.\n"
        "# TYPE strangler_guard_failed_windows gauge\n"
        "# HELP strangler_guard_window_requests "
        "Reads served by a non-owner in the guard's last window.\n"
        "# TYPE strangler_guard_window_requests gauge\n"
        "# HELP strangler_guard_window_error_ratio "
        "Share of those reads answered 5xx.\n"
        "# TYPE strangler_guard_window_error_ratio gauge\n"
        "# HELP strangler_guard_window_mismatch_ratio "
        "Share of their compared shadows that mismatched.\n"
        "# TYPE strangler_guard_window_mismatch_ratio gauge\n"
        "# HELP strangler_guard_window_p99_seconds "
        "Their upstream time p99, from the histogram's buckets.\n"
        "# TYPE strangler_guard_window_p99_seconds gauge\n");

    for (i = 0; i < t->core->nroutes; i++) {
        shr = t->bindings[i].shr;
        shg = shr->guard;

        if (!t->core->routes[i].guard.enabled || shg == NULL) {
            continue;
        }

        rc = ngx_http_strangler_override_read(ctx->zone, shr, &ov,
                                              out->pool);
        tripped = (rc == NGX_OK && ngx_http_strangler_guard_is_trip(&ov));
        name = &shr->name;

        ngx_http_strangler_text(out,
            "strangler_guard_trips_total{route=\"%V\"} %uA\n"
            "strangler_guard_would_trips_total{route=\"%V\"} %uA\n"
            "strangler_guard_tripped{route=\"%V\"} %ui\n"
            "strangler_guard_failed_windows{route=\"%V\"} %ui\n"
            "strangler_guard_window_requests{route=\"%V\"} %uL\n",
            name, shg->trips, name, shg->would_trips, name, tripped,
            name, shg->failed, name, shg->last.requests);

        if (shg->judged_at == 0) {
            continue;
        }

        ngx_http_strangler_metrics_ratio(out,
                                         "strangler_guard_window_error_ratio",
                                         name, shg->result.error_ppm);
        ngx_http_strangler_metrics_ratio(out,
                                      "strangler_guard_window_mismatch_ratio",
                                         name, shg->result.mismatch_ppm);

        if (shg->result.p99_ms >= 0) {
            ngx_http_strangler_text(out,
                "strangler_guard_window_p99_seconds{route=\"%V\"} "
                "%D.%03D\n", name, shg->result.p99_ms / 1000,
                shg->result.p99_ms % 1000);
        }
    }
}


/* a ratio with 6 decimals; no sample when the window had none */

static void
ngx_http_strangler_metrics_ratio(ngx_http_strangler_text_t *out,
    const char *name, ngx_str_t *route, int32_t ppm)
{
    if (ppm < 0) {
        return;
    }

    ngx_http_strangler_text(out, "%s{route=\"%V\"} %D.%06D\n", name, route,
                            ppm / 1000000, ppm % 1000000);
}
