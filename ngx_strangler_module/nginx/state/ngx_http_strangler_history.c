
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Every runtime change of a route's override, as one JSON object:
 *
 *     {"id": 7, "at": "2026-12-06T03:12:09Z", "route": "orders",
 *      "table": "/etc/nginx/routes.yaml", "host": "web-1",
 *      "by": "alice", "via": "break-glass", "reason": "INC-4711",
 *      "result": "applied",
 *      "changes": {"reads": {"from": "orders", "to": "monolith"}}}
 *
 * `from`/`to` are the override's fields (null: the table's).  The last
 * NGX_HTTP_STRANGLER_HISTORY_MAX entries are kept in the zone, so every
 * worker answers the same and a reload keeps them, and with strangler_state
 * they are saved as JSON lines in FILE.history (an atomic replace, in the
 * thread pool, after the change), read back when the zone is created: a
 * restart keeps them too.  With strangler_etcd every host records every
 * change it applies, its own and those that etcd brings.
 */


#include "ngx_http_strangler_history.h"


static json_t *ngx_http_strangler_history_changes(
    ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now);
static json_t *ngx_http_strangler_history_sample(ngx_int_t ppm);
static ngx_int_t ngx_http_strangler_history_store_locked(
    ngx_http_strangler_zone_ctx_t *z, time_t at, ngx_str_t *route,
    json_t *entry, uint64_t id);
static void ngx_http_strangler_history_save(ngx_event_t *ev);
static void ngx_http_strangler_history_saved(void *data, ngx_int_t rc);
static void ngx_http_strangler_history_load(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log);
static ngx_http_strangler_sh_history_t *
    ngx_http_strangler_history_block_locked(ngx_http_strangler_zone_ctx_t *z);


static ngx_event_t                     ngx_http_strangler_history_event;
static ngx_http_strangler_zone_ctx_t  *ngx_http_strangler_history_zone;


ngx_int_t
ngx_http_strangler_history_init_zone(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    /*
     * The block is made with the first entry: a zone sized to the tables
     * starts whatever the history needs; without room, no history (the
     * zone's fullness is logged and counted where it is found)
     */

    z->sh->history_on = 1;

    if (z->smcf->state_file.len) {
        ngx_shmtx_lock(&z->shpool->mutex);

        if (ngx_http_strangler_history_block_locked(z) != NULL) {
            ngx_http_strangler_history_load(z, log);
        }

        ngx_shmtx_unlock(&z->shpool->mutex);
    }

    return NGX_OK;
}


/* the zone's history block, made once; NULL: no room */

static ngx_http_strangler_sh_history_t *
ngx_http_strangler_history_block_locked(ngx_http_strangler_zone_ctx_t *z)
{
    if (z->sh->history == NULL && z->sh->history_on) {
        z->sh->history = ngx_slab_calloc_locked(z->shpool,
                                     sizeof(ngx_http_strangler_sh_history_t));
    }

    return z->sh->history;
}


