
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Example paths of a pattern, to probe a table with: a path an exact
 * pattern names; templates with their parameters filled in; prefixes with
 * something after them; for a regex, a path written from it where its
 * syntax is simple, and its literal prefix with something after it.
 * The caller keeps those that the pattern really serves.
 */


#include <string.h>

#include "strangler_cli.h"


/* what a {name} and a final "*" become, one example each */

static const struct {
    const char               *param;
    const char               *tail;
} strangler_cli_fills[] = {
    { "1", "1" },
    { "x", "x/y" },
    { "1", "" },
};


static const char  *strangler_cli_regex_tails[] = { "", "1", "x", "1/x" };


static size_t strangler_cli_example_add(char out[][STRANGLER_CLI_EXAMPLE_LEN],
    size_t n, size_t max, const char *s, size_t len);
static size_t strangler_cli_fill(const strangler_str_t *pattern,
    const char *param, const char *tail, char *out);
static size_t strangler_cli_regex_literal(const char *re, size_t len,
    char *out);
static size_t strangler_cli_regex_write(const char *re, size_t len,
    char *out);
static int strangler_cli_regex_meta(char c);


size_t
strangler_cli_examples(const strangler_str_t *pattern,
    char out[][STRANGLER_CLI_EXAMPLE_LEN], size_t max)
{
    char         buf[STRANGLER_CLI_EXAMPLE_LEN];
    size_t       i, n, len, rlen;
    const char  *re;

    n = 0;
    buf[0] = '\0';

    if (pattern->len == 0 || pattern->len >= STRANGLER_CLI_EXAMPLE_LEN / 2) {
        return 0;
    }

    if (pattern->data[0] == '/') {
        for (i = 0; i < sizeof(strangler_cli_fills)
                        / sizeof(strangler_cli_fills[0]); i++)
        {
            len = strangler_cli_fill(pattern, strangler_cli_fills[i].param,
                                     strangler_cli_fills[i].tail, buf);
            n = strangler_cli_example_add(out, n, max, buf, len);
        }

        return n;
    }

    /* "~ ^/re" or "~* ^/re" */

    re = pattern->data + 1;
    rlen = pattern->len - 1;

    if (rlen && *re == '*') {
        re++;
        rlen--;
    }

    while (rlen && *re == ' ') {
        re++;
        rlen--;
    }

    len = strangler_cli_regex_write(re, rlen, buf);
    n = strangler_cli_example_add(out, n, max, buf, len);

    len = strangler_cli_regex_literal(re, rlen, buf);

    if (len == 0) {
        return n;
    }

    for (i = 0; i < sizeof(strangler_cli_regex_tails)
                    / sizeof(strangler_cli_regex_tails[0]); i++)
    {
        strcpy(buf + len, strangler_cli_regex_tails[i]);
        n = strangler_cli_example_add(out, n, max, buf,
                                      len + strlen(buf + len));
    }

    return n;
}


/* adds a path that starts with "/" and is not there yet */

static size_t
strangler_cli_example_add(char out[][STRANGLER_CLI_EXAMPLE_LEN], size_t n,
    size_t max, const char *s, size_t len)
{
    size_t  i;

    if (n == max || len == 0 || s[0] != '/'
        || len >= STRANGLER_CLI_EXAMPLE_LEN)
    {
        return n;
    }

    for (i = 0; i < n; i++) {
        if (strlen(out[i]) == len && memcmp(out[i], s, len) == 0) {
            return n;
        }
    }

    memcpy(out[n], s, len);
    out[n][len] = '\0';

    return n + 1;
}


/* a path pattern with each {name} and the final "*" filled in */

static size_t
strangler_cli_fill(const strangler_str_t *pattern, const char *param,
    const char *tail, char *out)
{
    size_t       n, plen, tlen;
    const char  *p, *end, *close;

    p = pattern->data;
    end = p + pattern->len;
    n = 0;
    plen = strlen(param);
    tlen = strlen(tail);

    while (p < end) {
        if (*p == '{' && (p == pattern->data || p[-1] == '/')) {
            close = memchr(p, '}', end - p);

            if (close != NULL) {
                memcpy(out + n, param, plen);
                n += plen;
                p = close + 1;
                continue;
            }
        }

        if (*p == '*' && p + 1 == end && p[-1] == '/') {
            memcpy(out + n, tail, tlen);
            n += tlen;
            break;
        }

        out[n++] = *p++;
    }

    out[n] = '\0';

    return n;
}


