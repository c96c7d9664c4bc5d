
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The differences a comparison finds, and the diff log line that reports
 * them: one JSON object per line, so that jq and log shippers read it.
 * Values are truncated (on a UTF-8 character boundary): a line shows what
 * differs, not the whole response.
 */


#include <stdio.h>
#include <string.h>

#include "strangler_compare.h"


typedef struct {
    char                     *p;
    char                     *end;
    size_t                    len;        /* the whole line, even if cut */
} strangler_out_t;


static void strangler_out_raw(strangler_out_t *out, const char *s,
    size_t len);
static void strangler_out_lit(strangler_out_t *out, const char *s);
static void strangler_out_str(strangler_out_t *out, const char *s,
    size_t len);
static void strangler_out_int(strangler_out_t *out, int n);
static void strangler_out_side(strangler_out_t *out, const char *name,
    const strangler_str_t *backend, int status);
static void strangler_out_diff(strangler_out_t *out,
    const strangler_diff_t *d);
static void strangler_out_noise(strangler_out_t *out,
    const strangler_diffs_t *diffs, size_t n);


/*
 * Records a difference; pv or sv NULL: that side has no such value.
 * Past STRANGLER_DIFF_MAX it is only counted.
 */

void
strangler_diff_add(strangler_diffs_t *diffs, const char *path,
    const char *pv, size_t plen, const char *sv, size_t slen)
{
    strangler_diff_t  *d;

    if (diffs->count++ >= STRANGLER_DIFF_MAX) {
        return;
    }

    d = &diffs->diff[diffs->count - 1];
    memset(d, 0, sizeof(strangler_diff_t));

    strangler_diff_copy(d->path, sizeof(d->path), path, strlen(path));

    if (pv) {
        d->primary_len = strangler_diff_copy(d->primary, sizeof(d->primary),
                                             pv, plen);
    } else {
        d->primary_absent = 1;
    }

    if (sv) {
        d->shadow_len = strangler_diff_copy(d->shadow, sizeof(d->shadow),
                                            sv, slen);
    } else {
        d->shadow_absent = 1;
    }
}


/* a NUL-terminated copy of at most size - 1 bytes; returns its length */

size_t
strangler_diff_copy(char *dst, size_t size, const char *src, size_t len)
{
    size_t  cut;

    if (len < size) {
        memcpy(dst, src, len);
        dst[len] = '\0';
        return len;
    }

    /* "..." and the NUL need 4 bytes; never cut a character in two */

    cut = size - 4;

    while (cut > 0 && ((unsigned char) src[cut] & 0xc0) == 0x80
           && size - 4 - cut < 3)
    {
        cut--;
    }

    memcpy(dst, src, cut);
    memcpy(dst + cut, "...", 4);

    return cut + 3;
}


size_t
strangler_diff_format(char *buf, size_t size,
    const strangler_diff_line_t *line, const strangler_diffs_t *diffs)
{
    size_t           i, n;
    strangler_out_t  out;

    out.p = buf;
    out.end = buf + size;
    out.len = 0;

    strangler_out_lit(&out, "{\"time\":");
    strangler_out_str(&out, line->time.data, line->time.len);
    strangler_out_lit(&out, ",\"route\":");
    strangler_out_str(&out, line->route.data, line->route.len);
    strangler_out_lit(&out, ",\"method\":");
    strangler_out_str(&out, line->method.data, line->method.len);
    strangler_out_lit(&out, ",\"uri\":");
    strangler_out_str(&out, line->uri.data, line->uri.len);
    strangler_out_lit(&out, ",\"request_id\":");
    strangler_out_str(&out, line->request_id.data, line->request_id.len);

    strangler_out_side(&out, "primary", &line->primary_backend,
                       line->primary_status);
    strangler_out_side(&out, "shadow", &line->shadow_backend,
                       line->shadow_status);

    strangler_out_lit(&out, ",\"diffs\":[");

    n = diffs->count < STRANGLER_DIFF_MAX ? diffs->count : STRANGLER_DIFF_MAX;

    for (i = 0; i < n; i++) {
        if (i) {
            strangler_out_lit(&out, ",");
        }

        strangler_out_diff(&out, &diffs->diff[i]);
    }

    strangler_out_lit(&out, "]");

    if (diffs->count > n) {
        strangler_out_lit(&out, ",\"more\":");
        strangler_out_int(&out, (int) (diffs->count - n));
    }

    strangler_out_noise(&out, diffs, n);

    strangler_out_lit(&out, "}\n");

    return out.len;
}


/* the fields whose verdict was noise, each once: "noise":[...] */

