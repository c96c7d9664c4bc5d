
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The comparer's tokenizer: one token at a time from a side's bytes, as
 * strict as jansson (strings of valid UTF-8 without control characters,
 * escapes and surrogate pairs checked, numbers as RFC 8259 writes them,
 * at most 2048 values deep).  A token cut by the end of the bytes there
 * so far asks for more.  Numbers compare by exact decimal value, strings
 * after unescaping, neither is ever copied.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "strangler_json.h"


/* a bigger exponent is taken as this one, as the canonical form does */
#define SJ_EXP_MAX  1000000000000000LL


typedef struct {
    const unsigned char      *p;
    size_t                    nint;     /* digits before the point */
    size_t                    nfrac;
    size_t                    first;    /* first and last non-zero digits */
    size_t                    last;
    long long                 e;        /* value: 0.D x 10^(e + 1) */
    unsigned                  neg:1;
    unsigned                  zero:1;
} sj_num_t;


enum { SJ_S_V, SJ_S_VC, SJ_S_K, SJ_S_KC, SJ_S_C, SJ_S_AV };


static int sj_string(sj_side_t *sd, size_t i, sj_tok_t *t);
static int sj_number(strangler_jcmp_t *jc, sj_side_t *sd, size_t i,
    sj_tok_t *t);
static void sj_overflow(strangler_jcmp_t *jc, const unsigned char *p,
    size_t n, int real);
static int sj_literal(sj_side_t *sd, size_t i, const char *lit, size_t n);
static int sj_scan(strangler_jcmp_t *jc, sj_scan_t *sc, int s, size_t pos,
    size_t depth, size_t limit, size_t *end);
static int sj_skip_result(strangler_jcmp_t *jc, sj_scan_t *sc, size_t *end);
static int sj_hex4(const unsigned char *p, uint32_t *cp);
static size_t sj_utf8(const unsigned char *p, size_t n);
static void sj_num_parse(const unsigned char *p, size_t n, sj_num_t *num);
static unsigned char sj_num_digit(const sj_num_t *num, size_t k);


int
sj_token(strangler_jcmp_t *jc, int s, size_t pos, sj_tok_t *t)
{
    int                   rc;
    size_t                i, n;
    sj_side_t            *sd;
    const unsigned char  *p;

    sd = &jc->side[s];
    p = sd->p;
    n = sd->len;

    for (i = pos; i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r'
                            || p[i] == '\t'); i++)
    {
        /* void */
    }

    t->start = i;
    t->esc = 0;

    if (i == n) {
        t->type = SJ_T_EOF;
        t->end = i;
        return sd->last ? SJ_OK : SJ_MORE;
    }

    t->end = i + 1;

    switch (p[i]) {

    case '{':
        t->type = SJ_T_OBJ;
        break;

    case '}':
        t->type = SJ_T_OBJ_END;
        break;

    case '[':
        t->type = SJ_T_ARR;
        break;

    case ']':
        t->type = SJ_T_ARR_END;
        break;

    case ':':
        t->type = SJ_T_COLON;
        break;

    case ',':
        t->type = SJ_T_COMMA;
        break;

    case '"':
        t->type = SJ_T_STR;
        rc = sj_string(sd, i, t);
        if (rc != SJ_OK) {
            return rc;
        }
        break;

    case 't':
        t->type = SJ_T_TRUE;
        rc = sj_literal(sd, i, "true", 4);
        if (rc != SJ_OK) {
            return rc;
        }
        t->end = i + 4;
        break;

    case 'f':
        t->type = SJ_T_FALSE;
        rc = sj_literal(sd, i, "false", 5);
        if (rc != SJ_OK) {
            return rc;
        }
        t->end = i + 5;
        break;

    case 'n':
        t->type = SJ_T_NULL;
        rc = sj_literal(sd, i, "null", 4);
        if (rc != SJ_OK) {
            return rc;
        }
        t->end = i + 4;
        break;

    default:
        if (p[i] != '-' && (p[i] < '0' || p[i] > '9')) {
            return SJ_BAD;
        }

        t->type = SJ_T_NUM;
        rc = sj_number(jc, sd, i, t);
        if (rc != SJ_OK) {
            return rc;
        }
    }

    jc->work += t->end - pos;

    return SJ_OK;
}


