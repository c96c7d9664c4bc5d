
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * The routing decision: the owner rule, the force header, overrides,
 * weighted splits (random and sticky), shadow targets and sampling, and
 * the shared helpers (method, reason and rule names, the sticky hash).
 */


#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "strangler_core.h"
#include "unit.h"


#define MONOLITH  0
#define MESSAGES  1
#define BILLING   2

#define PPM(pct)  ((pct) * (STRANGLER_SAMPLE_SCALE / 100))


static strangler_backend_t  backends[] = {
    { { "monolith", 8 }, { "@monolith", 9 }, 0, 0 },
    { { "messages", 8 }, { "@messages", 9 }, 0, 0 },
    { { "billing", 7 }, { "@billing", 8 }, 0, 0 },
};


static strangler_table_t  table;


/*
 * The loader's strangler_backend_find, for a test that does not link the
 * loader.  Weak, so the loader's wins if it is linked.
 */

__attribute__((weak)) int
strangler_backend_find(const strangler_table_t *t, const char *name,
    size_t len)
{
    size_t  i;

    for (i = 0; i < t->nbackends; i++) {
        if (t->backends[i].name.len == len
            && memcmp(t->backends[i].name.data, name, len) == 0)
        {
            return (int) i;
        }
    }

    return STRANGLER_NONE;
}


static void
route_init(strangler_route_t *r, int owner, strangler_weight_t *reads,
    size_t nreads)
{
    size_t  i;

    memset(r, 0, sizeof(strangler_route_t));

    r->name.data = "conversations";
    r->name.len = 13;
    r->owner = owner;
    r->reads = reads;
    r->nreads = nreads;
    r->shadow.to = STRANGLER_NONE;

    for (i = 0; i < nreads; i++) {
        r->total_weight += reads[i].weight;
    }
}


static void
req_init(strangler_request_t *req, strangler_method_t m)
{
    memset(req, 0, sizeof(strangler_request_t));
    req->method = m;
}


static void
decide(const strangler_route_t *r, strangler_rule_t rule,
    const strangler_request_t *req, strangler_decision_t *d)
{
    strangler_match_t  match;

    match.route = r;
    match.rule = r ? rule : STRANGLER_RULE_DEFAULT;

    strangler_decide(&table, &match, req, d);
}


static void
test_default(void)
{
    strangler_request_t   req;
    strangler_decision_t  d;

    req_init(&req, STRANGLER_M_GET);
    req.force.data = "messages";
    req.force.len = 8;

    decide(NULL, STRANGLER_RULE_DEFAULT, &req, &d);

    /* the force header pins reads off the table too: canaries see one side */
    UNIT_CHECK(d.route == NULL && d.backend == MESSAGES
               && d.reason == STRANGLER_REASON_FORCE
               && d.shadow_to == STRANGLER_NONE && !d.write,
               "forced default read: backend %d reason %d", d.backend,
               d.reason);

    req_init(&req, STRANGLER_M_GET);
    decide(NULL, STRANGLER_RULE_DEFAULT, &req, &d);

    UNIT_CHECK(d.route == NULL && d.backend == MONOLITH
               && d.reason == STRANGLER_REASON_DEFAULT
               && d.shadow_to == STRANGLER_NONE && !d.write,
               "default read: backend %d reason %d", d.backend, d.reason);

    req_init(&req, STRANGLER_M_DELETE);
    req.force.data = "messages";
    req.force.len = 8;
    decide(NULL, STRANGLER_RULE_DEFAULT, &req, &d);

    UNIT_CHECK(d.backend == MONOLITH && d.write && d.force_ignored
               && d.reason == STRANGLER_REASON_DEFAULT, "default write");
}


static void
test_owner(void)
{
    strangler_route_t     r;
    strangler_request_t   req;
    strangler_decision_t  d;
    strangler_weight_t    reads[] = { { MESSAGES, 1 } };

    route_init(&r, MONOLITH, reads, 1);

    req_init(&req, STRANGLER_M_GET);
    decide(&r, STRANGLER_RULE_TEMPLATE, &req, &d);

    UNIT_CHECK(d.route == &r && d.backend == MESSAGES && !d.write
               && d.reason == STRANGLER_REASON_TEMPLATE
               && d.shadow_to == STRANGLER_NONE, "read goes to reads");

    req_init(&req, STRANGLER_M_HEAD);
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MESSAGES && !d.write, "HEAD is a read");

    req_init(&req, STRANGLER_M_OPTIONS);
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MESSAGES && !d.write, "OPTIONS is a read");

    req_init(&req, STRANGLER_M_POST);
    decide(&r, STRANGLER_RULE_REGEX, &req, &d);

    UNIT_CHECK(d.backend == MONOLITH && d.write
               && d.reason == STRANGLER_REASON_REGEX, "write goes to owner");

    req_init(&req, STRANGLER_M_OTHER);
    decide(&r, STRANGLER_RULE_PREFIX, &req, &d);

    UNIT_CHECK(d.backend == MONOLITH && d.write
               && d.reason == STRANGLER_REASON_PREFIX,
               "an unknown method is a write");
}


