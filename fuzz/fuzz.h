
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Shared by the fuzz targets: a reader that takes typed values off the
 * fuzzer's input (zero once it runs out, so every input is valid), and a
 * check that aborts, so libFuzzer keeps the input that broke an invariant.
 */


#ifndef FUZZ_H_INCLUDED_
#define FUZZ_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    const uint8_t            *p;
    size_t                    left;
} fuzz_input_t;


#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,        \
                    __LINE__, #cond);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)


static inline uint8_t
fuzz_u8(fuzz_input_t *in)
{
    uint8_t  v;

    if (in->left == 0) {
        return 0;
    }

    v = *in->p++;
    in->left--;

    return v;
}


static inline uint32_t
fuzz_u32(fuzz_input_t *in)
{
    uint32_t  v;

    v = fuzz_u8(in);
    v |= (uint32_t) fuzz_u8(in) << 8;
    v |= (uint32_t) fuzz_u8(in) << 16;
    v |= (uint32_t) fuzz_u8(in) << 24;

    return v;
}


/* up to `max` bytes, the length from the input; points into the input */
static inline const char *
fuzz_bytes(fuzz_input_t *in, size_t max, size_t *len)
{
    size_t       n;
    const char  *p;

    n = fuzz_u8(in);
    n = max ? n % (max + 1) : 0;
    n = n < in->left ? n : in->left;

    p = (const char *) in->p;
    in->p += n;
    in->left -= n;
    *len = n;

    return p;
}


/*
 * A length-prefixed chunk that may be long: two bytes of length.  A copy
 * in malloc'd memory exactly that long, so that ASan sees reads past it.
 */
static inline char *
fuzz_chunk(fuzz_input_t *in, size_t *len)
{
    size_t   n;
    char    *p;

    n = fuzz_u8(in);
    n |= (size_t) fuzz_u8(in) << 8;
    n = n < in->left ? n : in->left;

    p = malloc(n ? n : 1);
    if (p == NULL) {
        abort();
    }

    memcpy(p, in->p, n);
    in->p += n;
    in->left -= n;
    *len = n;

    return p;
}


#endif /* FUZZ_H_INCLUDED_ */
