
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler_etcd ENDPOINT... [prefix=/strangler/];`: the overrides of
 * every host that shares the prefix live in etcd.  The directive, the one
 * path by which etcd's content reaches the zone, and the fleet's state in
 * the status JSON and the metrics.  Changes: ngx_http_strangler_etcd_write.c.
 */


#include "ngx_http_strangler_api.h"
#include "ngx_http_strangler_etcd.h"


static ngx_int_t ngx_http_strangler_etcd_endpoint(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf, ngx_str_t *value);


char *
ngx_http_strangler_etcd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_main_conf_t *smcf = conf;

    u_char                          *end;
    ngx_str_t                       *value;
    ngx_uint_t                       i;
    ngx_http_strangler_etcd_conf_t  *ecf;

    if (smcf->etcd) {
        return "is duplicate";
    }

    ecf = ngx_pcalloc(cf->pool, sizeof(ngx_http_strangler_etcd_conf_t));
    if (ecf == NULL
        || ngx_array_init(&ecf->endpoints, cf->pool, 3,
                          sizeof(ngx_http_strangler_etcd_endpoint_t))
           != NGX_OK)
    {
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

    smcf->etcd = ecf;

    return NGX_CONF_OK;
}


/* http://HOST:PORT or HOST:PORT (2379 by default) */

static ngx_int_t
ngx_http_strangler_etcd_endpoint(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf, ngx_str_t *value)
{
    ngx_url_t                            u;
    ngx_http_strangler_etcd_endpoint_t  *ep;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *value;
    u.default_port = 2379;

    if (ngx_strncmp(u.url.data, "https://", 8) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "etcd endpoint \"%V\": TLS is not supported, use "
                           "http:// on a trusted network", value);
        return NGX_ERROR;
    }

    if (ngx_strncmp(u.url.data, "http://", 7) == 0) {
        u.url.data += 7;
        u.url.len -= 7;
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

    return NGX_OK;
}


ngx_int_t
ngx_http_strangler_etcd_init_conf(ngx_conf_t *cf)
{
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    if (smcf->etcd == NULL) {
        return NGX_OK;
    }

    smcf->etcd->zone = ngx_http_strangler_zone_ctx(smcf);

    if (smcf->etcd->zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_etcd\" needs a \"strangler_zone\"");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The one path by which etcd's content reaches the zone, for the watch's
 * events, its full reads and the API's own accepted writes: every table
 * with a route of that name takes the value, if it is a valid override
 * for that table.  Returns the number of routes changed.
 */

ngx_int_t
ngx_http_strangler_etcd_apply(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_http_strangler_etcd_kv_t *kv, ngx_uint_t force, ngx_pool_t *pool,
    ngx_log_t *log)
{
    ngx_int_t                           n, found, rc;
    ngx_uint_t                          i;
    const char                         *err;
    const strangler_route_t            *route;
    ngx_http_strangler_table_t        **tables;
    ngx_http_strangler_binding_t       *b;
    ngx_http_strangler_main_conf_t     *smcf;
    ngx_http_strangler_override_rec_t   rec;

    smcf = ecf->zone->smcf;
    tables = smcf->tables.elts;
    n = 0;
    found = 0;

    for (i = 0; i < smcf->tables.nelts; i++) {
        route = strangler_route_find(tables[i]->core, (char *) kv->name.data,
                                     kv->name.len);
        if (route == NULL) {
            continue;
        }

        found++;
        b = ngx_http_strangler_binding(tables[i], route);

        if (kv->deleted) {
            ngx_memzero(&rec, sizeof(ngx_http_strangler_override_rec_t));
            rec.sample_ppm = -1;
            rc = NGX_OK;

        } else {
            rc = ngx_http_strangler_etcd_record(tables[i], route, &kv->value,
                                                &rec, pool, &err);
        }

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "strangler: etcd key \"%V"
                          NGX_HTTP_STRANGLER_ETCD_ROUTES "%V\" is not a "
                          "valid override for \"%V\": %s; ignored",
                          &ecf->prefix, &kv->name, &tables[i]->file, err);

            /* seen all the same: a write may replace it */
            (void) ngx_http_strangler_override_replace(ecf->zone, b->shr,
                                                       NULL, kv->mod_revision,
                                                       kv->revision, force);
            continue;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_http_strangler_override_replace(ecf->zone, b->shr, &rec,
                                                 kv->deleted
                                                 ? 0 : kv->mod_revision,
                                                 kv->revision, force);
        if (rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "strangler_zone \"%V\" is full: the override of "
                          "\"%V\" from etcd is not applied",
                          &ecf->zone->name, &kv->name);
            continue;
        }

        n += (rc == NGX_OK);
    }

    if (found == 0) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "strangler: etcd: no route \"%V\" here", &kv->name);
    }

    return n;
}


/* the fleet's state for the status JSON */

json_t *
ngx_http_strangler_etcd_status(ngx_http_strangler_main_conf_t *smcf)
{
    json_t                              *eps, *j;
    time_t                               at;
    ngx_uint_t                           i;
    ngx_http_strangler_etcd_sh_t        *sh;
    ngx_http_strangler_etcd_conf_t      *ecf;
    ngx_http_strangler_etcd_endpoint_t  *ep;

    ecf = smcf->etcd;
    sh = &ecf->zone->sh->etcd;
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

    j = json_pack("{s:o, s:s%, s:s%, s:b, s:I, s:o, s:I}",
                  "endpoints", eps,
                  "endpoint", ep[i].name.data, ep[i].name.len,
                  "prefix", ecf->prefix.data, ecf->prefix.len,
                  "connected", (int) sh->connected,
                  "revision", (json_int_t) sh->revision,
                  "since_last_event",
                    at ? json_integer(ngx_time() - at) : json_null(),
                  "watcher_pid", (json_int_t) sh->holder);

    return j;
}


/* the same for the metrics */

ngx_int_t
ngx_http_strangler_etcd_metrics(ngx_http_strangler_main_conf_t *smcf,
    ngx_buf_t **out, ngx_pool_t *pool)
{
    time_t                         at;
    ngx_buf_t                     *b;
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = &smcf->etcd->zone->sh->etcd;
    at = (time_t) sh->event_at;

    b = ngx_create_temp_buf(pool, 1024);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->last,
        "# HELP strangler_etcd_connected "
        "Whether the host's watch of etcd is connected.\n"
        "# TYPE strangler_etcd_connected gauge\n"
        "strangler_etcd_connected %d\n"
        "# HELP strangler_etcd_revision "
        "The etcd revision the host applied.\n"
        "# TYPE strangler_etcd_revision gauge\n"
        "strangler_etcd_revision %uA\n"
        "# HELP strangler_etcd_seconds_since_event "
        "Seconds since the host applied an event from etcd (-1: none).\n"
        "# TYPE strangler_etcd_seconds_since_event gauge\n"
        "strangler_etcd_seconds_since_event %T\n",
        sh->connected ? 1 : 0, sh->revision,
        at ? ngx_time() - at : (time_t) -1);

    *out = b;

    return NGX_OK;
}
