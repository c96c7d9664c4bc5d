
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Runtime overrides of a route's reads, owner and shadow sample.
 *
 * The zone keeps an override by backend NAME, so it means the same after a
 * reload that renumbers the backends, and a per-route generation that every
 * change bumps.  Each process keeps the override resolved to its table's
 * backend indexes with the generation it saw: a request compares two
 * numbers, and only the first request after a change takes the mutex to
 * resolve it again.  So a change reaches every worker by its next request
 * without any lock in the steady state.
 */


#include "ngx_http_strangler_state.h"
#include "ngx_http_strangler_history.h"


static void ngx_http_strangler_override_resolve(ngx_http_strangler_table_t *t,
    ngx_http_strangler_binding_t *b);
static int ngx_http_strangler_override_backend(ngx_http_strangler_table_t *t,
    ngx_str_t *name);
static ngx_int_t ngx_http_strangler_override_copy(
    ngx_http_strangler_override_rec_t *dst,
    ngx_http_strangler_override_rec_t *src, ngx_pool_t *pool);
static ngx_http_strangler_override_rec_t *ngx_http_strangler_override_store(
    ngx_slab_pool_t *shpool, ngx_http_strangler_override_rec_t *rec);
static ngx_uint_t ngx_http_strangler_override_prune_field(
    ngx_http_strangler_table_t *t, ngx_http_strangler_sh_route_t *shr,
    ngx_str_t *backend, const char *field, ngx_log_t *log);
static ngx_uint_t ngx_http_strangler_override_prune_route(
    ngx_http_strangler_main_conf_t *smcf, ngx_http_strangler_sh_route_t *shr,
    ngx_log_t *log);
static ngx_uint_t ngx_http_strangler_override_orphan(
    ngx_http_strangler_main_conf_t *smcf, ngx_http_strangler_sh_route_t *shr,
    ngx_log_t *log);
static ngx_http_strangler_table_t *ngx_http_strangler_override_table(
    ngx_http_strangler_main_conf_t *smcf, ngx_http_strangler_sh_route_t *shr);
static u_char *ngx_http_strangler_str_move(ngx_str_t *s, u_char *p);


ngx_int_t
ngx_http_strangler_get_override(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, strangler_override_t *ov)
{
    ngx_http_strangler_binding_t  *b;

    if (route == NULL || t->bindings == NULL) {
        return NGX_DECLINED;
    }

    b = &t->bindings[route->index];

    /*
     * The zone's generation moves with any route's override: while it
     * stands still, the route's own line of shared memory is not touched.
     */

    if (b->zone_generation != b->zone->sh->generation) {
        b->zone_generation = b->zone->sh->generation;

        if (b->generation != b->shr->generation) {
            ngx_http_strangler_override_resolve(t, b);
        }
    }

    if (!b->has_override) {
        return NGX_DECLINED;
    }

    *ov = b->override;

    return NGX_OK;
}


/*
 * The route's generation moves first: a reader that sees the zone's new
 * generation must find the route's moved too.
 */

void
ngx_http_strangler_override_changed(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr)
{
    (void) ngx_atomic_fetch_add(&shr->generation, 1);
    (void) ngx_atomic_fetch_add(&z->sh->generation, 1);
}


static void
ngx_http_strangler_override_resolve(ngx_http_strangler_table_t *t,
    ngx_http_strangler_binding_t *b)
{
    ngx_slab_pool_t                    *shpool;
    strangler_override_t               *ov;
    ngx_http_strangler_override_rec_t  *rec;

    shpool = b->zone->shpool;
    ov = &b->override;

    ngx_shmtx_lock(&shpool->mutex);

    rec = b->shr->override;

    if (rec) {
        ov->reads = ngx_http_strangler_override_backend(t, &rec->reads);
        ov->owner = ngx_http_strangler_override_backend(t, &rec->owner);
        ov->sample_ppm = (int32_t) rec->sample_ppm;

    } else {
        ov->reads = STRANGLER_NONE;
        ov->owner = STRANGLER_NONE;
        ov->sample_ppm = -1;
    }

    b->generation = b->shr->generation;

    ngx_shmtx_unlock(&shpool->mutex);

    b->has_override = (ov->reads >= 0 || ov->owner >= 0
                       || ov->sample_ppm >= 0);
}


static int
ngx_http_strangler_override_backend(ngx_http_strangler_table_t *t,
    ngx_str_t *name)
{
    if (name->len == 0) {
        return STRANGLER_NONE;
    }

    return strangler_backend_find(t->core, (char *) name->data, name->len);
}


/* a copy of a route's override into the pool; NGX_DECLINED: none */

