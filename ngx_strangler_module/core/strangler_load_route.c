
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading the `routes` list: each route's name, methods, targets and
 * paths.  Writes go to the owner by construction: `reads` only ever names
 * where GET, HEAD and OPTIONS go, so no key here can send a write to two
 * systems or to any but the owner.
 */


#include <stdio.h>
#include <string.h>

#include "strangler_load.h"


#define STRANGLER_MAX_WEIGHT   1000000
#define STRANGLER_ALL_METHODS  ((1u << STRANGLER_M_COUNT) - 1)


static void strangler_load_route(strangler_loader_t *ld,
    strangler_route_t *route, yaml_node_t *node);
static void strangler_route_label(const strangler_route_t *route, char *buf,
    size_t size);
static void strangler_load_name(void *ctx, void *obj, yaml_node_t *value);
static const strangler_route_t *strangler_load_name_add(
    strangler_loader_t *ld, const strangler_route_t *route);
static void strangler_load_methods(void *ctx, void *obj, yaml_node_t *value);
static void strangler_load_owner(void *ctx, void *obj, yaml_node_t *value);
static void strangler_load_reads(void *ctx, void *obj, yaml_node_t *value);
static void strangler_load_one_read(strangler_loader_t *ld,
    strangler_route_t *route, int backend);
static void strangler_load_weights(strangler_loader_t *ld,
    strangler_route_t *route, yaml_node_t *map);
static uint32_t strangler_load_weight(strangler_loader_t *ld,
    yaml_node_t *value);
static void strangler_load_sticky(void *ctx, void *obj, yaml_node_t *value);
static void strangler_load_paths(void *ctx, void *obj, yaml_node_t *value);
static void strangler_load_path(strangler_loader_t *ld,
    const strangler_route_t *route, yaml_node_t *node,
    const strangler_str_t *path);


/* handlers run in this order; paths last: the index needs the targets */

static const strangler_yaml_field_t  strangler_route_fields[] = {
    { "name",     strangler_load_name,     1 },
    { "methods",  strangler_load_methods,  0 },
    { "owner",    strangler_load_owner,    0 },
    { "reads",    strangler_load_reads,    0 },
    { "sticky",   strangler_load_sticky,   0 },
    { "shadow",   strangler_load_shadow,   0 },
    { "guard",    strangler_load_guard,    0 },
    { "handoff",  strangler_load_handoff,  0 },
    { "readiness", strangler_load_readiness, 0 },
    { "capture",  strangler_load_capture,  0 },
    { "paths",    strangler_load_paths,    1 },
};


void
strangler_load_routes(void *ctx, void *obj, yaml_node_t *value)
{
    size_t               i, n, size;
    yaml_node_item_t    *item;
    strangler_table_t   *table;
    strangler_loader_t  *ld;

    ld = ctx;
    table = obj;

    if (value == NULL || strangler_yaml_is_null(value)) {
        return;
    }

    if (value->type != YAML_SEQUENCE_NODE) {
        strangler_yaml_error(&ld->y, value,
                             "\"routes\" must be a list of routes");
        return;
    }

    n = strangler_yaml_items(value);
    if (n == 0) {
        return;
    }

    /* a name table at most half full */
    for (size = 16; size < 2 * n; size *= 2) { /* void */ }

    table->routes = strangler_load_alloc(ld, n * sizeof(strangler_route_t));
    ld->names = strangler_load_alloc(ld, size * sizeof(strangler_route_t *));

    if (table->routes == NULL || ld->names == NULL) {
        return;
    }

    ld->names_mask = size - 1;
    table->nroutes = n;

    for (i = 0, item = value->data.sequence.items.start; i < n; i++, item++) {
        table->routes[i].index = i;
        strangler_load_route(ld, &table->routes[i],
                             strangler_yaml_node(&ld->y, *item));
    }

    ld->label[0] = '\0';
}