static int
sj_literal(sj_side_t *sd, size_t i, const char *lit, size_t n)
{
    size_t  have;

    have = sd->len - i < n ? sd->len - i : n;

    if (memcmp(sd->p + i, lit, have) != 0) {
        return SJ_BAD;
    }

    if (have < n) {
        return sd->last ? SJ_BAD : SJ_MORE;
    }

    return SJ_OK;
}


static int
sj_string(sj_side_t *sd, size_t i, sj_tok_t *t)
{
    size_t                n, k;
    uint32_t              cp, lo;
    unsigned char         c;
    const unsigned char  *p;

    p = sd->p;
    n = sd->len;

    for (i++; /* void */ ; /* void */ ) {

        while (i < n && (c = p[i]) >= 0x20 && c < 0x80 && c != '"'
               && c != '\\')
        {
            i++;
        }

        if (i >= n) {
            return sd->last ? SJ_BAD : SJ_MORE;
        }

        c = p[i];

        if (c == '"') {
            t->end = i + 1;
            return SJ_OK;
        }

        if (c < 0x20) {
            return SJ_BAD;
        }

        if (c >= 0x80) {
            k = sj_utf8(p + i, n - i);

            if (k == 0) {
                return SJ_BAD;
            }

            if (k > n - i) {
                return sd->last ? SJ_BAD : SJ_MORE;
            }

            i += k;
            continue;
        }

        /* an escape */

        t->esc = 1;

        if (i + 1 >= n) {
            return sd->last ? SJ_BAD : SJ_MORE;
        }

        switch (p[i + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            i += 2;
            continue;
        case 'u':
            break;
        default:
            return SJ_BAD;
        }

        if (i + 6 > n) {
            return sd->last ? SJ_BAD : SJ_MORE;
        }

        if (sj_hex4(p + i + 2, &cp) != SJ_OK) {
            return SJ_BAD;
        }

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return SJ_BAD;
        }

        if (cp < 0xd800 || cp > 0xdbff) {
            i += 6;
            continue;
        }

        /* a high surrogate: a low one must follow */

        if (i + 12 > n) {
            if (sd->last || (i + 6 < n && p[i + 6] != '\\')
                || (i + 7 < n && p[i + 7] != 'u'))
            {
                return SJ_BAD;
            }

            return SJ_MORE;
        }

        if (p[i + 6] != '\\' || p[i + 7] != 'u'
            || sj_hex4(p + i + 8, &lo) != SJ_OK
            || lo < 0xdc00 || lo > 0xdfff)
        {
            return SJ_BAD;
        }

        i += 12;
    }
}


static int
sj_hex4(const unsigned char *p, uint32_t *cp)
{
    size_t    i;
    uint32_t  v;

    for (v = 0, i = 0; i < 4; i++) {
        v <<= 4;

        if (p[i] >= '0' && p[i] <= '9') {
            v |= p[i] - '0';

        } else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f') {
            v |= (p[i] | 0x20) - 'a' + 10;

        } else {
            return SJ_BAD;
        }
    }

    *cp = v;

    return SJ_OK;
}


/*
 * The length of the UTF-8 character at p as jansson takes it, 0 when it
 * is not one, or more than n when it is cut and its bytes so far are good.
 */

