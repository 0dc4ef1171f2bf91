"""Deterministic selection of the corpus v2 candidate list (see PROCEDURE.md).

Reads only files in this folder plus the reserved list:
  queries.txt, queries-results.csv, v1-projects.txt, opendigger-projects.txt,
  queries-round2.txt, queries-results-round2.csv (round 2, when present),
  <shared>/reserved-projects.txt  (default: <repo root>/../shared/data)
Writes candidates.csv and counts.json (the per-step counts quoted in PROCEDURE.md).

Round 1 (orders 1..2168) is computed exactly as before; round 2 applies the same steps to
the round-2 answers, minus every round-1 row, and appends its query candidates after the
last round-1 order (same columns; round-2 rows are the rows with order > 2168, counts
under the key "round2" of counts.json).

    python datasets/corpus_v2/select_candidates.py [--shared PATH] [--k 7] [--top 3] [--owner-cap 3]
"""
import argparse
import csv
import hashlib
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

# Non-project rules: (rule id, target, regex).  target "name" = the part after "/",
# "full" = "owner/name".  Matched case-insensitively; a repo is dropped by the first
# rule that matches (order only matters for the per-rule counts).
NON_PROJECT_RULES = [
    # teaching organisations and course/bootcamp accounts (whole owner)
    ("course-orgs", "full",
     r"^(woowacourse|woowacourse-precourse|woowa-techcamp-[0-9]+|next-step|learn-co-students"
     r"|learn-co-curriculum|ironhack-labs|mate-academy|otusteamedu|goitacademy"
     r"|bloominstituteoftechnology|makersacademy|makersquare|4geeksacademy|yagom-academy"
     r"|exercism|herotechcourse|loopers-labs|loopers-dev-lab|boolean-uk|codeyourfuture"
     r"|thecsharpacademy|code-squad|codesquad-members-[0-9]+|codesoom|ylabio|newkrew[0-9]*"
     r"|20[0-9]{2}newkrew|kakao-tech-campus[^/]*|kakaotechcampus-[0-9]+|step3-kakao-tech-campus"
     r"|prgrms-be-devcourse|selfteaching|htgolang|rubyroidlabs|avionschool|bloomtech-labs"
     r"|rails-girls-summer-of-code|sparta-[^/]*|opendoccn|apachecn|tryber|campuslands"
     r"|super30admin|turingschool|openlocalizationtestorg|yandex-practicum|yandex-praktikum"
     r"|labenuexercicios|technigo|projectshft|codestates|diffblue-benchmarks)/"
     r"|tech-?campus|techcamp|praktikum|holberton|bootcamp|boostcamp|hanghae"),
    ("coursework", "name",
     r"homework|assignment|tutorial|exercis|exercic|classroom|students|academy|semester"
     r"|(^|[-_.])(course|curso|workshop|lessons?|lectures?)s?([-_.0-9]|$)|(^|[-_])katas?$"
     r"|sprint-mission|precourse|devcourse|hackathon|buildathon|capstone|final-?project"
     r"|diplom|one-for-all|vocabulary-booster|(^|[-_])sd-[0-9]+-|^ft_"
     r"|^(minishell|push_swap|libft|get_next_line|so_long|cub3d|philosophers|minitalk|pipex"
     r"|webserv|ft_irc)$"),
    ("practice", "name",
     r"leetcode|atcoder|codewars|hackerrank|codingbat|project-?euler|advent-?of-?code"
     r"|interview|practi[cs]e|practica|study|^learn"
     r"|learning[-_]?(lab|notes?|path|journey|log|resources|materials?)"
     r"|playground|sandbox-?test|challenge|solutions|(^|[-_])algorithms?([-_]|$)"
     r"|data-?structures|snippets|cheat-?sheet|(^|[-_])notes?([-_]|$)|(^|[-_])notebooks?$"),
    ("awesome-list", "name", r"awesome"),
    ("dotfiles-config", "name",
     r"dotfiles|dot-?files|dotvim|dot-?emacs|emacs\.d|emacs-config|emacs-init|nvim-config"
     r"|vimrc|bashrc|zshrc|vim_cfg|dotconfig"
     r"|^\.(config|vim|emacs|shells?|files|zsh|bash|nvim|doom|github)$"
     r"|(^|[-_])(nix|nixos|nvim|vim|emacs|doom|system|my|home|machine|misc|agents?|claude"
     r"|cursor|ai)[-_]?configs?$"),
    ("personal-site", "name",
     r"\.github\.io$|portfolio|^(my-?)?resume$|[-_]resume$|homepage"
     r"|personal-?(site|website|page)"),
    ("clone", "name", r"[-_]clone(?![a-z-])|clone$"),
    ("dump-mirror", "full",
     r"decompil|decomplied|deobfusc|revers(e|ing)(?!r)(?!-?proxy)|runtime-headers|dump"
     r"|smali|jadx|\.apk|datamining|mirror|backup|unclone|-archive$|_archive$|archives"
     r"|mailing-?list|extracted[-_]|cheat-?sources?|client-?sources|hacked-client"
     r"|smart-contract-sanctuary|github\.com|gitee\.com|git-remote|bkofgitee|\.zip"
     r"|/[^/]*(replit|vercel)|/com[._][a-z]|[0-9]+\.[0-9]+\.[0-9]+|[-_]port$|appsport$"
     r"|\.zh-|-zh$|[._-][a-z]{2}-([a-z]{2}|hans|hant)$|docs\.[a-z]{2}"),
    ("android-rom", "name",
     r"android_kernel|kernel_[a-z0-9]+_|_kernel_opensource|android_device|platform_device"
     r"|^device_|patchrom|^devices-|firmware[-_]qti|lineage-?os-"),
    ("data-dump", "name",
     r"[-_]results?$|[-_]runs$|benchmark-run|datasets?$|corpus$|replication|artifact$"),
    ("example-template", "name",
     r"examples?(?![a-z])|samples?(?![a-z])|demos?(?![a-z])|template|boilerplate|starter"
     r"|-test$|_test$|test-?repo|sample-app|poc$|-mvp"
     r"|^(my)?test(e|ing|s|t+)?([-_]?[0-9]+)?$|^test[-_](app|repo|project|proj)"
     r"|test[0-9]+$"),
    ("year-named", "name", r"(^|[-_.])20[12][0-9]([-_.]|$)"),
]
NON_PROJECT_RES = [(name, tgt, re.compile(rx, re.I)) for name, tgt, rx in NON_PROJECT_RULES]


