
/*
 * Copyright (C) ngx_strangler_module authors
 *
 *   strangler report [--route NAME] [--json] [--top N] DIFF.jsonl...
 *
 * Reads diff logs (strangler_diff_log, one JSON object per mismatched
 * request; "-" is standard input) shipped from anywhere, and prints, per
 * route, how many requests mismatched and which fields differed how often,
 * array indexes folded ("$.items[*].id"), with up to five example request
 * ids each (the log's "file:line" where a line has no request id), most
 * frequent first.  A line that is not a diff log object is skipped with a
 * warning naming it.  Exit status: 0 ok, 2 a usage error or an unreadable
 * file.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "strangler_compare.h"
#include "strangler_report.h"


#define STRANGLER_REPORT_EXAMPLES  5
#define STRANGLER_REPORT_TOP       20
#define STRANGLER_REPORT_FIELD_LEN 512


static int strangler_report_usage(const char *why);
static int strangler_report_file(strangler_report_t *rp, const char *file);
static int strangler_report_is_noise_only(json_t *diffs, json_t *noise,
    json_t *line);
static void strangler_report_diff(json_t *fields, json_t *seen,
    json_t *diff, const char *example, json_t *noise);
static int strangler_report_cmp(const void *a, const void *b);
static int strangler_report_is_listed(json_t *list, const char *field);
static const char *strangler_report_noise_text(json_int_t n);


int
strangler_report(int argc, char **argv)
{
    int                  i, rc, nfiles;
    char                *end;
    json_t              *out;
    strangler_report_t   rp;

    strangler_report_init(&rp);

    for (i = 0, nfiles = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return strangler_report_usage(NULL);

        } else if (strcmp(argv[i], "--json") == 0) {
            rp.json = 1;

        } else if (strcmp(argv[i], "--route") == 0 && i + 1 < argc) {
            rp.route = argv[++i];

        } else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
            rp.top = strtoul(argv[++i], &end, 10);

            if (*end != '\0' || rp.top == 0) {
                return strangler_report_usage("--top takes a number > 0");
            }

        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "strangler report: unknown option \"%s\"\n",
                    argv[i]);
            return strangler_report_usage("");

        } else {
            argv[nfiles++] = argv[i];
        }
    }

    if (nfiles == 0) {
        return strangler_report_usage("");
    }

    rc = 0;

    for (i = 0; i < nfiles && rc == 0; i++) {
        rc = strangler_report_file(&rp, argv[i]);
    }

    if (rc == 0) {
        out = strangler_report_build(&rp);

        if (rp.json) {
            json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);

        } else {
            strangler_report_print(out);
        }

        json_decref(out);
    }

    json_decref(rp.routes);

    return rc;
}


static int
strangler_report_usage(const char *why)
{
    FILE  *f;

    f = why ? stderr : stdout;

    if (why && why[0]) {
        fprintf(f, "strangler report: %s\n", why);
    }

    fprintf(f,
        "usage: strangler report [--route NAME] [--json] [--top N] "
        "DIFF.jsonl...\n"
        "\n"
        "per route: the mismatched requests of the diff logs, and the\n"
        "fields that differed (array indexes folded), most frequent\n"
        "first, the top N (default %d) with up to %d example request ids;\n"
        "\"-\" reads standard input\n"
        "\n"
        "exit status: 0 ok, 2 usage error or unreadable file\n",
        STRANGLER_REPORT_TOP, STRANGLER_REPORT_EXAMPLES);

    return why ? 2 : 0;
}


void
strangler_report_init(strangler_report_t *rp)
{
    memset(rp, 0, sizeof(strangler_report_t));
    rp->top = STRANGLER_REPORT_TOP;
    rp->routes = json_object();
}


static int
strangler_report_file(strangler_report_t *rp, const char *file)
{
    FILE     *f;
    char     *line;
    size_t    size, lineno;
    ssize_t   len;

    f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");

    if (f == NULL) {
        fprintf(stderr, "strangler report: %s: %s\n", file, strerror(errno));
        return 2;
    }

    line = NULL;
    size = 0;

    for (lineno = 1; (len = getline(&line, &size, f)) >= 0; lineno++) {
        strangler_report_line(rp, file, lineno, line, (size_t) len);
    }

    free(line);

    if (ferror(f)) {
        fprintf(stderr, "strangler report: %s: %s\n", file, strerror(errno));
        return 2;
    }

    if (f != stdin) {
        fclose(f);
    }

    return 0;
}


void
strangler_report_line(strangler_report_t *rp, const char *file,
    size_t lineno, const char *line, size_t len)
{
    char          where[STRANGLER_REPORT_FIELD_LEN];
    size_t        i;
    json_t       *j, *route, *diffs, *agg, *diff, *seen, *noise;
    const char   *name, *id, *count;
    json_error_t  err;

    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }

    if (len == 0) {
        return;
    }

    j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    route = json_object_get(j, "route");
    diffs = json_object_get(j, "diffs");

    if (!json_is_string(route) || !json_is_array(diffs)) {
        fprintf(stderr, "strangler report: %s:%zu: not a diff log line, "
                "skipped\n", file, lineno);
        rp->skipped++;
        json_decref(j);
        return;
    }

    rp->lines++;
    name = json_string_value(route);

    if (rp->route && strcmp(rp->route, name) != 0) {
        json_decref(j);
        return;
    }

    agg = json_object_get(rp->routes, name);

    if (agg == NULL) {
        agg = json_pack("{s:i, s:i, s:o}", "mismatched", 0,
                        "noise_only", 0, "fields", json_object());
        json_object_set_new(rp->routes, name, agg);
    }

    /* a line whose differences are all in noise fields: matched */

    noise = json_object_get(j, "noise");
    count = strangler_report_is_noise_only(diffs, noise, j) ? "noise_only"
                                                            : "mismatched";

    json_object_set_new(agg, count,
        json_integer(json_integer_value(json_object_get(agg, count)) + 1));

    id = json_string_value(json_object_get(j, "request_id"));

    if (id == NULL || id[0] == '\0') {
        snprintf(where, sizeof(where), "%s:%zu", file, lineno);
        id = where;
    }

    seen = json_object();

    json_array_foreach(diffs, i, diff) {
        strangler_report_diff(json_object_get(agg, "fields"), seen, diff, id,
                              noise);
    }

    json_decref(seen);
    json_decref(j);
}


