
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The route core's lookup micro-benchmark: ns per strangler_table_match()
 * for tables of 10 to 100,000 routes, by the kind of pattern that matches
 * (literal, template, prefix, regex, and unmatched), the cost of
 * strangler_decide(), and the time and memory it takes to load a table.
 *
 *   lookup [-n 10,100,...] [-t ms] [FILE.yaml ...]
 *
 * Each FILE is loaded as nginx loads it (strangler_table_load_file: read,
 * SHA-256, parse, validate, index, JIT), its time and memory printed.
 *
 * The tables are built like bench/gen.py's, in groups of 50 routes under
 * /api/gK/, one path a route: literal /api/gK/rI[/items], template
 * /api/gK/tI/{id}[/comments] (N/5), prefix /api/gK/filesI/ * (N/20) and
 * regex "~ ^/api/gK/uI/[0-9]+/inbox$" (N/20, at least 2), one of which is
 * "~* ^/legacy/rI/[a-z0-9_]+\.php$": case-insensitive, it is tried on
 * every path that reaches the regexes.  More regexes than the HTTP
 * benchmark's "few", to show that a regex costs only the requests under
 * its literal prefix.
 *
 * A figure is the best of 5 runs of at least -t ms each (default 40): the
 * least disturbed by whatever else the machine does.
 */


#define _GNU_SOURCE

#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "strangler_table.h"


#define GROUP       50
#define NPATHS      4096
#define RUNS        5
#define LOADS       5


typedef enum {
    K_LITERAL = 0,
    K_TEMPLATE,
    K_PREFIX,
    K_REGEX,
    K_NONE,
    K_COUNT
} kind_t;


static const char  *kind_names[] = {
    "literal", "template", "prefix", "regex", "unmatched"
};

static const strangler_rule_t  kind_rules[] = {
    STRANGLER_RULE_EXACT, STRANGLER_RULE_TEMPLATE, STRANGLER_RULE_PREFIX,
    STRANGLER_RULE_REGEX, STRANGLER_RULE_DEFAULT
};


typedef struct {
    char      *data;
    size_t     len;
    size_t     cap;
} buf_t;


typedef struct {
    size_t     n;
    kind_t    *kinds;       /* per route */
    size_t    *by_kind[K_COUNT];
    size_t     nby_kind[K_COUNT];
    size_t     legacy;      /* the case-insensitive regex route */
} routes_t;


typedef struct {
    buf_t      text;
    size_t     off[NPATHS];
    size_t     len[NPATHS];
} paths_t;


static uint64_t  rnd_state = 88172645463325252ULL;
static double    min_ms = 40;
static volatile uintptr_t  sink;


static uint64_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;

    return rnd_state;
}


static double
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e9 + ts.tv_nsec;
}


static void
buf_printf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_printf(buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  args;

    for ( ;; ) {
        va_start(args, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, args);
        va_end(args);

        if (n >= 0 && (size_t) n < b->cap - b->len) {
            b->len += n;
            return;
        }

        b->cap = b->cap ? b->cap * 2 : 4096;
        b->data = realloc(b->data, b->cap);

        if (b->data == NULL) {
            fprintf(stderr, "lookup: out of memory\n");
            exit(2);
        }
    }
}


/* the kinds of N routes, shuffled, and the YAML table */

