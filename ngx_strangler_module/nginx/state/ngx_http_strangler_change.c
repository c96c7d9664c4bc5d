
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Where a runtime change of a route is written, decided in one place.
 * Every change (an override, a rollback, ignore rules, a guard trip or
 * rearm, a handoff) is kept by one store:
 *
 *   etcd        with strangler_etcd, for a route of this host's tables:
 *               etcd takes the change first, the fleet applies it;
 *   state file  with strangler_state: staged, written, then installed;
 *   zone        neither: installed at once, lost at a restart.
 *
 * A change applied in the zone by another path (etcd's watch, a guard
 * trip, a prune at reload) is copied into the state file behind it by
 * ngx_http_strangler_change_keep().  This file sits in state/, the lowest
 * folder, so that every layer may ask it; it only reads the
 * configuration, and calls nothing above.  The first step of the one
 * entry point of issue 21: the callers (api/, guard/, fleet/) still write
 * to the store they are told.
 */


#include "ngx_http_strangler_state.h"


static void ngx_http_strangler_change_saved(void *data, ngx_int_t rc);


ngx_uint_t
ngx_http_strangler_change_store(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t local)
{
    if (z->smcf->etcd && !local) {
        return NGX_HTTP_STRANGLER_STORE_ETCD;
    }

    if (z->smcf->state_file.len) {
        return NGX_HTTP_STRANGLER_STORE_FILE;
    }

    return NGX_HTTP_STRANGLER_STORE_ZONE;
}


/*
 * Called with the zone's mutex held, before a change is staged: with a
 * state file, the change becomes its one writer (NGX_BUSY while another
 * is written); without, nothing to hold.
 */

ngx_int_t
ngx_http_strangler_change_lock_locked(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    if (z->smcf->state_file.len == 0) {
        return NGX_OK;
    }

    return ngx_http_strangler_state_lock_locked(z, log);
}


/* the zone changed: the state file, if any, is written behind the change */

void
ngx_http_strangler_change_keep(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log)
{
    if (z->smcf->state_file.len) {
        ngx_http_strangler_state_save_later(z, log);
    }
}


/*
 * Write a change staged under the state file's writer lock
 * (ngx_http_strangler_change_lock_locked()).  NGX_OK: ch->done will be
 * called; ch must live until then.  NGX_ERROR: the write could not start,
 * the change is discarded and the file unlocked already.
 */

ngx_int_t
ngx_http_strangler_change_save(ngx_http_strangler_change_t *ch,
    ngx_pool_t *pool, ngx_log_t *log)
{
    if (ngx_http_strangler_state_save(ch->zone, ch->shr, ch->staged, pool,
                                      log, ngx_http_strangler_change_saved,
                                      ch)
        == NGX_OK)
    {
        return NGX_OK;
    }

    ch->discard(ch->data);

    /* a save made next outlives the change: the cycle's log */
    ngx_http_strangler_state_unlock(ch->zone, ngx_cycle->log);

    return NGX_ERROR;
}


static void
ngx_http_strangler_change_saved(void *data, ngx_int_t rc)
{
    ngx_http_strangler_change_t  *ch = data;

    if (rc == NGX_OK) {
        ch->install(ch->data);

    } else {
        ch->discard(ch->data);
    }

    ngx_http_strangler_state_unlock(ch->zone, ngx_cycle->log);

    ch->done(ch->data, rc);
}
