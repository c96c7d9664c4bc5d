
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The reference for the differential fuzzer (fuzz_json.c): the jansson
 * comparer that ran on the request path before the streaming one, kept
 * here only.  Numbers always go through the canonical rewrite
 * (ref_compare_json_numbers.c), so that they compare by exact decimal
 * value as the streaming comparer's do.
 *
 * Comparing two bodies as JSON (jansson): key order and whitespace do not
 * matter, numbers compare by value (1 == 1.0 == 1e0), and the `ignore`
 * paths ($.a.b, $.items[*].id, $['a.b'], $.list[0]) are skipped whole.
 * Every difference is reported with its path, down to the leaves.  Arrays
 * listed in `unordered` compare as multisets.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "strangler_compare.h"
#include "ref_compare.h"


#define STRANGLER_JSON_PATH_LEN  512


/* 0: as on the request path before (numbers as doubles), for bench/jcmp */
int  ref_exact_numbers = 1;

/* longer `unordered` arrays compare in order: matching is quadratic */
#define STRANGLER_JSON_MULTISET_MAX  1024


/* one step of the path from the root to a value, linked to its parent */
typedef struct strangler_seg_s  strangler_seg_t;

struct strangler_seg_s {
    const strangler_seg_t    *parent;
    const char               *key;        /* NULL: an array index */
    size_t                    key_len;
    size_t                    index;
};


typedef struct {
    const strangler_shadow_t *conf;
    strangler_diffs_t        *diffs;
    unsigned                  ignores:1;  /* a JSON path is ignored */
    unsigned                  differs:1;  /* while probing: a difference */
    unsigned                  probing;    /* depth of equality probes */
} strangler_json_cmp_t;


static void strangler_json_walk(strangler_json_cmp_t *cmp,
    const strangler_seg_t *seg, json_t *a, json_t *b);
static void strangler_json_objects(strangler_json_cmp_t *cmp,
    const strangler_seg_t *seg, json_t *a, json_t *b);
static void strangler_json_arrays(strangler_json_cmp_t *cmp,
    const strangler_seg_t *seg, json_t *a, json_t *b);
static void strangler_json_multiset(strangler_json_cmp_t *cmp,
    const strangler_seg_t *seg, json_t *a, json_t *b);
static int strangler_json_equal(strangler_json_cmp_t *cmp,
    const strangler_seg_t *seg, json_t *a, json_t *b);
static int strangler_json_same_leaf(json_t *a, json_t *b);
static void strangler_json_report(strangler_json_cmp_t *cmp,
    const strangler_seg_t *seg, json_t *a, json_t *b);
static int strangler_json_ignored(strangler_json_cmp_t *cmp,
    const strangler_seg_t *seg);
static int strangler_json_listed(const strangler_strs_t *list,
    const strangler_seg_t *seg);
static long strangler_json_match(const strangler_str_t *pat,
    const strangler_seg_t *seg);
static long strangler_json_step(const strangler_str_t *pat, size_t i,
    const strangler_seg_t *seg);
static long strangler_json_step_quoted(const strangler_str_t *pat, size_t i,
    const strangler_seg_t *seg);
static size_t strangler_json_path(const strangler_seg_t *seg, char *buf,
    size_t size);
static int strangler_json_plain_key(const char *key, size_t len);
static char *strangler_json_dump(json_t *v, size_t flags);


