
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What the fleet's members say (GET fleet) and an operator's removal of
 * one (DELETE fleet/hosts/NAME), for the API.
 *
 * A read is one range of the prefix (members, presence keys, overrides)
 * and one /v3/lease/timetolive per presence key, at once, for the last
 * heartbeat: a lease renewed at a third of its TTL was renewed
 * grantedTTL - TTL seconds ago.  A host is synced when the revision it
 * applied is at least the newest override revision: the newest
 * mod_revision of the override keys, or a revision another host applied
 * (a deleted key leaves no mod_revision; the hosts that applied the
 * deletion say its revision).
 */


#include "ngx_http_strangler_etcd.h"


struct ngx_http_strangler_etcd_fleet_s {
    ngx_http_strangler_etcd_conf_t     *ecf;
    ngx_pool_t                         *pool;
    ngx_log_t                          *log;
    json_t                             *hosts;     /* object: name => host */
    json_t                             *leases;    /* array of [name, id] */
    int64_t                             revision;  /* etcd's */
    int64_t                             target;
    ngx_uint_t                          pending;
    ngx_str_t                           name;      /* removal */
    ngx_http_strangler_etcd_fleet_pt    done;
    void                               *data;
};


typedef struct {
    ngx_http_strangler_etcd_fleet_t    *fleet;
    json_t                             *host;
} ngx_http_strangler_etcd_ttl_t;


