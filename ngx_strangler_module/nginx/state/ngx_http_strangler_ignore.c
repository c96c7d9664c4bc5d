
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Runtime ignore rules: JSON paths and "header:Name" a person adds to a
 * compared route's `shadow.ignore` through the API, without a reload.
 * They live in the route's field statistics block in the zone, so every
 * worker applies them to its next comparison; the state file keeps them.
 * One function (ngx_http_strangler_ignore_next) checks a change and makes
 * the rules as they will be, whoever asks: the API (which stages them
 * while the state file is written) or etcd's apply path.
 */


#include "ngx_http_strangler_state.h"


static const char *ngx_http_strangler_ignore_path(json_t *v,
    ngx_pool_t *pool, u_char **err);
static json_t *ngx_http_strangler_ignore_rules_json(
    u_char rules[][NGX_HTTP_STRANGLER_FIELD_LEN], ngx_uint_t n);
static ngx_uint_t ngx_http_strangler_ignore_find(
    u_char list[][NGX_HTTP_STRANGLER_FIELD_LEN], ngx_uint_t n,
    const char *path);


/*
 * Stages the rules as they will be with `add` and without `remove` (JSON
 * arrays of strings, or NULL); called with the state file's writer held.
 * NGX_OK, or a 4xx status and *err naming what is wrong: nothing staged.
 */

ngx_int_t
ngx_http_strangler_ignore_change(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f, json_t *add, json_t *remove,
    ngx_pool_t *pool, u_char **err)
{
    ngx_int_t                         rc;
    ngx_http_strangler_ignore_list_t  next;

    rc = ngx_http_strangler_ignore_next(z, f, add, remove, &next, pool, err);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_shmtx_lock(&z->shpool->mutex);
    ngx_memcpy(f->staged, next.rule, sizeof(next.rule));
    f->nstaged = next.n;
    f->staging = 1;
    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/*
 * The rules as they will be, checked, without staging them: from the
 * route's (`f`), or from none (`f` NULL: a whole list, as etcd holds it).
 */

ngx_int_t
ngx_http_strangler_ignore_next(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f, json_t *add, json_t *remove,
    ngx_http_strangler_ignore_list_t *next, ngx_pool_t *pool, u_char **err)
{
    size_t        i;
    json_t       *v;
    ngx_uint_t    n, k;
    const char   *path;
    u_char      (*list)[NGX_HTTP_STRANGLER_FIELD_LEN];

    if ((add && !json_is_array(add)) || (remove && !json_is_array(remove))
        || (add == NULL && remove == NULL))
    {
        *err = (u_char *) "expected {\"add\": [...], \"remove\": [...]}";
        return NGX_HTTP_BAD_REQUEST;
    }

    list = next->rule;
    n = 0;

    if (f) {
        ngx_shmtx_lock(&z->shpool->mutex);
        n = f->nignore;
        ngx_memcpy(list, f->ignore, sizeof(next->rule));
        ngx_shmtx_unlock(&z->shpool->mutex);

    } else {
        ngx_memzero(list, sizeof(next->rule));
    }

    json_array_foreach(remove, i, v) {
        path = ngx_http_strangler_ignore_path(v, pool, err);
        if (path == NULL) {
            return NGX_HTTP_BAD_REQUEST;
        }

        k = ngx_http_strangler_ignore_find(list, n, path);

        if (k < n) {
            ngx_memmove(list[k], list[k + 1],
                        (n - k - 1) * NGX_HTTP_STRANGLER_FIELD_LEN);
            n--;
        }
    }

    json_array_foreach(add, i, v) {
        path = ngx_http_strangler_ignore_path(v, pool, err);
        if (path == NULL) {
            return NGX_HTTP_BAD_REQUEST;
        }

        if (ngx_http_strangler_ignore_find(list, n, path) < n) {
            continue;
        }

        if (n == NGX_HTTP_STRANGLER_IGNORES) {
            *err = ngx_http_strangler_msg(pool, "\"%s\": a route has at "
                                          "most %d runtime ignore rules",
                                          path,
                                          NGX_HTTP_STRANGLER_IGNORES);
            return NGX_HTTP_BAD_REQUEST;
        }

        ngx_cpystrn(list[n++], (u_char *) path, NGX_HTTP_STRANGLER_FIELD_LEN);
    }

    next->n = n;

    return NGX_OK;
}


/*
 * A rule as shadow.ignore takes it; NULL when it is not one, and why in
 * *err when there is a pool to say it in.
 */

static const char *
ngx_http_strangler_ignore_path(json_t *v, ngx_pool_t *pool, u_char **err)
{
    size_t            off;
    const char       *why;
    strangler_str_t   s;

    if (!json_is_string(v)) {
        *err = (u_char *) "the rules must be strings";
        return NULL;
    }

    *err = NULL;

    s.data = json_string_value(v);
    s.len = json_string_length(v);

    if (s.len >= NGX_HTTP_STRANGLER_FIELD_LEN || ngx_strlen(s.data) != s.len) {
        if (pool) {
            *err = ngx_http_strangler_msg(pool, "bad ignore rule "
                                          "\"%s\": longer than %d bytes",
                                          s.data,
                                          NGX_HTTP_STRANGLER_FIELD_LEN
                                          - 1);
        }

        return NULL;
    }

    why = strangler_shadow_ignore_check(&s, &off);

    if (why) {
        if (pool) {
            *err = ngx_http_strangler_msg(pool, "bad ignore rule "
                                          "\"%s\" at %uz: %s", s.data,
                                          off, why);
        }

        return NULL;
    }

    return s.data;
}


static ngx_uint_t
ngx_http_strangler_ignore_find(u_char list[][NGX_HTTP_STRANGLER_FIELD_LEN],
    ngx_uint_t n, const char *path)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(list[i], path) == 0) {
            return i;
        }
    }

    return n;
}


