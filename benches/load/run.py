"""The load benchmark (issue 9): `python3 benches/load/run.py sqlite|postgres [--scale S] [--seconds N] [--bin PATH]`.

1. A fresh database (SQLite: a file in a temp dir; PostgreSQL: a new database on the server at
   GLOSS_TEST_POSTGRES_URL, dropped at the end), `gloss migrate`, and `gloss admin create` (whose
   argon2 hash, of the members' password, every member then shares, so that all can log in).
2. The data set, generated in memory and inserted straight into the database with the server
   down (SQLite: executemany in one transaction per table, `synchronous=OFF`, no journal;
   PostgreSQL: COPY through psql), with every counter the server keeps set to what the server
   would have written: at scale 1, 2,000 members, 20 forums of 1,000 threads and one of 200,000,
   1,000,000 posts (one thread of 100,000, one of 30 for the thread page, the rest skewed), one
   revision per post, 100,000 annotations, 50,000 reactions, and the watches and read markers
   the server writes for everyone who posted in a thread. The page-version triggers are off during
   the load and back on after it; then PostgreSQL's sequences are moved past the ids, and ANALYZE.
3. SQL checks that every counter matches the rows, then the server (limits off, GLOSS_LOG=warn);
   a post and an annotation made through the API must come out as the loader wrote its rows.
4. Every measured request once through `requests` (each must answer 2xx), then each with wrk
   (`-t2 -c32`, `-c64` for the guest thread page) for N seconds, `GET /health/live` at both
   connection counts at the start and at the end (the ceiling is their mean).
5. A Markdown table (requests/s, p50, p99, % of the health ceiling, non-2xx, peak RSS), the load time and
   the server's memory (VmRSS after start and at the end, peak VmHWM), and the raw results as JSON in the
   temp dir.

`--scale 0.001 --seconds 1` is the CI smoke run (seconds; asserts 2xx and consistency, nothing about
speed). The server runs with its defaults otherwise: GLOSS_DB_POOL_SIZE, GLOSS_PAGE_CACHE_MB,
GLOSS_WORKERS and the like pass through from the environment (MALLOC_ARENA_MAX too).
"""

import argparse
import array
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PASSWORD = "load-benchmark-password"
DAY_US = 86_400_000_000
SPAN_US = 730 * DAY_US  # two years of activity
GUEST_POSTS = 30  # the thread whose page is measured (page 1 holds 20 of them)
PER_PAGE = 20
NOTE = "A short note on this passage."
NOTE_HTML = f"<p>{NOTE}</p>\n"

WORDS = """
able about above across act add address after again against agree ahead air allow almost alone
along already also although always among amount analysis ancient animal another answer any appear
apply approach area argue arm army around arrive art article ask assume attack attention author
avoid away back bad balance bank base battle bear beat become before begin behind believe benefit
best better between beyond big bill black blood blue board boat body book border both box break
bridge bring brother budget build burden business buy call camp campaign capital car card care
career carry case catch cause center central century certain chain chair chance change charge
check choice choose church citizen city civil claim class clear close coast cold collect college
color come common company compare concern condition conflict congress consider contain continue
control cost country couple course court cover create crime crisis culture current cut dark data
day deal death debate decade decide deep defense degree deliver demand deny describe design detail
develop difference difficult dinner direction discover discuss disease distance doctor door doubt
down draw dream drive drop during early earth east economy edge effect effort eight either election
else energy enjoy enough enter entire environment escape especially even evening event ever every
evidence exactly example expect experience expert explain face fact factor fail fall family far fast
father fear federal feel field fight figure fill film final finally find fine fire firm first fish
five floor fly focus follow food foot force foreign forget form former forward four free friend front
full fund future game garden general generation girl give glass goal good government great green
ground group grow growth guess gun hair half hand hang happen hard head health hear heart heat heavy
help here high history hold home hope hospital hot hotel hour house however huge human hundred
idea identify image imagine impact important improve include increase indeed indicate industry
inside instead interest interview into investment island issue item itself join judge just keep
kind kitchen know land language large last late later laugh lawyer lead leader learn least leave
left legal less letter level light likely line list listen little live local long look lose loss
machine magazine main maintain major manage market material matter maybe measure media medical
meeting member memory mention message method middle might military million mind minute mission
model modern moment money month morning mother mountain move movement much music must nation
natural nature near nearly necessary need network never news next night none north note nothing
notice number occur ocean offer office officer often open operation option order other outside
over owner page pain paper parent part party pass past patient pattern peace people perform
perhaps period person picture piece place plan plant play point police policy political poor
popular population position possible power practice prepare present president pressure pretty
prevent price private probably problem process produce product program project property protect
prove provide public pull purpose push quality question quickly quite race radio raise range
rather reach read ready real reality reason receive recent record reduce reflect region relate
remain remember report represent require research resource respond rest result return reveal
rich right rise risk river road rock role room rule run safe same save scene school science
season seat second section security seek sell send sense series serious serve service seven
several shake share shoot short shoulder show side sign similar simple since single sister site
situation size skill small social society soldier some song soon sort sound source south space
speak special speech spend sport spring staff stage stand standard star start state station stay
step still stock stop store story strategy street strong structure student study style subject
success suddenly suffer suggest summer support sure surface system table take talk task teach
team technology tell tend term test than thank theory thing think third those though thought
thousand threat three through throw thus today together tonight total tough toward town trade
traditional training travel treat treatment tree trial trip trouble true truth turn type under
understand unit until upon usually value various very victim view violence visit voice vote wait
walk wall want watch water wave weapon wear week weight west western whatever wheel whether while
white whole wide wife will wind window wish within without woman wonder word work worker world
worry write writer wrong yard yeah year young yourself
""".split()


# ---------------------------------------------------------------------------------------------
# The data set


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    if len(words) > 9 and rng.random() < 0.4:
        words[rng.randint(3, len(words) - 4)] += ","
    s = " ".join(words)
    return s[0].upper() + s[1:] + "."


