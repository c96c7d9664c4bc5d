
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler_etcd ENDPOINT... [prefix=/strangler/];`: the overrides of
 * every host that shares the prefix live in etcd.  The directive, the one
 * path by which etcd's content reaches the zone, and the fleet's state in
 * the status JSON and the metrics.  Changes: ngx_http_strangler_etcd_write.c.
 */


#include "ngx_http_strangler_etcd.h"


static ngx_int_t ngx_http_strangler_etcd_zone_init(
    ngx_http_strangler_zone_ctx_t *z, ngx_uint_t fresh, ngx_log_t *log);
static ngx_int_t ngx_http_strangler_etcd_endpoint(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf, ngx_str_t *value);


static ngx_http_strangler_zone_init_pt  ngx_http_strangler_etcd_next_init;


char *
ngx_http_strangler_etcd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_main_conf_t *smcf = conf;

    u_char                          *end;
    ngx_str_t                       *value;
    ngx_uint_t                       i;
    ngx_http_strangler_etcd_conf_t  *ecf;

    if (smcf->etcd && smcf->etcd->endpoints.nelts) {
        return "is duplicate";
    }

    /* strangler_etcd_ssl_* and _user may come first */
    ecf = ngx_http_strangler_etcd_conf(cf, smcf);
    if (ecf == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&ecf->prefix, NGX_HTTP_STRANGLER_ETCD_PREFIX);

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            ecf->prefix.data = value[i].data + 7;
            ecf->prefix.len = value[i].len - 7;

            if (ecf->prefix.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "empty etcd prefix in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_http_strangler_etcd_endpoint(cf, ecf, &value[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (ecf->endpoints.nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"strangler_etcd\" needs at least one endpoint");
        return NGX_CONF_ERROR;
    }

    /* the prefix's range: [prefix, prefix with its last byte + 1) */

    end = ngx_pnalloc(cf->pool, ecf->prefix.len);
    if (end == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(end, ecf->prefix.data, ecf->prefix.len);
    end[ecf->prefix.len - 1]++;

    if (ngx_http_strangler_etcd_b64(cf->pool, &ecf->range_key,
                                    ecf->prefix.data, ecf->prefix.len)
        != NGX_OK
        || ngx_http_strangler_etcd_b64(cf->pool, &ecf->range_end, end,
                                       ecf->prefix.len)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* http://HOST:PORT, https://HOST:PORT or HOST:PORT (2379 by default) */

static ngx_int_t
ngx_http_strangler_etcd_endpoint(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf, ngx_str_t *value)
{
    ngx_str_t                            host;
    ngx_url_t                            u;
    ngx_http_strangler_etcd_endpoint_t  *ep;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *value;
    u.default_port = 2379;

    if (ngx_strncmp(u.url.data, "https://", 8) == 0) {
        u.url.data += 8;
        u.url.len -= 8;
        ecf->https = 1;

    } else {
        if (ngx_strncmp(u.url.data, "http://", 7) == 0) {
            u.url.data += 7;
            u.url.len -= 7;
        }

        ecf->http = 1;
    }

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid etcd endpoint \"%V\"%s%s", value,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_ERROR;
    }

    ep = ngx_array_push(&ecf->endpoints);
    if (ep == NULL) {
        return NGX_ERROR;
    }

    ep->name = u.url;
    ep->addr = u.addrs[0];

    /* the name TLS verifies and sends (SNI): the host, without brackets */
    host = u.host;
    ep->ip = (ngx_inet_addr(host.data, host.len) != INADDR_NONE);

    if (host.len > 1 && host.data[0] == '[') {
        host.data++;
        host.len -= 2;
        ep->ip = 1;
    }

    ep->host.len = host.len;
    ep->host.data = ngx_pnalloc(cf->pool, host.len + 1);
    if (ep->host.data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(ep->host.data, host.data, host.len) = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_http_strangler_etcd_init_conf(ngx_conf_t *cf)
{
    ngx_http_strangler_zone_ctx_t   *z;
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    if (smcf->etcd == NULL) {
        return NGX_OK;
    }

    if (smcf->etcd->endpoints.nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd_ssl_*\" and \"strangler_etcd_user\" "
                      "need \"strangler_etcd\"");
        return NGX_ERROR;
    }

    if (ngx_http_strangler_etcd_conf_ssl(cf, smcf->etcd) != NGX_OK) {
        return NGX_ERROR;
    }

    z = ngx_http_strangler_zone_ctx(smcf);
    smcf->etcd->zone = z;

    if (z == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd\" needs a \"strangler_zone\"");
        return NGX_ERROR;
    }

    ngx_http_strangler_etcd_next_init = z->init;
    z->init = ngx_http_strangler_etcd_zone_init;

    return NGX_OK;
}


/* the revisions of one route name's key, as this host last saw them */
typedef struct {
    ngx_str_node_t                      sn;
    int64_t                             applied;   /* of the last event */
    int64_t                             mod;       /* 0: no key */
    size_t                              err_len;   /* 0: a valid value */
    u_char                              err[NGX_HTTP_STRANGLER_ETCD_ERR_MAX];
} ngx_http_strangler_etcd_key_t;


/* what a value says for one table: skip, apply, or refused */
typedef struct {
    ngx_http_strangler_sh_route_t      *shr;       /* NULL: no such route */
    ngx_http_strangler_override_rec_t   rec;
    const char                         *err;       /* refused */
    const strangler_route_t            *route;
    ngx_uint_t                          superseded; /* a pending change */
} ngx_http_strangler_etcd_target_t;


static void ngx_http_strangler_etcd_key_err(ngx_http_strangler_etcd_key_t *key,
    const char *err);


/*
 * With strangler_etcd, the zone's block of the fleet state, once: a zone
 * made before the directive was added gets it at the reload.
 */

static ngx_int_t
ngx_http_strangler_etcd_zone_init(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t fresh, ngx_log_t *log)
{
    ngx_http_strangler_etcd_sh_t  *sh;

    ngx_shmtx_lock(&z->shpool->mutex);

    sh = z->sh->etcd;

    if (sh == NULL) {
        sh = ngx_slab_calloc_locked(z->shpool,
                                    sizeof(ngx_http_strangler_etcd_sh_t));
        if (sh) {
            /* fence keys of this zone's changes are named after it */
            sh->boot = (uint64_t) ngx_time() * 1000
                       + (ngx_timeofday())->msec;
            ngx_rbtree_init(&sh->keys, &sh->sentinel,
                            ngx_str_rbtree_insert_value);
            z->sh->etcd = sh;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_zone \"%V\" is too small for "
                      "strangler_etcd", &z->name);
        return NGX_ERROR;
    }

    return ngx_http_strangler_etcd_next_init
           ? ngx_http_strangler_etcd_next_init(z, fresh, log) : NGX_OK;
}


/* a route name's key revisions, with the mutex held; NULL: none (full) */

static ngx_http_strangler_etcd_key_t *
ngx_http_strangler_etcd_key_locked(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *name, ngx_uint_t create)
{
    uint32_t                        hash;
    ngx_http_strangler_etcd_key_t  *key;

    hash = ngx_crc32_short(name->data, name->len);

    key = (ngx_http_strangler_etcd_key_t *)
              ngx_str_rbtree_lookup(&z->sh->etcd->keys, name, hash);

    if (key || !create) {
        return key;
    }

    key = ngx_slab_calloc_locked(z->shpool,
                                 sizeof(ngx_http_strangler_etcd_key_t)
                                 + name->len);
    if (key == NULL) {
        return NULL;
    }

    key->sn.node.key = hash;
    key->sn.str.len = name->len;
    key->sn.str.data = (u_char *) (key + 1);
    ngx_memcpy(key->sn.str.data, name->data, name->len);

    ngx_rbtree_insert(&z->sh->etcd->keys, &key->sn.node);

    return key;
}


/*
 * A copy of a route's override and the mod_revision of its key as this
 * host last saw it (0: no key), in one step: what a change is based on.
 */

ngx_int_t
ngx_http_strangler_etcd_read_route(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_str_t *name,
    ngx_http_strangler_override_rec_t *rec, int64_t *mod, ngx_pool_t *pool)
{
    ngx_int_t                       rc;
    ngx_http_strangler_etcd_key_t  *key;

    ngx_shmtx_lock(&z->shpool->mutex);

    rc = ngx_http_strangler_override_read_locked(shr, rec, pool);
    key = ngx_http_strangler_etcd_key_locked(z, name, 0);
    *mod = key ? key->mod : 0;

    ngx_shmtx_unlock(&z->shpool->mutex);

    return rc;
}


/*
 * The one path by which etcd's content reaches the zone, for the watch's
 * events, its full reads and the API's own accepted writes: every table
 * with a route of that name takes the value, unless the name's key holds
 * a later revision already (the API applies its own writes before the
 * watch brings them back); `force` (a full read) replaces whatever it
 * held.  A value that is not a valid override for a table (or that the
 * zone has no room for) means "no override" there, whatever the host
 * had before, and its key is flagged (fleet.invalid): every host reaches
 * the same decision from the same content.  The value is checked first,
 * then applied to every table in one step under the mutex.  Returns the
 * number of routes changed.
 */

ngx_int_t
ngx_http_strangler_etcd_apply(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_http_strangler_etcd_kv_t *kv, ngx_uint_t force, ngx_pool_t *pool,
    ngx_log_t *log)
{
    ngx_int_t                          n, rc;
    ngx_uint_t                         i, found, full;
    const char                        *err;
    const strangler_route_t           *route;
    ngx_http_strangler_table_t       **tables;
    ngx_http_strangler_zone_ctx_t     *z;
    ngx_http_strangler_etcd_key_t     *key;
    ngx_http_strangler_main_conf_t    *smcf;
    ngx_http_strangler_etcd_target_t  *tg;

    if (kv->ignore) {
        return ngx_http_strangler_etcd_apply_ignore(ecf, kv, force, pool, log);
    }

    z = ecf->zone;
    smcf = z->smcf;
    tables = smcf->tables.elts;

    tg = ngx_pcalloc(pool, (smcf->tables.nelts + 1)
                           * sizeof(ngx_http_strangler_etcd_target_t));
    if (tg == NULL) {
        return NGX_ERROR;
    }

    found = 0;

    for (i = 0; i < smcf->tables.nelts; i++) {
        route = strangler_route_find(tables[i]->core, (char *) kv->name.data,
                                     kv->name.len);
        if (route == NULL) {
            continue;
        }

        found++;
        tg[i].shr = ngx_http_strangler_binding(tables[i], route)->shr;
        tg[i].route = route;

        if (kv->deleted) {
            tg[i].rec.sample_ppm = -1;
            ngx_str_set(&tg[i].rec.via, "etcd");
            continue;
        }

        rc = ngx_http_strangler_etcd_record(tables[i], route, &kv->value,
                                            &tg[i].rec, pool, &err);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            tg[i].err = err;
            ngx_memzero(&tg[i].rec, sizeof(ngx_http_strangler_override_rec_t));
            tg[i].rec.sample_ppm = -1;
        }

        /*
         * A value written to etcd by another tool says neither through
         * what nor when: "etcd", at the time this host applied it
         */

        if (tg[i].rec.via.len == 0) {
            if (tg[i].rec.by.len) {
                ngx_str_set(&tg[i].rec.via, "api");

            } else {
                ngx_str_set(&tg[i].rec.via, "etcd");
            }
        }

        if (tg[i].rec.at == 0) {
            tg[i].rec.at = ngx_time();
        }
    }

    if (found == 0) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "strangler: etcd: no route \"%V\" here", &kv->name);
        return 0;
    }

    n = 0;
    full = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    /* a name that never had a key needs no record of its deletion */
    key = ngx_http_strangler_etcd_key_locked(z, &kv->name, !kv->deleted);

    if (key == NULL && !kv->deleted) {
        full = 1;

    } else if (key == NULL || force || kv->revision > key->applied) {
        if (key) {
            key->applied = kv->revision;
            key->mod = kv->deleted ? 0 : kv->mod_revision;
            key->err_len = 0;
        }

        for (i = 0; i < smcf->tables.nelts; i++) {
            if (tg[i].shr == NULL) {
                continue;
            }

            if (tg[i].err && key) {
                ngx_http_strangler_etcd_key_err(key, tg[i].err);
            }

            if (tg[i].shr->pending) {
                if (ngx_http_strangler_etcd_pending_keeps(tables[i],
                                                          tg[i].route,
                                                          tg[i].shr,
                                                          &tg[i].rec))
                {
                    /* published over it later: ngx_..._etcd_pending.c */
                    continue;
                }

                tg[i].superseded = (tg[i].shr->override != NULL);
            }

            if (tg[i].shr->override == NULL && tg[i].rec.reads.len == 0
                && tg[i].rec.owner.len == 0 && tg[i].rec.sample_ppm < 0)
            {
                /* none, and none it was */
                continue;
            }

            if (ngx_http_strangler_override_set_locked(z, tg[i].shr,
                                                       &tg[i].rec)
                != NGX_OK)
            {
                /* never an older decision under a newer revision */
                ngx_memzero(&tg[i].rec,
                            sizeof(ngx_http_strangler_override_rec_t));
                tg[i].rec.sample_ppm = -1;
                (void) ngx_http_strangler_override_set_locked(z, tg[i].shr,
                                                              &tg[i].rec);
                if (key) {
                    ngx_http_strangler_etcd_key_err(key,
                                            "the zone is full: no override");
                }

                full = 1;
            }

            n++;
        }

    } else {
        /* stale: the same or a later revision applies already */
        tg = NULL;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    for (i = 0; tg && i < smcf->tables.nelts; i++) {
        if (tg[i].superseded) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "strangler: route \"%V\" had a change made here "
                          "while etcd was unreachable, and its owner was "
                          "moved to \"%V\" on another host meanwhile: "
                          "etcd's value wins, the change made here is "
                          "dropped", &kv->name, &tg[i].rec.owner);
        }

        if (tg[i].err) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "strangler: etcd key \"%V"
                          NGX_HTTP_STRANGLER_ETCD_ROUTES "%V\" is not a "
                          "valid override for \"%V\": %s; the route has "
                          "no override here",
                          &ecf->prefix, &kv->name, &tables[i]->file,
                          tg[i].err);
        }
    }

    if (full) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "strangler_zone \"%V\" is full: the override of "
                      "\"%V\" from etcd cannot be stored, the route has no "
                      "override here",
                      &z->name, &kv->name);
    }

    return n;
}


/* the mod_revision of a key (a name as in the kv) as this host saw it */

int64_t
ngx_http_strangler_etcd_key_mod(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *name)
{
    int64_t                         mod;
    ngx_http_strangler_etcd_key_t  *key;

    ngx_shmtx_lock(&z->shpool->mutex);
    key = ngx_http_strangler_etcd_key_locked(z, name, 0);
    mod = key ? key->mod : 0;
    ngx_shmtx_unlock(&z->shpool->mutex);

    return mod;
}


/*
 * A route's override changed here only (a guard's trip that etcd does not
 * hold yet): whatever etcd says of its key next applies over it, even at
 * a revision this host had applied already (a change whose transaction
 * deletes a key that is not there leaves the revision where it was).
 */

ngx_int_t
ngx_http_strangler_etcd_local(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *name)
{
    ngx_http_strangler_etcd_key_t  *key;

    ngx_shmtx_lock(&z->shpool->mutex);

    key = ngx_http_strangler_etcd_key_locked(z, name, 1);
    if (key) {
        key->applied = 0;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return key ? NGX_OK : NGX_ERROR;
}


/*
 * PREFIX ignore/NAME: the JSON list of a route's runtime ignore rules,
 * checked by the API's own function, which replaces the rules of every
 * compared route of that name (a deleted key: none), in the same step as
 * the key's revision.  A value that is not a list of valid rules is
 * ignored with a warning naming the key.  The number of routes changed.
 */

ngx_int_t
ngx_http_strangler_etcd_apply_ignore(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_http_strangler_etcd_kv_t *kv, ngx_uint_t force, ngx_pool_t *pool,
    ngx_log_t *log)
{
    u_char                            *err;
    json_t                            *rules;
    ngx_int_t                          n, rc;
    ngx_str_t                          name;
    ngx_uint_t                         i, invalid;
    const strangler_route_t           *route;
    ngx_http_strangler_table_t       **tables;
    ngx_http_strangler_zone_ctx_t     *z;
    ngx_http_strangler_etcd_key_t     *key;
    ngx_http_strangler_sh_fields_t    *f;
    ngx_http_strangler_ignore_list_t   list;

    z = ecf->zone;
    tables = z->smcf->tables.elts;

    name.data = kv->name.data + sizeof(NGX_HTTP_STRANGLER_ETCD_IGNORE) - 1;
    name.len = kv->name.len - (sizeof(NGX_HTTP_STRANGLER_ETCD_IGNORE) - 1);

    rules = kv->deleted ? json_array()
                        : json_loadb((char *) kv->value.data, kv->value.len,
                                     0, NULL);

    err = NULL;
    rc = NGX_HTTP_BAD_REQUEST;

    if (json_is_array(rules)) {
        rc = ngx_http_strangler_ignore_next(z, NULL, rules, NULL, &list, pool,
                                            &err);
    }

    json_decref(rules);

    if (kv->value.len > NGX_HTTP_STRANGLER_ETCD_VALUE_MAX) {
        rc = NGX_HTTP_BAD_REQUEST;
        err = (u_char *) "the value is over "
                         ngx_value(NGX_HTTP_STRANGLER_ETCD_VALUE_MAX) " bytes";
    }

    invalid = (rc != NGX_OK);

    if (invalid) {
        /* not a list of valid rules: none, on every host alike */
        ngx_memzero(&list, sizeof(ngx_http_strangler_ignore_list_t));
        rc = NGX_OK;
    }

    n = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    /* the key's revision counts even for a bad value: a write replaces it */
    key = ngx_http_strangler_etcd_key_locked(z, &kv->name, !kv->deleted);

    if (key && !force && kv->revision <= key->applied) {
        /* stale: the same or a later revision applies already */
        rc = NGX_DONE;
        invalid = 0;

    } else if (key) {
        key->applied = kv->revision;
        key->mod = kv->deleted ? 0 : kv->mod_revision;
        key->err_len = 0;

        if (invalid) {
            ngx_http_strangler_etcd_key_err(key, err ? (char *) err
                                            : "not a JSON list of rules");
        }
    }

    for (i = 0; rc == NGX_OK && i < z->smcf->tables.nelts; i++) {
        route = strangler_route_find(tables[i]->core, (char *) name.data,
                                     name.len);
        if (route == NULL) {
            continue;
        }

        f = ngx_http_strangler_binding(tables[i], route)->shr->fields;

        if (f == NULL
            || (f->nignore == list.n
                && ngx_memcmp(f->ignore, list.rule,
                              list.n * NGX_HTTP_STRANGLER_FIELD_LEN) == 0))
        {
            continue;
        }

        ngx_http_strangler_ignore_set_locked(f, list.rule, list.n);
        n++;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (invalid) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "strangler: etcd key \"%V%V\" is not a JSON list of "
                      "ignore rules%s%s; the route has no runtime rules here",
                      &ecf->prefix, &kv->name,
                      err ? ": " : "", err ? (char *) err : "");
    }

    return n;
}


/* with the mutex held: the first reason a key's value is refused */

static void
ngx_http_strangler_etcd_key_err(ngx_http_strangler_etcd_key_t *key,
    const char *err)
{
    if (key->err_len) {
        return;
    }

    key->err_len = ngx_min(ngx_strlen(err), NGX_HTTP_STRANGLER_ETCD_ERR_MAX);
    ngx_memcpy(key->err, err, key->err_len);
}


/* the keys whose value is refused here, for the status's fleet object */

json_t *
ngx_http_strangler_etcd_invalid(ngx_http_strangler_etcd_conf_t *ecf)
{
    u_char                          text[1024], *last;
    json_t                         *list, *j;
    ngx_str_t                       ignore = ngx_string(
                                             NGX_HTTP_STRANGLER_ETCD_IGNORE);
    ngx_rbtree_t                   *tree;
    ngx_rbtree_node_t              *node;
    ngx_http_strangler_zone_ctx_t  *z;
    ngx_http_strangler_etcd_key_t  *key;

    z = ecf->zone;
    tree = &z->sh->etcd->keys;
    list = json_array();

    ngx_shmtx_lock(&z->shpool->mutex);

    node = (tree->root == tree->sentinel)
           ? NULL : ngx_rbtree_min(tree->root, tree->sentinel);

    for ( /* void */ ; list && node; node = ngx_rbtree_next(tree, node)) {
        key = (ngx_http_strangler_etcd_key_t *) node;

        if (key->err_len == 0) {
            continue;
        }

        /* the name is "NAME" for routes/NAME, "ignore/NAME" as it is */
        last = ngx_snprintf(text, sizeof(text), "%V%s%V", &ecf->prefix,
                            (key->sn.str.len > ignore.len
                             && ngx_strncmp(key->sn.str.data, ignore.data,
                                            ignore.len) == 0)
                            ? "" : NGX_HTTP_STRANGLER_ETCD_ROUTES,
                            &key->sn.str);

        j = json_pack("{s:s%, s:s%}",
                      "key", text, (size_t) (last - text),
                      "error", key->err, key->err_len);

        if (j == NULL || json_array_append_new(list, j) != 0) {
            json_decref(list);
            list = NULL;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return list;
}


/* the fleet's state for the status JSON */

json_t *
ngx_http_strangler_etcd_status(ngx_http_strangler_main_conf_t *smcf)
{
    json_t                              *eps, *err, *j;
    time_t                               at;
    ngx_uint_t                           i;
    ngx_http_strangler_etcd_sh_t        *sh;
    ngx_http_strangler_etcd_conf_t      *ecf;
    ngx_http_strangler_etcd_endpoint_t  *ep;

    ecf = smcf->etcd;
    sh = ecf->zone->sh->etcd;
    ep = ecf->endpoints.elts;

    eps = json_array();

    for (i = 0; eps && i < ecf->endpoints.nelts; i++) {
        if (json_array_append_new(eps, json_stringn((char *) ep[i].name.data,
                                                    ep[i].name.len)))
        {
            json_decref(eps);
            eps = NULL;
        }
    }

    at = (time_t) sh->event_at;
    i = sh->endpoint % ecf->endpoints.nelts;

    ngx_shmtx_lock(&ecf->zone->shpool->mutex);
    err = (sh->connected || sh->error_len == 0)
          ? json_null()
          : json_stringn((char *) sh->error, sh->error_len);
    ngx_shmtx_unlock(&ecf->zone->shpool->mutex);

    j = json_pack("{s:o, s:s%, s:s%, s:b, s:I, s:o, s:I, s:o, s:o, s:o}",
                  "endpoints", eps,
                  "endpoint", ep[i].name.data, ep[i].name.len,
                  "prefix", ecf->prefix.data, ecf->prefix.len,
                  "connected", (int) sh->connected,
                  "revision", (json_int_t) sh->revision,
                  "since_last_event",
                    at ? json_integer(ngx_time() - at) : json_null(),
                  "watcher_pid", (json_int_t) sh->holder,
                  "error", err,
                  "outcomes", ngx_http_strangler_etcd_fence_status(ecf),
                  "invalid", ngx_http_strangler_etcd_invalid(ecf));

    return j;
}


/* the same for the metrics */

void
ngx_http_strangler_etcd_metrics(ngx_http_strangler_text_t *out,
    ngx_http_strangler_main_conf_t *smcf)
{
    time_t                         at;
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = smcf->etcd->zone->sh->etcd;
    at = (time_t) sh->event_at;

    ngx_http_strangler_text(out,
        "# HELP strangler_etcd_connected "
        "Whether the host's watch of etcd is connected.\n"
        "# TYPE strangler_etcd_connected gauge\n"
        "strangler_etcd_connected %d\n"
        "# HELP strangler_etcd_revision "
        "The etcd revision the host applied.\n"
        "# TYPE strangler_etcd_revision gauge\n"
        "strangler_etcd_revision %uA\n"
        "# HELP strangler_etcd_last_event_timestamp_seconds "
        "When the host last applied an event from etcd (0: never).\n"
        "# TYPE strangler_etcd_last_event_timestamp_seconds gauge\n"
        "strangler_etcd_last_event_timestamp_seconds %T\n",
        sh->connected ? 1 : 0, sh->revision, at);
}
