
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The `strangler` command, built from the same route-table code as the
 * module:
 *
 *   strangler check FILE...
 *   strangler explain FILE METHOD PATH [--header NAME:VALUE]...
 *       [--cookie NAME=VALUE]... [--ip ADDR] [--force BACKEND]
 *   strangler report [--route NAME] [--json] [--top N] DIFF.jsonl...
 *
 * `explain` reads the request as nginx would, through the core's text
 * accessor: PATH normalised as nginx routes it, the query string for
 * `arg:` fields, Cookie headers (and --cookie) for `cookie:` ones.  Exit
 * status: 0 ok, 1 an invalid table, 2 a usage error (a METHOD nginx
 * refuses, such as "get", or a PATH it answers 400 to, included).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strangler_core.h"
#include "strangler_report.h"


#define STRANGLER_EXIT_OK       0
#define STRANGLER_EXIT_INVALID  1
#define STRANGLER_EXIT_USAGE    2


/* the name --force is given under: no --header can have it */
#define STRANGLER_CLI_FORCE     ":force"


typedef struct {
    const char           *file;
    const char           *method;
    const char           *uri;
    strangler_header_t   *headers;     /* --header, --cookie, --force */
    size_t                nheaders;
    const char           *ip;
} strangler_cli_explain_t;


static void strangler_cli_usage(FILE *f);
static void strangler_cli_errors(const char *file,
    const strangler_errors_t *errs);
static int strangler_cli_check(int argc, char **argv);
static int strangler_cli_explain(int argc, char **argv);
static int strangler_cli_explain_args(int argc, char **argv,
    strangler_cli_explain_t *ex);
static void strangler_cli_header_add(strangler_cli_explain_t *ex,
    const char *name, const char *value);
static void strangler_cli_print_explain(const strangler_table_t *table,
    const strangler_match_t *match, const strangler_decision_t *d,
    const strangler_decision_t *shadow, const strangler_request_t *req);
static void strangler_cli_print_percent(const char *label, uint32_t ppm);


int
main(int argc, char **argv)
{
    if (argc < 2) {
        strangler_cli_usage(stderr);
        return STRANGLER_EXIT_USAGE;
    }

    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "help") == 0)
    {
        strangler_cli_usage(stdout);
        return STRANGLER_EXIT_OK;
    }

    if (strcmp(argv[1], "check") == 0) {
        return strangler_cli_check(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "explain") == 0) {
        return strangler_cli_explain(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "report") == 0) {
        return strangler_report(argc - 2, argv + 2);
    }

    fprintf(stderr, "strangler: unknown command \"%s\"\n", argv[1]);
    strangler_cli_usage(stderr);

    return STRANGLER_EXIT_USAGE;
}


static void
strangler_cli_usage(FILE *f)
{
    fprintf(f,
        "usage: strangler check FILE...\n"
        "       strangler explain FILE METHOD PATH [--header NAME:VALUE]...\n"
        "                 [--cookie NAME=VALUE]... [--ip ADDR] "
        "[--force BACKEND]\n"
        "       strangler report [--route NAME] [--json] [--top N] "
        "DIFF.jsonl...\n"
        "\n"
        "check    validates route tables: the errors go to stderr, one per\n"
        "         line; \"FILE: ok, ...\" for each valid table to stdout\n"
        "explain  prints the route, rule, backend, reason and shadow that\n"
        "         would serve the request, read as nginx reads it: METHOD\n"
        "         as in a request line (upper-case: \"GET\", not \"get\"),\n"
        "         PATH normalised as nginx does (%%XX decoded, \"//\"\n"
        "         merged, \".\" and \"..\" resolved), its query string for\n"
        "         \"arg:\" fields, Cookie headers and --cookie for\n"
        "         \"cookie:\" ones; --force is the value of the force header\n"
        "         (reads only)\n"
        "report   sums diff logs up per route and field (see strangler\n"
        "         report --help)\n"
        "\n"
        "exit status: 0 ok, 1 invalid table, 2 usage error\n");
}


static void
strangler_cli_errors(const char *file, const strangler_errors_t *errs)
{
    size_t  i;

    if (errs->count == 0) {
        fprintf(stderr, "%s: invalid route table\n", file);
        return;
    }

    for (i = 0; i < errs->count && i < STRANGLER_MAX_ERRORS; i++) {
        fprintf(stderr, "%s\n", errs->text[i]);
    }

    if (errs->count > STRANGLER_MAX_ERRORS) {
        fprintf(stderr, "%s: %zu more errors not shown\n", file,
                errs->count - STRANGLER_MAX_ERRORS);
    }
}