/* the state file holds the staged rules: they apply now */

void
ngx_http_strangler_ignore_install(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f)
{
    ngx_shmtx_lock(&z->shpool->mutex);

    if (f->staging) {
        ngx_http_strangler_ignore_set_locked(f, f->staged, f->nstaged);
        f->staging = 0;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* the rules apply now, with the mutex held (etcd's, or the staged ones) */

void
ngx_http_strangler_ignore_set_locked(ngx_http_strangler_sh_fields_t *f,
    u_char rules[][NGX_HTTP_STRANGLER_FIELD_LEN], ngx_uint_t n)
{
    (void) ngx_atomic_fetch_add(&f->ignore_gen, 1);
    ngx_memory_barrier();

    ngx_memmove(f->ignore, rules, sizeof(f->ignore));
    f->nignore = n;

    ngx_memory_barrier();
    (void) ngx_atomic_fetch_add(&f->ignore_gen, 1);
}


void
ngx_http_strangler_ignore_unstage(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f)
{
    ngx_shmtx_lock(&z->shpool->mutex);
    f->staging = 0;
    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* the rules (staged: as the change being written has them), as JSON */

json_t *
ngx_http_strangler_ignore_json(ngx_http_strangler_sh_fields_t *f,
    ngx_uint_t staged)
{
    staged = staged && f->staging;

    return ngx_http_strangler_ignore_rules_json(
               staged ? f->staged : f->ignore,
               staged ? f->nstaged : f->nignore);
}


json_t *
ngx_http_strangler_ignore_list_json(ngx_http_strangler_ignore_list_t *list)
{
    return ngx_http_strangler_ignore_rules_json(list->rule, list->n);
}


static json_t *
ngx_http_strangler_ignore_rules_json(
    u_char rules[][NGX_HTTP_STRANGLER_FIELD_LEN], ngx_uint_t n)
{
    json_t      *list;
    ngx_uint_t   i;

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < n && i < NGX_HTTP_STRANGLER_IGNORES; i++) {
        if (json_array_append_new(list, json_string((char *) rules[i])) != 0)
        {
            json_decref(list);
            return NULL;
        }
    }

    return list;
}


/* the state file's rules of a route, at start; checked as the API does */

ngx_int_t
ngx_http_strangler_ignore_restore(ngx_http_strangler_sh_fields_t *f,
    json_t *paths)
{
    u_char      *err;
    size_t       i;
    json_t      *v;
    ngx_uint_t   n;
    const char  *path;

    if (!json_is_array(paths)
        || json_array_size(paths) > NGX_HTTP_STRANGLER_IGNORES)
    {
        return NGX_ERROR;
    }

    n = 0;

    json_array_foreach(paths, i, v) {
        path = ngx_http_strangler_ignore_path(v, NULL, &err);
        if (path == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(f->ignore[n++], (u_char *) path,
                    NGX_HTTP_STRANGLER_FIELD_LEN);
    }

    f->nignore = n;

    return NGX_OK;
}


/*
 * The route's `shadow` for one comparison: as the table has it, or, with
 * runtime rules, a copy in the shadow's pool whose `ignore` has them too,
 * read whole (the generation the same, and even, before and after).
 */

const strangler_shadow_t *
ngx_http_strangler_ignore_conf(ngx_http_strangler_binding_t *b,
    const strangler_shadow_t *table, ngx_pool_t *pool)
{
    u_char                          *p;
    size_t                           len;
    ngx_uint_t                       i, n, tries;
    strangler_str_t                 *items;
    ngx_atomic_uint_t                gen;
    strangler_shadow_t              *conf;
    ngx_http_strangler_sh_fields_t  *f;
    u_char                           rules[NGX_HTTP_STRANGLER_IGNORES]
                                          [NGX_HTTP_STRANGLER_FIELD_LEN];

    if (b == NULL || b->shr == NULL || b->shr->fields == NULL
        || b->shr->fields->nignore == 0)
    {
        return table;
    }

    f = b->shr->fields;
    n = 0;

    for (tries = 0; tries < 8; tries++) {
        gen = f->ignore_gen;
        ngx_memory_barrier();

        n = ngx_min(f->nignore, NGX_HTTP_STRANGLER_IGNORES);
        ngx_memcpy(rules, f->ignore, n * NGX_HTTP_STRANGLER_FIELD_LEN);

        ngx_memory_barrier();

        if (!(gen & 1) && gen == f->ignore_gen) {
            break;
        }
    }

    if (tries == 8) {
        return table;
    }

    conf = ngx_palloc(pool, sizeof(strangler_shadow_t));
    items = ngx_palloc(pool, (table->ignore.n + n)
                                * sizeof(strangler_str_t));

    if (conf == NULL || items == NULL) {
        return table;
    }

    *conf = *table;

    if (table->ignore.n) {
        ngx_memcpy(items, table->ignore.items,
                   table->ignore.n * sizeof(strangler_str_t));
    }

    for (i = 0; i < n; i++) {
        rules[i][NGX_HTTP_STRANGLER_FIELD_LEN - 1] = '\0';

        len = ngx_strlen(rules[i]);
        p = ngx_pnalloc(pool, len + 1);
        if (p == NULL) {
            return table;
        }

        ngx_memcpy(p, rules[i], len + 1);

        items[table->ignore.n + i].data = (char *) p;
        items[table->ignore.n + i].len = len;
    }

    conf->ignore.items = items;
    conf->ignore.n = table->ignore.n + n;

    return conf;
}
