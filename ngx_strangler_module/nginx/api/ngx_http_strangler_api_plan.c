
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `GET plan`: which route to move next.  Every route of the API's table
 * not yet owned by a new service, with its stage, its next step, and
 * either ready or the reasons it is not (the core's rules,
 * strangler_plan.c, on the evidence ngx_http_strangler_plan.c reads);
 * ready first, reads before owners before shadows, the least traffic
 * first, then in table order; a page at a time (`?limit=N&offset=M`,
 * the first 10 by default), or in table order (`?order=table`):
 *
 *     {"now": T, "total": N, "ready": N, "offset": M, "limit": N,
 *      "next_offset": M or null, "routes": [
 *     {"route", "stage", "next", "ready", "reasons": [{"code", "text"}],
 *      "requests", "overridden", "readiness": {...}, "evidence": {...}},
 *     ...]}
 *
 * The evidence holds the raw figures (counts, the upstream time
 * histograms, times), so that `strangler plan` can add up several hosts'
 * and judge the sum with the same rules.  Printed, not built with
 * jansson, as `progress/routes` is: one pass to order the routes, one to
 * print them.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_plan.h"


/* the first 10 routes: the dashboard's panel; up to 1000 a page */
#define NGX_HTTP_STRANGLER_PLAN_LIMIT  10
#define NGX_HTTP_STRANGLER_PLAN_MAX    1000
/* up to this many first routes, no whole sort */
#define NGX_HTTP_STRANGLER_PLAN_TOP    64


/* what the order reads of a route */
typedef struct {
    size_t                              index;
    strangler_plan_key_t                key;
} ngx_http_strangler_plan_item_t;


static ngx_int_t ngx_http_strangler_plan_arg(ngx_http_request_t *r,
    const char *name, ngx_int_t dflt);
static int ngx_libc_cdecl ngx_http_strangler_plan_cmp(const void *a,
    const void *b);
static void ngx_http_strangler_plan_sort(
    ngx_http_strangler_plan_item_t *items, size_t n, size_t k);
static void ngx_http_strangler_plan_print(ngx_http_strangler_text_t *out,
    ngx_http_strangler_plan_route_t *pr, const strangler_route_t *route,
    strangler_plan_verdict_t *v);
static void ngx_http_strangler_plan_print_side(ngx_http_strangler_text_t *out,
    const char *name, strangler_plan_side_t *side, double share,
    int32_t p99);
static void ngx_http_strangler_plan_print_time(ngx_http_strangler_text_t *out,
    const char *key, int64_t t);