static size_t
sj_utf8(const unsigned char *p, size_t n)
{
    size_t    k, i;
    uint32_t  c;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        k = 2;
        c = p[0] & 0x1f;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        k = 3;
        c = p[0] & 0x0f;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        k = 4;
        c = p[0] & 0x07;

    } else {
        return 0;
    }

    for (i = 1; i < k; i++) {
        if (i >= n) {
            return k;           /* cut: more is needed */
        }

        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)))
        || (k == 4 && (c < 0x10000 || c > 0x10ffff)))
    {
        return 0;
    }

    return k;
}


/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */

static int
sj_number(strangler_jcmp_t *jc, sj_side_t *sd, size_t i, sj_tok_t *t)
{
    int                   real;
    size_t                n, k, start;
    const unsigned char  *p;

    p = sd->p;
    n = sd->len;
    start = i;
    real = 0;

    if (p[i] == '-') {
        i++;
    }

    if (i < n && p[i] == '0') {
        i++;

    } else {
        for (k = i; i < n && p[i] >= '0' && p[i] <= '9'; i++) { /* void */ }

        if (i == k && i < n) {
            return SJ_BAD;
        }
    }

    if (i < n && p[i] == '.') {
        real = 1;

        for (k = ++i; i < n && p[i] >= '0' && p[i] <= '9'; i++) { /* void */ }

        if (i == k && i < n) {
            return SJ_BAD;
        }
    }

    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        real = 1;
        i++;

        if (i < n && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        for (k = i; i < n && p[i] >= '0' && p[i] <= '9'; i++) { /* void */ }

        if (i == k && i < n) {
            return SJ_BAD;
        }
    }

    if (i == n) {
        if (!sd->last) {
            return SJ_MORE;     /* it may go on */
        }

        /* the digits it needs are not there: "-", "1.", "1e" */

        if (p[i - 1] < '0' || p[i - 1] > '9') {
            return SJ_BAD;
        }
    }

    t->end = i;

    if (i - start > 18 || (real && memchr(p + start, 'e', i - start)))
    {
        sj_overflow(jc, p + start, i - start, real);

    } else if (real && memchr(p + start, 'E', i - start)) {
        sj_overflow(jc, p + start, i - start, real);
    }

    return SJ_OK;
}


/* what jansson refuses: integers beyond 64 bits, reals beyond a double */

static void
sj_overflow(strangler_jcmp_t *jc, const unsigned char *p, size_t n, int real)
{
    char        buf[512];
    size_t      neg;
    double      d;
    sj_num_t    num;
    const char  *max;

    if (jc->overflow) {
        return;
    }

    if (!real) {
        neg = (p[0] == '-');
        max = neg ? "9223372036854775808" : "9223372036854775807";

        if (n - neg > 19 || (n - neg == 19 && memcmp(p + neg, max, 19) > 0)) {
            jc->overflow = 1;
        }

        return;
    }

    sj_num_parse(p, n, &num);

    if (num.zero || num.e < 307) {
        return;
    }

    if (num.e > 309 || n >= sizeof(buf)) {
        jc->overflow = 1;
        return;
    }

    memcpy(buf, p, n);
    buf[n] = '\0';

    d = strtod(buf, NULL);

    if (d == HUGE_VAL || d == -HUGE_VAL) {
        jc->overflow = 1;
    }
}


/*
 * One value from pos, checked, at depth (1: the document): its end, or
 * SJ_LIMIT as soon as a token ends past limit.  The scan counts its bytes
 * as work and stops with SJ_AGAIN once the run's budget is spent (or with
 * SJ_MORE at the end of the bytes there so far); called again with the
 * same start, it goes on where it stopped, and a finished scan answers
 * again at once.  Each side keeps one scan.  It reads at least a token
 * each time, so a run makes headway whatever its budget.
 */

int
sj_skip(strangler_jcmp_t *jc, int s, size_t pos, size_t depth, size_t limit,
    size_t *end)
{
    return sj_scan(jc, &jc->scan[s], s, pos, depth, limit, end);
}


/*
 * The same for the run of equal bytes (strangler_json_cmp.c), with a scan
 * of its own: the step that follows may scan the same side again.
 */

