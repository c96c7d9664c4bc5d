
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Where lockstep ends.  An object whose keys come in another order: the
 * rest of it, on both sides, is compared by key, through a small hash of
 * the other side's keys taken from the arena; the rest of the document is
 * still compared as it streams.  A key repeated in an object pairs by
 * occurrence: its first on one side with its first on the other, and so
 * on.  An `unordered` array: its elements pair with equal ones, the rest
 * are compared in the order they stand.
 */


#include "strangler_json.h"


typedef struct {
    size_t                    key;      /* the raw key, quotes excluded */
    size_t                    key_len;
    size_t                    value;
    size_t                    end;
    uint32_t                  hash;
    uint32_t                  next;     /* in its bucket, + 1 */
    unsigned                  esc:1;
    unsigned                  paired:1;
} sj_entry_t;


typedef struct {
    sj_entry_t               *entry;
    size_t                    n;
    uint32_t                 *bucket;   /* first entry + 1 */
    size_t                    mask;
} sj_keys_t;


typedef struct {
    size_t                   *a;        /* the elements' starts */
    size_t                   *b;
    unsigned char            *paired;   /* n for a, then n for b */
    size_t                    n;
    size_t                    j;
} sj_mset_t;


static int sj_members(strangler_jcmp_t *jc, int s, size_t pos, int first,
    size_t depth, sj_entry_t *entry, size_t *n, size_t *end);
static int sj_elements(strangler_jcmp_t *jc, int s, size_t pos,
    size_t depth, size_t *start, size_t *n);


/* frame fi's object from its cursors on, by key */

int
sj_keyed_start(strangler_jcmp_t *jc, size_t fi)
{
    int          rc;
    size_t       i, n, m, end[2], size;
    uint32_t     b;
    sj_keys_t   *keys;
    sj_frame_t  *f;
    sj_entry_t  *e;

    f = &jc->stack[fi];

    /* both objects must be there whole: count the other side's keys */

    rc = sj_members(jc, SJ_A, f->pos[SJ_A], f->first, fi + 2, NULL, &n,
                    &end[SJ_A]);
    if (rc != SJ_OK) {
        return rc;
    }

    rc = sj_members(jc, SJ_B, f->pos[SJ_B], f->first, fi + 2, NULL, &m,
                    &end[SJ_B]);
    if (rc != SJ_OK) {
        return rc;
    }

    for (size = 4; size < 2 * m; size *= 2) { /* void */ }

    keys = sj_alloc(&jc->arena, sizeof(sj_keys_t));
    e = sj_alloc(&jc->arena, (m + 1) * sizeof(sj_entry_t));
    keys->bucket = sj_alloc(&jc->arena, size * sizeof(uint32_t));

    if (keys == NULL || e == NULL || keys->bucket == NULL) {
        jc->failed = 1;
        return SJ_BAD;
    }

    memset(keys->bucket, 0, size * sizeof(uint32_t));
    keys->entry = e;
    keys->n = m;
    keys->mask = size - 1;

    (void) sj_members(jc, SJ_B, f->pos[SJ_B], f->first, fi + 2, e, &m,
                      &end[SJ_B]);

    /* chained in reverse, so that a bucket lists its keys in order */

    for (i = m; i-- > 0; /* void */ ) {
        b = e[i].hash & keys->mask;
        e[i].next = keys->bucket[b];
        keys->bucket[b] = (uint32_t) i + 1;
    }

    f->kind = SJ_F_KEYED;
    f->aux = keys;
    f->last[SJ_A] = end[SJ_A];
    f->last[SJ_B] = end[SJ_B];

    return SJ_OK;
}


/*
 * The members of an object from pos: their number, where it ends, and
 * into entry (if not NULL) their keys and values.
 */

