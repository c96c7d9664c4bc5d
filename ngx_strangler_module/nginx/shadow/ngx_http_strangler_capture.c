
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The capture filters: they copy what is compared of a response (status,
 * the listed headers, the body up to strangler_compare_max_body, decoded
 * from gzip) and pass it on untouched.  The client's response goes on to
 * the client; the shadow's goes on to its connection, which discards it.
 *
 * The module is an HTTP_AUX_FILTER: these filters sit right under the copy
 * filter, which reads file buffers into memory for them, and above gzip,
 * so the body is seen as the backend's location produced it.
 */


#include "ngx_http_strangler_shadow.h"


static ngx_http_strangler_capture_t *ngx_http_strangler_capture_get(
    ngx_http_request_t *r, ngx_http_strangler_shadow_t **sp);
static ngx_int_t ngx_http_strangler_capture_header_filter(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_strangler_capture_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static void ngx_http_strangler_capture_end(ngx_http_strangler_shadow_t *s,
    ngx_http_strangler_capture_t *cap);
static ngx_int_t ngx_http_strangler_capture_headers(ngx_http_request_t *r,
    ngx_http_strangler_shadow_t *s, ngx_http_strangler_capture_t *cap);
static ngx_int_t ngx_http_strangler_capture_header(ngx_http_request_t *r,
    ngx_pool_t *pool, ngx_str_t *name, strangler_str_t *value);
static ngx_table_elt_t *ngx_http_strangler_header_next(ngx_http_request_t *r,
    ngx_table_elt_t *h, ngx_str_t *name);
static ngx_uint_t ngx_http_strangler_header_is(ngx_str_t *name,
    char *literal);
static ngx_uint_t ngx_http_strangler_capture_gzip(ngx_http_request_t *r);
static void ngx_http_strangler_capture_cleanup(void *data);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_strangler_capture_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_strangler_capture_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_strangler_capture_body_filter;

    return NGX_OK;
}


/* a side's storage, in the shadow's pool, released with it */

ngx_int_t
ngx_http_strangler_capture_prepare(ngx_http_strangler_shadow_t *s,
    ngx_uint_t side)
{
    size_t                         n;
    ngx_pool_cleanup_t            *cln;
    ngx_http_strangler_capture_t  *cap;

    cap = &s->side[side];

    n = s->conf->headers.n;

    if (n) {
        cap->headers = ngx_pcalloc(s->pool, n * sizeof(strangler_str_t));
        if (cap->headers == NULL) {
            return NGX_ERROR;
        }
    }

    cln = ngx_pool_cleanup_add(s->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_strangler_capture_cleanup;
    cln->data = &cap->body;

    return NGX_OK;
}


static void
ngx_http_strangler_capture_cleanup(void *data)
{
    strangler_body_free(data);
}


/* the capture of r's response, when r is a main request being compared */

static ngx_http_strangler_capture_t *
ngx_http_strangler_capture_get(ngx_http_request_t *r,
    ngx_http_strangler_shadow_t **sp)
{
    ngx_http_strangler_ctx_t      *ctx;
    ngx_http_strangler_capture_t  *cap;

    if (r != r->main) {
        return NULL;
    }

    ctx = ngx_http_strangler_get_ctx(r);

    if (ctx == NULL || ctx->shadow == NULL
        || (!ctx->is_shadow && !ctx->shadow->compare))
    {
        return NULL;
    }

    cap = &ctx->shadow->side[!ctx->is_shadow ? NGX_HTTP_STRANGLER_PRIMARY
                             : ctx->is_secondary ? NGX_HTTP_STRANGLER_SECONDARY
                             : NGX_HTTP_STRANGLER_SHADOW];

    if (cap->done) {
        return NULL;
    }

    *sp = ctx->shadow;

    return cap;
}


static ngx_int_t
ngx_http_strangler_capture_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_strangler_shadow_t   *s;
    ngx_http_strangler_capture_t  *cap;

    cap = ngx_http_strangler_capture_get(r, &s);

    if (cap == NULL) {
        return ngx_http_next_header_filter(r);
    }

    /* an error page may replace a response whose header failed */

    strangler_body_free(&cap->body);

    cap->started = 1;
    cap->status = r->headers_out.status;

    if (ngx_http_strangler_capture_headers(r, s, cap) != NGX_OK) {
        return NGX_ERROR;
    }

    if (s->conf->compare >= STRANGLER_COMPARE_BODY) {
        strangler_body_init(&cap->body, s->smcf->compare_max_body,
                            ngx_http_strangler_capture_gzip(r));

        /* the copy filter reads file buffers into memory for us */
        r->filter_need_in_memory = 1;
    }

    rc = ngx_http_next_header_filter(r);

    /* HEAD, 204, 304: nginx sends no last buffer after the header */

    if (r->header_only && rc != NGX_ERROR) {
        ngx_http_strangler_capture_end(s, cap);
    }

    return rc;
}