void
ref_compare_json(const strangler_shadow_t *conf,
    const strangler_body_t *primary, const strangler_body_t *shadow,
    strangler_diffs_t *diffs)
{
    int                    overflow;
    size_t                 i;
    json_t                *a, *b;
    const char            *pd, *sd;
    json_error_t           err;
    strangler_json_cmp_t   cmp;

    /* over the bound only the digests are left */

    if (primary == NULL || shadow == NULL || primary->error || shadow->error
        || primary->sha || shadow->sha)
    {
        strangler_compare_bytes(primary, shadow, diffs);
        return;
    }

    /*
     * The same bytes are the same JSON, whatever is ignored or unordered:
     * no parse (two 10 KB bodies take jansson about 250 us).
     */

    if (primary->len == shadow->len
        && (primary->len == 0
            || memcmp(primary->data, shadow->data, primary->len) == 0))
    {
        return;
    }

    cmp.conf = conf;
    cmp.diffs = diffs;
    cmp.ignores = 0;
    cmp.differs = 0;
    cmp.probing = 0;

    for (i = 0; i < conf->ignore.n; i++) {
        if (conf->ignore.items[i].len && conf->ignore.items[i].data[0] == '$')
        {
            cmp.ignores = 1;
        }
    }

    pd = primary->data ? (char *) primary->data : "";
    sd = shadow->data ? (char *) shadow->data : "";

    a = json_loadb(pd, primary->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    overflow = (a == NULL && strangler_json_is_overflow(&err));

    b = json_loadb(sd, shadow->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    overflow |= (b == NULL && strangler_json_is_overflow(&err));

    /* exact decimal values, as the streaming comparer's */
    overflow |= (a != NULL && b != NULL && ref_exact_numbers);

    /* a number beyond jansson's on one side: both compare as decimals */

    if (overflow) {
        json_decref(a);
        json_decref(b);

        a = strangler_json_load_canonical(pd, primary->len);
        b = strangler_json_load_canonical(sd, shadow->len);
    }

    if (a && b) {
        strangler_json_walk(&cmp, NULL, a, b);

    } else {
        /* not JSON on one side at least: what is there, as it is */
        strangler_compare_bytes(primary, shadow, diffs);
    }

    json_decref(a);
    json_decref(b);
}


static void
strangler_json_walk(strangler_json_cmp_t *cmp, const strangler_seg_t *seg,
    json_t *a, json_t *b)
{
    if ((cmp->probing && cmp->differs)
        || (cmp->ignores && strangler_json_ignored(cmp, seg)))
    {
        return;
    }

    if (json_is_object(a) && json_is_object(b)) {
        strangler_json_objects(cmp, seg, a, b);

    } else if (json_is_array(a) && json_is_array(b)) {
        if (seg && strangler_json_listed(&cmp->conf->unordered, seg)) {
            strangler_json_multiset(cmp, seg, a, b);

        } else {
            strangler_json_arrays(cmp, seg, a, b);
        }

    } else if (!strangler_json_same_leaf(a, b)) {
        strangler_json_report(cmp, seg, a, b);
    }
}


static void
strangler_json_objects(strangler_json_cmp_t *cmp, const strangler_seg_t *seg,
    json_t *a, json_t *b)
{
    json_t           *va, *vb;
    const char       *key;
    strangler_seg_t   child;

    child.parent = seg;
    child.index = 0;

    json_object_foreach(a, key, va) {
        child.key = key;
        child.key_len = strlen(key);

        vb = json_object_get(b, key);

        if (vb) {
            strangler_json_walk(cmp, &child, va, vb);

        } else if (!strangler_json_ignored(cmp, &child)) {
            strangler_json_report(cmp, &child, va, NULL);
        }
    }

    json_object_foreach(b, key, vb) {
        child.key = key;
        child.key_len = strlen(key);

        if (json_object_get(a, key) == NULL
            && !strangler_json_ignored(cmp, &child))
        {
            strangler_json_report(cmp, &child, NULL, vb);
        }
    }
}


static void
strangler_json_arrays(strangler_json_cmp_t *cmp, const strangler_seg_t *seg,
    json_t *a, json_t *b)
{
    size_t            i, n;
    json_t           *va, *vb;
    strangler_seg_t   child;

    child.parent = seg;
    child.key = NULL;
    child.key_len = 0;

    n = json_array_size(a) > json_array_size(b) ? json_array_size(a)
                                                : json_array_size(b);

    for (i = 0; i < n; i++) {
        child.index = i;

        va = json_array_get(a, i);
        vb = json_array_get(b, i);

        if (va && vb) {
            strangler_json_walk(cmp, &child, va, vb);

        } else if (!strangler_json_ignored(cmp, &child)) {
            strangler_json_report(cmp, &child, va, vb);
        }
    }
}


/*
 * An `unordered` array: each element of a is paired with an equal one of
 * b.  A length change is one difference, the arrays themselves; elements
 * left without an equal are compared in the order they stand, so that a
 * changed element shows its changed fields.
 */

static void
strangler_json_multiset(strangler_json_cmp_t *cmp, const strangler_seg_t *seg,
    json_t *a, json_t *b)
{
    size_t            i, j, n;
    char             *paired;   /* n for the elements of a, then n for b */
    strangler_seg_t   child;

    n = json_array_size(a);

    if (n != json_array_size(b)) {
        strangler_json_report(cmp, seg, a, b);
        return;
    }

    paired = (n <= STRANGLER_JSON_MULTISET_MAX) ? calloc(2 * n + 1, 1)
                                                : NULL;

    if (paired == NULL) {
        strangler_json_arrays(cmp, seg, a, b);
        return;
    }

    child.parent = seg;
    child.key = NULL;
    child.key_len = 0;

    for (i = 0; i < n; i++) {
        child.index = i;

        for (j = 0; j < n; j++) {
            if (!paired[n + j]
                && strangler_json_equal(cmp, &child, json_array_get(a, i),
                                        json_array_get(b, j)))
            {
                paired[i] = 1;
                paired[n + j] = 1;
                break;
            }
        }
    }

    /* the elements left without an equal, in the order they stand */

    for (i = 0, j = 0; i < n; i++) {
        if (paired[i]) {
            continue;
        }

        while (paired[n + j]) {
            j++;
        }

        child.index = i;
        strangler_json_walk(cmp, &child, json_array_get(a, i),
                            json_array_get(b, j++));
    }

    free(paired);
}


/* whether the comparison would find no difference, reporting none */

static int
strangler_json_equal(strangler_json_cmp_t *cmp, const strangler_seg_t *seg,
    json_t *a, json_t *b)
{
    int       equal;
    unsigned  saved;

    saved = cmp->differs;

    cmp->probing++;
    cmp->differs = 0;

    strangler_json_walk(cmp, seg, a, b);

    equal = !cmp->differs;

    cmp->probing--;
    cmp->differs = saved;

    return equal;
}


/* numbers by value: 1, 1.0 and 1e0 are the same number */

static int
strangler_json_same_leaf(json_t *a, json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        return json_integer_value(a) == json_integer_value(b);
    }

    if (json_is_number(a) && json_is_number(b)) {
        return json_number_value(a) == json_number_value(b);
    }

    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }

    if (json_is_string(a)) {
        return json_string_length(a) == json_string_length(b)
               && memcmp(json_string_value(a), json_string_value(b),
                         json_string_length(a)) == 0;
    }

    /* true, false, null: the type says it all; containers do not get here */

    return 1;
}


