
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * File writes that must not stall the event loop: the state file (an
 * atomic replace) and the diff log (appends).  With threads they run in
 * nginx's "default" thread pool and `done` is called back in the event
 * loop; without them they run inline and `done` is called before the
 * function returns.
 *
 * The thread never touches the caller's log: it records the failing call
 * and errno, and the completion logs them in the event loop.
 */


#include "ngx_http_strangler_fileio.h"

#include <sys/file.h>       /* flock(): it, unlike fcntl(), excludes threads */


typedef struct {
    ngx_str_t                         path;     /* null-terminated */
    ngx_str_t                         content;
    ngx_fd_t                          fd;       /* append only */
    ngx_atomic_t                     *landed;   /* replace only; or NULL */
    ngx_atomic_uint_t                 seq;

    ngx_log_t                        *log;
    ngx_http_strangler_file_done_pt   done;
    void                             *data;

    const char                       *failed;   /* the call that failed */
    ngx_err_t                         err;
} ngx_http_strangler_file_job_t;


typedef void (*ngx_http_strangler_file_work_pt)(
    ngx_http_strangler_file_job_t *job);


static ngx_int_t ngx_http_strangler_file_run(
    ngx_http_strangler_file_job_t *job,
    ngx_http_strangler_file_work_pt work);
static void ngx_http_strangler_file_complete(
    ngx_http_strangler_file_job_t *job);
static void ngx_http_strangler_file_do_replace(
    ngx_http_strangler_file_job_t *job);
static void ngx_http_strangler_file_dir(ngx_str_t *path, u_char *dir);
static ngx_int_t ngx_http_strangler_file_write_tmp(
    ngx_http_strangler_file_job_t *job, u_char *tmp);
static void ngx_http_strangler_file_do_append(
    ngx_http_strangler_file_job_t *job);
static ngx_int_t ngx_http_strangler_file_write_all(ngx_fd_t fd,
    ngx_str_t *content);

#if (NGX_THREADS)
static void ngx_http_strangler_file_thread(void *data, ngx_log_t *log);
static void ngx_http_strangler_file_event(ngx_event_t *ev);
#endif


#if (NGX_THREADS)
static ngx_str_t  ngx_http_strangler_thread_pool = ngx_string("default");
#endif


ngx_int_t
ngx_http_strangler_file_init_conf(ngx_conf_t *cf)
{
#if (NGX_THREADS)
    if (ngx_thread_pool_add(cf, NULL) == NULL) {
        return NGX_ERROR;
    }
#endif

    return NGX_OK;
}


ngx_int_t
ngx_http_strangler_file_replace_seq(ngx_str_t *path, ngx_str_t *content,
    ngx_atomic_t *landed, ngx_atomic_uint_t seq, ngx_log_t *log,
    ngx_http_strangler_file_done_pt done, void *data)
{
    ngx_http_strangler_file_job_t  job;

    ngx_memzero(&job, sizeof(ngx_http_strangler_file_job_t));

    job.path = *path;
    job.content = *content;
    job.fd = NGX_INVALID_FILE;
    job.landed = landed;
    job.seq = seq;
    job.log = log;
    job.done = done;
    job.data = data;

    return ngx_http_strangler_file_run(&job,
                                       ngx_http_strangler_file_do_replace);
}


ngx_int_t
ngx_http_strangler_file_append(ngx_fd_t fd, ngx_str_t *content,
    ngx_log_t *log, ngx_http_strangler_file_done_pt done, void *data)
{
    ngx_http_strangler_file_job_t  job;

    ngx_memzero(&job, sizeof(ngx_http_strangler_file_job_t));

    job.fd = fd;
    job.content = *content;
    job.log = log;
    job.done = done;
    job.data = data;

    return ngx_http_strangler_file_run(&job,
                                       ngx_http_strangler_file_do_append);
}


/*
 * The job is copied into the thread task (malloc'ed: the caller's pool may
 * not outlive it), or run on the stack when there is no thread pool.
 */

static ngx_int_t
ngx_http_strangler_file_run(ngx_http_strangler_file_job_t *job,
    ngx_http_strangler_file_work_pt work)
{
#if (NGX_THREADS)
    ngx_thread_task_t              *task;
    ngx_thread_pool_t              *tp;
    ngx_http_strangler_file_job_t  *copy;

    tp = ngx_thread_pool_get((ngx_cycle_t *) ngx_cycle,
                             &ngx_http_strangler_thread_pool);

    if (tp != NULL && (ngx_process == NGX_PROCESS_WORKER
                       || ngx_process == NGX_PROCESS_SINGLE))
    {
        task = ngx_calloc(sizeof(ngx_thread_task_t)
                          + sizeof(ngx_http_strangler_file_job_t)
                          + sizeof(ngx_http_strangler_file_work_pt),
                          job->log);
        if (task == NULL) {
            return NGX_ERROR;
        }

        copy = (ngx_http_strangler_file_job_t *) (task + 1);
        *copy = *job;
        *(ngx_http_strangler_file_work_pt *) (copy + 1) = work;

        task->ctx = copy;
        task->handler = ngx_http_strangler_file_thread;
        task->event.handler = ngx_http_strangler_file_event;
        task->event.data = task;
        task->event.log = job->log;

        if (ngx_thread_task_post(tp, task) != NGX_OK) {
            ngx_free(task);
            return NGX_ERROR;
        }

        return NGX_OK;
    }
#endif

    work(job);
    ngx_http_strangler_file_complete(job);

    return NGX_OK;
}


#if (NGX_THREADS)

