package posthog

import (
	"iter"
	"slices"

	"github.com/understudy-dev/understudy/tagging"
)

// chunks yields ids in slices of at most n.
func chunks(ids []tagging.SyntheticUser, n int) iter.Seq[[]tagging.SyntheticUser] {
	return slices.Chunk(ids, n)
}

func distinctIDs(ids []tagging.SyntheticUser) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.DistinctID
	}
	return out
}

// without returns the identities of ids whose distinct id is not in found.
func without(ids []tagging.SyntheticUser, found map[string]string) []tagging.SyntheticUser {
	var out []tagging.SyntheticUser
	for _, id := range ids {
		if _, ok := found[id.DistinctID]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// only returns the identities of ids whose distinct id is in found.
func only(ids []tagging.SyntheticUser, found map[string]string) []tagging.SyntheticUser {
	var out []tagging.SyntheticUser
	for _, id := range ids {
		if _, ok := found[id.DistinctID]; ok {
			out = append(out, id)
		}
	}
	return out
}

// onlyPerson returns the identities of ids that are person uuid.
func onlyPerson(ids []tagging.SyntheticUser, found map[string]string, uuid string) []tagging.SyntheticUser {
	var out []tagging.SyntheticUser
	for _, id := range ids {
		if found[id.DistinctID] == uuid {
			out = append(out, id)
		}
	}
	return out
}

// uniqueValues returns the person uuids of ids in found, each once, in
// the order of ids.
func uniqueValues(found map[string]string, ids []tagging.SyntheticUser) []string {
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
