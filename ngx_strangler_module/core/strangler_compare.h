
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Comparing a response with its shadow: the captured bodies (kept up to a
 * bound, hashed beyond it, gzip decoded), the comparison a route's `shadow`
 * block asks for, and the diff log line.  Plain C (zlib), no nginx types,
 * so that the unit tests and the fuzzers run the code nginx runs.
 */


#ifndef STRANGLER_COMPARE_H_INCLUDED_
#define STRANGLER_COMPARE_H_INCLUDED_


#include "strangler_table.h"


#define STRANGLER_DIFF_MAX         16   /* differences kept per comparison */
#define STRANGLER_DIFF_PATH_LEN    160
#define STRANGLER_DIFF_VALUE_LEN   160  /* longer values end in "..." */
#define STRANGLER_INFLATE_RATIO    64   /* gzip may decode to 64 x max */


/*
 * A response body as it streams by: the first `max` decoded bytes are
 * kept; a longer body is hashed (SHA-256) and only the digest is kept.
 */
typedef struct {
    size_t                    max;
    unsigned char            *data;       /* NULL once hashed */
    size_t                    len;
    size_t                    size;       /* allocated */
    uint64_t                  total;      /* decoded bytes seen */
    uint64_t                  raw;        /* bytes seen, before decoding */
    void                     *sha;        /* strangler_sha256_t, once hashed */
    void                     *zs;         /* z_stream, gzip only */
    const char               *error;      /* why it cannot be compared */
    char                      digest[65]; /* hex, once hashed and ended */
    unsigned                  gzip_end:1; /* the gzip stream ended */
} strangler_body_t;


void strangler_body_init(strangler_body_t *body, size_t max, int gzip);
void strangler_body_add(strangler_body_t *body, const void *data,
    size_t len);
void strangler_body_end(strangler_body_t *body);
void strangler_body_free(strangler_body_t *body);


/* what is compared of one side */
typedef struct {
    int                       status;
    strangler_str_t          *headers;    /* per shadow.headers; data NULL:
                                             absent */
    strangler_body_t         *body;       /* NULL: not captured */
} strangler_response_t;


/* values are NUL-terminated, and may hold NULs of a binary body too */
typedef struct {
    char                      path[STRANGLER_DIFF_PATH_LEN];
    char                      primary[STRANGLER_DIFF_VALUE_LEN];
    char                      shadow[STRANGLER_DIFF_VALUE_LEN];
    size_t                    primary_len;
    size_t                    shadow_len;
    unsigned                  primary_absent:1;
    unsigned                  shadow_absent:1;
    unsigned                  noise:1;    /* its field's verdict: noise */
} strangler_diff_t;


typedef struct {
    size_t                    count;      /* found; the first ones are kept */
    strangler_diff_t          diff[STRANGLER_DIFF_MAX];
} strangler_diffs_t;


/*
 * Status, the listed headers (less "header:Name" ignores), then the body
 * as `compare` says.  Returns the number of differences.
 */
size_t strangler_compare(const strangler_shadow_t *conf,
    const strangler_response_t *primary, const strangler_response_t *shadow,
    strangler_diffs_t *diffs);


/*
 * The streaming JSON comparer (strangler_json_*.c): fed each side's bytes
 * as they come, run in slices of bounded work.  No DOM: a stack of the
 * containers it is in, and a hash of keys for an object whose keys come
 * in another order.
 */

typedef struct strangler_jcmp_s  strangler_jcmp_t;

#define STRANGLER_JCMP_DONE   0   /* the differences are in diffs */
#define STRANGLER_JCMP_AGAIN  1   /* the budget is spent: run again */
#define STRANGLER_JCMP_MORE   2   /* a side's next bytes are needed */

/*
 * The work of one slice: bytes scanned, plus SJ_FRAME_WORK a value and a
 * few a key looked up or an element paired; about 1 ms of CPU on the
 * slowest shapes (bench/jslice.c: 0.6 to 1.1 ms on a 2-core VM in 2026)
 */
#define STRANGLER_JCMP_SLICE  (512 * 1024)

/* NULL when out of memory; differences are added to diffs */
strangler_jcmp_t *strangler_jcmp_create(const strangler_shadow_t *conf,
    strangler_diffs_t *diffs);
/* side 0: the primary, 1: the other; data: all its bytes so far */
void strangler_jcmp_feed(strangler_jcmp_t *jc, int side, const void *data,
    size_t len, int last);
int strangler_jcmp_run(strangler_jcmp_t *jc, size_t budget);
void strangler_jcmp_destroy(strangler_jcmp_t *jc);

/*
 * strangler_compare() in steps: all but a JSON body's comparison, which
 * is returned in *jc (fed both bodies whole) to be run; *jc is NULL when
 * there is none to run (or no memory: then the bodies are compared as
 * bytes).  Returns the number of differences so far.
 */
size_t strangler_compare_start(const strangler_shadow_t *conf,
    const strangler_response_t *primary, const strangler_response_t *shadow,
    strangler_diffs_t *diffs, strangler_jcmp_t **jc);


/* what a diff log line says besides the differences */
typedef struct {
    strangler_str_t           time;       /* ISO 8601 */
    strangler_str_t           route;
    strangler_str_t           method;
    strangler_str_t           uri;
    strangler_str_t           request_id;
    strangler_str_t           primary_backend;
    strangler_str_t           shadow_backend;
    int                       primary_status;
    int                       shadow_status;
} strangler_diff_line_t;


/*
 * One JSON object and a newline into buf.  Returns the line's length; when
 * it exceeds size, only size bytes were written.  Bytes that are not UTF-8
 * are written as \u00XX.
 */
size_t strangler_diff_format(char *buf, size_t size,
    const strangler_diff_line_t *line, const strangler_diffs_t *diffs);


/*
 * A difference's path as a field of statistics: array indexes folded
 * ("$.items[3].id" is "$.items[*].id"), quoted keys kept as they are.
 * Writes a NUL-terminated string into out, cut to fit; returns its length.
 */
size_t strangler_field_fold(const char *path, size_t len, char *out,
    size_t size);

/* the field of a difference: folded, and "header:name" in lowercase */
size_t strangler_field_key(const char *path, size_t len, char *out,
    size_t size);


/* a field's counts, as the verdict weighs them */
typedef struct {
    uint64_t                  compared;       /* primary vs candidate */
    uint64_t                  differences;    /* where this field differed */
    uint64_t                  noise_compared; /* primary vs secondary */
    uint64_t                  noise;          /* where this field differed */
} strangler_field_counts_t;


/*
 * Diffy's rule: a field is a difference when its raw rate (differences /
 * compared) is over its noise rate (noise / noise_compared), the relative
 * gap |raw - noise| / max(raw, noise) is over relative_ppm, and the
 * absolute gap |raw - noise| is over absolute_ppm; otherwise noise.
 * Integers only: rates are compared by cross-multiplication.
 */
int strangler_field_is_difference(const strangler_field_counts_t *c,
    uint32_t relative_ppm, uint32_t absolute_ppm);


/* used by the parts of the comparison; a NULL value: the side has none */
void strangler_diff_add(strangler_diffs_t *diffs, const char *path,
    const char *pv, size_t plen, const char *sv, size_t slen);
size_t strangler_diff_copy(char *dst, size_t size, const char *src,
    size_t len);
void strangler_compare_bytes(const strangler_body_t *primary,
    const strangler_body_t *shadow, strangler_diffs_t *diffs);


#endif /* STRANGLER_COMPARE_H_INCLUDED_ */
