/**
 * Disjoint sets over document indexes in one Uint32Array (4 bytes a document). The root of a set is always
 * its smallest index, i.e. the document that comes first in input order: the one a cluster keeps.
 */
export class UnionFind {
  readonly parent: Uint32Array;

  constructor(readonly size: number) {
    this.parent = new Uint32Array(size);
    for (let i = 0; i < size; i++) this.parent[i] = i;
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]]; // path halving: keeps trees flat without recursion
      x = p[x];
    }
    return x;
  }

  /** Joins the sets of a and b; returns false when they were joined already. */
  union(a: number, b: number): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return false;
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
    return true;
  }
}
