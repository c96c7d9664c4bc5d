
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
#include "ngx_http_strangler_guard.h"


#define NGX_HTTP_STRANGLER_URI_MAX  1024   /* of the URI in the diff log */


static ngx_int_t ngx_http_strangler_shadow_skip(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx);
static ngx_int_t ngx_http_strangler_shadow_body_read(
    ngx_http_strangler_shadow_t *s, ngx_http_request_t *r);
static ngx_http_strangler_shadow_t *ngx_http_strangler_shadow_create(
    ngx_http_request_t *r, ngx_http_strangler_ctx_t *ctx,
    ngx_http_strangler_main_conf_t *smcf, ngx_uint_t noise);
static ngx_int_t ngx_http_strangler_shadow_attach(
    ngx_http_strangler_shadow_t *s, ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx);
static void ngx_http_strangler_shadow_primary_gone(void *data);
static void ngx_http_strangler_shadow_detach(ngx_http_strangler_shadow_t *s);
static void ngx_http_strangler_shadow_release(ngx_http_strangler_shadow_t *s);
static ngx_uint_t ngx_http_strangler_shadow_noisy(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, ngx_http_strangler_main_conf_t *smcf);
static ngx_uint_t ngx_http_strangler_shadow_running(
    ngx_http_strangler_shadow_t *s);
static void ngx_http_strangler_shadow_settle(ngx_http_strangler_shadow_t *s);
static void ngx_http_strangler_shadow_timeout(ngx_event_t *ev);
static void ngx_http_strangler_shadow_over(ngx_http_strangler_shadow_t *s,
    ngx_uint_t outcome);
static ngx_int_t ngx_http_strangler_shadow_compare(
    ngx_http_strangler_shadow_t *s);
static void ngx_http_strangler_shadow_slice(ngx_event_t *ev);
static ngx_uint_t ngx_http_strangler_shadow_verdict(
    ngx_http_strangler_shadow_t *s);
static void ngx_http_strangler_shadow_jc_free(void *data);
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

    /* strangler_shadow_limit: see ngx_http_strangler_shadow_init_process */
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

    if (ngx_http_strangler_shadow_body_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_strangler_capture_init(cf);
}


/*
 * Sets the default limit once the worker knows its connections: a shadow
 * holds two of them (its own and the one to its backend), so a quarter of
 * worker_connections lets shadows take at most half of the worker.
 */

void
ngx_http_strangler_shadow_init_process(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf)
{
    if (smcf->shadow_limit == NGX_CONF_UNSET_UINT) {
        smcf->shadow_limit = ngx_max(cycle->connection_n / 4, 1);
    }
}


/*
 * Called before the request goes to its backend.  The copy is made now,
 * or, for a request with a body, when the body has gone by to the owner
 * (ngx_http_strangler_shadow_body.c): the module never reads a body
 * itself, so the owner gets it as nginx alone would give it.  Whether the
 * copy can be made is decided here whenever the length says it.
 */

void
ngx_http_strangler_shadow_start(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx)
{
    char                            *why;
    off_t                            len;
    ngx_str_t                       *location;
    ngx_http_strangler_shadow_t     *s;
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_strangler_module);
    location = &ctx->table->locations[ctx->decision.shadow_to];

    if (ngx_http_strangler_shadow_skip(r, ctx) != NGX_OK) {
        return;
    }

    if (ngx_http_strangler_shadows >= smcf->shadow_limit) {
        why = "strangler_shadow_limit reached";
        goto dropped;
    }

    len = r->headers_in.content_length_n;

    if (len > (off_t) smcf->compare_max_body) {
        why = "the body is over strangler_compare_max_body";
        goto dropped;
    }

    s = ngx_http_strangler_shadow_create(r, ctx, smcf,
                                         ngx_http_strangler_shadow_noisy(r,
                                                                  ctx, smcf));
    if (s == NULL) {
        why = "out of memory";
        goto dropped;
    }

    /* each copy holds its place in strangler_shadow_limit */

    ngx_http_strangler_shadows += s->ncopies;
    ngx_http_strangler_count_in_flight(smcf, (ngx_int_t) s->ncopies,
                                       ngx_http_strangler_shadows);

    if (ngx_http_strangler_shadow_attach(s, r, ctx) != NGX_OK) {
        ngx_http_strangler_shadow_drop(s, r, "out of memory");
        return;
    }

    if (len <= 0 && !r->headers_in.chunked) {
        ngx_http_strangler_shadow_go(s, r);
        return;
    }

    if (r->request_body) {
        /* read before the strangler saw the request */

        if (ngx_http_strangler_shadow_body_read(s, r) != NGX_OK) {
            ngx_http_strangler_shadow_drop(s, r, "the body is not in memory "
                                           "or is over "
                                           "strangler_compare_max_body");
            return;
        }

        ngx_http_strangler_shadow_go(s, r);
        return;
    }

    s->body_wait = 1;
    s->body_last = &s->body;

    return;

