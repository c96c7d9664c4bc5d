
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The etcd client: one POST of JSON to the gateway per call, on nginx's
 * event loop (ngx_event_connect_peer, non-blocking sends and reads, event
 * timers), never blocking a worker.
 *
 * A call speaks HTTP/1.0: etcd's gateway (Go's net/http) then answers
 * without chunked encoding and closes the connection at the end, so the
 * answer is whatever arrives before EOF, and a watch is a stream of JSON
 * messages, one a line.  A call that cannot connect to an endpoint (or
 * whose endpoint closes before it answered anything) moves to the next
 * one, starting from the endpoint the fleet state says is in use: losing
 * a member of a cluster moves every call to another.
 */


#include "ngx_http_strangler_etcd.h"


struct ngx_http_strangler_etcd_call_s {
    ngx_pool_t                         *pool;
    ngx_log_t                          *log;
    ngx_log_t                           quiet;      /* the connection's */
    ngx_http_strangler_etcd_conf_t     *ecf;
    ngx_peer_connection_t               peer;
    ngx_str_t                           request;
    size_t                              sent;
    u_char                             *buf;        /* the answer */
    size_t                              len;
    size_t                              size;
    size_t                              body;       /* offset; 0: headers */
    ngx_uint_t                          status;
    ngx_uint_t                          endpoint;
    ngx_uint_t                          tries;
    ngx_http_strangler_etcd_done_pt     done;
    ngx_http_strangler_etcd_line_pt     line;       /* NULL: not a stream */
    void                               *data;
};


static ngx_int_t ngx_http_strangler_etcd_connect(
    ngx_http_strangler_etcd_call_t *call);
static void ngx_http_strangler_etcd_keepalive(ngx_connection_t *c);
static void ngx_http_strangler_etcd_send(ngx_event_t *wev);
static void ngx_http_strangler_etcd_recv(ngx_event_t *rev);
static ngx_int_t ngx_http_strangler_etcd_header(
    ngx_http_strangler_etcd_call_t *call);
static ngx_int_t ngx_http_strangler_etcd_lines(
    ngx_http_strangler_etcd_call_t *call);
static void ngx_http_strangler_etcd_retry(ngx_http_strangler_etcd_call_t *call);
static void ngx_http_strangler_etcd_finish(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc);
static void ngx_http_strangler_etcd_close(ngx_http_strangler_etcd_call_t *call);
static void ngx_http_strangler_etcd_dummy(ngx_event_t *ev);


/*
 * Starts a POST of `body` (whose reference the call takes) to `path`;
 * `done` is called once, from the event loop, unless the call is aborted.
 * NULL: nothing started, and `done` is not called.
 */

ngx_http_strangler_etcd_call_t *
ngx_http_strangler_etcd_call(ngx_http_strangler_etcd_conf_t *ecf,
    const char *path, json_t *body, ngx_http_strangler_etcd_done_pt done,
    ngx_http_strangler_etcd_line_pt line, void *data, ngx_log_t *log)
{
    char                            *text;
    size_t                           len;
    ngx_pool_t                      *pool;
    ngx_http_strangler_etcd_call_t  *call;

    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);

    if (text == NULL) {
        return NULL;
    }

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        free(text);
        return NULL;
    }

    call = ngx_pcalloc(pool, sizeof(ngx_http_strangler_etcd_call_t));
    len = ngx_strlen(text);

    if (call == NULL) {
        goto failed;
    }

    call->request.data = ngx_pnalloc(pool, sizeof("POST  HTTP/1.0" CRLF
                                                  "Content-Type: "
                                                  "application/json" CRLF
                                                  "Content-Length: " CRLF
                                                  CRLF)
                                           + ngx_strlen(path) + NGX_SIZE_T_LEN
                                           + len);
    call->size = 16384;
    call->buf = ngx_pnalloc(pool, call->size);

    if (call->request.data == NULL || call->buf == NULL) {
        goto failed;
    }

    call->request.len = ngx_sprintf(call->request.data,
                                    "POST %s HTTP/1.0" CRLF
                                    "Content-Type: application/json" CRLF
                                    "Content-Length: %uz" CRLF CRLF "%s",
                                    path, len, text)
                        - call->request.data;
    free(text);

    call->pool = pool;
    call->log = log;
    call->ecf = ecf;
    call->done = done;
    call->line = line;
    call->data = data;
    call->endpoint = ecf->zone->sh->etcd->endpoint % ecf->endpoints.nelts;

    /*
     * nginx logs a refused connect() as an error: an endpoint that is down
     * is the watch's to report, once, not every try's
     */
    call->quiet = *log;
    call->quiet.log_level = NGX_LOG_CRIT;

    if (ngx_http_strangler_etcd_connect(call) != NGX_OK) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    return call;

failed:

    free(text);
    ngx_destroy_pool(pool);

    return NULL;
}


void *
ngx_http_strangler_etcd_call_data(ngx_http_strangler_etcd_call_t *call)
{
    return call->data;
}


/* ends a call without calling its `done` */

