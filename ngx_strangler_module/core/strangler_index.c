
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The path index: finds the route of a request path in time that does not
 * grow with the number of routes.  This file has the index API and the
 * segment trie; strangler_regex.c has the regexes.
 *
 * Exact paths, templates and prefixes live in one segment trie.  A node's
 * literal children are found through a single open-addressing hash table
 * for the whole index, keyed by (parent node id, segment bytes); a node has
 * at most one parameter child ({name}, whatever the name) and two terminal
 * slots: "the path ends here" (exact or template) and "a final * follows"
 * (prefix).  A slot holds, per method, the route that serves it: the route
 * that lists the method, else the route without `methods`.
 *
 * A lookup walks the trie depth first, literal child before parameter
 * child, without recursion and without a stack: a node knows its parent,
 * and the start of the segment to go back to is found by scanning the path
 * backwards.  The first "path ends here" slot with a route for the method
 * wins (exact when the walk took no parameter, else template), which gives
 * exact before template and, between templates, the literal segment first.
 * Prefix slots seen on the way are remembered, the deepest first found.
 * Every node is entered at most once per lookup.  When nothing of the
 * first kinds matches, the regexes are tried, then the best prefix taken.
 */


#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strangler_index.h"


#define STRANGLER_EDGES_MIN  64


static uint32_t strangler_edge_hash(uint32_t parent, const char *seg,
    size_t len);
static int strangler_edges_grow(strangler_index_t *index);
static strangler_node_t *strangler_node_create(strangler_index_t *index,
    strangler_node_t *parent);
static strangler_node_t *strangler_node_param(strangler_index_t *index,
    strangler_node_t *parent);
static strangler_add_rc_t strangler_slot_add(strangler_index_t *index,
    strangler_slot_t **slotp, const strangler_route_t *route,
    const strangler_route_t **conflict);
static int strangler_path_check(const char *pattern, size_t len,
    char *err, size_t err_len, size_t *err_offset);
static const char *strangler_path_never(const char *seg, size_t n,
    int last, size_t *at);
static strangler_add_rc_t strangler_index_add_path(strangler_index_t *index,
    const strangler_route_t *route, const char *pattern, size_t len,
    const strangler_route_t **conflict, char *err, size_t err_len);
static int strangler_trie_match(const strangler_index_t *index,
    strangler_method_t method, const char *path, size_t len,
    strangler_match_t *match, const strangler_route_t **prefix);


strangler_index_t *
strangler_index_create(strangler_arena_t *arena)
{
    strangler_index_t  *index;

    index = strangler_alloc(arena, sizeof(strangler_index_t));
    if (index == NULL) {
        return NULL;
    }

    index->arena = arena;

    index->root = strangler_node_create(index, NULL);
    if (index->root == NULL) {
        return NULL;
    }

    return index;
}


strangler_add_rc_t
strangler_index_add(strangler_index_t *index, const strangler_route_t *route,
    const char *pattern, size_t len, const strangler_route_t **conflict,
    char *err, size_t err_len, size_t *err_offset)
{
    if (len == 0) {
        strangler_index_err(err, err_len, err_offset, 0, "empty path");
        return STRANGLER_ADD_BAD_PATTERN;
    }

    if (pattern[0] == '~') {
        return strangler_regex_add(index, route, pattern, len, err,
                                   err_len, err_offset);
    }

    if (pattern[0] != '/') {
        strangler_index_err(err, err_len, err_offset, 0,
                            "a path must start with \"/\" "
                            "(or \"~\" for a regex)");
        return STRANGLER_ADD_BAD_PATTERN;
    }

    if (strangler_path_check(pattern, len, err, err_len, err_offset) != 0) {
        return STRANGLER_ADD_BAD_PATTERN;
    }

    return strangler_index_add_path(index, route, pattern, len, conflict,
                                    err, err_len);
}


int
strangler_index_finish(strangler_index_t *index, char *err, size_t err_len)
{
    return strangler_regex_finish(index, err, err_len);
}


void
strangler_index_match(const strangler_index_t *index,
    strangler_method_t method, const char *path, size_t len,
    strangler_match_t *match)
{
    const strangler_route_t  *prefix;

    match->route = NULL;
    match->rule = STRANGLER_RULE_DEFAULT;
    match->limited = NULL;

    if (index == NULL) {
        return;
    }

    if ((unsigned) method >= STRANGLER_M_COUNT) {
        method = STRANGLER_M_OTHER;
    }

    prefix = NULL;

    if (len > 0 && path[0] == '/'
        && strangler_trie_match(index, method, path, len, match, &prefix))
    {
        return;
    }

    if (index->match_data != NULL
        && strangler_regex_match(index, method, path, len, match))
    {
        return;
    }

    if (prefix != NULL) {
        match->route = prefix;
        match->rule = STRANGLER_RULE_PREFIX;
    }
}