void
ngx_http_strangler_history_add_locked(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *file, ngx_str_t *route, ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now,
    ngx_http_strangler_override_rec_t *who, const char *result)
{
    time_t                            at;
    json_t                           *e, *changes;
    uint64_t                          id;
    ngx_str_t                         via;
    ngx_http_strangler_sh_history_t  *h;

    /* NULL before the state file's overrides are read: they are no change */
    h = ngx_http_strangler_history_block_locked(z);

    if (h == NULL) {
        return;
    }

    changes = ngx_http_strangler_history_changes(old, now);
    if (changes == NULL) {
        return;
    }

    if (json_object_size(changes) == 0 && result == NULL
        && (who == NULL || who->reason.len == 0
            || (old && old->at == who->at && old->by.len == who->by.len
                && ngx_strncmp(old->by.data, who->by.data, old->by.len)
                   == 0)))
    {
        /* the same override again (etcd read anew): nothing to say */
        json_decref(changes);
        return;
    }

    at = (who && who->at) ? who->at : ngx_time();
    via = (who && who->via.len) ? who->via : (ngx_str_t) ngx_string("etcd");
    id = h->seq + 1;

    e = json_pack("{s:I, s:s, s:s%, s:s%, s:s%, s:s%, s:s, s:o}",
                  "id", (json_int_t) id,
                  "at", "",
                  "route", route->data, route->len,
                  "table", file->data, file->len,
                  "host", ngx_cycle->hostname.data, ngx_cycle->hostname.len,
                  "via", via.data, via.len,
                  "result", result ? result : "applied",
                  "changes", changes);

    if (e == NULL
        || (who && ngx_http_strangler_json_set_str(e, "by", &who->by))
        || (who && ngx_http_strangler_json_set_str(e, "reason",
                                                   &who->reason)))
    {
        json_decref(e);
        return;
    }

    if (ngx_http_strangler_history_store_locked(z, at, route, e, id)
        == NGX_OK)
    {
        h->seq = id;
    }

    json_decref(e);

    if (z->smcf->state_file.len
        && (ngx_process == NGX_PROCESS_WORKER
            || ngx_process == NGX_PROCESS_SINGLE))
    {
        ngx_http_strangler_history_zone = z;
        ngx_http_strangler_history_event.handler =
                                             ngx_http_strangler_history_save;
        ngx_http_strangler_history_event.log = ngx_cycle->log;

        if (!ngx_http_strangler_history_event.posted) {
            ngx_post_event(&ngx_http_strangler_history_event,
                           &ngx_posted_events);
        }
    }
}