/* the literal start of an anchored regex, "" when it has none */

static size_t
strangler_cli_regex_literal(const char *re, size_t len, char *out)
{
    size_t  i, n;

    if (len < 2 || re[0] != '^' || re[1] != '/') {
        return 0;
    }

    for (i = 1; i < len && !strangler_cli_regex_meta(re[i]); i++) {
        /* void */
    }

    n = i - 1;

    /* a quantifier applies to the last literal character */

    if (i < len && (re[i] == '*' || re[i] == '?' || re[i] == '+'
                    || re[i] == '{'))
    {
        n--;
    }

    memcpy(out, re + 1, n);
    out[n] = '\0';

    return n;
}


/*
 * A string the regex matches, for the simple ones: literals, escapes,
 * ".", classes, groups without alternatives, quantifiers (the least they
 * allow, "+" once).  0 for anything else.
 */

static size_t
strangler_cli_regex_write(const char *re, size_t len, char *out)
{
    char         c;
    size_t       i, n, atom, reps, k, alen, depth, groups[8];

    if (len < 2 || re[0] != '^' || memchr(re, '|', len) != NULL) {
        return 0;
    }

    n = 0;
    atom = 0;
    depth = 0;

    for (i = 1; i < len; i++) {

        if (n + 16 >= STRANGLER_CLI_EXAMPLE_LEN / 2) {
            return 0;
        }

        c = re[i];

        switch (c) {

        case '$':
            if (i + 1 != len) {
                return 0;
            }

            continue;

        case '(':
            if (i + 2 < len && re[i + 1] == '?') {
                if (re[i + 2] != ':') {
                    return 0;
                }

                i += 2;
            }

            if (depth == sizeof(groups) / sizeof(groups[0])) {
                return 0;
            }

            groups[depth++] = n;
            continue;

        case ')':
            if (depth == 0) {
                return 0;
            }

            atom = groups[--depth];
            continue;

        case '*':
        case '?':
            n = atom;
            continue;

        case '+':
            continue;

        case '{':
            reps = 0;

            for (i++; i < len && re[i] >= '0' && re[i] <= '9'; i++) {
                reps = reps * 10 + (re[i] - '0');
            }

            while (i < len && re[i] != '}') {
                i++;
            }

            if (i == len || reps > 8) {
                return 0;
            }

            alen = n - atom;

            if (reps == 0) {
                n = atom;
            }

            for (k = 1; k < reps; k++) {
                memmove(out + n, out + atom, alen);
                n += alen;
            }

            continue;

        case '.':
            atom = n;
            out[n++] = 'a';
            continue;

        case '\\':
            if (++i == len) {
                return 0;
            }

            atom = n;

            switch (re[i]) {
            case 'd':
                out[n++] = '1';
                break;
            case 'w':
                out[n++] = 'a';
                break;
            default:
                if ((re[i] >= 'a' && re[i] <= 'z')
                    || (re[i] >= 'A' && re[i] <= 'Z'))
                {
                    return 0;
                }

                out[n++] = re[i];
            }

            continue;

        case '[':
            if (i + 1 >= len || re[i + 1] == '^' || re[i + 1] == '\\') {
                return 0;
            }

            atom = n;
            out[n++] = re[i + 1];

            for (i += 2; i < len && re[i] != ']'; i++) {
                /* void */
            }

            if (i == len) {
                return 0;
            }

            continue;

        default:
            atom = n;
            out[n++] = c;
        }
    }

    out[n] = '\0';

    return n;
}


static int
strangler_cli_regex_meta(char c)
{
    return strchr("\\^$.[]|()?*+{}", c) != NULL || c == '\0';
}