static void
strangler_json_report(strangler_json_cmp_t *cmp, const strangler_seg_t *seg,
    json_t *a, json_t *b)
{
    char    path[STRANGLER_JSON_PATH_LEN];
    char   *pv, *sv;
    size_t  flags;

    if (cmp->probing) {
        cmp->differs = 1;
        return;
    }

    if (cmp->diffs->count >= STRANGLER_DIFF_MAX) {
        cmp->diffs->count++;
        return;
    }

    strangler_json_path(seg, path, sizeof(path));

    flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS;

    pv = a ? strangler_json_dump(a, flags) : NULL;
    sv = b ? strangler_json_dump(b, flags) : NULL;

    strangler_diff_add(cmp->diffs, path, pv, pv ? strlen(pv) : 0,
                       sv, sv ? strlen(sv) : 0);

    free(pv);
    free(sv);
}


static int
strangler_json_ignored(strangler_json_cmp_t *cmp, const strangler_seg_t *seg)
{
    if (!cmp->ignores || seg == NULL) {
        return 0;
    }

    return strangler_json_listed(&cmp->conf->ignore, seg);
}


/* whether one of the list's JSON paths names the value at seg */

static int
strangler_json_listed(const strangler_strs_t *list,
    const strangler_seg_t *seg)
{
    size_t                  i;
    const strangler_str_t  *pat;

    for (i = 0; i < list->n; i++) {
        pat = &list->items[i];

        if (pat->len && pat->data[0] == '$'
            && strangler_json_match(pat, seg) == (long) pat->len)
        {
            return 1;
        }
    }

    return 0;
}


/* where in pat the steps from the root down to seg end, or -1 */

