
/*
 * Copyright (C) ngx_strangler_module authors
 *
 *   strangler plan [--json] [--route NAME] [--timeout SECONDS] URL...
 *   strangler plan [--json] [--route NAME] [--timeout SECONDS] --fleet URL
 *
 * Which route to move next, for one host or a fleet: reads `GET plan` of
 * each host's API (URL: the API's location, such as
 * http://10.0.0.1/_strangler/), adds each route's evidence up over the
 * hosts (strangler_plan_add(): counts and histograms summed, the least
 * moved stage, the latest guard trip; fields merged by path), and judges
 * the sum with the rules nginx uses (strangler_plan_judge()), with the
 * first host's thresholds.  Prints a table, or JSON in the API's shape.
 * --fleet URL: the hosts are the fleet's, as `GET fleet` of that API
 * lists them (strangler_cli_fleet_get(), as `strangler fleet` reads it):
 * every alive host's API; a silent one is left out, and said on stderr.
 * Exit status: 0 a route is ready, 1 none is, 2 trouble (usage, a host
 * that does not answer 200 with a plan, no fleet, an alive host without
 * an API address).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "strangler_cli.h"
#include "strangler_plan.h"


#define STRANGLER_CLI_PLAN_TIMEOUT  10
#define STRANGLER_CLI_PLAN_MAX      (64 * 1024 * 1024)


typedef struct {
    char                       *name;
    strangler_readiness_t       readiness;
    strangler_plan_evidence_t   ev;
    strangler_plan_field_t     *fields;
    size_t                      nfields;
    size_t                      hosts;
    strangler_plan_verdict_t    v;
} strangler_cli_plan_route_t;


typedef struct {
    strangler_cli_plan_route_t *routes;
    size_t                      nroutes;
    size_t                      nalloc;
    const char                 *only;       /* --route */
    long                        timeout;
} strangler_cli_plan_t;


typedef struct {
    char                       *data;
    size_t                      len;
} strangler_cli_plan_buf_t;


static int strangler_cli_plan_usage(const char *why);
static json_t *strangler_cli_plan_fleet(const char *base, long timeout,
    char ***urls, int *nurls);
static int strangler_cli_plan_host(strangler_cli_plan_t *p, const char *url);
static int strangler_cli_plan_page(strangler_cli_plan_t *p, CURL *curl,
    const char *url, int64_t *offset);
static size_t strangler_cli_plan_write(char *ptr, size_t size, size_t n,
    void *data);
static int strangler_cli_plan_read(strangler_cli_plan_t *p, const char *url,
    json_t *route);
static void strangler_cli_plan_evidence(json_t *j,
    strangler_plan_evidence_t *ev);
static void strangler_cli_plan_side(json_t *j, strangler_plan_side_t *side);
static int strangler_cli_plan_fields(strangler_cli_plan_route_t *pr,
    json_t *fields);
static strangler_cli_plan_route_t *strangler_cli_plan_find(
    strangler_cli_plan_t *p, const char *name);
static int strangler_cli_plan_cmp(const void *a, const void *b);
static json_t *strangler_cli_plan_json(strangler_cli_plan_route_t *pr);
static void strangler_cli_plan_print(strangler_cli_plan_t *p);
static uint64_t strangler_cli_plan_u64(json_t *obj, const char *key);


