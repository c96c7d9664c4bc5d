"""The dashboard in a real headless Chromium against a real nginx.

Run by tests/071-dashboard-browser.t; prints TAP.  See front.py for the
nginx, cdp.py for the browser.
"""

import base64
import hashlib
import http.server
import json
import re
import shutil
import sys
import threading

from cdp import Browser
from front import Front, Tap, free_port

ROUTES = {"conversations", "users", "messages-health", "inbox"}


def rows(b):
    return b.eval("[...document.querySelectorAll('#rows tr')]"
                  ".map(tr => tr.dataset.route)")


def cell(b, route, key):
    return b.eval("""(() => {
        const keys = [...document.querySelectorAll('#head-row th')]
                     .map(th => th.dataset.key);
        const tr = document.querySelector('#rows tr[data-route="%s"]');
        return tr ? tr.children[keys.indexOf('%s')].innerText : null;
    })()""" % (route, key))


def click(b, selector):
    """a real mouse click in the middle of the element"""
    box = b.eval("""(() => {
        const e = document.querySelector('%s');
        if (!e) return null;
        e.scrollIntoView({block: 'center'});
        const r = e.getBoundingClientRect();
        return [r.x + r.width / 2, r.y + r.height / 2];
    })()""" % selector.replace("'", "\\'"))
    if not box:
        return False
    for kind in ("mousePressed", "mouseReleased"):
        b.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
               button="left", clickCount=1)
    return True


# the accessibility basics, checked in the page: headers, names, contrast
A11Y = r"""(() => {
    const bad = [];
    const lum = c => {
        const v = c.match(/[\d.]+/g).map(Number);
        const f = x => { x /= 255;
            return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
        return [0.2126 * f(v[0]) + 0.7152 * f(v[1]) + 0.0722 * f(v[2]),
                v.length > 3 ? v[3] : 1];
    };
    const bg = e => {
        for (; e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor;
            if (lum(c)[1] > 0) return c;
        }
        return 'rgb(255, 255, 255)';
    };
    document.querySelectorAll('th').forEach(th => {
        if (!['col', 'row'].includes(th.scope)) bad.push('th without scope: '
                                                   + th.innerText);
    });
    document.querySelectorAll('button').forEach(b => {
        const name = (b.getAttribute('aria-label') || b.innerText).trim();
        if (!name) bad.push('button without a name: ' + b.outerHTML);
    });
    document.querySelectorAll('input, select').forEach(i => {
        if (!i.closest('label') && !i.getAttribute('aria-label'))
            bad.push('control without a label: ' + i.outerHTML);
    });
    const c = document.querySelector('canvas');
    if (c.getAttribute('role') !== 'img' || !c.getAttribute('aria-label'))
        bad.push('chart without a text alternative');
    if (!document.documentElement.lang) bad.push('no lang');
    let checked = 0;
    const walk = document.createTreeWalker(document.body,
                                           NodeFilter.SHOW_TEXT);
    for (let t; (t = walk.nextNode()); ) {
        const e = t.parentElement;
        if (!t.data.trim() || !e.getClientRects().length
            || e.closest('[hidden], dialog:not([open]), .sr-only')) continue;
        const s = getComputedStyle(e);
        const fg = lum(s.color)[0], back = lum(bg(e))[0];
        const ratio = (Math.max(fg, back) + 0.05) / (Math.min(fg, back) + 0.05);
        const size = parseFloat(s.fontSize), weight = Number(s.fontWeight);
        const large = size >= 24 || (size >= 18.66 && weight >= 700);
        checked++;
        if (ratio < (large ? 3 : 4.5))
            bad.push('contrast ' + ratio.toFixed(2) + ': "'
                     + t.data.trim().slice(0, 30) + '"');
    }
    return {bad: bad, checked: checked};
})()"""


