
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * GET fleet: every host of the fleet, as etcd holds it (members, presence,
 * the revision each applied), and DELETE fleet/hosts/NAME: an operator
 * removes a host known to be dead.  Both answer once etcd did; without
 * strangler_etcd there is no fleet (404), etcd unreachable is 503.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_etcd.h"


static void ngx_http_strangler_api_fleet_done(
    ngx_http_strangler_etcd_fleet_t *f, ngx_int_t rc, json_t *fleet);
static void ngx_http_strangler_api_fleet_removed(
    ngx_http_strangler_etcd_fleet_t *f, ngx_int_t rc, json_t *fleet);


ngx_int_t
ngx_http_strangler_api_fleet(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_etcd_conf_t  *ecf;

    ecf = ctx->zone->smcf->etcd;

    if (ecf == NULL) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_NOT_FOUND,
                                            "no fleet: this host has no "
                                            "\"strangler_etcd\"");
    }

    if (ngx_http_strangler_etcd_fleet_read(ecf, r->pool, r->connection->log,
                                           ngx_http_strangler_api_fleet_done,
                                           r)
        == NULL)
    {
        return ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "etcd is unreachable");
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_strangler_api_fleet_done(ngx_http_strangler_etcd_fleet_t *f,
    ngx_int_t rc, json_t *fleet)
{
    ngx_http_request_t  *r;
    ngx_connection_t    *c;

    r = ngx_http_strangler_etcd_fleet_data(f);
    c = r->connection;

    if (rc == NGX_OK) {
        rc = ngx_http_strangler_api_send_json(r, NGX_HTTP_OK,
                                              json_incref(fleet));

    } else {
        rc = ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "etcd is unreachable");
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* DELETE fleet/hosts/NAME */

ngx_int_t
ngx_http_strangler_api_fleet_host(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_etcd_conf_t  *ecf;

    ecf = ctx->zone->smcf->etcd;

    if (ecf == NULL) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_NOT_FOUND,
                                            "no fleet: this host has no "
                                            "\"strangler_etcd\"");
    }

    if (!ngx_http_strangler_etcd_host_name_ok(ctx->name.data,
                                              ctx->name.len))
    {
        return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                            "\"%V\" is not a host name "
                                            "(letters, digits, '.', '-', "
                                            "'_')", &ctx->name);
    }

    if (ngx_http_strangler_etcd_fleet_remove(ecf, &ctx->name, r->pool,
                                      r->connection->log,
                                      ngx_http_strangler_api_fleet_removed, r)
        == NULL)
    {
        return ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "etcd is unreachable: nothing "
                                            "changed");
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "strangler: %V asks to remove host \"%V\" from the fleet",
                  &r->connection->addr_text, &ctx->name);

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_strangler_api_fleet_removed(ngx_http_strangler_etcd_fleet_t *f,
    ngx_int_t rc, json_t *fleet)
{
    ngx_http_request_t            *r;
    ngx_connection_t              *c;
    ngx_http_strangler_api_ctx_t  *ctx;

    r = ngx_http_strangler_etcd_fleet_data(f);
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_strangler_module);

    switch (rc) {

    case NGX_OK:
        rc = ngx_http_strangler_api_send_json(r, NGX_HTTP_OK,
                 json_pack("{s:s%}", "removed", ctx->name.data,
                           ctx->name.len));
        break;

    case NGX_DECLINED:
        rc = ngx_http_strangler_api_error(r, NGX_HTTP_NOT_FOUND,
                                          "no host \"%V\" in the fleet",
                                          &ctx->name);
        break;

    default:
        rc = ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "etcd did not answer: the host "
                                          "may be removed or not");
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}
