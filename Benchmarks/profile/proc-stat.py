#!/usr/bin/env python3
"""CPU ticks and context switches from /proc, for submission-cpu.sh.

  proc-stat.py cpu NAME...   the machine's busy ticks, then each NAME's ticks (user + system, summed over
                             every process whose name starts with NAME's first 15 characters)
  proc-stat.py switches PID  context switches (voluntary + involuntary) of PID's threads by thread name
  proc-stat.py run COPIES OUTPUT COMMAND...
                             runs COPIES of COMMAND at once (standard output and error to the file
                             OUTPUT), then prints their CPU ticks; exits with the highest exit status
"""
import collections
import os
import resource
import subprocess
import sys


def cpu(names):
    totals = {name: 0 for name in names}
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            stat = open(f'/proc/{pid}/stat').read()
        except OSError:
            continue
        command = stat[stat.index('(') + 1:stat.rindex(')')]
        fields = stat[stat.rindex(')') + 2:].split()
        for name in names:
            if command.startswith(name[:15]):
                totals[name] += int(fields[11]) + int(fields[12])
    machine = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    print('machine', sum(machine) - machine[3] - machine[4])  # all but idle and iowait
    for name in names:
        print(name, totals[name])


def switches(pid):
    counts = collections.Counter()
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            name = open(f'/proc/{pid}/task/{tid}/comm').read().strip()
            status = open(f'/proc/{pid}/task/{tid}/status').read().splitlines()
        except OSError:
            continue
        counts[name.rstrip('0123456789').replace(' ', '_')] += sum(int(l.split()[1]) for l in status if 'ctxt_switches' in l)
    for name, count in sorted(counts.items()):
        print(name, count)


def run(copies, output, command):
    with open(output, 'w') as sink:
        running = [subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT) for _ in range(copies)]
        codes = [process.wait() for process in running]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(round((usage.ru_utime + usage.ru_stime) * 100))  # ticks of 10 ms, as /proc counts them
    return max(codes)


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[1] == 'cpu':
        cpu(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == 'switches':
        switches(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == 'run':
        sys.exit(run(int(sys.argv[2]), sys.argv[3], sys.argv[4:]))
    else:
        sys.exit(__doc__)
