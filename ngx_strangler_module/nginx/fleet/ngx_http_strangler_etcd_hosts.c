
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The fleet's members.  Every host registers under two keys: a member key,
 * PREFIX hosts/NAME (API address, versions, the revision it applied,
 * started at), put without a lease, so it stays until the host leaves
 * cleanly or an operator removes it; and a presence key, PREFIX alive/NAME,
 * bound to a lease the host keeps alive: it says whether the host is
 * alive now.  Membership and liveness apart: a host cut off from etcd is
 * still a member, silent.
 *
 * The watching worker does it, at its ticks: it grants a lease (the lease
 * is the host's, in the zone, so a worker taking the watch over keeps it),
 * puts both keys in one transaction, keeps the lease alive at a third of
 * its TTL, and puts the member key again when it applied a newer override
 * revision.  A lease etcd no longer knows (it expired while etcd was out
 * of reach) is granted again, and both keys put again.
 *
 * Leaving: the master deletes both keys at its exit (a stop, not a
 * reload), with one bounded call; it serves no client then.
 */


#include "ngx_http_strangler_etcd.h"

#include <poll.h>


#define NGX_HTTP_STRANGLER_HOSTS_RETRY   1000   /* ms */
#define NGX_HTTP_STRANGLER_LEAVE_WAIT    1000   /* ms, each step */


static json_t *ngx_http_strangler_etcd_member(
    ngx_http_strangler_etcd_conf_t *ecf, int64_t revision);
static void ngx_http_strangler_etcd_granted(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_registered(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_renewed(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
static void ngx_http_strangler_etcd_hosts_later(ngx_msec_t ms);
static ngx_int_t ngx_http_strangler_etcd_leave_to(ngx_addr_t *addr,
    u_char *req, size_t len, ngx_log_t *log);


/* per worker: the watcher's one registration call in flight */
static ngx_http_strangler_etcd_call_t  *ngx_http_strangler_hosts_call;
static ngx_msec_t                       ngx_http_strangler_hosts_next;
static int64_t                          ngx_http_strangler_hosts_sent;


static uint64_t
ngx_http_strangler_etcd_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}


/* strangler_host_name's default, and the keys made of it */

ngx_int_t
ngx_http_strangler_etcd_hosts_conf(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf)
{
    u_char     *p;
    ngx_str_t   key;

    if (ecf->host_name.len == 0) {
        ecf->host_name = cf->cycle->hostname;
    }

    if (!ngx_http_strangler_etcd_host_name_ok(ecf->host_name.data,
                                              ecf->host_name.len))
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_host_name\" \"%V\" is not a valid host "
                      "name (1 to %d letters, digits, '.', '-' or '_')",
                      &ecf->host_name, NGX_HTTP_STRANGLER_HOST_NAME_MAX);
        return NGX_ERROR;
    }

    if (ecf->host_ttl == NGX_CONF_UNSET) {
        ecf->host_ttl = NGX_HTTP_STRANGLER_HOST_TTL;
    }

    if (ecf->fence == NGX_CONF_UNSET) {
        ecf->fence = 0;
    }

    if (ecf->host_ttl < 2) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_host_ttl\" must be 2s or more");
        return NGX_ERROR;
    }

    key.len = ecf->prefix.len + sizeof(NGX_HTTP_STRANGLER_ETCD_HOSTS) - 1
              + ecf->host_name.len;
    key.data = ngx_pnalloc(cf->pool, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key.data, ecf->prefix.data, ecf->prefix.len);
    p = ngx_cpymem(p, NGX_HTTP_STRANGLER_ETCD_HOSTS,
                   sizeof(NGX_HTTP_STRANGLER_ETCD_HOSTS) - 1);
    ngx_memcpy(p, ecf->host_name.data, ecf->host_name.len);

    if (ngx_http_strangler_etcd_b64(cf->pool, &ecf->member_key, key.data,
                                    key.len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    key.len = ecf->prefix.len + sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE) - 1
              + ecf->host_name.len;
    key.data = ngx_pnalloc(cf->pool, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key.data, ecf->prefix.data, ecf->prefix.len);
    p = ngx_cpymem(p, NGX_HTTP_STRANGLER_ETCD_ALIVE,
                   sizeof(NGX_HTTP_STRANGLER_ETCD_ALIVE) - 1);
    ngx_memcpy(p, ecf->host_name.data, ecf->host_name.len);

    return ngx_http_strangler_etcd_b64(cf->pool, &ecf->alive_key, key.data,
                                       key.len);
}


