
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * $strangler_route, $strangler_backend, $strangler_reason and
 * $strangler_shadow: the decision, for log_format, headers and maps.
 */


#include "ngx_http_strangler_request.h"


typedef enum {
    NGX_HTTP_STRANGLER_VAR_ROUTE = 0,
    NGX_HTTP_STRANGLER_VAR_BACKEND,
    NGX_HTTP_STRANGLER_VAR_REASON,
    NGX_HTTP_STRANGLER_VAR_SHADOW
} ngx_http_strangler_var_e;


static ngx_int_t ngx_http_strangler_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_strangler_vars[] = {

    { ngx_string("strangler_route"), NULL, ngx_http_strangler_variable,
      NGX_HTTP_STRANGLER_VAR_ROUTE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("strangler_backend"), NULL, ngx_http_strangler_variable,
      NGX_HTTP_STRANGLER_VAR_BACKEND, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("strangler_reason"), NULL, ngx_http_strangler_variable,
      NGX_HTTP_STRANGLER_VAR_REASON, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("strangler_shadow"), NULL, ngx_http_strangler_variable,
      NGX_HTTP_STRANGLER_VAR_SHADOW, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_strangler_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_strangler_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                *s;
    ngx_str_t                 *name;
    strangler_decision_t      *d;
    ngx_http_strangler_ctx_t  *ctx;

    ctx = ngx_http_strangler_get_ctx(r->main);

    if (ctx == NULL || !ctx->dispatched) {
        v->not_found = 1;
        return NGX_OK;
    }

    d = &ctx->decision;

    switch (data) {

    case NGX_HTTP_STRANGLER_VAR_ROUTE:
        s = d->route ? d->route->name.data : STRANGLER_DEFAULT_ROUTE;
        break;

    case NGX_HTTP_STRANGLER_VAR_BACKEND:
        name = ngx_http_strangler_backend_name(ctx->table, d->backend);

        v->data = name->data;
        v->len = name->len;
        goto found;

    case NGX_HTTP_STRANGLER_VAR_REASON:
        s = strangler_reason_name(d->reason);
        break;

    default: /* NGX_HTTP_STRANGLER_VAR_SHADOW */
        s = "-";

        if (ctx->shadow_sent) {
            s = ngx_http_strangler_shadow_events[
                                            NGX_HTTP_STRANGLER_SHADOW_SENT];

        } else if (ctx->shadow_dropped) {
            s = ngx_http_strangler_shadow_events[
                                            NGX_HTTP_STRANGLER_SHADOW_DROPPED];

        } else if (ctx->shadow_skipped) {
            s = "skipped";
        }

        break;
    }

    v->data = (u_char *) s;
    v->len = ngx_strlen(s);

found:

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
