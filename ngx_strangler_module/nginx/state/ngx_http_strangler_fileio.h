
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * File I/O off the event loop (ngx_http_strangler_fileio.c), for the
 * state file and the diff log.
 */


#ifndef NGX_HTTP_STRANGLER_FILEIO_H_INCLUDED_
#define NGX_HTTP_STRANGLER_FILEIO_H_INCLUDED_


#include "ngx_http_strangler.h"


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


#endif /* NGX_HTTP_STRANGLER_FILEIO_H_INCLUDED_ */
