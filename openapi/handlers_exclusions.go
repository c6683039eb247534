package openapi

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/tagging"
)

// exclusionFormats maps each format to its media type.
var exclusionFormats = map[GetExclusionsParamsFormat]string{
	Json: "application/json", Ndjson: "application/x-ndjson", Csv: "text/csv; charset=utf-8", Text: "text/plain; charset=utf-8",
}

// GetExclusions streams an environment's exclusion list in the format
// asked for, with ETag and If-None-Match.
func (s *Server) GetExclusions(c echo.Context, env EnvironmentName, p GetExclusionsParams) error {
	format, err := exclusionFormat(p.Format, c.Request().Header.Get(echo.HeaderAccept))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var since int64
	if p.Since != nil {
		since = *p.Since
	}
	if p.IfNoneMatch != nil {
		l, err := s.exclusions.Get(ctx, env)
		if err != nil {
			return err
		}
		if etagMatches(*p.IfNoneMatch, l.ETag()) {
			c.Response().Header().Set("ETag", l.ETag())
			return c.NoContent(http.StatusNotModified)
		}
	}
	w := &exclusionWriter{format: format, since: since}
	err = s.exclusions.Stream(ctx, env, since, func(l tagging.List) error {
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, exclusionFormats[format])
		h.Set("ETag", l.ETag())
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Exclusion-Version", strconv.FormatInt(l.Version, 10))
		h.Set("X-Exclusion-Hash", l.Hash)
		h.Set("X-Exclusion-Size", strconv.FormatInt(l.Size, 10))
		c.Response().WriteHeader(http.StatusOK)
		return w.start(c.Response(), l)
	}, w.entry)
	if err != nil {
		return err
	}
	return w.end()
}

// ForgetExclusion takes a retired account's identifiers off the list.
func (s *Server) ForgetExclusion(c echo.Context, env EnvironmentName, identifier string) error {
	list, err := s.exclusions.Forget(c.Request().Context(), env, identifier)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list})
}

// exclusionFormat picks the format: the parameter, else the first media
// type of Accept that a format answers in (json when Accept says nothing).
func exclusionFormat(param *GetExclusionsParamsFormat, accept string) (GetExclusionsParamsFormat, error) {
	if param != nil {
		return *param, nil
	}
	if strings.TrimSpace(accept) == "" {
		return Json, nil
	}
	for part := range strings.SplitSeq(accept, ",") {
		media, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(media)) {
		case "application/json", "application/*", "*/*":
			return Json, nil
		case "application/x-ndjson", "application/ndjson":
			return Ndjson, nil
		case "text/csv":
			return Csv, nil
		case "text/plain", "text/*":
			return Text, nil
		}
	}
	return "", &understudy.Error{Code: understudy.ENOTACCEPTABLE, Message: "Accept names no format of the exclusion list: ask for application/json, application/x-ndjson, text/csv or text/plain, or set ?format="}
}

// etagMatches reports whether an If-None-Match header names etag (or *).
func etagMatches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// exclusionWriter writes a list entry by entry, through a buffer flushed
// as it fills, so memory stays flat however long the list.
type exclusionWriter struct {
	format GetExclusionsParamsFormat
	since  int64
	buf    *bufio.Writer
	csv    *csv.Writer
	enc    *json.Encoder
	n      int
	flush  http.Flusher
}

func (w *exclusionWriter) start(resp *echo.Response, l tagging.List) error {
	w.buf = bufio.NewWriterSize(resp, 64<<10)
	w.flush = resp
	switch w.format {
	case Json:
		head, _ := json.Marshal(struct {
			tagging.List
			Since *int64 `json:"since,omitempty"`
		}{l, sinceOrNil(w.since)})
		_, err := w.buf.Write(append(head[:len(head)-1], `,"items":[`...))
		return err
	case Ndjson:
		w.enc = json.NewEncoder(w.buf)
		return w.enc.Encode(struct {
			List  tagging.List `json:"list"`
			Since *int64       `json:"since,omitempty"`
		}{l, sinceOrNil(w.since)})
	case Csv:
		w.csv = csv.NewWriter(w.buf)
		return w.csv.Write([]string{"identifier", "kind", "source", "account_id", "version", "removed"})
	}
	return nil
}

func sinceOrNil(since int64) *int64 {
	if since == 0 {
		return nil
	}
	return &since
}

func (w *exclusionWriter) entry(e tagging.Entry) error {
	var err error
	switch w.format {
	case Json:
		if w.n > 0 {
			err = w.buf.WriteByte(',')
		}
		if err == nil {
			var b []byte
			b, err = json.Marshal(e)
			_, _ = w.buf.Write(b)
		}
	case Ndjson:
		err = w.enc.Encode(e)
	case Csv:
		err = w.csv.Write([]string{e.Identifier, e.Kind, e.Source, e.AccountID, strconv.FormatInt(e.Version, 10), strconv.FormatBool(e.Removed)})
	case Text:
		if w.since > 0 {
			sign := "+"
			if e.Removed {
				sign = "-"
			}
			_, err = w.buf.WriteString(sign)
		}
		if err == nil {
			_, err = w.buf.WriteString(e.Identifier + "\n")
		}
	}
	w.n++
	return err
}

func (w *exclusionWriter) end() error {
	if w.format == Json {
		if _, err := w.buf.WriteString("]}\n"); err != nil {
			return err
		}
	}
	if w.csv != nil {
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
	}
	if err := w.buf.Flush(); err != nil {
		return err
	}
	w.flush.Flush()
	return nil
}