dropped:

    ctx->shadow_dropped = 1;
    ngx_http_strangler_count_shadow(ctx, NGX_HTTP_STRANGLER_SHADOW_DROPPED);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "strangler: shadow to \"%V\" dropped: %s", location, why);
}


/*
 * Noise cancelling (shadow.noise): a share of the compared reads is also
 * sent a second time to the side that served the client.  Only GET, HEAD
 * and OPTIONS that nothing made a write: a write is never sent twice,
 * whatever the table or an override says.  With room for both copies.
 */

static ngx_uint_t
ngx_http_strangler_shadow_noisy(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, ngx_http_strangler_main_conf_t *smcf)
{
    const strangler_shadow_t  *conf;

    conf = &ctx->decision.route->shadow;

    if (conf->noise_ppm == 0 || conf->compare == STRANGLER_COMPARE_OFF
        || ctx->decision.write || ctx->decision.method_overridden
        || !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS))
        || ngx_http_strangler_shadows + 2 > smcf->shadow_limit)
    {
        return 0;
    }

    return (ngx_uint_t) ngx_random() % STRANGLER_SAMPLE_SCALE
           < conf->noise_ppm;
}


/* an upgrade or a CONNECT is a session, not a request: never copied */

static ngx_int_t
ngx_http_strangler_shadow_skip(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx)
{
    ngx_uint_t  why;

    if (r->method == NGX_HTTP_CONNECT) {
        why = NGX_HTTP_STRANGLER_SKIP_CONNECT;

    } else if (r->headers_in.upgrade) {
        why = NGX_HTTP_STRANGLER_SKIP_UPGRADE;

    } else {
        return NGX_OK;
    }

    ctx->shadow_skipped = 1;
    ngx_http_strangler_count_skipped(ctx, why);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "strangler: no shadow of %s",
                   why == NGX_HTTP_STRANGLER_SKIP_CONNECT ? "a CONNECT"
                                                          : "an upgrade");

    return NGX_DECLINED;
}


/*
 * The copies go out: their requests are made and started.  The noise copy
 * is only a help: without it, the candidate's is compared all the same.
 */

void
ngx_http_strangler_shadow_go(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_strangler_ctx_t  *ctx;

    rc = ngx_http_strangler_shadow_request(&s->copy[0], r);

    if (rc == NGX_OK && s->ncopies > 1
        && ngx_http_strangler_shadow_request(&s->copy[1], r) != NGX_OK)
    {
        s->noise_lost = 1;
    }

    /* the requests have their own copy; this one may be in r's pool */
    s->body = NULL;

    if (rc != NGX_OK) {
        ngx_http_strangler_shadow_drop(s, r,
                                       (rc == NGX_DECLINED)
                                       ? "a write copy without its dry-run "
                                         "marker"
                                       : "no connection for it");
        return;
    }

    ctx = ngx_http_strangler_get_ctx(r);

    if (ctx) {
        ctx->shadow_sent = 1;
    }

    ngx_http_strangler_count_shadow(&s->decided,
                                    NGX_HTTP_STRANGLER_SHADOW_SENT);

    s->sent = ngx_current_msec;

    ngx_add_timer(&s->timer, s->smcf->shadow_timeout);
    ngx_post_event(&s->run, &ngx_posted_events);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "strangler: shadow to \"%V\" on *%uA, %ui copies",
                   s->location, s->copy[0].connection->number,
                   s->ncopies - s->noise_lost);
}


