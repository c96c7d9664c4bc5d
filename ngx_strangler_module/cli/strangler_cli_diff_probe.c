
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler diff`: precedence found by probing.  Example paths of each
 * pattern of both tables, matched on both with the core's own code
 * through the tables of patterns, show a path that another pattern now
 * serves (a new regex carving writes out of an old template, a prefix
 * losing part of its traffic, a pattern added where the default served).
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli_diff.h"


static void strangler_cli_diff_probe_one(strangler_cli_diff_t *diff,
    strangler_cli_probe_t *pr, int from_new, size_t i, int writes);
static int strangler_cli_diff_path(strangler_cli_diff_t *diff,
    strangler_cli_probe_t *pr, strangler_method_t m, int writes,
    const char *path, long io, long in);


/*
 * Precedence: the example paths of each pattern of either table that its
 * table serves with it, tried on the other table too.  A path another
 * pattern serves in the new table is listed when its targets change, or
 * when it changes route while its old pattern is still there (a new regex,
 * prefix or template carving traffic out of an old pattern).
 */

void
strangler_cli_diff_probe(strangler_cli_diff_t *diff, strangler_cli_probe_t *pr)
{
    size_t  i;

    for (i = 0; i < pr->po->npatterns; i++) {
        strangler_cli_diff_probe_one(diff, pr, 0, i, 0);
        strangler_cli_diff_probe_one(diff, pr, 0, i, 1);
    }

    for (i = 0; i < pr->pn->npatterns; i++) {
        strangler_cli_diff_probe_one(diff, pr, 1, i, 0);
        strangler_cli_diff_probe_one(diff, pr, 1, i, 1);
    }
}


static void
strangler_cli_diff_probe_one(strangler_cli_diff_t *diff,
    strangler_cli_probe_t *pr, int from_new, size_t i, int writes)
{
    char                            ex[STRANGLER_CLI_EXAMPLES]
                                      [STRANGLER_CLI_EXAMPLE_LEN];
    long                            io, in;
    size_t                          e, n, len;
    uint32_t                        mask;
    strangler_method_t              m;
    const strangler_route_t        *route;
    const strangler_cli_patterns_t  *from, *to;

    from = from_new ? pr->pn : pr->po;
    to = from_new ? pr->po : pr->pn;
    route = from->patterns[i].route;

    /* the first method of the class the route takes */

    mask = strangler_cli_class_methods(writes)
           & (route->methods ? route->methods
                             : strangler_cli_class_methods(-1));

    for (m = 0; m < STRANGLER_M_OTHER && !(mask & (1u << m)); m++) {
        /* void */
    }

    if (m == STRANGLER_M_OTHER) {
        return;
    }

    n = strangler_cli_examples(strangler_cli_pattern_text(&from->patterns[i]),
                               ex, STRANGLER_CLI_EXAMPLES);

    for (e = 0; e < n; e++) {
        len = strlen(ex[e]);

        if (strangler_cli_patterns_match(from, m, ex[e], len) != (long) i) {
            continue;       /* another pattern serves it already */
        }

        io = from_new ? strangler_cli_patterns_match(to, m, ex[e], len)
                      : (long) i;
        in = from_new ? (long) i
                      : strangler_cli_patterns_match(to, m, ex[e], len);

        if (strangler_cli_diff_path(diff, pr, m, writes, ex[e], io, in)) {
            return;         /* one example per pattern and class */
        }
    }
}


/* one path, served by old pattern io and new pattern in (-1: none) */

static int
strangler_cli_diff_path(strangler_cli_diff_t *diff, strangler_cli_probe_t *pr,
    strangler_method_t m, int writes, const char *path, long io, long in)
{
    int                      kept, listed;
    char                     bo[STRANGLER_CLI_DESC_LEN];
    char                     bn[STRANGLER_CLI_DESC_LEN];
    char                     example[STRANGLER_CLI_EXAMPLE_LEN + 16];
    char                    *ko, *kn, *pattern;
    size_t                   i;
    strangler_cli_change_t   c;
    const strangler_str_t   *po, *pn;
    const strangler_route_t *ro, *rn;

    ro = io >= 0 ? pr->po->patterns[io].route : NULL;
    rn = in >= 0 ? pr->pn->patterns[in].route : NULL;
    po = io >= 0 ? strangler_cli_pattern_text(&pr->po->patterns[io]) : NULL;
    pn = in >= 0 ? strangler_cli_pattern_text(&pr->pn->patterns[in]) : NULL;

    if (po == NULL && pn == NULL) {
        return 0;           /* the default's change is listed */
    }

    ko = po ? strangler_cli_pattern_key(po) : NULL;
    kn = pn ? strangler_cli_pattern_key(pn) : NULL;

    if ((po && ko == NULL) || (pn && kn == NULL)) {
        diff->failed = 1;
        free(ko);
        free(kn);
        return 1;
    }

    if (ko && kn && strcmp(ko, kn) == 0) {
        free(ko);
        free(kn);
        return 0;           /* the same pattern: its changes are listed */
    }

    kept = ko && strangler_cli_entries_serve(pr->en, ko, m);

    free(ko);
    free(kn);

    strangler_cli_describe_target(pr->old, ro, writes, bo, sizeof(bo));
    strangler_cli_describe_target(pr->new, rn, writes, bn, sizeof(bn));

    if (strcmp(bo, bn) == 0
        && (!kept || (ro && rn && strcmp(ro->name.data, rn->name.data) == 0)))
    {
        return 0;
    }

    pattern = po ? (char *) po->data : NULL;

    /* once per old and new pattern and class */

    for (i = 0; i < diff->n; i++) {
        listed = diff->changes[i].kind == STRANGLER_CLI_CHANGE_PRECEDENCE
                 && diff->changes[i].writes == writes
                 && strangler_cli_str_eq(diff->changes[i].npatterns
                                         ? diff->changes[i].patterns[0]
                                         : NULL, pattern)
                 && strangler_cli_str_eq(diff->changes[i].now,
                                         pn ? pn->data : NULL);
        if (listed) {
            return 1;
        }
    }

    memset(&c, 0, sizeof(strangler_cli_change_t));

    snprintf(example, sizeof(example), "%s %s", strangler_method_name(m),
             path);

    c.kind = STRANGLER_CLI_CHANGE_PRECEDENCE;
    c.owner = writes && strcmp(bo, bn) != 0;
    c.writes = writes;
    c.methods = 1u << m;
    c.patterns = &pattern;
    c.npatterns = po ? 1 : 0;
    c.route_before = ro ? (char *) ro->name.data : NULL;
    c.route_after = rn ? (char *) rn->name.data : NULL;
    c.before = bo;
    c.after = bn;
    c.example = example;
    c.now = pn ? (char *) pn->data : NULL;

    strangler_cli_change_merge(diff, &c);

    return 1;
}