ngx_int_t
ngx_http_strangler_api_plan(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    size_t                            i, n, ready, last;
    ngx_int_t                         limit, offset, by_table;
    ngx_str_t                         order;
    strangler_plan_verdict_t          v;
    ngx_http_strangler_text_t         out;
    ngx_http_strangler_table_t       *t;
    ngx_http_strangler_plan_item_t   *items;
    ngx_http_strangler_plan_route_t  *pr;
    const strangler_route_t          *route;

    t = ctx->table;

    limit = ngx_http_strangler_plan_arg(r, "limit",
                                        NGX_HTTP_STRANGLER_PLAN_LIMIT);
    offset = ngx_http_strangler_plan_arg(r, "offset", 0);

    if (limit < 1 || limit > NGX_HTTP_STRANGLER_PLAN_MAX) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                   "\"limit\" must be a number from 1 to %d",
                   NGX_HTTP_STRANGLER_PLAN_MAX);
    }

    if (offset < 0) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                   "\"offset\" must be a number from 0");
    }

    by_table = 0;

    if (ngx_http_arg(r, (u_char *) "order", 5, &order) == NGX_OK) {
        if (order.len == 5 && ngx_strncmp(order.data, "table", 5) == 0) {
            by_table = 1;

        } else if (order.len != 4 || ngx_strncmp(order.data, "plan", 4)) {
            return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                       "\"order\" must be \"plan\" or \"table\"");
        }
    }

    items = ngx_palloc(r->pool, (t->core->nroutes + 1)
                                * sizeof(ngx_http_strangler_plan_item_t));
    pr = ngx_palloc(r->pool, sizeof(ngx_http_strangler_plan_route_t));

    if (items == NULL || pr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the order first, on what the rules read: only the keys are kept */

    for (i = 0, n = 0, ready = 0; i < t->core->nroutes; i++) {
        route = &t->core->routes[i];

        if (ngx_http_strangler_plan_evidence(ctx->zone, t, i, 0, r->pool, pr)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        strangler_plan_judge(&route->readiness, &pr->ev, &v);

        if (v.next == STRANGLER_STEP_NONE) {
            continue;
        }

        items[n].index = i;
        strangler_plan_key(&v, &pr->ev, &items[n].key);
        ready += v.is_ready;
        n++;
    }

    last = ngx_min((size_t) offset + (size_t) limit, n);

    if (!by_table) {
        ngx_http_strangler_plan_sort(items, n, last);
    }

    ngx_memzero(&out, sizeof(ngx_http_strangler_text_t));
    out.pool = r->pool;
    out.last = &out.first;

    ngx_http_strangler_text(&out, "{\"now\":%T,\"total\":%uz,"
                            "\"ready\":%uz,\"offset\":%i,\"limit\":%i,",
                            ngx_time(), n, ready, offset, limit);

    if (last < n) {
        ngx_http_strangler_text(&out, "\"next_offset\":%uz,\"routes\":[",
                                last);

    } else {
        ngx_http_strangler_text(&out, "\"next_offset\":null,\"routes\":[");
    }

    /* the page, with the whole evidence and the reasons in words */

    for (i = offset; i < last; i++) {
        route = &t->core->routes[items[i].index];

        if (ngx_http_strangler_plan_evidence(ctx->zone, t, items[i].index, 1,
                                             r->pool, pr)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        strangler_plan_judge(&route->readiness, &pr->ev, &v);

        ngx_http_strangler_text(&out, (i > (size_t) offset) ? ",\n" : "\n");
        ngx_http_strangler_plan_print(&out, pr, route, &v);
    }

    ngx_http_strangler_text(&out, "\n]}\n");

    if (out.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_strangler_api_send_chain(r, out.first, "application/json");
}


/* a number argument, dflt when absent; -1 when not a number */

static ngx_int_t
ngx_http_strangler_plan_arg(ngx_http_request_t *r, const char *name,
    ngx_int_t dflt)
{
    ngx_str_t  s;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &s) != NGX_OK) {
        return dflt;
    }

    return (s.len && s.len <= 9) ? ngx_atoi(s.data, s.len) : NGX_ERROR;
}


static int ngx_libc_cdecl
ngx_http_strangler_plan_cmp(const void *a, const void *b)
{
    int                                    c;
    const ngx_http_strangler_plan_item_t  *ia, *ib;

    ia = a;
    ib = b;

    c = strangler_plan_order(&ia->key, &ib->key);

    return c ? c : (ia->index > ib->index) - (ia->index < ib->index);
}


/*
 * The first `k` items in order into items[0 .. k-1]: an insertion into
 * the k best so far, one comparison for most items, when k is small (the
 * dashboard's 10); the whole sort otherwise.
 */

static void
ngx_http_strangler_plan_sort(ngx_http_strangler_plan_item_t *items,
    size_t n, size_t k)
{
    size_t                          i, j, have;
    ngx_http_strangler_plan_item_t  item;

    if (k > NGX_HTTP_STRANGLER_PLAN_TOP || k >= n) {
        ngx_qsort(items, n, sizeof(ngx_http_strangler_plan_item_t),
                  ngx_http_strangler_plan_cmp);
        return;
    }

    for (i = 0, have = 0; i < n; i++) {
        if (have == k
            && ngx_http_strangler_plan_cmp(&items[i], &items[k - 1]) >= 0)
        {
            continue;
        }

        item = items[i];
        j = (have < k) ? have++ : k - 1;

        while (j > 0 && ngx_http_strangler_plan_cmp(&item, &items[j - 1]) < 0)
        {
            items[j] = items[j - 1];
            j--;
        }

        items[j] = item;
    }
}


static void
ngx_http_strangler_plan_print(ngx_http_strangler_text_t *out,
    ngx_http_strangler_plan_route_t *pr, const strangler_route_t *route,
    strangler_plan_verdict_t *v)
{
    char                            text[NGX_HTTP_STRANGLER_TEXT_LINE / 2];
    char                            words[STRANGLER_PLAN_TEXT_LEN];
    size_t                          k;
    const strangler_readiness_t    *rd;
    strangler_plan_evidence_t      *ev;
    const strangler_plan_field_t   *f;

    ev = &pr->ev;
    rd = &route->readiness;

    /* route names are [a-z0-9_-]+: no escaping */

    ngx_http_strangler_text(out,
                            "{\"route\":\"%*s\",\"stage\":\"%s\","
                            "\"next\":\"%s\",\"ready\":%s,\"reasons\":[",
                            route->name.len, route->name.data,
                            strangler_stage_name(ev->stage),
                            strangler_step_name(v->next),
                            v->is_ready ? "true" : "false");

    for (k = 0; k < v->nreasons; k++) {
        (void) strangler_plan_text(&v->reason[k], words, sizeof(words));
        (void) strangler_plan_json_str(text, sizeof(text), words,
                                       ngx_strlen(words));

        ngx_http_strangler_text(out, "%s{\"code\":\"%s\",\"text\":%s}",
                                k ? "," : "",
                                strangler_plan_code_name(v->reason[k].code),
                                text);
    }

    ngx_http_strangler_text(out,
                            "],\"requests\":%uL,\"overridden\":%s,"
                            "\"readiness\":{\"min_compared\":%uL,"
                            "\"max_differences\":%uL,"
                            "\"max_error_ratio\":%.3f,"
                            "\"max_latency_ratio\":%.3f,\"quiet\":%L},",
                            ev->requests, pr->overridden ? "true" : "false",
                            rd->min_compared, rd->max_differences,
                            rd->max_error_ratio, rd->max_latency_ratio,
                            (int64_t) rd->quiet);

    ngx_http_strangler_text(out,
                            "\"evidence\":{\"split\":%s,"
                            "\"has_new_side\":%s,\"compared\":%uL,"
                            "\"noise_compared\":%uL,"
                            "\"noise_relative_ppm\":%uD,"
                            "\"noise_absolute_ppm\":%uD,"
                            "\"difference_fields\":%uL,"
                            "\"writes\":{\"compared\":%uL,"
                            "\"mismatched\":%uL},\"fields\":[",
                            ev->split ? "true" : "false",
                            ev->has_new_side ? "true" : "false",
                            ev->compared, ev->noise_compared,
                            ev->noise_relative_ppm, ev->noise_absolute_ppm,
                            v->differences, ev->writes_compared,
                            ev->writes_mismatched);

    for (k = 0; k < ev->nfields; k++) {
        f = &ev->fields[k];

        (void) strangler_plan_json_str(text, sizeof(text), f->path,
                                       ngx_strlen(f->path));

        ngx_http_strangler_text(out, "%s{\"path\":%s,\"differences\":%uL,"
                                "\"noise\":%uL,\"first\":",
                                k ? "," : "", text, f->differences, f->noise);
        ngx_http_strangler_plan_print_time(out, NULL, f->first);
        ngx_http_strangler_text(out, "}");
    }

    ngx_http_strangler_text(out, "],");

    ngx_http_strangler_plan_print_side(out, "legacy",
                                    &ev->side[STRANGLER_SIDE_LEGACY],
                                    v->error_share[STRANGLER_SIDE_LEGACY],
                                    v->p99_ms[STRANGLER_SIDE_LEGACY]);
    ngx_http_strangler_plan_print_side(out, "new",
                                    &ev->side[STRANGLER_SIDE_NEW],
                                    v->error_share[STRANGLER_SIDE_NEW],
                                    v->p99_ms[STRANGLER_SIDE_NEW]);

    ngx_http_strangler_plan_print_time(out, "guard_tripped",
                                       ev->guard_tripped);
    ngx_http_strangler_text(out, ",");
    ngx_http_strangler_plan_print_time(out, "reads_since", ev->reads_since);
    ngx_http_strangler_text(out, ",\"now\":%L}}", (int64_t) ev->now);
}


/* "name":{"requests","5xx","error_share","p99_ms","time_buckets"}, */

static void
ngx_http_strangler_plan_print_side(ngx_http_strangler_text_t *out,
    const char *name, strangler_plan_side_t *side, double share, int32_t p99)
{
    ngx_uint_t  k;

    ngx_http_strangler_text(out, "\"%s\":{\"requests\":%uL,\"5xx\":%uL,",
                            name, side->requests, side->errors);

    if (share < 0) {
        ngx_http_strangler_text(out, "\"error_share\":null,");

    } else {
        ngx_http_strangler_text(out, "\"error_share\":%.6f,", share);
    }

    if (p99 < 0) {
        ngx_http_strangler_text(out, "\"p99_ms\":null,\"time_buckets\":[");

    } else {
        ngx_http_strangler_text(out, "\"p99_ms\":%D,\"time_buckets\":[",
                                p99);
    }

    for (k = 0; k < STRANGLER_TIME_NBUCKETS; k++) {
        ngx_http_strangler_text(out, "%s%uL", k ? "," : "",
                                side->time_bucket[k]);
    }

    ngx_http_strangler_text(out, "]},");
}


/* a unix time, or null for none; key NULL: the value alone */

static void
ngx_http_strangler_plan_print_time(ngx_http_strangler_text_t *out,
    const char *key, int64_t t)
{
    if (key) {
        ngx_http_strangler_text(out, "\"%s\":", key);
    }

    if (t) {
        ngx_http_strangler_text(out, "%L", t);

    } else {
        ngx_http_strangler_text(out, "null");
    }
}
