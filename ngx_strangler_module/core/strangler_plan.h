
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Which route to move next (strangler_plan.c): from the evidence of one
 * route (its stage, its shadow comparisons, the 5xx and latency of both
 * sides, its guard's trips, since when its reads are on the new side) and
 * the thresholds of the table's `readiness` block, the next step and
 * either "ready" or the reasons it is not.  Plain C: the API judges one
 * host's evidence, `strangler plan` the sum of several hosts', with this
 * same code.
 */


#ifndef STRANGLER_PLAN_H_INCLUDED_
#define STRANGLER_PLAN_H_INCLUDED_


#include "strangler_table.h"
#include "strangler_guard.h"


/* the `readiness` defaults (docs/dashboard.md, "Which route next") */
#define STRANGLER_READINESS_MIN_COMPARED       1000
#define STRANGLER_READINESS_MAX_DIFFERENCES    0
#define STRANGLER_READINESS_MAX_ERROR_RATIO    1.0
#define STRANGLER_READINESS_MAX_LATENCY_RATIO  1.5
#define STRANGLER_READINESS_QUIET              3600

#define STRANGLER_READINESS_MAX_COUNT          1000000000000ULL
#define STRANGLER_READINESS_MAX_RATIO          1000000.0
#define STRANGLER_READINESS_MAX_QUIET          (366 * 86400)

#define STRANGLER_PLAN_TEXT_LEN                200


/* where a route stands, in migration order (as `progress` says) */
typedef enum {
    STRANGLER_STAGE_LEGACY = 0,
    STRANGLER_STAGE_SHADOWING,
    STRANGLER_STAGE_READS,
    STRANGLER_STAGE_OWNED,
    STRANGLER_STAGE_COUNT
} strangler_stage_t;


/* the step that moves a route to the next stage */
typedef enum {
    STRANGLER_STEP_SHADOW = 0,   /* start shadowing to the new side */
    STRANGLER_STEP_READS,        /* move the reads */
    STRANGLER_STEP_OWNER,        /* move the owner (and the writes) */
    STRANGLER_STEP_NONE,         /* owned: nothing left */
    STRANGLER_STEP_COUNT
} strangler_step_t;


/* why a step is not ready: stable codes for scripts */
typedef enum {
    STRANGLER_PLAN_NO_NEW_SIDE = 0,
    STRANGLER_PLAN_TOO_FEW_COMPARED,
    STRANGLER_PLAN_DIFFERENCES,
    STRANGLER_PLAN_ERRORS,
    STRANGLER_PLAN_LATENCY,
    STRANGLER_PLAN_GUARD_TRIPPED,
    STRANGLER_PLAN_NOT_QUIET,
    STRANGLER_PLAN_READS_NOT_MOVED,
    STRANGLER_PLAN_WRITE_DIFFERENCES,
    STRANGLER_PLAN_NCODES
} strangler_plan_code_t;


/* the legacy side (the table's `default` backend) and the new one */
typedef enum {
    STRANGLER_SIDE_LEGACY = 0,
    STRANGLER_SIDE_NEW,
    STRANGLER_SIDE_COUNT
} strangler_side_t;


/* a compared field: the counts of the field statistics */
typedef struct {
    const char               *path;
    uint64_t                  differences;
    uint64_t                  noise;
    int64_t                   first;       /* unix s first seen; 0: unknown */
} strangler_plan_field_t;


/* the answers of one side: served, and to shadow copies */
typedef struct {
    uint64_t                  requests;
    uint64_t                  errors;      /* 5xx */
    uint64_t                  time_bucket[STRANGLER_TIME_NBUCKETS];
} strangler_plan_side_t;


typedef struct {
    strangler_stage_t         stage;
    unsigned                  split:1;        /* reads on both sides */
    unsigned                  has_new_side:1; /* a new service to shadow to */
    uint64_t                  requests;       /* served, every backend */
    uint64_t                  compared;
    uint64_t                  noise_compared;
    uint32_t                  noise_relative_ppm;
    uint32_t                  noise_absolute_ppm;
    const strangler_plan_field_t  *fields;
    size_t                    nfields;
    uint64_t                  writes_compared;    /* dry-run copies */
    uint64_t                  writes_mismatched;
    strangler_plan_side_t     side[STRANGLER_SIDE_COUNT];
    int64_t                   guard_tripped;  /* unix s; 0: never */
    int64_t                   reads_since;    /* unix s; 0: not moved */
    int64_t                   now;
} strangler_plan_evidence_t;


/* a reason, with the figures its text says (strangler_plan_text()) */
typedef struct {
    strangler_plan_code_t     code;
    const char               *path;       /* a field's */
    uint64_t                  n[2];
    double                    share[2];
    int64_t                   seconds[2];
} strangler_plan_reason_t;


typedef struct {
    strangler_step_t          next;
    int                       is_ready;
    uint64_t                  differences;    /* fields judged differences */
    double                    error_share[STRANGLER_SIDE_COUNT]; /* -1 */
    int32_t                   p99_ms[STRANGLER_SIDE_COUNT];      /* -1 */
    size_t                    nreasons;
    strangler_plan_reason_t   reason[STRANGLER_PLAN_NCODES];
} strangler_plan_verdict_t;


void strangler_readiness_default(strangler_readiness_t *rd);

/* the next step of a route, and why it is not ready, if it is not */
void strangler_plan_judge(const strangler_readiness_t *rd,
    const strangler_plan_evidence_t *ev, strangler_plan_verdict_t *v);

/* the text of a reason, for people: "412 compared of 1,000" */
const char *strangler_plan_text(const strangler_plan_reason_t *r,
    char *buf, size_t size);

/* what the order reads of a route's verdict and evidence */
typedef struct {
    int                       is_ready;
    strangler_step_t          next;
    uint64_t                  requests;
} strangler_plan_key_t;

void strangler_plan_key(const strangler_plan_verdict_t *v,
    const strangler_plan_evidence_t *ev, strangler_plan_key_t *key);

/*
 * The plan's order: ready first, then reads before owners before
 * shadows, then the least traffic first; 0 for a tie (callers break it
 * by name).
 */
int strangler_plan_order(const strangler_plan_key_t *a,
    const strangler_plan_key_t *b);

/*
 * Several hosts' evidence of one route, added up into *sum (the fields
 * are the caller's to merge): the least moved stage, the latest guard
 * trip, reads moved since the latest host moved them (not moved when one
 * has not).
 */
void strangler_plan_add(strangler_plan_evidence_t *sum,
    const strangler_plan_evidence_t *ev);

const char *strangler_stage_name(strangler_stage_t stage);
const char *strangler_step_name(strangler_step_t step);
const char *strangler_plan_code_name(strangler_plan_code_t code);
/* a name back to its value; -1: none */
int strangler_stage_parse(const char *name, size_t len);

/* s as a JSON string, quotes included, bytes not UTF-8 as U+FFFD */
size_t strangler_plan_json_str(char *out, size_t size, const char *s,
    size_t len);


#endif /* STRANGLER_PLAN_H_INCLUDED_ */
