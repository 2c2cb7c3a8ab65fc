package server

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/analytics"
	"github.com/weft-dev/weft/internal/clip"
)

// ratingRequest is the body of POST /v1/tools/{name}/ratings.
type ratingRequest struct {
	// Rating is 1 (useless) to 5 (excellent); required.
	Rating *int `json:"rating"`
	// Comment is optional free text (at most analytics.MaxCommentBytes bytes).
	Comment string `json:"comment"`
}

// ratingResponse is what POST /v1/tools/{name}/ratings answers.
type ratingResponse struct {
	Tool    string                  `json:"tool"`
	Rating  int                     `json:"rating"`
	Ratings analytics.RatingSummary `json:"ratings"`
	Health  analytics.ToolHealth    `json:"health"`
}

// rateTool: POST /v1/tools/{name}/ratings. The caller's client rates a
// tool it may see; its earlier rating of the tool is replaced.
func (s *Server) rateTool(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req ratingRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case req.Rating == nil:
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", "rating: is required (an integer from 1 to 5)")
		return
	case *req.Rating < 1 || *req.Rating > 5:
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", fmt.Sprintf("rating: %d: must be an integer from 1 to 5", *req.Rating))
		return
	case len(req.Comment) > analytics.MaxCommentBytes:
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", fmt.Sprintf("comment: %d bytes: at most %d", len(req.Comment), analytics.MaxCommentBytes))
		return
	case !utf8.ValidString(req.Comment):
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", "comment: not valid UTF-8")
		return
	}
	sum, err := s.o.RateTool(r.Context(), name, *req.Rating, req.Comment)
	switch {
	case errors.Is(err, weft.ErrNotFound):
		writeProblemValue(w, r, Problem{Type: problemBase + "unknown_tool", Status: http.StatusNotFound, Code: "unknown_tool", Tool: name,
			Detail: clip.String(name) + ": no such tool in the catalog"})
		return
	case errors.Is(err, weft.ErrRatingsUnavailable):
		writeProblem(w, r, http.StatusNotImplemented, "ratings_unavailable", err.Error())
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	}
	t, _ := s.o.Tool(r.Context(), name)
	writeJSON(w, http.StatusOK, ratingResponse{Tool: name, Rating: *req.Rating, Ratings: sum, Health: s.o.ToolHealth(name, t.Server)})
}
