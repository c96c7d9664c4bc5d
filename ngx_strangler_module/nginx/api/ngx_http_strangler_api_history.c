
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `GET history[?route=NAME&limit=N&since=TIME&before=ID]`: the routes'
 * changes, newest first (ngx_http_strangler_history.c).  `since` is an
 * ISO 8601 UTC time or seconds since the epoch; `limit` is 1 to
 * NGX_HTTP_STRANGLER_HISTORY_MAX (50 unless given); the answer's `next`,
 * when there are more, is the `before` of the next page.
 *
 *     {"history": [{...}, ...], "next": 41}
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_history.h"


#define NGX_HTTP_STRANGLER_HISTORY_LIMIT  50


ngx_int_t
ngx_http_strangler_api_history(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    json_t     *list;
    time_t      since;
    uint64_t    more;
    ngx_int_t   n, before;
    ngx_str_t   route, arg;
    ngx_uint_t  limit;

    ngx_str_null(&route);
    limit = NGX_HTTP_STRANGLER_HISTORY_LIMIT;
    since = 0;
    before = 0;

    if (ngx_http_arg(r, (u_char *) "route", 5, &route) == NGX_OK
        && strangler_route_find(ctx->table->core, (char *) route.data,
                                route.len)
           == NULL)
    {
        return ngx_http_strangler_api_error(r, NGX_HTTP_NOT_FOUND,
                                            "no route \"%V\" in \"%V\"",
                                            &route, &ctx->table->file);
    }

    if (ngx_http_arg(r, (u_char *) "limit", 5, &arg) == NGX_OK) {
        n = ngx_atoi(arg.data, arg.len);

        if (n < 1 || n > NGX_HTTP_STRANGLER_HISTORY_MAX) {
            return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                  "\"limit\" must be a number from 1 to %d",
                                  NGX_HTTP_STRANGLER_HISTORY_MAX);
        }

        limit = n;
    }

    if (ngx_http_arg(r, (u_char *) "since", 5, &arg) == NGX_OK) {
        since = ngx_http_strangler_history_time(arg.data, arg.len);

        if (since == -1) {
            return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                  "\"since\" must be a UTC time such as "
                                  "2026-12-06T03:00:00Z, or seconds since "
                                  "1970");
        }
    }

    if (ngx_http_arg(r, (u_char *) "before", 6, &arg) == NGX_OK) {
        before = ngx_atoi(arg.data, arg.len);

        if (before < 1) {
            return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST,
                                  "\"before\" must be an entry's id, as "
                                  "\"next\" gives it");
        }
    }

    list = ngx_http_strangler_history_json(ctx->zone, &route, limit, since,
                                           (uint64_t) before, &more);

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK,
               json_pack("{s:o, s:o}", "history", list,
                         "next", more ? json_integer((json_int_t) more)
                                      : json_null()));
}
