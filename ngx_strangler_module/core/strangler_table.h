
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The route table: loading, validation, matching and the routing decision.
 * Plain C (libyaml, PCRE2), no nginx types, so that the nginx module, the
 * `strangler` command, the unit tests, the fuzzers and the benchmarks all
 * run exactly the same code.
 */


#ifndef STRANGLER_TABLE_H_INCLUDED_
#define STRANGLER_TABLE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define STRANGLER_MAX_ERRORS      16
#define STRANGLER_ERROR_LEN       320
#define STRANGLER_MAX_BACKENDS    256
#define STRANGLER_SAMPLE_SCALE    1000000     /* sample is kept in ppm */
#define STRANGLER_NONE            (-1)        /* "no backend" */


typedef struct {
    const char               *data;
    size_t                    len;
} strangler_str_t;


typedef struct {
    strangler_str_t          *items;
    size_t                    n;
} strangler_strs_t;


/* method indexes; a route's `methods` is a bit mask of them */
typedef enum {
    STRANGLER_M_GET = 0,
    STRANGLER_M_HEAD,
    STRANGLER_M_OPTIONS,
    STRANGLER_M_POST,
    STRANGLER_M_PUT,
    STRANGLER_M_DELETE,
    STRANGLER_M_PATCH,
    STRANGLER_M_TRACE,
    STRANGLER_M_CONNECT,
    STRANGLER_M_PROPFIND,
    STRANGLER_M_PROPPATCH,
    STRANGLER_M_MKCOL,
    STRANGLER_M_COPY,
    STRANGLER_M_MOVE,
    STRANGLER_M_LOCK,
    STRANGLER_M_UNLOCK,
    STRANGLER_M_OTHER,          /* any other token: matches no `methods` */
    STRANGLER_M_COUNT
} strangler_method_t;


/* the kind of pattern that matched, in precedence order */
typedef enum {
    STRANGLER_RULE_EXACT = 0,
    STRANGLER_RULE_TEMPLATE,
    STRANGLER_RULE_REGEX,
    STRANGLER_RULE_PREFIX,
    STRANGLER_RULE_DEFAULT      /* nothing matched */
} strangler_rule_t;


/* why a backend was chosen: $strangler_reason */
typedef enum {
    STRANGLER_REASON_EXACT = 0,
    STRANGLER_REASON_TEMPLATE,
    STRANGLER_REASON_REGEX,
    STRANGLER_REASON_PREFIX,
    STRANGLER_REASON_DEFAULT,
    STRANGLER_REASON_SPLIT,     /* a weighted split chose */
    STRANGLER_REASON_OVERRIDE,  /* a runtime override chose */
    STRANGLER_REASON_FORCE      /* the force header chose (reads only) */
} strangler_reason_t;


typedef enum {
    STRANGLER_STICKY_NONE = 0,
    STRANGLER_STICKY_HEADER,
    STRANGLER_STICKY_COOKIE,
    STRANGLER_STICKY_ARG,
    STRANGLER_STICKY_IP
} strangler_sticky_t;


typedef enum {
    STRANGLER_COMPARE_OFF = 0,
    STRANGLER_COMPARE_STATUS,
    STRANGLER_COMPARE_BODY,
    STRANGLER_COMPARE_JSON
} strangler_compare_t;


typedef struct {
    strangler_str_t           name;
    strangler_str_t           location;   /* "@name" unless configured */
    unsigned                  line;
    unsigned                  col;
} strangler_backend_t;


typedef struct {
    int                       backend;
    uint32_t                  weight;
} strangler_weight_t;


typedef struct {
    unsigned                  enabled:1;
    unsigned                  dry_run_writes:1;  /* writes: dry-run */
    int                       to;         /* STRANGLER_NONE: other side */
    uint32_t                  sample_ppm; /* 0 .. STRANGLER_SAMPLE_SCALE */
    strangler_compare_t       compare;
    strangler_strs_t          ignore;     /* "$.a.b", "header:Date" */
    strangler_strs_t          unordered;  /* arrays compared as multisets */
    strangler_strs_t          headers;    /* response headers compared */
    strangler_str_t           dry_run_header;
} strangler_shadow_t;


