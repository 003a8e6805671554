#!/usr/bin/env python3
"""Writes a stderr log made with log_line_prefix = '%m [%p] user=%u,db=%d '
as PostgreSQL's syslog destination would reach a file, in one of three
flavours: bsd-us (rsyslog, "Nov 22 02:28:00.123456 host postgres[123]: "),
rfc5424 ("<134>1 2026-11-22T02:28:00.123+00:00 host postgres 123 - - "),
iso (year first, "2026-11-22T02:28:00.123+00:00 host postgres[123]: ") or
logplex (what `heroku logs -p postgres` shows of Heroku Postgres:
"2026-11-22T02:28:00.123+00:00 app[postgres.123]: [DATABASE] ", no host, the
server's prefix "sql_error_code = %e " instead of "user=%u,db=%d ", so the
users and databases are not in it; the SQLSTATEs are those of the two
errors the workload makes, 00000 for the rest).

Each record becomes message N of its process (N counts per pid, as
syslog_sequence_numbers does) and each of its lines a part [N-M]; a tab is
written #011 as rsyslog does. Before the second part of every multi-line
message goes the next first part of another process, the way concurrent
backends interleave, so a reader must join parts by pid and N.

usage: make-syslog.py FLAVOUR < stderr.log > syslog.log"""
import re
import sys
from datetime import datetime

flavour = sys.argv[1]
head = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\] (.*)$')
aux = re.compile(r'^user=[^ ]*,db=[^ ]* (DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):  ')

records = []  # [time, pid, [lines]]
for line in sys.stdin.read().splitlines():
    m = head.match(line)
    if m and records and aux.match(m.group(3)) and records[-1][1] == m.group(2):
        records[-1][2].append(m.group(3))
    elif m:
        records.append([m.group(1), m.group(2), [m.group(3)]])
    else:
        records[-1][2].append(line.replace('\t', '#011'))

user_db = re.compile(r'^user=[^ ]*,db=[^ ]* ')
codes = {'does not exist': '42P01', 'duplicate key': '23505'}

seq = {}
out = []  # [pid, line]
for ts, pid, lines in records:
    if flavour == 'logplex':
        code = next((c for k, c in codes.items() if ' ERROR:  ' in lines[0] and k in lines[0]), '00000')
        lines = [user_db.sub(f'sql_error_code = {code} ', x) for x in lines]
    seq[pid] = seq.get(pid, 0) + 1
    t = datetime.strptime(ts, '%Y-%m-%d %H:%M:%S.%f')
    if flavour == 'bsd-us':
        stamp = t.strftime('%b %e %H:%M:%S.') + ts[-3:] + '456'
        hdr = f'{stamp} db1 postgres[{pid}]: '
    elif flavour == 'rfc5424':
        hdr = f'<134>1 {ts.replace(" ", "T")}+00:00 db1 postgres {pid} - - '
    elif flavour == 'logplex':
        hdr = f'{ts.replace(" ", "T")}+00:00 app[postgres.{pid}]: [DATABASE] '
    else:
        hdr = f'{ts.replace(" ", "T")}+00:00 db1 postgres[{pid}]: '
    for k, text in enumerate(lines, 1):
        out.append((pid, f'{hdr}[{seq[pid]}-{k}] {text}'))

# Interleave: the next other process's first part moves before each "-2]"
# part, as if that backend had written while this one was between parts.
i = 0
while i < len(out):
    if '-2] ' in out[i][1]:
        j = next((j for j in range(i + 1, len(out))
                  if out[j][0] != out[i][0] and '-1] ' in out[j][1]), None)
        if j is not None:
            out.insert(i, out.pop(j))
            i += 1
    i += 1
for pid, line in out:
    print(line)
