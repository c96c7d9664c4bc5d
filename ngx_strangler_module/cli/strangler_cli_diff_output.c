
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What `strangler diff` prints: a line per change, owner changes first
 * and marked, short enough to paste into a pull request; or the same as
 * JSON.
 *
 *   ! owner writes /api/conversations/{id} (route conversations): monolith -> messages
 *   ~ reads /api/users/{id}/inbox (route inbox): monolith -> messages
 *   ~ shadow reads /api/users/{id}/inbox (route inbox): to messages, ... -> none
 *   ~ route writes /api/drafts: drafts -> drafts-v2
 *   + /api/search (route search): reads messages; writes monolith
 *   - /api/old (route old): reads messages; writes monolith
 *   > GET /api/users/1/inbox: /api/users/{id}/inbox (route inbox) -> ...
 */


#include <jansson.h>
#include <string.h>

#include "strangler_cli.h"


static void strangler_cli_diff_line(const strangler_cli_change_t *c);
static void strangler_cli_diff_class(const strangler_cli_change_t *c);
static void strangler_cli_diff_routes(const strangler_cli_change_t *c);
static json_t *strangler_cli_diff_change_json(
    const strangler_cli_change_t *c);
static json_t *strangler_cli_json_str(const char *s);


static const char  *strangler_cli_change_marks[] = {
    "! owner",
    "~ reads",
    "~ shadow",
    "~ route",
    "+",
    "-",
    ">"
};


void
strangler_cli_diff_print(const strangler_cli_diff_t *diff)
{
    size_t                       i, n, count[STRANGLER_CLI_CHANGE_COUNT];
    strangler_cli_change_kind_t  k;

    memset(count, 0, sizeof(count));

    for (k = 0; k < STRANGLER_CLI_CHANGE_COUNT; k++) {
        for (i = 0; i < diff->n; i++) {
            if (diff->changes[i].kind == k) {
                strangler_cli_diff_line(&diff->changes[i]);
                count[k]++;
            }
        }
    }

    if (diff->n == 0) {
        printf("no change\n");
        return;
    }

    printf("%zu change%s:", diff->n, diff->n == 1 ? "" : "s");

    for (k = 0, n = 0; k < STRANGLER_CLI_CHANGE_COUNT; k++) {
        if (count[k]) {
            printf("%s %zu %s", n++ ? "," : "", count[k],
                   strangler_cli_change_name(k));
        }
    }

    printf("\n");
}


static void
strangler_cli_diff_line(const strangler_cli_change_t *c)
{
    size_t  i;

    printf("%s", strangler_cli_change_marks[c->kind]);

    if (c->kind == STRANGLER_CLI_CHANGE_PRECEDENCE) {
        printf(" %s: %s", c->example, c->patterns[0]);
        printf(" (route %s) -> %s", c->route_before,
               c->now ? c->now : "no pattern");

        if (c->route_after) {
            printf(" (route %s)", c->route_after);
        }

        printf(": %s -> %s\n", c->before, c->after);
        return;
    }

    if (c->kind != STRANGLER_CLI_CHANGE_ADDED
        && c->kind != STRANGLER_CLI_CHANGE_REMOVED)
    {
        strangler_cli_diff_class(c);
    }

    for (i = 0; i < c->npatterns; i++) {
        printf("%s%s", i ? ", " : " ", c->patterns[i]);
    }

    if (c->kind == STRANGLER_CLI_CHANGE_ADDED
        || c->kind == STRANGLER_CLI_CHANGE_REMOVED)
    {
        strangler_cli_diff_class(c);
    }

    if (c->kind == STRANGLER_CLI_CHANGE_ROUTE) {
        printf(": %s -> %s\n", c->route_before, c->route_after);
        return;
    }

    strangler_cli_diff_routes(c);

    if (c->kind == STRANGLER_CLI_CHANGE_ADDED) {
        printf(": %s\n", c->after);

    } else if (c->kind == STRANGLER_CLI_CHANGE_REMOVED) {
        printf(": %s\n", c->before);

    } else {
        printf(": %s -> %s\n", c->before, c->after);
    }
}


/* " writes", " reads (GET, HEAD)", or for added: " (GET, HEAD)" */

