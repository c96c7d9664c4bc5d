
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A handoff of a route's writes across the fleet.  The host whose API
 * moves the owner writes PREFIX handoffs/NAME ({"id", "from", "to",
 * "deadline"}, only if no handoff of the route is under way); every
 * host's watcher, seeing it (in an event, or in a full read: a host that
 * joins during a handoff), holds the route's writes (the single-host hold,
 * _handoff.c) and, once its own writes in flight at the old owner are
 * zero, puts PREFIX acks/NAME/HOST = id.  The initiator waits for an ack
 * of every member (PREFIX hosts/: alive or silent), then commits in one
 * transaction, if the handoff key is still the one it wrote: the route's
 * override, the handoff key and the acks deleted.  Every watcher applies
 * the override, then sees the handoff key go and releases the held writes,
 * to the new owner.  Past the deadline, the initiator (or any watcher, a
 * second later) deletes the handoff key the same way: aborted everywhere,
 * the writes go to the owner committed.  A watcher that loses etcd
 * releases its held writes at once, to the owner it last knew committed.
 */


#include "ngx_http_strangler_etcd.h"
#include "ngx_http_strangler_handoff.h"


#define NGX_HTTP_STRANGLER_FHO_MAX      16      /* held at once, a host */
#define NGX_HTTP_STRANGLER_FHO_TICK     5       /* ms */
#define NGX_HTTP_STRANGLER_FHO_GRACE    1000    /* ms past the deadline */
#define NGX_HTTP_STRANGLER_FHO_ID_MAX   128


/* a route held by this host's watcher for a fleet handoff */
typedef struct {
    u_char                              name[NGX_HTTP_STRANGLER_ETCD_KEY_MAX];
    size_t                              name_len;
    u_char                              id[NGX_HTTP_STRANGLER_FHO_ID_MAX];
    size_t                              id_len;
    uint64_t                            deadline;   /* unix ms */
    int64_t                             mod;        /* of its key */
    ngx_http_strangler_zone_ctx_t      *zone;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_sh_handoff_t    *sh;
    ngx_uint_t                          serial;
    ngx_str_t                           to;         /* sh->to->name */
    ngx_msec_t                          since;
    ngx_http_strangler_etcd_call_t     *call;
    ngx_uint_t                          used;
    ngx_uint_t                          own;        /* began it */
    ngx_uint_t                          acked;
    ngx_uint_t                          aborting;
    ngx_uint_t                          seen;       /* by a full read */
    ngx_uint_t                          polls;
} ngx_http_strangler_fho_t;


/* the initiator's side */
struct ngx_http_strangler_etcd_fleet_handoff_s {
    ngx_http_strangler_etcd_conf_t     *ecf;
    ngx_pool_t                         *pool;
    ngx_log_t                          *log;
    ngx_str_t                           name;
    ngx_str_t                           id;
    ngx_str_t                           key;        /* base64 */
    ngx_str_t                           acks;       /* base64 range */
    ngx_str_t                           acks_end;   /* base64 */
    int64_t                             mod;        /* of the key */
    ngx_http_strangler_etcd_fh_pt       done;
    void                               *data;
    json_t                             *waiting;    /* hosts, no ack */
    ngx_http_strangler_etcd_call_t     *call;       /* in flight */
};


static ngx_int_t ngx_http_strangler_etcd_fh_keys(
    ngx_http_strangler_etcd_fleet_handoff_t *fh);
