#!/usr/bin/env python3
"""Writes csvlog-pg15.csv as CloudNativePG writes PostgreSQL's log to standard output: one
JSON line a record, the csvlog's columns by name (every value a string, empty fields
included) under "record", with the operator's own lines (logger "instance-manager") between
them. Usage: make-cnpg.py < csvlog-pg15.csv > cnpg.json"""
import csv
import json
import sys

COLUMNS = ["log_time", "user_name", "database_name", "process_id", "connection_from",
           "session_id", "session_line_num", "command_tag", "session_start_time",
           "virtual_transaction_id", "transaction_id", "error_severity", "sql_state_code",
           "message", "detail", "hint", "internal_query", "internal_query_pos", "context",
           "query", "query_pos", "location", "application_name", "backend_type", "leader_pid",
           "query_id"]


def ts(log_time):
    # "2026-12-06 22:14:03.651 UTC" -> "2026-12-06T22:14:03.651000Z"
    day, clock, _ = log_time.split(" ")
    return "%sT%s000Z" % (day, clock)


def main():
    out = sys.stdout
    n = 0
    for row in csv.reader(sys.stdin):
        record = dict(zip(COLUMNS, row))
        line = {"level": "info", "ts": ts(record["log_time"]), "logger": "postgres",
                "msg": "record", "logging_pod": "shop-db-1", "record": record}
        out.write(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n")
        n += 1
        if n % 20 == 1:
            out.write(json.dumps({"level": "info", "ts": ts(record["log_time"]),
                                  "logger": "instance-manager", "msg": "Checking for free disk space",
                                  "logging_pod": "shop-db-1"}, separators=(",", ":")) + "\n")


main()
