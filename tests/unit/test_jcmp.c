
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The streaming JSON comparer on its own: strings by what they stand for,
 * numbers by exact value, repeated keys by occurrence, objects whose keys
 * come in another order, bodies fed a byte at a time and compared in
 * slices, no slice longer than its budget whatever the shape, and what is
 * not JSON.
 */


#include <stdlib.h>

#include "unit.h"
#include "strangler_compare.h"
#include "strangler_json.h"     /* a run's work */


/* a then b compared whole, or fed step bytes at a time in slices */

static size_t
cmp(const char *a, const char *b, size_t step, strangler_diffs_t *d)
{
    int                 rc;
    size_t              na, nb, alen, blen;
    strangler_jcmp_t   *jc;
    strangler_shadow_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.enabled = 1;
    conf.compare = STRANGLER_COMPARE_JSON;

    d->count = 0;
    jc = strangler_jcmp_create(&conf, d);

    alen = strlen(a);
    blen = strlen(b);
    na = step ? 0 : alen;
    nb = step ? 0 : blen;

    for ( ;; ) {
        strangler_jcmp_feed(jc, 0, a, na, na == alen);
        strangler_jcmp_feed(jc, 1, b, nb, nb == blen);

        rc = strangler_jcmp_run(jc, step ? step : (size_t) -1);

        if (rc == STRANGLER_JCMP_DONE) {
            break;
        }

        if (rc == STRANGLER_JCMP_MORE) {
            na = na + step < alen ? na + step : alen;
            nb = nb + step < blen ? nb + step : blen;
        }
    }

    strangler_jcmp_destroy(jc);

    return d->count;
}


static void
test_strings(void)
{
    strangler_diffs_t  d;

    UNIT_CHECK(cmp("[\"\\u00e9\",\"\\ud83d\\ude00\",\"a\\/b\\n\"]",
                   "[\"\xc3\xa9\",\"\xf0\x9f\x98\x80\",\"a/b\\u000a\"]", 0, &d)
               == 0, "escapes and what they stand for");

    UNIT_CHECK(cmp("{\"\\u00e9t\\u00e9\":1,\"x\":2}",
                   "{\"x\":2,\"\xc3\xa9t\xc3\xa9\":1}", 0, &d) == 0,
               "an escaped key by key");

    UNIT_CHECK(cmp("[\"a\\tb\"]", "[\"a\\u0009c\"]", 0, &d) == 1,
               "another string");
    UNIT_STR_EQ(d.diff[0].primary, "\"a\\tb\"");
    UNIT_STR_EQ(d.diff[0].shadow, "\"a\\tc\"");

    UNIT_CHECK(cmp("[\"\\ud800\"]", "[\"x\"]", 0, &d) == 1
               && strcmp(d.diff[0].path, "body") == 0,
               "a lone surrogate is not JSON");

    UNIT_CHECK(cmp("{\"a\\u0000\":1}", "{\"a\":1}", 0, &d) == 1
               && strcmp(d.diff[0].path, "body") == 0,
               "a NUL in a key is not JSON");
}


static void
test_numbers(void)
{
    strangler_diffs_t  d;

    UNIT_CHECK(cmp("[1, 1.0, 1e0, 10e-1, -0, 0.0e5, 123456789012345678901]",
                   "[1.00, 1, 100e-2, 1, 0, -0, 1.23456789012345678901e20]",
                   0, &d) == 0, "one value, many spellings");

    UNIT_CHECK(cmp("[0.1, 9007199254740993]",
                   "[0.10000000000000001, 9007199254740992.0]", 0, &d) == 2,
               "exact values, not doubles");
    UNIT_STR_EQ(d.diff[0].shadow, "0.10000000000000001");

    UNIT_CHECK(cmp("[1.5e+3]", "[1500.1]", 0, &d) == 1, "shown as written");
    UNIT_STR_EQ(d.diff[0].primary, "1.5e+3");
}


static void
test_keys(void)
{
    strangler_diffs_t  d;

    UNIT_CHECK(cmp("{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}", 0, &d) == 0,
               "a repeated key, the same");

    UNIT_CHECK(cmp("{\"a\":1,\"a\":2,\"b\":3}", "{\"b\":3,\"a\":2}", 0, &d)
               == 2, "a repeated key pairs by occurrence");
    UNIT_STR_EQ(d.diff[0].path, "$.a");
    UNIT_STR_EQ(d.diff[0].primary, "1");
    UNIT_STR_EQ(d.diff[0].shadow, "2");
    UNIT_CHECK(d.diff[1].shadow_absent, "the second $.a: none there");

    UNIT_CHECK(cmp("{\"x\":{\"p\":1,\"q\":[1,{\"r\":2}]},\"y\":3}",
                   "{\"y\":4,\"x\":{\"q\":[1,{\"r\":5}],\"p\":1}}", 0, &d)
               == 2, "objects by key, nested");
    UNIT_STR_EQ(d.diff[0].path, "$.x.q[1].r");
    UNIT_STR_EQ(d.diff[1].path, "$.y");

    UNIT_CHECK(cmp("{\"a\":{\"k\":[1, 2]}}", "{\"b\":{}}", 0, &d) == 2,
               "a key on one side only shows its value compact");
    UNIT_STR_EQ(d.diff[0].primary, "{\"k\":[1,2]}");
}


