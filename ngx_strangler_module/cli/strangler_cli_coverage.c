
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Coverage of a table by test cases: the routes some case lands on, and
 * the patterns (route paths) that serve some case, as the core's own
 * matching decides on the table of patterns.
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli.h"


int
strangler_cli_coverage_init(strangler_cli_coverage_t *cov,
    const strangler_table_t *table, const strangler_cli_patterns_t *pt)
{
    memset(cov, 0, sizeof(strangler_cli_coverage_t));

    cov->table = table;
    cov->patterns = pt;
    cov->route_hit = calloc(table->nroutes + 1, 1);
    cov->pattern_hit = calloc(pt->npatterns + 1, 1);

    if (cov->route_hit == NULL || cov->pattern_hit == NULL) {
        fprintf(stderr, "strangler: out of memory\n");
        return -1;
    }

    return 0;
}


void
strangler_cli_coverage_add(strangler_cli_coverage_t *cov,
    const strangler_cli_result_t *res)
{
    long                      p;
    const strangler_route_t  *route;

    route = res->match.route;

    if (route == NULL) {
        return;
    }

    if (!cov->route_hit[route->index]) {
        cov->route_hit[route->index] = 1;
        cov->routes_hit++;
    }

    p = strangler_cli_patterns_match(cov->patterns, res->req.method,
                                     res->path, res->len);

    if (p >= 0 && cov->patterns->patterns[p].route == route
        && !cov->pattern_hit[p])
    {
        cov->pattern_hit[p] = 1;
        cov->patterns_hit++;
    }
}


double
strangler_cli_coverage_routes(const strangler_cli_coverage_t *cov)
{
    if (cov->table->nroutes == 0) {
        return 100.0;
    }

    return 100.0 * cov->routes_hit / cov->table->nroutes;
}


double
strangler_cli_coverage_paths(const strangler_cli_coverage_t *cov)
{
    if (cov->patterns->npatterns == 0) {
        return 100.0;
    }

    return 100.0 * cov->patterns_hit / cov->patterns->npatterns;
}


void
strangler_cli_coverage_free(strangler_cli_coverage_t *cov)
{
    free(cov->route_hit);
    free(cov->pattern_hit);
    cov->route_hit = NULL;
    cov->pattern_hit = NULL;
}
