
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


/* the module's and the command's version */
#define STRANGLER_VERSION  "1.0.0"


#define STRANGLER_MAX_ERRORS      16
#define STRANGLER_ERROR_LEN       320
#define STRANGLER_MAX_BACKENDS    256
#define STRANGLER_SAMPLE_SCALE    1000000     /* sample is kept in ppm */
#define STRANGLER_PPM_PER_PERCENT (STRANGLER_SAMPLE_SCALE / 100)

/* the verdict's defaults (Diffy's): 20% relative, 0.03% absolute */
#define STRANGLER_NOISE_RELATIVE_PPM  200000
#define STRANGLER_NOISE_ABSOLUTE_PPM  300
#define STRANGLER_NONE            (-1)        /* "no backend" */
/* the name of the default route (no route matched): no route may take it */
#define STRANGLER_DEFAULT_ROUTE   "-"

/* the header every shadow copy carries, reads and writes */
#define STRANGLER_SHADOW_MARK     "X-Strangler-Shadow"


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
    STRANGLER_RULE_DEFAULT,     /* nothing matched */
    STRANGLER_RULE_COUNT
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
    STRANGLER_REASON_FORCE,     /* the force header chose (reads only) */
    STRANGLER_REASON_COUNT
} strangler_reason_t;


typedef enum {
    STRANGLER_STICKY_NONE = 0,
    STRANGLER_STICKY_HEADER,
    STRANGLER_STICKY_COOKIE,
    STRANGLER_STICKY_ARG,
    STRANGLER_STICKY_IP,
    STRANGLER_STICKY_COUNT
} strangler_sticky_t;


/* a field of a request, as a table names it: `header:NAME`, `arg:NAME` */
typedef struct {
    strangler_sticky_t        from;       /* header, cookie, arg or ip */
    strangler_str_t           name;
} strangler_field_t;


typedef enum {
    STRANGLER_COMPARE_OFF = 0,
    STRANGLER_COMPARE_STATUS,
    STRANGLER_COMPARE_BODY,
    STRANGLER_COMPARE_JSON,
    STRANGLER_COMPARE_COUNT
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
    uint32_t                  noise_ppm;  /* reads sent to a secondary */
    uint32_t                  noise_relative_ppm;  /* verdict thresholds */
    uint32_t                  noise_absolute_ppm;
} strangler_shadow_t;


/* a route's guard: limits on the reads a non-owner serves (-1: none) */
typedef struct {
    unsigned                  enabled:1;
    unsigned                  dry_run:1;  /* logs "would trip" only */
    int32_t                   error_ppm;      /* 5xx share */
    int32_t                   mismatch_ppm;   /* mismatched shadows share */
    int32_t                   latency_p99_ms;
    uint32_t                  window_ms;
    uint32_t                  min_requests;
    uint32_t                  failures;   /* failing windows in a row */
} strangler_guard_t;


/*
 * A route's handoff of writes when its owner moves: how long the old
 * owner's writes in flight may take to drain, how many new writes are held
 * meanwhile; 0: the http level's `strangler_handoff`
 */
typedef struct {
    uint32_t                  drain_ms;
    uint32_t                  hold;
    unsigned                  has_hold:1;     /* `hold: 0` is a value */
} strangler_handoff_t;


/*
 * What the next step of a route needs (`readiness`, strangler_plan.h): the
 * table's, with the keys a route sets of its own
 */
typedef struct {
    uint64_t                  min_compared;
    uint64_t                  max_differences;   /* difference fields */
    double                    max_error_ratio;   /* new 5xx % / legacy's */
    double                    max_latency_ratio; /* new p99 / legacy's */
    int64_t                   quiet;             /* seconds */
} strangler_readiness_t;


/*
 * A route's `capture`: the share of its requests recorded with the
 * owner's answer (strangler_capture), and what the records hide besides
 * the default secret headers: "header:Name", "arg:name", "$.json.path".
 */
