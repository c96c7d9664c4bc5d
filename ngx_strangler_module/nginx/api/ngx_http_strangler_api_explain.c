
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * GET explain?method=M&path=P[&header=K:V]...: which route, rule and
 * backend would serve such a request now, under the live overrides.  The
 * same matching and decision code as the dispatcher runs; only the request
 * is described by the query instead of being a real one.  The shadow is
 * reported as if the sample were drawn (it would be sent `sample` percent
 * of the time).
 */


#include "ngx_http_strangler_api.h"


#define NGX_HTTP_STRANGLER_EXPLAIN_HEADERS  16


/*
 * The request described by the query; `text` first, so that the core's
 * text accessor's data is also this, for the override hook.
 */
typedef struct {
    strangler_text_request_t    text;
    ngx_http_strangler_table_t *table;
    ngx_str_t                   method;
    ngx_str_t                   target;     /* path=, as given */
    strangler_header_t          headers[NGX_HTTP_STRANGLER_EXPLAIN_HEADERS];
} ngx_http_strangler_explain_t;


static u_char *ngx_http_strangler_explain_args(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex, strangler_request_t *req);
static u_char *ngx_http_strangler_explain_arg(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex, ngx_str_t *name, ngx_str_t *value);
static int ngx_http_strangler_explain_override(void *data,
    const strangler_route_t *route, strangler_override_t *ov);
static json_t *ngx_http_strangler_explain_json(
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_explain_t *ex,
    strangler_match_t *match, strangler_request_t *req,
    strangler_decision_t *d);


ngx_int_t
ngx_http_strangler_api_explain(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    u_char                         *err;
    strangler_match_t               match;
    strangler_request_t             req;
    strangler_accessor_t            acc;
    strangler_decision_t            d;
    ngx_http_strangler_explain_t    ex;
    ngx_http_strangler_loc_conf_t  *slcf;

    ngx_memzero(&ex, sizeof(ngx_http_strangler_explain_t));
    ngx_memzero(&req, sizeof(strangler_request_t));
    ngx_str_set(&ex.method, "GET");

    err = ngx_http_strangler_explain_args(r, &ex, &req);
    if (err) {
        return ngx_http_strangler_api_error(r, NGX_HTTP_BAD_REQUEST, "%s",
                                            err);
    }

    ex.table = ctx->table;
    ex.text.headers = ex.headers;

    strangler_text_accessor(&ex.text, &acc);
    acc.override = ngx_http_strangler_explain_override;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_strangler_module);

    req.method = strangler_method_parse((char *) ex.method.data,
                                        ex.method.len);
    req.force_header.data = (char *) slcf->force_header.data;
    req.force_header.len = slcf->force_header.len;
    req.random = (uint32_t) ngx_random();
    req.shadow_random = 0;

    strangler_request_route(ex.table->core, &acc, &req, &match, &d);

    return ngx_http_strangler_api_send_json(r, NGX_HTTP_OK,
                ngx_http_strangler_explain_json(ctx, &ex, &match, &req, &d));
}


static int
ngx_http_strangler_explain_override(void *data,
    const strangler_route_t *route, strangler_override_t *ov)
{
    ngx_http_strangler_explain_t  *ex;

    ex = data;

    return ngx_http_strangler_get_override(ex->table, route, ov) == NGX_OK;
}


/* NULL, or what is wrong with the query */

static u_char *
ngx_http_strangler_explain_args(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex, strangler_request_t *req)
{
    u_char      *p, *last, *amp, *eq, *err, *path;
    size_t       len;
    ngx_str_t    name, value;
    const char  *why;

    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        eq = ngx_strlchr(p, amp, '=');

        name.data = p;
        name.len = (eq ? eq : amp) - p;
        value.data = eq ? eq + 1 : amp;
        value.len = amp - value.data;

        if (name.len) {
            err = ngx_http_strangler_explain_arg(r, ex, &name, &value);
            if (err) {
                return err;
            }
        }

        p = amp + 1;
    }

    if (ex->target.len == 0 || ex->target.data[0] != '/') {
        return (u_char *) "explain needs path=/...";
    }

    if (!strangler_method_is_valid((char *) ex->method.data, ex->method.len))
    {
        return ngx_http_strangler_msg(r->pool,
                                      "method \"%V\": nginx refuses a "
                                      "request line whose method is not "
                                      "upper-case letters, \"_\" or "
                                      "\"-\" (400)", &ex->method);
    }

    /* the path as nginx routes it, the query string aside */

    path = ngx_pnalloc(r->pool, ex->target.len);
    if (path == NULL) {
        return (u_char *) "out of memory";
    }

    if (strangler_target_parse((char *) ex->target.data, ex->target.len,
                               (char *) path, &len, &ex->text.args, &why)
        != 0)
    {
        return ngx_http_strangler_msg(r->pool,
                                      "path \"%V\": %s (nginx answers "
                                      "400)", &ex->target, why);
    }

    req->path.data = (char *) path;
    req->path.len = len;

    return NULL;
}


