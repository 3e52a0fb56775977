#!/usr/bin/env python3
"""A stand-in PBS server for tests: qsub, qstat -f -F json -x and qdel backed by a JSON state file.

Called through symlinks named qsub, qstat and qdel. The state file ($HB_FAKE_PBS_STATE) holds the jobs
in qstat's JSON shape; tests edit it to play the server (start a job, finish it with an Exit_status).
Every call is appended to $HB_FAKE_PBS_STATE.calls so tests can check the arguments."""
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
    job_id = f"{state['next_id']}.fakepbs"
    state["next_id"] += 1
    variables = dict(pair.split("=", 1) for pair in ",".join(options.get("-v", [])).split(",") if "=" in pair)
    state["Jobs"][job_id] = {
        "Job_Name": options["-N"][0], "job_state": "H" if options.get("-h") else "Q", "substate": 10,
        "queue": options.get("-q", ["workq"])[0], "Account_Name": options.get("-A", [""])[0],
        "Resource_List": {"select": ",".join(options.get("-l", []))}, "Variable_List": variables,
        "ctime": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime()), "qtime": str(int(time.time())),
        "script_bytes": len(script),
    }
    save(state)
    print(job_id)
elif command == "qstat":
    ids = [a for a in args if not a.startswith("-") and a not in ("json",)]
    jobs = state["Jobs"]
    shown = {i: jobs[i] for i in (ids or jobs.keys()) if i in jobs}
    print(json.dumps({"timestamp": int(time.time()), "pbs_version": "fake", "pbs_server": "fakepbs", "Jobs": shown}, indent=4))
    missing = [i for i in ids if i not in jobs]
    for i in missing:
        print(f"qstat: Unknown Job Id {i}", file=sys.stderr)
    sys.exit(35 if missing else 0)
elif command == "qdel":
    job = state["Jobs"].get(args[0])
    if job is None:
        print(f"qdel: Unknown Job Id {args[0]}", file=sys.stderr)
        sys.exit(35)
    if job["job_state"] == "F":
        print(f"qdel: Job has finished {args[0]}", file=sys.stderr)
        sys.exit(35)
    job.update({"job_state": "F", "substate": 91 if job["job_state"] in "QH" else 92})
    if "stime" in job:
        job["Exit_status"] = 271
    save(state)
