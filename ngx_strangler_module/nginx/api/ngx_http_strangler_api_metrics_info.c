
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The metrics that say what each host runs, for `sum by` and joins:
 *
 *     strangler_build_info{version,nginx} 1
 *     strangler_table_info{file,sha256} 1
 *     strangler_route_stage{route,stage} 1
 *     strangler_override{route,reads,owner,pending} 0|1
 *
 * `reads` and `owner` are the override's target backends ("" when the
 * override leaves that field to the table), `pending` "etcd" while a
 * change made here waits for etcd.
 */


#include <nginx.h>

#include "ngx_http_strangler_api.h"


static u_char *ngx_http_strangler_metrics_label(ngx_pool_t *pool,
    ngx_str_t *value);


void
ngx_http_strangler_metrics_info(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx)
{
    size_t                              i;
    ngx_uint_t                          stage, split;
    ngx_http_strangler_table_t         *t;
    ngx_http_strangler_override_rec_t   ov;

    t = ctx->table;

    ngx_http_strangler_text(out,
        "# HELP strangler_build_info "
        "The module's version and the nginx it runs in.\n"
        "# TYPE strangler_build_info gauge\n"
        "strangler_build_info{version=\"" STRANGLER_VERSION "\","
        "nginx=\"" NGINX_VERSION "\"} 1\n"
        "# HELP strangler_table_info The route table this host runs.\n"
        "# TYPE strangler_table_info gauge\n"
        "strangler_table_info{file=\"%s\",sha256=\"%s\"} 1\n",
        ngx_http_strangler_metrics_label(out->pool, &t->file),
        t->core->sha256);

    ngx_http_strangler_text(out,
        "# HELP strangler_route_stage "
        "Each route's migration stage (legacy, shadowing, reads, owned).\n"
        "# TYPE strangler_route_stage gauge\n");

    for (i = 0; i < t->core->nroutes; i++) {
        if (ngx_http_strangler_override_read(ctx->zone, t->bindings[i].shr,
                                             &ov, out->pool)
            == NGX_ERROR)
        {
            out->failed = 1;
            return;
        }

        stage = ngx_http_strangler_route_stage(t, &t->core->routes[i], &ov,
                                               &split);

        ngx_http_strangler_text(out,
                                "strangler_route_stage{route=\"%V\","
                                "stage=\"%s\"} 1\n",
                                &t->bindings[i].shr->name,
                                ngx_http_strangler_stage_name(stage));
    }
}


void
ngx_http_strangler_metrics_overrides(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t)
{
    size_t                              i;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_override_rec_t   ov;

    ngx_http_strangler_text(out,
        "# HELP strangler_override "
        "Whether a runtime override applies to the route, and its "
        "targets.\n"
        "# TYPE strangler_override gauge\n");

    for (i = 0; i < t->core->nroutes; i++) {
        shr = t->bindings[i].shr;

        if (ngx_http_strangler_override_read(t->bindings[i].zone, shr, &ov,
                                             out->pool)
            == NGX_ERROR)
        {
            out->failed = 1;
            return;
        }

        ngx_http_strangler_text(out,
                                "strangler_override{route=\"%V\","
                                "reads=\"%V\",owner=\"%V\",pending=\"%s\"} "
                                "%d\n",
                                &shr->name, &ov.reads, &ov.owner,
                                shr->pending ? "etcd" : "",
                                shr->override != NULL);
    }
}


/* a label value: \, " and newline escaped, null-terminated */

static u_char *
ngx_http_strangler_metrics_label(ngx_pool_t *pool, ngx_str_t *value)
{
    u_char  *p, *s;
    size_t   i;

    s = ngx_pnalloc(pool, value->len * 2 + 1);
    if (s == NULL) {
        return (u_char *) "";
    }

    p = s;

    for (i = 0; i < value->len; i++) {
        switch (value->data[i]) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = value->data[i];
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = value->data[i];
        }
    }

    *p = '\0';

    return s;
}