static void
routes_make(routes_t *rs, size_t n, buf_t *yaml)
{
    size_t   i, j, g, nregex, nprefix, ntemplate, r;
    kind_t   k, t;

    nregex = n / 20 > 2 ? n / 20 : 2;
    nprefix = n / 20 > 1 ? n / 20 : 1;
    ntemplate = n / 5 > 2 ? n / 5 : 2;

    rs->n = n;
    rs->legacy = 0;
    rs->kinds = malloc(n * sizeof(kind_t));

    for (k = 0; k < K_COUNT; k++) {
        rs->by_kind[k] = malloc(n * sizeof(size_t));
        rs->nby_kind[k] = 0;
    }

    for (i = 0; i < n; i++) {
        rs->kinds[i] = i < nregex ? K_REGEX
                       : i < nregex + nprefix ? K_PREFIX
                       : i < nregex + nprefix + ntemplate ? K_TEMPLATE
                       : K_LITERAL;
    }

    for (i = n - 1; i > 0; i--) {
        j = rnd() % (i + 1);
        t = rs->kinds[i];
        rs->kinds[i] = rs->kinds[j];
        rs->kinds[j] = t;
    }

    yaml->len = 0;
    buf_printf(yaml, "version: 1\ndefault: monolith\n"
               "backends: { monolith: {}, messages: {} }\nroutes:\n");

    r = 0;

    for (i = 0; i < n; i++) {
        g = i / GROUP;
        k = rs->kinds[i];

        rs->by_kind[k][rs->nby_kind[k]++] = i;

        buf_printf(yaml, "  - name: r%zu\n    paths: [\"", i);

        switch (k) {

        case K_LITERAL:
            buf_printf(yaml, "/api/g%zu/r%zu%s", g, i,
                       i % 2 ? "/items" : "");
            break;

        case K_TEMPLATE:
            buf_printf(yaml, "/api/g%zu/t%zu/{id}%s", g, i,
                       i % 2 ? "/comments" : "");
            break;

        case K_PREFIX:
            buf_printf(yaml, "/api/g%zu/files%zu/*", g, i);
            break;

        default:
            if (r++ == 0) {
                rs->legacy = i;
                buf_printf(yaml, "~* ^/legacy/r%zu/[a-z0-9_]+\\\\.php$", i);

            } else {
                buf_printf(yaml, "~ ^/api/g%zu/u%zu/[0-9]+/inbox$", g, i);
            }
        }

        buf_printf(yaml, "\"]\n    owner: %s\n",
                   i % 4 == 1 ? "messages" : "monolith");

        if (i % 4 == 0) {
            buf_printf(yaml, "    reads: messages\n");
        }
    }
}


static void
routes_free(routes_t *rs)
{
    kind_t  k;

    for (k = 0; k < K_COUNT; k++) {
        free(rs->by_kind[k]);
    }

    free(rs->kinds);
}


/* NPATHS request paths of one kind, spread over the routes of that kind */

static void
paths_make(paths_t *ps, const routes_t *rs, kind_t kind)
{
    size_t  i, r, g;

    ps->text.len = 0;

    for (i = 0; i < NPATHS; i++) {
        ps->off[i] = ps->text.len;

        if (kind == K_NONE) {
            r = rnd() % rs->n;
            g = r / GROUP;

            switch (rnd() % 3) {
            case 0:
                buf_printf(&ps->text, "/api/g%zu/none%zu/%u", g, r,
                           (unsigned) (rnd() % 1000000000));
                break;
            case 1:
                buf_printf(&ps->text, "/api/g%zu/r%zu/x/%u", g, r,
                           (unsigned) (rnd() % 1000000000));
                break;
            default:
                buf_printf(&ps->text, "/other/%u/page",
                           (unsigned) (rnd() % 1000000000));
            }

            ps->len[i] = ps->text.len - ps->off[i];
            continue;
        }

        r = rs->by_kind[kind][rnd() % rs->nby_kind[kind]];
        g = r / GROUP;

        switch (kind) {

        case K_LITERAL:
            buf_printf(&ps->text, "/api/g%zu/r%zu%s", g, r,
                       r % 2 ? "/items" : "");
            break;

        case K_TEMPLATE:
            buf_printf(&ps->text, "/api/g%zu/t%zu/%u%s", g, r,
                       (unsigned) (rnd() % 1000000000),
                       r % 2 ? "/comments" : "");
            break;

        case K_PREFIX:
            buf_printf(&ps->text, "/api/g%zu/files%zu/%u/img.png", g, r,
                       (unsigned) (rnd() % 1000000000));
            break;

        default:
            if (r == rs->legacy) {
                buf_printf(&ps->text, "/Legacy/r%zu/X%u.PHP", r,
                           (unsigned) (rnd() % 1000000000));

            } else {
                buf_printf(&ps->text, "/api/g%zu/u%zu/%u/inbox", g, r,
                           (unsigned) (rnd() % 1000000000));
            }
        }

        ps->len[i] = ps->text.len - ps->off[i];
    }
}


