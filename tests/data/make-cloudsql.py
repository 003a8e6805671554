#!/usr/bin/env python3
"""Writes a stderr log made with log_line_prefix = '%m [%p] user=%u,db=%d '
as Google Cloud SQL's log reaches a Cloud Logging export (a log sink to
Cloud Storage, or `gcloud logging read --format=json | jq -c '.[]'`): one
JSON entry a line, whose textPayload is the record as Cloud SQL's server
writes it, with its fixed prefix '%m [%p]: [%l-1] db=%d,user=%u ' (%l counts
the lines of each process); a record's continuation lines stay in its
payload. The other members follow Cloud Logging's LogEntry: insertId,
logName, receiveTimestamp, resource (cloudsql_database), severity (from the
PostgreSQL level) and timestamp.

usage: make-cloudsql.py < stderr.log > cloudsql.json"""
import json
import re
import sys

head = re.compile(r'^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\] user=([^ ]*),db=([^ ]*) (.*)$')
levels = {'LOG': 'INFO', 'ERROR': 'ERROR', 'FATAL': 'CRITICAL', 'PANIC': 'ALERT',
          'WARNING': 'WARNING', 'NOTICE': 'NOTICE', 'DETAIL': 'INFO', 'STATEMENT': 'INFO',
          'HINT': 'INFO', 'CONTEXT': 'INFO'}
records = []  # [date, time, pid, user, db, [lines]]
for line in sys.stdin.read().splitlines():
    m = head.match(line)
    if m:
        records.append(list(m.groups()[:5]) + [[m.group(6)]])
    else:
        records[-1][5].append(line)

count = {}
for n, (date, time, pid, user, db, lines) in enumerate(records, 1):
    count[pid] = count.get(pid, 0) + 1
    text = f'{date} {time} UTC [{pid}]: [{count[pid]}-1] db={db},user={user} ' + '\n'.join(lines)
    level = lines[0].split(':', 1)[0]
    entry = {
        'insertId': f's=7f2c9e1d4b;i={4000 + n};b=5a8c;m=31d0e2;t=5fc2a6e4;x=9b0e47',
        'logName': 'projects/shop-prod/logs/cloudsql.googleapis.com%2Fpostgres.log',
        'receiveTimestamp': f'{date}T{time}912345Z',
        'resource': {'labels': {'database_id': 'shop-prod:db1', 'project_id': 'shop-prod',
                                'region': 'europe-west1'}, 'type': 'cloudsql_database'},
        'severity': levels.get(level, 'DEFAULT'),
        'textPayload': text,
        'timestamp': f'{date}T{time}000Z',
    }
    print(json.dumps(entry, ensure_ascii=False))