int
strangler_cli_plan(int argc, char **argv)
{
    int                          i, rc, nurls, ready;
    char                        *end, **urls;
    size_t                       k;
    json_t                      *out, *list, *fleet;
    const char                  *from;
    strangler_cli_plan_t         p;
    strangler_cli_plan_route_t  *pr;

    memset(&p, 0, sizeof(strangler_cli_plan_t));
    p.timeout = STRANGLER_CLI_PLAN_TIMEOUT;
    out = NULL;
    from = NULL;
    fleet = NULL;

    for (i = 0, nurls = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return strangler_cli_plan_usage(NULL);

        } else if (strcmp(argv[i], "--json") == 0) {
            out = json_array();

        } else if (strcmp(argv[i], "--route") == 0 && i + 1 < argc) {
            p.only = argv[++i];

        } else if (strcmp(argv[i], "--fleet") == 0 && i + 1 < argc) {
            from = argv[++i];

        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            p.timeout = strtol(argv[++i], &end, 10);

            if (*end != '\0' || p.timeout <= 0) {
                json_decref(out);
                return strangler_cli_plan_usage("--timeout takes seconds "
                                                "> 0");
            }

        } else if (argv[i][0] == '-') {
            fprintf(stderr, "strangler plan: unknown option \"%s\"\n",
                    argv[i]);
            json_decref(out);
            return strangler_cli_plan_usage("");

        } else {
            argv[nurls++] = argv[i];
        }
    }

    if ((nurls == 0) == (from == NULL)) {
        json_decref(out);
        return strangler_cli_plan_usage(from ? "--fleet URL or URLs, not "
                                               "both" : "");
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "strangler plan: cannot start libcurl\n");
        json_decref(out);
        return 2;
    }

    urls = argv;
    rc = 0;

    if (from) {
        fleet = strangler_cli_plan_fleet(from, p.timeout, &urls, &nurls);
        rc = fleet ? 0 : 2;
    }

    for (i = 0; i < nurls && rc == 0; i++) {
        rc = strangler_cli_plan_host(&p, urls[i]);
    }

    curl_global_cleanup();

    ready = 0;

    if (rc == 0) {
        for (k = 0; k < p.nroutes; k++) {
            pr = &p.routes[k];
            strangler_plan_judge(&pr->readiness, &pr->ev, &pr->v);
            ready += pr->v.is_ready;
        }

        qsort(p.routes, p.nroutes, sizeof(strangler_cli_plan_route_t),
              strangler_cli_plan_cmp);

        if (out) {
            list = json_array();

            for (k = 0; k < p.nroutes; k++) {
                if (p.routes[k].v.next != STRANGLER_STEP_NONE) {
                    json_array_append_new(list,
                                     strangler_cli_plan_json(&p.routes[k]));
                }
            }

            json_decref(out);
            out = json_pack("{s:i, s:i, s:o}", "hosts", nurls,
                            "ready", ready, "routes", list);

            if (fleet) {
                (void) json_object_set(out, "fleet", fleet);
            }
            json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);

        } else {
            strangler_cli_plan_print(&p);
        }

        rc = ready ? 0 : 1;
    }

    json_decref(out);

    if (fleet) {
        for (i = 0; i < nurls; i++) {
            free(urls[i]);
        }

        free(urls);
        json_decref(fleet);
    }

    for (k = 0; k < p.nroutes; k++) {
        free(p.routes[k].name);
        free(p.routes[k].fields);
    }

    free(p.routes);

    return rc;
}


static int
strangler_cli_plan_usage(const char *why)
{
    FILE  *f;

    f = why ? stderr : stdout;

    if (why && why[0]) {
        fprintf(f, "strangler plan: %s\n", why);
    }

    fprintf(f,
        "usage: strangler plan [--json] [--route NAME] [--timeout SECONDS] "
        "URL...\n"
        "       strangler plan [--json] [--route NAME] [--timeout SECONDS] "
        "--fleet URL\n"
        "\n"
        "which route to move next: GET plan of each host's API (URL: the\n"
        "strangler_api location, such as http://10.0.0.1/_strangler/), the\n"
        "evidence of several hosts added up and judged as nginx does\n"
        "--fleet URL: every alive host of the fleet as that API's GET fleet\n"
        "lists it (silent ones are left out and named on stderr)\n"
        "\n"
        "exit status: 0 a route is ready, 1 none is, 2 usage error, no\n"
        "fleet, or a host without a plan\n");

    return why ? 2 : 0;
}


/*
 * The hosts of the fleet: in *urls (malloc'd, each string too) the API
 * address of each alive one; a silent one is said on stderr and left
 * out.  Returns the names read and silent, for --json; NULL: said.
 */

