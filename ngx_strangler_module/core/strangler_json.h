
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The streaming JSON comparer's insides, shared by its files: the
 * tokenizer (strangler_json_scan.c), the paths of values
 * (strangler_json_path.c), the values a difference shows
 * (strangler_json_value.c), objects whose keys come in another order and
 * `unordered` arrays (strangler_json_keyed.c), the arena they take their
 * tables from (strangler_json_arena.c) and the comparison itself
 * (strangler_json_cmp.c).  Positions are offsets into each side's bytes,
 * never pointers: the bytes may move between two pieces.
 */


#ifndef STRANGLER_JSON_H_INCLUDED_
#define STRANGLER_JSON_H_INCLUDED_


#include <stdint.h>
#include <string.h>

#include "strangler_compare.h"


#define SJ_OK                0
#define SJ_MORE              1      /* the side's next bytes are needed */
#define SJ_BAD               2      /* not JSON */
#define SJ_LIMIT             3      /* a scan went past its limit */
#define SJ_AGAIN             4      /* the run's budget is spent */

#define SJ_DEPTH_MAX         2048   /* jansson's: deeper is not JSON */
#define SJ_MULTISET_MAX      1024   /* longer unordered arrays: in order */
#define SJ_PATH_LEN          512
#define SJ_OPEN_MAX          64     /* containers a failed run remembers */
#define SJ_FRAME_WORK        16     /* a value's frame, in bytes' work */

#define SJ_A                 0      /* the primary */
#define SJ_B                 1      /* the other side */


enum {
    SJ_T_EOF = 0, SJ_T_OBJ, SJ_T_OBJ_END, SJ_T_ARR, SJ_T_ARR_END,
    SJ_T_COLON, SJ_T_COMMA, SJ_T_STR, SJ_T_NUM, SJ_T_TRUE, SJ_T_FALSE,
    SJ_T_NULL
};

enum {
    SJ_F_VALUE = 0, SJ_F_OBJ, SJ_F_KEYED, SJ_F_ARR, SJ_F_MSET
};


typedef struct {
    const unsigned char      *p;
    size_t                    len;      /* the bytes there so far */
    unsigned                  last:1;   /* they are all there */
} sj_side_t;


typedef struct {
    int                       type;
    size_t                    start;    /* the token, after spaces */
    size_t                    end;
    unsigned                  esc:1;    /* a string with escapes */
} sj_tok_t;


/* the step from a value's container to the value */
typedef struct {
    size_t                    off;      /* a key: in its side's bytes */
    size_t                    len;      /* raw, quotes excluded */
    const char               *dec;      /* a key with escapes, decoded */
    size_t                    index;
    unsigned                  side:1;
    unsigned                  is_key:1;
} sj_seg_t;


typedef struct {
    unsigned char             kind;
    unsigned char             first;    /* no member read yet */
    unsigned char             end[2];   /* a side's array ended */
    unsigned char             child;    /* a child frame returned */
    unsigned char             probe;    /* the base of a probe */
    sj_seg_t                  seg;      /* unused for the root */
    size_t                    pos[2];   /* cursors */
    size_t                    ret[2];   /* where the child ended */
    size_t                    last[2];  /* keyed, multiset: the ends */
    size_t                    index;
    size_t                    mark;     /* the arena's, to free to */
    void                     *aux;
} sj_frame_t;


/* a side's scan of one value (sj_skip), kept to go on with */
typedef struct {
    size_t                    start;    /* the value's */
    size_t                    depth;
    size_t                    limit;
    size_t                    pos;      /* the next token */
    size_t                    nest;
    size_t                    end;      /* done: the result */
    int                       state;
    int                       rc;
    unsigned                  busy:1;   /* start and depth say which */
    unsigned                  done:1;
    uint64_t                  obj[SJ_DEPTH_MAX / 64 + 1];
    size_t                    open[SJ_OPEN_MAX];
} sj_scan_t;


typedef struct {
    size_t                    diff;     /* its index in diffs */
    size_t                    start[2];
    size_t                    end[2];
    unsigned char             has[2];
} sj_pending_t;


typedef struct {
    char                    **chunk;
    size_t                   *size;
    size_t                    n;        /* chunks allocated */
    size_t                    cur;      /* the chunk in use */
    size_t                    used;     /* of it */
    size_t                    nalloc;
} sj_arena_t;