/* the watcher's tick: one step of the registration, if one is due */

void
ngx_http_strangler_etcd_hosts_tick(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_log_t *log)
{
    json_t                        *body, *member, *alive;
    char                          *text;
    ngx_pool_t                    *pool;
    int64_t                        rev;
    ngx_str_t                      m64, a64, raw;
    ngx_http_strangler_etcd_sh_t  *sh;

    if (ngx_http_strangler_hosts_call
        || (ngx_msec_int_t) (ngx_http_strangler_hosts_next - ngx_current_msec)
           > 0)
    {
        return;
    }

    sh = ecf->zone->sh->etcd;

    if (sh->lease == 0) {
        body = json_pack("{s:I}", "TTL", (json_int_t) ecf->host_ttl);

        ngx_http_strangler_hosts_call = ngx_http_strangler_etcd_call(ecf,
                                       "/v3/lease/grant", body,
                                       ngx_http_strangler_etcd_granted,
                                       NULL, ecf, log);
        goto started;
    }

    rev = (int64_t) sh->synced;

    if (!sh->registered || rev != (int64_t) sh->reported) {
        member = ngx_http_strangler_etcd_member(ecf, rev);
        alive = json_pack("{s:s%, s:I}",
                          "name", ecf->host_name.data, ecf->host_name.len,
                          "since", (json_int_t) (sh->boot / 1000));

        body = NULL;
        pool = ngx_create_pool(1024, log);
        text = (member && pool) ? json_dumps(member, JSON_COMPACT) : NULL;
        json_decref(member);

        if (text) {
            raw.data = (u_char *) text;
            raw.len = ngx_strlen(text);

            if (ngx_http_strangler_etcd_b64(pool, &m64, raw.data,
                                            raw.len)
                != NGX_OK)
            {
                m64.len = 0;
            }

            free(text);
            text = alive ? json_dumps(alive, JSON_COMPACT) : NULL;
        }

        json_decref(alive);

        if (text) {
            raw.data = (u_char *) text;
            raw.len = ngx_strlen(text);

            if (m64.len
                && ngx_http_strangler_etcd_b64(pool, &a64,
                                               raw.data, raw.len)
                   == NGX_OK)
            {
                /* the presence key's lease must exist: else it failed */
                body = json_pack("{s:[{s:{s:s%, s:s%}},"
                                 " {s:{s:s%, s:s%, s:I}}]}",
                                 "success",
                                   "request_put",
                                     "key", ecf->member_key.data,
                                     ecf->member_key.len,
                                     "value", m64.data, m64.len,
                                   "request_put",
                                     "key", ecf->alive_key.data,
                                     ecf->alive_key.len,
                                     "value", a64.data, a64.len,
                                     "lease", (json_int_t) sh->lease);
            }

            free(text);
        }

        if (pool) {
            /* json_pack copied the strings */
            ngx_destroy_pool(pool);
        }

        ngx_http_strangler_hosts_sent = rev;
        ngx_http_strangler_hosts_call = ngx_http_strangler_etcd_call(ecf,
                                       "/v3/kv/txn", body,
                                       ngx_http_strangler_etcd_registered,
                                       NULL, ecf, log);
        goto started;
    }

    if (ngx_http_strangler_etcd_now_ms() - sh->renewed
        < (uint64_t) ecf->host_ttl * 1000 / 3)
    {
        return;
    }

    body = json_pack("{s:I}", "ID", (json_int_t) sh->lease);

    ngx_http_strangler_hosts_call = ngx_http_strangler_etcd_call(ecf,
                                   "/v3/lease/keepalive", body,
                                   ngx_http_strangler_etcd_renewed,
                                   NULL, ecf, log);

started:

    if (ngx_http_strangler_hosts_call == NULL) {
        ngx_http_strangler_etcd_hosts_later(NGX_HTTP_STRANGLER_HOSTS_RETRY);
    }
}


/* the watcher lets go of the watch: its call in flight with it */

void
ngx_http_strangler_etcd_hosts_stop(void)
{
    if (ngx_http_strangler_hosts_call) {
        ngx_http_strangler_etcd_call_abort(ngx_http_strangler_hosts_call);
        ngx_http_strangler_hosts_call = NULL;
    }
}