static u_char *
ngx_http_strangler_explain_arg(ngx_http_request_t *r,
    ngx_http_strangler_explain_t *ex, ngx_str_t *name, ngx_str_t *value)
{
    u_char  *dst, *src;

    dst = ngx_pnalloc(r->pool, value->len + 1);
    if (dst == NULL) {
        return (u_char *) "out of memory";
    }

    src = value->data;
    value->data = dst;
    ngx_unescape_uri(&dst, &src, value->len, 0);
    value->len = dst - value->data;

    if (name->len == 6 && ngx_strncmp(name->data, "method", 6) == 0) {
        ex->method = *value;
        return NULL;
    }

    if (name->len == 4 && ngx_strncmp(name->data, "path", 4) == 0) {
        ex->target = *value;
        return NULL;
    }

    if (name->len != 6 || ngx_strncmp(name->data, "header", 6) != 0) {
        return ngx_http_strangler_msg(r->pool,
                                      "unknown parameter \"%V\": "
                                      "expected method, path or header",
                                      name);
    }

    if (ex->text.nheaders == NGX_HTTP_STRANGLER_EXPLAIN_HEADERS
        || strangler_header_parse((char *) value->data, value->len,
                                  &ex->headers[ex->text.nheaders])
           != 0)
    {
        return ngx_http_strangler_msg(r->pool,
                                      "header=\"%V\": expected "
                                      "Name:value, at most %d of them",
                                      value,
                                      NGX_HTTP_STRANGLER_EXPLAIN_HEADERS);
    }

    ex->text.nheaders++;

    return NULL;
}


static json_t *
ngx_http_strangler_explain_json(ngx_http_strangler_api_ctx_t *ctx,
    ngx_http_strangler_explain_t *ex, strangler_match_t *match,
    strangler_request_t *req, strangler_decision_t *d)
{
    json_t                      *route, *shadow, *mo;
    uint32_t                     sample;
    const strangler_field_t     *f;
    ngx_http_strangler_table_t  *t;

    t = ctx->table;

    route = match->route
            ? json_stringn(match->route->name.data, match->route->name.len)
            : json_string(STRANGLER_DEFAULT_ROUTE);

    shadow = json_null();

    if (d->shadow_to >= 0) {
        sample = (req->override && req->override->sample_ppm >= 0)
                 ? (uint32_t) req->override->sample_ppm
                 : match->route->shadow.sample_ppm;

        shadow = json_pack("{s:o, s:f}",
                           "to", ngx_http_strangler_backend_json(t,
                                                              d->shadow_to),
                           "sample", strangler_ppm_to_percent(sample));
    }

    f = req->method_override;

    mo = f ? json_pack("s++%", strangler_field_name(f->from), ":",
                       f->name.data, f->name.len)
           : json_null();

    return json_pack("{s:s%, s:s%, s:o, s:s, s:o, s:s%, s:s, s:b, s:b, "
                     "s:b, s:o, s:o}",
                     "method", ex->method.data, ex->method.len,
                     "path", req->path.data, req->path.len,
                     "route", route,
                     "rule", strangler_rule_name(match->rule),
                     "backend", ngx_http_strangler_backend_json(t,
                                                                d->backend),
                     "location", t->locations[d->backend].data,
                     t->locations[d->backend].len,
                     "reason", strangler_reason_name(d->reason),
                     "write", (int) d->write,
                     "override", req->override != NULL,
                     "random", d->reason == STRANGLER_REASON_SPLIT
                               && req->sticky_key.data == NULL,
                     "shadow", shadow,
                     "method_override", mo);
}
