package openapi

import (
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// SpecYAML is openapi.yaml as written: the contract, served at /openapi.yaml.
//
//go:embed openapi.yaml
var SpecYAML []byte

// Spec parses and validates openapi.yaml.
func Spec() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(SpecYAML)
	if err != nil {
		return nil, fmt.Errorf("loading openapi.yaml: %w", err)
	}
	if err := doc.Validate(openapi3.NewLoader().Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not valid: %w", err)
	}
	return doc, nil
}
