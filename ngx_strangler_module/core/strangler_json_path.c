
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The path of the value the comparer is at: the steps of the frames from
 * the root down, and maybe one more.  It is matched against the `ignore`
 * and `unordered` paths ($.a.b, $.items[*].id, $['a.b'], $.list[0]) and
 * written for a difference as "$.a.list[2]['odd key']".
 */


#include <stdio.h>

#include "strangler_json.h"


static long sj_step(const strangler_str_t *pat, size_t i,
    strangler_jcmp_t *jc, const sj_seg_t *seg);
static long sj_step_quoted(const strangler_str_t *pat, size_t i,
    const char *key, size_t len);
static size_t sj_path_seg(strangler_jcmp_t *jc, const sj_seg_t *seg,
    char *buf, size_t n, size_t size);
static int sj_plain_key(const char *key, size_t len);


const char *
sj_seg_key(strangler_jcmp_t *jc, const sj_seg_t *seg)
{
    return seg->dec ? seg->dec : (const char *) jc->side[seg->side].p
                                 + seg->off;
}


int
sj_is_ignored(strangler_jcmp_t *jc, const sj_seg_t *extra)
{
    if (!jc->ignores) {
        return 0;
    }

    return sj_is_listed(jc, &jc->conf->ignore, extra);
}


/* whether one of the list's JSON paths names the value */

int
sj_is_listed(strangler_jcmp_t *jc, const strangler_strs_t *list,
    const sj_seg_t *extra)
{
    long                    at;
    size_t                  i, f, nsegs;
    const sj_seg_t         *seg;
    const strangler_str_t  *pat;

    nsegs = jc->top - 1 + (extra != NULL);

    if (nsegs == 0) {
        return 0;           /* the document itself */
    }

    for (i = 0; i < list->n; i++) {
        pat = &list->items[i];

        if (pat->len == 0 || pat->data[0] != '$') {
            continue;
        }

        at = 1;

        for (f = 1; f <= nsegs && at >= 0; f++) {
            seg = (f < jc->top) ? &jc->stack[f].seg : extra;

            at = ((size_t) at < pat->len) ? sj_step(pat, (size_t) at, jc, seg)
                                          : -1;
        }

        if (at == (long) pat->len) {
            return 1;
        }
    }

    return 0;
}


/* one step of a pattern at i: .key, [N], [*] or ['key'] */

static long
sj_step(const strangler_str_t *pat, size_t i, strangler_jcmp_t *jc,
    const sj_seg_t *seg)
{
    size_t       start, n;
    const char  *p, *key;

    p = pat->data;

    if (p[i] == '.') {
        for (start = ++i; i < pat->len && p[i] != '.' && p[i] != '['; i++) {
            /* void */
        }

        if (!seg->is_key || seg->len != i - start) {
            return -1;
        }

        key = sj_seg_key(jc, seg);

        return memcmp(key, p + start, seg->len) == 0 ? (long) i : -1;
    }

    if (p[i] != '[' || ++i >= pat->len) {
        return -1;
    }

    if (p[i] == '*') {
        return (i + 1 < pat->len && p[i + 1] == ']') ? (long) i + 2 : -1;
    }

    if (p[i] == '\'') {
        if (!seg->is_key) {
            return -1;
        }

        return sj_step_quoted(pat, i + 1, sj_seg_key(jc, seg), seg->len);
    }

    if (seg->is_key) {
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
sj_step_quoted(const strangler_str_t *pat, size_t i, const char *key,
    size_t len)
{
    size_t       k;
    const char  *p;

    p = pat->data;

    for (k = 0; i < pat->len && p[i] != '\''; i++, k++) {
        if (p[i] == '\\' && i + 1 < pat->len) {
            i++;
        }

        if (k >= len || key[k] != p[i]) {
            return -1;
        }
    }

    if (k != len || i + 1 >= pat->len || p[i + 1] != ']') {
        return -1;
    }

    return (long) i + 2;
}


/* "$.a.list[2]['odd key']"; returns its length, cut to fit */

size_t
sj_path(strangler_jcmp_t *jc, const sj_seg_t *extra, char *buf, size_t size)
{
    size_t  f, n;

    n = (size_t) snprintf(buf, size, "$");

    for (f = 1; f < jc->top && n < size; f++) {
        n = sj_path_seg(jc, &jc->stack[f].seg, buf, n, size);
    }

    if (extra && n < size) {
        n = sj_path_seg(jc, extra, buf, n, size);
    }

    return n;
}


static size_t
sj_path_seg(strangler_jcmp_t *jc, const sj_seg_t *seg, char *buf, size_t n,
    size_t size)
{
    size_t       i;
    const char  *key;

    if (!seg->is_key) {
        return n + snprintf(buf + n, size - n, "[%zu]", seg->index);
    }

    key = sj_seg_key(jc, seg);

    if (sj_plain_key(key, seg->len)) {
        return n + snprintf(buf + n, size - n, ".%.*s", (int) seg->len, key);
    }

    /* ['key'] with \' and \\ escaped, as far as it fits */

    if (n + 2 >= size) {
        return size;
    }

    buf[n++] = '[';
    buf[n++] = '\'';

    for (i = 0; i < seg->len; i++) {
        if (n + 3 >= size) {
            buf[n] = '\0';
            return size;        /* cut: the diff shows "..." */
        }

        if (key[i] == '\'' || key[i] == '\\') {
            buf[n++] = '\\';
        }

        buf[n++] = key[i];
    }

    return n + snprintf(buf + n, size - n, "']");
}


static int
sj_plain_key(const char *key, size_t len)
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
