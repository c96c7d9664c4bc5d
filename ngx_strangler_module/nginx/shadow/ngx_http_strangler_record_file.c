
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The capture file.  Lines are buffered per worker and appended by a
 * thread of nginx's "default" pool every second, or when 64 KB wait, so a
 * slow disk never stalls a worker.  The thread opens the file for each
 * write, so a file moved away and `nginx -s reopen` (or no signal at
 * all) start a new one; it takes an flock() so that the workers rotate
 * it once: past max_size, FILE becomes FILE.1, FILE.1 FILE.2, up to
 * FILE.keep.  A write that fails (a full disk, an unwritable file) is
 * undone and its records dropped: counted, logged once until writes work
 * again.  Records written and dropped are counted in the zone, a write
 * (or a dropped record) at a time, and the reason writes fail is kept
 * there, for `GET status` and `GET metrics`.  Requests never wait for
 * any of it.
 */


#include "ngx_http_strangler_record.h"

#include <sys/file.h>


#define NGX_HTTP_STRANGLER_RECORD_FLUSH   1000          /* ms */
#define NGX_HTTP_STRANGLER_RECORD_CHUNK   65536         /* written at */
#define NGX_HTTP_STRANGLER_RECORD_LIMIT   (16 * 1048576) /* kept at most */


struct ngx_http_strangler_record_log_s {
    ngx_http_strangler_main_conf_t *smcf;      /* its zone's counters */
    ngx_str_t                       path;      /* NUL-terminated */
    off_t                           max_size;  /* 0: never rotated */
    ngx_uint_t                      keep;

    u_char                         *buf;       /* ngx_alloc()ed */
    size_t                          len;
    size_t                          size;
    ngx_uint_t                      records;   /* in buf */

    ngx_uint_t                      dropped;   /* since it last worked */
    ngx_event_t                     timer;
    unsigned                        busy:1;
    unsigned                        failing:1;
};


typedef struct {
    ngx_http_strangler_record_log_t  *log;
    u_char                           *buf;
    size_t                            len;
    ngx_uint_t                        records;
    const char                       *failed;  /* the call that failed */
    ngx_err_t                         err;
    unsigned                          rotated:1;
} ngx_http_strangler_record_job_t;


static void ngx_http_strangler_record_log_flush(
    ngx_http_strangler_record_log_t *log);
static void ngx_http_strangler_record_log_timer(ngx_event_t *ev);
static void ngx_http_strangler_record_write(
    ngx_http_strangler_record_job_t *job);
static ngx_fd_t ngx_http_strangler_record_open(
    ngx_http_strangler_record_job_t *job, struct stat *st);
static void ngx_http_strangler_record_rotate(
    ngx_http_strangler_record_job_t *job);
static void ngx_http_strangler_record_done(
    ngx_http_strangler_record_job_t *job);
static void ngx_http_strangler_record_error(
    ngx_http_strangler_record_log_t *log, const char *failed, ngx_err_t err);
#if (NGX_THREADS)
static void ngx_http_strangler_record_thread(void *data, ngx_log_t *log);
static void ngx_http_strangler_record_event(ngx_event_t *ev);

static ngx_str_t  ngx_http_strangler_record_pool = ngx_string("default");
#endif


ngx_http_strangler_record_log_t *
ngx_http_strangler_record_log_create(ngx_conf_t *cf,
    ngx_http_strangler_main_conf_t *smcf, ngx_str_t *path, off_t max_size,
    ngx_uint_t keep)
{
    ngx_str_t                         full;
    ngx_http_strangler_record_log_t  *log;

    log = ngx_pcalloc(cf->pool, sizeof(ngx_http_strangler_record_log_t));
    if (log == NULL) {
        return NULL;
    }

    full = *path;

    if (ngx_conf_full_name(cf->cycle, &full, 0) != NGX_OK) {
        return NULL;
    }

    log->path.len = full.len;
    log->path.data = ngx_pnalloc(cf->pool, full.len + 1);
    if (log->path.data == NULL) {
        return NULL;
    }

    ngx_memcpy(log->path.data, full.data, full.len);
    log->path.data[full.len] = '\0';

    log->smcf = smcf;
    log->max_size = max_size;
    log->keep = keep;
    log->timer.handler = ngx_http_strangler_record_log_timer;
    log->timer.data = log;
    log->timer.cancelable = 1;

#if (NGX_THREADS)
    if (ngx_thread_pool_add(cf, NULL) == NULL) {
        return NULL;
    }
#endif

    return log;
}


