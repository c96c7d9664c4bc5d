
/*
 * Copyright (C) ngx_strangler_module authors
 *
 *   strangler replay FILE... --table routes.yaml --to URL [--primary URL]
 *       [--secondary URL] [--routes a,b] [--rate N] [--concurrency N]
 *       [--timeout SECONDS] [--allow-writes] [--json]
 *
 * Sends each captured request (strangler_capture files, GoReplay .gor
 * files) to the candidate at --to, and to a live --primary when given
 * (else its recorded answer is the primary's), and to a --secondary for
 * noise cancelling; compares the answers with the route's own settings
 * (strangler_cli_replay_compare.c) and prints the per-field report of
 * `strangler report`.  Writes are skipped unless --allow-writes.  The
 * HTTP client is libcurl's multi interface: up to --concurrency requests
 * at once, at most --rate a second.  Exit status: 0 nothing differs, 1
 * something does (or a side did not answer), 2 trouble.
 */


#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "strangler_cli_replay.h"


#define STRANGLER_REPLAY_CONCURRENCY  16
#define STRANGLER_REPLAY_TIMEOUT      10      /* seconds */
#define STRANGLER_REPLAY_PROGRESS     0.25    /* seconds between updates */


typedef struct strangler_replay_job_s  strangler_replay_job_t;


typedef struct {
    CURL                     *easy;
    struct curl_slist        *slist;
    char                     *url;
    strangler_replay_job_t   *job;
    int                       side;
    char                      err[CURL_ERROR_SIZE];
} strangler_replay_xfer_t;


struct strangler_replay_job_s {
    strangler_replay_item_t   item;
    const strangler_route_t  *route;
    const strangler_shadow_t *conf;
    size_t                    max;        /* of the bodies kept */
    strangler_replay_answer_t sides[STRANGLER_REPLAY_NSIDES];
    strangler_replay_xfer_t   xfer[STRANGLER_REPLAY_NSIDES];
    int                       pending;
    int                       used;
};


typedef struct {
    const char               *table_file;
    const char               *url[STRANGLER_REPLAY_NSIDES];
    char                     *routes;     /* ",a,b," */
    double                    rate;       /* 0: as fast as answered */
    long                      concurrency;
    long                      timeout;
    int                       allow_writes;
    int                       json;

    strangler_table_t        *table;
    CURLM                    *multi;
    strangler_replay_job_t   *jobs;
    long                      inflight;
    size_t                    started;
    size_t                    total;      /* for the progress line */
    double                    t0;
    double                    shown;
    int                       tty;
    int                       trouble;
    int                       no_answer_said;
    strangler_replay_stats_t  st;
} strangler_replay_t;


static int strangler_replay_usage(const char *why);
static int strangler_replay_options(strangler_replay_t *rp, int argc,
    char **argv, char **files, size_t *nfiles);
static int strangler_replay_run(strangler_replay_t *rp,
    strangler_replay_input_t *in);
static int strangler_replay_start(strangler_replay_t *rp,
    strangler_replay_job_t *job);
static int strangler_replay_is_listed(strangler_replay_t *rp,
    const strangler_route_t *route);
static int strangler_replay_send(strangler_replay_t *rp,
    strangler_replay_job_t *job, int side);
static size_t strangler_replay_header_cb(char *p, size_t size, size_t n,
    void *data);
static size_t strangler_replay_body_cb(char *p, size_t size, size_t n,
    void *data);
static void strangler_replay_done(strangler_replay_t *rp, CURLMsg *msg);
static void strangler_replay_finish(strangler_replay_t *rp,
    strangler_replay_job_t *job);
static void strangler_replay_progress(strangler_replay_t *rp, int last);
static void strangler_replay_print(strangler_replay_t *rp);
static double strangler_replay_now(void);


static const char  *strangler_replay_hop_headers[] = {
    "Host", "Content-Length", "Transfer-Encoding", "Connection",
    "Keep-Alive", "Expect", "TE", "Upgrade", "Proxy-Connection"
};


