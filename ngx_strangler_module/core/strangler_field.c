
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Fields of a comparison, as statistics count them: the path of a
 * difference with its array indexes folded, so that "$.items[3].id" and
 * "$.items[7].id" are one field, "$.items[*].id", and the number of
 * fields a route can have stays bounded by the shape of its answers, not
 * by their length; and the verdict on a field, by its counts.
 */


#include <ctype.h>
#include <string.h>

#include "strangler_compare.h"


size_t
strangler_field_fold(const char *path, size_t len, char *out, size_t size)
{
    size_t  i, j, n;
    int     quoted;

    if (size == 0) {
        return 0;
    }

    quoted = 0;

    for (i = 0, n = 0; i < len && n + 1 < size; i++) {

        /* ['key'] may hold brackets and digits: copied as it is */

        if (quoted) {
            if (path[i] == '\\' && i + 1 < len) {
                out[n++] = path[i++];

                if (n + 1 >= size) {
                    break;
                }

            } else if (path[i] == '\'') {
                quoted = 0;
            }

            out[n++] = path[i];
            continue;
        }

        if (path[i] == '[' && i + 1 < len && path[i + 1] == '\''
            && n + 2 < size)
        {
            quoted = 1;
            out[n++] = path[i++];
            out[n++] = path[i];
            continue;
        }

        if (path[i] == '[' && i + 1 < len
            && path[i + 1] >= '0' && path[i + 1] <= '9')
        {
            for (j = i + 1; j < len && path[j] >= '0' && path[j] <= '9'; j++) {
                /* void */
            }

            if (j < len && path[j] == ']') {
                if (n + 4 >= size) {
                    break;
                }

                memcpy(out + n, "[*]", 3);
                n += 3;
                i = j;
                continue;
            }
        }

        out[n++] = path[i];
    }

    out[n] = '\0';

    return n;
}


size_t
strangler_field_key(const char *path, size_t len, char *out, size_t size)
{
    size_t  i, n;

    n = strangler_field_fold(path, len, out, size);

    if (n > 7 && memcmp(out, "header:", 7) == 0) {
        for (i = 7; i < n; i++) {
            out[i] = (char) tolower((unsigned char) out[i]);
        }
    }

    return n;
}


int
strangler_field_is_difference(const strangler_field_counts_t *c,
    uint32_t relative_ppm, uint32_t absolute_ppm)
{
    uint64_t     compared, differences, noise_compared, noise_n;
    __uint128_t  raw, noise, gap, scale;

    compared = c->compared;
    differences = c->differences;
    noise_compared = c->noise_compared;
    noise_n = c->noise;

    /* room for the products below: 32 bits of each count are plenty */

    while (compared > 0xffffffff || noise_compared > 0xffffffff) {
        compared >>= 1;
        differences >>= 1;
        noise_compared >>= 1;
        noise_n >>= 1;
    }

    if (compared == 0 || differences == 0) {
        return 0;
    }

    /*
     * raw = differences / compared, noise = noise / noise_compared (0
     * without a noise comparison), both over the common denominator
     * compared * noise_compared.
     */

    if (noise_compared == 0) {
        raw = differences;
        noise = 0;
        scale = compared;

    } else {
        raw = (__uint128_t) differences * noise_compared;
        noise = (__uint128_t) noise_n * compared;
        scale = (__uint128_t) compared * noise_compared;
    }

    if (raw <= noise) {
        return 0;
    }

    gap = raw - noise;

    /* gap / raw > relative, gap / scale > absolute, in ppm */

    return gap * STRANGLER_SAMPLE_SCALE > raw * relative_ppm
           && gap * STRANGLER_SAMPLE_SCALE > scale * absolute_ppm;
}