/* the copy will not go out after all: counted, and s freed */

void
ngx_http_strangler_shadow_drop(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *r, char *why)
{
    ngx_http_strangler_ctx_t  *ctx;

    ctx = r ? ngx_http_strangler_get_ctx(r) : NULL;

    if (ctx) {
        ctx->shadow_dropped = 1;
    }

    ngx_http_strangler_count_shadow(&s->decided,
                                    NGX_HTTP_STRANGLER_SHADOW_DROPPED);

    ngx_log_error(NGX_LOG_INFO, r ? r->connection->log : s->log, 0,
                  "strangler: shadow to \"%V\" dropped: %s", s->location, why);

    s->body_wait = 0;
    s->over = 1;

    ngx_http_strangler_shadow_detach(s);
    ngx_http_strangler_shadow_release(s);
}


/* a body nginx read before: copied when all of it is in memory */

static ngx_int_t
ngx_http_strangler_shadow_body_read(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *r)
{
    off_t         size;
    ngx_chain_t  *cl;

    if (r->request_body->temp_file || r->request_body->rest) {
        return NGX_DECLINED;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file && !ngx_buf_in_memory(cl->buf)) {
            return NGX_DECLINED;
        }

        size += ngx_buf_size(cl->buf);
    }

    if (size > (off_t) s->smcf->compare_max_body) {
        return NGX_DECLINED;
    }

    /* the request copies it at once, while r's pool holds it */

    s->body = r->request_body->bufs;
    s->body_len = size;

    return NGX_OK;
}


/*
 * The shadow's own pool holds what must outlive the client's request: the
 * decision, the captured responses, the diff log's method, URI and id.
 */

static ngx_http_strangler_shadow_t *
ngx_http_strangler_shadow_create(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, ngx_http_strangler_main_conf_t *smcf,
    ngx_uint_t noise)
{
    size_t                          len;
    ngx_uint_t                      i;
    ngx_log_t                      *log;
    ngx_pool_t                     *pool;
    ngx_http_variable_value_t      *id;
    ngx_http_strangler_shadow_t    *s;
    ngx_http_strangler_loc_conf_t  *slcf;

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

    /* the candidate's copy; the noise one to the client's own side */

    s->ncopies = noise ? 2 : 1;

    for (i = 0; i < s->ncopies; i++) {
        s->copy[i].shadow = s;
        s->copy[i].side = i ? NGX_HTTP_STRANGLER_SECONDARY
                            : NGX_HTTP_STRANGLER_SHADOW;
        s->copy[i].location = i ? &ctx->table->locations[ctx->decision.backend]
                                : s->location;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_strangler_module);
    s->force_header = slcf->force_header;

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
               != NGX_OK)
        || (noise
            && ngx_http_strangler_capture_prepare(s,
                                               NGX_HTTP_STRANGLER_SECONDARY)
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

    if (s->body_wait) {
        /* the owner never read the whole body: there is nothing to copy */
        ngx_http_strangler_shadow_drop(s, NULL, "the body was not read");
        return;
    }

    /* without a comparison, the client's response does not matter */

    if (s->compare && !s->side[NGX_HTTP_STRANGLER_PRIMARY].done
        && !s->over)
    {
        /* the client's response never completed: nothing to compare */
        ngx_log_error(NGX_LOG_INFO, s->log, 0,
                      "strangler: shadow of \"%V %V\": the client's "
                      "response did not complete", &s->method, &s->uri);
        ngx_http_strangler_shadow_over(s, NGX_HTTP_STRANGLER_SHADOW_FAILED);
    }

    ngx_http_strangler_shadow_release(s);
}