static void
strangler_load_route(strangler_loader_t *ld, strangler_route_t *route,
    yaml_node_t *node)
{
    char              where[STRANGLER_LABEL_LEN + 8];
    yaml_node_t      *name;
    strangler_str_t   s;

    route->line = strangler_yaml_line(node);
    route->col = node->start_mark.column + 1;
    route->owner = STRANGLER_NONE;
    route->shadow.to = STRANGLER_NONE;

    if (node->type != YAML_MAPPING_NODE) {
        ld->label[0] = '\0';
        strangler_yaml_error(&ld->y, node, "route #%zu must be a mapping "
                             "with \"name\" and \"paths\"", route->index + 1);
        return;
    }

    /* the name first: every message about this route starts with it */

    name = strangler_yaml_get(&ld->y, node, "name");

    if (name && strangler_yaml_scalar(name, &s)) {
        strangler_load_copy(ld, &s, &route->name);
    }

    strangler_route_label(route, ld->label, sizeof(ld->label));
    snprintf(where, sizeof(where), "in %s", ld->label);

    strangler_yaml_fields(&ld->y, node, strangler_route_fields,
                          strangler_nelts(strangler_route_fields), where,
                          ld, route);
}


static void
strangler_route_label(const strangler_route_t *route, char *buf, size_t size)
{
    if (route->name.len) {
        snprintf(buf, size, "route \"%.*s\"", strangler_quote(route->name));

    } else {
        snprintf(buf, size, "route #%zu", route->index + 1);
    }
}


static void
strangler_load_name(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t         *route;
    strangler_loader_t        *ld;
    const strangler_route_t   *first;

    ld = ctx;
    route = obj;

    if (route->name.data == NULL) {
        strangler_load_error(ld, value,
                             "\"name\" must be a string of [a-z0-9_-]");
        return;
    }

    if (!strangler_load_is_name(&route->name)) {
        strangler_yaml_error(&ld->y, value,
                             "bad route name \"%.*s\": expected [a-z0-9_-]+",
                             strangler_quote(route->name));

    } else if (route->name.len == sizeof(STRANGLER_DEFAULT_ROUTE) - 1
               && memcmp(route->name.data, STRANGLER_DEFAULT_ROUTE,
                         route->name.len) == 0)
    {
        strangler_yaml_error(&ld->y, value,
                             "route name \"%s\" is the name of the default "
                             "route (requests no route matches)",
                             STRANGLER_DEFAULT_ROUTE);
    }

    first = strangler_load_name_add(ld, route);

    if (first) {
        strangler_yaml_error(&ld->y, value,
                             "duplicate route name \"%.*s\" (first at line %u)",
                             strangler_quote(route->name), first->line);
    }
}


/* adds a route's name; returns the route that had it first, if any */

static const strangler_route_t *
strangler_load_name_add(strangler_loader_t *ld,
    const strangler_route_t *route)
{
    size_t                    i;
    const strangler_route_t  *r;

    i = strangler_hash(route->name.data, route->name.len) & ld->names_mask;

    for ( ;; ) {
        r = ld->names[i];

        if (r == NULL) {
            ld->names[i] = route;
            return NULL;
        }

        if (r->name.len == route->name.len
            && memcmp(r->name.data, route->name.data, r->name.len) == 0)
        {
            return r;
        }

        i = (i + 1) & ld->names_mask;
    }
}


static void
strangler_load_methods(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t       s;
    yaml_node_t          *node;
    yaml_node_item_t     *item;
    strangler_route_t    *route;
    strangler_loader_t   *ld;
    strangler_method_t    m;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        return;
    }

    if (value->type != YAML_SEQUENCE_NODE) {
        strangler_load_error(ld, value,
                             "\"methods\" must be a list of method names");
        return;
    }

    /* an empty list would read as "no filter": say so rather than guess */

    if (strangler_yaml_items(value) == 0) {
        strangler_load_error(ld, value, "\"methods\" is empty: list method "
                             "names, or leave it out for all methods");
        return;
    }

    for (item = value->data.sequence.items.start;
         item < value->data.sequence.items.top;
         item++)
    {
        node = strangler_yaml_node(&ld->y, *item);

        if (!strangler_yaml_scalar(node, &s)) {
            strangler_load_error(ld, node,
                                 "\"methods\" must be a list of method names");
            continue;
        }

        m = strangler_method_parse(s.data, s.len);

        if (m == STRANGLER_M_OTHER) {
            strangler_load_error(ld, node, "unknown method \"%.*s\"",
                                 strangler_quote(s));

        } else if (route->methods & (1u << m)) {
            strangler_load_error(ld, node, "duplicate method \"%.*s\"",
                                 strangler_quote(s));

        } else {
            route->methods |= 1u << m;
        }
    }
}


static void
strangler_load_owner(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    route->owner = value ? strangler_load_backend_ref(ld, value, "owner")
                         : ld->table->default_backend;
}


