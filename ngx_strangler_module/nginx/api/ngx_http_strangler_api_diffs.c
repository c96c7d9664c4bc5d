
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Per-field evidence in the API: `GET routes/NAME/diffs` (the fields of a
 * compared route, most differences first, with their verdict),
 * `DELETE routes/NAME/diffs` (their reset, after a deploy of the new
 * service), and the per-route comparison counters of the metrics; per
 * field only in the JSON, never as a metric label.
 */


#include "ngx_http_strangler_api.h"


ngx_int_t
ngx_http_strangler_api_diffs(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    json_t                          *json;
    ngx_http_strangler_sh_fields_t  *f;

    f = ctx->binding ? ctx->binding->shr->fields : NULL;

    if (f == NULL) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_CONFLICT,
                                            "route \"%V\" compares no "
                                            "responses (shadow.compare)",
                                            &ctx->name);
    }

    if (r->method == NGX_HTTP_DELETE) {
        ngx_http_strangler_fields_reset(ctx->zone, f);

        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "strangler: field statistics of route \"%V\" reset "
                      "by %V", &ctx->name, &r->connection->addr_text);
    }

    json = ngx_http_strangler_fields_json(f, ctx->route);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK, json);
}


void
ngx_http_strangler_metrics_fields(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx)
{
    size_t                           i;
    ngx_str_t                       *name;
    ngx_http_strangler_table_t      *t;
    ngx_http_strangler_sh_route_t   *shr;
    ngx_http_strangler_sh_fields_t  *f;

    t = ctx->table;

    ngx_http_strangler_text(out,
        "# HELP strangler_shadow_compared_total "
        "Shadow answers compared with the client's.\n"
        "# TYPE strangler_shadow_compared_total counter\n"
        "# HELP strangler_shadow_mismatched_total "
        "Compared answers with a difference that is not noise.\n"
        "# TYPE strangler_shadow_mismatched_total counter\n"
        "# HELP strangler_shadow_noise_only_total "
        "Compared answers that differed only in noise fields "
        "(counted as matched).\n"
        "# TYPE strangler_shadow_noise_only_total counter\n"
        "# HELP strangler_shadow_noise_copies_total "
        "Noise copies compared with the client's answer.\n"
        "# TYPE strangler_shadow_noise_copies_total counter\n");

    for (i = 0; i < t->core->nroutes; i++) {
        shr = t->bindings[i].shr;
        f = shr->fields;

        if (f == NULL) {
            continue;
        }

        name = &shr->name;

        ngx_http_strangler_text(out,
            "strangler_shadow_compared_total{route=\"%V\"} %uA\n"
            "strangler_shadow_mismatched_total{route=\"%V\"} %uA\n"
            "strangler_shadow_noise_only_total{route=\"%V\"} %uA\n"
            "strangler_shadow_noise_copies_total{route=\"%V\"} %uA\n",
            name, shr->shadow[NGX_HTTP_STRANGLER_SHADOW_MATCHED]
                  + shr->shadow[NGX_HTTP_STRANGLER_SHADOW_MISMATCHED],
            name, shr->shadow[NGX_HTTP_STRANGLER_SHADOW_MISMATCHED],
            name, f->noise_only, name, f->noise_sent);
    }
}