class Body:
    """One post body of the pool, with what the server renders for it and places to annotate."""

    __slots__ = ("body", "html", "text", "spans", "unique_word", "paragraphs")

    def __init__(self, rng):
        paras = [" ".join(sentence(rng) for _ in range(rng.randint(1, 4)))
                 for _ in range(rng.choice((1, 1, 2, 2, 2, 3)))]
        self.paragraphs = len(paras)
        self.body = "\n\n".join(paras)
        # what the server stores for plain paragraphs: <p>…</p> each, and the text with blank lines
        self.html = "".join(f"<p>{p}</p>\n" for p in paras)
        self.text = self.body
        words = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+", self.text)]
        self.spans = []
        for _ in range(6):
            i = rng.randrange(len(words))
            j = min(len(words) - 1, i + rng.randint(0, 3))
            self.spans.append((words[i][0], words[j][1]))
        self.unique_word = next((self.text[a:b] for a, b in words
                                 if b - a >= 5 and self.text.count(self.text[a:b]) == 1), None)


def pareto_weights(rng, n, alpha, cap):
    return [min(rng.paretovariate(alpha), cap) for _ in range(n)]


class DataSet:
    """Everything the loader writes, generated in memory (post columns in compact arrays)."""

    def __init__(self, scale, seed=9):
        t0 = time.time()
        rng = random.Random(seed)
        self.scale = scale
        self.members = max(20, round(2000 * scale))
        self.per_forum = max(1, round(1000 * scale))
        self.ordinary_threads = 20 * self.per_forum
        self.big_forum_threads = max(20, round(200_000 * scale))
        T = self.threads = self.ordinary_threads + self.big_forum_threads
        self.big_thread_posts = max(40, round(100_000 * scale))
        P = max(round(1_000_000 * scale), T + self.big_thread_posts + GUEST_POSTS)
        self.posts = P
        self.annotation_target = max(50, round(100_000 * scale))
        self.reaction_target = max(20, round(50_000 * scale))
        self.pool = [Body(rng) for _ in range(2000)]

        # threads in creation order (thread id = index + 1); forums 0..19 ordinary, 20 the big one
        created = sorted(rng.randrange(0, int(SPAN_US * 0.995)) for _ in range(T))
        slots = [f for f in range(20) for _ in range(self.per_forum)] + [20] * self.big_forum_threads
        rng.shuffle(slots)
        self.thread_forum = slots

        def first_ordinary(start, avoid_forums=()):
            for i in list(range(start, T)) + list(range(0, start)):
                if slots[i] != 20 and slots[i] not in avoid_forums:
                    return i
            raise SystemExit("no ordinary thread left")

        big = self.big_thread = first_ordinary(T // 100)
        guest = self.guest_thread = first_ordinary(int(T * 0.6), (slots[big],))
        ordinary = [i for i in range(T) if slots[i] != 20 and i not in (big, guest)]
        rng.shuffle(ordinary)
        self.reply_threads = sorted(ordinary[:16])
        self.annotated_threads = sorted(ordinary[16:48] or ordinary[:32])

        # replies per thread: the big thread, the page thread, the rest skewed (a few long threads)
        replies = [0] * T
        replies[big] = self.big_thread_posts - 1
        replies[guest] = GUEST_POSTS - 1
        rest = P - T - replies[big] - replies[guest]
        others = [i for i in range(T) if i not in (big, guest)]
        w = pareto_weights(rng, len(others), 1.2, 400.0)
        total_w = sum(w)
        given = 0
        for i, wi in zip(others, w):
            n = int(rest * wi / total_w)
            replies[i] = n
            given += n
        for i in rng.choices(others, k=rest - given):
            replies[i] += 1

        # every post as (time << bits | thread), sorted: post ids follow time, as on a live forum
        bits = max(T.bit_length(), 1)
        mask = (1 << bits) - 1
        keys = []
        expo = rng.expovariate
        rand = rng.random
        for i in range(T):
            c = created[i]
            keys.append((c << bits) | i)
            n = replies[i]
            left = SPAN_US - c - 1
            if i == big:
                keys.extend(((c + 1 + int(rand() * left)) << bits) | i for _ in range(n))
            elif i == guest:
                keys.extend(((c + 1 + int(rand() * min(left, 10 * DAY_US))) << bits) | i for _ in range(n))
            else:
                for _ in range(n):
                    off = int(expo(1 / (4 * DAY_US)))
                    if off >= left:
                        off = int(rand() * left)
                    keys.append(((c + 1 + off) << bits) | i)
        keys.sort()

        M = self.members
        member_w = pareto_weights(rng, M, 1.1, 200.0)
        cum, acc = [], 0.0
        for x in member_w:
            acc += x
            cum.append(acc)
        authors = rng.choices(range(M), cum_weights=cum, k=P)
        bodies = [rng.randrange(len(self.pool)) for _ in range(P)]

        self.post_thread = array.array("i")
        self.post_user = array.array("i")
        self.post_pos = array.array("i")
        self.post_time = array.array("q")
        self.post_body = array.array("H", bodies)
        self.post_user.extend(authors)
        self.thread_user = [0] * T
        self.thread_first = [0] * T
        self.thread_last = [0] * T
        self.thread_posts = [0] * T
        self.message_count = [0] * M
        first_pair, last_pair = {}, {}
        pt, pp, ptime = self.post_thread, self.post_pos, self.post_time
        tposts, tlast = self.thread_posts, self.thread_last
        mcount = self.message_count
        for k, key in enumerate(keys):
            i = key & mask
            pos = tposts[i] + 1
            tposts[i] = pos
            u = authors[k]
            if pos == 1:
                self.thread_user[i] = u
                self.thread_first[i] = k
            tlast[i] = k
            mcount[u] += 1
            pt.append(i)
            pp.append(pos)
            ptime.append(key >> bits)
            pair = (u << bits) | i
            if pair not in first_pair:
                first_pair[pair] = k
            last_pair[pair] = k
        del keys
        self.bits = bits
        # the server's watch (first post in the thread) and read marker (last post) of each poster
        self.pairs = sorted(last_pair)
        self.pair_first = first_pair
        self.pair_last = last_pair
        self.thread_sticky = [False] * T
        seen = set()
        for i in range(T):  # the two oldest threads of each forum are sticky
            f = slots[i]
            if (f, 0) not in seen:
                seen.add((f, 0))
                self.thread_sticky[i] = True
            elif (f, 1) not in seen:
                seen.add((f, 1))
                self.thread_sticky[i] = True
        self.thread_views = [rng.randint(tposts[i], 20 * tposts[i] + 50) for i in range(T)]
        self.thread_prefix = [rng.randrange(3) if rng.random() < 0.3 else None for _ in range(T)]
        self.thread_titles = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))).capitalize()
                              for _ in range(len(self.pool))]

        # reactions: a twentieth on the page thread, the rest on first posts and anywhere
        guest_posts = [k for k in range(self.thread_first[guest], self.thread_last[guest] + 1) if pt[k] == guest]
        self.guest_posts = guest_posts
        reactions = set()
        for _ in range(self.reaction_target):
            r = rand()
            if r < 0.05:
                k = rng.choice(guest_posts)
            elif r < 0.5:
                k = self.thread_first[rng.randrange(T)]
            else:
                k = rng.randrange(P)
            u = rng.randrange(M)
            if u != authors[k]:
                reactions.add((k, u))
        self.reactions = sorted(reactions)
        self.reaction_score = [0] * M
        for k, _ in self.reactions:
            self.reaction_score[authors[k]] += 1

        # annotations: 0 to 8 on each post of the page thread, the rest on first posts and anywhere
        notes = []

        def annotate(k):
            b = self.pool[bodies[k]]
            start, end = rng.choice(b.spans)
            when = min(ptime[k] + 1 + int(expo(1 / (2 * DAY_US))), SPAN_US - 1)
            commenting = rand() < 0.25
            private = rand() < 0.05
            notes.append((when, k, rng.randrange(M), start, end, commenting, private))

        for k in guest_posts:
            for _ in range(rng.randint(0, 8)):
                annotate(k)
        while len(notes) < self.annotation_target:
            annotate(self.thread_first[rng.randrange(T)] if rand() < 0.5 else rng.randrange(P))
        notes.sort()
        self.annotations = notes
        self.generate_seconds = time.time() - t0

    def forum_stats(self):
        """Per forum index: threads, posts, and the newest post (by time, then id)."""
        stats = {f: [0, 0, -1] for f in range(21)}
        for i in range(self.threads):
            s = stats[self.thread_forum[i]]
            s[0] += 1
            s[1] += self.thread_posts[i]
            s[2] = max(s[2], self.thread_last[i])  # ids follow time: the largest is the newest
        return stats


