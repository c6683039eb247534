package openapi

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
)

// gate checks every request against openapi.yaml before its handler runs:
// it authenticates the bearer token, checks the token's scope against the
// operation's security requirement, and validates parameters and body (no
// unknown fields, types, ranges, patterns). The spec is the one source of
// what each call needs.
type gate struct {
	doc    *openapi3.T
	routes []gateRoute
	// pathOnly holds the routes whose gateRoute.pathOnly is set.
	pathOnly map[*routers.Route]bool
}

// gateRoute is one operation of openapi.yaml with its path split into
// segments ("{name}" segments are parameters).
type gateRoute struct {
	route    *routers.Route
	segments []string
	// pathOnly: the operation takes no body and no parameter but path
	// parameters of a plain {type: string} schema, which every matched
	// segment satisfies; kin-openapi's validation has nothing to check.
	pathOnly bool
}

func newGate() (*gate, error) {
	doc, err := Spec()
	if err != nil {
		return nil, err
	}
	g := &gate{doc: doc, pathOnly: map[*routers.Route]bool{}}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			g.routes = append(g.routes, gateRoute{
				route:    &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
				segments: strings.Split(strings.Trim(path, "/"), "/"),
				pathOnly: pathOnly(item, op),
			})
		}
	}
	for _, r := range g.routes {
		if r.pathOnly {
			g.pathOnly[r.route] = true
		}
	}
	return g, nil
}

// pathOnly reports whether an operation takes no body and only path
// parameters whose schema is a plain string: any non-empty segment is
// valid, so validating such a request against the contract checks nothing
// (TestPathOnlyRoutesValidateAnything), and the gate skips it.
func pathOnly(item *openapi3.PathItem, op *openapi3.Operation) bool {
	if op.RequestBody != nil {
		return false
	}
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range list {
			p := ref.Value
			if p == nil || p.In != openapi3.ParameterInPath || p.Schema == nil || p.Schema.Value == nil || p.Content != nil {
				return false
			}
			if !reflect.DeepEqual(*p.Schema.Value, openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}}) {
				return false
			}
		}
	}
	return true
}

// find returns the operation of req and its path parameters (unescaped),
// or false. It splits the path exactly as echo's router sees it (the raw,
// still-escaped path when the request has one), so an escaped slash in a
// parameter ("%2F") is part of that parameter for both, and an empty
// segment (a trailing or doubled slash) matches no operation for either.
// The contract has a handful of routes: a linear match costs less than a
// router, and every request pays it.
func (g *gate) find(req *http.Request) (*routers.Route, map[string]string, bool) {
	route, params, _ := g.match(req)
	return route, params, route != nil
}

// match is find that also returns, when no operation of the request's
// method has its path, the methods of those that do (for a 405 and its
// Allow header).
func (g *gate) match(req *http.Request) (*routers.Route, map[string]string, []string) {
	path := echo.GetPath(req)
	if !strings.HasPrefix(path, "/") {
		return nil, nil, nil
	}
	segs := strings.Split(path[1:], "/")
	var allowed []string
	for _, r := range g.routes {
		if len(r.segments) != len(segs) {
			continue
		}
		params, ok := matchSegments(r.segments, segs)
		if !ok {
			continue
		}
		if r.route.Method != req.Method {
			if !slices.Contains(allowed, r.route.Method) {
				allowed = append(allowed, r.route.Method)
			}
			continue
		}
		return r.route, params, nil
	}
	slices.Sort(allowed)
	return nil, nil, allowed
}