int
strangler_cli_replay(int argc, char **argv)
{
    int                        rc;
    char                     **files;
    size_t                     nfiles;
    strangler_replay_t         rp;
    strangler_replay_input_t   in;

    if (strangler_cli_wants_help(argc, argv)) {
        return strangler_replay_usage(NULL);
    }

    memset(&rp, 0, sizeof(strangler_replay_t));

    files = calloc(argc + 1, sizeof(char *));
    if (files == NULL) {
        return STRANGLER_EXIT_TROUBLE;
    }

    rc = strangler_replay_options(&rp, argc, argv, files, &nfiles);
    if (rc != 0) {
        free(files);
        free(rp.routes);
        return rc;
    }

    rp.table = strangler_cli_table_load(rp.table_file, &rc);

    if (rp.table == NULL) {
        free(files);
        free(rp.routes);
        return STRANGLER_EXIT_TROUBLE;
    }

    rc = STRANGLER_EXIT_TROUBLE;

    if (strangler_replay_stats_init(&rp.st, rp.table) != 0
        || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    {
        goto done;
    }

    rp.st.primary = rp.url[STRANGLER_REPLAY_PRIMARY];
    rp.st.candidate = rp.url[STRANGLER_REPLAY_CANDIDATE];

    rp.tty = isatty(STDERR_FILENO);

    if (rp.tty) {
        rp.total = strangler_replay_input_count(files, nfiles);
    }

    if (strangler_replay_input_open(&in, files, nfiles) < 0) {
        curl_global_cleanup();
        goto done;
    }

    rc = strangler_replay_run(&rp, &in);

    strangler_replay_input_close(&in);
    curl_global_cleanup();

    if (rc == 0) {
        strangler_replay_print(&rp);

        rc = rp.trouble ? STRANGLER_EXIT_TROUBLE
             : rp.st.mismatched || rp.st.failed ? STRANGLER_EXIT_FAIL
             : STRANGLER_EXIT_OK;

    } else {
        rc = STRANGLER_EXIT_TROUBLE;
    }

done:

    strangler_replay_stats_free(&rp.st);
    strangler_table_free(rp.table);
    free(files);
    free(rp.routes);

    return rc;
}


static int
strangler_replay_usage(const char *why)
{
    if (why && why[0]) {
        fprintf(stderr, "strangler replay: %s\n", why);
    }

    fprintf(why ? stderr : stdout,
        "usage: strangler replay FILE... --table routes.yaml --to URL\n"
        "           [--primary URL] [--secondary URL] [--routes a,b]\n"
        "           [--rate N] [--concurrency N] [--timeout SECONDS]\n"
        "           [--allow-writes] [--json]\n"
        "\n"
        "Sends captured requests (strangler_capture files, GoReplay .gor\n"
        "files) to the candidate at --to and compares its answers with\n"
        "the primary's: a live --primary, or the recorded answers.\n"
        "Exit status: 0 nothing differs, 1 something does, 2 trouble.\n");

    return why ? STRANGLER_EXIT_TROUBLE : STRANGLER_EXIT_OK;
}


static int
strangler_replay_options(strangler_replay_t *rp, int argc, char **argv,
    char **files, size_t *nfiles)
{
    int          i;
    char        *end;
    size_t       len;
    const char  *arg, *value;

    rp->concurrency = STRANGLER_REPLAY_CONCURRENCY;
    rp->timeout = STRANGLER_REPLAY_TIMEOUT;
    *nfiles = 0;

    for (i = 0; i < argc; i++) {
        arg = argv[i];

        if (strcmp(arg, "--allow-writes") == 0) {
            rp->allow_writes = 1;
            continue;
        }

        if (strcmp(arg, "--json") == 0) {
            rp->json = 1;
            continue;
        }

        if (arg[0] != '-' || strcmp(arg, "-") == 0) {
            files[(*nfiles)++] = argv[i];
            continue;
        }

        if (i + 1 >= argc) {
            fprintf(stderr, "strangler replay: %s needs a value\n", arg);
            return strangler_replay_usage("");
        }

        value = argv[++i];

        if (strcmp(arg, "--table") == 0) {
            rp->table_file = value;

        } else if (strcmp(arg, "--to") == 0) {
            rp->url[STRANGLER_REPLAY_CANDIDATE] = value;

        } else if (strcmp(arg, "--primary") == 0) {
            rp->url[STRANGLER_REPLAY_PRIMARY] = value;

        } else if (strcmp(arg, "--secondary") == 0) {
            rp->url[STRANGLER_REPLAY_SECONDARY] = value;

        } else if (strcmp(arg, "--routes") == 0) {
            len = strlen(value);
            rp->routes = malloc(len + 3);

            if (rp->routes == NULL) {
                return STRANGLER_EXIT_TROUBLE;
            }

            snprintf(rp->routes, len + 3, ",%s,", value);

        } else if (strcmp(arg, "--rate") == 0) {
            rp->rate = strtod(value, &end);

            if (*end != '\0' || !(rp->rate > 0)) {
                return strangler_replay_usage("--rate takes a number of "
                                              "requests a second > 0");
            }

        } else if (strcmp(arg, "--concurrency") == 0) {
            rp->concurrency = strtol(value, &end, 10);

            if (*end != '\0' || rp->concurrency < 1
                || rp->concurrency > 10000)
            {
                return strangler_replay_usage("--concurrency takes a "
                                              "number from 1 to 10000");
            }

        } else if (strcmp(arg, "--timeout") == 0) {
            rp->timeout = strtol(value, &end, 10);

            if (*end != '\0' || rp->timeout < 1) {
                return strangler_replay_usage("--timeout takes a number "
                                              "of seconds > 0");
            }

        } else {
            fprintf(stderr, "strangler replay: unknown option \"%s\"\n",
                    arg);
            return strangler_replay_usage("");
        }
    }

    if (*nfiles == 0) {
        return strangler_replay_usage("no capture file given");
    }

    if (rp->table_file == NULL) {
        return strangler_replay_usage("--table routes.yaml is needed: its "
                                      "routes say what is compared");
    }

    if (rp->url[STRANGLER_REPLAY_CANDIDATE] == NULL) {
        return strangler_replay_usage("--to URL is needed: the candidate");
    }

    for (i = 0; i < STRANGLER_REPLAY_NSIDES; i++) {
        value = rp->url[i];

        if (value && strncmp(value, "http://", 7) != 0
            && strncmp(value, "https://", 8) != 0)
        {
            fprintf(stderr, "strangler replay: \"%s\" is not an http:// or "
                    "https:// URL\n", value);
            return strangler_replay_usage("");
        }
    }

    return 0;
}


static int
strangler_replay_run(strangler_replay_t *rp, strangler_replay_input_t *in)
{
    int                      rc, eof, running;
    long                     i, wait;
    double                   now, next;
    CURLMsg                 *msg;
    strangler_replay_job_t  *job;

    rp->multi = curl_multi_init();
    rp->jobs = calloc(rp->concurrency, sizeof(strangler_replay_job_t));

    if (rp->multi == NULL || rp->jobs == NULL) {
        fprintf(stderr, "strangler replay: out of memory\n");
        curl_multi_cleanup(rp->multi);
        free(rp->jobs);
        return -1;
    }

    rp->t0 = strangler_replay_now();
    eof = 0;
    i = 0;

    for ( ;; ) {
        wait = 50;

        while (!eof && rp->inflight < rp->concurrency) {

            if (rp->rate > 0) {
                next = rp->t0 + (double) rp->started / rp->rate;
                now = strangler_replay_now();

                if (now < next) {
                    wait = (long) ((next - now) * 1000) + 1;
                    break;
                }
            }

            for (job = NULL; job == NULL; i = (i + 1) % rp->concurrency) {
                if (!rp->jobs[i].used) {
                    job = &rp->jobs[i];
                }
            }

            rc = strangler_replay_input_next(in, &job->item);

            if (rc <= 0) {
                eof = 1;
                rp->trouble |= rc < 0;
                break;
            }

            if (strangler_replay_start(rp, job) != 0) {
                rp->trouble = 1;
            }
        }

        if (eof && rp->inflight == 0) {
            break;
        }

        curl_multi_perform(rp->multi, &running);

        while ((msg = curl_multi_info_read(rp->multi, &rc))) {
            if (msg->msg == CURLMSG_DONE) {
                strangler_replay_done(rp, msg);
            }
        }

        if (rp->inflight) {
            curl_multi_poll(rp->multi, NULL, 0, (int) wait, NULL);

        } else if (!eof && rp->rate > 0) {
            usleep(wait * 1000);
        }

        strangler_replay_progress(rp, 0);
    }

    strangler_replay_progress(rp, 1);

    curl_multi_cleanup(rp->multi);
    free(rp->jobs);

    if (in->bad) {
        fprintf(stderr, "strangler replay: %zu records skipped: not "
                "requests\n", in->bad);
    }

    return 0;
}


/* one request: to each side, or skipped and counted; -1: trouble */

static int
strangler_replay_start(strangler_replay_t *rp, strangler_replay_job_t *job)
{
    int                       side, rc;
    const char               *err;
    strangler_cli_request_t   cr;
    strangler_cli_result_t    res;
    strangler_replay_item_t  *item;

    item = &job->item;

    memset(&cr, 0, sizeof(strangler_cli_request_t));
    cr.method = item->method;
    cr.uri = item->uri;
    cr.headers = item->headers;
    cr.nheaders = item->nheaders;

    err = NULL;

    if (strangler_cli_request_check(&cr) != NULL
        || strangler_cli_decide(rp->table, &cr, &res, &err) != 0)
    {
        rp->st.not_replayable++;
        strangler_replay_item_free(item);
        return 0;
    }

    job->route = res.decision.route;
    rc = res.decision.write;
    strangler_cli_result_free(&res);

    if (!strangler_replay_is_listed(rp, job->route)) {
        rp->st.filtered++;
        strangler_replay_item_free(item);
        return 0;
    }

    if (rc && !rp->allow_writes) {
        rp->st.writes_skipped++;
        strangler_replay_item_free(item);
        return 0;
    }

    if (item->body_omitted) {
        rp->st.not_replayable++;
        strangler_replay_item_free(item);
        return 0;
    }

    if (rp->url[STRANGLER_REPLAY_PRIMARY] == NULL && item->answer == NULL) {
        if (!rp->no_answer_said) {
            fprintf(stderr, "strangler replay: %s: no recorded answer to "
                    "compare with (a .gor file?): give --primary URL\n",
                    item->request_id);
            rp->no_answer_said = 1;
        }

        rp->st.not_replayable++;
        strangler_replay_item_free(item);
        return -1;
    }

    job->conf = strangler_replay_conf(job->route);
    job->max = STRANGLER_REPLAY_MAX_BODY;
    job->pending = 0;

    for (side = 0; side < STRANGLER_REPLAY_NSIDES; side++) {
        strangler_replay_answer_init(&job->sides[side],
                                     job->conf->headers.n);
    }

    if (rp->url[STRANGLER_REPLAY_PRIMARY] == NULL) {
        if (strangler_replay_recorded(job->route, item->answer,
                                      &job->sides[STRANGLER_REPLAY_PRIMARY])
            != 0)
        {
            return -1;
        }

        if (job->sides[STRANGLER_REPLAY_PRIMARY].body.sha) {
            job->max = 0;
        }
    }

    job->used = 1;
    rp->inflight++;
    rp->started++;

    for (side = 0; side < STRANGLER_REPLAY_NSIDES; side++) {
        if (rp->url[side] && strangler_replay_send(rp, job, side) != 0) {
            job->sides[side].error = strdup("cannot start the request");
        }
    }

    if (job->pending == 0) {
        strangler_replay_finish(rp, job);
    }

    return 0;
}


static int
strangler_replay_is_listed(strangler_replay_t *rp,
    const strangler_route_t *route)
{
    char         name[STRANGLER_QUOTE_MAX + 8];
    const char  *r;

    if (rp->routes == NULL) {
        return 1;
    }

    r = route ? route->name.data : STRANGLER_DEFAULT_ROUTE;
    snprintf(name, sizeof(name), ",%s,", r);

    return strstr(rp->routes, name) != NULL;
}


static int
strangler_replay_send(strangler_replay_t *rp, strangler_replay_job_t *job,
    int side)
{
    int                       has_type;
    char                     *line;
    size_t                    i, k, len;
    CURL                     *easy;
    strangler_header_t       *h;
    strangler_replay_xfer_t  *x;
    strangler_replay_item_t  *item;

    item = &job->item;
    x = &job->xfer[side];

    memset(x, 0, sizeof(strangler_replay_xfer_t));
    x->job = job;
    x->side = side;

    len = strlen(rp->url[side]);

    if (len && rp->url[side][len - 1] == '/' && item->uri[0] == '/') {
        len--;
    }

    x->url = malloc(len + strlen(item->uri) + 1);
    easy = curl_easy_init();

    if (x->url == NULL || easy == NULL) {
        free(x->url);
        x->url = NULL;
        curl_easy_cleanup(easy);
        return -1;
    }

    memcpy(x->url, rp->url[side], len);
    strcpy(x->url + len, item->uri);

    x->easy = easy;

    curl_easy_setopt(easy, CURLOPT_URL, x->url);
    curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, rp->timeout);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->err);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION,
                     strangler_replay_header_cb);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, strangler_replay_body_cb);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);

    if (strcmp(item->method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);

    } else if (strcmp(item->method, "GET") != 0 || item->body) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, item->method);
    }

    if (item->body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) item->body_len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, item->body);
    }

    /* the request's headers, less the connection's own */

    has_type = 0;

    for (i = 0; i < item->nheaders; i++) {
        h = &item->headers[i];

        for (k = 0; k < sizeof(strangler_replay_hop_headers)
                        / sizeof(strangler_replay_hop_headers[0]); k++)
        {
            if (strcasecmp(h->name.data, strangler_replay_hop_headers[k])
                == 0)
            {
                break;
            }
        }

        if (k < sizeof(strangler_replay_hop_headers)
                / sizeof(strangler_replay_hop_headers[0]))
        {
            continue;
        }

        has_type |= strcasecmp(h->name.data, "Content-Type") == 0;

        line = malloc(h->name.len + h->value.len + 3);
        if (line == NULL) {
            return -1;
        }

        sprintf(line, "%s: %s", h->name.data, h->value.data);
        x->slist = curl_slist_append(x->slist, line);
        free(line);
    }

    /* no header of curl's own: no 100-continue, no form content type */

    x->slist = curl_slist_append(x->slist, "Expect:");

    if (!has_type) {
        x->slist = curl_slist_append(x->slist, "Content-Type:");
    }

    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, x->slist);

    if (curl_multi_add_handle(rp->multi, easy) != CURLM_OK) {
        return -1;
    }

    job->pending++;

    return 0;
}


