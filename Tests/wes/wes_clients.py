#!/usr/bin/env python3
"""The GA4GH WES interface of a running hpcbridge, driven by the community's clients (pinned in the
Makefile's wes-tools): wes-client (wes-service 5.0) for --info, --list, --get and --log with a bearer
token, `requests` for the submissions exactly as wes-client's library sends them, and ai4gh's WES
compliance suite. Called by WESClientsIntegrationTests with the service's address, two groups' tokens
and the demo cohort's sample sheets; prints one JSON summary line and exits non-zero on the first
problem, naming it.
"""
import argparse
import csv
import json
import subprocess
import sys
import time

import requests

TERMINAL = {"COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED"}


def fail(message):
    print(json.dumps({"ok": False, "problem": message}))
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def wes_client(args, host, token, *extra):
    """Runs wes-client and returns its standard output (JSON for --info, --list and --get)."""
    command = [args.wes_client, "--host", host, "--proto", "http", "--auth", f"Bearer {token}", *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f"{' '.join(command[3:])} exited {result.returncode}: {result.stderr[-2000:]}")
    return result.stdout


def rows(path):
    with open(path, newline="") as sheet:
        return list(csv.DictReader(sheet))


def parts(sheet_rows, cohort_id, tags):
    """The fields of a run request, as wes-client's build_wes_request lists them (a list of pairs)."""
    params = {"cohort_id": cohort_id, "reference_genome": "demo_genome", "quality_threshold": 20,
              "depth_threshold": 5, "samples": sheet_rows}
    return [
        ("workflow_params", json.dumps(params)),
        ("workflow_type", "HPCBRIDGE"),
        ("workflow_type_version", "1"),
        ("workflow_url", "germline_cohort"),
        ("tags", json.dumps(tags)),
        ("workflow_engine_parameters", json.dumps({"parallel_limit": "2"})),
    ]


def submit(base, token, fields, multipart):
    """POST /runs as wes-client's library does (requests, data= the fields), with the bearer token it
    leaves out upstream. `multipart`: the fields as multipart parts (wes-client's form when it attaches
    files); otherwise requests sends them URL-encoded, as wes-client does without attachments."""
    headers = {"Authorization": f"Bearer {token}"}
    if multipart:
        answer = requests.post(f"{base}/ga4gh/wes/v1/runs", files=[(name, (None, value)) for name, value in fields],
                               headers=headers, timeout=60)
    else:
        answer = requests.post(f"{base}/ga4gh/wes/v1/runs", data=fields, headers=headers, timeout=60)
    check(answer.status_code == 200, f"POST /runs answered {answer.status_code}: {answer.text}")
    return answer.json()["run_id"]