void
ngx_http_strangler_etcd_call_abort(ngx_http_strangler_etcd_call_t *call)
{
    ngx_http_strangler_etcd_close(call);
}


/* NGX_OK: connecting; NGX_DECLINED: no endpoint left to try */

static ngx_int_t
ngx_http_strangler_etcd_connect(ngx_http_strangler_etcd_call_t *call)
{
    ngx_int_t                            rc;
    ngx_connection_t                    *c;
    ngx_peer_connection_t               *pc;
    ngx_http_strangler_etcd_endpoint_t  *ep;

    for ( ;; ) {
        if (call->tries++ >= call->ecf->endpoints.nelts) {
            return NGX_DECLINED;
        }

        ep = call->ecf->endpoints.elts;
        ep = &ep[call->endpoint];

        pc = &call->peer;
        ngx_memzero(pc, sizeof(ngx_peer_connection_t));
        pc->sockaddr = ep->addr.sockaddr;
        pc->socklen = ep->addr.socklen;
        pc->name = &ep->name;
        pc->get = ngx_event_get_peer;
        pc->log = &call->quiet;
        pc->log_error = NGX_ERROR_INFO;

        call->sent = 0;
        call->len = 0;
        call->body = 0;

        rc = ngx_event_connect_peer(pc);

        if (rc == NGX_OK || rc == NGX_AGAIN) {
            break;
        }

        if (pc->connection) {
            ngx_close_connection(pc->connection);
            pc->connection = NULL;
        }

        call->endpoint = (call->endpoint + 1) % call->ecf->endpoints.nelts;
    }

    c = pc->connection;
    c->data = call;

    if (call->line) {
        ngx_http_strangler_etcd_keepalive(c);
    }
    c->read->handler = ngx_http_strangler_etcd_recv;
    c->write->handler = ngx_http_strangler_etcd_send;

    ngx_add_timer(c->write, NGX_HTTP_STRANGLER_ETCD_CONNECT_TIMEOUT);

    if (rc == NGX_OK) {
        /* from the event loop: `done` is never called before call() returns */
        ngx_post_event(c->write, &ngx_posted_events);
    }

    return NGX_OK;
}


/*
 * A watch waits for events as long as nothing changes: TCP keepalive
 * probes find a peer that vanished without closing (a partition) in about
 * 10 + 3 * 5 seconds.  Where they cannot be set, the watch goes without.
 */

static void
ngx_http_strangler_etcd_keepalive(ngx_connection_t *c)
{
    int  on;

    on = 1;

    if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(int)) == -1)
    {
        return;
    }

#if (NGX_HAVE_KEEPALIVE_TUNABLE)
    {
        int  idle, intvl, cnt;

        idle = 10;
        intvl = 5;
        cnt = 3;

        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
                          sizeof(int));
        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
                          sizeof(int));
        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt,
                          sizeof(int));
    }
#endif
}


static void
ngx_http_strangler_etcd_send(ngx_event_t *wev)
{
    ssize_t                          n;
    ngx_connection_t                *c;
    ngx_http_strangler_etcd_call_t  *call;

    c = wev->data;
    call = c->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, call->log, NGX_ETIMEDOUT,
                      "strangler: etcd %V timed out", call->peer.name);
        ngx_http_strangler_etcd_retry(call);
        return;
    }

    while (call->sent < call->request.len) {
        n = c->send(c, call->request.data + call->sent,
                    call->request.len - call->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_strangler_etcd_finish(call, NGX_ERROR);
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_strangler_etcd_retry(call);
            return;
        }

        call->sent += n;
    }

    wev->handler = ngx_http_strangler_etcd_dummy;

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (call->line == NULL) {
        ngx_add_timer(c->read, NGX_HTTP_STRANGLER_ETCD_CALL_TIMEOUT);
    }

    if (c->read->ready) {
        ngx_http_strangler_etcd_recv(c->read);

    } else if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_strangler_etcd_finish(call, NGX_ERROR);
    }
}


static void
ngx_http_strangler_etcd_recv(ngx_event_t *rev)
{
    u_char                          *p;
    ssize_t                          n;
    ngx_connection_t                *c;
    ngx_http_strangler_etcd_call_t  *call;

    c = rev->data;
    call = c->data;

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_INFO, call->log, NGX_ETIMEDOUT,
                      "strangler: etcd %V did not answer", call->peer.name);
        ngx_http_strangler_etcd_finish(call, NGX_ERROR);
        return;
    }

    for ( ;; ) {
        if (call->len == call->size) {
            if (call->size >= NGX_HTTP_STRANGLER_ETCD_BODY_MAX) {
                ngx_log_error(NGX_LOG_ERR, call->log, 0,
                              "strangler: etcd's answer is over %uz bytes",
                              call->size);
                ngx_http_strangler_etcd_finish(call, NGX_ERROR);
                return;
            }

            p = ngx_pnalloc(call->pool, call->size * 2);
            if (p == NULL) {
                ngx_http_strangler_etcd_finish(call, NGX_ERROR);
                return;
            }

            ngx_memcpy(p, call->buf, call->len);
            ngx_pfree(call->pool, call->buf);
            call->buf = p;
            call->size *= 2;
        }

        n = c->recv(c, call->buf + call->len, call->size - call->len);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            if (call->len == 0) {
                /* closed before any answer: another endpoint may answer */
                ngx_http_strangler_etcd_retry(call);
                return;
            }

            if (call->body == 0 && ngx_http_strangler_etcd_header(call)
                                   != NGX_OK)
            {
                ngx_http_strangler_etcd_finish(call, NGX_ERROR);
                return;
            }

            ngx_http_strangler_etcd_finish(call,
                                           (n == 0 && call->line == NULL)
                                           ? NGX_OK : NGX_ERROR);
            return;
        }

        call->len += n;

        if (call->body == 0) {
            if (ngx_http_strangler_etcd_header(call) == NGX_ERROR) {
                ngx_http_strangler_etcd_finish(call, NGX_ERROR);
                return;
            }
        }

        if (call->body && call->line && call->status == NGX_HTTP_OK) {
            if (ngx_http_strangler_etcd_lines(call) != NGX_OK) {
                ngx_http_strangler_etcd_finish(call, NGX_ERROR);
                return;
            }
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_strangler_etcd_finish(call, NGX_ERROR);
    }
}


