
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The comparison of a response with its shadow: captured bodies (bounded,
 * hashed, gzip decoded), status, headers, bytes, JSON with ignore paths,
 * and the diff log line.
 */


#include <stdlib.h>
#include <zlib.h>

#include "unit.h"
#include "strangler_compare.h"


#define S(lit)  { lit, sizeof(lit) - 1 }


typedef struct {
    strangler_shadow_t    conf;
    strangler_body_t      pbody, sbody;
    strangler_response_t  primary, shadow;
    strangler_str_t       pheaders[4], sheaders[4];
    strangler_diffs_t     diffs;
} pair_t;


static void
pair_init(pair_t *t, strangler_compare_t how, strangler_str_t *ignore,
    size_t nignore, strangler_str_t *headers, size_t nheaders)
{
    memset(t, 0, sizeof(pair_t));

    t->conf.enabled = 1;
    t->conf.compare = how;
    t->conf.ignore.items = ignore;
    t->conf.ignore.n = nignore;
    t->conf.headers.items = headers;
    t->conf.headers.n = nheaders;

    t->primary.status = 200;
    t->shadow.status = 200;
    t->primary.headers = t->pheaders;
    t->shadow.headers = t->sheaders;
    t->primary.body = &t->pbody;
    t->shadow.body = &t->sbody;

    strangler_body_init(&t->pbody, 1024, 0);
    strangler_body_init(&t->sbody, 1024, 0);
}


static size_t
pair_compare(pair_t *t, const char *p, const char *s)
{
    strangler_body_add(&t->pbody, p, strlen(p));
    strangler_body_add(&t->sbody, s, strlen(s));
    strangler_body_end(&t->pbody);
    strangler_body_end(&t->sbody);

    return strangler_compare(&t->conf, &t->primary, &t->shadow, &t->diffs);
}


static void
pair_free(pair_t *t)
{
    strangler_body_free(&t->pbody);
    strangler_body_free(&t->sbody);
}


static size_t
json_diffs(strangler_str_t *ignore, size_t n, const char *a, const char *b,
    strangler_diffs_t *out)
{
    size_t  count;
    pair_t  t;

    pair_init(&t, STRANGLER_COMPARE_JSON, ignore, n, NULL, 0);
    count = pair_compare(&t, a, b);
    *out = t.diffs;
    pair_free(&t);

    return count;
}


static void
test_status_and_headers(void)
{
    pair_t           t;
    strangler_str_t  headers[] = { S("Content-Type"), S("ETag") };
    strangler_str_t  ignore[] = { S("header:etag") };

    pair_init(&t, STRANGLER_COMPARE_STATUS, ignore, 1, headers, 2);

    t.shadow.status = 503;
    t.pheaders[0] = (strangler_str_t) S("application/json");
    t.sheaders[0] = (strangler_str_t) S("text/html");
    t.pheaders[1] = (strangler_str_t) S("\"a\"");

    UNIT_CHECK(pair_compare(&t, "x", "y") == 2, "status and one header");
    UNIT_STR_EQ(t.diffs.diff[0].path, "status");
    UNIT_STR_EQ(t.diffs.diff[0].primary, "200");
    UNIT_STR_EQ(t.diffs.diff[0].shadow, "503");
    UNIT_STR_EQ(t.diffs.diff[1].path, "header:Content-Type");
    UNIT_STR_EQ(t.diffs.diff[1].shadow, "text/html");

    pair_free(&t);

    /* a header on one side only */

    pair_init(&t, STRANGLER_COMPARE_STATUS, NULL, 0, headers, 2);
    t.pheaders[1] = (strangler_str_t) S("\"a\"");

    UNIT_CHECK(pair_compare(&t, "", "") == 1, "absent header");
    UNIT_STR_EQ(t.diffs.diff[0].path, "header:ETag");
    UNIT_CHECK(!t.diffs.diff[0].primary_absent && t.diffs.diff[0].shadow_absent,
               "shadow has no ETag");

    pair_free(&t);
}