static void
strangler_load_reads(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        strangler_load_one_read(ld, route, route->owner);

    } else if (value->type == YAML_MAPPING_NODE) {
        strangler_load_weights(ld, route, value);

    } else if (value->type == YAML_SCALAR_NODE) {
        strangler_load_one_read(ld, route,
                                strangler_load_backend_ref(ld, value, "reads"));

    } else {
        strangler_load_error(ld, value, "\"reads\" must be a backend name "
                             "or a mapping of backend names to weights");
    }
}


static void
strangler_load_one_read(strangler_loader_t *ld, strangler_route_t *route,
    int backend)
{
    route->reads = strangler_load_alloc(ld, sizeof(strangler_weight_t));

    if (route->reads) {
        route->reads[0].backend = backend;
        route->reads[0].weight = 1;
        route->nreads = 1;
        route->total_weight = 1;
    }
}


static void
strangler_load_weights(strangler_loader_t *ld, strangler_route_t *route,
    yaml_node_t *map)
{
    int                  b;
    char                 where[STRANGLER_LABEL_LEN + 32];
    size_t               n;
    uint32_t             w;
    unsigned            *first;
    yaml_node_t         *key;
    yaml_node_pair_t    *pair;

    n = strangler_yaml_pairs(map);

    if (n == 0) {
        strangler_load_error(ld, map, "\"reads\" must name at least one "
                             "backend");
        return;
    }

    /* the line of each backend's first weight: for duplicates */
    first = strangler_load_alloc(ld, (ld->table->nbackends + 1)
                                     * sizeof(unsigned));
    route->reads = strangler_load_alloc(ld, n * sizeof(strangler_weight_t));

    if (first == NULL || route->reads == NULL) {
        return;
    }

    snprintf(where, sizeof(where), "in reads of %s", ld->label);

    for (pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top;
         pair++)
    {
        key = strangler_yaml_node(&ld->y, pair->key);
        b = strangler_load_backend_ref(ld, key, "reads");
        w = strangler_load_weight(ld, strangler_yaml_node(&ld->y,
                                                          pair->value));

        if (b == STRANGLER_NONE || w == 0) {
            continue;
        }

        if (first[b]) {
            strangler_yaml_duplicate(&ld->y, key, first[b], where);
            continue;
        }

        first[b] = strangler_yaml_line(key);

        route->reads[route->nreads].backend = b;
        route->reads[route->nreads].weight = w;
        route->nreads++;
        route->total_weight += w;
    }
}


/* a weight, or 0 after an error */

static uint32_t
strangler_load_weight(strangler_loader_t *ld, yaml_node_t *value)
{
    size_t           i;
    uint64_t         w;
    strangler_str_t  s;

    if (!strangler_yaml_scalar(value, &s)) {
        goto bad;
    }

    w = 0;

    for (i = 0; i < s.len; i++) {
        if (s.data[i] < '0' || s.data[i] > '9') {
            goto bad;
        }

        if (w <= STRANGLER_MAX_WEIGHT) {
            w = w * 10 + (s.data[i] - '0');
        }
    }

    if (w == 0) {
        goto bad;
    }

    if (w > STRANGLER_MAX_WEIGHT) {
        strangler_load_error(ld, value, "weight \"%.*s\" is too large: at "
                             "most %d", strangler_quote(s),
                             STRANGLER_MAX_WEIGHT);
        return 0;
    }

    return (uint32_t) w;

bad:

    if (value->type == YAML_SCALAR_NODE) {
        s.data = (const char *) value->data.scalar.value;
        s.len = value->data.scalar.length;
        strangler_load_error(ld, value, "weights must be positive integers, "
                             "got \"%.*s\"", strangler_quote(s));

    } else {
        strangler_load_error(ld, value, "weights must be positive integers");
    }

    return 0;
}


static void
strangler_load_sticky(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t      s, name;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    if (value == NULL) {
        return;
    }

    if (strangler_yaml_scalar(value, &s)) {
        route->sticky = strangler_load_field(&s, &name);

        if (route->sticky == STRANGLER_STICKY_IP) {
            return;
        }

        if (route->sticky != STRANGLER_STICKY_NONE) {
            strangler_load_copy(ld, &name, &route->sticky_name);
            return;
        }
    }

    strangler_load_error(ld, value, "\"sticky\" must be header:NAME, "
                         "cookie:NAME, arg:NAME or ip");
}


