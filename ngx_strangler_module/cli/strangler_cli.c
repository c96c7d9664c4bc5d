
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
 * `explain` normalises PATH as nginx does before it matches (percent-escapes
 * decoded, "//" merged, "." and ".." resolved) and ignores its query string
 * except for `arg:` sticky keys.  Exit status: 0 ok, 1 an invalid table,
 * 2 a usage error.
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


typedef struct {
    const char           *file;
    const char           *method;
    const char           *uri;
    const char          **headers;     /* "Name: value" */
    size_t                nheaders;
    const char          **cookies;     /* "name=value" */
    size_t                ncookies;
    const char           *ip;
    const char           *force;
} strangler_cli_explain_t;


static void strangler_cli_usage(FILE *f);
static void strangler_cli_errors(const char *file,
    const strangler_errors_t *errs);
static int strangler_cli_check(int argc, char **argv);
static int strangler_cli_explain(int argc, char **argv);
static int strangler_cli_explain_args(int argc, char **argv,
    strangler_cli_explain_t *ex);
static int strangler_cli_is_token(const char *s);
static int strangler_cli_hex(int c);
static const char *strangler_cli_normalise(const char *in, size_t len,
    char *out, size_t *out_len);
static int strangler_cli_sticky_key(const strangler_cli_explain_t *ex,
    const strangler_route_t *route, const char *args, strangler_str_t *key);
static int strangler_cli_pair(const char *s, size_t len, char sep,
    const strangler_str_t *name, strangler_str_t *value);
static int strangler_cli_list(const char *s, size_t len, char delim,
    const strangler_str_t *name, strangler_str_t *value);
static void strangler_cli_print_explain(const strangler_table_t *table,
    const strangler_match_t *match, const strangler_decision_t *d,
    const strangler_decision_t *shadow, const char *path,
    const strangler_str_t *key, const strangler_request_t *req);
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
        "         would serve the request; PATH is normalised as nginx\n"
        "         does (%%XX decoded, \"//\" merged, \".\" and \"..\"\n"
        "         resolved), its query string is read only for \"arg:\"\n"
        "         sticky keys;\n"
        "         --force is the value of the force header (reads only)\n"
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
    int                       rc;
    char                     *path;
    size_t                    len, ulen;
    const char               *uri, *args, *q, *err;
    strangler_str_t           key;
    strangler_table_t        *table;
    strangler_match_t         match;
    strangler_errors_t        errs;
    strangler_request_t       req;
    strangler_override_t      sample_all;
    strangler_decision_t      d, shadow;
    strangler_cli_explain_t   ex;

    memset(&ex, 0, sizeof(strangler_cli_explain_t));

    ex.headers = calloc(argc + 1, sizeof(char *));
    ex.cookies = calloc(argc + 1, sizeof(char *));
    path = NULL;
    table = NULL;

    if (ex.headers == NULL || ex.cookies == NULL) {
        fprintf(stderr, "strangler explain: out of memory\n");
        rc = STRANGLER_EXIT_USAGE;
        goto done;
    }

    rc = strangler_cli_explain_args(argc, argv, &ex);
    if (rc != STRANGLER_EXIT_OK) {
        goto done;
    }

    /* the path as nginx matches it, the query string aside */

    uri = ex.uri;
    q = strchr(uri, '?');
    ulen = q ? (size_t) (q - uri) : strlen(uri);
    args = q ? q + 1 : "";

    path = malloc(ulen + 1);
    if (path == NULL) {
        fprintf(stderr, "strangler explain: out of memory\n");
        rc = STRANGLER_EXIT_USAGE;
        goto done;
    }

    err = strangler_cli_normalise(uri, ulen, path, &len);
    if (err != NULL) {
        fprintf(stderr, "strangler explain: bad PATH \"%s\": %s\n", uri,
                err);
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

    memset(&req, 0, sizeof(strangler_request_t));
    req.method = strangler_method_parse(ex.method, strlen(ex.method));

    if (ex.force) {
        req.force.data = ex.force;
        req.force.len = strlen(ex.force);
    }

    strangler_table_match(table, req.method, path, len, &match);

    key.data = NULL;
    key.len = 0;

    if (match.route && match.route->sticky != STRANGLER_STICKY_NONE
        && strangler_cli_sticky_key(&ex, match.route, args, &key))
    {
        req.sticky_key = key;
    }

    strangler_decide(table, &match, &req, &d);

    /* the shadow it would get when sampled */

    sample_all.reads = STRANGLER_NONE;
    sample_all.owner = STRANGLER_NONE;
    sample_all.sample_ppm = STRANGLER_SAMPLE_SCALE;
    req.override = &sample_all;
    req.shadow_random = 0;

    strangler_decide(table, &match, &req, &shadow);

    req.override = NULL;

    strangler_cli_print_explain(table, &match, &d, &shadow, path, &key, &req);

done:

    strangler_table_free(table);
    free(path);
    free(ex.headers);
    free(ex.cookies);

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
            if (strchr(v, ':') == NULL || v[0] == ':') {
                fprintf(stderr, "strangler explain: --header \"%s\": "
                        "NAME:VALUE expected\n", v);
                return STRANGLER_EXIT_USAGE;
            }

            ex->headers[ex->nheaders++] = v;

        } else if (strcmp(a, "--cookie") == 0) {
            if (strchr(v, '=') == NULL || v[0] == '=') {
                fprintf(stderr, "strangler explain: --cookie \"%s\": "
                        "NAME=VALUE expected\n", v);
                return STRANGLER_EXIT_USAGE;
            }

            ex->cookies[ex->ncookies++] = v;

        } else if (strcmp(a, "--ip") == 0) {
            ex->ip = v;

        } else {
            ex->force = v;
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

    if (!strangler_cli_is_token(ex->method)) {
        fprintf(stderr, "strangler explain: bad METHOD \"%s\"\n", ex->method);
        return STRANGLER_EXIT_USAGE;
    }

    if (ex->uri[0] != '/') {
        fprintf(stderr, "strangler explain: PATH \"%s\" must start with "
                "\"/\"\n", ex->uri);
        return STRANGLER_EXIT_USAGE;
    }

    return STRANGLER_EXIT_OK;
}


