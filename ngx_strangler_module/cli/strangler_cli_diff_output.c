
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * What `strangler diff` prints: a line per change, owner changes first
 * and marked, short enough to paste into a pull request; or the same as
 * JSON.
 *
 *   ! owner writes /api/conversations/{id} (route conversations):
 *       monolith -> messages
 *   ~ reads /api/users/{id}/inbox (route inbox): monolith -> messages
 *   ~ shadow reads /api/users/{id}/inbox (route inbox): to messages, ...
 *   ~ route /api/drafts: drafts -> drafts-v2
 *   + /api/search (route search): reads messages; writes monolith
 *   - /api/old (route old): reads messages; writes monolith
 *   > GET /api/users/1/inbox: /api/users/{id}/inbox (route inbox) -> ...
 *   ~ backend messages: @messages -> @messages_v2
 *
 * (a line each, however long).
 */


#include <jansson.h>
#include <string.h>

#include "strangler_cli_diff.h"


static void strangler_cli_diff_line(const strangler_cli_change_t *c);
static void strangler_cli_diff_class(const strangler_cli_change_t *c);
static void strangler_cli_diff_routes(const strangler_cli_change_t *c);
static json_t *strangler_cli_diff_change_json(
    const strangler_cli_change_t *c);
static json_t *strangler_cli_json_str(const char *s);


static const char  *strangler_cli_change_marks[STRANGLER_CLI_CHANGE_COUNT] = {
    "! owner",
    "~ reads",
    "~ shadow",
    "~ route",
    "+",
    "-",
    ">",
    "~ backend"
};


void
strangler_cli_diff_print(const strangler_cli_diff_t *diff)
{
    size_t                       i, n, owners;
    size_t                       count[STRANGLER_CLI_CHANGE_COUNT];
    unsigned                     owner;
    strangler_cli_change_kind_t  k;

    if (diff->n == 0) {
        printf("no change\n");
        return;
    }

    memset(count, 0, sizeof(count));
    owners = 0;

    /* what moves writes first, then the rest, each in the kinds' order */

    for (owner = 1; owner <= 1; owner--) {
        for (k = 0; k < STRANGLER_CLI_CHANGE_COUNT; k++) {
            for (i = 0; i < diff->n; i++) {
                if (diff->changes[i].kind == k
                    && diff->changes[i].owner == owner)
                {
                    strangler_cli_diff_line(&diff->changes[i]);
                    count[k]++;
                    owners += owner;
                }
            }
        }
    }

    printf("%zu change%s:", diff->n, diff->n == 1 ? "" : "s");

    for (k = 0, n = 0; k < STRANGLER_CLI_CHANGE_COUNT; k++) {
        if (count[k]) {
            printf("%s %zu %s", n++ ? "," : "", count[k],
                   strangler_cli_change_name(k));
        }
    }

    if (owners) {
        printf(" (%zu move%s writes)", owners, owners == 1 ? "s" : "");
    }

    printf("\n");
}


static void
strangler_cli_diff_line(const strangler_cli_change_t *c)
{
    size_t  i;

    if (c->owner && c->kind != STRANGLER_CLI_CHANGE_OWNER) {
        printf("! ");
    }

    printf("%s", strangler_cli_change_marks[c->kind]);

    if (c->kind == STRANGLER_CLI_CHANGE_PRECEDENCE) {
        printf(" %s: ", c->example);

        if (c->npatterns) {
            printf("%s (route %s)", c->patterns[0], c->route_before);

        } else {
            printf("no route");
        }

        if (c->now) {
            printf(" -> %s (route %s)", c->now, c->route_after);

        } else {
            printf(" -> no route");
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

    if (c->kind == STRANGLER_CLI_CHANGE_BACKEND) {
        printf(": %s -> %s\n", c->before, c->after);
        return;
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


/*
 * " writes", " reads (GET, HEAD)", for added: " (GET, HEAD)", and for
 * most of the methods: " (all but GET, HEAD)"
 */

static void
strangler_cli_diff_class(const strangler_cli_change_t *c)
{
    size_t              n, all;
    uint32_t            class, shown;
    strangler_method_t  m;

    /* "~ reads" says it already */

    if (c->writes >= 0 && c->kind != STRANGLER_CLI_CHANGE_READS) {
        printf(" %s", c->writes ? "writes" : "reads");
    }

    class = strangler_cli_class_methods(c->writes);

    if (c->methods == class) {
        return;
    }

    for (m = 0, n = 0, all = 0; m < STRANGLER_M_OTHER; m++) {
        all += (class >> m) & 1;
        n += (c->methods >> m) & 1;
    }

    shown = c->methods;

    if (2 * n > all) {
        printf(" (all but");
        shown = class & ~c->methods;

    } else {
        printf(" (");
    }

    for (m = 0, n = 0; m < STRANGLER_M_OTHER; m++) {
        if (shown & (1u << m)) {
            printf("%s%s", n++ ? ", " : (shown == c->methods ? "" : " "),
                   strangler_method_name(m));
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
    size_t                       i, owners;
    size_t                       count[STRANGLER_CLI_CHANGE_COUNT];
    json_t                      *root, *changes, *summary, *one;
    unsigned                     owner;
    strangler_cli_change_kind_t  k;

    root = json_object();
    changes = json_array();
    summary = json_object();

    if (root == NULL || changes == NULL || summary == NULL) {
        goto failed;
    }

    json_object_set_new(root, "old", json_string(diff->old_file));
    json_object_set_new(root, "new", json_string(diff->new_file));

    memset(count, 0, sizeof(count));
    owners = 0;

    /* in the order of the text: what moves writes first */

    for (owner = 1; owner <= 1; owner--) {
        for (k = 0; k < STRANGLER_CLI_CHANGE_COUNT; k++) {
            for (i = 0; i < diff->n; i++) {
                if (diff->changes[i].kind != k
                    || diff->changes[i].owner != owner)
                {
                    continue;
                }

                one = strangler_cli_diff_change_json(&diff->changes[i]);
                if (one == NULL || json_array_append_new(changes, one) != 0)
                {
                    goto failed;
                }

                count[k]++;
                owners += owner;
            }
        }
    }

    for (k = 0; k < STRANGLER_CLI_CHANGE_COUNT; k++) {
        json_object_set_new(summary, strangler_cli_change_name(k),
                            json_integer(count[k]));
    }

    json_object_set_new(summary, "moves_writes", json_integer(owners));

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
    json_object_set_new(o, "moves_writes", json_boolean(c->owner));
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
