
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The history of the routes' runtime changes: who, when, through what,
 * why, and each field from -> to; bounded, in the zone, and saved as
 * JSONL next to the state file (ngx_http_strangler_history.c).
 */


#ifndef NGX_HTTP_STRANGLER_HISTORY_H_INCLUDED_
#define NGX_HTTP_STRANGLER_HISTORY_H_INCLUDED_


#include "ngx_http_strangler_zone.h"


#define NGX_HTTP_STRANGLER_HISTORY_MAX     256     /* entries kept */
#define NGX_HTTP_STRANGLER_HISTORY_LINE    2048    /* bytes, at most */
#define NGX_HTTP_STRANGLER_HISTORY_SUFFIX  ".history"
#define NGX_HTTP_STRANGLER_REASON_MAX      256     /* bytes */


typedef struct {
    time_t                              at;
    ngx_str_t                           route;   /* in line */
    ngx_str_t                           line;    /* JSON, no newline */
    uint64_t                            id;
} ngx_http_strangler_history_slot_t;


typedef struct ngx_http_strangler_sh_history_s {
    ngx_atomic_t                        seq;     /* the newest id */
    ngx_atomic_t                        landed;  /* the newest id saved */
    ngx_uint_t                          n;       /* slots held */
    ngx_uint_t                          next;    /* the slot written next */
    ngx_http_strangler_history_slot_t   slot[NGX_HTTP_STRANGLER_HISTORY_MAX];
} ngx_http_strangler_sh_history_t;


/* a new zone: the block, and the file's entries */
ngx_int_t ngx_http_strangler_history_init_zone(
    ngx_http_strangler_zone_ctx_t *z, ngx_log_t *log);

/* with the mutex held: a route's override went from `old` to `now`, as
 * `who` (by, at, via, reason) made it; `result` NULL: "applied" */
void ngx_http_strangler_history_add_locked(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *file, ngx_str_t *route, ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now,
    ngx_http_strangler_override_rec_t *who, const char *result);

/* the same without the mutex; `now` says who */
void ngx_http_strangler_history_add(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *file, ngx_str_t *route, ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now, const char *result,
    ngx_pool_t *pool, ngx_log_t *log);

/* `GET history[?route=&limit=&since=&before=]`: JSON in the pool */
json_t *ngx_http_strangler_history_json(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *route, ngx_uint_t limit, time_t since, uint64_t before,
    uint64_t *more);

/* an ISO 8601 UTC time or a number of seconds; -1: neither */
time_t ngx_http_strangler_history_time(u_char *p, size_t len);


#endif /* NGX_HTTP_STRANGLER_HISTORY_H_INCLUDED_ */
