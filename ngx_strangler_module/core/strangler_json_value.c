
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Differences as the comparer finds them, and the values they show.  The
 * path is written at once; the values wait for the end, when it is known
 * whether a number anywhere is one jansson could not hold: then, as
 * before, every number shows in its canonical form (1.5e0), otherwise as
 * written.  A value shows compact, its strings as jansson writes them,
 * its keys in their order, cut to the diff's size.
 */


#include <stdio.h>

#include "strangler_json.h"


#define SJ_VALUE_LEN  (2 * STRANGLER_DIFF_VALUE_LEN)


static size_t sj_render(strangler_jcmp_t *jc, int s, size_t start,
    size_t end, char *out, size_t size);
static size_t sj_render_string(const unsigned char *p, size_t i, size_t end,
    char *out, size_t o, size_t size);


/* a difference at the current value or its child extra; NULL: absent */

void
sj_report(strangler_jcmp_t *jc, const sj_seg_t *extra, const size_t *a,
    const size_t *b)
{
    char           path[SJ_PATH_LEN];
    sj_pending_t  *pd;

    if (jc->probing) {
        jc->differs = 1;
        return;
    }

    if (jc->diffs->count >= STRANGLER_DIFF_MAX) {
        jc->diffs->count++;
        return;
    }

    sj_path(jc, extra, path, sizeof(path));

    pd = &jc->pending[jc->npending++];
    pd->diff = jc->diffs->count;
    pd->has[SJ_A] = (a != NULL);
    pd->has[SJ_B] = (b != NULL);

    if (a) {
        pd->start[SJ_A] = a[0];
        pd->end[SJ_A] = a[1];
    }

    if (b) {
        pd->start[SJ_B] = b[0];
        pd->end[SJ_B] = b[1];
    }

    strangler_diff_add(jc->diffs, path, a ? "" : NULL, 0, b ? "" : NULL, 0);
}


/* the values of the differences found, once the comparison is over */

void
sj_values(strangler_jcmp_t *jc)
{
    char               buf[SJ_VALUE_LEN];
    size_t             i, n;
    sj_pending_t      *pd;
    strangler_diff_t  *d;

    for (i = 0; i < jc->npending; i++) {
        pd = &jc->pending[i];
        d = &jc->diffs->diff[pd->diff];

        if (pd->has[SJ_A]) {
            n = sj_render(jc, SJ_A, pd->start[SJ_A], pd->end[SJ_A], buf,
                          sizeof(buf));
            d->primary_len = strangler_diff_copy(d->primary,
                                                 sizeof(d->primary), buf, n);
        }

        if (pd->has[SJ_B]) {
            n = sj_render(jc, SJ_B, pd->start[SJ_B], pd->end[SJ_B], buf,
                          sizeof(buf));
            d->shadow_len = strangler_diff_copy(d->shadow, sizeof(d->shadow),
                                                buf, n);
        }
    }

    jc->npending = 0;
}


static size_t
sj_render(strangler_jcmp_t *jc, int s, size_t start, size_t end, char *out,
    size_t size)
{
    size_t                i, j, o;
    unsigned char         c;
    const unsigned char  *p;

    p = jc->side[s].p;
    o = 0;

    for (i = start; i < end && o < size; /* void */ ) {
        c = p[i];

        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            i++;
            continue;
        }

        if (c == '"') {
            for (j = i + 1; p[j] != '"'; j++) {
                if (p[j] == '\\') {
                    j++;
                }
            }

            o = sj_render_string(p, i + 1, j, out, o, size);
            i = j + 1;
            continue;
        }

        if (c != '-' && (c < '0' || c > '9')) {
            out[o++] = (char) c;
            i++;
            continue;
        }

        for (j = i + 1; j < end && ((p[j] >= '0' && p[j] <= '9')
                                    || p[j] == '.' || p[j] == 'e'
                                    || p[j] == 'E' || p[j] == '+'
                                    || p[j] == '-'); j++)
        {
            /* void */
        }

        if (jc->overflow) {
            o += sj_num_canonical(p + i, j - i, out + o, size - o);

        } else {
            while (i < j && o < size) {
                out[o++] = (char) p[i++];
            }
        }

        i = j;
    }

    return o;
}


/* a string as jansson writes it: ", \ and controls escaped, UTF-8 as is */

static size_t
sj_render_string(const unsigned char *p, size_t i, size_t end, char *out,
    size_t o, size_t size)
{
    char           esc[8];
    size_t         n, k;
    unsigned char  c[4];

    if (o < size) {
        out[o++] = '"';
    }

    while (i < end && o < size) {
        n = sj_str_next(p, &i, end, c);

        if (n > 1 || (c[0] >= 0x20 && c[0] != '"' && c[0] != '\\')) {
            for (k = 0; k < n && o < size; k++) {
                out[o++] = (char) c[k];
            }

            continue;
        }

        switch (c[0]) {
        case '"': memcpy(esc, "\\\"", 3); break;
        case '\\': memcpy(esc, "\\\\", 3); break;
        case '\b': memcpy(esc, "\\b", 3); break;
        case '\f': memcpy(esc, "\\f", 3); break;
        case '\n': memcpy(esc, "\\n", 3); break;
        case '\r': memcpy(esc, "\\r", 3); break;
        case '\t': memcpy(esc, "\\t", 3); break;
        default: snprintf(esc, sizeof(esc), "\\u%04X", c[0]);
        }

        for (k = 0; esc[k] && o < size; k++) {
            out[o++] = esc[k];
        }
    }

    if (o < size) {
        out[o++] = '"';
    }

    return o;
}
