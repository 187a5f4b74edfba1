"""Browser tests of the claiflow web console: real Chromium through WebDriver (Selenium),
against a real `claiflow server` and real `claiflow agent` processes started by
scripts/browser-tests.sh, which passes their addresses in the environment:

  CLAIFLOW_URL        the server, e.g. http://127.0.0.1:8099
  CLAIFLOW_KEY        an admin API key
  CLAIFLOW_BIN        the claiflow binary (to start agents)
  SCREENSHOTS         a folder: save screenshots of the main pages there (optional)

Prints one line per test and closes with `N passed, N failed`.
"""

import json
import os
import subprocess
import sys
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["CLAIFLOW_URL"]
KEY = os.environ["CLAIFLOW_KEY"]
BIN = os.environ["CLAIFLOW_BIN"]
SHOTS = os.environ.get("SCREENSHOTS")
WORK = os.environ.get("CLAIFLOW_WORK", "/tmp")
agents = []


def api(method, path, body=None, key=KEY):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def start_agent(cluster):
    token = api("POST", "/api/v1/cluster_token", {"name": "agent", "cluster_uuid": cluster})["token"]
    env = dict(os.environ, CLAIFLOW_SERVER=URL, CLAIFLOW_CLUSTER=cluster, CLAIFLOW_TOKEN=token,
               KUBECONFIG="/nonexistent", CLAIFLOW_LOG_LEVEL="warning")
    log = open(os.path.join(WORK, f"agent-{cluster}.log"), "ab")
    agents.append(subprocess.Popen([BIN, "agent", "--workers", "4"], env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log))
    deadline = time.time() + 30
    while time.time() < deadline:
        if api("GET", f"/api/v1/cluster/{cluster}/session/alive").get("alive"):
            return
        time.sleep(0.2)
    raise AssertionError(f"the agent of {cluster} did not connect")


def browser():
    options = Options()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--disable-gpu"]:
        options.add_argument(arg)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    d = webdriver.Chrome(options=options, service=service)
    d.implicitly_wait(0)
    return d


