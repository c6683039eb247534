package errtrack

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/getsentry/sentry-go"
)

// PanicError is a recovered panic as an error: its value and the stack
// of the goroutine that panicked. Report sends it as the panic it was,
// with the frames of the panic, not of the recovery.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, as text.
	Stack string
	// frames are the stack's frames, innermost first.
	frames []runtime.Frame
}

// Error is "panic: <value>" and the stack, as the logs show it.
func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v\n%s", p.Value, p.Stack) }

// Recovered returns v, what recover returned, as a *PanicError with the
// stack of the panic. Call it in the deferred function that recovered,
// whose stack still holds the frames that panicked.
func Recovered(v any) *PanicError {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	var frames []runtime.Frame
	it := runtime.CallersFrames(pcs[:n])
	for {
		f, more := it.Next()
		frames = append(frames, f)
		if !more {
			break
		}
	}
	return &PanicError{Value: v, Stack: string(debug.Stack()), frames: fromPanic(frames)}
}

// fromPanic keeps the frames below runtime.gopanic (those that
// panicked), or all of them when it is not among them, leaving out the
// runtime's own.
func fromPanic(frames []runtime.Frame) []runtime.Frame {
	if i := slices.IndexFunc(frames, func(f runtime.Frame) bool { return f.Function == "runtime.gopanic" }); i >= 0 {
		frames = frames[i+1:]
	}
	return slices.DeleteFunc(frames, func(f runtime.Frame) bool { return strings.HasPrefix(f.Function, "runtime.") })
}

// maxFrames bounds the frames read from a stack's text.
const maxFrames = 100

// panicOf is the panic River recovered from a job: its value and its
// stack in River's text form, a function's line then a tab and file:line.
func panicOf(v any, trace string) *PanicError {
	trace = cut(trace, maxScrubbed)
	var frames []runtime.Frame
	lines := strings.Split(trace, "\n")
	for i := 0; i+1 < len(lines) && len(frames) < maxFrames; i++ {
		fn, loc := lines[i], lines[i+1]
		if fn == "" || strings.HasPrefix(fn, "\t") || !strings.HasPrefix(loc, "\t") {
			continue
		}
		loc = strings.TrimPrefix(loc, "\t")
		file, line := loc, 0
		if j := strings.LastIndexByte(loc, ':'); j >= 0 {
			if n, err := strconv.Atoi(strings.Fields(loc[j+1:] + " ")[0]); err == nil {
				file, line = loc[:j], n
			}
		}
		frames = append(frames, runtime.Frame{Function: fn, File: file, Line: line})
		i++
	}
	return &PanicError{Value: v, Stack: trace, frames: fromPanic(frames)}
}

// event is the Sentry event of the panic: level fatal, an unhandled
// exception of type panic whose value is the panic's, and the frames of
// the panic, outermost first.
func (p *PanicError) event() *sentry.Event {
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelFatal
	var st *sentry.Stacktrace
	if len(p.frames) > 0 {
		st = &sentry.Stacktrace{}
		for _, f := range slices.Backward(p.frames) {
			st.Frames = append(st.Frames, sentry.NewFrame(f))
		}
	}
	ev.Exception = []sentry.Exception{{Type: "panic", Value: fmt.Sprint(p.Value), Stacktrace: st,
		Mechanism: &sentry.Mechanism{Type: "panic", Handled: new(false)}}}
	return ev
}
