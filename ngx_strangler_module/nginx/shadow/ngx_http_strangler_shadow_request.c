
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The shadow's connection and request: a copy of the client's request
 * (method, URI, headers, body) on a connection of its own, sent into the
 * shadow backend's named location, where nginx's proxy does the rest.
 *
 * The connection is a real nginx connection in every way but its socket:
 * it shares one idle socket per worker (c->shared, so closing it leaves
 * the socket alone), is never polled, discards what is "sent" to it and
 * reads end of file.  nginx's own request lifecycle then works unchanged:
 * finalizing, terminating and closing the request and the connection,
 * whatever the location does; closing it is what tells the shadow.
 */


#include "ngx_http_strangler_shadow.h"


static ngx_connection_t *ngx_http_strangler_shadow_connection(
    ngx_http_request_t *r);
static ngx_socket_t ngx_http_strangler_shadow_socket(ngx_log_t *log);
static ngx_int_t ngx_http_strangler_shadow_addresses(ngx_connection_t *c,
    ngx_connection_t *client);
static ngx_int_t ngx_http_strangler_shadow_copy(ngx_http_request_t *sr,
    ngx_http_request_t *r);
static u_char *ngx_http_strangler_shadow_copy_str(u_char *p, ngx_str_t *dst,
    ngx_str_t *src);
static ngx_int_t ngx_http_strangler_shadow_headers(
    ngx_http_strangler_shadow_t *s, ngx_http_request_t *sr,
    ngx_http_request_t *r);
static ngx_int_t ngx_http_strangler_shadow_header(ngx_http_request_t *sr,
    ngx_str_t *key, ngx_str_t *value);
static ngx_int_t ngx_http_strangler_shadow_marked(
    ngx_http_strangler_shadow_t *s, ngx_http_request_t *sr,
    ngx_str_t *location);
static ngx_int_t ngx_http_strangler_shadow_body(
    ngx_http_strangler_shadow_t *s, ngx_http_request_t *sr,
    ngx_http_request_t *r);
static ngx_int_t ngx_http_strangler_shadow_ctx(ngx_http_strangler_copy_t *copy,
    ngx_http_request_t *sr);
static void ngx_http_strangler_shadow_event(ngx_event_t *ev);
static ssize_t ngx_http_strangler_shadow_recv(ngx_connection_t *c, u_char *buf,
    size_t size);
static ssize_t ngx_http_strangler_shadow_send(ngx_connection_t *c, u_char *buf,
    size_t size);
static ngx_chain_t *ngx_http_strangler_shadow_send_chain(ngx_connection_t *c,
    ngx_chain_t *in, off_t limit);
static u_char *ngx_http_strangler_shadow_log_error(ngx_log_t *log,
    u_char *buf, size_t len);


static ngx_str_t  ngx_http_strangler_shadow_mark =
    ngx_string(STRANGLER_SHADOW_MARK);


/*
 * Builds a copy's request; NGX_OK: copy->connection and copy->request are
 * set, and closing the connection will call ngx_http_strangler_shadow_closed.
 * Otherwise nothing is left behind; NGX_DECLINED: a write copy that would
 * go without its dry-run marker (logged).
 */

ngx_int_t
ngx_http_strangler_shadow_request(ngx_http_strangler_copy_t *copy,
    ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_pool_cleanup_t           *cln;
    ngx_http_request_t           *sr;
    ngx_http_strangler_shadow_t  *s;

    s = copy->shadow;

    c = ngx_http_strangler_shadow_connection(r);
    if (c == NULL) {
        return NGX_ERROR;
    }

    sr = ngx_http_create_request(c);
    if (sr == NULL) {
        ngx_http_close_connection(c);
        return NGX_ERROR;
    }

    c->data = sr;

    /* the shadow is not the client's request: not logged, not counted */
    sr->logged = 1;

    /* a header handler that fails finalizes sr: keep it until we know */
    sr->count++;

    rc = ngx_http_strangler_shadow_copy(sr, r);

    if (rc == NGX_OK) {
        rc = ngx_http_strangler_shadow_headers(s, sr, r);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_strangler_shadow_marked(s, sr, copy->location);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_strangler_shadow_body(s, sr, r);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_strangler_shadow_ctx(copy, sr);
    }

    cln = (rc == NGX_OK) ? ngx_pool_cleanup_add(c->pool, 0) : NULL;

    if (cln == NULL) {
        ngx_http_free_request(sr, 0);
        ngx_http_close_connection(c);
        return (rc == NGX_DECLINED) ? NGX_DECLINED : NGX_ERROR;
    }

    sr->count--;

    cln->handler = ngx_http_strangler_shadow_closed;
    cln->data = copy;

    copy->connection = c;
    copy->request = sr;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "strangler: shadow request \"%V?%V\"", &sr->uri, &sr->args);

    return NGX_OK;
}


