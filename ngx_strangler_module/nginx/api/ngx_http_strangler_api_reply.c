
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The API's replies: JSON (application/json, indented, released once
 * sent), text printed into buffers (ngx_http_strangler_text.c) and
 * {"error": "..."} for bad calls.
 */


#include "ngx_http_strangler_api.h"


/* sends the tree and releases it; NULL: out of memory */

ngx_int_t
ngx_http_strangler_api_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json)
{
    char         *text;
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (json == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "strangler: the API's answer to \"%V\" could not be "
                      "made (out of memory, or text that is not UTF-8)",
                      &r->uri);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text = json_dumps(json, JSON_INDENT(2));
    json_decref(json);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(text);
    b = ngx_create_temp_buf(r->pool, len + 1);

    if (b != NULL) {
        b->last = ngx_cpymem(b->last, text, len);
        *b->last++ = '\n';
    }

    free(text);

    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* a 200 with the body in a chain of buffers, of the content type */

ngx_int_t
ngx_http_strangler_api_send_chain(ngx_http_request_t *r, ngx_chain_t *out,
    const char *type)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);

        if (cl->next == NULL) {
            cl->buf->last_buf = (r == r->main);
            cl->buf->last_in_chain = 1;
        }
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/*
 * {"error": "..."}, after discarding any body left unread.  What the
 * client sent (a route name from the decoded URI, a header) may be any
 * bytes, and JSON is UTF-8: a byte that is not part of a character is
 * shown as %XX, as the client would write it in a URL.
 */

ngx_int_t
ngx_http_strangler_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char   *p, *last, *q, msg[NGX_MAX_ERROR_STR], text[3 * sizeof(msg)];
    size_t    n;
    va_list   args;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    va_start(args, fmt);
    last = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    q = text;

    for (p = msg; p < last; p += n) {
        n = strangler_utf8_len(p, last - p);

        if (n) {
            q = ngx_cpymem(q, p, n);
            continue;
        }

        q = ngx_sprintf(q, "%%%02XD", *p);
        n = 1;
    }

    return ngx_http_strangler_api_send_json(r, status,
                                           json_pack("{s:s%}", "error", text,
                                                     (size_t) (q - text)));
}

