
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What the nginx side of the module shares between its files.  The route
 * table itself (strangler_table.h) knows nothing of nginx.
 */


#ifndef NGX_HTTP_STRANGLER_MODULE_H_INCLUDED_
#define NGX_HTTP_STRANGLER_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "strangler_table.h"


/* a loaded route table as nginx uses it */
typedef struct {
    strangler_table_t              *core;
    ngx_str_t                       file;
    ngx_str_t                      *backend_names;  /* per backend */
    ngx_str_t                      *locations;      /* per backend, "@x" */
    time_t                          loaded;
    /* per route by index, then the default; NULL: no zone */
    struct ngx_http_strangler_binding_s  *bindings;
    /* per route: its regex hit a PCRE2 limit, logged by this process */
    u_char                         *regex_limit_logged;
} ngx_http_strangler_table_t;


/* strangler_ambiguous_path */
#define NGX_HTTP_STRANGLER_AMBIGUOUS_REJECT     0
#define NGX_HTTP_STRANGLER_AMBIGUOUS_NORMALIZE  1
#define NGX_HTTP_STRANGLER_AMBIGUOUS_OFF        2


typedef struct {
    ngx_http_strangler_table_t     *table;
    ngx_str_t                       force_header;   /* empty: off */
    ngx_http_complex_value_t       *force_if;       /* NULL: always */
    ngx_flag_t                      dispatch;       /* `strangler;` here */
    ngx_uint_t                      ambiguous_path;
    ngx_flag_t                      api;            /* `strangler_api;` */
} ngx_http_strangler_loc_conf_t;


/* a `strangler` location, checked against its server at postconfiguration */
typedef struct {
    ngx_http_strangler_loc_conf_t  *slcf;
    ngx_http_core_srv_conf_t       *cscf;
    ngx_str_t                       conf_file;
    ngx_uint_t                      conf_line;
    ngx_str_t                       directive;      /* for messages */
} ngx_http_strangler_dispatcher_t;


typedef struct {
    ngx_array_t                     dispatchers;
    ngx_array_t                     tables;     /* of table_t *, loaded */
    ngx_array_t                     apis;       /* `strangler_api` places */
    ngx_shm_zone_t                 *shm_zone;   /* strangler_zone */
    ngx_str_t                       state_file; /* strangler_state */
    time_t                          keep_orphaned;  /* its parameter */

    /* shadowing (ngx_http_strangler_shadow*.c) */
    ngx_uint_t                      shadow_limit;     /* per worker */
    ngx_msec_t                      shadow_timeout;
    size_t                          compare_max_body;
    struct ngx_http_strangler_diff_log_s  *diff_log;  /* NULL: none */

    /* strangler_handoff (ngx_http_strangler_handoff.c) */
    ngx_msec_t                      handoff_drain;
    ngx_uint_t                      handoff_hold;

    /* strangler_capture (ngx_http_strangler_record*.c); NULL: none */
    struct ngx_http_strangler_record_log_s  *record_log;

    /* strangler_etcd (ngx_http_strangler_etcd*.c); NULL: single host */
    struct ngx_http_strangler_etcd_conf_s  *etcd;
} ngx_http_strangler_main_conf_t;


typedef struct ngx_http_strangler_shadow_s     ngx_http_strangler_shadow_t;
typedef struct ngx_http_strangler_diff_log_s   ngx_http_strangler_diff_log_t;
typedef struct ngx_http_strangler_record_s     ngx_http_strangler_record_t;


/* the decision for one request; survives the internal redirect */
typedef struct {
    ngx_http_strangler_table_t     *table;
    strangler_decision_t            decision;
    unsigned                        dispatched:1;
    unsigned                        shadow_sent:1;
    unsigned                        shadow_dropped:1;
    unsigned                        shadow_skipped:1;
    unsigned                        is_shadow:1;  /* the shadow's copy */
    unsigned                        is_secondary:1;  /* its noise copy */
    ngx_http_strangler_shadow_t    *shadow;  /* comparing this response */
    ngx_http_strangler_record_t    *record;  /* captured for replay */
} ngx_http_strangler_ctx_t;


/* the request context (ngx_http_strangler_ctx.c) */
ngx_http_strangler_ctx_t *ngx_http_strangler_create_ctx(
    ngx_http_request_t *r);
ngx_http_strangler_ctx_t *ngx_http_strangler_get_ctx(ngx_http_request_t *r);