/* `header:NAME`, `cookie:NAME`, `arg:NAME` or `ip`; NONE: none of them */

strangler_sticky_t
strangler_load_field(const strangler_str_t *s, strangler_str_t *name)
{
    size_t       from, len;
    const char  *prefix;

    name->data = NULL;
    name->len = 0;

    prefix = strangler_field_name(STRANGLER_STICKY_IP);

    if (s->len == strlen(prefix) && memcmp(s->data, prefix, s->len) == 0) {
        return STRANGLER_STICKY_IP;
    }

    for (from = STRANGLER_STICKY_HEADER; from <= STRANGLER_STICKY_ARG; from++)
    {
        prefix = strangler_field_name((strangler_sticky_t) from);
        len = strlen(prefix);

        if (s->len > len + 1
            && memcmp(s->data, prefix, len) == 0
            && s->data[len] == ':'
            && strangler_load_is_token(s->data + len + 1, s->len - len - 1))
        {
            name->data = s->data + len + 1;
            name->len = s->len - len - 1;

            return (strangler_sticky_t) from;
        }
    }

    return STRANGLER_STICKY_NONE;
}


static void
strangler_load_paths(void *ctx, void *obj, yaml_node_t *value)
{
    size_t               n;
    strangler_str_t      s, *path;
    yaml_node_t         *node;
    yaml_node_item_t    *item;
    strangler_route_t   *route;
    strangler_loader_t  *ld;

    ld = ctx;
    route = obj;

    n = value->type == YAML_SEQUENCE_NODE ? strangler_yaml_items(value) : 0;

    if (n == 0) {
        strangler_load_error(ld, value,
                             "\"paths\" must be a non-empty list of paths");
        return;
    }

    route->paths.items = strangler_load_alloc(ld, n * sizeof(strangler_str_t));
    if (route->paths.items == NULL) {
        return;
    }

    for (item = value->data.sequence.items.start;
         item < value->data.sequence.items.top;
         item++)
    {
        node = strangler_yaml_node(&ld->y, *item);

        if (node->type != YAML_SCALAR_NODE) {
            strangler_load_error(ld, node, "\"paths\" must be a list of "
                                 "paths, such as /api/items/{id}");
            continue;
        }

        s.data = (const char *) node->data.scalar.value;
        s.len = node->data.scalar.length;

        path = &route->paths.items[route->paths.n];

        if (strangler_load_copy(ld, &s, path)) {
            route->paths.n++;
            strangler_load_path(ld, route, node, path);
        }
    }
}


static void
strangler_load_path(strangler_loader_t *ld, const strangler_route_t *route,
    yaml_node_t *node, const strangler_str_t *path)
{
    char                      err[STRANGLER_ERROR_LEN];
    char                      other[STRANGLER_LABEL_LEN];
    size_t                    off;
    uint32_t                  shared;
    strangler_method_t        m;
    strangler_add_rc_t        rc;
    const strangler_route_t  *conflict;

    err[0] = '\0';
    off = 0;
    conflict = NULL;

    rc = strangler_index_add(ld->table->index, route, path->data, path->len,
                             &conflict, err, sizeof(err), &off);

    if (rc == STRANGLER_ADD_BAD_PATTERN) {
        strangler_load_error_at(ld, node, off, "bad path \"%.*s\": %s",
                                strangler_quote(*path), err);
        return;
    }

    if (rc != STRANGLER_ADD_CONFLICT || conflict == NULL) {
        return;
    }

    if (conflict == route) {
        strangler_load_error(ld, node, "path \"%.*s\" is listed twice",
                             strangler_quote(*path));
        return;
    }

    /* name the first method both claim; no `methods` claims them all */

    shared = (route->methods ? route->methods : STRANGLER_ALL_METHODS)
             & (conflict->methods ? conflict->methods : STRANGLER_ALL_METHODS);

    for (m = STRANGLER_M_GET; m < STRANGLER_M_OTHER; m++) {
        if (shared & (1u << m)) {
            break;
        }
    }

    strangler_route_label(conflict, other, sizeof(other));

    strangler_load_error(ld, node, "%s on \"%.*s\" is already claimed by %s "
                         "(line %u)", strangler_method_name(m),
                         strangler_quote(*path), other, conflict->line);
}
