package spec_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/domaintest"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// onlyField fails the test unless err is EINVALID naming exactly field,
// and returns that field's error.
func onlyField(t *testing.T, err error, field string) understudy.FieldError {
	t.Helper()
	e := domaintest.WantCode(t, err, understudy.EINVALID)
	var fields []string
	for _, fe := range e.Fields {
		fields = append(fields, fe.Field)
	}
	if !slices.Equal(fields, []string{field}) {
		t.Errorf("fields %v; want only %s (%+v)", fields, field, e.Fields)
		return understudy.FieldError{}
	}
	return e.Fields[0]
}
