
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Comparing a response with its shadow as a route's `shadow` block says:
 * the status, the listed headers, and the body byte for byte or as JSON
 * (the streaming comparer, strangler_json_cmp.c).  Bodies over the bound
 * are compared by length and SHA-256.
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "strangler_core.h"
#include "strangler_compare.h"


#define STRANGLER_BODY_CONTEXT  16      /* bytes shown before a difference */

/* an empty body may have no buffer, but its value is "", not absent */
#define strangler_body_text(b)  ((b)->data ? (char *) (b)->data : "")


static void strangler_compare_headers(const strangler_shadow_t *conf,
    const strangler_response_t *primary, const strangler_response_t *shadow,
    strangler_diffs_t *diffs);
static int strangler_header_ignored(const strangler_shadow_t *conf,
    const strangler_str_t *name);
static void strangler_compare_hashes(const strangler_body_t *primary,
    const strangler_body_t *shadow, strangler_diffs_t *diffs);
static size_t strangler_body_summary(const strangler_body_t *body,
    char *buf, size_t size);
static strangler_jcmp_t *strangler_compare_json(
    const strangler_shadow_t *conf, const strangler_body_t *primary,
    const strangler_body_t *shadow, strangler_diffs_t *diffs);


size_t
strangler_compare(const strangler_shadow_t *conf,
    const strangler_response_t *primary, const strangler_response_t *shadow,
    strangler_diffs_t *diffs)
{
    strangler_jcmp_t  *jc;

    (void) strangler_compare_start(conf, primary, shadow, diffs, &jc);

    if (jc) {
        (void) strangler_jcmp_run(jc, (size_t) -1);
        strangler_jcmp_destroy(jc);
    }

    return diffs->count;
}


size_t
strangler_compare_start(const strangler_shadow_t *conf,
    const strangler_response_t *primary, const strangler_response_t *shadow,
    strangler_diffs_t *diffs, strangler_jcmp_t **jc)
{
    char  pv[16], sv[16];

    diffs->count = 0;
    *jc = NULL;

    if (conf->compare == STRANGLER_COMPARE_OFF) {
        return 0;
    }

    if (primary->status != shadow->status) {
        strangler_diff_add(diffs, "status",
                           pv, (size_t) snprintf(pv, sizeof(pv), "%d",
                                                 primary->status),
                           sv, (size_t) snprintf(sv, sizeof(sv), "%d",
                                                 shadow->status));
    }

    strangler_compare_headers(conf, primary, shadow, diffs);

    switch (conf->compare) {

    case STRANGLER_COMPARE_BODY:
        strangler_compare_bytes(primary->body, shadow->body, diffs);
        break;

    case STRANGLER_COMPARE_JSON:
        *jc = strangler_compare_json(conf, primary->body, shadow->body,
                                     diffs);
        break;

    default:
        break;
    }

    return diffs->count;
}


static void
strangler_compare_headers(const strangler_shadow_t *conf,
    const strangler_response_t *primary, const strangler_response_t *shadow,
    strangler_diffs_t *diffs)
{
    char                   path[STRANGLER_DIFF_PATH_LEN];
    size_t                 i;
    const strangler_str_t  *name, *p, *s;

    for (i = 0; i < conf->headers.n; i++) {
        name = &conf->headers.items[i];

        if (strangler_header_ignored(conf, name)) {
            continue;
        }

        p = &primary->headers[i];
        s = &shadow->headers[i];

        if ((p->data == NULL) == (s->data == NULL)
            && p->len == s->len
            && (p->len == 0 || memcmp(p->data, s->data, p->len) == 0))
        {
            continue;
        }

        snprintf(path, sizeof(path), "header:%.*s", (int) name->len,
                 name->data);

        strangler_diff_add(diffs, path, p->data, p->len, s->data, s->len);
    }
}


