
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Changes whose outcome is unknown.  A change's transaction may reach etcd
 * and get no answer (etcd stands still, the connection breaks after the
 * request went out): etcd may still apply it, later.  The host does not
 * claim what it does not know: the API answers that the outcome is
 * unknown, and the change is recorded in the zone.
 *
 * Every change's transaction also asks that its own fence key,
 * PREFIX fence/HOST-BOOT-SEQ, does not exist.  The watching worker learns
 * each unknown outcome with a second transaction: if the route's key is
 * still at the revision the change was based on, it puts the fence key,
 * so the change can never apply from then on ("not applied"); otherwise
 * the key's value says whether the change is the one in force
 * ("applied") or another change came after it ("overtaken": in force is
 * another change, whichever happened to this one).  The fence
 * transaction is repeated until etcd answers it; it is idempotent.
 */


#include "ngx_http_strangler_etcd.h"


#define NGX_HTTP_STRANGLER_FENCE_RETRY   1000   /* ms */


enum {
    NGX_HTTP_STRANGLER_OUTCOME_FREE = 0,
    NGX_HTTP_STRANGLER_OUTCOME_UNKNOWN,
    NGX_HTTP_STRANGLER_OUTCOME_APPLIED,
    NGX_HTTP_STRANGLER_OUTCOME_NOT_APPLIED,
    NGX_HTTP_STRANGLER_OUTCOME_OVERTAKEN,
    NGX_HTTP_STRANGLER_OUTCOME_COUNT
};


static const char  *ngx_http_strangler_etcd_outcome_names[
                                        NGX_HTTP_STRANGLER_OUTCOME_COUNT] =
{
    "free", "unknown", "applied", "not applied", "overtaken"
};


static json_t *ngx_http_strangler_etcd_fence_txn(
    ngx_http_strangler_etcd_conf_t *ecf, ngx_pool_t *pool,
    ngx_http_strangler_etcd_outcome_t *o);
static void ngx_http_strangler_etcd_fenced(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer);
static ngx_uint_t ngx_http_strangler_etcd_fence_learn(
    ngx_http_strangler_etcd_conf_t *ecf, json_t *answer,
    ngx_http_strangler_etcd_outcome_t *o, ngx_pool_t *pool);
static json_t *ngx_http_strangler_etcd_fence_kvs(json_t *answer,
    size_t i);


/* per worker: the watcher's one fence transaction in flight */
static ngx_http_strangler_etcd_call_t      *ngx_http_strangler_fence_call;
static ngx_http_strangler_etcd_outcome_t    ngx_http_strangler_fencing;
static ngx_http_strangler_etcd_conf_t      *ngx_http_strangler_fence_ecf;
static ngx_msec_t                           ngx_http_strangler_fence_next;


/* "fence/HOST-BOOT-SEQ": one for every change, unique in the fleet */

ngx_int_t
ngx_http_strangler_etcd_fence_key(ngx_http_strangler_zone_ctx_t *z,
    ngx_pool_t *pool, ngx_str_t *fence)
{
    ngx_atomic_uint_t              seq;
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = z->sh->etcd;
    seq = ngx_atomic_fetch_add(&sh->fence_seq, 1);

    fence->data = ngx_pnalloc(pool, sizeof(NGX_HTTP_STRANGLER_ETCD_FENCE)
                                    + ngx_cycle->hostname.len
                                    + 2 * NGX_INT64_LEN + 2);
    if (fence->data == NULL) {
        return NGX_ERROR;
    }

    fence->len = ngx_sprintf(fence->data,
                             NGX_HTTP_STRANGLER_ETCD_FENCE "%V-%uL-%uA",
                             &ngx_cycle->hostname, sh->boot, seq)
                 - fence->data;

    return NGX_OK;
}


/* the change's transaction got no valid answer: its outcome is unknown */