static void
strangler_out_noise(strangler_out_t *out, const strangler_diffs_t *diffs,
    size_t n)
{
    char    field[STRANGLER_DIFF_PATH_LEN], seen[STRANGLER_DIFF_PATH_LEN];
    size_t  i, j, len, listed;

    listed = 0;

    for (i = 0; i < n; i++) {
        if (!diffs->diff[i].noise) {
            continue;
        }

        len = strangler_field_key(diffs->diff[i].path,
                                   strlen(diffs->diff[i].path), field,
                                   sizeof(field));

        for (j = 0; j < i; j++) {
            if (diffs->diff[j].noise) {
                strangler_field_key(diffs->diff[j].path,
                                     strlen(diffs->diff[j].path), seen,
                                     sizeof(seen));

                if (strcmp(seen, field) == 0) {
                    break;
                }
            }
        }

        if (j < i) {
            continue;
        }

        strangler_out_lit(out, listed++ ? "," : ",\"noise\":[");
        strangler_out_str(out, field, len);
    }

    if (listed) {
        strangler_out_lit(out, "]");
    }
}


static void
strangler_out_side(strangler_out_t *out, const char *name,
    const strangler_str_t *backend, int status)
{
    strangler_out_lit(out, ",\"");
    strangler_out_lit(out, name);
    strangler_out_lit(out, "\":{\"backend\":");
    strangler_out_str(out, backend->data, backend->len);
    strangler_out_lit(out, ",\"status\":");
    strangler_out_int(out, status);
    strangler_out_lit(out, "}");
}


static void
strangler_out_diff(strangler_out_t *out, const strangler_diff_t *d)
{
    strangler_out_lit(out, "{\"path\":");
    strangler_out_str(out, d->path, strlen(d->path));

    strangler_out_lit(out, ",\"primary\":");

    if (d->primary_absent) {
        strangler_out_lit(out, "null");

    } else {
        strangler_out_str(out, d->primary, d->primary_len);
    }

    strangler_out_lit(out, ",\"shadow\":");

    if (d->shadow_absent) {
        strangler_out_lit(out, "null");

    } else {
        strangler_out_str(out, d->shadow, d->shadow_len);
    }

    strangler_out_lit(out, "}");
}


static void
strangler_out_raw(strangler_out_t *out, const char *s, size_t len)
{
    size_t  n;

    out->len += len;

    n = (size_t) (out->end - out->p);
    n = len < n ? len : n;

    memcpy(out->p, s, n);
    out->p += n;
}


static void
strangler_out_lit(strangler_out_t *out, const char *s)
{
    strangler_out_raw(out, s, strlen(s));
}


static void
strangler_out_int(strangler_out_t *out, int n)
{
    char  buf[16];

    strangler_out_raw(out, buf, (size_t) snprintf(buf, sizeof(buf), "%d", n));
}


/* a JSON string: controls, quotes and bytes that are not UTF-8 escaped */

static void
strangler_out_str(strangler_out_t *out, const char *s, size_t len)
{
    char                  esc[8];
    size_t                i, n;
    const unsigned char  *p;
    static const char     hex[] = "0123456789abcdef";

    p = (const unsigned char *) s;

    strangler_out_raw(out, "\"", 1);

    for (i = 0; i < len; i += n) {
        n = strangler_utf8_len(p + i, len - i);

        if (n > 1 || (n == 1 && p[i] >= 0x20 && p[i] != '"'
                      && p[i] != '\\'))
        {
            strangler_out_raw(out, s + i, n);
            continue;
        }

        n = 1;

        switch (p[i]) {
        case '"':
            strangler_out_raw(out, "\\\"", 2);
            break;
        case '\\':
            strangler_out_raw(out, "\\\\", 2);
            break;
        case '\n':
            strangler_out_raw(out, "\\n", 2);
            break;
        case '\r':
            strangler_out_raw(out, "\\r", 2);
            break;
        case '\t':
            strangler_out_raw(out, "\\t", 2);
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[p[i] >> 4];
            esc[5] = hex[p[i] & 0x0f];
            strangler_out_raw(out, esc, 6);
        }
    }

    strangler_out_raw(out, "\"", 1);
}


/* the length of the valid UTF-8 character at p, or 0 */

size_t
strangler_utf8_len(const unsigned char *p, size_t len)
{
    size_t    n, i;
    uint32_t  c, min;

    if (p[0] < 0x80) {
        return 1;
    }

    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        c = p[0] & 0x1f;
        min = 0x80;

    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        c = p[0] & 0x0f;
        min = 0x800;

    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        c = p[0] & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (n > len) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}