static void
test_force(void)
{
    strangler_route_t      r;
    strangler_request_t    req;
    strangler_decision_t   d;
    strangler_override_t   ov = { MONOLITH, STRANGLER_NONE, -1 };
    strangler_weight_t     reads[] = { { MESSAGES, 1 } };

    route_init(&r, MONOLITH, reads, 1);

    req_init(&req, STRANGLER_M_GET);
    req.force.data = "billing";
    req.force.len = 7;

    decide(&r, STRANGLER_RULE_EXACT, &req, &d);

    UNIT_CHECK(d.backend == BILLING && d.reason == STRANGLER_REASON_FORCE
               && !d.force_ignored && !d.force_unknown, "forced read");

    /* force beats a read override too */
    req.override = &ov;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);

    UNIT_CHECK(d.backend == BILLING && d.reason == STRANGLER_REASON_FORCE,
               "force beats an override");

    req_init(&req, STRANGLER_M_PUT);
    req.force.data = "messages";
    req.force.len = 8;

    decide(&r, STRANGLER_RULE_EXACT, &req, &d);

    UNIT_CHECK(d.backend == MONOLITH && d.reason == STRANGLER_REASON_EXACT
               && d.force_ignored && !d.force_unknown,
               "a write ignores force");

    req_init(&req, STRANGLER_M_GET);
    req.force.data = "mesages";
    req.force.len = 7;

    decide(&r, STRANGLER_RULE_EXACT, &req, &d);

    UNIT_CHECK(d.backend == MESSAGES && d.reason == STRANGLER_REASON_EXACT
               && d.force_unknown && !d.force_ignored,
               "an unknown force is reported and ignored");

    /* a prefix of a name is not the name */
    req.force.data = "messagesX";
    req.force.len = 7;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.force_unknown, "length matters");
}


static void
test_override(void)
{
    strangler_route_t      r;
    strangler_request_t    req;
    strangler_decision_t   d;
    strangler_override_t   ov;
    strangler_weight_t     reads[] = { { MESSAGES, 1 } };

    route_init(&r, MONOLITH, reads, 1);

    ov.reads = STRANGLER_NONE;
    ov.owner = BILLING;
    ov.sample_ppm = -1;

    req_init(&req, STRANGLER_M_POST);
    req.override = &ov;

    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == BILLING && d.reason == STRANGLER_REASON_OVERRIDE,
               "owner override");

    req.method = STRANGLER_M_GET;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MESSAGES && d.reason == STRANGLER_REASON_EXACT,
               "an owner override leaves reads");

    /* an override to what the table says changes nothing */
    ov.owner = MONOLITH;
    req.method = STRANGLER_M_POST;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.reason == STRANGLER_REASON_EXACT,
               "owner override to the owner");

    /* rollback: reads and owner to the default */
    ov.owner = MONOLITH;
    ov.reads = MONOLITH;
    req.method = STRANGLER_M_GET;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.reason == STRANGLER_REASON_OVERRIDE,
               "reads override");

    req.method = STRANGLER_M_DELETE;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.reason == STRANGLER_REASON_EXACT
               && d.write, "a reads override never moves a write");
}