/*
 * Into the backends' locations, as the dispatch handler does for the
 * client: a posted event, so that the client's request goes first.  The
 * shadow is held by the copies not yet started: it outlives all but the
 * last one, which is not touched once it has run.
 */

void
ngx_http_strangler_shadow_run(ngx_event_t *ev)
{
    ngx_uint_t                    i, n;
    ngx_connection_t             *c;
    ngx_http_request_t           *sr;
    ngx_http_strangler_copy_t    *copy, *run[NGX_HTTP_STRANGLER_NCOPIES];
    ngx_http_strangler_shadow_t  *s;

    s = ev->data;

    for (i = 0, n = 0; i < s->ncopies; i++) {
        if (s->copy[i].connection) {
            s->copy[i].started = 1;
            run[n++] = &s->copy[i];
        }
    }

    for (i = 0; i < n; i++) {
        copy = run[i];
        c = copy->connection;
        sr = copy->request;

        if (c == NULL) {
            continue;
        }

        (void) ngx_http_named_location(sr, copy->location);

        /* what a content handler's NGX_DONE does: the redirect's reference */
        ngx_http_finalize_request(sr, NGX_DONE);

        ngx_http_run_posted_requests(c);
    }
}


/* ends a copy's request before its time; the shadow may be freed */

void
ngx_http_strangler_shadow_end(ngx_http_strangler_copy_t *copy)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *sr;

    c = copy->connection;
    sr = copy->request;

    if (!copy->started) {
        /* not started: nothing but this module knows of it */

        if (copy->shadow->run.posted) {
            ngx_delete_posted_event(&copy->shadow->run);
        }

        ngx_http_free_request(sr, 0);
        ngx_http_close_connection(c);
        return;
    }

    /*
     * The reference taken here is what finalizing consumes, as a
     * handler's own would: the upstream's cleanup drops the other one.
     */

    c->error = 1;
    sr->count++;

    ngx_http_finalize_request(sr, NGX_ERROR);
    ngx_http_run_posted_requests(c);
}


static ngx_connection_t *
ngx_http_strangler_shadow_connection(ngx_http_request_t *r)
{
    ngx_log_t              *log;
    ngx_socket_t            fd;
    ngx_connection_t       *c;
    ngx_http_log_ctx_t     *ctx;
    ngx_http_connection_t  *hc;

    fd = ngx_http_strangler_shadow_socket(r->connection->log);
    if (fd == (ngx_socket_t) -1) {
        return NULL;
    }

    c = ngx_get_connection(fd, r->connection->log);
    if (c == NULL) {
        return NULL;
    }

    c->shared = 1;

    c->pool = ngx_create_pool(512, r->connection->log);
    if (c->pool == NULL) {
        ngx_free_connection(c);
        return NULL;
    }

#if (NGX_STAT_STUB)
    (void) ngx_atomic_fetch_add(ngx_stat_active, 1);
#endif

    /* from here on ngx_http_close_connection() undoes all of it */

    log = ngx_palloc(c->pool, sizeof(ngx_log_t));
    ctx = ngx_pcalloc(c->pool, sizeof(ngx_http_log_ctx_t));
    hc = ngx_pcalloc(c->pool, sizeof(ngx_http_connection_t));
    c->buffer = ngx_calloc_buf(c->pool);

    if (log == NULL || ctx == NULL || hc == NULL || c->buffer == NULL
        || ngx_http_strangler_shadow_addresses(c, r->connection) != NGX_OK)
    {
        ngx_http_close_connection(c);
        return NULL;
    }

    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
    c->start_time = ngx_current_msec;

    *log = *r->connection->log;
    log->connection = c->number;
    log->handler = ngx_http_strangler_shadow_log_error;
    log->data = ctx;
    log->action = NULL;
    ctx->connection = c;

    /* nothing may keep the client's log: the client may be gone first */

    c->log = log;
    c->log_error = NGX_ERROR_INFO;
    c->read->log = log;
    c->write->log = log;
    c->pool->log = log;

    hc->conf_ctx = r->http_connection->conf_ctx;
    hc->addr_conf = r->http_connection->addr_conf;
    c->data = hc;

    c->listening = r->connection->listening;
    c->type = SOCK_STREAM;
    c->recv = ngx_http_strangler_shadow_recv;
    c->send = ngx_http_strangler_shadow_send;
    c->recv_chain = ngx_recv_chain;
    c->send_chain = ngx_http_strangler_shadow_send_chain;
    c->sendfile = 0;
    c->tcp_nodelay = NGX_TCP_NODELAY_DISABLED;
    c->tcp_nopush = NGX_TCP_NOPUSH_DISABLED;

    /*
     * "Active" keeps nginx from adding the socket to epoll; always ready
     * to write, never to read: nothing is ever waited for on it.
     */

    c->read->handler = ngx_http_strangler_shadow_event;
    c->write->handler = ngx_http_strangler_shadow_event;
    c->read->active = 1;
    c->write->active = 1;
    c->write->ready = 1;

    return c;
}