static void ngx_http_strangler_etcd_fleet_range(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_fleet_kv(
    ngx_http_strangler_etcd_fleet_t *f, json_t *kv);
static json_t *ngx_http_strangler_etcd_fleet_host(
    ngx_http_strangler_etcd_fleet_t *f, u_char *name, size_t len);
static void ngx_http_strangler_etcd_fleet_ttl(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_fleet_end(
    ngx_http_strangler_etcd_fleet_t *f);
static void ngx_http_strangler_etcd_fleet_removed(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static ngx_int_t ngx_http_strangler_etcd_fleet_key(
    ngx_http_strangler_etcd_fleet_t *f, const char *dir, size_t dlen,
    ngx_str_t *name, ngx_str_t *k64);
static void ngx_http_strangler_etcd_fleet_cleanup(void *data);


/* a valid host name: 1 to HOST_NAME_MAX of [A-Za-z0-9._-] */

ngx_uint_t
ngx_http_strangler_etcd_host_name_ok(u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > NGX_HTTP_STRANGLER_HOST_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!(isalnum(p[i]) || p[i] == '.' || p[i] == '-' || p[i] == '_')) {
            return 0;
        }
    }

    return 1;
}


/*
 * Starts a read of the fleet; `done` gets NGX_OK and the JSON, or
 * NGX_ERROR (etcd unreachable) and NULL.  NULL: nothing started.
 */

ngx_http_strangler_etcd_fleet_t *
ngx_http_strangler_etcd_fleet_read(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_pool_t *pool, ngx_log_t *log, ngx_http_strangler_etcd_fleet_pt done,
    void *data)
{
    json_t                           *body;
    ngx_pool_cleanup_t               *cln;
    ngx_http_strangler_etcd_fleet_t  *f;

    f = ngx_pcalloc(pool, sizeof(ngx_http_strangler_etcd_fleet_t));
    cln = ngx_pool_cleanup_add(pool, 0);

    if (f == NULL || cln == NULL) {
        return NULL;
    }

    f->ecf = ecf;
    f->pool = pool;
    f->log = log;
    f->done = done;
    f->data = data;
    f->hosts = json_object();
    f->leases = json_array();

    cln->handler = ngx_http_strangler_etcd_fleet_cleanup;
    cln->data = f;

    if (f->hosts == NULL || f->leases == NULL) {
        return NULL;
    }

    body = json_pack("{s:s%, s:s%}",
                     "key", ecf->range_key.data, ecf->range_key.len,
                     "range_end", ecf->range_end.data, ecf->range_end.len);

    f->pending = 1;

    if (ngx_http_strangler_etcd_call(ecf, "/v3/kv/range", body,
                                     ngx_http_strangler_etcd_fleet_range,
                                     NULL, f, log)
        == NULL)
    {
        return NULL;
    }

    return f;
}


static void
ngx_http_strangler_etcd_fleet_cleanup(void *data)
{
    ngx_http_strangler_etcd_fleet_t *f = data;

    json_decref(f->hosts);
    json_decref(f->leases);
    f->hosts = NULL;
    f->leases = NULL;
}


static void
ngx_http_strangler_etcd_fleet_range(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_fleet_t *f;

    size_t                          i;
    json_t                         *kvs, *pair, *body;
    ngx_http_strangler_etcd_ttl_t  *t;

    f = ngx_http_strangler_etcd_call_data(call);
    f->pending = 0;

    if (rc != NGX_OK || !ngx_http_strangler_etcd_is_answer(answer, "kvs")) {
        f->done(f, NGX_ERROR, NULL);
        return;
    }

    f->revision = ngx_http_strangler_etcd_revision(answer);
    kvs = json_object_get(answer, "kvs");

    for (i = 0; i < json_array_size(kvs); i++) {
        ngx_http_strangler_etcd_fleet_kv(f, json_array_get(kvs, i));
    }

    /* the heartbeats: every lease's time to live, at once */

    for (i = 0; i < json_array_size(f->leases); i++) {
        pair = json_array_get(f->leases, i);

        t = ngx_palloc(f->pool, sizeof(ngx_http_strangler_etcd_ttl_t));
        if (t == NULL) {
            continue;
        }

        t->fleet = f;
        t->host = json_array_get(pair, 0);

        body = json_pack("{s:O}", "ID", json_array_get(pair, 1));

        if (ngx_http_strangler_etcd_call(f->ecf, "/v3/lease/timetolive",
                                         body,
                                         ngx_http_strangler_etcd_fleet_ttl,
                                         NULL, t, f->log)
            != NULL)
        {
            f->pending++;
        }
    }

    if (f->pending == 0) {
        ngx_http_strangler_etcd_fleet_end(f);
    }
}


/* one key of the prefix: a member, a presence, an override */

static void
ngx_http_strangler_etcd_fleet_kv(ngx_http_strangler_etcd_fleet_t *f,
    json_t *kv)
{
    u_char                        *p;
    size_t                         plen;
    json_t                        *host, *value, *v;
    int64_t                        rev, lease;
    ngx_str_t                      key, raw;
    ngx_http_strangler_etcd_kv_t   ov;

    if (ngx_http_strangler_etcd_kv(f->ecf, kv, 0, &ov, f->pool) == NGX_OK) {
        f->target = ngx_max(f->target, ov.mod_revision);
        return;
    }

    v = json_object_get(kv, "key");
    raw.data = (u_char *) json_string_value(v);

    if (raw.data == NULL) {
        return;
    }

    raw.len = json_string_length(v);
    key.data = ngx_pnalloc(f->pool, ngx_base64_decoded_length(raw.len));

    if (key.data == NULL || ngx_decode_base64(&key, &raw) != NGX_OK) {
        return;
    }

    plen = f->ecf->prefix.len;

    if (key.len <= plen
        || ngx_strncmp(key.data, f->ecf->prefix.data, plen) != 0)
    {
        return;
    }

    p = key.data + plen;

    if (key.len > plen + sizeof(NGX_HTTP_STRANGLER_ETCD_HOSTS) - 1
        && ngx_strncmp(p, NGX_HTTP_STRANGLER_ETCD_HOSTS,
                       sizeof(NGX_HTTP_STRANGLER_ETCD_HOSTS) - 1)
           == 0)
    {
        p += sizeof(NGX_HTTP_STRANGLER_ETCD_HOSTS) - 1;
        host = ngx_http_strangler_etcd_fleet_host(f, p,
                                                  key.data + key.len - p);
        if (host == NULL) {
            return;
        }

        (void) json_object_set_new(host, "member", json_true());

        v = json_object_get(kv, "value");
        raw.data = (u_char *) json_string_value(v);
        raw.len = raw.data ? json_string_length(v) : 0;

        value = NULL;
        key.data = ngx_pnalloc(f->pool, ngx_base64_decoded_length(raw.len));

        if (key.data && ngx_decode_base64(&key, &raw) == NGX_OK) {
            value = json_loadb((char *) key.data, key.len, 0, NULL);
        }

        if (json_is_object(value)) {
            (void) json_object_update_missing(host, value);
            rev = ngx_http_strangler_etcd_int(value, "revision");
            f->target = ngx_max(f->target, rev);
        }

        json_decref(value);
        return;
    }

    if (key.len > plen + sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE) - 1
        && ngx_strncmp(p, NGX_HTTP_STRANGLER_ETCD_ALIVE,
                       sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE) - 1)
           == 0)
    {
        p += sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE) - 1;
        host = ngx_http_strangler_etcd_fleet_host(f, p,
                                                  key.data + key.len - p);
        lease = ngx_http_strangler_etcd_int(kv, "lease");

        if (host == NULL || lease == 0) {
            return;
        }

        (void) json_object_set_new(host, "alive", json_true());
        (void) json_array_append_new(f->leases,
                                     json_pack("[O, I]", host,
                                               (json_int_t) lease));
    }
}