class Later(http.server.BaseHTTPRequestHandler):
    """The API as it will be once the guards and evidence issues land: the
    module's own answers, with a tripped guard and per-field evidence
    added to the status (their shapes from the issues' README drafts)."""

    front = None
    incident = False

    def do_GET(self):
        path = self.path.replace("/x/", "/_strangler/", 1)
        status, headers, body = self.front.request(
            "GET", path, headers={"Accept": self.headers.get("Accept", "")})
        if path.startswith("/_strangler/status"):
            j = json.loads(body)
            for r in j["routes"]:
                if r["name"] == "conversations":
                    r["guard"] = {"state": "tripped", "dry_run": False,
                                  "window": {"requests": 1540,
                                             "error_rate": 5.19,
                                             "mismatch_rate": None,
                                             "p99_ms": 12}}
                if r["name"] == "users" and self.incident:
                    r["override"] = {"reads": "messages", "by": "alice",
                                     "via": "break-glass",
                                     "reason": "INC-4711",
                                     "at": "2026-12-06T03:12:09Z"}
                    r["pending"] = "etcd"
            body = json.dumps(j)
        elif path.startswith("/_strangler/progress/routes"):
            j = json.loads(body)
            for r in j["routes"]:
                if r["name"] == "inbox":
                    r["shadow"] = [10, 5]
            body = json.dumps(j)
        elif path.startswith("/_strangler/progress") and self.incident:
            j = json.loads(body)
            j["etcd"] = {"connected": False}
            body = json.dumps(j)
        elif path.startswith("/_strangler/routes/inbox/diffs"):
            # the shape of GET routes/NAME/diffs (docs/shadowing.md, per field)
            status = 200
            body = json.dumps({"route": "inbox", "compared": 15,
                               "mismatched": 5, "noise_share": 0.7,
                               "fields": [
                                   {"path": "$.ts", "differences": 40,
                                    "verdict": "noise"},
                                   {"path": "$.total", "differences": 5,
                                    "verdict": "difference"}]})
        self.send_response(status)
        for h in ("Content-Type", "Content-Security-Policy"):
            if headers.get(h):
                self.send_header(h, headers[h])
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def light_up(t, b, front):
    """guard and evidence columns appear when the status has them"""
    Later.front = front
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             Later)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        b.open("http://127.0.0.1:%d/x/" % server.server_address[1])
        t.ok(b.wait("document.body.dataset.refreshed >= 1 && "
                    "!!document.querySelector('th[data-key=guard]') && "
                    "!!document.querySelector('th[data-key=evidence]')", 15),
             "guard and evidence columns light up when the status has them")
        guard = cell(b, "conversations", "guard") or ""
        t.ok("tripped" in guard and "5.19% 5xx" in guard,
             "a tripped guard and its last window are shown", guard)
        t.ok(b.eval("!!document.querySelector('button[data-action=rearm]"
                    "[data-route=conversations]')"),
             "a tripped guard can be re-armed from the page")
        ok = b.wait("""(() => {
            const keys = [...document.querySelectorAll('#head-row th')]
                         .map(th => th.dataset.key);
            const tr = document.querySelector('#rows tr[data-route="inbox"]');
            return tr && tr.children[keys.indexOf('evidence')].innerText
                         .includes('$.total (5)');
        })()""", 10)
        ev = cell(b, "inbox", "evidence") or ""
        t.ok(ok and "$.ts" not in ev and "noise 70" in ev,
             "the differing fields are read from routes/NAME/diffs, "
             "noise apart", ev)
        href = b.eval("(() => { const a = document.querySelector("
                      "'#rows tr[data-route=\"inbox\"] td a'); "
                      "return a && a.getAttribute('href'); })()")
        t.ok(href == "/x/routes/inbox/diffs",
             "the mismatch figure links to the route's field evidence",
             href)

        # an incident: etcd is down, a break-glass rollback is pending
        Later.incident = True
        t.ok(b.wait("!document.getElementById('fleet-banner').hidden", 10),
             "etcd down: a banner says so")
        t.ok(b.wait("""(() => {
            const tr = document.querySelector('#rows tr[data-route="users"]');
            return tr && tr.innerText.includes('pending etcd')
                   && tr.innerText.includes('via break-glass')
                   && tr.innerText.includes('why: INC-4711')
                   && tr.innerText.includes('at 2026-12-06T03:12:09Z');
        })()""", 20),
             "a pending change shows as such, with who, how, why and when "
             "(UTC)", cell(b, "users", "override"))
        btn = b.eval("""(() => {
            const q = s => document.querySelector(s);
            const c = '[data-route=conversations]';
            const rb = q('button[data-action=rollback]' + c);
            const mv = q('button[data-action=reads]' + c);
            const cl = q('button[data-action=clear][data-route=users]');
            return [rb && rb.textContent, rb && rb.disabled,
                    mv && mv.disabled, cl && cl.disabled];
        })()""")
        t.ok(btn == ["Roll back (break-glass)", False, True, True],
             "etcd down: break-glass rollback offered, the rest disabled",
             btn)
        Later.incident = False
        t.ok(b.wait("document.getElementById('fleet-banner').hidden", 10),
             "etcd back: the banner goes")
    finally:
        Later.incident = False
        server.shutdown()


