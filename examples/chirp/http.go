package chirp

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// maxBody bounds the JSON body of chirp's own API.
const maxBody = 64 << 10

// routes registers chirp's own HTTP API on mux.
func (a *App) routes(mux *http.ServeMux) {
	mux.Handle("POST /users", a.handle(a.postUser))
	mux.Handle("GET /users/{id}", a.handle(a.getUser))
	mux.Handle("POST /users/{id}/posts", a.handle(a.postPost))
	mux.Handle("POST /users/{id}/follows", a.handle(a.postFollow))
	mux.Handle("POST /users/{id}/likes", a.handle(a.postLike))
	mux.Handle("POST /users/{id}/points", a.handle(a.postPoints))
	mux.Handle("POST /users/{id}/cart", a.handle(a.postCart))
	mux.Handle("GET /users/{id}/feed", a.handle(a.getFeed))
	mux.Handle("GET /users/{id}/notifications", a.handle(a.getNotifications))
	mux.Handle("GET /leaderboard", a.handle(a.getLeaderboard))
	mux.Handle("GET /search", a.handle(a.getSearch))
	mux.Handle("GET /trending", a.handle(a.getTrending))
	mux.Handle("GET /healthz", a.handle(a.getHealth))
}

// problem is the body of every error answer, application/problem+json.
type problem struct {
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// statusOf maps chirp's error codes to HTTP statuses.
var statusOf = map[string]int{
	CodeMalformed:   http.StatusBadRequest,
	CodeInvalid:     http.StatusUnprocessableEntity,
	CodeNotFound:    http.StatusNotFound,
	CodeConflict:    http.StatusConflict,
	CodeUnavailable: http.StatusServiceUnavailable,
}

// handle adapts a handler that returns an error; errors become HTTP here
// and nowhere else.
func (a *App) handle(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		if e, ok := errors.AsType[*Error](err); ok {
			writeProblem(w, statusOf[e.Code], problem{Code: e.Code, Field: e.Field, Detail: e.Message})
			return
		}
		a.reportError(r, "chirp request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("error", err))
		writeProblem(w, http.StatusInternalServerError, problem{Code: "internal", Detail: "internal error"})
	})
}

func writeProblem(w http.ResponseWriter, status int, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON object into v, refusing unknown fields, wrong
// types and trailing data with a CodeMalformed *Error naming the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		return nil
	}
	e := &Error{Code: CodeMalformed, Message: "the body is not the JSON object expected: " + err.Error()}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		e.Field, e.Message = te.Field, "must be a JSON "+te.Type.String()
	} else if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		e.Field, e.Message = strings.Trim(name, `"`), "is not a known field"
	}
	return e
}

// pathID reads the {id} of the path: a user id, or CodeNotFound.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, notFound("id", "no user %q", r.PathValue("id"))
	}
	return id, nil
}

// queryInt reads an optional integer query parameter (0 when absent).
func queryInt(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &Error{Code: CodeMalformed, Field: name, Message: "must be an integer"}
	}
	return n, nil
}

func (a *App) postUser(w http.ResponseWriter, r *http.Request) error {
	var in NewUser
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := a.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

func (a *App) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := a.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (a *App) getHealth(w http.ResponseWriter, r *http.Request) error {
	if err := a.db.Ping(r.Context()); err != nil {
		return storeError(err, "pinging the database", nil)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