static void
test_bytes(void)
{
    pair_t  t;

    pair_init(&t, STRANGLER_COMPARE_BODY, NULL, 0, NULL, 0);
    UNIT_CHECK(pair_compare(&t, "same", "same") == 0, "same bytes");
    pair_free(&t);

    pair_init(&t, STRANGLER_COMPARE_BODY, NULL, 0, NULL, 0);
    UNIT_CHECK(pair_compare(&t, "", "") == 0, "two empty bodies");
    pair_free(&t);

    pair_init(&t, STRANGLER_COMPARE_BODY, NULL, 0, NULL, 0);
    UNIT_CHECK(pair_compare(&t, "abc", "abd") == 1, "short difference");
    UNIT_STR_EQ(t.diffs.diff[0].path, "body");
    UNIT_STR_EQ(t.diffs.diff[0].primary, "abc");
    UNIT_STR_EQ(t.diffs.diff[0].shadow, "abd");
    pair_free(&t);

    pair_init(&t, STRANGLER_COMPARE_BODY, NULL, 0, NULL, 0);
    UNIT_CHECK(pair_compare(&t, "0123456789abcdefghijklmnopqrstuvwxyz-one",
                            "0123456789abcdefghijklmnopqrstuvwxyz-two") == 1,
               "difference far in");
    UNIT_STR_EQ(t.diffs.diff[0].primary, "...lmnopqrstuvwxyz-one");
    UNIT_STR_EQ(t.diffs.diff[0].shadow, "...lmnopqrstuvwxyz-two");
    pair_free(&t);

    pair_init(&t, STRANGLER_COMPARE_BODY, NULL, 0, NULL, 0);
    UNIT_CHECK(pair_compare(&t, "", "x") == 1, "empty against one byte");
    UNIT_CHECK(!t.diffs.diff[0].primary_absent, "empty is a value");
    UNIT_STR_EQ(t.diffs.diff[0].primary, "");
    pair_free(&t);
}


static void
test_hashed(void)
{
    char    big[3000];
    pair_t  t;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    pair_init(&t, STRANGLER_COMPARE_JSON, NULL, 0, NULL, 0);
    UNIT_CHECK(pair_compare(&t, big, big) == 0, "same over the bound");
    UNIT_CHECK(t.pbody.sha != NULL && t.pbody.data == NULL,
               "kept no more than the bound");
    UNIT_CHECK(t.pbody.total == sizeof(big) - 1, "counted every byte");
    pair_free(&t);

    pair_init(&t, STRANGLER_COMPARE_BODY, NULL, 0, NULL, 0);
    big[2000] = 'b';
    strangler_body_add(&t.pbody, big, strlen(big));
    big[2000] = 'a';
    UNIT_CHECK(pair_compare(&t, "", big) == 1, "differs over the bound");
    UNIT_CHECK(strncmp(t.diffs.diff[0].primary, "(2999 bytes, sha256:", 20)
               == 0, "by digest: %s", t.diffs.diff[0].primary);
    pair_free(&t);

    strangler_body_init(&t.pbody, 0, 0);
    strangler_body_add(&t.pbody, "a", 1);
    strangler_body_add(&t.pbody, "bc", 2);
    strangler_body_end(&t.pbody);
    UNIT_STR_EQ(t.pbody.digest, "ba7816bf8f01cfea414140de5dae2223"
                                "b00361a396177a9cb410ff61f20015ad");
    strangler_body_free(&t.pbody);

    pair_init(&t, STRANGLER_COMPARE_BODY, NULL, 0, NULL, 0);
    UNIT_CHECK(pair_compare(&t, "short", big) == 1, "kept against hashed");
    UNIT_CHECK(strncmp(t.diffs.diff[0].primary, "(5 bytes, sha256:", 17)
               == 0, "summary: %s", t.diffs.diff[0].primary);
    pair_free(&t);
}


