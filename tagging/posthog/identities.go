package posthog

import (
	"iter"
	"slices"

	"github.com/understudy-dev/understudy/tagging"
)

// chunks yields ids in slices of at most n.
func chunks(ids []tagging.Identity, n int) iter.Seq[[]tagging.Identity] {
	return slices.Chunk(ids, n)
}

func distinctIDs(ids []tagging.Identity) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.DistinctID
	}
	return out
}

// without returns the identities of ids whose distinct id is not in found.
func without(ids []tagging.Identity, found map[string]string) []tagging.Identity {
	var out []tagging.Identity
	for _, id := range ids {
		if _, ok := found[id.DistinctID]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// only returns the identities of ids whose distinct id is in found.
func only(ids []tagging.Identity, found map[string]string) []tagging.Identity {
	var out []tagging.Identity
	for _, id := range ids {
		if _, ok := found[id.DistinctID]; ok {
			out = append(out, id)
		}
	}
	return out
}

// onlyPerson returns the identities of ids that are person uuid.
func onlyPerson(ids []tagging.Identity, found map[string]string, uuid string) []tagging.Identity {
	var out []tagging.Identity
	for _, id := range ids {
		if found[id.DistinctID] == uuid {
			out = append(out, id)
		}
	}
	return out
}

// uniqueValues returns the person uuids of ids in found, each once, in
// the order of ids.
func uniqueValues(found map[string]string, ids []tagging.Identity) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if uuid, ok := found[id.DistinctID]; ok && !seen[uuid] {
			seen[uuid] = true
			out = append(out, uuid)
		}
	}
	return out
}
