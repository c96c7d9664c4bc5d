
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Fuzz target: comparing a response with its shadow.  The input gives the
 * comparison (off, status, body, json; ignore paths; compared headers),
 * both statuses, header values and bodies (fed in pieces of fuzzed sizes,
 * gzip decoded when asked, kept up to a fuzzed bound and hashed beyond),
 * and the size of the buffer the diff log line is written into.
 *
 * Checks: a diff log line written whole is one line of valid JSON; a
 * response compared with itself has no differences; as JSON, a body and
 * its re-serialisation (other key order, spacing, number spelling) have
 * none either (without reals or repeated keys: jansson writes a real back
 * as the nearest double, and keeps a repeated key's last value), and an
 * array under an `unordered` path has none with its elements reversed.
 * A difference's field (strangler_field_key) is what a reference folding
 * written here makes of its path, folding it again
 * changes nothing, and a field cut to fit is a prefix of the whole one;
 * a line naming noise fields is JSON still.
 */


#include <ctype.h>
#include <jansson.h>

#include "fuzz.h"
#include "strangler_compare.h"


#define FUZZ_HEADERS   3
#define FUZZ_IGNORES   4
#define FUZZ_UNORDERED 2
#define FUZZ_FIELD_LEN (2 * STRANGLER_DIFF_PATH_LEN)


static const char  *fuzz_ignore_pool[] = {
    "$.id", "$.meta.request_id", "$.items[*].id", "$['a key']", "$.a.b",
    "$[0]", "$.items[*]", "header:Date", "$", "$..x", "$.a[*].b[*]",
    "header:X-A"
};

static const char  *fuzz_unordered_pool[] = {
    "$.items", "$.items[*]", "$.a[*].b", "$[0]", "$.items[*].id"
};

static const char  *fuzz_header_names[FUZZ_HEADERS] = {
    "Content-Type", "Date", "X-A"
};


static void fuzz_feed(strangler_body_t *body, fuzz_input_t *in,
    const char *data, size_t len);
static void fuzz_format(fuzz_input_t *in, const strangler_diffs_t *diffs);
static void fuzz_fields(fuzz_input_t *in, strangler_diffs_t *diffs);
static void fuzz_field(const char *path, size_t len, size_t cut);
static size_t fuzz_fold_reference(const char *p, size_t len, char *out);
static void fuzz_self(const strangler_shadow_t *conf, const char *data,
    size_t len, size_t max);
static int fuzz_has_real(json_t *j);
static void fuzz_reversed(const strangler_shadow_t *conf, json_t *j,
    size_t max);
static size_t fuzz_compare_bodies(const strangler_shadow_t *conf,
    const char *a, size_t alen, const char *b, size_t blen, size_t max);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  *pdata, *sdata;
    size_t                 i, n, plen, slen, max;
    uint8_t                cfg, c;
    fuzz_input_t           in;
    strangler_str_t        ignore[FUZZ_IGNORES], headers[FUZZ_HEADERS];
    strangler_str_t        unordered[FUZZ_UNORDERED];
    strangler_str_t        ph[FUZZ_HEADERS], sh[FUZZ_HEADERS];
    strangler_body_t       pbody, sbody;
    strangler_shadow_t     conf;
    strangler_diffs_t      diffs;
    strangler_response_t   primary, shadow;

    in.p = data;
    in.left = size;

    memset(&conf, 0, sizeof(strangler_shadow_t));
    memset(&primary, 0, sizeof(strangler_response_t));
    memset(&shadow, 0, sizeof(strangler_response_t));

    cfg = fuzz_u8(&in);

    conf.enabled = 1;
    conf.compare = (strangler_compare_t) (cfg & 3);
    max = (cfg & 0x20) ? 64 : 4096;

    n = fuzz_u8(&in) % (FUZZ_IGNORES + 1);

    for (i = 0; i < n; i++) {
        c = fuzz_u8(&in);

        if (c & 0x80) {
            ignore[i].data = fuzz_bytes(&in, 40, &ignore[i].len);

        } else {
            ignore[i].data = fuzz_ignore_pool[c % (sizeof(fuzz_ignore_pool)
                                              / sizeof(char *))];
            ignore[i].len = strlen(ignore[i].data);
        }
    }

    conf.ignore.items = ignore;
    conf.ignore.n = n;

    n = fuzz_u8(&in) % (FUZZ_UNORDERED + 1);

    for (i = 0; i < n; i++) {
        c = fuzz_u8(&in);
        unordered[i].data = fuzz_unordered_pool[c
                            % (sizeof(fuzz_unordered_pool) / sizeof(char *))];
        unordered[i].len = strlen(unordered[i].data);
    }

    conf.unordered.items = unordered;
    conf.unordered.n = n;

    n = fuzz_u8(&in) % (FUZZ_HEADERS + 1);

    for (i = 0; i < n; i++) {
        headers[i].data = fuzz_header_names[i];
        headers[i].len = strlen(fuzz_header_names[i]);

        c = fuzz_u8(&in);
        ph[i].data = (c & 1) ? fuzz_bytes(&in, 24, &ph[i].len) : NULL;
        ph[i].len = (c & 1) ? ph[i].len : 0;
        sh[i].data = (c & 2) ? fuzz_bytes(&in, 24, &sh[i].len) : NULL;
        sh[i].len = (c & 2) ? sh[i].len : 0;
    }

    conf.headers.items = headers;
    conf.headers.n = n;

    primary.status = 100 + fuzz_u8(&in) % 5 * 100 + fuzz_u8(&in) % 4;
    shadow.status = (cfg & 0x40) ? primary.status
                                 : 100 + fuzz_u8(&in) % 5 * 100;
    primary.headers = ph;
    shadow.headers = sh;

    pdata = fuzz_chunk(&in, &plen);

    /* the shadow's body: the primary's, or its own */

    if (cfg & 0x80) {
        sdata = malloc(plen ? plen : 1);
        if (sdata == NULL) {
            abort();
        }

        memcpy(sdata, pdata, plen);
        slen = plen;

    } else {
        sdata = fuzz_chunk(&in, &slen);
    }

    strangler_body_init(&pbody, max, (cfg & 0x04) != 0);
    strangler_body_init(&sbody, max, (cfg & 0x08) != 0);

    fuzz_feed(&pbody, &in, pdata, plen);
    fuzz_feed(&sbody, &in, sdata, slen);

    strangler_body_end(&pbody);
    strangler_body_end(&sbody);

    primary.body = (cfg & 0x10) ? NULL : &pbody;
    shadow.body = (cfg & 0x10) ? NULL : &sbody;

    n = strangler_compare(&conf, &primary, &shadow, &diffs);

    FUZZ_CHECK(n == diffs.count);

    if (conf.compare == STRANGLER_COMPARE_OFF) {
        FUZZ_CHECK(n == 0);
    }

    if (n == 0 && conf.compare != STRANGLER_COMPARE_OFF) {
        FUZZ_CHECK(primary.status == shadow.status);
    }

    fuzz_fields(&in, &diffs);
    fuzz_format(&in, &diffs);

    strangler_body_free(&pbody);
    strangler_body_free(&sbody);

    if (!(cfg & 0x0c) && conf.compare >= STRANGLER_COMPARE_BODY) {
        fuzz_self(&conf, pdata, plen, max);
    }

    free(pdata);
    free(sdata);

    return 0;
}


