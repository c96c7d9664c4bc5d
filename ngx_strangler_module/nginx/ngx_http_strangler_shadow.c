
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A shadow's life: started by the dispatch handler when the decision says
 * so, bounded by a per-worker limit and a timeout, compared when both
 * responses are captured, freed when neither side needs it any more.
 *
 * The shadow is owned by the worker, never by the client's connection
 * (nginx's mirror module holds the client's request until its subrequests
 * end): the client's response, its next keep-alive request and its
 * $request_time never wait for the shadow.  Either side may end first:
 *
 *   - the client's request gone first: the shadow runs on; the primary's
 *     captured response lives in the shadow's pool;
 *   - the shadow's response complete first: it waits for the primary's,
 *     or is let go when the client's request dies or the timeout fires.
 */


#include "ngx_http_strangler_shadow.h"


#define NGX_HTTP_STRANGLER_URI_MAX  1024   /* of the URI in the diff log */


static ngx_int_t ngx_http_strangler_shadow_body_ok(ngx_http_request_t *r,
    ngx_http_strangler_main_conf_t *smcf);
static ngx_http_strangler_shadow_t *ngx_http_strangler_shadow_create(
    ngx_http_request_t *r, ngx_http_strangler_ctx_t *ctx,
    ngx_http_strangler_main_conf_t *smcf);
static ngx_int_t ngx_http_strangler_shadow_attach(
    ngx_http_strangler_shadow_t *s, ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx);
static void ngx_http_strangler_shadow_primary_gone(void *data);
static void ngx_http_strangler_shadow_detach(ngx_http_strangler_shadow_t *s);
static void ngx_http_strangler_shadow_release(ngx_http_strangler_shadow_t *s);
static void ngx_http_strangler_shadow_timeout(ngx_event_t *ev);
static void ngx_http_strangler_shadow_compare(ngx_http_strangler_shadow_t *s);
static void ngx_http_strangler_shadow_response(ngx_http_strangler_shadow_t *s,
    ngx_uint_t side, strangler_response_t *resp);


/* shadows alive in this worker: started, not yet freed */
static ngx_uint_t  ngx_http_strangler_shadows;

static ngx_int_t   ngx_http_strangler_request_id = NGX_ERROR;


ngx_int_t
ngx_http_strangler_shadow_init_conf(ngx_conf_t *cf)
{
    ngx_str_t                        name = ngx_string("request_id");
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    ngx_conf_init_uint_value(smcf->shadow_limit, 64);
    ngx_conf_init_msec_value(smcf->shadow_timeout, 5000);
    ngx_conf_init_size_value(smcf->compare_max_body, 1024 * 1024);
    ngx_conf_init_ptr_value(smcf->diff_log, NULL);

    if (smcf->dispatchers.nelts == 0) {
        return NGX_OK;
    }

    ngx_http_strangler_request_id = ngx_http_get_variable_index(cf, &name);
    if (ngx_http_strangler_request_id == NGX_ERROR) {
        return NGX_ERROR;
    }

    return ngx_http_strangler_capture_init(cf);
}


/*
 * Whether the dispatch handler must read the request body before it goes
 * on: only a request that will be shadowed, has a body, and may be copied.
 * Any other request keeps nginx's own body handling.
 */

ngx_int_t
ngx_http_strangler_shadow_needs_body(ngx_http_request_t *r)
{
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_strangler_module);

    if (ngx_http_strangler_shadows >= smcf->shadow_limit) {
        return 0;
    }

    if (r->headers_in.content_length_n > 0) {
        return r->headers_in.content_length_n
               <= (off_t) smcf->compare_max_body;
    }

    return r->headers_in.chunked;
}


void
ngx_http_strangler_shadow_start(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx)
{
    char                            *why;
    ngx_int_t                        rc;
    ngx_str_t                       *location;
    ngx_http_strangler_shadow_t     *s;
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_strangler_module);
    location = &ctx->table->locations[ctx->decision.shadow_to];

    if (ngx_http_strangler_shadows >= smcf->shadow_limit) {
        why = "strangler_shadow_limit reached";
        goto dropped;
    }

    if (ngx_http_strangler_shadow_body_ok(r, smcf) != NGX_OK) {
        why = "the body is not in memory or is over "
              "strangler_compare_max_body";
        goto dropped;
    }

    s = ngx_http_strangler_shadow_create(r, ctx, smcf);
    if (s == NULL) {
        why = "out of memory";
        goto dropped;
    }

    rc = ngx_http_strangler_shadow_request(s, r);

    if (rc != NGX_OK) {
        ngx_destroy_pool(s->pool);
        why = (rc == NGX_DECLINED) ? "a write copy without its dry-run marker"
                                   : "no connection for it";
        goto dropped;
    }

    ngx_http_strangler_shadows++;

    if (s->compare && ngx_http_strangler_shadow_attach(s, r, ctx) != NGX_OK) {
        s->compare = 0;
    }

    ctx->shadow_sent = 1;
    ngx_http_strangler_count_shadow(ctx, NGX_HTTP_STRANGLER_SHADOW_SENT);

    ngx_add_timer(&s->timer, smcf->shadow_timeout);
    ngx_post_event(&s->run, &ngx_posted_events);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "strangler: shadow to \"%V\" on *%uA", location,
                   s->connection->number);

    return;