static void ngx_http_strangler_etcd_fh_begun(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_fh_polled(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_fh_aborted(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static ngx_int_t ngx_http_strangler_etcd_key_b64(ngx_pool_t *pool,
    ngx_str_t *prefix, const char *dir, ngx_str_t *name, const char *tail,
    ngx_str_t *k64, ngx_str_t *raw);
static void ngx_http_strangler_fho_hold(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_str_t *name, json_t *value, int64_t mod, ngx_log_t *log);
static void ngx_http_strangler_fho_end(ngx_http_strangler_fho_t *h,
    ngx_log_t *log);
static void ngx_http_strangler_fho_tick(ngx_event_t *ev);
static void ngx_http_strangler_fho_acked(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_fho_abort(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_http_strangler_fho_t *h, ngx_log_t *log);


/* per worker: the watcher's holds, and its tick while it has one */
static ngx_http_strangler_fho_t   ngx_http_strangler_fhos[
                                      NGX_HTTP_STRANGLER_FHO_MAX];
static ngx_event_t                 ngx_http_strangler_fho_ev;
static ngx_http_strangler_etcd_conf_t  *ngx_http_strangler_fho_ecf;


static uint64_t
ngx_http_strangler_fho_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}


/* PREFIX DIR NAME TAIL, base64; raw: the key itself if wanted */

static ngx_int_t
ngx_http_strangler_etcd_key_b64(ngx_pool_t *pool, ngx_str_t *prefix,
    const char *dir, ngx_str_t *name, const char *tail, ngx_str_t *k64,
    ngx_str_t *raw)
{
    u_char     *p;
    size_t      dlen, tlen;
    ngx_str_t   key;

    dlen = ngx_strlen(dir);
    tlen = ngx_strlen(tail);

    key.len = prefix->len + dlen + name->len + tlen;
    key.data = ngx_pnalloc(pool, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key.data, prefix->data, prefix->len);
    p = ngx_cpymem(p, dir, dlen);
    p = ngx_cpymem(p, name->data, name->len);
    ngx_memcpy(p, tail, tlen);

    if (raw) {
        *raw = key;
    }

    return ngx_http_strangler_etcd_b64(pool, k64, key.data, key.len);
}


/* -- the initiator -------------------------------------------------------- */


static ngx_int_t
ngx_http_strangler_etcd_fh_keys(ngx_http_strangler_etcd_fleet_handoff_t *fh)
{
    ngx_str_t  raw;

    if (ngx_http_strangler_etcd_key_b64(fh->pool, &fh->ecf->prefix,
                                        NGX_HTTP_STRANGLER_ETCD_HANDOFFS,
                                        &fh->name, "", &fh->key, NULL)
        != NGX_OK
        || ngx_http_strangler_etcd_key_b64(fh->pool, &fh->ecf->prefix,
                                           NGX_HTTP_STRANGLER_ETCD_ACKS,
                                           &fh->name, "/", &fh->acks, &raw)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the acks' range: [".../NAME/", ".../NAME0") */
    raw.data[raw.len - 1]++;

    return ngx_http_strangler_etcd_b64(fh->pool, &fh->acks_end, raw.data,
                                       raw.len);
}


/*
 * Writes the handoff, if the route has none under way.  done: NGX_OK,
 * NGX_BUSY (another is under way), NGX_ERROR (etcd unreachable).
 */

ngx_http_strangler_etcd_fleet_handoff_t *
ngx_http_strangler_etcd_handoff_begin(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_str_t *name, ngx_str_t *from, ngx_str_t *to, ngx_msec_t drain,
    ngx_pool_t *pool, ngx_log_t *log, ngx_http_strangler_etcd_fh_pt done,
    void *data)
{
    char                                     *text;
    json_t                                   *value, *body;
    ngx_str_t                                 v64, raw;
    ngx_http_strangler_etcd_sh_t             *sh;
    ngx_http_strangler_etcd_fleet_handoff_t  *fh;

    fh = ngx_pcalloc(pool, sizeof(ngx_http_strangler_etcd_fleet_handoff_t));
    if (fh == NULL) {
        return NULL;
    }

    sh = ecf->zone->sh->etcd;

    fh->ecf = ecf;
    fh->pool = pool;
    fh->log = log;
    fh->name = *name;
    fh->done = done;
    fh->data = data;

    fh->id.data = ngx_pnalloc(pool, ecf->host_name.len + 2 * NGX_INT64_LEN
                                    + 2);
    if (fh->id.data == NULL) {
        return NULL;
    }

    fh->id.len = ngx_sprintf(fh->id.data, "%V-%uL-%uA", &ecf->host_name,
                             sh->boot, ngx_atomic_fetch_add(&sh->fence_seq,
                                                            1))
                 - fh->id.data;

    if (ngx_http_strangler_etcd_fh_keys(fh) != NGX_OK) {
        return NULL;
    }

    value = json_pack("{s:s%, s:s%, s:s%, s:s%, s:I, s:s%}",
                      "id", fh->id.data, fh->id.len,
                      "route", name->data, name->len,
                      "from", from->data, from->len,
                      "to", to->data, to->len,
                      "deadline",
                        (json_int_t) (ngx_http_strangler_fho_now() + drain),
                      "by", ecf->host_name.data, ecf->host_name.len);

    text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);

    if (text == NULL) {
        return NULL;
    }

    raw.data = (u_char *) text;
    raw.len = ngx_strlen(text);

    if (ngx_http_strangler_etcd_b64(pool, &v64, raw.data, raw.len)
        != NGX_OK)
    {
        free(text);
        return NULL;
    }

    free(text);

    body = json_pack("{s:[{s:s%, s:s, s:s, s:i}],"
                     " s:[{s:{s:s%, s:s%}}, {s:{s:s%, s:s%}}]}",
                     "compare",
                       "key", fh->key.data, fh->key.len,
                       "target", "VERSION", "result", "EQUAL",
                       "version", 0,
                     "success",
                       "request_delete_range",
                         "key", fh->acks.data, fh->acks.len,
                         "range_end", fh->acks_end.data, fh->acks_end.len,
                       "request_put",
                         "key", fh->key.data, fh->key.len,
                         "value", v64.data, v64.len);

    fh->call = ngx_http_strangler_etcd_call(ecf, "/v3/kv/txn", body,
                                            ngx_http_strangler_etcd_fh_begun,
                                            NULL, fh, log);

    return fh->call ? fh : NULL;
}


static void
ngx_http_strangler_etcd_fh_begun(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_fleet_handoff_t  *fh;

    fh = ngx_http_strangler_etcd_call_data(call);
    fh->call = NULL;

    if (rc != NGX_OK
        || !ngx_http_strangler_etcd_is_answer(answer, "responses"))
    {
        /* unanswered: it may be there; the deadline ends it everywhere */
        fh->done(fh, NGX_ERROR);
        return;
    }

    if (!json_is_true(json_object_get(answer, "succeeded"))) {
        fh->done(fh, NGX_BUSY);
        return;
    }

    fh->mod = ngx_http_strangler_etcd_revision(answer);

    ngx_log_error(NGX_LOG_NOTICE, fh->log, 0,
                  "strangler: route \"%V\": fleet handoff %V written to "
                  "etcd at revision %L: every member holds its writes",
                  &fh->name, &fh->id, fh->mod);

    fh->done(fh, NGX_OK);
}


/*
 * Whether every member acknowledged: done gets NGX_OK (all did),
 * NGX_AGAIN (not yet: ..._waiting() names them), NGX_DECLINED (the
 * handoff is gone: aborted), NGX_ERROR (etcd unreachable).
 */

ngx_int_t
ngx_http_strangler_etcd_handoff_poll(
    ngx_http_strangler_etcd_fleet_handoff_t *fh)
{
    json_t  *body;

    body = json_pack("{s:s%, s:s%}",
                     "key", fh->ecf->range_key.data, fh->ecf->range_key.len,
                     "range_end", fh->ecf->range_end.data,
                     fh->ecf->range_end.len);

    fh->call = ngx_http_strangler_etcd_call(fh->ecf, "/v3/kv/range", body,
                                            ngx_http_strangler_etcd_fh_polled,
                                            NULL, fh, fh->log);

    return fh->call ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_strangler_etcd_fh_polled(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    u_char                                   *p, *last;
    size_t                                    i, plen, hl, al;
    json_t                                   *kvs, *kv, *acked, *alive, *v;
    ngx_str_t                                 key, raw, val;
    ngx_uint_t                                present;
    const char                               *host;
    ngx_http_strangler_etcd_fleet_handoff_t  *fh;

    fh = ngx_http_strangler_etcd_call_data(call);
    fh->call = NULL;

    if (rc != NGX_OK || !ngx_http_strangler_etcd_is_answer(answer, "kvs")) {
        fh->done(fh, NGX_ERROR);
        return;
    }

    kvs = json_object_get(answer, "kvs");
    acked = json_object();
    alive = json_object();
    json_decref(fh->waiting);
    fh->waiting = json_array();
    present = 0;

    if (acked == NULL || alive == NULL || fh->waiting == NULL) {
        json_decref(acked);
        json_decref(alive);
        fh->done(fh, NGX_ERROR);
        return;
    }

    plen = fh->ecf->prefix.len;
    hl = sizeof(NGX_HTTP_STRANGLER_ETCD_HOSTS) - 1;
    al = sizeof(NGX_HTTP_STRANGLER_ETCD_ACKS) - 1;

    /* first the acks, then the members */

    for (i = 0; i < json_array_size(kvs); i++) {
        kv = json_array_get(kvs, i);
        v = json_object_get(kv, "key");
        raw.data = (u_char *) json_string_value(v);

        if (raw.data == NULL) {
            continue;
        }

        raw.len = json_string_length(v);
        key.data = ngx_pnalloc(fh->pool, ngx_base64_decoded_length(raw.len)
                                         + 1);

        if (key.data == NULL || ngx_decode_base64(&key, &raw) != NGX_OK
            || key.len <= plen)
        {
            continue;
        }

        key.data[key.len] = '\0';
        p = key.data + plen;
        last = key.data + key.len;

        if ((size_t) (last - p) == sizeof(NGX_HTTP_STRANGLER_ETCD_HANDOFFS)
                                   - 1 + fh->name.len
            && ngx_strncmp(p, NGX_HTTP_STRANGLER_ETCD_HANDOFFS,
                           sizeof(NGX_HTTP_STRANGLER_ETCD_HANDOFFS) - 1)
               == 0
            && ngx_strncmp(p + sizeof(NGX_HTTP_STRANGLER_ETCD_HANDOFFS) - 1,
                           fh->name.data, fh->name.len)
               == 0
            && ngx_http_strangler_etcd_int(kv, "mod_revision") == fh->mod)
        {
            present = 1;
            continue;
        }

        if ((size_t) (last - p) > sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE) - 1
            && ngx_strncmp(p, NGX_HTTP_STRANGLER_ETCD_ALIVE,
                           sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE) - 1)
               == 0)
        {
            (void) json_object_set_new(alive, (char *) p
                                   + sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE)
                                   - 1, json_true());
            continue;
        }

        if ((size_t) (last - p) > al + fh->name.len + 1
            && ngx_strncmp(p, NGX_HTTP_STRANGLER_ETCD_ACKS, al) == 0
            && ngx_strncmp(p + al, fh->name.data, fh->name.len) == 0
            && p[al + fh->name.len] == '/')
        {
            v = json_object_get(kv, "value");
            raw.data = (u_char *) json_string_value(v);
            raw.len = raw.data ? json_string_length(v) : 0;
            val.data = ngx_pnalloc(fh->pool,
                                   ngx_base64_decoded_length(raw.len) + 1);

            if (val.data && ngx_decode_base64(&val, &raw) == NGX_OK
                && val.len == fh->id.len
                && ngx_strncmp(val.data, fh->id.data, val.len) == 0)
            {
                (void) json_object_set_new(acked,
                                     (char *) p + al + fh->name.len + 1,
                                     json_true());
            }
        }
    }

    for (i = 0; i < json_array_size(kvs); i++) {
        kv = json_array_get(kvs, i);
        v = json_object_get(kv, "key");
        raw.data = (u_char *) json_string_value(v);

        if (raw.data == NULL) {
            continue;
        }

        raw.len = json_string_length(v);
        key.data = ngx_pnalloc(fh->pool, ngx_base64_decoded_length(raw.len)
                                         + 1);

        if (key.data == NULL || ngx_decode_base64(&key, &raw) != NGX_OK
            || key.len <= plen + hl
            || ngx_strncmp(key.data + plen, NGX_HTTP_STRANGLER_ETCD_HOSTS,
                           hl)
               != 0)
        {
            continue;
        }

        key.data[key.len] = '\0';
        host = (const char *) key.data + plen + hl;

        if (json_object_get(acked, host) != NULL) {
            continue;
        }

        if (fh->ecf->fence && json_object_get(alive, host) == NULL) {
            /*
             * strangler_fence on: its lease expired, so it has refused
             * writes for half a TTL at least; not waited for
             */
            continue;
        }

        (void) json_array_append_new(fh->waiting, json_string(host));
    }

    json_decref(acked);
    json_decref(alive);

    if (!present) {
        fh->done(fh, NGX_DECLINED);
        return;
    }

    fh->done(fh, json_array_size(fh->waiting) ? NGX_AGAIN : NGX_OK);
}


json_t *
ngx_http_strangler_etcd_handoff_waiting(
    ngx_http_strangler_etcd_fleet_handoff_t *fh)
{
    return fh->waiting;
}


void *
ngx_http_strangler_etcd_handoff_data(
    ngx_http_strangler_etcd_fleet_handoff_t *fh)
{
    return fh->data;
}


/* the initiator is done with it (its pool goes): nothing calls back */

void
ngx_http_strangler_etcd_handoff_forget(
    ngx_http_strangler_etcd_fleet_handoff_t *fh)
{
    if (fh->call) {
        ngx_http_strangler_etcd_call_abort(fh->call);
        fh->call = NULL;
    }

    json_decref(fh->waiting);
    fh->waiting = NULL;
}


/*
 * The handoff's end without a commit: everywhere, if it is still this
 * one; the call answers nobody
 */

void
ngx_http_strangler_etcd_handoff_abort(
    ngx_http_strangler_etcd_fleet_handoff_t *fh)
{
    json_t  *body;

    ngx_http_strangler_etcd_handoff_forget(fh);

    if (fh->mod == 0) {
        return;
    }

    body = json_pack("{s:[{s:s%, s:s, s:s, s:I}],"
                     " s:[{s:{s:s%}}, {s:{s:s%, s:s%}}]}",
                     "compare",
                       "key", fh->key.data, fh->key.len,
                       "target", "MOD", "result", "EQUAL",
                       "mod_revision", (json_int_t) fh->mod,
                     "success",
                       "request_delete_range",
                         "key", fh->key.data, fh->key.len,
                       "request_delete_range",
                         "key", fh->acks.data, fh->acks.len,
                         "range_end", fh->acks_end.data, fh->acks_end.len);

    (void) ngx_http_strangler_etcd_call(fh->ecf, "/v3/kv/txn", body,
                                        ngx_http_strangler_etcd_fh_aborted,
                                        NULL, NULL, ngx_cycle->log);
}


static void
ngx_http_strangler_etcd_fh_aborted(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    /* the watchers release; a watcher past the deadline aborts it too */
}


/*
 * The commit's compare and operations, added to a change's transaction:
 * the handoff key is still this one; it and its acks go with the change.
 */

ngx_int_t
ngx_http_strangler_etcd_handoff_txn(
    ngx_http_strangler_etcd_fleet_handoff_t *fh, json_t *txn)
{
    json_t  *compare, *success;

    compare = json_object_get(txn, "compare");
    success = json_object_get(txn, "success");

    if (!json_is_array(compare) || !json_is_array(success)) {
        return NGX_ERROR;
    }

    if (json_array_append_new(compare,
            json_pack("{s:s%, s:s, s:s, s:I}",
                      "key", fh->key.data, fh->key.len,
                      "target", "MOD", "result", "EQUAL",
                      "mod_revision", (json_int_t) fh->mod))
        || json_array_append_new(success,
               json_pack("{s:{s:s%}}", "request_delete_range",
                         "key", fh->key.data, fh->key.len))
        || json_array_append_new(success,
               json_pack("{s:{s:s%, s:s%}}", "request_delete_range",
                         "key", fh->acks.data, fh->acks.len,
                         "range_end", fh->acks_end.data, fh->acks_end.len)))
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* -- every host's watcher ------------------------------------------------- */


/*
 * A key of the prefix that is not an override, from the watch or a full
 * read: PREFIX handoffs/NAME begins or ends a hold.  NGX_DECLINED: not a
 * handoff key.
 */

ngx_int_t
ngx_http_strangler_etcd_handoff_event(ngx_http_strangler_etcd_conf_t *ecf,
    json_t *kv, ngx_uint_t deleted, ngx_pool_t *pool, ngx_log_t *log)
{
    size_t                     n, i;
    json_t                    *v, *value;
    ngx_str_t                  key, raw, name;
    ngx_http_strangler_fho_t  *h;

    v = json_object_get(kv, "key");
    raw.data = (u_char *) json_string_value(v);

    if (raw.data == NULL) {
        return NGX_DECLINED;
    }

    raw.len = json_string_length(v);
    key.data = ngx_pnalloc(pool, ngx_base64_decoded_length(raw.len));

    if (key.data == NULL || ngx_decode_base64(&key, &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    n = ecf->prefix.len + sizeof(NGX_HTTP_STRANGLER_ETCD_HANDOFFS) - 1;

    if (key.len <= n
        || ngx_strncmp(key.data, ecf->prefix.data, ecf->prefix.len) != 0
        || ngx_strncmp(key.data + ecf->prefix.len,
                       NGX_HTTP_STRANGLER_ETCD_HANDOFFS,
                       sizeof(NGX_HTTP_STRANGLER_ETCD_HANDOFFS) - 1)
           != 0
        || key.len - n > NGX_HTTP_STRANGLER_ETCD_KEY_MAX)
    {
        return NGX_DECLINED;
    }

    name.data = key.data + n;
    name.len = key.len - n;

    if (deleted) {
        for (i = 0; i < NGX_HTTP_STRANGLER_FHO_MAX; i++) {
            h = &ngx_http_strangler_fhos[i];

            if (h->used && h->name_len == name.len
                && ngx_strncmp(h->name, name.data, name.len) == 0)
            {
                ngx_http_strangler_fho_end(h, log);
            }
        }

        return NGX_OK;
    }

    v = json_object_get(kv, "value");
    raw.data = (u_char *) json_string_value(v);
    raw.len = raw.data ? json_string_length(v) : 0;
    key.data = ngx_pnalloc(pool, ngx_base64_decoded_length(raw.len));

    if (key.data == NULL || ngx_decode_base64(&key, &raw) != NGX_OK) {
        return NGX_OK;
    }

    value = json_loadb((char *) key.data, key.len, 0, NULL);

    if (!json_is_object(value)) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "strangler: the fleet handoff of \"%V\" in etcd is "
                      "not valid JSON: ignored", &name);
        json_decref(value);
        return NGX_OK;
    }

    ngx_http_strangler_fho_hold(ecf, &name, value,
                                ngx_http_strangler_etcd_int(kv,
                                                            "mod_revision"),
                                log);
    json_decref(value);

    return NGX_OK;
}


/* a full read begins: the holds it does not see end after it */

void
ngx_http_strangler_etcd_handoff_unsee(void)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_STRANGLER_FHO_MAX; i++) {
        ngx_http_strangler_fhos[i].seen = 0;
    }
}


