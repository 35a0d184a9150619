"""bench:data's Python side: datasketch or rensa over the same corpus, shingles, permutations and bands.

Usage: python minhash_py.py {datasketch|rensa} CORPUS FLAGS_OUT NUM_PERM BANDS NGRAM THRESHOLD
Prints one JSON line. Shingles are word n-grams of ``text.split()`` (the corpus is lowercase words and single
spaces, so dapt's tokenizer sees the same words). Candidates from the LSH are verified by estimated Jaccard
>= threshold and joined with union-find, keeping the first document of each cluster, as dapt does.
"""
import json
import resource
import sys
import time


def shingles(text, n):
    w = text.split()
    if len(w) <= n:
        return [" ".join(w)]
    return [" ".join(w[i : i + n]) for i in range(len(w) - n + 1)]


def find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def union_verified(n, candidates, similar):
    parent = list(range(n))
    for d in range(n):
        for c in candidates(d):
            if c == d:
                continue
            a, b = find(parent, d), find(parent, c)
            if a != b and similar(d, c):
                parent[max(a, b)] = min(a, b)
    return bytes(1 if find(parent, d) != d else 0 for d in range(n))


def run_datasketch(docs, num_perm, bands, ngram, threshold):
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    # datasketch's bulk path: one initialized state reused for every document (its default affine32 scheme).
    mhs = MinHash.bulk(([s.encode("utf8") for s in shingles(text, ngram)] for text in docs), num_perm=num_perm, seed=1)
    t1 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=(bands, num_perm // bands))
    with lsh.insertion_session() as session:
        for i, m in enumerate(mhs):
            session.insert(i, m, check_duplication=False)
    flags = union_verified(len(docs), lambda d: lsh.query(mhs[d]), lambda a, b: mhs[a].jaccard(mhs[b]) >= threshold)
    return flags, t0, t1


def run_rensa(docs, num_perm, bands, ngram, threshold):
    from rensa import RMinHash, RMinHashLSH

    t0 = time.perf_counter()
    # rensa's bulk constructor, its fastest documented path, in chunks so the shingle lists of a million
    # documents never sit in memory at once.
    mhs = []
    for i in range(0, len(docs), 10_000):
        mhs.extend(RMinHash.from_token_sets([shingles(text, ngram) for text in docs[i : i + 10_000]], num_perm, 1))
    t1 = time.perf_counter()
    lsh = RMinHashLSH(threshold, num_perm, bands)
    lsh.insert_many(mhs)
    flags = union_verified(len(docs), lambda d: lsh.query(mhs[d]), lambda a, b: mhs[a].jaccard(mhs[b]) >= threshold)
    return flags, t0, t1


def main():
    impl, corpus, flags_out = sys.argv[1:4]
    num_perm, bands, ngram = (int(x) for x in sys.argv[4:7])
    threshold = float(sys.argv[7])
    with open(corpus, encoding="utf8") as f:
        docs = f.read().split("\n")
    if docs and docs[-1] == "":
        docs.pop()
    cpu0 = time.process_time()
    run = run_datasketch if impl == "datasketch" else run_rensa
    flags, t0, t1 = run(docs, num_perm, bands, ngram, threshold)
    t2 = time.perf_counter()
    cpu = time.process_time() - cpu0
    with open(flags_out, "wb") as f:
        f.write(flags)
    print(json.dumps({
        "impl": impl,
        "docs": len(docs),
        "signatureSeconds": t1 - t0,
        "lshSeconds": t2 - t1,
        "seconds": t2 - t0,
        "cpuSeconds": cpu,
        "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "duplicates": sum(flags),
    }))


if __name__ == "__main__":
    main()
