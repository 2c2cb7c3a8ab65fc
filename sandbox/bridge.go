package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// Error codes a call can fail with besides the engine's.
const (
	CodeToolError         = "tool_error"          // the tool ran and reported isError
	CodeSearchUnavailable = "search_unavailable"  // searchTools without a Searcher
	CodeResultTooLarge    = "result_too_large"    // a tool result that does not fit in the run's memory limit
	CodeArgumentsTooLarge = "arguments_too_large" // arguments larger than max_argument_bytes, or than the run's memory can hold
	CodeError             = "error"               // any other failure
)

func argString(args []any, i int) string {
	if i < len(args) {
		if s, ok := args[i].(string); ok {
			return s
		}
	}
	return ""
}

func argNumber(args []any, i int) float64 {
	if i < len(args) {
		switch v := args[i].(type) {
		case int:
			return float64(v)
		case float64:
			return v
		}
	}
	return 0
}

// startCall counts a call against max_calls and appends its record. It
// returns false when the limit ends the run.
func (r *run) startCall(tool string, logged json.RawMessage) (id, idx int, ok bool) {
	if r.nCalls >= r.lim.MaxCalls {
		r.fail(KindCallLimit, fmt.Sprintf("the program started more than %d tool calls (max_calls)", r.lim.MaxCalls))
		return 0, 0, false
	}
	r.nCalls++
	r.nextID++
	r.inflight++
	r.mu.Lock()
	idx = len(r.calls)
	r.calls = append(r.calls, CallRecord{Tool: tool, Arguments: logged, Start: time.Since(r.start)})
	r.mu.Unlock()
	return r.nextID, idx, true
}

// finishCall completes the record idx and delivers the outcome to the program.
func (r *run) finishCall(id, idx int, began time.Time, value json.RawMessage, outcome, code, msg, tool string, size int) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return // the run ended without this call
	}
	c := &r.calls[idx]
	c.Duration, c.Outcome, c.Code, c.Error, c.ResultBytes = time.Since(began), outcome, code, msg, size
	r.mu.Unlock()
	if outcome == OutcomeOK {
		r.push(completion{kind: kindCall, id: id, ok: true, payload: string(value)})
		return
	}
	b, _ := json.Marshal(map[string]string{"message": msg, "tool": tool, "code": code})
	r.push(completion{kind: kindCall, id: id, payload: string(b)})
}

// hostCall is __weft_call(name, argsJSON, length): it starts a tool call
// and returns its id. argsJSON is null when the prelude found it longer
// than max_argument_bytes; length is its length in UTF-16 code units.
func (r *run) hostCall(args []any) (any, error) {
	name, raw, n := argString(args, 0), json.RawMessage(argString(args, 1)), int(argNumber(args, 2))
	tooLarge := len(args) < 2 || args[1] == nil || len(raw) > r.lim.MaxArgumentBytes
	logged := omittedArgs(n)
	if !tooLarge {
		var schema json.RawMessage
		if t, ok := r.view.Get(name); ok {
			schema = t.InputSchema
		}
		logged = logArgs(raw, schema)
	}
	id, idx, ok := r.startCall(name, logged)
	if !ok {
		return 0, nil
	}
	began := time.Now()
	fail := func(code, msg string) (any, error) {
		r.finishCall(id, idx, began, nil, OutcomeError, code, msg, name, 0)
		return id, nil
	}
	if _, exists := r.view.Get(name); !exists {
		return fail(string(engine.CodeUnknownTool), fmt.Sprintf("no tool named %q in the catalog", name))
	}
	if tooLarge {
		return fail(CodeArgumentsTooLarge, fmt.Sprintf("the arguments are larger than max_argument_bytes (%d bytes)", r.lim.MaxArgumentBytes))
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return fail(string(engine.CodeInvalidArguments), "arguments must be an object")
	}
	if !r.reserve(len(raw)) {
		return fail(CodeArgumentsTooLarge, fmt.Sprintf("the run's calls in flight and undelivered results would hold more than its memory limit (%d bytes)", r.lim.MemoryBytes))
	}
	r.wg.Add(1)
	go r.doCall(id, idx, name, raw)
	return id, nil
}