/* NGX_OK: the status line and headers are read; NGX_AGAIN: not yet */

static ngx_int_t
ngx_http_strangler_etcd_header(ngx_http_strangler_etcd_call_t *call)
{
    u_char  *p, *last;

    p = call->buf;
    last = p + call->len;

    if (call->len < sizeof("HTTP/1.0 200") - 1) {
        return NGX_AGAIN;
    }

    if (ngx_strncmp(p, "HTTP/1.", 7) != 0) {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "strangler: %V is not etcd's HTTP gateway",
                      call->peer.name);
        return NGX_ERROR;
    }

    p = ngx_strlcasestrn(p, last, (u_char *) CRLF CRLF, 4 - 1);
    if (p == NULL) {
        return NGX_AGAIN;
    }

    call->status = ngx_atoi(call->buf + 9, 3);
    call->body = p + 4 - call->buf;

    if (call->status == NGX_HTTP_OK) {
        /* the endpoint that answers is the one the next calls try first */
        call->ecf->zone->sh->etcd->endpoint = call->endpoint;
    }

    return NGX_OK;
}


/* passes each complete line of a stream on, keeps the rest */

static ngx_int_t
ngx_http_strangler_etcd_lines(ngx_http_strangler_etcd_call_t *call)
{
    u_char        *p, *nl, *last;
    json_t        *msg;
    ngx_int_t      rc;
    json_error_t   err;

    p = call->buf + call->body;
    last = call->buf + call->len;

    while ((nl = ngx_strlchr(p, last, '\n')) != NULL) {
        msg = json_loadb((char *) p, nl - p, 0, &err);

        if (msg == NULL) {
            ngx_log_error(NGX_LOG_ERR, call->log, 0,
                          "strangler: etcd %V sent bad JSON: %s",
                          call->peer.name, err.text);
            return NGX_ERROR;
        }

        rc = call->line(call, msg);
        json_decref(msg);

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        p = nl + 1;
    }

    call->len = last - p;
    ngx_memmove(call->buf + call->body, p, call->len);
    call->len += call->body;

    return NGX_OK;
}


/* this endpoint failed before answering: the next one, or give up */

static void
ngx_http_strangler_etcd_retry(ngx_http_strangler_etcd_call_t *call)
{
    ngx_close_connection(call->peer.connection);
    call->peer.connection = NULL;

    call->endpoint = (call->endpoint + 1) % call->ecf->endpoints.nelts;

    if (ngx_http_strangler_etcd_connect(call) != NGX_OK) {
        ngx_http_strangler_etcd_finish(call, NGX_ERROR);
    }
}


static void
ngx_http_strangler_etcd_finish(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc)
{
    json_t        *answer;
    json_error_t   err;

    answer = NULL;

    if (rc == NGX_OK && call->body == 0) {
        rc = NGX_ERROR;
    }

    if (rc == NGX_OK) {
        answer = json_loadb((char *) call->buf + call->body,
                            call->len - call->body, 0, &err);

        if (call->status != NGX_HTTP_OK || answer == NULL) {
            ngx_log_error(NGX_LOG_ERR, call->log, 0,
                          "strangler: etcd %V answered %ui: \"%*s\"",
                          call->peer.name, call->status,
                          ngx_min(call->len - call->body, 256),
                          call->buf + call->body);
            rc = NGX_DECLINED;
        }
    }

    if (call->peer.connection) {
        ngx_close_connection(call->peer.connection);
        call->peer.connection = NULL;
    }

    call->done(call, rc, answer);

    json_decref(answer);
    ngx_destroy_pool(call->pool);
}


static void
ngx_http_strangler_etcd_close(ngx_http_strangler_etcd_call_t *call)
{
    if (call->peer.connection) {
        ngx_close_connection(call->peer.connection);
    }

    ngx_destroy_pool(call->pool);
}


static void
ngx_http_strangler_etcd_dummy(ngx_event_t *ev)
{
}
