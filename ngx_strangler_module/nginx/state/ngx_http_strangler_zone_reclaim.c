
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Giving back the zone's space: the blocks of routes that no configuration
 * still running has, and a full zone said once, with the size it needs.
 *
 * Each configuration that binds its tables to the zone gets a number, one
 * more than the last (`gen`), and every block it binds records it
 * (`bound`): a block is used by configurations up to its `bound` only.
 * Each worker process records its pid and its configuration's number in
 * the zone when it starts and removes it when it exits.  A block may be
 * freed when its `bound` is older than every configuration a live process
 * runs, and it holds no override:
 *
 * - the master reclaims at a reload, before it binds the new tables (the
 *   configuration it runs, the old one, counts as live: it respawns its
 *   workers), and a new worker when it starts (its own counts);
 * - a configuration newer than the one reclaiming has bound its blocks
 *   under the mutex already, with a `bound` newer than anything freed;
 * - an older configuration's workers were all forked before the process
 *   that reclaims (the master forks them, and never goes back to an older
 *   configuration), so each is in nginx's process table that this process
 *   holds: one that is alive and not yet recorded stops the reclaim;
 * - a worker that died without removing its record is found by kill(0);
 *   a pid reused by another process only delays the reclaim.
 *
 * Without a master process, a reload keeps the old configuration's
 * requests in the same process: nothing is reclaimed there.
 */


#include "ngx_http_strangler_state.h"


static ngx_http_strangler_sh_proc_t *ngx_http_strangler_zone_proc(
    ngx_http_strangler_zone_ctx_t *z, ngx_pid_t pid);
static ngx_uint_t ngx_http_strangler_zone_oldest(
    ngx_http_strangler_zone_ctx_t *z, ngx_uint_t own);
static void ngx_http_strangler_zone_free(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr);


/* a new worker records itself; NGX_ERROR: it could not (zone full) */

