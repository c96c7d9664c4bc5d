
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler report`: the per-field summary of a diff log.
 */


#ifndef STRANGLER_REPORT_H_INCLUDED_
#define STRANGLER_REPORT_H_INCLUDED_


/* argv after "report"; returns the exit status */
int strangler_report(int argc, char **argv);


#endif /* STRANGLER_REPORT_H_INCLUDED_ */
