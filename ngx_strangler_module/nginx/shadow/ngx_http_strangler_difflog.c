
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The diff log (`strangler_diff_log FILE`): one JSON line per mismatch.
 * Lines are buffered per worker and written by the file-writing thread
 * (ngx_http_strangler_fileio.c) every second or when the buffer fills, so
 * a slow disk never stalls a worker.  Two buffers: one fills while the
 * other is written; when both are busy, lines are dropped and counted.
 */


#include "ngx_http_strangler_shadow.h"


#define NGX_HTTP_STRANGLER_DIFF_BUF    65536
#define NGX_HTTP_STRANGLER_DIFF_FLUSH  1000     /* ms */


struct ngx_http_strangler_diff_log_s {
    ngx_open_file_t                *file;
    u_char                         *buf[2];
    ngx_uint_t                      filling;  /* the buffer lines go to */
    size_t                          len;      /* in the filling one */
    ngx_str_t                       writing;  /* the other, while busy */
    ngx_fd_t                        fd;       /* dup()ed for that write */
    ngx_uint_t                      dropped;
    ngx_event_t                     timer;
    unsigned                        busy:1;
};


static void ngx_http_strangler_diff_log_flush(
    ngx_http_strangler_diff_log_t *dl);
static void ngx_http_strangler_diff_log_timer(ngx_event_t *ev);
static void ngx_http_strangler_diff_log_done(void *data, ngx_int_t rc);


char *
ngx_http_strangler_diff_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_strangler_main_conf_t *smcf = conf;

    ngx_str_t                      *value;
    ngx_http_strangler_diff_log_t  *dl;

    if (smcf->diff_log != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        smcf->diff_log = NULL;
        return NGX_CONF_OK;
    }

    dl = ngx_pcalloc(cf->pool, sizeof(ngx_http_strangler_diff_log_t));
    if (dl == NULL) {
        return NGX_CONF_ERROR;
    }

    dl->file = ngx_conf_open_file(cf->cycle, &value[1]);
    dl->buf[0] = ngx_pnalloc(cf->pool, NGX_HTTP_STRANGLER_DIFF_BUF);
    dl->buf[1] = ngx_pnalloc(cf->pool, NGX_HTTP_STRANGLER_DIFF_BUF);

    if (dl->file == NULL || dl->buf[0] == NULL || dl->buf[1] == NULL) {
        return NGX_CONF_ERROR;
    }

    dl->fd = NGX_INVALID_FILE;
    dl->timer.handler = ngx_http_strangler_diff_log_timer;
    dl->timer.data = dl;

    if (ngx_http_strangler_file_init_conf(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    smcf->diff_log = dl;

    return NGX_CONF_OK;
}


void
ngx_http_strangler_diff_log_write(ngx_http_strangler_shadow_t *s,
    strangler_diffs_t *diffs)
{
    size_t                          n, room;
    ngx_str_t                       time;
    strangler_decision_t           *d;
    strangler_diff_line_t           line;
    ngx_http_strangler_table_t     *t;
    ngx_http_strangler_diff_log_t  *dl;

    dl = s->smcf->diff_log;

    if (dl == NULL) {
        return;
    }

    t = s->decided.table;
    d = &s->decided.decision;
    time = ngx_cached_http_log_iso8601;

#define ngx_http_strangler_line_str(field, str)                               \
    line.field.data = (const char *) (str)->data;                             \
    line.field.len = (str)->len

    ngx_http_strangler_line_str(time, &time);
    ngx_http_strangler_line_str(route, &d->route->name);
    ngx_http_strangler_line_str(method, &s->method);
    ngx_http_strangler_line_str(uri, &s->uri);
    ngx_http_strangler_line_str(request_id, &s->request_id);
    ngx_http_strangler_line_str(primary_backend,
        ngx_http_strangler_backend_name(t, d->backend));
    ngx_http_strangler_line_str(shadow_backend,
        ngx_http_strangler_backend_name(t, d->shadow_to));

#undef ngx_http_strangler_line_str

    line.primary_status = (int) s->side[NGX_HTTP_STRANGLER_PRIMARY].status;
    line.shadow_status = (int) s->side[NGX_HTTP_STRANGLER_SHADOW].status;

    room = NGX_HTTP_STRANGLER_DIFF_BUF - dl->len;
    n = strangler_diff_format((char *) dl->buf[dl->filling] + dl->len, room,
                              &line, diffs);

    if (n > room && !dl->busy && dl->len) {
        /* full: write what is there, and start the other buffer */

        ngx_http_strangler_diff_log_flush(dl);

        room = NGX_HTTP_STRANGLER_DIFF_BUF - dl->len;
        n = strangler_diff_format((char *) dl->buf[dl->filling] + dl->len,
                                  room, &line, diffs);
    }

    if (n > room) {
        dl->dropped++;
        ngx_http_strangler_count_diff_dropped(s->smcf);
        return;
    }

    dl->len += n;

    if (!dl->timer.timer_set) {
        dl->timer.log = ngx_cycle->log;
        ngx_add_timer(&dl->timer, NGX_HTTP_STRANGLER_DIFF_FLUSH);
    }
}


static void
ngx_http_strangler_diff_log_flush(ngx_http_strangler_diff_log_t *dl)
{
    ngx_fd_t  fd;

    if (dl->busy || dl->len == 0) {
        return;
    }

    /* a dup: a reopen (USR1) may close the file while the thread writes */

    fd = dup(dl->file->fd);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "dup() of \"%V\" failed", &dl->file->name);
        dl->len = 0;
        return;
    }

    dl->writing.data = dl->buf[dl->filling];
    dl->writing.len = dl->len;
    dl->fd = fd;
    dl->busy = 1;

    dl->filling ^= 1;
    dl->len = 0;

    if (ngx_http_strangler_file_append(fd, &dl->writing, ngx_cycle->log,
                                       ngx_http_strangler_diff_log_done, dl)
        != NGX_OK)
    {
        ngx_http_strangler_diff_log_done(dl, NGX_ERROR);
    }
}


static void
ngx_http_strangler_diff_log_timer(ngx_event_t *ev)
{
    ngx_http_strangler_diff_log_t  *dl = ev->data;

    if (dl->busy) {
        ngx_add_timer(&dl->timer, NGX_HTTP_STRANGLER_DIFF_FLUSH);
        return;
    }

    ngx_http_strangler_diff_log_flush(dl);
}


static void
ngx_http_strangler_diff_log_done(void *data, ngx_int_t rc)
{
    ngx_http_strangler_diff_log_t  *dl = data;

    if (ngx_close_file(dl->fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &dl->file->name);
    }

    dl->fd = NGX_INVALID_FILE;
    dl->busy = 0;

    if (dl->dropped) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "strangler: %ui lines not written to \"%V\": "
                      "the disk is slower than the mismatches",
                      dl->dropped, &dl->file->name);
        dl->dropped = 0;
    }
}
