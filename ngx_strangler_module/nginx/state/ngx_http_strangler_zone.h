
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The shared memory zone as its readers see it: its blocks, the hooks
 * the subsystems that keep something in it register, the overrides, the
 * reclaim, the progress and the state file.
 */


#ifndef NGX_HTTP_STRANGLER_ZONE_H_INCLUDED_
#define NGX_HTTP_STRANGLER_ZONE_H_INCLUDED_


#include "ngx_http_strangler.h"
#include "ngx_http_strangler_progress.h"
#include "ngx_http_strangler_fileio.h"

#include <jansson.h>

#include "strangler_guard.h"


/* upstream time histogram: the core's, which the guards' p99 reuses */
#define NGX_HTTP_STRANGLER_TIME_BOUNDS  STRANGLER_TIME_BOUNDS
#define NGX_HTTP_STRANGLER_NBUCKETS     STRANGLER_TIME_NBUCKETS

/* response status classes: 1xx .. 5xx, status / 100 - 1 */
#define NGX_HTTP_STRANGLER_NCLASSES   5

/* how long the override of a route gone from the table is kept: 7 days */
#define NGX_HTTP_STRANGLER_KEEP_ORPHANED  (7 * 24 * 60 * 60)

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
    ngx_http_strangler_counters_t       shadow;  /* its answers to copies */
    ngx_str_t                           name;
};


/* an override as stored: replaced, never changed in place */
typedef struct {
    ngx_str_t                           reads;       /* len 0: none */
    ngx_str_t                           owner;       /* len 0: none */
    ngx_int_t                           sample_ppm;  /* -1: none */
    ngx_str_t                           by;          /* who */
    time_t                              at;
    ngx_str_t                           via;         /* api, guard, ... */
    ngx_str_t                           reason;      /* len 0: none */
} ngx_http_strangler_override_rec_t;


/*
 * A route of one table file, by (file, name).  Freed only once no
 * configuration that a live process runs has the route, and it has no
 * override (ngx_http_strangler_zone_reclaim.c).
 */
typedef struct {
    ngx_rbtree_node_t                   node;        /* key: file, name */
    ngx_queue_t                         queue;
    ngx_str_t                           file;
    ngx_str_t                           name;
    ngx_uint_t                          bound;       /* newest config */
    time_t                              orphaned;    /* 0: in a table */
    ngx_atomic_t                        generation;  /* of the override */
    ngx_http_strangler_override_rec_t  *override;    /* NULL: none */
    ngx_http_strangler_sh_backend_t    *backends;
    ngx_atomic_t                        shadow[
                                         NGX_HTTP_STRANGLER_SHADOW_NEVENTS];
    ngx_atomic_t                        regex_limit; /* lookups cut short */
    struct ngx_http_strangler_sh_guard_s  *guard;    /* NULL: never had */
    ngx_atomic_t                        skipped[
                                         NGX_HTTP_STRANGLER_SKIP_NREASONS];
    struct ngx_http_strangler_sh_fields_s  *fields;  /* NULL: not compared */
    ngx_atomic_t                        pending;     /* etcd lacks it */
    ngx_atomic_t                        publish_at;  /* ms: next try */
    /* writes in flight per backend (_handoff.c); NULL: none yet */
    struct ngx_http_strangler_sh_writes_s  *writes;
    /* a change of owner under way or done last; NULL: never had one */
    struct ngx_http_strangler_sh_handoff_s  *handoff;
    time_t                              reads_moved; /* by the table; 0: not */
} ngx_http_strangler_sh_route_t;


/* a worker process and the configuration it runs */
typedef struct {
    ngx_queue_t                         queue;
    ngx_pid_t                           pid;
    ngx_uint_t                          gen;
} ngx_http_strangler_sh_proc_t;


/* a key's longest name under the prefix that an outcome slot keeps */
#define NGX_HTTP_STRANGLER_ETCD_KEY_MAX  256
#define NGX_HTTP_STRANGLER_ETCD_OUTCOMES 8


/*
 * A change whose transaction reached etcd without an answer: its outcome
 * is unknown until the watcher learns it (_etcd_fence.c)
 */