dropped:

    ctx->shadow_dropped = 1;
    ngx_http_strangler_count_shadow(ctx, NGX_HTTP_STRANGLER_SHADOW_DROPPED);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "strangler: shadow to \"%V\" dropped: %s", location, why);
}


/* a body is copied only when it is all in memory and within the bound */

static ngx_int_t
ngx_http_strangler_shadow_body_ok(ngx_http_request_t *r,
    ngx_http_strangler_main_conf_t *smcf)
{
    off_t         size;
    ngx_chain_t  *cl;

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return NGX_OK;
    }

    if (r->request_body == NULL || r->request_body->temp_file
        || r->request_body->rest)
    {
        return NGX_DECLINED;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file && !ngx_buf_in_memory(cl->buf)) {
            return NGX_DECLINED;
        }

        size += ngx_buf_size(cl->buf);
    }

    return size <= (off_t) smcf->compare_max_body ? NGX_OK : NGX_DECLINED;
}


/*
 * The shadow's own pool holds what must outlive the client's request: the
 * decision, the captured responses, the diff log's method, URI and id.
 */

static ngx_http_strangler_shadow_t *
ngx_http_strangler_shadow_create(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, ngx_http_strangler_main_conf_t *smcf)
{
    size_t                        len;
    ngx_log_t                    *log;
    ngx_pool_t                   *pool;
    ngx_http_variable_value_t    *id;
    ngx_http_strangler_shadow_t  *s;

    log = ngx_cycle->log;

    pool = ngx_create_pool(2048, log);
    if (pool == NULL) {
        return NULL;
    }

    s = ngx_pcalloc(pool, sizeof(ngx_http_strangler_shadow_t));
    if (s == NULL) {
        goto failed;
    }

    s->pool = pool;
    s->log = log;
    s->smcf = smcf;
    s->conf = &ctx->decision.route->shadow;
    s->decided.table = ctx->table;
    s->decided.decision = ctx->decision;
    s->compare = (s->conf->compare != STRANGLER_COMPARE_OFF);

    s->location = &ctx->table->locations[ctx->decision.shadow_to];

    s->run.handler = ngx_http_strangler_shadow_run;
    s->run.data = s;
    s->run.log = log;

    s->timer.handler = ngx_http_strangler_shadow_timeout;
    s->timer.data = s;
    s->timer.log = log;

    len = ngx_min(r->unparsed_uri.len, NGX_HTTP_STRANGLER_URI_MAX);

    s->method.data = ngx_pstrdup(pool, &r->method_name);
    s->method.len = r->method_name.len;
    s->uri.data = ngx_pnalloc(pool, len);
    s->uri.len = len;

    if (s->method.data == NULL || s->uri.data == NULL) {
        goto failed;
    }

    ngx_memcpy(s->uri.data, r->unparsed_uri.data, len);

    id = ngx_http_get_indexed_variable(r, ngx_http_strangler_request_id);

    if (id && !id->not_found) {
        s->request_id.data = ngx_pnalloc(pool, id->len);
        if (s->request_id.data == NULL) {
            goto failed;
        }

        ngx_memcpy(s->request_id.data, id->data, id->len);
        s->request_id.len = id->len;
    }

    if (ngx_http_strangler_capture_prepare(s, NGX_HTTP_STRANGLER_SHADOW)
        != NGX_OK
        || (s->compare
            && ngx_http_strangler_capture_prepare(s,
                                                 NGX_HTTP_STRANGLER_PRIMARY)
               != NGX_OK))
    {
        goto failed;
    }

    return s;

failed:

    ngx_destroy_pool(pool);
    return NULL;
}


/* the client's request: its response is captured until it dies */

static ngx_int_t
ngx_http_strangler_shadow_attach(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *r, ngx_http_strangler_ctx_t *ctx)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_strangler_shadow_primary_gone;
    cln->data = s;

    s->primary = ctx;
    s->primary_cln = cln;
    ctx->shadow = s;

    return NGX_OK;
}


/* the client's request pool is being destroyed */

