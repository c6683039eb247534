package inbox

import (
	"regexp"
	"time"
)

// Header is one header field of a message, as it arrived (decoded to UTF-8).
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Code is a one-time code found in a message. Score orders the codes of a
// message, most likely first (higher is more likely).
type Code struct {
	Value string `json:"value"`
	// Source says where the code was found: subject, text or html.
	Source string  `json:"source"`
	Score  float64 `json:"score"`
}

// Link is an https link found in a message. Kind is verification, magic,
// unsubscribe or other; verification and magic links come first. Tracking
// marks a known click-tracking redirect; Target is the address it
// redirects to when the redirect says so in its query.
type Link struct {
	URL      string  `json:"url"`
	Kind     string  `json:"kind"`
	Tracking bool    `json:"tracking,omitempty"`
	Target   string  `json:"target,omitempty"`
	Score    float64 `json:"score"`
}

// Patterns are a role's own rules for finding its codes and links. A nil
// pattern leaves the default rules. A code pattern's first capture group
// (or its whole match, without one) is the code.
type Patterns struct {
	Code *regexp.Regexp
	Link *regexp.Regexp
}

// Parsed is what Parse reads from a raw RFC 5322 message. Every field is
// bounded in size; ParseError is set when the message could not be read
// in full, and what could be read is still there.
type Parsed struct {
	MessageID string    `json:"message_id"`
	From      string    `json:"from"`
	To        []string  `json:"to"`
	Subject   string    `json:"subject"`
	Date      time.Time `json:"date"`
	Headers   []Header  `json:"headers"`
	// Text is the text/plain body, or the text of the HTML body when the
	// message has none.
	Text string `json:"text"`
	// HTML is the HTML body sanitized: no scripts, no frames, no forms, no
	// event handlers, no remote loads. (A stored message keeps neither its
	// HTML nor its text: both are read again from its raw MIME when shown,
	// the HTML sanitized then; see parseEach and Service.scan.)
	HTML       string `json:"html"`
	Codes      []Code `json:"codes"`
	Links      []Link `json:"links"`
	ParseError string `json:"parse_error,omitempty"`
}