void
ngx_http_strangler_etcd_handoff_unseen(ngx_log_t *log)
{
    ngx_uint_t                 i;
    ngx_http_strangler_fho_t  *h;

    for (i = 0; i < NGX_HTTP_STRANGLER_FHO_MAX; i++) {
        h = &ngx_http_strangler_fhos[i];

        if (h->used && !h->seen) {
            ngx_http_strangler_fho_end(h, log);
        }
    }
}


/*
 * The watch is lost or let go: every hold ends now, and the writes go to
 * the owner this host last knew committed, never to the new one.
 */

void
ngx_http_strangler_etcd_handoff_release(ngx_log_t *log)
{
    ngx_uint_t                 i;
    ngx_http_strangler_fho_t  *h;

    for (i = 0; i < NGX_HTTP_STRANGLER_FHO_MAX; i++) {
        h = &ngx_http_strangler_fhos[i];

        if (h->used) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "strangler: route \"%*s\": etcd lost during the "
                          "fleet handoff: writes released to the owner "
                          "last committed", h->name_len, h->name);
            ngx_http_strangler_fho_end(h, log);
        }
    }
}


static void
ngx_http_strangler_fho_hold(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_str_t *name, json_t *value, int64_t mod, ngx_log_t *log)
{
    int                                from, to;
    size_t                             i, r, len;
    int64_t                            deadline;
    ngx_str_t                          id, sfrom, sto;
    const char                        *s;
    ngx_uint_t                         k;
    const strangler_route_t           *route;
    ngx_http_strangler_fho_t          *h, *slot;
    ngx_http_strangler_table_t       **tables, *t;
    ngx_http_strangler_binding_t      *b;
    ngx_http_strangler_sh_handoff_t   *sh;
    ngx_http_strangler_sh_writes_t    *wf, *wt;
    ngx_http_strangler_zone_ctx_t     *z;

    s = json_string_value(json_object_get(value, "id"));
    id.data = (u_char *) s;
    id.len = s ? ngx_strlen(s) : 0;
    s = json_string_value(json_object_get(value, "from"));
    sfrom.data = (u_char *) s;
    sfrom.len = s ? ngx_strlen(s) : 0;
    s = json_string_value(json_object_get(value, "to"));
    sto.data = (u_char *) s;
    sto.len = s ? ngx_strlen(s) : 0;
    deadline = ngx_http_strangler_etcd_int(value, "deadline");

    if (id.len == 0 || id.len > NGX_HTTP_STRANGLER_FHO_ID_MAX
        || sfrom.len == 0 || sto.len == 0 || deadline <= 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "strangler: the fleet handoff of \"%V\" in etcd "
                      "lacks an id, from, to or deadline: ignored", name);
        return;
    }

    slot = NULL;

    for (k = 0; k < NGX_HTTP_STRANGLER_FHO_MAX; k++) {
        h = &ngx_http_strangler_fhos[k];

        if (!h->used) {
            slot = slot ? slot : h;
            continue;
        }

        if (h->name_len == name->len
            && ngx_strncmp(h->name, name->data, name->len) == 0
            && h->id_len == id.len
            && ngx_strncmp(h->id, id.data, id.len) == 0)
        {
            /* seen again (a full read) */
            h->seen = 1;
            return;
        }
    }

    z = ecf->zone;
    tables = z->smcf->tables.elts;

    for (k = 0; k < z->smcf->tables.nelts; k++) {
        t = tables[k];
        route = strangler_route_find(t->core, (char *) name->data,
                                     name->len);

        if (route == NULL || t->bindings == NULL) {
            continue;
        }

        if (slot == NULL) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "strangler: route \"%V\": more than %d fleet "
                          "handoffs at once: its writes are not held",
                          name, NGX_HTTP_STRANGLER_FHO_MAX);
            return;
        }

        r = route - t->core->routes;
        b = &t->bindings[r];
        from = -1;
        to = -1;

        for (i = 0; i < t->core->nbackends; i++) {
            len = t->backend_names[i].len;

            if (len == sfrom.len
                && ngx_strncmp(t->backend_names[i].data, sfrom.data, len)
                   == 0)
            {
                from = (int) i;
            }

            if (len == sto.len
                && ngx_strncmp(t->backend_names[i].data, sto.data, len)
                   == 0)
            {
                to = (int) i;
            }
        }

        if (from < 0 || to < 0) {
            continue;
        }

        wf = ngx_http_strangler_handoff_block(b, t, from);
        wt = ngx_http_strangler_handoff_block(b, t, to);

        if (wf == NULL || wt == NULL) {
            continue;
        }

        h = slot;
        ngx_memzero(h, sizeof(ngx_http_strangler_fho_t));

        ngx_shmtx_lock(&z->shpool->mutex);

        if (ngx_http_strangler_handoff_alloc_locked(z, b->shr) != NGX_OK) {
            ngx_shmtx_unlock(&z->shpool->mutex);
            continue;
        }

        sh = b->shr->handoff;

        if (sh->state == NGX_HTTP_STRANGLER_HANDOFF_DRAINING) {
            /* this host's API began it: it drains and ends it itself */
            h->own = 0;

        } else {
            sh->serial++;
            sh->pid = ngx_pid;
            sh->since = ngx_current_msec;
            sh->deadline = ngx_current_msec
                           + (ngx_msec_t) ngx_max(deadline
                                       - (int64_t) ngx_http_strangler_fho_now()
                                       + NGX_HTTP_STRANGLER_FHO_GRACE, 1);
            sh->started = ngx_time();
            sh->hold = ngx_http_strangler_handoff_hold(z->smcf, route);
            sh->held_total = 0;
            sh->from = wf;
            sh->to = wt;
            sh->gen = 0;

            (void) ngx_atomic_fetch_add(&sh->state, 1);
            (void) ngx_atomic_fetch_add(&z->sh->handoff_seq, 1);

            sh->in_flight_at_start = sh->from->writes;
            h->own = 1;
        }

        ngx_shmtx_unlock(&z->shpool->mutex);

        h->used = 1;
        h->seen = 1;
        h->zone = z;
        h->shr = b->shr;
        h->sh = sh;
        h->serial = sh->serial;
        h->to = sto;
        h->since = ngx_current_msec;
        h->deadline = (uint64_t) deadline;
        h->mod = mod;
        h->name_len = name->len;
        ngx_memcpy(h->name, name->data, name->len);
        h->id_len = id.len;
        ngx_memcpy(h->id, id.data, id.len);
        h->to.data = sh->to->name.data;
        h->to.len = sh->to->name.len;

        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "strangler: route \"%V\": fleet handoff %V from "
                      "\"%V\" to \"%V\": this host holds its writes while "
                      "%uA in flight drain", name, &id, &sfrom, &sto,
                      sh->from->writes);

        /* one table's hold per name: the others share the route block */
        break;
    }

    if (ngx_http_strangler_fho_ev.handler == NULL) {
        ngx_http_strangler_fho_ev.handler = ngx_http_strangler_fho_tick;
        ngx_http_strangler_fho_ev.log = ngx_cycle->log;
        ngx_http_strangler_fho_ev.cancelable = 1;
    }

    ngx_http_strangler_fho_ecf = ecf;

    if (!ngx_http_strangler_fho_ev.timer_set) {
        ngx_add_timer(&ngx_http_strangler_fho_ev, 1);
    }
}


