
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler diff OLD NEW [--json] [--fail-on any|owner]`: what a change
 * of the route table does to traffic.  For each pattern and method, the
 * route that serves it in each table and where it sends reads, writes and
 * copies: only what changes is listed, owner changes first.  Then each old
 * pattern is probed with example paths against both tables (the core's
 * matching, through the tables of patterns), to find the paths another
 * pattern now takes by precedence.  Exit status as diff(1): 0 no change,
 * 1 changes, 2 trouble.
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli_diff.h"


static void strangler_cli_diff_usage(FILE *f);
static int strangler_cli_entries_build(const strangler_table_t *table,
    strangler_cli_entries_t *e);
static void strangler_cli_entries_free(strangler_cli_entries_t *e);
static int strangler_cli_entry_cmp(const void *a, const void *b);
static void strangler_cli_diff_default(strangler_cli_diff_t *diff,
    const strangler_table_t *old, const strangler_table_t *new);
static void strangler_cli_diff_backends(strangler_cli_diff_t *diff,
    const strangler_table_t *a, const strangler_table_t *b, int added);
static void strangler_cli_diff_patterns(strangler_cli_diff_t *diff,
    const strangler_table_t *old, const strangler_table_t *new,
    const strangler_cli_entries_t *eo, const strangler_cli_entries_t *en);
static void strangler_cli_diff_key(strangler_cli_diff_t *diff,
    const strangler_table_t *old, const strangler_table_t *new,
    const strangler_cli_entry_t *o, size_t no, const strangler_cli_entry_t *n,
    size_t nn);


static const char  *strangler_cli_change_names[STRANGLER_CLI_CHANGE_COUNT] = {
    "owner",
    "reads",
    "shadow",
    "route",
    "added",
    "removed",
    "precedence",
    "backend"
};


static void
strangler_cli_diff_usage(FILE *f)
{
    fprintf(f,
        "usage: strangler diff OLD NEW [--json] [--fail-on any|owner]\n"
        "\n"
        "What changing the route table from OLD to NEW does to traffic:\n"
        "for each pattern and method class (reads, writes), what serves it\n"
        "before and after, only what changes: owner changes first (\"!\",\n"
        "they move where events are emitted), reads, shadows, routes,\n"
        "patterns added (\"+\") and removed (\"-\"), and paths that another\n"
        "pattern takes by precedence (\">\", found by probing each old\n"
        "pattern with example paths).  --json prints the same as JSON.\n"
        "\n"
        "exit status: 0 no change, 1 changes (with --fail-on owner: only\n"
        "changes that move writes), 2 bad table, unreadable file or usage\n"
        "error\n");
}


int
strangler_cli_diff(int argc, char **argv)
{
    int                        i, rc, json, npos, owner_only;
    size_t                     k;
    const char                *pos[2];
    strangler_table_t         *old, *new;
    strangler_cli_diff_t       diff;
    strangler_cli_entries_t    eo, en;
    strangler_cli_patterns_t   po, pn;
    strangler_cli_probe_t      pr;

    if (strangler_cli_wants_help(argc, argv)) {
        strangler_cli_diff_usage(stdout);
        return STRANGLER_EXIT_OK;
    }

    json = 0;
    npos = 0;
    owner_only = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;

        } else if (strcmp(argv[i], "--fail-on") == 0) {
            if (i + 1 == argc
                || (strcmp(argv[i + 1], "any") != 0
                    && strcmp(argv[i + 1], "owner") != 0))
            {
                fprintf(stderr, "strangler diff: --fail-on takes \"any\" "
                        "or \"owner\"\n");
                return STRANGLER_EXIT_TROUBLE;
            }

            owner_only = (strcmp(argv[++i], "owner") == 0);

        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "strangler diff: unknown option \"%s\"\n",
                    argv[i]);
            return STRANGLER_EXIT_TROUBLE;

        } else if (npos == 2) {
            fprintf(stderr, "strangler diff: unexpected \"%s\"\n", argv[i]);
            return STRANGLER_EXIT_TROUBLE;

        } else {
            pos[npos++] = argv[i];
        }
    }

    if (npos != 2) {
        fprintf(stderr, "strangler diff: OLD NEW expected\n");
        strangler_cli_diff_usage(stderr);
        return STRANGLER_EXIT_TROUBLE;
    }

    if (strcmp(pos[0], "-") == 0 && strcmp(pos[1], "-") == 0) {
        fprintf(stderr, "strangler diff: only one table can be \"-\"\n");
        return STRANGLER_EXIT_TROUBLE;
    }

    memset(&diff, 0, sizeof(strangler_cli_diff_t));
    memset(&eo, 0, sizeof(strangler_cli_entries_t));
    memset(&en, 0, sizeof(strangler_cli_entries_t));
    memset(&po, 0, sizeof(strangler_cli_patterns_t));
    memset(&pn, 0, sizeof(strangler_cli_patterns_t));

    diff.old_file = pos[0];
    diff.new_file = pos[1];

    new = NULL;
    rc = STRANGLER_EXIT_TROUBLE;

    old = strangler_cli_table_load(pos[0], &i);
    if (old == NULL) {
        goto done;
    }

    new = strangler_cli_table_load(pos[1], &i);
    if (new == NULL) {
        goto done;
    }

    if (strangler_cli_entries_build(old, &eo) != 0
        || strangler_cli_entries_build(new, &en) != 0
        || strangler_cli_patterns_build(old, &po) != 0
        || strangler_cli_patterns_build(new, &pn) != 0)
    {
        goto done;
    }

    strangler_cli_diff_default(&diff, old, new);
    strangler_cli_diff_backends(&diff, old, new, 0);
    strangler_cli_diff_backends(&diff, new, old, 1);
    strangler_cli_diff_patterns(&diff, old, new, &eo, &en);
    pr.old = old;
    pr.new = new;
    pr.po = &po;
    pr.pn = &pn;
    pr.en = &en;

    strangler_cli_diff_probe(&diff, &pr);

    if (diff.failed) {
        fprintf(stderr, "strangler diff: out of memory\n");
        goto done;
    }

    if (json) {
        if (strangler_cli_diff_json(&diff) != 0) {
            goto done;
        }

    } else {
        strangler_cli_diff_print(&diff);
    }

    rc = STRANGLER_EXIT_OK;

    /* --fail-on owner: only a change that moves writes (and events) */

    for (k = 0; k < diff.n; k++) {
        if (!owner_only || diff.changes[k].owner) {
            rc = STRANGLER_EXIT_FAIL;
        }
    }

done:

    for (k = 0; k < diff.n; k++) {
        strangler_cli_change_free(&diff.changes[k]);
    }

    free(diff.changes);
    strangler_cli_entries_free(&eo);
    strangler_cli_entries_free(&en);
    strangler_cli_patterns_free(&po);
    strangler_cli_patterns_free(&pn);
    strangler_table_free(old);
    strangler_table_free(new);

    return rc;
}


uint32_t
strangler_cli_class_methods(int writes)
{
    uint32_t            mask;
    strangler_method_t  m;

    mask = 0;

    for (m = 0; m < STRANGLER_M_OTHER; m++) {
        if (writes < 0 || strangler_method_is_read(m) == !writes) {
            mask |= 1u << m;
        }
    }

    return mask;
}


const char *
strangler_cli_change_name(strangler_cli_change_kind_t kind)
{
    return strangler_cli_change_names[kind];
}


/* the patterns of a table sorted by key, so that two tables merge */

static int
strangler_cli_entries_build(const strangler_table_t *table,
    strangler_cli_entries_t *e)
{
    size_t                    i, j, n;
    const strangler_route_t  *route;

    for (i = 0, n = 0; i < table->nroutes; i++) {
        n += table->routes[i].paths.n;
    }

    e->items = calloc(n + 1, sizeof(strangler_cli_entry_t));
    if (e->items == NULL) {
        fprintf(stderr, "strangler diff: out of memory\n");
        return -1;
    }

    for (i = 0; i < table->nroutes; i++) {
        route = &table->routes[i];

        for (j = 0; j < route->paths.n; j++) {
            e->items[e->n].key = strangler_cli_pattern_key(
                                                     &route->paths.items[j]);
            if (e->items[e->n].key == NULL) {
                fprintf(stderr, "strangler diff: out of memory\n");
                return -1;
            }

            e->items[e->n].route = route;
            e->items[e->n].path = j;
            e->n++;
        }
    }

    qsort(e->items, e->n, sizeof(strangler_cli_entry_t),
          strangler_cli_entry_cmp);

    return 0;
}


static void
strangler_cli_entries_free(strangler_cli_entries_t *e)
{
    size_t  i;

    for (i = 0; i < e->n; i++) {
        free(e->items[i].key);
    }

    free(e->items);
    e->items = NULL;
    e->n = 0;
}


static int
strangler_cli_entry_cmp(const void *a, const void *b)
{
    int                           rc;
    const strangler_cli_entry_t  *x, *y;

    x = a;
    y = b;

    rc = strcmp(x->key, y->key);
    if (rc != 0) {
        return rc;
    }

    if (x->route->index != y->route->index) {
        return x->route->index < y->route->index ? -1 : 1;
    }

    return x->path < y->path ? -1 : (x->path > y->path);
}


/* the pattern with each {name} written {}: "/a/{id}" is "/a/{x}" */

char *
strangler_cli_pattern_key(const strangler_str_t *p)
{
    char        *key;
    size_t       i, n;
    const char  *close;

    key = malloc(p->len + 1);
    if (key == NULL) {
        return NULL;
    }

    for (i = 0, n = 0; i < p->len; i++) {
        key[n++] = p->data[i];

        if (p->data[0] == '/' && p->data[i] == '{'
            && (i == 0 || p->data[i - 1] == '/'))
        {
            close = memchr(p->data + i, '}', p->len - i);

            if (close != NULL) {
                i = close - p->data - 1;
            }
        }
    }

    key[n] = '\0';

    return key;
}


/* unmatched requests: reads and writes move with the default */

static void
strangler_cli_diff_default(strangler_cli_diff_t *diff,
    const strangler_table_t *old, const strangler_table_t *new)
{
    char                   *pattern;
    strangler_cli_change_t  c;

    if (strcmp(old->backends[old->default_backend].name.data,
               new->backends[new->default_backend].name.data) == 0)
    {
        return;
    }

    memset(&c, 0, sizeof(strangler_cli_change_t));

    pattern = "(no route)";
    c.kind = STRANGLER_CLI_CHANGE_OWNER;
    c.owner = 1;
    c.writes = -1;
    c.methods = strangler_cli_class_methods(-1);
    c.patterns = &pattern;
    c.npatterns = 1;
    c.before = (char *) old->backends[old->default_backend].name.data;
    c.after = (char *) new->backends[new->default_backend].name.data;

    strangler_cli_change_merge(diff, &c);
}


/*
 * The backends of a that b changes: their location, or gone (added: a is
 * the new table, and only those b lacks are listed).
 */

static void
strangler_cli_diff_backends(strangler_cli_diff_t *diff,
    const strangler_table_t *a, const strangler_table_t *b, int added)
{
    int                         j;
    char                       *name;
    size_t                      i;
    strangler_cli_change_t      c;
    const strangler_backend_t  *ba, *bb;

    for (i = 0; i < a->nbackends; i++) {
        ba = &a->backends[i];
        j = strangler_backend_find(b, ba->name.data, ba->name.len);
        bb = (j >= 0) ? &b->backends[j] : NULL;

        if (bb && (added || strcmp(ba->location.data, bb->location.data) == 0))
        {
            continue;
        }

        memset(&c, 0, sizeof(strangler_cli_change_t));

        name = (char *) ba->name.data;
        c.kind = STRANGLER_CLI_CHANGE_BACKEND;
        c.writes = -1;
        c.methods = strangler_cli_class_methods(-1);
        c.patterns = &name;
        c.npatterns = 1;
        c.before = (char *) (added ? "none" : ba->location.data);
        c.after = (char *) (added ? ba->location.data
                                  : bb ? bb->location.data : "none");

        strangler_cli_change_merge(diff, &c);
    }
}


static void
strangler_cli_diff_patterns(strangler_cli_diff_t *diff,
    const strangler_table_t *old, const strangler_table_t *new,
    const strangler_cli_entries_t *eo, const strangler_cli_entries_t *en)
{
    int          rc;
    size_t       i, j, io, in;
    const char  *key;

    i = 0;
    j = 0;

    while (i < eo->n || j < en->n) {
        if (i == eo->n) {
            rc = 1;

        } else if (j == en->n) {
            rc = -1;

        } else {
            rc = strcmp(eo->items[i].key, en->items[j].key);
        }

        key = rc <= 0 ? eo->items[i].key : en->items[j].key;

        for (io = i; io < eo->n && strcmp(eo->items[io].key, key) == 0;
             io++)
        {
            /* void */
        }

        for (in = j; in < en->n && strcmp(en->items[in].key, key) == 0;
             in++)
        {
            /* void */
        }

        strangler_cli_diff_key(diff, old, new, &eo->items[i], io - i,
                               &en->items[j], in - j);

        i = io;
        j = in;
    }
}


/*
 * One pattern: for each method, the route that serves it in each table;
 * the changes of each aspect, their methods gathered, then merged with
 * those of other patterns.
 */

static void
strangler_cli_diff_key(strangler_cli_diff_t *diff,
    const strangler_table_t *old, const strangler_table_t *new,
    const strangler_cli_entry_t *o, size_t no, const strangler_cli_entry_t *n,
    size_t nn)
{
    int                           writes, changed;
    char                         *pattern, **d;
    char                          bo[STRANGLER_CLI_DESC_LEN];
    char                          bn[STRANGLER_CLI_DESC_LEN];
    size_t                        k, nchanges;
    strangler_method_t            m;
    strangler_cli_change_t        c, list[STRANGLER_CLI_KEY_CHANGES];
    const strangler_route_t      *ro, *rn, *r;
    const strangler_route_t      *routes[STRANGLER_CLI_KEY_CHANGES];
    const strangler_cli_entry_t  *eo, *en;

    nchanges = 0;

    for (m = 0; m < STRANGLER_M_OTHER; m++) {
        eo = strangler_cli_entry_serving(o, no, m);
        en = strangler_cli_entry_serving(n, nn, m);

        if (eo == NULL && en == NULL) {
            continue;
        }

        writes = !strangler_method_is_read(m);
        ro = eo ? eo->route : NULL;
        rn = en ? en->route : NULL;

        memset(&c, 0, sizeof(strangler_cli_change_t));
        c.methods = 1u << m;
        c.route_before = ro ? (char *) ro->name.data : NULL;
        c.route_after = rn ? (char *) rn->name.data : NULL;
        c.patterns = &pattern;
        c.npatterns = 1;
        pattern = (char *) (en ? &en->route->paths.items[en->path]
                               : &eo->route->paths.items[eo->path])->data;

        if (ro == NULL || rn == NULL) {
            c.kind = ro ? STRANGLER_CLI_CHANGE_REMOVED
                        : STRANGLER_CLI_CHANGE_ADDED;
            c.writes = -1;
            r = ro ? ro : rn;
            strangler_cli_describe_route(ro ? old : new, r,
                                         r->methods ? r->methods
                                         : strangler_cli_class_methods(-1),
                                         ro ? bo : bn, sizeof(bo));
            c.before = ro ? bo : NULL;
            c.after = rn ? bn : NULL;
            k = strangler_cli_change_add(diff, list, &nchanges, &c);

            if (k < STRANGLER_CLI_KEY_CHANGES) {
                routes[k] = r;
            }

            continue;
        }

        c.writes = writes;

        strangler_cli_describe_target(old, ro, writes, bo, sizeof(bo));
        strangler_cli_describe_target(new, rn, writes, bn, sizeof(bn));

        changed = 0;

        if (strcmp(bo, bn) != 0) {
            c.kind = writes ? STRANGLER_CLI_CHANGE_OWNER
                            : STRANGLER_CLI_CHANGE_READS;
            c.owner = writes;
            c.before = bo;
            c.after = bn;
            strangler_cli_change_add(diff, list, &nchanges, &c);
            changed = 1;
        }

        strangler_cli_describe_shadow(old, ro, writes, bo, sizeof(bo));
        strangler_cli_describe_shadow(new, rn, writes, bn, sizeof(bn));

        c.owner = 0;

        if (strcmp(bo, bn) != 0) {
            c.kind = STRANGLER_CLI_CHANGE_SHADOW;
            c.before = bo;
            c.after = bn;
            strangler_cli_change_add(diff, list, &nchanges, &c);
            changed = 1;
        }

        /* another route alone: the lines above name both routes */

        if (!changed && strcmp(c.route_before, c.route_after) != 0) {
            c.kind = STRANGLER_CLI_CHANGE_ROUTE;
            c.writes = -1;
            c.before = NULL;
            c.after = NULL;
            strangler_cli_change_add(diff, list, &nchanges, &c);
        }
    }

    for (k = 0; k < nchanges; k++) {

        /* an added or removed route: of the methods it gains or loses */

        if (list[k].kind == STRANGLER_CLI_CHANGE_ADDED
            || list[k].kind == STRANGLER_CLI_CHANGE_REMOVED)
        {
            r = routes[k];
            strangler_cli_describe_route(
                list[k].kind == STRANGLER_CLI_CHANGE_ADDED ? new : old, r,
                list[k].methods, bo, sizeof(bo));

            d = (list[k].kind == STRANGLER_CLI_CHANGE_ADDED)
                ? &list[k].after : &list[k].before;
            free(*d);
            *d = strangler_cli_strdup(diff, bo);
        }

        strangler_cli_change_merge(diff, &list[k]);

        list[k].patterns = NULL;        /* borrowed */
        strangler_cli_change_free(&list[k]);
    }
}


/* the route of a pattern that lists the method, else the one for all */

const strangler_cli_entry_t *
strangler_cli_entry_serving(const strangler_cli_entry_t *e, size_t n,
    strangler_method_t m)
{
    size_t                        i;
    const strangler_cli_entry_t  *all;

    all = NULL;

    for (i = 0; i < n; i++) {
        if (e[i].route->methods & (1u << m)) {
            return &e[i];
        }

        if (e[i].route->methods == 0 && all == NULL) {
            all = &e[i];
        }
    }

    return all;
}


/* 1 when a route of the table serves the method on the pattern */

int
strangler_cli_entries_serve(const strangler_cli_entries_t *e,
    const char *key, strangler_method_t m)
{
    size_t  lo, hi, mid, n;

    lo = 0;
    hi = e->n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (strcmp(e->items[mid].key, key) < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    for (n = lo; n < e->n && strcmp(e->items[n].key, key) == 0; n++) {
        /* void */
    }

    return strangler_cli_entry_serving(&e->items[lo], n - lo, m) != NULL;
}


void
strangler_cli_describe_target(const strangler_table_t *table,
    const strangler_route_t *route, int writes, char *buf, size_t size)
{
    if (route == NULL) {
        snprintf(buf, size, "%s",
                 table->backends[table->default_backend].name.data);
        return;
    }

    if (writes) {
        snprintf(buf, size, "%s",
                 table->backends[route->owner].name.data);
        return;
    }

    strangler_cli_describe_reads(table, route, buf, size);
}