/* an HTTP token (RFC 9110 tchar), as nginx accepts in a request line */

static int
strangler_cli_is_token(const char *s)
{
    if (*s == '\0') {
        return 0;
    }

    for ( /* void */ ; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
            || (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


static int
strangler_cli_hex(int c)
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


/*
 * What nginx's ngx_http_parse_complex_uri() does to a path before it is
 * matched: %XX decoded (a decoded "/" or "." counts as one, a decoded "%"
 * does not start another escape), "//" merged, "." and ".." resolved.  An
 * invalid escape, %00 or ".." above the root make nginx answer 400; they
 * are errors here.  out has room for len bytes, and is not terminated.
 */

static const char *
strangler_cli_normalise(const char *in, size_t len, char *out,
    size_t *out_len)
{
    int      hi, lo, last;
    char    *d;
    size_t   i, j, n, o, slen;

    d = out;
    n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] != '%') {
            d[n++] = in[i];
            continue;
        }

        hi = (i + 1 < len) ? strangler_cli_hex((unsigned char) in[i + 1])
                           : -1;
        lo = (i + 2 < len) ? strangler_cli_hex((unsigned char) in[i + 2])
                           : -1;

        if (hi < 0 || lo < 0) {
            return "invalid percent-escape";
        }

        if (hi == 0 && lo == 0) {
            return "%00 in the path";
        }

        d[n++] = (char) (hi * 16 + lo);
        i += 2;
    }

    if (n == 0 || d[0] != '/') {
        return "the path must start with \"/\"";
    }

    /* in place: the output never overtakes the input */

    o = 1;

    for (i = 1; i <= n; i = j + 1) {
        for (j = i; j < n && d[j] != '/'; j++) {
            /* void */
        }

        slen = j - i;
        last = (j == n);

        if (slen == 0 || (slen == 1 && d[i] == '.')) {
            continue;
        }

        if (slen == 2 && d[i] == '.' && d[i + 1] == '.') {
            if (o == 1) {
                return "\"..\" above the root";
            }

            for (o--; out[o - 1] != '/'; o--) {
                /* void */
            }

            continue;
        }

        memmove(out + o, d + i, slen);
        o += slen;

        if (!last) {
            out[o++] = '/';
        }
    }

    *out_len = o;

    return NULL;
}


