
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler_state FILE [keep_orphaned=TIME]`: the overrides, saved as
 * JSON on every change so that a restart does not undo a rollback.
 *
 * A change is written before it applies (the API stages it, writes a
 * snapshot that holds it, and installs it once the file is in place), and
 * one change is written at a time: the process that writes holds the
 * zone's `writer`; a save asked for meanwhile is made when it is done.
 *
 * The file is read when the zone is created (start-up, restart, or a
 * reload that resizes the zone); a reload otherwise finds the overrides in
 * the zone.  A file that cannot be read or parsed stops nginx with the
 * reason: starting without the overrides would silently undo rollbacks.
 *
 *     {"version": 1, "overrides": [{"table": "/etc/nginx/routes.yaml",
 *      "route": "users", "reads": "monolith", "owner": "monolith",
 *      "shadow_sample": 5, "by": "10.0.0.7", "at": 1700000000,
 *      "via": "api", "reason": "INC-4711", "orphaned_at": 1700000500,
 *      "pending": "etcd"}]}
 *
 * `orphaned_at`: since when the route is in no table (the override is kept
 * until it comes back, a DELETE, or `keep_orphaned` later).
 */


#include "ngx_http_strangler_state.h"


#define NGX_HTTP_STRANGLER_STATE_MAX  (16 * 1024 * 1024)

/* an entry's blocks in the zone, at most: the route's and the override's */
#define NGX_HTTP_STRANGLER_STATE_ENTRY  1024


static ngx_int_t ngx_http_strangler_state_zone_init(
    ngx_http_strangler_zone_ctx_t *z, ngx_uint_t fresh, ngx_log_t *log);
static ngx_int_t ngx_http_strangler_state_load(
    ngx_http_strangler_zone_ctx_t *z, ngx_log_t *log);
static ngx_int_t ngx_http_strangler_state_read(ngx_str_t *file,
    ngx_str_t *text, ngx_log_t *log);
static ngx_int_t ngx_http_strangler_state_apply(
    ngx_http_strangler_zone_ctx_t *z, json_t *root, ngx_log_t *log);
static ngx_int_t ngx_http_strangler_state_entry(
    ngx_http_strangler_zone_ctx_t *z, json_t *e, size_t i, size_t left,
    ngx_log_t *log);
static const char *ngx_http_strangler_state_fields(json_t *e,
    ngx_str_t *table, ngx_str_t *route,
    ngx_http_strangler_override_rec_t *rec, const char **key);
static const char *ngx_http_strangler_state_string(json_t *e,
    const char *key, ngx_uint_t required, ngx_str_t *s);
static json_t *ngx_http_strangler_state_snapshot(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *staged_shr,
    ngx_http_strangler_override_rec_t *staged);
static json_t *ngx_http_strangler_state_ignore(
    ngx_http_strangler_zone_ctx_t *z);
static void ngx_http_strangler_state_ignore_load(
    ngx_http_strangler_zone_ctx_t *z, json_t *list, ngx_log_t *log);
static json_t *ngx_http_strangler_state_record(
    ngx_http_strangler_sh_route_t *shr, ngx_http_strangler_override_rec_t *ov);
static void ngx_http_strangler_state_save_held(
    ngx_http_strangler_zone_ctx_t *z, ngx_log_t *log);
static void ngx_http_strangler_state_saved_held(void *data, ngx_int_t rc);


typedef struct {
    ngx_http_strangler_zone_ctx_t      *zone;
    ngx_pool_t                         *pool;
    ngx_log_t                          *log;
} ngx_http_strangler_state_job_t;


/* a change being written for longer than this is taken over */
#define NGX_HTTP_STRANGLER_STATE_STALE  60
static void ngx_http_strangler_state_json_cleanup(void *data);


static ngx_http_strangler_zone_init_pt  ngx_http_strangler_state_next_init;


char *
ngx_http_strangler_state(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_main_conf_t *smcf = conf;

    time_t      age;
    ngx_str_t  *value, s;

    if (smcf->state_file.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    smcf->state_file = value[1];

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "keep_orphaned=", 14) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": expected "
                               "\"keep_orphaned=TIME\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + 14;
        s.len = value[2].len - 14;

        age = ngx_parse_time(&s, 1);

        if (age == (time_t) NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid keep_orphaned time \"%V\"", &s);
            return NGX_CONF_ERROR;
        }

        smcf->keep_orphaned = age;
    }

    if (ngx_conf_full_name(cf->cycle, &smcf->state_file, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_strangler_file_init_conf(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Postconfiguration: with a state file, a new zone starts from the
 * overrides saved last time.
 */

ngx_int_t
ngx_http_strangler_state_init_conf(ngx_conf_t *cf)
{
    ngx_http_strangler_zone_ctx_t   *z;
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);

    if (smcf->state_file.len == 0) {
        return NGX_OK;
    }

    z = ngx_http_strangler_zone_ctx(smcf);

    if (z == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"strangler_state\" needs a \"strangler_zone\"");
        return NGX_ERROR;
    }

    ngx_http_strangler_state_next_init = z->init;
    z->init = ngx_http_strangler_state_zone_init;

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_state_zone_init(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t fresh, ngx_log_t *log)
{
    if (fresh && ngx_http_strangler_state_load(z, log) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_strangler_state_next_init
           ? ngx_http_strangler_state_next_init(z, fresh, log) : NGX_OK;
}


/* at the zone's creation: NGX_ERROR stops nginx, the reason logged */

static ngx_int_t
ngx_http_strangler_state_load(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    json_t        *root;
    ngx_int_t      rc;
    ngx_str_t     *file, text;
    json_error_t   err;

    file = &z->smcf->state_file;

    if (file->len == 0) {
        return NGX_OK;
    }

    rc = ngx_http_strangler_state_read(file, &text, log);

    if (rc != NGX_OK) {
        /* NGX_DECLINED: no file yet, the first start */
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
    }

    root = json_loadb((char *) text.data, text.len, JSON_REJECT_DUPLICATES,
                      &err);
    ngx_free(text.data);

    if (root == NULL) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_state \"%V\" is corrupt: line %d, "
                      "column %d: %s", file, err.line, err.column, err.text);
        return NGX_ERROR;
    }

    rc = ngx_http_strangler_state_apply(z, root, log);
    json_decref(root);

    return rc;
}


static ngx_int_t
ngx_http_strangler_state_read(ngx_str_t *file, ngx_str_t *text,
    ngx_log_t *log)
{
    ssize_t          n;
    ngx_err_t        err;
    ngx_file_t       f;
    ngx_file_info_t  fi;

    ngx_memzero(&f, sizeof(ngx_file_t));

    f.name = *file;
    f.log = log;

    f.fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (f.fd == NGX_INVALID_FILE) {
        err = ngx_errno;

        if (err == NGX_ENOENT) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "strangler_state \"%V\" does not exist yet: "
                          "starting without overrides", file);
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_EMERG, log, err,
                      "strangler_state \"%V\" cannot be read: "
                      ngx_open_file_n " failed", file);
        return NGX_ERROR;
    }

    text->data = NULL;

    if (ngx_fd_info(f.fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "strangler_state \"%V\" cannot be read: "
                      ngx_fd_info_n " failed", file);
        goto failed;
    }

    if (!ngx_is_file(&fi)) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_state \"%V\" cannot be read: "
                      "not a regular file", file);
        goto failed;
    }

    text->len = ngx_file_size(&fi);

    if (text->len > NGX_HTTP_STRANGLER_STATE_MAX) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_state \"%V\" is corrupt: %uz bytes, "
                      "more than any state", file, text->len);
        goto failed;
    }

    text->data = ngx_alloc(text->len + 1, log);
    if (text->data == NULL) {
        goto failed;
    }

    n = ngx_read_file(&f, text->data, text->len, 0);

    if (n != (ssize_t) text->len) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_state \"%V\" cannot be read: "
                      "read %z of %uz bytes", file, n, text->len);
        goto failed;
    }

    (void) ngx_close_file(f.fd);

    return NGX_OK;

failed:

    if (text->data) {
        ngx_free(text->data);
    }

    (void) ngx_close_file(f.fd);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_strangler_state_apply(ngx_http_strangler_zone_ctx_t *z,
    json_t *root, ngx_log_t *log)
{
    size_t   i;
    json_t  *version, *list;

    version = json_object_get(root, "version");
    list = json_object_get(root, "overrides");

    if (!json_is_integer(version) || json_integer_value(version) != 1
        || !json_is_array(list))
    {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_state \"%V\" is corrupt: expected "
                      "{\"version\": 1, \"overrides\": [...]}",
                      &z->smcf->state_file);
        return NGX_ERROR;
    }

    for (i = 0; i < json_array_size(list); i++) {
        if (ngx_http_strangler_state_entry(z, json_array_get(list, i), i,
                                           json_array_size(list) - i, log)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_http_strangler_state_ignore_load(z, json_object_get(root, "ignore"),
                                         log);

    return NGX_OK;
}


/*
 * Runtime ignore rules, to the routes compared now; those of a route that
 * is not, or of a bad entry, are dropped with a warning: rules only ever
 * hide differences, and a table change is a new start.
 */

static void
ngx_http_strangler_state_ignore_load(ngx_http_strangler_zone_ctx_t *z,
    json_t *list, ngx_log_t *log)
{
    size_t                          i;
    json_t                         *e, *table, *route;
    ngx_str_t                       file, name;
    ngx_http_strangler_sh_route_t  *shr;

    json_array_foreach(list, i, e) {
        table = json_object_get(e, "table");
        route = json_object_get(e, "route");

        shr = NULL;

        if (json_is_string(table) && json_is_string(route)) {
            file.data = (u_char *) json_string_value(table);
            file.len = json_string_length(table);
            name.data = (u_char *) json_string_value(route);
            name.len = json_string_length(route);

            ngx_shmtx_lock(&z->shpool->mutex);
            shr = ngx_http_strangler_zone_lookup(z, &file, &name);
            ngx_shmtx_unlock(&z->shpool->mutex);
        }

        if (shr == NULL || shr->fields == NULL
            || ngx_http_strangler_ignore_restore(shr->fields,
                                                 json_object_get(e, "paths"))
               != NGX_OK)
        {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "strangler_state \"%V\": ignore[%uz] dropped: "
                          "not the rules of a compared route",
                          &z->smcf->state_file, i);
        }
    }
}


/*
 * An entry becomes the override of its route's block, added if needed: a
 * route the tables no longer have is dropped, with a notice, by the first
 * worker (ngx_http_strangler_override_prune()).
 */

static ngx_int_t
ngx_http_strangler_state_entry(ngx_http_strangler_zone_ctx_t *z, json_t *e,
    size_t i, size_t left, ngx_log_t *log)
{
    json_t                             *v;
    ngx_str_t                           table, route;
    const char                         *key, *problem;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_override_rec_t   rec;

    key = "";
    problem = ngx_http_strangler_state_fields(e, &table, &route, &rec, &key);

    if (problem) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_state \"%V\" is corrupt: "
                      "overrides[%uz]%s%s: %s",
                      &z->smcf->state_file, i, *key ? "." : "", key, problem);
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&z->shpool->mutex);
    shr = ngx_http_strangler_zone_add(z, &table, &route);
    ngx_shmtx_unlock(&z->shpool->mutex);

    if (shr == NULL
        || ngx_http_strangler_override_patch(z, shr,
                                             NGX_HTTP_STRANGLER_OV_ALL, &rec,
                                             NULL, NULL, NULL)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_zone \"%V\" is too small for the overrides "
                      "in \"%V\": it needs at least %uzk",
                      &z->name, &z->smcf->state_file,
                      ngx_http_strangler_zone_need(z,
                          left * NGX_HTTP_STRANGLER_STATE_ENTRY) / 1024);
        return NGX_ERROR;
    }

    v = json_object_get(e, "orphaned_at");
    shr->orphaned = json_is_integer(v) ? (time_t) json_integer_value(v) : 0;

    /* a break-glass rollback or a trip etcd had not taken yet */
    v = json_object_get(e, "pending");

    if (json_is_string(v) && ngx_strcmp(json_string_value(v), "etcd") == 0
        && z->smcf->etcd)
    {
        shr->pending = 1;
        z->sh->pending = 1;
    }

    return NGX_OK;
}


/* NULL, or what is wrong with the entry and in which field (*key) */

static const char *
ngx_http_strangler_state_fields(json_t *e, ngx_str_t *table,
    ngx_str_t *route, ngx_http_strangler_override_rec_t *rec,
    const char **key)
{
    double       pct;
    json_t      *v;
    ngx_uint_t   i;
    const char  *problem;

    struct {
        const char  *key;
        ngx_str_t   *value;
        ngx_uint_t   required;
    } strings[] = {
        { "table", table, 1 },
        { "route", route, 1 },
        { "reads", &rec->reads, 0 },
        { "owner", &rec->owner, 0 },
        { "by", &rec->by, 0 },
        { "via", &rec->via, 0 },
        { "reason", &rec->reason, 0 }
    };

    ngx_memzero(rec, sizeof(ngx_http_strangler_override_rec_t));
    rec->sample_ppm = -1;

    if (!json_is_object(e)) {
        return "not an object";
    }

    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        *key = strings[i].key;
        problem = ngx_http_strangler_state_string(e, *key,
                                                  strings[i].required,
                                                  strings[i].value);
        if (problem) {
            return problem;
        }
    }

    *key = "shadow_sample";
    v = json_object_get(e, *key);

    if (v) {
        pct = json_number_value(v);

        if (!json_is_number(v) || pct < 0 || pct > 100) {
            return "not a number from 0 to 100";
        }

        rec->sample_ppm = strangler_percent_to_ppm(pct);
    }

    *key = "at";
    v = json_object_get(e, *key);

    if (v && !json_is_integer(v)) {
        return "not an integer";
    }

    rec->at = v ? (time_t) json_integer_value(v) : 0;

    *key = "orphaned_at";
    v = json_object_get(e, *key);

    if (v && !json_is_integer(v)) {
        return "not an integer";
    }

    return NULL;
}


/* NULL, or what is wrong with the string field `key` */

static const char *
ngx_http_strangler_state_string(json_t *e, const char *key,
    ngx_uint_t required, ngx_str_t *s)
{
    json_t  *v;

    v = json_object_get(e, key);

    if (v == NULL) {
        ngx_str_null(s);
        return required ? "missing" : NULL;
    }

    if (!json_is_string(v)) {
        return "not a string";
    }

    s->data = (u_char *) json_string_value(v);
    s->len = json_string_length(v);

    return NULL;
}


/*
 * Whether this process may write the state file now, called with the
 * mutex held: NGX_OK, it writes (until ngx_http_strangler_state_unlock());
 * NGX_BUSY, another change is being written.  A writer that died or hangs
 * is taken over.
 */

ngx_int_t
ngx_http_strangler_state_lock_locked(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    ngx_http_strangler_shctx_t  *sh;

    sh = z->sh;

    if (sh->writer) {
        if (ngx_http_strangler_zone_is_alive(sh->writer)
            && ngx_time() - sh->writer_since
               < NGX_HTTP_STRANGLER_STATE_STALE)
        {
            return NGX_BUSY;
        }

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "strangler_state \"%V\": the change process %P was "
                      "writing is taken over", &z->smcf->state_file,
                      sh->writer);
    }

    sh->writer = ngx_pid;
    sh->writer_since = ngx_time();

    return NGX_OK;
}


/* the write is done: a save asked for meanwhile is made now */

void
ngx_http_strangler_state_unlock(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    ngx_uint_t  again;

    ngx_shmtx_lock(&z->shpool->mutex);

    again = z->sh->save_again;
    z->sh->save_again = 0;

    if (!again) {
        z->sh->writer = 0;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (again) {
        ngx_http_strangler_state_save_held(z, log);
    }
}


/* save what the zone holds now, or once the change being written is */

void
ngx_http_strangler_state_save_later(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    ngx_int_t  rc;

    ngx_shmtx_lock(&z->shpool->mutex);

    rc = ngx_http_strangler_state_lock_locked(z, log);

    if (rc == NGX_BUSY) {
        z->sh->save_again = 1;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (rc == NGX_OK) {
        ngx_http_strangler_state_save_held(z, log);
    }
}


static void
ngx_http_strangler_state_save_held(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    ngx_pool_t                      *pool;
    ngx_http_strangler_state_job_t  *job;

    pool = ngx_create_pool(4096, log);
    job = pool ? ngx_palloc(pool, sizeof(ngx_http_strangler_state_job_t))
               : NULL;

    if (job == NULL) {
        goto failed;
    }

    job->zone = z;
    job->pool = pool;
    job->log = log;

    if (ngx_http_strangler_state_save(z, NULL, NULL, pool, log,
                                      ngx_http_strangler_state_saved_held,
                                      job)
        == NGX_OK)
    {
        return;
    }

failed:

    /* logged by the writer; the next change saves everything again */

    if (pool) {
        ngx_destroy_pool(pool);
    }

    ngx_shmtx_lock(&z->shpool->mutex);
    z->sh->writer = 0;
    ngx_shmtx_unlock(&z->shpool->mutex);
}


static void
ngx_http_strangler_state_saved_held(void *data, ngx_int_t rc)
{
    ngx_http_strangler_state_job_t  *job = data;

    ngx_log_t                      *log;
    ngx_http_strangler_zone_ctx_t  *z;

    z = job->zone;
    log = job->log;

    ngx_destroy_pool(job->pool);

    ngx_http_strangler_state_unlock(z, log);
}


/*
 * Save every override, with `staged` as the override of `staged_shr` when
 * it is given; the caller holds the writer (above).  A snapshot taken under
 * the mutex and numbered, so that of two concurrent saves the older never
 * replaces the newer (ngx_http_strangler_file_replace_seq()).  `done` is
 * called when the file is in place or could not be written; NGX_ERROR: no
 * save was started.
 */

ngx_int_t
ngx_http_strangler_state_save(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *staged_shr,
    ngx_http_strangler_override_rec_t *staged, ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_strangler_file_done_pt done, void *data)
{
    char                *text;
    json_t              *root;
    ngx_str_t            content;
    ngx_atomic_uint_t    seq;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    seq = ++z->sh->state_seq;
    root = ngx_http_strangler_state_snapshot(z, staged_shr, staged);

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (root == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_strangler_state_json_cleanup;
    cln->data = root;

    text = json_dumps(root, JSON_INDENT(2));
    if (text == NULL) {
        return NGX_ERROR;
    }

    content.len = ngx_strlen(text);
    content.data = ngx_pnalloc(pool, content.len + 1);

    if (content.data != NULL) {
        *ngx_cpymem(content.data, text, content.len) = '\n';
        content.len++;
    }

    free(text);

    if (content.data == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_strangler_file_replace_seq(&z->smcf->state_file,
                                               &content,
                                               &z->sh->state_landed, seq,
                                               log, done, data);
}


/* called with the mutex held */

static json_t *
ngx_http_strangler_state_snapshot(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *staged_shr,
    ngx_http_strangler_override_rec_t *staged)
{
    json_t                             *list, *rec, *ignore;
    ngx_queue_t                        *q;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_override_rec_t  *ov;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&z->sh->routes);
         q != ngx_queue_sentinel(&z->sh->routes);
         q = ngx_queue_next(q))
    {
        shr = ngx_queue_data(q, ngx_http_strangler_sh_route_t, queue);
        ov = (shr == staged_shr) ? staged : shr->override;

        if (ov == NULL) {
            continue;
        }

        rec = ngx_http_strangler_state_record(shr, ov);

        if (json_array_append_new(list, rec) != 0) {
            json_decref(list);
            return NULL;
        }
    }

    ignore = ngx_http_strangler_state_ignore(z);
    if (ignore == NULL) {
        json_decref(list);
        return NULL;
    }

    /* the runtime ignore rules, when there are (PUT routes/NAME/ignore) */

    if (json_array_size(ignore) == 0) {
        json_decref(ignore);
        return json_pack("{s:i, s:o}", "version", 1, "overrides", list);
    }

    return json_pack("{s:i, s:o, s:o}", "version", 1, "overrides", list,
                     "ignore", ignore);
}


/*
 * The runtime ignore rules of every route that has some, as the change
 * being written makes them: [{"table", "route", "paths": [...]}]
 */

static json_t *
ngx_http_strangler_state_ignore(ngx_http_strangler_zone_ctx_t *z)
{
    json_t                          *list, *paths, *e;
    ngx_queue_t                     *q;
    ngx_http_strangler_sh_route_t   *shr;
    ngx_http_strangler_sh_fields_t  *f;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&z->sh->routes);
         q != ngx_queue_sentinel(&z->sh->routes);
         q = ngx_queue_next(q))
    {
        shr = ngx_queue_data(q, ngx_http_strangler_sh_route_t, queue);
        f = shr->fields;

        if (f == NULL || (f->staging ? f->nstaged : f->nignore) == 0) {
            continue;
        }

        paths = ngx_http_strangler_ignore_json(f, 1);
        e = json_object();

        if (paths == NULL || e == NULL
            || ngx_http_strangler_json_set_str(e, "table", &shr->file)
            || ngx_http_strangler_json_set_str(e, "route", &shr->name)
            || json_object_set_new(e, "paths", paths)
            || json_array_append_new(list, e))
        {
            json_decref(e);
            json_decref(list);
            return NULL;
        }
    }

    return list;
}


static json_t *
ngx_http_strangler_state_record(ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *ov)
{
    json_t  *rec;

    rec = ngx_http_strangler_override_json(ov);

    if (rec == NULL
        || ngx_http_strangler_json_set_str(rec, "table", &shr->file)
        || ngx_http_strangler_json_set_str(rec, "route", &shr->name)
        || json_object_set_new(rec, "at", json_integer(ov->at))
        || (shr->orphaned
            && json_object_set_new(rec, "orphaned_at",
                                   json_integer(shr->orphaned)))
        || (shr->pending
            && json_object_set_new(rec, "pending", json_string("etcd"))))
    {
        json_decref(rec);
        return NULL;
    }

    return rec;
}


static void
ngx_http_strangler_state_json_cleanup(void *data)
{
    json_decref(data);
}
