
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The streaming JSON comparer: both bodies are read token by token in
 * lockstep, with a stack of frames for the containers they are in, and
 * compared while their structure agrees.  Bytes that are the same on both
 * sides are only checked, not compared.  Where an object's keys come in
 * another order, that object alone is compared by key, and an `unordered`
 * array as a multiset (strangler_json_keyed.c).  The bodies may come in
 * pieces and the work in slices: the comparer keeps its place, and stops
 * when it needs bytes that are not there yet or has done its share.
 */


#include <stdlib.h>

#include "strangler_json.h"


#define SJ_STACK_MIN  32


static int sj_step(strangler_jcmp_t *jc);
static int sj_value_step(strangler_jcmp_t *jc, size_t fi);
static int sj_same(strangler_jcmp_t *jc, size_t fi, size_t *ea, size_t *eb);
static int sj_leaves(strangler_jcmp_t *jc, size_t fi, sj_tok_t *ta,
    sj_tok_t *tb);
static int sj_obj_step(strangler_jcmp_t *jc, size_t fi);
static int sj_arr_step(strangler_jcmp_t *jc, size_t fi);
static int sj_elem(strangler_jcmp_t *jc, int s, size_t pos, int first,
    size_t *next);
static int sj_end(strangler_jcmp_t *jc);
static void sj_finish(strangler_jcmp_t *jc);


strangler_jcmp_t *
strangler_jcmp_create(const strangler_shadow_t *conf,
    strangler_diffs_t *diffs)
{
    size_t             i;
    strangler_jcmp_t  *jc;

    jc = calloc(1, sizeof(strangler_jcmp_t));
    if (jc == NULL) {
        return NULL;
    }

    jc->stack = malloc(SJ_STACK_MIN * sizeof(sj_frame_t));
    if (jc->stack == NULL) {
        free(jc);
        return NULL;
    }

    jc->size = SJ_STACK_MIN;
    jc->conf = conf;
    jc->diffs = diffs;
    jc->diffs_start = diffs->count;
    jc->same_delta = (size_t) -1;
    jc->budget = (size_t) -1;

    for (i = 0; i < conf->ignore.n; i++) {
        if (conf->ignore.items[i].len && conf->ignore.items[i].data[0] == '$')
        {
            jc->ignores = 1;
        }
    }

    for (i = 0; i < conf->unordered.n; i++) {
        if (conf->unordered.items[i].len
            && conf->unordered.items[i].data[0] == '$')
        {
            jc->unordered = 1;
        }
    }

    (void) sj_push(jc, 0, 0);

    return jc;
}


/*
 * The bytes of a side so far: all of them, from its first, wherever they
 * are now; last: there are no more.
 */

void
strangler_jcmp_feed(strangler_jcmp_t *jc, int side, const void *data,
    size_t len, int last)
{
    jc->side[side].p = data ? data : (const unsigned char *) "";
    jc->side[side].len = len;
    jc->side[side].last = last ? 1 : 0;

    /* the run of equal bytes may go further now (-1 is a delta too) */
    jc->same_delta = (size_t) -1;
    jc->same_from = 1;
    jc->same_until = 0;
}


/*
 * Compares until about budget bytes are read: STRANGLER_JCMP_DONE (the
 * differences are in diffs), STRANGLER_JCMP_AGAIN (the budget is spent)
 * or STRANGLER_JCMP_MORE (a side's next bytes are needed).  Every step
 * counts its work (bytes scanned, elements paired) and stops where the
 * budget ends, to go on from there on the next run: no step is longer
 * than the budget, whatever the document's shape.
 */

int
strangler_jcmp_run(strangler_jcmp_t *jc, size_t budget)
{
    int  rc;

    if (jc->done) {
        return STRANGLER_JCMP_DONE;
    }

    jc->work = 0;
    jc->budget = budget;

    while (jc->top > 0 && !jc->bad && !jc->failed) {
        if (jc->work >= budget) {
            return STRANGLER_JCMP_AGAIN;
        }

        rc = sj_step(jc);

        if (rc == SJ_MORE) {
            return STRANGLER_JCMP_MORE;
        }

        if (rc == SJ_AGAIN) {
            return STRANGLER_JCMP_AGAIN;
        }

        if (rc == SJ_BAD) {
            jc->bad = 1;
        }
    }

    if (!jc->bad && !jc->failed) {
        rc = sj_end(jc);

        if (rc == SJ_MORE) {
            return STRANGLER_JCMP_MORE;
        }

        if (rc == SJ_BAD) {
            jc->bad = 1;
        }
    }

    /* not JSON: compared as bytes, once they are all there */

    if ((jc->bad || jc->failed)
        && !(jc->side[SJ_A].last && jc->side[SJ_B].last))
    {
        return STRANGLER_JCMP_MORE;
    }

    sj_finish(jc);

    return STRANGLER_JCMP_DONE;
}


