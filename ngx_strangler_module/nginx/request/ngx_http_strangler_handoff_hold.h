/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The request side of a handoff (ngx_http_strangler_handoff_hold.c): a
 * write counted in flight, or held while its route's owner moves.
 */


#ifndef NGX_HTTP_STRANGLER_HANDOFF_HOLD_H_INCLUDED_
#define NGX_HTTP_STRANGLER_HANDOFF_HOLD_H_INCLUDED_


#include "ngx_http_strangler.h"


/*
 * A write decided: NGX_OK, counted, go on; NGX_AGAIN, decide again;
 * NGX_DONE, held; or a status.  `seq`: ngx_http_strangler_handoff_seq()
 * read before the decision.
 */
ngx_int_t ngx_http_strangler_handoff_write(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx, ngx_atomic_uint_t seq);

/* a handoff of the route ended: this process's held writes go on now */
void ngx_http_strangler_handoff_wake(ngx_http_strangler_table_t *t,
    const strangler_route_t *route);


#endif /* NGX_HTTP_STRANGLER_HANDOFF_HOLD_H_INCLUDED_ */