void
strangler_index_free(strangler_index_t *index)
{
    if (index == NULL) {
        return;
    }

    strangler_regex_free(index);

    free(index->edges);

    index->edges = NULL;
    index->nedges = 0;
    index->mask = 0;
}


void
strangler_table_match(const strangler_table_t *table,
    strangler_method_t method, const char *path, size_t len,
    strangler_match_t *match)
{
    if (table == NULL) {
        match->route = NULL;
        match->rule = STRANGLER_RULE_DEFAULT;
        return;
    }

    strangler_index_match(table->index, method, path, len, match);
}


void
strangler_index_err(char *err, size_t err_len, size_t *err_offset,
    size_t offset, const char *msg)
{
    if (err != NULL && err_len > 0) {
        snprintf(err, err_len, "%s", msg);
    }

    if (err_offset != NULL) {
        *err_offset = offset;
    }
}


/* a multiplicative hash, 8 bytes at a time; only this process sees it */

static uint32_t
strangler_edge_hash(uint32_t parent, const char *seg, size_t len)
{
    uint64_t  h, w;

    h = (((uint64_t) parent << 32) ^ len) * 0x9e3779b97f4a7c15ULL;

    while (len >= 8) {
        memcpy(&w, seg, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        seg += 8;
        len -= 8;
    }

    w = 0;
    memcpy(&w, seg, len);

    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 29;

    return (uint32_t) h;
}


strangler_node_t *
strangler_edge_find(const strangler_index_t *index,
    const strangler_node_t *parent, const char *seg, size_t len)
{
    size_t             i;
    uint32_t           hash;
    strangler_edge_t  *e;

    if (index->nedges == 0) {
        return NULL;
    }

    hash = strangler_edge_hash(parent->id, seg, len);

    for (i = hash & index->mask; /* void */; i = (i + 1) & index->mask) {
        e = &index->edges[i];

        if (e->child == NULL) {
            return NULL;
        }

        if (e->hash == hash && e->parent == parent->id && e->len == len
            && memcmp(e->seg, seg, len) == 0)
        {
            return e->child;
        }
    }
}


/* keeps the table at most half full */

static int
strangler_edges_grow(strangler_index_t *index)
{
    size_t             i, j, cap, mask;
    strangler_edge_t  *edges, *e;

    cap = index->edges ? (index->mask + 1) * 2 : STRANGLER_EDGES_MIN;
    mask = cap - 1;

    edges = calloc(cap, sizeof(strangler_edge_t));
    if (edges == NULL) {
        return -1;
    }

    if (index->edges) {
        for (i = 0; i <= index->mask; i++) {
            e = &index->edges[i];

            if (e->child == NULL) {
                continue;
            }

            for (j = e->hash & mask; edges[j].child; j = (j + 1) & mask) {
                /* void */
            }

            edges[j] = *e;
        }

        free(index->edges);
    }

    index->edges = edges;
    index->mask = mask;

    return 0;
}


static strangler_node_t *
strangler_node_create(strangler_index_t *index, strangler_node_t *parent)
{
    strangler_node_t  *node;

    if (index->nnodes == UINT32_MAX) {
        return NULL;
    }

    node = strangler_alloc(index->arena, sizeof(strangler_node_t));
    if (node == NULL) {
        return NULL;
    }

    node->parent = parent;
    node->id = index->nnodes++;
    node->depth = parent ? parent->depth + 1 : 0;
    node->rx_first = STRANGLER_RX_NONE;
    node->rx_last = STRANGLER_RX_NONE;

    return node;
}


strangler_node_t *
strangler_node_literal(strangler_index_t *index, strangler_node_t *parent,
    const char *seg, size_t len)
{
    size_t             i;
    uint32_t           hash;
    strangler_edge_t  *e;
    strangler_node_t  *child;

    child = strangler_edge_find(index, parent, seg, len);
    if (child) {
        return child;
    }

    if (index->edges == NULL || (index->nedges + 1) * 2 > index->mask + 1) {
        if (strangler_edges_grow(index) != 0) {
            return NULL;
        }
    }

    child = strangler_node_create(index, parent);
    if (child == NULL) {
        return NULL;
    }

    hash = strangler_edge_hash(parent->id, seg, len);

    for (i = hash & index->mask; index->edges[i].child;
         i = (i + 1) & index->mask)
    {
        /* void */
    }

    e = &index->edges[i];

    e->seg = strangler_strndup(index->arena, seg, len);
    if (e->seg == NULL) {
        return NULL;
    }

    e->child = child;
    e->len = len;
    e->parent = parent->id;
    e->hash = hash;

    index->nedges++;

    return child;
}


static strangler_node_t *
strangler_node_param(strangler_index_t *index, strangler_node_t *parent)
{
    if (parent->param == NULL) {
        parent->param = strangler_node_create(index, parent);
    }

    return parent->param;
}


static strangler_add_rc_t
strangler_slot_add(strangler_index_t *index, strangler_slot_t **slotp,
    const strangler_route_t *route, const strangler_route_t **conflict)
{
    uint32_t           mask, m;
    strangler_slot_t  *slot;

    slot = *slotp;

    if (slot == NULL) {
        slot = strangler_alloc(index->arena, sizeof(strangler_slot_t));
        if (slot == NULL) {
            return STRANGLER_ADD_BAD_PATTERN;
        }

        *slotp = slot;
    }

    if (route->methods == 0) {

        if (slot->all) {
            if (conflict) {
                *conflict = slot->all;
            }

            return STRANGLER_ADD_CONFLICT;
        }

        slot->all = route;

        for (m = 0; m < STRANGLER_M_COUNT; m++) {
            if (!(slot->claimed & (1u << m))) {
                slot->by_method[m] = route;
            }
        }

        return STRANGLER_ADD_OK;
    }

    /* STRANGLER_M_OTHER is served only by routes without `methods` */

    mask = route->methods & STRANGLER_METHODS_KNOWN;

    if (slot->claimed & mask) {
        for (m = 0; !(slot->claimed & mask & (1u << m)); m++) {
            /* void */
        }

        if (conflict) {
            *conflict = slot->by_method[m];
        }

        return STRANGLER_ADD_CONFLICT;
    }

    slot->claimed |= mask;

    for (m = 0; m < STRANGLER_M_OTHER; m++) {
        if (mask & (1u << m)) {
            slot->by_method[m] = route;
        }
    }

    return STRANGLER_ADD_OK;
}


/*
 * Validates a path pattern before anything is added, so that a bad one
 * leaves the index as it was: {name} is a whole segment, "*" only a whole
 * last segment, and nothing that no request path can hold.
 */

static int
strangler_path_check(const char *pattern, size_t len, char *err,
    size_t err_len, size_t *err_offset)
{
    size_t       i, n;
    const char  *p, *seg, *end, *why;

    end = pattern + len;
    seg = pattern + 1;

    for ( ;; ) {
        p = memchr(seg, '/', end - seg);
        n = (p ? p : end) - seg;

        why = strangler_path_never(seg, n, p == NULL, &i);

        if (why != NULL) {
            strangler_index_err(err, err_len, err_offset,
                                seg + i - pattern, why);
            return -1;
        }

        if (n == 1 && seg[0] == '*') {
            if (p != NULL) {
                strangler_index_err(err, err_len, err_offset, seg - pattern,
                                    "\"*\" is allowed only as the last "
                                    "segment");
                return -1;
            }

            return 0;
        }

        if (n > 0 && seg[0] == '{') {
            if (n < 3 || seg[n - 1] != '}') {
                strangler_index_err(err, err_len, err_offset, seg - pattern,
                                    "a parameter must be a whole segment, "
                                    "as in \"{name}\"");
                return -1;
            }

            for (i = 1; i < n - 1; i++) {
                if (seg[i] == '_'
                    || (seg[i] >= 'A' && seg[i] <= 'Z')
                    || (seg[i] >= 'a' && seg[i] <= 'z')
                    || (i > 1 && seg[i] >= '0' && seg[i] <= '9'))
                {
                    continue;
                }

                strangler_index_err(err, err_len, err_offset,
                                    seg + i - pattern,
                                    "a parameter name must match "
                                    "[A-Za-z_][A-Za-z0-9_]*");
                return -1;
            }

        } else {
            for (i = 0; i < n; i++) {
                if (seg[i] == '*') {
                    strangler_index_err(err, err_len, err_offset,
                                        seg + i - pattern,
                                        "\"*\" is allowed only as the whole "
                                        "last segment");
                    return -1;
                }

                if (seg[i] == '{' || seg[i] == '}') {
                    strangler_index_err(err, err_len, err_offset,
                                        seg + i - pattern,
                                        "a parameter must be a whole "
                                        "segment, as in \"{name}\"");
                    return -1;
                }
            }
        }

        if (p == NULL) {
            return 0;
        }

        seg = p + 1;
    }
}


/*
 * Why a segment can never match, or NULL; *at: where in the segment.
 * Request paths are matched as nginx normalises them: "%XX" decoded,
 * "//" merged, "." and ".." resolved, without the query string.
 */

static const char *
strangler_path_never(const char *seg, size_t n, int last, size_t *at)
{
    size_t  i;

    *at = 0;

    if (n == 0 && !last) {
        return "an empty segment never matches: nginx merges \"//\" "
               "in request paths";
    }

    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.'
                                      && seg[1] == '.'))
    {
        return "a \".\" or \"..\" segment never matches: nginx resolves "
               "them in request paths";
    }

    for (i = 0; i < n; i++) {
        *at = i;

        switch (seg[i]) {

        case '\0':
            return "a NUL byte never matches: request paths cannot hold one";

        case '?':
        case '#':
            return "a path never matches a query string or a fragment: "
                   "they are not part of the path";

        case '%':
            if (i + 2 < n && isxdigit((unsigned char) seg[i + 1])
                && isxdigit((unsigned char) seg[i + 2]))
            {
                return "a percent-encoded byte never matches: request "
                       "paths are matched decoded, write the byte itself";
            }

            break;
        }
    }

    return NULL;
}