static int
strangler_cli_sticky_key(const strangler_cli_explain_t *ex,
    const strangler_route_t *route, const char *args, strangler_str_t *key)
{
    size_t                  i, n;
    const char             *h, *colon;
    const strangler_str_t  *name;

    name = &route->sticky_name;

    switch (route->sticky) {

    case STRANGLER_STICKY_HEADER:
        for (i = 0; i < ex->nheaders; i++) {
            h = ex->headers[i];
            colon = strchr(h, ':');
            n = colon - h;

            if (n == name->len && strncasecmp(h, name->data, n) == 0) {
                for (h = colon + 1; *h == ' ' || *h == '\t'; h++) {
                    /* void */
                }

                for (n = strlen(h); n && (h[n - 1] == ' ' || h[n - 1] == '\t');
                     n--)
                {
                    /* void */
                }

                key->data = h;
                key->len = n;
                return 1;
            }
        }

        return 0;

    case STRANGLER_STICKY_COOKIE:
        for (i = 0; i < ex->ncookies; i++) {
            if (strangler_cli_pair(ex->cookies[i], strlen(ex->cookies[i]),
                                   '=', name, key))
            {
                return 1;
            }
        }

        /* or from a Cookie header, as a browser sends them */

        for (i = 0; i < ex->nheaders; i++) {
            h = ex->headers[i];

            if (strncasecmp(h, "Cookie:", 7) == 0
                && strangler_cli_list(h + 7, strlen(h + 7), ';', name, key))
            {
                return 1;
            }
        }

        return 0;

    case STRANGLER_STICKY_ARG:
        return strangler_cli_list(args, strlen(args), '&', name, key);

    case STRANGLER_STICKY_IP:
        if (ex->ip == NULL) {
            return 0;
        }

        key->data = ex->ip;
        key->len = strlen(ex->ip);
        return 1;

    default:
        return 0;
    }
}


/* "name=value" with optional spaces around: the value of a matching name */

static int
strangler_cli_pair(const char *s, size_t len, char sep,
    const strangler_str_t *name, strangler_str_t *value)
{
    const char  *end, *eq;

    end = s + len;

    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }

    eq = memchr(s, sep, end - s);
    if (eq == NULL || (size_t) (eq - s) != name->len
        || strncasecmp(s, name->data, name->len) != 0)
    {
        return 0;
    }

    for (s = eq + 1; s < end && (*s == ' ' || *s == '\t'); s++) {
        /* void */
    }

    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    value->data = s;
    value->len = end - s;

    return 1;
}


/* the first "name=value" of "a=1&b=2" or "a=1; b=2" */

static int
strangler_cli_list(const char *s, size_t len, char delim,
    const strangler_str_t *name, strangler_str_t *value)
{
    const char  *end, *p;

    end = s + len;

    while (s < end) {
        p = memchr(s, delim, end - s);
        if (p == NULL) {
            p = end;
        }

        if (strangler_cli_pair(s, p - s, '=', name, value)) {
            return 1;
        }

        s = p + 1;
    }

    return 0;
}


static void
strangler_cli_print_explain(const strangler_table_t *table,
    const strangler_match_t *match, const strangler_decision_t *d,
    const strangler_decision_t *shadow, const char *path,
    const strangler_str_t *key, const strangler_request_t *req)
{
    size_t                      i;
    const strangler_route_t    *route;
    const strangler_backend_t  *b;

    route = match->route;
    b = &table->backends[d->backend];

    printf("path: %s\n", path);

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

    unit = STRANGLER_SAMPLE_SCALE / 100;

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