/* the compared headers, and whether the body is gzip'ed */

static size_t
strangler_replay_header_cb(char *p, size_t size, size_t n, void *data)
{
    size_t                      i, len, nlen;
    char                       *colon, *v, *end;
    strangler_replay_xfer_t    *x;
    strangler_replay_answer_t  *a;
    const strangler_shadow_t   *conf;

    x = data;
    a = &x->job->sides[x->side];
    conf = x->job->conf;
    len = size * n;

    if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new answer (after a 100 Continue): its headers only */

        for (i = 0; i < conf->headers.n; i++) {
            free((char *) a->headers[i].data);
            a->headers[i].data = NULL;
            a->headers[i].len = 0;
        }

        a->gzip = 0;
        return len;
    }

    colon = memchr(p, ':', len);

    if (colon == NULL) {
        return len;
    }

    nlen = colon - p;
    end = p + len;

    while (end > colon + 1 && (end[-1] == '\n' || end[-1] == '\r')) {
        end--;
    }

    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++) {
        /* void */
    }

    if (nlen == 16 && strncasecmp(p, "Content-Encoding", 16) == 0) {
        a->gzip = end - v == 4 && strncasecmp(v, "gzip", 4) == 0;
    }

    for (i = 0; i < conf->headers.n; i++) {
        if (a->headers[i].data == NULL && conf->headers.items[i].len == nlen
            && strncasecmp(conf->headers.items[i].data, p, nlen) == 0)
        {
            a->headers[i].data = strndup(v, end - v);
            a->headers[i].len = end - v;
        }
    }

    return len;
}