static strangler_add_rc_t
strangler_index_add_path(strangler_index_t *index,
    const strangler_route_t *route, const char *pattern, size_t len,
    const strangler_route_t **conflict, char *err, size_t err_len)
{
    size_t               n;
    const char          *p, *seg, *end;
    strangler_node_t    *node;
    strangler_slot_t   **slotp;
    strangler_add_rc_t   rc;

    end = pattern + len;
    seg = pattern + 1;
    node = index->root;

    for ( ;; ) {
        p = memchr(seg, '/', end - seg);
        n = (p ? p : end) - seg;

        if (n == 1 && seg[0] == '*') {
            /* the checked pattern has it last */
            slotp = &node->prefix;
            break;
        }

        if (n > 0 && seg[0] == '{') {
            node = strangler_node_param(index, node);

        } else {
            node = strangler_node_literal(index, node, seg, n);
        }

        if (node == NULL) {
            strangler_index_err(err, err_len, NULL, 0, "out of memory");
            return STRANGLER_ADD_BAD_PATTERN;
        }

        if (p == NULL) {
            slotp = &node->full;
            break;
        }

        seg = p + 1;
    }

    rc = strangler_slot_add(index, slotp, route, conflict);

    if (rc == STRANGLER_ADD_BAD_PATTERN) {
        strangler_index_err(err, err_len, NULL, 0, "out of memory");
    }

    return rc;
}