static json_t *
strangler_cli_plan_fleet(const char *base, long timeout, char ***urls,
    int *nurls)
{
    int          n;
    char       **list;
    size_t       k;
    json_t      *j, *host, *read, *silent, *res;
    const char  *name, *api, *state;

    j = strangler_cli_fleet_get("strangler plan", base, timeout);

    if (j == NULL) {
        return NULL;
    }

    n = 0;
    list = calloc(json_array_size(json_object_get(j, "hosts")) + 1,
                  sizeof(char *));
    read = json_array();
    silent = json_array();
    res = json_pack("{s:o, s:o}", "read", read, "silent", silent);

    if (list == NULL || res == NULL) {
        fprintf(stderr, "strangler plan: out of memory\n");
        goto failed;
    }

    json_array_foreach(json_object_get(j, "hosts"), k, host) {
        name = json_string_value(json_object_get(host, "name"));
        api = json_string_value(json_object_get(host, "api"));
        state = json_string_value(json_object_get(host, "state"));
        name = name ? name : "-";

        if (state == NULL || strcmp(state, "alive") != 0) {
            fprintf(stderr, "strangler plan: host \"%s\" is silent (its "
                    "lease expired): left out\n", name);
            json_array_append_new(silent, json_string(name));
            continue;
        }

        if (api == NULL || api[0] == '\0') {
            fprintf(stderr, "strangler plan: %s: host \"%s\" is alive but "
                    "registered no API address (strangler_host_api)\n",
                    base, name);
            goto failed;
        }

        list[n] = strdup(api);

        if (list[n++] == NULL) {
            fprintf(stderr, "strangler plan: out of memory\n");
            goto failed;
        }

        json_array_append_new(read, json_string(name));
    }

    if (n == 0) {
        fprintf(stderr, "strangler plan: %s: no alive host in the fleet\n",
                base);
        goto failed;
    }

    json_decref(j);
    *urls = list;
    *nurls = n;

    return res;

failed:

    while (list && n) {
        free(list[--n]);
    }

    free(list);
    json_decref(res);
    json_decref(j);

    return NULL;
}


/*
 * One host's plan, added to the others': every route, a page of 1000 at a
 * time in table order (an order that does not move between two pages)
 */

static int
strangler_cli_plan_host(strangler_cli_plan_t *p, const char *base)
{
    int      rc;
    char    *url;
    CURL    *curl;
    size_t   len, size;
    int64_t  offset;

    len = strlen(base);
    size = len + sizeof("/plan?order=table&limit=1000&offset=") + 24;
    url = malloc(size);
    curl = curl_easy_init();

    if (url == NULL || curl == NULL) {
        fprintf(stderr, "strangler plan: out of memory\n");
        free(url);
        curl_easy_cleanup(curl);
        return 2;
    }

    curl_easy_setopt(curl, CURLOPT_TIMEOUT, p->timeout);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, strangler_cli_plan_write);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "strangler-plan");

    rc = 0;

    for (offset = 0; offset >= 0 && rc == 0; /* void */ ) {

        /* the API's location, or its plan */

        if (len >= 5 && strcmp(base + len - 5, "/plan") == 0) {
            snprintf(url, size, "%s?order=table&limit=1000&offset=%lld",
                     base, (long long) offset);

        } else {
            snprintf(url, size, "%s%splan?order=table&limit=1000"
                     "&offset=%lld", base,
                     (len && base[len - 1] == '/') ? "" : "/",
                     (long long) offset);
        }

        rc = strangler_cli_plan_page(p, curl, url, &offset);
    }

    free(url);
    curl_easy_cleanup(curl);

    return rc;
}


/* a page; *offset: the next one's, -1 after the last */

static int
strangler_cli_plan_page(strangler_cli_plan_t *p, CURL *curl,
    const char *url, int64_t *offset)
{
    int                       rc;
    long                      status;
    size_t                    i;
    json_t                   *j, *routes, *route, *next;
    CURLcode                  cc;
    json_error_t              err;
    strangler_cli_plan_buf_t  body;

    memset(&body, 0, sizeof(strangler_cli_plan_buf_t));

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);

    cc = curl_easy_perform(curl);
    status = 0;
    rc = 2;
    j = NULL;

    if (cc != CURLE_OK) {
        fprintf(stderr, "strangler plan: %s: %s\n", url,
                curl_easy_strerror(cc));
        goto done;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    if (status != 200) {
        fprintf(stderr, "strangler plan: %s: HTTP status %ld\n", url,
                status);
        goto done;
    }

    j = json_loadb(body.data ? body.data : "", body.len, 0, &err);
    routes = json_object_get(j, "routes");
    next = json_object_get(j, "next_offset");

    if (!json_is_array(routes)
        || !(json_is_null(next) || json_integer_value(next) > *offset))
    {
        fprintf(stderr, "strangler plan: %s: not a plan (%s)\n", url,
                j ? "no \"routes\" list or \"next_offset\"" : err.text);
        goto done;
    }

    *offset = json_is_null(next) ? -1 : json_integer_value(next);
    rc = 0;

    json_array_foreach(routes, i, route) {
        if (strangler_cli_plan_read(p, url, route) != 0) {
            rc = 2;
            break;
        }
    }

done:

    json_decref(j);
    free(body.data);

    return rc;
}


