
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A thin layer over libyaml's document API for the route-table loader:
 * loading with "file:line:col: YAML: ..." errors, errors positioned at a
 * node, scalar helpers, and a table-driven reader of mappings with a fixed
 * set of keys (unknown, duplicate and missing keys are errors).
 */


#ifndef STRANGLER_YAML_H_INCLUDED_
#define STRANGLER_YAML_H_INCLUDED_


#include <stdarg.h>
#include <yaml.h>

#include "strangler_core.h"


#define STRANGLER_YAML_MAX_FIELDS  16

/*
 * Bounds checked before a document is built, so that the work of loading
 * stays in proportion to the file: how deep collections nest, how many
 * anchors there are, and how many nodes all aliases stand for together
 * (an alias of an alias of a list counts every node it reaches).
 */
#define STRANGLER_YAML_MAX_DEPTH    64
#define STRANGLER_YAML_MAX_ANCHORS  256
#define STRANGLER_YAML_MAX_ALIASED  100000


typedef struct {
    yaml_document_t           doc;
    const char               *file;       /* for messages */
    strangler_errors_t       *errs;
    const char               *empty;      /* NULL: the route table's */
} strangler_yaml_t;


/*
 * One key of a mapping.  Handlers run in the order of the table, once
 * each, with value NULL when the key is absent (the handler applies the
 * default), but never for an absent required key: that is an error.
 */
typedef void (*strangler_yaml_handler_pt)(void *ctx, void *obj,
    yaml_node_t *value);

typedef struct {
    const char                *name;
    strangler_yaml_handler_pt  handler;
    unsigned                   required;
} strangler_yaml_field_t;


/*
 * Parses one document.  Returns its root node, or NULL with an error
 * reported (bad YAML, an empty document, more than one document, one
 * beyond the bounds above).
 * strangler_yaml_free() must be called in every case.
 */
yaml_node_t *strangler_yaml_load(strangler_yaml_t *y, const char *buf,
    size_t len);
void strangler_yaml_free(strangler_yaml_t *y);

yaml_node_t *strangler_yaml_node(strangler_yaml_t *y, int id);

/*
 * "file:line:col: prefix: message" at a node, or `offset` bytes into a
 * scalar's value (past its opening quote); STRANGLER_YAML_NODE: the node.
 */
#define STRANGLER_YAML_NODE  ((size_t) -1)

void strangler_yaml_verror(strangler_yaml_t *y, const yaml_node_t *node,
    size_t offset, const char *prefix, const char *fmt, va_list args);
void strangler_yaml_error(strangler_yaml_t *y, const yaml_node_t *node,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* 1 for a scalar other than null ("", "~", "null"); sets *s */
int strangler_yaml_scalar(const yaml_node_t *node, strangler_str_t *s);
int strangler_yaml_is_null(const yaml_node_t *node);

/* the value of the first `name` key of a mapping, or NULL */
yaml_node_t *strangler_yaml_get(strangler_yaml_t *y, yaml_node_t *map,
    const char *name);

/* `where` ends messages: "at top level", "in route \"x\"" */
void strangler_yaml_fields(strangler_yaml_t *y, yaml_node_t *map,
    const strangler_yaml_field_t *fields, size_t n, const char *where,
    void *ctx, void *obj);
void strangler_yaml_duplicate(strangler_yaml_t *y, const yaml_node_t *key,
    unsigned first_line, const char *where);


#define strangler_yaml_line(node)  ((unsigned) (node)->start_mark.line + 1)

#define strangler_yaml_pairs(node)                                            \
    ((size_t) ((node)->data.mapping.pairs.top                                 \
               - (node)->data.mapping.pairs.start))

#define strangler_yaml_items(node)                                            \
    ((size_t) ((node)->data.sequence.items.top                                \
               - (node)->data.sequence.items.start))


/* for "%.*s": a string cut to a length that keeps messages readable */
#define STRANGLER_QUOTE_MAX  80
#define strangler_quote(s)                                                    \
    (int) ((s).len > STRANGLER_QUOTE_MAX ? STRANGLER_QUOTE_MAX : (s).len),    \
    (s).data


#endif /* STRANGLER_YAML_H_INCLUDED_ */