static int
sj_members(strangler_jcmp_t *jc, int s, size_t pos, int first,
    size_t depth, sj_entry_t *entry, size_t *n, size_t *end)
{
    int       rc;
    size_t    i, value, vend;
    sj_tok_t  key;

    for (i = 0; /* void */ ; i++) {
        rc = sj_member(jc, s, pos, first, &key, &value);
        if (rc != SJ_OK) {
            return rc;
        }

        if (key.type == SJ_T_OBJ_END) {
            *n = i;
            *end = value;
            return SJ_OK;
        }

        rc = sj_skip(jc, s, value, depth, (size_t) -1, &vend);
        if (rc != SJ_OK) {
            return rc;
        }

        if (entry) {
            entry[i].key = key.start + 1;
            entry[i].key_len = key.end - key.start - 2;
            entry[i].esc = key.esc;
            entry[i].value = value;
            entry[i].end = vend;
            entry[i].paired = 0;
            entry[i].hash = sj_str_hash(jc->side[s].p + entry[i].key,
                                        entry[i].key_len, key.esc);
        }

        pos = vend;
        first = 0;
    }
}


int
sj_keyed_step(strangler_jcmp_t *jc, size_t fi)
{
    int          rc;
    size_t       i, value, v[2];
    uint32_t     h, k;
    sj_tok_t     key;
    sj_seg_t     seg;
    sj_keys_t   *keys;
    sj_frame_t  *f;
    sj_entry_t  *e;

    f = &jc->stack[fi];
    keys = f->aux;

    if (f->child) {
        f->child = 0;
        f->first = 0;
        f->pos[SJ_A] = f->ret[SJ_A];
    }

    rc = sj_member(jc, SJ_A, f->pos[SJ_A], f->first, &key, &value);
    if (rc != SJ_OK) {
        return rc;
    }

    if (key.type == SJ_T_OBJ_END) {

        /* the other side's keys this side has not */

        for (i = 0; i < keys->n; i++) {
            e = &keys->entry[i];

            if (e->paired) {
                continue;
            }

            key.start = e->key - 1;
            key.end = e->key + e->key_len + 1;
            key.esc = e->esc;

            if (sj_key_seg(jc, SJ_B, &key, &seg) != SJ_OK) {
                return SJ_BAD;
            }

            if (!sj_is_ignored(jc, &seg)) {
                v[0] = e->value;
                v[1] = e->end;
                sj_report(jc, &seg, NULL, v);
            }
        }

        sj_pop(jc, f->last[SJ_A], f->last[SJ_B]);
        return SJ_OK;
    }

    h = sj_str_hash(jc->side[SJ_A].p + key.start + 1,
                    key.end - key.start - 2, key.esc);

    for (k = keys->bucket[h & keys->mask]; k; k = e->next) {
        e = &keys->entry[k - 1];

        if (!e->paired && e->hash == h
            && sj_str_equal(jc->side[SJ_A].p + key.start + 1,
                            key.end - key.start - 2, key.esc,
                            jc->side[SJ_B].p + e->key, e->key_len, e->esc))
        {
            e->paired = 1;

            if (sj_push(jc, value, e->value) == NULL) {
                return SJ_BAD;
            }

            if (sj_key_seg(jc, SJ_A, &key, &seg) != SJ_OK) {
                return SJ_BAD;
            }

            jc->stack[jc->top - 1].seg = seg;
            return SJ_OK;
        }
    }

    /* a key the other side has not */

    v[0] = value;

    rc = sj_skip(jc, SJ_A, value, fi + 2, (size_t) -1, &v[1]);
    if (rc != SJ_OK) {
        return rc;
    }

    i = sj_arena_mark(&jc->arena);

    if (sj_key_seg(jc, SJ_A, &key, &seg) != SJ_OK) {
        return SJ_BAD;
    }

    if (!sj_is_ignored(jc, &seg)) {
        sj_report(jc, &seg, v, NULL);
    }

    sj_arena_release(&jc->arena, i);

    f = &jc->stack[fi];
    f->pos[SJ_A] = v[1];
    f->first = 0;

    return SJ_OK;
}


/*
 * An `unordered` array at a and b (its '[' tokens): a length change is one
 * difference, the arrays themselves; else each element of a is paired
 * with an equal one of b, and those left are compared in order.
 */