static void
test_split(void)
{
    char                   key[32];
    size_t                 i, n, hits[3];
    strangler_route_t      r;
    strangler_request_t    req;
    strangler_decision_t   d, d2;
    strangler_override_t   ov = { BILLING, STRANGLER_NONE, -1 };
    strangler_weight_t     reads[] = { { MESSAGES, 10 }, { MONOLITH, 90 } };

    route_init(&r, MONOLITH, reads, 2);
    r.sticky = STRANGLER_STICKY_HEADER;

    /* without a key: the request's random number, exact over a period */

    memset(hits, 0, sizeof(hits));
    req_init(&req, STRANGLER_M_GET);

    for (i = 0; i < 100000; i++) {
        req.random = (uint32_t) i;
        decide(&r, STRANGLER_RULE_PREFIX, &req, &d);
        hits[d.backend]++;

        if (d.reason != STRANGLER_REASON_SPLIT) {
            break;
        }
    }

    UNIT_CHECK(hits[MESSAGES] == 10000 && hits[MONOLITH] == 90000,
               "random split: %zu / %zu", hits[MESSAGES], hits[MONOLITH]);

    req.random = 0;
    decide(&r, STRANGLER_RULE_PREFIX, &req, &d);
    UNIT_CHECK(d.backend == MESSAGES, "the first weight comes first");
    req.random = 10;
    decide(&r, STRANGLER_RULE_PREFIX, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH, "cumulative weights");

    /* with a key: the same key, the same backend, whatever random says */

    memset(hits, 0, sizeof(hits));
    n = 100000;

    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "user-%zu", i);

        req.sticky_key.data = key;
        req.sticky_key.len = strlen(key);
        req.random = (uint32_t) i;
        decide(&r, STRANGLER_RULE_PREFIX, &req, &d);

        req.random = (uint32_t) (i * 7 + 3);
        decide(&r, STRANGLER_RULE_PREFIX, &req, &d2);

        if (d.backend != d2.backend || d.reason != STRANGLER_REASON_SPLIT) {
            break;
        }

        hits[d.backend]++;
    }

    UNIT_CHECK(i == n, "sticky key %s moved", key);
    UNIT_CHECK(hits[MESSAGES] > n / 100 * 9 && hits[MESSAGES] < n / 100 * 11,
               "sticky split: %zu of %zu on messages", hits[MESSAGES], n);

    /* pinned: users choose keys by these, they must never change */
    req.sticky_key.data = "user-1";
    req.sticky_key.len = 6;
    decide(&r, STRANGLER_RULE_PREFIX, &req, &d);
    UNIT_CHECK(d.backend == (0x41a2fca5c68401c5ULL % 100 < 10 ? MESSAGES
                                                              : MONOLITH),
               "user-1");

    /* an empty key is a key */
    req.sticky_key.data = "";
    req.sticky_key.len = 0;
    decide(&r, STRANGLER_RULE_PREFIX, &req, &d);
    UNIT_CHECK(d.backend == (0xefd01f60ba992926ULL % 100 < 10 ? MESSAGES
                                                              : MONOLITH),
               "empty key");

    /* zero weights on one side */
    reads[0].weight = 0;
    reads[1].weight = 5;
    r.total_weight = 5;

    for (i = 0; i < 100; i++) {
        req.sticky_key.data = NULL;
        req.random = (uint32_t) i;
        decide(&r, STRANGLER_RULE_PREFIX, &req, &d);

        if (d.backend != MONOLITH) {
            break;
        }
    }

    UNIT_CHECK(i == 100, "a zero weight never gets a read");

    /* an override of the reads beats the split; writes go to the owner */
    req.override = &ov;
    decide(&r, STRANGLER_RULE_PREFIX, &req, &d);
    UNIT_CHECK(d.backend == BILLING && d.reason == STRANGLER_REASON_OVERRIDE,
               "override beats split");

    req.override = NULL;
    req.method = STRANGLER_M_PATCH;
    decide(&r, STRANGLER_RULE_PREFIX, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.reason == STRANGLER_REASON_PREFIX,
               "a split never takes a write");
}