static size_t
gzip(const char *in, unsigned char *out, size_t size)
{
    z_stream  zs;

    memset(&zs, 0, sizeof(zs));
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);

    zs.next_in = (unsigned char *) in;
    zs.avail_in = (uInt) strlen(in);
    zs.next_out = out;
    zs.avail_out = (uInt) size;

    deflate(&zs, Z_FINISH);
    deflateEnd(&zs);

    return size - zs.avail_out;
}


static void
test_gzip(void)
{
    size_t             i, n;
    unsigned char      z[256];
    strangler_body_t   body;
    static const char  text[] = "{\"hello\": \"world\", \"n\": 1}";

    n = gzip(text, z, sizeof(z));

    /* decoded, fed a byte at a time */

    strangler_body_init(&body, 1024, 1);

    for (i = 0; i < n; i++) {
        strangler_body_add(&body, z + i, 1);
    }

    strangler_body_end(&body);

    UNIT_CHECK(body.error == NULL, "decodes: %s", body.error);
    UNIT_CHECK(body.len == strlen(text)
               && memcmp(body.data, text, body.len) == 0, "decoded text");
    strangler_body_free(&body);

    /* cut short */

    strangler_body_init(&body, 1024, 1);
    strangler_body_add(&body, z, n - 4);
    strangler_body_end(&body);
    UNIT_CHECK(body.error != NULL, "truncated gzip is an error");
    strangler_body_free(&body);

    /* not gzip at all */

    strangler_body_init(&body, 1024, 1);
    strangler_body_add(&body, "plain text", 10);
    strangler_body_end(&body);
    UNIT_CHECK(body.error != NULL, "bad gzip is an error");
    strangler_body_free(&body);

    /* empty: a HEAD response */

    strangler_body_init(&body, 1024, 1);
    strangler_body_end(&body);
    UNIT_CHECK(body.error == NULL && body.len == 0, "empty gzip body");
    strangler_body_free(&body);
}


static void
test_gzip_bomb(void)
{
    char              *zeros;
    size_t             n, size;
    unsigned char     *z;
    strangler_body_t   body;

    size = 8 * 1024 * 1024;
    zeros = malloc(size + 1);
    z = malloc(size);

    memset(zeros, '0', size);
    zeros[size] = '\0';

    n = gzip(zeros, z, size);

    strangler_body_init(&body, 1024, 1);
    strangler_body_add(&body, z, n);
    strangler_body_end(&body);

    UNIT_CHECK(body.error != NULL, "8 MB from %zu bytes: stopped", n);
    UNIT_CHECK(body.total <= 64 * 65536, "decoded %llu bytes at most",
               (unsigned long long) body.total);

    strangler_body_free(&body);
    free(zeros);
    free(z);
}


