#!/usr/bin/env python3
"""Python peer of kiln_bench_text: the preprocessing of
../shared/bench/torch_baseline.py (re clean, split, dict lookup, pad/truncate),
timed alone over texts the C++ side already extracted.

  python_peer.py <texts.jsonl> <runs> <max_length>

Each input line is ["train" | "test", text]. The vocabulary is built from the
train texts with min_count 2, as in the baseline, before timing starts.
Prints one JSON line: vocabulary size and the seconds of every run.
"""
import collections, json, re, sys, time

path, runs, max_length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, encoding="utf-8") as f:
    rows = [json.loads(line) for line in f]
texts = [text for _, text in rows]

def clean(t):
    return re.sub(r"[^a-z0-9]+", " ", t.lower()).strip()

counts = collections.Counter(w for split, t in rows if split == "train" for w in clean(t).split())
ranked = sorted(((w, c) for w, c in counts.items() if c >= 2), key=lambda x: (-x[1], x[0]))
vocab = {w: i + 2 for i, (w, _) in enumerate(ranked)}

def encode(text):
    ids = [vocab.get(w, 1) for w in clean(text).split()][:max_length]
    return ids + [0] * (max_length - len(ids))

seconds = []
for _ in range(runs):
    start = time.perf_counter()
    encoded = [encode(t) for t in texts]
    seconds.append(time.perf_counter() - start)
    del encoded
print(json.dumps({"vocab": len(vocab) + 2, "posts": len(texts), "seconds": seconds}))