# ---------------------------------------------------------------------------------------------
# Rows


def ts_formatter(base):
    """Microseconds after `base` as diesel writes a NaiveDateTime to SQLite (chrono's `%F %T%.f`);
    PostgreSQL reads the same text."""
    def fmt(us):
        s = (base + timedelta(microseconds=us)).isoformat(" ")
        if us % 1000 == 0 and us % 1_000_000:
            s = s[:-3]
        return s
    return fmt


def pg_escape(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def tables(d, first_member_id, password_hash, base, NULL, esc):
    """(table, columns, rows) in foreign-key order. NULL and esc suit the backend (COPY text needs
    `\\N` and escapes; sqlite3 takes None and plain text)."""
    ts = ts_formatter(base)
    uid = lambda m: first_member_id + m  # noqa: E731
    T, M = d.threads, d.members
    joined_rng = random.Random(7)  # members joined in the two months before the first thread
    joined = sorted(-int(joined_rng.random() * 60 * DAY_US) for _ in range(M))

    def users():
        for m in range(M):
            t = ts(joined[m])
            yield (uid(m), f"member{m}", f"member{m}", f"member{m}@example.org", f"member{m}@example.org",
                   f"Member {m}" if m % 3 == 0 else NULL, NULL, password_hash, "member", False, t, t,
                   d.message_count[m], d.reaction_score[m], NULL, NULL, False, True)

    stats = d.forum_stats()
    forum_id = lambda f: 3 + f  # noqa: E731  (1 and 2 are the categories)
    forum_created = ts(-61 * DAY_US)

    def forums():
        yield (1, NULL, "category", "Discussion", "discussion", "Twenty forums of a thousand threads", 0,
               0, 0, NULL, NULL, NULL, NULL, forum_created, forum_created)
        yield (2, NULL, "category", "Archive", "archive", "One very large forum", 1,
               0, 0, NULL, NULL, NULL, NULL, forum_created, forum_created)
        for f in range(21):
            threads_n, posts_n, last = stats[f]
            if f < 20:
                title, slug, parent = f"Forum {f + 1}", f"forum-{f + 1}", 1
            else:
                title, slug, parent = "The Big Board", "big-board", 2
            if last >= 0:
                lp = (last + 1, d.post_thread[last] + 1, uid(d.post_user[last]), ts(d.post_time[last]))
                updated = lp[3]
            else:
                lp, updated = (NULL, NULL, NULL, NULL), forum_created
            yield (forum_id(f), parent, "forum", title, slug, f"About {title.lower()}", f if f < 20 else 0,
                   threads_n, posts_n, lp[0], lp[1], lp[2], lp[3], forum_created, updated)

    labels = ("News", "Question", "Analysis")
    prefix_id = lambda f, p: 1 + 3 * f + p  # noqa: E731

    def prefixes():
        for f in range(21):
            for p, label in enumerate(labels):
                yield (prefix_id(f, p), forum_id(f), label, p, forum_created)

    def threads():
        for i in range(T):
            f = d.thread_forum[i]
            first, last = d.thread_first[i], d.thread_last[i]
            p = d.thread_prefix[i]
            c = ts(d.post_time[first])
            yield (i + 1, forum_id(f), uid(d.thread_user[i]), d.thread_titles[i % len(d.thread_titles)],
                   NULL if p is None else prefix_id(f, p), d.thread_posts[i] - 1, d.thread_views[i],
                   d.thread_posts[i], first + 1, last + 1, uid(d.post_user[last]), ts(d.post_time[last]),
                   d.thread_sticky[i], False, NULL, NULL, c, c, 0)

    pool_e = [(esc(b.body), esc(b.html), esc(b.text)) for b in d.pool]

    def posts():
        pt, pu, pp, ptm, pb = d.post_thread, d.post_user, d.post_pos, d.post_time, d.post_body
        for k in range(d.posts):
            body, html, text = pool_e[pb[k]]
            yield (k + 1, pt[k] + 1, uid(pu[k]), pp[k], body, html, text, 1, 0, ts(ptm[k]))

    def revisions():
        pu, ptm, pb = d.post_user, d.post_time, d.post_body
        for k in range(d.posts):
            body, _, text = pool_e[pb[k]]
            yield (k + 1, k + 1, 1, body, text, uid(pu[k]), ts(ptm[k]))

    note_e, note_html_e = esc(NOTE), esc(NOTE_HTML)

    def annotations():
        for n, (when, k, m, start, end, commenting, private) in enumerate(d.annotations):
            text = d.pool[d.post_body[k]].text
            t = ts(when)
            yield (n + 1, k + 1, uid(m), NULL, "commenting" if commenting else "highlighting",
                   note_e if commenting else NULL, note_html_e if commenting else NULL, "[]",
                   "private" if private else "public", esc(text[start:end]),
                   esc(text[max(0, start - 32):start]), esc(text[end:end + 32]), start, end,
                   1, 1, "anchored", 1.0, 0, t, t)

    def reactions():
        for k, m in d.reactions:
            yield (k + 1, uid(m), 1, ts(min(d.post_time[k] + 3_600_000_000, SPAN_US - 1)))

    bits = d.bits
    mask = (1 << bits) - 1

    def read_markers():
        for pair in d.pairs:
            k = d.pair_last[pair]
            t = ts(d.post_time[k])
            yield (uid(pair >> bits), (pair & mask) + 1, d.post_pos[k], t, t)

    def watches():
        for pair in d.pairs:
            yield (uid(pair >> bits), (pair & mask) + 1, ts(d.post_time[d.pair_first[pair]]))

    return [
        ("users", "id, username, username_key, email, email_key, display_name, about, password_hash, role, "
                  "disabled, created_at, updated_at, message_count, reaction_score, avatar_url, last_seen_at, "
                  "hide_presence, auto_watch", users(), M),
        ("forums", "id, parent_id, kind, title, slug, description, position, thread_count, post_count, "
                   "last_post_id, last_thread_id, last_post_user_id, last_post_at, created_at, updated_at",
         forums(), 23),
        ("thread_prefixes", "id, forum_id, label, position, created_at", prefixes(), 63),
        ("threads", "id, forum_id, user_id, title, prefix_id, reply_count, view_count, last_position, "
                    "first_post_id, last_post_id, last_post_user_id, last_post_at, sticky, locked, deleted_at, "
                    "deleted_by, created_at, updated_at, page_version", threads(), T),
        ("posts", "id, thread_id, user_id, position, body, body_html, body_text, revision, edit_count, created_at",
         posts(), d.posts),
        ("post_revisions", "id, post_id, revision, body, body_text, editor_id, created_at", revisions(), d.posts),
        ("annotations", "id, post_id, user_id, parent_id, motivation, body, body_html, tags, visibility, "
                        "quote_exact, quote_prefix, quote_suffix, start_pos, end_pos, created_revision, "
                        "anchored_revision, anchor_state, anchor_confidence, reply_count, created_at, updated_at",
         annotations(), len(d.annotations)),
        ("post_reactions", "post_id, user_id, kind_id, created_at", reactions(), len(d.reactions)),
        ("read_markers", "user_id, thread_id, position, annotations_seen_at, updated_at", read_markers(), len(d.pairs)),
        ("thread_watches", "user_id, thread_id, created_at", watches(), len(d.pairs)),
    ]


# Each query counts rows whose counters disagree with the rows they count: all must be 0.
CHECKS = {
    "thread counters": """SELECT COUNT(*) FROM threads t LEFT JOIN (SELECT thread_id, COUNT(*) AS n,
        MAX(position) AS mp, MIN(id) AS f, MAX(id) AS l FROM posts GROUP BY thread_id) p ON p.thread_id = t.id
        LEFT JOIN posts lp ON lp.id = t.last_post_id
        WHERE p.n IS NULL OR t.reply_count <> p.n - 1 OR t.last_position <> p.mp OR t.first_post_id <> p.f
        OR t.last_post_id <> p.l OR t.last_post_user_id <> lp.user_id OR t.last_post_at <> lp.created_at""",
    "positions 1..n": """SELECT COUNT(*) FROM threads t WHERE t.last_position <> (SELECT COUNT(*) FROM posts p
        WHERE p.thread_id = t.id AND p.position BETWEEN 1 AND t.last_position)""",
    "member message counts": """SELECT COUNT(*) FROM users u LEFT JOIN (SELECT user_id, COUNT(*) AS n FROM posts
        GROUP BY user_id) p ON p.user_id = u.id WHERE u.message_count <> COALESCE(p.n, 0)""",
    "member reaction scores": """SELECT COUNT(*) FROM users u LEFT JOIN (SELECT p.user_id, COUNT(*) AS n
        FROM post_reactions r JOIN posts p ON p.id = r.post_id GROUP BY p.user_id) s ON s.user_id = u.id
        WHERE u.reaction_score <> COALESCE(s.n, 0)""",
    "forum counters": """SELECT COUNT(*) FROM forums f LEFT JOIN (SELECT forum_id, COUNT(*) AS n,
        SUM(reply_count) + COUNT(*) AS pn, MAX(last_post_id) AS l FROM threads GROUP BY forum_id) t
        ON t.forum_id = f.id LEFT JOIN posts lp ON lp.id = f.last_post_id
        WHERE f.kind = 'forum' AND (f.thread_count <> t.n OR f.post_count <> t.pn OR f.last_post_id <> t.l
        OR f.last_thread_id <> lp.thread_id OR f.last_post_user_id <> lp.user_id OR f.last_post_at <> lp.created_at)""",
    "first revisions": """SELECT (SELECT COUNT(*) FROM posts) - (SELECT COUNT(*) FROM post_revisions r
        JOIN posts p ON p.id = r.post_id WHERE r.revision = 1 AND r.body = p.body AND r.body_text = p.body_text
        AND r.editor_id = p.user_id AND r.created_at = p.created_at)""",
    "annotation quotes": """SELECT COUNT(*) FROM annotations a JOIN posts p ON p.id = a.post_id
        WHERE substr(p.body_text, CAST(a.start_pos AS INTEGER) + 1, CAST(a.end_pos - a.start_pos AS INTEGER))
        <> a.quote_exact""",
    "read markers": """SELECT COUNT(*) FROM read_markers r JOIN threads t ON t.id = r.thread_id
        WHERE r.position > t.last_position""",
}


# ---------------------------------------------------------------------------------------------
# Databases


class SqliteDb:
    name = "SQLite"

    def __init__(self, work):
        self.path = os.path.join(work, "load.db")
        self.url = self.path

    def query(self, sql):
        con = sqlite3.connect(self.path)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def load(self, table_list):
        con = sqlite3.connect(self.path, isolation_level=None)
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -1000000")  # 1 GB for the index pages during the load
        con.execute("PRAGMA temp_store = MEMORY")
        # the page-version triggers would update a thread for every post, annotation and reaction
        triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _ in triggers:
            con.execute(f"DROP TRIGGER {name}")
        for table, cols, rows, n in table_list:
            t0 = time.time()
            marks = ", ".join("?" * len(cols.split(",")))
            con.execute("BEGIN")
            con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
            con.execute("COMMIT")
            print(f"  {table}: {n:,} rows in {time.time() - t0:.1f} s", flush=True)
        for _, sql in triggers:
            con.execute(sql)
        t0 = time.time()
        con.execute("ANALYZE")
        con.execute("PRAGMA journal_mode = WAL")
        con.close()
        print(f"  ANALYZE in {time.time() - t0:.1f} s", flush=True)

    def drop(self):
        pass


class PostgresDb:
    name = "PostgreSQL"
    TABLES = ("users", "forums", "thread_prefixes", "threads", "posts", "post_revisions", "annotations",
              "post_reactions", "read_markers", "thread_watches")
    SERIAL = ("users", "forums", "thread_prefixes", "threads", "posts", "post_revisions", "annotations")

    def __init__(self, work):
        self.admin_url = os.environ.get("GLOSS_TEST_POSTGRES_URL", "postgres://gloss_test@127.0.0.1:5432/gloss_test")
        self.db = f"gloss_test_load_{os.getpid()}"
        self.psql(self.admin_url, f"CREATE DATABASE {self.db}")
        self.url = self.admin_url.rsplit("/", 1)[0] + "/" + self.db

    @staticmethod
    def psql(url, sql):
        r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"psql failed: {r.stderr.strip()}\n{sql}")
        return r.stdout

    def query(self, sql):
        return [tuple(line.split("|")) for line in self.psql(self.url, sql).splitlines()]

    def load(self, table_list):
        # the page-version triggers would update a thread for every post, annotation and reaction
        self.psql(self.url, "; ".join(f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in self.TABLES))
        for table, cols, rows, n in table_list:
            t0 = time.time()
            template = "\t".join(["{}"] * len(cols.split(","))) + "\n"
            fmt = template.format
            p = subprocess.Popen(["psql", self.url, "-v", "ON_ERROR_STOP=1", "-qc",
                                  f"COPY {table} ({cols}) FROM STDIN"], stdin=subprocess.PIPE)
            buf = []
            for row in rows:
                buf.append(fmt(*row))
                if len(buf) >= 20_000:
                    p.stdin.write("".join(buf).encode())
                    buf.clear()
            p.stdin.write("".join(buf).encode())
            p.stdin.close()
            if p.wait() != 0:
                raise SystemExit(f"COPY {table} failed")
            print(f"  {table}: {n:,} rows in {time.time() - t0:.1f} s", flush=True)
        self.psql(self.url, "; ".join(f"ALTER TABLE {t} ENABLE TRIGGER USER" for t in self.TABLES))
        self.psql(self.url, "; ".join(
            f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))" for t in self.SERIAL))
        t0 = time.time()
        # VACUUM too: a freshly copied table has no visibility map and unset hint bits, which the
        # first reads of a benchmark would otherwise be writing
        self.psql(self.url, "VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE in {time.time() - t0:.1f} s", flush=True)

    def drop(self):
        subprocess.run(["psql", self.admin_url, "-qc", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)"],
                       capture_output=True)


