"""Deterministic selection of the corpus v2 candidate list (see PROCEDURE.md).

Reads only files in this folder plus the reserved list:
  queries.txt, queries-results.csv, v1-projects.txt, opendigger-projects.txt,
  <shared>/reserved-projects.txt  (default: <repo root>/../shared/data)
Writes candidates.csv and counts.json (the per-step counts quoted in PROCEDURE.md).

    python datasets/corpus_v2/select.py [--shared PATH] [--k 6] [--top 3] [--owner-cap 3]
"""
import argparse
import csv
import hashlib
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

# Non-project rules: (rule id, regex).  Matched case-insensitively against the
# full "owner/name".  Order only matters for the per-rule counts (first match).
NON_PROJECT_RULES = [
    ("coursework", r"homework|assignment|course|curso|bootcamp|tutorial|lesson|lecture"
                   r"|exercis|exercic|kata|training|workshop|classroom|class-?repos|students"
                   r"|academy|campus|school|semester|sprint-mission|precourse|devcourse"
                   r"|hackathon|buildathon|capstone|final-?project"),
    ("course-orgs", r"^(woowacourse|woowacourse-precourse|next-step|learn-co-students"
                    r"|learn-co-curriculum|ironhack-labs|mate-academy|otusteamedu|goitacademy"
                    r"|bloominstituteoftechnology|makersacademy|makersquare|4geeksacademy"
                    r"|yagom-academy|exercism|herotechcourse|loopers-labs|loopers-dev-lab"
                    r"|boolean-uk|codeyourfuture|thecsharpacademy|code-squad|codesoom|ylabio"
                    r"|2022newkrew|2023newkrew|kakao-tech-campus[^/]*|prgrms-be-devcourse"
                    r"|selfteaching|htgolang|rubyroidlabs|avionschool|bloomtech-labs"
                    r"|rails-girls-summer-of-code|sparta-[^/]*|opendoccn|apachecn)/"),
    ("practice", r"leetcode|atcoder|codewars|hackerrank|codingbat|project-?euler|advent-?of-?code"
                 r"|interview|practi[cs]e|practica|study|learn|playground|sandbox-?test"
                 r"|challenge|solutions|algorithms?(?![a-z])|data-?structures|snippets"
                 r"|cheat-?sheet|notes(?![a-z])|notebooks?$"),
    ("awesome-list", r"awesome"),
    ("dotfiles-config", r"dotfiles|dot-?files|dotvim|dot-?emacs|\.emacs\.d|emacs\.d$|emacs-config"
                        r"|emacs-init|nvim-config|vimrc|bashrc|zshrc|nixos-configs?|vim_cfg"
                        r"|/\.[a-z]|-configs?$|_configs?$"),
    ("personal-site", r"\.github\.io$|portfolio|resume|homepage|personal-?site|\.com$|\.dev$"
                      r"|\.org$|\.net$|\.tech$|\.app$|website"),
    ("clone", r"[-_]clone(?![a-z])|clone$"),
    ("dump-mirror", r"decompil|deobfusc|reverse-?engineer|reverseengineer|runtime-headers|dump"
                    r"|smali|datamining|mirror|backup|unclone|-archive$|_archive$|legacy"
                    r"|deprecated|\.zh-|-zh$|[._-][a-z]{2}-[a-z]{2}$|docs\.[a-z]{2}"),
    ("example-template", r"examples?(?![a-z])|samples?(?![a-z])|demos?(?![a-z])|template"
                         r"|boilerplate|starter|-test$|_test$|test-?repo|sample-app|poc$|-mvp"),
    ("year-named", r"(?<![0-9])20[12][0-9](?![0-9])"),
]
NON_PROJECT_RES = [(name, re.compile(rx, re.I)) for name, rx in NON_PROJECT_RULES]