void
strangler_jcmp_destroy(strangler_jcmp_t *jc)
{
    if (jc == NULL) {
        return;
    }

    sj_arena_free(&jc->arena);
    free(jc->stack);
    free(jc);
}


/* nothing but spaces after the document, on both sides */

static int
sj_end(strangler_jcmp_t *jc)
{
    int       s, rc;
    sj_tok_t  t;

    for (s = SJ_A; s <= SJ_B; s++) {
        rc = sj_token(jc, s, jc->tail[s], &t);
        if (rc != SJ_OK) {
            return rc;
        }

        if (t.type != SJ_T_EOF) {
            return SJ_BAD;
        }
    }

    return SJ_OK;
}


/* not JSON on one side (or no memory): what is there, as it is */

static void
sj_finish(strangler_jcmp_t *jc)
{
    strangler_body_t  a, b;

    jc->done = 1;

    if (!jc->bad && !jc->failed) {
        sj_values(jc);
        return;
    }

    jc->npending = 0;
    jc->diffs->count = jc->diffs_start;

    memset(&a, 0, sizeof(strangler_body_t));
    memset(&b, 0, sizeof(strangler_body_t));

    a.data = (unsigned char *) jc->side[SJ_A].p;
    a.len = jc->side[SJ_A].len;
    b.data = (unsigned char *) jc->side[SJ_B].p;
    b.len = jc->side[SJ_B].len;

    strangler_compare_bytes(&a, &b, jc->diffs);
}


sj_frame_t *
sj_push(strangler_jcmp_t *jc, size_t a, size_t b)
{
    size_t       size;
    sj_frame_t  *f;

    if (jc->top == jc->size) {
        size = jc->size * 2;

        f = realloc(jc->stack, size * sizeof(sj_frame_t));
        if (f == NULL) {
            jc->failed = 1;
            return NULL;
        }

        jc->stack = f;
        jc->size = size;
    }

    f = &jc->stack[jc->top++];
    memset(f, 0, sizeof(sj_frame_t));

    /* a frame costs as much as scanning a few dozen bytes (bench/jslice) */
    jc->work += SJ_FRAME_WORK;

    f->kind = SJ_F_VALUE;
    f->pos[SJ_A] = a;
    f->pos[SJ_B] = b;
    f->mark = sj_arena_mark(&jc->arena);

    return f;
}


/* the top frame is over: its value ended at a and b */

void
sj_pop(strangler_jcmp_t *jc, size_t a, size_t b)
{
    sj_frame_t  *f;

    f = &jc->stack[--jc->top];
    sj_arena_release(&jc->arena, f->mark);

    if (jc->top == 0) {
        jc->tail[SJ_A] = a;
        jc->tail[SJ_B] = b;
        return;
    }

    f = &jc->stack[jc->top - 1];
    f->ret[SJ_A] = a;
    f->ret[SJ_B] = b;
    f->child = 1;
}


static int
sj_step(strangler_jcmp_t *jc)
{
    size_t  fi;

    fi = jc->top - 1;

    if (jc->probing && jc->differs && fi >= jc->probe_base) {
        sj_pop(jc, 0, 0);       /* the probe is decided: unwind it */
        return SJ_OK;
    }

    switch (jc->stack[fi].kind) {

    case SJ_F_OBJ:
        return sj_obj_step(jc, fi);

    case SJ_F_ARR:
        return sj_arr_step(jc, fi);

    case SJ_F_KEYED:
        return sj_keyed_step(jc, fi);

    case SJ_F_MSET:
        return sj_mset_step(jc, fi);

    default:
        return sj_value_step(jc, fi);
    }
}