# ---------------------------------------------------------------------------------------------
# Measuring

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(out):
    def lat(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m.group(1)) * UNIT_MS[m.group(2)] if m else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    statuses = re.search(r"statuses: (.*)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "p50_ms": lat(50), "p99_ms": lat(99),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "statuses": statuses.group(1).strip() if statuses else "",
    }


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


def mb(v):
    return "—" if v is None else f"{v:.0f} MB"


def memory_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak(pid):
    """Sets VmHWM back to the current RSS (Linux 4.0+), so that the next reading is one run's peak."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("backend", choices=("sqlite", "postgres"))
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = the full data set (default)")
    ap.add_argument("--seconds", type=int, default=10, help="per wrk run (default 10)")
    ap.add_argument("--bin", default=os.environ.get("GLOSS_BIN", os.path.join(ROOT, "target", "release", "gloss")))
    ap.add_argument("--keep", action="store_true", help="keep the database and temp dir")
    ap.add_argument("--load-only", action="store_true", help="stop after loading and checking")
    ap.add_argument("--only", default="", help="measure only the requests whose label holds this text (e.g. search)")
    args = ap.parse_args()
    if not shutil.which("wrk") and not args.load_only:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    if not os.access(args.bin, os.X_OK):
        raise SystemExit(f"no gloss binary at {args.bin}: cargo build --release (or --bin / GLOSS_BIN)")

    work = tempfile.mkdtemp(prefix="gloss-load-")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    base = f"http://127.0.0.1:{port}"
    db = SqliteDb(work) if args.backend == "sqlite" else PostgresDb(work)
    env = dict(os.environ)
    env.update(GLOSS_MEDIA_DIR=os.path.join(work, "media"), GLOSS_DATABASE_URL=db.url, GLOSS_BIND=f"127.0.0.1:{port}", GLOSS_LOG="warn",
               GLOSS_JWT_SECRET="load-benchmark-secret-0123456789abcdef0123", GLOSS_RATE_AUTH_PER_MINUTE="0",
               GLOSS_RATE_FAILED_LOGINS="0", GLOSS_RATE_WRITES_PER_MINUTE="0", GLOSS_ADMIN_PASSWORD=PASSWORD,
               GLOSS_ACCESS_TOKEN_TTL="86400")
    server = None
    report = {"backend": args.backend, "scale": args.scale, "seconds": args.seconds, "nproc": os.cpu_count()}
    try:
        # ---- load
        t_load = time.time()
        subprocess.run([args.bin, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([args.bin, "admin", "create", "--username", "ada"], env=env, check=True, capture_output=True)
        ((ada_id, password_hash),) = db.query("SELECT id, password_hash FROM users")
        print(f"{db.name}, scale {args.scale}: generating the data set", flush=True)
        d = DataSet(args.scale)
        print(f"  generated in {d.generate_seconds:.1f} s: {d.members:,} members, 21 forums, {d.threads:,} threads "
              f"({d.big_forum_threads:,} in the big forum), {d.posts:,} posts (one thread of {d.big_thread_posts:,}), "
              f"{len(d.annotations):,} annotations, {len(d.reactions):,} reactions, {len(d.pairs):,} watches and "
              f"read markers", flush=True)
        base_time = (datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=1)).replace(microsecond=0) - timedelta(microseconds=SPAN_US)
        first_member = int(ada_id) + 1
        pg = args.backend == "postgres"
        t_insert = time.time()
        db.load(tables(d, first_member, password_hash, base_time, "\\N" if pg else None,
                       pg_escape if pg else (lambda s: s)))
        load_seconds = time.time() - t_load
        print(f"loaded in {load_seconds:.1f} s (generating {d.generate_seconds:.1f} s, inserting and analyzing "
              f"{time.time() - t_insert:.1f} s)", flush=True)
        report["load_seconds"] = round(load_seconds, 1)
        report["data"] = {"members": d.members, "threads": d.threads, "big_forum_threads": d.big_forum_threads,
                          "posts": d.posts, "big_thread_posts": d.big_thread_posts,
                          "annotations": len(d.annotations), "reactions": len(d.reactions),
                          "read_markers": len(d.pairs)}
        t0 = time.time()
        for name, sql in CHECKS.items():
            bad = int(db.query(sql)[0][0])
            assert bad == 0, f"{name}: {bad} rows disagree"
        print(f"checked every counter against the rows in {time.time() - t0:.1f} s", flush=True)
        # the rows went in behind the server's back: build their search documents, as an operator
        # does after a bulk load
        t0 = time.time()
        subprocess.run([args.bin, "reindex"], env=env, check=True, capture_output=True)
        report["search_index_seconds"] = round(time.time() - t0, 1)
        missing = int(db.query("SELECT (SELECT COUNT(*) FROM threads) + (SELECT COUNT(*) FROM posts) "
                               "+ (SELECT COUNT(*) FROM annotations) - (SELECT COUNT(*) FROM search_docs)")[0][0])
        assert missing == 0, f"search documents: {missing} missing"
        print(f"built the search index (`gloss reindex`) in {report['search_index_seconds']:.1f} s", flush=True)
        if args.load_only:
            return

        # ---- the server
        log = open(os.path.join(work, "server.log"), "w")
        server = subprocess.Popen([args.bin, "serve"], env=env, stdout=log, stderr=log)
        for _ in range(300):
            try:
                if requests.get(f"{base}/health/live", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None:
                raise SystemExit(f"the server stopped; see {work}/server.log")
            time.sleep(0.1)
        rss_start = memory_kb(server.pid, "VmRSS")

        def call(method, path, token=None, body=None):
            h = {"Authorization": f"Bearer {token}"} if token else {}
            r = requests.request(method, f"{base}{path}", json=body, headers=h, timeout=60)
            assert 200 <= r.status_code < 300, (method, path, r.status_code, r.text[:500])
            return r.json() if r.content and r.headers.get("content-type", "").endswith("json") else None

        logins = [f"member{m}" for m in range(16)]
        tokens = [call("POST", "/api/v1/auth/login", body={"login": u, "password": PASSWORD})["access_token"]
                  for u in logins]
        member_token = tokens[0]

        # the loader's rows must be what the server writes: a post and an annotation made through the API
        tid = lambda i: i + 1  # noqa: E731
        for b in [next(b for b in d.pool if b.paragraphs == n) for n in (1, 2, 3)]:
            made = call("POST", f"/api/v1/threads/{tid(d.reply_threads[0])}/posts", tokens[1], {"body": b.body})
            assert (made["body_html"], made["body_text"]) == (b.html, b.text), ("rendering differs", made, b.body)
        k = d.thread_first[d.annotated_threads[0]]
        b = d.pool[d.post_body[k]]
        start, end = b.spans[0]
        made = call("POST", f"/api/v1/posts/{k + 1}/annotations", tokens[2],
                    {"motivation": "commenting", "body": NOTE,
                     "selector": {"exact": b.text[start:end], "start": start, "end": end}})
        sel = made["target"]["selector"]
        expected = (b.text[max(0, start - 32):start], b.text[end:end + 32], start, end, NOTE_HTML)
        got = (sel["prefix"], sel["suffix"], sel["start"], sel["end"], made["body_html"])
        assert got == expected, ("annotation differs", made)
        print("a post and an annotation made through the API match the loader's rows", flush=True)

        # ---- what is measured
        big_forum, small_forum = 23, 3 + d.thread_forum[d.guest_thread]
        guest, big = tid(d.guest_thread), tid(d.big_thread)

        def deep(name, want, items):
            """The page `want` of a list, or its last page when it has fewer, named so."""
            last = -(-items // PER_PAGE)
            page = min(want, last)
            return f"{name}, page {page:,}" + (" (its last)" if page < want else ""), page

        big_label, big_deep = deep("big forum threads", 1000, d.big_forum_threads)
        small_label, small_deep = deep("small forum threads", 1000, d.per_forum)
        long_label, long_deep = deep(f"{d.big_thread_posts:,}-post thread view", 5000, d.big_thread_posts)
        targets = []
        for i in d.annotated_threads:
            b = d.pool[d.post_body[d.thread_first[i]]]
            if b.unique_word:
                targets.append(f"{d.thread_first[i] + 1}:{b.unique_word}")
        auth = f"Authorization: Bearer {member_token}"
        w = [x for x in re.findall(r"[a-z]+", d.pool[d.post_body[d.thread_first[d.guest_thread]]].text.lower())
             if len(x) > 3]
        threads_path = "/api/v1/forums/{}/threads?page={}"
        measured = [  # label, path, connections, header, write (post.lua's mode)
            ("guest thread view", f"/api/v1/threads/{guest}/view", 64, None, None),
            ("member thread view", f"/api/v1/threads/{guest}/view", 32, auth, None),
            ("site-wide blocks", "/api/v1/site", 32, None, None),
            ("big forum threads, page 1", threads_path.format(big_forum, 1), 32, None, None),
            (big_label, threads_path.format(big_forum, big_deep), 32, None, None),
            ("big forum threads, page 1 (member: built)", threads_path.format(big_forum, 1), 32, auth, None),
            (big_label + " (member: built)", threads_path.format(big_forum, big_deep), 32, auth, None),
            ("small forum threads, page 1", threads_path.format(small_forum, 1), 32, None, None),
            (small_label, threads_path.format(small_forum, small_deep), 32, None, None),
            ("latest posts", "/api/v1/posts/latest", 32, None, None),
            ("unread threads (member)", "/api/v1/threads/unread", 32, auth, None),
            (f"{d.big_thread_posts:,}-post thread view, page 1", f"/api/v1/threads/{big}/view", 32, None, None),
            (long_label, f"/api/v1/threads/{big}/view?page={long_deep}", 32, None, None),
            ("login", "/api/v1/auth/login", 32, None, "login"),
            ("create reply", "/api/v1/threads/{id}/posts", 32, None, "reply"),
            ("create annotation", "/api/v1/posts/{id}/annotations", 32, None, "annotation"),
            # every word of the pool is in some 3% of the posts (30,000 at scale 1): a word ranks all of
            # them; two words, a phrase and a forum narrow it (words of the guest thread's first post)
            ("search, a common word (ranked)", f"/api/v1/search?q={w[0]}", 32, None, None),
            ("search, a common word (newest first)", f"/api/v1/search?q={w[0]}&sort=newest", 32, None, None),
            ("search, two words (ranked)", f"/api/v1/search?q={w[0]}+{w[3]}", 32, None, None),
            ("search, a phrase (ranked)", f"/api/v1/search?q=%22{w[1]}+{w[2]}%22", 32, None, None),
            ("search, a word in one forum (ranked)", f"/api/v1/search?q={w[0]}&forum_id={small_forum}", 32, None, None),
        ]
        if args.only:
            measured = [m for m in measured if args.only in m[0]]
        wrk_env = dict(os.environ, GLOSS_TOKENS=",".join(tokens), GLOSS_LOGINS=",".join(logins),
                       GLOSS_PASSWORD=PASSWORD, GLOSS_THREADS=",".join(str(tid(i)) for i in d.reply_threads),
                       GLOSS_TARGETS=",".join(targets))

        # every request once, before any timing: each must answer 2xx
        for label, path, _, header, write in measured:
            if write == "login":
                call("POST", path, body={"login": logins[3], "password": PASSWORD})
            elif write == "reply":
                call("POST", f"/api/v1/threads/{tid(d.reply_threads[1])}/posts", tokens[3], {"body": "A first reply."})
            elif write == "annotation":
                post, word = targets[0].split(":")
                call("POST", f"/api/v1/posts/{post}/annotations", tokens[3],
                     {"motivation": "highlighting", "selector": {"exact": word}})
            else:
                page = call("GET", path, member_token if header else None)
                if "/forums/" in path or "unread" in path or "/search" in path:
                    assert page["items"], (label, "an empty list")
                if path.endswith("/view") or "view?" in path:
                    assert page["posts"]["items"], (label, "a page without posts")
        print("every measured request answered 2xx once", flush=True)

        def run_wrk(path, conns, header=None, write=None):
            cmd = ["wrk", "-t2", f"-c{conns}", f"-d{args.seconds}s", "--latency", "--timeout", "10s"]
            if header:
                cmd += ["-H", header]
            if write:
                cmd += ["-s", os.path.join(HERE, "post.lua")]
                run_env = dict(wrk_env, GLOSS_WRITE=write)
                url = base
            else:
                run_env = wrk_env
                url = base + path
            peaks.append(memory_kb(server.pid, "VmHWM"))
            rss_before = memory_kb(server.pid, "VmRSS")
            resettable = reset_peak(server.pid)
            out = subprocess.run(cmd + [url], env=run_env, check=True, capture_output=True, text=True).stdout
            r = parse_wrk(out)
            r["rss_before_mb"] = round(rss_before / 1024, 1)
            r["rss_after_mb"] = round(memory_kb(server.pid, "VmRSS") / 1024, 1)
            r["peak_mb"] = round(memory_kb(server.pid, "VmHWM") / 1024, 1) if resettable else None
            return r

        rss_ready = memory_kb(server.pid, "VmRSS")
        peaks = []  # VmHWM before each reset: the peak over everything up to there
        results = []
        health = {}
        for conns in (32, 64):
            health[("start", conns)] = run_wrk("/health/live", conns)
            print(f"  health at {conns} connections: {health[('start', conns)]['rps']:,.0f}/s, "
                  f"server RSS after it {health[('start', conns)]['rss_after_mb']:.0f} MB", flush=True)
        for label, path, conns, header, write in measured:
            r = run_wrk(path, conns, header, write)
            r.update(label=label, path=path, conns=conns, member=bool(header) or write in ("reply", "annotation"))
            results.append(r)
            print(f"  {label}: {r['rps']:,.0f}/s, p50 {fmt_ms(r['p50_ms'])}, p99 {fmt_ms(r['p99_ms'])}, "
                  f"non-2xx {r['non2xx']}" + (f" ({r['statuses']})" if r["statuses"] else "") +
                  f", server RSS after it {r['rss_after_mb']:.0f} MB" +
                  (f" (peak during it {r['peak_mb']:.0f} MB)" if r["peak_mb"] else ""), flush=True)
        for conns in (32, 64):
            health[("end", conns)] = run_wrk("/health/live", conns)
        ceiling = {c: (health[("start", c)]["rps"] + health[("end", c)]["rps"]) / 2 for c in (32, 64)}
        rss_end = memory_kb(server.pid, "VmRSS")
        hwm = max(peaks + [memory_kb(server.pid, "VmHWM")])
        per_run = [(r["peak_mb"], r["label"], r["rss_before_mb"]) for r in results if r.get("peak_mb")]
        reads_peak = max((p for p, label, _ in per_run if label not in ("login", "create reply", "create annotation")),
                         default=None)

        # ---- the report
        pool = env.get("GLOSS_DB_POOL_SIZE") or "the default"
        lines = [f"### {db.name}, scale {args.scale:g} ({args.seconds} s per request, {os.cpu_count()} cores, "
                 f"database pool {pool})", "",
                 f"Data: {d.members:,} members, {d.threads:,} threads ({d.big_forum_threads:,} in one forum), "
                 f"{d.posts:,} posts (one thread of {d.big_thread_posts:,}), {len(d.annotations):,} annotations, "
                 f"{len(d.reactions):,} reactions. Loaded in {load_seconds:.0f} s; search index built in "
                 f"{report['search_index_seconds']:.0f} s.", "",
                 "| request | conns | requests/s | p50 | p99 | % of health | non-2xx | server peak RSS |",
                 "|---|---|---|---|---|---|---|---|"]
        for c in (32, 64):
            h0, h1 = health[("start", c)], health[("end", c)]
            lines.append(f"| `GET /health/live` (ceiling: mean of start {h0['rps']:,.0f} and end {h1['rps']:,.0f}; "
                         f"latencies at the start) | {c} | {ceiling[c]:,.0f} | {fmt_ms(h0['p50_ms'])} | "
                         f"{fmt_ms(h0['p99_ms'])} | 100% | {h0['non2xx'] + h1['non2xx']} | {mb(h0['peak_mb'])} |")
        for r in results:
            r["pct_of_health"] = round(100 * r["rps"] / ceiling[r["conns"]], 2) if ceiling[r["conns"]] else None
            extra = f" ({r['statuses']})" if r["statuses"] and r["non2xx"] else ""
            if r["socket_errors"]:
                extra += f"; socket errors: {r['socket_errors']}"
            lines.append(f"| {r['label']} | {r['conns']} | {r['rps']:,.0f} | {fmt_ms(r['p50_ms'])} | "
                         f"{fmt_ms(r['p99_ms'])} | {r['pct_of_health']:.1f}% | {r['non2xx']}{extra} | "
                         f"{mb(r['peak_mb'])} |")
        memory = (f"Server memory: VmRSS {rss_start / 1024:.0f} MB after start, {rss_ready / 1024:.0f} MB before the "
                  f"first measurement, {rss_end / 1024:.0f} MB at the end; peak (VmHWM) {hwm / 1024:.0f} MB")
        if per_run:
            top_mb, top_label, top_before = max(per_run)
            if top_mb * 1024 >= hwm - 1024:  # (rounded to 0.1 MB)
                memory += f" (during {top_label}, which began at {top_before:.0f} MB)"
            memory += f"; the highest peak during a read was {reads_peak:.0f} MB"
        lines += ["", memory + "."]
        table = "\n".join(lines)
        print()
        print(table)
        report.update(results=results, health={f"{k[0]}_{k[1]}": v for k, v in health.items()},
                      ceiling=ceiling, rss_start_mb=round(rss_start / 1024, 1), rss_ready_mb=round(rss_ready / 1024, 1),
                      rss_end_mb=round(rss_end / 1024, 1), reads_peak_mb=reads_peak,
                      peak_mb=round(hwm / 1024, 1), table=table)
        out = os.path.join(tempfile.gettempdir(), f"gloss-load-{args.backend}-{args.scale:g}.json")
        with open(out, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nraw results: {out}")
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        if args.keep:
            print(f"kept: {work} ({db.url})")
        else:
            db.drop()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
