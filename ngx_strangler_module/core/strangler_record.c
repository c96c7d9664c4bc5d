
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


static json_t *strangler_record_body(const strangler_capture_t *capture,
    const char *data, size_t len);
static json_t *strangler_record_answer(const strangler_capture_t *capture,
    const strangler_record_t *rec);
static int strangler_record_is_secret_arg(const strangler_capture_t *capture,
    const char *name, size_t len);
static void strangler_record_redact_walk(json_t *v, const char *p,
    const char *end, int *hits);
static const char *strangler_record_segment(const char *p, const char *end,
    char *key, size_t size, long *index);


#define strangler_json_strn(s)                                                \
    json_stringn_nocheck((s).data ? (s).data : "", (s).len)


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


char *
strangler_record_format(const strangler_capture_t *capture,
    const strangler_record_t *rec, size_t *len)
{
    char                      *line, *uri;
    size_t                     i, n;
    json_t                    *j, *headers, *body;
    const strangler_header_t  *h;

    uri = malloc(rec->uri.len + 16 * (capture ? capture->redact.n : 0) + 1);
    if (uri == NULL) {
        return NULL;
    }

    n = strangler_record_redact_uri(capture, rec->uri.data, rec->uri.len, uri,
                                    rec->uri.len
                                    + 16 * (capture ? capture->redact.n : 0));

    headers = json_array();

    for (i = 0; i < rec->nheaders; i++) {
        h = &rec->headers[i];

        json_array_append_new(headers, json_pack("[o, o]",
            strangler_json_strn(h->name),
            strangler_record_is_secret_header(capture, h->name.data,
                                              h->name.len)
            ? json_string(STRANGLER_RECORD_REDACTED)
            : strangler_json_strn(h->value)));
    }

    j = json_pack("{s:o, s:o, s:o, s:s%, s:o, s:o}",
                  "time", strangler_json_strn(rec->time),
                  "route", strangler_json_strn(rec->route),
                  "method", strangler_json_strn(rec->method),
                  "uri", uri, n,
                  "request_id", strangler_json_strn(rec->request_id),
                  "headers", headers);

    free(uri);

    if (j == NULL) {
        return NULL;
    }

    if (rec->body_omitted) {
        json_object_set_new(j, "body_omitted", json_true());

    } else if (rec->body.data) {
        body = strangler_record_body(capture, rec->body.data, rec->body.len);
        json_object_set_new(j, "body", body);
    }

    json_object_set_new(j, "answer", strangler_record_answer(capture, rec));

    line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);

    if (line == NULL) {
        return NULL;
    }

    n = strlen(line);

    /* json_dumps() allocated n + 1 bytes: the NUL's room takes the '\n' */

    line[n] = '\n';
    *len = n + 1;

    return line;
}


static json_t *
strangler_record_answer(const strangler_capture_t *capture,
    const strangler_record_t *rec)
{
    size_t                   i;
    json_t                  *a, *headers;
    const strangler_str_t   *name, *value;
    const strangler_body_t  *b;

    a = json_pack("{s:i}", "status", rec->status);
    headers = json_object();

    for (i = 0; rec->header_names && i < rec->header_names->n; i++) {
        name = &rec->header_names->items[i];
        value = &rec->header_values[i];

        if (value->data == NULL) {
            continue;
        }

        json_object_setn_new(headers, name->data, name->len,
            strangler_record_is_secret_header(capture, name->data, name->len)
            ? json_string(STRANGLER_RECORD_REDACTED)
            : strangler_json_strn(*value));
    }

    json_object_set_new(a, "headers", headers);

    b = rec->answer;

    if (b == NULL) {
        return a;
    }

    if (b->error) {
        json_object_set_new(a, "body_error", json_string(b->error));

    } else if (b->sha) {
        json_object_set_new(a, "body_sha256", json_string(b->digest));
        json_object_set_new(a, "body_length", json_integer(b->total));

    } else {
        json_object_set_new(a, "body",
                            strangler_record_body(capture,
                                                  (const char *) b->data,
                                                  b->len));
    }

    return a;
}


static json_t *
strangler_record_body(const strangler_capture_t *capture, const char *data,
    size_t len)
{
    char    *text, *red;
    size_t   n, rlen;
    json_t  *s;

    red = strangler_record_redact_body(capture, data, len, &rlen);

    if (red) {
        data = red;
        len = rlen;
    }

    text = malloc(strangler_base64_encoded_len(len) + 1);

    if (text == NULL) {
        free(red);
        return json_null();
    }

    n = strangler_base64_encode((const unsigned char *) (data ? data : ""),
                                len, text);
    s = json_stringn_nocheck(text, n);

    free(text);
    free(red);

    return s;
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