static int
strangler_header_ignored(const strangler_shadow_t *conf,
    const strangler_str_t *name)
{
    size_t                  i;
    const strangler_str_t  *ig;

    for (i = 0; i < conf->ignore.n; i++) {
        ig = &conf->ignore.items[i];

        if (ig->len == name->len + 7
            && strncasecmp(ig->data, "header:", 7) == 0
            && strncasecmp(ig->data + 7, name->data, name->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * As JSON: key order and whitespace do not matter, numbers compare by
 * exact value (1 == 1.0 == 1e0), strings after unescaping, and `ignore`
 * paths are skipped; not JSON on one side: as bytes.  The comparer is
 * returned to be run.
 */

static strangler_jcmp_t *
strangler_compare_json(const strangler_shadow_t *conf,
    const strangler_body_t *primary, const strangler_body_t *shadow,
    strangler_diffs_t *diffs)
{
    strangler_jcmp_t  *jc;

    /* over the bound only the digests are left */

    if (primary == NULL || shadow == NULL || primary->error || shadow->error
        || primary->sha || shadow->sha)
    {
        strangler_compare_bytes(primary, shadow, diffs);
        return NULL;
    }

    /* the same bytes are the same JSON, whatever is ignored or unordered */

    if (primary->len == shadow->len
        && (primary->len == 0
            || memcmp(primary->data, shadow->data, primary->len) == 0))
    {
        return NULL;
    }

    jc = strangler_jcmp_create(conf, diffs);

    if (jc == NULL) {
        strangler_compare_bytes(primary, shadow, diffs);
        return NULL;
    }

    strangler_jcmp_feed(jc, 0, primary->data, primary->len, 1);
    strangler_jcmp_feed(jc, 1, shadow->data, shadow->len, 1);

    return jc;
}


/*
 * Byte for byte: the values shown start a little before the first byte
 * that differs.
 */

void
strangler_compare_bytes(const strangler_body_t *primary,
    const strangler_body_t *shadow, strangler_diffs_t *diffs)
{
    char    pv[STRANGLER_DIFF_VALUE_LEN], sv[STRANGLER_DIFF_VALUE_LEN];
    size_t  i, n, from;

    if (primary == NULL || shadow == NULL
        || primary->error || shadow->error
        || primary->sha || shadow->sha)
    {
        strangler_compare_hashes(primary, shadow, diffs);
        return;
    }

    n = primary->len < shadow->len ? primary->len : shadow->len;

    for (i = 0; i < n && primary->data[i] == shadow->data[i]; i++) {
        /* void */
    }

    if (i == n && primary->len == shadow->len) {
        return;
    }

    if (i <= STRANGLER_BODY_CONTEXT) {
        strangler_diff_add(diffs, "body",
                           strangler_body_text(primary), primary->len,
                           strangler_body_text(shadow), shadow->len);
        return;
    }

    /* "..." then the context: the copy truncates the tail itself */

    from = i - STRANGLER_BODY_CONTEXT;

    memcpy(pv, "...", 3);
    n = primary->len - from < sizeof(pv) - 3 ? primary->len - from
                                             : sizeof(pv) - 3;
    memcpy(pv + 3, primary->data + from, n);

    memcpy(sv, "...", 3);
    i = shadow->len - from < sizeof(sv) - 3 ? shadow->len - from
                                            : sizeof(sv) - 3;
    memcpy(sv + 3, shadow->data + from, i);

    strangler_diff_add(diffs, "body", pv, n + 3, sv, i + 3);
}


/* bodies over the bound, or not captured whole: length and digest */

static void
strangler_compare_hashes(const strangler_body_t *primary,
    const strangler_body_t *shadow, strangler_diffs_t *diffs)
{
    char  pv[STRANGLER_DIFF_VALUE_LEN], sv[STRANGLER_DIFF_VALUE_LEN];

    if (primary && shadow
        && primary->error == NULL && shadow->error == NULL
        && primary->sha && shadow->sha
        && primary->total == shadow->total
        && strcmp(primary->digest, shadow->digest) == 0)
    {
        return;
    }

    strangler_diff_add(diffs, "body",
                       pv, strangler_body_summary(primary, pv, sizeof(pv)),
                       sv, strangler_body_summary(shadow, sv, sizeof(sv)));
}


static size_t
strangler_body_summary(const strangler_body_t *body, char *buf, size_t size)
{
    int   n;
    char  hex[65];

    if (body == NULL || body->error) {
        n = snprintf(buf, size, "(not compared: %s)",
                     body ? body->error : "not captured");

    } else {
        if (body->sha == NULL) {
            strangler_sha256_hex(strangler_body_text(body), body->len, hex);

        } else {
            memcpy(hex, body->digest, sizeof(hex));
        }

        n = snprintf(buf, size, "(%llu bytes, sha256:%.16s...)",
                     (unsigned long long) body->total, hex);
    }

    return (size_t) n < size ? (size_t) n : size - 1;
}
