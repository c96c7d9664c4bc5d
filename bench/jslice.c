
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * How long one slice of the JSON comparer takes: the time of each
 * strangler_jcmp_run() with a budget (STRANGLER_JCMP_SLICE unless -b) on
 * the shapes that used to run in one step, each about 1 MB a side and
 * differing somewhere:
 *
 *   flat       {"total":N,"items":[{"id":I,...},...]}, one price differs
 *   reordered  one object of 20,000 keys, the other side's in reverse
 *              order, one value differs (the object is compared by key)
 *   unordered  {"items":[1024 objects of ~1 KB]}, `unordered` $.items,
 *              the other side's in reverse order, one value differs
 *   ignored    {"blob":{...1 MB of nested objects...},"v":1}, `ignore`
 *              $.blob, every number of the blob differs
 *   one-sided  {"items":[{"id":1},<1 MB of nested arrays>]} against
 *              {"items":[{"id":1}]}: the extra element is skipped
 *
 *   jslice [-b budget] [-r runs]
 *
 * For each shape: slices per comparison, the median and the 99th
 * percentile of the slices' times over all runs, the longest, and the
 * comparison's total, all in CPU time of the thread (a machine shared
 * with other work preempts it: wall time would count that too); a slice
 * is meant to take about 1 ms at most.
 */


#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strangler_compare.h"


#define DOC_MAX  (4 * 1024 * 1024)
#define ITEMS    1024


typedef struct {
    const char               *name;
    char                     *a;
    char                     *b;
    size_t                    alen;
    size_t                    blen;
    const char               *ignore;
    const char               *unordered;
} shape_t;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static size_t
flat(char *buf, int other)
{
    size_t  n, i, count;

    count = 10000;
    n = (size_t) sprintf(buf, "{\"total\":%zu,\"items\":[", count);

    for (i = 0; i < count; i++) {
        n += (size_t) sprintf(buf + n, "%s{\"id\":%zu,\"name\":\"item %zu\","
                              "\"price\":%g,\"tags\":[\"a\",\"b\",\"c\"],"
                              "\"note\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}",
                              i ? "," : "", i, i,
                              i * 1.5 + ((other && i == count / 2) ? 1 : 0));
    }

    return n + (size_t) sprintf(buf + n, "]}");
}


static size_t
reordered(char *buf, int other)
{
    size_t  n, i, k, count;

    count = 20000;
    n = (size_t) sprintf(buf, "{");

    for (k = 0; k < count; k++) {
        i = other ? count - 1 - k : k;
        n += (size_t) sprintf(buf + n, "%s\"key%06zu\":{\"v\":%zu,"
                              "\"s\":\"yyyyyyyyyyyyyyy\"}", k ? "," : "", i,
                              i + ((other && i == count / 2) ? 1 : 0));
    }

    return n + (size_t) sprintf(buf + n, "}");
}


static size_t
unordered(char *buf, int other)
{
    size_t  n, i, k, j;

    n = (size_t) sprintf(buf, "{\"items\":[");

    for (k = 0; k < ITEMS; k++) {
        i = other ? ITEMS - 1 - k : k;
        n += (size_t) sprintf(buf + n, "%s{\"id\":%zu,\"v\":%zu,\"list\":[",
                              k ? "," : "", i,
                              i + ((other && i == ITEMS / 2) ? 1 : 0));

        for (j = 0; j < 60; j++) {
            n += (size_t) sprintf(buf + n, "%s\"elem%04zu\"", j ? "," : "",
                                  j);
        }

        n += (size_t) sprintf(buf + n, "]}");
    }

    return n + (size_t) sprintf(buf + n, "]}");
}


static size_t
nested(char *buf, size_t n, int other)
{
    size_t  i, j;

    n += (size_t) sprintf(buf + n, "{");

    for (i = 0; i < 4000; i++) {
        n += (size_t) sprintf(buf + n, "%s\"n%zu\":{\"a\":[", i ? "," : "", i);

        for (j = 0; j < 20; j++) {
            n += (size_t) sprintf(buf + n, "%s%zu", j ? "," : "",
                                  i * j + (other ? 1 : 0));
        }

        n += (size_t) sprintf(buf + n, "],\"b\":{\"c\":\"zzzzzzzz\"}}");
    }

    return n + (size_t) sprintf(buf + n, "}");
}