static int
sj_value_step(strangler_jcmp_t *jc, size_t fi)
{
    int          rc;
    size_t       ea, eb;
    sj_tok_t     ta, tb;
    sj_frame_t  *f;

    f = &jc->stack[fi];

    if (fi >= SJ_DEPTH_MAX) {
        return SJ_BAD;
    }

    if (fi > 0 && jc->ignores && sj_is_ignored(jc, NULL)) {
        rc = sj_skip(jc, SJ_A, f->pos[SJ_A], fi + 1, (size_t) -1, &ea);
        if (rc != SJ_OK) {
            return rc;
        }

        rc = sj_skip(jc, SJ_B, f->pos[SJ_B], fi + 1, (size_t) -1, &eb);
        if (rc != SJ_OK) {
            return rc;
        }

        sj_pop(jc, ea, eb);
        return SJ_OK;
    }

    rc = sj_same(jc, fi, &ea, &eb);

    if (rc == SJ_OK) {
        sj_pop(jc, ea, eb);
        return SJ_OK;
    }

    if (rc != SJ_LIMIT) {
        return rc;
    }

    rc = sj_token(jc, SJ_A, f->pos[SJ_A], &ta);
    if (rc != SJ_OK) {
        return rc;
    }

    rc = sj_token(jc, SJ_B, f->pos[SJ_B], &tb);
    if (rc != SJ_OK) {
        return rc;
    }

    if (ta.type == SJ_T_OBJ && tb.type == SJ_T_OBJ) {
        f->kind = SJ_F_OBJ;
        f->first = 1;
        f->pos[SJ_A] = ta.end;
        f->pos[SJ_B] = tb.end;
        return SJ_OK;
    }

    if (ta.type == SJ_T_ARR && tb.type == SJ_T_ARR) {
        if (fi > 0 && jc->unordered
            && sj_is_listed(jc, &jc->conf->unordered, NULL))
        {
            return sj_mset_start(jc, fi, ta.start, tb.start);
        }

        f->kind = SJ_F_ARR;
        f->first = 1;
        f->pos[SJ_A] = ta.end;
        f->pos[SJ_B] = tb.end;
        return SJ_OK;
    }

    return sj_leaves(jc, fi, &ta, &tb);
}


/* two values that are not two objects or two arrays */

static int
sj_leaves(strangler_jcmp_t *jc, size_t fi, sj_tok_t *ta, sj_tok_t *tb)
{
    int                   rc, same;
    size_t                a[2], b[2];
    const unsigned char  *pa, *pb;

    if ((ta->type < SJ_T_STR && ta->type != SJ_T_OBJ
         && ta->type != SJ_T_ARR)
        || (tb->type < SJ_T_STR && tb->type != SJ_T_OBJ
            && tb->type != SJ_T_ARR))
    {
        return SJ_BAD;
    }

    a[0] = ta->start;
    a[1] = ta->end;
    b[0] = tb->start;
    b[1] = tb->end;

    if (ta->type == SJ_T_OBJ || ta->type == SJ_T_ARR) {
        rc = sj_skip(jc, SJ_A, ta->start, fi + 1, (size_t) -1, &a[1]);
        if (rc != SJ_OK) {
            return rc;
        }
    }

    if (tb->type == SJ_T_OBJ || tb->type == SJ_T_ARR) {
        rc = sj_skip(jc, SJ_B, tb->start, fi + 1, (size_t) -1, &b[1]);
        if (rc != SJ_OK) {
            return rc;
        }
    }

    pa = jc->side[SJ_A].p;
    pb = jc->side[SJ_B].p;

    if (ta->type != tb->type) {
        same = 0;

    } else if (ta->type == SJ_T_STR) {
        same = sj_str_equal(pa + ta->start + 1, ta->end - ta->start - 2,
                            ta->esc, pb + tb->start + 1,
                            tb->end - tb->start - 2, tb->esc);

    } else if (ta->type == SJ_T_NUM) {
        same = sj_num_equal(pa + ta->start, ta->end - ta->start,
                            pb + tb->start, tb->end - tb->start);

    } else {
        same = (ta->type != SJ_T_OBJ && ta->type != SJ_T_ARR);
    }

    if (!same) {
        sj_report(jc, NULL, a, b);
    }

    sj_pop(jc, a[1], b[1]);

    return SJ_OK;
}


/*
 * Whether the two values are the same bytes: SJ_OK with their ends when
 * the first ends within the run of bytes equal on both sides (checked as
 * JSON all the same), SJ_LIMIT when it does not.
 */

