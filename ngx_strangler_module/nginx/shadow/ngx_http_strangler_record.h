
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Traffic capture for `strangler replay` (`strangler_capture FILE` and a
 * route's `capture` block): a sample of a route's requests, as they
 * reached the owner, with the owner's answer, one JSON line each
 * (core/strangler_record.c).  Not the capture filters of shadowing
 * (ngx_http_strangler_capture.c), which keep answers for a comparison.
 */


#ifndef NGX_HTTP_STRANGLER_RECORD_H_INCLUDED_
#define NGX_HTTP_STRANGLER_RECORD_H_INCLUDED_


#include "ngx_http_strangler_state.h"
#include "strangler_record.h"


typedef struct ngx_http_strangler_record_log_s  ngx_http_strangler_record_log_t;


/* ngx_http_strangler_record.c: the directive, the request's side */
char *ngx_http_strangler_capture_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_strangler_record_init_conf(ngx_conf_t *cf);
void ngx_http_strangler_record_start(ngx_http_request_t *r,
    ngx_http_strangler_ctx_t *ctx);
void ngx_http_strangler_record_init_process(ngx_cycle_t *cycle);
void ngx_http_strangler_record_exit(ngx_cycle_t *cycle);

/* ngx_http_strangler_record_file.c: the file, written off the loop */
ngx_http_strangler_record_log_t *ngx_http_strangler_record_log_create(
    ngx_conf_t *cf, ngx_http_strangler_main_conf_t *smcf, ngx_str_t *path,
    off_t max_size, ngx_uint_t keep);
void ngx_http_strangler_record_log_add(ngx_http_strangler_record_log_t *log,
    u_char *line, size_t len);
void ngx_http_strangler_record_log_flush_now(
    ngx_http_strangler_record_log_t *log);
ngx_str_t *ngx_http_strangler_record_log_path(
    ngx_http_strangler_record_log_t *log);
/* whether the workers can create (and rotate) the file; logs why not */
ngx_int_t ngx_http_strangler_record_log_check(
    ngx_http_strangler_record_log_t *log, ngx_log_t *errlog);


#endif /* NGX_HTTP_STRANGLER_RECORD_H_INCLUDED_ */
