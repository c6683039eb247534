package sentrytest

import (
	"encoding/json"
)

// Event is the payload of an event item, decoded
// (https://develop.sentry.dev/sdk/foundations/transport/event-payloads/).
// The attributes the protocol lets take two shapes (a list or
// {"values": […]}, an object or a list of pairs) are read in either.
type Event struct {
	EventID     string
	Level       string
	Message     string
	Platform    string
	Environment string
	Release     string
	ServerName  string
	Transaction string
	Fingerprint []string
	Tags        map[string]string
	Exceptions  []Exception
	Request     *Request
	User        map[string]any
	Breadcrumbs []map[string]any
	Contexts    map[string]map[string]any
	// Raw is the payload as it was received.
	Raw json.RawMessage
}

// Exception is one exception of an event.
type Exception struct {
	Type       string         `json:"type"`
	Value      string         `json:"value"`
	Module     string         `json:"module"`
	Mechanism  map[string]any `json:"mechanism"`
	Stacktrace *Stacktrace    `json:"stacktrace"`
}

// Stacktrace is an exception's frames, outermost first.
type Stacktrace struct {
	Frames []Frame `json:"frames"`
}

// Frame is one frame of a stack trace.
type Frame struct {
	Function string `json:"function"`
	Module   string `json:"module"`
	Filename string `json:"filename"`
	AbsPath  string `json:"abs_path"`
	Lineno   int    `json:"lineno"`
	InApp    bool   `json:"in_app"`
}

// Request is the HTTP request an event is about.
type Request struct {
	URL         string
	Method      string
	QueryString string
	Cookies     string
	Data        json.RawMessage
	Headers     map[string]string
	Env         map[string]string
}

// wireEvent is an event as sent, before its two-shaped attributes are read.
type wireEvent struct {
	EventID     string                    `json:"event_id"`
	Level       string                    `json:"level"`
	Message     json.RawMessage           `json:"message"`
	Platform    string                    `json:"platform"`
	Environment string                    `json:"environment"`
	Release     string                    `json:"release"`
	ServerName  string                    `json:"server_name"`
	Transaction string                    `json:"transaction"`
	Fingerprint []string                  `json:"fingerprint"`
	Tags        json.RawMessage           `json:"tags"`
	Exception   json.RawMessage           `json:"exception"`
	Request     *wireRequest              `json:"request"`
	User        map[string]any            `json:"user"`
	Breadcrumbs json.RawMessage           `json:"breadcrumbs"`
	Contexts    map[string]map[string]any `json:"contexts"`
}

type wireRequest struct {
	URL         string          `json:"url"`
	Method      string          `json:"method"`
	QueryString json.RawMessage `json:"query_string"`
	Cookies     json.RawMessage `json:"cookies"`
	Data        json.RawMessage `json:"data"`
	Headers     json.RawMessage `json:"headers"`
	Env         json.RawMessage `json:"env"`
}

// decodeEvent decodes an event item's payload.
func decodeEvent(payload []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(payload, &w); err != nil {
		return Event{}, malformed("invalid JSON data: " + err.Error())
	}
	ev := Event{EventID: w.EventID, Level: w.Level, Platform: w.Platform, Environment: w.Environment,
		Release: w.Release, ServerName: w.ServerName, Transaction: w.Transaction, Fingerprint: w.Fingerprint,
		User: w.User, Contexts: w.Contexts, Raw: append(json.RawMessage(nil), payload...)}
	ev.Message = messageOf(w.Message)
	ev.Tags = pairsOf(w.Tags)
	if err := valuesOf(w.Exception, &ev.Exceptions); err != nil {
		return Event{}, malformed("invalid exception: " + err.Error())
	}
	if err := valuesOf(w.Breadcrumbs, &ev.Breadcrumbs); err != nil {
		return Event{}, malformed("invalid breadcrumbs: " + err.Error())
	}
	if r := w.Request; r != nil {
		ev.Request = &Request{URL: r.URL, Method: r.Method, QueryString: textOf(r.QueryString), Cookies: textOf(r.Cookies),
			Data: r.Data, Headers: pairsOf(r.Headers), Env: pairsOf(r.Env)}
	}
	return ev, nil
}

// messageOf reads a message: a string, or {"formatted": …, "message": …}.
func messageOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var m struct{ Formatted, Message string }
	_ = json.Unmarshal(raw, &m)
	if m.Formatted != "" {
		return m.Formatted
	}
	return m.Message
}

// valuesOf reads a list or {"values": [...]} into dst.
func valuesOf[T any](raw json.RawMessage, dst *[]T) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '[' {
		return json.Unmarshal(raw, dst)
	}
	var v struct {
		Values []T `json:"values"`
	}
	err := json.Unmarshal(raw, &v)
	*dst = v.Values
	return err
}

// pairsOf reads an object or a list of [key, value] pairs as text.
func pairsOf(raw json.RawMessage) map[string]string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	out := map[string]string{}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		for k, v := range obj {
			out[k] = textOf(v)
		}
		return out
	}
	var list [][]json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, p := range list {
			if len(p) == 2 {
				out[textOf(p[0])] = textOf(p[1])
			}
		}
	}
	return out
}

// textOf is a JSON string's text, or any other value's JSON.
func textOf(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