void
ngx_http_strangler_history_add(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *file, ngx_str_t *route, ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now, const char *result,
    ngx_pool_t *pool, ngx_log_t *log)
{
    ngx_shmtx_lock(&z->shpool->mutex);
    ngx_http_strangler_history_add_locked(z, file, route, old, now, now,
                                          result);
    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* {"reads": {"from", "to"}, ...}: the fields that differ */

static json_t *
ngx_http_strangler_history_changes(ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now)
{
    json_t     *c, *from, *to;
    ngx_str_t   none = ngx_null_string, *a, *b;
    ngx_int_t   sa, sb;
    ngx_uint_t  i;

    static const char  *names[] = { "reads", "owner" };

    c = json_object();

    for (i = 0; c && i < 2; i++) {
        a = old ? (i ? &old->owner : &old->reads) : &none;
        b = now ? (i ? &now->owner : &now->reads) : &none;

        if (a->len == b->len
            && (a->len == 0 || ngx_strncmp(a->data, b->data, a->len) == 0))
        {
            continue;
        }

        from = a->len ? json_stringn((char *) a->data, a->len) : json_null();
        to = b->len ? json_stringn((char *) b->data, b->len) : json_null();

        if (json_object_set_new(c, names[i],
                                json_pack("{s:o, s:o}", "from", from,
                                          "to", to))
            != 0)
        {
            json_decref(c);
            return NULL;
        }
    }

    sa = old ? old->sample_ppm : -1;
    sb = now ? now->sample_ppm : -1;

    if (c && sa != sb
        && json_object_set_new(c, "shadow_sample",
                   json_pack("{s:o, s:o}",
                             "from", ngx_http_strangler_history_sample(sa),
                             "to", ngx_http_strangler_history_sample(sb)))
           != 0)
    {
        json_decref(c);
        return NULL;
    }

    return c;
}


static json_t *
ngx_http_strangler_history_sample(ngx_int_t ppm)
{
    return ppm < 0 ? json_null()
                   : json_real(strangler_ppm_to_percent(ppm));
}


/* the entry in the next slot, with its time written as ISO 8601 */

static ngx_int_t
ngx_http_strangler_history_store_locked(ngx_http_strangler_zone_ctx_t *z,
    time_t at, ngx_str_t *route, json_t *entry, uint64_t id)
{
    char                               *text;
    u_char                              iso[sizeof("1970-01-01T00:00:00Z")];
    size_t                              len;
    ngx_tm_t                            tm;
    ngx_http_strangler_history_slot_t  *s;
    ngx_http_strangler_sh_history_t    *h;

    h = z->sh->history;

    ngx_gmtime(at, &tm);
    ngx_sprintf(iso, "%4d-%02d-%02dT%02d:%02d:%02dZ%Z",
                tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    if (json_object_set_new(entry, "at", json_string((char *) iso)) != 0) {
        return NGX_ERROR;
    }

    text = json_dumps(entry, JSON_COMPACT|JSON_PRESERVE_ORDER);
    if (text == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(text);

    if (len > NGX_HTTP_STRANGLER_HISTORY_LINE) {
        free(text);
        return NGX_ERROR;
    }

    s = &h->slot[h->next];

    if (s->line.data) {
        ngx_slab_free_locked(z->shpool, s->line.data);
        ngx_str_null(&s->line);
    }

    s->line.data = ngx_slab_alloc_locked(z->shpool, len + route->len);
    if (s->line.data == NULL) {
        free(text);
        return NGX_ERROR;
    }

    ngx_memcpy(s->line.data, text, len);
    s->line.len = len;
    s->route.data = s->line.data + len;
    s->route.len = route->len;
    ngx_memcpy(s->route.data, route->data, route->len);
    s->at = at;
    s->id = id;

    free(text);

    h->next = (h->next + 1) % NGX_HTTP_STRANGLER_HISTORY_MAX;

    if (h->n < NGX_HTTP_STRANGLER_HISTORY_MAX) {
        h->n++;
    }

    return NGX_OK;
}


/* newest first, filtered; *more: the id to page on from (0: none) */

json_t *
ngx_http_strangler_history_json(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *route, ngx_uint_t limit, time_t since, uint64_t before,
    uint64_t *more)
{
    json_t                             *list, *e;
    ngx_uint_t                          i, k;
    ngx_http_strangler_history_slot_t  *s;
    ngx_http_strangler_sh_history_t    *h;

    list = json_array();
    *more = 0;

    if (list == NULL || z->sh->history == NULL) {
        return list;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    h = z->sh->history;

    for (i = 0; i < h->n; i++) {
        k = (h->next + NGX_HTTP_STRANGLER_HISTORY_MAX - 1 - i)
            % NGX_HTTP_STRANGLER_HISTORY_MAX;
        s = &h->slot[k];

        if ((before && s->id >= before)
            || s->at < since
            || (route->len
                && (route->len != s->route.len
                    || ngx_strncmp(route->data, s->route.data, route->len)
                       != 0)))
        {
            continue;
        }

        if (json_array_size(list) == limit) {
            *more = json_integer_value(json_object_get(
                        json_array_get(list, limit - 1), "id"));
            break;
        }

        e = json_loadb((char *) s->line.data, s->line.len, 0, NULL);

        if (e == NULL || json_array_append_new(list, e) != 0) {
            break;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return list;
}


time_t
ngx_http_strangler_history_time(u_char *p, size_t len)
{
    int         n;
    char        buf[32];
    struct tm   tm;
    ngx_int_t   secs;

    secs = ngx_atoi(p, len);
    if (secs != NGX_ERROR) {
        return (time_t) secs;
    }

    /* no time at all (a line without "at": p is NULL) */

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }

    ngx_memcpy(buf, p, len);
    buf[len] = '\0';
    ngx_memzero(&tm, sizeof(struct tm));
    n = 0;

    if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n)
        != 6
        || (size_t) n != len || tm.tm_mon < 1 || tm.tm_mon > 12)
    {
        return -1;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return timegm(&tm);
}


/* posted after a change: the whole history to FILE.history, oldest first */

static void
ngx_http_strangler_history_save(ngx_event_t *ev)
{
    u_char                             *p;
    size_t                              len;
    uint64_t                            seq;
    ngx_str_t                           path, content, *state;
    ngx_uint_t                          i, k;
    ngx_pool_t                         *pool;
    ngx_http_strangler_zone_ctx_t      *z;
    ngx_http_strangler_sh_history_t    *h;

    z = ngx_http_strangler_history_zone;
    state = &z->smcf->state_file;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ev->log);
    if (pool == NULL) {
        return;
    }

    path.len = state->len + sizeof(NGX_HTTP_STRANGLER_HISTORY_SUFFIX) - 1;
    path.data = ngx_pnalloc(pool, path.len + 1);
    if (path.data == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_sprintf(path.data, "%V" NGX_HTTP_STRANGLER_HISTORY_SUFFIX "%Z",
                state);

    ngx_shmtx_lock(&z->shpool->mutex);

    h = z->sh->history;
    seq = h->seq;
    len = 0;

    for (i = 0; i < h->n; i++) {
        len += h->slot[i].line.len + 1;
    }

    content.data = ngx_pnalloc(pool, len + 1);
    p = content.data;

    for (i = 0; p && i < h->n; i++) {
        k = (h->next + NGX_HTTP_STRANGLER_HISTORY_MAX - h->n + i)
            % NGX_HTTP_STRANGLER_HISTORY_MAX;
        p = ngx_cpymem(p, h->slot[k].line.data, h->slot[k].line.len);
        *p++ = '\n';
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (p == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    content.len = p - content.data;

    if (ngx_http_strangler_file_replace_seq(&path, &content, &h->landed, seq,
                                            ngx_cycle->log,
                                            ngx_http_strangler_history_saved,
                                            pool)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
    }
}


static void
ngx_http_strangler_history_saved(void *data, ngx_int_t rc)
{
    /* a failure is logged by the writer; the next change saves it all */
    ngx_destroy_pool(data);
}


/* FILE.history, at the zone's creation: a line that is not an entry goes */

static void
ngx_http_strangler_history_load(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    u_char                           *p, *last, *nl;
    json_t                           *e, *v;
    time_t                            at;
    ssize_t                           n;
    uint64_t                          id;
    ngx_fd_t                          fd;
    ngx_str_t                         route, *state;
    ngx_uint_t                        bad;
    ngx_file_info_t                   fi;
    ngx_http_strangler_sh_history_t  *h;
    u_char                            path[NGX_MAX_PATH];

    state = &z->smcf->state_file;
    h = z->sh->history;

    if (state->len + sizeof(NGX_HTTP_STRANGLER_HISTORY_SUFFIX)
        > NGX_MAX_PATH)
    {
        return;
    }

    ngx_sprintf(path, "%V" NGX_HTTP_STRANGLER_HISTORY_SUFFIX "%Z", state);

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_HTTP_STRANGLER_HISTORY_MAX
                                * (NGX_HTTP_STRANGLER_HISTORY_LINE + 1))
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "strangler: \"%s\" cannot be read or is too large: "
                      "the history starts anew", path);
        (void) ngx_close_file(fd);
        return;
    }

    p = ngx_alloc(ngx_file_size(&fi) + 1, log);
    if (p == NULL) {
        (void) ngx_close_file(fd);
        return;
    }

    n = ngx_read_fd(fd, p, ngx_file_size(&fi));
    (void) ngx_close_file(fd);

    last = p + (n > 0 ? n : 0);
    bad = 0;

    for (nl = p; nl < last; nl++) {
        u_char  *start = nl;

        while (nl < last && *nl != '\n') {
            nl++;
        }

        e = json_loadb((char *) start, nl - start, 0, NULL);
        v = json_object_get(e, "route");
        at = ngx_http_strangler_history_time((u_char *)
                 json_string_value(json_object_get(e, "at")),
                 json_string_length(json_object_get(e, "at")));
        id = json_integer_value(json_object_get(e, "id"));

        if (!json_is_string(v) || at == -1 || id <= h->seq) {
            bad++;
            json_decref(e);
            continue;
        }

        route.data = (u_char *) json_string_value(v);
        route.len = json_string_length(v);

        if (ngx_http_strangler_history_store_locked(z, at, &route, e, id)
            == NGX_OK)
        {
            h->seq = id;
        }

        json_decref(e);
    }

    h->landed = h->seq;

    ngx_free(p);

    if (bad) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "strangler: %ui lines of \"%s\" are not history "
                      "entries: left out", bad, path);
    }
}