/*
 * The fields of the differences, and of a fuzzed path; some marked noise,
 * as the statistics do, for the diff log line.
 */

static void
fuzz_fields(fuzz_input_t *in, strangler_diffs_t *diffs)
{
    size_t       i, n, len, cut;
    const char  *path;

    n = diffs->count < STRANGLER_DIFF_MAX ? diffs->count : STRANGLER_DIFF_MAX;

    for (i = 0; i < n; i++) {
        cut = fuzz_u8(in) % STRANGLER_DIFF_PATH_LEN;
        fuzz_field(diffs->diff[i].path, strlen(diffs->diff[i].path), cut);
        diffs->diff[i].noise = fuzz_u8(in) & 1;
    }

    path = fuzz_bytes(in, 96, &len);
    cut = fuzz_u8(in) % STRANGLER_DIFF_PATH_LEN;

    fuzz_field(path, len, cut);
}


static void
fuzz_field(const char *path, size_t len, size_t cut)
{
    char    full[FUZZ_FIELD_LEN], ref[FUZZ_FIELD_LEN];
    char    again[FUZZ_FIELD_LEN], part[FUZZ_FIELD_LEN];
    size_t  n, r, m, i;

    if (len >= STRANGLER_DIFF_PATH_LEN) {
        len = STRANGLER_DIFF_PATH_LEN - 1;
    }

    /* folding never makes a path longer: "[0]" is as long as "[*]" */

    n = strangler_field_fold(path, len, full, sizeof(full));
    r = fuzz_fold_reference(path, len, ref);

    if (n != r || memcmp(full, ref, n) != 0) {
        fprintf(stderr, "fold of \"%.*s\": \"%s\", the reference: "
                "\"%.*s\"\n", (int) len, path, full, (int) r, ref);
        abort();
    }

    FUZZ_CHECK(full[n] == '\0' && n <= len);

    m = strangler_field_fold(full, n, again, sizeof(again));
    FUZZ_CHECK(m == n && memcmp(again, full, n) == 0);

    m = strangler_field_fold(path, len, part, cut + 1);
    FUZZ_CHECK(m <= cut && part[m] == '\0' && memcmp(part, full, m) == 0);

    /* the key: the same, but a header's name in lowercase */

    m = strangler_field_key(path, len, again, sizeof(again));
    FUZZ_CHECK(m == n);

    for (i = 0; i < n; i++) {
        FUZZ_CHECK(again[i] == full[i]
                   || (n > 7 && memcmp(full, "header:", 7) == 0 && i >= 7
                       && again[i] == tolower((unsigned char) full[i])));
    }
}