/* the host of that name, made on first sight */

static json_t *
ngx_http_strangler_etcd_fleet_host(ngx_http_strangler_etcd_fleet_t *f,
    u_char *name, size_t len)
{
    u_char  *z;
    json_t  *host;

    if (!ngx_http_strangler_etcd_host_name_ok(name, len)) {
        return NULL;
    }

    z = ngx_pnalloc(f->pool, len + 1);
    if (z == NULL) {
        return NULL;
    }

    *ngx_cpymem(z, name, len) = '\0';

    host = json_object_get(f->hosts, (char *) z);

    if (host == NULL) {
        host = json_pack("{s:s, s:b, s:b, s:n}", "name", z, "member", 0,
                         "alive", 0, "heartbeat_ago");

        if (host == NULL || json_object_set_new(f->hosts, (char *) z, host)) {
            return NULL;
        }
    }

    return host;
}


static void
ngx_http_strangler_etcd_fleet_ttl(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_ttl_t *t;

    int64_t                           ttl, granted;
    ngx_http_strangler_etcd_fleet_t  *f;

    t = ngx_http_strangler_etcd_call_data(call);
    f = t->fleet;

    if (rc == NGX_OK) {
        ttl = ngx_http_strangler_etcd_int(answer, "TTL");
        granted = ngx_http_strangler_etcd_int(answer, "grantedTTL");

        if (ttl >= 0 && granted >= ttl) {
            (void) json_object_set_new(t->host, "heartbeat_ago",
                                       json_integer(granted - ttl));

        } else {
            /* expired between the read and now */
            (void) json_object_set_new(t->host, "alive", json_false());
        }
    }

    if (--f->pending == 0) {
        ngx_http_strangler_etcd_fleet_end(f);
    }
}


static void
ngx_http_strangler_etcd_fleet_end(ngx_http_strangler_etcd_fleet_t *f)
{
    int64_t      rev;
    json_t      *host, *list, *j;
    const char  *name;

    list = json_array();

    json_object_foreach(f->hosts, name, host) {
        rev = ngx_http_strangler_etcd_int(host, "revision");

        (void) json_object_set_new(host, "state",
                   json_string(json_is_true(json_object_get(host, "alive"))
                               ? "alive" : "silent"));
        (void) json_object_set_new(host, "sync",
                   json_string(!json_is_true(json_object_get(host, "member"))
                               ? "unknown"
                               : rev >= f->target ? "synced" : "behind"));
        (void) json_array_append(list, host);
    }

    j = json_pack("{s:s%, s:I, s:I, s:o}",
                  "this", f->ecf->host_name.data, f->ecf->host_name.len,
                  "revision", (json_int_t) f->revision,
                  "newest_override", (json_int_t) f->target,
                  "hosts", list);

    f->done(f, j ? NGX_OK : NGX_ERROR, j);

    json_decref(j);
}


