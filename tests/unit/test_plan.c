
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Unit tests of the readiness plan: the `readiness` block (defaults, a
 * route's own keys, errors), the rules on evidence made here (each reason
 * and its text), the order, and the sum of several hosts' evidence.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strangler_plan.h"
#include "unit.h"


#define TABLE                                                                 \
    "version: 1\n"                                                            \
    "default: monolith\n"                                                     \
    "backends: { monolith: {}, messages: {} }\n"


static strangler_errors_t  errs;


static strangler_table_t *
load(const char *yaml)
{
    return strangler_table_load_buffer("routes.yaml", yaml, strlen(yaml),
                                       &errs);
}


static const char *
text(const strangler_plan_verdict_t *v, strangler_plan_code_t code)
{
    size_t       k;
    static char  buf[STRANGLER_PLAN_TEXT_LEN];

    for (k = 0; k < v->nreasons; k++) {
        if (v->reason[k].code == code) {
            return strangler_plan_text(&v->reason[k], buf, sizeof(buf));
        }
    }

    return NULL;
}


static void
test_block(void)
{
    strangler_table_t  *t;

    t = load(TABLE "routes:\n  - name: r\n    paths: [/r]\n");
    UNIT_CHECK(t != NULL, "a table without readiness loads");

    if (t) {
        UNIT_CHECK(t->routes[0].readiness.min_compared == 1000
                   && t->routes[0].readiness.max_differences == 0
                   && t->routes[0].readiness.max_error_ratio == 1.0
                   && t->routes[0].readiness.max_latency_ratio == 1.5
                   && t->routes[0].readiness.quiet == 3600,
                   "the defaults");
        strangler_table_free(t);
    }

    /* the table's block after the routes still applies to them */
    t = load(TABLE "routes:\n"
             "  - name: r\n    paths: [/r]\n"
             "    readiness: { quiet: 90s, max_latency_ratio: 2 }\n"
             "  - name: s\n    paths: [/s]\n"
             "readiness: { min_compared: 5, quiet: 2d,"
             " max_error_ratio: 0.5 }\n");
    UNIT_CHECK(t != NULL, "readiness at both levels loads: %s",
               errs.count ? errs.text[0] : "");

    if (t) {
        UNIT_CHECK(t->routes[0].readiness.quiet == 90
                   && t->routes[0].readiness.max_latency_ratio == 2
                   && t->routes[0].readiness.min_compared == 5
                   && t->routes[0].readiness.max_error_ratio == 0.5,
                   "a route's keys, the table's for the rest");
        UNIT_CHECK(t->routes[1].readiness.quiet == 2 * 86400,
                   "a route without a block: the table's");
        strangler_table_free(t);
    }

    t = load(TABLE "readiness: { quiet: 1w, min_compared: -1,"
             " max_latency_ratio: 1e3, max_differences: x }\n"
             "routes: []\n");
    UNIT_CHECK(t == NULL && errs.count == 4, "four bad values: %zu",
               errs.count);
    UNIT_STR_EQ(errs.text[0], "routes.yaml:4:39: readiness.min_compared "
                "must be an integer from 0 to 1000000000000");
    UNIT_STR_EQ(errs.text[3], "routes.yaml:4:21: readiness.quiet must be a "
                "duration up to 366d, such as 90s, 30m, 1h or 2d");

    t = load(TABLE "readiness: [1]\nroutes: []\n");
    UNIT_CHECK(t == NULL && errs.count == 1, "not a mapping");
}


static void
evidence(strangler_plan_evidence_t *ev, strangler_stage_t stage)
{
    memset(ev, 0, sizeof(strangler_plan_evidence_t));
    ev->stage = stage;
    ev->has_new_side = 1;
    ev->compared = 2000;
    ev->noise_relative_ppm = STRANGLER_NOISE_RELATIVE_PPM;
    ev->noise_absolute_ppm = STRANGLER_NOISE_ABSOLUTE_PPM;
    ev->side[0].requests = 1000;
    ev->side[1].requests = 1000;
    ev->side[0].time_bucket[3] = 1000;     /* 25 .. 50 ms */
    ev->side[1].time_bucket[3] = 1000;
    ev->now = 1000000;
}