static long
strangler_json_match(const strangler_str_t *pat, const strangler_seg_t *seg)
{
    long  i;

    if (seg == NULL) {
        return 1;           /* past the "$" */
    }

    i = strangler_json_match(pat, seg->parent);

    if (i < 0 || (size_t) i >= pat->len) {
        return -1;
    }

    return strangler_json_step(pat, (size_t) i, seg);
}


/* one step of a pattern at i: .key, [N], [*] or ['key'] */

static long
strangler_json_step(const strangler_str_t *pat, size_t i,
    const strangler_seg_t *seg)
{
    size_t       start, n;
    const char  *p;

    p = pat->data;

    if (p[i] == '.') {
        for (start = ++i; i < pat->len && p[i] != '.' && p[i] != '['; i++) {
            /* void */
        }

        if (seg->key == NULL || seg->key_len != i - start
            || memcmp(seg->key, p + start, seg->key_len) != 0)
        {
            return -1;
        }

        return (long) i;
    }

    if (p[i] != '[' || ++i >= pat->len) {
        return -1;
    }

    if (p[i] == '*') {
        return (i + 1 < pat->len && p[i + 1] == ']') ? (long) i + 2 : -1;
    }

    if (p[i] == '\'') {
        return strangler_json_step_quoted(pat, i + 1, seg);
    }

    if (seg->key) {
        return -1;
    }

    for (n = 0, start = i; i < pat->len && p[i] >= '0' && p[i] <= '9'; i++) {
        n = n * 10 + (p[i] - '0');
    }

    if (i == start || i >= pat->len || p[i] != ']' || n != seg->index) {
        return -1;
    }

    return (long) i + 1;
}


/* ['key'] from just past the quote; \' and \\ stand for ' and \ */

static long
strangler_json_step_quoted(const strangler_str_t *pat, size_t i,
    const strangler_seg_t *seg)
{
    size_t       k;
    const char  *p;

    if (seg->key == NULL) {
        return -1;
    }

    p = pat->data;

    for (k = 0; i < pat->len && p[i] != '\''; i++, k++) {
        if (p[i] == '\\' && i + 1 < pat->len) {
            i++;
        }

        if (k >= seg->key_len || seg->key[k] != p[i]) {
            return -1;
        }
    }

    if (k != seg->key_len || i + 1 >= pat->len || p[i + 1] != ']') {
        return -1;
    }

    return (long) i + 2;
}


/* "$.a.list[2]['odd key']"; returns the length it needed */

static size_t
strangler_json_path(const strangler_seg_t *seg, char *buf, size_t size)
{
    size_t  n, i;

    if (seg == NULL) {
        return (size_t) snprintf(buf, size, "$");
    }

    n = strangler_json_path(seg->parent, buf, size);

    if (n >= size) {
        return n;
    }

    if (seg->key == NULL) {
        return n + snprintf(buf + n, size - n, "[%zu]", seg->index);
    }

    if (strangler_json_plain_key(seg->key, seg->key_len)) {
        return n + snprintf(buf + n, size - n, ".%.*s", (int) seg->key_len,
                            seg->key);
    }

    /* ['key'] with \' and \\ escaped, as far as it fits */

    if (n + 2 >= size) {
        return n;
    }

    buf[n++] = '[';
    buf[n++] = '\'';

    for (i = 0; i < seg->key_len; i++) {
        if (n + 3 >= size) {
            buf[n] = '\0';
            return size;        /* cut: the diff shows "..." */
        }

        if (seg->key[i] == '\'' || seg->key[i] == '\\') {
            buf[n++] = '\\';
        }

        buf[n++] = seg->key[i];
    }

    return n + snprintf(buf + n, size - n, "']");
}


static int
strangler_json_plain_key(const char *key, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A'
              && key[i] <= 'Z') || (key[i] >= '0' && key[i] <= '9')
              || key[i] == '_' || key[i] == '-'))
        {
            return 0;
        }
    }

    return len > 0;
}


/* a value as text for a diff: a canonical number as the number it is */

static char *
strangler_json_dump(json_t *v, size_t flags)
{
    const char  *num;

    num = strangler_json_number_text(v);

    return num ? strdup(num) : json_dumps(v, flags);
}