static size_t
strangler_replay_body_cb(char *p, size_t size, size_t n, void *data)
{
    strangler_replay_xfer_t    *x;
    strangler_replay_answer_t  *a;

    x = data;
    a = &x->job->sides[x->side];

    if (!a->started) {
        strangler_body_init(&a->body, x->job->max, a->gzip);
        a->started = 1;
    }

    strangler_body_add(&a->body, p, size * n);

    return size * n;
}


static void
strangler_replay_done(strangler_replay_t *rp, CURLMsg *msg)
{
    long                        status;
    strangler_replay_xfer_t    *x;
    strangler_replay_job_t     *job;
    strangler_replay_answer_t  *a;

    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);

    job = x->job;
    a = &job->sides[x->side];

    if (msg->data.result != CURLE_OK) {
        a->error = strdup(x->err[0] ? x->err
                                    : curl_easy_strerror(msg->data.result));

    } else {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        a->status = (int) status;

        if (!a->started) {
            strangler_body_init(&a->body, job->max, 0);
            a->started = 1;
        }

        strangler_body_end(&a->body);
    }

    curl_multi_remove_handle(rp->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->slist);
    free(x->url);

    x->easy = NULL;
    x->slist = NULL;
    x->url = NULL;

    if (--job->pending == 0) {
        strangler_replay_finish(rp, job);
    }
}