func matchSegments(tmpl, segs []string) (map[string]string, bool) {
	var params map[string]string
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			v, err := url.PathUnescape(segs[i])
			if segs[i] == "" || err != nil {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[t[1:len(t)-1]] = v
			continue
		}
		if t != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// requiredScopes returns the scopes an operation's security requirement
// names (nil for an open operation) and whether it needs a token at all.
func (g *gate) requiredScopes(op *openapi3.Operation) ([]access.Scope, bool) {
	reqs := g.doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	if len(reqs) == 0 {
		return nil, false
	}
	var scopes []access.Scope
	for _, r := range reqs {
		for _, sc := range r["bearerAuth"] {
			scopes = append(scopes, access.Scope(sc))
		}
	}
	return scopes, true
}

func (s *Server) gate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		route, params, allowed := s.gateway.match(req)
		if route == nil {
			// No operation of the contract has this path: answered here,
			// before any handler, whatever the router would have done.
			if len(allowed) > 0 {
				// RFC 9110, 15.5.6: a 405 lists the methods the path has.
				c.Response().Header().Set("Allow", strings.Join(allowed, ", "))
				return echo.NewHTTPError(http.StatusMethodNotAllowed, req.Method+" is not allowed on "+req.URL.EscapedPath())
			}
			return understudy.Errorf(understudy.ENOTFOUND, "no operation of the API has the path %s", req.URL.EscapedPath())
		}
		ctx := req.Context()
		if scopes, needed := s.gateway.requiredScopes(route.Operation); needed {
			tok, err := s.authenticate(ctx, req.Header.Get(echo.HeaderAuthorization))
			if err != nil {
				return err
			}
			caller := access.CallerFrom(ctx)
			caller.Actor, caller.Scope, caller.TokenID = tok.Name, tok.Scope, tok.ID
			ctx = access.WithCaller(ctx, caller)
			req = req.WithContext(ctx)
			c.SetRequest(req)
			if !tok.Scope.Allows(scopes...) {
				return understudy.Errorf(understudy.EFORBIDDEN, "token %s has scope %s; %s %s needs scope %s", tok.Name, tok.Scope, req.Method, route.Path, scopes[0])
			}
		}
		if route.Operation.OperationID == checkOperation {
			// The check's body, read in one pass when it is plain; any
			// other goes the general way below (check_body.go).
			if in, ok := readCheckBody(req); ok {
				c.Set(checkBodyKey, in)
				return next(c)
			}
		}
		if rawBody(route) {
			// Bytes the handler reads itself (a mail message): neither JSON
			// nor text the database stores as such.
			if err := checkText(req, params, headerParams(route), nil, nil); err != nil {
				return err
			}
			if err := validateRequest(req, route, params); err != nil {
				return err
			}
			return next(c)
		}
		raw, body, err := readBody(req)
		if err := checkText(req, params, headerParams(route), raw, body); err != nil {
			return err // before the JSON checks: bytes that are not UTF-8 may be why the body is not JSON
		}
		if err != nil {
			return err
		}
		if s.gateway.pathOnly[route] {
			return next(c)
		}
		if err := validateRequest(req, route, params); err != nil {
			return err
		}
		return next(c)
	}
}

// rawBody reports whether route's operation takes a body that is not
// JSON (POST /v1/inbound/mime's message, PUT of an artifact's file): its
// handler reads and checks it. The content map is read by its keys, not
// with Content.Get, which would match application/json to the artifact's
// "*/*".
func rawBody(route *routers.Route) bool {
	rb := route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		return false
	}
	_, json := rb.Value.Content["application/json"]
	return !json
}

// validateRequest checks req's parameters and body against its operation
// in openapi.yaml, returning every problem at once; a body that is not
// JSON (rawBody) is left to its handler.
func validateRequest(req *http.Request, route *routers.Route, params map[string]string) error {
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: rawBody(route)}}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		return requestError(err)
	}
	return nil
}

// requestError turns kin-openapi's validation errors into one error listing
// every bad field: EMALFORMED (400) when the request cannot be read as the
// contract says (bad JSON, unknown field, wrong type, bad parameter),
// EINVALID (422) when it can but a value is out of bounds.
func requestError(err error) error {
	if tl := tooLargeFrom(err); tl != nil {
		return tl
	}
	var fields []understudy.FieldError
	malformed := false
	var walk func(err error, param string)
	walk = func(err error, param string) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, param)
			}
		case *openapi3filter.RequestError:
			p := param
			if e.Parameter != nil {
				p, malformed = e.Parameter.Name, true
			}
			if e.Err == nil {
				malformed = true
				fields = append(fields, understudy.FieldError{Field: cmp.Or(p, "body"), Detail: e.Reason})
				return
			}
			walk(e.Err, p)
		case *openapi3.SchemaError:
			field := pointerField(e.JSONPointer(), param, "body")
			if m := unsupportedRE.FindStringSubmatch(e.Reason); m != nil {
				malformed = true
				fields = append(fields, understudy.FieldError{Field: joinField(pointerField(e.JSONPointer(), param, ""), m[1]), Detail: "is not a known field"})
				return
			}
			if e.SchemaField == "type" {
				malformed = true
			}
			fields = append(fields, understudy.FieldError{Field: field, Detail: e.Reason})
		default:
			malformed = true
			detail := "the body is not valid JSON"
			var pe *openapi3filter.ParseError
			if !errors.As(err, &pe) {
				detail = err.Error()
			}
			fields = append(fields, understudy.FieldError{Field: cmp.Or(param, "body"), Detail: detail})
		}
	}
	walk(err, "")
	if malformed {
		return &understudy.Error{Code: understudy.EMALFORMED, Message: "the request does not match the API contract", Fields: fields}
	}
	return understudy.Invalid("the request has invalid fields", fields...)
}

// unsupportedRE matches kin-openapi's reason for a property that
// additionalProperties: false does not allow.
var unsupportedRE = regexp.MustCompile(`^property "(.*)" is unsupported$`)

// pointerField names the field at a JSON pointer, as `a.b[2]`; empty
// pointers name fallback.
func pointerField(ptr []string, param, fallback string) string {
	field := param
	for _, p := range ptr {
		field = joinField(field, p)
	}
	return cmp.Or(field, fallback)
}

func joinField(field, seg string) string {
	switch {
	case field == "":
		return seg
	case seg != "" && strings.Trim(seg, "0123456789") == "":
		return field + "[" + seg + "]"
	default:
		return field + "." + seg
	}
}