void *
ngx_http_strangler_etcd_fleet_data(ngx_http_strangler_etcd_fleet_t *f)
{
    return f->data;
}


/*
 * An operator removes a member (a host known to be dead): its member and
 * presence keys, in one transaction.  `done` gets NGX_OK (removed),
 * NGX_DECLINED (no such member) or NGX_ERROR (etcd unreachable).
 */

ngx_http_strangler_etcd_fleet_t *
ngx_http_strangler_etcd_fleet_remove(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_str_t *name, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_strangler_etcd_fleet_pt done, void *data)
{
    json_t                           *body;
    ngx_str_t                         m64, a64;
    ngx_http_strangler_etcd_fleet_t  *f;

    f = ngx_pcalloc(pool, sizeof(ngx_http_strangler_etcd_fleet_t));
    if (f == NULL) {
        return NULL;
    }

    f->ecf = ecf;
    f->pool = pool;
    f->log = log;
    f->done = done;
    f->data = data;
    f->name = *name;

    if (ngx_http_strangler_etcd_fleet_key(f, NGX_HTTP_STRANGLER_ETCD_HOSTS,
                                          sizeof(NGX_HTTP_STRANGLER_ETCD_HOSTS)
                                          - 1, name, &m64)
        != NGX_OK
        || ngx_http_strangler_etcd_fleet_key(f, NGX_HTTP_STRANGLER_ETCD_ALIVE,
                                          sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE)
                                          - 1, name, &a64)
           != NGX_OK)
    {
        return NULL;
    }

    body = json_pack("{s:[{s:{s:s%, s:b}}, {s:{s:s%}}]}",
                     "success",
                       "request_delete_range",
                         "key", m64.data, m64.len, "prev_kv", 1,
                       "request_delete_range",
                         "key", a64.data, a64.len);

    if (ngx_http_strangler_etcd_call(ecf, "/v3/kv/txn", body,
                                     ngx_http_strangler_etcd_fleet_removed,
                                     NULL, f, log)
        == NULL)
    {
        return NULL;
    }

    return f;
}


static ngx_int_t
ngx_http_strangler_etcd_fleet_key(ngx_http_strangler_etcd_fleet_t *f,
    const char *dir, size_t dlen, ngx_str_t *name, ngx_str_t *k64)
{
    u_char     *p;
    ngx_str_t   key;

    key.len = f->ecf->prefix.len + dlen + name->len;
    key.data = ngx_pnalloc(f->pool, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key.data, f->ecf->prefix.data, f->ecf->prefix.len);
    p = ngx_cpymem(p, dir, dlen);
    ngx_memcpy(p, name->data, name->len);

    return ngx_http_strangler_etcd_b64(f->pool, k64, key.data, key.len);
}


static void
ngx_http_strangler_etcd_fleet_removed(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    json_t                           *first;
    ngx_http_strangler_etcd_fleet_t  *f;

    f = ngx_http_strangler_etcd_call_data(call);

    if (rc != NGX_OK) {
        f->done(f, NGX_ERROR, NULL);
        return;
    }

    first = json_object_get(json_array_get(json_object_get(answer,
                                                           "responses"),
                                           0),
                            "response_delete_range");

    if (ngx_http_strangler_etcd_int(first, "deleted") == 0) {
        f->done(f, NGX_DECLINED, NULL);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, f->log, 0,
                  "strangler: host \"%V\" removed from the fleet",
                  &f->name);

    f->done(f, NGX_OK, NULL);
}