static size_t
strangler_cli_plan_write(char *ptr, size_t size, size_t n, void *data)
{
    char                      *p;
    strangler_cli_plan_buf_t  *b;

    b = data;
    n *= size;

    if (b->len + n > STRANGLER_CLI_PLAN_MAX) {
        return 0;
    }

    p = realloc(b->data, b->len + n + 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p + b->len, ptr, n);
    b->data = p;
    b->len += n;
    b->data[b->len] = '\0';

    return n;
}


/* a route of a host's plan, added to the same route of other hosts */

static int
strangler_cli_plan_read(strangler_cli_plan_t *p, const char *url,
    json_t *route)
{
    int                          s;
    json_t                      *rd, *ev, *stage;
    const char                  *name;
    strangler_plan_evidence_t    one;
    strangler_cli_plan_route_t  *pr;

    name = json_string_value(json_object_get(route, "route"));
    ev = json_object_get(route, "evidence");
    rd = json_object_get(route, "readiness");

    if (name == NULL || !json_is_object(ev) || !json_is_object(rd)) {
        fprintf(stderr, "strangler plan: %s: a route without a name, "
                "evidence or readiness\n", url);
        return -1;
    }

    if (p->only && strcmp(p->only, name) != 0) {
        return 0;
    }

    memset(&one, 0, sizeof(strangler_plan_evidence_t));
    strangler_cli_plan_evidence(ev, &one);
    one.requests = strangler_cli_plan_u64(route, "requests");

    stage = json_object_get(route, "stage");
    s = json_is_string(stage)
        ? strangler_stage_parse(json_string_value(stage),
                                json_string_length(stage))
        : -1;

    if (s < 0) {
        fprintf(stderr, "strangler plan: %s: route \"%s\": unknown "
                "stage\n", url, name);
        return -1;
    }

    one.stage = (strangler_stage_t) s;

    pr = strangler_cli_plan_find(p, name);
    if (pr == NULL) {
        return -1;
    }

    if (pr->hosts++ == 0) {
        pr->ev = one;
        pr->readiness.min_compared = strangler_cli_plan_u64(rd,
                                                           "min_compared");
        pr->readiness.max_differences = strangler_cli_plan_u64(rd,
                                                        "max_differences");
        pr->readiness.max_error_ratio = json_number_value(
                                     json_object_get(rd, "max_error_ratio"));
        pr->readiness.max_latency_ratio = json_number_value(
                                   json_object_get(rd, "max_latency_ratio"));
        pr->readiness.quiet = (int64_t) strangler_cli_plan_u64(rd, "quiet");

    } else {
        strangler_plan_add(&pr->ev, &one);
    }

    if (strangler_cli_plan_fields(pr, json_object_get(ev, "fields")) != 0) {
        fprintf(stderr, "strangler plan: out of memory\n");
        return -1;
    }

    pr->ev.fields = pr->fields;
    pr->ev.nfields = pr->nfields;

    return 0;
}


static void
strangler_cli_plan_evidence(json_t *j, strangler_plan_evidence_t *ev)
{
    json_t  *w;

    ev->split = json_is_true(json_object_get(j, "split"));
    ev->has_new_side = json_is_true(json_object_get(j, "has_new_side"));
    ev->compared = strangler_cli_plan_u64(j, "compared");
    ev->noise_compared = strangler_cli_plan_u64(j, "noise_compared");
    ev->noise_relative_ppm = (uint32_t) strangler_cli_plan_u64(j,
                                                   "noise_relative_ppm");
    ev->noise_absolute_ppm = (uint32_t) strangler_cli_plan_u64(j,
                                                   "noise_absolute_ppm");

    w = json_object_get(j, "writes");
    ev->writes_compared = strangler_cli_plan_u64(w, "compared");
    ev->writes_mismatched = strangler_cli_plan_u64(w, "mismatched");

    strangler_cli_plan_side(json_object_get(j, "legacy"),
                            &ev->side[STRANGLER_SIDE_LEGACY]);
    strangler_cli_plan_side(json_object_get(j, "new"),
                            &ev->side[STRANGLER_SIDE_NEW]);

    ev->guard_tripped = (int64_t) strangler_cli_plan_u64(j, "guard_tripped");
    ev->reads_since = (int64_t) strangler_cli_plan_u64(j, "reads_since");
    ev->now = (int64_t) strangler_cli_plan_u64(j, "now");
}


