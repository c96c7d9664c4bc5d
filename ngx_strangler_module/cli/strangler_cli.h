
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Private to the `strangler` command: the commands, what they share (the
 * exit statuses, loading a table for a command, a request as a command
 * gives it, the table of patterns, example paths of a pattern).
 */


#ifndef STRANGLER_CLI_H_INCLUDED_
#define STRANGLER_CLI_H_INCLUDED_


#include <stdio.h>

#include <jansson.h>

#include "strangler_yaml.h"


/* as diff(1): 0 all is well, 1 a finding, 2 trouble */
#define STRANGLER_EXIT_OK         0
#define STRANGLER_EXIT_FAIL       1   /* invalid table, failed case, diff */
#define STRANGLER_EXIT_TROUBLE    2   /* usage, unreadable file, bad cases */


/* the commands (strangler_cli_check.c, ...); argv past the command name */
int strangler_cli_check(int argc, char **argv);
int strangler_cli_explain(int argc, char **argv);
int strangler_cli_test(int argc, char **argv);
int strangler_cli_diff(int argc, char **argv);
int strangler_cli_plan(int argc, char **argv);
int strangler_cli_fleet(int argc, char **argv);

/*
 * GET fleet of a host's API (base: its location, or its fleet call): the
 * reply, with a "hosts" list, or NULL, said on stderr after who
 * (strangler_cli_fleet.c; fleet and plan --fleet read it)
 */
json_t *strangler_cli_fleet_get(const char *who, const char *base,
    long timeout);

/* 1 when argv holds -h or --help: the command prints its usage */
int strangler_cli_wants_help(int argc, char **argv);


/*
 * Loading a table for a command: FILE, or "-" for standard input.  On
 * failure the errors go to stderr in line order and *rc is
 * STRANGLER_EXIT_TROUBLE when the file could not be read, else
 * STRANGLER_EXIT_FAIL.
 */
strangler_table_t *strangler_cli_table_load(const char *file, int *rc);
void strangler_cli_errors_print(const char *file, strangler_errors_t *errs);

/* the whole of FILE or of standard input ("-"), terminated; NULL: said */
char *strangler_cli_read(const char *file, size_t *len);


/*
 * A request as a command gives it: explain's options, a test case.  It is
 * read through the core's text accessor (strangler_text_accessor()).
 */

typedef struct {
    const char               *method;
    const char               *uri;        /* the path and the query */
    strangler_header_t       *headers;    /* in order, Cookie ones too */
    size_t                    nheaders;
    strangler_header_t       *cookies;    /* sent as one Cookie header */
    size_t                    ncookies;
    const char               *address;    /* NULL: none */
    const char               *force;      /* the force header's value */
    strangler_str_t           sticky_key; /* data NULL: from the request */
    uint32_t                  random;     /* a split without a key */
} strangler_cli_request_t;


/* what the table does with it */
typedef struct {
    char                     *path;       /* normalised, malloc'd */
    size_t                    len;
    strangler_header_t       *headers;    /* what the accessor reads */
    char                     *cookie;     /* the Cookie header built */
    strangler_match_t         match;
    strangler_request_t       req;
    strangler_decision_t      decision;
    strangler_decision_t      shadow;     /* the same, when sampled */
} strangler_cli_result_t;


/* NULL, or what is wrong with the method or the path */
const char *strangler_cli_request_check(const strangler_cli_request_t *cr);

/* 0, or -1 and *err (a bad path) */
int strangler_cli_decide(const strangler_table_t *table,
    const strangler_cli_request_t *cr, strangler_cli_result_t *res,
    const char **err);
void strangler_cli_result_free(strangler_cli_result_t *res);

/* the decision for another method and force value on the same path */
void strangler_cli_redecide(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_method_t method,
    const char *force, strangler_cli_result_t *out);


/*
 * The table of patterns: a table with one route per pattern of another
 * (same methods, same order), so that the core's own matching says which
 * pattern serves a request.
 */

typedef struct {
    const strangler_route_t  *route;      /* of the table it was built from */
    size_t                    path;       /* index in route->paths */
} strangler_cli_pattern_t;


typedef struct {
    strangler_table_t        *table;
    strangler_cli_pattern_t  *patterns;
    size_t                    npatterns;
} strangler_cli_patterns_t;


int strangler_cli_patterns_build(const strangler_table_t *table,
    strangler_cli_patterns_t *pt);
/* the pattern that serves the request, or -1 */
long strangler_cli_patterns_match(const strangler_cli_patterns_t *pt,
    strangler_method_t method, const char *path, size_t len);
void strangler_cli_patterns_free(strangler_cli_patterns_t *pt);

#define strangler_cli_pattern_text(p)                                         \
    (&(p)->route->paths.items[(p)->path])


