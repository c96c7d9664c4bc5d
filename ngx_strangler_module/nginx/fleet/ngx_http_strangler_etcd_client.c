
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
 *
 * https:// endpoints: a TLS handshake on nginx's SSL layer comes first,
 * and etcd's certificate is checked against the CA and the endpoint's
 * host (or address) before anything is sent; then c->send and c->recv
 * are OpenSSL's and the rest is the same.  With strangler_etcd_user, a
 * call first gets a token from /v3/auth/authenticate if the worker has
 * none, and sends it in the Authorization header; a token etcd no longer
 * knows (expired, or etcd restarted) is renewed once and the call made
 * again.  The token is the worker's: the calls are made by whichever
 * worker needs them, and a token in the zone would need a lock and a
 * slab copy for what one more authentication per worker costs.
 *
 * Why a call failed (nginx's own message about the connection, or the
 * checks here) goes to the fleet's status, and to the error log as an
 * error when it is about TLS or authentication: a wrong CA, a missing
 * client certificate or a wrong password is never retried in silence.
 */


#include "ngx_http_strangler_etcd.h"


struct ngx_http_strangler_etcd_call_s {
    ngx_pool_t                         *pool;
    ngx_log_t                          *log;
    ngx_log_t                           quiet;
    ngx_log_t                           capture;    /* the connection's */
    ngx_http_strangler_etcd_conf_t     *ecf;
    ngx_peer_connection_t               peer;
    const char                         *path;
    ngx_str_t                           json;       /* the call's body */
    ngx_str_t                           request;
    ngx_uint_t                          token;      /* its generation */
    unsigned                            authenticating:1;
    unsigned                            renewed:1;
    unsigned                            alarm:1;    /* TLS, auth */
    size_t                              error_len;
    /* why it failed */
    u_char                              error[NGX_HTTP_STRANGLER_ETCD_ERR];
    size_t                              sent;
    ngx_uint_t                          delivered;  /* once, whole */
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


/* a watch's stream, unless it is getting its token first */
#define ngx_http_strangler_etcd_stream(call)                                 \
    ((call)->line && !(call)->authenticating)


static ngx_int_t ngx_http_strangler_etcd_request(
    ngx_http_strangler_etcd_call_t *call);
static ngx_int_t ngx_http_strangler_etcd_connect(
    ngx_http_strangler_etcd_call_t *call);
static void ngx_http_strangler_etcd_capture(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len);
#if (NGX_SSL)
static void ngx_http_strangler_etcd_ssl_init(ngx_event_t *ev);
static void ngx_http_strangler_etcd_ssl_done(ngx_connection_t *c);
static ngx_int_t ngx_http_strangler_etcd_ssl_verify(
    ngx_http_strangler_etcd_call_t *call, ngx_connection_t *c);
static void ngx_http_strangler_etcd_hint(ngx_http_strangler_etcd_call_t *call);
#endif
static ngx_int_t ngx_http_strangler_etcd_authenticated(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static ngx_int_t ngx_http_strangler_etcd_renew(
    ngx_http_strangler_etcd_call_t *call, u_char *p, u_char *last);
static void ngx_http_strangler_etcd_failed(
    ngx_http_strangler_etcd_call_t *call, const char *fmt, ...);
static void ngx_http_strangler_etcd_drop(ngx_http_strangler_etcd_call_t *call);
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


/* the worker's etcd token (strangler_etcd_user), and its generation */
static ngx_str_t   ngx_http_strangler_etcd_token;
static ngx_uint_t  ngx_http_strangler_etcd_token_gen;


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
    ngx_pool_t                      *pool;
    ngx_http_strangler_etcd_call_t  *call;

    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);

    if (text == NULL) {
        return NULL;
    }