/* the route table (ngx_http_strangler_table.c) */
char *ngx_http_strangler_routes(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_strangler_add_dispatcher(ngx_conf_t *cf,
    ngx_array_t *list, ngx_http_strangler_loc_conf_t *slcf);
ngx_int_t ngx_http_strangler_has_table(ngx_conf_t *cf,
    ngx_http_strangler_dispatcher_t *d);
ngx_int_t ngx_http_strangler_check_backends(ngx_conf_t *cf,
    ngx_http_strangler_dispatcher_t *d);
ngx_str_t *ngx_http_strangler_backend_name(ngx_http_strangler_table_t *t,
    int backend);

/* the core's accessor over a real request (ngx_http_strangler_request.c) */
typedef struct {
    ngx_http_request_t             *r;
    ngx_http_strangler_table_t     *table;      /* for its overrides */
} ngx_http_strangler_source_t;

strangler_method_t ngx_http_strangler_request_method(ngx_http_request_t *r);
void ngx_http_strangler_request_accessor(ngx_http_strangler_source_t *src,
    strangler_accessor_t *acc);
/* paths the route table and the backend would read apart (_path.c) */
extern ngx_conf_enum_t  ngx_http_strangler_ambiguous_path_modes[];
ngx_int_t ngx_http_strangler_path_check(ngx_http_request_t *r,
    ngx_uint_t mode);

/* owner changes (ngx_http_strangler_handoff.c) */
char *ngx_http_strangler_handoff_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/* dispatch (ngx_http_strangler_dispatch.c), variables */
ngx_int_t ngx_http_strangler_dispatch_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_strangler_add_variables(ngx_conf_t *cf);



/*
 * What became of a shadow: counted per route in the zone.  A copy is sent
 * or dropped; every copy sent ends in exactly one of the outcomes after
 * SENT: sent = timed_out + matched + mismatched + failed + not_compared.
 */
typedef enum {
    NGX_HTTP_STRANGLER_SHADOW_SENT = 0,
    NGX_HTTP_STRANGLER_SHADOW_DROPPED,
    NGX_HTTP_STRANGLER_SHADOW_TIMED_OUT,
    NGX_HTTP_STRANGLER_SHADOW_MATCHED,
    NGX_HTTP_STRANGLER_SHADOW_MISMATCHED,
    /* a response, the shadow's or the client's, did not complete */
    NGX_HTTP_STRANGLER_SHADOW_FAILED,
    /* the shadow's response completed, `compare: off` */
    NGX_HTTP_STRANGLER_SHADOW_NOT_COMPARED,
    NGX_HTTP_STRANGLER_SHADOW_NEVENTS
} ngx_http_strangler_shadow_event_e;

/* their names, in the API, the metrics and $strangler_shadow */
extern const char  *ngx_http_strangler_shadow_events[];


/* why a request picked for a shadow is never copied: counted per route */
typedef enum {
    NGX_HTTP_STRANGLER_SKIP_UPGRADE = 0,
    NGX_HTTP_STRANGLER_SKIP_CONNECT,
    NGX_HTTP_STRANGLER_SKIP_NREASONS
} ngx_http_strangler_skip_e;


/* the zone (ngx_http_strangler_zone.c); all are no-ops without a zone */
char *ngx_http_strangler_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_strangler_zone_init_conf(ngx_conf_t *cf);
void ngx_http_strangler_count_shadow(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t what);
void ngx_http_strangler_count_regex_limit(ngx_http_strangler_table_t *t,
    const strangler_route_t *route);
void ngx_http_strangler_count_skipped(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t why);
void ngx_http_strangler_count_shadow_answer(ngx_http_strangler_ctx_t *ctx,
    ngx_uint_t status, ngx_msec_int_t ms);
void ngx_http_strangler_count_in_flight(ngx_http_strangler_main_conf_t *smcf,
    ngx_int_t delta, ngx_uint_t in_worker);
void ngx_http_strangler_count_diff_dropped(
    ngx_http_strangler_main_conf_t *smcf);
ngx_int_t ngx_http_strangler_get_override(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, strangler_override_t *ov);

/* the API (ngx_http_strangler_api.c) */
char *ngx_http_strangler_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_strangler_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_strangler_api_init_conf(ngx_conf_t *cf);

/* shadowing (ngx_http_strangler_shadow.c, _difflog.c) */
ngx_int_t ngx_http_strangler_shadow_init_conf(ngx_conf_t *cf);
void ngx_http_strangler_shadow_init_process(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf);
void ngx_http_strangler_shadow_start(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx);
char *ngx_http_strangler_diff_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* overrides shared through etcd (ngx_http_strangler_etcd*.c) */
char *ngx_http_strangler_etcd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_strangler_etcd_option(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_strangler_etcd_init_conf(ngx_conf_t *cf);
void ngx_http_strangler_etcd_start(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf);
void ngx_http_strangler_etcd_stop(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf);

/* persisted overrides (ngx_http_strangler_state.c) */
char *ngx_http_strangler_state(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/*
 * File writing off the event loop (ngx_http_strangler_fileio.c): in
 * nginx's "default" thread pool when built with threads, inline otherwise.
 * `done` is called in the event loop with NGX_OK or NGX_ERROR; the content
 * must live until then.  Both return NGX_ERROR when nothing was started.
 */

typedef void (*ngx_http_strangler_file_done_pt)(void *data, ngx_int_t rc);

ngx_int_t ngx_http_strangler_file_init_conf(ngx_conf_t *cf);
/*
 * atomic replace (tmp file in the same directory, fsync, rename) of
 * snapshots numbered `seq`: a snapshot older than the one that landed
 * last (`*landed`, in shared memory; NULL: none) is not written
 */
ngx_int_t ngx_http_strangler_file_replace_seq(ngx_str_t *path,
    ngx_str_t *content, ngx_atomic_t *landed, ngx_atomic_uint_t seq,
    ngx_log_t *log, ngx_http_strangler_file_done_pt done, void *data);
/* whether this process can replace the file; logs why not */
ngx_int_t ngx_http_strangler_file_check(ngx_str_t *path, ngx_log_t *log);
/* append to an fd opened with O_APPEND */
ngx_int_t ngx_http_strangler_file_append(ngx_fd_t fd, ngx_str_t *content,
    ngx_log_t *log, ngx_http_strangler_file_done_pt done, void *data);


extern ngx_module_t  ngx_http_strangler_module;


#endif /* NGX_HTTP_STRANGLER_MODULE_H_INCLUDED_ */
