#!/usr/bin/env python3
"""Writes the access-log fixtures described in README.access.md, and prints
what each holds (the truth the tests check) as JSON.

The logs play a web shop beside tests/data/missing-index-short.log.gz
(2026-12-06 22:10:35 .. 22:13:41 UTC): 40 clients at 20 requests a second,
five routes; clients 0-19 use the sensor readings page, the others never do.
Seeded: the same files on every run.

  access-missing-index.log.gz   nginx combined + $request_time
                                $upstream_response_time; while the index is
                                missing (22:11:41 .. 22:12:47) the readings
                                page takes 0.8-3 s and one in five ends 504
  access-missing-index.json.gz  the same requests as Caddy JSON lines
  access-missing-index-apache.log.gz  the same as Apache combined + %D
  access-web-only.log.gz        a starved web host from 22:13:00 to 22:13:30:
                                every dynamic page 1.2-2.5 s (upstream 10 %),
                                one in ten 502, the database untouched
  access-ddos.log.gz            from 22:13:00 to 22:13:30, 300 new clients
                                add 80 requests a second and one page in
                                four gets a 503
"""
import datetime
import gzip
import json
import random
import sys

START = datetime.datetime(2026, 12, 6, 22, 10, 35, tzinfo=datetime.timezone.utc)
END = datetime.datetime(2026, 12, 6, 22, 13, 41, tzinfo=datetime.timezone.utc)
ROUTES = ['/', '/sensors/%d/readings', '/sensors/%d', '/static/app.css', '/api/v1/reports/%s']


def t(h, m, s):
    return datetime.datetime(2026, 12, 6, h, m, s, tzinfo=datetime.timezone.utc)


def play(mode, ff, ft, seed=7):
    rnd = random.Random(seed)
    clients = ['10.0.%d.%d' % (i // 200, i % 200 + 1) for i in range(40)]
    reqs = []
    now = START
    while now < END:
        n = 20
        fault = ff <= now < ft
        if mode == 'ddos' and fault:
            n = 100
        for k in range(n):
            ts = now + datetime.timedelta(microseconds=k * (1000000 // n))
            if k >= 20:
                c = '198.51.%d.%d' % (rnd.randint(0, 2), rnd.randint(1, 100))
            else:
                c = rnd.choice(clients)
            ci = clients.index(c) if c in clients else -1
            r = rnd.choice(ROUTES if 0 <= ci < 20 else [x for x in ROUTES if 'readings' not in x])
            path = r % (rnd.randint(1, 9999),) if '%d' in r else (
                r % ('a3f9c2d1e8b7',) if '%s' in r else r)
            if rnd.random() < 0.3:
                path += '?page=%d' % rnd.randint(1, 5)
            status, rt, share = 200, rnd.uniform(0.002, 0.05), 0.97
            if fault and mode == 'db' and 'readings' in r:
                rt = rnd.uniform(0.8, 3.0)
                if rnd.random() < 0.2:
                    status = 504
            if fault and mode == 'web' and 'static' not in r:
                rt, share = rnd.uniform(1.2, 2.5), 0.1
                if rnd.random() < 0.1:
                    status = 502
            if fault and mode == 'ddos' and rnd.random() < 0.25:
                status = 503
            if status == 200 and rnd.random() < 0.01:
                status = 404
            reqs.append(dict(ts=ts, client=c, path=path, status=status, rt=round(rt, 3),
                             up=round(rt * share, 3), bytes=rnd.randint(200, 9000)))
        now += datetime.timedelta(seconds=1)
    return reqs


def truth(reqs, ff, ft, slow=1.0):
    win = [r for r in reqs if ff <= r['ts'] < ft]
    hurt = [r for r in win if r['status'] >= 500 or r['rt'] > slow]
    return dict(requests=len(reqs), failed=sum(r['status'] >= 500 for r in reqs),
                slow=sum(r['rt'] > slow for r in reqs),
                clients=len({r['client'] for r in reqs}),
                window_requests=len(win),
                window_failed=sum(r['status'] >= 500 for r in win),
                window_slow=sum(r['rt'] > slow for r in win),
                window_clients=len({r['client'] for r in win}),
                window_clients_hurt=len({r['client'] for r in hurt}),
                first_hurt=min(r['ts'] for r in hurt).isoformat(),
                last_hurt=max(r['ts'] for r in hurt).isoformat())


def combined(r):
    return '%s - - [%s] "GET %s HTTP/1.1" %d %d "-" "Mozilla/5.0 (X11)"' % (
        r['client'], r['ts'].strftime('%d/%b/%Y:%H:%M:%S +0000'), r['path'], r['status'],
        r['bytes'])


def write(name, lines):
    with gzip.GzipFile(name, 'wb', mtime=0) as f:
        f.write(('\n'.join(lines) + '\n').encode())


def main(outdir):
    out = {}
    ff, ft = t(22, 11, 41), t(22, 12, 47)
    reqs = play('db', ff, ft)
    write(outdir + '/access-missing-index.log.gz',
          ['%s %.3f %.3f' % (combined(r), r['rt'], r['up']) for r in reqs])
    write(outdir + '/access-missing-index-apache.log.gz',
          ['%s %d' % (combined(r), round(r['rt'] * 1e6)) for r in reqs])
    write(outdir + '/access-missing-index.json.gz', [json.dumps({
        'level': 'info', 'ts': r['ts'].timestamp(), 'logger': 'http.log.access',
        'request': {'remote_ip': r['client'], 'method': 'GET', 'uri': r['path']},
        'status': r['status'], 'duration': r['rt'], 'size': r['bytes']}) for r in reqs])
    out['missing-index'] = truth(reqs, ff, ft)
    ff, ft = t(22, 13, 0), t(22, 13, 30)
    reqs = play('web', ff, ft)
    write(outdir + '/access-web-only.log.gz',
          ['%s %.3f %.3f' % (combined(r), r['rt'], r['up']) for r in reqs])
    out['web-only'] = truth(reqs, ff, ft)
    reqs = play('ddos', ff, ft)
    write(outdir + '/access-ddos.log.gz',
          ['%s %.3f %.3f' % (combined(r), r['rt'], r['up']) for r in reqs])
    out['ddos'] = truth(reqs, ff, ft)
    json.dump(out, sys.stdout, indent=1)
    print()


main(sys.argv[1] if len(sys.argv) > 1 else '.')
