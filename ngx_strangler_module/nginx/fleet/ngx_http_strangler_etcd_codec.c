
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What goes over the wire to etcd: base64 keys and values, int64 numbers
 * as JSON strings, and the override record stored as each route's value:
 *
 *     PREFIX routes/NAME  ->  {"reads": "new", "owner": "legacy",
 *                              "shadow_sample": 5, "by": "USER on HOST",
 *                              "via": "api", "reason": "INC-4711",
 *                              "at": 1790000000}
 *
 * A value is checked against the table it would apply to: anything that
 * is not a valid override there is refused with the reason.
 */


#include "ngx_http_strangler_etcd.h"


static ngx_int_t ngx_http_strangler_etcd_backend(ngx_http_strangler_table_t *t,
    json_t *v, ngx_str_t *name, ngx_pool_t *pool);
static ngx_int_t ngx_http_strangler_etcd_unb64(ngx_pool_t *pool, json_t *v,
    ngx_str_t *dst);


ngx_int_t
ngx_http_strangler_etcd_b64(ngx_pool_t *pool, ngx_str_t *dst, u_char *src,
    size_t len)
{
    ngx_str_t  s;

    s.data = src;
    s.len = len;

    dst->data = ngx_pnalloc(pool, ngx_base64_encoded_length(len));
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64(dst, &s);

    return NGX_OK;
}


json_t *
ngx_http_strangler_etcd_json_b64(ngx_str_t *s)
{
    return json_stringn((char *) s->data, s->len);
}


/* an int64 that the gateway writes as a string; 0 when absent */

int64_t
ngx_http_strangler_etcd_int(json_t *obj, const char *key)
{
    json_t      *v;
    const char  *s;

    v = json_object_get(obj, key);

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }

    s = json_string_value(v);

    return s ? strtoll(s, NULL, 10) : 0;
}


/* header.revision of an answer */

int64_t
ngx_http_strangler_etcd_revision(json_t *answer)
{
    return ngx_http_strangler_etcd_int(json_object_get(answer, "header"),
                                       "revision");
}


/*
 * Whether an answer (or a watch message's result) is etcd's: an object
 * with a header whose revision is a positive number, no error, and the
 * list it may carry (`list`: "kvs", "events", "responses") an array if
 * present.  An error body (`{"error": ..., "code": 14}`) is not one.
 */

ngx_uint_t
ngx_http_strangler_etcd_is_answer(json_t *answer, const char *list)
{
    json_t      *header, *v;
    const char  *s;

    if (!json_is_object(answer) || json_object_get(answer, "error")
        || json_object_get(answer, "code"))
    {
        return 0;
    }

    header = json_object_get(answer, "header");
    v = json_object_get(header, "revision");

    if (!json_is_object(header)) {
        return 0;
    }

    if (json_is_integer(v)) {
        if (json_integer_value(v) <= 0) {
            return 0;
        }

    } else if (json_is_string(v)) {
        s = json_string_value(v);

        if (*s == '\0' || *s == '0') {
            return 0;
        }

        for ( /* void */ ; *s; s++) {
            if (*s < '0' || *s > '9') {
                return 0;
            }
        }

    } else {
        return 0;
    }

    v = list ? json_object_get(answer, list) : NULL;

    return v == NULL || json_is_array(v);
}


/*
 * Bytes from etcd (or from anything that answers in its place) for the
 * log: printable ASCII as it is, the rest as \xHH; cut where it fills.
 */

u_char *
ngx_http_strangler_etcd_escape(u_char *dst, u_char *last, u_char *src,
    size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    for ( /* void */ ; len && dst + 4 <= last; len--, src++) {
        if (*src >= 0x20 && *src < 0x7f && *src != '"' && *src != '\\') {
            *dst++ = *src;
            continue;
        }

        *dst++ = '\\';
        *dst++ = 'x';
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src & 0xf];
    }

    return dst;
}


/*
 * A key-value of etcd (of a range or of an event) under the prefix:
 * NGX_OK for PREFIX routes/NAME, NGX_DECLINED for another key.
 */

