
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The dashboard: one HTML page with its style and script inline (made at
 * configure time from dashboard/ by dashboard/embed.sh), served by
 * `strangler_api` to a browser that opens the location itself, and at
 * `dashboard`.  Its Content-Security-Policy allows that style and that
 * script by their hashes, and fetches from this origin only.
 *
 * `GET access?method=M` tells the page whether this client may write,
 * without writing: the request goes again through nginx's phases as M
 * (an internal redirect to itself), so that the location's own access
 * rules decide (allow/deny, limit_except, auth_basic, auth_request,
 * satisfy), and reaches this handler again, as M, only when they let it
 * through.  Otherwise nginx answers 403 (or 401) as it would to M.
 */


#include "ngx_http_strangler_api.h"
#include "strangler_core.h"

#include <ngx_http_strangler_dashboard_page.h>


/* the parts of ngx_http_strangler_dashboard_parts[] */
#define NGX_HTTP_STRANGLER_PAGE_STYLE   1
#define NGX_HTTP_STRANGLER_PAGE_SCRIPT  3
#define NGX_HTTP_STRANGLER_PAGE_NPARTS  5

/* the page's Content-Security-Policy: HEAD script MID style TAIL */
#define NGX_HTTP_STRANGLER_CSP_HEAD  "default-src 'none'; script-src "
#define NGX_HTTP_STRANGLER_CSP_MID   "; style-src "
#define NGX_HTTP_STRANGLER_CSP_TAIL                                        \
    "; connect-src 'self'; img-src 'self' data:; base-uri 'none'; "         \
    "form-action 'none'; frame-ancestors 'none'"

/* 'sha256-BASE64': the base64 of 32 bytes is 44 characters */
#define NGX_HTTP_STRANGLER_CSP_HASH_LEN  (sizeof("'sha256-'") - 1 + 44)


typedef struct {
    ngx_str_t                       name;
    ngx_uint_t                      method;
} ngx_http_strangler_write_method_t;


static u_char *ngx_http_strangler_dashboard_hash(u_char *p, ngx_uint_t part);
static ngx_int_t ngx_http_strangler_dashboard_header(ngx_http_request_t *r,
    const char *name, u_char *value, size_t len);


/* one per process, made at configuration time */
static u_char  ngx_http_strangler_csp[sizeof(NGX_HTTP_STRANGLER_CSP_HEAD)
                                      + sizeof(NGX_HTTP_STRANGLER_CSP_MID)
                                      + sizeof(NGX_HTTP_STRANGLER_CSP_TAIL)
                                      + 2 * NGX_HTTP_STRANGLER_CSP_HASH_LEN];
static size_t  ngx_http_strangler_csp_len;


static ngx_http_strangler_write_method_t  ngx_http_strangler_write_methods[] =
{
    { ngx_string("POST"), NGX_HTTP_POST },
    { ngx_string("PUT"), NGX_HTTP_PUT },
    { ngx_string("DELETE"), NGX_HTTP_DELETE },
    { ngx_null_string, 0 }
};


ngx_int_t
ngx_http_strangler_dashboard_init_conf(ngx_conf_t *cf)
{
    u_char  *p;

    if (sizeof(ngx_http_strangler_dashboard_parts) / sizeof(ngx_str_t)
        != NGX_HTTP_STRANGLER_PAGE_NPARTS)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "the dashboard page was not made as expected");
        return NGX_ERROR;
    }

    p = ngx_cpymem(ngx_http_strangler_csp, NGX_HTTP_STRANGLER_CSP_HEAD,
                   sizeof(NGX_HTTP_STRANGLER_CSP_HEAD) - 1);
    p = ngx_http_strangler_dashboard_hash(p, NGX_HTTP_STRANGLER_PAGE_SCRIPT);
    p = ngx_cpymem(p, NGX_HTTP_STRANGLER_CSP_MID,
                   sizeof(NGX_HTTP_STRANGLER_CSP_MID) - 1);
    p = ngx_http_strangler_dashboard_hash(p, NGX_HTTP_STRANGLER_PAGE_STYLE);
    p = ngx_cpymem(p, NGX_HTTP_STRANGLER_CSP_TAIL,
                   sizeof(NGX_HTTP_STRANGLER_CSP_TAIL) - 1);

    ngx_http_strangler_csp_len = p - ngx_http_strangler_csp;

    return NGX_OK;
}