static void
test_json(void)
{
    strangler_diffs_t  d;
    strangler_str_t    ignore[] = { S("$.meta.request_id"),
                                    S("$.items[*].id"),
                                    S("$['odd.key']"),
                                    S("$.list[1]"),
                                    S("header:Date") };

    UNIT_CHECK(json_diffs(NULL, 0, "{\"a\":1,\"b\":[1,2]}",
                          " { \"b\" : [ 1 , 2 ] , \"a\" : 1 } ", &d) == 0,
               "key order and whitespace");

    UNIT_CHECK(json_diffs(NULL, 0, "[1, 1.0, 1e0, -0.5, 100]",
                          "[1.0, 1, 1, -5e-1, 1e2]", &d) == 0,
               "number spelling");

    UNIT_CHECK(json_diffs(NULL, 0, "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":2}}",
                          &d) == 1, "one leaf");
    UNIT_STR_EQ(d.diff[0].path, "$.a.b");
    UNIT_STR_EQ(d.diff[0].primary, "1");
    UNIT_STR_EQ(d.diff[0].shadow, "2");

    UNIT_CHECK(json_diffs(NULL, 0, "{\"a\":1}", "{\"b\":\"x\"}", &d) == 2,
               "a key on each side");
    UNIT_STR_EQ(d.diff[0].path, "$.a");
    UNIT_CHECK(d.diff[0].shadow_absent, "no $.a in the shadow");
    UNIT_STR_EQ(d.diff[1].path, "$.b");
    UNIT_CHECK(d.diff[1].primary_absent, "no $.b in the primary");
    UNIT_STR_EQ(d.diff[1].shadow, "\"x\"");

    UNIT_CHECK(json_diffs(NULL, 0, "[1,2,3]", "[1,2]", &d) == 1,
               "array length");
    UNIT_STR_EQ(d.diff[0].path, "$[2]");

    UNIT_CHECK(json_diffs(NULL, 0, "{\"a\":null}", "{\"a\":false}", &d) == 1,
               "types");

    UNIT_CHECK(json_diffs(ignore, 5,
                          "{\"meta\":{\"request_id\":\"1\",\"v\":1},"
                          "\"items\":[{\"id\":1,\"n\":\"a\"},{\"id\":2}],"
                          "\"odd.key\":1,\"list\":[0,1,2]}",
                          "{\"meta\":{\"request_id\":\"2\",\"v\":1},"
                          "\"items\":[{\"id\":7,\"n\":\"a\"},{\"id\":8}],"
                          "\"odd.key\":2,\"list\":[0,9,2]}", &d) == 0,
               "ignored paths");

    UNIT_CHECK(json_diffs(ignore, 5,
                          "{\"items\":[{\"id\":1,\"n\":\"a\"}]}",
                          "{\"items\":[{\"id\":2,\"n\":\"b\"}]}", &d) == 1,
               "ignored sibling, not the other");
    UNIT_STR_EQ(d.diff[0].path, "$.items[0].n");

    UNIT_CHECK(json_diffs(ignore, 5, "{\"meta\":{}}", "{}", &d) == 1,
               "an ignored path's parent still counts");

    UNIT_CHECK(json_diffs(NULL, 0, "{\"a b\":1}", "{\"a b\":2}", &d) == 1,
               "odd key");
    UNIT_STR_EQ(d.diff[0].path, "$['a b']");

    UNIT_CHECK(json_diffs(NULL, 0, "{\"a\":1}", "<html>oops</html>", &d) == 1,
               "not JSON on one side");
    UNIT_STR_EQ(d.diff[0].path, "body");
    UNIT_STR_EQ(d.diff[0].shadow, "<html>oops</html>");

    UNIT_CHECK(json_diffs(NULL, 0, "not json", "not json", &d) == 0,
               "the same text that is not JSON");
}


/* numbers beyond 64 bits or a double compare by value, not as bytes */