static int
sj_same(strangler_jcmp_t *jc, size_t fi, size_t *ea, size_t *eb)
{
    int                   rc;
    size_t                a, b, n, k, limit;
    sj_side_t            *sa, *sb;
    const unsigned char  *pa, *pb;

    a = jc->stack[fi].pos[SJ_A];
    b = jc->stack[fi].pos[SJ_B];
    sa = &jc->side[SJ_A];
    sb = &jc->side[SJ_B];

    if (jc->same_delta == b - a && a >= jc->same_from
        && a <= jc->same_until)
    {
        /* a container known to run past the run, as its parent found */

        for (k = a; k < sa->len && (sa->p[k] == ' ' || sa->p[k] == '\n'
                                    || sa->p[k] == '\r' || sa->p[k] == '\t');
             k++)
        {
            /* void */
        }

        for (n = 0; n < jc->nopen; n++) {
            if (jc->open[n] == k) {
                return SJ_LIMIT;
            }
        }

    } else {
        jc->nopen = 0;
        n = sa->len - a < sb->len - b ? sa->len - a : sb->len - b;

        /* a byte compared is an eighth of one scanned: the budget's rest */

        k = jc->budget - jc->work;

        if (jc->work < jc->budget && k < n / 8) {
            n = k * 8;
        }
        pa = sa->p + a;
        pb = sb->p + b;

        for (k = 0; k + 16 <= n && memcmp(pa + k, pb + k, 16) == 0; k += 16) {
            /* void */
        }

        while (k < n && pa[k] == pb[k]) {
            k++;
        }

        jc->work += k / 8;
        jc->same_delta = b - a;
        jc->same_from = a;
        jc->same_until = a + k;
    }

    limit = jc->same_until;

    /* a number must not run on past the run on one side only */

    if (!(sa->last && sb->last && limit == sa->len
          && sb->len - b == sa->len - a))
    {
        if (limit == a) {
            return SJ_LIMIT;
        }

        limit--;
    }

    rc = sj_skip_same(jc, a, fi + 1, limit, ea);

    if (rc == SJ_MORE) {
        return SJ_LIMIT;        /* not known yet: token by token */
    }

    if (rc == SJ_OK) {
        *eb = *ea + (b - a);
    }

    return rc;
}


static int
sj_obj_step(strangler_jcmp_t *jc, size_t fi)
{
    int          rc;
    size_t       na, nb;
    sj_tok_t     ka, kb;
    sj_frame_t  *f;
    sj_seg_t     seg;

    f = &jc->stack[fi];

    if (f->child) {
        f->child = 0;
        f->first = 0;
        f->pos[SJ_A] = f->ret[SJ_A];
        f->pos[SJ_B] = f->ret[SJ_B];
    }

    rc = sj_member(jc, SJ_A, f->pos[SJ_A], f->first, &ka, &na);
    if (rc != SJ_OK) {
        return rc;
    }

    rc = sj_member(jc, SJ_B, f->pos[SJ_B], f->first, &kb, &nb);
    if (rc != SJ_OK) {
        return rc;
    }

    if (ka.type == SJ_T_OBJ_END && kb.type == SJ_T_OBJ_END) {
        sj_pop(jc, na, nb);
        return SJ_OK;
    }

    if (ka.type == SJ_T_STR && kb.type == SJ_T_STR
        && sj_str_equal(jc->side[SJ_A].p + ka.start + 1,
                        ka.end - ka.start - 2, ka.esc,
                        jc->side[SJ_B].p + kb.start + 1,
                        kb.end - kb.start - 2, kb.esc))
    {
        if (sj_push(jc, na, nb) == NULL) {
            return SJ_OK;
        }

        if (sj_key_seg(jc, SJ_A, &ka, &seg) != SJ_OK) {
            return SJ_OK;
        }

        jc->stack[jc->top - 1].seg = seg;
        return SJ_OK;
    }

    /* the keys part: the rest of this object by key */

    return sj_keyed_start(jc, fi);
}


/*
 * An object's next member from pos: its key and where its value starts,
 * or the end of the object and where it ends.
 */

int
sj_member(strangler_jcmp_t *jc, int s, size_t pos, int first,
    sj_tok_t *key, size_t *next)
{
    int       rc;
    sj_tok_t  t;

    rc = sj_token(jc, s, pos, key);
    if (rc != SJ_OK) {
        return rc;
    }

    if (key->type == SJ_T_OBJ_END) {
        *next = key->end;
        return SJ_OK;
    }

    if (!first) {
        if (key->type != SJ_T_COMMA) {
            return SJ_BAD;
        }

        rc = sj_token(jc, s, key->end, key);
        if (rc != SJ_OK) {
            return rc;
        }
    }

    if (key->type != SJ_T_STR || sj_key_check(jc, s, key) != SJ_OK) {
        return SJ_BAD;
    }

    rc = sj_token(jc, s, key->end, &t);
    if (rc != SJ_OK) {
        return rc;
    }

    if (t.type != SJ_T_COLON) {
        return SJ_BAD;
    }

    *next = t.end;

    return SJ_OK;
}


