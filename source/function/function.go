// Package function turns Go functions into weft tools. Input and output
// schemas are inferred from the Go types (field descriptions come from
// `jsonschema:"..."` struct tags, names from `json` tags), arguments are
// decoded into the input type, and the return value becomes the tool's
// structured result.
//
//	src := function.New("math", "Arithmetic helpers")
//	function.Must(function.Add(src, "add", "Add two numbers",
//		func(ctx context.Context, in struct{ A, B float64 }) (float64, error) { return in.A + in.B, nil }))
package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
)

// Source is a source.Source backed by Go functions. Register tools before
// starting the orchestrator; tools added later are announced through
// source.Notifier.
type Source struct {
	name, description string

	mu        sync.RWMutex
	tools     map[string]*entry
	listeners []func()
	closed    bool
	since     time.Time
}

type entry struct {
	tool catalog.Tool
	call func(ctx context.Context, args json.RawMessage) (*source.Result, error)
}

// New creates an empty function source named name (the namespace of its tools).
func New(name, description string) *Source {
	return &Source{name: name, description: description, tools: map[string]*entry{}, since: time.Now()}
}

// ToolOption adjusts a registered tool.
type ToolOption func(*catalog.Tool)

// WithTitle sets the tool's display title.
func WithTitle(title string) ToolOption { return func(t *catalog.Tool) { t.Title = title } }

// WithTags adds search tags.
func WithTags(tags ...string) ToolOption {
	return func(t *catalog.Tool) { t.Tags = append(t.Tags, tags...) }
}

// ReadOnly marks the tool as not modifying its environment (and so idempotent).
func ReadOnly() ToolOption {
	return func(t *catalog.Tool) {
		yes := true
		if t.Annotations == nil {
			t.Annotations = &catalog.Annotations{}
		}
		t.Annotations.ReadOnlyHint = &yes
	}
}

// WithExamples attaches example argument objects.
func WithExamples(examples ...any) ToolOption {
	return func(t *catalog.Tool) {
		for _, e := range examples {
			if b, err := json.Marshal(e); err == nil {
				t.Examples = append(t.Examples, b)
			}
		}
	}
}

// Add registers fn as tool name. In must be a struct (or map) type whose
// JSON form is the arguments object; Out is any JSON-marshalable type. An
// error returned by fn becomes an isError result with the error's text; a
// panic in fn is recovered and reported the same way.
func Add[In, Out any](s *Source, name, description string, fn func(context.Context, In) (Out, error), opts ...ToolOption) error {
	if !catalog.ValidName(name) {
		return fmt.Errorf("function %s: tool name %q must match ^[a-zA-Z0-9_-]{1,64}$", s.name, name)
	}
	in, err := jsonschema.For[In](nil)
	if err != nil {
		return fmt.Errorf("function %s.%s: input type: %w", s.name, name, err)
	}
	if in.Type != "object" {
		return fmt.Errorf("function %s.%s: input type must be a struct or map (a JSON object), got %s", s.name, name, reflect.TypeFor[In]())
	}
	inRaw, err := json.Marshal(in)
	if err != nil {
		return err
	}
	var outRaw json.RawMessage
	if out, err := jsonschema.For[Out](nil); err == nil && out.Type == "object" {
		outRaw, _ = json.Marshal(out)
	}
	t := catalog.Tool{Original: name, Server: s.name, ServerDescription: s.description, Description: description, InputSchema: inRaw, OutputSchema: outRaw}
	for _, o := range opts {
		o(&t)
	}
	call := func(ctx context.Context, args json.RawMessage) (res *source.Result, err error) {
		var v In
		if len(args) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(args)))
			if err := dec.Decode(&v); err != nil {
				return source.TextResult("invalid arguments: "+err.Error(), true), nil
			}
		}
		defer func() {
			if p := recover(); p != nil {
				res, err = source.TextResult(fmt.Sprintf("tool %s panicked: %v", name, p), true), nil
			}
		}()
		out, ferr := fn(ctx, v)
		if ferr != nil {
			if ctx.Err() != nil && errors.Is(ferr, ctx.Err()) {
				return nil, ferr
			}
			return source.TextResult(ferr.Error(), true), nil
		}
		b, merr := json.Marshal(out)
		if merr != nil {
			return source.TextResult("result is not JSON-marshalable: "+merr.Error(), true), nil
		}
		text, _ := json.Marshal(map[string]string{"type": "text", "text": string(b)})
		r := &source.Result{Content: []json.RawMessage{text}}
		if outRaw != nil {
			r.StructuredContent = b
		}
		return r, nil
	}
	s.mu.Lock()
	s.tools[name] = &entry{tool: t, call: call}
	listeners := slices.Clone(s.listeners)
	s.mu.Unlock()
	for _, l := range listeners {
		l()
	}
	return nil
}

// Must panics if err is non-nil; for registering tools at init time.
func Must(err error) {
	if err != nil {
		panic(err)
	}
}

// Name implements source.Source.
func (s *Source) Name() string { return s.name }

// Start implements source.Source; functions need no connection.
func (s *Source) Start(context.Context) error { return nil }

// Tools implements source.Source.
func (s *Source) Tools(context.Context) ([]catalog.Tool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, source.ErrClosed
	}
	out := make([]catalog.Tool, 0, len(s.tools))
	for _, e := range s.tools {
		out = append(out, e.tool)
	}
	slices.SortFunc(out, func(a, b catalog.Tool) int { return strings.Compare(a.Original, b.Original) })
	return out, nil
}

// Call implements source.Source.
func (s *Source) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	s.mu.RLock()
	e, ok := s.tools[tool]
	closed := s.closed
	s.mu.RUnlock()
	switch {
	case closed:
		return nil, source.ErrClosed
	case !ok:
		return nil, fmt.Errorf("function %s: %w %q", s.name, source.ErrUnknownTool, tool)
	}
	return e.call(ctx, args)
}

// Health implements source.Source.
func (s *Source) Health() source.Health {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return source.Health{State: source.StateClosed, Since: s.since}
	}
	return source.Health{State: source.StateReady, Since: s.since}
}

// OnToolsChanged implements source.Notifier.
func (s *Source) OnToolsChanged(fn func()) {
	s.mu.Lock()
	s.listeners = append(s.listeners, fn)
	s.mu.Unlock()
}

// Close implements source.Source.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
