
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * strangler_fence on: a host that cannot show the fleet it is alive stops
 * its own writes, so that the fleet may commit a handoff without it once
 * its lease expired.  From half its lease's TTL without a renewal, a
 * write is held (looked at again every 50 ms); from the whole TTL, it is
 * refused (503, Retry-After: 1).  A renewal releases the held writes.
 * Its lease expires in etcd no sooner than the TTL after its last renewal
 * reached etcd, and the host counts from the answer, later: it stops
 * before the fleet may go on without it.  Reads are never held.
 */


#include "ngx_http_strangler_request.h"
#include "ngx_http_strangler_etcd.h"


#define NGX_HTTP_STRANGLER_FENCE_POLL  50    /* ms */


typedef struct {
    ngx_event_t                         ev;
    ngx_http_request_t                 *r;
} ngx_http_strangler_fenced_t;


static void ngx_http_strangler_fence_poll(ngx_event_t *ev);
static void ngx_http_strangler_fence_cleanup(void *data);


/* NGX_OK: the write goes on; NGX_DONE: held; else the status to answer */

ngx_int_t
ngx_http_strangler_fence_write(ngx_http_request_t *r,
    ngx_http_strangler_main_conf_t *smcf)
{
    ngx_msec_int_t                silent, ttl;
    ngx_table_elt_t              *h;
    ngx_pool_cleanup_t           *cln;
    ngx_http_strangler_fenced_t  *f;

    if (smcf->etcd == NULL || !smcf->etcd->fence) {
        return NGX_OK;
    }

    silent = ngx_http_strangler_etcd_hosts_silence(smcf->etcd);
    ttl = (ngx_msec_int_t) smcf->etcd->host_ttl * 1000;

    if (silent < ttl / 2) {
        return NGX_OK;
    }

    if (silent >= ttl) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "strangler: write refused: this host has not renewed "
                      "its lease in etcd for %Mms (strangler_fence on)",
                      (ngx_msec_t) silent);

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        ngx_str_set(&h->value, "1");

        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* held: decided again in a moment */

    f = ngx_pcalloc(r->pool, sizeof(ngx_http_strangler_fenced_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (f == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    f->r = r;
    f->ev.handler = ngx_http_strangler_fence_poll;
    f->ev.data = f;
    f->ev.log = r->connection->log;

    cln->handler = ngx_http_strangler_fence_cleanup;
    cln->data = f;

    ngx_add_timer(&f->ev, NGX_HTTP_STRANGLER_FENCE_POLL);

    r->write_event_handler = ngx_http_request_empty_handler;
    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_strangler_fence_poll(ngx_event_t *ev)
{
    ngx_http_strangler_fenced_t *f = ev->data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = f->r;
    c = r->connection;

    r->write_event_handler = ngx_http_core_run_phases;

    rc = ngx_http_strangler_dispatch_handler(r);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_strangler_fence_cleanup(void *data)
{
    ngx_http_strangler_fenced_t *f = data;

    if (f->ev.timer_set) {
        ngx_del_timer(&f->ev);
    }
}