static void
paths_check(const strangler_table_t *t, const paths_t *ps, kind_t kind)
{
    size_t             i;
    strangler_match_t  m;

    for (i = 0; i < NPATHS; i++) {
        strangler_table_match(t, STRANGLER_M_GET, ps->text.data + ps->off[i],
                              ps->len[i], &m);

        if (m.rule != kind_rules[kind]) {
            fprintf(stderr, "lookup: %.*s: matched as %s, not %s\n",
                    (int) ps->len[i], ps->text.data + ps->off[i],
                    strangler_rule_name(m.rule), kind_names[kind]);
            exit(1);
        }
    }
}


/* ns per lookup: the best of RUNS runs of at least min_ms each */

static double
time_match(const strangler_table_t *t, const paths_t *ps)
{
    int                run;
    size_t             i, count;
    double             start, elapsed, best;
    uintptr_t          acc;
    strangler_match_t  m;

    best = 0;
    acc = 0;

    for (run = 0; run < RUNS; run++) {
        count = 0;
        start = now_ns();

        do {
            for (i = 0; i < NPATHS; i++) {
                strangler_table_match(t, STRANGLER_M_GET,
                                      ps->text.data + ps->off[i], ps->len[i],
                                      &m);
                acc += (uintptr_t) m.route;
            }

            count += NPATHS;
            elapsed = now_ns() - start;

        } while (elapsed < min_ms * 1e6);

        if (run == 0 || elapsed / count < best) {
            best = elapsed / count;
        }
    }

    sink = acc;

    return best;
}


static double
time_decide(const strangler_table_t *t, const paths_t *ps)
{
    int                   run;
    size_t                i, count;
    double                start, elapsed, best;
    uintptr_t             acc;
    strangler_match_t    *ms;
    strangler_request_t   req;
    strangler_decision_t  d;

    ms = malloc(NPATHS * sizeof(strangler_match_t));

    for (i = 0; i < NPATHS; i++) {
        strangler_table_match(t, STRANGLER_M_GET, ps->text.data + ps->off[i],
                              ps->len[i], &ms[i]);
    }

    memset(&req, 0, sizeof(req));
    req.method = STRANGLER_M_GET;

    best = 0;
    acc = 0;

    for (run = 0; run < RUNS; run++) {
        count = 0;
        start = now_ns();

        do {
            for (i = 0; i < NPATHS; i++) {
                req.random = (uint32_t) i * 2654435761u;
                req.shadow_random = req.random >> 7;
                strangler_decide(t, &ms[i], &req, &d);
                acc += d.backend;
            }

            count += NPATHS;
            elapsed = now_ns() - start;

        } while (elapsed < min_ms * 1e6);

        if (run == 0 || elapsed / count < best) {
            best = elapsed / count;
        }
    }

    sink = acc;
    free(ms);

    return best;
}


/*
 * strangler_request_read() and strangler_decide() after a literal match:
 * what the dispatcher adds to the match, with a request of 8 headers and
 * a query string read through the text accessor (the table's default
 * method_override list: 3 header lookups and an argument lookup a read)
 */

