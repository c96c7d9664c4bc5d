
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `PUT routes/NAME/ignore` with {"add": [...], "remove": [...]}: runtime
 * ignore rules of a compared route (ngx_http_strangler_ignore.c).  As an
 * override is, the change is written to the state file first and applies
 * once it is there; a bad rule is a 400 naming it, and changes nothing.
 * With strangler_etcd, the rules as they will be go to etcd instead
 * (ngx_http_strangler_etcd_write_ignore), which applies them everywhere.
 */


#include "ngx_http_strangler_api.h"


static void ngx_http_strangler_api_ignore_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_strangler_api_ignore_apply(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *body);
static void ngx_http_strangler_api_ignore_discard(void *data);
static void ngx_http_strangler_api_ignore_install(void *data);


ngx_int_t
ngx_http_strangler_api_ignore(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->binding == NULL || ctx->binding->shr->fields == NULL) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_CONFLICT,
                                            "route \"%V\" compares no "
                                            "responses (shadow.compare)",
                                            &ctx->name);
    }

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_strangler_api_ignore_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_strangler_api_ignore_body(ngx_http_request_t *r)
{
    json_t                        *body;
    u_char                        *err;
    ngx_int_t                      rc;
    ngx_uint_t                     status;
    ngx_http_strangler_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_strangler_module);

    err = NULL;
    status = ngx_http_strangler_api_read_json(r, &body, &err);

    if (status == 0 && !json_is_object(body)) {
        status = NGX_HTTP_BAD_REQUEST;
        err = (u_char *) "expected {\"add\": [...], \"remove\": [...]}";
    }

    if (status == 0) {
        rc = ngx_http_strangler_api_ignore_apply(r, ctx, body);

    } else if (err == NULL) {
        rc = status;

    } else {
        rc = ngx_http_strangler_api_error(r, status, "%s", err);
    }

    ngx_http_finalize_request(r, rc);
}


/* the one change, staged, saved, then installed */

static ngx_int_t
ngx_http_strangler_api_ignore_apply(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *body)
{
    u_char                            *err;
    json_t                            *rules;
    ngx_int_t                          rc;
    ngx_str_t                         *state;
    ngx_uint_t                         store;
    ngx_http_strangler_zone_ctx_t     *z;
    ngx_http_strangler_ignore_list_t   next;
    ngx_http_strangler_sh_fields_t    *f;

    z = ctx->zone;
    f = ctx->binding->shr->fields;
    state = &z->smcf->state_file;
    store = ngx_http_strangler_change_store(z, 0);

    if (store == NGX_HTTP_STRANGLER_STORE_ETCD) {
        /* checked here, written to etcd, applied by the one etcd path */
        err = NULL;
        rc = ngx_http_strangler_ignore_next(z, f, json_object_get(body, "add"),
                                            json_object_get(body, "remove"),
                                            &next, r->pool, &err);
        if (rc != NGX_OK) {
            return ngx_http_strangler_api_error(r, rc, "%s", err);
        }

        rules = ngx_http_strangler_ignore_list_json(&next);
        if (rules == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->action = "ignore rules change";
        rc = ngx_http_strangler_etcd_write_ignore(r, ctx, rules);
        json_decref(rules);

        return rc;
    }

    ngx_shmtx_lock(&z->shpool->mutex);
    rc = ngx_http_strangler_change_lock_locked(z, r->connection->log);
    ngx_shmtx_unlock(&z->shpool->mutex);

    if (rc == NGX_BUSY) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "another change is being "
                                            "written to \"%V\": try again",
                                            state);
    }

    err = NULL;
    rc = ngx_http_strangler_ignore_change(z, f, json_object_get(body, "add"),
                                          json_object_get(body, "remove"),
                                          r->pool, &err);

    if (rc != NGX_OK) {
        if (store == NGX_HTTP_STRANGLER_STORE_FILE) {
            ngx_http_strangler_state_unlock(z, r->connection->log);
        }

        return ngx_http_strangler_api_error(r, rc, "%s", err);
    }

    if (store == NGX_HTTP_STRANGLER_STORE_ZONE) {
        ngx_http_strangler_ignore_install(z, f);
        return ngx_http_strangler_api_ignore_send(r, ctx);
    }

    ctx->change.shr = NULL;
    ctx->change.staged = NULL;
    ctx->change.install = ngx_http_strangler_api_ignore_install;
    ctx->change.discard = ngx_http_strangler_api_ignore_discard;
    ctx->answer = ngx_http_strangler_api_ignore_send;

    return ngx_http_strangler_api_save(r, ctx);
}


/* what the state file's write does with the rules staged */

static void
ngx_http_strangler_api_ignore_discard(void *data)
{
    ngx_http_strangler_api_ctx_t  *ctx = data;

    ngx_http_strangler_ignore_unstage(ctx->zone, ctx->binding->shr->fields);
}


static void
ngx_http_strangler_api_ignore_install(void *data)
{
    ngx_http_strangler_api_ctx_t  *ctx = data;

    ngx_http_strangler_ignore_install(ctx->zone, ctx->binding->shr->fields);
}


/* {"route", "ignore": the table's, "runtime_ignore": the API's} */

ngx_int_t
ngx_http_strangler_api_ignore_send(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    size_t                           i;
    json_t                          *json, *table, *runtime;
    const strangler_strs_t          *ig;
    ngx_http_strangler_sh_fields_t  *f;

    f = ctx->binding->shr->fields;
    ig = &ctx->route->shadow.ignore;

    table = json_array();
    runtime = ngx_http_strangler_ignore_json(f, 0);

    for (i = 0; table && i < ig->n; i++) {
        json_array_append_new(table, json_stringn(ig->items[i].data,
                                                  ig->items[i].len));
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "strangler: runtime ignore rules of route \"%V\" changed "
                  "by %V: %ui now", &ctx->name, &r->connection->addr_text,
                  f->nignore);

    json = json_pack("{s:s%, s:o*, s:o*}", "route", ctx->name.data,
                     ctx->name.len, "ignore", table, "runtime_ignore",
                     runtime);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK, json);
}