static void
test_json_big_numbers(void)
{
    strangler_diffs_t  d;

    UNIT_CHECK(json_diffs(NULL, 0, "{\"id\":12345678901234567890,\"n\":1}",
                          "{ \"n\": 1.0, \"id\": 12345678901234567890 }",
                          &d) == 0, "a 64-bit overflow, the same");

    UNIT_CHECK(json_diffs(NULL, 0, "{\"id\":12345678901234567890}",
                          "{\"id\":12345678901234567891}", &d) == 1,
               "a 64-bit overflow, another number");
    UNIT_STR_EQ(d.diff[0].path, "$.id");
    UNIT_STR_EQ(d.diff[0].primary, "1.234567890123456789e19");
    UNIT_STR_EQ(d.diff[0].shadow, "1.2345678901234567891e19");

    UNIT_CHECK(json_diffs(NULL, 0, "[1e400, -1E+400, 100, 0.5, 0, 1]",
                          "[10E399, -1e400, 1e2, 5e-1, -0.0e7, 1]", &d) == 0,
               "beyond a double: by value");

    UNIT_CHECK(json_diffs(NULL, 0, "[1e400, 7]", "[1e401, 7]", &d) == 1,
               "beyond a double, another number");
    UNIT_STR_EQ(d.diff[0].path, "$[0]");
    UNIT_STR_EQ(d.diff[0].primary, "1e400");
    UNIT_STR_EQ(d.diff[0].shadow, "1e401");

    UNIT_CHECK(json_diffs(NULL, 0, "[99999999999999999999, 2]",
                          "[99999999999999999999, 3]", &d) == 1,
               "another number next to a big one");
    UNIT_STR_EQ(d.diff[0].path, "$[1]");
    UNIT_STR_EQ(d.diff[0].primary, "2e0");
    UNIT_STR_EQ(d.diff[0].shadow, "3e0");

    /* a string is never taken for a number, even one that looks marked */

    UNIT_CHECK(json_diffs(NULL, 0, "[1e400, \"\\u0000#1e0\"]",
                          "[1e400, 1]", &d) == 1, "a string, not a number");
    UNIT_CHECK(json_diffs(NULL, 0, "[1e400, \"\\u0000#1e0\", \"x\"]",
                          "[1e400, \"\\u0000#1e0\", \"x\"]", &d) == 0,
               "the same string");

    /* what is not JSON still is not */

    UNIT_CHECK(json_diffs(NULL, 0, "[1e400, 1.2.3]", "[1e400, 1.2.4]", &d)
               == 1, "not JSON past the big number");
    UNIT_STR_EQ(d.diff[0].path, "body");
}


static size_t
unordered_diffs(strangler_str_t *unordered, size_t n, strangler_str_t *ignore,
    size_t nignore, const char *a, const char *b, strangler_diffs_t *out)
{
    size_t  count;
    pair_t  t;

    pair_init(&t, STRANGLER_COMPARE_JSON, ignore, nignore, NULL, 0);
    t.conf.unordered.items = unordered;
    t.conf.unordered.n = n;
    count = pair_compare(&t, a, b);
    *out = t.diffs;
    pair_free(&t);

    return count;
}


static void
test_unordered(void)
{
    strangler_diffs_t  d;
    strangler_str_t    items[] = { S("$.items") };
    strangler_str_t    nested[] = { S("$.groups[*].tags") };
    strangler_str_t    ts[] = { S("$.items[*].ts") };

    /* the same elements in another order: no difference */

    UNIT_CHECK(unordered_diffs(items, 1, NULL, 0,
                               "{\"items\":[1,{\"a\":2},\"x\",[3]]}",
                               "{\"items\":[\"x\",[3],1,{\"a\":2.0}]}",
                               &d) == 0, "a permutation");

    /* without `unordered` the order counts, one difference per index */

    UNIT_CHECK(json_diffs(NULL, 0, "{\"items\":[1,2,3]}",
                          "{\"items\":[3,1,2]}", &d) == 3, "ordered");

    /* multiplicity counts: [1,1,2] is not [1,2,2] */

    UNIT_CHECK(unordered_diffs(items, 1, NULL, 0, "{\"items\":[1,1,2]}",
                               "{\"items\":[2,1,2]}", &d) == 1,
               "a multiset, not a set");
    UNIT_STR_EQ(d.diff[0].path, "$.items[1]");
    UNIT_STR_EQ(d.diff[0].primary, "1");
    UNIT_STR_EQ(d.diff[0].shadow, "2");

    /* a length change is one difference, the arrays themselves */

    UNIT_CHECK(unordered_diffs(items, 1, NULL, 0, "{\"items\":[1,2,3]}",
                               "{\"items\":[3,2]}", &d) == 1,
               "a length change");
    UNIT_STR_EQ(d.diff[0].path, "$.items");
    UNIT_STR_EQ(d.diff[0].primary, "[1,2,3]");
    UNIT_STR_EQ(d.diff[0].shadow, "[3,2]");

    /* a changed element shows its changed field, the rest pair up */

    UNIT_CHECK(unordered_diffs(items, 1, NULL, 0,
                               "{\"items\":[{\"id\":1,\"n\":5},"
                               "{\"id\":2,\"n\":6}]}",
                               "{\"items\":[{\"id\":2,\"n\":6},"
                               "{\"id\":1,\"n\":7}]}", &d) == 1,
               "a changed element");
    UNIT_STR_EQ(d.diff[0].path, "$.items[0].n");

    /* ignore paths apply inside the elements while they pair up */

    UNIT_CHECK(unordered_diffs(items, 1, ts, 1,
                               "{\"items\":[{\"id\":1,\"ts\":10},"
                               "{\"id\":2,\"ts\":11}]}",
                               "{\"items\":[{\"id\":2,\"ts\":99},"
                               "{\"id\":1,\"ts\":98}]}", &d) == 0,
               "ignored fields inside unordered elements");

    /* a wildcard path, arrays inside arrays */

    UNIT_CHECK(unordered_diffs(nested, 1, NULL, 0,
                               "{\"groups\":[{\"tags\":[\"a\",\"b\"]},"
                               "{\"tags\":[\"c\"]}]}",
                               "{\"groups\":[{\"tags\":[\"b\",\"a\"]},"
                               "{\"tags\":[\"c\"]}]}", &d) == 0,
               "nested unordered arrays");

    /* a path naming no array, or a non-array there: compared as usual */

    UNIT_CHECK(unordered_diffs(items, 1, NULL, 0, "{\"items\":{\"a\":1}}",
                               "{\"items\":{\"a\":2}}", &d) == 1,
               "an object under an unordered path");
    UNIT_STR_EQ(d.diff[0].path, "$.items.a");
}


