package analytics

import (
	"math"
	"sync"
	"time"

	"github.com/weft-dev/weft/engine"
)

// Health-score constants (docs/operations.md, "Health scores").
const (
	// HealthHalfLife is the recency weight: a call this old counts half as
	// much as one made now.
	HealthHalfLife = time.Hour
	// HealthSlowLatency is the mean latency at which the latency factor is
	// 0.75 (it tends to 0.5 for ever slower tools).
	HealthSlowLatency = 10 * time.Second
	// HealthyScore is the score from which a tool counts as healthy:
	// search does not demote it.
	HealthyScore = 0.8
	// MaxHealthTools bounds the tools Health keeps figures for (calls of
	// further tools count for their server only).
	MaxHealthTools = MaxToolLabels
)

// ToolHealth is the health of one tool (or one server: Tool empty).
type ToolHealth struct {
	// Score is Success × Latency × Rating, 0 when the upstream is down.
	Score float64 `json:"score"`
	// Success is the smoothed, recency-weighted success rate.
	Success float64 `json:"success"`
	// Latency is the latency factor, 0.5..1.
	Latency float64 `json:"latency"`
	// Rating is the rating factor, 0.6..1 (1 without ratings).
	Rating float64 `json:"rating"`
	// Calls and Failures count the calls seen since the process started
	// (calls that failed through the caller's fault are not counted).
	Calls    int64 `json:"calls"`
	Failures int64 `json:"failures"`
	// MeanLatencyMS is the recency-weighted mean latency.
	MeanLatencyMS float64 `json:"mean_latency_ms"`
	// LastCall is the time of the last call counted, if any.
	LastCall *time.Time `json:"last_call,omitempty"`
	// Ratings is the number of ratings and RatingMean their mean (1..5).
	Ratings    int     `json:"ratings,omitempty"`
	RatingMean float64 `json:"rating_mean,omitempty"`
	// Down is set when the tool's upstream is not usable.
	Down bool `json:"down,omitempty"`
}

// Healthy reports whether the score is at least HealthyScore.
func (h ToolHealth) Healthy() bool { return h.Score >= HealthyScore }

// RankFactor is what search multiplies a tool's score by: 1 for a healthy
// tool, falling linearly to 0.5 for a score of 0.
func (h ToolHealth) RankFactor() float64 { return min(1, 0.5+h.Score/(2*HealthyScore)) }

// decayed holds recency-weighted sums.
type decayed struct {
	n, ok, lat float64 // weights of calls, of successful calls, weighted latency seconds
	at         time.Time
	calls      int64
	failures   int64
	last       time.Time
}

func (d *decayed) add(now time.Time, failed bool, lat time.Duration) {
	d.decay(now)
	d.n++
	if !failed {
		d.ok++
	} else {
		d.failures++
	}
	d.lat += lat.Seconds()
	d.calls++
	d.last = now
}

func (d *decayed) decay(now time.Time) {
	if !d.at.IsZero() && now.After(d.at) {
		f := math.Pow(0.5, float64(now.Sub(d.at))/float64(HealthHalfLife))
		d.n, d.ok, d.lat = d.n*f, d.ok*f, d.lat*f
	}
	d.at = now
}

// rating is the ratings of one tool.
type rating struct {
	n    int
	mean float64
}

// Health computes health scores per tool and per server from the calls it
// records (it implements engine.Recorder) and the ratings it is told. It
// is safe for concurrent use.
type Health struct {
	now func() time.Time

	mu      sync.Mutex
	tools   map[string]*decayed
	servers map[string]*decayed
	ratings map[string]rating
}

// NewHealth returns an empty Health: every tool scores 1.
func NewHealth() *Health {
	return &Health{now: time.Now, tools: map[string]*decayed{}, servers: map[string]*decayed{}, ratings: map[string]rating{}}
}

// callerFault reports codes that say nothing about the tool's health: the
// call was refused or abandoned before or besides the upstream.
func callerFault(c engine.Code) bool {
	switch c {
	case engine.CodeUnknownTool, engine.CodeInvalidArguments, engine.CodeCanceled, engine.CodeOverloaded:
		return true
	}
	return false
}

// Record implements engine.Recorder.
func (h *Health) Record(e engine.Event) {
	if e.Tool == "" || (e.Outcome == engine.OutcomeError && callerFault(e.Code)) {
		return
	}
	failed := e.Outcome != engine.OutcomeOK
	now := e.Start.Add(e.Duration) // when the call ended (replayed events carry their time)
	if e.Start.IsZero() {
		now = h.now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tools[e.Tool]
	if t == nil && len(h.tools) < MaxHealthTools {
		t = &decayed{}
		h.tools[e.Tool] = t
	}
	if t != nil {
		t.add(now, failed, e.Duration)
	}
	if e.Server != "" {
		s := h.servers[e.Server]
		if s == nil {
			s = &decayed{}
			h.servers[e.Server] = s
		}
		s.add(now, failed, e.Duration)
	}
}

// SetRating sets a tool's ratings: n ratings of mean mean (1..5).
func (h *Health) SetRating(tool string, n int, mean float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n <= 0 {
		delete(h.ratings, tool)
		return
	}
	h.ratings[tool] = rating{n: n, mean: mean}
}

// Tool returns the health of a tool; down says its upstream is not usable.
func (h *Health) Tool(name string, down bool) ToolHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := score(h.tools[name], h.now(), down)
	if r, ok := h.ratings[name]; ok {
		out.Ratings, out.RatingMean = r.n, r.mean
		out.Rating = ratingFactor(r)
		out.Score *= out.Rating
	}
	return out
}

// Server returns the health of a server over all its tools' calls.
func (h *Health) Server(name string, down bool) ToolHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	return score(h.servers[name], h.now(), down)
}

// score applies the formula to d's figures at now.
func score(d *decayed, now time.Time, down bool) ToolHealth {
	out := ToolHealth{Success: 1, Latency: 1, Rating: 1, Down: down}
	if d != nil {
		c := *d
		c.decay(now)
		out.Calls, out.Failures = c.calls, c.failures
		if !c.last.IsZero() {
			last := c.last
			out.LastCall = &last
		}
		out.Success = (c.ok + 1) / (c.n + 1)
		if c.n > 0 {
			mean := c.lat / c.n
			out.MeanLatencyMS = mean * 1000
			out.Latency = 1 - 0.5*mean/(mean+HealthSlowLatency.Seconds())
		}
	}
	out.Score = out.Success * out.Latency
	if down {
		out.Score = 0
	}
	return out
}

// ratingFactor is 1 for a smoothed mean of 3 or more, down to 0.6 for 1:
// ratings only demote. Two virtual ratings of 3 smooth the mean.
func ratingFactor(r rating) float64 {
	m := (r.mean*float64(r.n) + 6) / float64(r.n+2)
	return min(1, 0.6+0.2*(m-1))
}
