
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A response body captured for comparison, a buffer at a time: gzip is
 * decoded on the way (two servers never gzip alike, so only the decoded
 * bytes can be compared), the first `max` bytes are kept, and a longer
 * body is hashed instead, so memory stays bounded whatever the size.
 */


#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "strangler_core.h"
#include "strangler_compare.h"


#define STRANGLER_BODY_FIRST   4096         /* first allocation */
#define STRANGLER_INFLATE_OUT  16384        /* decoded at a time */
#define STRANGLER_INFLATE_MIN  65536        /* the bound for tiny maxima */


static void strangler_body_inflate(strangler_body_t *body,
    const unsigned char *data, size_t len);
static void strangler_body_keep(strangler_body_t *body,
    const unsigned char *data, size_t len);
static int strangler_body_grow(strangler_body_t *body, size_t need);
static void strangler_body_hash(strangler_body_t *body);


void
strangler_body_init(strangler_body_t *body, size_t max, int gzip)
{
    z_stream  *zs;

    memset(body, 0, sizeof(strangler_body_t));
    body->max = max;

    if (!gzip) {
        return;
    }

    zs = calloc(1, sizeof(z_stream));
    if (zs == NULL) {
        body->error = "out of memory";
        return;
    }

    /* 16 + MAX_WBITS: a gzip header and trailer, not a zlib one */

    if (inflateInit2(zs, 16 + MAX_WBITS) != Z_OK) {
        free(zs);
        body->error = "cannot start gzip decoding";
        return;
    }

    body->zs = zs;
}


void
strangler_body_add(strangler_body_t *body, const void *data, size_t len)
{
    if (body->error || len == 0) {
        return;
    }

    body->raw += len;

    if (body->zs) {
        strangler_body_inflate(body, data, len);

    } else {
        strangler_body_keep(body, data, len);
    }
}


void
strangler_body_end(strangler_body_t *body)
{
    size_t          i;
    unsigned char   digest[32];
    static const char  hex[] = "0123456789abcdef";

    if (body->zs && body->raw && !body->gzip_end && body->error == NULL) {
        body->error = "truncated gzip data";
    }

    if (body->sha == NULL || body->error) {
        return;
    }

    strangler_sha256_final(body->sha, digest);

    for (i = 0; i < 32; i++) {
        body->digest[2 * i] = hex[digest[i] >> 4];
        body->digest[2 * i + 1] = hex[digest[i] & 0x0f];
    }

    body->digest[64] = '\0';
}


void
strangler_body_free(strangler_body_t *body)
{
    if (body->zs) {
        inflateEnd(body->zs);
        free(body->zs);
        body->zs = NULL;
    }

    free(body->sha);
    free(body->data);

    body->sha = NULL;
    body->data = NULL;
}


static void
strangler_body_inflate(strangler_body_t *body, const unsigned char *data,
    size_t len)
{
    int             rc;
    size_t          n;
    uint64_t        limit;
    z_stream       *zs;
    unsigned char   out[STRANGLER_INFLATE_OUT];

    limit = (uint64_t) (body->max > STRANGLER_INFLATE_MIN
                        ? body->max : STRANGLER_INFLATE_MIN)
            * STRANGLER_INFLATE_RATIO;

    zs = body->zs;
    zs->next_in = (unsigned char *) data;
    zs->avail_in = (uInt) len;

    while (zs->avail_in && body->error == NULL) {

        if (body->gzip_end) {
            /* concatenated gzip members decode as one body */
            inflateReset(zs);
            body->gzip_end = 0;
        }

        zs->next_out = out;
        zs->avail_out = sizeof(out);

        rc = inflate(zs, Z_NO_FLUSH);

        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            body->error = "bad gzip data";
            return;
        }

        n = sizeof(out) - zs->avail_out;

        if (rc == Z_BUF_ERROR && n == 0) {
            return;
        }

        body->gzip_end = (rc == Z_STREAM_END);

        /* a gzip bomb must not keep the event loop busy */

        if (body->total + n > limit) {
            body->error = "gzip data expands too much";
            return;
        }

        strangler_body_keep(body, out, n);
    }
}


static void
strangler_body_keep(strangler_body_t *body, const unsigned char *data,
    size_t len)
{
    if (len == 0) {
        return;
    }

    body->total += len;

    if (body->sha == NULL && body->len + len > body->max) {
        strangler_body_hash(body);

        if (body->error) {
            return;
        }
    }

    if (body->sha) {
        strangler_sha256_update(body->sha, data, len);
        return;
    }

    if (strangler_body_grow(body, body->len + len) != 0) {
        return;
    }

    memcpy(body->data + body->len, data, len);
    body->len += len;
}


static int
strangler_body_grow(strangler_body_t *body, size_t need)
{
    size_t          size;
    unsigned char  *p;

    if (need <= body->size) {
        return 0;
    }

    size = body->size ? body->size : STRANGLER_BODY_FIRST;

    while (size < need) {
        size *= 2;
    }

    if (size > body->max) {
        size = body->max;
    }

    p = realloc(body->data, size);
    if (p == NULL) {
        body->error = "out of memory";
        return -1;
    }

    body->data = p;
    body->size = size;

    return 0;
}


/* over the bound: what was kept goes into the hash, and is let go */

static void
strangler_body_hash(strangler_body_t *body)
{
    body->sha = malloc(sizeof(strangler_sha256_t));
    if (body->sha == NULL) {
        body->error = "out of memory";
        return;
    }

    strangler_sha256_init(body->sha);

    if (body->len) {
        strangler_sha256_update(body->sha, body->data, body->len);
    }

    free(body->data);
    body->data = NULL;
    body->len = 0;
    body->size = 0;
}
