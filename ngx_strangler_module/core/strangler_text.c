
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A request described as text, read as nginx reads a real one: the
 * accessor over a list of headers, a query string and an address, the
 * split of a "Name: value" line, and the request target's path as nginx
 * routes it.  Used by the API's explain, the `strangler` command and the
 * tests, so that they give nginx's answer.
 */


#include <stddef.h>
#include <string.h>

#include "strangler_core.h"


static int strangler_text_header(void *data, const strangler_str_t *name,
    strangler_str_t *value);
static int strangler_text_cookie(void *data, const strangler_str_t *name,
    strangler_str_t *value);
static int strangler_text_arg(void *data, const strangler_str_t *name,
    strangler_str_t *value);
static int strangler_text_addr(void *data, strangler_str_t *value);
static int strangler_text_query(void *data, strangler_str_t *value);
static int strangler_text_is(const strangler_str_t *a,
    const strangler_str_t *b);
static int strangler_hex(int c);
static int strangler_target_up(char *out, char **u);


void
strangler_text_accessor(const strangler_text_request_t *text,
    strangler_accessor_t *acc)
{
    memset(acc, 0, sizeof(strangler_accessor_t));

    acc->data = (void *) text;
    acc->header = strangler_text_header;
    acc->cookie = strangler_text_cookie;
    acc->arg = strangler_text_arg;
    acc->addr = strangler_text_addr;
    acc->query = strangler_text_query;
}


/* the first header of that name, as nginx's lookups find one */

static int
strangler_text_header(void *data, const strangler_str_t *name,
    strangler_str_t *value)
{
    size_t                           i;
    const strangler_text_request_t  *text;

    text = data;

    for (i = 0; i < text->nheaders; i++) {
        if (strangler_text_is(&text->headers[i].name, name)) {
            *value = text->headers[i].value;
            return 1;
        }
    }

    return 0;
}


static int
strangler_text_cookie(void *data, const strangler_str_t *name,
    strangler_str_t *value)
{
    size_t                           i;
    const strangler_text_request_t  *text;
    static const strangler_str_t     cookie = { "Cookie", 6 };

    text = data;

    for (i = 0; i < text->nheaders; i++) {
        if (strangler_text_is(&text->headers[i].name, &cookie)
            && strangler_cookie_parse(text->headers[i].value.data,
                                      text->headers[i].value.len, name, value))
        {
            return 1;
        }
    }

    return 0;
}


static int
strangler_text_arg(void *data, const strangler_str_t *name,
    strangler_str_t *value)
{
    const strangler_text_request_t  *text;

    text = data;

    return strangler_arg_parse(text->args.data, text->args.len, name, value);
}


static int
strangler_text_query(void *data, strangler_str_t *value)
{
    const strangler_text_request_t  *text;

    text = data;
    *value = text->args;

    return text->args.len != 0;
}


static int
strangler_text_addr(void *data, strangler_str_t *value)
{
    const strangler_text_request_t  *text;

    text = data;

    if (text->addr.data == NULL) {
        return 0;
    }

    *value = text->addr;

    return 1;
}


static int
strangler_text_is(const strangler_str_t *a, const strangler_str_t *b)
{
    return a->len == b->len
           && strangler_is_caseless(a->data, b->data, a->len);
}


/*
 * As nginx's header parser: the name up to ':' (no spaces in it), the
 * value without the spaces before and after it (tabs are kept).
 */

int
strangler_header_parse(const char *line, size_t len,
    strangler_header_t *header)
{
    const char  *colon, *p, *end;

    colon = memchr(line, ':', len);

    if (colon == NULL || colon == line
        || memchr(line, ' ', colon - line) != NULL
        || memchr(line, '\t', colon - line) != NULL)
    {
        return -1;
    }

    end = line + len;

    for (p = colon + 1; p < end && *p == ' '; p++) {
        /* void */
    }

    while (end > p && end[-1] == ' ') {
        end--;
    }

    header->name.data = line;
    header->name.len = colon - line;
    header->value.data = p;
    header->value.len = end - p;

    return 0;
}


/*
 * What ngx_http_parse_complex_uri() makes of a request target, with
 * merge_slashes on: the path ends at '?' (the query string follows) or
 * '#'; %XX is decoded, and a decoded '/' or '.' counts as one, while a
 * decoded '%', '?' or '#' is a plain character; "//" is merged, "/." is
 * dropped and "/.." drops the segment before it.  An invalid escape, %00
 * and ".." above the root make nginx answer 400.
 */

int
strangler_target_parse(const char *target, size_t len, char *out,
    size_t *out_len, strangler_str_t *args, const char **err)
{
    int          hi, lo, plain;
    char        *u;
    const char  *p, *end, *hash;
    enum {
        sw_usual = 0,
        sw_slash,
        sw_dot,
        sw_dot_dot
    } state;

    if (args) {
        args->data = NULL;
        args->len = 0;
    }

    if (len == 0 || target[0] != '/') {
        *err = "the path must start with \"/\"";
        return -1;
    }

    p = target;
    end = target + len;
    u = out;
    state = sw_usual;

    while (p < end) {
        plain = 0;

        switch (*p) {

        case '?':
            if (args) {
                hash = memchr(p + 1, '#', end - (p + 1));
                args->data = p + 1;
                args->len = (hash ? hash : end) - (p + 1);
            }

            goto done;

        case '#':
            goto done;

        case '\0':
        case ' ':
        case '\r':
        case '\n':
            *err = "a NUL, space, CR or LF in the path (escape it)";
            return -1;

        case '%':
            hi = (end - p > 1) ? strangler_hex((unsigned char) p[1]) : -1;
            lo = (end - p > 2) ? strangler_hex((unsigned char) p[2]) : -1;

            if (hi < 0 || lo < 0) {
                *err = "an invalid percent-escape in the path";
                return -1;
            }

            if (hi == 0 && lo == 0) {
                *err = "%00 in the path";
                return -1;
            }

            p += 3;
            hi = hi * 16 + lo;
            plain = (hi == '%' || hi == '?' || hi == '#');
            break;

        default:
            hi = (unsigned char) *p++;
        }

        if (plain) {
            *u++ = (char) hi;
            state = sw_usual;
            continue;
        }

        switch (state) {

        case sw_usual:
            if (hi == '/') {
                state = sw_slash;
            }

            *u++ = (char) hi;
            break;

        case sw_slash:
            if (hi == '/') {
                break;
            }

            state = (hi == '.') ? sw_dot : sw_usual;
            *u++ = (char) hi;
            break;

        case sw_dot:
            if (hi == '/') {
                state = sw_slash;
                u--;
                break;
            }

            state = (hi == '.') ? sw_dot_dot : sw_usual;
            *u++ = (char) hi;
            break;

        case sw_dot_dot:
            if (hi == '/') {
                if (strangler_target_up(out, &u) != 0) {
                    goto above;
                }

                state = sw_slash;
                break;
            }

            state = sw_usual;
            *u++ = (char) hi;
            break;
        }
    }

done:

    if (state == sw_dot) {
        u--;

    } else if (state == sw_dot_dot && strangler_target_up(out, &u) != 0) {
        goto above;
    }

    *out_len = u - out;

    return 0;

above:

    *err = "\"..\" above the root";

    return -1;
}


/* "/x/.." at the end of out: back to after the '/' before x */

static int
strangler_target_up(char *out, char **u)
{
    ptrdiff_t  i;

    for (i = (*u - out) - 4; i >= 0; i--) {
        if (out[i] == '/') {
            *u = out + i + 1;
            return 0;
        }
    }

    return -1;
}


static int
strangler_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}