static void
test_shadow(void)
{
    strangler_route_t      r, same, split;
    strangler_request_t    req;
    strangler_decision_t   d;
    strangler_override_t   ov;
    strangler_weight_t     reads[] = { { MESSAGES, 1 } };
    strangler_weight_t     own[] = { { MONOLITH, 1 } };
    strangler_weight_t     both[] = { { MESSAGES, 50 }, { MONOLITH, 50 } };

    route_init(&r, MONOLITH, reads, 1);
    r.shadow.enabled = 1;
    r.shadow.sample_ppm = PPM(10);

    req_init(&req, STRANGLER_M_GET);

    req.shadow_random = PPM(10) - 1;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MESSAGES && d.shadow_to == MONOLITH,
               "a read served by messages is shadowed to the owner");

    req.shadow_random = PPM(10);
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.shadow_to == STRANGLER_NONE, "not sampled");

    req.shadow_random = STRANGLER_SAMPLE_SCALE * 3 + 5;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.shadow_to == MONOLITH, "sampled modulo the scale");

    /* writes: never, unless dry-run */
    req_init(&req, STRANGLER_M_POST);
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.shadow_to == STRANGLER_NONE,
               "writes are not shadowed");

    r.shadow.dry_run_writes = 1;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.shadow_to == MESSAGES,
               "a dry-run write is shadowed to the reads side");

    /* the sample override */
    ov.reads = STRANGLER_NONE;
    ov.owner = STRANGLER_NONE;
    ov.sample_ppm = 0;
    req_init(&req, STRANGLER_M_GET);
    req.override = &ov;

    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.shadow_to == STRANGLER_NONE, "sample overridden to 0");

    ov.sample_ppm = STRANGLER_SAMPLE_SCALE;
    req.shadow_random = STRANGLER_SAMPLE_SCALE - 1;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.shadow_to == MONOLITH, "sample overridden to 100%%");

    /* an owner override: the other side is the effective owner */
    ov.owner = BILLING;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MESSAGES && d.shadow_to == BILLING,
               "shadow to the overridden owner");

    /* reads overridden to the owner: the other side is gone */
    ov.owner = STRANGLER_NONE;
    ov.reads = MONOLITH;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.shadow_to == STRANGLER_NONE,
               "rolled back: nothing to shadow to (%d)", d.shadow_to);

    /* a forced read on the owner is shadowed to the reads side */
    req_init(&req, STRANGLER_M_GET);
    req.force.data = "monolith";
    req.force.len = 8;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.shadow_to == MESSAGES,
               "forced read shadowed to the other side");

    /* shadow.to */
    r.shadow.to = BILLING;
    req_init(&req, STRANGLER_M_GET);
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.shadow_to == BILLING, "shadow.to");

    r.shadow.to = MESSAGES;
    decide(&r, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.shadow_to == STRANGLER_NONE, "never to the one that served");

    /* reads on the owner: no other side */
    route_init(&same, MONOLITH, own, 1);
    same.shadow.enabled = 1;
    same.shadow.sample_ppm = STRANGLER_SAMPLE_SCALE;
    decide(&same, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.shadow_to == STRANGLER_NONE,
               "one backend: no shadow");

    /* a split: each side shadows to the other */
    route_init(&split, MONOLITH, both, 2);
    split.shadow.enabled = 1;
    split.shadow.sample_ppm = STRANGLER_SAMPLE_SCALE;

    req.random = 0;
    decide(&split, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MESSAGES && d.shadow_to == MONOLITH,
               "split, messages side");

    req.random = 50;
    decide(&split, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.backend == MONOLITH && d.shadow_to == MESSAGES,
               "split, monolith side");

    /* disabled */
    split.shadow.enabled = 0;
    decide(&split, STRANGLER_RULE_EXACT, &req, &d);
    UNIT_CHECK(d.shadow_to == STRANGLER_NONE, "shadow off");
}