int
sj_skip_same(strangler_jcmp_t *jc, size_t pos, size_t depth, size_t limit,
    size_t *end)
{
    return sj_scan(jc, &jc->scan[2], SJ_A, pos, depth, limit, end);
}


static int
sj_scan(strangler_jcmp_t *jc, sj_scan_t *sc, int s, size_t pos,
    size_t depth, size_t limit, size_t *end)
{
    int        rc, state;
    size_t     nest, n;
    uint64_t  *obj;
    sj_tok_t   t;

    if (sc->start == pos && sc->depth == depth && sc->busy) {

        if (sc->done && sc->limit == limit) {
            return sj_skip_result(jc, sc, end);
        }

        if (!sc->done && limit >= sc->limit) {
            sc->limit = limit;          /* the tokens read are within it */
            goto resume;
        }
    }

    sc->busy = 1;
    sc->done = 0;
    sc->start = pos;
    sc->depth = depth;
    sc->limit = limit;
    sc->pos = pos;
    sc->nest = 0;
    sc->state = SJ_S_V;

resume:

    pos = sc->pos;
    nest = sc->nest;
    state = sc->state;
    obj = sc->obj;

    /* a token at least each time: what led to the scan may cost the rest */

    for (n = 0; /* void */ ; n++) {
        if (n && jc->work >= jc->budget) {
            rc = SJ_AGAIN;
            goto stop;
        }

        rc = sj_token(jc, s, pos, &t);
        if (rc != SJ_OK) {
            goto stop;
        }

        if (t.end > limit) {
            /* these containers do not end within the limit */
            sc->nest = nest;
            sc->rc = SJ_LIMIT;
            sc->done = 1;
            return sj_skip_result(jc, sc, end);
        }

        if ((t.type == SJ_T_OBJ || t.type == SJ_T_ARR) && nest < SJ_OPEN_MAX)
        {
            sc->open[nest] = t.start;
        }

        pos = t.end;

        switch (state) {

        case SJ_S_VC:
            if (t.type == SJ_T_ARR_END) {
                nest--;
                goto closed;
            }

            /* fall through */

        case SJ_S_V:
            if (depth + nest > SJ_DEPTH_MAX) {
                rc = SJ_BAD;
                goto stop;
            }

            if (t.type == SJ_T_OBJ) {
                obj[nest / 64] |= (uint64_t) 1 << (nest % 64);
                nest++;
                state = SJ_S_KC;
                continue;
            }

            if (t.type == SJ_T_ARR) {
                obj[nest / 64] &= ~((uint64_t) 1 << (nest % 64));
                nest++;
                state = SJ_S_VC;
                continue;
            }

            if (t.type < SJ_T_STR) {
                rc = SJ_BAD;
                goto stop;
            }

            goto closed;

        case SJ_S_KC:
            if (t.type == SJ_T_OBJ_END) {
                nest--;
                goto closed;
            }

            /* fall through */

        case SJ_S_K:
            if (t.type != SJ_T_STR || sj_key_check(jc, s, &t) != SJ_OK) {
                rc = SJ_BAD;
                goto stop;
            }

            state = SJ_S_C;
            continue;

        case SJ_S_C:
            if (t.type != SJ_T_COLON) {
                rc = SJ_BAD;
                goto stop;
            }

            state = SJ_S_V;
            continue;

        default: /* SJ_S_AV */
            if (t.type == SJ_T_COMMA) {
                state = (obj[(nest - 1) / 64] >> ((nest - 1) % 64)) & 1
                        ? SJ_S_K : SJ_S_V;
                continue;
            }

            if (t.type != ((obj[(nest - 1) / 64] >> ((nest - 1) % 64)) & 1
                           ? SJ_T_OBJ_END : SJ_T_ARR_END))
            {
                rc = SJ_BAD;
                goto stop;
            }

            nest--;
        }

    closed:

        if (nest == 0) {
            sc->end = pos;
            sc->rc = SJ_OK;
            sc->done = 1;
            return sj_skip_result(jc, sc, end);
        }

        state = SJ_S_AV;
    }

stop:

    /* where it stopped: the token at pos is still to read */

    sc->pos = pos;
    sc->nest = nest;
    sc->state = state;

    if (rc == SJ_BAD) {
        sc->busy = 0;
    }

    return rc;
}