/* the step to a member: its key, decoded into the arena if it must be */

int
sj_key_seg(strangler_jcmp_t *jc, int s, const sj_tok_t *key, sj_seg_t *seg)
{
    char                 *dec;
    size_t                i, n, end;
    const unsigned char  *p;

    memset(seg, 0, sizeof(sj_seg_t));

    seg->is_key = 1;
    seg->side = s;
    seg->off = key->start + 1;
    seg->len = key->end - key->start - 2;

    if (!key->esc) {
        return SJ_OK;
    }

    dec = sj_alloc(&jc->arena, seg->len + 1);
    if (dec == NULL) {
        jc->failed = 1;
        return SJ_BAD;
    }

    p = jc->side[s].p + seg->off;
    end = seg->len;

    for (i = 0, n = 0; i < end; /* void */ ) {
        n += sj_str_next(p, &i, end, (unsigned char *) dec + n);
    }

    dec[n] = '\0';
    seg->dec = dec;
    seg->len = n;

    return SJ_OK;
}


static int
sj_arr_step(strangler_jcmp_t *jc, size_t fi)
{
    int          rc, s;
    size_t       next[2], v[2];
    sj_seg_t     seg;
    sj_frame_t  *f;

    f = &jc->stack[fi];

    if (f->child) {
        f->child = 0;
        f->first = 0;
        f->index++;
        f->pos[SJ_A] = f->ret[SJ_A];
        f->pos[SJ_B] = f->ret[SJ_B];
    }

    for (s = SJ_A; s <= SJ_B; s++) {
        if (f->end[s]) {
            next[s] = (size_t) -1;
            continue;
        }

        rc = sj_elem(jc, s, f->pos[s], f->first, &next[s]);
        if (rc != SJ_OK) {
            return rc;
        }
    }

    /* (size_t) -1: the side's array is over, pos is its end */

    for (s = SJ_A; s <= SJ_B; s++) {
        if (next[s] == (size_t) -1) {
            f->end[s] = 1;
        }
    }

    if (f->end[SJ_A] && f->end[SJ_B]) {
        sj_pop(jc, f->last[SJ_A], f->last[SJ_B]);
        return SJ_OK;
    }

    if (!f->end[SJ_A] && !f->end[SJ_B]) {
        if (sj_push(jc, next[SJ_A], next[SJ_B]) != NULL) {
            f = &jc->stack[fi];
            jc->stack[jc->top - 1].seg.index = f->index;
        }

        return SJ_OK;
    }

    /* an element on one side only */

    s = f->end[SJ_A] ? SJ_B : SJ_A;

    rc = sj_skip(jc, s, next[s], fi + 2, (size_t) -1, &v[1]);
    if (rc != SJ_OK) {
        return rc;
    }

    v[0] = next[s];

    memset(&seg, 0, sizeof(sj_seg_t));
    seg.index = f->index;

    if (!sj_is_ignored(jc, &seg)) {
        sj_report(jc, &seg, s == SJ_A ? v : NULL, s == SJ_B ? v : NULL);
    }

    f->pos[s] = v[1];
    f->first = 0;
    f->index++;

    return SJ_OK;
}


/*
 * An array's next element from pos: where it starts, or (size_t) -1 at
 * the end of the array (then last[s] of the frame is where it ends).
 */

static int
sj_elem(strangler_jcmp_t *jc, int s, size_t pos, int first, size_t *next)
{
    int       rc;
    sj_tok_t  t;

    rc = sj_token(jc, s, pos, &t);
    if (rc != SJ_OK) {
        return rc;
    }

    if (t.type == SJ_T_ARR_END) {
        jc->stack[jc->top - 1].last[s] = t.end;
        *next = (size_t) -1;
        return SJ_OK;
    }

    if (first) {
        *next = pos;            /* the value starts at this token */
        return SJ_OK;
    }

    if (t.type != SJ_T_COMMA) {
        return SJ_BAD;
    }

    *next = t.end;

    return SJ_OK;
}
