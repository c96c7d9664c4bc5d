
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * libyaml's document API, made convenient for the route-table loader.  The
 * document API keeps every node with its start mark, so that any error,
 * found at any time, can name its line and column; libyaml marks are
 * 0-based, messages are 1-based.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strangler_yaml.h"


/* the walk of strangler_yaml_bound(): an anchor, an open collection */
typedef struct {
    char                     *name;
    size_t                    nodes;      /* 0 while its node is open */
} strangler_yaml_anchor_t;

typedef struct {
    size_t                    nodes;      /* itself and all below it */
    strangler_yaml_anchor_t  *anchor;     /* NULL: not anchored */
} strangler_yaml_open_t;

typedef struct {
    strangler_yaml_t         *y;
    size_t                    depth;
    size_t                    aliased;    /* nodes aliases stand for */
    size_t                    nanchors;
    strangler_yaml_anchor_t   anchors[STRANGLER_YAML_MAX_ANCHORS];
    strangler_yaml_open_t     open[STRANGLER_YAML_MAX_DEPTH + 1];
} strangler_yaml_walk_t;


static int strangler_yaml_bound(strangler_yaml_t *y, const char *buf,
    size_t len);
static int strangler_yaml_bound_event(strangler_yaml_walk_t *w,
    const yaml_event_t *ev);
static int strangler_yaml_bound_node(strangler_yaml_walk_t *w,
    const yaml_event_t *ev, const yaml_char_t *anchor, size_t nodes);
static int strangler_yaml_bound_alias(strangler_yaml_walk_t *w,
    const yaml_event_t *ev);
static void strangler_yaml_syntax_error(strangler_yaml_t *y,
    const yaml_parser_t *parser, const char *buf, size_t len);
static int strangler_yaml_key_is(const yaml_node_t *key, const char *name);
static size_t strangler_yaml_field_find(const strangler_yaml_field_t *fields,
    size_t n, const yaml_node_t *key);


yaml_node_t *
strangler_yaml_load(strangler_yaml_t *y, const char *buf, size_t len)
{
    yaml_node_t      *root;
    yaml_parser_t     parser;
    yaml_document_t   next;

    /* strangler_yaml_free() is safe on a zeroed document */
    memset(&y->doc, 0, sizeof(yaml_document_t));

    if (strangler_yaml_bound(y, buf, len) != 0) {
        return NULL;
    }

    if (!yaml_parser_initialize(&parser)) {
        strangler_error(y->errs, y->file, 0, 0, "YAML: out of memory");
        return NULL;
    }

    yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);

    root = NULL;

    if (!yaml_parser_load(&parser, &y->doc)) {
        strangler_yaml_syntax_error(y, &parser, buf, len);
        goto done;
    }

    root = yaml_document_get_root_node(&y->doc);

    if (root == NULL) {
        strangler_error(y->errs, y->file, 1, 1, "%s",
                        y->empty ? y->empty
                                 : "the route table is empty: expected "
                                   "\"version: 1\", \"default\", "
                                   "\"backends\" and \"routes\"");
        goto done;
    }

    /* libyaml reads one document at a time: a second one would be ignored */

    if (!yaml_parser_load(&parser, &next)) {
        strangler_yaml_syntax_error(y, &parser, buf, len);
        root = NULL;
        goto done;
    }

    if (yaml_document_get_root_node(&next)) {
        strangler_error(y->errs, y->file, next.start_mark.line + 1,
                        next.start_mark.column + 1,
                        "a second YAML document: the route table must be "
                        "one document");
        root = NULL;
    }

    yaml_document_delete(&next);

done:

    yaml_parser_delete(&parser);

    return root;
}


/*
 * A first pass over the parser's events, before libyaml builds the
 * document: libyaml's scanner slows down quadratically with the nesting
 * depth of flow collections (200,000 "[" take minutes), and its loader
 * looks anchors up in a list, while an alias makes the route-table loader
 * read its node once more at each use.  The walk stops at the first event
 * beyond a bound, so that it never pays for more than the bounds allow.
 */

