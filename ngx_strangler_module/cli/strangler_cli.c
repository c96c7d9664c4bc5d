
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The `strangler` command, built from the same route-table code as the
 * module: the dispatcher.  Each command lives in its own file:
 *
 *   strangler check FILE...                       strangler_cli_check.c
 *   strangler explain FILE METHOD PATH [options]  strangler_cli_explain.c
 *   strangler test TABLE CASES... [options]       strangler_cli_test.c
 *   strangler diff OLD NEW [--json]               strangler_cli_diff.c
 *   strangler report [options] DIFF.jsonl...      strangler_report.c
 *   strangler plan [options] URL...               strangler_cli_plan.c
 *   strangler fleet [--json] URL                  strangler_cli_fleet.c
 *   strangler replay FILE... --table T --to URL   strangler_cli_replay*.c
 *
 * Exit status, as diff(1): 0 all is well, 1 a finding (an invalid table,
 * a failed case, a difference), 2 trouble (usage, an unreadable file).
 */


#include <string.h>

#include "strangler_cli.h"
#include "strangler_report.h"
#include "strangler_cli_replay.h"


typedef struct {
    const char               *name;
    int                     (*run)(int argc, char **argv);
} strangler_cli_command_t;


static const strangler_cli_command_t  strangler_cli_commands[] = {
    { "check",   strangler_cli_check },
    { "explain", strangler_cli_explain },
    { "test",    strangler_cli_test },
    { "diff",    strangler_cli_diff },
    { "report",  strangler_report },
    { "plan",    strangler_cli_plan },
    { "fleet",   strangler_cli_fleet },
    { "replay",  strangler_cli_replay },
};


static void strangler_cli_usage(FILE *f);


int
main(int argc, char **argv)
{
    size_t  i;

    if (argc < 2) {
        strangler_cli_usage(stderr);
        return STRANGLER_EXIT_TROUBLE;
    }

    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "help") == 0)
    {
        strangler_cli_usage(stdout);
        return STRANGLER_EXIT_OK;
    }

    if (strcmp(argv[1], "--version") == 0
        || strcmp(argv[1], "version") == 0)
    {
        printf("strangler %s (route table version 1)\n", STRANGLER_VERSION);
        return STRANGLER_EXIT_OK;
    }

    for (i = 0; i < sizeof(strangler_cli_commands)
                    / sizeof(strangler_cli_commands[0]); i++)
    {
        if (strcmp(argv[1], strangler_cli_commands[i].name) == 0) {
            return strangler_cli_commands[i].run(argc - 2, argv + 2);
        }
    }

    fprintf(stderr, "strangler: unknown command \"%s\"\n", argv[1]);
    strangler_cli_usage(stderr);

    return STRANGLER_EXIT_TROUBLE;
}


int
strangler_cli_wants_help(int argc, char **argv)
{
    int  i;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return 1;
        }
    }

    return 0;
}


static void
strangler_cli_usage(FILE *f)
{
    fprintf(f,
        "usage: strangler check FILE...\n"
        "       strangler explain FILE METHOD PATH [--header NAME:VALUE]...\n"
        "                 [--cookie NAME=VALUE]... [--ip ADDR] "
        "[--force BACKEND]\n"
        "       strangler test TABLE CASES... [--tap] "
        "[--fail-under PERCENT]\n"
        "       strangler diff OLD NEW [--json]\n"
        "       strangler report [--route NAME] [--json] [--top N] "
        "DIFF.jsonl...\n"
        "       strangler plan [--json] [--route NAME] URL... | --fleet URL\n"
        "       strangler fleet [--json] URL\n"
        "       strangler replay FILE... --table routes.yaml --to URL "
        "[options]\n"
        "       strangler --version\n"
        "\n"
        "check    validates route tables\n"
        "explain  prints what would serve a request\n"
        "test     runs test cases against a table, with coverage\n"
        "diff     what a change of the table does to traffic\n"
        "report   sums diff logs up per route and field\n"
        "plan     which route to move next, from hosts' evidence\n"
        "fleet    every host of the fleet: alive, synced, heartbeat\n"
        "replay   sends captured requests to a new service, compares\n"
        "\n"
        "\"strangler COMMAND --help\" tells more.  FILE \"-\" is standard "
        "input.\n"
        "exit status: 0 ok, 1 invalid table, failed case or difference,\n"
        "2 unreadable file or usage error\n");
}
