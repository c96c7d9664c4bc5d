
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Who makes a change, and why.  `by` is, in this order: the value of
 * `strangler_api_user $variable;` (e.g. a header an SSO proxy sets through
 * auth_request), the user that auth_basic checked ($remote_user), or the
 * client's address.  The address is nginx's: with the realip module it is
 * the one realip vouches for, otherwise the connection's; a client's own
 * X-Forwarded-For is never believed.  A `reason` comes in the body of a
 * PUT or as `?reason=` on any change.
 *
 * Break-glass: a rollback that etcd cannot take applies on this host.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_etcd.h"
#include "ngx_http_strangler_history.h"


#define NGX_HTTP_STRANGLER_USER_MAX  128    /* bytes of `by` kept */


/* auth_basic's location configuration, as nginx 1.22 defines it */
typedef struct {
    ngx_http_complex_value_t           *realm;
    ngx_http_complex_value_t           *user_file;
} ngx_http_strangler_auth_basic_conf_t;


static ngx_uint_t ngx_http_strangler_api_is_auth_basic(ngx_http_request_t *r);
static ngx_int_t ngx_http_strangler_api_printable(ngx_pool_t *pool,
    ngx_str_t *src, ngx_str_t *dst, size_t max);


char *
ngx_http_strangler_api_user(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_loc_conf_t *slcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->api_user) {
        return "is duplicate";
    }

    value = cf->args->elts;

    slcf->api_user = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (slcf->api_user == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = slcf->api_user;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_strangler_api_who(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_str_t *who)
{
    ngx_str_t                       v;
    ngx_http_strangler_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_strangler_module);

    if (slcf->api_user) {
        if (ngx_http_complex_value(r, slcf->api_user, &v) != NGX_OK) {
            return NGX_ERROR;
        }

        if (v.len) {
            return ngx_http_strangler_api_printable(r->pool, &v, who,
                                               NGX_HTTP_STRANGLER_USER_MAX);
        }
    }

    if (r->headers_in.user.len && ngx_http_strangler_api_is_auth_basic(r)) {
        return ngx_http_strangler_api_printable(r->pool, &r->headers_in.user,
                                                who,
                                                NGX_HTTP_STRANGLER_USER_MAX);
    }

    *who = r->connection->addr_text;

    return NGX_OK;
}


/*
 * Whether auth_basic checked the user of this request: it is on here
 * (a realm, other than "off"), so the request got past it.  Without it a
 * client's Authorization header names whoever it likes.
 */

static ngx_uint_t
ngx_http_strangler_api_is_auth_basic(ngx_http_request_t *r)
{
    ngx_str_t                              realm;
    ngx_uint_t                             i;
    ngx_http_strangler_auth_basic_conf_t  *abcf;

    static ngx_int_t  index = -1;

    if (index == -1) {
        index = -2;

        for (i = 0; ngx_cycle->modules[i]; i++) {
            if (ngx_strcmp(ngx_cycle->modules[i]->name,
                           "ngx_http_auth_basic_module") == 0)
            {
                index = ngx_cycle->modules[i]->ctx_index;
                break;
            }
        }
    }

    if (index < 0) {
        return 0;
    }

    abcf = r->loc_conf[index];

    if (abcf == NULL || abcf->realm == NULL
        || ngx_http_complex_value(r, abcf->realm, &realm) != NGX_OK)
    {
        return 0;
    }

    return !(realm.len == 3 && ngx_strncmp(realm.data, "off", 3) == 0);
}


/* `by` as it is kept: at most `max` bytes, control bytes as '?' */

static ngx_int_t
ngx_http_strangler_api_printable(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst, size_t max)
{
    size_t   i;
    json_t  *j;

    dst->len = ngx_min(src->len, max);
    dst->data = ngx_pnalloc(pool, dst->len);

    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < dst->len; i++) {
        dst->data[i] = (src->data[i] < 0x20 || src->data[i] == 0x7f)
                       ? '?' : src->data[i];
    }

    /* whole UTF-8 characters: a cut one goes */
    while (dst->len && (dst->data[dst->len - 1] & 0x80)) {
        j = json_stringn((char *) dst->data, dst->len);

        if (j != NULL) {
            json_decref(j);
            break;
        }

        dst->len--;
    }

    return NGX_OK;
}


