
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Differential fuzz target: the streaming JSON comparer against the jansson
 * comparer it replaced (fuzz/ref_compare_json.c, the reference, kept here
 * only).  The input is a settings byte (ignore and unordered paths, how
 * the bodies are cut into pieces, whether the second body is the first
 * one re-serialised by jansson: other key order, spacing, escapes), then
 * the two bodies, split at the first 0xff byte.
 *
 * Checks: the same number of differences and, when all are kept, the same
 * set of paths; the same differences, values included, when the bodies
 * are fed in pieces and compared in small slices.  Bodies with a repeated
 * key are compared but not checked against the reference: jansson keeps
 * the last of the key's values, the streaming comparer pairs them by
 * occurrence (docs/shadowing.md); nor are bodies with a
 * raw NUL byte, which jansson drops after a number or a literal.
 */


#include <jansson.h>

#include "fuzz.h"
#include "strangler_compare.h"
#include "ref_compare.h"


static const char  *fuzz_ignore_pool[] = {
    "$.id", "$.meta.request_id", "$.items[*].id", "$['a key']", "$.a.b",
    "$[0]", "$.items[*]", "$.a[*].b[*]"
};

static const char  *fuzz_unordered_pool[] = {
    "$.items", "$[0]", "$.a[*].b", "$.items[*].tags"
};


static void fuzz_body(strangler_body_t *body, const char *data, size_t len);
static int fuzz_has_duplicates(const char *data, size_t len);
static char *fuzz_reserialise(const char *data, size_t len, size_t flags);
static void fuzz_pieces(const strangler_shadow_t *conf, const char *a,
    size_t alen, const char *b, size_t blen, size_t step,
    const strangler_diffs_t *whole);
static int fuzz_path_cmp(const void *a, const void *b);
static void fuzz_paths(const strangler_diffs_t *d, char (*out)[160]);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 *a, *b, *re;
    size_t                i, n, alen, blen;
    uint8_t               cfg, cfg2;
    strangler_str_t       ignore[8], unordered[4];
    strangler_body_t      pbody, sbody;
    strangler_diffs_t     got, want;
    strangler_shadow_t    conf;
    strangler_response_t  primary, shadow;
    char                  gp[STRANGLER_DIFF_MAX][160];
    char                  wp[STRANGLER_DIFF_MAX][160];

    if (size < 2) {
        return 0;
    }

    cfg = data[0];
    cfg2 = data[1];
    data += 2;
    size -= 2;

    memset(&conf, 0, sizeof(conf));
    conf.enabled = 1;
    conf.compare = STRANGLER_COMPARE_JSON;
    conf.ignore.items = ignore;
    conf.unordered.items = unordered;

    for (i = 0, n = 0; i < 8; i++) {
        if (cfg & (1 << i) && (cfg2 & 0x80)) {
            ignore[n].data = (char *) fuzz_ignore_pool[i];
            ignore[n++].len = strlen(fuzz_ignore_pool[i]);
        }
    }

    conf.ignore.n = n;

    for (i = 0, n = 0; i < 4; i++) {
        if (cfg2 & (1 << i)) {
            unordered[n].data = (char *) fuzz_unordered_pool[i];
            unordered[n++].len = strlen(fuzz_unordered_pool[i]);
        }
    }

    conf.unordered.n = n;

    a = (char *) data;
    b = memchr(data, 0xff, size);

    if (b) {
        alen = (size_t) (b - a);
        b++;
        blen = size - alen - 1;

    } else {
        b = a;
        alen = blen = size;
    }

    re = NULL;

    if (cfg2 & 0x30) {
        re = fuzz_reserialise(b, blen, (cfg2 & 0x10) ? JSON_COMPACT
                                                     : JSON_INDENT(1));
        if (re) {
            b = re;
            blen = strlen(re);
        }
    }

    memset(&primary, 0, sizeof(primary));
    memset(&shadow, 0, sizeof(shadow));
    primary.status = shadow.status = 200;
    primary.body = &pbody;
    shadow.body = &sbody;

    fuzz_body(&pbody, a, alen);
    fuzz_body(&sbody, b, blen);

    (void) strangler_compare(&conf, &primary, &shadow, &got);

    fuzz_pieces(&conf, a, alen, b, blen, 1 + (cfg2 >> 6) * 7, &got);

    /*
     * jansson drops a raw NUL byte right after a number or a literal
     * ("[1\0]" is [1] to it); such a body is not JSON for the comparer
     */

    if (!fuzz_has_duplicates(a, alen) && !fuzz_has_duplicates(b, blen)
        && memchr(a, '\0', alen) == NULL && memchr(b, '\0', blen) == NULL)
    {
        want.count = 0;
        ref_compare_json(&conf, &pbody, &sbody, &want);

        if (got.count != want.count) {
            fprintf(stderr, "streaming: %zu differences, jansson: %zu\n",
                    got.count, want.count);

            for (i = 0; i < got.count && i < STRANGLER_DIFF_MAX; i++) {
                fprintf(stderr, "  streaming %s\n", got.diff[i].path);
            }

            for (i = 0; i < want.count && i < STRANGLER_DIFF_MAX; i++) {
                fprintf(stderr, "  jansson   %s\n", want.diff[i].path);
            }
        }

        FUZZ_CHECK(got.count == want.count);

        if (got.count <= STRANGLER_DIFF_MAX) {
            fuzz_paths(&got, gp);
            fuzz_paths(&want, wp);

            for (i = 0; i < got.count; i++) {
                if (strcmp(gp[i], wp[i]) != 0) {
                    fprintf(stderr, "path: streaming %s, jansson %s\n",
                            gp[i], wp[i]);
                }

                FUZZ_CHECK(strcmp(gp[i], wp[i]) == 0);
            }
        }
    }

    strangler_body_free(&pbody);
    strangler_body_free(&sbody);
    free(re);

    return 0;
}


