
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * `strangler check FILE...`: validates route tables ("-" reads one from
 * standard input).  Exit status: 0 every table valid, 1 an invalid table,
 * 2 a file that cannot be read or a usage error.
 */


#include <string.h>

#include "strangler_cli.h"


static void strangler_cli_check_usage(FILE *f);


static void
strangler_cli_check_usage(FILE *f)
{
    fprintf(f,
        "usage: strangler check FILE...\n"
        "\n"
        "Validates route tables with the code nginx loads them with; \"-\"\n"
        "reads one from standard input.  The errors go to stderr in line\n"
        "order, \"FILE: ok, ...\" for each valid table to stdout.\n"
        "\n"
        "exit status: 0 valid, 1 invalid table, 2 unreadable file or "
        "usage error\n");
}


int
strangler_cli_check(int argc, char **argv)
{
    int                 i, rc, one;
    strangler_table_t  *table;

    if (strangler_cli_wants_help(argc, argv)) {
        strangler_cli_check_usage(stdout);
        return STRANGLER_EXIT_OK;
    }

    if (argc == 0) {
        fprintf(stderr, "strangler check: no FILE\n");
        strangler_cli_check_usage(stderr);
        return STRANGLER_EXIT_TROUBLE;
    }

    for (i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "strangler check: unknown option \"%s\"\n",
                    argv[i]);
            return STRANGLER_EXIT_TROUBLE;
        }
    }

    rc = STRANGLER_EXIT_OK;

    for (i = 0; i < argc; i++) {
        table = strangler_cli_table_load(argv[i], &one);

        if (table == NULL) {
            rc = one > rc ? one : rc;
            continue;
        }

        printf("%s: ok, %zu routes, %zu backends, sha256 %s\n",
               strcmp(argv[i], "-") == 0 ? "<stdin>" : argv[i],
               table->nroutes, table->nbackends, table->sha256);

        strangler_table_free(table);
    }

    return rc;
}