/* the client's request no longer needed: s is freed by a release */

static void
ngx_http_strangler_shadow_detach(ngx_http_strangler_shadow_t *s)
{
    if (s->primary == NULL) {
        return;
    }

    s->primary->shadow = NULL;
    s->primary_cln->handler = NULL;
    s->primary = NULL;
}


/* a copy's connection was closed: nginx freed its request */

void
ngx_http_strangler_shadow_closed(void *data)
{
    ngx_http_strangler_copy_t    *copy = data;

    ngx_http_strangler_shadow_t  *s;

    s = copy->shadow;
    copy->connection = NULL;
    copy->request = NULL;

    if (!s->side[copy->side].done && !s->over) {
        ngx_log_error(NGX_LOG_INFO, s->log, 0,
                      "strangler: %s of \"%V %V\" ended without "
                      "a complete response",
                      (copy->side == NGX_HTTP_STRANGLER_SECONDARY)
                      ? "noise copy" : "shadow", &s->method, &s->uri);

        if (copy->side == NGX_HTTP_STRANGLER_SECONDARY) {
            /* compared without noise, if the rest is there */
            s->noise_lost = 1;
            ngx_http_strangler_shadow_settle(s);

        } else {
            ngx_http_strangler_shadow_over(s,
                                           NGX_HTTP_STRANGLER_SHADOW_FAILED);
            ngx_http_strangler_shadow_detach(s);
        }
    }

    ngx_http_strangler_shadow_release(s);
}


static ngx_uint_t
ngx_http_strangler_shadow_running(ngx_http_strangler_shadow_t *s)
{
    ngx_uint_t  i;

    for (i = 0; i < s->ncopies; i++) {
        if (s->copy[i].connection) {
            return 1;
        }
    }

    return 0;
}


/* frees s when neither a copy nor the client's request holds it */

static void
ngx_http_strangler_shadow_release(ngx_http_strangler_shadow_t *s)
{
    if (s->primary || ngx_http_strangler_shadow_running(s) || s->comparing) {
        return;
    }

    /* no copy sent goes uncounted */
    ngx_http_strangler_shadow_over(s, NGX_HTTP_STRANGLER_SHADOW_FAILED);

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    ngx_http_strangler_shadows -= s->ncopies;
    ngx_http_strangler_count_in_flight(s->smcf, - (ngx_int_t) s->ncopies, 0);

    ngx_destroy_pool(s->pool);
}


/* a side's response is complete: compare once all are; may free s */

void
ngx_http_strangler_shadow_captured(ngx_http_strangler_shadow_t *s)
{
    ngx_http_strangler_shadow_settle(s);
    ngx_http_strangler_shadow_release(s);
}


/*
 * Compares once the client's and the candidate's responses are complete,
 * and the noise copy's too unless it is lost; never frees s.
 */

static void
ngx_http_strangler_shadow_settle(ngx_http_strangler_shadow_t *s)
{
    ngx_uint_t                     outcome;
    ngx_http_strangler_capture_t  *shadow;

    shadow = &s->side[NGX_HTTP_STRANGLER_SHADOW];

    if (shadow->done && !s->answered) {
        s->answered = 1;
        ngx_http_strangler_count_shadow_answer(&s->decided, shadow->status,
                                     (ngx_msec_int_t) (ngx_current_msec
                                                       - s->sent));
    }

    if (s->over || s->comparing || !s->side[NGX_HTTP_STRANGLER_SHADOW].done) {
        return;
    }

    if (s->compare) {
        if (!s->side[NGX_HTTP_STRANGLER_PRIMARY].done
            || (s->ncopies > 1 && !s->noise_lost
                && !s->side[NGX_HTTP_STRANGLER_SECONDARY].done))
        {
            return;
        }

        if (ngx_http_strangler_shadow_compare(s) == NGX_AGAIN) {
            return;             /* goes on in slices */
        }

        outcome = ngx_http_strangler_shadow_verdict(s);

    } else {
        outcome = NGX_HTTP_STRANGLER_SHADOW_NOT_COMPARED;
    }

    /* the timer still bounds the shadow's request, if it goes on */

    ngx_http_strangler_shadow_over(s, outcome);

    ngx_http_strangler_shadow_detach(s);
}


