
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The comparer's arena: the tables of objects compared by key, of
 * `unordered` arrays and decoded keys come from a few chunks, freed to a
 * mark when their frame ends and reused by the next; nothing is freed
 * piecemeal, and no value costs a malloc.
 */


#include <stdlib.h>

#include "strangler_json.h"


#define SJ_CHUNK_MIN    (16 * 1024)
#define SJ_ALIGN        16
#define SJ_MARK_SHIFT   40


void *
sj_alloc(sj_arena_t *a, size_t size)
{
    char    *c, **chunks;
    size_t   want, *sizes, n;

    size = (size + SJ_ALIGN - 1) & ~(size_t) (SJ_ALIGN - 1);

    if (a->n && a->size[a->cur] - a->used >= size) {
        c = a->chunk[a->cur] + a->used;
        a->used += size;
        return c;
    }

    /* the next chunk, if it is big enough, else a new one there */

    n = a->n ? a->cur + 1 : 0;

    if (n < a->n && a->size[n] >= size) {
        a->cur = n;
        a->used = size;
        return a->chunk[n];
    }

    want = (n ? a->size[n - 1] * 2 : SJ_CHUNK_MIN);
    want = want > size ? want : size;

    c = malloc(want);
    if (c == NULL) {
        return NULL;
    }

    if (n == a->n) {
        if (a->n == a->nalloc) {
            chunks = realloc(a->chunk, (a->nalloc + 8) * sizeof(char *));
            if (chunks == NULL) {
                free(c);
                return NULL;
            }

            a->chunk = chunks;

            sizes = realloc(a->size, (a->nalloc + 8) * sizeof(size_t));
            if (sizes == NULL) {
                free(c);
                return NULL;
            }

            a->size = sizes;
            a->nalloc += 8;
        }

        a->n++;

    } else {
        free(a->chunk[n]);
    }

    a->chunk[n] = c;
    a->size[n] = want;
    a->cur = n;
    a->used = size;

    return c;
}


size_t
sj_arena_mark(sj_arena_t *a)
{
    return ((size_t) a->cur << SJ_MARK_SHIFT) | a->used;
}


void
sj_arena_release(sj_arena_t *a, size_t mark)
{
    a->cur = mark >> SJ_MARK_SHIFT;
    a->used = mark & (((size_t) 1 << SJ_MARK_SHIFT) - 1);
}


void
sj_arena_free(sj_arena_t *a)
{
    size_t  i;

    for (i = 0; i < a->n; i++) {
        free(a->chunk[i]);
    }

    free(a->chunk);
    free(a->size);
}