static void
ngx_http_strangler_etcd_hosts_later(ngx_msec_t ms)
{
    ngx_http_strangler_hosts_next = ngx_current_msec + ms;
}


/* the member key's value */

static json_t *
ngx_http_strangler_etcd_member(ngx_http_strangler_etcd_conf_t *ecf,
    int64_t revision)
{
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = ecf->zone->sh->etcd;

    return json_pack("{s:s%, s:o, s:s, s:s, s:I, s:I, s:I}",
                     "name", ecf->host_name.data, ecf->host_name.len,
                     "api", ecf->host_api.len
                            ? json_stringn((char *) ecf->host_api.data,
                                           ecf->host_api.len)
                            : json_null(),
                     "nginx", NGINX_VERSION,
                     "module", NGX_HTTP_STRANGLER_VERSION,
                     "revision", (json_int_t) revision,
                     "started", (json_int_t) (sh->boot / 1000),
                     "ttl", (json_int_t) ecf->host_ttl);
}


static void
ngx_http_strangler_etcd_granted(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_conf_t *ecf;

    int64_t                        id;
    ngx_http_strangler_etcd_sh_t  *sh;

    ecf = ngx_http_strangler_etcd_call_data(call);
    sh = ecf->zone->sh->etcd;
    ngx_http_strangler_hosts_call = NULL;

    id = (rc == NGX_OK) ? ngx_http_strangler_etcd_int(answer, "ID") : 0;

    if (id == 0) {
        ngx_http_strangler_etcd_hosts_later(NGX_HTTP_STRANGLER_HOSTS_RETRY);
        return;
    }

    sh->lease = (ngx_atomic_uint_t) id;
    sh->registered = 0;
    sh->renewed = ngx_http_strangler_etcd_now_ms();

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "strangler: host \"%V\" has lease %L (%T s) in etcd",
                  &ecf->host_name, id, ecf->host_ttl);
}


static void
ngx_http_strangler_etcd_registered(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_conf_t *ecf;

    ngx_http_strangler_etcd_sh_t  *sh;

    ecf = ngx_http_strangler_etcd_call_data(call);
    sh = ecf->zone->sh->etcd;
    ngx_http_strangler_hosts_call = NULL;

    if (rc == NGX_DECLINED) {
        /* etcd refused the put: the lease is gone (expired) */
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "strangler: etcd refused host \"%V\"'s registration "
                      "(its lease expired?): a new lease follows",
                      &ecf->host_name);
        sh->lease = 0;
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_strangler_etcd_hosts_later(NGX_HTTP_STRANGLER_HOSTS_RETRY);
        return;
    }

    if (!sh->registered) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "strangler: host \"%V\" registered in etcd",
                      &ecf->host_name);
    }

    sh->registered = 1;
    sh->reported = (ngx_atomic_uint_t) ngx_http_strangler_hosts_sent;
}


static void
ngx_http_strangler_etcd_renewed(ngx_http_strangler_etcd_call_t *call,
    ngx_int_t rc, json_t *answer)
{
    ngx_http_strangler_etcd_conf_t *ecf;

    ngx_http_strangler_etcd_sh_t  *sh;

    ecf = ngx_http_strangler_etcd_call_data(call);
    sh = ecf->zone->sh->etcd;
    ngx_http_strangler_hosts_call = NULL;

    if (rc != NGX_OK) {
        ngx_http_strangler_etcd_hosts_later(NGX_HTTP_STRANGLER_HOSTS_RETRY);
        return;
    }

    if (ngx_http_strangler_etcd_int(json_object_get(answer, "result"), "TTL")
        <= 0)
    {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "strangler: host \"%V\"'s lease expired in etcd: "
                      "it registers again", &ecf->host_name);
        sh->lease = 0;
        sh->registered = 0;
        return;
    }

    sh->renewed = ngx_http_strangler_etcd_now_ms();
}


/* how long ago this host last renewed its lease (or started, if never) */

ngx_msec_int_t
ngx_http_strangler_etcd_hosts_silence(ngx_http_strangler_etcd_conf_t *ecf)
{
    uint64_t                       last;
    ngx_http_strangler_etcd_sh_t  *sh;

    sh = ecf->zone->sh->etcd;
    last = ngx_max((uint64_t) sh->renewed, sh->boot);

    return (ngx_msec_int_t) (ngx_http_strangler_etcd_now_ms() - last);
}


