#!/usr/bin/env python3
"""The web pages in a real browser: headless Chromium (Debian's chromium and chromium-driver) driven by
selenium (pinned in `make ui-tools`), against a running `hpcbridge serve` on the live dev cluster.

Run by Tests/HPCBridgeTests/Integration/WebUIBrowserTests.swift, which starts the service, writes the demo
reads and the sample sheets, and passes the tokens. Prints one JSON summary line last; exits 1 on the
first failed check, with what was seen.
"""
import argparse
import json
import os
import shutil
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import Select, WebDriverWait

summary = {"ok": False, "screenshots": [], "pages_checked": 0}


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Selenium Manager would try to download a driver; Debian's is named explicitly.
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class Visit:
    """One browser session: every page it opens is checked for secrets, labels and CSP violations."""

    def __init__(self, args, secrets):
        self.args = args
        self.secrets = secrets
        self.driver = browser()
        self.wait = WebDriverWait(self.driver, 60)

    def url(self, path):
        return f"http://127.0.0.1:{self.args.port}{path}"

    def open(self, path):
        self.driver.get(self.url(path))
        self.checked()

    def checked(self):
        """The page now shown: no token in it or its URL, every visible input labelled, no CSP report."""
        driver = self.driver
        source = driver.page_source
        for secret in self.secrets:
            check(secret not in source, f"a token is in the page {driver.current_url}")
            check(secret not in driver.current_url, f"a token is in the URL {driver.current_url}")
        unlabelled = driver.execute_script("""
            return Array.from(document.querySelectorAll('input, select, textarea'))
              .filter(e => e.type !== 'hidden' && (!e.labels || e.labels.length === 0))
              .map(e => e.name || e.id);""")
        check(not unlabelled, f"inputs without a label on {driver.current_url}: {unlabelled}")
        for entry in driver.get_log("browser"):
            message = entry.get("message", "")
            check("Content Security Policy" not in message and "Refused to" not in message,
                  f"the browser refused something on {driver.current_url}: {message}")
        summary["pages_checked"] += 1

    def shot(self, name):
        path = os.path.join(self.args.screenshots, f"{name}.png")
        self.driver.save_screenshot(path)
        summary["screenshots"].append(path)

    def sign_in_with_keyboard(self, token):
        """Sign-in by keyboard only: Tab from the page's start to the token field, type, Enter."""
        self.open("/ui/dashboard")
        check("/ui/sign-in" in self.driver.current_url, f"an anonymous visit was not sent to sign in: {self.driver.current_url}")
        body = self.driver.find_element(By.TAG_NAME, "body")
        body.click()
        for _ in range(8):
            if self.driver.execute_script("return document.activeElement && document.activeElement.id") == "token":
                break
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
        check(self.driver.execute_script("return document.activeElement.id") == "token", "Tab never reached the token field")
        ActionChains(self.driver).send_keys(token).send_keys(Keys.ENTER).perform()
        self.wait.until(lambda d: "/ui/dashboard" in d.current_url)
        self.checked()
        cookies = {c["name"]: c for c in self.driver.get_cookies()}
        session = cookies.get("hpcbridge_session")
        check(session is not None, f"no session cookie after sign-in: {list(cookies)}")
        check(session.get("httpOnly") is True and session.get("sameSite") == "Strict", f"session cookie attributes: {session}")
        check(session.get("expiry") is not None, "the session cookie has no expiry")
        check(not self.driver.execute_script("return document.cookie").count("hpcbridge_session"), "the session cookie is readable by script")

    def quit(self):
        self.driver.quit()


def field_error(driver, name):
    found = driver.find_elements(By.ID, f"e-{name}")
    return found[0].text if found else ""


def submit_run(visit, pipeline, cohort_id, sheet_path, extra=None):
    visit.open(f"/ui/pipelines/{pipeline}")
    driver = visit.driver
    driver.find_element(By.ID, "f-cohort_id").clear()
    driver.find_element(By.ID, "f-cohort_id").send_keys(cohort_id)
    Select(driver.find_element(By.ID, "f-reference_genome")).select_by_value("demo_genome")
    for name, value in (extra or {}).items():
        element = driver.find_element(By.ID, f"f-{name}")
        element.clear()
        element.send_keys(value)
    driver.find_element(By.ID, "f-samples_file").send_keys(sheet_path)
    driver.find_element(By.ID, "submit").click()


