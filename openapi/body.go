package openapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"

	"github.com/understudy-dev/understudy"
)

// readBody reads a request's JSON body once, checks what the schema
// validation lets through, and puts the bytes back for the validation and
// the handler: exactly one JSON value (nothing may follow it), and no
// null anywhere (no schema of the contract is nullable: a field that is not
// wanted is left out). Errors: EMALFORMED naming the field, ETOOLARGE.
//
// It returns the body's bytes and its decoded value (nil without a body).
func readBody(req *http.Request) ([]byte, any, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil, nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		if tl := tooLargeFrom(err); tl != nil {
			return nil, nil, tl
		}
		return nil, nil, understudy.Errorf(understudy.EMALFORMED, "the request body could not be read")
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	if len(bytes.TrimSpace(b)) == 0 {
		return b, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return b, nil, malformedBody("body", "is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return b, nil, malformedBody("body", "holds more data after its JSON value")
	}
	if nulls := nullFields(v, ""); len(nulls) > 0 {
		fields := make([]understudy.FieldError, len(nulls))
		for i, f := range nulls {
			fields[i] = understudy.FieldError{Field: f, Detail: "must not be null: leave the field out instead"}
		}
		return b, v, &understudy.Error{Code: understudy.EMALFORMED, Message: "the request does not match the API contract", Fields: fields}
	}
	return b, v, nil
}

func malformedBody(field, detail string) error {
	return &understudy.Error{Code: understudy.EMALFORMED, Message: "the request does not match the API contract",
		Fields: []understudy.FieldError{{Field: field, Detail: detail}}}
}

// nullFields returns the paths (`a.b[2]`) of every null in v, sorted.
func nullFields(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case nil:
		out = append(out, cmp.Or(path, "body"))
	case map[string]any:
		for k, e := range x {
			out = append(out, nullFields(e, joinField(path, k))...)
		}
	case []any:
		for i, e := range x {
			out = append(out, nullFields(e, cmp.Or(path, "body")+"["+strconv.Itoa(i)+"]")...)
		}
	}
	sort.Strings(out)
	return out
}