static void
fuzz_body(strangler_body_t *body, const char *data, size_t len)
{
    strangler_body_init(body, 1 << 20, 0);
    strangler_body_add(body, data, len);
    strangler_body_end(body);
}


static int
fuzz_has_duplicates(const char *data, size_t len)
{
    json_t        *j;
    json_error_t   err;

    j = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL
                              | JSON_REJECT_DUPLICATES, &err);
    if (j) {
        json_decref(j);
        return 0;
    }

    if (strangler_json_is_overflow(&err)) {
        /* a number jansson cannot hold came first: look past it */
        j = ref_json_load_canonical(data, len, 0);
        json_decref(j);

        if (j == NULL) {
            return 0;
        }

        j = ref_json_load_canonical(data, len, JSON_REJECT_DUPLICATES);
        json_decref(j);

        return j == NULL;
    }

    return strstr(err.text, "duplicate") != NULL;
}


static char *
fuzz_reserialise(const char *data, size_t len, size_t flags)
{
    char          *s;
    json_t        *j;
    json_error_t   err;

    j = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL
                              | JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        return NULL;
    }

    /* other key order, other spacing, other escapes; numbers as jansson's */
    s = json_dumps(j, flags | JSON_SORT_KEYS | JSON_ENCODE_ANY
                      | JSON_ENSURE_ASCII);
    json_decref(j);

    return s;
}


/* the same bodies fed in pieces of step bytes, compared in slices */

static void
fuzz_pieces(const strangler_shadow_t *conf, const char *a, size_t alen,
    const char *b, size_t blen, size_t step, const strangler_diffs_t *whole)
{
    int                rc;
    size_t             i, na, nb;
    strangler_jcmp_t  *jc;
    strangler_diffs_t  d;

    if (alen == blen && memcmp(a, b, alen) == 0) {
        return;                 /* not compared at all */
    }

    d.count = 0;

    jc = strangler_jcmp_create(conf, &d);
    if (jc == NULL) {
        return;
    }

    na = nb = 0;

    for ( ;; ) {
        strangler_jcmp_feed(jc, 0, a, na, na == alen);
        strangler_jcmp_feed(jc, 1, b, nb, nb == blen);

        rc = strangler_jcmp_run(jc, step);

        if (rc == STRANGLER_JCMP_DONE) {
            break;
        }

        if (rc == STRANGLER_JCMP_MORE) {
            FUZZ_CHECK(na < alen || nb < blen);
            na = (na + step < alen) ? na + step : alen;
            nb = (nb + step < blen) ? nb + step : blen;
        }
    }

    strangler_jcmp_destroy(jc);

    FUZZ_CHECK(d.count == whole->count);

    for (i = 0; i < d.count && i < STRANGLER_DIFF_MAX; i++) {
        FUZZ_CHECK(strcmp(d.diff[i].path, whole->diff[i].path) == 0);
        FUZZ_CHECK(d.diff[i].primary_len == whole->diff[i].primary_len);
        FUZZ_CHECK(memcmp(d.diff[i].primary, whole->diff[i].primary,
                          d.diff[i].primary_len) == 0);
        FUZZ_CHECK(memcmp(d.diff[i].shadow, whole->diff[i].shadow,
                          d.diff[i].shadow_len) == 0);
    }
}


static void
fuzz_paths(const strangler_diffs_t *d, char (*out)[160])
{
    size_t  i;

    for (i = 0; i < d->count && i < STRANGLER_DIFF_MAX; i++) {
        snprintf(out[i], 160, "%s%s%s", d->diff[i].path,
                 d->diff[i].primary_absent ? " -" : "",
                 d->diff[i].shadow_absent ? " +" : "");
    }

    qsort(out, i, 160, fuzz_path_cmp);
}


static int
fuzz_path_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}