ngx_int_t
ngx_http_strangler_override_read(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_http_strangler_override_rec_t *rec,
    ngx_pool_t *pool)
{
    ngx_int_t  rc;

    ngx_shmtx_lock(&z->shpool->mutex);
    rc = ngx_http_strangler_override_copy(rec, shr->override, pool);
    ngx_shmtx_unlock(&z->shpool->mutex);

    return rc;
}


/*
 * Change the `fields` of a route's override to those of `patch` (an empty
 * name or a sample of -1 removes a field), in one step under the mutex so
 * that concurrent changes of different fields all land.  With a pool, `old`
 * and `now` receive copies of the override before and after.  NGX_ERROR:
 * nothing changed.
 */

ngx_int_t
ngx_http_strangler_override_patch(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_uint_t fields,
    ngx_http_strangler_override_rec_t *patch,
    ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now, ngx_pool_t *pool)
{
    ngx_int_t                           rc;
    ngx_http_strangler_override_rec_t  *staged;

    ngx_shmtx_lock(&z->shpool->mutex);

    rc = ngx_http_strangler_override_stage(z, shr, fields, patch, old, now,
                                           pool, &staged);
    if (rc == NGX_OK) {
        ngx_http_strangler_override_install(z, shr, staged, patch);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return rc;
}


/*
 * The override the patch makes, stored in the zone but not yet the
 * route's (*staged; NULL: no override); called with the mutex held.
 * NGX_ERROR: the zone is full, nothing was stored.
 */

ngx_int_t
ngx_http_strangler_override_stage(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_uint_t fields,
    ngx_http_strangler_override_rec_t *patch,
    ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now, ngx_pool_t *pool,
    ngx_http_strangler_override_rec_t **staged)
{
    ngx_http_strangler_override_rec_t   next, *cur, *stored;

    cur = shr->override;

    if (pool && ngx_http_strangler_override_copy(old, cur, pool) == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    ngx_http_strangler_override_merge(cur, fields, patch, &next);

    stored = NULL;

    if (next.reads.len || next.owner.len || next.sample_ppm >= 0) {
        stored = ngx_http_strangler_override_store(z->shpool, &next);
        if (stored == NULL) {
            return NGX_ERROR;
        }
    }

    if (pool
        && ngx_http_strangler_override_copy(now, stored, pool) == NGX_ERROR)
    {
        if (stored) {
            ngx_slab_free_locked(z->shpool, stored);
        }

        return NGX_ERROR;
    }

    *staged = stored;

    return NGX_OK;
}


/*
 * The staged override becomes the route's, as `who` (by, at, via, reason)
 * made it, and the history says so; called with the mutex held.  Every
 * runtime change of an override comes through here.
 */

void
ngx_http_strangler_override_install(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *staged,
    ngx_http_strangler_override_rec_t *who)
{
    ngx_http_strangler_override_rec_t  *cur;

    cur = shr->override;

    ngx_http_strangler_history_add_locked(z, &shr->file, &shr->name, cur,
                                          staged, who, NULL);

    shr->override = staged;

    if (cur) {
        ngx_slab_free_locked(z->shpool, cur);
    }

    if (staged == NULL) {
        shr->orphaned = 0;
    }

    ngx_http_strangler_override_changed(z, shr);
}


/* `next` is `cur` (NULL: none) with the `fields` of `patch` */

void
ngx_http_strangler_override_merge(ngx_http_strangler_override_rec_t *cur,
    ngx_uint_t fields, ngx_http_strangler_override_rec_t *patch,
    ngx_http_strangler_override_rec_t *next)
{
    if (cur) {
        *next = *cur;

    } else {
        ngx_memzero(next, sizeof(ngx_http_strangler_override_rec_t));
        next->sample_ppm = -1;
    }

    if (fields & NGX_HTTP_STRANGLER_OV_READS) {
        next->reads = patch->reads;
    }

    if (fields & NGX_HTTP_STRANGLER_OV_OWNER) {
        next->owner = patch->owner;
    }

    if (fields & NGX_HTTP_STRANGLER_OV_SAMPLE) {
        next->sample_ppm = patch->sample_ppm;
    }

    next->by = patch->by;
    next->at = patch->at;
    next->via = patch->via;
    next->reason = patch->reason;
}


/*
 * strangler_etcd's path, with the mutex held: a route's whole override
 * becomes `rec` (none when it sets nothing).  NGX_ERROR: the zone is full,
 * nothing changed.
 */

ngx_int_t
ngx_http_strangler_override_set_locked(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_http_strangler_override_rec_t *rec)
{
    ngx_http_strangler_override_rec_t  *stored;

    stored = NULL;

    if (rec->reads.len || rec->owner.len || rec->sample_ppm >= 0) {
        stored = ngx_http_strangler_override_store(z->shpool, rec);
        if (stored == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_http_strangler_override_install(z, shr, stored, rec);

    return NGX_OK;
}


/* ngx_http_strangler_override_read() with the mutex held */

ngx_int_t
ngx_http_strangler_override_read_locked(ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *rec, ngx_pool_t *pool)
{
    return ngx_http_strangler_override_copy(rec, shr->override, pool);
}


/* one slab block: the record, then its strings */

static ngx_http_strangler_override_rec_t *
ngx_http_strangler_override_store(ngx_slab_pool_t *shpool,
    ngx_http_strangler_override_rec_t *rec)
{
    u_char                             *p;
    ngx_http_strangler_override_rec_t  *s;

    s = ngx_slab_alloc_locked(shpool, sizeof(ngx_http_strangler_override_rec_t)
                                      + rec->reads.len + rec->owner.len
                                      + rec->by.len + rec->via.len
                                      + rec->reason.len);
    if (s == NULL) {
        return NULL;
    }

    *s = *rec;
    p = (u_char *) (s + 1);

    p = ngx_http_strangler_str_move(&s->reads, p);
    p = ngx_http_strangler_str_move(&s->owner, p);
    p = ngx_http_strangler_str_move(&s->by, p);
    p = ngx_http_strangler_str_move(&s->via, p);
    (void) ngx_http_strangler_str_move(&s->reason, p);

    return s;
}


/*
 * Copies a string's bytes to p and points it there.  An empty string may
 * have no data at all, and memcpy() must not be given NULL.
 */

static u_char *
ngx_http_strangler_str_move(ngx_str_t *s, u_char *p)
{
    if (s->len) {
        ngx_memcpy(p, s->data, s->len);
    }

    s->data = p;

    return p + s->len;
}


static ngx_int_t
ngx_http_strangler_override_copy(ngx_http_strangler_override_rec_t *dst,
    ngx_http_strangler_override_rec_t *src, ngx_pool_t *pool)
{
    u_char  *p;

    ngx_memzero(dst, sizeof(ngx_http_strangler_override_rec_t));
    dst->sample_ppm = -1;

    if (src == NULL) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(pool, src->reads.len + src->owner.len + src->by.len
                          + src->via.len + src->reason.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *dst = *src;

    p = ngx_http_strangler_str_move(&dst->reads, p);
    p = ngx_http_strangler_str_move(&dst->owner, p);
    p = ngx_http_strangler_str_move(&dst->by, p);
    p = ngx_http_strangler_str_move(&dst->via, p);
    (void) ngx_http_strangler_str_move(&dst->reason, p);

    return NGX_OK;
}


/*
 * {"reads", "owner", "shadow_sample" (percent), "by", "via", "reason"}:
 * the fields set
 */

json_t *
ngx_http_strangler_override_json(ngx_http_strangler_override_rec_t *ov)
{
    json_t  *j;

    j = json_object();

    if (j == NULL
        || ngx_http_strangler_json_set_str(j, "reads", &ov->reads)
        || ngx_http_strangler_json_set_str(j, "owner", &ov->owner)
        || (ov->sample_ppm >= 0
            && json_object_set_new(j, "shadow_sample",
                                   json_real(strangler_ppm_to_percent(
                                                         ov->sample_ppm))))
        || ngx_http_strangler_json_set_str(j, "by", &ov->by)
        || ngx_http_strangler_json_set_str(j, "via", &ov->via)
        || ngx_http_strangler_json_set_str(j, "reason", &ov->reason))
    {
        json_decref(j);
        return NULL;
    }

    return j;
}


/* sets obj[key] to the string unless it is empty; -1: no memory */

int
ngx_http_strangler_json_set_str(json_t *obj, const char *key, ngx_str_t *s)
{
    if (s->len == 0) {
        return 0;
    }

    return json_object_set_new(obj, key,
                               json_stringn((char *) s->data, s->len));
}


/*
 * In a new worker, once the configuration it runs is final (unlike in the
 * zone's init, which a failed reload would not undo): an override of a
 * route the tables no longer have is kept, orphaned, until the route comes
 * back (it then applies again), a DELETE, or `keep_orphaned` later; the
 * fields of an override naming backends the tables no longer have are
 * dropped; then the state is saved if that changed it.  Every new worker
 * runs this; the first one finds the work.
 */

void
ngx_http_strangler_override_prune(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf, ngx_http_strangler_zone_ctx_t *z)
{
    ngx_uint_t                       changed;
    ngx_queue_t                     *q;
    ngx_http_strangler_sh_route_t   *shr;

    ngx_shmtx_lock(&z->shpool->mutex);

    changed = 0;

    for (q = ngx_queue_head(&z->sh->routes);
         q != ngx_queue_sentinel(&z->sh->routes);
         q = ngx_queue_next(q))
    {
        shr = ngx_queue_data(q, ngx_http_strangler_sh_route_t, queue);

        if (shr->override) {
            changed |= ngx_http_strangler_override_prune_route(smcf, shr,
                                                               cycle->log);
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (changed) {
        ngx_http_strangler_change_keep(z, cycle->log);
    }
}


/* called with the mutex held; 1: the override changed */

static ngx_uint_t
ngx_http_strangler_override_prune_route(ngx_http_strangler_main_conf_t *smcf,
    ngx_http_strangler_sh_route_t *shr, ngx_log_t *log)
{
    ngx_uint_t                          changed;
    ngx_http_strangler_table_t         *t;
    ngx_http_strangler_zone_ctx_t      *z;
    ngx_http_strangler_override_rec_t  *ov;

    z = ngx_http_strangler_zone_ctx(smcf);
    ov = shr->override;
    t = ngx_http_strangler_override_table(smcf, shr);

    if (t == NULL) {
        return ngx_http_strangler_override_orphan(smcf, shr, log);
    }

    changed = 0;

    if (shr->orphaned) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "strangler: route \"%V\" of \"%V\" is back, its "
                      "override applies again", &shr->name, &shr->file);
        shr->orphaned = 0;
        changed = 1;
    }

    /* the record changes in place: every reader holds the mutex */

    changed |= ngx_http_strangler_override_prune_field(t, shr, &ov->reads,
                                                       "reads", log);
    changed |= ngx_http_strangler_override_prune_field(t, shr, &ov->owner,
                                                       "owner", log);

    if (!changed) {
        return 0;
    }

    if (ov->reads.len == 0 && ov->owner.len == 0 && ov->sample_ppm < 0) {
        shr->override = NULL;
        ngx_slab_free_locked(z->shpool, ov);
    }

    ngx_http_strangler_override_changed(z, shr);

    return 1;
}


/*
 * A route no table has: its override is kept from the first time it is
 * seen so, for `keep_orphaned`; called with the mutex held.
 */

static ngx_uint_t
ngx_http_strangler_override_orphan(ngx_http_strangler_main_conf_t *smcf,
    ngx_http_strangler_sh_route_t *shr, ngx_log_t *log)
{
    time_t                          now;
    ngx_http_strangler_zone_ctx_t  *z;

    z = ngx_http_strangler_zone_ctx(smcf);
    now = ngx_time();

    if (shr->orphaned == 0 && smcf->keep_orphaned > 0) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "strangler: route \"%V\" of \"%V\" no longer exists, "
                      "its override is kept until it comes back, a DELETE, "
                      "or %T seconds (keep_orphaned)",
                      &shr->name, &shr->file, smcf->keep_orphaned);
        shr->orphaned = now;
        return 1;
    }

    if (shr->orphaned && now - shr->orphaned < smcf->keep_orphaned) {
        return 0;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "strangler: route \"%V\" of \"%V\" no longer exists, "
                  "its override is dropped (keep_orphaned)",
                  &shr->name, &shr->file);

    ngx_slab_free_locked(z->shpool, shr->override);
    shr->override = NULL;
    shr->orphaned = 0;
    ngx_http_strangler_override_changed(z, shr);

    return 1;
}


/* drops one field of an override that names a backend gone from the table */

static ngx_uint_t
ngx_http_strangler_override_prune_field(ngx_http_strangler_table_t *t,
    ngx_http_strangler_sh_route_t *shr, ngx_str_t *backend,
    const char *field, ngx_log_t *log)
{
    if (backend->len == 0
        || ngx_http_strangler_override_backend(t, backend) >= 0)
    {
        return 0;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "strangler: route \"%V\": backend \"%V\" no longer "
                  "exists, the override of its %s is dropped",
                  &shr->name, backend, field);
    backend->len = 0;

    return 1;
}


/* the table a route block belongs to in this configuration, if any */

static ngx_http_strangler_table_t *
ngx_http_strangler_override_table(ngx_http_strangler_main_conf_t *smcf,
    ngx_http_strangler_sh_route_t *shr)
{
    ngx_uint_t                    i;
    ngx_http_strangler_table_t  **tables, *t;

    tables = smcf->tables.elts;

    for (i = 0; i < smcf->tables.nelts; i++) {
        t = tables[i];

        if (t->file.len != shr->file.len
            || ngx_strncmp(t->file.data, shr->file.data, t->file.len) != 0)
        {
            continue;
        }

        if (strangler_route_find(t->core, (char *) shr->name.data,
                                 shr->name.len))
        {
            return t;
        }
    }

    return NULL;
}