void
ngx_http_strangler_etcd_fence_record(ngx_http_strangler_etcd_change_t *ch)
{
    size_t                              klen;
    ngx_uint_t                          i, n;
    ngx_http_strangler_etcd_sh_t       *sh;
    ngx_http_strangler_zone_ctx_t      *z;
    ngx_http_strangler_etcd_outcome_t  *o;

    z = ch->zone;
    sh = z->sh->etcd;

    klen = ch->kv.name.len
           + (ch->kv.ignore ? 0 : sizeof(NGX_HTTP_STRANGLER_ETCD_ROUTES) - 1);

    if (klen > NGX_HTTP_STRANGLER_ETCD_KEY_MAX
        || ch->fence.len > NGX_HTTP_STRANGLER_ETCD_KEY_MAX)
    {
        ngx_log_error(NGX_LOG_ERR, ch->log, 0,
                      "strangler: the outcome of the change of \"%V\" "
                      "cannot be learnt: its key is too long", &ch->kv.name);
        return;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    /* a free or learnt slot first; else the oldest */

    n = NGX_HTTP_STRANGLER_ETCD_OUTCOMES;
    o = NULL;

    for (i = 0; i < n; i++) {
        o = &sh->outcome[(sh->next + i) % n];

        if (o->state != NGX_HTTP_STRANGLER_OUTCOME_UNKNOWN) {
            break;
        }
    }

    sh->next = (sh->next + i + 1) % n;

    o->state = NGX_HTTP_STRANGLER_OUTCOME_UNKNOWN;
    o->key_len = klen;

    if (ch->kv.ignore) {
        ngx_memcpy(o->key, ch->kv.name.data, klen);

    } else {
        ngx_memcpy(ngx_cpymem(o->key, NGX_HTTP_STRANGLER_ETCD_ROUTES,
                              sizeof(NGX_HTTP_STRANGLER_ETCD_ROUTES) - 1),
                   ch->kv.name.data, ch->kv.name.len);
    }

    o->fence_len = ch->fence.len;
    ngx_memcpy(o->fence, ch->fence.data, ch->fence.len);
    o->base = ch->base;
    o->deleted = ch->kv.deleted;
    o->value_len = ch->kv.value.len;
    o->crc = ngx_crc32_long(ch->kv.value.data, ch->kv.value.len);
    o->at = ngx_time();
    o->revision = 0;

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/*
 * The watcher's tick: one fence transaction at a time, for the oldest
 * unknown outcome, and again a second after one that got no answer.
 */

void
ngx_http_strangler_etcd_fence_tick(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_log_t *log)
{
    json_t                             *body;
    ngx_uint_t                          i;
    ngx_pool_t                         *pool;
    ngx_http_strangler_etcd_sh_t       *sh;
    ngx_http_strangler_zone_ctx_t      *z;
    ngx_http_strangler_etcd_outcome_t  *o;

    if (ngx_http_strangler_fence_call
        || (ngx_msec_int_t) (ngx_current_msec - ngx_http_strangler_fence_next)
           < 0)
    {
        return;
    }

    z = ecf->zone;
    sh = z->sh->etcd;
    o = NULL;

    ngx_shmtx_lock(&z->shpool->mutex);

    for (i = 0; i < NGX_HTTP_STRANGLER_ETCD_OUTCOMES; i++) {
        if (sh->outcome[i].state == NGX_HTTP_STRANGLER_OUTCOME_UNKNOWN) {
            o = &ngx_http_strangler_fencing;
            *o = sh->outcome[i];
            break;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (o == NULL) {
        return;
    }

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return;
    }

    body = ngx_http_strangler_etcd_fence_txn(ecf, pool, o);
    ngx_destroy_pool(pool);

    ngx_http_strangler_fence_ecf = ecf;
    ngx_http_strangler_fence_next = ngx_current_msec
                                    + NGX_HTTP_STRANGLER_FENCE_RETRY;

    if (body == NULL) {
        return;
    }

    ngx_http_strangler_fence_call = ngx_http_strangler_etcd_call(ecf,
                                        "/v3/kv/txn", body,
                                        ngx_http_strangler_etcd_fenced, NULL,
                                        o, log);
}


/* the worker lets go of the watch */

void
ngx_http_strangler_etcd_fence_stop(void)
{
    if (ngx_http_strangler_fence_call) {
        ngx_http_strangler_etcd_call_abort(ngx_http_strangler_fence_call);
        ngx_http_strangler_fence_call = NULL;
    }
}


/*
 * If the route's key is at the change's base revision and its fence does
 * not exist: put the fence.  Else: read both.
 */

static json_t *
ngx_http_strangler_etcd_fence_txn(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_pool_t *pool, ngx_http_strangler_etcd_outcome_t *o)
{
    u_char     *p;
    ngx_str_t   key, fence, k64, f64, v64;

    key.len = ecf->prefix.len + o->key_len;
    fence.len = ecf->prefix.len + o->fence_len;
    key.data = ngx_pnalloc(pool, key.len);
    fence.data = ngx_pnalloc(pool, fence.len);

    if (key.data == NULL || fence.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(key.data, ecf->prefix.data, ecf->prefix.len);
    ngx_memcpy(p, o->key, o->key_len);
    p = ngx_cpymem(fence.data, ecf->prefix.data, ecf->prefix.len);
    ngx_memcpy(p, o->fence, o->fence_len);

    if (ngx_http_strangler_etcd_b64(pool, &k64, key.data, key.len) != NGX_OK
        || ngx_http_strangler_etcd_b64(pool, &f64, fence.data, fence.len)
           != NGX_OK
        || ngx_http_strangler_etcd_b64(pool, &v64, (u_char *) "fenced", 6)
           != NGX_OK)
    {
        return NULL;
    }

    return json_pack("{s:[{s:o, s:s, s:I}, {s:o, s:s, s:i}],"
                     " s:[{s:{s:o, s:o}}],"
                     " s:[{s:{s:o}}, {s:{s:o}}]}",
                     "compare",
                       "key", ngx_http_strangler_etcd_json_b64(&k64),
                       "target", "MOD",
                       "mod_revision", (json_int_t) o->base,
                       "key", ngx_http_strangler_etcd_json_b64(&f64),
                       "target", "VERSION",
                       "version", 0,
                     "success",
                       "request_put",
                         "key", ngx_http_strangler_etcd_json_b64(&f64),
                         "value", ngx_http_strangler_etcd_json_b64(&v64),
                     "failure",
                       "request_range",
                         "key", ngx_http_strangler_etcd_json_b64(&k64),
                       "request_range",
                         "key", ngx_http_strangler_etcd_json_b64(&f64));
}


static void
ngx_http_strangler_etcd_fenced(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_uint_t                          i, state;
    ngx_pool_t                         *pool;
    ngx_http_strangler_etcd_sh_t       *sh;
    ngx_http_strangler_zone_ctx_t      *z;
    ngx_http_strangler_etcd_conf_t     *ecf;
    ngx_http_strangler_etcd_outcome_t  *o, *slot;

    ngx_http_strangler_fence_call = NULL;

    o = ngx_http_strangler_etcd_call_data(call);
    ecf = ngx_http_strangler_fence_ecf;
    z = ecf->zone;
    sh = z->sh->etcd;

    if (rc != NGX_OK || !ngx_http_strangler_etcd_is_answer(answer,
                                                           "responses"))
    {
        /* no answer again: the next try is a second away */
        return;
    }

    o->revision = ngx_http_strangler_etcd_revision(answer);

    if (json_is_true(json_object_get(answer, "succeeded"))) {
        state = NGX_HTTP_STRANGLER_OUTCOME_NOT_APPLIED;

    } else {
        pool = ngx_create_pool(1024, ngx_cycle->log);
        if (pool == NULL) {
            return;
        }

        state = ngx_http_strangler_etcd_fence_learn(ecf, answer, o, pool);
        ngx_destroy_pool(pool);
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    for (i = 0; i < NGX_HTTP_STRANGLER_ETCD_OUTCOMES; i++) {
        slot = &sh->outcome[i];

        if (slot->state == NGX_HTTP_STRANGLER_OUTCOME_UNKNOWN
            && slot->fence_len == o->fence_len
            && ngx_memcmp(slot->fence, o->fence, o->fence_len) == 0)
        {
            slot->state = state;
            slot->revision = o->revision;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "strangler: the change of \"%*s\" whose outcome was "
                  "unknown: %s (etcd revision %L)%s", o->key_len, o->key,
                  ngx_http_strangler_etcd_outcome_names[state], o->revision,
                  state == NGX_HTTP_STRANGLER_OUTCOME_NOT_APPLIED
                  ? ", and it cannot apply now" : "");

    ngx_http_strangler_fence_next = ngx_current_msec;
}


/* the route's key moved on, or the fence is there already */

static ngx_uint_t
ngx_http_strangler_etcd_fence_learn(ngx_http_strangler_etcd_conf_t *ecf,
    json_t *answer, ngx_http_strangler_etcd_outcome_t *o, ngx_pool_t *pool)
{
    json_t                        *kv;
    ngx_http_strangler_etcd_kv_t   now;

    if (json_array_size(ngx_http_strangler_etcd_fence_kvs(answer, 1))) {
        /* an earlier try that got no answer put it */
        return NGX_HTTP_STRANGLER_OUTCOME_NOT_APPLIED;
    }

    kv = json_array_get(ngx_http_strangler_etcd_fence_kvs(answer, 0), 0);

    if (kv == NULL) {
        return o->deleted ? NGX_HTTP_STRANGLER_OUTCOME_APPLIED
                          : NGX_HTTP_STRANGLER_OUTCOME_OVERTAKEN;
    }

    if (o->deleted
        || ngx_http_strangler_etcd_kv(ecf, kv, 0, &now, pool) != NGX_OK
        || now.value.len != o->value_len
        || ngx_crc32_long(now.value.data, now.value.len) != o->crc)
    {
        return NGX_HTTP_STRANGLER_OUTCOME_OVERTAKEN;
    }

    o->revision = now.mod_revision;

    return NGX_HTTP_STRANGLER_OUTCOME_APPLIED;
}


static json_t *
ngx_http_strangler_etcd_fence_kvs(json_t *answer, size_t i)
{
    return json_object_get(json_object_get(json_array_get(
                               json_object_get(answer, "responses"), i),
                               "response_range"), "kvs");
}


/* the changes whose outcome was unknown, for the status's fleet object */

json_t *
ngx_http_strangler_etcd_fence_status(ngx_http_strangler_etcd_conf_t *ecf)
{
    json_t                             *list, *j;
    ngx_uint_t                          i;
    ngx_http_strangler_zone_ctx_t      *z;
    ngx_http_strangler_etcd_outcome_t  *o, copy;

    z = ecf->zone;
    list = json_array();

    for (i = 0; list && i < NGX_HTTP_STRANGLER_ETCD_OUTCOMES; i++) {
        ngx_shmtx_lock(&z->shpool->mutex);
        copy = z->sh->etcd->outcome[i];
        ngx_shmtx_unlock(&z->shpool->mutex);

        o = &copy;

        if (o->state == NGX_HTTP_STRANGLER_OUTCOME_FREE
            || o->state >= NGX_HTTP_STRANGLER_OUTCOME_COUNT)
        {
            continue;
        }

        j = json_pack("{s:s%, s:s, s:I, s:o}",
                      "key", o->key, o->key_len,
                      "outcome",
                        ngx_http_strangler_etcd_outcome_names[o->state],
                      "at", (json_int_t) o->at,
                      "revision", o->revision ? json_integer(o->revision)
                                              : json_null());

        if (j == NULL || json_array_append_new(list, j) != 0) {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}
