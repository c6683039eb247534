// Package openfeature is an OpenFeature provider over an isolation client,
// for apps that gate features with the OpenFeature SDK.
//
// It serves two kinds of boolean flag, evaluated in memory by the client:
//
//   - "understudy.synthetic": whether the targeting key is a synthetic
//     identity (Client.Synthetic).
//   - "understudy.visible.<surface>": whether the subject, the targeting
//     key, is visible on <surface> to the viewer in the evaluation
//     context's "viewer" attribute (Client.Decide). Without a viewer
//     attribute the viewer is anonymous, that is real.
//
// A resolution's reason is TARGETING_MATCH, or STALE while the client is
// degraded; its variant is "synthetic"/"real" or "visible"/"hidden", and
// its flag metadata hold the client's reason ("reason") and the list's
// version ("list_version"). Any other flag is FLAG_NOT_FOUND, a non
// boolean evaluation of these flags TYPE_MISMATCH, a missing targeting key
// TARGETING_KEY_MISSING and a viewer that is not a string INVALID_CONTEXT;
// each returns the default value with reason ERROR.
//
// The provider does not start or close the client: the app owns it.
//
//	api.SetProviderAndWait(ctx, openfeature.New(isolationClient))
//	visible := ofClient.Boolean(ctx, "understudy.visible.leaderboards", false,
//		of.NewEvaluationContext(authorID, map[string]any{"viewer": viewerID}))
package openfeature

import (
	"context"
	"fmt"
	"strings"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/understudy-dev/understudy/isolation/client"
)

// The flags the provider serves.
const (
	// FlagSynthetic is the flag "is the targeting key a synthetic identity".
	FlagSynthetic = "understudy.synthetic"
	// FlagVisiblePrefix, followed by a surface, is the flag "is the
	// targeting key visible on that surface to the viewer attribute".
	FlagVisiblePrefix = "understudy.visible."
	// ViewerAttribute is the evaluation context attribute naming the viewer.
	ViewerAttribute = "viewer"
)

// StaleReason is the OpenFeature reason of a resolution made while the
// client is degraded: non-authoritative, possibly out of date.
const StaleReason of.Reason = "STALE"

// Provider resolves the isolation flags with a client.
type Provider struct {
	c *client.Client
}

var _ of.FeatureProvider = (*Provider)(nil)

// New returns a provider over c, which the caller starts and closes.
func New(c *client.Client) *Provider {
	return &Provider{c: c}
}

// Metadata names the provider.
func (p *Provider) Metadata() of.Metadata {
	return of.Metadata{Name: "understudy-isolation"}
}

// Hooks returns no hooks.
func (p *Provider) Hooks() []of.Hook {
	return nil
}

// BooleanEvaluation resolves FlagSynthetic and the FlagVisiblePrefix flags.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, defaultValue bool, flatCtx of.FlattenedContext) of.BoolResolutionDetail {
	if !ours(flag) {
		return failed(defaultValue, of.NewFlagNotFoundResolutionError(fmt.Sprintf("flag %q is not an isolation flag", flag)))
	}
	subject, _ := flatCtx[of.TargetingKey].(string)
	if subject == "" {
		return failed(defaultValue, of.NewTargetingKeyMissingResolutionError(flag+" needs the subject as targeting key"))
	}
	if flag == FlagSynthetic {
		synthetic := p.c.Synthetic(subject)
		return p.resolved(synthetic, variant(synthetic, "synthetic", "real"), "")
	}
	viewer := ""
	if v, ok := flatCtx[ViewerAttribute]; ok {
		if viewer, ok = v.(string); !ok {
			return failed(defaultValue, of.NewInvalidContextResolutionError(fmt.Sprintf("attribute %q must be a string, got %T", ViewerAttribute, v)))
		}
	}
	visible, reason := p.c.Decide(viewer, strings.TrimPrefix(flag, FlagVisiblePrefix), subject)
	return p.resolved(visible, variant(visible, "visible", "hidden"), reason)
}

// StringEvaluation reports a type mismatch for an isolation flag.
func (p *Provider) StringEvaluation(_ context.Context, flag string, defaultValue string, _ of.FlattenedContext) of.StringResolutionDetail {
	return of.StringResolutionDetail{Value: defaultValue, ProviderResolutionDetail: notBoolean(flag)}
}

// FloatEvaluation reports a type mismatch for an isolation flag.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, defaultValue float64, _ of.FlattenedContext) of.FloatResolutionDetail {
	return of.FloatResolutionDetail{Value: defaultValue, ProviderResolutionDetail: notBoolean(flag)}
}

// IntEvaluation reports a type mismatch for an isolation flag.
func (p *Provider) IntEvaluation(_ context.Context, flag string, defaultValue int64, _ of.FlattenedContext) of.IntResolutionDetail {
	return of.IntResolutionDetail{Value: defaultValue, ProviderResolutionDetail: notBoolean(flag)}
}

// ObjectEvaluation reports a type mismatch for an isolation flag.
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, defaultValue any, _ of.FlattenedContext) of.InterfaceResolutionDetail {
	return of.InterfaceResolutionDetail{Value: defaultValue, ProviderResolutionDetail: notBoolean(flag)}
}

// ours reports whether flag is one of the provider's flags.
func ours(flag string) bool {
	return flag == FlagSynthetic || (strings.HasPrefix(flag, FlagVisiblePrefix) && len(flag) > len(FlagVisiblePrefix))
}

func (p *Provider) resolved(value bool, variant string, reason client.Reason) of.BoolResolutionDetail {
	r := of.TargetingMatchReason
	if p.c.Degraded() {
		r = StaleReason
	}
	meta := of.FlagMetadata{"list_version": p.c.Stats().ListVersion}
	if reason != "" {
		meta["reason"] = string(reason)
	}
	return of.BoolResolutionDetail{
		Value:                    value,
		ProviderResolutionDetail: of.ProviderResolutionDetail{Reason: r, Variant: variant, FlagMetadata: meta},
	}
}

func failed(defaultValue bool, err of.ResolutionError) of.BoolResolutionDetail {
	return of.BoolResolutionDetail{
		Value:                    defaultValue,
		ProviderResolutionDetail: of.ProviderResolutionDetail{ResolutionError: err, Reason: of.ErrorReason},
	}
}

// notBoolean is the resolution of a non-boolean evaluation.
func notBoolean(flag string) of.ProviderResolutionDetail {
	err := of.NewFlagNotFoundResolutionError(fmt.Sprintf("flag %q is not an isolation flag", flag))
	if ours(flag) {
		err = of.NewTypeMismatchResolutionError(fmt.Sprintf("flag %q is boolean", flag))
	}
	return of.ProviderResolutionDetail{ResolutionError: err, Reason: of.ErrorReason}
}

func variant(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