/*
 * Folding written again, by segments: a quoted key ['...'] (\ escapes
 * the next byte) goes through whole, an index [digits] becomes [*],
 * anything else is a byte of its own.
 */

static size_t
fuzz_fold_reference(const char *p, size_t len, char *out)
{
    size_t  i, j, n;

    i = 0;
    n = 0;

    while (i < len) {

        if (p[i] == '[' && i + 1 < len && p[i + 1] == '\'') {
            for (j = i + 2; j < len; j++) {
                if (p[j] == '\\' && j + 1 < len) {
                    j++;

                } else if (p[j] == '\'') {
                    j++;
                    break;
                }
            }

            memcpy(out + n, p + i, j - i);
            n += j - i;
            i = j;
            continue;
        }

        if (p[i] == '[') {
            for (j = i + 1; j < len && isdigit((unsigned char) p[j]); j++) {
                /* void */
            }

            if (j > i + 1 && j < len && p[j] == ']') {
                memcpy(out + n, "[*]", 3);
                n += 3;
                i = j + 1;
                continue;
            }
        }

        out[n++] = p[i++];
    }

    out[n] = '\0';

    return n;
}


/* the body in pieces, as an upstream's buffers bring it */

static void
fuzz_feed(strangler_body_t *body, fuzz_input_t *in, const char *data,
    size_t len)
{
    size_t  n;

    while (len) {
        n = fuzz_u8(in);
        n = n ? n : len;
        n = n < len ? n : len;

        strangler_body_add(body, data, n);

        data += n;
        len -= n;
    }
}


/*
 * The diff log line into a buffer of a fuzzed size; when it fits it must
 * be one line of JSON, and its length must not depend on the size.
 */

static void
fuzz_format(fuzz_input_t *in, const strangler_diffs_t *diffs)
{
    char                   *buf, *big;
    size_t                  size, len, full;
    json_t                 *j;
    json_error_t            err;
    strangler_diff_line_t   line;

    memset(&line, 0, sizeof(strangler_diff_line_t));

    line.time.data = "2025-01-01T00:00:00Z";
    line.time.len = strlen(line.time.data);
    line.route.data = "route";
    line.route.len = 5;
    line.method.data = "GET";
    line.method.len = 3;
    line.uri.data = fuzz_bytes(in, 64, &line.uri.len);
    line.request_id.data = "";
    line.primary_backend.data = "mono";
    line.primary_backend.len = 4;
    line.shadow_backend.data = "svc";
    line.shadow_backend.len = 3;
    line.primary_status = 200;
    line.shadow_status = -1;

    size = fuzz_u8(in);
    size = size * 40;

    buf = malloc(size ? size : 1);
    big = malloc(65536);

    if (buf == NULL || big == NULL) {
        abort();
    }

    len = strangler_diff_format(buf, size, &line, diffs);
    full = strangler_diff_format(big, 65536, &line, diffs);

    FUZZ_CHECK(len == full);
    FUZZ_CHECK(full < 65536);
    FUZZ_CHECK(full > 0 && big[full - 1] == '\n');
    FUZZ_CHECK(memchr(big, '\n', full - 1) == NULL);

    if (len <= size) {
        FUZZ_CHECK(memcmp(buf, big, len) == 0);
    }

    j = json_loadb(big, full, JSON_ALLOW_NUL, &err);

    if (j == NULL) {
        fprintf(stderr, "diff log line is not JSON: %s: %.*s\n", err.text,
                (int) full, big);
        abort();
    }

    FUZZ_CHECK(json_is_object(j));
    json_decref(j);

    free(buf);
    free(big);
}


