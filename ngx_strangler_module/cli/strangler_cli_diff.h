
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Private to `strangler diff` (strangler_cli_diff.c: the command and the
 * comparison per pattern; strangler_cli_diff_probe.c: precedence found by
 * probing; strangler_cli_diff_changes.c: the list of changes;
 * strangler_cli_diff_output.c: the text and the JSON).
 */


#ifndef STRANGLER_CLI_DIFF_H_INCLUDED_
#define STRANGLER_CLI_DIFF_H_INCLUDED_


#include "strangler_cli.h"


/* per pattern: a change for each aspect, its methods gathered */
#define STRANGLER_CLI_KEY_CHANGES  (4 * STRANGLER_M_OTHER)


/* what a change of the table does */

typedef enum {
    STRANGLER_CLI_CHANGE_OWNER = 0,   /* where writes, and events, go */
    STRANGLER_CLI_CHANGE_READS,
    STRANGLER_CLI_CHANGE_SHADOW,
    STRANGLER_CLI_CHANGE_ROUTE,       /* the same targets, another route */
    STRANGLER_CLI_CHANGE_ADDED,
    STRANGLER_CLI_CHANGE_REMOVED,
    STRANGLER_CLI_CHANGE_PRECEDENCE,  /* another pattern serves a path */
    STRANGLER_CLI_CHANGE_BACKEND,     /* a backend's location */
    STRANGLER_CLI_CHANGE_COUNT
} strangler_cli_change_kind_t;


typedef struct {
    strangler_cli_change_kind_t  kind;
    unsigned                  owner:1;    /* writes move: listed first */
    int                       writes;     /* the class: -1 none, 0 reads */
    uint32_t                  methods;    /* 1 << strangler_method_t */
    char                    **patterns;
    size_t                    npatterns;
    char                     *route_before;   /* NULL: no route */
    char                     *route_after;
    char                     *before;     /* NULL: none */
    char                     *after;
    char                     *example;    /* precedence: "GET /a/1" */
    char                     *now;        /* precedence: the new pattern */
} strangler_cli_change_t;


typedef struct {
    const char               *old_file;
    const char               *new_file;
    strangler_cli_change_t   *changes;
    size_t                    n;
    size_t                    cap;
    unsigned                  failed:1;   /* out of memory */
} strangler_cli_diff_t;


const char *strangler_cli_change_name(strangler_cli_change_kind_t kind);

/* strangler_cli_diff_output.c */
void strangler_cli_diff_print(const strangler_cli_diff_t *diff);
int strangler_cli_diff_json(const strangler_cli_diff_t *diff);


/* a pattern of a table, by its key: {name} written {} */
typedef struct {
    char                     *key;
    const strangler_route_t  *route;
    size_t                    path;
} strangler_cli_entry_t;


typedef struct {
    strangler_cli_entry_t    *items;
    size_t                    n;
} strangler_cli_entries_t;


/* both tables, for probing */
typedef struct {
    const strangler_table_t         *old;
    const strangler_table_t         *new;
    const strangler_cli_patterns_t  *po;
    const strangler_cli_patterns_t  *pn;
    const strangler_cli_entries_t   *en;
} strangler_cli_probe_t;



/* the patterns of a table by key */
char *strangler_cli_pattern_key(const strangler_str_t *p);
const strangler_cli_entry_t *strangler_cli_entry_serving(
    const strangler_cli_entry_t *e, size_t n, strangler_method_t m);
int strangler_cli_entries_serve(const strangler_cli_entries_t *e,
    const char *key, strangler_method_t m);
void strangler_cli_describe_target(const strangler_table_t *table,
    const strangler_route_t *route, int writes, char *buf, size_t size);

/* precedence */
void strangler_cli_diff_probe(strangler_cli_diff_t *diff,
    strangler_cli_probe_t *pr);

/* the list of changes; a pattern's own list joins methods, and returns
 * the index of the change (n when the list is full) */
size_t strangler_cli_change_add(strangler_cli_diff_t *diff,
    strangler_cli_change_t *list, size_t *n, const strangler_cli_change_t *c);
void strangler_cli_change_merge(strangler_cli_diff_t *diff,
    const strangler_cli_change_t *c);
void strangler_cli_change_free(strangler_cli_change_t *c);
int strangler_cli_str_eq(const char *a, const char *b);
char *strangler_cli_strdup(strangler_cli_diff_t *diff, const char *s);


#endif /* STRANGLER_CLI_DIFF_H_INCLUDED_ */
