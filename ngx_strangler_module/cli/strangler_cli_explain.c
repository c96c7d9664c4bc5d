
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler explain FILE METHOD PATH [options]`: the route, rule,
 * backend, reason and shadow that would serve a request.
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli.h"


static void strangler_cli_explain_usage(FILE *f);
static int strangler_cli_explain_args(int argc, char **argv,
    const char **file, strangler_cli_request_t *cr);
static void strangler_cli_explain_print(const strangler_table_t *table,
    const strangler_cli_result_t *res);


static void
strangler_cli_explain_usage(FILE *f)
{
    fprintf(f,
        "usage: strangler explain FILE METHOD PATH [--header NAME:VALUE]...\n"
        "                 [--cookie NAME=VALUE]... [--ip ADDR] "
        "[--force BACKEND]\n"
        "\n"
        "Prints the route, rule, backend, reason and shadow that would\n"
        "serve the request, read as nginx reads it: METHOD as in a request\n"
        "line (upper-case: \"GET\", not \"get\"), PATH normalised as nginx\n"
        "does (%%XX decoded, \"//\" merged, \".\" and \"..\" resolved), its\n"
        "query string for \"arg:\" fields, Cookie headers and --cookie for\n"
        "\"cookie:\" ones.  --force is the value of the force header (reads\n"
        "only).  FILE \"-\" reads the table from standard input.\n"
        "\n"
        "exit status: 0 ok, 1 invalid table, 2 unreadable file or "
        "usage error\n");
}


int
strangler_cli_explain(int argc, char **argv)
{
    int                       rc;
    const char               *file, *err;
    strangler_table_t        *table;
    strangler_cli_result_t    res;
    strangler_cli_request_t   cr;

    if (strangler_cli_wants_help(argc, argv)) {
        strangler_cli_explain_usage(stdout);
        return STRANGLER_EXIT_OK;
    }

    memset(&cr, 0, sizeof(strangler_cli_request_t));

    cr.headers = calloc(argc + 1, sizeof(strangler_header_t));
    table = NULL;

    if (cr.headers == NULL) {
        fprintf(stderr, "strangler explain: out of memory\n");
        rc = STRANGLER_EXIT_TROUBLE;
        goto done;
    }

    rc = strangler_cli_explain_args(argc, argv, &file, &cr);
    if (rc != STRANGLER_EXIT_OK) {
        goto done;
    }

    table = strangler_cli_table_load(file, &rc);
    if (table == NULL) {
        goto done;
    }

    if (strangler_cli_decide(table, &cr, &res, &err) != 0) {
        fprintf(stderr, "strangler explain: bad PATH \"%s\": %s (nginx "
                "answers 400)\n", cr.uri, err);
        rc = STRANGLER_EXIT_TROUBLE;
        goto done;
    }

    strangler_cli_explain_print(table, &res);
    strangler_cli_result_free(&res);

done:

    strangler_table_free(table);
    free(cr.headers);

    return rc;
}


static int
strangler_cli_explain_args(int argc, char **argv, const char **file,
    strangler_cli_request_t *cr)
{
    int                  i, npos;
    const char          *a, *v, *pos[3], *err;
    strangler_header_t  *h;

    npos = 0;

    for (i = 0; i < argc; i++) {
        a = argv[i];

        if (a[0] != '-' || a[1] == '\0') {
            if (npos == 3) {
                fprintf(stderr, "strangler explain: unexpected \"%s\"\n", a);
                return STRANGLER_EXIT_TROUBLE;
            }

            pos[npos++] = a;
            continue;
        }

        if (strcmp(a, "--header") != 0 && strcmp(a, "--cookie") != 0
            && strcmp(a, "--ip") != 0 && strcmp(a, "--force") != 0)
        {
            fprintf(stderr, "strangler explain: unknown option \"%s\"\n", a);
            return STRANGLER_EXIT_TROUBLE;
        }

        if (i + 1 == argc) {
            fprintf(stderr, "strangler explain: %s needs a value\n", a);
            return STRANGLER_EXIT_TROUBLE;
        }

        v = argv[++i];

        if (strcmp(a, "--header") == 0) {
            if (strangler_header_parse(v, strlen(v),
                                       &cr->headers[cr->nheaders])
                != 0)
            {
                fprintf(stderr, "strangler explain: --header \"%s\": "
                        "NAME:VALUE expected\n", v);
                return STRANGLER_EXIT_TROUBLE;
            }

            cr->nheaders++;

        } else if (strcmp(a, "--cookie") == 0) {
            if (strchr(v, '=') == NULL || v[0] == '=') {
                fprintf(stderr, "strangler explain: --cookie \"%s\": "
                        "NAME=VALUE expected\n", v);
                return STRANGLER_EXIT_TROUBLE;
            }

            /* as a browser sends it: a Cookie header */

            h = &cr->headers[cr->nheaders++];
            h->name.data = "Cookie";
            h->name.len = sizeof("Cookie") - 1;
            h->value.data = v;
            h->value.len = strlen(v);

        } else if (strcmp(a, "--ip") == 0) {
            cr->address = v;

        } else {
            cr->force = v;
        }
    }

    if (npos != 3) {
        fprintf(stderr, "strangler explain: FILE METHOD PATH expected\n");
        strangler_cli_explain_usage(stderr);
        return STRANGLER_EXIT_TROUBLE;
    }

    *file = pos[0];
    cr->method = pos[1];
    cr->uri = pos[2];

    err = strangler_cli_request_check(cr);
    if (err != NULL) {
        fprintf(stderr, "strangler explain: bad %s \"%s\": %s\n",
                cr->uri[0] == '/' ? "METHOD" : "PATH",
                cr->uri[0] == '/' ? cr->method : cr->uri, err);
        return STRANGLER_EXIT_TROUBLE;
    }

    return STRANGLER_EXIT_OK;
}


static void
strangler_cli_explain_print(const strangler_table_t *table,
    const strangler_cli_result_t *res)
{
    char                         pct[16];
    size_t                       i;
    const strangler_field_t     *mo;
    const strangler_route_t     *route;
    const strangler_backend_t   *b;
    const strangler_decision_t  *d;
    const strangler_request_t   *req;

    route = res->match.route;
    d = &res->decision;
    req = &res->req;
    b = &table->backends[d->backend];

    printf("path: %s\n", res->path);

    if (route) {
        printf("route: %.*s\n", (int) route->name.len, route->name.data);

    } else {
        printf("route: -\n");
    }

    printf("rule: %s\n", strangler_rule_name(res->match.rule));
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

        if (route->sticky != STRANGLER_STICKY_NONE && req->sticky_key.data) {
            printf("sticky_key: %.*s\n", (int) req->sticky_key.len,
                   req->sticky_key.data);

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

    if (res->shadow.shadow_to == STRANGLER_NONE) {
        printf("shadow: -\n");
        return;
    }

    b = &table->backends[res->shadow.shadow_to];
    printf("shadow: %.*s\n", (int) b->name.len, b->name.data);
    strangler_cli_percent(route->shadow.sample_ppm, pct, sizeof(pct));
    printf("shadow_sample: %s\n", pct);
}
