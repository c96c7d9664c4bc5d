"""No change from another site, in a real headless Chromium.

Run by tests/073-cross-site-browser.t; prints TAP.  A page on another
origin (another host: cross-site; the same host on another port:
same-site) tries what a hostile page can: forms that POST (urlencoded,
text/plain), no-cors fetches that POST (text/plain, a typeless body, no
body), a PUT and a DELETE (which need a preflight).  nginx must have
received and refused them (its error log says so) and nothing changed (the
API says so).  Then the dashboard's own rollback button still works.  See
front.py for the nginx, cdp.py for the browser.
"""

import http.server
import shutil
import sys
import threading

from browser_test import click
from cdp import Browser
from front import Front, Tap, free_port

ATTACK = """<!doctype html>
<html><head><meta charset="utf-8"><title>hostile</title></head><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="f1" method="POST" target="sink1"
      action="%(api)sroutes/conversations/rollback">
  <input name="x" value="1"></form>
<form id="f2" method="POST" target="sink2" enctype="text/plain"
      action="%(api)sroutes/users/rollback">
  <input name="x" value="1"></form>
<script>
const api = "%(api)s";
const sent = p => p.then(() => "answered", e => "failed: " + e);
document.getElementById("f1").submit();
document.getElementById("f2").submit();
window.attacks = Promise.all([
    sent(fetch(api + "routes/conversations/rollback", {method: "POST",
        mode: "no-cors", headers: {"Content-Type": "text/plain"},
        body: "{}"})),
    sent(fetch(api + "routes/users/rollback", {method: "POST",
        mode: "no-cors", body: new Blob(["{}"])})),
    sent(fetch(api + "routes/users/rollback", {method: "POST",
        mode: "no-cors"})),
    sent(fetch(api + "routes/users", {method: "PUT",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({reads: "monolith"})})),
    sent(fetch(api + "routes/users", {method: "DELETE"}))
]);
</script></body></html>
"""

# each page makes nginx refuse at least these: two forms, three fetches
REFUSED = 5


class Hostile(http.server.BaseHTTPRequestHandler):
    api = None

    def do_GET(self):
        body = (ATTACK % {"api": self.api}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def overrides(front):
    return {r: front.json("/_strangler/routes/" + r)["override"]
            for r in ("conversations", "users")}


def attack(t, b, front, page, what):
    before = front.error_log().count(" refused: ")
    b.open(page)
    results = b.wait("window.attacks", 15)
    t.ok(results and len(results) == 5,
         what + ": the page's fetches ran", results)
    refused = 0
    for _ in range(50):
        refused = front.error_log().count(" refused: ") - before
        if refused >= REFUSED:
            break
        b.idle(0.2)
    t.ok(refused >= REFUSED,
         what + ": nginx received and refused the forms and the POSTs "
         "(%d refusals logged)" % refused,
         "\n".join(l for l in front.error_log().splitlines()
                   if " refused: " in l))
    return results


def main():
    t = Tap()

    if not shutil.which("chromium"):
        t.ok(False, "chromium is installed (mk/deps.sh test installs it)")
        return t.done()

    front = Front()
    front.start()
    b = server = None

    try:
        # something to roll back on both routes: conversations by the
        # table (reads on messages), users by an override
        status = front.request("PUT", "/_strangler/routes/users",
                               {"reads": "messages"},
                               {"Content-Type": "application/json"})[0]
        t.ok(status == 200, "curl-like: a JSON PUT moves the reads", status)
        start = overrides(front)

        Hostile.api = front.url("/_strangler/")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                                 Hostile)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]

        b = Browser()

        # localhost against 127.0.0.1: another site
        results = attack(t, b, front, "http://localhost:%d/" % port,
                         "cross-site page")
        t.ok(results and all(r.startswith("failed") for r in results[3:]),
             "cross-site page: PUT and DELETE fail their preflight",
             results)
        log = front.error_log()
        t.ok('Origin "http://localhost:%d"' % port in log,
             "cross-site page: refused for its Origin")
        t.ok(overrides(front) == start,
             "cross-site page: nothing changed", overrides(front))

        # the API's host on another port: the same site, not the same origin
        attack(t, b, front, "http://127.0.0.1:%d/" % port,
               "same-site page")
        t.ok('Origin "http://127.0.0.1:%d"' % port in front.error_log(),
             "same-site page: refused for its Origin")
        t.ok(overrides(front) == start,
             "same-site page: nothing changed", overrides(front))

        # curl-like: a POST without a body still rolls back
        status = front.request("POST",
                               "/_strangler/routes/conversations/rollback")[0]
        t.ok(status == 200
             and overrides(front)["conversations"]["reads"] == "monolith",
             "curl-like: a POST without a body rolls back", status)

        # the dashboard's rollback button: same origin, JSON; the attack
        # pages' own 403s may still be on their way to the console
        b.idle(1)
        b.errors = []
        b.open(front.url("/_strangler/"))
        t.ok(b.wait("document.body.dataset.refreshed >= 1", 15),
             "the dashboard loads")
        t.ok(click(b, 'button[data-action="rollback"][data-route="users"]')
             and b.wait("document.getElementById('confirm').open", 5),
             "the dashboard asks to confirm the rollback of users")
        click(b, "#confirm-ok")
        answer = b.wait("(() => { const a = document.getElementById("
                        "'confirm-answer'); return !a.hidden && "
                        "a.textContent; })()", 10)
        t.ok(answer and "HTTP 200" in answer and "rolled back" in answer,
             "the dashboard's rollback is taken", answer)
        users = overrides(front)["users"]
        t.ok(users and users["reads"] == "monolith",
             "the dashboard's rollback happened: users' reads on monolith",
             users)
        t.ok(not b.errors, "no console errors on the dashboard",
             "\n".join(b.errors))
    finally:
        if b:
            b.close()
        if server:
            server.shutdown()
        front.stop()

    return t.done()


if __name__ == "__main__":
    sys.exit(main())