def wait(d, condition, timeout=30, what="condition"):
    # An element found while the page navigates can go stale before it is read: look again.
    # Chromium sometimes reports that as "Node with given id does not belong to the document"
    # instead of a stale element.
    def check(_):
        try:
            return condition()
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return False
            raise
    return WebDriverWait(
        d, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(check, message=f"timed out waiting for {what}")


def sign_in(d, key=KEY):
    d.get(URL + "/ui/login")
    d.find_element(By.ID, "key").send_keys(key)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(d, lambda: d.find_element(By.TAG_NAME, "h1").text == "Overview", what="the overview")


def shot(d, name):
    if SHOTS:
        d.save_screenshot(os.path.join(SHOTS, f"console-{name}.png"))


def sign_out(d):
    d.find_element(By.CSS_SELECTOR, "form.signout button").click()
    wait(d, lambda: "/ui/login" in d.current_url, what="the login page")


state = {}


def test_sign_in_and_create_cluster(d):
    sign_in(d)
    shot(d, "overview")
    d.get(URL + "/ui/clusters")
    d.find_element(By.CSS_SELECTOR, "details summary").click()
    d.find_element(By.ID, "c-name").send_keys("browser-1")
    d.find_element(By.ID, "c-labels").send_keys("env=browser")
    d.find_element(By.CSS_SELECTOR, "#create-cluster button").click()
    wait(d, lambda: d.find_element(By.TAG_NAME, "h1").text == "Cluster browser-1", what="the cluster page")
    uuid = d.current_url.rstrip("/").split("/")[-1]
    state["c1"] = uuid
    start_agent(uuid)
    c2 = api("POST", "/api/v1/cluster", {"name": "browser-2", "labels": {"env": "browser"}})["uuid"]
    start_agent(c2)
    state["c2"] = c2
    d.get(URL + "/ui/clusters?selector=env%3Dbrowser")
    rows = d.find_elements(By.CSS_SELECTOR, "#clusters tbody tr[data-uuid]")
    assert len(rows) == 2, f"{len(rows)} rows"
    assert "connected" in rows[0].text
    shot(d, "clusters")
    d.get(URL + "/ui/clusters/" + uuid)
    assert "live" in d.find_element(By.CSS_SELECTOR, "#sessions tbody tr").text, "the agent's session"
    shot(d, "cluster")


def test_run_template_from_generated_form(d):
    d.get(URL + f"/ui/templates/browser-echo?cluster={state['c1']}")
    shot(d, "template")
    d.find_element(By.ID, "in-msg").send_keys("hello")
    replicas = d.find_element(By.ID, "in-replicas")
    replicas.clear()
    replicas.send_keys("0")
    d.find_element(By.CSS_SELECTOR, "#run-form button[type=submit]").click()
    error = wait(d, lambda: d.find_elements(By.CSS_SELECTOR, '[data-field="replicas"] .field-error'), what="the field error")
    assert "minimum" in error[0].text, error[0].text
    assert d.find_element(By.ID, "in-msg").get_attribute("value") == "hello"
    shot(d, "template-error")
    replicas = d.find_element(By.ID, "in-replicas")
    replicas.clear()
    replicas.send_keys("2")
    d.find_element(By.CSS_SELECTOR, "#run-form button[type=submit]").click()
    wait(d, lambda: "/ui/services/" in d.current_url, what="the service page")
    # Mark the window: a reload would drop the mark.
    d.execute_script("window.__claiflowMark = 42")
    wait(d, lambda: d.find_element(By.ID, "service-status").text == "succeeded", what="succeeded")
    assert d.execute_script("return window.__claiflowMark") == 42, "the page was reloaded"
    wait(d, lambda: d.find_elements(By.ID, "result"), what="the result")
    shot(d, "service")


def test_cancel_long_service(d):
    d.get(URL + f"/ui/templates/browser-sleep?cluster={state['c1']}")
    seconds = d.find_element(By.ID, "in-seconds")
    seconds.clear()
    seconds.send_keys("600")
    d.find_element(By.CSS_SELECTOR, "#run-form button[type=submit]").click()
    wait(d, lambda: "/ui/services/" in d.current_url, what="the service page")
    wait(d, lambda: d.find_element(By.ID, "service-status").text == "processing", what="processing")
    # The live update re-reads the page when the status changes: a button found just before can
    # go stale before the click; look again.
    wait(d, lambda: d.find_element(By.CSS_SELECTOR, "#cancel-form button").click() or True, what="the cancel button")
    wait(d, lambda: d.find_element(By.ID, "service-status").text == "canceled"
         or "cancel requested" in d.find_element(By.CSS_SELECTOR, "dl.facts").text, what="the cancel")


def test_run_over_selector_fills_grid(d):
    d.get(URL + "/ui/templates/browser-echo")
    d.find_element(By.ID, "in-msg").send_keys("fleet")
    d.find_element(By.ID, "t-selector").click()
    d.find_element(By.ID, "selector").send_keys("env=browser")
    wait(d, lambda: "2 clusters match" in d.find_element(By.ID, "selector-preview").text, what="the selector preview")
    d.find_element(By.ID, "max_parallel").send_keys("1")
    d.find_element(By.CSS_SELECTOR, "#run-form button[type=submit]").click()
    wait(d, lambda: "/ui/runs/" in d.current_url, what="the run page")
    d.execute_script("window.__claiflowMark = 7")
    cells = lambda: d.find_elements(By.CSS_SELECTOR, "#run-grid li")
    wait(d, lambda: len(cells()) == 2 and all("succeeded" in c.text for c in cells()), what="the grid to fill")
    # One cluster at a time: two waves, both reaching done without a reload.
    states = lambda: [e.text for e in d.find_elements(By.CSS_SELECTOR, "#run-waves [data-wave-state]")]
    wait(d, lambda: states() == ["done", "done"], what="both waves done")
    wait(d, lambda: d.find_element(By.ID, "run-progress-bar").get_attribute("value") == "2", what="the progress bar")
    assert d.execute_script("return window.__claiflowMark") == 7, "the page was reloaded"
    shot(d, "run")
    d.get(URL + "/ui/services")
    shot(d, "services")


def test_viewer_sees_no_write_controls(d):
    key = api("POST", "/api/v1/api_key", {"name": "browser-viewer", "role": "viewer"})["key"]
    sign_out(d)
    sign_in(d, key)
    d.get(URL + "/ui/clusters")
    assert not d.find_elements(By.ID, "create-cluster")
    d.get(URL + "/ui/clusters/" + state["c1"])
    assert not d.find_elements(By.ID, "labels-form")
    assert not d.find_elements(By.CSS_SELECTOR, "button[value=pause]")
    d.get(URL + "/ui/templates/browser-echo")
    assert not d.find_elements(By.ID, "run-form")
    sign_out(d)
    sign_in(d)


def test_post_without_csrf_refused(d):
    d.get(URL + "/ui/clusters")
    status = d.execute_script("""
        const r = await fetch('/ui/clusters', {method: 'POST', body: 'name=forged',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'}});
        return r.status;""")
    assert status == 403, status
    api_status = d.execute_script("""
        const r = await fetch('/api/v1/cluster', {method: 'POST', body: '{"name":"forged"}',
            headers: {'Content-Type': 'application/json'}});
        return r.status;""")
    assert api_status == 403, api_status
    assert not [c for c in api("GET", "/api/v1/cluster") if c["name"] == "forged"]


# wt-v (issue 16): the sign-in form's CSRF token, error pages, the keyboard.
def test_login_csrf_and_error_pages(d):
    # A cross-site sign-in has no token: a POST without it is refused, even with a valid key.
    status = d.execute_script("""
        const r = await fetch('/ui/login', {method: 'POST', body: 'key=' + encodeURIComponent(arguments[0]),
            headers: {'Content-Type': 'application/x-www-form-urlencoded'}});
        return [r.status, r.headers.get('content-type')];""", KEY)
    assert status[0] == 403 and status[1].startswith("text/html"), status
    d.get(URL + "/ui/clusters/no-such-cluster")
    assert d.find_element(By.TAG_NAME, "h1").text == "Not found"
    assert d.find_element(By.CSS_SELECTOR, "[data-error='404'] [role=alert]").text
    d.find_element(By.LINK_TEXT, "Back to Clusters").click()
    wait(d, lambda: d.find_element(By.TAG_NAME, "h1").text == "Clusters", what="the clusters page")


def test_keyboard_only_form(d):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    d.get(URL + "/ui/templates")
    active = lambda: d.switch_to.active_element
    # The first Tab reaches the skip link, which shows itself and leads to the content.
    ActionChains(d).send_keys(Keys.TAB).perform()
    assert active().get_attribute("class") == "skip", active().get_attribute("outerHTML")
    assert active().rect["x"] >= 0, "the focused skip link is off screen"
    ActionChains(d).send_keys(Keys.ENTER).perform()
    for _ in range(20):
        if active().get_attribute("id") == "search":
            break
        ActionChains(d).send_keys(Keys.TAB).perform()
    assert active().get_attribute("id") == "search", active().get_attribute("outerHTML")
    outline = d.execute_script("return getComputedStyle(arguments[0]).outlineStyle", active())
    assert outline != "none", "no visible focus"
    ActionChains(d).send_keys("browser_e").send_keys(Keys.ENTER).perform()
    wait(d, lambda: "search=browser_e" in d.current_url, what="the search by keyboard")
    rows = d.find_elements(By.CSS_SELECTOR, "main table tbody tr a")
    assert [r.text for r in rows] == ["browser_echo"], [r.text for r in rows]


def main():
    flow = [{"$id": "s1", "$command": "claiflow.echo", "inputs": {"msg": "$inputs.msg", "replicas": "$inputs.replicas"}}]
    schema = {"type": "object", "required": ["msg", "replicas"], "properties": {
        "msg": {"type": "string", "description": "What to echo"},
        "replicas": {"type": "integer", "minimum": 1, "default": 1},
        "mode": {"type": "string", "enum": ["fast", "safe"], "default": "safe"}}}
    api("POST", "/api/v1/template", {"uuid": "browser-echo", "name": "browser_echo", "flow": flow, "inputs": schema})
    sleep_flow = [{"$id": "s1", "$command": "claiflow.sleep", "inputs": {"seconds": "$inputs.seconds"}}]
    api("POST", "/api/v1/template", {"uuid": "browser-sleep", "name": "browser_sleep", "flow": sleep_flow,
                                      "inputs": {"type": "object", "required": ["seconds"],
                                                 "properties": {"seconds": {"type": "integer", "minimum": 0}}}})
    tests = [test_sign_in_and_create_cluster, test_run_template_from_generated_form, test_cancel_long_service,
             test_run_over_selector_fills_grid, test_viewer_sees_no_write_controls, test_post_without_csrf_refused,
             test_login_csrf_and_error_pages, test_keyboard_only_form]
    tests += WEBHOOK_AND_KEY_TESTS
    passed = failed = 0
    d = browser()
    try:
        for t in tests:
            try:
                t(d)
                passed += 1
                print(f"PASS {t.__name__}", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}", flush=True)
                traceback.print_exc()
                d.save_screenshot(os.path.join(WORK, f"failure-{t.__name__}.png"))
    finally:
        d.quit()
        for a in agents:
            a.terminate()
        for a in agents:
            try:
                a.wait(timeout=10)
            except subprocess.TimeoutExpired:
                a.kill()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


# --- Webhooks (delivery log, redeliver) and API keys (admins) -----------------------------------


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_admin_creates_api_key_and_sees_it_once(d):
    d.get(URL + "/ui/")
    d.find_element(By.ID, "nav-apikeys").click()
    wait(d, lambda: d.find_element(By.TAG_NAME, "h1").text == "API keys", what="the API keys page")
    d.find_element(By.ID, "k-name").send_keys("browser-robot")
    Select(d.find_element(By.ID, "k-role")).select_by_visible_text("operator")
    d.find_element(By.CSS_SELECTOR, "#create-key button[type=submit]").click()
    wait(d, lambda: d.find_element(By.TAG_NAME, "h1").text == "API key created", what="the created key")
    key = d.find_element(By.ID, "new-key").get_attribute("value")
    assert key.startswith("cfk_"), key
    assert isinstance(api("GET", "/api/v1/cluster", key=key), list), "the shown key does not work"
    d.find_element(By.LINK_TEXT, "Back to the API keys").click()
    wait(d, lambda: d.find_element(By.TAG_NAME, "h1").text == "API keys", what="the API keys page")
    assert "browser-robot" in d.find_element(By.ID, "apikeys").text
    assert key not in d.page_source, "the key shows a second time"
    shot(d, "apikeys")


def test_failed_delivery_redelivered_from_page(d):
    import http.server
    import threading
    port = free_port()  # closed: every attempt is refused
    api("POST", "/api/v1/webhook", {"uuid": "browser-hook", "name": "browser-hook",
                                    "url": f"http://127.0.0.1:{port}/hook", "method": "POST"})
    # A cluster without an agent: its service's creation is the one status change (one delivery).
    cluster = api("POST", "/api/v1/cluster", {"name": "browser-hookless"})["uuid"]
    api("POST", f"/api/v1/cluster/{cluster}/service",
        {"uuid": "browser-hooked", "flow": [{"$id": "a", "$command": "claiflow.echo"}], "webhook": "browser-hook"})
    d.get(URL + "/ui/webhooks")
    d.find_element(By.LINK_TEXT, "browser-hook").click()
    wait(d, lambda: d.find_element(By.TAG_NAME, "h1").text == "Webhook browser-hook", what="the webhook page")

    def failed_rows():
        d.get(URL + "/ui/webhooks/browser-hook?status=failed")
        return d.find_elements(By.CSS_SELECTOR, "#deliveries tbody tr[data-uuid]")
    rows = wait(d, failed_rows, timeout=60, what="a failed delivery")
    delivery = rows[0].get_attribute("data-uuid")
    assert "failed" in rows[0].text and "none" not in rows[0].text, rows[0].text  # the last error shows
    shot(d, "webhook")

    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    receiver = http.server.HTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        d.find_element(By.CSS_SELECTOR, f'tr[data-uuid="{delivery}"] form.redeliver button').click()
        wait(d, lambda: "redelivered=" in d.current_url, what="the redirect back")
        assert "queued again" in d.find_element(By.CSS_SELECTOR, ".notice").text

        def delivered():
            d.get(URL + "/ui/webhooks/browser-hook")
            row = d.find_element(By.CSS_SELECTOR, f'tr[data-uuid="{delivery}"]')
            return "delivered" in row.find_element(By.CSS_SELECTOR, "[data-delivery-status]").text \
                and "HTTP 200" in row.text
        wait(d, delivered, timeout=30, what="the new attempt in the log")
        assert received and b"browser-hooked" in received[0], received
        row = d.find_element(By.CSS_SELECTOR, f'tr[data-uuid="{delivery}"]')
        assert row.find_element(By.CSS_SELECTOR, "[data-attempts]").text == "1", row.text
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_viewer_sees_no_redeliver_and_no_api_keys(d):
    key = api("POST", "/api/v1/api_key", {"name": "browser-viewer-2", "role": "viewer"})["key"]
    sign_out(d)
    sign_in(d, key)
    try:
        assert not d.find_elements(By.ID, "nav-apikeys"), "a viewer sees the API keys link"
        d.get(URL + "/ui/webhooks/browser-hook")
        assert d.find_elements(By.CSS_SELECTOR, "#deliveries tbody tr[data-uuid]"), "no deliveries shown"
        assert not d.find_elements(By.CSS_SELECTOR, "form.redeliver"), "a viewer sees a redeliver button"
        status = d.execute_script("const r = await fetch('/ui/apikeys'); return r.status;")
        assert status == 403, status
    finally:
        sign_out(d)
        sign_in(d)


WEBHOOK_AND_KEY_TESTS = [test_admin_creates_api_key_and_sees_it_once, test_failed_delivery_redelivered_from_page,
                         test_viewer_sees_no_redeliver_and_no_api_keys]


if __name__ == "__main__":
    sys.exit(main())