static int
strangler_yaml_bound(strangler_yaml_t *y, const char *buf, size_t len)
{
    int                     rc;
    size_t                  i;
    yaml_event_t            ev;
    yaml_parser_t           parser;
    strangler_yaml_walk_t  *w;

    w = calloc(1, sizeof(strangler_yaml_walk_t));

    if (w == NULL || !yaml_parser_initialize(&parser)) {
        free(w);
        strangler_error(y->errs, y->file, 0, 0, "YAML: out of memory");
        return -1;
    }

    w->y = y;

    yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);

    for ( ;; ) {
        if (!yaml_parser_parse(&parser, &ev)) {
            strangler_yaml_syntax_error(y, &parser, buf, len);
            rc = -1;
            break;
        }

        rc = strangler_yaml_bound_event(w, &ev);

        if (ev.type == YAML_STREAM_END_EVENT) {
            rc = rc < 0 ? rc : 0;
        }

        yaml_event_delete(&ev);

        if (rc <= 0) {
            break;
        }
    }

    yaml_parser_delete(&parser);

    for (i = 0; i < w->nanchors; i++) {
        free(w->anchors[i].name);
    }

    free(w);

    return rc;
}


/* 1: go on, -1: an error is reported */

static int
strangler_yaml_bound_event(strangler_yaml_walk_t *w, const yaml_event_t *ev)
{
    size_t                  nodes;
    const yaml_char_t      *anchor;
    strangler_yaml_open_t  *o;

    switch (ev->type) {

    case YAML_SCALAR_EVENT:
        return strangler_yaml_bound_node(w, ev, ev->data.scalar.anchor, 1);

    case YAML_ALIAS_EVENT:
        return strangler_yaml_bound_alias(w, ev);

    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:

        if (w->depth == STRANGLER_YAML_MAX_DEPTH) {
            strangler_error(w->y->errs, w->y->file, ev->start_mark.line + 1,
                            ev->start_mark.column + 1,
                            "YAML: collections nested deeper than %d",
                            STRANGLER_YAML_MAX_DEPTH);
            return -1;
        }

        anchor = (ev->type == YAML_SEQUENCE_START_EVENT)
                 ? ev->data.sequence_start.anchor
                 : ev->data.mapping_start.anchor;

        if (strangler_yaml_bound_node(w, ev, anchor, 0) != 1) {
            return -1;
        }

        o = &w->open[++w->depth];
        o->nodes = 1;
        o->anchor = anchor ? &w->anchors[w->nanchors - 1] : NULL;
        return 1;

    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        o = &w->open[w->depth--];
        nodes = o->nodes;

        if (o->anchor) {
            o->anchor->nodes = nodes;
        }

        w->open[w->depth].nodes += nodes;
        return 1;

    default:
        return 1;
    }
}


/*
 * A scalar (nodes 1), or a collection opening (nodes 0: counted when it
 * closes); an anchored collection's anchor is left with nodes 0, "open".
 */

static int
strangler_yaml_bound_node(strangler_yaml_walk_t *w, const yaml_event_t *ev,
    const yaml_char_t *anchor, size_t nodes)
{
    strangler_yaml_anchor_t  *a;

    w->open[w->depth].nodes += nodes;

    if (anchor == NULL) {
        return 1;
    }

    if (w->nanchors == STRANGLER_YAML_MAX_ANCHORS) {
        strangler_error(w->y->errs, w->y->file, ev->start_mark.line + 1,
                        ev->start_mark.column + 1,
                        "YAML: more than %d anchors",
                        STRANGLER_YAML_MAX_ANCHORS);
        return -1;
    }

    a = &w->anchors[w->nanchors];
    a->name = strdup((const char *) anchor);

    if (a->name == NULL) {
        strangler_error(w->y->errs, w->y->file, 0, 0, "YAML: out of memory");
        return -1;
    }

    a->nodes = nodes;
    w->nanchors++;

    return 1;
}