/* 'sha256-BASE64', the CSP source expression for a part of the page */

static u_char *
ngx_http_strangler_dashboard_hash(u_char *p, ngx_uint_t part)
{
    u_char               digest[32];
    ngx_str_t            src, dst, *text;
    strangler_sha256_t   sha;

    text = &ngx_http_strangler_dashboard_parts[part];

    strangler_sha256_init(&sha);
    strangler_sha256_update(&sha, text->data, text->len);
    strangler_sha256_final(&sha, digest);

    p = ngx_cpymem(p, "'sha256-", sizeof("'sha256-") - 1);

    src.data = digest;
    src.len = sizeof(digest);
    dst.data = p;

    ngx_encode_base64(&dst, &src);

    p += dst.len;
    *p++ = '\'';

    return p;
}


/* a browser opening the location: a GET whose Accept names text/html */

ngx_int_t
ngx_http_strangler_dashboard_wanted(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return 0;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Accept") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept",
                               sizeof("Accept") - 1) == 0
            && ngx_strlcasestrn(h[i].value.data,
                                h[i].value.data + h[i].value.len,
                                (u_char *) "text/html",
                                sizeof("text/html") - 1 - 1)
               != NULL)
        {
            return 1;
        }
    }
}


ngx_int_t
ngx_http_strangler_api_dashboard(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_uint_t    i;
    ngx_chain_t  *out, **last, *cl;

    if (ngx_http_strangler_dashboard_header(r, "Content-Security-Policy",
                                            ngx_http_strangler_csp,
                                            ngx_http_strangler_csp_len)
        != NGX_OK
        || ngx_http_strangler_dashboard_header(r, "X-Content-Type-Options",
                                               (u_char *) "nosniff", 7)
           != NGX_OK
        || ngx_http_strangler_dashboard_header(r, "Referrer-Policy",
                                               (u_char *) "no-referrer", 11)
           != NGX_OK
        || ngx_http_strangler_dashboard_header(r, "Cache-Control",
                                               (u_char *) "no-cache", 8)
           != NGX_OK
        || ngx_http_strangler_dashboard_header(r, "Vary",
                                               (u_char *) "Accept", 6)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = NULL;
    last = &out;
    len = 0;
    b = NULL;

    /* the parts as they are, in static memory */
    for (i = 0; i < NGX_HTTP_STRANGLER_PAGE_NPARTS; i++) {
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos = ngx_http_strangler_dashboard_parts[i].data;
        b->last = b->pos + ngx_http_strangler_dashboard_parts[i].len;
        b->memory = 1;

        len += b->last - b->pos;

        cl->buf = b;
        cl->next = NULL;
        *last = cl;
        last = &cl->next;
    }

    b->last_buf = (r == r->main);   /* the last part's */
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/html") - 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


static ngx_int_t
ngx_http_strangler_dashboard_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


/*
 * GET access?method=M (POST by default): this request again, as M;
 * M itself, once nginx's access phase let it through: allowed.
 */

ngx_int_t
ngx_http_strangler_api_access(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_str_t                           uri, args, value;
    ngx_http_strangler_write_method_t  *m;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            r->keepalive = 0;
        }

        return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK,
                                  json_pack("{s:s%, s:b}",
                                            "method", r->method_name.data,
                                            r->method_name.len,
                                            "allowed", 1));
    }

    if (ngx_http_arg(r, (u_char *) "method", 6, &value) != NGX_OK) {
        ngx_str_set(&value, "POST");
    }

    for (m = ngx_http_strangler_write_methods; m->name.len; m++) {
        if (m->name.len == value.len
            && ngx_strncmp(m->name.data, value.data, value.len) == 0)
        {
            break;
        }
    }

    if (m->name.len == 0) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                            "\"method\" must be POST, PUT "
                                            "or DELETE, not \"%V\"", &value);
    }

    r->method = m->method;
    r->method_name = m->name;

    uri = r->uri;
    args = r->args;

    return ngx_http_internal_redirect(r, &uri, &args);
}