typedef struct {
    unsigned                  enabled:1;
    uint32_t                  sample_ppm; /* 0 .. STRANGLER_SAMPLE_SCALE */
    strangler_strs_t          redact;
} strangler_capture_t;


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
    strangler_guard_t         guard;
    strangler_handoff_t       handoff;
    strangler_readiness_t     readiness;
    strangler_capture_t       capture;
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

    /* a read carrying one of these is a write (`method_override`) */
    const strangler_field_t  *method_overrides;
    size_t                    nmethod_overrides;

    strangler_readiness_t     readiness;  /* routes have their own copy */

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
    /* a route whose regex hit a PCRE2 limit and was taken as no match */
    const strangler_route_t  *limited;
} strangler_match_t;


/* a runtime override of one route; STRANGLER_NONE / -1 leaves a field */
typedef struct {
    int                       reads;
    int                       owner;
    int32_t                   sample_ppm;
} strangler_override_t;


/*
 * What the decision needs to know of a request.  The caller sets method,
 * path, force_header and the random numbers; strangler_request_route()
 * (or strangler_request_read()) finds the rest through an accessor.
 * Callers that know the rest already (the fuzzer, the unit tests) may fill
 * it and call strangler_decide() themselves.  Not to be copied once read:
 * `override` may point into it.
 */
typedef struct {
    strangler_method_t        method;
    strangler_str_t           path;       /* normalised, as nginx routes */
    strangler_str_t           force_header; /* its name; empty: off */
    uint32_t                  random;     /* for splits without a key */
    uint32_t                  shadow_random; /* for shadow sampling */

    strangler_str_t           force;      /* force header value, or empty */
    strangler_str_t           sticky_key; /* data NULL: the key is absent */
    const strangler_override_t  *override;   /* NULL: none */
    /* NULL, or the `method_override` field that made this read a write */
    const strangler_field_t  *method_override;
    strangler_override_t      override_data;  /* what `override` is read in */
} strangler_request_t;


/*
 * How the core reads a request: nginx answers from a real request, the
 * API's explain, the CLI and the tests from a description of one (see
 * strangler_text_accessor()).  A lookup returns 1 and sets *value when the
 * field is present, 0 when it is absent; a NULL callback is never present.
 * No callback may allocate per call on nginx's request path.
 */
typedef struct {
    void                     *data;
    int                     (*header)(void *data, const strangler_str_t *name,
                                      strangler_str_t *value);
    int                     (*cookie)(void *data, const strangler_str_t *name,
                                      strangler_str_t *value);
    int                     (*arg)(void *data, const strangler_str_t *name,
                                   strangler_str_t *value);
    int                     (*addr)(void *data, strangler_str_t *value);
    /* the whole query string, raw (for the method override's arguments) */
    int                     (*query)(void *data, strangler_str_t *value);
    /* the route's runtime override into *ov: 1, or 0 when none */
    int                     (*override)(void *data,
                                        const strangler_route_t *route,
                                        strangler_override_t *ov);
} strangler_accessor_t;


/* one header of a request described as text */
typedef struct {
    strangler_str_t           name;
    strangler_str_t           value;
} strangler_header_t;


/*
 * A request described as text (the CLI, the API's explain, `strangler
 * test`): headers in order ("Cookie" ones are where cookies are looked
 * for, as nginx does), the query string, the client address.
 */
typedef struct {
    const strangler_header_t *headers;
    size_t                    nheaders;
    strangler_str_t           args;       /* after '?', without it */
    strangler_str_t           addr;       /* data NULL: unknown */
} strangler_text_request_t;