static void
ngx_http_strangler_file_thread(void *data, ngx_log_t *log)
{
    ngx_http_strangler_file_job_t    *job = data;
    ngx_http_strangler_file_work_pt   work;

    work = *(ngx_http_strangler_file_work_pt *) (job + 1);
    work(job);
}


static void
ngx_http_strangler_file_event(ngx_event_t *ev)
{
    ngx_thread_task_t  *task = ev->data;

    ngx_http_strangler_file_complete(task->ctx);
    ngx_free(task);
}

#endif


static void
ngx_http_strangler_file_complete(ngx_http_strangler_file_job_t *job)
{
    if (job->failed == NULL) {
        job->done(job->data, NGX_OK);
        return;
    }

    if (job->path.len) {
        ngx_log_error(NGX_LOG_CRIT, job->log, job->err,
                      "strangler: %s while writing \"%V\" failed",
                      job->failed, &job->path);

    } else {
        ngx_log_error(NGX_LOG_CRIT, job->log, job->err,
                      "strangler: %s failed on fd %d", job->failed, job->fd);
    }

    job->done(job->data, NGX_ERROR);
}


/*
 * Write "FILE.tmp", fsync it, rename it over FILE, fsync the directory.
 * Writers in every process take an exclusive lock on the directory first,
 * and with `landed` a writer whose snapshot is older than the one already
 * in place gives up: the last file written is always the newest state.
 */

static void
ngx_http_strangler_file_do_replace(ngx_http_strangler_file_job_t *job)
{
    u_char    *p, tmp[NGX_MAX_PATH], dir[NGX_MAX_PATH];
    ngx_fd_t   dfd;

    if (job->path.len + sizeof(".tmp") > NGX_MAX_PATH) {
        job->failed = "building the temporary name";
        job->err = NGX_ENAMETOOLONG;
        return;
    }

    p = ngx_cpymem(tmp, job->path.data, job->path.len);
    ngx_memcpy(p, ".tmp", sizeof(".tmp"));

    ngx_http_strangler_file_dir(&job->path, dir);

    dfd = ngx_open_file(dir, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (dfd == NGX_INVALID_FILE) {
        job->failed = "open() of its directory";
        job->err = ngx_errno;
        return;
    }

    if (flock(dfd, LOCK_EX) == -1) {
        job->failed = "flock() of its directory";
        job->err = ngx_errno;
        goto done;
    }

    if (job->landed && *job->landed > job->seq) {
        goto done;
    }

    if (ngx_http_strangler_file_write_tmp(job, tmp) != NGX_OK) {
        goto done;
    }

    if (ngx_rename_file(tmp, job->path.data) == NGX_FILE_ERROR) {
        job->failed = ngx_rename_file_n;
        job->err = ngx_errno;
        (void) ngx_delete_file(tmp);
        goto done;
    }

    if (fsync(dfd) == -1) {
        job->failed = "fsync() of its directory";
        job->err = ngx_errno;
        goto done;
    }

    if (job->landed) {
        *job->landed = job->seq;
    }

done:

    /* closing the directory releases the lock */
    (void) ngx_close_file(dfd);
}


/* the directory of a path shorter than NGX_MAX_PATH, null-terminated */

static void
ngx_http_strangler_file_dir(ngx_str_t *path, u_char *dir)
{
    size_t  len;

    for (len = path->len; len; len--) {
        if (path->data[len - 1] == '/') {
            break;
        }
    }

    if (len == 0) {
        ngx_memcpy(dir, ".", sizeof("."));

    } else {
        ngx_cpystrn(dir, path->data, (len > 1) ? len : 2);
    }
}


/*
 * Whether this process can replace the file: workers usually run as
 * another user than the one who created the directory.
 */

ngx_int_t
ngx_http_strangler_file_check(ngx_str_t *path, ngx_log_t *log)
{
    u_char  dir[NGX_MAX_PATH];

    if (path->len + sizeof(".tmp") > NGX_MAX_PATH) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "\"%V\": the path is too long",
                      path);
        return NGX_ERROR;
    }

    ngx_http_strangler_file_dir(path, dir);

    if (access((char *) dir, W_OK|X_OK) != 0) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "\"%V\" cannot be written: the worker processes "
                      "cannot create files in \"%s\"", path, dir);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_strangler_file_write_tmp(ngx_http_strangler_file_job_t *job,
    u_char *tmp)
{
    ngx_fd_t  fd;

    fd = ngx_open_file(tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        job->failed = ngx_open_file_n " of the temporary file";
        job->err = ngx_errno;
        return NGX_ERROR;
    }

    if (ngx_http_strangler_file_write_all(fd, &job->content) != NGX_OK) {
        job->failed = "write() of the temporary file";
        goto failed;
    }

    if (fsync(fd) == -1) {
        job->failed = "fsync() of the temporary file";
        goto failed;
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        job->failed = ngx_close_file_n " of the temporary file";
        job->err = ngx_errno;
        (void) ngx_delete_file(tmp);
        return NGX_ERROR;
    }

    return NGX_OK;

failed:

    job->err = ngx_errno;
    (void) ngx_close_file(fd);
    (void) ngx_delete_file(tmp);

    return NGX_ERROR;
}


static void
ngx_http_strangler_file_do_append(ngx_http_strangler_file_job_t *job)
{
    if (ngx_http_strangler_file_write_all(job->fd, &job->content) != NGX_OK)
    {
        job->failed = "write()";
        job->err = ngx_errno;
    }
}


static ngx_int_t
ngx_http_strangler_file_write_all(ngx_fd_t fd, ngx_str_t *content)
{
    u_char   *p, *last;
    ssize_t   n;

    p = content->data;
    last = p + content->len;

    while (p < last) {
        n = write(fd, p, last - p);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            return NGX_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}
