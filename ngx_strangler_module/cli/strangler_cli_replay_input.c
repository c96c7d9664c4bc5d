
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The input of `strangler replay`: capture files (one JSON record per
 * line, core/strangler_record.c) and GoReplay's .gor files (payloads
 * separated by "\n🐵🙈🙉\n", each a header line "TYPE ID TIME LATENCY"
 * and the raw HTTP message; only requests, type 1, are read).  A record
 * that is neither is skipped with a warning naming it.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strangler_cli_replay.h"


#define STRANGLER_GOR_SEPARATOR  "\xf0\x9f\x90\xb5\xf0\x9f\x99\x88" \
                                 "\xf0\x9f\x99\x89\n"


static int strangler_replay_open_file(strangler_replay_input_t *in);
static int strangler_replay_is_gor(const char *file, FILE *f);
static int strangler_replay_json(strangler_replay_input_t *in,
    const char *line, size_t len, strangler_replay_item_t *item);
static int strangler_replay_gor(strangler_replay_input_t *in,
    strangler_replay_item_t *item);
static int strangler_replay_http(const char *p, size_t len,
    strangler_replay_item_t *item);
static size_t strangler_replay_dechunk(unsigned char *p, size_t len);
static int strangler_replay_header_add(strangler_replay_item_t *item,
    const char *name, size_t nlen, const char *value, size_t vlen);


int
strangler_replay_input_open(strangler_replay_input_t *in, char **files,
    size_t n)
{
    memset(in, 0, sizeof(strangler_replay_input_t));

    in->files = files;
    in->nfiles = n;

    return strangler_replay_open_file(in);
}


static int
strangler_replay_open_file(strangler_replay_input_t *in)
{
    const char  *file;

    if (in->file >= in->nfiles) {
        return 0;
    }

    file = in->files[in->file];
    in->f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");

    if (in->f == NULL) {
        fprintf(stderr, "strangler replay: %s: %s\n", file, strerror(errno));
        return -1;
    }

    in->gor = strangler_replay_is_gor(file, in->f);
    in->lineno = 0;

    return 1;
}


/* by its name, or by its first byte: a capture file starts with '{' */

static int
strangler_replay_is_gor(const char *file, FILE *f)
{
    int     c;
    size_t  len;

    len = strlen(file);

    if (len > 4 && strcmp(file + len - 4, ".gor") == 0) {
        return 1;
    }

    c = getc(f);

    if (c == EOF) {
        return 0;
    }

    ungetc(c, f);

    return c >= '1' && c <= '3';
}


int
strangler_replay_input_next(strangler_replay_input_t *in,
    strangler_replay_item_t *item)
{
    int      rc;
    ssize_t  len;

    for ( ;; ) {
        if (in->f == NULL) {
            return 0;
        }

        if (in->gor) {
            rc = strangler_replay_gor(in, item);

        } else {
            len = getline(&in->line, &in->size, in->f);

            if (len < 0) {
                rc = 0;

            } else {
                in->lineno++;
                rc = strangler_replay_json(in, in->line, (size_t) len, item);

                if (rc == 0) {
                    continue;   /* an empty or bad line */
                }
            }
        }

        if (rc != 0) {
            return rc;
        }

        /* this file is done: the next one */

        if (in->f != stdin) {
            fclose(in->f);
        }

        in->f = NULL;
        in->file++;

        if (strangler_replay_open_file(in) < 0) {
            return -1;
        }
    }
}


void
strangler_replay_input_close(strangler_replay_input_t *in)
{
    if (in->f && in->f != stdin) {
        fclose(in->f);
    }

    in->f = NULL;
    free(in->line);
    in->line = NULL;
}


/* the records of the files, for the progress line's estimate */

size_t
strangler_replay_input_count(char **files, size_t n)
{
    int      gor, header;
    FILE    *f;
    char    *line;
    size_t   i, count, size;
    ssize_t  len;

    count = 0;
    line = NULL;
    size = 0;

    for (i = 0; i < n; i++) {
        if (strcmp(files[i], "-") == 0 || (f = fopen(files[i], "r")) == NULL) {
            continue;
        }

        gor = strangler_replay_is_gor(files[i], f);
        header = 1;

        while ((len = getline(&line, &size, f)) >= 0) {
            if (!gor) {
                count += len > 1;

            } else if (header) {
                count += line[0] == '1';
                header = 0;

            } else if (strcmp(line, STRANGLER_GOR_SEPARATOR) == 0) {
                header = 1;
            }
        }

        fclose(f);
    }

    free(line);

    return count;
}


