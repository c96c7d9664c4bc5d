/*
 * The strangler dashboard: polls the API of the location that served it
 * (status and progress) and draws the migration's progress and its routes.
 * No library, nothing fetched from elsewhere; DOM built with
 * createElement and textContent only, so that the page works under the
 * Content-Security-Policy the module sends with it.
 */

"use strict";

(function () {

    var STAGES = ["legacy", "shadowing", "reads", "owned"];
    var STAGE_LABEL = {
        legacy: "legacy",
        shadowing: "shadowing",
        reads: "reads moved",
        owned: "owned"
    };
    var RATE_WINDOW = 10;       /* seconds the rates are taken over */
    var MIN_INTERVAL = 1000;    /* ms between refreshes, at least */
    var STATUS_EVERY = 15000;   /* ms: the full status, at most this old */
    var PLAN_EVERY = 5000;      /* ms between two GET plan */
    var PLAN_ROWS = 10;         /* routes "Next to move" shows */
    var STEP_LABEL = {
        shadow: "start shadowing",
        reads: "move the reads",
        owner: "move the owner"
    };

    var api = location.pathname.replace(/[^\/]*$/, "");

    var st = {
        status: null,
        statusAt: 0,
        live: null,             /* GET progress/routes */
        progress: null,
        routes: [],             /* derived, one per route of the table */
        samples: [],            /* newest first: {t, counters} */
        rows: new Map(),        /* route name -> tr */
        columns: null,
        columnSig: "",
        sortKey: "stage",
        sortDir: -1,
        page: 0,
        pageSize: 50,
        filter: "",
        stageFilter: "",
        canPost: false,
        canPut: false,
        canDelete: false,
        etcdDown: false,
        diffs: {},              /* route -> GET routes/NAME/diffs */
        diffsAt: {},
        accessKnown: false,
        timer: null,
        planAt: 0,
        cost: 0
    };

    function $(id) {
        return document.getElementById(id);
    }

    function el(tag, cls, text) {
        var e = document.createElement(tag);

        if (cls) {
            e.className = cls;
        }

        if (text !== undefined && text !== null) {
            e.textContent = text;
        }

        return e;
    }

    function pct(x, digits) {
        if (x === null || x === undefined || isNaN(x)) {
            return "\u2013";
        }

        return (x * 100).toFixed(digits === undefined ? 1 : digits) + "%";
    }

    function num(x) {
        if (x >= 100) {
            return x.toFixed(0);
        }

        return x >= 10 ? x.toFixed(1) : x.toFixed(2);
    }


    /* the API ---------------------------------------------------------- */

    function getJSON(path) {
        return fetch(api + path, {
            cache: "no-store",
            credentials: "same-origin",
            headers: { "Accept": "application/json" }
        }).then(function (res) {
            if (!res.ok) {
                throw new Error(path + ": HTTP " + res.status);
            }

            return res.json();
        });
    }

    /*
     * The status with every route: the API answers a summary instead of
     * routes above 1,000 of them, so the routes come a page at a time.
     */
    function getStatus() {
        var PAGE = 1000;

        function page(offset, status) {
            return getJSON("status?limit=" + PAGE + "&offset=" + offset)
                .then(function (s) {
                    if (status) {
                        status.routes = status.routes.concat(s.routes);
                    } else {
                        status = s;
                    }

                    return s.next_offset === null ? status
                                                  : page(s.next_offset, status);
                });
        }

        return page(0, null);
    }

    /* whether nginx's access rules let this client use `method` here */
    function probe(method) {
        return fetch(api + "access?method=" + method, {
            cache: "no-store",
            credentials: "same-origin",
            headers: { "Accept": "application/json" }
        }).then(function (res) {
            if (!res.ok) {
                return false;
            }

            return res.json().then(function (j) {
                return j.allowed === true;
            });
        }, function () {
            return false;
        });
    }

    function checkAccess() {
        return Promise.all([probe("POST"), probe("PUT"), probe("DELETE")])
            .then(function (a) {
            st.canPost = a[0];
            st.canPut = a[1];
            st.canDelete = a[2];
            st.accessKnown = true;
            $("readonly").hidden = st.canPost || st.canPut;
            document.body.dataset.access =
                (st.canPost || st.canPut) ? "write" : "read-only";
        });
    }


    /* derived figures ---------------------------------------------------- */

    /* {route: {backend: [requests, 5xx]}} from GET progress/routes */
    function countersOf(live) {
        var out = {};

        live.routes.forEach(function (r) {
            out[r.name] = r.backends;
        });

        return out;
    }

    /* per route and backend: [requests/s, 5xx share] over the window */
    function rates(now) {
        var old = null, i, s, dt, out = {};

        /* the oldest sample of the window; samples are newest first */
        for (i = st.samples.length - 1; i >= 0; i--) {
            s = st.samples[i];

            if (now.t - s.t <= RATE_WINDOW + 0.5 && s !== now) {
                old = s;
                break;
            }
        }

        if (old === null) {
            return null;
        }

        dt = now.t - old.t;

        Object.keys(now.counters).forEach(function (route) {
            var cur = now.counters[route], prev = old.counters[route] || {};
            var o = {};

            Object.keys(cur).forEach(function (b) {
                var p = prev[b] || [0, 0];
                var n = Math.max(0, cur[b][0] - p[0]);
                var e = Math.max(0, cur[b][1] - p[1]);

                o[b] = { rps: n / dt, errors: n ? e / n : null, n: n };
            });

            out[route] = o;
        });

        return out;
    }

    function readsText(reads) {
        var total = 0;

        if (reads === null || typeof reads !== "object") {
            return String(reads);
        }

        Object.keys(reads).forEach(function (b) {
            total += reads[b];
        });

        return Object.keys(reads).map(function (b) {
            return b + " " + (total ? Math.round(reads[b] * 100 / total)
                                    : 0) + "%";
        }).join(" \u00b7 ");
    }

    function overrideText(ov) {
        var parts = [];

        if (!ov) {
            return null;
        }

        if (ov.reads) {
            parts.push("reads \u2192 " + ov.reads);
        }

        if (ov.owner) {
            parts.push("owner \u2192 " + ov.owner);
        }

        if (ov.shadow_sample !== undefined && ov.shadow_sample !== null) {
            parts.push("sample " + ov.shadow_sample + "%");
        }

        /* times are the API's: UTC, ISO 8601, as everywhere on the page */
        return {
            what: parts.join(", ") || "override",
            who: "by " + (ov.by || "?") + (ov.via ? " via " + ov.via : "")
                 + (ov.at ? " at " + ov.at : ""),
            reason: ov.reason || null
        };
    }

    /*
     * Whether a rollback changes nothing: the reads on the table's owner,
     * no owner or sample overridden (as the API decides it)
     */
    function isRolledBack(r) {
        var ov = r.override, eff = r.effective || {}, reads = eff.reads;

        if (ov && (ov.owner || (ov.shadow_sample !== undefined
                                && ov.shadow_sample !== null)))
        {
            return false;
        }

        if (typeof reads === "string") {
            return reads === eff.owner;
        }

        return !!reads && Object.keys(reads).length === 1
               && reads[eff.owner] !== undefined;
    }

    /* the status (fetched now and then) and the live rows, per route */
    function derive(status, live, rate) {
        var rows = {};

        live.routes.forEach(function (r) {
            rows[r.name] = r;
        });

        return status.routes.map(function (r) {
            var eff = r.effective || {}, lv = rows[r.name] || {};
            var sh = lv.shadow || [0, 0], compared = sh[0] + sh[1];
            var rr = (rate && rate[r.name]) || {}, rps = 0, n = 0, e = 0;
            var text = [r.name].concat(r.paths || []);

            Object.keys(rr).forEach(function (b) {
                rps += rr[b].rps;
                n += rr[b].n;
                e += rr[b].errors ? rr[b].errors * rr[b].n : 0;
            });

            text.push(String(eff.owner), readsText(eff.reads));

            return {
                name: r.name,
                raw: r,
                stage: lv.stage || r.stage || "legacy",
                split: lv.stage ? lv.split : !!r.split,
                owner: eff.owner,
                reads: readsText(eff.reads),
                override: overrideText(r.override),
                overrideAt: r.override ? r.override.at || "" : "",
                byBackend: rr,
                rps: rps,
                errors: n ? e / n : null,
                match: compared ? sh[0] / compared : null,
                compared: compared,
                hasShadow: !!(r.configured && r.configured.shadow),
                sample: eff.shadow_sample,
                guard: r.guard || null,
                evidence: st.diffs[r.name] || null,
                rolledBack: isRolledBack(r),
                hasOverride: !!r.override,
                pending: r.pending || null,
                search: text.join(" ").toLowerCase()
            };
        });
    }


    /* the progress at the top -------------------------------------------- */

    function showProgress(p) {
        var total = p.routes.total || 0, bar = $("stagebar");

        STAGES.forEach(function (s) {
            $("n-" + s).textContent = p.routes[s];
        });

        $("n-split").textContent = p.routes.split;

        $("share-minute").textContent =
            pct(p.requests.last_minute.new_share);
        $("share-zone").textContent = pct(p.requests.since_start.new_share);
        $("zone-since").textContent = p.requests.since_start.since || "start";

        if (bar.children.length !== STAGES.length) {
            bar.textContent = "";
            STAGES.forEach(function (s) {
                bar.appendChild(el("span", s));
            });
        }

        STAGES.forEach(function (s, i) {
            bar.children[i].style.width =
                (total ? p.routes[s] * 100 / total : 0) + "%";
        });

        drawChart(p.history);

        $("chart-caption").textContent =
            "Share of requests served by new services, in 5-second steps "
            + "over the last 10 minutes. Last minute: "
            + pct(p.requests.last_minute.new_share) + " of "
            + (p.requests.last_minute.legacy + p.requests.last_minute["new"])
            + " requests.";
    }

    function drawChart(h) {
        var c = $("chart"), ctx = c.getContext("2d");
        var ratio = window.devicePixelRatio || 1;
        var w = c.clientWidth || 720, ht = c.clientHeight || 140;
        var left = 36, top = 8, bottom = 18, n = h.legacy.length;
        var pw = w - left - 8, ph = ht - top - bottom;
        var i, x, y, all, drawing = false, max = 0;

        c.width = Math.round(w * ratio);
        c.height = Math.round(ht * ratio);
        ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
        ctx.clearRect(0, 0, w, ht);

        ctx.font = "11px system-ui, sans-serif";
        ctx.fillStyle = "#57606a";
        ctx.strokeStyle = "#d0d7de";
        ctx.lineWidth = 1;

        [0, 0.5, 1].forEach(function (v) {
            y = top + ph - v * ph;
            ctx.beginPath();
            ctx.moveTo(left, y + 0.5);
            ctx.lineTo(left + pw, y + 0.5);
            ctx.stroke();
            ctx.fillText(v * 100 + "%", 2, y + 4);
        });

        ctx.fillText("\u221210 min", left, ht - 4);
        ctx.fillText("now", left + pw - 22, ht - 4);

        for (i = 0; i < n; i++) {
            max = Math.max(max, h.legacy[i] + h["new"][i]);
        }

        /* the volume, faint, behind the share */
        ctx.fillStyle = "#ddf4ff";

        for (i = 0; i < n && max; i++) {
            all = h.legacy[i] + h["new"][i];
            x = left + i * pw / n;
            ctx.fillRect(x, top + ph - all / max * ph, pw / n, all / max * ph);
        }

        ctx.strokeStyle = "#0550ae";
        ctx.lineWidth = 2;
        ctx.beginPath();

        for (i = 0; i < n; i++) {
            all = h.legacy[i] + h["new"][i];

            if (!all) {
                drawing = false;
                continue;
            }

            x = left + (i + 0.5) * pw / n;
            y = top + ph - h["new"][i] / all * ph;

            if (drawing) {
                ctx.lineTo(x, y);

            } else {
                ctx.moveTo(x, y);
                ctx.fillStyle = "#0550ae";
                ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
                drawing = true;
            }
        }

        ctx.stroke();
    }


    /* the routes table ----------------------------------------------------- */

    function columns() {
        var cols = [
            { key: "name", label: "Route" },
            { key: "stage", label: "Stage" },
            { key: "owner", label: "Owner (writes)" },
            { key: "reads", label: "Reads" },
            { key: "override", label: "Override" },
            { key: "rps", label: "Requests/s", num: true },
            { key: "errors", label: "5xx", num: true },
            { key: "match", label: "Shadow match", num: true }
        ];

        /* these light up when the API reports them */
        if (st.routes.some(function (r) { return r.guard; })) {
            cols.push({ key: "guard", label: "Guard" });
        }

        if (st.routes.some(function (r) { return r.evidence; })) {
            cols.push({ key: "evidence", label: "Differences" });
        }

        if (st.canPost || st.canPut) {
            cols.push({ key: "actions", label: "Actions", nosort: true });
        }

        return cols;
    }

    function buildHead() {
        var tr = $("head-row");

        tr.textContent = "";

        st.columns.forEach(function (col) {
            var th = el("th"), b;

            th.scope = "col";
            th.dataset.key = col.key;

            if (col.nosort) {
                th.textContent = col.label;

            } else {
                b = el("button", null, col.label);
                b.type = "button";
                b.dataset.sort = col.key;
                b.setAttribute("aria-label", "Sort by " + col.label);
                th.appendChild(b);

                if (st.sortKey === col.key) {
                    th.setAttribute("aria-sort",
                                    st.sortDir > 0 ? "ascending"
                                                   : "descending");
                }
            }

            tr.appendChild(th);
        });

        st.rows.clear();
        $("rows").textContent = "";
    }

    function sortValue(r, key) {
        switch (key) {
        case "stage":
            return STAGES.indexOf(r.stage) * 2 + (r.split ? 1 : 0);
        case "override":
            return r.overrideAt;
        case "guard":
            return r.guard ? String(r.guard.state) : "";
        case "evidence":
            return r.evidence ? JSON.stringify(r.evidence) : "";
        case "rps":
        case "errors":
        case "match":
            return r[key] === null ? -1 : r[key];
        default:
            return String(r[key]);
        }
    }

    function visibleRoutes() {
        var f = st.filter, sf = st.stageFilter, key = st.sortKey;
        var dir = st.sortDir;

        return st.routes.filter(function (r) {
            return (!f || r.search.indexOf(f) >= 0)
                   && (!sf || r.stage === sf);
        }).sort(function (a, b) {
            var x = sortValue(a, key), y = sortValue(b, key);

            if (x < y) {
                return -dir;
            }

            if (x > y) {
                return dir;
            }

            return a.name < b.name ? -1 : (a.name > b.name ? 1 : 0);
        });
    }

    /* a cell is rebuilt only when what it shows changed */
    function fill(td, sig, build) {
        if (td.sig === sig) {
            return;
        }

        td.sig = sig;
        td.textContent = "";
        build(td);
    }

    function backendLines(td, r, what) {
        var names = Object.keys(r.byBackend).sort();

        if (!names.length) {
            td.appendChild(el("span", "muted", "\u2013"));
            return;
        }

        names.forEach(function (b) {
            var v = r.byBackend[b], text, span;

            /* the counts behind the rates, over the window */
            if (what === "rps") {
                text = num(v.rps) + " (" + v.n + ")";

            } else {
                text = v.errors === null ? "\u2013"
                       : pct(v.errors) + " (" + Math.round(v.errors * v.n)
                         + " of " + v.n + ")";
            }

            span = el("span", names.length > 1 ? "sub" : null,
                      (names.length > 1 ? b + " " : "") + text);

            if (what === "errors" && v.errors) {
                span.classList.add("bad");
            }

            td.appendChild(span);
        });
    }

    function renderCell(td, col, r) {
        switch (col.key) {
        case "name":
            fill(td, r.name, function () {
                td.appendChild(el("strong", null, r.name));
                td.appendChild(el("span", "sub",
                                  (r.raw.paths || []).slice(0, 3).join(" ")
                                  + ((r.raw.paths || []).length > 3
                                     ? " \u2026" : "")));
            });
            break;

        case "stage":
            fill(td, r.stage + r.split, function () {
                td.appendChild(el("span", "badge " + r.stage,
                                  STAGE_LABEL[r.stage] || r.stage));
                if (r.split) {
                    td.appendChild(el("span", "sub", "split"));
                }
            });
            break;

        case "owner":
            fill(td, r.owner, function () {
                td.textContent = r.owner;
            });
            break;

        case "reads":
            fill(td, r.reads + "|" + r.sample, function () {
                td.textContent = r.reads;
                if (r.hasShadow) {
                    td.appendChild(el("span", "sub",
                                      "shadow sample " + r.sample + "%"));
                }
            });
            break;

        case "override":
            fill(td, JSON.stringify(r.override), function () {
                if (!r.override) {
                    td.appendChild(el("span", "muted", "none"));
                    return;
                }
                td.appendChild(el("span", null, r.override.what));
                if (r.pending) {
                    td.appendChild(el("span", "badge pending",
                                      "pending " + r.pending));
                }
                td.appendChild(el("span", "sub", r.override.who));
                if (r.override.reason) {
                    td.appendChild(el("span", "sub",
                                      "why: " + r.override.reason));
                }
            });
            break;

        case "rps":
        case "errors":
            td.className = "num";
            fill(td, JSON.stringify(r.byBackend) + col.key, function () {
                backendLines(td, r, col.key);
            });
            break;

        case "match":
            td.className = "num";
            fill(td, r.match + "|" + r.compared + "|" + r.hasShadow,
                 function () {
                var a;

                if (r.match === null) {
                    td.appendChild(el("span", "muted",
                                      r.hasShadow ? "no comparison yet"
                                                  : "\u2013"));
                    return;
                }
                /* the figure leads to the field evidence behind it */
                a = el("a", r.match < 0.99 ? "bad" : null, pct(r.match));
                a.href = api + "routes/" + encodeURIComponent(r.name)
                         + "/diffs";
                a.title = "field evidence: verdicts and examples";
                td.appendChild(a);
                td.appendChild(el("span", "sub",
                                  "of " + r.compared + " compared"));
            });
            break;

        case "guard":
            fill(td, JSON.stringify(r.guard), function () {
                var g = r.guard || {}, w = g.window, s = String(g.state);
                var parts = [];

                td.appendChild(el("span", "badge " + (s === "tripped"
                                                      ? "tripped" : "legacy"),
                                  r.guard ? s : "\u2013"));
                if (g.dry_run) {
                    td.appendChild(el("span", "sub", "dry run"));
                }
                if (w) {
                    if (w.error_rate !== null && w.error_rate !== undefined) {
                        parts.push(w.error_rate + "% 5xx");
                    }
                    if (w.mismatch_rate !== null
                        && w.mismatch_rate !== undefined)
                    {
                        parts.push(w.mismatch_rate + "% mismatched");
                    }
                    if (w.p99_ms !== null && w.p99_ms !== undefined) {
                        parts.push("p99 " + w.p99_ms + " ms");
                    }
                    td.appendChild(el("span", "sub", "last window: "
                                      + (w.requests || 0) + " reads"
                                      + (parts.length ? ", " : "")
                                      + parts.join(", ")));
                }
            });
            break;

        case "evidence":
            fill(td, JSON.stringify(r.evidence), function () {
                var ev = r.evidence, fields;

                if (!ev) {
                    td.textContent = "\u2013";
                    return;
                }
                if (ev.noise_share !== undefined && ev.noise_share !== null) {
                    td.appendChild(el("span", null,
                                      "noise " + pct(ev.noise_share)));
                }
                fields = (ev.fields || []).filter(function (f) {
                    return f.verdict !== "noise";
                }).slice(0, 3);
                fields.forEach(function (f) {
                    td.appendChild(el("span", "sub",
                                      f.path + " (" + f.differences + ")"));
                });
            });
            break;

        case "actions":
            td.className = "actions";
            fill(td, [st.canPost, st.canPut, r.hasShadow,
                      r.guard && r.guard.state, st.etcdDown, r.rolledBack,
                      r.hasOverride].join(),
                 function () {
                actionButtons(td, r);
            });
            break;
        }
    }

    function actionButtons(td, r) {
        function add(action, label, allowed) {
            var b = el("button", action === "rollback" ? "danger" : null,
                       label);

            b.type = "button";
            b.dataset.action = action;
            b.dataset.route = r.name;
            b.setAttribute("aria-label", label + " " + r.name);
            b.disabled = !allowed;
            td.appendChild(b);
        }

        var up = !st.etcdDown;

        /* only what changes something; with etcd down, only a rollback */
        if (!r.rolledBack) {
            add("rollback", up ? "Roll back" : "Roll back (break-glass)",
                st.canPost);
        }

        if (r.hasOverride) {
            add("clear", "Clear override", st.canDelete && up);
        }

        add("reads", "Move reads", st.canPut && up);

        if (r.guard && r.guard.state === "tripped") {
            add("rearm", "Re-arm guard", st.canPost && up);
        }

        if (r.hasShadow) {
            add("sample", "Shadow sample", st.canPut && up);
        }
    }

    function renderTable() {
        var list = visibleRoutes(), tbody = $("rows"), pages, slice, i;
        var sig = st.columns ? st.columns.map(function (c) {
            return c.key;
        }).join() : "";
        var cols = columns(), now = cols.map(function (c) {
            return c.key;
        }).join();

        if (now !== sig) {
            st.columns = cols;
            buildHead();
        }

        pages = Math.max(1, Math.ceil(list.length / st.pageSize));
        st.page = Math.min(st.page, pages - 1);
        slice = list.slice(st.page * st.pageSize,
                           (st.page + 1) * st.pageSize);

        slice.forEach(function (r, k) {
            var tr = st.rows.get(r.name);

            if (!tr) {
                tr = el("tr");
                tr.dataset.route = r.name;
                st.columns.forEach(function (col) {
                    var cell = el(col.key === "name" ? "th" : "td");

                    if (col.key === "name") {
                        cell.scope = "row";
                    }
                    tr.appendChild(cell);
                });
                st.rows.set(r.name, tr);
            }

            st.columns.forEach(function (col, c) {
                renderCell(tr.children[c], col, r);
            });

            /* move a row only when it is out of place: focus stays */
            if (tbody.children[k] !== tr) {
                tbody.insertBefore(tr, tbody.children[k] || null);
            }
        });

        for (i = tbody.children.length - 1; i >= slice.length; i--) {
            st.rows["delete"](tbody.children[i].dataset.route);
            tbody.removeChild(tbody.children[i]);
        }

        fetchDiffs(slice);

        $("count").textContent = list.length + " of " + st.routes.length
                                 + " routes";
        $("page-info").textContent = "Page " + (st.page + 1) + " of " + pages;
        $("prev").disabled = st.page === 0;
        $("next").disabled = st.page >= pages - 1;
    }


    /*
     * The noise and top-fields columns read GET routes/NAME/diffs, for the
     * compared routes of the page shown, each at most every STATUS_EVERY
     */
    function fetchDiffs(slice) {
        var now = performance.now();

        slice.forEach(function (r) {
            if (!r.compared || now - (st.diffsAt[r.name] || -1e9)
                               < STATUS_EVERY)
            {
                return;
            }

            st.diffsAt[r.name] = now;
            getJSON("routes/" + encodeURIComponent(r.name) + "/diffs")
                .then(function (d) {
                    st.diffs[r.name] = d;
                    r.evidence = d;
                    renderTable();
                }, function () {});
        });
    }


    /* actions ----------------------------------------------------------- */

    var pending = null;

    function openConfirm(action, name) {
        var d = $("confirm"), fields = $("confirm-fields"), r, sel, input;
        var label;

        r = st.routes.find(function (x) {
            return x.name === name;
        });

        if (!r) {
            return;
        }

        fields.textContent = "";
        $("confirm-answer").hidden = true;
        $("confirm-answer").textContent = "";
        $("confirm-ok").hidden = false;
        $("confirm-ok").disabled = false;
        $("confirm-cancel").textContent = "Cancel";

        if (action === "rollback") {
            $("confirm-title").textContent = "Roll back " + name;
            $("confirm-text").textContent =
                "Roll back route \u201c" + name + "\u201d? Its runtime "
                + "overrides are removed and its reads go back to the "
                + "owner, in every worker at once."
                + (st.etcdDown ? " etcd is unreachable: this host applies "
                                 + "it now, and the fleet gets it when etcd "
                                 + "is back." : "");
            pending = { method: "POST", path: "routes/" + name + "/rollback" };

        } else if (action === "clear") {
            $("confirm-title").textContent = "Clear the override of " + name;
            $("confirm-text").textContent =
                "Remove route \u201c" + name + "\u201d's runtime override? "
                + "It goes back to what the table says.";
            pending = { method: "DELETE", path: "routes/" + name };

        } else if (action === "rearm") {
            $("confirm-title").textContent = "Re-arm the guard of " + name;
            $("confirm-text").textContent =
                "End the trip of route \u201c" + name + "\u201d's guard? "
                + "Its override of the reads goes and its windows start "
                + "afresh.";
            pending = { method: "POST",
                        path: "routes/" + name + "/guard/rearm" };

        } else if (action === "reads") {
            $("confirm-title").textContent = "Move the reads of " + name;
            $("confirm-text").textContent =
                "Send every read (GET, HEAD, OPTIONS) of route \u201c" + name
                + "\u201d to one backend. Writes stay with the owner, "
                + r.owner + ".";
            label = el("label", null, "Backend for reads ");
            sel = el("select");
            sel.id = "confirm-backend";
            st.status.table.backends.forEach(function (b) {
                var o = el("option", null, b);
                o.value = b;
                o.selected = (b === r.reads);
                sel.appendChild(o);
            });
            label.appendChild(sel);
            fields.appendChild(label);
            pending = { method: "PUT", path: "routes/" + name,
                        body: function () {
                            return { reads: sel.value };
                        } };

        } else {
            $("confirm-title").textContent = "Shadow sample of " + name;
            $("confirm-text").textContent =
                "Set the share of reads of route \u201c" + name
                + "\u201d copied to the shadow and compared.";
            label = el("label", null, "Percent (0 to 100) ");
            input = el("input");
            input.id = "confirm-sample";
            input.type = "number";
            input.min = "0";
            input.max = "100";
            input.step = "any";
            input.value = r.sample === null ? "" : r.sample;
            label.appendChild(input);
            fields.appendChild(label);
            pending = { method: "PUT", path: "routes/" + name,
                        body: function () {
                            return { shadow_sample: Number(input.value) };
                        } };
        }

        d.showModal();
    }

    function confirmed() {
        var p = pending, opts, ans = $("confirm-answer");

        if (!p) {
            return;
        }

        $("confirm-ok").disabled = true;

        /*
         * JSON, always: the API takes a change (a POST too) from a page of
         * its own origin, with a JSON body or none, never a form's
         */
        opts = {
            method: p.method,
            cache: "no-store",
            credentials: "same-origin",
            headers: { "Accept": "application/json",
                       "Content-Type": "application/json" },
            body: JSON.stringify(p.body ? p.body() : {})
        };

        fetch(api + p.path, opts).then(function (res) {
            return res.text().then(function (text) {
                var shown = text;

                try {
                    shown = JSON.stringify(JSON.parse(text), null, 2);
                } catch (e) {
                    shown = text.replace(/<[^>]*>/g, " ").trim();
                }

                return { ok: res.ok, status: res.status, text: shown };
            });
        }, function (err) {
            return { ok: false, status: 0, text: String(err) };
        }).then(function (a) {
            ans.hidden = false;
            ans.classList.toggle("failed", !a.ok);
            ans.textContent = p.method + " " + p.path + ": "
                              + (a.status ? "HTTP " + a.status : "failed")
                              + "\n" + a.text;
            $("confirm-ok").hidden = true;
            $("confirm-cancel").textContent = "Close";
            $("announce").textContent = (a.ok ? "Done: " : "Refused: ")
                                        + p.method + " " + p.path;
            pending = null;

            if (a.status === 401 || a.status === 403) {
                checkAccess();
            }

            refresh();
        });
    }


    /* "Next to move": GET plan, the first PLAN_ROWS routes ------------- */

    function showPlan(plan) {
        var body = $("plan-rows"), routes = plan.routes;

        $("plan-summary").textContent = plan.ready + " of " + routes.length
            + " route" + (routes.length === 1 ? "" : "s")
            + " not yet moved " + (plan.ready === 1 ? "is" : "are")
            + " ready for their next step"
            + (routes.length > PLAN_ROWS ? "; the first " + PLAN_ROWS
                                           + " are shown" : "")
            + ".";

        body.textContent = "";

        routes.slice(0, PLAN_ROWS).forEach(function (r) {
            var tr = el("tr", r.ready ? "plan-ready" : "plan-wait"),
                why = el("td"), list;

            tr.dataset.route = r.route;
            tr.appendChild(el("th", null, r.route)).scope = "row";
            tr.appendChild(el("td")).appendChild(
                el("span", "badge " + r.stage,
                   STAGE_LABEL[r.stage] || r.stage));
            tr.appendChild(el("td", null, STEP_LABEL[r.next] || r.next));

            if (r.ready) {
                why.appendChild(el("span", "ready", "ready"));

            } else {
                list = el("ul", "reasons");

                r.reasons.forEach(function (x) {
                    var li = el("li", null, x.text);

                    li.dataset.code = x.code;
                    list.appendChild(li);
                });

                why.appendChild(list);
            }

            tr.appendChild(why);
            tr.appendChild(el("td", "num", String(r.requests)));
            body.appendChild(tr);
        });
    }

    /* at most every PLAN_EVERY ms, on its own: the page never waits for it */
    function refreshPlan(t0) {
        if (t0 - st.planAt < PLAN_EVERY) {
            return;
        }

        st.planAt = t0;

        getJSON("plan").then(showPlan, function (err) {
            $("plan-summary").textContent = "cannot read the plan: "
                                            + err.message;
        });
    }


    /* refreshing ---------------------------------------------------------- */

    /*
     * Every second: GET progress and progress/routes (light: counters and
     * stages).  GET status (heavy with a big table: paths, targets,
     * overrides) on the first refresh, when the table or an override
     * changed, and every STATUS_EVERY ms for what changes by itself.
     */
    function refresh() {
        var t0 = performance.now(), wants;

        clearTimeout(st.timer);
        refreshPlan(t0);

        return Promise.all([getJSON("progress"), getJSON("progress/routes")])
            .then(function (a) {
                wants = !st.status || st.live === null
                        || a[1].sha256 !== st.live.sha256
                        || a[1].overrides !== st.live.overrides
                        || t0 - st.statusAt > STATUS_EVERY;

                return wants ? getStatus().then(function (s) {
                    st.status = s;
                    st.statusAt = t0;
                    return a;
                }) : a;
            })
            .then(function (a) {
                var sample = {
                    t: t0 / 1000,
                    counters: countersOf(a[1])
                };

                st.progress = a[0];
                st.live = a[1];
                st.etcdDown = !!(a[0].etcd && !a[0].etcd.connected);
                $("fleet-banner").hidden = !st.etcdDown;

                st.samples.unshift(sample);
                st.samples = st.samples.filter(function (s) {
                    return sample.t - s.t <= RATE_WINDOW + 5;
                });

                st.routes = derive(st.status, a[1], rates(sample));

                $("table-info").textContent =
                    st.status.table.file + " \u00b7 sha256 "
                    + st.status.table.sha256.slice(0, 12) + " \u00b7 loaded "
                    + st.status.table.loaded + " \u00b7 legacy: "
                    + a[0].legacy;

                showProgress(a[0]);
                renderTable();

                st.cost = performance.now() - t0;
                document.body.dataset.cost = st.cost.toFixed(1);

                if (!document.body.dataset.refreshed) {
                    performance.mark("strangler-first-view");
                }

                $("live").className = "live";
                $("live").textContent = "updated "
                    + new Date().toISOString().replace(/\.\d+Z$/, "Z");
                document.body.dataset.refreshed =
                    String(Number(document.body.dataset.refreshed || 0) + 1);
            }, function (err) {
                $("live").className = "live error";
                $("live").textContent = "cannot read the API: " + err.message;
            }).then(function () {
                /* a slow page refreshes less often */
                st.timer = setTimeout(refresh,
                                      Math.max(MIN_INTERVAL, st.cost * 5));
            });
    }


    /* wiring ------------------------------------------------------------- */

    $("head-row").addEventListener("click", function (ev) {
        var b = ev.target.closest("button[data-sort]"), key;

        if (!b) {
            return;
        }

        key = b.dataset.sort;
        st.sortDir = (st.sortKey === key) ? -st.sortDir : 1;
        st.sortKey = key;
        st.columns = null;
        renderTable();
        document.querySelector("th[data-key=\"" + key + "\"] button").focus();
    });

    $("rows").addEventListener("click", function (ev) {
        var b = ev.target.closest("button[data-action]");

        if (b && !b.disabled) {
            openConfirm(b.dataset.action, b.dataset.route);
        }
    });

    $("filter").addEventListener("input", function () {
        st.filter = this.value.trim().toLowerCase();
        st.page = 0;
        renderTable();
    });

    $("stage-filter").addEventListener("change", function () {
        st.stageFilter = this.value;
        st.page = 0;
        renderTable();
    });

    $("page-size").addEventListener("change", function () {
        st.pageSize = Number(this.value);
        st.page = 0;
        renderTable();
    });

    $("prev").addEventListener("click", function () {
        st.page = Math.max(0, st.page - 1);
        renderTable();
    });

    $("next").addEventListener("click", function () {
        st.page++;
        renderTable();
    });

    $("confirm-ok").addEventListener("click", confirmed);

    $("confirm-cancel").addEventListener("click", function () {
        pending = null;
        $("confirm").close();
    });

    checkAccess().then(refresh);

}());
