package mcp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// stallReport is how long a write to a process's stdin must have been
// blocked to be named in the reason when a probe went unanswered.
const stallReport = 100 * time.Millisecond

// probe checks that the upstream behind s still answers, after a request on
// s ended at its caller's deadline. A slow tool is normal; an upstream that
// stopped answering altogether (hung, or no longer reading its stdin) is
// not, and would make every later call wait for its deadline. The probe is
// a ping bounded by Config.PingTimeout — servers of the official SDKs answer
// pings while tools run. Without an answer the session is ended with the
// reason, so the upstream turns unhealthy and the supervisor restarts it
// (stdio: a new process). One probe per session runs at a time.
func (u *Upstream) probe(s *session) {
	if s.cs == nil || s.isEnded() || !s.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.probing.Store(false)
		ctx, cancel := context.WithTimeout(s.ctx, u.cfg.PingTimeout)
		err := s.cs.Ping(ctx, nil)
		cancel()
		if err == nil || answered(err) || s.ctx.Err() != nil {
			return // it answers (an error answer is an answer), or the session is over anyway
		}
		reason := fmt.Sprintf("stopped answering: no answer to a ping within %s after a call timed out", u.cfg.PingTimeout)
		if s.pipe != nil {
			if st := s.pipe.stalled(stallReport); st != "" {
				reason += "; " + st
			}
		}
		u.log.Warn("upstream stopped answering; restarting it", "reason", reason)
		s.end(reason)
	}()
}

// codeRejectedByTransport is the JSON-RPC code the SDK's client gives a
// request its transport refused without an answer from the server (an HTTP
// 429, 502, 503 or 504, or a closed stream).
const codeRejectedByTransport = -32005

// answered reports whether err is the upstream's own answer to a request: a
// JSON-RPC error it sent, for instance an upstream on the sessionless
// protocol (2026-07-28) refusing ping, which that protocol dropped. Such an
// upstream is alive. A refusal by the transport alone is no answer.
func answered(err error) bool {
	var je *jsonrpc.Error
	return errors.As(err, &je) && je.Code != codeRejectedByTransport
}