/*
 * One difference of a request: a field's count, and maybe an example.  A
 * request that differs twice in one field ($.items[0].ts, $.items[1].ts)
 * counts once: `seen` holds the fields of the request so far.
 */

static void
strangler_report_diff(json_t *fields, json_t *seen, json_t *diff,
    const char *example, json_t *noise)
{
    char         field[STRANGLER_REPORT_FIELD_LEN];
    json_t      *f, *examples;
    const char  *path;

    path = json_string_value(json_object_get(diff, "path"));

    if (path == NULL) {
        return;
    }

    strangler_field_key(path, strlen(path), field, sizeof(field));

    if (json_object_get(seen, field)) {
        return;
    }

    json_object_set_new(seen, field, json_true());

    f = json_object_get(fields, field);

    if (f == NULL) {
        f = json_pack("{s:s, s:i, s:i, s:o}", "path", field,
                      "differences", 0, "noise", 0, "examples", json_array());
        json_object_set_new(fields, field, f);
    }

    if (strangler_report_is_listed(noise, field)) {
        json_object_set_new(f, "noise",
            json_integer(json_integer_value(json_object_get(f, "noise"))
                         + 1));
    }

    examples = json_object_get(f, "examples");

    json_object_set_new(f, "differences",
        json_integer(json_integer_value(json_object_get(f, "differences"))
                     + 1));

    if (json_array_size(examples) < STRANGLER_REPORT_EXAMPLES) {
        json_array_append_new(examples, json_string(example));
    }
}


/* every difference of the line in a field its "noise" list names */

static int
strangler_report_is_noise_only(json_t *diffs, json_t *noise, json_t *line)
{
    char         field[STRANGLER_REPORT_FIELD_LEN];
    size_t       i;
    json_t      *diff;
    const char  *path;

    if (json_array_size(noise) == 0 || json_array_size(diffs) == 0
        || json_object_get(line, "more"))
    {
        return 0;
    }

    json_array_foreach(diffs, i, diff) {
        path = json_string_value(json_object_get(diff, "path"));

        if (path == NULL) {
            return 0;
        }

        strangler_field_key(path, strlen(path), field, sizeof(field));

        if (!strangler_report_is_listed(noise, field)) {
            return 0;
        }
    }

    return 1;
}


static int
strangler_report_is_listed(json_t *list, const char *field)
{
    size_t   i;
    json_t  *v;

    json_array_foreach(list, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), field) == 0) {
            return 1;
        }
    }

    return 0;
}


/* {"lines", "skipped", "routes": [{route, mismatched, fields: [...]}]} */