/* the body's "reason": 0, or a status and *err */

ngx_uint_t
ngx_http_strangler_api_reason(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *v, u_char **err)
{
    size_t       i, len;
    const char  *s;

    if (json_is_null(v)) {
        return 0;
    }

    if (!json_is_string(v)) {
        *err = (u_char *) "\"reason\" must be a string";
        return NGX_HTTP_BAD_REQUEST;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len > NGX_HTTP_STRANGLER_REASON_MAX) {
        *err = (u_char *) "\"reason\" is over "
                          ngx_value(NGX_HTTP_STRANGLER_REASON_MAX) " bytes";
        return NGX_HTTP_BAD_REQUEST;
    }

    for (i = 0; i < len; i++) {
        if ((u_char) s[i] < 0x20 || s[i] == 0x7f) {
            *err = (u_char *) "\"reason\" must not hold control characters";
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    ctx->patch.reason.len = len;
    ctx->patch.reason.data = ngx_pnalloc(r->pool, len + 1);

    if (ctx->patch.reason.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->patch.reason.data, s, len);

    return 0;
}


/* `?reason=` (URL-encoded) of a change: 0, or a status and *err */

ngx_uint_t
ngx_http_strangler_api_reason_arg(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, u_char **err)
{
    u_char      *dst, *src;
    json_t      *v;
    ngx_str_t    arg;
    ngx_uint_t   status, i;

    if (ngx_http_arg(r, (u_char *) "reason", 6, &arg) != NGX_OK
        || arg.len == 0)
    {
        return 0;
    }

    dst = ngx_pnalloc(r->pool, arg.len);
    if (dst == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < arg.len; i++) {
        if (arg.data[i] == '+') {
            arg.data[i] = ' ';
        }
    }

    src = arg.data;
    arg.data = dst;
    ngx_unescape_uri(&dst, &src, arg.len, 0);
    arg.len = dst - arg.data;

    v = json_stringn((char *) arg.data, arg.len);

    if (v == NULL) {
        *err = (u_char *) "\"reason\" must be UTF-8 text";
        return NGX_HTTP_BAD_REQUEST;
    }

    status = ngx_http_strangler_api_reason(r, ctx, v, err);
    json_decref(v);

    return status;
}


/*
 * A rollback that etcd could not take (unreachable, or no answer):
 * it applies here, as the guard's trip does, saved in the state file and
 * marked "pending": "etcd" until it is published
 * (ngx_http_strangler_etcd_pending.c).  A rollback only pins reads to
 * the table's owner, so it is safe to apply alone.
 */

ngx_int_t
ngx_http_strangler_api_break_glass(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx)
{
    ngx_http_strangler_zone_ctx_t  *z;

    z = ctx->zone;

    ngx_str_set(&ctx->patch.via, "break-glass");
    ctx->patch.at = ngx_time();

    if (ngx_http_strangler_etcd_local(z, &ctx->name) != NGX_OK
        || ngx_http_strangler_override_patch(z, ctx->shr, ctx->fields,
                                             &ctx->patch, &ctx->old,
                                             &ctx->now, r->pool)
           != NGX_OK)
    {
        return ngx_http_strangler_api_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "etcd is unreachable and the "
                                            "rollback could not be applied "
                                            "here: nothing changed");
    }

    ngx_http_strangler_etcd_pending_mark(z, ctx->shr);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "strangler: etcd is unreachable: break-glass rollback of "
                  "route \"%V\" by %V applies to this host only, and is "
                  "written to etcd when it answers again",
                  &ctx->name, &ctx->patch.by);

    return ngx_http_strangler_api_applied(r, ctx, &ctx->old, &ctx->now);
}
