
/*
 * Copyright (C) ngx_strangler_module authors
 *
 *   strangler fleet [--json] [--timeout SECONDS] URL
 *
 * Every host of the fleet, as one host's API reads it from etcd (`GET
 * fleet`; URL: the API's location, such as http://10.0.0.1/_strangler/):
 * its state (alive, or silent: its lease expired), whether it applied
 * the newest override revision (synced or behind), that revision, its last
 * heartbeat, its API (--json: all of it, versions too).  Like
 * `istioctl proxy-status`.
 * Exit status: 0 every host alive and synced, 1 one is not, 2 trouble
 * (usage, no answer, not a fleet).  Reading the fleet is shared with
 * `strangler plan --fleet` (strangler_cli_fleet_get()).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "strangler_cli.h"


#define STRANGLER_CLI_FLEET_TIMEOUT  10
#define STRANGLER_CLI_FLEET_MAX      (16 * 1024 * 1024)


typedef struct {
    char                       *data;
    size_t                      len;
} strangler_cli_fleet_buf_t;


static int strangler_cli_fleet_usage(const char *why);
static size_t strangler_cli_fleet_write(char *ptr, size_t size, size_t n,
    void *data);
static const char *strangler_cli_fleet_str(json_t *host, const char *key);


int
strangler_cli_fleet(int argc, char **argv)
{
    int          i, rc, as_json;
    char        *end, hb[32], rev[32];
    long         timeout;
    size_t       k;
    json_t      *j, *hosts, *host;
    const char  *base;

    as_json = 0;
    timeout = STRANGLER_CLI_FLEET_TIMEOUT;
    base = NULL;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return strangler_cli_fleet_usage(NULL);

        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;

        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout = strtol(argv[++i], &end, 10);

            if (*end != '\0' || timeout <= 0) {
                return strangler_cli_fleet_usage("--timeout takes seconds "
                                                 "> 0");
            }

        } else if (argv[i][0] == '-' || base) {
            fprintf(stderr, "strangler fleet: unexpected \"%s\"\n", argv[i]);
            return strangler_cli_fleet_usage("");

        } else {
            base = argv[i];
        }
    }

    if (base == NULL) {
        return strangler_cli_fleet_usage("one API URL is needed");
    }

    j = strangler_cli_fleet_get("strangler fleet", base, timeout);

    if (j == NULL) {
        return 2;
    }

    hosts = json_object_get(j, "hosts");
    rc = 0;

    json_array_foreach(hosts, k, host) {
        if (strcmp(strangler_cli_fleet_str(host, "state"), "alive") != 0
            || strcmp(strangler_cli_fleet_str(host, "sync"), "synced") != 0)
        {
            rc = 1;
        }
    }

    if (as_json) {
        json_dumpf(j, stdout, JSON_INDENT(2));
        printf("\n");
        goto done;
    }

    /* versions and the rest: --json */
    printf("%-12s %-7s %-7s %-8s %-10s %s\n", "NAME", "STATE", "SYNC",
           "REVISION", "HEARTBEAT", "API");

    json_array_foreach(hosts, k, host) {
        if (json_is_integer(json_object_get(host, "heartbeat_ago"))) {
            snprintf(hb, sizeof(hb), "%llds ago", (long long)
                     json_integer_value(json_object_get(host,
                                                        "heartbeat_ago")));
        } else {
            snprintf(hb, sizeof(hb), "-");
        }

        if (json_is_integer(json_object_get(host, "revision"))) {
            snprintf(rev, sizeof(rev), "%lld", (long long)
                     json_integer_value(json_object_get(host, "revision")));
        } else {
            snprintf(rev, sizeof(rev), "-");
        }

        printf("%-12s %-7s %-7s %-8s %-10s %s\n",
               strangler_cli_fleet_str(host, "name"),
               strangler_cli_fleet_str(host, "state"),
               strangler_cli_fleet_str(host, "sync"), rev, hb,
               strangler_cli_fleet_str(host, "api"));
    }

    printf("newest override revision %lld, etcd at %lld, read through %s\n",
           (long long) json_integer_value(json_object_get(j,
                                                          "newest_override")),
           (long long) json_integer_value(json_object_get(j, "revision")),
           strangler_cli_fleet_str(j, "this"));

