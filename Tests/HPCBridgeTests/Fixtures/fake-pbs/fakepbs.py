#!/usr/bin/env python3
"""A stand-in PBS server for tests: qsub, qstat -f -F json -x and qdel backed by a JSON state file.

Called through symlinks named qsub, qstat and qdel. The state file ($HB_FAKE_PBS_STATE) holds the jobs
in qstat's JSON shape; tests edit it to play the server (start a job, finish it with an Exit_status).
Every call is appended to $HB_FAKE_PBS_STATE.calls so tests can check the arguments.

Arrays and dependencies as OpenPBS documents them: `qsub -J X-Y[%N]` answers "N[].server" and creates
the array (array True, array_indices_submitted, array_indices_remaining, max_run_subjobs) and one subjob
"N[i].server" per index (array_id, array_index); qstat lists subjobs only with -t, shows the array B once
a subjob has left the queue and recomputes array_indices_remaining. `-W depend=afterok:A:B` holds the job
(H, substate 22) until every parent finished with Exit_status 0, then queues it; when a parent finishes
otherwise, or is deleted, the job is deleted (F, substate 91, no Exit_status), which cascades."""
import json, os, sys, time

state_path = os.environ["HB_FAKE_PBS_STATE"]
command = os.path.basename(sys.argv[0])
args = sys.argv[1:]

def load():
    try:
        with open(state_path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"next_id": 100, "Jobs": {}}

def save(state):
    tmp = state_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, state_path)

with open(state_path + ".calls", "a") as log:
    log.write(json.dumps([command] + args) + "\n")

state = load()
if os.environ.get("HB_FAKE_PBS_DOWN"):
    print(f"{command}: cannot connect to server fakepbs (errno=111)", file=sys.stderr)
    sys.exit(2)

def ranges(indices):
    """[0, 1, 2, 5] -> "0-2,5" (PBS's range_to_str)."""
    parts, start = [], None
    for i, index in enumerate(indices):
        if start is None:
            start = index
        if i + 1 == len(indices) or indices[i + 1] != index + 1:
            parts.append(str(start) if start == index else f"{start}-{index}")
            start = None
    return ",".join(parts)

def settle(jobs):
    """Plays the server between calls: array states and held dependants."""
    changed = True
    while changed:
        changed = False
        for job_id, job in jobs.items():
            depend = job.get("depend", "")
            if job["job_state"] != "H" or job.get("substate") != 22 or not depend.startswith("afterok:"):
                continue
            parents = [jobs.get(p.split("@")[0]) for p in depend[len("afterok:"):].split(":")]
            if any(p is None or (p["job_state"] in "FX" and p.get("Exit_status", -1) != 0) for p in parents):
                job.update({"job_state": "F", "substate": 91})
                changed = True
            elif all(p["job_state"] in "FX" for p in parents):
                job.update({"job_state": "Q", "substate": 10})
                changed = True
    for job_id, job in jobs.items():
        if not job.get("array"):
            continue
        subjobs = sorted((s for s in jobs.values() if s.get("array_id") == job_id), key=lambda s: s["array_index"])
        queued = [s["array_index"] for s in subjobs if s["job_state"] == "Q"]
        job["array_indices_remaining"] = ranges(queued) or "-"
        if job["job_state"] not in "FH":
            done = all(s["job_state"] in "FX" for s in subjobs)
            job["job_state"] = "F" if done else ("Q" if len(queued) == len(subjobs) else "B")
            if done:
                job["Exit_status"] = 0 if all(s.get("Exit_status") == 0 for s in subjobs) else 1

if command == "qsub":
    script = sys.stdin.read()
    options = {}
    i = 0
    while i < len(args):
        flag = args[i]
        if flag == "-h":
            options["-h"] = True
            i += 1
        else:
            options.setdefault(flag, []).append(args[i + 1])
            i += 2
    number = state["next_id"]
    state["next_id"] += 1
    variables = dict(pair.split("=", 1) for pair in ",".join(options.get("-v", [])).split(",") if "=" in pair)
    job = {
        "Job_Name": options["-N"][0], "job_state": "H" if options.get("-h") else "Q", "substate": 20 if options.get("-h") else 10,
        "queue": options.get("-q", ["workq"])[0], "Account_Name": options.get("-A", [""])[0],
        "Resource_List": {"select": ",".join(options.get("-l", []))}, "Variable_List": variables,
        "ctime": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime()), "qtime": str(int(time.time())),
        "script_bytes": len(script),
    }
    for attribute in options.get("-W", []):
        if attribute.startswith("depend="):
            job.update({"depend": attribute[len("depend="):], "job_state": "H", "substate": 22})
    if "-J" in options:
        spec, _, limit = options["-J"][0].partition("%")
        first, last = (int(x) for x in spec.split("-"))
        if first >= last:
            print("qsub: illegal -J value", file=sys.stderr)
            sys.exit(2)
        job_id = f"{number}[].fakepbs"
        job.update({"array": True, "array_indices_submitted": spec, "array_indices_remaining": spec})
        if limit:
            job["max_run_subjobs"] = int(limit)
        for index in range(first, last + 1):
            state["Jobs"][f"{number}[{index}].fakepbs"] = dict(
                {k: v for k, v in job.items() if k not in ("array", "array_indices_submitted", "array_indices_remaining", "max_run_subjobs", "depend")},
                job_state="Q", substate=10, array_id=job_id, array_index=index)
    else:
        job_id = f"{number}.fakepbs"
    state["Jobs"][job_id] = job
    save(state)
    print(job_id)
elif command == "qstat" and "-B" in args:
    # Server status; max_array_size only when the test set it (PBS leaves an unset attribute out).
    server = {"server_state": "Active", "total_jobs": len(state["Jobs"])}
    if "max_array_size" in state:
        server["max_array_size"] = state["max_array_size"]
    print(json.dumps({"timestamp": int(time.time()), "pbs_version": "fake", "pbs_server": "fakepbs", "Server": {"fakepbs": server}}, indent=4))
elif command == "qstat":
    ids = [a for a in args if not a.startswith("-") and a not in ("json",)]
    jobs = state["Jobs"]
    settle(jobs)
    save(state)
    subjobs = "-t" in args
    wanted = [i for i in jobs if (not ids or i in ids or jobs[i].get("array_id") in ids) and (subjobs or "array_id" not in jobs[i])]
    shown = {i: jobs[i] for i in wanted}
    print(json.dumps({"timestamp": int(time.time()), "pbs_version": "fake", "pbs_server": "fakepbs", "Jobs": shown}, indent=4))
    missing = [i for i in ids if i not in jobs]
    for i in missing:
        print(f"qstat: Unknown Job Id {i}", file=sys.stderr)
    sys.exit(35 if missing else 0)
elif command == "qdel":
    # Every id in one call, as qdel does; each one it cannot delete is named on stderr, exit 35.
    status = 0
    for job_id in args:
        job = state["Jobs"].get(job_id)
        if job is None:
            print(f"qdel: Unknown Job Id {job_id}", file=sys.stderr)
            status = 35
            continue
        if job["job_state"] == "F":
            print(f"qdel: Job has finished {job_id}", file=sys.stderr)
            status = 35
            continue
        for target in [job] + [s for s in state["Jobs"].values() if s.get("array_id") == job_id and s["job_state"] not in "FX"]:
            finished = "X" if "array_id" in target else "F"
            target.update({"job_state": finished, "substate": 91 if target["job_state"] in "QH" else 92})
            if "stime" in target:
                target["Exit_status"] = 271
    save(state)
    sys.exit(status)