/* the shadow's one outcome: the first one set counts */

static void
ngx_http_strangler_shadow_over(ngx_http_strangler_shadow_t *s,
    ngx_uint_t outcome)
{
    if (s->over) {
        return;
    }

    s->over = 1;

    ngx_http_strangler_count_shadow(&s->decided, outcome);
    ngx_http_strangler_guard_count_shadow(&s->decided, outcome);
}


static void
ngx_http_strangler_shadow_timeout(ngx_event_t *ev)
{
    ngx_uint_t                    i, n;
    ngx_http_strangler_copy_t    *run[NGX_HTTP_STRANGLER_NCOPIES];
    ngx_http_strangler_shadow_t  *s;

    s = ev->data;

    /* the noise copy late: the others are compared without it */

    s->noise_lost = 1;
    ngx_http_strangler_shadow_settle(s);

    if (!s->over && !s->comparing) {
        ngx_http_strangler_shadow_over(s,
                                       NGX_HTTP_STRANGLER_SHADOW_TIMED_OUT);

        ngx_log_error(NGX_LOG_INFO, s->log, 0,
                      "strangler: shadow of \"%V %V\" timed out",
                      &s->method, &s->uri);
    }

    ngx_http_strangler_shadow_detach(s);

    if (!ngx_http_strangler_shadow_running(s)) {
        ngx_http_strangler_shadow_release(s);
        return;
    }

    /* the copies hold s: it is freed when the last one's connection closes */

    for (i = 0, n = 0; i < s->ncopies; i++) {
        if (s->copy[i].connection) {
            run[n++] = &s->copy[i];
        }
    }

    for (i = 0; i < n; i++) {
        ngx_http_strangler_shadow_end(run[i]);
    }
}


/*
 * The candidate's answer against the primary's; with a noise copy, the
 * primary's against its second answer first, so that the verdict on each
 * field (ngx_http_strangler_fields.c) weighs this request's noise too.
 * A JSON body is compared in slices of STRANGLER_JCMP_SLICE work, each
 * on an event of the loop's next pass, so that a large one never holds
 * the worker for more than about a millisecond: NGX_AGAIN until the last
 * slice.  NGX_ERROR:
 * out of memory.
 */