static void
test_names(void)
{
    int          m;
    const char  *name;

    for (m = 0; m < STRANGLER_M_OTHER; m++) {
        name = strangler_method_name((strangler_method_t) m);

        UNIT_CHECK((int) strangler_method_parse(name, strlen(name)) == m,
                   "method %s", name);
    }

    UNIT_STR_EQ(strangler_method_name(STRANGLER_M_PROPPATCH), "PROPPATCH");
    UNIT_STR_EQ(strangler_method_name(STRANGLER_M_UNLOCK), "UNLOCK");
    UNIT_STR_EQ(strangler_method_name(STRANGLER_M_OTHER), "OTHER");
    UNIT_STR_EQ(strangler_method_name((strangler_method_t) 77), "OTHER");

    UNIT_CHECK(strangler_method_parse("get", 3) == STRANGLER_M_OTHER,
               "methods are case-sensitive");
    UNIT_CHECK(strangler_method_parse("GETX", 3) == STRANGLER_M_GET,
               "length is honoured");
    UNIT_CHECK(strangler_method_parse("GETX", 4) == STRANGLER_M_OTHER,
               "GETX");
    UNIT_CHECK(strangler_method_parse("", 0) == STRANGLER_M_OTHER, "empty");
    UNIT_CHECK(strangler_method_parse("OTHER", 5) == STRANGLER_M_OTHER,
               "OTHER");

    UNIT_CHECK(strangler_method_is_read(STRANGLER_M_GET)
               && strangler_method_is_read(STRANGLER_M_HEAD)
               && strangler_method_is_read(STRANGLER_M_OPTIONS)
               && !strangler_method_is_read(STRANGLER_M_POST)
               && !strangler_method_is_read(STRANGLER_M_TRACE)
               && !strangler_method_is_read(STRANGLER_M_PROPFIND)
               && !strangler_method_is_read(STRANGLER_M_OTHER), "reads");

    UNIT_STR_EQ(strangler_reason_name(STRANGLER_REASON_EXACT), "exact");
    UNIT_STR_EQ(strangler_reason_name(STRANGLER_REASON_TEMPLATE),
                "template");
    UNIT_STR_EQ(strangler_reason_name(STRANGLER_REASON_REGEX), "regex");
    UNIT_STR_EQ(strangler_reason_name(STRANGLER_REASON_PREFIX), "prefix");
    UNIT_STR_EQ(strangler_reason_name(STRANGLER_REASON_DEFAULT), "default");
    UNIT_STR_EQ(strangler_reason_name(STRANGLER_REASON_SPLIT), "split");
    UNIT_STR_EQ(strangler_reason_name(STRANGLER_REASON_OVERRIDE),
                "override");
    UNIT_STR_EQ(strangler_reason_name(STRANGLER_REASON_FORCE), "force");

    UNIT_STR_EQ(strangler_rule_name(STRANGLER_RULE_EXACT), "exact");
    UNIT_STR_EQ(strangler_rule_name(STRANGLER_RULE_TEMPLATE), "template");
    UNIT_STR_EQ(strangler_rule_name(STRANGLER_RULE_REGEX), "regex");
    UNIT_STR_EQ(strangler_rule_name(STRANGLER_RULE_PREFIX), "prefix");
    UNIT_STR_EQ(strangler_rule_name(STRANGLER_RULE_DEFAULT), "default");
}


/* a read carrying a method override is a write: the owner, no shadow */

static void
test_method_override(void)
{
    strangler_route_t        r;
    strangler_request_t      req;
    strangler_decision_t     d;
    strangler_weight_t       reads[] = { { MESSAGES, 1 } };
    static strangler_field_t  mo = { STRANGLER_STICKY_HEADER,
                                     { "X-HTTP-Method-Override", 22 } };

    route_init(&r, MONOLITH, reads, 1);
    r.shadow.enabled = 1;
    r.shadow.sample_ppm = STRANGLER_SAMPLE_SCALE;

    req_init(&req, STRANGLER_M_GET);
    decide(&r, STRANGLER_RULE_TEMPLATE, &req, &d);

    UNIT_CHECK(d.backend == MESSAGES && !d.write && d.shadow_to == MONOLITH
               && !d.method_overridden, "a plain read, shadowed");

    req.method_override = &mo;
    req.force.data = "messages";
    req.force.len = 8;
    decide(&r, STRANGLER_RULE_TEMPLATE, &req, &d);

    UNIT_CHECK(d.backend == MONOLITH && d.write && d.method_overridden
               && d.force_ignored && d.shadow_to == STRANGLER_NONE
               && d.reason == STRANGLER_REASON_TEMPLATE,
               "overridden read: backend %d shadow %d", d.backend,
               d.shadow_to);

    /* shadowed as any write: only as a dry run */

    r.shadow.dry_run_writes = 1;
    r.shadow.to = BILLING;
    decide(&r, STRANGLER_RULE_TEMPLATE, &req, &d);

    UNIT_CHECK(d.backend == MONOLITH && d.write && d.shadow_to == BILLING,
               "overridden read, dry run: shadow %d", d.shadow_to);
}


static void
test_hash(void)
{
    /* FNV-1a 64 + fmix64; pinned: a change moves users between sides */
    UNIT_CHECK(strangler_hash("", 0) == 0xefd01f60ba992926ULL, "\"\"");
    UNIT_CHECK(strangler_hash("a", 1) == 0x82a2a958a9bece5bULL, "a");
    UNIT_CHECK(strangler_hash("user-1", 6) == 0x41a2fca5c68401c5ULL,
               "user-1");
    UNIT_CHECK(strangler_hash("foobar", 6) == 0x2c22194922d1672bULL,
               "foobar");
    UNIT_CHECK(strangler_hash("foobar", 3) == strangler_hash("foo", 3),
               "length");
}


int
main(void)
{
    table.backends = backends;
    table.nbackends = 3;
    table.default_backend = MONOLITH;

    test_default();
    test_owner();
    test_force();
    test_method_override();
    test_override();
    test_split();
    test_shadow();
    test_names();
    test_hash();

    return unit_report("test_decide");
}