void
ngx_http_strangler_record_log_add(ngx_http_strangler_record_log_t *log,
    u_char *line, size_t len)
{
    u_char  *buf;
    size_t   size;

    if (log->len + len > NGX_HTTP_STRANGLER_RECORD_LIMIT) {
        /* the disk is slower than the traffic: the record is dropped */
        log->dropped++;
        ngx_http_strangler_count_capture(log->smcf, 0, 1, 0);

        if (!log->failing) {
            log->failing = 1;
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "strangler: capture records dropped: \"%V\" is "
                          "written slower than requests are captured",
                          &log->path);
            ngx_http_strangler_record_error(log, NULL, 0);
        }

        return;
    }

    if (log->len + len > log->size) {
        size = ngx_max(2 * log->size, NGX_HTTP_STRANGLER_RECORD_CHUNK);
        size = ngx_max(size, log->len + len);

        buf = ngx_alloc(size, ngx_cycle->log);
        if (buf == NULL) {
            log->dropped++;
            ngx_http_strangler_count_capture(log->smcf, 0, 1, 0);
            return;
        }

        if (log->len) {
            ngx_memcpy(buf, log->buf, log->len);
        }

        ngx_free(log->buf);
        log->buf = buf;
        log->size = size;
    }

    ngx_memcpy(log->buf + log->len, line, len);
    log->len += len;
    log->records++;

    if (log->len >= NGX_HTTP_STRANGLER_RECORD_CHUNK && !log->busy) {
        ngx_http_strangler_record_log_flush(log);
        return;
    }

    if (!log->timer.timer_set) {
        log->timer.log = ngx_cycle->log;
        ngx_add_timer(&log->timer, NGX_HTTP_STRANGLER_RECORD_FLUSH);
    }
}


static void
ngx_http_strangler_record_log_timer(ngx_event_t *ev)
{
    ngx_http_strangler_record_log_t  *log = ev->data;

    if (log->busy) {
        ngx_add_timer(&log->timer, NGX_HTTP_STRANGLER_RECORD_FLUSH);
        return;
    }

    ngx_http_strangler_record_log_flush(log);
}


/* the lines go to a thread; the worker starts a new buffer */

static void
ngx_http_strangler_record_log_flush(ngx_http_strangler_record_log_t *log)
{
    ngx_http_strangler_record_job_t   *job;
#if (NGX_THREADS)
    ngx_thread_task_t                 *task;
    ngx_thread_pool_t                 *tp;
#endif

    if (log->busy || log->len == 0) {
        return;
    }

#if (NGX_THREADS)

    tp = ngx_thread_pool_get((ngx_cycle_t *) ngx_cycle,
                             &ngx_http_strangler_record_pool);

    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_strangler_record_job_t),
                      ngx_cycle->log);
    if (task == NULL) {
        return;
    }

    job = (ngx_http_strangler_record_job_t *) (task + 1);

#else

    ngx_http_strangler_record_job_t  one;

    ngx_memzero(&one, sizeof(ngx_http_strangler_record_job_t));
    job = &one;

#endif

    job->log = log;
    job->buf = log->buf;
    job->len = log->len;
    job->records = log->records;

    log->buf = NULL;
    log->len = 0;
    log->size = 0;
    log->records = 0;
    log->busy = 1;