    /*
     * the pool outlives `done`, which may finalize the request whose
     * connection `log` belongs to: the pool's own log is the cycle's
     */
    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        free(text);
        return NULL;
    }

    call = ngx_pcalloc(pool, sizeof(ngx_http_strangler_etcd_call_t));
    if (call == NULL) {
        goto failed;
    }

    call->json.len = ngx_strlen(text);
    call->json.data = ngx_pnalloc(pool, call->json.len);
    call->size = 16384;
    call->buf = ngx_pnalloc(pool, call->size);

    if (call->json.data == NULL || call->buf == NULL) {
        goto failed;
    }

    ngx_memcpy(call->json.data, text, call->json.len);
    free(text);
    text = NULL;

    call->pool = pool;
    call->log = log;
    call->ecf = ecf;
    call->path = path;
    call->done = done;
    call->line = line;
    call->data = data;
    call->endpoint = ecf->zone->sh->etcd->endpoint % ecf->endpoints.nelts;

    /* a token first, if etcd wants one and the worker has none */
    call->authenticating = (ecf->auth.len
                            && ngx_http_strangler_etcd_token.len == 0);

    /*
     * nginx logs a refused connect() as an error: an endpoint that is down
     * is the watch's to report, once, not every try's.  The connection's
     * own log keeps what nginx says of it, as the reason a call failed.
     */
    call->quiet = *log;
    call->quiet.log_level = NGX_LOG_CRIT;

    call->capture = call->quiet;
    call->capture.log_level = NGX_LOG_INFO;
    call->capture.handler = NULL;
    call->capture.data = NULL;
    call->capture.writer = ngx_http_strangler_etcd_capture;
    call->capture.wdata = call;
    call->capture.next = &call->quiet;

    if (ngx_http_strangler_etcd_request(call) != NGX_OK
        || ngx_http_strangler_etcd_connect(call) != NGX_OK)
    {
        goto failed;
    }

    return call;

failed:

    free(text);
    ngx_destroy_pool(pool);

    return NULL;
}


/* the HTTP request: the call's, or the authentication before it */

