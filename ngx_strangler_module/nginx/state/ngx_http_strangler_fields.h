
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Per-field statistics of a compared route (ngx_http_strangler_fields.c):
 * in the zone, a fixed number of field slots per route, each counting the
 * comparisons where the field differed between the primary and the
 * candidate (differences) and between the primary and its noise copy
 * (noise), with a few request ids as examples.  Never grows with traffic:
 * a field without a slot is counted in `overflow`.
 */


#ifndef NGX_HTTP_STRANGLER_FIELDS_H_INCLUDED_
#define NGX_HTTP_STRANGLER_FIELDS_H_INCLUDED_


#include "ngx_http_strangler_zone.h"
#include "strangler_compare.h"


#define NGX_HTTP_STRANGLER_FIELDS        32
#define NGX_HTTP_STRANGLER_FIELD_LEN     128  /* a field's name, with NUL */
#define NGX_HTTP_STRANGLER_EXAMPLES      5
#define NGX_HTTP_STRANGLER_EXAMPLE_LEN   48   /* a request id, with NUL */
#define NGX_HTTP_STRANGLER_IGNORES       16   /* runtime ignore rules */


typedef struct {
    ngx_atomic_t                        differences;
    ngx_atomic_t                        noise;
    ngx_atomic_t                        examples;   /* taken, up to 5 used */
    time_t                              differed;   /* first difference */
    u_char                              example[NGX_HTTP_STRANGLER_EXAMPLES]
                                             [NGX_HTTP_STRANGLER_EXAMPLE_LEN];
    u_char                              name[NGX_HTTP_STRANGLER_FIELD_LEN];
} ngx_http_strangler_sh_field_t;


/*
 * One compared route's block.  The totals are counters for the metrics
 * and are never reset; the statistics are, by DELETE routes/NAME/diffs.
 * Slots are taken under the mutex, counted lock-free.
 */
typedef struct ngx_http_strangler_sh_fields_s {
    /* totals */
    ngx_atomic_t                        noise_only;  /* matched but noise */
    ngx_atomic_t                        noise_sent;  /* noise comparisons */

    /* statistics */
    ngx_atomic_t                        compared;
    ngx_atomic_t                        noise_compared;
    ngx_atomic_t                        mismatched;  /* after the verdict */
    ngx_atomic_t                        matched_noise;
    ngx_atomic_t                        writes;      /* dry-run compared */
    ngx_atomic_t                        writes_mismatched;
    ngx_atomic_t                        overflow;    /* fields without slot */
    ngx_atomic_t                        nfields;     /* slots taken */
    time_t                              since;       /* last reset */
    ngx_http_strangler_sh_field_t       field[NGX_HTTP_STRANGLER_FIELDS];

    /*
     * Runtime ignore rules (PUT routes/NAME/ignore): staged while the state
     * file is written, then installed; `ignore_gen` is odd while they
     * change, so that a comparison reads them whole without the lock.
     */
    ngx_atomic_t                        ignore_gen;
    ngx_uint_t                          nignore;
    u_char                              ignore[NGX_HTTP_STRANGLER_IGNORES]
                                              [NGX_HTTP_STRANGLER_FIELD_LEN];
    ngx_uint_t                          staging;
    ngx_uint_t                          nstaged;
    u_char                              staged[NGX_HTTP_STRANGLER_IGNORES]
                                              [NGX_HTTP_STRANGLER_FIELD_LEN];
} ngx_http_strangler_sh_fields_t;


/* registers the block of a compared route with the zone's bind hooks */
ngx_int_t ngx_http_strangler_fields_init_conf(ngx_conf_t *cf);

/*
 * a shadow's comparison (of a write: a dry run), counted on its route's
 * binding (NULL: none) with the table's rules (`conf`): the number of
 * differences that are not noise
 */
ngx_uint_t ngx_http_strangler_fields_count(ngx_http_strangler_binding_t *b,
    ngx_str_t *request_id, const strangler_shadow_t *conf, ngx_uint_t write,
    strangler_diffs_t *diffs, strangler_diffs_t *noise);

/* the API: a route's statistics as JSON, and their reset */
json_t *ngx_http_strangler_fields_json(ngx_http_strangler_sh_fields_t *f,
    const strangler_route_t *route);
void ngx_http_strangler_fields_reset(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f);


/* ngx_http_strangler_ignore.c: runtime ignore rules */
typedef struct {
    ngx_uint_t                          n;
    u_char                              rule[NGX_HTTP_STRANGLER_IGNORES]
                                            [NGX_HTTP_STRANGLER_FIELD_LEN];
} ngx_http_strangler_ignore_list_t;

ngx_int_t ngx_http_strangler_ignore_next(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f, json_t *add, json_t *remove,
    ngx_http_strangler_ignore_list_t *next, ngx_pool_t *pool, u_char **err);
void ngx_http_strangler_ignore_set_locked(ngx_http_strangler_sh_fields_t *f,
    u_char rules[][NGX_HTTP_STRANGLER_FIELD_LEN], ngx_uint_t n);
json_t *ngx_http_strangler_ignore_list_json(
    ngx_http_strangler_ignore_list_t *list);
ngx_int_t ngx_http_strangler_ignore_change(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f, json_t *add, json_t *remove,
    ngx_pool_t *pool, u_char **err);
void ngx_http_strangler_ignore_install(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f);
void ngx_http_strangler_ignore_unstage(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_fields_t *f);
json_t *ngx_http_strangler_ignore_json(ngx_http_strangler_sh_fields_t *f,
    ngx_uint_t staged);
/* the route's comparison with the runtime rules too, in `pool` */
const strangler_shadow_t *ngx_http_strangler_ignore_conf(
    ngx_http_strangler_binding_t *b, const strangler_shadow_t *table,
    ngx_pool_t *pool);
ngx_int_t ngx_http_strangler_ignore_restore(ngx_http_strangler_sh_fields_t *f,
    json_t *paths);


#endif /* NGX_HTTP_STRANGLER_FIELDS_H_INCLUDED_ */