static void
strangler_replay_finish(strangler_replay_t *rp, strangler_replay_job_t *job)
{
    int  side;

    strangler_replay_compare(&rp->st, job->route, &job->item, job->sides,
                             rp->url[STRANGLER_REPLAY_SECONDARY] != NULL);

    for (side = 0; side < STRANGLER_REPLAY_NSIDES; side++) {
        strangler_replay_answer_free(&job->sides[side], job->conf->headers.n);
    }

    strangler_replay_item_free(&job->item);

    job->used = 0;
    rp->inflight--;
}


/* done, rate, differences so far, ETA: on a terminal only */

static void
strangler_replay_progress(strangler_replay_t *rp, int last)
{
    double  now, rate, eta;

    if (!rp->tty) {
        return;
    }

    now = strangler_replay_now();

    if (last) {
        if (rp->shown > 0) {
            fprintf(stderr, "\r\033[K");
        }

        return;
    }

    if (now - rp->shown < STRANGLER_REPLAY_PROGRESS) {
        return;
    }

    rp->shown = now;
    rate = now > rp->t0 ? rp->st.sent / (now - rp->t0) : 0;
    eta = rate > 0 && rp->total > rp->started
          ? (rp->total - rp->started) / rate : 0;

    fprintf(stderr, "\r\033[Kreplay: %zu/%zu done, %.0f/s, %zu differ, "
            "ETA %.0fs", rp->st.sent, rp->total, rate,
            rp->st.mismatched + rp->st.failed, eta);
}


