
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * strangler_etcd: overrides shared by a fleet of hosts through etcd v3's
 * HTTP JSON gateway.  What the etcd files share: the configuration, the
 * client's calls, the codec and the one apply path.
 */


#ifndef NGX_HTTP_STRANGLER_ETCD_H_INCLUDED_
#define NGX_HTTP_STRANGLER_ETCD_H_INCLUDED_


#include "ngx_http_strangler_state.h"


#define NGX_HTTP_STRANGLER_ETCD_PREFIX         "/strangler/"
#define NGX_HTTP_STRANGLER_ETCD_ROUTES         "routes/"
#define NGX_HTTP_STRANGLER_ETCD_IGNORE         "ignore/"
#define NGX_HTTP_STRANGLER_ETCD_FENCE          "fence/"
#define NGX_HTTP_STRANGLER_ETCD_CONNECT_TIMEOUT  1000   /* ms */
#define NGX_HTTP_STRANGLER_ETCD_CALL_TIMEOUT     3000   /* ms */
#define NGX_HTTP_STRANGLER_ETCD_TICK             250    /* ms */
#define NGX_HTTP_STRANGLER_ETCD_STALE            1500   /* ms */
#define NGX_HTTP_STRANGLER_ETCD_BACKOFF_MIN      100    /* ms */
#define NGX_HTTP_STRANGLER_ETCD_BACKOFF_MAX      3000   /* ms */
#define NGX_HTTP_STRANGLER_ETCD_PROBE            2000   /* ms */
#define NGX_HTTP_STRANGLER_ETCD_VALUE_MAX        16384  /* bytes */
#define NGX_HTTP_STRANGLER_ETCD_BY_MAX           256    /* bytes */
#define NGX_HTTP_STRANGLER_ETCD_ERR_MAX          96     /* bytes */
#define NGX_HTTP_STRANGLER_ETCD_BODY_MAX         (16 * 1024 * 1024)
#define NGX_HTTP_STRANGLER_ETCD_PASSWORD_MAX     4096


typedef struct {
    ngx_str_t                           name;      /* as configured */
    ngx_str_t                           host;      /* ends with a NUL */
    ngx_addr_t                          addr;
    ngx_uint_t                          ip;        /* host is an address */
} ngx_http_strangler_etcd_endpoint_t;


typedef struct ngx_http_strangler_etcd_conf_s {
    ngx_array_t                         endpoints;
    ngx_str_t                           prefix;
    ngx_str_t                           range_key;   /* base64 */
    ngx_str_t                           range_end;   /* base64 */
    ngx_http_strangler_zone_ctx_t      *zone;

    /* https:// endpoints: strangler_etcd_ssl_* (_etcd_conf.c) */
    ngx_uint_t                          https;
    ngx_uint_t                          http;
    ngx_flag_t                          ssl_verify;
    ngx_flag_t                          ssl_server_name;
    ngx_uint_t                          ssl_protocols;
    ngx_str_t                           ssl_certificate;
    ngx_str_t                           ssl_certificate_key;
    ngx_str_t                           ssl_trusted_certificate;
#if (NGX_SSL)
    ngx_ssl_t                          *ssl;        /* NULL: http:// */
#endif

    /* strangler_etcd_user: the body of /v3/auth/authenticate */
    ngx_str_t                           user;
    ngx_str_t                           password;
    ngx_str_t                           password_file;
    ngx_str_t                           auth;       /* empty: no auth */
} ngx_http_strangler_etcd_conf_t;


typedef struct ngx_http_strangler_etcd_call_s
                                        ngx_http_strangler_etcd_call_t;

/*
 * rc: NGX_OK with the answer's JSON; NGX_ERROR: no endpoint answered (or
 * the connection broke); NGX_DECLINED: etcd answered but not with a 200.
 * Whether the request reached an endpoint whole: ..._call_is_sent().
 */
typedef void (*ngx_http_strangler_etcd_done_pt)(
    ngx_http_strangler_etcd_call_t *call, ngx_int_t rc, json_t *answer);