static void
test_field_fold(void)
{
    char    out[32];
    size_t  i;

    static const char  *cases[][2] = {
        { "$.items[3].id", "$.items[*].id" },
        { "$[0][12]", "$[*][*]" },
        { "$.a[*].b", "$.a[*].b" },
        { "$['a[0]'][2]", "$['a[0]'][*]" },
        { "$['it\\'s [1]'].x[7]", "$['it\\'s [1]'].x[*]" },
        { "$.a[1x]", "$.a[1x]" },
        { "$.a[", "$.a[" },
        { "status", "status" },
        { "header:X-A", "header:X-A" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strangler_field_fold(cases[i][0], strlen(cases[i][0]), out,
                             sizeof(out));
        UNIT_CHECK(strcmp(out, cases[i][1]) == 0, "got \"%s\", want \"%s\"",
                   out, cases[i][1]);
    }

    /* cut to fit, never a half-written "[*]" */

    UNIT_CHECK(strangler_field_fold("$.abcdef[1]", 11, out, 10) == 8,
               "cut");
    UNIT_CHECK(strcmp(out, "$.abcdef") == 0, "got \"%s\"", out);
    UNIT_CHECK(strangler_field_fold("$.a", 3, out, 1) == 0, "no room");
}


static void
test_field_name(void)
{
    char  out[64];

    strangler_field_key("header:X-Request-ID", 19, out, sizeof(out));
    UNIT_CHECK(strcmp(out, "header:x-request-id") == 0, "got %s", out);
    strangler_field_key("$.Items[2].ID", 13, out, sizeof(out));
    UNIT_CHECK(strcmp(out, "$.Items[*].ID") == 0, "got %s", out);
}


/* Diffy's rule, with the defaults: 20% relative, 0.03% absolute */

static int
verdict(uint64_t compared, uint64_t diffs, uint64_t ncompared,
    uint64_t noise)
{
    strangler_field_counts_t  c;

    c.compared = compared;
    c.differences = diffs;
    c.noise_compared = ncompared;
    c.noise = noise;

    return strangler_field_is_difference(&c, STRANGLER_NOISE_RELATIVE_PPM,
                                         STRANGLER_NOISE_ABSOLUTE_PPM);
}


static void
test_verdict(void)
{
    strangler_field_counts_t  c;

    UNIT_CHECK(verdict(10, 10, 10, 10) == 0, "differs as often as noise");
    UNIT_CHECK(verdict(10, 10, 1, 1) == 0, "same rates, fewer noise copies");
    UNIT_CHECK(verdict(10, 9, 10, 10) == 0, "less than noise");
    UNIT_CHECK(verdict(10, 5, 10, 0) == 1, "no noise at all");
    UNIT_CHECK(verdict(10, 5, 0, 0) == 1, "no noise copy yet");
    UNIT_CHECK(verdict(0, 0, 0, 0) == 0, "nothing compared");
    UNIT_CHECK(verdict(10, 0, 10, 5) == 0, "noise only");

    /* relative: 100% vs 90% is 10% apart, 100% vs 75% is 25% */

    UNIT_CHECK(verdict(10, 10, 10, 9) == 0, "within 20 pct of noise");
    UNIT_CHECK(verdict(100, 100, 100, 75) == 1, "over 20 pct of noise");
    UNIT_CHECK(verdict(100, 100, 100, 80) == 0, "at 20 pct: not over");

    /* absolute: 1 in 10,000 (0.01%) is under 0.03%, 1 in 1,000 over */

    UNIT_CHECK(verdict(10000, 1, 10000, 0) == 0, "under 0.03 pct");
    UNIT_CHECK(verdict(10000, 3, 10000, 0) == 0, "at 0.03 pct: not over");
    UNIT_CHECK(verdict(1000, 1, 1000, 0) == 1, "over 0.03 pct");

    /* thresholds of a route; big counts do not overflow */

    c.compared = 100;
    c.differences = 50;
    c.noise_compared = 100;
    c.noise = 30;
    UNIT_CHECK(strangler_field_is_difference(&c, 500000, 300) == 0,
               "relative 50 pct: 50 pct vs 30 pct is 40 pct apart");
    UNIT_CHECK(strangler_field_is_difference(&c, 300000, 300) == 1,
               "relative 30 pct");
    UNIT_CHECK(strangler_field_is_difference(&c, 0, 250000) == 0,
               "absolute 25 pct: 20 points apart");

    c.compared = UINT64_MAX / 2;
    c.differences = UINT64_MAX / 4;
    c.noise_compared = UINT64_MAX / 2;
    c.noise = 0;
    UNIT_CHECK(strangler_field_is_difference(&c, 200000, 300) == 1,
               "huge counts");
}


/* a noise-only request's log line names its noise fields, each once */

static void
test_format_noise(void)
{
    char                   buf[2048];
    strangler_diffs_t      d;
    strangler_diff_line_t  line;

    memset(&line, 0, sizeof(line));
    d.count = 0;
    strangler_diff_add(&d, "$.items[0].ts", "1", 1, "2", 1);
    strangler_diff_add(&d, "$.items[1].ts", "1", 1, "2", 1);
    strangler_diff_add(&d, "$.total", "1", 1, "2", 1);
    d.diff[0].noise = 1;
    d.diff[1].noise = 1;

    strangler_diff_format(buf, sizeof(buf), &line, &d);
    UNIT_CHECK(strstr(buf, "],\"noise\":[\"$.items[*].ts\"]}\n") != NULL,
               "noise list: %s", buf);

    d.diff[0].noise = 0;
    d.diff[1].noise = 0;
    strangler_diff_format(buf, sizeof(buf), &line, &d);
    UNIT_CHECK(strstr(buf, "\"noise\"") == NULL, "no noise list");
}


static void
test_many(void)
{
    char               a[4096], b[4096];
    size_t             i, n, m;
    strangler_diffs_t  d;

    n = m = 0;
    n += snprintf(a + n, sizeof(a) - n, "[");
    m += snprintf(b + m, sizeof(b) - m, "[");

    for (i = 0; i < 40; i++) {
        n += snprintf(a + n, sizeof(a) - n, "%s%zu", i ? "," : "", i);
        m += snprintf(b + m, sizeof(b) - m, "%s%zu", i ? "," : "", i + 1);
    }

    snprintf(a + n, sizeof(a) - n, "]");
    snprintf(b + m, sizeof(b) - m, "]");

    UNIT_CHECK(json_diffs(NULL, 0, a, b, &d) == 40, "all counted");
    UNIT_STR_EQ(d.diff[STRANGLER_DIFF_MAX - 1].path, "$[15]");
}


static void
test_truncation(void)
{
    char               a[1024], b[1024];
    strangler_diffs_t  d;

    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));

    /* a value of 2-byte characters cut to fit, never through one */

    strcpy(a, "[\"");
    strcpy(b, "[\"");

    while (strlen(a) < 600) {
        strcat(a, "\xc3\xa9");
        strcat(b, "\xc3\xa8");
    }

    strcat(a, "\"]");
    strcat(b, "\"]");

    UNIT_CHECK(json_diffs(NULL, 0, a, b, &d) == 1, "one long value");
    UNIT_CHECK(strlen(d.diff[0].primary) < STRANGLER_DIFF_VALUE_LEN,
               "truncated");
    UNIT_CHECK(strcmp(d.diff[0].primary + d.diff[0].primary_len - 3, "...")
               == 0, "ends in ...");
    UNIT_CHECK((d.diff[0].primary_len - 4) % 2 == 0,
               "whole characters: %zu", d.diff[0].primary_len);
}