def wait_for_state(visit, states, timeout=300):
    """Waits, without reloading, until the page's run or job state badge shows one of `states`."""
    WebDriverWait(visit.driver, timeout).until(
        lambda d: d.execute_script("var b = document.getElementById('run-state') || document.getElementById('job-state'); return b && b.textContent") in states)
    return visit.driver.execute_script("var b = document.getElementById('run-state') || document.getElementById('job-state'); return b.textContent")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--other-token", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--sheet", required=True, help="a valid germline sample sheet (CSV)")
    parser.add_argument("--long-sheet", required=True, help="a valid sheet with many samples, for progress and cancel")
    parser.add_argument("--broken-sheet", required=True, help="a sheet whose second sample's read 1 is truncated")
    parser.add_argument("--bad-sheet", required=True, help="a sheet with a sample id the pipeline refuses")
    parser.add_argument("--truncated", required=True, help="the truncated read file of the broken sheet")
    parser.add_argument("--intact", required=True, help="the intact read file it was cut from")
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    secrets = [args.token, args.other_token, args.admin_token]

    visit = Visit(args, secrets)
    try:
        visit.sign_in_with_keyboard(args.token)
        check("Research group cancer_genomics_lab" in visit.driver.page_source, "the dashboard does not name the group")

        # 1. The generated form, sent with errors: the service's messages appear beside their fields.
        visit.open("/ui/pipelines/germline_cohort")
        visit.shot("pipeline-form")
        submit_run(visit, "germline_cohort", "bad cohort!", args.bad_sheet, {"depth_threshold": "twelve"})
        visit.checked()
        check("starting with a letter or digit" in field_error(visit.driver, "cohort_id"), f"cohort_id's error: {field_error(visit.driver, 'cohort_id')!r}")
        check("whole number" in field_error(visit.driver, "depth_threshold"), f"depth_threshold's error: {field_error(visit.driver, 'depth_threshold')!r}")
        check("sample_id" in field_error(visit.driver, "samples"), f"the sheet's errors: {field_error(visit.driver, 'samples')!r}")
        check(visit.driver.find_element(By.ID, "f-cohort_id").get_attribute("value") == "bad cohort!", "the typed value was not kept")
        check(visit.driver.find_element(By.ID, "f-cohort_id").get_attribute("aria-invalid") == "true", "the invalid field is not marked aria-invalid")
        summary_box = visit.driver.find_element(By.ID, "form-errors")
        check(summary_box.find_elements(By.CSS_SELECTOR, "a[href='#f-cohort_id']"), "the error summary does not link to the field")
        check(visit.driver.execute_script("return document.activeElement.id") == "form-errors", "the error summary does not have the focus")
        visit.shot("pipeline-form-errors")
        summary["form_errors"] = {name: field_error(visit.driver, name) for name in ["cohort_id", "depth_threshold"]}

        # 2. A valid run, followed to completed without reloading the page.
        submit_run(visit, "germline_cohort", "web_cohort", args.sheet)
        visit.wait.until(lambda d: "/ui/runs/" in d.current_url)
        run_url = visit.driver.current_url
        visit.checked()
        visit.driver.execute_script("window.hpcbridgeNotReloaded = true;")
        final = wait_for_state(visit, ["completed", "failed", "cancelled"])
        check(final == "completed", f"the valid run ended {final}")
        check(visit.driver.execute_script("return window.hpcbridgeNotReloaded === true;"), "the page was reloaded")
        check(visit.driver.execute_script("return document.getElementById('main').dataset.refreshedAt") is not None, "the page was never refreshed live")
        check(len(visit.driver.find_elements(By.CSS_SELECTOR, "svg.run-graph g.node")) == 2, "the run graph does not have two steps")
        check("web_cohort.vcf.gz" in visit.driver.page_source, "the outputs are not listed")
        summary["completed_run"] = run_url
        visit.shot("run-completed")

        # 3. A run whose second sample's reads are truncated: its failed task shows kind, exit code and stderr.
        submit_run(visit, "germline_cohort", "web_broken", args.broken_sheet)
        visit.wait.until(lambda d: "/ui/runs/" in d.current_url)
        final = wait_for_state(visit, ["completed", "failed", "cancelled"])
        check(final == "failed", f"the broken run ended {final}")
        failed = visit.driver.find_elements(By.CSS_SELECTOR, "article.failed-task")
        check(failed, "no failed task is shown")
        text = failed[0].text
        check("exit code 1" in text and "read 2 has" in text, f"the failed task does not show its exit code and stderr: {text}")
        visit.shot("run-failed")
        failed[0].find_element(By.LINK_TEXT, "Whole log").click()
        visit.wait.until(lambda d: "/log" in d.current_url)
        visit.checked()
        check("read 2 has" in visit.driver.find_element(By.ID, "stderr").text, "the task's log page lacks its stderr")
        summary["failed_task_log"] = visit.driver.current_url

        # The reads repaired, Resume runs what failed again, and the run completes.
        shutil.copyfile(args.intact, args.truncated)
        visit.driver.back()
        visit.wait.until(lambda d: d.find_elements(By.ID, "resume-run"))
        visit.driver.find_element(By.ID, "resume-run").click()
        visit.wait.until(lambda d: "/ui/runs/" in d.current_url and d.find_elements(By.ID, "run-state"))
        final = wait_for_state(visit, ["completed", "failed", "cancelled"])
        check(final == "completed", f"the resumed run ended {final}")
        summary["resumed_run"] = visit.driver.current_url

        # 4. A long run: progress seen live, then cancelled from its page.
        submit_run(visit, "germline_cohort", "web_long", args.long_sheet)
        visit.wait.until(lambda d: "/ui/runs/" in d.current_url)
        long_url = visit.driver.current_url
        visit.driver.execute_script("window.hpcbridgeNotReloaded = true;")
        WebDriverWait(visit.driver, 120).until(lambda d: d.execute_script("return document.getElementById('main').dataset.refreshedAt"))
        visit.checked()
        visit.shot("run-progress")
        cancel = visit.driver.find_elements(By.ID, "cancel-run")
        check(cancel, f"the long run ended before it could be cancelled: {visit.driver.find_element(By.ID, 'run-state').text}")
        cancel[0].click()
        visit.wait.until(lambda d: d.current_url.split("#")[0] == long_url.split("#")[0] and d.find_elements(By.ID, "run-state"))
        final = wait_for_state(visit, ["cancelled", "completed", "failed"], timeout=120)
        check(final == "cancelled", f"the cancelled run ended {final}")
        summary["cancelled_run"] = long_url

        # 5. A job page: parameters, script digest, the rendered script and its log.
        visit.open(summary["completed_run"].replace(f"http://127.0.0.1:{args.port}", ""))
        visit.driver.find_element(By.LINK_TEXT, "joint_genotype").click()
        visit.wait.until(lambda d: "/ui/jobs/" in d.current_url)
        visit.checked()
        # The log is followed over the event stream: filled, and ended once the job had ended.
        WebDriverWait(visit.driver, 60).until(lambda d: d.find_element(By.ID, "log").get_attribute("data-following") == "ended")
        summary["job_log_lines"] = len(visit.driver.find_element(By.ID, "log").text.splitlines())
        check(summary["job_log_lines"] > 0, "the job's log stayed empty")
        check("sha256:" in visit.driver.page_source and "#!/" in visit.driver.find_element(By.CSS_SELECTOR, "pre.script").get_attribute("textContent"),
              "the job page lacks its digest or script")
        visit.shot("job")

        visit.open("/ui/dashboard")
        visit.shot("dashboard")
        own_run = summary["completed_run"]

        # 6. Sign out: the old session opens nothing.
        visit.driver.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-out'] button").click()
        visit.wait.until(lambda d: "/ui/sign-in" in d.current_url)
        visit.driver.get(own_run)
        check("/ui/sign-in" in visit.driver.current_url, "after sign-out the run page still opened")
    finally:
        visit.quit()

    # 7. Another group: the first group's run answers 404, exactly as a missing one.
    other = Visit(args, secrets)
    try:
        other.sign_in_with_keyboard(args.other_token)
        other.open(own_run.replace(f"http://127.0.0.1:{args.port}", ""))
        check(other.driver.find_element(By.TAG_NAME, "h1").text == "Not found", f"another group sees the run: {other.driver.title}")
        check("web_cohort" not in other.driver.page_source, "another group's page shows the run's data")
        other.open("/ui/admin")
        check(other.driver.find_element(By.TAG_NAME, "h1").text == "Not found", "a group opened the admin page")
    finally:
        other.quit()

    # 8. The admin sees every group, the clusters' health and the quotas.
    admin = Visit(args, secrets)
    try:
        admin.sign_in_with_keyboard(args.admin_token)
        admin.open("/ui/admin")
        text = admin.driver.find_element(By.ID, "main").text
        check("cancer_genomics_lab" in text and "systems_biology_lab" in text and "answering" in text, f"the admin page: {text[:400]}")
        admin.shot("admin")
    finally:
        admin.quit()
    summary["ok"] = True


if __name__ == "__main__":
    try:
        main()
    except (CheckFailed, TimeoutException) as failure:
        summary["failure"] = f"{type(failure).__name__}: {failure}"
    print(json.dumps(summary))
    sys.exit(0 if summary["ok"] else 1)