/* one JSON message of a stream; NGX_ERROR ends the call */
typedef ngx_int_t (*ngx_http_strangler_etcd_line_pt)(
    ngx_http_strangler_etcd_call_t *call, json_t *message);


/*
 * what an override (PREFIX routes/NAME) or a route's runtime ignore rules
 * (PREFIX ignore/NAME, `ignore` set: name is "ignore/NAME") in etcd say
 */
typedef struct {
    ngx_str_t                           name;        /* the route's */
    ngx_uint_t                          ignore;
    int64_t                             mod_revision;
    int64_t                             revision;    /* of the event */
    ngx_uint_t                          deleted;
    ngx_str_t                           value;       /* decoded JSON */
} ngx_http_strangler_etcd_kv_t;


/* a change of a route's override through etcd (_etcd_write.c) */
typedef struct ngx_http_strangler_etcd_change_s
                                        ngx_http_strangler_etcd_change_t;

typedef void (*ngx_http_strangler_etcd_changed_pt)(
    ngx_http_strangler_etcd_change_t *ch, ngx_int_t rc);

struct ngx_http_strangler_etcd_change_s {
    ngx_http_strangler_zone_ctx_t      *zone;
    ngx_pool_t                         *pool;
    ngx_log_t                          *log;
    ngx_http_strangler_etcd_kv_t        kv;        /* as written */
    ngx_str_t                           fence;     /* "fence/..." */
    int64_t                             base;      /* mod compared */
    ngx_http_strangler_override_rec_t   old;       /* as this host had it */
    ngx_http_strangler_override_rec_t   next;
    json_t                             *rules;     /* ignore: the next */
    json_t                             *current;   /* lost a race: winner */
    int64_t                             current_mod;
    ngx_http_strangler_etcd_changed_pt  done;
    void                               *data;
};


/* ngx_http_strangler_etcd_write.c */
ngx_http_strangler_etcd_change_t *ngx_http_strangler_etcd_change(
    ngx_http_strangler_zone_ctx_t *z, ngx_http_strangler_sh_route_t *shr,
    ngx_str_t *name, ngx_uint_t fields,
    ngx_http_strangler_override_rec_t *patch, ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_strangler_etcd_changed_pt done, void *data);

ngx_http_strangler_etcd_change_t *ngx_http_strangler_etcd_change_ignore(
    ngx_http_strangler_zone_ctx_t *z, ngx_str_t *name, json_t *rules,
    ngx_pool_t *pool, ngx_log_t *log, ngx_http_strangler_etcd_changed_pt done,
    void *data);

/* ngx_http_strangler_etcd_client.c */
ngx_http_strangler_etcd_call_t *ngx_http_strangler_etcd_call(
    ngx_http_strangler_etcd_conf_t *ecf, const char *path, json_t *body,
    ngx_http_strangler_etcd_done_pt done,
    ngx_http_strangler_etcd_line_pt line, void *data, ngx_log_t *log);
void *ngx_http_strangler_etcd_call_data(ngx_http_strangler_etcd_call_t *call);
void ngx_http_strangler_etcd_call_abort(ngx_http_strangler_etcd_call_t *call);
ngx_uint_t ngx_http_strangler_etcd_call_is_sent(
    ngx_http_strangler_etcd_call_t *call);

/* ngx_http_strangler_etcd_fence.c */
ngx_int_t ngx_http_strangler_etcd_fence_key(ngx_http_strangler_zone_ctx_t *z,
    ngx_pool_t *pool, ngx_str_t *fence);
void ngx_http_strangler_etcd_fence_record(
    ngx_http_strangler_etcd_change_t *ch);
void ngx_http_strangler_etcd_fence_tick(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_log_t *log);
void ngx_http_strangler_etcd_fence_stop(void);
json_t *ngx_http_strangler_etcd_fence_status(
    ngx_http_strangler_etcd_conf_t *ecf);

