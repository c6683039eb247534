package lang

import (
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/understudy-dev/understudy/spec"
)

// planVariables are the spec's variables as a plan records them: each
// known value as JSON, a sensitive one (declared so, or built from env()
// or file()) with no value at all, so that no secret leaves the loader.
func (l *loader) planVariables() []spec.Variable {
	out := []spec.Variable{}
	for name, v := range l.vars {
		if v.value == cty.NilVal || !v.value.IsWhollyKnown() {
			continue
		}
		pv := spec.Variable{Name: name, Sensitive: v.sensitive || v.value.ContainsMarked()}
		if !pv.Sensitive {
			b, err := ctyjson.Marshal(v.value, v.value.Type())
			if err != nil {
				continue
			}
			pv.Value = b
		}
		out = append(out, pv)
	}
	slices.SortFunc(out, func(a, b spec.Variable) int { return strings.Compare(a.Name, b.Name) })
	return out
}