static int
sj_skip_result(strangler_jcmp_t *jc, sj_scan_t *sc, size_t *end)
{
    if (sc->rc == SJ_OK) {
        *end = sc->end;
        return SJ_OK;
    }

    jc->nopen = sc->nest < SJ_OPEN_MAX ? sc->nest : SJ_OPEN_MAX;
    memcpy(jc->open, sc->open, jc->nopen * sizeof(size_t));

    return SJ_LIMIT;
}


/* a key must not hold a NUL (jansson: "NUL byte in object key") */

int
sj_key_check(strangler_jcmp_t *jc, int s, const sj_tok_t *key)
{
    size_t                i, n, end;
    unsigned char         c[4];
    const unsigned char  *p;

    if (!key->esc) {
        return SJ_OK;
    }

    p = jc->side[s].p + key->start + 1;
    end = key->end - key->start - 2;

    for (i = 0; i < end; /* void */ ) {
        n = sj_str_next(p, &i, end, c);

        if (n == 1 && c[0] == '\0') {
            return SJ_BAD;
        }
    }

    return SJ_OK;
}


static void
sj_num_parse(const unsigned char *p, size_t n, sj_num_t *num)
{
    size_t     i, k;
    long long  exp;

    num->p = p;
    num->neg = (p[0] == '-');
    num->zero = 1;
    num->first = 0;
    num->last = 0;

    for (i = num->neg; i < n && p[i] >= '0' && p[i] <= '9'; i++) { /* */ }

    num->nint = i - num->neg;
    num->nfrac = 0;

    if (i < n && p[i] == '.') {
        for (k = ++i; i < n && p[i] >= '0' && p[i] <= '9'; i++) { /* */ }
        num->nfrac = i - k;
    }

    exp = 0;

    if (i < n) {
        k = i + 1 + (p[i + 1] == '+' || p[i + 1] == '-');

        for ( /* void */ ; k < n; k++) {
            if (exp < SJ_EXP_MAX) {
                exp = exp * 10 + (p[k] - '0');
            }
        }

        exp = (p[i + 1] == '-') ? -exp : exp;
    }

    for (k = 0; k < num->nint + num->nfrac; k++) {
        if (sj_num_digit(num, k) != '0') {
            if (num->zero) {
                num->first = k;
                num->zero = 0;
            }

            num->last = k;
        }
    }

    num->e = exp + (long long) num->nint - (long long) num->first - 1;
}


static unsigned char
sj_num_digit(const sj_num_t *num, size_t k)
{
    return k < num->nint ? num->p[num->neg + k]
                         : num->p[num->neg + num->nint + 1 + k - num->nint];
}


int
sj_num_equal(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
    size_t    k;
    sj_num_t  x, y;

    if (alen == blen && memcmp(a, b, alen) == 0) {
        return 1;
    }

    sj_num_parse(a, alen, &x);
    sj_num_parse(b, blen, &y);

    if (x.zero || y.zero) {
        return x.zero && y.zero;
    }

    if (x.neg != y.neg || x.e != y.e || x.last - x.first != y.last - y.first)
    {
        return 0;
    }

    for (k = 0; k <= x.last - x.first; k++) {
        if (sj_num_digit(&x, x.first + k) != sj_num_digit(&y, y.first + k)) {
            return 0;
        }
    }

    return 1;
}


/* [-]D[.DDD]e<exp>, or "0": what the diff shows of a number */

