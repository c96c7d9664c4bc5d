
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler diff`: the list of changes.  The changes of one pattern for
 * several methods join, then those of several patterns that change alike,
 * so that a route's change is one line.
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli_diff.h"


/* into a pattern's list: the same change for another method joins */

size_t
strangler_cli_change_add(strangler_cli_diff_t *diff,
    strangler_cli_change_t *list, size_t *n, const strangler_cli_change_t *c)
{
    size_t                   i;
    strangler_cli_change_t  *l;

    for (i = 0; i < *n; i++) {
        l = &list[i];

        if (l->kind == c->kind && l->writes == c->writes
            && strangler_cli_str_eq(l->route_before, c->route_before)
            && strangler_cli_str_eq(l->route_after, c->route_after)
            && strangler_cli_str_eq(l->before, c->before)
            && strangler_cli_str_eq(l->after, c->after))
        {
            l->methods |= c->methods;
            return i;
        }
    }

    if (*n == STRANGLER_CLI_KEY_CHANGES) {
        return *n;
    }

    l = &list[(*n)++];

    *l = *c;
    l->route_before = strangler_cli_strdup(diff, c->route_before);
    l->route_after = strangler_cli_strdup(diff, c->route_after);
    l->before = strangler_cli_strdup(diff, c->before);
    l->after = strangler_cli_strdup(diff, c->after);
    l->example = NULL;
    l->now = NULL;

    /* the pattern's text is the caller's */
    l->patterns = c->patterns;
    l->npatterns = 1;

    return *n - 1;
}


/* into the diff: the same change of another pattern joins */

void
strangler_cli_change_merge(strangler_cli_diff_t *diff,
    const strangler_cli_change_t *c)
{
    char                    **p;
    size_t                    i;
    strangler_cli_change_t   *d, *changes;

    for (i = 0; i < diff->n && c->example == NULL; i++) {
        d = &diff->changes[i];

        if (d->kind == c->kind && d->writes == c->writes
            && d->methods == c->methods && d->example == NULL
            && strangler_cli_str_eq(d->route_before, c->route_before)
            && strangler_cli_str_eq(d->route_after, c->route_after)
            && strangler_cli_str_eq(d->before, c->before)
            && strangler_cli_str_eq(d->after, c->after))
        {
            p = realloc(d->patterns, (d->npatterns + 1) * sizeof(char *));
            if (p == NULL) {
                diff->failed = 1;
                return;
            }

            d->patterns = p;
            d->patterns[d->npatterns++] = strangler_cli_strdup(diff,
                                                              c->patterns[0]);
            return;
        }
    }

    if (diff->n == diff->cap) {
        changes = realloc(diff->changes, (diff->cap ? diff->cap * 2 : 16)
                                         * sizeof(strangler_cli_change_t));
        if (changes == NULL) {
            diff->failed = 1;
            return;
        }

        diff->changes = changes;
        diff->cap = diff->cap ? diff->cap * 2 : 16;
    }

    d = &diff->changes[diff->n];
    memset(d, 0, sizeof(strangler_cli_change_t));

    d->patterns = malloc(sizeof(char *));
    if (d->patterns == NULL) {
        diff->failed = 1;
        return;
    }

    diff->n++;

    d->kind = c->kind;
    d->owner = c->owner;
    d->writes = c->writes;
    d->methods = c->methods;
    d->npatterns = c->npatterns;

    if (c->npatterns) {
        d->patterns[0] = strangler_cli_strdup(diff, c->patterns[0]);
    }
    d->route_before = strangler_cli_strdup(diff, c->route_before);
    d->route_after = strangler_cli_strdup(diff, c->route_after);
    d->before = strangler_cli_strdup(diff, c->before);
    d->after = strangler_cli_strdup(diff, c->after);
    d->example = strangler_cli_strdup(diff, c->example);
    d->now = strangler_cli_strdup(diff, c->now);
}


int
strangler_cli_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }

    return strcmp(a, b) == 0;
}


char *
strangler_cli_strdup(strangler_cli_diff_t *diff, const char *s)
{
    char  *d;

    if (s == NULL) {
        return NULL;
    }

    d = strdup(s);
    if (d == NULL) {
        diff->failed = 1;
    }

    return d;
}


void
strangler_cli_change_free(strangler_cli_change_t *c)
{
    size_t  i;

    for (i = 0; c->patterns && i < c->npatterns; i++) {
        free(c->patterns[i]);
    }

    free(c->patterns);
    free(c->route_before);
    free(c->route_after);
    free(c->before);
    free(c->after);
    free(c->example);
    free(c->now);
}