ngx_int_t
ngx_http_strangler_etcd_kv(ngx_http_strangler_etcd_conf_t *ecf, json_t *kv,
    ngx_uint_t deleted, ngx_http_strangler_etcd_kv_t *out, ngx_pool_t *pool)
{
    size_t     n;
    ngx_str_t  key;

    ngx_memzero(out, sizeof(ngx_http_strangler_etcd_kv_t));

    if (ngx_http_strangler_etcd_unb64(pool, json_object_get(kv, "key"), &key)
        != NGX_OK
        || ngx_http_strangler_etcd_unb64(pool, json_object_get(kv, "value"),
                                         &out->value)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    n = ecf->prefix.len + sizeof(NGX_HTTP_STRANGLER_ETCD_ROUTES) - 1;

    if (key.len <= n
        || ngx_strncmp(key.data, ecf->prefix.data, ecf->prefix.len) != 0)
    {
        return NGX_DECLINED;
    }

    if (ngx_strncmp(key.data + ecf->prefix.len,
                    NGX_HTTP_STRANGLER_ETCD_ROUTES, n - ecf->prefix.len)
        == 0)
    {
        out->name.data = key.data + n;
        out->name.len = key.len - n;

    } else if (ngx_strncmp(key.data + ecf->prefix.len,
                           NGX_HTTP_STRANGLER_ETCD_IGNORE,
                           sizeof(NGX_HTTP_STRANGLER_ETCD_IGNORE) - 1)
               == 0)
    {
        /* "ignore/NAME": its revisions apart from the override's */
        out->ignore = 1;
        out->name.data = key.data + ecf->prefix.len;
        out->name.len = key.len - ecf->prefix.len;

    } else {
        return NGX_DECLINED;
    }

    out->mod_revision = ngx_http_strangler_etcd_int(kv, "mod_revision");
    out->deleted = deleted;

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_etcd_unb64(ngx_pool_t *pool, json_t *v, ngx_str_t *dst)
{
    ngx_str_t  src;

    ngx_str_null(dst);

    if (v == NULL) {
        return NGX_OK;
    }

    if (!json_is_string(v)) {
        return NGX_ERROR;
    }

    src.data = (u_char *) json_string_value(v);
    src.len = json_string_length(v);

    dst->data = ngx_pnalloc(pool, ngx_base64_decoded_length(src.len) + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    return ngx_decode_base64(dst, &src);
}


/*
 * The record a value says for a route of table t (an empty value: no
 * override); NGX_DECLINED with *err when it is not a valid override there.
 */

ngx_int_t
ngx_http_strangler_etcd_record(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_str_t *value,
    ngx_http_strangler_override_rec_t *rec, ngx_pool_t *pool,
    const char **err)
{
    json_t        *root, *v;
    ngx_str_t     *s;
    ngx_int_t      rc;
    const char    *key;
    json_error_t   e;

    ngx_memzero(rec, sizeof(ngx_http_strangler_override_rec_t));
    rec->sample_ppm = -1;

    if (value->len == 0) {
        return NGX_OK;
    }

    if (value->len > NGX_HTTP_STRANGLER_ETCD_VALUE_MAX) {
        *err = "the value is over "
               ngx_value(NGX_HTTP_STRANGLER_ETCD_VALUE_MAX) " bytes";
        return NGX_DECLINED;
    }

    root = json_loadb((char *) value->data, value->len,
                      JSON_REJECT_DUPLICATES, &e);

    if (!json_is_object(root)) {
        json_decref(root);
        *err = "not a JSON object";
        return NGX_DECLINED;
    }

    rc = NGX_OK;

    json_object_foreach(root, key, v) {

        if (ngx_strcmp(key, "reads") == 0) {
            rc = ngx_http_strangler_etcd_backend(t, v, &rec->reads, pool);
            *err = "\"reads\" is not a backend of this table";

        } else if (ngx_strcmp(key, "owner") == 0) {
            rc = ngx_http_strangler_etcd_backend(t, v, &rec->owner, pool);
            *err = "\"owner\" is not a backend of this table";

        } else if (ngx_strcmp(key, "shadow_sample") == 0) {
            *err = "\"shadow_sample\" is not a percentage of a shadow";

            if (json_is_null(v)) {
                continue;
            }

            if (!json_is_number(v) || json_number_value(v) < 0
                || json_number_value(v) > 100 || !route->shadow.enabled)
            {
                rc = NGX_DECLINED;

            } else {
                rec->sample_ppm = strangler_percent_to_ppm(
                                                      json_number_value(v));
            }

        } else if ((ngx_strcmp(key, "by") == 0
                    || ngx_strcmp(key, "via") == 0
                    || ngx_strcmp(key, "reason") == 0)
                   && json_is_string(v))
        {
            *err = (key[0] == 'b')
                   ? "\"by\" is over "
                     ngx_value(NGX_HTTP_STRANGLER_ETCD_BY_MAX) " bytes"
                   : (key[0] == 'v')
                   ? "\"via\" is over "
                     ngx_value(NGX_HTTP_STRANGLER_ETCD_BY_MAX) " bytes"
                   : "\"reason\" is over "
                     ngx_value(NGX_HTTP_STRANGLER_ETCD_BY_MAX) " bytes";

            if (json_string_length(v) > NGX_HTTP_STRANGLER_ETCD_BY_MAX) {
                rc = NGX_DECLINED;
                break;
            }

            s = (key[0] == 'b') ? &rec->by
                                : (key[0] == 'v') ? &rec->via : &rec->reason;

            s->len = json_string_length(v);
            s->data = ngx_pnalloc(pool, s->len + 1);

            if (s->data == NULL) {
                rc = NGX_ERROR;

            } else {
                ngx_memcpy(s->data, json_string_value(v), s->len);
            }

        } else if (ngx_strcmp(key, "at") == 0 && json_is_integer(v)) {
            rec->at = (time_t) json_integer_value(v);

        } else {
            *err = "a field is unknown or of the wrong type";
            rc = NGX_DECLINED;
        }

        if (rc != NGX_OK) {
            break;
        }
    }

    json_decref(root);

    return rc;
}


/* a backend name of table t, or null */

static ngx_int_t
ngx_http_strangler_etcd_backend(ngx_http_strangler_table_t *t, json_t *v,
    ngx_str_t *name, ngx_pool_t *pool)
{
    ngx_str_t  s;

    if (json_is_null(v)) {
        ngx_str_null(name);
        return NGX_OK;
    }

    if (!json_is_string(v)) {
        return NGX_DECLINED;
    }

    s.data = (u_char *) json_string_value(v);
    s.len = json_string_length(v);

    if (strangler_backend_find(t->core, (char *) s.data, s.len) < 0) {
        return NGX_DECLINED;
    }

    name->len = s.len;
    name->data = ngx_pstrdup(pool, &s);

    return name->data ? NGX_OK : NGX_ERROR;
}


/* the value stored for a record: the override's JSON with "at" */

json_t *
ngx_http_strangler_etcd_value(ngx_http_strangler_override_rec_t *rec)
{
    json_t  *j;

    j = ngx_http_strangler_override_json(rec);

    if (j && json_object_set_new(j, "at", json_integer(rec->at)) != 0) {
        json_decref(j);
        return NULL;
    }

    return j;
}
