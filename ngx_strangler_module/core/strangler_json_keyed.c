
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Where lockstep ends.  An object whose keys come in another order: the
 * rest of it, on both sides, is compared by key, through a small hash of
 * the other side's keys taken from the arena; the rest of the document is
 * still compared as it streams.  A key repeated in an object pairs by
 * occurrence: its first on one side with its first on the other, and so
 * on.  An `unordered` array: its elements pair with equal ones, the rest
 * are compared in the order they stand.  Each of these goes in steps that
 * count their work (bytes scanned, keys looked at, elements paired) and
 * stop where the run's budget ends: the members and elements are read one
 * at a time, and a pairing's comparisons are frames of the run's stack.
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

    /* the members read so far, each side's */
    size_t                    pos[2];
    size_t                    count[2];
    size_t                    end[2];
    unsigned char             first[2];
    unsigned char             over[2];
    unsigned char             phase;

    /* the bucket walk for the member at walk_pos, when it was cut */
    unsigned char             walk;
    size_t                    walk_pos;
    uint32_t                  walk_k;
    uint32_t                  walk_prev;

    size_t                    rest;     /* keys left to chain, then the
                                           other side's keys reported */
} sj_keys_t;


typedef struct {
    size_t                   *el[2];    /* the elements' starts */
    size_t                    cap;
    unsigned char            *paired;   /* n for a, then n for b */
    size_t                    n;
    size_t                    j;

    /* the elements read so far, each side's */
    size_t                    start[2]; /* the '[' */
    size_t                    pos[2];
    size_t                    count[2];
    size_t                    end[2];
    unsigned char             state[2];
    unsigned char             phase;

    /* the pairing: element i of a against element pj of b */
    size_t                    i;
    size_t                    pj;
    size_t                    base;     /* the probe_base it replaced */
    unsigned                  saved;    /* the differs it replaced */
} sj_mset_t;


enum { SJ_K_COUNT = 0, SJ_K_FILL, SJ_K_CHAIN, SJ_K_CMP };
enum { SJ_M_READ = 0, SJ_M_PAIR, SJ_M_REST };


static int sj_keyed_read(strangler_jcmp_t *jc, size_t fi, sj_keys_t *keys);
static int sj_members(strangler_jcmp_t *jc, int s, size_t depth,
    sj_keys_t *keys, sj_entry_t *entry);
static int sj_keyed_rest(strangler_jcmp_t *jc, size_t fi, sj_keys_t *keys);
static int sj_elements(strangler_jcmp_t *jc, int s, size_t depth,
    sj_mset_t *ms);
static int sj_mset_read(strangler_jcmp_t *jc, size_t fi, sj_mset_t *ms);
static int sj_mset_pair(strangler_jcmp_t *jc, size_t fi, sj_mset_t *ms);


/* frame fi's object from its cursors on, by key: its members read first */

int
sj_keyed_start(strangler_jcmp_t *jc, size_t fi)
{
    int          s;
    sj_keys_t   *keys;
    sj_frame_t  *f;

    f = &jc->stack[fi];

    keys = sj_alloc(&jc->arena, sizeof(sj_keys_t));
    if (keys == NULL) {
        jc->failed = 1;
        return SJ_BAD;
    }

    memset(keys, 0, sizeof(sj_keys_t));

    for (s = SJ_A; s <= SJ_B; s++) {
        keys->pos[s] = f->pos[s];
        keys->first[s] = f->first;
    }

    f->kind = SJ_F_KEYED;
    f->aux = keys;

    return SJ_OK;
}


/*
 * Both objects must be there whole: the members of each are counted, then
 * the other side's are read into a table, one member at a time.
 */

