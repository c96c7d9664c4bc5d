
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The types every folder of the nginx glue shares: the configuration, a
 * loaded route table, a request's context, what a shadow's outcome can
 * be.  Types only: each folder's header declares what it offers (api/,
 * request/, shadow/, guard/, fleet/, state/).  The route table itself
 * (strangler_table.h) knows nothing of nginx.
 */


#ifndef NGX_HTTP_STRANGLER_H_INCLUDED_
#define NGX_HTTP_STRANGLER_H_INCLUDED_


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
    ngx_http_complex_value_t       *api_user;       /* NULL: unset */
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

    /* strangler_handoff (state/ngx_http_strangler_handoff.c) */
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

/* why a request picked for a shadow is never copied: counted per route */
typedef enum {
    NGX_HTTP_STRANGLER_SKIP_UPGRADE = 0,
    NGX_HTTP_STRANGLER_SKIP_CONNECT,
    NGX_HTTP_STRANGLER_SKIP_NREASONS
} ngx_http_strangler_skip_e;


extern ngx_module_t  ngx_http_strangler_module;


#endif /* NGX_HTTP_STRANGLER_H_INCLUDED_ */