size_t
sj_num_canonical(const unsigned char *p, size_t n, char *out, size_t size)
{
    size_t    k, i;
    sj_num_t  num;

    sj_num_parse(p, n, &num);

    if (num.zero) {
        return (size_t) snprintf(out, size, "0");
    }

    i = 0;

    if (num.neg && i + 1 < size) {
        out[i++] = '-';
    }

    for (k = num.first; k <= num.last && i + 2 < size; k++) {
        out[i++] = sj_num_digit(&num, k);

        if (k == num.first && k < num.last) {
            out[i++] = '.';
        }
    }

    i += snprintf(out + i, size - i, "e%lld", num.e);

    return i < size ? i : size - 1;
}


/*
 * The next character of a checked string's raw text at *i, unescaped, as
 * UTF-8 bytes into out (4 bytes); returns their number.
 */

size_t
sj_str_next(const unsigned char *p, size_t *i, size_t end,
    unsigned char *out)
{
    size_t    k;
    uint32_t  cp, lo;

    k = *i;

    if (p[k] != '\\') {
        out[0] = p[k];
        *i = k + 1;
        return 1;
    }

    switch (p[k + 1]) {
    case 'b': out[0] = '\b'; break;
    case 'f': out[0] = '\f'; break;
    case 'n': out[0] = '\n'; break;
    case 'r': out[0] = '\r'; break;
    case 't': out[0] = '\t'; break;
    case 'u': goto unicode;
    default: out[0] = p[k + 1];
    }

    *i = k + 2;
    return 1;

unicode:

    (void) sj_hex4(p + k + 2, &cp);
    k += 6;

    if (cp >= 0xd800 && cp <= 0xdbff && k + 6 <= end) {
        (void) sj_hex4(p + k + 2, &lo);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        k += 6;
    }

    *i = k;

    if (cp < 0x80) {
        out[0] = (unsigned char) cp;
        return 1;
    }

    if (cp < 0x800) {
        out[0] = (unsigned char) (0xc0 | (cp >> 6));
        out[1] = (unsigned char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        out[0] = (unsigned char) (0xe0 | (cp >> 12));
        out[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char) (0x80 | (cp & 0x3f));
        return 3;
    }

    out[0] = (unsigned char) (0xf0 | (cp >> 18));
    out[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char) (0x80 | (cp & 0x3f));
    return 4;
}


/* two checked strings' raw texts (no quotes) by what they stand for */

int
sj_str_equal(const unsigned char *a, size_t alen, unsigned aesc,
    const unsigned char *b, size_t blen, unsigned besc)
{
    size_t         i, j, xi, xn, yi, yn;
    unsigned char  x[4], y[4];

    if (!aesc && !besc) {
        return alen == blen && memcmp(a, b, alen) == 0;
    }

    /* byte by byte: an escape may stand for a character written raw */

    i = j = 0;
    xi = xn = yi = yn = 0;

    for ( ;; ) {
        if (xi == xn && i < alen) {
            xn = sj_str_next(a, &i, alen, x);
            xi = 0;
        }

        if (yi == yn && j < blen) {
            yn = sj_str_next(b, &j, blen, y);
            yi = 0;
        }

        if (xi == xn || yi == yn) {
            return xi == xn && yi == yn;
        }

        if (x[xi++] != y[yi++]) {
            return 0;
        }
    }
}


/* FNV-1a of what a checked string stands for */

uint32_t
sj_str_hash(const unsigned char *p, size_t len, unsigned esc)
{
    size_t         i, k, n;
    uint32_t       h;
    unsigned char  c[4];

    h = 2166136261u;

    if (!esc) {
        for (i = 0; i < len; i++) {
            h = (h ^ p[i]) * 16777619u;
        }

        return h;
    }

    for (i = 0; i < len; /* void */ ) {
        n = sj_str_next(p, &i, len, c);

        for (k = 0; k < n; k++) {
            h = (h ^ c[k]) * 16777619u;
        }
    }

    return h;
}
