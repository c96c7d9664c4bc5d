
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler replay`: what its files share.  The input (capture files of
 * `strangler_capture`, GoReplay's .gor files), the sending (libcurl's
 * multi interface) and the comparison (the core's, as nginx's shadows).
 */


#ifndef STRANGLER_CLI_REPLAY_H_INCLUDED_
#define STRANGLER_CLI_REPLAY_H_INCLUDED_


#include <jansson.h>

#include "strangler_cli.h"
#include "strangler_compare.h"
#include "strangler_record.h"
#include "strangler_report.h"


#define STRANGLER_REPLAY_MAX_BODY  (1024 * 1024)  /* as nginx's default */

/* the sides of a replayed request */
#define STRANGLER_REPLAY_PRIMARY    0   /* the live primary, or recorded */
#define STRANGLER_REPLAY_CANDIDATE  1
#define STRANGLER_REPLAY_SECONDARY  2   /* noise: the primary again */
#define STRANGLER_REPLAY_NSIDES     3


/* one request of an input file */
typedef struct {
    char                     *method;
    char                     *uri;
    strangler_header_t       *headers;    /* malloc()ed, strings too */
    size_t                    nheaders;
    unsigned char            *body;       /* NULL: none */
    size_t                    body_len;
    unsigned                  body_omitted:1;
    char                     *request_id; /* or "file:line" */
    json_t                   *answer;     /* recorded; NULL: none */
} strangler_replay_item_t;


/* an input: the files in turn */
typedef struct {
    char                    **files;
    size_t                    nfiles;
    size_t                    file;       /* the one being read */
    FILE                     *f;
    int                       gor;
    size_t                    lineno;
    char                     *line;
    size_t                    size;
    size_t                    bad;        /* records that were not */
} strangler_replay_input_t;


/* strangler_cli_replay_input.c: 1 and an item, 0 at the end, -1 error */
int strangler_replay_input_open(strangler_replay_input_t *in, char **files,
    size_t n);
int strangler_replay_input_next(strangler_replay_input_t *in,
    strangler_replay_item_t *item);
size_t strangler_replay_input_count(char **files, size_t n);
void strangler_replay_item_free(strangler_replay_item_t *item);
void strangler_replay_input_close(strangler_replay_input_t *in);


/* one side's answer */
typedef struct {
    int                       status;     /* 0: none */
    char                     *error;      /* why none; malloc()ed */
    strangler_str_t          *headers;    /* per the route's headers */
    strangler_body_t          body;
    unsigned                  started:1;  /* body initialised */
    unsigned                  gzip:1;
} strangler_replay_answer_t;


/* strangler_cli_replay_compare.c */
typedef struct {
    const strangler_table_t  *table;
    strangler_report_t        report;
    const char               *primary;    /* URL, or NULL: recorded */
    const char               *candidate;
    json_t                   *fields;     /* route -> field -> counts */
    uint64_t                 *compared;   /* per route index, then "-" */
    uint64_t                 *noise_compared;

    size_t                    sent;
    size_t                    matched;
    size_t                    mismatched;
    size_t                    noise_only;
    size_t                    failed;
    size_t                    writes_skipped;
    size_t                    not_replayable;
    size_t                    filtered;
} strangler_replay_stats_t;

int strangler_replay_stats_init(strangler_replay_stats_t *st,
    const strangler_table_t *table);
const strangler_shadow_t *strangler_replay_conf(
    const strangler_route_t *route);
int strangler_replay_recorded(const strangler_route_t *route,
    json_t *answer, strangler_replay_answer_t *a);
void strangler_replay_answer_init(strangler_replay_answer_t *a, size_t n);
void strangler_replay_answer_free(strangler_replay_answer_t *a, size_t n);
void strangler_replay_compare(strangler_replay_stats_t *st,
    const strangler_route_t *route, const strangler_replay_item_t *item,
    strangler_replay_answer_t *sides, int has_secondary);
void strangler_replay_stats_free(strangler_replay_stats_t *st);


int strangler_cli_replay(int argc, char **argv);


#endif /* STRANGLER_CLI_REPLAY_H_INCLUDED_ */