json_t *
strangler_report_build(strangler_report_t *rp)
{
    size_t        i, n;
    json_t       *out, *routes, *agg, *fields, *list, **sorted;
    const char   *name, *key;

    routes = json_array();

    json_object_foreach(rp->routes, name, agg) {
        fields = json_object_get(agg, "fields");
        n = json_object_size(fields);

        sorted = malloc((n ? n : 1) * sizeof(json_t *));
        if (sorted == NULL) {
            break;
        }

        i = 0;
        json_object_foreach(fields, key, sorted[i]) {
            i++;
        }

        qsort(sorted, n, sizeof(json_t *), strangler_report_cmp);

        list = json_array();

        for (i = 0; i < n && i < rp->top; i++) {
            json_array_append(list, sorted[i]);
        }

        free(sorted);

        json_array_append_new(routes,
            json_pack("{s:s, s:O, s:O, s:i, s:o}",
                      "route", name,
                      "mismatched", json_object_get(agg, "mismatched"),
                      "noise_only", json_object_get(agg, "noise_only"),
                      "fields_total", (json_int_t) n,
                      "fields", list));
    }

    out = json_pack("{s:i, s:i, s:o}",
                    "lines", (json_int_t) rp->lines,
                    "skipped", (json_int_t) rp->skipped,
                    "routes", routes);

    return out;
}


/* most differences first, then by path */

static int
strangler_report_cmp(const void *a, const void *b)
{
    json_int_t   da, db;
    json_t      *fa, *fb;

    fa = *(json_t **) a;
    fb = *(json_t **) b;

    da = json_integer_value(json_object_get(fa, "differences"));
    db = json_integer_value(json_object_get(fb, "differences"));

    if (da != db) {
        return da > db ? -1 : 1;
    }

    return strcmp(json_string_value(json_object_get(fa, "path")),
                  json_string_value(json_object_get(fb, "path")));
}


/* ", 3 noise-only, " */

static const char *
strangler_report_noise_text(json_int_t n)
{
    static char  buf[64];

    snprintf(buf, sizeof(buf), "%lld noise-only, ", (long long) n);

    return buf;
}


void
strangler_report_print(json_t *out)
{
    size_t       i, j, k;
    json_t      *route, *field, *ex;
    char         path[STRANGLER_REPORT_FIELD_LEN + 32];
    json_int_t   mismatched, differences, noise_only, noise;

    json_array_foreach(json_object_get(out, "routes"), i, route) {
        mismatched = json_integer_value(json_object_get(route, "mismatched"));
        noise_only = json_integer_value(json_object_get(route, "noise_only"));

        /* the share of a field: of the lines with differences */

        printf("%sroute %s: %lld mismatched request%s, %s%lld field%s\n",
               i ? "\n" : "", json_string_value(json_object_get(route,
                                                                "route")),
               (long long) mismatched, mismatched == 1 ? "" : "s",
               noise_only ? strangler_report_noise_text(noise_only) : "",
               (long long) json_integer_value(json_object_get(route,
                                                          "fields_total")),
               json_integer_value(json_object_get(route, "fields_total"))
               == 1 ? "" : "s");

        printf("  %11s  %5s  %-32s %s\n", "differences", "share", "field",
               "examples");

        json_array_foreach(json_object_get(route, "fields"), j, field) {
            differences = json_integer_value(json_object_get(field,
                                                             "differences"));

            noise = json_integer_value(json_object_get(field, "noise"));

            if (noise) {
                snprintf(path, sizeof(path), "%s (noise %lld)",
                         json_string_value(json_object_get(field, "path")),
                         (long long) noise);

            } else {
                snprintf(path, sizeof(path), "%s",
                         json_string_value(json_object_get(field, "path")));
            }

            printf("  %11lld  %4lld%%  %-32s ", (long long) differences,
                   (long long) (mismatched + noise_only
                                ? differences * 100 / (mismatched + noise_only)
                                : 0),
                   path);

            json_array_foreach(json_object_get(field, "examples"), k, ex) {
                printf("%s%s", k ? ", " : "", json_string_value(ex));
            }

            printf("\n");
        }
    }

    printf("%s%lld diff log lines",
           json_array_size(json_object_get(out, "routes")) ? "\n" : "",
           (long long) json_integer_value(json_object_get(out, "lines")));

    if (json_integer_value(json_object_get(out, "skipped"))) {
        printf(", %lld skipped",
               (long long) json_integer_value(json_object_get(out,
                                                              "skipped")));
    }

    printf("\n");
}