static int
strangler_cli_check(int argc, char **argv)
{
    int                  i, rc;
    strangler_table_t   *table;
    strangler_errors_t   errs;

    if (argc == 0) {
        fprintf(stderr, "strangler check: no FILE\n");
        strangler_cli_usage(stderr);
        return STRANGLER_EXIT_USAGE;
    }

    for (i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "strangler check: unknown option \"%s\"\n",
                    argv[i]);
            return STRANGLER_EXIT_USAGE;
        }
    }

    rc = STRANGLER_EXIT_OK;

    for (i = 0; i < argc; i++) {
        memset(&errs, 0, sizeof(strangler_errors_t));

        table = strangler_table_load_file(argv[i], &errs);

        if (table == NULL) {
            strangler_cli_errors(argv[i], &errs);
            rc = STRANGLER_EXIT_INVALID;
            continue;
        }

        printf("%s: ok, %zu routes, %zu backends, sha256 %s\n", argv[i],
               table->nroutes, table->nbackends, table->sha256);

        strangler_table_free(table);
    }

    return rc;
}


static int
strangler_cli_explain(int argc, char **argv)
{
    int                        rc;
    char                      *path;
    size_t                     len;
    const char                *err;
    strangler_table_t         *table;
    strangler_match_t          match;
    strangler_errors_t         errs;
    strangler_request_t        req;
    strangler_accessor_t       acc;
    strangler_override_t       sample_all;
    strangler_decision_t       d, shadow;
    strangler_cli_explain_t    ex;
    strangler_text_request_t   text;

    memset(&ex, 0, sizeof(strangler_cli_explain_t));
    memset(&text, 0, sizeof(strangler_text_request_t));

    ex.headers = calloc(argc + 1, sizeof(strangler_header_t));
    path = NULL;
    table = NULL;

    if (ex.headers == NULL) {
        fprintf(stderr, "strangler explain: out of memory\n");
        rc = STRANGLER_EXIT_USAGE;
        goto done;
    }

    rc = strangler_cli_explain_args(argc, argv, &ex);
    if (rc != STRANGLER_EXIT_OK) {
        goto done;
    }

    /* the path as nginx routes it, the query string aside */

    path = malloc(strlen(ex.uri) + 1);
    if (path == NULL) {
        fprintf(stderr, "strangler explain: out of memory\n");
        rc = STRANGLER_EXIT_USAGE;
        goto done;
    }

    if (strangler_target_parse(ex.uri, strlen(ex.uri), path, &len,
                               &text.args, &err)
        != 0)
    {
        fprintf(stderr, "strangler explain: bad PATH \"%s\": %s "
                "(nginx answers 400)\n", ex.uri, err);
        rc = STRANGLER_EXIT_USAGE;
        goto done;
    }

    path[len] = '\0';

    memset(&errs, 0, sizeof(strangler_errors_t));

    table = strangler_table_load_file(ex.file, &errs);
    if (table == NULL) {
        strangler_cli_errors(ex.file, &errs);
        rc = STRANGLER_EXIT_INVALID;
        goto done;
    }

    text.headers = ex.headers;
    text.nheaders = ex.nheaders;

    if (ex.ip) {
        text.addr.data = ex.ip;
        text.addr.len = strlen(ex.ip);
    }

    strangler_text_accessor(&text, &acc);

    memset(&req, 0, sizeof(strangler_request_t));
    req.method = strangler_method_parse(ex.method, strlen(ex.method));
    req.path.data = path;
    req.path.len = len;
    req.force_header.data = STRANGLER_CLI_FORCE;
    req.force_header.len = sizeof(STRANGLER_CLI_FORCE) - 1;

    strangler_request_route(table, &acc, &req, &match, &d);

    /* the shadow it would get when sampled */

    sample_all.reads = STRANGLER_NONE;
    sample_all.owner = STRANGLER_NONE;
    sample_all.sample_ppm = STRANGLER_SAMPLE_SCALE;
    req.override = &sample_all;

    strangler_decide(table, &match, &req, &shadow);

    req.override = NULL;

    strangler_cli_print_explain(table, &match, &d, &shadow, &req);

done:

    strangler_table_free(table);
    free(path);
    free(ex.headers);

    return rc;
}


