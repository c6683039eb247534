package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
	runpkg "github.com/understudy-dev/understudy/run"
)

func (a *cli) artifactsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "artifacts", Short: "Upload, list and download the artifacts of a lease (screenshots, traces, logs)"}
	cmd.AddCommand(a.artifactsPutCommand(), a.artifactsListCommand(), a.artifactsGetCommand())
	return cmd
}

func (a *cli) artifactsPutCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "put LEASE_ID FILE... [--name NAME]",
		Short: "Upload files as artifacts of a lease, each under its base name (or --name)",
		Long: `Uploads each FILE as an artifact of the lease, named after its base name, or
--name for a single FILE; a name already uploaded is replaced. Only the token that
acquired the lease (or an admin) may upload, while the lease is open and for an hour
after it ended. A file is at most 10 MiB; a lease keeps at most 100 artifacts and
100 MiB. The content type is guessed from the file's extension, else its first bytes.`,
		Args: func(_ *cobra.Command, argv []string) error {
			if len(argv) < 2 {
				return usageErrorf("expected <lease-id> and at least one <file>, got %d argument(s)", len(argv))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, argv []string) error {
			files := argv[1:]
			if cmd.Flags().Changed("name") && len(files) != 1 {
				return usageErrorf("--name names one file; %d were given", len(files))
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var out []openapi.Artifact
			for _, f := range files {
				n := filepath.Base(f)
				if cmd.Flags().Changed("name") {
					n = name
				}
				art, err := uploadArtifact(cmd.Context(), c, argv[0], n, f)
				if err != nil {
					return err
				}
				out = append(out, art)
			}
			return a.showArtifacts(out)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the artifact's name, for a single FILE (default: its base name)")
	return cmd
}

func (a *cli) artifactsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list LEASE_ID",
		Short: "List the artifacts of a lease",
		Args:  args("lease-id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListArtifactsWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, l openapi.ArtifactList) { artifactTable(w, l.Items) })
		},
	}
}

func (a *cli) artifactsGetCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "get LEASE_ID NAME [-O FILE]",
		Short: "Download an artifact of a lease to ./NAME, or to FILE (-O - for standard output)",
		Long: `Downloads the artifact NAME of the lease into the file NAME of the current
directory (refusing to replace one that exists), or into FILE with -O (replacing it),
or onto standard output with -O -. The bytes are checked against the artifact's
SHA-256; a download that does not match is not kept.`,
		Args: args("lease-id", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if err := checkArtifactName(argv[1]); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			return a.downloadArtifact(cmd.Context(), c, argv[0], argv[1], out)
		},
	}
	cmd.Flags().StringVarP(&out, "output-file", "O", "", "where to write it: a file (replaced), or - for standard output (default ./NAME)")
	return cmd
}

// checkArtifactName refuses, before any request, a name the server would
// refuse (and one that a URL would not carry as it is, such as ..).
func checkArtifactName(name string) error {
	if err := runpkg.ValidateArtifactName(name); err != nil {
		return &codedError{code: exitInvalid, err: err}
	}
	return nil
}