typedef struct {
    ngx_uint_t                          state;      /* 0: free slot */
    u_char                              key[NGX_HTTP_STRANGLER_ETCD_KEY_MAX];
    size_t                              key_len;    /* "routes/NAME" */
    u_char                              fence[NGX_HTTP_STRANGLER_ETCD_KEY_MAX];
    size_t                              fence_len;  /* "fence/..." */
    int64_t                             base;       /* mod compared */
    uint32_t                            crc;        /* of the value */
    size_t                              value_len;
    ngx_uint_t                          deleted;
    time_t                              at;
    int64_t                             revision;   /* learnt */
} ngx_http_strangler_etcd_outcome_t;

#define NGX_HTTP_STRANGLER_ETCD_ERR        256


/*
 * strangler_etcd: the watching worker and what it saw (_etcd_watch.c), and
 * per route name the revisions of its key (_etcd.c); only with the
 * directive, in a block of its own
 */
typedef struct {
    ngx_atomic_t                        fence_seq;  /* changes made */
    uint64_t                            boot;       /* ms: the zone's */
    ngx_uint_t                          next;       /* outcome slot */
    ngx_http_strangler_etcd_outcome_t   outcome[
                                        NGX_HTTP_STRANGLER_ETCD_OUTCOMES];
    ngx_atomic_t                        holder;     /* pid; 0: none */
    ngx_atomic_t                        beat;       /* monotonic ms */
    ngx_atomic_t                        connected;
    ngx_atomic_t                        endpoint;   /* index in use */
    ngx_atomic_t                        revision;   /* applied */
    ngx_atomic_t                        event_at;   /* unix s; 0: none */
    ngx_atomic_t                        lost_at;    /* unix ms; 0: not */
    /* why the last call failed (TLS, authentication, ...); 0: it did not */
    size_t                              error_len;
    u_char                              error[NGX_HTTP_STRANGLER_ETCD_ERR];
    ngx_rbtree_t                        keys;       /* of etcd_key_t */
    ngx_rbtree_node_t                   sentinel;
} ngx_http_strangler_etcd_sh_t;


/* why the last write of the capture file failed, at most */
#define NGX_HTTP_STRANGLER_CAPTURE_ERR  256


/*
 * strangler_capture's records over every worker, since the zone was made
 * (shadow/ngx_http_strangler_record_file.c counts them a write at a time)
 */
typedef struct {
    ngx_atomic_t                        written;
    ngx_atomic_t                        dropped;
    ngx_atomic_t                        bytes;       /* written */
    time_t                              error_at;    /* 0: never failed */
    size_t                              error_len;
    u_char                              error[NGX_HTTP_STRANGLER_CAPTURE_ERR];
} ngx_http_strangler_sh_capture_t;


typedef struct {
    ngx_rbtree_t                        rbtree;
    ngx_rbtree_node_t                   sentinel;
    ngx_queue_t                         routes;
    ngx_queue_t                         procs;        /* of sh_proc_t */
    ngx_uint_t                          gen;          /* configs bound */
    ngx_atomic_t                        generation;   /* of any override */
    ngx_atomic_t                        state_seq;    /* snapshots taken */
    ngx_atomic_t                        state_landed; /* newest written */
    ngx_atomic_t                        shadows;      /* in flight, all */
    ngx_atomic_t                        shadows_high; /* in one worker */
    ngx_atomic_t                        diff_dropped; /* diff log lines */
    ngx_atomic_t                        alloc_failures;
    ngx_atomic_t                        reclaimed;    /* route blocks */
    ngx_atomic_t                        pending;      /* a route's may be */
    ngx_uint_t                          full_logged;
    ngx_http_strangler_sh_capture_t     capture;

    /* the one change being written to the state file */
    ngx_pid_t                           writer;       /* 0: none */
    time_t                              writer_since;
    ngx_uint_t                          save_again;
    ngx_http_strangler_sh_progress_t    progress;

    ngx_http_strangler_etcd_sh_t       *etcd;         /* NULL: none */
    struct ngx_http_strangler_sh_history_s  *history;  /* NULL: none yet */
    ngx_uint_t                          history_on;  /* state file read */

    /* moves with each handoff's start and end (_handoff.c) */
    ngx_atomic_t                        handoff_seq;
    struct ngx_http_strangler_sh_handoffs_s  *handoffs;  /* NULL: none */
} ngx_http_strangler_shctx_t;