/*
 * The master's exit (nginx stops; a reload does not exit it): the host
 * leaves the fleet.  Both keys go in one transaction, to the first
 * endpoint that takes it, each step bounded: the master serves no client
 * and its workers are gone.  Endpoints over TLS or with a user are left
 * alone (a blocking handshake is not worth it): the presence key expires
 * with its lease, the member key stays until an operator removes it.
 */

void
ngx_http_strangler_etcd_hosts_leave(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_log_t *log)
{
    u_char                              *req, *p;
    json_t                              *body;
    char                                *text;
    size_t                               len;
    ngx_uint_t                           i;
    ngx_http_strangler_etcd_endpoint_t  *ep;

    if (ecf->https || ecf->auth.len || ecf->zone == NULL
        || ecf->zone->sh == NULL || ecf->zone->sh->etcd == NULL)
    {
        return;
    }

    body = json_pack("{s:[{s:{s:s%}}, {s:{s:s%}}]}",
                     "success",
                       "request_delete_range",
                         "key", ecf->member_key.data, ecf->member_key.len,
                       "request_delete_range",
                         "key", ecf->alive_key.data, ecf->alive_key.len);

    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);

    if (text == NULL) {
        return;
    }

    len = sizeof("POST /v3/kv/txn HTTP/1.0" CRLF
                 "Content-Type: application/json" CRLF
                 "Content-Length: " CRLF CRLF) - 1
          + NGX_SIZE_T_LEN + ngx_strlen(text);

    req = ngx_alloc(len, log);

    if (req) {
        p = ngx_sprintf(req, "POST /v3/kv/txn HTTP/1.0" CRLF
                             "Content-Type: application/json" CRLF
                             "Content-Length: %uz" CRLF CRLF "%s",
                        ngx_strlen(text), text);

        ep = ecf->endpoints.elts;

        for (i = 0; i < ecf->endpoints.nelts; i++) {
            if (!ep[i].ip) {
                continue;
            }

            if (ngx_http_strangler_etcd_leave_to(&ep[i].addr, req, p - req,
                                                 log)
                == NGX_OK)
            {
                ngx_log_error(NGX_LOG_NOTICE, log, 0,
                              "strangler: host \"%V\" left the fleet",
                              &ecf->host_name);
                break;
            }
        }

        ngx_free(req);
    }

    free(text);
}


static ngx_int_t
ngx_http_strangler_etcd_leave_to(ngx_addr_t *addr, u_char *req, size_t len,
    ngx_log_t *log)
{
    int            err;
    u_char         buf[64];
    ssize_t        n;
    socklen_t      elen;
    ngx_int_t      rc;
    ngx_socket_t   s;
    struct pollfd  pfd;

    s = ngx_socket(addr->sockaddr->sa_family, SOCK_STREAM, 0);
    if (s == (ngx_socket_t) -1) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_nonblocking(s) == -1) {
        goto done;
    }

    if (connect(s, addr->sockaddr, addr->socklen) == -1
        && ngx_socket_errno != NGX_EINPROGRESS)
    {
        goto done;
    }

    pfd.fd = s;
    pfd.events = POLLOUT;

    if (poll(&pfd, 1, NGX_HTTP_STRANGLER_LEAVE_WAIT) != 1) {
        goto done;
    }

    err = 0;
    elen = sizeof(int);

    if (getsockopt(s, SOL_SOCKET, SO_ERROR, (void *) &err, &elen) == -1
        || err != 0)
    {
        goto done;
    }

    /* a few hundred bytes: one send() takes them on a fresh socket */
    if (send(s, req, len, 0) != (ssize_t) len) {
        goto done;
    }

    pfd.events = POLLIN;

    if (poll(&pfd, 1, NGX_HTTP_STRANGLER_LEAVE_WAIT) != 1) {
        goto done;
    }

    n = recv(s, buf, sizeof(buf) - 1, 0);

    if (n > 12 && ngx_strncmp(buf + 9, "200", 3) == 0) {
        rc = NGX_OK;
    }

done:

    ngx_close_socket(s);

    return rc;
}