static int
strangler_yaml_bound_alias(strangler_yaml_walk_t *w, const yaml_event_t *ev)
{
    size_t                    i;
    const char               *name;
    strangler_yaml_anchor_t  *a;

    name = (const char *) ev->data.alias.anchor;
    a = NULL;

    /* the latest anchor of that name: YAML lets a name be anchored again */

    for (i = w->nanchors; i > 0; i--) {
        if (strcmp(w->anchors[i - 1].name, name) == 0) {
            a = &w->anchors[i - 1];
            break;
        }
    }

    if (a == NULL) {
        /* libyaml's loader reports "found undefined alias" */
        w->open[w->depth].nodes++;
        return 1;
    }

    if (a->nodes == 0) {
        strangler_error(w->y->errs, w->y->file, ev->start_mark.line + 1,
                        ev->start_mark.column + 1,
                        "YAML: alias \"*%s\" inside the node it names",
                        name);
        return -1;
    }

    w->aliased += a->nodes;

    if (w->aliased > STRANGLER_YAML_MAX_ALIASED) {
        strangler_error(w->y->errs, w->y->file, ev->start_mark.line + 1,
                        ev->start_mark.column + 1,
                        "YAML: aliases stand for more than %d nodes in all; "
                        "write these values out", STRANGLER_YAML_MAX_ALIASED);
        return -1;
    }

    w->open[w->depth].nodes += a->nodes;

    return 1;
}


void
strangler_yaml_free(strangler_yaml_t *y)
{
    yaml_document_delete(&y->doc);
}


yaml_node_t *
strangler_yaml_node(strangler_yaml_t *y, int id)
{
    return yaml_document_get_node(&y->doc, id);
}


static void
strangler_yaml_syntax_error(strangler_yaml_t *y, const yaml_parser_t *parser,
    const char *buf, size_t len)
{
    size_t              i, off;
    unsigned            line, col;
    const char         *problem, *hint;
    const yaml_mark_t  *mark;

    problem = parser->problem ? parser->problem : "syntax error";

    switch (parser->error) {

    case YAML_MEMORY_ERROR:
        strangler_error(y->errs, y->file, 0, 0, "YAML: out of memory");
        return;

    case YAML_READER_ERROR:

        /* the reader gives a byte offset rather than a mark */

        off = parser->problem_offset < len ? parser->problem_offset : len;
        line = 1;
        col = 1;

        for (i = 0; i < off; i++) {
            if (buf[i] == '\n') {
                line++;
                col = 1;

            } else {
                col++;
            }
        }

        strangler_error(y->errs, y->file, line, col, "YAML: %s", problem);
        return;

    default:
        mark = &parser->problem_mark;
        line = mark->line + 1;
        col = mark->column + 1;

        /* the usual trap: a template in a flow list, as in [/a/{id}] */
        hint = (mark->index < len && buf[mark->index] == '{')
               ? "; a path with {name} in a [...] list needs quotes" : "";

        if (parser->context == NULL) {
            strangler_error(y->errs, y->file, line, col, "YAML: %s%s",
                            problem, hint);
            return;
        }

        strangler_error(y->errs, y->file, line, col,
                        "YAML: %s (%s at line %u)%s", problem,
                        parser->context,
                        (unsigned) parser->context_mark.line + 1, hint);
    }
}


void
strangler_yaml_verror(strangler_yaml_t *y, const yaml_node_t *node,
    size_t offset, const char *prefix, const char *fmt, va_list args)
{
    unsigned  col;
    char      msg[STRANGLER_ERROR_LEN];

    vsnprintf(msg, sizeof(msg), fmt, args);

    col = node->start_mark.column + 1;

    if (offset != STRANGLER_YAML_NODE) {
        col += offset;

        if (node->type == YAML_SCALAR_NODE
            && (node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE
                || node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE))
        {
            col++;
        }
    }

    if (prefix && prefix[0]) {
        strangler_error(y->errs, y->file, strangler_yaml_line(node), col,
                        "%s: %s", prefix, msg);

    } else {
        strangler_error(y->errs, y->file, strangler_yaml_line(node), col,
                        "%s", msg);
    }
}


