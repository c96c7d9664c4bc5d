
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Private interfaces between the parts of the route-table core: the arena
 * every table allocates from, error reporting, and the path index.
 */


#ifndef STRANGLER_CORE_H_INCLUDED_
#define STRANGLER_CORE_H_INCLUDED_


#include "strangler_table.h"


/* arena: all of a table's memory, released at once */
strangler_arena_t *strangler_arena_create(void);
void strangler_arena_destroy(strangler_arena_t *arena);
void *strangler_alloc(strangler_arena_t *arena, size_t size);  /* zeroed */
char *strangler_strndup(strangler_arena_t *arena, const char *s, size_t n);


/* n bytes of a and b are equal, ASCII letters case-insensitively */
int strangler_is_caseless(const char *a, const char *b, size_t n);


/* "file:line:col: message"; line 0 leaves out line and column */
void strangler_error(strangler_errors_t *errs, const char *file,
    unsigned line, unsigned col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;


/* the hex SHA-256 of a buffer, into out[65] */
void strangler_sha256_hex(const void *data, size_t len, char *out);

/* the same, incrementally: for bodies seen a buffer at a time */
typedef struct {
    uint32_t                  h[8];
    uint64_t                  len;        /* bytes hashed so far */
    unsigned char             block[64];
    size_t                    used;       /* bytes waiting in block */
} strangler_sha256_t;

void strangler_sha256_init(strangler_sha256_t *ctx);
void strangler_sha256_update(strangler_sha256_t *ctx, const void *data,
    size_t len);
void strangler_sha256_final(strangler_sha256_t *ctx, unsigned char out[32]);


/*
 * The path index.  Patterns, as written in `paths`:
 *   /a/b           exact
 *   /a/{id}/c      template: {name} is exactly one non-empty segment
 *   /a/{id}/ *     prefix: a final "*" segment matches the rest, "" too
 *   ~ ^/a/[0-9]+$  PCRE2 regex, "~*" case-insensitive
 */

typedef enum {
    STRANGLER_ADD_OK = 0,
    STRANGLER_ADD_CONFLICT,     /* *conflict claims a method already */
    STRANGLER_ADD_BAD_PATTERN   /* err holds why, *err_offset where */
} strangler_add_rc_t;


strangler_index_t *strangler_index_create(strangler_arena_t *arena);

/* adds one pattern of a route (route->methods must be set already) */
strangler_add_rc_t strangler_index_add(strangler_index_t *index,
    const strangler_route_t *route, const char *pattern, size_t len,
    const strangler_route_t **conflict, char *err, size_t err_len,
    size_t *err_offset);

/* after the last add: builds lookup structures, JIT-compiles regexes */
int strangler_index_finish(strangler_index_t *index, char *err,
    size_t err_len);

void strangler_index_match(const strangler_index_t *index,
    strangler_method_t method, const char *path, size_t len,
    strangler_match_t *match);

/* releases what the arena does not own (PCRE2 codes, match data) */
void strangler_index_free(strangler_index_t *index);


#endif /* STRANGLER_CORE_H_INCLUDED_ */
