
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The JSON comparer's micro-benchmark: MB/s of the streaming comparer
 * (core/strangler_json_*.c) and, side by side, of the jansson comparer it
 * replaced (fuzz/ref_compare_json.c), on documents shaped like an API's
 * answer: {"total":N,"items":[{"id":I,"name":"item I","price":I*1.5,
 * "tags":["a","b","c"],"note":"xxxx..."},...]}, about 10 KB and 1 MB, the
 * second body differing from the first in one value (an item's price in
 * the middle of the array), and the same with that item's keys in
 * another order (the comparer then compares that object by key).  MB/s
 * counts the bytes of both bodies.  jansson runs as it did on the request
 * path: numbers as doubles, without the exact-decimal rewrite the fuzzer
 * gives it.
 *
 *   jcmp [-t ms]
 *
 * A figure is the best of 5 runs of at least -t ms each (default 40).
 */


#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strangler_compare.h"
#include "ref_compare.h"


#define RUNS  5


typedef void (*cmp_pt)(const strangler_shadow_t *conf,
    const strangler_body_t *a, const strangler_body_t *b,
    strangler_diffs_t *d);


static long  min_ms = 40;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static char *
doc(size_t size, int other, int reorder, size_t *len)
{
    char    *buf, item[256];
    size_t   n, i, count, diff;

    count = size / 100;
    diff = count / 2;
    buf = malloc(size * 2 + 1024);
    n = (size_t) sprintf(buf, "{\"total\":%zu,\"items\":[", count);

    for (i = 0; i < count; i++) {
        if (other && reorder && i == diff) {
            sprintf(item, "{\"note\":\"xxxxxxxxxxxxxxxxxxxx\",\"price\":%g,"
                    "\"tags\":[\"a\",\"b\",\"c\"],\"name\":\"item %zu\","
                    "\"id\":%zu}", i * 1.5 + 1, i, i);

        } else {
            sprintf(item, "{\"id\":%zu,\"name\":\"item %zu\",\"price\":%g,"
                    "\"tags\":[\"a\",\"b\",\"c\"],"
                    "\"note\":\"xxxxxxxxxxxxxxxxxxxx\"}", i, i,
                    i * 1.5 + ((other && i == diff) ? 1 : 0));
        }

        n += (size_t) sprintf(buf + n, "%s%s", i ? "," : "", item);
    }

    n += (size_t) sprintf(buf + n, "]}");
    *len = n;

    return buf;
}


static void
streaming(const strangler_shadow_t *conf, const strangler_body_t *a,
    const strangler_body_t *b, strangler_diffs_t *d)
{
    strangler_response_t  pa, pb;

    memset(&pa, 0, sizeof(pa));
    memset(&pb, 0, sizeof(pb));
    pa.body = (strangler_body_t *) a;
    pb.body = (strangler_body_t *) b;

    (void) strangler_compare(conf, &pa, &pb, d);
}


static double
measure(cmp_pt cmp, const strangler_shadow_t *conf, strangler_body_t *a,
    strangler_body_t *b, size_t *ndiffs)
{
    int                r;
    long               k, iters;
    double             t0, t, best;
    strangler_diffs_t  d;

    best = 1e9;

    for (r = 0; r < RUNS; r++) {
        iters = 0;
        t0 = now();

        do {
            for (k = 0; k < 4; k++) {
                d.count = 0;
                cmp(conf, a, b, &d);
            }

            iters += 4;
            t = now() - t0;

        } while (t * 1000 < min_ms);

        if (t / iters < best) {
            best = t / iters;
        }
    }

    *ndiffs = d.count;

    return best;
}


static void
body(strangler_body_t *b, const char *data, size_t len)
{
    strangler_body_init(b, len + 1, 0);
    strangler_body_add(b, data, len);
    strangler_body_end(b);
}


int
main(int argc, char **argv)
{
    int                 reorder;
    char               *x, *y;
    size_t              sizes[] = { 10 * 1024, 1024 * 1024 };
    size_t              i, xl, yl, ns, nj;
    double              ts, tj;
    strangler_body_t    a, b;
    strangler_shadow_t  conf;

    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        min_ms = atol(argv[2]);
    }

    ref_exact_numbers = 0;

    memset(&conf, 0, sizeof(conf));
    conf.enabled = 1;
    conf.compare = STRANGLER_COMPARE_JSON;

    printf("| document | bytes | streaming us | MB/s | jansson us | MB/s |"
           " x |\n|---|---|---|---|---|---|---|\n");

    for (reorder = 0; reorder <= 1; reorder++) {
        for (i = 0; i < 2; i++) {
            x = doc(sizes[i], 0, reorder, &xl);
            y = doc(sizes[i], 1, reorder, &yl);

            body(&a, x, xl);
            body(&b, y, yl);

            ts = measure(streaming, &conf, &a, &b, &ns);
            tj = measure(ref_compare_json, &conf, &a, &b, &nj);

            if (ns != 1 || nj != 1) {
                fprintf(stderr, "jcmp: %zu and %zu differences, not 1\n",
                        ns, nj);
                return 1;
            }

            printf("| %s %zu items%s | %zu | %.1f | %.0f | %.1f | %.0f |"
                   " %.1f |\n",
                   i ? "1 MB," : "10 KB,", sizes[i] / 100,
                   reorder ? ", one item's keys reordered" : "",
                   xl + yl, ts * 1e6, (xl + yl) / ts / 1e6, tj * 1e6,
                   (xl + yl) / tj / 1e6, tj / ts);

            strangler_body_free(&a);
            strangler_body_free(&b);
            free(x);
            free(y);
        }
    }

    return 0;
}