typedef struct {
    const strangler_route_t  *route;      /* NULL: default */
    int                       backend;
    strangler_reason_t        reason;
    int                       shadow_to;  /* STRANGLER_NONE: no shadow */
    unsigned                  write:1;
    unsigned                  method_overridden:1; /* a read made a write */
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

/*
 * The whole decision for one request: the path matched, the force header,
 * the sticky key, the method override and the runtime override read
 * through acc, then strangler_decide().  No allocation.
 */
void strangler_request_route(const strangler_table_t *table,
    const strangler_accessor_t *acc, strangler_request_t *req,
    strangler_match_t *match, strangler_decision_t *decision);
/* the reading part alone, for a match made already */
void strangler_request_read(const strangler_table_t *table,
    const strangler_accessor_t *acc, const strangler_match_t *match,
    strangler_request_t *req);
/* one field of a request through acc: 1 and *value, or 0 when absent */
int strangler_field_read(const strangler_accessor_t *acc,
    strangler_sticky_t from, const strangler_str_t *name,
    strangler_str_t *value);

/* "header", "cookie", "arg" or "ip": the part before ':' in a table */
const char *strangler_field_name(strangler_sticky_t from);

/* an accessor answering from a text description; sets no `override` */
void strangler_text_accessor(const strangler_text_request_t *text,
    strangler_accessor_t *acc);

/*
 * nginx's parsers, for requests described as text, and used by nginx's
 * accessor too so that every caller finds the same value.  A cookie in one
 * Cookie header value as ngx_http_parse_multi_header_lines() finds it; an
 * argument in a query string as ngx_http_arg() does (the raw value, names
 * case-insensitive, the first one wins).  1 and *value, or 0.
 */
int strangler_cookie_parse(const char *header, size_t len,
    const strangler_str_t *name, strangler_str_t *value);
int strangler_arg_parse(const char *args, size_t len,
    const strangler_str_t *name, strangler_str_t *value);
/*
 * Whether a query string carries the argument NAME as the frameworks that
 * honour a method override may read it (see strangler_request.c): 1 or 0.
 */
int strangler_arg_is_present(const char *args, size_t len,
    const strangler_str_t *name);
/* the length of the valid UTF-8 character at p (len > 0), or 0 */
size_t strangler_utf8_len(const unsigned char *p, size_t len);
/* "Name: value" (or "Name:value") as nginx splits and trims it: 0 or -1 */
int strangler_header_parse(const char *line, size_t len,
    strangler_header_t *header);

/*
 * A request target ("/path?query") as nginx routes it: the path of r->uri
 * (%XX decoded, "//" merged, "." and ".." resolved, as
 * ngx_http_parse_complex_uri() does with merge_slashes on) into out, which
 * has room for len bytes, and the query string (raw) into *args.  Returns
 * 0, or -1 with *err set where nginx answers 400.
 */
int strangler_target_parse(const char *target, size_t len, char *out,
    size_t *out_len, strangler_str_t *args, const char **err);

/* whether nginx accepts NAME as a request line's method: [A-Z_-]+ */
int strangler_method_is_valid(const char *name, size_t len);

int strangler_backend_find(const strangler_table_t *table, const char *name,
    size_t len);
const strangler_route_t *strangler_route_find(const strangler_table_t *table,
    const char *name, size_t len);


/* small shared helpers */
strangler_method_t strangler_method_parse(const char *name, size_t len);
const char *strangler_method_name(strangler_method_t method);
int strangler_method_is_read(strangler_method_t method);
const char *strangler_dry_run_header_refused(const char *name, size_t len);
const char *strangler_reason_name(strangler_reason_t reason);
/* a sample: percent (0 to 100, rounded to the ppm) to ppm and back */
uint32_t strangler_percent_to_ppm(double percent);
double strangler_ppm_to_percent(uint32_t ppm);
const char *strangler_rule_name(strangler_rule_t rule);
const char *strangler_compare_name(strangler_compare_t compare);
const char *strangler_shadow_ignore_check(const strangler_str_t *s,
    size_t *offset);
uint64_t strangler_hash(const char *data, size_t len);


#endif /* STRANGLER_TABLE_H_INCLUDED_ */