static void
strangler_cli_plan_side(json_t *j, strangler_plan_side_t *side)
{
    size_t   k;
    json_t  *b, *v;

    side->requests = strangler_cli_plan_u64(j, "requests");
    side->errors = strangler_cli_plan_u64(j, "5xx");

    b = json_object_get(j, "time_buckets");

    json_array_foreach(b, k, v) {
        if (k < STRANGLER_TIME_NBUCKETS && json_is_integer(v)
            && json_integer_value(v) > 0)
        {
            side->time_bucket[k] = (uint64_t) json_integer_value(v);
        }
    }
}


/* the fields of one host, merged by path into the route's */

static int
strangler_cli_plan_fields(strangler_cli_plan_route_t *pr, json_t *fields)
{
    size_t                   i, k;
    json_t                  *f;
    int64_t                  t;
    const char              *path;
    strangler_plan_field_t  *pf, *more;

    json_array_foreach(fields, i, f) {
        path = json_string_value(json_object_get(f, "path"));

        if (path == NULL) {
            continue;
        }

        for (k = 0; k < pr->nfields; k++) {
            if (strcmp(pr->fields[k].path, path) == 0) {
                break;
            }
        }

        if (k == pr->nfields) {
            more = realloc(pr->fields, (k + 1) * sizeof(*more));
            if (more == NULL) {
                return -1;
            }

            pr->fields = more;
            memset(&more[k], 0, sizeof(*more));
            more[k].path = strdup(path);

            if (more[k].path == NULL) {
                return -1;
            }

            pr->nfields++;
        }

        pf = &pr->fields[k];
        pf->differences += strangler_cli_plan_u64(f, "differences");
        pf->noise += strangler_cli_plan_u64(f, "noise");

        /* a field is new to the fleet once: on the first host it was */
        t = (int64_t) strangler_cli_plan_u64(f, "first");

        if (t && (pf->first == 0 || t < pf->first)) {
            pf->first = t;
        }
    }

    return 0;
}


static strangler_cli_plan_route_t *
strangler_cli_plan_find(strangler_cli_plan_t *p, const char *name)
{
    size_t                       k;
    strangler_cli_plan_route_t  *more;

    for (k = 0; k < p->nroutes; k++) {
        if (strcmp(p->routes[k].name, name) == 0) {
            return &p->routes[k];
        }
    }

    if (p->nroutes == p->nalloc) {
        p->nalloc = p->nalloc ? 2 * p->nalloc : 64;
        more = realloc(p->routes,
                       p->nalloc * sizeof(strangler_cli_plan_route_t));

        if (more == NULL) {
            fprintf(stderr, "strangler plan: out of memory\n");
            return NULL;
        }

        p->routes = more;
    }

    memset(&p->routes[p->nroutes], 0, sizeof(strangler_cli_plan_route_t));
    p->routes[p->nroutes].name = strdup(name);

    if (p->routes[p->nroutes].name == NULL) {
        fprintf(stderr, "strangler plan: out of memory\n");
        return NULL;
    }

    return &p->routes[p->nroutes++];
}


static int
strangler_cli_plan_cmp(const void *a, const void *b)
{
    int                                c;
    strangler_plan_key_t               ka, kb;
    const strangler_cli_plan_route_t  *ra, *rb;

    ra = a;
    rb = b;

    strangler_plan_key(&ra->v, &ra->ev, &ka);
    strangler_plan_key(&rb->v, &rb->ev, &kb);

    c = strangler_plan_order(&ka, &kb);

    return c ? c : strcmp(ra->name, rb->name);
}


/* the API's shape, with the summed evidence */