static void
ngx_http_strangler_shadow_primary_gone(void *data)
{
    ngx_http_strangler_shadow_t  *s = data;

    s->primary = NULL;

    if (!s->side[NGX_HTTP_STRANGLER_PRIMARY].done) {
        /* the client's response never completed: nothing to compare */
        s->over = 1;
    }

    ngx_http_strangler_shadow_release(s);
}


static void
ngx_http_strangler_shadow_detach(ngx_http_strangler_shadow_t *s)
{
    if (s->primary == NULL) {
        return;
    }

    s->primary->shadow = NULL;
    s->primary_cln->handler = NULL;
    s->primary = NULL;

    ngx_http_strangler_shadow_release(s);
}


/* the shadow's connection was closed: nginx freed its request */

void
ngx_http_strangler_shadow_closed(void *data)
{
    ngx_http_strangler_shadow_t  *s = data;

    s->connection = NULL;
    s->request = NULL;

    if (!s->side[NGX_HTTP_STRANGLER_SHADOW].done && !s->over) {
        ngx_log_error(NGX_LOG_INFO, s->log, 0,
                      "strangler: shadow of \"%V %V\" ended without "
                      "a complete response", &s->method, &s->uri);
        s->over = 1;
        ngx_http_strangler_shadow_detach(s);
    }

    ngx_http_strangler_shadow_release(s);
}


static void
ngx_http_strangler_shadow_release(ngx_http_strangler_shadow_t *s)
{
    if (s->connection || s->primary) {
        return;
    }

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    ngx_http_strangler_shadows--;

    ngx_destroy_pool(s->pool);
}


/* a side's response is complete: compare once both are */

void
ngx_http_strangler_shadow_captured(ngx_http_strangler_shadow_t *s)
{
    if (s->over || !s->side[NGX_HTTP_STRANGLER_SHADOW].done) {
        return;
    }

    if (s->compare) {
        if (!s->side[NGX_HTTP_STRANGLER_PRIMARY].done) {
            return;
        }

        ngx_http_strangler_shadow_compare(s);
    }

    /* the timer still bounds the shadow's request, if it goes on */

    s->over = 1;

    ngx_http_strangler_shadow_detach(s);
}


static void
ngx_http_strangler_shadow_timeout(ngx_event_t *ev)
{
    ngx_http_strangler_shadow_t  *s;

    s = ev->data;

    if (!s->over) {
        s->over = 1;

        ngx_http_strangler_count_shadow(&s->decided,
                                        NGX_HTTP_STRANGLER_SHADOW_TIMED_OUT);

        ngx_log_error(NGX_LOG_INFO, s->log, 0,
                      "strangler: shadow of \"%V %V\" timed out",
                      &s->method, &s->uri);
    }

    if (s->connection == NULL) {
        ngx_http_strangler_shadow_detach(s);
        return;
    }

    /* the connection holds s: it is freed when the connection closes */

    ngx_http_strangler_shadow_detach(s);
    ngx_http_strangler_shadow_end(s);
}


static void
ngx_http_strangler_shadow_compare(ngx_http_strangler_shadow_t *s)
{
    ngx_uint_t             n;
    strangler_diffs_t     *diffs;
    strangler_response_t   primary, shadow;

    diffs = ngx_palloc(s->pool, sizeof(strangler_diffs_t));
    if (diffs == NULL) {
        return;
    }

    ngx_http_strangler_shadow_response(s, NGX_HTTP_STRANGLER_PRIMARY,
                                       &primary);
    ngx_http_strangler_shadow_response(s, NGX_HTTP_STRANGLER_SHADOW, &shadow);

    n = strangler_compare(s->conf, &primary, &shadow, diffs);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, s->log, 0,
                   "strangler: shadow of \"%V %V\": %ui differences",
                   &s->method, &s->uri, n);

    if (n == 0) {
        ngx_http_strangler_count_shadow(&s->decided,
                                        NGX_HTTP_STRANGLER_SHADOW_MATCHED);
        return;
    }

    ngx_http_strangler_count_shadow(&s->decided,
                                    NGX_HTTP_STRANGLER_SHADOW_MISMATCHED);

    ngx_http_strangler_diff_log_write(s, diffs);
}


static void
ngx_http_strangler_shadow_response(ngx_http_strangler_shadow_t *s,
    ngx_uint_t side, strangler_response_t *resp)
{
    ngx_http_strangler_capture_t  *cap;

    cap = &s->side[side];

    resp->status = (int) cap->status;
    resp->headers = cap->headers;
    resp->body = (s->conf->compare >= STRANGLER_COMPARE_BODY) ? &cap->body
                                                              : NULL;
}
