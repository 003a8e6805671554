#!/usr/bin/env python3
"""Writes a csvlog of PostgreSQL 13 or later with the columns of an older
server: 22 (8.3 and 8.4: no application_name) or 23 (9.0 to 12: no
backend_type, leader_pid, query_id). The columns an older server had are the
first ones, in the same order, so the record keeps its first N fields, each
byte for byte as the server quoted it.

usage: make-old-csvlog.py N < postgresql.csv > old.csv"""
import sys

keep = int(sys.argv[1])
data = sys.stdin.read()
fields, start, quoted, i = [], 0, False, 0
out = []
while i < len(data):
    c = data[i]
    if c == '"':
        quoted = not quoted
    elif not quoted and c in ',\n':
        fields.append(data[start:i])
        start = i + 1
        if c == '\n':
            out.append(','.join(fields[:keep]) + '\n')
            fields = []
    i += 1
sys.stdout.write(''.join(out))
