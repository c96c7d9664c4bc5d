
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler_zone NAME SIZE`: the shared memory every worker counts in and
 * reads overrides from, set up the way limit_req sets up its own.
 *
 * Each route of each loaded table has a block in the zone, found by the
 * table's file and the route's name, so a reload finds its counters and
 * override again (blocks no running configuration has are freed:
 * ngx_http_strangler_zone_reclaim.c).  The search happens once, when the
 * zone is initialised: every table's routes are bound to their blocks
 * then, and a request finds its block by route->index.  Counters are
 * atomics; the mutex is taken only to add blocks and to change overrides.
 */


#include "ngx_http_strangler_state.h"
#include "ngx_http_strangler_history.h"


static ngx_int_t ngx_http_strangler_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_strangler_zone_create(ngx_shm_zone_t *shm_zone,
    ngx_http_strangler_zone_ctx_t *z);
static ngx_int_t ngx_http_strangler_zone_bind(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t fresh, ngx_log_t *log);
static ngx_int_t ngx_http_strangler_zone_cmp(ngx_http_strangler_sh_route_t *shr,
    ngx_str_t *file, ngx_str_t *name);
static uint32_t ngx_http_strangler_zone_hash(ngx_str_t *file, ngx_str_t *name);
static void ngx_http_strangler_zone_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_strangler_zone_alloc_bindings(ngx_conf_t *cf,
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_table_t *t);
static ngx_http_strangler_sh_backend_t *ngx_http_strangler_backend_block(
    ngx_http_strangler_binding_t *b, ngx_http_strangler_table_t *t,
    int backend);
static ngx_int_t ngx_http_strangler_count_response(
    ngx_http_strangler_counters_t *c, ngx_uint_t status, ngx_msec_int_t ms);


ngx_msec_t  ngx_http_strangler_time_bounds[
                                        NGX_HTTP_STRANGLER_NBUCKETS - 1] = {
    NGX_HTTP_STRANGLER_TIME_BOUNDS
};


const char  *ngx_http_strangler_classes[NGX_HTTP_STRANGLER_NCLASSES] = {
    "1xx", "2xx", "3xx", "4xx", "5xx"
};


const char  *ngx_http_strangler_shadow_events[
                                        NGX_HTTP_STRANGLER_SHADOW_NEVENTS] = {
    "sent", "dropped", "timed_out", "matched", "mismatched", "failed",
    "not_compared"
};


char *
ngx_http_strangler_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_main_conf_t *smcf = conf;

    ssize_t                         size;
    ngx_str_t                      *value;
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_strangler_zone_ctx_t  *z;

    if (smcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small: it needs at least "
                           "%uzk", &value[1], 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    z = ngx_pcalloc(cf->pool, sizeof(ngx_http_strangler_zone_ctx_t));
    if (z == NULL) {
        return NGX_CONF_ERROR;
    }

    z->smcf = smcf;
    z->name = value[1];

    shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                     &ngx_http_strangler_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &value[1]);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_strangler_zone_init;
    shm_zone->data = z;

    smcf->shm_zone = shm_zone;

    return NGX_CONF_OK;
}


ngx_http_strangler_zone_ctx_t *
ngx_http_strangler_zone_ctx(ngx_http_strangler_main_conf_t *smcf)
{
    return smcf->shm_zone ? smcf->shm_zone->data : NULL;
}


/*
 * Postconfiguration: room for every table's bindings (filled in when the
 * zone is initialised, after the configuration is read), only when there
 * is a zone.
 */

ngx_int_t
ngx_http_strangler_zone_init_conf(ngx_conf_t *cf)
{
    ngx_uint_t                       i;
    ngx_http_strangler_table_t     **tables;
    ngx_http_strangler_zone_ctx_t   *z;
    ngx_http_strangler_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_strangler_module);
    z = ngx_http_strangler_zone_ctx(smcf);

    if (z == NULL) {
        return NGX_OK;
    }

    tables = smcf->tables.elts;

    for (i = 0; i < smcf->tables.nelts; i++) {
        if (ngx_http_strangler_zone_alloc_bindings(cf, z, tables[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_zone_alloc_bindings(ngx_conf_t *cf,
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_table_t *t)
{
    size_t                              i, n, nb;
    ngx_http_strangler_sh_backend_t   **backends;

    n = t->core->nroutes + 1;
    nb = t->core->nbackends;

    t->bindings = ngx_pcalloc(cf->pool,
                              n * sizeof(ngx_http_strangler_binding_t));
    backends = ngx_pcalloc(cf->pool,
                           n * nb * sizeof(ngx_http_strangler_sh_backend_t *));
    if (t->bindings == NULL || backends == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        t->bindings[i].zone = z;
        t->bindings[i].backends = &backends[i * nb];

        /* no generation matches: the first request resolves the override */
        t->bindings[i].generation = (ngx_atomic_uint_t) -1;
        t->bindings[i].zone_generation = (ngx_atomic_uint_t) -1;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_strangler_zone_ctx_t  *oz = data;

    ngx_http_strangler_zone_ctx_t  *z;

    z = shm_zone->data;

    if (oz) {
        /*
         * A reload: the zone keeps its counters and overrides, and gives
         * back what no configuration still running uses.
         */
        z->sh = oz->sh;
        z->shpool = oz->shpool;

        (void) ngx_http_strangler_zone_reclaim(z, oz->gen, shm_zone->shm.log);

        if (ngx_http_strangler_zone_bind(z, 0, shm_zone->shm.log) != NGX_OK) {
            return NGX_ERROR;
        }

        /* a table that moves an owner: a handoff of the route's writes */
        return ngx_http_strangler_handoff_reload(z, oz, shm_zone->shm.log);
    }

    z->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        z->sh = z->shpool->data;

        return ngx_http_strangler_zone_bind(z, 0, shm_zone->shm.log);
    }

    if (ngx_http_strangler_zone_create(shm_zone, z) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_strangler_zone_bind(z, 1, shm_zone->shm.log) != NGX_OK) {
        return NGX_ERROR;
    }

    /* after the state file's overrides, which are no change */
    return ngx_http_strangler_history_init_zone(z, shm_zone->shm.log);
}


static ngx_int_t
ngx_http_strangler_zone_create(ngx_shm_zone_t *shm_zone,
    ngx_http_strangler_zone_ctx_t *z)
{
    size_t  len;

    z->sh = ngx_slab_calloc(z->shpool, sizeof(ngx_http_strangler_shctx_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }

    z->shpool->data = z->sh;

    ngx_rbtree_init(&z->sh->rbtree, &z->sh->sentinel,
                    ngx_http_strangler_zone_insert);
    ngx_queue_init(&z->sh->routes);
    ngx_queue_init(&z->sh->procs);

    /* a full zone is said once, with the size it needs, not per request */
    z->shpool->log_nomem = 0;
    z->sh->progress.started = ngx_time();

    len = sizeof(" in strangler_zone \"\"") + shm_zone->shm.name.len;

    z->shpool->log_ctx = ngx_slab_alloc(z->shpool, len);
    if (z->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(z->shpool->log_ctx, " in strangler_zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}


/*
 * Find or add the block of every route of every table, and of "-", each
 * marked with this configuration's number, with what the subsystems'
 * hooks keep for it; then their init hooks.
 */

static ngx_int_t
ngx_http_strangler_zone_bind(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t fresh, ngx_log_t *log)
{
    size_t                          r, more, need;
    ngx_str_t                       name, *file;
    ngx_uint_t                      i;
    strangler_route_t              *route;
    ngx_http_strangler_table_t    **tables, *t;
    ngx_http_strangler_sh_route_t  *shr;

    tables = z->smcf->tables.elts;
    file = NULL;
    more = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    z->gen = ++z->sh->gen;

    for (i = 0; i < z->smcf->tables.nelts; i++) {
        t = tables[i];

        for (r = 0; r <= t->core->nroutes; r++) {

            if (r < t->core->nroutes) {
                route = &t->core->routes[r];
                name.data = (u_char *) route->name.data;
                name.len = route->name.len;

            } else {
                route = NULL;
                ngx_str_set(&name, STRANGLER_DEFAULT_ROUTE);
            }

            /* once full, what the rest would take is summed up */
            shr = file ? ngx_http_strangler_zone_lookup(z, &t->file, &name)
                       : ngx_http_strangler_zone_add(z, &t->file, &name);

            if (shr == NULL) {
                more += ngx_http_strangler_zone_block(
                            sizeof(ngx_http_strangler_sh_route_t)
                            + t->file.len + name.len);
                file = file ? file : &t->file;
                continue;
            }

            shr->bound = z->gen;
            t->bindings[r].shr = shr;

            if (route == NULL) {
                continue;
            }

            /* since when the table moves the route's reads */
            ngx_http_strangler_progress_bind(t, route, shr);

            need = z->bind ? z->bind(z, shr, route, file != NULL) : 0;

            if (need) {
                more += need;
                file = file ? file : &t->file;
            }
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (file) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "strangler_zone \"%V\" is too small for the routes "
                      "and guards of \"%V\": it needs at least %uzk",
                      &z->name, file,
                      ngx_http_strangler_zone_need(z, more) / 1024);
        return NGX_ERROR;
    }

    return z->init ? z->init(z, fresh, log) : NGX_OK;
}


/* find or add a route's block; called with the mutex held */

ngx_http_strangler_sh_route_t *
ngx_http_strangler_zone_add(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *file, ngx_str_t *name)
{
    u_char                         *p;
    ngx_http_strangler_sh_route_t  *shr;

    shr = ngx_http_strangler_zone_lookup(z, file, name);
    if (shr) {
        return shr;
    }

    shr = ngx_slab_calloc_locked(z->shpool,
                                 sizeof(ngx_http_strangler_sh_route_t)
                                 + file->len + name->len);
    if (shr == NULL) {
        return NULL;
    }

    p = (u_char *) (shr + 1);

    shr->file.data = p;
    shr->file.len = file->len;
    p = ngx_cpymem(p, file->data, file->len);

    shr->name.data = p;
    shr->name.len = name->len;
    ngx_memcpy(p, name->data, name->len);

    shr->node.key = ngx_http_strangler_zone_hash(file, name);

    ngx_rbtree_insert(&z->sh->rbtree, &shr->node);
    ngx_queue_insert_tail(&z->sh->routes, &shr->queue);

    return shr;
}


/* called with the mutex held, or when no process can add blocks */

ngx_http_strangler_sh_route_t *
ngx_http_strangler_zone_lookup(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *file, ngx_str_t *name)
{
    ngx_int_t                       rc;
    ngx_rbtree_key_t                key;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_strangler_sh_route_t  *shr;

    key = ngx_http_strangler_zone_hash(file, name);

    node = z->sh->rbtree.root;
    sentinel = z->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        shr = (ngx_http_strangler_sh_route_t *) node;

        rc = ngx_http_strangler_zone_cmp(shr, file, name);

        if (rc == 0) {
            return shr;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static ngx_int_t
ngx_http_strangler_zone_cmp(ngx_http_strangler_sh_route_t *shr,
    ngx_str_t *file, ngx_str_t *name)
{
    ngx_int_t  rc;

    rc = ngx_memn2cmp(file->data, shr->file.data, file->len, shr->file.len);

    if (rc != 0) {
        return rc;
    }

    return ngx_memn2cmp(name->data, shr->name.data, name->len,
                        shr->name.len);
}


static uint32_t
ngx_http_strangler_zone_hash(ngx_str_t *file, ngx_str_t *name)
{
    uint32_t  crc;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, file->data, file->len);
    ngx_crc32_update(&crc, (u_char *) "\n", 1);
    ngx_crc32_update(&crc, name->data, name->len);
    ngx_crc32_final(crc);

    return crc;
}


/* ordered by hash, then file, then name, as ngx_str_rbtree orders */

static void
ngx_http_strangler_zone_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_strangler_sh_route_t   *n, *t;

    for ( ;; ) {

        n = (ngx_http_strangler_sh_route_t *) node;
        t = (ngx_http_strangler_sh_route_t *) temp;

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = (ngx_http_strangler_zone_cmp(t, &n->file, &n->name) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_http_strangler_binding_t *
ngx_http_strangler_binding(ngx_http_strangler_table_t *t,
    const strangler_route_t *route)
{
    if (t == NULL || t->bindings == NULL) {
        return NULL;
    }

    return &t->bindings[route ? route->index : t->core->nroutes];
}


void
ngx_http_strangler_count_shadow(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t what)
{
    ngx_http_strangler_binding_t  *b;

    b = ngx_http_strangler_binding(ctx->table, ctx->decision.route);

    if (b == NULL || what >= NGX_HTTP_STRANGLER_SHADOW_NEVENTS) {
        return;
    }

    (void) ngx_atomic_fetch_add(&b->shr->shadow[what], 1);
}


void
ngx_http_strangler_count_regex_limit(ngx_http_strangler_table_t *t,
    const strangler_route_t *route)
{
    ngx_http_strangler_binding_t  *b;

    b = ngx_http_strangler_binding(t, route);

    if (b != NULL) {
        (void) ngx_atomic_fetch_add(&b->shr->regex_limit, 1);
    }
}


void
ngx_http_strangler_count_skipped(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t why)
{
    ngx_http_strangler_binding_t  *b;

    b = ngx_http_strangler_binding(ctx->table, ctx->decision.route);

    if (b == NULL || why >= NGX_HTTP_STRANGLER_SKIP_NREASONS) {
        return;
    }

    (void) ngx_atomic_fetch_add(&b->shr->skipped[why], 1);
}


/* the shadow side's answer to a copy: its status and how long it took */

void
ngx_http_strangler_count_shadow_answer(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t status, ngx_msec_int_t ms)
{
    ngx_http_strangler_binding_t     *b;
    ngx_http_strangler_sh_backend_t  *shb;

    b = ngx_http_strangler_binding(ctx->table, ctx->decision.route);
    if (b == NULL) {
        return;
    }

    shb = ngx_http_strangler_backend_block(b, ctx->table,
                                           ctx->decision.shadow_to);
    if (shb) {
        ngx_http_strangler_count_response(&shb->shadow, status, ms);
    }
}


/*
 * Shadows in flight in every worker, and the most one worker has held at
 * once (the number strangler_shadow_limit is sized against)
 */

void
ngx_http_strangler_count_in_flight(ngx_http_strangler_main_conf_t *smcf,
    ngx_int_t delta, ngx_uint_t in_worker)
{
    ngx_atomic_uint_t               high;
    ngx_http_strangler_zone_ctx_t  *z;

    z = ngx_http_strangler_zone_ctx(smcf);

    if (z == NULL || z->sh == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&z->sh->shadows, (ngx_atomic_int_t) delta);

    for ( ;; ) {
        high = z->sh->shadows_high;

        if (in_worker <= high
            || ngx_atomic_cmp_set(&z->sh->shadows_high, high, in_worker))
        {
            return;
        }
    }
}


void
ngx_http_strangler_count_diff_dropped(ngx_http_strangler_main_conf_t *smcf)
{
    ngx_http_strangler_zone_ctx_t  *z;

    z = ngx_http_strangler_zone_ctx(smcf);

    if (z && z->sh) {
        (void) ngx_atomic_fetch_add(&z->sh->diff_dropped, 1);
    }
}


/* capture records, a write (or a dropped record) at a time */

void
ngx_http_strangler_count_capture(ngx_http_strangler_main_conf_t *smcf,
    ngx_uint_t written, ngx_uint_t dropped, size_t bytes)
{
    ngx_http_strangler_zone_ctx_t  *z;

    z = ngx_http_strangler_zone_ctx(smcf);

    if (z == NULL || z->sh == NULL) {
        return;
    }

    if (written) {
        (void) ngx_atomic_fetch_add(&z->sh->capture.written, written);
        (void) ngx_atomic_fetch_add(&z->sh->capture.bytes, bytes);
    }

    if (dropped) {
        (void) ngx_atomic_fetch_add(&z->sh->capture.dropped, dropped);
    }
}


/* why writes fail, once a worker's writes start to: rare, so locked */

void
ngx_http_strangler_count_capture_error(ngx_http_strangler_main_conf_t *smcf,
    u_char *text, size_t len)
{
    ngx_http_strangler_zone_ctx_t  *z;

    z = ngx_http_strangler_zone_ctx(smcf);

    if (z == NULL || z->sh == NULL) {
        return;
    }

    len = ngx_min(len, NGX_HTTP_STRANGLER_CAPTURE_ERR);

    ngx_shmtx_lock(&z->shpool->mutex);

    ngx_memcpy(z->sh->capture.error, text, len);
    z->sh->capture.error_len = len;
    z->sh->capture.error_at = ngx_time();

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/*
 * The log phase's count of what the strangler dispatched, on the block of
 * its route's backend: the binding counted on (NULL: none), and in
 * *bucket the time's histogram bucket, -1 without a time.
 */

ngx_http_strangler_binding_t *
ngx_http_strangler_count_dispatched(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t status, ngx_msec_int_t ms, ngx_int_t *bucket)
{
    ngx_http_strangler_binding_t     *b;
    ngx_http_strangler_sh_backend_t  *shb;

    b = ngx_http_strangler_binding(ctx->table, ctx->decision.route);
    if (b == NULL) {
        return NULL;
    }

    shb = ngx_http_strangler_backend_block(b, ctx->table,
                                           ctx->decision.backend);
    if (shb == NULL) {
        return NULL;
    }

    *bucket = ngx_http_strangler_count_response(&shb->counters, status, ms);

    return b;
}


/*
 * One response: its class, and its time when it has one (ms >= 0).
 * Returns the time's histogram bucket, -1 without a time.
 */

static ngx_int_t
ngx_http_strangler_count_response(ngx_http_strangler_counters_t *c,
    ngx_uint_t status, ngx_msec_int_t ms)
{
    ngx_uint_t  i;

    (void) ngx_atomic_fetch_add(&c->requests, 1);

    if (status >= 100 && status / 100 <= NGX_HTTP_STRANGLER_NCLASSES) {
        (void) ngx_atomic_fetch_add(&c->status[status / 100 - 1], 1);
    }

    if (ms < 0) {
        return -1;
    }

    for (i = 0; i < NGX_HTTP_STRANGLER_NBUCKETS - 1; i++) {
        if ((ngx_msec_t) ms <= ngx_http_strangler_time_bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&c->time_bucket[i], 1);
    (void) ngx_atomic_fetch_add(&c->time_sum, ms);
    (void) ngx_atomic_fetch_add(&c->timed, 1);

    return i;
}


/*
 * A route's block for a backend: found in this process's cache, else
 * found or added in the zone once (under the mutex).  A block is filled in
 * before it is linked, so readers walk the list without the mutex.
 */

static ngx_http_strangler_sh_backend_t *
ngx_http_strangler_backend_block(ngx_http_strangler_binding_t *b,
    ngx_http_strangler_table_t *t, int backend)
{
    ngx_str_t                        *name;
    ngx_slab_pool_t                  *shpool;
    ngx_http_strangler_sh_backend_t  *shb;

    if (backend < 0 || (size_t) backend >= t->core->nbackends) {
        return NULL;
    }

    if (b->backends[backend]) {
        return b->backends[backend];
    }

    name = &t->backend_names[backend];
    shpool = b->zone->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    for (shb = b->shr->backends; shb; shb = shb->next) {
        if (shb->name.len == name->len
            && ngx_strncmp(shb->name.data, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (shb == NULL) {
        shb = ngx_slab_calloc_locked(shpool,
                                     sizeof(ngx_http_strangler_sh_backend_t)
                                     + name->len);
        if (shb) {
            shb->name.data = (u_char *) (shb + 1);
            shb->name.len = name->len;
            ngx_memcpy(shb->name.data, name->data, name->len);

            shb->next = b->shr->backends;
            ngx_memory_barrier();
            b->shr->backends = shb;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (shb == NULL) {
        ngx_http_strangler_zone_full(b->zone,
                           ngx_http_strangler_zone_block(
                               sizeof(ngx_http_strangler_sh_backend_t)
                               + name->len),
                           ngx_cycle->log);
        return NULL;
    }

    b->backends[backend] = shb;

    return shb;
}
