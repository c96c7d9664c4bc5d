
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * With strangler_etcd, the one way a route's override changes at runtime
 * (the API's PUT, DELETE, rollback and guard re-arm, a guard's trip): a
 * transaction in etcd first, that puts (or deletes) PREFIX routes/NAME
 * only if the key's mod_revision is still the one this host last saw.  A
 * change that lost a race to another host gets the value that won, and
 * nothing changes; etcd unreachable: nothing changes anywhere (but a
 * rollback, which applies here: break-glass).  Once etcd
 * accepted it, the host applies it through the same path as the watch's
 * events (ngx_http_strangler_etcd_apply), then the caller's completion
 * handler goes on (the API's answer: ngx_http_strangler_api_etcd.c).
 */


#include "ngx_http_strangler_etcd.h"


static json_t *ngx_http_strangler_etcd_txn(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_http_strangler_etcd_change_t *ch, int64_t mod);
static void ngx_http_strangler_etcd_written(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_lost_race(
    ngx_http_strangler_etcd_change_t *ch, json_t *answer);


/*
 * Starts the change of the `fields` of `patch` on the route `name` (whose
 * block is `shr`); `done` gets NGX_OK (applied here), NGX_BUSY (lost a
 * race: ch->current), NGX_ERROR (etcd unreachable: nothing changed) or
 * NGX_AGAIN (it reached etcd, which gave no valid answer: the outcome is
 * unknown, and recorded for the watcher to learn).  NULL: nothing
 * started (etcd unreachable, or no memory).  The change lives in `pool`,
 * which must outlive `done`.
 */

ngx_http_strangler_etcd_change_t *
ngx_http_strangler_etcd_change(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_str_t *name, ngx_uint_t fields,
    ngx_http_strangler_override_rec_t *patch, ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_strangler_etcd_changed_pt done, void *data)
{
    json_t                            *body;
    int64_t                            mod;
    ngx_http_strangler_etcd_change_t  *ch;

    ch = ngx_pcalloc(pool, sizeof(ngx_http_strangler_etcd_change_t));
    if (ch == NULL
        || ngx_http_strangler_etcd_read_route(z, shr, name, &ch->old, &mod,
                                              pool)
           == NGX_ERROR)
    {
        return NULL;
    }

    ch->zone = z;
    ch->pool = pool;
    ch->log = log;
    ch->done = done;
    ch->data = data;
    ch->kv.name = *name;
    ch->current = json_null();

    ngx_http_strangler_override_merge(&ch->old, fields, patch, &ch->next);

    if (ngx_http_strangler_etcd_fence_key(z, pool, &ch->fence) != NGX_OK) {
        return NULL;
    }

    body = ngx_http_strangler_etcd_txn(z->smcf->etcd, ch, mod);
    if (body == NULL) {
        return NULL;
    }

    if (ngx_http_strangler_etcd_call(z->smcf->etcd, "/v3/kv/txn", body,
                                     ngx_http_strangler_etcd_written, NULL,
                                     ch, log)
        == NULL)
    {
        return NULL;
    }

    return ch;
}


/*
 * The same for a route's runtime ignore rules (a JSON list, as the API
 * checked it): PREFIX ignore/NAME, deleted when the list is empty.
 */

ngx_http_strangler_etcd_change_t *
ngx_http_strangler_etcd_change_ignore(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *name, json_t *rules, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_strangler_etcd_changed_pt done, void *data)
{
    json_t                            *body;
    int64_t                            mod;
    ngx_str_t                          key;
    ngx_http_strangler_etcd_change_t  *ch;

    ch = ngx_pcalloc(pool, sizeof(ngx_http_strangler_etcd_change_t));

    key.len = sizeof(NGX_HTTP_STRANGLER_ETCD_IGNORE) - 1 + name->len;
    key.data = ngx_pnalloc(pool, key.len);

    if (ch == NULL || key.data == NULL) {
        return NULL;
    }

    ngx_memcpy(ngx_cpymem(key.data, NGX_HTTP_STRANGLER_ETCD_IGNORE,
                          sizeof(NGX_HTTP_STRANGLER_ETCD_IGNORE) - 1),
               name->data, name->len);

    ch->zone = z;
    ch->pool = pool;
    ch->log = log;
    ch->done = done;
    ch->data = data;
    ch->kv.name = key;
    ch->kv.ignore = 1;
    ch->rules = rules;
    ch->current = json_null();

    mod = ngx_http_strangler_etcd_key_mod(z, &key);

    if (ngx_http_strangler_etcd_fence_key(z, pool, &ch->fence) != NGX_OK) {
        return NULL;
    }

    /* the value is in ch->kv once the transaction is made */
    body = ngx_http_strangler_etcd_txn(z->smcf->etcd, ch, mod);
    ch->rules = NULL;

    if (body == NULL) {
        return NULL;
    }

    if (ngx_http_strangler_etcd_call(z->smcf->etcd, "/v3/kv/txn", body,
                                     ngx_http_strangler_etcd_written, NULL,
                                     ch, log)
        == NULL)
    {
        return NULL;
    }

    return ch;
}


/*
 * Put the next record (or delete the key) if its mod_revision is `mod`
 * and the change's fence key does not exist: a transaction that reached
 * etcd without an answer is fenced off (_etcd_fence.c), so that it cannot
 * apply once the host has said it did not.
 */

static json_t *
ngx_http_strangler_etcd_txn(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_http_strangler_etcd_change_t *ch, int64_t mod)
{
    char       *text;
    json_t     *value, *op;
    u_char     *p;
    ngx_str_t   key, k64, v64, fence, f64;

    ch->base = mod;

    fence.len = ecf->prefix.len + ch->fence.len;
    fence.data = ngx_pnalloc(ch->pool, fence.len);
    if (fence.data == NULL) {
        return NULL;
    }

    ngx_memcpy(ngx_cpymem(fence.data, ecf->prefix.data, ecf->prefix.len),
               ch->fence.data, ch->fence.len);

    if (ngx_http_strangler_etcd_b64(ch->pool, &f64, fence.data, fence.len)
        != NGX_OK)
    {
        return NULL;
    }

    /* an ignore change's name is "ignore/NAME" already */
    key.len = ecf->prefix.len + ch->kv.name.len
              + (ch->kv.ignore ? 0
                               : sizeof(NGX_HTTP_STRANGLER_ETCD_ROUTES) - 1);
    key.data = ngx_pnalloc(ch->pool, key.len);
    if (key.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(key.data, ecf->prefix.data, ecf->prefix.len);

    if (!ch->kv.ignore) {
        p = ngx_cpymem(p, NGX_HTTP_STRANGLER_ETCD_ROUTES,
                       sizeof(NGX_HTTP_STRANGLER_ETCD_ROUTES) - 1);
    }

    ngx_memcpy(p, ch->kv.name.data, ch->kv.name.len);

    if (ngx_http_strangler_etcd_b64(ch->pool, &k64, key.data, key.len)
        != NGX_OK)
    {
        return NULL;
    }

    if (ch->kv.ignore ? json_array_size(ch->rules) == 0
                      : (ch->next.reads.len == 0 && ch->next.owner.len == 0
                         && ch->next.sample_ppm < 0))
    {
        ch->kv.deleted = 1;
        op = json_pack("{s:{s:o}}", "request_delete_range",
                       "key", ngx_http_strangler_etcd_json_b64(&k64));

    } else {
        value = ch->kv.ignore ? json_incref(ch->rules)
                              : ngx_http_strangler_etcd_value(&ch->next);
        text = value ? json_dumps(value, JSON_COMPACT) : NULL;
        json_decref(value);

        if (text == NULL) {
            return NULL;
        }

        ch->kv.value.len = ngx_strlen(text);
        ch->kv.value.data = ngx_pnalloc(ch->pool, ch->kv.value.len);

        if (ch->kv.value.data) {
            ngx_memcpy(ch->kv.value.data, text, ch->kv.value.len);
        }

        free(text);

        if (ch->kv.value.data == NULL
            || ngx_http_strangler_etcd_b64(ch->pool, &v64, ch->kv.value.data,
                                           ch->kv.value.len)
               != NGX_OK)
        {
            return NULL;
        }

        op = json_pack("{s:{s:o, s:o}}", "request_put",
                       "key", ngx_http_strangler_etcd_json_b64(&k64),
                       "value", ngx_http_strangler_etcd_json_b64(&v64));
    }

    return json_pack("{s:[{s:o, s:s, s:I}, {s:o, s:s, s:i}], s:[o],"
                     " s:[{s:{s:o}}]}",
                     "compare",
                       "key", ngx_http_strangler_etcd_json_b64(&k64),
                       "target", "MOD",
                       "mod_revision", (json_int_t) mod,
                       "key", ngx_http_strangler_etcd_json_b64(&f64),
                       "target", "VERSION",
                       "version", 0,
                     "success", op,
                     "failure",
                       "request_range",
                         "key", ngx_http_strangler_etcd_json_b64(&k64));
}


static void
ngx_http_strangler_etcd_written(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_change_t  *ch;

    ch = ngx_http_strangler_etcd_call_data(call);

    if (rc != NGX_OK || !ngx_http_strangler_etcd_is_answer(answer,
                                                           "responses"))
    {
        /*
         * Not etcd's answer, or none: if the transaction reached etcd,
         * it may apply or not; the watcher learns which
         */
        rc = NGX_ERROR;

        if (ngx_http_strangler_etcd_call_is_sent(call)) {
            ngx_http_strangler_etcd_fence_record(ch);
            rc = NGX_AGAIN;
        }

    } else if (!json_is_true(json_object_get(answer, "succeeded"))) {
        ngx_http_strangler_etcd_lost_race(ch, answer);
        rc = NGX_BUSY;

    } else if (rc == NGX_OK) {
        ch->kv.revision = ngx_http_strangler_etcd_revision(answer);
        ch->kv.mod_revision = ch->kv.revision;

        if (ngx_http_strangler_etcd_apply(ch->zone->smcf->etcd, &ch->kv, 0,
                                          ch->pool, ch->log)
            == NGX_ERROR)
        {
            rc = NGX_ABORT;
        }
    }

    ch->done(ch, rc);
}


/* the value that won, as etcd holds it now */

static void
ngx_http_strangler_etcd_lost_race(ngx_http_strangler_etcd_change_t *ch,
    json_t *answer)
{
    json_t                        *kv, *current;
    ngx_http_strangler_etcd_kv_t   now;

    kv = json_array_get(json_object_get(json_object_get(
                            json_array_get(json_object_get(answer,
                                                           "responses"), 0),
                            "response_range"), "kvs"), 0);

    if (kv == NULL
        || ngx_http_strangler_etcd_kv(ch->zone->smcf->etcd, kv, 0, &now,
                                      ch->pool)
           != NGX_OK)
    {
        return;
    }

    current = json_loadb((char *) now.value.data, now.value.len, 0, NULL);

    if (current == NULL) {
        current = json_stringn((char *) now.value.data, now.value.len);
    }

    ch->current = current;
    ch->current_mod = now.mod_revision;
}