static ngx_int_t
ngx_http_strangler_etcd_request(ngx_http_strangler_etcd_call_t *call)
{
    u_char      *p;
    size_t       len;
    ngx_str_t   *body, token;
    const char  *path;

    if (call->authenticating) {
        path = "/v3/auth/authenticate";
        body = &call->ecf->auth;
        ngx_str_null(&token);

    } else {
        path = call->path;
        body = &call->json;
        token = ngx_http_strangler_etcd_token;
        call->token = ngx_http_strangler_etcd_token_gen;
    }

    len = sizeof("POST  HTTP/1.0" CRLF
                 "Content-Type: application/json" CRLF
                 "Content-Length: " CRLF CRLF) - 1
          + ngx_strlen(path) + NGX_SIZE_T_LEN + body->len;

    if (token.len) {
        len += sizeof("Authorization: " CRLF) - 1 + token.len;
    }

    p = ngx_pnalloc(call->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    call->request.data = p;

    p = ngx_sprintf(p, "POST %s HTTP/1.0" CRLF
                       "Content-Type: application/json" CRLF
                       "Content-Length: %uz" CRLF,
                    path, body->len);

    if (token.len) {
        p = ngx_sprintf(p, "Authorization: %V" CRLF, &token);
    }

    p = ngx_sprintf(p, CRLF "%V", body);

    call->request.len = p - call->request.data;

    return NGX_OK;
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


/*
 * Whether some endpoint received the whole request: if it did, and no
 * valid answer came, what it did with it is unknown.
 */

ngx_uint_t
ngx_http_strangler_etcd_call_is_sent(ngx_http_strangler_etcd_call_t *call)
{
    return call->delivered;
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
        pc->log = &call->capture;
        pc->log_error = NGX_ERROR_INFO;

        call->sent = 0;
        call->len = 0;
        call->body = 0;
        call->status = 0;
        call->error_len = 0;
        call->alarm = 0;

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
    /* TLS's state lives as long as the call: a few tries at most */
    c->pool = call->pool;

    if (call->line) {
        ngx_http_strangler_etcd_keepalive(c);
    }
    c->read->handler = ngx_http_strangler_etcd_recv;
    c->write->handler = ngx_http_strangler_etcd_send;

#if (NGX_SSL)
    if (call->ecf->ssl) {
        /* the handshake once connected; its timer bounds both */
        c->read->handler = ngx_http_strangler_etcd_dummy;
        c->write->handler = ngx_http_strangler_etcd_ssl_init;
    }
#endif

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


/*
 * The connection's log: what nginx says of it, without the time, level
 * and pid, is the reason the attempt failed (the first thing said).  A
 * message with OpenSSL's error queue in it, "(SSL: ...)", is about TLS.
 */

static void
ngx_http_strangler_etcd_capture(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len)
{
    u_char                          *p, *last;
    ngx_http_strangler_etcd_call_t  *call;

    call = log->wdata;

    if (call->error_len) {
        return;
    }

    last = buf + len;

    while (last > buf && (last[-1] == LF || last[-1] == CR)) {
        last--;
    }

    /* "TIME [LEVEL] PID#TID: [*N ]MESSAGE" */

    p = ngx_strlchr(buf, last, ']');
    p = p ? ngx_strlcasestrn(p, last, (u_char *) ": ", 2 - 1) : NULL;

    if (p == NULL) {
        return;
    }

    p += 2;

    if (p < last && *p == '*') {
        p = ngx_strlchr(p, last, ' ');
        if (p == NULL) {
            return;
        }

        p++;
    }

    call->error_len = ngx_min((size_t) (last - p), sizeof(call->error));
    ngx_memcpy(call->error, p, call->error_len);

    call->alarm = (ngx_strlcasestrn(p, last, (u_char *) "(SSL:", 5 - 1)
                   != NULL);
}


/* a reason of the call's own, over what nginx said */

static void
ngx_http_strangler_etcd_failed(ngx_http_strangler_etcd_call_t *call,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    call->error_len = ngx_vslprintf(call->error,
                                    call->error + sizeof(call->error), fmt,
                                    args)
                      - call->error;
    va_end(args);

    call->alarm = 1;
}


#if (NGX_SSL)

/* connected (or not): TLS, with the endpoint's host as SNI */

static void
ngx_http_strangler_etcd_ssl_init(ngx_event_t *wev)
{
    int                                  err;
    socklen_t                            len;
    ngx_int_t                            rc;
    ngx_connection_t                    *c;
    ngx_http_strangler_etcd_call_t      *call;
    ngx_http_strangler_etcd_endpoint_t  *ep;

    c = wev->data;
    call = c->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "connect() to %V timed out", call->peer.name);
        ngx_http_strangler_etcd_retry(call);
        return;
    }

    /* a refused connection is said as such, not as a failed handshake */

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_INFO, c->log, err, "connect() to %V failed",
                      call->peer.name);
        ngx_http_strangler_etcd_retry(call);
        return;
    }

    if (ngx_ssl_create_connection(call->ecf->ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_strangler_etcd_finish(call, NGX_ERROR);
        return;
    }

    ep = call->ecf->endpoints.elts;
    ep = &ep[call->endpoint];

    /* no SNI for an address (RFC 6066) */

    if (call->ecf->ssl_server_name && !ep->ip
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) ep->host.data)
           == 0)
    {
        ngx_ssl_error(NGX_LOG_ERR, call->log, 0,
                      "SSL_set_tlsext_host_name(\"%s\") failed",
                      ep->host.data);
        ngx_http_strangler_etcd_finish(call, NGX_ERROR);
        return;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        if (!c->write->timer_set) {
            ngx_add_timer(c->write, NGX_HTTP_STRANGLER_ETCD_CONNECT_TIMEOUT);
        }

        c->ssl->handler = ngx_http_strangler_etcd_ssl_done;
        return;
    }

    ngx_http_strangler_etcd_ssl_done(c);
}


static void
ngx_http_strangler_etcd_ssl_done(ngx_connection_t *c)
{
    ngx_http_strangler_etcd_call_t  *call;

    call = c->data;

    if (!c->ssl->handshaked) {
        if (c->write->timedout) {
            /* a frozen etcd, not a TLS matter */
            ngx_http_strangler_etcd_failed(call, "TLS handshake with %V "
                                           "timed out", call->peer.name);
            call->alarm = 0;

        } else if (call->error_len == 0) {
            ngx_http_strangler_etcd_failed(call, "TLS handshake with %V "
                                           "failed", call->peer.name);
        }

        ngx_http_strangler_etcd_retry(call);
        return;
    }

    if (call->ecf->ssl_verify
        && ngx_http_strangler_etcd_ssl_verify(call, c) != NGX_OK)
    {
        ngx_http_strangler_etcd_retry(call);
        return;
    }

    c->read->handler = ngx_http_strangler_etcd_recv;
    c->write->handler = ngx_http_strangler_etcd_send;

    ngx_http_strangler_etcd_send(c->write);
}