static void
test_pieces(void)
{
    size_t             i, step[] = { 1, 2, 7, 64 };
    strangler_diffs_t  whole, d;
    const char        *a, *b;

    a = "{\"id\":123456789012345678901,\"name\":\"Zo\\u00eb\",\"items\":"
        "[{\"id\":1,\"tags\":[\"a\",\"b\"]},{\"id\":2,\"n\":true}],"
        "\"meta\":{\"ts\":\"2026\",\"req\":\"x\"}}";
    b = "{\"name\":\"Zo\xc3\xab\",\"id\":1.23456789012345678901e20,"
        "\"items\":[{\"tags\":[\"a\",\"c\"],\"id\":1},{\"id\":2,\"n\":null}],"
        "\"meta\":{\"req\":\"y\",\"ts\":\"2026\"}}";

    UNIT_CHECK(cmp(a, b, 0, &whole) == 3, "whole: three differences");

    for (i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
        UNIT_CHECK(cmp(a, b, step[i], &d) == whole.count,
                   "fed %zu bytes at a time", step[i]);
        UNIT_CHECK(memcmp(d.diff, whole.diff,
                          whole.count * sizeof(strangler_diff_t)) == 0,
                   "the same differences, %zu bytes at a time", step[i]);
    }

    UNIT_CHECK(cmp("{\"a\":[1,2", "{\"a\":[1,2]}", 3, &d) == 1
               && strcmp(d.diff[0].path, "body") == 0,
               "cut short: not JSON, compared whole as bytes");
    UNIT_STR_EQ(d.diff[0].primary, "{\"a\":[1,2");
}


static void
test_slices(void)
{
    int                 rc;
    char               *a, *b;
    size_t              i, n, runs;
    strangler_jcmp_t   *jc;
    strangler_diffs_t   d;
    strangler_shadow_t  conf;

    /* 1 MB of short strings: a few slices of 512 KB of work */

    n = 1024 * 1024;
    a = malloc(n + 1);
    b = malloc(n + 1);
    memset(a, ' ', n);
    a[0] = '[';

    for (i = 1; i + 8 < n; i += 8) {
        memcpy(a + i, "\"abcde\",", 8);
    }

    memcpy(a + i, "1]", 2);
    a[i + 2] = '\0';
    memcpy(b, a, n + 1);
    b[n / 2 + 1 - (n / 2 + 1) % 8 + 3] = 'X';

    memset(&conf, 0, sizeof(conf));
    conf.compare = STRANGLER_COMPARE_JSON;
    d.count = 0;

    jc = strangler_jcmp_create(&conf, &d);
    strangler_jcmp_feed(jc, 0, a, strlen(a), 1);
    strangler_jcmp_feed(jc, 1, b, strlen(b), 1);

    for (runs = 1; (rc = strangler_jcmp_run(jc, STRANGLER_JCMP_SLICE))
                   == STRANGLER_JCMP_AGAIN; runs++)
    {
        /* void */
    }

    strangler_jcmp_destroy(jc);

    UNIT_CHECK(rc == STRANGLER_JCMP_DONE && runs >= 3 && runs <= 12,
               "1 MB in %zu slices", runs);
    UNIT_CHECK(d.count == 1 && d.diff[0].path[0] == '$', "one difference");
    UNIT_CHECK(strlen(d.diff[0].shadow) == 7
               && strchr(d.diff[0].shadow, 'X') != NULL,
               "the string that differs: %s", d.diff[0].shadow);

    free(a);
    free(b);
}


static void
test_depth(void)
{
    char               a[5000], b[5000];
    size_t             n;
    strangler_diffs_t  d;

    /* 2,048 values deep is JSON, 2,049 is not (jansson's limit) */

    for (n = 2048; n <= 2049; n++) {
        memset(a, '[', n - 1);
        a[n - 1] = '1';
        memset(a + n, ']', n - 1);
        a[2 * n - 1] = '\0';
        memcpy(b, a, sizeof(a));
        b[n - 1] = '2';

        UNIT_CHECK(cmp(a, b, 0, &d) == 1, "%zu deep: one difference", n);
        UNIT_CHECK((strcmp(d.diff[0].path, "body") == 0) == (n > 2048),
                   "%zu deep: %s", n, d.diff[0].path);
    }
}


