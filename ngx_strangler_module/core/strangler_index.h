
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Private to the path index (strangler_index.c: the segment trie and the
 * index API; strangler_regex.c: regexes and their placement in the trie).
 */


#ifndef STRANGLER_INDEX_H_INCLUDED_
#define STRANGLER_INDEX_H_INCLUDED_


#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH  8
#endif
#include <pcre2.h>

#include "strangler_core.h"


#define STRANGLER_RX_NONE        UINT32_MAX
#define STRANGLER_METHODS_KNOWN  ((1u << STRANGLER_M_OTHER) - 1)


typedef struct strangler_node_s  strangler_node_t;


/* per method, the route that serves a pattern: O(1) method checks */
typedef struct {
    const strangler_route_t  *by_method[STRANGLER_M_COUNT];
    const strangler_route_t  *all;        /* the route without `methods` */
    uint32_t                  claimed;    /* methods listed by a route */
} strangler_slot_t;


struct strangler_node_s {
    strangler_node_t         *parent;
    strangler_node_t         *param;      /* the {name} child */
    strangler_slot_t         *full;       /* the path ends here */
    strangler_slot_t         *prefix;     /* a final "*" segment follows */
    uint32_t                  id;
    uint32_t                  depth;      /* segments below the root */
    uint32_t                  rx_first;   /* regexes placed on this node */
    uint32_t                  rx_last;
    unsigned                  rx_below:1; /* here or under a literal child */
};


/* a literal child: the hash table is keyed by (parent id, segment) */
typedef struct {
    strangler_node_t         *child;      /* NULL: a free entry */
    const char               *seg;
    size_t                    len;
    uint32_t                  parent;
    uint32_t                  hash;
} strangler_edge_t;


typedef struct {
    pcre2_code               *code;
    const strangler_route_t  *route;
    uint32_t                  next;       /* the next regex on the node */
} strangler_regex_t;


struct strangler_index_s {
    strangler_arena_t        *arena;
    strangler_node_t         *root;
    uint32_t                  nnodes;

    strangler_edge_t         *edges;      /* malloc'd, power of two */
    size_t                    nedges;
    size_t                    mask;

    strangler_regex_t        *regexes;    /* malloc'd, in the order added */
    uint32_t                  nregexes;
    uint32_t                  regexes_cap;

    pcre2_match_data         *match_data; /* one, reused by every lookup */
    pcre2_match_context      *match_context;  /* the limits below */
};


/*
 * What one regex may cost a lookup.  The JIT counts its backtracking
 * against the match limit (and ignores the depth limit); when its stack
 * (32 KiB) runs out, the interpreter runs the regex again under both
 * limits.  A regex that hits a limit does not match (the lookup says so).
 */
#define STRANGLER_REGEX_MATCH_LIMIT  100000
#define STRANGLER_REGEX_DEPTH_LIMIT  10000


void strangler_index_err(char *err, size_t err_len, size_t *err_offset,
    size_t offset, const char *msg);
strangler_node_t *strangler_edge_find(const strangler_index_t *index,
    const strangler_node_t *parent, const char *seg, size_t len);
strangler_node_t *strangler_node_literal(strangler_index_t *index,
    strangler_node_t *parent, const char *seg, size_t len);

strangler_add_rc_t strangler_regex_add(strangler_index_t *index,
    const strangler_route_t *route, const char *pattern, size_t len,
    char *err, size_t err_len, size_t *err_offset);
int strangler_regex_finish(strangler_index_t *index, char *err,
    size_t err_len);
int strangler_regex_match(const strangler_index_t *index,
    strangler_method_t method, const char *path, size_t len,
    strangler_match_t *match);
void strangler_regex_free(strangler_index_t *index);


#endif /* STRANGLER_INDEX_H_INCLUDED_ */
