
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The table of patterns: one route per pattern of a table, with the
 * route's methods, in the table's order.  Matched by the core's own code,
 * it tells which pattern serves a request (for coverage and for probing),
 * with the precedence nginx applies.  It is written as YAML and loaded by
 * the loader, so that it is indexed exactly as the table is.
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli.h"


typedef struct {
    char                     *data;
    size_t                    len;
    size_t                    size;
    unsigned                  failed:1;
} strangler_cli_buf_t;


static void strangler_cli_buf_add(strangler_cli_buf_t *b, const char *s,
    size_t len);
static void strangler_cli_buf_str(strangler_cli_buf_t *b, const char *s);
static void strangler_cli_buf_quoted(strangler_cli_buf_t *b,
    const strangler_str_t *s);
static int strangler_cli_path_seen(const strangler_route_t *route,
    size_t path);


int
strangler_cli_patterns_build(const strangler_table_t *table,
    strangler_cli_patterns_t *pt)
{
    char                      num[32];
    size_t                    i, j, n;
    strangler_method_t        m;
    strangler_errors_t        errs;
    strangler_cli_buf_t       b;
    const strangler_route_t  *route;

    memset(pt, 0, sizeof(strangler_cli_patterns_t));
    memset(&b, 0, sizeof(strangler_cli_buf_t));

    for (i = 0, n = 0; i < table->nroutes; i++) {
        n += table->routes[i].paths.n;
    }

    pt->patterns = calloc(n + 1, sizeof(strangler_cli_pattern_t));
    if (pt->patterns == NULL) {
        fprintf(stderr, "strangler: out of memory\n");
        return -1;
    }

    strangler_cli_buf_str(&b, "version: 1\ndefault: b\nbackends: {b: {}}\n"
                              "routes:\n");

    for (i = 0; i < table->nroutes; i++) {
        route = &table->routes[i];

        for (j = 0; j < route->paths.n; j++) {
            if (strangler_cli_path_seen(route, j)) {
                continue;
            }

            snprintf(num, sizeof(num), "  - name: p%zu\n    paths: [",
                     pt->npatterns);
            strangler_cli_buf_str(&b, num);
            strangler_cli_buf_quoted(&b, &route->paths.items[j]);
            strangler_cli_buf_str(&b, "]\n");

            if (route->methods) {
                strangler_cli_buf_str(&b, "    methods: [");

                for (m = 0; m < STRANGLER_M_OTHER; m++) {
                    if (route->methods & (1u << m)) {
                        strangler_cli_buf_str(&b, strangler_method_name(m));
                        strangler_cli_buf_str(&b, ", ");
                    }
                }

                b.len -= 2;
                strangler_cli_buf_str(&b, "]\n");
            }

            pt->patterns[pt->npatterns].route = route;
            pt->patterns[pt->npatterns].path = j;
            pt->npatterns++;
        }
    }

    if (b.failed) {
        fprintf(stderr, "strangler: out of memory\n");
        free(b.data);
        return -1;
    }

    memset(&errs, 0, sizeof(strangler_errors_t));

    pt->table = strangler_table_load_buffer("patterns", b.data, b.len, &errs);

    free(b.data);

    if (pt->table == NULL) {
        fprintf(stderr, "strangler: %.*s: its patterns cannot be told "
                "apart:\n", (int) table->file.len, table->file.data);
        strangler_cli_errors_print("patterns", &errs);
        return -1;
    }

    return 0;
}


long
strangler_cli_patterns_match(const strangler_cli_patterns_t *pt,
    strangler_method_t method, const char *path, size_t len)
{
    strangler_match_t  match;

    strangler_table_match(pt->table, method, path, len, &match);

    if (match.route == NULL) {
        return -1;
    }

    return (long) match.route->index;
}


void
strangler_cli_patterns_free(strangler_cli_patterns_t *pt)
{
    strangler_table_free(pt->table);
    free(pt->patterns);
    pt->table = NULL;
    pt->patterns = NULL;
}


/* a pattern written twice in one route is one pattern */

static int
strangler_cli_path_seen(const strangler_route_t *route, size_t path)
{
    size_t                  i;
    const strangler_str_t  *p, *q;

    p = &route->paths.items[path];

    for (i = 0; i < path; i++) {
        q = &route->paths.items[i];

        if (q->len == p->len && memcmp(q->data, p->data, p->len) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
strangler_cli_buf_add(strangler_cli_buf_t *b, const char *s, size_t len)
{
    char    *p;
    size_t   size;

    if (b->failed) {
        return;
    }

    if (b->len + len + 1 > b->size) {
        for (size = b->size ? b->size * 2 : 4096; size < b->len + len + 1;
             size *= 2)
        {
            /* void */
        }

        p = realloc(b->data, size);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->data = p;
        b->size = size;
    }

    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}


static void
strangler_cli_buf_str(strangler_cli_buf_t *b, const char *s)
{
    strangler_cli_buf_add(b, s, strlen(s));
}


/* a YAML double-quoted scalar */

static void
strangler_cli_buf_quoted(strangler_cli_buf_t *b, const strangler_str_t *s)
{
    char           esc[8];
    size_t         i;
    unsigned char  c;

    strangler_cli_buf_add(b, "\"", 1);

    for (i = 0; i < s->len; i++) {
        c = (unsigned char) s->data[i];

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char) c;
            strangler_cli_buf_add(b, esc, 2);

        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            strangler_cli_buf_add(b, esc, 4);

        } else {
            strangler_cli_buf_add(b, (const char *) &c, 1);
        }
    }

    strangler_cli_buf_add(b, "\"", 1);
}