def read_list(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def non_project_rule(repo):
    for name, rx in NON_PROJECT_RES:
        if rx.search(repo):
            return name
    return None


def sha1_key(repo):
    return hashlib.sha1(repo.lower().encode("utf-8")).hexdigest()


def spread_pick(items, k):
    """k items spread evenly over items (deterministic); all if len(items) <= k."""
    if len(items) <= k:
        return list(items)
    m = len(items)
    return [items[int((i + 0.5) * m / k)] for i in range(k)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO_ROOT), "shared", "data"))
    ap.add_argument("--k", type=int, default=6, help="max candidates per query word")
    ap.add_argument("--top", type=int, default=3, help="of k, how many from the upper half")
    ap.add_argument("--owner-cap", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "candidates.csv"))
    args = ap.parse_args()

    words = read_list(os.path.join(HERE, "queries.txt"))
    reserved = {r.lower() for r in read_list(os.path.join(args.shared, "reserved-projects.txt"))}
    v1 = read_list(os.path.join(HERE, "v1-projects.txt"))
    v1_lower = {r.lower() for r in v1}
    od = read_list(os.path.join(HERE, "opendigger-projects.txt"))

    # ---- recorded answers, in queries.txt order -------------------------------------------
    rows_by_q = {w: [] for w in words}
    n_by_q, trunc_by_q = {}, {}
    with open(os.path.join(HERE, "queries-results.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            q = r["query"]
            if q not in rows_by_q:
                raise SystemExit(f"query {q!r} in results but not in queries.txt")
            trunc_by_q[q] = r["truncated"]
            if r["repo"]:
                rows_by_q[q].append((int(r["rank"]), r["repo"], int(r["file_versions"])))
    done = [w for w in words if w in trunc_by_q]
    for w in done:
        n_by_q[w] = len(rows_by_q[w])
    c = {"queries_in_file": len(words), "queries_run": len(done),
         "answer_rows": sum(n_by_q.values())}

    # first occurrence (query order, then rank) of every distinct repo, case-insensitive
    first = {}  # lower -> dict
    for qi, w in enumerate(done):
        for rank, repo, fv in sorted(rows_by_q[w]):
            key = repo.lower()
            if key not in first:
                first[key] = {"repo": repo, "query": w, "qi": qi, "rank": rank,
                              "file_versions": fv, "n": n_by_q[w]}
    c["distinct_repos_found"] = len(first)

    # ---- filters on distinct repos ------------------------------------------------------
    pool = list(first.values())  # already in first-occurrence order
    c["dropped_reserved"] = sum(1 for p in pool if p["repo"].lower() in reserved)
    pool = [p for p in pool if p["repo"].lower() not in reserved]
    c["dropped_v1"] = sum(1 for p in pool if p["repo"].lower() in v1_lower)
    pool = [p for p in pool if p["repo"].lower() not in v1_lower]
    rule_counts = {}
    kept = []
    for p in pool:
        rule = non_project_rule(p["repo"])
        if rule:
            rule_counts[rule] = rule_counts.get(rule, 0) + 1
        else:
            kept.append(p)
    c["dropped_non_project"] = len(pool) - len(kept)
    c["dropped_non_project_by_rule"] = rule_counts
    pool = kept
    per_owner, kept = {}, []
    for p in pool:  # first-occurrence order = highest-ranked first
        owner = p["repo"].split("/")[0].lower()
        per_owner[owner] = per_owner.get(owner, 0) + 1
        if per_owner[owner] <= args.owner_cap:
            kept.append(p)
    c["dropped_owner_cap"] = len(pool) - len(kept)
    pool = kept
    c["after_filters"] = len(pool)

    # ---- per-query cap: `top` from the upper half of the answer, the rest spread over
    # the lower half (ranks > n/2); a half with too few fills from the other half ---------
    by_q = {}
    for p in pool:
        by_q.setdefault(p["query"], []).append(p)
    chosen = []
    for w in done:
        ps = sorted(by_q.get(w, []), key=lambda p: p["rank"])
        upper = [p for p in ps if p["rank"] <= p["n"] / 2]
        lower = [p for p in ps if p["rank"] > p["n"] / 2]
        n_low = min(len(lower), max(args.k - args.top, args.k - len(upper)))
        n_up = min(len(upper), args.k - n_low)
        pick = upper[:n_up] + spread_pick(lower, n_low)
        for p in pick:
            p["half"] = "upper" if p in upper else "lower"
        chosen.extend(pick)
    c["dropped_per_query_cap"] = len(pool) - len(chosen)
    c["query_candidates"] = len(chosen)
    c["queries_contributing"] = len({p["query"] for p in chosen})

    # ---- opendigger seeds ---------------------------------------------------------------
    chosen_lower = {p["repo"].lower() for p in chosen}
    od_rows, od_drop = [], {"reserved": 0, "v1": 0, "already_query": 0}
    for repo in od:
        key = repo.lower()
        if key in reserved:
            od_drop["reserved"] += 1
        elif key in v1_lower:
            od_drop["v1"] += 1
        elif key in chosen_lower:
            od_drop["already_query"] += 1
        else:
            od_rows.append(repo)
    c["opendigger_seeds"] = len(od)
    c["opendigger_dropped"] = od_drop
    c["opendigger_candidates"] = len(od_rows)

    # ---- v1 (by rule; a reserved v1 project is left out and reported) ------------------
    v1_kept = [r for r in v1 if r.lower() not in reserved]
    c["v1_projects"] = len(v1)
    c["v1_reserved_conflict"] = sorted(r for r in v1 if r.lower() in reserved)
    c["v1_listed"] = len(v1_kept)

    # ---- output -------------------------------------------------------------------------
    out = []
    for i, repo in enumerate(sorted(v1_kept, key=str.lower), 1):
        out.append({"repo": repo, "source": "v1", "query": "", "rank": "", "file_versions": "",
                    "half": "", "order": i})
    new = [{"repo": p["repo"], "source": "query", "query": p["query"], "rank": p["rank"],
            "file_versions": p["file_versions"], "half": p["half"]} for p in chosen]
    new += [{"repo": r, "source": "opendigger", "query": "", "rank": "", "file_versions": "",
             "half": ""} for r in od_rows]
    new.sort(key=lambda r: sha1_key(r["repo"]))
    for i, r in enumerate(new, len(out) + 1):
        r["order"] = i
    out += new
    assert len({r["repo"].lower() for r in out}) == len(out)
    assert not any(r["repo"].lower() in reserved for r in out)
    cols = ["repo", "source", "query", "rank", "file_versions", "half", "order"]
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    c["new_candidates"] = len(new)
    c["total_rows"] = len(out)
    c["params"] = {"k": args.k, "top": args.top, "owner_cap": args.owner_cap}
    with open(os.path.join(HERE, "counts.json"), "w", encoding="utf-8") as f:
        json.dump(c, f, indent=1, sort_keys=False)
        f.write("\n")
    print(json.dumps(c, indent=1))


if __name__ == "__main__":
    main()