void
strangler_replay_item_free(strangler_replay_item_t *item)
{
    size_t  i;

    for (i = 0; i < item->nheaders; i++) {
        free((char *) item->headers[i].name.data);
        free((char *) item->headers[i].value.data);
    }

    free(item->headers);
    free(item->method);
    free(item->uri);
    free(item->body);
    free(item->request_id);
    json_decref(item->answer);

    memset(item, 0, sizeof(strangler_replay_item_t));
}


/* a capture record: 1, or 0 (skipped) */

static int
strangler_replay_json(strangler_replay_input_t *in, const char *line,
    size_t len, strangler_replay_item_t *item)
{
    char          where[512];
    long          n;
    size_t        i;
    json_t       *j, *v, *h, *name, *value;
    const char   *id, *file, *b64;
    json_error_t  err;

    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }

    if (len == 0) {
        return 0;
    }

    file = in->files[in->file];
    memset(item, 0, sizeof(strangler_replay_item_t));

    j = json_loadb(line, len, 0, &err);

    if (!json_is_string(json_object_get(j, "method"))
        || !json_is_string(json_object_get(j, "uri")))
    {
        fprintf(stderr, "strangler replay: %s:%zu: not a capture record, "
                "skipped\n", file, in->lineno);
        in->bad++;
        json_decref(j);
        return 0;
    }

    item->method = strdup(json_string_value(json_object_get(j, "method")));
    item->uri = strdup(json_string_value(json_object_get(j, "uri")));

    id = json_string_value(json_object_get(j, "request_id"));

    if (id == NULL || id[0] == '\0') {
        snprintf(where, sizeof(where), "%s:%zu", file, in->lineno);
        id = where;
    }

    item->request_id = strdup(id);

    /* the redacted headers are not sent: no credentials are better */

    json_array_foreach(json_object_get(j, "headers"), i, h) {
        name = json_array_get(h, 0);
        value = json_array_get(h, 1);

        if (!json_is_string(name) || !json_is_string(value)
            || strcmp(json_string_value(value), STRANGLER_RECORD_REDACTED)
               == 0)
        {
            continue;
        }

        if (strangler_replay_header_add(item, json_string_value(name),
                                        json_string_length(name),
                                        json_string_value(value),
                                        json_string_length(value))
            != 0)
        {
            json_decref(j);
            return -1;
        }
    }

    v = json_object_get(j, "body");
    b64 = json_string_value(v);

    if (b64) {
        item->body = malloc(json_string_length(v) / 4 * 3 + 3);
        n = item->body ? strangler_base64_decode(b64, json_string_length(v),
                                                 item->body)
                       : -1;
        item->body_len = n > 0 ? (size_t) n : 0;
    }

    item->body_omitted = json_is_true(json_object_get(j, "body_omitted"));

    v = json_object_get(j, "answer");

    if (json_is_object(v)) {
        item->answer = json_incref(v);
    }

    json_decref(j);

    return item->method && item->uri && item->request_id ? 1 : -1;
}


/* the next request of a .gor file: 1, 0 at its end */

static int
strangler_replay_gor(strangler_replay_input_t *in,
    strangler_replay_item_t *item)
{
    int      type;
    char    *msg, *p, where[512];
    size_t   mlen, msize;
    ssize_t  len;

    for ( ;; ) {
        /* the header line */

        len = getline(&in->line, &in->size, in->f);

        if (len < 0) {
            return 0;
        }

        in->lineno++;

        if (len <= 1) {
            continue;
        }

        type = in->line[0];
        snprintf(where, sizeof(where), "%s:%zu", in->files[in->file],
                 in->lineno);

        /* the payload, up to the separator */

        msg = NULL;
        mlen = 0;
        msize = 0;

        while ((len = getline(&in->line, &in->size, in->f)) >= 0) {
            in->lineno++;

            if (strcmp(in->line, STRANGLER_GOR_SEPARATOR) == 0) {
                break;
            }

            if (mlen + len + 1 > msize) {
                msize = (mlen + len + 1) * 2;
                p = realloc(msg, msize);

                if (p == NULL) {
                    free(msg);
                    return -1;
                }

                msg = p;
            }

            memcpy(msg + mlen, in->line, len);
            mlen += len;
        }

        /* the newline before the separator is not the payload's */

        if (mlen && msg[mlen - 1] == '\n') {
            mlen--;
        }

        if (type != '1') {
            free(msg);
            continue;
        }

        memset(item, 0, sizeof(strangler_replay_item_t));

        if (msg == NULL || strangler_replay_http(msg, mlen, item) != 0) {
            fprintf(stderr, "strangler replay: %s: not an HTTP request, "
                    "skipped\n", where);
            in->bad++;
            free(msg);
            strangler_replay_item_free(item);
            continue;
        }

        free(msg);

        item->request_id = strdup(where);

        return item->request_id ? 1 : -1;
    }
}