/* example paths of a pattern, for probing: up to max, each terminated */
#define STRANGLER_CLI_EXAMPLES     6
#define STRANGLER_CLI_EXAMPLE_LEN  512

size_t strangler_cli_examples(const strangler_str_t *pattern,
    char out[][STRANGLER_CLI_EXAMPLE_LEN], size_t max);


/* test cases (strangler_cli_cases.c) */

typedef enum {
    STRANGLER_CLI_EXPECT_ROUTE = 0,
    STRANGLER_CLI_EXPECT_RULE,
    STRANGLER_CLI_EXPECT_BACKEND,
    STRANGLER_CLI_EXPECT_REASON,
    STRANGLER_CLI_EXPECT_SHADOW,
    STRANGLER_CLI_EXPECT_OWNER,
    STRANGLER_CLI_EXPECT_COUNT
} strangler_cli_expect_t;


typedef struct {
    unsigned                  line;
    strangler_str_t           name;       /* data NULL: none given */
    strangler_cli_request_t   request;
    uint32_t                  expects;    /* 1 << strangler_cli_expect_t */
    strangler_str_t           want[STRANGLER_CLI_EXPECT_COUNT];
                                          /* data NULL: null, "none" */
} strangler_cli_case_t;


typedef struct {
    const char               *file;
    char                     *buf;
    strangler_yaml_t          y;          /* the strings point into it */
    strangler_errors_t        errs;
    const strangler_table_t  *table;      /* names are checked against it */
    strangler_cli_case_t     *cases;
    size_t                    ncases;
} strangler_cli_cases_t;


/* 0, or -1 with the errors in cs->errs (or said, for an unreadable file) */
int strangler_cli_cases_load(const char *file,
    const strangler_table_t *table, strangler_cli_cases_t *cs);
void strangler_cli_cases_free(strangler_cli_cases_t *cs);
const char *strangler_cli_expect_name(strangler_cli_expect_t e);


/* coverage of a table by test cases (strangler_cli_coverage.c) */

typedef struct {
    const strangler_table_t         *table;
    const strangler_cli_patterns_t  *patterns;
    unsigned char                   *route_hit;
    unsigned char                   *pattern_hit;
    size_t                           routes_hit;
    size_t                           patterns_hit;
} strangler_cli_coverage_t;


int strangler_cli_coverage_init(strangler_cli_coverage_t *cov,
    const strangler_table_t *table, const strangler_cli_patterns_t *pt);
void strangler_cli_coverage_add(strangler_cli_coverage_t *cov,
    const strangler_cli_result_t *res);
double strangler_cli_coverage_routes(const strangler_cli_coverage_t *cov);
double strangler_cli_coverage_paths(const strangler_cli_coverage_t *cov);
void strangler_cli_coverage_free(strangler_cli_coverage_t *cov);


/* what `strangler test` prints (strangler_cli_test_output.c) */

#define STRANGLER_CLI_MAX_FAILURES  8
#define STRANGLER_CLI_FAILURE_LEN   256

typedef struct {
    size_t                    n;
    char                      text[STRANGLER_CLI_MAX_FAILURES]
                                  [STRANGLER_CLI_FAILURE_LEN];
} strangler_cli_failures_t;


typedef struct {
    unsigned                  tap:1;
    size_t                    tests;      /* TAP test points so far */
    size_t                    passed;
    size_t                    failed;
} strangler_cli_report_t;


void strangler_cli_failure(strangler_cli_failures_t *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void strangler_cli_report_case(strangler_cli_report_t *rep,
    const strangler_cli_cases_t *cs, const strangler_cli_case_t *c,
    const strangler_cli_failures_t *f);
/* 1 when a coverage figure is under fail_under (negative: none) */
int strangler_cli_report_end(strangler_cli_report_t *rep,
    const char *table, const strangler_cli_coverage_t *cov,
    double fail_under);


/* a route's targets in words (strangler_cli_format.c) */

#define STRANGLER_CLI_DESC_LEN  512

const char *strangler_cli_backend_name(const strangler_table_t *table,
    int b);
void strangler_cli_percent(uint32_t ppm, char *buf, size_t size);
void strangler_cli_describe_reads(const strangler_table_t *table,
    const strangler_route_t *route, char *buf, size_t size);
void strangler_cli_describe_shadow(const strangler_table_t *table,
    const strangler_route_t *route, int writes, char *buf, size_t size);
void strangler_cli_describe_route(const strangler_table_t *table,
    const strangler_route_t *route, uint32_t methods, char *buf,
    size_t size);


/* the methods of a class: reads, writes (1), every known one (-1) */
uint32_t strangler_cli_class_methods(int writes);


#endif /* STRANGLER_CLI_H_INCLUDED_ */
