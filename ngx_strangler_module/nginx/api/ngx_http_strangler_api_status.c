
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `GET status`: the table, its routes, the default, the orphaned overrides
 * and the zone's use, as indented JSON.
 *
 *     status                 every route, up to 1000; a summary above
 *     status?limit=N&offset=M   routes M to M+N-1 (N up to 1000)
 *     status?route=NAME      that route
 *
 * The body is a chain of buffers, one per route, each route's JSON made
 * and released on its own: what a call takes is bounded by a page, never
 * a tree of the whole table.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_etcd.h"


/* tables up to this many routes are listed in full by default */
#define NGX_HTTP_STRANGLER_STATUS_ROUTES  1000
/* routes per page, at most */
#define NGX_HTTP_STRANGLER_STATUS_LIMIT   1000

/* where the routes go in the head's text */
#define NGX_HTTP_STRANGLER_STATUS_MARK    "\"routes\": \"\\u0001\""


typedef struct {
    size_t                              first;    /* routes [first, last) */
    size_t                              last;
    ngx_uint_t                          summary;  /* no routes, counts */
    ngx_uint_t                          paged;
    ngx_int_t                           limit;
    ngx_int_t                           offset;
} ngx_http_strangler_page_t;


typedef struct {
    ngx_pool_t                         *pool;
    ngx_chain_t                        *first;
    ngx_chain_t                       **last;
} ngx_http_strangler_out_t;


static ngx_int_t ngx_http_strangler_status_page(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_page_t *page,
    ngx_int_t *rc);
static ngx_int_t ngx_http_strangler_status_number(ngx_http_request_t *r,
    char *name, ngx_int_t *n);
static json_t *ngx_http_strangler_status_head(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_page_t *page);
static json_t *ngx_http_strangler_status_table(ngx_http_request_t *r,
    ngx_http_strangler_table_t *t);
static json_t *ngx_http_strangler_status_summary(
    ngx_http_strangler_table_t *t);
static json_t *ngx_http_strangler_status_orphans(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static json_t *ngx_http_strangler_status_zone(
    ngx_http_strangler_zone_ctx_t *z);
static ngx_int_t ngx_http_strangler_status_routes(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_page_t *page,
    ngx_http_strangler_out_t *out);
static ngx_int_t ngx_http_strangler_status_add(ngx_http_strangler_out_t *out,
    u_char *text, size_t len, size_t indent);


ngx_int_t
ngx_http_strangler_api_status(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    char                       *text, *mark;
    json_t                     *head;
    size_t                      len;
    ngx_int_t                   rc;
    ngx_http_strangler_out_t    out;
    ngx_http_strangler_page_t   page;

    if (ngx_http_strangler_status_page(r, ctx, &page, &rc) != NGX_OK) {
        return rc;
    }

    head = ngx_http_strangler_status_head(r, ctx, &page);
    text = head ? json_dumps(head, JSON_INDENT(2)) : NULL;
    json_decref(head);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out.pool = r->pool;
    out.first = NULL;
    out.last = &out.first;

    len = ngx_strlen(text);
    mark = page.summary ? NULL : ngx_strstr(text,
                                            NGX_HTTP_STRANGLER_STATUS_MARK);

    if (mark) {
        rc = ngx_http_strangler_status_add(&out, (u_char *) text,
                       mark - text + sizeof("\"routes\": ") - 1, 0);

        if (rc == NGX_OK) {
            rc = ngx_http_strangler_status_routes(r, ctx, &page, &out);
        }

        mark += sizeof(NGX_HTTP_STRANGLER_STATUS_MARK) - 1;

        if (rc == NGX_OK) {
            rc = ngx_http_strangler_status_add(&out, (u_char *) mark,
                                               len - (mark - text), 0);
        }

    } else {
        rc = ngx_http_strangler_status_add(&out, (u_char *) text, len, 0);
    }

    free(text);

    if (rc != NGX_OK
        || ngx_http_strangler_status_add(&out, (u_char *) "\n", 1, 0)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_strangler_api_send_chain(r, out.first,
                                             "application/json");
}


/*
 * Which routes the call asks for; NGX_ERROR: a bad call, answered, and
 * *rc what the handler returns.
 */

static ngx_int_t
ngx_http_strangler_status_page(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_page_t *page,
    ngx_int_t *rc)
{
    size_t                    n;
    ngx_str_t                 name;
    ngx_uint_t                has_route;
    const strangler_route_t  *route;

    ngx_memzero(page, sizeof(ngx_http_strangler_page_t));

    n = ctx->table->core->nroutes;
    page->limit = -1;
    page->offset = -1;

    has_route = (ngx_http_arg(r, (u_char *) "route", 5, &name) == NGX_OK);

    if (ngx_http_strangler_status_number(r, "limit", &page->limit) != NGX_OK
        || ngx_http_strangler_status_number(r, "offset", &page->offset)
           != NGX_OK)
    {
        *rc = ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                           "\"limit\" must be a number "
                                           "from 1 to %d, \"offset\" a "
                                           "number from 0",
                                           NGX_HTTP_STRANGLER_STATUS_LIMIT);
        return NGX_ERROR;
    }

    if (page->limit == 0 || page->limit > NGX_HTTP_STRANGLER_STATUS_LIMIT) {
        *rc = ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                           "\"limit\" must be a number "
                                           "from 1 to %d",
                                           NGX_HTTP_STRANGLER_STATUS_LIMIT);
        return NGX_ERROR;
    }

    if (has_route) {
        if (page->limit >= 0 || page->offset >= 0) {
            *rc = ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                               "\"route\" goes alone, "
                                               "without \"limit\" or "
                                               "\"offset\"");
            return NGX_ERROR;
        }

        route = name.len ? strangler_route_find(ctx->table->core,
                                                (char *) name.data, name.len)
                         : NULL;

        if (name.len == 0) {
            *rc = ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                               "\"route\" must name a "
                                               "route");
            return NGX_ERROR;
        }

        if (route == NULL) {
            *rc = ngx_http_strangler_api_error(r, NGX_HTTP_NOT_FOUND,
                                               "no route \"%V\" in \"%V\"",
                                               &name, &ctx->table->file);
            return NGX_ERROR;
        }

        page->first = route->index;
        page->last = route->index + 1;

        return NGX_OK;
    }

    if (page->limit < 0 && page->offset < 0) {
        page->summary = (n > NGX_HTTP_STRANGLER_STATUS_ROUTES);
        page->last = page->summary ? 0 : n;

        return NGX_OK;
    }

    page->paged = 1;

    if (page->limit < 0) {
        page->limit = NGX_HTTP_STRANGLER_STATUS_LIMIT;
    }

    if (page->offset < 0) {
        page->offset = 0;
    }

    page->first = ngx_min((size_t) page->offset, n);
    page->last = ngx_min(page->first + page->limit, n);

    return NGX_OK;
}