#if (NGX_THREADS)

    if (tp != NULL && ngx_exiting == 0) {
        task->ctx = job;
        task->handler = ngx_http_strangler_record_thread;
        task->event.handler = ngx_http_strangler_record_event;
        task->event.data = task;
        task->event.log = ngx_cycle->log;

        if (ngx_thread_task_post(tp, task) == NGX_OK) {
            return;
        }
    }

    ngx_http_strangler_record_write(job);
    ngx_http_strangler_record_done(job);
    ngx_free(task);

#else

    ngx_http_strangler_record_write(job);
    ngx_http_strangler_record_done(job);

#endif
}


ngx_int_t
ngx_http_strangler_record_log_check(ngx_http_strangler_record_log_t *log,
    ngx_log_t *errlog)
{
    return ngx_http_strangler_file_check(&log->path, errlog);
}


/* at a worker's exit: what is left, written before it goes */

void
ngx_http_strangler_record_log_flush_now(ngx_http_strangler_record_log_t *log)
{
    ngx_http_strangler_record_job_t  job;

    if (log->busy || log->len == 0) {
        return;
    }

    ngx_memzero(&job, sizeof(ngx_http_strangler_record_job_t));

    job.log = log;
    job.buf = log->buf;
    job.len = log->len;
    job.records = log->records;

    log->buf = NULL;
    log->len = 0;
    log->size = 0;
    log->records = 0;
    log->busy = 1;

    ngx_http_strangler_record_write(&job);
    ngx_http_strangler_record_done(&job);
}


#if (NGX_THREADS)

static void
ngx_http_strangler_record_thread(void *data, ngx_log_t *log)
{
    ngx_http_strangler_record_write(data);
}


static void
ngx_http_strangler_record_event(ngx_event_t *ev)
{
    ngx_thread_task_t  *task = ev->data;

    ngx_http_strangler_record_done(task->ctx);
    ngx_free(task);
}

#endif


/*
 * In the thread: the whole buffer appended, or nothing (a partial line is
 * cut off again), then the file rotated when it is past max_size.  No
 * logging here: the completion logs in the event loop.
 */

static void
ngx_http_strangler_record_write(ngx_http_strangler_record_job_t *job)
{
    size_t       done;
    ssize_t      n;
    ngx_fd_t     fd;
    struct stat  st;

    fd = ngx_http_strangler_record_open(job, &st);

    if (fd == NGX_INVALID_FILE) {
        return;
    }

    for (done = 0; done < job->len; done += n) {
        n = write(fd, job->buf + done, job->len - done);

        if (n == -1 && ngx_errno == NGX_EINTR) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            job->failed = "write()";
            job->err = n == -1 ? ngx_errno : NGX_ENOSPC;

            if (done && S_ISREG(st.st_mode)
                && ftruncate(fd, st.st_size) == -1)
            {
                /* the partial line stays: the write's error is reported */
            }

            goto close;
        }
    }

    if (job->log->max_size && S_ISREG(st.st_mode)
        && st.st_size + (off_t) job->len >= job->log->max_size)
    {
        ngx_http_strangler_record_rotate(job);
    }

close:

    (void) flock(fd, LOCK_UN);
    (void) close(fd);
}


/* the file the path names now, locked: another worker may rotate it */

static ngx_fd_t
ngx_http_strangler_record_open(ngx_http_strangler_record_job_t *job,
    struct stat *st)
{
    char         *path;
    ngx_fd_t      fd;
    ngx_uint_t    tries;
    struct stat   now;

    path = (char *) job->log->path.data;

    for (tries = 0; tries < 4; tries++) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

        if (fd == -1) {
            job->failed = "open()";
            job->err = ngx_errno;
            return NGX_INVALID_FILE;
        }

        if (flock(fd, LOCK_EX) == -1 || fstat(fd, st) == -1) {
            job->failed = "flock()";
            job->err = ngx_errno;
            (void) close(fd);
            return NGX_INVALID_FILE;
        }