static void
test_rules(void)
{
    strangler_readiness_t      rd;
    strangler_plan_field_t     f[2];
    strangler_plan_verdict_t   v;
    strangler_plan_evidence_t  ev;

    strangler_readiness_default(&rd);

    evidence(&ev, STRANGLER_STAGE_SHADOWING);
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.next == STRANGLER_STEP_READS && v.is_ready,
               "shadowing, all well: reads, ready");

    ev.compared = 412;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_TOO_FEW_COMPARED),
                "412 compared of 1,000");

    /* $.total differs in 2.1% of copies, its noise 0.1% */
    evidence(&ev, STRANGLER_STAGE_SHADOWING);
    ev.noise_compared = 1000;
    f[0].path = "$.total";
    f[0].differences = 42;
    f[0].noise = 1;
    f[0].first = ev.now - 30;
    f[1].path = "$.ts";                    /* noise: as often on both */
    f[1].differences = 2000;
    f[1].noise = 1000;
    f[1].first = ev.now - 10;
    ev.fields = f;
    ev.nfields = 2;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(!v.is_ready && v.differences == 1, "one difference");
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_DIFFERENCES),
                "$.total differs in 2.1% of copies, noise 0.1%");
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_NOT_QUIET),
                "$.total first differed 30 s ago, quiet is 1 h");

    rd.max_differences = 1;
    rd.quiet = 20;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.is_ready, "one difference allowed, and quiet for 20 s");
    strangler_readiness_default(&rd);

    /* 5xx: 1.2% against 0.3%; none on the legacy side: any is over */
    evidence(&ev, STRANGLER_STAGE_SHADOWING);
    ev.side[0].errors = 3;
    ev.side[1].errors = 12;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_ERRORS),
                "new side 5xx 1.2% vs legacy 0.3%");
    rd.max_error_ratio = 4;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.is_ready, "4 times the legacy's 5xx share allowed");
    ev.side[0].errors = 0;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(text(&v, STRANGLER_PLAN_ERRORS) != NULL,
               "5xx on the new side only: over any ratio");
    strangler_readiness_default(&rd);

    /* p99: 250 .. 500 ms against 25 .. 50 ms */
    evidence(&ev, STRANGLER_STAGE_SHADOWING);
    ev.side[1].time_bucket[3] = 0;
    ev.side[1].time_bucket[6] = 1000;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_LATENCY),
                "new side p99 498 ms vs legacy 50 ms (at most 1.5x)");

    /* within the first bucket: not judged */
    evidence(&ev, STRANGLER_STAGE_SHADOWING);
    ev.side[0].time_bucket[3] = 0;
    ev.side[0].time_bucket[0] = 1000;
    ev.side[1].time_bucket[3] = 0;
    ev.side[1].time_bucket[0] = 1000;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.is_ready, "p99 under 5 ms on both sides: no latency");

    evidence(&ev, STRANGLER_STAGE_SHADOWING);
    ev.guard_tripped = ev.now - 18 * 60;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_GUARD_TRIPPED),
                "guard tripped 18 min ago");
    ev.guard_tripped = ev.now - 3601;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.is_ready, "a trip older than quiet");

    /* the owner: reads moved for quiet, writes that agree */
    evidence(&ev, STRANGLER_STAGE_READS);
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.next == STRANGLER_STEP_OWNER && !v.is_ready,
               "reads, since when unknown: not ready");
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_READS_NOT_MOVED),
                "reads are not on the new side everywhere");
    ev.reads_since = ev.now - 40;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_READS_NOT_MOVED),
                "reads on the new side for 40 s of 1 h");
    ev.reads_since = ev.now - 3600;
    ev.writes_compared = 40;
    ev.writes_mismatched = 3;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.nreasons == 1, "only the writes");
    UNIT_STR_EQ(text(&v, STRANGLER_PLAN_WRITE_DIFFERENCES),
                "shadowed writes (dry-run) differ in 3 of 40 copies");
    ev.writes_mismatched = 0;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.is_ready, "ready to move the owner");

    ev.split = 1;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.next == STRANGLER_STEP_READS && v.is_ready,
               "a split: finish the reads first");

    evidence(&ev, STRANGLER_STAGE_LEGACY);
    ev.compared = 0;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.next == STRANGLER_STEP_SHADOW && v.is_ready,
               "legacy with a new service: shadow");
    ev.has_new_side = 0;
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(!v.is_ready && v.reason[0].code == STRANGLER_PLAN_NO_NEW_SIDE,
               "legacy alone: no new side");

    evidence(&ev, STRANGLER_STAGE_OWNED);
    strangler_plan_judge(&rd, &ev, &v);
    UNIT_CHECK(v.next == STRANGLER_STEP_NONE && !v.is_ready, "owned: none");
}


static void
test_order_and_sum(void)
{
    strangler_plan_key_t       a, b;
    strangler_plan_evidence_t  sum, ev;

    a.is_ready = 1;
    a.next = STRANGLER_STEP_OWNER;
    a.requests = 5;
    b = a;
    b.next = STRANGLER_STEP_READS;
    b.requests = 100;
    UNIT_CHECK(strangler_plan_order(&b, &a) < 0, "reads before owners");
    b.next = STRANGLER_STEP_SHADOW;
    UNIT_CHECK(strangler_plan_order(&a, &b) < 0, "owners before shadows");
    b.next = STRANGLER_STEP_OWNER;
    UNIT_CHECK(strangler_plan_order(&a, &b) < 0, "least traffic first");
    b.is_ready = 0;
    b.requests = 1;
    UNIT_CHECK(strangler_plan_order(&a, &b) < 0, "ready first");

    evidence(&sum, STRANGLER_STAGE_READS);
    sum.reads_since = 100;
    sum.guard_tripped = 50;
    evidence(&ev, STRANGLER_STAGE_SHADOWING);
    ev.reads_since = 0;
    ev.guard_tripped = 70;
    ev.side[1].errors = 4;
    strangler_plan_add(&sum, &ev);
    UNIT_CHECK(sum.stage == STRANGLER_STAGE_SHADOWING
               && sum.compared == 4000 && sum.side[1].requests == 2000
               && sum.side[1].errors == 4 && sum.side[1].time_bucket[3] == 2000
               && sum.guard_tripped == 70 && sum.reads_since == 0,
               "the sum: least moved stage, counts added, latest trip");
}


int
main(void)
{
    char         buf[64];
    const char  *p;

    test_block();
    test_rules();
    test_order_and_sum();

    UNIT_CHECK(strangler_plan_json_str(buf, sizeof(buf), "a\"b\\\x01\xff", 6)
               == 20, "a JSON string");
    p = buf;
    UNIT_STR_EQ(p, "\"a\\\"b\\\\\\u0001\\ufffd\"");

    return unit_report("plan");
}