static int
sj_keyed_read(strangler_jcmp_t *jc, size_t fi, sj_keys_t *keys)
{
    int          rc, s;
    size_t       i, m, n, size;
    uint32_t     b;
    sj_frame_t  *f;
    sj_entry_t  *e;

    f = &jc->stack[fi];

    if (keys->phase == SJ_K_COUNT) {
        for (s = SJ_A; s <= SJ_B; s++) {
            rc = sj_members(jc, s, fi + 2, keys, NULL);
            if (rc != SJ_OK) {
                return rc;
            }
        }

        m = keys->count[SJ_B];

        for (size = 4; size < 2 * m; size *= 2) { /* void */ }

        e = sj_alloc(&jc->arena, (m + 1) * sizeof(sj_entry_t));
        keys->bucket = sj_alloc(&jc->arena, size * sizeof(uint32_t));

        if (e == NULL || keys->bucket == NULL) {
            jc->failed = 1;
            return SJ_BAD;
        }

        memset(keys->bucket, 0, size * sizeof(uint32_t));
        keys->entry = e;
        keys->n = m;
        keys->mask = size - 1;

        keys->phase = SJ_K_FILL;
        keys->pos[SJ_B] = f->pos[SJ_B];
        keys->first[SJ_B] = f->first;
        keys->count[SJ_B] = 0;
        keys->over[SJ_B] = 0;
    }

    if (keys->phase == SJ_K_FILL) {
        rc = sj_members(jc, SJ_B, fi + 2, keys, keys->entry);
        if (rc != SJ_OK) {
            return rc;
        }

        keys->phase = SJ_K_CHAIN;
        keys->rest = keys->n;
    }

    /* chained in reverse, so that a bucket lists its keys in order */

    e = keys->entry;

    while (keys->rest > 0) {
        if (jc->work >= jc->budget) {
            return SJ_AGAIN;
        }

        for (n = 0; n < 64 && keys->rest > 0; n++) {
            i = --keys->rest;
            b = e[i].hash & keys->mask;
            e[i].next = keys->bucket[b];
            keys->bucket[b] = (uint32_t) i + 1;
        }

        jc->work += n;
    }

    keys->phase = SJ_K_CMP;
    f->last[SJ_A] = keys->end[SJ_A];
    f->last[SJ_B] = keys->end[SJ_B];

    return SJ_OK;
}


/*
 * The members of side s's object from where its reading stopped: their
 * number, where it ends, and into entry (if not NULL) their keys and
 * values.  Each member's value is one scan, which stops on the budget.
 */

static int
sj_members(strangler_jcmp_t *jc, int s, size_t depth, sj_keys_t *keys,
    sj_entry_t *entry)
{
    int          rc;
    size_t       value, vend, n;
    sj_tok_t     key;
    sj_entry_t  *e;

    for (n = 0; !keys->over[s]; n++) {
        if (n && jc->work >= jc->budget) {
            return SJ_AGAIN;
        }

        rc = sj_member(jc, s, keys->pos[s], keys->first[s], &key, &value);
        if (rc != SJ_OK) {
            return rc;
        }

        if (key.type == SJ_T_OBJ_END) {
            keys->end[s] = value;
            keys->over[s] = 1;
            break;
        }

        rc = sj_skip(jc, s, value, depth, (size_t) -1, &vend);
        if (rc != SJ_OK) {
            return rc;
        }

        if (entry) {
            e = &entry[keys->count[s]];
            e->key = key.start + 1;
            e->key_len = key.end - key.start - 2;
            e->esc = key.esc;
            e->value = value;
            e->end = vend;
            e->paired = 0;
            e->hash = sj_str_hash(jc->side[s].p + e->key, e->key_len,
                                  key.esc);
        }

        keys->count[s]++;
        keys->pos[s] = vend;
        keys->first[s] = 0;
    }

    return SJ_OK;
}