typedef struct {
    strangler_str_t           name;
    size_t                    index;      /* position in the table */
    strangler_strs_t          paths;      /* as written */
    uint32_t                  methods;    /* 1 << strangler_method_t; 0: all */
    int                       owner;      /* gets every write */
    strangler_weight_t       *reads;      /* one entry unless split */
    size_t                    nreads;
    uint32_t                  total_weight;
    strangler_sticky_t        sticky;
    strangler_str_t           sticky_name; /* header, cookie or arg name */
    strangler_shadow_t        shadow;
    unsigned                  line;
    unsigned                  col;
} strangler_route_t;


typedef struct strangler_index_s  strangler_index_t;
typedef struct strangler_arena_s  strangler_arena_t;


typedef struct {
    strangler_str_t           file;
    char                      sha256[65]; /* of the file's bytes, hex */
    int                       version;
    strangler_backend_t      *backends;
    size_t                    nbackends;
    int                       default_backend;
    strangler_route_t        *routes;
    size_t                    nroutes;

    strangler_index_t        *index;      /* private */
    strangler_arena_t        *arena;      /* private: owns everything */
} strangler_table_t;


typedef struct {
    size_t                    count;      /* may exceed what is kept */
    char                      text[STRANGLER_MAX_ERRORS][STRANGLER_ERROR_LEN];
} strangler_errors_t;


typedef struct {
    const strangler_route_t  *route;      /* NULL: the default backend */
    strangler_rule_t          rule;
} strangler_match_t;


/* a runtime override of one route; STRANGLER_NONE / -1 leaves a field */
typedef struct {
    int                       reads;
    int                       owner;
    int32_t                   sample_ppm;
} strangler_override_t;


/* what the decision needs to know of a request, found by the caller */
typedef struct {
    strangler_method_t        method;
    strangler_str_t           force;      /* force header value, or empty */
    strangler_str_t           sticky_key; /* data NULL: the key is absent */
    uint32_t                  random;     /* for splits without a key */
    uint32_t                  shadow_random; /* for shadow sampling */
    const strangler_override_t  *override;   /* NULL: none */
} strangler_request_t;


typedef struct {
    const strangler_route_t  *route;      /* NULL: default */
    int                       backend;
    strangler_reason_t        reason;
    int                       shadow_to;  /* STRANGLER_NONE: no shadow */
    unsigned                  write:1;
    unsigned                  force_ignored:1; /* a write asked to force */
    unsigned                  force_unknown:1; /* no such backend */
} strangler_decision_t;


/*
 * Loading.  Both return NULL and fill errs ("file:line:col: message", one
 * per error, up to STRANGLER_MAX_ERRORS) when the table is invalid.  `name`
 * is the file name used in messages.
 */
strangler_table_t *strangler_table_load_file(const char *path,
    strangler_errors_t *errs);
strangler_table_t *strangler_table_load_buffer(const char *name,
    const char *buf, size_t len, strangler_errors_t *errs);
void strangler_table_free(strangler_table_t *table);


/* lookups: no allocation, time independent of the number of literals */
void strangler_table_match(const strangler_table_t *table,
    strangler_method_t method, const char *path, size_t len,
    strangler_match_t *match);
void strangler_decide(const strangler_table_t *table,
    const strangler_match_t *match, const strangler_request_t *req,
    strangler_decision_t *decision);

int strangler_backend_find(const strangler_table_t *table, const char *name,
    size_t len);
const strangler_route_t *strangler_route_find(const strangler_table_t *table,
    const char *name, size_t len);


/* small shared helpers */
strangler_method_t strangler_method_parse(const char *name, size_t len);
const char *strangler_method_name(strangler_method_t method);
int strangler_method_is_read(strangler_method_t method);
const char *strangler_reason_name(strangler_reason_t reason);
const char *strangler_rule_name(strangler_rule_t rule);
uint64_t strangler_hash(const char *data, size_t len);


#endif /* STRANGLER_TABLE_H_INCLUDED_ */