/*
 * etcd refuses a client certificate, or its absence, with a TLS alert
 * whose OpenSSL name ("bad certificate", "certificate required") does not
 * say whose certificate: say it
 */

static void
ngx_http_strangler_etcd_hint(ngx_http_strangler_etcd_call_t *call)
{
    u_char      *last, text[sizeof(call->error)];
    size_t       len;
    const char  *hint;

    last = call->error + call->error_len;

    if (ngx_strlcasestrn(call->error, last, (u_char *) "alert", 5 - 1)
        == NULL
        || ngx_strlcasestrn(call->error, last, (u_char *) "certificate",
                            11 - 1)
           == NULL)
    {
        return;
    }

    hint = call->ecf->ssl_certificate.len
           ? "etcd refused the client certificate (expired, or not signed "
             "by a CA etcd trusts?)"
           : "etcd wants a client certificate (see "
             "strangler_etcd_ssl_certificate)";

    len = ngx_snprintf(text, sizeof(text), "%s: %*s", hint,
                       call->error_len, call->error)
          - text;

    call->error_len = len;
    ngx_memcpy(call->error, text, len);
}


/* etcd's certificate: signed by the trusted CA, for the endpoint's host */

static ngx_int_t
ngx_http_strangler_etcd_ssl_verify(ngx_http_strangler_etcd_call_t *call,
    ngx_connection_t *c)
{
    long                                 rc;
    X509                                *cert;
    ngx_int_t                            match;
    ngx_http_strangler_etcd_endpoint_t  *ep;

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_http_strangler_etcd_failed(call, "the certificate of %V is not "
                                       "trusted: %s (%l) (see "
                                       "strangler_etcd_ssl_trusted_"
                                       "certificate)", call->peer.name,
                                       X509_verify_cert_error_string(rc), rc);
        return NGX_ERROR;
    }

    ep = call->ecf->endpoints.elts;
    ep = &ep[call->endpoint];

    if (ep->ip) {
        cert = SSL_get_peer_certificate(c->ssl->connection);
        match = (cert && X509_check_ip_asc(cert, (char *) ep->host.data, 0)
                         == 1);
        X509_free(cert);

    } else {
        match = (ngx_ssl_check_host(c, &ep->host) == NGX_OK);
    }

    if (!match) {
        ngx_http_strangler_etcd_failed(call, "the certificate of %V is not "
                                       "for \"%V\"", call->peer.name,
                                       &ep->host);
        return NGX_ERROR;
    }

    return NGX_OK;
}

#endif