int
sj_mset_start(strangler_jcmp_t *jc, size_t fi, size_t a, size_t b)
{
    int          rc;
    size_t       i, j, n, m, end[2], r[2], s[2];
    sj_seg_t     seg;
    sj_mset_t   *ms;
    sj_frame_t  *f;

    rc = sj_skip(jc, SJ_A, a, fi + 1, (size_t) -1, &end[SJ_A]);
    if (rc != SJ_OK) {
        return rc;
    }

    rc = sj_skip(jc, SJ_B, b, fi + 1, (size_t) -1, &end[SJ_B]);
    if (rc != SJ_OK) {
        return rc;
    }

    (void) sj_elements(jc, SJ_A, a, fi + 2, NULL, &n);
    (void) sj_elements(jc, SJ_B, b, fi + 2, NULL, &m);

    f = &jc->stack[fi];

    if (n != m) {
        r[0] = a;
        r[1] = end[SJ_A];
        s[0] = b;
        s[1] = end[SJ_B];
        sj_report(jc, NULL, r, s);
        sj_pop(jc, end[SJ_A], end[SJ_B]);
        return SJ_OK;
    }

    if (n > SJ_MULTISET_MAX) {
        f->kind = SJ_F_ARR;     /* matching is quadratic: in order */
        f->first = 1;
        f->pos[SJ_A] = a + 1;
        f->pos[SJ_B] = b + 1;
        return SJ_OK;
    }

    ms = sj_alloc(&jc->arena, sizeof(sj_mset_t));
    if (ms) {
        ms->a = sj_alloc(&jc->arena, (n + 1) * sizeof(size_t));
        ms->b = sj_alloc(&jc->arena, (n + 1) * sizeof(size_t));
        ms->paired = sj_alloc(&jc->arena, 2 * n + 1);
    }

    if (ms == NULL || ms->a == NULL || ms->b == NULL || ms->paired == NULL) {
        jc->failed = 1;
        return SJ_BAD;
    }

    ms->n = n;
    ms->j = 0;
    memset(ms->paired, 0, 2 * n + 1);

    (void) sj_elements(jc, SJ_A, a, fi + 2, ms->a, &n);
    (void) sj_elements(jc, SJ_B, b, fi + 2, ms->b, &n);

    /* the frame is the multiset's from now: its elements' paths are its */

    f->kind = SJ_F_MSET;
    f->aux = ms;
    f->index = 0;
    f->last[SJ_A] = end[SJ_A];
    f->last[SJ_B] = end[SJ_B];

    memset(&seg, 0, sizeof(sj_seg_t));

    for (i = 0; i < n; i++) {
        seg.index = i;

        for (j = 0; j < n; j++) {
            if (!ms->paired[n + j] && sj_probe(jc, &seg, ms->a[i], ms->b[j]))
            {
                ms->paired[i] = 1;
                ms->paired[n + j] = 1;
                break;
            }
        }
    }

    return SJ_OK;
}


/* the elements of a checked array at pos (its '['): their number, starts */

static int
sj_elements(strangler_jcmp_t *jc, int s, size_t pos, size_t depth,
    size_t *start, size_t *n)
{
    size_t    i, end;
    sj_tok_t  t;

    (void) sj_token(jc, s, pos, &t);
    pos = t.end;

    (void) sj_token(jc, s, pos, &t);

    if (t.type == SJ_T_ARR_END) {
        *n = 0;
        return SJ_OK;
    }

    for (i = 0; /* void */ ; i++) {
        if (start) {
            start[i] = pos;
        }

        (void) sj_skip(jc, s, pos, depth, (size_t) -1, &end);
        (void) sj_token(jc, s, end, &t);

        pos = t.end;

        if (t.type == SJ_T_ARR_END) {
            *n = i + 1;
            return SJ_OK;
        }
    }
}


int
sj_mset_step(strangler_jcmp_t *jc, size_t fi)
{
    size_t       i, j, n;
    sj_frame_t  *f;
    sj_mset_t   *ms;

    f = &jc->stack[fi];
    ms = f->aux;
    n = ms->n;

    f->child = 0;

    for (i = f->index; i < n && ms->paired[i]; i++) { /* void */ }
    for (j = ms->j; j < n && ms->paired[n + j]; j++) { /* void */ }

    if (i >= n || j >= n) {
        sj_pop(jc, f->last[SJ_A], f->last[SJ_B]);
        return SJ_OK;
    }

    f->index = i + 1;
    ms->j = j + 1;

    if (sj_push(jc, ms->a[i], ms->b[j]) != NULL) {
        jc->stack[jc->top - 1].seg.index = i;
    }

    return SJ_OK;
}