static ngx_int_t
ngx_http_strangler_shadow_compare(ngx_http_strangler_shadow_t *s)
{
    ngx_pool_cleanup_t            *cln;
    strangler_response_t           primary, other;
    ngx_http_strangler_binding_t  *b;

    if (s->diffs == NULL) {
        s->diffs = ngx_palloc(s->pool, 2 * sizeof(strangler_diffs_t));
        cln = ngx_pool_cleanup_add(s->pool, 0);

        if (s->diffs == NULL || cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_strangler_shadow_jc_free;
        cln->data = s;

        /* the table's ignore rules, and those the API added */
        b = ngx_http_strangler_binding(s->decided.table,
                                       s->decided.decision.route);
        s->cmp_conf = ngx_http_strangler_ignore_conf(b, s->conf, s->pool);

        s->slice.handler = ngx_http_strangler_shadow_slice;
        s->slice.data = s;
        s->slice.log = s->log;
    }

    for ( ;; ) {
        if (s->jc) {
            s->slices++;

            if (strangler_jcmp_run(s->jc, STRANGLER_JCMP_SLICE)
                == STRANGLER_JCMP_AGAIN)
            {
                s->comparing = 1;

                /*
                 * the next pass of the event loop, after the events ready
                 * by then: nginx runs ngx_posted_events until the queue
                 * is empty, so a slice posted there from a slice would
                 * follow it at once and the comparison would hold the
                 * worker all the same
                 */

#if (nginx_version >= 1017005)
                ngx_post_event(&s->slice, &ngx_posted_next_events);
#else
                ngx_post_event(&s->slice, &ngx_posted_events);
#endif
                return NGX_AGAIN;
            }

            strangler_jcmp_destroy(s->jc);
            s->jc = NULL;
        }

        if (s->cmp_step == 2) {
            ngx_log_debug3(NGX_LOG_DEBUG_HTTP, s->log, 0,
                           "strangler: shadow of \"%V %V\" compared in "
                           "%ui slices", &s->method, &s->uri, s->slices);

            s->comparing = 0;
            return NGX_OK;
        }

        ngx_http_strangler_shadow_response(s, NGX_HTTP_STRANGLER_PRIMARY,
                                           &primary);

        if (s->cmp_step++ == 0) {
            s->diffs[1].count = 0;

            if (s->ncopies > 1 && s->side[NGX_HTTP_STRANGLER_SECONDARY].done)
            {
                s->noise_compared = 1;
                ngx_http_strangler_shadow_response(s,
                                     NGX_HTTP_STRANGLER_SECONDARY, &other);
                (void) strangler_compare_start(s->cmp_conf, &primary, &other,
                                               &s->diffs[1], &s->jc);
            }

            continue;
        }

        ngx_http_strangler_shadow_response(s, NGX_HTTP_STRANGLER_SHADOW,
                                           &other);
        (void) strangler_compare_start(s->cmp_conf, &primary, &other,
                                       &s->diffs[0], &s->jc);
    }
}


static void
ngx_http_strangler_shadow_slice(ngx_event_t *ev)
{
    ngx_http_strangler_shadow_t  *s;

    s = ev->data;

    if (ngx_http_strangler_shadow_compare(s) == NGX_AGAIN) {
        return;
    }

    ngx_http_strangler_shadow_over(s, ngx_http_strangler_shadow_verdict(s));
    ngx_http_strangler_shadow_detach(s);
    ngx_http_strangler_shadow_release(s);
}


static void
ngx_http_strangler_shadow_jc_free(void *data)
{
    ngx_http_strangler_shadow_t  *s = data;

    strangler_jcmp_destroy(s->jc);
    s->jc = NULL;
}


/* MATCHED or MISMATCHED once compared, FAILED when out of memory */

static ngx_uint_t
ngx_http_strangler_shadow_verdict(ngx_http_strangler_shadow_t *s)
{
    ngx_uint_t                     n, real;
    strangler_diffs_t             *diffs, *noise;
    ngx_http_strangler_binding_t  *b;

    if (s->diffs == NULL || s->cmp_step != 2) {
        return NGX_HTTP_STRANGLER_SHADOW_FAILED;
    }

    diffs = &s->diffs[0];
    noise = s->noise_compared ? &s->diffs[1] : NULL;

    n = diffs->count;
    b = ngx_http_strangler_binding(s->decided.table,
                                   s->decided.decision.route);
    real = ngx_http_strangler_fields_count(b, &s->request_id, s->conf,
                                           s->decided.decision.write, diffs,
                                           noise);

    /* at info, for tests and troubleshooting (docs/testing.md's recipe) */

    if (real == 0) {
        ngx_log_error(NGX_LOG_INFO, s->log, 0,
                      "strangler: shadow of \"%V %V\" to \"%V\" matched%s",
                      &s->method, &s->uri, s->location,
                      n ? " but for noise" : "");

        if (n) {
            ngx_http_strangler_diff_log_write(s, diffs);
        }

        return NGX_HTTP_STRANGLER_SHADOW_MATCHED;
    }

    ngx_log_error(NGX_LOG_INFO, s->log, 0,
                  "strangler: shadow of \"%V %V\" to \"%V\" mismatched: "
                  "%ui differences, %ui of them noise", &s->method, &s->uri,
                  s->location, n, n - real);

    ngx_http_strangler_diff_log_write(s, diffs);

    return NGX_HTTP_STRANGLER_SHADOW_MISMATCHED;
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