/* "METHOD URI HTTP/1.x", headers, a blank line, the body */

static int
strangler_replay_http(const char *p, size_t len, strangler_replay_item_t *item)
{
    int          chunked;
    size_t       clen, n;
    const char  *end, *eol, *sp, *colon, *v, *ve;

    end = p + len;
    eol = memchr(p, '\n', len);

    if (eol == NULL) {
        return -1;
    }

    sp = memchr(p, ' ', eol - p);

    if (sp == NULL || sp == p) {
        return -1;
    }

    item->method = strndup(p, sp - p);

    for (v = ++sp; v < eol && *v != ' ' && *v != '\r'; v++) { /* void */ }

    if (v == sp) {
        return -1;
    }

    item->uri = strndup(sp, v - sp);

    chunked = 0;
    clen = (size_t) -1;

    for (p = eol + 1; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);
        eol = eol ? eol : end;
        ve = eol > p && eol[-1] == '\r' ? eol - 1 : eol;

        if (ve == p) {
            p = eol < end ? eol + 1 : end;
            break;
        }

        colon = memchr(p, ':', ve - p);

        if (colon == NULL) {
            return -1;
        }

        for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++) {
            /* void */
        }

        if (colon - p == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
            clen = strtoul(v, NULL, 10);
        }

        if (colon - p == 17
            && strncasecmp(p, "Transfer-Encoding", 17) == 0)
        {
            chunked = ve - v == 7 && strncasecmp(v, "chunked", 7) == 0;
            continue;
        }

        if (strangler_replay_header_add(item, p, colon - p, v, ve - v) != 0) {
            return -1;
        }
    }

    n = p < end ? (size_t) (end - p) : 0;

    if (clen != (size_t) -1 && clen < n) {
        n = clen;
    }

    if (n || clen != (size_t) -1 || chunked) {
        item->body = malloc(n + 1);

        if (item->body == NULL) {
            return -1;
        }

        memcpy(item->body, p, n);
        item->body_len = chunked ? strangler_replay_dechunk(item->body, n)
                                 : n;
    }

    return item->method && item->uri ? 0 : -1;
}


/* a chunked body decoded in place */

static size_t
strangler_replay_dechunk(unsigned char *p, size_t len)
{
    char           *end;
    size_t          in, out, size;
    unsigned char  *eol;

    in = 0;
    out = 0;

    while (in < len) {
        size = strtoul((char *) p + in, &end, 16);
        eol = memchr(p + in, '\n', len - in);

        if (eol == NULL || size == 0) {
            break;
        }

        in = eol - p + 1;

        if (size > len - in) {
            size = len - in;
        }

        memmove(p + out, p + in, size);
        out += size;
        in += size;

        while (in < len && (p[in] == '\r' || p[in] == '\n')) {
            in++;
        }
    }

    return out;
}


static int
strangler_replay_header_add(strangler_replay_item_t *item, const char *name,
    size_t nlen, const char *value, size_t vlen)
{
    strangler_header_t  *h;

    h = realloc(item->headers,
                (item->nheaders + 1) * sizeof(strangler_header_t));
    if (h == NULL) {
        return -1;
    }

    item->headers = h;
    h = &h[item->nheaders];

    h->name.data = strndup(name, nlen);
    h->name.len = nlen;
    h->value.data = strndup(value, vlen);
    h->value.len = vlen;

    if (h->name.data == NULL || h->value.data == NULL) {
        return -1;
    }

    item->nheaders++;

    return 0;
}
