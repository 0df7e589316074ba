package reg

import (
	"slices"

	"github.com/ouroboros-go/ouroboros/internal/hash"
)

// nameIndex finds names without visiting all of them. A flow request arrives
// from a layer as the digest of a name under the layer's hash algorithm; the
// index keeps, per algorithm some layer has asked for, the names of each
// digest, so the lookup is one map access whatever the number of names.
// Invariants (with the registry's lock held):
//   - byAlgo[a], once built, holds every name of r.names under its digest
//     with algorithm a, each digest's names in strcmp order (a collision
//     resolves to the first, as a walk in strcmp order would);
//   - sorted is nil or every name of r.names in strcmp order.
//
// An algorithm's table is built on its first lookup (one digest per name) and
// then kept up to date on every create and destroy (one digest per table).
type nameIndex struct {
	byAlgo map[hash.Algo]map[string][]string
	sorted []string
	sums   int // digests computed, for tests: a lookup computes none
}

// addNameLocked puts n in the registry and the index.
func (r *Registry) addNameLocked(n *Name) {
	r.names[n.Name] = n
	for a, t := range r.idx.byAlgo {
		if d, ok := r.idx.sum(a, n.Name); ok {
			l := t[d]
			i, _ := slices.BinarySearch(l, n.Name)
			t[d] = slices.Insert(l, i, n.Name)
		}
	}
	r.idx.sorted = nil
}

// delNameLocked removes name from the registry and the index.
func (r *Registry) delNameLocked(name string) {
	delete(r.names, name)
	for a, t := range r.idx.byAlgo {
		if d, ok := r.idx.sum(a, name); ok {
			if l := del(t[d], name); len(l) > 0 {
				t[d] = l
			} else {
				delete(t, d)
			}
		}
	}
	r.idx.sorted = nil
}

func (x *nameIndex) sum(a hash.Algo, name string) (string, bool) {
	x.sums++
	d, err := hash.Sum(a, name)
	return string(d), err == nil
}

// NameByHash returns the name whose digest with algorithm algo is digest (the
// first in strcmp order if several collide).
func (r *Registry) NameByHash(algo hash.Algo, digest []byte) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if algo.Len() == 0 || len(digest) != algo.Len() {
		return "", false
	}
	t, ok := r.idx.byAlgo[algo]
	if !ok {
		t = make(map[string][]string, len(r.names))
		for name := range r.names {
			if d, ok := r.idx.sum(algo, name); ok {
				t[d] = append(t[d], name)
			}
		}
		for _, l := range t {
			slices.Sort(l)
		}
		if r.idx.byAlgo == nil {
			r.idx.byAlgo = map[hash.Algo]map[string][]string{}
		}
		r.idx.byAlgo[algo] = t
	}
	if l := t[string(digest)]; len(l) > 0 {
		return l[0], true
	}
	return "", false
}

// sortedNamesLocked returns every name in strcmp order (shared: do not modify).
// It sorts once after each change, so paging through a long list costs one
// sort, not one per page.
func (r *Registry) sortedNamesLocked() []string {
	if r.idx.sorted == nil {
		s := make([]string, 0, len(r.names))
		for k := range r.names {
			s = append(s, k)
		}
		slices.Sort(s)
		r.idx.sorted = s
	}
	return r.idx.sorted
}

// NamesAfter returns up to max names that follow after in strcmp order (all
// from the first when after is ""), and whether more follow them.
func (r *Registry) NamesAfter(after string, max int) ([]NameInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sortedNamesLocked()
	i, found := slices.BinarySearch(s, after)
	if found {
		i++
	}
	end := min(len(s), i+max)
	out := make([]NameInfo, 0, end-i)
	for _, k := range s[i:end] {
		out = append(out, r.names[k].NameInfo)
	}
	return out, end < len(s)
}