static json_t *
strangler_cli_plan_json(strangler_cli_plan_route_t *pr)
{
    char                        text[STRANGLER_PLAN_TEXT_LEN];
    size_t                      k, i;
    json_t                     *reasons, *fields, *side[STRANGLER_SIDE_COUNT];
    json_t                     *buckets;
    strangler_plan_evidence_t  *ev;

    ev = &pr->ev;
    reasons = json_array();
    fields = json_array();

    for (k = 0; k < pr->v.nreasons; k++) {
        json_array_append_new(reasons,
            json_pack("{s:s, s:s}",
                      "code", strangler_plan_code_name(pr->v.reason[k].code),
                      "text", strangler_plan_text(&pr->v.reason[k], text,
                                                  sizeof(text))));
    }

    for (k = 0; k < ev->nfields; k++) {
        json_array_append_new(fields,
            json_pack("{s:s, s:I, s:I, s:o}",
                      "path", ev->fields[k].path,
                      "differences", (json_int_t) ev->fields[k].differences,
                      "noise", (json_int_t) ev->fields[k].noise,
                      "first", ev->fields[k].first
                               ? json_integer(ev->fields[k].first)
                               : json_null()));
    }

    for (k = 0; k < STRANGLER_SIDE_COUNT; k++) {
        buckets = json_array();

        for (i = 0; i < STRANGLER_TIME_NBUCKETS; i++) {
            json_array_append_new(buckets,
                             json_integer(ev->side[k].time_bucket[i]));
        }

        side[k] = json_pack("{s:I, s:I, s:o, s:o, s:o}",
                            "requests", (json_int_t) ev->side[k].requests,
                            "5xx", (json_int_t) ev->side[k].errors,
                            "error_share", pr->v.error_share[k] >= 0
                                ? json_real(pr->v.error_share[k])
                                : json_null(),
                            "p99_ms", pr->v.p99_ms[k] >= 0
                                ? json_integer(pr->v.p99_ms[k])
                                : json_null(),
                            "time_buckets", buckets);
    }

    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:I, s:i,"
                     " s:{s:I, s:I, s:f, s:f, s:I},"
                     " s:{s:b, s:b, s:I, s:I, s:i, s:i, s:I,"
                     " s:{s:I, s:I}, s:o, s:o, s:o, s:o, s:o, s:I}}",
                     "route", pr->name,
                     "stage", strangler_stage_name(ev->stage),
                     "next", strangler_step_name(pr->v.next),
                     "ready", pr->v.is_ready,
                     "reasons", reasons,
                     "requests", (json_int_t) ev->requests,
                     "hosts", (int) pr->hosts,
                     "readiness",
                       "min_compared",
                         (json_int_t) pr->readiness.min_compared,
                       "max_differences",
                         (json_int_t) pr->readiness.max_differences,
                       "max_error_ratio", pr->readiness.max_error_ratio,
                       "max_latency_ratio", pr->readiness.max_latency_ratio,
                       "quiet", (json_int_t) pr->readiness.quiet,
                     "evidence",
                       "split", ev->split,
                       "has_new_side", ev->has_new_side,
                       "compared", (json_int_t) ev->compared,
                       "noise_compared", (json_int_t) ev->noise_compared,
                       "noise_relative_ppm", (int) ev->noise_relative_ppm,
                       "noise_absolute_ppm", (int) ev->noise_absolute_ppm,
                       "difference_fields", (json_int_t) pr->v.differences,
                       "writes",
                         "compared", (json_int_t) ev->writes_compared,
                         "mismatched", (json_int_t) ev->writes_mismatched,
                       "fields", fields,
                       "legacy", side[STRANGLER_SIDE_LEGACY],
                       "new", side[STRANGLER_SIDE_NEW],
                       "guard_tripped", ev->guard_tripped
                           ? json_integer(ev->guard_tripped) : json_null(),
                       "reads_since", ev->reads_since
                           ? json_integer(ev->reads_since) : json_null(),
                       "now", (json_int_t) ev->now);
}


static void
strangler_cli_plan_print(strangler_cli_plan_t *p)
{
    char                         text[STRANGLER_PLAN_TEXT_LEN];
    size_t                       k, i, w;
    strangler_cli_plan_route_t  *pr;

    w = 5;

    for (k = 0; k < p->nroutes; k++) {
        if (strlen(p->routes[k].name) > w) {
            w = strlen(p->routes[k].name);
        }
    }

    printf("%-*s  %-9s  %-6s  %-5s  %10s\n", (int) w, "ROUTE", "STAGE",
           "NEXT", "READY", "REQUESTS");

    /* a route a line, its reasons under it */

    for (k = 0; k < p->nroutes; k++) {
        pr = &p->routes[k];

        if (pr->v.next == STRANGLER_STEP_NONE) {
            continue;
        }

        printf("%-*s  %-9s  %-6s  %-5s  %10llu\n", (int) w, pr->name,
               strangler_stage_name(pr->ev.stage),
               strangler_step_name(pr->v.next),
               pr->v.is_ready ? "yes" : "no",
               (unsigned long long) pr->ev.requests);

        for (i = 0; i < pr->v.nreasons; i++) {
            printf("  %s: %s\n",
                   strangler_plan_code_name(pr->v.reason[i].code),
                   strangler_plan_text(&pr->v.reason[i], text,
                                       sizeof(text)));
        }
    }
}


static uint64_t
strangler_cli_plan_u64(json_t *obj, const char *key)
{
    json_t  *v;

    v = json_object_get(obj, key);

    return (json_is_integer(v) && json_integer_value(v) > 0)
           ? (uint64_t) json_integer_value(v) : 0;
}