/*
 * A body compared with itself, and, as JSON, with its re-serialisation:
 * no differences.
 */

static void
fuzz_self(const strangler_shadow_t *conf, const char *data, size_t len,
    size_t max)
{
    char          *dump;
    size_t         n;
    json_t        *j;
    json_error_t   err;

    n = fuzz_compare_bodies(conf, data, len, data, len, max);
    FUZZ_CHECK(n == 0);

    if (conf->compare != STRANGLER_COMPARE_JSON || len > max) {
        return;
    }

    /*
     * A repeated key pairs by occurrence, and jansson keeps the last; a
     * real is written back as the nearest double, which is another exact
     * value; jansson drops a raw NUL after a number or a literal, which
     * is not JSON: none of them is re-serialised.
     */

    if (memchr(data, '\0', len) != NULL) {
        return;
    }

    j = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL
                              | JSON_REJECT_DUPLICATES, &err);
    if (j == NULL || fuzz_has_real(j)) {
        json_decref(j);
        return;
    }

    dump = json_dumps(j, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_INDENT(1));

    if (json_is_array(j)) {
        fuzz_reversed(conf, j, max);
    }

    json_decref(j);

    if (dump == NULL) {
        return;
    }

    if (strlen(dump) <= max) {
        n = fuzz_compare_bodies(conf, data, len, dump, strlen(dump), max);

        if (n != 0) {
            fprintf(stderr, "JSON differs from its re-serialisation: "
                    "%.*s\n", (int) strlen(dump), dump);
            abort();
        }
    }

    free(dump);
}


static int
fuzz_has_real(json_t *j)
{
    size_t       i;
    json_t      *v;
    const char  *key;

    if (json_is_real(j)) {
        return 1;
    }

    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if (fuzz_has_real(v)) {
                return 1;
            }
        }
    }

    if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if (fuzz_has_real(v)) {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * {"items": array} and {"items": the array reversed}, with "$.items"
 * unordered: no differences, whatever the elements are.
 */

static void
fuzz_reversed(const strangler_shadow_t *conf, json_t *j, size_t max)
{
    char                *a, *b;
    size_t               i, n;
    json_t              *rev, *wa, *wb;
    strangler_str_t      items;
    strangler_shadow_t   c;

    n = json_array_size(j);
    rev = json_array();

    for (i = n; i > 0; i--) {
        json_array_append(rev, json_array_get(j, i - 1));
    }

    wa = json_pack("{s:O}", "items", j);
    wb = json_pack("{s:o}", "items", rev);
    a = json_dumps(wa, JSON_COMPACT);
    b = json_dumps(wb, JSON_COMPACT);
    json_decref(wa);
    json_decref(wb);

    /* an ignore path naming an index means nothing in an unordered array */

    c = *conf;
    c.ignore.n = 0;
    items.data = "$.items";
    items.len = 7;
    c.unordered.items = &items;
    c.unordered.n = 1;

    if (a && b && strlen(a) <= max && strlen(b) <= max
        && fuzz_compare_bodies(&c, a, strlen(a), b, strlen(b), max) != 0)
    {
        fprintf(stderr, "an unordered array differs from its reversal: "
                "%s\n", a);
        abort();
    }

    free(a);
    free(b);
}


static size_t
fuzz_compare_bodies(const strangler_shadow_t *conf, const char *a,
    size_t alen, const char *b, size_t blen, size_t max)
{
    size_t                 n;
    strangler_str_t        none[FUZZ_HEADERS];
    strangler_body_t       pbody, sbody;
    strangler_diffs_t      diffs;
    strangler_response_t   primary, shadow;

    memset(none, 0, sizeof(none));

    strangler_body_init(&pbody, max, 0);
    strangler_body_init(&sbody, max, 0);
    strangler_body_add(&pbody, a, alen);
    strangler_body_add(&sbody, b, blen);
    strangler_body_end(&pbody);
    strangler_body_end(&sbody);

    primary.status = 200;
    shadow.status = 200;
    primary.headers = none;
    shadow.headers = none;
    primary.body = &pbody;
    shadow.body = &sbody;

    n = strangler_compare(conf, &primary, &shadow, &diffs);

    strangler_body_free(&pbody);
    strangler_body_free(&sbody);

    return n;
}