done:

    json_decref(j);

    return rc;
}


/*
 * GET fleet of the API at base (its location, or its fleet call): the
 * reply, with a "hosts" list, or NULL, said on stderr after who
 */

json_t *
strangler_cli_fleet_get(const char *who, const char *base, long timeout)
{
    char                       *url;
    long                        status;
    size_t                      len;
    json_t                     *j;
    CURL                       *curl;
    CURLcode                    cc;
    json_error_t                err;
    strangler_cli_fleet_buf_t   body;

    len = strlen(base);
    url = malloc(len + sizeof("/fleet"));
    curl = curl_easy_init();

    if (url == NULL || curl == NULL) {
        fprintf(stderr, "%s: out of memory\n", who);
        free(url);
        curl_easy_cleanup(curl);
        return NULL;
    }

    /* the API's location, or its fleet call */
    if (len >= 6 && strcmp(base + len - 6, "/fleet") == 0) {
        strcpy(url, base);

    } else {
        sprintf(url, "%s%sfleet", base,
                (len && base[len - 1] == '/') ? "" : "/");
    }

    memset(&body, 0, sizeof(strangler_cli_fleet_buf_t));

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, strangler_cli_fleet_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "strangler-fleet");

    cc = curl_easy_perform(curl);
    status = 0;
    j = NULL;

    if (cc != CURLE_OK) {
        fprintf(stderr, "%s: %s: %s\n", who, url, curl_easy_strerror(cc));
        goto failed;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    j = json_loadb(body.data ? body.data : "", body.len, 0, &err);

    if (status != 200) {
        fprintf(stderr, "%s: %s: HTTP status %ld%s%s\n", who, url, status,
                json_is_string(json_object_get(j, "error")) ? ": " : "",
                json_is_string(json_object_get(j, "error"))
                ? json_string_value(json_object_get(j, "error")) : "");
        goto failed;
    }

    if (!json_is_array(json_object_get(j, "hosts"))) {
        fprintf(stderr, "%s: %s: not a fleet (%s)\n", who, url,
                j ? "no \"hosts\" list" : err.text);
        goto failed;
    }

    free(body.data);
    free(url);
    curl_easy_cleanup(curl);

    return j;

failed:

    json_decref(j);
    free(body.data);
    free(url);
    curl_easy_cleanup(curl);

    return NULL;
}


static const char *
strangler_cli_fleet_str(json_t *host, const char *key)
{
    const char  *s;

    s = json_string_value(json_object_get(host, key));

    return s ? s : "-";
}


static size_t
strangler_cli_fleet_write(char *ptr, size_t size, size_t n, void *data)
{
    char                       *p;
    strangler_cli_fleet_buf_t  *b;

    b = data;
    n *= size;

    if (b->len + n > STRANGLER_CLI_FLEET_MAX) {
        return 0;
    }

    p = realloc(b->data, b->len + n + 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p + b->len, ptr, n);
    b->data = p;
    b->len += n;
    b->data[b->len] = '\0';

    return n;
}


static int
strangler_cli_fleet_usage(const char *why)
{
    FILE  *f;

    f = why ? stderr : stdout;

    if (why && why[0]) {
        fprintf(f, "strangler fleet: %s\n", why);
    }

    fprintf(f,
        "usage: strangler fleet [--json] [--timeout SECONDS] URL\n"
        "\n"
        "Every host of the fleet, as a host's API (URL: its location, such\n"
        "as http://10.0.0.1/_strangler/) reads it from etcd: alive or\n"
        "silent, synced with the newest override revision or behind, its\n"
        "revision, last heartbeat, versions and API.\n"
        "exit status: 0 every host alive and synced, 1 one is not,\n"
        "2 no answer or usage error\n");

    return why ? 2 : 0;
}
