
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * For the reference comparer (fuzz only).  JSON numbers that jansson
 * cannot hold: integers beyond 64 bits and reals
 * beyond a double (1e400) make it refuse the whole document.  For a
 * comparison, such a body is rewritten with every number as a string
 * holding its canonical decimal form, marked by a leading NUL and "#", so
 * that numbers compare by their exact value: 1, 1.0, 1e0 and 10e-1 are one
 * number, 12345678901234567890 and 12345678901234567891 are two.  No
 * string of the document can pass for a number: one that starts with a
 * NUL gets a second one.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strangler_compare.h"
#include "ref_compare.h"


/* a bigger exponent is taken as this one: no real document has one */
#define STRANGLER_JNUM_EXP_MAX  1000000000000000LL


typedef struct {
    char                     *data;
    size_t                    len;
    size_t                    size;
    unsigned                  failed:1;
} strangler_jbuf_t;


static size_t strangler_jnum_token(const char *p, size_t n);
static void strangler_jnum_canonical(strangler_jbuf_t *b, const char *p,
    size_t n);
static void strangler_jbuf_add(strangler_jbuf_t *b, const char *p, size_t n);
static int strangler_jnum_digit(char c);


int
strangler_json_is_overflow(const json_error_t *err)
{
    return json_error_code(err) == json_error_numeric_overflow;
}


json_t *
strangler_json_load_canonical(const char *text, size_t len)
{
    return ref_json_load_canonical(text, len, 0);
}


json_t *
ref_json_load_canonical(const char *text, size_t len, size_t flags)
{
    size_t            i, j, n;
    json_t           *json;
    json_error_t      err;
    strangler_jbuf_t  b;

    b.size = len + len / 2 + 64;
    b.data = malloc(b.size);
    b.len = 0;
    b.failed = (b.data == NULL);

    for (i = 0; i < len; i = j) {

        if (text[i] == '"') {

            /* a string, as it is; after a second NUL if it starts with one */

            for (j = i + 1; j < len && text[j] != '"'; j++) {
                if (text[j] == '\\') {
                    j++;
                }
            }

            j = (j < len) ? j + 1 : len;

            strangler_jbuf_add(&b, "\"", 1);

            if (j - i > 7 && memcmp(text + i + 1, "\\u0000", 6) == 0) {
                strangler_jbuf_add(&b, "\\u0000", 6);
            }

            strangler_jbuf_add(&b, text + i + 1, j - i - 1);
            continue;
        }

        n = (text[i] == '-' || strangler_jnum_digit(text[i]))
            ? strangler_jnum_token(text + i, len - i) : 0;

        if (n == 0) {
            /* not a number: as it is (and if it is not JSON, jansson says) */
            strangler_jbuf_add(&b, text + i, 1);
            j = i + 1;
            continue;
        }

        strangler_jbuf_add(&b, "\"\\u0000#", 8);
        strangler_jnum_canonical(&b, text + i, n);
        strangler_jbuf_add(&b, "\"", 1);

        j = i + n;
    }

    json = NULL;

    if (!b.failed) {
        json = json_loadb(b.data, b.len,
                          JSON_DECODE_ANY | JSON_ALLOW_NUL | flags, &err);
    }

    free(b.data);

    return json;
}


/* the canonical text of a number a rewritten document holds, or NULL */

const char *
strangler_json_number_text(json_t *v)
{
    const char  *s;

    if (!json_is_string(v) || json_string_length(v) < 3) {
        return NULL;
    }

    s = json_string_value(v);

    return (s[0] == '\0' && s[1] == '#') ? s + 2 : NULL;
}


/*
 * The length of a JSON number at p: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?, or 0 when there is none (left for jansson to
 * refuse); a number must not run on into more of one.
 */

static size_t
strangler_jnum_token(const char *p, size_t n)
{
    size_t  i, k;

    i = (p[0] == '-');

    if (i < n && p[i] == '0') {
        i++;

    } else {
        for (k = i; i < n && strangler_jnum_digit(p[i]); i++) { /* void */ }

        if (i == k) {
            return 0;
        }
    }

    if (i < n && p[i] == '.') {
        for (k = ++i; i < n && strangler_jnum_digit(p[i]); i++) { /* void */ }

        if (i == k) {
            return 0;
        }
    }

    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;

        if (i < n && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        for (k = i; i < n && strangler_jnum_digit(p[i]); i++) { /* void */ }

        if (i == k) {
            return 0;
        }
    }

    if (i < n && (strangler_jnum_digit(p[i]) || p[i] == '.' || p[i] == 'e'
                  || p[i] == 'E' || p[i] == '-' || p[i] == '+'))
    {
        return 0;
    }

    return i;
}


/*
 * A valid number as [-]D[.DDD]e[-]E: its significant digits without
 * leading or trailing zeros and its exponent; zero (and -0) as "0".
 */

static void
strangler_jnum_canonical(strangler_jbuf_t *b, const char *p, size_t n)
{
    int         neg;
    char        num[32];
    size_t      i, k, ndigits, first, last, point;
    long long   exp, e;

    neg = (p[0] == '-');
    ndigits = 0;
    point = (size_t) -1;
    first = (size_t) -1;
    last = 0;

    for (i = neg; i < n && p[i] != 'e' && p[i] != 'E'; i++) {
        if (p[i] == '.') {
            point = ndigits;
            continue;
        }

        if (p[i] != '0') {
            first = (first == (size_t) -1) ? ndigits : first;
            last = ndigits;
        }

        ndigits++;
    }

    if (point == (size_t) -1) {
        point = ndigits;
    }

    exp = 0;

    if (i < n) {
        k = i + 1 + (p[i + 1] == '+' || p[i + 1] == '-');

        for ( /* void */ ; k < n; k++) {
            if (exp < STRANGLER_JNUM_EXP_MAX) {
                exp = exp * 10 + (p[k] - '0');
            }
        }

        exp = (p[i + 1] == '-') ? -exp : exp;
    }

    if (first == (size_t) -1) {
        strangler_jbuf_add(b, "0", 1);
        return;
    }

    if (neg) {
        strangler_jbuf_add(b, "-", 1);
    }

    /* the value is 0.D x 10^(exp + point - first), D from `first` */

    e = exp + (long long) point - (long long) first - 1;

    for (i = neg, k = 0; k <= last; i++) {
        if (p[i] == '.') {
            continue;
        }

        if (k >= first) {
            strangler_jbuf_add(b, &p[i], 1);

            if (k == first && k < last) {
                strangler_jbuf_add(b, ".", 1);
            }
        }

        k++;
    }

    k = (size_t) snprintf(num, sizeof(num), "e%lld", e);
    strangler_jbuf_add(b, num, k);
}


static void
strangler_jbuf_add(strangler_jbuf_t *b, const char *p, size_t n)
{
    char    *data;
    size_t   size;

    if (b->failed) {
        return;
    }

    if (b->len + n > b->size) {
        size = (b->len + n) * 2;
        data = realloc(b->data, size);

        if (data == NULL) {
            b->failed = 1;
            return;
        }

        b->data = data;
        b->size = size;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;
}


static int
strangler_jnum_digit(char c)
{
    return c >= '0' && c <= '9';
}