static void
strangler_cli_diff_class(const strangler_cli_change_t *c)
{
    size_t              n;
    strangler_method_t  m;

    if (c->writes >= 0) {
        printf(" %s", c->writes ? "writes" : "reads");
    }

    if (c->methods == strangler_cli_class_methods(c->writes)) {
        return;
    }

    printf(" (");

    for (m = 0, n = 0; m < STRANGLER_M_OTHER; m++) {
        if (c->methods & (1u << m)) {
            printf("%s%s", n++ ? ", " : "", strangler_method_name(m));
        }
    }

    printf(")");
}


static void
strangler_cli_diff_routes(const strangler_cli_change_t *c)
{
    const char  *a, *b;

    a = c->route_before;
    b = c->route_after;

    if (a == NULL && b == NULL) {
        return;
    }

    if (a == NULL || b == NULL || strcmp(a, b) == 0) {
        printf(" (route %s)", a ? a : b);
        return;
    }

    printf(" (route %s -> %s)", a, b);
}


int
strangler_cli_diff_json(const strangler_cli_diff_t *diff)
{
    int                          rc;
    char                        *text;
    size_t                       i;
    json_t                      *root, *changes, *summary, *one;
    strangler_cli_change_kind_t  k;

    root = json_object();
    changes = json_array();
    summary = json_object();

    if (root == NULL || changes == NULL || summary == NULL) {
        goto failed;
    }

    json_object_set_new(root, "old", json_string(diff->old_file));
    json_object_set_new(root, "new", json_string(diff->new_file));

    for (k = 0; k < STRANGLER_CLI_CHANGE_COUNT; k++) {
        json_object_set_new(summary, strangler_cli_change_name(k),
                            json_integer(0));

        for (i = 0; i < diff->n; i++) {
            if (diff->changes[i].kind != k) {
                continue;
            }

            one = strangler_cli_diff_change_json(&diff->changes[i]);
            if (one == NULL || json_array_append_new(changes, one) != 0) {
                goto failed;
            }

            json_object_set_new(summary, strangler_cli_change_name(k),
                json_integer(json_integer_value(
                    json_object_get(summary, strangler_cli_change_name(k)))
                    + 1));
        }
    }

    json_object_set_new(root, "changes", changes);
    json_object_set_new(root, "summary", summary);
    changes = NULL;
    summary = NULL;

    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        goto failed;
    }

    printf("%s\n", text);
    free(text);

    rc = 0;
    goto done;

failed:

    fprintf(stderr, "strangler diff: out of memory\n");
    rc = -1;

done:

    json_decref(root);
    json_decref(changes);
    json_decref(summary);

    return rc;
}


static json_t *
strangler_cli_diff_change_json(const strangler_cli_change_t *c)
{
    size_t              i;
    json_t             *o, *patterns, *methods;
    strangler_method_t  m;

    o = json_object();
    patterns = json_array();
    methods = json_array();

    if (o == NULL || patterns == NULL || methods == NULL) {
        json_decref(o);
        json_decref(patterns);
        json_decref(methods);
        return NULL;
    }

    for (i = 0; i < c->npatterns; i++) {
        json_array_append_new(patterns, json_string(c->patterns[i]));
    }

    for (m = 0; m < STRANGLER_M_OTHER; m++) {
        if (c->methods & (1u << m)) {
            json_array_append_new(methods,
                                  json_string(strangler_method_name(m)));
        }
    }

    json_object_set_new(o, "kind",
                        json_string(strangler_cli_change_name(c->kind)));
    json_object_set_new(o, "class", c->writes < 0 ? json_null()
                                    : json_string(c->writes ? "writes"
                                                            : "reads"));
    json_object_set_new(o, "methods", methods);
    json_object_set_new(o, "patterns", patterns);
    json_object_set_new(o, "route_before",
                        strangler_cli_json_str(c->route_before));
    json_object_set_new(o, "route_after",
                        strangler_cli_json_str(c->route_after));
    json_object_set_new(o, "before", strangler_cli_json_str(c->before));
    json_object_set_new(o, "after", strangler_cli_json_str(c->after));

    if (c->kind == STRANGLER_CLI_CHANGE_PRECEDENCE) {
        json_object_set_new(o, "example", strangler_cli_json_str(c->example));
        json_object_set_new(o, "pattern_after",
                            strangler_cli_json_str(c->now));
    }

    return o;
}


static json_t *
strangler_cli_json_str(const char *s)
{
    return s ? json_string(s) : json_null();
}
