package console

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/tagging"
)

// exclusionTypes maps each download format of an exclusion list to its
// media type.
var exclusionTypes = map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json"}

// exclusionDownload sends an environment's exclusion list as a file, CSV or
// JSON, to any signed-in session: the list names test accounts only, and
// reader tokens read it by REST too. It streams the list as tagging reads
// it, one consistent snapshot row by row, through a small buffer, so
// memory stays flat however long the list is. The file is named after the
// environment and the list's version.
func (c *Console) exclusionDownload(w http.ResponseWriter, r *http.Request, s session) {
	env, format := r.PathValue("env"), r.PathValue("format")
	if _, ok := exclusionTypes[format]; !ok {
		c.fail(w, r, &s, understudy.Errorf(understudy.ENOTFOUND, "The exclusion list is downloaded as csv or json, not %q.", format))
		return
	}
	file := newExclusionFile(w, format)
	started := false
	err := c.cfg.Exclusions.Stream(r.Context(), env, 0, func(l tagging.List) error {
		h := w.Header()
		h.Set("Content-Type", exclusionTypes[format])
		h.Set("Content-Disposition", mime.FormatMediaType("attachment",
			map[string]string{"filename": "exclusions-" + l.Environment + "-v" + strconv.FormatInt(l.Version, 10) + "." + format}))
		h.Set("X-Exclusion-Version", strconv.FormatInt(l.Version, 10))
		h.Set("ETag", l.ETag())
		w.WriteHeader(http.StatusOK)
		started = true
		return file.head(l)
	}, file.entry)
	if err == nil {
		err = file.end()
	}
	switch {
	case err == nil:
	case !started:
		c.fail(w, r, &s, err)
	default:
		// Half a file is sent already: cut the connection, so that the
		// browser reports a failed download instead of keeping a list
		// that looks whole and is not.
		c.cfg.Logger.ErrorContext(r.Context(), "sending an exclusion list", slog.String("environment", env), slog.Any("error", err))
		panic(http.ErrAbortHandler)
	}
}

// exclusionFile writes an exclusion list, entry by entry, as CSV or JSON
// through a buffer that is flushed as it fills.
type exclusionFile struct {
	format string
	buf    *bufio.Writer
	csv    *csv.Writer
	n      int
}

func newExclusionFile(w io.Writer, format string) *exclusionFile {
	f := &exclusionFile{format: format, buf: bufio.NewWriterSize(w, 32<<10)}
	if format == "csv" {
		f.csv = csv.NewWriter(f.buf)
	}
	return f
}

// exclusionColumns is the CSV's header row.
var exclusionColumns = []string{"identifier", "kind", "source", "account_id", "version"}

// head starts the file: the CSV's header row, or the JSON object's
// description of the list up to its items.
func (f *exclusionFile) head(l tagging.List) error {
	if f.format == "csv" {
		return f.csv.Write(exclusionColumns)
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = f.buf.Write(append(b[:len(b)-1], `,"items":[`...))
	return err
}

// entry writes one identifier.
func (f *exclusionFile) entry(e tagging.Entry) error {
	f.n++
	if f.format == "csv" {
		return f.csv.Write([]string{cell(e.Identifier), cell(e.Kind), cell(e.Source), cell(e.AccountID), strconv.FormatInt(e.Version, 10)})
	}
	if f.n > 1 {
		if err := f.buf.WriteByte(','); err != nil {
			return err
		}
	}
	b, err := json.Marshal(e)
	if err == nil {
		_, err = f.buf.Write(b)
	}
	return err
}

// end closes the file and flushes what is buffered.
func (f *exclusionFile) end() error {
	if f.csv != nil {
		f.csv.Flush()
		if err := f.csv.Error(); err != nil {
			return err
		}
	} else if _, err := f.buf.WriteString("]}\n"); err != nil {
		return err
	}
	return f.buf.Flush()
}

// cell makes a CSV value safe to open in a spreadsheet: one that starts
// with = + - @ (or a tab or carriage return) would be taken for a formula,
// so it gets a leading apostrophe, which spreadsheets show as text. An
// identifier can start so (a username "-x", a distinct_id "+4930…"); the
// JSON download, and the REST API, carry every value exactly.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