static int
strangler_cli_explain_args(int argc, char **argv, strangler_cli_explain_t *ex)
{
    int          i, npos;
    const char  *a, *v, *pos[3];

    npos = 0;

    for (i = 0; i < argc; i++) {
        a = argv[i];

        if (a[0] != '-' || a[1] == '\0') {
            if (npos == 3) {
                fprintf(stderr, "strangler explain: unexpected \"%s\"\n", a);
                return STRANGLER_EXIT_USAGE;
            }

            pos[npos++] = a;
            continue;
        }

        if (strcmp(a, "--header") != 0 && strcmp(a, "--cookie") != 0
            && strcmp(a, "--ip") != 0 && strcmp(a, "--force") != 0)
        {
            fprintf(stderr, "strangler explain: unknown option \"%s\"\n", a);
            return STRANGLER_EXIT_USAGE;
        }

        if (i + 1 == argc) {
            fprintf(stderr, "strangler explain: %s needs a value\n", a);
            return STRANGLER_EXIT_USAGE;
        }

        v = argv[++i];

        if (strcmp(a, "--header") == 0) {
            if (strangler_header_parse(v, strlen(v),
                                       &ex->headers[ex->nheaders])
                != 0)
            {
                fprintf(stderr, "strangler explain: --header \"%s\": "
                        "NAME:VALUE expected\n", v);
                return STRANGLER_EXIT_USAGE;
            }

            ex->nheaders++;

        } else if (strcmp(a, "--cookie") == 0) {
            if (strchr(v, '=') == NULL || v[0] == '=') {
                fprintf(stderr, "strangler explain: --cookie \"%s\": "
                        "NAME=VALUE expected\n", v);
                return STRANGLER_EXIT_USAGE;
            }

            /* as a browser sends it: a Cookie header */
            strangler_cli_header_add(ex, "Cookie", v);

        } else if (strcmp(a, "--ip") == 0) {
            ex->ip = v;

        } else {
            strangler_cli_header_add(ex, STRANGLER_CLI_FORCE, v);
        }
    }

    if (npos != 3) {
        fprintf(stderr, "strangler explain: FILE METHOD PATH expected\n");
        strangler_cli_usage(stderr);
        return STRANGLER_EXIT_USAGE;
    }

    ex->file = pos[0];
    ex->method = pos[1];
    ex->uri = pos[2];

    if (!strangler_method_is_valid(ex->method, strlen(ex->method))) {
        fprintf(stderr, "strangler explain: bad METHOD \"%s\": nginx "
                "refuses a request line whose method is not upper-case "
                "letters, \"_\" or \"-\" (400): write it as a client "
                "sends it, such as GET\n", ex->method);
        return STRANGLER_EXIT_USAGE;
    }

    if (ex->uri[0] != '/') {
        fprintf(stderr, "strangler explain: PATH \"%s\" must start with "
                "\"/\"\n", ex->uri);
        return STRANGLER_EXIT_USAGE;
    }

    return STRANGLER_EXIT_OK;
}


static void
strangler_cli_header_add(strangler_cli_explain_t *ex, const char *name,
    const char *value)
{
    strangler_header_t  *h;

    h = &ex->headers[ex->nheaders++];

    h->name.data = name;
    h->name.len = strlen(name);
    h->value.data = value;
    h->value.len = strlen(value);
}


static void
strangler_cli_print_explain(const strangler_table_t *table,
    const strangler_match_t *match, const strangler_decision_t *d,
    const strangler_decision_t *shadow, const strangler_request_t *req)
{
    const strangler_str_t       *key;
    const strangler_field_t     *mo;

    size_t                      i;
    const strangler_route_t    *route;
    const strangler_backend_t  *b;

    route = match->route;
    key = &req->sticky_key;
    b = &table->backends[d->backend];

    printf("path: %.*s\n", (int) req->path.len, req->path.data);

    if (route) {
        printf("route: %.*s\n", (int) route->name.len, route->name.data);

    } else {
        printf("route: -\n");
    }

    printf("rule: %s\n", strangler_rule_name(match->rule));
    printf("backend: %.*s\n", (int) b->name.len, b->name.data);
    printf("location: %.*s\n", (int) b->location.len, b->location.data);
    printf("reason: %s\n", strangler_reason_name(d->reason));
    printf("write: %s\n", d->write ? "yes" : "no");

    mo = req->method_override;

    if (mo) {
        printf("method_override: %s:%.*s\n", strangler_field_name(mo->from),
               (int) mo->name.len, mo->name.data);
    }

    if (d->reason == STRANGLER_REASON_SPLIT) {
        printf("split:");

        for (i = 0; i < route->nreads; i++) {
            b = &table->backends[route->reads[i].backend];
            printf(" %.*s=%u", (int) b->name.len, b->name.data,
                   route->reads[i].weight);
        }

        printf("\n");

        if (route->sticky != STRANGLER_STICKY_NONE && key->data) {
            printf("sticky_key: %.*s\n", (int) key->len, key->data);

        } else if (route->sticky != STRANGLER_STICKY_NONE) {
            printf("sticky_key: - (absent: a random pick, shown for 0)\n");
        }
    }

    if (d->force_ignored) {
        printf("force: ignored, a write goes to the owner\n");

    } else if (d->force_unknown) {
        printf("force: unknown backend \"%.*s\", ignored\n",
               (int) req->force.len, req->force.data);
    }

    if (shadow->shadow_to == STRANGLER_NONE) {
        printf("shadow: -\n");
        return;
    }

    b = &table->backends[shadow->shadow_to];
    printf("shadow: %.*s\n", (int) b->name.len, b->name.data);
    strangler_cli_print_percent("shadow_sample", route->shadow.sample_ppm);
}


static void
strangler_cli_print_percent(const char *label, uint32_t ppm)
{
    char      frac[8];
    uint32_t  unit, rest;
    size_t    n;

    unit = STRANGLER_PPM_PER_PERCENT;

    if (ppm % unit == 0) {
        printf("%s: %u%%\n", label, ppm / unit);
        return;
    }

    rest = ppm % unit;
    n = (size_t) snprintf(frac, sizeof(frac), "%04u", rest);

    while (n > 1 && frac[n - 1] == '0') {
        frac[--n] = '\0';
    }

    printf("%s: %u.%s%%\n", label, ppm / unit, frac);
}
