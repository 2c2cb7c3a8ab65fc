package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// readBody reads the whole (size-limited) body, answering 413 / 408 / 400
// itself when it cannot; ok is false then.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeBodyError(w, r, err)
		return nil, false
	}
	return body, true
}

// decodeBody decodes a JSON request body into v, rejecting unknown fields,
// trailing data and malformed JSON with a 400 that says where.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeProblem(w, r, http.StatusBadRequest, "invalid_json", "request body is empty; a JSON object is required")
		return false
	}
	if msg := jsonSyntaxProblem(body); msg != "" {
		writeProblem(w, r, http.StatusBadRequest, "invalid_json", msg)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			writeProblem(w, r, http.StatusBadRequest, "invalid_body", fmt.Sprintf("%s: got JSON %s, want %s", te.Field, te.Value, te.Type))
		default:
			writeProblem(w, r, http.StatusBadRequest, "invalid_body", err.Error())
		}
		return false
	}
	return true
}
