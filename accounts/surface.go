package accounts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/understudy-dev/understudy"
)

// BuiltinSurfaces are the surfaces of an app that every environment has,
// in the order lists show them. An environment may declare more
// (Environment.CustomSurfaces).
var BuiltinSurfaces = []string{"leaderboards", "social_feed", "search", "recommendations", "notifications", "public_profile", "messaging", "reviews"}

// MaxCustomSurfaces is the most surfaces an environment may declare.
const MaxCustomSurfaces = 50

// Surfaces returns every surface of e: the built-in ones, then its own.
func (e Environment) Surfaces() []string {
	return append(slices.Clip(BuiltinSurfaces), e.CustomSurfaces...)
}

// HasSurface reports whether surface is a surface of e.
func (e Environment) HasSurface(surface string) bool {
	return slices.Contains(BuiltinSurfaces, surface) || slices.Contains(e.CustomSurfaces, surface)
}

// surfaceErrors names each custom surface that clashes with a built-in one
// (the pattern, count and duplicates are the validator's).
func surfaceErrors(surfaces []string) []understudy.FieldError {
	var fields []understudy.FieldError
	for i, s := range surfaces {
		if slices.Contains(BuiltinSurfaces, s) {
			fields = append(fields, understudy.FieldError{Field: fmt.Sprintf("custom_surfaces[%d]", i),
				Detail: s + " is a built-in surface (" + strings.Join(BuiltinSurfaces, ", ") + ")"})
		}
	}
	return fields
}

// policyErrors names each surface of a role's isolation policy that is not
// a surface of e, as isolation_policy.<surface>.
func policyErrors(e Environment, policy map[string]Visibility) []understudy.FieldError {
	var fields []understudy.FieldError
	for surface := range policy {
		if surfaceRE.MatchString(surface) && !e.HasSurface(surface) {
			fields = append(fields, understudy.FieldError{Field: "isolation_policy." + surface,
				Detail: "is not a surface of environment " + e.Name + " (surfaces: " + strings.Join(e.Surfaces(), ", ") + ")"})
		}
	}
	slices.SortFunc(fields, func(a, b understudy.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return fields
}

// checkPolicy returns EINVALID naming each surface of r's policy that e
// does not have.
func checkPolicy(e Environment, r Role) error {
	if fields := policyErrors(e, r.IsolationPolicy); len(fields) > 0 {
		return understudy.Invalid("invalid role", fields...)
	}
	return nil
}