def read_list(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def non_project_rule(repo):
    name_part = repo.split("/", 1)[1]
    for name, tgt, rx in NON_PROJECT_RES:
        if rx.search(repo if tgt == "full" else name_part):
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


def select_query_candidates(words, results_path, reserved, v1_lower, args,
                            earlier=None, owner_n=None):
    """Steps 1-6 of PROCEDURE.md on one round's recorded answers.

    earlier: lower-cased repos of an earlier round, dropped after the v1 step (round 2);
    owner_n: owner -> candidates of earlier rounds, counted by the owner cap (round 2).
    Returns (chosen, counts).  With earlier=None and owner_n=None this is round 1 exactly.
    """
    # ---- recorded answers, in file order ------------------------------------------------
    rows_by_q = {w: [] for w in words}
    n_by_q, trunc_by_q, lost = {}, {}, []
    with open(results_path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            q = r["query"]
            if q not in rows_by_q:
                raise SystemExit(f"query {q!r} in results but not in its words file")
            trunc_by_q[q] = r["truncated"]
            if r["rank"] == "-1":  # round 2: called, answer lost before it was recorded
                lost.append(q)
            elif r["repo"]:
                rows_by_q[q].append((int(r["rank"]), r["repo"], int(r["file_versions"])))
    done = [w for w in words if w in trunc_by_q]
    for w in done:
        n_by_q[w] = len(rows_by_q[w])
    c = {"queries_in_file": len(words), "queries_run": len(done)}
    if earlier is not None:
        c["answers_lost"] = len(lost)
        c["answers_lost_words"] = lost
    c["answer_rows"] = sum(n_by_q.values())

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
    if earlier is not None:
        c["dropped_round1"] = sum(1 for p in pool if p["repo"].lower() in earlier)
        pool = [p for p in pool if p["repo"].lower() not in earlier]
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
    per_owner, kept = dict(owner_n or {}), []
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
    return chosen, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO_ROOT), "shared", "data"))
    ap.add_argument("--k", type=int, default=7, help="max candidates per query word")
    ap.add_argument("--top", type=int, default=3, help="of k, how many from the upper half")
    ap.add_argument("--owner-cap", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "candidates.csv"))
    args = ap.parse_args()

    words = read_list(os.path.join(HERE, "queries.txt"))
    reserved = {r.lower() for r in read_list(os.path.join(args.shared, "reserved-projects.txt"))}
    v1 = read_list(os.path.join(HERE, "v1-projects.txt"))
    v1_lower = {r.lower() for r in v1}
    od = read_list(os.path.join(HERE, "opendigger-projects.txt"))

    chosen, c = select_query_candidates(words, os.path.join(HERE, "queries-results.csv"),
                                        reserved, v1_lower, args)

    # ---- opendigger seeds: same reserved/v1/non-project rules; the owner cap counts the
    # query candidates already chosen, so no owner exceeds the cap among new candidates ----
    chosen_lower = {p["repo"].lower() for p in chosen}
    owner_n = {}
    for p in chosen:
        o = p["repo"].split("/")[0].lower()
        owner_n[o] = owner_n.get(o, 0) + 1
    od_rows = []
    od_drop = {"reserved": 0, "v1": 0, "already_query": 0, "non_project": 0, "owner_cap": 0}
    for repo in od:
        key = repo.lower()
        o = key.split("/")[0]
        if key in reserved:
            od_drop["reserved"] += 1
        elif key in v1_lower:
            od_drop["v1"] += 1
        elif key in chosen_lower:
            od_drop["already_query"] += 1
        elif non_project_rule(repo):
            od_drop["non_project"] += 1
        elif owner_n.get(o, 0) >= args.owner_cap:
            od_drop["owner_cap"] += 1
        else:
            owner_n[o] = owner_n.get(o, 0) + 1
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
    c["new_candidates"] = len(new)
    c["total_rows"] = len(out)
    c["params"] = {"k": args.k, "top": args.top, "owner_cap": args.owner_cap}

    # ---- round 2: the same steps on the round-2 answers; every round-1 row is dropped
    # (after the v1 step), the owner cap counts all round-1 new candidates (query and
    # opendigger, as `owner_n` above), and the round-2 query candidates are ordered by
    # sha1 and numbered after the last round-1 order.  Round-1 rows are not touched. -----
    words2_path = os.path.join(HERE, "queries-round2.txt")
    if os.path.exists(words2_path):
        words2 = read_list(words2_path)
        assert not set(words2) & set(words), "round-2 word already in queries.txt"
        round1_lower = {r["repo"].lower() for r in out}
        chosen2, c2 = select_query_candidates(
            words2, os.path.join(HERE, "queries-results-round2.csv"), reserved, v1_lower,
            args, earlier=round1_lower, owner_n=owner_n)
        c2["query_candidates_upper_half"] = sum(1 for p in chosen2 if p["half"] == "upper")
        c2["query_candidates_lower_half"] = sum(1 for p in chosen2 if p["half"] == "lower")
        new2 = [{"repo": p["repo"], "source": "query", "query": p["query"], "rank": p["rank"],
                 "file_versions": p["file_versions"], "half": p["half"]} for p in chosen2]
        new2.sort(key=lambda r: sha1_key(r["repo"]))
        first_order = len(out) + 1
        for i, r in enumerate(new2, first_order):
            r["order"] = i
        out += new2
        c2["new_candidates"] = len(new2)
        c2["order_first"] = first_order
        c2["order_last"] = len(out)
        c2["total_rows"] = len(out)
        c["round2"] = c2

    assert len({r["repo"].lower() for r in out}) == len(out)
    assert not any(r["repo"].lower() in reserved for r in out)
    assert [r["order"] for r in out] == list(range(1, len(out) + 1))
    cols = ["repo", "source", "query", "rank", "file_versions", "half", "order"]
    # atomic writes (temporary file + rename): other scripts read candidates.csv
    tmp = args.out + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    os.replace(tmp, args.out)
    counts_path = os.path.join(HERE, "counts.json")
    with open(counts_path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(c, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(counts_path + ".tmp", counts_path)
    print(json.dumps(c, indent=1))


if __name__ == "__main__":
    main()
