
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The shared memory zone as its readers see it: the API, the state file
 * and the log-phase counters.  Private to the zone, state and API files.
 */


#ifndef NGX_HTTP_STRANGLER_ZONE_H_INCLUDED_
#define NGX_HTTP_STRANGLER_ZONE_H_INCLUDED_


#include "ngx_http_strangler_module.h"

#include <jansson.h>

#include "strangler_guard.h"


/* upstream time histogram: the core's, which the guards' p99 reuses */
#define NGX_HTTP_STRANGLER_TIME_BOUNDS  STRANGLER_TIME_BOUNDS
#define NGX_HTTP_STRANGLER_NBUCKETS     STRANGLER_TIME_NBUCKETS

/* response status classes: 1xx .. 5xx, status / 100 - 1 */
#define NGX_HTTP_STRANGLER_NCLASSES   5

/* the fields of an override; a patch says which ones it sets */
#define NGX_HTTP_STRANGLER_OV_READS   0x01
#define NGX_HTTP_STRANGLER_OV_OWNER   0x02
#define NGX_HTTP_STRANGLER_OV_SAMPLE  0x04
#define NGX_HTTP_STRANGLER_OV_ALL     0x07


typedef struct {
    ngx_atomic_t                    requests;
    ngx_atomic_t                    status[NGX_HTTP_STRANGLER_NCLASSES];
    ngx_atomic_t                    timed;         /* had upstream time */
    ngx_atomic_t                    time_sum;      /* ms */
    ngx_atomic_t                    time_bucket[NGX_HTTP_STRANGLER_NBUCKETS];
} ngx_http_strangler_counters_t;


/* one backend's counters for one route; never freed once published */
typedef struct ngx_http_strangler_sh_backend_s
                                        ngx_http_strangler_sh_backend_t;

struct ngx_http_strangler_sh_backend_s {
    ngx_http_strangler_sh_backend_t    *next;
    ngx_http_strangler_counters_t       counters;
    ngx_str_t                           name;
};


/* an override as stored: replaced, never changed in place */
typedef struct {
    ngx_str_t                           reads;       /* len 0: none */
    ngx_str_t                           owner;       /* len 0: none */
    ngx_int_t                           sample_ppm;  /* -1: none */
    ngx_str_t                           by;          /* client address */
    time_t                              at;
} ngx_http_strangler_override_rec_t;


/* a route of one table file, by (file, name); never freed */
typedef struct {
    ngx_rbtree_node_t                   node;        /* key: file, name */
    ngx_queue_t                         queue;
    ngx_str_t                           file;
    ngx_str_t                           name;
    ngx_atomic_t                        generation;  /* of the override */
    ngx_http_strangler_override_rec_t  *override;    /* NULL: none */
    ngx_http_strangler_sh_backend_t    *backends;
    ngx_atomic_t                        shadow[
                                         NGX_HTTP_STRANGLER_SHADOW_NEVENTS];
    ngx_atomic_t                        regex_limit; /* lookups cut short */
    struct ngx_http_strangler_sh_guard_s  *guard;    /* NULL: never had */
    int64_t                             etcd_applied; /* event revision */
    int64_t                             etcd_mod;  /* key's; 0: absent */
} ngx_http_strangler_sh_route_t;


/* strangler_etcd: the watching worker and what it saw (_etcd_watch.c) */
typedef struct {
    ngx_atomic_t                        holder;     /* pid; 0: none */
    ngx_atomic_t                        beat;       /* monotonic ms */
    ngx_atomic_t                        connected;
    ngx_atomic_t                        endpoint;   /* index in use */
    ngx_atomic_t                        revision;   /* applied */
    ngx_atomic_t                        event_at;   /* unix s; 0: none */
    ngx_atomic_t                        lost_at;    /* unix ms; 0: not */
} ngx_http_strangler_etcd_sh_t;


typedef struct {
    ngx_rbtree_t                        rbtree;
    ngx_rbtree_node_t                   sentinel;
    ngx_queue_t                         routes;
    ngx_atomic_t                        generation;   /* of any override */
    ngx_atomic_t                        state_seq;    /* snapshots taken */
    ngx_atomic_t                        state_landed; /* newest written */
    ngx_http_strangler_etcd_sh_t        etcd;
} ngx_http_strangler_shctx_t;


typedef struct {
    ngx_http_strangler_shctx_t         *sh;
    ngx_slab_pool_t                    *shpool;
    ngx_http_strangler_main_conf_t     *smcf;
    ngx_str_t                           name;
} ngx_http_strangler_zone_ctx_t;


/* per process: where a route lives in the zone, and its override */
struct ngx_http_strangler_binding_s {
    ngx_http_strangler_zone_ctx_t      *zone;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_sh_backend_t   **backends;   /* by index, cached */
    ngx_atomic_uint_t                   generation; /* of `override` */
    ngx_atomic_uint_t                   zone_generation; /* last checked */
    strangler_override_t                override;
    ngx_uint_t                          has_override;
};

typedef struct ngx_http_strangler_binding_s  ngx_http_strangler_binding_t;


/* ngx_http_strangler_zone.c */
extern ngx_msec_t  ngx_http_strangler_time_bounds[];
extern const char  *ngx_http_strangler_classes[];

ngx_http_strangler_zone_ctx_t *ngx_http_strangler_zone_ctx(
    ngx_http_strangler_main_conf_t *smcf);
ngx_http_strangler_binding_t *ngx_http_strangler_binding(
    ngx_http_strangler_table_t *t, const strangler_route_t *route);
void ngx_http_strangler_override_prune(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf, ngx_http_strangler_zone_ctx_t *z);
ngx_int_t ngx_http_strangler_override_read(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_http_strangler_override_rec_t *rec,
    ngx_pool_t *pool);
ngx_int_t ngx_http_strangler_override_patch(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_uint_t fields,
    ngx_http_strangler_override_rec_t *patch,
    ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now, ngx_pool_t *pool);
json_t *ngx_http_strangler_override_json(
    ngx_http_strangler_override_rec_t *ov);
int ngx_http_strangler_json_set_str(json_t *obj, const char *key,
    ngx_str_t *s);
ngx_http_strangler_sh_route_t *ngx_http_strangler_zone_lookup(
    ngx_http_strangler_zone_ctx_t *z, ngx_str_t *file, ngx_str_t *name);
ngx_http_strangler_sh_route_t *ngx_http_strangler_zone_add(
    ngx_http_strangler_zone_ctx_t *z, ngx_str_t *file, ngx_str_t *name);

/* ngx_http_strangler_override.c */
void ngx_http_strangler_override_changed(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr);
void ngx_http_strangler_override_merge(ngx_http_strangler_override_rec_t *cur,
    ngx_uint_t fields, ngx_http_strangler_override_rec_t *patch,
    ngx_http_strangler_override_rec_t *next);
ngx_int_t ngx_http_strangler_override_replace(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_http_strangler_override_rec_t *rec,
    int64_t mod_revision, int64_t revision, ngx_uint_t force);
ngx_int_t ngx_http_strangler_override_read_etcd(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *rec, int64_t *mod, ngx_pool_t *pool);

/* ngx_http_strangler_state.c */
ngx_int_t ngx_http_strangler_state_load(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log);
ngx_int_t ngx_http_strangler_state_save(ngx_http_strangler_zone_ctx_t *z,
    ngx_pool_t *pool, ngx_log_t *log, ngx_http_strangler_file_done_pt done,
    void *data);


#endif /* NGX_HTTP_STRANGLER_ZONE_H_INCLUDED_ */
