
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The API's changes with strangler_etcd: the fleet's writer
 * (ngx_http_strangler_etcd_change) is started with a completion handler
 * that answers the call once etcd accepted the change and this host
 * applied it, or refused it.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_etcd.h"


static ngx_int_t ngx_http_strangler_etcd_unreachable(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_strangler_etcd_api_done(
    ngx_http_strangler_etcd_change_t *ch, ngx_int_t rc);


/*
 * The API's changes with strangler_etcd: ngx_http_strangler_api_applied
 * (log, state file, answer) once etcd accepted the change and this host
 * applied it.
 * NGX_DONE: the answer comes later.
 */

ngx_int_t
ngx_http_strangler_etcd_write(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_etcd_change_t  *ch;

    ch = ngx_http_strangler_etcd_change(ctx->zone, ctx->shr,
                                        &ctx->name, ctx->fields, &ctx->patch,
                                        r->pool, r->connection->log,
                                        ngx_http_strangler_etcd_api_done, r);
    if (ch == NULL) {
        if (ctx->rolled_back) {
            return ngx_http_strangler_api_break_glass(r, ctx);
        }

        return ngx_http_strangler_etcd_unreachable(r, NGX_ERROR);
    }

    r->main->count++;

    return NGX_DONE;
}


/*
 * 503: the change did not reach etcd (nothing changed), or reached it
 * without an answer (it may apply or not: the status's fleet.outcomes
 * says which once the watcher learns it)
 */

static ngx_int_t
ngx_http_strangler_etcd_unreachable(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_AGAIN) {
        return ngx_http_strangler_api_send_json(r,
                   NGX_HTTP_SERVICE_UNAVAILABLE,
                   json_pack("{s:s, s:s}",
                             "error", "etcd did not answer: the change may "
                                      "apply or not, fleet.outcomes in the "
                                      "status says which once known",
                             "outcome", "unknown"));
    }

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_SERVICE_UNAVAILABLE,
               json_pack("{s:s, s:s}",
                         "error", "etcd is unreachable: nothing changed",
                         "outcome", "unchanged"));
}


/* the same for `PUT routes/NAME/ignore`: `rules` are the next ones */

ngx_int_t
ngx_http_strangler_etcd_write_ignore(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *rules)
{
    ngx_http_strangler_etcd_change_t  *ch;

    ch = ngx_http_strangler_etcd_change_ignore(ctx->zone, &ctx->name, rules,
                                        r->pool, r->connection->log,
                                        ngx_http_strangler_etcd_api_done, r);
    if (ch == NULL) {
        return ngx_http_strangler_etcd_unreachable(r, NGX_ERROR);
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_strangler_etcd_api_done(ngx_http_strangler_etcd_change_t *ch,
    ngx_int_t rc)
{
    ngx_http_request_t *r = ch->data;

    ngx_connection_t              *c;
    ngx_http_strangler_api_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_strangler_module);

    switch (rc) {

    case NGX_OK:
        if (ch->kv.ignore) {
            ngx_http_strangler_change_keep(ch->zone, ngx_cycle->log);
            rc = ngx_http_strangler_api_ignore_send(r, ctx);
            break;
        }

        rc = ngx_http_strangler_api_applied(r, ctx, &ch->old, &ch->next);
        break;

    case NGX_BUSY:
        ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                      "strangler: route \"%V\" changed on another host "
                      "since this one saw it: %s refused", &ctx->name,
                      ctx->action);

        rc = ngx_http_strangler_api_send_json(r, NGX_HTTP_CONFLICT,
                 json_pack("{s:s, s:O, s:I}",
                           "error", "the route changed on another host "
                                    "since this one saw it: nothing "
                                    "changed, read \"current\" and try "
                                    "again",
                           "current", ch->current,
                           "mod_revision", (json_int_t) ch->current_mod));
        break;

    case NGX_AGAIN:
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "strangler: etcd did not answer the change of route "
                      "\"%V\" (%s): its outcome is unknown until etcd "
                      "answers again", &ctx->name, ctx->action);

        /* fall through */

    case NGX_ERROR:
        if (ctx->rolled_back) {
            /* break-glass: the rollback applies here, etcd gets it later */
            rc = ngx_http_strangler_api_break_glass(r, ctx);
            break;
        }

        rc = ngx_http_strangler_etcd_unreachable(r, rc);
        break;

    default:
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json_decref(ch->current);
    ch->current = NULL;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}