typedef struct ngx_http_strangler_zone_ctx_s  ngx_http_strangler_zone_ctx_t;

/*
 * What a subsystem that keeps something in the zone registers at
 * postconfiguration, calling the hook it replaced the way the upstream
 * keepalive module chains init_peer: the zone never names them.
 *
 * bind: a route's block, with the mutex held; 0, or the size of the block
 * it could not allocate (or, `full`: the zone is full already, would).
 * init: once every route is bound; `fresh`: the zone was just made.
 */
typedef size_t (*ngx_http_strangler_zone_bind_pt)(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    const strangler_route_t *route, ngx_uint_t full);
typedef ngx_int_t (*ngx_http_strangler_zone_init_pt)(
    ngx_http_strangler_zone_ctx_t *z, ngx_uint_t fresh, ngx_log_t *log);

struct ngx_http_strangler_zone_ctx_s {
    ngx_http_strangler_shctx_t         *sh;
    ngx_slab_pool_t                    *shpool;
    ngx_http_strangler_main_conf_t     *smcf;
    ngx_str_t                           name;
    ngx_uint_t                          gen;     /* this configuration's */
    ngx_http_strangler_zone_bind_pt     bind;    /* NULL: none */
    ngx_http_strangler_zone_init_pt     init;    /* NULL: none */
};


/* per process: where a route lives in the zone, and its override */
struct ngx_http_strangler_binding_s {
    ngx_http_strangler_zone_ctx_t      *zone;
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_sh_backend_t   **backends;   /* by index, cached */
    ngx_atomic_uint_t                   generation; /* of `override` */
    ngx_atomic_uint_t                   zone_generation; /* last checked */
    strangler_override_t                override;
    ngx_uint_t                          has_override;
    /* this process's writes held by a handoff; NULL: never held any */
    struct ngx_http_strangler_held_s   *held;
    /* by backend: the route's writes in flight, and this process's */
    struct ngx_http_strangler_sh_writes_s  **writes;
    ngx_atomic_t                      **mine;
};

typedef struct ngx_http_strangler_binding_s  ngx_http_strangler_binding_t;


/* ngx_http_strangler_zone.c */
extern ngx_msec_t  ngx_http_strangler_time_bounds[];
extern const char  *ngx_http_strangler_classes[];

ngx_http_strangler_zone_ctx_t *ngx_http_strangler_zone_ctx(
    ngx_http_strangler_main_conf_t *smcf);
ngx_http_strangler_binding_t *ngx_http_strangler_binding(
    ngx_http_strangler_table_t *t, const strangler_route_t *route);
ngx_http_strangler_binding_t *ngx_http_strangler_count_dispatched(
    ngx_http_strangler_ctx_t *ctx, ngx_uint_t status, ngx_msec_int_t ms,
    ngx_int_t *bucket);
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
ngx_int_t ngx_http_strangler_override_stage(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_uint_t fields,
    ngx_http_strangler_override_rec_t *patch,
    ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now, ngx_pool_t *pool,
    ngx_http_strangler_override_rec_t **staged);
void ngx_http_strangler_override_install(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *staged,
    ngx_http_strangler_override_rec_t *who);
json_t *ngx_http_strangler_override_json(
    ngx_http_strangler_override_rec_t *ov);
int ngx_http_strangler_json_set_str(json_t *obj, const char *key,
    ngx_str_t *s);
ngx_http_strangler_sh_route_t *ngx_http_strangler_zone_lookup(
    ngx_http_strangler_zone_ctx_t *z, ngx_str_t *file, ngx_str_t *name);
ngx_http_strangler_sh_route_t *ngx_http_strangler_zone_add(
    ngx_http_strangler_zone_ctx_t *z, ngx_str_t *file, ngx_str_t *name);

/* ngx_http_strangler_zone_reclaim.c */
ngx_int_t ngx_http_strangler_zone_join(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log);
void ngx_http_strangler_zone_leave(ngx_http_strangler_zone_ctx_t *z);
ngx_uint_t ngx_http_strangler_zone_reclaim(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t own, ngx_log_t *log);
void ngx_http_strangler_zone_full(ngx_http_strangler_zone_ctx_t *z,
    size_t more, ngx_log_t *log);