static void
strangler_replay_print(strangler_replay_t *rp)
{
    json_t                    *out, *report;
    strangler_replay_stats_t  *st;

    st = &rp->st;
    report = strangler_report_build(&st->report);

    if (rp->json) {
        out = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:o}",
                        "sent", (json_int_t) st->sent,
                        "matched", (json_int_t) st->matched,
                        "mismatched", (json_int_t) st->mismatched,
                        "noise_only", (json_int_t) st->noise_only,
                        "failed", (json_int_t) st->failed,
                        "writes_skipped", (json_int_t) st->writes_skipped,
                        "not_replayable", (json_int_t) st->not_replayable,
                        "filtered", (json_int_t) st->filtered,
                        "report", report);

        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(out);
        return;
    }

    printf("replay: %zu request%s sent to %s: %zu matched, %zu mismatched, "
           "%zu noise-only, %zu failed\n",
           st->sent, st->sent == 1 ? "" : "s", st->candidate, st->matched,
           st->mismatched, st->noise_only, st->failed);

    if (st->writes_skipped) {
        printf("  %zu write%s skipped (--allow-writes sends them)\n",
               st->writes_skipped, st->writes_skipped == 1 ? "" : "s");
    }

    if (st->not_replayable) {
        printf("  %zu not replayable (body not captured, bad path or no "
               "answer to compare with)\n", st->not_replayable);
    }

    if (st->filtered) {
        printf("  %zu of other routes (--routes)\n", st->filtered);
    }

    if (json_array_size(json_object_get(report, "routes"))) {
        printf("\n");
        strangler_report_print(report);
    }

    json_decref(report);
}


static double
strangler_replay_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}