ngx_int_t
ngx_http_strangler_zone_join(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    ngx_http_strangler_sh_proc_t  *p;

    ngx_shmtx_lock(&z->shpool->mutex);

    p = ngx_http_strangler_zone_proc(z, ngx_pid);

    if (p == NULL) {
        p = ngx_slab_alloc_locked(z->shpool,
                                  sizeof(ngx_http_strangler_sh_proc_t));
        if (p != NULL) {
            p->pid = ngx_pid;
            ngx_queue_insert_tail(&z->sh->procs, &p->queue);
        }
    }

    if (p != NULL) {
        p->gen = z->gen;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (p == NULL) {
        ngx_http_strangler_zone_full(z, sizeof(ngx_http_strangler_sh_proc_t),
                                     log);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_strangler_zone_leave(ngx_http_strangler_zone_ctx_t *z)
{
    ngx_http_strangler_sh_proc_t  *p;

    ngx_shmtx_lock(&z->shpool->mutex);

    p = ngx_http_strangler_zone_proc(z, ngx_pid);

    if (p != NULL) {
        ngx_queue_remove(&p->queue);
        ngx_slab_free_locked(z->shpool, p);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


static ngx_http_strangler_sh_proc_t *
ngx_http_strangler_zone_proc(ngx_http_strangler_zone_ctx_t *z, ngx_pid_t pid)
{
    ngx_queue_t                   *q;
    ngx_http_strangler_sh_proc_t  *p;

    for (q = ngx_queue_head(&z->sh->procs);
         q != ngx_queue_sentinel(&z->sh->procs);
         q = ngx_queue_next(q))
    {
        p = ngx_queue_data(q, ngx_http_strangler_sh_proc_t, queue);

        if (p->pid == pid) {
            return p;
        }
    }

    return NULL;
}


/*
 * Frees the blocks no live configuration has and no override holds; `own`
 * is the configuration the calling process runs.  Returns how many.
 */

ngx_uint_t
ngx_http_strangler_zone_reclaim(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t own, ngx_log_t *log)
{
    size_t                          before;
    ngx_uint_t                      oldest, n;
    ngx_queue_t                    *q, *next;
    ngx_http_strangler_sh_route_t  *shr;

    if (ngx_process != NGX_PROCESS_MASTER
        && ngx_process != NGX_PROCESS_WORKER)
    {
        return 0;
    }

    ngx_shmtx_lock(&z->shpool->mutex);

    /* a change being written may be to a route no table has */
    oldest = (z->sh->writer
              && ngx_http_strangler_zone_is_alive(z->sh->writer))
             ? 0 : ngx_http_strangler_zone_oldest(z, own);
    before = ngx_http_strangler_zone_used(z);
    n = 0;

    for (q = ngx_queue_head(&z->sh->routes);
         q != ngx_queue_sentinel(&z->sh->routes);
         q = next)
    {
        next = ngx_queue_next(q);
        shr = ngx_queue_data(q, ngx_http_strangler_sh_route_t, queue);

        if (shr->bound < oldest && shr->override == NULL) {
            ngx_http_strangler_zone_free(z, shr);
            n++;
        }
    }

    if (n) {
        z->sh->full_logged = 0;
        (void) ngx_atomic_fetch_add(&z->sh->reclaimed, n);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (n) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "strangler_zone \"%V\": %ui blocks of routes no "
                      "table has are freed, %uzk used of %uzk before, "
                      "%uzk after", &z->name, n, before / 1024,
                      (size_t) (z->shpool->end - (u_char *) z->shpool)
                      / 1024, ngx_http_strangler_zone_used(z) / 1024);
    }

    return n;
}


/*
 * The oldest configuration a live process may use, called with the mutex
 * held; 0 (nothing may be freed) while a worker runs that is not recorded.
 */

static ngx_uint_t
ngx_http_strangler_zone_oldest(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t own)
{
    ngx_int_t                      i;
    ngx_uint_t                     oldest;
    ngx_queue_t                   *q, *next;
    ngx_http_strangler_sh_proc_t  *p;

    oldest = own;

    for (q = ngx_queue_head(&z->sh->procs);
         q != ngx_queue_sentinel(&z->sh->procs);
         q = next)
    {
        next = ngx_queue_next(q);
        p = ngx_queue_data(q, ngx_http_strangler_sh_proc_t, queue);

        if (p->pid != ngx_pid && !ngx_http_strangler_zone_is_alive(p->pid)) {
            ngx_queue_remove(&p->queue);
            ngx_slab_free_locked(z->shpool, p);
            continue;
        }

        oldest = ngx_min(oldest, p->gen);
    }

    for (i = 0; i < ngx_last_process; i++) {

        if (ngx_processes[i].pid == -1 || ngx_processes[i].pid == ngx_pid
            || ngx_processes[i].name == NULL
            || ngx_strcmp(ngx_processes[i].name, "worker process") != 0)
        {
            continue;
        }

        if (ngx_http_strangler_zone_proc(z, ngx_processes[i].pid) == NULL
            && ngx_http_strangler_zone_is_alive(ngx_processes[i].pid))
        {
            return 0;
        }
    }

    return oldest;
}


/* whether a process may be alive: it is, or it is not ours to ask */

ngx_uint_t
ngx_http_strangler_zone_is_alive(ngx_pid_t pid)
{
    return kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH;
}


static void
ngx_http_strangler_zone_free(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr)
{
    ngx_http_strangler_sh_backend_t  *shb, *next;

    for (shb = shr->backends; shb; shb = next) {
        next = shb->next;
        ngx_slab_free_locked(z->shpool, shb);
    }

    if (shr->guard) {
        ngx_slab_free_locked(z->shpool, shr->guard);
    }

    if (shr->fields) {
        ngx_slab_free_locked(z->shpool, shr->fields);
    }

    ngx_http_strangler_handoff_free(z, shr);

    ngx_rbtree_delete(&z->sh->rbtree, &shr->node);
    ngx_queue_remove(&shr->queue);
    ngx_slab_free_locked(z->shpool, shr);
}


/*
 * An allocation failed: counted, and logged once until space is freed,
 * with the size the zone needs for `more` bytes of blocks.
 */

void
ngx_http_strangler_zone_full(ngx_http_strangler_zone_ctx_t *z, size_t more,
    ngx_log_t *log)
{
    ngx_uint_t  first;

    (void) ngx_atomic_fetch_add(&z->sh->alloc_failures, 1);

    ngx_shmtx_lock(&z->shpool->mutex);
    first = !z->sh->full_logged;
    z->sh->full_logged = 1;
    ngx_shmtx_unlock(&z->shpool->mutex);

    if (first) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "strangler_zone \"%V\" is full: counters or "
                      "overrides are lost; it needs at least %uzk "
                      "(said once until space is freed)",
                      &z->name, ngx_http_strangler_zone_need(z, more) / 1024);
    }
}


/* the zone's size for what it holds now and `more` bytes of blocks */

size_t
ngx_http_strangler_zone_need(ngx_http_strangler_zone_ctx_t *z, size_t more)
{
    size_t            pages, used, head;
    ngx_slab_pool_t  *shpool;

    shpool = z->shpool;

    pages = (shpool->end - shpool->start) / ngx_pagesize;
    used = pages - shpool->pfree;

    /* the pool's header and a page descriptor for each page */
    head = (shpool->start - (u_char *) shpool)
           - pages * sizeof(ngx_slab_page_t);

    /* small blocks share pages: one more for each size class started */
    pages = used + (more + ngx_pagesize - 1) / ngx_pagesize + 8;

    return ngx_align(head + pages * (ngx_pagesize + sizeof(ngx_slab_page_t)),
                     64 * 1024);
}


/* the bytes of the zone's pages in use */

size_t
ngx_http_strangler_zone_used(ngx_http_strangler_zone_ctx_t *z)
{
    size_t  pages;

    pages = (z->shpool->end - z->shpool->start) / ngx_pagesize;

    return (pages - z->shpool->pfree) * ngx_pagesize;
}


/* what a slab allocation of `size` takes: a power of two, or pages */

size_t
ngx_http_strangler_zone_block(size_t size)
{
    size_t  n;

    if (size > ngx_pagesize / 2) {
        return ngx_align(size, ngx_pagesize);
    }

    for (n = 8; n < size; n <<= 1) { /* void */ }

    return n;
}
