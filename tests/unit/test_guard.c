
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Unit tests of guards: the `guard` block of a route (every key, defaults,
 * every error with its line and column), the judgement of a window and the
 * p99 from the histogram's buckets.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strangler_guard.h"
#include "unit.h"


/* one route, owner monolith, reads messages; its guard is on line 10 */
#define ROUTE                                                                 \
    "version: 1\n"                                                            \
    "default: monolith\n"                                                     \
    "backends:\n"                                                             \
    "  monolith: {}\n"                                                        \
    "  messages: {}\n"                                                        \
    "routes:\n"                                                               \
    "  - name: r\n"                                                           \
    "    paths: [/r]\n"                                                       \
    "    reads: messages\n"

#define SHADOW  "    shadow: { compare: json }\n"


static strangler_errors_t  errs;


static strangler_table_t *
load(const char *yaml)
{
    return strangler_table_load_buffer("routes.yaml", yaml, strlen(yaml),
                                       &errs);
}


static void
print_errors(void)
{
    size_t  i;

    for (i = 0; i < errs.count && i < STRANGLER_MAX_ERRORS; i++) {
        fprintf(stderr, "    %s\n", errs.text[i]);
    }
}


static void
test_valid(void)
{
    strangler_table_t        *t;
    const strangler_guard_t  *g;

    /* the example, with a shadow for mismatch_rate */

    t = load(ROUTE SHADOW
             "    guard: { error_rate: 1%, mismatch_rate: 2%, "
             "latency_p99: 250ms, window: 10s, min_requests: 50, "
             "failures: 2 }\n");

    UNIT_CHECK(t != NULL, "the issue's example loads");

    if (t == NULL) {
        print_errors();
        return;
    }

    g = &t->routes[0].guard;
    UNIT_CHECK(g->enabled && !g->dry_run, "enabled");
    UNIT_CHECK(g->error_ppm == 10000, "error_rate 1%%: %d ppm", g->error_ppm);
    UNIT_CHECK(g->mismatch_ppm == 20000, "mismatch_rate 2%%: %d ppm",
               g->mismatch_ppm);
    UNIT_CHECK(g->latency_p99_ms == 250, "latency_p99: %d",
               g->latency_p99_ms);
    UNIT_CHECK(g->window_ms == 10000, "window: %u", g->window_ms);
    UNIT_CHECK(g->min_requests == 50, "min_requests: %u", g->min_requests);
    UNIT_CHECK(g->failures == 2, "failures: %u", g->failures);
    strangler_table_free(t);

    /* only window and one limit: defaults for the rest */

    t = load(ROUTE "    guard:\n      window: 1m\n      error_rate: 0.5%\n"
             "      dry_run: true\n");
    UNIT_CHECK(t != NULL, "block style loads");

    if (t) {
        g = &t->routes[0].guard;
        UNIT_CHECK(g->error_ppm == 5000, "0.5%%: %d", g->error_ppm);
        UNIT_CHECK(g->mismatch_ppm == -1 && g->latency_p99_ms == -1,
                   "unset limits are -1");
        UNIT_CHECK(g->window_ms == 60000, "1m: %u", g->window_ms);
        UNIT_CHECK(g->min_requests == STRANGLER_GUARD_MIN_REQUESTS
                   && g->failures == STRANGLER_GUARD_FAILURES, "defaults");
        UNIT_CHECK(g->dry_run, "dry_run");
        strangler_table_free(t);

    } else {
        print_errors();
    }

    /* other units and bounds */

    t = load(ROUTE "    guard: { latency_p99: 9999ms, window: 3600s, "
             "error_rate: 0%, failures: 100, min_requests: 1 }\n");
    UNIT_CHECK(t && t->routes[0].guard.window_ms == 3600000
               && t->routes[0].guard.latency_p99_ms == 9999
               && t->routes[0].guard.error_ppm == 0, "bounds");
    strangler_table_free(t);

    t = load(ROUTE "    guard: { error_rate: 100%, window: 1h }\n");
    UNIT_CHECK(t && t->routes[0].guard.error_ppm == 1000000
               && t->routes[0].guard.window_ms == 3600000, "100%%, 1h");
    strangler_table_free(t);

    /* a route without a guard */

    t = load(ROUTE);
    UNIT_CHECK(t && !t->routes[0].guard.enabled, "no guard");
    strangler_table_free(t);
}


typedef struct {
    int          line;
    const char  *yaml;
    const char  *want;
} error_case_t;


#define G(text)  ROUTE "    guard: " text "\n"
#define R  "routes.yaml:10:"