/*
 * The shapes that once ran in one step (pairing an `unordered` array,
 * reading an object whose keys come in another order, skipping an
 * ignored or one-sided subtree): with a budget of 2 KB, no run does much
 * more than its budget, and the differences are those of one long run.
 */

static void
test_bounded_one(const char *name, const char *a, const char *b,
    const char *ignore, const char *unordered, size_t ndiffs)
{
    int                 rc;
    size_t              i, runs, max, budget;
    strangler_str_t     ign, uno;
    strangler_jcmp_t   *jc;
    strangler_diffs_t   whole, d;
    strangler_shadow_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.compare = STRANGLER_COMPARE_JSON;
    ign.data = ignore;
    ign.len = ignore ? strlen(ignore) : 0;
    uno.data = unordered;
    uno.len = unordered ? strlen(unordered) : 0;
    conf.ignore.items = &ign;
    conf.ignore.n = (ignore != NULL);
    conf.unordered.items = &uno;
    conf.unordered.n = (unordered != NULL);

    budget = 2048;

    for (i = 0; i < 2; i++) {
        d.count = 0;
        jc = strangler_jcmp_create(&conf, &d);
        strangler_jcmp_feed(jc, 0, a, strlen(a), 1);
        strangler_jcmp_feed(jc, 1, b, strlen(b), 1);

        for (runs = 1, max = 0; /* void */ ; runs++) {
            rc = strangler_jcmp_run(jc, i ? budget : (size_t) -1);
            max = jc->work > max ? jc->work : max;

            if (rc != STRANGLER_JCMP_AGAIN) {
                break;
            }
        }

        strangler_jcmp_destroy(jc);

        if (i == 0) {
            whole = d;
            UNIT_CHECK(rc == STRANGLER_JCMP_DONE && d.count == ndiffs,
                       "%s: %zu differences", name, d.count);
            continue;
        }

        UNIT_CHECK(rc == STRANGLER_JCMP_DONE && runs > 10
                   && max <= budget + 256,
                   "%s: %zu runs, at most %zu work each", name, runs, max);
        UNIT_CHECK(d.count == whole.count
                   && (d.count == 0
                       || strcmp(d.diff[0].path, whole.diff[0].path) == 0),
                   "%s: the same differences in slices", name);
    }
}


static void
test_bounded(void)
{
    char    *a, *b;
    size_t   i, k, n, m, size;

    size = 256 * 1024;
    a = malloc(size);
    b = malloc(size);

    /* 300 objects in reverse order, one differs */

    n = sprintf(a, "{\"items\":[");
    m = sprintf(b, "{\"items\":[");

    for (i = 0; i < 300; i++) {
        k = 299 - i;
        n += sprintf(a + n, "%s{\"id\":%zu,\"v\":\"xxxxxxxx\"}",
                     i ? "," : "", i);
        m += sprintf(b + m, "%s{\"id\":%zu,\"v\":\"xxxxxxx%c\"}",
                     i ? "," : "", k, k == 150 ? 'y' : 'x');
    }

    sprintf(a + n, "]}");
    sprintf(b + m, "]}");
    test_bounded_one("unordered", a, b, NULL, "$.items", 1);

    /* 3,000 keys in reverse order, one value differs */

    n = sprintf(a, "{");
    m = sprintf(b, "{");

    for (i = 0; i < 3000; i++) {
        k = 2999 - i;
        n += sprintf(a + n, "%s\"k%zu\":%zu", i ? "," : "", i, i);
        m += sprintf(b + m, "%s\"k%zu\":%zu", i ? "," : "", k,
                     k + (k == 1500));
    }

    sprintf(a + n, "}");
    sprintf(b + m, "}");
    test_bounded_one("reordered", a, b, NULL, NULL, 1);

    /* an ignored array of 20,000 numbers, each different */

    n = sprintf(a, "{\"blob\":[");
    m = sprintf(b, "{\"blob\":[");

    for (i = 0; i < 20000; i++) {
        n += sprintf(a + n, "%s%zu", i ? "," : "", i);
        m += sprintf(b + m, "%s%zu", i ? "," : "", i + 1);
    }

    sprintf(a + n, "],\"v\":1}");
    sprintf(b + m, "],\"v\":2}");
    test_bounded_one("ignored", a, b, "$.blob", NULL, 1);

    /* the same array against a number: skipped on one side */

    sprintf(b, "{\"blob\":7,\"v\":1}");
    test_bounded_one("one-sided", a, b, NULL, NULL, 1);

    free(a);
    free(b);
}


int
main(void)
{
    test_strings();
    test_numbers();
    test_keys();
    test_pieces();
    test_slices();
    test_bounded();
    test_depth();

    return unit_report("test_jcmp");
}
