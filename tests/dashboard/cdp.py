"""A headless Chromium driven over the DevTools protocol (python3-websockets).

Just what the dashboard's tests need: open a page, evaluate JavaScript,
wait for a condition, collect console errors, take screenshots.  Chromium
runs with a fresh profile and without any network service of its own
(no sync, no component updates), so it fetches only what the page asks.
"""

import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websockets

CHROMIUM = os.environ.get("CHROMIUM", "chromium")


class Browser:
    def __init__(self, width=1280, height=900):
        self.profile = tempfile.mkdtemp(prefix="strangler-chromium-")
        args = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-extensions",
            "--disable-default-apps", "--mute-audio",
            "--remote-debugging-port=0", "--remote-allow-origins=*",
            "--user-data-dir=" + self.profile,
            "--window-size=%d,%d" % (width, height), "about:blank",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        try:
            self._connect()
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)
            raise

    def _connect(self):
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file)
                   and len(open(port_file).read().split()) >= 2):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start")
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        pages = []
        while not pages:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%s/json/list" % port) as res:
                pages = [t for t in json.load(res) if t["type"] == "page"]
            time.sleep(0.05)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.ws = self.loop.run_until_complete(
            websockets.connect(pages[0]["webSocketDebuggerUrl"],
                               max_size=None))
        self.next_id = 0
        self.errors = []      # console errors and exceptions
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")

    # one command, its answer; events meanwhile are recorded
    def call(self, method, **params):
        return self.loop.run_until_complete(self._call(method, params))

    async def _call(self, method, params):
        self.next_id += 1
        my = self.next_id
        await self.ws.send(json.dumps({"id": my, "method": method,
                                       "params": params}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        self.events.append(msg)
        if m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append("exception: %s %s" % (
                d.get("text"), d.get("exception", {}).get("description")))
        elif m == "Runtime.consoleAPICalled" and p["type"] in ("error",
                                                               "assert"):
            self.errors.append("console.%s: %s" % (p["type"], " ".join(
                str(a.get("value", a.get("description")))
                for a in p["args"])))
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            e = p["entry"]
            self.errors.append("log (%s): %s %s" % (
                e.get("source"), e.get("text"), e.get("url", "")))

    # pumps events for a while
    def idle(self, seconds):
        async def pump():
            end = time.time() + seconds
            while time.time() < end:
                try:
                    msg = await asyncio.wait_for(self.ws.recv(),
                                                 end - time.time())
                except asyncio.TimeoutError:
                    return
                self._event(json.loads(msg))
        self.loop.run_until_complete(pump())

    def open(self, url):
        self.call("Page.navigate", url=url)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("eval %r: %s" % (
                expr, r["exceptionDetails"].get("exception", {})
                .get("description", r["exceptionDetails"].get("text"))))
        return r["result"].get("value")

    # waits until expr is truthy; its value, or None after the timeout
    def wait(self, expr, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            try:
                v = self.eval(expr)
            except RuntimeError:
                v = None
            if v:
                return v
            self.idle(0.1)
        return None

    def screenshot(self, path, whole=True):
        r = self.call("Page.captureScreenshot", format="png",
                      captureBeyondViewport=whole)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        try:
            self.loop.run_until_complete(self.ws.close())
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