static double
time_read_decide(const strangler_table_t *t, const paths_t *ps)
{
    int                        run;
    size_t                     i, count;
    double                     start, elapsed, best;
    uintptr_t                  acc;
    strangler_match_t         *ms;
    strangler_request_t        req;
    strangler_decision_t       d;
    strangler_accessor_t       a;
    strangler_text_request_t   text;

    static const strangler_header_t  headers[] = {
        { { "Host", 4 }, { "api.example.com", 15 } },
        { { "User-Agent", 10 }, { "Mozilla/5.0", 11 } },
        { { "Accept", 6 }, { "application/json", 16 } },
        { { "Accept-Encoding", 15 }, { "gzip, br", 8 } },
        { { "Accept-Language", 15 }, { "en", 2 } },
        { { "Cookie", 6 }, { "session=abc; theme=dark", 23 } },
        { { "X-Request-Id", 12 }, { "7f3a9c", 6 } },
        { { "Connection", 10 }, { "keep-alive", 10 } },
    };

    ms = malloc(NPATHS * sizeof(strangler_match_t));

    for (i = 0; i < NPATHS; i++) {
        strangler_table_match(t, STRANGLER_M_GET, ps->text.data + ps->off[i],
                              ps->len[i], &ms[i]);
    }

    memset(&text, 0, sizeof(text));
    text.headers = headers;
    text.nheaders = sizeof(headers) / sizeof(headers[0]);
    text.args.data = "page=2&limit=50";
    text.args.len = 15;
    strangler_text_accessor(&text, &a);

    memset(&req, 0, sizeof(req));
    req.method = STRANGLER_M_GET;
    req.force_header.data = "X-Strangler-Backend";
    req.force_header.len = 19;

    best = 0;
    acc = 0;

    for (run = 0; run < RUNS; run++) {
        count = 0;
        start = now_ns();

        do {
            for (i = 0; i < NPATHS; i++) {
                req.random = (uint32_t) i * 2654435761u;
                req.shadow_random = req.random >> 7;
                strangler_request_read(t, &a, &ms[i], &req);
                strangler_decide(t, &ms[i], &req, &d);
                acc += d.backend;
            }

            count += NPATHS;
            elapsed = now_ns() - start;

        } while (elapsed < min_ms * 1e6);

        if (run == 0 || elapsed / count < best) {
            best = elapsed / count;
        }
    }

    sink = acc;
    free(ms);

    return best;
}


static size_t
heap_used(void)
{
    struct mallinfo2  mi;

    mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}


static long
rss_kb(void)
{
    long   pages, resident;
    FILE  *f;

    f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }

    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
        resident = 0;
    }

    fclose(f);

    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}


static long
maxrss_kb(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);

    return ru.ru_maxrss;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


/*
 * Loads a file LOADS times (the median and the best time) and once in a
 * fresh child for the memory: heap held by the table, RSS after the load
 * and peak RSS during it, each as a delta.
 */

static int
load_file(const char *path)
{
    int                  i, fd[2];
    long                 mem[3], rss0, max0;
    pid_t                pid;
    size_t               heap0;
    double               start, ms[LOADS];
    strangler_table_t   *t;
    strangler_errors_t   errs;

    if (pipe(fd) != 0) {
        return -1;
    }

    pid = fork();

    if (pid == 0) {
        close(fd[0]);
        heap0 = heap_used();
        rss0 = rss_kb();
        max0 = maxrss_kb();

        t = strangler_table_load_file(path, &errs);

        mem[0] = (long) (heap_used() - heap0);
        mem[1] = rss_kb() - rss0;
        mem[2] = maxrss_kb() - max0;

        if (t == NULL || write(fd[1], mem, sizeof(mem)) != sizeof(mem)) {
            _exit(1);
        }

        _exit(0);
    }

    close(fd[1]);

    if (read(fd[0], mem, sizeof(mem)) != sizeof(mem)) {
        mem[0] = mem[1] = mem[2] = -1;
    }

    close(fd[0]);
    waitpid(pid, NULL, 0);

    for (i = 0; i < LOADS; i++) {
        start = now_ns();
        t = strangler_table_load_file(path, &errs);
        ms[i] = (now_ns() - start) / 1e6;

        if (t == NULL) {
            fprintf(stderr, "lookup: %s: %s\n", path,
                    errs.count ? errs.text[0] : "cannot load");
            return -1;
        }

        strangler_table_free(t);
    }

    qsort(ms, LOADS, sizeof(double), cmp_double);

    printf("| %s | %.1f | %.1f | %.2f | %.1f | %.1f | %s |\n", path,
           ms[LOADS / 2], ms[0], mem[0] / 1048576.0, mem[1] / 1024.0,
           mem[2] / 1024.0, ms[LOADS / 2] < 100 ? "yes" : "NO");

    return 0;
}