int
sj_keyed_step(strangler_jcmp_t *jc, size_t fi)
{
    int          rc;
    size_t       value, v[2], mark, n;
    uint32_t     h, k, prev, b;
    sj_tok_t     key;
    sj_seg_t     seg;
    sj_keys_t   *keys;
    sj_frame_t  *f;
    sj_entry_t  *e;

    f = &jc->stack[fi];
    keys = f->aux;

    if (keys->phase != SJ_K_CMP) {
        return sj_keyed_read(jc, fi, keys);
    }

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
        return sj_keyed_rest(jc, fi, keys);
    }

    h = sj_str_hash(jc->side[SJ_A].p + key.start + 1,
                    key.end - key.start - 2, key.esc);
    b = h & keys->mask;

    if (keys->walk && keys->walk_pos == f->pos[SJ_A]) {
        k = keys->walk_k;       /* 0 when the walk found nothing */
        prev = keys->walk_prev;

    } else {
        keys->walk = 0;
        k = keys->bucket[b];
        prev = 0;
    }

    /* a bucket holds the keys not paired yet: a paired one leaves it */

    for (n = 0; k; prev = k, k = e->next, n++) {
        if (n && jc->work >= jc->budget) {
            keys->walk = 1;
            keys->walk_pos = f->pos[SJ_A];
            keys->walk_k = k;
            keys->walk_prev = prev;
            return SJ_AGAIN;
        }

        e = &keys->entry[k - 1];
        jc->work += 4;

        if (e->hash == h
            && sj_str_equal(jc->side[SJ_A].p + key.start + 1,
                            key.end - key.start - 2, key.esc,
                            jc->side[SJ_B].p + e->key, e->key_len, e->esc))
        {
            e->paired = 1;
            keys->walk = 0;

            if (prev) {
                keys->entry[prev - 1].next = e->next;

            } else {
                keys->bucket[b] = e->next;
            }

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

    /* a key the other side has not: the walk is not done again */

    keys->walk = 1;
    keys->walk_pos = f->pos[SJ_A];
    keys->walk_k = 0;

    v[0] = value;

    rc = sj_skip(jc, SJ_A, value, fi + 2, (size_t) -1, &v[1]);
    if (rc != SJ_OK) {
        return rc;
    }

    keys->walk = 0;

    mark = sj_arena_mark(&jc->arena);

    if (sj_key_seg(jc, SJ_A, &key, &seg) != SJ_OK) {
        return SJ_BAD;
    }

    if (!sj_is_ignored(jc, &seg)) {
        sj_report(jc, &seg, v, NULL);
    }

    sj_arena_release(&jc->arena, mark);

    f = &jc->stack[fi];
    f->pos[SJ_A] = v[1];
    f->first = 0;

    return SJ_OK;
}


/* the end of this side's object: the other side's keys this one has not */

static int
sj_keyed_rest(strangler_jcmp_t *jc, size_t fi, sj_keys_t *keys)
{
    size_t       v[2], mark, n;
    sj_tok_t     key;
    sj_seg_t     seg;
    sj_entry_t  *e;
    sj_frame_t  *f;

    for (n = 0; keys->rest < keys->n; keys->rest++, n++) {
        if (n && jc->work >= jc->budget) {
            return SJ_AGAIN;
        }

        e = &keys->entry[keys->rest];

        if (e->paired) {
            jc->work += 1;
            continue;
        }

        jc->work += 16 + e->key_len;

        key.start = e->key - 1;
        key.end = e->key + e->key_len + 1;
        key.esc = e->esc;

        mark = sj_arena_mark(&jc->arena);

        if (sj_key_seg(jc, SJ_B, &key, &seg) != SJ_OK) {
            return SJ_BAD;
        }

        if (!sj_is_ignored(jc, &seg)) {
            v[0] = e->value;
            v[1] = e->end;
            sj_report(jc, &seg, NULL, v);
        }

        sj_arena_release(&jc->arena, mark);
    }

    f = &jc->stack[fi];
    sj_pop(jc, f->last[SJ_A], f->last[SJ_B]);

    return SJ_OK;
}


/*
 * An `unordered` array at a and b (its '[' tokens): a length change is one
 * difference, the arrays themselves; else each element of a is paired
 * with an equal one of b, and those left are compared in order.  Its
 * elements are read first, one at a time.
 */

int
sj_mset_start(strangler_jcmp_t *jc, size_t fi, size_t a, size_t b)
{
    sj_mset_t   *ms;
    sj_frame_t  *f;

    ms = sj_alloc(&jc->arena, sizeof(sj_mset_t));
    if (ms == NULL) {
        jc->failed = 1;
        return SJ_BAD;
    }

    memset(ms, 0, sizeof(sj_mset_t));

    ms->start[SJ_A] = a;
    ms->start[SJ_B] = b;
    ms->pos[SJ_A] = a;
    ms->pos[SJ_B] = b;

    f = &jc->stack[fi];
    f->kind = SJ_F_MSET;
    f->aux = ms;

    return SJ_OK;
}


static int
sj_mset_read(strangler_jcmp_t *jc, size_t fi, sj_mset_t *ms)
{
    int          rc, s;
    size_t       n, r[2], q[2];
    sj_frame_t  *f;

    for (s = SJ_A; s <= SJ_B; s++) {
        rc = sj_elements(jc, s, fi + 2, ms);
        if (rc != SJ_OK) {
            return rc;
        }
    }

    f = &jc->stack[fi];
    n = ms->count[SJ_A];

    f->last[SJ_A] = ms->end[SJ_A];
    f->last[SJ_B] = ms->end[SJ_B];

    if (n != ms->count[SJ_B]) {
        r[0] = ms->start[SJ_A];
        r[1] = ms->end[SJ_A];
        q[0] = ms->start[SJ_B];
        q[1] = ms->end[SJ_B];
        sj_report(jc, NULL, r, q);
        sj_pop(jc, ms->end[SJ_A], ms->end[SJ_B]);
        return SJ_OK;
    }

    if (n > SJ_MULTISET_MAX) {
        f->kind = SJ_F_ARR;     /* matching is quadratic: in order */
        f->first = 1;
        f->pos[SJ_A] = ms->start[SJ_A] + 1;
        f->pos[SJ_B] = ms->start[SJ_B] + 1;
        return SJ_OK;
    }

    ms->paired = sj_alloc(&jc->arena, 2 * n + 1);
    if (ms->paired == NULL) {
        jc->failed = 1;
        return SJ_BAD;
    }

    memset(ms->paired, 0, 2 * n + 1);

    ms->n = n;
    ms->phase = SJ_M_PAIR;
    f->index = 0;

    return SJ_OK;
}


/*
 * The elements of side s's array from where their reading stopped: their
 * number, their starts (as long as a multiset takes them), its end.
 */

static int
sj_elements(strangler_jcmp_t *jc, int s, size_t depth, sj_mset_t *ms)
{
    int        rc, k;
    size_t     end, cap, n, *el;
    sj_tok_t   t, first;

    if (ms->state[s] == 0) {
        rc = sj_token(jc, s, ms->pos[s], &t);       /* the '[' */
        if (rc != SJ_OK) {
            return rc;
        }

        rc = sj_token(jc, s, t.end, &first);
        if (rc != SJ_OK) {
            return rc;
        }

        if (first.type == SJ_T_ARR_END) {
            ms->end[s] = first.end;
            ms->state[s] = 2;
            return SJ_OK;
        }

        ms->pos[s] = t.end;
        ms->state[s] = 1;
    }

    for (n = 0; ms->state[s] == 1; n++) {
        if (n && jc->work >= jc->budget) {
            return SJ_AGAIN;
        }

        if (ms->count[s] <= SJ_MULTISET_MAX) {
            if (ms->count[s] == ms->cap) {
                cap = ms->cap ? 2 * ms->cap : 16;
                cap = cap <= SJ_MULTISET_MAX ? cap : SJ_MULTISET_MAX + 1;

                for (k = SJ_A; k <= SJ_B; k++) {
                    el = sj_alloc(&jc->arena, cap * sizeof(size_t));
                    if (el == NULL) {
                        jc->failed = 1;
                        return SJ_BAD;
                    }

                    if (ms->cap) {
                        memcpy(el, ms->el[k], ms->cap * sizeof(size_t));
                    }

                    ms->el[k] = el;
                }

                ms->cap = cap;
            }

            ms->el[s][ms->count[s]] = ms->pos[s];
        }

        rc = sj_skip(jc, s, ms->pos[s], depth, (size_t) -1, &end);
        if (rc != SJ_OK) {
            return rc;
        }

        rc = sj_token(jc, s, end, &t);
        if (rc != SJ_OK) {
            return rc;
        }

        if (t.type == SJ_T_COMMA) {
            ms->pos[s] = t.end;
            ms->count[s]++;
            continue;
        }

        if (t.type != SJ_T_ARR_END) {
            return SJ_BAD;
        }

        ms->count[s]++;
        ms->end[s] = t.end;
        ms->state[s] = 2;
    }

    return SJ_OK;
}


/*
 * The pairing: element i of a against element pj of b, each comparison a
 * probe, a frame of the run's stack that reports nothing; the next one
 * starts when it returns.
 */

static int
sj_mset_pair(strangler_jcmp_t *jc, size_t fi, sj_mset_t *ms)
{
    size_t       n;
    sj_frame_t  *f;

    f = &jc->stack[fi];
    n = ms->n;

    if (f->child) {
        f->child = 0;

        if (!jc->differs && !jc->failed) {
            ms->paired[ms->i] = 1;
            ms->paired[n + ms->pj] = 1;
            ms->i++;
            ms->pj = 0;

        } else {
            ms->pj++;
        }

        jc->differs = ms->saved;
        jc->probing--;
        jc->probe_base = ms->base;
    }

    while (ms->i < n) {
        while (ms->pj < n && ms->paired[n + ms->pj]) {
            ms->pj++;
        }

        jc->work += 1;

        if (ms->pj < n) {
            break;
        }

        ms->i++;
        ms->pj = 0;
    }

    if (ms->i >= n) {
        ms->phase = SJ_M_REST;
        ms->j = 0;
        f->index = 0;
        return SJ_OK;
    }

    f = sj_push(jc, ms->el[SJ_A][ms->i], ms->el[SJ_B][ms->pj]);
    if (f == NULL) {
        return SJ_OK;
    }

    f->seg.index = ms->i;
    f->probe = 1;

    ms->saved = jc->differs;
    ms->base = jc->probe_base;
    jc->differs = 0;
    jc->probing++;
    jc->probe_base = jc->top - 1;

    return SJ_OK;
}


int
sj_mset_step(strangler_jcmp_t *jc, size_t fi)
{
    size_t       i, j, n;
    sj_frame_t  *f;
    sj_mset_t   *ms;

    f = &jc->stack[fi];
    ms = f->aux;

    if (ms->phase == SJ_M_READ) {
        return sj_mset_read(jc, fi, ms);
    }

    if (ms->phase == SJ_M_PAIR) {
        return sj_mset_pair(jc, fi, ms);
    }

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

    if (sj_push(jc, ms->el[SJ_A][i], ms->el[SJ_B][j]) != NULL) {
        jc->stack[jc->top - 1].seg.index = i;
    }

    return SJ_OK;
}