static const error_case_t  error_cases[] = {
    { __LINE__, G("{ error_rate: 1% }"),
      R "12: missing required key \"window\" in guard of "
      "route \"r\"" },
    { __LINE__, G("[1%]"),
      R "12: route \"r\": \"guard\" must be a mapping, such as "
      "{ error_rate: 1%, window: 10s }" },
    { __LINE__, G("{ window: 10s }"),
      R "12: route \"r\": guard watches nothing: set error_rate, "
      "mismatch_rate or latency_p99" },
    { __LINE__, G("{ error_rate: 1, window: 10s }"),
      R "26: route \"r\": guard.error_rate must be a percentage from 0% to "
      "100%, such as 1% or 0.5%" },
    { __LINE__, G("{ error_rate: 101%, window: 10s }"),
      R "26: route \"r\": guard.error_rate must be a percentage from 0% to "
      "100%, such as 1% or 0.5%" },
    { __LINE__, G("{ error_rate: -1%, window: 10s }"),
      R "26: route \"r\": guard.error_rate must be a percentage from 0% to "
      "100%, such as 1% or 0.5%" },
    { __LINE__, G("{ error_rate: \"%\", window: 10s }"),
      R "26: route \"r\": guard.error_rate must be a percentage from 0% to "
      "100%, such as 1% or 0.5%" },
    { __LINE__, G("{ mismatch_rate: 2%, window: 10s }"),
      R "29: route \"r\": guard.mismatch_rate needs a shadow that compares "
      "(shadow.compare other than off)" },
    { __LINE__, G("{ error_rate: 1%, window: 10 }"),
      R "38: route \"r\": guard.window must be a duration, such as 10s or "
      "1m" },
    { __LINE__, G("{ error_rate: 1%, window: 10sec }"),
      R "38: route \"r\": guard.window must be a duration, such as 10s or "
      "1m" },
    { __LINE__, G("{ error_rate: 1%, window: 1.5s }"),
      R "38: route \"r\": guard.window must be a duration, such as 10s or "
      "1m" },
    { __LINE__, G("{ error_rate: 1%, window: 999ms }"),
      R "38: route \"r\": guard.window must be from 1s to 1h" },
    { __LINE__, G("{ error_rate: 1%, window: 61m }"),
      R "38: route \"r\": guard.window must be from 1s to 1h" },
    { __LINE__, G("{ error_rate: 1%, window: [10s] }"),
      R "38: route \"r\": guard.window must be a duration, such as 10s or "
      "1m" },
    { __LINE__, G("{ latency_p99: 0ms, window: 10s }"),
      R "27: route \"r\": guard.latency_p99 must be a duration, such as "
      "250ms or 1s" },
    { __LINE__, G("{ latency_p99: 10s, window: 10s }"),
      R "27: route \"r\": guard.latency_p99 must be under 10s, the largest "
      "bucket of the upstream time histogram" },
    { __LINE__, G("{ latency_p99: 250, window: 10s }"),
      R "27: route \"r\": guard.latency_p99 must be a duration, such as "
      "250ms or 1s" },
    { __LINE__, G("{ error_rate: 1%, window: 10s, min_requests: 0 }"),
      R "57: route \"r\": guard.min_requests must be an integer from 1 to "
      "1000000000" },
    { __LINE__, G("{ error_rate: 1%, window: 10s, min_requests: 5x }"),
      R "57: route \"r\": guard.min_requests must be an integer from 1 to "
      "1000000000" },
    { __LINE__, G("{ error_rate: 1%, window: 10s, failures: 101 }"),
      R "53: route \"r\": guard.failures must be an integer from 1 to 100" },
    { __LINE__, G("{ error_rate: 1%, window: 10s, dry_run: yes }"),
      R "52: route \"r\": guard.dry_run must be true or false" },
    { __LINE__, G("{ error_rate: 1%, window: 10s, windows: 2 }"),
      R "43: unknown key \"windows\" in guard of route \"r\"" },
};


static void
test_errors(void)
{
    size_t               i;
    strangler_table_t   *t;
    const error_case_t  *c;

    for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        c = &error_cases[i];

        t = load(c->yaml);

        UNIT_CHECK(t == NULL, "case at line %d loaded", c->line);
        strangler_table_free(t);

        UNIT_CHECK(errs.count == 1, "case at line %d: %zu errors", c->line,
                   errs.count);

        UNIT_CHECK(errs.count && strcmp(errs.text[0], c->want) == 0,
                   "case at line %d:\n      got  %s\n      want %s",
                   c->line, errs.count ? errs.text[0] : "", c->want);

        if (errs.count != 1) {
            print_errors();
        }
    }
}


/* a guard with every limit: 1% errors, 2% mismatches, p99 250 ms, min 10 */