/* NGX_OK: absent (*n stays) or a number; NGX_ERROR: anything else */

static ngx_int_t
ngx_http_strangler_status_number(ngx_http_request_t *r, char *name,
    ngx_int_t *n)
{
    ngx_int_t  v;
    ngx_str_t  s;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &s) != NGX_OK) {
        return NGX_OK;
    }

    v = ngx_atoi(s.data, s.len);

    if (v == NGX_ERROR) {
        return NGX_ERROR;
    }

    *n = v;

    return NGX_OK;
}


/* everything but the routes, which go where the mark is */

static json_t *
ngx_http_strangler_status_head(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_page_t *page)
{
    json_t                      *j;
    ngx_str_t                   *file;
    ngx_http_strangler_table_t  *t;

    t = ctx->table;
    file = &ctx->zone->smcf->state_file;

    j = json_object();

    if (j == NULL
        || json_object_set_new(j, "table",
                               ngx_http_strangler_status_table(r, t))
        || json_object_set_new(j, "zone",
                               json_stringn((char *) ctx->zone->name.data,
                                            ctx->zone->name.len))
        || json_object_set_new(j, "state_file",
                               file->len
                               ? json_stringn((char *) file->data, file->len)
                               : json_null())
        || json_object_set_new(j, "routes_total",
                               json_integer(t->core->nroutes))
        || (ctx->zone->smcf->etcd
            && json_object_set_new(j, "fleet",
                                   ngx_http_strangler_etcd_status(
                                                       ctx->zone->smcf))))
    {
        goto failed;
    }

    if (page->paged
        && (json_object_set_new(j, "offset", json_integer(page->offset))
            || json_object_set_new(j, "limit", json_integer(page->limit))
            || json_object_set_new(j, "next_offset",
                                   page->last < t->core->nroutes
                                   ? json_integer(page->last)
                                   : json_null())))
    {
        goto failed;
    }

    if (page->summary
        ? json_object_set_new(j, "summary",
                              ngx_http_strangler_status_summary(t))
        : json_object_set_new(j, "routes", json_string("\001")))
    {
        goto failed;
    }

    if (json_object_set_new(j, "default",
                            ngx_http_strangler_report_default(r, ctx))
        || json_object_set_new(j, "orphaned",
                               ngx_http_strangler_status_orphans(r, ctx))
        || json_object_set_new(j, "zone_use",
                               ngx_http_strangler_status_zone(ctx->zone))
        || json_object_set_new(j, "shadow",
                               ngx_http_strangler_report_slots(ctx))
        || json_object_set_new(j, "capture",
                               ngx_http_strangler_report_capture(r, ctx)))
    {
        goto failed;
    }

    return j;

failed:

    json_decref(j);
    return NULL;
}


static json_t *
ngx_http_strangler_status_table(ngx_http_request_t *r,
    ngx_http_strangler_table_t *t)
{
    size_t   i;
    json_t  *backends;

    backends = json_array();

    for (i = 0; backends && i < t->core->nbackends; i++) {
        if (json_array_append_new(backends,
                                  ngx_http_strangler_backend_json(t, i)))
        {
            json_decref(backends);
            backends = NULL;
        }
    }

    return json_pack("{s:s%, s:s, s:s, s:I, s:o}",
                     "file", t->file.data, t->file.len,
                     "sha256", t->core->sha256,
                     "loaded", ngx_http_strangler_report_time(r->pool,
                                                              t->loaded),
                     "loaded_unix", (json_int_t) t->loaded,
                     "backends", backends);
}