def wait(args, host, token, run_id, timeout=300):
    """Polls `wes-client --get` until the run ends; returns its RunLog."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = json.loads(wes_client(args, host, token, "--get", run_id))
        if log["state"] in TERMINAL:
            return log
        time.sleep(2)
    fail(f"run {run_id} did not end within {timeout} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--other-token", required=True)
    parser.add_argument("--sheet", required=True)
    parser.add_argument("--broken-sheet", required=True)
    parser.add_argument("--wes-client", required=True)
    parser.add_argument("--ai4gh", required=True)
    args = parser.parse_args()
    host = f"127.0.0.1:{args.port}"
    base = f"http://{host}"
    auth = {"Authorization": f"Bearer {args.token}"}
    summary = {"ok": True}

    info = json.loads(wes_client(args, host, args.token, "--info"))
    check(info["type"] == {"group": "org.ga4gh", "artifact": "wes", "version": "1.1.0"}, f"service-info type: {info['type']}")
    check("HPCBRIDGE" in info["workflow_type_versions"], f"workflow types: {info['workflow_type_versions']}")
    check("germline_cohort" in info["tags"]["pipelines"].split(","), f"pipelines: {info['tags']}")
    summary["engines"] = sorted(info["workflow_engine_versions"])

    # A run to its end, sent as multipart (wes-client's form when it attaches files).
    complete_id = submit(base, args.token, parts(rows(args.sheet), "wes_demo", {"project": "wes-e2e"}), multipart=True)
    # A run whose second sample's reads are truncated, sent URL-encoded (wes-client's form without attachments).
    failing_id = submit(base, args.token, parts(rows(args.broken_sheet), "wes_broken", {"project": "wes-e2e"}), multipart=False)
    # A run cancelled at once: CANCELING until Slurm has ended its steps, then CANCELED.
    cancelled_id = submit(base, args.token, parts(rows(args.sheet), "wes_cancelled", {}), multipart=True)
    cancel = requests.post(f"{base}/ga4gh/wes/v1/runs/{cancelled_id}/cancel", headers=auth, timeout=60)
    check(cancel.status_code == 200 and cancel.json() == {"run_id": cancelled_id}, f"cancel answered {cancel.status_code}: {cancel.text}")
    first = requests.get(f"{base}/ga4gh/wes/v1/runs/{cancelled_id}/status", headers=auth, timeout=60).json()["state"]
    check(first == "CANCELING", f"right after cancel the run is {first}, not CANCELING")
    summary["cancel_states"] = [first]

    listed = json.loads(wes_client(args, host, args.token, "--list"))
    listed_ids = [run["run_id"] for run in listed["runs"]]
    check({complete_id, failing_id, cancelled_id} <= set(listed_ids), f"--list lacks a run: {listed_ids}")
    check(next(run for run in listed["runs"] if run["run_id"] == complete_id)["tags"] == {"project": "wes-e2e"}, "tags are not listed")

    complete = wait(args, host, args.token, complete_id)
    check(complete["state"] == "COMPLETE", f"run {complete_id} ended {complete['state']}: {json.dumps(complete)[:3000]}")
    check(complete["outputs"]["variants"].endswith("/wes_demo.vcf.gz"), f"outputs: {complete['outputs']}")
    check(sorted(complete["outputs"]["bam"]) == sorted(row["sample_id"] for row in rows(args.sheet)), f"outputs: {complete['outputs']}")
    check(complete["request"]["workflow_url"] == "germline_cohort" and complete["request"]["tags"] == {"project": "wes-e2e"},
          f"the request as received: {complete['request']}")
    tasks = requests.get(complete["task_logs_url"], headers=auth, timeout=60).json()
    check([task["state"] for task in tasks["task_logs"]] == ["COMPLETE"] * len(tasks["task_logs"]) and len(tasks["task_logs"]) == 5,
          f"tasks: {tasks}")
    log_text = requests.get(complete["run_log"]["stderr"], headers=auth, timeout=60)
    check(log_text.status_code == 200 and log_text.headers["Content-Type"].startswith("text/plain"),
          f"the completed run's stderr URL answered {log_text.status_code}: {log_text.text[:500]}")
    summary["complete"] = complete_id

    failing = wait(args, host, args.token, failing_id)
    check(failing["state"] == "EXECUTOR_ERROR", f"run {failing_id} ended {failing['state']}, not EXECUTOR_ERROR")
    check(failing["run_log"].get("exit_code", 0) != 0, f"the failed run's exit code: {failing['run_log']}")
    check(failing["run_log"]["stderr"].startswith("http://"), f"stderr URL: {failing['run_log']['stderr']}")
    stderr = wes_client(args, host, args.token, "--log", failing_id)
    check(len(stderr.strip()) > 0, "wes-client --log printed nothing for the failed run")
    summary["failed_exit_code"] = failing["run_log"]["exit_code"]
    summary["failed_stderr_tail"] = stderr.strip().splitlines()[-1][:200]

    deadline = time.time() + 120
    state = first
    while state != "CANCELED" and time.time() < deadline:
        time.sleep(1)
        state = requests.get(f"{base}/ga4gh/wes/v1/runs/{cancelled_id}/status", headers=auth, timeout=60).json()["state"]
        if summary["cancel_states"][-1] != state:
            summary["cancel_states"].append(state)
    check(state == "CANCELED", f"the cancelled run is {state} two minutes later")

    other = requests.get(f"{base}/ga4gh/wes/v1/runs/{complete_id}", headers={"Authorization": f"Bearer {args.other_token}"}, timeout=60)
    check(other.status_code == 404 and other.json().get("status_code") == 404, f"another group's token got {other.status_code}: {other.text}")

    # ai4gh exits 0 whatever it finds: its JSON report is what counts.
    report = subprocess.run([args.ai4gh, "test", "wes", base, "--format", "json"], capture_output=True, text=True, timeout=120)
    try:
        result = json.loads(report.stdout)
    except json.JSONDecodeError:
        fail(f"ai4gh printed no JSON report: {report.stdout[-1000:]} {report.stderr[-1000:]}")
    check(result["summary"]["failed"] == 0 and result["summary"]["errors"] == 0 and result["summary"]["passed"] >= 2,
          f"ai4gh test wes: {json.dumps(result['summary'])} {json.dumps(result['tests'])}")
    summary["ai4gh"] = result["summary"]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
