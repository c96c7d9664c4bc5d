
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler report`: the per-field summary of a diff log.
 */


#ifndef STRANGLER_REPORT_H_INCLUDED_
#define STRANGLER_REPORT_H_INCLUDED_


#include <jansson.h>


typedef struct {
    const char           *route;      /* NULL: every route */
    size_t                top;
    int                   json;
    json_t               *routes;     /* name -> {mismatched, fields} */
    size_t                lines;      /* diff log lines read */
    size_t                skipped;    /* lines that were not */
} strangler_report_t;


/* argv after "report"; returns the exit status */
int strangler_report(int argc, char **argv);

/* the same summary of diff log lines from elsewhere (`strangler replay`) */
void strangler_report_init(strangler_report_t *rp);
void strangler_report_line(strangler_report_t *rp, const char *file,
    size_t lineno, const char *line, size_t len);
json_t *strangler_report_build(strangler_report_t *rp);
void strangler_report_print(json_t *out);


#endif /* STRANGLER_REPORT_H_INCLUDED_ */