def main():
    t = Tap()

    if not shutil.which("chromium"):
        t.ok(False, "chromium is installed (mk/deps.sh test installs it)")
        return t.done()

    front = Front()
    front.start()
    b = None

    try:
        # the CSP names exactly the inline script and style
        status, headers, page = front.request(
            "GET", "/_strangler/", headers={"Accept": "text/html"})
        csp = headers.get("Content-Security-Policy", "")
        want = []
        for tag in ("script", "style"):
            m = re.search(r"<%s>(.*?)</%s>" % (tag, tag), page, re.S)
            digest = hashlib.sha256(m.group(1).encode()).digest()
            want.append("%s-src 'sha256-%s'" % (
                tag, base64.b64encode(digest).decode()))
        t.ok(status == 200 and all(w in csp for w in want)
             and "default-src 'none'" in csp,
             "the page's CSP allows its own script and style by hash",
             csp)

        b = Browser()
        b.open(front.url("/_strangler/"))
        t.ok(b.wait("document.body.dataset.refreshed >= 1", 15),
             "the page loads and reads the API")
        t.ok(set(rows(b) or []) == ROUTES, "it shows the demo table's routes",
             rows(b))
        cards = b.eval("['legacy', 'shadowing', 'reads', 'owned']"
                       ".map(s => document.getElementById('n-' + s)"
                       ".textContent)")
        t.ok(cards == ["1", "1", "1", "1"], "progress: one route per stage",
             cards)
        t.ok(b.eval("document.body.dataset.access") == "write"
             and b.eval("document.getElementById('readonly').hidden"),
             "127.0.0.1 may write here: actions, no read-only banner")

        # traffic: reads of conversations go to messages (3 of them 500)
        for i in range(30):
            front.request("GET", "/api/conversations/%d" % i)
        for i in range(3):
            front.request("GET", "/api/conversations/500")
        for i in range(10):
            front.request("GET", "/api/users/%d" % i)
        for _ in range(50):
            share = front.json("/_strangler/progress")[
                "requests"]["last_minute"]["new_share"]
            want = "%.1f%%" % (share * 100)
            got = b.eval("document.getElementById('share-minute')"
                         ".textContent")
            if got == want:
                break
            b.idle(0.2)
        t.ok(got == want, "after traffic: the new services' share of the "
             "last minute, as the API has it: " + want, got)
        rps = None
        for _ in range(50):
            rps = cell(b, "conversations", "rps")
            if rps and re.match(r"^\d", rps) and float(rps.split()[0]) > 0:
                break
            b.idle(0.2)
        t.ok(rps and float(rps.split()[0]) > 0
             and rps.endswith("(33)"),
             "after traffic: requests/s of a route, and the count", rps)
        errors = cell(b, "conversations", "errors")
        t.ok(errors == "9.1% (3 of 33)",
             "after traffic: its 5xx rate, and the counts", errors)

        # an override made elsewhere shows up
        front.request("PUT", "/_strangler/routes/users",
                      {"reads": "messages"})
        t.ok(b.wait("""(() => {
                const tr = document.querySelector(
                    '#rows tr[data-route="users"]');
                return tr && tr.innerText.includes('reads moved')
                       && tr.innerText.includes('reads \u2192 messages')
                       && tr.innerText.includes('by 127.0.0.1')
                       && document.getElementById('n-reads')
                          .textContent === '2';
            })()""", 10),
             "after an override: the route's stage, override and who made it",
             cell(b, "users", "override"))

        # the rollback button, confirmed, rolls back (seen through the API)
        t.ok(click(b, 'button[data-action="rollback"]'
                      '[data-route="conversations"]')
             and b.wait("document.getElementById('confirm').open", 5),
             "rollback asks for confirmation first")
        t.ok(front.json("/_strangler/routes/conversations")["override"]
             is None, "nothing rolled back before the confirmation")
        click(b, "#confirm-ok")
        answer = b.wait("(() => { const a = document.getElementById("
                        "'confirm-answer'); return !a.hidden && "
                        "a.textContent; })()", 10)
        t.ok(answer and "HTTP 200" in answer and '"name": "conversations"'
             in answer, "the API's answer is shown", answer)
        route = front.json("/_strangler/routes/conversations")
        t.ok(route["override"] is not None
             and route["effective"]["reads"] == "monolith",
             "the rollback happened: reads are back on monolith",
             route.get("effective"))
        click(b, "#confirm-cancel")
        t.ok(b.wait("""(() => {
                const tr = document.querySelector(
                    '#rows tr[data-route="conversations"]');
                return tr && tr.innerText.includes('legacy')
                       && tr.innerText.includes('reads \u2192 monolith');
            })()""", 10),
             "the page shows the rolled back route")
        t.ok(b.wait("!document.querySelector('button[data-action=rollback]"
                    "[data-route=conversations]') && "
                    "!!document.querySelector('button[data-action=clear]"
                    "[data-route=conversations]')", 10),
             "a rolled back route offers no rollback, but Clear override")
        t.ok(b.eval("!document.querySelector('button[data-action=clear]"
                    "[data-route=inbox]')"),
             "no Clear override without an override")
        t.ok(re.search(r"at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                       cell(b, "conversations", "override") or "")
             and re.search(r"\d\d:\d\d:\d\dZ$",
                           b.eval("document.getElementById('live')"
                                  ".textContent") or ""),
             "times are UTC, ISO 8601", cell(b, "conversations", "override"))
        click(b, 'button[data-action="clear"][data-route="conversations"]')
        b.wait("document.getElementById('confirm').open", 5)
        click(b, "#confirm-ok")
        b.wait("(() => { const a = document.getElementById("
               "'confirm-answer'); return !a.hidden && a.textContent; })()",
               10)
        t.ok(front.json("/_strangler/routes/conversations")["override"]
             is None, "Clear override drops it (DELETE)")
        click(b, "#confirm-cancel")

        # filter and sort
        b.eval("(() => { const f = document.getElementById('filter');"
               "f.value = 'inbox'; f.dispatchEvent(new Event('input')); })()")
        t.ok(rows(b) == ["inbox"], "the filter keeps matching routes",
             rows(b))
        b.eval("(() => { const f = document.getElementById('filter');"
               "f.value = ''; f.dispatchEvent(new Event('input')); })()")
        click(b, 'button[data-sort="name"]')
        t.ok(rows(b) == sorted(ROUTES), "sorted by name", rows(b))

        a11y = b.eval(A11Y)
        t.ok(not a11y["bad"] and a11y["checked"] > 50,
             "accessibility: header scopes, names, labels, contrast "
             "(%d texts)" % a11y["checked"], "\n".join(a11y["bad"]))

        t.ok(b.eval("!document.querySelector('th[data-key=guard], "
                    "th[data-key=evidence]')"),
             "no guard or evidence column while the API has none")

        t.ok(not b.errors, "no console errors, no CSP violations",
             "\n".join(b.errors))

        light_up(t, b, front)
        t.ok(not b.errors, "no console errors there either",
             "\n".join(b.errors))

        # read-only where writes are denied; the probe's 403s are expected
        b.errors = []
        b.open(front.url("/_view/"))
        t.ok(b.wait("document.body.dataset.refreshed >= 1 && "
                    "document.body.dataset.access === 'read-only'", 15),
             "read-only location: the page loads and knows")
        t.ok(b.eval("!document.getElementById('readonly').hidden && "
                    "!document.querySelector('button[data-action]') && "
                    "!document.querySelector('th[data-key=actions]')"),
             "read-only: says so, and offers no action")
        t.ok(set(rows(b) or []) == ROUTES, "read-only: the routes are shown")
        status = front.request("POST", "/_view/routes/users/rollback")[0]
        t.ok(status == 403, "read-only: nginx does refuse writes there",
             status)
        others = [e for e in b.errors
                  if not ("403" in e or "access?method=" in e)]
        t.ok(not others, "read-only: no console error but the probe's 403s",
             "\n".join(others))
    finally:
        if b:
            b.close()
        front.stop()

    return t.done()


if __name__ == "__main__":
    sys.exit(main())
