
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What `strangler test` prints: a line per failed case and a summary, or
 * TAP (a test point per case, diagnostics on stderr, the plan last) for
 * prove; then the coverage, with what no case exercises.
 */


#include <stdarg.h>
#include <string.h>

#include "strangler_cli.h"


static int strangler_cli_report_coverage(strangler_cli_report_t *rep,
    const strangler_cli_coverage_t *cov, double fail_under);
static void strangler_cli_report_request(const strangler_cli_case_t *c,
    char *buf, size_t size);
static void strangler_cli_report_uncovered(const strangler_cli_report_t *rep,
    const strangler_cli_coverage_t *cov);


void
strangler_cli_failure(strangler_cli_failures_t *f, const char *fmt, ...)
{
    va_list  args;

    if (f->n == STRANGLER_CLI_MAX_FAILURES) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(f->text[f->n++], STRANGLER_CLI_FAILURE_LEN, fmt, args);
    va_end(args);
}


void
strangler_cli_report_case(strangler_cli_report_t *rep,
    const strangler_cli_cases_t *cs, const strangler_cli_case_t *c,
    const strangler_cli_failures_t *f)
{
    char    what[STRANGLER_CLI_FAILURE_LEN];
    size_t  i;

    strangler_cli_report_request(c, what, sizeof(what));

    rep->tests++;

    if (f->n == 0) {
        rep->passed++;

        if (rep->tap) {
            printf("ok %zu - %s:%u: %s\n", rep->tests, cs->file, c->line,
                   what);
        }

        return;
    }

    rep->failed++;

    if (rep->tap) {
        printf("not ok %zu - %s:%u: %s\n", rep->tests, cs->file, c->line,
               what);

        for (i = 0; i < f->n; i++) {
            fprintf(stderr, "#   %s:%u: %s\n", cs->file, c->line,
                    f->text[i]);
        }

        return;
    }

    printf("%s:%u: %s: ", cs->file, c->line, what);

    for (i = 0; i < f->n; i++) {
        printf("%s%s", i ? "; " : "", f->text[i]);
    }

    printf("\n");
}


static int
strangler_cli_report_coverage(strangler_cli_report_t *rep,
    const strangler_cli_coverage_t *cov, double fail_under)
{
    int          under;
    double       routes, paths;
    const char  *c;

    routes = strangler_cli_coverage_routes(cov);
    paths = strangler_cli_coverage_paths(cov);
    c = rep->tap ? "# " : "";

    printf("%scoverage: routes %zu/%zu (%.1f%%), route paths %zu/%zu "
           "(%.1f%%)\n", c, cov->routes_hit, cov->table->nroutes, routes,
           cov->patterns_hit, cov->patterns->npatterns, paths);

    strangler_cli_report_uncovered(rep, cov);

    if (fail_under < 0) {
        return 0;
    }

    under = (routes < fail_under || paths < fail_under);

    if (rep->tap) {
        rep->tests++;
        printf("%s %zu - coverage of routes and route paths at least "
               "%g%%\n", under ? "not ok" : "ok", rep->tests, fail_under);
    }

    if (under) {
        fprintf(stderr, "%scoverage under %g%%:%s%s\n", c, fail_under,
                routes < fail_under ? " routes" : "",
                paths < fail_under ? " route paths" : "");
    }

    return under;
}


/* the summary, then the coverage; TAP: the coverage, then the plan */

int
strangler_cli_report_end(strangler_cli_report_t *rep, const char *table,
    const strangler_cli_coverage_t *cov, double fail_under)
{
    int  under;

    if (!rep->tap) {
        printf("%s: %zu cases, %zu passed, %zu failed\n", table,
               rep->passed + rep->failed, rep->passed, rep->failed);
    }

    under = strangler_cli_report_coverage(rep, cov, fail_under);

    if (rep->tap) {
        printf("1..%zu\n", rep->tests);
    }

    return under;
}


/* "GET /a/b?c" and the case's name */

static void
strangler_cli_report_request(const strangler_cli_case_t *c, char *buf,
    size_t size)
{
    if (c->name.data) {
        snprintf(buf, size, "%s %s (%.*s)", c->request.method,
                 c->request.uri, (int) c->name.len, c->name.data);
        return;
    }

    snprintf(buf, size, "%s %s", c->request.method, c->request.uri);
}


/*
 * Routes no case lands on, with their patterns; then the patterns of the
 * others that no case uses.  The table of patterns lists a route's
 * patterns together, in the routes' order.
 */

static void
strangler_cli_report_uncovered(const strangler_cli_report_t *rep,
    const strangler_cli_coverage_t *cov)
{
    size_t                          j;
    const char                     *c;
    const strangler_str_t          *p;
    const strangler_route_t        *route, *open;
    const strangler_cli_pattern_t  *pat;

    c = rep->tap ? "# " : "";
    open = NULL;

    for (j = 0; j < cov->patterns->npatterns; j++) {
        pat = &cov->patterns->patterns[j];
        route = pat->route;
        p = strangler_cli_pattern_text(pat);

        if (cov->route_hit[route->index]) {
            continue;
        }

        if (route != open) {
            printf("%s%snot exercised: route %.*s (", open ? ")\n" : "", c,
                   (int) route->name.len, route->name.data);
            open = route;

        } else {
            printf(", ");
        }

        printf("%.*s", (int) p->len, p->data);
    }

    if (open) {
        printf(")\n");
    }

    for (j = 0; j < cov->patterns->npatterns; j++) {
        pat = &cov->patterns->patterns[j];

        if (cov->pattern_hit[j] || !cov->route_hit[pat->route->index]) {
            continue;
        }

        p = strangler_cli_pattern_text(pat);
        printf("%snot exercised: %.*s (route %.*s)\n", c, (int) p->len,
               p->data, (int) pat->route->name.len, pat->route->name.data);
    }
}
