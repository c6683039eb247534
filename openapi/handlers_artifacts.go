package openapi

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
)

// artifactRoute is PUT /v1/leases/{lease_id}/artifacts/{name} as echo
// names it: its body is the file, bounded by run.MaxArtifactBytes (10 MiB)
// rather than maxBody.
var artifactRoute = [2]string{http.MethodPut, "/v1/leases/:lease_id/artifacts/:name"}

// artifactGetRoute is the download, which streams up to 10 MiB to a
// client that may be slow.
var artifactGetRoute = [2]string{http.MethodGet, "/v1/leases/:lease_id/artifacts/:name"}

// artifactTransfer is the time an upload or a download of one artifact
// may take beyond the request timeout: 10 MiB at 200 KiB/s.
const artifactTransfer = time.Minute

// ListArtifacts lists the artifacts of a lease, by name.
func (s *Server) ListArtifacts(c echo.Context, id LeaseID) error {
	ctx := c.Request().Context()
	if _, err := s.leases.Get(ctx, id); err != nil {
		return err
	}
	list, err := s.artifacts.List(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// PutArtifact stores the body as an artifact of a lease held by the
// caller's token (or any lease, for an admin).
func (s *Server) PutArtifact(c echo.Context, id LeaseID, name ArtifactName) error {
	req := c.Request()
	ctx, cancel := context.WithTimeout(req.Context(), s.requestTimeout+artifactTransfer)
	defer cancel()
	if err := run.ValidateArtifactName(name); err != nil {
		return err
	}
	l, err := s.leases.Owned(ctx, id, "artifact_upload")
	if err != nil {
		return err
	}
	art, err := s.artifacts.Put(ctx, run.Upload{LeaseID: l.ID, LeaseEnd: leaseEnd(l), Name: name,
		ContentType: req.Header.Get(echo.HeaderContentType), Body: req.Body})
	if tl := tooLargeFrom(err); tl != nil {
		return tl
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, art)
}

// leaseEnd is when l ended or, while it is open, when it expires: the
// start of its artifacts' upload window.
func leaseEnd(l lease.Lease) time.Time {
	if l.EndedAt != nil {
		return *l.EndedAt
	}
	return l.ExpiresAt
}

// GetArtifact serves an artifact's bytes as an attachment that no browser
// renders in this origin: see run.ServedContentType.
func (s *Server) GetArtifact(c echo.Context, id LeaseID, name ArtifactName) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.requestTimeout+artifactTransfer)
	defer cancel()
	if err := s.artifactReadable(ctx, id, name); err != nil {
		return err
	}
	art, r, err := s.artifacts.Open(ctx, id, name)
	if err != nil {
		return err
	}
	defer r.Close()
	run.SetDownloadHeaders(c.Response().Header(), art)
	c.Response().WriteHeader(http.StatusOK)
	if _, err := io.Copy(c.Response(), r); err != nil {
		// The status is sent: the client sees a short body, and the log
		// line says why.
		s.logger.WarnContext(ctx, "an artifact's download was cut short", "lease_id", id, "err", err.Error())
	}
	return nil
}

// HeadArtifact answers the headers GetArtifact would, with its status, but
// no body, and without reading the artifact's bytes.
func (s *Server) HeadArtifact(c echo.Context, id LeaseID, name ArtifactName) error {
	ctx := c.Request().Context()
	if err := s.artifactReadable(ctx, id, name); err != nil {
		return err
	}
	art, err := s.artifacts.Stat(ctx, id, name)
	if err != nil {
		return err
	}
	run.SetDownloadHeaders(c.Response().Header(), art)
	c.Response().WriteHeader(http.StatusOK)
	return nil
}

// artifactReadable checks what a read of an artifact checks before it
// finds the artifact: its name (400), then its lease (404).
func (s *Server) artifactReadable(ctx context.Context, id LeaseID, name ArtifactName) error {
	if err := run.ValidateArtifactName(name); err != nil {
		return err
	}
	_, err := s.leases.Get(ctx, id)
	return err
}

// DeleteArtifact deletes an artifact of a lease held by the caller's
// token (or any lease, for an admin).
func (s *Server) DeleteArtifact(c echo.Context, id LeaseID, name ArtifactName) error {
	ctx := c.Request().Context()
	if err := run.ValidateArtifactName(name); err != nil {
		return err
	}
	if _, err := s.leases.Owned(ctx, id, "artifact_delete"); err != nil {
		return err
	}
	if err := s.artifacts.Delete(ctx, id, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
