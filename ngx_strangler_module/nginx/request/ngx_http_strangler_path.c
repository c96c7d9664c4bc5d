
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler_ambiguous_path`: requests whose path means one thing to the
 * route table and another to the backend.
 *
 * Routes are matched on nginx's normalised path ($uri: decoded, dot
 * segments and doubled slashes resolved), while proxy_pass without a URI
 * forwards the client's raw one.  "DELETE /api/users/7/..%2F..%2F
 * conversations/1" is routed by the conversations route, and so goes to
 * its owner, whose framework may well route the raw path as a users call.
 * Like Envoy's path_with_escaped_slashes_action and normalize_path, such
 * a request is rejected (400), forwarded with the path that was routed,
 * or (off) left alone.
 */


#include "ngx_http_strangler_request.h"


static ngx_uint_t ngx_http_strangler_path_is_ambiguous(ngx_http_request_t *r,
    ngx_uint_t *backslash);


ngx_conf_enum_t  ngx_http_strangler_ambiguous_path_modes[] = {
    { ngx_string("reject"), NGX_HTTP_STRANGLER_AMBIGUOUS_REJECT },
    { ngx_string("normalize"), NGX_HTTP_STRANGLER_AMBIGUOUS_NORMALIZE },
    { ngx_string("off"), NGX_HTTP_STRANGLER_AMBIGUOUS_OFF },
    { ngx_null_string, 0 }
};


/*
 * NGX_OK: dispatch it (in "normalize" mode, with the routed path from now
 * on, for the backend and for a shadow); else the status to answer with.
 */

ngx_int_t
ngx_http_strangler_path_check(ngx_http_request_t *r, ngx_uint_t mode)
{
    ngx_uint_t  backslash;

    /*
     * Only while the proxy would send the client's raw URI: after a
     * rewrite, an internal redirect, or in a subrequest, it sends $uri,
     * which was routed.
     */

    if (mode == NGX_HTTP_STRANGLER_AMBIGUOUS_OFF || !r->valid_unparsed_uri
        || !ngx_http_strangler_path_is_ambiguous(r, &backslash))
    {
        return NGX_OK;
    }

    /*
     * A backslash stays a backslash in $uri (nginx does not take it for a
     * slash here), so no path nginx forwards agrees with a backend that
     * does: it is refused in both modes.
     */

    if (mode == NGX_HTTP_STRANGLER_AMBIGUOUS_NORMALIZE && !backslash) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "strangler: ambiguous path \"%V\" forwarded as \"%V\"",
                       &r->unparsed_uri, &r->uri);

        r->valid_unparsed_uri = 0;

        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "strangler: ambiguous path \"%V\" rejected: it would be "
                  "routed as \"%V\"%s (strangler_ambiguous_path)",
                  &r->unparsed_uri, &r->uri,
                  backslash ? ", and has a backslash" : "");

    return NGX_HTTP_BAD_REQUEST;
}


/*
 * Whether the raw path, decoded, differs from $uri: an encoded slash
 * (which nginx decodes into a separator), a dot segment or a doubled slash
 * (which nginx resolves), or a backslash, raw or encoded (which some
 * backends take for a slash).  Other encoded characters (%41 for A) mean
 * the same to every server and are not ambiguous.
 */

static ngx_uint_t
ngx_http_strangler_path_is_ambiguous(ngx_http_request_t *r,
    ngx_uint_t *backslash)
{
    u_char      *p, *last, *u, *ulast, c;
    ngx_int_t    hi, lo;
    ngx_uint_t   differs;

    p = r->unparsed_uri.data;
    last = ngx_strlchr(p, p + r->unparsed_uri.len, '?');

    if (last == NULL) {
        last = p + r->unparsed_uri.len;
    }

    u = r->uri.data;
    ulast = u + r->uri.len;

    differs = 0;
    *backslash = 0;

    /* to the end: a backslash anywhere decides what "normalize" does */

    while (p < last) {
        c = *p++;

        if (c == '%' && last - p >= 2) {
            hi = ngx_hextoi(p, 1);
            lo = ngx_hextoi(p + 1, 1);

            if (hi != NGX_ERROR && lo != NGX_ERROR) {
                c = (u_char) (hi * 16 + lo);
                p += 2;

                differs |= (c == '/');
            }
        }

        if (c == '\\') {
            *backslash = 1;
        }

        if (!differs && (u == ulast || *u++ != c)) {
            differs = 1;
        }
    }

    return differs || u != ulast || *backslash;
}