static size_t
ignored(char *buf, int other)
{
    size_t  n;

    n = (size_t) sprintf(buf, "{\"blob\":");
    n = nested(buf, n, other);

    return n + (size_t) sprintf(buf + n, ",\"v\":1}");
}


static size_t
one_sided(char *buf, int other)
{
    size_t  n;

    n = (size_t) sprintf(buf, "{\"items\":[{\"id\":1}");

    if (!other) {
        n += (size_t) sprintf(buf + n, ",");
        n = nested(buf, n, 0);
    }

    return n + (size_t) sprintf(buf + n, "]}");
}


static void
run(const shape_t *sh, size_t budget, int runs)
{
    int                 r;
    double             *t, t0, t1, total, med, p99, max;
    size_t              n, nt, slices;
    strangler_str_t     ign, uno;
    strangler_jcmp_t   *jc;
    strangler_diffs_t   d;
    strangler_shadow_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.enabled = 1;
    conf.compare = STRANGLER_COMPARE_JSON;

    if (sh->ignore) {
        ign.data = sh->ignore;
        ign.len = strlen(sh->ignore);
        conf.ignore.items = &ign;
        conf.ignore.n = 1;
    }

    if (sh->unordered) {
        uno.data = sh->unordered;
        uno.len = strlen(sh->unordered);
        conf.unordered.items = &uno;
        conf.unordered.n = 1;
    }

    t = malloc(sizeof(double) * 1000000);
    nt = 0;
    total = 0;
    slices = 0;

    for (r = 0; r < runs; r++) {
        d.count = 0;
        jc = strangler_jcmp_create(&conf, &d);
        strangler_jcmp_feed(jc, 0, sh->a, sh->alen, 1);
        strangler_jcmp_feed(jc, 1, sh->b, sh->blen, 1);

        n = 0;
        t0 = now();

        for ( ;; ) {
            t1 = now();

            if (strangler_jcmp_run(jc, budget) != STRANGLER_JCMP_AGAIN) {
                t[nt++] = now() - t1;
                n++;
                break;
            }

            t[nt++] = now() - t1;
            n++;

            if (nt == 1000000) {
                nt--;
            }
        }

        total += now() - t0;
        slices = n;
        strangler_jcmp_destroy(jc);
    }

    qsort(t, nt, sizeof(double), cmp_double);

    med = t[nt / 2];
    p99 = t[nt * 99 / 100];
    max = t[nt - 1];

    printf("| %s | %zu | %zu | %zu | %.0f | %.0f | %.0f | %.1f |\n",
           sh->name, sh->alen + sh->blen, d.count, slices, med * 1e6,
           p99 * 1e6, max * 1e6, total / runs * 1e3);

    free(t);
}


int
main(int argc, char **argv)
{
    int       i, runs;
    size_t    budget, k;
    shape_t   sh[5];

    budget = STRANGLER_JCMP_SLICE;
    runs = 10;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-b") == 0) {
            budget = (size_t) atol(argv[i + 1]);

        } else if (strcmp(argv[i], "-r") == 0) {
            runs = atoi(argv[i + 1]);
        }
    }

    memset(sh, 0, sizeof(sh));

    sh[0].name = "flat";
    sh[1].name = "reordered";
    sh[2].name = "unordered";
    sh[2].unordered = "$.items";
    sh[3].name = "ignored";
    sh[3].ignore = "$.blob";
    sh[4].name = "one-sided";

    for (k = 0; k < 5; k++) {
        sh[k].a = malloc(DOC_MAX);
        sh[k].b = malloc(DOC_MAX);
    }

    sh[0].alen = flat(sh[0].a, 0);
    sh[0].blen = flat(sh[0].b, 1);
    sh[1].alen = reordered(sh[1].a, 0);
    sh[1].blen = reordered(sh[1].b, 1);
    sh[2].alen = unordered(sh[2].a, 0);
    sh[2].blen = unordered(sh[2].b, 1);
    sh[3].alen = ignored(sh[3].a, 0);
    sh[3].blen = ignored(sh[3].b, 1);
    sh[4].alen = one_sided(sh[4].a, 0);
    sh[4].blen = one_sided(sh[4].b, 1);

    printf("budget %zu, %d runs\n\n"
           "| shape | bytes | diffs | slices | median us | p99 us |"
           " max us | total ms |\n|---|---|---|---|---|---|---|---|\n",
           budget, runs);

    for (k = 0; k < 5; k++) {
        run(&sh[k], budget, runs);
    }

    return 0;
}
