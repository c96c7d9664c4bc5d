
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler test TABLE CASES... [--tap] [--fail-under PERCENT]`: runs
 * each case's request through the core's matching and decision, checks
 * what it expects, and that a write to the route it lands on would go to
 * the route's owner whatever the request carries; then the coverage.
 *
 * Exit status: 0 every case holds (and the coverage is enough), 1 a case
 * fails (or the coverage is under --fail-under), 2 a bad table, a bad
 * cases file or a usage error.
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli.h"


typedef struct {
    const char               *table;
    char                    **cases;
    size_t                    ncases;
    unsigned                  tap:1;
    double                    fail_under; /* negative: none */
} strangler_cli_test_args_t;


static void strangler_cli_test_usage(FILE *f);
static int strangler_cli_test_args(int argc, char **argv,
    strangler_cli_test_args_t *args);
static int strangler_cli_test_file(const strangler_table_t *table,
    const char *file, strangler_cli_coverage_t *cov,
    strangler_cli_report_t *rep);
static void strangler_cli_test_case(const strangler_table_t *table,
    const strangler_cli_case_t *c, const strangler_cli_result_t *res,
    strangler_cli_failures_t *f);
static void strangler_cli_test_writes(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_cli_failures_t *f);
static void strangler_cli_test_write(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_method_t m,
    const char *force, strangler_cli_failures_t *f);
static strangler_str_t strangler_cli_test_got(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_cli_expect_t e);


static void
strangler_cli_test_usage(FILE *f)
{
    fprintf(f,
        "usage: strangler test TABLE CASES... [--tap] "
        "[--fail-under PERCENT]\n"
        "\n"
        "Runs each case of the CASES files (YAML) through the route-table\n"
        "code nginx runs and checks what it expects:\n"
        "\n"
        "  cases:\n"
        "    - request: { method: GET, path: \"/api/conversations/7?x=1\",\n"
        "                 headers: { X-User-Id: \"42\" } }\n"
        "      expect: { route: conversations, backend: messages }\n"
        "    - request: { method: POST, path: /api/unknown }\n"
        "      expect: { route: null, backend: monolith }\n"
        "\n"
        "request: method (GET), path (with its query), headers, cookies,\n"
        "         address, force (the force header's value), sticky_key,\n"
        "         random (a split's random number when there is no key)\n"
        "expect:  route (null: none), rule, backend, reason, shadow (the\n"
        "         target when sampled, null: none), owner\n"
        "\n"
        "Writes to every route a case lands on are checked to go to its\n"
        "owner.  A line per failed case (FILE:LINE) and a summary, then\n"
        "the coverage: routes and route paths exercised, and those not.\n"
        "\n"
        "--tap               TAP output, for prove:\n"
        "                    prove -e 'strangler test --tap TABLE' CASES\n"
        "--fail-under PCT    fail when a coverage figure is under PCT\n"
        "\n"
        "exit status: 0 every case holds, 1 a case fails or the coverage\n"
        "is too low, 2 bad table, bad cases file or usage error\n");
}


int
strangler_cli_test(int argc, char **argv)
{
    int                         rc, one, under;
    size_t                      i;
    strangler_table_t          *table;
    strangler_cli_report_t      rep;
    strangler_cli_coverage_t    cov;
    strangler_cli_patterns_t    pt;
    strangler_cli_test_args_t   args;

    if (strangler_cli_wants_help(argc, argv)) {
        strangler_cli_test_usage(stdout);
        return STRANGLER_EXIT_OK;
    }

    args.cases = calloc(argc + 1, sizeof(char *));
    if (args.cases == NULL) {
        fprintf(stderr, "strangler test: out of memory\n");
        return STRANGLER_EXIT_TROUBLE;
    }

    rc = strangler_cli_test_args(argc, argv, &args);
    if (rc != STRANGLER_EXIT_OK) {
        free(args.cases);
        return rc;
    }

    table = strangler_cli_table_load(args.table, &rc);
    if (table == NULL) {
        free(args.cases);
        return STRANGLER_EXIT_TROUBLE;
    }

    memset(&pt, 0, sizeof(strangler_cli_patterns_t));
    memset(&cov, 0, sizeof(strangler_cli_coverage_t));
    memset(&rep, 0, sizeof(strangler_cli_report_t));
    rep.tap = args.tap;

    if (strangler_cli_patterns_build(table, &pt) != 0
        || strangler_cli_coverage_init(&cov, table, &pt) != 0)
    {
        rc = STRANGLER_EXIT_TROUBLE;
        goto done;
    }

    for (i = 0; i < args.ncases; i++) {
        one = strangler_cli_test_file(table, args.cases[i], &cov, &rep);

        if (one == STRANGLER_EXIT_TROUBLE) {
            rc = one;
            goto done;
        }
    }

    under = strangler_cli_report_end(&rep, args.table, &cov,
                                     args.fail_under);

    rc = (rep.failed || under) ? STRANGLER_EXIT_FAIL : STRANGLER_EXIT_OK;

done:

    strangler_cli_coverage_free(&cov);
    strangler_cli_patterns_free(&pt);
    strangler_table_free(table);
    free(args.cases);

    return rc;
}


static int
strangler_cli_test_args(int argc, char **argv,
    strangler_cli_test_args_t *args)
{
    int          i;
    char        *end;
    const char  *a;

    args->table = NULL;
    args->ncases = 0;
    args->tap = 0;
    args->fail_under = -1;

    for (i = 0; i < argc; i++) {
        a = argv[i];

        if (strcmp(a, "--tap") == 0) {
            args->tap = 1;
            continue;
        }

        if (strcmp(a, "--fail-under") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "strangler test: --fail-under needs a "
                        "PERCENT\n");
                return STRANGLER_EXIT_TROUBLE;
            }

            a = argv[++i];
            args->fail_under = strtod(a, &end);

            if (end == a || (*end != '\0' && strcmp(end, "%") != 0)
                || args->fail_under < 0 || args->fail_under > 100)
            {
                fprintf(stderr, "strangler test: --fail-under \"%s\": a "
                        "percent from 0 to 100 expected\n", a);
                return STRANGLER_EXIT_TROUBLE;
            }

            continue;
        }

        if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "strangler test: unknown option \"%s\"\n", a);
            return STRANGLER_EXIT_TROUBLE;
        }

        if (args->table == NULL) {
            args->table = a;

        } else {
            args->cases[args->ncases++] = argv[i];
        }
    }

    if (args->ncases == 0) {
        fprintf(stderr, "strangler test: TABLE CASES... expected\n");
        strangler_cli_test_usage(stderr);
        return STRANGLER_EXIT_TROUBLE;
    }

    return STRANGLER_EXIT_OK;
}


static int
strangler_cli_test_file(const strangler_table_t *table, const char *file,
    strangler_cli_coverage_t *cov, strangler_cli_report_t *rep)
{
    size_t                     i;
    const char                *err;
    strangler_cli_case_t      *c;
    strangler_cli_cases_t      cs;
    strangler_cli_result_t     res;
    strangler_cli_failures_t   f;

    if (strangler_cli_cases_load(file, table, &cs) != 0) {
        if (cs.errs.count) {
            strangler_cli_errors_print(cs.file, &cs.errs);
        }

        strangler_cli_cases_free(&cs);
        return STRANGLER_EXIT_TROUBLE;
    }

    for (i = 0; i < cs.ncases; i++) {
        c = &cs.cases[i];
        f.n = 0;

        if (strangler_cli_decide(table, &c->request, &res, &err) != 0) {
            strangler_cli_failure(&f, "%s", err);
            strangler_cli_report_case(rep, &cs, c, &f);
            continue;
        }

        strangler_cli_test_case(table, c, &res, &f);
        strangler_cli_test_writes(table, &res, &f);
        strangler_cli_coverage_add(cov, &res);
        strangler_cli_report_case(rep, &cs, c, &f);

        strangler_cli_result_free(&res);
    }

    strangler_cli_cases_free(&cs);

    return STRANGLER_EXIT_OK;
}


static void
strangler_cli_test_case(const strangler_table_t *table,
    const strangler_cli_case_t *c, const strangler_cli_result_t *res,
    strangler_cli_failures_t *f)
{
    strangler_str_t         got;
    strangler_cli_expect_t  e;
    const strangler_str_t  *want;

    for (e = 0; e < STRANGLER_CLI_EXPECT_COUNT; e++) {
        if (!(c->expects & (1u << e))) {
            continue;
        }

        want = &c->want[e];
        got = strangler_cli_test_got(table, res, e);

        if (want->data == NULL && got.data == NULL) {
            continue;
        }

        if (want->data && got.data && want->len == got.len
            && memcmp(want->data, got.data, got.len) == 0)
        {
            continue;
        }

        strangler_cli_failure(f, "%s: expected %s%.*s%s, got %s%.*s%s",
                              strangler_cli_expect_name(e),
                              want->data ? "\"" : "",
                              want->data ? (int) want->len : 4,
                              want->data ? want->data : "null",
                              want->data ? "\"" : "",
                              got.data ? "\"" : "",
                              got.data ? (int) got.len : 4,
                              got.data ? got.data : "null",
                              got.data ? "\"" : "");
    }
}


/* what the decision says for an expectation; data NULL: null */

static strangler_str_t
strangler_cli_test_got(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_cli_expect_t e)
{
    int                       b;
    strangler_str_t           s;
    const strangler_route_t  *route;

    route = res->match.route;
    s.data = NULL;
    s.len = 0;

    switch (e) {

    case STRANGLER_CLI_EXPECT_ROUTE:
        if (route) {
            s = route->name;
        }

        return s;

    case STRANGLER_CLI_EXPECT_RULE:
        s.data = strangler_rule_name(res->match.rule);
        break;

    case STRANGLER_CLI_EXPECT_REASON:
        s.data = strangler_reason_name(res->decision.reason);
        break;

    case STRANGLER_CLI_EXPECT_BACKEND:
        s.data = strangler_cli_backend_name(table, res->decision.backend);
        break;

    case STRANGLER_CLI_EXPECT_SHADOW:
        s.data = strangler_cli_backend_name(table, res->shadow.shadow_to);
        break;

    default: /* STRANGLER_CLI_EXPECT_OWNER */
        b = route ? route->owner : table->default_backend;
        s.data = strangler_cli_backend_name(table, b);
    }

    s.len = s.data ? strlen(s.data) : 0;

    return s;
}


/*
 * Every write method that lands on the same route, with no force header
 * and with each backend's name in it, goes to the route's owner, and is
 * shadowed only in dry-run mode and never to the owner.
 */

static void
strangler_cli_test_writes(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_cli_failures_t *f)
{
    size_t              b, before;
    strangler_method_t  m;

    if (res->match.route == NULL) {
        return;
    }

    before = f->n;

    for (m = 0; m < STRANGLER_M_OTHER && f->n == before; m++) {
        if (strangler_method_is_read(m)) {
            continue;
        }

        strangler_cli_test_write(table, res, m, NULL, f);

        for (b = 0; b < table->nbackends && f->n == before; b++) {
            strangler_cli_test_write(table, res, m,
                                     table->backends[b].name.data, f);
        }
    }
}


static void
strangler_cli_test_write(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_method_t m,
    const char *force, strangler_cli_failures_t *f)
{
    const strangler_route_t  *route;
    strangler_cli_result_t    w;

    route = res->match.route;

    strangler_cli_redecide(table, res, m, force, &w);

    if (w.match.route != route) {
        return;         /* the route does not take this method */
    }

    if (w.decision.backend != route->owner
        || w.decision.reason == STRANGLER_REASON_FORCE)
    {
        strangler_cli_failure(f, "a %s%s%s would go to \"%s\", not to the "
                              "owner \"%s\"", strangler_method_name(m),
                              force ? " forced to " : "", force ? force : "",
                              strangler_cli_backend_name(table,
                                                       w.decision.backend),
                              strangler_cli_backend_name(table,
                                                         route->owner));
        return;
    }

    if (w.shadow.shadow_to != STRANGLER_NONE
        && (!route->shadow.dry_run_writes
            || w.shadow.shadow_to == route->owner))
    {
        strangler_cli_failure(f, "a %s would be copied to \"%s\"",
                              strangler_method_name(m),
                              strangler_cli_backend_name(table,
                                                       w.shadow.shadow_to));
    }
}