/* the hold ends: the held writes are decided again, with the owner now */

static void
ngx_http_strangler_fho_end(ngx_http_strangler_fho_t *h, ngx_log_t *log)
{
    ngx_uint_t                          result;
    ngx_http_strangler_override_rec_t  *ov;

    if (h->call) {
        ngx_http_strangler_etcd_call_abort(h->call);
        h->call = NULL;
    }

    if (h->own) {
        ov = h->shr->override;
        result = (ov && ov->owner.len == h->to.len
                  && ngx_strncmp(ov->owner.data, h->to.data, h->to.len) == 0)
                 ? NGX_HTTP_STRANGLER_HANDOFF_MOVED
                 : NGX_HTTP_STRANGLER_HANDOFF_TIMED_OUT;

        if (ngx_http_strangler_handoff_close(h->zone, h->sh, h->serial,
                                             result,
                                             ngx_current_msec - h->since))
        {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "strangler: route \"%*s\": fleet handoff %*s "
                          "ended (%s): held writes released",
                          h->name_len, h->name, h->id_len, h->id,
                          ngx_http_strangler_handoff_results[result]);
        }
    }

    h->used = 0;
}


/* the watcher's tick while it holds: ack when drained, abort when late */

static void
ngx_http_strangler_fho_tick(ngx_event_t *ev)
{
    ngx_uint_t                 i, any;
    ngx_http_strangler_fho_t  *h;

    any = 0;

    for (i = 0; i < NGX_HTTP_STRANGLER_FHO_MAX; i++) {
        h = &ngx_http_strangler_fhos[i];

        if (!h->used) {
            continue;
        }

        any = 1;

        if (h->call) {
            continue;
        }

        if (ngx_http_strangler_fho_now() > h->deadline
                                           + NGX_HTTP_STRANGLER_FHO_GRACE)
        {
            /* its initiator is gone or late: aborted everywhere */
            ngx_http_strangler_fho_abort(ngx_http_strangler_fho_ecf, h,
                                         ev->log);
            continue;
        }

        if (h->acked) {
            continue;
        }

        if (h->sh->from->writes && h->polls++ % 50 == 0) {
            (void) ngx_http_strangler_handoff_reap(h->zone, h->sh->from);
        }

        if (h->sh->from->writes == 0) {
            ngx_http_strangler_fho_abort(NULL, h, ev->log);
        }
    }

    if (any && !ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_STRANGLER_FHO_TICK);
    }
}


