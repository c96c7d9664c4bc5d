
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The regexes of the path index ("~ re", "~* re"), compiled with PCRE2 and
 * JIT-compiled when the index is finished.
 *
 * Not every regex is tried on every request.  A regex is placed on the trie
 * node of the complete segments of its literal prefix, the text every match
 * must start with: "^/api/users/[0-9]+/inbox$" goes on /api/users.  When
 * that prefix cannot be trusted (no leading "^", an alternation or a "(?"
 * anywhere, or case-insensitive), it goes on the root, where it is tried
 * for every path.  A lookup walks the literal children of the trie along
 * the request path, only as far as regexes are placed, and tries the
 * regexes of each node it passes; each node's list is in file order, so a
 * list is left as soon as its entries come after the best match so far,
 * and the earliest matching regex in the file wins.  One match data block,
 * made when the index is finished, serves every lookup.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strangler_index.h"


#define STRANGLER_REGEXES_MIN  16


static int strangler_regex_meta(char c);
static strangler_node_t *strangler_regex_node(strangler_index_t *index,
    const char *re, size_t len);
static int strangler_method_allows(const strangler_route_t *route,
    strangler_method_t method);
static int strangler_regex_is_limit(int rc);


strangler_add_rc_t
strangler_regex_add(strangler_index_t *index,
    const strangler_route_t *route, const char *pattern, size_t len,
    char *err, size_t err_len, size_t *err_offset)
{
    int                 errcode;
    uint32_t            n, cap, options;
    PCRE2_SIZE          erroffset;
    const char         *re, *end;
    pcre2_code         *code;
    strangler_node_t   *node;
    strangler_regex_t  *rx;

    end = pattern + len;
    re = pattern + 1;
    options = 0;

    if (re < end && *re == '*') {
        options = PCRE2_CASELESS;
        re++;
    }

    while (re < end && (*re == ' ' || *re == '\t')) {
        re++;
    }

    if (re == end) {
        strangler_index_err(err, err_len, err_offset, re - pattern,
                            "empty regex");
        return STRANGLER_ADD_BAD_PATTERN;
    }

    code = pcre2_compile((PCRE2_SPTR) re, end - re, options, &errcode,
                         &erroffset, NULL);

    if (code == NULL) {
        if (err != NULL && err_len > 0) {
            if (pcre2_get_error_message(errcode, (PCRE2_UCHAR *) err,
                                        err_len)
                == PCRE2_ERROR_BADDATA)
            {
                snprintf(err, err_len, "bad regex");
            }
        }

        if (err_offset != NULL) {
            *err_offset = (re - pattern) + erroffset;
        }

        return STRANGLER_ADD_BAD_PATTERN;
    }

    if (index->nregexes == index->regexes_cap) {
        cap = index->regexes_cap ? index->regexes_cap * 2
                                 : STRANGLER_REGEXES_MIN;

        rx = NULL;

        if (cap > index->regexes_cap && cap < STRANGLER_RX_NONE) {
            rx = realloc(index->regexes, cap * sizeof(strangler_regex_t));
        }

        if (rx == NULL) {
            pcre2_code_free(code);
            strangler_index_err(err, err_len, err_offset, 0,
                                "out of memory");
            return STRANGLER_ADD_BAD_PATTERN;
        }

        index->regexes = rx;
        index->regexes_cap = cap;
    }

    node = (options & PCRE2_CASELESS)
           ? index->root : strangler_regex_node(index, re, end - re);

    if (node == NULL) {
        pcre2_code_free(code);
        strangler_index_err(err, err_len, err_offset, 0, "out of memory");
        return STRANGLER_ADD_BAD_PATTERN;
    }

    n = index->nregexes++;

    rx = &index->regexes[n];
    rx->code = code;
    rx->route = route;
    rx->next = STRANGLER_RX_NONE;

    if (node->rx_first == STRANGLER_RX_NONE) {
        node->rx_first = n;

    } else {
        index->regexes[node->rx_last].next = n;
    }

    node->rx_last = n;

    for ( /* void */ ; node && !node->rx_below; node = node->parent) {
        node->rx_below = 1;
    }

    return STRANGLER_ADD_OK;
}


