
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Fuzz target: the route-table loader.  The input is the YAML file; the
 * loader must either report errors ("fuzz.yaml:line:col: ...", each a
 * terminated string) or return a table whose indexes are all in range.
 * A loaded table is then asked about each of its own patterns, so the
 * index built from fuzzed patterns is walked too.  Everything is freed:
 * LeakSanitizer reports what is not.
 */


#include "fuzz.h"
#include "strangler_table.h"


#define FUZZ_NAME  "fuzz.yaml"


static void fuzz_check_errors(const strangler_errors_t *errs);
static void fuzz_check_table(const strangler_table_t *t);
static void fuzz_check_backend(const strangler_table_t *t, int b);
static void fuzz_match_own_patterns(const strangler_table_t *t);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strangler_table_t   *t;
    strangler_errors_t   errs;

    memset(&errs, 0xa5, sizeof(strangler_errors_t));

    t = strangler_table_load_buffer(FUZZ_NAME, (const char *) data, size,
                                    &errs);

    if (t == NULL) {
        fuzz_check_errors(&errs);
        return 0;
    }

    FUZZ_CHECK(errs.count == 0);

    fuzz_check_table(t);
    fuzz_match_own_patterns(t);

    strangler_table_free(t);

    return 0;
}


static void
fuzz_check_errors(const strangler_errors_t *errs)
{
    size_t  i, n;

    FUZZ_CHECK(errs->count > 0);

    n = errs->count < STRANGLER_MAX_ERRORS ? errs->count
                                           : STRANGLER_MAX_ERRORS;

    for (i = 0; i < n; i++) {
        FUZZ_CHECK(memchr(errs->text[i], '\0', STRANGLER_ERROR_LEN) != NULL);
        FUZZ_CHECK(strncmp(errs->text[i], FUZZ_NAME,
                           sizeof(FUZZ_NAME) - 1) == 0);
    }
}


static void
fuzz_check_table(const strangler_table_t *t)
{
    size_t                    i, j;
    uint32_t                  total;
    const strangler_route_t  *r;

    FUZZ_CHECK(t->version == 1);
    FUZZ_CHECK(t->nbackends > 0 && t->nbackends <= STRANGLER_MAX_BACKENDS);
    FUZZ_CHECK(strlen(t->sha256) == 64);
    fuzz_check_backend(t, t->default_backend);

    for (i = 0; i < t->nbackends; i++) {
        FUZZ_CHECK(t->backends[i].name.len > 0);
        FUZZ_CHECK(t->backends[i].location.len > 1);
        FUZZ_CHECK(t->backends[i].location.data[0] == '@');
        FUZZ_CHECK(strangler_backend_find(t, t->backends[i].name.data,
                                          t->backends[i].name.len)
                   == (int) i);
    }

    for (i = 0; i < t->nroutes; i++) {
        r = &t->routes[i];

        FUZZ_CHECK(r->index == i);
        FUZZ_CHECK(r->name.len > 0);
        FUZZ_CHECK(r->paths.n > 0);
        FUZZ_CHECK(strangler_route_find(t, r->name.data, r->name.len) == r);
        fuzz_check_backend(t, r->owner);

        total = 0;

        for (j = 0; j < r->nreads; j++) {
            fuzz_check_backend(t, r->reads[j].backend);
            total += r->reads[j].weight;
        }

        if (r->nreads > 1) {
            FUZZ_CHECK(total == r->total_weight);
        }

        if (r->shadow.enabled) {
            FUZZ_CHECK(r->shadow.sample_ppm <= STRANGLER_SAMPLE_SCALE);

            if (r->shadow.to != STRANGLER_NONE) {
                fuzz_check_backend(t, r->shadow.to);
            }

            if (r->shadow.dry_run_writes) {
                FUZZ_CHECK(r->shadow.dry_run_header.len > 0);
            }
        }
    }
}


static void
fuzz_check_backend(const strangler_table_t *t, int b)
{
    FUZZ_CHECK(b >= 0 && (size_t) b < t->nbackends);
}


/*
 * Every pattern as a path, with every method: whatever matches must be a
 * route of this table whose `methods` allow the method.
 */

static void
fuzz_match_own_patterns(const strangler_table_t *t)
{
    size_t                    i, j;
    unsigned                  m;
    strangler_match_t         match;
    const strangler_str_t    *p;
    const strangler_route_t  *r;

    for (i = 0; i < t->nroutes; i++) {
        for (j = 0; j < t->routes[i].paths.n; j++) {
            p = &t->routes[i].paths.items[j];

            for (m = 0; m < STRANGLER_M_COUNT; m++) {
                strangler_table_match(t, (strangler_method_t) m, p->data,
                                      p->len, &match);

                r = match.route;

                if (r == NULL) {
                    FUZZ_CHECK(match.rule == STRANGLER_RULE_DEFAULT);
                    continue;
                }

                FUZZ_CHECK(r >= t->routes && r < t->routes + t->nroutes);
                FUZZ_CHECK(match.rule < STRANGLER_RULE_DEFAULT);
                FUZZ_CHECK(r->methods == 0
                           || (m != STRANGLER_M_OTHER
                               && (r->methods & (1u << m))));
            }
        }
    }
}