/*
 * ecf NULL: the ack, PREFIX acks/NAME/HOST = id; else the abort of a
 * handoff past its deadline (if it is still the one held)
 */

static void
ngx_http_strangler_fho_abort(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_http_strangler_fho_t *h, ngx_log_t *log)
{
    json_t                                  *body;
    ngx_str_t                                name, k64, v64, id;
    ngx_pool_t                              *pool;
    ngx_http_strangler_etcd_conf_t          *e;
    ngx_http_strangler_etcd_fleet_handoff_t  fh;

    e = ngx_http_strangler_fho_ecf;
    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return;
    }

    name.data = h->name;
    name.len = h->name_len;
    id.data = h->id;
    id.len = h->id_len;
    body = NULL;

    if (ecf == NULL) {
        ngx_str_t  tail;

        tail.len = e->host_name.len + 1;
        tail.data = ngx_pnalloc(pool, tail.len + 1);

        if (tail.data) {
            *ngx_cpymem(ngx_cpymem(tail.data, "/", 1), e->host_name.data,
                        e->host_name.len) = '\0';

            if (ngx_http_strangler_etcd_key_b64(pool, &e->prefix,
                                                NGX_HTTP_STRANGLER_ETCD_ACKS,
                                                &name, (char *) tail.data,
                                                &k64, NULL)
                == NGX_OK
                && ngx_http_strangler_etcd_b64(pool, &v64, id.data, id.len)
                   == NGX_OK)
            {
                body = json_pack("{s:s%, s:s%}", "key", k64.data, k64.len,
                                 "value", v64.data, v64.len);
            }
        }

        if (body) {
            h->call = ngx_http_strangler_etcd_call(e, "/v3/kv/put", body,
                                              ngx_http_strangler_fho_acked,
                                              NULL, h, log);
        }

        ngx_destroy_pool(pool);
        return;
    }

    /* only if the key is still that handoff's, not a newer one's */

    ngx_memzero(&fh, sizeof(fh));
    fh.ecf = e;
    fh.pool = pool;
    fh.name = name;

    if (ngx_http_strangler_etcd_fh_keys(&fh) == NGX_OK) {
        body = json_pack("{s:[{s:s%, s:s, s:s, s:I}],"
                         " s:[{s:{s:s%}}, {s:{s:s%, s:s%}}]}",
                         "compare",
                           "key", fh.key.data, fh.key.len,
                           "target", "MOD", "result", "EQUAL",
                           "mod_revision", (json_int_t) h->mod,
                         "success",
                           "request_delete_range",
                             "key", fh.key.data, fh.key.len,
                           "request_delete_range",
                             "key", fh.acks.data, fh.acks.len,
                             "range_end", fh.acks_end.data,
                             fh.acks_end.len);
    }

    if (body) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "strangler: route \"%V\": fleet handoff %V past its "
                      "deadline: aborted everywhere", &name, &id);

        /* once a second until the watch shows it gone */
        h->aborting = 1;
        h->deadline += 1000;

        h->call = ngx_http_strangler_etcd_call(e, "/v3/kv/txn", body,
                                               ngx_http_strangler_fho_acked,
                                               NULL, h, log);
    }

    ngx_destroy_pool(pool);
}


static void
ngx_http_strangler_fho_acked(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_fho_t  *h;

    h = ngx_http_strangler_etcd_call_data(call);
    h->call = NULL;

    if (rc == NGX_OK && !h->acked && !h->aborting) {
        h->acked = 1;

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "strangler: route \"%*s\": fleet handoff %*s "
                      "acknowledged: no write in flight at the old owner "
                      "here", h->name_len, h->name, h->id_len, h->id);
    }
}