int
strangler_regex_finish(strangler_index_t *index, char *err, size_t err_len)
{
    uint32_t  i;

    if (index->nregexes == 0 || index->match_data != NULL) {
        return 0;
    }

    for (i = 0; i < index->nregexes; i++) {
        /* without JIT support pcre2_match() falls back to the interpreter */
        (void) pcre2_jit_compile(index->regexes[i].code, PCRE2_JIT_COMPLETE);
    }

    index->match_data = pcre2_match_data_create(1, NULL);
    index->match_context = pcre2_match_context_create(NULL);

    if (index->match_data == NULL || index->match_context == NULL) {
        strangler_index_err(err, err_len, NULL, 0, "out of memory");
        return -1;
    }

    pcre2_set_match_limit(index->match_context, STRANGLER_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(index->match_context, STRANGLER_REGEX_DEPTH_LIMIT);

    return 0;
}


int
strangler_regex_match(const strangler_index_t *index,
    strangler_method_t method, const char *path, size_t len,
    strangler_match_t *match)
{
    int                 rc;
    size_t              pos, n;
    uint32_t            i, best;
    const char         *seg, *p;
    strangler_node_t   *node;
    strangler_regex_t  *rx;

    best = STRANGLER_RX_NONE;
    node = index->root;
    pos = 0;

    for ( ;; ) {

        /* the lists are in file order: later entries cannot win */

        for (i = node->rx_first; i < best; i = rx->next) {
            rx = &index->regexes[i];

            if (!strangler_method_allows(rx->route, method)) {
                continue;
            }

            rc = pcre2_match(rx->code, (PCRE2_SPTR) path, len, 0, 0,
                             index->match_data, index->match_context);

            if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
                rc = pcre2_match(rx->code, (PCRE2_SPTR) path, len, 0,
                                 PCRE2_NO_JIT, index->match_data,
                                 index->match_context);
            }

            if (rc >= 0) {
                best = i;
                break;
            }

            if (strangler_regex_is_limit(rc) && match->limited == NULL) {
                match->limited = rx->route;
            }
        }

        if (pos >= len || path[pos] != '/') {
            break;
        }

        seg = path + pos + 1;
        p = memchr(seg, '/', len - pos - 1);
        n = (p ? (size_t) (p - seg) : len - pos - 1);

        node = strangler_edge_find(index, node, seg, n);

        if (node == NULL || !node->rx_below) {
            break;
        }

        pos += 1 + n;
    }

    if (best == STRANGLER_RX_NONE) {
        return 0;
    }

    match->route = index->regexes[best].route;
    match->rule = STRANGLER_RULE_REGEX;

    return 1;
}



void
strangler_regex_free(strangler_index_t *index)
{
    uint32_t  i;

    for (i = 0; i < index->nregexes; i++) {
        pcre2_code_free(index->regexes[i].code);
    }

    pcre2_match_data_free(index->match_data);
    pcre2_match_context_free(index->match_context);
    free(index->regexes);

    index->match_data = NULL;
    index->match_context = NULL;
    index->regexes = NULL;
    index->nregexes = 0;
    index->regexes_cap = 0;
}


static int
strangler_regex_meta(char c)
{
    switch (c) {
    case '\\': case '^': case '$': case '.': case '[': case ']':
    case '|': case '(': case ')': case '?': case '*': case '+':
    case '{': case '}': case '\0':
        return 1;

    default:
        return 0;
    }
}


/*
 * The node a regex is placed on: the complete segments of its literal
 * prefix, when it has one that every match must start with; else the root,
 * where it is tried for every path.  A regex that is not anchored with "^",
 * has an alternation or an option setting "(?" anywhere goes on the root.
 */

static strangler_node_t *
strangler_regex_node(strangler_index_t *index, const char *re, size_t len)
{
    size_t             i, lit;
    const char        *p, *seg, *end;
    strangler_node_t  *node;

    node = index->root;

    if (len < 2 || re[0] != '^' || re[1] != '/'
        || memchr(re, '|', len) != NULL)
    {
        return node;
    }

    for (i = 0; i + 1 < len; i++) {
        if (re[i] == '(' && re[i + 1] == '?') {
            return node;
        }
    }

    for (i = 1; i < len && !strangler_regex_meta(re[i]); i++) {
        /* void */
    }

    lit = i;

    /* a quantifier applies to the last literal character */

    if (i < len && (re[i] == '*' || re[i] == '?' || re[i] == '+'
                    || re[i] == '{'))
    {
        lit--;
    }

    seg = re + 2;
    end = re + lit;

    while (seg < end) {
        p = memchr(seg, '/', end - seg);
        if (p == NULL) {
            break;
        }

        node = strangler_node_literal(index, node, seg, p - seg);
        if (node == NULL) {
            return NULL;
        }

        seg = p + 1;
    }

    return node;
}


/* a limit of the match context, or the JIT's stack and heap */

static int
strangler_regex_is_limit(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT
           || rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT
           || rc == PCRE2_ERROR_NOMEMORY;
}


static int
strangler_method_allows(const strangler_route_t *route,
    strangler_method_t method)
{
    return route->methods == 0
           || (method < STRANGLER_M_OTHER
               && (route->methods & (1u << method)));
}