/* one unconnected socket per worker, shared by every shadow connection */

static ngx_socket_t
ngx_http_strangler_shadow_socket(ngx_log_t *log)
{
    static ngx_socket_t  fd = (ngx_socket_t) -1;

    if (fd != (ngx_socket_t) -1) {
        return fd;
    }

    fd = ngx_socket(AF_UNIX, SOCK_STREAM, 0);

    if (fd == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_socket_errno,
                      ngx_socket_n " for shadows failed");
        return fd;
    }

    (void) fcntl(fd, F_SETFD, FD_CLOEXEC);

    return fd;
}


/* the client's addresses, for $remote_addr, allow/deny and the logs */

static ngx_int_t
ngx_http_strangler_shadow_addresses(ngx_connection_t *c,
    ngx_connection_t *client)
{
    c->sockaddr = ngx_palloc(c->pool, client->socklen);
    c->addr_text.data = ngx_pnalloc(c->pool, client->addr_text.len);

    if (c->sockaddr == NULL || c->addr_text.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(c->sockaddr, client->sockaddr, client->socklen);
    c->socklen = client->socklen;

    ngx_memcpy(c->addr_text.data, client->addr_text.data,
               client->addr_text.len);
    c->addr_text.len = client->addr_text.len;

    if (client->local_sockaddr) {
        c->local_sockaddr = ngx_palloc(c->pool, client->local_socklen);
        if (c->local_sockaddr == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(c->local_sockaddr, client->local_sockaddr,
                   client->local_socklen);
        c->local_socklen = client->local_socklen;
    }

    return NGX_OK;
}


/* the request line and its parts, in the shadow's request pool */

static ngx_int_t
ngx_http_strangler_shadow_copy(ngx_http_request_t *sr, ngx_http_request_t *r)
{
    u_char  *p;
    size_t   len;

    len = r->request_line.len + r->unparsed_uri.len + r->uri.len
          + r->args.len + r->exten.len + r->http_protocol.len
          + r->method_name.len + r->headers_in.server.len;

    p = ngx_pnalloc(sr->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

#define ngx_http_strangler_copy_str(field)                                    \
    p = ngx_http_strangler_shadow_copy_str(p, &sr->field, &r->field)

    ngx_http_strangler_copy_str(request_line);
    ngx_http_strangler_copy_str(unparsed_uri);
    ngx_http_strangler_copy_str(uri);
    ngx_http_strangler_copy_str(args);
    ngx_http_strangler_copy_str(exten);
    ngx_http_strangler_copy_str(http_protocol);
    ngx_http_strangler_copy_str(method_name);

    /* the client's server: the Host header handler looks for no other */
    ngx_http_strangler_copy_str(headers_in.server);

#undef ngx_http_strangler_copy_str

    sr->method = r->method;
    sr->http_version = r->http_version;
    sr->http_major = r->http_major;
    sr->http_minor = r->http_minor;

    sr->valid_unparsed_uri = r->valid_unparsed_uri;
    sr->quoted_uri = r->quoted_uri;
    sr->plus_in_uri = r->plus_in_uri;
    sr->empty_path_in_uri = r->empty_path_in_uri;

    sr->main_conf = r->main_conf;
    sr->srv_conf = r->srv_conf;
    sr->loc_conf = r->loc_conf;

    sr->http_state = NGX_HTTP_PROCESS_REQUEST_STATE;

#if (NGX_STAT_STUB)
    /* what ngx_http_process_request() does: no longer reading */
    (void) ngx_atomic_fetch_add(ngx_stat_reading, -1);
    sr->stat_reading = 0;
    (void) ngx_atomic_fetch_add(ngx_stat_writing, 1);
    sr->stat_writing = 1;
#endif

    return NGX_OK;
}


static u_char *
ngx_http_strangler_shadow_copy_str(u_char *p, ngx_str_t *dst, ngx_str_t *src)
{
    dst->data = p;
    dst->len = src->len;

    return src->len ? ngx_cpymem(p, src->data, src->len) : p;
}


/*
 * The client's headers, run through nginx's own header handlers, so that
 * $host, $cookie_*, $http_* and the proxy see them as they saw the client's.
 * The body is framed anew, so its Content-Length and Transfer-Encoding are
 * left out, and so is the force header, meant for this proxy alone;
 * X-Strangler-Shadow, and for writes the dry-run header, added.
 */

static ngx_int_t
ngx_http_strangler_shadow_headers(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *sr, ngx_http_request_t *r)
{
    ngx_str_t         one = ngx_string("1"), dry;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (ngx_list_init(&sr->headers_in.headers, sr->pool, 20,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    dry.data = (u_char *) s->conf->dry_run_header.data;
    dry.len = s->conf->dry_run_header.len;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (r->headers_in.content_length == &h[i]
            || r->headers_in.transfer_encoding == &h[i]
            || (h[i].key.len == ngx_http_strangler_shadow_mark.len
                && ngx_strncasecmp(h[i].key.data,
                                   ngx_http_strangler_shadow_mark.data,
                                   h[i].key.len) == 0)
            || (h[i].key.len == dry.len
                && ngx_strncasecmp(h[i].key.data, dry.data, dry.len) == 0)
            || (h[i].key.len == s->force_header.len
                && ngx_strncasecmp(h[i].key.data, s->force_header.data,
                                   s->force_header.len)
                   == 0))
        {
            continue;
        }

        if (ngx_http_strangler_shadow_header(sr, &h[i].key, &h[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_strangler_shadow_header(sr, &ngx_http_strangler_shadow_mark,
                                         &one)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (s->decided.decision.write && dry.len) {
        return ngx_http_strangler_shadow_header(sr, &dry, &one);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_shadow_header(ngx_http_request_t *sr, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t            *h;
    ngx_http_header_t          *hh;
    ngx_http_core_main_conf_t  *cmcf;

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key.data = ngx_pstrdup(sr->pool, key);
    h->value.data = ngx_pnalloc(sr->pool, value->len + 1);
    h->lowcase_key = ngx_pnalloc(sr->pool, key->len);

    if (h->key.data == NULL || h->value.data == NULL
        || h->lowcase_key == NULL)
    {
        return NGX_ERROR;
    }

    h->key.len = key->len;
    h->value.len = value->len;
    ngx_memcpy(h->value.data, value->data, value->len);
    h->value.data[value->len] = '\0';

    h->hash = ngx_hash_strlow(h->lowcase_key, key->data, key->len);

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    cmcf = ngx_http_get_module_main_conf(sr, ngx_http_core_module);

    hh = ngx_hash_find(&cmcf->headers_in_hash, h->hash, h->lowcase_key,
                       h->key.len);

    if (hh && hh->handler(sr, h, hh->offset) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The owner rule, checked on the copy itself, as it will be sent: a write
 * copy (by the decision, or by its own method) goes only with the dry-run
 * marker, under a name the proxy passes on.  Whatever the table says, a
 * write that would arrive unmarked, and so be applied for real by a
 * backend that does not own it, is not sent.
 */

static ngx_int_t
ngx_http_strangler_shadow_marked(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *sr, ngx_str_t *location)
{
    ngx_str_t         dry;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (!s->decided.decision.write
        && strangler_method_is_read(
               strangler_method_parse((char *) sr->method_name.data,
                                      sr->method_name.len)))
    {
        return NGX_OK;
    }

    dry.data = (u_char *) s->conf->dry_run_header.data;
    dry.len = s->conf->dry_run_header.len;

    if (s->conf->dry_run_writes && dry.len
        && strangler_dry_run_header_refused((char *) dry.data, dry.len)
           == NULL)
    {
        part = &sr->headers_in.headers.part;
        h = part->elts;

        for (i = 0; /* void */ ; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].key.len == dry.len
                && ngx_strncasecmp(h[i].key.data, dry.data, dry.len) == 0
                && h[i].value.len == 1 && h[i].value.data[0] == '1')
            {
                return NGX_OK;
            }
        }
    }

    ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                  "strangler: %V copy to \"%V\" not sent: a write copy "
                  "goes only with a dry-run marker the proxy passes on "
                  "(shadow.dry_run_header \"%V\")",
                  &sr->method_name, location, &dry);

    return NGX_DECLINED;
}


/* the copy of the client's body (ngx_http_strangler_shadow_body.c) */

static ngx_int_t
ngx_http_strangler_shadow_body(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *sr, ngx_http_request_t *r)
{
    u_char       *p;
    off_t         len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    sr->request_body = ngx_pcalloc(sr->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_ERROR;
    }

    len = s->body_len;

    if (len == 0 && r->headers_in.content_length_n <= 0
        && !r->headers_in.chunked)
    {
        /* no body: "Content-Length: 0" stays, none stays none */
        sr->headers_in.content_length_n = r->headers_in.content_length_n;
        return NGX_OK;
    }

    sr->headers_in.content_length_n = len;

    if (len == 0) {
        return NGX_OK;
    }

    b = ngx_create_temp_buf(sr->pool, (size_t) len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = b->pos;

    for (cl = s->body; cl; cl = cl->next) {
        if (cl->buf->last > cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    b->last = p;
    b->last_buf = 1;

    sr->request_body->bufs = ngx_alloc_chain_link(sr->pool);
    if (sr->request_body->bufs == NULL) {
        return NGX_ERROR;
    }

    sr->request_body->bufs->buf = b;
    sr->request_body->bufs->next = NULL;

    return NGX_OK;
}


/* what tells the capture filters this request is a shadow, and whose */

static ngx_int_t
ngx_http_strangler_shadow_ctx(ngx_http_strangler_copy_t *copy,
    ngx_http_request_t *sr)
{
    ngx_http_strangler_ctx_t     *ctx;
    ngx_http_strangler_shadow_t  *s;

    s = copy->shadow;

    ctx = ngx_http_strangler_create_ctx(sr);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->table = s->decided.table;
    ctx->decision = s->decided.decision;
    ctx->shadow = s;
    ctx->is_shadow = 1;
    ctx->is_secondary = (copy->side == NGX_HTTP_STRANGLER_SECONDARY);

    return NGX_OK;
}


/* what ngx_http_request_handler() does, for the timers nginx may set */

static void
ngx_http_strangler_shadow_event(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = ev->data;
    r = c->data;

    ngx_http_set_log_request(c->log, r);

    if (ev->write) {
        r->write_event_handler(r);

    } else {
        r->read_event_handler(r);
    }

    ngx_http_run_posted_requests(c);
}


static ssize_t
ngx_http_strangler_shadow_recv(ngx_connection_t *c, u_char *buf, size_t size)
{
    c->read->ready = 0;
    c->read->eof = 1;

    return 0;
}


static ssize_t
ngx_http_strangler_shadow_send(ngx_connection_t *c, u_char *buf, size_t size)
{
    c->sent += size;

    return size;
}


/* the shadow's response has been captured already: it goes nowhere */

static ngx_chain_t *
ngx_http_strangler_shadow_send_chain(ngx_connection_t *c, ngx_chain_t *in,
    off_t limit)
{
    ngx_buf_t  *b;

    for ( /* void */ ; in; in = in->next) {
        b = in->buf;

        c->sent += ngx_buf_size(b);

        if (ngx_buf_in_memory(b)) {
            b->pos = b->last;
        }

        if (b->in_file) {
            b->file_pos = b->file_last;
        }
    }

    return NULL;
}


static u_char *
ngx_http_strangler_shadow_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char              *p;
    ngx_http_request_t  *r;
    ngx_http_log_ctx_t  *ctx;

    if (log->action) {
        p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    ctx = log->data;

    p = ngx_snprintf(buf, len, ", client: %V, shadow copy",
                     &ctx->connection->addr_text);
    len -= p - buf;

    r = ctx->request;

    if (r) {
        return r->log_handler(r, ctx->current_request, p, len);
    }

    return p;
}