/*
 * The depth-first walk.  `pos` is where the segments of `node` end: the
 * "/" before the next segment, or len.  `from` is the child the walk came
 * back from, NULL when it has just entered `node`.
 */

static int
strangler_trie_match(const strangler_index_t *index,
    strangler_method_t method, const char *path, size_t len,
    strangler_match_t *match, const strangler_route_t **prefix)
{
    size_t                    pos, n, params;
    uint32_t                  depth;
    const char               *seg, *p;
    strangler_node_t         *node, *from, *next;
    const strangler_route_t  *route;

    node = index->root;
    from = NULL;
    pos = 0;
    params = 0;
    depth = 0;

    for ( ;; ) {

        if (from == NULL) {

            if (pos == len) {
                if (node->full) {
                    route = node->full->by_method[method];

                    if (route) {
                        match->route = route;
                        match->rule = params ? STRANGLER_RULE_TEMPLATE
                                             : STRANGLER_RULE_EXACT;
                        return 1;
                    }
                }

            } else if (node->prefix) {
                route = node->prefix->by_method[method];

                if (route && (*prefix == NULL || node->depth > depth)) {
                    *prefix = route;
                    depth = node->depth;
                }
            }
        }

        next = NULL;

        if (pos < len) {
            seg = path + pos + 1;
            p = memchr(seg, '/', len - pos - 1);
            n = (p ? (size_t) (p - seg) : len - pos - 1);

            if (from == NULL) {
                next = strangler_edge_find(index, node, seg, n);
            }

            if (next == NULL && node->param && from != node->param && n > 0) {
                next = node->param;
                params++;
            }

            if (next) {
                node = next;
                from = NULL;
                pos += 1 + n;
                continue;
            }
        }

        if (node->parent == NULL) {
            return 0;
        }

        if (node == node->parent->param) {
            params--;
        }

        from = node;
        node = node->parent;

        do {
            pos--;
        } while (path[pos] != '/');
    }
}
