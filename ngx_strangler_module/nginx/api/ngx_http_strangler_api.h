
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What the API's files share: the call's context and the replies.
 */


#ifndef NGX_HTTP_STRANGLER_API_H_INCLUDED_
#define NGX_HTTP_STRANGLER_API_H_INCLUDED_


#include "ngx_http_strangler_state.h"


#define NGX_HTTP_STRANGLER_API_BODY_MAX  4096


/* a change waits this long, at most, for another to be written */
#define NGX_HTTP_STRANGLER_API_WAIT      5000
#define NGX_HTTP_STRANGLER_API_RETRY     10


typedef struct ngx_http_strangler_api_ctx_s  ngx_http_strangler_api_ctx_t;

/* how a change saved in the state file is answered once the file holds it */
typedef ngx_int_t (*ngx_http_strangler_api_answer_pt)(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

struct ngx_http_strangler_api_ctx_s {
    /*
     * First, a dispatch context that says nothing was dispatched: the log
     * phase and the variables read this module's context, and leave an
     * API call alone.
     */
    ngx_http_strangler_ctx_t            none;

    ngx_http_strangler_table_t         *table;
    ngx_http_strangler_zone_ctx_t      *zone;
    ngx_str_t                           name;     /* routes/NAME */
    const strangler_route_t            *route;
    ngx_http_strangler_binding_t       *binding;

    const char                         *action;   /* for the log */
    ngx_uint_t                          fields;   /* the patch sets */
    ngx_http_strangler_override_rec_t   patch;

    /* a change: its route's block, what it makes, before and after */
    ngx_http_strangler_sh_route_t      *shr;
    ngx_http_strangler_override_rec_t  *staged;
    ngx_http_strangler_override_rec_t   old;
    ngx_http_strangler_override_rec_t   now;
    ngx_event_t                         retry;   /* another is written */
    ngx_msec_t                          waited;
    unsigned                            orphan:1; /* in no table */
    unsigned                            retry_cleanup:1;

    /* a rollback: the override before it, and whether it changed any */
    ngx_http_strangler_override_rec_t   before;
    unsigned                            rollback:1;
    unsigned                            rolled_back:1;

    /* a change saved in the state file, and its answer to request */
    ngx_http_strangler_change_t         change;
    ngx_http_request_t                 *request;
    ngx_http_strangler_api_answer_pt    answer;

    /* a change that moves the owner (_handoff_api.c); NULL: none */
    struct ngx_http_strangler_handoff_s  *handoff;
};


/* the API (ngx_http_strangler_api.c) */
char *ngx_http_strangler_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_strangler_api_who.c: `strangler_api_user $variable;` */
char *ngx_http_strangler_api_user(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_strangler_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_strangler_api_init_conf(ngx_conf_t *cf);

/*
 * ngx_http_strangler_api.c: write a change staged under the state file's
 * lock; its install and discard set, NGX_DONE or a reply
 */
ngx_int_t ngx_http_strangler_api_save(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api.c: change the override as ctx says, log, save */
ngx_int_t ngx_http_strangler_api_apply(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api.c: a PUT's JSON body; 0, or a status and *err */
ngx_uint_t ngx_http_strangler_api_read_json(ngx_http_request_t *r,
    json_t **json, u_char **err);

/* ngx_http_strangler_api.c: the rest of a change once it applies: log,
 * state file, answer */
ngx_int_t ngx_http_strangler_api_applied(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_http_strangler_override_rec_t *old,
    ngx_http_strangler_override_rec_t *now);

/* ngx_http_strangler_etcd*.c: the change goes through etcd first */
ngx_int_t ngx_http_strangler_etcd_write(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
ngx_int_t ngx_http_strangler_etcd_write_ignore(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *rules);

/* ngx_http_strangler_api_origin.c: NGX_DECLINED, or a change from another
 * site refused (403 answered) */
ngx_int_t ngx_http_strangler_api_cross_site(ngx_http_request_t *r);

/* ngx_http_strangler_api_reply.c */
ngx_int_t ngx_http_strangler_api_send_json(ngx_http_request_t *r,
    ngx_uint_t status, json_t *json);
ngx_int_t ngx_http_strangler_api_send_chain(ngx_http_request_t *r,
    ngx_chain_t *out, const char *type);
ngx_int_t ngx_http_strangler_api_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *fmt, ...);

/* ngx_http_strangler_api_status.c */
ngx_int_t ngx_http_strangler_api_status(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api_report.c */
json_t *ngx_http_strangler_report_default(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
json_t *ngx_http_strangler_report_override(ngx_http_request_t *r,
    ngx_http_strangler_override_rec_t *ov);
char *ngx_http_strangler_report_time(ngx_pool_t *pool, time_t t);
json_t *ngx_http_strangler_report_slots(ngx_http_strangler_api_ctx_t *ctx);
json_t *ngx_http_strangler_report_route(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, const strangler_route_t *route);
ngx_chain_t *ngx_http_strangler_report_metrics(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
json_t *ngx_http_strangler_backend_json(ngx_http_strangler_table_t *t,
    int backend);
json_t *ngx_http_strangler_report_rollback(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api_metrics_info.c */
void ngx_http_strangler_metrics_info(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx);
void ngx_http_strangler_metrics_overrides(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t);

/* ngx_http_strangler_api_guard.c */
ngx_int_t ngx_http_strangler_api_guard_rearm(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
json_t *ngx_http_strangler_report_guard(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, const strangler_route_t *route,
    ngx_http_strangler_override_rec_t *ov);
void ngx_http_strangler_metrics_guards(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api_capture.c */
json_t *ngx_http_strangler_report_capture(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
void ngx_http_strangler_metrics_capture(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api_diffs.c */
ngx_int_t ngx_http_strangler_api_diffs(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
void ngx_http_strangler_metrics_fields(ngx_http_strangler_text_t *out,
    ngx_http_strangler_api_ctx_t *ctx);
ngx_int_t ngx_http_strangler_api_ignore(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
ngx_int_t ngx_http_strangler_api_ignore_send(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api_progress.c */
ngx_int_t ngx_http_strangler_api_progress(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
ngx_int_t ngx_http_strangler_api_progress_routes(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api_plan.c */
ngx_int_t ngx_http_strangler_api_plan(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_dashboard.c */
ngx_int_t ngx_http_strangler_dashboard_init_conf(ngx_conf_t *cf);
ngx_int_t ngx_http_strangler_dashboard_wanted(ngx_http_request_t *r);
ngx_int_t ngx_http_strangler_api_dashboard(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
ngx_int_t ngx_http_strangler_api_access(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api_who.c: who makes a change, and why */
ngx_int_t ngx_http_strangler_api_who(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, ngx_str_t *who);
ngx_uint_t ngx_http_strangler_api_reason(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *v, u_char **err);
ngx_uint_t ngx_http_strangler_api_reason_arg(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, u_char **err);
ngx_int_t ngx_http_strangler_api_break_glass(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_api_history.c */
ngx_int_t ngx_http_strangler_api_history(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);

/* ngx_http_strangler_handoff_api.c: a change that moves the owner */
ngx_int_t ngx_http_strangler_handoff_begin(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);
ngx_int_t ngx_http_strangler_handoff_done(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx, json_t *reply);
json_t *ngx_http_strangler_handoff_json(ngx_http_request_t *r,
    ngx_http_strangler_sh_route_t *shr);
void ngx_http_strangler_handoff_metrics(ngx_http_strangler_text_t *out,
    ngx_http_strangler_table_t *t, ngx_http_strangler_zone_ctx_t *z);

/* ngx_http_strangler_api_explain.c */
ngx_int_t ngx_http_strangler_api_explain(ngx_http_request_t *r,
    ngx_http_strangler_api_ctx_t *ctx);


#endif /* NGX_HTTP_STRANGLER_API_H_INCLUDED_ */