/* a large table by default: counts over every route, no list */

static json_t *
ngx_http_strangler_status_summary(ngx_http_strangler_table_t *t)
{
    size_t                            i, overridden, shadowed;
    ngx_atomic_uint_t                 requests;
    ngx_http_strangler_sh_backend_t  *shb;

    overridden = 0;
    shadowed = 0;
    requests = 0;

    for (i = 0; i < t->core->nroutes; i++) {
        overridden += (t->bindings[i].shr->override != NULL);
        shadowed += (t->core->routes[i].shadow.enabled != 0);

        for (shb = t->bindings[i].shr->backends; shb; shb = shb->next) {
            requests += shb->counters.requests;
        }
    }

    return json_pack("{s:I, s:I, s:I, s:I}",
                     "overridden", (json_int_t) overridden,
                     "shadowed", (json_int_t) shadowed,
                     "requests", (json_int_t) requests,
                     "page_limit",
                       (json_int_t) NGX_HTTP_STRANGLER_STATUS_LIMIT);
}


/*
 * The overrides kept for routes of this table file that the table no
 * longer has: [{"route", "orphaned_since", "override": {...}}]
 */

static json_t *
ngx_http_strangler_status_orphans(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    json_t                         *list, *o;
    ngx_queue_t                    *q;
    ngx_http_strangler_zone_ctx_t  *z;
    ngx_http_strangler_sh_route_t  *shr;

    z = ctx->zone;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    for (q = ngx_queue_head(&z->sh->routes);
         q != ngx_queue_sentinel(&z->sh->routes);
         q = ngx_queue_next(q))
    {
        shr = ngx_queue_data(q, ngx_http_strangler_sh_route_t, queue);

        if (!shr->orphaned || shr->override == NULL
            || shr->file.len != ctx->table->file.len
            || ngx_strncmp(shr->file.data, ctx->table->file.data,
                           shr->file.len) != 0)
        {
            continue;
        }

        o = json_pack("{s:s%, s:s, s:o}",
                      "route", shr->name.data, shr->name.len,
                      "orphaned_since",
                        ngx_http_strangler_report_time(r->pool,
                                                       shr->orphaned),
                      "override",
                        ngx_http_strangler_report_override(r,
                                                           shr->override));

        if (json_array_append_new(list, o) != 0) {
            json_decref(list);
            list = NULL;
            break;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return list;
}


/* how full the zone is: its size, the pages in use, failures, reclaims */

static json_t *
ngx_http_strangler_status_zone(ngx_http_strangler_zone_ctx_t *z)
{
    return json_pack("{s:I, s:I, s:I, s:I}",
                     "size_bytes",
                       (json_int_t) (z->shpool->end - (u_char *) z->shpool),
                     "used_bytes",
                       (json_int_t) ngx_http_strangler_zone_used(z),
                     "alloc_failures", (json_int_t) z->sh->alloc_failures,
                     "reclaimed_blocks", (json_int_t) z->sh->reclaimed);
}


/* the page's routes as a JSON array, indented as the head is */

static ngx_int_t
ngx_http_strangler_status_routes(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_page_t *page,
    ngx_http_strangler_out_t *out)
{
    char    *text;
    size_t   i;
    json_t  *j;

    if (page->first == page->last) {
        return ngx_http_strangler_status_add(out, (u_char *) "[]", 2, 0);
    }

    for (i = page->first; i < page->last; i++) {
        j = ngx_http_strangler_report_route(r, ctx,
                                            &ctx->table->core->routes[i]);
        text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        json_decref(j);

        if (text == NULL
            || ngx_http_strangler_status_add(out,
                                        (u_char *) (i == page->first
                                                    ? "[\n    " : ",\n    "),
                                        6, 0)
               != NGX_OK
            || ngx_http_strangler_status_add(out, (u_char *) text,
                                             ngx_strlen(text), 4)
               != NGX_OK)
        {
            free(text);
            return NGX_ERROR;
        }

        free(text);
    }

    return ngx_http_strangler_status_add(out, (u_char *) "\n  ]", 4, 0);
}


/* a buffer of the text, each line after the first indented more */

static ngx_int_t
ngx_http_strangler_status_add(ngx_http_strangler_out_t *out, u_char *text,
    size_t len, size_t indent)
{
    size_t        n, i;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    n = len;

    if (indent) {
        for (i = 0; i < len; i++) {
            n += (text[i] == '\n') ? indent : 0;
        }
    }

    b = ngx_create_temp_buf(out->pool, n);
    cl = ngx_alloc_chain_link(out->pool);

    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        *b->last++ = text[i];

        if (indent && text[i] == '\n') {
            b->last = ngx_cpymem(b->last, "        ", indent);
        }
    }

    cl->buf = b;
    cl->next = NULL;

    *out->last = cl;
    out->last = &cl->next;

    return NGX_OK;
}