        if (stat(path, &now) == 0 && now.st_ino == st->st_ino
            && now.st_dev == st->st_dev)
        {
            return fd;
        }

        /* rotated between the open and the lock */

        (void) close(fd);
    }

    job->failed = "open()";
    job->err = NGX_EAGAIN;

    return NGX_INVALID_FILE;
}


static void
ngx_http_strangler_record_rotate(ngx_http_strangler_record_job_t *job)
{
    u_char      *p, *base, to[NGX_MAX_PATH], from[NGX_MAX_PATH];
    ngx_uint_t   i;

    base = job->log->path.data;

    if (job->log->keep == 0) {
        (void) unlink((char *) base);
        job->rotated = 1;
        return;
    }

    for (i = job->log->keep; i > 1; i--) {
        p = ngx_snprintf(from, NGX_MAX_PATH - 1, "%s.%ui", base, i - 1);
        *p = '\0';
        p = ngx_snprintf(to, NGX_MAX_PATH - 1, "%s.%ui", base, i);
        *p = '\0';

        (void) rename((char *) from, (char *) to);
    }

    p = ngx_snprintf(to, NGX_MAX_PATH - 1, "%s.1", base);
    *p = '\0';

    if (rename((char *) base, (char *) to) == -1) {
        job->failed = "rename()";
        job->err = ngx_errno;
        return;
    }

    job->rotated = 1;
}


/* in the event loop */

static void
ngx_http_strangler_record_done(ngx_http_strangler_record_job_t *job)
{
    ngx_http_strangler_record_log_t  *log;

    log = job->log;
    log->busy = 0;

    ngx_free(job->buf);

    if (job->failed && ngx_strcmp(job->failed, "rename()") != 0) {
        log->dropped += job->records;
        ngx_http_strangler_count_capture(log->smcf, 0, job->records, 0);

        if (!log->failing) {
            log->failing = 1;
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, job->err,
                          "strangler: capture records dropped: %s \"%V\" "
                          "failed; requests are served, records are "
                          "dropped and counted until it works again",
                          job->failed, &log->path);
            ngx_http_strangler_record_error(log, job->failed, job->err);
        }

    } else {
        ngx_http_strangler_count_capture(log->smcf, job->records, 0,
                                         job->len);

        if (log->failing || log->dropped) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "strangler: capture file \"%V\" written again, "
                          "%ui records were dropped", &log->path,
                          log->dropped);
            log->failing = 0;
            log->dropped = 0;
        }
    }

    if (job->failed && ngx_strcmp(job->failed, "rename()") == 0) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, job->err,
                      "strangler: capture file \"%V\" not rotated",
                      &log->path);
        ngx_http_strangler_record_error(log, job->failed, job->err);
    }

    if (log->len >= NGX_HTTP_STRANGLER_RECORD_CHUNK) {
        ngx_http_strangler_record_log_flush(log);
    }
}


/*
 * The reason, as the error log gives it, kept in the zone for `GET
 * status`; failed NULL: the disk is slower than the traffic
 */

static void
ngx_http_strangler_record_error(ngx_http_strangler_record_log_t *log,
    const char *failed, ngx_err_t err)
{
    u_char  *p, *last, text[NGX_HTTP_STRANGLER_CAPTURE_ERR];

    last = text + NGX_HTTP_STRANGLER_CAPTURE_ERR;

    if (failed == NULL) {
        p = ngx_slprintf(text, last, "\"%V\" is written slower than "
                         "requests are captured", &log->path);

    } else {
        p = ngx_slprintf(text, last, "%s \"%V\" failed (%d: ", failed,
                         &log->path, err);
        p = ngx_strerror(err, p, last - p);
        p = ngx_slprintf(p, last, ")");
    }

    ngx_http_strangler_count_capture_error(log->smcf, text, p - text);
}


/* for `GET status` */

ngx_str_t *
ngx_http_strangler_record_log_path(ngx_http_strangler_record_log_t *log)
{
    return &log->path;
}
