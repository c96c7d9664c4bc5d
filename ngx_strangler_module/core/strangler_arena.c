
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The arena a route table allocates from, and error reporting.  A table is
 * built once and freed whole, so a bump allocator over malloc'd chunks is
 * all it needs: nothing is freed piecemeal.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strangler_core.h"


#define STRANGLER_CHUNK_SIZE  (64 * 1024)
#define STRANGLER_ALIGN       16


typedef struct strangler_chunk_s  strangler_chunk_t;

struct strangler_chunk_s {
    strangler_chunk_t  *next;
    size_t              size;
    size_t              used;
    /* the chunk's memory follows, aligned */
};


struct strangler_arena_s {
    strangler_chunk_t  *chunks;
};


#define STRANGLER_CHUNK_HEADER                                                \
    ((sizeof(strangler_chunk_t) + STRANGLER_ALIGN - 1)                        \
     & ~(size_t) (STRANGLER_ALIGN - 1))

#define strangler_chunk_data(c)  ((char *) (c) + STRANGLER_CHUNK_HEADER)


strangler_arena_t *
strangler_arena_create(void)
{
    return calloc(1, sizeof(strangler_arena_t));
}


void
strangler_arena_destroy(strangler_arena_t *arena)
{
    strangler_chunk_t  *c, *next;

    if (arena == NULL) {
        return;
    }

    for (c = arena->chunks; c; c = next) {
        next = c->next;
        free(c);
    }

    free(arena);
}


void *
strangler_alloc(strangler_arena_t *arena, size_t size)
{
    void               *p;
    size_t              want;
    strangler_chunk_t  *c;

    size = (size + STRANGLER_ALIGN - 1) & ~(size_t) (STRANGLER_ALIGN - 1);
    if (size == 0) {
        size = STRANGLER_ALIGN;
    }

    c = arena->chunks;

    if (c == NULL || c->size - c->used < size) {
        want = size > STRANGLER_CHUNK_SIZE ? size : STRANGLER_CHUNK_SIZE;

        c = malloc(STRANGLER_CHUNK_HEADER + want);
        if (c == NULL) {
            return NULL;
        }

        c->size = want;
        c->used = 0;

        /* a big block gets a chunk of its own behind the current one */
        if (arena->chunks && want > STRANGLER_CHUNK_SIZE) {
            c->next = arena->chunks->next;
            arena->chunks->next = c;

        } else {
            c->next = arena->chunks;
            arena->chunks = c;
        }
    }

    p = strangler_chunk_data(c) + c->used;
    c->used += size;

    return memset(p, 0, size);
}


char *
strangler_strndup(strangler_arena_t *arena, const char *s, size_t n)
{
    char  *p;

    p = strangler_alloc(arena, n + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, n);
    p[n] = '\0';

    return p;
}


void
strangler_error(strangler_errors_t *errs, const char *file, unsigned line,
    unsigned col, const char *fmt, ...)
{
    int       n;
    char     *buf;
    va_list   args;

    if (errs == NULL) {
        return;
    }

    if (errs->count++ >= STRANGLER_MAX_ERRORS) {
        return;
    }

    buf = errs->text[errs->count - 1];

    if (line) {
        n = snprintf(buf, STRANGLER_ERROR_LEN, "%s:%u:%u: ", file, line, col);

    } else {
        n = snprintf(buf, STRANGLER_ERROR_LEN, "%s: ", file);
    }

    if (n < 0 || n >= STRANGLER_ERROR_LEN) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(buf + n, STRANGLER_ERROR_LEN - n, fmt, args);
    va_end(args);
}