static void
test_format(void)
{
    char                   buf[2048];
    size_t                 n;
    const char            *text;
    strangler_diffs_t      d;
    strangler_diff_line_t  line = {
        S("2024-05-01T10:00:00+00:00"), S("users"), S("GET"),
        S("/api/users/1?x=\"q\""), S("abc123"), S("monolith"),
        S("users"), 200, 500
    };

    memset(&d, 0, sizeof(d));

    strangler_diff_add(&d, "status", "200", 3, "500", 3);
    strangler_diff_add(&d, "body", "bin\x01\xff", 5, NULL, 0);

    n = strangler_diff_format(buf, sizeof(buf), &line, &d);

    UNIT_CHECK(n < sizeof(buf), "fits");
    buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
    text = buf;

    UNIT_STR_EQ(text,
        "{\"time\":\"2024-05-01T10:00:00+00:00\",\"route\":\"users\","
        "\"method\":\"GET\",\"uri\":\"/api/users/1?x=\\\"q\\\"\","
        "\"request_id\":\"abc123\","
        "\"primary\":{\"backend\":\"monolith\",\"status\":200},"
        "\"shadow\":{\"backend\":\"users\",\"status\":500},"
        "\"diffs\":[{\"path\":\"status\",\"primary\":\"200\","
        "\"shadow\":\"500\"},{\"path\":\"body\","
        "\"primary\":\"bin\\u0001\\u00ff\",\"shadow\":null}]}\n");

    /* too small a buffer: the length needed, nothing past the end */

    memset(buf, 'x', sizeof(buf));
    UNIT_CHECK(strangler_diff_format(buf, 10, &line, &d) == n,
               "length when cut");
    UNIT_CHECK(buf[10] == 'x', "no overflow");

    d.count = STRANGLER_DIFF_MAX + 3;
    n = strangler_diff_format(buf, sizeof(buf), &line, &d);
    UNIT_CHECK(n < sizeof(buf) && memcmp(buf + n - 12, "],\"more\":3}\n", 12)
               == 0, "more");
}


int
main(void)
{
    test_status_and_headers();
    test_bytes();
    test_hashed();
    test_gzip();
    test_gzip_bomb();
    test_json();
    test_json_big_numbers();
    test_unordered();
    test_field_fold();
    test_field_name();
    test_verdict();
    test_format_noise();
    test_many();
    test_truncation();
    test_format();

    return unit_report("test_compare");
}