struct strangler_jcmp_s {
    const strangler_shadow_t *conf;
    strangler_diffs_t        *diffs;
    size_t                    diffs_start;
    sj_side_t                 side[2];

    sj_frame_t               *stack;
    size_t                    top;      /* frames in use */
    size_t                    size;

    sj_pending_t              pending[STRANGLER_DIFF_MAX];
    size_t                    npending;

    sj_arena_t                arena;

    size_t                    tail[2];  /* where the document ended */
    size_t                    work;     /* bytes read in this run */
    size_t                    budget;   /* of this run */
    size_t                    probe_base;   /* the innermost probe's */
    size_t                    same_delta;   /* b - a of the known run */
    size_t                    same_from;
    size_t                    same_until;   /* a == b on [from, until) */

    sj_scan_t                 scan[3];  /* a's, b's, the run's in a */

    /* where the containers open at the end of the run start, in a */
    size_t                    open[SJ_OPEN_MAX];
    size_t                    nopen;

    unsigned                  probing;
    unsigned                  ignores:1;
    unsigned                  unordered:1;
    unsigned                  overflow:1;   /* a number jansson refuses */
    unsigned                  differs:1;
    unsigned                  bad:1;
    unsigned                  done:1;
    unsigned                  failed:1;     /* out of memory */
};


/* strangler_json_scan.c */
int sj_token(strangler_jcmp_t *jc, int s, size_t pos, sj_tok_t *t);
int sj_skip(strangler_jcmp_t *jc, int s, size_t pos, size_t depth,
    size_t limit, size_t *end);
int sj_skip_same(strangler_jcmp_t *jc, size_t pos, size_t depth,
    size_t limit, size_t *end);
int sj_num_equal(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen);
size_t sj_num_canonical(const unsigned char *p, size_t n, char *out,
    size_t size);
int sj_str_equal(const unsigned char *a, size_t alen, unsigned aesc,
    const unsigned char *b, size_t blen, unsigned besc);
size_t sj_str_next(const unsigned char *p, size_t *i, size_t end,
    unsigned char *out);
int sj_key_check(strangler_jcmp_t *jc, int s, const sj_tok_t *key);
uint32_t sj_str_hash(const unsigned char *p, size_t len, unsigned esc);

/* strangler_json_path.c */
const char *sj_seg_key(strangler_jcmp_t *jc, const sj_seg_t *seg);
int sj_is_listed(strangler_jcmp_t *jc, const strangler_strs_t *list,
    const sj_seg_t *extra);
int sj_is_ignored(strangler_jcmp_t *jc, const sj_seg_t *extra);
size_t sj_path(strangler_jcmp_t *jc, const sj_seg_t *extra, char *buf,
    size_t size);

/* strangler_json_value.c */
void sj_report(strangler_jcmp_t *jc, const sj_seg_t *extra,
    const size_t *a, const size_t *b);
void sj_values(strangler_jcmp_t *jc);

/* strangler_json_keyed.c */
int sj_keyed_start(strangler_jcmp_t *jc, size_t fi);
int sj_keyed_step(strangler_jcmp_t *jc, size_t fi);
int sj_mset_start(strangler_jcmp_t *jc, size_t fi, size_t a, size_t b);
int sj_mset_step(strangler_jcmp_t *jc, size_t fi);

/* strangler_json_cmp.c */
sj_frame_t *sj_push(strangler_jcmp_t *jc, size_t a, size_t b);
void sj_pop(strangler_jcmp_t *jc, size_t a, size_t b);
int sj_member(strangler_jcmp_t *jc, int s, size_t pos, int first,
    sj_tok_t *key, size_t *next);
int sj_key_seg(strangler_jcmp_t *jc, int s, const sj_tok_t *key,
    sj_seg_t *seg);

/* strangler_json_arena.c */
void *sj_alloc(sj_arena_t *a, size_t size);
size_t sj_arena_mark(sj_arena_t *a);
void sj_arena_release(sj_arena_t *a, size_t mark);
void sj_arena_free(sj_arena_t *a);


#endif /* STRANGLER_JSON_H_INCLUDED_ */