size_t ngx_http_strangler_zone_need(ngx_http_strangler_zone_ctx_t *z,
    size_t more);
size_t ngx_http_strangler_zone_used(ngx_http_strangler_zone_ctx_t *z);
size_t ngx_http_strangler_zone_block(size_t size);
ngx_uint_t ngx_http_strangler_zone_is_alive(ngx_pid_t pid);

/* ngx_http_strangler_override.c */
void ngx_http_strangler_override_changed(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr);
void ngx_http_strangler_override_merge(ngx_http_strangler_override_rec_t *cur,
    ngx_uint_t fields, ngx_http_strangler_override_rec_t *patch,
    ngx_http_strangler_override_rec_t *next);
ngx_int_t ngx_http_strangler_override_set_locked(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *rec);
ngx_int_t ngx_http_strangler_override_read_locked(
    ngx_http_strangler_sh_route_t *shr, ngx_http_strangler_override_rec_t *rec,
    ngx_pool_t *pool);

/* ngx_http_strangler_handoff*.c */
ngx_int_t ngx_http_strangler_handoff_reload(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_zone_ctx_t *oz, ngx_log_t *log);
void ngx_http_strangler_handoff_free(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr);

/* ngx_http_strangler_progress.c */
void ngx_http_strangler_progress_bind(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_sh_route_t *shr);
void ngx_http_strangler_progress_count(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_table_t *t, int backend);
ngx_int_t ngx_http_strangler_progress_figures(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_table_t *t,
    ngx_pool_t *pool, ngx_http_strangler_progress_t *p);
ngx_uint_t ngx_http_strangler_progress_history(
    ngx_http_strangler_zone_ctx_t *z,
    uint64_t served[][NGX_HTTP_STRANGLER_SERVED_COUNT], time_t *first);
ngx_int_t ngx_http_strangler_progress_override(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *ov, ngx_pool_t *pool);
ngx_uint_t ngx_http_strangler_route_stage(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_override_rec_t *ov,
    ngx_uint_t *split);
const char *ngx_http_strangler_stage_name(ngx_uint_t stage);
const char *ngx_http_strangler_served_name(ngx_uint_t served);

/* ngx_http_strangler_state.c */
ngx_int_t ngx_http_strangler_state_init_conf(ngx_conf_t *cf);
ngx_int_t ngx_http_strangler_state_save(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *staged_shr,
    ngx_http_strangler_override_rec_t *staged, ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_strangler_file_done_pt done, void *data);
ngx_int_t ngx_http_strangler_state_lock_locked(
    ngx_http_strangler_zone_ctx_t *z, ngx_log_t *log);
void ngx_http_strangler_state_unlock(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log);
void ngx_http_strangler_state_save_later(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log);

/* where a runtime change is kept (ngx_http_strangler_change.c) */
#define NGX_HTTP_STRANGLER_STORE_ZONE  0
#define NGX_HTTP_STRANGLER_STORE_FILE  1
#define NGX_HTTP_STRANGLER_STORE_ETCD  2

ngx_uint_t ngx_http_strangler_change_store(ngx_http_strangler_zone_ctx_t *z,
    ngx_uint_t local);
ngx_int_t ngx_http_strangler_change_lock_locked(
    ngx_http_strangler_zone_ctx_t *z, ngx_log_t *log);
void ngx_http_strangler_change_keep(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log);

/*
 * A change written to the state file: what it staged, installed once the
 * file holds it or discarded if it could not be written, the file then
 * unlocked and done called with the outcome (NGX_OK: applied)
 */
typedef void (*ngx_http_strangler_change_pt)(void *data);

typedef struct {
    ngx_http_strangler_zone_ctx_t      *zone;
    ngx_http_strangler_sh_route_t      *shr;      /* an override staged */
    ngx_http_strangler_override_rec_t  *staged;   /* or NULL, NULL */
    ngx_http_strangler_change_pt        install;
    ngx_http_strangler_change_pt        discard;
    ngx_http_strangler_file_done_pt     done;
    void                               *data;
} ngx_http_strangler_change_t;

ngx_int_t ngx_http_strangler_change_save(ngx_http_strangler_change_t *ch,
    ngx_pool_t *pool, ngx_log_t *log);


#endif /* NGX_HTTP_STRANGLER_ZONE_H_INCLUDED_ */
