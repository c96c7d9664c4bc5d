
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler_api`: status, metrics, explain, and the overrides an SRE
 * changes at 3 a.m., relative to the location:
 *
 *     GET    status[?route=NAME | ?limit=N&offset=M], metrics,
 *            explain?method=M&path=P[&header=K:V]
 *     GET    progress, progress/routes (every route, compact: polled),
 *            plan (which route to move next, and why not the others),
 *            dashboard (also the location itself, for a browser)
 *     GET    access?method=M    whether this client may write (M: POST)
 *     GET    history[?route=NAME&limit=N&since=T&before=ID]  the changes
 *     GET    routes/NAME
 *     PUT    routes/NAME            {"reads", "owner", "shadow_sample",
 *                                    "reason"}
 *     DELETE routes/NAME            drops the override
 *     POST   routes/NAME/rollback   drops the override, reads to the owner
 *     POST   routes/NAME/guard/rearm  ends a guard's trip
 *     GET    routes/NAME/diffs      per-field statistics of the comparison
 *     DELETE routes/NAME/diffs      resets them
 *     PUT    routes/NAME/ignore     {"add": [...], "remove": [...]}
 *
 * A bad call gets a 4xx {"error": "..."} and changes nothing.  A change is
 * written to the state file first and applies once it is there (a 503
 * when it cannot be written: nothing changed), then it is logged at
 * notice level.  DELETE also drops the override of a route no table has
 * any more (orphaned).  The API has no access control of its own: use
 * allow/deny; a change a browser sent from another site, or as a form, is
 * refused (ngx_http_strangler_api_origin.c).
 */


#include "ngx_http_strangler_api.h"


typedef ngx_int_t (*ngx_http_strangler_api_pt)(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);


typedef struct {
    ngx_str_t                      path;     /* '*': a route name */
    ngx_uint_t                     methods;
    ngx_str_t                      allow;
    ngx_http_strangler_api_pt      handler;
} ngx_http_strangler_api_endpoint_t;


static void ngx_http_strangler_api_path(ngx_http_request_t *r,
    ngx_str_t *path);
static ngx_http_strangler_api_endpoint_t *ngx_http_strangler_api_find(
    ngx_str_t *path, ngx_str_t *name);
static ngx_int_t ngx_http_strangler_api_metrics(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static ngx_int_t ngx_http_strangler_api_route(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static ngx_int_t ngx_http_strangler_api_rollback(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static ngx_uint_t ngx_http_strangler_api_is_rolled_back(
    ngx_http_strangler_api_ctx_t *ctx, ngx_str_t *owner);
static void ngx_http_strangler_api_put_body(ngx_http_request_t *r);
static ngx_uint_t ngx_http_strangler_api_parse_patch(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *body, u_char **err);
static ngx_uint_t ngx_http_strangler_api_backend_field(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, const char *key, json_t *v,
    ngx_str_t *name, u_char **err);
static ngx_uint_t ngx_http_strangler_api_sample_field(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *v, u_char **err);
static ngx_uint_t ngx_http_strangler_api_is_orphan(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static ngx_int_t ngx_http_strangler_api_stage(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static ngx_int_t ngx_http_strangler_api_wait(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static void ngx_http_strangler_api_retry(ngx_event_t *ev);
static void ngx_http_strangler_api_retry_cleanup(void *data);
static ngx_int_t ngx_http_strangler_api_by(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static void ngx_http_strangler_api_discard(void *data);
static void ngx_http_strangler_api_install(void *data);
static void ngx_http_strangler_api_saved(void *data, ngx_int_t rc);
static ngx_int_t ngx_http_strangler_api_answer(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static void ngx_http_strangler_api_log_change(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static ngx_int_t ngx_http_strangler_api_send_route(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
static u_char *ngx_http_strangler_api_override_text(ngx_pool_t *pool,
    ngx_http_strangler_override_rec_t *ov);
static void ngx_http_strangler_api_json_cleanup(void *data);


#define NGX_HTTP_STRANGLER_READ  (NGX_HTTP_GET|NGX_HTTP_HEAD)


static ngx_http_strangler_api_endpoint_t  ngx_http_strangler_api_endpoints[] =
{
    { ngx_string("status"), NGX_HTTP_STRANGLER_READ,
      ngx_string("GET, HEAD"), ngx_http_strangler_api_status },

    { ngx_string("metrics"), NGX_HTTP_STRANGLER_READ,
      ngx_string("GET, HEAD"), ngx_http_strangler_api_metrics },

    { ngx_string("explain"), NGX_HTTP_STRANGLER_READ,
      ngx_string("GET, HEAD"), ngx_http_strangler_api_explain },

    { ngx_string("progress"), NGX_HTTP_STRANGLER_READ,
      ngx_string("GET, HEAD"), ngx_http_strangler_api_progress },

    { ngx_string("progress/routes"), NGX_HTTP_STRANGLER_READ,
      ngx_string("GET, HEAD"), ngx_http_strangler_api_progress_routes },

    { ngx_string("history"), NGX_HTTP_STRANGLER_READ,
      ngx_string("GET, HEAD"), ngx_http_strangler_api_history },

    { ngx_string("plan"), NGX_HTTP_STRANGLER_READ,
      ngx_string("GET, HEAD"), ngx_http_strangler_api_plan },

    { ngx_string("dashboard"), NGX_HTTP_STRANGLER_READ,
      ngx_string("GET, HEAD"), ngx_http_strangler_api_dashboard },

    { ngx_string("access"),
      NGX_HTTP_STRANGLER_READ|NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_DELETE,
      ngx_string("GET, HEAD, POST, PUT, DELETE"),
      ngx_http_strangler_api_access },

    { ngx_string("routes/*"),
      NGX_HTTP_STRANGLER_READ|NGX_HTTP_PUT|NGX_HTTP_DELETE,
      ngx_string("GET, HEAD, PUT, DELETE"), ngx_http_strangler_api_route },

    { ngx_string("routes/*/rollback"), NGX_HTTP_POST,
      ngx_string("POST"), ngx_http_strangler_api_rollback },

    { ngx_string("routes/*/guard/rearm"), NGX_HTTP_POST,
      ngx_string("POST"), ngx_http_strangler_api_guard_rearm },

    { ngx_string("routes/*/diffs"), NGX_HTTP_STRANGLER_READ|NGX_HTTP_DELETE,
      ngx_string("GET, HEAD, DELETE"), ngx_http_strangler_api_diffs },

    { ngx_string("routes/*/ignore"), NGX_HTTP_PUT,
      ngx_string("PUT"), ngx_http_strangler_api_ignore },

    { ngx_null_string, 0, ngx_null_string, NULL }
};


char *
ngx_http_strangler_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_loc_conf_t *slcf = conf;

    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_strangler_main_conf_t  *smcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_strangler_api_handler) {
        return "is duplicate";
    }

    /* calls are paths relative to the location: a regex has no prefix */

#if (NGX_PCRE)
    if (clcf->regex) {
        return "cannot be in a regex location: its calls are paths relative "
               "to a prefix location, as in \"location /strangler/\"";
    }
#endif

    if (clcf->named) {
        return "cannot be in a named location: its calls are paths relative "
               "to a prefix location, as in \"location /strangler/\"";
    }

    clcf->handler = ngx_http_strangler_api_handler;
    slcf->api = 1;

    /* checked once the configuration is read: a table and a zone */
    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    if (ngx_http_strangler_add_dispatcher(cf, &smcf->apis, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_strangler_api_init_conf(ngx_conf_t *cf)
{
    ngx_uint_t                        i;
    ngx_http_strangler_main_conf_t   *smcf;
    ngx_http_strangler_dispatcher_t  *d;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);
    d = smcf->apis.elts;

    if (smcf->apis.nelts && ngx_http_strangler_dashboard_init_conf(cf)
                            != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < smcf->apis.nelts; i++) {

        if (ngx_http_strangler_has_table(cf, &d[i]) != NGX_OK) {
            return NGX_ERROR;
        }

        if (smcf->shm_zone == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"strangler_api\" needs a \"strangler_zone\" "
                          "in the http block, for the API in %V:%ui",
                          &d[i].conf_file, d[i].conf_line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_strangler_api_handler(ngx_http_request_t *r)
{
    u_char                             *err;
    ngx_int_t                           rc;
    ngx_uint_t                          status;
    ngx_str_t                           path;
    ngx_table_elt_t                    *allow;
    ngx_http_strangler_api_ctx_t       *ctx;
    ngx_http_strangler_loc_conf_t      *slcf;
    ngx_http_strangler_main_conf_t     *smcf;
    ngx_http_strangler_api_endpoint_t  *ep;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_strangler_api_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_strangler_module);

    /* before the body is discarded: whether there was one matters */
    rc = ngx_http_strangler_api_cross_site(r);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (r->method != NGX_HTTP_PUT) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_strangler_module);
    smcf = ngx_http_get_module_main_conf(r, ngx_http_strangler_module);

    ctx->table = slcf->table;
    ctx->zone = ngx_http_strangler_zone_ctx(smcf);

    if (ctx->table == NULL || ctx->zone == NULL) {
        /* `nginx -t` refuses this configuration */
        return ngx_http_strangler_api_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "no route table or zone here");
    }

    ngx_http_strangler_api_path(r, &path);

    /* a browser opening the location itself */
    if (path.len == 0 && ngx_http_strangler_dashboard_wanted(r)) {
        return ngx_http_strangler_api_dashboard(r, ctx);
    }

    ep = ngx_http_strangler_api_find(&path, &ctx->name);

    if (ep == NULL) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_NOT_FOUND,
                                            "no such API call: \"%V\"",
                                            &path);
    }

    if (!(r->method & ep->methods)) {
        allow = ngx_list_push(&r->headers_out.headers);
        if (allow == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        allow->hash = 1;
        ngx_str_set(&allow->key, "Allow");
        allow->value = ep->allow;

        return ngx_http_strangler_api_error(r, NGX_HTTP_NOT_ALLOWED,
                                            "%V is not allowed on \"%V\": "
                                            "use %V", &r->method_name,
                                            &path, &ep->allow);
    }

    if (ctx->name.len) {
        ctx->route = strangler_route_find(ctx->table->core,
                                          (char *) ctx->name.data,
                                          ctx->name.len);
        if (ctx->route == NULL
            && !(r->method == NGX_HTTP_DELETE
                 && ep->handler == ngx_http_strangler_api_route
                 && ngx_http_strangler_api_is_orphan(r, ctx)))
        {
            return ngx_http_strangler_api_error(r, NGX_HTTP_NOT_FOUND,
                                                "no route \"%V\" in \"%V\"",
                                                &ctx->name,
                                                &ctx->table->file);
        }

        if (ctx->route) {
            ctx->binding = ngx_http_strangler_binding(ctx->table,
                                                      ctx->route);
            ctx->shr = ctx->binding->shr;
        }
    }

    /* a change's `?reason=`, checked before anything changes */

    if (!(r->method & NGX_HTTP_STRANGLER_READ)) {
        err = NULL;
        status = ngx_http_strangler_api_reason_arg(r, ctx, &err);

        if (status) {
            return ngx_http_strangler_api_error(r, status, "%s", err);
        }
    }

    return ep->handler(r, ctx);
}


/* the path relative to the location, without a leading slash */

static void
ngx_http_strangler_api_path(ngx_http_request_t *r, ngx_str_t *path)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    *path = r->uri;

    if (path->len >= clcf->name.len
        && ngx_strncmp(path->data, clcf->name.data, clcf->name.len) == 0)
    {
        path->data += clcf->name.len;
        path->len -= clcf->name.len;
    }

    if (path->len && path->data[0] == '/') {
        path->data++;
        path->len--;
    }
}


static ngx_http_strangler_api_endpoint_t *
ngx_http_strangler_api_find(ngx_str_t *path, ngx_str_t *name)
{
    u_char                             *p, *last, *e, *elast;
    ngx_http_strangler_api_endpoint_t  *ep;

    for (ep = ngx_http_strangler_api_endpoints; ep->path.len; ep++) {
        p = path->data;
        last = p + path->len;
        e = ep->path.data;
        elast = e + ep->path.len;

        ngx_str_null(name);

        while (e < elast && p < last) {

            if (*e == '*') {
                name->data = p;

                while (p < last && *p != '/') {
                    p++;
                }

                name->len = p - name->data;
                e++;
                continue;
            }

            if (*e != *p) {
                break;
            }

            e++;
            p++;
        }

        if (e == elast && p == last
            && (name->data == NULL || name->len > 0))
        {
            return ep;
        }
    }

    ngx_str_null(name);

    return NULL;
}


static ngx_int_t
ngx_http_strangler_api_metrics(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_chain_t  *out;

    out = ngx_http_strangler_report_metrics(r, ctx);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_strangler_api_send_chain(r, out, "text/plain; "
                                            "version=0.0.4; charset=utf-8");
}


static ngx_int_t
ngx_http_strangler_api_route(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_int_t  rc;

    switch (r->method) {

    case NGX_HTTP_DELETE:
        ctx->action = "dropped";
        ctx->fields = NGX_HTTP_STRANGLER_OV_ALL;
        ctx->patch.sample_ppm = -1;

        return ngx_http_strangler_api_apply(r, ctx);

    case NGX_HTTP_PUT:
        if (r->headers_in.content_length_n > NGX_HTTP_STRANGLER_API_BODY_MAX) {
            return ngx_http_strangler_api_error(r,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          "the body is over %d bytes",
                                          NGX_HTTP_STRANGLER_API_BODY_MAX);
        }

        rc = ngx_http_read_client_request_body(r,
                                              ngx_http_strangler_api_put_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;

    default:
        return ngx_http_strangler_api_send_route(r, ctx);
    }
}


/*
 * Rolling back must not move where writes, and so domain events, happen:
 * the override goes (its owner too: writes go back to the table's owner),
 * and the reads are pinned to the table's owner, so that a reload with a
 * table that moves them does not undo the rollback.  No backend becomes
 * the owner that the table does not name as owner (the table's `default`
 * may be a new service late in a migration).
 */

static ngx_int_t
ngx_http_strangler_api_rollback(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_str_t  *owner;

    owner = ngx_http_strangler_backend_name(ctx->table, ctx->route->owner);

    if (ngx_http_strangler_override_read(ctx->zone, ctx->binding->shr,
                                         &ctx->before, r->pool)
        == NGX_ERROR)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->rollback = 1;

    if (ngx_http_strangler_api_is_rolled_back(ctx, owner)) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "strangler: route \"%V\": nothing to roll back for "
                      "%V: reads are on the owner \"%V\"",
                      &ctx->name, &r->connection->addr_text, owner);

        return ngx_http_strangler_api_send_route(r, ctx);
    }

    ctx->rolled_back = 1;
    ctx->action = "rolled back";
    ctx->fields = NGX_HTTP_STRANGLER_OV_ALL;
    ctx->patch.reads = *owner;
    ctx->patch.sample_ppm = -1;

    return ngx_http_strangler_api_apply(r, ctx);
}


/*
 * Whether the reads are on the table's owner with nothing overridden
 * (as the table says, or as a rollback left it).
 */

static ngx_uint_t
ngx_http_strangler_api_is_rolled_back(ngx_http_strangler_api_ctx_t *ctx,
    ngx_str_t *owner)
{
    const strangler_route_t            *route;
    ngx_http_strangler_override_rec_t  *ov;

    route = ctx->route;
    ov = &ctx->before;

    if (ov->owner.len || ov->sample_ppm >= 0) {
        return 0;
    }

    if (ov->reads.len) {
        return ov->reads.len == owner->len
               && ngx_strncmp(ov->reads.data, owner->data, owner->len) == 0;
    }

    return route->nreads == 0
           || (route->nreads == 1 && route->reads[0].backend == route->owner);
}


static void
ngx_http_strangler_api_put_body(ngx_http_request_t *r)
{
    json_t                        *body;
    u_char                        *err;
    ngx_int_t                      rc;
    ngx_uint_t                     status;
    ngx_http_strangler_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_strangler_module);

    err = NULL;
    status = ngx_http_strangler_api_read_json(r, &body, &err);

    if (status == 0) {
        status = ngx_http_strangler_api_parse_patch(r, ctx, body, &err);
    }

    if (status == 0) {
        rc = ngx_http_strangler_api_apply(r, ctx);

    } else if (err == NULL) {
        rc = status;

    } else {
        rc = ngx_http_strangler_api_error(r, status, "%s", err);
    }

    ngx_http_finalize_request(r, rc);
}


/* 0, or the status to answer with and *err */

ngx_uint_t
ngx_http_strangler_api_read_json(ngx_http_request_t *r, json_t **json,
    u_char **err)
{
    u_char                    *text, *p;
    size_t                     len;
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    json_error_t               e;
    ngx_pool_cleanup_t        *cln;
    ngx_http_request_body_t   *rb;

    rb = r->request_body;

    if (rb == NULL || rb->temp_file) {
        *err = (u_char *) "the body is too big";
        return (rb == NULL) ? NGX_HTTP_INTERNAL_SERVER_ERROR
                            : NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    len = 0;

    for (cl = rb->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len > NGX_HTTP_STRANGLER_API_BODY_MAX) {
        *err = ngx_http_strangler_msg(r->pool, "the body is over %d bytes",
                                      NGX_HTTP_STRANGLER_API_BODY_MAX);
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    text = ngx_pnalloc(r->pool, len + 1);
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (text == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = text;

    for (cl = rb->bufs; cl; cl = cl->next) {
        b = cl->buf;
        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    *json = json_loadb((char *) text, len, JSON_REJECT_DUPLICATES, &e);

    if (*json == NULL) {
        *err = ngx_http_strangler_msg(r->pool,
                                      "malformed JSON: line %d, column "
                                      "%d: %s", e.line, e.column, e.text);
        return NGX_HTTP_BAD_REQUEST;
    }

    /* the patch points into the tree: it lives as long as the request */
    cln->handler = ngx_http_strangler_api_json_cleanup;
    cln->data = *json;

    return 0;
}


/*
 * The owner rule: an override cannot split traffic, so "reads" names one
 * backend; writes go to the (overridden) owner, and only "owner" moves
 * them.
 */

static ngx_uint_t
ngx_http_strangler_api_parse_patch(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *body, u_char **err)
{
    json_t      *v;
    ngx_uint_t   status;
    const char  *key;

    if (!json_is_object(body)) {
        *err = (u_char *) "the body must be a JSON object";
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx->patch.sample_ppm = -1;

    json_object_foreach(body, key, v) {

        if (ngx_strcmp(key, "reads") == 0) {
            ctx->fields |= NGX_HTTP_STRANGLER_OV_READS;
            status = ngx_http_strangler_api_backend_field(r, ctx, key, v,
                                                      &ctx->patch.reads, err);

        } else if (ngx_strcmp(key, "owner") == 0) {
            ctx->fields |= NGX_HTTP_STRANGLER_OV_OWNER;
            status = ngx_http_strangler_api_backend_field(r, ctx, key, v,
                                                      &ctx->patch.owner, err);

        } else if (ngx_strcmp(key, "shadow_sample") == 0) {
            ctx->fields |= NGX_HTTP_STRANGLER_OV_SAMPLE;
            status = ngx_http_strangler_api_sample_field(r, ctx, v, err);

        } else if (ngx_strcmp(key, "reason") == 0) {
            status = ngx_http_strangler_api_reason(r, ctx, v, err);

        } else if (ngx_strcmp(key, "writes") == 0) {
            *err = (u_char *) "writes always go to the owner: "
                              "set \"owner\" to move them";
            status = NGX_HTTP_BAD_REQUEST;

        } else {
            *err = ngx_http_strangler_msg(r->pool,
                                          "unknown field \"%s\": expected "
                                          "\"reads\", \"owner\", "
                                          "\"shadow_sample\" or "
                                          "\"reason\"", key);
            status = NGX_HTTP_BAD_REQUEST;
        }

        if (status) {
            return status;
        }
    }

    if (ctx->fields == 0) {
        *err = (u_char *) "nothing to change: set \"reads\", \"owner\" "
                          "or \"shadow_sample\"";
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx->action = "overridden";

    return 0;
}


/* a backend name of the table, or null for "not overridden" */

static ngx_uint_t
ngx_http_strangler_api_backend_field(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, const char *key, json_t *v,
    ngx_str_t *name, u_char **err)
{
    if (json_is_null(v)) {
        ngx_str_null(name);
        return 0;
    }

    if (json_is_object(v) || json_is_array(v)) {
        *err = ngx_http_strangler_msg(r->pool,
                                      "\"%s\" must name one backend: an "
                                      "override does not split traffic",
                                      key);
        return NGX_HTTP_BAD_REQUEST;
    }

    if (!json_is_string(v)) {
        *err = ngx_http_strangler_msg(r->pool,
                                      "\"%s\" must be a backend name or "
                                      "null", key);
        return NGX_HTTP_BAD_REQUEST;
    }

    name->data = (u_char *) json_string_value(v);
    name->len = json_string_length(v);

    if (strangler_backend_find(ctx->table->core, (char *) name->data,
                               name->len)
        < 0)
    {
        *err = ngx_http_strangler_msg(r->pool,
                                      "\"%s\": unknown backend \"%V\"",
                                      key, name);
        return NGX_HTTP_BAD_REQUEST;
    }

    return 0;
}


/* a percentage, decimals allowed, or null for "not overridden" */

static ngx_uint_t
ngx_http_strangler_api_sample_field(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *v, u_char **err)
{
    double  pct;

    if (json_is_null(v)) {
        ctx->patch.sample_ppm = -1;
        return 0;
    }

    pct = json_number_value(v);

    if (!json_is_number(v) || pct < 0 || pct > 100) {
        *err = (u_char *) "\"shadow_sample\" must be a number from 0 to 100 "
                          "or null";
        return NGX_HTTP_BAD_REQUEST;
    }

    if (!ctx->route->shadow.enabled) {
        *err = ngx_http_strangler_msg(r->pool,
                                      "route \"%V\" has no shadow to "
                                      "sample", &ctx->name);
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx->patch.sample_ppm = strangler_percent_to_ppm(pct);

    return 0;
}


/* a route gone from the table whose override is kept */

static ngx_uint_t
ngx_http_strangler_api_is_orphan(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_sh_route_t  *shr;

    ngx_shmtx_lock(&ctx->zone->shpool->mutex);

    shr = ngx_http_strangler_zone_lookup(ctx->zone, &ctx->table->file,
                                         &ctx->name);
    ctx->orphan = (shr != NULL && shr->override != NULL);

    ngx_shmtx_unlock(&ctx->zone->shpool->mutex);

    return ctx->orphan;
}


/*
 * The one path of every change of an override.  With strangler_etcd, etcd
 * takes it first (ngx_http_strangler_etcd_write()), and this host applies
 * it once etcd accepted it (ngx_http_strangler_api_applied()); a host's
 * orphaned override, in no table of its own, stays this host's business.
 * Without, with a state file, the change is staged, written in a snapshot
 * of every override, and installed once the file holds it: a 200 means
 * the change applies and survives a restart, a 503 that nothing changed.
 * One change is written at a time; another waits.
 */

ngx_int_t
ngx_http_strangler_api_apply(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_int_t                       rc;
    ngx_uint_t                      store;
    ngx_http_strangler_zone_ctx_t  *z;

    z = ctx->zone;

    if (ngx_http_strangler_api_by(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a change of owner waits for the old owner's writes to drain */

    rc = ngx_http_strangler_handoff_begin(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    store = ngx_http_strangler_change_store(z, ctx->orphan);

    if (store == NGX_HTTP_STRANGLER_STORE_ETCD) {
        return ngx_http_strangler_etcd_write(r, ctx);
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    rc = ngx_http_strangler_change_lock_locked(z, r->connection->log);

    if (rc == NGX_OK) {
        rc = ngx_http_strangler_api_stage(r, ctx);

        if (rc == NGX_OK && store == NGX_HTTP_STRANGLER_STORE_ZONE) {
            ngx_http_strangler_override_install(z, ctx->shr, ctx->staged,
                                                &ctx->patch);
        }

        if (rc != NGX_OK && store == NGX_HTTP_STRANGLER_STORE_FILE) {
            z->sh->writer = 0;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (rc == NGX_BUSY) {
        return ngx_http_strangler_api_wait(r, ctx);
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_NOT_FOUND,
                                            "no route \"%V\" in \"%V\"",
                                            &ctx->name, &ctx->table->file);
    }

    if (rc != NGX_OK) {
        ngx_http_strangler_zone_full(z, NGX_HTTP_STRANGLER_API_BODY_MAX,
                                     r->connection->log);

        return ngx_http_strangler_api_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "strangler_zone \"%V\" is full: "
                                            "nothing changed", &z->name);
    }

    if (store == NGX_HTTP_STRANGLER_STORE_ZONE) {
        ngx_http_strangler_api_log_change(r, ctx);
        return ngx_http_strangler_api_send_route(r, ctx);
    }

    ctx->change.shr = ctx->shr;
    ctx->change.staged = ctx->staged;
    ctx->change.install = ngx_http_strangler_api_install;
    ctx->change.discard = ngx_http_strangler_api_discard;
    ctx->answer = ngx_http_strangler_api_answer;

    return ngx_http_strangler_api_save(r, ctx);
}


/*
 * A change staged under the state file's lock (ctx->change says what it
 * installs or discards): written, then answered by ctx->answer
 */

ngx_int_t
ngx_http_strangler_api_save(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ctx->change.zone = ctx->zone;
    ctx->change.done = ngx_http_strangler_api_saved;
    ctx->change.data = ctx;
    ctx->request = r;

    r->main->count++;

    if (ngx_http_strangler_change_save(&ctx->change, r->pool,
                                       r->connection->log)
        != NGX_OK)
    {
        r->main->count--;

        return ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "saving \"%V\" failed: nothing "
                                            "changed",
                                            &ctx->zone->smcf->state_file);
    }

    return NGX_DONE;
}


/*
 * Who, when, through what and why (ngx_http_strangler_api_who.c), and
 * with etcd the host that took it too
 */

static ngx_int_t
ngx_http_strangler_api_by(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_str_t  who;

    if (ngx_http_strangler_api_who(r, ctx, &who) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->patch.by = who;
    ctx->patch.at = ngx_time();

    if (ctx->patch.via.len == 0) {
        ngx_str_set(&ctx->patch.via, "api");
    }

    if (ctx->zone->smcf->etcd == NULL) {
        return NGX_OK;
    }

    ctx->patch.by.data = ngx_pnalloc(r->pool, who.len + sizeof(" on ") - 1
                                              + ngx_cycle->hostname.len);
    if (ctx->patch.by.data == NULL) {
        return NGX_ERROR;
    }

    ctx->patch.by.len = ngx_sprintf(ctx->patch.by.data, "%V on %V", &who,
                                    &ngx_cycle->hostname)
                        - ctx->patch.by.data;

    return NGX_OK;
}


/*
 * etcd accepted the change and this host applied it: log it, answer.  The
 * state file, a last-known-good copy of what etcd holds, is saved behind
 * the answer: the change is the fleet's already, whatever becomes of the
 * file (a failure is logged by the writer).
 */

ngx_int_t
ngx_http_strangler_api_applied(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now)
{
    ctx->old = *old;
    ctx->now = *now;

    ngx_http_strangler_api_log_change(r, ctx);

    ngx_http_strangler_change_keep(ctx->zone, ngx_cycle->log);

    return ngx_http_strangler_api_send_route(r, ctx);
}


/*
 * The override the change makes, staged in the zone; called with the
 * mutex held.  NGX_DECLINED: the orphaned override is gone already.
 */

static ngx_int_t
ngx_http_strangler_api_stage(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    if (ctx->orphan) {
        ctx->shr = ngx_http_strangler_zone_lookup(ctx->zone,
                                                  &ctx->table->file,
                                                  &ctx->name);

        if (ctx->shr == NULL || ctx->shr->override == NULL) {
            return NGX_DECLINED;
        }
    }

    return ngx_http_strangler_override_stage(ctx->zone, ctx->shr,
                                             ctx->fields, &ctx->patch,
                                             &ctx->old, &ctx->now, r->pool,
                                             &ctx->staged);
}


/* the change was not written: forget it */

static void
ngx_http_strangler_api_discard(void *data)
{
    ngx_http_strangler_api_ctx_t  *ctx = data;

    ngx_shmtx_lock(&ctx->zone->shpool->mutex);

    if (ctx->staged) {
        ngx_slab_free_locked(ctx->zone->shpool, ctx->staged);
        ctx->staged = NULL;
    }

    ngx_shmtx_unlock(&ctx->zone->shpool->mutex);
}


static void
ngx_http_strangler_api_install(void *data)
{
    ngx_http_strangler_api_ctx_t  *ctx = data;

    ngx_shmtx_lock(&ctx->zone->shpool->mutex);
    ngx_http_strangler_override_install(ctx->zone, ctx->shr, ctx->staged,
                                        &ctx->patch);
    ngx_shmtx_unlock(&ctx->zone->shpool->mutex);
}


static ngx_int_t
ngx_http_strangler_api_answer(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_api_log_change(r, ctx);

    return ngx_http_strangler_api_send_route(r, ctx);
}


/* another change is being written: try again shortly */

static ngx_int_t
ngx_http_strangler_api_wait(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_pool_cleanup_t  *cln;

    if (ctx->waited >= NGX_HTTP_STRANGLER_API_WAIT) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "another change is being "
                                            "written to \"%V\": nothing "
                                            "changed, try again",
                                            &ctx->zone->smcf->state_file);
    }

    if (!ctx->retry_cleanup) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln->handler = ngx_http_strangler_api_retry_cleanup;
        cln->data = ctx;
        ctx->retry_cleanup = 1;

        ctx->retry.handler = ngx_http_strangler_api_retry;
        ctx->retry.data = r;
        ctx->retry.log = r->connection->log;
    }

    ctx->waited += NGX_HTTP_STRANGLER_API_RETRY;
    ngx_add_timer(&ctx->retry, NGX_HTTP_STRANGLER_API_RETRY);

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_strangler_api_retry(ngx_event_t *ev)
{
    ngx_http_request_t  *r = ev->data;

    ngx_connection_t              *c;
    ngx_http_strangler_api_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_strangler_module);

    ngx_http_finalize_request(r, ngx_http_strangler_api_apply(r, ctx));
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_strangler_api_retry_cleanup(void *data)
{
    ngx_http_strangler_api_ctx_t  *ctx = data;

    if (ctx->retry.timer_set) {
        ngx_del_timer(&ctx->retry);
    }
}


/*
 * The state file holds a change (an override, ignore rules), installed
 * already, or could not be written, and the change is discarded
 * (ngx_http_strangler_change.c): the request is answered
 */

static void
ngx_http_strangler_api_saved(void *data, ngx_int_t rc)
{
    ngx_http_strangler_api_ctx_t  *ctx = data;

    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    if (rc != NGX_OK) {
        rc = ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "writing \"%V\" failed: nothing "
                                          "changed (see the error log)",
                                          &ctx->zone->smcf->state_file);

    } else {
        rc = ctx->answer(r, ctx);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_strangler_api_log_change(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "strangler: route \"%V\"%s %s by %V: override %s -> %s",
                  &ctx->name, ctx->orphan ? " (orphaned)" : "", ctx->action,
                  &ctx->patch.by,
                  ngx_http_strangler_api_override_text(r->pool, &ctx->old),
                  ngx_http_strangler_api_override_text(r->pool, &ctx->now));
}


/* the route; after a rollback, what it changed first */

static ngx_int_t
ngx_http_strangler_api_send_route(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    json_t  *route, *json;

    if (ctx->route == NULL) {
        /* an orphaned override, dropped */
        return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK,
                           json_pack("{s:s%, s:b, s:n}", "name",
                                     ctx->name.data, ctx->name.len,
                                     "orphaned", 1, "override"));
    }

    route = ngx_http_strangler_report_route(r, ctx, ctx->route);

    if (ngx_http_strangler_handoff_done(r, ctx, route) != NGX_OK) {
        json_decref(route);
        route = NULL;
    }

    if (!ctx->rollback || route == NULL) {
        return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK, route);
    }

    json = json_pack("{s:o}", "rollback",
                     ngx_http_strangler_report_rollback(r, ctx));

    if (json && json_object_update(json, route) != 0) {
        json_decref(json);
        json = NULL;
    }

    json_decref(route);

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK, json);
}


/* for the log: the override as compact JSON, or "none" */

static u_char *
ngx_http_strangler_api_override_text(ngx_pool_t *pool,
    ngx_http_strangler_override_rec_t *ov)
{
    char    *text;
    json_t  *j;
    u_char  *s;

    if (ov->reads.len == 0 && ov->owner.len == 0 && ov->sample_ppm < 0) {
        return (u_char *) "none";
    }

    j = ngx_http_strangler_override_json(ov);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);

    if (text == NULL) {
        return (u_char *) "(out of memory)";
    }

    s = ngx_pnalloc(pool, ngx_strlen(text) + 1);
    if (s != NULL) {
        ngx_cpystrn(s, (u_char *) text, ngx_strlen(text) + 1);
    }

    free(text);

    return s ? s : (u_char *) "(out of memory)";
}


static void
ngx_http_strangler_api_json_cleanup(void *data)
{
    json_decref(data);
}
