
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * SHA-256 (FIPS 180-4), for the route table's checksum.  The status API
 * shows it so that an operator can tell which file every node runs; a
 * dependency on a crypto library for that would be out of proportion.
 */


#include <stdint.h>
#include <string.h>

#include "strangler_core.h"


static void strangler_sha256_block(uint32_t st[8], const unsigned char *p);


static const uint32_t  strangler_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
    0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};


#define strangler_ror(x, n)  (((x) >> (n)) | ((x) << (32 - (n))))


void
strangler_sha256_hex(const void *data, size_t len, char *out)
{
    size_t               i;
    unsigned char        digest[32];
    strangler_sha256_t   ctx;
    static const char    hex[] = "0123456789abcdef";

    strangler_sha256_init(&ctx);
    strangler_sha256_update(&ctx, data, len);
    strangler_sha256_final(&ctx, digest);

    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }

    out[64] = '\0';
}


void
strangler_sha256_init(strangler_sha256_t *ctx)
{
    static const uint32_t  iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    };

    memcpy(ctx->h, iv, sizeof(iv));
    ctx->len = 0;
    ctx->used = 0;
}


void
strangler_sha256_update(strangler_sha256_t *ctx, const void *data,
    size_t len)
{
    size_t                n;
    const unsigned char  *p;

    p = data;

    ctx->len += len;

    if (ctx->used) {
        n = 64 - ctx->used;
        n = len < n ? len : n;

        memcpy(ctx->block + ctx->used, p, n);
        ctx->used += n;
        p += n;
        len -= n;

        if (ctx->used < 64) {
            return;
        }

        strangler_sha256_block(ctx->h, ctx->block);
        ctx->used = 0;
    }

    while (len >= 64) {
        strangler_sha256_block(ctx->h, p);
        p += 64;
        len -= 64;
    }

    memcpy(ctx->block, p, len);
    ctx->used = len;
}


void
strangler_sha256_final(strangler_sha256_t *ctx, unsigned char out[32])
{
    int       i;
    uint64_t  bits;

    bits = ctx->len * 8;

    /* the padding: a 1 bit, zeros, then the length in bits, big-endian */
    ctx->block[ctx->used++] = 0x80;

    if (ctx->used > 56) {
        memset(ctx->block + ctx->used, 0, 64 - ctx->used);
        strangler_sha256_block(ctx->h, ctx->block);
        ctx->used = 0;
    }

    memset(ctx->block + ctx->used, 0, 56 - ctx->used);

    for (i = 0; i < 8; i++) {
        ctx->block[63 - i] = (unsigned char) (bits >> (8 * i));
    }

    strangler_sha256_block(ctx->h, ctx->block);

    for (i = 0; i < 32; i++) {
        out[i] = (unsigned char) (ctx->h[i / 4] >> (24 - 8 * (i % 4)));
    }
}


static void
strangler_sha256_block(uint32_t st[8], const unsigned char *p)
{
    int       i;
    uint32_t  w[64], s0, s1, t1, t2, ch, maj;
    uint32_t  a, b, c, d, e, f, g, h;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16
               | (uint32_t) p[4 * i + 2] << 8 | (uint32_t) p[4 * i + 3];
    }

    for (i = 16; i < 64; i++) {
        s0 = strangler_ror(w[i - 15], 7) ^ strangler_ror(w[i - 15], 18)
             ^ (w[i - 15] >> 3);
        s1 = strangler_ror(w[i - 2], 17) ^ strangler_ror(w[i - 2], 19)
             ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }

    a = st[0]; b = st[1]; c = st[2]; d = st[3];
    e = st[4]; f = st[5]; g = st[6]; h = st[7];

    for (i = 0; i < 64; i++) {
        s1 = strangler_ror(e, 6) ^ strangler_ror(e, 11) ^ strangler_ror(e, 25);
        ch = (e & f) ^ (~e & g);
        t1 = h + s1 + ch + strangler_sha256_k[i] + w[i];
        s0 = strangler_ror(a, 2) ^ strangler_ror(a, 13) ^ strangler_ror(a, 22);
        maj = (a & b) ^ (a & c) ^ (b & c);
        t2 = s0 + maj;

        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }

    st[0] += a; st[1] += b; st[2] += c; st[3] += d;
    st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}