/* ngx_http_strangler_etcd_pending.c: changes applied here first */
void ngx_http_strangler_etcd_pending_mark(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr);
void ngx_http_strangler_etcd_pending_tick(ngx_http_strangler_zone_ctx_t *z,
    ngx_log_t *log);
void ngx_http_strangler_etcd_pending_publish(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_log_t *log);
ngx_uint_t ngx_http_strangler_etcd_pending_keeps(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_http_strangler_sh_route_t *shr,
    ngx_http_strangler_override_rec_t *rec);

/* ngx_http_strangler_etcd_conf.c */
ngx_http_strangler_etcd_conf_t *ngx_http_strangler_etcd_conf(ngx_conf_t *cf,
    ngx_http_strangler_main_conf_t *smcf);
ngx_int_t ngx_http_strangler_etcd_conf_ssl(ngx_conf_t *cf,
    ngx_http_strangler_etcd_conf_t *ecf);
void ngx_http_strangler_etcd_error(ngx_http_strangler_etcd_conf_t *ecf,
    u_char *text, size_t len, ngx_uint_t alarm, ngx_log_t *log);

/* ngx_http_strangler_etcd_codec.c */
ngx_int_t ngx_http_strangler_etcd_b64(ngx_pool_t *pool, ngx_str_t *dst,
    u_char *src, size_t len);
json_t *ngx_http_strangler_etcd_json_b64(ngx_str_t *s);
int64_t ngx_http_strangler_etcd_int(json_t *obj, const char *key);
int64_t ngx_http_strangler_etcd_revision(json_t *answer);
ngx_uint_t ngx_http_strangler_etcd_is_answer(json_t *answer,
    const char *list);
u_char *ngx_http_strangler_etcd_escape(u_char *dst, u_char *last,
    u_char *src, size_t len);
ngx_int_t ngx_http_strangler_etcd_kv(ngx_http_strangler_etcd_conf_t *ecf,
    json_t *kv, ngx_uint_t deleted, ngx_http_strangler_etcd_kv_t *out,
    ngx_pool_t *pool);
ngx_int_t ngx_http_strangler_etcd_record(ngx_http_strangler_table_t *t,
    const strangler_route_t *route, ngx_str_t *value,
    ngx_http_strangler_override_rec_t *rec, ngx_pool_t *pool,
    const char **err);
json_t *ngx_http_strangler_etcd_value(ngx_http_strangler_override_rec_t *rec);

/* ngx_http_strangler_etcd.c */
ngx_int_t ngx_http_strangler_etcd_read_route(ngx_http_strangler_zone_ctx_t *z,
    ngx_http_strangler_sh_route_t *shr, ngx_str_t *name,
    ngx_http_strangler_override_rec_t *rec, int64_t *mod, ngx_pool_t *pool);
int64_t ngx_http_strangler_etcd_key_mod(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *name);
ngx_int_t ngx_http_strangler_etcd_local(ngx_http_strangler_zone_ctx_t *z,
    ngx_str_t *name);
json_t *ngx_http_strangler_etcd_invalid(ngx_http_strangler_etcd_conf_t *ecf);
ngx_int_t ngx_http_strangler_etcd_apply_ignore(
    ngx_http_strangler_etcd_conf_t *ecf, ngx_http_strangler_etcd_kv_t *kv,
    ngx_uint_t force, ngx_pool_t *pool, ngx_log_t *log);
ngx_int_t ngx_http_strangler_etcd_apply(ngx_http_strangler_etcd_conf_t *ecf,
    ngx_http_strangler_etcd_kv_t *kv, ngx_uint_t force, ngx_pool_t *pool,
    ngx_log_t *log);


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

/* what the API reports of the fleet */
json_t *ngx_http_strangler_etcd_status(ngx_http_strangler_main_conf_t *smcf);
void ngx_http_strangler_etcd_metrics(ngx_http_strangler_text_t *out,
    ngx_http_strangler_main_conf_t *smcf);


#endif /* NGX_HTTP_STRANGLER_ETCD_H_INCLUDED_ */