// uploadArtifact uploads the file path as the artifact name of a lease.
// A file that is not regular or is over 10 MiB is refused before it is
// sent (exit code 6).
func uploadArtifact(ctx context.Context, c *openapi.ClientWithResponses, leaseID, name, path string) (openapi.Artifact, error) {
	if err := checkArtifactName(name); err != nil {
		return openapi.Artifact{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return openapi.Artifact{}, &codedError{code: exitUsage, err: fmt.Errorf("reading %s: %w", path, errors.Unwrap(err))}
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return openapi.Artifact{}, fmt.Errorf("reading %s: %w", path, err)
	case !st.Mode().IsRegular():
		return openapi.Artifact{}, &codedError{code: exitUsage, err: fmt.Errorf("%s is not a regular file", path)}
	case st.Size() > runpkg.MaxArtifactBytes:
		return openapi.Artifact{}, &codedError{code: exitInvalid, err: fmt.Errorf("%s is %d bytes, more than the 10 MiB (%d bytes) an artifact may have", path, st.Size(), runpkg.MaxArtifactBytes)}
	}
	ct, err := artifactContentType(f, path)
	if err != nil {
		return openapi.Artifact{}, err
	}
	// The length is declared, so the server refuses a file that grew past
	// the limit before reading it.
	size := st.Size()
	resp, err := c.PutArtifactWithBodyWithResponse(ctx, leaseID, name, ct, f, func(_ context.Context, req *http.Request) error {
		req.ContentLength = size
		return nil
	})
	art, err := decodeReply[openapi.Artifact](resp, err)
	if err != nil {
		return art, fmt.Errorf("uploading %s as %s: %w", path, name, err)
	}
	return art, nil
}

// artifactContentType is the media type of the file path by its extension, else
// by its first 512 bytes; f is left at its start.
func artifactContentType(f *os.File, path string) (string, error) {
	if ct := mime.TypeByExtension(filepath.Ext(path)); ct != "" {
		return ct, nil
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return http.DetectContentType(head[:n]), nil
}

// downloadArtifact writes the artifact name of a lease to out (see the get
// command), checking its SHA-256.
func (a *cli) downloadArtifact(ctx context.Context, c *openapi.ClientWithResponses, leaseID, name, out string) error {
	resp, err := c.GetArtifact(ctx, leaseID, name)
	if err != nil {
		return &codedError{code: exitUnavailable, err: fmt.Errorf("cannot reach the Understudy server: %w", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		parsed, err := openapi.ParseGetArtifactResponse(resp)
		return check(parsed, err)
	}
	want := strings.Trim(resp.Header.Get("ETag"), `"`)
	if out == "-" {
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(a.stdout, h), resp.Body); err != nil {
			return &codedError{code: exitUnavailable, err: fmt.Errorf("downloading %s: %w", name, err)}
		}
		return checkDigest(name, want, h.Sum(nil))
	}
	path, replace := out, out != ""
	if path == "" {
		path = name
	}
	n, err := saveArtifact(resp.Body, path, name, want, replace)
	if err != nil {
		return err
	}
	if a.output == "json" {
		body, err := json.Marshal(map[string]any{"name": name, "path": path, "size": n})
		if err != nil {
			return err
		}
		return a.show(body, nil)
	}
	_, err = fmt.Fprintf(a.stdout, "%s (%d bytes) saved to %s\n", name, n, path)
	return err
}

// saveArtifact writes body to path through a temporary file beside it,
// kept only when its SHA-256 is want; replace allows an existing path to
// be replaced.
func saveArtifact(body io.Reader, path, name, want string, replace bool) (int64, error) {
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return 0, &codedError{code: exitConflict, err: fmt.Errorf("%s exists: name another file with -O FILE, or remove it", path)}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".understudy-artifact-*")
	if err != nil {
		return 0, fmt.Errorf("saving %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, &codedError{code: exitUnavailable, err: fmt.Errorf("downloading %s: %w", name, err)}
	}
	if err := checkDigest(name, want, h.Sum(nil)); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("saving %s: %w", name, err)
	}
	return n, nil
}

// checkDigest fails unless sum is the hex SHA-256 want.
func checkDigest(name, want string, sum []byte) error {
	if got := hex.EncodeToString(sum); want != "" && got != want {
		return &codedError{code: exitUnavailable, err: fmt.Errorf("the download of %s was cut short or changed on the way: its SHA-256 is %s, the server's is %s", name, got, want)}
	}
	return nil
}

// showArtifacts prints artifacts as a table, or as {"items": […]} with
// -o json.
func (a *cli) showArtifacts(list []openapi.Artifact) error {
	body, err := json.Marshal(openapi.ArtifactList{Items: nonNilList(list)})
	if err != nil {
		return err
	}
	return a.show(body, func(w io.Writer) { artifactTable(w, list) })
}

func artifactTable(w io.Writer, list []openapi.Artifact) {
	row(w, "NAME", "SIZE", "TYPE", "UPLOADED", "BY", "SHA256")
	for _, x := range list {
		row(w, x.Name, strconv.FormatInt(x.Size, 10), x.ContentType, x.UploadedAt.Format(time.RFC3339), orDash(x.UploadedBy), x.Sha256)
	}
}

// ArtifactDirSeparator joins the folders of a file's path under an
// uploaded directory into its artifact's name: screenshots/login/a.png
// becomes screenshots__login__a.png.
const ArtifactDirSeparator = "__"

// DirUpload is what uploadArtifactDir did: the artifacts it uploaded, and
// each file it left out, with why.
type DirUpload struct {
	Uploaded []openapi.Artifact
	Skipped  []SkippedFile
}

// SkippedFile is a file of an uploaded directory that was not uploaded.
type SkippedFile struct {
	Path   string // relative to the directory, with /
	Reason string
}

// uploadArtifactDir uploads every regular file under dir (at any depth)
// as an artifact of a lease, named after its path relative to dir with
// ArtifactDirSeparator between its parts. Symbolic links are not followed
// (neither to files nor to folders). A file that cannot be opened, whose
// name would be refused or would repeat an earlier one's, that is over 10
// MiB, or that the server refuses as a file (400, 409, 413, 422: the
// lease's bounds reached, among others) is skipped and reported, to warn
// and in the result; the others are uploaded. It stops with an error when
// the directory cannot be read or the server cannot take any upload (no
// such lease, a token that may not, the server down). The lease command
// calls it with --artifacts after its command exits.
func uploadArtifactDir(ctx context.Context, c *openapi.ClientWithResponses, leaseID, dir string, warn io.Writer) (DirUpload, error) {
	var res DirUpload
	seen := map[string]string{}
	skip := func(rel, reason string) {
		res.Skipped = append(res.Skipped, SkippedFile{Path: rel, Reason: reason})
		fmt.Fprintf(warn, "understudy: artifact %s skipped: %s\n", rel, reason)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading the artifacts directory %s: %w", dir, err)
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			skip(rel, "a symbolic link (not followed)")
			return nil
		case !d.Type().IsRegular():
			skip(rel, "not a regular file")
			return nil
		}
		name := strings.ReplaceAll(rel, "/", ArtifactDirSeparator)
		if err := runpkg.ValidateArtifactName(name); err != nil {
			skip(rel, "its name "+strconv.Quote(name)+" is refused: "+err.Error())
			return nil
		}
		if first, ok := seen[name]; ok {
			skip(rel, "its name "+strconv.Quote(name)+" is already "+first+"'s")
			return nil
		}
		seen[name] = rel
		art, err := uploadArtifact(ctx, c, leaseID, name, path)
		if ce, ok := errors.AsType[*codedError](err); ok && (ce.code == exitUsage || ce.code == exitInvalid || ce.code == exitConflict) {
			skip(rel, ce.Error())
			return nil
		}
		if err != nil {
			return err
		}
		res.Uploaded = append(res.Uploaded, art)
		return nil
	})
	return res, err
}