int
main(int argc, char **argv)
{
    int                  i, opt;
    size_t               j;
    char                *list, *s;
    size_t               n, ns[16], nn;
    kind_t               k;
    buf_t                yaml;
    double               start, load_ms, ns_k[K_COUNT], ns_decide, ns_read,
                         ns_hot;
    size_t               heap0, heap;
    routes_t             rs;
    paths_t             *ps;
    strangler_table_t   *t;
    strangler_errors_t   errs;

    list = "10,100,1000,10000,100000";

    while ((opt = getopt(argc, argv, "n:t:")) != -1) {
        switch (opt) {
        case 'n':
            list = optarg;
            break;
        case 't':
            min_ms = atof(optarg);
            break;
        default:
            fprintf(stderr, "usage: lookup [-n 10,100,...] [-t ms] "
                    "[FILE.yaml ...]\n");
            return 2;
        }
    }

    nn = 0;
    list = strdup(list);

    for (s = strtok(list, ","); s && nn < 16; s = strtok(NULL, ",")) {
        ns[nn++] = strtoul(s, NULL, 10);
    }

    if (optind < argc) {
        printf("Loading a table as nginx does (read, SHA-256, parse, "
               "validate, index, JIT), %d times:\n\n", LOADS);
        printf("| file | median ms | best ms | heap MB | RSS MB "
               "| peak RSS MB | under 100 ms |\n");
        printf("|---|---:|---:|---:|---:|---:|---|\n");

        for (i = optind; i < argc; i++) {
            if (load_file(argv[i]) != 0) {
                return 1;
            }
        }

        printf("\n");
    }

    printf("ns per strangler_table_match(), by the kind of route that "
           "matches; 16 hot: 16 literal paths over and over, in the "
           "CPU cache; decide: strangler_decide() after a literal match; "
           "read + decide: strangler_request_read() first, of a request "
           "of 8 headers and a query string (the method overrides, the "
           "force header); "
           "load: strangler_table_load_buffer(); heap: what the table "
           "holds.\n\n");
    printf("| routes | literal | literal, 16 hot | template | prefix "
           "| regex | unmatched | decide | read + decide | load ms "
           "| heap MB |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    fflush(stdout);

    memset(&yaml, 0, sizeof(yaml));
    ps = calloc(1, sizeof(paths_t));
    ns_decide = 0;
    ns_read = 0;
    ns_hot = 0;

    for (i = 0; i < (int) nn; i++) {
        n = ns[i];

        routes_make(&rs, n, &yaml);

        heap0 = heap_used();
        start = now_ns();
        t = strangler_table_load_buffer("lookup.yaml", yaml.data, yaml.len,
                                        &errs);
        load_ms = (now_ns() - start) / 1e6;
        heap = heap_used() - heap0;

        if (t == NULL) {
            fprintf(stderr, "lookup: %s\n",
                    errs.count ? errs.text[0] : "cannot load");
            return 1;
        }

        for (k = 0; k < K_COUNT; k++) {
            paths_make(ps, &rs, k);
            paths_check(t, ps, k);
            ns_k[k] = time_match(t, ps);

            if (k != K_LITERAL) {
                continue;
            }

            ns_decide = time_decide(t, ps);
            ns_read = time_read_decide(t, ps);

            /* the same 16 paths over and over: in the cache */
            for (j = 16; j < NPATHS; j++) {
                ps->off[j] = ps->off[j % 16];
                ps->len[j] = ps->len[j % 16];
            }

            ns_hot = time_match(t, ps);
        }

        printf("| %zu | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f "
               "| %.0f | %.1f | %.1f |\n", n, ns_k[K_LITERAL], ns_hot,
               ns_k[K_TEMPLATE],
               ns_k[K_PREFIX], ns_k[K_REGEX], ns_k[K_NONE], ns_decide,
               ns_read, load_ms, heap / 1048576.0);
        fflush(stdout);

        strangler_table_free(t);
        routes_free(&rs);
    }

    free(ps->text.data);
    free(ps);
    free(yaml.data);
    free(list);

    return 0;
}