func (r *run) doCall(id, idx int, name string, args json.RawMessage) {
	if h := r.s.callExited; h != nil {
		defer h()
	}
	defer r.wg.Done()
	defer r.release(len(args))
	began := time.Now()
	select {
	case r.callSlot <- struct{}{}:
	case <-r.ctx.Done():
		r.finishCall(id, idx, began, nil, OutcomeError, string(engine.CodeCanceled), "run ended before the call started", name, 0)
		return
	}
	defer func() { <-r.callSlot }()
	began = time.Now()
	r.mu.Lock()
	if !r.closed {
		r.calls[idx].Start = began.Sub(r.start)
	}
	r.mu.Unlock()

	res, err := r.s.tools.Call(r.ctx, name, args)
	switch {
	case err != nil:
		code, msg := CodeError, err.Error()
		if ee, ok := engine.AsError(err); ok {
			code, msg = string(ee.Code), ee.Msg
		}
		r.finishCall(id, idx, began, nil, OutcomeError, code, msg, name, 0)
	case res.IsError:
		msg := res.Text()
		if msg == "" {
			msg = "the tool reported an error"
		}
		r.finishCall(id, idx, began, nil, OutcomeToolError, CodeToolError, msg, name, res.Size())
	default:
		v := resultValue(res)
		if int64(len(v)) > r.lim.MemoryBytes {
			r.finishCall(id, idx, began, nil, OutcomeError, CodeResultTooLarge,
				fmt.Sprintf("the tool's result (%d bytes) is larger than the run's memory limit (%d bytes)", len(v), r.lim.MemoryBytes), name, res.Size())
			return
		}
		// Held until the loop delivers it into the VM (released there).
		if !r.reserve(len(v)) {
			r.finishCall(id, idx, began, nil, OutcomeError, CodeResultTooLarge,
				fmt.Sprintf("the tool's result (%d bytes) does not fit in the run's memory limit (%d bytes) beside the results not yet delivered", len(v), r.lim.MemoryBytes), name, res.Size())
			return
		}
		r.finishCall(id, idx, began, v, OutcomeOK, "", "", name, res.Size())
	}
}

