
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Shadowing: what the parts of it share.  A shadow is a copy of a client's
 * request that runs on a connection of its own, owned by the worker, not
 * by the client's connection: the client's response and its next request
 * never wait for it.  Both responses are captured by this module's filters
 * and compared when both are complete.
 */


#ifndef NGX_HTTP_STRANGLER_SHADOW_H_INCLUDED_
#define NGX_HTTP_STRANGLER_SHADOW_H_INCLUDED_


#include "ngx_http_strangler_state.h"
#include "strangler_compare.h"


/* the sides of a comparison: the client's response and the copies' */
#define NGX_HTTP_STRANGLER_PRIMARY    0
#define NGX_HTTP_STRANGLER_SHADOW     1  /* the candidate's */
#define NGX_HTTP_STRANGLER_SECONDARY  2  /* the noise copy's (shadow.noise) */
#define NGX_HTTP_STRANGLER_NSIDES     3

#define NGX_HTTP_STRANGLER_NCOPIES    2  /* the candidate's, the noise one */


/* one side's response as the capture filters saw it */
typedef struct {
    ngx_uint_t                      status;
    strangler_str_t                *headers;  /* per shadow.headers */
    strangler_body_t                body;
    unsigned                        started:1;  /* the header went by */
    unsigned                        done:1;     /* the last buffer did */
} ngx_http_strangler_capture_t;


/*
 * A copy of the client's request, by its role: to the candidate, or, for
 * noise cancelling, a second time to the side that served the client.
 * Its connection and request are NULL once closed.
 */
typedef struct {
    ngx_http_strangler_shadow_t    *shadow;
    ngx_uint_t                      side;      /* SHADOW or SECONDARY */
    ngx_str_t                      *location;  /* its backend's */
    ngx_connection_t               *connection;
    ngx_http_request_t             *request;
    unsigned                        started:1;
} ngx_http_strangler_copy_t;


struct ngx_http_strangler_shadow_s {
    ngx_pool_t                     *pool;     /* everything below */
    ngx_log_t                      *log;
    ngx_http_strangler_main_conf_t *smcf;
    const strangler_shadow_t       *conf;     /* the route's `shadow` */

    /* the decision, for the counters; outlives the client's request */
    ngx_http_strangler_ctx_t        decided;

    /* the client's request: NULL once it is gone or no longer needed */
    ngx_http_strangler_ctx_t       *primary;
    ngx_pool_cleanup_t             *primary_cln;

    /* the copies: the candidate's, then the noise one if any */
    ngx_http_strangler_copy_t       copy[NGX_HTTP_STRANGLER_NCOPIES];
    ngx_uint_t                      ncopies;  /* held in the limit */

    ngx_http_strangler_capture_t    side[NGX_HTTP_STRANGLER_NSIDES];
    ngx_str_t                      *location; /* the candidate's */
    ngx_event_t                     run;      /* posted: starts them */
    ngx_event_t                     timer;    /* strangler_shadow_timeout */

    /* a JSON comparison in slices: each slice on a posted event */
    ngx_event_t                     slice;
    strangler_jcmp_t               *jc;
    const strangler_shadow_t       *cmp_conf;  /* with runtime ignores */
    strangler_diffs_t              *diffs;     /* the candidate's, noise */
    ngx_uint_t                      cmp_step;  /* 0: noise, 1: candidate */
    ngx_uint_t                      slices;

    /* for the diff log line */
    ngx_str_t                       method;
    ngx_str_t                       uri;
    ngx_str_t                       request_id;

    ngx_str_t                       force_header;  /* not copied */

    /* the client's body as it went by to the owner, in this pool */
    ngx_chain_t                    *body;
    ngx_chain_t                   **body_last;
    off_t                           body_len;

    ngx_msec_t                      sent;      /* for the answer's time */

    unsigned                        compare:1;  /* the responses are */
    unsigned                        over:1;     /* compared or given up */
    unsigned                        body_wait:1;  /* sent when it is in */
    unsigned                        answered:1;   /* its answer counted */
    unsigned                        noise_lost:1; /* no noise to compare */
    unsigned                        comparing:1;  /* slices to go */
    unsigned                        noise_compared:1;
};


/* shadowing (ngx_http_strangler_shadow.c, _difflog.c) */
ngx_int_t ngx_http_strangler_shadow_init_conf(ngx_conf_t *cf);
void ngx_http_strangler_shadow_init_process(ngx_cycle_t *cycle,
    ngx_http_strangler_main_conf_t *smcf);
void ngx_http_strangler_shadow_start(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx);
char *ngx_http_strangler_diff_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_strangler_shadow_request.c */
ngx_int_t ngx_http_strangler_shadow_request(ngx_http_strangler_copy_t *copy,
    ngx_http_request_t *r);
void ngx_http_strangler_shadow_run(ngx_event_t *ev);
void ngx_http_strangler_shadow_end(ngx_http_strangler_copy_t *copy);

/* ngx_http_strangler_shadow.c */
void ngx_http_strangler_shadow_captured(ngx_http_strangler_shadow_t *s);
void ngx_http_strangler_shadow_closed(void *data);
void ngx_http_strangler_shadow_go(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *r);
void ngx_http_strangler_shadow_drop(ngx_http_strangler_shadow_t *s,
    ngx_http_request_t *r, char *why);

/* ngx_http_strangler_shadow_body.c */
ngx_int_t ngx_http_strangler_shadow_body_init(ngx_conf_t *cf);

/* ngx_http_strangler_capture.c */
ngx_int_t ngx_http_strangler_capture_init(ngx_conf_t *cf);
ngx_int_t ngx_http_strangler_capture_prepare(ngx_http_strangler_shadow_t *s,
    ngx_uint_t side);

/* ngx_http_strangler_difflog.c */
void ngx_http_strangler_diff_log_write(ngx_http_strangler_shadow_t *s,
    strangler_diffs_t *diffs);


#endif /* NGX_HTTP_STRANGLER_SHADOW_H_INCLUDED_ */
