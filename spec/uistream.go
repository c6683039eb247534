package spec

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// UIVersion is the version of Terraform's machine-readable UI that
// UIStream writes (the "ui" field of its version message).
const UIVersion = "1.2"

// uiModule is the @module of every message.
const uiModule = "understudy.ui"

// uiTime is the @timestamp layout: RFC 3339 with nanoseconds.
const uiTime = "2006-01-02T15:04:05.000000000Z07:00"

// UIStream writes Terraform's machine-readable UI (the output of
// "terraform plan -json", documented on the "Machine-Readable UI" page,
// https://developer.hashicorp.com/terraform/internals/machine-readable-ui):
// one JSON object a line, each with @level, @message, @module
// ("understudy.ui"), @timestamp and type. Each message is written to w
// as it is made, so a plan of any size is never held twice. The first
// error of w stops the stream and is returned by every later call.
type UIStream struct {
	enc *json.Encoder
	now func() time.Time
	err error
}

// NewUIStream returns a stream to w; now stamps its messages.
func NewUIStream(w io.Writer, now func() time.Time) *UIStream {
	return &UIStream{enc: json.NewEncoder(w), now: now}
}

// Version writes the first message: the tool's version and UIVersion.
func (s *UIStream) Version(version string) error {
	return s.writeFlat("info", "version", "Understudy "+version, map[string]any{"terraform": version, "ui": UIVersion})
}

// writeFlat writes one message whose own fields are fields.
func (s *UIStream) writeFlat(level, typ, message string, fields map[string]any) error {
	if s.err != nil {
		return s.err
	}
	fields["@level"], fields["@message"], fields["@module"] = level, message, uiModule
	fields["@timestamp"], fields["type"] = s.now().Format(uiTime), typ
	s.err = s.enc.Encode(fields)
	return s.err
}

// UIDiagnostic is an error or a warning in the stream.
type UIDiagnostic struct {
	// Severity is "error" or "warning".
	Severity string   `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail"`
	Range    *UIRange `json:"range,omitempty"`
}

// UIRange is where in a spec file a diagnostic points.
type UIRange struct {
	Filename string `json:"filename"`
	Start    UIPos  `json:"start"`
	End      UIPos  `json:"end"`
}

// UIPos is a position in a file.
type UIPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// Diagnostic writes a diagnostic message, at level "error" or "warn".
func (s *UIStream) Diagnostic(d UIDiagnostic) error {
	level, title := "error", "Error: "
	if d.Severity == "warning" {
		level, title = "warn", "Warning: "
	}
	return s.writeFlat(level, "diagnostic", title+d.Summary, map[string]any{"diagnostic": d})
}

// uiResource is Terraform's resource address object.
type uiResource struct {
	Addr            string `json:"addr"`
	Module          string `json:"module"`
	Resource        string `json:"resource"`
	ImpliedProvider string `json:"implied_provider"`
	ResourceType    string `json:"resource_type"`
	ResourceName    string `json:"resource_name"`
	ResourceKey     any    `json:"resource_key"`
}

// uiChange is a planned change or a drift.
type uiChange struct {
	Resource uiResource `json:"resource"`
	// PreviousResource is the address a moved block moved the object from.
	PreviousResource *uiResource  `json:"previous_resource,omitempty"`
	Action           string       `json:"action"`
	Reason           string       `json:"reason,omitempty"`
	Importing        *tfImporting `json:"importing,omitempty"`
}

// Plan writes p: a resource_drift message for each object changed
// outside the spec, a planned_change for each change (no-ops left out,
// unless they import or move: Terraform's actions "import" and "move"),
// and the change_summary.
func (s *UIStream) Plan(p Plan) error {
	for _, c := range p.Drift {
		if c.Action == NoOp {
			continue
		}
		uc := s.change(c, p.Mode)
		uc.Reason = ""
		if err := s.writeFlat("info", "resource_drift", fmt.Sprintf("%s: Drift detected (%s)", uc.Resource.Addr, uc.Action),
			map[string]any{"change": uc}); err != nil {
			return err
		}
	}
	for _, c := range p.Changes {
		if c.Action == NoOp && !c.Importing && c.PreviousAddress == "" {
			continue
		}
		uc := s.change(c, p.Mode)
		if err := s.writeFlat("info", "planned_change", fmt.Sprintf("%s: Plan to %s", uc.Resource.Addr, uc.Action),
			map[string]any{"change": uc}); err != nil {
			return err
		}
	}
	sum := p.Summary
	return s.writeFlat("info", "change_summary", "Plan: "+sum.counts()+".", map[string]any{"changes": map[string]any{
		"add": sum.Add, "change": sum.Change, "import": sum.Import, "remove": sum.Destroy, "forget": sum.Forget, "operation": "plan",
	}})
}

// change is c in the stream's words.
func (s *UIStream) change(c Change, mode string) uiChange {
	out := uiChange{Resource: resourceAddr(c.Address, c.Kind)}
	switch c.Action {
	case NoOp:
		out.Action = "noop"
	case Forget:
		out.Action, out.Reason = "remove", "delete_because_no_resource_config"
	case Replace:
		out.Action, out.Reason = "replace", "cannot_update"
		if c.ReplaceRequested {
			out.Reason = "requested" // Terraform's word in the stream for replace_by_request
		}
	case Delete:
		out.Action = "delete"
		if mode != ModeDestroy {
			out.Reason = "delete_because_no_resource_config"
		}
	default:
		out.Action = string(c.Action)
	}
	// As Terraform's: a move takes precedence over an import as the
	// action of a change that does nothing else.
	if c.PreviousAddress != "" {
		prev := resourceAddr(c.PreviousAddress, c.Kind)
		out.PreviousResource = &prev
	}
	if c.Importing {
		out.Importing = &tfImporting{ID: c.ID}
	}
	if c.Action == NoOp {
		switch {
		case c.PreviousAddress != "":
			out.Action = "move"
		case c.Importing:
			out.Action = "import"
		}
	}
	return out
}

// resourceAddr is the stream's resource object for a spec address.
func resourceAddr(address, kind string) uiResource {
	typ, label, name, key := tfName(address, kind)
	addr := typ + "." + label
	return uiResource{Addr: addr, Resource: addr, ImpliedProvider: "understudy",
		ResourceType: typ, ResourceName: name, ResourceKey: key}
}