// resultValue is what a program receives from a successful call: the
// structured content if present, else the text content parsed as JSON when
// it parses, else the text as a string; a result with neither gets its
// content blocks as an array.
func resultValue(res *source.Result) json.RawMessage {
	if len(res.StructuredContent) > 0 && json.Valid(res.StructuredContent) && string(bytes.TrimSpace(res.StructuredContent)) != "null" {
		return res.StructuredContent
	}
	hasText := false
	for _, c := range res.Content {
		var b struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(c, &b) == nil && b.Type == "text" {
			hasText = true
			break
		}
	}
	if hasText {
		text := res.Text()
		if t := strings.TrimSpace(text); t != "" && json.Valid([]byte(t)) {
			return json.RawMessage(t)
		}
		b, _ := json.Marshal(text)
		return b
	}
	if res.Content == nil {
		return json.RawMessage("[]")
	}
	b, err := json.Marshal(res.Content)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// hostSearch is __weft_search(query, k).
func (r *run) hostSearch(args []any) (any, error) {
	query, kf := argString(args, 0), argNumber(args, 1)
	k := 5
	if kf >= 1 && !math.IsInf(kf, 0) {
		k = int(min(kf, 50))
	}
	argJSON, _ := json.Marshal(map[string]any{"query": query, "k": k})
	id, idx, ok := r.startCall("searchTools", argJSON)
	if !ok {
		return 0, nil
	}
	began := time.Now()
	if r.s.searcher == nil {
		r.finishCall(id, idx, began, nil, OutcomeError, CodeSearchUnavailable, ErrSearchUnavailable.Error(), "searchTools", 0)
		return id, nil
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		hits, err := r.s.searcher.Search(r.ctx, query, k)
		if err != nil {
			r.finishCall(id, idx, began, nil, OutcomeError, CodeError, "search: "+err.Error(), "searchTools", 0)
			return
		}
		b, _ := json.Marshal(r.describeHits(hits))
		r.finishCall(id, idx, began, b, OutcomeOK, "", "", "searchTools", len(b))
	}()
	return id, nil
}

type hitView struct {
	Name        string  `json:"name"`
	Path        string  `json:"path"`
	Description string  `json:"description"`
	Signature   string  `json:"signature"`
	Score       float64 `json:"score"`
}

// describeHits keeps the hits the run may call and adds how to call them.
func (r *run) describeHits(hits []SearchHit) []hitView {
	out := []hitView{}
	for _, h := range hits {
		t, ok := r.view.Get(h.Name)
		if !ok {
			continue
		}
		n := r.names[h.Name]
		sig := catalog.TypeScriptSignature(t)
		if i := strings.IndexByte(sig, '('); i >= 0 {
			sig = n.Tool + sig[i:]
		}
		out = append(out, hitView{Name: t.Name, Path: n.Path("tools"), Description: t.Description, Signature: sig, Score: h.Score})
	}
	return out
}

// hostLog is __weft_log(level, text, length); text is null when the
// prelude found it longer than max_console_bytes.
func (r *run) hostLog(args []any) (any, error) {
	level, text := argString(args, 0), argString(args, 1)
	if len(args) > 1 && args[1] == nil {
		r.consoleBytes += int(argNumber(args, 2)) + 1
	} else {
		r.consoleBytes += len(text) + 1
	}
	if r.consoleBytes > r.lim.MaxConsoleBytes {
		r.fail(KindConsoleLimit, fmt.Sprintf("the program wrote more than %d bytes to the console (max_console_bytes)", r.lim.MaxConsoleBytes))
		return nil, nil
	}
	r.console = append(r.console, ConsoleLine{Level: level, Text: text})
	return nil, nil
}

// hostTimer is __weft_timer(ms): it schedules a timer within what is left of the run.
func (r *run) hostTimer(args []any) (any, error) {
	if len(r.timers) >= maxTimers {
		return nil, fmt.Errorf("too many pending timers (at most %d)", maxTimers)
	}
	ms := argNumber(args, 0)
	d := time.Duration(0)
	if ms > 0 && !math.IsNaN(ms) {
		d = min(time.Duration(ms*float64(time.Millisecond)), time.Until(r.deadline)+time.Millisecond)
		if ms > float64(math.MaxInt64/int64(time.Millisecond)) {
			d = time.Until(r.deadline) + time.Millisecond
		}
	}
	r.nextID++
	id := r.nextID
	r.timers[id] = time.AfterFunc(d, func() { r.push(completion{kind: kindTimer, id: id}) })
	return id, nil
}

// hostClear is __weft_clear(id): clearTimeout frees the timer's slot at once.
func (r *run) hostClear(args []any) (any, error) {
	id := int(argNumber(args, 0))
	if t, ok := r.timers[id]; ok {
		t.Stop()
		delete(r.timers, id)
	}
	return nil, nil
}

// hostTake is __weft_take(): the payload of the completion being settled.
func (r *run) hostTake([]any) (any, error) { return r.take, nil }

// hostDone is __weft_done(outcome, payload, length): 0 result, 1 thrown,
// 2 result not serializable, 3 failure not describable (out of memory),
// 4 result longer than max_result_bytes (payload null, length its length).
func (r *run) hostDone(args []any) (any, error) {
	if r.finished {
		return nil, errors.New("already done")
	}
	r.finished = true
	r.outcome = int(argNumber(args, 0))
	r.payload = argString(args, 1)
	r.resultLen = int(argNumber(args, 2))
	return nil, nil
}
