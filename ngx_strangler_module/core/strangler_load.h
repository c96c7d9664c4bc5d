
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Private to the loader (strangler_load.c, strangler_load_route.c,
 * strangler_load_shadow.c, strangler_load_guard.c): the state of one load
 * and shared helpers.
 */


#ifndef STRANGLER_LOAD_H_INCLUDED_
#define STRANGLER_LOAD_H_INCLUDED_


#include "strangler_yaml.h"


#define STRANGLER_LABEL_LEN  (STRANGLER_QUOTE_MAX + 32)


typedef struct {
    strangler_yaml_t          y;
    strangler_table_t        *table;
    strangler_arena_t        *arena;

    /* route names seen so far, open addressing: for duplicates */
    const strangler_route_t **names;
    size_t                    names_mask;

    /* `route "x"` while a route is read, "" at top level */
    char                      label[STRANGLER_LABEL_LEN];
} strangler_loader_t;


/* errors prefixed with the label of the route being read */
void strangler_load_error(strangler_loader_t *ld, const yaml_node_t *node,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void strangler_load_error_at(strangler_loader_t *ld, const yaml_node_t *node,
    size_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

void *strangler_load_alloc(strangler_loader_t *ld, size_t size);
int strangler_load_copy(strangler_loader_t *ld, const strangler_str_t *src,
    strangler_str_t *dst);
int strangler_load_backend_ref(strangler_loader_t *ld, yaml_node_t *node,
    const char *what);
int strangler_load_is_token(const char *p, size_t len);

int strangler_load_is_name(const strangler_str_t *s);
int strangler_load_block(strangler_loader_t *ld, yaml_node_t *value,
    const char *key, const char *example,
    const strangler_yaml_field_t *fields, size_t n, void *obj);

/* `header:NAME`, `cookie:NAME`, `arg:NAME`, `ip`; NONE: none of them */
strangler_sticky_t strangler_load_field(const strangler_str_t *s,
    strangler_str_t *name);

/* "12.25" (percent, decimals allowed, no sign) to ppm; 0: not one */
int strangler_load_percent(const strangler_str_t *s, uint32_t *ppm);

/* handlers of top-level keys and of a route's `shadow` and `guard` keys */
void strangler_load_routes(void *ctx, void *obj, yaml_node_t *value);
void strangler_load_method_override(void *ctx, void *obj,
    yaml_node_t *value);
void strangler_load_shadow(void *ctx, void *obj, yaml_node_t *value);
void strangler_load_guard(void *ctx, void *obj, yaml_node_t *value);
void strangler_load_handoff(void *ctx, void *obj, yaml_node_t *value);

/* "250ms", "10s", "1m", "1h": digits and one unit; 0: not one */
int strangler_load_duration(const strangler_str_t *s, uint64_t *ms);
void strangler_load_readiness_table(void *ctx, void *obj,
    yaml_node_t *value);
void strangler_load_readiness(void *ctx, void *obj, yaml_node_t *value);
void strangler_load_capture(void *ctx, void *obj, yaml_node_t *value);


#define strangler_nelts(a)  (sizeof(a) / sizeof((a)[0]))


#endif /* STRANGLER_LOAD_H_INCLUDED_ */