void
strangler_yaml_error(strangler_yaml_t *y, const yaml_node_t *node,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    strangler_yaml_verror(y, node, STRANGLER_YAML_NODE, NULL, fmt, args);
    va_end(args);
}


int
strangler_yaml_is_null(const yaml_node_t *node)
{
    size_t       len;
    const char  *v;

    if (node->type != YAML_SCALAR_NODE
        || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    {
        return 0;
    }

    v = (const char *) node->data.scalar.value;
    len = node->data.scalar.length;

    return len == 0
           || (len == 1 && v[0] == '~')
           || (len == 4 && (memcmp(v, "null", 4) == 0
                            || memcmp(v, "Null", 4) == 0
                            || memcmp(v, "NULL", 4) == 0));
}


int
strangler_yaml_scalar(const yaml_node_t *node, strangler_str_t *s)
{
    if (node->type != YAML_SCALAR_NODE || strangler_yaml_is_null(node)) {
        return 0;
    }

    s->data = (const char *) node->data.scalar.value;
    s->len = node->data.scalar.length;

    return 1;
}


static int
strangler_yaml_key_is(const yaml_node_t *key, const char *name)
{
    size_t  len;

    len = strlen(name);

    return key->type == YAML_SCALAR_NODE
           && key->data.scalar.length == len
           && memcmp(key->data.scalar.value, name, len) == 0;
}


yaml_node_t *
strangler_yaml_get(strangler_yaml_t *y, yaml_node_t *map, const char *name)
{
    yaml_node_pair_t  *pair;

    for (pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top;
         pair++)
    {
        if (strangler_yaml_key_is(strangler_yaml_node(y, pair->key), name)) {
            return strangler_yaml_node(y, pair->value);
        }
    }

    return NULL;
}


static size_t
strangler_yaml_field_find(const strangler_yaml_field_t *fields, size_t n,
    const yaml_node_t *key)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strangler_yaml_key_is(key, fields[i].name)) {
            break;
        }
    }

    return i;
}


void
strangler_yaml_fields(strangler_yaml_t *y, yaml_node_t *map,
    const strangler_yaml_field_t *fields, size_t n, const char *where,
    void *ctx, void *obj)
{
    size_t             i;
    yaml_node_t       *key, *keys[STRANGLER_YAML_MAX_FIELDS];
    yaml_node_t       *values[STRANGLER_YAML_MAX_FIELDS];
    strangler_str_t    name;
    yaml_node_pair_t  *pair;

    memset(keys, 0, sizeof(keys));
    memset(values, 0, sizeof(values));

    for (pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top;
         pair++)
    {
        key = strangler_yaml_node(y, pair->key);
        i = strangler_yaml_field_find(fields, n, key);

        if (i == n) {
            if (strangler_yaml_scalar(key, &name)) {
                strangler_yaml_error(y, key, "unknown key \"%.*s\" %s",
                                     strangler_quote(name), where);

            } else {
                strangler_yaml_error(y, key, "keys must be names %s",
                                     where);
            }

            continue;
        }

        if (keys[i]) {
            strangler_yaml_duplicate(y, key, strangler_yaml_line(keys[i]),
                                     where);
            continue;
        }

        keys[i] = key;
        values[i] = strangler_yaml_node(y, pair->value);
    }

    for (i = 0; i < n; i++) {
        if (keys[i] == NULL && fields[i].required) {
            strangler_yaml_error(y, map, "missing required key \"%s\" %s",
                                 fields[i].name, where);
            continue;
        }

        fields[i].handler(ctx, obj, values[i]);
    }
}


void
strangler_yaml_duplicate(strangler_yaml_t *y, const yaml_node_t *key,
    unsigned first_line, const char *where)
{
    strangler_str_t  name;

    if (!strangler_yaml_scalar(key, &name)) {
        name.data = "";
        name.len = 0;
    }

    strangler_yaml_error(y, key, "duplicate key \"%.*s\" %s (first at line %u)",
                         strangler_quote(name), where, first_line);
}
