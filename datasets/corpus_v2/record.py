"""Append find_repos answers to queries-results.csv (helper used while running the queries).

stdin: blocks of the form
    @<query> <truncated 0|1> <count>
    <owner/name> <file_versions>
    ...
Checks: queries come in queries.txt order, every repo name contains the query
(case-insensitive), file_versions are non-increasing, the row count equals count.
A query with no answer rows is recorded as one row with rank 0 and an empty repo.
A block "@<query> lost" (round 2 only) records a query that was called but whose answer
was lost before it was recorded: one row with rank -1, empty repo, empty truncated.

    python3 record.py [--round 2] < blocks
--round 2 reads queries-round2.txt and appends to queries-results-round2.csv (notes go
to calls-round2.log); without it, round 1's files (queries.txt, queries-results.csv,
calls.log) are used exactly as before.
"""
import csv, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROUND2 = sys.argv[1:] == ["--round", "2"]
assert ROUND2 or not sys.argv[1:], "usage: record.py [--round 2]"
SUFFIX = "-round2" if ROUND2 else ""
OUT = os.path.join(HERE, f"queries-results{SUFFIX}.csv")
CALLS = os.path.join(HERE, f"calls{SUFFIX}.log")
words = [l.strip() for l in open(os.path.join(HERE, f"queries{SUFFIX}.txt")) if l.strip()]
done = []
if os.path.exists(OUT):
    for r in csv.DictReader(open(OUT)):
        if not done or done[-1] != r["query"]:
            done.append(r["query"])
blocks, cur = [], None
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    if line.startswith("@"):
        parts = line[1:].split()
        if parts[1:] == ["lost"]:
            assert ROUND2, "lost blocks are round 2 only"
            cur = [parts[0], None, 0, []]
            blocks.append(cur)
            continue
        q, t, n = parts[:3]
        # optional 4th field: rows actually listed, when it differs from the answer's count
        if len(parts) > 3:
            with open(CALLS, "a") as f:
                f.write(f"# {q}: answer count field {n}, rows listed {parts[3]}\n")
            n = parts[3]
        cur = [q, int(t), int(n), []]
        blocks.append(cur)
    else:
        repo, fv = line.split()
        cur[3].append((repo, int(fv)))
rows = []
for q, t, n, items in blocks:
    exp = words[len(done)]
    assert q == exp, f"expected query {exp!r}, got {q!r}"
    assert len(items) == n, f"{q}: {len(items)} rows, count {n}"
    for repo, fv in items:
        assert q.lower() in repo.lower(), f"{q}: {repo} lacks query"
        assert repo.count("/") == 1, repo
    fvs = [fv for _, fv in items]
    assert fvs == sorted(fvs, reverse=True), f"{q}: file_versions not sorted"
    assert len({r for r, _ in items}) == len(items), f"{q}: duplicate repo"
    if t is None:
        rows.append([q, -1, "", "", ""])
    elif not items:
        rows.append([q, 0, "", "", t])
    for i, (repo, fv) in enumerate(items, 1):
        rows.append([q, i, repo, fv, t])
    done.append(q)
new = not os.path.exists(OUT)
with open(OUT, "a", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    if new:
        w.writerow(["query", "rank", "repo", "file_versions", "truncated"])
    w.writerows(rows)
print(f"recorded {len(blocks)} queries; {len(done)}/{len(words)} done; next: {words[len(done)] if len(done) < len(words) else '-'}")