static ngx_int_t
ngx_http_strangler_capture_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    ngx_buf_t                     *b;
    ngx_uint_t                     last, keep;
    ngx_chain_t                   *cl;
    ngx_http_strangler_shadow_t   *s;
    ngx_http_strangler_capture_t  *cap;

    cap = ngx_http_strangler_capture_get(r, &s);

    if (cap == NULL || !cap->started) {
        return ngx_http_next_body_filter(r, in);
    }

    last = 0;
    keep = (s->conf->compare >= STRANGLER_COMPARE_BODY);

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (keep && ngx_buf_in_memory(b)) {
            strangler_body_add(&cap->body, b->pos, b->last - b->pos);

        } else if (keep && b->in_file && b->file_last > b->file_pos) {
            cap->body.error = "a buffer was not in memory";
        }

        if (b->last_buf) {
            last = 1;
        }
    }

    if (last) {
        ngx_http_strangler_capture_end(s, cap);
    }

    return ngx_http_next_body_filter(r, in);
}


/* may compare, and free s: neither is touched after this */

static void
ngx_http_strangler_capture_end(ngx_http_strangler_shadow_t *s,
    ngx_http_strangler_capture_t *cap)
{
    strangler_body_end(&cap->body);
    cap->done = 1;

    ngx_http_strangler_shadow_captured(s);
}


static ngx_int_t
ngx_http_strangler_capture_headers(ngx_http_request_t *r,
    ngx_http_strangler_shadow_t *s, ngx_http_strangler_capture_t *cap)
{
    size_t            i;
    ngx_str_t         name;
    strangler_str_t  *item;

    for (i = 0; i < s->conf->headers.n; i++) {
        item = &s->conf->headers.items[i];

        name.data = (u_char *) item->data;
        name.len = item->len;

        if (ngx_http_strangler_capture_header(r, s->pool, &name,
                                              &cap->headers[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * One header as the backend's location produced it: the values of all its
 * lines joined by ", "; Content-Type and Content-Length from where nginx
 * keeps them.  data NULL: there is no such header.
 */

static ngx_int_t
ngx_http_strangler_capture_header(ngx_http_request_t *r, ngx_pool_t *pool,
    ngx_str_t *name, strangler_str_t *value)
{
    u_char           *p, num[NGX_OFF_T_LEN];
    size_t            len;
    ngx_str_t         v;
    ngx_uint_t        n;
    ngx_table_elt_t  *h;

    ngx_str_null(&v);

    if (ngx_http_strangler_header_is(name, "Content-Type")) {
        if (r->headers_out.content_type.len) {
            v = r->headers_out.content_type;
        }

    } else if (ngx_http_strangler_header_is(name, "Content-Length")
               && r->headers_out.content_length == NULL
               && r->headers_out.content_length_n >= 0)
    {
        v.data = num;
        v.len = ngx_sprintf(num, "%O", r->headers_out.content_length_n) - num;
    }

    /* the list: measured, then copied */

    n = v.data ? 1 : 0;
    len = v.len;

    for (h = NULL; (h = ngx_http_strangler_header_next(r, h, name)); n++) {
        len += (n ? 2 : 0) + h->value.len;
    }

    if (n == 0) {
        value->data = NULL;
        value->len = 0;
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value->data = (char *) p;
    value->len = len;

    if (v.data) {
        p = ngx_cpymem(p, v.data, v.len);
    }

    n = v.data ? 1 : 0;

    for (h = NULL; (h = ngx_http_strangler_header_next(r, h, name)); n++) {
        if (n) {
            p = ngx_cpymem(p, ", ", 2);
        }

        p = ngx_cpymem(p, h->value.data, h->value.len);
    }

    return NGX_OK;
}


/* the next line of the response header `name` after h (NULL: the first) */

static ngx_table_elt_t *
ngx_http_strangler_header_next(ngx_http_request_t *r, ngx_table_elt_t *h,
    ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;

    part = &r->headers_out.headers.part;
    i = 0;

    if (h) {
        /* find h's part, then go on after it */
        while ((ngx_table_elt_t *) part->elts + part->nelts <= h
               || (ngx_table_elt_t *) part->elts > h)
        {
            part = part->next;
        }

        i = h - (ngx_table_elt_t *) part->elts + 1;
    }

    for ( ;; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            i = 0;
        }

        h = &((ngx_table_elt_t *) part->elts)[i];

        if (h->hash && h->key.len == name->len
            && ngx_strncasecmp(h->key.data, name->data, name->len) == 0)
        {
            return h;
        }
    }
}


static ngx_uint_t
ngx_http_strangler_header_is(ngx_str_t *name, char *literal)
{
    size_t  len;

    len = ngx_strlen(literal);

    return name->len == len
           && ngx_strncasecmp(name->data, (u_char *) literal, len) == 0;
}


static ngx_uint_t
ngx_http_strangler_capture_gzip(ngx_http_request_t *r)
{
    ngx_table_elt_t  *ce;

    ce = r->headers_out.content_encoding;

    if (ce == NULL || ce->hash == 0) {
        return 0;
    }

    return (ce->value.len == 4
            && ngx_strncasecmp(ce->value.data, (u_char *) "gzip", 4) == 0)
           || (ce->value.len == 6
               && ngx_strncasecmp(ce->value.data, (u_char *) "x-gzip", 6)
                  == 0);
}
