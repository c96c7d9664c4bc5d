
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A captured request and its answer as one JSON line, secrets redacted:
 *
 *   {"time", "route", "method", "uri", "request_id",
 *    "headers": [["Name", "value"], ...], "body": BASE64,
 *    "answer": {"status", "headers": {"Name": "value"},
 *               "body": BASE64 | "body_sha256": HEX, "body_length": N}}
 *
 * "body" is absent when the request had none; "body_omitted": true when
 * it was longer than what is kept.  The answer's headers are the ones
 * its route's shadow.headers compares, its body decoded from gzip.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strangler_record.h"


static const char  *strangler_record_secret_headers[] = {
    "Authorization", "Cookie", "Set-Cookie", "Proxy-Authorization"
};


static int strangler_record_is_secret_arg(const strangler_capture_t *capture,
    const char *name, size_t len);
static void strangler_record_redact_walk(json_t *v, const char *p,
    const char *end, int *hits);
static const char *strangler_record_segment(const char *p, const char *end,
    char *key, size_t size, long *index);


int
strangler_record_is_secret_header(const strangler_capture_t *capture,
    const char *name, size_t len)
{
    size_t                  i;
    const char             *h;
    const strangler_str_t  *r;

    for (i = 0; i < sizeof(strangler_record_secret_headers)
                    / sizeof(strangler_record_secret_headers[0]); i++)
    {
        h = strangler_record_secret_headers[i];

        if (strlen(h) == len && strncasecmp(h, name, len) == 0) {
            return 1;
        }
    }

    if (capture == NULL) {
        return 0;
    }

    for (i = 0; i < capture->redact.n; i++) {
        r = &capture->redact.items[i];

        if (r->len == 7 + len && memcmp(r->data, "header:", 7) == 0
            && strncasecmp(r->data + 7, name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
strangler_record_is_secret_arg(const strangler_capture_t *capture,
    const char *name, size_t len)
{
    size_t                  i;
    const strangler_str_t  *r;

    for (i = 0; capture && i < capture->redact.n; i++) {
        r = &capture->redact.items[i];

        /* names case-insensitive, as nginx's $arg_NAME */

        if (r->len == 4 + len && memcmp(r->data, "arg:", 4) == 0
            && strncasecmp(r->data + 4, name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


size_t
strangler_record_redact_uri(const strangler_capture_t *capture,
    const char *uri, size_t len, char *out, size_t size)
{
    size_t       n, room;
    const char  *p, *end, *name, *eq, *amp;

#define strangler_out(d, l)                                                   \
    do {                                                                      \
        room = size - n;                                                      \
        memcpy(out + n, d, (l) < room ? (l) : room);                          \
        n += (l) < room ? (l) : room;                                         \
    } while (0)

    n = 0;
    end = uri + len;
    p = memchr(uri, '?', len);

    if (p == NULL) {
        strangler_out(uri, len);
        return n;
    }

    p++;
    strangler_out(uri, (size_t) (p - uri));

    while (p < end) {
        name = p;
        amp = memchr(p, '&', end - p);
        amp = amp ? amp : end;
        eq = memchr(p, '=', amp - p);

        if (eq && strangler_record_is_secret_arg(capture, name, eq - name)) {
            strangler_out(name, (size_t) (eq + 1 - name));
            strangler_out(STRANGLER_RECORD_REDACTED,
                          sizeof(STRANGLER_RECORD_REDACTED) - 1);

        } else {
            strangler_out(name, (size_t) (amp - name));
        }

        if (amp < end) {
            strangler_out("&", 1);
        }

        p = amp + 1;
    }

#undef strangler_out

    return n;
}


char *
strangler_record_redact_body(const strangler_capture_t *capture,
    const char *body, size_t len, size_t *out_len)
{
    int                     hits;
    char                   *text;
    size_t                  i;
    json_t                 *root;
    const strangler_str_t  *r;

    if (capture == NULL || len == 0) {
        return NULL;
    }

    for (i = 0; i < capture->redact.n; i++) {
        if (capture->redact.items[i].data[0] == '$') {
            break;
        }
    }

    if (i == capture->redact.n) {
        return NULL;
    }

    root = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (root == NULL) {
        return NULL;
    }

    hits = 0;

    for (i = 0; i < capture->redact.n; i++) {
        r = &capture->redact.items[i];

        if (r->data[0] == '$') {
            strangler_record_redact_walk(root, r->data + 1,
                                         r->data + r->len, &hits);
        }
    }

    text = hits ? json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY
                                   | JSON_PRESERVE_ORDER)
                : NULL;

    json_decref(root);

    if (text) {
        *out_len = strlen(text);
    }

    return text;
}


/* the values at one path under v replaced by the redaction mark */

static void
strangler_record_redact_walk(json_t *v, const char *p, const char *end,
    int *hits)
{
    char         key[256];
    long         index;
    size_t       i;
    json_t      *child;
    const char  *next, *k;

    next = strangler_record_segment(p, end, key, sizeof(key), &index);

    if (next == NULL) {
        return;
    }

#define strangler_redact_child(set)                                           \
    if (next == end) {                                                        \
        set;                                                                  \
        (*hits)++;                                                            \
    } else {                                                                  \
        strangler_record_redact_walk(child, next, end, hits);                 \
    }

    if (index == -2) {                     /* [*] */
        if (json_is_object(v)) {
            json_object_foreach(v, k, child) {
                strangler_redact_child(json_object_set_new(v, k,
                    json_string(STRANGLER_RECORD_REDACTED)));
            }

        } else if (json_is_array(v)) {
            json_array_foreach(v, i, child) {
                strangler_redact_child(json_array_set_new(v, i,
                    json_string(STRANGLER_RECORD_REDACTED)));
            }
        }

    } else if (index >= 0) {
        child = json_array_get(v, (size_t) index);

        if (child) {
            strangler_redact_child(json_array_set_new(v, (size_t) index,
                json_string(STRANGLER_RECORD_REDACTED)));
        }

    } else {
        child = json_object_get(v, key);

        if (child) {
            strangler_redact_child(json_object_set_new(v, key,
                json_string(STRANGLER_RECORD_REDACTED)));
        }
    }

#undef strangler_redact_child
}


/*
 * One segment of a path as the loader checked it: .key, ['key'], [N] or
 * [*].  Returns the next one; *index is N, -2 for [*], -1 for a key.
 */

static const char *
strangler_record_segment(const char *p, const char *end, char *key,
    size_t size, long *index)
{
    size_t  n;

    n = 0;
    *index = -1;

    if (p < end && *p == '.') {
        for (p++; p < end && *p != '.' && *p != '['; p++) {
            if (n + 1 < size) {
                key[n++] = *p;
            }
        }

        key[n] = '\0';
        return p;
    }

    if (p + 2 >= end || *p != '[') {
        return NULL;
    }

    p++;

    if (*p == '*') {
        *index = -2;
        return p + 2;
    }

    if (*p == '\'') {
        for (p++; p < end && *p != '\''; p++) {
            if (*p == '\\' && p + 1 < end) {
                p++;
            }

            if (n + 1 < size) {
                key[n++] = *p;
            }
        }

        key[n] = '\0';
        return p + 2 <= end ? p + 2 : NULL;
    }

    *index = 0;

    for ( /* void */ ; p < end && *p >= '0' && *p <= '9'; p++) {
        *index = *index * 10 + (*p - '0');
    }

    return p < end ? p + 1 : NULL;
}


/*
 * The line is written directly, not built as a jansson tree: at a 100%
 * sample it is made for every request, and a tree costs an allocation
 * per value.  Values that are not UTF-8 have their bad bytes as '?'.
 */

typedef struct {
    char                     *buf;
    size_t                    len;
    size_t                    size;
    int                       failed;
} strangler_rec_out_t;


static void strangler_record_answer(strangler_rec_out_t *out,
    const strangler_capture_t *capture, const strangler_record_t *rec);
static void strangler_record_body(strangler_rec_out_t *out,
    const strangler_capture_t *capture, const char *data, size_t len);


static int
strangler_rec_room(strangler_rec_out_t *out, size_t n)
{
    char    *p;
    size_t   size;

    if (out->len + n <= out->size) {
        return 1;
    }

    for (size = out->size ? out->size : 1024; size < out->len + n; size *= 2)
    {
        /* void */
    }

    p = realloc(out->buf, size);

    if (p == NULL) {
        out->failed = 1;
        return 0;
    }

    out->buf = p;
    out->size = size;

    return 1;
}


static void
strangler_rec_raw(strangler_rec_out_t *out, const char *data, size_t len)
{
    if (strangler_rec_room(out, len)) {
        memcpy(out->buf + out->len, data, len);
        out->len += len;
    }
}


#define strangler_rec_lit(out, lit)                                           \
    strangler_rec_raw(out, lit, sizeof(lit) - 1)


/* the length of the UTF-8 sequence at p, 0 if it is not one */

static size_t
strangler_rec_utf8(const unsigned char *p, size_t len)
{
    size_t    n, i;
    uint32_t  c;

    if (p[0] < 0x80) {
        return 1;
    }

    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        c = p[0] & 0x1f;

    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        c = p[0] & 0x0f;

    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        c = p[0] & 0x07;

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

    if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800)
        || (n == 4 && (c < 0x10000 || c > 0x10ffff))
        || (c >= 0xd800 && c <= 0xdfff))
    {
        return 0;
    }

    return n;
}


static void
strangler_rec_str(strangler_rec_out_t *out, const char *data, size_t len)
{
    char                 *d;
    size_t                i, n;
    const unsigned char  *p;
    static const char     hex[] = "0123456789abcdef";

    /* at worst 6 bytes a byte ("\u00XX"), and the quotes */

    if (!strangler_rec_room(out, 6 * len + 2)) {
        return;
    }

    d = out->buf + out->len;
    p = (const unsigned char *) (data ? data : "");
    *d++ = '"';

    for (i = 0; i < len; /* void */) {

        if (p[i] >= 0x80) {
            n = strangler_rec_utf8(p + i, len - i);

            if (n == 0) {
                *d++ = '?';
                i++;

            } else {
                memcpy(d, p + i, n);
                d += n;
                i += n;
            }

            continue;
        }

        switch (p[i]) {
        case '"':
        case '\\':
            *d++ = '\\';
            *d++ = (char) p[i];
            break;
        case '\n':
            *d++ = '\\';
            *d++ = 'n';
            break;
        case '\r':
            *d++ = '\\';
            *d++ = 'r';
            break;
        case '\t':
            *d++ = '\\';
            *d++ = 't';
            break;
        default:
            if (p[i] < 0x20) {
                memcpy(d, "\\u00", 4);
                d[4] = hex[p[i] >> 4];
                d[5] = hex[p[i] & 0x0f];
                d += 6;

            } else {
                *d++ = (char) p[i];
            }
        }

        i++;
    }

    *d++ = '"';
    out->len = d - out->buf;
}


#define strangler_rec_s(out, s)  strangler_rec_str(out, (s).data, (s).len)


static void
strangler_rec_base64(strangler_rec_out_t *out, const char *data, size_t len)
{
    if (strangler_rec_room(out, strangler_base64_encoded_len(len) + 2)) {
        out->buf[out->len++] = '"';
        out->len += strangler_base64_encode((const unsigned char *)
                                            (data ? data : ""), len,
                                            out->buf + out->len);
        out->buf[out->len++] = '"';
    }
}


static void
strangler_rec_int(strangler_rec_out_t *out, long long v)
{
    char  num[24];

    strangler_rec_raw(out, num, (size_t) snprintf(num, sizeof(num), "%lld",
                                                  v));
}


char *
strangler_record_format(const strangler_capture_t *capture,
    const strangler_record_t *rec, size_t *len)
{
    char                      *uri;
    size_t                     i, n, size;
    strangler_rec_out_t        out;
    const strangler_header_t  *h;

    memset(&out, 0, sizeof(strangler_rec_out_t));

    size = rec->uri.len + 16 * (capture ? capture->redact.n : 0);
    uri = malloc(size + 1);

    if (uri == NULL) {
        return NULL;
    }

    n = strangler_record_redact_uri(capture, rec->uri.data, rec->uri.len, uri,
                                    size);

    strangler_rec_lit(&out, "{\"time\":");
    strangler_rec_s(&out, rec->time);
    strangler_rec_lit(&out, ",\"route\":");
    strangler_rec_s(&out, rec->route);
    strangler_rec_lit(&out, ",\"method\":");
    strangler_rec_s(&out, rec->method);
    strangler_rec_lit(&out, ",\"uri\":");
    strangler_rec_str(&out, uri, n);
    strangler_rec_lit(&out, ",\"request_id\":");
    strangler_rec_s(&out, rec->request_id);
    strangler_rec_lit(&out, ",\"headers\":[");

    free(uri);

    for (i = 0; i < rec->nheaders; i++) {
        h = &rec->headers[i];

        strangler_rec_raw(&out, i ? ",[" : "[", i ? 2 : 1);
        strangler_rec_s(&out, h->name);
        strangler_rec_lit(&out, ",");

        if (strangler_record_is_secret_header(capture, h->name.data,
                                              h->name.len))
        {
            strangler_rec_lit(&out, "\"" STRANGLER_RECORD_REDACTED "\"");

        } else {
            strangler_rec_s(&out, h->value);
        }

        strangler_rec_lit(&out, "]");
    }

    strangler_rec_lit(&out, "]");

    if (rec->body_omitted) {
        strangler_rec_lit(&out, ",\"body_omitted\":true");

    } else if (rec->body.data) {
        strangler_rec_lit(&out, ",\"body\":");
        strangler_record_body(&out, capture, rec->body.data, rec->body.len);
    }

    strangler_rec_lit(&out, ",\"answer\":");
    strangler_record_answer(&out, capture, rec);
    strangler_rec_lit(&out, "}\n");

    if (out.failed) {
        free(out.buf);
        return NULL;
    }

    *len = out.len;

    return out.buf;
}


static void
strangler_record_answer(strangler_rec_out_t *out,
    const strangler_capture_t *capture, const strangler_record_t *rec)
{
    size_t                   i, n;
    const strangler_str_t   *name, *value;
    const strangler_body_t  *b;

    strangler_rec_lit(out, "{\"status\":");
    strangler_rec_int(out, rec->status);
    strangler_rec_lit(out, ",\"headers\":{");

    for (i = 0, n = 0; rec->header_names && i < rec->header_names->n; i++) {
        name = &rec->header_names->items[i];
        value = &rec->header_values[i];

        if (value->data == NULL) {
            continue;
        }

        if (n++) {
            strangler_rec_lit(out, ",");
        }

        strangler_rec_s(out, *name);
        strangler_rec_lit(out, ":");

        if (strangler_record_is_secret_header(capture, name->data,
                                              name->len))
        {
            strangler_rec_lit(out, "\"" STRANGLER_RECORD_REDACTED "\"");

        } else {
            strangler_rec_s(out, *value);
        }
    }

    strangler_rec_lit(out, "}");

    b = rec->answer;

    if (b == NULL) {
        /* void */

    } else if (b->error) {
        strangler_rec_lit(out, ",\"body_error\":");
        strangler_rec_str(out, b->error, strlen(b->error));

    } else if (b->sha) {
        strangler_rec_lit(out, ",\"body_sha256\":");
        strangler_rec_str(out, b->digest, strlen(b->digest));
        strangler_rec_lit(out, ",\"body_length\":");
        strangler_rec_int(out, (long long) b->total);

    } else {
        strangler_rec_lit(out, ",\"body\":");
        strangler_record_body(out, capture, (const char *) b->data, b->len);
    }

    strangler_rec_lit(out, "}");
}


static void
strangler_record_body(strangler_rec_out_t *out,
    const strangler_capture_t *capture, const char *data, size_t len)
{
    char    *red;
    size_t   rlen;

    red = strangler_record_redact_body(capture, data, len, &rlen);

    if (red) {
        strangler_rec_base64(out, red, rlen);
        free(red);
        return;
    }

    strangler_rec_base64(out, data, len);
}


static const char  strangler_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


size_t
strangler_base64_encode(const unsigned char *src, size_t len, char *dst)
{
    char           *d;
    unsigned long   v;

    d = dst;

    while (len >= 3) {
        v = (unsigned long) src[0] << 16 | src[1] << 8 | src[2];
        *d++ = strangler_base64_alphabet[v >> 18];
        *d++ = strangler_base64_alphabet[(v >> 12) & 0x3f];
        *d++ = strangler_base64_alphabet[(v >> 6) & 0x3f];
        *d++ = strangler_base64_alphabet[v & 0x3f];
        src += 3;
        len -= 3;
    }

    if (len) {
        v = (unsigned long) src[0] << 16 | (len == 2 ? src[1] << 8 : 0);
        *d++ = strangler_base64_alphabet[v >> 18];
        *d++ = strangler_base64_alphabet[(v >> 12) & 0x3f];
        *d++ = len == 2 ? strangler_base64_alphabet[(v >> 6) & 0x3f] : '=';
        *d++ = '=';
    }

    return d - dst;
}


long
strangler_base64_decode(const char *src, size_t len, unsigned char *dst)
{
    int             c, bits;
    size_t          i;
    unsigned long   v;
    unsigned char  *d;
    const char     *p;

    d = dst;
    v = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '=') {
            break;
        }

        p = strchr(strangler_base64_alphabet, src[i]);

        if (p == NULL || src[i] == '\0') {
            return -1;
        }

        c = (int) (p - strangler_base64_alphabet);
        v = (v << 6) | (unsigned long) c;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            *d++ = (unsigned char) ((v >> bits) & 0xff);
        }
    }

    return (long) (d - dst);
}