static void
ngx_http_strangler_etcd_send(ngx_event_t *wev)
{
    ssize_t                          n;
    ngx_connection_t                *c;
    ngx_http_strangler_etcd_call_t  *call;

    c = wev->data;
    call = c->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "etcd %V timed out", call->peer.name);
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

    /* the authentication that comes first changes nothing in etcd */
    call->delivered |= !call->authenticating;
    wev->handler = ngx_http_strangler_etcd_dummy;

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (!ngx_http_strangler_etcd_stream(call)) {
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
    ngx_int_t                        rc;
    ngx_connection_t                *c;
    ngx_http_strangler_etcd_call_t  *call;

    c = rev->data;
    call = c->data;

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "etcd %V did not answer", call->peer.name);
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

            /* a stream ends in error, unless etcd refused it outright */
            if (ngx_http_strangler_etcd_stream(call)
                && call->status == NGX_HTTP_OK)
            {
                n = NGX_ERROR;
            }

            ngx_http_strangler_etcd_finish(call, n == 0 ? NGX_OK : NGX_ERROR);
            return;
        }

        call->len += n;

        if (call->body == 0) {
            if (ngx_http_strangler_etcd_header(call) == NGX_ERROR) {
                ngx_http_strangler_etcd_finish(call, NGX_ERROR);
                return;
            }
        }

        if (call->body && ngx_http_strangler_etcd_stream(call)
            && call->status == NGX_HTTP_OK)
        {
            rc = ngx_http_strangler_etcd_lines(call);

            if (rc == NGX_AGAIN) {
                /* the token was renewed: the call goes on, elsewhere */
                return;
            }

            if (rc != NGX_OK) {
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


/*
 * passes each complete line of a stream on, keeps the rest; a watch that
 * etcd cancels for the token is made again with a new one (NGX_AGAIN)
 */

static ngx_int_t
ngx_http_strangler_etcd_lines(ngx_http_strangler_etcd_call_t *call)
{
    u_char        *p, *nl, *last, *text, raw[256];
    json_t        *msg;
    ngx_int_t      rc;
    json_error_t   err;

    p = call->buf + call->body;
    last = call->buf + call->len;

    while ((nl = ngx_strlchr(p, last, '\n')) != NULL) {
        if (ngx_strlcasestrn(p, nl, (u_char *) "\"canceled\":true",
                             sizeof("\"canceled\":true") - 2)
            != NULL)
        {
            rc = ngx_http_strangler_etcd_renew(call, p, nl);

            if (rc != NGX_DECLINED) {
                return rc;
            }
        }

        msg = json_loadb((char *) p, nl - p, 0, &err);

        if (msg == NULL) {
            text = ngx_http_strangler_etcd_escape(raw, raw + sizeof(raw),
                                                  (u_char *) err.text,
                                                  ngx_strlen(err.text));
            ngx_log_error(NGX_LOG_ERR, call->log, 0,
                          "strangler: etcd %V sent bad JSON: %*s",
                          call->peer.name, text - raw, raw);
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
    ngx_http_strangler_etcd_drop(call);

    call->endpoint = (call->endpoint + 1) % call->ecf->endpoints.nelts;

    if (ngx_http_strangler_etcd_connect(call) != NGX_OK) {
        ngx_http_strangler_etcd_finish(call, NGX_ERROR);
    }
}


static void
ngx_http_strangler_etcd_finish(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc)
{
    u_char        *text, raw[256];
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
            rc = NGX_DECLINED;
        }
    }

    if (rc != NGX_ERROR) {
        /* etcd answered: what was said of the connection does not count */
        call->error_len = 0;
    }

    ngx_http_strangler_etcd_drop(call);

    if (call->authenticating) {
        rc = ngx_http_strangler_etcd_authenticated(call, rc, answer);

    } else if (rc == NGX_DECLINED) {
        rc = ngx_http_strangler_etcd_renew(call, call->buf + call->body,
                                           call->buf + call->len);
    }

    if (rc == NGX_AGAIN) {
        /* the call goes on, authenticated */
        json_decref(answer);
        return;
    }

    if (rc == NGX_DECLINED && call->error_len == 0) {
        /* etcd's bytes, escaped: the log is read by terminals */
        text = ngx_http_strangler_etcd_escape(raw, raw + sizeof(raw),
                                              call->buf + call->body,
                                              call->len - call->body);
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "strangler: etcd %V answered %ui: \"%*s\"",
                      call->peer.name, call->status, text - raw, raw);

        ngx_http_strangler_etcd_failed(call, "%V answered %ui: \"%*s\"",
                                       call->peer.name, call->status,
                                       ngx_min(call->len - call->body, 128),
                                       call->buf + call->body);
        call->alarm = 0;
    }

#if (NGX_SSL)
    if (rc == NGX_ERROR && call->alarm) {
        ngx_http_strangler_etcd_hint(call);
    }
#endif

    if (rc != NGX_OK && call->error_len) {
        ngx_http_strangler_etcd_error(call->ecf, call->error, call->error_len,
                                      call->alarm, call->log);
    }

    call->done(call, rc, answer);

    json_decref(answer);
    ngx_destroy_pool(call->pool);
}


/*
 * The answer to /v3/auth/authenticate: the worker keeps the token and the
 * call goes on (NGX_AGAIN), or the call fails with a reason naming the
 * user and etcd's own words.
 */

static ngx_int_t
ngx_http_strangler_etcd_authenticated(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    size_t       i, len;
    json_t      *token;
    const char  *why, *value;

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    token = json_object_get(answer, "token");
    value = json_string_value(token);
    len = json_string_length(token);

    /* it goes in a header: printable, without spaces */

    for (i = 0; value && i < len; i++) {
        if (value[i] <= 0x20 || value[i] >= 0x7f) {
            value = NULL;
        }
    }

    if (rc != NGX_OK || value == NULL || len == 0 || len > 4096) {
        why = json_string_value(json_object_get(answer, "error"));

        if (why == NULL && rc == NGX_OK) {
            why = "etcd's answer has no valid token";
        }

        if (why) {
            ngx_http_strangler_etcd_failed(call, "authentication of user "
                                           "\"%V\" at %V failed: %s",
                                           &call->ecf->user, call->peer.name,
                                           why);
        } else {
            ngx_http_strangler_etcd_failed(call, "authentication of user "
                                           "\"%V\" at %V failed: %ui "
                                           "\"%*s\"", &call->ecf->user,
                                           call->peer.name, call->status,
                                           ngx_min(call->len - call->body,
                                                   128),
                                           call->buf + call->body);
        }

        return NGX_DECLINED;
    }

    ngx_free(ngx_http_strangler_etcd_token.data);
    ngx_str_null(&ngx_http_strangler_etcd_token);
    ngx_http_strangler_etcd_token_gen++;

    ngx_http_strangler_etcd_token.data = ngx_alloc(len, call->log);
    if (ngx_http_strangler_etcd_token.data == NULL) {
        return NGX_ERROR;
    }

    ngx_http_strangler_etcd_token.len = len;
    ngx_memcpy(ngx_http_strangler_etcd_token.data, value, len);

    call->authenticating = 0;
    call->tries = 0;

    if (ngx_http_strangler_etcd_request(call) != NGX_OK
        || ngx_http_strangler_etcd_connect(call) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/*
 * etcd refused the call (or cancelled the watch) with the text p..last:
 * if it was for the token (expired, unknown after a restart of etcd, or
 * older than the auth store), a new one, once, and the call again on a
 * new connection (NGX_AGAIN); else NGX_DECLINED.
 */

static ngx_int_t
ngx_http_strangler_etcd_renew(ngx_http_strangler_etcd_call_t *call,
    u_char *p, u_char *last)
{
    if (call->ecf->auth.len == 0 || call->renewed) {
        return NGX_DECLINED;
    }

    if (call->status != NGX_HTTP_UNAUTHORIZED
        && ngx_strlcasestrn(p, last, (u_char *) "invalid auth token",
                            sizeof("invalid auth token") - 2) == NULL
        && ngx_strlcasestrn(p, last, (u_char *) "auth store is old",
                            sizeof("auth store is old") - 2) == NULL)
    {
        return NGX_DECLINED;
    }

    ngx_http_strangler_etcd_drop(call);

    ngx_log_error(NGX_LOG_INFO, call->log, 0,
                  "strangler: etcd %V refused the auth token: renewing it",
                  call->peer.name);

    call->renewed = 1;

    /* unless another call renewed it meanwhile */
    if (call->token == ngx_http_strangler_etcd_token_gen) {
        ngx_free(ngx_http_strangler_etcd_token.data);
        ngx_str_null(&ngx_http_strangler_etcd_token);
    }

    call->authenticating = (ngx_http_strangler_etcd_token.len == 0);
    call->tries = 0;

    if (ngx_http_strangler_etcd_request(call) != NGX_OK
        || ngx_http_strangler_etcd_connect(call) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/* closes the connection, with TLS's close_notify if it got that far */

static void
ngx_http_strangler_etcd_drop(ngx_http_strangler_etcd_call_t *call)
{
    ngx_connection_t  *c;

    c = call->peer.connection;

    if (c == NULL) {
        return;
    }

#if (NGX_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    ngx_close_connection(c);
    call->peer.connection = NULL;
}


static void
ngx_http_strangler_etcd_close(ngx_http_strangler_etcd_call_t *call)
{
    ngx_http_strangler_etcd_drop(call);
    ngx_destroy_pool(call->pool);
}


static void
ngx_http_strangler_etcd_dummy(ngx_event_t *ev)
{
}