static void
guard_init(strangler_guard_t *g)
{
    memset(g, 0, sizeof(strangler_guard_t));

    g->enabled = 1;
    g->error_ppm = 10000;
    g->mismatch_ppm = 20000;
    g->latency_p99_ms = 250;
    g->window_ms = 1000;
    g->min_requests = 10;
    g->failures = 2;
}


static void
test_judge(void)
{
    strangler_guard_t         g;
    strangler_guard_window_t  w;
    strangler_guard_result_t  res;

    guard_init(&g);

    /* nothing: inconclusive, every figure unknown */

    memset(&w, 0, sizeof(w));
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_INCONCLUSIVE, "empty: %d",
               res.verdict);
    UNIT_CHECK(res.error_ppm == -1 && res.mismatch_ppm == -1
               && res.p99_ms == -1, "empty figures");

    /* below min_requests, all errors: still inconclusive */

    w.requests = 9;
    w.errors = 9;
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_INCONCLUSIVE,
               "9 requests < 10: %d", res.verdict);
    UNIT_CHECK(res.error_ppm == 1000000, "error rate is shown: %d",
               res.error_ppm);

    /* exactly at the limit passes, over it fails */

    w.requests = 100;
    w.errors = 1;
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_PASS && !res.error_over,
               "1%% of 100 at a 1%% limit passes");

    w.errors = 2;
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_FAIL && res.error_over,
               "2%% fails");
    UNIT_CHECK(res.error_ppm == 20000, "2%%: %d", res.error_ppm);

    /* mismatches are judged on the compared shadows, with their own min */

    w.errors = 0;
    w.compared = 5;
    w.mismatched = 5;
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_PASS && !res.mismatch_over,
               "5 compared < min_requests: not judged");

    w.compared = 50;
    w.mismatched = 2;
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_FAIL && res.mismatch_over
               && res.mismatch_ppm == 40000, "4%% mismatched fails");

    /* latency: 400 ms responses against 250 ms */

    memset(&w, 0, sizeof(w));
    w.requests = 20;
    w.time_bucket[6] = 20;          /* (250, 500] */
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_FAIL && res.latency_over
               && !res.error_over, "p99 %d ms over 250", res.p99_ms);

    w.time_bucket[6] = 0;
    w.time_bucket[5] = 20;          /* (100, 250] */
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_PASS, "p99 %d ms",
               res.p99_ms);

    /* a limit left out is never judged; 0% fails on one error */

    g.latency_p99_ms = -1;
    w.time_bucket[5] = 0;
    w.time_bucket[11] = 20;         /* +Inf */
    w.errors = 0;
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_PASS && !res.latency_over,
               "no latency limit");

    g.error_ppm = 0;
    w.errors = 1;
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_FAIL, "0%%: one error fails");

    g.error_ppm = 1000000;
    w.errors = 20;
    strangler_guard_judge(&g, &w, &res);
    UNIT_CHECK(res.verdict == STRANGLER_GUARD_PASS, "100%% never fails");

    UNIT_STR_EQ(strangler_guard_verdict_name(STRANGLER_GUARD_FAIL), "fail");
    UNIT_STR_EQ(strangler_guard_verdict_name(STRANGLER_GUARD_INCONCLUSIVE),
                "inconclusive");
}


static void
test_p99(void)
{
    uint64_t  b[STRANGLER_TIME_NBUCKETS];

    memset(b, 0, sizeof(b));
    UNIT_CHECK(strangler_guard_p99(b) == -1, "empty");

    /* as histogram_quantile(): 250 + 250 * 0.99 within (250, 500] */
    b[6] = 100;
    UNIT_CHECK(strangler_guard_p99(b) == 498, "got %d",
               strangler_guard_p99(b));

    /* 99 fast, 1 slow: rank 99 falls in the fast bucket */
    memset(b, 0, sizeof(b));
    b[0] = 99;
    b[7] = 1;
    UNIT_CHECK(strangler_guard_p99(b) == 5, "got %d", strangler_guard_p99(b));

    /* 98 fast, 2 slow: in the slow one, (500, 1000] */
    b[0] = 98;
    b[7] = 2;
    UNIT_CHECK(strangler_guard_p99(b) > 500 && strangler_guard_p99(b) <= 1000,
               "got %d", strangler_guard_p99(b));

    /* the +Inf bucket gives the last finite bound */
    memset(b, 0, sizeof(b));
    b[STRANGLER_TIME_NBUCKETS - 1] = 3;
    UNIT_CHECK(strangler_guard_p99(b) == STRANGLER_TIME_MAX_MS, "got %d",
               strangler_guard_p99(b));
}


int
main(void)
{
    test_valid();
    test_errors();
    test_judge();
    test_p99();

    return unit_report("test_guard");
}
